"""The employee list: a flat model of employees and a filter over name and position."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)

from mailsettings_desktop.core.records import EmployeeRecord

EMPLOYEE_ID_ROLE = Qt.ItemDataRole.UserRole + 1
_Index = QModelIndex | QPersistentModelIndex


class EmployeeListModel(QAbstractListModel):
    """Employees in name order; the display text is the name, the tooltip the position."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._employees: list[EmployeeRecord] = []

    def set_employees(self, employees: list[EmployeeRecord]) -> None:
        self.beginResetModel()
        self._employees = list(employees)
        self.endResetModel()

    def employee_at(self, row: int) -> EmployeeRecord:
        return self._employees[row]

    def row_of(self, employee_id: int) -> int | None:
        for row, employee in enumerate(self._employees):
            if employee.id == employee_id:
                return row
        return None

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._employees)

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._employees):
            return None
        employee = self._employees[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return employee.name
        if role == Qt.ItemDataRole.ToolTipRole:
            return employee.position or None
        if role == EMPLOYEE_ID_ROLE:
            return employee.id
        if role == Qt.ItemDataRole.AccessibleDescriptionRole:
            return employee.position
        return None


class EmployeeFilterModel(QSortFilterProxyModel):
    """Keeps employees whose name or position contains every typed word."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._words: tuple[str, ...] = ()

    def set_filter_text(self, text: str) -> None:
        self.beginFilterChange()
        self._words = tuple(text.casefold().split())
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: _Index) -> bool:
        if not self._words:
            return True
        model = self.sourceModel()
        assert isinstance(model, EmployeeListModel)
        employee = model.employee_at(source_row)
        haystack = f"{employee.name} {employee.position}".casefold()
        return all(word in haystack for word in self._words)
