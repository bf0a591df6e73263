"""The fast path for clean close files (``costing.close._fast``) gives exactly the plan the
general path gives (pydantic ``ProductSpec`` → ``_resolve_product``), and never accepts a product
the general path refuses: on generated plants, on those plants mutated at random, on the demo
files and on the benchmark plant."""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from costing import cost_case
from costing._engine import equivalent_units, zero_equivalent_units
from costing._errors import CostingError
from costing._model import Method
from costing.close import compute_close
from costing.close._fast import FastResolver
from costing.close._resolve import _resolve_product, resolve_close, resolve_header
from costing.close._spec import ProductSpec
from costing.close._state import PriorState
from costing.close._transport import encode_plan
from tests.demo_data import read_clean
from tests.test_close_properties import plant

ROOT = Path(__file__).resolve().parents[1]


def general(raw, header, prior, q):
    """The general path's plan of one product, or None when it finds any problem."""
    try:
        spec = ProductSpec.model_validate(raw)
    except ValidationError:
        return None
    plan, issues = _resolve_product(spec, header, prior, q)
    return None if issues else plan


def assert_same_or_declined(data, prior=None) -> tuple[int, int]:
    """Every product: the fast plan is the general one, or the fast path declined.  Returns how
    many products the fast path took, and how many clean ones it could have taken (the general
    path accepts them and they give no opening finished goods, which the fast path leaves alone)."""
    resolved = resolve_header(data, prior)
    assert resolved is not None  # generated and mutated plants change products only
    header, q = resolved
    fast = FastResolver(header, prior, q)
    taken = clean = 0
    for raw in data["products"]:
        plan = fast(raw)
        expected = general(raw, header, prior, q)
        if expected is not None and not (isinstance(raw, dict) and raw.get("opening_finished_goods")):
            clean += 1
        if plan is None:
            continue
        assert expected is not None, f"fast path accepted a product the general path refuses: {raw!r}"
        assert plan == expected
        # Exponents too (Decimal('1.0') == Decimal('1')): the encoded plans are every value's str().
        assert encode_plan(plan) == encode_plan(expected)
        taken += 1
    return taken, clean


def prior_after(data) -> PriorState:
    """The closing state of ``data`` (a plant the close refuses is no example: hypothesis skips it)."""
    plan, issues = resolve_close(data, None)
    assume(not issues)
    try:
        result = compute_close(plan)
    except CostingError:
        assume(False)
        raise
    wip = {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()}
    return PriorState(data["period"], wip, {p.name: p.fg_closing for p in result.products})


