"""Interactive sign-in: authorization code with PKCE in the system browser (RFC 8252).

The employee signs in on the provider's own page in their browser; the provider sends
the browser back to a one-shot listener on 127.0.0.1 at a random port, which takes the
code and closes. The code is exchanged (with the PKCE verifier) for an access token, a
refresh token and an ID token that names the account that signed in, so the GUI can flag
an account that differs from the address being configured.

`InteractiveSignIn.run` blocks (the GUI runs it on a worker thread); `cancel` may be called
from any thread and ends it within a fraction of a second; a time limit ends it too.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import logging
import threading
import time
import webbrowser
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from joserfc import jws
from joserfc.errors import JoseError

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.oauth.errors import (
    OAuthError,
    SignInCancelledError,
    error_from_response,
)
from mailsettings_desktop.core.oauth.grants import public_client_session
from mailsettings_desktop.core.oauth.http import HttpSettings, translated
from mailsettings_desktop.core.oauth.providers import OAuthProvider
from mailsettings_desktop.core.oauth.tokens import AccessToken, Clock, token_from_response

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DEFAULT_TIME_LIMIT_SECONDS = 300.0
POLL_SECONDS = 0.05
# The page the browser shows once it has handed over the code.
_DONE_PAGE = (
    "<!doctype html><meta charset=utf-8><title>mailsettings-desktop</title>"
    "<p>{message}</p><p>You can close this tab and return to mailsettings-desktop.</p>"
)

# Opens a URL in a browser; returns False when no browser could be started.
BrowserOpener = Callable[[str], bool]


def open_in_system_browser(url: str) -> bool:
    """The default opener: Python's `webbrowser`, which uses the user's default browser."""
    return webbrowser.open(url, new=1, autoraise=True)


@dataclass(frozen=True)
class ClientApp:
    """The registered client used for interactive sign-in (from Company sign-in apps)."""

    client_id: str
    tenant: str = ""
    client_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SignInResult:
    """A successful sign-in. The GUI keeps it until Save, then hands it to the token
    service, which puts the refresh token into the keyring."""

    account: str  # the account that signed in, from the ID token or userinfo
    access_token: AccessToken
    refresh_token: str = field(repr=False)

    def differs_from(self, email: str) -> bool:
        """Whether another account signed in than the address being configured."""
        return bool(self.account) and self.account.strip().casefold() != (
            email.strip().casefold()
        )


@dataclass
class _Callback:
    code: str = ""
    error: str = ""
    description: str = ""


class InteractiveSignIn:
    """One browser sign-in for one address; create a new one for every attempt."""

    def __init__(
        self,
        provider: OAuthProvider,
        client: ClientApp,
        *,
        login_hint: str = "",
        open_browser: BrowserOpener = open_in_system_browser,
        time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
        http: HttpSettings | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.provider = provider
        self.client = client
        self.login_hint = login_hint
        self.open_browser = open_browser
        self.time_limit_seconds = time_limit_seconds
        self.http = http or HttpSettings()
        self.clock = clock
        self._cancelled = threading.Event()
        self._received = threading.Event()
        self._callback = _Callback()
        self.authorize_url: str | None = None  # set once the listener is up
        self.redirect_uri: str | None = None

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Stop waiting for the browser; `run` raises `SignInCancelledError` promptly."""
        self._cancelled.set()

    def run(self) -> SignInResult:
        """Open the browser, wait for the redirect, exchange the code; blocks."""
        verifier = generate_token(64)  # RFC 7636: 43 to 128 characters
        state, nonce = generate_token(32), generate_token(32)
        server = _OneShotServer(self, state)
        listener = threading.Thread(target=server.serve, name="oauth-redirect", daemon=True)
        try:
            self.redirect_uri = f"http://{LOOPBACK}:{server.port}/"
            with public_client_session(
                self.provider, self.client.client_id, self.client.client_secret, self.http,
                redirect_uri=self.redirect_uri, code_challenge_method="S256",
            ) as session:
                params: dict[str, str] = {"nonce": nonce, **self.provider.authorize_params}
                if self.login_hint:
                    params["login_hint"] = self.login_hint
                url, _ = session.create_authorization_url(
                    self.provider.authorize_url(self.client.tenant), state=state,
                    code_verifier=verifier, **params,
                )
                self.authorize_url = url
                listener.start()
                log.info("interactive sign-in at %s: waiting on port %d", self.provider.name,
                         server.port)
                if not self.open_browser(url):
                    raise OAuthError(Category.OAUTH_PROVIDER_ERROR,
                                     description="no web browser could be started",
                                     provider=self.provider.name)
                self._wait()
                with translated(self.provider.name, "code exchange"):
                    answer = session.fetch_token(
                        self.provider.token_url(self.client.tenant),
                        grant_type="authorization_code", code=self._callback.code,
                        code_verifier=verifier,
                    )
                return self._result(answer, nonce, session)
        finally:
            server.stop()
            if listener.is_alive():
                listener.join(timeout=2)

    def _wait(self) -> None:
        deadline = time.monotonic() + self.time_limit_seconds
        while not self._received.wait(POLL_SECONDS):
            if self._cancelled.is_set():
                log.info("interactive sign-in cancelled")
                raise SignInCancelledError
            if time.monotonic() >= deadline:
                log.info("interactive sign-in timed out after %.0f s", self.time_limit_seconds)
                raise OAuthError(Category.OAUTH_SIGN_IN_TIMEOUT,
                                 description="no answer from the browser in time",
                                 provider=self.provider.name)
        if self._cancelled.is_set():
            raise SignInCancelledError
        callback = self._callback
        if callback.error:
            log.info("interactive sign-in: the provider answered %s", callback.error)
            raise error_from_response(callback.error, callback.description,
                                      provider=self.provider.name)

    def _deliver(self, callback: _Callback) -> None:
        self._callback = callback
        self._received.set()

    def _result(
        self, answer: Mapping[str, object], nonce: str, session: object
    ) -> SignInResult:
        try:
            token = token_from_response(answer, self.clock())
        except ValueError as exc:
            raise OAuthError(Category.OAUTH_PROVIDER_ERROR, description=str(exc),
                             provider=self.provider.name) from exc
        refresh = answer.get("refresh_token")
        if not isinstance(refresh, str) or not refresh:
            raise OAuthError(
                Category.OAUTH_PROVIDER_ERROR,
                description="no refresh token was issued (is offline access allowed?)",
                provider=self.provider.name,
            )
        account = _account_from_id_token(answer.get("id_token"), self.client.client_id, nonce)
        if not account and self.provider.userinfo_endpoint:
            account = self._account_from_userinfo(session)
        log.info("interactive sign-in at %s finished", self.provider.name)
        return SignInResult(account, token, refresh)

    def _account_from_userinfo(self, session: object) -> str:
        get = getattr(session, "get", None)
        if get is None:
            return ""
        try:
            with translated(self.provider.name, "userinfo"):
                response = get(self.provider.userinfo_endpoint)
                response.raise_for_status()
                info = response.json()
        except (OAuthError, ValueError):
            log.info("userinfo not available; the signed-in account stays unknown")
            return ""
        return _account_in(info) if isinstance(info, dict) else ""


