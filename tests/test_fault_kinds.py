"""Every kind of failure the account check must recognise, each against the fault server."""

from __future__ import annotations

import datetime as dt
import errno
import ssl

import pytest
import trustme

from mailsettings_desktop.core.account_check import run_check
from mailsettings_desktop.core.certificates import sha256_fingerprint
from mailsettings_desktop.core.check_result import (
    Category,
    CheckRequest,
    CheckResult,
    Stage,
    Suggestion,
)
from mailsettings_desktop.core.diagnosis import (
    EXPLANATIONS,
    PROVIDER_ADVICE,
    category_for_connect_error,
)
from mailsettings_desktop.core.security import Security
from tests import fault_server as faults
from tests.conftest import PASSWORD, USER
from tests.fault_server import FaultServer

TIMEOUT = 3.0


def make_request(port: int, security: Security, **changes: object) -> CheckRequest:
    values: dict[str, object] = {
        "email": USER,
        "username": USER,
        "password": PASSWORD,
        "host": faults.LOOPBACK,
        "port": port,
        "security": security,
        "timeout_seconds": TIMEOUT,
    }
    values.update(changes)
    return CheckRequest(**values)  # type: ignore[arg-type]


def check(server: FaultServer, security: Security, **changes: object) -> CheckResult:
    changes.setdefault("port", server.port)
    port = changes.pop("port")
    return run_check(make_request(port, security, **changes))  # type: ignore[arg-type]


def assert_explained(result: CheckResult, category: Category, stage: Stage) -> None:
    """The right kind, at the right stage, told in the table's words (never a traceback)."""
    assert result.category is category, result.details()
    assert result.stage is stage, result.details()
    assert not result.ok
    assert result.headline == EXPLANATIONS[category].headline
    assert result.field == EXPLANATIONS[category].field
    shown = result.headline + result.advice
    assert "Traceback" not in shown and 'File "' not in shown
    assert PASSWORD not in result.details() + repr(result)


@pytest.fixture
def start(fault_server: type[FaultServer]) -> type[FaultServer]:
    return fault_server


@pytest.fixture(scope="module")
def contexts(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    return {
        "trusted": faults.trusted_context(ca),
        "private_authority": faults.private_authority_context(),
        "self_signed": faults.self_signed_context(str(tmp_path_factory.mktemp("self"))),
        "wrong_name": faults.wrong_name_context(ca),
        "expired": faults.expired_context(ca),
        "not_yet_valid": faults.not_yet_valid_context(ca),
    }


# Reaching the server ------------------------------------------------------------------------


def test_host_that_does_not_resolve() -> None:
    # .invalid is reserved: it never resolves, and the lookup stays with the resolver.
    result = run_check(make_request(25, Security.STARTTLS, host="no-such-server.invalid"))
    assert_explained(result, Category.DNS_FAILURE, Stage.RESOLVING)
    assert result.field == "host"


def test_connection_refused() -> None:
    with faults.closed_port() as port:
        result = run_check(make_request(port, Security.STARTTLS))
    assert_explained(result, Category.CONNECTION_REFUSED, Stage.CONNECTING)
    assert result.field == "port"


def test_connect_timeout_when_nobody_answers() -> None:
    with faults.unanswered_port() as port:
        result = run_check(make_request(port, Security.SSL, timeout_seconds=1.0))
    assert_explained(result, Category.CONNECT_TIMEOUT, Stage.CONNECTING)
    assert result.elapsed_seconds < 2.0


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("ECONNREFUSED", Category.CONNECTION_REFUSED),
        ("ENETUNREACH", Category.NO_ROUTE),
        ("EHOSTUNREACH", Category.NO_ROUTE),
        ("ETIMEDOUT", Category.CONNECT_TIMEOUT),
        ("ECONNRESET", Category.CONNECTION_CLOSED),
        ("EPERM", Category.UNEXPECTED),
    ],
)
def test_connect_error_numbers(name: str, category: Category) -> None:
    # "No route" cannot be produced without traffic beyond loopback, so the mapping from
    # the error number is tested here; the connect path itself is exercised above.
    assert category_for_connect_error(getattr(errno, name)) is category


