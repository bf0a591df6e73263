"""The period-over-period bridge on the demo's two months: every line's components add up to its
change exactly, totals tie to the two closes' stored roll-forwards; the decomposition on small
inline scenarios; method effect; late changes of a reopened month; golden JSON and text."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger
from costing.variance import (
    COMPONENTS,
    LineFigures,
    Materiality,
    Metric,
    PeriodFigures,
    build_bridge,
    build_variance_report,
    load_closes,
    method_effect,
    reclosed_periods,
)
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parent.parent
D = Decimal


@pytest.fixture(scope="module")
def report(demo_ledger):
    with Ledger(demo_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    return build_variance_report(before, after, materiality=Materiality(absolute=D("100.00"), percent=D(5)))


# ---- the demo's two months -----------------------------------------------------------------------

def test_every_line_of_the_demo_sums_exactly_to_its_change(report):
    lines = report.bridge.lines
    assert len([l for l in lines if l.level == "line"]) > 80
    for line in lines:
        parts = [getattr(line, c) for c in COMPONENTS]
        assert sum(parts) == line.change == line.after - line.before, line
        assert line.components_sum == line.change and line.sums_exactly
        for part in parts:  # rounded once, to the cent
            assert part == part.quantize(D("0.01"))
        if line.metric != Metric.ENDING_WIP.value:
            assert line.completion == 0
    assert report.all_sum_exactly


def test_the_demo_totals_tie_to_the_two_stored_roll_forwards(report, demo_ledger):
    with Ledger(demo_ledger) as ledger:
        rf = {p: ledger.current_close(p).rollforward for p in ("2026-10", "2026-11")}

    def total(period: str, metric: str) -> Decimal:
        rows, fg = rf[period]["rows"], rf[period]["finished_goods"]
        if metric == "cost_added":
            return sum(D(r[c]) for r in rows for c in ("materials", "labour", "overhead", "conversion"))
        if metric == "transferred_out":  # cost of goods manufactured: what finished goods received
            return sum(D(r["completed"]) for r in fg)
        if metric == "ending_wip":
            return sum(D(r["closing"]) for r in rows)
        return sum(D(r["cost_of_goods_sold"]) for r in fg)

    for metric in Metric:
        line = report.bridge.total(metric)
        assert line.before == total("2026-10", metric.value), metric
        assert line.after == total("2026-11", metric.value), metric
    assert report.ties_ok and all(t.ok for t in report.ties)
    assert {(t.metric, t.what) for t in report.ties} == {(m.value, w) for m in Metric
                                                         for w in ("before", "after", "change")}


def test_each_demo_line_is_its_roll_forward_row(report, demo_ledger):
    with Ledger(demo_ledger) as ledger:
        rf = {p: ledger.current_close(p).rollforward for p in ("2026-10", "2026-11")}
    for side, period in (("before", "2026-10"), ("after", "2026-11")):
        for row in rf[period]["rows"]:
            key = (row["product"], row["stage"], row["element"])
            wip = report.bridge.line(Metric.ENDING_WIP, *key)
            assert getattr(wip, side) == D(row["closing"]), key
            out = report.bridge.line(Metric.TRANSFERRED_OUT, *key)
            assert getattr(out, side) == D(row["transferred_out"]), key
            if row["element"] != "transferred_in":
                added = report.bridge.line(Metric.COST_ADDED, *key)
                assert getattr(added, side) == sum(D(row[c]) for c in ("materials", "labour", "overhead", "conversion"))
        for row in rf[period]["finished_goods"]:
            assert getattr(report.bridge.line(Metric.COGS, row["product"]), side) == D(row["cost_of_goods_sold"])


def test_roll_ups_add_their_lines(report):
    lines = report.bridge.lines
    # The demo's products end in the same stage in both months.
    final = report.bridge.final_stages_after
    assert report.bridge.final_stages_before == final
    for metric in Metric:
        mine = [l for l in lines if l.metric == metric.value and l.level == "line"]
        # Transferred out by product and in total: the last stage's lines (cost of goods manufactured).
        last = [l for l in mine if metric is not Metric.TRANSFERRED_OUT or l.stage == final[l.product]]
        total = report.bridge.total(metric)
        for field in ("before", "after", "change") + COMPONENTS:
            assert getattr(total, field) == sum(getattr(l, field) for l in last), (metric, field)
            for level, key, of in (("stage", "stage", mine), ("product", "product", last)):
                for rollup in (l for l in lines if l.metric == metric.value and l.level == level):
                    members = [l for l in of if getattr(l, key) == getattr(rollup, key)]
                    assert getattr(rollup, field) == sum(getattr(l, field) for l in members)


def test_the_demo_bridge_reads_like_the_months(report):
    bridge = report.bridge
    # Espresso's Assembly materials cost $120 per unit in both months: the change is all quantity.
    materials = bridge.line(Metric.COST_ADDED, "Espresso Classic", "Assembly", "materials")
    assert (materials.before, materials.after, materials.price) == (D("36000.00"), D("38400.00"), D("0.00"))
    assert materials.volume + materials.mix == D("2400.00")
    # Ending WIP of Assembly labour went from 40 % to 50 % complete: a completion effect.
    labour = bridge.line(Metric.ENDING_WIP, "Espresso Classic", "Assembly", "labour")
    assert labour.drivers.completion_before == D("0.4") and labour.drivers.completion_after == D("0.5")
    assert labour.completion > 0 and "completion of ending WIP 40 % → 50 %" in labour.explanation
    # Drip Home had no Testing WIP in October: its November WIP is a change of mix, not of price.
    drip = bridge.line(Metric.ENDING_WIP, "Drip Home", "Testing", "transferred_in")
    assert drip.before == 0 and drip.mix == drip.change and drip.price == 0
    assert drip.explanation.startswith("Drip Home share of Testing transferred-in ending WIP units 0 % →")
    cogs = bridge.total(Metric.COGS)
    assert cogs.flagged
    assert cogs.explanation == ("All products' units shipped +11.7 % (555 → 620) drives 92 % of the change in "
                                "COGS before overhead true-up")


def test_cogs_before_the_true_up_reconciles_to_cogs_as_posted(report, demo_ledger):
    """The bridge's COGS is the cost of the units shipped; the close also writes off or prorates
    overhead to COGS: October 33.20 written off and 100.10 prorated, November 242.00 written off."""
    cogs = report.cogs_as_posted
    rows = {l.what: (l.before, l.after, l.change) for l in cogs.lines}
    total = report.bridge.total(Metric.COGS)
    assert rows["before_true_up"] == (total.before, total.after, total.change) == \
        (D("125726.46"), D("141660.02"), D("15933.56"))
    assert rows["overhead_written_off"] == (D("33.20"), D("242.00"), D("208.80"))
    assert rows["overhead_prorated"] == (D("100.10"), D("0.00"), D("-100.10"))
    assert rows["as_posted"] == (D("125859.76"), D("141902.02"), D("16042.26"))
    # What the stored journals post to the COGS account (5000): units shipped and the true-up.
    with Ledger(demo_ledger) as ledger:
        posted = {p: sum(line.debit - line.credit for j in ledger.current_close(p).journals.journals
                         for line in j.lines if line.account == "5000") for p in ("2026-10", "2026-11")}
    assert rows["journals"][:2] == (posted["2026-10"], posted["2026-11"]) == rows["as_posted"][:2]
    assert rows["difference"] == (0, 0, 0) and cogs.ties_ok and report.ties_ok
    assert [l.what for l in cogs.lines] == ["before_true_up", "overhead_written_off", "overhead_prorated",
                                            "as_posted", "journals", "difference"]
    # No U/F on any line: a balance expensed, and the overhead's disposition (prorated in October,
    # written off in November), not a cost against a standard: 100.10 → 0.00 is a signed −100.10.
    assert all("label" not in l for l in cogs.model_dump(mode="json")["lines"])


def test_a_cogs_posting_the_close_no_longer_makes_shows_as_a_difference(demo_ledger):
    """A stored COGS line a dollar higher than the recomputed close: the reconciliation says so."""
    from dataclasses import replace

    with Ledger(demo_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    book = after.journals
    cogs = next(j for j in book.journals if any(l.memo == "Units shipped" for l in j.lines))
    changed = cogs.model_copy(update={"lines": tuple(
        l.model_copy(update={"debit": l.debit + D("1.00")}) if l.account == "5000" else l for l in cogs.lines)})
    tampered = book.model_copy(update={"journals": tuple(changed if j is cogs else j for j in book.journals)})
    report = build_variance_report(before, replace(after, journals=tampered))
    diff = report.cogs_as_posted.line("difference")
    assert (diff.before, diff.after) == (D("0.00"), D("-1.00"))
    assert not report.cogs_as_posted.ties_ok and not report.ties_ok
    assert any("stored journals" in n for n in report.notes)


# ---- the decomposition on small scenarios ----------------------------------------------------

def figures(period: str, *lines: LineFigures, method: str = "fifo") -> PeriodFigures:
    return PeriodFigures(period, 1, method, "USD", D("0.01"), "half_up", tuple(lines))


def wip(product: str, units, completion, value, stage="Testing", element="conversion") -> LineFigures:
    return LineFigures(Metric.ENDING_WIP, product, stage, element, D(value), D(units), D(completion))


def test_sequential_substitution_by_hand():
    # Before: A 10 units 50 % complete at $20/EU, B 10 units 50 % at $10/EU (pool 20 units).
    # After: A 15 units 60 % at $22/EU, B 5 units 50 % at $10/EU (pool still 20 units).
    before = figures("2026-01", wip("A", 10, "0.5", "100.00"), wip("B", 10, "0.5", "50.00"))
    after = figures("2026-02", wip("A", 15, "0.6", "198.00"), wip("B", 5, "0.5", "25.00"))
    bridge = build_bridge(before, after)
    a = bridge.line(Metric.ENDING_WIP, "A", "Testing", "conversion")
    # volume: pool unchanged → 0; mix: (15 − 20 × 50 %) × 0.5 × 20 = 50;
    # completion: 15 × (0.6 − 0.5) × 20 = 30; price: 15 × 0.6 × (22 − 20) = 18.
    assert (a.volume, a.mix, a.completion, a.price, a.change) == (0, 50, 30, 18, 98)
    b = bridge.line(Metric.ENDING_WIP, "B", "Testing", "conversion")
    assert (b.volume, b.mix, b.completion, b.price, b.change) == (0, -25, 0, 0, -25)
    total = bridge.total(Metric.ENDING_WIP)
    assert (total.volume, total.mix, total.completion, total.price, total.change) == (0, 25, 30, 18, 73)


def test_volume_then_price_for_one_product():
    before = figures("2026-01", LineFigures(Metric.COST_ADDED, "A", "Assembly", "materials", D("1000.00"), D(100)))
    after = figures("2026-02", LineFigures(Metric.COST_ADDED, "A", "Assembly", "materials", D("1320.00"), D(110)))
    line = build_bridge(before, after).line(Metric.COST_ADDED, "A", "Assembly", "materials")
    # volume at period-1 rate: 10 × $10; price at period-2 quantity: 110 × ($12 − $10).
    assert (line.volume, line.mix, line.completion, line.price) == (100, 0, 0, 220)
    assert line.explanation == "Assembly materials cost per EU +20.0 % (10.00 → 12.00) drives 69 % of the change " \
                               "in cost added"


def test_only_the_price_component_is_labelled_u_or_f():
    """U/F where a cost is compared with the same per-unit cost of the earlier period (price), by
    its sign; the change, volume, mix and completion are more or fewer units or a larger or smaller
    balance: signed, no U/F (producing more is not unfavourable).  The JSON's ``labels`` alike."""
    # 100 → 110 units at $10 → $12: volume +$100, price $220 U; then back: volume −$120, price $200 F.
    up_before = figures("2026-01", LineFigures(Metric.COST_ADDED, "A", "Assembly", "materials", D("1000.00"), D(100)))
    up_after = figures("2026-02", LineFigures(Metric.COST_ADDED, "A", "Assembly", "materials", D("1320.00"), D(110)))
    up = build_bridge(up_before, up_after).line(Metric.COST_ADDED, "A", "Assembly", "materials")
    assert (up.volume, up.price, up.labels) == (D("100.00"), D("220.00"), {"price": "U"})
    down = build_bridge(up_after, up_before).line(Metric.COST_ADDED, "A", "Assembly", "materials")
    assert (down.volume, down.price, down.labels) == (D("-120.00"), D("-200.00"), {"price": "F"})
    same = build_bridge(up_before, up_before).line(Metric.COST_ADDED, "A", "Assembly", "materials")
    assert same.labels == {"price": ""}
    assert up.model_dump(mode="json")["labels"] == {"price": "U"}


