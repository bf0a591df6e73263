"""A product's plan straight from the close file's mapping, for the common, clean case.

``resolve_close`` validates each product with pydantic (``ProductSpec``) and then resolves it
(``_resolve_product`` → ``resolve_case``), collecting every problem with its location.  That
general path costs about 65 µs per product-stage, most of a large close's input work.  A close
file that is in order is resolved here in one pass over the raw mapping instead, about four times
faster, and gives the very same ``ProductPlan`` (same values, same Decimal exponents, same maps in
the same order: ``tests/test_close_fast.py`` checks this on generated and demo files).

This path never reports a problem: at the first thing it does not handle or that is not in order it
returns None, and the caller takes the general path for that product, which then finds and locates
every problem: a count or shipments that do not fit the units too (``plan_refused``), which the
general path says with every other problem of the close. Handled: the spoilage convention (US),
stages with started (first) or transferred-in units (later), beginning WIP from the file (first
period) or from the ledger, numbers as text, integers or floats, spoilage given as normal,
normal_rate (exact or in whole units), abnormal and/or spoiled, overhead applied on any driver,
counts. Not handled (general path): process accounts, a first stage receiving units
(``transferred_in``), beginning WIP given in a later period (compared with the ledger), opening
finished goods. Each product is resolved on its own: names across products and against the prior
close (one name in two spellings, a product spelt otherwise than the month before) are its caller's
to check (``product_plans``), for the products of either path.
"""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

from .._engine import element_completion, equivalent_units, normal_spoilage_from_rate, units_passing_inspection
from .._journal import name_problem
from .._model import (RESERVED_ELEMENT_NAMES, TRANSFERRED_IN, Case, Element, ElementKind, LossConvention,
                      Method, Spoilage, Stage, UnitGroup)
from .._numbers import EXACT_UNITS, NUMBER_LIMIT, ROUNDING_MODES, NumberError, to_decimal, to_fraction
from ._overhead import applied_overhead
from ._resolve import ProductPlan, groups_with_dot, plan_refused, read_as_grouped, typed_like_grouped
from ._spec import CloseSpec
from ._state import PriorState, StageWip

__all__ = ["FastResolver"]

_ZERO = Decimal(0)
_ONE = Decimal(1)
_POINTS = {"start": _ZERO, "end": _ONE}
_KINDS = {kind.value: kind for kind in ElementKind if kind is not ElementKind.TRANSFERRED_IN}
_TRANSFERRED_IN_ELEMENT = Element(TRANSFERRED_IN, ElementKind.TRANSFERRED_IN, _ZERO)
_PRODUCT_KEYS = frozenset({"name", "stages", "shipments", "opening_finished_goods"})
_STAGE_KEYS = frozenset({"name", "elements", "beginning_wip", "started", "completed", "ending_wip", "added_costs",
                         "spoilage", "driver_quantity", "count", "transferred_in"})
_BEGINNING_KEYS = frozenset({"units", "complete", "cost"})
_ENDING_KEYS = frozenset({"units", "complete"})
_TRANSFERRED_IN_KEYS = frozenset({"units", "cost"})
_SPOILAGE_KEYS = frozenset({"normal", "normal_rate", "normal_from_rate", "abnormal", "spoiled", "inspection",
                            "disposal_value"})
_NORMAL_FROM_RATE = {"exact": False, "whole_units": True}  # the word as written -> whole units
_ELEMENT_KEYS = frozenset({"kind", "added"})


class _Decline(Exception):
    """Not for this path: the general one resolves (or reports) this product."""


def _number(value: Any) -> Decimal:
    try:
        return to_decimal(value)
    except NumberError:
        raise _Decline from None


def _fraction(value: Any) -> Decimal:
    try:
        return to_fraction(value)
    except NumberError:
        raise _Decline from None


def _optional(mapping: dict, key: str, convert=_number) -> Decimal | None:
    """The value of an optional key; None when not written.  Written and left blank (``count:``),
    declined: the general path decides (it refuses a blank count or rate, takes some other keys so)."""
    value = mapping.get(key)
    if value is None and key in mapping:
        raise _Decline
    return None if value is None else convert(value)


def _mapping(value: Any, keys: frozenset) -> dict:
    if type(value) is not dict or not keys.issuperset(value):
        raise _Decline
    return value


