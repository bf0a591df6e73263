"""The standard result sheets: Cost Report, Roll-forward, Journal, Finished Goods & COGS, Overhead,
Checks and Summary (charts).

Each figure is a formula over the input tables and the other result sheets wherever the close's
arithmetic can be said simply in a spreadsheet (equivalent units, cost per EU, assignment, totals,
journal balances, ties); the engine's value is the formula's cached result.  Where the engine's
largest-remainder rounding (or its half-even mode) differs from ROUND, the difference is its own
visible cell in a "Rounding adj." column, and the formula adds it.  Values the engine resolved in
ways a formula would only obscure (units passing inspection, overhead proration weights), numbers
typed as text, and posted journal lines are values, shaded grey; each posted line sits beside a
formula that traces it to the result sheets, and Checks sums the differences.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any

from openpyxl.chart import BarChart, Reference, Series
from openpyxl.utils.cell import get_column_letter

from .._engine import beginning_cost_completed, equivalent_unit_terms
from .._journal import net_by_account
from .._model import ElementKind
from ..close._journals import Texts
from .._numbers import ROUNDING_MODES, engine_context, from_excel
from ._results import (ADJ_FILL, CHECK_FONT, ENGINE_FILL, HEADER_FONT, NOTE_FONT, Layout, ResultContext,
                       _lines_needed, literal, register_result_sheet)
from ._schema import SETTINGS, TABLE_BY_NAME, normalise_header
from ._source import Cell, quote_sheet

_ZERO = Decimal(0)
CR_SHEET, RF_SHEET, JOURNAL_SHEET, FG_SHEET, OH_SHEET, CHECKS_SHEET, SUMMARY_SHEET = (
    "Cost Report", "Roll-forward", "Journal", "Finished Goods & COGS", "Overhead", "Checks", "Summary")
FIRST = 5  # first data row of the tabular sheets (title, note, step groups, headers above)

CR = Layout([
    ("product", "Product", None), ("stage", "Stage", None), ("element", "Element", None), ("kind", "Kind", None),
    ("added", "Added", None),
    ("b_units", "Beginning WIP units", "units"), ("b_done", "Beginning WIP: element complete", "fraction"),
    ("in_units", "Started or transferred in", "units"), ("completed", "Completed and transferred out", "units"),
    ("e_units", "Ending WIP units", "units"), ("e_done", "Ending WIP: element complete", "fraction"),
    ("normal_units", "Normal spoilage units", "units"), ("abnormal_units", "Abnormal spoilage units", "units"),
    ("s_done", "Spoiled units: element complete", "fraction"),
    ("pass_out", "Passed inspection: completed", "units"), ("pass_end", "Passed inspection: ending WIP", "units"),
    ("units_diff", "Units to account for - accounted for", "units"),
    ("eu", "Equivalent units", "units"),
    ("b_cost", "Beginning WIP cost", "money"), ("driver_qty", "Overhead driver quantity", "units"),
    ("added_cost", "Cost added this month", "money"), ("added_adj", "Rounding adj. (overhead applied)", "money"),
    ("ctaf", "Costs to account for", "money"),
    ("rate", "Cost per equivalent unit", "rate"),
    ("out", "Completed units: this month's work", "money"), ("out_adj", "Rounding adj.", "money"),
    ("end", "Ending WIP: work", "money"), ("end_adj", "Rounding adj.", "money"),
    ("normal", "Normal spoilage (gross)", "money"), ("normal_adj", "Rounding adj.", "money"),
    ("abnormal", "Abnormal spoilage (gross)", "money"), ("abnormal_adj", "Rounding adj.", "money"),
    ("n_disp", "Disposal value: normal spoilage", "money"), ("n_disp_adj", "Rounding adj.", "money"),
    ("a_disp", "Disposal value: abnormal spoilage", "money"), ("a_disp_adj", "Rounding adj.", "money"),
    ("n_to_out", "Normal spoilage to completed units", "money"), ("n_to_out_adj", "Rounding adj.", "money"),
    ("n_to_end", "Normal spoilage to ending WIP", "money"),
    ("to", "Transferred out", "money"), ("end_total", "Ending WIP", "money"),
    ("abn_net", "Abnormal spoilage (net, a loss)", "money"),
    ("disp_total", "Spoiled goods at disposal value", "money"),
    ("accounted", "Costs accounted for", "money"), ("cost_diff", "Costs to account for - accounted for", "money"),
])
CR_GROUPS = {"b_units": "1. Physical units", "eu": "2. Equivalent units", "b_cost": "3. Costs to account for",
             "rate": "4. Cost per equivalent unit", "out": "5. Assignment of costs"}

RF = Layout([
    ("product", "Product", None), ("stage", "Stage", None), ("element", "Element", None), ("account", "WIP account", None),
    ("opening", "Opening", "money"), ("materials", "Materials", "money"), ("labour", "Labour", "money"),
    ("overhead", "Overhead", "money"), ("conversion", "Conversion", "money"),
    ("transferred_in", "Transferred in", "money"), ("to_next", "Transferred out to the next stage", "money"),
    ("to_fg", "Completed to finished goods", "money"),
    ("spoilage", "Abnormal loss + disposal value", "money"), ("count_adj", "Count adjustment", "money"),
    ("count_adj_adj", "Rounding adj. (count)", "money"), ("oh_adj", "Overhead proration", "money"),
    ("closing", "Closing", "money"), ("closing_units", "Closing units", "units"),
    ("received_from", "Received from (stage)", None),
    ("sent_to", "Next stage (blank: the product's last stage)", None),
])
# The sign convention, stated on the sheet: additions and deductions are amounts (never negative
# for a deduction), adjustments carry their sign.
RF_GROUPS = {"materials": "Additions (+)", "to_next": "Deductions (-)", "count_adj": "Adjustments (+/-)"}
# What the spoilage column holds, said on the sheet as the text roll-forward says it: what leaves
# WIP for spoilage (WIP's credit in the spoilage journal), not all of spoilage's cost.
RF_SPOILAGE_NOTE = ("Abnormal loss + disposal value: the cost of abnormal spoilage written off plus the disposal "
                    "(scrap) value of all spoiled units, normal and abnormal; the rest of normal spoilage's cost "
                    "stays with the good units, in the transfers out.")
RF_ADDITIONS = ("materials", "labour", "overhead", "conversion", "transferred_in")
RF_DEDUCTIONS = ("to_next", "to_fg", "spoilage")
RF_ADJUSTMENTS = ("count_adj", "oh_adj")  # the count's rounding adjustment is part of count_adj
RF_MOVEMENTS = RF_ADDITIONS + RF_DEDUCTIONS + RF_ADJUSTMENTS
# The subtotals by WIP account, below the rows: the same columns, then the tie to the journals.
RF_TIE = Layout([("movement", "Movement: closing - opening", "money"),
                 ("posted", "Posted to the account (Journal: debits - credits)", "money"),
                 ("tie_diff", "Difference", "money")], first=RF.col("closing") + 1)
_KIND_COLUMN = {"material": "materials", "labour": "labour", "overhead": "overhead", "conversion": "conversion",
                "transferred_in": "transferred_in"}


def _x(sheet: str, ref: str) -> str:
    return f"{quote_sheet(sheet)}!{ref}"


def _quoted(text: str) -> str:
    """A formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def _sum_where(amounts: str, *criteria: tuple[str, str]) -> str:
    """The sum of ``amounts`` over the rows where each (range, value) matches exactly; ``value``
    is a cell reference or a ``_quoted`` text.  EXACT, not SUMIFS: SUMIFS reads its criteria as
    patterns (a name with * or ? is a wildcard, one starting with = < > a comparison) and ignores
    case, so a stage "Mix*" or "=Mix" would sum the wrong rows."""
    tests = "*".join(f"EXACT({where},{value})" for where, value in criteria)
    return f"SUMPRODUCT({tests}*{amounts})"


def _progress_ref(ctx: ResultContext, path: str, element, engine: Decimal) -> str | None:
    """The progress cell an element's completion is a formula over (``_completion``); an empty one
    too when that formula, reading it as 0, gives the close's completion."""
    at_zero = Decimal(0) if element.added_at is None else Decimal(1 if element.added_at <= 0 else 0)
    return ctx.ref(path, engine == at_zero)


def _completion(ref: str | None, element, engine: Decimal) -> tuple[Any, Decimal]:
    """An element's completion from a progress cell: evenly = progress; at point p = 1 once reached."""
    if ref is None or element.kind is ElementKind.TRANSFERRED_IN:
        return engine, engine
    if element.added_at is None:
        return f"={ref}", engine
    return f"=IF({ref}>={literal(element.added_at)},1,0)", engine


# ---- Cost Report ---------------------------------------------------------------------------------

def _normal_in_whole_units(ctx: ResultContext, i: int, j: int) -> bool:
    """Whether product ``i``'s stage ``j`` counts normal spoilage from its rate in whole units
    (the Production row's "Normal spoilage from rate": whole_units)."""
    data = ctx.input.data if ctx.input.data is not None else ctx.input.partial
    try:
        spoilage = data["products"][i]["stages"][j].get("spoilage") or {}
    except (KeyError, IndexError, TypeError):
        return False
    return spoilage.get("normal_from_rate") == "whole_units"


def write_cost_report(ctx: ResultContext, ws) -> None:
    ctx.title(ws, f"Production cost report {ctx.spec.period} — {ctx.spec.company} ({ctx.spec.method}, "
                  f"{ctx.spec.currency})",
              "One row per product, stage and element, in the five steps. Formulas over the input tables; grey: "
              "values the engine resolved or the ledger carried; orange: rounding adjustments.")
    ctx.header(ws, FIRST - 1, CR, CR_GROUPS)
    fifo = ctx.spec.method == "fifo"
    P = ctx.places
    rows: dict[tuple[int, str, str], int] = {}  # (product index, stage, element) -> row
    stage_rows: dict[tuple[int, str], tuple[int, int]] = {}
    r = FIRST
    for i, (pplan, presult) in enumerate(zip(ctx.plan.products, ctx.result.products)):
        for stage, sr in zip(pplan.case.stages, presult.report.stages):
            stage_rows[(i, stage.name)] = (r, r + len(stage.elements) - 1)
            for element in stage.elements:
                rows[(i, stage.name, element.name)] = r
                r += 1
    ctx.shared["cr_rows"] = rows
    ctx.shared["cr_stage_rows"] = stage_rows
    ctx.shared["cr_last"] = r - 1

    with localcontext(engine_context(ROUNDING_MODES[ctx.spec.rounding])):
        for i, (pplan, presult) in enumerate(zip(ctx.plan.products, ctx.result.products)):
            previous: tuple[int, int] | None = None
            for j, (stage, sr) in enumerate(zip(pplan.case.stages, presult.report.stages)):
                _cost_report_stage(ctx, ws, i, j, pplan, stage, sr, rows, stage_rows, previous, fifo, P)
                previous = stage_rows[(i, stage.name)]
    if r > FIRST:  # each row's own checks: green at zero, red otherwise
        ctx.flag(ws, CR.span("units_diff", FIRST, r - 1))
        ctx.flag(ws, CR.span("cost_diff", FIRST, r - 1))
    for key, _, _ in CR.columns:
        ws.column_dimensions[CR.letter[key]].width = 13 if key not in ("product", "stage") else 18


