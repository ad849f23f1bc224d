"""Storage round-trips on a real SQLite file, and the sample company behind `--demo`."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mailsettings_desktop.core import records
from mailsettings_desktop.core.demo import DEMO_DOMAIN, fill_demo_company
from mailsettings_desktop.core.models import SCHEMA_VERSION
from mailsettings_desktop.core.records import AddressDraft, AddressRecord
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database, DuplicateAddressError, StorageError
from tests.core_helpers import draft


def insert(db: Database, address: AddressDraft, key: str | None = None) -> AddressRecord:
    with db.session() as s:
        row = db.insert_address(s, address, key or f"key-{address.email}-{address.employee_id}")
        return db.to_record(row)


def test_employees_round_trip(db: Database) -> None:
    bruno = db.add_employee("  Bruno Diaz ", "Sales", "bruno@example.com")
    anna = db.add_employee("Anna Keller")

    assert bruno.name == "Bruno Diaz"
    assert db.list_employees() == [anna, bruno]
    assert anna.position == ""
    assert anna.internal_email is None
    assert bruno.internal_email == "bruno@example.com"
    assert not db.is_empty()


def test_employee_without_a_name_is_refused(db: Database) -> None:
    with pytest.raises(StorageError, match="needs a name"):
        db.add_employee("   ")
    assert db.is_empty()


def test_projects_round_trip_and_duplicates(db: Database) -> None:
    shop = db.add_project("Online shop")
    fair = db.add_project("Trade fair")

    assert db.list_projects() == [shop, fair]
    with pytest.raises(StorageError, match="already exists"):
        db.add_project("Trade fair")
    with pytest.raises(StorageError, match="needs a name"):
        db.add_project("")
    assert db.list_projects() == [shop, fair]


def test_address_with_projects_round_trip(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    shop = db.add_project("Online shop")
    fair = db.add_project("Another project")
    address = draft(
        anna.id,
        sender_name="Anna Keller (Shop)",
        provider_key="gmail",
        timeout_seconds=35,
        reply_to="shop@example.com",
        is_default=True,
        project_ids=(shop.id, fair.id),
        options={"signature": "Kind regards", "copy_to_self": True},
    )

    saved = insert(db, address, "key-1")
    loaded = db.get_address(saved.id)

    assert loaded == saved
    assert db.addresses_for_employee(anna.id) == [saved]
    assert loaded is not None
    assert loaded.email == "anna.k@gmail.com"
    assert loaded.security is Security.SSL
    assert (loaded.host, loaded.port, loaded.username) == ("smtp.gmail.com", 465, address.email)
    assert loaded.sender_name == "Anna Keller (Shop)"
    assert loaded.provider_key == "gmail"
    assert loaded.timeout_seconds == 35
    assert loaded.reply_to == "shop@example.com"
    assert loaded.is_default
    assert loaded.secret_key == "key-1"
    # Sorted by name, whatever order they were ticked in.
    assert loaded.projects == (fair, shop)
    assert loaded.options == {"signature": "Kind regards", "copy_to_self": True}
    assert isinstance(loaded.created_at, datetime)
    assert loaded.updated_at == loaded.created_at
    assert loaded.last_test is None
    assert loaded.server == "smtp.gmail.com:465 (SSL/TLS)"


def test_test_result_is_kept(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    at = datetime(2026, 3, 1, 9, 30)
    with db.session() as s:
        row = db.insert_address(s, draft(anna.id), "key-1")
        db.record_test(s, row, records.TestStamp(False, "x" * 900, at))
        address_id = row.id

    stamp = db.addresses_for_employee(anna.id)[0].last_test
    assert stamp is not None
    assert not stamp.ok
    assert stamp.at == at
    assert stamp.summary == "x" * 500
    assert db.get_address(address_id) is not None


def test_only_one_default_address_per_employee(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    bruno = db.add_employee("Bruno Diaz")
    first = insert(db, draft(anna.id, "a@gmail.com", is_default=True))
    other_employee = insert(db, draft(bruno.id, "b@gmail.com", is_default=True))
    second = insert(db, draft(anna.id, "c@gmail.com", is_default=True))
    third = insert(db, draft(anna.id, "d@gmail.com", is_default=False))

    defaults = {a.email: a.is_default for a in db.addresses_for_employee(anna.id)}
    assert defaults == {first.email: False, second.email: True, third.email: False}
    # Another employee's default is left alone.
    assert db.addresses_for_employee(bruno.id)[0].is_default
    assert other_employee.is_default


def test_duplicate_address_is_refused_with_a_clear_message(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    bruno = db.add_employee("Bruno Diaz")
    insert(db, draft(anna.id, "Anna.K@gmail.com"))

    with pytest.raises(DuplicateAddressError) as caught:
        insert(db, draft(anna.id, "anna.k@GMAIL.com"))

    message = str(caught.value)
    assert "already has the address anna.k@GMAIL.com" in message
    assert "Edit that one instead" in message
    assert len(db.addresses_for_employee(anna.id)) == 1
    # The same address for another employee is a different entry.
    insert(db, draft(bruno.id, "anna.k@gmail.com"))


def test_missing_employee_or_project_is_refused(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    with pytest.raises(StorageError, match="employee no longer exists"):
        insert(db, draft(anna.id + 100))
    with pytest.raises(StorageError, match="project no longer exists"):
        insert(db, draft(anna.id, project_ids=(12345,)))
    assert db.addresses_for_employee(anna.id) == []


def test_deleting_an_address_removes_its_project_links(db: Database) -> None:
    anna = db.add_employee("Anna Keller")
    shop = db.add_project("Online shop")
    saved = insert(db, draft(anna.id, project_ids=(shop.id,)))

    with db.session() as s:
        assert db.delete_address_row(s, saved.id) is not None
        assert db.delete_address_row(s, saved.id) is None

    assert db.get_address(saved.id) is None
    assert db.list_projects() == [shop]
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM address_projects")).scalar_one() == 0


def test_foreign_keys_are_enforced(db: Database) -> None:
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    anna = db.add_employee("Anna Keller")
    insert(db, draft(anna.id))

    # An employee who still has addresses cannot vanish underneath them.
    with pytest.raises(IntegrityError), db.session() as s:
        s.execute(text("DELETE FROM employees WHERE id = :id"), {"id": anna.id})
    assert db.list_employees() == [anna]


def test_write_ahead_log_is_on(db: Database, tmp_path: Path) -> None:
    db.add_employee("Anna Keller")
    with db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "test.sqlite3-wal").exists()


def test_reopening_the_file_shows_the_data(tmp_path: Path) -> None:
    path = tmp_path / "company.sqlite3"
    first = Database(path)
    anna = first.add_employee("Anna Keller", "Director")
    shop = first.add_project("Online shop")
    saved = insert(first, draft(anna.id, project_ids=(shop.id,), is_default=True))
    first.close()

    again = Database(path)
    try:
        assert again.list_employees() == [anna]
        assert again.list_projects() == [shop]
        assert again.addresses_for_employee(anna.id) == [saved]
        with again.engine.connect() as conn:
            assert conn.execute(text("PRAGMA user_version")).scalar_one() == SCHEMA_VERSION
    finally:
        again.close()


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.sqlite3"
    Database(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()

    with pytest.raises(StorageError, match="written by a newer version") as caught:
        Database(path)

    assert f"schema {SCHEMA_VERSION + 1}" in str(caught.value)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION + 1,)
    conn.close()


def test_a_file_that_is_no_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite3"
    path.write_text("not a database\n" * 500, encoding="utf-8")

    with pytest.raises(StorageError, match="could not be opened: file is not a database"):
        Database(path)


def test_odd_characters_in_the_path_open_exactly_that_file(tmp_path: Path) -> None:
    path = tmp_path / "odd folder" / "mail?settings%20#1.sqlite3"
    database = Database(path)
    try:
        database.add_employee("Anna Keller")
    finally:
        database.close()

    assert path.is_file()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_demo_company_fills_an_empty_database(db: Database) -> None:
    assert fill_demo_company(db)

    employees = db.list_employees()
    assert len(employees) == 12
    assert len({e.name for e in employees}) == 12
    assert all(e.position for e in employees)
    emails = [e.internal_email or "" for e in employees]
    assert all(email.endswith(f"@{DEMO_DOMAIN}") for email in emails)
    assert len(set(emails)) == 12
    assert len(db.list_projects()) >= 3
    assert DEMO_DOMAIN in {"example.com", "example.org", "example.net"}


def test_demo_company_leaves_a_used_database_alone(db: Database) -> None:
    assert fill_demo_company(db)
    before = (db.list_employees(), db.list_projects())
    assert not fill_demo_company(db)
    assert (db.list_employees(), db.list_projects()) == before


def test_demo_company_is_not_mixed_into_existing_projects(db: Database) -> None:
    own = db.add_project("Our only project")
    assert not fill_demo_company(db)
    assert db.list_projects() == [own]
    assert db.list_employees() == []


# Files that are not ours, and damaged ones ----------------------------------------------


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _foreign_file(path: Path, wal: bool = False, *statements: str) -> bytes:
    """Another program's SQLite file (user_version 0); returns its bytes as written."""
    with closing(sqlite3.connect(path)) as conn:
        if wal:
            conn.execute("PRAGMA journal_mode=WAL")
        for statement in statements:
            conn.execute(statement)
        conn.commit()
    return path.read_bytes()


