"""What the bridge compares: one period's amounts and quantities by product, stage and element.

Pure: built from a ``CloseResult`` (the close recomputed from its stored inputs) or, in tests, by
hand.  Each line is ``value = units × completion × cost per EU``; the bridge decomposes the change
in value between two periods by changing one factor at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from .._model import TRANSFERRED_IN, Method
from ..close import CloseResult

__all__ = ["Metric", "METRIC_ORDER", "LineFigures", "PeriodFigures", "figures_from_close", "work_units",
           "ordered_elements"]

_ZERO = Decimal(0)
_ONE = Decimal(1)


class Metric(str, Enum):
    """What moved between two month-ends."""

    # This period's own costs charged to a stage (materials, labour, applied overhead, conversion);
    # quantity: equivalent units of this period's work (FIFO equivalent units, under either method).
    # Transferred-in cost is left out here: it is the previous stage's transferred out.
    COST_ADDED = "cost_added"
    # Cost of the good units a stage completed (to the next stage or to finished goods), including
    # the normal spoilage they absorbed; quantity: units completed.
    TRANSFERRED_OUT = "transferred_out"
    # Closing WIP after the count and overhead proration (the roll-forward's closing);
    # quantity: WIP units, and the element's completion.
    ENDING_WIP = "ending_wip"
    # Cost of goods shipped out of finished goods, by product (layers carry no elements);
    # quantity: units shipped.  The overhead true-up written off or prorated to COGS is not in it.
    COGS = "cogs"


METRIC_ORDER = (Metric.COST_ADDED, Metric.TRANSFERRED_OUT, Metric.ENDING_WIP, Metric.COGS)


@dataclass(frozen=True, slots=True)
class LineFigures:
    """One product-stage-element amount of one period, with the quantities that explain it."""

    metric: Metric
    product: str
    stage: str  # "" for COGS
    element: str  # "" for COGS
    value: Decimal  # the amount, already at the currency's minor unit
    units: Decimal  # equivalent units of work, units completed, WIP units or units shipped
    completion: Decimal = _ONE  # fraction complete: ending WIP only, 1 otherwise

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.metric.value, self.product, self.stage, self.element)


@dataclass(frozen=True, slots=True)
class PeriodFigures:
    period: str
    close_no: int
    method: str  # fifo | weighted_average, as the period was closed
    currency: str
    quantum: Decimal
    rounding: str  # half_up | half_even
    lines: tuple[LineFigures, ...]


def work_units(stage, report_stage, method: str, element: str) -> Decimal:
    """Equivalent units of this period's work on ``element``: FIFO equivalent units.

    Under FIFO the report's equivalent units are exactly that; under weighted average they also
    count the work done on beginning WIP last period, which is taken out.
    """
    eu = report_stage.equivalent_units[element]
    if method == Method.FIFO.value:
        return eu
    return eu - stage.beginning.units * stage.beginning.completion[element]


def ordered_elements(stage, order: dict[tuple[str, str], list[str]] | None, product: str) -> list:
    """The stage's elements in report order: ``order`` (from the stored reports) when given.

    The ledger stores a close's inputs as canonical JSON with sorted keys, so a close recomputed
    from them lists a stage's elements alphabetically; the stored reports keep the file's order."""
    elements = list(stage.elements)
    names = (order or {}).get((product, stage.name))
    if names:
        rank = {name: i for i, name in enumerate(names)}
        elements.sort(key=lambda e: rank.get(e.name, len(rank)))
    return elements


def figures_from_close(result: CloseResult, close_no: int = 1,
                       element_order: dict[tuple[str, str], list[str]] | None = None) -> PeriodFigures:
    spec = result.plan.spec
    lines: list[LineFigures] = []
    for plan, product in zip(result.plan.products, result.products):
        for stage, sr in zip(plan.case.stages, product.report.stages):
            closing = product.closing_wip[stage.name]
            added = sr.costs_to_account_for.added_by_element
            for element in ordered_elements(stage, element_order, product.name):
                name = element.name
                if name != TRANSFERRED_IN:
                    lines.append(LineFigures(Metric.COST_ADDED, product.name, stage.name, name, added[name],
                                             work_units(stage, sr, spec.method, name)))
                lines.append(LineFigures(Metric.TRANSFERRED_OUT, product.name, stage.name, name,
                                         sr.transferred_out.by_element[name], sr.physical_units.completed))
                lines.append(LineFigures(Metric.ENDING_WIP, product.name, stage.name, name, closing.cost[name],
                                         closing.units, closing.completion.get(name, _ONE)))
        lines.append(LineFigures(Metric.COGS, product.name, "", "", product.cogs, product.cogs_units))
    return PeriodFigures(spec.period, close_no, spec.method, spec.currency, result.plan.quantum, spec.rounding,
                         tuple(lines))
