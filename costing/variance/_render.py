"""Text tables for the variance, standards and flow reports (the CLI's writer).

Amounts are already rounded; babel only formats them in the chosen locale.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal, localcontext

from babel.numbers import format_decimal

from .._currency import minor_unit
from .._errors import shown_safely
from ..close._render import change_text as diff_change_text
from ._bridge import (COMPONENTS, METRIC_LABELS, Bridge, BridgeLine, PlainNumbers, element_label, explanation_text,
                      final_stage_label)
from ._figures import METRIC_ORDER, Metric
from ._flow import FORECAST_LIMIT_TEXT, FlowReport, OrderForecast, order_reason
from ._history import COGS_LINE_LABELS, OPENING_CHANGED, LateChange, VarianceReport, re_close_heading
from ._standards import StandardsReport, Variance

__all__ = ["render_variance", "render_standards", "render_flow"]


# babel re-quantizes what it formats under the current decimal context: a wide one, so that it
# never rounds (values are rounded here, explicitly, before babel sees them).
_WIDE = Context(prec=80)
_SHOWN_PLACES = Decimal("0.0001")  # quantities and rates: at most four places


def _fixed(value: Decimal, places: int, locale: str, grouping: bool = True) -> str:
    """``value`` (already rounded to ``places``) in the locale's notation, nothing rounded."""
    pattern = ("#,##0" if grouping else "0") + ("." + "0" * places if places > 0 else "")
    with localcontext(_WIDE):
        return format_decimal(value, format=pattern, locale=locale, decimal_quantization=False)


def _places(value: Decimal) -> int:
    return max(0, -value.as_tuple().exponent)


def _money(value: Decimal, currency: str, locale: str) -> str:
    return _fixed(abs(value) if not value else value, minor_unit(currency), locale)


def _qty(value: Decimal | None, locale: str) -> str:
    """A quantity: exact up to four places, no trailing zeros."""
    if value is None:
        return "n/a"
    shown = value.quantize(_SHOWN_PLACES, rounding=ROUND_HALF_UP, context=_WIDE).normalize(_WIDE)
    shown = shown if shown else Decimal(0)  # what rounds to zero, without a sign (-0.00001: 0, not -0)
    return _fixed(shown, _places(shown), locale)


def _rate(value: Decimal | None, locale: str) -> str:
    """Prices, rates and costs per EU: at least two places, at most four."""
    if value is None:
        return "n/a"
    shown = value.quantize(_SHOWN_PLACES, rounding=ROUND_HALF_UP, context=_WIDE).normalize(_WIDE)
    shown = shown if shown else Decimal(0)  # never -0.00
    return _fixed(shown, max(2, _places(shown)), locale)


class LocaleNumbers(PlainNumbers):
    """Explanations' and flow notes' numbers in the report's locale (see ``PlainNumbers``)."""

    def __init__(self, locale: str):
        self.locale = locale

    def number(self, value: Decimal) -> str:
        return _qty(value, self.locale)

    def exact(self, value: Decimal) -> str:
        return _fixed(value, _places(value), self.locale)

    def percent(self, value: Decimal) -> str:
        return _fixed(value, _places(value), self.locale, grouping=False)


def _explanation(line: BridgeLine, locale: str) -> str:
    return explanation_text(line.explained, LocaleNumbers(locale)) if line.explained else line.explanation


def _table(header: list[str], rows: list[list[str]], left: int = 1) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]

    def fmt(r):
        return "  " + "  ".join(str(c).ljust(widths[i]) if i < left else str(c).rjust(widths[i])
                                for i, c in enumerate(r)).rstrip()
    return [fmt(header)] + [fmt(r) for r in rows]


# Transferred out's product and total lines are the cost of goods manufactured (each product's
# last stage, to finished goods), and say so: a sum of every stage's transfer would count a cost
# once per stage it passed through.
_COGM = "Cost of goods manufactured"
_COGM_NOTE = ("  (stage lines: each stage's transfer to the next stage or to finished goods; product and total "
              "lines: cost of goods manufactured, transferred out of each product's last stage to finished goods — "
              "not a sum over stages, which would count the same cost once per stage)")


