"""WIP worksheet functions for Excel (xlwings).

Every function takes its inputs as 2-D ranges (`ndim=2`) and returns a 2-D array that spills,
so one array call covers a whole table — the documented pattern (a call per cell is slower and
harder to audit).  Each is a thin adapter over the public ``costing`` API: no costing logic here.
Errors come back as text starting with ``#WIP!`` in the cells concerned (see ``_cells``): in every
result cell of a row that cannot be computed, so that whichever result column is checked shows it.
Excel's SUM skips text, so a total is taken with ``WIP_TOTAL`` (no total when the range holds an
error) or guarded with ``WIP_CHECK``.  Every range is read with ``err_to_str=True``: an error cell
(#N/A) arrives as its text and is refused (FORMULA_ERROR), never read as a blank that takes a default.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from decimal import MAX_EMAX, MAX_PREC, MIN_EMIN, Context, Decimal, localcontext
from pathlib import Path
from typing import Any, Callable

from xlwings import arg, func, ret

import costing
from costing import (ROUNDING_MODES, CostingError, Issue, NumberError, ProcessAccountStageReport, is_known_currency,
                     edit_distance, quantum, to_decimal)

from ._block import block_outline, locate, parse_block
from ._book_file import UNREACHABLE, UNSAVED, WEB, BookFile, book_file
from ._cells import (ERROR_PREFIX, error_text, excel_error, first_cell, formula_error, grid, header_name, is_blank,
                     is_blank_row, is_wip_error, issues_text, out, rows_with_header, to_number, to_period, to_text)
from ._names import is_typo

__all__ = ["WIP_EQUIV_UNITS", "WIP_COST_PER_EU", "WIP_COST_REPORT", "WIP_ASSIGN", "WIP_OVERHEAD",
           "WIP_ROLLFORWARD", "WIP_JOURNAL", "WIP_FG_COVER", "WIP_CHECK", "WIP_TOTAL"]

_UNIT_COLUMNS = ("method", "added", "beginning_units", "beginning_complete", "completed", "ending_units",
                 "ending_complete")
_COST_COLUMNS = ("beginning_cost", "added_cost")
_OVERHEAD_COLUMNS = ("rate", "driver_quantity", "actual")
# Every column a function reads (an Excel error in any of them is refused; other columns are the user's).
_ROW_COLUMNS = _UNIT_COLUMNS + ("spoiled_units", "inspection", "currency")  # + _COST_COLUMNS with costs
_OVERHEAD_READ = _OVERHEAD_COLUMNS + ("stage", "currency", "rounding")
# Seconds a worksheet function waits for a ledger another process (a close) holds locked before
# LEDGER_BUSY: a recalculation should not hang Excel for the command line's 30 seconds.
LEDGER_TIMEOUT = 2.0
_ZERO = Decimal(0)
_END = Decimal(1)
# Units are added exactly, as the engine adds and compares them (costing's exact-units context is not
# public; this is the same context): in Python's default 28 digits a long sum would be rounded and a
# row that balances refused as UNIT_FLOW.
_EXACT_UNITS = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)


# Engine paths of the one-stage case built from a row -> the table column the value came from.
_ROW_COLUMN = {
    "stages[0].beginning_wip.units": "beginning_units", "stages[0].beginning_wip.complete": "beginning_complete",
    "stages[0].completed": "completed", "stages[0].ending_wip.units": "ending_units",
    "stages[0].ending_wip.complete": "ending_complete", "stages[0].started": "started = completed + ending_units + spoiled_units - beginning_units",
    "stages[0].elements.e.added": "added", "stages[0].beginning_wip.cost.e": "beginning_cost",
    "stages[0].added_costs.e": "added_cost", "method": "method", "currency": "currency",
    "stages[0].spoilage.inspection": "inspection", "stages[0].spoilage.abnormal": "spoiled_units",
}


class _Cells:
    """The cells of one table row, read by column name; each cell that cannot be read leaves an
    issue at its column (a blank required cell is MISSING_VALUE, an Excel error FORMULA_ERROR, as in
    the close workbook).  The Excel errors of all ``columns`` are refused up front, whether or not
    this row needs the cell: a column with an error is not what the user meant to give."""

    def __init__(self, record: dict[str, Any], columns: tuple[str, ...]):
        self.record = record
        self.issues: list[Issue] = []
        self.errors: set[str] = set()
        for column in columns:
            error = excel_error(record.get(column))
            if error:
                self.issues.append(Issue("FORMULA_ERROR", column, formula_error(error)))
                self.errors.add(column)

    def missing(self, column: str, hint: str) -> None:
        self.issues.append(Issue("MISSING_VALUE", column, f"is blank; {hint}"))

    def required(self, column: str, hint: str) -> Any:
        """A cell the engine reads itself (a word, or a fraction it checks)."""
        if column in self.errors:
            return None
        value = self.record.get(column)
        if is_blank(value):
            self.missing(column, hint)
            return None
        return self._read(column, value)

    def optional(self, column: str) -> Any:
        value = self.record.get(column)
        return None if column in self.errors or is_blank(value) else self._read(column, value)

    def _read(self, column: str, value: Any) -> Any:
        try:
            return to_number(value)
        except NumberError as e:  # a date where a number or a word belongs
            self.issues.append(Issue(e.code, column, e.message))
            return None

    def text(self, column: str, blank: str = "") -> str:
        """A word (currency, rounding, a label); a blank cell is ``blank``."""
        return "" if column in self.errors else to_text(self.record.get(column)) or blank

    def number(self, column: str, blank: Decimal | None = None) -> Decimal | None:
        """A number; a blank cell is ``blank`` when the column has a default, else an issue."""
        if column in self.errors:
            return None
        value = self.record.get(column)
        if is_blank(value):
            if blank is None:
                self.missing(column, "type the number, 0 if there is none")
            return blank
        try:
            return to_decimal(to_number(value))
        except NumberError as e:
            self.issues.append(Issue(e.code, column, e.message))
            return None


def _word(value: Any) -> Any:
    """A word of a choice read as the close workbook reads its choices (its Method column): case,
    spaces and hyphens aside.

    >>> _word(" FIFO "), _word("Weighted Average"), _word("weighted-average"), _word("Start"), _word(0.5)
    ('fifo', 'weighted_average', 'weighted_average', 'start', 0.5)
    """
    if not isinstance(value, str):
        return value
    return value.strip().lower().replace(" ", "_").replace("-", "_")


def _row_case(record: dict[str, Any], with_costs: bool) -> tuple[dict | None, list[Issue]]:
    """One table row as a one-element, one-stage case for the engine, or the row's issues."""
    cells = _Cells(record, _ROW_COLUMNS + (_COST_COLUMNS if with_costs else ()))
    method = _word(cells.required("method", "type weighted_average or fifo"))
    added = _word(cells.required("added", "type start, end, evenly or a fraction of progress such as 0.5"))
    beginning, completed, ending = (cells.number(c) for c in ("beginning_units", "completed", "ending_units"))
    spoiled = cells.number("spoiled_units", blank=_ZERO)  # optional column: no spoilage
    stage: dict[str, Any] = {
        "name": "row",
        "elements": {"e": {"kind": "material", "added": added}},
        "beginning_wip": _wip(beginning, cells.optional("beginning_complete")),
        "completed": completed,
        "ending_wip": _wip(ending, cells.optional("ending_complete")),
    }
    if spoiled:
        inspection = cells.optional("inspection")  # optional column: spoilage found at the end
        stage["spoilage"] = {"abnormal": spoiled, "inspection": _END if inspection is None else inspection}
    if with_costs:
        # No beginning WIP, no beginning cost: a blank is then 0, as an accountant leaves it.
        stage["beginning_wip"]["cost"] = {"e": cells.number("beginning_cost", blank=_ZERO if beginning == 0 else None)}
        stage["added_costs"] = {"e": cells.number("added_cost")}
    if cells.issues:
        return None, cells.issues
    with localcontext(_EXACT_UNITS):  # the row gives output; input follows, to the last place
        stage["started"] = completed + ending + spoiled - beginning
    return {"currency": cells.text("currency", "USD"), "method": method, "stages": [stage]}, []


