"""Closes as the ledger stored them, recomputed from their inputs; the variance report built on them.

Pure: ``StoredClose`` values come from ``costing.variance._ledger`` (the I/O adapter) or from tests.
A stored close is recomputed with the close's own pure functions (``resolve_close`` →
``compute_close``) from its stored inputs and the opening position it was closed from; the bridge
uses the recomputed values, and ties them back to the roll-forward the ledger stored.
"""

from __future__ import annotations

import re

from dataclasses import dataclass
from functools import cached_property
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..close._diff import input_changes as diff_input_changes
from ..close._render import STEP_LABELS as DIFF_STEP_LABELS
from ..close._render import value_text as diff_value_text
from .._errors import CostingError, Issue
from .._journal import JournalBook
from .._model import Method
from .._report import Amount
from ..close import CloseResult, PriorState, RollForward, compute_close, resolve_close
from ..close._journals import Texts
from ..close_service import closing_wip_moved, in_element_order
from ._bridge import Bridge, Materiality, build_bridge, final_stages
from ._figures import Metric, PeriodFigures, figures_from_close

__all__ = ["StoredClose", "recompute", "MethodEffectLine", "MethodEffect", "method_effect", "InputChange",
           "LateChange", "late_change", "ProrationLine", "finished_goods_proration", "Tie", "tie_to_rollforwards",
           "CogsLine", "CogsAsPosted", "cogs_as_posted", "OPENING_CHANGED", "NOT_GIVEN",
           "COGS_LINE_LABELS", "VarianceReport", "build_variance_report"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class StoredClose:
    """One close of one period as recorded in the ledger."""

    period: str
    close_no: int
    seq: int
    recorded_at: str
    inputs: Any  # the close data as stored (canonical JSON)
    parameters: dict
    prior: PriorState | None  # the opening position it was closed from (None: the ledger's first period)
    state: PriorState  # its closing position
    rollforward: RollForward
    reports: list  # production cost reports as stored (JSON), one per product
    reopen_reason: str = ""  # for a re-close: why the close before it was reopened
    journals: JournalBook | None = None  # the journals it posted, as stored (None: not read)

    @property
    def declared_inputs(self) -> Any:
        """The inputs with each stage's elements in the order the close declared them: the stored
        canonical JSON sorts them, and under process_account the first material element as declared
        is the one normal-loss scrap reduces, so a recomputation must see the declared order."""
        return in_element_order(self.inputs, self.element_order)

    @cached_property  # read several times a report, each a pass over every stage of every product
    def element_order(self) -> dict[tuple[str, str], list[str]]:
        """Each product-stage's elements in the order the close reported them."""
        return {(entry["product"], stage["name"]): list(stage["equivalent_units"])
                for entry in self.reports for stage in entry["report"]["stages"]}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


def recompute(stored: StoredClose, progress=None) -> CloseResult:
    """The close computed again from its stored inputs; raises CostingError if it no longer resolves.
    ``progress(done, total)``, if given, as ``compute_close`` calls it."""
    plan, issues = resolve_close(stored.declared_inputs, stored.prior, recorded=True)
    if issues:
        raise CostingError([i.under(f"{stored.period} close #{stored.close_no}") for i in issues])
    return compute_close(plan, progress)


# ---- method effect ----------------------------------------------------------------------------

class MethodEffectLine(_Frozen):
    level: Literal["stage", "product", "total"]
    product: str
    stage: str
    # Stage lines: the stage's ending WIP and transferred out.  Product and total lines: ending WIP
    # of all stages, and transferred out of the last stage (completed to finished goods).
    ending_wip: Amount
    ending_wip_other: Amount
    ending_wip_difference: Amount  # other method − as closed
    transferred_out: Amount
    transferred_out_other: Amount
    transferred_out_difference: Amount


class MethodEffect(_Frozen):
    period: str
    close_no: int
    method: str  # as closed
    other_method: str
    available: bool  # False when the other method refuses the inputs (e.g. FIFO, fewer completed than began, units started)
    reason: str
    lines: tuple[MethodEffectLine, ...]


def method_effect(stored: StoredClose, result: CloseResult | None = None) -> MethodEffect:
    """The same period re-costed under the other method, from the same inputs and opening position:
    ending WIP (after count and overhead proration) and transferred out, and the difference it makes.

    The inputs are resolved again under the other method, so that its own checks apply (FIFO is
    refused when fewer units were completed than were in beginning WIP and units were also started or
    received, or spoiled: an idle line is costed)."""
    result = result or recompute(stored)
    spec = result.plan.spec
    other = Method.WEIGHTED_AVERAGE if spec.method == Method.FIFO.value else Method.FIFO
    unavailable = dict(period=spec.period, close_no=stored.close_no, method=spec.method, other_method=other.value,
                       available=False, lines=())
    plan, issues = resolve_close({**stored.declared_inputs, "method": other.value}, stored.prior, recorded=True)
    if not issues:
        try:
            alt = compute_close(plan)
        except CostingError as e:
            issues = e.issues
    if issues:
        return MethodEffect(reason=_refused_under(other, issues, stored.declared_inputs), **unavailable)
    q = result.plan.quantum
    zero = _ZERO * q
    lines: list[MethodEffectLine] = []
    totals = [zero] * 4
    # Transferred out of each product's last stage: the bridge's cost of goods manufactured.
    final, final_other = final_stages(figures_from_close(result)), final_stages(figures_from_close(alt))
    for mine, theirs in zip(result.products, alt.products):
        product_totals = [zero] * 4
        for sr, sr_alt in zip(mine.report.stages, theirs.report.stages):
            values = [mine.closing_wip[sr.name].total, theirs.closing_wip[sr.name].total,
                      sr.transferred_out.total, sr_alt.transferred_out.total]
            lines.append(_effect_line("stage", mine.name, sr.name, values))
            product_totals[0] += values[0]
            product_totals[1] += values[1]
        product_totals[2] = _stage_report(mine, final[mine.name]).transferred_out.total
        product_totals[3] = _stage_report(theirs, final_other[theirs.name]).transferred_out.total
        lines.append(_effect_line("product", mine.name, "", product_totals))
        totals = [t + p for t, p in zip(totals, product_totals)]
    lines.append(_effect_line("total", "", "", totals))
    return MethodEffect(period=spec.period, close_no=stored.close_no, method=spec.method, other_method=other.value,
                        available=True, reason="", lines=tuple(lines))


def _refused_under(method: Method, issues, inputs: dict) -> str:
    """Why the other method cannot cost a month already closed: each problem named by product
    (its index in the inputs says nothing to a reader of the variance report), without the advice
    to correct the file, which was right for the close, not for a month on record.

    >>> from costing._errors import Issue
    >>> _refused_under(Method.FIFO, [Issue("X", "products[0].stages[1].completed", "Testing: too few; check it")],
    ...                {"products": [{"name": "Drip Home"}]})
    "FIFO cannot cost this month's inputs: 'Drip Home' stages[1].completed: Testing: too few [X]"
    """
    names = [p.get("name") if isinstance(p, dict) else None for p in inputs.get("products") or []]
    said = []
    for issue in dict.fromkeys(issues):
        path, match = issue.path, re.match(r"products\[(\d+)\]\.?(.*)", issue.path)
        if match and int(match[1]) < len(names) and names[int(match[1])]:
            path = f"{names[int(match[1])]!r} {match[2]}".rstrip()
        message = re.split(r"; (?:check|use) ", issue.message)[0]
        said.append(f"{path}: {message} [{issue.code}]" if path else f"{message} [{issue.code}]")
    word = "FIFO" if method is Method.FIFO else "weighted average"
    return f"{word} cannot cost this month's inputs: " + "; ".join(said)


def _stage_report(product, stage: str):
    """The production cost report of one of a product's stages, by name."""
    return next(sr for sr in product.report.stages if sr.name == stage)


def _effect_line(level: str, product: str, stage: str, v: list[Decimal]) -> MethodEffectLine:
    return MethodEffectLine(level=level, product=product, stage=stage, ending_wip=v[0], ending_wip_other=v[1],
                            ending_wip_difference=v[1] - v[0], transferred_out=v[2], transferred_out_other=v[3],
                            transferred_out_difference=v[3] - v[2])


# ---- ties to the stored roll-forwards ----------------------------------------------------------

class Tie(_Frozen):
    """A bridge total against the same total from a stored roll-forward."""

    metric: str
    what: Literal["before", "after", "change"]
    bridge: Amount
    rollforward: Amount
    difference: Amount

    @property
    def ok(self) -> bool:
        return not self.difference


def _rollforward_total(rf: RollForward, metric: Metric) -> Decimal:
    zero = _ZERO
    if metric is Metric.COST_ADDED:
        return sum((r.materials + r.labour + r.overhead + r.conversion for r in rf.rows), zero)
    if metric is Metric.TRANSFERRED_OUT:  # cost of goods manufactured: what finished goods received
        return sum((r.completed for r in rf.finished_goods), zero)
    if metric is Metric.ENDING_WIP:
        return sum((r.closing for r in rf.rows), zero)
    return sum((r.cost_of_goods_sold for r in rf.finished_goods), zero)


def tie_to_rollforwards(bridge: Bridge, before: RollForward, after: RollForward) -> tuple[Tie, ...]:
    ties = []
    for metric in Metric:
        try:
            total = bridge.total(metric)
        except KeyError:
            continue
        b, a = _rollforward_total(before, metric), _rollforward_total(after, metric)
        for what, mine, theirs in (("before", total.before, b), ("after", total.after, a),
                                   ("change", total.change, a - b)):
            ties.append(Tie(metric=metric.value, what=what, bridge=mine, rollforward=theirs,
                            difference=mine - theirs))
    return tuple(ties)


# ---- COGS as posted ---------------------------------------------------------------------------

# The rows of the reconciliation, in order, and how the reports name them.
COGS_LINE_LABELS = {
    "before_true_up": "COGS before overhead true-up (the bridge: cost of units shipped)",
    "overhead_written_off": "overhead under(+)/over(-)-applied written off to COGS",
    "overhead_prorated": "overhead prorated to COGS",
    "as_posted": "COGS as posted",
    "journals": "posted to COGS per the stored journals",
    "difference": "difference",
}


class CogsLine(_Frozen):
    what: Literal["before_true_up", "overhead_written_off", "overhead_prorated", "as_posted", "journals",
                  "difference"]
    before: Amount
    after: Amount
    # after − before, signed, with no U/F: a balance expensed, and a disposition of under- or
    # over-applied overhead that can change from month to month, not a cost against a standard.
    change: Amount


class CogsAsPosted(_Frozen):
    """The bridge's COGS — the cost of the units shipped, before the overhead true-up — reconciled to
    the COGS each close posted: plus the under- or over-applied overhead written off to COGS and
    COGS's share of prorated overhead (``as_posted`` = ``before_true_up`` + ``overhead_written_off``
    + ``overhead_prorated``), tied to what the close's stored journals post to the COGS account
    (the units-shipped and overhead true-up lines; ``difference`` = as posted − journals)."""

    lines: tuple[CogsLine, ...]
    ties_ok: bool  # the difference is zero in both months (or the journals were not read)

    def line(self, what: str) -> CogsLine:
        return next(line for line in self.lines if line.what == what)


# The memos of the close's lines on the COGS account that make up its cost of goods sold.
_COGS_MEMOS = frozenset({Texts.SHIPPED, Texts.UNDER_APPLIED, Texts.OVER_APPLIED, Texts.PRORATION_COGS})


def _cogs_month(result: CloseResult, journals: JournalBook | None) -> dict[str, Decimal | None]:
    q = result.plan.quantum
    zero = _ZERO * q
    shipped = sum((p.cogs for p in result.products), zero)
    written_off = result.written_off_to_cogs + zero
    prorated = sum((p.cogs_overhead_adjustment for p in result.products), zero)
    posted = shipped + written_off + prorated
    month: dict[str, Decimal | None] = {"before_true_up": shipped, "overhead_written_off": written_off,
                                        "overhead_prorated": prorated, "as_posted": posted,
                                        "journals": None, "difference": None}
    if journals is not None:
        code = result.plan.spec.accounts.cogs.code
        booked = sum((line.debit - line.credit for journal in journals.journals for line in journal.lines
                      if line.account == code and line.memo in _COGS_MEMOS), zero)
        month["journals"], month["difference"] = booked, posted - booked
    return month


def cogs_as_posted(before: CloseResult, after: CloseResult, before_journals: JournalBook | None = None,
                   after_journals: JournalBook | None = None) -> CogsAsPosted:
    """COGS before the overhead true-up, the true-up, and COGS as posted, for both closes."""
    b, a = _cogs_month(before, before_journals), _cogs_month(after, after_journals)
    lines = tuple(CogsLine(what=what, before=b[what], after=a[what], change=a[what] - b[what])
                  for what in COGS_LINE_LABELS if b[what] is not None and a[what] is not None)
    ok = all(not line.before and not line.after for line in lines if line.what == "difference")
    return CogsAsPosted(lines=lines, ties_ok=ok)


# ---- late changes -----------------------------------------------------------------------------

# How `wip diff` names a new opening position (its "opening" step) and a value not given.
OPENING_CHANGED = DIFF_STEP_LABELS["opening"]
NOT_GIVEN = diff_value_text(None)


class InputChange(_Frozen):
    """One input change, as `wip diff` lists it (``costing.close._diff``): products and stages by
    name (``products[Espresso Classic].stages[Testing].added_costs.labour``); a product added or
    removed is one change (``products[Milk Frother]``: None → "(product)"), a product whose stages
    were added, removed or reordered one change of its ``stages`` (their names, as a list)."""

    path: str
    before: str | None  # None: not given in the earlier inputs
    after: str | None  # None: not given in the later inputs


class ProrationLine(_Frozen):
    """One product's share of the overhead a close prorated to finished goods (under-applied
    positive), in the earlier close and the re-close; product "" is the total."""

    product: str
    before: Amount
    after: Amount
    change: Amount  # after − before, signed, no U/F: a balance carried into finished goods


def finished_goods_proration(before: CloseResult, after: CloseResult) -> tuple[ProrationLine, ...]:
    """Each product's finished-goods share of prorated overhead in two closes of a period, then the
    total; nothing when neither close prorated any overhead to finished goods."""
    zero = _ZERO * after.plan.quantum
    b = {p.name: p.fg_overhead_adjustment + zero for p in before.products}
    a = {p.name: p.fg_overhead_adjustment + zero for p in after.products}
    if not any(b.values()) and not any(a.values()):
        return ()
    names = list(b) + [name for name in a if name not in b]
    lines = [ProrationLine(product=name, before=b.get(name, zero), after=a.get(name, zero),
                           change=a.get(name, zero) - b.get(name, zero)) for name in names]
    total_before, total_after = sum(b.values(), zero), sum(a.values(), zero)
    return tuple(lines) + (ProrationLine(product="", before=total_before, after=total_after,
                                         change=total_after - total_before),)


class LateChange(_Frozen):
    """A period reopened and closed again: what changed in its inputs and what that moved — the
    bridge's lines, and the overhead true-up and COGS as posted (an overhead change that is written
    off moves no bridge line, only these)."""

    period: str
    from_close: int
    to_close: int
    reason: str  # the reason recorded when the period was reopened
    # The inputs that changed, in the order `wip diff` substitutes them: plant-wide settings, then
    # the products and their stages in flow order.
    input_changes: tuple[InputChange, ...]
    bridge: Bridge  # totals, and only the lines that moved
    cogs_as_posted: CogsAsPosted  # the earlier close (before) against the re-close (after)
    # The overhead each close prorated to finished goods, by product, then the total (empty when
    # neither prorated any there): the true-up's share that neither the bridge nor COGS holds.
    finished_goods_proration: tuple[ProrationLine, ...] = ()
    # The re-close opened from another closing position than the close before it (the prior month
    # was closed again in between): a change of its own besides the inputs, as `wip diff`'s
    # "opening" step.
    opening_changed: bool = False

    @property
    def moved(self) -> bool:
        """Whether the re-close moved any amount: a bridge line, a line of COGS as posted or the
        overhead prorated to finished goods."""
        return any(line.change for line in self.bridge.lines) or \
            any(line.change for line in self.cogs_as_posted.lines if line.what != "difference") or \
            any(line.change for line in self.finished_goods_proration)


def late_change(old: StoredClose, new: StoredClose, old_figures: PeriodFigures, new_figures: PeriodFigures,
                materiality: Materiality | None, old_result: CloseResult | None = None,
                new_result: CloseResult | None = None) -> LateChange:
    # As `wip diff` lists them (its order of substitution), each close's elements in declared order.
    changes = tuple(InputChange(path=c.path, before=_text(c.before), after=_text(c.after))
                    for c in diff_input_changes(old.declared_inputs, new.declared_inputs))
    full = build_bridge(old_figures, new_figures, materiality)
    moved = tuple(line for line in full.lines if line.level == "total" or line.change)
    old_result, new_result = old_result or recompute(old), new_result or recompute(new)
    cogs = cogs_as_posted(old_result, new_result, old.journals, new.journals)
    return LateChange(period=new.period, from_close=old.close_no, to_close=new.close_no, reason=new.reopen_reason,
                      input_changes=changes, bridge=full.model_copy(update={"lines": moved}), cogs_as_posted=cogs,
                      finished_goods_proration=finished_goods_proration(old_result, new_result),
                      # As `wip diff` tells an opening change: the two closes' opening positions differ.
                      opening_changed=old.prior != new.prior)


def _text(value: Any) -> str | None:
    """A value as `wip diff` writes it (a list by its items, a section by its values); None: not given."""
    return None if value is None else diff_value_text(value)


# ---- the report --------------------------------------------------------------------------------

class VarianceReport(_Frozen):
    from_period: str
    to_period: str
    currency: str
    bridge: Bridge
    all_sum_exactly: bool  # every line's components add up to its change
    ties: tuple[Tie, ...]
    ties_ok: bool  # bridge totals equal the two stored roll-forwards, and COGS as posted the stored journals
    # The bridge's COGS (before the overhead true-up) reconciled to the COGS the two closes posted.
    cogs_as_posted: CogsAsPosted
    method_effect: tuple[MethodEffect, ...]
    late_changes: tuple[LateChange, ...]
    notes: tuple[str, ...]
    # Either month rests on a close that has since been superseded (the ledger says so, not the
    # two closes): the figures are what is recorded, and will move when that month is closed again.
    # A month of the two resting on a superseded close, in words (``_cli._stale_note``): one that
    # opened from it needs a re-close; one flagged through another month, or waiting on a month
    # reopened now, may (its words say "may"): ``re_close_heading`` heads each as it is.
    needs_re_close: tuple[str, ...] = ()


def build_variance_report(before: StoredClose, after: StoredClose, *,
                          reclosed: dict[str, list[StoredClose]] | None = None,
                          materiality: Materiality | None = None, progress=None) -> VarianceReport:
    """``before`` and ``after``: the two closes to bridge (two periods' current closes, or two closes
    of one period).  ``reclosed``: by period, every close of the periods that were closed more than
    once, oldest first (their last two closes are bridged under late changes).  ``progress(done,
    total)``: as each close is costed again."""
    cache: dict[int, tuple[CloseResult, PeriodFigures]] = {}

    def figures(stored: StoredClose) -> tuple[CloseResult, PeriodFigures]:
        if stored.seq not in cache:
            result = recompute(stored, progress)
            cache[stored.seq] = (result, figures_from_close(result, stored.close_no, stored.element_order))
        return cache[stored.seq]

    problems: list[Issue] = []
    notes: list[str] = []
    try:
        result_b, fig_b = figures(before)
        result_a, fig_a = figures(after)
    except CostingError as e:
        raise CostingError(list(e.issues)) from None
    if fig_b.currency != fig_a.currency:
        raise CostingError([Issue("CURRENCY_MISMATCH", "", f"{before.period} was closed in {fig_b.currency} and "
                                  f"{after.period} in {fig_a.currency}; a bridge needs one currency")])
    if fig_b.method != fig_a.method:
        notes.append(f"{before.period} was closed under {fig_b.method} and {after.period} under {fig_a.method}; "
                     "the price component includes the change of method")
    bridge = build_bridge(fig_b, fig_a, materiality)
    ties = tie_to_rollforwards(bridge, before.rollforward, after.rollforward)
    if not all(t.ok for t in ties):
        notes.append("a close recomputed from its stored inputs differs from its stored roll-forward (engine "
                     "version changed?); the differences are under ties")
    for stored, result in ((before, result_b), (after, result_a)) if after.seq != before.seq else ((after, result_a),):
        # By element, where the ties (by stage) see nothing: two elements trading a cent.
        moved = closing_wip_moved(result, stored.state)
        if moved:
            notes.append(f"{stored.period} #{stored.close_no} recomputed by this engine gives other closing WIP by "
                         f"element than was recorded ({moved}); the bridge shows this engine's figures, not the "
                         "ones recorded")
    cogs = cogs_as_posted(result_b, result_a, before.journals, after.journals)
    if not cogs.ties_ok:
        notes.append("COGS as posted (the bridge's COGS and the overhead true-up of the recomputed close) differs "
                     "from what the stored journals post to COGS; the difference is under COGS as posted")
    effects = [method_effect(before, result_b)]
    if after.seq != before.seq:
        effects.append(method_effect(after, result_a))
    late = []
    for period, closes in sorted((reclosed or {}).items()):
        if len(closes) < 2:
            continue
        old, new = closes[-2], closes[-1]
        # Kept when it is the main bridge too (--from P --to P): the reopen reason and the input
        # changes are said nowhere else.
        try:
            (old_result, old_figures), (new_result, new_figures) = figures(old), figures(new)
            late.append(late_change(old, new, old_figures, new_figures, materiality, old_result, new_result))
        except CostingError as e:
            problems.extend(e.issues)
    if problems:
        raise CostingError(problems)
    return VarianceReport(from_period=before.period, to_period=after.period, currency=fig_a.currency, bridge=bridge,
                          all_sum_exactly=bridge.all_sum_exactly, ties=ties,
                          ties_ok=all(t.ok for t in ties) and cogs.ties_ok, cogs_as_posted=cogs,
                          method_effect=tuple(effects), late_changes=tuple(late), notes=tuple(notes))


def re_close_heading(note: str) -> str:
    """The heading of a ``VarianceReport.needs_re_close`` note: MAY NEED RE-CLOSE where its month's
    re-close depends on another's (the note says "may"), NEEDS RE-CLOSE where it is certain — as
    `wip history` heads the same months.

    >>> re_close_heading("2026-12 opened from a close of 2026-11 that has since been superseded: it needs a re-close")
    'NEEDS RE-CLOSE'
    >>> re_close_heading("2026-12 opened from the close of 2026-11, which rests on a superseded close of 2026-10: "
    ...                  "it may need a re-close — ...")
    'MAY NEED RE-CLOSE'
    """
    return "MAY NEED RE-CLOSE" if " may " in note else "NEEDS RE-CLOSE"