def _scope(line: BridgeLine, bridge: Bridge) -> str:
    cogm = line.metric == Metric.TRANSFERRED_OUT.value
    if line.level == "total":
        return _COGM if cogm else "Total"
    if cogm and line.level == "product":
        # A product whose last stage changed between the months says so: its two months are
        # different stages' transfers.
        before, after = bridge.final_stages_before.get(line.product), bridge.final_stages_after.get(line.product)
        if before and after and before != after:
            return f"{line.product} (to finished goods from {final_stage_label(before, after)})"
        return f"{line.product} (to finished goods)"
    parts = [line.product, line.stage, element_label(line.element)]
    return " / ".join(p for p in parts if p)


def render_variance(report: VarianceReport, locale: str = "en_US", detail: bool = False) -> str:
    b = report.bridge
    m = lambda v: _money(v, report.currency, locale)  # noqa: E731
    out = [f"Variance bridge {b.before.period} (close #{b.before.close_no}, {b.before.method}) → "
           f"{b.after.period} (close #{b.after.close_no}, {b.after.method}), {report.currency}",
           "Order of substitution: volume → mix → completion (ending WIP only) → price."]
    # Under the title, not among the notes at the end: every figure below, "Totals tie: OK"
    # included, is what the ledger holds now, and a month resting on a superseded close will move.
    out[1:1] = [f"{re_close_heading(note)}: {note}" for note in report.needs_re_close]
    one_period = b.before.period == b.after.period
    # Comparing two closes of one month, every column and block names its close.
    side_before, side_after = (f"{b.before.period} #{b.before.close_no}", f"{b.after.period} #{b.after.close_no}") \
        if one_period else (b.before.period, b.after.period)
    out.append(f"Changes and components are after − before, signed (negative: less than {side_before}). U/F only "
               f"on price, cost per unit against {side_before}'s: U higher, F lower; volume, mix, completion and "
               "changes of balances are neither favourable nor unfavourable.")
    if one_period:
        out.append(f"Two closes of {b.after.period} compared: close #{b.before.close_no} (before the reopen) → "
                   f"close #{b.after.close_no}; the reopen reason and the input changes are under Late changes.")
    if b.materiality is not None:
        out.append(f"Flagged (*): change of at least {m(b.materiality.absolute)} and "
                   f"{_qty(b.materiality.percent, locale)} % of the {side_before} amount.")
    hidden = 0
    for metric in METRIC_ORDER:
        lines = [l for l in b.lines if l.metric == metric.value]
        if not lines:
            continue
        shown = [l for l in lines if l.level != "line" or detail]
        hidden += sum(1 for l in lines if l.level == "line" and l.flagged and not detail)
        out += ["", _title(METRIC_LABELS[metric])]
        rows = [[l.level if l.level != "total" else "", _scope(l, b), m(l.before), m(l.after), m(l.change)]
                + [_component(l, c, m) for c in COMPONENTS]
                + ["OK" if l.sums_exactly else "NO", "*" if l.flagged else ""] for l in shown]
        out += _table(["", "", side_before, side_after, "change", "volume", "mix", "completion", "price",
                       "sum", ""], rows, left=2)
        flagged = [l for l in shown if l.flagged and l.explanation]
        if metric is Metric.TRANSFERRED_OUT:
            out.append(_COGM_NOTE)
        for l in flagged:
            out.append(f"  * {_scope(l, b)}: {_explanation(l, locale)}")
        if metric is Metric.COGS:
            out += _cogs_as_posted(report, side_before, side_after, m)
    if hidden:
        out.append(f"\n  {hidden} flagged line(s) by product, stage and element: --detail shows them")
    out += ["", "Every line's components add up to its change: " + ("OK" if report.all_sum_exactly else "NO")]
    out += ["", "Ties to the stored roll-forwards:"]
    for metric in METRIC_ORDER:
        ties = [t for t in report.ties if t.metric == metric.value]
        if not ties:
            continue
        text = ", ".join(f"{t.what} {m(t.bridge)}" + ("" if t.ok else f" (roll-forward {m(t.rollforward)}, "
                                                                        f"difference {m(t.difference)})")
                         for t in ties)
        state = "OK" if all(t.ok for t in ties) else "DIFFERENCE"
        what = "cost of goods manufactured (to finished goods)" if metric is Metric.TRANSFERRED_OUT \
            else METRIC_LABELS[metric]
        out.append(f"  {what}: {text} — {state}")
    out += ["  Totals tie: " + ("OK" if report.ties_ok else "NO")
            + (f" (with the closes recorded now: see {re_close_heading(report.needs_re_close[0])} at the top)"
               if report.needs_re_close else "")]
    for effect in report.method_effect:
        out += ["", f"Method effect {effect.period} (close #{effect.close_no}): closed under {effect.method}; "
                    f"under {effect.other_method}:"]
        if not effect.available:
            out.append(f"  not available: {effect.reason}")
            continue
        rows = [[(" / ".join(p for p in (l.product, l.stage) if p) or "Total"), m(l.ending_wip), m(l.ending_wip_other),
                 m(l.ending_wip_difference), m(l.transferred_out), m(l.transferred_out_other),
                 m(l.transferred_out_difference)] for l in effect.lines if l.level != "stage" or detail]
        out += _table(["", "ending WIP", f"({effect.other_method})", "difference", "transferred out",
                       f"({effect.other_method})", "difference"], rows)
        out.append("  (product and total lines: ending WIP of all stages; transferred out of the last stage)")
    for late in report.late_changes:
        out += ["", f"Late changes {late.period}: close #{late.from_close} → close #{late.to_close}"
                    + (f" (reopened: {late.reason})" if late.reason else "")]
        out += _late_change_lines(late)
        if _is_main_bridge(late, report):
            out.append("  (what they moved: the bridge above, and the overhead true-up and COGS as posted under its "
                       "COGS block)")
            if any(l.change for l in late.finished_goods_proration):  # not above: shown here
                out += _finished_goods_proration(late, m)
            continue
        out += _late_moved(late, locale, detail, m)
    if report.notes:
        out += ["", "Notes:"] + [f"  {shown_safely(n)}" for n in report.notes]  # names as typed in a file
    return "\n".join(out) + "\n"


