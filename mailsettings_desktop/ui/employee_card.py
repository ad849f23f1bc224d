"""The employee card: general details and, on a second tab, the employee's addresses.

The addresses tab is an `AddressPane`, the same widget class the main window shows, so
everything that can be done with addresses there can be done here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.ui.address_pane import AddressPane

if TYPE_CHECKING:
    from mailsettings_desktop.core.records import EmployeeRecord
    from mailsettings_desktop.ui.context import AppContext


class EmployeeCard(QDialog):
    """A non-modal window about one employee.

    Signals:
        addresses_changed(int): an address of this employee was added, changed or removed.
    """

    addresses_changed = Signal(int)

    def __init__(self, context: AppContext, employee: EmployeeRecord,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("employeeCard")
        self.setWindowTitle(f"{employee.name} — employee card")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._employee = employee

        general = QWidget()
        general.setObjectName("employeeGeneralTab")
        form = QFormLayout(general)
        for label, value, name in (
            ("Name:", employee.name, "cardName"),
            ("Position or department:", employee.position or "—", "cardPosition"),
            ("Internal email:", employee.internal_email or "—", "cardInternalEmail"),
            ("Status:", "Active" if employee.active else "Inactive", "cardStatus"),
        ):
            value_label = QLabel(value)
            value_label.setObjectName(name)
            value_label.setTextFormat(Qt.TextFormat.PlainText)
            value_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            form.addRow(label, value_label)

        self._pane = AddressPane(context)
        self._pane.setObjectName("cardAddressPane")
        self._pane.set_employee(employee)
        self._pane.addresses_changed.connect(self.addresses_changed)

        self._tabs = QTabWidget()
        self._tabs.setObjectName("employeeCardTabs")
        self._tabs.addTab(general, "General")
        self._tabs.addTab(self._pane, "External email addresses")
        from mailsettings_desktop.ui.sending_view import SendingView

        self._sending = SendingView(context.db)
        self._sending.setObjectName("cardSendingView")
        self._tabs.addTab(self._sending, "Sending")
        self._tabs.currentChanged.connect(self._on_tab_changed)
        self._pane.addresses_changed.connect(self._on_tab_changed)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self._tabs, 1)
        layout.addWidget(buttons)
        self.resize(900, 520)

    @property
    def employee(self) -> EmployeeRecord:
        return self._employee

    @property
    def address_pane(self) -> AddressPane:
        return self._pane

    def _on_tab_changed(self, _value: int) -> None:
        if self._tabs.currentWidget() is self._sending:
            self._sending.set_employee(self._employee)

    def show_addresses_tab(self) -> None:
        self._tabs.setCurrentWidget(self._pane)