@pytest.mark.parametrize(
    ("wal", "statements"),
    [
        (False, ("CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, salary INTEGER)",
                 "INSERT INTO employees (name, salary) VALUES ('Dana', 5000)")),
        (False, ("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)",)),
        (True, ("CREATE TABLE employees (id INTEGER PRIMARY KEY, name TEXT, badge TEXT)",)),
        (False, ("CREATE TABLE projects (id INTEGER PRIMARY KEY, name VARCHAR(200))",
                 "CREATE VIEW project_names AS SELECT name FROM projects")),
    ],
    ids=["other-employees", "other-tables", "other-employees-wal", "our-table-and-a-view"],
)
def test_another_programs_file_is_refused_untouched(
    tmp_path: Path, wal: bool, statements: tuple[str, ...]
) -> None:
    path = tmp_path / "hr.sqlite3"
    before = _foreign_file(path, wal, *statements)

    with pytest.raises(StorageError) as caught:
        Database(path)

    message = str(caught.value)
    assert "is not a mailsettings-desktop database" in message
    assert str(path) in message
    assert path.read_bytes() == before
    assert _siblings(path) == [path.name]  # no -wal, -shm or -journal left beside it


def test_a_file_with_only_some_of_our_tables_is_completed(tmp_path: Path) -> None:
    """A first open that stopped after creating a table (user_version still 0)."""
    path = tmp_path / "interrupted.sqlite3"
    Database(path).close()
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("DROP TABLE company_address_employees")
        conn.execute("DROP TABLE address_projects")
        conn.execute("PRAGMA user_version=0")
        conn.commit()

    database = Database(path)
    try:
        database.add_employee("Anna Keller")
        with database.engine.connect() as conn:
            assert conn.execute(text("PRAGMA user_version")).scalar_one() == SCHEMA_VERSION
    finally:
        database.close()


