"""The Close month button: close the period of the workbook it is called from.

Same reader interface as ``wip close BOOK.xlsx`` (an xlwings-backed ``TableSource``), the same
close (``costing.close_service.close_period``), the same ledger (``BOOK.wip.db`` beside the
workbook; for a workbook on OneDrive or SharePoint, beside its synced file: see ``_book_file``)
and the same result sheets (written by the openpyxl writer into a copy of the book, then
copied into the open workbook) — so the button and the command give identical journals.  The
sheet-level checks the command makes (rows typed under a table, a sheet of the user's named like a
result sheet) are made with its own reader on that copy, saved before the close; the two refuse
the same workbooks, and a refused close leaves no ledger file behind.
"""

from __future__ import annotations

import functools
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from costing import Issue, is_period
from costing.cli_support import ledger_option_for
from costing.close_service import (CloseRefused, MonthBeforeUnknown, close_period, re_close_notice,
                                   read_month_before, recorded_outcome)
from costing.ledger import Ledger, LedgerError, refusal_of
from costing.workbook import read_tables, read_workbook_input

from ._book_file import UNSAVED, WEB, BookFile, book_file
from ._xlwings_book import XlwingsSource, copy_result_sheets, recorded_result_sheets, remember_result_sheets

__all__ = ["close_month", "CloseMonthResult"]


class CloseMonthResult:
    def __init__(self, ok: bool, message: str, outcome: Any = None):
        self.ok, self.message, self.outcome = ok, message, outcome


def _say(book: Any, text: str) -> None:
    try:
        book.app.alert(text, title="WIP close")
    except Exception:  # no Excel UI (tests, Excel for the web): the message is also returned
        pass


class _MonthBefore:
    """The ledger's month before a period (``read_month_before``), read once: by the tables' own
    checks (a name the ledger vouches for) and by the close's.  The ledger is only read."""

    def __init__(self, ledger_path: Path):
        self.read = functools.cache(lambda period: read_month_before(ledger_path, period))

    def vouched(self, period: str) -> frozenset[str]:
        """Names the ledger vouches for, also when it cannot give the month before (a locked month,
        a reopened one before it): the close then says why, not the tables that a recorded name is
        refused."""
        try:
            return self.read(period)[1]
        except MonthBeforeUnknown as e:
            return e.vouched


def _every_problem(found: Any, month_before: _MonthBefore) -> list:
    """The tables' problems and, as far as the tables could be read, the close's own, checked
    against the month before in the ledger (as ``wip close BOOK.xlsx`` does): all at once.  The
    ledger is only read; when it cannot say (a locked month, an unreadable file), the tables' own."""
    period = found.partial.get("period") if found.partial is not None else None
    if not found.issues or not isinstance(period, str):
        return list(found.issues)
    try:
        return found.with_close_checks(*month_before.read(period))
    except LedgerError:
        return list(found.issues)


def _not_closable(where: BookFile) -> str | None:
    """Why a workbook cannot be closed from, or None.  The ledger is kept beside the workbook: a
    workbook never saved (Excel's fullname is then "Book1") has no folder, and its ledger would be
    written to whatever folder Excel's Python process runs in (often C:\\Windows\\System32); one on
    OneDrive or SharePoint whose synced folder on this computer cannot be found has none either."""
    if where.path is not None:
        return None
    if where.why == WEB:
        return (f"Nothing was closed: the workbook is open from OneDrive or SharePoint ({where.what}), and its "
                "folder on this computer could not be found; the ledger is kept beside the workbook. Save it to a "
                "folder on this computer (File > Save As > Browse > This PC) and open that or, if OneDrive syncs it "
                "to this computer, name the synced folder in xlwings' ONEDRIVE_CONSUMER_WIN, "
                "ONEDRIVE_COMMERCIAL_WIN or SHAREPOINT_WIN setting; then press Close month again. "
                "[WORKBOOK_NOT_SAVED]")
    if where.why == UNSAVED:
        return (f"Nothing was closed: the workbook {where.what} is not saved yet, and the ledger is kept beside the "
                "workbook (BOOK.wip.db). Save the workbook first (File > Save As), then press Close month again. "
                "[WORKBOOK_NOT_SAVED]")
    return (f"Nothing was closed: Excel could not be asked where the workbook is saved ({where.what}). Press Close "
            "month again once Excel is idle. [EXCEL_UNAVAILABLE]")


# The problems a refused close lists in its message box (the command lists them all).
_SHOWN = 20
# The sheet-level checks of ``wip close BOOK.xlsx``, made on a saved copy of the book (the live
# book's tables are read through xlwings): rows typed under a table, and a sheet of the user's that
# carries a result sheet's name (the close would replace it).  The copy's other problems are the
# tables' own, read from the live book.  A copy openpyxl cannot read (an .xlsb) is refused now, not
# after the close is posted, when its result sheets could not be written.
_SHEET_CHECKS = ("DATA_BELOW_TABLE", "RESULT_SHEET_NAME_TAKEN", "UNREADABLE_FILE", "FILE_NOT_FOUND",
                 # an optional table converted to a range (or renamed) with its rows still on the sheet:
                 # the live book's tables do not show it (read as absent, a Shipments range posted the
                 # COGS of no shipments); a required table missing is found by both reads, said once
                 "MISSING_TABLE")


