"""Saving and removing an address: the row and the keyring entry go together, or not at all."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import keyring.backends.null
import pytest
from sqlalchemy import text

from mailsettings_desktop.core import records
from mailsettings_desktop.core.address_book import (
    SaveError,
    remove_address,
    save_new_address,
    update_address,
)
from mailsettings_desktop.core.records import EmployeeRecord, ProjectRecord
from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore
from mailsettings_desktop.core.storage import Database
from tests.core_helpers import draft
from tests.memory_keyring import DroppingKeyring, LockedKeyring, MemoryKeyring

PASSWORD = "Pa55-wörd ✓ unique-7f3c91"


@pytest.fixture
def anna(db: Database) -> EmployeeRecord:
    return db.add_employee("Anna Keller", "Sales", "anna.keller@example.com")


@pytest.fixture
def shop(db: Database) -> ProjectRecord:
    return db.add_project("Online shop")



def address_rows(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM external_addresses")).scalar_one())


def fail_commit_after(db: Database, statement: str) -> None:
    """Make every COMMIT after an INSERT or DELETE on addresses fail, for real.

    A deferred foreign key is checked only at commit time, so a trigger that links each
    change to a missing audit entry lets the statement pass and the commit fail.
    """
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE audit (id INTEGER PRIMARY KEY)"))
        conn.execute(
            text(
                "CREATE TABLE audit_link (audit_id INTEGER REFERENCES audit(id) "
                "DEFERRABLE INITIALLY DEFERRED)"
            )
        )
        conn.execute(
            text(
                f"CREATE TRIGGER audit_address AFTER {statement} ON external_addresses "
                "BEGIN INSERT INTO audit_link (audit_id) VALUES (999); END"
            )
        )


def test_saving_keeps_the_row_and_the_password(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord,
    shop: ProjectRecord,
) -> None:
    stamp = records.TestStamp(True, "Signed in and the sender was accepted.", datetime(2026, 5, 4))

    saved = save_new_address(
        db, secrets, draft(anna.id, project_ids=(shop.id,), is_default=True), PASSWORD, stamp
    )

    assert db.addresses_for_employee(anna.id) == [saved]
    assert saved.projects == (shop,)
    assert saved.last_test == stamp
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}
    assert secrets.get(saved.secret_key) == PASSWORD


def test_each_address_gets_its_own_keyring_entry(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    first = save_new_address(db, secrets, draft(anna.id, "a@gmail.com"), "one")
    second = save_new_address(db, secrets, draft(anna.id, "b@gmail.com"), "two")

    assert first.secret_key != second.secret_key
    assert secrets.get(first.secret_key) == "one"
    assert secrets.get(second.secret_key) == "two"


@pytest.mark.parametrize(
    ("backend", "reason"),
    [
        (LockedKeyring(), "keyring is locked"),
        (DroppingKeyring(), "did not keep the password"),
        (keyring.backends.null.Keyring(), "switched off"),
    ],
    ids=["locked", "dropping", "null"],
)
def test_a_keyring_failure_leaves_no_row(
    db: Database, anna: EmployeeRecord, backend: MemoryKeyring, reason: str
) -> None:
    with pytest.raises(SaveError, match=reason) as caught:
        save_new_address(db, SecretStore(backend), draft(anna.id), PASSWORD)

    assert "Nothing was saved" in str(caught.value) or "Unlock it" in str(caught.value)
    assert PASSWORD not in str(caught.value)
    assert address_rows(db) == 0
    assert getattr(backend, "entries", {}) == {}


def test_a_duplicate_leaves_no_keyring_entry(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    first = save_new_address(db, secrets, draft(anna.id), "first password")

    with pytest.raises(SaveError, match=r"already has the address ANNA\.K@gmail\.com"):
        save_new_address(db, secrets, draft(anna.id, "ANNA.K@gmail.com"), PASSWORD)

    assert memory_keyring.entries == {(SERVICE_NAME, first.secret_key): "first password"}
    assert address_rows(db) == 1


def test_a_missing_employee_leaves_no_keyring_entry(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    with pytest.raises(SaveError, match="employee no longer exists"):
        save_new_address(db, secrets, draft(anna.id + 1), PASSWORD)

    assert memory_keyring.entries == {}
    assert address_rows(db) == 0


def test_a_failing_commit_takes_the_password_back_out(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The hardest case: SQLite refuses only at COMMIT, after the keyring already has it."""
    fail_commit_after(db, "INSERT")

    caplog.set_level(logging.INFO, logger="mailsettings_desktop")
    with pytest.raises(SaveError, match=r"database could not be written \(IntegrityError\)"):
        save_new_address(db, secrets, draft(anna.id), PASSWORD)

    # The keyring really had it before the commit failed, and then lost it again.
    assert "password stored in keyring" in caplog.text
    assert "password removed from keyring" in caplog.text
    assert memory_keyring.entries == {}
    assert address_rows(db) == 0


