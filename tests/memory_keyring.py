"""An in-memory keyring backend for tests, plus backends that misbehave on purpose."""

from __future__ import annotations

import keyring.backend
import keyring.errors


class MemoryKeyring(keyring.backend.KeyringBackend):
    """Keeps passwords in a dict; priority is irrelevant because tests set it directly."""

    priority = 1  # type: ignore[assignment]
    # Never picked by keyring's own detection: a test sets these backends explicitly, and a
    # run without a real keyring must not quietly end up with an in-memory one.
    viable = False

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError(username) from None


class DroppingKeyring(MemoryKeyring):
    """Accepts a password and forgets it at once."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


class LockedKeyring(MemoryKeyring):
    """Refuses every write as a locked Secret Service collection would."""

    def set_password(self, service: str, username: str, password: str) -> None:
        raise keyring.errors.KeyringLocked("collection is locked")


class ReadFailingKeyring(MemoryKeyring):
    """Accepts a write, then fails to read it back (a service that dies mid-way)."""

    def get_password(self, service: str, username: str) -> str | None:
        raise keyring.errors.KeyringError("the keyring service went away")


class PlaintextKeyring(MemoryKeyring):
    """Stands in for keyrings.alt's PlaintextKeyring: the word in its name is what counts."""
