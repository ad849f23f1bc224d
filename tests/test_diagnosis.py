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
    LOCAL_ERROR_RULES,
    PROVIDER_ADVICE,
    REPLY_RULES,
    USERNAME_DIFFERS_WARNING,
    category_for_local_error,
    category_for_reply,
    diagnose_pasted,
    explanation_for,
    parse_pasted_reply,
    pasted_explanation,
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
    ("pasted", "category"),
    [
        ("550 5.1.1 <x@example.org>: Recipient address rejected: User unknown",
         Category.RECIPIENT_REJECTED),
        ("550 5.1.1 The email account that you tried to reach does not exist.",
         Category.RECIPIENT_REJECTED),
        ("554 5.7.1 Spam message rejected", Category.CONTENT_REJECTED),
        # Postfix names the recipient table when it refuses an unknown *sender*.
        ("553 5.1.0 <sales@example.test>: Sender address rejected: User unknown in local "
         "recipient table", Category.SENDER_REJECTED),
        # A bare code means nothing without the stage: honestly unknown, not a wrong password.
        ("550 rejected", Category.UNEXPECTED),
        ("554 denied by policy", Category.UNEXPECTED),
        ("535 go away", Category.UNEXPECTED),
        # A generic 5.7.1 alone is not the sender's fault.
        ("550 5.7.1 not allowed", Category.UNEXPECTED),
        ("501 5.5.4 Syntax error in parameters", Category.UNEXPECTED),
    ],
)
def test_pasted_reply_without_a_stage_goes_by_its_words(pasted: str, category: Category) -> None:
    reply = parse_pasted_reply(pasted)
    assert category_for_reply(None, reply.code, reply.text) is category
    assert diagnose_pasted(pasted).category is category


@pytest.mark.parametrize(
    ("stage", "code", "text", "category"),
    [
        (Stage.AUTHENTICATING, 550, "rejected", Category.WRONG_CREDENTIALS),
        (Stage.CHECKING_SENDER, 550, "rejected", Category.SENDER_REJECTED),
        (Stage.SENDING, 550, "rejected", Category.RECIPIENT_REJECTED),
        (Stage.SENDING, 550, "5.1.1 Recipient address rejected: User unknown",
         Category.RECIPIENT_REJECTED),
        (Stage.SENDING, 554, "5.7.1 Spam message rejected", Category.CONTENT_REJECTED),
        # Only the test message has content: at MAIL FROM a 5.7.1 is still the sender.
        (Stage.CHECKING_SENDER, 554, "5.7.1 Spam message rejected", Category.SENDER_REJECTED),
        (Stage.AUTHENTICATING, 454, "4.7.0 Temporary authentication failure",
         Category.TEMPORARY_FAILURE),
        (Stage.AUTHENTICATING, 501, "5.5.4 Syntax error", Category.NO_COMMON_MECHANISM),
    ],
)
def test_a_known_stage_still_reads_bare_codes(
    stage: Stage, code: int, text: str, category: Category
) -> None:
    assert category_for_reply(stage, code, text) is category


def test_rules_on_a_bare_code_need_the_stage() -> None:
    for rule in REPLY_RULES:
        if rule.stages and rule.text is None and not rule.enhanced:
            assert rule.needs_stage, rule


