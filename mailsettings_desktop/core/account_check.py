"""The account check: connect, secure, greet, sign in and try the sender, then quit.

`run_check` is a plain blocking function so tests can call it directly against a local
server; the GUI runs it on a worker thread. The whole check shares one deadline (the
request's timeout), and a `CancelToken` can stop it from another thread at any stage:
waits are sliced so a cancel is noticed within a fraction of a second, and a blocked
socket read is woken by shutting the socket down.
"""

from __future__ import annotations

import errno
import hashlib
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
from pathlib import Path

from mailsettings_desktop.core.check_result import (
    Category,
    CheckRequest,
    CheckResult,
    Stage,
    Suggestion,
)
from mailsettings_desktop.core.diagnosis import (
    category_for_reply,
    enhanced_code_in,
    explanation_for,
)
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.smtp_session import SmtpSession, ascii_address

log = logging.getLogger(__name__)

EXTRA_CA_ENV = "MAILSETTINGS_EXTRA_CA_FILE"
POLL_SECONDS = 0.05

ProgressCallback = Callable[[Stage], None]


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
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
        if self.cancelled:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Cancelled(Exception):
    pass


@dataclass
class _Failure(Exception):
    """Raised inside the check to stop at a stage with a category and the technical facts."""

    category: Category
    code: int | None = None
    text: str = ""
    exception: str = ""
    suggestion: Suggestion | None = None


def tls_context(extra_ca_file: Path | None = None) -> ssl.SSLContext:
    """System authorities, plus those in `MAILSETTINGS_EXTRA_CA_FILE` or `extra_ca_file`."""
    context = ssl.create_default_context()
    extra = extra_ca_file or os.environ.get(EXTRA_CA_ENV)
    if extra:
        context.load_verify_locations(cafile=str(extra))
    return context


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()