def _wip(units: Decimal | None, complete: Any) -> dict[str, Any]:
    # A blank completion is left out: the engine asks for one only when there are units
    # (MISSING_COMPLETION), so an empty beginning or ending WIP may leave it blank.
    return {"units": units} if complete is None else {"units": units, "complete": complete}


def _at(number: int, issues: list[Issue]) -> list[Issue]:
    """Issues located at row ``number`` of the range (the header is row 1) and the cell's column."""
    located = []
    for i in issues:
        column = _ROW_COLUMN.get(i.path, i.path)
        located.append(Issue(i.code, f"row {number} ({column})" if column else f"row {number}", i.message))
    return located


def _per_row(table: list[list[Any]], columns: list[str], required: tuple[str, ...],
             compute: Callable[[int, dict[str, Any]], list[Any]], read: tuple[str, ...],
             known: tuple[str, ...] = (), guarded: tuple[str, ...] = ()) -> list[list[Any]]:
    """One result row per input row: a blank input row gives a blank result row, so that the
    results spill beside the rows they belong to.  ``read``: every column the function reads;
    ``known``: other columns of the same kind of table (a cost column in a units table);
    ``guarded``: the optional columns that change this function's figures (see ``_near_miss``)."""
    table = grid(table)
    header = table[0] if table else []
    # The names as every column is read (`Beginning Units` is beginning_units), required ones too.
    names, rows = rows_with_header(table)
    problem = _header_problem(header) or _near_miss(header, read, known, guarded)
    missing = [c for c in required if c not in names]
    if not problem and missing:
        problem = error_text("MISSING_COLUMN", f"the table needs columns {', '.join(missing)}")
    if problem:
        # The whole spill, not one row: a cell of it that a formula refers to would otherwise be
        # empty once the result shrinks, and read as 0 by that formula (a total falls silently).
        return [_padded(problem, columns) for _ in range(1 + len(rows))]
    result = [columns]
    for number, row in enumerate(rows, start=2):
        result.append([""] * len(columns) if is_blank_row(row) else compute(number, dict(zip(names, row))))
    return result


def _header_problem(cells: list[Any]) -> str | None:
    """An Excel error in the header row, or two columns whose names are the same once read (case
    and spaces aside: "Completed" and "completed"); either would make a column's values uncertain."""
    first: dict[str, int] = {}
    for k, cell in enumerate(cells, start=1):
        error = excel_error(cell)
        if error:
            return error_text("FORMULA_ERROR", f"row 1 (column {k} of the table): {formula_error(error, 'the header')}")
        name = header_name(cell)
        if not name:
            continue
        if name in first:
            return error_text("DUPLICATE_COLUMN", f"row 1 (columns {first[name]} and {k} of the table): both are "
                                                  f"{name}; keep one of them, or rename the other")
        first[name] = k
    return None


