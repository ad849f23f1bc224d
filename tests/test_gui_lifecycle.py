"""Issue-4 flows through the GUI: moving projects, company addresses, Sending, removal."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QTableView,
    QTabWidget,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft, AddressRecord
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.main_window import MainWindow
from tests.conftest import PASSWORD, USER
from tests.gui_helpers import (
    child,
    click_check,
    click_row,
    click_tool,
    fill_dialog,
    open_dialog,
    run_test,
    tick_row,
)
from tests.memory_keyring import MemoryKeyring
from tests.smtp_server import LocalSmtpServer


def employee_id(window: MainWindow, name: str) -> int:
    return next(e.id for e in window.context.db.list_employees() if e.name == name)


def own_address(window: MainWindow, name: str, email: str, project_names: tuple[str, ...],
                port: int = 465, default: bool = False) -> AddressRecord:
    db = window.context.db
    ids = tuple(p.id for p in db.list_projects() if p.name in project_names)
    draft = AddressDraft(employee_id(window, name), email, "127.0.0.1", port, Security.SSL,
                         USER, project_ids=ids, is_default=default)
    return save_new_address(db, window.context.secrets, draft, PASSWORD)


def sending_rows(qtbot: QtBot, window: MainWindow, name: str) -> dict[str, tuple[str, str]]:
    """Select the employee and read the Sending tab: project -> (sent from, why)."""
    click_row(qtbot, child(window, QListView, "employeeList"), name)
    tabs = child(window, QTabWidget, "employeeTabs")
    tabs.setCurrentIndex(1)
    model = child(window, QTableView, "sendingTable").model()
    return {model.index(r, 0).data(): (model.index(r, 1).data(), model.index(r, 2).data())
            for r in range(model.rowCount())}


def test_ticking_a_served_project_offers_to_move_it(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    first = own_address(window, "Bruno Diaz", "first@example.test", ("Online shop",),
                        ssl_server.port)
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl")
    tick_row(qtbot, child(dialog, QListView, "projectList"), "Online shop")
    note = child(dialog, QLabel, "projectConflicts")
    assert note.isVisible() and "first@example.test" in note.text()
    move = child(dialog, QCheckBox, "moveProjectsCheck")
    assert move.isVisible() and move.isChecked()
    run_test(qtbot, window, dialog)
    qtbot.mouseClick(child(dialog, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    moved = window.context.db.get_address(first.id)
    assert moved is not None and moved.projects == ()
    table = child(window, QTableView, "addressTable")
    projects = {table.model().index(r, 3).data() for r in range(table.model().rowCount())}
    assert "Online shop" in projects


def test_company_address_for_two_employees_and_the_sending_view(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer, qtmodeltester: object
) -> None:
    click_tool(qtbot, window, "showCompanyAction")
    qtbot.mouseClick(child(window, QPushButton, "addCompanyAddressButton"),
                     Qt.MouseButton.LeftButton)
    dialog = child(window, QDialog, "addressDialog")
    fill_dialog(qtbot, dialog, ssl_server.port, "ssl")
    click_check(qtbot, child(dialog, QCheckBox, "allEmployeesCheck"))  # untick "all"
    allowed = child(dialog, QListView, "allowedEmployeeList")
    tick_row(qtbot, allowed, "Anna Keller")
    tick_row(qtbot, allowed, "Bruno Diaz")
    tick_row(qtbot, child(dialog, QListView, "projectList"), "Support mailbox")
    run_test(qtbot, window, dialog)
    qtbot.mouseClick(child(dialog, QPushButton, "saveButton"), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    company_table = child(window, QTableView, "companyAddressTable")
    assert company_table.model().index(0, 1).data() == "2 employees"

    own_address(window, "Bruno Diaz", "bruno@example.test", ("Online shop",), default=True)
    click_tool(qtbot, window, "showEmployeesAction")
    bruno = sending_rows(qtbot, window, "Bruno Diaz")
    assert bruno["Online shop"] == ("bruno@example.test", "Project address")
    assert bruno["Support mailbox"] == (USER, "Company address")
    assert bruno["Trade fair 2026"] == ("bruno@example.test", "Default address")
    sending = child(window, QTableView, "sendingTable").model()
    qtmodeltester.check(sending)  # type: ignore[attr-defined]
    chloe = sending_rows(qtbot, window, "Chloé Martin")
    assert chloe["Support mailbox"] == ("No external address", "None")
    assert "own address" in child(window, QLabel, "sendingRule").text()


def test_removing_an_employee_leaves_nothing_behind(
    qtbot: QtBot, window: MainWindow, db_path: Path, memory_keyring: MemoryKeyring
) -> None:
    own_address(window, "Eva Lindqvist", "eva@example.test", ("Online shop",))
    click_row(qtbot, child(window, QListView, "employeeList"), "Eva Lindqvist")
    window.confirm_remove_employee()
    box = child(window, QMessageBox, "removeEmployeeConfirmation")
    assert "eva@example.test" in box.informativeText()
    assert "Online shop" in box.informativeText()
    qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Remove"),
                     Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Eva Lindqvist" not in
                    [e.name for e in window.context.db.list_employees(include_inactive=True)])
    assert memory_keyring.entries == {}
    with sqlite3.connect(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM external_addresses").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM address_projects").fetchone() == (0,)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_a_read_only_database_is_announced(
    qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    import os
    import stat

    from mailsettings_desktop.app import create_main_window

    db_file = tmp_path / "ro" / "company.sqlite3"
    first = create_main_window(db_file, demo=True)
    first.close()
    first.context.db.close()
    os.chmod(db_file, stat.S_IRUSR)
    os.chmod(db_file.parent, stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(db_file, os.W_OK):
            pytest.skip("running as a user who can write anyway (root ignores permissions)")
        window = create_main_window(db_file)
        qtbot.addWidget(window)
        window.show()
        assert "read-only" in child(window, QLabel, "keyringBanner").text()
        window.close()
        window.context.db.close()
    finally:
        os.chmod(db_file.parent, stat.S_IRWXU)
        os.chmod(db_file, stat.S_IRUSR | stat.S_IWUSR)
