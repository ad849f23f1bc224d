"""Small visual conventions shared by the windows: error labels and problem highlighting."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication, QLabel, QWidget

ERROR_COLOR = "#b3261e"
OK_COLOR = "#1e7a34"
WARNING_COLOR = "#8a5a00"

APP_STYLESHEET = f"""
QLineEdit[problem="true"], QSpinBox[problem="true"], QComboBox[problem="true"] {{
    border: 2px solid {ERROR_COLOR};
    border-radius: 3px;
}}
QListView#employeeList::item {{ padding: 3px 2px; }}
QLabel[role="fieldError"] {{ color: {ERROR_COLOR}; }}
QLabel[role="fieldWarning"] {{ color: {WARNING_COLOR}; }}
QLabel[role="hint"] {{ color: #5f6368; }}
QFrame#resultBox[state="ok"] {{
    border: 1px solid {OK_COLOR}; border-radius: 4px; background: #eef7f0;
}}
QFrame#resultBox[state="failed"] {{
    border: 1px solid {ERROR_COLOR}; border-radius: 4px; background: #fbeeed;
}}
QFrame#resultBox[state="running"], QFrame#resultBox[state="idle"] {{
    border: 1px solid palette(mid); border-radius: 4px;
}}
QFrame#banner {{
    border: 1px solid {WARNING_COLOR}; border-radius: 4px; background: #fff6e0;
}}
"""


def field_error_label(object_name: str, role: str = "fieldError") -> QLabel:
    """A hidden, word-wrapped label that shows one field's problem under the field."""
    label = QLabel()
    label.setObjectName(object_name)
    label.setProperty("role", role)
    label.setWordWrap(True)
    label.hide()
    return label


def set_problem(widget: QWidget, problem: bool) -> None:
    """Mark a field as the one at fault (red border) or clear the mark."""
    if bool(widget.property("problem")) == problem:
        return
    widget.setProperty("problem", problem)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)


def apply_app_style(app: QApplication) -> None:
    app.setStyleSheet(APP_STYLESHEET)
