"""Saving and removing OAuth2 addresses: no password, the refresh token kept atomically."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from mailsettings_desktop.core import address_book
from mailsettings_desktop.core.address_book import SaveError, remove_address, save_new_address
from mailsettings_desktop.core.oauth import (
    AccessToken,
    AddressAuth,
    AuthMethod,
    CompanyApps,
    OAuthFlow,
    SignInResult,
    TokenService,
)
from mailsettings_desktop.core.oauth import service as oauth_service
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore, namespaced_key
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database
from tests.conftest import USER
from tests.memory_keyring import LockedKeyring, MemoryKeyring

REFRESH = "refresh-token-of-anna"


def _draft(db: Database, flow: OAuthFlow = OAuthFlow.INTERACTIVE) -> AddressDraft:
    employee = db.add_employee("Anna")
    auth = AddressAuth(AuthMethod.OAUTH2, flow, "ms-sign-in", USER)
    return AddressDraft(employee.id, USER, "127.0.0.1", 587, Security.STARTTLS, USER,
                        provider_key="microsoft365", options=auth.to_options())


def _sign_in() -> SignInResult:
    return SignInResult(USER, AccessToken("access-token-of-anna", time.time() + 3600), REFRESH)


def _tokens(keyring: MemoryKeyring) -> tuple[SecretStore, TokenService]:
    secrets = SecretStore(keyring)
    return secrets, TokenService(secrets, CompanyApps(), {})


def test_namespace_matches_the_token_service() -> None:
    assert address_book.REFRESH_NAMESPACE == oauth_service.REFRESH_NAMESPACE


def test_oauth_address_keeps_its_refresh_token_and_no_password(tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    secrets, tokens = _tokens(keyring)
    db = Database(tmp_path / "db.sqlite3")
    record = save_new_address(db, secrets, _draft(db), "", tokens=tokens, sign_in=_sign_in())
    refresh_key = (SERVICE_NAME, namespaced_key(address_book.REFRESH_NAMESPACE,
                                                record.secret_key))
    assert keyring.entries == {refresh_key: REFRESH}

    remove_address(db, secrets, record.id)
    assert keyring.entries == {}
    assert db.get_address(record.id) is None
    db.close()


def test_refused_refresh_token_saves_nothing(tmp_path: Path) -> None:
    _, tokens = _tokens(LockedKeyring())
    secrets = SecretStore(LockedKeyring())
    db = Database(tmp_path / "db.sqlite3")
    draft = _draft(db)
    with pytest.raises(SaveError, match="locked"):
        save_new_address(db, secrets, draft, "", tokens=tokens, sign_in=_sign_in())
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM external_addresses").scalar() == 0
    db.close()


def test_app_flow_address_needs_no_keyring_entry(tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    secrets, _ = _tokens(keyring)
    db = Database(tmp_path / "db.sqlite3")
    record = save_new_address(db, secrets, _draft(db, OAuthFlow.APP_ONLY), "")
    assert keyring.entries == {}
    remove_address(db, secrets, record.id)
    assert db.get_address(record.id) is None
    db.close()


def test_switching_to_oauth_drops_the_password_and_back(tmp_path: Path) -> None:
    keyring = MemoryKeyring()
    secrets, tokens = _tokens(keyring)
    db = Database(tmp_path / "db.sqlite3")
    draft = _draft(db)
    password_draft = AddressDraft(**{**draft.__dict__, "options": {}})
    record = save_new_address(db, secrets, password_draft, "a password")
    assert secrets.get(record.secret_key) == "a password"

    address_book.update_address(db, secrets, record.id, draft, None, tokens=tokens,
                                sign_in=_sign_in())
    assert secrets.get(record.secret_key) is None
    assert secrets.get_secret(address_book.REFRESH_NAMESPACE, record.secret_key) == REFRESH

    address_book.update_address(db, secrets, record.id, password_draft, "new password")
    assert secrets.get(record.secret_key) == "new password"
    assert secrets.get_secret(address_book.REFRESH_NAMESPACE, record.secret_key) is None
    db.close()
