"""WIP and finished-goods roll-forward: opening + added + transferred in − transferred out −
spoilage ± adjustments = closing, by product, stage and element; and its tie to the journals.
Also, read from a recorded close, the same by stage (transferred out split into to the next stage
and to finished goods) and by WIP account (``by_stage``), and in units (``build_units``).

Typed reports first (``RollForward``, ``RollForwardByStage``, ``UnitsRollForward``), rendered by
the writers in ``costing.close._render``.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any, Iterable, Mapping, NamedTuple

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError, computed_field

from .._journal import JournalBook, net_by_account
from .._numbers import EXACT_UNITS
from .._report import Amount, PhysicalUnits, Quantity
from .._spec import Number
from ._compute import CloseResult, leaves_wip_by_element
from ._spec import AccountSpec
from ._state import PriorState

__all__ = ["RollForwardRow", "FinishedGoodsRow", "TieCheck", "RollForward", "build_rollforward", "stage_rows",
           "ADDED_COLUMNS", "StageTotal", "AccountTotal", "RollForwardByStage", "by_stage", "StageFlow", "UnitsRow",
           "FinishedGoodsUnitsRow", "UnitsRollForward", "build_units", "flows_of_result", "counts_of_result",
           "flows_of_reports", "recorded_counts_and_accounts", "DetailRow", "detail_rows", "abnormal_gains_by_element",
           "CogsAsPosted", "cogs_as_posted"]

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
    posted = net_by_account(book)
    fg_code = accounts.finished_goods.code
    movement[fg_code] = sum((r.closing - r.opening for r in fg_rows), zero)
    ties = []
    # One tie per account: stages may share a WIP account, whose movement is theirs together.
    for code in dict.fromkeys([accounts.wip[s].code for s in result.stage_order if s in accounts.wip] + [fg_code]):
        ties.append(TieCheck(account=code, name=book.accounts[code].name, rollforward=movement[code],
                             journals=posted.get(code, zero), difference=movement[code] - posted.get(code, zero)))
    return RollForward(period=result.period, currency=result.plan.spec.currency, rows=tuple(rows),
                       finished_goods=tuple(fg_rows), ties=tuple(ties))


class CogsAsPosted(NamedTuple):
    """Cost of goods sold as the close's journals posted it, plant-wide: the cost of the units
    shipped (the finished-goods rows' ``cost_of_goods_sold``, before the overhead true-up) plus
    the overhead written off to COGS and the overhead prorated to COGS (each signed, debit +).
    Not split by product: a write-off goes to COGS as one amount, not product by product."""

    cost_of_units_shipped: Decimal
    overhead_written_off: Decimal
    overhead_prorated: Decimal

    @property
    def total(self) -> Decimal:
        return self.cost_of_units_shipped + self.overhead_written_off + self.overhead_prorated


def cogs_as_posted(book: JournalBook, rf: RollForward) -> CogsAsPosted:
    """COGS as posted from a roll-forward and the close's journals (``book``).  The overhead parts
    are read from the overhead true-up lines by their memos (as every version of the close wrote
    them: "... overhead written off", "Overhead proration..."), leaving out the accounts the
    roll-forward carries (WIP, finished goods), so closes recorded by earlier versions read too."""
    shipped = sum((r.cost_of_goods_sold for r in rf.finished_goods), _ZERO)
    zero = shipped * 0  # with the currency's places, as the rows have them
    carried = {t.account for t in rf.ties}
    written_off = prorated = zero
    for journal in book.journals:
        for line in journal.lines:
            if line.account in carried:
                continue
            memo = line.memo.lower()
            if "overhead written off" in memo:
                written_off += line.debit - line.credit
            elif memo.startswith("overhead proration"):
                prorated += line.debit - line.credit
    return CogsAsPosted(shipped, written_off, prorated)


# ---- the roll-forward as a reviewer reads it: by stage, by WIP account, in units ------------------
#
# Derived from what a recorded close stores (the roll-forward, the production cost reports'
# physical units, the closing state and the close's inputs), so that closes recorded by earlier
# versions read the same way; nothing here is stored.  Sign convention, as on the close workbook's
# Roll-forward sheet: additions and deductions are amounts (a deduction is never negative: it is
# subtracted), adjustments carry their sign (+ raises WIP); closing = opening + additions −
# deductions ± adjustments.  A product's last stage completes to finished goods; its other stages
# transfer to the next stage.


class StageTotal(_Frozen):
    """One stage's roll-forward over every product (``stage`` "Total": over every stage), with
    what it transferred out split by where it went."""

    stage: str
    opening: Amount
    materials: Amount
    labour: Amount
    overhead: Amount
    conversion: Amount
    transferred_in: Amount
    to_next_stage: Amount  # transferred out by stages that are not their product's last
    to_finished_goods: Amount  # transferred out by products' last stages: completed to finished goods
    # Abnormal loss + disposal (scrap) value of every spoiled unit: what leaves WIP for spoilage.  The
    # rest of normal spoilage's cost is in the transfers out, with the good units.
    spoilage: Amount
    count_adjustment: Amount
    overhead_adjustment: Amount
    closing: Amount
    # Process accounts: the value of units expected to be lost that were not, an addition (the
    # stored rows net it off spoilage, which here holds the losses only).
    abnormal_gain: Amount = Decimal(0)

    @property
    def computed_closing(self) -> Decimal:
        return (self.opening + self.materials + self.labour + self.overhead + self.conversion + self.transferred_in
                + self.abnormal_gain - self.to_next_stage - self.to_finished_goods - self.spoilage
                + self.count_adjustment + self.overhead_adjustment)


class AccountTotal(_Frozen):
    """One WIP account over the stages posting to it: to read against its tie to the journals."""

    account: str  # account code
    name: str
    stages: tuple[str, ...]
    opening: Amount
    closing: Amount
    movement: Amount  # closing − opening


class RollForwardByStage(_Frozen):
    """The roll-forward by stage and by WIP account, and the two transfer ties: what stages sent
    to a next stage is what later stages received, and what last stages completed is what finished
    goods received."""

    final_stages: dict[str, str]  # product -> its last stage, which completes to finished goods
    stages: tuple[StageTotal, ...]  # in flow order (first seen)
    total: StageTotal
    accounts: tuple[AccountTotal, ...]  # empty when the stages' WIP accounts are not known
    # Transferred in by a product's first stage: cost received from outside the product's flow
    # (a department costed on its own), which no stage of the close sent.
    transferred_in_from_outside: Amount
    transfer_difference: Amount  # total transferred in − from outside − total to next stage
    finished_goods_completed: Amount  # the finished-goods table's completed total
    finished_goods_difference: Amount  # total to finished goods − finished goods completed

    @property
    def ties_ok(self) -> bool:
        return (not self.transfer_difference and not self.finished_goods_difference
                and all(s.computed_closing == s.closing for s in self.stages))


_STAGE_COLUMNS = ("opening", "materials", "labour", "overhead", "conversion", "transferred_in", "spoilage",
                  "count_adjustment", "overhead_adjustment", "closing")


def _flow_ends(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str], dict[str, str]]:
    """(first stage, last stage) of each product, from (product, stage) pairs in flow order."""
    first: dict[str, str] = {}
    last: dict[str, str] = {}
    for product, stage in pairs:
        first.setdefault(product, stage)
        last[product] = stage
    return first, last


def by_stage(rf: RollForward, stage_accounts: Mapping[str, Any] | None = None,
             flows: Iterable[StageFlow] = ()) -> RollForwardByStage:
    """The roll-forward by stage and by WIP account.  Its rows are in flow order, product by
    product (as ``build_rollforward`` makes them and the ledger rebuilds them), so a product's last
    row names its last stage.  ``stage_accounts``: stage -> its WIP account (``.code``, ``.name``),
    as the close file maps them; without it there are no account subtotals.  ``flows`` (the
    product-stages' flows, process accounts: their abnormal gains) part an abnormal gain, which the
    stored rows net off spoilage, out as an addition."""
    zero = next((r.opening * 0 for r in rf.rows), _ZERO)  # with the currency's places, as the rows have them
    first, last = _flow_ends((r.product, r.stage) for r in rf.rows)
    sums: dict[str, dict[str, Decimal]] = {}
    outside = zero
    for r in rf.rows:
        s = sums.get(r.stage)
        if s is None:
            s = sums[r.stage] = dict.fromkeys(_STAGE_COLUMNS + ("to_next_stage", "to_finished_goods",
                                                                "abnormal_gain"), zero)
        for c in _STAGE_COLUMNS:
            s[c] += getattr(r, c)
        s["to_finished_goods" if last[r.product] == r.stage else "to_next_stage"] += r.transferred_out
        if first[r.product] == r.stage:
            outside += r.transferred_in
    for f in flows:
        if f.abnormal_gain_cost and f.stage in sums:
            s = sums[f.stage]
            s["abnormal_gain"] += f.abnormal_gain_cost
            s["spoilage"] += f.abnormal_gain_cost  # the losses alone: the gain is shown as the addition it is
    stages = tuple(StageTotal(stage=name, **s) for name, s in sums.items())
    total = StageTotal(stage="Total", **{c: sum((getattr(s, c) for s in stages), zero)
                                         for c in _STAGE_COLUMNS + ("to_next_stage", "to_finished_goods",
                                                                    "abnormal_gain")})
    accounts: list[AccountTotal] = []
    if stage_accounts is not None:
        grouped: dict[str, list[StageTotal]] = {}
        names: dict[str, str] = {}
        for s in stages:
            account = stage_accounts.get(s.stage)
            code = account.code if account is not None else "?"
            grouped.setdefault(code, []).append(s)
            names.setdefault(code, account.name if account is not None else "(no WIP account in the close file)")
        for code, members in grouped.items():
            opening = sum((s.opening for s in members), zero)
            closing = sum((s.closing for s in members), zero)
            accounts.append(AccountTotal(account=code, name=names[code], stages=tuple(s.stage for s in members),
                                         opening=opening, closing=closing, movement=closing - opening))
    completed = sum((r.completed for r in rf.finished_goods), zero)
    return RollForwardByStage(
        final_stages=last, stages=stages, total=total, accounts=tuple(accounts), transferred_in_from_outside=outside,
        transfer_difference=total.transferred_in - outside - total.to_next_stage, finished_goods_completed=completed,
        finished_goods_difference=total.to_finished_goods - completed)


class DetailRow(_Frozen):
    """One element of one product-stage as ``wip rollforward --detail`` shows it: the stored row
    with transferred out split by where it went and, under process accounts, an abnormal gain as
    the addition it is (``spoilage`` then holds the losses alone, as in the stage table)."""

    product: str
    stage: str
    element: str
    opening: Amount
    materials: Amount
    labour: Amount
    overhead: Amount
    conversion: Amount
    transferred_in: Amount
    abnormal_gain: Amount
    to_next_stage: Amount
    to_finished_goods: Amount
    spoilage: Amount
    count_adjustment: Amount
    overhead_adjustment: Amount
    closing: Amount

    @property
    def computed_closing(self) -> Decimal:
        return (self.opening + self.materials + self.labour + self.overhead + self.conversion + self.transferred_in
                + self.abnormal_gain - self.to_next_stage - self.to_finished_goods - self.spoilage
                + self.count_adjustment + self.overhead_adjustment)


def detail_rows(rf: RollForward, final_stages: Mapping[str, str],
                gains: Mapping[tuple[str, str], Mapping[str, Decimal]] | None = None) -> tuple[DetailRow, ...]:
    """The roll-forward's rows as the detail table shows them (``DetailRow``).  ``final_stages``:
    product -> its last stage (``RollForwardByStage.final_stages``); ``gains``: (product, stage) ->
    abnormal gain by element (``abnormal_gains_by_element``), parted out of the stored rows' spoilage,
    which nets them; a product-stage it does not name keeps its row's spoilage as stored."""
    gains = gains or {}
    rows = []
    for r in rf.rows:
        zero = r.transferred_out * 0
        gain = gains.get((r.product, r.stage), {}).get(r.element, zero)
        final = final_stages.get(r.product) == r.stage
        rows.append(DetailRow._trusted({
            "product": r.product, "stage": r.stage, "element": r.element, "opening": r.opening,
            "materials": r.materials, "labour": r.labour, "overhead": r.overhead, "conversion": r.conversion,
            "transferred_in": r.transferred_in, "abnormal_gain": gain,
            "to_next_stage": zero if final else r.transferred_out, "to_finished_goods": r.transferred_out if final else zero,
            "spoilage": r.spoilage + gain, "count_adjustment": r.count_adjustment,
            "overhead_adjustment": r.overhead_adjustment, "closing": r.closing}))
    return tuple(rows)


def abnormal_gains_by_element(rf: RollForward, flows: Iterable[StageFlow],
                              inputs: Any) -> dict[tuple[str, str], dict[str, Decimal]]:
    """(product, stage) -> its abnormal gain by element, for the product-stages with one (process
    accounts), from what a close recorded: the stored reports keep a gain's value by stage only, and
    the stored rows net it off spoilage.  Under that convention what leaves WIP by element is the
    normal loss's scrap value (on the one element scrap reduces) + abnormal loss − abnormal gain, and
    a stage never has both a loss and a gain: an element other than the scrap element lost −spoilage
    of gain, and the scrap element the rest of the stage's gain.  Which element scrap reduces is
    read from the recorded inputs (``normal_loss.scrap_element``, else the first material element in
    the rows' order, which is the order the file declared, else the first element) as the close
    chose it.  A product-stage is left out when this cannot be told or does not add up (no part
    negative): its spoilage stays net, as stored."""
    flows = [f for f in flows if f.abnormal_gain_cost and not f.abnormal_spoilage]
    if not flows:
        return {}
    scrap_of = _recorded_loss_elements(inputs)
    wanted = {(f.product, f.stage): f.abnormal_gain_cost for f in flows}
    rows: dict[tuple[str, str], list[RollForwardRow]] = {}
    for r in rf.rows:
        key = (r.product, r.stage)
        if key in wanted:
            rows.setdefault(key, []).append(r)
    gains: dict[tuple[str, str], dict[str, Decimal]] = {}
    for key, total in wanted.items():
        stage_rows_ = rows.get(key)
        known = scrap_of.get(key)
        if not stage_rows_ or known is None:
            continue
        explicit, materials = known
        names = [r.element for r in stage_rows_]
        scrap = explicit if explicit is not None else next((n for n in names if n in materials), names[0])
        if scrap not in names:
            continue
        zero = stage_rows_[0].transferred_out * 0
        split = {r.element: zero - r.spoilage if r.element != scrap else zero for r in stage_rows_}
        split[scrap] = total - sum(split.values(), zero)
        if all(v >= 0 for v in split.values()):
            gains[key] = split
    return gains


# ---- units ----------------------------------------------------------------------------------------

class StageFlow(NamedTuple):
    """Physical units of one product at one stage, as its production cost report gives them."""

    product: str
    stage: str
    opening: Decimal  # beginning WIP units
    started: Decimal
    transferred_in: Decimal
    completed: Decimal  # completed and transferred out (to the next stage, or to finished goods)
    book_closing: Decimal  # ending WIP units per the report (before any count)
    normal_spoilage: Decimal  # process accounts: normal loss
    abnormal_spoilage: Decimal  # process accounts: abnormal loss
    # Process accounts: units expected to be lost that were not (an addition; never with an abnormal loss).
    abnormal_gain: Decimal = Decimal(0)
    abnormal_gain_cost: Decimal = Decimal(0)  # its value, credited to the stage's cost of lost units


class _AgainstLedger(_Frozen):
    """A units row checked against the closing units the ledger holds (``ledger_closing``); the
    row's own arithmetic gives ``closing``."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def difference(self) -> Quantity:
        """Closing per the roll-forward − closing in the ledger: zero when the row ties."""
        with localcontext(EXACT_UNITS):  # units are compared exactly, however many places (as the close)
            return self.closing - self.ledger_closing  # type: ignore[attr-defined]

    @property
    def ok(self) -> bool:
        return not self.difference


class UnitsRow(_AgainstLedger):
    """WIP units of one product at one stage (``product`` None: of a stage, every product it
    holds; units of different products are never totalled over stages): opening + started + transferred in − to next stage − to
    finished goods − normal spoilage − abnormal spoilage ± count difference = closing, against the
    closing units the ledger holds."""

    product: str | None
    stage: str
    opening: Quantity
    started: Quantity
    transferred_in: Quantity
    to_next_stage: Quantity
    to_finished_goods: Quantity
    normal_spoilage: Quantity  # process accounts: normal loss
    abnormal_spoilage: Quantity  # process accounts: abnormal loss
    count_difference: Quantity  # counted − book where a physical count was given (+ adds to WIP), else 0
    ledger_closing: Quantity  # closing WIP units in the ledger's closing state (after the count)
    abnormal_gain: Quantity = Decimal(0)  # process accounts: units expected to be lost that were not (+)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def closing(self) -> Quantity:
        """Closing units per the roll-forward's own arithmetic."""
        with localcontext(EXACT_UNITS):
            return (self.opening + self.started + self.transferred_in + self.abnormal_gain - self.to_next_stage
                    - self.to_finished_goods - self.normal_spoilage - self.abnormal_spoilage + self.count_difference)



class FinishedGoodsUnitsRow(_AgainstLedger):
    """Finished units of one product (``product`` None: every product): opening + completed −
    shipped = closing, against the units of the ledger's closing finished-goods layers."""

    product: str | None
    opening: Quantity
    completed: Quantity
    shipped: Quantity
    ledger_closing: Quantity

    @computed_field  # type: ignore[prop-decorator]
    @property
    def closing(self) -> Quantity:
        """Closing units per the roll-forward's own arithmetic."""
        with localcontext(EXACT_UNITS):
            return self.opening + self.completed - self.shipped



class UnitsRollForward(_Frozen):
    """The roll-forward in units: WIP by product and stage and by stage, finished goods by
    product; each row checked against the ledger's closing state, and the transfers tied product by
    product.  Units of different products do not add up (machines and grinders): there is no total
    over products, and each transfer tie is made within a product."""

    period: str
    rows: tuple[UnitsRow, ...]  # by product and stage, in flow order
    stages: tuple[UnitsRow, ...]  # by stage: each a stage's units of every product it holds
    finished_goods: tuple[FinishedGoodsUnitsRow, ...]
    # Product by product: units transferred in − received by its first stage from outside its flow −
    # units sent to a next stage; and units to finished goods − finished goods completed (non-zero only).
    transfer_differences: dict[str, Quantity]
    finished_goods_differences: dict[str, Quantity]
    counts_known: bool = True  # False: the count differences were taken from the closing state

    @property
    def ties_ok(self) -> bool:
        return (all(r.ok for r in self.rows) and all(r.ok for r in self.finished_goods)
                and not self.transfer_differences and not self.finished_goods_differences)


_UNIT_COLUMNS = ("opening", "started", "transferred_in", "to_next_stage", "to_finished_goods", "normal_spoilage",
                 "abnormal_spoilage", "count_difference", "ledger_closing", "abnormal_gain")


def build_units(period: str, flows: Iterable[StageFlow], counts: Mapping[tuple[str, str], Decimal] | None,
                closing: PriorState, finished_goods: Iterable[FinishedGoodsRow]) -> UnitsRollForward:
    """The units roll-forward from each product-stage's physical units (in flow order), the
    physical counts given (product, stage) -> counted units (None: not known, then taken as the
    closing state's units less the book's), the close's closing state and its finished-goods rows.
    Units are added exactly, however many places they have (as the close adds them)."""
    with localcontext(EXACT_UNITS):
        return _build_units(period, flows, counts, closing, finished_goods)


def _build_units(period: str, flows: Iterable[StageFlow], counts: Mapping[tuple[str, str], Decimal] | None,
                 closing: PriorState, finished_goods: Iterable[FinishedGoodsRow]) -> UnitsRollForward:
    flows = list(flows)
    first, last = _flow_ends((f.product, f.stage) for f in flows)
    rows = []
    outside_of: dict[str, Decimal] = {}  # product -> units its first stage received from outside its flow
    for f in flows:
        key = (f.product, f.stage)
        wip = closing.wip.get(key)
        ledger_units = wip.units if wip is not None else _ZERO
        if counts is None:
            count_difference = ledger_units - f.book_closing
        else:
            counted = counts.get(key)
            count_difference = counted - f.book_closing if counted is not None else _ZERO
        final = last[f.product] == f.stage
        if first[f.product] == f.stage:
            outside_of[f.product] = f.transferred_in
        rows.append(UnitsRow._trusted({
            "product": f.product, "stage": f.stage, "opening": f.opening, "started": f.started,
            "transferred_in": f.transferred_in, "to_next_stage": _ZERO if final else f.completed,
            "to_finished_goods": f.completed if final else _ZERO, "normal_spoilage": f.normal_spoilage,
            "abnormal_spoilage": f.abnormal_spoilage, "abnormal_gain": f.abnormal_gain,
            "count_difference": count_difference,
            "ledger_closing": ledger_units}))
    sums: dict[str, dict[str, Decimal]] = {}
    for r in rows:
        s = sums.setdefault(r.stage, dict.fromkeys(_UNIT_COLUMNS, _ZERO))
        for c in _UNIT_COLUMNS:
            s[c] += getattr(r, c)
    stages = tuple(UnitsRow._trusted({"product": None, "stage": name, **s}) for name, s in sums.items())
    fg = tuple(FinishedGoodsUnitsRow._trusted({
        "product": r.product, "opening": r.opening_units, "completed": r.completed_units, "shipped": r.shipped_units,
        "ledger_closing": sum((layer.units for layer in closing.finished_goods.get(r.product, ())), _ZERO)})
        for r in finished_goods)
    # The transfers tied within each product: units of different products are never added together.
    moved: dict[str, list[Decimal]] = {}  # product -> [transferred in − from outside − to next stage, to FG]
    for r in rows:
        m = moved.setdefault(r.product, [_ZERO, _ZERO])
        m[0] += r.transferred_in - r.to_next_stage - (outside_of.get(r.product, _ZERO) if first[r.product] == r.stage
                                                      else _ZERO)
        m[1] += r.to_finished_goods
    completed = {r.product: r.completed for r in fg}
    transfer_differences = {p: m[0] for p, m in moved.items() if m[0]}
    fg_differences = {p: d for p in dict.fromkeys(list(moved) + list(completed))
                      if (d := moved.get(p, [_ZERO, _ZERO])[1] - completed.get(p, _ZERO))}
    return UnitsRollForward._trusted({
        "period": period, "rows": tuple(rows), "stages": stages, "finished_goods": fg,
        "transfer_differences": transfer_differences, "finished_goods_differences": fg_differences,
        "counts_known": counts is not None})


def flows_of_result(result: CloseResult) -> list[StageFlow]:
    """Each product-stage's physical units from a close just computed (its typed reports)."""
    return [_flow(product.name, sr.name, sr.physical_units, getattr(sr, "normal_loss", None),
                  getattr(sr, "abnormal_loss", None), getattr(sr, "abnormal_gain", None))
            for product in result.products for sr in product.report.stages]


def counts_of_result(result: CloseResult) -> dict[tuple[str, str], Decimal]:
    """The physical counts a close was given: (product, stage) -> counted units."""
    return {(plan.name, stage): units for plan in result.plan.products for stage, units in plan.counts.items()}


def _flow(product: str, stage: str, pu, normal_loss, abnormal_loss, abnormal_gain) -> StageFlow:
    """A stage's flow; under the process-account convention, lost units are in the losses
    (the report's spoilage fields are zero) and an abnormal gain is lost units that were not lost."""
    normal, abnormal = pu.normal_spoilage, pu.abnormal_spoilage
    if normal_loss is not None:
        normal += normal_loss.units
    if abnormal_loss is not None:
        abnormal += abnormal_loss.units
    gain = abnormal_gain.units if abnormal_gain is not None else _ZERO
    gain_cost = abnormal_gain.total if abnormal_gain is not None else _ZERO
    return StageFlow(product, stage, pu.beginning_wip, pu.started, pu.transferred_in, pu.completed, pu.ending_wip,
                     normal, abnormal, gain, gain_cost)


# The stored forms read here, typed: the production cost reports as the ledger gives them back
# (``ClosedPeriod.reports``: the ``wip cost --json`` shape of each report) and, of the inputs (the
# close file as recorded), the stages' WIP accounts and physical counts.  Other keys are ignored.

class _Stored(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class _LostUnits(_Stored):
    units: Decimal
    total: Decimal = Decimal(0)


class _StoredStage(_Stored):
    name: str
    physical_units: PhysicalUnits
    normal_loss: _LostUnits | None = None  # process-account stages only
    abnormal_loss: _LostUnits | None = None
    abnormal_gain: _LostUnits | None = None


class _StoredReport(_Stored):
    stages: list[_StoredStage]


class _StoredProduct(_Stored):
    product: str
    report: _StoredReport


_STORED_REPORTS = TypeAdapter(list[_StoredProduct])


def flows_of_reports(reports: Any) -> list[StageFlow]:
    """Each product-stage's physical units from the production cost reports a close stored."""
    return [_flow(entry.product, s.name, s.physical_units, s.normal_loss, s.abnormal_loss, s.abnormal_gain)
            for entry in _STORED_REPORTS.validate_python(reports) for s in entry.report.stages]


class _RecordedStage(_Stored):
    name: str
    count: Number | None = None


class _RecordedProduct(_Stored):
    name: str
    stages: list[_RecordedStage]


class _RecordedAccounts(_Stored):
    wip: dict[str, AccountSpec]


class _RecordedInputs(_Stored):
    accounts: _RecordedAccounts
    products: list[_RecordedProduct]


def recorded_counts_and_accounts(inputs: Any) -> tuple[dict[tuple[str, str], Decimal] | None,
                                                       dict[str, AccountSpec] | None]:
    """(physical counts (product, stage) -> counted units, stage -> WIP account) from a close's
    recorded inputs; (None, None) when they cannot be read so."""
    try:
        recorded = _RecordedInputs.model_validate(inputs)
    except ValidationError:
        return None, None
    counts = {(p.name, s.name): s.count for p in recorded.products for s in p.stages if s.count is not None}
    return counts, dict(recorded.accounts.wip)


class _RecordedElement(_Stored):
    kind: str | None = None


class _RecordedLoss(_Stored):
    scrap_element: str | None = None


class _RecordedLossStage(_Stored):
    name: str
    elements: dict[str, _RecordedElement] = {}
    normal_loss: _RecordedLoss | None = None


class _RecordedLossProduct(_Stored):
    name: str
    stages: list[_RecordedLossStage]


_RECORDED_LOSS_PRODUCTS = TypeAdapter(list[_RecordedLossProduct])


def _recorded_loss_elements(inputs: Any) -> dict[tuple[str, str], tuple[str | None, frozenset[str]]]:
    """(product, stage) -> (the scrap element the close file names, or None; its material elements),
    from a close's recorded inputs; {} when they cannot be read so."""
    try:
        products = _RECORDED_LOSS_PRODUCTS.validate_python(inputs.get("products") if isinstance(inputs, dict) else None)
    except ValidationError:
        return {}
    return {(p.name, s.name): (s.normal_loss.scrap_element if s.normal_loss is not None else None,
                               frozenset(name for name, e in s.elements.items() if e.kind == "material"))
            for p in products for s in p.stages}
