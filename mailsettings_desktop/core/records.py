"""Plain, detached records handed from storage to the rest of the program."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from mailsettings_desktop.core.security import Security


@dataclass(frozen=True)
class EmployeeRecord:
    id: int
    name: str
    position: str = ""
    internal_email: str | None = None
    active: bool = True


@dataclass(frozen=True)
class ProjectRecord:
    id: int
    name: str


@dataclass(frozen=True)
class AddressDraft:
    """What the Add dialog hands to storage: every field of an address but its password.

    A company draft (`is_company`) has no owner: `employee_id` is ignored and may be None.
    `all_employees` and `allowed_employee_ids` say who may send from it, and `is_default`
    then means "the company default". `move_projects` lets a save take a ticked project
    away from the employee's other address that serves it, instead of refusing.
    """

    employee_id: int | None
    email: str
    host: str
    port: int
    security: Security
    username: str
    sender_name: str = ""
    provider_key: str = "custom"
    timeout_seconds: int = 20
    reply_to: str = ""
    is_default: bool = False
    project_ids: tuple[int, ...] = ()
    options: dict[str, object] = field(default_factory=dict)
    trusted_cert_sha256: str | None = None
    is_company: bool = False
    all_employees: bool = False
    allowed_employee_ids: tuple[int, ...] = ()
    move_projects: bool = False


@dataclass(frozen=True)
class TestStamp:
    """The outcome of the last account check, as shown in the address table."""

    ok: bool
    summary: str
    at: datetime


@dataclass(frozen=True)
class AddressRecord:
    """One stored external address; `employee_id` is None for a company address."""

    id: int
    employee_id: int | None
    email: str
    sender_name: str
    provider_key: str
    host: str
    port: int
    security: Security
    username: str
    timeout_seconds: int
    reply_to: str
    is_default: bool
    secret_key: str
    projects: tuple[ProjectRecord, ...]
    options: dict[str, object]
    created_at: datetime
    updated_at: datetime
    last_test: TestStamp | None
    trusted_cert_sha256: str | None = None
    is_company: bool = False
    all_employees: bool = False
    # Sorted ids of the employees allowed on a company address that is not open to all.
    allowed_employee_ids: tuple[int, ...] = ()

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port} ({self.security.label})"

    def usable_by(self, employee_id: int) -> bool:
        """Whether this employee may send from the address: their own, or a permitted one."""
        if self.is_company:
            return self.all_employees or employee_id in self.allowed_employee_ids
        return self.employee_id == employee_id


@dataclass(frozen=True)
class EmployeeRemovalSummary:
    """What removing an employee takes away, so the GUI can ask before doing it."""

    employee: EmployeeRecord
    # The employee's own addresses: removed together with their keyring entries.
    addresses: tuple[AddressRecord, ...]
    # Company addresses that list this employee: they stay, only the permission goes.
    company_addresses: tuple[AddressRecord, ...]

    @property
    def projects(self) -> tuple[ProjectRecord, ...]:
        """Projects that one of the removed addresses served, sorted by name."""
        found = {p.id: p for a in self.addresses for p in a.projects}
        return tuple(sorted(found.values(), key=lambda p: (p.name, p.id)))


@dataclass(frozen=True)
class ProjectRemovalSummary:
    """What removing a project takes away: the addresses (own or company) that serve it."""

    project: ProjectRecord
    addresses: tuple[AddressRecord, ...]