def test_removing_deletes_row_and_password(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord,
    shop: ProjectRecord,
) -> None:
    kept = save_new_address(db, secrets, draft(anna.id, "kept@gmail.com"), "kept")
    gone = save_new_address(db, secrets, draft(anna.id, project_ids=(shop.id,)), PASSWORD)

    remove_address(db, secrets, gone.id)

    assert db.get_address(gone.id) is None
    assert db.addresses_for_employee(anna.id) == [kept]
    assert memory_keyring.entries == {(SERVICE_NAME, kept.secret_key): "kept"}
    remove_address(db, secrets, gone.id)  # already gone: nothing to do


def test_removing_an_address_whose_password_is_already_gone(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), PASSWORD)
    memory_keyring.entries.clear()  # the admin cleaned the keyring by hand

    remove_address(db, secrets, saved.id)

    assert address_rows(db) == 0


def test_a_locked_keyring_keeps_the_address_on_remove(
    db: Database, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    class LockedOnDelete(MemoryKeyring):
        def delete_password(self, service: str, username: str) -> None:
            raise keyring.errors.KeyringLocked("collection is locked")

    backend = LockedOnDelete()
    saved = save_new_address(db, SecretStore(backend), draft(anna.id), PASSWORD)

    with pytest.raises(SaveError, match=r"could not remove the password: KeyringLocked") as caught:
        remove_address(db, SecretStore(backend), saved.id)

    assert "The address was not removed." in str(caught.value)
    assert db.get_address(saved.id) == saved
    assert backend.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}


def test_a_failing_commit_on_remove_puts_the_password_back(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), PASSWORD)
    fail_commit_after(db, "DELETE")

    with pytest.raises(SaveError, match=r"\(IntegrityError\)\. The address was not removed\.$"):
        remove_address(db, secrets, saved.id)

    assert db.get_address(saved.id) == saved
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}


def test_a_password_that_cannot_be_put_back_is_reported(
    db: Database, anna: EmployeeRecord
) -> None:
    class WriteOnceKeyring(MemoryKeyring):
        def set_password(self, service: str, username: str, password: str) -> None:
            if self.entries or getattr(self, "used", False):
                raise keyring.errors.KeyringLocked("collection is locked")
            self.used = True
            super().set_password(service, username, password)

    backend = WriteOnceKeyring()
    saved = save_new_address(db, SecretStore(backend), draft(anna.id), PASSWORD)
    fail_commit_after(db, "DELETE")

    with pytest.raises(SaveError, match="could not be put back into the keyring") as caught:
        remove_address(db, SecretStore(backend), saved.id)

    assert PASSWORD not in str(caught.value)
    assert db.get_address(saved.id) == saved


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Everything every logger says during the test, at every level, in a real file."""
    path = tmp_path / "mailsettings.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield path
    root.removeHandler(handler)
    root.setLevel(previous_level)
    handler.close()


def test_the_password_is_in_no_file(
    tmp_path: Path, log_file: Path, secrets: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    db_path = tmp_path / "company.sqlite3"
    wal_path = tmp_path / "company.sqlite3-wal"
    needle = PASSWORD.encode("utf-8")
    db = Database(db_path)
    try:
        anna = db.add_employee("Anna Keller")
        saved = save_new_address(db, secrets, draft(anna.id), PASSWORD)
        # A failed attempt logs too; it must not log the password either.
        with pytest.raises(SaveError):
            save_new_address(db, secrets, draft(anna.id), PASSWORD)
        with pytest.raises(SaveError):
            save_new_address(db, SecretStore(LockedKeyring()), draft(anna.id, "x@gmail.com"),
                             PASSWORD)

        # While open, the new row lives in the write-ahead log.
        assert wal_path.stat().st_size > 0
        assert b"anna.k@gmail.com" in db_path.read_bytes() + wal_path.read_bytes()
        assert needle not in db_path.read_bytes()
        assert needle not in wal_path.read_bytes()
    finally:
        db.close()

    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}
    for path in tmp_path.rglob("company.sqlite3*"):
        assert needle not in path.read_bytes(), path
    logged = log_file.read_bytes()
    assert b"address saved" in logged
    assert needle not in logged


def test_updating_with_a_new_password(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), "old password")

    updated = update_address(
        db, secrets, saved.id, draft(anna.id, host="smtp.example.org", port=587), PASSWORD
    )

    assert (updated.host, updated.port, updated.secret_key) == (
        "smtp.example.org", 587, saved.secret_key
    )
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}


def test_a_keyring_that_drops_the_new_password_keeps_the_old_one(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), "old password")
    dropping = DroppingKeyring()
    dropping.entries = memory_keyring.entries  # the same keyring, now losing writes

    with pytest.raises(SaveError, match="did not keep the password"):
        update_address(db, SecretStore(dropping), saved.id, draft(anna.id, port=587), PASSWORD)

    assert db.get_address(saved.id) == saved
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): "old password"}


def test_a_failing_commit_on_update_puts_the_old_password_back(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), "old password")
    fail_commit_after(db, "UPDATE")

    with pytest.raises(SaveError, match=r"\(IntegrityError\)\. Nothing was changed\.$"):
        update_address(db, secrets, saved.id, draft(anna.id, port=587), PASSWORD)

    assert db.get_address(saved.id) == saved
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): "old password"}