def run_check(
    request: CheckRequest,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
) -> CheckResult:
    """Run the whole check and return one typed result; never raises for server trouble."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    stage = Stage.RESOLVING
    log.info(
        "check start: host=%s port=%d security=%s", request.host, request.port, request.security
    )

    def enter(next_stage: Stage) -> None:
        nonlocal stage
        if cancel.cancelled:
            raise _Cancelled
        stage = next_stage
        if progress is not None:
            progress(next_stage)

    try:
        deadline = _Deadline(request.timeout_seconds)
        with _Conversation(request, deadline, cancel, enter) as talk:
            talk.run()
        result = _result(request, Stage.DONE, Category.OK)
    except _Cancelled:
        result = _result(request, stage, Category.CANCELLED)
    except _Failure as failure:
        if cancel.cancelled:
            result = _result(request, stage, Category.CANCELLED)
        else:
            result = _result(
                request, stage, failure.category, failure.code, failure.text,
                failure.exception, failure.suggestion,
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
    return result


def _result(
    request: CheckRequest,
    stage: Stage,
    category: Category,
    code: int | None = None,
    text: str = "",
    exception: str = "",
    suggestion: Suggestion | None = None,
) -> CheckResult:
    explanation = explanation_for(category, request.provider_key)
    return CheckResult(
        ok=category is Category.OK,
        stage=stage,
        category=category,
        headline=explanation.headline,
        advice=explanation.advice,
        field=explanation.field,
        reply_code=code,
        enhanced_code=enhanced_code_in(text) if text else None,
        server_text=text,
        exception=exception,
        suggestion=suggestion,
    )


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _reply_text(raw: bytes | str) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    return " ".join(raw.split())


class _Conversation:
    """One connection to the server, walked through the stages of the check."""

    def __init__(
        self,
        request: CheckRequest,
        deadline: _Deadline,
        cancel: CancelToken,
        enter: Callable[[Stage], None],
    ) -> None:
        self.request = request
        self.deadline = deadline
        self.cancel = cancel
        self.enter = enter
        self.context = tls_context(request.extra_ca_file)
        self.sock: socket.socket | None = None
        self.smtp: SmtpSession | None = None

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

    def run(self) -> None:
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
        smtp.quit_quietly()

    def _io_timeout(self) -> float:
        remaining = self.deadline.remaining()
        if remaining <= 0:
            raise _Failure(Category.REPLY_TIMEOUT, exception="the check ran out of time")
        return remaining

    def _resolve(self) -> list[tuple[int, int, int, str, tuple[str, int]]]:
        request = self.request
        outcome: dict[str, object] = {}
        done = threading.Event()

        def lookup() -> None:
            try:
                host = request.host.strip().rstrip(".").encode("idna").decode("ascii")
                outcome["value"] = socket.getaddrinfo(
                    host, request.port, type=socket.SOCK_STREAM
                )
            except (OSError, UnicodeError) as exc:
                outcome["error"] = exc
            finally:
                done.set()

        # getaddrinfo cannot be interrupted, so it runs on a helper thread we can abandon.
        threading.Thread(target=lookup, name="check-resolve", daemon=True).start()
        while not done.wait(POLL_SECONDS):
            if self.cancel.cancelled:
                raise _Cancelled
            if self.deadline.remaining() <= 0:
                raise _Failure(Category.DNS_FAILURE, exception="name lookup timed out")
        error = outcome.get("error")
        if error is not None:
            raise _Failure(Category.DNS_FAILURE, exception=_describe(error))  # type: ignore[arg-type]
        return outcome["value"]  # type: ignore[return-value]

    def _connect(
        self, addresses: list[tuple[int, int, int, str, tuple[str, int]]]
    ) -> socket.socket:
        last: _Failure | None = None
        for family, kind, proto, _name, address in addresses:
            sock = socket.socket(family, kind, proto)
            self.cancel.watch(sock)
            try:
                self._connect_one(sock, address)
            except _Failure as failure:
                sock.close()
                last = failure
                if failure.category is Category.CONNECT_TIMEOUT:
                    break
                continue
            except BaseException:
                sock.close()
                raise
            return sock
        assert last is not None
        raise last

    def _connect_one(self, sock: socket.socket, address: tuple[str, int]) -> None:
        sock.setblocking(False)
        status = sock.connect_ex(address)
        in_progress = {0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN,
                       getattr(errno, "WSAEWOULDBLOCK", -1)}
        if status not in in_progress:
            raise _connect_failure(status)
        while True:
            if self.cancel.cancelled:
                raise _Cancelled
            remaining = self.deadline.remaining()
            if remaining <= 0:
                raise _Failure(
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
        sock.settimeout(self._io_timeout())

    def _secure(self, sock: socket.socket) -> socket.socket:
        request = self.request
        if request.trusted_cert_sha256:
            context = _pinned_context()
        else:
            context = self.context
        try:
            secured = context.wrap_socket(
                sock, server_hostname=request.host.strip().encode("idna").decode("ascii")
            )
        except ssl.SSLCertVerificationError as exc:
            raise _Failure(_certificate_category(exc), exception=_describe(exc)) from exc
        except ssl.SSLError as exc:
            raise _tls_failure(exc, request, implicit=True) from exc
        except TimeoutError as exc:
            raise _Failure(
                Category.GREETING_TIMEOUT, exception="no answer to the TLS handshake"
            ) from exc
        except ConnectionError as exc:
            raise _Failure(Category.CONNECTION_CLOSED, exception=_describe(exc)) from exc
        self.cancel.watch(secured)
        if request.trusted_cert_sha256:
            _check_pin(secured, request.trusted_cert_sha256)
        return secured

    def _greet(self, smtp: SmtpSession) -> None:
        try:
            code, text = smtp.read_greeting()
        except TimeoutError as exc:
            if self.request.security is not Security.SSL and self.request.port == 465:
                # Port 465 is implicit TLS: the server waits for our handshake, not us.
                raise _Failure(
                    Category.PLAIN_ON_TLS_PORT,
                    exception=_describe(exc),
                    suggestion=Suggestion(Security.SSL, 465),
                ) from exc
            raise _Failure(Category.GREETING_TIMEOUT, exception=_describe(exc)) from exc
        except smtplib.SMTPServerDisconnected as exc:
            raise _Failure(Category.CONNECTION_CLOSED, exception=_describe(exc)) from exc
        except OSError as exc:
            raise _Failure(Category.CONNECTION_CLOSED, exception=_describe(exc)) from exc
        if code == -1:
            raise _Failure(Category.NOT_SMTP, text=_reply_text(text))
        if code != 220:
            reply = _reply_text(text)
            raise _Failure(
                category_for_reply(Stage.GREETING, code, reply, self.request.provider_key),
                code,
                reply,
            )

    def _hello(self, smtp: SmtpSession) -> None:
        code, text = self._exchange(smtp.ehlo)
        if code == -1:
            raise _Failure(Category.NOT_SMTP, text=_reply_text(text))
        if not 200 <= code < 300:
            code, text = self._exchange(smtp.helo)
            if not 200 <= code < 300:
                reply = _reply_text(text)
                raise _Failure(
                    category_for_reply(Stage.GREETING, code, reply, self.request.provider_key),
                    code,
                    reply,
                )

    def _starttls(self, smtp: SmtpSession) -> None:
        if not smtp.has_extn("starttls"):
            raise _Failure(
                Category.STARTTLS_NOT_OFFERED,
                exception="the server's EHLO reply does not list STARTTLS",
                suggestion=Suggestion(Security.SSL, 465),
            )
        context = _pinned_context() if self.request.trusted_cert_sha256 else self.context
        try:
            code, text = smtp.starttls(context=context)
        except ssl.SSLCertVerificationError as exc:
            raise _Failure(_certificate_category(exc), exception=_describe(exc)) from exc
        except ssl.SSLError as exc:
            raise _tls_failure(exc, self.request, implicit=False) from exc
        except smtplib.SMTPResponseException as exc:
            reply = _reply_text(exc.smtp_error)
            raise _Failure(
                category_for_reply(Stage.SECURING, exc.smtp_code, reply,
                                   self.request.provider_key),
                exc.smtp_code,
                reply,
            ) from exc
        except TimeoutError as exc:
            raise _Failure(Category.REPLY_TIMEOUT, exception=_describe(exc)) from exc
        except (smtplib.SMTPServerDisconnected, ConnectionError) as exc:
            raise _Failure(Category.CONNECTION_CLOSED, exception=_describe(exc)) from exc
        if smtp.sock is not None:
            self.cancel.watch(smtp.sock)
            if self.request.trusted_cert_sha256:
                _check_pin(smtp.sock, self.request.trusted_cert_sha256)  # type: ignore[arg-type]
        self._hello(smtp)

    def _authenticate(self, smtp: SmtpSession) -> None:
        request = self.request
        if not smtp.has_extn("auth"):
            raise _Failure(
                Category.AUTH_NOT_OFFERED,
                exception="the server's EHLO reply does not list AUTH",
                suggestion=(
                    Suggestion(Security.STARTTLS, 587)
                    if request.security is Security.NONE else None
                ),
            )
        try:
            code, text = smtp.sign_in(request.username, request.password)
        except smtplib.SMTPAuthenticationError as exc:
            reply = _reply_text(exc.smtp_error)
            raise _Failure(
                category_for_reply(Stage.AUTHENTICATING, exc.smtp_code, reply,
                                   request.provider_key),
                exc.smtp_code,
                reply,
                suggestion=_encryption_suggestion(request, exc.smtp_code, reply),
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            raise _Failure(Category.AUTH_NOT_OFFERED, exception=str(exc)) from exc
        except smtplib.SMTPException as exc:
            if "No suitable authentication method" in str(exc):
                raise _Failure(
                    Category.NO_COMMON_MECHANISM,
                    text=f"Server offers: {smtp.esmtp_features.get('auth', '').strip()}",
                    exception=str(exc),
                ) from exc
            raise self._session_failure(exc) from exc
        except (TimeoutError, OSError) as exc:
            raise self._session_failure(exc) from exc

    def _check_sender(self, smtp: SmtpSession) -> None:
        request = self.request
        try:
            code, text = smtp.mail_from(ascii_address(request.email))
        except (smtplib.SMTPException, OSError) as exc:
            raise self._session_failure(exc) from exc
        if not 200 <= code < 300:
            reply = _reply_text(text)
            raise _Failure(
                category_for_reply(Stage.CHECKING_SENDER, code, reply, request.provider_key),
                code,
                reply,
                suggestion=_encryption_suggestion(request, code, reply),
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

    def _session_failure(self, exc: BaseException) -> _Failure:
        if self.cancel.cancelled:
            return _Failure(Category.CANCELLED)
        if isinstance(exc, TimeoutError):
            return _Failure(Category.REPLY_TIMEOUT, exception=_describe(exc))
        if isinstance(exc, smtplib.SMTPResponseException):
            reply = _reply_text(exc.smtp_error)
            return _Failure(
                category_for_reply(None, exc.smtp_code, reply, self.request.provider_key),
                exc.smtp_code,
                reply,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected | ConnectionError):
            return _Failure(Category.CONNECTION_CLOSED, exception=_describe(exc))
        return _Failure(Category.UNEXPECTED, exception=_describe(exc))


def _connect_failure(status: int) -> _Failure:
    description = f"{errno.errorcode.get(status, status)}: {os.strerror(status)}"
    if status in {errno.ECONNREFUSED, getattr(errno, "WSAECONNREFUSED", -1)}:
        return _Failure(Category.CONNECTION_REFUSED, exception=description)
    if status in {errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EADDRNOTAVAIL,
                  getattr(errno, "WSAENETUNREACH", -1), getattr(errno, "WSAEHOSTUNREACH", -1)}:
        return _Failure(Category.NO_ROUTE, exception=description)
    if status in {errno.ETIMEDOUT, getattr(errno, "WSAETIMEDOUT", -1)}:
        return _Failure(Category.CONNECT_TIMEOUT, exception=description)
    return _Failure(Category.UNEXPECTED, exception=description)


def _certificate_category(exc: ssl.SSLCertVerificationError) -> Category:
    # OpenSSL's X509_V_ERR_* numbers.
    code = exc.verify_code
    if code == 10:
        return Category.CERT_EXPIRED
    if code == 9:
        return Category.CERT_NOT_YET_VALID
    if code == 62 or "hostname mismatch" in (exc.verify_message or "").lower():
        return Category.CERT_HOSTNAME_MISMATCH
    return Category.CERT_UNTRUSTED


def _tls_failure(exc: ssl.SSLError, request: CheckRequest, implicit: bool) -> _Failure:
    reason = (exc.reason or "").upper()
    if implicit and reason in {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE",
                               "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"}:
        return _Failure(
            Category.TLS_ON_PLAIN_PORT,
            exception=_describe(exc),
            suggestion=Suggestion(Security.STARTTLS, 587),
        )
    return _Failure(Category.TLS_FAILED, exception=_describe(exc))


def _encryption_suggestion(request: CheckRequest, code: int, text: str) -> Suggestion | None:
    if request.security is not Security.NONE:
        return None
    if category_for_reply(None, code, text, request.provider_key) is Category.ENCRYPTION_REQUIRED:
        return Suggestion(Security.STARTTLS, 587)
    return None


def _pinned_context() -> ssl.SSLContext:
    """A context that accepts any certificate, used only when comparing against a pin."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def certificate_sha256(sock: ssl.SSLSocket) -> str:
    der = sock.getpeercert(binary_form=True) or b""
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _check_pin(sock: ssl.SSLSocket, expected: str) -> None:
    actual = certificate_sha256(sock)
    if actual.replace(":", "").upper() != expected.replace(":", "").upper():
        raise _Failure(
            Category.CERT_CHANGED,
            exception=f"expected fingerprint {expected}, got {actual}",
        )
