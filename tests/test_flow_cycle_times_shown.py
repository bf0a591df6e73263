"""`wip flow`'s cycle times by product and stage are shown where docs/variance.md says: the text
report's and the Flow sheet's table "By product and stage", so that an order's lead time for new
starts can be traced (the demo's Barista Pro: 2.58 + 0.85 + 0.36 = 3.79 days, SO-1004).  Also: the
materiality rule on a zero earlier amount, and `wip standards --help` on --period."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from costing.cli import main
from costing.variance import Order, PeriodUnits, build_flow
from costing.variance._render import render_flow
from costing.variance._xlsx import FLOW, write_sheets

ROOT = Path(__file__).resolve().parent.parent
ORDERS = ROOT / "examples" / "demo" / "orders.yaml"
D = Decimal
TITLE = "By product and stage"


def _section(text: str, title: str) -> list[str]:
    """The lines of a text report's section, its title to the next blank line."""
    lines = text.splitlines()
    start = lines.index(title)
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start + 1:end]


def _text_rows(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """The table "By product and stage": (product, stage) -> column -> the text shown."""
    header, *rows = _section(text, TITLE)
    assert header.split()[:2] == ["product", "stage"]
    columns = ["completed", "per day", "opening WIP", "closing WIP", "average WIP", "cycle days"]
    out = {}
    for line in rows:
        if line.lstrip().startswith("("):  # the note under the table
            continue
        cells = [c for c in line.strip().split("  ") if c]
        product, stage, figures = cells[0].strip(), cells[1].strip(), [c.strip() for c in cells[2:]]
        out[(product, stage)] = dict(zip(columns, figures, strict=True))
    return out


def _flow_json(ledger: Path, capsys) -> dict:
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--json", "--ledger", str(ledger)]) == 0
    return json.loads(capsys.readouterr().out)


def test_the_text_report_shows_each_products_cycle_time_at_each_stage(demo_ledger, capsys):
    data = _flow_json(demo_ledger, capsys)
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--ledger", str(demo_ledger)]) == 0
    text = capsys.readouterr().out
    rows = _text_rows(text)
    # Every figure of the JSON's product_stages is in the table.
    assert set(rows) == {(p["product"], p["stage"]) for p in data["product_stages"]}
    for p in data["product_stages"]:
        row = rows[(p["product"], p["stage"])]
        assert D(row["cycle days"]) == D(p["cycle_time_days"])
        assert D(row["per day"]) == D(p["throughput_per_day"])
        assert (D(row["completed"]), D(row["opening WIP"]), D(row["closing WIP"])) == \
               (D(p["completed"]), D(p["opening_wip"]), D(p["closing_wip"]))
    # Barista Pro Testing: (3 + 4) ÷ 2 = 3.5 units of WIP at 124 ÷ 30 a day = 0.85 days.
    assert rows[("Barista Pro", "Testing")]["average WIP"] == "3.5"
    # The order's lead time is the sum of its product's cycle days as shown.
    barista = [D(rows[("Barista Pro", stage)]["cycle days"]) for stage in ("Assembly", "Testing", "Packaging")]
    assert barista == [D("2.58"), D("0.85"), D("0.36")]
    so_1004 = next(o for o in data["orders"] if o["id"] == "SO-1004")
    assert D(so_1004["lead_time_days"]) == sum(barista) == D("3.79")
    assert "lead time 3.79 days" in text
    note = next(l for l in _section(text, TITLE) if l.lstrip().startswith("("))
    assert "lead time for new starts" in note and "sum of its product's cycle days here" in note
    # The section sits between the stages and the open orders.
    lines = text.splitlines()
    assert lines.index("Open orders") > lines.index(TITLE) > next(i for i, l in enumerate(lines)
                                                                 if l.lstrip().startswith("stage"))


def test_the_table_is_in_the_reports_locale(demo_ledger, capsys):
    assert main(["flow", "--period", "2026-11", "--locale", "de_DE", "--ledger", str(demo_ledger)]) == 0
    rows = _text_rows(capsys.readouterr().out)
    barista = rows[("Barista Pro", "Assembly")]
    assert (barista["per day"], barista["cycle days"]) == ("4,27", "2,58")
    assert rows[("Barista Pro", "Testing")]["average WIP"] == "3,5"


def test_without_orders_there_is_no_lead_time_note(demo_ledger, capsys):
    assert main(["flow", "--period", "2026-11", "--ledger", str(demo_ledger)]) == 0
    section = _section(capsys.readouterr().out, TITLE)
    assert section and not any(l.lstrip().startswith("(") for l in section)


def _slow_and_fast() -> PeriodUnits:
    """Slow completed nothing in Mixing: no cycle time of its own there."""
    return PeriodUnits(
        period="2026-11", stage_order=("Mixing", "Filling"),
        product_stages={("Slow", "Mixing"): (D(5), D(0), D(8)), ("Slow", "Filling"): (D(10), D(10), D(0)),
                        ("Fast", "Mixing"): (D(10), D(30), D(10)), ("Fast", "Filling"): (D(0), D(30), D(0))},
        product_stage_order={"Slow": ("Mixing", "Filling"), "Fast": ("Mixing", "Filling")},
        shipped={"Slow": D(10), "Fast": D(30)}, fg_on_hand={"Slow": D(0), "Fast": D(0)})


def test_a_stage_with_nothing_completed_shows_no_cycle_time():
    report = build_flow([_slow_and_fast()], orders=[Order(id="S-1", product="Slow", units=D(20),
                                                          due=dt.date(2027, 1, 31))])
    rows = _text_rows(render_flow(report))
    assert rows[("Slow", "Mixing")]["cycle days"] == "n/a"
    assert rows[("Slow", "Mixing")]["average WIP"] == "6.5"  # (5 + 8) ÷ 2
    assert rows[("Slow", "Filling")]["cycle days"] == "15"  # (10 + 0) ÷ 2 at 10 ÷ 30 a day


def _sheet_rows(ws) -> tuple[int, dict[tuple[str, str], int]]:
    """The header row of the Flow sheet's table "By product and stage" and its rows by (product, stage)."""
    title = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == TITLE)
    header = title + 1
    rows = {}
    for r in range(header + 1, ws.max_row + 1):
        if ws.cell(r, 2).value is None:
            break
        rows[(ws.cell(r, 1).value, ws.cell(r, 2).value)] = r
    return header, rows


