"""Guards against a Qt binding that corrupts the interpreter (seen with PySide6 6.12.0)."""

from __future__ import annotations

import sys

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12")
def test_calls_returning_nothing_keep_none_alive(qtbot: QtBot) -> None:
    # PySide6 6.12.0 drops a reference to None on each such call; a few thousand of them
    # (an admin typing into the dialog) abort the whole program. pyproject.toml excludes it.
    label = QLabel()
    qtbot.addWidget(label)
    before = sys.getrefcount(None)
    for _ in range(5000):
        label.setText("")
    assert sys.getrefcount(None) >= before - 100
