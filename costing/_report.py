"""The production cost report as data: one typed value per stage, rendered by separate writers.

``CaseReport.model_dump(mode="json")`` is what the ledger stores, and with each spoilage cost's
``gross`` and ``net`` added (``report_json``) what ``wip cost --json`` prints: Decimals as
strings in plain notation (money with the currency's minor-unit places, quantities and rates
without trailing zeros).  Fields marked ``exclude=True`` carry detail that other adapters (the
close, workbooks) need but that is not part of the JSON contract.
"""

from __future__ import annotations

from decimal import Context, Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, SerializeAsAny

__all__ = [
    "Amount",
    "Quantity",
    "PhysicalUnits",
    "CostsToAccountFor",
    "Assigned",
    "SpoilageCost",
    "StageReport",
    "LossValue",
    "ScrapValue",
    "TAccountLine",
    "TAccount",
    "ProcessAccounts",
    "ProcessAccountStageReport",
    "CaseReport",
    "EquivalentUnitParts",
    "TransferredOutParts",
    "plain",
    "report_json",
]


def plain(value: Decimal) -> str:
    """A Decimal in plain notation, never '-0' and never an exponent.

    >>> plain(Decimal("4E+1")), plain(Decimal("-0.00")), plain(Decimal("0.500")), plain(Decimal("12.30"))
    ('40', '0.00', '0.500', '12.30')
    """
    if not value:
        value = abs(value)
    return format(value, "f")


# Wide enough for any figure the engine gives: normalize() drops trailing zeros and nothing else.
_WIDE = Context(prec=80)


def _quantity(value: Decimal) -> str:
    """Units, equivalent units and rates: exact, trailing zeros dropped."""
    if not value:
        return "0"
    return format(value.normalize(_WIDE), "f")


# Money, already rounded to the minor unit; printed with exactly those places.
Amount = Annotated[Decimal, PlainSerializer(plain, return_type=str, when_used="json")]
# Units, equivalent units and cost per EU: printed exactly, without trailing zeros.
Quantity = Annotated[Decimal, PlainSerializer(_quantity, return_type=str, when_used="json")]


_FIELD_SETS: dict[type, frozenset[str]] = {}
_new = object.__new__
_set = object.__setattr__


def _new_report(cls: type, values: dict):
    """A report value from values the engine computed (already the right types, every field
    given, in field order), without validation: what ``_Report._trusted`` does, as a plain function.
    ``values`` becomes the model's ``__dict__``."""
    fields = _FIELD_SETS.get(cls)
    if fields is None:
        fields = _FIELD_SETS[cls] = frozenset(cls.model_fields)
    report = _new(cls)
    _set(report, "__dict__", values)
    _set(report, "__pydantic_fields_set__", fields)
    _set(report, "__pydantic_extra__", None)
    _set(report, "__pydantic_private__", None)
    return report


class _Report(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def _trusted(cls, **values):
        """Build from values the engine computed (already the right types), skipping validation.

        Equivalent to ``model_construct`` with every field given, at a fraction of its cost:
        reports are built once per stage, tens of thousands of times in a month-end close.
        ``tests/test_public_api.py`` checks that the result equals a validated model.
        """
        return _new_report(cls, values)


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
    total: Amount  # net of disposal value (``net``); kept under this name for JSON consumers
    disposal_value: Amount  # disposal value of these spoiled units (recorded as spoiled goods)
    by_element: dict[str, Amount] = Field(exclude=True)  # net cost by element
    disposal_value_by_element: dict[str, Amount] = Field(exclude=True)

    @property
    def net(self) -> Decimal:
        """The spoiled units' cost less their disposal value: what ``total`` is."""
        return self.total

    @property
    def gross(self) -> Decimal:
        """The spoiled units' cost before their disposal value: net + disposal value."""
        return self.total + self.disposal_value


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


class LossValue(_Report):
    """Normal loss, abnormal loss or abnormal gain of a stage (process-account convention)."""

    units: Quantity
    # Normal loss: its scrap value, the credit to the process account (it carries no cost).
    # Abnormal loss / gain: the units valued like good output, at the cost per unit of expected output.
    total: Amount
    by_element: dict[str, Amount] = Field(exclude=True)  # how total splits over the stage's elements
    # Scrap value of these units: normal loss = total; abnormal loss = scrap proceeds credited to the
    # abnormal loss account; abnormal gain = scrap value forgone, debited to the abnormal gain account.
    scrap_value: Amount = Field(exclude=True)


class ScrapValue(_Report):
    """Scrap from the stage's lost units: normal loss + abnormal loss - what an abnormal gain forgoes."""

    total: Amount  # the balance of the scrap account, i.e. the cash expected for the units actually lost
    units: Quantity = Field(exclude=True)  # units actually lost (normal + abnormal loss - abnormal gain)


class TAccountLine(_Report):
    """One line of a T-account as exam texts print it: narrative, units (blank when None), amount."""

    narrative: str
    # The other side of the posting, a stable key: "opening_wip", "closing_wip" (balances b/d, c/d),
    # "element:<name>" (the cost the stage was charged with, e.g. "element:labour"), "transferred_in"
    # (the previous stage's good output, or a first stage's units received), "started" (units started
    # with no element to carry them), "transferred_out" (good output: next stage or finished goods),
    # "process", "scrap", "abnormal_loss", "abnormal_gain", "profit_and_loss", "cash".
    contra: str
    units: Quantity | None
    amount: Amount


class TAccount(_Report):
    """A ledger account of one stage in two columns; debit total = credit total by construction."""

    account: str  # "process", "abnormal_loss", "abnormal_gain" or "scrap"
    title: str  # e.g. "Process account — Mixing"
    debit: tuple[TAccountLine, ...]
    credit: tuple[TAccountLine, ...]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.amount for line in self.debit), Decimal(0))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.amount for line in self.credit), Decimal(0))

    @property
    def units_debit(self) -> Decimal:
        return sum((line.units for line in self.debit if line.units is not None), Decimal(0))

    @property
    def units_credit(self) -> Decimal:
        return sum((line.units for line in self.credit if line.units is not None), Decimal(0))

    def line(self, contra: str) -> TAccountLine:
        """The line posted against ``contra`` (either side)."""
        for line in self.debit + self.credit:
            if line.contra == contra:
                return line
        raise KeyError(contra)


