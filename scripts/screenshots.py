"""Render the README screenshots from the sample company: main window and Add dialog.

Run: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [OUTPUT_DIR]
It uses a temporary database and an in-memory keyring, so it touches nothing of yours.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import keyring
import keyring.backend

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QLineEdit, QTabWidget

from mailsettings_desktop.app import create_main_window
from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft, TestStamp
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.ui.main_window import MainWindow


class DemoKeyring(keyring.backend.KeyringBackend):
    """Keeps passwords in memory for the length of the screenshot run."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self._data: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._data.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self._data[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self._data.pop((service, username), None)


def _add_sample_addresses(window: MainWindow, employee_id: int) -> None:
    """Two saved addresses, so the table in the picture is not empty."""
    db, secrets = window.context.db, window.context.secrets
    projects = db.list_projects()
    tested = TestStamp(True, "The account works.", datetime(2026, 12, 1, 9, 30))
    samples = [
        AddressDraft(employee_id, "bruno.diaz@gmail.com", "smtp.gmail.com", 465, Security.SSL,
                     "bruno.diaz@gmail.com", "Bruno Diaz", "gmail", is_default=True,
                     project_ids=(projects[0].id, projects[1].id)),
        AddressDraft(employee_id, "sales@northwind-trading.example", "mail.northwind.example",
                     587, Security.STARTTLS, "sales@northwind-trading.example",
                     "Northwind Sales", project_ids=(projects[2].id,)),
    ]
    for draft in samples:
        save_new_address(db, secrets, draft, "sample-only", tested)


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(DemoKeyring())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        window = create_main_window(Path(tmp) / "company.sqlite3", demo=True)
        window.show()
        employee = window.context.db.list_employees()[1]
        _add_sample_addresses(window, employee.id)
        window.select_employee(employee.id)
        app.processEvents()
        window.grab().save(str(out / "main-window.png"))
        tabs = window.findChild(QTabWidget, "employeeTabs")
        tabs.setCurrentIndex(1)
        app.processEvents()
        window.grab().save(str(out / "sending.png"))
        tabs.setCurrentIndex(0)
        dialog = window.address_pane.open_add_dialog()
        assert dialog is not None
        # Typed as an admin would: the gmail.com domain selects the Gmail preset.
        dialog.findChild(QLineEdit, "emailEdit").setText("bruno.trade.fairs@gmail.com")
        dialog.findChild(QLineEdit, "senderNameEdit").setText("Bruno Diaz")
        app.processEvents()
        dialog.grab().save(str(out / "add-dialog.png"))
        dialog.reject()
        window.close()
        window.context.db.close()
    print(f"wrote main-window.png, sending.png and add-dialog.png to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
