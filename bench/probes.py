"""The benchmark's measuring processes; `bench/run.py` starts each as its own process.

Every probe prints one line `BENCH-RESULT {json}` on stdout and exits. Separate processes
keep the figures honest: a first paint is measured from a fresh interpreter, and a
Test all run does not share its GIL with the server it talks to.

    probes.py bare                      a bare PySide6 window: first paint and memory
    probes.py main DB                   the program's own start-up path on DB
    probes.py interact DB               filter, select and Add dialog timings on DB
    probes.py test-all DB CA            Test all in the GUI, with a QTimer watching the loop
    probes.py bulk DB CA N              run_bulk_check without a GUI, N at a time
    probes.py smtplib DB CA             the same steps with raw smtplib, one after another
    probes.py server CERT KEY DELAY     a FaultServer on 127.0.0.1 until stdin closes
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULT_PREFIX = "BENCH-RESULT "
# How long a GUI probe lets the program settle after its window shows data, before memory
# is read: long enough for deferred start-up work, short enough to keep runs quick.
SETTLE_SECONDS = 0.3
BENCH_PASSWORD = "bench password 42"  # ASCII: smtplib.login refuses anything else


def report(values: dict[str, Any]) -> None:
    print(RESULT_PREFIX + json.dumps(values), flush=True)


def peak_rss_mb() -> float:
    """The process's peak resident memory in MiB (getrusage on Unix, psutil on Windows)."""
    try:
        import resource
    except ImportError:
        import psutil  # type: ignore[import-untyped]

        return float(psutil.Process().memory_info().peak_wset) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


# First paint ---------------------------------------------------------------------------