def test_the_demo_bridge_labels_price_only_in_text_and_json(demo_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(demo_ledger), "--json"]) == 0
    lines = json.loads(capsys.readouterr().out)["bridge"]["lines"]
    total = next(l for l in lines if (l["level"], l["metric"]) == ("total", "cost_added"))
    # Cost added 139,512.80 → 148,568.00: +9,055.20, volume +8,459.28, mix +611.34, price 15.42 F.
    assert total["labels"] == {"price": "F"}
    assert all(set(l["labels"]) == {"price"} for l in lines)
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(demo_ledger)]) == 0
    text = capsys.readouterr().out
    assert "U/F only on price" in text and "U unfavourable: more cost than" not in text
    row = next(line for line in text.splitlines() if line.strip().startswith("Total") and "139,512.80" in line)
    assert row.split()[3:10] == ["9,055.20", "8,459.28", "611.34", "0.00", "-15.42", "F", "OK"]
    # Producing more is not unfavourable: ending WIP's volume is signed, without U/F.
    wip = next(line for line in text.splitlines() if line.strip().startswith("Total") and "16,013.12" in line)
    assert wip.split()[3:7] == ["4,191.45", "5,762.52", "-2,185.88", "602.21"]
    # COGS as posted: a change of the overhead's disposition (prorated → written off) is signed.
    prorated = next(line for line in text.splitlines() if "overhead prorated to COGS" in line)
    assert prorated.split()[-3:] == ["100.10", "0.00", "-100.10"]


