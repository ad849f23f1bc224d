"""The employee list: one flat model over the employee index, filtered by typed words.

A `QSortFilterProxyModel` with a Python `filterAcceptsRow` calls back into Python once per
employee for every keystroke, which is far too slow for tens of thousands of employees.
This model instead asks the index (plain Python over pre-folded strings, see
`core.employee_index`) which employees match and shows exactly those rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QPersistentModelIndex

from mailsettings_desktop.core.employee_index import EmployeeIndex, EmployeeRow, filter_words

if TYPE_CHECKING:
    from mailsettings_desktop.core.records import EmployeeRecord

# Role numbers as plain ints: the first use of PySide6's `Qt` namespace builds all of its
# Python enums at once (some 13 ms on Python 3.11), and this module is loaded, and its
# defaults evaluated, before the main window's first paint.
_DISPLAY_ROLE = 0  # Qt.ItemDataRole.DisplayRole
EMPLOYEE_ID_ROLE = 0x0101  # Qt.ItemDataRole.UserRole + 1
# Rows handed to the view at a time. A view lays out every row it is told about, asking
# the model's (Python) rowCount for each, so 48,000 matches cost some 60 ms per keystroke;
# a batch covers a screenful many times over and the view fetches more as it scrolls.
FETCH_BATCH = 500
_Index = QModelIndex | QPersistentModelIndex


class EmployeeListModel(QAbstractListModel):
    """The employees whose name or position contains every typed word, in name order.

    The display text is the name, the tooltip the position. Changing the filter resets
    the model: cheaper than row-by-row signals for a list of any size, and the main window
    puts the current employee back afterwards. Rows are fetched lazily, `FETCH_BATCH` at
    a time (`canFetchMore`/`fetchMore`); `matching` counts them all.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._index = EmployeeIndex([])
        self._filter_text = ""
        self._loaded = 0

    def set_index(self, index: EmployeeIndex) -> None:
        """Show a freshly loaded index, keeping the filter text already typed."""
        self.beginResetModel()
        self._index = index
        index.search.set_filter(self._filter_text)
        self._loaded = min(FETCH_BATCH, self.matching)
        self.endResetModel()

    def set_filter_text(self, text: str) -> bool:
        """Show only matching employees; False when the visible rows stay the same."""
        self._filter_text = text
        search = self._index.search
        if filter_words(text) == search.words:
            return False
        self.beginResetModel()
        search.set_filter(text)
        self._loaded = min(FETCH_BATCH, self.matching)
        self.endResetModel()
        return True

    @property
    def matching(self) -> int:
        """How many employees the filter shows, fetched into the view or not."""
        return len(self._index.search.positions)

    def canFetchMore(self, parent: _Index) -> bool:
        return not parent.isValid() and self._loaded < self.matching

    def fetchMore(self, parent: _Index) -> None:
        if not parent.isValid():
            self._fetch_to(min(self._loaded + FETCH_BATCH, self.matching) - 1)

    def _fetch_to(self, row: int) -> None:
        if row < self._loaded:
            return
        self.beginInsertRows(QModelIndex(), self._loaded, row)
        self._loaded = row + 1
        self.endInsertRows()

    @property
    def total(self) -> int:
        """How many employees there are, whatever the filter shows."""
        return len(self._index)

    def _row(self, row: int) -> EmployeeRow:
        return self._index.rows[self._index.search.positions[row]]

    def employee_at(self, row: int) -> EmployeeRecord:
        return self._row(row).record()

    def row_of(self, employee_id: int) -> int | None:
        """The row of an employee (fetched into the view if need be); None if filtered out."""
        position = self._index.position_of(employee_id)
        row = None if position is None else self._index.search.filtered_row(position)
        if row is not None:
            self._fetch_to(row)
        return row

    def is_listed(self, employee_id: int) -> bool:
        """Whether the employee is in the index at all (visible or filtered out)."""
        return self._index.position_of(employee_id) is not None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._loaded

    def data(self, index: _Index, role: int = _DISPLAY_ROLE) -> Any:
        from PySide6.QtCore import Qt  # see _DISPLAY_ROLE

        if not index.isValid() or not 0 <= index.row() < self.rowCount():
            return None
        employee = self._row(index.row())
        if role == Qt.ItemDataRole.DisplayRole:
            return employee.name if employee.active else f"{employee.name} (inactive)"
        if role == Qt.ItemDataRole.ForegroundRole and not employee.active:
            from PySide6.QtGui import QColor

            return QColor("#80868b")
        if role == Qt.ItemDataRole.ToolTipRole:
            return employee.position or None
        if role == EMPLOYEE_ID_ROLE:
            return employee.id
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return employee.position
        return None