def _in_unit_range(value: Decimal) -> Decimal:
    if not (_ZERO <= value <= _ONE):
        raise _Decline
    return value


class FastResolver:
    """Resolves products of one close (its resolved header, the prior state, the quantum).
    ``resolver(raw_product)`` is the product's plan, or None where the general path must decide."""

    def __init__(self, header: CloseSpec, prior: PriorState | None, q: Decimal):
        self._header, self._prior, self._q = header, prior, q
        # An amount typed like 36.000 under a locale grouping thousands with '.': the general path refuses it.
        self._locale = header.locale if groups_with_dot(header.locale) else None
        self._zero = _ZERO * q
        self._method = Method(header.method)
        self._rounding = ROUNDING_MODES[header.rounding]  # applied overhead is rounded as posted
        self._fifo = self._method is Method.FIFO
        self._enabled = header.loss_convention == LossConvention.SPOILAGE.value
        self._wip_accounts = header.accounts.wip
        self._overhead = header.overhead
        # Element definitions repeat across stages and products; Elements are immutable values.
        self._elements: dict[tuple, tuple[tuple[Element, ...], str | None]] = {}

    def __call__(self, raw: Any) -> ProductPlan | None:
        if not self._enabled:
            return None
        try:
            return self._product(raw)
        except _Decline:
            return None
        except (ArithmeticError, TypeError, ValueError, KeyError, AttributeError):
            return None  # anything unexpected: the general path says what it is

    # ---- product -------------------------------------------------------------------------------

    def _product(self, raw: Any) -> ProductPlan:
        raw = _mapping(raw, _PRODUCT_KEYS)
        name = raw.get("name")
        raw_stages = raw.get("stages")
        if type(name) is not str or type(raw_stages) is not list or not raw_stages or name_problem(name):
            raise _Decline
        if raw.get("opening_finished_goods") is not None:
            raise _Decline
        shipments = raw.get("shipments")
        shipments = _ZERO if shipments is None and "shipments" not in raw else _number(shipments)
        if shipments < 0:
            raise _Decline
        prior = self._prior
        applied: dict[str, Decimal] = {}
        oh_element: dict[str, str] = {}
        drivers: dict[str, Decimal] = {}
        counts: dict[str, Decimal] = {}
        stages: list[Stage] = []
        names: set[str] = set()
        previous_completed: Decimal | None = None
        for index, raw_stage in enumerate(raw_stages):
            stage = self._stage(name, _mapping(raw_stage, _STAGE_KEYS), index, previous_completed,
                                applied, oh_element, drivers, counts)
            if stage.name in names:
                raise _Decline
            names.add(stage.name)
            stages.append(stage)
            previous_completed = stage.completed
        if prior is not None:
            if any(wip.units and stage not in names for stage, wip in prior.wip_of(name).items()):
                raise _Decline  # a stage with WIP carried from the prior close is missing
            opening_fg = prior.finished_goods.get(name, ())
        else:
            opening_fg = ()
        header = self._header
        case = Case(currency=header.currency, quantum=self._q, method=self._method, rounding=header.rounding,
                    stages=tuple(stages), loss_convention=LossConvention.SPOILAGE)
        plan = ProductPlan(name, case, applied, oh_element, drivers, counts, shipments, opening_fg)
        if plan_refused(plan):
            raise _Decline  # a count or the shipments do not fit the units: said by the general path
        return plan

    # ---- stage ---------------------------------------------------------------------------------

    def _element_list(self, raw: Any, receives_transfer: bool) -> tuple[tuple[Element, ...], str | None]:
        """The stage's elements (transferred-in first when it receives units) and its overhead element."""
        if type(raw) is not dict:
            raise _Decline
        # Keyed by each value's type and repr: 1, 1.0 and True are equal keys but not equal inputs,
        # nor are Decimal('0.5') and Decimal('0.50') (same value, another exponent).
        key = (receives_transfer, *((n, tuple((k, type(v), repr(v)) for k, v in e.items()) if type(e) is dict
                                     else (type(e), repr(e))) for n, e in raw.items()))
        found = self._elements.get(key)
        if found is not None:
            return found
        elements = [_TRANSFERRED_IN_ELEMENT] if receives_transfer else []
        overhead = []
        for name, spec in raw.items():
            spec = _mapping(spec, _ELEMENT_KEYS)
            kind = _KINDS.get(spec.get("kind")) if type(spec.get("kind")) is str else None
            if type(name) is not str or name in RESERVED_ELEMENT_NAMES or kind is None or "added" not in spec:
                raise _Decline
            added = spec["added"]
            if type(added) is str and added.strip() in ("start", "end", "evenly"):
                added_at = _POINTS.get(added.strip())
            else:
                added_at = _in_unit_range(_fraction(added))
            elements.append(Element(name, kind, added_at))
            if kind is ElementKind.OVERHEAD:
                overhead.append(name)
        if len(overhead) > 1:
            raise _Decline
        found = self._elements[key] = (tuple(elements), overhead[0] if overhead else None)
        return found

    def _stage(self, product: str, raw: dict, index: int, previous_completed: Decimal | None,
               applied: dict, oh_element: dict, drivers: dict, counts: dict) -> Stage:
        q, zero = self._q, self._zero
        name = raw.get("name")
        if type(name) is not str or name not in self._wip_accounts or "completed" not in raw:
            raise _Decline
        first = index == 0
        if raw.get("transferred_in") is not None:
            raise _Decline
        elements, overhead_name = self._element_list(raw.get("elements"), not first)
        completed = _number(raw["completed"])
        started = _optional(raw, "started")
        if first:
            if started is None:
                raise _Decline
            input_units = started
        else:
            if started is not None:
                raise _Decline
            input_units = previous_completed

        # Overhead applied at the stage's predetermined rate on this product's driver quantity.
        added_raw = raw.get("added_costs")
        if added_raw is None and "added_costs" in raw:
            raise _Decline
        added_given = {k: _number(v) for k, v in _plain_map(added_raw).items()}
        driver_quantity = _optional(raw, "driver_quantity")  # a number wherever given, used or not
        if overhead_name is not None:
            config = self._overhead.get(name)
            if overhead_name in added_given or config is None:
                raise _Decline
            if config.driver == "direct_labour_cost":
                quantity = sum((added_given.get(e.name, _ZERO) for e in elements if e.kind is ElementKind.LABOUR),
                               _ZERO)
            else:
                quantity = driver_quantity
                if quantity is None or quantity < 0:
                    raise _Decline
            if abs(config.rate * quantity) >= NUMBER_LIMIT:
                raise _Decline
            amount = applied_overhead(config.rate, quantity, q, self._rounding)
            applied[name] = amount
            drivers[name] = quantity
            oh_element[name] = overhead_name
            added_given[overhead_name] = amount
        count = _optional(raw, "count")
        if count is not None:
            if count < 0:
                raise _Decline
            counts[name] = count

        # Beginning WIP: from the file in the ledger's first period, from the ledger afterwards.
        b_raw = raw.get("beginning_wip")
        if self._prior is not None:
            if b_raw is not None:
                raise _Decline  # compared with the prior close by the general path
            beginning, b_cost_given = self._carried(self._prior.wip.get((product, name)), elements)
        elif b_raw is None:
            if "beginning_wip" in raw:
                raise _Decline
            beginning, b_cost_given = None, {}
        else:
            b_raw = _mapping(b_raw, _BEGINNING_KEYS)
            if "units" not in b_raw:
                raise _Decline
            beginning = (_number(b_raw["units"]), _completion_spec(b_raw.get("complete"), "complete" in b_raw))
            cost_raw = b_raw.get("cost")
            if cost_raw is None and "cost" in b_raw:
                raise _Decline
            b_cost_given = {k: _number(v) for k, v in _plain_map(cost_raw).items()}
        e_raw = raw.get("ending_wip")
        if e_raw is None:
            if "ending_wip" in raw:
                raise _Decline
            e_units, e_complete = _ZERO, None
        else:
            e_raw = _mapping(e_raw, _ENDING_KEYS)
            if "units" not in e_raw:
                raise _Decline
            e_units, e_complete = _number(e_raw["units"]), _completion_spec(e_raw.get("complete"), "complete" in e_raw)
        if beginning is None:
            b_units, b_group = _ZERO, _unit_group(_ZERO, None, elements)
        elif isinstance(beginning, UnitGroup):
            b_units, b_group = beginning.units, beginning
        else:
            b_units, b_group = beginning[0], _unit_group(beginning[0], beginning[1], elements)
        for units in (b_units, input_units, completed, e_units):
            if units < 0:
                raise _Decline
        e_group = _unit_group(e_units, e_complete, elements)

        # Costs by element, every element present, as posted amounts.
        b_cost = dict.fromkeys((e.name for e in elements), zero)
        for key, value in b_cost_given.items():
            if key not in b_cost:
                raise _Decline
            b_cost[key] = _posted(value, q, self._locale)
        added = dict.fromkeys((e.name for e in elements if e.kind is not ElementKind.TRANSFERRED_IN), zero)
        for key, value in added_given.items():
            if key not in added:
                raise _Decline
            added[key] = _posted(value, q, self._locale)
        if not b_units and any(b_cost.values()):
            raise _Decline

        spoilage, completed_passing, ending_passing = self._spoilage(
            raw.get("spoilage"), "spoilage" in raw, elements, b_group, e_group, b_units, e_units, completed)
        # Compared exactly, as the general path compares new input (a difference in the 29th digit
        # is a unit flow problem there); a recorded close's 28-digit comparison is the general path's.
        with localcontext(EXACT_UNITS):
            if b_units + input_units != completed + e_units + spoilage.normal + spoilage.abnormal:
                raise _Decline
        if self._fifo and completed < b_units:
            raise _Decline
        # Costs with no equivalent units to carry them (the general path's ZERO_EQUIVALENT_UNITS).
        spoiled = spoilage.normal + spoilage.abnormal
        b_done, e_done, s_done = b_group.completion, e_group.completion, spoilage.completion
        if not input_units and not spoiled and e_units and completed < b_units and (
                (b_group.progress is not None and e_group.progress is not None and e_group.progress < b_group.progress)
                or any(e_done[n] < b_done[n] for n in b_done)):
            raise _Decline  # an idle line's progress gone back: ENDING_WIP_BEHIND_BEGINNING, the general path's
        fifo = self._fifo
        for el in elements:
            element = el.name
            pool = added.get(element, _ZERO) if fifo else b_cost[element] + added.get(element, _ZERO)
            if pool and equivalent_units(fifo, b_units, b_done[element], completed, e_units, e_done[element],
                                         spoiled, s_done[element]) <= 0:
                raise _Decline
        return Stage(name=name, elements=elements, beginning=b_group, beginning_cost=b_cost, input_units=input_units,
                     receives_transfer=not first, transferred_in_cost=None, completed=completed, ending=e_group,
                     added_costs=added, spoilage=spoilage, completed_passing=completed_passing,
                     ending_passing=ending_passing, normal_loss=None, added_units={})

    def _carried(self, carried: StageWip | None, elements: tuple[Element, ...]) -> tuple[Any, dict]:
        """Beginning WIP carried from the prior close (as the general path's ``_beginning_from``)."""
        if carried is None or not carried.units and not any(carried.cost.values()):
            return None, {}
        complete: dict[str, Decimal] = dict(carried.completion)
        if carried.progress is not None:
            complete["progress"] = carried.progress
        complete.pop(TRANSFERRED_IN, None)
        return (carried.units, complete), dict(carried.cost)

    def _spoilage(self, raw: Any, given: bool, elements: tuple[Element, ...], beginning: UnitGroup,
                  ending: UnitGroup, b_units: Decimal, e_units: Decimal, completed: Decimal):
        if raw is None:
            if given:
                raise _Decline
            s = None
            inspection = _ONE
        else:
            s = _mapping(raw, _SPOILAGE_KEYS)
            inspection = _in_unit_range(_optional(s, "inspection", _fraction) if s.get("inspection") is not None
                                        else _ONE)
            if "inspection" in s and s["inspection"] is None:
                raise _Decline
        completed_passing, ending_passing = units_passing_inspection(completed, b_units, beginning.progress, e_units,
                                                                     ending.progress, inspection)
        completion = {e.name: (_ONE if e.kind is ElementKind.TRANSFERRED_IN else element_completion(inspection, e.added_at))
                      for e in elements}
        if s is None:
            return Spoilage(_ZERO, _ZERO, inspection, _ZERO, completion), completed_passing, ending_passing
        normal_given, rate, abnormal_given, spoiled = (_optional(s, "normal"), _optional(s, "normal_rate", _fraction),
                                                       _optional(s, "abnormal"), _optional(s, "spoiled"))
        # Exactly the words the spec's Literal takes (no spaces, no other case): anything else is the
        # general path's INVALID_CHOICE.
        counted = s.get("normal_from_rate", "exact")
        if type(counted) is not str or counted not in _NORMAL_FROM_RATE:
            raise _Decline
        whole_units = _NORMAL_FROM_RATE[counted]
        disposal = _optional(s, "disposal_value")
        if disposal is None:
            if "disposal_value" in s:
                raise _Decline
            disposal = _ZERO
        if any(v for v in (normal_given, rate, abnormal_given, spoiled)):
            for group in (beginning, ending):
                if group.units and group.progress is None:
                    raise _Decline
        for units in (normal_given, abnormal_given, spoiled):
            if units is not None and units < 0:
                raise _Decline
        if disposal < 0 or (normal_given is not None and rate is not None):
            raise _Decline
        if normal_given is not None:
            normal = normal_given
        elif rate is not None:
            normal = normal_spoilage_from_rate(_in_unit_range(rate), completed_passing + ending_passing, spoiled,
                                               whole_units)
        else:
            normal = _ZERO
        if spoiled is not None:
            with localcontext(EXACT_UNITS):  # to the last place, as the general path takes new input
                abnormal = spoiled - normal
            if (abnormal_given is not None and abnormal_given != abnormal) or abnormal < 0:
                raise _Decline
        else:
            abnormal = abnormal_given if abnormal_given is not None else _ZERO
        if normal and not (completed_passing + ending_passing):
            raise _Decline
        return Spoilage(normal, abnormal, inspection, disposal, completion), completed_passing, ending_passing