def test_transferred_out_by_product_and_in_total_is_cost_of_goods_manufactured(report, capsys, demo_ledger):
    """A stage's transfer is in the next stage's: product and total lines take each product's last
    stage only (cost of goods manufactured), never the sum over stages (the demo's October would be
    380,785.25, counting a machine's material up to three times)."""
    b = report.bridge
    everywhere_packaging = {"Espresso Classic": "Packaging", "Barista Pro": "Packaging", "Drip Home": "Packaging"}
    assert b.final_stages_before == b.final_stages_after == everywhere_packaging
    total = b.total(Metric.TRANSFERRED_OUT)
    packaging = b.line(Metric.TRANSFERRED_OUT, stage="Packaging", level="stage")
    assert (total.before, total.after) == (packaging.before, packaging.after) == (D("136339.54"), D("143570.52"))
    espresso = b.line(Metric.TRANSFERRED_OUT, "Espresso Classic", level="product")
    last = [l for l in b.lines if (l.level, l.metric, l.product, l.stage) ==
            ("line", "transferred_out", "Espresso Classic", "Packaging")]
    assert espresso.before == sum(l.before for l in last) == D("68730.04")  # not 192,613.98
    for name in COMPONENTS:  # the components are the last stage's lines' too, and add up
        assert getattr(espresso, name) == sum(getattr(l, name) for l in last)
    products = [l for l in b.lines if (l.level, l.metric) == ("product", "transferred_out")]
    assert sum(l.change for l in products) == total.change and total.sums_exactly
    # The method effect, which already took the last stage, agrees.
    effect = next(l for l in report.method_effect[0].lines if l.level == "total")
    assert effect.transferred_out == total.before
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(demo_ledger)]) == 0
    text = capsys.readouterr().out
    assert "Cost of goods manufactured" in text and "380,785.25" not in text and "192,613.98" not in text
    assert "cost of goods manufactured (to finished goods): before 136,339.54" in text


def test_components_round_to_the_change_by_largest_remainder():
    # One third of a cent everywhere: 3 units at $10.00 → 7 units at $20.00 (rate 3.333…).
    before = figures("2026-01", LineFigures(Metric.COGS, "A", "", "", D("10.00"), D(3)))
    after = figures("2026-02", LineFigures(Metric.COGS, "A", "", "", D("20.00"), D(7)))
    line = build_bridge(before, after).line(Metric.COGS, "A")
    assert (line.volume, line.price) == (D("13.33"), D("-3.33")) and line.volume + line.price == D("10.00")


