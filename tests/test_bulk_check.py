"""Test all: many saved addresses re-tested at once against real local servers."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.bulk_check import BulkCancel, run_bulk_check
from mailsettings_desktop.core.check_result import Category, CheckResult
from mailsettings_desktop.core.records import AddressDraft, AddressRecord
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database
from tests.conftest import PASSWORD, USER
from tests.smtp_server import LocalSmtpServer


def _save(db: Database, secrets: SecretStore, port: int, count: int,
          password: str = PASSWORD) -> list[AddressRecord]:
    records = []
    for n in range(count):
        employee = db.add_employee(f"Employee {n}")
        # Each employee has a mailbox of their own; all sign in as the server's one user.
        draft = AddressDraft(employee.id, f"{password[:5]}{n}@example.test", "127.0.0.1",
                             port, Security.SSL, USER, timeout_seconds=10)
        records.append(save_new_address(db, secrets, draft, password))
    return records


@pytest.fixture
def silent_port() -> Iterator[int]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    yield listener.getsockname()[1]
    listener.close()


def test_every_address_is_checked_and_stamped(
    db: Database, secrets: SecretStore, ssl_server: LocalSmtpServer
) -> None:
    records = _save(db, secrets, ssl_server.port, 6)
    wrong = _save(db, secrets, ssl_server.port, 1, password="wrong-one")
    seen: list[tuple[int, CheckResult]] = []
    lock = threading.Lock()

    def collect(record: AddressRecord, result: CheckResult) -> None:
        with lock:
            seen.append((record.id, result))

    summary = run_bulk_check(db, secrets, records + wrong, collect, concurrency=3)
    assert (summary.total, summary.checked, summary.failed) == (7, 7, 1)
    assert sorted(i for i, _ in seen) == sorted(r.id for r in records + wrong)
    for record in records:
        stored = db.get_address(record.id)
        assert stored is not None and stored.last_test is not None and stored.last_test.ok
    failed = db.get_address(wrong[0].id)
    assert failed is not None and failed.last_test is not None
    assert not failed.last_test.ok


def test_missing_password_is_reported_not_crashing(
    db: Database, secrets: SecretStore, ssl_server: LocalSmtpServer
) -> None:
    [record] = _save(db, secrets, ssl_server.port, 1)
    secrets.delete(record.secret_key)
    results: list[CheckResult] = []
    run_bulk_check(db, secrets, [record], lambda _r, res: results.append(res))
    assert not results[0].ok
    assert "missing from the keyring" in results[0].headline


def test_cancel_stops_the_run_promptly(
    db: Database, secrets: SecretStore, silent_port: int
) -> None:
    records = _save(db, secrets, silent_port, 20)
    cancel = BulkCancel()
    results: list[CheckResult] = []

    def collect(_record: AddressRecord, result: CheckResult) -> None:
        results.append(result)

    timer = threading.Timer(0.5, cancel.cancel)
    timer.start()
    started = time.monotonic()
    summary = run_bulk_check(db, secrets, records, collect, concurrency=4, cancel=cancel)
    assert time.monotonic() - started < 2.0
    assert summary.cancelled
    assert len(results) == 4  # only the running ones end; the rest never start
    assert all(r.category is Category.CANCELLED for r in results)
    assert all(db.get_address(r.id).last_test is None for r in records)  # type: ignore[union-attr]


def test_missing_password_advice_fits_a_missing_password(
    db: Database, secrets: SecretStore, ssl_server: LocalSmtpServer
) -> None:
    [record] = _save(db, secrets, ssl_server.port, 1)
    secrets.delete(record.secret_key)
    results: list[CheckResult] = []

    run_bulk_check(db, secrets, [record], lambda _r, res: results.append(res))

    [result] = results
    assert result.headline == "The password of this address is missing from the keyring."
    assert result.advice == (
        "Edit the address and enter its password again; it is missing from this computer's "
        "keyring, for example after moving to a new computer."
    )
    assert result.field == "password"
    assert "server" not in result.advice + result.headline  # there was no server reply
    assert ssl_server.mailbox.auth_attempts == []  # no sign-in was tried
    stored = db.get_address(record.id)
    assert stored is not None and stored.last_test is None  # nothing was tested


def test_an_unusable_keyring_is_not_read_at_all(
    db: Database, secrets: SecretStore, ssl_server: LocalSmtpServer
) -> None:
    import keyring.backends.fail

    records = _save(db, secrets, ssl_server.port, 3)
    results: list[CheckResult] = []
    broken = SecretStore(keyring.backends.fail.Keyring())
    summary = run_bulk_check(db, broken, records, lambda _r, res: results.append(res))
    assert summary.failed == 3
    assert all("cannot be read from the keyring" in r.headline for r in results)
    assert ssl_server.mailbox.auth_attempts == []
