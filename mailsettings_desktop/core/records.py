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
    """What the Add dialog hands to storage: every field of an address but its password."""

    employee_id: int
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


@dataclass(frozen=True)
class TestStamp:
    """The outcome of the last account check, as shown in the address table."""

    ok: bool
    summary: str
    at: datetime


@dataclass(frozen=True)
class AddressRecord:
    id: int
    employee_id: int
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

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port} ({self.security.label})"
