"""The SQLite database: opening it, and reading and writing employees, projects, addresses.

Every function opens a short session and returns detached records, so the GUI never holds
an ORM object or a transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import URL, Engine, create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from mailsettings_desktop.core.models import (
    SCHEMA_VERSION,
    Base,
    Employee,
    ExternalAddress,
    Project,
)
from mailsettings_desktop.core.records import (
    AddressDraft,
    AddressRecord,
    EmployeeRecord,
    ProjectRecord,
    TestStamp,
)
from mailsettings_desktop.core.security import Security

log = logging.getLogger(__name__)


class StorageError(Exception):
    """The database could not do what was asked; the message is meant for the admin."""


class DuplicateAddressError(StorageError):
    pass


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class Database:
    """One SQLite file. Creates the schema on first open and refuses a newer schema."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # URL.create, not an f-string URL: a path holding "?" or "%20" would open another file.
        self.engine: Engine = create_engine(URL.create("sqlite", database=str(self.path)))
        event.listen(self.engine, "connect", _on_connect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        try:
            self._prepare_schema()
        except SQLAlchemyError as exc:
            # Not a database, unreadable, locked, a read-only folder: the admin can fix these.
            self.engine.dispose()
            reason = getattr(exc, "orig", None) or exc
            raise StorageError(f"The database {self.path} could not be opened: {reason}") from exc
        except Exception:
            self.engine.dispose()
            raise

    def _prepare_schema(self) -> None:
        with self.engine.begin() as conn:
            version = conn.execute(text("PRAGMA user_version")).scalar_one()
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"The database {self.path} was written by a newer version of the program "
                    f"(schema {version}); this version understands schema {SCHEMA_VERSION}."
                )
            Base.metadata.create_all(conn)
            if version < SCHEMA_VERSION:
                conn.execute(text(f"PRAGMA user_version={SCHEMA_VERSION}"))
        log.info("database ready: %s (schema %d)", self.path, SCHEMA_VERSION)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session inside one transaction: committed on success, rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def close(self) -> None:
        self.engine.dispose()

    # Employees and projects -------------------------------------------------------------

    def is_empty(self) -> bool:
        with self.session() as s:
            return s.scalar(select(func.count(Employee.id))) == 0

    def list_employees(self, include_inactive: bool = False) -> list[EmployeeRecord]:
        query = select(Employee).order_by(Employee.name, Employee.id)
        if not include_inactive:
            query = query.where(Employee.active.is_(True))
        with self.session() as s:
            return [_employee_record(e) for e in s.scalars(query)]

    def add_employee(
        self, name: str, position: str = "", internal_email: str | None = None
    ) -> EmployeeRecord:
        name = name.strip()
        if not name:
            raise StorageError("An employee needs a name.")
        with self.session() as s:
            employee = Employee(
                name=name, position=position.strip(), internal_email=internal_email
            )
            s.add(employee)
            s.flush()
            record = _employee_record(employee)
        log.info("employee added: id=%d", record.id)
        return record

    def list_projects(self) -> list[ProjectRecord]:
        with self.session() as s:
            projects = s.scalars(select(Project).order_by(Project.name))
            return [ProjectRecord(p.id, p.name) for p in projects]

    def add_project(self, name: str) -> ProjectRecord:
        name = name.strip()
        if not name:
            raise StorageError("A project needs a name.")
        try:
            with self.session() as s:
                project = Project(name=name)
                s.add(project)
                s.flush()
                record = ProjectRecord(project.id, project.name)
        except IntegrityError as exc:
            raise StorageError(f"A project named “{name}” already exists.") from exc
        log.info("project added: id=%d", record.id)
        return record

    # External addresses -----------------------------------------------------------------

    def addresses_for_employee(self, employee_id: int) -> list[AddressRecord]:
        query = (
            select(ExternalAddress)
            .where(ExternalAddress.employee_id == employee_id)
            .options(selectinload(ExternalAddress.projects))
            .order_by(ExternalAddress.email)
        )
        with self.session() as s:
            return [_address_record(a) for a in s.scalars(query)]

    def all_addresses(self) -> list[AddressRecord]:
        """Every external address, for Test all."""
        query = (
            select(ExternalAddress)
            .options(selectinload(ExternalAddress.projects))
            .order_by(ExternalAddress.id)
        )
        with self.session() as s:
            return [_address_record(a) for a in s.scalars(query)]

    def get_address(self, address_id: int) -> AddressRecord | None:
        with self.session() as s:
            row = s.get(ExternalAddress, address_id)
            return _address_record(row) if row else None

    def insert_address(self, s: Session, draft: AddressDraft, secret_key: str) -> ExternalAddress:
        """Add an address inside the caller's transaction (so a keyring step can join it)."""
        duplicate = s.scalar(
            select(ExternalAddress.id).where(
                ExternalAddress.employee_id == draft.employee_id,
                func.lower(ExternalAddress.email) == draft.email.lower(),
            )
        )
        if duplicate is not None:
            raise DuplicateAddressError(
                f"This employee already has the address {draft.email}. Edit that one instead."
            )
        if s.get(Employee, draft.employee_id) is None:
            raise StorageError("The employee no longer exists; reload the list and try again.")
        if draft.is_default:
            _clear_default(s, draft.employee_id)
        now = _utcnow()
        row = ExternalAddress(
            employee_id=draft.employee_id,
            email=draft.email,
            sender_name=draft.sender_name,
            provider_key=draft.provider_key,
            host=draft.host,
            port=draft.port,
            security=draft.security.value,
            username=draft.username,
            timeout_seconds=draft.timeout_seconds,
            reply_to=draft.reply_to,
            is_default=draft.is_default,
            options=dict(draft.options),
            trusted_cert_sha256=draft.trusted_cert_sha256,
            secret_key=secret_key,
            created_at=now,
            updated_at=now,
        )
        row.projects = list(_projects(s, draft.project_ids))
        s.add(row)
        s.flush()
        return row

    def update_address_row(
        self, s: Session, address_id: int, draft: AddressDraft
    ) -> ExternalAddress:
        """Change an address inside the caller's transaction; the secret key stays."""
        row = s.get(ExternalAddress, address_id)
        if row is None:
            raise StorageError("This address no longer exists; reload the list.")
        duplicate = s.scalar(
            select(ExternalAddress.id).where(
                ExternalAddress.employee_id == row.employee_id,
                func.lower(ExternalAddress.email) == draft.email.lower(),
                ExternalAddress.id != address_id,
            )
        )
        if duplicate is not None:
            raise DuplicateAddressError(
                f"This employee already has the address {draft.email}."
            )
        if draft.is_default and not row.is_default:
            _clear_default(s, row.employee_id)
        row.email = draft.email
        row.sender_name = draft.sender_name
        row.provider_key = draft.provider_key
        row.host = draft.host
        row.port = draft.port
        row.security = draft.security.value
        row.username = draft.username
        row.timeout_seconds = draft.timeout_seconds
        row.reply_to = draft.reply_to
        row.is_default = draft.is_default
        row.options = dict(draft.options)
        row.trusted_cert_sha256 = draft.trusted_cert_sha256
        row.projects = list(_projects(s, draft.project_ids))
        row.updated_at = _utcnow()
        s.flush()
        return row

    def record_test(self, s: Session, row: ExternalAddress, stamp: TestStamp) -> None:
        row.last_test_ok = stamp.ok
        row.last_test_summary = stamp.summary[:500]
        row.last_tested_at = stamp.at

    def save_test_result(self, address_id: int, stamp: TestStamp) -> bool:
        """Store the outcome of a re-test; False when the address was removed meanwhile."""
        with self.session() as s:
            row = s.get(ExternalAddress, address_id)
            if row is None:
                return False
            self.record_test(s, row, stamp)
            return True

    def to_record(self, row: ExternalAddress) -> AddressRecord:
        return _address_record(row)

    def delete_address_row(self, s: Session, address_id: int) -> ExternalAddress | None:
        row = s.get(ExternalAddress, address_id)
        if row is not None:
            s.delete(row)
            s.flush()
        return row


