"""Running a close against the ledger: the one place that joins the pure close to storage.

``close_period`` takes close data (from a close file or a workbook reader), the ledger, and who
is closing; it either records the close in one transaction and returns the outcome, or raises
``CloseRefused`` with every problem found — in which case nothing was written.
"""

from __future__ import annotations

import contextlib
import gc
import getpass
import hashlib
import json
import os
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Callable

from . import __version__
from ._background import Background, BackgroundFailed, Stream, can_stream
from ._currency import is_known_currency
from ._errors import CostingError, Issue
from ._journal import REASON_MAX_CHARACTERS, JournalBook, invisible_problem, name_problem, net_by_account
from ._period import is_period
from .close import (
    CloseResult,
    RollForward,
    build_journals,
    build_rollforward,
    compute_close,
    period_end,
    resolve_close,
    reversal_book,
)
from .close._compute import compute_streamed
from .close._general_ledger import after_close_export, close_figure
from .close._resolve import names_of_close, product_plans, resolve_header
from .close._state import PriorState
from .close._transport import PlanDecoder, encode_plan
from .ledger import Event, Ledger, LedgerError
from .ledger._codec import StoredClose
from .ledger._sqlite import canonical_json

_json_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode

__all__ = ["CloseRefused", "CloseOutcome", "close_period", "recorded_outcome", "reopen_period", "reason_problem", "current_user",
           "re_close_notice",
           "read_month_before", "MonthBeforeUnknown",
           "canonical_inputs", "in_element_order", "closing_wip_moved",
           "canonical_inputs_json", "inputs_sha256", "journal_id_prefix"]


class CloseRefused(Exception):
    """The close was not recorded; ``issues`` says why (all problems, located)."""

    def __init__(self, issues: list[Issue], notes: tuple[str, ...] = ()):
        super().__init__("\n".join(map(str, issues)))
        self.issues = issues
        self.notes = notes  # said after the problems, not counted as one (a likely cause is the first issue instead)


@dataclass(frozen=True)
class CloseOutcome:
    event: Event
    result: CloseResult
    journals: JournalBook
    rollforward: RollForward


def current_user() -> str:
    try:
        return os.environ.get("WIP_USER") or getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def canonical_inputs(data: Any) -> Any:
    """Inputs as stored and hashed: floats as exact decimal strings, everything else as is."""
    kind = type(data)
    if kind is dict:  # the common shapes first, without a call per leaf (a large close has millions)
        return {(k if type(k) is str else str(k)): (v if type(v) in _AS_IS else canonical_inputs(v))
                for k, v in data.items()}
    if kind is list:
        return [v if type(v) in _AS_IS else canonical_inputs(v) for v in data]
    if isinstance(data, dict):
        return {str(k): canonical_inputs(v) for k, v in data.items()}
    if isinstance(data, list):
        return [canonical_inputs(v) for v in data]
    if isinstance(data, bool) or data is None or isinstance(data, (int, str)):
        return data
    if isinstance(data, float):
        return format(Decimal(str(data)), "f")
    if isinstance(data, Decimal):
        return format(data, "f")
    return str(data)


_AS_IS = frozenset({str, int, bool, type(None)})  # exact types canonical_inputs returns unchanged


def canonical_inputs_json(data: Any) -> str:
    """The inputs' canonical JSON text, as the ledger stores and hashes it."""
    return canonical_json(canonical_inputs(data))


def inputs_sha256(data: Any) -> str:
    """The SHA-256 the ledger records for a close of these inputs (``Event.inputs_sha256``)."""
    return hashlib.sha256(canonical_inputs_json(data).encode()).hexdigest()


def _stage_rows(data: Any) -> int:
    """How many product-stages the close data holds (0 when it is not shaped like a close)."""
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(products, list):
        return 0
    return sum(len(p["stages"]) for p in products if isinstance(p, dict) and isinstance(p.get("stages"), list))


# From this many product-stages on, the inputs' canonical JSON is built in a child process while
# the close is computed (about 20 µs per stage-row; a fork costs a few milliseconds).
BACKGROUND_FROM_STAGE_ROWS = 2000


def journal_id_prefix(close_no: int) -> str:
    """Journal ids of a period's first close are WIP-2026-10-001...; a re-close adds its number."""
    return "WIP" if close_no == 1 else f"WIP{close_no}"


