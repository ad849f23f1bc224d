"""OAuth2 sign-in through the GUI, driven as an admin would drive it.

Everything runs on 127.0.0.1: the fake authorization server stands in for Microsoft and
Google, the fault SMTP server accepts XOAUTH2 only with a token the fake issued, and the
system browser is replaced by a function that follows the authorize URL to the redirect.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QTableView,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.diagnosis import EXPLANATIONS
from mailsettings_desktop.core.oauth import (
    CompanyApp,
    CompanyApps,
    OAuthFlow,
    OAuthProvider,
    TokenService,
)
from mailsettings_desktop.core.oauth.service import REFRESH_NAMESPACE
from mailsettings_desktop.core.presets import default_presets
from mailsettings_desktop.core.records import AddressRecord
from mailsettings_desktop.core.secrets import SERVICE_NAME, namespaced_key
from mailsettings_desktop.ui.company_apps_window import CompanyAppsWindow, open_company_apps_window
from mailsettings_desktop.ui.main_window import MainWindow
from mailsettings_desktop.ui.oauth_support import company_apps_path, sign_in_runner
from tests.conftest import USER
from tests.fake_oauth_server import (
    FakeClient,
    FakeOAuthServer,
    FakeServiceAccount,
    follow_redirects,
)
from tests.fault_server import FaultServer
from tests.gui_helpers import (
    child,
    choose,
    click_row,
    open_dialog,
    run_test,
    status_text,
    type_into,
)
from tests.memory_keyring import MemoryKeyring
from tests.test_oauth import _pem, _rsa_key

# Every test here would fail rather than look up a real provider.
pytestmark = pytest.mark.usefixtures("loopback_only")

TENANT = "contoso.onmicrosoft.com"  # the tenant's domain, as an admin may enter it
SIGN_IN_CLIENT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
APP_ONLY_CLIENT = "1a2b3c4d-5e6f-7081-92a3-b4c5d6e7f809"
APP_ONLY_SECRET = "app-only-client-secret-~Q8"
GOOGLE_CLIENT = "123456789-desktop.apps.example.test"
GOOGLE_SECRET = "google-desktop-secret-Xy9"
SERVICE_ACCOUNT = "mailer@company-project.iam.example.test"
OTHER_USER = "bob@example.test"




def fake_providers(fake: FakeOAuthServer) -> dict[str, OAuthProvider]:
    result = {}
    for preset in default_presets():
        provider = preset.auth.provider
        if provider is None:
            continue
        if provider.name == "google":
            result[preset.key] = provider.with_endpoints(
                fake.url("/google/authorize"), fake.url("/google/token"), fake.url("/userinfo"))
        else:
            result[preset.key] = provider.with_endpoints(
                fake.url("/{tenant}/authorize"), fake.url("/{tenant}/token"))
    return result


class World:
    """The fake identity provider's registrations and the window's token service."""

    def __init__(self, window: MainWindow, fake: FakeOAuthServer, ca_file: Path,
                 tmp_path: Path, keyring: MemoryKeyring) -> None:
        self.window = window
        self.fake = fake
        self.keyring = keyring
        sa_private, sa_public = _pem(_rsa_key())
        self.sa_private = sa_private
        self.sa_json = json.dumps({
            "type": "service_account", "client_email": SERVICE_ACCOUNT,
            "private_key": sa_private, "private_key_id": "kid-1", "client_id": "4242",
            "token_uri": "https://oauth2.invalid/token",
        })
        self.key_file = tmp_path / "service-account.json"
        self.key_file.write_text(self.sa_json, encoding="utf-8")
        fake.tenants.add(TENANT)
        fake.clients = {
            SIGN_IN_CLIENT: FakeClient(SIGN_IN_CLIENT, TENANT),
            APP_ONLY_CLIENT: FakeClient(APP_ONLY_CLIENT, TENANT, secret=APP_ONLY_SECRET),
            GOOGLE_CLIENT: FakeClient(GOOGLE_CLIENT, "google", secret=GOOGLE_SECRET),
        }
        fake.service_accounts = {SERVICE_ACCOUNT: FakeServiceAccount(SERVICE_ACCOUNT, sa_public)}
        self.tokens = TokenService(window.context.secrets, CompanyApps(), fake_providers(fake),
                                   open_browser=follow_redirects(ca_file))
        window.context.tokens = self.tokens

    def add_microsoft_sign_in_app(self) -> None:
        self.tokens.apps = self.tokens.apps.with_app(CompanyApp(
            "ms-sign-in", "microsoft", OAuthFlow.INTERACTIVE, SIGN_IN_CLIENT,
            name="Contoso sign-in", tenant=TENANT))


@pytest.fixture
def world(window: MainWindow, fake_oauth: FakeOAuthServer, ca_file: Path, tmp_path: Path,
          memory_keyring: MemoryKeyring) -> World:
    return World(window, fake_oauth, ca_file, tmp_path, memory_keyring)



# Driving the GUI ------------------------------------------------------------------------------


def click(qtbot: QtBot, button: QPushButton) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def fill_oauth_dialog(qtbot: QtBot, dialog: QDialog, port: int, provider: str,
                      email: str = USER) -> None:
    """Provider, address and the local server; the preset's default method stays."""
    choose(qtbot, child(dialog, QComboBox, "providerCombo"), provider)
    type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), email)
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Bruno Diaz")
    type_into(qtbot, child(dialog, QLineEdit, "hostEdit"), "127.0.0.1")
    choose(qtbot, child(dialog, QComboBox, "securityCombo"), "starttls")
    type_into(qtbot, child(dialog, QSpinBox, "portSpin"), str(port))
    type_into(qtbot, child(dialog, QSpinBox, "timeoutSpin"), "5")


