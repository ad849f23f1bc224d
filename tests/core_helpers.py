"""Helpers shared by the core tests: address drafts, row counts and a failing commit."""

from __future__ import annotations

from sqlalchemy import text

from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database


def draft(
    employee_id: int | None, email: str = "anna.k@gmail.com", **changes: object
) -> AddressDraft:
    """An employee's own address draft with valid Gmail-like settings."""
    values: dict[str, object] = {
        "employee_id": employee_id,
        "email": email,
        "host": "smtp.gmail.com",
        "port": 465,
        "security": Security.SSL,
        "username": email,
    }
    values.update(changes)
    return AddressDraft(**values)  # type: ignore[arg-type]


def company_draft(email: str = "support@example.com", **changes: object) -> AddressDraft:
    """A company address draft; open to nobody unless the test says who may use it."""
    values: dict[str, object] = {"is_company": True}
    values.update(changes)
    return draft(None, email, **values)


def table_names(db: Database) -> list[str]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        )
        return [name for (name,) in rows]


def count(db: Database, sql: str, **params: object) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def foreign_key_problems(db: Database) -> list[tuple[object, ...]]:
    """SQLite's own list of rows whose foreign key points at nothing."""
    with db.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text("PRAGMA foreign_key_check"))]


def fail_commit_after(db: Database, statement: str, table: str) -> None:
    """Make every COMMIT after `statement` on `table` fail, for real, at commit time.

    A deferred foreign key is checked only when committing, so a trigger that links each
    change to a missing audit entry lets the statement pass and the commit fail.
    """
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS audit (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS audit_link (audit_id INTEGER REFERENCES audit(id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        conn.execute(
            text(
                f"CREATE TRIGGER audit_{table}_{statement.lower()} AFTER {statement} ON {table} "
                "BEGIN INSERT INTO audit_link (audit_id) VALUES (999); END"
            )
        )
