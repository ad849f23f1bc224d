"""Saving and removing external addresses: the database row and the keyring entry together.

Both steps succeed or neither remains. The row is written inside an open transaction, the
password is stored, and only then is the transaction committed; if the commit fails the
password is taken back out of the keyring.

An address that signs in with OAuth2 (`options["auth"]`) keeps no password: after an
interactive sign-in its refresh token takes the password's place, under the same rule
(the keyring refuses it, nothing is saved). Removing an address forgets its tokens too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

from mailsettings_desktop.core.records import AddressDraft, AddressRecord, TestStamp
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError
from mailsettings_desktop.core.storage import Database, ProjectConflictError, StorageError

if TYPE_CHECKING:  # the OAuth package loads authlib; only sign-ins need it at run time
    from mailsettings_desktop.core.oauth import SignInResult, TokenService

log = logging.getLogger(__name__)

# Same value as core.oauth.service.REFRESH_NAMESPACE, kept here so that removing a
# password address does not load the OAuth libraries (a test pins the two together).
REFRESH_NAMESPACE = "oauth-refresh"


class SaveError(Exception):
    """Saving or removing failed and nothing changed; the message is for the admin.

    `conflicts` is filled when ticked projects are served by another of the employee's
    addresses (project id -> that address), so the dialog can offer to move them.
    """

    def __init__(
        self, message: str, conflicts: dict[int, AddressRecord] | None = None
    ) -> None:
        super().__init__(message)
        self.conflicts: dict[int, AddressRecord] = dict(conflicts or {})


def _save_error(exc: StorageError) -> SaveError:
    conflicts = exc.conflicts if isinstance(exc, ProjectConflictError) else None
    return SaveError(str(exc), conflicts)


def save_new_address(
    db: Database,
    secrets: SecretStore,
    draft: AddressDraft,
    password: str,
    test: TestStamp | None = None,
    *,
    tokens: TokenService | None = None,
    sign_in: SignInResult | None = None,
) -> AddressRecord:
    """Add an address and its password atomically, returning the stored record.

    Works for an employee's own address and for a company address (`draft.is_company`).
    An OAuth2 address stores no password; with `sign_in` (an interactive sign-in not yet
    kept) its refresh token goes to the keyring through `tokens`, atomically in the same way.
    """
    oauth = uses_oauth(draft.options)
    if sign_in is not None and tokens is None:
        raise ValueError("a sign-in is kept through the token service")
    if not oauth or sign_in is not None:
        status = secrets.status()
        if not status.usable:
            # Checked before touching the database, so the message is about the keyring.
            what = "The sign-in" if oauth else "Passwords"
            raise SaveError(
                f"{what} cannot be saved: {status.problem} ({status.backend_name}). "
                "Nothing was saved."
            )
    secret_key = f"address-{uuid.uuid4().hex}"
    stored_secret = False

    def undo() -> None:
        if oauth:
            _forget_sign_in(tokens, secret_key, stored_secret)
        else:
            _forget_secret(secrets, secret_key, stored_secret)

    try:
        with db.session() as s:
            db.check_mailbox(s, draft)
            row = db.insert_address(s, draft, secret_key)
            if test is not None:
                db.record_test(s, row, test)
            if not oauth:
                secrets.store(secret_key, password)
                stored_secret = True
            elif sign_in is not None and tokens is not None:
                tokens.keep_sign_in(secret_key, sign_in)
                stored_secret = True
            record = db.to_record(row)
    except SecretStoreError as exc:
        raise SaveError(str(exc)) from exc
    except StorageError as exc:
        undo()
        raise _save_error(exc) from exc
    except SQLAlchemyError as exc:
        undo()
        log.exception("database write failed while saving an address")
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). Nothing was saved."
        ) from exc
    except BaseException:
        # A bug or an interrupt after the keyring write must not leave an orphan secret.
        undo()
        raise
    log.info("address saved: id=%d employee=%s", record.id, record.employee_id or "company")
    return record


def remove_address(db: Database, secrets: SecretStore, address_id: int) -> None:
    """Delete an address row and its keyring entries, both or neither.

    The row is deleted inside an open transaction, then the password and any OAuth
    refresh token; a keyring failure rolls the row back. If the commit itself fails, the
    secrets are put back.
    """
    record = db.get_address(address_id)
    if record is None:
        return
    deleted_password: str | None = None
    deleted_refresh: str | None = None
    try:
        with db.session() as s:
            db.delete_address_row(s, address_id)
            deleted_password = secrets.get(record.secret_key)
            if deleted_password is not None or not uses_oauth(record.options):
                secrets.delete(record.secret_key)
            deleted_refresh = secrets.get_secret(REFRESH_NAMESPACE, record.secret_key)
            if deleted_refresh is not None:
                secrets.delete_secret(REFRESH_NAMESPACE, record.secret_key)
    except SecretStoreError as exc:
        raise SaveError(f"{exc} The address was not removed.") from exc
    except SQLAlchemyError as exc:
        log.exception("database delete failed for address %d", address_id)
        lost = ""
        try:
            if deleted_password is not None:
                secrets.store(record.secret_key, deleted_password)
            if deleted_refresh is not None:
                secrets.put_secret(REFRESH_NAMESPACE, record.secret_key, deleted_refresh)
        except SecretStoreError:
            # Still a SaveError, so the admin is told rather than shown a crash.
            log.error("could not put back keyring entry %s", record.secret_key)
            lost = (" Its password or sign-in could not be put back into the keyring; "
                    "enter it again.")
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). "
            f"The address was not removed.{lost}"
        ) from exc
    log.info("address removed: id=%d", address_id)


def uses_oauth(options: Mapping[str, object]) -> bool:
    """Whether an address's options say it signs in with OAuth2 (no password kept)."""
    auth = options.get("auth")
    return isinstance(auth, Mapping) and auth.get("method") == "oauth2"


