"""The resolved case: complete, validated, immutable values the engine computes on.

Nothing here is optional or raw: every element of every unit group has a completion, every cost
map has every element (zero where the user wrote nothing), units and money are Decimals.  Values
are only built by ``_resolve`` (from a spec) or by code that upholds the same invariants.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from typing import NoReturn

__all__ = ["FrozenDict", "Method", "LossConvention", "ElementKind", "Element", "UnitGroup", "Spoilage", "NormalLoss",
           "Stage", "Case", "TRANSFERRED_IN", "PROGRESS", "RESERVED_ELEMENT_NAMES"]

# Name of the implicit element that carries the previous stage's cost into a stage.
TRANSFERRED_IN = "transferred_in"
# The key of a stage's own completion beside per-element ones (`complete: {progress: 0.6, materials: 1}`).
PROGRESS = "progress"
# Names no element may take: an element so named would be read as one of these without a word.
RESERVED_ELEMENT_NAMES = frozenset({TRANSFERRED_IN, PROGRESS})


class FrozenDict(dict):
    """A dict that refuses every change: the maps inside our immutable values (a close's results),
    so that a value cached, hashed or recorded in the ledger cannot be altered afterwards through
    one of its maps.

    A subclass of dict rather than ``types.MappingProxyType``: it is read, copied (``dict(m)``,
    ``{**m}``), compared and encoded (``json``, pydantic) as a dict, and it pickles (a plan sent
    between the close's processes), which a mapping proxy does not.  It is not free: building one
    copies the dict, ``m[key]`` takes about 1.6 times a dict's (CPython finds a dict subclass's
    ``__getitem__`` by name), and the garbage collector tracks it where it would untrack a dict of
    strings and Decimals; so the per-stage maps of the reports and of the resolved case are still
    plain dicts (freezing them too cost about 5% of the close's CPU, measured in 2026-11).
    It guards against mistakes, not intent: dict's own methods called on it (``dict.update(m, x)``,
    ``m.__init__(x)``) still change it, as they would any dict subclass.

    >>> m = FrozenDict(labour=Decimal("1.50"))
    >>> m["labour"], m == {"labour": Decimal("1.50")}
    (Decimal('1.50'), True)
    >>> m["labour"] = Decimal(0)
    Traceback (most recent call last):
    TypeError: FrozenDict is immutable: build a new one (e.g. FrozenDict({**m, key: value}))
    """

    __slots__ = ()

    def _refuse(self, *args, **kwargs) -> NoReturn:
        raise TypeError("FrozenDict is immutable: build a new one (e.g. FrozenDict({**m, key: value}))")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __reduce__(self):
        # Pickle and copy rebuild it from its items (the default would set them one by one, refused).
        return (FrozenDict, (dict(self),))

    @classmethod
    def fromkeys(cls, keys, value=None) -> "FrozenDict":
        return cls(dict.fromkeys(keys, value))

    def __copy__(self) -> "FrozenDict":
        return self  # immutable: a copy would be the same value


def _freeze_fields(value: object, names: tuple[str, ...]) -> None:
    """Make the named dict fields of a frozen dataclass FrozenDicts (at its construction, so that
    no way of building one, the resolver, the plan codec or ``dataclasses.replace``, is missed); a
    field that is None (not recorded) stays None."""
    for name in names:
        field_value = getattr(value, name)
        if field_value is not None and type(field_value) is not FrozenDict:
            object.__setattr__(value, name, FrozenDict(field_value))


class Method(str, Enum):
    """How beginning WIP is costed."""

    # Beginning WIP cost is pooled with this period's cost; one average cost per EU for all units.
    WEIGHTED_AVERAGE = "weighted_average"
    # Beginning WIP keeps its own cost and is completed first; this period's cost per EU covers
    # only this period's work (completing beginning WIP, started-and-completed, ending WIP).
    FIFO = "fifo"


class LossConvention(str, Enum):
    """How lost units are costed: the US spoilage method or the UK/Commonwealth process account."""

    # Horngren: spoiled units carry the cost of the work done on them; normal spoilage is added to
    # the good units that passed inspection, abnormal spoilage is a loss; disposal value reduces both.
    SPOILAGE = "spoilage"
    # ACCA/CIMA: normal loss carries no cost, only its scrap value, which reduces the cost of good
    # output; abnormal loss and abnormal gain are valued like good output and go to their own accounts.
    PROCESS_ACCOUNT = "process_account"


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
class NormalLoss:
    """Lost units of a stage under the process-account convention (``LossConvention.PROCESS_ACCOUNT``).

    The actual loss comes from the unit flow (units in - good output - closing WIP); the part of it
    above the normal loss is abnormal loss, the shortfall below it abnormal gain.
    """

    units: Decimal  # normal loss: the loss expected from the units entering (or inspected), no cost
    actual: Decimal  # units actually lost this period
    scrap_value: Decimal  # per lost unit, normal or abnormal
    inspection: Decimal  # stage progress at which losses are detected (1 = end of the stage)
    completion: dict[str, Decimal]  # how complete each element is in a lost unit (at inspection)
    scrap_element: str  # the element whose cost the scrap value of the normal loss reduces

    @property
    def abnormal_loss(self) -> Decimal:
        """Units lost above the normal loss (0 when the loss was normal or less)."""
        excess = self.actual - self.units
        return excess if excess > 0 else Decimal(0)

    @property
    def abnormal_gain(self) -> Decimal:
        """Units by which the actual loss fell short of the normal loss (0 otherwise)."""
        shortfall = self.units - self.actual
        return shortfall if shortfall > 0 else Decimal(0)


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
    # Process-account convention only (None / empty under spoilage):
    normal_loss: NormalLoss | None = None  # this stage's normal loss; ``spoilage`` is then all zero
    # Units put into the process with an element (material that adds to the unit count), by element.
    added_units: dict[str, Decimal] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Case:
    currency: str
    quantum: Decimal  # the currency's minor unit as an amount, e.g. Decimal('0.01')
    method: Method
    rounding: str  # "half_up" or "half_even", applied when amounts are assigned
    stages: tuple[Stage, ...]
    loss_convention: LossConvention = LossConvention.SPOILAGE
