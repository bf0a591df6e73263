"""A real spreadsheet engine checks the Variances, Standards and Flow sheets' formulas.

The demo's sheets (and a yen variant: no decimal places) are written into one workbook; every
formula's cached value is replaced by a sentinel and LibreOffice headless recalculates on load,
so each value compared was computed by LibreOffice from the sheets' own figures: the same as the
report's to the minor unit.  Then an input figure is edited in a copy: the checks that depend on it
must turn to DIFFERENCE (the literal "OK" they replaced would not).  Skipped without LibreOffice
(`soffice`), as tests/test_workbook_libreoffice.py is (it fails instead under CI).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo, on_another_october
from tests.libreoffice import recalculate, soffice as _soffice
from tests.libreoffice import with_cell_changed as _with_cell_changed
from tests.libreoffice import without_cached_values as _without_cached_values

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = ROOT / "examples" / "demo" / "standards.yaml"
ORDERS = ROOT / "examples" / "demo" / "orders.yaml"
HALF_CENT = Decimal("0.005")


def _sheets(ledger: Path, book: Path) -> Path:
    """The three sheets of the demo's November (the bridge from October) in one workbook."""
    for argv in (["variance", "--from", "2026-10", "--to", "2026-11"],
                 ["standards", "--period", "2026-11", "--standards", str(STANDARDS)],
                 ["flow", "--period", "2026-11", "--orders", str(ORDERS), "--horizon-days", "7"]):
        assert main([*argv, "--xlsx", str(book), "--json", "--ledger", str(ledger)]) == 0, argv
    return book


def _same(want, got) -> bool:
    if want in (None, "") or got in (None, ""):
        return want in (None, "") and got in (None, "")
    if isinstance(want, str) or isinstance(got, str):
        return want == got
    return abs(Decimal(str(want)) - Decimal(str(got))) < HALF_CENT


def _row_of(ws, first: str, after: int = 0, **cells) -> int:
    """The first row below ``after`` whose column A is ``first`` and whose other columns (by letter)
    hold ``cells``."""
    return next(r for r in range(after + 1, ws.max_row + 1) if ws.cell(r, 1).value == first
                and all(ws[f"{k}{r}"].value == v for k, v in cells.items()))


@pytest.fixture(scope="module")
def books(demo_ledger, tmp_path_factory) -> dict[str, Path]:
    """label -> the workbook as written, and the same recalculated by LibreOffice (``label recalculated``)."""
    _soffice()
    tmp = tmp_path_factory.mktemp("variance-lo")
    written = {"USD": _sheets(demo_ledger, tmp / "usd.xlsx")}
    with Ledger(tmp / "yen.db") as ledger:
        for period in ("2026-10", "2026-11"):
            close_period({**on_another_october(demo(period)), "currency": "JPY"}, ledger, user="test")
    yen_standards = tmp / "yen-standards.yaml"
    yen_standards.write_text(STANDARDS.read_text().replace("currency: USD", "currency: JPY"))
    for argv in (["variance", "--from", "2026-10", "--to", "2026-11"],
                 ["standards", "--period", "2026-11", "--standards", str(yen_standards)],
                 ["flow", "--period", "2026-11"]):
        assert main([*argv, "--xlsx", str(tmp / "yen.xlsx"), "--json", "--ledger", str(tmp / "yen.db")]) == 0
    written["JPY"] = tmp / "yen.xlsx"

    # Figures edited by hand in the USD book: a component of the first bridge line, a roll-forward
    # total of a tie, and the completed cost of a WIP-at-standard row.
    ws = openpyxl.load_workbook(written["USD"])
    variances, standards = ws["Variances"], ws["Standards"]
    tie = _row_of(variances, "cost added", B="after")
    wip = _row_of(standards, "Espresso Classic", after=_row_of(standards, "WIP at standard (memo)"), B="Testing")
    edited = tmp / "edited.xlsx"
    step = tmp / "edited-step.xlsx"
    _with_cell_changed(written["USD"], step, "Variances", "I6", Decimal(str(variances["I6"].value)) + 1)
    _with_cell_changed(step, edited, "Variances", f"D{tie}", Decimal(str(variances[f"D{tie}"].value)) + 1)
    step.unlink()
    _with_cell_changed(edited, step, "Standards", f"G{wip}", Decimal(str(standards[f"G{wip}"].value)) + 1)
    step.replace(edited)
    written["edited"] = edited

    (tmp / "in").mkdir()
    blanked = {}
    for label, book in written.items():
        blanked[label] = tmp / "in" / book.name
        assert _without_cached_values(book, blanked[label]) > 300, label
    recalculate(list(blanked.values()), tmp / "out", tmp / "profile")
    out = dict(written)
    for label, copy in blanked.items():
        out[f"{label} recalculated"] = tmp / "out" / copy.name
    out["tie row"], out["wip row"] = tie, wip
    return out


@pytest.mark.parametrize("label", ["USD", "JPY"])
def test_libreoffice_recalculates_every_formula_to_the_reports_value(books, label):
    formulas = openpyxl.load_workbook(books[label])
    cached = openpyxl.load_workbook(books[label], data_only=True)
    office = openpyxl.load_workbook(books[f"{label} recalculated"], data_only=True)
    assert formulas.sheetnames == ["Variances", "Flow", "Standards"]
    count, problems = {}, []
    for ws in formulas.worksheets:
        count[ws.title] = 0
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f":
                    continue
                count[ws.title] += 1
                want, got = cached[ws.title][cell.coordinate].value, office[ws.title][cell.coordinate].value
                if not _same(want, got):
                    problems.append(f"{ws.title}!{cell.coordinate} {cell.value}: report {want!r}, LibreOffice {got!r}")
    assert count["Variances"] > 400 and count["Standards"] > 100 and count["Flow"] > 10, count
    assert problems == [], f"{len(problems)} formulas differ:\n" + "\n".join(problems[:20])


def test_an_edited_figure_carries_through_to_the_checks(books):
    before = openpyxl.load_workbook(books["USD"], data_only=True)
    after = openpyxl.load_workbook(books["edited recalculated"], data_only=True)
    v0, v1 = before["Variances"], after["Variances"]
    # The first line's volume a dollar higher: its components sum moves, the change does not, and
    # the check says so; the chart's table follows the total line.
    assert v1["M6"].value == pytest.approx(v0["M6"].value + 1) and v1["H6"].value == pytest.approx(v0["H6"].value)
    assert (v0["N6"].value, v1["N6"].value) == ("OK", "DIFFERENCE")
    chart = _row_of(v1, "Bridge by component (totals)") + 2  # its first metric: cost added
    assert v1.cell(chart, 2).value == pytest.approx(v0["I6"].value + 1)
    # A roll-forward total a dollar off: its difference and tie.
    tie = books["tie row"]
    assert (v1[f"E{tie}"].value, v0[f"F{tie}"].value, v1[f"F{tie}"].value) == (pytest.approx(-1), "OK", "DIFFERENCE")
    # WIP at standard: completed a dollar higher, accounted for follows, the check fails.
    s0, s1 = before["Standards"], after["Standards"]
    wip = books["wip row"]
    assert s1[f"K{wip}"].value == pytest.approx(s0[f"K{wip}"].value + 1)
    assert (s0[f"L{wip}"].value, s1[f"L{wip}"].value) == ("OK", "DIFFERENCE")