def _late_change_lines(late: LateChange) -> list[str]:
    """What changed between the two closes, as `wip diff` words it and in its order: the opening
    position when the prior month was closed again in between, then each input change (a value not
    given as "(not given)")."""
    out = [f"  {OPENING_CHANGED}"] if late.opening_changed else []
    if not late.input_changes:
        out.append("  no input changed" if late.opening_changed else
                   "  no input changed, nor the opening position (the engine did, if anything moved)")
    return out + [f"  {diff_change_text(c)}" for c in late.input_changes]


def _is_main_bridge(late: LateChange, report: VarianceReport) -> bool:
    """Whether the late change is the report's main bridge (``--from P --to P``): the same period,
    and the same two closes of it."""
    b = report.bridge
    return (late.period, late.from_close, late.to_close) == (b.before.period, b.before.close_no, b.after.close_no) \
        and b.after.period == late.period


def _late_moved(late: LateChange, locale: str, detail: bool, m) -> list[str]:
    """What a re-close moved: the bridge lines that changed, then the overhead true-up and COGS as
    posted (an overhead change written off to COGS moves only those)."""
    side_before, side_after = f"{late.period} #{late.from_close}", f"{late.period} #{late.to_close}"
    if not late.moved:
        return ["  what the re-close moved: nothing (the bridge, the overhead true-up and COGS as posted are "
                "unchanged)"]
    out = ["  What the re-close moved:"]
    bridge_moved = [l for l in late.bridge.lines if l.change and (l.level != "line" or detail)]
    for l in bridge_moved:
        out.append(f"    {METRIC_LABELS[Metric(l.metric)]} {_scope(l, late.bridge)}: {m(l.before)} → {m(l.after)} "
                   f"({_signed(l.change, m)})"
                   f"{' — ' + _explanation(l, locale) if l.explanation else ''}")
    if not any(l.change for l in late.bridge.lines):
        out.append("    the bridge (cost added, transferred out, ending WIP, COGS before overhead true-up): unchanged")
    cogs = late.cogs_as_posted
    rows = [[COGS_LINE_LABELS[l.what], m(l.before), m(l.after), _cogs_change(l, m)] for l in cogs.lines
            if l.what != "difference"]
    if any(l.change for l in cogs.lines if l.what != "difference"):
        out += ["    Overhead true-up and COGS as posted:"]
        out += ["    " + r for r in _table(["", side_before, side_after, "change"], rows)]
        if any(l.what == "journals" for l in cogs.lines):
            diff = cogs.line("difference")
            out.append("      COGS as posted ties to the stored journals: " + (
                "OK" if cogs.ties_ok else f"DIFFERENCE ({m(diff.before)} and {m(diff.after)})"))
    else:
        out.append("    the overhead true-up and COGS as posted: unchanged")
    return out + _finished_goods_proration(late, m)


