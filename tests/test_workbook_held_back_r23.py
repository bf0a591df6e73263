"""Review (collected errors, 2026-11-25): in a close workbook a refused cell of the Overhead Rates or
GeneralLedger table, a refused Production or Shipments row, or a misspelt product or stage in the
Drivers, Counts, Shipments or Opening tables held back every other check the close makes — the
close-file form of the same input reported them all.  Each now holds back only what may follow
from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from costing.close_service import close_period
from costing.ledger import Ledger
from costing.workbook._cli import init_workbook
from tests.demo_data import demo
from tests.test_workbook_all_problems import change, demo_book  # noqa: F401  (a fixture)
from tests.test_workbook_close_checks import closed, first_months_problems

# Drip Home's Assembly completes 1 of its 200 (Production row 10): its flow and Testing's after it.
DRIP_HOME_FLOW = {"Production!E10": 1}
DRIP_HOME_FLOW_PROBLEMS = [("UNIT_FLOW", "Production!B10"), ("UNIT_FLOW", "Production!B11")]


@pytest.mark.parametrize("cell, value, code", [
    ("'Overhead Rates'!D5", -3, "NEGATIVE_AMOUNT"),  # a pool's actual overhead
    ("'Overhead Rates'!C6", "x", "NOT_A_NUMBER"),  # a pool's rate
    ("'Overhead Rates'!B6", "bogus", "INVALID_CHOICE"),  # a pool's driver
    ("Accounts!G5", "abc", "NOT_A_NUMBER")])  # a general-ledger balance
def test_a_refused_pool_or_balance_hides_no_products_flow(demo_book, cell, value, code):
    change(demo_book, {**DRIP_HOME_FLOW, cell: value})
    assert first_months_problems(demo_book) == [(code, cell)] + DRIP_HOME_FLOW_PROBLEMS


@pytest.mark.parametrize("cell, value, code", [
    ("Counts!A4", "Espreso Classic", "UNKNOWN_PRODUCT"),
    ("Counts!B4", "Testng", "UNKNOWN_PRODUCT_STAGE"),  # Espresso Classic's: Drip Home's flow is said
    ("Shipments!A4", "Espreso Classic", "UNKNOWN_PRODUCT"),
    ("Opening!L5", "Barista Pr", "UNKNOWN_PRODUCT")])  # an opening finished-goods layer
def test_a_misspelt_product_or_stage_holds_back_only_the_one_meant(demo_book, cell, value, code):
    change(demo_book, {**DRIP_HOME_FLOW, cell: value})
    assert first_months_problems(demo_book) == [(code, cell)] + DRIP_HOME_FLOW_PROBLEMS


def test_a_misspelt_shipments_product_still_holds_back_the_product_meant(demo_book):
    """Drip Home's shipments left out (typed for 'Drip Hom'): its flow problems may follow from
    nothing the row says, but its stock check would — Espresso Classic's flow is said."""
    change(demo_book, {"Production!E4": 1, "Shipments!A6": "Drip Hom"})
    problems = first_months_problems(demo_book)
    assert problems[0] == ("UNKNOWN_PRODUCT", "Shipments!A6")
    assert ("UNIT_FLOW", "Production!B4") in problems


@pytest.fixture
def november_book(tmp_path) -> Path:
    book = tmp_path / "november.xlsx"
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    init_workbook(book, demo("2026-11"))
    return book


@pytest.mark.parametrize("refused", [{"Production!F8": -1}, {"Shipments!B4": -1}])
def test_a_later_months_tie_to_the_general_ledger_is_said_beside_a_refused_product_row(november_book, capsys,
                                                                                     refused):
    """The month opens from the ledger: no product row left out can move the tie."""
    change(november_book, {**refused, "Accounts!G5": 1})
    code, problems = closed(november_book, "2026-11", capsys)
    assert code == 2
    assert problems == [("NEGATIVE_UNITS", next(iter(refused))), ("GL_DOES_NOT_TIE", "Accounts!G5")]


