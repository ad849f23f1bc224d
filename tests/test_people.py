"""Employees and projects: edit, deactivate, and removal that leaves nothing behind."""

from __future__ import annotations

import keyring.errors
import pytest

from mailsettings_desktop.core.address_book import SaveError, save_new_address
from mailsettings_desktop.core.people import remove_employee, remove_project
from mailsettings_desktop.core.records import AddressRecord, EmployeeRecord, ProjectRecord
from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore
from mailsettings_desktop.core.storage import Database, StorageError
from tests.core_helpers import (
    company_draft,
    count,
    draft,
    fail_commit_after,
    foreign_key_problems,
    table_names,
)
from tests.memory_keyring import MemoryKeyring

# Every table and the columns in it that can point at an employee.
EMPLOYEE_COLUMNS = {
    "employees": "id",
    "external_addresses": "employee_id",
    "company_address_employees": "employee_id",
}


@pytest.fixture
def anna(db: Database) -> EmployeeRecord:
    return db.add_employee("Anna Keller", "Sales", "anna@example.com")


@pytest.fixture
def bruno(db: Database) -> EmployeeRecord:
    return db.add_employee("Bruno Diaz", "Support", "bruno@example.com")


@pytest.fixture
def shop(db: Database) -> ProjectRecord:
    return db.add_project("Online shop")


@pytest.fixture
def fair(db: Database) -> ProjectRecord:
    return db.add_project("Trade fair")


# Editing employees and projects -------------------------------------------------------------


def test_update_and_rename_an_employee(db: Database, anna: EmployeeRecord) -> None:
    changed = db.update_employee(anna.id, " Anna Keller-Berg ", "Head of Sales", "ak@example.com")

    assert changed == EmployeeRecord(anna.id, "Anna Keller-Berg", "Head of Sales",
                                     "ak@example.com", True)
    renamed = db.rename_employee(anna.id, "Anna Berg")
    assert renamed == EmployeeRecord(anna.id, "Anna Berg", "Head of Sales", "ak@example.com")
    assert db.get_employee(anna.id) == renamed
    cleared = db.update_employee(anna.id, "Anna Berg", "", "  ")
    assert (cleared.position, cleared.internal_email) == ("", None)


@pytest.mark.parametrize(
    ("name", "position", "email", "message"),
    [
        ("  ", "", None, "needs a name"),
        ("x" * 201, "", None, "name is too long"),
        ("Anna", "p" * 201, None, "position is too long"),
        ("Anna\nKeller", "", None, "on one line"),
        ("Anna", "", "not-an-address", "Internal email: This is not an internal email"),
    ],
)
def test_bad_employee_details_are_refused(
    db: Database, anna: EmployeeRecord, name: str, position: str, email: str | None,
    message: str,
) -> None:
    with pytest.raises(StorageError, match=message):
        db.update_employee(anna.id, name, position, email)
    with pytest.raises(StorageError, match=message):
        db.add_employee(name, position, email)
    assert db.list_employees() == [anna]


def test_editing_a_missing_employee_is_reported(db: Database) -> None:
    for change in (
        lambda: db.update_employee(404, "Nobody", "", None),
        lambda: db.rename_employee(404, "Nobody"),
        lambda: db.set_employee_active(404, False),
        lambda: db.employee_removal_summary(404),
    ):
        with pytest.raises(StorageError, match="employee no longer exists"):
            change()


def test_deactivated_employees_are_hidden_but_keep_their_addresses(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, bruno: EmployeeRecord
) -> None:
    saved = save_new_address(db, secrets, draft(anna.id), "pw")

    inactive = db.set_employee_active(anna.id, False)

    assert not inactive.active
    assert db.list_employees() == [bruno]
    assert db.list_employees(include_inactive=True) == [inactive, bruno]
    assert db.addresses_for_employee(anna.id) == [saved]
    assert db.set_employee_active(anna.id, True).active
    assert db.list_employees() == [db.get_employee(anna.id), bruno]


