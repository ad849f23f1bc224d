"""Program entry: command-line options, logging, and `create_main_window` for tests.

`create_main_window(db_path, demo=False)` is a stable contract used by tests outside this
repository; see README ("Contract for outside tests").

Start-up order matters for how fast the program feels: `main` shows the main window
first and opens the database (SQLAlchemy, the keyring, the employee list) only after the
window's first paint. The heavy modules are therefore imported inside functions here.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication

from mailsettings_desktop import APP_DISPLAY_NAME, APP_NAME, ORG_NAME, __version__
from mailsettings_desktop.ui.main_window import MainWindow

if TYPE_CHECKING:
    from mailsettings_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

# If the platform never reports a paint (a minimised start), open the database anyway.
_OPEN_WITHOUT_PAINT_MS = 1000


def open_context(db_path: str | Path, demo: bool = False) -> AppContext:
    """Open the database (created if needed), the keyring and the check runner.

    Raises `StorageError` when the database cannot be opened.
    """
    import keyring

    from mailsettings_desktop.core.demo import fill_demo_company
    from mailsettings_desktop.core.presets import default_presets
    from mailsettings_desktop.core.secrets import SecretStore
    from mailsettings_desktop.core.storage import Database
    from mailsettings_desktop.ui.check_runner import CheckRunner
    from mailsettings_desktop.ui.context import AppContext

    db = Database(Path(db_path))
    if demo and fill_demo_company(db):
        log.info("filled %s with the sample company", db_path)
    return AppContext(
        db=db,
        secrets=SecretStore(keyring.get_keyring()),
        runner=CheckRunner(),
        presets=default_presets(),
    )


def create_main_window(
    db_path: str | Path, demo: bool = False, log_path: str | Path = ""
) -> MainWindow:
    """The main window bound to `db_path` (created if needed), not yet shown.

    `demo=True` fills an empty database with the sample company. Passwords go to whatever
    backend `keyring.get_keyring()` returns. The QApplication belongs to the caller.
    """
    return MainWindow(open_context(db_path, demo), str(log_path))


class _OpenAfterFirstPaint(QObject):
    """Starts logging and binds the shown main window to its database after its first paint.

    It filters the window's own events only (a filter on the whole application would
    route every start-up event through Python), and a timer opens the database anyway if
    no paint comes. Until then an exception
    ends the program with its traceback on stderr, as any Python program does.
    """

    def __init__(self, app: QApplication, window: MainWindow, args: argparse.Namespace) -> None:
        super().__init__(window)
        self._app = app
        self._window = window
        self._args = args
        self._done = False
        window.installEventFilter(self)
        QTimer.singleShot(_OPEN_WITHOUT_PAINT_MS, self._open)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._window and event.type() == QEvent.Type.Paint:
            self._window.removeEventFilter(self)
            # After the paint has reached the screen, not inside it.
            QTimer.singleShot(0, self._open)
        return False

    def _open(self) -> None:
        if self._done:
            return
        self._done = True
        self._window.removeEventFilter(self)
        from PySide6.QtWidgets import QMessageBox

        from mailsettings_desktop.core.logs import setup_logging
        from mailsettings_desktop.core.paths import default_db_path
        from mailsettings_desktop.core.storage import StorageError

        args = self._args
        log_path = setup_logging(level=logging.DEBUG if args.debug else logging.INFO)
        log.info("%s %s starting", APP_NAME, __version__)
        _install_crash_handler(log_path)
        db_path = args.db or default_db_path()
        try:
            context = open_context(db_path, args.demo)
        except StorageError as exc:
            log.error("cannot open database: %s", exc)
            QMessageBox.critical(self._window, APP_DISPLAY_NAME, str(exc))
            self._app.exit(2)
            return
        self._window.bind(context, log_path=str(log_path))
        # Every other window (dialogs, the employee card) takes the application's icon.
        self._app.setWindowIcon(self._window.windowIcon())


def _parse_args(argv: list[str]) -> argparse.Namespace:
    from mailsettings_desktop.core.paths import default_db_path

    parser = argparse.ArgumentParser(
        prog=APP_NAME, description="Configure employees' external email addresses."
    )
    parser.add_argument("--db", type=Path, default=None,
                        help=f"SQLite database file (default: {default_db_path()})")
    parser.add_argument("--demo", action="store_true",
                        help="fill an empty database with a sample company")
    parser.add_argument("--debug", action="store_true", help="log in more detail")
    parser.add_argument("--self-test", action="store_true",
                        help="check this installation offscreen on throwaway data, print "
                             "one line and exit (0: ok)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return parser.parse_args(argv)


def _install_crash_handler(log_path: Path) -> None:
    """Log unexpected exceptions and tell the admin, instead of dying silently."""

    def handle(kind: type[BaseException], value: BaseException,
               tb: TracebackType | None) -> None:
        import traceback

        log.critical("unexpected error:\n%s", "".join(traceback.format_exception(kind, value, tb)))
        app = QApplication.instance()
        if app is not None:
            from PySide6.QtWidgets import QMessageBox

            box = QMessageBox(
                QMessageBox.Icon.Critical, APP_DISPLAY_NAME,
                "Something went wrong inside the program. Your saved data is safe.",
            )
            box.setInformativeText(f"The details were written to the log file:\n{log_path}")
            box.open()

    sys.excepthook = handle


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if args.self_test:
        # Before any logging or QApplication set-up: the self-test keeps its log in a scratch
        # folder and needs the offscreen platform. Imported here because it imports us.
        from mailsettings_desktop.ui.self_test import run_self_test

        return run_self_test(debug=args.debug)
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_DISPLAY_NAME)
    app.setOrganizationName(ORG_NAME)
    app.setApplicationVersion(__version__)

    # The window first, everything else after it has painted: see the module docstring.
    window = MainWindow(None)
    window.show()
    _OpenAfterFirstPaint(app, window, args)
    QTimer.singleShot(0, window.raise_)
    code = app.exec()
    log.info("exiting with %d", code)
    return code
