"""Saving and removing external addresses: the database row and the keyring entry together.

Both steps succeed or neither remains. The row is written inside an open transaction, the
password is stored, and only then is the transaction committed; if the commit fails the
password is taken back out of the keyring.
"""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.exc import SQLAlchemyError

from mailsettings_desktop.core.records import AddressDraft, AddressRecord, TestStamp
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError
from mailsettings_desktop.core.storage import Database, ProjectConflictError, StorageError

log = logging.getLogger(__name__)


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
) -> AddressRecord:
    """Add an address and its password atomically, returning the stored record.

    Works for an employee's own address and for a company address (`draft.is_company`).
    """
    status = secrets.status()
    if not status.usable:
        # Checked before touching the database, so the message is about the keyring.
        raise SaveError(
            f"Passwords cannot be saved: {status.problem} ({status.backend_name}). "
            "Nothing was saved."
        )
    secret_key = f"address-{uuid.uuid4().hex}"
    stored_secret = False
    try:
        with db.session() as s:
            db.check_mailbox(s, draft)
            row = db.insert_address(s, draft, secret_key)
            if test is not None:
                db.record_test(s, row, test)
            secrets.store(secret_key, password)
            stored_secret = True
            record = db.to_record(row)
    except SecretStoreError as exc:
        raise SaveError(str(exc)) from exc
    except StorageError as exc:
        _forget_secret(secrets, secret_key, stored_secret)
        raise _save_error(exc) from exc
    except SQLAlchemyError as exc:
        _forget_secret(secrets, secret_key, stored_secret)
        log.exception("database write failed while saving an address")
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). Nothing was saved."
        ) from exc
    except BaseException:
        # A bug or an interrupt after the keyring write must not leave an orphan password.
        _forget_secret(secrets, secret_key, stored_secret)
        raise
    log.info("address saved: id=%d employee=%s", record.id, record.employee_id or "company")
    return record


def remove_address(db: Database, secrets: SecretStore, address_id: int) -> None:
    """Delete an address row and its keyring entry, both or neither.

    The row is deleted inside an open transaction, then the keyring entry; a keyring
    failure rolls the row back. If the commit itself fails, the password is put back.
    """
    record = db.get_address(address_id)
    if record is None:
        return
    deleted_password: str | None = None
    try:
        with db.session() as s:
            db.delete_address_row(s, address_id)
            deleted_password = secrets.get(record.secret_key)
            secrets.delete(record.secret_key)
    except SecretStoreError as exc:
        raise SaveError(f"{exc} The address was not removed.") from exc
    except SQLAlchemyError as exc:
        log.exception("database delete failed for address %d", address_id)
        lost = ""
        if deleted_password is not None:
            try:
                secrets.store(record.secret_key, deleted_password)
            except SecretStoreError:
                # Still a SaveError, so the admin is told rather than shown a crash.
                log.error("could not put back keyring entry %s", record.secret_key)
                lost = " Its password could not be put back into the keyring; enter it again."
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). "
            f"The address was not removed.{lost}"
        ) from exc
    log.info("address removed: id=%d", address_id)


def _forget_secret(secrets: SecretStore, key: str, stored: bool) -> None:
    if not stored:
        return
    try:
        secrets.delete(key)
    except SecretStoreError:
        log.error("could not take back keyring entry %s after a failed save", key)


def update_address(
    db: Database,
    secrets: SecretStore,
    address_id: int,
    draft: AddressDraft,
    new_password: str | None,
    test: TestStamp | None = None,
) -> AddressRecord:
    """Change an address; a new password replaces the keyring entry in the same step.

    `new_password` None keeps the stored password. When the database write fails after
    the keyring was changed, the previous password is put back.
    """
    previous: str | None = None
    replaced = False
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
            record = db.to_record(row)
    except SecretStoreError as exc:
        raise SaveError(str(exc)) from exc
    except StorageError as exc:
        raise _save_error(exc) from exc
    except SQLAlchemyError as exc:
        log.exception("database write failed while updating address %d", address_id)
        lost = ""
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
    log.info("address updated: id=%d", address_id)
    return record
