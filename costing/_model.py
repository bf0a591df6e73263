"""The resolved case: complete, validated, immutable values the engine computes on.

Nothing here is optional or raw: every element of every unit group has a completion, every cost
map has every element (zero where the user wrote nothing), units and money are Decimals.  Values
are only built by ``_resolve`` (from a spec) or by code that upholds the same invariants.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

__all__ = ["Method", "ElementKind", "Element", "UnitGroup", "Spoilage", "Stage", "Case", "TRANSFERRED_IN"]

# Name of the implicit element that carries the previous stage's cost into a stage.
TRANSFERRED_IN = "transferred_in"


class Method(str, Enum):
    """How beginning WIP is costed."""

    # Beginning WIP cost is pooled with this period's cost; one average cost per EU for all units.
    WEIGHTED_AVERAGE = "weighted_average"
    # Beginning WIP keeps its own cost and is completed first; this period's cost per EU covers
    # only this period's work (completing beginning WIP, started-and-completed, ending WIP).
    FIFO = "fifo"


class ElementKind(str, Enum):
    """What a cost element is, for reports and journals (the arithmetic treats all alike)."""

    MATERIAL = "material"  # direct materials issued to the stage
    LABOUR = "labour"  # direct labour charged to the stage
    OVERHEAD = "overhead"  # manufacturing overhead applied to the stage
    CONVERSION = "conversion"  # labour and overhead together, when not tracked apart
    TRANSFERRED_IN = "transferred_in"  # cost of units received from the previous stage


@dataclass(frozen=True, slots=True)
class Element:
    name: str
    kind: ElementKind
    # Stage progress at which the element is added: 0 = start, 1 = end; None = evenly.
    added_at: Decimal | None


@dataclass(frozen=True, slots=True)
class UnitGroup:
    """Units at one point of the stage (beginning or ending WIP) and how complete each element is."""

    units: Decimal
    progress: Decimal | None  # stage progress; None only when no element needs it and no spoilage
    completion: dict[str, Decimal]  # element name -> fraction complete, every element present


@dataclass(frozen=True, slots=True)
class Spoilage:
    normal: Decimal  # units of normal spoilage
    abnormal: Decimal  # units of abnormal spoilage
    inspection: Decimal  # stage progress at which spoiled units are detected
    disposal_value: Decimal  # per spoiled unit
    completion: dict[str, Decimal]  # how complete each element is in a spoiled unit

    @property
    def units(self) -> Decimal:
        return self.normal + self.abnormal


NO_SPOILAGE_INSPECTION = Decimal(1)


@dataclass(frozen=True, slots=True)
class Stage:
    name: str
    elements: tuple[Element, ...]  # transferred_in first when the stage receives units
    beginning: UnitGroup
    beginning_cost: dict[str, Decimal]  # every element
    input_units: Decimal  # started (first stage) or transferred in
    receives_transfer: bool  # True: input_units were transferred in, not started
    transferred_in_cost: Decimal | None  # given for a first stage costed alone; else from the chain
    completed: Decimal  # good units transferred out
    ending: UnitGroup
    added_costs: dict[str, Decimal]  # this stage's own elements (not transferred_in)
    spoilage: Spoilage
    # Units that passed inspection this period: completed units not already inspected last period,
    # and ending WIP whose progress has reached the inspection point.  Normal spoilage cost goes to
    # these, in proportion to units.
    completed_passing: Decimal
    ending_passing: Decimal


@dataclass(frozen=True, slots=True)
class Case:
    currency: str
    quantum: Decimal  # the currency's minor unit as an amount, e.g. Decimal('0.01')
    method: Method
    rounding: str  # "half_up" or "half_even", applied when amounts are assigned
    stages: tuple[Stage, ...]
