"""One employee's external addresses with Add, Edit and Remove.

The same widget serves the main window and (later) the employee card, so it opens its
own dialogs and confirmations and reports changes through `addresses_changed`.

The Add dialog and the address book (which bring in SQLAlchemy, the keyring and the
account check) are imported when first used, so the main window can paint before them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.ui.address_model import AddressTableModel

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox

    from mailsettings_desktop.core.records import AddressRecord, EmployeeRecord
    from mailsettings_desktop.ui.address_dialog import AddressDialog
    from mailsettings_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

# What `addresses_changed` carries for a company address, which has no employee.
COMPANY_OWNER = 0
_EMPLOYEE_NAMES = {"table": "addressTable", "add": "addAddressButton",
                   "edit": "editAddressButton", "remove": "removeAddressButton"}
_COMPANY_NAMES = {"table": "companyAddressTable", "add": "addCompanyAddressButton",
                  "edit": "editCompanyAddressButton", "remove": "removeCompanyAddressButton"}


def _owner(record: AddressRecord) -> int:
    return record.employee_id if record.employee_id is not None else COMPANY_OWNER


class AddressPane(QWidget):
    """Shows and edits the external addresses of the employee set with `set_employee`.

    Built with `context=None` (the main window before its database is open) it shows
    its empty state until `bind` supplies the context.

    With `company=True` it shows and edits the company's shared addresses instead; its
    widgets then carry "Company" in their objectNames (companyAddressTable,
    addCompanyAddressButton, ...) so the employee pane's names stay unique.

    Signals:
        addresses_changed(int): an address of that employee was added, changed or removed
            (COMPANY_OWNER for a company address).
    """

    addresses_changed = Signal(int)

    def __init__(self, context: AppContext | None, parent: QWidget | None = None,
                 company: bool = False) -> None:
        super().__init__(parent)
        self._bound_context = context
        self._company = company
        self._employee: EmployeeRecord | None = None
        self._dialog: AddressDialog | None = None
        self._columns_fitted = False
        names = _COMPANY_NAMES if company else _EMPLOYEE_NAMES

        self._title = QLabel()
        self._title.setObjectName("addressPaneTitle")
        title_font = self._title.font()
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        title_font.setBold(True)
        self._title.setFont(title_font)
        self._subtitle = QLabel()
        self._subtitle.setObjectName("addressPaneSubtitle")
        self._subtitle.setStyleSheet("color: #5f6368;")

        self._model = AddressTableModel(self, company=company)
        self._table = QTableView()
        self._table.setObjectName(names["table"])
        self._table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self._table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._table.setAlternatingRowColors(True)
        self._table.verticalHeader().hide()
        self._table.setWordWrap(False)
        self._table.doubleClicked.connect(self._on_row_double_clicked)

        self._empty = QLabel()
        self._empty.setObjectName("addressEmptyState")
        self._empty.setWordWrap(True)
        # Centred through the style sheet: see EMPLOYEE_ID_ROLE in employee_model for why
        # the main window avoids the `Qt` namespace until it has painted once.
        self._empty.setStyleSheet(
            "color: #5f6368; padding: 24px; qproperty-alignment: AlignCenter;"
        )

        self._stack = QStackedWidget()
        self._stack.addWidget(self._table)
        self._stack.addWidget(self._empty)

        self._add = QPushButton(
            "Add company address…" if company else "Add external email address…"
        )
        self._add.setObjectName(names["add"])
        self._add.setDefault(False)
        self._edit = QPushButton("Edit…")
        self._edit.setObjectName(names["edit"])
        self._remove = QPushButton("Remove")
        self._remove.setObjectName(names["remove"])
        self._add.clicked.connect(self.open_add_dialog)
        self._edit.clicked.connect(self._on_edit_clicked)
        self._remove.clicked.connect(self._on_remove_clicked)

        buttons = QHBoxLayout()
        buttons.addWidget(self._add)
        buttons.addWidget(self._edit)
        buttons.addWidget(self._remove)
        buttons.addStretch(1)

        layout = QVBoxLayout(self)
        layout.addWidget(self._title)
        layout.addWidget(self._subtitle)
        layout.addSpacing(6)
        layout.addLayout(buttons)
        layout.addWidget(self._stack, 1)

        if context is not None:
            self._attach_model()
        self.set_employee(None)

    def _attach_model(self) -> None:
        """Give the table its model; done on binding, not before the first paint.

        The header asks the model for its titles as soon as it has one, and the first
        of those calls builds PySide6's `Qt` enums (some 13 ms), which the main window
        keeps off its first paint. The table is hidden until an employee is chosen.
        """
        from PySide6.QtCore import Qt

        # Names come from the admin or a CSV file: never let Qt read them as HTML.
        for label in (self._title, self._subtitle, self._empty):
            label.setTextFormat(Qt.TextFormat.PlainText)
        self._table.setModel(self._model)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        header.setMinimumSectionSize(80)
        header.setHighlightSections(False)
        self._table.selectionModel().selectionChanged.connect(self._update_buttons)

    # Public API ----------------------------------------------------------------------------

    def bind(self, context: AppContext) -> None:
        if self._bound_context is None:
            self._bound_context = context
            self._attach_model()

    @property
    def _context(self) -> AppContext:
        if self._bound_context is None:
            raise RuntimeError("the address pane is not bound to a database yet")
        return self._bound_context

    @property
    def employee(self) -> EmployeeRecord | None:
        return self._employee

    @property
    def current_dialog(self) -> AddressDialog | None:
        return self._dialog

    def set_employee(self, employee: EmployeeRecord | None) -> None:
        self._employee = employee
        self.refresh()

    def refresh(self, select_address_id: int | None = None) -> None:
        if self._company:
            self._refresh_company(select_address_id)
            return
        employee = self._employee
        if employee is None:
            self._title.setText("External email addresses")
            self._subtitle.setText("")
            self._model.set_addresses([])
            self._empty.setText(
                "Select an employee on the left to see and add their external email "
                "addresses."
            )
            self._stack.setCurrentWidget(self._empty)
            self._update_buttons()
            return
        rows = self._context.db.addresses_for_employee(employee.id)
        self._model.set_addresses(rows)
        self._title.setText(employee.name)
        self._subtitle.setText(employee.position or "")
        if rows:
            self._stack.setCurrentWidget(self._table)
            self._fit_columns()
        else:
            self._empty.setText(
                f"{employee.name} has no external email addresses yet.\n\n"
                "Click “Add external email address…” to set up the mailbox this employee "
                "writes to clients from."
            )
            self._stack.setCurrentWidget(self._empty)
        self._select(select_address_id)
        self._update_buttons()

    def _refresh_company(self, select_address_id: int | None) -> None:
        self._title.setText("Company addresses")
        self._subtitle.setText(
            "Shared mailboxes (for example support@) that the employees you choose may send "
            "from. An employee's own address for a project comes first."
        )
        if self._bound_context is None:
            self._stack.setCurrentWidget(self._empty)
            return
        rows = self._context.db.company_addresses()
        self._model.set_addresses(rows)
        if rows:
            self._stack.setCurrentWidget(self._table)
            self._fit_columns()
        else:
            self._empty.setText(
                "No company addresses yet.\n\nClick “Add company address…” to set up a "
                "shared mailbox, then choose which employees may send from it."
            )
            self._stack.setCurrentWidget(self._empty)
        self._select(select_address_id)
        self._update_buttons()

    def _select(self, address_id: int | None) -> None:
        if address_id is None:
            return
        for row in range(self._model.rowCount()):
            if self._model.address_at(row).id == address_id:
                self._table.selectRow(row)

    def _fit_columns(self) -> None:
        """Size every column but Projects to its content, capped so Projects stays readable.

        Done once, for the first addresses shown: columns that jump from one employee to
        the next are hard to read, and sizing to content costs a few milliseconds.
        """
        if self._columns_fitted:
            return
        self._columns_fitted = True
        for column in (0, 1, 2, 4):
            self._table.resizeColumnToContents(column)
            self._table.setColumnWidth(column, min(self._table.columnWidth(column), 220))

    def show_updated_address(self, record: AddressRecord) -> None:
        self._model.replace_address(record)

    def selected_address(self) -> AddressRecord | None:
        rows = self._table.selectionModel().selectedRows()
        return self._model.address_at(rows[0].row()) if rows else None

    def open_add_dialog(self) -> AddressDialog | None:
        if self._employee is None and not self._company:
            return None
        return self._open_dialog(None)

    # Handlers ------------------------------------------------------------------------------

    def _open_dialog(self, existing: AddressRecord | None) -> AddressDialog | None:
        from mailsettings_desktop.ui.address_dialog import AddressDialog

        assert self._employee is not None or self._company
        if self._dialog is not None:
            self._dialog.raise_()
            self._dialog.activateWindow()
            return self._dialog
        dialog = AddressDialog(self._context, self._employee, existing, parent=self)
        dialog.address_saved.connect(self._on_address_saved)
        dialog.finished.connect(self._on_dialog_finished)
        self._dialog = dialog
        dialog.open()
        return dialog

    def _on_dialog_finished(self, _result: int) -> None:
        self._dialog = None

    def _on_address_saved(self, record: AddressRecord) -> None:
        self.refresh(select_address_id=record.id)
        self.addresses_changed.emit(_owner(record))

    def _on_edit_clicked(self) -> None:
        record = self.selected_address()
        if record is not None:
            self._open_dialog(record)

    def _on_row_double_clicked(self, index: QModelIndex) -> None:
        self._open_dialog(self._model.address_at(index.row()))

    def _on_remove_clicked(self) -> None:
        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        record = self.selected_address()
        if record is None:
            return
        projects = ", ".join(p.name for p in record.projects)
        detail = (
            f"The projects {projects} will no longer have this address."
            if projects else "No project uses this address."
        )
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove external email address",
            f"Remove {record.email} from "
            f"{self._employee.name if self._employee else 'the company addresses'}?",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setObjectName("removeConfirmation")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(f"{detail}\nIts saved password is deleted from the keyring.")
        remove_button = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(lambda _r: self._on_remove_answered(box, remove_button, record))
        box.open()

    def _on_remove_answered(self, box: QMessageBox, remove_button: QPushButton,
                            record: AddressRecord) -> None:
        from PySide6.QtWidgets import QMessageBox

        from mailsettings_desktop.core.address_book import SaveError, remove_address

        box.deleteLater()
        if box.clickedButton() is not remove_button:
            return
        try:
            remove_address(self._context.db, self._context.secrets, record.id)
        except SaveError as exc:
            QMessageBox.warning(self, "The address was not removed", str(exc))
            return
        self.refresh()
        self.addresses_changed.emit(_owner(record))

    def _update_buttons(self) -> None:
        has_employee = self._employee is not None or self._company
        selection = self._table.selectionModel()
        has_selection = selection is not None and bool(selection.selectedRows())
        self._add.setEnabled(has_employee)
        self._edit.setEnabled(has_selection)
        self._remove.setEnabled(has_selection)
