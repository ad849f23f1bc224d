"""Test all with addresses that sign in with OAuth2: tokens from the token service, never a
password from the keyring. Against the fake authorization server and the fault SMTP server
on 127.0.0.1; the name-lookup guard of tests/test_oauth.py keeps every request local."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from mailsettings_desktop.core.account_check import CancelToken
from mailsettings_desktop.core.bulk_check import (
    SIGN_IN_AGAIN_ADVICE,
    check_saved_address,
    run_bulk_check,
)
from mailsettings_desktop.core.check_result import Category, CheckResult
from mailsettings_desktop.core.diagnosis import EXPLANATIONS
from mailsettings_desktop.core.oauth import (
    AddressAuth,
    AuthMethod,
    OAuthFlow,
    SignInState,
    TokenService,
)
from mailsettings_desktop.core.records import AddressDraft, AddressRecord
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database
from tests import fault_server as faults
from tests.conftest import PASSWORD, USER
from tests.fake_oauth_server import FakeOAuthServer
from tests.fault_server import FaultServer
from tests.memory_keyring import MemoryKeyring
from tests.smtp_server import LocalSmtpServer
from tests.test_oauth import World, sign_in

# Every test here would fail rather than look up a real provider.
pytestmark = pytest.mark.usefixtures("loopback_only")



@pytest.fixture
def world(fake_oauth: FakeOAuthServer, memory_keyring: MemoryKeyring) -> World:
    return World(fake_oauth, memory_keyring)



def _save_oauth(db: Database, port: int, auth: AddressAuth, preset: str = "microsoft365",
                email: str = USER, key: str | None = None) -> AddressRecord:
    """An OAuth2 address as the dialog saves it: `options["auth"]`, no password entry."""
    employee = db.add_employee(f"Owner of {key or auth.flow.value}")
    draft = AddressDraft(employee.id, email, faults.LOOPBACK, port, Security.STARTTLS, email,
                         provider_key=preset, timeout_seconds=10,
                         options=auth.to_options())
    with db.session() as s:
        row = db.insert_address(s, draft, key or f"address-{auth.flow.value}")
        return db.to_record(row)


def _save_password(db: Database, secrets: SecretStore, port: int) -> AddressRecord:
    employee = db.add_employee("Password owner")
    draft = AddressDraft(employee.id, "pw@example.test", "127.0.0.1", port, Security.SSL,
                         USER, timeout_seconds=10)
    with db.session() as s:
        row = db.insert_address(s, draft, "address-password")
        record = db.to_record(row)
    secrets.store(record.secret_key, PASSWORD)
    return record


class ReadCountingKeyring(MemoryKeyring):
    """Counts which keys were read, to show that no password is read for OAuth2."""

    def __init__(self, inner: MemoryKeyring) -> None:
        super().__init__()
        self.entries = inner.entries
        self.read: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.read.append(username)
        return super().get_password(service, username)


def _run(db: Database, secrets: SecretStore, records: list[AddressRecord],
         tokens: TokenService) -> dict[int, CheckResult]:
    results: dict[int, CheckResult] = {}
    lock = threading.Lock()

    def collect(record: AddressRecord, result: CheckResult) -> None:
        with lock:
            results[record.id] = result

    run_bulk_check(db, secrets, records, collect, concurrency=3, tokens=tokens)
    return results


def test_oauth_addresses_are_tested_with_tokens_beside_password_ones(
    db: Database, world: World, oauth_smtp: FaultServer, ssl_server: LocalSmtpServer,
    ca_file: Path,
) -> None:
    signed_in = sign_in(world, ca_file, key="address-signed-in")
    interactive = _save_oauth(db, oauth_smtp.port, signed_in.auth, key="address-signed-in")
    port = oauth_smtp.port
    app_only = _save_oauth(db, port, AddressAuth(AuthMethod.OAUTH2, OAuthFlow.APP_ONLY))
    delegated = _save_oauth(db, port, AddressAuth(AuthMethod.OAUTH2, OAuthFlow.DELEGATION),
                            preset="gmail")
    secrets = SecretStore(ReadCountingKeyring(world.keyring))
    password = _save_password(db, secrets, ssl_server.port)
    records = [interactive, app_only, delegated, password]

    results = _run(db, secrets, records, world.service)

    assert all(results[r.id].ok for r in records), {
        r.email: results[r.id].details() for r in records if not results[r.id].ok
    }
    assert sorted(oauth_smtp.log.oauth_users) == [USER, USER, USER]
    for record in records:
        stored = db.get_address(record.id)
        assert stored is not None and stored.last_test is not None and stored.last_test.ok
    # Only the password address's own entry was read as a password.
    backend = secrets.backend
    assert isinstance(backend, ReadCountingKeyring)
    oauth_keys = {interactive.secret_key, app_only.secret_key, delegated.secret_key}
    assert password.secret_key in backend.read
    assert not oauth_keys & set(backend.read)


def test_a_revoked_grant_says_sign_in_again(
    db: Database, world: World, oauth_smtp: FaultServer, ca_file: Path
) -> None:
    target = sign_in(world, ca_file, key="address-revoked")
    record = _save_oauth(db, oauth_smtp.port, target.auth, key="address-revoked")
    world.fake.revoke_refresh_tokens()
    world.service.cache.clear()  # as after a restart: only the refresh token is left

    result = _run(db, world.secrets, [record], world.service)[record.id]

    assert result.category is Category.OAUTH_SIGN_IN_AGAIN, result.details()
    assert result.headline == EXPLANATIONS[Category.OAUTH_SIGN_IN_AGAIN].headline
    assert result.advice == SIGN_IN_AGAIN_ADVICE
    assert result.field == "oauth"
    assert "AADSTS70008" in result.details()
    assert oauth_smtp.log.oauth_mechanisms == []  # no token reached the mail server
    assert world.service.sign_in_state(target) is SignInState.SIGN_IN_AGAIN
    stored = db.get_address(record.id)
    assert stored is not None and stored.last_test is not None
    assert not stored.last_test.ok
    assert stored.last_test.summary == result.headline


def test_an_address_that_never_signed_in_says_sign_in_again(
    db: Database, world: World, oauth_smtp: FaultServer
) -> None:
    auth = AddressAuth(AuthMethod.OAUTH2, OAuthFlow.INTERACTIVE, app_key="ms-sign-in")
    record = _save_oauth(db, oauth_smtp.port, auth, key="address-never")

    result = _run(db, world.secrets, [record], world.service)[record.id]

    assert result.category is Category.OAUTH_SIGN_IN_AGAIN, result.details()
    assert result.advice == SIGN_IN_AGAIN_ADVICE


def test_without_a_token_service_an_oauth_address_is_not_read_as_a_password(
    db: Database, memory_keyring: MemoryKeyring, oauth_smtp: FaultServer
) -> None:
    """The old call, without `tokens`, still works and says why it could not test."""
    record = _save_oauth(db, oauth_smtp.port, AddressAuth(AuthMethod.OAUTH2, OAuthFlow.APP_ONLY))
    secrets = SecretStore(ReadCountingKeyring(memory_keyring))

    result = check_saved_address(db, secrets, record, CancelToken())

    assert not result.ok
    assert "signs in with Microsoft or Google" in result.headline
    assert "missing" not in result.headline
    assert result.advice == "Edit the address and click Test account there."
    assert result.field == "oauth"
    assert oauth_smtp.log.oauth_mechanisms == []
    assert secrets.backend.read == []  # type: ignore[attr-defined]
    stored = db.get_address(record.id)
    assert stored is not None and stored.last_test is None  # nothing was tested


@pytest.mark.parametrize("flow", [OAuthFlow.APP_ONLY, OAuthFlow.INTERACTIVE])
def test_a_keyring_that_fails_during_the_token_fetch_is_named(
    db: Database, world: World, oauth_smtp: FaultServer, flow: OAuthFlow
) -> None:
    class BrokenKeyring(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise RuntimeError("the keyring daemon went away")

    app_key = "ms-sign-in" if flow is OAuthFlow.INTERACTIVE else ""
    auth = AddressAuth(AuthMethod.OAUTH2, flow, app_key=app_key)
    record = _save_oauth(db, oauth_smtp.port, auth)
    tokens = TokenService(SecretStore(BrokenKeyring()), world.apps, world.providers())

    result = _run(db, world.secrets, [record], tokens)[record.id]

    assert not result.ok
    assert result.headline.startswith("The keyring could not be read: RuntimeError: the "
                                      "keyring daemon went away.")
    assert "Once the keyring works again" in result.advice
