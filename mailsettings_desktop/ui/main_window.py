"""The main window: employees on the left, the selected employee's addresses on the right."""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, QModelIndex, Qt
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop import APP_DISPLAY_NAME, __version__
from mailsettings_desktop.core.records import AddressRecord, EmployeeRecord
from mailsettings_desktop.ui.address_pane import AddressPane
from mailsettings_desktop.ui.bulk_test_dialog import BulkTestDialog
from mailsettings_desktop.ui.context import AppContext
from mailsettings_desktop.ui.employee_card import EmployeeCard
from mailsettings_desktop.ui.employee_model import (
    EMPLOYEE_ID_ROLE,
    EmployeeFilterModel,
    EmployeeListModel,
)
from mailsettings_desktop.ui.explain_window import ExplainWindow
from mailsettings_desktop.ui.preferences import PreferencesDialog, test_all_concurrency
from mailsettings_desktop.ui.record_dialogs import EmployeeDialog, ProjectDialog
from mailsettings_desktop.ui.style import APP_STYLESHEET

log = logging.getLogger(__name__)

_KEYRING_NAMES = {
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
}


def keyring_display_name(backend_name: str) -> str:
    """A name an admin recognises for a keyring backend's class path."""
    return _KEYRING_NAMES.get(backend_name, backend_name.rsplit(".", 1)[-1])


