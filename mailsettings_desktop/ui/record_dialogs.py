"""Small dialogs for adding an employee or a project, validated next to each field."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.records import EmployeeRecord, ProjectRecord
from mailsettings_desktop.core.storage import Database, StorageError
from mailsettings_desktop.core.validation import email_problem
from mailsettings_desktop.ui.style import field_error_label, set_problem


class _RecordDialog(QDialog):
    """A form of a few line edits; subclasses say which fields and how to save them."""

    def __init__(self, db: Database, title: str, intro: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self._db = db
        self.setWindowTitle(title)
        self.setModal(True)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._form = QFormLayout()
        self._error = field_error_label("recordError")
        self._buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self._buttons.accepted.connect(self._on_ok)
        self._buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        hint = QLabel(intro)
        hint.setWordWrap(True)
        layout.addWidget(hint)
        layout.addLayout(self._form)
        layout.addWidget(self._error)
        layout.addWidget(self._buttons)
        self.resize(440, 0)

    def _add_field(self, label: str, name: str, placeholder: str = "") -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(name)
        edit.setPlaceholderText(placeholder)
        self._form.addRow(label, edit)
        return edit

    def _fail(self, message: str, widget: QLineEdit | None = None) -> None:
        self._error.setText(message)
        self._error.show()
        if widget is not None:
            set_problem(widget, True)
            widget.setFocus()

    def _on_ok(self) -> None:
        raise NotImplementedError


class EmployeeDialog(_RecordDialog):
    """Adds an employee, or with `existing` changes one's general details.

    Signals:
        employee_added(object): the `EmployeeRecord` as stored (new or changed).
    """

    employee_added = Signal(object)

    def __init__(self, db: Database, parent: QWidget | None = None,
                 existing: EmployeeRecord | None = None) -> None:
        title = "Edit employee" if existing else "Add employee"
        intro = ("Changes apply everywhere the employee is shown." if existing
                 else "The employee appears in the list on the left.")
        super().__init__(db, title, intro, parent)
        self.setObjectName("employeeDialog")
        self._existing = existing
        self._name = self._add_field("&Name:", "employeeNameEdit", "First and last name")
        self._position = self._add_field("&Position or department:", "employeePositionEdit")
        self._internal = self._add_field("&Internal email:", "employeeEmailEdit", "Optional")
        if existing is not None:
            self._name.setText(existing.name)
            self._position.setText(existing.position)
            self._internal.setText(existing.internal_email or "")

    def _on_ok(self) -> None:
        set_problem(self._name, False)
        set_problem(self._internal, False)
        if not self._name.text().strip():
            self._fail("Enter the employee's name.", self._name)
            return
        internal = self._internal.text().strip()
        if internal and (problem := email_problem(internal, "an internal email address")):
            self._fail(problem, self._internal)
            return
        try:
            if self._existing is None:
                record: EmployeeRecord = self._db.add_employee(
                    self._name.text(), self._position.text(), internal or None
                )
            else:
                record = self._db.update_employee(
                    self._existing.id, self._name.text(), self._position.text(),
                    internal or None,
                )
        except StorageError as exc:
            self._fail(str(exc))
            return
        self.employee_added.emit(record)
        self.accept()


class ProjectDialog(_RecordDialog):
    """Signals: project_added(object): the new `ProjectRecord`."""

    project_added = Signal(object)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(db, "Add project",
                         "Projects can then be ticked in each external address.", parent)
        self.setObjectName("projectDialog")
        self._name = self._add_field("&Project name:", "projectNameEdit")

    def _on_ok(self) -> None:
        set_problem(self._name, False)
        if not self._name.text().strip():
            self._fail("Enter the project's name.", self._name)
            return
        try:
            record: ProjectRecord = self._db.add_project(self._name.text())
        except StorageError as exc:
            self._fail(str(exc), self._name)
            return
        self.project_added.emit(record)
        self.accept()