def _cost_report_stage(ctx, ws, i, j, pplan, stage, sr, rows, stage_rows, previous, fifo, P) -> None:
    path = f"products[{i}].stages[{j}]"
    first, last = stage_rows[(i, stage.name)]
    sp = stage.spoilage
    spoiled = bool(sp.normal + sp.abnormal)
    from_book = ctx.first_period  # later months: opening WIP comes from the ledger, not the tables
    ctf = sr.costs_to_account_for
    oh_element = pplan.overhead_element.get(stage.name)
    config = ctx.spec.overhead.get(stage.name)
    kinds = {e.name: e.kind.value for e in stage.elements}
    for element in stage.elements:
        e = element.name
        r = rows[(i, stage.name, e)]
        at = lambda key: CR.at(key, r)  # noqa: E731

        def put(key, value, engine=None, fill=None):
            kind = CR.kind[key]
            ctx.put(ws, r, CR.col(key), value, engine, ctx.fmt(kind), fill)

        put("product", pplan.name)
        put("stage", stage.name)
        put("element", e)
        put("kind", element.kind.value)
        put("added", "start" if element.added_at == 0 else "end" if element.added_at == 1 else
            "evenly" if element.added_at is None else f"{format(element.added_at * 100, 'f')}%")

        # 1. physical units
        # An input cell is referred to even when left empty, if the close read it as 0; where there
        # is no input cell (a stage without an Opening row) the value is typed, grey.
        b_units = stage.beginning.units
        b_ref = ctx.ref(f"{path}.beginning_wip.units", b_units == 0) if from_book else None
        put("b_units", f"={b_ref}" if b_ref else b_units, b_units, None if b_ref else ENGINE_FILL)
        b_done = stage.beginning.completion[e]
        value, engine = _completion(_progress_ref(ctx, f"{path}.beginning_wip.complete", element, b_done)
                                    if from_book else None, element, b_done)
        put("b_done", value, engine, None if isinstance(value, str) else ENGINE_FILL)
        if previous is not None:
            put("in_units", f"={CR.at('completed', previous[0])}", stage.input_units)
        else:
            ref = ctx.ref(f"{path}.started") or ctx.ref(f"{path}.transferred_in") \
                or ctx.ref(f"{path}.started", stage.input_units == 0)
            put("in_units", f"={ref}" if ref else stage.input_units, stage.input_units, None if ref else ENGINE_FILL)
        ref = ctx.ref(f"{path}.completed", stage.completed == 0)
        put("completed", f"={ref}" if ref else stage.completed, stage.completed, None if ref else ENGINE_FILL)
        ref = ctx.ref(f"{path}.ending_wip.units", stage.ending.units == 0)
        put("e_units", f"={ref}" if ref else stage.ending.units, stage.ending.units, None if ref else ENGINE_FILL)
        e_done = stage.ending.completion[e]
        value, engine = _completion(_progress_ref(ctx, f"{path}.ending_wip.complete", element, e_done), element, e_done)
        put("e_done", value, engine, None if isinstance(value, str) else ENGINE_FILL)
        if spoiled:
            normal_ref, abnormal_ref = ctx.ref(f"{path}.spoilage.normal"), ctx.ref(f"{path}.spoilage.abnormal")
            spoiled_ref = ctx.ref(f"{path}.spoilage.spoiled")
            rate_ref = ctx.ref(f"{path}.spoilage.normal_rate")
            if normal_ref:
                put("normal_units", f"={normal_ref}", sp.normal)
            elif rate_ref:  # the rate x good units passing inspection, at most what was spoiled
                normal_f = f"{rate_ref}*({at('pass_out')}+{at('pass_end')})"
                # Whole units: half-up to a whole unit, as Excel's ROUND does (29% x 50 is
                # 14.499999999999998 as floats: rounded to 6 places first, 14.5 -> 15).  Following the
                # row's "Normal spoilage from rate" cell where there is one (its choices are exact,
                # blank, and whole_units in any case or spacing): changed after the close, the split
                # between normal and abnormal spoilage moves, and Checks with it.
                mode_ref = ctx.choice_ref(f"{path}.spoilage.normal_from_rate")
                whole = ctx.rounded(normal_f, 0, beyond=6)
                if mode_ref:
                    normal_f = f'IF(ISNUMBER(SEARCH("whole",{mode_ref})),{whole},{normal_f})'
                elif _normal_in_whole_units(ctx, i, j):
                    normal_f = whole
                put("normal_units", f"=MIN({spoiled_ref},{normal_f})" if spoiled_ref else f"={normal_f}", sp.normal)
            elif spoiled_ref and abnormal_ref:
                put("normal_units", f"={spoiled_ref}-{abnormal_ref}", sp.normal)
            else:  # none given (0), or typed as text: the engine's figure
                put("normal_units", sp.normal, fill=ENGINE_FILL)
            if abnormal_ref:
                put("abnormal_units", f"={abnormal_ref}", sp.abnormal)
            elif spoiled_ref:
                put("abnormal_units", f"={spoiled_ref}-{at('normal_units')}", sp.abnormal)
            else:
                put("abnormal_units", sp.abnormal, fill=ENGINE_FILL)
            value, engine = _completion(_progress_ref(ctx, f"{path}.spoilage.inspection", element, sp.completion[e]),
                                        element, sp.completion[e])
            put("s_done", value, engine, None if isinstance(value, str) else ENGINE_FILL)
            put("pass_out", stage.completed_passing, fill=ENGINE_FILL)
            put("pass_end", stage.ending_passing, fill=ENGINE_FILL)
        put("units_diff", f"={at('b_units')}+{at('in_units')}-{at('completed')}-{at('e_units')}-{at('normal_units')}"
                          f"-{at('abnormal_units')}", _ZERO)

        # 2. equivalent units.  FIFO on an idle line (fewer completed than began, nothing started):
        # the completed units were beginning units, and ending WIP's work this period is its
        # progress less what those units had (equivalent_unit_terms); written so only on such a row.
        idle = fifo and stage.completed < b_units
        if idle:
            out_eu_f = f"({at('completed')}*(1-{at('b_done')}))"
            end_eu_f = f"({at('e_units')}*{at('e_done')}-({at('b_units')}-{at('completed')})*{at('b_done')})"
        else:
            out_eu_f = (f"({at('b_units')}*(1-{at('b_done')})+{at('completed')}-{at('b_units')})" if fifo
                        else f"{at('completed')}")
            end_eu_f = f"{at('e_units')}*{at('e_done')}"
        put("eu", f"={out_eu_f}+{end_eu_f}+({at('normal_units')}+{at('abnormal_units')})"
                  f"*{at('s_done')}", sr.equivalent_units[e])

        # 3. costs to account for
        b_cost = ctf.beginning_wip_by_element[e]
        ref = ctx.ref(f"{path}.beginning_wip.cost.{e}", b_cost == 0) if from_book else None
        put("b_cost", f"={ref}" if ref else b_cost, b_cost if ref else None, None if ref else ENGINE_FILL)
        added = ctf.added_by_element[e]
        if element.kind is ElementKind.TRANSFERRED_IN:
            put("added_cost", f"=SUM({CR.span('to', *previous)})" if previous else added, added)
        elif e == oh_element and config is not None:
            quantity = pplan.driver_quantity[stage.name]
            if config.driver == "direct_labour_cost":
                labour = [CR.at("added_cost", rows[(i, stage.name, n)]) for n, k in kinds.items() if k == "labour"]
                put("driver_qty", "=" + ("+".join(labour) if labour else "0"), quantity)
            else:
                ref = ctx.ref(f"{path}.driver_quantity", quantity == 0)
                put("driver_qty", f"={ref}" if ref else quantity, quantity, None if ref else ENGINE_FILL)
            rate_ref = ctx.num(f"overhead.{stage.name}.rate", config.rate)
            _adj(ctx, ws, r, "added_cost", "added_adj",
                 ctx.rounded(f"{rate_ref}*{at('driver_qty')}", value=config.rate * quantity),
                 added, ctx.round_hu(config.rate * quantity))
        else:
            ref = ctx.ref(f"{path}.added_costs.{e}", added == 0)
            put("added_cost", f"={ref}" if ref else added, added, None if ref else ENGINE_FILL)
        put("ctaf", f"={at('b_cost')}+{at('added_cost')}", b_cost + added)

        # 4. cost per equivalent unit
        pool_f = at("added_cost") if fifo else f"({at('b_cost')}+{at('added_cost')})"
        rate = sr.cost_per_eu[e]
        put("rate", f"=IF({at('eu')}=0,0,{pool_f}/{at('eu')})", rate)

        # 5. assignment
        to = sr.transferred_out.by_element[e]
        n_to_out = sr.transferred_out.normal_spoilage_by_element[e]
        end_total = sr.ending_wip.by_element[e]
        n_to_end = sr.ending_wip.normal_spoilage_by_element[e]
        # FIFO: beginning WIP's cost goes out with the completed units — on an idle line only their
        # share by units (beginning_cost_completed), the rest staying in ending WIP.
        b_out_f, b_out = at("b_cost"), (b_cost if fifo else _ZERO)
        if idle:  # rounded as the engine rounds it, in the close's mode: no adjustment cell holds it
            b_out = beginning_cost_completed(b_cost, b_units, stage.completed, ctx.q, ROUNDING_MODES[ctx.spec.rounding])
            b_out_f = ctx.rounded_as_posted(f"{at('b_cost')}*{at('completed')}/{at('b_units')}",
                                            b_cost * stage.completed / b_units, b_out)
        out = to - n_to_out - b_out
        end = end_total - n_to_end - (b_cost - b_out if idle else _ZERO)
        finish, started_and_completed, e_eu = equivalent_unit_terms(fifo, b_units, b_done, stage.completed,
                                                                    stage.ending.units, stage.ending.completion[e])
        out_eu = started_and_completed if finish is None else finish + started_and_completed
        _adj(ctx, ws, r, "out", "out_adj", ctx.rounded(f"{out_eu_f}*{at('rate')}", value=out_eu * rate), out,
             ctx.round_hu(out_eu * rate))
        n_disp = sr.normal_spoilage.disposal_value_by_element[e]
        a_disp = sr.abnormal_spoilage.disposal_value_by_element[e]
        abn_net = sr.abnormal_spoilage.by_element[e]
        # Ending WIP = its equivalent units x cost per EU (+ the rounding adjustment), never the pool
        # less what was completed: costs to account for = accounted for is then a check that can fail.
        _adj(ctx, ws, r, "end", "end_adj", ctx.rounded(f"{end_eu_f}*{at('rate')}", value=e_eu * rate), end,
             ctx.round_hu(e_eu * rate))
        if spoiled:
            normal = sr.normal_spoilage.by_element[e] + n_disp
            abnormal = abn_net + a_disp
            _adj(ctx, ws, r, "normal", "normal_adj",
                 ctx.rounded(f"{at('normal_units')}*{at('s_done')}*{at('rate')}",
                             value=sp.normal * sp.completion[e] * rate),
                 normal, ctx.round_hu(sp.normal * sp.completion[e] * rate))
            _adj(ctx, ws, r, "abnormal", "abnormal_adj",
                 ctx.rounded(f"{at('abnormal_units')}*{at('s_done')}*{at('rate')}",
                             value=sp.abnormal * sp.completion[e] * rate), abnormal,
                 ctx.round_hu(sp.abnormal * sp.completion[e] * rate))
            dv = ctx.num(f"{path}.spoilage.disposal_value", sp.disposal_value)
            for key, gross_key, engine, which in (("n_disp", "normal", n_disp, sr.normal_spoilage),
                                                  ("a_disp", "abnormal", a_disp, sr.abnormal_spoilage)):
                weights = {n: which.by_element[n] + which.disposal_value_by_element[n] for n in sr.equivalent_units}
                total_w = sum(weights.values(), _ZERO)
                # The spoiled goods are one amount, rounded once in the close's mode, normal
                # spoilage its share by units and abnormal the rest (as the engine splits it,
                # engine 0.6.0); each element its share by gross spoilage.  Where the engine's
                # largest remainder differs (a tie both kinds round alike under half-even), the
                # adjustment cell beside holds it, in sight.
                spoiled_units = sp.normal + sp.abnormal
                whole_f, whole = ctx.rounded_in_mode(f"({at('normal_units')}+{at('abnormal_units')})*{dv}",
                                                     spoiled_units * sp.disposal_value)
                normal_f, normal_share = ctx.rounded_in_mode(
                    f"{whole_f}*{at('normal_units')}/({at('normal_units')}+{at('abnormal_units')})",
                    whole * sp.normal / spoiled_units)
                amount, amount_f = ((normal_share, normal_f) if key == "n_disp"
                                    else (whole - normal_share, f"({whole_f}-{normal_f})"))
                mirror = _ZERO * ctx.q if not total_w else ctx.round_hu(amount * weights[e] / total_w)
                gross_range = CR.span(gross_key, first, last)
                _adj(ctx, ws, r, key, key + "_adj",
                     f"IF(SUM({gross_range})=0,0,"
                     + ctx.rounded(f"{amount_f}*{at(gross_key)}/SUM({gross_range})",
                                   value=amount * weights[e] / total_w if total_w else None)
                     + ")", engine, mirror)
            passing = stage.completed_passing + stage.ending_passing
            net = normal - n_disp
            mirror = _ZERO * ctx.q if not passing else ctx.round_hu(net * stage.completed_passing / passing)
            _adj(ctx, ws, r, "n_to_out", "n_to_out_adj",
                 f"IF({at('pass_out')}+{at('pass_end')}=0,0,"
                 + ctx.rounded(f"({at('normal')}-{at('n_disp')})*{at('pass_out')}/({at('pass_out')}+{at('pass_end')})",
                               value=net * stage.completed_passing / passing if passing else None)
                 + ")", n_to_out, mirror)
            put("n_to_end", "=" + ctx.cents(f"{at('normal')}-{at('n_disp')}-{at('n_to_out')}"), n_to_end)
        put("to", "=" + ctx.cents((f"{b_out_f}+" if fifo else "") + f"{at('out')}+{at('n_to_out')}"), to)
        put("end_total", "=" + ctx.cents(f"{at('end')}+{at('n_to_end')}" + (f"+{at('b_cost')}-{b_out_f}" if idle else "")),
            end_total)
        put("abn_net", "=" + ctx.cents(f"{at('abnormal')}-{at('a_disp')}"), abn_net)
        put("disp_total", "=" + ctx.cents(f"{at('n_disp')}+{at('a_disp')}"), n_disp + a_disp)
        put("accounted", "=" + ctx.cents(f"{at('to')}+{at('end_total')}+{at('abn_net')}+{at('disp_total')}"),
            to + end_total + abn_net + n_disp + a_disp)
        put("cost_diff", f"=ROUND({at('ctaf')}-{at('accounted')},{P})",
            b_cost + added - (to + end_total + abn_net + n_disp + a_disp))


def _adj(ctx: ResultContext, ws, r: int, key: str, adj_key: str, formula: str, engine: Decimal, mirror: Decimal,
         layout: Layout = CR) -> None:
    """``key`` = formula + its rounding adjustment cell (engine − what ROUND gives), shown when not zero."""
    adjustment = engine - mirror
    adj_ref = layout.at(adj_key, r)
    if adjustment:
        ctx.put(ws, r, layout.col(adj_key), adjustment, fmt=ctx.money, fill=ADJ_FILL)
    ctx.put(ws, r, layout.col(key), f"={formula}+{adj_ref}", engine, ctx.money)


# ---- Overhead (planned first: the roll-forward and finished goods refer to its cells) ----------

_BUCKETS = {"wip": "WIP", "fg": "Finished goods", "cogs": "Cost of goods sold"}


def _overhead_plan(ctx: ResultContext) -> dict:
    """Where the Overhead sheet's rows go: the proration table has a row per bucket the engine
    weighed (a bucket with neither weight nor amount adds nothing and is left out).

    The engine moves a finished-goods part on to COGS when none of this month's layer is left to
    hold it; that needs a part without weight, which largest-remainder allocation never gives, so
    the table has no row for it — were it to happen, the Journal's Traced column would show it."""
    if "oh" in ctx.shared:
        return ctx.shared["oh"]
    lines = list(ctx.result.overhead)
    first = FIRST
    total = first + len(lines)
    plan = {"lines": lines, "first": first, "last": total - 1, "total": total, "materiality": total + 2,
            "disposition": total + 3, "prorated": total + 4, "written_off": total + 5, "proration_header": total + 7}
    entries = []  # (bucket label, product index, stage, element, weight, amount, pool)
    for share in ctx.result.proration:
        if share.weight or share.amount:
            entries.append((_BUCKETS[share.bucket], share.product, share.stage, share.element, share.weight,
                            share.amount, share.pool))
    plan["entries"] = entries
    first_entry = plan["proration_header"] + 1
    plan["where"] = {}  # (bucket label, product index, stage, element) -> rows (one per pool)
    for row, entry in enumerate(entries, start=first_entry):
        plan["where"].setdefault(entry[:4], []).append(row)
    plan["line_row"] = {line.stage: first + k for k, line in enumerate(lines)}
    plan["proration_total"] = first_entry + len(entries)
    last_entry = plan["proration_total"] - 1
    plan["weights"], plan["pools"] = f"$E${first_entry}:$E${last_entry}", f"$I${first_entry}:$I${last_entry}"
    ctx.shared["oh"] = plan
    return plan


def oh_ref(ctx: ResultContext, bucket: str, i: int, stage: str = "", element: str = "") -> str | None:
    """The Overhead sheet's proration of one bucket: its amount cell, or the sum of its cells when
    several pools (departments) prorated into it."""
    rows = _overhead_plan(ctx)["where"].get((bucket, i, stage, element))
    if rows is None:
        return None
    refs = [_x(OH_SHEET, f"{_PRORATED}{row}") for row in rows]
    return refs[0] if len(refs) == 1 else "(" + "+".join(refs) + ")"


