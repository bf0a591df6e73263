"""Excel writer: the Variances, Standards and Flow sheets (openpyxl) — an adapter, like the exports.

Only these sheets are created or replaced, in place (same position in the workbook); every other
sheet is left as it is.  Flagged lines carry a flag text in their flag column, and conditional
formatting colours those rows, so the colour follows the data if a user sorts or filters the table.

What the reports derive is a live formula over the cells it derives from, so that an auditor can
trace it and a figure edited in the sheet carries through: a change is after − before, a roll-up
(stage, product, total) adds its detail rows, a components sum adds its components, a check is
``IF(ROUND(sum − total, places)=0,"OK","DIFFERENCE")``, U/F and the flags read the amounts (the
materiality flag the thresholds in row 3, weeks of cover the target band above its table, the
bottleneck and fastest-growing WIP the stages' units), a tie refers to the bridge's total and
subtracts the roll-forward's, a standard is EU × standard cost per EU rounded (plus its stated
adjustment), a quantity standard's cost per EU is its quantity per EU × its price, the price/usage
(rate/efficiency) components and the stages' overhead variances are formulas of the quantities,
prices, rates and budgets beside them; a stage's overhead figures are entered once, on its total
row, which its other rows and its products' overhead lines (their standard price and variable
efficiency) refer to.  The figures the report takes from the closes and the standards (the bridge's
detail lines' amounts before and after and their components, EU, standard costs per EU given as
such, quantities, prices, rates and budgets, the roll-forwards' totals) are values.  Each formula is
written with the report's value for it as its cached result (as the close
workbook does, ``costing.workbook._results.fill_cached_values``), so the sheet shows the same numbers
before any recalculation, and a recalculation must give them again
(``tests/test_variance_xlsx_libreoffice.py``).

The file may be a close workbook (``costing.workbook``):
- openpyxl drops the cached results of formulas when it saves; they are put back (the values
  the workbook held), so the close's result sheets still show their numbers before a recalculation;
- our sheet names are added to the close workbook's list of result sheets (the custom property
  ``wip.result_sheets``), so the next close of the workbook replaces them instead of treating them
  as the user's own sheets;
- the file is written beside the workbook and renamed over it: a failure leaves it as it was.
openpyxl keeps the charts it can read on other sheets, but drops images and drawings it cannot.
"""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from .._atomic import replace_atomically as _replace_atomically
from .._currency import minor_unit
from ._bridge import COMPONENTS, METRIC_LABELS, element_label, final_stage_label
from ._figures import METRIC_ORDER, Metric
from ._flow import FORECAST_LIMIT_TEXT, GROWTH_PLACES, FlowReport
from ._history import COGS_LINE_LABELS, NOT_GIVEN, OPENING_CHANGED, CogsAsPosted, VarianceReport, re_close_heading
from ._standards import StandardsReport

__all__ = ["write_sheets", "VARIANCES", "STANDARDS", "FLOW"]

VARIANCES, STANDARDS, FLOW = "Variances", "Standards", "Flow"

_ZERO = Decimal(0)
_FLAG_FILL = PatternFill(start_color="FFF4CCCC", end_color="FFF4CCCC", fill_type="solid")
_GOOD_FILL = PatternFill(start_color="FFD9EAD3", end_color="FFD9EAD3", fill_type="solid")
_BOLD = Font(bold=True)


def write_sheets(path: str | Path, *, variance: VarianceReport | None = None, standards: StandardsReport | None = None,
                 flow: FlowReport | None = None) -> list[str]:
    """Create or replace the sheets for the reports given; returns the sheet names written."""
    path = Path(path)
    ours = [name for name, report in ((VARIANCES, variance), (STANDARDS, standards), (FLOW, flow))
            if report is not None]
    kept: dict = {}
    if path.exists():
        # A close workbook: the close's own writer rules apply — content openpyxl would drop stops
        # the write, and the other sheets' formulas keep their cached results.
        from ..workbook._openpyxl import OpenpyxlSource, load_workbook_pair
        from ..workbook._results import ContentWouldBeLost, describe_loss, kept_cached_values

        wb, values, losses = load_workbook_pair(path)
        lost = [loss for loss in losses if loss.sheet not in ours]
        if lost:
            raise ContentWouldBeLost("the workbook has content that the writer (openpyxl) cannot keep and would "
                                     "delete: " + "; ".join(describe_loss(loss) for loss in lost)
                                     + " — remove it, or write the sheets into another workbook")
        kept = kept_cached_values(OpenpyxlSource(wb, values, str(path), losses), skip=set(ours))
    else:
        wb = Workbook()
        wb.remove(wb.active)
    written = []
    engine: dict[str, dict[str, object]] = {}  # sheet -> cell -> the report's value of its formula
    for name, report, fill in ((VARIANCES, variance, _variances), (STANDARDS, standards, _standards),
                               (FLOW, flow, _flow)):
        if report is None:
            continue
        if name in wb.sheetnames:
            index = wb.sheetnames.index(name)
            wb.remove(wb[name])
            ws = wb.create_sheet(name, index)
        else:
            ws = wb.create_sheet(name)
        fill(_Cells(ws, engine), report)
        written.append(name)
    _join_close_results(wb, written)
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()
    if kept or any(engine.values()):
        from ..workbook._results import fill_cached_values  # the close workbook's own writer of cached values

        data = fill_cached_values(data, engine, kept=kept)
    _replace_atomically(path, data)
    return written


_RESULT_SHEETS_PROPERTY = "wip.result_sheets"  # costing.workbook's list of sheets a close replaces


def _join_close_results(wb: Workbook, names: list[str]) -> None:
    props = getattr(wb, "custom_doc_props", None)
    if props is None:
        return
    current = next((p for p in props.props if p.name == _RESULT_SHEETS_PROPERTY), None)
    if current is None:  # not a close workbook
        return
    from openpyxl.packaging.custom import StringProperty

    listed = [n for n in str(current.value).split("\n") if n]
    listed += [n for n in names if n not in listed]
    props.props = [p for p in props.props if p.name != _RESULT_SHEETS_PROPERTY]
    props.append(StringProperty(name=_RESULT_SHEETS_PROPERTY, value="\n".join(listed)))


def _money_format(currency: str) -> str:
    places = minor_unit(currency)
    return "#,##0" + ("." + "0" * places if places else "") + ";-#,##0" + ("." + "0" * places if places else "")


# A rate (standard cost per EU, a price): two places at least, as money, up to four, as the text
# report shows rates (an exact 12.375 is not shown as 12.38).
_RATE_FORMAT = "#,##0.00##"
# A ratio shown as a percentage (the flow's WIP growth, (closing − opening) ÷ opening).
_PERCENT_FORMAT = "0.0%"

_NO_FORMULA = object()


class _Cells:
    """A sheet being written: ``put`` a value, or a formula with the report's value for it (its
    cached result, filled in after saving)."""

    def __init__(self, ws, engine: dict[str, dict[str, object]]):
        self.ws = ws
        self.title = ws.title
        self.engine = engine.setdefault(ws.title, {})

    def put(self, row: int, col: int, value, fmt: str | None = None, engine=_NO_FORMULA, font=None):
        cell = self.ws.cell(row=row, column=col)
        if engine is not _NO_FORMULA:
            if not (isinstance(value, str) and value.startswith("=")):
                raise ValueError(f"{self.title}!{cell.coordinate}: a formula's value given without its formula")
            cell.value = value
            # A formula whose value is "nothing" (no cycle time) evaluates to the empty text.
            self.engine[cell.coordinate] = "" if engine is None else engine
        else:
            cell.value = value
            if isinstance(value, str) and value.startswith("="):
                cell.data_type = "s"  # text (a product named "=Deluxe"), never a formula
        if fmt is not None:
            cell.number_format = fmt
        if font is not None:
            cell.font = font
        return cell

    def row(self, row: int, values: list, money: str | None = None, money_cols=None) -> None:
        """Values from column A on; Decimal amounts in ``money_cols`` (all, when None) get ``money``."""
        for col, value in enumerate(values, 1):
            fmt = money if money and isinstance(value, Decimal) and (money_cols is None or col in money_cols) \
                else None
            self.put(row, col, value, fmt)


