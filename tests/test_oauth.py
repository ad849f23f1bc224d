"""OAuth2 sign-in end to end at core level, against a fake authorization server and the
fault SMTP server on 127.0.0.1. Nothing reaches a real identity provider: every provider
endpoint is replaced, and a guard refuses any name lookup other than loopback."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from mailsettings_desktop.core.account_check import run_check
from mailsettings_desktop.core.check_result import Category, CheckRequest, CheckResult
from mailsettings_desktop.core.diagnosis import EXPLANATIONS, category_for_oauth_error
from mailsettings_desktop.core.oauth import (
    AddressAuth,
    AppSecret,
    AuthMethod,
    CompanyApp,
    CompanyApps,
    OAuthError,
    OAuthFlow,
    OAuthProvider,
    OAuthTarget,
    SignInAgainError,
    SignInCancelledError,
    SignInState,
    TokenService,
    load_company_apps,
    save_company_apps,
    with_account,
)
from mailsettings_desktop.core.oauth.service import REFRESH_NAMESPACE
from mailsettings_desktop.core.presets import default_presets
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.secrets import SecretStore, namespaced_key
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database
from tests import fault_server as faults
from tests.conftest import USER
from tests.fake_oauth_server import (
    FakeClient,
    FakeOAuthServer,
    FakeServiceAccount,
    follow_redirects,
)
from tests.fault_server import FaultServer
from tests.memory_keyring import MemoryKeyring

# Every test here would fail rather than look up a real provider.
pytestmark = pytest.mark.usefixtures("loopback_only")

TENANT = "contoso"
SIGN_IN_CLIENT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
APP_ONLY_CLIENT = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
APP_ONLY_SECRET = "app-only-client-secret-~Q8"
CERT_CLIENT = "2b3c4d5e-6f70-8192-a3b4-c5d6e7f8091a"
GOOGLE_CLIENT = "123456789-desktop.apps.example.test"
GOOGLE_SECRET = "google-desktop-secret-Xy9"
SERVICE_ACCOUNT = "mailer@company-project.iam.example.test"
TIMEOUT = 5.0



def _rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: rsa.RSAPrivateKey) -> tuple[str, bytes]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def _certificate_pem(key: rsa.RSAPrivateKey) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailsettings app-only")])
    now = time.time()
    import datetime as dt

    start = dt.datetime.fromtimestamp(now - 60, dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + dt.timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return _pem(key)[0] + cert.public_bytes(serialization.Encoding.PEM).decode()


class World:
    """The fake server, the token service on an in-memory keyring, and a mutable clock."""

    def __init__(self, fake: FakeOAuthServer, keyring: MemoryKeyring) -> None:
        self.fake = fake
        self.keyring = keyring
        self.secrets = SecretStore(keyring)
        self.now = time.time()
        self.sa_key = _rsa_key()
        self.cert_key = _rsa_key()
        sa_private, sa_public = _pem(self.sa_key)
        self.sa_json = json.dumps({
            "type": "service_account", "client_email": SERVICE_ACCOUNT,
            "private_key": sa_private, "private_key_id": "kid-1", "client_id": "42",
            "token_uri": "https://oauth2.invalid/token",
        })
        fake.clients = {
            SIGN_IN_CLIENT: FakeClient(SIGN_IN_CLIENT, TENANT),
            APP_ONLY_CLIENT: FakeClient(APP_ONLY_CLIENT, TENANT, secret=APP_ONLY_SECRET),
            CERT_CLIENT: FakeClient(CERT_CLIENT, TENANT, public_key_pem=_pem(self.cert_key)[1]),
            GOOGLE_CLIENT: FakeClient(GOOGLE_CLIENT, "google", secret=GOOGLE_SECRET),
        }
        fake.service_accounts = {SERVICE_ACCOUNT: FakeServiceAccount(SERVICE_ACCOUNT, sa_public)}
        self.apps = CompanyApps((
            CompanyApp("ms-sign-in", "microsoft", OAuthFlow.INTERACTIVE, SIGN_IN_CLIENT,
                       name="Contoso sign-in", tenant=TENANT),
            CompanyApp("ms-app-only", "microsoft", OAuthFlow.APP_ONLY, APP_ONLY_CLIENT,
                       tenant=TENANT, domains=("example.test",)),
            CompanyApp("g-sign-in", "google", OAuthFlow.INTERACTIVE, GOOGLE_CLIENT),
            CompanyApp("g-delegation", "google", OAuthFlow.DELEGATION, "",
                       domains=("example.test",)),
        ))
        self.service = TokenService(self.secrets, self.apps, self.providers(),
                                    clock=lambda: self.now)
        app_secrets = self.service.app_secrets
        app_secrets.put(self.apps.apps[1], AppSecret.CLIENT_SECRET, APP_ONLY_SECRET)
        app_secrets.put(self.apps.apps[2], AppSecret.CLIENT_SECRET, GOOGLE_SECRET)
        app_secrets.put(self.apps.apps[3], AppSecret.SERVICE_ACCOUNT_KEY, self.sa_json)

    def providers(self) -> dict[str, OAuthProvider]:
        fake = self.fake
        result = {}
        for preset in default_presets():
            provider = preset.auth.provider
            if provider is None:
                continue
            if provider.name == "google":
                result[preset.key] = provider.with_endpoints(
                    fake.url("/google/authorize"), fake.url("/google/token"),
                    fake.url("/userinfo"))
            else:
                result[preset.key] = provider.with_endpoints(
                    fake.url("/{tenant}/authorize"), fake.url("/{tenant}/token"))
        return result

    def target(self, flow: OAuthFlow, preset: str = "microsoft365", key: str = "address-1",
               email: str = USER) -> OAuthTarget:
        return OAuthTarget(key, email, preset, AddressAuth(AuthMethod.OAUTH2, flow))


@pytest.fixture
def world(fake_oauth: FakeOAuthServer, memory_keyring: MemoryKeyring) -> World:
    return World(fake_oauth, memory_keyring)




def oauth_request(server: FaultServer, preset: str = "microsoft365", **changes: object
                  ) -> CheckRequest:
    values: dict[str, object] = {
        "email": USER, "username": USER, "password": "", "host": faults.LOOPBACK,
        "port": server.port, "security": Security.STARTTLS, "timeout_seconds": TIMEOUT,
        "provider_key": preset, "auth_method": "oauth2",
    }
    values.update(changes)
    return CheckRequest(**values)  # type: ignore[arg-type]


def sign_in(world: World, ca_file: Path, preset: str = "microsoft365",
            key: str = "address-1") -> OAuthTarget:
    flow, app = world.service.interactive_sign_in(
        preset, USER, open_browser=follow_redirects(ca_file)
    )
    result = flow.run()
    assert result.account == USER and not result.differs_from(USER)
    world.service.keep_sign_in(key, result)
    auth = with_account(AddressAuth(), result, app)
    return OAuthTarget(key, USER, preset, auth)


def assert_explained(result: CheckResult, category: Category) -> None:
    assert result.category is category, result.details()
    assert not result.ok
    assert result.headline == EXPLANATIONS[category].headline
    assert "Traceback" not in result.headline + result.advice


# Interactive sign-in ------------------------------------------------------------------------


def test_interactive_sign_in_then_check(world: World, oauth_smtp: FaultServer,
                                        ca_file: Path) -> None:
    target = sign_in(world, ca_file)
    assert target.auth.app_key == "ms-sign-in" and target.auth.account == USER

    result = run_check(oauth_request(oauth_smtp), token_source=world.service.token_source(target))

    assert result.ok, result.details()
    assert oauth_smtp.log.oauth_users == [USER]
    assert oauth_smtp.log.oauth_mechanisms == ["XOAUTH2"]
    assert world.fake.log.pkce_checked == 1
    params = world.fake.log.authorize_params[0]
    assert params["code_challenge_method"] == "S256" and params["login_hint"] == USER
    assert params["redirect_uri"].startswith("http://127.0.0.1:")
    assert "https://outlook.office.com/SMTP.Send" in params["scope"].split()
    assert "offline_access" in params["scope"].split()
    # The refresh token is in the keyring and nowhere in the address's settings.
    stored = world.keyring.entries[("mailsettings-desktop",
                                    namespaced_key(REFRESH_NAMESPACE, "address-1"))]
    assert stored in world.fake.refresh_tokens()
    assert stored not in json.dumps(target.auth.to_options())
    assert world.service.sign_in_state(target) is SignInState.SIGNED_IN


def test_google_interactive_sign_in_sends_its_client_secret(
        world: World, oauth_smtp: FaultServer, ca_file: Path) -> None:
    target = sign_in(world, ca_file, preset="gmail")
    result = run_check(oauth_request(oauth_smtp, "gmail"),
                       token_source=world.service.token_source(target))
    assert result.ok, result.details()
    params = world.fake.log.authorize_params[0]
    assert params["access_type"] == "offline"
    assert "https://mail.google.com/" in params["scope"].split()


def test_signed_in_account_that_differs_is_reported(world: World, ca_file: Path) -> None:
    world.fake.user = "boss@example.test"
    flow, _ = world.service.interactive_sign_in("microsoft365", USER,
                                                open_browser=follow_redirects(ca_file))
    result = flow.run()
    assert result.account == "boss@example.test"
    assert result.differs_from(USER)
    assert result.refresh_token not in repr(result)
    assert result.access_token.value not in repr(result)


def test_cancel_ends_a_waiting_sign_in_at_once(world: World) -> None:
    opened: list[str] = []
    flow, _ = world.service.interactive_sign_in(
        "microsoft365", USER, open_browser=lambda url: opened.append(url) is None)
    threading.Timer(0.3, flow.cancel).start()
    started = time.monotonic()
    with pytest.raises(SignInCancelledError):
        flow.run()
    assert time.monotonic() - started < 1.5
    assert opened and opened[0] == flow.authorize_url
    # The listener is gone with the sign-in: its port no longer answers.
    assert flow.redirect_uri is not None
    port = int(flow.redirect_uri.rsplit(":", 1)[1].strip("/"))
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_sign_in_time_limit(world: World) -> None:
    flow, _ = world.service.interactive_sign_in(
        "microsoft365", USER, open_browser=lambda url: True, time_limit_seconds=0.5)
    with pytest.raises(OAuthError) as caught:
        flow.run()
    assert caught.value.category is Category.OAUTH_SIGN_IN_TIMEOUT


def test_a_stray_request_to_the_listener_is_not_taken_for_the_answer(
        world: World, ca_file: Path) -> None:
    follow = follow_redirects(ca_file)

    def knock_then_follow(url: str) -> bool:
        flow_port = int(flow.redirect_uri.rsplit(":", 1)[1].strip("/"))  # type: ignore[union-attr]
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(f"http://127.0.0.1:{flow_port}/?code=forged&state=wrong",
                                   timeout=2)
        return follow(url)

    flow, _ = world.service.interactive_sign_in("microsoft365", USER,
                                                open_browser=knock_then_follow)
    assert flow.run().account == USER


def test_declined_consent_in_the_browser_is_explained(world: World, ca_file: Path) -> None:
    world.fake.authorize_error = ("consent_required", "AADSTS65001: The user or "
                                  "administrator has not consented to use the application.")
    flow, _ = world.service.interactive_sign_in("microsoft365", USER,
                                                open_browser=follow_redirects(ca_file))
    with pytest.raises(OAuthError) as caught:
        flow.run()
    assert caught.value.category is Category.OAUTH_CONSENT_REQUIRED
    assert "AADSTS65001" in caught.value.detail()


# Tokens: cache, silent refresh, sign in again ------------------------------------------------


def test_expired_access_token_is_refreshed_silently(world: World, oauth_smtp: FaultServer,
                                                    ca_file: Path) -> None:
    target = sign_in(world, ca_file)
    first = world.service.access_token(target)
    assert world.service.access_token(target) is first  # from the cache, no request
    old_refresh = world.fake.refresh_tokens()

    world.fake.expire_access_tokens()
    world.now += 3600  # the cache now holds an expired token
    result = run_check(oauth_request(oauth_smtp), token_source=world.service.token_source(target))

    assert result.ok, result.details()
    assert world.fake.log.grants.count("refresh_token") == 1
    second = world.service.access_token(target)
    assert second.value != first.value
    # Microsoft-style rotation: the new refresh token replaced the old one in the keyring.
    stored = world.secrets.get_secret(REFRESH_NAMESPACE, target.key)
    assert stored in world.fake.refresh_tokens() and stored not in old_refresh


def test_revoked_refresh_token_asks_to_sign_in_again(world: World, oauth_smtp: FaultServer,
                                                     ca_file: Path) -> None:
    target = sign_in(world, ca_file)
    world.fake.revoke_refresh_tokens()
    world.now += 7200

    result = run_check(oauth_request(oauth_smtp), token_source=world.service.token_source(target))

    assert_explained(result, Category.OAUTH_SIGN_IN_AGAIN)
    assert result.field == "oauth"
    assert "AADSTS70008" in result.details()
    assert oauth_smtp.log.oauth_mechanisms == []  # no token was sent to the mail server
    assert world.service.sign_in_state(target) is SignInState.SIGN_IN_AGAIN
    assert world.secrets.get_secret(REFRESH_NAMESPACE, target.key) is None
    with pytest.raises(SignInAgainError):
        world.service.access_token(target)


def test_address_never_signed_in_asks_to_sign_in(world: World) -> None:
    target = world.target(OAuthFlow.INTERACTIVE, key="address-new")
    assert world.service.sign_in_state(target) is SignInState.SIGN_IN_AGAIN
    with pytest.raises(SignInAgainError) as caught:
        world.service.access_token(target)
    assert caught.value.category is Category.OAUTH_SIGN_IN_AGAIN


# Admin sign-in without the employee ----------------------------------------------------------


def test_microsoft_app_only_with_client_secret(world: World, oauth_smtp: FaultServer) -> None:
    target = world.target(OAuthFlow.APP_ONLY)
    assert world.service.sign_in_state(target) is SignInState.SIGNED_IN
    result = run_check(oauth_request(oauth_smtp), token_source=world.service.token_source(target))
    assert result.ok, result.details()
    assert world.fake.log.grants == ["client_credentials"]
    # One app-only token serves every mailbox of the tenant.
    other = world.target(OAuthFlow.APP_ONLY, key="address-2", email="bob@example.test")
    assert world.service.access_token(other) is world.service.access_token(target)


def test_microsoft_app_only_with_certificate(world: World, oauth_smtp: FaultServer) -> None:
    app = CompanyApp("ms-cert", "microsoft", OAuthFlow.APP_ONLY, CERT_CLIENT, tenant=TENANT,
                     domains=("example.test",), use_certificate=True)
    world.service.apps = CompanyApps((app,))
    world.service.app_secrets.put(app, AppSecret.CERTIFICATE, _certificate_pem(world.cert_key))
    target = world.target(OAuthFlow.APP_ONLY)
    result = run_check(oauth_request(oauth_smtp), token_source=world.service.token_source(target))
    assert result.ok, result.details()
    assert world.fake.log.client_assertions_checked == 1


def test_google_domain_wide_delegation(world: World, oauth_smtp: FaultServer) -> None:
    target = world.target(OAuthFlow.DELEGATION, preset="gmail")
    result = run_check(oauth_request(oauth_smtp, "gmail"),
                       token_source=world.service.token_source(target))
    assert result.ok, result.details()
    assert world.fake.log.jwt_assertions_checked == 1
    assert oauth_smtp.log.oauth_users == [USER]


def test_delegated_token_acts_only_as_its_employee(world: World, oauth_smtp: FaultServer) -> None:
    token = world.service.access_token(
        world.target(OAuthFlow.DELEGATION, preset="gmail", email="bob@example.test"))
    result = run_check(oauth_request(oauth_smtp, "gmail", access_token=token.value))
    assert_explained(result, Category.OAUTH_TOKEN_REFUSED)
    assert '"schemes": "bearer"' in result.server_text  # the 334 error JSON is kept
    assert result.reply_code == 535


# Every OAuth failure, explained ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("flow", "setup", "category"),
    [
        pytest.param(OAuthFlow.APP_ONLY, lambda w: setattr(
            w.fake, "token_error", ("invalid_grant", "AADSTS65001: The user or administrator "
                                    "has not consented to use the application.", 400)),
            Category.OAUTH_CONSENT_REQUIRED, id="consent"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: w.fake.tenants.discard(TENANT),
                     Category.OAUTH_WRONG_TENANT, id="unknown-tenant"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: w.fake.clients.pop(APP_ONLY_CLIENT),
                     Category.OAUTH_CLIENT_REJECTED, id="unknown-client"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: setattr(
            w.fake.clients[APP_ONLY_CLIENT], "disabled", True),
            Category.OAUTH_CLIENT_REJECTED, id="disabled-client"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: setattr(
            w.fake.clients[APP_ONLY_CLIENT], "secret", "rotated-elsewhere"),
            Category.OAUTH_CLIENT_REJECTED, id="wrong-secret"),
        pytest.param(OAuthFlow.DELEGATION, lambda w: setattr(
            w.fake.service_accounts[SERVICE_ACCOUNT], "delegation_allowed", False),
            Category.OAUTH_CONSENT_REQUIRED, id="delegation-not-authorised"),
        pytest.param(OAuthFlow.DELEGATION, lambda w: setattr(
            w.fake.service_accounts[SERVICE_ACCOUNT], "domains", ("other.test",)),
            Category.OAUTH_WRONG_TENANT, id="employee-outside-domain"),
        pytest.param(OAuthFlow.DELEGATION, lambda w: w.fake.service_accounts.pop(
            SERVICE_ACCOUNT), Category.OAUTH_CLIENT_REJECTED, id="service-account-gone"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: setattr(
            w.fake, "token_error", ("temporarily_unavailable", "try later", 503)),
            Category.OAUTH_UNAVAILABLE, id="provider-down"),
        pytest.param(OAuthFlow.APP_ONLY, lambda w: setattr(w.service, "apps", CompanyApps()),
                     Category.OAUTH_NOT_SET_UP, id="no-company-app"),
    ],
)
def test_oauth_failure_is_explained(world: World, oauth_smtp: FaultServer, flow: OAuthFlow,
                                    setup: Callable[[World], object],
                                    category: Category) -> None:
    setup(world)
    preset = "gmail" if flow is OAuthFlow.DELEGATION else "microsoft365"
    target = world.target(flow, preset=preset)
    result = run_check(oauth_request(oauth_smtp, preset),
                       token_source=world.service.token_source(target))
    assert_explained(result, category)
    assert oauth_smtp.log.oauth_mechanisms == []


def test_token_refused_by_the_mail_server(world: World, oauth_smtp: FaultServer) -> None:
    token = world.service.access_token(world.target(OAuthFlow.APP_ONLY))
    world.fake.expire_access_tokens()  # the mail server's view: no longer valid
    result = run_check(oauth_request(oauth_smtp, access_token=token.value))
    assert_explained(result, Category.OAUTH_TOKEN_REFUSED)
    assert result.enhanced_code == "5.7.3"
    assert "SMTP.SendAsApp" in result.advice  # Microsoft 365's own advice
    assert token.value not in result.details() + repr(result)


def test_oauthbearer_when_it_is_all_the_server_offers(world: World, ca: trustme.CA,
                                                      fault_server: type[FaultServer]) -> None:
    server = fault_server(tls_context=faults.trusted_context(ca), auth_mechanisms="OAUTHBEARER",
                          oauth_validator=world.fake.accepts)
    token = world.service.access_token(world.target(OAuthFlow.APP_ONLY))
    result = run_check(oauth_request(server, access_token=token.value))
    assert result.ok, result.details()
    assert server.log.oauth_mechanisms == ["OAUTHBEARER"]


def test_server_without_oauth_mechanism(ca: trustme.CA,
                                        fault_server: type[FaultServer]) -> None:
    server = fault_server(tls_context=faults.trusted_context(ca), auth_mechanisms="PLAIN LOGIN")
    result = run_check(oauth_request(server, access_token="unused-token"))
    assert_explained(result, Category.OAUTH_NOT_OFFERED)
    assert server.log.auth_attempts == 0


def test_cancel_while_fetching_the_token(oauth_smtp: FaultServer) -> None:
    from mailsettings_desktop.core.account_check import CancelToken

    cancel = CancelToken()
    release = threading.Event()

    def slow_source() -> str:
        release.wait(5)
        return "late"

    threading.Timer(0.3, cancel.cancel).start()
    started = time.monotonic()
    result = run_check(oauth_request(oauth_smtp), cancel=cancel, token_source=slow_source)
    release.set()
    assert result.category is Category.CANCELLED
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("error", "description", "provider", "category"),
    [
        ("invalid_grant", "AADSTS65001: consent", "microsoft", Category.OAUTH_CONSENT_REQUIRED),
        ("invalid_request", "AADSTS90002: Tenant not found", "microsoft",
         Category.OAUTH_WRONG_TENANT),
        ("invalid_grant", "AADSTS50020: User account from identity provider does not exist "
         "in tenant", "microsoft", Category.OAUTH_WRONG_TENANT),
        ("unauthorized_client", "AADSTS700016: Application not found", "microsoft",
         Category.OAUTH_CLIENT_REJECTED),
        ("invalid_client", "AADSTS7000215: Invalid client secret", "microsoft",
         Category.OAUTH_CLIENT_REJECTED),
        ("invalid_grant", "AADSTS700082: The refresh token has expired", "microsoft",
         Category.OAUTH_SIGN_IN_AGAIN),
        ("invalid_grant", "Token has been expired or revoked.", "google",
         Category.OAUTH_SIGN_IN_AGAIN),
        ("unauthorized_client", "Client is unauthorized", "google",
         Category.OAUTH_CONSENT_REQUIRED),
        ("access_denied", "", "google", Category.OAUTH_CONSENT_REQUIRED),
        ("something_new", "", "google", Category.OAUTH_PROVIDER_ERROR),
    ],
)
def test_oauth_error_table(error: str, description: str, provider: str,
                           category: Category) -> None:
    assert category_for_oauth_error(error, description, provider) is category


# Secrets: the keyring holds them, the database and the log do not -----------------------------


def test_secrets_only_in_the_keyring(world: World, oauth_smtp: FaultServer, ca_file: Path,
                                     tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    target = sign_in(world, ca_file)
    token = world.service.access_token(target)
    app_only = world.service.access_token(world.target(OAuthFlow.APP_ONLY))
    delegated = world.service.access_token(world.target(OAuthFlow.DELEGATION, "gmail"))
    assert run_check(oauth_request(oauth_smtp),
                     token_source=world.service.token_source(target)).ok
    refresh = world.secrets.get_secret(REFRESH_NAMESPACE, target.key)
    assert refresh

    # The address and the company apps as the GUI saves them.
    db = Database(tmp_path / "company.sqlite3")
    employee = db.add_employee("Anna")
    draft = AddressDraft(employee.id, USER, faults.LOOPBACK, oauth_smtp.port, Security.STARTTLS,
                         USER, provider_key="microsoft365",
                         options=target.auth.to_options())
    with db.session() as s:
        db.insert_address(s, draft, target.key)
    db.close()
    save_company_apps(world.apps, tmp_path / "apps.json")
    assert load_company_apps(tmp_path / "apps.json") == world.apps

    secrets = [refresh, token.value, app_only.value, delegated.value, APP_ONLY_SECRET,
               GOOGLE_SECRET, json.loads(world.sa_json)["private_key"].splitlines()[1]]
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert USER.encode() in stored  # the files were written and are readable
    for secret in secrets:
        assert secret.encode() not in stored
        assert secret not in caplog.text
    # Every long-lived secret is in the keyring.
    kept = set(world.keyring.entries.values())
    assert {refresh, APP_ONLY_SECRET, GOOGLE_SECRET, world.sa_json} <= kept
    assert token.value not in kept and app_only.value not in kept


def test_address_auth_round_trips_in_options() -> None:
    auth = AddressAuth(AuthMethod.OAUTH2, OAuthFlow.DELEGATION, "g-delegation", USER)
    options = auth.to_options({"other": 1})
    assert options["other"] == 1
    assert AddressAuth.from_options(json.loads(json.dumps(options))) == auth
    assert AddressAuth.from_options({}).method is AuthMethod.PASSWORD
    assert AddressAuth.from_options({"auth": {"method": "carrier-pigeon"}}) == AddressAuth()


def test_presets_say_which_sign_in_methods_they_support() -> None:
    presets = {p.key: p for p in default_presets()}
    for key in ("outlook", "microsoft365"):
        assert presets[key].auth.default is AuthMethod.OAUTH2
        assert set(presets[key].auth.methods) == {AuthMethod.OAUTH2, AuthMethod.PASSWORD}
    assert set(presets["gmail"].auth.methods) == {AuthMethod.OAUTH2, AuthMethod.PASSWORD}
    assert presets["yahoo"].auth.methods == (AuthMethod.PASSWORD,)
    m365 = presets["microsoft365"].auth.provider
    assert m365 is not None
    assert m365.scopes[:2] == ("https://outlook.office.com/SMTP.Send", "offline_access")
    assert m365.app_only_scopes == ("https://outlook.office365.com/.default",)
    assert m365.token_url("contoso") == (
        "https://login.microsoftonline.com/contoso/oauth2/v2.0/token")
    google = presets["gmail"].auth.provider
    assert google is not None and "https://mail.google.com/" in google.scopes
    assert replace(google).with_endpoints("https://127.0.0.1:1/a", "https://127.0.0.1:1/t"
                                          ).token_url() == "https://127.0.0.1:1/t"


