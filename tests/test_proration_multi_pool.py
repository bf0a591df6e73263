"""A WIP element that holds the overhead of more than one pool (a later stage's transferred-in
cost), every pool over-applied and prorated back.

Each pool is allocated on its own, by largest remainder, on weights that are exact fractions of
what the element holds.  Two pools holding 0.005 each of an element posted at 0.01, both over-applied
by all they applied, each round their share up to 0.01: the element would be prorated to -0.01.  One
pool alone cannot do it (its share is at most its weight, and the element's posted amount is a whole
number of cents); two can, as their weights are not posted amounts.  The close repairs it: a cent of
one pool moves to another place of the same pool (engine 0.3.0).
"""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from costing.close._compute import _keep_wip_elements_at_or_above_zero
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.test_close_properties import ACCOUNTS


def _stage(name, completed, ending, driver, **more):
    return {"name": name, "elements": {"materials": {"kind": "material", "added": "start"},
                                       "labour": {"kind": "labour", "added": "evenly"},
                                       "overhead": {"kind": "overhead", "added": "evenly"}},
            "completed": completed, "ending_wip": {"units": ending, "complete": "0"},
            "added_costs": {"materials": "0", "labour": "0"}, "driver_quantity": driver, **more}


_NO_COST = {"materials": "0", "labour": "0", "overhead": "0"}
# Packaging receives 3 units holding 0.01 of Assembly's overhead and 0.01 of Testing's; its one unit
# left in WIP is posted 0.01 of transferred-in cost, half of it from each pool.
TWO_POOLS_IN_ONE_ELEMENT = {
    "company": "Random Works", "period": "2026-10", "currency": "USD", "method": "weighted_average",
    "finished_goods_method": "fifo", "overhead_disposition": "prorate", "materiality": "0", "accounts": ACCOUNTS,
    "overhead": {"Assembly": {"driver": "labour_hours", "rate": "0.01", "actual": "0"},
                 "Testing": {"driver": "labour_hours", "rate": "0.01", "actual": "0"},
                 "Packaging": {"driver": "labour_hours", "rate": "0", "actual": "0"}},
    "products": [{"name": "P1", "shipments": 1, "stages": [
        _stage("Assembly", 1, 0, 1, started=0, beginning_wip={"units": 1, "complete": "0", "cost": _NO_COST}),
        _stage("Testing", 3, 1, 1, beginning_wip={"units": 3, "complete": "0",
                                                  "cost": {**_NO_COST, "transferred_in": "0"}}),
        _stage("Packaging", 2, 1, 0)]}]}


def _close(data):
    with Ledger(":memory:") as ledger:
        return close_period(data, ledger, user="test").result


def test_the_element_holds_two_pools_overhead_in_fractions_of_a_cent():
    """The premise of the test below: if it stops holding, rebuild the case."""
    result = _close(TWO_POOLS_IN_ONE_ELEMENT)
    weights = {s.pool: s.weight for s in result.proration
               if (s.bucket, s.stage, s.element) == ("wip", "Packaging", "transferred_in")}
    assert set(weights) == {"Assembly", "Testing"}
    held = result.products[0].report.stage("Packaging").ending_wip.by_element["transferred_in"]
    assert sum(weights.values()) <= held
    assert all(w != w.quantize(held) for w in weights.values())
    assert all(line.actual == 0 and line.applied > 0 for line in result.overhead if line.stage in weights)


def test_two_pools_prorated_back_do_not_take_an_element_below_zero():
    result = _close(TWO_POOLS_IN_ONE_ELEMENT)
    for wip in result.products[0].closing_wip.values():
        assert all(cost >= 0 for cost in wip.cost.values()), (wip.stage, wip.cost)


def test_the_cent_moves_to_another_place_of_the_same_pool():
    """Both pools rounded their part in the element a half cent beyond its exact share: the earlier
    pool (Assembly) gives its cent back, to its place that rounded furthest short of its exact
    share — COGS and finished goods tie at a quarter cent, and COGS comes first."""
    result = _close(TWO_POOLS_IN_ONE_ELEMENT)
    amounts = {(s.pool, s.bucket, s.stage, s.element): s.amount for s in result.proration}
    for line in result.overhead:
        if line.stage in ("Assembly", "Testing"):
            assert sum(a for (pool, *_), a in amounts.items() if pool == line.stage) == line.under_applied
    held = result.products[0].report.stage("Packaging").ending_wip.by_element["transferred_in"]
    assert amounts["Testing", "wip", "Packaging", "transferred_in"] == -held
    assert amounts["Assembly", "wip", "Packaging", "transferred_in"] == 0
    assert amounts["Assembly", "cogs", "", ""] == -held
    assert result.products[0].cogs_overhead_adjustment == -held
    assert result.products[0].overhead_adjustment["Packaging"]["transferred_in"] == -held


def test_the_same_inputs_post_the_same_proration():
    assert _close(TWO_POOLS_IN_ONE_ELEMENT).proration == _close(TWO_POOLS_IN_ONE_ELEMENT).proration


def test_a_full_element_passes_the_cent_on_through_another_pool():
    """Pool A's only other place (element E2) is full, and so is pool B's (E3): A's cent goes to E2,
    and E2 passes a cent of pool C, which it held rounded beyond its exact share, on to COGS."""
    cent, half = Decimal("0.01"), Decimal("0.005")

    def wip(element):
        return ("wip", 0, "Stage", element)

    held = {"E1": cent, "E2": cent, "E3": cent}
    staged = [(None, None, None, {"Stage": SimpleNamespace(cost=held)})]
    allocations = [("A", [(wip("E1"), half), (wip("E2"), half)], [-cent, Decimal("0.00")]),
                   ("B", [(wip("E1"), half), (wip("E3"), half)], [-cent, Decimal("0.00")]),
                   ("C", [(wip("E2"), half), (("cogs", 0), half)], [-cent, Decimal("0.00")]),
                   ("D", [(wip("E3"), half), (("fg", 0), half)], [-cent, Decimal("0.00")])]
    _keep_wip_elements_at_or_above_zero(allocations, [Decimal(-1)] * 4, staged, cent)

    parts = {(pool, key): part for pool, buckets, pool_parts in allocations
             for (key, _), part in zip(buckets, pool_parts)}
    for pool, _, pool_parts in allocations:
        assert sum(pool_parts) == -cent, pool
    for element, amount in held.items():
        assert amount + sum(p for (_, key), p in parts.items() if key == wip(element)) >= 0, element
    assert parts["A", wip("E1")] == 0 and parts["A", wip("E2")] == -cent
    assert parts["C", wip("E2")] == 0 and parts["C", ("cogs", 0)] == -cent
    assert parts["B", wip("E1")] == -cent and parts["D", wip("E3")] == -cent  # nothing else moved
