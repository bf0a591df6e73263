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

    # Figures edited by hand in the USD book: a detail line's volume and another's amount after, a
    # roll-forward total of a tie, the completed cost of a WIP-at-standard row, an overhead line's
    # equivalent units, a past cycle time and a stage's units completed; in a second copy, the
    # materiality threshold.
    wb = openpyxl.load_workbook(written["USD"])
    variances, standards, flow = wb["Variances"], wb["Standards"], wb["Flow"]
    rows = {"tie": _row_of(variances, "cost added", B="after"),
            "wip": _row_of(standards, "Espresso Classic", after=_row_of(standards, "WIP at standard (memo)"),
                           B="Testing"),
            "volume": _row_of(variances, "cost added", B="line", C="Espresso Classic", D="Assembly", E="materials"),
            "after": _row_of(variances, "cost added", B="line", C="Espresso Classic", D="Testing", E="overhead"),
            "overhead": _row_of(standards, "Espresso Classic", B="Assembly", C="overhead"),
            "trend": _row_of(flow, "Assembly", after=_row_of(flow, "Cycle time trend (days)")),
            "testing": _row_of(flow, "Testing")}
    edits = [("Variances", f"J{rows['volume']}", 1), ("Variances", f"D{rows['tie']}", 1),
             ("Standards", f"G{rows['wip']}", 1), ("Standards", f"E{rows['overhead']}", 10),
             ("Flow", f"B{rows['trend']}", Decimal("-0.58")), ("Flow", f"B{rows['testing']}", 1374)]
    # Espresso Classic / Testing / overhead 3,720.00 → 3,840.00 (3.2 %, not flagged) becomes 3,720.00 → 2,720.00.
    edits.append(("Variances", f"G{rows['after']}", Decimal(-1120)))
    edited, step = tmp / "edited.xlsx", tmp / "edited-step.xlsx"
    source = written["USD"]
    for sheet, coordinate, delta in edits:
        _with_cell_changed(source, step, sheet, coordinate, Decimal(str(wb[sheet][coordinate].value)) + delta)
        step.replace(edited)
        source = edited
    written["edited"] = edited
    threshold = tmp / "threshold.xlsx"
    _with_cell_changed(written["USD"], threshold, "Variances", "F3", Decimal(10000))
    written["threshold"] = threshold

    (tmp / "in").mkdir()
    blanked = {}
    for label, book in written.items():
        blanked[label] = tmp / "in" / book.name
        assert _without_cached_values(book, blanked[label]) > 300, label
    recalculate(list(blanked.values()), tmp / "out", tmp / "profile")
    out = dict(written)
    for label, copy in blanked.items():
        out[f"{label} recalculated"] = tmp / "out" / copy.name
    out["rows"] = rows
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


def _flag(ws, row: int) -> str:
    """The Flag column (T) as shown: an empty text reads back as None."""
    return ws[f"T{row}"].value or ""


def _rows_of(ws, first: str, after: int, level: str, **cells) -> list[int]:
    """Bridge rows of metric ``first`` and ``level`` whose other columns hold ``cells``."""
    return [r for r in range(after, ws.max_row + 1) if ws.cell(r, 1).value == first and ws.cell(r, 2).value == level
            and all(ws[f"{k}{r}"].value == v for k, v in cells.items())]


