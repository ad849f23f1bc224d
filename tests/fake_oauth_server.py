"""A fake OAuth2 authorization server on 127.0.0.1 for tests: nothing reaches a real one.

It speaks just enough of Microsoft's and Google's token endpoints for the program's three
flows, and checks what a real server checks:

- `/<tenant>/authorize`: approves at once (as if the employee signed in and consented)
  and redirects to the loopback redirect URI with a code, or with a chosen error;
- `/<tenant>/token`: authorization_code (client, redirect URI and PKCE S256 verifier
  checked), refresh_token (revocable, rotated like Microsoft's), client_credentials
  (client secret or a private_key_jwt assertion checked with the client's public key),
  and the RFC 7523 JWT bearer grant (a service account's assertion checked with its public
  key, `sub` the employee);
- `/userinfo`: the signed-in account for a bearer token.

Errors are answered as the providers do: `error` plus an `error_description` with AADSTS
codes. `accepts(user, token)` is what the SMTP test server asks before it lets XOAUTH2 in.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import json
import secrets
import ssl
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

LOOPBACK = "127.0.0.1"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAIL_SCOPE_MICROSOFT = "https://outlook.office.com/SMTP.Send"
APP_ONLY_SCOPE = "https://outlook.office365.com/.default"
MAIL_SCOPE_GOOGLE = "https://mail.google.com/"


@dataclass
class FakeClient:
    """An app registration. `secret` for confidential clients, `public_key_pem` for a
    certificate credential (private_key_jwt)."""

    client_id: str
    tenant: str = "organizations"
    secret: str | None = None
    public_key_pem: bytes | None = None
    disabled: bool = False


@dataclass
class FakeServiceAccount:
    client_email: str
    public_key_pem: bytes
    delegation_allowed: bool = True
    domains: tuple[str, ...] = ("example.test",)


@dataclass
class Issued:
    user: str  # "*" for an app-only token: any mailbox of the tenant
    client_id: str
    expires_at: float
    scope: str


@dataclass
class FakeLog:
    grants: list[str] = field(default_factory=list)
    pkce_checked: int = 0
    client_assertions_checked: int = 0
    jwt_assertions_checked: int = 0
    authorize_params: list[dict[str, str]] = field(default_factory=list)


class FakeOAuthServer:
    """HTTPS on 127.0.0.1:<free port>, certificate from the tests' trustme authority."""

    def __init__(self, tls: ssl.SSLContext, user: str = "anna@example.test") -> None:
        self.user = user  # who "signs in" at the authorize endpoint
        self.tenants = {"organizations", "consumers", "common", "contoso", "google"}
        self.clients: dict[str, FakeClient] = {}
        self.service_accounts: dict[str, FakeServiceAccount] = {}
        self.access_lifetime = 3600
        self.rotate_refresh_tokens = True
        self.authorize_error: tuple[str, str] | None = None
        self.token_error: tuple[str, str, int] | None = None  # answered once
        self.log = FakeLog()
        self._tls = tls
        self._lock = threading.Lock()
        self._codes: dict[str, dict[str, str]] = {}
        self._refresh: dict[str, tuple[str, str]] = {}  # token -> (user, client_id)
        self._access: dict[str, Issued] = {}
        self._signing_key = RSAKey.generate_key(2048)
        self._httpd: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    # Lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOAuthServer:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner._dispatch(self, "GET")

            def do_POST(self) -> None:
                owner._dispatch(self, "POST")

            def log_message(self, format: str, *args: object) -> None:
                return None

        httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        httpd.daemon_threads = True
        httpd.socket = self._tls.wrap_socket(httpd.socket, server_side=True)
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="fake-oauth", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def base(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    # What tests and the SMTP server ask ---------------------------------------------------

    def accepts(self, user: str, token: str) -> bool:
        with self._lock:
            issued = self._access.get(token)
        if issued is None or issued.expires_at <= time.time():
            return False
        return issued.user in ("*", user.lower())

    def expire_access_tokens(self) -> None:
        with self._lock:
            for issued in self._access.values():
                issued.expires_at = 0

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            self._refresh.clear()

    def refresh_tokens(self) -> set[str]:
        with self._lock:
            return set(self._refresh)

    def access_tokens(self) -> set[str]:
        with self._lock:
            return set(self._access)

    # HTTP ---------------------------------------------------------------------------------

    def _dispatch(self, request: http.server.BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        segments = [s for s in parts.path.split("/") if s]
        if method == "GET" and segments == ["userinfo"]:
            self._userinfo(request)
        elif len(segments) == 2 and segments[1] in {"authorize", "token"}:
            tenant, endpoint = segments
            if tenant not in self.tenants:
                self._error(request, "invalid_request",
                            f"AADSTS90002: Tenant '{tenant}' not found.", 400)
            elif endpoint == "authorize" and method == "GET":
                self._authorize(request, {k: v[0] for k, v in parse_qs(parts.query).items()})
            elif endpoint == "token" and method == "POST":
                length = int(request.headers.get("Content-Length", "0"))
                form = {k: v[0] for k, v in
                        parse_qs(request.rfile.read(length).decode("ascii")).items()}
                self._token(request, tenant, form)
            else:
                self._send(request, 405, {"error": "invalid_request"})
        else:
            self._send(request, 404, {"error": "not_found"})

    def _authorize(self, request: http.server.BaseHTTPRequestHandler,
                   params: dict[str, str]) -> None:
        self.log.authorize_params.append(params)
        client = self.clients.get(params.get("client_id", ""))
        redirect = params.get("redirect_uri", "")
        if client is None or not redirect.startswith(f"http://{LOOPBACK}:"):
            # A real provider shows an error page and does not redirect.
            self._send(request, 400, {"error": "unauthorized_client"})
            return
        answer: dict[str, str] = {"state": params.get("state", "")}
        if self.authorize_error is not None:
            answer["error"], answer["error_description"] = self.authorize_error
        else:
            code = secrets.token_urlsafe(24)
            with self._lock:
                self._codes[code] = {**params, "user": self.user}
            answer["code"] = code
        request.send_response(302)
        request.send_header("Location", f"{redirect}?{urlencode(answer)}")
        request.send_header("Content-Length", "0")
        request.end_headers()

    def _token(self, request: http.server.BaseHTTPRequestHandler, tenant: str,
               form: dict[str, str]) -> None:
        grant = form.get("grant_type", "")
        self.log.grants.append(grant)
        if self.token_error is not None:
            error, description, status = self.token_error
            self.token_error = None
            self._error(request, error, description, status)
            return
        try:
            if grant == "authorization_code":
                answer = self._code_grant(form)
            elif grant == "refresh_token":
                answer = self._refresh_grant(form)
            elif grant == "client_credentials":
                answer = self._client_credentials(tenant, form, request)
            elif grant == JWT_BEARER:
                answer = self._jwt_bearer(form, request)
            else:
                raise _Refused("unsupported_grant_type", grant)
        except _Refused as refusal:
            self._error(request, refusal.error, refusal.description, refusal.status)
            return
        self._send(request, 200, answer)

    def _code_grant(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            stored = self._codes.pop(form.get("code", ""), None)
        if stored is None:
            raise _Refused("invalid_grant", "AADSTS54005: OAuth2 Authorization code was "
                                            "already redeemed or is unknown.")
        client = self._client(form.get("client_id", ""))
        if stored["client_id"] != client.client_id:
            raise _Refused("invalid_grant", "the code was issued to another client")
        if form.get("redirect_uri") != stored.get("redirect_uri"):
            raise _Refused("invalid_grant", "AADSTS50011: redirect URI mismatch")
        verifier = form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if stored.get("code_challenge_method") != "S256" or challenge != stored.get(
                "code_challenge"):
            raise _Refused("invalid_grant", "AADSTS501481: The Code_Verifier does not match "
                                            "the code_challenge supplied.")
        self.log.pkce_checked += 1
        self._check_secret(client, form)
        return self._issue(stored["user"], client.client_id, stored.get("scope", ""),
                           refresh=True, nonce=stored.get("nonce"))

    def _refresh_grant(self, form: dict[str, str]) -> dict[str, Any]:
        token = form.get("refresh_token", "")
        with self._lock:
            holder = self._refresh.get(token)
            if holder is not None and self.rotate_refresh_tokens:
                del self._refresh[token]
        if holder is None:
            raise _Refused("invalid_grant", "AADSTS70008: The provided authorization code or "
                                            "refresh token has expired due to inactivity or "
                                            "was revoked.")
        user, client_id = holder
        client = self._client(form.get("client_id", ""))
        if client.client_id != client_id:
            raise _Refused("invalid_grant", "the refresh token belongs to another client")
        self._check_secret(client, form)
        return self._issue(user, client_id, form.get("scope", ""),
                           refresh=self.rotate_refresh_tokens)

    def _client_credentials(self, tenant: str, form: dict[str, str],
                            request: http.server.BaseHTTPRequestHandler) -> dict[str, Any]:
        client = self._client(form.get("client_id", ""))
        if client.tenant != tenant:
            raise _Refused("invalid_client", f"AADSTS700016: Application with identifier "
                           f"'{client.client_id}' was not found in the directory '{tenant}'.",
                           400)
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            if client.public_key_pem is None:
                raise _Refused("invalid_client", "AADSTS700027: no certificate registered", 401)
            claims = self._verified_claims(form.get("client_assertion", ""),
                                           client.public_key_pem)
            if claims.get("iss") != client.client_id or claims.get("sub") != client.client_id:
                raise _Refused("invalid_client", "AADSTS700027: assertion issuer mismatch", 401)
            if claims.get("aud") != self._endpoint(request):
                raise _Refused("invalid_client", "AADSTS700027: assertion audience mismatch",
                               401)
            self.log.client_assertions_checked += 1
        else:
            self._check_secret(client, form, required=True)
        scope = form.get("scope", "")
        if not scope.endswith("/.default"):
            raise _Refused("invalid_scope", "AADSTS1002012: The provided value for scope "
                                            f"{scope} is not valid.")
        return self._issue("*", client.client_id, scope, refresh=False)

    def _jwt_bearer(self, form: dict[str, str],
                    request: http.server.BaseHTTPRequestHandler) -> dict[str, Any]:
        assertion = form.get("assertion", "")
        try:
            unverified = json.loads(jws.extract_compact(assertion.encode()).payload)
        except (JoseError, ValueError) as exc:
            raise _Refused("invalid_grant", "Invalid JWT") from exc
        account = self.service_accounts.get(str(unverified.get("iss", "")))
        if account is None:
            raise _Refused("invalid_grant", "Invalid JWT Signature.")
        claims = self._verified_claims(assertion, account.public_key_pem, "invalid_grant")
        if claims.get("aud") != self._endpoint(request):
            raise _Refused("invalid_grant", "Invalid JWT: audience mismatch")
        self.log.jwt_assertions_checked += 1
        subject = str(claims.get("sub", "")).lower()
        if subject.rpartition("@")[2] not in account.domains:
            raise _Refused("invalid_grant", "Invalid email or User ID")
        if not account.delegation_allowed:
            raise _Refused("unauthorized_client", "Client is unauthorized to retrieve access "
                           "tokens using this method, or client not authorized for any of the "
                           "scopes requested.", 401)
        scope = str(claims.get("scope", ""))
        if MAIL_SCOPE_GOOGLE not in scope.split():
            raise _Refused("invalid_scope", "the assertion asks for no mail scope")
        return self._issue(subject, account.client_email, scope, refresh=False)

    # Helpers ------------------------------------------------------------------------------

    def _client(self, client_id: str) -> FakeClient:
        client = self.clients.get(client_id)
        if client is None:
            raise _Refused("unauthorized_client", f"AADSTS700016: Application with identifier "
                           f"'{client_id}' was not found in the directory.", 400)
        if client.disabled:
            raise _Refused("unauthorized_client", "AADSTS7000112: Application is disabled.",
                           400)
        return client

    @staticmethod
    def _check_secret(client: FakeClient, form: dict[str, str], required: bool = False) -> None:
        if client.secret is None and not required:
            return
        if client.secret is None or form.get("client_secret") != client.secret:
            raise _Refused("invalid_client", "AADSTS7000215: Invalid client secret provided.",
                           401)

    @staticmethod
    def _verified_claims(assertion: str, public_pem: bytes,
                         error: str = "invalid_client") -> dict[str, Any]:
        try:
            token = jwt.decode(assertion, RSAKey.import_key(public_pem), algorithms=["RS256"])
        except (JoseError, ValueError) as exc:
            raise _Refused(error, "Invalid JWT Signature.", 401 if error == "invalid_client"
                           else 400) from exc
        claims = dict(token.claims)
        now = time.time()
        if not (claims.get("exp", 0) > now >= claims.get("iat", now + 1) - 60):
            raise _Refused(error, "the assertion is expired or not yet valid")
        if not claims.get("jti"):
            raise _Refused(error, "the assertion has no jti")
        return claims

    def _endpoint(self, request: http.server.BaseHTTPRequestHandler) -> str:
        return self.url(urlsplit(request.path).path)

    def _issue(self, user: str, client_id: str, scope: str, *, refresh: bool,
               nonce: str | None = None) -> dict[str, Any]:
        access = secrets.token_urlsafe(32)
        answer: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                                  "expires_in": self.access_lifetime, "scope": scope}
        with self._lock:
            self._access[access] = Issued(user.lower(), client_id,
                                          time.time() + self.access_lifetime, scope)
            if refresh:
                new_refresh = secrets.token_urlsafe(40)
                self._refresh[new_refresh] = (user.lower(), client_id)
                answer["refresh_token"] = new_refresh
        if nonce is not None:
            now = int(time.time())
            claims = {"iss": self.base, "aud": client_id, "sub": "user-1", "email": user,
                      "preferred_username": user, "nonce": nonce, "iat": now, "exp": now + 600}
            answer["id_token"] = jwt.encode({"alg": "RS256"}, claims, self._signing_key)
        return answer

    def _userinfo(self, request: http.server.BaseHTTPRequestHandler) -> None:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        with self._lock:
            issued = self._access.get(token)
        if issued is None:
            self._send(request, 401, {"error": "invalid_token"})
        else:
            self._send(request, 200, {"email": issued.user, "sub": "user-1"})

    def _error(self, request: http.server.BaseHTTPRequestHandler, error: str,
               description: str, status: int) -> None:
        self._send(request, status, {"error": error, "error_description": description})

    @staticmethod
    def _send(request: http.server.BaseHTTPRequestHandler, status: int,
              body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)


class _Refused(Exception):  # noqa: N818 - an answer, not a bug
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


@contextlib.contextmanager
def running(tls: ssl.SSLContext, **options: Any) -> Iterator[FakeOAuthServer]:
    server = FakeOAuthServer(tls, **options).start()
    try:
        yield server
    finally:
        server.stop()


def follow_redirects(ca_file: str | Any) -> Callable[[str], bool]:
    """Stands in for the system browser: follows the authorize URL to the redirect.

    It trusts only the test authority and ignores any proxy, so it reaches 127.0.0.1 only.
    """
    context = ssl.create_default_context(cafile=str(ca_file))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))

    def follow(url: str) -> bool:
        with opener.open(url, timeout=5) as response:
            response.read()
        return True

    return follow
