"""Invariants of the costing core on random cases (hypothesis)."""

from __future__ import annotations

import copy
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

import costing
from costing import TRANSFERRED_IN
from costing._engine import equivalent_unit_parts, equivalent_units, transferred_out_parts

fractions = st.integers(0, 100).map(lambda n: Decimal(n) / 100)
points = st.sampled_from(["start", "end", "evenly", "0.5", "0.25"])
cents = st.integers(0, 5_000_000).map(lambda n: Decimal(n) / 100)


@st.composite
def stages(draw, first: bool, fifo: bool, index: int, received: int | None):
    n_elements = draw(st.integers(1, 3))
    names = draw(st.lists(st.sampled_from(["materials", "labour", "overhead", "parts", "energy"]),
                          min_size=n_elements, max_size=n_elements, unique=True))
    elements = {n: {"kind": draw(st.sampled_from(["material", "labour", "overhead", "conversion"])),
                    "added": draw(points)} for n in names}
    beginning = draw(st.integers(0, 300))
    # FIFO on an idle line: nothing started or received, fewer completed than began, none spoiled;
    # ending WIP is the other beginning units, no less complete than they began.
    idle = fifo and beginning > 0 and (first or received == 0) and draw(st.booleans())
    input_units = 0 if idle else draw(st.integers(0, 1000)) if first else received
    available = beginning + input_units
    if idle:
        completed = draw(st.integers(0, beginning - 1))
    elif fifo:
        assume(available >= beginning)
        completed = draw(st.integers(beginning, available))
    else:
        completed = draw(st.integers(0, available))
    rest = available - completed
    spoiled = 0 if idle else draw(st.integers(0, rest))
    normal = draw(st.integers(0, spoiled))
    ending = rest - spoiled
    b_done = draw(fractions)
    b_cost = {n: str(draw(cents)) for n in names}
    if not first:
        b_cost[TRANSFERRED_IN] = str(draw(cents))
    stage = {
        "name": f"S{index}",
        "elements": elements,
        "beginning_wip": {"units": beginning, "complete": str(b_done), "cost": b_cost},
        "completed": completed,
        # An idle line's ending WIP is beginning units: no less complete than they began (refused
        # under either method otherwise).
        "ending_wip": {"units": ending, "complete": str(draw(
            st.integers(int(b_done * 100), 100).map(lambda n: Decimal(n) / 100)
            if idle or (input_units == 0 and spoiled == 0 and ending and beginning) else fractions))},
        "added_costs": {n: str(draw(cents)) for n in names},
    }
    if spoiled:
        stage["spoilage"] = {"normal": normal, "abnormal": spoiled - normal,
                             "inspection": str(draw(fractions)), "disposal_value": str(draw(st.sampled_from([0, 0, "0.5", 1])))}
    if first:
        stage["started"] = input_units
    return stage, completed


@st.composite
def cases(draw, method=None, n_stages=None, currency=None):
    method = method or draw(st.sampled_from(["weighted_average", "fifo"]))
    count = n_stages or draw(st.integers(1, 3))
    out, received = [], None
    for i in range(count):
        stage, received = draw(stages(i == 0, method == "fifo", i, received))
        out.append(stage)
    return {"currency": currency or draw(st.sampled_from(["USD", "JPY", "KWD"])), "method": method,
            "rounding": draw(st.sampled_from(["half_up", "half_even"])), "stages": out}


def _cost(data):
    case, issues = costing.resolve_case(data)
    # Random data can be legitimately refused (cost with no work to carry it, disposal above cost).
    assume(not issues)
    try:
        return costing.cost_case(case)
    except costing.CostingError as e:
        assert {i.code for i in e.issues} == {"DISPOSAL_EXCEEDS_COST"}
        assume(False)


@settings(max_examples=300, deadline=None)
@given(cases())
def test_costs_are_conserved_to_the_cent_per_stage_and_element(data):
    report = _cost(data)
    for stage in report.stages:
        ctaf = stage.costs_to_account_for
        for e in stage.equivalent_units:
            to_account = ctaf.beginning_wip_by_element[e] + ctaf.added_by_element[e]
            accounted = (stage.transferred_out.by_element[e] + stage.ending_wip.by_element[e]
                         + stage.abnormal_spoilage.by_element[e]
                         + stage.normal_spoilage.disposal_value_by_element[e]
                         + stage.abnormal_spoilage.disposal_value_by_element[e])
            assert to_account == accounted, (stage.name, e)
        assert stage.costs_accounted_for == ctaf.total
        assert stage.transferred_out.total == sum(stage.transferred_out.by_element.values())
        assert stage.ending_wip.total == sum(stage.ending_wip.by_element.values())
        # every assigned amount is a whole number of minor units
        q = Decimal(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[report.currency])
        for amount in (*stage.transferred_out.by_element.values(), *stage.ending_wip.by_element.values()):
            assert amount == amount.quantize(q)
    # Spoiled goods at disposal value are one amount, rounded once: spoiled units x disposal value.
    mode = {"half_up": ROUND_HALF_UP, "half_even": ROUND_HALF_EVEN}[data["rounding"]]
    for spec, stage in zip(data["stages"], report.stages):
        spoilage = spec.get("spoilage")
        if spoilage:
            spoiled_goods = stage.normal_spoilage.disposal_value + stage.abnormal_spoilage.disposal_value
            assert spoiled_goods == ((spoilage["normal"] + spoilage["abnormal"])
                                     * Decimal(spoilage["disposal_value"])).quantize(q, rounding=mode), stage.name


