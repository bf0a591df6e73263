"""WIP and finished-goods roll-forward: opening + added + transferred in − transferred out −
spoilage ± adjustments = closing, by product, stage and element; and its tie to the journals.

A typed report first (``RollForward``), rendered by the writers in ``costing.close._render``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from .._journal import JournalBook
from .._model import TRANSFERRED_IN
from .._report import Amount, Quantity
from ._compute import CloseResult

__all__ = ["RollForwardRow", "FinishedGoodsRow", "TieCheck", "RollForward", "build_rollforward"]

_ZERO = Decimal(0)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


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


def build_rollforward(result: CloseResult, book: JournalBook) -> RollForward:
    q = result.plan.quantum
    zero = _ZERO * q
    rows = []
    for plan, product in zip(result.plan.products, result.products):
        for stage, sr in zip(plan.case.stages, product.report.stages):
            kinds = {e.name: e.kind.value for e in stage.elements}
            ctaf = sr.costs_to_account_for
            count = product.count_adjustments.get(stage.name)
            oh_adj = product.overhead_adjustment.get(stage.name, {})
            closing = product.closing_wip[stage.name]
            for element in sr.equivalent_units:
                added = ctaf.added_by_element[element]
                columns = {"materials": zero, "labour": zero, "overhead": zero, "conversion": zero,
                           "transferred_in": zero}
                column = "transferred_in" if element == TRANSFERRED_IN else {
                    "material": "materials", "labour": "labour", "overhead": "overhead",
                    "conversion": "conversion"}[kinds[element]]
                columns[column] = added
                rows.append(RollForwardRow(
                    product=product.name, stage=stage.name, element=element,
                    opening=ctaf.beginning_wip_by_element[element], **columns,
                    transferred_out=sr.transferred_out.by_element[element],
                    spoilage=(sr.abnormal_spoilage.by_element[element]
                              + sr.normal_spoilage.disposal_value_by_element[element]
                              + sr.abnormal_spoilage.disposal_value_by_element[element]),
                    count_adjustment=count.by_element[element] if count else zero,
                    overhead_adjustment=oh_adj.get(element, zero),
                    closing=closing.cost[element], closing_units=closing.units))
    fg_rows = []
    for product in result.products:
        fg_rows.append(FinishedGoodsRow(
            product=product.name,
            opening_units=sum((l.units for l in product.fg_opening), _ZERO),
            opening=sum((l.cost for l in product.fg_opening), zero),
            completed_units=product.fg_completed_units, completed=product.fg_completed_cost,
            shipped_units=product.cogs_units, cost_of_goods_sold=product.cogs,
            overhead_adjustment=product.fg_overhead_adjustment,
            closing_units=sum((l.units for l in product.fg_closing), _ZERO),
            closing=sum((l.cost for l in product.fg_closing), zero)))

    # Tie to the journals: each WIP account's net posting = its roll-forward movement.
    posted: dict[str, Decimal] = defaultdict(lambda: zero)
    for journal in book.journals:
        for line in journal.lines:
            posted[line.account] += line.debit - line.credit
    movement: dict[str, Decimal] = defaultdict(lambda: zero)
    accounts = result.plan.spec.accounts
    for row in rows:
        movement[accounts.wip[row.stage].code] += row.closing - row.opening
    fg_code = accounts.finished_goods.code
    movement[fg_code] = sum((r.closing - r.opening for r in fg_rows), zero)
    ties = []
    for code in [accounts.wip[s].code for s in result.stage_order if s in accounts.wip] + [fg_code]:
        ties.append(TieCheck(account=code, name=book.accounts[code].name, rollforward=movement[code],
                             journals=posted[code], difference=movement[code] - posted[code]))
    return RollForward(period=result.period, currency=result.plan.spec.currency, rows=tuple(rows),
                       finished_goods=tuple(fg_rows), ties=tuple(ties))
