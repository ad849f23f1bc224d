"""The "Test all" window: re-tests many addresses at once and lists what broke."""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import (
    QObject,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.bulk_check import BulkCancel, BulkSummary, run_bulk_check
from mailsettings_desktop.core.check_result import Category, CheckResult
from mailsettings_desktop.core.records import AddressRecord, TestStamp
from mailsettings_desktop.ui.context import AppContext
from mailsettings_desktop.ui.oauth_support import token_service
from mailsettings_desktop.ui.table_models import RowTableModel
from mailsettings_desktop.ui.wording import counted

log = logging.getLogger(__name__)



def _emit_safely(signal: Any, *args: object) -> None:
    """Emit from the worker thread; a window closed meanwhile just misses the news."""
    try:
        signal.emit(*args)
    except RuntimeError:
        log.info("Test all window closed before a result could be shown")


class _Bridge(QObject):
    """Carries results from the worker thread to the GUI thread (queued connections)."""

    tested = Signal(object, object)
    done = Signal(object)


class FailureModel(RowTableModel):
    """The failed addresses of a run with the explanation of each failure."""

    COLUMNS = ("Address", "Employee", "Problem", "What to do")

    def add(self, address: str, employee: str, result: CheckResult) -> None:
        self.append_row((address, employee, result.headline, result.advice))

    def cell(self, row: Any, column: int, role: int) -> Any:
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return row[column]
        return None


class BulkTestDialog(QDialog):
    """Runs `run_bulk_check` on a worker thread and shows progress as results arrive.

    Signals:
        address_tested(object): an `AddressRecord` with its new last-test stamp.
        run_finished(object): the `BulkSummary` of the run.
    """

    address_tested = Signal(object)
    run_finished = Signal(object)

    def __init__(self, context: AppContext, records: list[AddressRecord],
                 employee_names: dict[int, str], concurrency: int,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("testAllDialog")
        self.setWindowTitle("Test all addresses")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._context = context
        self._records = records
        self._names = employee_names
        self._concurrency = concurrency
        self._cancel = BulkCancel()
        self._bridge = _Bridge(self)
        self._bridge.tested.connect(self._on_tested)
        self._bridge.done.connect(self._on_done)
        self._thread: threading.Thread | None = None
        self._tested = self._failed = 0

        self._intro = QLabel(
            f"Testing {counted(len(records), 'address')}, {concurrency} at a time. "
            "Nothing is sent; "
            "each test signs in and checks the sender as Test account does."
        )
        self._intro.setWordWrap(True)
        self._progress = QProgressBar()
        self._progress.setObjectName("testAllProgress")
        self._progress.setRange(0, max(1, len(records)))
        self._progress.setValue(0)
        self._count = QLabel()
        self._count.setObjectName("testAllCount")
        self._failures = FailureModel(self)
        table = QTableView()
        table.setObjectName("testAllFailures")
        table.setModel(self._failures)
        table.verticalHeader().hide()
        table.setWordWrap(True)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        # Each row as tall as its wrapped advice, so "What to do" is never cut off.
        table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self._button = QPushButton("Cancel")
        self._button.setObjectName("testAllCancel")
        self._button.clicked.connect(self._on_button)
        buttons = QHBoxLayout()
        buttons.addWidget(self._count, 1)
        buttons.addWidget(self._button)
        layout = QVBoxLayout(self)
        layout.addWidget(self._intro)
        layout.addWidget(self._progress)
        layout.addWidget(QLabel("Addresses that failed:"))
        layout.addWidget(table, 1)
        layout.addLayout(buttons)
        self.resize(820, 460)
        self._update_count()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        bridge = self._bridge
        # Made here, on the GUI thread, where the context's token service is created.
        tokens = token_service(self._context)

        def report(record: AddressRecord, result: CheckResult) -> None:
            _emit_safely(bridge.tested, record, result)

        def work() -> None:
            summary = run_bulk_check(
                self._context.db, self._context.secrets, self._records,
                report, self._concurrency, self._cancel, tokens,
            )
            _emit_safely(bridge.done, summary)

        self._thread = threading.Thread(target=work, name="test-all", daemon=True)
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.cancel()

    def _on_tested(self, record: AddressRecord, result: CheckResult) -> None:
        if result.category is Category.CANCELLED:
            return
        self._tested += 1
        if not result.ok:
            self._failed += 1
            owner = (
                self._names.get(record.employee_id, "")
                if record.employee_id is not None else "Company address"
            )
            self._failures.add(record.email, owner, result)
        self._progress.setValue(self._tested)
        self._update_count()
        stamp = TestStamp(result.ok, result.headline, datetime.now(UTC).replace(tzinfo=None))
        self.address_tested.emit(dataclasses.replace(record, last_test=stamp))

    def _on_done(self, summary: BulkSummary) -> None:
        self._thread = None
        self._button.setText("Close")
        self._button.setEnabled(True)
        verb = "Cancelled" if summary.cancelled else "Finished"
        self._intro.setText(
            f"{verb}: {summary.checked} of {summary.total} addresses tested, "
            f"{summary.failed} failed."
        )
        self.run_finished.emit(summary)

    def _update_count(self) -> None:
        self._count.setText(
            f"{self._tested} of {len(self._records)} tested · {self._failed} failed"
        )

    def _on_button(self) -> None:
        if self.running:
            self._button.setEnabled(False)
            self._button.setText("Cancelling…")
            self.cancel()
        else:
            self.close()

    def done(self, result: int) -> None:
        """Every way of closing (Close, Esc, the title bar) cancels a running run first;
        running checks stop within a second."""
        if self._thread is not None:
            self.cancel()
            self._thread.join(timeout=3)
        super().done(result)
