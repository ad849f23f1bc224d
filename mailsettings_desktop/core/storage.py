"""The SQLite database: opening it, and reading and writing employees, projects, addresses.

Every function opens a short session and returns detached records, so the GUI never holds
an ORM object or a transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    URL,
    Engine,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
)
from sqlalchemy.exc import DBAPIError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, lazyload, selectinload, sessionmaker

from mailsettings_desktop.core.models import (
    SCHEMA_VERSION,
    Base,
    Employee,
    ExternalAddress,
    Project,
    address_projects,
    company_address_employees,
)
from mailsettings_desktop.core.records import (
    AddressDraft,
    AddressRecord,
    EmployeeRecord,
    EmployeeRemovalSummary,
    ProjectRecord,
    ProjectRemovalSummary,
    TestStamp,
)
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.validation import email_problem

log = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 320

# SQLite's primary result codes for a damaged file (SQLITE_CORRUPT) and for a file that is
# no database at all (SQLITE_NOTADB); an extended code carries them in its low byte.
_SQLITE_CORRUPT = 11
_SQLITE_NOTADB = 26
# The header bytes 18 and 19 (file format write and read version) are 2 in WAL mode.
_WAL_HEADER = b"\x02\x02"


class StorageError(Exception):
    """The database could not do what was asked; the message is meant for the admin."""


class DuplicateAddressError(StorageError):
    """The owner (an employee, or the company) already has this address."""


class SharedMailboxError(DuplicateAddressError):
    """The mailbox already belongs to someone else; only a company address may be shared."""


class ProjectConflictError(StorageError):
    """Ticked projects are already served by another of the employee's own addresses.

    `conflicts` maps each project id to that other address, so the GUI can offer to move
    the project (save again with `AddressDraft.move_projects`).
    """

    def __init__(self, message: str, conflicts: dict[int, AddressRecord]) -> None:
        super().__init__(message)
        self.conflicts = conflicts


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
            if _is_damage(reason):
                raise StorageError(_damaged_message(self.path, reason)) from exc
            raise StorageError(f"The database {self.path} could not be opened: {reason}") from exc
        except Exception:
            self.engine.dispose()
            raise

    def _prepare_schema(self) -> None:
        """Create or check the schema, after making sure the file is ours and intact.

        The engine's first connection already writes (it switches the file to WAL), so the
        existing file is looked at read-only first: another program's database, or a
        damaged one, must be refused before anything touches it.
        """
        _inspect_existing_file(self.path)
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
        """A session inside one transaction: committed on success, rolled back on error.

        A read that runs into a damaged page (one the check at open time could not see,
        or damage that came later) becomes a StorageError the admin can act on.
        """
        try:
            with self._sessions() as session, session.begin():
                yield session
        except DBAPIError as exc:
            if _is_damage(exc.orig):
                log.warning("the database %s is damaged: %s", self.path, exc.orig)
                raise StorageError(_damaged_message(self.path, exc.orig)) from exc
            raise

    def is_read_only(self) -> bool:
        """Whether changes cannot be written: the file or its folder is not writable.

        SQLite opens such a file happily and fails only at the first write; the admin
        should know before typing a whole address.
        """
        return not (
            os.access(self.path, os.W_OK) and os.access(self.path.parent, os.W_OK)
        )

    def close(self) -> None:
        self.engine.dispose()

    # Employees and projects -------------------------------------------------------------

    def is_empty(self) -> bool:
        with self.session() as s:
            return s.scalar(select(func.count(Employee.id))) == 0

    def list_employees(self, include_inactive: bool = False) -> list[EmployeeRecord]:
        """Employees by name; inactive ones only when asked, since they no longer send."""
        query = select(Employee).order_by(Employee.name, Employee.id)
        if not include_inactive:
            query = query.where(Employee.active.is_(True))
        with self.session() as s:
            return [_employee_record(e) for e in s.scalars(query)]

    def get_employee(self, employee_id: int) -> EmployeeRecord | None:
        with self.session() as s:
            employee = s.get(Employee, employee_id)
            return _employee_record(employee) if employee else None

    def add_employee(
        self, name: str, position: str = "", internal_email: str | None = None
    ) -> EmployeeRecord:
        name, position, internal_email = _checked_employee(name, position, internal_email)
        with self.session() as s:
            employee = Employee(name=name, position=position, internal_email=internal_email)
            s.add(employee)
            s.flush()
            record = _employee_record(employee)
        log.info("employee added: id=%d", record.id)
        return record

    def update_employee(
        self, employee_id: int, name: str, position: str, internal_email: str | None
    ) -> EmployeeRecord:
        """Change an employee's general details; the addresses are untouched."""
        name, position, internal_email = _checked_employee(name, position, internal_email)
        with self.session() as s:
            employee = _existing_employee(s, employee_id)
            employee.name = name
            employee.position = position
            employee.internal_email = internal_email
            record = _employee_record(employee)
        log.info("employee updated: id=%d", employee_id)
        return record

    def rename_employee(self, employee_id: int, name: str) -> EmployeeRecord:
        current = self.get_employee(employee_id)
        if current is None:
            raise StorageError(_EMPLOYEE_GONE)
        return self.update_employee(
            employee_id, name, current.position, current.internal_email
        )

    def set_employee_active(self, employee_id: int, active: bool) -> EmployeeRecord:
        """Hide (or show again) an employee who left or is away; the addresses are kept."""
        with self.session() as s:
            employee = _existing_employee(s, employee_id)
            employee.active = active
            record = _employee_record(employee)
        log.info("employee %s: id=%d", "activated" if active else "deactivated", employee_id)
        return record

    def list_projects(self) -> list[ProjectRecord]:
        with self.session() as s:
            projects = s.scalars(select(Project).order_by(Project.name, Project.id))
            return [ProjectRecord(p.id, p.name) for p in projects]

    def get_project(self, project_id: int) -> ProjectRecord | None:
        with self.session() as s:
            project = s.get(Project, project_id)
            return ProjectRecord(project.id, project.name) if project else None

    def add_project(self, name: str) -> ProjectRecord:
        name = _checked_project_name(name)
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

    def rename_project(self, project_id: int, name: str) -> ProjectRecord:
        name = _checked_project_name(name)
        try:
            with self.session() as s:
                project = s.get(Project, project_id)
                if project is None:
                    raise StorageError("The project no longer exists; reload the list.")
                project.name = name
                s.flush()
                record = ProjectRecord(project.id, project.name)
        except IntegrityError as exc:
            raise StorageError(f"A project named “{name}” already exists.") from exc
        log.info("project renamed: id=%d", project_id)
        return record

    def employee_removal_summary(self, employee_id: int) -> EmployeeRemovalSummary:
        """What removing the employee would take away; read it to ask the admin first."""
        with self.session() as s:
            return self.employee_removal_summary_in(s, employee_id)

    def employee_removal_summary_in(
        self, s: Session, employee_id: int
    ) -> EmployeeRemovalSummary:
        """The same, inside the caller's transaction (the removal itself reads it here)."""
        employee = _existing_employee(s, employee_id)
        own = s.scalars(
            _address_query().where(ExternalAddress.employee_id == employee_id)
        )
        permitted = s.scalars(
            _address_query().where(
                ExternalAddress.id.in_(
                    select(company_address_employees.c.address_id).where(
                        company_address_employees.c.employee_id == employee_id
                    )
                )
            )
        )
        return EmployeeRemovalSummary(
            employee=_employee_record(employee),
            addresses=tuple(_address_record(a) for a in own),
            company_addresses=tuple(_address_record(a) for a in permitted),
        )

    def project_removal_summary(self, project_id: int) -> ProjectRemovalSummary:
        """The addresses (own and company) that would lose the project if it were removed."""
        with self.session() as s:
            return self.project_removal_summary_in(s, project_id)

    def project_removal_summary_in(self, s: Session, project_id: int) -> ProjectRemovalSummary:
        project = s.get(Project, project_id)
        if project is None:
            raise StorageError("The project no longer exists; reload the list.")
        serving = s.scalars(
            _address_query().where(ExternalAddress.projects.any(Project.id == project_id))
        )
        return ProjectRemovalSummary(
            project=ProjectRecord(project.id, project.name),
            addresses=tuple(_address_record(a) for a in serving),
        )

    def delete_employee_rows(self, s: Session, employee_id: int) -> None:
        """Delete an employee, its own addresses and its company permissions, explicitly.

        Runs inside the caller's transaction so the keyring step can join it; the foreign
        keys are RESTRICT, so anything forgotten here fails loudly instead of orphaning.
        """
        own_ids = select(ExternalAddress.id).where(ExternalAddress.employee_id == employee_id)
        s.execute(delete(address_projects).where(address_projects.c.address_id.in_(own_ids)))
        s.execute(
            delete(company_address_employees).where(
                company_address_employees.c.employee_id == employee_id
            )
        )
        s.execute(
            delete(ExternalAddress)
            .where(ExternalAddress.employee_id == employee_id)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            delete(Employee)
            .where(Employee.id == employee_id)
            .execution_options(synchronize_session=False)
        )
        s.expunge_all()

    def delete_project_rows(self, s: Session, project_id: int) -> None:
        """Unlink a project from every address, then delete it, in the caller's transaction."""
        s.execute(delete(address_projects).where(address_projects.c.project_id == project_id))
        s.execute(
            delete(Project)
            .where(Project.id == project_id)
            .execution_options(synchronize_session=False)
        )
        s.expunge_all()

    # External addresses -----------------------------------------------------------------

    def addresses_for_employee(self, employee_id: int) -> list[AddressRecord]:
        """The employee's own addresses (company addresses are listed separately).

        Read with two plain selects rather than ORM objects: this runs on every click in
        the employee list, which must answer within a few milliseconds.
        """
        table = ExternalAddress.__table__
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(table)
                .where(table.c.employee_id == employee_id)
                .order_by(table.c.email, table.c.id)
            ).all()
            if not rows:
                return []
            links = conn.execute(
                select(address_projects.c.address_id, Project.id, Project.name)
                .join(Project, Project.id == address_projects.c.project_id)
                .where(address_projects.c.address_id.in_([row.id for row in rows]))
            ).all()
        projects: dict[int, list[Any]] = {}
        for link in links:
            projects.setdefault(link.address_id, []).append(link)
        return [_address_record(row, projects.get(row.id, [])) for row in rows]

    def all_addresses(self) -> list[AddressRecord]:
        """Every address, own and company (Test all re-tests them all), sorted by email."""
        with self.session() as s:
            return [_address_record(a) for a in s.scalars(_address_query())]

    def company_addresses(self) -> list[AddressRecord]:
        """Every company address, whoever may use it, sorted by email."""
        query = _address_query().where(ExternalAddress.is_company.is_(True))
        with self.session() as s:
            return [_address_record(a) for a in s.scalars(query)]

    def get_address(self, address_id: int) -> AddressRecord | None:
        with self.session() as s:
            row = s.get(ExternalAddress, address_id)
            return _address_record(row) if row else None

    def project_conflicts(
        self,
        employee_id: int,
        project_ids: Sequence[int],
        exclude_address_id: int | None = None,
    ) -> dict[int, AddressRecord]:
        """Project id -> the employee's other own address that already serves it.

        The dialog asks this while projects are ticked, so it can offer to move them.
        """
        with self.session() as s:
            return _project_conflicts(s, employee_id, project_ids, exclude_address_id)

    def check_mailbox(
        self, s: Session, draft: AddressDraft, address_id: int | None = None
    ) -> None:
        """Refuse a mailbox that another owner already has: only company addresses share.

        `address_id` is the address being edited, which may keep its own email. Kept apart
        from `insert_address` so the low-level write stays usable on its own; the address
        book calls both inside one transaction.
        """
        others = s.scalars(
            select(ExternalAddress).where(
                func.lower(ExternalAddress.email) == draft.email.lower(),
                ExternalAddress.id != (address_id if address_id is not None else -1),
            )
        )
        owner = _owner_of(s, draft, address_id)
        for other in others:
            if other.employee_id == owner:
                continue  # The same owner: `insert_address` words that message.
            if other.employee_id is None:
                raise SharedMailboxError(
                    f"{draft.email} is already a company address. To let this employee "
                    "send from it, allow them on that company address instead of adding "
                    "a copy."
                )
            holder = other.employee.name if other.employee else "another employee"
            if owner is None:
                raise SharedMailboxError(
                    f"{draft.email} is already an external address of {holder}. Edit that "
                    "address and make it a company address instead of adding a second copy."
                )
            raise SharedMailboxError(
                f"{draft.email} is already an external address of {holder}. One mailbox "
                "can serve several employees only as a company address: make that address "
                "a company address and allow the employees who use it."
            )

    def insert_address(self, s: Session, draft: AddressDraft, secret_key: str) -> ExternalAddress:
        """Add an address inside the caller's transaction (so a keyring step can join it)."""
        owner = None if draft.is_company else draft.employee_id
        if not draft.is_company:
            if owner is None:
                raise StorageError("Choose the employee this address belongs to.")
            if s.get(Employee, owner) is None:
                raise StorageError(_EMPLOYEE_GONE)
        _refuse_duplicate(s, draft, owner, None)
        now = _utcnow()
        row = ExternalAddress(
            secret_key=secret_key,
            created_at=now,
            updated_at=now,
            options={},
            projects=[],
            allowed_employees=[],
        )
        _apply_draft(s, row, draft, owner)
        s.add(row)
        s.flush()
        return row

    def update_address_row(
        self, s: Session, address_id: int, draft: AddressDraft
    ) -> ExternalAddress:
        """Change an address inside the caller's transaction; the secret key stays.

        An employee address stays with its employee. A draft with `is_company` turns it
        into a company address; a company address becomes the draft employee's own when
        `is_company` is cleared.
        """
        row = s.get(ExternalAddress, address_id)
        if row is None:
            raise StorageError("This address no longer exists; reload the list.")
        owner = _owner_of(s, draft, address_id)
        if not draft.is_company and owner is None:
            raise StorageError("Choose the employee this address belongs to.")
        if owner is not None and owner != row.employee_id and s.get(Employee, owner) is None:
            raise StorageError(_EMPLOYEE_GONE)
        _refuse_duplicate(s, draft, owner, address_id)
        _apply_draft(s, row, draft, owner)
        row.updated_at = _utcnow()
        s.flush()
        return row

    def record_test(self, s: Session, row: ExternalAddress, stamp: TestStamp) -> None:
        row.last_test_ok = stamp.ok
        row.last_test_summary = stamp.summary[:500]
        row.last_tested_at = stamp.at

    def save_test_result(self, address_id: int, stamp: TestStamp) -> AddressRecord | None:
        """Keep a re-test's outcome in its own short transaction; None if the address left."""
        with self.session() as s:
            row = s.get(ExternalAddress, address_id)
            if row is None:
                return None
            self.record_test(s, row, stamp)
            s.flush()
            return _address_record(row)

    def to_record(self, row: ExternalAddress) -> AddressRecord:
        return _address_record(row)

    def delete_address_row(self, s: Session, address_id: int) -> ExternalAddress | None:
        row = s.get(ExternalAddress, address_id)
        if row is not None:
            s.delete(row)
            s.flush()
        return row


