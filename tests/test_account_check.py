"""The account check against a real aiosmtpd server on 127.0.0.1."""

from __future__ import annotations

import threading

from mailsettings_desktop.core.account_check import CancelToken, run_check
from mailsettings_desktop.core.check_result import Category, CheckRequest, Stage
from mailsettings_desktop.core.security import Security
from tests.conftest import PASSWORD, USER
from tests.smtp_server import LocalSmtpServer


def request_for(server: LocalSmtpServer, security: Security, **changes: object) -> CheckRequest:
    values: dict[str, object] = {
        "email": USER,
        "username": USER,
        "password": PASSWORD,
        "host": server.host,
        "port": server.port,
        "security": security,
        "timeout_seconds": 5.0,
    }
    values.update(changes)
    return CheckRequest(**values)  # type: ignore[arg-type]


def test_implicit_tls_with_auth_succeeds(ssl_server: LocalSmtpServer) -> None:
    stages: list[Stage] = []
    result = run_check(request_for(ssl_server, Security.SSL), progress=stages.append)
    assert result.ok, result.details()
    assert result.category is Category.OK
    assert stages == [
        Stage.RESOLVING, Stage.CONNECTING, Stage.SECURING, Stage.GREETING,
        Stage.AUTHENTICATING, Stage.CHECKING_SENDER,
    ]
    assert ssl_server.mailbox.auth_attempts[0][0] == USER
    assert ssl_server.mailbox.mail_from_seen == [USER]
    assert ssl_server.mailbox.messages == []  # nothing is sent


def test_starttls_with_auth_succeeds(starttls_server: LocalSmtpServer) -> None:
    stages: list[Stage] = []
    result = run_check(request_for(starttls_server, Security.STARTTLS), progress=stages.append)
    assert result.ok, result.details()
    assert stages.index(Stage.GREETING) < stages.index(Stage.SECURING)


def test_wrong_password_is_explained(ssl_server: LocalSmtpServer) -> None:
    result = run_check(request_for(ssl_server, Security.SSL, password="Wr0ng-Secret-42"))
    assert not result.ok
    assert result.category is Category.WRONG_CREDENTIALS
    assert result.stage is Stage.AUTHENTICATING
    assert result.field == "password"
    assert result.reply_code == 535
    assert "Wr0ng-Secret-42" not in result.details() + repr(result)


def test_server_without_auth(ca: object) -> None:
    with LocalSmtpServer("plain", offer_auth=False) as server:
        result = run_check(request_for(server, Security.NONE))
    assert result.category is Category.AUTH_NOT_OFFERED
    assert result.stage is Stage.AUTHENTICATING


def test_cancel_stops_a_silent_server_promptly() -> None:
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    token = CancelToken()
    request = CheckRequest(USER, USER, PASSWORD, "127.0.0.1", port, Security.STARTTLS, 30)
    timer = threading.Timer(0.3, token.cancel)
    timer.start()
    started = time.monotonic()
    result = run_check(request, cancel=token)
    listener.close()
    assert result.category is Category.CANCELLED
    assert time.monotonic() - started < 1.5


def test_a_server_echoing_the_password_does_not_leak_it(
    fault_server: type, ca: object
) -> None:
    import base64

    from tests import fault_server as faults

    blob = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
    server = fault_server(
        tls_context=faults.trusted_context(ca),  # type: ignore[arg-type]
        auth_reply=f"535 5.7.8 bad credentials [{USER} | {PASSWORD}] raw={blob}",
    )
    result = run_check(request_for(server, Security.STARTTLS))
    assert result.category is Category.WRONG_CREDENTIALS
    shown = result.details() + repr(result)
    assert PASSWORD not in shown and blob not in shown
    assert "***" in result.server_text
