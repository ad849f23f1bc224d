"""The main path through the GUI: pick an employee, add an address, test it, save it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLineEdit,
    QListView,
    QPushButton,
    QSpinBox,
    QTableView,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.app import create_main_window
from mailsettings_desktop.core.logs import setup_logging
from mailsettings_desktop.core.secrets import SERVICE_NAME
from mailsettings_desktop.ui.main_window import MainWindow
from tests.conftest import PASSWORD, USER
from tests.gui_helpers import (
    DIALOG_EMPLOYEE,
    child,
    click_row,
    fill_dialog,
    open_dialog,
    run_test,
    status_text,
    tick_row,
    type_into,
)
from tests.memory_keyring import MemoryKeyring
from tests.smtp_server import LocalSmtpServer

EMPLOYEE = DIALOG_EMPLOYEE


def test_add_test_save_shows_address(
    qtbot: QtBot, window: MainWindow, starttls_server: LocalSmtpServer,
    memory_keyring: MemoryKeyring,
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, starttls_server.port, "starttls")
    projects = child(dialog, QListView, "projectList")
    first_project = projects.model().index(0, 0).data()
    tick_row(qtbot, projects, first_project)
    save = child(dialog, QPushButton, "saveButton")
    assert not save.isEnabled()

    run_test(qtbot, window, dialog)

    assert "account works" in status_text(dialog)
    assert save.isEnabled()
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)

    table = child(window, QTableView, "addressTable")
    assert table.model().rowCount() == 1
    assert table.model().index(0, 0).data().endswith(USER)
    assert table.model().index(0, 3).data() == first_project
    assert table.model().index(0, 4).data().startswith("OK")
    stored = [v for (service, _), v in memory_keyring.entries.items() if service == SERVICE_NAME]
    assert stored == [PASSWORD]


def test_wrong_password_keeps_save_disabled(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl", password="not-the-password")
    run_test(qtbot, window, dialog)
    assert "rejected the username or password" in status_text(dialog)
    assert not child(dialog, QPushButton, "saveButton").isEnabled()
    assert child(dialog, QLineEdit, "passwordEdit").property("problem") is True


def test_editing_after_success_disables_save(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl")
    run_test(qtbot, window, dialog)
    save = child(dialog, QPushButton, "saveButton")
    assert save.isEnabled()
    qtbot.keyClicks(child(dialog, QLineEdit, "passwordEdit"), "x")
    assert not save.isEnabled()
    assert "changed" in status_text(dialog)
    qtbot.keyClick(child(dialog, QLineEdit, "passwordEdit"), Qt.Key.Key_Backspace)
    assert save.isEnabled()  # exactly the tested values again
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Someone Else")
    assert save.isEnabled()  # the sender name is not a connection value


def test_cancel_during_test(qtbot: QtBot, window: MainWindow, silent_port: int) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, silent_port, "starttls")
    type_into(qtbot, child(dialog, QSpinBox, "timeoutSpin"), "30")
    qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "greet" in status_text(dialog), timeout=5000)
    with qtbot.waitSignal(window.context.runner.job_finished, timeout=2000) as finished:
        qtbot.mouseClick(child(dialog, QPushButton, "cancelTestButton"),
                         Qt.MouseButton.LeftButton)
    assert finished.args is not None and finished.args[1].category.value == "cancelled"
    assert "cancelled" in status_text(dialog)
    assert child(dialog, QPushButton, "testButton").isEnabled()
    assert not child(dialog, QPushButton, "saveButton").isEnabled()


def test_closing_dialog_during_test_saves_nothing(
    qtbot: QtBot, window: MainWindow, silent_port: int, memory_keyring: MemoryKeyring
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, silent_port, "starttls")
    qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.context.runner.job_finished, timeout=3000):
        qtbot.mouseClick(child(dialog, QPushButton, "cancelButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    employee = next(e for e in window.context.db.list_employees() if e.name == EMPLOYEE)
    assert window.context.db.addresses_for_employee(employee.id) == []
    assert memory_keyring.entries == {}


def test_restart_shows_saved_address_and_keeps_secrets_out_of_files(
    qtbot: QtBot, db_path: Path, tmp_path: Path, memory_keyring: MemoryKeyring,
    ssl_server: LocalSmtpServer,
) -> None:
    log_file = setup_logging(tmp_path / "logs")
    first = create_main_window(db_path, demo=True, log_path=log_file)
    qtbot.addWidget(first)
    first.show()
    dialog = open_dialog(qtbot, first)
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl")
    run_test(qtbot, first, dialog)
    qtbot.mouseClick(child(dialog, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    first.close()
    first.context.db.close()

    second = create_main_window(db_path)
    qtbot.addWidget(second)
    second.show()
    click_row(qtbot, child(second, QListView, "employeeList"), EMPLOYEE)
    table = child(second, QTableView, "addressTable")
    assert table.model().rowCount() == 1
    assert table.model().index(0, 0).data().endswith(USER)
    record = second.address_pane._model.address_at(0)
    assert second.context.secrets.get(record.secret_key) == PASSWORD
    second.close()
    second.context.db.close()

    secret = PASSWORD.encode("utf-8")
    for path in [db_path, *db_path.parent.glob(db_path.name + "*"), log_file]:
        if path.exists():
            assert secret not in path.read_bytes(), path
    assert "check end" in log_file.read_text(encoding="utf-8")


def test_reverting_to_the_tested_values_shows_the_success_again(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl")
    run_test(qtbot, window, dialog)
    qtbot.keyClicks(child(dialog, QLineEdit, "passwordEdit"), "x")
    assert "changed" in status_text(dialog)
    qtbot.keyClick(child(dialog, QLineEdit, "passwordEdit"), Qt.Key.Key_Backspace)
    assert "account works" in status_text(dialog)
    assert child(dialog, QPushButton, "saveButton").isEnabled()


def test_other_server_starts_on_starttls_587(qtbot: QtBot, window: MainWindow) -> None:
    dialog = open_dialog(qtbot, window)
    assert child(dialog, QComboBox, "providerCombo").currentData() == "custom"
    assert child(dialog, QComboBox, "securityCombo").currentData() == "starttls"
    assert child(dialog, QSpinBox, "portSpin").value() == 587
    assert child(dialog, QLineEdit, "hostEdit").text() == ""
