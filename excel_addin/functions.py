"""WIP worksheet functions for Excel (xlwings).

Every function takes its inputs as 2-D ranges (`ndim=2`) and returns a 2-D array that spills,
so one array call covers a whole table — the documented pattern (a call per cell is slower and
harder to audit).  Each is a thin adapter over the public ``costing`` API: no costing logic here.
Errors come back as text starting with ``#WIP!`` in the cells concerned (see ``_cells``).
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from typing import Any, Callable

from xlwings import arg, func, ret

import costing
from costing import CostingError, Issue
from costing._currency import is_known_currency, quantum
from costing._numbers import ROUNDING_MODES, NumberError, to_decimal

from ._block import locate, parse_block
from ._cells import (error_text, is_blank, is_blank_row, issues_text, out, rows_with_header, to_number,
                     to_period, to_text)

__all__ = ["WIP_EQUIV_UNITS", "WIP_COST_PER_EU", "WIP_COST_REPORT", "WIP_ASSIGN", "WIP_OVERHEAD",
           "WIP_ROLLFORWARD", "WIP_JOURNAL", "WIP_FG_COVER", "WIP_CHECK"]

_UNIT_COLUMNS = ("method", "added", "beginning_units", "beginning_complete", "completed", "ending_units",
                 "ending_complete")
_COST_COLUMNS = ("beginning_cost", "added_cost")
_OVERHEAD_COLUMNS = ("rate", "driver_quantity", "actual")
_ZERO = Decimal(0)
_END = Decimal(1)


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
    issue at its column (a blank required cell is MISSING_VALUE, as in the close workbook)."""

    def __init__(self, record: dict[str, Any]):
        self.record = record
        self.issues: list[Issue] = []

    def missing(self, column: str, hint: str) -> None:
        self.issues.append(Issue("MISSING_VALUE", column, f"is blank (or an Excel error such as #N/A); {hint}"))

    def required(self, column: str, hint: str) -> Any:
        """A cell the engine reads itself (a word, or a fraction it checks)."""
        value = self.record.get(column)
        if is_blank(value):
            self.missing(column, hint)
            return None
        return to_number(value)

    def optional(self, column: str) -> Any:
        value = self.record.get(column)
        return None if is_blank(value) else to_number(value)

    def number(self, column: str, blank: Decimal | None = None) -> Decimal | None:
        """A number; a blank cell is ``blank`` when the column has a default, else an issue."""
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


def _row_case(record: dict[str, Any], with_costs: bool) -> tuple[dict | None, list[Issue]]:
    """One table row as a one-element, one-stage case for the engine, or the row's issues."""
    cells = _Cells(record)
    method = cells.required("method", "type weighted_average or fifo")
    added = cells.required("added", "type start, end, evenly or a fraction of progress such as 0.5")
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
    stage["started"] = completed + ending + spoiled - beginning  # the row gives output; input follows
    return {"currency": to_text(record.get("currency")) or "USD", "method": method, "stages": [stage]}, []


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
             compute: Callable[[int, dict[str, Any]], list[Any]]) -> list[list[Any]]:
    """One result row per input row: a blank input row gives a blank result row, so that the
    results spill beside the rows they belong to."""
    header, rows = rows_with_header(table)
    missing = [c for c in required if c not in header]
    if missing:
        return [_padded(error_text("MISSING_COLUMN", f"the table needs columns {', '.join(missing)}"), columns)]
    result = [columns]
    for number, row in enumerate(rows, start=2):
        result.append([""] * len(columns) if is_blank_row(row) else compute(number, dict(zip(header, row))))
    return result


def _padded(first: Any, columns: list[str]) -> list[Any]:
    return [first] + [""] * (len(columns) - 1)


def _cost_rows(table: list[list[Any]], with_costs: bool, columns: list[str], pick) -> list[list[Any]]:
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
    return _per_row(table, columns, required, compute)


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, doc="Table with a header row: method, added, beginning_units, beginning_complete, "
     "completed, ending_units, ending_complete [, spoiled_units, inspection]")
def WIP_EQUIV_UNITS(table):
    """Equivalent units of one element per row (weighted-average or FIFO) from units and completion."""
    return _cost_rows(table, False, ["equivalent_units"], lambda s: [s.equivalent_units["e"]])


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, doc="The WIP_EQUIV_UNITS columns plus beginning_cost and added_cost [, currency]")
def WIP_COST_PER_EU(table):
    """Cost per equivalent unit per row: (beginning + added cost) / EU (weighted-average) or added / EU (FIFO)."""
    return _cost_rows(table, True, ["equivalent_units", "cost_per_eu"],
                    lambda s: [s.equivalent_units["e"], s.cost_per_eu["e"]])


