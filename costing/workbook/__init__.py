"""Close workbooks: the month-end close read from Excel tables, its results written back as
live formulas.  An adapter: it imports the core and the close; they never import it.

- ``read_close_workbook(path)`` → ``(data, issues)``: the close file's data structure, read from
  the workbook's tables by name and header; issues located to cells.
- ``locate_issues(path, issues)``: the close's own issues (data paths) moved to cells.
- ``write_close_results(path, outcome)``: result sheets replaced, atomically; it raises
  ``WorkbookChanged`` when the workbook's inputs changed since they were read, and its subclass
  ``ContentWouldBeLost`` when saving would drop content of the user's.
- ``TableSource`` / ``OpenpyxlSource`` / ``FakeSource``: where tables come from.
"""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import Any, Callable, Sequence

from .._errors import Issue
from ._input import CloseFileInput, CloseInput, WorkbookCloseInput, is_workbook, open_close_input
from ._read import WorkbookInput, read_tables
from ._source import Cell, FakeSource, Formula, TableData, TableSource

__all__ = [
    "read_close_workbook", "locate_issues", "write_close_results", "read_workbook_input",
    "CloseInput", "CloseFileInput", "WorkbookCloseInput", "open_close_input", "is_workbook",
    "TableSource", "TableData", "Cell", "Formula", "FakeSource", "OpenpyxlSource", "WorkbookInput", "read_tables",
    "register_result_sheet", "RESULT_SHEETS", "result_sheets_of_earlier_closes", "WorkbookChanged", "ContentWouldBeLost",
]


# The last workbook read, kept for the writer while the file is unchanged (same size and mtime):
# ``wip close`` reads the tables, closes, then writes results into the same file, and loading a
# large workbook is the slow part.
_LAST: tuple[tuple, Any, WorkbookInput] | None = None