def without_opening_finished_goods(data: dict) -> dict:
    """A generated first month without its opening finished goods, which ``plant()`` gives every
    product and the fast path leaves to the general one: with them it would take no product at all."""
    data = copy.deepcopy(data)
    for product in data["products"]:
        product.pop("opening_finished_goods", None)
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant())
def test_fast_plan_is_the_general_plan(data):
    taken, clean = assert_same_or_declined(data)
    assert taken == clean == 0  # every product has opening finished goods: the general path's
    taken, clean = assert_same_or_declined(without_opening_finished_goods(data))
    assert taken == clean  # every clean product without opening finished goods takes the fast path
    event(f"clean products on the fast path: {'some' if taken else 'none'}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant(), st.data())
def test_fast_plan_with_opening_from_the_ledger(data, draw):
    """Month 2 opens from month 1's closing state; its flows are redrawn to balance with it."""
    prior = prior_after(data)
    month2 = copy.deepcopy(data)
    month2["period"] = "2026-11"
    fifo = data["method"] == "fifo"
    for product in month2["products"]:
        product.pop("opening_finished_goods", None)
        received = None
        for k, stage in enumerate(product["stages"]):
            stage.pop("beginning_wip", None)
            stage.pop("spoilage", None)
            carried = prior.wip.get((product["name"], stage["name"]))
            beginning = int(carried.units) if carried is not None else 0
            incoming = stage["started"] if k == 0 else received
            available = beginning + incoming
            ending = draw.draw(st.integers(0, available - (beginning if fifo else 0)))
            stage["completed"] = received = available - ending
            stage["ending_wip"]["units"] = ending
        on_hand = received + sum(int(l.units) for l in prior.finished_goods.get(product["name"], ()))
        product["shipments"] = draw.draw(st.integers(0, on_hand))
    taken, clean = assert_same_or_declined(month2, prior)
    assert taken == clean


ODD_VALUES = [-1, "-1", 0, "0", 1.5, 0.25, True, None, "abc", "1e3", "50%", "12.5 %", " 7 ", "0.333", {}, [],
              "start", "evenly", "10.005", "1.00", 10**6, Decimal("2.5"), "NaN", float("nan"),
              "exact", "whole_units", "whole", " whole_units"]


@st.composite
def mutated(draw):
    """A generated plant with one value replaced, one key added or one key removed somewhere in a product."""
    data = copy.deepcopy(draw(plant()))
    for product in data["products"]:  # the fast path leaves opening finished goods to the general one
        product.pop("opening_finished_goods", None)
    product = draw(st.sampled_from(data["products"]))
    node = product
    while True:  # walk down to a random mapping
        children = [k for k, v in node.items() if isinstance(v, dict)] if isinstance(node, dict) else []
        if isinstance(node, dict) and isinstance(node.get("stages"), list):
            node = draw(st.sampled_from(node["stages"]))
            continue
        if not children or draw(st.booleans()):
            break
        node = node[draw(st.sampled_from(sorted(children)))]
    action = draw(st.sampled_from(["replace", "add", "remove"]))
    keys = sorted(node)
    if action == "add" or not keys:
        node[draw(st.sampled_from(["bogus", "progress", "transferred_in", "normal_loss", "count", "normal_rate",
                                   "spoiled", "disposal_value", "driver_quantity", "inspection",
                                   "normal_from_rate"]))] = \
            draw(st.sampled_from(ODD_VALUES))
    elif action == "remove":
        del node[draw(st.sampled_from(keys))]
    else:
        node[draw(st.sampled_from(keys))] = draw(st.sampled_from(ODD_VALUES))
    return data


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_fast_path_never_accepts_what_the_general_path_refuses(data):
    assert_same_or_declined(data)


# Rates whose product with whole passing units lands on, below and above half a unit (2.5 % × 20 = 0.5).
NORMAL_RATES = ["0", "0.02", "0.025", "2.5%", "0.1", 0.05, "0.5", "1"]


@st.composite
def plant_with_normal_rates(draw):
    """A generated plant whose spoilage is given as spoiled units and a normal rate, the normal
    spoilage counted exactly, in whole units, or as the default says (no ``normal_from_rate``)."""
    data = without_opening_finished_goods(draw(plant()))
    for product in data["products"]:
        for stage in product["stages"]:
            spoilage = stage.get("spoilage")
            if spoilage is None:
                continue
            spoilage["spoiled"] = spoilage.pop("normal") + spoilage.pop("abnormal")
            spoilage["normal_rate"] = draw(st.sampled_from(NORMAL_RATES))
            counted = draw(st.sampled_from([None, "exact", "whole_units"]))
            if counted is not None:
                spoilage["normal_from_rate"] = counted
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant_with_normal_rates())
def test_fast_plan_is_the_general_plan_with_normal_rates_exact_or_in_whole_units(data):
    """Normal spoilage from a rate, exact or rounded half-up to whole units and capped at the units
    spoiled: the fast path's figure (and exponent) is the general path's, and it takes every clean
    product."""
    taken, clean = assert_same_or_declined(data)
    assert taken == clean
    rated = sum(1 for p in data["products"] for s in p["stages"] if "normal_rate" in s.get("spoilage", {}))
    event(f"clean products on the fast path: {'some' if taken else 'none'}; stages with a rate: "
          f"{'some' if rated else 'none'}")


