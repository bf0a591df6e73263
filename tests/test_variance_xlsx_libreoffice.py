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
            "testing": _row_of(flow, "Testing"),
            "materials": _row_of(standards, "Espresso Classic", B="Assembly", C="materials"),
            "fixed spending": _row_of(standards, "Testing", H="fixed_spending"),
            "testing inputs": _row_of(standards, "Testing", H="total"),  # the stage's figures, entered once
            "written off": _row_of(variances, "Overhead under(+)/over(-)-applied written off to COGS")}
    edits = [("Variances", f"I{rows['volume']}", 1), ("Variances", f"L{rows['after']}", -100), ("Variances", f"D{rows['tie']}", 1),
             ("Standards", f"G{rows['wip']}", 1), ("Standards", f"E{rows['overhead']}", 10),
             ("Flow", f"B{rows['trend']}", Decimal("-0.58")), ("Flow", f"B{rows['testing']}", 1374),
             ("Standards", f"L{rows['materials']}", 10), ("Standards", f"N{rows['testing inputs']}", 100),
             ("Variances", f"G{rows['written off']}", -500)]
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
    # The Flow sheet's flags: Assembly completing ten times its 647 units (no longer the bottleneck),
    # Packaging closing with its opening 12 units (no WIP growth), the cover band 0.5–0.8 weeks.
    flow_rows = {"assembly": _row_of(flow, "Assembly"), "packaging": _row_of(flow, "Packaging"),
                 "band": _row_of(flow, "Target band (weeks): low, high")}
    flags, source = tmp / "flow-flags.xlsx", written["USD"]
    for coordinate, value in ((f"B{flow_rows['assembly']}", 6470), (f"E{flow_rows['packaging']}", 12),
                              (f"B{flow_rows['band']}", Decimal("0.5")), (f"C{flow_rows['band']}", Decimal("0.8"))):
        _with_cell_changed(source, step, "Flow", coordinate, Decimal(value))
        step.replace(flags)
        source = flags
    written["flow flags"] = flags

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
    out["flow rows"] = flow_rows
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
    """The Flag column (P) as shown: an empty text reads back as None."""
    return ws[f"P{row}"].value or ""


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
    assert v1[f"N{r}"].value == pytest.approx(v0[f"N{r}"].value + 1)
    assert v1[f"H{r}"].value == pytest.approx(v0[f"H{r}"].value)
    assert (v0[f"O{r}"].value, v1[f"O{r}"].value) == ("OK", "DIFFERENCE")
    # The roll-ups over it follow (its stage, its product, the total), and the chart's table follows the total.
    total, = _rows_of(v1, "cost added", 6, "total")
    stage, = _rows_of(v1, "cost added", 6, "stage", D="Assembly")
    product, = _rows_of(v1, "cost added", 6, "product", C="Espresso Classic")
    for at in (total, stage, product):
        assert v1[f"I{at}"].value == pytest.approx(v0[f"I{at}"].value + 1), at
    chart = _row_of(v1, "Bridge by component (totals)") + 2  # its first metric: cost added
    assert v1.cell(chart, 2).value == pytest.approx(v0[f"I{total}"].value + 1)
    # A detail line's amount after cut by 1,120.00: 3,720.00 → 2,720.00 is −1,000.00, above both
    # thresholds (100.00 and 5 %): its flag follows, and so do the roll-ups' amounts; its price
    # 100.00 lower, 47.77 U → −52.23: F, and the roll-ups' price U/F by their own sums.
    r = rows["after"]
    assert (v0[f"H{r}"].value, _flag(v0, r), v0[f"M{r}"].value) == (120, "", "U")
    assert (v1[f"H{r}"].value, _flag(v1, r), v1[f"M{r}"].value) == (pytest.approx(-1000), "FLAG", "F")
    assert v1[f"L{r}"].value == pytest.approx(-52.23)
    testing, = _rows_of(v1, "cost added", 6, "stage", D="Testing")
    assert v1[f"L{testing}"].value == pytest.approx(v0[f"L{testing}"].value - 100)
    assert _flag(v0, testing) == ""  # 782.00, 5.0 % of 15,688.00: below
    for at in (total, testing, product):  # the volume a dollar up, the price 100.00 down: the sums differ
        assert (v0[f"O{at}"].value, v1[f"O{at}"].value) == ("OK", "DIFFERENCE"), at
    for at in (total, testing, product):
        assert v1[f"G{at}"].value == pytest.approx(v0[f"G{at}"].value - 1120), at
        assert v1[f"H{at}"].value == pytest.approx(v0[f"H{at}"].value - 1120), at
    # Testing's change, 782.00 − 1,120.00 = −338.00: 2.2 % of 15,688.00, not flagged.
    assert (v1[f"H{testing}"].value, _flag(v1, testing)) == (pytest.approx(-338), "")
    # Cost added after, a roll-forward total, a dollar higher: the tie's difference is that dollar and
    # the 1,120.00 the bridge's total lost with the line above.
    tie = rows["tie"]
    assert (v1[f"E{tie}"].value, v0[f"F{tie}"].value, v1[f"F{tie}"].value) == \
        (pytest.approx(-1121), "OK", "DIFFERENCE")
    # November's overhead written off to COGS 242.00 → -258.00 (over-applied): its change 208.80
    # becomes −291.20; COGS as posted follows (16,042.26 → 15,542.26) and no longer ties to the
    # journals.  No line has a U/F (balances and the overhead's disposition); the tie is in I.
    w = rows["written off"]
    posted, journals, difference = w + 2, w + 3, w + 4
    assert v0[f"H{w}"].value == pytest.approx(208.8) and v1[f"H{w}"].value == pytest.approx(-291.2)
    assert v1[f"H{posted}"].value == pytest.approx(15542.26)
    assert all(v1[f"I{r}"].value is None for r in (w, posted, journals))
    assert (v0[f"I{difference}"].value, v1[f"I{difference}"].value) == ("OK", "DIFFERENCE")
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
    # Its components follow. The standard hours are EU × 2 hours (K = E × W): 20 more, so the
    # variable efficiency ((actual − standard hours) × 7.50) is 150.00 lower, 151.50 U → 1.50 U; the
    # rate on the actual driver hours is still nil; the fixed volume efficiency (the rest of the
    # total: −360 + 150) 212.10 U → 2.10 U; the stage's production volume (budget − standard hours ×
    # the fixed rate 10.50) 60.90 F → 270.90 F.
    assert (s0[f"Q{r}"].value, s1[f"Q{r}"].value) == (pytest.approx(151.5), pytest.approx(1.5))
    assert (s0[f"S{r}"].value, s1[f"S{r}"].value) == (pytest.approx(212.1), pytest.approx(212.1 - 360 + 150))
    assert (s0[f"T{r}"].value, s1[f"T{r}"].value, s1[f"O{r}"].value, s1[f"U{r}"].value) == ("U", "U", 0, "OK")
    volume = _row_of(s1, "Assembly", H="production_volume")
    assert (s0[f"I{volume}"].value, s1[f"I{volume}"].value) == (pytest.approx(-60.9), pytest.approx(-60.9 - 210))
    assert s1[f"K{stage_total}"].value == "OK"
    # Espresso Classic Assembly materials: 10 more kits used (322 → 332) at the same cost: the
    # price variance 404.00 U becomes 776.00 F (38,400.00 − 332 × 118.00), usage 236.00 U 1,416.00 U;
    # the total variance stays 640.00 U, and the components still add up to it.
    m = rows["materials"]
    assert (s0[f"O{m}"].value, s0[f"P{m}"].value, s0[f"Q{m}"].value) == (404, "U", 236)
    assert (s1[f"O{m}"].value, s1[f"P{m}"].value, s1[f"Q{m}"].value, s1[f"R{m}"].value) == \
        (pytest.approx(-776), "F", pytest.approx(1416), "U")
    assert (s1[f"I{m}"].value, s1[f"U{m}"].value) == (640, "OK")
    # Testing's fixed budget 4,800.00 → 4,900.00 on its fixed-spending row: 350.00 F → 450.00 F.
    f = rows["fixed spending"]
    assert (s0[f"I{f}"].value, s1[f"I{f}"].value, s1[f"J{f}"].value) == (-350, pytest.approx(-450), "F")
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
    flagged = {r for r in lines if before[f"P{r}"].value == "FLAG"}
    assert len(flagged) > 20
    # 10,000.00 in place of 100.00: only changes of at least 10,000.00 (and 5 %) stay flagged.
    still = {r for r in lines if after[f"P{r}"].value == "FLAG"}
    assert still and still < flagged
    assert all(abs(after[f"H{r}"].value) >= 10000 for r in still)
    assert all(_flag(after, r) == "" for r in flagged - still)


