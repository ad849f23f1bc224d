"""The employee card opens on double-click or Enter and reuses the address pane."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QListView, QTableView, QTabWidget
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.address_pane import AddressPane
from mailsettings_desktop.ui.employee_card import EmployeeCard
from mailsettings_desktop.ui.main_window import MainWindow
from tests.gui_helpers import child, click_row, row_of_text

EMPLOYEE = "Eva Lindqvist"


def test_double_click_opens_card_with_the_same_pane_widget(
    qtbot: QtBot, window: MainWindow
) -> None:
    employees = child(window, QListView, "employeeList")
    index = row_of_text(employees.model(), EMPLOYEE)
    rect = employees.visualRect(index)
    # A real double-click is a click followed by a double-click event on the same spot.
    qtbot.mouseClick(employees.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(employees.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    card = child(window, EmployeeCard, "employeeCard")
    qtbot.waitExposed(card)
    assert child(card, QLabel, "cardName").text() == EMPLOYEE
    tabs = child(card, QTabWidget, "employeeCardTabs")
    assert [tabs.tabText(i) for i in range(tabs.count())] == [
        "General", "External email addresses", "Sending"]
    assert type(tabs.widget(1)) is AddressPane
    assert type(window.address_pane) is AddressPane


def test_enter_opens_card_and_changes_show_in_main_window(
    qtbot: QtBot, window: MainWindow
) -> None:
    employees = child(window, QListView, "employeeList")
    click_row(qtbot, employees, EMPLOYEE)
    qtbot.keyClick(employees, Qt.Key.Key_Return)
    card = child(window, EmployeeCard, "employeeCard")
    employee = card.employee
    draft = AddressDraft(employee.id, "eva@example.test", "127.0.0.1", 465, Security.SSL,
                         "eva@example.test")
    record = save_new_address(window.context.db, window.context.secrets, draft, "pw-123")
    card.address_pane.addresses_changed.emit(record.employee_id)
    main_table = child(window, QTableView, "addressTable")
    assert main_table.model().rowCount() == 1
    card_table = child(card, QTableView, "addressTable")
    assert card_table is not main_table
    assert card_table.model().rowCount() == 1
