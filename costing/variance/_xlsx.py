"""Excel writer: the Variances, Standards and Flow sheets (openpyxl) — an adapter, like the exports.

Only these sheets are created or replaced, in place (same position in the workbook); every other
sheet is left as it is.  Flagged lines carry a flag text in their flag column, and conditional
formatting colours those rows, so the colour follows the data if a user sorts or filters the table.

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
from ._bridge import COMPONENTS, METRIC_LABELS, element_label
from ._figures import METRIC_ORDER, Metric
from ._flow import FORECAST_LIMIT_TEXT, FlowReport
from ._history import VarianceReport
from ._standards import StandardsReport

__all__ = ["write_sheets", "VARIANCES", "STANDARDS", "FLOW"]

VARIANCES, STANDARDS, FLOW = "Variances", "Standards", "Flow"

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
        fill(ws, report)
        written.append(name)
    _join_close_results(wb, written)
    buffer = io.BytesIO()
    wb.save(buffer)
    data = buffer.getvalue()
    if kept:
        from ..workbook._results import fill_cached_values  # the close workbook's own writer of cached values

        data = fill_cached_values(data, {}, kept=kept)
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


def _header(ws, row: int, titles: list[str]) -> None:
    for col, title in enumerate(titles, 1):
        ws.cell(row=row, column=col, value=title).font = _BOLD


def _flag_rows(ws, first: int, last: int, ncols: int, flag_col: int, fill: PatternFill = _FLAG_FILL,
               formula: str | None = None) -> None:
    """Colour rows first..last whose flag column is not empty (or match ``formula``)."""
    if last < first:
        return
    letter = get_column_letter(flag_col)
    rule = FormulaRule(formula=[formula or f'LEN(${letter}{first})>0'], fill=fill, stopIfTrue=False)
    ws.conditional_formatting.add(f"A{first}:{get_column_letter(ncols)}{last}", rule)


def _variances(ws, report: VarianceReport) -> None:
    b = report.bridge
    money = _money_format(report.currency)
    ws["A1"] = f"Variance bridge {b.before.period} → {b.after.period} ({report.currency})"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (f"{b.before.period}: close #{b.before.close_no} ({b.before.method}); {b.after.period}: close "
                f"#{b.after.close_no} ({b.after.method}). Order: volume → mix → completion → price.")
    if b.materiality is not None:
        ws["A3"] = (f"Flagged: change of at least {b.materiality.absolute} and {b.materiality.percent} % of the "
                    f"{b.before.period} amount.")
    titles = ["Metric", "Level", "Product", "Stage", "Element", b.before.period, b.after.period, "Change",
              "Volume", "Mix", "Completion", "Price", "Components sum", "Sums exactly", "Flag", "Explanation"]
    top = 5
    _header(ws, top, titles)
    row = top
    for line in b.lines:
        row += 1
        values = [METRIC_LABELS[Metric(line.metric)], line.level, line.product, line.stage, element_label(line.element),
                  line.before, line.after, line.change] + [getattr(line, c) for c in COMPONENTS] + \
                 [line.components_sum, "OK" if line.sums_exactly else "NO", "FLAG" if line.flagged else "",
                  line.explanation]
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=row, column=col, value=value)
            if isinstance(value, Decimal):
                cell.number_format = money
    _flag_rows(ws, top + 1, row, len(titles), 15, formula=f'$O{top + 1}="FLAG"')
    for col, width in zip(range(1, len(titles) + 1), [18, 8, 18, 12, 14] + [13] * 8 + [9, 6, 90]):
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=top + 1, column=6)

    # The bridge chart: each metric's total change by component.
    row += 2
    chart_top = row
    ws.cell(row=row, column=1, value="Bridge by component (totals)").font = _BOLD
    row += 1
    _header(ws, row, ["Metric"] + [c.capitalize() for c in COMPONENTS] + ["Change"])
    header_row = row
    for metric in METRIC_ORDER:
        try:
            total = b.total(metric)
        except KeyError:
            continue
        row += 1
        ws.cell(row=row, column=1, value=METRIC_LABELS[metric])
        for col, value in enumerate([getattr(total, c) for c in COMPONENTS] + [total.change], 2):
            ws.cell(row=row, column=col, value=value).number_format = money
    chart = BarChart()
    chart.type = "col"
    chart.grouping = "clustered"
    chart.title = f"Bridge {b.before.period} → {b.after.period}"
    chart.y_axis.title = report.currency
    data = Reference(ws, min_col=2, max_col=1 + len(COMPONENTS), min_row=header_row, max_row=row)
    cats = Reference(ws, min_col=1, min_row=header_row + 1, max_row=row)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(cats)
    chart.height, chart.width = 9, 18
    ws.add_chart(chart, f"H{chart_top}")

    row = max(row, chart_top + 18) + 2
    ws.cell(row=row, column=1, value="Ties to the stored roll-forwards").font = _BOLD
    row += 1
    _header(ws, row, ["Metric", "What", "Bridge", "Roll-forward", "Difference", "Tie"])
    first = row + 1
    for t in report.ties:
        row += 1
        for col, value in enumerate([METRIC_LABELS[Metric(t.metric)], t.what, t.bridge, t.rollforward, t.difference,
                                     "OK" if t.ok else "DIFFERENCE"], 1):
            cell = ws.cell(row=row, column=col, value=value)
            if isinstance(value, Decimal):
                cell.number_format = money
    _flag_rows(ws, first, row, 6, 6)

    for effect in report.method_effect:
        row += 2
        ws.cell(row=row, column=1, value=f"Method effect {effect.period} (close #{effect.close_no}): "
                                         f"{effect.method} → {effect.other_method}").font = _BOLD
        if not effect.available:
            ws.cell(row=row + 1, column=1, value=f"not available: {effect.reason}")
            row += 1
            continue
        row += 1
        _header(ws, row, ["Level", "Product", "Stage", "Ending WIP", f"Ending WIP ({effect.other_method})",
                          "Difference", "Transferred out", f"Transferred out ({effect.other_method})", "Difference"])
        for line in effect.lines:
            row += 1
            for col, value in enumerate([line.level, line.product, line.stage, line.ending_wip, line.ending_wip_other,
                                         line.ending_wip_difference, line.transferred_out, line.transferred_out_other,
                                         line.transferred_out_difference], 1):
                cell = ws.cell(row=row, column=col, value=value)
                if isinstance(value, Decimal):
                    cell.number_format = money

    for late in report.late_changes:
        row += 2
        ws.cell(row=row, column=1, value=f"Late changes {late.period}: close #{late.from_close} → "
                                         f"#{late.to_close} {late.reason}".rstrip()).font = _BOLD
        for change in late.input_changes:
            row += 1
            ws.cell(row=row, column=1, value=change.path)
            ws.cell(row=row, column=6, value=change.before)
            ws.cell(row=row, column=7, value=change.after)
        for line in late.bridge.lines:
            row += 1
            for col, value in enumerate([METRIC_LABELS[Metric(line.metric)], line.level, line.product, line.stage,
                                         element_label(line.element), line.before, line.after, line.change], 1):
                cell = ws.cell(row=row, column=col, value=value)
                if isinstance(value, Decimal):
                    cell.number_format = money
    if report.notes:
        row += 2
        ws.cell(row=row, column=1, value="Notes").font = _BOLD
        for note in report.notes:
            row += 1
            ws.cell(row=row, column=1, value=note)


def _standards(ws, report: StandardsReport) -> None:
    money = _money_format(report.currency)
    ws["A1"] = f"Standard costs {report.period} (close #{report.close_no}, {report.currency})"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = "This period's work (FIFO equivalent units) at standard. Positive = unfavourable (U)."
    titles = ["Product", "Stage", "Element", "Kind", "EU", "Std cost/EU", "Standard", "Actual", "Variance", "U/F",
              "Std quantity", "Actual quantity", "Std price", "Actual price", "Price / rate", "U/F",
              "Usage / (variable) efficiency", "U/F", "Production volume (overhead)", "U/F"]
    top = 4
    _header(ws, top, titles)
    row = top
    for e in report.elements:
        row += 1
        comps = []
        for c in e.components:
            comps += [c.amount, c.label]
        values = [e.product, e.stage, e.element, e.kind, e.equivalent_units, e.standard_cost_per_eu, e.standard_cost,
                  e.actual_cost, e.total.amount, e.total.label, e.standard_quantity, e.actual_quantity,
                  e.standard_price, e.actual_price] + comps
        for col, value in enumerate(values, 1):
            cell = ws.cell(row=row, column=col, value=value)
            if col in (7, 8, 9, 15, 17, 19) and isinstance(value, Decimal):
                cell.number_format = money
    _flag_rows(ws, top + 1, row, len(titles), 10, formula=f'$J{top + 1}="U"')
    _flag_rows(ws, top + 1, row, len(titles), 10, fill=_GOOD_FILL, formula=f'$J{top + 1}="F"')
    row += 1
    ws.cell(row=row, column=1, value="Total").font = _BOLD
    for col, value in ((7, report.standard_cost), (8, report.actual_cost), (9, report.total.amount)):
        ws.cell(row=row, column=col, value=value).number_format = money
    ws.cell(row=row, column=10, value=report.total.label)

    if report.overhead:
        row += 2
        ws.cell(row=row, column=1, value="Overhead by stage").font = _BOLD
        row += 1
        _header(ws, row, ["Stage", "Driver", "AH", "SH", "Actual", "Applied", "Standard", "Variance", "Amount", "U/F"])
        for o in report.overhead:
            # The products' lines added up come last, named as such (they are not the stage's variances).
            products = tuple(v.model_copy(update={"name": f"products: {v.name}"}) for v in o.products)
            for v in o.variances + (o.controllable, o.total) + products:
                row += 1
                for col, value in enumerate([o.stage, o.driver, o.actual_driver_quantity, o.standard_driver_quantity,
                                             o.actual, o.applied, o.standard, v.name, v.amount, v.label], 1):
                    cell = ws.cell(row=row, column=col, value=value)
                    if col in (5, 6, 7, 9):
                        cell.number_format = money
    if report.at_standard:
        row += 2
        ws.cell(row=row, column=1, value="WIP at standard (memo)").font = _BOLD
        row += 1
        _header(ws, row, ["Product", "Stage", "Std unit cost", "Beginning WIP", "Work done", "To account for",
                          "Completed", "Ending WIP (counted)", "Count difference", "Spoiled", "Accounted for"])
        for s in report.at_standard:
            row += 1
            for col, value in enumerate([s.product, s.stage, s.standard_unit_cost, s.beginning_wip, s.work_done,
                                         s.to_account_for, s.completed, s.ending_wip, s.count_difference, s.spoiled,
                                         s.accounted_for], 1):
                cell = ws.cell(row=row, column=col, value=value)
                if col >= 4:
                    cell.number_format = money
    for note in report.notes:
        row += 2
        ws.cell(row=row, column=1, value=note)
    for col, width in zip(range(1, 19), [18, 12, 14, 10] + [12] * 14):
        ws.column_dimensions[get_column_letter(col)].width = width


def _flow(ws, report: FlowReport) -> None:
    ws["A1"] = f"WIP flow {report.period} ({report.days} days, as of {report.as_of.isoformat()})"
    ws["A1"].font = Font(bold=True, size=13)
    top = 3
    titles = ["Stage", "Completed", "Throughput/day", "Opening WIP", "Closing WIP", "Average WIP", "Cycle time (days)",
              "WIP growth", "Trend", "Flag"]
    _header(ws, top, titles)
    row = top
    for s in report.stages:
        row += 1
        flag = ", ".join(f for f, on in (("BOTTLENECK", s.bottleneck), ("WIP GROWING FASTEST", s.wip_growing_fastest))
                         if on)
        for col, value in enumerate([s.stage, s.completed, s.throughput_per_day, s.opening_wip, s.closing_wip,
                                     s.average_wip, s.cycle_time_days, s.wip_growth, s.cycle_time_trend, flag], 1):
            ws.cell(row=row, column=col, value=value)
    _flag_rows(ws, top + 1, row, len(titles), 10)

    row += 2
    ws.cell(row=row, column=1, value="Cycle time trend (days)").font = _BOLD
    periods = []
    for s in report.stages:
        for p in s.trend:
            if p.period not in periods:
                periods.append(p.period)
    row += 1
    _header(ws, row, ["Stage"] + periods)
    for s in report.stages:
        row += 1
        ws.cell(row=row, column=1, value=s.stage)
        points = {p.period: p.cycle_time_days for p in s.trend}
        for col, period in enumerate(periods, 2):
            ws.cell(row=row, column=col, value=points.get(period))

    if report.orders:
        row += 2
        ws.cell(row=row, column=1, value="Open orders").font = _BOLD
        row += 1
        titles = ["Order", "Product", "Units", "Due", "Forecast", "Slack (days)", "Source", "Flag", "How"]
        _header(ws, row, titles)
        first = row + 1
        for o in report.orders:
            row += 1
            forecast = o.forecast or (FORECAST_LIMIT_TEXT if o.beyond_horizon else None)
            for col, value in enumerate([o.id, o.product, o.units, o.due, forecast, o.slack_days, o.source,
                                         "AT RISK" if o.at_risk else "", o.reason], 1):
                cell = ws.cell(row=row, column=col, value=value)
                if col in (4, 5) and value is not None and not isinstance(value, str):
                    cell.number_format = "yyyy-mm-dd"
        _flag_rows(ws, first, row, len(titles), 8)

    row += 2
    low, high = report.cover_band
    ws.cell(row=row, column=1, value=f"Finished-goods weeks of cover (target {low}–{high} weeks)").font = _BOLD
    row += 1
    titles = ["Product", "On hand", "Shipped per week", "Weeks of cover", "Expected from WIP", "Weeks with WIP",
              "Flag"]
    _header(ws, row, titles)
    first = row + 1
    for c in report.cover:
        row += 1
        for col, value in enumerate([c.product, c.on_hand, c.weekly_shipments, c.weeks_of_cover, c.expected_from_wip,
                                     c.weeks_of_cover_with_wip, c.flag.upper()], 1):
            ws.cell(row=row, column=col, value=value)
    _flag_rows(ws, first, row, len(titles), 7)
    for note in report.notes:
        row += 2
        ws.cell(row=row, column=1, value=note)
    for col, width in zip(range(1, 11), [18, 18, 14, 12, 12, 13, 16, 12, 12, 40]):
        ws.column_dimensions[get_column_letter(col)].width = width