def sign_in(qtbot: QtBot, dialog: QDialog) -> None:
    with qtbot.waitSignal(sign_in_runner().sign_in_ended, timeout=15_000):
        click(qtbot, child(dialog, QPushButton, "signInButton"))


def save(qtbot: QtBot, window: MainWindow, dialog: QDialog) -> AddressRecord:
    button = child(dialog, QPushButton, "saveButton")
    assert button.isEnabled(), status_text(dialog)
    saved_signal = dialog.address_saved  # type: ignore[attr-defined]
    with qtbot.waitSignal(saved_signal, timeout=5000) as saved:
        click(qtbot, button)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    assert saved.args is not None
    record: AddressRecord = saved.args[0]
    return record


def sign_in_test_and_save(qtbot: QtBot, window: MainWindow, oauth_smtp: FaultServer,
                          provider: str) -> AddressRecord:
    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, provider)
    if provider == "gmail":  # both methods; a password by default
        choose(qtbot, child(dialog, QComboBox, "authMethodCombo"), "oauth2")
    assert not child(dialog, QLineEdit, "passwordEdit").isVisible()
    assert child(dialog, QComboBox, "oauthFlowCombo").currentData() == "interactive"
    sign_in(qtbot, dialog)
    assert child(dialog, QLabel, "signedInAccount").text() == f"Signed in as {USER}."
    save_button = child(dialog, QPushButton, "saveButton")
    assert not save_button.isEnabled()
    run_test(qtbot, window, dialog)
    assert "account works" in status_text(dialog)
    return save(qtbot, window, dialog)


def open_edit(qtbot: QtBot, window: MainWindow, email: str = USER) -> QDialog:
    table = child(window, QTableView, "addressTable")
    click_row(qtbot, table, next(
        table.model().index(r, 0).data() for r in range(table.model().rowCount())
        if table.model().index(r, 0).data().endswith(email)))
    click(qtbot, child(window, QPushButton, "editAddressButton"))
    dialog = child(window, QDialog, "addressDialog")
    qtbot.waitExposed(dialog)
    return dialog


def add_app(qtbot: QtBot, apps_window: QDialog, provider: str, flow: str,
            fields: dict[str, str], credential: str | None = None) -> None:
    """Fill the Company sign-in apps form for a new app and save it."""
    click(qtbot, child(apps_window, QPushButton, "newAppButton"))
    choose(qtbot, child(apps_window, QComboBox, "appProviderCombo"), provider)
    choose(qtbot, child(apps_window, QComboBox, "appFlowCombo"), flow)
    if credential is not None:
        choose(qtbot, child(apps_window, QComboBox, "appCredentialCombo"), credential)
    for name, value in fields.items():
        edit = child(apps_window, QLineEdit, name)
        assert edit.isVisible(), name
        type_into(qtbot, edit, value)
        qtbot.keyClick(edit, Qt.Key.Key_Tab)
    click(qtbot, child(apps_window, QPushButton, "saveAppButton"))
    status = child(apps_window, QLabel, "appSaveError")
    assert status.text().startswith("Saved"), status.text()


