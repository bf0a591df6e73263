"""The ``wip`` command line: an adapter over the public ``costing`` API.

User mistakes (bad input files) print located issues and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import re
import signal
import sqlite3
import sys
from pathlib import Path
from typing import Sequence

from . import CostingError, Issue, __version__, cost_case, resolve_case
from ._cli_common import (DEFAULT_LEDGER, EXIT_INPUT, close_number_argument, ledger_argument, open_ledger,
                          period_argument, print_issues, progress_bar, end_progress_bar)
from ._cli_common import ledger_option as _ledger_option
from ._journal import REASON_MAX_CHARACTERS
from ._numbers import with_separator_hints
from ._report import report_json
from ._spec import CaseSpec
from ._text import locale_argument, normal_in_whole_units, normal_rates, render_case_report

__all__ = ["main"]


def _cmd_cost(args: argparse.Namespace) -> int:
    reports, issues = [], []
    from ._casefile import read_data_file

    for path in args.files:
        # Read once: the resolved case keeps the units normal spoilage came to, the file its rates.
        data, file_issues = read_data_file(path)
        if not file_issues and isinstance(data, dict) and "products" in data and "stages" not in data:
            # A close file given to `wip cost`: one problem that says so, not a list of keys it lacks.
            issues.append(Issue("UNKNOWN_KEY", "products", "this looks like a close file (products, accounts), not a "
                                f"case file: close it with `wip close {path} --period YYYY-MM`", path))
            continue
        if not file_issues:
            case, file_issues = resolve_case(data)
            file_issues = with_separator_hints(file_issues)  # '9.450,00' told the number to write, as close files are
        if file_issues:
            issues.extend(i.with_source(path) for i in file_issues)
            continue
        try:
            stages = data.get("stages") if isinstance(data, dict) else None
            reports.append((path, case, cost_case(case), normal_rates(stages) if isinstance(stages, list) else None,
                            normal_in_whole_units(stages) if isinstance(stages, list) else None))
        except CostingError as e:
            issues.extend(i if i.source else i.with_source(path) for i in e.issues)
    if issues:
        print_issues(issues)
        return EXIT_INPUT
    if args.json:
        json.dump([report_json(r) for _, _, r, _, _ in reports], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        from ._engine import equivalent_unit_parts

        # Step 2 in parts, so each equivalent-unit figure can be traced to the case's units.
        sys.stdout.write("\n".join(
            render_case_report(r, locale=args.locale, title=f"== {p} ==",
                               parts=[equivalent_unit_parts(stage, sr, r.method) for stage, sr in zip(case.stages, r.stages)],
                               normal_rates=rates, passing=_passing(case.stages), whole_units=whole,
                               rounding=case.rounding)
            for p, case, r, rates, whole in reports))
    return 0


def _passing(stages) -> list:
    """Each resolved stage's good units passing inspection, as normal spoilage at a rate is taken of
    them: the report's note on a rate then tells rate × these units from a cap at the units spoiled."""
    return [stage.completed_passing + stage.ending_passing for stage in stages]