def _account_from_id_token(id_token: object, client_id: str, nonce: str) -> str:
    """The signed-in account named in the ID token.

    The signature is not checked: the token came straight from the token endpoint over a
    verified TLS connection, which OpenID Connect Core 3.1.3.7 accepts in its place, and
    the account is only shown to the admin, never used to grant anything. The audience
    and nonce are checked, so a token meant for another client or sign-in is ignored.
    """
    if not isinstance(id_token, str) or not id_token:
        return ""
    try:
        data = json.loads(jws.extract_compact(id_token.encode("ascii")).payload)
    except (JoseError, ValueError, UnicodeError):
        log.info("the ID token could not be read")
        return ""
    if not isinstance(data, dict):
        return ""
    audience = data.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences or data.get("nonce") != nonce:
        log.warning("ignored an ID token for another client or sign-in")
        return ""
    return _account_in(data)


def _account_in(claims: Mapping[str, object]) -> str:
    for name in ("email", "preferred_username", "upn"):
        value = claims.get(name)
        if isinstance(value, str) and "@" in value:
            return value
    return ""


class _OneShotServer:
    """The redirect listener: 127.0.0.1 only, a random port, stops after one answer."""

    def __init__(self, sign_in: InteractiveSignIn, state: str) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._handle(self)

            def log_message(self, format: str, *args: object) -> None:
                # The default writes the request line (with the code) to stderr.
                return None

        self.sign_in = sign_in
        self.state = state
        self.httpd = http.server.HTTPServer((LOOPBACK, 0), Handler)
        self.httpd.timeout = POLL_SECONDS
        self.port: int = self.httpd.server_address[1]
        self._stop = threading.Event()

    def serve(self) -> None:
        while not self._stop.is_set() and not self.sign_in._received.is_set():
            self.httpd.handle_request()

    def stop(self) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.httpd.server_close()

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path != "/" or query.get("state") != self.state:
            # A favicon request, or something else knocking on the port: not the answer.
            self._reply(request, 404, "This is not the sign-in you started.")
            return
        if "error" in query:
            self.sign_in._deliver(_Callback(error=query["error"],
                                            description=query.get("error_description", "")))
            self._reply(request, 200, "The sign-in did not succeed.")
        elif query.get("code"):
            self.sign_in._deliver(_Callback(code=query["code"]))
            self._reply(request, 200, "Signed in.")
        else:
            self._reply(request, 400, "The answer has no code.")

    @staticmethod
    def _reply(request: http.server.BaseHTTPRequestHandler, status: int, message: str) -> None:
        body = _DONE_PAGE.format(message=message).encode("utf-8")
        request.send_response(status)
        request.send_header("Content-Type", "text/html; charset=utf-8")
        request.send_header("Content-Length", str(len(body)))
        request.send_header("Connection", "close")
        request.end_headers()
        request.wfile.write(body)