def test_the_flow_sheet_shows_them_as_formulas_over_the_units(demo_ledger, tmp_path, capsys):
    data = _flow_json(demo_ledger, capsys)
    book = tmp_path / "flow.xlsx"
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    formulas, shown = load_workbook(book)[FLOW], load_workbook(book, data_only=True)[FLOW]
    header, rows = _sheet_rows(formulas)
    assert [formulas.cell(header, c).value for c in range(1, 9)] == [
        "Product", "Stage", "Completed", "Throughput/day", "Opening WIP", "Closing WIP", "Average WIP",
        "Cycle time (days)"]
    assert set(rows) == {(p["product"], p["stage"]) for p in data["product_stages"]}
    assert formulas["B2"].value == 30  # the period's days, which the formulas read
    for p in data["product_stages"]:
        r = rows[(p["product"], p["stage"])]
        assert formulas.cell(r, 4).value == f"=ROUND(C{r}/$B$2,2)"
        assert formulas.cell(r, 7).value == f"=ROUND((E{r}+F{r})/2,2)"
        assert formulas.cell(r, 8).value == f'=IF(C{r}=0,"",ROUND(((E{r}+F{r})/2)/(C{r}/$B$2),2))'
        # Each formula carries the report's value, so the sheet shows it before a recalculation.
        assert D(str(shown.cell(r, 8).value)) == D(p["cycle_time_days"])
        assert D(str(shown.cell(r, 4).value)) == D(p["throughput_per_day"])
        assert [shown.cell(r, c).value for c in (3, 5, 6)] == \
               [int(p["completed"]), int(p["opening_wip"]), int(p["closing_wip"])]
    barista = sum(D(str(shown.cell(rows[("Barista Pro", s)], 8).value)) for s in ("Assembly", "Testing", "Packaging"))
    assert barista == D("3.79")
    note = formulas.cell(max(rows.values()) + 1, 1).value
    assert "lead time for new starts" in note and "sum of its product's cycle times here" in note
    # Above the open orders, so that each order's product can be looked up before it.
    orders = next(r for r in range(1, formulas.max_row + 1) if formulas.cell(r, 1).value == "Open orders")
    assert orders > max(rows.values())


def test_the_flow_sheet_leaves_a_cycle_time_blank_where_nothing_was_completed(tmp_path):
    book = tmp_path / "slow.xlsx"
    write_sheets(book, flow=build_flow([_slow_and_fast()]))
    formulas, shown = load_workbook(book)[FLOW], load_workbook(book, data_only=True)[FLOW]
    _, rows = _sheet_rows(formulas)
    mixing = rows[("Slow", "Mixing")]
    assert formulas.cell(mixing, 8).value.startswith(f'=IF(C{mixing}=0,"",')
    assert shown.cell(mixing, 8).value in (None, "")
    assert D(str(shown.cell(mixing, 7).value)) == D("6.5")


def test_a_change_of_exactly_the_threshold_on_a_zero_amount_is_flagged():
    """docs/variance.md: "any change of at least the absolute threshold when the period-1 amount is
    zero" — at least, as the code (and the Variances sheet's flag formula) have it."""
    from costing.variance._bridge import Materiality, _flag

    rule = Materiality(absolute=D("100.00"), percent=D(5))
    assert _flag(D(0), D("100.00"), rule) and _flag(D(0), D("-100.00"), rule)
    assert not _flag(D(0), D("99.99"), rule)
    doc = " ".join((ROOT / "docs" / "variance.md").read_text().split())
    assert "any change of at least the absolute threshold when the period-1 amount is zero" in doc
    assert "above the absolute threshold" not in doc


def test_standards_help_says_period_is_required_unless_schema(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["standards", "--help"])
    assert exit_.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "--period PERIOD YYYY-MM (required unless --schema)" in help_text
