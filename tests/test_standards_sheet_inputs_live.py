"""The Standards sheet's overhead by stage: each stage's figures (AH, SH, incurred, applied, standard,
the standard variable and fixed rates, the fixed budget, the actual split, variable at AH and at
SH) are in one cell each, on the stage's total row, which its other rows and the products'
overhead lines refer to.  An accountant who edits a rate or the incurred overhead sees every
variance that depends on it move, and the checks still hold (with a copy of the rate on each row,
an edited copy moved one variance and the check said DIFFERENCE).

The demo's November, Assembly (labour hours): AH 1,335, SH 1,305.8, incurred 24,400.00, variable
rate 7.50, fixed rate 10.50, budget 13,650.00; Espresso Classic's overhead line 2 hours per EU,
639.8 standard and 660 actual hours."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from costing.cli import main
from tests.libreoffice import recalculate, soffice, with_cell_changed, without_cached_values

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = ROOT / "examples" / "demo" / "standards.yaml"
STAGE_FIGURES = "CDEFGLMNOPQR"  # AH, SH, incurred, applied, standard, rates, budget, actual split, variable at AH/SH


def _standards_book(ledger: Path, book: Path) -> Path:
    assert main(["standards", "--period", "2026-11", "--standards", str(STANDARDS), "--xlsx", str(book),
                 "--json", "--ledger", str(ledger)]) == 0
    return book


def _overhead_table(ws) -> int:
    """The row of the overhead-by-stage table's header."""
    title = next(r for r in range(1, ws.max_row + 1)
                 if str(ws.cell(r, 1).value or "").startswith("Overhead by stage: incurred against standard"))
    return title + 1


def _stage_rows(ws, stage: str) -> dict[str, int]:
    """The stage's rows of the overhead-by-stage table, by the name in column H."""
    header = _overhead_table(ws)
    rows = {}
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, 1).value is None:
            break
        if ws.cell(r, 1).value == stage:
            rows[ws.cell(r, 8).value] = r
    return rows


def _element_row(ws, product: str, stage: str, element: str) -> int:
    return next(r for r in range(5, ws.max_row + 1)
                if (ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value) == (product, stage, element))


def test_each_stage_figure_is_in_one_cell_and_every_other_row_refers_to_it(demo_ledger, tmp_path):
    book = _standards_book(demo_ledger, tmp_path / "standards.xlsx")
    ws = openpyxl.load_workbook(book)["Standards"]
    shown = openpyxl.load_workbook(book, data_only=True)["Standards"]
    header = _overhead_table(ws)
    assert [ws[f"{c}{header}"].value for c in "LMN"] == ["Std variable rate", "Std fixed rate", "Fixed budget"]
    for stage, rates in {"Assembly": (7.5, 10.5, 13650), "Testing": (9, 15, 4800)}.items():
        rows = _stage_rows(ws, stage)
        inputs = rows["total"]
        assert len(rows) == (9 if stage == "Assembly" else 10)
        # Each rate and the budget appear as a value in exactly one cell of the stage's rows.
        for letter, rate in zip("LMN", rates):
            values = [r for r in rows.values() if ws[f"{letter}{r}"].data_type == "n"]
            assert values == [inputs], (stage, letter)
            assert ws[f"{letter}{inputs}"].value == rate
        # Every other row of the stage shows its figures by reference to that row, so the
        # variance formulas beside them read the one input.
        for name, r in rows.items():
            for letter in STAGE_FIGURES:
                if ws[f"{letter}{inputs}"].value is None:  # three-way: no actual split
                    assert ws[f"{letter}{r}"].value is None
                elif r != inputs:
                    assert ws[f"{letter}{r}"].value == f"=${letter}${inputs}", (stage, name, letter)
                    assert shown[f"{letter}{r}"].value == shown[f"{letter}{inputs}"].value, (stage, name, letter)
        # Variable at AH and at SH are formulas of the input row's driver quantities and rate.
        assert ws[f"Q{inputs}"].value == f"=ROUND(C{inputs}*L{inputs},2)"
        assert ws[f"R{inputs}"].value == f"=ROUND(D{inputs}*L{inputs},2)"
        # The products' overhead lines take their standard price and variable efficiency from it.
        for product in ("Espresso Classic", "Barista Pro", "Drip Home"):
            e = _element_row(ws, product, stage, "overhead")
            assert ws[f"M{e}"].value == f"=$L${inputs}+$M${inputs}"
            assert shown[f"M{e}"].value == rates[0] + rates[1]
            assert ws[f"F{e}"].value == f"=W{e}*M{e}"
            assert ws[f"Q{e}"].value == f"=ROUND(ROUND((L{e}-K{e})*$L${inputs},8),2)"
    # The stage's incurred overhead is the one in the table of overhead applied against incurred.
    assembly = _stage_rows(ws, "Assembly")["total"]
    incurred = re.fullmatch(r"=C(\d+)", ws[f"E{assembly}"].value)
    assert incurred and ws[f"A{incurred[1]}"].value == "Assembly" and ws[f"C{incurred[1]}"].value == 24400
    # Shown as before: Espresso Classic's overhead 2 hours × 18.00 = 36.00 per EU, variable
    # efficiency (660 − 639.8) × 7.50 = 151.50.
    e = _element_row(ws, "Espresso Classic", "Assembly", "overhead")
    assert (shown[f"F{e}"].value, shown[f"W{e}"].value, shown[f"Q{e}"].value) == (36, 2, 151.5)
    # A cost-per-EU standard has no quantity: its cost per EU stays the value it was given.
    labour = _element_row(ws, "Espresso Classic", "Testing", "labour")
    assert (ws[f"F{labour}"].value, ws[f"W{labour}"].value) == (15, None)