@contextlib.contextmanager
def _gc_paused():
    """A close allocates millions of small objects (Decimals, report values) and frees few: the
    cyclic collector would traverse the growing heap again and again for nothing (about a fifth of
    a large close's time).  Paused for the close, then back as it was."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            # Switched back on as is, the collector's next pass would traverse every object the
            # close made (about 0.4 s for 50,000 stage-rows): they are moved to the oldest
            # generation instead, where objects that survive a collection end up anyway.  Only
            # when nothing else uses gc.freeze(), whose permanent generation this borrows.
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.enable()
                gc.unfreeze()
            else:
                gc.enable()


def close_period(data: Any, ledger: Ledger, *, period: str | None = None, user: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> CloseOutcome:
    with _gc_paused():
        try:
            return _close_period(data, ledger, period, user, progress)
        except CloseRefused as refused:
            if any(issue.code == "GL_DOES_NOT_TIE" for issue in refused.issues):
                # What the GL holds differently from the ledger, told by cause: the ties resolved once.
                found = _opening_ties(data, ledger)
                if found is not None:
                    refused.issues = _gl_holding_a_reversed_close(refused.issues, found, ledger)
                    refused.issues = _gl_without_the_prior_months_reclose(refused.issues, found, ledger)
                    refused.issues = _gl_holding_both(refused.issues, found, ledger)
                if ledger.ledger_option and isinstance(data, dict):  # the suggested export reaches this ledger
                    month = str(data.get("period"))
                    plain, reaching = after_close_export(month), after_close_export(month, ledger.ledger_option)
                    refused.issues = [Issue(i.code, i.path, i.message.replace(plain, reaching), i.source)
                                      if i.code == "GL_DOES_NOT_TIE" else i for i in refused.issues]
            if any(issue.code == "UNIT_FLOW" for issue in refused.issues):
                # The likely cause first, where the accountant starts reading, not in a note after
                # the differences it explains.
                refused.issues = [Issue("NO_OPENING", "period", cause)
                                  for cause in _no_opening_for_a_later_month(refused.issues, data, ledger)] + \
                    refused.issues
            raise


def _no_opening_for_a_later_month(issues: list[Issue], data: Any, ledger: Ledger) -> tuple[str, ...]:
    """A month after the first closed on a ledger without the months before (another ledger, or
    the first month not closed yet) opens from nothing: most stages fail their unit flow.  Said as
    the likely cause, beside the flow differences, when it fits: the ledger holds no earlier month,
    the file gives no opening, and at least half of its stages do not flow (a typo or two in a
    genuine first month is not told to look for another ledger)."""
    period = data.get("period") if isinstance(data, dict) else None
    products = data.get("products") if isinstance(data, dict) else None
    if not isinstance(period, str) or not isinstance(products, list):
        return ()
    try:
        if any(p < period for p in ledger.periods()):
            return ()  # it opens from the ledger: the flow differences are the file's own
    except LedgerError:
        return ()
    stages = 0
    for product in products:
        product_stages = product.get("stages") if isinstance(product, dict) else None
        if not isinstance(product_stages, list):
            continue
        stages += len(product_stages)
        if product.get("opening_finished_goods") or any(isinstance(s, dict) and s.get("beginning_wip")
                                                        for s in product_stages):
            return ()  # the file gives an opening: its flow differences are its own
    if 2 * sum(issue.code == "UNIT_FLOW" for issue in issues) < stages:
        return ()
    return (f"{ledger.path} holds no close before {period}, so this close is the ledger's first month and opens "
            "from the file, which gives no opening WIP or finished goods: the unit-flow differences below (and any "
            "general-ledger difference or shipment beyond stock) are likely what opening from nothing makes. If "
            "the month before was closed, give its ledger (--ledger); otherwise close it first, or give this "
            "month's opening in the file (beginning_wip, opening_finished_goods)",)


@dataclass(frozen=True)
class _OpeningTies:
    """What the general-ledger explainers below read: the close's header as resolved, the month
    before it opens from, its ties to the GL balances the file gives, and those of them that are
    openings (WIP and finished goods; overhead control is this month's actual overhead)."""
    period: str
    spec: Any
    prior: Any
    ties: list
    openings: list


def _opening_ties(data: Any, ledger: Ledger) -> _OpeningTies | None:
    """``_OpeningTies`` of a refused close, or None where there is nothing to explain: a header that
    does not resolve, a ledger that cannot say, a first month whose products do not resolve.  In the
    ledger's first month (``prior`` None) the openings are the file's, as the close tied them."""
    from .close._general_ledger import openings_of_plans, openings_of_prior, tie_to_general_ledger

    period = str(data.get("period")) if isinstance(data, dict) else ""
    try:
        prior, opening_from = ledger.prior_for(period)
    except LedgerError:
        return None
    vouched = _vouched_by(ledger, opening_from, data)
    resolved = resolve_header(data, prior, vouched)
    if resolved is None:
        return None
    if prior is not None:
        openings = openings_of_prior(prior)
    else:
        plan = resolve_close(data, None, vouched=vouched)[0]
        if plan is None:
            return None
        openings = openings_of_plans(plan.products)
    ties = tie_to_general_ledger(resolved[0], openings)[0]
    return _OpeningTies(period, resolved[0], prior, ties, [t for t in ties if not t.is_actual_overhead])


def _posted_history(ledger: Ledger, period: str) -> tuple:
    """A month's closes and reversals in turn, as ``posted_after`` takes them."""
    from ._journal import PostedBook

    return tuple(PostedBook("close" if event.kind == "close" else "reversal", event.close_no, book)
                 for event, book in ledger.journal_books(period))


def _gl_without_the_prior_months_reclose(issues: list[Issue], found: _OpeningTies, ledger: Ledger) -> list[Issue]:
    """The month before was reopened and closed again after its journals were imported: the GL
    still holds its earlier close, so each opening account (WIP, finished goods) differs by exactly
    what was posted to it since (the reversal and the re-close).  When every opening account's
    difference is that, the issues say which export to import, instead of a list of differences to
    hunt down.  Overhead control is no opening: its figure is this month's actual overhead as the
    file gives it, and what the re-close posted to it clears a change in that month's actual
    overhead, which the GL books apart (the late invoice) — so it neither decides nor, unless it
    differs by exactly that, is told so."""
    from ._journal import NotPostedAfter, posted_after

    if found.prior is None or not any(t.difference for t in found.openings):
        return issues  # the ledger's first month has no month before
    spec, prior, ties, openings = found.spec, found.prior, found.ties, found.openings
    try:
        history = _posted_history(ledger, prior.period)
    except LedgerError:
        return issues
    closes = sorted({posted.close_no for posted in history if posted.kind == "close"})
    for imported in closes[:-1]:  # the GL may hold any earlier close of that month
        try:
            since = net_by_account(posted_after(history, imported))
        except NotPostedAfter:
            continue
        if any(t.difference != -since.get(t.account, 0) for t in openings):
            continue
        told = [t for t in ties if t.difference and t.difference == -since.get(t.account, 0)]
        overhead = spec.accounts.overhead_control.code
        also = ""
        moved = since.get(overhead, 0)
        if moved and not any(t.account == overhead for t in told):
            also = (f"; it also {'credits' if moved < 0 else 'debits'} {overhead} {spec.accounts.overhead_control.name} "
                    f"with {abs(moved)}: {prior.period}'s actual overhead changed by {-moved}, which the GL must "
                    "record too (the invoice or accrual behind it), or overhead control will not tie")
        return _retold(issues, told, lambda t: (
            f"{t.account} {t.name}: the general ledger shows {t.general_ledger}, {close_figure(t, spec)}: the "
            f"difference {t.difference} is what {prior.period} posted after its close #{imported}, which the GL "
            f"lacks: it still holds close #{imported} — {prior.period} was reopened and closed again. Import "
            f"{ledger.after_close_export_command(prior.period, imported)} — the reversal of close #{imported} and "
            f"the close since — into the GL, then give its balances here{also}"))
    return issues


def _retold(issues: list[Issue], ties, message) -> list[Issue]:
    """``issues`` with each GL_DOES_NOT_TIE of a tie in ``ties`` told by ``message(tie)`` instead."""
    by_path = {f"general_ledger.balances.{t.account}": t for t in ties}
    told = []
    for issue in issues:
        t = by_path.get(issue.path) if issue.code == "GL_DOES_NOT_TIE" else None
        told.append(issue if t is None else Issue(issue.code, issue.path, message(t), issue.source))
    return told


def _gl_holding_a_reversed_close(issues: list[Issue], found: _OpeningTies, ledger: Ledger) -> list[Issue]:
    """A month reopened after its journals were imported: the GL still holds that close, so each
    account differs by exactly what it posted.  When every opening account's difference (WIP,
    finished goods) is that, the issues say so and what to do, instead of a list of differences to
    hunt down.  Overhead control is no opening: its figure is the month's actual overhead as the
    file gives it, and a month is often reopened because that changed (the late invoice), which
    the GL may not hold yet — so it does not decide; it is told what the reopened close posted to
    it, and what is left over when that is not its whole difference."""
    period, spec, ties, openings = found.period, found.spec, found.ties, found.openings
    try:
        posted = ledger.journal_books(period)
    except LedgerError:
        return issues
    if not posted or posted[-1][0].kind != "reopen":
        return issues  # not reopened: nothing to tell
    reversed_close = next(event.close_no for event, _ in reversed(posted) if event.kind == "close")
    net = net_by_account(next(book for event, book in reversed(posted) if event.kind == "close"))
    if not any(t.difference for t in openings) or any(t.difference != net.get(t.account, 0) for t in openings):
        return issues
    # Overhead control differing by more (or less) than the reopened close posted to it: told that
    # part, and what is left, which is the month's actual overhead the GL and this close disagree on.
    apart = [t for t in ties if t.is_actual_overhead and net.get(t.account, 0) and t.difference != net[t.account]]
    told = [t for t in ties if t.difference == net.get(t.account, 0)]
    import_it = (f"once this close is recorded, import {ledger.after_close_export_command(period, reversed_close)}: "
                 f"the reversal of close #{reversed_close} and this close")
    issues = _retold(issues, told, lambda t: (
        f"{t.account} {t.name}: the general ledger shows {t.general_ledger}, which is {t.wip_ledger} plus the "
        f"{t.difference} that close #{reversed_close} of {period} posted to it ({close_figure(t, spec)}): the "
        f"GL still holds close #{reversed_close}, which was reopened. Give the balance from before close "
        f"#{reversed_close} ({t.wip_ledger}); {import_it}"))
    return _retold(issues, apart, lambda t: (
        f"{t.account} {t.name}: the general ledger shows {t.general_ledger}, which is "
        f"{t.general_ledger - net[t.account]} plus the {net[t.account]} that close #{reversed_close} of {period} "
        f"posted to it: the GL still holds close #{reversed_close}, which was reopened. Before close "
        f"#{reversed_close} it holds {t.general_ledger - net[t.account]}, and {close_figure(t, spec)}: the "
        f"difference {t.difference - net[t.account]} is no posting of close #{reversed_close}: the GL and this close "
        "disagree on the month's actual overhead. If it changed since (a late invoice or accrual), record the change "
        f"in the GL too, otherwise correct the actual overhead typed here; then give the balance from before close "
        f"#{reversed_close}; {import_it}"))


def _gl_holding_both(issues: list[Issue], found: _OpeningTies, ledger: Ledger) -> list[Issue]:
    """Both at once, the usual case when an exported month is corrected after the next month was
    exported too: this month was reopened, so the GL holds its reversed close (as in
    ``_gl_holding_a_reversed_close``), and the month before was reopened and closed again, so the GL
    lacks what that month posted after the close it took (``_gl_without_the_prior_months_reclose``).
    When every opening account's difference is the sum of the two (and neither alone), each is told
    with both parts and the two exports to import, instead of a list of differences to hunt down."""
    from ._journal import NotPostedAfter, posted_after

    if found.prior is None:
        return issues  # the ledger's first month has no month before
    period, spec, prior, ties, openings = found.period, found.spec, found.prior, found.ties, found.openings
    try:
        posted = ledger.journal_books(period)
        if not posted or posted[-1][0].kind != "reopen":
            return issues
        history = _posted_history(ledger, prior.period)
    except LedgerError:
        return issues
    reversed_close = next(event.close_no for event, _ in reversed(posted) if event.kind == "close")
    held = net_by_account(next(book for event, book in reversed(posted) if event.kind == "close"))
    if not any(t.difference for t in openings) or all(t.difference == held.get(t.account, 0) for t in openings):
        return issues  # nothing to tell, or this month's reversed close alone explains it (told already)
    closes = sorted({p.close_no for p in history if p.kind == "close"})
    for imported in closes[:-1]:
        try:
            since = net_by_account(posted_after(history, imported))
        except NotPostedAfter:
            continue
        if all(t.difference == -since.get(t.account, 0) for t in openings):
            return issues  # the month before alone explains it (told already)
        if any(t.difference != held.get(t.account, 0) - since.get(t.account, 0) for t in openings):
            continue
        # Overhead control too when its difference is exactly the two postings (it decides nothing:
        # its figure is the month's actual overhead, which may also have changed since).
        told = [t for t in ties if t.difference and t.difference == held.get(t.account, 0) - since.get(t.account, 0)]
        prior_export = ledger.after_close_export_command(prior.period, imported)
        this_export = ledger.after_close_export_command(period, reversed_close)

        def cause(t) -> str:
            held_part = (f"{held.get(t.account, 0)} that close #{reversed_close} of {period} posted (reopened since; "
                         "the GL still holds it)")
            if not since.get(t.account, 0):  # an account the month before's re-close left alone: one posting
                return f"is what close #{reversed_close} of {period} posted (reopened since; the GL still holds it)"
            return (f"is two postings the GL holds differently from this ledger — {held_part}, less "
                    f"{since.get(t.account, 0)} that {prior.period} posted after its close #{imported} (reopened and "
                    f"closed again; the GL holds close #{imported} and lacks what replaced it)")

        return _retold(issues, told, lambda t: (
            f"{t.account} {t.name}: the general ledger shows {t.general_ledger}, {close_figure(t, spec)}: the "
            f"difference {t.difference} {cause(t)}. "
            f"Import {prior_export} — the reversal of {prior.period}'s close #{imported} and the close since — into "
            f"the GL, then give the balance from before close #{reversed_close} of {period} ({t.wip_ledger}); once "
            f"this close is recorded, import {this_export}: the reversal of close #{reversed_close} and this close"))
    return issues


def _vouched_by(ledger: Ledger, opening_from: int | None, data: Any) -> frozenset[str]:
    """The names of the close a month opens from (``opening_from``, its seq) and of the month's own
    close it replaces after a reopen, which the month may use as those closes accepted them
    (``resolve_close``'s ``vouched``): the company, accounts, products and stages of a ledger an
    earlier engine recorded, whose names this one would refuse as new input.  Read only when
    ``data`` give such a name: a large close's inputs take a while to decode."""
    if not isinstance(data, dict):
        return frozenset()
    # The header's names and the products': a product's stage is named as a stage of the plant
    # (accounts.wip, in the header) or one ``prior`` carries, which vouches for it itself.
    products = data.get("products") if isinstance(data.get("products"), list) else []
    names = names_of_close({k: v for k, v in data.items() if k != "products"}) | {
        product["name"] for product in products if isinstance(product, dict) and isinstance(product.get("name"), str)}
    if not any(name_problem(name) for name in names):
        return frozenset()
    period = data.get("period")
    return _names_of_closes(ledger, opening_from, period if isinstance(period, str) else None)


def _names_of_closes(ledger: Ledger, opening_from: int | None, period: str | None) -> frozenset[str]:
    """The names of the close ``opening_from`` (its seq) and of ``period``'s own current close."""
    replaced = ledger.closes(period)[-1:] if period is not None else []
    previous = [ledger.close_at(opening_from)] if opening_from is not None else []
    return frozenset().union(*(names_of_close(close.inputs) for close in previous + replaced if close is not None))


class MonthBeforeUnknown(LedgerError):
    """``read_month_before`` could not give the close a month opens from: ``code`` and ``message``
    are the ledger's (the month is closed and locked, the month before is reopened or rests on a
    replaced close, the file is no ledger of this engine).  ``vouched`` holds the names the ledger
    vouches for all the same, so that a workbook's own name checks accept them and what is said is
    the ledger's refusal, not a name the ledger's closes were recorded with."""

    def __init__(self, code: str, message: str, vouched: frozenset[str] = frozenset()):
        super().__init__(code, message)
        self.vouched = vouched


def read_month_before(path: str | os.PathLike, period: str) -> tuple[PriorState | None, frozenset[str]]:
    """What a close of ``period`` opens from in the ledger file at ``path``, read without creating or
    changing it: the close before (None when there is no ledger there yet, or in its first
    month) and the names the ledger vouches for — those the close it opens from, and the month's own
    close it replaces after a reopen, were recorded with, which the month may use as they were
    accepted (``resolve_close``'s ``vouched``), as ``close_period`` does.  For checking input that
    still has problems (a close workbook reports them all at once) as the close would.  Raises
    MonthBeforeUnknown (a LedgerError) when the ledger cannot say (the month is locked, its
    predecessor is reopened, the file is not a ledger of this engine), with the names it vouches for
    all the same (``_names_without_an_opening``)."""
    from pathlib import Path

    path = Path(path)
    if not path.is_file() or not path.stat().st_size:
        return None, frozenset()
    try:
        with Ledger(path, create=False) as ledger:
            try:
                prior, opening_from = ledger.prior_for(period)
            except LedgerError as e:
                raise MonthBeforeUnknown(e.code, e.message, _names_without_an_opening(ledger, period)) from None
            return prior, _names_of_closes(ledger, opening_from, period)
    except MonthBeforeUnknown:
        raise
    except LedgerError as e:  # not a ledger of this engine, or a close row changed: no names to give
        raise MonthBeforeUnknown(e.code, e.message) from None


def _names_without_an_opening(ledger: Ledger, period: str) -> frozenset[str]:
    """The names a close of ``period`` is vouched for when the ledger cannot open the month now
    (``prior_for`` refuses): a month closed and locked, those of its close and of the close it opened
    from — what a re-run of the same inputs is checked against; otherwise those of the month's latest
    close (reopened) and of the latest close of the month before, reopened or out of date — the close
    the month will open from once that month is closed again.  Without them a workbook's own checks
    would refuse a recorded name at its cell and the ledger's refusal would never be said.  No names when
    even these cannot be read (a close row changed outside the engine: the refusal is said anyway)."""
    try:
        own = ledger.current_close(period)
        if own is not None:  # closed and locked
            return _names_of_closes(ledger, own.event.opening_from, period)
        before = ledger.last_closed_before(period)
        if before is None:
            return _names_of_closes(ledger, None, period)
        opening_from, earlier = before
        if opening_from is None:  # the month before is reopened: the close it replaces vouches
            latest = ledger.closes(earlier)[-1:]
            opening_from = latest[0].event.seq if latest else None
        return _names_of_closes(ledger, opening_from, period)
    except LedgerError:
        return frozenset()


def _same_currency_as_replaced(data: Any, ledger: Ledger, period: str) -> tuple[Issue, str] | None:
    """A re-close keeps the currency of the close it replaces: that close and its reversals are in
    it, and an export after it (``--after-close``) would put both currencies in one file with the
    later one's name, or the notice would find the same figures "posted" in another currency.  For
    the ledger's first month: a later one opens in the month before's currency, refused as such.
    The problem, and the currency the close must keep; None when it keeps it."""
    now = data.get("currency") if isinstance(data, dict) else None
    earlier = ledger.closes(period) if is_period(period) else []
    was = earlier[-1].parameters.get("currency") if earlier else None
    if isinstance(now, str) and is_known_currency(now) and was and now != was:
        return Issue("CURRENCY_MISMATCH", "currency", (
            f"{period}'s close #{earlier[-1].event.close_no} was in {was}, and what a general ledger took of it, and "
            f"its reversal, are in {was}; found {now!r}. A re-close keeps the currency of the close it replaces: to "
            f"keep the month's books in {now}, close it into a new ledger (--ledger NEW.wip.db), and reverse "
            f"close #{earlier[-1].event.close_no} in the general ledger by hand")), was
    return None


def _close_period(data: Any, ledger: Ledger, period: str | None, user: str | None,
                  progress: Callable[[int, int], None] | None) -> CloseOutcome:
    target = str(data.get("period")) if isinstance(data, dict) else ""
    if period is not None and is_period(target) and target != period:  # else resolution says what is wrong
        raise CloseRefused([Issue("PERIOD_MISMATCH", "period",
                                  f"--period {period} but the close data is for {data.get('period')!r}")])
    try:
        # Only a period that is one: the ledger compares periods as text, and "26-10" would be told
        # a month before it is open (PRIOR_PERIOD_OPEN) instead of INVALID_FORMAT, which resolution says.
        prior, opening_from = ledger.prior_for(target) if is_period(target) else (None, None)
    except LedgerError as e:
        raise CloseRefused([Issue(e.code, "period", e.message)]) from None
    vouched = _vouched_by(ledger, opening_from, data)
    # A later month opens in the month before's currency (CURRENCY_MISMATCH says so in resolution).
    mismatch = _same_currency_as_replaced(data, ledger, target) if prior is None else None
    if mismatch is not None:
        # The rest of the file is checked as it must close, in the currency it keeps (its amounts'
        # places): fixing the currency should not bring a second round of problems.
        issue, kept = mismatch
        plan, issues = resolve_close({**data, "currency": kept}, prior, vouched=vouched)
        if plan is not None:  # what the close finds costing it (the tie to the general ledger, a cost compared)
            try:
                compute_close(plan)
            except CostingError as e:
                issues = list(e.issues)
        raise CloseRefused([issue, *issues])
    large = _stage_rows(data) >= BACKGROUND_FROM_STAGE_ROWS
    result, inputs_json = _compute_in_two_processes(data, prior, vouched, progress) if large else (None, None)
    if result is None:
        # One process: every problem found, located, in order; or the result.
        inputs_json = Background(canonical_inputs_json, data, enabled=large)
        try:
            plan, issues = resolve_close(data, prior, vouched=vouched)
            if issues:
                raise CloseRefused(issues)
            try:
                result = compute_close(plan, progress=progress)
            except CostingError as e:
                raise CloseRefused(list(e.issues)) from None
        except BaseException:
            inputs_json.cancel()
            raise
    try:
        # What the ledger stores of the reports and roll-forward is encoded in a child process (it
        # shares the result copy-on-write) while the journals and the roll-forward are built here.
        storage = Background(_stored_reports, result, enabled=large)
        try:
            return _record(data, ledger, user, inputs_json, storage, opening_from, result)
        finally:
            storage.cancel()  # only still running when the close was refused
    finally:
        inputs_json.cancel()


def _compute_in_two_processes(data: Any, prior: PriorState | None, vouched: frozenset[str],
                              progress) -> tuple[CloseResult | None, Any]:
    """A large close whose header has no problem: a forked child validates and resolves the
    products and sends their plans while this process costs them as they arrive; then the child
    builds the inputs' canonical JSON.  (None, None) when that cannot be done here, or when the
    child met any problem in the products: the one-process path then reports them all."""
    if not can_stream():
        return None, None
    resolved = resolve_header(data, prior, vouched)
    if resolved is None:
        return None, None
    header, q = resolved
    # The child vouches for the names ``prior`` carries (``product_plans``); a product named as only
    # the previous close's inputs name it ends the child, and the one-process path resolves it.
    stream = Stream(_plans_then_inputs, data, header, q, prior)
    try:
        result = compute_streamed(header, q, prior is None, _received_plans(stream), len(data["products"]), progress)
    except BackgroundFailed:
        stream.close()
        return None, None
    except CostingError as e:  # every plan arrived: the one-process path would find these same problems
        stream.close()
        raise CloseRefused(list(e.issues)) from None
    except BaseException:
        stream.close()
        raise
    return result, _StreamedInputs(stream, data)


_PLANS_PER_MESSAGE = 50


def _plans_then_inputs(data: dict, header, q: Decimal, prior: PriorState | None):
    """In the child: the products' plans, some at a time ("P"), the end of them ("Z"), then the
    inputs' canonical JSON ("I").  A problem in any product ends the child early."""
    chunk = []
    for plan in product_plans(data["products"], header, prior, q):
        chunk.append(encode_plan(plan))
        if len(chunk) == _PLANS_PER_MESSAGE:
            yield "P" + _json_dumps(chunk)
            chunk = []
    if chunk:
        yield "P" + _json_dumps(chunk)
    yield "Z"
    yield "I" + canonical_inputs_json(data)


def _received_plans(stream: Stream):
    decode = PlanDecoder()
    while True:
        message = stream.read()
        if message is None or message[0] not in "PZ":
            raise BackgroundFailed("unexpected message from the child process")
        if message[0] == "Z":
            return
        for encoded in json.loads(message[1:]):
            yield decode(encoded)


class _StreamedInputs:
    """The inputs' canonical JSON, the stream's last message (computed here if it never comes)."""

    def __init__(self, stream: Stream, data: Any):
        self._stream, self._data = stream, data

    def result(self) -> str:
        try:
            message = self._stream.read()
        except BackgroundFailed:
            message = None
        self._stream.close()
        if message is not None and message[0] == "I":
            return message[1:]
        return canonical_inputs_json(self._data)

    def cancel(self) -> None:
        self._stream.close()


def _stored_reports(result: CloseResult) -> bytes:
    return StoredClose.encode(result, state=False).to_bytes()


def _record(data: Any, ledger: Ledger, user: str | None, inputs_json, storage: Background,
            opening_from: int | None, result: CloseResult) -> CloseOutcome:
    plan = result.plan
    close_no = 1 + ledger.close_count(plan.spec.period)
    book = build_journals(result, id_prefix=journal_id_prefix(close_no))
    rollforward = build_rollforward(result, book)
    if not rollforward.ties_ok:  # a defect, never a user mistake: refuse to record it, saying where
        issues = [Issue("ROLLFORWARD_DOES_NOT_TIE", "", f"{t.name}: roll-forward {t.rollforward}, "
                        f"journals {t.journals}, difference {t.difference}") for t in rollforward.ties if not t.ok]
        issues += [Issue("ROLLFORWARD_DOES_NOT_TIE", "", f"{r.product} / {r.stage} / {r.element}: opening + movements "
                         f"= {r.computed_closing}, closing WIP {r.closing}, difference {r.computed_closing - r.closing}")
                   for r in rollforward.rows if r.computed_closing != r.closing]
        raise CloseRefused(issues)
    spec = plan.spec
    parameters = {"currency": spec.currency, "locale": spec.locale, "method": spec.method,
                  "finished_goods_method": spec.finished_goods_method, "rounding": spec.rounding,
                  "overhead_disposition": spec.overhead_disposition, "materiality": format(spec.materiality, "f"),
                  # Where the closing position sits, for the next close's check that it stays there.
                  "wip_accounts": {stage: account.code for stage, account in spec.accounts.wip.items()},
                  "finished_goods_account": spec.accounts.finished_goods.code}
    # The closing state's half of what is stored is encoded here meanwhile (it balances the two).
    stored = StoredClose.encode(result, reports=False).merge(StoredClose.from_bytes(storage.result()))
    try:
        event = ledger.record_close(
            period=spec.period, opening_from=opening_from, inputs_json=inputs_json.result(), parameters=parameters,
            reports_json=stored.reports, encoded_state=(stored.state, stored.wip_rows, stored.layer_rows),
            rollforward_json=stored.rollforward_json(rollforward), journals=book, engine_version=__version__,
            user=user or current_user(), close_no=close_no)
    except LedgerError as e:
        raise CloseRefused([Issue(e.code, "period", e.message)]) from None
    return CloseOutcome(event, result, book, rollforward)


def re_close_notice(ledger: Ledger, period: str, close_no: int = 1) -> tuple[str, ...]:
    """What close #``close_no`` of ``period`` says of its import and of later months (nothing for a
    first close that leaves no month resting on a superseded close), one line each: a re-close, the
    export a general ledger holding an earlier close imports instead of this close's own; the months resting on its superseded close — the first opened from it, with the commands; each
    after that opened from its own month before, and needs its re-close only if that month's moves
    its closing position (that re-close says so then) — and the months flagged through another
    month's superseded close, not this close's to lead but not to be lost.  The command line and
    the Close month button say the same."""
    lines = []
    if close_no > 1:
        # A re-close: a general ledger that took an earlier close of the month holds it still.  Its
        # own export on top would post the month twice; the export after that close nets to this one.
        earlier = f"#{close_no - 1}" if close_no == 2 else f"#1 to #{close_no - 1}"
        closes = [book for event, book in ledger.journal_books(period) if event.kind == "close"]
        if len(closes) >= 2 and net_by_account(closes[-1]) == net_by_account(closes[-2]):
            previous = close_no - 1
            if previous == 2:
                older = f"; one that took close #1 imports {ledger.after_close_export_command(period, 1)}"
            elif previous > 2:
                older = (f"; one that took an earlier close (#1 to #{previous - 1}) imports "
                         f"{ledger.after_close_export_command(period, previous - 1)}, with --after-close N for the "
                         "close #N it took")
            else:
                older = ""
            lines.append(f"This close posts to each account what {period}'s close #{previous} posted: a general "
                         f"ledger that took close #{previous} needs nothing more (the export after it nets to nothing; "
                         f"this close's own export on top would post the month twice){older}. One that took close "
                         f"#{previous}'s reversal too (exported while the month was reopened) imports this close's "
                         "own export")
        else:
            lines.append(f"This close replaces {period}'s close {earlier}: if the general ledger took one of them, "
                         f"import {ledger.after_close_export_command(period, close_no - 1)} — the reversals and this "
                         f"close; with --after-close N for the close #N it took — not this close's own export, which "
                         "would post the month twice. If it took that close's reversal too (exported while the month "
                         "was reopened), import this close's own export alone: the reversal again would post twice")
    if close_no > 1:
        lines += _opening_restated(ledger, period)
    lead: list[str] = []
    waiting: list[str] = []
    for later, (_, root) in sorted(ledger.stale_sources().items()):
        if later > period:
            (lead if root == period else waiting).append(later)
    if lead:
        lines.append(f"Needs re-close: {lead[0]} opened from {period}'s earlier close, and this close moved the "
                     f"closing position it opened from: {ledger.re_close_commands(lead[0])}")
    if len(lead) > 1:
        lines.append("Then, in order, each only if the re-close before it says so (it moved the closing position "
                     f"the month opened from): {', '.join(lead[1:])}")
    if waiting:
        lines.append(f"Also flagged, waiting on another month's re-close: {', '.join(waiting)} "
                     f"(`wip history{ledger.ledger_option}` says which, in order)")
    return tuple(lines)


def _openings_by_account(closed) -> dict[str, Decimal] | None:
    """A close's opening WIP and finished goods by account (its roll-forward's openings, each
    stage to the WIP account its close mapped it to); None for a close recorded before its
    parameters named the accounts."""
    wip_accounts = closed.parameters.get("wip_accounts")
    fg_account = closed.parameters.get("finished_goods_account")
    if not isinstance(wip_accounts, dict) or fg_account is None:
        return None
    rf = closed.rollforward_model
    by_account: dict[str, Decimal] = {}
    for row in rf.rows:
        code = wip_accounts.get(row.stage, "?")
        by_account[code] = by_account.get(code, Decimal(0)) + row.opening
    for row in rf.finished_goods:
        by_account[fg_account] = by_account.get(fg_account, Decimal(0)) + row.opening
    return by_account


def _opening_restated(ledger: Ledger, period: str) -> list[str]:
    """A re-close of the ledger's first month opens from its file, which may restate the opening the
    replaced close took.  No journal posts an opening (the general ledger holds it already), so the
    restatement reaches the GL only if the accountant records it: said, by account, with both
    figures.  Later months open from the ledger: their openings move only with the month before's
    re-close, whose journals post it."""
    closes = ledger.closes(period)
    if len(closes) < 2 or closes[-1].event.opening_from is not None:
        return []
    now, before = _openings_by_account(closes[-1]), _openings_by_account(closes[-2])
    if now is None or before is None:
        return []
    zero = next(iter(now.values()), Decimal(0)) * 0  # with the currency's places: 0.00, not 0
    # An account whose GL balance this re-close was given and tied to (it is refused otherwise)
    # holds the restated opening already: nothing to record there.
    given = closes[-1].inputs.get("general_ledger") or {}
    tied = set((given.get("balances") or {}) if isinstance(given, dict) else ())
    moved = [(code, before.get(code, zero), now.get(code, zero)) for code in sorted(set(now) | set(before))
             if now.get(code, zero) != before.get(code, zero) and code not in tied]
    if not moved:
        return []
    previous = closes[-2].event.close_no
    told = "; ".join(f"{code} {was:,f} → {is_:,f} ({is_ - was:+,f})" for code, was, is_ in moved)
    return [f"Opening restated: this close opens {period} with other balances than close #{previous} did — {told}. "
            "The journals post the month's movements, never an opening: record the restatement in the general "
            "ledger (an opening-balance entry), or its WIP and finished goods will not tie to this ledger"]


def recorded_outcome(data: Any, ledger: Ledger, period: str) -> CloseOutcome | None:
    """``recorded_outcome_or_why`` without the why."""
    return recorded_outcome_or_why(data, ledger, period)[0]


def recorded_outcome_or_why(data: Any, ledger: Ledger, period: str,
                            progress: Callable[[int, int], None] | None = None) -> tuple[CloseOutcome | None, str]:
    """The outcome of ``period``'s recorded close when ``data`` are exactly the inputs it recorded:
    the close computed again in memory from them and the opening it used, and checked against the
    record (same journals, line by line).  Nothing is written.  None when the period is not closed,
    was closed from other inputs, or this engine no longer gives the recorded journals — with why,
    in words ("" with an outcome).

    What writing a close workbook's result sheets again needs, when they could not be written the
    first time (the workbook was open in Excel): the ledger already holds the close."""
    closed = ledger.current_close(period)
    if closed is None:
        return None, f"{period} is not closed"
    if closed.event.inputs_sha256 != inputs_sha256(data):
        return None, f"{period} was closed from other inputs"
    try:
        prior = ledger.opening_of(closed)
    except LedgerError as e:
        return None, f"its opening cannot be read: {e.message}"
    # The same inputs (their hash does not see the order of keys), each stage's elements in the order
    # the close was computed in: recorded inputs are canonical JSON, sorted, and the order decides
    # how reports list the elements and, under process accounts, which element scrap reduces.
    plan, issues = resolve_close(in_element_order(data, closed.element_order), prior, recorded=True)
    if issues:
        return None, f"this engine refuses the inputs it recorded: {_first_of(issues)}"
    try:
        result = compute_close(plan, progress)
    except CostingError as e:
        return None, f"this engine cannot cost the inputs it recorded: {_first_of(e.issues)}"
    book = build_journals(result, id_prefix=journal_id_prefix(closed.event.close_no))
    # Compared as values: the recorded inputs are canonical JSON (sorted keys), so a chart read back
    # from them lists its accounts in another order than the file did.
    if book != closed.journals:
        return None, "this engine gives other journals from the inputs it recorded"
    # Journals post by stage; closing WIP, next month's opening, is kept by element, where two
    # elements can trade a cent with the stage's total unchanged.
    moved = closing_wip_moved(result, closed.state)
    if moved:
        return None, f"this engine gives other closing WIP by element from the inputs it recorded ({moved})"
    return CloseOutcome(closed.event, result, book, build_rollforward(result, book)), ""


def closing_wip_moved(result, state: PriorState) -> str:
    """The first product, stage and element whose closing WIP cost differs from what was recorded
    (as 'product / stage / element: recorded X, now Y'), or ''."""
    for product in result.products:
        for stage, wip in product.closing_wip.items():
            recorded = state.wip.get((product.name, stage))
            before = dict(recorded.cost) if recorded is not None else {}
            for element in sorted(set(wip.cost) | set(before)):
                now, then = wip.cost.get(element, 0), before.get(element, 0)
                if now != then:
                    return f"{product.name} / {stage} / {element}: recorded {then}, now {now}"
    return ""


def _first_of(issues: "list[Issue] | tuple[Issue, ...]") -> str:
    """The first problem, on one line, and how many more: a message's part, not a list."""
    first = issues[0]
    more = f" (and {len(issues) - 1} more)" if len(issues) > 1 else ""
    return f"{first.path + ': ' if first.path else ''}{first.message} [{first.code}]{more}"


def in_element_order(data: Any, order: dict[tuple[str, str], tuple[str, ...]]) -> Any:
    """``data`` (a close file's mapping) with each stage's ``elements`` in ``order``'s order for its
    (product, stage) — ``ClosedPeriod.element_order``, the order a recorded close declared them in —
    elements it does not name after them, as they were.  A copy where anything moves; ``data`` is
    returned as it is when nothing would (or it is not shaped like a close file)."""
    products = data.get("products") if isinstance(data, dict) else None
    if not order or not isinstance(products, list):
        return data
    copied: list | None = None
    for i, product in enumerate(products):
        stages = product.get("stages") if isinstance(product, dict) else None
        if not isinstance(stages, list):
            continue
        new_stages: list | None = None
        for j, stage in enumerate(stages):
            elements = stage.get("elements") if isinstance(stage, dict) else None
            wanted = order.get((product.get("name"), stage.get("name"))) if isinstance(elements, dict) else None
            if not wanted:
                continue
            names = [e for e in wanted if e in elements] + [e for e in elements if e not in wanted]
            if names == list(elements):
                continue
            if new_stages is None:
                new_stages = list(stages)
            new_stages[j] = {**stage, "elements": {e: elements[e] for e in names}}
        if new_stages is not None:
            if copied is None:
                copied = list(products)
            copied[i] = {**product, "stages": new_stages}
    return data if copied is None else {**data, "products": copied}


def reason_problem(reason: str) -> Issue | None:
    """Why a reopen's reason cannot be kept as written (INVALID_TEXT, located at ``--reason``), or
    None.  Line breaks (LF; a Windows CR LF counts as one) and tabs are text (a reason may take
    several lines; what prints it on one line flattens them); control characters (terminal
    escapes), line and paragraph separators other than a line break, and the characters that only
    hide or reorder text (as names refuse them: a right-to-left override shows the reason in another
    order than it is kept) are not.  An empty reason is the ledger's REASON_REQUIRED."""
    kept = "type it as plain text (it is kept in the ledger as written)"
    try:
        reason.encode("utf-8")
    except UnicodeEncodeError:  # bytes the terminal could not decode, kept by Python as surrogates
        return Issue("INVALID_TEXT", "--reason", "the reason holds bytes that are not UTF-8 text; type it again "
                                                 "(the reason is kept in the ledger as written)")
    if re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", reason) or re.search(r"\r(?!\n)", reason):
        return Issue("INVALID_TEXT", "--reason", f"the reason holds control characters (terminal escapes?); {kept}")
    if re.search("[\u2028\u2029]", reason):
        return Issue("INVALID_TEXT", "--reason", "the reason holds a Unicode line or paragraph separator (U+2028, "
                                                 f"U+2029); break lines with an ordinary line break, or {kept}")
    hiding = invisible_problem(reason)
    if hiding is not None:
        return Issue("INVALID_TEXT", "--reason", f"the reason {hiding}; {kept}")
    words = " ".join(re.findall(r"\w+", reason)).upper()  # quotes of any kind, dots and spaces aside
    if reason.strip() and (not words or words in ("WHO AND WHY", "TEXT", "REASON")):
        # The placeholder of a suggested command (`--reason "WHO AND WHY"`), pasted as it was, or
        # only punctuation: the audit trail would keep no reason.
        return Issue("INVALID_TEXT", "--reason", f"the reason {reason.strip()!r} says nothing of the reopen; say who "
                                                 "asked for it and why (it is kept in the ledger and is the narration of "
                                                 "every reversing journal)")
    if len(reason) > REASON_MAX_CHARACTERS:
        return Issue("INVALID_TEXT", "--reason", f"the reason is {len(reason):,} characters long, more than "
                                                 f"{REASON_MAX_CHARACTERS:,}: it is the narration of every reversing "
                                                 "journal, and the exports carry it; say who asked and why in short, "
                                                 "and keep the rest with the month's papers")
    return None


def reopen_period(ledger: Ledger, period: str, reason: str, user: str | None = None) -> Event:
    """Reopen a closed period: reversing journals posted, who, when and why recorded.  A reason that
    cannot be kept as written raises ``CloseRefused`` (nothing written), whoever calls: the command
    line and any other caller alike."""
    problem = reason_problem(reason)
    if problem is not None:
        raise CloseRefused([problem])
    # A Windows line break (CR LF, as pasted there) is a line break: kept as one, like any other (LF).
    reason = reason.replace("\r\n", "\n")

    def reversals(book: JournalBook, close_no: int) -> JournalBook:
        return reversal_book(book, "REV", period_end(period), reason)

    return ledger.record_reopen(period, reason=reason, user=user or current_user(), reversals_for=reversals,
                                engine_version=__version__)
