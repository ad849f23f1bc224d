"""Send test message: the message really arrives at the local server, with its headers."""

from __future__ import annotations

from email import message_from_bytes

from mailsettings_desktop.core.account_check import run_check
from mailsettings_desktop.core.check_result import Category, Stage
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.test_message import SUBJECT, TestMessage
from tests.conftest import USER
from tests.smtp_server import LocalSmtpServer
from tests.test_account_check import request_for


def test_message_is_sent_and_reported(starttls_server: LocalSmtpServer) -> None:
    message = TestMessage(USER, "client@example.org", "Anna", reply_to="team@example.test",
                          signature="Anna\nSales")
    stages: list[Stage] = []
    result = run_check(request_for(starttls_server, Security.STARTTLS), stages.append,
                       message=message)
    assert result.ok, result.details()
    assert result.category is Category.MESSAGE_SENT
    assert result.reply_code == 250
    assert "accepted" in result.server_text.lower()
    assert stages[-1] is Stage.SENDING
    [envelope] = starttls_server.mailbox.messages
    assert envelope.rcpt_tos == ["client@example.org"]
    received = message_from_bytes(envelope.original_content or b"")
    assert received["Subject"] == SUBJECT
    assert received["Reply-To"] == "team@example.test"
    assert "Anna <" in received["From"]
    assert "Sales" in received.get_payload()


def test_check_without_message_sends_nothing(ssl_server: LocalSmtpServer) -> None:
    result = run_check(request_for(ssl_server, Security.SSL))
    assert result.category is Category.OK
    assert ssl_server.mailbox.messages == []
