"""A ledger recorded before look-alike names were folded together may hold two products whose names
differ only in an invisible character, each with its own WIP and finished goods: a close file keeps
them apart when both are products of the close before (``_kept_apart``), and so does a close
workbook — its tables key those two by their exact names.  A new look-alike is still one product
written two ways."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from costing.close_service import read_month_before
from costing.ledger import Ledger
from costing.workbook import read_close_workbook
from costing.workbook._cli import init_workbook
from tests.demo_data import demo
from tests.test_names_recorded import recorded_before_invisible_characters_were_folded, \
    with_a_twin_of_espresso_classic
from tests.test_workbook_all_problems import change
from tests.test_workbook_close_checks import closed

TWIN = "Espresso Classic\u200d"  # with a zero-width joiner: a product of its own in the ledger


def november_book(tmp_path: Path) -> Path:
    """A November workbook with Espresso Classic and its twin, its ledger beside it holding October
    closed with both as two products, under the rules of the time."""
    book = tmp_path / "november.xlsx"
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        recorded_before_invisible_characters_were_folded(with_a_twin_of_espresso_classic(demo("2026-10"), TWIN),
                                                         ledger)
    init_workbook(book, with_a_twin_of_espresso_classic(demo("2026-11"), TWIN))
    return book


def twin_cells(book: Path, sheet: str) -> list[str]:
    wb = openpyxl.load_workbook(book)
    return [f"{sheet}!{row[0].coordinate}" for row in wb[sheet].iter_rows(min_row=4) if row[0].value == TWIN]


def test_the_look_alikes_the_ledger_holds_close_onwards_from_a_workbook(tmp_path, capsys):
    book = november_book(tmp_path)
    assert closed(book, "2026-11", capsys) == (0, [])
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        carried = {product for (product, _), wip in ledger.current_close("2026-11").state.wip.items() if wip.units}
    assert {"Espresso Classic", TWIN} <= carried


def test_the_look_alikes_beside_a_problem_report_only_the_problem(tmp_path):
    book = november_book(tmp_path)
    amount = twin_cells(book, "Costs")[0].replace("!A", "!D")  # the twin's first cost's Amount
    change(book, {amount: "abc"})
    data, issues = read_close_workbook(book, month_before=lambda period: read_month_before(
        book.with_suffix(".wip.db"), period))
    assert data is None and [(issue.code, issue.path) for issue in issues] == [("NOT_A_NUMBER", amount)]


def test_a_new_look_alike_is_still_one_product_written_two_ways(tmp_path, capsys):
    book = november_book(tmp_path)
    respelled = twin_cells(book, "Production")
    change(book, {cell: "ESPRESSO  Classic" for cell in respelled})  # not a product of October
    code, problems = closed(book, "2026-11", capsys)
    assert code == 2 and problems == [("INCONSISTENT_NAME", cell) for cell in respelled], problems


def test_look_alikes_no_ledger_holds_are_one_product_written_twice(tmp_path):
    book = tmp_path / "first.xlsx"
    init_workbook(book, with_a_twin_of_espresso_classic(demo("2026-10"), TWIN))
    data, issues = read_close_workbook(book, prior_for=lambda period: None)
    assert data is None and {issue.code for issue in issues} == {"DUPLICATE_ROW"}
    assert [issue.path for issue in issues if issue.path.startswith("Production!")] == twin_cells(book, "Production")