def write_overhead(ctx: ResultContext, ws) -> None:
    plan = _overhead_plan(ctx)
    q, money = ctx.q, ctx.money
    ctx.title(ws, f"Overhead applied vs actual {ctx.spec.period}",
              "Applied = predetermined rate x driver quantity, per product-stage (Cost Report); the difference is "
              "written off to COGS or, with prorate, each stage's pool at or above materiality is prorated in "
              "proportion to that pool's overhead of this month in each place it went (grey: the engine's weights).")
    layout = Layout([("stage", "Stage", None), ("driver", "Driver", None), ("rate", "Rate", "rate"),
                     ("quantity", "Driver quantity", "units"), ("applied", "Applied", "money"),
                     ("actual", "Actual", "money"), ("diff", "Under (+) / over (-) applied", "money"),
                     ("disposition", "Disposition (per Settings)", None),
                     ("posted", "Disposition posted by the close", None)])
    ctx.header(ws, FIRST - 1, layout)
    cr_last = ctx.shared["cr_last"]
    stage_col, kind_col = CR.span("stage", FIRST, cr_last), CR.span("kind", FIRST, cr_last)
    for k, line in enumerate(plan["lines"]):
        r = plan["first"] + k
        ctx.put(ws, r, 1, line.stage)
        ctx.put(ws, r, 2, line.driver)
        rate_ref = ctx.ref(f"overhead.{line.stage}.rate")
        ctx.put(ws, r, 3, f"={rate_ref}" if rate_ref else line.rate, line.rate, ctx.fmt("rate"),
                None if rate_ref else ENGINE_FILL)
        overhead_rows = ((_x(CR_SHEET, stage_col), f"A{r}"), (_x(CR_SHEET, kind_col), _quoted("overhead")))
        ctx.put(ws, r, 4, "=" + _sum_where(_x(CR_SHEET, CR.span("driver_qty", FIRST, cr_last)), *overhead_rows),
                line.driver_quantity, ctx.fmt("units"))
        ctx.put(ws, r, 5, "=" + _sum_where(_x(CR_SHEET, CR.span("added_cost", FIRST, cr_last)), *overhead_rows),
                line.applied, money)
        actual_ref = ctx.ref(f"overhead.{line.stage}.actual")
        ctx.put(ws, r, 6, f"={actual_ref}" if actual_ref else line.actual, line.actual, money,
                None if actual_ref else ENGINE_FILL)
        # Rounded: F-E of two amounts in a currency's decimals is binary noise off them (KWD's
        # 55.530 - 111.060 is -55.5299999999997), and H compares it with materiality.
        ctx.put(ws, r, 7, f"=ROUND(F{r}-E{r},{ctx.places})", line.under_applied, money)
        # Each pool on its own: prorated when the setting says so, its difference is at or above
        # materiality, and some of its overhead is somewhere to carry it (weights below).  A pool
        # the close wrote off has no weights here: its applied overhead stands in (it sits in ending
        # WIP, finished goods or COGS unless all of it went to spoilage), so that a Materiality
        # lowered after the close turns its Disposition, and Checks, to prorate — it read FALSE and
        # stayed write_off whatever Materiality said.
        prorated_here = any(entry[6] == line.stage for entry in plan["entries"])
        has_weight = (f',{_sum_where(plan["weights"], (plan["pools"], f"A{r}"))}<>0' if prorated_here
                      else f",E{r}<>0")
        ctx.put(ws, r, 8, f'=IF(AND($G${plan["disposition"]}="prorate",G{r}<>0,ABS(G{r})>=$G${plan["materiality"]}'
                          f'{has_weight}),"prorate","write_off")', line.disposition)
        # What the journals were posted under (the ledger's record, grey): the Disposition beside it
        # follows Settings, and Checks says when the two part (the setting changed after the close).
        ctx.put(ws, r, 9, line.disposition, fill=ENGINE_FILL)
    t, f, last = plan["total"], plan["first"], plan["last"]
    lines = plan["lines"]
    applied = sum((l.applied for l in lines), _ZERO * q)
    actual = sum((l.actual for l in lines), _ZERO * q)
    diff = actual - applied
    ctx.put(ws, t, 1, "Total", font=HEADER_FONT)
    ctx.put(ws, t, 5, f"=SUM(E{f}:E{last})" if lines else _ZERO, applied, money)
    ctx.put(ws, t, 6, f"=SUM(F{f}:F{last})" if lines else _ZERO, actual, money)
    ctx.put(ws, t, 7, f"=ROUND(SUM(G{f}:G{last}),{ctx.places})" if lines else _ZERO, diff, money)
    ctx.put(ws, plan["materiality"], 1, "Materiality")
    m_ref = ctx.ref("materiality")
    ctx.put(ws, plan["materiality"], 7, f"={m_ref}" if m_ref else ctx.spec.materiality, ctx.spec.materiality, money,
            None if m_ref else ENGINE_FILL)
    ctx.put(ws, plan["disposition"], 1, "Overhead disposition (Settings)")
    setting = ctx.input.cells.get("overhead_disposition")
    if setting is not None and not setting.is_blank and isinstance(setting.value, str):
        # The setting as the close reads it (case, spaces and hyphens aside): each pool's
        # Disposition (column H) follows it as the workbook recalculates.
        ref = ctx.refer(setting)
        g = f'G{plan["disposition"]}'
        ctx.put(ws, plan["disposition"], 7, f'=SUBSTITUTE(SUBSTITUTE(LOWER(TRIM({ref}))," ","_"),"-","_")',
                ctx.spec.overhead_disposition)
        ctx.put(ws, plan["disposition"], 8, f'=IF(EXACT({g},{_quoted(ctx.spec.overhead_disposition)}),'
                                            f'"as the close posted it",{_quoted(_changed_after_close(ctx))})',
                "as the close posted it", font=NOTE_FONT)
    else:  # not in the Settings table: the close's default
        ctx.put(ws, plan["disposition"], 7, ctx.spec.overhead_disposition, fill=ENGINE_FILL)
        ctx.put(ws, plan["disposition"], 8, "the close's default (no Overhead disposition setting)", font=NOTE_FONT)
    disposed = f"H{f}:H{last}"

    def pools_disposed(how: str) -> str:  # the differences of the pools disposed of so, in cents
        return f"=ROUND({_sum_where(f'G{f}:G{last}', (disposed, _quoted(how)))},{ctx.places})"

    prorated = sum((l.under_applied for l in lines if l.disposition == "prorate"), _ZERO * q)
    ctx.put(ws, plan["prorated"], 1, "Prorated (pools at or above materiality, each on its own)")
    ctx.put(ws, plan["prorated"], 7, pools_disposed("prorate") if lines else _ZERO * q, prorated, money)
    ctx.put(ws, plan["written_off"], 1, "Written off to cost of goods sold")
    ctx.put(ws, plan["written_off"], 7, pools_disposed("write_off") if lines else _ZERO * q,
            ctx.result.written_off_to_cogs, money)
    _write_proration(ctx, ws, plan)
    for c, w in zip("ABCDEFGHI", (30, 20, 14, 16, 18, 12, 14, 16, 18)):
        ws.column_dimensions[c].width = w
    ctx.shared["oh_totals"] = {"applied": f"E{t}", "actual": f"F{t}", "diff": f"G{t}",
                               "written_off": f"G{plan['written_off']}", "setting": f"G{plan['disposition']}",
                               "dispositions": (f"H{f}:H{last}", f"I{f}:I{last}") if lines else None,
                               "prorated_total": f"{_PRORATED}{plan['proration_total']}"}


_PRORATED = "H"  # the proration table's amount column


def _changed_after_close(ctx: ResultContext) -> str:
    """What a disposition changed after the close means: the journals stand as posted, the sheets'
    proration amounts are the close's, and only closing the month again disposes of it otherwise."""
    period = ctx.spec.period
    return (f"changed after the close: the journals were posted under {ctx.spec.overhead_disposition} — reopen "
            f"{period} and close it again (these sheets keep the close's proration)")


def _write_proration(ctx: ResultContext, ws, plan: dict) -> None:
    """Each bucket's amount = ROUND(difference × weight ÷ total weight) + its rounding adjustment
    (the cent largest-remainder allocation moved, or the close moved so that no WIP element, nor
    this month's finished goods on hand, is prorated below zero).  The weight — this month's overhead applied that
    the bucket holds, followed through transferred-in costs — is the engine's (grey)."""
    q, money = ctx.q, ctx.money
    h, pt = plan["proration_header"], plan["proration_total"]
    titles = ("Prorated to", "Product", "Stage", "Element", "This month's overhead of the pool in it (weight)",
              "Share of the pool", "Rounding adj.", "Amount", "Pool (overhead of)")
    for c, title in enumerate(titles, start=1):
        ctx.put(ws, h, c, title, font=HEADER_FONT)
    weight_of_pool: dict[str, Decimal] = {}
    for entry in plan["entries"]:
        weight_of_pool[entry[6]] = weight_of_pool.get(entry[6], _ZERO) + entry[4]
    difference_of_pool = {l.stage: l.under_applied for l in plan["lines"]}
    for r, (bucket, i, stage, element, weight, amount, pool) in enumerate(plan["entries"], start=h + 1):
        for c, v in enumerate((bucket, ctx.result.products[i].name, stage, element), start=1):
            ctx.put(ws, r, c, v)
        ctx.put(ws, r, 9, pool)
        ctx.put(ws, r, 5, weight, fmt=money, fill=ENGINE_FILL)
        with localcontext(engine_context(ROUNDING_MODES[ctx.spec.rounding])):
            share = weight / weight_of_pool[pool]
            mirror = ctx.round_hu(difference_of_pool[pool] * share)
        ctx.put(ws, r, 6, f"=E{r}/{_sum_where(plan['weights'], (plan['pools'], f'I{r}'))}", share, "0.00%")
        if amount != mirror:
            ctx.put(ws, r, 7, amount - mirror, fmt=money, fill=ADJ_FILL)
        ctx.put(ws, r, 8, "=" + ctx.rounded(f"G{plan['line_row'][pool]}*F{r}", value=difference_of_pool[pool] * share)
                + f"+G{r}", amount, money)
    prorated_total = sum((e[5] for e in plan["entries"]), _ZERO * q)
    ctx.put(ws, pt, 1, "Total prorated", font=HEADER_FONT)
    ctx.put(ws, pt, 8, f"=SUM(H{h + 1}:H{pt - 1})" if plan["entries"] else _ZERO * q, prorated_total, money)


# ---- Roll-forward --------------------------------------------------------------------------------

def _column(key: str, first: int, last: int, layout: Layout = RF) -> str:
    """An absolute column range: ``$E$5:$E$34``."""
    letter = layout.letter[key]
    return f"${letter}${first}:${letter}${last}"


def _rollforward_plan(ctx: ResultContext) -> dict:
    """Where the Roll-forward's subtotals by WIP account go: below the rows (which match the Cost
    Report's), one row per account in the plant's stage order, then the total and the tie of
    what was completed to finished goods.  Several stages may share one account."""
    accounts = ctx.spec.accounts.wip
    stages_of: dict[str, list[str]] = {}
    for stage in ctx.result.stage_order:
        if stage in accounts:
            stages_of.setdefault(accounts[stage].code, []).append(stage)
    last = ctx.shared["cr_last"]
    first = last + 4  # a blank row, the block's title and its header row above
    rows = {code: first + k for k, code in enumerate(stages_of)}
    total = first + len(rows)
    return {"last": last, "title": last + 2, "header": last + 3, "first": first, "rows": rows,
            "stages": stages_of, "total": total, "fg": total + 1, "fg_diff": total + 2}


def write_rollforward(ctx: ResultContext, ws) -> None:
    plan = _rollforward_plan(ctx)
    ctx.title(ws, f"WIP roll-forward {ctx.spec.period}",
              "Sign convention: additions and deductions are shown as amounts, deductions subtracted; adjustments "
              "carry their sign (+ raises WIP, - lowers it). Each row: closing = opening + additions - deductions "
              "+/- adjustments. A product's last stage completes to finished goods, its other stages transfer to "
              "the next stage. Rows match the Cost Report's rows; subtotals by WIP account, tied to the Journal, "
              "below the rows. " + RF_SPOILAGE_NOTE)
    ctx.header(ws, FIRST - 1, RF, RF_GROUPS)
    rows = ctx.shared["cr_rows"]
    P = ctx.places
    zero = _ZERO * ctx.q
    engine_rows = {(row.product, row.stage, row.element): row for row in ctx.outcome.rollforward.rows}
    accounts = ctx.spec.accounts.wip
    mode = ROUNDING_MODES[ctx.spec.rounding]
    sums: dict[str, dict[str, Decimal]] = {code: defaultdict(lambda: zero) for code in plan["rows"]}
    # closing = opening + additions - deductions + adjustments (signed): "=E{0}+F{0}+...-K{0}-...+P{0}"
    closing_f = "=ROUND(" + "+".join(RF.letter[k] + "{0}" for k in ("opening",) + RF_ADDITIONS) \
        + "".join("-" + RF.letter[k] + "{0}" for k in RF_DEDUCTIONS) \
        + "".join("+" + RF.letter[k] + "{0}" for k in RF_ADJUSTMENTS) + f",{P})"
    for i, (pplan, presult) in enumerate(zip(ctx.plan.products, ctx.result.products)):
        stages = pplan.case.stages
        for j, stage in enumerate(stages):
            count_ref = ctx.num(f"products[{i}].stages[{j}].count", pplan.counts[stage.name]) \
                if stage.name in pplan.counts else None
            received_from = stages[j - 1].name if j else None
            sent_to = stages[j + 1].name if j + 1 < len(stages) else None  # None: the last stage, to finished goods
            out_key = "to_next" if sent_to is not None else "to_fg"
            code = accounts[stage.name].code
            for element in stage.elements:
                e = element.name
                r = rows[(i, stage.name, e)]
                row = engine_rows[(pplan.name, stage.name, e)]
                cr = lambda key: _x(CR_SHEET, CR.at(key, r))  # noqa: E731

                def put(key, value, engine=None, fill=None):
                    kind = RF.kind[key]
                    ctx.put(ws, r, RF.col(key), value, engine, ctx.fmt(kind), fill)

                put("product", pplan.name)
                put("stage", stage.name)
                put("element", e)
                put("account", code)
                put("opening", f"={cr('b_cost')}", row.opening)
                column = _KIND_COLUMN[element.kind.value]
                put(column, f"={cr('added_cost')}", getattr(row, column))
                put(out_key, f"={cr('to')}", row.transferred_out)
                put("spoilage", f"={cr('abn_net')}+{cr('disp_total')}", row.spoilage)
                if count_ref is not None:
                    book = cr("e_units")
                    end_total = presult.report.stages[j].ending_wip.by_element[e]
                    book_units = stage.ending.units
                    counted = pplan.counts[stage.name]
                    # The engine rounds the stage's difference once (book ending WIP x units over or
                    # short / book units) and splits it over the elements by largest remainder; the
                    # formula rounds this element's share on its own (what ``mirror`` is), and the
                    # rounding adjustment cell holds the cent where the two differ, so that the
                    # elements add up to the whole as the engine posted it.
                    with localcontext(engine_context(mode)):
                        mirror = _ZERO * ctx.q if counted == book_units or not book_units else \
                            ctx.round_hu(end_total * (counted - book_units) / book_units)
                    _adj(ctx, ws, r, "count_adj", "count_adj_adj",
                         f"IF(OR({count_ref}={book},{book}=0),0,"
                         + ctx.rounded(f"{cr('end_total')}*({count_ref}-{book})/{book}",
                                       value=end_total * (counted - book_units) / book_units if book_units else None)
                         + ")",
                         row.count_adjustment, mirror, RF)
                oh = oh_ref(ctx, "WIP", i, stage.name, e)
                if oh:
                    put("oh_adj", f"={oh}", row.overhead_adjustment)
                put("closing", closing_f.format(r), row.closing)
                if count_ref is not None and not ctx.ref(f"products[{i}].stages[{j}].count",
                                                         blank_reads_as_used=pplan.counts[stage.name] == 0):
                    put("closing_units", row.closing_units, fill=ENGINE_FILL)  # typed as text: the count read
                else:
                    put("closing_units", f"={count_ref}" if count_ref is not None else f"={cr('e_units')}",
                        row.closing_units)
                if received_from is not None:
                    put("received_from", received_from)
                if sent_to is not None:
                    put("sent_to", sent_to)
                # The account's subtotals, as the block's formulas will give them.
                s = sums[code]
                s["opening"] += row.opening
                s[column] += getattr(row, column)
                s[out_key] += row.transferred_out
                s["spoilage"] += row.spoilage
                s["count_adj"] += row.count_adjustment
                s["oh_adj"] += row.overhead_adjustment
                s["closing"] += row.closing
    _write_account_subtotals(ctx, ws, plan, sums)
    for key, _, _ in RF.columns:
        ws.column_dimensions[RF.letter[key]].width = 14 if key not in ("product", "stage", "received_from",
                                                                       "sent_to") else 18
    ctx.shared["rf"] = plan


