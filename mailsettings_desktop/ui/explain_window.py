"""Help → "Explain a server error": paste a reply from a bounce or a log, get the advice.

It reads the same tables as the account check (`core.diagnosis`), so a pasted reply is
explained in exactly the words the check would use.
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
    category_for_reply,
    explanation_for,
    parse_pasted_reply,
)
from mailsettings_desktop.core.presets import CUSTOM_KEY, ProviderPreset

_STAGES: tuple[tuple[str, Stage | None], ...] = (
    ("Don't know", None),
    ("When connecting (greeting)", Stage.GREETING),
    ("When signing in", Stage.AUTHENTICATING),
    ("When sending (sender address)", Stage.CHECKING_SENDER),
    ("When sending (recipient)", Stage.SENDING),
)


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

        paste_tab = QWidget()
        form = QFormLayout()
        form.addRow("Provider:", self._provider)
        form.addRow("It happened:", self._stage)
        paste_layout = QVBoxLayout(paste_tab)
        paste_layout.addWidget(self._input)
        paste_layout.addLayout(form)
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

    def _explain(self) -> None:
        text = self._input.toPlainText().strip()
        if not text:
            self._result.setText("The explanation appears here as soon as you paste a reply.")
            return
        reply = parse_pasted_reply(text)
        stage_value = self._stage.currentData()
        stage = Stage(stage_value) if stage_value else None
        provider = str(self._provider.currentData())
        category = category_for_reply(stage, reply.code, reply.text, provider)
        explanation = explanation_for(category, provider)
        found = []
        if reply.code is not None:
            found.append(f"reply code {reply.code}")
        if reply.enhanced:
            found.append(f"enhanced status code {reply.enhanced}")
        found_text = ", ".join(found) if found else "no reply code"
        if category is Category.UNEXPECTED:
            headline = "This reply is not one the program knows."
        else:
            headline = explanation.headline
        self._result.setText(
            f"<p><b>{_escape(headline)}</b></p><p>{_escape(explanation.advice)}</p>"
            f'<p style="color:#5f6368">Found: {found_text}. Kind: {category.value}.</p>'
        )

    @staticmethod
    def _catalogue_html() -> str:
        rows = []
        for category, explanation in EXPLANATIONS.items():
            if category in (Category.OK, Category.CANCELLED):
                continue
            rows.append(
                f"<p><b>{_escape(explanation.headline)}</b><br>{_escape(explanation.advice)}</p>"
            )
        return "".join(rows)
