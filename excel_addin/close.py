"""The Close month button: close the period of the workbook it is called from.

Same reader interface as ``wip close BOOK.xlsx`` (an xlwings-backed ``TableSource``), the same
close (``costing.close_service.close_period``), the same ledger (``BOOK.wip.db`` beside the
workbook; for a workbook on OneDrive or SharePoint, beside its synced file: see ``_book_file``)
and the same result sheets (written by the openpyxl writer into a copy of the book, then
copied into the open workbook) — so the button and the command give identical journals.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from costing.cli_support import ledger_option_for
from costing.close_service import (CloseRefused, MonthBeforeUnknown, close_period, re_close_notice,
                                   read_month_before, recorded_outcome)
from costing.ledger import Ledger, LedgerError
from costing.workbook import read_tables

from ._book_file import UNSAVED, WEB, BookFile, book_file
from ._xlwings_book import XlwingsSource, copy_result_sheets

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


def close_month(book: Any = None) -> CloseMonthResult:
    if book is None:
        import xlwings as xw

        book = xw.Book.caller()
    where = book_file(book)
    refused = _not_closable(where)
    if refused:
        _say(book, refused)
        return CloseMonthResult(False, refused)
    ledger_path = where.path.with_suffix(".wip.db")
    month_before = _MonthBefore(ledger_path)
    found = read_tables(XlwingsSource(book), month_before.vouched)
    if found.issues or found.data is None:
        issues = _every_problem(found, month_before)
        message = "Nothing was closed:\n" + "\n".join(str(i) for i in issues[:20])
        _say(book, message)
        return CloseMonthResult(False, message)
    reused, notice, later_unknown = False, (), ""
    try:
        option = ledger_option_for(ledger_path)  # what its messages suggest reaches it from anywhere
        with Ledger(ledger_path, ledger_option=option) as ledger:  # close's too (the default)
            try:
                outcome = close_period(found.data, ledger)
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
    except CloseRefused as e:
        issues = found.locate(e.issues)
        message = "Nothing was closed:\n" + "\n".join(str(i) for i in issues[:20])
        _say(book, message)
        return CloseMonthResult(False, message)
    except LedgerError as e:
        _say(book, e.message)
        return CloseMonthResult(False, e.message)

    from costing.workbook import RESULT_SHEETS, write_close_results

    period = outcome.event.period
    try:
        with tempfile.TemporaryDirectory() as tmp:
            # SaveCopyAs writes the book in its own format: the copy keeps its extension (.xlsm),
            # so that it is read as what it is.  The copy is thrown away once the result sheets
            # are copied back, so content openpyxl cannot carry (sparklines, slicers) may go.
            copy = Path(tmp) / ("book" + (where.path.suffix or ".xlsx"))
            book.api.SaveCopyAs(str(copy))
            write_close_results(copy, outcome, drop_unsupported=True)
            copy_result_sheets(book, copy, [s.name for s in RESULT_SHEETS])
    except Exception as e:  # noqa: BLE001 - the close is recorded; say so and how to get the sheets
        message = (f"{period} was closed and recorded (close #{outcome.event.close_no}, ledger {ledger_path.name}), "
                   f"but the result sheets were not written: {e} [RESULTS_NOT_WRITTEN]. Press Close month again: "
                   "it writes them from the recorded close and posts nothing.")
        _say(book, message)
        return CloseMonthResult(False, message, outcome)
    if reused:
        message = (f"{period} was already closed from these inputs (close #{outcome.event.close_no}); result sheets "
                   f"written from it, nothing posted; ledger {ledger_path.name}")
    else:
        message = (f"{period} closed (close #{outcome.event.close_no}); {len(outcome.journals.journals)} journals, "
                   f"roll-forward ties: {'OK' if outcome.rollforward.ties_ok else 'NO'}; ledger {ledger_path.name}")
        message += "".join(f". {line}" for line in notice)  # as the command line says it
        message += later_unknown
    _say(book, message)
    return CloseMonthResult(True, message, outcome)