def _differences(live: Any, saved: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """(data path, live value, saved value) wherever the two readings of the book differ."""
    if isinstance(live, dict) and isinstance(saved, dict):
        return [d for key in dict.fromkeys([*live, *saved])
                for d in _differences(live.get(key), saved.get(key), f"{path}.{key}" if path else str(key))]
    if isinstance(live, list) and isinstance(saved, list) and len(live) == len(saved):
        return [d for k, (a, b) in enumerate(zip(live, saved)) for d in _differences(a, b, f"{path}[{k}]")]
    return [] if live == saved else [(path, live, saved)]


def _refused(book: Any, where: BookFile, issues: list, period: Any) -> CloseMonthResult:
    """Nothing was closed: how many problems, the first ``_SHOWN``, and where to see them all."""
    count = len(issues)
    lines = [str(i) for i in issues[:_SHOWN]]
    if count > _SHOWN:
        period_option = period if isinstance(period, str) and is_period(period) else "YYYY-MM"
        book_name = where.path.name
        book_name = f'"{book_name}"' if " " in book_name else book_name
        lines.append(f"... and {count - _SHOWN} more: `wip close {book_name} --period {period_option}`, run in the "
                     f"workbook's folder ({where.path.parent}), lists them all.")
    message = f"Nothing was closed: {count} problem{'' if count == 1 else 's'} found:\n" + "\n".join(lines)
    _say(book, message)
    return CloseMonthResult(False, message)


def close_month(book: Any = None) -> CloseMonthResult:
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    where = book_file(book)
    refused = _not_closable(where)
    if refused:
        _say(book, refused)
        return CloseMonthResult(False, refused)
    with tempfile.TemporaryDirectory() as tmp:
        # A copy of the book as it is now (SaveCopyAs writes it in its own format, so it keeps its
        # extension, .xlsm, and is read as what it is): the sheet-level checks are made on it before
        # the close, and the result sheets written into it after, then copied into the open book.
        # The copy is thrown away, so content openpyxl cannot carry (sparklines, slicers) may go.
        copy = Path(tmp) / ("book" + (where.path.suffix or ".xlsx"))
        try:
            book.api.SaveCopyAs(str(copy))
        except Exception as e:  # noqa: BLE001 - Excel busy (a cell being edited), a full disk
            message = (f"Nothing was closed: a copy of the workbook could not be saved to check it ({e}). Press "
                       "Close month again once Excel is idle (no cell being edited). [EXCEL_UNAVAILABLE]")
            _say(book, message)
            return CloseMonthResult(False, message)
        return _close(book, where, copy)


def _close(book: Any, where: BookFile, copy: Path) -> CloseMonthResult:
    ledger_path = where.path.with_suffix(".wip.db")
    month_before = _MonthBefore(ledger_path)
    found = read_tables(XlwingsSource(book), month_before.vouched)
    try:
        copied = read_workbook_input(copy)
        copied.against_month_before(lambda period: month_before.read(period)[0])  # opening tables as ranges
        sheet_problems = [i for i in copied.issues if i.code in _SHEET_CHECKS]
        said = {(i.code, i.path) for i in found.issues} | {(i.code, i.message) for i in found.issues}
        sheet_problems = [i for i in sheet_problems if (i.code, i.path) not in said and (i.code, i.message) not in said]
        ours = recorded_result_sheets(copy)  # the sheets a close wrote into this book before
    except Exception as e:  # noqa: BLE001 - the result sheets could not be written into it either: refused now
        message = (f"Nothing was closed: the workbook, saved as a copy, could not be read as the command reads it "
                   f"({e}); its result sheets could not be written [UNREADABLE_FILE]")
        _say(book, message)
        return CloseMonthResult(False, message)
    if sheet_problems:
        found.issues.extend(sheet_problems)
        found.data = None
        # What those problems make unreliable is held back as the command holds it back: a table
        # read as absent here (converted to a range) would otherwise give knock-on problems — a
        # general-ledger difference of the opening finished goods left out, driver quantities missing.
        found.held.update(copied.held)
    period = found.partial.get("period") if found.partial is not None else None
    if found.issues or found.data is None:
        return _refused(book, where, _every_problem(found, month_before), period)
    if copied.data is not None and copied.data != found.data:
        # Excel hands a cell formatted as Currency or Accounting to add-ins cut to four decimals
        # (18.123456 as 18.1235): posted so, the close would rest on figures no saved file holds,
        # and its result sheets could never be written from the book (their inputs differ).
        return _refused(book, where, found.locate([
            Issue("EXCEL_VALUE_CUT", path, f"Excel handed the add-in {live} where the workbook holds {saved} (a cell "
                                           "formatted as Currency or Accounting is handed to add-ins to four decimal "
                                           "places): format it as Number, or close with the `wip close` command")
            for path, live, saved in _differences(found.data, copied.data)] or [
            Issue("EXCEL_VALUE_CUT", "", "the tables as Excel handed them to the add-in differ from the workbook's "
                                         "saved copy; close with the `wip close` command")]), period)
    reused, notice, later_unknown, stale = False, (), "", ""
    # A ledger this close creates (or an empty file it fills with the ledger's tables) is taken away
    # again when nothing is recorded in it, as `wip close` does: a refused close leaves no file.
    was = "absent" if not ledger_path.exists() else "empty" if ledger_path.is_file() and not \
        ledger_path.stat().st_size else "ledger"
    try:
        option = ledger_option_for(ledger_path)  # what its messages suggest reaches it from anywhere
        with Ledger(ledger_path, ledger_option=option) as ledger:  # close's too (the default)
            try:
                try:
                    outcome = close_period(found.data, ledger)
                except BaseException:
                    _leave_as_found(ledger, ledger_path, was)
                    raise
                try:  # recorded: a ledger problem found now must not read as "nothing was closed"
                    notice = re_close_notice(ledger, outcome.event.period, outcome.event.close_no)
                except LedgerError as e:
                    later_unknown = f" The later months resting on it could not be checked: {e.message} [{e.code}]."
            except CloseRefused as e:
                # Pressed again after a close whose sheets were not written: the same inputs get
                # their sheets from the recorded close, and nothing is posted.
                again = recorded_outcome(found.data, ledger, str(found.data.get("period"))) \
                    if [i.code for i in e.issues] == ["PERIOD_LOCKED"] else None
                if again is None:
                    raise
                outcome, reused = again, True
                why = ledger.needs_re_close(outcome.event.period)  # said as the command says it
                stale = f" Warning: {why} [NEEDS_RE_CLOSE]." if why is not None else ""
    except CloseRefused as e:
        return _refused(book, where, found.locate(e.issues), period)
    except LedgerError as e:
        _say(book, e.message)
        return CloseMonthResult(False, e.message)
    except sqlite3.DatabaseError as e:  # a page of the ledger overwritten outside the engine, met part-way
        said = refusal_of(ledger_path, e)
        if said is None:
            raise
        message = f"{said.message} [{said.code}]"
        _say(book, message)
        return CloseMonthResult(False, message)

    from costing.workbook import RESULT_SHEETS, write_close_results

    period = outcome.event.period
    names = [s.name for s in RESULT_SHEETS]
    try:
        write_close_results(copy, outcome, drop_unsupported=True)
        copy_result_sheets(book, copy, names, ours)
    except Exception as e:  # noqa: BLE001 - the close is recorded; say so and how to get the sheets
        message = (f"{period} was closed and recorded (close #{outcome.event.close_no}, ledger {ledger_path.name}), "
                   f"but the result sheets were not written: {e} [RESULTS_NOT_WRITTEN]. Press Close month again: "
                   "it writes them from the recorded close and posts nothing.")
        _say(book, message)
        return CloseMonthResult(False, message, outcome)
    unmarked = ""
    try:  # as the command records them in the file: the next close replaces them, not refuses them
        remember_result_sheets(book, names)
    except Exception as e:  # noqa: BLE001 - the close and its sheets are in place; say what follows
        unmarked = (f". The workbook could not record that the result sheets are the close's ({e}): the next close "
                    "will take them for sheets of your own (RESULT_SHEET_NAME_TAKEN): delete them before it")
    if reused:
        message = (f"{period} was already closed from these inputs (close #{outcome.event.close_no}); result sheets "
                   f"written from it, nothing posted; ledger {ledger_path.name}") + stale
    else:
        message = (f"{period} closed (close #{outcome.event.close_no}); {len(outcome.journals.journals)} journals, "
                   f"roll-forward ties: {'OK' if outcome.rollforward.ties_ok else 'NO'}; ledger {ledger_path.name}")
        message += "".join(f". {line}" for line in notice)  # as the command line says it
        message += later_unknown
    message = (message.rstrip(".") + unmarked) if unmarked else message  # one full stop between them
    _say(book, message)
    return CloseMonthResult(True, message, outcome)


def _leave_as_found(ledger: Ledger, path: Path, was: str) -> None:
    """A ledger file this close created, or an empty one it filled with the ledger's tables, as it was
    when nothing was recorded in it (``wip close`` does the same)."""
    try:
        if was == "ledger" or ledger.events():
            return
    except Exception:  # the ledger unreadable now (damaged): what failed first is what is said
        return
    ledger.remove_if_unused(was)  # not while another close has it open (it may be writing into it)
