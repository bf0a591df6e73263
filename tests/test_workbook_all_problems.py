"""A close workbook reports every problem at once, each at the cell to correct: a cell that cannot
be read leaves out only what depends on it, and what follows from it is not reported again."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

from costing.cli import main
from costing.ledger import Ledger
from costing.workbook import read_close_workbook

# The four problems the close finds in the demo workbook, each at its cell, besides one cell the
# tables cannot read (Costs!D4, Espresso Classic's Assembly materials).
CLOSE_PROBLEMS = {
    "Costs!D7": 2900.004,  # Barista Pro's Assembly materials, to a tenth of a cent
    "Production!E4": 311,  # Espresso Classic's Assembly completes one unit more than it had
    "Shipments!B5": 10000,  # Barista Pro ships more than it has
}
CLOSE_FINDS = {("AMOUNT_PRECISION", "Costs!D7"), ("UNIT_FLOW", "Production!B4"), ("UNIT_FLOW", "Production!B5"),
               ("SHIPMENTS_EXCEED_STOCK", "Shipments!B5")}


@pytest.fixture
def demo_book(tmp_path, capsys) -> Path:
    path = tmp_path / "demo.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    capsys.readouterr()
    return path


def change(book: Path, cells: dict[str, object]) -> None:
    wb = openpyxl.load_workbook(book)
    for ref, value in cells.items():
        sheet, coordinate = ref.rsplit("!", 1)
        wb[sheet.strip("'")][coordinate] = value
    wb.save(book)


def first_months_problems(book: Path) -> set[tuple[str, str]]:
    """(code, cell) of every problem, the workbook checked as the ledger's first month."""
    data, issues = read_close_workbook(book, prior_for=lambda period: None)
    assert data is None  # nothing to close while any problem is left
    found = [(issue.code, issue.path) for issue in issues]
    assert len(found) == len(set(found)), found  # each problem once
    return set(found)


def table_problems(book: Path) -> list[tuple[str, str]]:
    return [(issue.code, issue.path) for issue in read_close_workbook(book)[1]]


def closed(book: Path, ledger: Path, capsys) -> tuple[int, list[tuple[str, str]]]:
    code = main(["close", str(book), "--period", "2026-10", "--ledger", str(ledger)])
    err = capsys.readouterr().err
    return code, [(m[2], m[1]) for m in re.finditer(r"^error: \S+: (\S+): .*\[(\w+)\]$", err, re.M)]


# ---- item 1: one unreadable cell does not hide the others ------------------------------------------

def test_an_unreadable_cost_leaves_every_other_problem_reported(demo_book):
    change(demo_book, {"Costs!D4": "abc", **CLOSE_PROBLEMS})
    assert first_months_problems(demo_book) == {("NOT_A_NUMBER", "Costs!D4")} | CLOSE_FINDS


def test_the_close_checks_the_workbook_against_the_ledgers_month_before(demo_book, tmp_path):
    change(demo_book, {"Costs!D4": "abc", **CLOSE_PROBLEMS})
    before = demo_book.read_bytes()
    ledger_path = tmp_path / "l.db"
    with Ledger(ledger_path) as ledger:  # the ledger's first month: no close before it
        data, issues = read_close_workbook(demo_book, prior_for=lambda period: ledger.prior_for(period)[0])
        assert ledger.events() == []
    assert data is None
    assert {(i.code, i.path) for i in issues} == {("NOT_A_NUMBER", "Costs!D4")} | CLOSE_FINDS
    assert demo_book.read_bytes() == before


def test_without_the_month_before_only_the_tables_problems_are_reported(demo_book):
    # The close's checks depend on the month before (its closing WIP opens this month).
    change(demo_book, {"Costs!D4": "abc", **CLOSE_PROBLEMS})
    assert table_problems(demo_book) == [("NOT_A_NUMBER", "Costs!D4")]


def test_an_unreadable_production_cell_holds_back_only_its_products_checks(demo_book):
    # Espresso Classic's Assembly row is left out: its flow into Testing is not checked; Barista
    # Pro's shipments are.
    change(demo_book, {"Production!E4": "abc", "Shipments!B5": 10000})
    assert first_months_problems(demo_book) == {("NOT_A_NUMBER", "Production!E4"),
                                                ("SHIPMENTS_EXCEED_STOCK", "Shipments!B5")}


def test_an_unreadable_driver_quantity_holds_back_only_its_product_stage(demo_book):
    change(demo_book, {"Costs!I4": "x", "Production!E7": 126})  # Espresso Classic's Assembly; Barista Pro's flow
    assert first_months_problems(demo_book) == {("NOT_A_NUMBER", "Costs!I4"), ("UNIT_FLOW", "Production!B7"),
                                                ("UNIT_FLOW", "Production!B8")}


def test_a_problem_every_product_depends_on_holds_back_the_closes_checks(demo_book):
    change(demo_book, {"Settings!B6": "usd", "Production!E7": 126})
    assert first_months_problems(demo_book) == {("UNKNOWN_CURRENCY", "Settings!B6")}