def configure_admin_apps(qtbot: QtBot, window: MainWindow, world: World) -> CompanyAppsWindow:
    """Microsoft 365 app-only and Google delegation, as the admin enters them."""
    before = len(world.tokens.apps.apps)
    apps_window = open_company_apps_window(window, window.context)
    qtbot.waitExposed(apps_window)
    add_app(qtbot, apps_window, "microsoft", "app_only", {
        "appNameEdit": "Contoso app-only", "appDomainsEdit": "example.test",
        "appTenantEdit": TENANT, "appClientIdEdit": APP_ONLY_CLIENT,
        "appSecretEdit": APP_ONLY_SECRET,
    }, credential="secret")
    add_app(qtbot, apps_window, "google", "delegation", {
        "appNameEdit": "Workspace mailer", "appDomainsEdit": "example.test",
        "appKeyFileEdit": str(world.key_file),
    })
    assert SERVICE_ACCOUNT in child(apps_window, QLabel, "serviceAccountEmail").text()
    assert child(apps_window, QListWidget, "companyAppsList").count() == before + 2
    return apps_window


# Employee present: interactive sign-in --------------------------------------------------------


def test_microsoft_365_sign_in_then_test_then_save(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    world.add_microsoft_sign_in_app()
    record = sign_in_test_and_save(qtbot, window, oauth_smtp, "microsoft365")

    assert record.options["auth"] == {"method": "oauth2", "flow": "interactive",
                                      "app_key": "ms-sign-in", "account": USER}
    assert oauth_smtp.log.oauth_users == [USER]
    assert world.fake.log.pkce_checked == 1
    # The refresh token took the password's place: no password entry at all.
    entries = world.keyring.entries
    assert (SERVICE_NAME, record.secret_key) not in entries
    refresh = entries[(SERVICE_NAME, namespaced_key(REFRESH_NAMESPACE, record.secret_key))]
    assert refresh in world.fake.refresh_tokens()

    # Edit mode shows who signed in, and Save needs no new test for a sender name.
    dialog = open_edit(qtbot, window)
    assert child(dialog, QComboBox, "authMethodCombo").currentData() == "oauth2"
    assert child(dialog, QLabel, "signedInAccount").text() == f"Signed in as {USER}."
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Bruno D.")
    assert child(dialog, QPushButton, "saveButton").isEnabled()
    save(qtbot, window, dialog)
    assert world.keyring.entries[
        (SERVICE_NAME, namespaced_key(REFRESH_NAMESPACE, record.secret_key))] == refresh


def test_google_sign_in_with_the_app_entered_in_company_apps(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, "gmail")
    assert child(dialog, QComboBox, "authMethodCombo").currentData() == "password"
    choose(qtbot, child(dialog, QComboBox, "authMethodCombo"), "oauth2")
    note = child(dialog, QLabel, "companyAppNote")
    assert note.isVisible() and "No sign-in app for Google" in note.text()
    assert child(dialog, QPushButton, "signInButton").text() == "Sign in with Google…"

    click(qtbot, child(dialog, QPushButton, "companyAppsButton"))
    apps_window = child(dialog, QDialog, "companyAppsWindow")
    qtbot.waitExposed(apps_window)
    add_app(qtbot, apps_window, "google", "interactive", {
        "appClientIdEdit": GOOGLE_CLIENT, "appSecretEdit": GOOGLE_SECRET})
    apps_window.close()
    assert not note.isVisible()

    sign_in(qtbot, dialog)
    assert child(dialog, QLabel, "signedInAccount").text() == f"Signed in as {USER}."
    run_test(qtbot, window, dialog)
    assert "account works" in status_text(dialog)
    record = save(qtbot, window, dialog)
    assert record.provider_key == "gmail"
    assert world.fake.log.authorize_params[0]["access_type"] == "offline"
    assert GOOGLE_SECRET in world.keyring.entries.values()
    saved_apps = company_apps_path(window.context).read_text(encoding="utf-8")
    assert GOOGLE_CLIENT in saved_apps and GOOGLE_SECRET not in saved_apps


def test_other_account_signing_in_is_flagged(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    world.add_microsoft_sign_in_app()
    world.fake.user = OTHER_USER
    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, "microsoft365")
    sign_in(qtbot, dialog)
    label = child(dialog, QLabel, "signedInAccount")
    assert f"Signed in as {OTHER_USER}, which is not {USER}:" in label.text()
    assert label.property("role") == "fieldWarning"
    run_test(qtbot, window, dialog)  # the token acts for bob, so the server refuses anna
    assert EXPLANATIONS[Category.OAUTH_TOKEN_REFUSED].headline in status_text(dialog)
    assert not child(dialog, QPushButton, "saveButton").isEnabled()


def test_cancel_during_sign_in(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    world.add_microsoft_sign_in_app()
    opened: list[str] = []
    world.tokens.open_browser = lambda url: opened.append(url) is None  # nobody signs in
    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, "microsoft365")
    click(qtbot, child(dialog, QPushButton, "signInButton"))

    waiting = child(dialog, QLabel, "signInStatus")
    qtbot.waitUntil(lambda: bool(opened))
    assert waiting.isVisible() and "Waiting for the browser" in waiting.text()
    assert "Time left: 5:00" in waiting.text() or "Time left: 4:59" in waiting.text()
    assert not child(dialog, QPushButton, "testButton").isEnabled()
    cancel = child(dialog, QPushButton, "cancelSignInButton")
    with qtbot.waitSignal(sign_in_runner().sign_in_ended, timeout=3000) as ended:
        click(qtbot, cancel)
    assert ended.args is not None and ended.args[1].category is Category.CANCELLED
    assert not cancel.isVisible() and not waiting.isVisible()
    assert "Sign-in cancelled" in status_text(dialog)
    assert child(dialog, QPushButton, "testButton").isEnabled()
    assert not child(dialog, QPushButton, "saveButton").isEnabled()
    assert world.keyring.entries == {}
    # The one-shot listener is gone with the sign-in.
    port = int(opened[0].split("redirect_uri=http%3A%2F%2F127.0.0.1%3A")[1].split("%2F")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_revoked_refresh_token_shows_sign_in_again(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    world.add_microsoft_sign_in_app()
    sign_in_test_and_save(qtbot, window, oauth_smtp, "microsoft365")
    world.fake.revoke_refresh_tokens()
    world.tokens.cache.clear()  # as after a restart: only the refresh token is left

    dialog = open_edit(qtbot, window)
    run_test(qtbot, window, dialog)
    assert EXPLANATIONS[Category.OAUTH_SIGN_IN_AGAIN].headline in status_text(dialog)
    label = child(dialog, QLabel, "signedInAccount")
    assert label.text().startswith("Sign in again")
    assert label.property("role") == "fieldWarning"
    assert child(dialog, QPushButton, "signInButton").text() == "Sign in again with Microsoft…"
    click(qtbot, child(dialog, QPushButton, "cancelButton"))
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)

    # Opened again later, the address says so at once, and signing in again mends it.
    dialog = open_edit(qtbot, window)
    assert child(dialog, QLabel, "signedInAccount").text().startswith("Sign in again")
    sign_in(qtbot, dialog)
    assert child(dialog, QLabel, "signedInAccount").text() == f"Signed in as {USER}."
    assert not child(dialog, QPushButton, "saveButton").isEnabled()  # a new sign-in: test
    run_test(qtbot, window, dialog)
    record = save(qtbot, window, dialog)
    stored = world.keyring.entries[
        (SERVICE_NAME, namespaced_key(REFRESH_NAMESPACE, record.secret_key))]
    assert stored in world.fake.refresh_tokens()


# The admin alone: company sign-in apps ---------------------------------------------------------


def test_app_only_and_delegation_set_up_then_addresses_tested_and_saved(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer
) -> None:
    configure_admin_apps(qtbot, window, world).close()

    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, "microsoft365")
    choose(qtbot, child(dialog, QComboBox, "oauthFlowCombo"), "app")
    assert not child(dialog, QPushButton, "signInButton").isVisible()
    assert "Contoso app-only" in child(dialog, QLabel, "companyAppNote").text()
    run_test(qtbot, window, dialog)
    assert "account works" in status_text(dialog)
    microsoft = save(qtbot, window, dialog)
    assert microsoft.options["auth"]["flow"] == "app_only"  # type: ignore[index]

    dialog = open_dialog(qtbot, window)
    fill_oauth_dialog(qtbot, dialog, oauth_smtp.port, "gmail", email=OTHER_USER)
    choose(qtbot, child(dialog, QComboBox, "authMethodCombo"), "oauth2")
    choose(qtbot, child(dialog, QComboBox, "oauthFlowCombo"), "app")
    assert "Workspace mailer" in child(dialog, QLabel, "companyAppNote").text()
    run_test(qtbot, window, dialog)
    assert "account works" in status_text(dialog)
    google = save(qtbot, window, dialog)
    assert google.options["auth"]["flow"] == "delegation"  # type: ignore[index]

    assert world.fake.log.grants.count("client_credentials") == 1
    assert world.fake.log.jwt_assertions_checked == 1
    assert oauth_smtp.log.oauth_users == [USER, OTHER_USER]
    # Neither address keeps anything of its own in the keyring.
    for record in (microsoft, google):
        assert not any(record.secret_key in name for _, name in world.keyring.entries)


def test_company_apps_window_validates_next_to_each_field(
    qtbot: QtBot, window: MainWindow, world: World, tmp_path: Path
) -> None:
    apps_window = open_company_apps_window(window, window.context)
    qtbot.waitExposed(apps_window)
    choose(qtbot, child(apps_window, QComboBox, "appFlowCombo"), "app_only")
    type_into(qtbot, child(apps_window, QLineEdit, "appTenantEdit"), "not a tenant!")
    type_into(qtbot, child(apps_window, QLineEdit, "appDomainsEdit"), "example.test, bad_domain")
    click(qtbot, child(apps_window, QPushButton, "saveAppButton"))
    for name, words in (("appTenantError", "tenant ID"), ("appClientIdError", "client) ID"),
                        ("appSecretError", "client secret"), ("appDomainsError", "bad_domain")):
        label = child(apps_window, QLabel, name)
        assert label.isVisible() and words in label.text(), name

    bad_key = tmp_path / "not-a-key.json"
    bad_key.write_text('{"type": "authorized_user"}', encoding="utf-8")
    choose(qtbot, child(apps_window, QComboBox, "appProviderCombo"), "google")
    choose(qtbot, child(apps_window, QComboBox, "appFlowCombo"), "delegation")
    type_into(qtbot, child(apps_window, QLineEdit, "appKeyFileEdit"), str(bad_key))
    type_into(qtbot, child(apps_window, QLineEdit, "appDomainsEdit"), "example.test")
    click(qtbot, child(apps_window, QPushButton, "saveAppButton"))
    assert "not a Google service-account key" in child(apps_window, QLabel,
                                                        "appKeyFileError").text()
    assert world.tokens.apps.apps == ()
    assert world.keyring.entries == {}
    assert not company_apps_path(window.context).exists()


def test_removing_a_company_app_forgets_its_secrets(
    qtbot: QtBot, window: MainWindow, world: World
) -> None:
    apps_window = configure_admin_apps(qtbot, window, world)
    apps = child(apps_window, QListWidget, "companyAppsList")
    apps.setCurrentRow(0)
    click(qtbot, child(apps_window, QPushButton, "removeAppButton"))
    box = child(apps_window, QMessageBox, "confirmRemoveApp")
    click(qtbot, box.button(QMessageBox.StandardButton.Yes))  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: apps.count() == 1)
    assert APP_ONLY_SECRET not in world.keyring.entries.values()
    assert world.sa_json in world.keyring.entries.values()
    assert [a.flow for a in world.tokens.apps.apps] == [OAuthFlow.DELEGATION]


