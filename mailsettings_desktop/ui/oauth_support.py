"""What the windows need for OAuth2 sign-in: the shared token service and a sign-in runner.

The token service is created on first use, not at start-up, because it loads authlib and
the company sign-in apps; a test (or the lead's start-up code) may put its own into
`AppContext.tokens` first. Interactive sign-ins block for minutes while the employee is in
the browser, so they run on worker threads and report back through `SignInRunner`.
"""

from __future__ import annotations

import itertools
import logging
import threading
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QObject, Signal

from mailsettings_desktop.core.check_result import Category
from mailsettings_desktop.core.oauth import (
    CompanyApps,
    InteractiveSignIn,
    OAuthError,
    OAuthFlow,
    TokenService,
    load_company_apps,
    oauth_providers,
)
from mailsettings_desktop.core.oauth.company_apps import SETTINGS_FILE_NAME
from mailsettings_desktop.ui.context import AppContext

log = logging.getLogger(__name__)

PROVIDER_NAMES = {"microsoft": "Microsoft", "google": "Google"}
# The dialog's two ways for an address; "app" is app-only or delegation by provider.
FLOW_INTERACTIVE = "interactive"
FLOW_APP = "app"


def company_apps_path(context: AppContext) -> Path:
    """The Company sign-in apps settings file: beside the company's database, so a
    database with its own folder (a test's, or a second company's) has its own apps."""
    return Path(context.db.path).parent / SETTINGS_FILE_NAME


def token_service(context: AppContext) -> TokenService:
    """The context's token service, created (and its company apps read) on first use."""
    if context.tokens is None:
        try:
            apps = load_company_apps(company_apps_path(context))
        except (OSError, ValueError, KeyError) as exc:
            # An unreadable file must not stop the program; the window shows no apps and
            # saving there writes a good file again.
            log.error("company sign-in apps could not be read: %s", type(exc).__name__)
            apps = CompanyApps()
        context.tokens = TokenService(context.secrets, apps, oauth_providers(context.presets))
    return context.tokens


def app_flow_for(provider: str) -> OAuthFlow:
    """The flow a company's own app uses for this provider, without the employee."""
    return OAuthFlow.APP_ONLY if provider == "microsoft" else OAuthFlow.DELEGATION


def provider_label(provider: str) -> str:
    return PROVIDER_NAMES.get(provider, provider.title())


class SignInRunner(QObject):
    """Runs interactive sign-ins on worker threads; one for the whole application.

    It outlives every dialog, so a sign-in that ends after its dialog closed reports to
    an object that still exists; receivers keep the id they started and ignore others.

    Signals:
        sign_in_ended(int, object): a sign-in ended, with a `SignInResult` or an
            `OAuthError` (a `SignInCancelledError` after Cancel).
    """

    sign_in_ended = Signal(int, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids = itertools.count(1)
        self._flows: dict[int, InteractiveSignIn] = {}
        self._lock = threading.Lock()

    def start(self, flow: InteractiveSignIn) -> int:
        job_id = next(self._ids)
        with self._lock:
            self._flows[job_id] = flow
        worker = threading.Thread(target=self._run, args=(job_id, flow),
                                  name=f"oauth-sign-in-{job_id}", daemon=True)
        worker.start()
        log.info("interactive sign-in %d started at %s", job_id, flow.provider.name)
        return job_id

    def cancel(self, job_id: int) -> None:
        with self._lock:
            flow = self._flows.get(job_id)
        if flow is not None:
            log.info("cancelling interactive sign-in %d", job_id)
            flow.cancel()

    def running(self) -> int:
        with self._lock:
            return len(self._flows)

    def _run(self, job_id: int, flow: InteractiveSignIn) -> None:
        outcome: object
        try:
            outcome = flow.run()
        except OAuthError as exc:
            outcome = exc
        except Exception as exc:  # a bug: reported in words, logged in full
            log.exception("interactive sign-in %d failed unexpectedly", job_id)
            outcome = OAuthError(Category.OAUTH_PROVIDER_ERROR,
                                 description=f"unexpected {type(exc).__name__}")
        with self._lock:
            self._flows.pop(job_id, None)
        self.sign_in_ended.emit(job_id, outcome)


_runner: SignInRunner | None = None


def sign_in_runner() -> SignInRunner:
    """The application's sign-in runner, created on the GUI thread at first use."""
    global _runner
    if _runner is None:
        _runner = SignInRunner(QCoreApplication.instance())
    return _runner