def test_greeting_timeout_probes_and_stays_within_the_timeout(start: type[FaultServer]) -> None:
    server = start(silent=True)
    result = check(server, Security.STARTTLS, timeout_seconds=2.0)
    assert_explained(result, Category.GREETING_TIMEOUT, Stage.GREETING)
    assert server.log.connections == 2  # the check and its TLS probe
    assert result.elapsed_seconds < 3.0


def test_slow_greeting_is_still_accepted(start: type[FaultServer], ca: trustme.CA) -> None:
    # The greeting comes after the TLS probe has started: the probe must not spoil it.
    server = start(tls_context=faults.trusted_context(ca), greeting_delay=2.4)
    result = check(server, Security.STARTTLS, timeout_seconds=3.0)
    assert result.ok, result.details()
    assert server.log.connections == 2  # the probe did run


@pytest.mark.parametrize(
    ("greeting", "category"),
    [
        ("421 4.7.0 fault.example.test Service not available, closing channel",
         Category.SERVICE_UNAVAILABLE),
        ("554 5.7.1 Your IP address is listed in a block list", Category.CONNECTION_BLOCKED),
        ("554 No SMTP service here", Category.CONNECTION_BLOCKED),
    ],
)
def test_greeting_refusals(start: type[FaultServer], greeting: str, category: Category) -> None:
    result = check(start(greeting=greeting), Security.STARTTLS)
    assert_explained(result, category, Stage.GREETING)
    assert result.reply_code == int(greeting[:3])
    assert result.server_reply == greeting


@pytest.mark.parametrize(
    "garbage",
    [b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 400 Bad Request\r\n\r\n", b"\x15\x03\x01" * 4000],
    ids=["ssh", "http", "binary-no-newline"],
)
def test_not_smtp(start: type[FaultServer], garbage: bytes) -> None:
    result = check(start(garbage=garbage), Security.STARTTLS)
    assert_explained(result, Category.NOT_SMTP, Stage.GREETING)


def test_not_smtp_after_ehlo(start: type[FaultServer]) -> None:
    result = check(start(garbage_after_ehlo=b"+OK POP3 ready\r\n"), Security.STARTTLS)
    assert_explained(result, Category.NOT_SMTP, Stage.GREETING)


@pytest.mark.parametrize("fault", ["close_on_connect", "close_after_greeting", "close_after_ehlo"])
def test_connection_closed(start: type[FaultServer], fault: str) -> None:
    result = check(start(**{fault: True}), Security.STARTTLS)
    assert_explained(result, Category.CONNECTION_CLOSED, Stage.GREETING)


# Security and port --------------------------------------------------------------------------


def test_tls_spoken_to_a_plain_port(start: type[FaultServer]) -> None:
    server = start()
    result = check(server, Security.SSL)
    assert_explained(result, Category.TLS_ON_PLAIN_PORT, Stage.SECURING)
    assert result.suggestion == Suggestion(Security.STARTTLS, server.port)


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.NONE])
def test_plain_spoken_to_a_tls_port(
    start: type[FaultServer], ca: trustme.CA, security: Security
) -> None:
    server = start(transport="implicit_tls", tls_context=faults.trusted_context(ca))
    result = check(server, security, timeout_seconds=2.0)
    assert_explained(result, Category.PLAIN_ON_TLS_PORT, Stage.GREETING)
    assert result.suggestion == Suggestion(Security.SSL, server.port)
    assert result.elapsed_seconds <= 2.0
    # And the suggestion works.
    assert result.suggestion.port == server.port
    fixed = check(server, result.suggestion.security)
    assert fixed.ok, fixed.details()


def test_starttls_not_offered(start: type[FaultServer], ca: trustme.CA) -> None:
    server = start(tls_context=faults.trusted_context(ca), offer_starttls=False)
    result = check(server, Security.STARTTLS)
    assert_explained(result, Category.STARTTLS_NOT_OFFERED, Stage.SECURING)


