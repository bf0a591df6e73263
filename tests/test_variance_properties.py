"""Properties of the bridge: on random pairs of periods every line's components add up to its
change exactly, to the cent, and every roll-up adds up its lines; on random months closed through
the real close, the bridge also ties to the two stored roll-forwards."""

from __future__ import annotations

import copy
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costing.close_service import close_period
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
)
from tests.demo_data import demo, on_another_october

D = Decimal

PRODUCTS = ["A", "B", "C"]
STAGES = ["Assembly", "Testing"]
ELEMENTS = ["materials", "labour", "transferred_in"]

money = st.integers(min_value=0, max_value=10_000_000).map(lambda c: D(c).scaleb(-2))
units = st.one_of(st.just(D(0)), st.integers(min_value=0, max_value=100_000).map(lambda u: D(u).scaleb(-1)))
completion = st.integers(min_value=0, max_value=100).map(lambda p: D(p).scaleb(-2))


@st.composite
def period_figures(draw, period: str, rounding: str) -> PeriodFigures:
    lines = []
    for metric in Metric:
        for product in PRODUCTS:
            if metric is Metric.COGS:
                if draw(st.booleans()):
                    lines.append(LineFigures(metric, product, "", "", draw(money), draw(units)))
                continue
            for stage in STAGES:
                for element in ELEMENTS:
                    if draw(st.integers(0, 3)) == 0:  # some lines missing in one period or the other
                        continue
                    c = draw(completion) if metric is Metric.ENDING_WIP else D(1)
                    lines.append(LineFigures(metric, product, stage, element, draw(money), draw(units), c))
    return PeriodFigures(period, 1, "fifo", "USD", D("0.01"), rounding, tuple(lines))


@st.composite
def pairs(draw):
    rounding = draw(st.sampled_from(["half_up", "half_even"]))
    return draw(period_figures("2026-01", rounding)), draw(period_figures("2026-02", rounding))


@settings(max_examples=300, deadline=None)
@given(pairs(), st.integers(0, 1000), st.integers(0, 50))
def test_on_random_pairs_of_periods_the_decomposition_sums_exactly(pair, absolute, percent):
    before, after = pair
    bridge = build_bridge(before, after, Materiality(absolute=D(absolute), percent=D(percent)))
    for line in bridge.lines:
        parts = [getattr(line, c) for c in COMPONENTS]
        assert sum(parts) == line.change == line.after - line.before
        assert line.sums_exactly and line.components_sum == line.change
        assert all(p == p.quantize(D("0.01")) for p in parts)
        if line.metric != Metric.ENDING_WIP.value:
            assert line.completion == 0
        if line.flagged:
            assert abs(line.change) >= absolute and line.explanation
    for metric in Metric:
        mine = [l for l in bridge.lines if l.metric == metric.value and l.level == "line"]
        if not mine:
            continue
        # Transferred out in total: each product's last stage in each month (cost of goods
        # manufactured); lines go missing at random, so a product's last stage can change.
        cogm = metric is Metric.TRANSFERRED_OUT
        total = bridge.total(metric)
        assert total.before == sum((l.value for l in before.lines if l.metric is metric and
                                    (not cogm or l.stage == bridge.final_stages_before[l.product])), D(0))
        assert total.after == sum((l.value for l in after.lines if l.metric is metric and
                                   (not cogm or l.stage == bridge.final_stages_after[l.product])), D(0))
        if not cogm:
            for c in COMPONENTS:
                assert getattr(total, c) == sum(getattr(l, c) for l in mine)
            continue
        products = [l for l in bridge.lines if (l.level, l.metric) == ("product", metric.value)]
        for c in COMPONENTS:
            assert getattr(total, c) == sum(getattr(l, c) for l in products)
        for product in products:
            stages = {bridge.final_stages_before.get(product.product), bridge.final_stages_after.get(product.product)}
            stages.discard(None)
            if len(stages) == 1:  # the same last stage: the product's COGM is that stage's lines
                last = [l for l in mine if l.product == product.product and l.stage in stages]
                for field in ("before", "after", "change"):
                    assert getattr(product, field) == sum(getattr(l, field) for l in last)
            # Its components are measured against all products' units completed to finished goods
            # (not its last stage's pool, as its lines are): they add up to its change.
            assert sum(getattr(product, c) for c in COMPONENTS) == product.change and product.sums_exactly


@settings(max_examples=200, deadline=None)
@given(pairs())
def test_the_bridge_is_antisymmetric_in_its_change_and_zero_on_itself(pair):
    before, after = pair
    forward, backward = build_bridge(before, after), build_bridge(after, before)
    for metric in Metric:
        try:
            f, b = forward.total(metric), backward.total(metric)
        except KeyError:
            continue
        assert f.change == -b.change
    same = build_bridge(before, before)
    assert all(not getattr(l, c) for l in same.lines for c in COMPONENTS + ("change",))


# ---- through the real close: random second months ----------------------------------------------

factor = st.integers(min_value=50, max_value=200).map(lambda p: D(p) / 100)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(factor, min_size=9, max_size=9), st.lists(st.integers(1, 9), min_size=9, max_size=9),
       st.sampled_from(["fifo", "weighted_average"]), st.booleans())
def test_random_months_closed_for_real_bridge_exactly_and_tie(tmp_path_factory, factors, tenths, method,
                                                               process_account):
    october, november = demo("2026-10"), on_another_october(demo("2026-11"))
    for data in (october, november):
        data["method"] = method
        if process_account:
            data["loss_convention"] = "process_account"
            data["accounts"].update(scrap={"code": "1260", "name": "Scrap"},
                                    abnormal_loss={"code": "5830", "name": "Abnormal loss"},
                                    abnormal_gain={"code": "4830", "name": "Abnormal gain"})
            for product in data["products"]:
                for stage in product["stages"]:
                    if stage.pop("spoilage", None) is not None:
                        stage["normal_loss"] = {"rate": "0.02", "scrap_value": "15.00"}
    november = copy.deepcopy(november)
    i = 0
    for product in november["products"]:
        for stage in product["stages"]:
            stage["added_costs"] = {k: str((D(str(v)) * factors[i]).quantize(D("0.01")))
                                    for k, v in stage["added_costs"].items()}
            stage["ending_wip"]["complete"] = str(D(tenths[i]) / 10)
            stage.pop("count", None)
            i += 1
    with Ledger(tmp_path_factory.mktemp("prop") / "l.db") as ledger:
        close_period(october, ledger, user="test")
        close_period(november, ledger, user="test")
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    report = build_variance_report(before, after)
    assert report.all_sum_exactly and report.ties_ok
    for line in report.bridge.lines:
        assert sum(getattr(line, c) for c in COMPONENTS) == line.change