@settings(max_examples=200, deadline=None)
@given(cases())
def test_equivalent_units_have_one_definition(data):
    """The engine's equivalent units, its parts breakdown and ``equivalent_units`` (what the
    resolver and the close's fast path check costs with no work against) are one figure."""
    case, issues = costing.resolve_case(data)
    assume(not issues)
    report = _cost(data)
    fifo = data["method"] == "fifo"
    for stage, costed in zip(case.stages, report.stages):
        sp = stage.spoilage
        parts = equivalent_unit_parts(stage, costed, data["method"])
        assert parts is not None, stage.name
        for name, total in costed.equivalent_units.items():
            figure = equivalent_units(fifo, stage.beginning.units, stage.beginning.completion[name], stage.completed,
                                      stage.ending.units, stage.ending.completion[name], sp.normal + sp.abnormal,
                                      sp.completion[name])
            assert figure == total == parts[name].parts_total, (stage.name, name)


@settings(max_examples=200, deadline=None)
@given(cases(method="fifo"))
def test_fifo_layers_of_the_cost_transferred_out_add_up_to_it(data):
    """Step 5's FIFO layers (beginning WIP's own cost, the cost to complete it, started and
    completed, normal spoilage) are whole minor units adding up to the assigned figure, and the
    two this-period layers are each within a minor unit of equivalent units x cost per EU."""
    case, issues = costing.resolve_case(data)
    assume(not issues)
    report = _cost(data)
    q = Decimal(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[report.currency])
    for stage, costed in zip(case.stages, report.stages):
        layers = transferred_out_parts(costed, equivalent_unit_parts(stage, costed, "fifo"), data["rounding"])
        if not stage.beginning.units:
            assert layers is None
            continue
        assert layers is not None and set(layers) == set(costed.transferred_out.by_element)
        parts = equivalent_unit_parts(stage, costed, "fifo")
        for name, layer in layers.items():
            values = (layer.beginning_wip, layer.to_complete_beginning_wip, layer.started_and_completed,
                      layer.normal_spoilage)
            assert sum(values) == layer.total == costed.transferred_out.by_element[name], (stage.name, name)
            assert all(v == v.quantize(q) for v in values)
            beginning = costed.costs_to_account_for.beginning_wip_by_element[name]
            if stage.completed >= stage.beginning.units:
                assert layer.beginning_wip == beginning
            else:  # an idle line: the completed units' share by units, the rest still in ending WIP
                share = beginning * stage.completed / stage.beginning.units
                assert abs(layer.beginning_wip - share) <= q / 2 and costed.ending_wip.by_element[name] >= \
                    beginning - layer.beginning_wip, (stage.name, name)
            rate = costed.cost_per_eu[name]
            for value, eu in ((layer.to_complete_beginning_wip, parts[name].to_complete_beginning_wip),
                              (layer.started_and_completed, parts[name].started_and_completed)):
                assert abs(value - eu * rate) <= q * 2, (stage.name, name, value, eu * rate)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_multi_stage_chain_ties_to_the_cent(data):
    report = _cost(data)
    for before, after in zip(report.stages, report.stages[1:]):
        assert after.costs_to_account_for.added_by_element[TRANSFERRED_IN] == before.transferred_out.total
        assert after.physical_units.transferred_in == before.physical_units.completed


@settings(max_examples=200, deadline=None)
@given(cases(method="weighted_average"))
def test_fifo_and_weighted_average_agree_without_beginning_wip(data):
    for stage in data["stages"]:
        stage["beginning_wip"] = {"units": 0, "complete": "0", "cost": {}}
    wa = _cost(data)
    fifo = _cost({**data, "method": "fifo"})
    for a, b in zip(wa.stages, fifo.stages):
        assert a.equivalent_units == b.equivalent_units
        assert a.cost_per_eu == b.cost_per_eu
        assert a.transferred_out == b.transferred_out
        assert a.ending_wip == b.ending_wip
        assert a.abnormal_spoilage == b.abnormal_spoilage


