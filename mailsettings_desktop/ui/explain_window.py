"""Help → "Explain a server error": paste a reply from a bounce or a log, get the advice.

It reads the same tables as the account check (`core.diagnosis`), so a pasted reply is
explained in the words the check would use, except where those point at the check's own
Details button (`PASTED_EXPLANATIONS`). Errors raised on this computer (a refused
connection, a certificate) are recognised from their words too.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.check_result import Category, Stage
from mailsettings_desktop.core.diagnosis import (
    EXPLANATIONS,
    UNKNOWN_STAGE_HINT,
    PastedDiagnosis,
    diagnose_pasted,
    pasted_explanation,
)
from mailsettings_desktop.core.presets import CUSTOM_KEY, ProviderPreset

_STAGES: tuple[tuple[str, Stage | None], ...] = (
    ("Don't know", None),
    ("When connecting (greeting)", Stage.GREETING),
    ("When setting up encryption (STARTTLS)", Stage.SECURING),
    ("When signing in", Stage.AUTHENTICATING),
    ("When sending (sender address)", Stage.CHECKING_SENDER),
    ("When sending (recipient or message)", Stage.SENDING),
)

# The address form's fields, as the form labels them, for "where to look".
_FIELD_LABELS: dict[str, str] = {
    "email": "Email address",
    "username": "Username",
    "password": "Password",
    "host": "Server",
    "port": "Port",
    "security": "Security",
    "auth_method": "Sign in with",
    "oauth": "Sign in",
}
_HINT_STYLE = "color:#5f6368"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class ExplainWindow(QDialog):
    """A non-modal help window with a paste box and the list of every known explanation."""

    def __init__(self, presets: tuple[ProviderPreset, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("explainWindow")
        self.setWindowTitle("Explain a server error")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        self._input = QPlainTextEdit()
        self._input.setObjectName("explainInput")
        self._input.setPlaceholderText(
            "Paste the server's reply or the bounce message here, for example:\n"
            "535-5.7.8 Username and Password not accepted."
        )
        self._input.setMaximumHeight(110)
        self._provider = QComboBox()
        self._provider.setObjectName("explainProvider")
        self._provider.addItem("Any provider", CUSTOM_KEY)
        for preset in presets:
            self._provider.addItem(preset.name, preset.key)
        self._stage = QComboBox()
        self._stage.setObjectName("explainStage")
        for label, stage in _STAGES:
            self._stage.addItem(label, stage.value if stage else "")
        self._result = QLabel()
        self._result.setObjectName("explainResult")
        self._result.setWordWrap(True)
        self._result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._result.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self._result.setMinimumHeight(120)
        self._diagnosis: PastedDiagnosis | None = None

        paste_tab = QWidget()
        form = QFormLayout()
        form.addRow("Provider:", self._provider)
        form.addRow("It happened:", self._stage)
        paste_layout = QVBoxLayout(paste_tab)
        paste_layout.addWidget(self._input)
        paste_layout.addLayout(form)
        paste_layout.addSpacing(6)
        paste_layout.addWidget(self._result, 1)

        catalogue = QTextBrowser()
        catalogue.setObjectName("explainCatalogue")
        catalogue.setHtml(self._catalogue_html())

        tabs = QTabWidget()
        tabs.addTab(paste_tab, "Explain a reply")
        tabs.addTab(catalogue, "Everything the test recognises")

        close = QPushButton("Close")
        close.clicked.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(tabs, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignRight)

        self._input.textChanged.connect(self._explain)
        self._provider.currentIndexChanged.connect(self._explain)
        self._stage.currentIndexChanged.connect(self._explain)
        self.resize(640, 480)
        self._explain()

    @property
    def diagnosis(self) -> PastedDiagnosis | None:
        """What the pasted text was found to be; None while the paste box is empty."""
        return self._diagnosis

    def _explain(self) -> None:
        text = self._input.toPlainText().strip()
        if not text:
            self._diagnosis = None
            self._result.setText("The explanation appears here as soon as you paste a reply.")
            return
        stage_value = self._stage.currentData()
        stage = Stage(stage_value) if stage_value else None
        provider = str(self._provider.currentData())
        diagnosis = diagnose_pasted(text, stage, provider)
        self._diagnosis = diagnosis
        self._result.setText(self._result_html(diagnosis, stage, provider))

    @staticmethod
    def _result_html(diagnosis: PastedDiagnosis, stage: Stage | None, provider: str) -> str:
        """Headline, advice, where to look, then what was found: the order an admin reads
        in, with the technical part last and quieter."""
        explanation = diagnosis.explanation(provider)
        parts = [f"<p><b>{_escape(explanation.headline)}</b></p>",
                 f"<p>{_escape(explanation.advice)}</p>"]
        field = _FIELD_LABELS.get(explanation.field or "")
        if field:
            parts.append(f"<p>In the address's settings, check: <b>{field}</b>.</p>")
        found = _escape(diagnosis.found())
        if (diagnosis.category is Category.UNEXPECTED and stage is None
                and diagnosis.reply.code is not None):
            found += " " + _escape(UNKNOWN_STAGE_HINT)
        parts.append(f'<p style="{_HINT_STYLE}">{found}</p>')
        return "".join(parts)

    @staticmethod
    def _catalogue_html() -> str:
        rows = []
        for category in EXPLANATIONS:
            if category in (Category.OK, Category.CANCELLED, Category.UNEXPECTED):
                continue
            explanation = pasted_explanation(category)
            rows.append(
                f"<p><b>{_escape(explanation.headline)}</b><br>{_escape(explanation.advice)}</p>"
            )
        return "".join(rows)
