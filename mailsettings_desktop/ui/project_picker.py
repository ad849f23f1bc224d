"""Checkable, filterable lists for the address dialog: its projects and, for a company
address, the employees allowed to use it."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QStandardItem, QStandardItemModel
from PySide6.QtWidgets import QAbstractItemView, QLabel, QLineEdit, QListView, QVBoxLayout, QWidget

from mailsettings_desktop.core.records import ProjectRecord

ITEM_ID_ROLE = Qt.ItemDataRole.UserRole + 1


class CheckableList(QWidget):
    """Items as check boxes, with a filter box above and a count of ticked ones below.

    Signals:
        selection_changed(): an item was ticked or unticked.
    """

    selection_changed = Signal()

    def __init__(self, name: str = "project", plural: str = "projects",
                 empty_text: str = "", count_text: str = "use this address",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._plural = plural
        self._count_text = count_text
        self._model = QStandardItemModel(self)
        self._loading = False
        self._all_selected = False
        self._proxy = QSortFilterProxyModel(self)
        self._proxy.setSourceModel(self._model)
        self._proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

        self._filter = QLineEdit()
        self._filter.setObjectName(f"{name}Filter")
        self._filter.setPlaceholderText(f"Filter {plural}")
        self._filter.setClearButtonEnabled(True)
        self._filter.textChanged.connect(self._proxy.setFilterFixedString)

        self._view = QListView()
        self._view.setObjectName(f"{name}List")
        self._view.setModel(self._proxy)
        self._view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self._view.setUniformItemSizes(True)
        self._view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)

        self._count = QLabel()
        self._count.setObjectName(f"{name}Count")
        self._count.setStyleSheet("color: #5f6368;")
        self._empty = QLabel(empty_text or f"No {plural} yet.")
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

    def set_items(self, items: Iterable[tuple[int, str]], checked: Iterable[int] = ()) -> None:
        """Show `(id, text)` pairs, ticking those whose id is in `checked`."""
        ticked = set(checked)
        self._loading = True
        self._model.clear()
        # Built once: combining Qt's enums costs microseconds each, and a company can
        # have thousands of projects.
        flags = (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsSelectable
        )
        checked_state, unchecked_state = Qt.CheckState.Checked, Qt.CheckState.Unchecked
        rows = []
        for item_id, text in items:
            item = QStandardItem(text)
            item.setData(item_id, ITEM_ID_ROLE)
            item.setFlags(flags)
            item.setCheckState(checked_state if item_id in ticked else unchecked_state)
            rows.append(item)
        # One insertion for all rows instead of one model signal per row.
        self._model.invisibleRootItem().appendRows(rows)
        self._loading = False
        self._empty.setVisible(self._model.rowCount() == 0)
        self._filter.setVisible(self._model.rowCount() > 0)
        self._update_count()

    def set_all_selected(self, all_selected: bool) -> None:
        """Say "all" in the counter while a separate "all" choice overrides the ticks."""
        self._all_selected = all_selected
        self._update_count()

    def checked_ids(self) -> tuple[int, ...]:
        ids = []
        for row in range(self._model.rowCount()):
            item = self._model.item(row)
            if item.checkState() == Qt.CheckState.Checked:
                ids.append(int(item.data(ITEM_ID_ROLE)))
        return tuple(ids)

    def _on_item_changed(self, _item: QStandardItem) -> None:
        if self._loading:
            return
        self._update_count()
        self.selection_changed.emit()

    def _update_count(self) -> None:
        total = self._model.rowCount()
        if not total:
            self._count.setText("")
        elif self._all_selected:
            self._count.setText(f"All {total} {self._plural} {self._count_text}")
        else:
            ticked = len(self.checked_ids())
            self._count.setText(f"{ticked} of {total} {self._plural} {self._count_text}")


class ProjectPicker(CheckableList):
    """The projects of the address dialog (objectNames projectList and projectFilter)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(
            "project", "projects",
            "No projects yet. Add projects from the main window (Edit → Add project).",
            parent=parent,
        )

    def set_projects(self, projects: Iterable[ProjectRecord], checked: Iterable[int] = ()) -> None:
        self.set_items(((p.id, p.name) for p in projects), checked)
