"""A checkable, filterable list of projects for the address dialog."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from mailsettings_desktop.core.records import ProjectRecord

PROJECT_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class ProjectPicker(QWidget):
    """Projects as check boxes, with a filter box above and a count of ticked ones below.

    Signals:
        selection_changed(): a project was ticked or unticked.
    """

    selection_changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = QStandardItemModel(self)
        self._loading = False
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self._filter = QLineEdit()
        self._filter.setObjectName("projectFilter")
        self._filter.setPlaceholderText("Filter projects")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._proxy.setFilterFixedString)

        self._view = QListView()
        self._view.setObjectName("projectList")
        self._view.setModel(self._proxy)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._view.setUniformItemSizes(True)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        self._count = QLabel()
        self._count.setObjectName("projectCount")
        self._count.setStyleSheet("color: #5f6368;")
        self._empty = QLabel(
            "No projects yet. Add projects from the main window (Edit → Add project)."
        )
        self._empty.setWordWrap(True)
        self._empty.setStyleSheet("color: #5f6368;")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._filter)
        layout.addWidget(self._view, 1)
        layout.addWidget(self._empty)
        layout.addWidget(self._count)
        self._model.itemChanged.connect(self._on_item_changed)

    @property
    def view(self) -> QListView:
        return self._view

    def set_projects(self, projects: Iterable[ProjectRecord], checked: Iterable[int] = ()) -> None:
        ticked = set(checked)
        self._loading = True
        self._model.clear()
        for project in projects:
            item = QStandardItem(project.name)
            item.setData(project.id, PROJECT_ID_ROLE)
            item.setFlags(
                Qt.ItemFlag.ItemIsEnabled
                | Qt.ItemFlag.ItemIsUserCheckable
                | Qt.ItemFlag.ItemIsSelectable
            )
            item.setCheckState(
                Qt.CheckState.Checked if project.id in ticked else Qt.CheckState.Unchecked
            )
            self._model.appendRow(item)
        self._loading = False
        self._empty.setVisible(self._model.rowCount() == 0)
        self._filter.setVisible(self._model.rowCount() > 0)
        self._update_count()

    def checked_ids(self) -> tuple[int, ...]:
        ids = []
        for row in range(self._model.rowCount()):
            item = self._model.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                ids.append(int(item.data(PROJECT_ID_ROLE)))
        return tuple(ids)

    def _on_item_changed(self, _item: QStandardItem) -> None:
        if self._loading:
            return
        self._update_count()
        self.selection_changed.emit()

    def _update_count(self) -> None:
        total = self._model.rowCount()
        ticked = len(self.checked_ids())
        self._count.setText(f"{ticked} of {total} projects use this address" if total else "")
