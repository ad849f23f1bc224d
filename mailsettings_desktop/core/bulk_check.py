"""Re-testing many saved addresses at once ("Test all"), with bounded concurrency.

Each address is checked exactly as Test account would check it, with its password read
from the keyring on the worker thread (so thousands of keyring reads never block the
GUI), and its last-test columns are updated as soon as its result is in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime

from mailsettings_desktop.core.account_check import CancelToken, run_check
from mailsettings_desktop.core.check_result import Category, CheckRequest, CheckResult, Stage
from mailsettings_desktop.core.diagnosis import explanation_for
from mailsettings_desktop.core.records import AddressRecord, TestStamp
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError
from mailsettings_desktop.core.storage import Database

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
ResultCallback = Callable[[AddressRecord, CheckResult], None]


@dataclass(frozen=True)
class BulkSummary:
    total: int
    checked: int
    failed: int
    cancelled: bool


class BulkCancel:
    """Cancels a whole run: pending checks never start, running ones stop promptly."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._tokens: set[CancelToken] = set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def cancel(self) -> None:
        self._event.set()
        with self._lock:
            tokens = list(self._tokens)
        for token in tokens:
            token.cancel()

    def track(self, token: CancelToken) -> None:
        with self._lock:
            self._tokens.add(token)
        if self.cancelled:
            token.cancel()

    def untrack(self, token: CancelToken) -> None:
        with self._lock:
            self._tokens.discard(token)


def request_for(record: AddressRecord, password: str) -> CheckRequest:
    return CheckRequest(
        email=record.email,
        username=record.username,
        password=password,
        host=record.host,
        port=record.port,
        security=record.security,
        timeout_seconds=float(record.timeout_seconds),
        provider_key=record.provider_key,
        trusted_cert_sha256=record.trusted_cert_sha256,
    )


def check_saved_address(
    db: Database, secrets: SecretStore, record: AddressRecord, cancel: CancelToken
) -> CheckResult:
    """Test one saved address with its stored password and record the outcome."""
    try:
        password = secrets.get(record.secret_key)
    except SecretStoreError as exc:
        return _without_password(str(exc))
    if password is None:
        return _without_password(
            "The password of this address is missing from the keyring. Edit the address "
            "and enter it again."
        )
    result = run_check(request_for(record, password), cancel=cancel)
    if result.category is not Category.CANCELLED:
        stamp = TestStamp(result.ok, result.headline, datetime.now(UTC).replace(tzinfo=None))
        db.save_test_result(record.id, stamp)
    return result


def _without_password(headline: str) -> CheckResult:
    return CheckResult(
        ok=False,
        stage=Stage.RESOLVING,
        category=Category.UNEXPECTED,
        headline=headline,
        advice=explanation_for(Category.UNEXPECTED).advice,
        field="password",
    )


def run_bulk_check(
    db: Database,
    secrets: SecretStore,
    records: Sequence[AddressRecord],
    on_result: ResultCallback,
    concurrency: int = DEFAULT_CONCURRENCY,
    cancel: BulkCancel | None = None,
) -> BulkSummary:
    """Check every record, at most `concurrency` at a time; `on_result` runs per result.

    Only `concurrency` checks are ever submitted at once, so cancelling a run of 150,000
    addresses drops the rest immediately instead of draining a queue.
    """
    cancel = cancel or BulkCancel()
    checked = failed = 0
    pending: dict[Future[CheckResult], tuple[AddressRecord, CancelToken]] = {}
    queue = iter(records)

    def submit(pool: ThreadPoolExecutor) -> bool:
        record = next(queue, None)
        if record is None:
            return False
        token = CancelToken()
        cancel.track(token)
        pending[pool.submit(check_saved_address, db, secrets, record, token)] = (record, token)
        return True

    log.info("bulk check of %d addresses, %d at a time", len(records), concurrency)
    with ThreadPoolExecutor(max_workers=max(1, concurrency),
                            thread_name_prefix="test-all") as pool:
        while len(pending) < concurrency and not cancel.cancelled and submit(pool):
            pass
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                record, token = pending.pop(future)
                cancel.untrack(token)
                result = future.result()
                if result.category is not Category.CANCELLED:
                    checked += 1
                    failed += 0 if result.ok else 1
                on_result(record, result)
                if not cancel.cancelled:
                    submit(pool)
    summary = BulkSummary(len(records), checked, failed, cancel.cancelled)
    log.info("bulk check finished: %s", summary)
    return summary