def test_new_and_discontinued_lines_are_volume_or_mix():
    before = figures("2026-01", wip("A", 10, "0.5", "100.00"))
    after = figures("2026-02", wip("B", 4, "0.5", "30.00"))
    bridge = build_bridge(before, after)
    gone = bridge.line(Metric.ENDING_WIP, "A", "Testing", "conversion")
    new = bridge.line(Metric.ENDING_WIP, "B", "Testing", "conversion")
    assert gone.after == 0 and gone.volume + gone.mix == D("-100.00") and gone.price == 0
    assert new.before == 0 and new.volume + new.mix == D("30.00") and new.price == 0
    assert bridge.total(Metric.ENDING_WIP).change == D("-70.00")


def test_wip_new_to_a_line_the_ledger_records_at_zero_completion_is_volume_or_mix():
    """A line whose product-stage had no ending WIP is recorded with completion 0 (not absent):
    taken as the completion before, its whole WIP was a completion variance (review: the demo's
    Drip Home / Testing; here B goes from no WIP to 10 units at 50 %, nothing else changes)."""
    before = figures("2026-01", wip("A", 10, "0.5", "100.00"), wip("B", 0, "0", "0.00"))
    after = figures("2026-02", wip("A", 10, "0.5", "100.00"), wip("B", 10, "0.5", "100.00"))
    b = build_bridge(before, after).line(Metric.ENDING_WIP, "B", "Testing", "conversion")
    # volume: pool 10 → 20 units at B's share of none: (20 × 0 − 0) … all at the new rate and completion.
    assert b.completion == 0 and b.price == 0 and b.volume + b.mix == D("100.00")
    gone = build_bridge(after, before).line(Metric.ENDING_WIP, "B", "Testing", "conversion")
    assert gone.completion == 0 and gone.price == 0 and gone.volume + gone.mix == D("-100.00")


def test_a_flagged_line_names_the_driver_that_moved_most():
    # Testing conversion: 100 → 108 units, 50 % complete, $52.00 → $61.57 per EU.
    before = figures("2026-01", wip("A", 100, "0.5", "2600.00"))
    after = figures("2026-02", wip("A", 108, "0.5", "3324.78"))
    m = Materiality(absolute=D("500.00"), percent=D(10))
    line = build_bridge(before, after, m).line(Metric.ENDING_WIP, "A", "Testing", "conversion")
    assert (line.volume, line.price, line.change) == (D("208.00"), D("516.78"), D("724.78"))
    assert line.flagged
    assert line.explanation == "Testing conversion cost per EU +18.4 % (52.00 → 61.57) drives 71 % of the change " \
                               "in ending WIP"


def test_materiality_needs_both_thresholds():
    before = figures("2026-01", wip("A", 100, "0.5", "2600.00"))

    def bridge(value, m):
        after = figures("2026-02", wip("A", 100, "0.5", value))
        return build_bridge(before, after, m).line(Metric.ENDING_WIP, "A", "Testing", "conversion")

    assert not bridge("2700.00", Materiality(absolute=D("100.01"), percent=D(1))).flagged  # below the amount
    assert not bridge("2700.00", Materiality(absolute=D("50.00"), percent=D(4))).flagged  # 3.8 % < 4 %
    assert bridge("2700.00", Materiality(absolute=D("100.00"), percent=D("3.8"))).flagged
    assert not bridge("2600.00", Materiality(absolute=D("0.00"), percent=D(0))).flagged  # nothing moved


# ---- method effect and late changes ---------------------------------------------------------

def test_method_effect_recosts_each_month_under_the_other_method(report):
    october, november = report.method_effect
    assert (october.period, october.method, october.other_method, october.available) == \
           ("2026-10", "fifo", "weighted_average", True)
    assert november.period == "2026-11"
    for effect in (october, november):
        stages = [l for l in effect.lines if l.level == "stage"]
        total = next(l for l in effect.lines if l.level == "total")
        as_closed = report.bridge.total(Metric.ENDING_WIP)
        assert total.ending_wip == (as_closed.before if effect is october else as_closed.after)
        assert total.ending_wip_other == sum(l.ending_wip_other for l in stages)
        for l in effect.lines:
            assert l.ending_wip_difference == l.ending_wip_other - l.ending_wip
            assert l.transferred_out_difference == l.transferred_out_other - l.transferred_out
    # October's opening WIP was costed at September's rates: the methods differ (Horngren's point).
    assert next(l for l in october.lines if l.level == "total").ending_wip_difference != 0


def test_method_effect_says_when_fifo_cannot_cost_the_period(tmp_path):
    data = {"company": "X", "period": "2026-01", "currency": "USD", "method": "weighted_average",
            "accounts": demo("2026-10")["accounts"] | {"wip": {"Mixing": {"code": "1310", "name": "WIP"}}},
            "products": [{"name": "P", "stages": [{
                "name": "Mixing", "elements": {"materials": {"kind": "material", "added": "start"}},
                "beginning_wip": {"units": 50, "complete": 0.5, "cost": {"materials": 500}},
                "started": 10, "completed": 40, "ending_wip": {"units": 20, "complete": 0.5},
                "added_costs": {"materials": 100}}]}]}
    with Ledger(tmp_path / "l.db") as ledger:
        close_period(data, ledger, user="test")
        effect = method_effect(load_closes(ledger, "2026-01")[-1])
    assert not effect.available and "FIFO_BEGINNING_NOT_COMPLETED" in effect.reason and effect.lines == ()
    # Named by product, without the close's advice to change the file (review: "products[1]", and
    # "use method: weighted_average for this period" of a month already closed).
    assert effect.reason.startswith("FIFO cannot cost this month's inputs: 'P' stages[0].completed: Mixing: FIFO "
                                    "completes beginning WIP first") and "use method" not in effect.reason


