"""Make a company-sized database for the benchmark: employees, addresses and projects.

`python bench/generate.py PATH [--scale S]` writes 50,000 employees, 150,000 external
addresses and 2,000 projects at scale 1 (CI uses a small scale). The schema comes from the
program itself (`Database(path)` creates it), so the file is exactly what the program
opens; the rows go in with SQLAlchemy Core `executemany` inserts inside one transaction,
which is what makes a 200,000-row file take seconds rather than minutes.

No keyring entries are written: the UI figures never read a password, and the Test all
figure builds its own small database with passwords in an in-memory keyring.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mailsettings_desktop.core.models import (  # noqa: E402
    Employee,
    ExternalAddress,
    Project,
    address_projects,
)
from mailsettings_desktop.core.storage import Database  # noqa: E402

log = logging.getLogger(__name__)

FULL_EMPLOYEES = 50_000
FULL_ADDRESSES = 150_000
FULL_PROJECTS = 2_000
# Rows per executemany batch: large enough to amortise the statement, small enough that
# a batch's parameter list stays a few megabytes.
BATCH = 10_000

_FIRST = (
    "Anna", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Katarzyna", "Liam", "Mia", "Noah", "Olga", "Pavel", "Quentin", "Rosa", "Sven", "Tara",
    "Ugo", "Vera", "Wim", "Xenia", "Yusuf", "Zoë", "Aleksei", "Beatriz", "Carlos", "Dana",
    "Emil", "Fatima", "Gustav", "Hanna", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nadia",
)
_LAST = (
    "Keller", "Diaz", "Martin", "Volkov", "Lindqvist", "Haddad", "O'Neill", "Tanaka",
    "Ferreira", "Becker", "Nowak", "Walsh", "Schmidt", "Rossi", "Novak", "Jensen", "Kowalski",
    "Müller", "García", "Ivanova", "Petrov", "Dubois", "Moreau", "Larsen", "Nielsen",
    "Sato", "Kim", "Nguyen", "Silva", "Costa", "Horvath", "Popescu", "Yilmaz", "Smirnova",
)
_POSITIONS = (
    "Sales", "Sales — Key Accounts", "Marketing", "Customer Support", "Accounting",
    "IT Administration", "Project Manager", "Office Management", "Logistics", "Purchasing",
    "Human Resources", "Legal", "Engineering", "Quality Assurance", "Warehouse",
)
_PROVIDERS = (
    ("gmail", "smtp.gmail.com", 465, "ssl"),
    ("microsoft365", "smtp.office365.com", 587, "starttls"),
    ("yandex", "smtp.yandex.ru", 465, "ssl"),
    ("custom", "mail.example.test", 587, "starttls"),
)


@dataclass(frozen=True)
class Sizes:
    employees: int
    addresses: int
    projects: int

    @classmethod
    def at_scale(cls, scale: float) -> Sizes:
        def scaled(full: int) -> int:
            return max(1, round(full * scale))

        return cls(scaled(FULL_EMPLOYEES), scaled(FULL_ADDRESSES), scaled(FULL_PROJECTS))


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _employees(rng: random.Random, count: int) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        # The number keeps names distinct enough that a typed name narrows the list.
        yield {
            "id": number,
            "name": f"{first} {last} {number}",
            "position": rng.choice(_POSITIONS),
            "internal_email": f"employee{number}@example.com",
            "active": True,
        }


def _projects(count: int) -> Iterator[dict[str, Any]]:
    for number in range(1, count + 1):
        yield {"id": number, "name": f"Project {number:05d}"}


def _addresses(
    rng: random.Random, sizes: Sizes, now: datetime
) -> Iterator[dict[str, Any]]:
    for number in range(1, sizes.addresses + 1):
        # Round-robin owners: every employee gets addresses/employees of them, and the
        # first address of each employee is its default.
        employee_id = (number - 1) % sizes.employees + 1
        provider, host, port, security = rng.choice(_PROVIDERS)
        email = f"sender{number}@example.test"
        yield {
            "id": number,
            "employee_id": employee_id,
            "is_company": False,
            "all_employees": False,
            "email": email,
            "sender_name": f"Sender {number}",
            "provider_key": provider,
            "host": host,
            "port": port,
            "security": security,
            "username": email,
            "timeout_seconds": 20,
            "reply_to": "",
            "is_default": number <= sizes.employees,
            "options": {},
            "secret_key": f"bench-{number:08d}",
            "trusted_cert_sha256": None,
            "created_at": now,
            "updated_at": now,
            "last_test_ok": None,
            "last_test_summary": "",
            "last_tested_at": None,
        }


def _address_links(rng: random.Random, sizes: Sizes) -> Iterator[dict[str, Any]]:
    """Up to two projects per address; an employee's addresses never share a project."""
    for number in range(1, sizes.addresses + 1):
        turn, employee_index = divmod(number - 1, sizes.employees)
        # Each turn of the round-robin starts three projects further on, so one
        # employee's addresses (one per turn) never serve the same project.
        first = employee_index * 7 + turn * 3
        for offset in range(rng.randint(0, 2)):
            yield {"address_id": number, "project_id": (first + offset) % sizes.projects + 1}


def generate(path: Path, sizes: Sizes, seed: int = 5) -> Sizes:
    """Create `path` (which must not exist yet) and fill it; returns what was written."""
    if path.exists():
        raise FileExistsError(f"{path} exists; the generator only writes new files")
    rng = random.Random(seed)
    now = datetime(2026, 1, 5, 9, 0, 0)
    db = Database(path)
    try:
        with db.engine.begin() as conn:
            for table, rows in (
                (Employee.__table__, _employees(rng, sizes.employees)),
                (Project.__table__, _projects(sizes.projects)),
                (ExternalAddress.__table__, _addresses(rng, sizes, now)),
                (address_projects, _unique_links(_address_links(rng, sizes))),
            ):
                for batch in _batches(rows):
                    conn.execute(insert(table), batch)
    finally:
        db.close()
    return sizes


def generate_test_all(path: Path, count: int, host: str, port: int) -> None:
    """A small database of `count` STARTTLS addresses on one local test server.

    One address per employee, so the Test all window names each failure's owner.
    """
    if path.exists():
        raise FileExistsError(f"{path} exists; the generator only writes new files")
    rng = random.Random(count)
    now = datetime(2026, 1, 5, 9, 0, 0)
    sizes = Sizes(employees=count, addresses=count, projects=1)
    addresses = []
    for row in _addresses(rng, sizes, now):
        row.update(provider_key="custom", host=host, port=port, security="starttls",
                   timeout_seconds=20)
        addresses.append(row)
    db = Database(path)
    try:
        with db.engine.begin() as conn:
            conn.execute(insert(Employee.__table__), list(_employees(rng, count)))
            conn.execute(insert(ExternalAddress.__table__), addresses)
    finally:
        db.close()


def _unique_links(links: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    seen: set[tuple[int, int]] = set()
    for link in links:
        key = (link["address_id"], link["project_id"])
        if key not in seen:
            seen.add(key)
            yield link


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path, help="the SQLite file to create")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="fraction of the full size (1.0: 50,000 employees)")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    sizes = generate(args.path, Sizes.at_scale(args.scale), args.seed)
    print(
        f"{args.path}: {sizes.employees} employees, {sizes.addresses} addresses, "
        f"{sizes.projects} projects in {time.perf_counter() - started:.1f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