def test_whole_units_on_the_demo_barista_stage_take_the_fast_path():
    """October's spoilage stages in whole units (Espresso Classic Testing: 2 % × 300 good units = 6,
    not 6.00; Barista Pro Testing: 2 % × 120 = 2.4, 2 machines): every product on the fast path."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    for product in data["products"]:
        product.pop("opening_finished_goods", None)
        for stage in product["stages"]:
            if "spoilage" in stage:
                stage["spoilage"]["normal_from_rate"] = "whole_units"
    header, q = resolve_header(data, None)
    normals = []
    for product in data["products"]:
        plan = FastResolver(header, None, q)(product)
        assert plan is not None and plan == general(product, header, None, q)
        normals += [s.spoilage.normal for s in plan.case.stages if s.spoilage.normal]
    assert normals and all(n == n.to_integral_value() for n in normals)
    assert assert_same_or_declined(data) == (len(data["products"]), len(data["products"]))


@pytest.mark.parametrize("value", ["whole", " whole_units", "WHOLE_UNITS", None, True, 1])
def test_a_bad_normal_from_rate_is_declined_and_located_by_the_general_path(value):
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    product = data["products"][1]
    product.pop("opening_finished_goods", None)
    index, stage = next((i, s) for i, s in enumerate(product["stages"]) if "spoilage" in s)
    stage["spoilage"]["normal_from_rate"] = value
    header, q = resolve_header(data, None)
    assert FastResolver(header, None, q)(product) is None
    plan, issues = resolve_close(data, None)
    assert plan is None
    assert [(i.code, i.path) for i in issues] == [("INVALID_CHOICE", f"products[1].stages[{index}].spoilage.normal_from_rate")]


@pytest.mark.parametrize("month", ["close-2026-10.yaml", "close-2026-11.yaml"])
def test_demo_files(month):
    data = read_clean(ROOT / "examples" / "demo" / month)
    prior = None
    if "11" in month:
        october = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
        result = compute_close(resolve_close(october, None)[0])
        prior = PriorState("2026-10", {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()},
                           {p.name: p.fg_closing for p in result.products})
    taken, clean = assert_same_or_declined(data, prior)
    assert taken >= 1 and taken == clean


def test_benchmark_plant_takes_the_fast_path():
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from bench_close import make_plant
    finally:
        sys.path.pop(0)
    data = make_plant(40, 10)
    assert assert_same_or_declined(data) == (40, 40)


def test_element_definitions_equal_in_value_keep_their_own_exponent():
    """Cached element definitions are told apart by how they were written: added 0.5 and 0.50 give
    the exponent each product wrote (as the general path does), not the first one seen."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    for product, added in zip(data["products"], (Decimal("0.5"), Decimal("0.50"), "0.500")):
        product.pop("opening_finished_goods", None)  # left to the general path: all three go the fast way
        product["stages"][0]["elements"]["materials"]["added"] = added
    taken, clean = assert_same_or_declined(data)
    assert taken == clean == len(data["products"])


