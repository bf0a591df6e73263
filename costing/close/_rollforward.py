"""WIP and finished-goods roll-forward: opening + added + transferred in − transferred out −
spoilage ± adjustments = closing, by product, stage and element; and its tie to the journals.

A typed report first (``RollForward``), rendered by the writers in ``costing.close._render``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Iterable

from pydantic import BaseModel, ConfigDict

from .._journal import JournalBook
from .._report import Amount, Quantity
from ._compute import CloseResult, leaves_wip_by_element

__all__ = ["RollForwardRow", "FinishedGoodsRow", "TieCheck", "RollForward", "build_rollforward", "stage_rows",
           "ADDED_COLUMNS"]

_ZERO = Decimal(0)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)

    @classmethod
    def _trusted(cls, values: dict):
        """Build from values the close computed (already the right types), skipping validation;
        like ``costing._report._Report._trusted``; the close's property tests check the rows tie."""
        row = cls.__new__(cls)
        setter = object.__setattr__
        setter(row, "__dict__", values)
        setter(row, "__pydantic_fields_set__", _fields(cls))
        setter(row, "__pydantic_extra__", None)
        setter(row, "__pydantic_private__", None)
        return row


_FIELD_SETS: dict[type, frozenset[str]] = {}


def _fields(cls: type) -> frozenset[str]:
    fields = _FIELD_SETS.get(cls)
    if fields is None:
        fields = _FIELD_SETS[cls] = frozenset(cls.model_fields)
    return fields


class RollForwardRow(_Frozen):
    product: str
    stage: str
    element: str
    opening: Amount
    materials: Amount
    labour: Amount
    overhead: Amount
    conversion: Amount
    transferred_in: Amount
    transferred_out: Amount
    spoilage: Amount  # abnormal spoilage and disposal value of spoiled units leaving WIP
    count_adjustment: Amount
    overhead_adjustment: Amount
    closing: Amount
    closing_units: Quantity

    @property
    def computed_closing(self) -> Decimal:
        return (self.opening + self.materials + self.labour + self.overhead + self.conversion + self.transferred_in
                - self.transferred_out - self.spoilage + self.count_adjustment + self.overhead_adjustment)


_ROW_FIELDS = frozenset(RollForwardRow.model_fields)


class FinishedGoodsRow(_Frozen):
    product: str
    opening_units: Quantity
    opening: Amount
    completed_units: Quantity
    completed: Amount
    shipped_units: Quantity
    cost_of_goods_sold: Amount
    overhead_adjustment: Amount
    closing_units: Quantity
    closing: Amount


class TieCheck(_Frozen):
    """One reconciliation: what the roll-forward says, what the journals say, the difference."""

    account: str  # account code
    name: str
    rollforward: Amount  # closing − opening per the roll-forward
    journals: Amount  # net debits − credits posted by the close's journals
    difference: Amount

    @property
    def ok(self) -> bool:
        return not self.difference


class RollForward(_Frozen):
    period: str
    currency: str
    rows: tuple[RollForwardRow, ...]
    finished_goods: tuple[FinishedGoodsRow, ...]
    ties: tuple[TieCheck, ...]

    @property
    def ties_ok(self) -> bool:
        return all(t.ok for t in self.ties) and all(r.computed_closing == r.closing for r in self.rows)


_new = object.__new__
_set = object.__setattr__


def _new_row(values: dict) -> "RollForwardRow":
    """``RollForwardRow._trusted(values)`` without the classmethod's lookups (200,000 rows a close)."""
    row = _new(RollForwardRow)
    _set(row, "__dict__", values)
    _set(row, "__pydantic_fields_set__", _ROW_FIELDS)
    _set(row, "__pydantic_extra__", None)
    _set(row, "__pydantic_private__", None)
    return row


# The roll-forward column an element's added cost goes to, by element kind (ElementKind members
# are str: they look up as their values).
ADDED_COLUMNS = {"material": "materials", "labour": "labour", "overhead": "overhead", "conversion": "conversion",
                 "transferred_in": "transferred_in"}