def _cost_block(block: list[list[Any]]):
    case, rows, issues = parse_block(block)
    if issues:
        return None, [[issues_text(issues)]]
    try:
        return costing.cost_case(case), None
    except CostingError as e:
        return None, [[issues_text([locate(i, rows) for i in e.issues])]]


@func(category="WIP costing")
@ret(ndim=2)
@arg("block", ndim=2, doc="Stage block: key | value rows spelling a case (currency, method, stage, element, "
     "beginning_wip.units, ...)")
def WIP_COST_REPORT(block):
    """The five-step production cost report of a stage or chain of stages, as a table that spills."""
    report, error = _cost_block(block)
    if error:
        return error
    table: list[list[Any]] = [["stage", "step", "line", "element", "value"]]
    for s in report.stages:
        pu = s.physical_units
        for line, value in (("beginning WIP", pu.beginning_wip), ("started", pu.started),
                            ("transferred in", pu.transferred_in), ("completed", pu.completed),
                            ("ending WIP", pu.ending_wip), ("normal spoilage", pu.normal_spoilage),
                            ("abnormal spoilage", pu.abnormal_spoilage)):
            table.append([s.name, "1 physical units", line, "", out(value)])
        for e, eu in s.equivalent_units.items():
            table.append([s.name, "2 equivalent units", "", e, out(eu)])
        ctaf = s.costs_to_account_for
        for e in s.equivalent_units:
            table.append([s.name, "3 costs to account for", "beginning WIP", e, out(ctaf.beginning_wip_by_element[e])])
            table.append([s.name, "3 costs to account for", "added", e, out(ctaf.added_by_element[e])])
        table.append([s.name, "3 costs to account for", "total", "", out(ctaf.total)])
        for e, rate in s.cost_per_eu.items():
            table.append([s.name, "4 cost per EU", "", e, out(rate)])
        for e in s.equivalent_units:
            table.append([s.name, "5 assignment", "transferred out", e, out(s.transferred_out.by_element[e])])
            table.append([s.name, "5 assignment", "ending WIP", e, out(s.ending_wip.by_element[e])])
            if s.abnormal_spoilage.by_element.get(e):
                table.append([s.name, "5 assignment", "abnormal spoilage", e, out(s.abnormal_spoilage.by_element[e])])
        table.append([s.name, "5 assignment", "transferred out", "", out(s.transferred_out.total)])
        table.append([s.name, "5 assignment", "ending WIP", "", out(s.ending_wip.total)])
        table.append([s.name, "5 assignment", "normal spoilage (in the above)", "", out(s.normal_spoilage.total)])
        table.append([s.name, "5 assignment", "abnormal spoilage", "", out(s.abnormal_spoilage.total)])
        table.append([s.name, "5 assignment", "costs accounted for", "", out(s.costs_accounted_for)])
    return table


@func(category="WIP costing")
@ret(ndim=2)
@arg("block", ndim=2, doc="Stage block: key | value rows spelling a case (see WIP_COST_REPORT)")
def WIP_ASSIGN(block):
    """Transferred-out and ending-WIP cost (and spoilage) by element for each stage of a block."""
    report, error = _cost_block(block)
    if error:
        return error
    table: list[list[Any]] = [["stage", "element", "transferred_out", "ending_wip", "normal_spoilage",
                               "abnormal_spoilage"]]
    for s in report.stages:
        for e in s.equivalent_units:
            table.append([s.name, e, out(s.transferred_out.by_element[e]), out(s.ending_wip.by_element[e]),
                          out(s.transferred_out.normal_spoilage_by_element[e] + s.ending_wip.normal_spoilage_by_element[e]),
                          out(s.abnormal_spoilage.by_element[e])])
        table.append([s.name, "total", out(s.transferred_out.total), out(s.ending_wip.total),
                      out(s.normal_spoilage.total), out(s.abnormal_spoilage.total)])
    return table


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, doc="Table with a header row: rate, driver_quantity, actual [, stage, currency, rounding]")
def WIP_OVERHEAD(table):
    """Overhead applied (rate x driver quantity, rounded to the currency) and under(+)/over(-)-applied per row."""
    columns = ["stage", "applied", "actual", "under_over_applied", "status"]
    return _per_row(table, columns, _OVERHEAD_COLUMNS, _overhead_row)


