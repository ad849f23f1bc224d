"""Form validation: every field's problem is named before any test starts."""

from __future__ import annotations

import pytest

from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.validation import (
    AddressForm,
    check_request,
    email_problem,
    host_problem,
    username_differs_warning,
    validate_form,
)

GOOD = AddressForm(email="anna@company.com", password="pw", host="smtp.company.com", port=587)


@pytest.mark.parametrize("address", [
    "anna@company.com", "anna.k+sales@sub.company.co.uk", "олег@пример.рф",
    "anna@bücher.de",
    "ANNA@Company.COM",
])
def test_valid_addresses_including_internationalised_domains(address: str) -> None:
    assert email_problem(address) is None


@pytest.mark.parametrize(("address", "words"), [
    ("", "Enter"),
    ("anna.company.com", "no @"),
    ("anna@", "not a valid"),
    ("anna@@company.com", "not a valid"),
    ("anna@b", "full domain"),
    ("anna smith@company.com", "not a valid"),
])
def test_malformed_addresses_are_explained(address: str, words: str) -> None:
    problem = email_problem(address)
    assert problem is not None and words in problem


@pytest.mark.parametrize("host", ["smtp.gmail.com", "127.0.0.1", "::1", "smtp.bücher.de",
                                  "mail"])
def test_valid_hosts(host: str) -> None:
    assert host_problem(host) is None


@pytest.mark.parametrize(("host", "words"), [
    ("", "Enter the SMTP server"),
    ("smtp://smtp.gmail.com", "without spaces"),
    ("smtp.gmail.com:587", "without spaces"),
    ("smtp gmail com", "without spaces"),
    ("smtp_.example.com", "not allowed"),
    ("-bad.example.com", "not allowed"),
])
def test_bad_hosts_are_explained(host: str, words: str) -> None:
    problem = host_problem(host)
    assert problem is not None and words in problem


def test_a_good_form_has_no_errors() -> None:
    assert validate_form(GOOD) == {}


@pytest.mark.parametrize(("changes", "field"), [
    ({"port": 0}, "port"),
    ({"port": 70000}, "port"),
    ({"timeout_seconds": 0}, "timeout"),
    ({"password": ""}, "password"),
    ({"password": "a\nb"}, "password"),
    ({"username": "anna smith"}, "username"),
    ({"sender_name": "Anna\r\nBcc: x@y.z"}, "senderName"),
    ({"sender_name": "A" * 201}, "senderName"),
    ({"reply_to": "not-an-address"}, "replyTo"),
    ({"host": ""}, "host"),
])
def test_each_field_error_is_reported_on_its_field(changes: dict[str, object], field: str) -> None:
    form = AddressForm(**{**GOOD.__dict__, **changes})  # type: ignore[arg-type]
    errors = validate_form(form)
    assert list(errors) == [field]


def test_editing_without_a_new_password_is_allowed() -> None:
    form = AddressForm(**{**GOOD.__dict__, "password": ""})
    assert validate_form(form, password_required=False) == {}


def test_username_defaults_to_the_address_and_differences_are_warned() -> None:
    assert check_request(GOOD).username == "anna@company.com"
    assert username_differs_warning(GOOD) is None
    other = AddressForm(**{**GOOD.__dict__, "username": "office@company.com"})
    warning = username_differs_warning(other)
    assert warning is not None and "differs" in warning


def test_the_request_carries_exactly_the_checked_values() -> None:
    form = AddressForm(email=" anna@company.com ", password="s3cret", host="smtp.company.com.",
                       port=465, security=Security.SSL, timeout_seconds=7)
    request = check_request(form)
    assert (request.email, request.host, request.port, request.security) == (
        "anna@company.com", "smtp.company.com", 465, Security.SSL)
    assert request.timeout_seconds == 7.0
    assert "s3cret" not in repr(request)