def test_a_refused_close_reports_the_same_problems_as_before():
    """A problem anywhere sends the whole close down the general path, which locates every one."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    data["products"][0]["stages"][1]["completed"] = -4
    data["products"][1]["stages"][0]["added_costs"]["materials"] = "12.345"
    plan, issues = resolve_close(data, None)
    assert plan is None
    found = [(i.code, i.path) for i in issues]
    assert ("NEGATIVE_UNITS", "products[0].stages[1].completed") in found
    assert ("AMOUNT_PRECISION", "products[1].stages[0].added_costs.materials") in found
    assert all(path.startswith(("products[0].stages[", "products[1].stages[0]")) for _, path in found)


@pytest.mark.parametrize("rounding, applied", [("half_up", "24.13"), ("half_even", "24.12")])
def test_applied_overhead_is_rounded_as_the_close_rounds(rounding, applied):
    """Rate x driver quantity ending in half a cent: half-up (as Excel's ROUND) unless half_even,
    on the fast path and the general path alike."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    data["rounding"] = rounding
    data["overhead"]["Testing"]["rate"] = "24.125"
    header, q = resolve_header(data, None)
    checked, fast_taken = 0, 0
    for product in data["products"]:
        testing = next((s for s in product["stages"] if s["name"] == "Testing"), None)
        if testing is None:
            continue
        testing["driver_quantity"] = 1
        fast = FastResolver(header, None, q)(product)
        fast_taken += fast is not None
        for plan in ([fast] if fast is not None else []) + [general(product, header, None, q)]:
            assert plan.applied_overhead["Testing"] == Decimal(applied)
            checked += 1
    assert fast_taken >= 1 and checked >= 2 + fast_taken


def _both_paths(data, prior, monkeypatch):
    """(what the clean path makes of ``data``: its plans' names or "unclean", the general path's
    problems as (code, path)) — the general path taken with the fast resolver declining everything."""
    from costing.close._resolve import Unclean, product_plans

    header, q = resolve_header(data, prior)
    try:
        clean = [plan.name for plan in product_plans(data["products"], header, prior, q)]
    except Unclean:
        clean = "unclean"
    with monkeypatch.context() as m:
        m.setattr(FastResolver, "__call__", lambda self, raw: None)
        plan, issues = resolve_close(data, prior)
    return clean, (plan is not None, [(i.code, i.path) for i in issues])


def test_two_spellings_of_one_product_are_one_duplicate_on_both_paths(monkeypatch):
    """'Barista Pro' and 'barista  pro' in one file: both paths closed them as two products."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    second = copy.deepcopy(data["products"][1])
    second["name"] = "barista  pro"
    data["products"].append(second)
    assert _both_paths(data, None, monkeypatch) == ("unclean", (False, [("DUPLICATE_PRODUCT", "products[3].name")]))
    plan, issues = resolve_close(data, None)  # fast path first, then the general path's report
    assert plan is None and [(i.code, i.path) for i in issues] == [("DUPLICATE_PRODUCT", "products[3].name")]


def test_a_product_renamed_in_case_after_a_month_that_carried_nothing_for_it(monkeypatch):
    """The prior close knew 'Drip Home' but left nothing of it (no WIP, no finished goods): the
    fast path accepted 'DRIP HOME' as a new product.  Both paths now say INCONSISTENT_NAME."""
    october = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    drip = october["products"][2]
    assembly, testing, packaging = drip["stages"]
    assembly["completed"] = 200
    del assembly["ending_wip"]
    testing["completed"] = packaging["completed"] = drip["shipments"] = 196
    plan, issues = resolve_close(october, None)
    assert not issues
    result = compute_close(plan)
    prior = PriorState("2026-10", {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()},
                       {p.name: p.fg_closing for p in result.products})
    assert not any(w.units for (name, _), w in prior.wip.items() if name == "Drip Home")
    assert not prior.finished_goods.get("Drip Home") and ("Drip Home", "Assembly") in prior.wip

    november = read_clean(ROOT / "examples" / "demo" / "close-2026-11.yaml")
    del november["general_ledger"]
    drip = november["products"][2]
    drip["stages"][0]["started"] = 220
    drip["shipments"] = 180
    assert _both_paths(november, prior, monkeypatch)[0] == ["Espresso Classic", "Barista Pro", "Drip Home"]
    drip["name"] = "DRIP HOME"
    assert _both_paths(november, prior, monkeypatch) == (
        "unclean", (False, [("INCONSISTENT_NAME", "products[2].name")]))


def _stage_equivalent_units(stage, fifo: bool) -> dict[str, Decimal]:
    """Each element's equivalent units by the single definition, from a resolved stage."""
    sp = stage.spoilage
    return {e.name: equivalent_units(fifo, stage.beginning.units, stage.beginning.completion[e.name], stage.completed,
                                     stage.ending.units, stage.ending.completion[e.name], sp.normal + sp.abnormal,
                                     sp.completion[e.name])
            for e in stage.elements}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant())
