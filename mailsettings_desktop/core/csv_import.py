"""Importing employees and projects from a CSV file: a preview first, then all or nothing.

Two shapes are understood, told apart by the header row (case-insensitive):

- employees: `name` (required), `position`, `internal_email`, `projects` (project names
  separated by `|`; missing projects are created);
- projects only: a single `project` column.

The delimiter (comma or semicolon) is taken from the header row, because spreadsheet
programs in many locales write semicolons. The file must be UTF-8, with or without the BOM
that Excel adds. Every row is checked in the preview, and checked again against the
database when applied, since the data may have changed in between.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from mailsettings_desktop.core.models import Employee, Project
from mailsettings_desktop.core.storage import MAX_EMAIL_LENGTH, MAX_NAME_LENGTH, Database
from mailsettings_desktop.core.validation import email_problem

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
PROJECT_SEPARATOR = "|"

_EMPLOYEE_COLUMNS = ("name", "position", "internal_email", "projects")
_PROJECT_COLUMN = "project"


class CsvImportError(Exception):
    """The file cannot be imported as a whole, or the import was refused; for the admin."""


class ImportKind(Enum):
    """Which of the two file shapes the header row describes."""

    EMPLOYEES = "employees"
    PROJECTS = "projects"


@dataclass(frozen=True)
class ImportRow:
    """One data row of the file: where it is, what it holds, and what is wrong with it."""

    line: int
    values: dict[str, str]
    error: str | None = None
    # Values beyond the header's columns: usually a delimiter inside an unquoted value.
    extra_values: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def project_names(self) -> tuple[str, ...]:
        """The row's project names (the `projects` or the `project` column), trimmed."""
        raw = self.values.get("projects", "") or self.values.get(_PROJECT_COLUMN, "")
        if _PROJECT_COLUMN in self.values:
            return (raw.strip(),) if raw.strip() else ()
        return tuple(p.strip() for p in raw.split(PROJECT_SEPARATOR) if p.strip())


@dataclass(frozen=True)
class ImportPreview:
    """What the file holds and what importing it would do; shown before anything changes."""

    path: Path
    kind: ImportKind
    delimiter: str
    columns: tuple[str, ...]
    rows: tuple[ImportRow, ...]
    ignored_columns: tuple[str, ...] = ()
    # Project names the good rows would create (with a database to compare against).
    new_projects: tuple[str, ...] = field(default=())

    @property
    def has_errors(self) -> bool:
        return any(not row.ok for row in self.rows)

    @property
    def good_rows(self) -> tuple[ImportRow, ...]:
        return tuple(row for row in self.rows if row.ok)

    @property
    def bad_rows(self) -> tuple[ImportRow, ...]:
        return tuple(row for row in self.rows if not row.ok)


@dataclass(frozen=True)
class ImportSummary:
    """What an applied import added, and which lines it skipped as bad."""

    employees_added: int
    projects_added: int
    skipped_lines: tuple[int, ...] = ()


def preview_csv(path: Path, db: Database | None = None) -> ImportPreview:
    """Read and check the file; with `db`, rows are also checked against existing data.

    Raises CsvImportError when the file as a whole is unusable (unreadable, not UTF-8,
    no recognisable header, too large).
    """
    path = Path(path)
    delimiter, header, records = _read_table(path)
    kind, columns, ignored = _columns(header)
    rows = _rows(kind, header, records)
    if db is not None:
        with db.session() as s:
            rows = _check(kind, rows, s)
            new_projects = _new_projects(rows, _existing_projects(s))
    else:
        rows = _check(kind, rows, None)
        new_projects = _new_projects(rows, {})
    preview = ImportPreview(
        path=path,
        kind=kind,
        delimiter=delimiter,
        columns=columns,
        rows=rows,
        ignored_columns=ignored,
        new_projects=new_projects,
    )
    log.info(
        "csv preview: %s, %s, %d row(s), %d with errors",
        path.name, kind.value, len(rows), len(preview.bad_rows),
    )
    return preview


