"""Types of the account check: what is asked, how far it got, and what went wrong."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from mailsettings_desktop.core.security import Security


class Stage(StrEnum):
    """The steps of an account check, in the order they happen."""

    RESOLVING = "resolving"
    CONNECTING = "connecting"
    SECURING = "securing"
    GREETING = "greeting"
    AUTHENTICATING = "authenticating"
    CHECKING_SENDER = "checking the sender"
    SENDING = "sending a test message"
    DONE = "done"

    @property
    def progress_text(self) -> str:
        return {
            Stage.RESOLVING: "Looking up the server name…",
            Stage.CONNECTING: "Connecting to the server…",
            Stage.SECURING: "Setting up encryption (TLS)…",
            Stage.GREETING: "Waiting for the server to greet…",
            Stage.AUTHENTICATING: "Signing in…",
            Stage.CHECKING_SENDER: "Checking that the server accepts this sender…",
            Stage.SENDING: "Sending the test message…",
            Stage.DONE: "Finished.",
        }[self]


class Category(StrEnum):
    """What kind of outcome a check had; each has an explanation in the diagnosis table."""

    OK = "ok"
    MESSAGE_SENT = "message_sent"
    CANCELLED = "cancelled"
    DNS_FAILURE = "dns_failure"
    CONNECTION_REFUSED = "connection_refused"
    NO_ROUTE = "no_route"
    CONNECT_TIMEOUT = "connect_timeout"
    GREETING_TIMEOUT = "greeting_timeout"
    HANDSHAKE_TIMEOUT = "handshake_timeout"
    REPLY_TIMEOUT = "reply_timeout"
    TLS_ON_PLAIN_PORT = "tls_on_plain_port"
    PLAIN_ON_TLS_PORT = "plain_on_tls_port"
    STARTTLS_NOT_OFFERED = "starttls_not_offered"
    ENCRYPTION_REQUIRED = "encryption_required"
    TLS_FAILED = "tls_failed"
    CERT_UNTRUSTED = "cert_untrusted"
    CERT_HOSTNAME_MISMATCH = "cert_hostname_mismatch"
    CERT_EXPIRED = "cert_expired"
    CERT_NOT_YET_VALID = "cert_not_yet_valid"
    CERT_CHANGED = "cert_changed"
    AUTH_NOT_OFFERED = "auth_not_offered"
    NO_COMMON_MECHANISM = "no_common_mechanism"
    WRONG_CREDENTIALS = "wrong_credentials"
    WRONG_CREDENTIALS_OR_AUTH_DISABLED = "wrong_credentials_or_auth_disabled"
    APP_PASSWORD_REQUIRED = "app_password_required"
    AUTH_DISABLED = "auth_disabled"
    TEMPORARY_FAILURE = "temporary_failure"
    SENDER_REJECTED = "sender_rejected"
    RELAY_DENIED = "relay_denied"
    QUOTA_EXCEEDED = "quota_exceeded"
    RECIPIENT_REJECTED = "recipient_rejected"
    CONTENT_REJECTED = "content_rejected"
    SERVICE_UNAVAILABLE = "service_unavailable"
    CONNECTION_BLOCKED = "connection_blocked"
    CONNECTION_CLOSED = "connection_closed"
    NOT_SMTP = "not_smtp"
    UNEXPECTED = "unexpected"
    # OAuth2 sign-in (the identity provider's answers, and the mail server's view of a token).
    OAUTH_NOT_OFFERED = "oauth_not_offered"
    OAUTH_TOKEN_REFUSED = "oauth_token_refused"
    OAUTH_CONSENT_REQUIRED = "oauth_consent_required"
    OAUTH_WRONG_TENANT = "oauth_wrong_tenant"
    OAUTH_CLIENT_REJECTED = "oauth_client_rejected"
    OAUTH_SIGN_IN_AGAIN = "oauth_sign_in_again"
    OAUTH_NOT_SET_UP = "oauth_not_set_up"
    OAUTH_SIGN_IN_TIMEOUT = "oauth_sign_in_timeout"
    OAUTH_UNAVAILABLE = "oauth_unavailable"
    OAUTH_PROVIDER_ERROR = "oauth_provider_error"


AUTH_PASSWORD = "password"
AUTH_OAUTH2 = "oauth2"


@dataclass(frozen=True)
class CheckRequest:
    """Exactly the values on screen that a check uses. The password never shows in a repr.

    With `auth_method` "oauth2" the check signs in with SASL XOAUTH2 (or OAUTHBEARER) and
    an access token instead of the password: either `access_token`, or one fetched at the
    sign-in stage from the `token_source` handed to `run_check`. Tokens never show in a
    repr either.
    """

    email: str
    username: str
    password: str = field(repr=False)
    host: str
    port: int
    security: Security
    timeout_seconds: float = 20.0
    provider_key: str = "custom"
    trusted_cert_sha256: str | None = None
    extra_ca_file: Path | None = None
    auth_method: str = AUTH_PASSWORD
    access_token: str | None = field(default=None, repr=False)

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == AUTH_OAUTH2

    def connection_key(self) -> tuple[object, ...]:
        """The values a successful test vouches for; Save needs them unchanged."""
        return (
            self.email.strip().lower(),
            self.username,
            self.password,
            self.host.strip().lower(),
            self.port,
            self.security,
            self.trusted_cert_sha256,
            # An access token changes at every refresh; the method is what was vouched for.
            self.auth_method,
        )


@dataclass(frozen=True)
class Suggestion:
    """A one-click change of security and port that would likely fix the failure."""

    security: Security
    port: int

    @property
    def label(self) -> str:
        return f"Switch to {self.security.label} on port {self.port}"


@dataclass(frozen=True)
class CertificateInfo:
    """The server certificate as the admin needs to judge it."""

    subject: str
    issuer: str
    not_before: str
    not_after: str
    sha256: str
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class CheckResult:
    """One typed outcome of an account check."""

    ok: bool
    stage: Stage
    category: Category
    headline: str
    advice: str = ""
    field: str | None = None
    reply_code: int | None = None
    enhanced_code: str | None = None
    server_text: str = ""
    exception: str = ""
    suggestion: Suggestion | None = None
    certificate: CertificateInfo | None = None
    elapsed_seconds: float = 0.0

    @property
    def server_reply(self) -> str:
        if self.reply_code is None:
            return self.server_text
        return f"{self.reply_code} {self.server_text}".strip()

    def details(self) -> str:
        """Plain text for a helpdesk ticket: everything technical, nothing secret."""
        lines = [
            f"Outcome: {self.category.value}",
            f"Stage reached: {self.stage.value}",
            f"Summary: {self.headline}",
        ]
        if self.advice:
            lines.append(f"Advice: {self.advice}")
        if self.reply_code is not None:
            lines.append(f"Server reply code: {self.reply_code}")
        if self.enhanced_code:
            lines.append(f"Enhanced status code: {self.enhanced_code}")
        if self.server_text:
            lines.append(f"Server reply: {self.server_reply}")
        if self.exception:
            lines.append(f"Error: {self.exception}")
        if self.certificate is not None:
            cert = self.certificate
            lines += [
                f"Certificate subject: {cert.subject}",
                f"Certificate issuer: {cert.issuer}",
                f"Valid from {cert.not_before} to {cert.not_after}",
                f"SHA-256 fingerprint: {cert.sha256}",
            ]
        lines.append(f"Time taken: {self.elapsed_seconds:.2f} s")
        return "\n".join(lines)
