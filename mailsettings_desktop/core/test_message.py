"""The short message "Send test message" sends from an address to a recipient."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from mailsettings_desktop import APP_DISPLAY_NAME

SUBJECT = f"Test message from {APP_DISPLAY_NAME}"


@dataclass(frozen=True)
class TestMessage:
    """A plain-text test message; built here so the check only has to send bytes."""

    __test__ = False  # not a pytest test class

    sender: str
    recipient: str
    sender_name: str = ""
    reply_to: str = ""
    signature: str = ""

    def as_message(self) -> EmailMessage:
        message = EmailMessage()
        message["From"] = formataddr((self.sender_name, self.sender)) if self.sender_name \
            else self.sender
        message["To"] = self.recipient
        if self.reply_to:
            message["Reply-To"] = self.reply_to
        message["Subject"] = SUBJECT
        message["Date"] = format_datetime(datetime.now(UTC))
        domain = self.sender.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(domain=domain)
        body = (
            f"This is a test message sent by {APP_DISPLAY_NAME} to check that "
            f"{self.sender} can send mail.\n\nNo reply is needed."
        )
        if self.signature:
            body += f"\n\n-- \n{self.signature}"
        message.set_content(body)
        return message

    def as_bytes(self) -> bytes:
        return self.as_message().as_bytes()