def test_an_edited_figure_carries_through_to_the_checks(books):
    before = openpyxl.load_workbook(books["USD"], data_only=True)
    after = openpyxl.load_workbook(books["edited recalculated"], data_only=True)
    rows = books["rows"]
    v0, v1 = before["Variances"], after["Variances"]
    # A detail line's volume a dollar higher: its components sum moves, the change does not, and
    # the check says so.
    r = rows["volume"]
    assert v1[f"R{r}"].value == pytest.approx(v0[f"R{r}"].value + 1)
    assert v1[f"H{r}"].value == pytest.approx(v0[f"H{r}"].value)
    assert (v0[f"S{r}"].value, v1[f"S{r}"].value) == ("OK", "DIFFERENCE")
    # The roll-ups over it follow (its stage, its product, the total), and the chart's table follows the total.
    total, = _rows_of(v1, "cost added", 6, "total")
    stage, = _rows_of(v1, "cost added", 6, "stage", D="Assembly")
    product, = _rows_of(v1, "cost added", 6, "product", C="Espresso Classic")
    for at in (total, stage, product):
        assert v1[f"J{at}"].value == pytest.approx(v0[f"J{at}"].value + 1), at
        assert (v0[f"S{at}"].value, v1[f"S{at}"].value) == ("OK", "DIFFERENCE"), at
    chart = _row_of(v1, "Bridge by component (totals)") + 2  # its first metric: cost added
    assert v1.cell(chart, 2).value == pytest.approx(v0[f"J{total}"].value + 1)
    # A detail line's amount after cut by 1,120.00: 3,720.00 → 2,720.00 is 1,000.00 F, above both
    # thresholds (100.00 and 5 %): its flag and U/F follow, and so do the roll-ups' amounts.
    r = rows["after"]
    assert (v0[f"H{r}"].value, v0[f"I{r}"].value, _flag(v0, r)) == (120, "U", "")
    assert (v1[f"H{r}"].value, v1[f"I{r}"].value, _flag(v1, r)) == (pytest.approx(-1000), "F", "FLAG")
    testing, = _rows_of(v1, "cost added", 6, "stage", D="Testing")
    assert (_flag(v0, testing), v0[f"I{testing}"].value) == ("", "U")  # 782.00 U, 5.0 % of 15,688.00: below
    for at in (total, testing, product):
        assert v1[f"G{at}"].value == pytest.approx(v0[f"G{at}"].value - 1120), at
        assert v1[f"H{at}"].value == pytest.approx(v0[f"H{at}"].value - 1120), at
    # Testing's change, 782.00 − 1,120.00 = 338.00 F: now F, and 2.2 % of 15,688.00, not flagged.
    assert (v1[f"H{testing}"].value, v1[f"I{testing}"].value, _flag(v1, testing)) == \
        (pytest.approx(-338), "F", "")
    # Cost added after, a roll-forward total, a dollar higher: the tie's difference is that dollar and
    # the 1,120.00 the bridge's total lost with the line above.
    tie = rows["tie"]
    assert (v1[f"E{tie}"].value, v0[f"F{tie}"].value, v1[f"F{tie}"].value) == \
        (pytest.approx(-1121), "OK", "DIFFERENCE")
    # WIP at standard: completed a dollar higher, accounted for follows, the check fails.
    s0, s1 = before["Standards"], after["Standards"]
    wip = rows["wip"]
    assert s1[f"K{wip}"].value == pytest.approx(s0[f"K{wip}"].value + 1)
    assert (s0[f"L{wip}"].value, s1[f"L{wip}"].value) == ("OK", "DIFFERENCE")
    # Espresso Classic Assembly overhead: 10 more equivalent units at 36.00 standard: its standard,
    # the elements' total and the stage's standard (the products' lines added up) are 360.00 higher.
    r = rows["overhead"]
    assert s1[f"G{r}"].value == pytest.approx(s0[f"G{r}"].value + 360) == pytest.approx(11876.40)
    assert s1[f"I{r}"].value == pytest.approx(3.6) and s1[f"J{r}"].value == "U"
    grand = _row_of(s1, "Total")
    assert s1[f"G{grand}"].value == pytest.approx(s0[f"G{grand}"].value + 360)
    stage_total = _row_of(s1, "Assembly", H="total")
    assert s1[f"G{stage_total}"].value == pytest.approx(23504.40 + 360)
    assert s1[f"I{stage_total}"].value == pytest.approx(895.60 - 360)
    # Flow: Assembly's cycle time in October 2.58 → 2.00 makes November's 2.57 a rise; Testing
    # completing 2,000 units brings its cycle time down to 0.44 days, a fall from 1.15.
    f0, f1 = before["Flow"], after["Flow"]
    assembly, testing = _row_of(f1, "Assembly"), rows["testing"]
    assert (f0[f"I{assembly}"].value, f1[f"I{assembly}"].value) == ("flat", "rising")
    assert (f1[f"G{testing}"].value, f0[f"I{testing}"].value, f1[f"I{testing}"].value) == (0.44, "rising", "falling")
    assert f1.cell(rows["trend"] + 1, 3).value == 0.44  # Testing's point of the trend: the cycle time above


def test_the_flags_follow_the_threshold(books):
    before = openpyxl.load_workbook(books["USD"], data_only=True)["Variances"]
    after = openpyxl.load_workbook(books["threshold recalculated"], data_only=True)["Variances"]
    lines = [r for r in range(6, before.max_row + 1)
             if before.cell(r, 2).value in ("total", "stage", "product", "line")]
    flagged = {r for r in lines if before[f"T{r}"].value == "FLAG"}
    assert len(flagged) > 20
    # 10,000.00 in place of 100.00: only changes of at least 10,000.00 (and 5 %) stay flagged.
    still = {r for r in lines if after[f"T{r}"].value == "FLAG"}
    assert still and still < flagged
    assert all(abs(after[f"H{r}"].value) >= 10000 for r in still)
    assert all(_flag(after, r) == "" for r in flagged - still)
