"""Process costing arithmetic: equivalent units, cost per equivalent unit, assignment.

Pure functions over resolved values (``_model``); no I/O, no parsing, no floats.  The textbook
five steps per stage (Horngren, Datar & Rajan, *Cost Accounting*, chapters on process costing and
spoilage):

1. physical units — checked when the case is resolved;
2. equivalent units per element;
3. costs to account for (beginning WIP + costs added, transferred-in included);
4. cost per equivalent unit, kept at full precision;
5. assignment to units transferred out, ending WIP and spoilage — the one place where amounts
   are rounded, by largest-remainder allocation so that every element of every stage accounts for
   its cost exactly, to the minor unit.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_UP, Context, Decimal, getcontext, localcontext

from ._errors import CostingError, Issue
from ._model import TRANSFERRED_IN, Case, LossConvention, Method, Stage
from ._numbers import ROUNDING_MODES, engine_context, require_decimal
from ._report import (
    _new_report,
    Assigned,
    CaseReport,
    CostsToAccountFor,
    EquivalentUnitParts,
    PhysicalUnits,
    ProcessAccountStageReport,
    SpoilageCost,
    StageReport,
    TransferredOutParts,
)
from ._rounding import allocate

__all__ = ["element_completion", "units_passing_inspection", "normal_spoilage_from_rate", "equivalent_unit_terms",
           "beginning_cost_completed",
           "equivalent_units", "zero_equivalent_units", "cost_stage", "cost_resolved_case", "refuse_floats", "equivalent_unit_parts",
           "transferred_out_parts", "ending_wip_parts"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_SIX_PLACES = Decimal("0.000001")


def units_passing_inspection(completed: Decimal, b_units: Decimal, b_progress: Decimal | None, e_units: Decimal,
                             e_progress: Decimal | None, inspection: Decimal) -> tuple[Decimal, Decimal]:
    """The good units that passed inspection this period, (of those completed, of ending WIP): the
    units a normal spoilage rate applies to, and that absorb normal spoilage's cost.

    Beginning units at or past the point were inspected last period, and complete first.  When fewer
    units complete than those (weighted average allows it), the rest of them are in ending WIP:
    they are not counted again there.

    >>> units_passing_inspection(Decimal(60), Decimal(100), Decimal("0.8"), Decimal(80), Decimal("0.7"), Decimal("0.6"))
    (Decimal('0'), Decimal('40'))
    """
    b_inspected = bool(b_units) and b_progress is not None and b_progress >= inspection and inspection < _ONE
    ending_passing = e_units if (e_units and e_progress is not None and e_progress >= inspection) else _ZERO
    completed_passing = completed - (b_units if b_inspected else _ZERO)
    if completed_passing < 0:
        ending_passing = max(ending_passing + completed_passing, _ZERO)
        completed_passing = _ZERO
    return completed_passing, ending_passing


def element_completion(progress: Decimal, added_at: Decimal | None) -> Decimal:
    """How complete one element is in units at ``progress`` of the stage.

    An evenly-added element (``added_at`` None) is as complete as the units; an element added at a
    point is all there once the units have reached that point, and not at all before.

    >>> element_completion(Decimal("0.6"), None)
    Decimal('0.6')
    >>> element_completion(Decimal("0.6"), Decimal("0.5")), element_completion(Decimal("0.4"), Decimal("0.5"))
    (Decimal('1'), Decimal('0'))
    """
    if added_at is None:
        return progress
    return _ONE if progress >= added_at else _ZERO


def normal_spoilage_from_rate(rate: Decimal, passing: Decimal, spoiled: Decimal | None,
                              whole_units: bool = False) -> Decimal:
    """Normal spoilage given as ``spoilage.normal_rate``: the rate × the good units that passed
    inspection this period, capped at the units spoiled when they were counted (spoiling less than
    the norm: all of it is normal).  ``whole_units`` (``normal_from_rate: whole_units``): a product
    counted in whole units (machines, not litres) has normal spoilage in whole units too, so rate ×
    passing is rounded half-up to a whole unit before the cap.  The case resolver and the close's
    fast path both take normal spoilage from here, so they cannot disagree.

    >>> normal_spoilage_from_rate(Decimal("0.02"), Decimal(124), Decimal(3))
    Decimal('2.48')
    >>> normal_spoilage_from_rate(Decimal("0.02"), Decimal(124), Decimal(3), whole_units=True)
    Decimal('2')
    >>> normal_spoilage_from_rate(Decimal("0.02"), Decimal(125), None, whole_units=True)  # 2.5: half up
    Decimal('3')
    >>> normal_spoilage_from_rate(Decimal("0.02"), Decimal(175), Decimal(3), whole_units=True)  # 3.5 > 3 spoiled
    Decimal('3')

    Rate × passing is taken to six places before it is rounded to a whole unit, as the close
    workbook's formula takes it: a rate typed as a fraction (``=1/48``) reaches the engine at a
    spreadsheet's 15 digits, and 0.0208333333333333 × 120 = 2.499999999999996 is the 2.5 it stands for.

    >>> normal_spoilage_from_rate(Decimal("0.0208333333333333"), Decimal(120), Decimal(4), whole_units=True)
    Decimal('3')
    """
    normal = rate * passing
    if whole_units:
        normal = normal.quantize(_SIX_PLACES, rounding=ROUND_HALF_UP).quantize(_ONE, rounding=ROUND_HALF_UP)
    if spoiled is not None and normal > spoiled:
        normal = spoiled
    return normal


def equivalent_unit_terms(fifo: bool, beginning_units: Decimal, beginning_done: Decimal, completed: Decimal,
                          ending_units: Decimal, ending_done: Decimal) -> tuple[Decimal | None, Decimal, Decimal]:
    """One element's equivalent units of good units, term by term (Step 2 of the report).

    FIFO counts this period's work only: ``(to complete beginning WIP, started and completed,
    ending WIP)``; weighted average counts the completed units whole, beginning WIP's work
    included: ``(None, completed, ending WIP)``.  ``*_done`` is the element's completion of that
    group of units.  Spoiled or lost units add ``units × completion at the inspection point`` to
    these (``equivalent_units``); the engine keeps each term apart because each gets its cost.

    >>> equivalent_unit_terms(True, Decimal(100), Decimal("0.4"), Decimal(500), Decimal(50), Decimal("0.5"))
    (Decimal('60.0'), Decimal('400'), Decimal('25.0'))
    >>> equivalent_unit_terms(False, Decimal(100), Decimal("0.4"), Decimal(500), Decimal(50), Decimal("0.5"))
    (None, Decimal('500'), Decimal('25.0'))

    FIFO with fewer units completed than were in beginning WIP (an idle line: nothing started or
    received, the rest of the beginning units still in process): the completed units were
    beginning units, none was started and completed, and ending WIP is the other beginning units,
    whose work this period is their progress less what they had at the start.  The case resolver
    accepts this only when nothing came in and nothing was spoiled, so that ending WIP is exactly
    those units at the one progress the file gives.

    >>> equivalent_unit_terms(True, Decimal(100), Decimal("0.4"), Decimal(30), Decimal(70), Decimal("0.7"))
    (Decimal('18.0'), Decimal('0'), Decimal('21.0'))
    """
    if fifo:
        if completed < beginning_units:
            return (completed * (_ONE - beginning_done), _ZERO,
                    ending_units * ending_done - (beginning_units - completed) * beginning_done)
        return beginning_units * (_ONE - beginning_done), completed - beginning_units, ending_units * ending_done
    return None, completed, ending_units * ending_done


def beginning_cost_completed(cost: Decimal, beginning_units: Decimal, completed: Decimal, quantum: Decimal,
                             rounding: str) -> Decimal:
    """Under FIFO, the part of one element's beginning WIP cost that leaves with the completed
    units: all of it when the beginning units were all completed (they complete first); otherwise
    (an idle line, see ``equivalent_unit_terms``) the completed units' share by units, rounded to
    ``quantum`` in the engine's context (``rounding`` a decimal constant), the rest staying
    in ending WIP with the units that hold it.  The engine, the reports' parts and the close's
    overhead content all split it here.

    >>> beginning_cost_completed(Decimal("1000.00"), Decimal(100), Decimal(120), Decimal("0.01"), "ROUND_HALF_UP")
    Decimal('1000.00')
    >>> beginning_cost_completed(Decimal("1000.00"), Decimal(300), Decimal(100), Decimal("0.01"), "ROUND_HALF_UP")
    Decimal('333.33')
    """
    if completed >= beginning_units or not cost:
        return cost
    context = engine_context(rounding)
    return context.divide(context.multiply(cost, completed), beginning_units).quantize(quantum, context=context)


def equivalent_units(fifo: bool, beginning_units: Decimal, beginning_done: Decimal, completed: Decimal,
                     ending_units: Decimal, ending_done: Decimal, lost_units: Decimal = _ZERO,
                     lost_done: Decimal = _ZERO) -> Decimal:
    """One element's equivalent units in a stage: the single definition.

    Completed units' share (FIFO: to complete beginning WIP + started and completed; weighted
    average: completed) + ending WIP × its completion + lost units × the element's completion at
    the inspection point (``element_completion(inspection, added_at)``).  Lost units are the
    spoiled units (normal + abnormal) under the spoilage convention; under ``process_account`` the
    abnormal loss less the abnormal gain (a normal loss carries none).  The terms are
    ``equivalent_unit_terms``; ``_cost_stage`` and the process account add the very same ones.

    >>> equivalent_units(True, Decimal(100), Decimal("0.4"), Decimal(500), Decimal(50), Decimal("0.5"),
    ...                  Decimal(10), Decimal(1))
    Decimal('495.0')
    >>> equivalent_units(False, Decimal(100), Decimal("0.4"), Decimal(500), Decimal(50), Decimal("0.5"))
    Decimal('525.0')
    """
    finish, done, end_eu = equivalent_unit_terms(fifo, beginning_units, beginning_done, completed, ending_units,
                                                 ending_done)
    out_eu = done if finish is None else finish + done
    return out_eu + end_eu + lost_units * lost_done


def zero_equivalent_units(stage: str, element: str, cost: Decimal, eu: Decimal, method: Method, path: str) -> Issue:
    """The ``ZERO_EQUIVALENT_UNITS`` problem: ``cost`` to assign in ``element`` but ``eu`` (0, or
    below under ``process_account``) equivalent units to carry it; ``path`` is where the cost was
    written.  The one wording, whether the resolver or the engine finds it."""
    name = "FIFO" if method is Method.FIFO else "weighted-average"
    return Issue("ZERO_EQUIVALENT_UNITS", path,
                 f"{stage}: {element} has cost {cost} to assign but {eu.normalize():f} equivalent units ({name}); "
                 "check this stage's units and completion, or move the cost to a stage with work")


def cost_stage(stage: Stage, method: Method, quantum: Decimal, rounding: str,
               transferred_in_cost: Decimal | None = None) -> StageReport:
    """Cost one stage; ``transferred_in_cost`` is the previous stage's transferred-out total.

    A stage resolved under ``loss_convention: process_account`` (it has a ``normal_loss``) is
    costed by the process-account method (``_process_account``).

    The core refuses floats: a stage built by Python code with a float anywhere is a TypeError
    naming the field (convert at the edge with ``Decimal(str(x))``), not a wrong cent.
    """
    quantum = require_decimal(quantum, "quantum")
    if transferred_in_cost is not None:
        transferred_in_cost = require_decimal(transferred_in_cost, "transferred_in_cost")
    _require_decimals(stage)
    with localcontext(engine_context(ROUNDING_MODES[rounding])):
        if stage.normal_loss is not None:
            from ._process_account import cost_process_stage

            return cost_process_stage(stage, method, quantum, transferred_in_cost)
        return _cost_stage(stage, method, quantum, transferred_in_cost)


_ACCEPTED = frozenset({Decimal, int, type(None)})  # None: optional fields (progress, transferred-in cost)


def _require_decimals(stage: Stage) -> None:
    """Every number of ``stage`` a Decimal (or int): ``require_decimal`` on each, named by its field."""
    b, e, sp = stage.beginning, stage.ending, stage.spoilage
    kinds = set(map(type, (b.units, b.progress, e.units, e.progress, stage.input_units, stage.transferred_in_cost,
                           stage.completed, sp.normal, sp.abnormal, sp.inspection, sp.disposal_value,
                           stage.completed_passing, stage.ending_passing)))
    for values in (b.completion, stage.beginning_cost, e.completion, stage.added_costs, sp.completion):
        kinds.update(map(type, values.values()))
    if kinds <= _ACCEPTED and stage.normal_loss is None and not stage.added_units:
        return  # the common case, checked at a glance; otherwise field by field, to name the culprit
    numbers = [("beginning.units", stage.beginning.units), ("beginning.progress", stage.beginning.progress),
               ("input_units", stage.input_units), ("transferred_in_cost", stage.transferred_in_cost),
               ("completed", stage.completed), ("ending.units", stage.ending.units),
               ("ending.progress", stage.ending.progress), ("spoilage.normal", stage.spoilage.normal),
               ("spoilage.abnormal", stage.spoilage.abnormal), ("spoilage.inspection", stage.spoilage.inspection),
               ("spoilage.disposal_value", stage.spoilage.disposal_value),
               ("completed_passing", stage.completed_passing), ("ending_passing", stage.ending_passing)]
    for field, values in (("beginning.completion", stage.beginning.completion), ("beginning_cost", stage.beginning_cost),
                          ("ending.completion", stage.ending.completion), ("added_costs", stage.added_costs),
                          ("spoilage.completion", stage.spoilage.completion), ("added_units", stage.added_units)):
        numbers += [(f"{field}.{name}", value) for name, value in values.items()]
    loss = stage.normal_loss
    if loss is not None:
        numbers += [("normal_loss.units", loss.units), ("normal_loss.actual", loss.actual),
                    ("normal_loss.scrap_value", loss.scrap_value), ("normal_loss.inspection", loss.inspection)]
        numbers += [(f"normal_loss.completion.{name}", value) for name, value in loss.completion.items()]
    for field, value in numbers:
        if value is not None and type(value) is not Decimal:
            require_decimal(value, f"{stage.name}: {field}")


def refuse_floats(case: Case) -> None:
    """A ``Case`` built by Python code (not resolved from a spec) holds no float: TypeError naming
    the stage and field otherwise."""
    require_decimal(case.quantum, "quantum")
    for stage in case.stages:
        _require_decimals(stage)


def _require_idle_line(stage: Stage, spoiled_units: Decimal) -> None:
    """FIFO with fewer units completed than began is costed only as an idle line (what the
    resolver lets through, FIFO_BEGINNING_NOT_COMPLETED and ENDING_WIP_BEHIND_BEGINNING otherwise):
    a ``Stage`` built by Python code that is not one is a ValueError, not wrong figures."""
    if stage.input_units or spoiled_units or stage.normal_loss is not None:
        raise ValueError(f"stage {stage.name!r}: under FIFO fewer units completed than began, with units "
                         "started, received, spoiled or lost (only an idle line is costed so)")
    # Completions, which the figures rest on (a negative equivalent unit otherwise); the stage's
    # progress is the resolver's to compare, which knows the elements that take it.
    behind = [name for name, done in stage.ending.completion.items() if done < stage.beginning.completion[name]]
    if behind:
        raise ValueError(f"stage {stage.name!r}: under FIFO on an idle line, ending WIP (beginning units) is less "
                         f"complete than it began in {', '.join(behind)}")


def cost_path(element: str) -> str:
    """Where the user wrote an element's cost: transferred-in cost is not under added_costs."""
    return "transferred_in.cost" if element == TRANSFERRED_IN else f"added_costs.{element}"