_RF_AMOUNTS = ("opening",) + RF_MOVEMENTS + ("closing",)


def _write_account_subtotals(ctx: ResultContext, ws, plan: dict, sums: dict[str, dict[str, Decimal]]) -> None:
    """One row per WIP account: opening, each movement and closing summed over the account's rows
    (SUMPRODUCT/EXACT on the WIP account column: a code is matched exactly, never as a pattern),
    the movement (closing - opening), and the total of every row.  What was posted to each
    account and the ties are filled in by ``tie_rollforward`` once the Journal and the Finished
    Goods sheets are laid out."""
    zero = _ZERO * ctx.q
    names = {spec.code: spec.name for spec in ctx.spec.accounts.wip.values()}
    first, last = FIRST, plan["last"]
    accounts = _column("account", first, last)
    ctx.put(ws, plan["title"], 1, "Subtotals by WIP account: each account's movement tied to what the journals "
                                  "posted to it (Journal sheet)", font=HEADER_FONT)
    h = plan["header"]
    titles = {k: t for k, t, _ in RF.columns}
    header = [(1, "Account name"), (2, "Stages"), (RF.col("account"), titles["account"])]
    header += [(RF.col(key), titles[key]) for key in _RF_AMOUNTS]
    header += [(RF_TIE.col(key), title) for key, title, _ in RF_TIE.columns]
    for col, title in header:
        ctx.put(ws, h, col, title, font=HEADER_FONT, wrap=True)
    ws.row_dimensions[h].height = 15 * max(_lines_needed(title) for _, title in header)
    money = ctx.money
    totals: dict[str, Decimal] = defaultdict(lambda: zero)
    for code, r in plan["rows"].items():
        ctx.put(ws, r, 1, names[code])
        ctx.put(ws, r, 2, ", ".join(plan["stages"][code]))
        ctx.put(ws, r, RF.col("account"), code)
        key_cell = f"${RF.letter['account']}{r}"
        for key in _RF_AMOUNTS:
            amount = sums[code][key]
            totals[key] += amount
            ctx.put(ws, r, RF.col(key), "=" + ctx.cents(_sum_where(_column(key, first, last), (accounts, key_cell))),
                    amount, money)
        ctx.put(ws, r, RF_TIE.col("movement"), "=" + ctx.cents(f"{RF.at('closing', r)}-{RF.at('opening', r)}"),
                sums[code]["closing"] - sums[code]["opening"], money)
    t = plan["total"]
    ctx.put(ws, t, 1, "Total WIP (every row)", font=HEADER_FONT)
    for key in _RF_AMOUNTS:
        ctx.put(ws, t, RF.col(key), "=" + ctx.cents(f"SUM({_column(key, first, last)})"), totals[key], money)
    ctx.put(ws, t, RF_TIE.col("movement"), "=" + ctx.cents(f"{RF.at('closing', t)}-{RF.at('opening', t)}"),
            totals["closing"] - totals["opening"], money)
    plan["totals"] = totals
    plan["movement"] = {code: sums[code]["closing"] - sums[code]["opening"] for code in plan["rows"]}


def tie_rollforward(ctx: ResultContext, ws) -> dict:
    """The Roll-forward's ties, once the Journal and Finished Goods & COGS sheets are laid out:
    beside each WIP account's movement, the net posted to it on the Journal (debits - credits) and
    the difference; the total completed to finished goods against the Finished Goods & COGS sheet's
    completed total.  Returns the cells (and engine values) Checks refers to."""
    plan = ctx.shared["rf"]
    j, fg = ctx.shared["journal"], ctx.shared["fg"]
    zero = _ZERO * ctx.q
    P, money = ctx.places, ctx.money
    posted = net_by_account(ctx.outcome.journals)
    at = RF_TIE.at
    differences: dict[str, Decimal] = {}
    for code, r in plan["rows"].items():
        on_account = (j["accounts"], f"${RF.letter['account']}{r}")
        ctx.put(ws, r, RF_TIE.col("posted"),
                "=" + ctx.cents(f"{_sum_where(j['debits'], on_account)}-{_sum_where(j['credits'], on_account)}"),
                posted.get(code, zero), money)
        differences[code] = plan["movement"][code] - posted.get(code, zero)
        ctx.put(ws, r, RF_TIE.col("tie_diff"), f"=ROUND({at('movement', r)}-{at('posted', r)},{P})",
                differences[code], money)
    t, first = plan["total"], plan["first"]
    on_wip = sum((posted.get(code, zero) for code in plan["rows"]), zero)
    ctx.put(ws, t, RF_TIE.col("posted"), "=" + ctx.cents(f"SUM({RF_TIE.span('posted', first, t - 1)})")
            if plan["rows"] else zero,
            on_wip, money)
    movement = plan["totals"]["closing"] - plan["totals"]["opening"]
    ctx.put(ws, t, RF_TIE.col("tie_diff"), f"=ROUND({at('movement', t)}-{at('posted', t)},{P})", movement - on_wip,
            money)
    completed = sum((row.completed for row in ctx.outcome.rollforward.finished_goods), zero)
    to_fg = plan["totals"]["to_fg"]
    ctx.put(ws, plan["fg"], 1, "Completed per Finished Goods & COGS (total of its Completed column)")
    ctx.put(ws, plan["fg"], RF.col("to_fg"), f"={fg['completed']}", completed, money)
    ctx.put(ws, plan["fg_diff"], 1, "Completed to finished goods: this sheet's total - Finished Goods & COGS")
    ctx.put(ws, plan["fg_diff"], RF.col("to_fg"),
            f"=ROUND({RF.at('to_fg', t)}-{RF.at('to_fg', plan['fg'])},{P})", to_fg - completed, money)
    ctx.flag(ws, RF_TIE.span("tie_diff", first, t))
    ctx.flag(ws, RF.at("to_fg", plan["fg_diff"]))
    return {"rows": {code: (_x(RF_SHEET, at("movement", r)), _x(RF_SHEET, at("posted", r)))
                     for code, r in plan["rows"].items()},
            "differences": _x(RF_SHEET, RF_TIE.span("tie_diff", first, t - 1)),
            "tied": sum(not d for d in differences.values()),
            "untied": sum((abs(d) for d in differences.values()), zero),
            "accounts": len(plan["rows"]), "block": (plan["title"], plan["fg_diff"]),
            "movement": (_x(RF_SHEET, at("movement", t)), movement), "posted": (_x(RF_SHEET, at("posted", t)), on_wip),
            "to_fg": (_x(RF_SHEET, RF.at("to_fg", t)), to_fg), "completed": (fg["completed"], completed)}


# ---- Finished goods and COGS ---------------------------------------------------------------------

FG_LAYERS = Layout([("product", "Product", None), ("layer", "Layer (produced in)", None),
                    ("units", "Units on hand", "units"), ("cost", "Cost", "money"),
                    ("shipped", "Units shipped from layer", "units"), ("cogs", "Cost of units shipped", "money"),
                    ("adj", "Rounding adj.", "money"), ("units_left", "Units left", "units"),
                    ("cost_left", "Cost left", "money"), ("oh_adj", "Overhead proration (this month's layer)", "money"),
                    ("closing", "Closing cost (cost left + proration)", "money")])
FG_SUMMARY = [("product", "Product", None), ("opening_units", "Opening units", "units"),
              ("opening", "Opening", "money"), ("completed_units", "Completed units", "units"),
              ("completed", "Completed", "money"), ("shipped_units", "Units shipped", "units"),
              ("cogs", "Cost of units shipped", "money"), ("fg_adj", "Overhead proration", "money"),
              ("closing_units", "Closing units", "units"), ("closing", "Closing", "money"),
              ("cogs_adj", "COGS: overhead proration", "money"), ("cogs_total", "COGS incl. proration", "money")]


# The month's COGS as the journals post it, as the text roll-forward says it: the cost of the units
# shipped (the "Cost of units shipped" column, before the overhead true-up) plus the overhead
# prorated to COGS and the overhead written off.
COGS_AS_POSTED = ("Cost of goods sold as posted = cost of units shipped + overhead prorated to COGS + overhead "
                  "written off")