@pytest.fixture(scope="module")
def edited(demo_ledger, tmp_path_factory) -> dict:
    """The demo's Standards sheet with Assembly's figures edited by hand, recalculated by LibreOffice:
    ``rate``, its variable rate 7.50 → 8.00; ``fixed``, its fixed rate 10.50 → 11.00 and its
    incurred overhead 24,400.00 → 24,500.00."""
    soffice()
    tmp = tmp_path_factory.mktemp("standards-inputs")
    book = _standards_book(demo_ledger, tmp / "standards.xlsx")
    ws = openpyxl.load_workbook(book)["Standards"]
    inputs = _stage_rows(ws, "Assembly")["total"]
    incurred = ws[f"E{inputs}"].value
    incurred = incurred.lstrip("=") if isinstance(incurred, str) else f"E{inputs}"
    (tmp / "in").mkdir()
    with_cell_changed(book, tmp / "rate.xlsx", "Standards", f"L{inputs}", Decimal(8))
    with_cell_changed(book, tmp / "step.xlsx", "Standards", f"M{inputs}", Decimal(11))
    with_cell_changed(tmp / "step.xlsx", tmp / "fixed.xlsx", "Standards", incurred, Decimal(24500))
    overhead = _element_row(ws, "Espresso Classic", "Assembly", "overhead")
    with_cell_changed(book, tmp / "quantity.xlsx", "Standards", f"W{overhead}", Decimal("2.5"))
    names = ("rate", "fixed", "quantity")
    for name in names:
        assert without_cached_values(tmp / f"{name}.xlsx", tmp / "in" / f"{name}.xlsx") > 100
    recalculate([tmp / "in" / f"{name}.xlsx" for name in names], tmp / "out", tmp / "profile")
    return {"before": openpyxl.load_workbook(book, data_only=True)["Standards"],
            **{name: openpyxl.load_workbook(tmp / "out" / f"{name}.xlsx", data_only=True)["Standards"]
               for name in names}}


def _amounts(ws) -> dict[str, float]:
    return {name: round(ws[f"I{r}"].value, 2) for name, r in _stage_rows(ws, "Assembly").items()}


def _checks(ws) -> list[str]:
    rows = _stage_rows(ws, "Assembly")
    return [ws[f"K{rows['total']}"].value, ws[f"K{rows['not by product: actual_less_applied']}"].value]