def _overhead_row(number: int, record: dict[str, Any]) -> list[Any]:
    from costing.close import apply_overhead

    stage = to_text(record.get("stage"))
    cells = _Cells(record)
    rate, quantity, actual = (cells.number(c) for c in _OVERHEAD_COLUMNS)
    currency = to_text(record.get("currency")) or "USD"
    rounding = to_text(record.get("rounding")).lower() or "half_up"
    cells.issues += _overhead_issues(rate, quantity, actual, currency, rounding)
    if cells.issues:
        return [stage, issues_text(_at(number, cells.issues)), "", "", ""]
    applied, actual, difference = apply_overhead(rate, quantity, actual, currency, rounding)
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


def _read_ledger(ledger_cell: Any, read: Callable) -> tuple[Any, list[list[str]] | None]:
    """(what ``read(ledger)`` returns, None) or (None, the error as a 1x1 result)."""
    from costing.ledger import Ledger, LedgerError

    if is_blank(ledger_cell):
        return None, [[error_text("MISSING_VALUE", "ledger_path is blank; give the ledger file (e.g. BOOK.wip.db)")]]
    path = to_text(ledger_cell)
    try:
        with Ledger(path, create=False) as ledger:
            return read(ledger), None
    except LedgerError as e:
        return None, [[error_text(e.code, e.message)]]
    except sqlite3.DatabaseError as e:  # a workbook or other file picked by mistake, a folder, a damaged file
        return None, [[error_text("UNREADABLE_FILE", f"cannot read {path} as a ledger ({e}); give the .wip.db "
                                                     "file that `wip close` writes")]]


def _period(period_cell: Any) -> tuple[str | None, list[list[str]] | None]:
    try:
        return to_period(period_cell), None
    except NumberError as e:
        return None, [[error_text(e.code, e.message)]]


def _closed(ledger_cell: Any, period_cell: Any):
    """(the period's current close, None) or (None, the error as a 1x1 result)."""
    period, error = _period(period_cell)
    if error:
        return None, error
    closed, error = _read_ledger(ledger_cell, lambda ledger: ledger.current_close(period))
    if error:
        return None, error
    if closed is None:
        return None, [[error_text("NOT_CLOSED", f"{period} has no current close in the ledger")]]
    return closed, None


@func(category="WIP costing")
@ret(ndim=2)
@arg("ledger_path", ndim=2, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, doc="Period, YYYY-MM")
def WIP_ROLLFORWARD(ledger_path, period):
    """The WIP roll-forward of a closed period from the ledger, by product, stage and element."""
    from costing.close import RollForward

    closed, error = _closed(ledger_path[0][0], period[0][0])
    if error:
        return error
    rf = RollForward.model_validate(closed.rollforward)
    columns = ["product", "stage", "element", "opening", "materials", "labour", "overhead", "conversion",
               "transferred_in", "transferred_out", "spoilage", "count_adjustment", "overhead_adjustment", "closing"]
    return [columns] + [[out(getattr(r, c)) for c in columns] for r in rf.rows]


@func(category="WIP costing")
@ret(ndim=2)
@arg("ledger_path", ndim=2, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, doc="Period, YYYY-MM")
def WIP_JOURNAL(ledger_path, period):
    """The journals of a closed period from the ledger, one row per line, debits and credits."""
    closed, error = _closed(ledger_path[0][0], period[0][0])
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
@arg("ledger_path", ndim=2, doc="Path of the ledger file (e.g. BOOK.wip.db)")
@arg("period", ndim=2, doc="Period, YYYY-MM")
def WIP_FG_COVER(ledger_path, period):
    """Finished-goods weeks of cover per product at a closed period's end, flagged outside 4-8 weeks."""
    from costing.variance import build_flow, current_closes, units_of

    period_text, error = _period(period[0][0])
    if error:
        return error
    history, error = _read_ledger(ledger_path[0][0],
                                  lambda ledger: [units_of(c) for c in current_closes(ledger, period_text)])
    if error:
        return error
    if not history or history[-1].period != period_text:
        return [[error_text("NOT_CLOSED", f"{period_text} has no current close in the ledger")]]
    report = build_flow(history)
    table: list[list[Any]] = [["product", "on_hand", "weekly_shipments", "weeks_of_cover", "flag"]]
    for c in report.cover:
        table.append([c.product, out(c.on_hand), out(c.weekly_shipments),
                      "" if c.weeks_of_cover is None else out(c.weeks_of_cover), c.flag])
    return table


@func(category="WIP costing")
@ret(ndim=2)
@arg("values", ndim=2, doc="Any range of WIP_* results")
def WIP_CHECK(values):
    """OK when no cell of the range holds a #WIP! error, else the number of errors and the first one."""
    errors = [c for row in values for c in row if isinstance(c, str) and c.startswith("#WIP!")]
    if not errors:
        return [["OK"]]
    return [[f"{len(errors)} error(s): {errors[0]}"]]
