"""Turns what the admin typed into a checked request, or a message for each bad field.

Validation runs before any thread starts, so the account check only ever sees
well-formed values, and every problem is explained next to the field it belongs to.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email

from mailsettings_desktop.core.check_result import CheckRequest
from mailsettings_desktop.core.security import Security

MAX_TIMEOUT_SECONDS = 300
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.IGNORECASE)


@dataclass(frozen=True)
class AddressForm:
    """The dialog's fields as plain values."""

    email: str = ""
    sender_name: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    host: str = ""
    port: int = 587
    security: Security = Security.STARTTLS
    timeout_seconds: int = 20
    reply_to: str = ""
    provider_key: str = "custom"
    trusted_cert_sha256: str | None = None

    @property
    def effective_username(self) -> str:
        return self.username.strip() or self.email.strip()


def email_problem(value: str, what: str = "an email address") -> str | None:
    """None when `value` is a valid address (internationalised domains allowed)."""
    value = value.strip()
    if not value:
        return f"Enter {what}."
    if "@" not in value:
        return f"This is not {what}: it has no @."
    try:
        validate_email(
            value, check_deliverability=False, allow_smtputf8=True, globally_deliverable=False,
            test_environment=True,
        )
    except EmailNotValidError as exc:
        return f"This is not a valid address: {exc}"
    domain = value.rpartition("@")[2]
    if "." not in domain and not domain.startswith("["):
        # email-validator accepts a bare host name when global deliverability is off;
        # no mailbox an admin configures here lives at one.
        return "The part after the @ must be a full domain, for example company.com."
    return None


def host_problem(value: str) -> str | None:
    value = value.strip().rstrip(".")
    if not value:
        return "Enter the SMTP server name, for example smtp.example.com."
    if any(ch.isspace() for ch in value) or "/" in value or ":" in value.strip("[]"):
        try:
            ipaddress.ip_address(value.strip("[]"))
            return None
        except ValueError:
            return "Enter only the server name, without spaces, “smtp://” or a port."
    try:
        ipaddress.ip_address(value)
        return None
    except ValueError:
        pass
    try:
        ascii_host = value.encode("idna").decode("ascii")
    except UnicodeError:
        return "This server name has characters that are not allowed."
    if len(ascii_host) > 253 or not all(_HOST_LABEL.match(p) for p in ascii_host.split(".")):
        return "This server name has characters that are not allowed."
    return None


def validate_form(form: AddressForm, password_required: bool = True) -> dict[str, str]:
    """A message per field that needs fixing; empty when the form can be tested."""
    errors: dict[str, str] = {}
    if problem := email_problem(form.email):
        errors["email"] = problem
    if any(ch in form.sender_name for ch in "\r\n"):
        errors["senderName"] = "The sender name must be on one line."
    elif len(form.sender_name) > 200:
        errors["senderName"] = "The sender name is too long (200 characters at most)."
    username = form.effective_username
    if any(ch.isspace() for ch in username.strip()) or any(ch in username for ch in "\r\n"):
        errors["username"] = "The username cannot contain spaces or line breaks."
    if password_required and not form.password:
        errors["password"] = "Enter the password (or app password) of this account."
    elif any(ch in form.password for ch in "\r\n\0"):
        errors["password"] = "The password cannot contain line breaks."
    if problem := host_problem(form.host):
        errors["host"] = problem
    if not 1 <= form.port <= 65535:
        errors["port"] = "The port must be between 1 and 65535 (usually 465 or 587)."
    if not 1 <= form.timeout_seconds <= MAX_TIMEOUT_SECONDS:
        errors["timeout"] = f"The timeout must be 1 to {MAX_TIMEOUT_SECONDS} seconds."
    if form.reply_to.strip() and (problem := email_problem(form.reply_to, "a reply-to address")):
        errors["replyTo"] = problem
    return errors


def check_request(form: AddressForm) -> CheckRequest:
    """The request for a form that passed `validate_form`."""
    return CheckRequest(
        email=form.email.strip(),
        username=form.effective_username,
        password=form.password,
        host=form.host.strip().rstrip("."),
        port=form.port,
        security=form.security,
        timeout_seconds=float(form.timeout_seconds),
        provider_key=form.provider_key,
        trusted_cert_sha256=form.trusted_cert_sha256,
    )


def username_differs_warning(form: AddressForm) -> str | None:
    """A warning shown before any test: a mismatch often means the sender will be refused."""
    email = form.email.strip().lower()
    username = form.effective_username.lower()
    if not email or username == email or "@" not in email:
        return None
    return (
        "The username differs from the email address. Many servers refuse to send as an "
        "address the signed-in account does not own; the test checks this."
    )
