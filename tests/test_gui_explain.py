"""Help → Explain a server error gives the check's own explanation for pasted replies."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLabel, QPlainTextEdit
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.diagnosis import explanation_for
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
    assert f"Kind: {kind}." in text
    assert explanation_for(Category(kind)).headline in text
