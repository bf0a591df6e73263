"""Overhead proration after a WIP count shortage: a stage's share of its pool's difference is
weighed on the overhead its closing WIP holds after the count, as posted, so prorating an
over-applied pool back never takes an element of closing WIP below zero."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo
from tests.test_close_properties import SHORT_COUNT_ALL_OVER_APPLIED

_PRECISION = Decimal("1e-20")  # weights are exact to the engine's precision, never posted


def _close(data):
    with Ledger(":memory:") as ledger:
        return close_period(data, ledger, user="test").result


def _shares(result, pool: str, product: int, stage: str, element: str):
    return [s for s in result.proration
            if (s.pool, s.bucket, s.product, s.stage, s.element) == (pool, "wip", product, stage, element)]


def test_a_short_count_with_all_overhead_over_applied_leaves_no_element_below_zero():
    result = _close(SHORT_COUNT_ALL_OVER_APPLIED)
    (assembly,) = [line for line in result.overhead if line.stage == "Assembly"]
    assert assembly.disposition == "prorate" and assembly.actual == 0 and assembly.applied > 0
    product = result.products[0]
    assert product.count_adjustments["Assembly"].counted_units < product.count_adjustments["Assembly"].book_units
    for wip in product.closing_wip.values():
        assert all(cost >= 0 for cost in wip.cost.values()), (wip.stage, wip.cost)
    for line in result.overhead:
        if line.disposition == "prorate":
            mine = [s for s in result.proration if s.pool == line.stage]
            assert sum(s.amount for s in mine) == line.under_applied
            assert abs(sum(s.weight for s in mine) - line.applied) < _PRECISION


def _assert_weight_is_the_overhead_held_after_the_count(result, product_index: int, stage: str) -> None:
    product = result.products[product_index]
    count = product.count_adjustments[stage]
    assert count.counted_units < count.book_units  # a shortage, written off at cost
    (share,) = _shares(result, stage, product_index, stage, "overhead")
    held_after_count = product.closing_wip[stage].cost["overhead"] - share.amount
    assert held_after_count == product.report.stage(stage).ending_wip.by_element["overhead"] \
        + count.by_element["overhead"]
    # FIFO, the stage's own overhead: all of what the element holds is this period's, from this pool.
    assert abs(share.weight - held_after_count) < _PRECISION


def test_a_stage_short_at_the_count_weighs_the_overhead_it_holds_as_posted_not_its_units_share():
    result = _close(SHORT_COUNT_ALL_OVER_APPLIED)
    count = result.products[0].count_adjustments["Assembly"]
    book = result.products[0].report.stage("Assembly").ending_wip.by_element["overhead"]
    # The case at hand: the rounded shortage took more overhead than the units' share of it.
    assert -count.by_element["overhead"] > book * (count.book_units - count.counted_units) / count.book_units
    _assert_weight_is_the_overhead_held_after_the_count(result, 0, "Assembly")


def test_the_overhead_written_off_with_the_shortage_is_weighed_with_cogs():
    """What left WIP with the shortage was expensed (count difference): its weight goes with COGS,
    and the pool's weights still add up to its overhead applied."""
    result = _close(SHORT_COUNT_ALL_OVER_APPLIED)
    (cogs,) = [s for s in result.proration if (s.pool, s.bucket, s.product) == ("Assembly", "cogs", 0)]
    written_off_with_shortage = -result.products[0].count_adjustments["Assembly"].by_element["overhead"]
    assert written_off_with_shortage > 0
    assert cogs.weight >= written_off_with_shortage - _PRECISION
    applied = next(line.applied for line in result.overhead if line.stage == "Assembly")
    assert abs(sum(s.weight for s in result.proration if s.pool == "Assembly") - applied) < _PRECISION


@pytest.mark.parametrize("product_name, stage, units_short", [
    ("Espresso Classic", "Assembly", 1),  # the demo's own count: 15.02 of overhead a unit, whole cents
    ("Barista Pro", "Assembly", 1),  # 199.66 over 10 units: the units' share is not a posted amount
    ("Espresso Classic", "Testing", 3),
])
def test_the_demo_short_at_the_count_weighs_what_the_stage_holds_after_it(product_name, stage, units_short):
    data = copy.deepcopy(demo("2026-10"))
    index = next(i for i, p in enumerate(data["products"]) if p["name"] == product_name)
    short_stage = next(s for s in data["products"][index]["stages"] if s["name"] == stage)
    short_stage["count"] = short_stage["ending_wip"]["units"] - units_short
    result = _close(data)
    _assert_weight_is_the_overhead_held_after_the_count(result, index, stage)
    for product in result.products:
        for wip in product.closing_wip.values():
            assert all(cost >= 0 for cost in wip.cost.values()), (product.name, wip.stage, wip.cost)