@settings(max_examples=200, deadline=None)
@given(cases())
def test_results_do_not_depend_on_the_order_of_elements(data):
    report = _cost(data)
    flipped = {**data, "stages": [{**s, "elements": dict(reversed(list(s["elements"].items())))}
                                  for s in data["stages"]]}
    other = _cost(flipped)
    for a, b in zip(report.stages, other.stages):
        assert a.transferred_out.by_element == b.transferred_out.by_element  # dict equality ignores order
        assert a.ending_wip.by_element == b.ending_wip.by_element
        assert a.normal_spoilage.by_element == b.normal_spoilage.by_element
        assert a.abnormal_spoilage.by_element == b.abnormal_spoilage.by_element
        assert a.cost_per_eu == b.cost_per_eu


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=300),
       st.integers(min_value=0, max_value=10**7), st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN"]))
def test_largest_remainder_allocation(weights, total_cents, mode):
    """Parts add up to the whole exactly, each within one minor unit of its exact share, and the
    units the rounding left over go to the parts that lost the most (earlier part on a tie) — for
    small allocations and large ones (over 64 parts the order is found without a full sort)."""
    import decimal

    from costing._rounding import allocate

    assume(sum(weights) > 0)
    q, total = Decimal("0.01"), Decimal(total_cents).scaleb(-2)
    with decimal.localcontext(decimal.Context(prec=34)):
        exact = [total * w / sum(weights) for w in weights]
        parts = allocate(exact, total, q, getattr(decimal, mode))
        assert sum(parts) == total
        assert all(abs(p - x) < q for p, x in zip(parts, exact))
        rounded = [x.quantize(q, rounding=getattr(decimal, mode)) for x in exact]
        gap = int((total - sum(rounded)) / q)
        moved = [i for i, (p, r) in enumerate(zip(parts, rounded)) if p != r]
        if gap > 0:
            expected = sorted(range(len(exact)), key=lambda i: (-(exact[i] - rounded[i]), i))[:gap]
        else:
            expected = sorted(range(len(exact)), key=lambda i: (exact[i] - rounded[i], -i))[:-gap]
        assert moved == sorted(expected)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-500, max_value=500), st.integers(min_value=-1000, max_value=1000),
       st.sampled_from(["ROUND_HALF_UP", "ROUND_HALF_EVEN"]))
def test_two_parts_are_allocated_by_the_same_rule_as_many(total_cents, first_mils, mode):
    """The two-part shortcut (no sorting) gives what the general rule gives, signs mixed, ties included."""
    import decimal

    from costing._rounding import allocate

    q, total = Decimal("0.01"), Decimal(total_cents).scaleb(-2)
    first = Decimal(first_mils).scaleb(-3)
    parts = [first, total - first]
    rounding = getattr(decimal, mode)
    assert allocate(parts, total, q, rounding) == allocate(parts + [Decimal(0)], total, q, rounding)[:2]


@st.composite
def cases_with_normal_rates(draw):
    """A random case whose spoilage is spoiled units and a normal rate (normal spoilage then
    depends on the good units passing inspection, and is often a fraction of a unit)."""
    data = copy.deepcopy(draw(cases()))
    for stage in data["stages"]:
        spoilage = stage.get("spoilage")
        if spoilage is not None:
            spoilage["spoiled"] = spoilage.pop("normal") + spoilage.pop("abnormal")
            spoilage["normal_rate"] = draw(st.sampled_from(["0.02", "0.025", "0.1", "0.005", "1"]))
    return data


@settings(max_examples=200, deadline=None)
@given(cases_with_normal_rates())
def test_normal_spoilage_in_whole_units_is_the_exact_figure_rounded_and_still_conserves_cost(data):
    """``normal_from_rate: whole_units``: a whole number of units within half a unit of the exact
    figure (the exact one is rate × passing capped at the units spoiled), never more than were
    spoiled, the rest of the spoiled units abnormal, and every cost still accounted for to the cent."""
    exact_case, issues = costing.resolve_case(data)
    assume(not issues)
    whole = copy.deepcopy(data)
    for stage in whole["stages"]:
        if stage.get("spoilage"):
            stage["spoilage"]["normal_from_rate"] = "whole_units"
    whole_case, issues = costing.resolve_case(whole)
    assume(not issues)  # rounding up can leave normal spoilage with no good units to carry it: refused
    for exact_stage, whole_stage, spec in zip(exact_case.stages, whole_case.stages, whole["stages"]):
        spoiled = Decimal(spec["spoilage"]["spoiled"]) if spec.get("spoilage") else Decimal(0)
        exact, normal = exact_stage.spoilage.normal, whole_stage.spoilage.normal
        assert normal == normal.to_integral_value() and 0 <= normal <= spoiled, whole_stage.name
        assert abs(normal - exact) <= Decimal("0.5"), whole_stage.name
        assert normal + whole_stage.spoilage.abnormal == spoiled, whole_stage.name
        if exact == spoiled:  # capped: every spoiled unit was normal, and still is
            assert normal == spoiled, whole_stage.name
    report = _cost(whole)
    for stage in report.stages:
        assert stage.costs_accounted_for == stage.costs_to_account_for.total, stage.name