def _clear_default(s: Session, employee_id: int) -> None:
    for other in s.scalars(
        select(ExternalAddress).where(
            ExternalAddress.employee_id == employee_id, ExternalAddress.is_default.is_(True)
        )
    ):
        other.is_default = False


def _projects(s: Session, ids: Sequence[int]) -> list[Project]:
    if not ids:
        return []
    found = list(s.scalars(select(Project).where(Project.id.in_(ids))))
    if len(found) != len(set(ids)):
        raise StorageError("A selected project no longer exists; reload and try again.")
    return found


def _employee_record(e: Employee) -> EmployeeRecord:
    return EmployeeRecord(e.id, e.name, e.position or "", e.internal_email, e.active)


def _address_record(a: ExternalAddress) -> AddressRecord:
    stamp = None
    if a.last_tested_at is not None and a.last_test_ok is not None:
        stamp = TestStamp(a.last_test_ok, a.last_test_summary, a.last_tested_at)
    return AddressRecord(
        id=a.id,
        employee_id=a.employee_id,
        email=a.email,
        sender_name=a.sender_name,
        provider_key=a.provider_key,
        host=a.host,
        port=a.port,
        security=Security(a.security),
        username=a.username,
        timeout_seconds=a.timeout_seconds,
        reply_to=a.reply_to,
        is_default=a.is_default,
        secret_key=a.secret_key,
        projects=tuple(
            ProjectRecord(p.id, p.name) for p in sorted(a.projects, key=lambda p: p.name)
        ),
        options=dict(a.options or {}),
        created_at=a.created_at,
        updated_at=a.updated_at,
        last_test=stamp,
        trusted_cert_sha256=a.trusted_cert_sha256,
    )