def _cost_stage(stage: Stage, method: Method, q: Decimal, ti_cost: Decimal | None) -> StageReport:
    # Runs inside engine_context(rounding): quantize() without a rounding argument uses the case's mode.
    mode = None
    fifo = method is Method.FIFO
    beginning, ending, sp = stage.beginning, stage.ending, stage.spoilage
    b_units = beginning.units
    b_done = beginning.completion
    b_cost = stage.beginning_cost
    completed = stage.completed
    e_units = ending.units
    e_done = ending.completion
    normal_units, abnormal_units = sp.normal, sp.abnormal
    spoiled_units = normal_units + abnormal_units
    s_done = sp.completion

    own = stage.added_costs
    if fifo and completed < b_units:
        _require_idle_line(stage, spoiled_units)
    receives_transfer = stage.receives_transfer
    if receives_transfer:
        if stage.transferred_in_cost is not None:
            ti_cost = stage.transferred_in_cost
        if ti_cost is None:
            raise ValueError(f"stage {stage.name!r} receives units but no transferred-in cost was given")

    eus: dict[str, Decimal] = {}
    rates: dict[str, Decimal] = {}
    b_by: dict[str, Decimal] = {}
    added_by: dict[str, Decimal] = {}
    to_out: dict[str, Decimal] = {}
    to_end: dict[str, Decimal] = {}
    normal_gross: dict[str, Decimal] = {}
    abnormal_gross: dict[str, Decimal] = {}
    problems: list[Issue] = []
    zero = _ZERO * q
    normal_exact = abnormal_exact = _ZERO  # spoilage cost before rounding, compared with the disposal value

    for element in stage.elements:
        name = element.name
        # The transferred-in element's cost is the previous stage's transferred out.
        added = ti_cost if receives_transfer and name == TRANSFERRED_IN else own[name]
        b = b_cost[name]
        # equivalent_units(), term by term: each term gets its share of the cost.  FIFO counts this
        # period's work only (finish beginning WIP, start-and-complete, start ending WIP), and
        # completed units' share is finish + started-and-completed, one amount.
        finish, done, end_eu = equivalent_unit_terms(fifo, b_units, b_done[name], completed, e_units, e_done[name])
        s_c = s_done[name]
        normal_eu = normal_units * s_c
        abnormal_eu = abnormal_units * s_c
        if fifo:
            out_eu = finish + done
            pool = added
        else:
            out_eu = done
            pool = b + added
        eu = out_eu + end_eu + normal_eu + abnormal_eu
        if not eu:
            if pool:
                problems.append(zero_equivalent_units(stage.name, name, pool, eu, method, cost_path(name)))
            rate = _ZERO
        else:
            rate = pool / eu
        if spoiled_units:
            out, end, normal_gross[name], abnormal_gross[name] = allocate(
                [out_eu * rate, end_eu * rate, normal_eu * rate, abnormal_eu * rate], pool, q, mode)
            normal_exact += normal_eu * rate
            abnormal_exact += abnormal_eu * rate
        else:
            out, end = allocate([out_eu * rate, end_eu * rate], pool, q, mode)
        eus[name] = eu
        rates[name] = rate
        b_by[name] = b
        added_by[name] = added
        if fifo:
            # Beginning WIP's own cost goes out with the beginning units, which are completed first
            # (on an idle line only the completed ones' share; the rest stays with the others).
            b_out = b if completed >= b_units else beginning_cost_completed(b, b_units, completed, q,
                                                                            getcontext().rounding)
            to_out[name] = b_out + out
            to_end[name] = b - b_out + end
        else:
            to_out[name] = out
            to_end[name] = end
    if problems:
        raise CostingError(problems)

    if spoiled_units:
        # Disposal value of spoiled units is recovered (spoiled goods inventory) and reduces the
        # cost of spoilage.  The spoiled goods are one amount, rounded once (spoiled units x value),
        # then split between normal and abnormal spoilage by their units (largest remainder, normal
        # first on a tie), so that the two add up to it to the cent; each is split across elements
        # in proportion to their spoilage cost.  Ties are broken by element name so that the order
        # of elements in the file cannot change results.
        value = sp.disposal_value
        spoiled_goods = (spoiled_units * value).quantize(q)
        # Shares of the rounded whole (not units x value, which add up to the unrounded one: the
        # cent rounding added or took went to the wrong kind).
        normal_disposal, abnormal_disposal = allocate(
            [spoiled_goods * normal_units / spoiled_units, spoiled_goods * abnormal_units / spoiled_units],
            spoiled_goods, q, mode)
        # Refused when the value exceeds the cost both as they are and as rounded (both kinds: every
        # problem at once).  Within the cost before rounding, rounding alone may put a kind's value
        # a cent above its rounded cost (each rounded on its own): that cent goes to the other kind
        # where it fits, and is not taken where it does not (``_within_rounded_costs``).
        problems = [_disposal_exceeds_cost(stage.name, which, disposal, cost)
                    for which, units, exact, disposal, cost in (
                        ("normal", normal_units, normal_exact, normal_disposal, sum(normal_gross.values(), zero)),
                        ("abnormal", abnormal_units, abnormal_exact, abnormal_disposal,
                         sum(abnormal_gross.values(), zero)))
                    if units * value > exact and disposal > cost]
        if problems:
            raise CostingError(problems)
        normal_disposal, abnormal_disposal = _within_rounded_costs(
            normal_disposal, abnormal_disposal, sum(normal_gross.values(), zero), sum(abnormal_gross.values(), zero))
        problems = []
        try:
            normal_disposal_by = _split_by_weight(normal_disposal, normal_gross, q, mode, stage.name, "normal")
        except CostingError as e:
            problems.extend(e.issues)
        try:
            abnormal_disposal_by = _split_by_weight(abnormal_disposal, abnormal_gross, q, mode, stage.name,
                                                    "abnormal")
        except CostingError as e:
            problems.extend(e.issues)
        if problems:
            raise CostingError(problems)

        # Net normal spoilage cost goes to the good units that passed inspection this period.
        passing_out, passing_end = stage.completed_passing, stage.ending_passing
        passing = passing_out + passing_end
        out_fraction = passing_out / passing if passing else _ZERO
        normal_to_out: dict[str, Decimal] = {}
        normal_to_end: dict[str, Decimal] = {}
        normal_net: dict[str, Decimal] = {}
        abnormal_net: dict[str, Decimal] = {}
        for name in eus:
            net = normal_gross[name] - normal_disposal_by[name]
            normal_net[name] = net
            abnormal_net[name] = abnormal_gross[name] - abnormal_disposal_by[name]
            if net:
                # Shared between the completed units and ending WIP that passed inspection.
                share_out, share_end = allocate([net * out_fraction, net - net * out_fraction], net, q, mode)
                to_out[name] += share_out
                to_end[name] += share_end
            else:
                share_out = share_end = zero
            normal_to_out[name] = share_out
            normal_to_end[name] = share_end
        normal_spoilage = _new_report(SpoilageCost, {
            "total": sum(normal_net.values(), zero), "disposal_value": normal_disposal,
            "by_element": normal_net, "disposal_value_by_element": normal_disposal_by})
        abnormal_spoilage = _new_report(SpoilageCost, {
            "total": sum(abnormal_net.values(), zero), "disposal_value": abnormal_disposal,
            "by_element": abnormal_net, "disposal_value_by_element": abnormal_disposal_by})
    else:
        # No spoiled units: no spoilage cost, no disposal value, nothing reassigned (what the
        # general path gives, every amount 0 at the minor unit, without computing it).
        normal_spoilage = _new_report(SpoilageCost, {
            "total": zero, "disposal_value": zero, "by_element": dict.fromkeys(eus, zero),
            "disposal_value_by_element": dict.fromkeys(eus, zero)})
        abnormal_spoilage = _new_report(SpoilageCost, {
            "total": zero, "disposal_value": zero, "by_element": dict.fromkeys(eus, zero),
            "disposal_value_by_element": dict.fromkeys(eus, zero)})
        normal_to_out = dict.fromkeys(eus, zero)
        normal_to_end = dict.fromkeys(eus, zero)

    b_total = sum(b_cost.values(), zero)
    added_total = sum(own.values(), zero + ti_cost if receives_transfer else zero)
    return _new_report(StageReport, {
        "name": stage.name,
        "physical_units": _new_report(PhysicalUnits, {
            "beginning_wip": b_units,
            "started": _ZERO if receives_transfer else stage.input_units,
            "transferred_in": stage.input_units if receives_transfer else _ZERO,
            "completed": completed,
            "ending_wip": e_units,
            "normal_spoilage": normal_units,
            "abnormal_spoilage": abnormal_units,
        }),
        "equivalent_units": eus,
        "cost_per_eu": rates,
        "costs_to_account_for": _new_report(CostsToAccountFor, {
            "beginning_wip": b_total, "added": added_total, "total": b_total + added_total,
            "beginning_wip_by_element": b_by, "added_by_element": added_by}),
        "transferred_out": _new_report(Assigned, {
            "total": sum(to_out.values(), zero), "by_element": to_out,
            "normal_spoilage_by_element": normal_to_out}),
        "ending_wip": _new_report(Assigned, {
            "total": sum(to_end.values(), zero), "by_element": to_end,
            "normal_spoilage_by_element": normal_to_end}),
        "normal_spoilage": normal_spoilage,
        "abnormal_spoilage": abnormal_spoilage,
    })


