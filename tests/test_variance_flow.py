"""WIP flow and cover on the demo's two months: throughput, average WIP and Little's-law cycle time
checked by hand, the bottleneck, forecasts of open orders, finished-goods weeks of cover."""

from __future__ import annotations

import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from costing._casefile import read_data_file
from costing.cli import main
from costing.ledger import Ledger
from costing.variance import build_flow, current_closes, resolve_orders, units_of

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"
ORDERS = ROOT / "examples" / "demo" / "orders.yaml"
D = Decimal


def r2(x: Decimal) -> Decimal:
    return x.quantize(D("0.01"), rounding=ROUND_HALF_UP)


@pytest.fixture(scope="module")
def history(demo_ledger):
    with Ledger(demo_ledger) as ledger:
        return [units_of(c) for c in current_closes(ledger, "2026-11")]


@pytest.fixture(scope="module")
def flow(history):
    orders, issues = resolve_orders(read_data_file(ORDERS)[0], {"Espresso Classic", "Barista Pro", "Drip Home"})
    assert not issues
    return build_flow(history, orders=orders, horizon_days=7)


def test_stage_flow_by_hand(flow):
    assembly = next(s for s in flow.stages if s.stage == "Assembly")
    # November: completed 314 + 128 + 205; opening WIP 29 + 10 + 10 (after October's count);
    # closing 35 + 12 + 15; 30 days.
    assert (assembly.completed, assembly.opening_wip, assembly.closing_wip, assembly.days) == (647, 49, 62, 30)
    throughput = D(647) / 30
    assert assembly.throughput_per_day == r2(throughput) == D("21.57")
    assert assembly.average_wip == D("55.5")
    assert assembly.cycle_time_days == r2(D("55.5") / throughput) == D("2.57")
    assert [p.period for p in assembly.trend] == ["2026-10", "2026-11"]
    testing = next(s for s in flow.stages if s.stage == "Testing")
    assert testing.closing_wip == 24 + 4 + 5  # the counted 24, not the book 25


def test_the_bottleneck_and_the_fastest_growing_wip_are_flagged(flow):
    assert [s.stage for s in flow.stages if s.bottleneck] == ["Assembly"]  # longest cycle time
    assert [s.stage for s in flow.stages if s.wip_growing_fastest] == ["Packaging"]  # 12 → 20 units
    packaging = next(s for s in flow.stages if s.stage == "Packaging")
    assert packaging.cycle_time_trend == "rising"


def test_orders_are_forecast_from_stock_wip_and_new_starts(flow):
    by_id = {o.id: o for o in flow.orders}
    assert [o.id for o in flow.orders] == ["SO-1001", "SO-1002", "SO-1003", "SO-1004", "SO-1005"]
    # Espresso: 48 finished on hand cover SO-1001's 40 units at once.
    first = by_id["SO-1001"]
    assert (first.source, first.forecast, first.at_risk, first.slack_days) == ("stock", dt.date(2026, 11, 30), False, 3)
    # SO-1002: 100 units in all, 52 beyond stock, from WIP at 303 / 30 = 10.1 a day: 5.1 → 6 days.
    second = by_id["SO-1002"]
    assert (second.cumulative_units, second.source, second.forecast) == (100, "wip", dt.date(2026, 12, 6))
    assert second.at_risk and second.slack_days == -1
    # Drip Home: 1 on hand, 27 in WIP; 300 units need new starts at 190 / 30 a day: 299 / 6.33 → 48 days.
    drip = by_id["SO-1005"]
    assert (drip.source, drip.forecast, drip.at_risk) == ("new_starts", dt.date(2027, 1, 17), True)


def test_new_starts_lead_time_is_the_products_own_stage_cycle_times(flow):
    """Barista Pro's and Drip Home's stages take 3.79 and 2.76 days for them, not the plant's 4.74."""
    by_id = {o.id: o for o in flow.orders}
    plant = sum(s.cycle_time_days for s in flow.stages)
    for order_id, product, lead in (("SO-1004", "Barista Pro", D("3.79")), ("SO-1005", "Drip Home", D("2.76"))):
        own = sum(p.cycle_time_days for p in flow.product_stages if p.product == product)
        order = by_id[order_id]
        assert order.source == "new_starts" and order.lead_time_days == own == lead != plant
        assert order.lead_time_plant_stages == ()
        assert order.reason.endswith(f"lead time {lead} days")