@pytest.fixture
def reclosed_ledger(tmp_path) -> Path:
    path = tmp_path / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late labour invoice from the Testing contractor", user="controller")
        data = demo("2026-10")
        data["products"][0]["stages"][1]["added_costs"]["labour"] = Decimal("4800.00")
        close_period(data, ledger, user="test")
    return path


def test_late_changes_bridge_a_reopened_months_two_closes(reclosed_ledger):
    with Ledger(reclosed_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
        reclosed = reclosed_periods(ledger, ["2026-10", "2026-11"])
    report = build_variance_report(before, after, reclosed=reclosed)
    (late,) = report.late_changes
    assert (late.period, late.from_close, late.to_close) == ("2026-10", 1, 2)
    assert late.reason == "late labour invoice from the Testing contractor"
    assert [(c.path, c.before, c.after) for c in late.input_changes] == \
           [("products[Espresso Classic].stages[Testing].added_costs.labour", "4650.00", "4800.00")]
    added = late.bridge.total(Metric.COST_ADDED)
    assert added.change == D("150.00") and added.sums_exactly
    labour = late.bridge.line(Metric.COST_ADDED, "Espresso Classic", "Testing", "labour")
    assert labour.change == labour.price == D("150.00")  # same work, dearer: all price
    assert all(l.change or l.level == "total" for l in late.bridge.lines)
    assert all(l.sums_exactly for l in late.bridge.lines)
    # The main bridge still ties: October's current close (#2) against November's stored close.
    assert report.ties_ok


def test_cli_from_and_to_the_same_month_bridges_its_two_closes(reclosed_ledger, capsys):
    db = str(reclosed_ledger)
    assert main(["variance", "--from", "2026-10", "--to", "2026-10", "--json", "--ledger", db]) == 0
    payload = json.loads(capsys.readouterr().out)
    bridge = payload["bridge"]
    assert (bridge["before"]["close_no"], bridge["after"]["close_no"]) == (1, 2)
    # The main bridge is that comparison; late changes still say why and what input changed.
    (late,) = payload["late_changes"]
    assert (late["period"], late["from_close"], late["to_close"]) == ("2026-10", 1, 2)
    assert late["reason"] == "late labour invoice from the Testing contractor"
    assert late["input_changes"] == [{"path": "products[Espresso Classic].stages[Testing].added_costs.labour",
                                      "before": "4650.00", "after": "4800.00"}]
    assert main(["variance", "--from", "2026-10", "--to", "2026-10", "--ledger", db]) == 0
    text = capsys.readouterr().out
    assert "Late changes 2026-10: close #1 → close #2 (reopened: late labour invoice" in text
    assert "products[Espresso Classic].stages[Testing].added_costs.labour: 4650.00 → 4800.00" in text
    assert "2026-10 #1  2026-10 #2" in text  # columns say which close, not the month twice
    assert "Method effect 2026-10 (close #1)" in text and "Method effect 2026-10 (close #2)" in text
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", db]) == 0
    out = capsys.readouterr().out
    assert "Late changes 2026-10: close #1 → close #2 (reopened: late labour invoice" in out
    assert "products[Espresso Classic].stages[Testing].added_costs.labour: 4650.00 → 4800.00" in out
    assert "2026-11 opened from a close of 2026-10 that has since been superseded: it needs a re-close" in out
    # Said first, not after the ties as one note among others: every figure will move with the re-close.
    lines = out.splitlines()
    assert lines[1] == ("NEEDS RE-CLOSE: 2026-11 opened from a close of 2026-10 that has since been superseded: "
                        "it needs a re-close")
    assert "  Totals tie: OK (with the closes recorded now: see NEEDS RE-CLOSE at the top)" in lines
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger", db]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["needs_re_close"] == [lines[1].removeprefix("NEEDS RE-CLOSE: ")] and payload["notes"] == []


@pytest.fixture(scope="module")
def overhead_reclosed_ledger(tmp_path_factory) -> Path:
    """October and November closed; November reopened and closed again with Assembly's actual
    overhead 24,400 → 24,600 (and the overhead control account 33,650 → 33,850): written off, the
    change moves no bridge line, only the overhead true-up and COGS as posted."""
    path = tmp_path_factory.mktemp("overhead-reclosed") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-11", "Assembly overhead invoice late", user="controller")
        data = demo("2026-11")
        data["overhead"]["Assembly"]["actual"] = Decimal("24600.00")
        data["general_ledger"]["balances"]["5900"] = Decimal("33850.00")
        close_period(data, ledger, user="test")
    return path


def test_late_changes_show_what_an_overhead_re_close_moved(overhead_reclosed_ledger, capsys):
    db = str(overhead_reclosed_ledger)
    with Ledger(overhead_reclosed_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
        reclosed = reclosed_periods(ledger, ["2026-10", "2026-11"])
    report = build_variance_report(before, after, reclosed=reclosed)
    (late,) = report.late_changes
    assert (late.period, late.from_close, late.to_close) == ("2026-11", 1, 2)
    assert all(not l.change for l in late.bridge.lines)  # no bridge line moved ...
    cogs = {l.what: l for l in late.cogs_as_posted.lines}
    # ... but 200.00 more under-applied overhead was written off: COGS as posted 141,902.02 → 142,102.02.
    assert (cogs["overhead_written_off"].before, cogs["overhead_written_off"].after) == (D("242.00"), D("442.00"))
    assert cogs["overhead_written_off"].change == cogs["as_posted"].change == cogs["journals"].change == D("200.00")
    assert cogs["before_true_up"].change == 0 and late.cogs_as_posted.ties_ok and late.moved

    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger", db]) == 0
    (payload,) = json.loads(capsys.readouterr().out)["late_changes"]
    moved = {l["what"]: l["change"] for l in payload["cogs_as_posted"]["lines"]}
    assert moved["overhead_written_off"] == moved["as_posted"] == "200.00"
    # A balance expensed and the overhead's disposition: signed, no U/F.
    assert all("label" not in l for l in payload["cogs_as_posted"]["lines"])

    # October → November: the bridge above is not November #1 → #2 (October's close is #1 too).
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", db]) == 0
    section = capsys.readouterr().out.split("Late changes 2026-11: close #1 → close #2")[1]
    assert "the bridge above" not in section
    assert "overhead.Assembly.actual: 24400.00 → 24600.00" in section
    written_off = next(l for l in section.splitlines() if "written off to COGS" in l)
    assert written_off.split()[-3:] == ["242.00", "442.00", "200.00"]
    as_posted = next(l for l in section.splitlines() if l.strip().startswith("COGS as posted  "))
    assert as_posted.split()[-3:] == ["141,902.02", "142,102.02", "200.00"]

    # November #1 → #2 is the main bridge: there the bridge above (and COGS as posted under it) is it.
    assert main(["variance", "--from", "2026-11", "--to", "2026-11", "--ledger", db]) == 0
    section = capsys.readouterr().out.split("Late changes 2026-11: close #1 → close #2")[1]
    assert "(what they moved: the bridge above" in section and "written off to COGS" not in section


def test_the_late_changes_sheet_shows_cogs_as_posted(overhead_reclosed_ledger, tmp_path):
    import openpyxl

    book = tmp_path / "v.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", str(overhead_reclosed_ledger)]) == 0
    ws = openpyxl.load_workbook(book)["Variances"]
    shown = openpyxl.load_workbook(book, data_only=True)["Variances"]
    top = next(r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value).startswith("Late changes 2026-11"))
    below = {ws.cell(r, 1).value: r for r in range(top, ws.max_row + 1)}
    # Only the lines that moved are listed: a roll-up's amounts are values (the sum of the lines
    # shown would not be the month's total), not =0 or a sum of unmoved lines.
    total = below["cost added"]
    assert (ws.cell(total, 6).value, ws.cell(total, 7).value) == (148568, 148568)
    written_off = below["Overhead under(+)/over(-)-applied written off to COGS"]
    assert [shown.cell(written_off, c).value for c in (6, 7, 8)] == [242, 442, 200]
    as_posted = below["COGS as posted"]
    assert [shown.cell(as_posted, c).value for c in (6, 7, 8, 9)] == [141902.02, 142102.02, 200, None]  # no U/F
    assert shown.cell(below["Difference"], 9).value == "OK"  # the tie


