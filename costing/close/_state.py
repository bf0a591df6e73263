"""What one close hands to the next: closing WIP by product and stage, finished-goods layers.

Plain immutable values; the ledger stores them and gives them back for the next period's opening.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from decimal import Decimal

from .._model import _freeze_fields

__all__ = ["StageWip", "FinishedGoodsLayer", "PriorState"]


@dataclass(frozen=True, slots=True)
class StageWip:
    """Closing WIP of one product at one stage: units, how complete, and cost by element."""

    product: str
    stage: str
    units: Decimal
    progress: Decimal | None
    completion: dict[str, Decimal]  # element -> fraction complete (a FrozenDict, as every map here)
    cost: dict[str, Decimal]  # element -> amount (transferred_in included)

    def __post_init__(self) -> None:
        _freeze_fields(self, ("completion", "cost"))

    @property
    def total(self) -> Decimal:
        return sum(self.cost.values(), Decimal(0))

    def to_json(self) -> dict:
        return {"product": self.product, "stage": self.stage, "units": str(self.units),
                "progress": None if self.progress is None else str(self.progress),
                "completion": {k: str(v) for k, v in self.completion.items()},
                "cost": {k: str(v) for k, v in self.cost.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "StageWip":
        return cls(d["product"], d["stage"], Decimal(d["units"]),
                   None if d["progress"] is None else Decimal(d["progress"]),
                   {k: Decimal(v) for k, v in d["completion"].items()},
                   {k: Decimal(v) for k, v in d["cost"].items()})


@dataclass(frozen=True, slots=True)
class FinishedGoodsLayer:
    """Finished units produced in one period and still on hand, at their cost."""

    product: str
    period: str
    units: Decimal
    cost: Decimal

    def to_json(self) -> dict:
        return {"product": self.product, "period": self.period, "units": str(self.units), "cost": str(self.cost)}

    @classmethod
    def from_json(cls, d: dict) -> "FinishedGoodsLayer":
        return cls(d["product"], d["period"], Decimal(d["units"]), Decimal(d["cost"]))


@dataclass(frozen=True)
class PriorState:
    """The previous period's closing position, as recorded in the ledger."""

    period: str
    wip: dict[tuple[str, str], StageWip] = field(default_factory=dict)  # (product, stage)
    finished_goods: dict[str, tuple[FinishedGoodsLayer, ...]] = field(default_factory=dict)
    currency: str | None = None  # what its amounts are in (None: not recorded)
    # The accounts its closing position sits in: stage -> WIP account code, and finished goods
    # (None: not recorded, closes before these were kept).
    wip_accounts: dict[str, str] | None = None
    finished_goods_account: str | None = None

    def __post_init__(self) -> None:
        _freeze_fields(self, ("wip", "finished_goods", "wip_accounts"))

    @cached_property
    def _wip_by_product(self) -> dict[str, dict[str, StageWip]]:
        by_product: dict[str, dict[str, StageWip]] = {}
        for (product, stage), wip in self.wip.items():
            by_product.setdefault(product, {})[stage] = wip
        return by_product

    def wip_of(self, product: str) -> dict[str, StageWip]:
        """``product``'s closing WIP by stage (empty if it had none): indexed once, so that a close
        looking up each product's does not scan every product's."""
        return self._wip_by_product.get(product, {})