def _disposal_exceeds_cost(stage: str, which: str, value: Decimal, cost: Decimal) -> Issue:
    return Issue("DISPOSAL_EXCEEDS_COST", "spoilage.disposal_value",
                 f"{stage}: disposal value of {which} spoilage {value} is more than its cost {cost}; "
                 "check spoilage.disposal_value (it is per spoiled unit)")


def _within_rounded_costs(normal: Decimal, abnormal: Decimal, normal_cost: Decimal,
                          abnormal_cost: Decimal) -> tuple[Decimal, Decimal]:
    """The spoiled goods' split between normal and abnormal spoilage, with what rounding put above
    one kind's rounded cost moved to the other as far as it has room (the value is within the cost
    before rounding; each rounded on its own — the cost element by element, up to a minor unit
    each — they can cross by a few).  What has no room — the
    spoiled goods rounded up past the whole cost rounded (JPY: 2 units at ¥1.27, ¥2.54, are ¥3; their
    cost, ¥2.65, is ¥1 + ¥1) — is not taken: spoiled goods are valued at most at their cost.
    Unchanged otherwise.

    >>> _within_rounded_costs(Decimal("103.42"), Decimal("275.77"), Decimal("103.41"), Decimal("275.78"))
    (Decimal('103.41'), Decimal('275.78'))
    >>> _within_rounded_costs(Decimal("2"), Decimal("1"), Decimal("1"), Decimal("1"))
    (Decimal('1'), Decimal('1'))
    """
    for _ in range(2):
        if normal > normal_cost and abnormal < abnormal_cost:
            moved = min(normal - normal_cost, abnormal_cost - abnormal)
            normal, abnormal = normal - moved, abnormal + moved
        normal, abnormal, normal_cost, abnormal_cost = abnormal, normal, abnormal_cost, normal_cost
    return min(normal, normal_cost), min(abnormal, abnormal_cost)