def _finished_goods_proration(late: LateChange, m) -> list[str]:
    """The overhead the two closes prorated to finished goods, by product, when it moved (neither
    the bridge nor COGS as posted holds it)."""
    fg = late.finished_goods_proration
    if not any(l.change for l in fg):
        return ["    the overhead prorated to finished goods: unchanged"] if fg else []
    rows = [[l.product or "Total", m(l.before), m(l.after), m(l.change)] for l in fg]
    side_before, side_after = f"{late.period} #{late.from_close}", f"{late.period} #{late.to_close}"
    return ["    Overhead prorated to finished goods:"] + \
        ["    " + r for r in _table(["", side_before, side_after, "change"], rows)]


def _cogs_as_posted(report: VarianceReport, side_before: str, side_after: str, m) -> list[str]:
    """Under the COGS block: the overhead true-up of each month, and COGS as the closes posted it."""
    cogs = report.cogs_as_posted
    rows = [[COGS_LINE_LABELS[l.what], m(l.before), m(l.after), _cogs_change(l, m)] for l in cogs.lines
            if l.what != "difference"]
    out = ["", "  Overhead true-up and COGS as posted:"]
    out += ["  " + r for r in _table(["", side_before, side_after, "change"], rows)]
    if any(l.what == "journals" for l in cogs.lines):
        diff = cogs.line("difference")
        out.append("    COGS as posted ties to the stored journals: " + (
            "OK" if cogs.ties_ok else f"DIFFERENCE ({m(diff.before)} and {m(diff.after)})"))
    return out


def _title(text: str) -> str:
    return text[:1].upper() + text[1:]


def _words(name: str) -> str:
    return name.replace("_", " ")


def _uf(amount: Decimal, m) -> str:
    """A variance amount as accountants write it: unsigned, U (unfavourable) or F (favourable)."""
    return f"{m(abs(amount))} {'U' if amount > 0 else 'F' if amount < 0 else ''}".rstrip()


def _signed(amount: Decimal, m) -> str:
    """An amount with its sign, + on an increase, as `wip diff` signs what moved: +680.00, -128.88, 0.00"""
    return ("+" if amount > 0 else "") + m(amount)


def _cogs_change(line, m) -> str:
    """A COGS-as-posted line's change: signed, no U/F (a balance, and the overhead's disposition)."""
    return m(line.change)


def _component(line: BridgeLine, name: str, m) -> str:
    """A bridge component, signed (so that the components visibly add up to the change); the price
    component, the one cost variance among them, labelled U or F (``BridgeLine.labels``), a blank
    label keeping the column aligned."""
    if name not in line.labels:
        return m(getattr(line, name))
    return f"{m(getattr(line, name))} {line.labels[name] or ' '}"


def _v(v: Variance, m) -> str:
    return _uf(v.amount, m)


def _applied_word(amount: Decimal) -> str:
    return "under-applied" if amount > 0 else "over-applied" if amount < 0 else ""


