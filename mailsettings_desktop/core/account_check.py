"""The account check: connect, secure, greet, sign in and try the sender, then quit.

`run_check` is a plain blocking function so tests can call it directly against a local
server; the GUI runs it on a worker thread. The whole check shares one deadline (the
request's timeout), and a `CancelToken` can stop it from another thread at any stage:
waits are sliced so a cancel is noticed within a fraction of a second, and a blocked
socket read is woken by shutting the socket down.

Two helper connections may be opened besides the main one, both only to explain a
failure: a short TLS probe when a server never greets (is this an SSL/TLS port?), and an
unverified handshake when a certificate is rejected (to show the admin that certificate).
"""

from __future__ import annotations

import base64
import contextlib
import errno
import logging
import os
import select
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from mailsettings_desktop.core.certificates import (
    certificate_info,
    same_fingerprint,
    sha256_fingerprint,
)
from mailsettings_desktop.core.check_result import (
    Category,
    CertificateInfo,
    CheckRequest,
    CheckResult,
    Stage,
    Suggestion,
)
from mailsettings_desktop.core.diagnosis import (
    category_for_connect_error,
    category_for_reply,
    enhanced_code_in,
    explanation_for,
)
from mailsettings_desktop.core.oauth.errors import OAuthError
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.smtp_session import (
    OAuthNotOfferedError,
    SmtpSession,
    ascii_address,
)
from mailsettings_desktop.core.test_message import TestMessage

# Re-exported: the trust store lived here first, and callers still import it from here.
from mailsettings_desktop.core.trust import EXTRA_CA_ENV as EXTRA_CA_ENV
from mailsettings_desktop.core.trust import tls_context as tls_context

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# The TLS probe gets the last part of the greeting wait: a quarter of the timeout, at most
# this long. Probing only when the greeting is nearly overdue keeps it off servers that
# merely greet slowly (some treat a client that talks first as a spammer).
PROBE_MAX_SECONDS = 1.5
PROBE_SHARE = 0.25
# Fetching a rejected certificate may run this far past the deadline: the check has
# already failed, and the certificate is what the admin needs to decide.
CERT_FETCH_GRACE_SECONDS = 0.5
# Reasons OpenSSL gives when the other side answered a handshake with plain text.
PLAIN_TEXT_REASONS = frozenset({
    "WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE",
    "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST", "UNEXPECTED_RECORD", "RECORD_TOO_LARGE",
})

ProgressCallback = Callable[[Stage], None]
AddressInfo = tuple[int, int, int, str, tuple[str, int]]
# Looks up (host, port); the default is socket.getaddrinfo. Tests pass their own.
Resolver = Callable[[str, int], list[AddressInfo]]
# Returns an OAuth2 access token (refreshing it if need be) or raises OAuthError.
TokenSource = Callable[[], str]


