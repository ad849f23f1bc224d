"""The main window: employees on the left, the selected employee's addresses on the right.

The window can be built and shown before the database is open (`MainWindow(None)`, then
`bind(context)`): the program shows it first and loads SQLAlchemy, the keyring and the
employees right after its first paint. For the same reason this module imports the
dialogs that need the database only when they are opened.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QItemSelection, QModelIndex
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop import APP_DISPLAY_NAME, __version__
from mailsettings_desktop.ui.address_pane import AddressPane
from mailsettings_desktop.ui.employee_model import EMPLOYEE_ID_ROLE, EmployeeListModel
from mailsettings_desktop.ui.style import APP_STYLESHEET

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMessageBox

    from mailsettings_desktop.core.csv_import import ImportSummary
    from mailsettings_desktop.core.records import AddressRecord, EmployeeRecord
    from mailsettings_desktop.ui.bulk_test_dialog import BulkTestDialog
    from mailsettings_desktop.ui.context import AppContext
    from mailsettings_desktop.ui.csv_import_dialog import CsvImportDialog
    from mailsettings_desktop.ui.employee_card import EmployeeCard
    from mailsettings_desktop.ui.explain_window import ExplainWindow
    from mailsettings_desktop.ui.preferences import PreferencesDialog
    from mailsettings_desktop.ui.projects_dialog import ProjectsDialog
    from mailsettings_desktop.ui.record_dialogs import EmployeeDialog, ProjectDialog
    from mailsettings_desktop.ui.sending_view import SendingView

log = logging.getLogger(__name__)

# The objectName of BulkTestDialog, found by name so closing needs no import of it.
_TEST_ALL_DIALOG = "testAllDialog"

_KEYRING_NAMES = {
    "keyring.backends.Windows.WinVaultKeyring": "Windows Credential Manager",
    "keyring.backends.macOS.Keyring": "macOS Keychain",
    "keyring.backends.SecretService.Keyring": "Secret Service (GNOME Keyring)",
    "keyring.backends.kwallet.DBusKeyring": "KWallet",
}


def app_icon() -> QIcon:
    """The program's icon (an envelope with a check mark), from resources/icons."""
    from mailsettings_desktop.core.paths import resources_dir

    return QIcon(str(resources_dir() / "icons" / "mailsettings.png"))


def keyring_display_name(backend_name: str) -> str:
    """A name an admin recognises for a keyring backend's class path."""
    return _KEYRING_NAMES.get(backend_name, backend_name.rsplit(".", 1)[-1])