def render_standards(report: StandardsReport, locale: str = "en_US") -> str:
    m = lambda v: _money(v, report.currency, locale)  # noqa: E731
    q = lambda v: _qty(v, locale)  # noqa: E731
    out = [f"Standard costs {report.period} (close #{report.close_no}), {report.currency}: this period's work "
           "(FIFO equivalent units) at standard; U unfavourable, F favourable", ""]
    rows = []
    for e in report.elements:
        parts = ", ".join(f"{_words(c.name)} {_v(c, m)}" for c in e.components)
        rows.append([f"{e.product} / {e.stage} / {e.element}", q(e.equivalent_units),
                     _rate(e.standard_cost_per_eu, locale),
                     m(e.standard_cost), m(e.cost_added), _v(e.total, m), parts])
    out += _table(["product / stage / element", "EU", "std/EU", "standard", "cost added", "variance", "of which"],
                  rows)
    out.append("  (cost added: as the close charged it, materials and labour at actual, overhead as applied at the "
               "predetermined rate; overhead incurred: below)")
    for e in report.elements:
        if e.basis == "quantity":
            # Overhead's cost added is as applied: its "price" on the actual driver is the rate it was
            # applied at, not an actual rate (overhead incurred is by stage, below).
            at = "applied at" if e.kind == "overhead" else "at"
            out.append(f"  {e.product} / {e.stage} / {e.element}: standard {q(e.standard_quantity)} {e.unit} at "
                       f"{_rate(e.standard_price, locale)}; actual "
                       + (f"{q(e.actual_quantity)} {e.unit} {at} {_rate(e.actual_price, locale)}"
                          f" ({e.actual_quantity_source})" if e.actual_quantity is not None else "quantity not given"))
    out += ["", f"Total: standard {m(report.standard_cost)}, cost added (overhead as applied) "
                f"{m(report.cost_added)}, variance {_v(report.total, m)}"]
    if report.without_standard:
        # Beside the total, not a note: the total's cost added is short of the close's by this much.
        out.append(f"  cost added without a standard, in no variance: {m(report.cost_added_without_standard)} ("
                   + "; ".join(f"{w.product} / {w.stage} / {w.element} {m(w.cost_added)}"
                               for w in report.without_standard)
                   + f"); with it, the close's cost added: {m(report.cost_added + report.cost_added_without_standard)}")
    if report.overhead_applied:
        out.append(f"  overhead under(U)/over(F)-applied (incurred − applied) {_v(report.under_over_applied, m)}: "
                   f"cost incurred {m(report.cost_incurred)}, variance {_v(report.total_incurred, m)}")
        out += ["", "Overhead applied against incurred, by stage (all products)"]
        rows = [[a.stage, a.driver, m(a.incurred), m(a.applied), _v(a.under_over_applied, m),
                 _applied_word(a.under_over_applied.amount), a.disposition.replace("_", " ")
                 + ("" if a.in_cost_added else " (not in the cost incurred)")] for a in report.overhead_applied]
        # The total is of the stages in the cost incurred, as the Standards sheet's row says.
        every = all(a.in_cost_added for a in report.overhead_applied)
        rows.append(["Total" if every else "Total (stages in cost incurred)", "", "", "",
                     _v(report.under_over_applied, m), "", ""])
        out += _table(["stage", "driver", "incurred", "applied", "incurred − applied", "", "disposition"], rows)
    if report.overhead:
        out += ["", "Overhead by stage (all products): incurred against standard"]
        for o in report.overhead:
            out.append(f"  {o.stage} ({o.driver}): incurred {m(o.actual)}, applied {m(o.applied)}, standard "
                       f"{m(o.standard)} (SH {q(o.standard_driver_quantity)}, AH {q(o.actual_driver_quantity)})")
            out.append("    " + "; ".join(f"{_words(v.name)} {_v(v, m)}" for v in o.variances)
                       + f"; total {_v(o.total, m)} ({o.analysis.replace('_', '-')})")
            out.append(f"    two-way: controllable {_v(o.controllable, m)}, production volume "
                       f"{_v(o.variances[-1], m)}")
            if o.products:
                out.append("    products' lines (applied − standard): "
                           + "; ".join(f"{_words(v.name)} {_v(v, m)}" for v in o.products
                                       if v.name != "actual_less_applied")
                           + "; not by product, incurred − applied: "
                           + "; ".join(_v(v, m) for v in o.products if v.name == "actual_less_applied")
                           + ("; together the total" if o.products_sum_exactly else
                              "; together NOT the total"))
    if report.at_standard:
        out += ["", "WIP at standard (memo)"]
        rows = [[f"{s.product} / {s.stage}", m(s.beginning_wip), m(s.work_done), m(s.to_account_for), m(s.completed),
                 m(s.ending_wip), m(s.count_difference), m(s.spoiled)] for s in report.at_standard]
        out += _table(["product / stage", "beginning", "work done", "to account for", "completed", "ending (counted)",
                       "count diff. (+ adds to WIP)", "spoiled"], rows)
        out.append("  (to account for = completed + ending (counted) + spoiled − count difference; the count "
                   "difference is counted − book, signed as in the roll-forward: a shortage is negative)")
    if report.notes:
        out += ["", "Notes:"] + [f"  {shown_safely(n)}" for n in report.notes]  # names as typed in a file
    return "\n".join(out) + "\n"


def _forecast(o: OrderForecast) -> str:
    if o.forecast is not None:
        return o.forecast.isoformat()
    return FORECAST_LIMIT_TEXT if o.beyond_horizon else "n/a"


# Under the table by product and stage, when there are orders: how an order's lead time is traced to it.
_LEAD_TIME_NOTE = ("an order's lead time for new starts (Open orders) is the sum of its product's cycle days here; "
                  "where the product completed nothing at a stage (n/a), the stage's cycle days above, all products")