def test_rename_a_project(db: Database, shop: ProjectRecord, fair: ProjectRecord) -> None:
    renamed = db.rename_project(shop.id, "  Web shop ")

    assert renamed == ProjectRecord(shop.id, "Web shop")
    assert db.list_projects() == [fair, renamed]
    with pytest.raises(StorageError, match="“Trade fair” already exists"):
        db.rename_project(shop.id, "Trade fair")
    with pytest.raises(StorageError, match="needs a name"):
        db.rename_project(shop.id, " ")
    with pytest.raises(StorageError, match="no longer exists"):
        db.rename_project(404, "Ghost")
    assert db.list_projects() == [fair, renamed]


# Removing an employee -----------------------------------------------------------------------


@pytest.fixture
def staffed(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, bruno: EmployeeRecord,
    shop: ProjectRecord, fair: ProjectRecord,
) -> dict[str, AddressRecord]:
    """Anna with two own addresses and a company permission; Bruno with his own things."""
    save = save_new_address
    return {
        "anna_shop": save(db, secrets, draft(anna.id, "anna.shop@gmail.com",
                                             project_ids=(shop.id,)), "anna-1"),
        "anna_default": save(db, secrets, draft(anna.id, "anna@gmail.com",
                                                is_default=True), "anna-2"),
        "bruno": save(db, secrets, draft(bruno.id, "bruno@gmail.com",
                                         project_ids=(shop.id,)), "bruno-1"),
        "support": save(db, secrets, company_draft(
            "support@example.com", allowed_employee_ids=(anna.id, bruno.id),
            project_ids=(fair.id,)), "company-1"),
    }


def test_the_removal_summary_says_what_would_go(
    db: Database, anna: EmployeeRecord, shop: ProjectRecord,
    staffed: dict[str, AddressRecord],
) -> None:
    summary = db.employee_removal_summary(anna.id)

    assert summary.employee == anna
    # Sorted by email, like the address table.
    assert summary.addresses == (staffed["anna_shop"], staffed["anna_default"])
    assert summary.company_addresses == (staffed["support"],)
    assert summary.projects == (shop,)
    # Asking changes nothing.
    assert len(db.addresses_for_employee(anna.id)) == 2


def test_removing_an_employee_leaves_no_orphan_row_and_no_password(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, bruno: EmployeeRecord, shop: ProjectRecord, fair: ProjectRecord,
    staffed: dict[str, AddressRecord],
) -> None:
    removed = remove_employee(db, secrets, anna.id)

    assert removed is not None
    assert {a.id for a in removed.addresses} == {
        staffed["anna_shop"].id, staffed["anna_default"].id
    }
    # Raw SQL on every table that can point at an employee or one of its addresses.
    assert set(EMPLOYEE_COLUMNS) < set(table_names(db))
    for table, column in EMPLOYEE_COLUMNS.items():
        assert count(db, f"SELECT count(*) FROM {table} WHERE {column} = :e", e=anna.id) == 0
    gone_ids = {a.id for a in removed.addresses}
    for table in ("address_projects", "company_address_employees", "external_addresses"):
        column = "id" if table == "external_addresses" else "address_id"
        for address_id in gone_ids:
            assert count(db, f"SELECT count(*) FROM {table} WHERE {column} = :a",
                         a=address_id) == 0
    assert foreign_key_problems(db) == []
    # The keyring holds exactly the passwords of what is left.
    assert memory_keyring.entries == {
        (SERVICE_NAME, staffed["bruno"].secret_key): "bruno-1",
        (SERVICE_NAME, staffed["support"].secret_key): "company-1",
    }
    # Everyone and everything else is untouched.
    assert db.list_employees() == [bruno]
    assert db.list_projects() == [shop, fair]
    assert db.addresses_for_employee(bruno.id) == [staffed["bruno"]]
    support = db.get_address(staffed["support"].id)
    assert support is not None
    assert support.allowed_employee_ids == (bruno.id,)
    assert support.projects == (fair,)
    assert remove_employee(db, secrets, anna.id) is None