def _near_miss(cells: list[Any], read: tuple[str, ...], known: tuple[str, ...],
               guarded: tuple[str, ...]) -> str | None:
    """UNKNOWN_COLUMN for a header that may stand for a column the function reads and the table
    lacks, by two rules an auditor can check by eye:

    - a typing slip of any column read (a letter or two off: `completd`, `curency`, `rouding`);
    - for an optional column that changes this function's figures (``guarded``: ``_STEMS``), a
      header containing one of its stems once case is set aside and every run of spaces and
      punctuation read as `_` (`Inspection [%]`, `spoiled units, pcs`, `curr. code`, `qa_inspector`).

    Why refuse a user's own column (`inspection (who)`) rather than guess: a column refused is
    recoverable — the message says how to rename it, one way or the other — while a column left out
    silently takes the default and gives wrong figures that nothing shows.  With the column itself
    in the table, nothing is refused: `spoiled_value` beside `spoiled_units` is the user's own.
    Any header with no stem and no slip (`note`, `stage_name`, `ccy` in a units-only table) is the
    user's and left alone."""
    names = [header_name(c) for c in cells]
    absent = [c for c in read if c not in names]
    for k, name in enumerate(names, start=1):
        if not name or name in read or name in known:
            continue
        where = f"row 1 (column {k} of the table): {to_text(cells[k - 1])} is not a column this function reads"
        for column in (c for c in guarded if c in absent):
            found = _stems_in(name, column)
            if found:
                holds, default, example = _GUARDED[column]
                stems = " or ".join(f"'{s}'" for s in found)
                return error_text("UNKNOWN_COLUMN", f"{where}, and it contains {stems}: the function reads {column} "
                                                    f"from a column named {column}, and without one takes {default}. "
                                                    f"Rename this column to {column} if it holds {holds}, or rename "
                                                    f"it so it does not contain {stems} if it is your own "
                                                    f"(e.g. {example})")
        slips = [c for c in absent if is_typo(name, c)]
        if slips:
            meant = min(slips, key=lambda c: edit_distance(name, c))
            return error_text("UNKNOWN_COLUMN", f"{where}; did you mean {meant}? Rename it to {meant}, or give your "
                                                "own column a name further from it")
    return None


# The stems that stand for an optional column whose default changes the figures: a header holding
# one is refused while the column itself is absent (``_near_miss``); `curr` only as a word
# (`curr. code`, not `curry`).  A stage label has none: left out, it shows as a blank stage in the
# result, not as a wrong figure.
_STEMS = {"spoiled_units": ("spoil", "scrap", "reject"), "inspection": ("inspect",),
          "currency": ("currenc", "ccy", "curr"), "rounding": ("round",)}
_WORD_ONLY = {"curr"}
# What each holds, its default, and an example of renaming a user's own column away from its stems.
_GUARDED = {
    "spoiled_units": ("the units spoiled", "0 (no spoilage)", "scrap_reason to loss_reason"),
    "inspection": ("the inspection point", "1 (spoilage found at the end of the stage)", "qa_inspector to qa_by"),
    "currency": ("the currency code", "USD", "currency_note to fx_note"),
    "rounding": ("the rounding mode", "half_up", "rounding_diff to diff"),
}


def _stems_in(name: str, column: str) -> list[str]:
    """The stems of ``column`` in a header ``name`` (as ``header_name`` reads it), with every run of
    punctuation read as `_`.

    >>> [_stems_in(n, "inspection") for n in ("inspection_point_(%)", "inspection_[%]", "qa_inspector", "note")]
    [['inspect'], ['inspect'], ['inspect'], []]
    >>> [_stems_in(n, "currency") for n in ("curr._code", "currency:", "iso_currency", "ccy", "curry", "curr")]
    [['curr'], ['currenc'], ['currenc'], ['ccy'], [], ['curr']]
    >>> _stems_in("spoiled_units,_pcs", "spoiled_units"), _stems_in("scrap/spoil", "spoiled_units")
    (['spoil'], ['spoil', 'scrap'])
    """
    words = "_" + re.sub(r"[\W_]+", "_", name) + "_"
    return [s for s in _STEMS[column] if (f"_{s}_" if s in _WORD_ONLY else s) in words]


def _padded(error: str, columns: list[str]) -> list[Any]:
    """A row that cannot be computed: the error in every result cell, so that a check over any
    one result column shows it."""
    return [error] * len(columns)


def _cost_rows(table: list[list[Any]], with_costs: bool, columns: list[str], pick) -> list[list[Any]]:
    # Currency changes only the rounding of costs: a units-only table's figures do not depend on it.
    def compute(number: int, record: dict[str, Any]) -> list[Any]:
        case, issues = _row_case(record, with_costs)
        if issues:
            return _padded(issues_text(_at(number, issues)), columns)
        try:
            report = costing.cost_case(case)
        except CostingError as e:
            return _padded(issues_text(_at(number, e.issues)), columns)
        return [out(v) for v in pick(report.stages[0])]

    required = _UNIT_COLUMNS + (_COST_COLUMNS if with_costs else ())
    read = _ROW_COLUMNS + (_COST_COLUMNS if with_costs else ())
    guarded = ("spoiled_units", "inspection") + (("currency",) if with_costs else ())
    return _per_row(table, columns, required, compute, read, known=_ROW_COLUMNS + _COST_COLUMNS, guarded=guarded)


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, err_to_str=True,
     doc="Table with a header row: method, added, beginning_units, beginning_complete, completed, ending_units, "
     "ending_complete [, spoiled_units, inspection]")
def WIP_EQUIV_UNITS(table):
    """Equivalent units of one element per row (weighted-average or FIFO) from units and completion."""
    return _cost_rows(table, False, ["equivalent_units"], lambda s: [s.equivalent_units["e"]])


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, err_to_str=True,
     doc="The WIP_EQUIV_UNITS columns plus beginning_cost and added_cost [, currency]")