def _cmd_schema(args: argparse.Namespace) -> int:
    if args.close:
        from .close import CloseSpec

        schema = CloseSpec.model_json_schema()
        schema["title"] = "WIP month-end close file"
    else:
        schema = CaseSpec.model_json_schema()
        schema["title"] = "WIP costing case file"
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    json.dump(schema, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


# ---- month-end close ----------------------------------------------------------------------


def _ledger_path(args: argparse.Namespace, beside: str | None = None) -> Path:
    if args.ledger:
        return Path(args.ledger)
    if beside is not None:
        return Path(beside).resolve().parent / DEFAULT_LEDGER
    return Path(DEFAULT_LEDGER)


def _close_ledger_path(args: argparse.Namespace) -> Path:
    """The ledger `wip close FILE` records in: --ledger, else BOOK.wip.db beside a workbook BOOK.xlsx,
    else the default ledger beside FILE."""
    if args.file.lower().endswith((".xlsx", ".xlsm")) and not args.ledger:
        return Path(args.file).with_suffix(".wip.db")
    return _ledger_path(args, beside=args.file)


def _command_ledger_path(args: argparse.Namespace) -> Path:
    """The ledger the command that ran was using (what a message about it names)."""
    if args.run is _cmd_close:
        return _close_ledger_path(args)
    return _ledger_path(args) if hasattr(args, "ledger") else Path(DEFAULT_LEDGER)


def _open_ledger(path: Path, create: bool = False, writes: bool = False):
    return open_ledger(path, create=create, writes=writes)[0]


def _raise(error: Exception):
    raise error


def _cmd_close(args: argparse.Namespace) -> int:
    from ._casefile import read_data_file
    from .close._render import render_close_summary
    from .close_service import (CloseRefused, MonthBeforeUnknown, close_period, re_close_notice,
                                read_month_before)
    from .ledger import LedgerError

    workbook = args.file.lower().endswith((".xlsx", ".xlsm"))
    ledger_path = _close_ledger_path(args)
    if workbook:  # the close workbook path: same close, inputs read from its tables
        from .workbook import read_close_workbook, read_workbook_input

        try:  # a workbook with problems in its tables is checked against the month before too, and
            # may use the names the ledger's closes were recorded with, as the close does
            data, issues = read_close_workbook(args.file, month_before=lambda p: read_month_before(ledger_path, p))
        except MonthBeforeUnknown as e:
            # The month before cannot be read now (the month is locked, the month before reopened):
            # the tables' own problems only, still with the names the ledger vouches for — else a
            # recorded name is refused at its cell and the close never says why it cannot run (or,
            # for a locked month, never rewrites the result sheets from the recorded close).
            unknown = e  # bound outside the except clause's name, which Python unbinds when it ends
            found = read_workbook_input(args.file, lambda period: unknown.vouched)
            found.against_month_before(lambda period: _raise(unknown))  # the ledger's refusal decides
            data, issues = found.data, list(found.issues)
    else:
        data, issues = read_data_file(args.file)
    if issues:
        print_issues([i if i.source else i.with_source(args.file) for i in issues], writes=True)
        return EXIT_INPUT
    # A ledger this close creates (or an empty file it fills with the ledger's tables) is taken
    # away again when nothing is recorded in it: a refused close leaves the file as it found it.
    was = "absent" if not ledger_path.exists() else "empty" if ledger_path.is_file() and not \
        ledger_path.stat().st_size else "ledger"
    ledger = _open_ledger(ledger_path, create=True, writes=True)
    if ledger is None:
        return EXIT_INPUT

    def leave_as_found() -> None:
        # Not while another close has the file open (it may be writing into it): then it stays.
        if was != "ledger" and not ledger.events():
            ledger.remove_if_unused(was)

    reused = False
    with ledger:
        try:
            ledger.check_writable()  # before the close is computed, not after (a large one takes seconds)
        except LedgerError as e:
            leave_as_found()
            print_issues([Issue(e.code, "--ledger", e.message)], writes=True)
            return EXIT_INPUT
        try:
            outcome = close_period(data, ledger, period=args.period, progress=progress_bar)
        except CloseRefused as e:
            leave_as_found()
            issues = e.issues
            again = None
            if workbook and [i.code for i in issues] == ["PERIOD_LOCKED"]:
                # Closed before from these very inputs: write the result sheets from that close
                # (they may have failed to write, e.g. the workbook was open); nothing is posted.
                from .close_service import recorded_outcome

                again = recorded_outcome(data, ledger, args.period)
            if again is None:
                notes = tuple(e.notes)
                if "PERIOD_LOCKED" in [i.code for i in issues]:  # the month is there: whether it still holds
                    why = ledger.needs_re_close(args.period)
                    notes += (f"{why} [NEEDS_RE_CLOSE]",) if why else ()
                return _refused(args, workbook, issues, notes)
            outcome, reused = again, True
        except BaseException:  # a defect (the traceback is for us), a write that failed (a full drive), or
            # Ctrl-C: the file as it was, still
            try:
                leave_as_found()
            except Exception:  # the ledger itself unreadable now: what failed first is what is said
                pass
            raise
        # Later months this close left resting on a superseded opening (a re-close that moved the
        # closing position): said here, where it becomes known, with what to run.
        notice, later_unknown = (), None
        # Sheets written from a recorded close whose opening was superseded since (a month before it
        # closed again): said, as every other reader of the month says it.
        stale = ledger.needs_re_close(outcome.event.period) if reused else None
        if not reused:
            try:  # the close is recorded: a ledger problem found now is said as such, not as a refusal
                notice = re_close_notice(ledger, outcome.event.period, outcome.event.close_no)
            except LedgerError as e:
                later_unknown = e
    try:
        sheets_status = 0
        if workbook:  # results sheets are replaced; input tables are never touched
            from .workbook import write_close_results
            from .workbook._results import WorkbookChanged

            try:
                write_close_results(args.file, outcome)
            except (WorkbookChanged, OSError) as e:
                # The close is recorded (the ledger is the record); only the sheets are missing.
                print(f"warning: {outcome.event.period} was closed and recorded in {ledger_path}, but the result "
                      f"sheets were not written to {args.file}: {e} [RESULTS_NOT_WRITTEN] — once the workbook can be "
                      "written (closed in Excel), run the same command again: it writes them from the recorded close "
                      "and posts nothing", file=sys.stderr)
                sheets_status = 1
        locale = args.locale or outcome.result.plan.spec.locale
        sys.stdout.write(render_close_summary(outcome.result, outcome.journals, outcome.rollforward, locale))
        ids = [j.id for j in outcome.journals.journals]
        if reused:
            print(f"  {outcome.event.period} was already closed from these inputs (close #{outcome.event.close_no} in "
                  f"{ledger_path}): result sheets written from it; nothing posted")
            if stale is not None:
                print(f"warning: {stale} [NEEDS_RE_CLOSE]", file=sys.stderr)
        else:
            recorded = f"  Recorded in {ledger_path} as close #{outcome.event.close_no} of {outcome.event.period}"
            print(f"{recorded} (journals {ids[0]} … {ids[-1]})" if ids else f"{recorded} (no journals: nothing moved)")
            print(f"  Ledger head: {outcome.event.seq}:{outcome.event.row_hash} (keep it with the month's papers; "
                  f"`wip verify{_ledger_option(ledger_path)} --head {_short_head(outcome.event)}` checks against it)")
            if later_unknown is not None:
                print(f"warning: {outcome.event.period} was closed and recorded, but the later months resting on it "
                      f"could not be checked: {later_unknown.message} [{later_unknown.code}]", file=sys.stderr)
            for line in notice:
                print(f"  {line}")
        if workbook and not sheets_status:
            from .workbook import RESULT_SHEETS

            print(f"  Result sheets written into {args.file}: {', '.join(s.name for s in RESULT_SHEETS)}")
        return sheets_status
    except KeyboardInterrupt:
        # Ctrl-C once the close is recorded (writing the sheets, printing): said, not a traceback.
        end_progress_bar()
        if not reused:
            print(f"interrupted: {outcome.event.period} was closed and recorded in {ledger_path} as close "
                  f"#{outcome.event.close_no} before Ctrl-C (Ledger head: {outcome.event.seq}:{outcome.event.row_hash})"
                  + ("; the result sheets may not be written — run the same command again: it writes them from "
                     "the recorded close and posts nothing" if workbook else ""), file=sys.stderr)
        return EXIT_INTERRUPTED


def _refused(args: argparse.Namespace, workbook: bool, issues: list[Issue], notes: Sequence[str] = ()) -> int:
    if workbook:  # the close's own problems, moved to the cells they were typed in
        from .workbook import locate_issues

        issues = locate_issues(args.file, issues)
    print_issues([i if i.source else i.with_source(args.file) for i in issues], writes=True)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    return EXIT_INPUT


def _cmd_reopen(args: argparse.Namespace) -> int:
    from .close_service import CloseRefused, reason_problem, reopen_period
    from .ledger import LedgerError

    # Checked before the ledger is opened as well as by reopen_period: a reason to type again is
    # said first, whatever the ledger's state.
    problem = reason_problem(args.reason)
    if problem is not None:
        print_issues([problem], writes=True)
        return EXIT_INPUT
    ledger_path = _ledger_path(args)
    ledger = _open_ledger(ledger_path, writes=True)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        try:
            ledger.check_writable()
            event = reopen_period(ledger, args.period, args.reason)
        except LedgerError as e:
            print_issues([Issue(e.code, "", e.message)], writes=True)
            return EXIT_INPUT
        except CloseRefused as e:
            print_issues(e.issues, writes=True)
            return EXIT_INPUT
        later = [p for p in ledger.periods() if p > args.period and ledger.status(p) == "closed"]
        export = ledger.after_close_export_command(args.period, event.close_no)
    print(f"{args.period} reopened by {event.recorded_by} at {event.recorded_at}: {' '.join(args.reason.split())}")
    print(f"  Reversing journals posted (REV-…); close #{event.close_no} stays in the history.")
    # The accountant's next question: how the general ledger, which took close #N, follows.
    print(f"  General ledger holding close #{event.close_no}: once {args.period} is closed again, {export} gives "
          f"the reversal and the new close in one file; run now, it gives the reversal alone (for a general ledger "
          f"that must not hold the month while it is reopened), and the re-close then says what to import")
    if later:
        # Whether a later month needs its re-close is known only when this month is closed again
        # (a re-close that moves no closing figure leaves it as it is): that close says so, with
        # the commands; the later months stay closed, so locked, meanwhile.
        print(f"  Later months closed on this close: {', '.join(later)} — if closing {args.period} again moves its "
              f"closing WIP or finished goods, that close names the months to reopen and close again")
    # A reopen is an event of the hash chain like a close: the head to keep moves with it.
    print(f"  Ledger head: {event.seq}:{event.row_hash} (keep it with the month's papers; "
          f"`wip verify{_ledger_option(ledger_path)} --head {_short_head(event)}` checks against it)")
    return 0


def _short_head(event) -> str:
    """The head as a suggested `wip verify --head` takes it: seq:hash, the hash cut to the 8
    characters ``head_argument`` accepts (the full one is printed beside it, to keep)."""
    return f"{event.seq}:{event.row_hash[:8]}"


def _warn_if_stale(ledger, period: str) -> None:
    """A month whose opening came from a close since reopened or replaced is shown (and exported)
    as recorded, but not without saying that its figures rest on a superseded opening."""
    why = ledger.needs_re_close(period)
    if why is not None:
        print(f"warning: {why} [NEEDS_RE_CLOSE]", file=sys.stderr)


def _current(args: argparse.Namespace):
    ledger = _open_ledger(_ledger_path(args))
    if ledger is None:
        return None, None
    closed = ledger.current_close(args.period)
    if closed is None:
        print_issues([Issue("NOT_CLOSED", "", f"{ledger.state_said(args.period)}; "
                                               "there is no current close to show")])
        ledger.close()
        return None, None
    _warn_if_stale(ledger, args.period)
    return ledger, closed


def _posted_after(args: argparse.Namespace):
    """(the ledger's locale for the period, one book of every journal posted for the period after
    close #N: its reversal, later closes and their reversals — what to import into a system that
    already holds close #N —, and the period's whole posting history), or Nones after printing why
    not.  The book is made by ``posted_after``, as the export's guard reads the folder."""
    from ._journal import NotPostedAfter, PostedBook, posted_after

    ledger = _open_ledger(_ledger_path(args), writes=args.run is _cmd_export)
    if ledger is None:
        return None, None, None
    with ledger:
        # journal_books refuses (LEDGER_CHANGED) a row changed outside the engine, before anything is shown
        history = tuple(PostedBook("close" if event.kind == "close" else "reversal", event.close_no, book)
                        for event, book in ledger.journal_books(args.period))
        closed = ledger.current_close(args.period) or (ledger.closes(args.period) or [None])[-1]
        try:
            book = posted_after(history, args.after_close)
        except NotPostedAfter as e:
            print_issues([Issue(e.code, "--after-close", e.message if history else
                                 f"{args.period} has no close #{args.after_close}: it was never closed")],
                          writes=args.run is _cmd_export)
            return None, None, None
        _warn_if_stale(ledger, args.period)  # the current close posted after close #N rests on it too
    return closed.parameters.get("locale", "en_US"), book, history


def _journals_to_show(args: argparse.Namespace):
    """(locale, book, the period's posting history — for an export, which reads the folder with it),
    the current close's journals, or with --after-close N those posted since close #N; Nones after
    printing why not."""
    from ._journal import PostedBook

    if args.after_close is not None:
        return _posted_after(args)
    ledger = _open_ledger(_ledger_path(args), writes=args.run is _cmd_export)
    if ledger is None:
        return None, None, None
    with ledger:
        closed = ledger.current_close(args.period)
        if closed is None:
            print_issues([Issue("NOT_CLOSED", "", f"{ledger.state_said(args.period)}; "
                                                   "there is no current close to show")],
                          writes=args.run is _cmd_export)
            return None, None, None
        history = tuple(PostedBook("close" if event.kind == "close" else "reversal", event.close_no, book)
                        for event, book in ledger.journal_books(args.period)) if args.run is _cmd_export else ()
        _warn_if_stale(ledger, args.period)
        return closed.parameters.get("locale", "en_US"), closed.journals, history


def head_argument(text: str) -> str:
    """``wip verify --head``: seq:hash as printed (the hash may be shortened to 8 characters)."""
    seq, _, digest = text.strip().rpartition(":")
    if not (re.fullmatch("[0-9]+", seq) and len(digest) >= 8 and all(c in "0123456789abcdef" for c in digest.lower())):
        raise argparse.ArgumentTypeError(f"expected seq:hash as printed by wip close or wip verify (e.g. 2:3f9a61c0…, "
                                         f"at least 8 hex digits of the hash), found {text!r}")
    return text.strip()


def after_close_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--after-close", type=close_number_argument, metavar="N",
                   help="instead of the current close: every journal posted after close #N (its reversal, later "
                        "closes and reversals), for a system that already imported close #N")