def test_the_flow_flags_follow_the_units_and_the_cover_band(books):
    before = openpyxl.load_workbook(books["USD"], data_only=True)["Flow"]
    after = openpyxl.load_workbook(books["flow flags recalculated"], data_only=True)["Flow"]
    flags = {ws: {stage: ws[f"J{_row_of(ws, stage)}"].value or "" for stage in ("Assembly", "Testing", "Packaging")}
             for ws in (before, after)}
    assert flags[before] == {"Assembly": "BOTTLENECK", "Testing": "", "Packaging": "WIP GROWING FASTEST"}
    # Assembly's cycle time 2.57 → 0.26 days leaves Testing's 1.39 the longest; Packaging's WIP no
    # longer grows, so Testing's (25 → 33) grows fastest.
    assert flags[after] == {"Assembly": "", "Testing": "BOTTLENECK, WIP GROWING FASTEST", "Packaging": ""}
    # Weeks of cover 0.73, 0.87 and 0.02 against the band 4–8, then 0.5–0.8.
    cover = _row_of(before, "Product", B="On hand")
    shown = {ws: {ws.cell(r, 1).value: ws[f"I{r}"].value or "" for r in range(cover + 1, cover + 4)}
             for ws in (before, after)}
    assert shown[before] == {"Espresso Classic": "BELOW", "Barista Pro": "BELOW", "Drip Home": "BELOW"}
    assert shown[after] == {"Espresso Classic": "", "Barista Pro": "ABOVE", "Drip Home": "BELOW"}


