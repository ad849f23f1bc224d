"""Preferences kept with QSettings (per user): how many addresses Test all checks at once."""

from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.bulk_check import DEFAULT_CONCURRENCY

_CONCURRENCY_KEY = "testAll/concurrency"
MAX_CONCURRENCY = 32


def test_all_concurrency() -> int:
    value = QSettings().value(_CONCURRENCY_KEY, DEFAULT_CONCURRENCY)
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        return DEFAULT_CONCURRENCY
    return min(max(number, 1), MAX_CONCURRENCY)


class PreferencesDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self._concurrency = QSpinBox()
        self._concurrency.setObjectName("concurrencySpin")
        self._concurrency.setRange(1, MAX_CONCURRENCY)
        self._concurrency.setValue(test_all_concurrency())
        self._concurrency.setToolTip(
            "More at once finishes sooner; some providers limit how many sign-ins they "
            "accept from one network at a time."
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._on_ok)
        buttons.rejected.connect(self.reject)
        self._concurrency.setSuffix(" addresses at a time")
        explanation = QLabel(
            "“Test all addresses” signs in to many mail servers. Testing several at once "
            "finishes sooner; lower this if a provider refuses many sign-ins from your "
            "network at the same time."
        )
        explanation.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Test all checks", self._concurrency)
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)

    def _on_ok(self) -> None:
        QSettings().setValue(_CONCURRENCY_KEY, self._concurrency.value())
        self.accept()