def _plain_map(raw: Any) -> dict:
    """A {text: value} mapping as written (absent: empty)."""
    if raw is None:
        return {}
    if type(raw) is not dict or any(type(k) is not str for k in raw):
        raise _Decline
    return raw


def _posted(value: Decimal, q: Decimal, locale: str | None) -> Decimal:
    """A cost as a posted amount: not negative, no more places than the currency's, not typed in the
    close file as ``locale`` (one grouping thousands with '.'; None: another) groups thousands
    (``typed_like_grouped`` and ``read_as_grouped``; a close the ledger holds, which the general path
    accepts so, is declined too: only more slowly resolved)."""
    if value < 0 or (locale is not None and typed_like_grouped(value) and read_as_grouped(value, q, locale)):
        raise _Decline
    posted = value.quantize(q)
    if posted != value:
        raise _Decline
    return posted


def _completion_spec(raw: Any, given: bool) -> Decimal | dict | None:
    """A completion as written: a fraction, or a map {progress, element: fraction}."""
    if raw is None:
        if given:
            raise _Decline
        return None
    if type(raw) is dict:
        if any(type(k) is not str for k in raw):
            raise _Decline
        return {k: _fraction(v) for k, v in raw.items()}
    return _fraction(raw)


def _unit_group(units: Decimal, complete: Decimal | dict | None, elements: tuple[Element, ...]) -> UnitGroup:
    """As the general path's ``_unit_group``, for a completion without problems."""
    if complete is None:
        if units:
            raise _Decline
        return UnitGroup(units, _ZERO, {e.name: (_ONE if e.kind is ElementKind.TRANSFERRED_IN else _ZERO)
                                        for e in elements})
    if type(complete) is dict:
        names = {e.name for e in elements}
        for key, value in complete.items():
            if key != "progress" and key not in names:
                raise _Decline
            _in_unit_range(value)
        progress = complete.get("progress")
        overrides = complete
    else:
        progress = _in_unit_range(complete)
        overrides = {}
    completion: dict[str, Decimal] = {}
    for e in elements:
        name = e.name
        if name in overrides and name != "progress":
            completion[name] = overrides[name]
        elif e.kind is ElementKind.TRANSFERRED_IN:
            completion[name] = _ONE
        elif progress is not None:
            completion[name] = element_completion(progress, e.added_at)
        else:
            raise _Decline
    return UnitGroup(units, progress, completion)