def _split_by_weight(amount: Decimal, weights: dict[str, Decimal], q: Decimal, mode: str,
                     stage: str, which: str) -> dict[str, Decimal]:
    if not amount:
        zero = _ZERO * q
        return {name: zero for name in weights}
    total = sum(weights.values(), _ZERO)
    if amount > total:
        raise CostingError([_disposal_exceeds_cost(stage, which, amount, total)])
    names = sorted(weights)  # ties go to the alphabetically first element, whatever the file order
    parts = allocate([amount * weights[n] / total for n in names], amount, q, mode)
    return dict(zip(names, parts))


def _without_disposal_value(stage: Stage, refused: CostingError, method: Method, q: Decimal,
                            transferred: Decimal | None) -> StageReport | None:
    """When a stage was refused only for its disposal value, the stage costed without one: a
    stand-in transferred-out cost (it differs by the disposal value's share at most) so that later
    stages are still checked and their problems reported with this one's.  None otherwise."""
    if stage.spoilage is None or any(i.code != "DISPOSAL_EXCEEDS_COST" for i in refused.issues):
        return None
    try:
        return _cost_stage(replace(stage, spoilage=replace(stage.spoilage, disposal_value=_ZERO)), method, q,
                           transferred)
    except CostingError:
        return None


def cost_resolved_case(case: Case) -> CaseReport:
    """Cost every stage in flow order, each receiving the previous stage's transferred-out total."""
    if case.loss_convention is LossConvention.PROCESS_ACCOUNT:
        return _cost_process_account_case(case)
    reports: list[StageReport] = []
    transferred = None
    problems: list[Issue] = []
    method, q = case.method, case.quantum
    with localcontext(engine_context(ROUNDING_MODES[case.rounding])):  # one context for the chain
        for index, stage in enumerate(case.stages):
            try:
                report = _cost_stage(stage, method, q, transferred)
            except CostingError as e:
                problems.extend(i.under(f"stages[{index}]") for i in e.issues)
                report = _without_disposal_value(stage, e, method, q, transferred)
                if report is None:
                    break  # later stages need this stage's transferred-out cost
            reports.append(report)
            transferred = report.transferred_out.total
    if problems:
        raise CostingError(problems)
    return CaseReport._trusted(currency=case.currency, method=case.method.value, stages=reports,
                               loss_convention="spoilage")