def _forget_secret(secrets: SecretStore, key: str, stored: bool) -> None:
    if not stored:
        return
    try:
        secrets.delete(key)
    except SecretStoreError:
        log.error("could not take back keyring entry %s after a failed save", key)


def _forget_sign_in(tokens: TokenService | None, key: str, stored: bool) -> None:
    if not stored or tokens is None:
        return
    try:
        tokens.forget(key)
    except SecretStoreError:
        log.error("could not take back the sign-in %s after a failed save", key)


def _put_back_sign_in(
    secrets: SecretStore, tokens: TokenService | None, key: str, previous: str | None
) -> str:
    """Undo a kept sign-in after a failed update; a sentence when that failed too."""
    try:
        if previous is None:
            if tokens is not None:
                tokens.forget(key)
        else:
            secrets.put_secret(REFRESH_NAMESPACE, key, previous)
    except SecretStoreError:
        log.error("could not put back the sign-in %s", key)
        return " The previous sign-in could not be put back; sign in again."
    return ""


def _drop_unused_secrets(secrets: SecretStore, record: AddressRecord, before: bool) -> None:
    """After a change of sign-in method: remove what the address no longer uses.

    Best effort after the commit; a leftover entry is harmless (nothing reads it) and is
    logged, so the saved change is not reported as failed.
    """
    oauth = uses_oauth(record.options)
    interactive = oauth and _auth_flow(record.options) == "interactive"
    try:
        if oauth and not before:
            secrets.delete(record.secret_key)
        if not interactive and secrets.get_secret(REFRESH_NAMESPACE, record.secret_key):
            secrets.delete_secret(REFRESH_NAMESPACE, record.secret_key)
    except SecretStoreError:
        log.error("could not remove an unused keyring entry of address %d", record.id)


def _auth_flow(options: Mapping[str, object]) -> str:
    auth = options.get("auth")
    return str(auth.get("flow", "")) if isinstance(auth, Mapping) else ""


def update_address(
    db: Database,
    secrets: SecretStore,
    address_id: int,
    draft: AddressDraft,
    new_password: str | None,
    test: TestStamp | None = None,
    *,
    tokens: TokenService | None = None,
    sign_in: SignInResult | None = None,
) -> AddressRecord:
    """Change an address; a new password replaces the keyring entry in the same step.

    `new_password` None keeps the stored password. When the database write fails after
    the keyring was changed, the previous password is put back. For an OAuth2 address a
    new `sign_in` replaces its refresh token the same way, and no password is kept.
    """
    if sign_in is not None and tokens is None:
        raise ValueError("a sign-in is kept through the token service")
    oauth = uses_oauth(draft.options)
    if oauth:
        new_password = None  # an OAuth address keeps no password
    existing = db.get_address(address_id)
    was_oauth = existing is not None and uses_oauth(existing.options)
    previous: str | None = None
    replaced = False
    previous_refresh: str | None = None
    signed_in = False
    try:
        with db.session() as s:
            db.check_mailbox(s, draft, address_id)
            row = db.update_address_row(s, address_id, draft)
            if test is not None:
                db.record_test(s, row, test)
            if new_password is not None:
                previous = secrets.get(row.secret_key)
                secrets.store(row.secret_key, new_password)
                replaced = True
            if sign_in is not None and tokens is not None:
                previous_refresh = secrets.get_secret(REFRESH_NAMESPACE, row.secret_key)
                tokens.keep_sign_in(row.secret_key, sign_in)
                signed_in = True
            record = db.to_record(row)
    except SecretStoreError as exc:
        raise SaveError(str(exc)) from exc
    except StorageError as exc:
        if signed_in and existing is not None:
            _put_back_sign_in(secrets, tokens, existing.secret_key, previous_refresh)
        raise _save_error(exc) from exc
    except SQLAlchemyError as exc:
        log.exception("database write failed while updating address %d", address_id)
        lost = ""
        if signed_in and existing is not None:
            lost += _put_back_sign_in(secrets, tokens, existing.secret_key, previous_refresh)
        if replaced and previous is not None:
            record_key = db.get_address(address_id)
            if record_key is not None:
                try:
                    secrets.store(record_key.secret_key, previous)
                except SecretStoreError:
                    # Still a SaveError, so the admin is told rather than shown a crash.
                    log.error("could not put back keyring entry %s", record_key.secret_key)
                    lost = " The old password could not be put back; enter it again."
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). "
            f"Nothing was changed.{lost}"
        ) from exc
    if oauth or was_oauth:
        _drop_unused_secrets(secrets, record, was_oauth)
    log.info("address updated: id=%d", address_id)
    return record