def _account_name(book, code: str) -> str:
    """The chart's name of an account code ("" for a code the book's chart lacks: shown, not refused)."""
    account = book.accounts.get(code)
    return account.name if account is not None else ""


def _cmd_journal(args: argparse.Namespace) -> int:
    from .close._render import render_journals_text

    locale, book, _ = _journals_to_show(args)
    if book is None:
        return EXIT_INPUT
    if args.by_account:
        from decimal import Decimal

        from ._journal import postings_by_account
        from .close._render import contra_accounts, render_postings_by_account

        # A trial balance needs each account's name and class: a line on an account the book's
        # chart lacks can only be a row rewritten outside the engine (its hash recomputed).
        unknown = sorted({(j.id, line.account) for j in book.journals for line in j.lines
                          if line.account not in book.accounts})
        if unknown:
            print_issues([Issue("LEDGER_CHANGED", "--ledger", f"{jid} posts to account {code}, which the book's chart "
                                "of accounts does not hold: the ledger was changed outside the engine — run `wip "
                                "verify`") for jid, code in unknown])
            return EXIT_INPUT

        if args.json:
            totals = postings_by_account(book)
            # Overhead applied keeps its class ("expense"), as the imports carry it; `contra_to` says
            # which control account it is the contra of, as the text's "contra-expense" does.
            contra = contra_accounts(book)
            json.dump({"period": book.period, "currency": book.currency, "after_close": args.after_close,
                       "total_debit": str(sum((p.debit for p in totals), Decimal(0))),
                       "total_credit": str(sum((p.credit for p in totals), Decimal(0))),
                       "accounts": [{"account": p.account.code, "name": p.account.name, "type": p.account.type,
                                     "debit": str(p.debit), "credit": str(p.credit), "net": str(p.net),
                                     **({"contra_to": contra[p.account.code]} if p.account.code in contra else {})}
                                    for p in totals]}, sys.stdout, indent=2)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(render_postings_by_account(book, args.locale or locale))
        return 0
    if args.json:
        # Which books these are (as --by-account --json says), then the journals; each line also names
        # its account, for a reader without the chart.
        journals = []
        for j in book.journals:
            dumped = j.model_dump(mode="json")
            dumped["lines"] = [line | {"account_name": _account_name(book, line["account"])}
                               for line in dumped["lines"]]
            journals.append(dumped)
        payload = {"period": book.period, "company": book.company, "currency": book.currency,
                   "after_close": args.after_close, "journals": journals}
        json.dump(payload, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_journals_text(book, args.locale or locale))
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    """The production cost reports of the current close, product by product (the five steps):
    the close computed again from the inputs and opening it recorded, and checked against its
    journals (the ledger keeps the reports' figures, not every per-element detail the text shows)."""
    from .close_service import recorded_outcome_or_why

    ledger, closed = _current(args)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        outcome, why = recorded_outcome_or_why(closed.inputs, ledger, args.period, progress=progress_bar)
        locale = args.locale or closed.parameters.get("locale", "en_US")
    if outcome is None:
        print_issues([Issue("NOT_REPRODUCIBLE", "--period",
                             f"this engine ({__version__}) cannot compute the {args.period} close (engine "
                             f"{closed.event.engine_version}) again: {why}; `wip journal` and `wip rollforward` show "
                             "what was recorded, and to post this engine's figures reopen the month and close it "
                             "again (`wip reopen`, `wip close`)")])
        return EXIT_INPUT
    products = _products_named(args.product, outcome.result.products)
    if not products:
        print_issues([_unknown_product(args.product, [p.name for p in outcome.result.products], args.period)])
        return EXIT_INPUT
    from ._engine import ending_wip_parts, equivalent_unit_parts, transferred_out_parts

    # Step 2's equivalent units in parts, from the stages the close costed (each product's plan).
    plans = {plan.name: plan for plan in outcome.result.plan.products}
    rounding = outcome.result.plan.spec.rounding
    parts = [[equivalent_unit_parts(stage, sr, p.report.method)
              for stage, sr in zip(plans[p.name].case.stages, p.report.stages)] for p in products]
    if args.json:
        from .close._render import closing_after_costing

        layers = [[transferred_out_parts(sr, by_element, rounding) for sr, by_element in zip(p.report.stages, stage_parts)]
                  for p, stage_parts in zip(products, parts)]  # FIFO: Step 5's layers, by product and stage

        # The report as `wip cost --json` gives it, then how each element's equivalent units are made
        # up (Step 2), stage by stage: the parts the method has (FIFO or weighted average), and the total.
        json.dump([{"product": p.name, "report": report_json(p.report),
                    "equivalent_units_parts": {
                        sr.name: {e: part.model_dump(mode="json", exclude_none=True) for e, part in by_element.items()}
                        for sr, by_element in zip(p.report.stages, stage_parts) if by_element is not None},
                    # FIFO: Step 5's cost transferred out in the textbook's layers (as the text shows).
                    "transferred_out_parts": {
                        sr.name: {e: part.model_dump(mode="json") for e, part in by_element.items()}
                        for sr, by_element in zip(p.report.stages, stage_layers) if by_element is not None},
                    # FIFO on an idle line: ending WIP as beginning cost kept + this period's work.
                    "ending_wip_parts": {
                        sr.name: {e: {"beginning_wip": str(kept), "this_period": str(work), "total": str(kept + work)}
                                  for e, (kept, work) in held.items()}
                        for sr, held in ((sr, ending_wip_parts(sr, by_element))
                                         for sr, by_element in zip(p.report.stages, stage_layers))
                        if held is not None},
                    # What the close did to ending WIP after the costing: the closing WIP next month opens with.
                    "closing_after_costing": [{k: (str(v) if k != "stage" else v) for k, v in row.items()}
                                              for row in closing_after_costing(p)]}
                   for p, stage_parts, stage_layers in zip(products, parts, layers)], sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    from .close._render import closing_after_costing_text

    sys.stdout.write("\n".join(
        render_case_report(p.report, locale=locale, title=f"== {p.name} ({args.period}, close #{closed.event.close_no}) ==",
                           parts=stage_parts, normal_rates=_close_normal_rates(closed.inputs, p),
                           passing=_passing(plans[p.name].case.stages),
                           whole_units=_close_normal_rates(closed.inputs, p, read=normal_in_whole_units),
                           rounding=rounding)
        + closing_after_costing_text(p, p.report.currency, locale)
        for p, stage_parts in zip(products, parts)))
    return 0


def _close_normal_rates(inputs, product, read=normal_rates) -> list | None:
    """A closed product's normal spoilage rates as its close file gave them (or, with ``read``, another
    reading of its stages' spoilage), in its report's stage order."""
    written = next((p for p in inputs.get("products", []) if isinstance(p, dict) and p.get("name") == product.name), None) \
        if isinstance(inputs, dict) else None
    stages = written.get("stages") if written else None
    if not isinstance(stages, list):
        return None
    by_name = {s.get("name"): s for s in stages if isinstance(s, dict)}
    return read([by_name.get(sr.name, {}) for sr in product.report.stages])


def _products_named(name: str | None, products: Sequence) -> list:
    """The products a ``--product`` option names (all of them without one): matched as a close file
    matches product names, upper/lower case and spacing aside (``product_key``)."""
    if name is None:
        return list(products)
    from .close._resolve import product_key

    return [p for p in products if product_key(p.name) == product_key(name)]


def _unknown_product(name: str, names: Sequence[str], period: str) -> Issue:
    """UNKNOWN_PRODUCT for a ``--product`` that names no product of the close, with the product it is
    most likely a misspelling of (difflib, as for a misspelt stage), and the products there are."""
    import difflib

    from .close._resolve import product_key

    keys = {product_key(n): n for n in names}
    like = difflib.get_close_matches(product_key(name), list(keys), n=1, cutoff=0.75)
    return Issue("UNKNOWN_PRODUCT", "--product",
                 f"{name!r} is not a product of the {period} close"
                 + (f" (did you mean {keys[like[0]]!r}?)" if like else "")
                 + f"; products: {', '.join(names) or 'none'}")


def _cmd_rollforward(args: argparse.Namespace) -> int:
    """The roll-forward of the current close, from what the ledger recorded (so closes recorded by
    earlier versions read too): in cost by stage (and product, stage and element), by WIP account,
    in units (the reports' physical units against the closing state), and its ties."""
    from .close import RollForward
    from .close._render import render_rollforward
    from .close._general_ledger import balances_after, recorded_tie
    from .close._rollforward import (abnormal_gains_by_element, build_units, by_stage, cogs_as_posted, detail_rows,
                                     flows_of_reports, recorded_counts_and_accounts)

    ledger, closed = _current(args)
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        rf = _tied_to_journal_lines(RollForward.model_validate(closed.rollforward),
                                    ledger.net_posted(closed.event.seq))
        # The ledger's closing WIP must equal the roll-forward's closing, element by element.
        state = closed.state
        stored = {(w.product, w.stage, e): c for w in state.wip.values() for e, c in w.cost.items()}
        ledger_ties = all(stored.get((r.product, r.stage, r.element)) == r.closing for r in rf.rows) \
            and len(stored) == len(rf.rows)
        counts, accounts = recorded_counts_and_accounts(closed.inputs)
        flows = flows_of_reports(closed.reports)
        units = build_units(rf.period, flows, counts, state, rf.finished_goods)
        general_ledger = recorded_tie(closed.inputs, rf)  # the tie the close made, for the month's papers
        book = closed.journals
        # Process accounts: abnormal gains by element, parted out of the stored rows' spoilage.
        gains = abnormal_gains_by_element(rf, flows, closed.inputs) if args.detail else {}
    stages = by_stage(rf, accounts, flows)
    rows = detail_rows(rf, stages.final_stages, gains) if args.detail else None
    if args.json:
        # The stored roll-forward's fields, then what is derived from it.  A finished-goods row's cost
        # of the units shipped is stored as "cost_of_goods_sold" (old ledgers keep reading) but is not
        # COGS as posted (no overhead true-up): shown under its own name, with COGS as posted beside it.
        payload = rf.model_dump(mode="json")
        payload["finished_goods"] = [_shipped_named(row) for row in payload["finished_goods"]]
        cogs = cogs_as_posted(book, rf)
        payload |= {"cost_of_goods_sold_as_posted": str(cogs.total),
                    "cost_of_goods_sold_as_posted_parts": {
                        "cost_of_units_shipped": str(cogs.cost_of_units_shipped),
                        "overhead_written_off_to_cogs": str(cogs.overhead_written_off),
                        "overhead_prorated_to_cogs": str(cogs.overhead_prorated)}}
        payload |= {"by_stage": stages.model_dump(mode="json"), "units": units.model_dump(mode="json"),
                    "ledger_ties": ledger_ties,
                    "general_ledger": [
                        {"account": t.account, "name": t.name, "holds": t.holds,
                         "general_ledger": str(t.general_ledger), "wip_ledger": str(t.wip_ledger),
                         "difference": str(t.difference), "after_posting": str(after)}
                        for t, after in zip(general_ledger, balances_after(general_ledger, book))]}
        if rows is not None:  # --detail: the table by product, stage and element, as printed
            payload["detail"] = [r.model_dump(mode="json") for r in rows]
        json.dump(payload, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        event = closed.event
        company = closed.inputs.get("company") if isinstance(closed.inputs, dict) else None
        sys.stdout.write(render_rollforward(
            rf, args.locale or closed.parameters.get("locale", "en_US"), args.detail, stages, units, general_ledger,
            book, company=str(company or ""),
            close=f"close #{event.close_no} recorded {event.recorded_at} by {event.recorded_by}", element_rows=rows,
            process_account=isinstance(closed.inputs, dict) and closed.inputs.get("loss_convention") == "process_account"))
        print("  Closing WIP in the ledger equals the roll-forward: " + ("OK" if ledger_ties else "NO"))
    if not rf.ties_ok or not ledger_ties:
        # The close recorded its roll-forward only once it tied: a difference now is in the file.
        print(f"warning: this close tied when it was recorded; its journal lines or closing WIP in the ledger differ "
              f"from it now — the file may have been changed outside the engine: run `wip verify"
              f"{_ledger_option(_ledger_path(args))}` [LEDGER_CHANGED]", file=sys.stderr)
    return 0 if rf.ties_ok and stages.ties_ok and units.ties_ok and ledger_ties else 1


def _tied_to_journal_lines(rf, posted: dict):
    """``rf`` with its ties to the journals made again from the journal lines the ledger holds now
    (``posted``: account -> debits − credits), not as stored when the month was closed: a journal
    line changed in the file since shows as a difference (and the command exits 1)."""
    ties = []
    for tie in rf.ties:
        zero = tie.journals - tie.journals  # in the tie's own places
        journals = posted.get(tie.account, zero) + zero
        ties.append(tie.model_copy(update={"journals": journals, "difference": tie.rollforward - journals}))
    return rf.model_copy(update={"ties": tuple(ties)})


def _shipped_named(row: dict) -> dict:
    """A finished-goods row of ``wip rollforward --json``: the stored ``cost_of_goods_sold`` (the
    cost of the units shipped, before the overhead true-up) as ``cost_of_units_shipped``, in place."""
    return {("cost_of_units_shipped" if key == "cost_of_goods_sold" else key): value for key, value in row.items()}


# An export option (costing.exports.OPTIONS) -> its flag on `wip export`.
_EXPORT_OPTION_FLAGS = {"tax_rate": "--xero-tax-rate", "journal": "--intacct-journal",
                        "location_id": "--intacct-location-id", "dept_id": "--intacct-dept-id",
                        "max_lines": "--max-lines"}


def _lines_per_file(text: str) -> int:
    """``wip export --max-lines``: a whole number of journal lines, at least 1."""
    digits = text.strip()
    try:  # digits 0-9 only: "²" is a digit to str.isdigit and no number to int()
        number = int(digits) if digits.isascii() and digits.isdecimal() else 0
    except ValueError:  # pragma: no cover - ASCII decimal digits always make an int
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of journal lines per file, at least 1, found "
                                         f"{text!r}")
    return number


def _cmd_export(args: argparse.Namespace) -> int:
    from .exports import OPTIONS, ExportError, export_journals

    if not args.out.strip():  # Path("") is the working directory: never meant
        print_issues([Issue("CANNOT_WRITE", "--out", "is empty; give the folder to write the export into")], writes=True)
        return EXIT_INPUT

    # The format's own options, each from its flag; a flag of another format is refused before anything is read.
    given = {option: getattr(args, flag[2:].replace("-", "_")) for option, flag in _EXPORT_OPTION_FLAGS.items()}
    given = {option: value for option, value in given.items() if value is not None}
    wrong = [Issue("EXPORT_REFUSED", _EXPORT_OPTION_FLAGS[option],
                   f"applies to --format {' or '.join(f for f, taken in OPTIONS.items() if option in taken)} only, "
                   f"not {args.format}; leave it out")
             for option in given if option not in OPTIONS[args.format]]
    if wrong:
        print_issues(wrong, writes=True)
        return EXIT_INPUT

    _, book, history = _journals_to_show(args)
    if book is None:
        return EXIT_INPUT
    try:
        paths = export_journals(book, args.format, Path(args.out), after_close=args.after_close, history=history,
                                **given)
    except (ExportError, ValueError) as e:
        print_issues([Issue("EXPORT_REFUSED", _EXPORT_OPTION_FLAGS.get(getattr(e, "option", None) or "", ""),
                            str(e))], writes=True)
        return EXIT_INPUT
    except OSError as e:  # --out is a file, or a folder that cannot be made or written
        # Moved into place from a staging folder: what is in the way is the destination (filename2).
        in_the_way = getattr(e, "filename2", None) or e.filename
        if Path(args.out).is_file():  # "File exists" says the opposite of what is wrong
            said = f"cannot write the export into {args.out}: it is a file, not a folder; give a folder you can write to"
        elif in_the_way and Path(in_the_way).is_dir() and Path(in_the_way).parent == Path(args.out):
            said = (f"cannot write {in_the_way}: a folder of that name is in the way; remove or rename it, or give "
                    "another folder")
        else:
            where = f" ({in_the_way})" if in_the_way and str(in_the_way) != args.out else ""
            advice = ("free space on its drive, or give a folder on another" if e.errno in (errno.ENOSPC, errno.EDQUOT)
                      else "give a folder you can write to")
            said = f"cannot write the export into {args.out}: {e.strerror or e}{where}; {advice}"
        print_issues([Issue("CANNOT_WRITE", "--out", said)], writes=True)
        return EXIT_INPUT
    for path in paths:
        print(path)
    return 0


def _cmd_history(args: argparse.Namespace) -> int:
    """Every close and reopen, each row checked as it is read (its hash, its link to the row before,
    its place in the month's sequence): a row changed outside the engine is marked and said as
    ``wip verify`` says it (LEDGER_TAMPERED, exit 1) — its who, when and why are not what was recorded."""
    from .ledger import LedgerError

    ledger, refused = _checked_open(args)
    if ledger is None:
        return refused
    with ledger:
        try:
            with ledger.snapshot():  # the events, the months' states and flags of one state of the file
                events, flagged, general = ledger.checked_events()
                status = {p: ledger.status(p) for p in ledger.periods()}
                stale, order = {}, {}
                if not flagged and not general:  # reads the closes' rows: only of a ledger that holds together
                    stale = ledger.stale_periods()
                    order = {p: ledger.re_close_order(p) for p in stale}
        except LedgerError as e:  # the file itself is damaged
            print_issues([Issue(e.code, "--ledger", e.message)])
            return 1 if e.code == "LEDGER_TAMPERED" else EXIT_INPUT
    # The engine version that computed each close: a new one rounds some figures otherwise (CHANGELOG).
    print(f"{'seq':>4}  {'period':7}  {'event':12}  {'when':25}  {'who':12}  {'engine':8}  inputs   note")
    for e in events:
        what = f"close #{e.close_no}" if e.kind == "close" else f"reopen #{e.close_no}"
        mark = "!! CHANGED OUTSIDE THE ENGINE !! " if e.seq in flagged else ""
        engine = (e.engine_version or "") if e.kind == "close" else ""
        print(f"{e.seq:>4}  {e.period:7}  {what:12}  {e.recorded_at:25}  {e.recorded_by[:12]:12}  {engine:8}  "
              f"{e.inputs_sha256[:7]}  {mark}{' '.join(e.reason.split())}")  # a reason of several lines on one
    print()
    for period, state in status.items():
        flag = ""
        if period in stale and status.get(stale[period]) == "reopened":  # decided by that month's re-close
            via = f", through {order[period][-2]}," if len(order[period]) > 1 else ""
            flag = (f" — MAY NEED RE-CLOSE: its opening rests{via} on a close of {stale[period]}, reopened now; "
                    f"closing {stale[period]} again{' (and the months after it)' if via else ''} says whether it does")
        elif period in stale and len(order[period]) > 1:  # through a month that is itself flagged
            # Only may: the month it opened from needs its re-close, which moves this month's opening
            # only if it moves that month's closing WIP or finished goods (then this one is flagged directly).
            flag = (f" — MAY NEED RE-CLOSE: it opened from {order[period][-2]}, which rests on a superseded close of "
                    f"{stale[period]}: re-close {', then '.join(order[period])}, in that order, each after the first "
                    "only if the re-close before it says so")
        elif period in stale:
            flag = f" — NEEDS RE-CLOSE: its opening rests on a superseded close of {stale[period]}"
        print(f"{period}: {state}{flag}")
    problems = [f"event seq {e.seq} ({e.kind} {e.period}): {p}" for e in events if e.seq in flagged
                for p in flagged[e.seq]] + list(general)
    if problems:
        for p in problems:
            print(f"error: {p} [LEDGER_TAMPERED]", file=sys.stderr)
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{len(problems)} {noun} found: the ledger {ledger.path} was changed outside the engine, and the marked "
              f"events are not as recorded; run `wip verify{ledger.ledger_option}`", file=sys.stderr)
        return 1
    return 0