# ---- item 2: a Stages row with a bad cell is one problem ------------------------------------------

@pytest.mark.parametrize("order", [None, "two", "#DIV/0!"])
def test_a_stage_whose_order_cannot_be_read_is_still_a_known_stage(demo_book, order):
    change(demo_book, {"'Stages & elements'!A5": order})  # Testing's order
    problems = table_problems(demo_book)
    assert [where for _, where in problems] == ["'Stages & elements'!A5"]


def test_a_stage_whose_name_cannot_be_read_makes_no_other_stage_unknown(demo_book):
    change(demo_book, {"'Stages & elements'!B4": "#N/A"})  # Assembly's name
    assert table_problems(demo_book) == [("FORMULA_ERROR", "'Stages & elements'!B4")]


def test_a_stage_missing_from_the_table_is_still_reported(demo_book):
    change(demo_book, {"Production!B5": "Testin"})
    assert table_problems(demo_book) == [("UNKNOWN_STAGE", "Production!B5")]


# ---- item 3: error values in Settings ---------------------------------------------------------------

@pytest.mark.parametrize("cell, error", [("Settings!B7", "#NULL!"), ("Settings!A12", "#N/A")])
def test_an_error_value_in_the_settings_is_a_formula_error(demo_book, cell, error):
    change(demo_book, {cell: error})
    assert table_problems(demo_book) == [("FORMULA_ERROR", cell)]


# ---- item 4: a wrong element is located to the Element cell ---------------------------------------

@pytest.mark.parametrize("element, code", [("overhead", "OVERHEAD_TYPED_IN"), ("transferred_in", "UNKNOWN_ELEMENT"),
                                           ("Materials", "UNKNOWN_ELEMENT")])
def test_a_wrong_element_in_the_costs_table_is_located_to_its_element_cell(demo_book, tmp_path, capsys, element,
                                                                             code):
    change(demo_book, {"Costs!C4": element})
    before = demo_book.read_bytes()
    assert closed(demo_book, tmp_path / "l.db", capsys) == (2, [(code, "Costs!C4")])
    assert demo_book.read_bytes() == before and not (tmp_path / "l.db").exists()


def test_a_wrong_element_of_an_opening_cost_is_located_to_its_element_cell(demo_book, tmp_path, capsys):
    wb = openpyxl.load_workbook(demo_book)
    opening_cost_rows = wb["Opening"].iter_rows(min_row=4, min_col=7, max_col=10)  # table OpeningWIPCost, G:J
    element_cell = next(f"Opening!{row[2].coordinate}" for row in opening_cost_rows if row[2].value == "materials")
    change(demo_book, {element_cell: "Materials"})
    code, problems = closed(demo_book, tmp_path / "l.db", capsys)
    assert code == 2 and ("UNKNOWN_ELEMENT", element_cell) in problems


# ---- item 5: a product name on two lines ------------------------------------------------------------

def test_a_product_name_with_a_line_break_is_an_invalid_name_at_its_cell(demo_book):
    change(demo_book, {"Production!A10": "Drip\nHome"})  # Drip Home's first row; A11 and A12 are written well
    assert table_problems(demo_book) == [("INVALID_NAME", "Production!A10")]


def test_a_later_months_workbook_is_checked_against_the_close_before_it(tmp_path):
    from costing.workbook._cli import init_workbook
    from costing.workbook._template import fill_tables, tables_from_close_data
    from tests.demo_data import demo

    book = init_workbook(tmp_path / "demo.xlsx", demo("2026-10"))
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    fill_tables(wb, tables_from_close_data(demo("2026-11")))  # November opens from October's close
    wb.save(book)
    change(book, {"Costs!D4": "abc", "Shipments!B5": 10000})
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        data, issues = read_close_workbook(book, prior_for=lambda period: ledger.prior_for(period)[0])
        assert [event.period for event in ledger.events()] == ["2026-10"]
    assert data is None
    assert [(i.code, i.path) for i in issues] == [("NOT_A_NUMBER", "Costs!D4"), ("SHIPMENTS_EXCEED_STOCK",
                                                                                  "Shipments!B5")]


def test_wip_close_of_a_workbook_reports_every_problem_and_writes_nothing(demo_book, tmp_path, capsys):
    # Through the command, with the ledger beside the book (its first month: no ledger yet).
    change(demo_book, {"Costs!D4": "abc", **CLOSE_PROBLEMS})
    before = demo_book.read_bytes()
    code = main(["close", str(demo_book), "--period", "2026-10"])
    err = capsys.readouterr().err
    found = {(m[2], m[1]) for m in re.finditer(r"^error: \S+: (\S+): .*\[(\w+)\]$", err, re.M)}
    assert code == 2
    assert found == {("NOT_A_NUMBER", "Costs!D4")} | CLOSE_FINDS, err
    assert demo_book.read_bytes() == before
    ledger = demo_book.with_suffix(".wip.db")
    assert not ledger.exists() or not ledger.stat().st_size