class CancelToken:
    """Lets another thread stop a running check promptly."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
        if self.cancelled:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _CheckCancelledError(Exception):
    pass


@dataclass
class _CheckFailedError(Exception):
    """Raised inside the check to stop at a stage with a category and the technical facts."""

    category: Category
    code: int | None = None
    text: str = ""
    exception: str = ""
    suggestion: Suggestion | None = None
    certificate: CertificateInfo | None = None


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    @classmethod
    def at(cls, end: float) -> _Deadline:
        deadline = cls(0)
        deadline.end = end
        return deadline

    def remaining(self) -> float:
        return self.end - time.monotonic()


def run_check(
    request: CheckRequest,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    resolver: Resolver | None = None,
    message: TestMessage | None = None,
    token_source: TokenSource | None = None,
) -> CheckResult:
    """Run the whole check and return one typed result; never raises for server trouble.

    With `message`, the check goes on after the sender test and sends that message; the
    result is then MESSAGE_SENT with the server's reply to the message.

    When the request signs in with OAuth2 and carries no access token, `token_source` is
    called at the sign-in stage (on a helper thread, so Cancel and the deadline still
    hold); an `OAuthError` it raises becomes the result, explained like any failure.
    """
    cancel = cancel or CancelToken()
    started = time.monotonic()
    stage = Stage.RESOLVING
    log.info(
        "check start: host=%s port=%d security=%s", request.host, request.port, request.security
    )

    def enter(next_stage: Stage) -> None:
        nonlocal stage
        if cancel.cancelled:
            raise _CheckCancelledError
        stage = next_stage
        if progress is not None:
            progress(next_stage)

    try:
        deadline = _Deadline(request.timeout_seconds)
        with _Conversation(request, deadline, cancel, enter, resolver, token_source) as talk:
            talk.run(message)
        if message is None or talk.sent_reply is None:
            result = _result(request, Stage.DONE, Category.OK)
        else:
            code, text = talk.sent_reply
            result = _result(request, Stage.DONE, Category.MESSAGE_SENT, code, text)
    except _CheckCancelledError:
        result = _result(request, stage, Category.CANCELLED)
    except _CheckFailedError as failure:
        if cancel.cancelled:
            result = _result(request, stage, Category.CANCELLED)
        else:
            result = _result(
                request, stage, failure.category, failure.code, failure.text,
                failure.exception, failure.suggestion, failure.certificate,
            )
    except Exception as exc:  # a bug or an unforeseen library error: log it, explain it
        log.exception("unexpected error during account check at stage %s", stage)
        category = Category.CANCELLED if cancel.cancelled else Category.UNEXPECTED
        result = _result(request, stage, category, exception=_describe(exc))
    result = replace(result, elapsed_seconds=time.monotonic() - started)
    log.info(
        "check end: host=%s stage=%s outcome=%s code=%s elapsed=%.2fs",
        request.host, result.stage, result.category, result.reply_code, result.elapsed_seconds,
    )
    if result.exception:
        log.info("check detail: %s", result.exception)
    return result


def _result(
    request: CheckRequest,
    stage: Stage,
    category: Category,
    code: int | None = None,
    text: str = "",
    exception: str = "",
    suggestion: Suggestion | None = None,
    certificate: CertificateInfo | None = None,
) -> CheckResult:
    explanation = explanation_for(category, request.provider_key)
    return CheckResult(
        ok=category in (Category.OK, Category.MESSAGE_SENT),
        stage=stage,
        category=category,
        headline=explanation.headline,
        advice=explanation.advice,
        field=explanation.field,
        reply_code=code,
        enhanced_code=enhanced_code_in(text) if text else None,
        server_text=scrub_secrets(text, request),
        exception=scrub_secrets(exception, request),
        suggestion=suggestion,
        certificate=certificate,
    )


def _secret_forms(request: CheckRequest) -> set[str]:
    """The password and token as they could come back from a server that echoes them:
    plain, and base64-encoded alone or inside a PLAIN or XOAUTH2 sign-in."""
    forms: set[str] = set()
    user = request.username
    for secret in (request.password, request.access_token or ""):
        if len(secret) < 3:
            continue
        forms.add(secret)
        for blob in (secret, f"\0{user}\0{secret}", f"{user}\0{user}\0{secret}",
                     f"user={user}\x01auth=Bearer {secret}\x01\x01"):
            forms.add(base64.b64encode(blob.encode("utf-8")).decode("ascii"))
    return forms


def scrub_secrets(text: str, request: CheckRequest) -> str:
    """Text for Details and the log with every form of the secret replaced by ***.

    A misbehaving server may echo what it received; Details is copied into helpdesk
    tickets, so the password must not survive there in any encoding.
    """
    if not text:
        return text
    for form in sorted(_secret_forms(request), key=len, reverse=True):
        text = text.replace(form, "***")
    return text


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _reply_text(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return " ".join(raw.split())


def _idna_host(host: str) -> str:
    return host.strip().rstrip(".").encode("idna").decode("ascii")


class _Conversation:
    """One connection to the server, walked through the stages of the check."""

    def __init__(
        self,
        request: CheckRequest,
        deadline: _Deadline,
        cancel: CancelToken,
        enter: Callable[[Stage], None],
        resolver: Resolver | None = None,
        token_source: TokenSource | None = None,
    ) -> None:
        self.request = request
        self.token_source = token_source
        self.deadline = deadline
        self.cancel = cancel
        self._announce = enter
        self.stage = Stage.RESOLVING
        self.resolver = resolver or _system_resolver
        self.context = tls_context(request.extra_ca_file)
        self.sock: socket.socket | None = None
        self.sent_reply: tuple[int, str] | None = None
        self.smtp: SmtpSession | None = None
        # The address the main connection reached, for the helper connections.
        self.peer: tuple[int, tuple[str, int]] | None = None

    def enter(self, stage: Stage) -> None:
        """Move to the next stage; a reply that fails later is read in its light."""
        self._announce(stage)
        self.stage = stage

    def __enter__(self) -> _Conversation:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self.smtp is not None:
            self.smtp.close()
        if self.sock is not None:
            self.sock.close()

    # The stages ---------------------------------------------------------------------------

    def run(self, message: TestMessage | None = None) -> None:
        request = self.request
        self.enter(Stage.RESOLVING)
        addresses = self._resolve()
        self.enter(Stage.CONNECTING)
        self.sock = self._connect(addresses)
        if request.security is Security.SSL:
            self.enter(Stage.SECURING)
            self.sock = self._secure(self.sock)
        self.enter(Stage.GREETING)
        smtp = self.smtp = SmtpSession(
            self.sock, request.host, self._io_timeout(), self.deadline.remaining
        )
        self._greet(smtp)
        self._hello(smtp)
        if request.security is Security.STARTTLS:
            self.enter(Stage.SECURING)
            self._starttls(smtp)
        self.enter(Stage.AUTHENTICATING)
        self._authenticate(smtp)
        self.enter(Stage.CHECKING_SENDER)
        self._check_sender(smtp)
        if message is not None:
            self.enter(Stage.SENDING)
            self.sent_reply = self._send(smtp, message)
        smtp.quit_quietly()

    def _send(self, smtp: SmtpSession, message: TestMessage) -> tuple[int, str]:
        """MAIL, RCPT and DATA for the test message; the server's reply to DATA."""
        request = self.request
        steps: tuple[tuple[Callable[[], tuple[int, bytes]], range], ...] = (
            (lambda: smtp.mail_from(ascii_address(request.email)), range(200, 300)),
            (lambda: smtp.rcpt(ascii_address(message.recipient)), range(200, 300)),
            (lambda: smtp.data(message.as_bytes()), range(200, 300)),
        )
        code, text = 0, b""
        for command, accepted in steps:
            code, text = self._exchange(command)
            if code not in accepted:
                reply = _reply_text(text)
                raise _CheckFailedError(
                    category_for_reply(Stage.SENDING, code, reply, request.provider_key),
                    code,
                    reply,
                )
        return code, _reply_text(text)

    def _io_timeout(self) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise _CheckFailedError(
                Category.REPLY_TIMEOUT, exception="the check ran out of time"
            )
        return remaining

    def _resolve(self) -> list[AddressInfo]:
        request = self.request
        outcome: dict[str, object] = {}
        done = threading.Event()
        resolver = self.resolver

        def lookup() -> None:
            try:
                outcome["value"] = resolver(_idna_host(request.host), request.port)
            except (OSError, UnicodeError) as exc:
                outcome["error"] = exc
            finally:
                done.set()

        # getaddrinfo cannot be interrupted, so it runs on a helper thread we can abandon.
        threading.Thread(target=lookup, name="check-resolve", daemon=True).start()
        while not done.wait(POLL_SECONDS):
            if self.cancel.cancelled:
                raise _CheckCancelledError
            if self.deadline.remaining() <= 0:
                raise _CheckFailedError(
                    Category.DNS_FAILURE, exception="name lookup timed out"
                )
        error = outcome.get("error")
        if isinstance(error, BaseException):
            raise _CheckFailedError(Category.DNS_FAILURE, exception=_describe(error))
        addresses = outcome.get("value")
        if not isinstance(addresses, list) or not addresses:
            raise _CheckFailedError(
                Category.DNS_FAILURE, exception="the name has no address"
            )
        return addresses

    def _connect(self, addresses: list[AddressInfo]) -> socket.socket:
        last: _CheckFailedError | None = None
        for family, kind, proto, _name, address in addresses:
            sock = socket.socket(family, kind, proto)
            self.cancel.watch(sock)
            try:
                self._connect_one(sock, address, self.deadline)
            except _CheckFailedError as failure:
                sock.close()
                last = failure
                if failure.category is Category.CONNECT_TIMEOUT:
                    break
                continue
            except BaseException:
                sock.close()
                raise
            self.peer = (family, address)
            sock.settimeout(self._io_timeout())
            return sock
        assert last is not None
        raise last

    def _connect_one(
        self, sock: socket.socket, address: tuple[str, int], deadline: _Deadline
    ) -> None:
        sock.setblocking(False)
        status = sock.connect_ex(address)
        if status not in _IN_PROGRESS:
            raise _connect_failure(status)
        while True:
            if self.cancel.cancelled:
                raise _CheckCancelledError
            remaining = deadline.remaining()
            if remaining <= 0:
                raise _CheckFailedError(
                    Category.CONNECT_TIMEOUT,
                    exception=f"no answer from {address[0]} port {address[1]} in time",
                )
            _, writable, failed = select.select([], [sock], [sock], min(POLL_SECONDS, remaining))
            if writable or failed:
                break
        status = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if status != 0:
            raise _connect_failure(status)
        sock.setblocking(True)

    def _secure(self, sock: socket.socket) -> socket.socket:
        request = self.request
        context = _unverified_context() if request.trusted_cert_sha256 else self.context
        try:
            secured = self._handshake(context, sock)
        except ssl.SSLCertVerificationError as exc:
            raise self._certificate_failure(exc) from exc
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError, ConnectionError) as exc:
            raise _CheckFailedError(
                Category.CONNECTION_CLOSED, exception=_describe(exc)
            ) from exc
        except ssl.SSLError as exc:
            raise _tls_failure(exc, request, implicit=True) from exc
        except TimeoutError as exc:
            raise _CheckFailedError(
                Category.HANDSHAKE_TIMEOUT, exception="no answer to the TLS handshake"
            ) from exc
        if request.trusted_cert_sha256:
            try:
                _check_pin(secured, request.trusted_cert_sha256)
            except _CheckFailedError:
                secured.close()
                raise
        return secured

    def _handshake(self, context: ssl.SSLContext, sock: socket.socket) -> ssl.SSLSocket:
        """A TLS handshake a Cancel can interrupt; the TLS socket is closed if it fails."""
        secured = context.wrap_socket(
            sock, server_hostname=_idna_host(self.request.host), do_handshake_on_connect=False
        )
        try:
            self.cancel.watch(secured)
            secured.do_handshake()
        except BaseException:
            secured.close()
            raise
        return secured

    def _greet(self, smtp: SmtpSession) -> None:
        probe: bool | None = None
        if self.request.security is not Security.SSL:
            probe = self._await_greeting()
        try:
            code, text = smtp.read_greeting()
        except TimeoutError as exc:
            if probe is None and self.request.port == 465:
                # No time to probe, but port 465 is implicit TLS: the server waits for us.
                raise _CheckFailedError(
                    Category.PLAIN_ON_TLS_PORT,
                    exception=_describe(exc),
                    suggestion=Suggestion(Security.SSL, 465),
                ) from exc
            raise _CheckFailedError(
                Category.GREETING_TIMEOUT, exception=_describe(exc)
            ) from exc
        except smtplib.SMTPResponseException as exc:
            # smtplib's "line too long": whatever this is, it does not speak SMTP.
            raise _CheckFailedError(Category.NOT_SMTP, exception=_describe(exc)) from exc
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise _CheckFailedError(
                Category.CONNECTION_CLOSED, exception=_describe(exc)
            ) from exc
        if code == -1:
            raise _CheckFailedError(Category.NOT_SMTP, text=_reply_text(text))
        if code != 220:
            reply = _reply_text(text)
            raise _CheckFailedError(
                category_for_reply(Stage.GREETING, code, reply, self.request.provider_key),
                code,
                reply,
            )

    def _await_greeting(self) -> bool | None:
        """Wait for the greeting; when it is nearly overdue, ask whether the port wants TLS.

        The probe runs on a helper thread while the greeting is still awaited, so a late
        greeting is not missed. Returns the probe's verdict (None when it could not tell).
        A port that completes a TLS handshake on a second connection ends the check at
        once with PLAIN_ON_TLS_PORT; otherwise the greeting keeps its remaining time.
        """
        assert self.sock is not None and self.peer is not None
        budget = min(PROBE_MAX_SECONDS, self.request.timeout_seconds * PROBE_SHARE)
        wait = self.deadline.remaining() - budget
        # A cancel shuts the socket down, which makes it readable: no slicing needed here.
        if wait > 0 and select.select([self.sock], [], [], wait)[0]:
            return None
        if self.cancel.cancelled:
            raise _CheckCancelledError

        probe = socket.socket(self.peer[0], socket.SOCK_STREAM)
        # TLS takes the probe's socket over; a duplicate still reaches the connection, so
        # the probe can be stopped as soon as it is no longer needed.
        probe_handle = probe.dup()
        self.cancel.watch(probe_handle)
        verdict: list[bool | None] = []
        done = threading.Event()

        def run_probe() -> None:
            try:
                verdict.append(self._probe_tls(probe))
            except Exception:  # the probe only adds a hint; it must never end the check
                log.exception("TLS probe failed")
                verdict.append(None)
            finally:
                probe.close()
                done.set()

        threading.Thread(target=run_probe, name="check-tls-probe", daemon=True).start()
        try:
            while self.deadline.remaining() > 0 and not self.cancel.cancelled:
                if select.select([self.sock], [], [], POLL_SECONDS)[0]:
                    return None  # the greeting (or a hang-up) came after all
                if done.is_set():
                    break
        finally:
            with contextlib.suppress(OSError):
                probe_handle.shutdown(socket.SHUT_RDWR)
            probe_handle.close()
        if self.cancel.cancelled:
            raise _CheckCancelledError
        speaks_tls = verdict[0] if verdict else None
        log.info("no greeting yet; TLS probe says %s", speaks_tls)
        if speaks_tls:
            raise _CheckFailedError(
                Category.PLAIN_ON_TLS_PORT,
                exception="the server sent no greeting, and a TLS handshake on a second "
                          "connection to the same port succeeded",
                suggestion=Suggestion(Security.SSL, self.request.port),
            )
        return speaks_tls

    def _probe_tls(self, sock: socket.socket) -> bool | None:
        """True if the port completes a TLS handshake, False if it answers in plain text."""
        assert self.peer is not None
        deadline = _Deadline.at(self.deadline.end)
        try:
            self._connect_one(sock, self.peer[1], deadline)
            sock.settimeout(max(deadline.remaining(), POLL_SECONDS))
            self._handshake(_unverified_context(), sock).close()
            return True
        except ssl.SSLError as exc:
            reason = (exc.reason or "").upper()
            if "ALERT" in reason:  # a TLS server that disliked our hello is still TLS
                return True
            return False if reason in PLAIN_TEXT_REASONS else None
        except (_CheckFailedError, _CheckCancelledError, OSError):
            return None

    def _hello(self, smtp: SmtpSession) -> None:
        code, text = self._exchange(smtp.ehlo)
        if code == -1:
            raise _CheckFailedError(Category.NOT_SMTP, text=_reply_text(text))
        if not 200 <= code < 300:
            code, text = self._exchange(smtp.helo)
            if code == -1:
                raise _CheckFailedError(Category.NOT_SMTP, text=_reply_text(text))
            if not 200 <= code < 300:
                reply = _reply_text(text)
                raise _CheckFailedError(
                    category_for_reply(Stage.GREETING, code, reply, self.request.provider_key),
                    code,
                    reply,
                )

    def _starttls(self, smtp: SmtpSession) -> None:
        request = self.request
        if not smtp.has_extn("starttls"):
            raise _CheckFailedError(
                Category.STARTTLS_NOT_OFFERED,
                exception="the server's EHLO reply does not list STARTTLS",
                suggestion=Suggestion(Security.SSL, 465),
            )
        context = _unverified_context() if request.trusted_cert_sha256 else self.context
        try:
            smtp.secure(context, self.cancel.watch)
        except ssl.SSLCertVerificationError as exc:
            raise self._certificate_failure(exc) from exc
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError) as exc:
            raise _CheckFailedError(
                Category.CONNECTION_CLOSED, exception=_describe(exc)
            ) from exc
        except ssl.SSLError as exc:
            raise _tls_failure(exc, request, implicit=False) from exc
        except smtplib.SMTPResponseException as exc:
            reply = _reply_text(exc.smtp_error)
            raise _CheckFailedError(
                category_for_reply(Stage.SECURING, exc.smtp_code, reply, request.provider_key),
                exc.smtp_code,
                reply,
            ) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise self._session_failure(exc) from exc
        if request.trusted_cert_sha256 and isinstance(smtp.sock, ssl.SSLSocket):
            _check_pin(smtp.sock, request.trusted_cert_sha256)
        self._hello(smtp)

    def _authenticate(self, smtp: SmtpSession) -> None:
        request = self.request
        if not smtp.has_extn("auth"):
            if request.security is Security.NONE and smtp.has_extn("starttls"):
                # The usual setup: sign-in is offered only once the connection is encrypted.
                raise _CheckFailedError(
                    Category.ENCRYPTION_REQUIRED,
                    exception="the server lists AUTH only after STARTTLS",
                    suggestion=Suggestion(Security.STARTTLS, request.port),
                )
            raise _CheckFailedError(
                Category.AUTH_NOT_OFFERED,
                exception="the server's EHLO reply does not list AUTH",
                suggestion=_auth_suggestion(request),
            )
        try:
            if request.uses_oauth:
                smtp.sign_in_oauth(request.username, self._access_token(), request.port)
            else:
                smtp.sign_in(request.username, request.password)
        except OAuthNotOfferedError as exc:
            raise _CheckFailedError(
                Category.OAUTH_NOT_OFFERED,
                text=f"Server offers: {smtp.esmtp_features.get('auth', '').strip()}",
                exception=str(exc),
            ) from exc
        except smtplib.SMTPAuthenticationError as exc:
            reply = _reply_text(exc.smtp_error)
            raise _CheckFailedError(
                category_for_reply(Stage.AUTHENTICATING, exc.smtp_code, reply,
                                   request.provider_key, request.auth_method),
                exc.smtp_code,
                reply,
                suggestion=_encryption_suggestion(request, smtp, exc.smtp_code, reply),
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise _CheckFailedError(Category.AUTH_NOT_OFFERED, exception=str(exc)) from exc
        except smtplib.SMTPException as exc:
            if "No suitable authentication method" in str(exc):
                raise _CheckFailedError(
                    Category.NO_COMMON_MECHANISM,
                    text=f"Server offers: {smtp.esmtp_features.get('auth', '').strip()}",
                    exception=str(exc),
                ) from exc
            raise self._session_failure(exc) from exc
        except OSError as exc:
            raise self._session_failure(exc) from exc

    def _access_token(self) -> str:
        """The request's token, or one from the token source, fetched where a Cancel and
        the deadline can interrupt the wait (an HTTP request cannot be)."""
        if self.request.access_token:
            return self.request.access_token
        source = self.token_source
        if source is None:
            raise _CheckFailedError(Category.OAUTH_SIGN_IN_AGAIN,
                                    exception="no access token and no way to get one")
        outcome: dict[str, object] = {}
        done = threading.Event()

        def fetch() -> None:
            try:
                outcome["token"] = source()
            except Exception as exc:  # handed to the check's thread below
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=fetch, name="check-oauth-token", daemon=True).start()
        while not done.wait(POLL_SECONDS):
            if self.cancel.cancelled:
                raise _CheckCancelledError
            if self.deadline.remaining() <= 0:
                raise _CheckFailedError(Category.OAUTH_UNAVAILABLE,
                                        exception="the sign-in service did not answer in time")
        error = outcome.get("error")
        if isinstance(error, OAuthError):
            raise _CheckFailedError(error.category, exception=error.detail()) from error
        if isinstance(error, BaseException):
            raise error
        token = outcome.get("token")
        if not isinstance(token, str) or not token:
            raise _CheckFailedError(Category.OAUTH_PROVIDER_ERROR,
                                    exception="the sign-in service gave no access token")
        return token

    def _check_sender(self, smtp: SmtpSession) -> None:
        request = self.request
        try:
            code, text = smtp.mail_from(ascii_address(request.email))
        except (smtplib.SMTPException, OSError) as exc:
            raise self._session_failure(exc) from exc
        if code == -1:
            raise _CheckFailedError(Category.NOT_SMTP, text=_reply_text(text))
        if not 200 <= code < 300:
            reply = _reply_text(text)
            raise _CheckFailedError(
                category_for_reply(Stage.CHECKING_SENDER, code, reply, request.provider_key),
                code,
                reply,
                suggestion=_encryption_suggestion(request, smtp, code, reply),
            )
        try:
            smtp.rset()
        except (smtplib.SMTPException, OSError) as exc:
            log.info("RSET after MAIL FROM failed: %s", type(exc).__name__)

    # Helpers -------------------------------------------------------------------------------

    def _exchange(self, command: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
        try:
            return command()
        except (smtplib.SMTPException, OSError) as exc:
            raise self._session_failure(exc) from exc

    def _session_failure(self, exc: BaseException) -> _CheckFailedError:
        if self.cancel.cancelled:
            return _CheckFailedError(Category.CANCELLED)
        if isinstance(exc, TimeoutError):
            category = (
                Category.HANDSHAKE_TIMEOUT if self.stage is Stage.SECURING
                else Category.REPLY_TIMEOUT
            )
            return _CheckFailedError(category, exception=_describe(exc))
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = _reply_text(exc.smtp_error)
            if exc.smtp_code == -1 or reply == "Line too long.":
                return _CheckFailedError(Category.NOT_SMTP, text=reply)
            return _CheckFailedError(
                category_for_reply(self.stage, exc.smtp_code, reply, self.request.provider_key),
                exc.smtp_code,
                reply,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError | ssl.SSLEOFError):
            return _CheckFailedError(Category.CONNECTION_CLOSED, exception=_describe(exc))
        return _CheckFailedError(Category.UNEXPECTED, exception=_describe(exc))

    def _certificate_failure(self, exc: ssl.SSLCertVerificationError) -> _CheckFailedError:
        """Tell the certificate problems apart and fetch the certificate to show."""
        category = _certificate_category(exc)
        return _CheckFailedError(
            category,
            exception=_describe(exc),
            certificate=self._fetch_certificate(),
        )

    def _fetch_certificate(self) -> CertificateInfo | None:
        """The server's certificate, from a second connection that does not verify it.

        The rejected handshake leaves nothing to read the certificate from, and the admin
        needs its subject, dates and fingerprint to decide whether to trust it.
        """
        if self.peer is None:
            return None
        request = self.request
        family, address = self.peer
        deadline = _Deadline.at(self.deadline.end + CERT_FETCH_GRACE_SECONDS)
        sock = socket.socket(family, socket.SOCK_STREAM)
        self.cancel.watch(sock)
        session: SmtpSession | None = None
        secured: ssl.SSLSocket | None = None
        try:
            self._connect_one(sock, address, deadline)
            sock.settimeout(max(deadline.remaining(), POLL_SECONDS))
            context = _unverified_context()
            if request.security is Security.SSL:
                secured = self._handshake(context, sock)
            else:
                session = SmtpSession(sock, request.host, deadline.remaining(),
                                      deadline.remaining)
                code, _ = session.read_greeting()
                if code != 220:
                    return None
                session.secure(context, self.cancel.watch)
                if not isinstance(session.sock, ssl.SSLSocket):
                    return None
                secured = session.sock
            der = secured.getpeercert(binary_form=True)
            return certificate_info(der) if der else None
        except (_CheckFailedError, smtplib.SMTPException, OSError) as exc:
            log.info("could not fetch the rejected certificate: %s", type(exc).__name__)
            return None
        finally:
            if session is not None:
                session.close()
            if secured is not None:
                secured.close()
            sock.close()


# connect_ex() results that mean "still connecting" on a non-blocking socket.
_IN_PROGRESS = frozenset({
    0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN,
    getattr(errno, "WSAEWOULDBLOCK", errno.EWOULDBLOCK),
})


def _system_resolver(host: str, port: int) -> list[AddressInfo]:
    return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)  # type: ignore[return-value]


