"""The production cost report as data: one typed value per stage, rendered by separate writers.

``CaseReport.model_dump(mode="json")`` is exactly what ``wip cost --json`` prints: Decimals as
strings in plain notation (money with the currency's minor-unit places, quantities and rates
without trailing zeros).  Fields marked ``exclude=True`` carry detail that other adapters (the
close, workbooks) need but that is not part of the JSON contract.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

__all__ = [
    "Amount",
    "Quantity",
    "PhysicalUnits",
    "CostsToAccountFor",
    "Assigned",
    "SpoilageCost",
    "StageReport",
    "CaseReport",
    "plain",
]


def plain(value: Decimal) -> str:
    """A Decimal in plain notation, never '-0' and never an exponent.

    >>> plain(Decimal("4E+1")), plain(Decimal("-0.00")), plain(Decimal("0.500")), plain(Decimal("12.30"))
    ('40', '0.00', '0.500', '12.30')
    """
    if not value:
        value = abs(value)
    return format(value, "f")


def _quantity(value: Decimal) -> str:
    """Units, equivalent units and rates: exact, trailing zeros dropped."""
    if not value:
        return "0"
    return format(value.normalize(), "f")


# Money, already rounded to the minor unit; printed with exactly those places.
Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
# Units, equivalent units and cost per EU: printed exactly, without trailing zeros.
Quantity = Annotated[Decimal, PlainSerializer(_quantity, return_type=str, when_used="json")]


_FIELD_SETS: dict[type, frozenset[str]] = {}


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def _trusted(cls, **values):
        """Build from values the engine computed (already the right types), skipping validation.

        Equivalent to ``model_construct`` with every field given, at a fraction of its cost:
        reports are built once per stage, tens of thousands of times in a month-end close.
        ``tests/test_report.py`` checks that the result equals a validated model.
        """
        fields = _FIELD_SETS.get(cls)
        if fields is None:
            fields = _FIELD_SETS[cls] = frozenset(cls.model_fields)
        report = cls.__new__(cls)
        setter = object.__setattr__
        setter(report, "__dict__", values)
        setter(report, "__pydantic_fields_set__", fields)
        setter(report, "__pydantic_extra__", None)
        setter(report, "__pydantic_private__", None)
        return report


class PhysicalUnits(_Report):
    beginning_wip: Quantity
    started: Quantity
    transferred_in: Quantity
    completed: Quantity
    ending_wip: Quantity
    normal_spoilage: Quantity
    abnormal_spoilage: Quantity


class CostsToAccountFor(_Report):
    beginning_wip: Amount
    added: Amount  # this period's own costs plus cost transferred in
    total: Amount
    beginning_wip_by_element: dict[str, Amount] = Field(exclude=True)
    added_by_element: dict[str, Amount] = Field(exclude=True)


class Assigned(_Report):
    """Cost assigned to a destination (transferred out, ending WIP), in total and by element."""

    total: Amount
    by_element: dict[str, Amount]
    # The part of by_element that is this stage's normal spoilage, reassigned to good units.
    normal_spoilage_by_element: dict[str, Amount] = Field(exclude=True)


class SpoilageCost(_Report):
    total: Amount  # net of disposal value
    disposal_value: Amount  # disposal value of these spoiled units (recorded as spoiled goods)
    by_element: dict[str, Amount] = Field(exclude=True)  # net cost by element
    disposal_value_by_element: dict[str, Amount] = Field(exclude=True)


class StageReport(_Report):
    name: str
    physical_units: PhysicalUnits
    equivalent_units: dict[str, Quantity]
    cost_per_eu: dict[str, Quantity]
    costs_to_account_for: CostsToAccountFor
    transferred_out: Assigned
    ending_wip: Assigned
    normal_spoilage: SpoilageCost
    abnormal_spoilage: SpoilageCost

    @property
    def costs_accounted_for(self) -> Decimal:
        """Transferred out + ending WIP + abnormal spoilage + disposal value of all spoiled units."""
        return (self.transferred_out.total + self.ending_wip.total + self.abnormal_spoilage.total
                + self.normal_spoilage.disposal_value + self.abnormal_spoilage.disposal_value)


class CaseReport(_Report):
    currency: str
    method: str
    stages: list[StageReport]

    def stage(self, name: str) -> StageReport:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)