def test_the_close_month_button_reports_every_problem_and_writes_nothing(demo_book):
    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    change(demo_book, {"Costs!D4": "abc", **CLOSE_PROBLEMS})
    book = FakeBook(demo_book)
    result = close_month(book)
    assert not result.ok
    for code, cell in {("NOT_A_NUMBER", "Costs!D4")} | CLOSE_FINDS:
        assert re.search(rf"{re.escape(cell)}: .*\[{code}\]", result.message), (code, cell, result.message)
    assert book.writes == 0
    assert not demo_book.with_suffix(".wip.db").exists()


# ---- a refused OpeningWIP row is said once ------------------------------------------------------------

# Espresso Classic's Assembly row of the OpeningWIP table (Opening!A4:D4); three OpeningWIPCost rows
# (Opening!G4:J6) give its cost.
@pytest.mark.parametrize("cell, value, code", [("Opening!B4", "x", "UNKNOWN_PRODUCT_STAGE"),
                                               ("Opening!A4", "Espreso Classic", "UNKNOWN_PRODUCT"),
                                               ("Opening!C4", "forty", "NOT_A_NUMBER")])
def test_an_opening_wip_row_that_cannot_be_placed_is_said_once_not_at_each_of_its_costs(demo_book, cell, value, code):
    change(demo_book, {cell: value})
    assert table_problems(demo_book) == [(code, cell)]
    assert first_months_problems(demo_book) == {(code, cell)}


def test_opening_cost_of_a_stage_without_opening_units_is_still_said(demo_book):
    # Barista Pro's Assembly row removed (the table's last: its cells cleared): its costs (Opening!G10:G12)
    # have no units; Espresso Classic's Assembly row, refused, is another product's, not the one meant.
    change(demo_book, {"Opening!A6": None, "Opening!B6": None, "Opening!C6": None, "Opening!D6": None,
                       "Opening!C4": "forty"})
    assert set(table_problems(demo_book)) == {("NOT_A_NUMBER", "Opening!C4"), ("MISSING_OPENING_UNITS", "Opening!G10"),
                                              ("MISSING_OPENING_UNITS", "Opening!G11"),
                                              ("MISSING_OPENING_UNITS", "Opening!G12")}


# ---- no overhead rate for a stage: once, at the Overhead Rates table, in the workbook's terms ---------

WITHOUT_PACKAGINGS_RATE = {"'Overhead Rates'!A6": None, "'Overhead Rates'!B6": None, "'Overhead Rates'!C6": None,
                           "'Overhead Rates'!D6": None,
                           "Accounts!G8": 29800}  # overhead control: the actual overhead left, so that it ties


def test_a_stage_without_an_overhead_rate_is_said_once_where_its_row_is_added(demo_book, tmp_path, capsys):
    change(demo_book, WITHOUT_PACKAGINGS_RATE)
    assert main(["close", str(demo_book), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 2
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if line.endswith("[MISSING_OVERHEAD_RATE]")]
    assert len(said) == 1, err
    assert said[0].startswith(f"error: {demo_book}: 'Overhead Rates'!A3:D6: no overhead rate for stage 'Packaging' "
                              "('Stages & elements'!B6): its elements include overhead ('Stages & elements'!F11) for "
                              "Espresso Classic, Barista Pro and Drip Home"), said
    assert "Add a row to the Overhead Rates table: Stage Packaging, Driver, Rate and Actual" in said[0]
    assert "overhead.Packaging" not in err and "{driver, rate, actual}" not in err


def test_a_stage_without_an_overhead_rate_is_said_once_beside_the_tables_problems(demo_book):
    change(demo_book, {**WITHOUT_PACKAGINGS_RATE, "Costs!D4": "abc"})
    data, issues = read_close_workbook(demo_book, prior_for=lambda period: None)
    assert data is None
    assert [(i.code, i.path) for i in issues] == [("NOT_A_NUMBER", "Costs!D4"),
                                                  ("MISSING_OVERHEAD_RATE", "'Overhead Rates'!A3:D6")]


def test_a_production_row_spelt_with_an_invisible_character_is_named_so(demo_book):
    # Production!A7 is Barista Pro's first row (A8, A9 its others): a zero-width joiner after its name.
    change(demo_book, {"Production!A7": "Barista Pro\u200d"})
    problems = [(i.code, i.path, i.message) for i in read_close_workbook(demo_book)[1]]
    said = ("product 'Barista Pro' differs from 'Barista Pro\\u200d' (Production!A7) only in invisible characters "
            "(U+200D ZERO WIDTH JOINER); write it the same way in every row")
    assert problems == [("INCONSISTENT_NAME", "Production!A8", said), ("INCONSISTENT_NAME", "Production!A9", said)]
