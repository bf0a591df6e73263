"""WIP worksheet functions for Excel (xlwings).

Every function takes its inputs as 2-D ranges (`ndim=2`) and returns a 2-D array that spills,
so one array call covers a whole table — the documented pattern (a call per cell is slower and
harder to audit).  Each is a thin adapter over the public ``costing`` API: no costing logic here.
Errors come back as text starting with ``#WIP!`` in the cells concerned (see ``_cells``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from xlwings import arg, func, ret

import costing
from costing import CostingError, Issue

from ._block import locate, parse_block
from ._cells import error_text, issues_text, out, rows_with_header, to_number, to_text

__all__ = ["WIP_EQUIV_UNITS", "WIP_COST_PER_EU", "WIP_COST_REPORT", "WIP_ASSIGN", "WIP_OVERHEAD",
           "WIP_ROLLFORWARD", "WIP_JOURNAL", "WIP_FG_COVER", "WIP_CHECK"]

_UNIT_COLUMNS = ("method", "added", "beginning_units", "beginning_complete", "completed", "ending_units",
                 "ending_complete")


# Engine paths of the one-stage case built from a row -> the table column the value came from.
_ROW_COLUMN = {
    "stages[0].beginning_wip.units": "beginning_units", "stages[0].beginning_wip.complete": "beginning_complete",
    "stages[0].completed": "completed", "stages[0].ending_wip.units": "ending_units",
    "stages[0].ending_wip.complete": "ending_complete", "stages[0].started": "started (derived)",
    "stages[0].elements.e.added": "added", "stages[0].beginning_wip.cost.e": "beginning_cost",
    "stages[0].added_costs.e": "added_cost", "method": "method", "currency": "currency",
    "stages[0].spoilage.inspection": "inspection", "stages[0].spoilage.abnormal": "spoiled_units",
}


def _row_case(record: dict[str, Any], with_costs: bool) -> dict:
    """One table row as a one-element, one-stage case for the engine."""
    units = {k: to_number(record.get(k)) or Decimal(0) for k in
             ("beginning_units", "completed", "ending_units", "spoiled_units")}
    started = units["completed"] + units["ending_units"] + units["spoiled_units"] - units["beginning_units"] \
        if all(isinstance(v, Decimal) for v in units.values()) else "?"
    stage: dict[str, Any] = {
        "name": "row",
        "elements": {"e": {"kind": "material", "added": to_number(record.get("added")) or "evenly"}},
        "beginning_wip": {"units": units["beginning_units"], "complete": to_number(record.get("beginning_complete")) or 0},
        "started": started,
        "completed": units["completed"],
        "ending_wip": {"units": units["ending_units"], "complete": to_number(record.get("ending_complete")) or 0},
    }
    if units["spoiled_units"]:
        stage["spoilage"] = {"abnormal": units["spoiled_units"],
                             "inspection": to_number(record.get("inspection")) or 1}
    if with_costs:
        stage["beginning_wip"]["cost"] = {"e": to_number(record.get("beginning_cost")) or 0}
        stage["added_costs"] = {"e": to_number(record.get("added_cost")) or 0}
    return {"currency": to_text(record.get("currency")) or "USD", "method": to_text(record.get("method")),
            "stages": [stage]}


def _per_row(table: list[list[Any]], with_costs: bool, columns: list[str], pick) -> list[list[Any]]:
    header, rows = rows_with_header(table)
    missing = [c for c in _UNIT_COLUMNS if c not in header]
    if missing:
        return [[error_text("MISSING_COLUMN", f"the table needs columns {', '.join(missing)}")] + [""] * (len(columns) - 1)]
    result = [columns]
    for row in rows:
        record = dict(zip(header, row))
        try:
            report = costing.cost_case(_row_case(record, with_costs))
        except CostingError as e:
            located = [Issue(i.code, _ROW_COLUMN.get(i.path, i.path), i.message) for i in e.issues]
            result.append([issues_text(located)] + [""] * (len(columns) - 1))
            continue
        result.append([out(v) for v in pick(report.stages[0])])
    return result


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, doc="Table with a header row: method, added, beginning_units, beginning_complete, "
     "completed, ending_units, ending_complete [, spoiled_units, inspection]")
def WIP_EQUIV_UNITS(table):
    """Equivalent units of one element per row (weighted-average or FIFO) from units and completion."""
    return _per_row(table, False, ["equivalent_units"], lambda s: [s.equivalent_units["e"]])


@func(category="WIP costing")
@ret(ndim=2)
@arg("table", ndim=2, doc="The WIP_EQUIV_UNITS columns plus beginning_cost and added_cost [, currency]")
def WIP_COST_PER_EU(table):
    """Cost per equivalent unit per row: (beginning + added cost) / EU (weighted-average) or added / EU (FIFO)."""
    return _per_row(table, True, ["equivalent_units", "cost_per_eu"],
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
@arg("table", ndim=2, doc="Table with a header row: rate, driver_quantity, actual [, stage, currency]")
def WIP_OVERHEAD(table):
    """Overhead applied (rate x driver quantity, rounded to the currency) and under(+)/over(-)-applied per row."""
    from costing.close import apply_overhead

    header, rows = rows_with_header(table)
    result: list[list[Any]] = [["stage", "applied", "actual", "under_over_applied", "status"]]
    for row in rows:
        r = dict(zip(header, row))
        try:
            applied, actual, difference = apply_overhead(to_number(r.get("rate")), to_number(r.get("driver_quantity")),
                                                         to_number(r.get("actual")), to_text(r.get("currency")) or "USD")
        except ValueError as e:
            result.append([to_text(r.get("stage")), error_text("NOT_A_NUMBER", str(e)), "", "", ""])
            continue
        status = "under-applied" if difference > 0 else "over-applied" if difference < 0 else "exact"
        result.append([to_text(r.get("stage")), out(applied), out(actual), out(difference), status])
    return result


def _closed(ledger_path: Any, period: Any):
    from costing.ledger import Ledger, LedgerError

    try:
        with Ledger(to_text(ledger_path), create=False) as ledger:
            return ledger.current_close(to_text(period)), None
    except LedgerError as e:
        return None, [[error_text(e.code, e.message)]]


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
    if closed is None:
        return [[error_text("NOT_CLOSED", f"{to_text(period[0][0])} has no current close in the ledger")]]
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
    if closed is None:
        return [[error_text("NOT_CLOSED", f"{to_text(period[0][0])} has no current close in the ledger")]]
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
    from costing.ledger import Ledger, LedgerError
    from costing.variance import build_flow, current_closes, units_of

    period_text = to_text(period[0][0])
    try:
        with Ledger(to_text(ledger_path[0][0]), create=False) as ledger:
            history = [units_of(c) for c in current_closes(ledger, period_text)]
    except LedgerError as e:
        return [[error_text(e.code, e.message)]]
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