def test_an_edited_variable_rate_moves_every_variance_that_depends_on_it(edited):
    before, after = edited["before"], edited["rate"]
    assert _amounts(before) == {"spending": 737.5, "efficiency": 219, "production_volume": -60.9,
                                "controllable": 956.5, "total": 895.6, "products: rate": 0,
                                "products: variable_efficiency": 219, "products: fixed_volume_efficiency": 306.6,
                                "not by product: actual_less_applied": 370}
    # At 8.00: variable at AH 10,680.00, at SH 10,446.40; the standard SH × 18.50 = 24,157.30.
    # Production volume is budget − SH × fixed rate: the variable rate leaves it where it was.
    assert _amounts(after) == {"spending": 70, "efficiency": 233.6, "production_volume": -60.9,
                               "controllable": 303.6, "total": 242.7, "products: rate": -667.5,
                               "products: variable_efficiency": 233.6, "products: fixed_volume_efficiency": 306.6,
                               "not by product: actual_less_applied": 370}
    assert _checks(before) == _checks(after) == ["OK", "OK"]
    rows = _stage_rows(after, "Assembly")
    assert {after[f"L{r}"].value for r in rows.values()} == {8}
    assert {(after[f"Q{r}"].value, round(after[f"R{r}"].value, 2)) for r in rows.values()} == {(10680, 10446.4)}
    # Espresso Classic's overhead line: 2 hours × 18.50 = 37.00 per EU, its standard 319.9 × 37.00,
    # its variable efficiency 20.2 hours × 8.00.
    e = _element_row(after, "Espresso Classic", "Assembly", "overhead")
    assert (after[f"M{e}"].value, after[f"F{e}"].value) == (18.5, 37)
    assert after[f"G{e}"].value == pytest.approx(11836.3) and after[f"Q{e}"].value == pytest.approx(161.6)
    assert after[f"U{e}"].value == "OK"
    total = next(r for r in range(5, after.max_row + 1) if after.cell(r, 1).value == "Total")
    assert after[f"G{total}"].value == pytest.approx(before[f"G{total}"].value + 652.9)


def test_an_edited_fixed_rate_and_incurred_overhead_move_their_variances(edited):
    after = edited["fixed"]
    # Fixed rate 11.00: production volume 13,650.00 − 1,305.8 × 11.00 = 713.80 F; incurred 100.00
    # higher: spending and controllable 100.00 more; the total 24,500.00 − 1,305.8 × 18.50.
    assert _amounts(after) == {"spending": 837.5, "efficiency": 219, "production_volume": -713.8,
                               "controllable": 1056.5, "total": 342.7, "products: rate": -667.5,
                               "products: variable_efficiency": 219, "products: fixed_volume_efficiency": 321.2,
                               "not by product: actual_less_applied": 470}
    assert _checks(after) == ["OK", "OK"]
    rows = _stage_rows(after, "Assembly")
    assert {after[f"E{r}"].value for r in rows.values()} == {24500}
    e = _element_row(after, "Espresso Classic", "Assembly", "overhead")
    # Its fixed volume efficiency: 660 × 18.50 − 11,836.30 − 151.50 = 20.2 hours × 11.00.
    assert after[f"S{e}"].value == pytest.approx(222.2) and after[f"U{e}"].value == "OK"


def test_an_edited_quantity_per_eu_moves_the_standard_hours_and_the_efficiency(edited):
    """Espresso Classic's overhead 2 → 2.5 hours per EU: its standard hours (K = E × W) 639.8 →
    799.75, so the stage's SH and the efficiency move with the standard, not the volume variance
    alone (a reviewer's edit moved the standard while K stayed, all checks green)."""
    before, after = edited["before"], edited["quantity"]
    e = _element_row(after, "Espresso Classic", "Assembly", "overhead")
    assert (after[f"K{e}"].value, after[f"F{e}"].value) == (pytest.approx(799.75), pytest.approx(45))
    # Variable efficiency (660 − 799.75) × 7.50 = 1,048.13 F.
    assert after[f"Q{e}"].value == pytest.approx(-1048.13) and after[f"U{e}"].value == "OK"
    total = _stage_rows(after, "Assembly")["total"]
    assert after[f"D{total}"].value == pytest.approx(before[f"D{total}"].value + 159.95)
    assert _checks(after) == ["OK", "OK"]
