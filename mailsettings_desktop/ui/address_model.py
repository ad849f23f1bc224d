"""The table of one employee's external addresses (or of the company's shared ones)."""

from __future__ import annotations

from datetime import UTC
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

if TYPE_CHECKING:
    from PySide6.QtCore import Qt

    from mailsettings_desktop.core.records import AddressRecord

_Index = QModelIndex | QPersistentModelIndex
COLUMNS = ("Address", "Sender name", "Server", "Projects", "Last test")
# Company addresses show who may send from them where an employee's show the sender name.
COMPANY_COLUMNS = ("Address", "May be used by", "Server", "Projects", "Last test")
# Role numbers as plain ints: the first use of PySide6's `Qt` namespace builds all of its
# Python enums at once (some 13 ms on Python 3.11), and this module is loaded, and its
# defaults evaluated, before the main window's first paint.
_DISPLAY_ROLE = 0  # Qt.ItemDataRole.DisplayRole
ADDRESS_ID_ROLE = 0x0101  # Qt.ItemDataRole.UserRole + 1


def last_test_text(record: AddressRecord) -> str:
    if record.last_test is None:
        return "Not tested"
    # Stored in UTC; shown in the admin's local time.
    when = record.last_test.at.replace(tzinfo=UTC).astimezone().strftime("%Y-%m-%d %H:%M")
    verdict = "OK" if record.last_test.ok else "Failed"
    return f"{verdict} · {when}"


class AddressTableModel(QAbstractTableModel):
    """Rows are `AddressRecord`s; the default address is marked and shown in bold."""

    def __init__(self, parent: QObject | None = None, company: bool = False) -> None:
        super().__init__(parent)
        self._rows: list[AddressRecord] = []
        self._company = company
        self._columns = COMPANY_COLUMNS if company else COLUMNS

    def set_addresses(self, rows: list[AddressRecord]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def replace_address(self, record: AddressRecord) -> bool:
        """Show a changed record (for example a new last test) if it is in the table."""
        for row, current in enumerate(self._rows):
            if current.id == record.id:
                self._rows[row] = record
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(self._columns) - 1))
                return True
        return False

    def address_at(self, row: int) -> AddressRecord:
        return self._rows[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = _DISPLAY_ROLE) -> Any:
        from PySide6.QtCore import Qt  # see _DISPLAY_ROLE

        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._columns[section]
        return None

    def data(self, index: _Index, role: int = _DISPLAY_ROLE) -> Any:
        from PySide6.QtCore import Qt  # see _DISPLAY_ROLE

        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        record = self._rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(record, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == 4 and record.last_test is not None:
                return record.last_test.summary
            if column == 0 and record.is_default:
                return "Default address for this employee"
            if column == 2:
                return f"{record.server} · signs in as {record.username}"
            return None
        if role == Qt.ItemDataRole.FontRole and column == 0 and record.is_default:
            font = QApplication.font()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and record.last_test:
            if not record.last_test.ok:
                return QColor("#b3261e")
            return QApplication.palette().color(QPalette.ColorRole.Text)
        if role == ADDRESS_ID_ROLE:
            return record.id
        return None

    def _display(self, record: AddressRecord, column: int) -> str:
        if column == 0:
            return f"★ {record.email}" if record.is_default else record.email
        if column == 1 and self._company:
            if record.all_employees:
                return "All employees"
            count = len(record.allowed_employee_ids)
            return f"{count} employee{'s' if count != 1 else ''}" if count else "Nobody yet"
        if column == 1:
            return record.sender_name
        if column == 2:
            return f"{record.host}:{record.port}"
        if column == 3:
            return ", ".join(p.name for p in record.projects) or "—"
        return last_test_text(record)
