"""Managing projects: removal says which addresses lose the project, and unlinks it."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListView, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.address_book import save_new_address
from mailsettings_desktop.core.records import AddressDraft
from mailsettings_desktop.core.secrets import SecretStore
from mailsettings_desktop.core.security import Security
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.projects_dialog import ProjectsDialog
from tests.gui_helpers import child, click_row


def test_remove_project_names_the_addresses_and_unlinks(
    qtbot: QtBot, db: Database, secrets: SecretStore
) -> None:
    employee = db.add_employee("Ana Lima")
    shop = db.add_project("Online shop")
    db.add_project("Trade fair")
    draft = AddressDraft(employee.id, "ana@example.test", "127.0.0.1", 465, Security.SSL,
                         "ana@example.test", project_ids=(shop.id,))
    record = save_new_address(db, secrets, draft, "pw-1234")
    dialog = ProjectsDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    click_row(qtbot, child(dialog, QListView, "projectsList"), "Online shop")
    qtbot.mouseClick(child(dialog, QPushButton, "removeProjectButton"),
                     Qt.MouseButton.LeftButton)
    box = child(dialog, QMessageBox, "removeProjectConfirmation")
    assert "ana@example.test" in box.informativeText()
    with qtbot.waitSignal(dialog.projects_changed):
        qtbot.mouseClick(next(b for b in box.buttons() if b.text() == "Remove"),
                         Qt.MouseButton.LeftButton)
    assert [p.name for p in db.list_projects()] == ["Trade fair"]
    stored = db.get_address(record.id)
    assert stored is not None and stored.projects == ()