def stage_rows(rows: list, product: str, stage: str, elements: Iterable[str], column_of: dict[str, str],
               opening_by: dict[str, Decimal], added_by: dict[str, Decimal], out_by: dict[str, Decimal],
               spoilage_by: dict[str, Decimal], count_by: dict[str, Decimal] | None, oh_adj: dict[str, Decimal],
               closing_cost: dict[str, Decimal], closing_units: Decimal, zero: Decimal,
               make_row=None) -> Decimal | None:
    """Append one product-stage's rows (one per element) to ``rows``; returns closing − opening.

    Also how the ledger rebuilds a stored roll-forward from what it stored of it, the reports and
    the closing state (``costing.ledger._codec``), so the two cannot drift apart.  Rows are built
    from values the close already computed (Decimals of the right kind): no pydantic validation.
    With ``make_row`` (the ledger passes ``dict`` and values already as JSON text) each row's
    values go to it instead, and nothing is returned.
    """
    if make_row is not None:
        for element in elements:
            values = {
                "product": product, "stage": stage, "element": element, "opening": opening_by[element],
                "materials": zero, "labour": zero, "overhead": zero, "conversion": zero, "transferred_in": zero,
                "transferred_out": out_by[element], "spoilage": spoilage_by[element],
                "count_adjustment": count_by[element] if count_by is not None else zero,
                "overhead_adjustment": oh_adj.get(element, zero),
                "closing": closing_cost[element], "closing_units": closing_units,
            }
            values[column_of[element]] = added_by[element]
            rows.append(make_row(values))
        return None
    new_row = _new_row
    net = zero
    for element in elements:
        opening = opening_by[element]
        closing = closing_cost[element]
        values = {
            "product": product, "stage": stage, "element": element, "opening": opening,
            "materials": zero, "labour": zero, "overhead": zero, "conversion": zero, "transferred_in": zero,
            "transferred_out": out_by[element], "spoilage": spoilage_by[element],
            "count_adjustment": count_by[element] if count_by is not None else zero,
            "overhead_adjustment": oh_adj.get(element, zero),
            "closing": closing, "closing_units": closing_units,
        }
        values[column_of[element]] = added_by[element]
        rows.append(new_row(values))
        net += closing - opening
    return net


def build_rollforward(result: CloseResult, book: JournalBook) -> RollForward:
    q = result.plan.quantum
    zero = _ZERO * q
    accounts = result.plan.spec.accounts
    rows: list[RollForwardRow] = []
    movement: dict[str, Decimal] = defaultdict(lambda: zero)  # account code -> closing - opening
    for plan, product in zip(result.plan.products, result.products):
        for stage, sr in zip(plan.case.stages, product.report.stages):
            elements = sr.equivalent_units
            ctaf = sr.costs_to_account_for
            spoilage = leaves_wip_by_element(sr, elements)
            count = product.count_adjustments.get(stage.name)
            closing = product.closing_wip[stage.name]
            movement[accounts.wip[stage.name].code] += stage_rows(
                rows, product.name, stage.name, elements, {e.name: ADDED_COLUMNS[e.kind] for e in stage.elements},
                ctaf.beginning_wip_by_element, ctaf.added_by_element, sr.transferred_out.by_element, spoilage,
                count.by_element if count is not None else None, product.overhead_adjustment.get(stage.name, {}),
                closing.cost, closing.units, zero)
    new_fg = FinishedGoodsRow._trusted
    fg_rows = []
    for product in result.products:
        fg_rows.append(new_fg({
            "product": product.name,
            "opening_units": sum((l.units for l in product.fg_opening), _ZERO),
            "opening": sum((l.cost for l in product.fg_opening), zero),
            "completed_units": product.fg_completed_units, "completed": product.fg_completed_cost,
            "shipped_units": product.cogs_units, "cost_of_goods_sold": product.cogs,
            "overhead_adjustment": product.fg_overhead_adjustment,
            "closing_units": sum((l.units for l in product.fg_closing), _ZERO),
            "closing": sum((l.cost for l in product.fg_closing), zero)}))

    # Tie to the journals: each WIP account's net posting = its roll-forward movement.
    posted: dict[str, Decimal] = defaultdict(lambda: zero)
    for journal in book.journals:
        for line in journal.lines:
            posted[line.account] += line.debit - line.credit
    fg_code = accounts.finished_goods.code
    movement[fg_code] = sum((r.closing - r.opening for r in fg_rows), zero)
    ties = []
    for code in [accounts.wip[s].code for s in result.stage_order if s in accounts.wip] + [fg_code]:
        ties.append(TieCheck(account=code, name=book.accounts[code].name, rollforward=movement[code],
                             journals=posted[code], difference=movement[code] - posted[code]))
    return RollForward(period=result.period, currency=result.plan.spec.currency, rows=tuple(rows),
                       finished_goods=tuple(fg_rows), ties=tuple(ties))