_EMPLOYEE_GONE = "The employee no longer exists; reload the list and try again."


def _inspect_existing_file(path: Path) -> None:
    """Refuse, without writing a byte, a file that is damaged or not this program's.

    A missing or empty file is a new database. Otherwise it is opened read-only and must
    pass SQLite's quick_check (about a tenth of a second for a company-sized database),
    must not come from a newer version, and may hold only our own tables with our own
    columns: an empty-looking user_version 0 with someone else's tables (another program's
    `employees`, say) would otherwise get our tables and WAL mode written into it.
    """
    try:
        if path.stat().st_size == 0:
            return
        with path.open("rb") as file:
            header = file.read(100)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StorageError(f"The database {path} could not be opened: {exc}") from exc
    uri = path.absolute().as_uri() + "?mode=ro"
    if header[18:20] == _WAL_HEADER and not Path(f"{path}-wal").exists():
        # No -wal file: the main file is complete, and opening it without "immutable"
        # would leave a new -wal and -shm beside a file that may not be ours.
        uri += "&immutable=1"
    try:
        with closing(sqlite3.connect(uri, uri=True, timeout=5)) as conn:
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = {
                name: {row[1] for row in conn.execute(f"PRAGMA table_info({_quoted(name)})")}
                for (name,) in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                    "AND name NOT LIKE 'sqlite^_%' ESCAPE '^'"
                )
            }
    except sqlite3.Error as exc:
        if _is_damage(exc) and not _is_not_a_database(exc):
            raise StorageError(_damaged_message(path, exc)) from exc
        raise StorageError(f"The database {path} could not be opened: {exc}") from exc
    if problems != ["ok"]:
        log.warning("quick_check of %s: %s", path, "; ".join(map(str, problems[:5])))
        raise StorageError(_damaged_message(path, problems[0]))
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"The database {path} was written by a newer version of the program "
            f"(schema {version}); this version understands schema {SCHEMA_VERSION}."
        )
    _refuse_foreign_tables(tables, path)