def _filled_database(path: Path, employees: int = 3000) -> None:
    """A real program database with enough rows to span a few hundred pages."""
    database = Database(path)
    try:
        with database.session() as s:
            s.execute(
                text("INSERT INTO employees (name, position, active) VALUES (:n, :p, 1)"),
                [{"n": f"Employee {n:05d} " + "x" * 80, "p": "Sales"} for n in range(employees)],
            )
    finally:
        database.close()  # the last connection folds the WAL back into the file


def _damage_middle(path: Path, pages: int = 4) -> None:
    """Overwrite a few whole pages in the middle of the file, as a failing disk might."""
    size = path.stat().st_size
    page = 4096
    offset = (size // page // 2) * page
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(b"\xa5" * page * pages)


def test_a_damaged_database_is_refused_at_open(tmp_path: Path) -> None:
    path = tmp_path / "company.sqlite3"
    _filled_database(path)
    _damage_middle(path)
    before = path.read_bytes()

    with pytest.raises(StorageError) as caught:
        Database(path)

    message = str(caught.value)
    assert "database file" in message and "is damaged; restore a backup" in message
    assert str(path) in message
    assert not isinstance(caught.value.__cause__, StorageError)
    assert path.read_bytes() == before


def test_damage_found_by_a_later_read_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "company.sqlite3"
    _filled_database(path)
    database = Database(path)
    try:
        database.engine.dispose()  # the next read comes from the file on disk
        _damage_middle(path)

        with pytest.raises(StorageError, match="is damaged; restore a backup") as caught:
            database.list_employees()

        # SQLAlchemy's wrapper of SQLite's own error, kept as the cause for the log.
        assert isinstance(caught.value.__cause__, sqlalchemy.exc.DatabaseError)
        assert str(path) in str(caught.value)
    finally:
        database.close()


def test_an_ordinary_integrity_error_is_not_called_damage(db: Database) -> None:
    with pytest.raises(IntegrityError), db.session() as s:
        s.execute(text("INSERT INTO external_addresses (id) VALUES (1)"))
