"""Overhead proration never takes finished goods below zero: this period's layer on hand (where
the finished-goods part lands) keeps a cost at or above zero, and so a unit cost at or above zero.

It could go below zero two ways, both found by the search below (the close protected only WIP
elements then).  As a WIP element can: two over-applied pools each holding a fraction of a minor
unit of the layer's cost both round their part up (0.005 + 0.005 completed and on hand, posted
0.01: -0.01 each).  And, unlike a WIP element, by one pool alone: the layer holds what was completed
less the cost of the units shipped from it, and that cost is rounded (half up: 0.005 of 0.01
shipped is 0.01), so it can hold up to half a minor unit less than the exact remainder its weight
comes from; the pool's part there, rounded to the nearest minor unit, can exceed it.
Completed 0.01 of overhead for 2 units, 1 shipped: 0.01 to COGS, 0.00 left on hand, weighing 0.005
of the pool; the pool over-applied by its 0.01 splits -0.005 / -0.005 between COGS and finished
goods, both round to -0.01, COGS gives the minor unit back (the earlier part, on the tie) and the
layer went to -0.01 for 1 unit.  The close repairs it as it does a WIP element: the minor unit
moves to another place of the same pool that rounded short (engine 0.4.0).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, example, given, settings, target
from hypothesis import strategies as st

from costing.ledger import Ledger
from tests.test_close_properties import ACCOUNTS, _close
from tests.test_proration_tiny_costs import (FIFO_TWO_POOLS_IN_ONE_ELEMENT, _overhead_only_stage, checked_pool_shares,
                                            tiny, tiny_plant, tiny_product)
from tests.test_proration_multi_pool import TWO_POOLS_IN_ONE_ELEMENT

CENT = Decimal("0.01")


def _one_stage_plant(fg_method: str, rounding: str) -> dict:
    """One stage, nothing but 0.01 of this period's overhead, all over-applied; 2 units completed, 1 shipped."""
    return {"company": "Random Works", "period": "2026-10", "currency": "USD", "method": "weighted_average",
            "finished_goods_method": fg_method, "overhead_disposition": "prorate", "materiality": "0",
            "rounding": rounding, "accounts": {**ACCOUNTS, "wip": {"Assembly": ACCOUNTS["wip"]["Assembly"]}},
            "overhead": {"Assembly": {"driver": "labour_hours", "rate": "0.01", "actual": "0"}},
            "products": [{"name": "P0", "shipments": 1, "stages": [
                {"name": "Assembly", "elements": {"materials": {"kind": "material", "added": "start"},
                                                  "labour": {"kind": "labour", "added": "evenly"},
                                                  "overhead": {"kind": "overhead", "added": "evenly"}},
                 "completed": 2, "ending_wip": {"units": 0, "complete": "0"}, "started": 2,
                 "added_costs": {"materials": "0", "labour": "0"}, "driver_quantity": 1}]}]}


# Found by the search below (FIFO, half-up, nothing shipped): Packaging completes 1 of the 2 units it
# received, holding 0.01 of Assembly's overhead and 0.01 of Testing's; the unit on hand is posted 0.01,
# 0.005 of it each pool's, and so is the unit left in Packaging.  Both pools over-applied by all they
# applied: each splits -0.01 as -0.005 / -0.005 between Packaging's transferred-in cost and finished
# goods, the tie going the same way in both.
TWO_POOLS_IN_FINISHED_GOODS = {
    **FIFO_TWO_POOLS_IN_ONE_ELEMENT,
    "products": [{"name": "P0", "shipments": 0, "stages": [
        {**_overhead_only_stage("Assembly", 1, 1, 0, 1), "started": 0},
        _overhead_only_stage("Testing", 1, 2, 0, 1, transferred_in="0"),
        {key: value for key, value in _overhead_only_stage("Packaging", 0, 1, 1, 0).items()
         if key != "beginning_wip"}]}]}


def _outcome(data):
    with Ledger(":memory:") as ledger:
        return _close(data, ledger)


@pytest.mark.parametrize("fg_method", ["fifo", "weighted_average"])
def test_the_layer_left_on_hand_is_not_prorated_below_zero(fg_method):
    outcome = _outcome(_one_stage_plant(fg_method, "half_up"))
    product = outcome.result.products[0]
    # The premise: 0.01 of the 0.01 completed went to COGS, nothing is left on the unit on hand.
    assert product.cogs == CENT
    assert [(l.period, l.units, l.cost) for l in product.fg_closing] == [("2026-10", 1, Decimal("0.00"))]
    assert all(l.cost >= 0 for l in product.fg_closing)
    # The pool's minor unit went to COGS, which rounded short of its exact share on the tie.
    assert (product.fg_overhead_adjustment, product.cogs_overhead_adjustment) == (0, -CENT)
    shares = {s.bucket: s for s in outcome.result.proration}
    assert (shares["fg"].weight, shares["fg"].amount) == (Decimal("0.005"), 0)
    assert (shares["cogs"].weight, shares["cogs"].amount) == (Decimal("0.005"), -CENT)
    _balanced_and_tied(outcome)


