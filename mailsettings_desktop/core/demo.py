"""The sample company behind `--demo`, so a new admin can try the program without real data.

Only employees and projects are created: an external address needs a password in the
keyring, and sample passwords there would be clutter the admin has to find and remove.
All internal addresses use the reserved domain example.com, which can never reach anyone.
"""

from __future__ import annotations

import logging

from sqlalchemy import func, select

from mailsettings_desktop.core.models import Employee, Project
from mailsettings_desktop.core.storage import Database

log = logging.getLogger(__name__)

DEMO_DOMAIN = "example.com"

# (name, position or department, local part of the internal address)
DEMO_EMPLOYEES: tuple[tuple[str, str, str], ...] = (
    ("Anna Keller", "Managing Director", "anna.keller"),
    ("Bruno Diaz", "Head of Sales", "bruno.diaz"),
    ("Chloé Martin", "Sales — Key Accounts", "chloe.martin"),
    ("Dmitri Volkov", "Sales — Eastern Europe", "dmitri.volkov"),
    ("Eva Lindqvist", "Marketing Manager", "eva.lindqvist"),
    ("Farid Haddad", "Marketing — Events", "farid.haddad"),
    ("Grace O'Neill", "Customer Support Lead", "grace.oneill"),
    ("Hiro Tanaka", "Customer Support", "hiro.tanaka"),
    ("Ines Ferreira", "Accounting", "ines.ferreira"),
    ("Jonas Becker", "IT Administration", "jonas.becker"),
    ("Katarzyna Nowak", "Project Manager", "katarzyna.nowak"),
    ("Liam Walsh", "Office Management", "liam.walsh"),
)

DEMO_PROJECTS: tuple[str, ...] = (
    "Customer newsletter",
    "Trade fair 2026",
    "Online shop",
    "Partner programme",
    "Support mailbox",
)


def fill_demo_company(db: Database) -> bool:
    """Add the sample company to an empty database; leave any other database untouched.

    Returns whether anything was added. Everything goes in one transaction, so a failure
    leaves the database as empty as it was.
    """
    with db.session() as s:
        if s.scalar(select(func.count(Employee.id))) or s.scalar(select(func.count(Project.id))):
            log.info("demo data not loaded: the database already holds data")
            return False
        s.add_all(
            Employee(name=name, position=position, internal_email=f"{local}@{DEMO_DOMAIN}")
            for name, position, local in DEMO_EMPLOYEES
        )
        s.add_all(Project(name=name) for name in DEMO_PROJECTS)
    log.info(
        "demo company loaded: %d employees, %d projects", len(DEMO_EMPLOYEES), len(DEMO_PROJECTS)
    )
    return True