def WIP_COST_PER_EU(table):
    """Cost per equivalent unit per row: (beginning + added cost) / EU (weighted-average) or added / EU (FIFO)."""
    return _cost_rows(table, True, ["equivalent_units", "cost_per_eu"],
                    lambda s: [s.equivalent_units["e"], s.cost_per_eu["e"]])


def _cost_block(block: list[list[Any]], shape: Callable[[list[list[Any]]], tuple[int, int]]):
    """(the case's report, None), or (None, the error filling ``shape(block)``: the rows and columns
    the result has for the layout the block's keys spell), so that no cell a formula refers to is
    left empty (read as 0) when the block has a problem."""
    case, rows, issues = parse_block(grid(block))
    if not issues:
        try:
            return costing.cost_case(case), None
        except CostingError as e:
            issues = [locate(i, rows) for i in e.issues]
    height, width = shape(block)
    return None, [[issues_text(issues)] * width for _ in range(height)]


def _assign_shape(block: list[list[Any]]) -> tuple[int, int]:
    """WIP_ASSIGN's rows and columns for a block: a header, then per stage a row for each element
    (the transferred-in cost's too, after the first stage or where the stage takes one) and a total."""
    stages, process = block_outline(grid(block))
    return 1 + sum(n + transfer + 1 for n, transfer in stages), 8 if process else 7


def _report_shape(block: list[list[Any]]) -> tuple[int, int]:
    """WIP_COST_REPORT's rows for a block (five columns): the same lines for every stage of a layout,
    whatever its figures (a line of zeros is a line), so that a cell referred to stays that line."""
    stages, process = block_outline(grid(block))
    rows = 1
    for n, transfer in stages:
        e = n + transfer
        rows += (8 if process else 7) + e + (2 * e + 1) + ((e + 1) if process else 0) + e  # steps 1 to 4
        rows += e * (5 if process else 4) + 5 + 1 + (1 if process else 0)  # step 5
    return rows, 5


@func(category="WIP costing")
@ret(ndim=2)
@arg("block", ndim=2, err_to_str=True,
     doc="Stage block: key | value rows spelling a case (currency, method, stage, element, beginning_wip.units, ...)")
def WIP_COST_REPORT(block):
    """The five-step production cost report of a stage or chain of stages, as a table that spills."""
    report, error = _cost_block(block, _report_shape)
    if error:
        return error
    table: list[list[Any]] = [["stage", "step", "line", "element", "value"]]
    for s in report.stages:
        process = isinstance(s, ProcessAccountStageReport)
        pu = s.physical_units
        lines = [("beginning WIP", pu.beginning_wip), ("started", pu.started), ("transferred in", pu.transferred_in),
                 ("completed", pu.completed), ("ending WIP", pu.ending_wip)]
        if process:  # lost units: what the flow leaves; an abnormal gain is deducted (negative)
            lines += [("normal loss", s.normal_loss.units), ("abnormal loss", s.abnormal_loss.units),
                      ("abnormal gain", _ZERO - s.abnormal_gain.units)]
        else:
            lines += [("normal spoilage", pu.normal_spoilage), ("abnormal spoilage", pu.abnormal_spoilage)]
        for line, value in lines:
            table.append([s.name, "1 physical units", line, "", out(value)])
        for e, eu in s.equivalent_units.items():
            table.append([s.name, "2 equivalent units", "", e, out(eu)])
        ctaf = s.costs_to_account_for
        for e in s.equivalent_units:
            table.append([s.name, "3 costs to account for", "beginning WIP", e, out(ctaf.beginning_wip_by_element[e])])
            table.append([s.name, "3 costs to account for", "added", e, out(ctaf.added_by_element[e])])
        table.append([s.name, "3 costs to account for", "total", "", out(ctaf.total)])
        if process:  # the cost per unit of expected output is of the costs less the normal loss's scrap value
            for e in s.equivalent_units:
                table.append([s.name, "3 costs to account for", "less scrap value of normal loss", e,
                              out(_ZERO - s.normal_loss.by_element[e])])
            table.append([s.name, "3 costs to account for", "less scrap value of normal loss", "",
                          out(_ZERO - s.normal_loss.total)])
        for e, rate in s.cost_per_eu.items():
            table.append([s.name, "4 cost per EU", "", e, out(rate)])
        assignment = _assignment(s)
        for e in s.equivalent_units:  # every line, zeros too: the report's layout never depends on its figures
            for line, amount in assignment:
                table.append([s.name, "5 assignment", line, e, out(amount.element(e))])
        for line, amount in assignment:
            if line == "abnormal spoilage":
                table.append([s.name, "5 assignment", "normal spoilage (in the above)", "",
                              out(s.normal_spoilage.total)])
            table.append([s.name, "5 assignment", line, "", out(amount.signed_total)])
        table.append([s.name, "5 assignment", "costs accounted for", "", out(s.costs_accounted_for)])
        if process:  # the scrap account's balance: the scrap value of the units actually lost
            table.append([s.name, "5 assignment", "scrap of units lost", "", out(s.scrap.total)])
    return table


class _Signed:
    """An assigned amount (total and by element) with the sign it takes in costs accounted for."""

    def __init__(self, total: Decimal, by_element: dict[str, Decimal], deducted: bool = False):
        self.total, self.by_element, self.deducted = total, by_element, deducted

    @property
    def signed_total(self) -> Decimal:
        return _ZERO - self.total if self.deducted else self.total

    def element(self, name: str) -> Decimal:
        return _ZERO - self.by_element[name] if self.deducted else self.by_element[name]