def _header(ws: _Cells, row: int, titles: list[str]) -> None:
    for col, title in enumerate(titles, 1):
        ws.put(row, col, title, font=_BOLD)


def _flag_rows(ws: _Cells, first: int, last: int, ncols: int, flag_col: int, fill: PatternFill = _FLAG_FILL,
               formula: str | None = None) -> None:
    """Colour rows first..last whose flag column is not empty (or match ``formula``)."""
    if last < first:
        return
    letter = get_column_letter(flag_col)
    rule = FormulaRule(formula=[formula or f'LEN(${letter}{first})>0'], fill=fill, stopIfTrue=False)
    ws.ws.conditional_formatting.add(f"A{first}:{get_column_letter(ncols)}{last}", rule)


def _check_cells(ws: _Cells, first: int, last: int, col: int) -> None:
    """Colour a column of checks: DIFFERENCE red, OK green."""
    if last < first:
        return
    letter = get_column_letter(col)
    span = f"{letter}{first}:{letter}{last}"
    ws.ws.conditional_formatting.add(span, FormulaRule(formula=[f'${letter}{first}="DIFFERENCE"'], fill=_FLAG_FILL))
    ws.ws.conditional_formatting.add(span, FormulaRule(formula=[f'${letter}{first}="OK"'], fill=_GOOD_FILL))


def _check(expression: str, places: int) -> str:
    """A check that ``expression`` is zero to the minor unit."""
    return f'=IF(ROUND({expression},{places})=0,"OK","DIFFERENCE")'


def _round_half_up(value: Decimal, places: int) -> Decimal:
    """What the spreadsheet's ROUND gives (half away from zero).

    >>> _round_half_up(Decimal("2.345"), 2), _round_half_up(Decimal("-2.5"), 0)
    (Decimal('2.35'), Decimal('-3'))
    """
    from decimal import ROUND_HALF_UP

    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def _ok(ok: bool) -> str:
    return "OK" if ok else "DIFFERENCE"


def _uf_formula(ref: str, places: int) -> str:
    """U (unfavourable, positive), F (favourable, negative) or nothing, of the amount at ``ref``,
    read to the minor unit (a difference of sums in binary floating point can be 1e-12 off zero)."""
    return f'=IF(ROUND({ref},{places})>0,"U",IF(ROUND({ref},{places})<0,"F",""))'


def _sum(cells: list[str]) -> str:
    return "=" + "+".join(cells) if cells else "=0"


# A formula is at most 8,192 characters and a function takes at most 255 arguments (Excel's limits).
_MAX_FORMULA, _MAX_ARGS = 8000, 255


def _runs(rows: list[int]) -> list[tuple[int, int]]:
    """Rows as runs of consecutive rows.

    >>> _runs([7, 8, 9, 12, 14, 15])
    [(7, 9), (12, 12), (14, 15)]
    """
    out: list[tuple[int, int]] = []
    for r in sorted(rows):
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


def _sum_rows(letter: str, rows: list[int], fallback: str | None = None) -> str:
    """The sum of column ``letter`` over ``rows``, each one visible in the formula (runs of
    consecutive rows as ranges); ``fallback`` when that would pass Excel's limits.

    >>> _sum_rows("F", [7, 8, 9, 12])
    '=SUM(F7:F9,F12)'
    """
    args = [f"{letter}{a}" if a == b else f"{letter}{a}:{letter}{b}" for a, b in _runs(rows)]
    formula = "=SUM(" + ",".join(args) + ")"
    if fallback is not None and (len(args) > _MAX_ARGS or len(formula) > _MAX_FORMULA):
        return fallback
    return formula


# ---- Variances ---------------------------------------------------------------------------------------

_L = get_column_letter
# The bridge table's columns: before F, after G, change H, each component (volume I, mix J,
# completion K, price L), price's U/F (M: the only cost variance among them; the change and the
# other components are signed, with no U/F), the components' sum, the check that it is the change,
# the flag and the explanation.
_CHANGE_COL = 8
_COMPONENT_COLS = {c: 9 + k for k, c in enumerate(COMPONENTS)}
_UF_COLS = {"price": 13}  # the columns of LABELLED's U/F
_SUM_COL, _CHECK_COL, _FLAG_COL, _EXPLANATION_COL = 14, 15, 16, 17
_COGM = "cost of goods manufactured (to finished goods)"
# The materiality thresholds (row 3): an amount and a percent of the earlier amount.
_ABSOLUTE, _PERCENT = ("$F$3", 6), ("$G$3", 7)


def _flag_formula(row: int, places: int) -> str:
    """FLAG when the change (H) is at least the absolute threshold and at least the percent of the
    earlier amount (F); any change of at least the threshold when the earlier amount is zero
    (``costing.variance._bridge._flag``).  Read to the minor unit, the percent test a little finer."""
    change, before = f"ROUND(H{row},{places})", f"ROUND(F{row},{places})"
    percent = f"ROUND(ABS({change})*100-{_PERCENT[0]}*ABS({before}),{places + 4})>=0"
    return (f'=IF(AND({change}<>0,ABS({change})>={_ABSOLUTE[0]},OR({before}=0,{percent})),"FLAG","")')