def test_an_employee_without_addresses_is_removed(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    summary = remove_employee(db, secrets, anna.id)

    assert summary is not None
    assert (summary.addresses, summary.company_addresses) == ((), ())
    assert db.list_employees(include_inactive=True) == []


def test_a_keyring_failure_removes_nothing(
    db: Database, anna: EmployeeRecord, bruno: EmployeeRecord, shop: ProjectRecord
) -> None:
    class FailsOnSecondDelete(MemoryKeyring):
        """Deletes one password, then the keyring locks: the first must come back."""

        deletes = 0

        def delete_password(self, service: str, username: str) -> None:
            self.deletes += 1
            if self.deletes > 1:
                raise keyring.errors.KeyringLocked("collection is locked")
            super().delete_password(service, username)

    backend = FailsOnSecondDelete()
    store = SecretStore(backend)
    first = save_new_address(db, store, draft(anna.id, "a@gmail.com",
                                              project_ids=(shop.id,)), "one")
    second = save_new_address(db, store, draft(anna.id, "b@gmail.com"), "two")
    shared = save_new_address(db, store, company_draft(allowed_employee_ids=(anna.id,)), "3")
    entries = dict(backend.entries)

    with pytest.raises(SaveError, match=r"KeyringLocked\. The employee was not removed"):
        remove_employee(db, store, anna.id)

    assert backend.entries == entries
    assert db.addresses_for_employee(anna.id) == [first, second]
    assert db.get_address(shared.id) == shared
    assert db.list_employees() == [anna, bruno]


def test_a_failing_commit_puts_every_password_back(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring,
    anna: EmployeeRecord, staffed: dict[str, AddressRecord],
) -> None:
    entries = dict(memory_keyring.entries)
    fail_commit_after(db, "DELETE", "employees")

    with pytest.raises(SaveError, match=r"\(IntegrityError\)\. The employee was not removed\.$"):
        remove_employee(db, secrets, anna.id)

    assert memory_keyring.entries == entries
    assert db.employee_removal_summary(anna.id).addresses == (
        staffed["anna_shop"], staffed["anna_default"]
    )


# Removing a project -------------------------------------------------------------------------


def test_removing_a_project_unlinks_it_everywhere(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, shop: ProjectRecord,
    fair: ProjectRecord, staffed: dict[str, AddressRecord],
) -> None:
    shared = save_new_address(
        db, secrets, company_draft("shop@example.com", all_employees=True,
                                   project_ids=(shop.id, fair.id)), "company-2"
    )
    entries = dict(memory_keyring.entries)

    summary = db.project_removal_summary(shop.id)
    assert summary.project == shop
    assert [a.email for a in summary.addresses] == [
        "anna.shop@gmail.com", "bruno@gmail.com", "shop@example.com"
    ]

    removed = remove_project(db, shop.id)

    assert removed == summary
    assert db.list_projects() == [fair]
    assert count(db, "SELECT count(*) FROM address_projects WHERE project_id = :p",
                 p=shop.id) == 0
    assert foreign_key_problems(db) == []
    # The addresses stay, with their passwords; only the project link is gone.
    kept = db.get_address(staffed["anna_shop"].id)
    assert kept is not None
    assert kept.projects == ()
    reloaded = db.get_address(shared.id)
    assert reloaded is not None
    assert reloaded.projects == (fair,)
    assert memory_keyring.entries == entries
    assert remove_project(db, shop.id) is None
    with pytest.raises(StorageError, match="no longer exists"):
        db.project_removal_summary(shop.id)


def test_a_project_is_not_removed_when_the_commit_fails(
    db: Database, shop: ProjectRecord, staffed: dict[str, AddressRecord]
) -> None:
    fail_commit_after(db, "DELETE", "projects")

    with pytest.raises(SaveError, match="The project was not removed"):
        remove_project(db, shop.id)

    assert shop in db.list_projects()
    assert db.get_address(staffed["anna_shop"].id) == staffed["anna_shop"]
