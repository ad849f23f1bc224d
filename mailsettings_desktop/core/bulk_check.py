"""Re-testing many saved addresses at once ("Test all"), with bounded concurrency.

Each address is checked exactly as Test account would check it: with its password read
from the keyring, or, for an address that signs in with OAuth2, with an access token from
the token service. Both happen on the worker thread (so thousands of keyring reads never
block the GUI), and the last-test columns are updated as soon as each result is in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from mailsettings_desktop.core.account_check import CancelToken, run_check
from mailsettings_desktop.core.check_result import (
    AUTH_OAUTH2,
    Category,
    CheckRequest,
    CheckResult,
    Stage,
)
from mailsettings_desktop.core.oauth.errors import OAuthError
from mailsettings_desktop.core.oauth.providers import AuthMethod
from mailsettings_desktop.core.oauth.service import AddressAuth, OAuthTarget, TokenService
from mailsettings_desktop.core.records import AddressRecord, TestStamp
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError
from mailsettings_desktop.core.storage import Database

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 8
ResultCallback = Callable[[AddressRecord, CheckResult], None]

# Test all shows its results in a list, not in the address's own window, so the advice
# starts by saying which window to open.
MISSING_PASSWORD_ADVICE = (
    "Edit the address and enter its password again; it is missing from this computer's "
    "keyring, for example after moving to a new computer."
)
KEYRING_ADVICE = "Nothing was tested. Once the keyring works again, run Test all again."
SIGN_IN_AGAIN_ADVICE = (
    "Edit the address and click Sign in: the employee signs in with this address again. "
    "Nothing else needs to change."
)
NO_TOKEN_SERVICE_ADVICE = "Edit the address and click Test account there."


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
    db: Database,
    secrets: SecretStore,
    record: AddressRecord,
    cancel: CancelToken,
    tokens: TokenService | None = None,
    keyring_problem: str | None = None,
) -> CheckResult:
    """Test one saved address as it was saved and record the outcome.

    `keyring_problem` (from one `SecretStore.status()` before a run) says the keyring
    cannot be used, so no password is read at all: on some desktops every read of a
    keyring without a default collection would pop up a dialog.

    A password address uses its password from the keyring; an OAuth2 address (its
    `options["auth"]`) gets its access token from `tokens` at the sign-in stage. Without
    `tokens` an OAuth2 address is reported as not tested rather than read as a password.
    """
    auth = AddressAuth.from_options(record.options)
    if auth.method is AuthMethod.OAUTH2:
        if tokens is None:
            return _not_tested(
                "This address signs in with Microsoft or Google, which this run cannot do.",
                NO_TOKEN_SERVICE_ADVICE, "oauth",
            )
        result = _check_oauth_address(record, auth, tokens, cancel)
    elif keyring_problem is not None:
        return _not_tested(
            f"Passwords cannot be read from the keyring: {keyring_problem}.",
            KEYRING_ADVICE, "password",
        )
    else:
        try:
            password = secrets.get(record.secret_key)
        except SecretStoreError as exc:
            return _not_tested(str(exc), KEYRING_ADVICE, "password")
        if password is None:
            return _not_tested(
                "The password of this address is missing from the keyring.",
                MISSING_PASSWORD_ADVICE, "password",
            )
        result = run_check(request_for(record, password), cancel=cancel)
    if result.category is not Category.CANCELLED:
        stamp = TestStamp(result.ok, result.headline, datetime.now(UTC).replace(tzinfo=None))
        db.save_test_result(record.id, stamp)
    return result


def _check_oauth_address(
    record: AddressRecord, auth: AddressAuth, tokens: TokenService, cancel: CancelToken
) -> CheckResult:
    """The check of an OAuth2 address, with the token fetched where Cancel can stop it."""
    target = OAuthTarget(record.secret_key, record.email, record.provider_key, auth)
    keyring_failures: list[SecretStoreError] = []

    def token() -> str:
        try:
            return tokens.access_token(target).value
        except SecretStoreError as exc:
            # The check treats anything but an OAuthError as a bug; this is the keyring's
            # trouble, reported below in the keyring's own words.
            keyring_failures.append(exc)
            raise OAuthError(Category.OAUTH_PROVIDER_ERROR,
                             description="the keyring could not be read") from exc

    request = replace(request_for(record, ""), auth_method=AUTH_OAUTH2)
    result = run_check(request, cancel=cancel, token_source=token)
    if keyring_failures and result.category is not Category.CANCELLED:
        return _not_tested(str(keyring_failures[0]), KEYRING_ADVICE, "oauth")
    if result.category is Category.OAUTH_TOKEN_REFUSED:
        # The next run fetches a new token instead of offering the refused one again.
        tokens.forget_access_token(target)
    if result.category is Category.OAUTH_SIGN_IN_AGAIN:
        log.info("address %d needs a new sign-in", record.id)
        result = replace(result, advice=SIGN_IN_AGAIN_ADVICE)
    return result


def _not_tested(headline: str, advice: str, field: str) -> CheckResult:
    """A result for an address that could not be tested at all (nothing was sent)."""
    return CheckResult(
        ok=False,
        stage=Stage.RESOLVING,
        category=Category.UNEXPECTED,
        headline=headline,
        advice=advice,
        field=field,
    )


def run_bulk_check(
    db: Database,
    secrets: SecretStore,
    records: Sequence[AddressRecord],
    on_result: ResultCallback,
    concurrency: int = DEFAULT_CONCURRENCY,
    cancel: BulkCancel | None = None,
    tokens: TokenService | None = None,
) -> BulkSummary:
    """Check every record, at most `concurrency` at a time; `on_result` runs per result.

    Only `concurrency` checks are ever submitted at once, so cancelling a run of 150,000
    addresses drops the rest immediately instead of draining a queue. `tokens` gives
    OAuth2 addresses their access tokens (it is thread-safe, so the workers share it).
    """
    cancel = cancel or BulkCancel()
    status = secrets.status()
    keyring_problem = None if status.usable else status.problem
    checked = failed = 0
    pending: dict[Future[CheckResult], tuple[AddressRecord, CancelToken]] = {}
    queue = iter(records)

    def submit(pool: ThreadPoolExecutor) -> bool:
        record = next(queue, None)
        if record is None:
            return False
        token = CancelToken()
        cancel.track(token)
        future = pool.submit(
            check_saved_address, db, secrets, record, token, tokens, keyring_problem
        )
        pending[future] = (record, token)
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
