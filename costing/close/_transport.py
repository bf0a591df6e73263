"""A product's resolved plan as plain JSON-able lists, and back: how a plan made in a child
process reaches the parent (``costing.close_service`` resolves a large close's products in a
forked child while it costs them).

Every Decimal travels as its exact ``str()``, which ``Decimal()`` reads back identically (value,
exponent, sign), so the plan the parent rebuilds is the plan the child made, and costs the same to
the last digit.  Maps whose keys are the stage's elements in element order travel as value lists.
A plan this codec does not lay out (a process-account stage) travels pickled; it is rare.
"""

from __future__ import annotations

import base64
import pickle
from decimal import Decimal

from .._model import Case, Element, ElementKind, LossConvention, Method, Spoilage, Stage, UnitGroup
from ._resolve import ProductPlan
from ._state import FinishedGoodsLayer

__all__ = ["encode_plan", "PlanDecoder"]


def _dec(d: Decimal | None) -> str | None:
    return None if d is None else str(d)


def _stage(stage: Stage) -> list:
    """[name, elements, beginning progress, ending progress, transferred-in cost, receives transfer,
    the stage's other Decimals in a fixed order joined by spaces]."""
    if stage.normal_loss is not None or stage.added_units:
        raise ValueError("process-account stage")
    names = tuple(e.name for e in stage.elements)
    own = tuple(e.name for e in stage.elements if e.kind is not ElementKind.TRANSFERRED_IN)
    b, e, sp = stage.beginning, stage.ending, stage.spoilage
    for values, keys in ((b.completion, names), (stage.beginning_cost, names), (e.completion, names),
                         (stage.added_costs, own), (sp.completion, names)):
        if tuple(values) != keys:
            raise ValueError("maps not keyed by the elements in order")
    return [
        stage.name, [[el.name, el.kind.value, _dec(el.added_at)] for el in stage.elements],
        _dec(b.progress), _dec(e.progress), _dec(stage.transferred_in_cost), stage.receives_transfer,
        " ".join(map(str, (
            b.units, *b.completion.values(), *stage.beginning_cost.values(), stage.input_units, stage.completed,
            e.units, *e.completion.values(), *stage.added_costs.values(),
            sp.normal, sp.abnormal, sp.inspection, sp.disposal_value, *sp.completion.values(),
            stage.completed_passing, stage.ending_passing))),
    ]


def encode_plan(plan: ProductPlan) -> list | dict:
    """The plan as lists of strings (JSON-able); the case's header fields are the close's own."""
    try:
        stages = [_stage(s) for s in plan.case.stages]
    except ValueError:
        return {"pickled": base64.b64encode(pickle.dumps(plan, protocol=pickle.HIGHEST_PROTOCOL)).decode()}
    return [
        plan.name, [plan.case.currency, str(plan.case.quantum), plan.case.method.value, plan.case.rounding,
                    plan.case.loss_convention.value],
        stages,
        {k: str(v) for k, v in plan.applied_overhead.items()}, dict(plan.overhead_element),
        {k: str(v) for k, v in plan.driver_quantity.items()}, {k: str(v) for k, v in plan.counts.items()},
        str(plan.shipments), [[l.product, l.period, str(l.units), str(l.cost)] for l in plan.opening_fg],
    ]


class PlanDecoder:
    """Rebuilds plans from ``encode_plan``'s lists.  Equal element definitions are rebuilt once
    and shared between stages (``Element`` is immutable)."""

    def __init__(self) -> None:
        self._elements: dict[tuple, tuple[Element, ...]] = {}

    def _element_tuple(self, spec: list) -> tuple[Element, ...]:
        key = tuple(map(tuple, spec))
        elements = self._elements.get(key)
        if elements is None:
            elements = self._elements[key] = tuple(
                Element(name, ElementKind(kind), None if added is None else Decimal(added)) for name, kind, added in spec)
        return elements

    def _stage(self, r: list) -> Stage:
        elements = self._element_tuple(r[1])
        names = [e.name for e in elements]
        own = [e.name for e in elements if e.kind is not ElementKind.TRANSFERRED_IN]
        n, k = len(names), len(own)
        v = list(map(Decimal, r[6].split(" ")))
        i = 1 + 2 * n  # after beginning units, completion, cost
        j = i + 3 + n  # after input units, completed, ending units, ending completion
        t = j + k + 4  # after added costs and the spoilage units, inspection and disposal value
        return Stage(
            name=r[0], elements=elements,
            beginning=UnitGroup(v[0], None if r[2] is None else Decimal(r[2]), dict(zip(names, v[1:1 + n]))),
            beginning_cost=dict(zip(names, v[1 + n:i])), input_units=v[i], receives_transfer=r[5],
            transferred_in_cost=None if r[4] is None else Decimal(r[4]), completed=v[i + 1],
            ending=UnitGroup(v[i + 2], None if r[3] is None else Decimal(r[3]), dict(zip(names, v[i + 3:j]))),
            added_costs=dict(zip(own, v[j:j + k])),
            spoilage=Spoilage(v[j + k], v[j + k + 1], v[j + k + 2], v[j + k + 3], dict(zip(names, v[t:t + n]))),
            completed_passing=v[t + n], ending_passing=v[t + n + 1],
        )

    def __call__(self, r: list | dict) -> ProductPlan:
        if isinstance(r, dict):
            return pickle.loads(base64.b64decode(r["pickled"]))
        currency, quantum, method, rounding, convention = r[1]
        case = Case(currency=currency, quantum=Decimal(quantum), method=_METHODS[method], rounding=rounding,
                    stages=tuple(self._stage(s) for s in r[2]), loss_convention=_CONVENTIONS[convention])
        return ProductPlan(
            r[0], case, {k: Decimal(v) for k, v in r[3].items()}, r[4], {k: Decimal(v) for k, v in r[5].items()},
            {k: Decimal(v) for k, v in r[6].items()}, Decimal(r[7]),
            tuple(FinishedGoodsLayer(p, per, Decimal(u), Decimal(c)) for p, per, u, c in r[8]))


_METHODS = {m.value: m for m in Method}
_CONVENTIONS = {c.value: c for c in LossConvention}