def apply_import(db: Database, preview: ImportPreview, skip_bad_rows: bool) -> ImportSummary:
    """Import the previewed rows in one transaction.

    The rows are checked again against the database first. If any row has an error,
    nothing is imported unless `skip_bad_rows`, in which case only the good rows are.
    """
    try:
        with db.session() as s:
            rows = _check(preview.kind, preview.rows, s)
            bad = [row for row in rows if not row.ok]
            if bad and not skip_bad_rows:
                first = bad[0]
                raise CsvImportError(
                    f"{len(bad)} row(s) have errors (line {first.line}: {first.error}). "
                    "Nothing was imported. Fix the file, or choose to skip the bad rows."
                )
            good = [row for row in rows if row.ok]
            projects_added = _create_projects(s, good)
            employees_added = 0
            if preview.kind is ImportKind.EMPLOYEES:
                for row in good:
                    s.add(
                        Employee(
                            name=row.values["name"].strip(),
                            position=row.values.get("position", "").strip(),
                            internal_email=row.values.get("internal_email", "").strip()
                            or None,
                        )
                    )
                    employees_added += 1
            s.flush()
    except SQLAlchemyError as exc:
        log.exception("csv import failed while writing the database")
        raise CsvImportError(
            f"The database could not be written ({type(exc).__name__}). Nothing was imported."
        ) from exc
    summary = ImportSummary(
        employees_added=employees_added,
        projects_added=projects_added,
        skipped_lines=tuple(row.line for row in bad),
    )
    log.info(
        "csv import from %s: %d employee(s), %d project(s), %d row(s) skipped",
        preview.path.name, employees_added, projects_added, len(bad),
    )
    return summary


# Reading the file ---------------------------------------------------------------------------


def _read_table(path: Path) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise CsvImportError(
                f"The file is too large ({size // 1024} KB); at most "
                f"{MAX_FILE_BYTES // (1024 * 1024)} MB can be imported."
            )
        data = path.read_bytes()
    except OSError as exc:
        raise CsvImportError(f"The file could not be read: {exc.strerror or exc}.") from exc
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvImportError(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” and try again."
        ) from exc
    if "\0" in text:
        raise CsvImportError("This is not a CSV text file (it contains NUL bytes).")

    first_line = next((line for line in text.splitlines() if line.strip()), "")
    if not first_line:
        raise CsvImportError("The file is empty.")
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","

    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[tuple[int, list[str]]] = []
    previous_end = 0
    try:
        for fields in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not any(f.strip() for f in fields):
                continue
            if header is None:
                header = fields
                continue
            records.append((start, fields))
            if len(records) > MAX_ROWS:
                raise CsvImportError(f"The file has more than {MAX_ROWS} rows.")
    except csv.Error as exc:
        raise CsvImportError(
            f"Line {reader.line_num} is not valid CSV: {exc}. Check its quotes."
        ) from exc
    if header is None:
        raise CsvImportError("The file has no header row naming its columns.")
    return delimiter, header, records


def _normalised(column: str) -> str:
    return "_".join(column.strip().lower().replace("-", " ").split())


def _columns(header: Sequence[str]) -> tuple[ImportKind, tuple[str, ...], tuple[str, ...]]:
    names = [_normalised(c) for c in header]
    seen: set[str] = set()
    for name in names:
        if name and name in seen:
            raise CsvImportError(f"The column “{name}” appears twice in the header row.")
        seen.add(name)
    if "name" in seen:
        kind = ImportKind.EMPLOYEES
        known: tuple[str, ...] = _EMPLOYEE_COLUMNS
    elif _PROJECT_COLUMN in seen:
        kind = ImportKind.PROJECTS
        known = (_PROJECT_COLUMN,)
    else:
        found = ", ".join(c.strip() for c in header if c.strip()) or "nothing"
        raise CsvImportError(
            "The first row must name the columns: “name” (and optionally “position”, "
            "“internal_email”, “projects”) for employees, or a single “project” "
            f"column for projects. Found: {found}."
        )
    columns = tuple(n for n in names if n in known)
    ignored = tuple(h.strip() for h, n in zip(header, names, strict=True) if n not in known)
    return kind, columns, ignored


def _rows(
    kind: ImportKind, header: Sequence[str], records: Iterable[tuple[int, list[str]]]
) -> tuple[ImportRow, ...]:
    names = [_normalised(c) for c in header]
    known = _EMPLOYEE_COLUMNS if kind is ImportKind.EMPLOYEES else (_PROJECT_COLUMN,)
    rows = []
    for line, fields in records:
        values = {
            name: value
            for name, value in zip(names, fields, strict=False)
            if name in known
        }
        rows.append(ImportRow(line, values, extra_values=max(0, len(fields) - len(names))))
    return tuple(rows)