def test_a_stage_the_product_completed_nothing_in_takes_the_plants_cycle_time_and_says_so():
    from costing.variance import Order, PeriodUnits

    # Slow completed nothing in Mixing (no cycle time of its own there): the plant's Mixing, all
    # products, (5 + 10 + 8 + 10) ÷ 2 = 16.5 units of WIP at 30 ÷ 30 = 1 a day = 16.5 days, stands in;
    # its own Filling: (10 + 0) ÷ 2 = 5 units at 10 ÷ 30 a day = 15 days.  Lead time 31.5 days.
    units = PeriodUnits(
        period="2026-11", stage_order=("Mixing", "Filling"),
        product_stages={("Slow", "Mixing"): (D(5), D(0), D(8)), ("Slow", "Filling"): (D(10), D(10), D(0)),
                        ("Fast", "Mixing"): (D(10), D(30), D(10)), ("Fast", "Filling"): (D(0), D(30), D(0))},
        product_stage_order={"Slow": ("Mixing", "Filling"), "Fast": ("Mixing", "Filling")},
        shipped={"Slow": D(10), "Fast": D(30)}, fg_on_hand={"Slow": D(0), "Fast": D(0)})
    (order,) = build_flow([units], orders=[Order(id="S-1", product="Slow", units=D(20),
                                                 due=dt.date(2027, 1, 31))]).orders
    assert (order.source, order.lead_time_days, order.lead_time_plant_stages) == ("new_starts", D("31.5"), ("Mixing",))
    assert "lead time 31.5 days (Mixing: Slow completed nothing there, so the plant's cycle time" in order.reason


def test_weeks_of_cover(flow):
    espresso = next(c for c in flow.cover if c.product == "Espresso Classic")
    # 48 on hand; shipped 270 + 300 over 31 + 30 days = 8.714 weeks → 65.41 a week → 0.73 weeks.
    assert espresso.on_hand == 48 and espresso.periods == ("2026-10", "2026-11")
    assert espresso.weekly_shipments == r2(D(570) / (D(61) / 7)) == D("65.41")
    assert espresso.weeks_of_cover == D("0.73") and espresso.flag == "below"
    # With a 7-day horizon, WIP expected to finish is added: min(pipeline 71, 10.1 × 7).
    assert espresso.expected_from_wip == D("70.7")


def test_cover_band_and_history_window(history):
    report = build_flow(history, cover_periods=1, band=(D(0), D("0.5")))
    espresso = next(c for c in report.cover if c.product == "Espresso Classic")
    assert espresso.periods == ("2026-11",) and espresso.flag == "above"  # 48 / 70 a week = 0.69 > 0.5


def test_golden_json(flow, data_regression):
    data_regression.check(json.loads(flow.model_dump_json()))


def test_cli_flow_text_golden(demo_ledger, capsys, file_regression):
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--horizon-days", "7",
                 "--ledger", str(demo_ledger)]) == 0
    file_regression.check(capsys.readouterr().out, extension=".txt")