def _cost_process_account_case(case: Case) -> CaseReport:
    """The same chain under the process-account convention: each stage receives the previous
    stage's good output at its value; abnormal loss and gain stay in the stage that had them."""
    from ._process_account import cost_process_stage

    reports: list[StageReport] = []
    transferred = None
    problems: list[Issue] = []
    context = engine_context(ROUNDING_MODES[case.rounding])
    names = [s.name for s in case.stages]
    for index, stage in enumerate(case.stages):
        received_from = names[index - 1] if index else ""
        output_to = names[index + 1] if index + 1 < len(names) else ""
        try:
            with localcontext(context):
                report = cost_process_stage(stage, case.method, case.quantum, transferred, received_from, output_to)
        except CostingError as e:
            problems.extend(i.under(f"stages[{index}]") for i in e.issues)
            break  # later stages need this stage's good output
        reports.append(report)
        transferred = report.transferred_out.total
    if problems:
        raise CostingError(problems)
    return CaseReport._trusted(currency=case.currency, method=case.method.value, stages=reports,
                               loss_convention=LossConvention.PROCESS_ACCOUNT.value)


# Exact: the parts are products of units and completions, compared with the engine's totals.
_EXACT_PARTS = Context(prec=80)


def equivalent_unit_parts(stage: Stage, report: StageReport, method: str) -> dict[str, EquivalentUnitParts] | None:
    """Each element's equivalent units in parts (``EquivalentUnitParts``), from the resolved stage
    the engine costed and its report; None for a process-account stage (its Step 2 deducts an
    abnormal gain and gives a normal loss none) or when the parts do not give the engine's totals."""
    if isinstance(report, ProcessAccountStageReport) or stage.normal_loss is not None:
        return None
    fifo = method == "fifo"
    b_units, e_units, sp = stage.beginning.units, stage.ending.units, stage.spoilage
    out: dict[str, EquivalentUnitParts] = {}
    with localcontext(_EXACT_PARTS):
        for name, total in report.equivalent_units.items():
            finish, done, end_eu = equivalent_unit_terms(fifo, b_units, stage.beginning.completion[name],
                                                         stage.completed, e_units, stage.ending.completion[name])
            lost_done = stage.spoilage.completion.get(name, _ZERO)
            parts = EquivalentUnitParts(
                to_complete_beginning_wip=finish, started_and_completed=done if fifo else None,
                completed=None if fifo else done,
                normal_spoilage=sp.normal * lost_done, abnormal_spoilage=sp.abnormal * lost_done,
                ending_wip=end_eu, total=total)
            if parts.parts_total != total:
                return None
            out[name] = parts
    return out