def _checked_open(args: argparse.Namespace):
    """(the ledger, None) for ``wip verify`` and ``wip history``, or (None, exit code) after saying
    why not: 1 for a ledger file that is damaged (LEDGER_TAMPERED, as a ledger changed outside the
    engine), 2 for a path that is no ledger."""
    ledger, refused = open_ledger(_ledger_path(args))
    return ledger, (None if refused is None else 1 if refused.code == "LEDGER_TAMPERED" else EXIT_INPUT)


def _cmd_verify(args: argparse.Namespace) -> int:
    from .ledger import LedgerError

    ledger, refused = _checked_open(args)
    if ledger is None:
        return refused
    with ledger:
        # A head given that differs is worded by verify() itself, chain verifying or not.
        try:
            # The count and head printed are those of the state verified: a close committed
            # meanwhile waits (its head would be printed as verified, never having been read).
            with ledger.snapshot():
                verification = ledger.verification(expected_head=args.head)
                events = ledger.events()
        except LedgerError as e:  # the file itself is damaged (or busy)
            print_issues([Issue(e.code, "--ledger", e.message)])
            return 1 if e.code == "LEDGER_TAMPERED" else EXIT_INPUT
        problems, chain_verifies = verification.problems, verification.chain_verifies
        count = len(events)
        # The newest event: the head noted in the file, or events an older engine added after it (a note).
        head = f"{events[-1].seq}:{events[-1].row_hash}" if events else None
    for note in verification.notes:
        print(f"note: {note}", file=sys.stderr)
    if problems:
        for p in problems:
            print(f"error: {p} [LEDGER_TAMPERED]", file=sys.stderr)
        noun = "problem" if len(problems) == 1 else "problems"
        print(f"{len(problems)} {noun} found." + ("" if chain_verifies else
                                                   f" The hash chain of {ledger.path} does not verify."),
              file=sys.stderr)
        return 1
    print(f"{ledger.path}: {count} events, hash chain and detail tables verified: OK"
          + (f" (and event {args.head.strip()} as recorded)" if args.head else ""))
    if head:
        print(f"  Ledger head: {head} — note it outside this file; `wip verify{ledger.ledger_option} --head "
              f"{_short_head(events[-1])}` checks the ledger against it")
    return 0


