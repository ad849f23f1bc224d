"""CSV import through its dialog: preview with per-row errors, nothing imported on error."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QCheckBox, QLabel, QPushButton, QTableView
from pytestqt.qtbot import QtBot

from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.csv_import_dialog import CsvImportDialog
from tests.gui_helpers import child, click_check

CSV = (
    "name;position;internal_email;projects\n"
    "Olga Petrova;Sales;olga@example.com;Online shop|Trade fair\n"
    ";Nobody;nobody@example.com;\n"
    "Sam Lee;Support;not-an-address;\n"
    "Mia Wong;Marketing;mia@example.com;Online shop\n"
)


def make_dialog(qtbot: QtBot, db: Database, tmp_path: Path) -> CsvImportDialog:
    path = tmp_path / "people.csv"
    path.write_text(CSV, encoding="utf-8-sig")
    dialog = CsvImportDialog(db)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.load(path)
    return dialog


def test_bad_rows_block_the_import_until_skipped(
    qtbot: QtBot, db: Database, tmp_path: Path, qtmodeltester: object
) -> None:
    dialog = make_dialog(qtbot, db, tmp_path)
    table = child(dialog, QTableView, "csvPreviewTable")
    qtmodeltester.check(table.model())  # type: ignore[attr-defined]
    problems = [table.model().index(r, table.model().columnCount() - 1).data()
                for r in range(table.model().rowCount())]
    assert problems[0] == "OK" and problems[3] == "OK"
    assert "name" in problems[1].lower()
    assert "not a valid" in problems[2].lower() or "@" in problems[2]
    summary = child(dialog, QLabel, "csvSummary").text()
    assert "2 employees ready" in summary and "2 rows with problems" in summary
    import_button = child(dialog, QPushButton, "importButton")
    assert not import_button.isEnabled()
    assert db.list_employees() == []

    click_check(qtbot, child(dialog, QCheckBox, "skipBadRowsCheck"))
    assert import_button.isEnabled()
    with qtbot.waitSignal(dialog.imported) as imported:
        qtbot.mouseClick(import_button, Qt.MouseButton.LeftButton)
    assert imported.args is not None and imported.args[0].employees_added == 2
    assert sorted(e.name for e in db.list_employees()) == ["Mia Wong", "Olga Petrova"]
    assert sorted(p.name for p in db.list_projects()) == ["Online shop", "Trade fair"]


def test_unreadable_file_is_explained(qtbot: QtBot, db: Database, tmp_path: Path) -> None:
    path = tmp_path / "wrong.csv"
    path.write_text("colour,size\nred,3\n", encoding="utf-8")
    dialog = CsvImportDialog(db)
    qtbot.addWidget(dialog)
    dialog.load(path)
    error = child(dialog, QLabel, "csvError")
    assert error.text()
    assert not child(dialog, QPushButton, "importButton").isEnabled()
