"""Which external address an employee sends from in each project, and why.

The rule, for one employee and one project, first match wins:

1. the employee's own address for the project;
2. a company address for the project that the employee may use (open to all employees,
   or the employee is on its list); when several qualify, the employee chooses;
3. the employee's default address;
4. the company default address, when the employee may use it;
5. otherwise no address: mail for this project cannot be sent from an external address.

An employee's own addresses never compete for a project: saving refuses a second one
unless the project is moved. Inactive employees keep their addresses, so their plan is
what it will be when they are active again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import Enum

from mailsettings_desktop.core.records import AddressRecord, ProjectRecord
from mailsettings_desktop.core.storage import Database, StorageError

log = logging.getLogger(__name__)


class RouteReason(Enum):
    """Why a project is sent from the address it is sent from (or from none)."""

    EMPLOYEE_PROJECT = "employee_project"
    COMPANY_PROJECT = "company_project"
    COMPANY_CHOICE = "company_choice"
    EMPLOYEE_DEFAULT = "employee_default"
    COMPANY_DEFAULT = "company_default"
    NONE = "none"

    @property
    def explanation(self) -> str:
        """One sentence for the Sending view."""
        return _EXPLANATIONS[self]


_EXPLANATIONS = {
    RouteReason.EMPLOYEE_PROJECT: "The employee's own address for this project.",
    RouteReason.COMPANY_PROJECT: (
        "A company address for this project that the employee may use."
    ),
    RouteReason.COMPANY_CHOICE: (
        "Several company addresses serve this project; the employee chooses one "
        "when writing."
    ),
    RouteReason.EMPLOYEE_DEFAULT: (
        "No address is set for this project, so the employee's default address is used."
    ),
    RouteReason.COMPANY_DEFAULT: (
        "Neither a project address nor an employee default exists, so the company "
        "default address is used."
    ),
    RouteReason.NONE: (
        "No address serves this project and there is no default: add one or set a "
        "default address."
    ),
}


@dataclass(frozen=True)
class ProjectRoute:
    """One row of the Sending view: the project, the address used, and why.

    `address` is None for COMPANY_CHOICE (then `choices` lists the candidates) and NONE.
    """

    project: ProjectRecord
    address: AddressRecord | None
    reason: RouteReason
    choices: tuple[AddressRecord, ...] = ()


def sending_plan(db: Database, employee_id: int) -> list[ProjectRoute]:
    """The route of every project, sorted by project name, for one employee."""
    if db.get_employee(employee_id) is None:
        raise StorageError("The employee no longer exists; reload the list and try again.")
    own = db.addresses_for_employee(employee_id)
    usable_company = [a for a in db.company_addresses() if a.usable_by(employee_id)]
    own_default = next((a for a in own if a.is_default), None)
    company_default = next((a for a in usable_company if a.is_default), None)

    plan = [
        _route(project, own, usable_company, own_default, company_default)
        for project in db.list_projects()
    ]
    log.debug("sending plan for employee %d: %d project(s)", employee_id, len(plan))
    return plan


def _route(
    project: ProjectRecord,
    own: list[AddressRecord],
    usable_company: list[AddressRecord],
    own_default: AddressRecord | None,
    company_default: AddressRecord | None,
) -> ProjectRoute:
    for address in own:
        if _serves(address, project):
            return ProjectRoute(project, address, RouteReason.EMPLOYEE_PROJECT)
    company = tuple(a for a in usable_company if _serves(a, project))
    if len(company) == 1:
        return ProjectRoute(project, company[0], RouteReason.COMPANY_PROJECT)
    if company:
        return ProjectRoute(project, None, RouteReason.COMPANY_CHOICE, company)
    if own_default is not None:
        return ProjectRoute(project, own_default, RouteReason.EMPLOYEE_DEFAULT)
    if company_default is not None:
        return ProjectRoute(project, company_default, RouteReason.COMPANY_DEFAULT)
    return ProjectRoute(project, None, RouteReason.NONE)


def _serves(address: AddressRecord, project: ProjectRecord) -> bool:
    return any(p.id == project.id for p in address.projects)