def test_cli_orders_from_csv(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text("id,product,units,due\nA-1,Barista Pro,20,2026-12-02\n")
    assert main(["flow", "--period", "2026-11", "--orders", str(orders), "--json", "--ledger", str(demo_ledger)]) == 0
    (order,) = json.loads(capsys.readouterr().out)["orders"]
    assert (order["id"], order["source"], order["at_risk"]) == ("A-1", "stock", False)


@pytest.mark.parametrize("content, code", [
    ("id,product,units,due\nA-1,Cold Brew,20,2026-12-02\n", "UNKNOWN_PRODUCT"),
    ("id,product,units,due\nA-1,Barista Pro,-5,2026-12-02\n", "NEGATIVE_UNITS"),
    ("id,product,units,due\nA-1,Barista Pro,5,next week\n", "INVALID_FORMAT"),
    ("id,product,units,due,priority\nA-1,Barista Pro,5,2026-12-02,high\n", "UNKNOWN_KEY"),
])
def test_cli_bad_orders_are_located(demo_ledger, tmp_path, capsys, content, code):
    orders = tmp_path / "orders.csv"
    orders.write_text(content)
    assert main(["flow", "--period", "2026-11", "--orders", str(orders), "--ledger", str(demo_ledger)]) == 2
    err = capsys.readouterr().err
    # The CSV's line, as a spreadsheet shows it: a column the orders do not take, at the header.
    assert f"{orders}: {'line 1: ' if code == 'UNKNOWN_KEY' else 'line 2, '}" in err and f"[{code}]" in err
    if code == "UNKNOWN_KEY":  # the hint names the orders' own keys, not the case file's schema
        assert "an order takes product, units, due and id" in err and "wip schema" not in err


def test_cli_flow_refuses_an_open_period_and_a_bad_band(demo_ledger, capsys):
    assert main(["flow", "--period", "2026-12", "--ledger", str(demo_ledger)]) == 2
    assert "[NOT_CLOSED]" in capsys.readouterr().err
    assert main(["flow", "--period", "2026-11", "--cover-band", "8-4", "--ledger", str(demo_ledger)]) == 2
    err = capsys.readouterr().err
    assert "LOW 8 is above HIGH 4" in err and "[INVALID_RANGE]" in err


@pytest.mark.parametrize("units", ["100000000", "999999999999999"])
def test_an_order_too_large_to_forecast_is_beyond_the_horizon_not_a_crash(demo_ledger, tmp_path, capsys, units):
    orders = tmp_path / "orders.csv"
    orders.write_text(f"id,product,units,due\nBIG,Espresso Classic,{units},2026-12-20\n")
    assert main(["flow", "--period", "2026-11", "--orders", str(orders), "--json", "--ledger", str(demo_ledger)]) == 0
    (order,) = json.loads(capsys.readouterr().out)["orders"]
    assert (order["forecast"], order["slack_days"], order["at_risk"], order["beyond_horizon"]) == \
           (None, None, True, True)
    assert order["reason"].endswith("; forecast not within 100 years")
    assert main(["flow", "--period", "2026-11", "--orders", str(orders), "--ledger", str(demo_ledger)]) == 0
    row = next(l for l in capsys.readouterr().out.splitlines() if l.lstrip().startswith("BIG"))
    assert "not within 100 years" in row and "AT RISK" in row


def test_the_how_column_uses_the_reports_locale(demo_ledger, capsys):
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--locale", "de_DE",
                 "--ledger", str(demo_ledger)]) == 0
    out = capsys.readouterr().out
    assert "52 units from WIP at 10,1 units/day" in out and "lead time 3,79 days" in out
    assert "10.1 units/day" not in out