def write_finished_goods(ctx: ResultContext, ws) -> None:
    ctx.title(ws, f"Finished goods and cost of goods sold {ctx.spec.period} ({ctx.spec.finished_goods_method})",
              "Layers: opening (first month: the Opening table; later: the ledger) and this month's completions "
              "(Cost Report); shipments relieve them FIFO or at the weighted average. The finished-goods part of "
              "overhead proration lands on the layer holding this month's overhead (this month's, or the pool).")
    ctx.header(ws, FIRST - 1, FG_LAYERS)
    q, money = ctx.q, ctx.money
    mode = ROUNDING_MODES[ctx.spec.rounding]
    fifo = ctx.spec.finished_goods_method == "fifo"
    stage_rows = ctx.shared["cr_stage_rows"]
    r = FIRST
    product_layers: dict[int, tuple[int, int, int | None]] = {}
    for i, (pplan, presult) in enumerate(zip(ctx.plan.products, ctx.result.products)):
        shipped = pplan.shipments
        ship_ref = ctx.num(f"products[{i}].shipments", shipped)
        layers: list[tuple[str, Any, Decimal, Any, Decimal]] = []
        for k, layer in enumerate(presult.fg_opening):
            base = f"products[{i}].opening_finished_goods[{k}]"
            u_ref = ctx.ref(f"{base}.units") if ctx.first_period else None
            c_ref = ctx.ref(f"{base}.cost") if ctx.first_period else None
            layers.append((layer.period, f"={u_ref}" if u_ref else layer.units, layer.units,
                           f"={c_ref}" if c_ref else layer.cost, layer.cost))
        last_stage = pplan.case.stages[-1].name
        s_first, s_last = stage_rows[(i, last_stage)]
        if presult.fg_completed_units or presult.fg_completed_cost:
            layers.append((ctx.spec.period, f"={_x(CR_SHEET, CR.at('completed', s_first))}", presult.fg_completed_units,
                           f"=SUM({_x(CR_SHEET, CR.span('to', s_first, s_last))})", presult.fg_completed_cost))
        first = r
        need = shipped
        with localcontext(engine_context(mode)):
            for period, u_value, units, c_value, cost in layers:
                ctx.put(ws, r, 1, pplan.name)
                ctx.put(ws, r, 2, period)
                ctx.put(ws, r, 3, u_value, units if isinstance(u_value, str) else None, ctx.fmt("units"),
                        None if isinstance(u_value, str) else ENGINE_FILL)
                ctx.put(ws, r, 4, c_value, cost if isinstance(c_value, str) else None, money,
                        None if isinstance(c_value, str) else ENGINE_FILL)
                if fifo:
                    taken = _ZERO if need <= 0 else min(units, need)
                    taken_cost = cost if taken == units else (cost * taken / units).quantize(q)
                    need -= taken
                    before = f"SUM(C{first}:C{r - 1})" if r > first else "0"
                    ctx.put(ws, r, 5, f"=MIN(C{r},MAX(0,{ship_ref}-{before}))", taken, ctx.fmt("units"))
                    mirror = cost if taken == units else ctx.round_hu(cost * taken / units)
                    _adj(ctx, ws, r, "cogs", "adj",
                         f"IF(E{r}=C{r},D{r},{ctx.rounded(f'D{r}*E{r}/C{r}', value=cost * taken / units)})",
                         taken_cost, mirror, FG_LAYERS)
                    ctx.put(ws, r, 8, f"=C{r}-E{r}", units - taken, ctx.fmt("units"))
                    ctx.put(ws, r, 9, "=" + ctx.cents(f"D{r}-F{r}"), cost - taken_cost, money)
                r += 1
        last = r - 1
        # The finished-goods part of overhead proration lands on the layer that holds this month's
        # overhead: this month's completions (FIFO) or the pool (weighted average).
        fg_oh = oh_ref(ctx, "Finished goods", i)
        fg_oh_row = None
        if fifo and fg_oh and (presult.fg_completed_units or presult.fg_completed_cost):
            fg_oh_row = first + len(presult.fg_opening)
        if fifo:
            for k, (period, _, units, _, cost) in enumerate(layers):
                row_k = first + k
                left = [l for l in presult.fg_closing if l.period == period]
                closing = sum((l.cost for l in left), _ZERO * q)
                if row_k == fg_oh_row:
                    ctx.put(ws, row_k, FG_LAYERS.col("oh_adj"), f"={fg_oh}", presult.fg_overhead_adjustment, money)
                ctx.put(ws, row_k, FG_LAYERS.col("closing"),
                        "=" + ctx.cents(f"{FG_LAYERS.at('cost_left', row_k)}+{FG_LAYERS.at('oh_adj', row_k)}"), closing,
                        money)
        pool_row = None
        if not fifo and layers:
            on_hand = sum((l[2] for l in layers), _ZERO)
            pool = sum((l[4] for l in layers), _ZERO * q)
            with localcontext(engine_context(mode)):
                taken_cost = pool if shipped == on_hand else (pool * shipped / on_hand).quantize(q) if on_hand else _ZERO
                mirror = pool if shipped == on_hand else ctx.round_hu(pool * shipped / on_hand) if on_hand else _ZERO
            ctx.put(ws, r, 1, pplan.name)
            ctx.put(ws, r, 2, "weighted average pool")
            ctx.put(ws, r, 3, f"=SUM(C{first}:C{last})", on_hand, ctx.fmt("units"))
            ctx.put(ws, r, 4, f"=SUM(D{first}:D{last})", pool, money)
            if ctx.ref(f"products[{i}].shipments", blank_reads_as_used=shipped == 0):
                ctx.put(ws, r, 5, f"={ship_ref}", shipped, ctx.fmt("units"))
            else:  # typed as text (or not given): the figure the close read
                ctx.put(ws, r, 5, shipped, fmt=ctx.fmt("units"), fill=ENGINE_FILL)
            exact = pool * shipped / on_hand if on_hand else None
            _adj(ctx, ws, r, "cogs", "adj",
                 f"IF(E{r}=C{r},D{r},IF(C{r}=0,0,{ctx.rounded(f'D{r}*E{r}/C{r}', value=exact)}))",
                 taken_cost, mirror, FG_LAYERS)
            ctx.put(ws, r, 8, f"=C{r}-E{r}", on_hand - shipped, ctx.fmt("units"))
            ctx.put(ws, r, 9, "=" + ctx.cents(f"D{r}-F{r}"), pool - taken_cost, money)
            if fg_oh:
                ctx.put(ws, r, FG_LAYERS.col("oh_adj"), f"={fg_oh}", presult.fg_overhead_adjustment, money)
            ctx.put(ws, r, FG_LAYERS.col("closing"),
                    "=" + ctx.cents(f"{FG_LAYERS.at('cost_left', r)}+{FG_LAYERS.at('oh_adj', r)}"),
                    sum((l.cost for l in presult.fg_closing), _ZERO * q), money)
            pool_row = r
            r += 1
        product_layers[i] = (first, last, pool_row)
    # Summary by product.
    r += 1
    ctx.put(ws, r, 1, "By product", font=HEADER_FONT)
    r += 1
    summary = Layout(FG_SUMMARY)
    for key, title, _ in FG_SUMMARY:
        ctx.put(ws, r, summary.col(key), title, font=HEADER_FONT)
    r += 1
    s_first = r
    engine_rows = {row.product: row for row in ctx.outcome.rollforward.finished_goods}
    stage_rows = ctx.shared["cr_stage_rows"]
    for i, (pplan, presult) in enumerate(zip(ctx.plan.products, ctx.result.products)):
        row = engine_rows[pplan.name]
        first, last, pool_row = product_layers[i]
        n_open = len(presult.fg_opening)
        has_completed = bool(presult.fg_completed_units or presult.fg_completed_cost)
        at = lambda key: summary.at(key, r)  # noqa: E731

        def put(key, value, engine=None, fill=None):
            kind = next(k for c, _, k in FG_SUMMARY if c == key)
            ctx.put(ws, r, summary.col(key), value, engine, ctx.fmt(kind), fill)

        def put_or_zero(key, formula, engine, zero):
            # No layer (no opening layers, nothing completed, no proration) holds the figure: a
            # typed zero, grey like every value that is not a formula.
            if formula is None:
                put(key, zero, fill=ENGINE_FILL)
            else:
                put(key, formula, engine)

        put("product", pplan.name)
        put_or_zero("opening_units", f"=SUM(C{first}:C{first + n_open - 1})" if n_open else None, row.opening_units,
                    _ZERO)
        put_or_zero("opening", f"=SUM(D{first}:D{first + n_open - 1})" if n_open else None, row.opening, _ZERO * q)
        comp_row = first + n_open
        put_or_zero("completed_units", f"=C{comp_row}" if has_completed else None, row.completed_units, _ZERO)
        put_or_zero("completed", f"=D{comp_row}" if has_completed else None, row.completed, _ZERO * q)
        ship_ref = ctx.ref(f"products[{i}].shipments", blank_reads_as_used=row.shipped_units == 0)
        if ship_ref:
            put("shipped_units", f"={ship_ref}", row.shipped_units)
        else:  # typed as text (or not given): the figure the close read
            put("shipped_units", row.shipped_units, fill=ENGINE_FILL)
        if pool_row is not None:
            put("cogs", f"=F{pool_row}", row.cost_of_goods_sold)
        else:
            put_or_zero("cogs", f"=SUM(F{first}:F{last})" if last >= first else None, row.cost_of_goods_sold,
                        _ZERO * q)
        oh = oh_ref(ctx, "Finished goods", i)
        put_or_zero("fg_adj", f"={oh}" if oh else None, row.overhead_adjustment, _ZERO * q)
        put("closing_units", f"={at('opening_units')}+{at('completed_units')}-{at('shipped_units')}", row.closing_units)
        put("closing", "=" + ctx.cents(f"{at('opening')}+{at('completed')}-{at('cogs')}+{at('fg_adj')}"),
            row.closing)
        oh = oh_ref(ctx, "Cost of goods sold", i)
        put_or_zero("cogs_adj", f"={oh}" if oh else None, presult.cogs_overhead_adjustment, _ZERO * q)
        put("cogs_total", "=" + ctx.cents(f"{at('cogs')}+{at('cogs_adj')}"),
            row.cost_of_goods_sold + presult.cogs_overhead_adjustment)
        r += 1
    s_last = r - 1
    ctx.put(ws, r, 1, "Total", font=HEADER_FONT)
    fg_rows = list(ctx.outcome.rollforward.finished_goods)
    totals = {"opening": sum((x.opening for x in fg_rows), _ZERO * q),
              "completed": sum((x.completed for x in fg_rows), _ZERO * q),
              "closing": sum((x.closing for x in fg_rows), _ZERO * q),
              "cogs": sum((x.cost_of_goods_sold for x in fg_rows), _ZERO * q),
              "fg_adj": sum((x.overhead_adjustment for x in fg_rows), _ZERO * q),
              "cogs_adj": sum((p.cogs_overhead_adjustment for p in ctx.result.products), _ZERO * q),
              "cogs_total": sum((x.cost_of_goods_sold for x in fg_rows), _ZERO * q)
              + sum((p.cogs_overhead_adjustment for p in ctx.result.products), _ZERO * q)}
    for key, engine in totals.items():
        ctx.put(ws, r, summary.col(key), "=" + ctx.cents(f"SUM({summary.span(key, s_first, s_last)})"), engine, money)
    total_row = r
    r += 2
    ctx.put(ws, r, 1, "Under/over-applied overhead written off (Overhead)")
    written_off = ctx.result.written_off_to_cogs
    ctx.put(ws, r, summary.col("cogs_total"), f"={_x(OH_SHEET, 'G' + str(_overhead_plan(ctx)['written_off']))}",
            written_off, money)
    r += 1
    ctx.put(ws, r, 1, COGS_AS_POSTED, font=HEADER_FONT)
    ctx.put(ws, r, summary.col("cogs_total"), f"={summary.at('cogs_total', total_row)}+{summary.at('cogs_total', r - 1)}",
            totals["cogs_total"] + written_off, money)
    ctx.shared["fg"] = {"opening": _x(FG_SHEET, summary.at("opening", total_row)),
                        "completed": _x(FG_SHEET, summary.at("completed", total_row)),
                        "cogs": _x(FG_SHEET, summary.at("cogs", total_row)),
                        "closing": _x(FG_SHEET, summary.at("closing", total_row)),
                        "cogs_month": _x(FG_SHEET, summary.at("cogs_total", r))}
    for k in range(1, 13):
        ws.column_dimensions[chr(64 + k)].width = 16 if k > 2 else 20


# ---- Journal -------------------------------------------------------------------------------------

def write_journal(ctx: ResultContext, ws) -> None:
    book = ctx.outcome.journals
    ctx.title(ws, f"Journals {book.period} — {book.company} ({book.currency})",
              "Posted lines as recorded in the ledger (grey), each traced by a formula to the result sheets it "
              "comes from (Traced); totals, balances and ties are formulas.")
    layout = JOURNAL_LINES
    ctx.header(ws, FIRST - 1, layout)
    r = FIRST
    posted = []  # (row, journal, line): traced once the later sheets are laid out (write_checks)
    for journal in book.journals:
        for line in journal.lines:
            posted.append((r, journal, line))
            ctx.put(ws, r, 1, journal.id)
            ctx.put(ws, r, 2, journal.date, fmt=ctx.fmt("date"))  # a real date: filters and sorts as one
            ctx.put(ws, r, 3, journal.narration)
            ctx.put(ws, r, 4, line.account)
            ctx.put(ws, r, 5, book.accounts[line.account].name)
            ctx.put(ws, r, 6, line.debit if line.debit else None, fmt=ctx.money, fill=ENGINE_FILL)
            ctx.put(ws, r, 7, line.credit if line.credit else None, fmt=ctx.money, fill=ENGINE_FILL)
            ctx.put(ws, r, 8, line.memo)
            r += 1
    last = max(r - 1, FIRST)
    ids, debits, credits = f"$A${FIRST}:$A${last}", f"$F${FIRST}:$F${last}", f"$G${FIRST}:$G${last}"
    summary = Layout([("journal", "Journal", None), ("debits", "Debits", "money"), ("credits", "Credits", "money"),
                      ("diff", "Debits - credits", "money"), ("status", "Balanced", None)],
                     first=len(JOURNAL_LINES.columns) + 2)
    ctx.header(ws, FIRST - 1, summary)
    ws.freeze_panes = f"A{FIRST}"
    r = FIRST
    for journal in book.journals:
        at = lambda key: summary.at(key, r)  # noqa: E731
        ctx.put(ws, r, summary.col("journal"), journal.id)
        ctx.put(ws, r, summary.col("debits"), f"=SUMIF({ids},{at('journal')},{debits})", journal.total_debit, ctx.money)
        ctx.put(ws, r, summary.col("credits"), f"=SUMIF({ids},{at('journal')},{credits})", journal.total_credit,
                ctx.money)
        diff = journal.total_debit - journal.total_credit
        ctx.put(ws, r, summary.col("diff"), f"=ROUND({at('debits')}-{at('credits')},{ctx.places})", diff, ctx.money)
        ctx.put(ws, r, summary.col("status"), f'=IF({at("diff")}=0,"OK",{at("diff")})', "OK" if not diff else diff,
                font=CHECK_FONT)
        r += 1
    if book.journals:
        ctx.flag(ws, summary.span("diff", FIRST, r - 1))
        ctx.flag(ws, summary.span("status", FIRST, r - 1), "result")
    ctx.shared["journal"] = {"accounts": _x(JOURNAL_SHEET, f"$D${FIRST}:$D${last}"),
                             "debits": _x(JOURNAL_SHEET, debits), "credits": _x(JOURNAL_SHEET, credits),
                             "diffs": _x(JOURNAL_SHEET, summary.span("diff", FIRST, max(r - 1, FIRST))),
                             "posted": posted, "last": last}
    for c, w in zip("ABCDEFGHIJKLMNOP", (18, 12, 44, 10, 30, 14, 14, 40, 16, 14, 2, 18, 14, 14, 14, 10)):
        ws.column_dimensions[c].width = w


JOURNAL_LINES = Layout([("journal", "Journal", None), ("date", "Date", "date"), ("narration", "Narration", None),
                        ("account", "Account", None), ("name", "Account name", None), ("debit", "Debit", "money"),
                        ("credit", "Credit", "money"), ("memo", "Memo", None),
                        ("traced", "Traced: debit - credit per the result sheets", "money"),
                        ("untraced", "Posted - traced", "money")])


def _trace_formulas(ctx: ResultContext) -> dict[tuple[str, str, str], str]:
    """(narration, account, memo) of each line the close's journals can post -> a formula giving
    that line's debit - credit from the result sheets (Roll-forward, Cost Report, Overhead,
    Finished Goods & COGS).  Built from the same texts as the journals (``Texts``)."""
    period = ctx.spec.period
    accounts = ctx.spec.accounts
    last = ctx.shared["cr_last"]
    rf = lambda key: _x(RF_SHEET, RF.span(key, FIRST, last))  # noqa: E731
    cr = lambda key: _x(CR_SHEET, CR.span(key, FIRST, last))  # noqa: E731
    def by_stage(column: str, stage: str, *more: tuple[str, str]) -> str:
        return _sum_where(rf(column), (rf("stage"), _quoted(stage)), *more)

    wip = {name: spec.code for name, spec in accounts.wip.items()}
    stages = list(dict.fromkeys(s.name for p in ctx.plan.products for s in p.case.stages))
    pairs = list(dict.fromkeys((a.name, b.name) for p in ctx.plan.products
                               for a, b in zip(p.case.stages, p.case.stages[1:])))
    role = lambda name: getattr(accounts, name).code if getattr(accounts, name) is not None else None  # noqa: E731
    traced: dict[tuple[str, str, str], str] = {}

    def add(narration: str, account: str | None, memo: str, formula: str) -> None:
        if account is not None:
            traced[(f"{narration} ({period})", account, memo)] = formula

    for kind, credit_role, narration in Texts.CHARGES:
        column = _KIND_COLUMN[kind]
        for s in stages:
            add(narration, wip.get(s), Texts.added(s, kind), by_stage(column, s))
        add(narration, role(credit_role), narration, f"-SUM({rf(column)})")
    for src, dst in pairs:
        add(Texts.TRANSFERS, wip.get(dst), Texts.transferred_in(src, dst),
            by_stage("transferred_in", dst, (rf("received_from"), _quoted(src))))
        add(Texts.TRANSFERS, wip.get(src), Texts.transferred_out(src, dst),
            "-" + by_stage("to_next", src, (rf("sent_to"), _quoted(dst))))
    add(Texts.COMPLETED, role("finished_goods"), Texts.COMPLETED, f"SUM({rf('to_fg')})")
    for s in stages:
        add(Texts.COMPLETED, wip.get(s), Texts.completed(s), "-" + by_stage("to_fg", s))
        add(Texts.SPOILAGE, wip.get(s), Texts.spoiled(s), "-" + by_stage("spoilage", s))
        add(Texts.COUNTS, wip.get(s), Texts.counted(s), by_stage("count_adj", s))
        add(Texts.OVERHEAD, wip.get(s), Texts.prorated(s), by_stage("oh_adj", s))
    add(Texts.SPOILAGE, role("abnormal_spoilage"), Texts.ABNORMAL_WRITTEN_OFF, f"SUM({cr('abn_net')})")
    add(Texts.SPOILAGE, role("spoiled_goods"), Texts.SPOILED_GOODS, f"SUM({cr('disp_total')})")
    add(Texts.COUNTS, role("count_difference"), Texts.COUNT_DIFFERENCES, f"-SUM({rf('count_adj')})")
    oh = ctx.shared["oh_totals"]
    plan = _overhead_plan(ctx)
    add(Texts.OVERHEAD, role("overhead_applied"), Texts.OVERHEAD_APPLIED, _x(OH_SHEET, oh["applied"]))
    add(Texts.OVERHEAD, role("overhead_control"), Texts.OVERHEAD_INCURRED, "-" + _x(OH_SHEET, oh["actual"]))
    for memo in (Texts.UNDER_APPLIED, Texts.OVER_APPLIED):
        add(Texts.OVERHEAD, role("cogs"), memo, _x(OH_SHEET, oh["written_off"]))
    buckets = f"A{plan['proration_header'] + 1}:A{plan['proration_total'] - 1}"
    amounts = f"{_PRORATED}{plan['proration_header'] + 1}:{_PRORATED}{plan['proration_total'] - 1}"
    for bucket, account, memo in (("Finished goods", role("finished_goods"), Texts.PRORATION),
                                  ("Cost of goods sold", role("cogs"), Texts.PRORATION_COGS)):
        add(Texts.OVERHEAD, account, memo,
            f'SUMIFS({_x(OH_SHEET, amounts)},{_x(OH_SHEET, buckets)},"{bucket}")')
    cogs = ctx.shared["fg"]["cogs"]
    add(Texts.COGS, role("cogs"), Texts.SHIPPED, cogs)
    add(Texts.COGS, role("finished_goods"), Texts.SHIPPED, "-" + cogs)
    return traced