def test_two_pools_prorated_back_do_not_take_finished_goods_below_zero():
    outcome = _outcome(TWO_POOLS_IN_FINISHED_GOODS)
    product = outcome.result.products[0]
    assert product.fg_completed_cost == CENT and product.cogs_units == 0  # the premise
    assert [(l.units, l.cost) for l in product.fg_closing] == [(1, Decimal("0.00"))]
    assert product.closing_wip["Packaging"].cost["transferred_in"] == 0
    # Assembly (the earlier pool, both rounded half a minor unit beyond) gives its finished-goods
    # minor unit to Packaging's transferred-in cost, its place that rounded short and has room.
    amounts = {(s.pool, s.bucket, s.stage): s.amount for s in outcome.result.proration}
    assert amounts["Assembly", "fg", ""] == 0 and amounts["Assembly", "wip", "Packaging"] == -CENT
    assert amounts["Testing", "fg", ""] == -CENT and amounts["Testing", "wip", "Packaging"] == 0
    for journal in outcome.journals.journals:
        assert journal.total_debit == journal.total_credit, journal.id
    assert outcome.rollforward.ties_ok


@pytest.mark.parametrize("fg_method", ["fifo", "weighted_average"])
def test_half_even_leaves_the_minor_unit_on_hand_and_the_plain_allocation(fg_method):
    """Half-even ships 0.00 of the 0.005: 0.01 is left on hand, and the plain allocation fits it."""
    product = _outcome(_one_stage_plant(fg_method, "half_even")).result.products[0]
    assert product.cogs == 0 and [l.cost for l in product.fg_closing] == [Decimal("0.00")]
    assert (product.fg_overhead_adjustment, product.cogs_overhead_adjustment) == (-CENT, 0)


@st.composite
def tiny_product_with_finished_goods(draw, index: int, fifo: bool):
    """A tiny product (tests/test_proration_tiny_costs) with, maybe, a tiny opening finished-goods
    layer, shipping up to all it has on hand."""
    product = draw(tiny_product(index, fifo))
    on_hand = product["stages"][-1]["completed"]
    if draw(st.booleans()):
        units = draw(st.integers(0, 3))
        product["opening_finished_goods"] = [{"units": units, "cost": draw(tiny) if units else "0",
                                              "period": "2026-09"}]
        on_hand += units
    product["shipments"] = draw(st.integers(0, on_hand))
    return product


def _on_hand_of_period(product, period):
    return [l for l in product.fg_closing if l.period == period]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tiny_plant(tiny_product_with_finished_goods))
@example(_one_stage_plant("fifo", "half_up"))
@example(_one_stage_plant("weighted_average", "half_up"))
@example(TWO_POOLS_IN_FINISHED_GOODS)
@example({**TWO_POOLS_IN_FINISHED_GOODS, "finished_goods_method": "weighted_average"})
@example(TWO_POOLS_IN_ONE_ELEMENT)
@example(FIFO_TWO_POOLS_IN_ONE_ELEMENT)
def test_overhead_proration_keeps_finished_goods_at_or_above_zero(data):
    outcome = _outcome(data)
    result = outcome.result
    for product in result.products:
        for layer in product.fg_closing:  # every layer, and so its unit cost
            assert layer.cost >= 0, (product.name, layer)
        assert sum(l.cost for l in product.fg_closing) >= 0, product.name
        for wip in product.closing_wip.values():
            assert all(cost >= 0 for cost in wip.cost.values()), (product.name, wip.stage, wip.cost)
    _balanced_and_tied(outcome)

    pools, shares, plain = checked_pool_shares(result, data.get("rounding", "half_up"))

    # What each protected place (WIP element; this period's layer on hand) held as posted before the
    # proration, and what the plain allocation leaves there counting only the over-applied pools.
    period = data["period"]
    left: dict[tuple, Decimal] = {}
    for pool, mine in shares.items():
        if pools[pool] >= 0:
            continue
        for share, part in zip(mine, plain[pool]):
            product = result.products[share.product]
            if share.bucket == "wip":
                key = ("wip", share.product, share.stage, share.element)
                if key not in left:
                    left[key] = (product.closing_wip[share.stage].cost[share.element]
                                 - product.overhead_adjustment[share.stage][share.element])
            elif share.bucket == "fg" and _on_hand_of_period(product, period):
                key = ("fg", share.product)
                if key not in left:
                    on_hand = sum(l.cost for l in _on_hand_of_period(product, period))
                    left[key] = on_hand - product.fg_overhead_adjustment
            else:
                continue
            left[key] += part
    # Steer the search towards finished goods the plain allocation leaves short (in minor units).
    target(-int(min((a for k, a in left.items() if k[0] == "fg"), default=CENT) / CENT),
           label="minor units a plain allocation takes finished goods below zero")
    if all(amount >= 0 for amount in left.values()):  # nothing to repair: the plain allocation, unchanged
        assert {pool: [s.amount for s in mine] for pool, mine in shares.items()} == plain


def _balanced_and_tied(outcome) -> None:
    """Every journal balances, the roll-forward ties, and finished goods roll forward to a closing
    balance at or above zero."""
    for journal in outcome.journals.journals:
        assert journal.total_debit == journal.total_credit, journal.id
    assert outcome.rollforward.ties_ok
    for fg in outcome.rollforward.finished_goods:
        assert fg.closing >= 0
        assert fg.opening + fg.completed - fg.cost_of_goods_sold + fg.overhead_adjustment == fg.closing