def _first_paint_probe(
    start_program: Any, wait_for_rows: bool, on_first_paint: Any = None
) -> None:
    """Run `start_program(app, watch)` and report when the watched window first paints.

    `start_program` calls `watch(window)` before showing its window. The filter sits on
    that window only: a filter on the whole application would send every start-up event
    through Python and slow down the window with more widgets. A top-level window gets a
    paint event of its own when it is first drawn. The time is wall-clock (`time.time()`)
    so that run.py can subtract the moment it started the process.
    """
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QAbstractItemView, QApplication, QWidget

    app = QApplication(sys.argv[:1])
    found: dict[str, Any] = {}
    watched_windows: list[QWidget] = []

    def finish() -> None:
        found["peak_rss_mb"] = peak_rss_mb()
        report(found)
        app.quit()

    def wait_for_list() -> None:
        view = watched_windows[0].findChild(QAbstractItemView, "employeeList")
        if view is not None and view.model() is not None and view.model().rowCount() > 0:
            found["listed_at"] = time.time()
            QTimer.singleShot(int(SETTLE_SECONDS * 1000), finish)
        else:
            QTimer.singleShot(2, wait_for_list)

    class FirstPaint(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if "painted_at" not in found and event.type() == QEvent.Type.Paint:
                found["painted_at"] = time.time()
                watched.removeEventFilter(self)
                if on_first_paint is not None:
                    on_first_paint()
                if wait_for_rows:
                    QTimer.singleShot(0, wait_for_list)
                else:
                    QTimer.singleShot(int(SETTLE_SECONDS * 1000), finish)
            return False

    paint_filter = FirstPaint()

    def watch(window: QWidget) -> None:
        watched_windows.append(window)
        window.installEventFilter(paint_filter)

    start_program(app, watch)


def probe_bare() -> None:
    def start(app: Any, watch: Any) -> None:
        from PySide6.QtWidgets import QLabel, QMainWindow

        window = QMainWindow()
        window.setWindowTitle("bare")
        window.setCentralWidget(QLabel("A bare PySide6 window"))
        window.resize(1120, 680)
        watch(window)
        window.show()
        app.exec()

    _first_paint_probe(start, wait_for_rows=False)


def probe_main(db_path: str) -> None:
    """The program's real `main()`, with its log file redirected to a scratch folder."""

    def start(_app: Any, watch: Any) -> None:
        from mailsettings_desktop import app as program
        from mailsettings_desktop.ui.main_window import MainWindow

        original_show = MainWindow.show

        def show(window: MainWindow) -> None:
            # main() creates the window itself; catch it as main() shows it.
            watch(window)
            original_show(window)

        MainWindow.show = show  # type: ignore[method-assign]
        program.main(["--db", db_path])

    def redirect_log() -> None:
        # At the first paint, just before main() starts its log: importing the logging
        # module any earlier would add its cost to the figure being measured.
        import mailsettings_desktop.core.logs as logs

        scratch = Path(tempfile.mkdtemp(prefix="mailsettings-bench-log-"))
        logs.log_dir = lambda: scratch  # type: ignore[attr-defined]

    _first_paint_probe(start, wait_for_rows=True, on_first_paint=redirect_log)


# Interaction ----------------------------------------------------------------------------


def _settle(app: Any) -> None:
    app.processEvents()
    app.processEvents()


def probe_interact(db_path: str) -> None:
    """Time filter keystrokes, employee selection and the Add dialog on a shown window.

    Each figure is the time from the input event until the resulting repaint has been
    processed (the event and then the event loop until it is idle).
    """
    from PySide6.QtCore import QModelIndex, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import (
        QApplication,
        QDialog,
        QLineEdit,
        QListView,
        QPushButton,
        QTableView,
    )

    from mailsettings_desktop.app import create_main_window
    from mailsettings_desktop.core.secrets import SecretStore  # noqa: F401 (warm import)

    app = QApplication(sys.argv[:1])
    started = time.perf_counter()
    window = create_main_window(db_path)
    window.show()
    QTest.qWaitForWindowExposed(window)
    employees = window.findChild(QListView, "employeeList")
    model = employees.model()
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    _settle(app)
    opened = time.perf_counter() - started
    total = model.rowCount()

    line = window.findChild(QLineEdit, "employeeFilter")
    line.setFocus()
    keystrokes: list[float] = []
    shown_after: list[int] = []
    queries = ("anna keller 1", "sales", "ivan petrov 42", "zo", "marketing lena")
    for query in queries:
        for char in query:
            began = time.perf_counter()
            QTest.keyClick(line, char)
            _settle(app)
            keystrokes.append(time.perf_counter() - began)
            shown_after.append(model.matching)
        for _ in query:
            began = time.perf_counter()
            QTest.keyClick(line, Qt.Key.Key_Backspace)
            _settle(app)
            keystrokes.append(time.perf_counter() - began)
    if model.matching != total:
        raise RuntimeError("clearing the filter did not bring back every employee")

    table = window.findChild(QTableView, "addressTable")
    employees.setFocus()
    employees.setCurrentIndex(model.index(0, 0))
    _settle(app)
    selections: list[float] = []
    for _ in range(40):
        before = window.address_pane.employee
        began = time.perf_counter()
        QTest.keyClick(employees, Qt.Key.Key_Down)
        _settle(app)
        selections.append(time.perf_counter() - began)
        if window.address_pane.employee == before:
            raise RuntimeError("pressing Down did not select the next employee")
    addresses_shown = table.model().rowCount()

    add = window.findChild(QPushButton, "addAddressButton")
    dialog_opens: list[float] = []
    project_filter: list[float] = []
    project_count = 0
    for _ in range(6):
        began = time.perf_counter()
        QTest.mouseClick(add, Qt.MouseButton.LeftButton)
        _settle(app)
        dialog = window.findChild(QDialog, "addressDialog")
        if dialog is None or not dialog.isVisible():
            raise RuntimeError("the Add dialog did not open")
        dialog_opens.append(time.perf_counter() - began)
        projects = dialog.findChild(QListView, "projectList")
        project_count = projects.model().rowCount()
        search = dialog.findChild(QLineEdit, "projectFilter")
        search.setFocus()
        for char in "project 01":
            began = time.perf_counter()
            QTest.keyClick(search, char)
            _settle(app)
            project_filter.append(time.perf_counter() - began)
        dialog.reject()
        _settle(app)
        _settle(app)

    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    names = [model.index(row, 0).data() for row in range(model.rowCount())]
    project_names = _project_names(db_path)
    window.close()
    bare = _bare_widgets_baseline(app, names, project_names, queries)

    report({
        **bare,
        "employees": total,
        "opened_s": opened,
        "filter_ms": [t * 1000 for t in keystrokes],
        "filter_rows_after": shown_after,
        "select_ms": [t * 1000 for t in selections],
        "addresses_shown": addresses_shown,
        "dialog_open_ms": [t * 1000 for t in dialog_opens],
        "projects_in_dialog": project_count,
        "project_filter_ms": [t * 1000 for t in project_filter],
        "peak_rss_mb": peak_rss_mb(),
    })


def _project_names(db_path: str) -> list[str]:
    from mailsettings_desktop.core.list_queries import load_projects
    from mailsettings_desktop.core.storage import Database

    db = Database(Path(db_path))
    try:
        return [project.name for project in load_projects(db.engine)]
    finally:
        db.close()


def _bare_widgets_baseline(
    app: Any, names: list[str], project_names: list[str], queries: tuple[str, ...]
) -> dict[str, list[float]]:
    """The same gestures on plain Qt widgets and Qt's own C++ models, as a floor.

    A QStringListModel behind Qt's C++ QSortFilterProxyModel (fixed-string filter), a
    bare QListView for Down, a plain QDialog with the project names: what Qt itself costs
    for the same keystrokes and windows, without any of the program's code.
    """
    from PySide6.QtCore import QSortFilterProxyModel, QStringListModel, Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QDialog, QLineEdit, QListView, QVBoxLayout, QWidget

    def filtered_list(parent: QWidget, strings: list[str]) -> tuple[QLineEdit, QListView]:
        source = QStringListModel(strings, parent)
        proxy = QSortFilterProxyModel(parent)
        proxy.setSourceModel(source)
        proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        line = QLineEdit(parent)
        line.textChanged.connect(proxy.setFilterFixedString)
        view = QListView(parent)
        view.setUniformItemSizes(True)
        view.setModel(proxy)
        layout = QVBoxLayout(parent)
        layout.addWidget(line)
        layout.addWidget(view)
        return line, view

    def timed(action: Any) -> float:
        began = time.perf_counter()
        action()
        _settle(app)
        return (time.perf_counter() - began) * 1000

    window = QWidget()
    window.resize(1120, 680)
    line, view = filtered_list(window, names)
    window.show()
    QTest.qWaitForWindowExposed(window)
    line.setFocus()
    typing: list[float] = []
    for query in queries:
        for char in query:
            typing.append(timed(lambda c=char: QTest.keyClick(line, c)))
        for _ in query:
            typing.append(timed(lambda: QTest.keyClick(line, Qt.Key.Key_Backspace)))
    view.setFocus()
    view.setCurrentIndex(view.model().index(0, 0))
    selecting = [timed(lambda: QTest.keyClick(view, Qt.Key.Key_Down)) for _ in range(40)]

    opening: list[float] = []
    project_typing: list[float] = []
    for _ in range(6):
        dialog = QDialog(window)
        dialog.resize(940, 700)
        dialog_line, _view = filtered_list(dialog, project_names)
        opening.append(timed(dialog.open))
        dialog_line.setFocus()
        for char in "project 01":
            project_typing.append(
                timed(lambda c=char, line=dialog_line: QTest.keyClick(line, c))
            )
        dialog.reject()
        dialog.deleteLater()
        _settle(app)
    window.close()
    return {
        "bare_filter_ms": typing,
        "bare_select_ms": selecting,
        "bare_dialog_open_ms": opening,
        "bare_project_filter_ms": project_typing,
    }


# Test all --------------------------------------------------------------------------------


def _memory_secrets(db_path: str) -> Any:
    """A SecretStore on an in-memory keyring holding the password of every address."""
    import keyring
    from sqlalchemy import select

    from mailsettings_desktop.core.models import ExternalAddress
    from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore
    from mailsettings_desktop.core.storage import Database
    from tests.memory_keyring import MemoryKeyring

    backend = MemoryKeyring()
    db = Database(Path(db_path))
    with db.engine.connect() as conn:
        for key in conn.scalars(select(ExternalAddress.secret_key)):
            backend.set_password(SERVICE_NAME, key, BENCH_PASSWORD)
    keyring.set_keyring(backend)
    return db, SecretStore(backend)


def _all_records(db: Any) -> list[Any]:
    return sorted(db.all_addresses(), key=lambda record: record.id)


def probe_test_all(db_path: str, ca_file: str) -> None:
    """Test all from the main window's dialog, timing the run and the event loop's gaps."""
    os.environ["MAILSETTINGS_EXTRA_CA_FILE"] = ca_file
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    db, _secrets = _memory_secrets(db_path)
    db.close()
    from mailsettings_desktop.app import create_main_window

    window = create_main_window(db_path)
    window.show()
    QTest.qWaitForWindowExposed(window)
    ticks: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    done: dict[str, Any] = {}

    def finished(summary: Any) -> None:
        done["at"] = time.perf_counter()
        done["summary"] = summary
        app.quit()

    timer.start()
    began = time.perf_counter()
    dialog = window.test_all_addresses()
    if dialog is None:
        raise RuntimeError("Test all found no addresses")
    dialog.run_finished.connect(finished)
    app.exec()
    timer.stop()
    gaps = [b - a for a, b in zip([began, *ticks], ticks, strict=False)]
    summary = done["summary"]
    report({
        "seconds": done["at"] - began,
        "total": summary.total,
        "checked": summary.checked,
        "failed": summary.failed,
        "longest_gap_ms": max(gaps) * 1000 if gaps else None,
        "ticks": len(ticks),
    })
    window.close()


def probe_bulk(db_path: str, ca_file: str, concurrency: int) -> None:
    os.environ["MAILSETTINGS_EXTRA_CA_FILE"] = ca_file
    from mailsettings_desktop.core.bulk_check import run_bulk_check

    db, secrets = _memory_secrets(db_path)
    records = _all_records(db)
    began = time.perf_counter()
    summary = run_bulk_check(db, secrets, records, lambda _r, _c: None, concurrency)
    seconds = time.perf_counter() - began
    report({"seconds": seconds, "total": summary.total, "checked": summary.checked,
            "failed": summary.failed})


def probe_smtplib(db_path: str, ca_file: str) -> None:
    """The same steps as an account check, written directly with smtplib, one by one."""
    import smtplib
    import ssl

    db, secrets = _memory_secrets(db_path)
    records = _all_records(db)
    context = ssl.create_default_context(cafile=ca_file)
    failed = 0
    began = time.perf_counter()
    for record in records:
        password = secrets.get(record.secret_key)
        try:
            if record.security.value == "ssl":
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    record.host, record.port, timeout=record.timeout_seconds, context=context
                )
            else:
                client = smtplib.SMTP(record.host, record.port, timeout=record.timeout_seconds)
            with client:
                client.ehlo()
                if record.security.value == "starttls":
                    client.starttls(context=context)
                    client.ehlo()
                client.login(record.username, password)
                code, _ = client.mail(record.email)
                if code != 250:
                    failed += 1
                client.rset()
        except (OSError, smtplib.SMTPException):
            failed += 1
    seconds = time.perf_counter() - began
    report({"seconds": seconds, "total": len(records), "checked": len(records),
            "failed": failed})


def probe_server(cert_file: str, key_file: str, delay: float) -> None:
    """A STARTTLS FaultServer that answers every command after `delay` seconds."""
    import ssl

    from tests.fault_server import FaultConfig, FaultServer

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    config = FaultConfig(tls_context=context, command_delay=delay)
    with FaultServer(config) as server:
        report({"host": server.host, "port": server.port})
        # Serve until run.py closes our stdin.
        sys.stdin.read()


def summarize(values: list[float]) -> float:
    return statistics.median(values)


def main(argv: list[str]) -> int:
    kind, *args = argv
    if kind == "bare":
        probe_bare()
    elif kind == "main":
        probe_main(args[0])
    elif kind == "interact":
        probe_interact(args[0])
    elif kind == "test-all":
        probe_test_all(args[0], args[1])
    elif kind == "bulk":
        probe_bulk(args[0], args[1], int(args[2]))
    elif kind == "smtplib":
        probe_smtplib(args[0], args[1])
    elif kind == "server":
        probe_server(args[0], args[1], float(args[2]))
    else:
        raise SystemExit(f"unknown probe {kind!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