def trace_journal_lines(ctx: ResultContext, ws) -> tuple[str, int, int]:
    """Each posted line of the Journal sheet with its traced formula and the difference; returns
    the difference column's range, and how many lines were traced of how many."""
    formulas = _trace_formulas(ctx)
    journal = ctx.shared["journal"]
    count = 0
    for r, entry, line in journal["posted"]:
        formula = formulas.get((entry.narration, line.account, line.memo))
        if formula is None:  # a line the sheets do not lay out (process-account losses): posted only
            continue
        amount = line.debit - line.credit
        ctx.put(ws, r, JOURNAL_LINES.col("traced"), "=" + ctx.cents(formula), amount, ctx.money)
        ctx.put(ws, r, JOURNAL_LINES.col("untraced"),
                f"=ROUND({JOURNAL_LINES.at('debit', r)}-{JOURNAL_LINES.at('credit', r)}"
                f"-{JOURNAL_LINES.at('traced', r)},{ctx.places})", amount - amount, ctx.money)
        count += 1
    span = JOURNAL_LINES.span("untraced", FIRST, journal["last"])
    ctx.flag(ws, span)
    return _x(JOURNAL_SHEET, span), count, len(journal["posted"])


def _unique_ties(rf) -> list:
    """The roll-forward's ties, one per account (stages sharing a WIP account share its tie)."""
    seen: set[str] = set()
    return [tie for tie in rf.ties if not (tie.account in seen or seen.add(tie.account))]


# ---- Checks --------------------------------------------------------------------------------------

def write_checks(ctx: ResultContext, ws) -> None:
    q, P, money = ctx.q, ctx.places, ctx.money
    ctx.title(ws, f"Checks {ctx.spec.period}", "Each check is a formula: OK, or the difference to look into.")
    layout = Layout([("check", "Check", None), ("left", "Per the workbook", "money"),
                     ("right", "Per the journals / ledger", "money"), ("diff", "Difference", "money"),
                     ("result", "Result", None)])
    ctx.header(ws, FIRST - 1, layout)
    cr_last = ctx.shared["cr_last"]
    j = ctx.shared["journal"]
    book = ctx.outcome.journals
    rf = ctx.outcome.rollforward
    r = FIRST
    # The tie to the general ledger comes first (it is what the close checked before posting); its
    # row sums the block below the checks, so it is filled in once that block is laid out.
    gl_row = None
    if ctx.result.general_ledger:
        gl_row, r = r, r + 1

    def check(name: str | tuple[str, str], left, left_engine, right, right_engine, diff_formula: str, diff_engine,
              fmt=money):
        """A check row; ``name`` is text, or a formula and its engine value (a count that stays live)."""
        nonlocal r
        ctx.put(ws, r, 1, *((name,) if isinstance(name, str) else name))
        if left is not None:
            ctx.put(ws, r, 2, left, left_engine, fmt)
        if right is not None:
            ctx.put(ws, r, 3, right, right_engine, fmt)
        ctx.put(ws, r, 4, diff_formula, diff_engine, fmt)
        ctx.put(ws, r, 5, f'=IF(D{r}=0,"OK",D{r})', "OK" if not diff_engine else diff_engine, font=CHECK_FONT)
        r += 1

    check("Physical units: to account for = accounted for (every product-stage)", None, None, None, None,
          f"=ROUND(SUMPRODUCT(ABS({_x(CR_SHEET, CR.span('units_diff', FIRST, cr_last))})),6)", _ZERO, ctx.fmt("units"))
    ctaf = sum((s.costs_to_account_for.total for p in ctx.result.products for s in p.report.stages), _ZERO * q)
    check("Costs to account for = costs accounted for (every product, stage and element)",
          f"=SUM({_x(CR_SHEET, CR.span('ctaf', FIRST, cr_last))})", ctaf,
          f"=SUM({_x(CR_SHEET, CR.span('accounted', FIRST, cr_last))})", ctaf,
          f"=ROUND(SUMPRODUCT(ABS({_x(CR_SHEET, CR.span('cost_diff', FIRST, cr_last))})),{P})", _ZERO * q)
    debit = sum((jn.total_debit for jn in book.journals), _ZERO * q)
    credit = sum((jn.total_credit for jn in book.journals), _ZERO * q)
    check("Journals balance: total debits = total credits", f"=SUM({j['debits']})", debit, f"=SUM({j['credits']})",
          credit, f"=ROUND(B{r}-C{r},{P})", debit - credit)
    check("Every journal balances (sum of each journal's difference)", None, None, None, None,
          f"=ROUND(SUMPRODUCT(ABS({j['diffs']})),{P})", _ZERO * q)
    differences, traced, lines = trace_journal_lines(ctx, ws.parent[JOURNAL_SHEET])
    # The count stays live: a line counts when its Posted - traced is 0 (a line the sheets do not
    # lay out has none, and is counted out).
    name = f"Journal lines trace to the result sheets ({{}} of {lines} posted lines trace; Journal, Posted - traced " \
        "column)"
    check(('="' + name.format(f'"&COUNTIF({differences},0)&"') + '"', name.format(traced)),
          None, None, None, None, f"=ROUND(SUMPRODUCT(ABS({differences})),{P})", _ZERO * q)
    rf_last = cr_last
    closing_col = _x(RF_SHEET, RF.span("closing", FIRST, rf_last))
    ties = tie_rollforward(ctx, ws.parent[RF_SHEET])
    if ties["accounts"]:
        n = ties["accounts"]
        name = f"Roll-forward subtotals tie to the journals for each WIP account ({{}} of {n} WIP accounts tie; " \
            "Roll-forward, subtotals by WIP account below its rows)"
        live = '="' + name.format(f'"&COUNTIF({ties["differences"]},0)&"') + '"'  # the count stays live
        check((live, name.format(ties["tied"])), f"={ties['movement'][0]}", ties["movement"][1],
              f"={ties['posted'][0]}", ties["posted"][1],
              f"=ROUND(SUMPRODUCT(ABS({ties['differences']})),{P})", ties["untied"])
    check("Roll-forward: completed to finished goods = completed on Finished Goods & COGS",
          f"={ties['to_fg'][0]}", ties["to_fg"][1], f"={ties['completed'][0]}", ties["completed"][1],
          f"=ROUND(B{r}-C{r},{P})", ties["to_fg"][1] - ties["completed"][1])
    fg_code = ctx.spec.accounts.finished_goods.code
    for tie in _unique_ties(rf):
        if tie.account == fg_code:
            # Rounded: a difference of sums of cents is a float (6494.02000000002 as posted).
            left = "=" + ctx.cents(f"{ctx.shared['fg']['closing']}-{ctx.shared['fg']['opening']}")
            posted = (j["accounts"], _quoted(tie.account))
            right = "=" + ctx.cents(f'{_sum_where(j["debits"], posted)}-{_sum_where(j["credits"], posted)}')
        else:  # the Roll-forward's subtotal of the account and what the Journal posted to it
            movement, on_account = ties["rows"][tie.account]
            left, right = f"={movement}", f"={on_account}"
        check(f"Roll-forward ties to the journals: {tie.account} {tie.name}", left, tie.rollforward, right, tie.journals,
              f"=ROUND(B{r}-C{r},{P})", tie.difference)
    closing = sum((row.closing for row in rf.rows), _ZERO * q)
    # The ledger's figure is the close's record, not something the sheets compute: a value, grey, and
    # the label says whose figure it is (the per-account ties above trace it through the journals).
    ctx.put(ws, r, 1, "Closing WIP equals the ledger's closing WIP (Per the journals / ledger: the closing WIP this "
                      "close recorded in the ledger, a value; the ties to the journals above trace it by account)")
    ctx.put(ws, r, 2, "=" + ctx.cents(f"SUM({closing_col})"), closing, money)
    ctx.put(ws, r, 3, closing, fmt=money, fill=ENGINE_FILL)
    ctx.put(ws, r, 4, f"=ROUND(B{r}-C{r},{P})", _ZERO * q, money)
    ctx.put(ws, r, 5, f'=IF(D{r}=0,"OK",D{r})', "OK", font=CHECK_FONT)
    r += 1
    oh = ctx.shared["oh_totals"]
    lines = ctx.result.overhead
    applied = sum((l.applied for l in lines), _ZERO * q)
    actual = sum((l.actual for l in lines), _ZERO * q)
    check("Overhead: applied + under/over-applied = actual", f"={_x(OH_SHEET, oh['applied'])}+{_x(OH_SHEET, oh['diff'])}",
          actual, f"={_x(OH_SHEET, oh['actual'])}", actual, f"=ROUND(B{r}-C{r},{P})", _ZERO * q)
    # The disposition the journals were posted under against what Settings (disposition, materiality)
    # gives now: the proration amounts are the close's (its weights exist only for a prorating
    # close, and the posted journals would not follow), so a setting changed after the close is
    # said in words — close the month again — rather than recomputed into sheets the ledger contradicts.
    disposition_row = r
    posted_as = ctx.spec.overhead_disposition
    live = _x(OH_SHEET, oh["setting"])
    changed = f"IF(EXACT({live},{_quoted(posted_as)}),0,1)"
    if oh["dispositions"]:
        now, then = (_x(OH_SHEET, span) for span in oh["dispositions"])
        changed += f"+SUMPRODUCT(--NOT(EXACT({now},{then})))"
    ctx.put(ws, r, 1, "Overhead disposition unchanged since the close: Settings' Overhead disposition and Materiality "
                      "give each pool the disposition the journals were posted under (Overhead: Disposition per "
                      "Settings vs posted; Difference: the setting and the pools that changed)")
    ctx.put(ws, r, 2, f"={live}", posted_as)
    ctx.put(ws, r, 3, posted_as, fill=ENGINE_FILL)
    ctx.put(ws, r, 4, f"={changed}", 0)
    ctx.put(ws, r, 5, f'=IF(D{r}=0,"OK",{_quoted("Disposition " + _changed_after_close(ctx))})', "OK",
            font=CHECK_FONT)
    r += 1
    prorated = sum((l.under_applied for l in lines), _ZERO * q) - ctx.result.written_off_to_cogs
    check("Overhead: prorated + written off = under/over-applied (the proration amounts are the close's; a "
          "disposition changed after the close shows here and above)",
          f"={_x(OH_SHEET, oh['prorated_total'])}+{_x(OH_SHEET, oh['written_off'])}",
          prorated + ctx.result.written_off_to_cogs, f"={_x(OH_SHEET, oh['diff'])}", actual - applied,
          f"=ROUND(B{r}-C{r},{P})", _ZERO * q)
    # Its result names the cause when the disposition changed, not only the difference it makes.
    ctx.put(ws, r - 1, 5, f'=IF(D{r - 1}=0,"OK",IF(D{disposition_row}<>0,"Disposition changed after the close: '
                          f'reopen {ctx.spec.period} and close it again",D{r - 1}))', "OK", font=CHECK_FONT)
    _table_rows_check(ctx, ws, r)
    r += 1
    # Excel-function errors (excel_addin: "#WIP! CODE: message" text) and Excel's own error values
    # (#N/A, #REF!, #VALUE!, ...) anywhere in the workbook, Checks included: text is skipped by SUM
    # and an error value in a cell no total reads shows nowhere else, so this check is what says so.
    # Its row is filled in once every sheet is laid out (a deleted input row referred to is #REF! in
    # the input-positions block below, and on Summary); it scans Checks around its own row, which
    # nothing on any sheet reads, so there is no circular reference.
    errors_row, r = r, r + 1
    # Last: the result sheets' references into the input tables still land on the rows and columns
    # the close read (a sort moves other rows under them).  Every input reference is made by now —
    # the tie to the general ledger below refers to its balances too, so its row is filled in last.
    # The same row compares the settings, accounts, stages and elements the close read that no
    # formula follows (the method, the rounding, an account code…): changed after the close, they
    # would stand beside the figures of the close that read them.
    read_lines = _read_not_followed(ctx)
    inputs_row = None
    if ctx.referred or ctx.result.general_ledger or read_lines:
        inputs_row, r = r, r + 1
    if r > FIRST:  # every check: green when it passes, red otherwise
        ctx.flag(ws, f"D{FIRST}:D{r - 1}")
        ctx.flag(ws, f"E{FIRST}:E{r - 1}", "result")
    below = r + 1
    if gl_row is not None:
        below = _write_general_ledger_tie(ctx, ws, gl_row, below) + 2
    if inputs_row is not None:
        _write_input_positions(ctx, ws, inputs_row, below, read_lines)
    # Last of all: it counts the sheets written after Checks (Summary) as well.
    ctx.after_all_sheets.append(lambda: _write_error_count(ctx, ws, errors_row))
    for c, w in _CHECKS_WIDTHS.items():
        ws.column_dimensions[c].width = w


# Rows below a table's last row counted with it: a row typed under a table joins it (Excel extends
# the table), and the close refuses data below a table, so up to here nothing else is there.
_ROWS_BELOW_COUNTED = 500


def _table_rows_check(ctx: ResultContext, ws, r: int) -> None:
    """Checks row ``r``: the input tables hold as many rows as the close read — each table's rows
    with something in a column the close reads (as ``LEN(TRIM(…))`` sees them: spaces and a formula
    showing "" are nothing; a column of the user's own is not looked at), in the table and up to
    ``_ROWS_BELOW_COUNTED`` rows below it (its totals row left out, and never into another table
    down the sheet, an input table or the user's own).  A row added after the close (a count, a
    shipment, an element) is in no result and no formula refers to it, so the input-rows check
    cannot see it.  Settings is left out: its rows are compared one by one below."""
    from openpyxl.utils.cell import coordinate_from_string, range_boundaries

    terms, read = [], 0
    for name, data in ctx.input.tables.items():
        if name == "Settings" or not data.header_row or not data.header:
            continue
        headers = {normalise_header(c.header) for c in TABLE_BY_NAME[name].columns}
        columns = [k for k, cell in enumerate(data.header) if normalise_header(cell.value) in headers]
        if not columns:
            continue
        left, top_header, right, last = range_boundaries(data.ref)
        first_row, data_last = top_header + 1, top_header + len(data.rows)
        # Any table below in these columns ends what is counted below this one (the reader stops there).
        below_end = last + _ROWS_BELOW_COUNTED
        for other in ws.parent[data.sheet].tables.values():
            o_left, o_top, o_right, _ = range_boundaries(other.ref)
            if o_top > last and o_left <= right and o_right >= left:
                below_end = min(below_end, o_top - 1)
        sheet = quote_sheet(data.sheet)
        letters = [coordinate_from_string(data.header[k].coordinate)[0] for k in columns]

        def rows_with_something(top: int, bottom: int) -> str:
            cells = "&".join(f"{sheet}!{c}{top}:{c}{bottom}" for c in letters)
            return f"SUMPRODUCT(--(LEN(TRIM({cells}))>0))"

        if data_last >= first_row:
            terms.append(rows_with_something(first_row, data_last))
        if below_end > last:
            terms.append(rows_with_something(last + 1, below_end))
        read += sum(1 for row in data.rows
                    if any(k < len(row) and _something(row[k].value) for k in columns))
    if not terms:
        return
    ctx.put(ws, r, 1, "Input tables hold the rows the close read (rows with anything in the columns it reads, "
                      "table by table; a row added after the close is in no result)")
    ctx.put(ws, r, 2, "=" + "+".join(terms), read, None)
    ctx.put(ws, r, 3, read, fill=ENGINE_FILL)
    ctx.put(ws, r, 4, f"=B{r}-C{r}", 0, None)
    advice = (f"A row was added to or taken out of an input table after the close: the results and the posted "
              f"journals do not have it. Undo it, or reopen {ctx.spec.period} and close it again")
    ctx.put(ws, r, 5, f'=IF(D{r}=0,"OK",{_quoted(advice)})', "OK", font=CHECK_FONT)


