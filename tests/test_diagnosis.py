"""The diagnosis tables: replies from real bug reports, pasted text, and the helpers."""

from __future__ import annotations

import csv
import ssl
from pathlib import Path

import pytest
import trustme

from mailsettings_desktop.core.certificates import (
    certificate_info,
    same_fingerprint,
    sha256_fingerprint,
)
from mailsettings_desktop.core.check_result import Category, Stage
from mailsettings_desktop.core.diagnosis import (
    EXPLANATIONS,
    PROVIDER_ADVICE,
    USERNAME_DIFFERS_WARNING,
    category_for_reply,
    explanation_for,
    parse_pasted_reply,
    username_differs_from_address,
)

SHARED = Path(__file__).parents[2] / "shared"
REPLIES_FILE = SHARED / "data" / "smtp-replies.tsv"
STAGES = {
    "greeting": Stage.GREETING,
    "starttls": Stage.SECURING,
    "auth": Stage.AUTHENTICATING,
    "mail": Stage.CHECKING_SENDER,
}


def _reply_rows() -> list[tuple[str, str, str]]:
    if not REPLIES_FILE.exists():
        return []
    with REPLIES_FILE.open(encoding="utf-8", newline="") as handle:
        lines = [line for line in handle if line.strip() and not line.startswith("#")]
    rows = list(csv.DictReader(lines, delimiter="\t"))
    return [(row["stage"], row["reply"], row["kind"]) for row in rows]


REPLY_ROWS = _reply_rows()
needs_replies = pytest.mark.skipif(
    not REPLY_ROWS, reason=f"{REPLIES_FILE} is absent (it lives in ../shared beside the repo)"
)


def _row_id(row: tuple[str, str, str]) -> str:
    return f"{row[0]}-{row[1][:14]}"


@needs_replies
@pytest.mark.parametrize("row", REPLY_ROWS or [("", "", "")], ids=_row_id)
def test_reply_with_its_stage(row: tuple[str, str, str]) -> None:
    stage, reply, kind = row
    code = int(reply[:3])
    text = reply[4:]
    assert category_for_reply(STAGES[stage], code, text) is Category(kind)


@needs_replies
@pytest.mark.parametrize("row", REPLY_ROWS or [("", "", "")], ids=_row_id)
def test_pasted_reply_without_a_stage(row: tuple[str, str, str]) -> None:
    _, reply, kind = row
    pasted = parse_pasted_reply(reply)
    assert pasted.code == int(reply[:3])
    assert category_for_reply(None, pasted.code, pasted.text) is Category(kind)


@needs_replies
def test_the_replies_file_covers_every_stage() -> None:
    assert {row[0] for row in REPLY_ROWS} <= set(STAGES)


@pytest.mark.parametrize(
    ("pasted", "code", "enhanced", "category"),
    [
        # A bounce as a mail program shows it, with the reply in the middle of a sentence.
        ("Your message could not be sent. The server responded:\n  535-5.7.8 Username and "
         "Password not accepted.\n  535 5.7.8 https://support.example.test/", 535, "5.7.8",
         Category.WRONG_CREDENTIALS),
        ("SMTPAuthenticationError: (535, b'5.7.139 Authentication unsuccessful, "
         "SmtpClientAuthentication is disabled for the Tenant.')", 535, "5.7.139",
         Category.AUTH_DISABLED),
        ("Remote server returned '550 5.7.60 SMTP; Client does not have permissions to send "
         "as this sender'", 550, "5.7.60", Category.SENDER_REJECTED),
        ("Could not send via smtp.example.test port 587: 421 4.7.0 Try again later", 421,
         "4.7.0", Category.SERVICE_UNAVAILABLE),
        ("Connection to port 465 failed: 421 Service not available", 421, None,
         Category.SERVICE_UNAVAILABLE),
        ("something went wrong, no code at all", None, None, Category.UNEXPECTED),
    ],
)
def test_pasted_text_in_context(
    pasted: str, code: int | None, enhanced: str | None, category: Category
) -> None:
    reply = parse_pasted_reply(pasted)
    assert reply.code == code
    assert reply.enhanced == enhanced
    assert category_for_reply(None, reply.code, reply.text) is category