def test_flow_flags_without_a_cycle_time_or_opening_wip(tmp_path):
    """A stage holding WIP that completed nothing is stalled, the bottleneck before the stages that
    move (Mixing: 5 units waiting, against Boxing's cycle time of 7.5 days); one without opening
    WIP has no growth (Filling), Boxing's WIP grew fastest (2 → 3); a product with nothing shipped
    but units on hand is ABOVE, and weeks of cover are flagged as shown (Q: 933 on hand against
    1,000 shipped in 30 days is 3.998 weeks, shown 4.00, inside the 4–8 band): LibreOffice's flags
    are the report's."""
    from costing.variance._flow import PeriodUnits, build_flow
    from costing.variance._xlsx import write_sheets

    _soffice()
    D = Decimal
    units = PeriodUnits(period="2026-11", stage_order=("Mixing", "Filling", "Boxing"),
                        product_stages={("P", "Mixing"): (D(5), D(0), D(5)), ("P", "Filling"): (D(0), D(10), D(4)),
                                        ("P", "Boxing"): (D(2), D(10), D(3)), ("Q", "Mixing"): (D(0), D(0), D(0)),
                                        ("Q", "Filling"): (D(0), D(0), D(0)), ("Q", "Boxing"): (D(0), D(0), D(0))},
                        product_stage_order={"P": ("Mixing", "Filling", "Boxing"), "Q": ("Mixing", "Filling", "Boxing")},
                        shipped={"P": D(0), "Q": D(1000)}, fg_on_hand={"P": D(7), "Q": D(933)})
    # October: P alone, no WIP at either month-end (cycle times 0.00): Filling's and Boxing's trends
    # rise from there; Q, not in October, is averaged over November alone.
    october = PeriodUnits(period="2026-10", stage_order=("Mixing", "Filling", "Boxing"),
                          product_stages={("P", s): (D(0), D(10), D(0)) for s in ("Mixing", "Filling", "Boxing")},
                          product_stage_order={"P": ("Mixing", "Filling", "Boxing")},
                          shipped={"P": D(0)}, fg_on_hand={"P": D(0)})
    report = build_flow([october, units])
    assert [(s.stage, s.bottleneck, s.wip_growing_fastest, s.cycle_time_trend) for s in report.stages] == \
        [("Mixing", True, False, "n/a"), ("Filling", False, False, "rising"), ("Boxing", False, True, "rising")]
    assert [c.periods for c in report.cover] == [("2026-10", "2026-11"), ("2026-11",)]
    assert [(c.product, c.weeks_of_cover, c.flag) for c in report.cover] == [("P", None, "above"), ("Q", D("4.00"), "")]
    book = tmp_path / "flow.xlsx"
    write_sheets(book, flow=report)
    (tmp_path / "in").mkdir()
    assert _without_cached_values(book, tmp_path / "in" / book.name) > 10
    recalculate([tmp_path / "in" / book.name], tmp_path / "out", tmp_path / "profile")
    office = openpyxl.load_workbook(tmp_path / "out" / book.name, data_only=True)["Flow"]
    formulas, cached = openpyxl.load_workbook(book)["Flow"], openpyxl.load_workbook(book, data_only=True)["Flow"]
    differ = [c.coordinate for row in formulas.iter_rows() for c in row
              if c.data_type == "f" and not _same(cached[c.coordinate].value, office[c.coordinate].value)]
    assert differ == []
    assert [office[f"J{r}"].value or "" for r in (4, 5, 6)] == ["BOTTLENECK", "", "WIP GROWING FASTEST"]
    cover = _row_of(office, "P", after=_row_of(office, "Product", B="On hand"))
    assert office[f"I{cover}"].value == "ABOVE" == report.cover[0].flag.upper()
    assert (office[f"F{cover + 1}"].value, office[f"I{cover + 1}"].value or "") == (4, "")
    assert [office[f"I{r}"].value for r in (4, 5, 6)] == ["n/a", "rising", "rising"]