# Secrets -------------------------------------------------------------------------------------


def test_keyring_holds_every_long_lived_secret_and_the_database_none(
    qtbot: QtBot, window: MainWindow, world: World, oauth_smtp: FaultServer, db_path: Path
) -> None:
    world.add_microsoft_sign_in_app()
    record = sign_in_test_and_save(qtbot, window, oauth_smtp, "microsoft365")
    configure_admin_apps(qtbot, window, world).close()
    refresh = world.keyring.entries[
        (SERVICE_NAME, namespaced_key(REFRESH_NAMESPACE, record.secret_key))]
    access = world.fake.access_tokens()
    assert access

    kept = set(world.keyring.entries.values())
    assert {refresh, APP_ONLY_SECRET, world.sa_json} <= kept
    assert not access & kept  # access tokens live in memory only
    window.context.db.engine.dispose()
    files = [p for p in db_path.parent.glob(db_path.name + "*") if p.is_file()]
    files.append(company_apps_path(window.context))
    stored = b"".join(p.read_bytes() for p in files)
    assert USER.encode() in stored and APP_ONLY_CLIENT.encode() in stored
    for secret in (refresh, APP_ONLY_SECRET, *access, world.sa_private.splitlines()[1]):
        assert secret.encode() not in stored

    # Removing the address forgets its sign-in as well.
    table = child(window, QTableView, "addressTable")
    assert table.model().rowCount() == 1
    from mailsettings_desktop.core.address_book import remove_address

    remove_address(window.context.db, window.context.secrets, record.id)
    assert refresh not in world.keyring.entries.values()