@pytest.mark.parametrize(
    ("pasted", "category"),
    [
        ("[Errno 111] Connection refused", Category.CONNECTION_REFUSED),
        ("ConnectionRefusedError", Category.CONNECTION_REFUSED),
        ("[WinError 10061] No connection could be made because the target machine actively "
         "refused it", Category.CONNECTION_REFUSED),
        ("ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
         "failed: self-signed certificate (_ssl.c:1006)", Category.CERT_UNTRUSTED),
        ("certificate verify failed: self-signed certificate", Category.CERT_UNTRUSTED),
        ("certificate verify failed: unable to get local issuer certificate",
         Category.CERT_UNTRUSTED),
        ("certificate verify failed: Hostname mismatch, certificate is not valid for "
         "'smtp.example.test'.", Category.CERT_HOSTNAME_MISMATCH),
        ("certificate verify failed: certificate has expired (_ssl.c:1006)",
         Category.CERT_EXPIRED),
        ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)",
         Category.TLS_ON_PLAIN_PORT),
        ("timed out", Category.CONNECT_TIMEOUT),
        ("TimeoutError: [Errno 110] Connection timed out", Category.CONNECT_TIMEOUT),
        ("socket.gaierror: [Errno -2] Name or service not known", Category.DNS_FAILURE),
        ("[Errno 11001] getaddrinfo failed", Category.DNS_FAILURE),
        ("[Errno 8] nodename nor servname provided, or not known", Category.DNS_FAILURE),
        ("Connection unexpectedly closed", Category.CONNECTION_CLOSED),
        ("smtplib.SMTPServerDisconnected: please run connect() first",
         Category.CONNECTION_CLOSED),
        ("SMTPServerDisconnected", Category.CONNECTION_CLOSED),
        ("Connection unexpectedly closed: timed out", Category.REPLY_TIMEOUT),
        ("No suitable authentication method found.", Category.NO_COMMON_MECHANISM),
        ("smtplib.SMTPNotSupportedError: SMTP AUTH extension not supported by server.",
         Category.AUTH_NOT_OFFERED),
        ("STARTTLS extension not supported by server.", Category.STARTTLS_NOT_OFFERED),
        ("[Errno 101] Network is unreachable", Category.NO_ROUTE),
    ],
)
def test_pasted_local_error(pasted: str, category: Category) -> None:
    diagnosis = diagnose_pasted(pasted)
    assert diagnosis.category is category
    assert diagnosis.local
    assert "this computer" in diagnosis.found()


@pytest.mark.parametrize(
    ("stage", "category"),
    [
        (None, Category.CONNECT_TIMEOUT),
        (Stage.GREETING, Category.CONNECT_TIMEOUT),
        (Stage.SECURING, Category.HANDSHAKE_TIMEOUT),
        (Stage.AUTHENTICATING, Category.REPLY_TIMEOUT),
        (Stage.SENDING, Category.REPLY_TIMEOUT),
    ],
)
def test_a_time_out_depends_on_the_stage(stage: Stage | None, category: Category) -> None:
    assert category_for_local_error(stage, "TimeoutError: timed out") is category


def test_a_server_reply_is_not_taken_for_a_local_error() -> None:
    diagnosis = diagnose_pasted("421 4.4.2 Connection timed out, closing connection")
    assert diagnosis.category is Category.SERVICE_UNAVAILABLE
    assert not diagnosis.local


def test_every_local_error_row_is_explained() -> None:
    assert {rule.category for rule in LOCAL_ERROR_RULES} <= set(EXPLANATIONS)


def test_what_was_found_is_said_in_words() -> None:
    found = diagnose_pasted("550 5.1.1 Recipient address rejected").found()
    assert "reply code 550" in found and "permanent refusal" in found and "5.1.1" in found
    assert "temporary refusal" in diagnose_pasted("451 4.3.0 try later").found()
    assert "no server reply code" in diagnose_pasted("it broke").found()


def test_pasted_unknowns_say_so() -> None:
    assert "not one the program knows" in diagnose_pasted("550 rejected").explanation().headline
    assert "not one the program knows" in diagnose_pasted("it broke").explanation().headline


@pytest.mark.parametrize("provider", ["custom", "gmail", "microsoft365", "yandex", "outlook"])
def test_pasted_advice_never_points_at_a_details_button(provider: str) -> None:
    for category in Category:
        explanation = pasted_explanation(category, provider)
        assert "Details" not in explanation.advice, category
        assert explanation.headline.endswith("."), category


def test_pasted_explanation_keeps_provider_advice() -> None:
    assert pasted_explanation(Category.APP_PASSWORD_REQUIRED, "gmail") == explanation_for(
        Category.APP_PASSWORD_REQUIRED, "gmail"
    )


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
