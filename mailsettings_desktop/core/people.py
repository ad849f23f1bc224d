"""Removing employees and projects explicitly, with their addresses, links and passwords.

Nothing is left behind: removing an employee takes its own addresses, their project links,
their keyring entries and its permissions on company addresses, all or nothing. The
`*_removal_summary` methods of `Database` say beforehand what would go, so the GUI can ask.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from mailsettings_desktop.core.address_book import SaveError
from mailsettings_desktop.core.records import EmployeeRemovalSummary, ProjectRemovalSummary
from mailsettings_desktop.core.secrets import SecretStore, SecretStoreError
from mailsettings_desktop.core.storage import Database, StorageError

log = logging.getLogger(__name__)


def remove_employee(
    db: Database, secrets: SecretStore, employee_id: int
) -> EmployeeRemovalSummary | None:
    """Remove an employee with everything that is only theirs; None if already gone.

    The rows are deleted inside an open transaction, then each address's keyring entry.
    A keyring failure rolls the rows back and puts back the entries already deleted; a
    failing commit puts them all back, so the database and the keyring never disagree.
    """
    if db.get_employee(employee_id) is None:
        return None
    removed: dict[str, str] = {}
    try:
        with db.session() as s:
            summary = db.employee_removal_summary_in(s, employee_id)
            db.delete_employee_rows(s, employee_id)
            for address in summary.addresses:
                password = secrets.get(address.secret_key)
                secrets.delete(address.secret_key)
                if password is not None:
                    removed[address.secret_key] = password
    except SecretStoreError as exc:
        lost = _put_back(secrets, removed)
        raise SaveError(f"{exc} The employee was not removed.{lost}") from exc
    except StorageError as exc:
        raise SaveError(str(exc)) from exc
    except SQLAlchemyError as exc:
        log.exception("database delete failed for employee %d", employee_id)
        lost = _put_back(secrets, removed)
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). "
            f"The employee was not removed.{lost}"
        ) from exc
    except BaseException:
        _put_back(secrets, removed)
        raise
    log.info(
        "employee removed: id=%d with %d address(es), %d company permission(s)",
        employee_id, len(summary.addresses), len(summary.company_addresses),
    )
    return summary


def remove_project(db: Database, project_id: int) -> ProjectRemovalSummary | None:
    """Unlink a project from every address, then delete it; None if already gone."""
    if db.get_project(project_id) is None:
        return None
    try:
        with db.session() as s:
            summary = db.project_removal_summary_in(s, project_id)
            db.delete_project_rows(s, project_id)
    except StorageError as exc:
        raise SaveError(str(exc)) from exc
    except SQLAlchemyError as exc:
        log.exception("database delete failed for project %d", project_id)
        raise SaveError(
            f"The database could not be written ({type(exc).__name__}). "
            "The project was not removed."
        ) from exc
    log.info(
        "project removed: id=%d, unlinked from %d address(es)",
        project_id, len(summary.addresses),
    )
    return summary


def _put_back(secrets: SecretStore, removed: dict[str, str]) -> str:
    """Restore deleted keyring entries; a sentence for the admin if some could not be."""
    failed = 0
    for key, password in removed.items():
        try:
            secrets.store(key, password)
        except SecretStoreError:
            log.error("could not put back keyring entry %s", key)
            failed += 1
    if failed:
        return (
            f" {failed} password(s) could not be put back into the keyring; "
            "enter them again."
        )
    return ""
