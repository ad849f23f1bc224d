"""The keyring wrapper: what it keeps, and the backends it refuses to trust."""

from __future__ import annotations

import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backends.chainer import ChainerBackend

from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore, SecretStoreError
from tests.memory_keyring import (
    DroppingKeyring,
    LockedKeyring,
    MemoryKeyring,
    PlaintextKeyring,
    ReadFailingKeyring,
)

PASSWORD = "Sommer 2026 — ÄÖÜ ✓"


def chain_of(*backends: keyring.backend.KeyringBackend) -> ChainerBackend:
    """A chainer over exactly these backends, instead of whatever this machine offers."""
    # viable=False keeps this class out of keyring's backend detection for the rest of the run.
    cls = type("TestChainer", (ChainerBackend,), {"backends": list(backends), "viable": False})
    return cls()  # type: ignore[no-any-return]


def test_store_read_delete_round_trip(memory_keyring: MemoryKeyring) -> None:
    store = SecretStore()  # picks up keyring's current backend, the in-memory one

    assert store.backend is memory_keyring
    assert store.status().usable
    assert store.status().backend_name == "tests.memory_keyring.MemoryKeyring"
    store.store("address-1", PASSWORD)
    assert memory_keyring.entries == {(SERVICE_NAME, "address-1"): PASSWORD}
    assert store.get("address-1") == PASSWORD

    store.delete("address-1")
    assert store.get("address-1") is None
    store.delete("address-1")  # already gone is not an error
    assert memory_keyring.entries == {}


def test_storing_again_replaces_the_password(secrets: SecretStore) -> None:
    secrets.store("address-1", "old")
    secrets.store("address-1", PASSWORD)
    assert secrets.get("address-1") == PASSWORD


@pytest.mark.parametrize(
    ("backend", "problem"),
    [
        (keyring.backends.fail.Keyring(), "no keyring backend is available"),
        (keyring.backends.null.Keyring(), "switched off"),
        (PlaintextKeyring(), "plain text"),
        (chain_of(), "no keyring backend is available"),
        (chain_of(PlaintextKeyring(), MemoryKeyring()), "plain text"),
        (chain_of(keyring.backends.null.Keyring()), "switched off"),
    ],
    ids=["fail", "null", "plaintext", "empty-chain", "chain-plaintext-first", "chain-null"],
)
def test_unsafe_backends_are_refused(
    backend: keyring.backend.KeyringBackend, problem: str
) -> None:
    store = SecretStore(backend)

    status = store.status()
    assert not status.usable
    assert problem in status.problem
    with pytest.raises(SecretStoreError) as caught:
        store.store("address-1", PASSWORD)

    message = str(caught.value)
    assert message.startswith("Passwords cannot be saved:")
    assert problem in message
    assert "Nothing was saved" in message
    assert PASSWORD not in message
    inner = getattr(backend, "backends", [backend])
    assert all(getattr(b, "entries", {}) == {} for b in inner)


def test_a_chain_that_writes_to_a_safe_backend_is_used() -> None:
    safe = MemoryKeyring()
    store = SecretStore(chain_of(safe, PlaintextKeyring()))

    assert store.status().usable
    store.store("address-1", PASSWORD)
    assert safe.entries == {(SERVICE_NAME, "address-1"): PASSWORD}


def test_a_backend_that_drops_passwords_is_caught() -> None:
    backend = DroppingKeyring()
    store = SecretStore(backend)
    assert store.status().usable  # nothing tells it apart until a password is lost

    with pytest.raises(SecretStoreError) as caught:
        store.store("address-1", PASSWORD)

    message = str(caught.value)
    assert "did not keep the password" in message
    assert "DroppingKeyring" in message
    assert "Nothing was saved" in message
    assert PASSWORD not in message
    assert backend.entries == {}


def test_a_locked_keyring_is_reported_as_locked() -> None:
    backend = LockedKeyring()

    with pytest.raises(SecretStoreError, match=r"keyring is locked\. Unlock it") as caught:
        SecretStore(backend).store("address-1", PASSWORD)

    assert PASSWORD not in str(caught.value)
    assert backend.entries == {}


def test_a_failed_read_back_leaves_no_password_behind() -> None:
    backend = ReadFailingKeyring()

    with pytest.raises(SecretStoreError, match="refused to keep the password: KeyringError"):
        SecretStore(backend).store("address-1", PASSWORD)

    assert backend.entries == {}


