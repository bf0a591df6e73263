"""Journals of a close, built from the close result: each balanced to the cent by construction
(every line is a sum of amounts already rounded where they were assigned) and checked anyway.

GL journals post by stage (one WIP account per stage), not by product: product detail stays in
the roll-forward, which ties to these journals.  Ids are deterministic: ``WIP-2026-10-003``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from .._journal import Account, Journal, JournalBook, JournalLine
from .._model import TRANSFERRED_IN, ElementKind
from .._period import period_end
from .._report import ProcessAccountStageReport
from ._compute import CloseResult

__all__ = ["build_journals", "ACCOUNT_TYPES", "reversal_book", "Texts"]

_ZERO = Decimal(0)

# Account roles and what they are, for systems that need the type.
ACCOUNT_TYPES = {
    "raw_materials": "asset",
    "accrued_payroll": "liability",
    "conversion_costs": "liability",
    "overhead_applied": "expense",
    "overhead_control": "expense",
    "finished_goods": "asset",
    "cogs": "expense",
    "abnormal_spoilage": "expense",
    "spoiled_goods": "asset",
    "count_difference": "expense",
    "scrap": "asset",
    "abnormal_loss": "expense",
    "abnormal_gain": "income",
    "wip": "asset",
}


class Texts:
    """The narrations and memos of the close's journals, in one place: the journals are built with
    them and the close workbook traces each posted line back to the result sheets by them."""

    # kind of element -> (account role credited, narration); in the order the journals are posted
    CHARGES = ((ElementKind.MATERIAL.value, "raw_materials", "Materials issued to production"),
               (ElementKind.LABOUR.value, "accrued_payroll", "Direct labour charged to production"),
               (ElementKind.CONVERSION.value, "conversion_costs", "Conversion costs charged to production"),
               (ElementKind.OVERHEAD.value, "overhead_applied", "Overhead applied at predetermined rates"))
    TRANSFERS = "Transfers between stages"
    COMPLETED = "Completed units to finished goods"
    SPOILAGE = "Spoilage: abnormal loss and spoiled goods"
    ABNORMAL_WRITTEN_OFF = "Abnormal spoilage written off"
    SPOILED_GOODS = "Spoiled goods at disposal value"
    PROCESS_LOSSES = "Process losses: normal loss, abnormal loss and gain, scrap"
    COUNTS = "WIP count differences at cost"
    COUNT_DIFFERENCES = "WIP count differences"
    OVERHEAD = "Overhead true-up: applied vs actual"
    OVERHEAD_APPLIED = "Close overhead applied"
    OVERHEAD_INCURRED = "Close overhead incurred"
    # Said as a net: the pools written off are summed into one COGS line, and one of them may be
    # over-applied while the net is under-applied (the Overhead section lists each pool).
    UNDER_APPLIED = "Overhead written off: net under-applied of the pools written off"
    OVER_APPLIED = "Overhead written off: net over-applied of the pools written off"
    PRORATION = "Overhead proration"
    # The COGS bucket also carries the share of overhead in abnormal spoilage, spoiled goods and count
    # shortages (period costs that left WIP this month), said so on the line.
    # (Under the process-account convention "spoilage" is its abnormal loss less abnormal gain.  The
    # words stay: a recorded close's journals are compared with the close computed again line by line,
    # memos included, and another memo would make every such close NOT_REPRODUCIBLE.)
    PRORATION_COGS = "Overhead proration (incl. the share in spoilage and count losses)"
    COGS = "Cost of goods sold"
    SHIPPED = "Units shipped"

    @staticmethod
    def added(stage: str, kind: str) -> str:
        return f"{stage}: {kind} added"

    @staticmethod
    def transferred_in(source: str, target: str) -> str:
        return f"{source} -> {target}: transferred in"

    @staticmethod
    def transferred_out(source: str, target: str) -> str:
        return f"{source} -> {target}: transferred out"

    @staticmethod
    def completed(stage: str) -> str:
        return f"{stage}: completed and transferred out"

    @staticmethod
    def spoiled(stage: str) -> str:
        return f"{stage}: spoiled units"

    @staticmethod
    def counted(stage: str) -> str:
        return f"{stage}: counted vs book WIP at cost"

    @staticmethod
    def prorated(stage: str) -> str:
        # A stage's WIP takes shares of its own pool and of every upstream pool whose overhead it
        # holds in transferred-in cost, so the memo names no single pool.
        return f"{stage}: overhead proration (every pool whose overhead its WIP holds)"


def _chart(result: CloseResult) -> tuple[dict[str, Account], dict[str, str], dict[str, str]]:
    accounts_spec = result.plan.spec.accounts
    chart: dict[str, Account] = {}
    role_code: dict[str, str] = {}
    for role, kind in ACCOUNT_TYPES.items():
        if role == "wip":
            continue
        spec = getattr(accounts_spec, role)
        if spec is not None:
            chart[spec.code] = Account(code=spec.code, name=spec.name, type=kind)
            role_code[role] = spec.code
    wip_code = {}
    for stage, spec in accounts_spec.wip.items():
        chart[spec.code] = Account(code=spec.code, name=spec.name, type="asset")
        wip_code[stage] = spec.code
    return chart, role_code, wip_code


def _line(account: str, amount: Decimal, memo: str) -> JournalLine:
    """A signed amount (+ debit, - credit) as a line."""
    zero = amount - amount  # keeps the exponent: 0.00, not 0
    if amount >= 0:
        return JournalLine(account=account, debit=amount, credit=zero, memo=memo)
    return JournalLine(account=account, debit=zero, credit=-amount, memo=memo)


def build_journals(result: CloseResult, id_prefix: str = "WIP") -> JournalBook:
    spec = result.plan.spec
    q = result.plan.quantum
    chart, role, wip = _chart(result)
    order = list(result.stage_order)
    zero = _ZERO * q

    # Stage-level sums from every product's report.
    by_kind: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: zero))
    transfers: dict[tuple[str, str], Decimal] = defaultdict(lambda: zero)
    completed_to_fg: dict[str, Decimal] = defaultdict(lambda: zero)
    abnormal: dict[str, Decimal] = defaultdict(lambda: zero)
    disposal: dict[str, Decimal] = defaultdict(lambda: zero)
    counts: dict[str, Decimal] = defaultdict(lambda: zero)
    losses: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: zero))
    for plan, product in zip(result.plan.products, result.products):
        stages = product.report.stages
        for k, (stage, sr) in enumerate(zip(plan.case.stages, stages)):
            kinds = {e.name: e.kind for e in stage.elements}  # str enum: keys look up as their values
            for element, amount in sr.costs_to_account_for.added_by_element.items():
                if element != TRANSFERRED_IN:
                    by_kind[kinds[element]][sr.name] += amount
            if k + 1 < len(stages):
                transfers[(sr.name, stages[k + 1].name)] += sr.transferred_out.total
            else:
                completed_to_fg[sr.name] += sr.transferred_out.total
            abnormal[sr.name] += sr.abnormal_spoilage.total
            disposal[sr.name] += sr.normal_spoilage.disposal_value + sr.abnormal_spoilage.disposal_value
        for sr in stages:  # process-account convention (ACCA/CIMA): lost units by stage
            if isinstance(sr, ProcessAccountStageReport):
                losses[sr.name]["normal"] += sr.normal_loss.total
                losses[sr.name]["abnormal_loss"] += sr.abnormal_loss.total
                losses[sr.name]["abnormal_loss_scrap"] += sr.abnormal_loss.scrap_value
                losses[sr.name]["abnormal_gain"] += sr.abnormal_gain.total
                losses[sr.name]["abnormal_gain_scrap"] += sr.abnormal_gain.scrap_value
        for stage_name, adj in product.count_adjustments.items():
            counts[stage_name] += adj.amount

    journals: list[Journal] = []
    date = period_end(spec.period)

    def add(narration: str, lines: list[JournalLine]) -> None:
        lines = [line for line in lines if line.debit or line.credit]  # zero lines are dropped
        if lines:
            number = len(journals) + 1
            journals.append(Journal(id=f"{id_prefix}-{spec.period}-{number:03d}", date=date,
                                    narration=f"{narration} ({spec.period})", lines=tuple(lines)))

    def charge(kind: str, credit_role: str, narration: str) -> None:
        amounts = by_kind.get(kind, {})
        total = sum(amounts.values(), zero)
        if not total:
            return
        lines = [_line(wip[s], amounts[s], Texts.added(s, kind)) for s in order if amounts.get(s)]
        lines.append(_line(role[credit_role], -total, narration))
        add(narration, lines)

    for kind, credit_role, narration in Texts.CHARGES:
        charge(kind, credit_role, narration)

    lines = []
    for (src, dst), amount in sorted(transfers.items(), key=lambda kv: (order.index(kv[0][0]), order.index(kv[0][1]))):
        lines += [_line(wip[dst], amount, Texts.transferred_in(src, dst)),
                  _line(wip[src], -amount, Texts.transferred_out(src, dst))]
    add(Texts.TRANSFERS, lines)

    total = sum(completed_to_fg.values(), zero)
    lines = [_line(role["finished_goods"], total, Texts.COMPLETED)]
    lines += [_line(wip[s], -completed_to_fg[s], Texts.completed(s)) for s in order if s in completed_to_fg]
    add(Texts.COMPLETED, lines)

    loss, recovered = sum(abnormal.values(), zero), sum(disposal.values(), zero)
    lines = [_line(role["abnormal_spoilage"], loss, Texts.ABNORMAL_WRITTEN_OFF),
             _line(role["spoiled_goods"], recovered, Texts.SPOILED_GOODS)]
    lines += [_line(wip[s], -(abnormal[s] + disposal[s]), Texts.spoiled(s)) for s in order
              if abnormal.get(s) or disposal.get(s)]
    add(Texts.SPOILAGE, lines)

    # Process accounts: normal loss to scrap at scrap value; abnormal loss out to its account and
    # its scrap proceeds back; abnormal gain into the process and the scrap it forgoes.
    if losses:
        lines = []
        for s in order:
            if s not in losses:
                continue
            l = losses[s]
            lines += [_line(role["scrap"], l["normal"], f"{s}: normal loss at scrap value"),
                      _line(wip[s], -l["normal"], f"{s}: normal loss at scrap value"),
                      _line(role["abnormal_loss"], l["abnormal_loss"], f"{s}: abnormal loss"),
                      _line(wip[s], -l["abnormal_loss"], f"{s}: abnormal loss"),
                      _line(role["scrap"], l["abnormal_loss_scrap"], f"{s}: scrap of abnormal loss"),
                      _line(role["abnormal_loss"], -l["abnormal_loss_scrap"], f"{s}: scrap of abnormal loss"),
                      _line(wip[s], l["abnormal_gain"], f"{s}: abnormal gain"),
                      _line(role["abnormal_gain"], -l["abnormal_gain"], f"{s}: abnormal gain"),
                      _line(role["abnormal_gain"], l["abnormal_gain_scrap"], f"{s}: scrap forgone by abnormal gain"),
                      _line(role["scrap"], -l["abnormal_gain_scrap"], f"{s}: scrap forgone by abnormal gain")]
        add(Texts.PROCESS_LOSSES, lines)

    net = sum(counts.values(), zero)
    lines = [_line(wip[s], counts[s], Texts.counted(s)) for s in order if counts.get(s)]
    lines.append(_line(role["count_difference"], -net, Texts.COUNT_DIFFERENCES))
    add(Texts.COUNTS, lines)

    oh = result.overhead
    if oh:
        applied = sum((line.applied for line in oh), zero)
        actual = sum((line.actual for line in oh), zero)
        lines = [_line(role["overhead_applied"], applied, Texts.OVERHEAD_APPLIED),
                 _line(role["overhead_control"], -actual, Texts.OVERHEAD_INCURRED)]
        if result.written_off_to_cogs:
            lines.append(_line(role["cogs"], result.written_off_to_cogs,
                               Texts.UNDER_APPLIED if result.written_off_to_cogs > 0 else Texts.OVER_APPLIED))
        wip_adj: dict[str, Decimal] = defaultdict(lambda: zero)
        fg_adj = cogs_adj = zero
        for product in result.products:
            for stage, elements in product.overhead_adjustment.items():
                wip_adj[stage] += sum(elements.values(), zero)
            fg_adj += product.fg_overhead_adjustment
            cogs_adj += product.cogs_overhead_adjustment
        lines += [_line(wip[s], wip_adj[s], Texts.prorated(s)) for s in order if wip_adj.get(s)]
        lines += [_line(role["finished_goods"], fg_adj, Texts.PRORATION),
                  _line(role["cogs"], cogs_adj, Texts.PRORATION_COGS)]
        add(Texts.OVERHEAD, lines)

    cogs = sum((p.cogs for p in result.products), zero)
    add(Texts.COGS, [_line(role["cogs"], cogs, Texts.SHIPPED), _line(role["finished_goods"], -cogs, Texts.SHIPPED)])

    book = JournalBook(company=spec.company, currency=spec.currency, period=spec.period, accounts=chart,
                       journals=tuple(journals))
    book.check_balanced()
    return book


def reversal_book(book: JournalBook, id_prefix: str, date: dt.date, reason: str) -> JournalBook:
    """Journals that exactly undo ``book``: debits and credits swapped, same accounts and memos."""
    journals = []
    for journal in book.journals:
        journals.append(Journal(
            id=f"{id_prefix}-{journal.id}", date=date, narration=f"Reversal of {journal.id}: {reason}",
            lines=tuple(JournalLine(account=l.account, debit=l.credit, credit=l.debit, memo=l.memo)
                        for l in journal.lines)))
    return book.model_copy(update={"journals": tuple(journals)})
