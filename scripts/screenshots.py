"""Render the README screenshots from the sample company: main window and Add dialog.

Run: QT_QPA_PLATFORM=offscreen python scripts/screenshots.py [OUTPUT_DIR]
It uses a temporary database and an in-memory keyring, so it touches nothing of yours.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import keyring
import keyring.backend

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from mailsettings_desktop.app import create_main_window  # noqa: E402


class _ScratchKeyring(keyring.backend.KeyringBackend):
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


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "docs")
    out.mkdir(parents=True, exist_ok=True)
    keyring.set_keyring(_ScratchKeyring())
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        window = create_main_window(Path(tmp) / "demo.sqlite3", demo=True)
        window.show()
        employees = window.context.db.list_employees()
        window.select_employee(employees[1].id)
        app.processEvents()
        window.grab().save(str(out / "main-window.png"))
        dialog = window.address_pane.open_add_dialog()
        assert dialog is not None
        dialog._email.setText("olga.petrova@gmail.com")  # noqa: SLF001 - a scripted demo
        dialog._sender_name.setText("Olga Petrova")  # noqa: SLF001
        app.processEvents()
        dialog.grab().save(str(out / "add-dialog.png"))
        dialog.reject()
        window.close()
        window.context.db.close()
    print(f"wrote {out / 'main-window.png'} and {out / 'add-dialog.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