def _something(value: Any) -> bool:
    """Whether a cell counts as holding something as ``LEN(TRIM(…))>0`` does: text other than
    spaces, or any other value (a number, TRUE, a date)."""
    if value is None:
        return False
    return value.strip(" ") != "" if isinstance(value, str) else True


_CHECKS_WIDTHS = dict(zip("ABCDEFGH", (70, 18, 22, 14, 12, 30, 20, 18)))
_SCANNED = "CZ"  # the columns the error check scans, A to this (104 columns)


def _write_error_count(ctx: ResultContext, ws, row: int) -> None:
    """The check counting "#WIP! ..." texts and error values in every sheet: each other sheet to its
    last row, and Checks above and below ``row`` — its own row holds the count, which cannot scan
    itself.  Written once every result sheet is laid out."""
    book = ws.parent

    def extent(name: str) -> tuple[int, str]:
        """(last row, last column) to scan: a sheet this close writes to its cells (collected in ctx,
        not yet in the sheet; the columns right of them are empty), any other to column CZ."""
        written = ctx.cells.get(name)
        if not written:
            return max(1, book[name].max_row), _SCANNED
        return max(written), get_column_letter(max(max(cols, default=1) for cols in written.values()))

    def counted(sheet: str, first: int, last: int, column: str, whole_columns: bool) -> str:
        # A whole column also counts "#WIP!" texts typed below a table later; ISERROR over whole
        # columns would be an array of a million rows, so it stops at the sheet's last row.
        texts = f"A:{column}" if whole_columns else f"A{first}:{column}{last}"
        return f'COUNTIF({sheet}!{texts},"#WIP!*")+SUMPRODUCT(--ISERROR({sheet}!A{first}:{column}{last}))'

    parts = [counted(quote_sheet(name), 1, *extent(name), whole_columns=True)
             for name in book.sheetnames if name != ws.title]
    last, column = extent(ws.title)
    parts += [counted(quote_sheet(ws.title), first, end, column, whole_columns=False)
              for first, end in ((1, row - 1), (row + 1, last)) if first <= end]
    # Only cells that exist: iter_rows on a writable sheet would create every cell it visits.  The
    # result sheets hold formulas (their values are the engine's), so the errors found are the inputs'.
    found = sum(1 for name in book.sheetnames if name != ws.title for (_, col), cell in book[name]._cells.items()
                if col <= 104 and (cell.data_type == "e" or isinstance(cell.value, str)
                                   and cell.value.startswith("#WIP!")))
    count = "+".join(parts)
    ctx.put(ws, row, 1, "No #WIP! errors from the Excel functions and no error values (#N/A, #REF!, ...) in any "
                        f"sheet (columns A:{_SCANNED} of the input sheets; on Checks, every row but this one)")
    ctx.put(ws, row, 4, f"={count}", found, None)
    ctx.put(ws, row, 5, f'=IF(D{row}=0,"OK",D{row}&" error(s)")', "OK" if not found else f"{found} error(s)",
            font=CHECK_FONT)


# The tie to the general ledger, below the checks: the columns B-E mean what they mean in a check.
GL_TIE = Layout([("account", "Account (General Ledger table, Accounts sheet)", None),
                 ("gl", "General ledger before this close", "money"), ("wip", "Per the WIP ledger", "money"),
                 ("diff", "Difference (GL - WIP ledger)", "money"), ("result", "Result", None),
                 ("holds", "The WIP ledger's figure", None),
                 ("posted", "Posted by this close (Journal: debits - credits)", "money"),
                 ("after", "General ledger after posting", "money")])
# What the WIP ledger's figure of an account is made of (the close's words, ``reconcilable_accounts``),
# and where the result sheets show it.
_GL_HOLDS = {"opening WIP": "opening WIP (Roll-forward: the account's subtotal)",
             "opening finished goods": "opening finished goods (Finished Goods & COGS: total opening)",
             "actual overhead this month": "actual overhead this month (Overhead: total actual)"}


def _block_heading(ctx: ResultContext, ws, title_row: int, layout: Layout, title_text: str) -> int:
    """A block below the checks: its title, then its column titles (wrapped, the row as tall as the
    longest needs); returns the block's first data row."""
    ctx.put(ws, title_row, 1, title_text, font=HEADER_FONT)
    header = title_row + 1
    for key, title, _ in layout.columns:
        ctx.put(ws, header, layout.col(key), title, font=HEADER_FONT, wrap=True)
    ws.row_dimensions[header].height = 15 * max(_lines_needed(title, _CHECKS_WIDTHS[layout.letter[key]] - 2)
                                                for key, title, _ in layout.columns)
    return header + 1


def _write_general_ledger_tie(ctx: ResultContext, ws, check_row: int, title_row: int) -> int:
    """Each balance of the General Ledger table — taken before this close's journals are posted —
    against what the WIP ledger says it must be, as formulas over the sheets that lay it out: a WIP
    account's opening from the Roll-forward's subtotal, finished goods' opening from Finished Goods &
    COGS, overhead control's actual overhead from Overhead (the close's overhead journal clears it).
    Beside it, the net this close posts to the account (Journal) and the balance the GL should show
    once the journals are imported.  ``check_row`` gets the Checks row that counts the ties; returns the block's last row."""
    from ..close._general_ledger import reconcilable_accounts

    P, money, zero = ctx.places, ctx.money, _ZERO * ctx.q
    holds_of = reconcilable_accounts(ctx.spec)  # code -> (name, what the WIP ledger's figure holds)
    rf_plan, j = ctx.shared["rf"], ctx.shared["journal"]
    posted = net_by_account(ctx.outcome.journals)

    def part(code: str, holds: str) -> str:
        if holds == "opening WIP":
            row = rf_plan["rows"].get(code)
            # An account none of this month's stages posts to has no subtotal: its opening is the
            # sum over the Roll-forward's rows (none), matched exactly.
            return _x(RF_SHEET, RF.at("opening", row)) if row is not None else _sum_where(
                _x(RF_SHEET, _column("opening", FIRST, rf_plan["last"])),
                (_x(RF_SHEET, _column("account", FIRST, rf_plan["last"])), _quoted(code)))
        if holds == "opening finished goods":
            return ctx.shared["fg"]["opening"]
        if holds == "actual overhead this month":
            return _x(OH_SHEET, ctx.shared["oh_totals"]["actual"])
        raise ValueError(f"no result sheet lays out {holds!r} of account {code}")

    def figure(code: str) -> tuple[str, str]:
        """(formula, what it is) of the WIP ledger's figure for ``code``: one part per thing it holds."""
        holds = holds_of[code][1]
        return "=" + "+".join(part(code, h) for h in holds), " + ".join(_GL_HOLDS[h] for h in holds)

    first = _block_heading(ctx, ws, title_row, GL_TIE, "Tie to the general ledger: its balances before this close's "
                           "journals are posted (General Ledger table) against the WIP ledger, and after posting")
    ties = ctx.result.general_ledger
    for k, tie in enumerate(ties):
        r = first + k
        at = lambda key: GL_TIE.at(key, r)  # noqa: E731
        ctx.put(ws, r, GL_TIE.col("account"), f"{tie.account} {tie.name}")
        ref = ctx.ref(f"general_ledger.balances.{tie.account}")  # text typed in the locale: the value read
        ctx.put(ws, r, GL_TIE.col("gl"), f"={ref}" if ref else tie.general_ledger,
                tie.general_ledger if ref else None, money, None if ref else ENGINE_FILL)
        formula, holds = figure(tie.account)
        ctx.put(ws, r, GL_TIE.col("wip"), formula, tie.wip_ledger, money)
        ctx.put(ws, r, GL_TIE.col("diff"), f"=ROUND({at('gl')}-{at('wip')},{P})", tie.difference, money)
        ctx.put(ws, r, GL_TIE.col("result"), f'=IF({at("diff")}=0,"OK",{at("diff")})',
                "OK" if tie.ok else tie.difference, font=CHECK_FONT)
        ctx.put(ws, r, GL_TIE.col("holds"), holds)
        on_account = (j["accounts"], _quoted(tie.account))
        net = posted.get(tie.account, zero)
        ctx.put(ws, r, GL_TIE.col("posted"), "=" + ctx.cents(f"{_sum_where(j['debits'], on_account)}-"
                                                             f"{_sum_where(j['credits'], on_account)}"), net, money)
        ctx.put(ws, r, GL_TIE.col("after"), "=" + ctx.cents(f"{at('gl')}+{at('posted')}"), tie.general_ledger + net,
                money)
    last = first + len(ties) - 1
    n = len(ties)
    ctx.flag(ws, GL_TIE.span("diff", first, last))
    ctx.flag(ws, GL_TIE.span("result", first, last), "result")
    span = lambda key: GL_TIE.span(key, first, last)  # noqa: E731
    name = (f"The general ledger ties to the WIP ledger before posting ({{}} of {n} general-ledger balances tie; "
            "the tie to the general ledger below)")
    live = '="' + name.format(f'"&COUNTIF({span("diff")},0)&"') + '"'  # the count stays live
    tied = sum(tie.ok for tie in ties)
    untied = sum((abs(tie.difference) for tie in ties), zero)
    ctx.put(ws, check_row, 1, live, name.format(tied))
    ctx.put(ws, check_row, 2, f"=SUM({span('gl')})", sum((t.general_ledger for t in ties), zero), money)
    ctx.put(ws, check_row, 3, f"=SUM({span('wip')})", sum((t.wip_ledger for t in ties), zero), money)
    ctx.put(ws, check_row, 4, f"=ROUND(SUMPRODUCT(ABS({span('diff')})),{P})", untied, money)
    ctx.put(ws, check_row, 5, f'=IF(D{check_row}=0,"OK",D{check_row})', "OK" if not untied else untied,
            font=CHECK_FONT)
    return last


# The input rows and columns the result sheets refer to, below the checks: columns B-E mean what
# they mean in a check (what the close read, what the cells hold now, how many differ, the result).
INPUT_POSITIONS = Layout([("where", "Input row or column the result sheets refer to (table, its key cells)", None),
                          ("read", "Read by the close", None), ("now", "In the workbook now", None),
                          ("diff", "Difference (0: the same; 1: another row or column is there)", None),
                          ("result", "Result", None)])
# Cells that say which row a row of a table is: its key, for the tables without a key in
# ``_schema`` (general-ledger codes are keyed by the close itself; finished-goods layers by product
# and month produced).
_ROW_KEYS = {"GeneralLedger": ("code",), "OpeningFG": ("product", "period")}