def test_fast_path_equivalent_units_are_the_engines(data):
    """The fast path's check for costs with no work computes equivalent units by
    ``equivalent_units``, on the stage it builds: the engine's figure for every element."""
    data = without_opening_finished_goods(data)
    resolved = resolve_header(data, None)
    header, q = resolved
    fast = FastResolver(header, None, q)
    for raw in data["products"]:
        plan = fast(raw)
        if plan is None:
            continue
        try:
            report = cost_case(plan.case)
        except CostingError:
            continue  # refused by the engine (disposal value above cost): nothing to compare
        fifo = plan.case.method is Method.FIFO
        for stage, costed in zip(plan.case.stages, report.stages):
            assert _stage_equivalent_units(stage, fifo) == costed.equivalent_units, stage.name


@pytest.mark.parametrize("method", ["fifo", "weighted_average"])
def test_cost_with_no_work_is_declined_and_reported_in_the_one_wording(method):
    """No unit reached the point where materials go in: the fast path declines the product, and the
    general path reports ZERO_EQUIVALENT_UNITS as ``zero_equivalent_units`` words it."""
    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    data["method"] = method
    product = data["products"][0]
    product.pop("opening_finished_goods", None)
    stage = product["stages"][0]
    stage["elements"]["materials"]["added"] = "end"
    stage.pop("beginning_wip", None)
    stage.pop("spoilage", None)
    stage["ending_wip"] = {"units": stage["started"], "complete": "0.5"}
    stage["completed"] = 0
    header, q = resolve_header(data, None)
    assert FastResolver(header, None, q)(product) is None
    plan, issues = resolve_close(data, None)
    found = [i for i in issues if i.code == "ZERO_EQUIVALENT_UNITS"]
    assert found, issues
    first = found[0]  # later stages of the product have problems of their own (they receive no units)
    assert first.path == "products[0].stages[0].added_costs.materials"
    cost = Decimal(str(stage["added_costs"]["materials"]))
    expected = zero_equivalent_units(stage["name"], "materials", cost, Decimal(0),
                                     Method(method), "added_costs.materials").message
    assert first.message == expected, (first.message, expected)


def _with_both_spellings(data: dict) -> dict:
    """``data`` with a second 'Drip Home' named 'DRIP HOME' (same stages, its own WIP)."""
    data = copy.deepcopy(data)
    twin = copy.deepcopy(next(p for p in data["products"] if p["name"] == "Drip Home"))
    twin["name"] = "DRIP HOME"
    data["products"].append(twin)
    return data


