"""The "Sending" view: for one employee, which address each project is sent from, and why.

It shows `core.routing.sending_plan`, so what the admin reads here is exactly the rule
the program applies (the rule itself is written above the table).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from mailsettings_desktop.core.records import EmployeeRecord
from mailsettings_desktop.core.routing import ProjectRoute, RouteReason, sending_plan
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.style import WARNING_COLOR
from mailsettings_desktop.ui.table_models import RowTableModel

RULE_TEXT = (
    "For each project the program uses, in this order: the employee's own address for the "
    "project; a company address for the project that the employee may use (if several, "
    "the employee chooses); the employee's default address; the company default address."
)

_REASON_LABELS = {
    RouteReason.EMPLOYEE_PROJECT: "Project address",
    RouteReason.COMPANY_PROJECT: "Company address",
    RouteReason.COMPANY_CHOICE: "Employee chooses",
    RouteReason.EMPLOYEE_DEFAULT: "Default address",
    RouteReason.COMPANY_DEFAULT: "Company default",
    RouteReason.NONE: "None",
}


class SendingModel(RowTableModel):
    """Rows are `ProjectRoute`s: project, address used, why."""

    COLUMNS = ("Project", "Sent from", "Why")

    def set_routes(self, routes: list[ProjectRoute]) -> None:
        self.set_rows(routes)

    def route_at(self, row: int) -> ProjectRoute:
        route: ProjectRoute = self.row_at(row)
        return route

    def cell(self, route: ProjectRoute, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.DisplayRole:
            if column == 0:
                return route.project.name
            if column == 1:
                return _sent_from(route)
            return _REASON_LABELS[route.reason]
        if role == Qt.ItemDataRole.ToolTipRole:
            return route.reason.explanation
        if role == Qt.ItemDataRole.ForegroundRole and route.reason is RouteReason.NONE:
            return QColor(WARNING_COLOR)
        return None


def _sent_from(route: ProjectRoute) -> str:
    if route.reason is RouteReason.COMPANY_CHOICE:
        return "One of: " + ", ".join(a.email for a in route.choices)
    if route.address is None:
        return "No external address"
    return route.address.email


class SendingView(QWidget):
    """Shows the sending plan of the employee given to `set_employee`."""

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._db = db
        self._employee: EmployeeRecord | None = None
        rule = QLabel(RULE_TEXT)
        rule.setObjectName("sendingRule")
        rule.setWordWrap(True)
        rule.setProperty("role", "hint")
        self._model = SendingModel(self)
        self._table = QTableView()
        self._table.setObjectName("sendingTable")
        self._table.setModel(self._model)
        self._table.verticalHeader().hide()
        self._table.setWordWrap(False)
        header = self._table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self._empty = QLabel()
        self._empty.setObjectName("sendingEmpty")
        self._empty.setWordWrap(True)
        self._empty.setProperty("role", "hint")
        layout = QVBoxLayout(self)
        layout.addWidget(rule)
        layout.addWidget(self._table, 1)
        layout.addWidget(self._empty)

    @property
    def model(self) -> SendingModel:
        return self._model

    def set_employee(self, employee: EmployeeRecord | None) -> None:
        self._employee = employee
        self.refresh()

    def refresh(self) -> None:
        if self._employee is None:
            self._model.set_routes([])
            self._empty.setText("Select an employee to see which address each project uses.")
            self._empty.show()
            return
        routes = sending_plan(self._db, self._employee.id)
        self._model.set_routes(routes)
        self._empty.setVisible(not routes)
        self._empty.setText("There are no projects yet. Add projects from Edit → Add project.")
