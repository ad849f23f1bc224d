"""The employee list at company size: the index, its word filter, and the Qt models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from mailsettings_desktop.app import create_main_window
from mailsettings_desktop.core.employee_index import EmployeeIndex, EmployeeRow, narrows
from mailsettings_desktop.core.list_queries import load_employee_index, load_projects
from mailsettings_desktop.core.storage import Database
from mailsettings_desktop.ui.address_model import AddressTableModel
from mailsettings_desktop.ui.employee_model import EMPLOYEE_ID_ROLE, EmployeeListModel
from mailsettings_desktop.ui.main_window import MainWindow
from tests.gui_helpers import child, type_into
from tests.memory_keyring import MemoryKeyring

ROWS = [
    EmployeeRow(1, "Anna Keller", "Managing Director", "anna@example.com"),
    EmployeeRow(2, "Bruno Diaz", "Head of Sales", None),
    EmployeeRow(3, "Chloé Martin", "Sales — Key Accounts", None),
    EmployeeRow(4, "Dmitri Volkov", "Sales — Eastern Europe", None),
    EmployeeRow(5, "Hanna Schmidt", "Accounting", None),
]


def names(index: EmployeeIndex) -> list[str]:
    return [index.rows[p].name for p in index.search.positions]


def brute_force(text: str) -> list[str]:
    words = text.casefold().split()
    return [
        r.name for r in ROWS
        if all(w in f"{r.name}\n{r.position}".casefold() for w in words)
    ]


def test_typing_narrows_and_deleting_widens_like_a_full_search() -> None:
    index = EmployeeIndex(ROWS)
    # Each step goes through the narrowing path or the full path; both must agree with
    # searching every employee afresh.
    for text in ("a", "an", "ann", "ann ", "ann k", "an", "", "SALES", "sales eu", "chloé",
                 "CHLOÉ", "sales", "na", "nna", "zz", ""):
        index.search.set_filter(text)
        assert names(index) == brute_force(text), text


def test_narrows_only_when_every_old_word_is_inside_a_new_one() -> None:
    assert narrows(("anna",), ("ann",))
    assert narrows(("anna", "k"), ("anna",))
    assert narrows(("sales", "anna"), ("ann", "sal"))
    assert not narrows(("an",), ("ann",))
    assert not narrows((), ("ann",))
    assert narrows(("x",), ())


def test_filtered_row_maps_positions_back() -> None:
    index = EmployeeIndex(ROWS)
    index.search.set_filter("sales")
    assert [index.search.filtered_row(index.position_of(i) or 0) for i in (2, 3, 4, 5)] == [
        0, 1, 2, None,
    ]
    assert index.position_of(99) is None


def test_employee_model_passes_qtmodeltester(qtmodeltester: ModelTester) -> None:
    model = EmployeeListModel()
    model.set_index(EmployeeIndex(ROWS))
    qtmodeltester.check(model)
    model.set_filter_text("sales")
    qtmodeltester.check(model)
    assert [model.index(r, 0).data() for r in range(model.rowCount())] == [
        "Bruno Diaz", "Chloé Martin", "Dmitri Volkov",
    ]
    assert model.index(1, 0).data(EMPLOYEE_ID_ROLE) == 3
    assert model.row_of(4) == 2
    assert model.row_of(1) is None
    assert model.is_listed(1)
    assert model.employee_at(0).name == "Bruno Diaz"
    model.set_filter_text("")
    qtmodeltester.check(model)
    assert model.rowCount() == len(ROWS) == model.total


def test_employee_model_fetches_in_batches(qtmodeltester: ModelTester) -> None:
    from PySide6.QtCore import QModelIndex

    from mailsettings_desktop.ui.employee_model import FETCH_BATCH

    rows = [EmployeeRow(i, f"Employee {i:05d}", "Sales" if i % 2 else "Support", None)
            for i in range(1, 2 * FETCH_BATCH + 11)]
    # Each model is filtered before the tester sees it: both of Qt's testers call
    # fetchMore from their modelReset slot before they mark the reset finished, and then
    # report the insertion as nested in it (a tester quirk, not a model fault).
    model = EmployeeListModel()
    model.set_index(EmployeeIndex(rows))
    assert (model.rowCount(), model.matching) == (FETCH_BATCH, len(rows))
    qtmodeltester.check(model)  # fetches everything through fetchMore
    assert model.rowCount() == len(rows)
    assert not model.canFetchMore(QModelIndex())

    sales = EmployeeListModel()
    sales.set_index(EmployeeIndex(rows))
    sales.set_filter_text("sales")
    assert (sales.rowCount(), sales.matching) == (FETCH_BATCH, FETCH_BATCH + 5)
    last = rows[-2]  # an odd id, so in Sales, beyond the first batch
    assert sales.row_of(last.id) == FETCH_BATCH + 4
    assert sales.rowCount() == FETCH_BATCH + 5
    assert sales.index(FETCH_BATCH + 4, 0).data() == last.name
    qtmodeltester.check(sales)


def test_address_model_passes_qtmodeltester(qtmodeltester: ModelTester) -> None:
    qtmodeltester.check(AddressTableModel())


def test_core_reads_list_active_employees_and_projects(db: Database) -> None:
    anna = db.add_employee("Anna Keller", "Director")
    gone = db.add_employee("Zoe Left", "Sales")
    db.add_employee("Bruno Diaz", "")
    db.set_employee_active(gone.id, False)
    db.add_project("Trade fair")
    db.add_project("Newsletter")
    index = load_employee_index(db.engine)
    assert [row.name for row in index.rows] == ["Anna Keller", "Bruno Diaz"]
    assert index.rows[0].record() == db.get_employee(anna.id)
    assert [p.name for p in load_projects(db.engine)] == ["Newsletter", "Trade fair"]


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path, memory_keyring: MemoryKeyring) -> Iterator[MainWindow]:
    main = create_main_window(tmp_path / "company.sqlite3", demo=True)
    qtbot.addWidget(main)
    main.show()
    yield main
    main.close()
    main.context.db.close()


def test_filter_keeps_the_selected_employee_selected(
    qtbot: QtBot, window: MainWindow
) -> None:
    from PySide6.QtWidgets import QLineEdit, QListView

    employees = child(window, QListView, "employeeList")
    bruno = next(e for e in window.context.db.list_employees() if e.name == "Bruno Diaz")
    assert window.select_employee(bruno.id)
    type_into(qtbot, child(window, QLineEdit, "employeeFilter"), "sales")
    assert employees.currentIndex().data() == "Bruno Diaz"
    assert window.address_pane.employee is not None
    assert window.address_pane.employee.id == bruno.id
    type_into(qtbot, child(window, QLineEdit, "employeeFilter"), "anna")
    # A filter that leaves one employee makes that one current, as before.
    assert employees.model().rowCount() == 1
    assert employees.currentIndex().data() == "Anna Keller"
    assert window.address_pane.employee is not None
    assert window.address_pane.employee.name == "Anna Keller"
