"""CSV import of employees and projects: preview with per-row errors, then all or nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailsettings_desktop.core.csv_import import (
    CsvImportError,
    ImportKind,
    apply_import,
    preview_csv,
)
from mailsettings_desktop.core.records import EmployeeRecord
from mailsettings_desktop.core.storage import Database
from tests.core_helpers import count, fail_commit_after


def write(tmp_path: Path, content: str, name: str = "people.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + content.encode("utf-8"))
    return path


def people(db: Database) -> list[tuple[str, str, str | None]]:
    return [(e.name, e.position, e.internal_email) for e in db.list_employees(True)]


GOOD = (
    "name,position,internal_email,projects\n"
    "Anna Keller,Sales,anna@example.com,Online shop|Trade fair\n"
    '"Diaz, Bruno",Support,,online SHOP\n'
    "Chloé Martin,,chloe@example.com,\n"
)


def test_a_good_file_is_previewed_and_imported(db: Database, tmp_path: Path) -> None:
    db.add_project("Online shop")
    path = write(tmp_path, GOOD)

    preview = preview_csv(path, db)

    assert preview.kind is ImportKind.EMPLOYEES
    assert preview.delimiter == ","
    assert preview.columns == ("name", "position", "internal_email", "projects")
    assert not preview.has_errors
    assert [row.line for row in preview.rows] == [2, 3, 4]
    assert preview.rows[1].values["name"] == "Diaz, Bruno"
    assert preview.rows[0].project_names == ("Online shop", "Trade fair")
    # "online SHOP" is the existing project; only "Trade fair" is new.
    assert preview.new_projects == ("Trade fair",)

    summary = apply_import(db, preview, skip_bad_rows=False)

    assert (summary.employees_added, summary.projects_added) == (3, 1)
    assert summary.skipped_lines == ()
    assert people(db) == [
        ("Anna Keller", "Sales", "anna@example.com"),
        ("Chloé Martin", "", "chloe@example.com"),
        ("Diaz, Bruno", "Support", None),
    ]
    assert [p.name for p in db.list_projects()] == ["Online shop", "Trade fair"]


def test_semicolons_a_bom_and_any_header_case(db: Database, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Name;POSITION;Internal Email;Projects\r\n"
        "Anna Keller;Vertrieb, Nord;anna@example.com;Shop\r\n"
        "Bruno Diaz;Support;;\r\n",
        bom=True,
    )

    preview = preview_csv(path, db)

    assert preview.delimiter == ";"
    assert not preview.has_errors
    assert preview.rows[0].values == {
        "name": "Anna Keller", "position": "Vertrieb, Nord",
        "internal_email": "anna@example.com", "projects": "Shop",
    }
    apply_import(db, preview, skip_bad_rows=False)
    assert people(db) == [
        ("Anna Keller", "Vertrieb, Nord", "anna@example.com"),
        ("Bruno Diaz", "Support", None),
    ]
    assert [p.name for p in db.list_projects()] == ["Shop"]


BAD = (
    "name,position,internal_email,notes\n"
    "Anna Keller,Sales,anna@example.com,first\n"   # line 2: fine
    ",Sales,nobody@example.com,\n"                  # line 3: no name
    "Bruno Diaz,Support,bruno-at-example.com,\n"    # line 4: bad email
    "\n"                                            # line 5: blank, skipped
    "anna keller,Other,ANNA@example.com,\n"         # line 6: same as line 2
    "Existing Person,,existing@example.com,\n"      # line 7: already in the database
    f"{'x' * 201},,,\n"                             # line 8: name too long
    '"Multi\nline",,,\n'                            # line 9-10: name on two lines
    "Chloé Martin,Sales,chloe@example.com,a,b\n"   # line 11: one value too many
    "Dmitri Volkov,,,\n"                            # line 12: fine
)


def test_bad_rows_are_reported_with_their_line(db: Database, tmp_path: Path) -> None:
    db.add_employee("Existing Person", "", "existing@example.com")
    preview = preview_csv(write(tmp_path, BAD), db)

    errors = {row.line: row.error for row in preview.rows}
    assert preview.ignored_columns == ("notes",)
    assert sorted(errors) == [2, 3, 4, 6, 7, 8, 9, 11, 12]
    assert errors[2] is None
    assert errors[3] == "The name is missing."
    assert errors[4] is not None
    assert errors[4].startswith(
        "Internal email “bruno-at-example.com”: This is not an internal"
    )
    assert errors[6] == "The same employee is already on line 2."
    assert errors[7] == "This employee already exists (same name and internal email)."
    assert errors[8] == "The name is too long (200 characters at most)."
    assert errors[9] == "The name and position must each be on one line."
    assert errors[11] is not None
    assert "1 value(s) more than the header has columns" in errors[11]
    assert errors[12] is None
    assert preview.has_errors
    assert [row.line for row in preview.good_rows] == [2, 12]


def test_nothing_is_imported_while_a_row_has_an_error(db: Database, tmp_path: Path) -> None:
    preview = preview_csv(
        write(tmp_path, "name,internal_email,projects\nAnna,anna@example.com,Shop\n,x@y.z,\n"),
        db,
    )

    with pytest.raises(CsvImportError, match=r"1 row\(s\) have errors \(line 3: The name is m"):
        apply_import(db, preview, skip_bad_rows=False)

    assert db.list_employees(include_inactive=True) == []
    assert db.list_projects() == []


def test_skipping_the_bad_rows_imports_the_rest(db: Database, tmp_path: Path) -> None:
    db.add_employee("Existing Person", "", "existing@example.com")
    preview = preview_csv(write(tmp_path, BAD), db)

    summary = apply_import(db, preview, skip_bad_rows=True)

    assert summary.employees_added == 2
    assert summary.skipped_lines == (3, 4, 6, 7, 8, 9, 11)
    assert people(db) == [
        ("Anna Keller", "Sales", "anna@example.com"),
        ("Dmitri Volkov", "", None),
        ("Existing Person", "", "existing@example.com"),
    ]


def test_the_database_is_checked_again_when_applying(db: Database, tmp_path: Path) -> None:
    preview = preview_csv(write(tmp_path, GOOD))  # previewed without a database
    assert not preview.has_errors
    db.add_employee("Anna Keller", "", "anna@example.com")  # added in the meantime

    with pytest.raises(CsvImportError, match="line 2: This employee already exists"):
        apply_import(db, preview, skip_bad_rows=False)

    assert len(db.list_employees()) == 1
    summary = apply_import(db, preview, skip_bad_rows=True)
    assert (summary.employees_added, summary.skipped_lines) == (2, (2,))


def test_a_projects_only_file(db: Database, tmp_path: Path) -> None:
    db.add_project("Online shop")
    preview = preview_csv(
        write(tmp_path, "Project\nTrade fair\nonline shop\n\nNewsletter\nTRADE FAIR\n ,x\n,\n"),
        db,
    )

    assert preview.kind is ImportKind.PROJECTS
    errors = {row.line: row.error for row in preview.rows}
    assert errors == {
        2: None,
        3: "A project named “Online shop” already exists.",
        5: None,
        6: "The same project is already on line 2.",
        7: "This row has 1 value(s) more than the header has columns; a value probably "
           "contains the delimiter without quotes. The project name is missing.",
    }
    assert preview.new_projects == ("Trade fair", "Newsletter")

    summary = apply_import(db, preview, skip_bad_rows=True)

    assert (summary.employees_added, summary.projects_added) == (0, 2)
    assert [p.name for p in db.list_projects()] == ["Newsletter", "Online shop", "Trade fair"]


def test_a_too_long_project_name_is_an_error(db: Database, tmp_path: Path) -> None:
    preview = preview_csv(write(tmp_path, f"name,projects\nAnna,Shop|{'p' * 201}\n"), db)

    assert preview.rows[0].error is not None
    assert "is too long (200 characters at most)" in preview.rows[0].error


def test_everything_goes_in_one_transaction(db: Database, tmp_path: Path) -> None:
    preview = preview_csv(write(tmp_path, GOOD), db)
    fail_commit_after(db, "INSERT", "employees")

    with pytest.raises(CsvImportError, match=r"\(IntegrityError\)\. Nothing was imported\."):
        apply_import(db, preview, skip_bad_rows=False)

    assert count(db, "SELECT count(*) FROM employees") == 0
    assert count(db, "SELECT count(*) FROM projects") == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty"),
        (b"\n \n", "The file is empty"),
        (b";;\n", "no header row"),
        (b"first,last\nAnna,Keller\n", "Found: first, last"),
        (b"name,Name\nAnna,Anna\n", "“name” appears twice"),
        ("name\nJosé\n".encode("latin-1"), "not UTF-8"),
        (b"name\n\x00\n", "NUL bytes"),
        (b'name,position\n"Anna,Sales\n', "Check its quotes"),
    ],
    ids=["empty", "blank", "no-columns", "unknown-columns", "twice", "latin-1", "nul",
         "quote"],
)
def test_unusable_files_are_refused_as_a_whole(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)

    with pytest.raises(CsvImportError, match=message):
        preview_csv(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CsvImportError, match="could not be read"):
        preview_csv(tmp_path / "nowhere.csv")


def test_an_existing_employee_without_internal_email_matches_by_name(
    db: Database, tmp_path: Path
) -> None:
    existing: EmployeeRecord = db.add_employee("Anna Keller")
    preview = preview_csv(write(tmp_path, "name,internal_email\nANNA KELLER,\nAnna Keller,"
                                          "anna@example.com\n"), db)

    assert [row.error is None for row in preview.rows] == [False, True]
    apply_import(db, preview, skip_bad_rows=True)
    assert existing in db.list_employees()
    assert len(db.list_employees()) == 2
