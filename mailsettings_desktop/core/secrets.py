"""Passwords in the operating system's keyring, behind a small interface.

The store says which backend is in use and whether it is safe to use. It never falls back
to keeping a password anywhere else: when no usable keyring exists, saving fails and the
admin is told why.
"""

from __future__ import annotations

import logging
from contextlib import closing
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


_SECRET_SERVICE = "keyring.backends.SecretService.Keyring"
# The D-Bus path of the default collection (on GNOME the "login" keyring), and how long
# status() waits for the Secret Service: it runs on the GUI thread.
_DEFAULT_COLLECTION = "/org/freedesktop/secrets/aliases/default"
_PROBE_SECONDS = 3.0
# D-Bus errors that mean "no such collection" (secretstorage reads them the same way),
# and those that mean no Secret Service is there at all.
_NO_SUCH_COLLECTION = {
    "org.freedesktop.DBus.Error.UnknownMethod",
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.Secret.Error.NoSuchObject",
}
_NO_SERVICE = {
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
    "org.freedesktop.DBus.Error.Spawn.ExecFailed",
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


def _writer(backend: keyring.backend.KeyringBackend) -> keyring.backend.KeyringBackend:
    """The backend that actually keeps passwords: keyring's chainer writes to its first."""
    backends = getattr(backend, "backends", None)
    return backends[0] if backends else backend


class SecretStore:
    """Reads and writes passwords of external addresses in one keyring backend."""

    def __init__(self, backend: keyring.backend.KeyringBackend | None = None) -> None:
        self._backend = backend if backend is not None else keyring.get_keyring()

    @property
    def backend(self) -> keyring.backend.KeyringBackend:
        return self._backend

    def status(self) -> StoreStatus:
        """Whether passwords can be kept safely, and if not, a sentence saying why.

        For the Secret Service it also asks, without any prompt, whether the collection
        keyring writes to exists; a locked one counts as usable, since using it asks the
        user to unlock it, which is what should happen.
        """
        name = _qualified_name(self._backend)
        backends = getattr(self._backend, "backends", None)
        if backends is not None and not backends:
            return StoreStatus(False, name, "no keyring backend is available")
        # keyring's chainer writes to its first backend, so that one decides.
        writer_backend = _writer(self._backend)
        writer = _qualified_name(writer_backend)
        reason = _UNSAFE_BACKENDS.get(writer)
        if reason is None and "plaintext" in writer.lower():
            reason = "the backend keeps passwords in plain text"
        if reason is None and writer == _SECRET_SERVICE:
            reason = _secret_service_problem(writer_backend)
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
                self._failure(
                    exc, f"The keyring ({status.backend_name}) refused to keep the password",
                    password, before,
                )
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
            log.warning("keyring read failed for %s: %s", key, type(exc).__name__)
            raise SecretStoreError(
                self._failure(exc, "The keyring could not be read")
            ) from exc

    def delete(self, key: str) -> None:
        """Remove a password; a password that is already gone is not an error."""
        try:
            self._backend.delete_password(SERVICE_NAME, key)
        except keyring.errors.PasswordDeleteError:
            log.info("no keyring entry to delete for %s", key)
        except keyring.errors.KeyringLocked as exc:
            # Callers add what was kept ("The employee was not removed.") after this.
            raise SecretStoreError(
                "The keyring could not remove the password: KeyringLocked."
            ) from exc
        except Exception as exc:
            log.warning("keyring delete failed for %s: %s", key, type(exc).__name__)
            raise SecretStoreError(
                self._failure(exc, "The keyring could not remove the password")
            ) from exc
        else:
            log.info("password removed from keyring for %s", key)

    def _failure(self, exc: BaseException, what_failed: str, *secrets: str | None) -> str:
        """The admin's sentence for a backend error: what failed, the backend's own words
        (with any secret it might echo blanked out), and what to do about it.

        InitError means keyring could not even open its store (on GNOME: no login keyring,
        or its creation prompt was dismissed), whatever was being done at the time.
        """
        words = str(exc).strip().rstrip(".").strip()
        for secret in secrets:
            if secret and len(secret) >= 3:
                words = words.replace(secret, "***")
        words = f"{type(exc).__name__}: {words}" if words else type(exc).__name__
        if isinstance(exc, keyring.errors.InitError):
            what_failed = "The keyring could not be opened"
        return f"{what_failed}: {words}. {_what_to_do(_qualified_name(_writer(self._backend)))}"


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


def _what_to_do(backend_name: str) -> str:
    """Advice for a keyring that failed, in the words of the admin's own system."""
    lowered = backend_name.lower()
    if "secretservice" in lowered or "libsecret" in lowered:
        return (
            "Create or unlock the login keyring (GNOME: Passwords and Keys; KDE: KWallet "
            "Manager) and try again."
        )
    if "kwallet" in lowered:
        return "Open or unlock the wallet in KWallet Manager and try again."
    if "windows" in lowered:
        return "Check that Credential Manager works for this Windows account and try again."
    if "macos" in lowered:
        return "Unlock the login keychain in Keychain Access and try again."
    return "Make sure the operating system's keyring is running and unlocked, and try again."


def _secret_service_problem(backend: keyring.backend.KeyringBackend) -> str | None:
    """Why the Secret Service cannot keep passwords, found without prompting; else None.

    keyring opens the default collection (or its configured `preferred_collection`) for
    every call. When that collection does not exist, keyring asks the Secret Service to
    create it, which pops up a dialog (or, without a display, fails with InitError).
    Reading the collection's Label property prompts for nothing, so that is the check.

    TODO: a locked collection is not checked: unlocking it needs a prompt, and reading
    whether it is locked says nothing about whether the user will accept that prompt.
    keyring's own priority check (run once when the backend is chosen) is not repeated.
    """
    try:
        from jeepney import DBusAddress, HeaderFields, MessageType, Properties
        from jeepney.io.blocking import open_dbus_connection
    except ImportError:
        return None  # keyring's own calls will then fail and say why
    path = str(getattr(backend, "preferred_collection", _DEFAULT_COLLECTION))
    collection = DBusAddress(
        path, bus_name="org.freedesktop.secrets", interface="org.freedesktop.Secret.Collection"
    )
    try:
        with closing(open_dbus_connection(bus="SESSION")) as connection:
            reply = connection.send_and_get_reply(
                Properties(collection).get("Label"), timeout=_PROBE_SECONDS
            )
    except TimeoutError:
        return f"the Secret Service did not answer within {_PROBE_SECONDS:g} seconds"
    except Exception as exc:  # no session bus, a refused socket, a failed D-Bus handshake
        log.info("Secret Service probe failed: %s", type(exc).__name__)
        return f"the Secret Service cannot be reached ({type(exc).__name__}: {exc})"
    if reply.header.message_type != MessageType.error:
        return None
    error = str(reply.body[0]) if reply.body else ""
    name = str(reply.header.fields.get(HeaderFields.error_name, ""))
    log.info("Secret Service probe of %s: %s %s", path, name, error)
    if name in _NO_SERVICE:
        return f"no Secret Service runs on the session bus ({error or name})"
    if name in _NO_SUCH_COLLECTION:
        return (
            "the Secret Service has no default keyring to keep passwords in; create the "
            "login keyring (GNOME: Passwords and Keys) or set a keyring as default"
        )
    return f"the Secret Service refused access to its keyring ({name}: {error})"


def _unusable_message(status: StoreStatus) -> str:
    return (
        f"Passwords cannot be saved: {status.problem} ({status.backend_name}). "
        "The program keeps passwords only in the operating system's keyring; "
        "install or unlock one (Windows Credential Manager, macOS Keychain, "
        "GNOME Keyring or KWallet) and try again. Nothing was saved."
    )
