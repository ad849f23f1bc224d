"""A thin layer over `smtplib.SMTP` for a socket we opened ourselves.

It exists for three reasons: the account check connects the socket itself (so it can be
cancelled), sign-in must send UTF-8 passwords (smtplib encodes them as ASCII), and every
read must respect the check's single deadline rather than a per-call timeout.
"""

from __future__ import annotations

import base64
import contextlib
import hmac
import logging
import smtplib
import socket
import ssl
from collections.abc import Callable
from email.base64mime import body_encode as encode_base64
from typing import TYPE_CHECKING, overload

from email_validator import EmailNotValidError, validate_email

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

_MAX_CHALLENGES = 5
# smtplib's own order of preference (it keeps it inside `login`).
_PREFERRED_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")
# XOAUTH2 first: it is what Microsoft (the only one it offers) and Google document for
# SMTP; OAUTHBEARER (RFC 7628) when a server offers only that.
_OAUTH_MECHANISMS = ("XOAUTH2", "OAUTHBEARER")


class OAuthNotOfferedError(smtplib.SMTPException):
    """The server offers AUTH, but neither XOAUTH2 nor OAUTHBEARER."""


def ascii_address(address: str) -> str:
    """The address with its domain in IDNA form, as MAIL FROM needs without SMTPUTF8."""
    local, _, domain = address.strip().rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        with contextlib.suppress(EmailNotValidError):
            domain = validate_email(address, check_deliverability=False).ascii_domain
    return f"{local}@{domain}"


def _local_hostname() -> str:
    """The name said in EHLO. `socket.getfqdn()` can stall on DNS, so it is not used."""
    name = socket.gethostname() or "localhost"
    try:
        name.encode("ascii")
    except UnicodeError:
        return "localhost"
    return name if "." in name else "localhost.localdomain"


def _sasl_name(name: str) -> str:
    """RFC 5801's saslname: ',' and '=' escaped inside the GS2 header."""
    return name.replace("=", "=3D").replace(",", "=2C")


def _decoded_challenge(reply: bytes) -> bytes:
    """The error JSON a server puts in its 334 challenge after a refused token."""
    try:
        return base64.b64decode(reply.strip(), validate=True).strip()
    except ValueError:
        return reply.strip()