def _shown(value: Any) -> str:
    """What a spreadsheet's text of a cell is (``=A1&""``), as TRIM and EXACT read it.

    >>> _shown("Espresso Classic"), _shown(1310), _shown(1310.0), _shown(0.1 + 0.2), _shown(None), _shown(True)
    ('Espresso Classic', '1310', '1310', '0.3', '', 'TRUE')
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float, Decimal)):
        number = from_excel(value) if isinstance(value, float) else Decimal(value)
        text = format(number, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    if isinstance(value, (dt.datetime, dt.date)):  # a date typed in a text column: its serial number
        from openpyxl.utils.datetime import to_excel

        return _shown(float(to_excel(value)))
    return str(value)


def _input_positions(ctx: ResultContext) -> list[tuple[str, list[Cell]]]:
    """(what it is, its identifying cells) for each input row and column the result sheets refer to:
    a row by its key cells (product, stage, element…), a column by its header cell; table by table
    as the close reads them, then row and column in sheet order."""
    where: dict[tuple[str, str], tuple[str, int, int]] = {}  # (sheet, cell) -> (table, row index, column index)
    for name, data in ctx.input.tables.items():
        for i, raw in enumerate(data.rows):
            for k, cell in enumerate(raw):
                where[(cell.sheet, cell.coordinate)] = (name, i, k)
    rows: dict[str, dict[int, None]] = defaultdict(dict)
    columns: dict[str, dict[int, None]] = defaultdict(dict)
    for key in ctx.referred:
        found = where.get(key)
        if found is not None:
            name, i, k = found
            rows[name][i] = None
            columns[name][k] = None
    out: list[tuple[str, list[Cell]]] = []
    for name, data in ctx.input.tables.items():
        if name not in rows:
            continue
        spec = TABLE_BY_NAME[name]
        by_header = {normalise_header(c.value): k for k, c in enumerate(data.header)}
        keys = [(column.header, by_header[normalise_header(column.header)])
                for key in (spec.key or _ROW_KEYS.get(name, ())) for column in [spec.column(key)]
                if normalise_header(column.header) in by_header]
        for k in sorted(columns[name]):
            header = data.header[k]
            out.append((f"Table {name}, column {_column_letters(header.coordinate)}: its header {header.coordinate}",
                        [header]))
        for i in sorted(rows[name]):
            raw = data.rows[i]
            cells = [raw[k] for _, k in keys if k < len(raw)]
            if cells:
                named = ", ".join(f"{title} {raw[k].coordinate}" for title, k in keys if k < len(raw))
                out.append((f"Table {name}, row {_row_of(raw[0].coordinate)}: {named}", cells))
    return out


def _column_letters(coordinate: str) -> str:
    return coordinate.rstrip("0123456789")


def _row_of(coordinate: str) -> str:
    return coordinate[len(_column_letters(coordinate)):]


def _trimmed(text: str) -> str:
    """What a spreadsheet's TRIM makes of a text: no spaces at either end, one between words.

    >>> _trimmed("  Espresso   Classic "), _trimmed("Ending WIP\\nunits")
    ('Espresso Classic', 'Ending WIP\\nunits')
    """
    return " ".join(word for word in text.split(" ") if word)


# The whitespace the close folds (``product_key``, ``normalise_header``: Python's str.split) that
# a cell holds in practice — a tab, a line break (Alt+Enter: line feed; pasted: carriage return) and
# the no-break space of text pasted from the web or a PDF — and how a formula names each.  UNICHAR
# (Excel 2013, LibreOffice) because CHAR(160) is "†" in Excel for Mac's character set; ``_xlfn.``
# is how a workbook file names a function newer than Excel 2007.  The rest of what str.split
# folds — the Unicode spaces U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F, U+205F, U+3000
# and U+0085, and the control characters U+000B, U+000C, U+001C to U+001F (escaped in an .xlsx
# file, never typed) — is not folded: 17 more SUBSTITUTEs in every key cell's formula for
# characters no keyboard types (docs/workbook.md).
_FOLDED_WHITESPACE = (("\t", "CHAR(9)"), ("\n", "CHAR(10)"), ("\r", "CHAR(13)"), ("\xa0", "_xlfn.UNICHAR(160)"))


def _folded(text: str) -> str:
    """What ``_folding`` makes of a text, as a spreadsheet computes it: the whitespace of
    ``_FOLDED_WHITESPACE`` as spaces, then TRIM.

    >>> _folded("Ending WIP\\nunits"), _folded("\\tDrip\\xa0 Home\\r\\n"), _folded("Drip\\u2003Home")
    ('Ending WIP units', 'Drip Home', 'Drip\\u2003Home')
    """
    for char, _ in _FOLDED_WHITESPACE:
        text = text.replace(char, " ")
    return _trimmed(text)


def _folding(ref: str) -> str:
    """A formula giving the text of ``ref`` with its whitespace folded as the close folds it
    (``_FOLDED_WHITESPACE``), spaces trimmed and collapsed.

    >>> _folding("A11")
    'TRIM(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(A11,CHAR(9)," "),CHAR(10)," "),CHAR(13)," "),_xlfn.UNICHAR(160)," "))'
    """
    for _, char in _FOLDED_WHITESPACE:
        ref = f'SUBSTITUTE({ref},{char}," ")'
    return f"TRIM({ref})"


def _same_as_read(ref: str, text: str, kind: str) -> str:
    """A formula true when ``ref`` holds what the close read there (``text``), compared as the close
    reads it: a name (product, stage, element, setting) or a header upper/lower case and whitespace
    aside (``product_key``, ``normalise_header``: ``=`` between texts ignores case, ``_folding``
    folds tabs, line breaks and no-break spaces and collapses spaces); an account code exactly but
    for spaces at its ends, as the close keys accounts.

    >>> _same_as_read("A11", " Drip\\tHome", "name") == _folding("A11") + '="Drip Home"'
    True
    >>> _same_as_read("Accounts!F5", "1320", "code")
    'EXACT(TRIM(Accounts!F5),"1320")'
    """
    if kind == "code":
        return f"EXACT(TRIM({ref}),{_quoted(_trimmed(text))})"
    return f"{_folding(ref)}={_quoted(_folded(text))}"


def _compared_as(ctx: ResultContext) -> dict[tuple[str, str], str]:
    """(sheet, cell) -> "header" for each input table's header cell, "code" for each account code of
    the GeneralLedger table; any other key cell is a name."""
    kinds: dict[tuple[str, str], str] = {}
    for name, data in ctx.input.tables.items():
        kinds.update({(c.sheet, c.coordinate): "header" for c in data.header})
        if name == "GeneralLedger":
            code = normalise_header(TABLE_BY_NAME[name].column("code").header)
            k = next((k for k, c in enumerate(data.header) if normalise_header(c.value) == code), None)
            kinds.update({(raw[k].sheet, raw[k].coordinate): "code" for raw in data.rows if k is not None and k < len(raw)})
    return kinds


def _write_input_positions(ctx: ResultContext, ws, check_row: int, title_row: int,
                           read_lines: list[tuple[str, list[tuple[Cell, str]]]] = ()) -> None:
    """Each input row the result sheets' formulas refer to, by its key cells as the close read
    them against what those cells hold now, and each column by its header.  A reference is a
    position: sort the Production table after the close and ``=Production!F11`` reads another
    product's ending WIP while every total still adds up.  The check row counts the rows and
    columns that are no longer the close's and says what to do."""
    positions = _input_positions(ctx)
    kinds = _compared_as(ctx)
    title = "Input rows and columns the result sheets refer to: the keys the close read there, against what those " \
        "cells hold now"
    if read_lines:
        title += "; then the settings, accounts, stages and elements the close read, which no formula follows"
    first = _block_heading(ctx, ws, title_row, INPUT_POSITIONS, title)
    # (what, [(cell, how compared)], the Result's text when it differs)
    lines = [(what, [(cell, kinds.get((cell.sheet, cell.coordinate), "name")) for cell in cells],
              "not what the close read: the table was sorted or edited") for what, cells in positions]
    lines += [(what, cells, "changed after the close: the sheets and journals do not follow it")
              for what, cells in read_lines]
    for n, (what, cells, differs) in enumerate(lines):
        r = first + n
        at = lambda key: INPUT_POSITIONS.at(key, r)  # noqa: E731
        read = [_shown(cell.value) for cell, _ in cells]
        ctx.put(ws, r, INPUT_POSITIONS.col("where"), what)
        ctx.put(ws, r, INPUT_POSITIONS.col("read"), " / ".join(read), fill=ENGINE_FILL)
        refs = [_x(c.sheet, c.coordinate) for c, _ in cells]
        # The cells' text (an empty cell is "", a number its digits), as the spreadsheet shows it.
        now = '&" / "&'.join(refs) if len(refs) > 1 else f'{refs[0]}&""'
        ctx.put(ws, r, INPUT_POSITIONS.col("now"), f"={now}", " / ".join(read))
        same = [_same_value(ref, cell, kind) for ref, (cell, kind) in zip(refs, cells)]
        same_all = same[0] if len(same) == 1 else f"AND({','.join(same)})"
        ctx.put(ws, r, INPUT_POSITIONS.col("diff"), f"=IF({same_all},0,1)", 0)
        ctx.put(ws, r, INPUT_POSITIONS.col("result"), f'=IF({at("diff")}=0,"OK",{_quoted(differs)})', "OK",
                font=CHECK_FONT)
    last = first + len(lines) - 1
    if lines:
        ctx.flag(ws, INPUT_POSITIONS.span("diff", first, last))
        ctx.flag(ws, INPUT_POSITIONS.span("result", first, last), "result")
    n = len(lines)
    span = INPUT_POSITIONS.span("diff", first, last) if lines else None
    name = (f"The result sheets refer to the input rows and columns the close read ({{}} of {n} unchanged; input "
            "rows and columns below)")
    ctx.put(ws, check_row, 1, ('="' + name.format(f'"&COUNTIF({span},0)&"') + '"') if span else name.format(0),
            name.format(n) if span else None)
    ctx.put(ws, check_row, 4, f"=SUM({span})" if span else _ZERO, _ZERO if span else None, None)
    advice = (f"The input tables were sorted or edited after the close: the result sheets' formulas now read other "
              f"rows. Undo it, or close {ctx.spec.period} again: the close rewrites these sheets (if it says the month is locked, reopen it first)")
    result = _quoted(advice)
    if read_lines:  # a setting, account, stage or element changed, and no row referred to moved
        changed = (f"A setting, account, stage or element was changed after the close: the result sheets and the "
                   f"posted journals were made with what the close read, and do not follow it. Undo it, or reopen "
                   f"{ctx.spec.period} and close it again")
        moved = f"SUM({INPUT_POSITIONS.span('diff', first, first + len(positions) - 1)})>0" if positions else "FALSE"
        result = f"IF({moved},{result},{_quoted(changed)})"
    ctx.put(ws, check_row, 5, f'=IF(D{check_row}=0,"OK",{result})', "OK", font=CHECK_FONT)


# The settings, accounts, stages and elements the close read, listed after the input rows and columns
# the result sheets refer to: nothing on the result sheets follows them (a formula cannot recompute
# FIFO as weighted average, nor repost 1310 to 1311), so each row is compared with what the close read.
# Table -> the columns compared; an overhead rate's row is named by its Stage (a key cell, compared
# with the rows the result sheets refer to).
_NOT_FOLLOWED = {"Settings": ("setting", "value"), "Accounts": ("role", "stage", "code", "name"),
                 "Stages": ("order", "stage"), "Elements": ("product", "stage", "element", "kind", "added"),
                 "OverheadRates": ("driver",)}
_NAMED_BY = {"OverheadRates": "stage"}
_SETTING_BY_LABEL = {normalise_header(text): (key, kind) for label, key, kind, *_ in SETTINGS
                     for text in (label, key.replace("_", " "))}


def _read_not_followed(ctx: ResultContext) -> list[tuple[str, list[tuple[Cell, str]]]]:
    """(what it is, [(cell, how it is compared)]) for each row of the tables in ``_NOT_FOLLOWED``:
    every Settings row but those a formula refers to (Overhead disposition, Materiality: compared as
    rows referred to, and by the disposition check)."""
    out = []
    for name, keys in _NOT_FOLLOWED.items():
        data = ctx.input.tables.get(name)
        if data is None:
            continue
        spec = TABLE_BY_NAME[name]
        by_header = {normalise_header(c.value): k for k, c in enumerate(data.header)}
        at = {key: by_header[normalise_header(spec.column(key).header)] for key in keys + tuple(
            v for n, v in _NAMED_BY.items() if n == name) if normalise_header(spec.column(key).header) in by_header}
        columns = [(spec.column(key), at[key]) for key in keys if key in at]
        for raw in data.rows:
            cells = [(column, raw[k]) for column, k in columns if k < len(raw)]
            if not cells or all(cell.is_blank for _, cell in cells):
                continue
            if name == "Settings":
                if any((cell.sheet, cell.coordinate) in ctx.referred for _, cell in cells):
                    continue
                key, kind = _SETTING_BY_LABEL.get(normalise_header(cells[0][1].value), (None, "text"))
                kinds = ["name", "choice" if kind == "choice" else "code" if key == "currency" else "name"][:len(cells)]
            else:
                kinds = ["choice" if column.kind == "choice" else "code" if column.key == "code" else "name"
                         for column, _ in cells]
            kinds = ["number" if kind == "name" and isinstance(cell.value, (int, float, Decimal))
                     and not isinstance(cell.value, bool) else kind for kind, (_, cell) in zip(kinds, cells)]
            named = ""
            if name in _NAMED_BY and _NAMED_BY[name] in at and at[_NAMED_BY[name]] < len(raw):
                key_cell = raw[at[_NAMED_BY[name]]]
                named = f" ({spec.column(_NAMED_BY[name]).header} {key_cell.coordinate})"
            what = ", ".join(f"{column.header} {cell.coordinate}" for column, cell in cells)
            out.append((f"Table {name}, row {_row_of(cells[0][1].coordinate)}{named}, as the close read it: {what}",
                        [(cell, kind) for (_, cell), kind in zip(cells, kinds)]))
    return out


def _choice_word(text: str) -> str:
    """A choice as the close reads it: case, spaces and hyphens aside (``weighted average``)."""
    return _folded(text).lower().replace(" ", "_").replace("-", "_")


def _same_value(ref: str, cell: Cell, kind: str) -> str:
    """A formula true when ``ref`` holds what the close read in ``cell``, compared as it reads it: a
    choice case, spaces and hyphens aside; a number as a number (a stage's order, an addition point:
    its text would follow the spreadsheet's decimal separator); otherwise as ``_same_as_read``
    compares a key (a code exactly but for spaces at its ends, a name or header upper/lower case and
    whitespace aside)."""
    text = _shown(cell.value)
    if kind == "choice":
        folded = "LOWER(" + _folding(ref) + ")"
        return f'SUBSTITUTE(SUBSTITUTE({folded}," ","_"),"-","_")={_quoted(_choice_word(text))}'
    if kind == "number":
        return f"AND(ISNUMBER({ref}),ABS({ref}-({text}))<1E-9)"
    return _same_as_read(ref, text, kind)


# ---- Summary and charts --------------------------------------------------------------------------

MAX_CHART_PRODUCTS = 10


def write_summary(ctx: ResultContext, ws) -> None:
    ctx.title(ws, f"Summary {ctx.spec.period}", "Closing WIP by stage and cost per equivalent unit by stage "
                                               f"(all elements; first {MAX_CHART_PRODUCTS} products).")
    stages = list(ctx.result.stage_order)
    products = ctx.result.products[:MAX_CHART_PRODUCTS]
    header = FIRST - 1
    currency = ctx.spec.currency
    # The headings say what the figures are and in what (the rate format shows no currency): closing
    # WIP in money, each product's cost per equivalent unit (all elements) as a rate.  A product's
    # column sums its Cost Report rows by the product's name, taken from its first Cost Report row.
    ctx.put(ws, header, 1, "Stage", font=HEADER_FONT, wrap=True)
    ctx.put(ws, header, 2, f"Closing WIP ({currency})", font=HEADER_FONT, wrap=True)
    titles = [f"Cost per equivalent unit ({currency}): {product.name}" for product in products]
    for k, title in enumerate(titles):
        ctx.put(ws, header, 3 + k, title, font=HEADER_FONT, wrap=True)
    cr_last = ctx.shared["cr_last"]
    first_rows: dict[int, int] = {}
    for (i, _), (first, _) in ctx.shared["cr_stage_rows"].items():
        first_rows[i] = min(first, first_rows.get(i, first))
    names = [_x(CR_SHEET, f"${CR.letter['product']}${first_rows[i]}") for i in range(len(products))]
    closing_by_stage: dict[str, Decimal] = defaultdict(lambda: _ZERO * ctx.q)
    for row in ctx.outcome.rollforward.rows:
        closing_by_stage[row.stage] += row.closing
    for k, stage in enumerate(stages):
        r = FIRST + k
        ctx.put(ws, r, 1, stage)
        ctx.put(ws, r, 2, "=" + ctx.cents(_sum_where(_x(RF_SHEET, RF.span("closing", FIRST, cr_last)),
                                                     (_x(RF_SHEET, RF.span("stage", FIRST, cr_last)), f"A{r}"))),
                closing_by_stage[stage], ctx.money)
        for c, product in enumerate(products):
            try:
                sr = product.report.stage(stage)
                value = sum(sr.cost_per_eu.values(), _ZERO)
            except KeyError:
                value = _ZERO
            col = 3 + c
            ctx.put(ws, r, col, "=" + _sum_where(_x(CR_SHEET, CR.span("rate", FIRST, cr_last)),
                                                 (_x(CR_SHEET, CR.span("product", FIRST, cr_last)), names[c]),
                                                 (_x(CR_SHEET, CR.span("stage", FIRST, cr_last)), f"$A{r}")),
                    value, ctx.fmt("rate"))
    last = FIRST + len(stages) - 1
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 16
    for c in range(len(products)):
        ws.column_dimensions[get_column_letter(3 + c)].width = 18
    if not stages:
        return
    chart = BarChart()
    chart.type = "col"
    chart.title = "Closing WIP by stage"
    chart.y_axis.title = ctx.spec.currency
    chart.add_data(Reference(ws, min_col=2, min_row=header, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=last))
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, f"A{last + 3}")
    if products:
        chart = BarChart()
        chart.type = "col"
        chart.title = "Cost per equivalent unit by stage"
        chart.y_axis.title = f"{ctx.spec.currency} per EU"
        for c, product in enumerate(products):  # the legend names the products (the headings say the rest)
            chart.series.append(Series(Reference(ws, min_col=3 + c, min_row=FIRST, max_row=last), title=product.name))
        chart.set_categories(Reference(ws, min_col=1, min_row=FIRST, max_row=last))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, f"J{last + 3}")


for _name, _writer in ((CR_SHEET, write_cost_report), (RF_SHEET, write_rollforward), (JOURNAL_SHEET, write_journal),
                       (FG_SHEET, write_finished_goods), (OH_SHEET, write_overhead), (CHECKS_SHEET, write_checks),
                       (SUMMARY_SHEET, write_summary)):
    register_result_sheet(_name, _writer)