def test_an_account_changed_is_said_beside_a_refused_product_row(november_book, capsys):
    change(november_book, {"Shipments!B6": -1, "Accounts!C14": 1399})
    code, problems = closed(november_book, "2026-11", capsys)
    assert (code, [c for c, _ in problems]) == (2, ["NEGATIVE_UNITS", "ACCOUNT_CHANGED"])


@pytest.mark.parametrize("cell, value, code", [
    ("Costs!I4", -1, "NEGATIVE_UNITS"),  # Espresso Classic's Assembly driver quantity
    ("Counts!C4", "abc", "NOT_A_NUMBER")])  # Espresso Classic's Assembly count
def test_a_refused_driver_quantity_or_count_hides_not_its_stages_flow(demo_book, cell, value, code):
    """As in a close file: a driver quantity left out is its stage's quantity missing (said once,
    at the cell), a count left out nothing; the stage's unit flow is still checked."""
    change(demo_book, {"Production!E4": 1, cell: value})
    problems = first_months_problems(demo_book)
    assert problems[0] == (code, cell)
    assert ("UNIT_FLOW", "Production!B4") in problems and ("FIFO_BEGINNING_NOT_COMPLETED", "Production!E4") in problems
    assert "MISSING_DRIVER_QUANTITY" not in {c for c, _ in problems}


def test_a_refused_overhead_rate_holds_back_only_overhead_controls_tie(demo_book):
    """Review: it held back every account's tie (a WIP account 1,000 off the general ledger went
    unsaid), where the close file says both."""
    change(demo_book, {"Accounts!G4": 11560, "'Overhead Rates'!C5": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "'Overhead Rates'!C5"),
                                                ("GL_DOES_NOT_TIE", "Accounts!G4")]


def test_a_later_months_refused_opening_row_holds_back_nothing_the_ledgers_opening_decides(demo_book, tmp_path,
                                                                                          capsys):
    """In a later month the opening is the ledger's: an Opening row refused held back every tie to
    the general ledger and its stage's unit flow (review)."""
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    change(demo_book, {"Settings!B5": "2026-11", "Opening!C4": "abc", "Production!E4": 1})
    code, problems = closed(demo_book, "2026-11", capsys, "--ledger", str(db))
    assert code == 2 and problems[0] == ("NOT_A_NUMBER", "Opening!C4")
    assert {cell for c, cell in problems if c == "GL_DOES_NOT_TIE"} == {"Accounts!G4", "Accounts!G5", "Accounts!G6",
                                                                        "Accounts!G7"}
    assert ("UNIT_FLOW", "Production!B4") in problems


# --- Review (the workbook's holds as an accountant, 2026-11-25) ------------------------------------

def test_a_misspelt_overhead_rates_stage_holds_back_only_its_pool(demo_book):
    """'Assembli' for Assembly on the Overhead Rates sheet held back every check of the close."""
    change(demo_book, {**DRIP_HOME_FLOW, "'Overhead Rates'!A4": "Assembli", "Accounts!G5": 3171})
    assert first_months_problems(demo_book) == [("UNKNOWN_STAGE", "'Overhead Rates'!A4"),
                                                ("GL_DOES_NOT_TIE", "Accounts!G5")] + DRIP_HOME_FLOW_PROBLEMS


def test_a_refused_actual_overhead_still_applies_the_pools_rate(demo_book):
    """Only the actual refused: applied overhead is rate × driver, so what compares a stage's cost
    with its disposal value is still said (the close file says it too)."""
    change(demo_book, {"'Overhead Rates'!D4": -3, "Production!M8": 100000})
    problems = first_months_problems(demo_book)
    assert problems[0] == ("NEGATIVE_AMOUNT", "'Overhead Rates'!D4")
    assert ("DISPOSAL_EXCEEDS_COST", "Production!M8") in problems


def test_a_refused_product_row_hides_no_overhead_amounts_own_problem(demo_book):
    change(demo_book, {"'Overhead Rates'!D6": "2000.005", "Shipments!B4": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "Shipments!B4"),
                                                ("AMOUNT_PRECISION", "'Overhead Rates'!D6")]