class SmtpSession(smtplib.SMTP):
    """An SMTP conversation on an already connected (and possibly secured) socket."""

    def __init__(
        self, sock: socket.socket, host: str, timeout: float,
        remaining: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(local_hostname=_local_hostname(), timeout=timeout)
        self.sock = sock
        self.file = None
        self._host = host.strip().rstrip(".").encode("idna").decode("ascii")
        self._remaining = remaining

    def read_greeting(self) -> tuple[int, bytes]:
        return self.getreply()

    def getreply(self) -> tuple[int, bytes]:
        if self._remaining is not None and self.sock is not None:
            left = self._remaining()
            if left <= 0:
                raise TimeoutError("the check ran out of time")
            self.sock.settimeout(left)
        try:
            return super().getreply()
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib turns a read timeout into "connection closed"; keep them apart.
            if isinstance(exc.__context__, TimeoutError):
                raise TimeoutError(str(exc.__context__) or "timed out") from exc
            raise

    def secure(
        self,
        context: ssl.SSLContext,
        before_handshake: Callable[[ssl.SSLSocket], None] | None = None,
    ) -> tuple[int, bytes]:
        """STARTTLS, with a hook that sees the TLS socket before its handshake starts.

        smtplib's `starttls` hands the socket over to TLS and shakes hands in one call, so
        nobody else can reach the connection while the handshake blocks; the hook lets a
        Cancel shut it down. The TLS socket is closed if the handshake fails.
        """
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("starttls"):
            raise smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server.")
        code, reply = self.docmd("STARTTLS")
        if code != 220:
            raise smtplib.SMTPResponseException(code, reply)
        assert self.sock is not None
        secured = context.wrap_socket(
            self.sock, server_hostname=self._host, do_handshake_on_connect=False
        )
        try:
            if before_handshake is not None:
                before_handshake(secured)
            secured.do_handshake()
        except BaseException:
            secured.close()
            raise
        self.sock = secured
        self.file = None
        # RFC 3207: forget everything learned before TLS.
        self.helo_resp = None
        self.ehlo_resp = None
        self.esmtp_features = {}
        self.does_esmtp = False
        return code, reply

    def sign_in(self, username: str, password: str) -> tuple[int, bytes]:
        """Sign in with the best mechanism both sides know, and take its verdict.

        smtplib's `login` tries the next mechanism after any failure, so one wrong
        password costs two or three failed attempts, which brings account lockouts and
        throttling sooner. Here only a 504 ("mechanism not supported") moves on.
        """
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        offered = self.esmtp_features["auth"].upper().split()
        mechanisms = [name for name in _PREFERRED_MECHANISMS if name in offered]
        if not mechanisms:
            raise smtplib.SMTPException("No suitable authentication method found.")
        self.user, self.password = username, password
        last: smtplib.SMTPAuthenticationError | None = None
        for mechanism in mechanisms:
            method = getattr(self, "auth_" + mechanism.lower().replace("-", "_"))
            try:
                return self.auth(mechanism, method)
            except smtplib.SMTPAuthenticationError as exc:
                log.info("AUTH %s answered %s", mechanism, exc.smtp_code)
                if exc.smtp_code != 504:
                    raise
                last = exc
        assert last is not None
        raise last

    def sign_in_oauth(self, username: str, token: str, port: int = 0) -> tuple[int, bytes]:
        """Sign in with an OAuth2 access token over SASL XOAUTH2 or OAUTHBEARER.

        A server that refuses the token first answers 334 with an error JSON (status,
        scope); the client must answer that with an empty line (XOAUTH2) or %x01
        (OAUTHBEARER) to get the final reply. The JSON is kept in the error's text,
        because it tells why (an expired token, a missing scope) better than the 535.
        """
        self.ehlo_or_helo_if_needed()
        if not self.has_extn("auth"):
            raise smtplib.SMTPNotSupportedError("SMTP AUTH extension not supported by server.")
        offered = self.esmtp_features["auth"].upper().split()
        mechanism = next((m for m in _OAUTH_MECHANISMS if m in offered), None)
        if mechanism is None:
            raise OAuthNotOfferedError("The server offers neither XOAUTH2 nor OAUTHBEARER.")
        if mechanism == "XOAUTH2":
            initial, abort = f"user={username}\x01auth=Bearer {token}\x01\x01", ""
        else:
            initial = (
                f"n,a={_sasl_name(username)},\x01host={self._host}\x01port={port}"
                f"\x01auth=Bearer {token}\x01\x01"
            )
            abort = encode_base64(b"\x01", eol="")
        code, reply = self.docmd("AUTH", f"{mechanism} {encode_base64(initial.encode(), eol='')}")
        details = b""
        if code == 334:
            details = _decoded_challenge(reply)
            code, reply = self.docmd(abort)
        log.info("AUTH %s answered %s", mechanism, code)
        if code in (235, 503):
            return code, reply
        raise smtplib.SMTPAuthenticationError(
            code, reply + (b" " + details if details else b"")
        )

    def mail_from(self, sender: str) -> tuple[int, bytes]:
        options: list[str] = []
        if not sender.isascii():
            if not self.has_extn("smtputf8"):
                raise smtplib.SMTPNotSupportedError(
                    "the address has non-ASCII letters before the @ and the server does not "
                    "offer SMTPUTF8"
                )
            options.append("SMTPUTF8")
            self.command_encoding = "utf-8"
        return self.mail(sender, options)

    def quit_quietly(self) -> None:
        try:
            self.quit()
        except (smtplib.SMTPException, OSError):
            self.close()

    # UTF-8 sign-in (smtplib's own methods encode the secret as ASCII) ------------------------

    def auth(
        self,
        mechanism: str,
        authobject: Callable[..., str],
        *,
        initial_response_ok: bool = True,
    ) -> tuple[int, bytes]:
        mechanism = mechanism.upper()
        initial = authobject() if initial_response_ok else None
        if initial is not None:
            response = encode_base64(initial.encode("utf-8"), eol="")
            code, reply = self.docmd("AUTH", f"{mechanism} {response}")
            challenges = 1
        else:
            code, reply = self.docmd("AUTH", mechanism)
            challenges = 0
        while code == 334:
            challenges += 1
            # smtplib's auth_login reads this counter to tell the username prompt from
            # the password prompt.
            self._auth_challenge_count = challenges
            challenge = base64.decodebytes(reply)
            response = encode_base64(authobject(challenge).encode("utf-8"), eol="")
            code, reply = self.docmd(response)
            if challenges > _MAX_CHALLENGES:
                raise smtplib.SMTPException("Server AUTH mechanism infinite loop.")
        if code in (235, 503):
            return code, reply
        raise smtplib.SMTPAuthenticationError(code, reply)

    @overload
    def auth_cram_md5(self, challenge: None = None) -> None: ...
    @overload
    def auth_cram_md5(self, challenge: ReadableBuffer) -> str: ...
    def auth_cram_md5(self, challenge: ReadableBuffer | None = None) -> str | None:
        if challenge is None:
            return None  # smtplib's protocol: CRAM-MD5 has no initial response
        digest = hmac.HMAC(self.password.encode("utf-8"), challenge, "md5").hexdigest()
        return f"{self.user} {digest}"

    def __repr__(self) -> str:
        return f"<SmtpSession host={self._host!r}>"
