"""Editing and removing an address through the GUI."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QMessageBox,
    QPushButton,
    QTableView,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft, AddressRecord
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.main_window import MainWindow
from tests.conftest import PASSWORD, USER
from tests.gui_helpers import child, click_row, type_into
from tests.memory_keyring import MemoryKeyring
from tests.smtp_server import LocalSmtpServer

EMPLOYEE = "Chloé Martin"


def saved_address(window: MainWindow, port: int, password: str) -> AddressRecord:
    db = window.context.db
    employee = next(e for e in db.list_employees() if e.name == EMPLOYEE)
    project = db.list_projects()[0]
    draft = AddressDraft(employee.id, USER, "127.0.0.1", port, Security.SSL, USER,
                         sender_name="Chloé", project_ids=(project.id,))
    return save_new_address(db, window.context.secrets, draft, password)


def open_edit(qtbot: QtBot, window: MainWindow) -> QDialog:
    click_row(qtbot, child(window, QListView, "employeeList"), EMPLOYEE)
    table = child(window, QTableView, "addressTable")
    click_row(qtbot, table, table.model().index(0, 0).data())
    qtbot.mouseClick(child(window, QPushButton, "editAddressButton"), Qt.MouseButton.LeftButton)
    dialog = child(window, QDialog, "addressDialog")
    qtbot.waitExposed(dialog)
    return dialog


def test_edit_sender_name_needs_no_new_test(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer, memory_keyring: MemoryKeyring
) -> None:
    record = saved_address(window, ssl_server.port, PASSWORD)
    dialog = open_edit(qtbot, window)
    assert child(dialog, QLineEdit, "passwordEdit").text() == ""
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Chloé Martin, Sales")
    save = child(dialog, QPushButton, "saveButton")
    assert save.isEnabled()
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    table = child(window, QTableView, "addressTable")
    assert table.model().index(0, 1).data() == "Chloé Martin, Sales"
    assert window.context.secrets.get(record.secret_key) == PASSWORD  # unchanged
    assert ssl_server.mailbox.auth_attempts == []  # no test was needed


def test_new_password_needs_a_successful_test(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    record = saved_address(window, ssl_server.port, "old-password")
    dialog = open_edit(qtbot, window)
    save = child(dialog, QPushButton, "saveButton")
    type_into(qtbot, child(dialog, QLineEdit, "passwordEdit"), PASSWORD)
    assert not save.isEnabled()
    with qtbot.waitSignal(window.context.runner.job_finished, timeout=15_000):
        qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)
    assert save.isEnabled()
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    assert window.context.secrets.get(record.secret_key) == PASSWORD
    table = child(window, QTableView, "addressTable")
    assert table.model().index(0, 4).data().startswith("OK")


def test_changing_the_host_needs_a_new_test(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    saved_address(window, ssl_server.port, PASSWORD)
    dialog = open_edit(qtbot, window)
    save = child(dialog, QPushButton, "saveButton")
    assert save.isEnabled()
    type_into(qtbot, child(dialog, QLineEdit, "hostEdit"), "localhost")
    assert not save.isEnabled()


def test_remove_asks_and_deletes_row_and_keyring_entry(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer, memory_keyring: MemoryKeyring
) -> None:
    record = saved_address(window, ssl_server.port, PASSWORD)
    click_row(qtbot, child(window, QListView, "employeeList"), EMPLOYEE)
    table = child(window, QTableView, "addressTable")
    click_row(qtbot, table, table.model().index(0, 0).data())
    qtbot.mouseClick(child(window, QPushButton, "removeAddressButton"), Qt.MouseButton.LeftButton)
    box = child(window, QMessageBox, "removeConfirmation")
    assert USER in box.text()
    assert record.projects[0].name in box.informativeText()
    remove = next(b for b in box.buttons() if b.text() == "Remove")
    qtbot.mouseClick(remove, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.context.db.get_address(record.id) is None)
    assert memory_keyring.entries == {}
    assert table.model().rowCount() == 0


def test_missing_keyring_password_is_asked_for_not_blamed_on_typing(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer, memory_keyring: MemoryKeyring
) -> None:
    record = saved_address(window, ssl_server.port, PASSWORD)
    window.context.secrets.delete(record.secret_key)  # as on a new computer
    dialog = open_edit(qtbot, window)
    save = child(dialog, QPushButton, "saveButton")
    assert child(dialog, QLabel, "passwordError").isVisible()  # said at once, on opening
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Only a new name")
    assert not save.isEnabled()  # nothing may be saved that no password backs
    qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)
    error = child(dialog, QLabel, "passwordError")
    assert error.isVisible() and "missing from this computer's keyring" in error.text()
    assert child(dialog, QLineEdit, "passwordEdit").property("problem") is True
    assert window.context.runner.active_jobs() == 0
    assert ssl_server.mailbox.auth_attempts == []
