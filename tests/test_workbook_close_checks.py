"""A close workbook with problems in its tables is also checked as the close checks it (every
problem at once) — and that pass invents none: a cost the tables refused is not costed as zero
against a disposal value, and names the ledger's closes were recorded with are accepted as the
close accepts them."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pytest

import costing._journal as journal
from costing.cli import main
from costing.close_service import MonthBeforeUnknown, close_period, read_month_before, reopen_period
from costing.ledger import Ledger
from costing.workbook import read_close_workbook
from costing.workbook._cli import init_workbook
from tests.demo_data import demo
from tests.test_workbook_all_problems import change, demo_book  # noqa: F401  (a fixture)

# ---- a refused cost holds back the checks that compare its product's cost ---------------------------

# Espresso Classic's Assembly (Production row 4) starts 305 and spoils 5, all abnormal, sold for 100
# each: within the stage's cost, so the month closes.
SPOILED_IN_ASSEMBLY = {"Production!C4": 305, "Production!H4": 5, "Production!I4": 0, "Production!M4": 100}
ASSEMBLY_MATERIALS = "Costs!D4"  # Espresso Classic's Assembly materials, 36,000


def closed(book: Path, period: str, capsys, *ledger: str) -> tuple[int, list[tuple[str, str]]]:
    """``wip close BOOK`` (its ledger beside it unless given): the exit status and (code, cell) of each problem."""
    capsys.readouterr()
    code = main(["close", str(book), "--period", period, *ledger])
    err = capsys.readouterr().err
    return code, [(m[2], m[1]) for m in re.finditer(r"^error: \S+: (\S+): .*\[(\w+)\]$", err, re.M)]


def first_months_problems(book: Path) -> list[tuple[str, str]]:
    data, issues = read_close_workbook(book, prior_for=lambda period: None)
    assert data is None
    return [(issue.code, issue.path) for issue in issues]


# Disposal values of Testing's spoiled units (Production!M5) within their cost, each unit receiving
# Assembly's cost — 150 less than they would receive without Assembly's materials, 210 without its
# opening WIP materials.
TESTINGS_DISPOSAL = "Production!M5"


@pytest.mark.parametrize("cells", [SPOILED_IN_ASSEMBLY, {TESTINGS_DISPOSAL: 150}, {TESTINGS_DISPOSAL: 210}])
def test_the_spoilage_closes_when_every_cost_is_read(demo_book, tmp_path, capsys, cells):
    change(demo_book, cells)
    assert closed(demo_book, "2026-10", capsys, "--ledger", str(tmp_path / "l.db")) == (0, [])


def test_a_refused_cost_is_not_costed_as_zero_against_the_stages_disposal_value(demo_book):
    # Without the materials, Assembly's 5 spoiled units would cost 338.60, less than their 500.00.
    change(demo_book, {**SPOILED_IN_ASSEMBLY, ASSEMBLY_MATERIALS: "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", ASSEMBLY_MATERIALS)]


def test_a_refused_cost_holds_back_the_comparisons_of_the_stages_it_is_transferred_to(demo_book):
    change(demo_book, {TESTINGS_DISPOSAL: 150, ASSEMBLY_MATERIALS: "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", ASSEMBLY_MATERIALS)]


@pytest.mark.parametrize("cell, value, code", [
    ("Production!M8", 100000, "DISPOSAL_EXCEEDS_COST"),  # Barista Pro's Testing: far above its spoiled units' cost
    ("Shipments!B5", 10000, "SHIPMENTS_EXCEED_STOCK")])  # Barista Pro ships more than it has
def test_another_products_problems_still_come_through(demo_book, cell, value, code):
    change(demo_book, {**SPOILED_IN_ASSEMBLY, ASSEMBLY_MATERIALS: "abc", cell: value})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", ASSEMBLY_MATERIALS), (code, cell)]


def test_a_cost_of_a_misspelt_stage_holds_back_the_products_cost_comparisons(demo_book):
    # The materials meant for Assembly are typed against "Assembli": left out of the product's cost.
    change(demo_book, {**SPOILED_IN_ASSEMBLY, "Costs!B4": "Assembli"})
    assert first_months_problems(demo_book) == [("UNKNOWN_PRODUCT_STAGE", "Costs!B4")]


def test_a_refused_opening_wip_cost_holds_back_the_comparisons_it_is_transferred_to(demo_book):
    # Espresso Classic's Assembly opening WIP materials (Opening!J4) complete into Testing this month.
    change(demo_book, {TESTINGS_DISPOSAL: 210, "Opening!J4": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "Opening!J4")]


# ---- names the ledger's closes were recorded with ------------------------------------------------------

SHY, ZWSP = "\u00ad", "\u200b"  # soft hyphen, zero-width space: refused in new input since a4ccf9d
COMPANY = f"Brew{SHY}Works Ltd"
WIP_ACCOUNT_NAME = f"WIP - Assem{SHY}bly"
PRODUCT = f"Espresso{ZWSP} Classic"


def spelt_as_recorded(data: dict, product: bool = False) -> dict:
    """The demo's close with the company and Assembly's WIP account (and, if ``product``, Espresso
    Classic) named as a ledger recorded before hiding characters were refused may hold them."""
    data = {**data, "company": COMPANY}
    data["accounts"] = {**data["accounts"], "wip": {**data["accounts"]["wip"]}}
    data["accounts"]["wip"]["Assembly"] = {**data["accounts"]["wip"]["Assembly"], "name": WIP_ACCOUNT_NAME}
    if product:
        data["products"] = [{**p, "name": PRODUCT} if p["name"] == "Espresso Classic" else p for p in data["products"]]
    return data


def november_book(tmp_path: Path, product: bool = False) -> Path:
    """A November workbook with the recorded names, its ledger beside it holding October closed with
    them under the rule of the time (no character refused for hiding)."""
    book = tmp_path / "november.xlsx"
    with pytest.MonkeyPatch.context() as patch, Ledger(book.with_suffix(".wip.db")) as ledger:
        patch.setattr(journal, "HIDING_CHARACTERS", re.compile("(?!)"))  # matches nothing
        close_period(spelt_as_recorded(demo("2026-10"), product), ledger, user="test")
    init_workbook(book, spelt_as_recorded(demo("2026-11"), product))
    return book


def test_read_month_before_gives_the_close_before_and_the_names_it_was_recorded_with(tmp_path):
    book = november_book(tmp_path)
    prior, vouched = read_month_before(book.with_suffix(".wip.db"), "2026-11")
    assert prior.period == "2026-10"
    assert {COMPANY, WIP_ACCOUNT_NAME} <= vouched
    assert read_month_before(tmp_path / "none.db", "2026-11") == (None, frozenset())
    assert not (tmp_path / "none.db").exists()


def test_a_workbook_with_the_recorded_names_closes(tmp_path, capsys):
    book = november_book(tmp_path)
    assert closed(book, "2026-11", capsys) == (0, [])


def test_a_workbook_with_the_recorded_names_and_a_problem_reports_only_the_problems(tmp_path, capsys):
    book = november_book(tmp_path)
    change(book, {ASSEMBLY_MATERIALS: "abc", "Shipments!B5": 10000})
    assert closed(book, "2026-11", capsys) == (2, [("NOT_A_NUMBER", ASSEMBLY_MATERIALS),
                                                   ("SHIPMENTS_EXCEED_STOCK", "Shipments!B5")])


def test_a_workbook_with_a_recorded_product_name_closes(tmp_path, capsys):
    book = november_book(tmp_path, product=True)
    assert closed(book, "2026-11", capsys) == (0, [])


def test_the_closes_own_problems_are_located_in_a_workbook_with_a_recorded_product_name(tmp_path, capsys):
    # Barista Pro, the product after the recorded name, completes one unit more in Assembly than it had.
    book = november_book(tmp_path, product=True)
    wb = openpyxl.load_workbook(book)
    row = next(row for row in wb["Production"].iter_rows(min_row=4)
               if (row[0].value, row[1].value) == ("Barista Pro", "Assembly"))
    change(book, {f"Production!{row[4].coordinate}": row[4].value + 1})  # Completed
    code, problems = closed(book, "2026-11", capsys)
    assert code == 2 and ("UNIT_FLOW", f"Production!B{row[0].row}") in problems, problems


def test_a_hiding_name_the_ledger_does_not_hold_is_still_refused_at_its_cell(tmp_path, capsys):
    book = november_book(tmp_path, product=True)
    wb = openpyxl.load_workbook(book)
    cells = [f"Production!{row[0].coordinate}" for row in wb["Production"].iter_rows(min_row=4)
             if row[0].value == "Barista Pro"]
    change(book, {cell: f"Barista{ZWSP} Pro" for cell in cells})
    code, problems = closed(book, "2026-11", capsys)
    assert code == 2 and problems == [("INVALID_NAME", cell) for cell in cells]


def test_the_close_month_button_accepts_the_recorded_names_beside_a_problem(tmp_path):
    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    book = november_book(tmp_path, product=True)
    change(book, {ASSEMBLY_MATERIALS: "abc"})
    result = close_month(FakeBook(book))
    assert not result.ok
    said = re.findall(r"^(\S+): .*\[(\w+)\]$", result.message, re.M)
    assert said == [(ASSEMBLY_MATERIALS, "NOT_A_NUMBER")], result.message


# ---- when the ledger cannot open the month, it still vouches for its names -----------------------------

def reopened_october(book: Path) -> tuple[Path, str]:
    """October, which November opens from, reopened (a late invoice) and not closed again: the
    November workbook, and its period."""
    with Ledger(book.with_suffix(".wip.db"), create=False) as ledger:
        reopen_period(ledger, "2026-10", "late invoice", user="test")
    return book, "2026-11"


def stale_november(book: Path) -> tuple[Path, str]:
    """November closed from October, then October reopened and closed again with other figures: a
    December workbook (November's figures, named as the ledger recorded them) opens from a November
    that rests on a replaced close.  The December workbook, and its period."""
    with Ledger(book.with_suffix(".wip.db"), create=False) as ledger:
        close_period(spelt_as_recorded(demo("2026-11"), product=True), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="test")
        october = spelt_as_recorded(demo("2026-10"), product=True)
        assembly = october["products"][0]["stages"][0]  # Espresso Classic's Assembly: 100 more materials
        assembly["added_costs"] = {**assembly["added_costs"], "materials": assembly["added_costs"]["materials"] + 100}
        close_period(october, ledger, user="test")
    december = book.with_name("december.xlsx")
    init_workbook(december, {**spelt_as_recorded(demo("2026-11"), product=True), "period": "2026-12"})
    return december, "2026-12"


def test_read_month_before_vouches_for_the_recorded_names_of_a_month_it_cannot_open(tmp_path):
    book = november_book(tmp_path, product=True)
    ledger = book.with_suffix(".wip.db")
    with pytest.raises(MonthBeforeUnknown) as refused:  # October closed and locked: its own close's names
        read_month_before(ledger, "2026-10")
    assert refused.value.code == "PERIOD_LOCKED" and {COMPANY, WIP_ACCOUNT_NAME, PRODUCT} <= refused.value.vouched
    reopened_october(book)
    with pytest.raises(MonthBeforeUnknown) as refused:  # the reopened close November will open from again
        read_month_before(ledger, "2026-11")
    assert refused.value.code == "PRIOR_PERIOD_OPEN" and {COMPANY, WIP_ACCOUNT_NAME, PRODUCT} <= refused.value.vouched


def test_running_the_close_again_on_the_locked_month_writes_the_sheets_from_the_recorded_close(
        tmp_path, capsys, monkeypatch):
    import costing.workbook as workbook_api

    book = november_book(tmp_path, product=True)
    real = workbook_api.write_close_results
    monkeypatch.setattr(workbook_api, "write_close_results", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError("the file is open in another program")))
    assert closed(book, "2026-11", capsys) == (1, [])  # recorded; the sheets not written
    assert "Journal" not in openpyxl.load_workbook(book).sheetnames
    monkeypatch.setattr(workbook_api, "write_close_results", real)
    capsys.readouterr()
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    captured = capsys.readouterr()
    assert "already closed from these inputs (close #1" in captured.out, captured.err
    with Ledger(book.with_suffix(".wip.db"), create=False) as ledger:
        assert [(e.period, e.kind) for e in ledger.events()] == [("2026-10", "close"), ("2026-11", "close")]
        recorded = ledger.current_close("2026-11").journals
    journal_sheet = openpyxl.load_workbook(book, data_only=True)["Journal"]
    assert journal_sheet["A5"].value == recorded.journals[0].id
    assert closed(book, "2026-11", capsys) == (0, [])  # and again, once the sheets are there


@pytest.mark.parametrize("month_before, code", [(reopened_october, "PRIOR_PERIOD_OPEN"),
                                                (stale_november, "PRIOR_PERIOD_STALE")])
def test_a_month_whose_month_before_must_be_closed_again_says_so_not_its_recorded_names(
        tmp_path, capsys, month_before, code):
    book, period = month_before(november_book(tmp_path, product=True))
    capsys.readouterr()
    assert main(["close", str(book), "--period", period, "--ledger", str(tmp_path / "november.wip.db")]) == 2
    err = capsys.readouterr().err
    assert f"[{code}]" in err and "INVALID_NAME" not in err, err


def test_pressing_close_month_again_on_the_locked_month_reaches_the_recorded_close(tmp_path):
    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    path = november_book(tmp_path, product=True)
    book = FakeBook(path)
    first = close_month(book)
    # The button writes into a copy of the book, read again there with the names the close accepted.
    assert first.ok, first.message
    assert "Journal" in book.wb.sheetnames
    # Pressed again: the tables accept the names November was recorded with, so the button goes on
    # to the recorded close, whose sheets it writes, instead of refusing the month at Production!A4.
    again = close_month(book)
    assert again.ok and "Nothing was closed" not in again.message and "close #1" in again.message, again.message
    with Ledger(path.with_suffix(".wip.db"), create=False) as ledger:
        assert [(e.period, e.kind) for e in ledger.events()] == [("2026-10", "close"), ("2026-11", "close")]


def test_close_month_with_the_month_before_reopened_says_so_not_its_recorded_names(tmp_path):
    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    path = november_book(tmp_path, product=True)
    reopened_october(path)
    result = close_month(FakeBook(path))
    assert not result.ok
    assert "[PRIOR_PERIOD_OPEN]" in result.message and "INVALID_NAME" not in result.message, result.message
