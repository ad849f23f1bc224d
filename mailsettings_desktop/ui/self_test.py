"""`--self-test`: prove that an installed or frozen build starts, finds its parts, shows data.

A PyInstaller bundle can build without error and still fail on the admin's machine: a
keyring backend whose entry points or dependencies were left out, `resources/` missing, a
Qt plugin trimmed too far. This runs the real start-up path (the same `create_main_window`)
on throwaway data, offscreen, so CI can check a bundle on a machine without a display and
an admin can check an install without touching their own database, log or keyring.

It prints exactly one line to stdout: `self-test ok: ...` (exit 0) or
`self-test FAILED: <reason>` (exit 1). Qt warnings go to stderr, where CI looks for them.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from importlib import import_module, metadata
from pathlib import Path
from types import TracebackType

import keyring
from PySide6.QtCore import (
    QMessageLogContext,
    QModelIndex,
    QtMsgType,
    qInstallMessageHandler,
    qVersion,
)
from PySide6.QtWidgets import QAbstractItemView, QApplication

from mailsettings_desktop.app import create_main_window
from mailsettings_desktop.core.demo import DEMO_EMPLOYEES
from mailsettings_desktop.core.logs import setup_logging
from mailsettings_desktop.core.paths import resources_dir
from mailsettings_desktop.core.presets import default_presets
from mailsettings_desktop.core.secrets import SecretStore

log = logging.getLogger(__name__)

# The backend each platform is expected to offer, as (module, class, modules it needs).
# keyring swallows the ImportError of a missing dependency and simply skips the backend, so
# a bundle without them would quietly report "no keyring"; importing them here tells that
# apart from a machine that really has no keyring.
_NATIVE_BACKENDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "linux": ("keyring.backends.SecretService", "Keyring", ("secretstorage", "jeepney")),
    "win32": ("keyring.backends.Windows", "WinVaultKeyring",
              ("win32ctypes.pywin32.win32cred",)),
    "darwin": ("keyring.backends.macOS", "Keyring", ()),
}

# Qt messages that say nothing about the build's health: the offscreen platform cannot
# honour window size hints and says so once per window.
_HARMLESS_QT_MESSAGES = ("This plugin does not support propagateSizeHints",)

_QT_MESSAGE_KINDS = {
    QtMsgType.QtDebugMsg: "debug",
    QtMsgType.QtInfoMsg: "info",
    QtMsgType.QtWarningMsg: "warning",
    QtMsgType.QtCriticalMsg: "critical",
    QtMsgType.QtFatalMsg: "fatal",
}


class SelfTestError(Exception):
    """One check failed; the message is the reason printed after `self-test FAILED:`."""


def run_self_test(debug: bool = False) -> int:
    """Run every check, print the one-line report, and return the exit code."""
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(
            prefix="mailsettings-self-test-", ignore_cleanup_errors=True
        ) as scratch:
            findings = _run_checks(Path(scratch), debug)
    except SelfTestError as exc:
        _print(f"self-test FAILED: {exc}")
        return 1
    except Exception as exc:
        # A bug or a broken bundle that no check anticipated still gets a one-line verdict.
        _print(f"self-test FAILED: unexpected {type(exc).__name__}: {exc}")
        return 1
    elapsed = time.perf_counter() - started
    _print(f"self-test ok: {', '.join(findings)}, {elapsed:.1f} s")
    return 0


def _run_checks(scratch: Path, debug: bool) -> list[str]:
    log_path = setup_logging(scratch, level=logging.DEBUG if debug else logging.INFO)
    try:
        log.info("self-test starting (frozen: %s)", getattr(sys, "frozen", False))
        app = _offscreen_application()
        keyring_finding = _check_keyring()
        preset_count = _check_presets()
        employee_count = _check_main_window(app, scratch / "self-test.sqlite3", log_path)
        findings = [
            f"qt {qVersion()}",
            keyring_finding,
            f"{preset_count} presets",
            f"{employee_count} demo employees",
        ]
        log.info("self-test passed: %s", ", ".join(findings))
        return findings
    except Exception:
        log.exception("self-test failed")
        raise
    finally:
        _close_log_file(scratch)


def _offscreen_application() -> QApplication:
    """The QApplication, on the offscreen platform so no display is needed or touched."""
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    # Forced, not defaulted: a desktop session's QT_QPA_PLATFORM=xcb or wayland would
    # otherwise flash a window on the admin's screen, or fail on a machine without one.
    os.environ["QT_QPA_PLATFORM"] = "offscreen"
    qInstallMessageHandler(_on_qt_message)
    return QApplication(sys.argv[:1])


def _on_qt_message(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    """Keep Qt's warnings visible on stderr (CI fails on them), minus the known harmless."""
    name = _QT_MESSAGE_KINDS.get(kind, "message")
    if kind in (QtMsgType.QtDebugMsg, QtMsgType.QtInfoMsg) or message.startswith(
        _HARMLESS_QT_MESSAGES
    ):
        log.debug("qt %s: %s", name, message)
        return
    log.warning("qt %s: %s", name, message)
    if sys.stderr is not None:
        print(f"qt {name}: {message}", file=sys.stderr, flush=True)


