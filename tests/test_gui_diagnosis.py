"""What the dialog shows for the main kinds of failure, driven as an admin would drive it."""

from __future__ import annotations

import itertools
import time

import pytest
import trustme
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
)
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.diagnosis import EXPLANATIONS, PROVIDER_ADVICE
from mailsettings_desktop.ui.main_window import MainWindow
from tests import fault_server as faults
from tests.fault_server import FaultServer
from tests.gui_helpers import child, fill_dialog, open_dialog, run_test, status_text

FIELD_WIDGETS = {"password": "passwordEdit", "email": "emailEdit", "host": "hostEdit",
                 "port": "portSpin", "security": "securityCombo", "username": "usernameEdit"}


def assert_shown(dialog: QDialog, category: Category, advice: str | None = None) -> None:
    """Headline and advice on screen, the blamed field marked, Save still locked."""
    explanation = EXPLANATIONS[category]
    text = status_text(dialog)
    assert explanation.headline in text
    assert (advice or explanation.advice).split(".")[0] in text
    assert "Traceback" not in text
    assert not child(dialog, QPushButton, "saveButton").isEnabled()
    if explanation.field is not None:
        widget = dialog.findChild(QLineEdit, FIELD_WIDGETS[explanation.field]) or \
            dialog.findChild(QSpinBox, FIELD_WIDGETS[explanation.field]) or \
            dialog.findChild(QComboBox, FIELD_WIDGETS[explanation.field])
        assert widget is not None and widget.property("problem") is True


def test_app_password_required_for_gmail(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer], ca: trustme.CA
) -> None:
    server = fault_server(
        tls_context=faults.trusted_context(ca),
        auth_reply="534 5.7.9 Application-specific password required. Learn more",
    )
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "starttls", provider="gmail")
    run_test(qtbot, window, dialog)
    assert_shown(dialog, Category.APP_PASSWORD_REQUIRED,
                 PROVIDER_ADVICE[(Category.APP_PASSWORD_REQUIRED, "gmail")])
    qtbot.mouseClick(child(dialog, QToolButton, "detailsButton"), Qt.MouseButton.LeftButton)
    details = child(dialog, QPlainTextEdit, "detailsText")
    assert details.isVisible()
    assert "5.7.9" in details.toPlainText()
    assert "534" in details.toPlainText()


def test_tls_to_a_plain_port_offers_one_click_fix(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer], ca: trustme.CA
) -> None:
    server = fault_server(tls_context=faults.trusted_context(ca))
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "ssl")
    run_test(qtbot, window, dialog)
    assert_shown(dialog, Category.TLS_ON_PLAIN_PORT)
    fix = child(dialog, QPushButton, "suggestionButton")
    assert fix.isVisible() and "STARTTLS" in fix.text()
    qtbot.mouseClick(fix, Qt.MouseButton.LeftButton)
    assert child(dialog, QComboBox, "securityCombo").currentData() == "starttls"
    # The server speaks plain SMTP on this very port, so the fix keeps the port.
    assert child(dialog, QSpinBox, "portSpin").value() == server.port
    run_test(qtbot, window, dialog)
    assert child(dialog, QPushButton, "saveButton").isEnabled()


def test_sender_refused_marks_the_address(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer], ca: trustme.CA
) -> None:
    server = fault_server(
        tls_context=faults.trusted_context(ca),
        mail_reply="553 5.7.1 <x@example.test>: Sender address rejected: not owned by user",
    )
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "starttls")
    run_test(qtbot, window, dialog)
    assert_shown(dialog, Category.SENDER_REJECTED)


def test_silent_server_times_out_with_an_explanation(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer]
) -> None:
    server = fault_server(silent=True)
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "starttls", timeout=2)
    started = time.monotonic()
    run_test(qtbot, window, dialog)
    assert time.monotonic() - started < 3.0
    assert_shown(dialog, Category.GREETING_TIMEOUT)


def test_untrusted_certificate_can_be_trusted_for_this_address(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer]
) -> None:
    server = fault_server(transport="implicit_tls",
                          tls_context=faults.private_authority_context())
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "ssl")
    run_test(qtbot, window, dialog)
    assert_shown(dialog, Category.CERT_UNTRUSTED)
    info = child(dialog, QLabel, "certificateInfo").text()
    assert "SHA-256" in info and "Valid from" in info and "Issued by" in info
    qtbot.mouseClick(child(dialog, QPushButton, "trustCertButton"), Qt.MouseButton.LeftButton)
    run_test(qtbot, window, dialog)
    save = child(dialog, QPushButton, "saveButton")
    assert save.isEnabled(), status_text(dialog)
    qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.findChild(QDialog, "addressDialog") is None)
    employee = window.address_pane.employee
    assert employee is not None
    [record] = window.context.db.addresses_for_employee(employee.id)
    fingerprint = record.trusted_cert_sha256
    assert fingerprint is not None and fingerprint.count(":") == 31
    assert fingerprint in info


def test_window_keeps_repainting_during_a_check(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer], ca: trustme.CA
) -> None:
    server = fault_server(tls_context=faults.trusted_context(ca), greeting_delay=1.0,
                          command_delay=0.1)
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "starttls")
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start()
    run_test(qtbot, window, dialog)
    timer.stop()
    gaps = [b - a for a, b in itertools.pairwise(ticks)]
    assert len(ticks) > 50  # the check took over a second and the timer kept firing
    assert max(gaps) < 0.1, f"longest gap {max(gaps) * 1000:.0f} ms"
    assert "account works" in status_text(dialog)


@pytest.mark.parametrize("close_with", ["cancelButton", "escape"])
def test_closing_mid_check_is_safe(
    qtbot: QtBot, window: MainWindow, fault_server: type[FaultServer], close_with: str
) -> None:
    server = fault_server(silent=True)
    dialog = open_dialog(qtbot, window)
    fill_dialog(qtbot, dialog, server.port, "starttls", timeout=30)
    qtbot.mouseClick(child(dialog, QPushButton, "testButton"), Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(window.context.runner.job_finished, timeout=2000) as done:
        if close_with == "escape":
            qtbot.keyClick(dialog, Qt.Key.Key_Escape)
        else:
            qtbot.mouseClick(child(dialog, QPushButton, close_with), Qt.MouseButton.LeftButton)
    assert done.args is not None and done.args[1].category is Category.CANCELLED