def _assignment(s) -> list[tuple[str, _Signed]]:
    """Step 5's lines, which add up to the costs accounted for.  Under the spoilage convention the
    normal spoilage is inside transferred out and ending WIP, and the spoiled goods' disposal value
    is a line of its own (the spoilage is net of it); under the process-account convention
    the normal loss (at its scrap value), the abnormal loss and, deducted, the abnormal gain are lines
    of their own."""
    lines = [("transferred out", _Signed(s.transferred_out.total, s.transferred_out.by_element)),
             ("ending WIP", _Signed(s.ending_wip.total, s.ending_wip.by_element))]
    if isinstance(s, ProcessAccountStageReport):
        lines += [("normal loss (scrap value)", _Signed(s.normal_loss.total, s.normal_loss.by_element)),
                  ("abnormal loss", _Signed(s.abnormal_loss.total, s.abnormal_loss.by_element)),
                  ("less abnormal gain", _Signed(s.abnormal_gain.total, s.abnormal_gain.by_element, deducted=True))]
    else:
        normal, abnormal = s.normal_spoilage, s.abnormal_spoilage
        lines.append(("abnormal spoilage", _Signed(abnormal.total, abnormal.by_element)))
        # The spoiled units' disposal value, recorded as spoiled goods: the spoilage lines are net of it.
        lines.append(("spoiled goods at disposal value", _Signed(
            normal.disposal_value + abnormal.disposal_value,
            {e: normal.disposal_value_by_element.get(e, _ZERO) + abnormal.disposal_value_by_element.get(e, _ZERO)
             for e in s.equivalent_units})))
    return lines


@func(category="WIP costing")
@ret(ndim=2)
@arg("block", ndim=2, err_to_str=True, doc="Stage block: key | value rows spelling a case (see WIP_COST_REPORT)")
def WIP_ASSIGN(block):
    """Transferred-out and ending-WIP cost (and spoilage or losses) by element for each stage of a block."""
    report, error = _cost_block(block, _assign_shape)
    if error:
        return error
    if report.loss_convention == "process_account":
        # Each row adds up to what the stage accounts for (the abnormal gain deducted); scrap, the
        # scrap account's balance for the units actually lost, is on the stage's total row.
        table: list[list[Any]] = [["stage", "element", "transferred_out", "ending_wip", "normal_loss",
                                   "abnormal_loss", "less_abnormal_gain", "scrap"]]
        for s in report.stages:
            for e in s.equivalent_units:
                table.append([s.name, e] + [out(a.element(e)) for _, a in _assignment(s)] + [""])
            table.append([s.name, "total"] + [out(a.signed_total) for _, a in _assignment(s)]
                         + [out(s.scrap.total)])
        return table
    # Spoilage net of its disposal value, which is a column of its own: transferred out + ending WIP
    # + abnormal spoilage + disposal value is what the stage accounts for (normal spoilage is in the first two).
    table = [["stage", "element", "transferred_out", "ending_wip", "normal_spoilage", "abnormal_spoilage",
              "disposal_value"]]
    for s in report.stages:
        disposal = dict(_assignment(s))["spoiled goods at disposal value"]
        for e in s.equivalent_units:
            table.append([s.name, e, out(s.transferred_out.by_element[e]), out(s.ending_wip.by_element[e]),
                          out(s.transferred_out.normal_spoilage_by_element[e] + s.ending_wip.normal_spoilage_by_element[e]),
                          out(s.abnormal_spoilage.by_element[e]), out(disposal.element(e))])
        table.append([s.name, "total", out(s.transferred_out.total), out(s.ending_wip.total),
                      out(s.normal_spoilage.total), out(s.abnormal_spoilage.total), out(disposal.total)])
    return table


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, err_to_str=True,
     doc="Table with a header row: rate, driver_quantity, actual [, stage, currency, rounding]")
def WIP_OVERHEAD(table):
    """Overhead applied (rate x driver quantity, rounded to the currency) and under(+)/over(-)-applied per row."""
    columns = ["stage", "applied", "actual", "under_over_applied", "status"]
    return _per_row(table, columns, _OVERHEAD_COLUMNS, _overhead_row, _OVERHEAD_READ, guarded=("currency", "rounding"))


def _overhead_row(number: int, record: dict[str, Any]) -> list[Any]:
    from costing.close import apply_overhead

    cells = _Cells(record, _OVERHEAD_READ)
    stage = cells.text("stage")
    rate, quantity, actual = (cells.number(c) for c in _OVERHEAD_COLUMNS)
    currency = cells.text("currency", "USD")
    rounding = cells.text("rounding", "half_up").lower()
    cells.issues += [i for i in _overhead_issues(rate, quantity, actual, currency, rounding)
                     if i.path not in cells.errors]  # an error cell is reported once, as FORMULA_ERROR
    if not cells.issues:
        try:
            applied, actual, difference = apply_overhead(rate, quantity, actual, currency, rounding)
        except NumberError as e:  # rate x driver quantity not below NUMBER_LIMIT, as the close refuses it
            cells.issues.append(Issue(e.code, "driver_quantity", e.message))
    if cells.issues:
        error = issues_text(_at(number, cells.issues))
        return [error if "stage" in cells.errors else stage] + [error] * 4
    status = "under-applied" if difference > 0 else "over-applied" if difference < 0 else "exact"
    return [stage, out(applied), out(actual), out(difference), status]


