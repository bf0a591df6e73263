"""Text writers for close reports (the CLI's tables). Amounts are already rounded; babel only
formats them in the chosen locale."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from babel.numbers import format_decimal

from .._currency import minor_unit
from .._journal import JournalBook
from ._compute import CloseResult
from ._diff import CloseDiff
from ._rollforward import RollForward

__all__ = ["render_rollforward", "render_journals_text", "render_close_summary", "render_diff"]


def _money(value: Decimal, currency: str, locale: str) -> str:
    places = minor_unit(currency)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(value, format=pattern, locale=locale, decimal_quantization=False)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = lambda r: "  " + "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])  # noqa: E731
                                     for i, c in enumerate(r))
    return [fmt(header)] + [fmt(r) for r in rows]


_COLUMNS = ["opening", "materials", "labour", "overhead", "conversion", "transferred_in", "transferred_out",
            "spoilage", "count_adjustment", "overhead_adjustment", "closing"]
_TITLES = ["opening", "materials", "labour", "overhead", "conversion", "trans. in", "trans. out", "spoilage",
           "count adj.", "OH adj.", "closing"]


def render_rollforward(rf: RollForward, locale: str = "en_US", detail: bool = False) -> str:
    m = lambda v: _money(v, rf.currency, locale)  # noqa: E731
    lines = [f"WIP roll-forward {rf.period} ({rf.currency})", ""]
    by_stage: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in rf.rows:
        for c in _COLUMNS:
            by_stage[row.stage][c] += getattr(row, c)
    used = [c for c in _COLUMNS if any(v[c] for v in by_stage.values()) or c in ("opening", "closing")]
    titles = [_TITLES[_COLUMNS.index(c)] for c in used]
    rows = [[stage] + [m(v[c]) for c in used] for stage, v in by_stage.items()]
    total = [["Total"] + [m(sum((v[c] for v in by_stage.values()), Decimal(0))) for c in used]]
    lines += _table(["stage"] + titles, rows + total)
    if detail:
        lines += ["", "By product, stage and element:"]
        rows = [[f"{r.product} / {r.stage} / {r.element}"] + [m(getattr(r, c)) for c in used] for r in rf.rows]
        lines += _table(["product / stage / element"] + titles, rows)
    lines += ["", f"Finished goods {rf.period}"]
    rows = [[r.product, m(r.opening), m(r.completed), m(r.cost_of_goods_sold), m(r.overhead_adjustment),
             m(r.closing), str(r.closing_units)] for r in rf.finished_goods]
    lines += _table(["product", "opening", "completed", "COGS", "OH adj.", "closing", "units"], rows)
    lines += ["", "Ties to the journals (each account's movement this month: closing − opening per the "
                  "roll-forward, against debits − credits posted by the close's journals):"]
    for t in rf.ties:
        state = "OK" if t.ok else f"DIFFERENCE {m(t.difference)} — check the journals posted to {t.account}"
        lines.append(f"  {t.account} {t.name}: movement per roll-forward {m(t.rollforward)}, net posted "
                     f"{m(t.journals)}: {state}")
    lines.append("  Roll-forward ties: " + ("OK" if rf.ties_ok else "NO — see the differences above"))
    return "\n".join(lines) + "\n"


def render_journals_text(book: JournalBook, locale: str = "en_US") -> str:
    m = lambda v: _money(v, book.currency, locale) if v else ""  # noqa: E731
    lines = [f"Journals {book.period} — {book.company} ({book.currency})"]
    for j in book.journals:
        lines += ["", f"{j.id}  {j.date.isoformat()}  {j.narration}"]
        rows = [[f"{l.account} {book.accounts[l.account].name}", m(l.debit), m(l.credit), l.memo] for l in j.lines]
        rows.append(["Total", m(j.total_debit), m(j.total_credit),
                     "balanced" if j.total_debit == j.total_credit else "NOT BALANCED"])
        lines += _table(["account", "debit", "credit", "memo"], rows)
    return "\n".join(lines) + "\n"


def render_close_summary(result: CloseResult, book: JournalBook, rf: RollForward, locale: str = "en_US") -> str:
    spec = result.plan.spec
    m = lambda v: _money(v, spec.currency, locale)  # noqa: E731
    lines = [f"{spec.company}: close {spec.period} ({spec.method}, {spec.currency})", ""]
    rows = []
    for line in result.overhead:
        diff = line.under_applied
        rows.append([line.stage, line.driver, m(line.applied), m(line.actual),
                     f"{m(abs(diff))} {'under' if diff > 0 else 'over' if diff < 0 else ''}".strip(), line.disposition])
    if rows:
        lines += ["Overhead applied vs actual:"] + _table(["stage", "driver", "applied", "actual", "difference",
                                                            "disposition"], rows) + [""]
    if result.general_ledger:
        lines += _general_ledger_lines(result, book, m) + [""]
    wip = sum((r.closing for r in rf.rows), Decimal(0))
    fg = sum((r.closing for r in rf.finished_goods), Decimal(0))
    cogs = sum((p.cogs + p.cogs_overhead_adjustment for p in result.products), Decimal(0)) + result.written_off_to_cogs
    lines += [f"  Products: {len(result.products)}; stage-rows costed: {sum(len(p.report.stages) for p in result.products)}",
              f"  Closing WIP: {m(wip)}   Finished goods: {m(fg)}   Cost of goods sold: {m(cogs)}",
              f"  Journals: {len(book.journals)}, all balanced; roll-forward ties to the journals: "
              + ("OK" if rf.ties_ok else "NO")]
    return "\n".join(lines) + "\n"


def _general_ledger_lines(result: CloseResult, book: JournalBook, m) -> list[str]:
    """The tie to the general ledger's balances before the close, and each account's balance once
    this close's journals are posted there: what to look for in the GL after the import."""
    posted: dict[str, Decimal] = defaultdict(Decimal)
    for journal in book.journals:
        for line in journal.lines:
            posted[line.account] += line.debit - line.credit
    rows = [[f"{t.account} {t.name}", t.holds, m(t.general_ledger), m(t.wip_ledger),
             "OK" if t.ok else m(t.difference), m(t.general_ledger + posted[t.account])]
            for t in result.general_ledger]
    return (["Tie to the general ledger (balances before this close's journals, as given in the close file):"]
            + _table(["account", "holds", "per GL", "per WIP ledger", "difference", "after posting"], rows))