class MainWindow(QMainWindow):
    """Lists employees and shows the external addresses of the one selected."""

    def __init__(self, context: AppContext, log_path: str = "") -> None:
        super().__init__()
        self._context = context
        self._log_path = log_path
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{APP_DISPLAY_NAME} — external email addresses")
        self.setStyleSheet(APP_STYLESHEET)
        context.runner.setParent(self)

        self._employees = EmployeeListModel(self)
        self._filtered = EmployeeFilterModel(self)
        self._filtered.setSourceModel(self._employees)

        self._filter = QLineEdit()
        self._filter.setObjectName("employeeFilter")
        self._filter.setPlaceholderText("Filter employees by name or position")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._on_filter_changed)

        self._list = QListView()
        self._list.setObjectName("employeeList")
        self._list.setModel(self._filtered)
        self._list.setUniformItemSizes(True)
        self._list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._list.selectionModel().selectionChanged.connect(self._on_employee_selected)
        # Double-click, Enter or Return opens the employee card.
        self._list.activated.connect(self._on_employee_activated)

        self._no_employees = QLabel()
        self._no_employees.setObjectName("employeeEmptyState")
        self._no_employees.setWordWrap(True)
        self._no_employees.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._no_employees.setStyleSheet("color: #5f6368; padding: 12px;")
        self._list_stack = QStackedWidget()
        self._list_stack.addWidget(self._list)
        self._list_stack.addWidget(self._no_employees)

        add_employee = QPushButton("Add employee…")
        add_employee.setObjectName("addEmployeeButton")
        add_employee.clicked.connect(self.open_employee_dialog)

        heading = QLabel("Employees")
        heading_font = heading.font()
        heading_font.setBold(True)
        heading.setFont(heading_font)
        self._count = QLabel()
        self._count.setObjectName("employeeCount")
        self._count.setStyleSheet("color: #5f6368;")

        left = QWidget()
        left_layout = QVBoxLayout(left)
        header_row = QHBoxLayout()
        header_row.addWidget(heading)
        header_row.addStretch(1)
        header_row.addWidget(self._count)
        left_layout.addLayout(header_row)
        left_layout.addWidget(self._filter)
        left_layout.addWidget(self._list_stack, 1)
        left_layout.addWidget(add_employee)

        self._pane = AddressPane(context)
        self._pane.addresses_changed.connect(self._on_addresses_changed)

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self._pane)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 820])
        splitter.setChildrenCollapsible(False)

        central = QWidget()
        central_layout = QVBoxLayout(central)
        central_layout.addWidget(self._keyring_banner())
        central_layout.addWidget(splitter, 1)
        self.setCentralWidget(central)
        self._build_menus()
        self._build_status_bar()
        self.resize(1120, 680)
        self.reload_employees()

    # Building ------------------------------------------------------------------------------

    def _keyring_banner(self) -> QFrame:
        status = self._context.secrets.status()
        banner = QFrame()
        banner.setObjectName("banner")
        label = QLabel(
            f"<b>Passwords cannot be saved on this computer:</b> {status.problem} "
            f"({status.backend_name}). This program keeps passwords only in the operating "
            "system's keyring (Windows Credential Manager, macOS Keychain, GNOME Keyring or "
            "KWallet). Until one is available, new addresses cannot be saved."
        )
        label.setObjectName("keyringBanner")
        label.setWordWrap(True)
        QVBoxLayout(banner).addWidget(label)
        banner.setVisible(not status.usable)
        if not status.usable:
            log.warning("keyring unusable: %s (%s)", status.problem, status.backend_name)
        return banner

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        quit_action = QAction("&Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)

        edit_menu = self.menuBar().addMenu("&Edit")
        add_employee = QAction("Add &employee…", self)
        add_employee.setShortcut(QKeySequence.StandardKey.New)
        add_employee.triggered.connect(self.open_employee_dialog)
        add_project = QAction("Add &project…", self)
        add_project.triggered.connect(self.open_project_dialog)
        add_address = QAction("Add external email &address…", self)
        add_address.setShortcut(QKeySequence("Ctrl+Shift+N"))
        add_address.triggered.connect(self._pane.open_add_dialog)
        find = QAction("&Find employee", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._focus_filter)
        for action in (add_employee, add_project, add_address, find):
            edit_menu.addAction(action)

        tools = self.addToolBar("Tools")
        tools.setObjectName("mainToolBar")
        tools.setMovable(False)
        tools.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        test_all = QAction("Test all addresses", self)
        test_all.setObjectName("testAllAction")
        test_all.setToolTip("Re-test every saved address and list the ones that fail")
        test_all.triggered.connect(self.test_all_addresses)
        test_employee = QAction("Test this employee's addresses", self)
        test_employee.setObjectName("testEmployeeAction")
        test_employee.triggered.connect(self.test_employee_addresses)
        preferences = QAction("Preferences…", self)
        preferences.setObjectName("preferencesAction")
        preferences.triggered.connect(self.open_preferences)
        tools.addAction(test_all)
        tools.addAction(test_employee)
        edit_menu.addSeparator()
        edit_menu.addAction(preferences)

        help_menu = self.menuBar().addMenu("&Help")
        explain = QAction("&Explain a server error…", self)
        explain.triggered.connect(self.open_explain_window)
        help_menu.addAction(explain)
        about = QAction("&About", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _build_status_bar(self) -> None:
        status = self._context.secrets.status()
        keyring_text = (
            f"Passwords kept in: {keyring_display_name(status.backend_name)}"
            if status.usable else "Passwords: no usable keyring"
        )
        self.statusBar().showMessage(f"Database: {self._context.db.path}   ·   {keyring_text}")

    # Employees -----------------------------------------------------------------------------

    def reload_employees(self, select_id: int | None = None) -> None:
        current = self._pane.employee
        employees = self._context.db.list_employees()
        self._employees.set_employees(employees)
        self._count.setText(str(len(employees)) if employees else "")
        if employees:
            self._list_stack.setCurrentWidget(self._list)
        else:
            self._no_employees.setText(
                "No employees yet.\n\nClick “Add employee…” below, or start the program "
                "with --demo to explore a sample company."
            )
            self._list_stack.setCurrentWidget(self._no_employees)
        target = select_id if select_id is not None else (current.id if current else None)
        if target is not None:
            self.select_employee(target)
        else:
            self._pane.set_employee(None)

    def select_employee(self, employee_id: int) -> bool:
        row = self._employees.row_of(employee_id)
        if row is None:
            self._pane.set_employee(None)
            return False
        index = self._filtered.mapFromSource(self._employees.index(row))
        if not index.isValid():
            self._filter.clear()
            index = self._filtered.mapFromSource(self._employees.index(row))
        self._list.setCurrentIndex(index)
        self._list.scrollTo(index)
        return True

    def _on_filter_changed(self, text: str) -> None:
        self._filtered.set_filter_text(text)
        if self._filtered.rowCount() == 1:
            self._list.setCurrentIndex(self._filtered.index(0, 0))

    def _on_employee_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        source = self._filtered.mapToSource(indexes[0])
        employee = self._employees.employee_at(source.row())
        if self._pane.employee is None or self._pane.employee.id != employee.id:
            self._pane.set_employee(employee)

    def _on_addresses_changed(self, employee_id: int) -> None:
        self.statusBar().showMessage("Saved.", 4000)
        if self._pane.employee is not None and self._pane.employee.id == employee_id:
            self._pane.refresh()
        for card in self.findChildren(EmployeeCard):
            if card.employee.id == employee_id:
                card.address_pane.refresh()

    def _on_employee_activated(self, index: QModelIndex) -> None:
        source = self._filtered.mapToSource(index)
        self.open_employee_card(self._employees.employee_at(source.row()).id)

    def open_employee_card(self, employee_id: int) -> EmployeeCard | None:
        """Open (or bring forward) the card of one employee."""
        for card in self.findChildren(EmployeeCard):
            if card.employee.id == employee_id:
                card.raise_()
                card.activateWindow()
                return card
        row = self._employees.row_of(employee_id)
        if row is None:
            return None
        card = EmployeeCard(self._context, self._employees.employee_at(row), self)
        card.addresses_changed.connect(self._on_addresses_changed)
        card.show()
        return card

    def _focus_filter(self) -> None:
        self._filter.setFocus()
        self._filter.selectAll()

    def open_employee_dialog(self) -> EmployeeDialog:
        dialog = EmployeeDialog(self._context.db, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.employee_added.connect(self._on_employee_added)
        dialog.open()
        return dialog

    def _on_employee_added(self, record: EmployeeRecord) -> None:
        self.reload_employees(select_id=record.id)

    def open_project_dialog(self) -> ProjectDialog:
        dialog = ProjectDialog(self._context.db, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.project_added.connect(self._on_project_added)
        dialog.open()
        return dialog

    def _on_project_added(self, _record: object) -> None:
        self.statusBar().showMessage("Project added.", 4000)

    @property
    def address_pane(self) -> AddressPane:
        return self._pane

    @property
    def context(self) -> AppContext:
        return self._context

    def selected_employee_id(self) -> int | None:
        index = self._list.currentIndex()
        return int(index.data(EMPLOYEE_ID_ROLE)) if index.isValid() else None

    # Window --------------------------------------------------------------------------------

    # Test all --------------------------------------------------------------------------

    def test_all_addresses(self) -> BulkTestDialog | None:
        return self._start_test_all(self._context.db.all_addresses())

    def test_employee_addresses(self) -> BulkTestDialog | None:
        employee = self._pane.employee
        if employee is None:
            self.statusBar().showMessage("Select an employee first.", 4000)
            return None
        return self._start_test_all(self._context.db.addresses_for_employee(employee.id))

    def _start_test_all(self, records: list[AddressRecord]) -> BulkTestDialog | None:
        if not records:
            self.statusBar().showMessage("There are no saved addresses to test.", 4000)
            return None
        names = {e.id: e.name for e in self._context.db.list_employees(include_inactive=True)}
        dialog = BulkTestDialog(self._context, records, names, test_all_concurrency(), self)
        dialog.address_tested.connect(self._on_address_retested)
        dialog.show()
        dialog.start()
        return dialog

    def _on_address_retested(self, record: AddressRecord) -> None:
        self._pane.show_updated_address(record)
        for card in self.findChildren(EmployeeCard):
            card.address_pane.show_updated_address(record)

    def open_preferences(self) -> PreferencesDialog:
        dialog = PreferencesDialog(self)
        dialog.open()
        return dialog

    def open_explain_window(self) -> ExplainWindow:
        window = ExplainWindow(self._context.presets, self)
        window.show()
        return window

    def _show_about(self) -> None:
        QMessageBox.about(
            self,
            f"About {APP_DISPLAY_NAME}",
            f"<b>{APP_DISPLAY_NAME}</b> {__version__}<br>Configure the external email "
            f"addresses of your company's employees.<br><br>Database: {self._context.db.path}"
            f"<br>Log file: {self._log_path or 'not written'}",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        for dialog in self.findChildren(BulkTestDialog):
            dialog.close()
        self._context.runner.shutdown()
        super().closeEvent(event)