def _bridge_rows(ws: _Cells, lines, first: int, money: str, places: int, full: bool,
                 flags: bool = False, moved_only: bool = False,
                 final_stages: tuple[dict[str, str], dict[str, str]] = ({}, {})) -> tuple[dict[str, int], int]:
    """Bridge lines from row ``first`` on: figures of the detail lines (level ``line``) as values,
    every roll-up (stage, product, total) the sum of its detail lines' cells — transferred out's
    product lines the product's last stage only (``final_stages``: before and after), its total the
    product lines (cost of goods manufactured) —, the change after − before and price's U/F from its
    sign.  ``full``: also the components (roll-ups summed likewise), their sum and its check, the
    flag (``flags``: a formula over the thresholds in row 3) and the explanation.  ``moved_only``:
    the lines are only those that moved (late changes), so a roll-up's amounts before and after are
    not the sum of the lines shown: they are values.  A product whose last stage changed between the
    months takes the earlier last stage's cells before and the later one's after; no lines hold its
    components (the bridge decomposes its cost of goods manufactured on its own): they are values.
    Transferred out's product lines measure volume and mix against all products' units completed to
    finished goods, their lines against their stage's pool: where the two pools differ (another
    product completes to finished goods from another stage in either month), the lines' components
    do not add up to the product's, and they are values too.
    Returns the total lines' rows by metric and the last row written."""
    final_before, final_after = final_stages
    rows = {i: first + i for i in range(len(lines))}
    detail: dict[str, list[int]] = {}  # metric -> indexes of its detail lines
    for i, line in enumerate(lines):
        if line.level == "line":
            detail.setdefault(line.metric, []).append(i)
    cogm = Metric.TRANSFERRED_OUT.value
    cogm_products = [rows[i] for i, line in enumerate(lines) if line.metric == cogm and line.level == "product"]
    totals: dict[str, int] = {}
    for i, line in enumerate(lines):
        r = rows[i]
        if line.level == "total":
            totals[line.metric] = r
        is_cogm = line.metric == cogm and line.level in ("product", "total")
        # Transferred out's product line names the last stage it takes (the stage column, which its
        # formula matches; "Testing → Packaging" where it changed) and, with its total, what it is.
        stage_before, stage_after = final_before.get(line.product), final_after.get(line.product)
        flow_changed = is_cogm and line.level == "product" and None not in (stage_before, stage_after) \
            and stage_before != stage_after
        stage = final_stage_label(stage_before, stage_after) if is_cogm and line.level == "product" else line.stage
        ws.row(r, [METRIC_LABELS[Metric(line.metric)], line.level, line.product, stage,
                   _COGM if is_cogm else element_label(line.element)])
        figures = [(6, line.before), (7, line.after)]
        if full:
            figures += [(_COMPONENT_COLS[c], getattr(line, c)) for c in COMPONENTS]
        if line.level == "line" or moved_only:
            for col, value in figures:
                ws.put(r, col, value, money)
        elif flow_changed:
            own = detail.get(line.metric, [])
            for col, value in figures:
                side_stage = {6: stage_before, 7: stage_after}.get(col)
                if side_stage is None:  # a component: the bridge's own decomposition of the product
                    ws.put(r, col, value, money)
                    continue
                members = [rows[k] for k in own if (lines[k].product, lines[k].stage) == (line.product, side_stage)]
                ws.put(r, col, _sum_rows(_L(col), members) if members else "=0", money, value)
        else:
            own = detail.get(line.metric, [])
            members = [rows[k] for k in own if line.level == "total"
                       or (line.level == "stage" and lines[k].stage == line.stage)
                       or (line.level == "product" and lines[k].product == line.product
                           and (not is_cogm or lines[k].stage == stage))]
            keys = {"stage": ["D"], "product": ["C", "D"] if is_cogm else ["C"]}.get(line.level, [])
            if is_cogm and line.level == "total":
                members, keys = cogm_products, []  # the products' costs of goods manufactured
            block = (rows[own[0]], rows[own[-1]]) if own else (r, r)
            # Cost of goods manufactured measured against another pool than its lines': its
            # components are the bridge's values (the lines' before and after still add up to it).
            summed = set(members)
            own_pool = not (is_cogm and line.level == "product") or all(
                getattr(line, c) == sum((getattr(lines[k], c) for k in own if rows[k] in summed), _ZERO)
                for c in COMPONENTS)
            for col, value in figures:
                letter = _L(col)
                if not own_pool and col in _COMPONENT_COLS.values():
                    ws.put(r, col, value, money)
                    continue
                # Beyond Excel's limits, the same sum by matching the stage or product exactly.
                fallback = None if not keys else (
                    "=SUMPRODUCT(" + "*".join(f"EXACT(${k}${block[0]}:${k}${block[1]},${k}{r})" for k in keys)
                    + f"*{letter}${block[0]}:{letter}${block[1]})")
                ws.put(r, col, _sum_rows(letter, members, fallback) if members else "=0", money, value)
        ws.put(r, _CHANGE_COL, f"=G{r}-F{r}", money, line.change)
        if not full:
            continue
        for c, col in _UF_COLS.items():
            ws.put(r, col, _uf_formula(f"{_L(_COMPONENT_COLS[c])}{r}", places), engine=line.labels[c])
        ws.put(r, _SUM_COL, "=" + "+".join(f"{_L(_COMPONENT_COLS[c])}{r}" for c in COMPONENTS), money,
               line.components_sum)
        ws.put(r, _CHECK_COL, _check(f"{_L(_SUM_COL)}{r}-H{r}", places), engine=_ok(line.sums_exactly))
        if flags:
            ws.put(r, _FLAG_COL, _flag_formula(r, places), engine="FLAG" if line.flagged else "")
        ws.put(r, _EXPLANATION_COL, line.explanation)
    return totals, first + len(lines) - 1


