"""Edit → Projects: add, rename and remove projects, saying first what a removal takes."""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListView,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.address_book import SaveError
from mailsettings_desktop.core.people import remove_project
from mailsettings_desktop.core.records import ProjectRecord
from mailsettings_desktop.core.storage import Database, StorageError
from mailsettings_desktop.ui.record_dialogs import ProjectDialog
from mailsettings_desktop.ui.style import field_error_label

log = logging.getLogger(__name__)
_PROJECT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ProjectsDialog(QDialog):
    """Signals: projects_changed(): a project was added, renamed or removed."""

    projects_changed = Signal()

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("projectsDialog")
        self.setWindowTitle("Projects")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._db = db
        self._model = QStandardItemModel(self)
        self._view = QListView()
        self._view.setObjectName("projectsList")
        self._view.setModel(self._model)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._add = QPushButton("Add…")
        self._add.setObjectName("addProjectButton")
        self._rename = QPushButton("Rename…")
        self._rename.setObjectName("renameProjectButton")
        self._remove = QPushButton("Remove…")
        self._remove.setObjectName("removeProjectButton")
        self._error = field_error_label("projectsError")
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self._add.clicked.connect(self._on_add)
        self._rename.clicked.connect(self._on_rename)
        self._remove.clicked.connect(self._on_remove)

        buttons = QVBoxLayout()
        for button in (self._add, self._rename, self._remove):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        body = QHBoxLayout()
        body.addWidget(self._view, 1)
        body.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Projects can be ticked in every external address."))
        layout.addLayout(body, 1)
        layout.addWidget(self._error)
        self.resize(460, 420)
        self._view.selectionModel().selectionChanged.connect(self._update_buttons)
        self.reload()

    def reload(self, select_id: int | None = None) -> None:
        self._model.clear()
        for project in self._db.list_projects():
            item = QStandardItem(project.name)
            item.setData(project.id, _PROJECT_ID_ROLE)
            self._model.appendRow(item)
            if project.id == select_id:
                self._view.setCurrentIndex(item.index())
        self._update_buttons()

    def _selected(self) -> ProjectRecord | None:
        index = self._view.currentIndex()
        if not index.isValid() or not self._view.selectionModel().isSelected(index):
            return None
        return ProjectRecord(int(index.data(_PROJECT_ID_ROLE)), str(index.data()))

    def _update_buttons(self) -> None:
        selected = self._selected() is not None
        self._rename.setEnabled(selected)
        self._remove.setEnabled(selected)

    def _on_add(self) -> None:
        dialog = ProjectDialog(self._db, self)
        dialog.project_added.connect(self._on_added)
        dialog.open()

    def _on_added(self, record: ProjectRecord) -> None:
        self.reload(select_id=record.id)
        self.projects_changed.emit()

    def _on_rename(self) -> None:
        project = self._selected()
        if project is None:
            return
        # TODO: QInputDialog.getText blocks in a nested event loop; fine for one line.
        name, ok = QInputDialog.getText(self, "Rename project", "New name:", text=project.name)
        if not ok:
            return
        try:
            self._db.rename_project(project.id, name)
        except StorageError as exc:
            self._show_error(str(exc))
            return
        self.reload(select_id=project.id)
        self.projects_changed.emit()

    def _on_remove(self) -> None:
        project = self._selected()
        if project is None:
            return
        summary = self._db.project_removal_summary(project.id)
        box = QMessageBox(QMessageBox.Icon.Question, "Remove project",
                          f"Remove the project “{project.name}”?",
                          QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("removeProjectConfirmation")
        box.setTextFormat(Qt.TextFormat.PlainText)
        if summary.addresses:
            names = ", ".join(a.email for a in summary.addresses)
            box.setInformativeText(f"These addresses will no longer serve it: {names}.")
        else:
            box.setInformativeText("No address serves it.")
        remove = box.addButton("Remove", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.finished.connect(partial(self._on_remove_answered, box, remove, project))
        box.open()

    def _on_remove_answered(self, box: QMessageBox, remove: QPushButton,
                            project: ProjectRecord, _result: int) -> None:
        box.deleteLater()
        if box.clickedButton() is not remove:
            return
        try:
            remove_project(self._db, project.id)
        except SaveError as exc:
            self._show_error(str(exc))
            return
        self.reload()
        self.projects_changed.emit()

    def _show_error(self, message: str) -> None:
        self._error.setText(message)
        self._error.show()
