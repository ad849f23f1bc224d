"""Shared fixtures: certificates, local SMTP servers, keyrings and databases."""

from __future__ import annotations

import os
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import trustme
from PySide6.QtCore import QCoreApplication, QStandardPaths
from pytestqt.qtbot import QtBot

from mailsettings_desktop.app import create_main_window
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.main_window import MainWindow
from tests import fault_server as faults
from tests.fake_oauth_server import FakeOAuthServer
from tests.fault_server import FaultServer, trusted_context
from tests.memory_keyring import MemoryKeyring
from tests.smtp_server import LocalSmtpServer

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# QSettings written by the GUI under test go to Qt's test folders, never the user's.
QStandardPaths.setTestModeEnabled(True)
QCoreApplication.setOrganizationName("mailsettings-tests")
QCoreApplication.setApplicationName("mailsettings-desktop-tests")

USER = "anna@example.test"
PASSWORD = "correct horse ✓ battery"


@pytest.fixture(scope="session")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def ca_file(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("ca") / "test-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture(autouse=True)
def trust_test_ca(ca_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every check in the suite trusts the test authority, as the outside contract allows."""
    monkeypatch.setenv("MAILSETTINGS_EXTRA_CA_FILE", str(ca_file))


def server_context(ca: trustme.CA, *names: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*(names or ("127.0.0.1", "localhost"))).configure_cert(context)
    return context


def _server(ca: trustme.CA, mode: str, **kwargs: object) -> Iterator[LocalSmtpServer]:
    server = LocalSmtpServer(
        mode, server_context(ca), users={USER: PASSWORD}, **kwargs  # type: ignore[arg-type]
    )
    with server:
        yield server


@pytest.fixture
def ssl_server(ca: trustme.CA) -> Iterator[LocalSmtpServer]:
    yield from _server(ca, "ssl")


@pytest.fixture
def starttls_server(ca: trustme.CA) -> Iterator[LocalSmtpServer]:
    yield from _server(ca, "starttls")


@pytest.fixture
def fault_server() -> Iterator[type[FaultServer]]:
    """Call it like `FaultServer(**options)`: the server starts now and stops after the test."""
    servers: list[FaultServer] = []

    class Started(FaultServer):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            servers.append(self)
            self.start()

    yield Started
    for server in servers:
        server.stop()


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    """An in-memory keyring installed as keyring's current backend for the test."""
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def secrets(memory_keyring: MemoryKeyring) -> SecretStore:
    return SecretStore(memory_keyring)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "test.sqlite3")
    yield database
    database.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "company.sqlite3"


@pytest.fixture
def window(qtbot: QtBot, db_path: Path, memory_keyring: MemoryKeyring) -> Iterator[MainWindow]:
    """The main window on a fresh database holding the sample company."""
    main = create_main_window(db_path, demo=True)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()
    main.context.db.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(32)
    yield listener.getsockname()[1]
    listener.close()


@pytest.fixture
def fake_oauth(ca: trustme.CA) -> Iterator[FakeOAuthServer]:
    """A fake OAuth2 authorization server on 127.0.0.1 (HTTPS, trusted test authority)."""
    server = FakeOAuthServer(trusted_context(ca), user=USER).start()
    yield server
    server.stop()


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any lookup of a name other than loopback: a real provider is never reached."""
    real = socket.getaddrinfo

    def guarded(host: object, *args: object, **kwargs: object) -> object:
        if host not in ("127.0.0.1", "localhost", b"127.0.0.1", None):
            raise AssertionError(f"test tried to reach {host!r}")
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


@pytest.fixture
def oauth_smtp(fault_server: type[FaultServer], ca: trustme.CA,
               fake_oauth: FakeOAuthServer) -> FaultServer:
    """A STARTTLS server that lets in only a token the fake authorization server issued."""
    return fault_server(tls_context=faults.trusted_context(ca), auth_only_after_tls=True,
                        auth_mechanisms="XOAUTH2 OAUTHBEARER",
                        oauth_validator=fake_oauth.accepts)