def _variances(ws: _Cells, report: VarianceReport) -> None:
    b = report.bridge
    places = minor_unit(report.currency)
    money = _money_format(report.currency)
    ws.put(1, 1, f"Variance bridge {b.before.period} → {b.after.period} ({report.currency})",
           font=Font(bold=True, size=13))
    ws.put(2, 1, f"{b.before.period}: close #{b.before.close_no} ({b.before.method}); {b.after.period}: close "
                 f"#{b.after.close_no} ({b.after.method}). Order: volume → mix → completion → price. COGS is the "
                 "cost of the units shipped, before the overhead true-up (COGS as posted: below the table).")
    one_period = b.before.period == b.after.period
    side_before, side_after = (f"{b.before.period} #{b.before.close_no}", f"{b.after.period} #{b.after.close_no}") \
        if one_period else (b.before.period, b.after.period)
    if b.materiality is not None:
        # The thresholds the Flag column's formulas read: edit them and the flags follow.
        ws.put(3, 1, f"Flag: a change of at least F3 and G3 of the {side_before} amount")
        ws.put(3, _ABSOLUTE[1], b.materiality.absolute, money)
        ws.put(3, _PERCENT[1], b.materiality.percent, 'General" %"')
    titles = ["Metric", "Level", "Product", "Stage", "Element", side_before, side_after, "Change"]
    titles += [c.capitalize() for c in COMPONENTS] + ["Price U/F"]
    titles += ["Components sum", "Sums exactly", "Flag", "Explanation"]
    top = 5
    _header(ws, top, titles)
    totals, _ = _bridge_rows(ws, b.lines, top + 1, money, places, full=True, flags=b.materiality is not None,
                             final_stages=(b.final_stages_before, b.final_stages_after))
    last = top + len(b.lines)
    _flag_rows(ws, top + 1, last, len(titles), _FLAG_COL, formula=f'${_L(_FLAG_COL)}{top + 1}="FLAG"')
    _check_cells(ws, top + 1, last, _CHECK_COL)
    for col, width in zip(range(1, len(titles) + 1), [18, 8, 18, 12, 14] + [13, 13, 13] + [13] * 4 + [9]
                          + [13, 12, 6, 90]):
        ws.ws.column_dimensions[get_column_letter(col)].width = width
    ws.ws.freeze_panes = ws.ws.cell(row=top + 1, column=6)

    row = _cogs_as_posted(ws, report.cogs_as_posted, last + 2, totals.get(Metric.COGS.value), side_before,
                          side_after, money, places)

    # The bridge chart: each metric's total change by component, from the total lines above.
    row += 2
    chart_top = row
    ws.put(row, 1, "Bridge by component (totals)", font=_BOLD)
    row += 1
    _header(ws, row, ["Metric"] + [c.capitalize() for c in COMPONENTS] + ["Change"])
    header_row = row
    for metric in METRIC_ORDER:
        if metric.value not in totals:
            continue
        total, at = b.total(metric), totals[metric.value]
        row += 1
        ws.put(row, 1, METRIC_LABELS[metric])
        sources = [_L(_COMPONENT_COLS[c]) for c in COMPONENTS] + ["H"]
        for col, (source, value) in enumerate(zip(sources, [getattr(total, c) for c in COMPONENTS] + [total.change]),
                                              2):
            ws.put(row, col, f"={source}{at}", money, value)
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = f"Bridge {b.before.period} → {b.after.period}"
    chart.y_axis.title = report.currency
    data = Reference(ws.ws, min_col=2, max_col=1 + len(COMPONENTS), min_row=header_row, max_row=row)
    cats = Reference(ws.ws, min_col=1, min_row=header_row + 1, max_row=row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 9, 18
    ws.ws.add_chart(chart, f"H{chart_top}")

    row = max(row, chart_top + 18) + 2
    ws.put(row, 1, "Ties to the stored roll-forwards", font=_BOLD)
    row += 1
    _header(ws, row, ["Metric", "What", "Bridge", "Roll-forward", "Difference", "Tie"])
    first = row + 1
    for t in report.ties:
        row += 1
        ws.row(row, [_COGM if t.metric == Metric.TRANSFERRED_OUT.value else METRIC_LABELS[Metric(t.metric)], t.what])
        at = totals.get(t.metric)
        source = {"before": "F", "after": "G", "change": "H"}[t.what]
        if at is None:
            ws.put(row, 3, t.bridge, money)
        else:
            ws.put(row, 3, f"={source}{at}", money, t.bridge)
        ws.put(row, 4, t.rollforward, money)
        ws.put(row, 5, f"=C{row}-D{row}", money, t.difference)
        ws.put(row, 6, _check(f"E{row}", places), engine=_ok(t.ok))
    _check_cells(ws, first, row, 6)

    for effect in report.method_effect:
        row += 2
        ws.put(row, 1, f"Method effect {effect.period} (close #{effect.close_no}): "
                       f"{effect.method} → {effect.other_method}", font=_BOLD)
        if not effect.available:
            ws.put(row + 1, 1, f"not available: {effect.reason}")
            row += 1
            continue
        row += 1
        _header(ws, row, ["Level", "Product", "Stage", "Ending WIP", f"Ending WIP ({effect.other_method})",
                          "Difference", "Transferred out", f"Transferred out ({effect.other_method})", "Difference"])
        for line in effect.lines:
            row += 1
            ws.row(row, [line.level, line.product, line.stage, line.ending_wip, line.ending_wip_other], money)
            ws.put(row, 6, f"=E{row}-D{row}", money, line.ending_wip_difference)
            ws.put(row, 7, line.transferred_out, money)
            ws.put(row, 8, line.transferred_out_other, money)
            ws.put(row, 9, f"=H{row}-G{row}", money, line.transferred_out_difference)

    for late in report.late_changes:
        row += 2
        ws.put(row, 1, f"Late changes {late.period}: close #{late.from_close} → "
                       f"#{late.to_close} {late.reason}".rstrip(), font=_BOLD)
        if late.opening_changed:  # first, as `wip diff` takes it
            row += 1
            ws.put(row, 1, OPENING_CHANGED)
        for change in late.input_changes:  # as `wip diff` lists them
            row += 1
            ws.put(row, 1, change.path)
            ws.put(row, 6, NOT_GIVEN if change.before is None else change.before)
            ws.put(row, 7, NOT_GIVEN if change.after is None else change.after)
        late_totals, row = _bridge_rows(ws, late.bridge.lines, row + 1, money, places, full=False, moved_only=True,
                                          final_stages=(late.bridge.final_stages_before,
                                                        late.bridge.final_stages_after))
        # What the re-close moved beyond the bridge: an overhead change written off to COGS moves
        # only the true-up and COGS as posted.
        row = _cogs_as_posted(ws, late.cogs_as_posted, row + 2, late_totals.get(Metric.COGS.value),
                              f"{late.period} #{late.from_close}", f"{late.period} #{late.to_close}", money, places)
        if late.finished_goods_proration:
            row = _finished_goods_proration(ws, late.finished_goods_proration, row + 2,
                                            f"{late.period} #{late.from_close}", f"{late.period} #{late.to_close}",
                                            money, places)
    if report.notes or report.needs_re_close:
        row += 2
        ws.put(row, 1, "Notes", font=_BOLD)
        for note in [f"{re_close_heading(n)}: {n}" for n in report.needs_re_close] + list(report.notes):
            row += 1
            ws.put(row, 1, note)


def _cogs_as_posted(ws: _Cells, cogs: CogsAsPosted, row: int, total_row: int | None, side_before: str,
                    side_after: str, money: str, places: int) -> int:
    """Under a bridge table (its COGS total at ``total_row``): the bridge's COGS, the overhead true-up
    of each close and COGS as posted, tied to the stored journals.  Returns the last row written."""
    ws.put(row, 1, "COGS as posted: the bridge's COGS (units shipped, before the overhead true-up) plus the "
                   "overhead the close wrote off or prorated to COGS", font=_BOLD)
    row += 1
    ws.put(row, 1, "What", font=_BOLD)
    # The change is signed, with no U/F: a balance expensed, and the overhead's disposition.
    for col, title in ((6, side_before), (7, side_after), (8, "Change"), (9, "Tie")):
        ws.put(row, col, title, font=_BOLD)
    at: dict[str, int] = {}
    for line in cogs.lines:
        row += 1
        at[line.what] = row
        ws.put(row, 1, COGS_LINE_LABELS[line.what][:1].upper() + COGS_LINE_LABELS[line.what][1:])
        for col, value in ((6, line.before), (7, line.after)):
            letter = get_column_letter(col)
            if line.what == "before_true_up" and total_row is not None:
                ws.put(row, col, f"={letter}{total_row}", money, value)
            elif line.what == "as_posted":
                parts = [f"{letter}{at[w]}" for w in ("before_true_up", "overhead_written_off", "overhead_prorated")]
                ws.put(row, col, _sum(parts), money, value)
            elif line.what == "difference":
                ws.put(row, col, f"={letter}{at['as_posted']}-{letter}{at['journals']}", money, value)
            else:
                ws.put(row, col, value, money)
        ws.put(row, 8, f"=G{row}-F{row}", money, line.change)
        if line.what == "difference":
            ws.put(row, 9, f'=IF(AND(ROUND(F{row},{places})=0,ROUND(G{row},{places})=0),"OK","DIFFERENCE")',
                   engine=_ok(cogs.ties_ok))
            _check_cells(ws, row, row, 9)
    return row


def _finished_goods_proration(ws: _Cells, lines, row: int, side_before: str, side_after: str, money: str,
                              places: int) -> int:
    """The overhead each close prorated to finished goods, by product (values: the closes'), the
    total their sum, the change after − before (signed, no U/F: a balance).  Returns the last row written."""
    ws.put(row, 1, "Overhead prorated to finished goods (under-applied +), by product", font=_BOLD)
    row += 1
    ws.put(row, 1, "Product", font=_BOLD)
    for col, title in ((6, side_before), (7, side_after), (8, "Change")):
        ws.put(row, col, title, font=_BOLD)
    first = row + 1
    for line in lines:
        row += 1
        if line.product:
            ws.put(row, 1, line.product)
            ws.put(row, 6, line.before, money)
            ws.put(row, 7, line.after, money)
        else:
            ws.put(row, 1, "Total", font=_BOLD)
            ws.put(row, 6, _sum_rows("F", list(range(first, row))), money, line.before)
            ws.put(row, 7, _sum_rows("G", list(range(first, row))), money, line.after)
        ws.put(row, 8, f"=G{row}-F{row}", money, line.change)
    return row


# ---- Standards ---------------------------------------------------------------------------------------

def _standards(ws: _Cells, report: StandardsReport) -> None:
    places = minor_unit(report.currency)
    money = _money_format(report.currency)
    ws.put(1, 1, f"Standard costs {report.period} (close #{report.close_no}, {report.currency})",
           font=Font(bold=True, size=13))
    ws.put(2, 1, "This period's work (FIFO equivalent units) at standard. Positive = unfavourable (U). Cost added: "
                 "as the close charged it, materials and labour at actual, overhead as applied at the predetermined "
                 "rate (overhead incurred: below the total).")
    titles = ["Product", "Stage", "Element", "Kind", "EU", "Std cost/EU", "Standard", "Cost added (overhead: applied)",
              "Variance", "U/F", "Std quantity", "Actual quantity", "Std price", "Actual price", "Price / rate", "U/F",
              "Usage / (variable) efficiency", "U/F", "Fixed volume efficiency (overhead)", "U/F",
              "Components add up", "Std rounding (share of the stage's standard)", "Std quantity per EU"]
    top = 4
    _header(ws, top, titles)
    row = top
    at_row: dict[int, int] = {}  # position in report.elements -> its row
    for i, e in enumerate(report.elements):
        row += 1
        at_row[i] = row
        ws.row(row, [e.product, e.stage, e.element, e.kind, e.equivalent_units, None, None,
                     e.cost_added], money, money_cols=(8,))
        # A quantity standard's cost per EU is its quantity per EU (column W) × its price (M), so
        # that an edited price or quantity carries through to the standard and the variances.
        if e.basis == "quantity" and e.standard_quantity_per_eu is not None and e.standard_price is not None \
                and e.standard_quantity_per_eu * e.standard_price == e.standard_cost_per_eu:
            ws.put(row, 23, e.standard_quantity_per_eu)
            ws.put(row, 6, f"=W{row}*M{row}", _RATE_FORMAT, e.standard_cost_per_eu)
        else:
            ws.put(row, 6, e.standard_cost_per_eu, _RATE_FORMAT)
        # Standard = EU × standard cost per EU, rounded; the adjustment beside it (column V) is what
        # the report's figure differs by: an overhead line's share of its stage's standard (largest
        # remainder), or the close's rounding mode where it is not half up.
        ws.put(row, 22, e.standard_cost - _round_half_up(e.equivalent_units * e.standard_cost_per_eu, places), money)
        ws.put(row, 7, f"=ROUND(E{row}*F{row},{places})+V{row}", money, e.standard_cost)
        ws.put(row, 9, f"=H{row}-G{row}", money, e.total.amount)
        ws.put(row, 10, _uf_formula(f"I{row}", places), engine=e.total.label)
        # The standard quantity is EU × quantity per EU where W holds it: an edited quantity per EU
        # moves the standard quantity too (the stage's SH, the efficiency), not the standard alone.
        if ws.ws.cell(row=row, column=23).value is not None and e.standard_quantity is not None \
                and e.equivalent_units * e.standard_quantity_per_eu == e.standard_quantity:
            ws.put(row, 11, f"=E{row}*W{row}", None, e.standard_quantity)
        else:
            ws.put(row, 11, e.standard_quantity)
        ws.put(row, 12, e.actual_quantity)
        ws.put(row, 13, e.standard_price, _RATE_FORMAT)
        if e.actual_price is not None:
            ws.put(row, 14, f"=H{row}/L{row}", _RATE_FORMAT, engine=e.actual_price)
        formulas = _component_formulas(e, row, places)
        for k, c in enumerate(e.components):
            col = 15 + 2 * k
            if formulas[k]:
                ws.put(row, col, formulas[k], money, c.amount)
            else:
                ws.put(row, col, c.amount, money)
            ws.put(row, col + 1, _uf_formula(f"{get_column_letter(col)}{row}", places), engine=c.label)
        if e.components:
            parts = "+".join(f"{get_column_letter(15 + 2 * k)}{row}" for k in range(len(e.components)))
            ws.put(row, 21, _check(f"{parts}-I{row}", places),
                   engine=_ok(sum((c.amount for c in e.components), Decimal(0)) == e.total.amount))
    last = row
    coloured = 21  # A to U: the line and its variances (not the inputs V and W beside them)
    _flag_rows(ws, top + 1, last, coloured, 10, formula=f'$J{top + 1}="U"')
    _flag_rows(ws, top + 1, last, coloured, 10, fill=_GOOD_FILL, formula=f'$J{top + 1}="F"')
    _check_cells(ws, top + 1, last, 21)
    row += 1
    total_row = row
    ws.put(row, 1, "Total", font=_BOLD)
    ws.put(row, 7, f"=SUM(G{top + 1}:G{last})", money, report.standard_cost)
    ws.put(row, 8, f"=SUM(H{top + 1}:H{last})", money, report.cost_added)
    ws.put(row, 9, f"=H{row}-G{row}", money, report.total.amount)
    ws.put(row, 10, _uf_formula(f"I{row}", places), engine=report.total.label)

    incurred_at: dict[str, tuple[str, Decimal]] = {}  # stage -> its incurred overhead's cell, and amount
    if report.overhead_applied:
        row += 1
        under_row = row
        row += 1
        incurred_row = row
        row += 2
        ws.put(row, 1, "Overhead applied against incurred, by stage (all products)", font=_BOLD)
        row += 1
        _header(ws, row, ["Stage", "Driver", "Incurred", "Applied", "Incurred − applied", "U/F", "Disposition",
                          "In cost incurred"])
        first = row + 1
        for a in report.overhead_applied:
            row += 1
            incurred_at[a.stage] = (f"C{row}", a.incurred)
            ws.row(row, [a.stage, a.driver, a.incurred, a.applied], money)
            ws.put(row, 5, f"=C{row}-D{row}", money, a.under_over_applied.amount)
            ws.put(row, 6, _uf_formula(f"E{row}", places), engine=a.under_over_applied.label)
            ws.put(row, 7, a.disposition.replace("_", " "))
            ws.put(row, 8, "yes" if a.in_cost_added else "no")
        row += 1
        ws.put(row, 1, "Total (stages in cost incurred)", font=_BOLD)
        ws.put(row, 5, f'=SUMIF(H{first}:H{row - 1},"yes",E{first}:E{row - 1})', money,
               report.under_over_applied.amount)
        ws.put(row, 6, _uf_formula(f"E{row}", places), engine=report.under_over_applied.label)
        # Under the elements' total: the under- or over-applied overhead, and the cost incurred.
        ws.put(under_row, 1, "Overhead under(+)/over(−)-applied (incurred − applied)")
        ws.put(under_row, 8, f"=E{row}", money, report.under_over_applied.amount)
        ws.put(incurred_row, 1, "Cost incurred (overhead as incurred)", font=_BOLD)
        ws.put(incurred_row, 7, f"=G{total_row}", money, report.standard_cost)
        ws.put(incurred_row, 8, f"=H{total_row}+H{under_row}", money, report.cost_incurred)
        ws.put(incurred_row, 9, f"=H{incurred_row}-G{incurred_row}", money, report.total_incurred.amount)
        ws.put(incurred_row, 10, _uf_formula(f"I{incurred_row}", places), engine=report.total_incurred.label)

    if report.overhead:
        row += 2
        ws.put(row, 1, "Overhead by stage: incurred against standard (then the products' lines, applied − "
                       "standard, with the stage's incurred − applied that no product holds); the stage's "
                       "figures are entered once, on its total row, and the other rows refer to them", font=_BOLD)
        row += 1
        _header(ws, row, ["Stage", "Driver", "AH", "SH", "Incurred", "Applied", "Standard", "Variance", "Amount", "U/F",
                          "Check", "Std variable rate", "Std fixed rate", "Fixed budget", "Actual variable",
                          "Actual fixed", "Variable at AH", "Variable at SH (share of standard)"])
        for o in report.overhead:
            variance_rows = []
            product_rows = []
            # The products' overhead lines of the stage (above): the stage's SH, AH, applied and
            # standard are their sums, and the products' components add up theirs, where they do.
            members = [i for i, e in enumerate(report.elements) if e.stage == o.stage and e.kind == "overhead"
                       and e.basis == "quantity" and len(e.components) == 3]
            rolled = {}  # column -> formula over the members' rows
            for col, source, want, value in ((3, "L", o.actual_driver_quantity, lambda e: e.actual_quantity),
                                             (4, "K", o.standard_driver_quantity, lambda e: e.standard_quantity),
                                             (6, "H", o.applied, lambda e: e.cost_added),
                                             (7, "G", o.standard, lambda e: e.standard_cost)):
                if members and sum((value(report.elements[i]) or _ZERO for i in members), _ZERO) == want:
                    rolled[col] = _sum_rows(source, [at_row[i] for i in members])

            variable = _stage_variable(o, places)
            # The stage's figures, each in one cell of its total row (``inputs``), which every other
            # row of the stage refers to: an edited rate, budget or actual carries through to all
            # of its variances and checks.  column -> (value or formula, cached value, format).
            inputs: dict[int, tuple] = {}
            for col, value in zip((1, 2, 3, 4, 5, 6, 7), (o.stage, o.driver, o.actual_driver_quantity,
                                                          o.standard_driver_quantity, o.actual, o.applied,
                                                          o.standard)):
                inputs[col] = (rolled.get(col, value), value, money if col in (5, 6, 7) else None)
            incurred = incurred_at.get(o.stage)
            if incurred is not None and incurred[1] == o.actual:  # entered once, in the table above
                inputs[5] = (f"={incurred[0]}", o.actual, money)
            inputs[12] = (o.standard_variable_rate, o.standard_variable_rate, None)
            inputs[13] = (o.standard_fixed_rate, o.standard_fixed_rate, None)
            for col, value in ((14, o.fixed_budget), (15, o.actual_variable), (16, o.actual_fixed)):
                if value is not None:
                    inputs[col] = (value, value, money)
            total_at = row + len(o.variances) + 2  # below the variances and the controllable variance
            inputs[17] = (f"=ROUND(C{total_at}*L{total_at},{places})", variable["ah"], money)
            inputs[18] = (f"=ROUND(D{total_at}*L{total_at},{places})" if variable["sh_formula"] else variable["sh"],
                          variable["sh"], money)

            def stage_row(r: int, name: str) -> None:
                for col, (entry, value, fmt) in inputs.items():
                    if col <= 2:  # the stage and its driver: names, on every row
                        ws.put(r, col, entry)
                    elif r != total_at:
                        ws.put(r, col, f"=${_L(col)}${total_at}", fmt, value)
                    elif isinstance(entry, str) and entry.startswith("="):
                        ws.put(r, col, entry, fmt, value)
                    else:
                        ws.put(r, col, entry, fmt)
                ws.put(r, 8, name)

            for v in o.variances + (o.controllable,):
                row += 1
                stage_row(row, v.name)
                formula = _STAGE_VARIANCE_FORMULAS.get(v.name)
                if formula is not None and variable["values"].get(v.name) == v.amount:
                    ws.put(row, 9, formula.format(r=row), money, v.amount)
                else:
                    ws.put(row, 9, v.amount, money)
                ws.put(row, 10, _uf_formula(f"I{row}", places), engine=v.label)
                if v is not o.controllable:
                    variance_rows.append(row)
            row += 1  # total_at
            stage_row(row, o.total.name)
            ws.put(row, 9, f"=E{row}-G{row}", money, o.total.amount)
            ws.put(row, 10, _uf_formula(f"I{row}", places), engine=o.total.label)
            ws.put(row, 11, _check("+".join(f"I{r}" for r in variance_rows) + f"-I{row}", places),
                   engine=_ok(o.sums_exactly))
            _check_cells(ws, row, row, 11)
            for k, v in enumerate(o.products):
                row += 1
                own = v.name == "actual_less_applied"
                stage_row(row, "not by product: actual_less_applied" if own else f"products: {v.name}")
                if own:
                    ws.put(row, 9, f"=E{row}-F{row}", money, v.amount)
                elif members and all(report.elements[i].components[k].name == v.name for i in members) \
                        and sum((report.elements[i].components[k].amount for i in members), _ZERO) == v.amount:
                    ws.put(row, 9, _sum_rows(_L(15 + 2 * k), [at_row[i] for i in members]), money, v.amount)
                else:
                    ws.put(row, 9, v.amount, money)
                ws.put(row, 10, _uf_formula(f"I{row}", places), engine=v.label)
                product_rows.append(row)
            if product_rows:
                ws.put(row, 11, _check("+".join(f"I{r}" for r in product_rows) + f"-I{total_at}", places),
                       engine=_ok(o.products_sum_exactly))
                _check_cells(ws, row, row, 11)
            _overhead_lines_from_stage(ws, report, at_row, o, total_at, places)
    if report.at_standard:
        row += 2
        ws.put(row, 1, "WIP at standard (memo)", font=_BOLD)
        row += 1
        _header(ws, row, ["Product", "Stage", "Std unit cost", "Beginning WIP", "Work done", "To account for",
                          "Completed", "Ending WIP (counted)", "Count difference (counted − book, + adds to WIP)",
                          "Spoiled",
                          "Accounted for (completed + ending + spoiled − count difference)",
                          "Check"])
        first = row + 1
        for s in report.at_standard:
            row += 1
            ws.row(row, [s.product, s.stage, s.standard_unit_cost, s.beginning_wip, s.work_done], money,
                   money_cols=(4, 5))
            ws.put(row, 6, f"=D{row}+E{row}", money, s.to_account_for)
            for col, value in ((7, s.completed), (8, s.ending_wip), (9, s.count_difference), (10, s.spoiled)):
                ws.put(row, col, value, money)
            ws.put(row, 11, f"=G{row}+H{row}+J{row}-I{row}", money, s.accounted_for)
            ws.put(row, 12, _check(f"F{row}-K{row}", places), engine=_ok(s.to_account_for == s.accounted_for))
        _check_cells(ws, first, row, 12)
    for note in report.notes:
        row += 2
        ws.put(row, 1, note)
    if report.without_standard:  # the total's cost added reconciled to the close's
        row += 2
        ws.put(row, 1, "Cost added without a standard (in no variance above)", font=_BOLD)
        row += 1
        _header(ws, row, ["Product", "Stage", "Element", "Cost added"])
        first = row + 1
        for w in report.without_standard:
            row += 1
            ws.row(row, [w.product, w.stage, w.element, w.cost_added], money)
        row += 1
        ws.put(row, 1, "Total without a standard", font=_BOLD)
        ws.put(row, 4, f"=SUM(D{first}:D{row - 1})", money, report.cost_added_without_standard)
        row += 1
        ws.put(row, 1, "The close's cost added (the Total's cost added + without a standard)", font=_BOLD)
        ws.put(row, 4, f"=H{total_row}+D{row - 1}", money, report.cost_added + report.cost_added_without_standard)
    for col, width in zip(range(1, 24), [18, 12, 14, 10] + [12] * 19):
        ws.ws.column_dimensions[get_column_letter(col)].width = width


def _overhead_lines_from_stage(ws: _Cells, report: StandardsReport, at_row: dict[int, int], o, total_at: int,
                               places: int) -> None:
    """The stage's products' overhead lines (element table) read the stage's standard rates on its
    total row: the standard price (per driver unit) = variable + fixed rate, and the variable
    efficiency = ``ROUND((actual − standard quantity) × variable rate)``, each where it gives the
    report's figure (a variable efficiency is a largest-remainder share of the stage's, which can
    be a minor unit off: a value there, as the report's note on the stage's rounding says)."""
    rates = f"=$L${total_at}+$M${total_at}"
    for i, e in enumerate(report.elements):
        if e.stage != o.stage or e.kind != "overhead" or e.basis != "quantity" or i not in at_row:
            continue
        row = at_row[i]
        if e.standard_price == o.standard_variable_rate + o.standard_fixed_rate:
            ws.put(row, 13, rates, _RATE_FORMAT, e.standard_price)
        if len(e.components) == 3 and e.actual_quantity is not None and e.standard_quantity is not None:
            efficiency = e.components[1]
            exact = (e.actual_quantity - e.standard_quantity) * o.standard_variable_rate
            if efficiency.name == "variable_efficiency" and _round_half_up(exact, places) == efficiency.amount:
                # Rounded to a few more places first: (95 − 95.925) × 9 is −8.3249999999999744 in
                # binary floating point, which ROUND alone would take to −8.32, not −8.33.
                ws.put(row, 17, f"=ROUND(ROUND((L{row}-K{row})*$L${total_at},{places + 6}),{places})",
                       ws.ws.cell(row, 17).number_format, efficiency.amount)


def _component_formulas(e, row: int, places: int) -> list[str | None]:
    """An element line's price/usage (rate/efficiency) components as formulas over its row, where
    they give the report's amounts (``_standards._element_variance``): the flexible budget is the
    actual quantity at standard price, ``ROUND(L × M)``; price (rate) = cost added − flexible,
    usage (efficiency) = flexible − standard; an overhead line's fixed volume efficiency = flexible −
    standard − its variable efficiency (a formula of the stage's variable rate where it can be:
    ``_overhead_lines_from_stage``).  None where a
    formula would not give the report's amount (a rounding mode other than half up)."""
    n = len(e.components)
    if not n or e.actual_quantity is None or e.standard_price is None:
        return [None] * n
    flexible = _round_half_up(e.actual_quantity * e.standard_price, places)
    flex = f"ROUND(L{row}*M{row},{places})"
    amounts = [c.amount for c in e.components]
    if n == 2:
        candidates = [(f"=H{row}-{flex}", e.cost_added - flexible), (f"={flex}-G{row}", flexible - e.standard_cost)]
    else:
        candidates = [(f"=H{row}-{flex}", e.cost_added - flexible), (None, None),
                      (f"={flex}-G{row}-Q{row}", flexible - e.standard_cost - amounts[1])]
    return [formula if formula and value == amount else None for (formula, value), amount in zip(candidates, amounts)]


# A stage's overhead variances as formulas over its row (whose figures refer to the stage's total
# row, where they are entered once): C AH, D SH, E incurred, G standard, L the
# standard variable rate, N the fixed budget, O/P the actual variable/fixed, Q the variable overhead
# at AH (rounded), R at SH (the variable part of the standard); fixed at SH = G − R.
_STAGE_VARIANCE_FORMULAS = {
    "spending": "=E{r}-(N{r}+Q{r})",
    "variable_spending": "=O{r}-Q{r}",
    "efficiency": "=Q{r}-R{r}",
    "variable_efficiency": "=Q{r}-R{r}",
    "fixed_spending": "=P{r}-N{r}",
    "production_volume": "=N{r}-(G{r}-R{r})",
    "controllable": "=E{r}-(N{r}+R{r})",
}


def _stage_variable(o, places: int) -> dict:
    """The variable overhead at AH and at SH as the formulas give them, whether the SH formula gives
    the report's share of the standard, and each variance as its formula gives it (compared with the
    report's before a formula is written: ``_standards._overhead_variance``)."""
    ah = _round_half_up(o.actual_driver_quantity * o.standard_variable_rate, places)
    rounded_sh = _round_half_up(o.standard_driver_quantity * o.standard_variable_rate, places)
    # The report's variable part of the standard (its largest-remainder share), from its
    # production-volume variance = fixed budget − (standard − variable part).
    sh = o.standard - (o.fixed_budget - next(v.amount for v in o.variances if v.name == "production_volume"))
    values = {"production_volume": o.fixed_budget - (o.standard - sh), "controllable": o.actual - (o.fixed_budget + sh),
              "efficiency": ah - sh, "variable_efficiency": ah - sh, "spending": o.actual - (o.fixed_budget + ah)}
    if o.actual_variable is not None:
        values["variable_spending"] = o.actual_variable - ah
        values["fixed_spending"] = o.actual_fixed - o.fixed_budget
    return {"ah": ah, "sh": sh, "sh_formula": rounded_sh == sh, "values": values}


# ---- Flow ----------------------------------------------------------------------------------------------

_Q = 2  # flow figures are estimates, shown (and rounded) to two places
def _wip_growth_shown(s) -> Decimal | None:
    """The WIP growth cell's value: the flow report's (``StageFlow.wip_growth``, three places, a
    percentage to one place); None (an empty cell) without opening WIP."""
    return s.wip_growth if s.opening_wip else None


_BOTH_FLAGS = '"","BOTTLENECK","WIP GROWING FASTEST","BOTTLENECK, WIP GROWING FASTEST"'


def _stage_flag(row: int, rows: list[int], days: str, flag: str) -> tuple:
    """The stage's flag (``ws.put`` arguments) as a formula over the stages' units (``_flow.build_flow``):
    BOTTLENECK when its cycle time, (opening + closing) ÷ 2 ÷ (completed ÷ days) unrounded, is the
    longest, WIP GROWING FASTEST when its WIP growth, (closing − opening) ÷ opening, is the largest
    above zero — the first stage in flow order on a tie, each compared to ten places.  A stage
    holding WIP that completed nothing is stalled, its cycle time unbounded: 1E+100 × its opening
    + closing WIP here, above any stage that moves and ranked by its WIP as ``build_flow`` ranks
    stalled stages; one with neither WIP nor completions has no cycle time (-1), one with no opening
    WIP no growth (0).  The flag as a value beyond Excel's limits on a formula."""
    # A stalled stage's WIP rounded to ten places before it is scaled: two equal in the report stay
    # equal here (0.1 + 0.2 against 0.3), where 1E+100 times a float's last bit is no tie.
    cycle = lambda r: f"IF(B{r}=0,IF(D{r}+E{r}=0,-1,1E+100*ROUND(D{r}+E{r},10)),(D{r}+E{r})*{days}/(2*B{r}))"  # noqa: E731
    growth = lambda r: f"IF(D{r}=0,0,(E{r}-D{r})/D{r})"  # noqa: E731

    def first_largest(of, floor: str) -> str:
        earlier = ",".join([floor] + [of(r) for r in rows if r < row])
        later = ",".join([floor] + [of(r) for r in rows if r > row])
        return f"AND(ROUND({of(row)}-MAX({earlier}),10)>0,ROUND({of(row)}-MAX({later}),10)>=0)"

    formula = (f"=CHOOSE(1+{first_largest(cycle, '-1')}+2*{first_largest(growth, '0')},{_BOTH_FLAGS})")
    if len(formula) > _MAX_FORMULA or len(rows) >= _MAX_ARGS:
        return (flag,)
    return formula, None, flag


def _product_stage_rows(ws: _Cells, report: FlowReport, row: int, days: str) -> int:
    """The table "By product and stage" from ``row`` on (its title), built as the stages' rows are:
    units as values, throughput, average WIP and Little's-law cycle time as formulas over them.  It is
    what an order's lead time for new starts adds up (``_flow._lead_time``).  Returns its last row
    (``row`` − 2, where the previous table ended, when there is no product)."""
    if not report.product_stages:
        return row - 2
    ws.put(row, 1, "By product and stage", font=_BOLD)
    row += 1
    _header(ws, row, ["Product", "Stage", "Completed", "Throughput/day", "Opening WIP", "Closing WIP", "Average WIP",
                      "Cycle time (days)"])
    for p in report.product_stages:
        row += 1
        ws.put(row, 1, p.product)
        ws.put(row, 2, p.stage)
        ws.put(row, 3, p.completed)
        ws.put(row, 4, f"=ROUND(C{row}/{days},{_Q})", engine=p.throughput_per_day)
        ws.put(row, 5, p.opening_wip)
        ws.put(row, 6, p.closing_wip)
        ws.put(row, 7, f"=ROUND((E{row}+F{row})/2,{_Q})", engine=p.average_wip)
        # Little's law on the unrounded average and throughput, as the stages' cycle time above.
        ws.put(row, 8, f'=IF(C{row}=0,"",ROUND(((E{row}+F{row})/2)/(C{row}/{days}),{_Q}))', engine=p.cycle_time_days)
    if report.orders:
        row += 1
        ws.put(row, 1, "An order's lead time for new starts (Open orders) is the sum of its product's cycle times "
                       "here; where the product completed nothing at a stage (no cycle time), the stage's cycle time "
                       "above, all products.")
    return row


def _flow(ws: _Cells, report: FlowReport) -> None:
    ws.put(1, 1, f"WIP flow {report.period} ({report.days} days, as of {report.as_of.isoformat()})",
           font=Font(bold=True, size=13))
    ws.put(2, 1, "Days in the period")
    ws.put(2, 2, report.days)
    days = "$B$2"
    top = 3
    titles = ["Stage", "Completed", "Throughput/day", "Opening WIP", "Closing WIP", "Average WIP", "Cycle time (days)",
              "WIP growth", "Trend", "Flag"]
    _header(ws, top, titles)
    row = top
    stage_rows: dict[str, int] = {s.stage: top + 1 + i for i, s in enumerate(report.stages)}
    for s in report.stages:
        row += 1
        flag = ", ".join(f for f, on in (("BOTTLENECK", s.bottleneck), ("WIP GROWING FASTEST", s.wip_growing_fastest))
                         if on)
        ws.put(row, 1, s.stage)
        ws.put(row, 2, s.completed)
        ws.put(row, 3, f"=ROUND(B{row}/{days},{_Q})", engine=s.throughput_per_day)
        ws.put(row, 4, s.opening_wip)
        ws.put(row, 5, s.closing_wip)
        ws.put(row, 6, f"=ROUND((D{row}+E{row})/2,{_Q})", engine=s.average_wip)
        # Little's law on the unrounded average and throughput.
        ws.put(row, 7, f'=IF(B{row}=0,"",ROUND(((D{row}+E{row})/2)/(B{row}/{days}),{_Q}))', engine=s.cycle_time_days)
        ws.put(row, 8, f'=IF(D{row}=0,"",ROUND((E{row}-D{row})/D{row},{GROWTH_PLACES}))', _PERCENT_FORMAT,
               engine=_wip_growth_shown(s))
        ws.put(row, 10, *_stage_flag(row, list(stage_rows.values()), days, flag))
    _flag_rows(ws, top + 1, row, len(titles), 10)

    row += 2
    ws.put(row, 1, "Cycle time trend (days)", font=_BOLD)
    periods = []
    for s in report.stages:
        for p in s.trend:
            if p.period not in periods:
                periods.append(p.period)
    row += 1
    _header(ws, row, ["Stage"] + periods)
    for s in report.stages:
        row += 1
        ws.put(row, 1, s.stage)
        points = {p.period: p.cycle_time_days for p in s.trend}
        shown = []  # the columns of the points the trend compares: the first and the last with a cycle time
        for col, period in enumerate(periods, 2):
            value = points.get(period)
            if period == report.period and period in points:
                # This period's point is the cycle time above.
                ws.put(row, col, f"=G{stage_rows[s.stage]}", engine=value)
            else:
                ws.put(row, col, value)
            if value is not None:
                shown.append(col)
        at = stage_rows[s.stage]
        if len(shown) < 2:
            ws.put(at, 9, s.cycle_time_trend)
        else:
            # Rising or falling: the last point more than 5 % above or below the first (``_flow._direction``).
            first, last = f"{_L(shown[0])}{row}", f"{_L(shown[-1])}{row}"
            # From a first point of 0.00 (no WIP then), any cycle time since is a rise.
            ws.put(at, 9, f'=IF({last}="","n/a",IF(N({first})=0,IF({last}>0,"rising","flat"),'
                          f'IF(ROUND({last}-{first}-0.05*{first},6)>0,"rising",'
                          f'IF(ROUND({last}-{first}+0.05*{first},6)<0,"falling","flat"))))', engine=s.cycle_time_trend)

    row = _product_stage_rows(ws, report, row + 2, days)

    if report.orders:
        row += 2
        ws.put(row, 1, "Open orders", font=_BOLD)
        row += 1
        titles = ["Order", "Product", "Units", "Due", "Forecast", "Slack (days)", "Source", "Flag", "How"]
        _header(ws, row, titles)
        first = row + 1
        for o in report.orders:
            row += 1
            forecast = o.forecast or (FORECAST_LIMIT_TEXT if o.beyond_horizon else None)
            for col, value in enumerate([o.id, o.product, o.units, o.due, forecast, o.slack_days, o.source,
                                         "AT RISK" if o.at_risk else "", o.reason], 1):
                fmt = "yyyy-mm-dd" if col in (4, 5) and value is not None and not isinstance(value, str) else None
                ws.put(row, col, value, fmt)
        _flag_rows(ws, first, row, len(titles), 8)

    row += 2
    low, high = report.cover_band
    ws.put(row, 1, f"Finished-goods weeks of cover (target {low}–{high} weeks)", font=_BOLD)
    row += 1
    # The target band the Flag column's formulas read: edit it and the flags follow.
    ws.put(row, 1, "Target band (weeks): low, high")
    ws.put(row, 2, low)
    ws.put(row, 3, high)
    band = (f"$B${row}", f"$C${row}")
    row += 1
    titles = ["Product", "On hand", "Shipped", "Days", "Shipped per week", "Weeks of cover", "Expected from WIP",
              "Weeks with WIP", "Flag", "Periods"]
    _header(ws, row, titles)
    first = row + 1
    for c in report.cover:
        row += 1
        ws.put(row, 1, c.product)
        ws.put(row, 2, c.on_hand)
        ws.put(row, 3, c.shipped)
        ws.put(row, 4, c.days)
        ws.put(row, 5, f"=ROUND(C{row}*7/D{row},{_Q})", engine=c.weekly_shipments)
        # On hand ÷ the unrounded weekly shipments (C ÷ (D ÷ 7)).
        ws.put(row, 6, f'=IF(C{row}=0,"",ROUND(B{row}*D{row}/(7*C{row}),{_Q}))', engine=c.weeks_of_cover)
        ws.put(row, 7, c.expected_from_wip)
        ws.put(row, 8, f'=IF(C{row}=0,"",ROUND((B{row}+G{row})*D{row}/(7*C{row}),{_Q}))',
               engine=c.weeks_of_cover_with_wip)
        # Outside the band: weeks of cover as shown (F) below its low or above its high end, so that
        # 4.00 shown is never BELOW 4; nothing shipped and something on hand is ABOVE (``_flow._cover``).
        ws.put(row, 9, f'=IF(C{row}=0,IF(B{row}<>0,"ABOVE",""),IF(ROUND(F{row}-{band[0]},6)<0,"BELOW",'
                       f'IF(ROUND(F{row}-{band[1]},6)>0,"ABOVE","")))', engine=c.flag.upper())
        ws.put(row, 10, ", ".join(c.periods))
    _flag_rows(ws, first, row, len(titles) - 1, 9)
    for note in report.notes:
        row += 2
        ws.put(row, 1, note)
    for col, width in zip(range(1, 11), [18, 18, 14, 12, 12, 13, 16, 12, 12, 40]):
        ws.ws.column_dimensions[get_column_letter(col)].width = width