def test_starttls_refused_for_now(start: type[FaultServer], ca: trustme.CA) -> None:
    reply = "454 4.7.0 TLS not available due to local problem"
    server = start(tls_context=faults.trusted_context(ca), starttls_reply=reply)
    result = check(server, Security.STARTTLS)
    assert_explained(result, Category.TEMPORARY_FAILURE, Stage.SECURING)
    assert result.server_reply == reply


def test_encryption_required_when_auth_waits_for_tls(
    start: type[FaultServer], ca: trustme.CA
) -> None:
    server = start(tls_context=faults.trusted_context(ca), auth_only_after_tls=True)
    result = check(server, Security.NONE)
    assert_explained(result, Category.ENCRYPTION_REQUIRED, Stage.AUTHENTICATING)
    assert result.suggestion == Suggestion(Security.STARTTLS, server.port)
    assert check(server, Security.STARTTLS).ok


def test_encryption_required_answered_to_auth(start: type[FaultServer], ca: trustme.CA) -> None:
    server = start(tls_context=faults.trusted_context(ca), require_tls=True)
    result = check(server, Security.NONE)
    assert_explained(result, Category.ENCRYPTION_REQUIRED, Stage.AUTHENTICATING)
    assert result.reply_code == 530
    assert result.enhanced_code == "5.7.0"
    assert result.suggestion == Suggestion(Security.STARTTLS, server.port)


def test_encryption_required_answered_to_mail_from(start: type[FaultServer]) -> None:
    server = start(
        offer_starttls=False,
        mail_reply="530 5.7.7 Email sending without SSL/TLS encryption is not allowed",
    )
    result = check(server, Security.NONE)
    assert_explained(result, Category.ENCRYPTION_REQUIRED, Stage.CHECKING_SENDER)
    assert result.suggestion == Suggestion(Security.STARTTLS, 587)


# Certificates -------------------------------------------------------------------------------


def _server_fingerprint(server: FaultServer) -> str:
    der = ssl.PEM_cert_to_DER_cert(ssl.get_server_certificate((server.host, server.port)))
    return sha256_fingerprint(der)


CERT_CASES = [
    ("private_authority", Category.CERT_UNTRUSTED),
    ("self_signed", Category.CERT_UNTRUSTED),
    ("wrong_name", Category.CERT_HOSTNAME_MISMATCH),
    ("expired", Category.CERT_EXPIRED),
    ("not_yet_valid", Category.CERT_NOT_YET_VALID),
]


@pytest.mark.parametrize(("kind", "category"), CERT_CASES)
def test_certificate_problems_implicit_tls(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext], kind: str,
    category: Category,
) -> None:
    server = start(transport="implicit_tls", tls_context=contexts[kind])
    result = check(server, Security.SSL)
    assert_explained(result, category, Stage.SECURING)
    _assert_certificate_shown(result, server, kind)


@pytest.mark.parametrize(("kind", "category"), CERT_CASES)
def test_certificate_problems_starttls(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext], kind: str,
    category: Category,
) -> None:
    server = start(tls_context=contexts[kind])
    result = check(server, Security.STARTTLS)
    assert_explained(result, category, Stage.SECURING)
    assert result.certificate is not None
    assert result.certificate.sha256.count(":") == 31
    if kind == "wrong_name":
        assert "mail.other-name.test" in result.certificate.names


def test_hostname_mismatch_for_a_name(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext]
) -> None:
    # The same as above with a host name rather than an address ("localhost" stays local).
    server = start(transport="implicit_tls", tls_context=contexts["wrong_name"])
    result = check(server, Security.SSL, host="localhost")
    assert_explained(result, Category.CERT_HOSTNAME_MISMATCH, Stage.SECURING)
    assert "localhost" in result.exception


def _assert_certificate_shown(result: CheckResult, server: FaultServer, kind: str) -> None:
    cert = result.certificate
    assert cert is not None, result.details()
    assert cert.sha256 == _server_fingerprint(server)
    assert cert.subject and cert.issuer and cert.not_before and cert.not_after
    assert cert.sha256 in result.details()
    if kind == "wrong_name":
        assert cert.names == ("mail.other-name.test",)
    if kind == "self_signed":
        assert cert.subject == cert.issuer
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    if kind == "expired":
        assert cert.not_after < now
    if kind == "not_yet_valid":
        assert cert.not_before > now


