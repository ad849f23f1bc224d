"""Acting on the GUI as a person would: clicking list rows, choosing combo items, typing."""

from __future__ import annotations

from typing import TypeVar

from PySide6.QtCore import QAbstractItemModel, QEvent, QModelIndex, QPoint, Qt
from PySide6.QtGui import QKeyEvent, QTextDocumentFragment
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QListView,
    QPushButton,
    QSpinBox,
    QToolBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.ui.main_window import MainWindow
from tests.conftest import PASSWORD, USER

W = TypeVar("W", bound=QWidget)


def child(parent: QWidget, kind: type[W], name: str) -> W:
    widget = parent.findChild(kind, name)
    assert widget is not None, f"no {kind.__name__} named {name}"
    return widget


def row_of_text(model: QAbstractItemModel, text: str) -> QModelIndex:
    for row in range(model.rowCount()):
        index = model.index(row, 0)
        if index.data() == text:
            return index
    raise AssertionError(f"no row with text {text!r}")


def click_row(qtbot: QtBot, view: QAbstractItemView, text: str) -> None:
    index = row_of_text(view.model(), text)
    view.scrollTo(index)
    rect = view.visualRect(index)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def tick_row(qtbot: QtBot, view: QAbstractItemView, text: str) -> None:
    """Select a checkable row and press Space, as a keyboard user ticks a box."""
    click_row(qtbot, view, text)
    qtbot.keyClick(view, Qt.Key.Key_Space)


def click_check(qtbot: QtBot, box: QCheckBox) -> None:
    """Click a check box on its indicator (its centre may be empty space in a wide row)."""
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(6, box.height() // 2))


def click_tool(qtbot: QtBot, window: QWidget, action_name: str) -> None:
    """Click the main toolbar's button for the action with that objectName."""
    toolbar = child(window, QToolBar, "mainToolBar")
    action = next(a for a in toolbar.actions() if a.objectName() == action_name)
    button = toolbar.widgetForAction(action)
    assert button is not None and button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def choose(qtbot: QtBot, combo: QComboBox, data: str) -> None:
    """Pick the item with `data` from the combo box using the keyboard."""
    target = combo.findData(data)
    assert target >= 0, f"{combo.objectName()} has no item {data!r}"
    combo.setFocus()
    steps = target - combo.currentIndex()
    key = Qt.Key.Key_Down if steps > 0 else Qt.Key.Key_Up
    for _ in range(abs(steps)):
        qtbot.keyClick(combo, key)
    assert combo.currentIndex() == target


def type_into(qtbot: QtBot, widget: QWidget, text: str, replace: bool = True) -> None:
    """Type text key by key; characters outside ASCII go as key events carrying text."""
    widget.setFocus()
    if replace:
        qtbot.keyClick(widget, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
        qtbot.keyClick(widget, Qt.Key.Key_Delete)
    for char in text:
        if char.isascii():
            qtbot.keyClicks(widget, char)
            continue
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            event = QKeyEvent(kind, 0, Qt.KeyboardModifier.NoModifier, char)
            QApplication.sendEvent(widget, event)


# The Add dialog, step by step --------------------------------------------------------------

DIALOG_EMPLOYEE = "Bruno Diaz"


def open_dialog(qtbot: QtBot, window: MainWindow, employee: str = DIALOG_EMPLOYEE) -> QDialog:
    click_row(qtbot, child(window, QListView, "employeeList"), employee)
    qtbot.mouseClick(child(window, QPushButton, "addAddressButton"), Qt.MouseButton.LeftButton)
    dialog = child(window, QDialog, "addressDialog")
    qtbot.waitExposed(dialog)
    return dialog


def fill_dialog(qtbot: QtBot, dialog: QDialog, port: int, security: str,
                password: str = PASSWORD, timeout: int = 5, provider: str = "custom") -> None:
    """Fill the dialog for the local server; a provider preset is chosen first, as a person
    would, and its server values are then overwritten with the local ones."""
    choose(qtbot, child(dialog, QComboBox, "providerCombo"), provider)
    type_into(qtbot, child(dialog, QLineEdit, "emailEdit"), USER)
    type_into(qtbot, child(dialog, QLineEdit, "senderNameEdit"), "Bruno Diaz")
    type_into(qtbot, child(dialog, QLineEdit, "passwordEdit"), password)
    type_into(qtbot, child(dialog, QLineEdit, "hostEdit"), "127.0.0.1")
    choose(qtbot, child(dialog, QComboBox, "securityCombo"), security)
    type_into(qtbot, child(dialog, QSpinBox, "portSpin"), str(port))
    type_into(qtbot, child(dialog, QSpinBox, "timeoutSpin"), str(timeout))


def run_test(qtbot: QtBot, window: MainWindow, dialog: QDialog) -> None:
    with qtbot.waitSignal(window.context.runner.job_finished, timeout=15_000):
        qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)


def status_text(dialog: QDialog) -> str:
    """The test result as the admin reads it (rich text turned into plain text)."""
    return QTextDocumentFragment.fromHtml(child(dialog, QLabel, "testStatus").text()).toPlainText()