def _connect_failure(status: int) -> _CheckFailedError:
    description = f"{os.strerror(status)} (error {status})"
    return _CheckFailedError(category_for_connect_error(status), exception=description)


def _certificate_category(exc: ssl.SSLCertVerificationError) -> Category:
    # OpenSSL's X509_V_ERR_* numbers.
    code = exc.verify_code
    if code == 10:
        return Category.CERT_EXPIRED
    if code == 9:
        return Category.CERT_NOT_YET_VALID
    # 62, 64: host name or IP address mismatch.
    if code in {62, 64} or "mismatch" in (exc.verify_message or "").lower():
        return Category.CERT_HOSTNAME_MISMATCH
    return Category.CERT_UNTRUSTED


def _tls_failure(exc: ssl.SSLError, request: CheckRequest, implicit: bool) -> _CheckFailedError:
    reason = (exc.reason or "").upper()
    if implicit and reason in PLAIN_TEXT_REASONS:
        # The server answered our hello with plain text: it expects SMTP first.
        port = 587 if request.port in {25, 465} else request.port
        return _CheckFailedError(
            Category.TLS_ON_PLAIN_PORT,
            exception=_describe(exc),
            suggestion=Suggestion(Security.STARTTLS, port),
        )
    return _CheckFailedError(Category.TLS_FAILED, exception=_describe(exc))