def test_reading_a_locked_or_broken_keyring_says_so() -> None:
    class LockedOnRead(MemoryKeyring):
        def get_password(self, service: str, username: str) -> str | None:
            raise keyring.errors.KeyringLocked("collection is locked")

    with pytest.raises(SecretStoreError, match="locked"):
        SecretStore(LockedOnRead()).get("address-1")
    with pytest.raises(SecretStoreError, match="could not be read: KeyringError"):
        SecretStore(ReadFailingKeyring()).get("address-1")


class TruncatingKeyring(MemoryKeyring):
    """Keeps only the first 8 characters, as a backend with a length limit might."""

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password[:8])


def test_a_mangled_new_password_is_not_left_behind() -> None:
    backend = TruncatingKeyring()

    with pytest.raises(SecretStoreError, match="did not keep the password"):
        SecretStore(backend).store("address-1", PASSWORD)

    assert backend.entries == {}


class LosesConnectionAfterWrite(MemoryKeyring):
    """Writes, then cannot be read until the next write (a service restarting mid-way)."""

    broken = False

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        self.broken = not self.broken

    def get_password(self, service: str, username: str) -> str | None:
        if self.broken:
            raise keyring.errors.KeyringError("the keyring service went away")
        return super().get_password(service, username)


@pytest.mark.parametrize(
    "backend",
    [DroppingKeyring(), LockedKeyring(), ReadFailingKeyring(), LosesConnectionAfterWrite()],
    ids=["dropping", "locked", "read-failing", "fails-after-write"],
)
def test_a_failed_replacement_keeps_the_old_password(backend: MemoryKeyring) -> None:
    backend.entries[(SERVICE_NAME, "address-1")] = "the old one"

    with pytest.raises(SecretStoreError):
        SecretStore(backend).store("address-1", PASSWORD)

    assert backend.entries == {(SERVICE_NAME, "address-1"): "the old one"}


class NoCollectionKeyring(MemoryKeyring):
    """Fails as keyring's Secret Service backend does when there is no login keyring."""

    def _fail(self) -> None:
        raise keyring.errors.InitError("Failed to create the collection: Prompt dismissed..")

    def get_password(self, service: str, username: str) -> str | None:
        self._fail()
        return None

    def set_password(self, service: str, username: str, password: str) -> None:
        self._fail()

    def delete_password(self, service: str, username: str) -> None:
        self._fail()


class EchoingKeyring(MemoryKeyring):
    """A backend whose error message repeats the password it was given."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError(f"cannot store {password!s} for {username}")


ADVICE = "Make sure the operating system's keyring is running and unlocked, and try again."


def test_a_keyring_that_cannot_be_opened_says_what_to_do() -> None:
    store = SecretStore(NoCollectionKeyring())
    expected = (
        "The keyring could not be opened: InitError: Failed to create the collection: "
        f"Prompt dismissed. {ADVICE}"
    )

    for action in (
        lambda: store.get("address-1"),
        lambda: store.store("address-1", PASSWORD),
        lambda: store.delete("address-1"),
    ):
        with pytest.raises(SecretStoreError) as caught:
            action()
        assert str(caught.value) == expected
        assert PASSWORD not in str(caught.value)


def test_other_backend_errors_keep_their_words_but_never_the_password() -> None:
    with pytest.raises(SecretStoreError) as caught:
        SecretStore(EchoingKeyring()).store("address-1", PASSWORD)

    message = str(caught.value)
    assert message == (
        "The keyring (tests.test_secrets.EchoingKeyring) refused to keep the password: "
        f"RuntimeError: cannot store *** for address-1. {ADVICE}"
    )
    with pytest.raises(SecretStoreError) as read:
        SecretStore(ReadFailingKeyring()).get("address-1")
    assert str(read.value) == (
        f"The keyring could not be read: KeyringError: the keyring service went away. {ADVICE}"
    )


def test_secret_service_advice_names_the_login_keyring() -> None:
    # Named like keyring's own backend: the advice depends on the backend's name only.
    cls = type("Keyring", (NoCollectionKeyring,), {"__module__": "keyring.backends.libsecret"})
    with pytest.raises(SecretStoreError) as caught:
        SecretStore(cls()).get("address-1")
    assert str(caught.value).endswith(
        "Create or unlock the login keyring (GNOME: Passwords and Keys; KDE: KWallet Manager) "
        "and try again."
    )
