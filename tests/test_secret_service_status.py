"""SecretStore.status() against a real GNOME Keyring on a private D-Bus session bus.

The test starts its own dbus-daemon (a config with no service directories, so nothing is
ever activated: no prompter, no second keyring daemon) and its own gnome-keyring-daemon
with its files in a scratch folder, so the user's own keyrings and session bus are never
touched. It skips, saying why, where either program is not installed.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from keyring.backends import SecretService

from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""
PASSWORD = "never shown ✓ 42"


def _has_secret_service(address: str) -> bool:
    from jeepney import DBusAddress, new_method_call
    from jeepney.io.blocking import open_dbus_connection

    bus = DBusAddress("/org/freedesktop/DBus", bus_name="org.freedesktop.DBus",
                      interface="org.freedesktop.DBus")
    with closing(open_dbus_connection(bus=address)) as connection:
        reply = connection.send_and_get_reply(
            new_method_call(bus, "NameHasOwner", "s", ("org.freedesktop.secrets",)), timeout=2
        )
    return bool(reply.body and reply.body[0])


class PrivateKeyring:
    """A dbus-daemon and a gnome-keyring-daemon of this test's own."""

    def __init__(self, folder: Path, login_password: str | None) -> None:
        self.folder = folder
        folder.chmod(0o700)
        socket_path = folder / "bus"
        config = folder / "bus.conf"
        config.write_text(BUS_CONFIG.format(socket=socket_path), encoding="utf-8")
        self.address = f"unix:path={socket_path}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(folder),
            "XDG_DATA_HOME": str(folder / "data"),
            "XDG_RUNTIME_DIR": str(folder),
            "XDG_CONFIG_HOME": str(folder / "config"),
        }
        self.bus = subprocess.Popen(
            ["dbus-daemon", "--nofork", f"--config-file={config}"],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.keyring: subprocess.Popen[bytes] | None = None
        self._wait_for(socket_path.exists, "dbus-daemon did not create its socket")
        command = ["gnome-keyring-daemon", "--foreground", "--components=secrets"]
        if login_password is not None:
            command.append("--unlock")  # reads the password and creates the login keyring
        self.keyring = subprocess.Popen(
            command, env={**env, "DBUS_SESSION_BUS_ADDRESS": self.address},
            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert self.keyring.stdin is not None
        self.keyring.stdin.write((login_password or "").encode())
        self.keyring.stdin.close()
        self._wait_for(lambda: _has_secret_service(self.address),
                       "gnome-keyring-daemon did not take the Secret Service name")

    def _wait_for(self, condition: object, problem: str) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if condition():  # type: ignore[operator]
                    return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        pytest.fail(problem)

    def stop(self) -> None:
        for process in (self.keyring, self.bus):
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=5)


def _private_keyring(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch,
                     login_password: str | None) -> Iterator[PrivateKeyring]:
    missing = [name for name in ("dbus-daemon", "gnome-keyring-daemon") if not shutil.which(name)]
    if missing:
        pytest.skip(f"needs {' and '.join(missing)} (Debian: dbus, gnome-keyring)")
    pytest.importorskip("secretstorage")
    # A short folder: a unix socket path is limited to about 100 characters.
    folder = Path(tmp_path_factory.mktemp("kr"))
    keyring = PrivateKeyring(folder, login_password)
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", keyring.address)
    yield keyring
    keyring.stop()


@pytest.fixture
def keyring_without_login(tmp_path_factory: pytest.TempPathFactory,
                          monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateKeyring]:
    """GNOME Keyring as on a fresh account that never unlocked a login keyring."""
    yield from _private_keyring(tmp_path_factory, monkeypatch, None)


@pytest.fixture
def keyring_with_login(tmp_path_factory: pytest.TempPathFactory,
                       monkeypatch: pytest.MonkeyPatch) -> Iterator[PrivateKeyring]:
    """GNOME Keyring with an unlocked login keyring, as after a desktop sign-in."""
    yield from _private_keyring(tmp_path_factory, monkeypatch, "private-test-keyring")


def test_no_default_keyring_is_reported_without_a_prompt(
    keyring_without_login: PrivateKeyring,
) -> None:
    store = SecretStore(SecretService.Keyring())

    status = store.status()

    assert not status.usable
    assert "no default keyring" in status.problem
    assert "Passwords and Keys" in status.problem
    # Save refuses on the status alone, so the backend never asks to create a keyring.
    with pytest.raises(SecretStoreError) as caught:
        store.store("address-1", PASSWORD)
    message = str(caught.value)
    assert message.startswith("Passwords cannot be saved: the Secret Service has no default")
    assert PASSWORD not in message


def test_keyrings_own_error_without_a_default_keyring_says_what_to_do(
    keyring_without_login: PrivateKeyring,
) -> None:
    """The read that keyring turns into InitError (creating the collection needs a prompt,
    and with no prompter on this private bus the Secret Service says it was dismissed)."""
    message = _error_of_a_read()
    assert message.startswith("The keyring could not be opened: InitError: ")
    assert message.endswith("Create or unlock the login keyring (GNOME: Passwords and Keys; "
                            "KDE: KWallet Manager) and try again.")
    assert ".." not in message


def _error_of_a_read() -> str:
    try:
        SecretStore(SecretService.Keyring()).get("address-1")
    except SecretStoreError as exc:
        message = str(exc)
    else:
        pytest.fail("the read did not fail")
    # keyring (25.x) leaves the D-Bus connection of a failed collection open; collect it
    # here, where its ResourceWarning is known, instead of failing a later test with it.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    return message


def test_an_unlocked_login_keyring_is_usable(keyring_with_login: PrivateKeyring) -> None:
    store = SecretStore(SecretService.Keyring())

    assert store.status().usable, store.status().problem
    store.store("address-status-test", PASSWORD)
    assert store.get("address-status-test") == PASSWORD
    store.delete("address-status-test")


def test_a_session_bus_without_a_secret_service_is_reported(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = Path(tmp_path_factory.mktemp("kr"))
    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={folder / 'no-bus-here'}")

    status = SecretStore(SecretService.Keyring()).status()

    assert not status.usable
    assert status.problem.startswith("the Secret Service cannot be reached")


def test_a_session_bus_where_no_secret_service_runs_is_reported(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not shutil.which("dbus-daemon"):
        pytest.skip("needs dbus-daemon (Debian: dbus)")
    folder = Path(tmp_path_factory.mktemp("kr"))
    folder.chmod(0o700)
    config = folder / "bus.conf"
    config.write_text(BUS_CONFIG.format(socket=folder / "bus"), encoding="utf-8")
    bus = subprocess.Popen(["dbus-daemon", "--nofork", f"--config-file={config}"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not (folder / "bus").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={folder / 'bus'}")

        status = SecretStore(SecretService.Keyring()).status()
    finally:
        bus.terminate()
        bus.wait(timeout=5)

    assert not status.usable
    assert status.problem.startswith("no Secret Service runs on the session bus")