def _overhead_issues(rate, quantity, actual, currency: str, rounding: str) -> list[Issue]:
    """What the close refuses in its overhead settings, refused here too (same codes)."""
    issues = []
    for column, value, code in (("rate", rate, "NEGATIVE_AMOUNT"), ("driver_quantity", quantity, "NEGATIVE_UNITS"),
                                ("actual", actual, "NEGATIVE_AMOUNT")):
        if value is not None and value < 0:
            issues.append(Issue(code, column, f"cannot be negative, found {value}"))
    if not (len(currency) == 3 and currency.isupper() and is_known_currency(currency)):
        issues.append(Issue("UNKNOWN_CURRENCY", "currency", f"unknown currency {currency!r}; expected an ISO 4217 code"))
    elif actual is not None and actual != actual.quantize(quantum(currency)):
        issues.append(Issue("AMOUNT_PRECISION", "actual", f"{actual} has more decimal places than {currency} allows; "
                                                          "actual overhead is a posted amount"))
    if rounding not in ROUNDING_MODES:
        issues.append(Issue("INVALID_CHOICE", "rounding", f"expected {' or '.join(ROUNDING_MODES)}, found {rounding!r}"))
    return issues


def _book_folder(caller: Any) -> tuple[Path | None, str]:
    """(the folder of the workbook a formula is in, "") or (None, why there is none, as the end of
    RELATIVE_LEDGER_PATH's message).  xlwings passes the calling range as ``caller``."""
    try:
        where = book_file(caller.sheet.book)
    except Exception as e:  # noqa: BLE001 - Excel busy, the workbook closing
        where = BookFile(None, UNREACHABLE, str(e) or type(e).__name__)
    if where.path is not None:
        return where.path.parent, ""
    if where.why == UNSAVED:
        return None, ("this workbook is not saved in a folder to read it from; give the full path (e.g. "
                      "C:\\close\\wip_close.wip.db), or save the workbook")
    if where.why == WEB:
        return None, (f"this workbook is open from OneDrive or SharePoint ({where.what}), and its folder on this "
                      "computer could not be found; give the ledger's full path (e.g. C:\\close\\wip_close.wip.db), "
                      "or save the workbook to a folder on this computer (File > Save As > Browse > This PC)")
    return None, (f"Excel could not be asked for this workbook's folder ({where.what}); recalculate (Ctrl+Alt+F9) "
                  "once Excel is idle, or give the full path (e.g. C:\\close\\wip_close.wip.db)")


def _ledger_path(ledger_cell: Any, caller: Any) -> tuple[Path | None, str | None]:
    """(the ledger file, None) or (None, the error).  Windows' "Copy as path" puts the path in double
    quotes: one pair around it is taken off (what is left may be blank: MISSING_VALUE).  A relative
    path is read from the folder of the workbook the formula is in, not from the folder Excel's
    Python process happens to run in; called from Python (no ``caller``), from the current folder."""
    text = to_text(ledger_cell)
    if len(text) >= 2 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    if not text:
        return None, _NO_LEDGER_PATH
    path = Path(text)
    if path.is_absolute() or caller is None:
        return path, None
    folder, why = _book_folder(caller)
    if folder is None:
        return None, error_text("RELATIVE_LEDGER_PATH", f"ledger_path {text} is relative, and {why}")
    return folder / path, None


_NO_LEDGER_PATH = error_text("MISSING_VALUE", "ledger_path is blank; give the ledger file (e.g. BOOK.wip.db)")


def _read_ledger(ledger_cell: Any, period: str, read: Callable, caller: Any = None
                 ) -> tuple[Any, list[list[str]] | None]:
    """(what ``read(ledger)`` returns, None) or (None, the error as a 1x1 result).  A period whose
    close rests on a superseded close is NEEDS_RE_CLOSE: the command line shows its figures with a
    warning on stderr, which a worksheet does not have."""
    from costing.cli_support import ledger_option_for
    from costing.ledger import Ledger, LedgerError, refusal_of

    error = excel_error(ledger_cell)
    if error:
        return None, [[error_text("FORMULA_ERROR", f"ledger_path: {formula_error(error)}")]]
    if is_blank(ledger_cell):
        return None, [[_NO_LEDGER_PATH]]
    path, error = _ledger_path(ledger_cell, caller)
    if error:
        return None, [[error]]
    try:
        option = ledger_option_for(path)  # Excel's working directory relates to nothing: the path itself
        with Ledger(path, create=False, timeout=LEDGER_TIMEOUT, ledger_option=option) as ledger:
            why = ledger.needs_re_close(period)
            if why is not None:
                return None, [[error_text("NEEDS_RE_CLOSE", why)]]
            return read(ledger), None
    except LedgerError as e:
        if e.code == "LEDGER_NOT_FOUND":  # the command line's message names its options; a worksheet has none
            return None, [[error_text(e.code, f"no ledger at {path}; give the full path of the .wip.db file the "
                                              "close wrote (the Close month button keeps it beside the close "
                                              "workbook: BOOK.wip.db for BOOK.xlsm)")]]
        return None, [[error_text(e.code, e.message)]]
    except sqlite3.DatabaseError as e:  # a workbook or other file picked by mistake, a folder, a damaged file
        said = refusal_of(path, e)
        if said is not None and said.code == "LEDGER_TAMPERED":  # the right file, damaged: not "pick the file"
            return None, [[error_text(said.code, said.message)]]
        return None, [[error_text("UNREADABLE_FILE", f"cannot read {path} as a ledger ({e}); give the .wip.db "
                                                     "file that `wip close` writes")]]