def _check_keyring() -> str:
    """Load keyring's backends as the program does and describe the one it picks.

    A missing or locked keyring is the machine's state, so it is reported, not failed: CI
    machines often have none. A backend that cannot be imported is the build's fault.
    """
    own_backends = [
        ep for ep in metadata.entry_points(group="keyring.backends")
        if ep.value.startswith("keyring.")
    ]
    if not own_backends:
        raise SelfTestError(
            "keyring has no backends registered (its entry points are missing)"
        )
    for entry_point in own_backends:
        try:
            entry_point.load()
        except Exception as exc:
            raise SelfTestError(
                f"keyring backend {entry_point.name} does not load: {exc}"
            ) from exc

    native = _NATIVE_BACKENDS.get(sys.platform)
    if native is not None:
        module_name, _class_name, needs = native
        for name in (module_name, *needs):
            try:
                import_module(name)
            except ImportError as exc:
                raise SelfTestError(f"keyring needs {name}, which does not load: {exc}") from exc

    status = SecretStore(keyring.get_keyring()).status()
    name = status.backend_name.removeprefix("keyring.backends.")
    log.info("keyring backend %s usable=%s %s", status.backend_name, status.usable,
             status.problem)
    if status.usable:
        return f"keyring {name} (usable)"
    reason = status.problem
    native_reason = _native_backend_problem()
    if native_reason:
        reason = f"{reason}; {native_reason}"
    return f"keyring {name} (not usable: {reason})"


def _native_backend_problem() -> str:
    """Why the platform's own backend was passed over, as keyring itself explains it."""
    native = _NATIVE_BACKENDS.get(sys.platform)
    if native is None:
        return ""
    module_name, class_name, _needs = native
    backend_class = getattr(import_module(module_name), class_name, None)
    if backend_class is None:
        return ""
    try:
        # keyring rejects a backend by raising from its priority; the message says why.
        backend_class.priority  # noqa: B018
    except Exception as exc:
        return f"{module_name.rsplit('.', 1)[-1]}: {exc}"
    return ""


def _check_presets() -> int:
    path = resources_dir() / "providers.json"
    try:
        presets = default_presets()
    except (OSError, ValueError, KeyError) as exc:
        raise SelfTestError(f"provider presets do not load from {path}: {exc}") from exc
    if not presets:
        raise SelfTestError(f"no provider presets in {path}")
    return len(presets)


def _check_main_window(app: QApplication, db_path: Path, log_path: Path) -> int:
    """Open the main window on the sample company, paint it once and count the employees."""
    errors: list[BaseException] = []

    def record(kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
        log.error("error inside Qt event handling", exc_info=(kind, value, tb))
        errors.append(value)

    previous_hook = sys.excepthook
    sys.excepthook = record
    try:
        window = create_main_window(db_path, demo=True, log_path=log_path)
        try:
            window.show()
            app.processEvents()
            if not window.isVisible():
                raise SelfTestError("the main window did not show")
            view = window.findChild(QAbstractItemView, "employeeList")
            if view is None or view.model() is None:
                raise SelfTestError("the main window has no employee list")
            model = view.model()
            while model.canFetchMore(QModelIndex()):
                model.fetchMore(QModelIndex())
            count = model.rowCount()
            # Painting every widget once exercises fonts, the style and the stylesheet.
            if window.grab().isNull():
                raise SelfTestError("the main window could not be painted")
            app.processEvents()
        finally:
            window.close()
            window.context.db.close()
            window.deleteLater()
            app.processEvents()
    finally:
        sys.excepthook = previous_hook
    if errors:
        first = errors[0]
        raise SelfTestError(f"error while showing the window: {type(first).__name__}: {first}")
    if count != len(DEMO_EMPLOYEES):
        raise SelfTestError(
            f"the window lists {count} employees, expected {len(DEMO_EMPLOYEES)} demo employees"
        )
    return count


def _close_log_file(scratch: Path) -> None:
    """Detach the log file in the scratch folder, so it can be deleted (Windows locks it)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        filename = getattr(handler, "baseFilename", "")
        if filename and Path(filename).parent == scratch:
            root.removeHandler(handler)
            handler.close()


def _print(line: str) -> None:
    # One line whatever an exception message holds: CI and the tests read exactly one.
    line = " ".join(line.split())
    # A windowed Windows build has no stdout; the exit code still carries the verdict.
    if sys.stdout is not None:
        print(line, flush=True)