def _file_key(path: Path) -> tuple:
    stat = path.stat()
    return (str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def read_workbook_input(path: str | Path, vouched_for: Callable[[str], frozenset[str]] | None = None
                        ) -> WorkbookInput:
    """Everything read from the workbook: data, issues, and the data-path → cell map.
    ``vouched_for``: as ``read_tables`` takes it."""
    global _LAST
    from ._openpyxl import OpenpyxlSource

    path = Path(path)
    if not path.exists():
        return WorkbookInput(None, [Issue("FILE_NOT_FOUND", "", f"no such file: {path}")])
    try:
        key = _file_key(path)
        source = OpenpyxlSource.open(path)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as e:
        # An .xls, .ods or password-protected book named .xlsx: say what it is and what to do.
        from .._casefile import spreadsheet_problem

        try:
            said = spreadsheet_problem(path, path.read_bytes(), read_as_workbook=True)
        except OSError:
            said = None
        said = said or f"cannot read {path} as an Excel workbook: {e}"
        return WorkbookInput(None, [Issue("UNREADABLE_FILE", "", said)])
    found = read_tables(source, vouched_for)
    # The close writes its results into this workbook: what would stop that is found now, before
    # anything is recorded in the ledger.
    cannot_write = _result_names_taken(source.formulas) + _read_only(path) + _would_lose(source)
    if cannot_write:
        found.issues.extend(cannot_write)
        found.data = None
    _LAST = (key, source, found) if found.data is not None else None
    return found


# Each result sheet's title (cell A1) as its writer writes it (``costing/workbook/_sheets.py``): how a
# result sheet an earlier close wrote without recording it is known for the close's own.
_RESULT_TITLES = {
    "Cost Report": r"Production cost report [0-9]{4}-[0-9]{2} — .*",
    "Roll-forward": r"WIP roll-forward [0-9]{4}-[0-9]{2}",
    "Journal": r"Journals [0-9]{4}-[0-9]{2} — .*",
    "Finished Goods & COGS": r"Finished goods and cost of goods sold [0-9]{4}-[0-9]{2} \(.*\)",
    "Overhead": r"Overhead applied vs actual [0-9]{4}-[0-9]{2}",
    "Checks": r"Checks [0-9]{4}-[0-9]{2}",
    "Summary": r"Summary [0-9]{4}-[0-9]{2}",
}


def result_sheets_of_earlier_closes(wb, recorded: str | None) -> set[str]:
    """The result sheets earlier closes wrote into ``wb``: those recorded (``recorded``, the
    ``wip.result_sheets`` property, one name a line) — or, in a workbook that records none, the
    whole set of result sheets when every one is there under its exact name, titled (A1) as its
    writer titles it, all for one month: the Close month button before 0.4.0's fixes wrote its
    sheets without recording them, and its books must close again.  A user's sheet of one of those
    names — their own, or one result sheet kept as a copy — is not taken."""
    import re

    if recorded is not None:
        return {name for name in recorded.split("\n") if name}
    # The whole set, every sheet titled for one month, as a close writes it: one sheet kept by the
    # user (a copy of last month's Summary pasted in) is the user's, and never replaced unasked.
    months = set()
    for name, pattern in _RESULT_TITLES.items():
        if name not in wb.sheetnames:
            return set()
        sheet = wb[name]
        first = sheet.cell(row=1, column=1).value if hasattr(sheet, "cell") else None  # a chart sheet: no
        if not (isinstance(first, str) and re.fullmatch(pattern, first)):
            return set()
        months.add(re.search(r"[0-9]{4}-[0-9]{2}", first).group())
    return set(_RESULT_TITLES) if len(months) == 1 else set()


def _result_names_taken(wb) -> list[Issue]:
    """Sheets of the user's own that carry a result sheet's name: the close would replace them.
    Excel's sheet names ignore case: a sheet ``checks`` takes the name ``Checks`` (openpyxl would
    write the results as ``Checks1``, and a re-close ``Checks2``).  A sheet is the close's own only
    under the very name a previous close recorded writing (``wip.result_sheets``): one that differs
    in case is the user's (or the user renamed ours), and is never replaced unasked."""
    from . import _sheets  # noqa: F401  (registers the standard result sheets)
    from ._results import RESULT_SHEETS, _custom_property

    ours = result_sheets_of_earlier_closes(wb, _custom_property(wb))
    results = {s.name.casefold(): s.name for s in RESULT_SHEETS}
    issues = []
    for title in wb.sheetnames:
        name = results.get(title.casefold())
        if name is None or title in ours:
            continue
        same = "" if title == name else f" (Excel's sheet names ignore upper and lower case: it is {name!r})"
        issues.append(Issue("RESULT_SHEET_NAME_TAKEN", f"{title} (sheet)",
                            f"the workbook has its own sheet {title!r}; the close writes its results to a sheet of "
                            f"that name{same} — rename your sheet"))
    return issues


def _read_only(path: Path) -> list[Issue]:
    from .._atomic import is_read_only

    if not is_read_only(path):
        return []
    return [Issue("WORKBOOK_READ_ONLY", "", f"{path.name} is read-only, and the close writes its result sheets into "
                                            "it; make it writable (chmod u+w, or clear Read-only in its Properties) "
                                            "and run the command again")]


def _would_lose(source) -> list[Issue]:
    """Content openpyxl cannot write back, outside the sheets a close replaces: saving the results
    would delete it."""
    from ._results import describe_loss, result_sheet_names

    replaced = result_sheet_names(source.formulas)
    return [Issue("UNSUPPORTED_CONTENT", f"{loss.sheet} (sheet)" if loss.sheet is not None else "",
                  f"{describe_loss(loss)}: writing the result sheets into the workbook would delete this "
                  "(openpyxl, which writes them, cannot keep it); remove it from the workbook, or close a copy "
                  "saved without it")
            for loss in source.losses if loss.sheet not in replaced]


def _take_last_read(path: Path):
    """(source, found) of the last read if ``path`` has not changed since; used once."""
    global _LAST
    last, _LAST = _LAST, None
    if last is not None and path.exists() and last[0] == _file_key(path):
        return last[1], last[2]
    return None


def read_close_workbook(path: str | Path, prior_for: Callable[[str], Any] | None = None, *,
                        month_before: Callable[[str], tuple[Any, frozenset[str]]] | None = None
                        ) -> tuple[dict | None, list[Issue]]:
    """The close data of a workbook, and every problem found in its tables (located to cells).

    ``prior_for(period)``: the close before ``period`` as the close resolves against it (the
    ledger's ``prior_for(period)[0]``; None for the ledger's first month).  Given, a workbook with
    problems in its tables is also checked as the close checks it, as far as it could be read, so
    that every problem is reported at once (``WorkbookInput.with_close_checks``); the data is None
    all the same.  Not given, only the tables' own problems are reported: the close's depend on
    the month before.

    ``month_before(period)``: instead of ``prior_for``, that close and the names the ledger vouches
    for (``costing.close_service.read_month_before``), which the workbook may use as the close that
    recorded them accepted them, as the close does — in the tables' own checks and the close's."""
    if month_before is not None:
        month_before = functools.cache(month_before)  # the ledger read once, by the tables or the checks
    found = read_workbook_input(path, (lambda period: month_before(period)[1]) if month_before else None)
    found.against_month_before((lambda period: month_before(period)[0]) if month_before is not None else prior_for)
    if (prior_for is None and month_before is None) or not found.issues or found.partial is None:
        return found.data, list(found.issues)
    period = found.partial.get("period")
    if not isinstance(period, str):
        return found.data, found.with_close_checks(None)
    prior, vouched = month_before(period) if month_before is not None else (prior_for(period), frozenset())
    return found.data, found.with_close_checks(prior, vouched)


def locate_issues(path: str | Path, issues: Sequence[Issue]) -> list[Issue]:
    """The close's issues (``products[0].stages[1].completed``) at the workbook's cells: of the
    last read when the workbook is unchanged since (it was read as the close took it, with the
    names the ledger vouched for), else read again."""
    path = Path(path)
    last = _LAST
    if last is not None and path.exists() and last[0] == _file_key(path):
        return last[2].locate(issues)
    found = read_workbook_input(path)
    return found.locate(issues)


def __getattr__(name: str) -> Any:  # the writer and openpyxl source load on first use
    if name == "OpenpyxlSource":
        from ._openpyxl import OpenpyxlSource

        return OpenpyxlSource
    if name in ("write_close_results", "register_result_sheet", "RESULT_SHEETS", "WorkbookChanged",
                "ContentWouldBeLost"):
        from . import _results

        return getattr(_results, name)
    raise AttributeError(name)