class MainWindow(QMainWindow):
    """Lists employees and shows the external addresses of the one selected.

    Built with a context it is bound at once; built with None it shows an empty,
    inert window until `bind` attaches the database.
    """

    def __init__(self, context: AppContext | None = None, log_path: str = "") -> None:
        super().__init__()
        self._context: AppContext | None = None
        self._log_path = log_path
        self._needs_database: list[QAction | QPushButton] = []
        self.setObjectName("mainWindow")
        self.setWindowTitle(f"{APP_DISPLAY_NAME} — external email addresses")
        self.setStyleSheet(APP_STYLESHEET)

        self._employees = EmployeeListModel(self)

        self._filter = QLineEdit()
        self._filter.setObjectName("employeeFilter")
        self._filter.setPlaceholderText("Filter employees by name or position")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._on_filter_changed)

        self._list = QListView()
        self._list.setObjectName("employeeList")
        self._list.setModel(self._employees)
        self._list.setUniformItemSizes(True)
        self._list.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self._list.selectionModel().selectionChanged.connect(self._on_employee_selected)
        # Double-click, Enter or Return opens the employee card.
        self._list.activated.connect(self._on_employee_activated)

        self._no_employees = QLabel()
        self._no_employees.setObjectName("employeeEmptyState")
        self._no_employees.setWordWrap(True)
        # Centred through the style sheet: see EMPLOYEE_ID_ROLE in employee_model for why
        # the main window avoids the `Qt` namespace until it has painted once.
        self._no_employees.setStyleSheet(
            "color: #5f6368; padding: 12px; qproperty-alignment: AlignCenter;"
        )
        self._list_stack = QStackedWidget()
        self._list_stack.addWidget(self._list)
        self._list_stack.addWidget(self._no_employees)

        add_employee = QPushButton("Add employee…")
        add_employee.setObjectName("addEmployeeButton")
        add_employee.clicked.connect(self.open_employee_dialog)
        self._needs_database.append(add_employee)

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

        self._pane = AddressPane(None)
        self._pane.addresses_changed.connect(self._on_addresses_changed)
        # The tabs (Sending, Company addresses) are put around the pane and the splitter
        # in `bind`: they need the database, and building them would delay the first paint.
        self._employee_tabs: QTabWidget | None = None
        self._sections: QStackedWidget | None = None
        self._sending: SendingView | None = None
        self._company_pane: AddressPane | None = None
        self._show_inactive = False

        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self._pane)
        self._splitter = splitter
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([280, 820])
        splitter.setChildrenCollapsible(False)

        central = QWidget()
        central_layout = QVBoxLayout(central)
        self._banner = QFrame()
        self._banner.setObjectName("banner")
        self._banner_label = QLabel()
        self._banner_label.setObjectName("keyringBanner")
        self._banner_label.setWordWrap(True)
        QVBoxLayout(self._banner).addWidget(self._banner_label)
        self._banner.setVisible(False)
        central_layout.addWidget(self._banner)
        central_layout.addWidget(splitter, 1)
        self._central_layout = central_layout
        self.setCentralWidget(central)
        self._build_menus()
        self.resize(1120, 680)
        if context is not None:
            self.bind(context)
        else:
            self._show_opening()

    def bind(self, context: AppContext, log_path: str | None = None) -> None:
        """Attach the database, keyring and check runner, and list the employees."""
        if self._context is not None:
            raise RuntimeError("the main window is already bound to a database")
        self._context = context
        if log_path is not None:
            self._log_path = log_path
        context.runner.setParent(self)
        self.setWindowIcon(app_icon())
        self._pane.bind(context)
        self._add_database_sections(context)
        self._set_shortcuts()
        self._show_keyring_status()
        self._build_status_bar()
        for control in self._needs_database:
            control.setEnabled(True)
        self.reload_employees()
        self._update_employee_actions()

    # Building ------------------------------------------------------------------------------

    def _add_database_sections(self, context: AppContext) -> None:
        """The Sending tab and the Company addresses section, once the database is open."""
        from mailsettings_desktop.ui.sending_view import SendingView

        tabs = QTabWidget()
        tabs.setObjectName("employeeTabs")
        self._splitter.replaceWidget(1, tabs)
        tabs.addTab(self._pane, "External email addresses")
        self._sending = SendingView(context.db)
        self._sending.setObjectName("sendingView")
        tabs.addTab(self._sending, "Sending")
        tabs.currentChanged.connect(self._on_employee_tab_changed)
        self._employee_tabs = tabs

        # The two sections are switched from the toolbar. A QTabWidget here made every click
        # in the employee list some 4 ms slower (its tab bar follows each relayout).
        sections = QStackedWidget()
        sections.setObjectName("sections")
        self._central_layout.replaceWidget(self._splitter, sections)
        sections.addWidget(self._splitter)
        self._company_pane = AddressPane(context, company=True)
        self._company_pane.setObjectName("companyPane")
        self._company_pane.addresses_changed.connect(self._on_addresses_changed)
        sections.addWidget(self._company_pane)
        self._sections = sections
        self._add_section_switch()

    def _add_section_switch(self) -> None:
        """The toolbar's Employees / Company addresses buttons (built after the first paint:
        an action group is one more Qt type to load before it)."""
        from PySide6.QtGui import QActionGroup

        first = self._tools.actions()[0]  # "Test all addresses": the switch goes before it
        self._show_employees = QAction("Employees", self)
        self._show_employees.setObjectName("showEmployeesAction")
        self._show_employees.setToolTip("Employees and their own external addresses")
        self._show_company = QAction("Company addresses", self)
        self._show_company.setObjectName("showCompanyAction")
        self._show_company.setToolTip("Shared mailboxes that several employees may send from")
        views = QActionGroup(self)
        for action in (self._show_employees, self._show_company):
            action.setCheckable(True)
            views.addAction(action)
            self._tools.insertAction(first, action)
        self._tools.insertSeparator(first)
        self._show_employees.setChecked(True)
        self._show_employees.triggered.connect(self.show_employees_section)
        self._show_company.triggered.connect(self.show_company_section)

    def _show_opening(self) -> None:
        for control in self._needs_database:
            control.setEnabled(False)
        self._no_employees.setText("Opening the database…")
        self._list_stack.setCurrentWidget(self._no_employees)
        self.statusBar().showMessage("Opening the database…")

    def _show_keyring_status(self) -> None:
        """One banner for what stops saving: no usable keyring, or a read-only database."""
        from html import escape

        problems = []
        status = self.context.secrets.status()
        if not status.usable:
            problems.append(
                f"<b>Passwords cannot be saved on this computer:</b> {escape(status.problem)} "
                f"({escape(status.backend_name)}). This program keeps passwords only in the "
                "operating system's keyring (Windows Credential Manager, macOS Keychain, "
                "GNOME Keyring or KWallet). Until one is available, new addresses cannot "
                "be saved."
            )
            log.warning("keyring unusable: %s (%s)", status.problem, status.backend_name)
        if self.context.db.is_read_only():
            problems.append(
                f"<b>The database is read-only:</b> {escape(str(self.context.db.path))} "
                "cannot be changed (check the file's permissions, or whether it is on a "
                "read-only drive). You can look, but nothing can be saved."
            )
            log.warning("database is read-only: %s", self.context.db.path)
        self._banner_label.setText("<br><br>".join(problems))
        self._banner.setVisible(bool(problems))

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        import_csv = QAction("&Import employees and projects from CSV…", self)
        import_csv.setObjectName("importCsvAction")
        import_csv.triggered.connect(self.open_csv_import)
        file_menu.addAction(import_csv)
        file_menu.addSeparator()
        quit_action = QAction("&Quit", self)
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        self._needs_database.append(import_csv)

        edit_menu = self.menuBar().addMenu("&Edit")
        add_employee = QAction("Add &employee…", self)
        add_employee.triggered.connect(self.open_employee_dialog)
        add_project = QAction("Add &project…", self)
        add_project.triggered.connect(self.open_project_dialog)
        add_address = QAction("Add external email &address…", self)
        add_address.triggered.connect(self._pane.open_add_dialog)
        find = QAction("&Find employee", self)
        find.triggered.connect(self._focus_filter)
        edit_employee = QAction("Edit &employee details…", self)
        edit_employee.setObjectName("editEmployeeAction")
        edit_employee.triggered.connect(self.open_edit_employee_dialog)
        toggle_active = QAction("&Deactivate or reactivate employee", self)
        toggle_active.setObjectName("toggleActiveAction")
        toggle_active.triggered.connect(self.toggle_employee_active)
        remove_employee = QAction("&Remove employee…", self)
        remove_employee.setObjectName("removeEmployeeAction")
        remove_employee.triggered.connect(self.confirm_remove_employee)
        projects = QAction("Pro&jects…", self)
        projects.setObjectName("projectsAction")
        projects.triggered.connect(self.open_projects_dialog)
        for action in (add_employee, add_project, add_address, find):
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        for action in (edit_employee, toggle_active, remove_employee, projects):
            edit_menu.addAction(action)
        self._needs_database.extend((edit_employee, toggle_active, remove_employee, projects))

        view_menu = self.menuBar().addMenu("&View")
        show_inactive = QAction("Show &inactive employees", self)
        show_inactive.setObjectName("showInactiveAction")
        show_inactive.setCheckable(True)
        show_inactive.toggled.connect(self.set_show_inactive)
        view_menu.addAction(show_inactive)
        self._needs_database.append(show_inactive)
        # Shortcuts are given in `_set_shortcuts`, after the first paint: converting a key
        # sequence builds PySide6's `Qt` enums (see EMPLOYEE_ID_ROLE in employee_model).
        self._shortcuts: list[tuple[QAction, QKeySequence.StandardKey | str]] = [
            (quit_action, QKeySequence.StandardKey.Quit),
            (add_employee, QKeySequence.StandardKey.New),
            (add_address, "Ctrl+Shift+N"),
            (find, QKeySequence.StandardKey.Find),
        ]
        self._needs_database.extend((add_employee, add_project, add_address))

        tools = self.addToolBar("Tools")
        tools.setObjectName("mainToolBar")
        tools.setMovable(False)
        self._tools = tools
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
        self._needs_database.extend((test_all, test_employee))
        # Enabled only while an employee is selected (see `_update_employee_actions`).
        self._employee_actions = [add_address, test_employee, edit_employee, toggle_active,
                                  remove_employee]

        settings_menu = self.menuBar().addMenu("&Settings")
        company_apps = QAction("&Company sign-in apps…", self)
        company_apps.setObjectName("companyAppsAction")
        company_apps.setToolTip("The company's own Microsoft and Google apps for OAuth2 sign-in")
        company_apps.triggered.connect(self.open_company_apps)
        settings_menu.addAction(company_apps)
        settings_menu.addAction(preferences)
        self._needs_database.append(company_apps)

        help_menu = self.menuBar().addMenu("&Help")
        explain = QAction("&Explain a server error…", self)
        explain.triggered.connect(self.open_explain_window)
        help_menu.addAction(explain)
        about = QAction("&About", self)
        about.triggered.connect(self._show_about)
        help_menu.addAction(about)

    def _set_shortcuts(self) -> None:
        for action, keys in self._shortcuts:
            action.setShortcut(QKeySequence(keys))

    def _build_status_bar(self) -> None:
        status = self.context.secrets.status()
        keyring_text = (
            f"Passwords kept in: {keyring_display_name(status.backend_name)}"
            if status.usable else "Passwords: no usable keyring"
        )
        self.statusBar().showMessage(f"Database: {self.context.db.path}   ·   {keyring_text}")

    # Employees -----------------------------------------------------------------------------

    def reload_employees(self, select_id: int | None = None) -> None:
        """Read the employee list again (after an add or rename) and keep the selection."""
        from mailsettings_desktop.core.list_queries import load_employee_index

        current = self._pane.employee
        self._employees.set_index(
            load_employee_index(self.context.db.engine, include_inactive=self._show_inactive)
        )
        self._update_count()
        if self._employees.total:
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
        self._update_employee_actions()

    def select_employee(self, employee_id: int) -> bool:
        if not self._employees.is_listed(employee_id):
            self._pane.set_employee(None)
            self._update_employee_actions()
            return False
        row = self._employees.row_of(employee_id)
        if row is None:
            self._filter.clear()
            row = self._employees.row_of(employee_id)
        assert row is not None
        index = self._employees.index(row, 0)
        self._list.setCurrentIndex(index)
        self._list.scrollTo(index)
        return True

    def _update_count(self) -> None:
        total = self._employees.total
        shown = self._employees.matching
        self._count.setText(
            "" if not total else str(total) if shown == total else f"{shown} of {total}"
        )

    def _on_filter_changed(self, text: str) -> None:
        if not self._employees.set_filter_text(text):
            return
        self._update_count()
        if self._employees.matching == 1:
            self._list.setCurrentIndex(self._employees.index(0, 0))
            return
        # The model was reset; put the employee on the right back as the current row
        # when the filter still shows them (the pane itself stays as it is).
        current = self._pane.employee
        row = self._employees.row_of(current.id) if current is not None else None
        if row is not None:
            index = self._employees.index(row, 0)
            self._list.setCurrentIndex(index)
            self._list.scrollTo(index)

    def _on_employee_selected(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        indexes = selected.indexes()
        if not indexes:
            return
        employee = self._employees.employee_at(indexes[0].row())
        if self._pane.employee is None or self._pane.employee.id != employee.id:
            self._pane.set_employee(employee)
            self._refresh_sending()
        self._update_employee_actions()

    def show_employees_section(self) -> None:
        if self._sections is not None:
            self._sections.setCurrentIndex(0)
            self._show_employees.setChecked(True)

    def show_company_section(self) -> None:
        if self._sections is not None and self._company_pane is not None:
            self._sections.setCurrentWidget(self._company_pane)
            self._show_company.setChecked(True)

    def _update_employee_actions(self) -> None:
        """Actions about "the selected employee" are greyed out while there is none."""
        selected = self._context is not None and self._pane.employee is not None
        for action in self._employee_actions:
            action.setEnabled(selected)

    def open_company_apps(self) -> QWidget:
        from mailsettings_desktop.ui.company_apps_window import open_company_apps_window

        return open_company_apps_window(self, self.context)

    def _on_employee_tab_changed(self, _index: int) -> None:
        self._refresh_sending()

    def _refresh_sending(self) -> None:
        """Keep the Sending tab current, computing it only while it is shown."""
        tabs, sending = self._employee_tabs, self._sending
        if sending is not None and tabs is not None and tabs.currentWidget() is sending:
            sending.set_employee(self._pane.employee)

    def set_show_inactive(self, shown: bool) -> None:
        self._show_inactive = shown
        self.reload_employees()

    def _selected_employee(self) -> EmployeeRecord | None:
        employee = self._pane.employee
        if employee is None:
            self.statusBar().showMessage("Select an employee first.", 4000)
        return employee

    def open_edit_employee_dialog(self) -> EmployeeDialog | None:
        from mailsettings_desktop.ui.record_dialogs import EmployeeDialog

        employee = self._selected_employee()
        if employee is None:
            return None
        dialog = EmployeeDialog(self.context.db, self, existing=employee)
        dialog.employee_added.connect(self._on_employee_added)
        dialog.open()
        return dialog

    def toggle_employee_active(self) -> None:
        employee = self._selected_employee()
        if employee is None:
            return
        record = self.context.db.set_employee_active(employee.id, not employee.active)
        state = "reactivated" if record.active else "deactivated; their addresses are kept"
        self.statusBar().showMessage(f"{record.name} {state}.", 6000)
        self._pane.set_employee(None)
        self.reload_employees(select_id=record.id if record.active or self._show_inactive
                              else None)

    def confirm_remove_employee(self) -> None:
        from functools import partial

        from PySide6.QtCore import Qt
        from PySide6.QtWidgets import QMessageBox

        employee = self._selected_employee()
        if employee is None:
            return
        summary = self.context.db.employee_removal_summary(employee.id)
        box = QMessageBox(QMessageBox.Icon.Warning, "Remove employee",
                          f"Remove {employee.name} for good?",
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("removeEmployeeConfirmation")
        box.setTextFormat(Qt.TextFormat.PlainText)
        lines = []
        if summary.addresses:
            lines.append("Their external addresses are removed with their saved passwords: "
                         + ", ".join(a.email for a in summary.addresses) + ".")
        if summary.projects:
            lines.append("These projects lose an address: "
                         + ", ".join(p.name for p in summary.projects) + ".")
        if summary.company_addresses:
            lines.append("They will no longer be allowed to send from: "
                         + ", ".join(a.email for a in summary.company_addresses) + ".")
        lines.append("To keep their addresses, deactivate the employee instead.")
        box.setInformativeText("\n".join(lines))
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(partial(self._on_remove_employee_answered, box, remove, employee))
        box.open()

    def _on_remove_employee_answered(self, box: QMessageBox, remove: QPushButton,
                                     employee: EmployeeRecord, _result: int) -> None:
        from PySide6.QtWidgets import QMessageBox

        from mailsettings_desktop.core.address_book import SaveError
        from mailsettings_desktop.core.people import remove_employee

        box.deleteLater()
        if box.clickedButton() is not remove:
            return
        try:
            remove_employee(self.context.db, self.context.secrets, employee.id)
        except SaveError as exc:
            QMessageBox.warning(self, "The employee was not removed", str(exc))
            return
        for card in self._open_cards():
            if card.employee.id == employee.id:
                card.close()
        self._pane.set_employee(None)
        self.reload_employees()
        if self._company_pane is not None:
            self._company_pane.refresh()
        self.statusBar().showMessage(f"{employee.name} removed.", 6000)

    def open_projects_dialog(self) -> ProjectsDialog:
        from mailsettings_desktop.ui.projects_dialog import ProjectsDialog

        dialog = ProjectsDialog(self.context.db, self)
        dialog.projects_changed.connect(self._on_projects_changed)
        dialog.show()
        return dialog

    def _on_projects_changed(self) -> None:
        self._pane.refresh()
        if self._company_pane is not None:
            self._company_pane.refresh()
        self._refresh_sending()

    def open_csv_import(self) -> CsvImportDialog:
        from mailsettings_desktop.ui.csv_import_dialog import CsvImportDialog

        dialog = CsvImportDialog(self.context.db, self)
        dialog.imported.connect(self._on_csv_imported)
        dialog.open()
        return dialog

    def _on_csv_imported(self, summary: ImportSummary) -> None:
        self.reload_employees()
        skipped = f", {len(summary.skipped_lines)} rows skipped" if summary.skipped_lines else ""
        self.statusBar().showMessage(
            f"Imported {summary.employees_added} employees and {summary.projects_added} "
            f"projects{skipped}.", 8000,
        )

    @property
    def company_pane(self) -> AddressPane | None:
        return self._company_pane

    def _on_addresses_changed(self, employee_id: int) -> None:
        self.statusBar().showMessage("Saved.", 4000)
        self._refresh_sending()
        if self._pane.employee is not None and self._pane.employee.id == employee_id:
            self._pane.refresh()
        for card in self._open_cards():
            if card.employee.id == employee_id:
                card.address_pane.refresh()

    def _on_employee_activated(self, index: QModelIndex) -> None:
        self.open_employee_card(int(index.data(EMPLOYEE_ID_ROLE)))

    def open_employee_card(self, employee_id: int) -> EmployeeCard | None:
        """Open (or bring forward) the card of one employee."""
        from mailsettings_desktop.ui.employee_card import EmployeeCard

        for card in self._open_cards():
            if card.employee.id == employee_id:
                card.raise_()
                card.activateWindow()
                return card
        employee = self.context.db.get_employee(employee_id)
        if employee is None:
            return None
        card = EmployeeCard(self.context, employee, self)
        card.addresses_changed.connect(self._on_addresses_changed)
        card.show()
        return card

    def _open_cards(self) -> list[EmployeeCard]:
        from mailsettings_desktop.ui.employee_card import EmployeeCard

        return self.findChildren(EmployeeCard)

    def _focus_filter(self) -> None:
        self._filter.setFocus()
        self._filter.selectAll()

    def open_employee_dialog(self) -> EmployeeDialog:
        from mailsettings_desktop.ui.record_dialogs import EmployeeDialog

        dialog = EmployeeDialog(self.context.db, self)
        dialog.employee_added.connect(self._on_employee_added)
        dialog.open()
        return dialog

    def _on_employee_added(self, record: EmployeeRecord) -> None:
        self.reload_employees(select_id=record.id)

    def open_project_dialog(self) -> ProjectDialog:
        from mailsettings_desktop.ui.record_dialogs import ProjectDialog

        dialog = ProjectDialog(self.context.db, self)
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
        """The database, keyring and check runner; only once `bind` has run."""
        if self._context is None:
            raise RuntimeError("the main window is not bound to a database yet")
        return self._context

    def selected_employee_id(self) -> int | None:
        index = self._list.currentIndex()
        return int(index.data(EMPLOYEE_ID_ROLE)) if index.isValid() else None

    # Window --------------------------------------------------------------------------------

    # Test all --------------------------------------------------------------------------

    def test_all_addresses(self) -> BulkTestDialog | None:
        return self._start_test_all(self.context.db.all_addresses())

    def test_employee_addresses(self) -> BulkTestDialog | None:
        employee = self._pane.employee
        if employee is None:
            self.statusBar().showMessage("Select an employee first.", 4000)
            return None
        return self._start_test_all(self.context.db.addresses_for_employee(employee.id))

    def _start_test_all(self, records: list[AddressRecord]) -> BulkTestDialog | None:
        if not records:
            self.statusBar().showMessage("There are no saved addresses to test.", 4000)
            return None
        from mailsettings_desktop.core.list_queries import load_employee_names
        from mailsettings_desktop.ui.bulk_test_dialog import BulkTestDialog
        from mailsettings_desktop.ui.preferences import test_all_concurrency

        names = load_employee_names(self.context.db.engine)
        dialog = BulkTestDialog(self.context, records, names, test_all_concurrency(), self)
        dialog.address_tested.connect(self._on_address_retested)
        dialog.show()
        dialog.start()
        return dialog

    def _on_address_retested(self, record: AddressRecord) -> None:
        self._pane.show_updated_address(record)
        for card in self._open_cards():
            card.address_pane.show_updated_address(record)

    def open_preferences(self) -> PreferencesDialog:
        from mailsettings_desktop.ui.preferences import PreferencesDialog

        dialog = PreferencesDialog(self)
        dialog.open()
        return dialog

    def open_explain_window(self) -> ExplainWindow:
        from mailsettings_desktop.ui.explain_window import ExplainWindow

        window = ExplainWindow(self.context.presets, self)
        window.show()
        return window

    def _show_about(self) -> None:
        from PySide6.QtWidgets import QMessageBox

        QMessageBox.about(
            self,
            f"About {APP_DISPLAY_NAME}",
            f"<b>{APP_DISPLAY_NAME}</b> {__version__}<br>Configure the external email "
            f"addresses of your company's employees.<br><br>Database: "
            f"{self._context.db.path if self._context else 'not open yet'}"
            f"<br>Log file: {self._log_path or 'not written'}",
        )

    def closeEvent(self, event: QCloseEvent) -> None:
        for dialog in self.findChildren(QWidget, _TEST_ALL_DIALOG):
            dialog.close()
        # An open Add/Edit dialog must not outlive the window (and save on its own).
        for address_dialog in self.findChildren(QWidget, "addressDialog"):
            address_dialog.close()
        if self._context is not None:
            self._context.runner.shutdown()
        super().closeEvent(event)
