"""The keyring wrapper against a real Secret Service (GNOME Keyring, KWallet...) over D-Bus.

Where no Secret Service runs this test skips and says why; with
MAILSETTINGS_REQUIRE_SECRET_SERVICE=1 (as `.ci/run` sets) it fails instead, so CI cannot
turn green by quietly skipping the only test that touches a real keyring.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from contextlib import closing

import keyring.errors
import pytest
from keyring.backends import SecretService

from mailsettings_desktop.core.secrets import SERVICE_NAME, SecretStore

REQUIRE_ENV = "MAILSETTINGS_REQUIRE_SECRET_SERVICE"
PASSWORD = "real keyring ✓ Grüße 42"


def secret_service_problem() -> str | None:
    """Why no usable Secret Service is reachable on the session bus, or None if one is."""
    try:
        import secretstorage
        from secretstorage.exceptions import ItemNotFoundException, SecretStorageException
    except ImportError:
        return "the SecretStorage package is not installed"
    try:
        with closing(secretstorage.dbus_init()) as connection:
            if not secretstorage.check_service_availability(connection):
                return "no Secret Service runs on (or can be started from) the session bus"
            # The default alias only: asking for "any" collection may pop up a prompt.
            if secretstorage.Collection(connection).is_locked():
                return "the default keyring collection is locked"
    except ItemNotFoundException:
        return "the Secret Service has no default collection (no keyring was unlocked yet)"
    except (SecretStorageException, OSError) as exc:
        bus = os.environ.get("DBUS_SESSION_BUS_ADDRESS", "unset")
        return f"no usable Secret Service (DBUS_SESSION_BUS_ADDRESS={bus}): {exc}"
    return None


def stored_items(key: str) -> int:
    """How many items the Secret Service itself holds for this key, bypassing keyring."""
    import secretstorage

    with closing(secretstorage.dbus_init()) as connection:
        collection = secretstorage.Collection(connection)
        return len(list(collection.search_items({"service": SERVICE_NAME, "username": key})))


def real_backend() -> SecretService.Keyring:
    """keyring's Secret Service backend, or a skip (a failure when CI requires it)."""
    problem = secret_service_problem()
    if problem is not None:
        if os.environ.get(REQUIRE_ENV) == "1":
            pytest.fail(f"{REQUIRE_ENV}=1, but {problem}", pytrace=False)
        pytest.skip(f"needs a Secret Service on the session bus: {problem}")
    return SecretService.Keyring()


@pytest.mark.secret_service
def test_store_read_delete_in_the_real_secret_service() -> None:
    backend = real_backend()
    store = SecretStore(backend)
    key = f"address-test-{uuid.uuid4().hex}"
    status = store.status()
    assert status.usable, status.problem
    assert status.backend_name == "keyring.backends.SecretService.Keyring"

    try:
        store.store(key, PASSWORD)
        assert stored_items(key) == 1
        assert store.get(key) == PASSWORD
        # A second client sees it too: it lives in the service, not in this object.
        assert SecretStore(SecretService.Keyring()).get(key) == PASSWORD

        store.delete(key)
        assert store.get(key) is None
        assert stored_items(key) == 0
        store.delete(key)  # already gone is not an error
    finally:
        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            backend.delete_password(SERVICE_NAME, key)
