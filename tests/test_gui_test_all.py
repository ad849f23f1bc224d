"""Test all through the GUI: progress, failures listed, rows updated as results arrive."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListView, QPushButton, QTableView
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.bulk_test_dialog import BulkTestDialog
from mailsettings_desktop.ui.main_window import MainWindow
from tests.conftest import PASSWORD, USER
from tests.gui_helpers import child, click_row, click_tool
from tests.smtp_server import LocalSmtpServer


def test_test_all_lists_failures_and_updates_rows(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer, qtmodeltester: object
) -> None:
    db, secrets = window.context.db, window.context.secrets
    employees = db.list_employees()
    for n, employee in enumerate(employees[:4]):
        draft = AddressDraft(employee.id, f"mailbox{n}@example.test", "127.0.0.1",
                             ssl_server.port, Security.SSL, USER, timeout_seconds=10)
        save_new_address(db, secrets, draft, PASSWORD)
    broken = AddressDraft(employees[4].id, "mailbox4@example.test", "127.0.0.1",
                          ssl_server.port, Security.SSL, USER, timeout_seconds=10)
    save_new_address(db, secrets, broken, "stale-password")
    click_row(qtbot, child(window, QListView, "employeeList"), employees[0].name)
    table = child(window, QTableView, "addressTable")
    assert table.model().index(0, 4).data() == "Not tested"

    click_tool(qtbot, window, "testAllAction")
    dialog = child(window, BulkTestDialog, "testAllDialog")
    with qtbot.waitSignal(dialog.run_finished, timeout=20_000) as finished:
        pass
    summary = finished.args[0] if finished.args else None
    assert summary is not None and (summary.total, summary.failed) == (5, 1)
    assert child(dialog, QLabel, "testAllCount").text() == "5 of 5 tested · 1 failed"
    failures = child(dialog, QTableView, "testAllFailures").model()
    qtmodeltester.check(failures)  # type: ignore[attr-defined]
    assert failures.rowCount() == 1
    assert failures.index(0, 1).data() == employees[4].name
    assert "rejected" in failures.index(0, 2).data()
    assert table.model().index(0, 4).data().startswith("OK")


def _saved_addresses(window: MainWindow, port: int, count: int) -> None:
    db, secrets = window.context.db, window.context.secrets
    for n, employee in enumerate(db.list_employees()[:count]):
        draft = AddressDraft(employee.id, f"box{n}@example.test", "127.0.0.1", port,
                             Security.SSL, USER, timeout_seconds=20)
        save_new_address(db, secrets, draft, PASSWORD)


def test_cancel_turns_the_button_into_an_enabled_close(
    qtbot: QtBot, window: MainWindow, silent_port: int
) -> None:
    _saved_addresses(window, silent_port, 6)
    dialog = window.test_all_addresses()
    assert dialog is not None
    button = child(dialog, QPushButton, "testAllCancel")
    with qtbot.waitSignal(dialog.run_finished, timeout=5000) as finished:
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    assert finished.args is not None and finished.args[0].cancelled
    assert button.text() == "Close" and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_escape_during_a_run_stops_it_cleanly(
    qtbot: QtBot, window: MainWindow, ssl_server: LocalSmtpServer
) -> None:
    _saved_addresses(window, ssl_server.port, 8)
    dialog = window.test_all_addresses()
    assert dialog is not None
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    assert not dialog.running  # closing joined the worker; pytest fails on thread errors