def _shape_problems(row: ImportRow) -> list[str]:
    if not row.extra_values:
        return []
    return [
        f"This row has {row.extra_values} value(s) more than the header has columns; "
        "a value probably contains the delimiter without quotes."
    ]


# Checking rows ------------------------------------------------------------------------------


def _check(
    kind: ImportKind, rows: Sequence[ImportRow], s: Session | None
) -> tuple[ImportRow, ...]:
    """Each row with its error, worked out afresh (earlier errors are not carried over)."""
    if kind is ImportKind.PROJECTS:
        existing = _existing_projects(s) if s is not None else {}
        return _check_projects(rows, existing)
    people = _existing_employees(s) if s is not None else set()
    return _check_employees(rows, people)


def _check_employees(
    rows: Sequence[ImportRow], existing: set[tuple[str, str]]
) -> tuple[ImportRow, ...]:
    first_line: dict[tuple[str, str], int] = {}
    checked = []
    for row in rows:
        problems = _shape_problems(row)
        name = row.values.get("name", "").strip()
        position = row.values.get("position", "").strip()
        email = row.values.get("internal_email", "").strip()
        if not name:
            problems.append("The name is missing.")
        elif len(name) > MAX_NAME_LENGTH:
            problems.append(f"The name is too long ({MAX_NAME_LENGTH} characters at most).")
        if len(position) > MAX_NAME_LENGTH:
            problems.append(
                f"The position is too long ({MAX_NAME_LENGTH} characters at most)."
            )
        if any(ch in name + position for ch in "\r\n"):
            problems.append("The name and position must each be on one line.")
        if len(email) > MAX_EMAIL_LENGTH:
            problems.append("The internal email address is too long.")
        elif email and (problem := email_problem(email, "an internal email address")):
            problems.append(f"Internal email “{email}”: {problem}")
        problems.extend(_project_name_problems(row.project_names))

        key = (name.casefold(), email.casefold())
        if name and key in first_line:
            problems.append(f"The same employee is already on line {first_line[key]}.")
        elif name:
            first_line[key] = row.line
            if key in existing:
                problems.append(
                    "This employee already exists (same name and internal email)."
                )
        checked.append(_with_problems(row, problems))
    return tuple(checked)


def _check_projects(
    rows: Sequence[ImportRow], existing: dict[str, str]
) -> tuple[ImportRow, ...]:
    first_line: dict[str, int] = {}
    checked = []
    for row in rows:
        problems = _shape_problems(row)
        name = row.values.get(_PROJECT_COLUMN, "").strip()
        if not name:
            problems.append("The project name is missing.")
        problems.extend(_project_name_problems((name,) if name else ()))
        key = name.casefold()
        if name and key in first_line:
            problems.append(f"The same project is already on line {first_line[key]}.")
        elif name:
            first_line[key] = row.line
            if key in existing:
                problems.append(f"A project named “{existing[key]}” already exists.")
        checked.append(_with_problems(row, problems))
    return tuple(checked)


def _with_problems(row: ImportRow, problems: list[str]) -> ImportRow:
    return ImportRow(row.line, row.values, " ".join(problems) or None, row.extra_values)


def _project_name_problems(names: Iterable[str]) -> list[str]:
    problems = []
    for name in names:
        if len(name) > MAX_NAME_LENGTH:
            problems.append(
                f"The project name “{name[:40]}…” is too long "
                f"({MAX_NAME_LENGTH} characters at most)."
            )
        elif any(ch in name for ch in "\r\n"):
            problems.append("A project name must be on one line.")
    return problems


def _existing_employees(s: Session) -> set[tuple[str, str]]:
    return {
        (name.casefold(), (email or "").casefold())
        for name, email in s.execute(select(Employee.name, Employee.internal_email))
    }


def _existing_projects(s: Session) -> dict[str, str]:
    """Existing project names by their case-folded form, so “Shop” matches “shop”."""
    return {name.casefold(): name for name in s.scalars(select(Project.name))}


def _new_projects(rows: Iterable[ImportRow], existing: dict[str, str]) -> tuple[str, ...]:
    new: dict[str, str] = {}
    for row in rows:
        if row.ok:
            for name in row.project_names:
                if name.casefold() not in existing:
                    new.setdefault(name.casefold(), name)
    return tuple(new.values())


def _create_projects(s: Session, rows: Iterable[ImportRow]) -> int:
    missing = _new_projects(rows, _existing_projects(s))
    s.add_all(Project(name=name) for name in missing)
    return len(missing)