def _refuse_foreign_tables(tables: dict[str, set[str]], path: Path) -> None:
    """Accept only tables and columns this program knows (a subset: a first open that was
    interrupted after some tables leaves the rest for create_all)."""
    ours = {name: {c.name for c in table.columns} for name, table in Base.metadata.tables.items()}
    foreign = sorted(
        name for name, columns in tables.items()
        if name not in ours or not columns <= ours[name]
    )
    if foreign:
        log.warning("%s has tables this program does not know: %s", path, ", ".join(foreign))
        raise StorageError(
            f"The file {path} is not a mailsettings-desktop database (it holds other "
            f"tables or columns, for example {foreign[0]!r}), so it was left untouched. "
            "Choose the program's own database file, or a new file name to start a new one."
        )
    if "external_addresses" in tables:
        _refuse_prerelease_layout(tables["external_addresses"], path)


def _refuse_prerelease_layout(columns: set[str], path: Path) -> None:
    """Name the problem when a file from a development build lacks newer columns.

    Schema 1 was reshaped in place before its first release (company addresses), and
    create_all adds missing tables but never missing columns.
    """
    missing = {"is_company", "all_employees"} - columns
    if missing:
        raise StorageError(
            f"The database {path} was made by a development build of the program and lacks "
            f"the columns {', '.join(sorted(missing))}. Move it aside and start again."
        )


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _error_code(exc: BaseException | None) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def _is_not_a_database(exc: BaseException | None) -> bool:
    return _error_code(exc) == _SQLITE_NOTADB