def transferred_out_parts(report: StageReport, parts: dict[str, EquivalentUnitParts] | None,
                          rounding: str = "half_up") -> dict[str, TransferredOutParts] | None:
    """Under FIFO, each element's cost transferred out in the textbook's parts
    (``TransferredOutParts``), from the report and its ``equivalent_unit_parts``; None under weighted
    average (beginning WIP's cost is pooled), for a process-account stage, without parts, or with no
    beginning WIP (everything out was started and completed).

    The engine assigned this period's cost of the completed units as one amount (to complete
    beginning WIP + started and completed, at the cost per equivalent unit); it is split here by
    largest remainder over those two terms, so the parts add up to the assigned figure to the cent
    (rounded with the case's ``rounding``, the earlier part first on a tie)."""
    if parts is None or isinstance(report, ProcessAccountStageReport) or not report.physical_units.beginning_wip:
        return None
    out = report.transferred_out
    beginning = report.costs_to_account_for.beginning_wip_by_element
    units = report.physical_units
    result: dict[str, TransferredOutParts] = {}
    with localcontext(_EXACT_PARTS):
        for name, total in out.by_element.items():
            part = parts.get(name)
            if part is None or part.started_and_completed is None or part.to_complete_beginning_wip is None:
                return None  # weighted average, or parts that do not cover the element
            normal = out.normal_spoilage_by_element.get(name, _ZERO * total)
            quantum = Decimal(1).scaleb(total.as_tuple().exponent)
            b_out = beginning_cost_completed(beginning[name], units.beginning_wip, units.completed, quantum,
                                             ROUNDING_MODES[rounding])
            this_period = total - b_out - normal
            rate = report.cost_per_eu[name]
            complete, started = allocate([part.to_complete_beginning_wip * rate, part.started_and_completed * rate],
                                         this_period, quantum, ROUNDING_MODES[rounding])
            result[name] = TransferredOutParts(beginning_wip=b_out, to_complete_beginning_wip=complete,
                                               started_and_completed=started, normal_spoilage=normal, total=total)
    return result


def ending_wip_parts(report: StageReport, layers: dict[str, TransferredOutParts] | None
                     ) -> dict[str, tuple[Decimal, Decimal]] | None:
    """On an idle FIFO line, each element's ending WIP as (beginning WIP's cost the units still in
    process keep, this period's work on them), from the report and its ``transferred_out_parts``
    (the completed units' share of beginning cost); None elsewhere (ending WIP is then all this
    period's work under FIFO, or pooled under weighted average)."""
    units = report.physical_units
    if layers is None or units.completed >= units.beginning_wip:
        return None
    beginning = report.costs_to_account_for.beginning_wip_by_element
    kept = {e: beginning[e] - layers[e].beginning_wip for e in layers}
    return {e: (kept[e], amount - kept[e]) for e, amount in report.ending_wip.by_element.items()}
