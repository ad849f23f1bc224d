"""A check never outlives its timeout by more than a second, and Cancel ends it promptly.

Each blocking stage is made to block by the fault server (or a resolver that never
answers); the tests wait for the check to be inside that stage, never for a fixed time.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme

from mailsettings_desktop.core.account_check import AddressInfo, CancelToken, run_check
from mailsettings_desktop.core.check_result import Category, CheckRequest, CheckResult, Stage
from mailsettings_desktop.core.security import Security
from tests import fault_server as faults
from tests.conftest import PASSWORD, USER
from tests.fault_server import FaultLog, FaultServer

GRACE = 1.0  # how far past its timeout a check may run, and how long a cancel may take


@dataclass
class Scenario:
    """A way to make one stage of the check block."""

    name: str
    security: Security
    stage: Stage  # the stage the check is blocked in
    timeout_category: Category
    options: dict[str, object] = field(default_factory=dict)
    # True once the check is surely blocked in that stage, judged from the server's side.
    blocked: Callable[[FaultLog], bool] = lambda log: log.connections >= 1
    # The check's own timeout when cancelling; short enough for the probe to start.
    cancel_timeout: float = 30.0


def _saw(prefix: str) -> Callable[[FaultLog], bool]:
    return lambda log: any(cmd.upper().startswith(prefix) for cmd in log.commands)


SCENARIOS = [
    Scenario("tls-handshake", Security.SSL, Stage.SECURING, Category.HANDSHAKE_TIMEOUT,
             {"silent": True}),
    Scenario("greeting", Security.STARTTLS, Stage.GREETING, Category.GREETING_TIMEOUT,
             {"silent": True}),
    Scenario("greeting-tls-probe", Security.NONE, Stage.GREETING, Category.GREETING_TIMEOUT,
             {"silent": True}, lambda log: log.connections >= 2, cancel_timeout=3.0),
    Scenario("ehlo", Security.STARTTLS, Stage.GREETING, Category.REPLY_TIMEOUT,
             {"command_delay": 60.0}, _saw("EHLO")),
    Scenario("starttls-handshake", Security.STARTTLS, Stage.SECURING,
             Category.HANDSHAKE_TIMEOUT,
             {"silent_after_starttls": True}, _saw("STARTTLS")),
    Scenario("auth", Security.STARTTLS, Stage.AUTHENTICATING, Category.REPLY_TIMEOUT,
             {"auth_silent": True}, _saw("AUTH")),
    Scenario("mail-from", Security.STARTTLS, Stage.CHECKING_SENDER, Category.REPLY_TIMEOUT,
             {"mail_silent": True}, _saw("MAIL")),
]


@pytest.fixture(scope="module")
def tls_context(ca: trustme.CA) -> ssl.SSLContext:
    return faults.trusted_context(ca)


@pytest.fixture(params=SCENARIOS, ids=lambda scenario: scenario.name)
def blocking(
    request: pytest.FixtureRequest, tls_context: ssl.SSLContext
) -> Iterator[tuple[Scenario, FaultServer]]:
    scenario: Scenario = request.param
    with FaultServer(tls_context=tls_context, **scenario.options) as server:
        yield scenario, server


def make_request(port: int, security: Security, timeout: float) -> CheckRequest:
    return CheckRequest(USER, USER, PASSWORD, faults.LOOPBACK, port, security, timeout)


class Running:
    """A check on a worker thread, as the GUI runs it, with the stages it reported."""

    def __init__(self, request: CheckRequest, **kwargs: Any) -> None:
        self.token = CancelToken()
        self.stages: list[Stage] = []
        self.entered = {stage: threading.Event() for stage in Stage}
        self.result: CheckResult | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(request,), kwargs=kwargs, daemon=True
        )
        self._thread.start()

    def _progress(self, stage: Stage) -> None:
        self.stages.append(stage)
        self.entered[stage].set()

    def _run(self, request: CheckRequest, **kwargs: Any) -> None:
        try:
            self.result = run_check(request, progress=self._progress, cancel=self.token, **kwargs)
        finally:
            self.done.set()

    def wait_for_stage(self, stage: Stage) -> None:
        assert self.entered[stage].wait(10), f"never reached {stage}; got {self.stages}"

    def cancel_and_time(self) -> float:
        started = time.monotonic()
        self.token.cancel()
        assert self.done.wait(10), "the check did not end after Cancel"
        return time.monotonic() - started


# Timeouts -----------------------------------------------------------------------------------


def test_each_blocking_stage_times_out_in_time(blocking: tuple[Scenario, FaultServer]) -> None:
    scenario, server = blocking
    timeout = 1.0
    started = time.monotonic()
    result = run_check(make_request(server.port, scenario.security, timeout))
    elapsed = time.monotonic() - started
    assert result.category is scenario.timeout_category, result.details()
    assert result.stage is scenario.stage
    assert elapsed <= timeout + GRACE
    assert "Traceback" not in result.headline + result.advice


def test_connect_times_out_in_time() -> None:
    with faults.unanswered_port() as port:
        started = time.monotonic()
        result = run_check(make_request(port, Security.SSL, 1.0))
        elapsed = time.monotonic() - started
    assert result.category is Category.CONNECT_TIMEOUT
    assert elapsed <= 1.0 + GRACE


def test_name_lookup_times_out_in_time() -> None:
    release = threading.Event()

    def resolver_that_hangs(host: str, port: int) -> list[AddressInfo]:
        release.wait(30)
        raise OSError("gave up")

    try:
        started = time.monotonic()
        result = run_check(make_request(25, Security.SSL, 1.0), resolver=resolver_that_hangs)
        elapsed = time.monotonic() - started
    finally:
        release.set()
    assert result.category is Category.DNS_FAILURE
    assert result.stage is Stage.RESOLVING
    assert elapsed <= 1.0 + GRACE


def test_certificate_fetch_stays_within_the_grace(ca: trustme.CA) -> None:
    # The certificate is rejected, then fetched on a second connection: still in time.
    context = faults.expired_context(ca)
    with FaultServer(transport="implicit_tls", tls_context=context, command_delay=0) as server:
        started = time.monotonic()
        result = run_check(make_request(server.port, Security.SSL, 1.0))
        elapsed = time.monotonic() - started
    assert result.category is Category.CERT_EXPIRED
    assert result.certificate is not None
    assert elapsed <= 1.0 + GRACE


# Cancel -------------------------------------------------------------------------------------


def test_cancel_ends_each_blocking_stage_promptly(
    blocking: tuple[Scenario, FaultServer],
) -> None:
    scenario, server = blocking
    running = Running(make_request(server.port, scenario.security, scenario.cancel_timeout))
    running.wait_for_stage(scenario.stage)
    server.wait_for(scenario.blocked, timeout=10)
    took = running.cancel_and_time()
    assert running.result is not None
    assert running.result.category is Category.CANCELLED, running.result.details()
    assert took < GRACE


def test_cancel_while_connecting() -> None:
    with faults.unanswered_port() as port:
        running = Running(make_request(port, Security.SSL, 30))
        running.wait_for_stage(Stage.CONNECTING)
        took = running.cancel_and_time()
    assert running.result is not None
    assert running.result.category is Category.CANCELLED
    assert running.result.stage is Stage.CONNECTING
    assert took < GRACE


def test_cancel_while_resolving() -> None:
    release = threading.Event()
    asked = threading.Event()

    def resolver_that_hangs(host: str, port: int) -> list[AddressInfo]:
        asked.set()
        release.wait(30)
        raise OSError("gave up")

    with contextlib.ExitStack() as cleanup:
        cleanup.callback(release.set)
        running = Running(make_request(25, Security.SSL, 30), resolver=resolver_that_hangs)
        assert asked.wait(10)
        took = running.cancel_and_time()
    assert running.result is not None
    assert running.result.category is Category.CANCELLED
    assert running.result.stage is Stage.RESOLVING
    assert took < GRACE