def _is_damage(exc: BaseException | None) -> bool:
    """Whether SQLite said the file is corrupt (or, in mid-use, no longer a database)."""
    if _error_code(exc) in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
        return True
    return "malformed" in str(exc)


def _damaged_message(path: Path, detail: object) -> str:
    return (
        f"The database file {path} is damaged; restore a backup of it, or move it aside "
        f"and start with a new one. (SQLite reports: {detail})"
    )


def _address_query(with_allowed: bool = True) -> Any:
    """Addresses with their projects; `with_allowed` also loads who may use company ones.

    An employee's own address never has allowed employees, so the employee pane skips
    that query: selecting an employee must stay within a few milliseconds.
    """
    allowed = (
        selectinload(ExternalAddress.allowed_employees)
        if with_allowed else lazyload(ExternalAddress.allowed_employees)
    )
    return (
        select(ExternalAddress)
        .options(selectinload(ExternalAddress.projects), allowed)
        .order_by(ExternalAddress.email, ExternalAddress.id)
    )


def _existing_employee(s: Session, employee_id: int) -> Employee:
    employee = s.get(Employee, employee_id)
    if employee is None:
        raise StorageError(_EMPLOYEE_GONE)
    return employee


def _checked_employee(
    name: str, position: str, internal_email: str | None
) -> tuple[str, str, str | None]:
    """Trimmed employee details, or a StorageError that says which one to fix."""
    name = name.strip()
    position = (position or "").strip()
    email = (internal_email or "").strip() or None
    if not name:
        raise StorageError("An employee needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise StorageError(f"The name is too long ({MAX_NAME_LENGTH} characters at most).")
    if len(position) > MAX_NAME_LENGTH:
        raise StorageError(
            f"The position is too long ({MAX_NAME_LENGTH} characters at most)."
        )
    if any(ch in name + position for ch in "\r\n"):
        raise StorageError("The name and position must each be on one line.")
    if email is not None:
        if len(email) > MAX_EMAIL_LENGTH:
            raise StorageError("The internal email address is too long.")
        if problem := email_problem(email, "an internal email address"):
            raise StorageError(f"Internal email: {problem}")
    return name, position, email


def _checked_project_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise StorageError("A project needs a name.")
    if len(name) > MAX_NAME_LENGTH:
        raise StorageError(
            f"The project name is too long ({MAX_NAME_LENGTH} characters at most)."
        )
    if any(ch in name for ch in "\r\n"):
        raise StorageError("The project name must be on one line.")
    return name


def _owner_of(s: Session, draft: AddressDraft, address_id: int | None) -> int | None:
    """The employee the address will belong to after the save; None for the company."""
    if draft.is_company:
        return None
    if address_id is not None:
        current = s.get(ExternalAddress, address_id)
        # An employee address never changes hands; only a company address gets an owner.
        if current is not None and current.employee_id is not None:
            return current.employee_id
    return draft.employee_id


def _refuse_duplicate(
    s: Session, draft: AddressDraft, owner: int | None, address_id: int | None
) -> None:
    same_owner = (
        ExternalAddress.is_company.is_(True)
        if owner is None
        else ExternalAddress.employee_id == owner
    )
    query = select(ExternalAddress.id).where(
        same_owner, func.lower(ExternalAddress.email) == draft.email.lower()
    )
    if address_id is not None:
        query = query.where(ExternalAddress.id != address_id)
    if s.scalar(query) is None:
        return
    if owner is None:
        raise DuplicateAddressError(
            f"The company already has the address {draft.email}. Edit that one instead."
        )
    if address_id is None:
        raise DuplicateAddressError(
            f"This employee already has the address {draft.email}. Edit that one instead."
        )
    raise DuplicateAddressError(f"This employee already has the address {draft.email}.")


def _apply_draft(
    s: Session, row: ExternalAddress, draft: AddressDraft, owner: int | None
) -> None:
    """Copy the draft onto the row, enforcing the project and default rules of its owner."""
    projects = _projects(s, draft.project_ids)
    if owner is not None and projects:
        conflicts = _project_conflicts(s, owner, draft.project_ids, row.id)
        if conflicts and not draft.move_projects:
            raise ProjectConflictError(_conflict_message(conflicts), conflicts)
        if conflicts:
            _unlink_projects(s, owner, conflicts, row.id)
    if draft.is_default:
        _clear_default(s, owner, row.id)
    allowed: list[Employee] = []
    if owner is None and not draft.all_employees:
        allowed = _employees(s, draft.allowed_employee_ids)

    row.employee_id = owner
    row.is_company = owner is None
    row.all_employees = owner is None and draft.all_employees
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
    row.projects = projects
    row.allowed_employees = allowed


def _project_conflicts(
    s: Session, employee_id: int, project_ids: Sequence[int], exclude_address_id: int | None
) -> dict[int, AddressRecord]:
    if not project_ids:
        return {}
    query = (
        select(Project.id, ExternalAddress)
        .join(ExternalAddress.projects)
        .where(ExternalAddress.employee_id == employee_id, Project.id.in_(set(project_ids)))
        .order_by(Project.id)
    )
    if exclude_address_id is not None:
        query = query.where(ExternalAddress.id != exclude_address_id)
    return {project_id: _address_record(row) for project_id, row in s.execute(query).all()}


def _conflict_message(conflicts: dict[int, AddressRecord]) -> str:
    parts = []
    for project_id, other in conflicts.items():
        name = next((p.name for p in other.projects if p.id == project_id), str(project_id))
        parts.append(f"“{name}” is already sent from {other.email}")
    return (
        "; ".join(parts)
        + ". Each project uses only one of an employee's addresses: move the project to "
        "this address or untick it."
    )


def _unlink_projects(
    s: Session, employee_id: int, conflicts: dict[int, AddressRecord], keep_id: int | None
) -> None:
    for project_id, other in conflicts.items():
        s.execute(
            delete(address_projects).where(
                address_projects.c.address_id == other.id,
                address_projects.c.project_id == project_id,
            )
        )
        log.info(
            "project %d moved away from address %d of employee %d",
            project_id, other.id, employee_id,
        )
    # The loaded rows still hold the old links in memory; re-read them from the database.
    for other_row in s.scalars(
        select(ExternalAddress).where(
            ExternalAddress.id.in_([a.id for a in conflicts.values()])
        )
    ):
        if other_row.id != keep_id:
            s.expire(other_row, ["projects"])


def _clear_default(s: Session, owner: int | None, keep_id: int | None) -> None:
    same_owner = (
        ExternalAddress.is_company.is_(True)
        if owner is None
        else ExternalAddress.employee_id == owner
    )
    query = select(ExternalAddress).where(same_owner, ExternalAddress.is_default.is_(True))
    for other in s.scalars(query):
        if other.id != keep_id:
            other.is_default = False
    # Flushed now so the unique "one default" index never sees two at once.
    s.flush()


def _projects(s: Session, ids: Sequence[int]) -> list[Project]:
    if not ids:
        return []
    found = list(s.scalars(select(Project).where(Project.id.in_(ids))))
    if len(found) != len(set(ids)):
        raise StorageError("A selected project no longer exists; reload and try again.")
    return found


def _employees(s: Session, ids: Sequence[int]) -> list[Employee]:
    if not ids:
        return []
    found = list(s.scalars(select(Employee).where(Employee.id.in_(ids))))
    if len(found) != len(set(ids)):
        raise StorageError("A selected employee no longer exists; reload and try again.")
    return found


def _employee_record(e: Employee) -> EmployeeRecord:
    return EmployeeRecord(e.id, e.name, e.position or "", e.internal_email, e.active)


def _allowed_ids(a: ExternalAddress) -> tuple[int, ...]:
    """Who may use a company address; an employee's own address has nobody (no query)."""
    if not a.is_company:
        return ()
    return tuple(sorted(e.id for e in a.allowed_employees))


def _address_record(a: Any, projects: Sequence[Any] | None = None) -> AddressRecord:
    """A record from an ORM address, or from a plain row and its `projects` rows."""
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
            ProjectRecord(p.id, p.name)
            for p in sorted(a.projects if projects is None else projects, key=lambda p: p.name)
        ),
        options=dict(a.options or {}),
        created_at=a.created_at,
        updated_at=a.updated_at,
        last_test=stamp,
        trusted_cert_sha256=a.trusted_cert_sha256,
        is_company=bool(a.is_company),
        all_employees=bool(a.all_employees),
        allowed_employee_ids=_allowed_ids(a) if projects is None else (),
    )