def _by_product_and_stage(report: FlowReport, q) -> list[str]:
    """Each product's own cycle time at each of its stages: what an order's lead time for new
    starts adds up (``_flow._lead_time``), so that it can be traced from the report."""
    if not report.product_stages:
        return []
    rows = []
    for p in report.product_stages:
        rows.append([p.product, p.stage, q(p.completed), q(p.throughput_per_day), q(p.opening_wip),
                     q(p.closing_wip), q(p.average_wip), q(p.cycle_time_days)])
    out = ["", "By product and stage"] + _table(["product", "stage", "completed", "per day", "opening WIP",
                                                 "closing WIP", "average WIP", "cycle days"], rows, left=2)
    if report.orders:
        out.append(f"  ({_LEAD_TIME_NOTE})")
    return out


def _growth(value: Decimal | None, locale: str) -> str:
    """WIP growth, a ratio to three places (``StageFlow.wip_growth``), as a percentage to one place —
    as the JSON's 0.265 is the Flow sheet's 26.5%; n/a without opening WIP.

    >>> _growth(Decimal("0.265"), "en_US"), _growth(Decimal("-0.5"), "de_DE"), _growth(None, "en_US")
    ('26.5 %', '-50,0 %', 'n/a')
    """
    if value is None:
        return "n/a"
    shown = (value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP, context=_WIDE)
    shown = shown if shown else shown.copy_abs()  # never -0.0 %
    return f"{_fixed(shown, 1, locale, grouping=False)} %"


def render_flow(report: FlowReport, locale: str = "en_US") -> str:
    q = lambda v: _qty(v, locale)  # noqa: E731
    out = [f"WIP flow {report.period} ({report.days} days, as of {report.as_of.isoformat()})", ""]
    rows = []
    for s in report.stages:
        flags = ", ".join(f for f, on in (("BOTTLENECK", s.bottleneck), ("WIP GROWING FASTEST", s.wip_growing_fastest))
                          if on)
        trend = " → ".join(q(p.cycle_time_days) for p in s.trend)
        rows.append([s.stage, q(s.completed), q(s.throughput_per_day), q(s.opening_wip), q(s.closing_wip),
                     q(s.average_wip), q(s.cycle_time_days), _growth(s.wip_growth, locale),
                     f"{trend} ({s.cycle_time_trend})", flags])
    out += _table(["stage", "completed", "per day", "opening WIP", "closing WIP", "average WIP", "cycle days",
                   "WIP growth", "cycle time trend", ""], rows)
    out += _by_product_and_stage(report, q)
    if report.orders:
        out += ["", "Open orders"]
        rows = [[o.id, o.product, q(o.units), o.due.isoformat(), _forecast(o),
                 "" if o.slack_days is None else str(o.slack_days), "AT RISK" if o.at_risk else "",
                 order_reason(o, report.period, LocaleNumbers(locale).number)]
                for o in report.orders]
        out += _table(["order", "product", "units", "due", "forecast", "slack days", "", "how"], rows, left=2)
    low, high = report.cover_band
    out += ["", f"Finished-goods weeks of cover (target {q(low)}–{q(high)} weeks)"]
    with_wip = report.horizon_days > 0
    rows = []
    for c in report.cover:
        row = [c.product, q(c.on_hand), q(c.weekly_shipments), q(c.weeks_of_cover)]
        if with_wip:
            row += [q(c.expected_from_wip), q(c.weeks_of_cover_with_wip)]
        rows.append(row + [c.flag.upper()])
    header = ["product", "on hand", "shipped/week", "weeks"]
    if with_wip:
        header += [f"WIP in {report.horizon_days} days", "weeks with WIP"]
    out += _table(header + [""], rows)
    if report.cover:
        # Each product over the months of the window it was in: the plant's window said once, a
        # product with a shorter one (launched within it) by name.
        widest = max((c.periods for c in report.cover), key=len)
        shorter = [f"{c.product} over {', '.join(c.periods)} only" for c in report.cover if c.periods != widest]
        out.append(f"  (shipments averaged over {', '.join(widest)}" + "".join(f"; {s}" for s in shorter) + ")")
    if report.notes:
        out += ["", "Notes:"] + [f"  {shown_safely(n)}" for n in report.notes]  # names as typed in a file
    return "\n".join(out) + "\n"