# ---- golden output and the command line -------------------------------------------------------

def test_golden_json(report, data_regression):
    data_regression.check(json.loads(report.model_dump_json()))


def test_cli_text_golden(demo_ledger, capsys, file_regression):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--detail", "--ledger", str(demo_ledger)]) == 0
    file_regression.check(capsys.readouterr().out, extension=".txt")


def test_cli_json_is_the_report(demo_ledger, report, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger", str(demo_ledger)]) == 0
    assert json.loads(capsys.readouterr().out) == json.loads(report.model_dump_json())


def test_cli_default_ledger_is_in_the_working_directory(demo_ledger, monkeypatch, capsys):
    monkeypatch.chdir(demo_ledger.parent)
    assert main(["variance", "--from", "2026-10", "--to", "2026-11"]) == 0
    assert "Totals tie: OK" in capsys.readouterr().out


@pytest.mark.parametrize("argv, code", [
    (["--from", "2026-10", "--to", "2026-12"], "NOT_CLOSED"),
    (["--from", "2026-11", "--to", "2026-10"], "PERIODS_OUT_OF_ORDER"),
    (["--from", "2026-11", "--to", "2026-11"], "NOTHING_TO_COMPARE"),
    (["--from", "2026-10", "--to", "2026-11", "--materiality", "ten"], "NOT_A_NUMBER"),
    (["--from", "2026-10", "--to", "2026-11", "--materiality", "NaN"], "NOT_A_NUMBER"),
    (["--from", "2026-10", "--to", "2026-11", "--materiality", "-5"], "NEGATIVE_AMOUNT"),
    (["--from", "2026-10", "--to", "2026-11", "--materiality-pct", "-1"], "NEGATIVE_AMOUNT"),
])
def test_cli_refuses_what_it_cannot_compare(demo_ledger, capsys, argv, code):
    assert main(["variance", *argv, "--ledger", str(demo_ledger)]) == 2
    err = capsys.readouterr().err
    assert f"[{code}]" in err and "Traceback" not in err


def test_cli_without_a_ledger(tmp_path, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(tmp_path / "none.db")]) == 2
    assert "[LEDGER_NOT_FOUND]" in capsys.readouterr().err


# ---- the package's public surface ----------------------------------------------------------------