def test_trusted_certificate_passes(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext]
) -> None:
    ssl_server = start(transport="implicit_tls", tls_context=contexts["trusted"])
    starttls_server = start(tls_context=contexts["trusted"])
    assert check(ssl_server, Security.SSL).ok
    assert check(starttls_server, Security.STARTTLS).ok


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_pinned_certificate_is_accepted_and_a_changed_one_is_not(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext], security: Security
) -> None:
    transport = "implicit_tls" if security is Security.SSL else "plain"
    server = start(transport=transport, tls_context=contexts["private_authority"])
    first = check(server, security)
    assert first.category is Category.CERT_UNTRUSTED
    assert first.certificate is not None
    pin = first.certificate.sha256

    # The admin trusts exactly this certificate; a pin typed without colons also works.
    assert check(server, security, trusted_cert_sha256=pin).ok
    assert check(server, security, trusted_cert_sha256=pin.replace(":", "").lower()).ok

    # The server now presents another certificate: the pin no longer matches.
    other = start(transport=transport, tls_context=contexts["self_signed"])
    changed = check(other, security, trusted_cert_sha256=pin)
    assert_explained(changed, Category.CERT_CHANGED, Stage.SECURING)
    assert changed.certificate is not None
    assert changed.certificate.sha256 != pin
    assert pin in changed.exception


def test_pin_for_a_trusted_certificate_still_detects_a_change(
    start: type[FaultServer], contexts: dict[str, ssl.SSLContext]
) -> None:
    # Even a certificate the system would trust is refused when it is not the pinned one.
    server = start(transport="implicit_tls", tls_context=contexts["trusted"])
    result = check(server, Security.SSL, trusted_cert_sha256="AB:" * 31 + "AB")
    assert_explained(result, Category.CERT_CHANGED, Stage.SECURING)


# Signing in ---------------------------------------------------------------------------------


@pytest.fixture
def tls_server(start: type[FaultServer], contexts: dict[str, ssl.SSLContext]) -> object:
    def make(**options: object) -> FaultServer:
        return start(transport="implicit_tls", tls_context=contexts["trusted"], **options)

    return make


def test_auth_not_offered(tls_server: type[FaultServer]) -> None:
    result = check(tls_server(offer_auth=False), Security.SSL)
    assert_explained(result, Category.AUTH_NOT_OFFERED, Stage.AUTHENTICATING)


def test_auth_not_offered_on_a_plain_connection_suggests_encryption(
    start: type[FaultServer],
) -> None:
    result = check(start(offer_auth=False, offer_starttls=False), Security.NONE)
    assert_explained(result, Category.AUTH_NOT_OFFERED, Stage.AUTHENTICATING)
    assert result.suggestion == Suggestion(Security.STARTTLS, 587)


def test_no_common_mechanism(tls_server: type[FaultServer]) -> None:
    server = tls_server(auth_mechanisms="GSSAPI NTLM XOAUTH2")
    result = check(server, Security.SSL)
    assert_explained(result, Category.NO_COMMON_MECHANISM, Stage.AUTHENTICATING)
    assert "GSSAPI NTLM XOAUTH2" in result.server_text
    assert server.log.auth_attempts == 0


@pytest.mark.parametrize("mechanisms", ["PLAIN", "LOGIN", "CRAM-MD5", "PLAIN LOGIN CRAM-MD5"])
def test_each_mechanism_signs_in(tls_server: type[FaultServer], mechanisms: str) -> None:
    server = tls_server(auth_mechanisms=mechanisms)
    result = check(server, Security.SSL)
    assert result.ok, result.details()
    assert server.log.auth_attempts == 1