def test_a_general_ledger_code_given_twice_holds_back_only_its_own_tie(demo_book):
    change(demo_book, {**DRIP_HOME_FLOW, "Accounts!F8": "1320"})
    assert first_months_problems(demo_book) == [("DUPLICATE_ROW", "Accounts!F8")] + DRIP_HOME_FLOW_PROBLEMS


def test_a_product_missing_is_said_beside_another_products_refused_row(tmp_path, capsys):
    """November without Drip Home's rows (the ledger carries its WIP and stock), and Espresso's
    shipments refused: Drip Home missing cannot follow from Espresso's shipments (review)."""
    book = tmp_path / "november.xlsx"
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    november = demo("2026-11")
    november["products"] = [p for p in november["products"] if p["name"] != "Drip Home"]
    init_workbook(book, november)
    change(book, {"Shipments!B4": "abc"})
    code, problems = closed(book, "2026-11", capsys, "--ledger", str(db))
    assert code == 2 and problems[0] == ("NOT_A_NUMBER", "Shipments!B4")
    assert [c for c, _ in problems[1:]] == ["PRODUCT_MISSING", "PRODUCT_MISSING"]


def test_a_misspelt_product_in_production_is_one_problem_at_its_cell(demo_book):
    """Review: 'Espreso Classic' typed in Espresso Classic's Assembly row became a product of its own:
    ten problems (every Costs, Counts, Drivers and Opening row of Espresso's Assembly "has no row",
    its flow short of the opening it lost), none at the cell that is wrong."""
    change(demo_book, {"Production!A4": "Espreso Classic"})
    assert first_months_problems(demo_book) == [("INCONSISTENT_NAME", "Production!A4")]


def test_products_named_alike_with_the_same_stages_are_two_products(tmp_path):
    """Like Line 1 and Line 2 (each with every stage): not one product misspelt."""
    from costing.workbook import read_close_workbook

    october = demo("2026-10")
    next(p for p in october["products"] if p["name"] == "Barista Pro")["name"] = "Drip Homes"
    book = tmp_path / "october.xlsx"
    init_workbook(book, october)
    data, issues = read_close_workbook(book, prior_for=lambda period: None)
    assert issues == [] and {"Drip Home", "Drip Homes"} <= {p["name"] for p in data["products"]}


@pytest.mark.parametrize("cell, value, code", [("Shipments!A4", "Cold Brew", "UNKNOWN_PRODUCT"),
                                               ("Shipments!B4", "abc", "NOT_A_NUMBER")])
def test_a_shipments_row_left_out_holds_back_nothing(demo_book, cell, value, code):
    """Shipments left out are none, which nothing but their stock check reads: a row naming a
    product like none held back every product's flow, a refused one the first month's tie (review)."""
    change(demo_book, {**DRIP_HOME_FLOW, cell: value, "Accounts!G5": 3171})
    assert first_months_problems(demo_book) == [(code, cell), ("GL_DOES_NOT_TIE", "Accounts!G5")] \
        + DRIP_HOME_FLOW_PROBLEMS


def test_a_missing_product_named_with_an_apostrophe_is_still_said(tmp_path, capsys):
    """Review: the message names the product as Python writes it — in double quotes when the name
    holds a ' (Barista's Pro) — and the workbook then held the product missing back."""
    october, november = demo("2026-10"), demo("2026-11")
    for data in (october, november):
        next(p for p in data["products"] if p["name"] == "Barista Pro")["name"] = "Barista's Pro"
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        close_period(october, ledger, user="test")
    november["products"] = [p for p in november["products"] if p["name"] != "Barista's Pro"]
    book = tmp_path / "november.xlsx"
    init_workbook(book, november)
    change(book, {"Production!F7": -1})  # Drip Home's row left out: its own product's checks held back
    code, problems = closed(book, "2026-11", capsys, "--ledger", str(db))
    assert code == 2 and problems[0] == ("NEGATIVE_UNITS", "Production!F7")
    assert [c for c, _ in problems].count("PRODUCT_MISSING") == 4