def test_two_spellings_an_older_ledger_holds_as_two_products_close_on_both_paths(monkeypatch):
    """A ledger from before such names were refused holds 'Drip Home' and 'DRIP HOME', each with WIP:
    neither can be renamed (PRODUCT_MISSING) nor the two merged, so the next month closes with both,
    on the fast and the general path alike.  A third spelling, or one of them twice, is refused."""
    import costing.close._resolve as close_resolve

    october = _with_both_spellings(read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml"))
    plan, issues = resolve_close(october, None)
    assert [(i.code, i.path) for i in issues] == [("DUPLICATE_PRODUCT", "products[3].name")]  # refused when new
    with monkeypatch.context() as m:  # as an older version closed it
        m.setattr(close_resolve, "product_key", lambda name: name)
        plan, issues = resolve_close(october, None)
    assert not issues
    result = compute_close(plan)
    prior = PriorState("2026-10", {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()},
                       {p.name: p.fg_closing for p in result.products})
    assert all(any(w.units for (name, _), w in prior.wip.items() if name == product)
               for product in ("Drip Home", "DRIP HOME"))

    november = _with_both_spellings(read_clean(ROOT / "examples" / "demo" / "close-2026-11.yaml"))
    del november["general_ledger"]
    assert _both_paths(november, prior, monkeypatch) == (
        ["Espresso Classic", "Barista Pro", "Drip Home", "DRIP HOME"], (True, []))
    plan, issues = resolve_close(november, prior)
    assert not issues and [p.name for p in plan.products] == ["Espresso Classic", "Barista Pro", "Drip Home",
                                                              "DRIP HOME"]

    third = copy.deepcopy(november)
    third["products"].append({**copy.deepcopy(november["products"][3]), "name": "drip  home"})
    assert _both_paths(third, prior, monkeypatch) == ("unclean", (False, [("DUPLICATE_PRODUCT", "products[4].name")]))
    twice = copy.deepcopy(november)
    twice["products"].append(copy.deepcopy(november["products"][3]))
    assert _both_paths(twice, prior, monkeypatch) == ("unclean", (False, [("DUPLICATE_PRODUCT", "products[4].name")]))


def test_units_that_balance_only_to_28_digits_are_not_the_fast_paths():
    """The general path compares new input's units exactly; the fast path must not accept a flow
    that differs in the 31st digit (it declines, and the general path says UNIT_FLOW)."""
    import copy

    import yaml

    from costing.close import resolve_close

    data = yaml.safe_load((ROOT / "examples" / "demo" / "close-2026-10.yaml").read_text())
    changed = copy.deepcopy(data)
    stage = changed["products"][2]["stages"][0]
    stage["started"] = str(stage["started"]) + ".000000000000000000000000001"
    plan, issues = resolve_close(changed, None)
    assert plan is None
    assert [i.code for i in issues] == ["UNIT_FLOW"], issues


def test_spoiled_units_beyond_28_digits_are_not_rounded_into_a_balance_by_the_fast_path():
    """abnormal = spoiled - normal, taken in Python's 28-digit context, rounded 4.000…0001 - 2 to 2
    and the flow then balanced: the general path refuses it (UNIT_FLOW), so the fast path must not
    accept it."""
    import copy

    import yaml

    from costing.close import resolve_close

    data = yaml.safe_load((ROOT / "examples" / "demo" / "close-2026-10.yaml").read_text())
    changed = copy.deepcopy(data)
    changed["products"][2]["stages"][1]["spoilage"] = {"normal": 2, "spoiled": "4.0000000000000000000000000000001"}
    plan, issues = resolve_close(changed, None)
    assert plan is None
    assert "UNIT_FLOW" in [i.code for i in issues], issues


def test_an_element_named_progress_is_left_to_the_general_path():
    """A reserved element name (RESERVED_NAME on the general path) is never taken by the fast one."""
    def renamed(value):
        if isinstance(value, dict):
            return {("progress" if k == "materials" else k): renamed(v) for k, v in value.items()}
        return [renamed(v) for v in value] if isinstance(value, list) else value

    data = read_clean(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    data["products"] = renamed(data["products"])
    assert assert_same_or_declined(data) == (0, 0)


def test_a_key_written_blank_is_left_to_the_general_path(monkeypatch):
    """Found by the property test above: a count written and left blank (`count:`) was taken as no
    count by the fast path, which a file small or odd enough for the general path refused
    (NOT_A_NUMBER): whether a blank count closed depended on the path."""
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    from bench_close import make_plant  # a plant the fast path takes whole

    data = make_plant(3, 2)
    assert resolve_close(data, None)[1] == []
    data["products"][1]["stages"][0]["count"] = None
    plan, issues = resolve_close(data, None)
    assert plan is None and [(i.code, i.path) for i in issues] == [("NOT_A_NUMBER", "products[1].stages[0].count")]
