"""Program entry: command-line options, logging, and `create_main_window` for tests.

`create_main_window(db_path, demo=False)` is a stable contract used by tests outside this
repository; see README ("Contract for outside tests").
"""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path
from types import TracebackType

import keyring
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from mailsettings_desktop import APP_DISPLAY_NAME, APP_NAME, ORG_NAME, __version__
from mailsettings_desktop.core.demo import fill_demo_company
from mailsettings_desktop.core.logs import setup_logging
from mailsettings_desktop.core.paths import default_db_path
from mailsettings_desktop.core.presets import default_presets
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.storage import Database, StorageError
from mailsettings_desktop.ui.check_runner import CheckRunner
from mailsettings_desktop.ui.context import AppContext
from mailsettings_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)


def create_main_window(
    db_path: str | Path, demo: bool = False, log_path: str | Path = ""
) -> MainWindow:
    """The main window bound to `db_path` (created if needed), not yet shown.

    `demo=True` fills an empty database with the sample company. Passwords go to whatever
    backend `keyring.get_keyring()` returns. The QApplication belongs to the caller.
    """
    db = Database(Path(db_path))
    if demo and fill_demo_company(db):
        log.info("filled %s with the sample company", db_path)
    context = AppContext(
        db=db,
        secrets=SecretStore(keyring.get_keyring()),
        runner=CheckRunner(),
        presets=default_presets(),
    )
    return MainWindow(context, str(log_path))


def _parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=APP_NAME, description="Configure employees' external email addresses."
    )
    parser.add_argument("--db", type=Path, default=None,
                        help=f"SQLite database file (default: {default_db_path()})")
    parser.add_argument("--demo", action="store_true",
                        help="fill an empty database with a sample company")
    parser.add_argument("--debug", action="store_true", help="log in more detail")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def _install_crash_handler(log_path: Path) -> None:
    """Log unexpected exceptions and tell the admin, instead of dying silently."""

    def handle(kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
        log.critical("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        app = QApplication.instance()
        if app is not None:
            box = QMessageBox(
                QMessageBox.Icon.Critical, APP_DISPLAY_NAME,
                "Something went wrong inside the program. Your saved data is safe.",
            )
            box.setInformativeText(f"The details were written to the log file:\n{log_path}")
            box.open()

    sys.excepthook = handle


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    log_path = setup_logging(level=logging.DEBUG if args.debug else logging.INFO)
    log.info("%s %s starting", APP_NAME, __version__)
    _install_crash_handler(log_path)

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)

    db_path = args.db or default_db_path()
    try:
        window = create_main_window(db_path, demo=args.demo, log_path=log_path)
    except StorageError as exc:
        log.error("cannot open database: %s", exc)
        QMessageBox.critical(None, APP_DISPLAY_NAME, str(exc))
        return 2
    window.show()
    QTimer.singleShot(0, window.raise_)
    code = app.exec()
    log.info("exiting with %d", code)
    return code
