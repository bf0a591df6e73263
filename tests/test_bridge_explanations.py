"""What a bridge explanation may say: a share of the change only from 0 % to 200 % (else the
driver's amount, what offset it and the net), whose units a volume driver's are, and the flow text's
WIP growth column."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from costing.cli import main
from costing.ledger import Ledger
from costing.variance import (
    LineFigures,
    Metric,
    PeriodFigures,
    build_bridge,
    build_flow,
    current_closes,
    units_of,
)
from costing.variance._bridge import MAX_SHARE_SHOWN
from costing.variance._render import render_flow
from tests.test_variance_bridge import report as bridge_report  # noqa: F401 - a fixture

D = Decimal


def figures(period: str, *lines: LineFigures) -> PeriodFigures:
    return PeriodFigures(period, 1, "fifo", "USD", D("0.01"), "half_up", tuple(lines))


def wip(product: str, units, completion, value) -> LineFigures:
    return LineFigures(Metric.ENDING_WIP, product, "Packaging", "labour", D(value), D(units), D(completion))


@pytest.fixture(scope="module")
def offset_line():
    # The pool (A and B) grows 12 → 20 units; A's own units 10 → 12, its completion 50 % → 40 %, at
    # $10 per EU in both months: volume +33.33, mix -23.33, completion -12.00, a change of -2.00.
    before = figures("2026-01", wip("A", 10, "0.5", "50.00"), wip("B", 2, "0.5", "10.00"))
    after = figures("2026-02", wip("A", 12, "0.4", "48.00"), wip("B", 8, "0.5", "40.00"))
    return build_bridge(before, after).line(Metric.ENDING_WIP, "A", "Packaging", "labour")


def test_a_driver_against_the_change_states_no_share_but_what_offset_it(offset_line):
    line = offset_line
    assert (line.volume, line.mix, line.completion, line.price, line.change) == \
        (D("33.33"), D("-23.33"), D("-12.00"), D("0.00"), D("-2.00"))
    assert line.explained.share_of_change is None  # it would be -1667 %
    assert line.explanation == (
        "All products' Packaging labour ending WIP units +66.7 % (12 → 20) moves ending WIP by +33.33, "
        "offset by mix -23.33 and completion -12.00 (net -2.00)")
    # The amounts the explanation shows add up to the net it states.
    e = line.explained
    assert e.amount + sum(p.amount for p in e.others) == e.change == line.change
    assert [(p.component, p.amount) for p in e.others] == [("mix", D("-23.33")), ("completion", D("-12.00"))]


def test_a_volume_driver_says_its_units_are_the_pools_not_the_lines(offset_line):
    # The line's own units went 10 → 12; the explanation's 12 → 20 are all products' (the pool's).
    d = offset_line.drivers
    assert (d.units_before, d.units_after, d.pool_units_before, d.pool_units_after) == (10, 12, 12, 20)
    assert offset_line.explanation.startswith("All products' Packaging labour ending WIP units +66.7 % (12 → 20)")
    assert ", all products," not in offset_line.explanation


def test_same_signed_components_are_named_beside_the_net_so_the_figures_add_up():
    # As offset_line, with A's cost per EU up to $10.50: price +2.40 moves the same way as volume.
    before = figures("2026-01", wip("A", 10, "0.5", "50.00"), wip("B", 2, "0.5", "10.00"))
    after = figures("2026-02", wip("A", 12, "0.4", "50.40"), wip("B", 8, "0.5", "40.00"))
    line = build_bridge(before, after).line(Metric.ENDING_WIP, "A", "Packaging", "labour")
    assert line.change == D("0.40") and line.price == D("2.40")
    assert line.explanation.endswith(
        "moves ending WIP by +33.33, offset by mix -23.33 and completion -12.00 (net +0.40, with price +2.40)")


def test_a_zero_change_names_what_cancelled_the_driver():
    before = figures("2026-01", wip("A", 10, "0.5", "50.00"))
    after = figures("2026-02", wip("A", 10, "0.4", "50.00"))  # less complete, dearer per EU: the same cost
    line = build_bridge(before, after).line(Metric.ENDING_WIP, "A", "Packaging", "labour")
    assert line.change == 0 and line.explained.share_of_change is None
    # Completion and price tie at 10.00: the earlier in the order of substitution is the driver.
    assert line.explanation == ("Packaging labour completion of ending WIP 50 % → 40 % moves ending WIP by -10.00, "
                                "offset by price +10.00 (net 0.00)")


demo_report = bridge_report  # the demo's two months, as tests/test_variance_bridge.py builds them


def test_no_demo_explanation_states_a_share_below_zero_or_above_200_percent(demo_report):
    explained = [l for l in demo_report.bridge.lines if l.explained]
    assert len(explained) > 80
    shares = [l.explained.share_of_change for l in explained if l.explained.share_of_change is not None]
    assert shares and all(0 <= s <= MAX_SHARE_SHOWN for s in shares)
    assert any(s > 100 for s in shares)  # the documented "above 100 %" case stays
    for l in explained:
        if l.explained.share_of_change is None:
            assert "%" not in l.explanation.split(" moves ")[1], l.explanation
            assert l.explained.amount + sum(p.amount for p in l.explained.others) == l.change


def test_the_accountants_lines_read_as_offsets(demo_report):
    b = demo_report.bridge
    overhead = b.line(Metric.TRANSFERRED_OUT, "Barista Pro", "Assembly", "overhead")
    assert overhead.explanation == (
        "All products' Assembly overhead units transferred out +3.5 % (625 → 647) moves cost transferred out by "
        "+291.47, offset by price -208.48 and mix -92.74 (net -9.75)")  # was "drives -2989 %"
    labour = b.line(Metric.ENDING_WIP, "Espresso Classic", "Packaging", "labour")
    assert labour.explanation.endswith(
        "moves ending WIP by +20.00, offset by mix -14.00 and completion -7.20 (net -0.99, with price +0.21)")
    # A share between 100 % and 200 % is stated as before.
    packaging = b.line(Metric.COST_ADDED, "Drip Home", "Packaging", "packaging")
    assert packaging.explanation.endswith("drives 188 % of the change in cost added")
    # A roll-up's driver is one pool: the rest of its component is named apart.
    stage = b.line(Metric.ENDING_WIP, stage="Packaging")
    assert stage.explanation.endswith("(net +705.85, with other pools' volume +40.51 and price +31.78)")


def test_the_text_report_words_offsets_in_its_locale(demo_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--detail", "--locale", "de_DE",
                 "--ledger", str(demo_ledger)]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if l.startswith("  * Espresso Classic / Packaging / transferred-in:")
                and "ending WIP" in l)
    assert line.endswith("moves ending WIP by +1.450,86, offset by mix -1.015,60 (net +468,12, with price +32,86)")


def test_the_flow_text_shows_wip_growth_as_a_percentage_to_one_place(demo_ledger, capsys):
    assert main(["flow", "--period", "2026-11", "--ledger", str(demo_ledger)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = next(l for l in lines if l.lstrip().startswith("stage "))
    assert "cycle days  WIP growth  " in header
    assembly = next(l for l in lines if l.lstrip().startswith("Assembly "))
    assert "  26.5 %  " in assembly  # (62 − 49) ÷ 49 = 0.265, the JSON's wip_growth


def test_the_flow_text_says_n_a_without_opening_wip(demo_ledger):
    with Ledger(demo_ledger) as ledger:
        report = build_flow([units_of(c) for c in current_closes(ledger, "2026-11")])
    json_growth = {s["stage"]: s["wip_growth"] for s in json.loads(report.model_dump_json())["stages"]}
    assert json_growth["Packaging"] == "0.667"
    no_opening = report.model_copy(update={"stages": tuple(
        s.model_copy(update={"wip_growth": None}) if s.stage == "Packaging" else s for s in report.stages)})
    packaging = next(l for l in render_flow(no_opening, "de_DE").splitlines() if l.lstrip().startswith("Packaging"))
    testing = next(l for l in render_flow(no_opening, "de_DE").splitlines() if l.lstrip().startswith("Testing"))
    assert "  n/a  " in packaging and "  32,0 %  " in testing


def test_a_pool_only_one_product_holds_units_in_is_that_products_own():
    """B has a line in both months but no units in the pool: A's 10 → 12 units are its own, not
    "all products'" (B's empty line made them read as other products' volume)."""
    before = figures("2026-01", wip("A", 10, "0.5", "50.00"), wip("B", 0, "0.5", "0.00"))
    after = figures("2026-02", wip("A", 12, "0.5", "60.00"), wip("B", 0, "0.5", "0.00"))
    line = build_bridge(before, after).line(Metric.ENDING_WIP, "A", "Packaging", "labour")
    assert line.explanation.startswith("Packaging labour ending WIP units +20.0 % (10 → 12)"), line.explanation


def test_cost_on_no_work_is_said_so_not_a_rate_gone():
    """Weighted average accepts cost charged to a stage with no work in the month: its cost per EU
    has no value there, and the price component carries the cost — said as what it is."""
    added = lambda units, value: LineFigures(Metric.COST_ADDED, "A", "Packaging", "labour", D(value), D(units),  # noqa: E731
                                             D(1))
    line = build_bridge(figures("2026-01", added(100, "804.00")),
                        figures("2026-02", added(0, "3000.00"))).line(Metric.COST_ADDED, "A", "Packaging", "labour")
    assert line.change == D("2196.00") and line.explained.component == "price"
    assert "gone" not in line.explanation
    assert "(8.04 → n/a: cost on no equivalent units of work in the later month)" in line.explanation, line.explanation


def test_a_share_rounding_to_nothing_is_0_percent_not_minus_0():
    from costing.variance._bridge import PlainNumbers, _pct

    assert _pct(D("-0.0001"), PlainNumbers()) == "0 %"
