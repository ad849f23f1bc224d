"""Passwords in the operating system's keyring, behind a small interface.

The store says which backend is in use and whether it is safe to use. It never falls back
to keeping a password anywhere else: when no usable keyring exists, saving fails and the
admin is told why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import keyring
import keyring.backend
import keyring.errors

from mailsettings_desktop import APP_NAME

log = logging.getLogger(__name__)

SERVICE_NAME = APP_NAME

# Backends that either drop passwords or keep them readable on disk.
_UNSAFE_BACKENDS = {
    "keyring.backends.fail.Keyring": "no keyring backend is available",
    "keyring.backends.null.Keyring": "the keyring is switched off (null backend)",
    "keyrings.alt.file.PlaintextKeyring": "the backend keeps passwords in a plain text file",
}


class SecretStoreError(Exception):
    """The keyring could not keep or return a password; the message is for the admin."""


@dataclass(frozen=True)
class StoreStatus:
    usable: bool
    backend_name: str
    problem: str = ""


def _qualified_name(backend: keyring.backend.KeyringBackend) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


class SecretStore:
    """Reads and writes passwords of external addresses in one keyring backend."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend

    def status(self) -> StoreStatus:
        """Whether passwords can be kept safely, and if not, a sentence saying why."""
        name = _qualified_name(self._backend)
        backends = getattr(self._backend, "backends", None)
        if backends is not None and not backends:
            return StoreStatus(False, name, "no keyring backend is available")
        # keyring's chainer writes to its first backend, so that one decides.
        writer = _qualified_name(backends[0]) if backends else name
        reason = _UNSAFE_BACKENDS.get(writer)
        if reason is None and "plaintext" in writer.lower():
            reason = "the backend keeps passwords in plain text"
        if reason is not None:
            return StoreStatus(False, name, reason)
        return StoreStatus(True, name)

    def store(self, key: str, password: str) -> None:
        """Keep a password and read it back, so a backend that drops it is caught now.

        When that fails, the entry is left as it was: absent for a new address, the old
        password when an existing one was being replaced.
        """
        status = self.status()
        if not status.usable:
            raise SecretStoreError(_unusable_message(status))
        before: str | None = None
        written = False
        try:
            before = self._backend.get_password(SERVICE_NAME, key)
            self._backend.set_password(SERVICE_NAME, key, password)
            written = True
            readback = self._backend.get_password(SERVICE_NAME, key)
        except keyring.errors.KeyringLocked as exc:
            self._undo(key, written, before)
            raise SecretStoreError(
                "The keyring is locked. Unlock it (for example by signing in again) and retry."
            ) from exc
        except Exception as exc:
            log.warning("keyring write failed for %s: %s", key, type(exc).__name__)
            self._undo(key, written, before)
            raise SecretStoreError(
                f"The keyring ({status.backend_name}) refused to keep the password: "
                f"{type(exc).__name__}."
            ) from exc
        if readback != password:
            # Still the old value (or nothing) means the write never landed: keep the old one.
            if readback is not None and readback != before:
                self._undo(key, True, before)
            raise SecretStoreError(
                f"The keyring ({status.backend_name}) did not keep the password. "
                "Nothing was saved."
            )
        log.info("password stored in keyring for %s", key)

    def _undo(self, key: str, written: bool, before: str | None) -> None:
        """Put back what a failed store found, so no wrong or orphan password stays behind."""
        if not written:
            return
        try:
            if before is None:
                self.delete(key)
            else:
                self._backend.set_password(SERVICE_NAME, key, before)
        except Exception:
            log.error("could not restore keyring entry %s after a failed store", key)

    def get(self, key: str) -> str | None:
        try:
            return self._backend.get_password(SERVICE_NAME, key)
        except keyring.errors.KeyringLocked as exc:
            raise SecretStoreError("The keyring is locked. Unlock it and retry.") from exc
        except Exception as exc:
            raise SecretStoreError(
                f"The keyring could not be read: {type(exc).__name__}."
            ) from exc

    def delete(self, key: str) -> None:
        """Remove a password; a password that is already gone is not an error."""
        try:
            self._backend.delete_password(SERVICE_NAME, key)
        except keyring.errors.PasswordDeleteError:
            log.info("no keyring entry to delete for %s", key)
        except Exception as exc:
            raise SecretStoreError(
                f"The keyring could not remove the password: {type(exc).__name__}."
            ) from exc
        else:
            log.info("password removed from keyring for %s", key)


    # Other long-lived secrets (OAuth refresh tokens, client secrets, service-account keys)
    # share the keyring service but live under their own key namespace, so they can never
    # collide with an address's password entry ("address-<hex>").

    def put_secret(self, namespace: str, name: str, value: str) -> None:
        """Keep a secret under `namespace:name`, with the same read-back check as `store`."""
        self.store(namespaced_key(namespace, name), value)

    def get_secret(self, namespace: str, name: str) -> str | None:
        return self.get(namespaced_key(namespace, name))

    def delete_secret(self, namespace: str, name: str) -> None:
        """Remove a namespaced secret; one that is already gone is not an error."""
        self.delete(namespaced_key(namespace, name))


def namespaced_key(namespace: str, name: str) -> str:
    """The keyring key of a secret that is not an address's password."""
    if not namespace or ":" in namespace:
        raise ValueError(f"bad secret namespace {namespace!r}")
    return f"{namespace}:{name}"


def _unusable_message(status: StoreStatus) -> str:
    return (
        f"Passwords cannot be saved: {status.problem} ({status.backend_name}). "
        "The program keeps passwords only in the operating system's keyring; "
        "install or unlock one (Windows Credential Manager, macOS Keychain, "
        "GNOME Keyring or KWallet) and try again. Nothing was saved."
    )