AUTH_CASES = [
    ("535 5.7.8 Username and Password not accepted", "custom", Category.WRONG_CREDENTIALS),
    ("534 5.7.9 Application-specific password required", "gmail",
     Category.APP_PASSWORD_REQUIRED),
    ("535 5.7.0 NEOBHODIM parol prilozheniya / Application password is REQUIRED", "mailru",
     Category.APP_PASSWORD_REQUIRED),
    ("535 5.7.8 Error: authentication failed: This user does not have access rights to "
     "this service", "yandex", Category.APP_PASSWORD_REQUIRED),
    ("535 5.7.8 Error: authentication failed", "icloud", Category.WRONG_CREDENTIALS),
    ("454 4.7.0 Too many login attempts, please try again later", "gmail",
     Category.TEMPORARY_FAILURE),
    ("535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for "
     "the Tenant", "microsoft365", Category.AUTH_DISABLED),
    ("535 5.7.3 Authentication unsuccessful", "microsoft365",
     Category.WRONG_CREDENTIALS_OR_AUTH_DISABLED),
    ("504 5.5.4 Unrecognized authentication type", "custom", Category.NO_COMMON_MECHANISM),
    ("421 4.7.0 Temporary System Problem. Try again later", "custom",
     Category.SERVICE_UNAVAILABLE),
]


@pytest.mark.parametrize(("reply", "provider", "category"), AUTH_CASES)
def test_auth_replies(
    tls_server: type[FaultServer], reply: str, provider: str, category: Category
) -> None:
    server = tls_server(auth_reply=reply)
    result = check(server, Security.SSL, provider_key=provider)
    assert_explained(result, category, Stage.AUTHENTICATING)
    assert result.server_reply == reply
    assert result.reply_code == int(reply[:3])
    assert result.advice == PROVIDER_ADVICE.get(
        (category, provider), EXPLANATIONS[category].advice
    )
    # One verdict on the password is enough: no second mechanism, no retry loop. Only
    # "mechanism not supported" (504) moves on to the next mechanism both sides know.
    assert server.log.auth_attempts == (2 if reply.startswith("504") else 1)


# Checking the sender ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "category"),
    [
        ("553 5.7.1 <anna@example.test>: Sender address rejected: not owned by user "
         "office@example.test", Category.SENDER_REJECTED),
        ("550 5.7.60 SMTP; Client does not have permissions to send as this sender",
         Category.SENDER_REJECTED),
        ("451 4.3.0 Temporary lookup failure", Category.TEMPORARY_FAILURE),
        ("554 5.7.1 Relay access denied", Category.RELAY_DENIED),
        ("550 5.4.5 Daily user sending limit exceeded", Category.QUOTA_EXCEEDED),
    ],
)
def test_sender_replies(tls_server: type[FaultServer], reply: str, category: Category) -> None:
    result = check(tls_server(mail_reply=reply), Security.SSL)
    assert_explained(result, category, Stage.CHECKING_SENDER)
    assert result.server_reply == reply


def test_sender_refused_points_at_the_address(tls_server: type[FaultServer]) -> None:
    reply = "553 5.7.1 Sender address rejected: not owned by user"
    result = check(tls_server(mail_reply=reply), Security.SSL, username="office@example.test")
    assert result.category is Category.SENDER_REJECTED
    assert result.field == "email"


def test_anything_else_is_an_honest_unexpected_reply(tls_server: type[FaultServer]) -> None:
    reply = "521 5.3.2 System not accepting network messages"
    result = check(tls_server(mail_reply=reply), Security.SSL)
    assert_explained(result, Category.UNEXPECTED, Stage.CHECKING_SENDER)
    assert result.server_reply == reply
    assert reply in result.details()


def test_a_slow_server_within_the_timeout_passes(tls_server: type[FaultServer]) -> None:
    server = tls_server(command_delay=0.05)
    result = check(server, Security.SSL)
    assert result.ok, result.details()
    assert result.elapsed_seconds >= 0.05 * 3  # EHLO, AUTH, MAIL at least


def test_fault_server_binds_loopback_only(start: type[FaultServer]) -> None:
    server = start()
    assert server.host == "127.0.0.1"
    assert server._listener is not None
    assert server._listener.getsockname()[0] == "127.0.0.1"
