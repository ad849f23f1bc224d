"""The sending plan: which address an employee uses in each project, for every rule."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft, AddressRecord, ProjectRecord
from mailsettings_desktop.core.routing import ProjectRoute, RouteReason, sending_plan
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.storage import Database, StorageError
from tests.core_helpers import company_draft, draft


@dataclass
class Company:
    db: Database
    secrets: SecretStore
    anna: int
    bruno: int
    chloe: int
    shop: ProjectRecord
    fair: ProjectRecord
    news: ProjectRecord

    def save(self, address: AddressDraft) -> AddressRecord:
        return save_new_address(self.db, self.secrets, address, "pw")

    def route(self, employee_id: int, project: ProjectRecord) -> ProjectRoute:
        return next(r for r in sending_plan(self.db, employee_id) if r.project == project)


@pytest.fixture
def company(db: Database, secrets: SecretStore) -> Company:
    return Company(
        db, secrets,
        anna=db.add_employee("Anna Keller").id,
        bruno=db.add_employee("Bruno Diaz").id,
        chloe=db.add_employee("Chloé Martin").id,
        shop=db.add_project("Online shop"),
        fair=db.add_project("Trade fair"),
        news=db.add_project("Customer newsletter"),
    )


def test_every_project_is_listed_in_name_order(company: Company) -> None:
    plan = sending_plan(company.db, company.anna)

    assert [r.project for r in plan] == [company.news, company.shop, company.fair]
    assert all(r.reason is RouteReason.NONE and r.address is None for r in plan)
    assert all(r.choices == () for r in plan)


def test_the_employees_project_address_wins_over_everything(company: Company) -> None:
    own = company.save(draft(company.anna, "anna.shop@gmail.com", project_ids=(company.shop.id,)))
    company.save(draft(company.anna, "anna@gmail.com", is_default=True))
    company.save(company_draft("shop@example.com", all_employees=True,
                               project_ids=(company.shop.id,)))
    company.save(company_draft("info@example.com", all_employees=True, is_default=True))

    route = company.route(company.anna, company.shop)

    assert route == ProjectRoute(company.shop, own, RouteReason.EMPLOYEE_PROJECT)


def test_a_company_project_address_beats_the_employees_default(company: Company) -> None:
    company.save(draft(company.anna, "anna@gmail.com", is_default=True))
    shared = company.save(company_draft("shop@example.com", all_employees=True,
                                        project_ids=(company.shop.id,)))

    route = company.route(company.anna, company.shop)

    assert (route.address, route.reason) == (shared, RouteReason.COMPANY_PROJECT)


def test_several_company_addresses_leave_the_choice_to_the_employee(company: Company) -> None:
    one = company.save(company_draft("shop@example.com", all_employees=True,
                                     project_ids=(company.shop.id,)))
    two = company.save(company_draft("orders@example.com",
                                     allowed_employee_ids=(company.anna,),
                                     project_ids=(company.shop.id,)))
    company.save(draft(company.anna, "anna@gmail.com", is_default=True))

    route = company.route(company.anna, company.shop)

    assert route.reason is RouteReason.COMPANY_CHOICE
    assert route.address is None
    assert route.choices == (two, one)  # sorted by email
    # Bruno may use only one of them: no choice for him.
    bruno_route = company.route(company.bruno, company.shop)
    assert (bruno_route.address, bruno_route.reason) == (one, RouteReason.COMPANY_PROJECT)


def test_the_employees_default_serves_projects_without_an_address(company: Company) -> None:
    default = company.save(draft(company.anna, "anna@gmail.com", is_default=True))
    company.save(company_draft("info@example.com", all_employees=True, is_default=True))

    route = company.route(company.anna, company.fair)

    assert (route.address, route.reason) == (default, RouteReason.EMPLOYEE_DEFAULT)


def test_the_company_default_comes_last(company: Company) -> None:
    # A non-default own address serves no other project.
    company.save(draft(company.anna, "anna@gmail.com", project_ids=(company.shop.id,)))
    info = company.save(company_draft("info@example.com", all_employees=True,
                                      is_default=True))

    route = company.route(company.anna, company.fair)

    assert (route.address, route.reason) == (info, RouteReason.COMPANY_DEFAULT)


def test_no_address_at_all(company: Company) -> None:
    company.save(draft(company.bruno, "bruno@gmail.com", is_default=True,
                       project_ids=(company.shop.id,)))

    route = company.route(company.anna, company.shop)

    assert route == ProjectRoute(company.shop, None, RouteReason.NONE)


def test_a_company_address_restricted_to_two_employees(company: Company) -> None:
    shared = company.save(company_draft(
        "shop@example.com", allowed_employee_ids=(company.anna, company.bruno),
        project_ids=(company.shop.id,),
    ))
    chloe_default = company.save(draft(company.chloe, "chloe@gmail.com", is_default=True))

    for allowed in (company.anna, company.bruno):
        route = company.route(allowed, company.shop)
        assert (route.address, route.reason) == (shared, RouteReason.COMPANY_PROJECT)
    # Chloé is not on the list, so the next rule applies to her: her own default.
    route = company.route(company.chloe, company.shop)
    assert (route.address, route.reason) == (chloe_default, RouteReason.EMPLOYEE_DEFAULT)


def test_a_restricted_company_default_is_only_for_its_employees(company: Company) -> None:
    info = company.save(company_draft("info@example.com", is_default=True,
                                      allowed_employee_ids=(company.anna,)))

    assert company.route(company.anna, company.fair).address == info
    assert company.route(company.bruno, company.fair).reason is RouteReason.NONE


def test_inactive_employees_keep_their_plan_and_change_no_one_elses(company: Company) -> None:
    own = company.save(draft(company.anna, "anna@gmail.com", project_ids=(company.shop.id,)))
    shared = company.save(company_draft(
        "shop@example.com", allowed_employee_ids=(company.anna, company.bruno),
        project_ids=(company.shop.id, company.fair.id),
    ))
    before = sending_plan(company.db, company.bruno)

    company.db.set_employee_active(company.anna, False)

    # The addresses are kept, so the plan is what it will be when Anna is back.
    route = company.route(company.anna, company.shop)
    assert (route.address, route.reason) == (own, RouteReason.EMPLOYEE_PROJECT)
    fair_route = company.route(company.anna, company.fair)
    assert (fair_route.address, fair_route.reason) == (shared, RouteReason.COMPANY_PROJECT)
    assert sending_plan(company.db, company.bruno) == before


def test_an_unknown_employee_is_reported(company: Company) -> None:
    with pytest.raises(StorageError, match="employee no longer exists"):
        sending_plan(company.db, company.chloe + 100)


def test_every_reason_explains_itself() -> None:
    sentences = [reason.explanation for reason in RouteReason]

    assert len(set(sentences)) == len(RouteReason)
    assert all(s.endswith(".") and s[0].isupper() for s in sentences)
    assert "choose" in RouteReason.COMPANY_CHOICE.explanation
