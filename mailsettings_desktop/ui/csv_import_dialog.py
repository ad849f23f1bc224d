"""File → Import from CSV: preview every row with its problem, then import all or nothing."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from mailsettings_desktop.core.csv_import import (
    CsvImportError,
    ImportPreview,
    ImportSummary,
    apply_import,
    preview_csv,
)
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.style import ERROR_COLOR, field_error_label
from mailsettings_desktop.ui.wording import counted

log = logging.getLogger(__name__)
_Index = QModelIndex | QPersistentModelIndex


class PreviewModel(QAbstractTableModel):
    """The file's rows: line number, each column's value, and the row's problem."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._preview: ImportPreview | None = None

    def set_preview(self, preview: ImportPreview | None) -> None:
        self.beginResetModel()
        self._preview = preview
        self.endResetModel()

    def _headers(self) -> tuple[str, ...]:
        columns = self._preview.columns if self._preview else ()
        return ("Line", *columns, "Problem")

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        if parent.isValid() or self._preview is None:
            return 0
        return len(self._preview.rows)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self._preview is None else len(self._headers())

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._headers()[section].replace("_", " ").capitalize()
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._preview is None:
            return None
        row = self._preview.rows[index.row()]
        headers = self._headers()
        column = headers[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            if index.column() == 0:
                return str(row.line)
            if index.column() == len(headers) - 1:
                return row.error or "OK"
            return row.values.get(column, "")
        if role == Qt.ItemDataRole.ForegroundRole and not row.ok:
            return QColor(ERROR_COLOR)
        if role == Qt.ItemDataRole.ToolTipRole and row.error:
            return row.error
        return None


class CsvImportDialog(QDialog):
    """Choose a CSV file, see what it would import, and import it.

    Signals:
        imported(object): the `ImportSummary` after a successful import.
    """

    imported = Signal(object)

    def __init__(self, db: Database, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("csvImportDialog")
        self.setWindowTitle("Import employees and projects from CSV")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._db = db
        self._preview: ImportPreview | None = None

        intro = QLabel(
            "A CSV file with a header row: <b>name</b>, <b>position</b>, "
            "<b>internal_email</b> and <b>projects</b> (separated by |) for employees, or a "
            "single <b>project</b> column for projects. Comma or semicolon, UTF-8."
        )
        intro.setWordWrap(True)
        self._choose = QPushButton("Choose file…")
        self._choose.setObjectName("chooseCsvButton")
        self._choose.clicked.connect(self._on_choose)
        self._file = QLabel("No file chosen")
        self._file.setObjectName("csvFileLabel")
        self._model = PreviewModel(self)
        table = QTableView()
        table.setObjectName("csvPreviewTable")
        table.setModel(self._model)
        table.verticalHeader().hide()
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        table.horizontalHeader().setStretchLastSection(True)
        # TODO: a long problem runs past the right edge (scroll, or read its tooltip);
        # wrapping it in the last column did not take with Qt's header sizing.
        self._summary = QLabel()
        self._summary.setObjectName("csvSummary")
        self._summary.setWordWrap(True)
        self._skip = QCheckBox("Skip the rows with problems and import the rest")
        self._skip.setObjectName("skipBadRowsCheck")
        self._skip.toggled.connect(self._update_buttons)
        self._skip.hide()
        self._error = field_error_label("csvError")
        self._import = QPushButton("Import")
        self._import.setObjectName("importButton")
        self._import.clicked.connect(self._on_import)
        cancel = QPushButton("Cancel")
        cancel.setObjectName("csvCancelButton")
        cancel.clicked.connect(self.reject)

        file_row = QHBoxLayout()
        file_row.addWidget(self._choose)
        file_row.addWidget(self._file, 1)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(cancel)
        buttons.addWidget(self._import)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(file_row)
        layout.addWidget(table, 1)
        layout.addWidget(self._summary)
        layout.addWidget(self._skip)
        layout.addWidget(self._error)
        layout.addLayout(buttons)
        self.resize(820, 480)
        self._update_buttons()

    def load(self, path: Path) -> None:
        """Read and check the file; nothing is imported yet."""
        self._error.hide()
        self._file.setText(str(path))
        try:
            self._preview = preview_csv(path, self._db)
        except CsvImportError as exc:
            self._preview = None
            self._model.set_preview(None)
            self._summary.setText("")
            self._error.setText(str(exc))
            self._error.show()
            self._update_buttons()
            return
        preview = self._preview
        self._model.set_preview(preview)
        what = "employee" if preview.kind.value == "employees" else "project"
        parts = [f"{counted(len(preview.good_rows), what)} ready to import"]
        if preview.bad_rows:
            parts.append(f"{counted(len(preview.bad_rows), 'row')} with problems (shown in red)")
        if preview.new_projects:
            parts.append(
                f"{counted(len(preview.new_projects), 'new project')} will be created"
            )
        if preview.ignored_columns:
            parts.append("ignored columns: " + ", ".join(preview.ignored_columns))
        self._summary.setText("; ".join(parts) + ".")
        self._skip.setVisible(preview.has_errors)
        self._skip.setChecked(False)
        self._update_buttons()

    def _on_choose(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a CSV file", "", "CSV files (*.csv);;All files (*)"
        )
        if path:
            self.load(Path(path))

    def _update_buttons(self) -> None:
        preview = self._preview
        can_import = (
            preview is not None
            and bool(preview.good_rows)
            and (not preview.has_errors or self._skip.isChecked())
        )
        self._import.setEnabled(can_import)
        self._import.setToolTip(
            "" if can_import else
            "Fix the rows with problems in the file, or tick “Skip the rows with problems”."
        )

    def _on_import(self) -> None:
        if self._preview is None:
            return
        try:
            summary: ImportSummary = apply_import(self._db, self._preview, self._skip.isChecked())
        except CsvImportError as exc:
            self._error.setText(str(exc))
            self._error.show()
            return
        log.info("CSV import: %s", summary)
        self.imported.emit(summary)
        self.accept()