def _cmd_diff(args: argparse.Namespace) -> int:
    from .close._diff import close_amounts, diff_closes
    from .close._render import render_diff
    from .close_service import in_element_order
    from .ledger import LedgerError

    ledger = _open_ledger(_ledger_path(args))
    if ledger is None:
        return EXIT_INPUT
    with ledger:
        rows = ledger.closes(args.period)
        if len(rows) < 2:
            print_issues([Issue("NOTHING_TO_DIFF", "", f"{args.period} has {len(rows)} close(s); diff needs two")])
            return EXIT_INPUT
        old, new = rows[-2], rows[-1]
        _warn_if_stale(ledger, args.period)
        if ledger.status(args.period) == "reopened":  # neither close is the month's now: said, not implied
            print(f"note: {args.period} is reopened: close #{new.event.close_no} was reversed and the month has no "
                  "current close; these are its last two closes", file=sys.stderr)
        try:
            priors = [ledger.opening_of(old), ledger.opening_of(new)]
        except LedgerError as e:
            print_issues([Issue(e.code, "", e.message)])
            return EXIT_INPUT
        # Each close's inputs with its stages' elements in the order it was computed in (the recorded
        # inputs are sorted), so that the closes made again in memory are the closes recorded.
        result = diff_closes(args.period, in_element_order(old.inputs, old.element_order),
                             in_element_order(new.inputs, new.element_order), priors[0], priors[1],
                             close_amounts(old.rollforward_model, old.journals),
                             close_amounts(new.rollforward_model, new.journals),
                             engine_versions=(old.event.engine_version, new.event.engine_version),
                             this_engine=__version__,
                             progress=lambda done, total: progress_bar(done, total, "closing each step again"))
        end_progress_bar()  # a step that does not close leaves its bar short of the end
    if args.json:
        sys.stdout.write(result.model_dump_json(indent=2) + "\n")
        return 0
    currency = new.parameters.get("currency", "")
    locale = args.locale or new.parameters.get("locale", "en_US")
    sys.stdout.write(render_diff(result, currency, locale,
                                 f"{args.period}: close #{old.event.close_no} → close #{new.event.close_no}"))
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse's parser, its usage errors (an unknown option, a choice not offered, a required
    argument missing) carrying a code as every other refusal does (``[USAGE_ERROR]``); an argument's
    own check that gives a code of its own (``[INVALID_FORMAT]``) keeps it.  Subcommands' parsers
    are of this class too (argparse makes them of the parent's)."""

    def error(self, message: str):
        if not re.search(r"\[[A-Z][A-Z0-9]*(_[A-Z0-9]+)+\]$", message.rstrip()):  # no code of its own
            message = f"{message} [USAGE_ERROR]"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="wip", description="WIP process costing and month-end close.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("cost", help="print the production cost report of case files")
    p.add_argument("files", nargs="+", metavar="FILE", help="case files (YAML or JSON)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    p.add_argument("--locale", type=locale_argument, default="en_US",
                       help="locale for numbers in the text report (default en_US)")
    p.set_defaults(run=_cmd_cost)

    p = sub.add_parser("schema", help="print the JSON schema of the case file (or --close: the close file)")
    p.add_argument("--close", action="store_true", help="the close file's schema")
    p.set_defaults(run=_cmd_schema)

    def ledger_option(p):
        p.add_argument("--ledger", type=ledger_argument,
                       help=f"ledger file (default: {DEFAULT_LEDGER} in the working directory)")

    p = sub.add_parser("close", help="close a month from a close file or workbook and record it in the ledger")
    p.add_argument("file", metavar="FILE", help="close file (YAML or JSON) or close workbook (.xlsx/.xlsm)")
    p.add_argument("--period", required=True, type=period_argument, help="YYYY-MM; must match the file")
    p.add_argument("--locale", type=locale_argument, help="locale for the printed summary (default: the file's)")
    p.add_argument("--ledger", type=ledger_argument,
                   help=f"ledger file (default: BOOK.wip.db beside a workbook BOOK.xlsx, else {DEFAULT_LEDGER} beside FILE)")
    p.set_defaults(run=_cmd_close)

    def period_either_way(p):
        """The period positionally (``wip reopen 2026-10``) or as --period, as every other command takes it."""
        p.add_argument("period", nargs="?", type=period_argument, metavar="PERIOD",
                       help="the month, YYYY-MM (or give it as --period)")
        p.add_argument("--period", dest="period_option", metavar="PERIOD", type=period_argument,
                       help="the month, YYYY-MM, as the other commands take it")
        p.set_defaults(parser=p)

    p = sub.add_parser("reopen", help="reopen a closed period: reversing journals, reason recorded")
    period_either_way(p)
    p.add_argument("--reason", required=True, metavar="TEXT",
                   help="who asked for the reopen and why, kept in the ledger and as the narration of every "
                        f"reversing journal: plain text, at most {REASON_MAX_CHARACTERS:,} characters (line breaks "
                        "allowed, a Windows one kept as a plain line break; no control or invisible characters)")
    ledger_option(p)
    p.set_defaults(run=_cmd_reopen)

    for name, run, text in (("journal", _cmd_journal, "print the journals of a period's current close"),
                            ("rollforward", _cmd_rollforward, "print the WIP roll-forward and its ties")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--period", required=True, type=period_argument, help="the month, YYYY-MM")
        p.add_argument("--json", action="store_true", help="print JSON instead of text")
        p.add_argument("--locale", type=locale_argument,
                       help="locale for amounts in the text, e.g. de_DE (default: the locale the close was "
                            "recorded with, the close file's locale)")
        if name == "rollforward":
            p.add_argument("--detail", action="store_true",
                           help="also by product, stage and element (costs) and by product and stage (units)")
        else:
            after_close_option(p)
            p.add_argument("--by-account", action="store_true",
                           help="the postings summed by account (a trial balance of the journals) instead")
        ledger_option(p)
        p.set_defaults(run=run)

    p = sub.add_parser("report", help="print the production cost reports of a period's current close (the five "
                                      "steps, by product and stage)")
    p.add_argument("--period", required=True, type=period_argument, help="the month, YYYY-MM")
    p.add_argument("--product", help="one product (default: every product)")
    p.add_argument("--json", action="store_true",
                   help="print JSON: per product the report as `wip cost --json` gives it, and Step 2's parts")
    p.add_argument("--locale", type=locale_argument,
                   help="locale for numbers in the text, e.g. de_DE (default: the locale the close was recorded "
                        "with, the close file's locale)")
    ledger_option(p)
    p.set_defaults(run=_cmd_report)

    p = sub.add_parser("export", help="write a period's journals in an accounting system's import format",
                       description="Write the journals of a period's current close (or, with --after-close N, those "
                                   "posted after close #N) into the folder --out, for an accounting system to "
                                   "import: journals-YYYY-MM.gl.csv (gl-csv), journals-YYYY-MM.qbo.csv (qbo), "
                                   "journals-YYYY-MM.xero-1.csv, -2, ... (xero), journals-YYYY-MM.iif (iif), "
                                   "journals-YYYY-MM.intacct-1.csv, -2, ... (intacct), journals-YYYY-MM.beancount "
                                   "and accounts.beancount (beancount); with --after-close N the journals file is "
                                   "named journals-YYYY-MM-after-close-N.* instead. The paths written are printed. "
                                   "An export file already in the folder is never replaced with other contents "
                                   "(it may have been imported): the export is refused and says what to export "
                                   "instead. See docs/exports.md.")
    p.add_argument("--period", required=True, type=period_argument, help="the month, YYYY-MM")
    p.add_argument("--format", required=True, choices=["gl-csv", "qbo", "xero", "iif", "intacct", "beancount"],
                   help="the import format: gl-csv (auditors), qbo (QuickBooks Online), xero, iif (QuickBooks "
                        "Desktop), intacct (Sage Intacct), beancount")
    p.add_argument("--out", required=True, metavar="FOLDER",
                   help="the folder to write the files into (created if it does not exist)")
    after_close_option(p)
    p.add_argument("--xero-tax-rate", metavar="NAME",
                   help="xero: the tax rate on every line, its full name exactly as in the organisation's tax "
                        "settings (default 'Tax Exempt'; UK 'No VAT', NZ 'No GST', AU 'BAS Excluded')")
    p.add_argument("--intacct-journal", metavar="SYMBOL",
                   help="intacct: the journal symbol, exactly as in Sage Intacct (default GJ)")
    p.add_argument("--intacct-location-id", metavar="ID",
                   help="intacct: the LOCATION_ID dimension on every line, exactly as in Sage Intacct (default blank)")
    p.add_argument("--intacct-dept-id", metavar="ID",
                   help="intacct: the DEPT_ID dimension on every line, exactly as in Sage Intacct (default blank)")
    p.add_argument("--max-lines", type=_lines_per_file, metavar="N",
                   help="xero, intacct: journal lines per file (default 300 for xero, 5000 for intacct); a journal "
                        "is never split across files")
    ledger_option(p)
    p.set_defaults(run=_cmd_export)

    p = sub.add_parser("history", help="every close and reopen, and which periods need re-closing")
    ledger_option(p)
    p.set_defaults(run=_cmd_history)

    p = sub.add_parser("verify", help="recompute the ledger's hash chain; report rows changed outside the engine")
    p.add_argument("--head", metavar="SEQ:HASH", type=head_argument,
                   help="a head printed by an earlier close or verify and kept elsewhere: the ledger must still hold "
                        "that event with that hash (catches a chain rewritten with recomputed hashes)")
    ledger_option(p)
    p.set_defaults(run=_cmd_verify)

    p = sub.add_parser("diff", help="compare the last two closes of a period: which input change moved which amount")
    period_either_way(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.add_argument("--locale", type=locale_argument, help="locale for amounts in the text (default: the close's)")
    ledger_option(p)
    p.set_defaults(run=_cmd_diff)

    # Feature areas with their own commands register them from their own module, so that each
    # lives in one obvious place (costing/<area>/_cli.py with a register(subparsers) function).
    import importlib
    import importlib.util

    for module in ("costing.workbook._cli", "costing.variance._cli", "excel_addin._cli"):
        if importlib.util.find_spec(module.rsplit(".", 1)[0]) and importlib.util.find_spec(module):
            importlib.import_module(module).register(sub)
    return parser


def _one_period(args: argparse.Namespace) -> None:
    """A command taking the period positionally or as --period: the one given (a usage error, exit 2,
    when neither is, or two different ones)."""
    given, option = args.period, args.period_option
    if given is not None and option is not None and given != option:
        args.parser.error(f"the period is given twice, as {given} and as --period {option}; give it once")
    if given is None and option is None:
        args.parser.error("the period is required: give it as YYYY-MM (or --period YYYY-MM)")
    args.period = given or option


EXIT_INTERRUPTED = 130  # as a shell reports a command ended by Ctrl-C (128 + SIGINT)


def main(argv: Sequence[str] | None = None) -> int:
    from .ledger import LedgerError

    args = build_parser().parse_args(argv)
    if hasattr(args, "period_option"):
        _one_period(args)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        end_progress_bar()
        writes = args.run in (_cmd_close, _cmd_reopen)
        print("interrupted (Ctrl-C)" + ("; a close or reopen is recorded whole or not at all — `wip history` shows "
                                        "whether it was" if writes else ""), file=sys.stderr)
        return EXIT_INTERRUPTED
    except LedgerError as e:  # a ledger refusing a read (a row changed outside the engine...): said, not a traceback
        print_issues([Issue(e.code, "", e.message)], writes=args.run in (_cmd_close, _cmd_reopen, _cmd_export))
        return EXIT_INPUT
    except sqlite3.DatabaseError as e:
        # Met part-way through a command: another process took the ledger's lock (a close writing),
        # or a page of the file was overwritten outside the engine (the schema's own pages are
        # checked on opening).  Said as the ledger says it elsewhere, not a traceback; anything else
        # is a defect.
        from .ledger import refusal_of

        said = refusal_of(_command_ledger_path(args), e)
        if said is None:
            raise
        print_issues([Issue(said.code, "--ledger" if getattr(args, "ledger", None) else "", said.message)],
                     writes=args.run in (_cmd_close, _cmd_reopen, _cmd_export))
        return 1 if said.code == "LEDGER_TAMPERED" and args.run in (_cmd_verify, _cmd_history) else EXIT_INPUT

def run() -> None:
    """The `wip` command: ``main``'s exit status; after Ctrl-C, ended by SIGINT itself (POSIX), so
    that a shell script running wip month by month stops too (bash goes on past a command that
    merely exits 130)."""
    status = main()
    if status == EXIT_INTERRUPTED and os.name == "posix":
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
    sys.exit(status)


if __name__ == "__main__":  # pragma: no cover
    run()
