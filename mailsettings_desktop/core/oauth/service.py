"""The token service: one place that hands out access tokens for addresses.

It knows the three ways to get a token (the employee's refresh token, Microsoft 365
app-only, Google delegation), keeps access tokens in memory until shortly before they
expire, refreshes them silently, and keeps every long-lived secret in the keyring only.
A revoked or expired grant raises `SignInAgainError` and leaves the address in the
"sign in again" state (its dead refresh token is removed from the keyring).

Per-address settings live in the address's `options` JSON as `options["auth"]`
(`AddressAuth`), so no database column is needed and nothing secret is in them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.logs import redactor
from mailsettings_desktop.core.oauth.company_apps import (
    AppSecret,
    AppSecrets,
    CompanyApp,
    CompanyApps,
    parse_certificate,
    parse_service_account_key,
)
from mailsettings_desktop.core.oauth.errors import OAuthError, SignInAgainError, sign_in_again
from mailsettings_desktop.core.oauth.grants import (
    fetch_app_only_token,
    fetch_delegated_token,
    refresh_access_token,
)
from mailsettings_desktop.core.oauth.http import HttpSettings
from mailsettings_desktop.core.oauth.interactive import (
    DEFAULT_TIME_LIMIT_SECONDS,
    BrowserOpener,
    ClientApp,
    InteractiveSignIn,
    SignInResult,
    open_in_system_browser,
)
from mailsettings_desktop.core.oauth.providers import AuthMethod, OAuthFlow, OAuthProvider
from mailsettings_desktop.core.oauth.tokens import AccessToken, Clock, TokenCache
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError

if TYPE_CHECKING:  # presets import the OAuth provider data, so only for the type here
    from mailsettings_desktop.core.presets import ProviderPreset

log = logging.getLogger(__name__)

OPTIONS_KEY = "auth"
REFRESH_NAMESPACE = "oauth-refresh"


@dataclass(frozen=True)
class AddressAuth:
    """How one address signs in, as kept in `options["auth"]`. Nothing secret here."""

    method: AuthMethod = AuthMethod.PASSWORD
    flow: OAuthFlow = OAuthFlow.INTERACTIVE
    app_key: str = ""  # the company app used (the one the refresh token belongs to)
    account: str = ""  # the account that signed in last, shown beside the address

    @classmethod
    def from_options(cls, options: Mapping[str, object]) -> AddressAuth:
        raw = options.get(OPTIONS_KEY)
        if not isinstance(raw, Mapping):
            return cls()
        try:
            return cls(
                AuthMethod(str(raw.get("method", AuthMethod.PASSWORD.value))),
                OAuthFlow(str(raw.get("flow", OAuthFlow.INTERACTIVE.value))),
                str(raw.get("app_key", "")),
                str(raw.get("account", "")),
            )
        except ValueError:
            log.warning("unreadable sign-in settings in an address's options; using password")
            return cls()

    def to_options(self, options: Mapping[str, object] | None = None) -> dict[str, object]:
        """A copy of `options` with these settings in it."""
        updated = dict(options or {})
        updated[OPTIONS_KEY] = {
            "method": self.method.value, "flow": self.flow.value,
            "app_key": self.app_key, "account": self.account,
        }
        return updated


@dataclass(frozen=True)
class OAuthTarget:
    """The address a token is wanted for. `key` is the address's keyring key (its
    `secret_key`); it names the refresh token and the cache entry."""

    key: str
    email: str
    preset_key: str
    auth: AddressAuth


class SignInState(StrEnum):
    """What the address list shows about an OAuth address."""

    NOT_OAUTH = "not_oauth"
    SIGNED_IN = "signed_in"  # a refresh token is stored, or the company app signs in
    SIGN_IN_AGAIN = "sign_in_again"  # no usable grant: the employee must sign in
    APP_MISSING = "app_missing"  # no company sign-in app for this address


def oauth_providers(presets: tuple[ProviderPreset, ...]) -> dict[str, OAuthProvider]:
    """The OAuth data of every preset that has it, by preset key."""
    return {p.key: p.auth.provider for p in presets if p.auth.provider is not None}


class TokenService:
    """Hands out access tokens; thread-safe, so every check worker may share one."""

    def __init__(
        self,
        secrets: SecretStore,
        apps: CompanyApps,
        providers: Mapping[str, OAuthProvider],
        *,
        cache: TokenCache | None = None,
        http: HttpSettings | None = None,
        clock: Clock = time.time,
        open_browser: BrowserOpener = open_in_system_browser,
        sign_in_time_limit: float = DEFAULT_TIME_LIMIT_SECONDS,
    ) -> None:
        self._secrets = secrets
        self._app_secrets = AppSecrets(secrets)
        self.apps = apps  # replace it when Company sign-in apps change
        self._providers = dict(providers)
        self.cache = cache or TokenCache(clock)
        self.http = http or HttpSettings()
        self._clock = clock
        # The GUI starts sign-ins without choosing a browser; tests hand in one that
        # follows the authorize URL, so the choice lives here, injected once.
        self.open_browser = open_browser
        self.sign_in_time_limit = sign_in_time_limit
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    @property
    def app_secrets(self) -> AppSecrets:
        return self._app_secrets

    def provider(self, preset_key: str) -> OAuthProvider:
        provider = self._providers.get(preset_key)
        if provider is None:
            raise OAuthError(Category.OAUTH_NOT_SET_UP,
                             description=f"the preset {preset_key!r} has no OAuth sign-in")
        return provider

    def app_for(self, target: OAuthTarget) -> CompanyApp:
        """The company app that serves this address (the one it signed in with first)."""
        provider = self.provider(target.preset_key)
        app = self.apps.get(target.auth.app_key) if target.auth.app_key else None
        app = app or self.apps.find(provider.name, target.auth.flow, target.email)
        if app is None:
            raise OAuthError(
                Category.OAUTH_NOT_SET_UP,
                description=f"no {provider.name} {target.auth.flow.value} app serves "
                            f"{target.email}",
                provider=provider.name,
            )
        return app

    # Interactive sign-in -----------------------------------------------------------------

    def interactive_sign_in(
        self,
        preset_key: str,
        email: str,
        *,
        open_browser: BrowserOpener | None = None,
        time_limit_seconds: float | None = None,
    ) -> tuple[InteractiveSignIn, CompanyApp]:
        """A prepared browser sign-in for this address (call `run()` on a worker thread,
        `cancel()` from the GUI), and the app it uses (keep its key in `AddressAuth`)."""
        target = OAuthTarget("", email, preset_key, AddressAuth(AuthMethod.OAUTH2))
        app = self.app_for(target)
        secret = self._app_secrets.get(app, AppSecret.CLIENT_SECRET)
        sign_in = InteractiveSignIn(
            self.provider(preset_key),
            ClientApp(app.client_id, app.tenant, secret),
            login_hint=email,
            open_browser=open_browser or self.open_browser,
            time_limit_seconds=(
                self.sign_in_time_limit if time_limit_seconds is None else time_limit_seconds
            ),
            http=self.http,
            clock=self._clock,
        )
        return sign_in, app

    def keep_sign_in(self, address_key: str, result: SignInResult) -> None:
        """After Save: the refresh token to the keyring, the access token to the cache.

        Raises `SecretStoreError` when the keyring refuses; the address then shows
        "sign in again" rather than keeping the token anywhere else.
        """
        self._remember(result.refresh_token, result.access_token.value)
        self._secrets.put_secret(REFRESH_NAMESPACE, address_key, result.refresh_token)
        self.cache.put(_address_cache_key(address_key), result.access_token)

    def forget(self, address_key: str) -> None:
        """When an address is removed or goes back to password sign-in."""
        self.cache.forget(_address_cache_key(address_key))
        self._secrets.delete_secret(REFRESH_NAMESPACE, address_key)

    # Tokens ------------------------------------------------------------------------------

    def access_token(self, target: OAuthTarget) -> AccessToken:
        """A valid access token for the address: cached, refreshed, or newly fetched."""
        if target.auth.method is not AuthMethod.OAUTH2:
            raise ValueError("this address signs in with a password")
        app = self.app_for(target)
        cache_key = _cache_key(target, app)
        cached = self.cache.get(cache_key)
        if cached is not None:
            return cached
        # One fetch per key at a time: two refreshes with a rotating refresh token would
        # make the second one fail and wrongly ask for a new sign-in.
        with self._lock_for(cache_key):
            cached = self.cache.get(cache_key)
            if cached is not None:
                return cached
            token = self._fetch(target, app)
            self._remember(token.value)
            self.cache.put(cache_key, token)
            return token

    def token_source(self, target: OAuthTarget) -> Callable[[], str]:
        """What `run_check` calls at the sign-in stage to get the token's value."""
        return lambda: self.access_token(target).value

    def forget_access_token(self, target: OAuthTarget) -> None:
        """Drop a cached token the mail server refused, so the next check fetches anew."""
        try:
            app = self.app_for(target)
        except OAuthError:
            return
        self.cache.forget(_cache_key(target, app))

    def sign_in_state(self, target: OAuthTarget) -> SignInState:
        if target.auth.method is not AuthMethod.OAUTH2:
            return SignInState.NOT_OAUTH
        try:
            app = self.app_for(target)
        except OAuthError:
            return SignInState.APP_MISSING
        if target.auth.flow is not OAuthFlow.INTERACTIVE:
            needed = app.secrets_needed()
            try:
                have = all(self._app_secrets.get(app, kind) for kind in needed)
            except SecretStoreError:
                have = False
            return SignInState.SIGNED_IN if have else SignInState.APP_MISSING
        try:
            stored = self._secrets.get_secret(REFRESH_NAMESPACE, target.key)
        except SecretStoreError:
            stored = None
        return SignInState.SIGNED_IN if stored else SignInState.SIGN_IN_AGAIN

    # The three ways ----------------------------------------------------------------------

    def _fetch(self, target: OAuthTarget, app: CompanyApp) -> AccessToken:
        provider = self.provider(target.preset_key)
        if target.auth.flow is OAuthFlow.APP_ONLY:
            return self._app_only(provider, app)
        if target.auth.flow is OAuthFlow.DELEGATION:
            return self._delegated(provider, app, target.email)
        return self._refresh(provider, app, target)

    def _refresh(
        self, provider: OAuthProvider, app: CompanyApp, target: OAuthTarget
    ) -> AccessToken:
        refresh = self._secrets.get_secret(REFRESH_NAMESPACE, target.key)
        if not refresh:
            raise sign_in_again("no sign-in is stored for this address", provider.name)
        self._remember(refresh)
        secret = self._app_secrets.get(app, AppSecret.CLIENT_SECRET)
        try:
            token, rotated = refresh_access_token(
                provider, app.client_id, secret, refresh, tenant=app.tenant,
                http=self.http, clock=self._clock,
            )
        except SignInAgainError:
            # The grant is dead (revoked, expired, password changed): keeping it would only
            # repeat the failure. The address now shows "sign in again".
            log.info("refresh token refused for %s; removing it", target.email)
            self._secrets.delete_secret(REFRESH_NAMESPACE, target.key)
            raise
        if rotated:
            self._remember(rotated)
            self._secrets.put_secret(REFRESH_NAMESPACE, target.key, rotated)
        return token

    def _app_only(self, provider: OAuthProvider, app: CompanyApp) -> AccessToken:
        if app.use_certificate:
            pem = self._required_secret(app, AppSecret.CERTIFICATE, provider)
            try:
                certificate = parse_certificate(pem)
            except ValueError as exc:
                raise OAuthError(Category.OAUTH_NOT_SET_UP, description=str(exc),
                                 provider=provider.name) from exc
            return fetch_app_only_token(provider, app.client_id, app.tenant,
                                        certificate=certificate, http=self.http,
                                        clock=self._clock)
        secret = self._required_secret(app, AppSecret.CLIENT_SECRET, provider)
        return fetch_app_only_token(provider, app.client_id, app.tenant,
                                    client_secret=secret, http=self.http, clock=self._clock)

    def _delegated(self, provider: OAuthProvider, app: CompanyApp, email: str) -> AccessToken:
        text = self._required_secret(app, AppSecret.SERVICE_ACCOUNT_KEY, provider)
        try:
            key = parse_service_account_key(text)
        except ValueError as exc:
            raise OAuthError(Category.OAUTH_NOT_SET_UP, description=str(exc),
                             provider=provider.name) from exc
        self._remember(key.private_key)
        return fetch_delegated_token(provider, key, email, http=self.http, clock=self._clock)

    def _required_secret(
        self, app: CompanyApp, kind: AppSecret, provider: OAuthProvider
    ) -> str:
        value = self._app_secrets.get(app, kind)
        if not value:
            raise OAuthError(
                Category.OAUTH_NOT_SET_UP,
                description=f"the keyring has no {kind.value} for the app {app.name or app.key}",
                provider=provider.name,
            )
        self._remember(value)
        return value

    def _lock_for(self, key: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(key, threading.Lock())

    @staticmethod
    def _remember(*secrets: str) -> None:
        """Tell the log redactor, so a library that echoes a secret cannot leak it."""
        for secret in secrets:
            redactor.remember(secret)


def _address_cache_key(address_key: str) -> str:
    return f"address:{address_key}"


def _cache_key(target: OAuthTarget, app: CompanyApp) -> str:
    if target.auth.flow is OAuthFlow.APP_ONLY:
        return f"app:{app.key}"  # one app-only token serves every mailbox of the tenant
    if target.auth.flow is OAuthFlow.DELEGATION:
        return f"delegation:{app.key}:{target.email.strip().lower()}"
    return _address_cache_key(target.key)


def with_account(auth: AddressAuth, result: SignInResult, app: CompanyApp) -> AddressAuth:
    """The settings to save after an interactive sign-in."""
    return replace(auth, method=AuthMethod.OAUTH2, flow=OAuthFlow.INTERACTIVE,
                   app_key=app.key, account=result.account)