# COGS here is the cost of the units shipped; overhead written off or prorated to COGS moves the
# journal lines (Overhead true-up), shown with them — not added in twice.
_KIND_LABELS = {"closing_wip": "Closing WIP", "finished_goods": "Finished goods",
                "cogs": "Cost of goods sold: units shipped (overhead written off or prorated to COGS: see the "
                        "Overhead true-up journal lines)",
                "journal": "Journal"}
_STEP_LABELS = {"opening": "the opening position (the prior month was closed again)",
                "opening+inputs": "the opening position (the prior month was closed again), with",
                "unexplained": "not explained by the input changes (engine version, or changes that never close apart)"}


def render_diff(diff: CloseDiff, currency: str, locale: str = "en_US", title: str = "") -> str:
    """The diff as text: the input changes, each step's part of every amount it moved, and every
    amount that moved with its parts by step (they add up to the move)."""
    m = lambda v: _money(v, currency, locale)  # noqa: E731
    signed = lambda v: ("+" if v > 0 else "") + m(v)  # noqa: E731
    lines = [title or f"{diff.period}: two closes compared", ""]
    if not diff.input_changes:
        lines.append("No input changes.")
    else:
        lines.append("Input changes:")
        lines += [f"  {c.path}: {c.before} → {c.after}" for c in diff.input_changes]
    if not diff.attributed:
        lines += ["", f"Moves are not split by input change: {diff.note}."]
    elif diff.steps:
        lines += ["", "What each step moved (the changes are applied one at a time in this order, each at the values "
                      f"before it; {diff.note}):"]
        for n, step in enumerate(diff.steps, 1):
            changes = [f"{c.path}: {c.before} → {c.after}" for c in step.changes]
            head = _STEP_LABELS.get(step.what, "")
            if head and changes:
                lines.append(f"  {n}. {head} " + "; ".join(changes))
            else:
                lines.append(f"  {n}. " + (head or "; ".join(changes)))
            if not step.moves:
                lines.append("       moves nothing")
            for move in step.moves:
                lines.append(f"       {_KIND_LABELS[move.kind]} {move.name}: {signed(move.amount)}")
    by_kind = defaultdict(list)
    for a in diff.amounts:
        by_kind[a.kind].append(a)
    for kind in ("closing_wip", "finished_goods", "cogs", "journal"):
        if not by_kind.get(kind):
            continue
        lines += ["", f"{_KIND_LABELS[kind]} moved:"]
        for a in by_kind[kind]:
            parts = ", ".join(f"step {n} {signed(v)}" for n, v in a.by_step)
            lines.append(f"  {a.name}: {m(a.before)} → {m(a.after)} ({signed(a.change)})" + (f" = {parts}" if parts else ""))
    if not diff.amounts:
        lines += ["", "No amount moved."]
    return "\n".join(lines) + "\n"