def _auth_suggestion(request: CheckRequest) -> Suggestion | None:
    if request.security is Security.NONE or request.port == 25:
        return Suggestion(Security.STARTTLS, 587)
    return None


def _encryption_suggestion(
    request: CheckRequest, smtp: SmtpSession, code: int, text: str
) -> Suggestion | None:
    if request.security is not Security.NONE:
        return None
    if category_for_reply(None, code, text, request.provider_key) is Category.ENCRYPTION_REQUIRED:
        if smtp.has_extn("starttls"):
            return Suggestion(Security.STARTTLS, request.port)
        return Suggestion(Security.STARTTLS, 587)
    return None


def _unverified_context() -> ssl.SSLContext:
    """Accepts any certificate: only for comparing against a pin or showing a certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def certificate_sha256(sock: ssl.SSLSocket) -> str:
    """The SHA-256 fingerprint of the certificate the server presented on `sock`."""
    return sha256_fingerprint(sock.getpeercert(binary_form=True) or b"")


def _check_pin(sock: ssl.SSLSocket, expected: str) -> None:
    der = sock.getpeercert(binary_form=True) or b""
    actual = sha256_fingerprint(der)
    if not der or not same_fingerprint(actual, expected):
        raise _CheckFailedError(
            Category.CERT_CHANGED,
            exception=f"expected fingerprint {expected}, got {actual}",
            certificate=certificate_info(der) if der else None,
        )