def _period(period_cell: Any) -> tuple[str | None, list[list[str]] | None]:
    error = excel_error(period_cell)
    if error:
        return None, [[error_text("FORMULA_ERROR", f"period: {formula_error(error)}")]]
    if is_blank(period_cell):  # an empty cell is a value not given, as everywhere else, not a wrong month
        return None, [[error_text("MISSING_VALUE", "period is blank; type the month closed, YYYY-MM (as text: "
                                                   "'2026-10)")]]
    try:
        return to_period(period_cell), None
    except NumberError as e:
        return None, [[error_text(e.code, e.message)]]


def _closed(ledger_path: Any, period_cell: Any, caller: Any):
    """(the period's current close, None) or (None, the error as a 1x1 result)."""
    period, error = _period(first_cell(period_cell))
    if error:
        return None, error
    closed, error = _read_ledger(first_cell(ledger_path), period, lambda ledger: ledger.current_close(period), caller)
    if error:
        return None, error
    if closed is None:
        return None, [[error_text("NOT_CLOSED", f"{period} has no current close in the ledger")]]
    return closed, None


@func(category="WIP costing")
@ret(ndim=2)
@arg("ledger_path", ndim=2, err_to_str=True, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, err_to_str=True, doc="Period, YYYY-MM")
def WIP_ROLLFORWARD(ledger_path, period, caller=None):
    """The WIP roll-forward of a closed period from the ledger, by product, stage and element."""
    from costing.close import RollForward

    closed, error = _closed(ledger_path, period, caller)
    if error:
        return error
    rf = RollForward.model_validate(closed.rollforward)
    columns = ["product", "stage", "element", "opening", "materials", "labour", "overhead", "conversion",
               "transferred_in", "transferred_out", "spoilage", "count_adjustment", "overhead_adjustment", "closing"]
    # The roll-forward's spoilage is what leaves WIP for spoilage (WIP's credit in the spoilage
    # journal): abnormal loss plus disposal value, as the text report and workbook title it.  A
    # column headed "spoilage" alone reads as all of it, normal spoilage's cost included.
    titles = [_ROLLFORWARD_TITLES.get(c, c) for c in columns]
    return [titles] + [[out(getattr(r, c)) for c in columns] for r in rf.rows]


_ROLLFORWARD_TITLES = {"spoilage": "abnormal_loss_and_disposal_value"}


@func(category="WIP costing")
@ret(ndim=2)
@arg("ledger_path", ndim=2, err_to_str=True, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, err_to_str=True, doc="Period, YYYY-MM")
def WIP_JOURNAL(ledger_path, period, caller=None):
    """The journals of a closed period from the ledger, one row per line, debits and credits."""
    closed, error = _closed(ledger_path, period, caller)
    if error:
        return error
    book = closed.journals
    table: list[list[Any]] = [["journal", "date", "narration", "account", "account_name", "debit", "credit", "memo"]]
    for j in book.journals:
        for line in j.lines:
            table.append([j.id, j.date.isoformat(), j.narration, line.account, book.accounts[line.account].name,
                          out(line.debit), out(line.credit), line.memo])
    return table


@func(category="WIP costing")
@ret(ndim=2)
@arg("ledger_path", ndim=2, err_to_str=True, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, err_to_str=True, doc="Period, YYYY-MM")
def WIP_FG_COVER(ledger_path, period, caller=None):
    """Finished-goods weeks of cover per product at a closed period's end, flagged outside 4-8 weeks."""
    from costing.variance import COVER_PERIODS, build_flow, each_current_close, units_of

    period_text, error = _period(first_cell(period))
    if error:
        return error
    # The months the cover averages, one close decoded at a time.
    history, error = _read_ledger(first_cell(ledger_path), period_text,
                                  lambda ledger: [units_of(c) for c in each_current_close(
                                      ledger, period_text, last=COVER_PERIODS, light=True)], caller)
    if error:
        return error
    if not history or history[-1].period != period_text:
        return [[error_text("NOT_CLOSED", f"{period_text} has no current close in the ledger")]]
    report = build_flow(history)
    # The months averaged last: a product closed in fewer months of the window (launched in it, or
    # a ledger holding one month) is averaged over those only, which the figures alone do not show.
    table: list[list[Any]] = [["product", "on_hand", "weekly_shipments", "weeks_of_cover", "flag", "periods"]]
    for c in report.cover:
        table.append([c.product, out(c.on_hand), out(c.weekly_shipments),
                      "" if c.weeks_of_cover is None else out(c.weeks_of_cover), c.flag, ", ".join(c.periods)])
    return table


def _errors_in(values: Any) -> tuple[int, list[str]]:
    """(how many rows of the range hold an error, the first error of each kind in the order met).  An
    error is a ``#WIP!`` text (case and leading spaces aside) or an Excel error.  A failed row shows
    its error in every result cell: an auditor counts the rows that failed, not the cells.  Errors
    are told apart by their code (``#WIP! MISSING_VALUE`` in rows 2 and 3 is one kind: each text
    names its own row) or the Excel error (``#N/A``), case aside; two kinds in one row (two
    functions' results side by side, a result row laid across) are two.

    >>> _errors_in([["#WIP! MISSING_VALUE: row 2 (completed): x"], ["#wip! missing_value: row 3 (completed): x"],
    ...             ["#N/A"], ["#N/A"]])
    (4, ['#WIP! MISSING_VALUE: row 2 (completed): x', '#N/A (an Excel error, row 3, column 1 of the range)'])
    """
    rows, kinds = 0, {}
    for r, row in enumerate(grid(values), start=1):
        found = False
        for c, cell in enumerate(row, start=1):
            if is_wip_error(cell):
                text = cell.strip()
                kinds.setdefault(_error_code(text), text)
                found = True
                continue
            error = excel_error(cell)
            if error:
                kinds.setdefault(error.upper(), f"{error} (an Excel error, row {r}, column {c} of the range)")
                found = True
        rows += found
    return rows, list(kinds.values())