def test_every_category_is_explained() -> None:
    assert set(EXPLANATIONS) == set(Category)
    for category, explanation in EXPLANATIONS.items():
        assert explanation.headline.endswith("."), category
        assert len(explanation.headline) < 140, category
    for category, _provider in PROVIDER_ADVICE:
        assert category in EXPLANATIONS


@pytest.mark.parametrize("provider", ["gmail", "yahoo", "icloud", "mailru", "yandex"])
def test_app_password_advice_per_provider(provider: str) -> None:
    advice = explanation_for(Category.APP_PASSWORD_REQUIRED, provider).advice
    assert advice != EXPLANATIONS[Category.APP_PASSWORD_REQUIRED].advice
    assert "app" in advice.lower() or "external" in advice.lower()


def test_microsoft_365_basic_auth_disabled_says_what_the_admin_does() -> None:
    category = category_for_reply(
        Stage.AUTHENTICATING, 535,
        "5.7.139 Authentication unsuccessful, basic authentication is disabled.",
        "microsoft365",
    )
    assert category is Category.AUTH_DISABLED
    advice = explanation_for(category, "microsoft365").advice
    assert "Authenticated SMTP" in advice and "OAuth" in advice


def test_bare_codes_depend_on_the_stage() -> None:
    assert category_for_reply(Stage.AUTHENTICATING, 550, "5.7.1 denied") is (
        Category.WRONG_CREDENTIALS
    )
    assert category_for_reply(Stage.CHECKING_SENDER, 550, "5.7.1 denied") is (
        Category.SENDER_REJECTED
    )
    assert category_for_reply(Stage.GREETING, 554, "go away") is Category.CONNECTION_BLOCKED
    assert category_for_reply(Stage.AUTHENTICATING, 299, "odd") is Category.UNEXPECTED


@pytest.mark.parametrize(
    ("email", "username", "differs"),
    [
        ("anna@example.test", "anna@example.test", False),
        ("Anna@Example.TEST", " anna@example.test ", False),
        ("anna@bücher.example", "anna@xn--bcher-kva.example", False),
        ("anna@example.test", "anna", False),  # many hosting servers sign in by local part
        ("anna@example.test", "office@example.test", True),
        ("sales@example.test", "anna", True),
        ("anna@example.test", "", False),  # nothing typed yet: nothing to warn about
    ],
)
def test_username_differs_from_address(email: str, username: str, differs: bool) -> None:
    assert username_differs_from_address(email, username) is differs


def test_username_warning_names_the_consequence() -> None:
    assert "send as" in USERNAME_DIFFERS_WARNING


def test_certificate_info_from_a_trustme_certificate() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert("mail.example.test", "127.0.0.1")
    der = _der(leaf.cert_chain_pems[0].bytes())
    info = certificate_info(der)
    assert info.names == ("mail.example.test", "127.0.0.1")
    assert "trustme" in info.subject and "Testing CA" in info.issuer
    assert info.not_before < info.not_after
    assert info.sha256 == sha256_fingerprint(der)
    assert len(info.sha256) == 95


def test_unreadable_certificate_still_has_a_fingerprint() -> None:
    info = certificate_info(b"not a certificate")
    assert info.sha256 == sha256_fingerprint(b"not a certificate")
    assert info.subject == "(unreadable)"


def test_fingerprints_compare_however_typed() -> None:
    print_ = sha256_fingerprint(b"x")
    assert same_fingerprint(print_, print_.replace(":", "").lower())
    assert same_fingerprint(print_, print_.replace(":", " "))
    assert not same_fingerprint(print_, sha256_fingerprint(b"y"))


def _der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode("ascii"))
