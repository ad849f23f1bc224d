"""Help → Explain a server error gives the check's own explanation for pasted replies."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit, QTextBrowser
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.diagnosis import (
    EXPLANATIONS,
    UNKNOWN_STAGE_HINT,
    explanation_for,
    pasted_explanation,
)
from mailsettings_desktop.core.presets import default_presets
from mailsettings_desktop.ui.explain_window import ExplainWindow
from tests.gui_helpers import child, choose, type_into

VECTORS = Path(__file__).resolve().parents[2] / "shared" / "data" / "smtp-replies.tsv"


def _vectors() -> list[tuple[str, str, str]]:
    if not VECTORS.exists():
        return []
    lines = [line for line in VECTORS.read_text(encoding="utf-8").splitlines()
             if line and not line.startswith("#")]
    rows = list(csv.reader(lines[1:], delimiter="\t"))
    return [(stage, reply, kind) for stage, reply, kind in rows]


@pytest.fixture
def window(qtbot: QtBot) -> ExplainWindow:
    explain = ExplainWindow(default_presets())
    qtbot.addWidget(explain)
    explain.show()
    return explain


def test_pasted_gmail_reply_gets_app_password_advice(qtbot: QtBot, window: ExplainWindow) -> None:
    choose(qtbot, child(window, QComboBox, "explainProvider"), "gmail")
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"),
              "smtplib.SMTPAuthenticationError: (534, b'5.7.9 Application-specific "
              "password required.')")
    text = child(window, QLabel, "explainResult").text()
    expected = explanation_for(Category.APP_PASSWORD_REQUIRED, "gmail")
    assert expected.headline in text
    assert "App passwords" in text
    assert "5.7.9" in text


def test_unknown_reply_is_said_to_be_unknown(qtbot: QtBot, window: ExplainWindow) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"), "250 2.0.0 fine, thanks")
    assert "not one the program knows" in child(window, QLabel, "explainResult").text()


@pytest.mark.skipif(not VECTORS.exists(), reason=f"test vectors not found at {VECTORS}")
@pytest.mark.parametrize(("stage", "reply", "kind"), _vectors())
def test_every_vector_is_explained_as_its_kind(
    qtbot: QtBot, window: ExplainWindow, stage: str, reply: str, kind: str
) -> None:
    child(window, QPlainTextEdit, "explainInput").setPlainText(reply)
    text = child(window, QLabel, "explainResult").text()
    assert window.diagnosis is not None
    assert window.diagnosis.category is Category(kind)
    assert explanation_for(Category(kind)).headline in text
    assert kind not in text  # the admin reads words, not the program's internal names


def _result(window: ExplainWindow) -> str:
    return child(window, QLabel, "explainResult").text()


def test_refused_recipient_without_a_stage(qtbot: QtBot, window: ExplainWindow) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"),
              "550 5.1.1 <x@example.org>: Recipient address rejected: User unknown")
    text = _result(window)
    assert pasted_explanation(Category.RECIPIENT_REJECTED).headline in text
    assert EXPLANATIONS[Category.WRONG_CREDENTIALS].headline not in text
    assert "reply code 550" in text and "5.1.1" in text
    assert "Kind:" not in text and "recipient_rejected" not in text


def test_bare_code_is_unknown_until_the_stage_is_chosen(
    qtbot: QtBot, window: ExplainWindow
) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"), "550 rejected")
    text = _result(window)
    assert "not one the program knows" in text
    assert "reply code 550" in text and "permanent refusal" in text
    assert UNKNOWN_STAGE_HINT.split(":")[0] in text.replace("&quot;", '"')

    choose(qtbot, child(window, QComboBox, "explainStage"), "authenticating")
    text = _result(window)
    assert EXPLANATIONS[Category.WRONG_CREDENTIALS].headline in text
    assert "<b>Password</b>" in text

    choose(qtbot, child(window, QComboBox, "explainStage"), "sending a test message")
    assert pasted_explanation(Category.RECIPIENT_REJECTED).headline in _result(window)


def test_spam_rejection_is_about_the_message(qtbot: QtBot, window: ExplainWindow) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"),
              "554 5.7.1 Spam message rejected")
    text = _result(window)
    assert EXPLANATIONS[Category.CONTENT_REJECTED].headline in text
    assert EXPLANATIONS[Category.SENDER_REJECTED].headline not in text


def test_local_error_is_explained_as_the_check_would(
    qtbot: QtBot, window: ExplainWindow
) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"),
              "ConnectionRefusedError: [Errno 111] Connection refused")
    text = _result(window)
    assert EXPLANATIONS[Category.CONNECTION_REFUSED].headline in text
    assert "error message from this computer" in text
    assert "<b>Port</b>" in text


def test_no_advice_points_at_a_details_button(qtbot: QtBot, window: ExplainWindow) -> None:
    child(window, QPlainTextEdit, "explainInput").setPlainText(
        "ssl.SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
        "failed: Hostname mismatch, certificate is not valid for 'smtp.example.test'. "
        "(_ssl.c:1006)"
    )
    text = _result(window)
    assert pasted_explanation(Category.CERT_HOSTNAME_MISMATCH).headline in text
    assert "Details" not in text
    assert "Details" not in child(window, QTextBrowser, "explainCatalogue").toPlainText()


def test_unknown_error_message_is_said_to_be_unknown(
    qtbot: QtBot, window: ExplainWindow
) -> None:
    type_into(qtbot, child(window, QPlainTextEdit, "explainInput"), "it broke")
    text = _result(window)
    assert "not one the program knows" in text
    assert "no server reply code" in text