class ProcessAccounts(_Report):
    """A stage's accounts the way ACCA/CIMA texts present them; None where the account has no entries."""

    process: TAccount
    abnormal_loss: TAccount | None
    abnormal_gain: TAccount | None
    scrap: TAccount | None  # None when lost units have no scrap value

    def all(self) -> list[TAccount]:
        return [a for a in (self.process, self.abnormal_loss, self.abnormal_gain, self.scrap) if a is not None]


class ProcessAccountStageReport(StageReport):
    """A stage costed under ``loss_convention: process_account``.

    The spoilage fields are zero; lost units are in ``normal_loss``, ``abnormal_loss`` and
    ``abnormal_gain``.  ``transferred_out`` is the value of good output.  The process account
    balances: beginning WIP + costs added + abnormal gain = transferred out + ending WIP + normal
    loss (scrap value) + abnormal loss.
    """

    normal_loss: LossValue
    abnormal_loss: LossValue
    abnormal_gain: LossValue
    scrap: ScrapValue
    accounts: ProcessAccounts = Field(exclude=True)

    @property
    def costs_accounted_for(self) -> Decimal:
        """Transferred out + ending WIP + normal loss scrap + abnormal loss - abnormal gain."""
        return (self.transferred_out.total + self.ending_wip.total + self.normal_loss.total
                + self.abnormal_loss.total - self.abnormal_gain.total)


class CaseReport(_Report):
    currency: str
    method: str
    # Stages are ``StageReport`` or, under the process-account convention, ``ProcessAccountStageReport``.
    stages: list[SerializeAsAny[StageReport]]
    loss_convention: str = Field(default="spoilage", exclude=True)  # "spoilage" | "process_account"

    def stage(self, name: str) -> StageReport:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)


_SPOILAGE_COSTS = ("normal_spoilage", "abnormal_spoilage")


def report_json(report: CaseReport) -> dict:
    """What ``wip cost --json`` prints for a report: ``report.model_dump(mode="json")`` with each
    spoilage cost's ``gross`` and ``net`` beside its ``total`` (net of disposal value, as it always
    was) and ``disposal_value``, so that no reader has to know which of the two ``total`` is.  The
    ledger stores the model's own dump; these two keys are derived from it."""
    data = report.model_dump(mode="json")
    for stage, sr in zip(data["stages"], report.stages):
        for key in _SPOILAGE_COSTS:
            cost: SpoilageCost = getattr(sr, key)
            stage[key] = {**stage[key], "gross": plain(cost.gross), "net": plain(cost.net)}
    return data


class EquivalentUnitParts(BaseModel):
    """How one element's equivalent units were made up (Step 2 of the production cost report), so
    that an auditor can trace the total: under FIFO to complete beginning WIP + started and
    completed + normal spoilage + abnormal spoilage + ending WIP (this period's work only); under
    weighted average completed + normal spoilage + abnormal spoilage + ending WIP.  Read from the
    stage the close costed (units and each element's completion); ``total`` is the engine's figure,
    which the parts add up to."""

    model_config = ConfigDict(frozen=True)

    to_complete_beginning_wip: Quantity | None  # FIFO only (None under weighted average)
    started_and_completed: Quantity | None  # FIFO only
    completed: Quantity | None  # weighted average only (beginning WIP's units included)
    normal_spoilage: Quantity
    abnormal_spoilage: Quantity
    ending_wip: Quantity
    total: Quantity

    @property
    def parts_total(self) -> Decimal:
        return sum((v for v in (self.to_complete_beginning_wip, self.started_and_completed, self.completed,
                                self.normal_spoilage, self.abnormal_spoilage, self.ending_wip) if v is not None),
                   Decimal(0))


class TransferredOutParts(BaseModel):
    """How one element's cost transferred out is made up under FIFO, as textbooks lay out Step 5
    (Horngren): beginning WIP's own cost (last period's), the cost added this period to complete
    it, the units started and completed, and the normal spoilage they carry — so that an auditor
    sees which layer went out at which cost.  The parts add up to ``total``, the figure the engine
    assigned, to the cent."""

    model_config = ConfigDict(frozen=True)

    beginning_wip: Amount
    to_complete_beginning_wip: Amount
    started_and_completed: Amount
    normal_spoilage: Amount
    total: Amount
