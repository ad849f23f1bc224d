"""Whole-table reads for lists: plain rows through SQLAlchemy Core, no ORM objects.

The main window lists every employee and the Add dialog every project. Building an ORM
object per row (with its identity map entry and change tracking) costs about ten times
what reading the two or four columns does, and the lists never write back.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select

from mailsettings_desktop.core.employee_index import EmployeeIndex, EmployeeRow
from mailsettings_desktop.core.models import Employee, Project
from mailsettings_desktop.core.records import ProjectRecord

log = logging.getLogger(__name__)


def load_employee_index(engine: Engine, include_inactive: bool = False) -> EmployeeIndex:
    """Every active employee (or every employee) in name order, read with a single select."""
    query = select(
        Employee.id, Employee.name, Employee.position, Employee.internal_email, Employee.active
    ).order_by(Employee.name, Employee.id)
    if not include_inactive:
        query = query.where(Employee.active.is_(True))
    with engine.connect() as conn:
        rows = [
            EmployeeRow(id_, name, position or "", internal_email, bool(active))
            for id_, name, position, internal_email, active in conn.execute(query)
        ]
    log.debug("employee index loaded: %d employees", len(rows))
    return EmployeeIndex(rows)


def load_employee_names(engine: Engine) -> dict[int, str]:
    """Id to name of every employee, inactive ones too (Test all names their owners)."""
    with engine.connect() as conn:
        return {id_: name for id_, name in conn.execute(select(Employee.id, Employee.name))}


def load_projects(engine: Engine) -> list[ProjectRecord]:
    """Every project by name (the Add dialog lists them all)."""
    query = select(Project.id, Project.name).order_by(Project.name, Project.id)
    with engine.connect() as conn:
        return [ProjectRecord(id_, name) for id_, name in conn.execute(query)]
