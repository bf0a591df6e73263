"""Immutable values are immutable all the way down: the maps inside a close's results (and the
closing state the ledger gives back) refuse every change (``FrozenDict``) and their sequences are
tuples, so that a result recorded in the ledger cannot be altered afterwards through one of its
maps.  Frozen, they still read, compare, copy, pickle and encode as dicts.  (The production cost
reports' and the resolved case's maps are not frozen yet: see ``FrozenDict``'s docstring.)"""

from __future__ import annotations

import copy
import json
import pickle
from decimal import Decimal

import pytest

from costing._model import FrozenDict
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo


def refuses_every_change(mapping) -> None:
    """Each way of changing a dict in place raises TypeError, and the map is as it was."""
    before = dict(mapping)
    key = next(iter(mapping), "materials")
    changes = [
        lambda m: m.__setitem__(key, Decimal("999")),
        lambda m: m.__setitem__("smuggled", Decimal("1")),
        lambda m: m.__delitem__(key),
        lambda m: m.update({key: Decimal("999")}),
        lambda m: m.setdefault("smuggled", Decimal("1")),
        lambda m: m.pop(key),
        lambda m: m.popitem(),
        lambda m: m.clear(),
        lambda m: m.__ior__({key: Decimal("999")}),
    ]
    for change in changes:
        with pytest.raises(TypeError, match="immutable"):
            change(mapping)
    assert dict(mapping) == before


# ---- the frozen map itself ------------------------------------------------------------------------

def test_a_frozen_map_reads_compares_and_encodes_as_the_dict_it_holds():
    plain = {"materials": Decimal("1200.50"), "labour": Decimal("310.40")}
    frozen = FrozenDict(plain)

    assert frozen == plain and frozen["labour"] == Decimal("310.40") and list(frozen) == ["materials", "labour"]
    assert json.dumps(frozen, default=str) == json.dumps(plain, default=str)
    assert {**frozen, "overhead": Decimal(0)} == {**plain, "overhead": Decimal(0)}
    assert repr(frozen) == repr(plain)
    refuses_every_change(frozen)


def test_a_frozen_map_survives_pickle_and_copy_still_frozen():
    """The close sends some plans between its processes pickled; copies stay frozen too."""
    frozen = FrozenDict(materials=Decimal("1.25"), labour=Decimal("0.75"))
    for again in (pickle.loads(pickle.dumps(frozen, protocol=pickle.HIGHEST_PROTOCOL)),
                  pickle.loads(pickle.dumps(frozen, protocol=0)), copy.copy(frozen), copy.deepcopy(frozen),
                  FrozenDict.fromkeys(frozen, Decimal(0))):
        assert type(again) is FrozenDict
        refuses_every_change(again)
    assert pickle.loads(pickle.dumps(frozen)) == frozen


# ---- what close_period returns ------------------------------------------------------------------

@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    """The demo's October closed on a fresh ledger: (the outcome, the ledger, still open)."""
    with Ledger(tmp_path_factory.mktemp("frozen") / "ledger.db") as ledger:
        yield close_period(demo("2026-10"), ledger, user="test"), ledger


@pytest.fixture(scope="module")
def october(closed):
    return closed[0]


def test_the_results_of_a_close_refuse_every_change(october):
    result = october.result
    # The demo's October has count differences and prorated overhead: every map below is filled.
    assert any(p.count_adjustments for p in result.products)
    assert any(p.overhead_adjustment for p in result.products)
    for product in result.products:
        for mapping in (product.applied_overhead, product.count_adjustments, product.overhead_adjustment,
                        product.closing_wip, *product.overhead_adjustment.values()):
            assert type(mapping) is FrozenDict, product.name
            refuses_every_change(mapping)
        for adjustment in product.count_adjustments.values():
            refuses_every_change(adjustment.by_element)
        for wip in product.closing_wip.values():
            refuses_every_change(wip.cost)
            refuses_every_change(wip.completion)


def test_the_proration_a_close_keeps_is_tuples_all_the_way_down(october):
    allocations = october.result.allocations
    assert allocations
    for pool, buckets, parts in allocations:
        assert type(buckets) is tuple and type(parts) is tuple, pool
    assert sum(share.amount for share in october.result.proration) == sum(
        sum(parts, Decimal(0)) for _, _, parts in allocations)


def test_the_closing_state_the_ledger_gives_back_refuses_every_change(closed):
    """What the next month opens from, read back from the ledger."""
    _, ledger = closed
    state = ledger.current_close("2026-10").state
    assert state.wip and state.finished_goods
    refuses_every_change(state.wip)
    refuses_every_change(state.finished_goods)
    for wip in state.wip.values():
        refuses_every_change(wip.cost)
        refuses_every_change(wip.completion)
