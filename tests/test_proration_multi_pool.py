"""A known hole in overhead proration, kept as a strict xfail until it is fixed: a WIP element that
holds the overhead of more than one pool (a later stage's transferred-in cost).

Each pool is allocated on its own, by largest remainder, on weights that are exact fractions of
what the element holds.  Two pools holding 0.005 each of an element posted at 0.01, both over-applied
by all they applied, each round their share up to 0.01: the element is prorated to -0.01.  One pool
alone cannot do it (its share is at most its weight, and the element's posted amount is a whole
number of cents); two can, as their weights are not posted amounts.  Restoring it means weights
rounded as posted per element across pools (or a repair of the allocation where an element would
go below zero) — either moves posted figures, so it waits for an engine version decision.
"""

from __future__ import annotations

import pytest

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
    """The premise of the xfail below, which holds today: if it stops holding, rebuild the case."""
    result = _close(TWO_POOLS_IN_ONE_ELEMENT)
    weights = {s.pool: s.weight for s in result.proration
               if (s.bucket, s.stage, s.element) == ("wip", "Packaging", "transferred_in")}
    assert set(weights) == {"Assembly", "Testing"}
    held = result.products[0].report.stage("Packaging").ending_wip.by_element["transferred_in"]
    assert sum(weights.values()) <= held
    assert all(w != w.quantize(held) for w in weights.values())
    assert all(line.actual == 0 and line.applied > 0 for line in result.overhead if line.stage in weights)


@pytest.mark.xfail(strict=True, reason="two pools' shares each rounded up in one element: see the module docstring")
def test_two_pools_prorated_back_do_not_take_an_element_below_zero():
    result = _close(TWO_POOLS_IN_ONE_ELEMENT)
    for wip in result.products[0].closing_wip.values():
        assert all(cost >= 0 for cost in wip.cost.values()), (wip.stage, wip.cost)
