"""Runs account checks on a thread pool and reports back on the GUI thread."""

from __future__ import annotations

import itertools
import logging
import threading

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from mailsettings_desktop.core.account_check import CancelToken, TokenSource, run_check
from mailsettings_desktop.core.check_result import CheckRequest, CheckResult, Stage
from mailsettings_desktop.core.test_message import TestMessage

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8


class _CheckJob(QRunnable):
    def __init__(self, runner: CheckRunner, job_id: int, request: CheckRequest,
                 token: CancelToken, message: TestMessage | None,
                 token_source: TokenSource | None = None) -> None:
        super().__init__()
        self._runner = runner
        self._job_id = job_id
        self._request = request
        self._token = token
        self._message = message
        self._token_source = token_source

    def run(self) -> None:
        def progress(stage: Stage) -> None:
            self._runner.job_progressed.emit(self._job_id, stage.value)

        result = run_check(self._request, progress=progress, cancel=self._token,
                           message=self._message, token_source=self._token_source)
        self._runner.job_finished.emit(self._job_id, result)


class CheckRunner(QObject):
    """Owns a thread pool for account checks; one per main window.

    Every job gets an id. Receivers remember the id of the job they started and ignore
    any other, so a late result from a cancelled or superseded check does nothing.

    Signals:
        job_progressed(int, str): a job reached a stage (the `Stage` value).
        job_finished(int, object): a job ended with a `CheckResult`, cancelled ones too.
    """

    job_progressed = Signal(int, str)
    job_finished = Signal(int, object)

    def __init__(self, parent: QObject | None = None,
                 concurrency: int = DEFAULT_CONCURRENCY) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(concurrency)
        self._ids = itertools.count(1)
        self._tokens: dict[int, CancelToken] = {}
        self._lock = threading.Lock()
        self.job_finished.connect(self._on_job_finished)

    def start(
        self,
        request: CheckRequest,
        message: TestMessage | None = None,
        token_source: TokenSource | None = None,
    ) -> int:
        """Start a check (and, with `message`, send that test message); returns its id.

        `token_source` gives an OAuth2 address its access token at the sign-in stage, on
        the worker thread, so a refresh never blocks the GUI.
        """
        job_id = next(self._ids)
        token = CancelToken()
        with self._lock:
            self._tokens[job_id] = token
        log.info("starting check job %d for %s:%d", job_id, request.host, request.port)
        self._pool.start(_CheckJob(self, job_id, request, token, message, token_source))
        return job_id

    def cancel(self, job_id: int) -> None:
        with self._lock:
            token = self._tokens.get(job_id)
        if token is not None:
            log.info("cancelling check job %d", job_id)
            token.cancel()

    def cancel_all(self) -> None:
        with self._lock:
            tokens = list(self._tokens.values())
        for token in tokens:
            token.cancel()

    def active_jobs(self) -> int:
        with self._lock:
            return len(self._tokens)

    def shutdown(self, wait_ms: int = 3000) -> None:
        """Cancel everything and wait briefly, so no job outlives its window."""
        self.cancel_all()
        self._pool.waitForDone(wait_ms)

    def _on_job_finished(self, job_id: int, _result: CheckResult) -> None:
        with self._lock:
            self._tokens.pop(job_id, None)