def test_an_empty_orders_file_is_said_to_be_empty(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.yaml"
    orders.write_text("")
    assert main(["flow", "--period", "2026-11", "--orders", str(orders), "--ledger", str(demo_ledger)]) == 2
    err = capsys.readouterr().err
    assert "the orders file is empty" in err and "NoneType" not in err


def _units(period: str, stages: dict, shipped: dict, on_hand: dict):
    """PeriodUnits of one product per key of ``stages``: {product: {stage: (opening, completed, closing)}}."""
    from costing.variance import PeriodUnits

    order = tuple(dict.fromkeys(s for per in stages.values() for s in per))
    return PeriodUnits(period=period, stage_order=order,
                       product_stages={(p, s): tuple(D(x) for x in f) for p, per in stages.items()
                                       for s, f in per.items()},
                       product_stage_order={p: tuple(per) for p, per in stages.items()},
                       shipped={p: D(x) for p, x in shipped.items()}, fg_on_hand={p: D(x) for p, x in on_hand.items()})


def test_a_stalled_stage_is_the_bottleneck():
    """A stage holding WIP that completed nothing has no finite cycle time: work waits there and
    nothing comes out, so it is flagged before a moving stage with a long cycle time (Packaging
    here, 40 days); of two stalled stages the one holding more WIP; a stage with neither WIP nor
    completions is never flagged."""
    report = build_flow([_units("2026-11", {"P": {"Assembly": (10, 300, 10), "Testing": (5, 0, 5),
                                                  "Packaging": (400, 300, 400), "Boxing": (0, 0, 0)}},
                                {"P": 0}, {"P": 0})])
    assert [s.stage for s in report.stages if s.bottleneck] == ["Testing"]
    assert next(s for s in report.stages if s.stage == "Testing").cycle_time_days is None
    assert report.notes == ("Testing: WIP but nothing completed in 2026-11; no cycle time (stalled: the bottleneck)",)
    two = build_flow([_units("2026-11", {"P": {"Assembly": (0, 0, 3), "Testing": (5, 0, 5), "Boxing": (0, 0, 0)}},
                             {"P": 0}, {"P": 0})])
    assert [s.stage for s in two.stages if s.bottleneck] == ["Testing"]  # 5 units waiting against 1.5
    idle = build_flow([_units("2026-11", {"P": {"Assembly": (0, 0, 0)}}, {"P": 0}, {"P": 0})])
    assert not any(s.bottleneck for s in idle.stages)


def test_weeks_of_cover_are_flagged_as_shown():
    """903 on hand against 1,000 shipped in 31 days: 3.999 weeks, shown as 4.00 — inside the 4–8
    band, not BELOW it (the figure and its flag agree)."""
    report = build_flow([_units("2026-10", {"P": {"Assembly": (0, 10, 0)}}, {"P": 1000}, {"P": 903})])
    (cover,) = report.cover
    assert (cover.weeks_of_cover, cover.flag) == (D("4.00"), "")
    below = build_flow([_units("2026-10", {"P": {"Assembly": (0, 10, 0)}}, {"P": 1000}, {"P": 900})])
    assert (below.cover[0].weeks_of_cover, below.cover[0].flag) == (D("3.99"), "below")


def test_a_new_product_is_averaged_over_the_months_it_was_in(tmp_path):
    """Launched in November: its 80 units shipped are 80 × 7 ÷ 30 = 18.67 a week (1.07 weeks of
    20), not spread over October too (9.18 a week, 2.18 weeks); the older product keeps both months."""
    october = _units("2026-10", {"Old": {"Assembly": (0, 100, 0)}}, {"Old": 62}, {"Old": 10})
    november = _units("2026-11", {"Old": {"Assembly": (0, 100, 0)}, "New": {"Assembly": (0, 100, 0)}},
                      {"Old": 60, "New": 80}, {"Old": 10, "New": 20})
    report = build_flow([october, november])
    new = next(c for c in report.cover if c.product == "New")
    assert (new.periods, new.shipped, new.days) == (("2026-11",), 80, 30)
    assert (new.weekly_shipments, new.weeks_of_cover, new.flag) == (D("18.67"), D("1.07"), "below")
    old = next(c for c in report.cover if c.product == "Old")
    assert (old.periods, old.shipped, old.days) == (("2026-10", "2026-11"), 122, 61)
    from costing.variance._render import render_flow

    assert "(shipments averaged over 2026-10, 2026-11; New over 2026-11 only)" in render_flow(report)


def test_a_trend_from_no_wip_rises_when_a_cycle_time_appears():
    """A first point of 0.00 days (no WIP at either month-end) was 'n/a' whatever came after."""
    october = _units("2026-10", {"P": {"Assembly": (0, 100, 0)}}, {"P": 0}, {"P": 0})
    november = _units("2026-11", {"P": {"Assembly": (0, 100, 30)}}, {"P": 0}, {"P": 0})
    assert build_flow([october, november]).stages[0].cycle_time_trend == "rising"
    assert build_flow([october, october]).stages[0].cycle_time_trend == "flat"


def test_the_flow_reads_only_the_months_its_windows_need(demo_ledger):
    """A ledger's every month decoded at once took gigabytes on a large plant: the flow report reads
    the last max(--periods, --cover-periods) months, one at a time, without what it does not use."""
    from costing.variance import each_current_close

    with Ledger(demo_ledger) as ledger:
        (november,) = list(each_current_close(ledger, "2026-11", last=1, light=True))
        assert (november.period, november.prior, november.journals) == ("2026-11", None, None)
        full = current_closes(ledger, "2026-11")
        assert [c.period for c in full] == ["2026-10", "2026-11"] and full[-1].prior is not None
        assert units_of(november) == units_of(full[-1])


def test_a_reopened_month_left_out_of_the_averages_is_said(tmp_path, capsys):
    """Review: with October reopened, November's flow averaged November alone and said nothing
    under the report (the NEEDS_RE_CLOSE warning on stderr is about November's own figures)."""
    from costing.close_service import close_period, reopen_period
    from tests.demo_data import demo

    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="t")
        close_period(demo("2026-11"), ledger, user="t")
    assert main(["flow", "--period", "2026-11", "--ledger", str(db)]) == 0
    assert "is reopened" not in capsys.readouterr().out
    with Ledger(db) as ledger:
        reopen_period(ledger, "2026-10", "late invoice", user="c")
    assert main(["flow", "--period", "2026-11", "--ledger", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2026-10 is reopened: not in the trend or the shipments averaged until it is closed again" in out
    assert "(shipments averaged over 2026-11)" in out