def _error_code(text: str) -> str:
    """The code of a ``#WIP!`` text: what follows ``#WIP!`` up to the colon, upper case.

    >>> _error_code("#WIP! UNIT_FLOW: row 3 (stages[0]): x"), _error_code("#wip!  unit_flow:x"), _error_code("#WIP! A")
    ('#WIP! UNIT_FLOW', '#WIP! UNIT_FLOW', '#WIP! A')
    """
    code = text[len(ERROR_PREFIX):].split(":", 1)[0].strip()
    return f"{ERROR_PREFIX} {code.upper()}"


def _rows_with_errors(rows: int, errors: list[str], verb: str = "") -> str:
    """
    >>> _rows_with_errors(1, ["#WIP! A: x"])
    '1 row with an error: #WIP! A: x'
    >>> _rows_with_errors(2, ["#WIP! A: x", "#N/A (an Excel error, row 1, column 2 of the range)", "#WIP! B: y"])
    '2 rows with an error (3 different); the first: #WIP! A: x'
    >>> _rows_with_errors(1, ["#WIP! A: x"], verb="of the range hold")
    '1 row of the range holds an error: #WIP! A: x'
    """
    if verb:
        verb = " " + (verb.replace(" hold", " holds") if rows == 1 else verb)
    else:
        verb = " with"
    text = f"{rows} {'row' if rows == 1 else 'rows'}{verb} an error"
    return f"{text}: {errors[0]}" if len(errors) == 1 else f"{text} ({len(errors)} different); the first: {errors[0]}"


@func(category="WIP costing")
@ret(ndim=2)
@arg("values", ndim=2, err_to_str=True, doc="Any range of WIP_* results")
def WIP_CHECK(values):
    """OK when no cell of the range holds a #WIP! or an Excel error, else how many rows hold one, how many different
    errors there are (by code, or Excel error), and the first."""
    rows, errors = _errors_in(values)
    if not errors:
        return [["OK"]]
    return [[_rows_with_errors(rows, errors)]]


@func(category="WIP costing")
@ret(ndim=2)
@arg("values", ndim=2, err_to_str=True, doc="A result column of a WIP_* function, e.g. F2# (its header is skipped)")
def WIP_TOTAL(values):
    """Sum of the numbers of a range (blanks and a header, a first row of names only, skipped), or #WIP! when a cell
    holds an error, a date, or text or TRUE/FALSE outside the header (SUM would skip it: a total short of it)."""
    rows, errors = _errors_in(values)
    if errors:  # SUM would skip the #WIP! text and give a total short of the failed rows
        return [[error_text("RANGE_HAS_ERRORS", f"no total: {_rows_with_errors(rows, errors, 'of the range hold')}")]]
    total = _ZERO
    cells = grid(values)
    # A row range (F3:H3) or a column range without its header (F3:F10) has no header to skip: text
    # or TRUE/FALSE in its first row is a cell SUM skips like any other, not a header.
    first = 2 if cells and _is_header(cells[0]) else 1
    with localcontext(_EXACT_UNITS):  # added exactly: each number as Excel shows it, no binary sum's noise
        for r, row in enumerate(cells, start=1):
            for c, cell in enumerate(row, start=1):
                if isinstance(cell, (dt.date, dt.datetime)):  # SUM would add the date's serial number
                    try:
                        to_number(cell)
                    except NumberError as e:
                        return [[error_text(e.code, f"no total: row {r}, column {c} of the range: {e.message}")]]
                if r >= first and not is_blank(cell) and (isinstance(cell, (str, bool))):
                    # "1,000", "n/a", TRUE: SUM skips them and gives a total short of what the cell stands for
                    found = f"TRUE/FALSE ({'TRUE' if cell else 'FALSE'})" if isinstance(cell, bool) \
                        else f"the text {cell.strip()!r}"
                    why = " (a first row is skipped as a header only when it holds names alone)" if r == 1 else ""
                    return [[error_text("NOT_A_NUMBER", f"no total: row {r}, column {c} of the range: expected a "
                                                        f"number, found {found}{why}; type the number (or clear the "
                                                        "cell)")]]
                if isinstance(cell, (float, int, Decimal)) and not isinstance(cell, bool):
                    number = to_number(cell)  # a float at Excel's 15 digits
                    number = Decimal(number) if isinstance(number, int) else number
                    if isinstance(number, Decimal) and number.is_finite():
                        total += number
    return [[out(total)]]


def _is_header(row: list[Any]) -> bool:
    """A range's first row is its header (a spilled result's, skipped as SUM skips it) only when each
    of its cells is blank or a name: text holding a letter that is not a number (`1e5`).  A number,
    TRUE/FALSE or a number typed as text (`1,000`) in it is a cell of the total, not a header.

    >>> [_is_header(r) for r in (["cost_per_eu", None], ["transferred_out", "ending_wip"], [0.1, "n/a"],
    ...                          ["1,000"], [" 200 "], [True], ["1e5"], ["n/a"])]
    [True, True, False, False, False, False, False, True]
    """
    return all(is_blank(cell) or (isinstance(cell, str) and any(ch.isalpha() for ch in cell)
                                  and not _reads_as_number(cell)) for cell in row)


def _reads_as_number(text: str) -> bool:
    try:
        float(text.strip().replace(",", ""))
    except ValueError:
        return False
    return True
