"""What a problem in a close workbook's tables holds back of the close's own checks is only what
may follow from it: a Costs row naming an unknown product or stage holds back the cost comparisons
of the product (and stage) it most likely meant, not every product's."""

from __future__ import annotations

import pytest

from costing.cli import main

from tests.test_workbook_all_problems import change, demo_book  # noqa: F401  (a fixture)
from tests.test_workbook_close_checks import first_months_problems

# Espresso Classic's Assembly (Production row 4) spoils 5 units, all abnormal, sold for far more
# than their cost: DISPOSAL_EXCEEDS_COST at its Disposal value.
ESPRESSO_OVERVALUED = {"Production!C4": 305, "Production!H4": 5, "Production!I4": 0, "Production!M4": 100000}
DRIP_HOME_MATERIALS = "Costs!A14"  # Drip Home's Assembly materials row (Product, Stage, Element, Amount)


def test_a_refused_cost_of_another_product_leaves_the_disposal_problem_said(demo_book):
    change(demo_book, {**ESPRESSO_OVERVALUED, "Costs!D14": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "Costs!D14"),
                                                ("DISPOSAL_EXCEEDS_COST", "Production!M4")]


def test_a_misspelt_product_holds_back_only_the_product_it_is_close_to(demo_book):
    change(demo_book, {**ESPRESSO_OVERVALUED, DRIP_HOME_MATERIALS: "Drip Hom"})
    assert first_months_problems(demo_book) == [("UNKNOWN_PRODUCT", DRIP_HOME_MATERIALS),
                                                ("DISPOSAL_EXCEEDS_COST", "Production!M4")]


def test_a_product_like_no_other_holds_back_no_products_comparisons(demo_book):
    change(demo_book, {**ESPRESSO_OVERVALUED, DRIP_HOME_MATERIALS: "Cold Brew"})
    assert first_months_problems(demo_book) == [("UNKNOWN_PRODUCT", DRIP_HOME_MATERIALS),
                                                ("DISPOSAL_EXCEEDS_COST", "Production!M4")]


def test_a_misspelt_product_close_to_the_one_with_the_problem_holds_it_back(demo_book):
    # Espresso Classic's own materials, typed against a misspelling: its cost is short, so its
    # disposal value above that cost may follow from it.
    change(demo_book, {**ESPRESSO_OVERVALUED, "Production!M4": 100, "Costs!A4": "Espreso Classic"})
    assert first_months_problems(demo_book) == [("UNKNOWN_PRODUCT", "Costs!A4")]


@pytest.mark.parametrize("stage, held", [
    ("Packagin", False),  # meant Packaging: Assembly's cost is whole, its problem is said
    ("Assembli", True),  # meant Assembly: its cost may be short
    ("Painting", True)])  # like none of its stages: may be meant for the first
def test_a_misspelt_stage_holds_back_the_product_from_the_stage_it_is_close_to(demo_book, stage, held):
    change(demo_book, {**ESPRESSO_OVERVALUED, "Costs!B7": stage})  # Espresso Classic's Packaging packaging
    expected = [("UNKNOWN_PRODUCT_STAGE", "Costs!B7")] + ([] if held else [("DISPOSAL_EXCEEDS_COST", "Production!M4")])
    assert first_months_problems(demo_book) == expected


def test_a_misspelt_stage_holds_back_only_its_own_product(demo_book):
    change(demo_book, {**ESPRESSO_OVERVALUED, "Costs!B14": "Assembli"})  # Drip Home's Assembly materials
    assert first_months_problems(demo_book) == [("UNKNOWN_PRODUCT_STAGE", "Costs!B14"),
                                                ("DISPOSAL_EXCEEDS_COST", "Production!M4")]


def test_a_misspelt_product_is_told_the_product_it_is_close_to(demo_book):
    from costing.workbook import read_close_workbook

    change(demo_book, {DRIP_HOME_MATERIALS: "Drip Hom", "Costs!A4": "Cold Brew"})
    _, issues = read_close_workbook(demo_book, prior_for=lambda period: None)
    said = {issue.path: issue.message for issue in issues if issue.code == "UNKNOWN_PRODUCT"}
    assert "(did you mean 'Drip Home'?)" in said[DRIP_HOME_MATERIALS]
    assert "did you mean" not in said["Costs!A4"]


# ---- a conversion element without a conversion costs account, in the workbook's terms --------------

def test_a_conversion_element_without_its_account_is_said_in_the_workbooks_terms(demo_book, capsys, tmp_path):
    change(demo_book, {"'Stages & elements'!G7": "conversion"})  # Testing's labour, kind conversion
    ledger = tmp_path / "l.db"
    capsys.readouterr()
    assert main(["close", str(demo_book), "--period", "2026-10", "--ledger", str(ledger)]) == 2
    [said] = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert said.endswith("[MISSING_KEY]") and ": Accounts!A3:D15: " in said  # where the row is added
    testing_rows = [f"Production!B{row}" for row in (5, 8, 11)]  # each product's Testing row
    assert "stage Testing" in said and "'Stages & elements'!F7" in said  # the element's Elements row
    assert all(ref in said for ref in testing_rows), said
    assert "Role conversion_costs" in said
    assert "products[" not in said and "accounts.conversion_costs" not in said  # no close-file terms
    assert not ledger.exists()  # nothing written


def test_a_refused_cost_of_a_misspelt_product_holds_back_the_product_it_is_close_to(demo_book):
    # Espresso Classic's Assembly materials, misspelt and unreadable: its cost is short all the same.
    change(demo_book, {**ESPRESSO_OVERVALUED, "Production!M4": 100, "Costs!A4": "Espreso Classic", "Costs!D4": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "Costs!D4")]


def test_a_refused_production_cell_does_not_hide_a_refused_company(demo_book):
    """The company's own check sees no product: a row left out cannot explain it (the cells that
    could not be read are said first, then the close's checks)."""
    change(demo_book, {"Settings!B4": "Coffee\nMachines", "Production!C4": "abc"})
    assert first_months_problems(demo_book) == [("NOT_A_NUMBER", "Production!C4"), ("INVALID_NAME", "Settings!B4")]