def test_public_api_is_pinned():
    import costing.variance as variance

    assert sorted(variance.__all__) == sorted([
        "Metric", "LineFigures", "PeriodFigures", "figures_from_close", "COMPONENTS", "Materiality", "Drivers",
        "Explanation", "BridgeLine", "CloseRef", "Bridge", "build_bridge",
        "StoredClose", "recompute", "MethodEffect", "MethodEffectLine", "method_effect", "InputChange", "LateChange",
        "Tie", "tie_to_rollforwards", "CogsLine", "CogsAsPosted", "VarianceReport", "build_variance_report",
        "StandardsSpec", "ResolvedStandards", "resolve_standards", "standards_report", "standards_schema",
        "StandardsReport", "ElementVariance", "OverheadVariance", "OverheadApplied", "StageAtStandard", "Variance",
        "WithoutStandard",
        "PeriodUnits", "units_of", "Order", "resolve_orders", "build_flow", "FlowReport", "StageFlow", "TrendPoint",
        "ProductStageFlow", "OrderForecast", "Cover", "COVER_PERIODS", "TREND_PERIODS",
        "load_closes", "current_closes", "each_current_close", "reclosed_periods",
    ])
    for name in variance.__all__:
        assert hasattr(variance, name), name


def test_the_computation_modules_do_no_io():
    """Only the ledger adapter, the xlsx writer and the command line touch files or databases."""
    import ast

    import costing.variance as variance

    forbidden = {"os", "io", "pathlib", "sqlite3", "openpyxl", "xlwings", "yaml", "json", "csv", "subprocess"}
    folder = Path(variance.__file__).parent
    for name in ("_figures.py", "_bridge.py", "_history.py", "_standards.py", "_flow.py", "_render.py"):
        tree = ast.parse((folder / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom):
                mods = {node.module.split(".")[0]} if node.level == 0 else \
                    ({"sqlite3"} if (node.module or "").startswith(("ledger", "_ledger", "_xlsx", "_cli")) else set())
            else:
                continue
            assert not mods & forbidden, (name, mods & forbidden)


# ---- command-line arguments ---------------------------------------------------------------------

def test_a_materiality_beyond_the_number_limit_is_refused(demo_ledger, capsys):
    code = main(["variance", "--from", "2026-10", "--to", "2026-11", "--materiality", "1" + "0" * 40,
                 "--ledger", str(demo_ledger)])
    err = capsys.readouterr().err
    assert code == 2 and "--materiality: expected a number below 1,000,000,000,000,000" in err
    assert "[NUMBER_TOO_LARGE]" in err and "Traceback" not in err


@pytest.mark.parametrize("option", ["--from", "--to"])
def test_periods_are_checked_as_months(demo_ledger, capsys, option):
    args = {"--from": "2026-10", "--to": "2026-11", option: "foo"}
    with pytest.raises(SystemExit) as exit_:
        main(["variance", "--from", args["--from"], "--to", args["--to"], "--ledger", str(demo_ledger)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert f"argument {option}: expected a month YYYY-MM (e.g. 2026-10), found 'foo' [INVALID_FORMAT]" in err
    assert "PERIODS_OUT_OF_ORDER" not in err


# ---- the text report's locale -------------------------------------------------------------------

def test_explanations_use_the_reports_locale(demo_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--locale", "de_DE",
                 "--ledger", str(demo_ledger)]) == 0
    out = capsys.readouterr().out
    total = next(l for l in out.splitlines()
                 if l.startswith("  * Total: All products' Assembly materials equivalent units"))
    assert total.endswith("+6,5 % (620 → 660) drives 51 % of the change in cost added")


def test_explanation_rates_and_shares_in_german():
    from costing.variance import Explanation
    from costing.variance._bridge import explanation_text
    from costing.variance._render import LocaleNumbers

    rate = Explanation(component="price", driver="Testing conversion cost per EU", measure="rate",
                       before=D("1234.5"), after=D("61.5666"), pct_change=D("-95.0"), metric="ending WIP",
                       share_of_change=D(71), amount=D("10.00"))
    assert explanation_text(rate, LocaleNumbers("de_DE")) == \
        "Testing conversion cost per EU -95,0 % (1.234,50 → 61,57) drives 71 % of the change in ending WIP"
    share = rate.model_copy(update={"measure": "share", "before": D("0.4545"), "after": D(1),
                                    "share_of_change": None, "amount": D("-1234.50")})
    assert explanation_text(share, LocaleNumbers("de_DE")) == \
        "Testing conversion cost per EU 45,5 % → 100 % moves ending WIP by -1.234,50, offset by the other components"
    assert explanation_text(share) == \
        "Testing conversion cost per EU 45.5 % → 100 % moves ending WIP by -1,234.50, offset by the other components"


def test_a_process_account_close_is_recomputed_with_the_elements_as_declared(tmp_path):
    """The variance reports recompute a close from its stored inputs, whose canonical JSON sorts each
    stage's elements.  Under process_account normal-loss scrap reduces the first material element
    as declared ('seals' here): recomputed in sorted order, 'boxes' took it, and the bridge and
    method effect started from figures the close never had."""
    from costing.variance import recompute
    from tests.test_ledger_storage import process_account_demo

    data = process_account_demo()
    testing = next(s for p in data["products"] if p["name"] == "Espresso Classic" for s in p["stages"]
                   if s["name"] == "Testing")
    testing["elements"] = {"seals": {"kind": "material", "added": "start"},
                           "boxes": {"kind": "material", "added": "start"}, **testing["elements"]}
    testing["added_costs"] = {**testing["added_costs"], "seals": "600.00", "boxes": "900.00"}
    with Ledger(tmp_path / "ledger.db") as ledger:
        outcome = close_period(data, ledger, user="test")
        [stored] = load_closes(ledger, "2026-10")
    again = recompute(stored)
    assert [p.report for p in again.products] == [p.report for p in outcome.result.products]
    assert next(p for p in again.products if p.name == "Espresso Classic").report.stage(
        "Testing").normal_loss.by_element["seals"]


@pytest.fixture(scope="module")
def prorated_reclosed_ledger(tmp_path_factory) -> Path:
    """October (which prorates its overhead) and November closed; October reopened and closed again
    with Assembly's actual overhead 22,500 → 22,700: the 200.00 more under-applied overhead is
    prorated to WIP, finished goods and COGS."""
    path = tmp_path_factory.mktemp("prorated-reclosed") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-10", "Assembly overhead invoice late", user="controller")
        data = demo("2026-10")
        data["overhead"]["Assembly"]["actual"] = Decimal("22700.00")
        close_period(data, ledger, user="test")
    return path


def test_late_changes_show_the_finished_goods_share_of_a_proration(prorated_reclosed_ledger, capsys, tmp_path):
    import openpyxl

    from costing.variance import recompute

    db = str(prorated_reclosed_ledger)
    with Ledger(prorated_reclosed_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
        reclosed = reclosed_periods(ledger, ["2026-10", "2026-11"])
        first, second = load_closes(ledger, "2026-10")[-2:]
    report = build_variance_report(before, after, reclosed=reclosed)
    (late,) = report.late_changes
    fg = {l.product: l for l in late.finished_goods_proration}
    cogs = {l.what: l for l in late.cogs_as_posted.lines}
    # Each product's share, as each close carried it into finished goods.
    carried = {c.close_no: {p.name: p.fg_overhead_adjustment for p in recompute(c).products}
               for c in (first, second)}
    assert {name: (l.before, l.after) for name, l in fg.items() if name} == \
        {name: (carried[1][name], carried[2][name]) for name in carried[1]}
    total = fg[""]
    assert total.change == sum((l.change for name, l in fg.items() if name), D(0)) > 0
    # The 200.00 lands in WIP (ending WIP), finished goods and COGS (prorated, and written off for
    # the pools the close writes off), nowhere else: 17.00 + 22.45 + 140.55 + 20.00.
    wip = late.bridge.total(Metric.ENDING_WIP).change
    assert (wip, total.change, cogs["overhead_prorated"].change, cogs["overhead_written_off"].change) == \
        (D("17.00"), D("22.45"), D("140.55"), D("20.00"))
    assert wip + total.change + cogs["overhead_prorated"].change + cogs["overhead_written_off"].change == D("200.00")
    assert late.moved

    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger", db]) == 0
    (payload,) = json.loads(capsys.readouterr().out)["late_changes"]
    assert payload["finished_goods_proration"][-1] == {
        "product": "", "before": str(total.before), "after": str(total.after), "change": str(total.change)}
    # (no U/F: a balance carried into finished goods)

    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", db]) == 0
    section = capsys.readouterr().out.split("Late changes 2026-10: close #1 → close #2")[1]
    block = section.split("Overhead prorated to finished goods:")[1].splitlines()
    shown = next(l for l in block if l.strip().startswith("Total"))
    assert shown.split()[-1] == f"{total.change:,.2f}"
    # October #1 → #2 as the main bridge: the finished goods' share is not above, so it is shown here.
    assert main(["variance", "--from", "2026-10", "--to", "2026-10", "--ledger", db]) == 0
    section = capsys.readouterr().out.split("Late changes 2026-10: close #1 → close #2")[1]
    assert "(what they moved: the bridge above" in section
    shown = next(l for l in section.split("Overhead prorated to finished goods:")[1].splitlines()
                 if l.strip().startswith("Total"))
    assert shown.split()[-1] == f"{total.change:,.2f}"

    book = tmp_path / "v.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", db]) == 0
    capsys.readouterr()
    ws = openpyxl.load_workbook(book)["Variances"]
    values = openpyxl.load_workbook(book, data_only=True)["Variances"]
    top = next(r for r in range(1, ws.max_row + 1)
               if ws.cell(r, 1).value == "Overhead prorated to finished goods (under-applied +), by product")
    rows = {ws.cell(r, 1).value: r for r in range(top + 2, top + 3 + len(fg))}
    t = rows["Total"]
    assert ws.cell(t, 6).value == f"=SUM(F{top + 2}:F{t - 1})" and ws.cell(t, 8).value == f"=G{t}-F{t}"
    assert [values.cell(t, c).value for c in (6, 7, 9)] == [float(total.before), float(total.after), None]  # no U/F


@pytest.mark.parametrize("written, said", [
    ("", "expected a number, found ''"), ("1e3", "written with an exponent; write 1000"),
    ("1_000", "expected a number, found '1_000'"), ("\u0663", "not one of the digits 0-9; write 3"),
    ("5%", "expected a number, found '5%'; a percentage goes to --materiality-pct")])
def test_a_materiality_is_read_as_the_input_files_numbers_are(demo_ledger, capsys, written, said):
    """An empty --materiality (an unset variable) fell back to the file's; 1e3, 1_000 and another
    script's digits were taken as numbers, as no input file takes them."""
    code = main(["variance", "--from", "2026-10", "--to", "2026-11", "--materiality", written,
                 "--ledger", str(demo_ledger)])
    err = capsys.readouterr().err
    assert code == 2 and said in err and "[NOT_A_NUMBER]" in err


def test_a_materiality_with_more_places_than_the_currency_is_refused_not_rounded(demo_ledger, capsys):
    code = main(["variance", "--from", "2026-10", "--to", "2026-11", "--materiality", "100.005",
                 "--ledger", str(demo_ledger)])
    assert code == 2
    assert "--materiality: 100.005 has more decimal places than USD has [AMOUNT_PRECISION]" in capsys.readouterr().err
