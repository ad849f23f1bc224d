"""Company addresses: shared mailboxes, who may use them, the company default, and the
rule that one mailbox serves several employees only as a company address."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mailsettings_desktop.core.address_book import (
    SaveError,
    remove_address,
    save_new_address,
    update_address,
)
from mailsettings_desktop.core.records import AddressDraft, EmployeeRecord
from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import (
    Database,
    DuplicateAddressError,
    SharedMailboxError,
    StorageError,
)
from tests.core_helpers import company_draft, count, draft
from tests.memory_keyring import MemoryKeyring

PASSWORD = "shared-mailbox ✓ 51"


@pytest.fixture
def anna(db: Database) -> EmployeeRecord:
    return db.add_employee("Anna Keller", "Sales", "anna@example.com")


@pytest.fixture
def bruno(db: Database) -> EmployeeRecord:
    return db.add_employee("Bruno Diaz", "Sales", "bruno@example.com")


@pytest.fixture
def chloe(db: Database) -> EmployeeRecord:
    return db.add_employee("Chloé Martin")


def test_a_company_address_round_trip(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord,
) -> None:
    shop = db.add_project("Online shop")

    saved = save_new_address(
        db, secrets,
        company_draft(allowed_employee_ids=(bruno.id, anna.id), project_ids=(shop.id,)),
        PASSWORD,
    )

    assert saved.is_company
    assert saved.employee_id is None
    assert not saved.all_employees
    assert saved.allowed_employee_ids == tuple(sorted((anna.id, bruno.id)))
    assert saved.projects == (shop,)
    assert db.company_addresses() == [saved]
    assert db.get_address(saved.id) == saved
    # A company address is nobody's own address.
    assert db.addresses_for_employee(anna.id) == []
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}
    assert saved.usable_by(anna.id)
    assert not saved.usable_by(anna.id + bruno.id + 100)


def test_an_address_open_to_all_employees_keeps_no_list(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, bruno: EmployeeRecord
) -> None:
    saved = save_new_address(
        db, secrets, company_draft(all_employees=True, allowed_employee_ids=(anna.id,)),
        PASSWORD,
    )

    assert saved.all_employees
    assert saved.allowed_employee_ids == ()
    assert saved.usable_by(bruno.id)
    assert count(db, "SELECT count(*) FROM company_address_employees") == 0


def test_the_employee_id_of_a_company_draft_is_ignored(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    saved = save_new_address(
        db, secrets, draft(anna.id, "team@example.com", is_company=True), PASSWORD
    )

    assert saved.is_company
    assert saved.employee_id is None


def test_the_allowed_list_can_be_changed(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord, chloe: EmployeeRecord,
) -> None:
    saved = save_new_address(
        db, secrets, company_draft(allowed_employee_ids=(anna.id, bruno.id)), PASSWORD
    )

    updated = update_address(
        db, secrets, saved.id, company_draft(allowed_employee_ids=(chloe.id,)), None
    )

    assert updated.allowed_employee_ids == (chloe.id,)
    assert updated.secret_key == saved.secret_key
    assert memory_keyring.entries == {(SERVICE_NAME, saved.secret_key): PASSWORD}
    opened = update_address(db, secrets, saved.id, company_draft(all_employees=True), None)
    assert opened.all_employees
    assert opened.allowed_employee_ids == ()
    assert count(db, "SELECT count(*) FROM company_address_employees") == 0


def test_a_missing_allowed_employee_saves_nothing(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord
) -> None:
    with pytest.raises(SaveError, match="selected employee no longer exists"):
        save_new_address(
            db, secrets, company_draft(allowed_employee_ids=(anna.id, anna.id + 50)),
            PASSWORD,
        )

    assert db.company_addresses() == []
    assert memory_keyring.entries == {}


def test_at_most_one_company_default(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    own_default = save_new_address(db, secrets, draft(anna.id, is_default=True), "own")
    first = save_new_address(
        db, secrets, company_draft("info@example.com", is_default=True), "one"
    )
    second = save_new_address(
        db, secrets, company_draft("sales@example.com", is_default=True), "two"
    )

    defaults = {a.email: a.is_default for a in db.company_addresses()}
    assert defaults == {first.email: False, second.email: True}
    # The company default and an employee's default are separate things.
    assert db.get_address(own_default.id) == own_default

    # Making the first one default again through an edit moves the mark back.
    update_address(
        db, secrets, first.id, company_draft("info@example.com", is_default=True), None
    )
    defaults = {a.email: a.is_default for a in db.company_addresses()}
    assert defaults == {first.email: True, second.email: False}


def test_the_database_itself_refuses_two_company_defaults(
    db: Database, secrets: SecretStore
) -> None:
    save_new_address(db, secrets, company_draft("info@example.com", is_default=True), "one")
    save_new_address(db, secrets, company_draft("sales@example.com"), "two")

    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE external_addresses SET is_default = 1"))


def test_the_database_refuses_an_address_with_two_owners(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, company_draft(), PASSWORD)

    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(
            text("UPDATE external_addresses SET employee_id = :e WHERE id = :id"),
            {"e": anna.id, "id": saved.id},
        )
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        conn.execute(text("UPDATE external_addresses SET is_company = 0"))


def test_the_same_company_address_twice_is_refused(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    first = save_new_address(db, secrets, company_draft("Support@Example.com"), PASSWORD)

    with pytest.raises(SaveError, match=r"company already has the address support@example\.c"):
        save_new_address(db, secrets, company_draft("support@example.com"), "other")

    assert len(db.company_addresses()) == 1
    assert memory_keyring.entries == {(SERVICE_NAME, first.secret_key): PASSWORD}


def test_the_same_address_twice_for_one_employee_is_refused(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    save_new_address(db, secrets, draft(anna.id, "a@gmail.com"), PASSWORD)

    with pytest.raises(SaveError, match=r"already has the address A@gmail\.com\. Edit that"):
        save_new_address(db, secrets, draft(anna.id, "A@gmail.com"), PASSWORD)


def test_another_employees_mailbox_is_refused_with_a_way_out(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord,
) -> None:
    first = save_new_address(db, secrets, draft(anna.id, "team@gmail.com"), PASSWORD)

    with pytest.raises(SaveError) as caught:
        save_new_address(db, secrets, draft(bruno.id, "TEAM@gmail.com"), "other")

    message = str(caught.value)
    assert "already an external address of Anna Keller" in message
    assert "only as a company address" in message
    assert "make that address a company address" in message
    assert isinstance(caught.value.__cause__, SharedMailboxError)
    assert isinstance(caught.value.__cause__, DuplicateAddressError)
    assert db.addresses_for_employee(bruno.id) == []
    assert memory_keyring.entries == {(SERVICE_NAME, first.secret_key): PASSWORD}


def test_an_edit_cannot_take_another_employees_mailbox(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, bruno: EmployeeRecord
) -> None:
    save_new_address(db, secrets, draft(anna.id, "team@gmail.com"), PASSWORD)
    own = save_new_address(db, secrets, draft(bruno.id, "bruno@gmail.com"), PASSWORD)

    with pytest.raises(SaveError, match="already an external address of Anna Keller"):
        update_address(db, secrets, own.id, draft(bruno.id, "team@gmail.com"), None)

    assert db.get_address(own.id) == own


def test_an_employee_copy_of_a_company_address_is_refused(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    save_new_address(db, secrets, company_draft("support@example.com"), PASSWORD)

    with pytest.raises(SaveError, match=r"already a company address\..*allow them"):
        save_new_address(db, secrets, draft(anna.id, "support@example.com"), PASSWORD)

    assert db.addresses_for_employee(anna.id) == []


def test_a_company_copy_of_an_employee_address_is_refused(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    save_new_address(db, secrets, draft(anna.id, "team@gmail.com"), PASSWORD)

    with pytest.raises(SaveError, match=r"of Anna Keller\. Edit that address and make it a comp"):
        save_new_address(db, secrets, company_draft("team@gmail.com"), PASSWORD)

    assert db.company_addresses() == []


def test_an_employee_address_becomes_a_company_address(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord,
) -> None:
    """The way out the refusal names: convert, then allow both employees."""
    own = save_new_address(
        db, secrets, draft(anna.id, "team@gmail.com", is_default=True), PASSWORD
    )

    shared = update_address(
        db, secrets, own.id,
        company_draft("team@gmail.com", allowed_employee_ids=(anna.id, bruno.id)), None,
    )

    assert shared.is_company
    assert shared.employee_id is None
    assert not shared.is_default
    assert shared.allowed_employee_ids == tuple(sorted((anna.id, bruno.id)))
    assert shared.secret_key == own.secret_key
    assert db.addresses_for_employee(anna.id) == []
    assert db.company_addresses() == [shared]
    assert memory_keyring.entries == {(SERVICE_NAME, own.secret_key): PASSWORD}


def test_a_company_address_can_become_an_employees_own(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    shared = save_new_address(
        db, secrets, company_draft(allowed_employee_ids=(anna.id,)), PASSWORD
    )

    own = update_address(db, secrets, shared.id, draft(anna.id, "support@example.com"), None)

    assert not own.is_company
    assert own.employee_id == anna.id
    assert own.allowed_employee_ids == ()
    assert db.addresses_for_employee(anna.id) == [own]
    assert count(db, "SELECT count(*) FROM company_address_employees") == 0


def test_an_employee_draft_without_an_employee_is_refused(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring
) -> None:
    with pytest.raises(SaveError, match="Choose the employee"):
        save_new_address(db, secrets, draft(None), PASSWORD)
    assert memory_keyring.entries == {}


def test_removing_a_company_address_removes_its_links(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord,
) -> None:
    shop = db.add_project("Online shop")
    saved = save_new_address(
        db, secrets,
        company_draft(allowed_employee_ids=(anna.id, bruno.id), project_ids=(shop.id,)),
        PASSWORD,
    )

    remove_address(db, secrets, saved.id)

    assert db.company_addresses() == []
    assert count(db, "SELECT count(*) FROM company_address_employees") == 0
    assert count(db, "SELECT count(*) FROM address_projects") == 0
    assert memory_keyring.entries == {}
    assert db.list_employees() == [anna, bruno]
    assert db.list_projects() == [shop]


def test_older_drafts_still_build_employee_addresses(db: Database, anna: EmployeeRecord) -> None:
    """The dialog's positional AddressDraft from before company addresses still works."""
    old_style = AddressDraft(anna.id, "a@gmail.com", "smtp.gmail.com", 465, Security.SSL,
                             "a@gmail.com")

    with db.session() as s:
        record = db.to_record(db.insert_address(s, old_style, "key-old"))

    assert not record.is_company
    assert record.employee_id == anna.id
    assert (record.all_employees, record.allowed_employee_ids) == (False, ())


def test_storage_errors_are_storage_errors() -> None:
    assert issubclass(SharedMailboxError, StorageError)


def test_a_file_from_before_company_addresses_is_named(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE external_addresses (id INTEGER PRIMARY KEY, "
            "employee_id INTEGER NOT NULL, email VARCHAR(320))"
        )
    conn.close()

    with pytest.raises(StorageError, match=r"development build.*all_employees, is_company"):
        Database(path)


def test_all_addresses_lists_own_and_company_addresses(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, bruno: EmployeeRecord
) -> None:
    own = save_new_address(db, secrets, draft(anna.id, "b@gmail.com"), PASSWORD)
    other = save_new_address(db, secrets, draft(bruno.id, "c@gmail.com"), PASSWORD)
    shared = save_new_address(db, secrets, company_draft("a@example.com"), PASSWORD)

    assert db.all_addresses() == [shared, own, other]
