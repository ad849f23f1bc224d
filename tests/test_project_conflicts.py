"""One project, one address per employee: conflicts are reported, or the project is moved."""

from __future__ import annotations

import pytest

from mailsettings_desktop.core.address_book import SaveError, save_new_address, update_address
from mailsettings_desktop.core.records import EmployeeRecord, ProjectRecord
from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore
from mailsettings_desktop.core.storage import Database, ProjectConflictError
from tests.core_helpers import company_draft, count, draft
from tests.memory_keyring import MemoryKeyring

PASSWORD = "project-routing ✓ 77"


@pytest.fixture
def anna(db: Database) -> EmployeeRecord:
    return db.add_employee("Anna Keller")


@pytest.fixture
def shop(db: Database) -> ProjectRecord:
    return db.add_project("Online shop")


@pytest.fixture
def fair(db: Database) -> ProjectRecord:
    return db.add_project("Trade fair")


def test_conflicts_name_the_other_address(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, shop: ProjectRecord,
    fair: ProjectRecord,
) -> None:
    first = save_new_address(
        db, secrets, draft(anna.id, "a@gmail.com", project_ids=(shop.id,)), PASSWORD
    )

    conflicts = db.project_conflicts(anna.id, [shop.id, fair.id])

    assert conflicts == {shop.id: first}
    # The address being edited does not conflict with itself.
    assert db.project_conflicts(anna.id, [shop.id], exclude_address_id=first.id) == {}
    assert db.project_conflicts(anna.id, []) == {}


def test_a_conflicting_project_is_refused_and_nothing_saved(
    db: Database, secrets: SecretStore, memory_keyring: MemoryKeyring, anna: EmployeeRecord,
    shop: ProjectRecord, fair: ProjectRecord,
) -> None:
    first = save_new_address(
        db, secrets, draft(anna.id, "a@gmail.com", project_ids=(shop.id,)), PASSWORD
    )

    with pytest.raises(SaveError) as caught:
        save_new_address(
            db, secrets, draft(anna.id, "b@gmail.com", project_ids=(shop.id, fair.id)), "pw"
        )

    assert "“Online shop” is already sent from a@gmail.com" in str(caught.value)
    assert "move the project" in str(caught.value)
    assert caught.value.conflicts == {shop.id: first}
    assert isinstance(caught.value.__cause__, ProjectConflictError)
    assert caught.value.__cause__.conflicts == {shop.id: first}
    assert db.addresses_for_employee(anna.id) == [first]
    assert memory_keyring.entries == {(SERVICE_NAME, first.secret_key): PASSWORD}


def test_other_errors_carry_no_conflicts(
    db: Database, secrets: SecretStore, anna: EmployeeRecord
) -> None:
    save_new_address(db, secrets, draft(anna.id), PASSWORD)
    with pytest.raises(SaveError) as caught:
        save_new_address(db, secrets, draft(anna.id), PASSWORD)
    assert caught.value.conflicts == {}


def test_moving_a_project_to_a_new_address(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, shop: ProjectRecord,
    fair: ProjectRecord,
) -> None:
    first = save_new_address(
        db, secrets, draft(anna.id, "a@gmail.com", project_ids=(shop.id, fair.id)), PASSWORD
    )

    second = save_new_address(
        db, secrets,
        draft(anna.id, "b@gmail.com", project_ids=(shop.id,), move_projects=True), "pw",
    )

    assert second.projects == (shop,)
    moved_from = db.get_address(first.id)
    assert moved_from is not None
    assert moved_from.projects == (fair,)
    assert count(db, "SELECT count(*) FROM address_projects WHERE project_id = :p",
                 p=shop.id) == 1


def test_moving_a_project_while_editing(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, shop: ProjectRecord,
    fair: ProjectRecord,
) -> None:
    first = save_new_address(
        db, secrets, draft(anna.id, "a@gmail.com", project_ids=(shop.id,)), PASSWORD
    )
    second = save_new_address(
        db, secrets, draft(anna.id, "b@gmail.com", project_ids=(fair.id,)), "pw"
    )

    with pytest.raises(SaveError, match=r"already sent from a@gmail\.com"):
        update_address(
            db, secrets, second.id,
            draft(anna.id, "b@gmail.com", project_ids=(fair.id, shop.id)), None,
        )
    unchanged = db.get_address(second.id)
    assert unchanged is not None
    assert unchanged.projects == (fair,)

    moved = update_address(
        db, secrets, second.id,
        draft(anna.id, "b@gmail.com", project_ids=(fair.id, shop.id), move_projects=True),
        None,
    )

    assert moved.projects == (shop, fair)
    emptied = db.get_address(first.id)
    assert emptied is not None
    assert emptied.projects == ()
    # Saving the same projects again is no conflict with itself.
    again = update_address(
        db, secrets, second.id, draft(anna.id, "b@gmail.com", project_ids=(shop.id,)), None
    )
    assert again.projects == (shop,)


def test_other_employees_and_company_addresses_do_not_conflict(
    db: Database, secrets: SecretStore, anna: EmployeeRecord, shop: ProjectRecord
) -> None:
    bruno = db.add_employee("Bruno Diaz")
    save_new_address(db, secrets, draft(bruno.id, "b@gmail.com", project_ids=(shop.id,)), "1")
    save_new_address(
        db, secrets, company_draft("one@example.com", project_ids=(shop.id,)), "2"
    )
    # Two company addresses for one project: the employee will choose between them.
    save_new_address(
        db, secrets, company_draft("two@example.com", project_ids=(shop.id,)), "3"
    )

    own = save_new_address(
        db, secrets, draft(anna.id, "a@gmail.com", project_ids=(shop.id,)), PASSWORD
    )

    assert own.projects == (shop,)
    assert db.project_conflicts(anna.id, [shop.id], exclude_address_id=own.id) == {}
