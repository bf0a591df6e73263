"""Text writer for production cost reports: the five-step layout, one block per stage.

Amounts are already rounded by the engine; babel only adds grouping and the locale's symbols.
Rates are shown to four places for reading (quantized here, before babel sees them) — the JSON
and the workbooks carry them at full precision.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from babel import Locale
from babel.numbers import NumberPattern, format_decimal

from ._currency import is_known_locale, minor_unit
from ._engine import ending_wip_parts, normal_spoilage_from_rate, transferred_out_parts
from ._model import TRANSFERRED_IN
from ._numbers import NumberError, to_fraction
from ._report import CaseReport, EquivalentUnitParts, ProcessAccountStageReport, StageReport, TAccount

__all__ = ["render_case_report", "normal_rates", "normal_in_whole_units", "locale_argument",
           "amount_pattern"]

# Wide enough for any figure the engine gives (34 significant digits, values below 10^15, rates
# up to ~10^30): shown exactly, never rounded or refused by Python's default 28-digit context.
_WIDE = Context(prec=80)


def locale_argument(text: str) -> str:
    """The commands' ``--locale``: a locale babel knows, or argparse's usage error (exit 2) with the
    code a close file's unknown locale gets.

    >>> locale_argument("de_DE")
    'de_DE'
    >>> locale_argument("xx_YY")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: unknown locale 'xx_YY'; expected e.g. en_US, de_DE [UNKNOWN_LOCALE]
    """
    from argparse import ArgumentTypeError

    if not is_known_locale(text):
        raise ArgumentTypeError(f"unknown locale {text!r}; expected e.g. en_US, de_DE [UNKNOWN_LOCALE]")
    return text


_RATE_PLACES = Decimal("0.0001")
_METHOD_TITLE = {"weighted_average": "weighted-average", "fifo": "FIFO"}


@functools.lru_cache(maxsize=None)
def amount_pattern(places: int, locale: str) -> NumberPattern:
    """The locale's own decimal pattern (its grouping: 1,15,937.08 in en_IN, 115.937,08 in de_DE)
    with exactly ``places`` decimals: shown to the currency's places, never rounded by babel (with
    ``decimal_quantization=False`` a value with more places keeps them all; amounts come quantized).

    >>> [format_decimal(Decimal("115937.08"), amount_pattern(2, loc), loc, decimal_quantization=False)
    ...  for loc in ("en_US", "de_DE", "en_IN")]
    ['115,937.08', '115.937,08', '1,15,937.08']
    >>> format_decimal(Decimal("1234567.5"), amount_pattern(0, "en_IN"), "en_IN", decimal_quantization=False)
    '12,34,567.5'
    """
    pattern = copy.copy(Locale.parse(locale).decimal_formats[None])
    pattern.frac_prec = (places, places)
    return pattern


def _fmt_amount(value: Decimal, places: int, locale: str) -> str:
    return format_decimal(value, format=amount_pattern(places, locale), locale=locale, decimal_quantization=False)


def _fmt_units(value: Decimal, locale: str) -> str:
    value = value.normalize(_WIDE) if value else Decimal(0)
    places = max(0, -value.as_tuple().exponent)
    return format_decimal(value, format=amount_pattern(places, locale), locale=locale, decimal_quantization=False)


def _fmt_rate(value: Decimal, locale: str) -> str:
    return format_decimal(value.quantize(_RATE_PLACES, rounding=ROUND_HALF_UP, context=_WIDE),
                          format=amount_pattern(4, locale), locale=locale, decimal_quantization=False)


def render_case_report(report: CaseReport, locale: str = "en_US", title: str = "",
                       parts: list[dict[str, EquivalentUnitParts] | None] | None = None,
                       normal_rates: Sequence[Decimal | None] | None = None,
                       passing: Sequence[Decimal | None] | None = None,
                       whole_units: Sequence[bool] | None = None, rounding: str = "half_up") -> str:
    """The five steps per stage.  ``parts``: per stage, ``equivalent_unit_parts`` (or None), for a
    Step 2 that shows how each element's equivalent units are made up.  ``normal_rates``: per stage,
    the normal spoilage rate the file gave (``normal_rates(data["stages"])``), or None: where normal
    spoilage came from a rate and is not a whole number, Step 1 says so under its table.
    ``passing``: per stage, the good units that passed inspection as the case was resolved
    (``stage.completed_passing + stage.ending_passing``): the note then says rate × those units, or
    that normal spoilage was capped at the units spoiled.  ``whole_units``: per stage, whether the
    file counts normal spoilage from its rate in whole units (``normal_in_whole_units(stages)``):
    the note is then given whole or not, and says the figure was rounded to whole units.
    ``rounding``: the case's, for Step 5's FIFO parts of the cost transferred out
    (``transferred_out_parts``)."""
    places = minor_unit(report.currency)
    method = _METHOD_TITLE.get(report.method, report.method)
    blocks = []
    if title:
        blocks.append(title)
    with localcontext(_WIDE):  # babel re-quantizes what it formats, under the current context
        for i, stage in enumerate(report.stages):
            if isinstance(stage, ProcessAccountStageReport):
                blocks.append(_render_process_stage(stage, report.currency, method, places, locale))
            else:
                rate = normal_rates[i] if normal_rates is not None and i < len(normal_rates) else None
                passed = passing[i] if passing is not None and i < len(passing) else None
                whole = bool(whole_units[i]) if whole_units is not None and i < len(whole_units) else False
                blocks.append(_render_stage(stage, report.currency, method, places, locale,
                                            parts[i] if parts is not None else None, rate, passed, whole,
                                            rounding))
    return "\n\n".join(blocks) + "\n"


def _table(rows: list[list[str]], header: list[str]) -> list[str]:
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    out = ["  " + "  ".join(h.ljust(widths[0]) if i == 0 else h.rjust(widths[i]) for i, h in enumerate(header))]
    for r in rows:
        out.append("  " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(r)))
    return out


def _equivalent_units(s, elements: list[str], u) -> list[str]:
    return _table([["Equivalent units"] + [u(s.equivalent_units[e]) for e in elements]], [""] + elements)


def _costs_to_account_for(ctaf, elements: list[str], a, opening: str) -> list[list[str]]:
    """Opening, added and total rows by element (the label of the first row varies by convention)."""
    return [[opening] + [a(ctaf.beginning_wip_by_element[e]) for e in elements] + [a(ctaf.beginning_wip)],
            ["Added this period"] + [a(ctaf.added_by_element[e]) for e in elements] + [a(ctaf.added)],
            ["Total"] + [a(ctaf.beginning_wip_by_element[e] + ctaf.added_by_element[e]) for e in elements]
            + [a(ctaf.total)]]


def _cost_per_eu(s, elements: list[str], locale: str) -> list[str]:
    return _table([["Cost per EU"] + [_fmt_rate(s.cost_per_eu[e], locale) for e in elements]], [""] + elements)


_FIFO_PARTS = (("to_complete_beginning_wip", "To complete beginning WIP"),
               ("started_and_completed", "Started and completed"))
_AVERAGE_PARTS = (("completed", "Completed and transferred out"),)
_SPOILAGE_PARTS = (("normal_spoilage", "Normal spoilage"), ("abnormal_spoilage", "Abnormal spoilage"))


def _normal_rate_note(normal: Decimal, rate: Decimal, u, passing: Decimal | None = None,
                      abnormal: Decimal = Decimal(0), whole_units: bool = False) -> str | None:
    """Why Step 1's normal spoilage is not a whole number of units: the case gave a normal rate.
    ``passing``: the good units that passed inspection, as the resolver counted them (completed
    units not inspected last period, and ending WIP at or past the inspection point).  Normal
    spoilage is the rate × those units unless fewer units were spoiled: then it is capped at the
    units spoiled, which were counted, and the note says so.  Without ``passing`` the rate is
    named only when there is abnormal spoilage (the cap leaves none); None: no note.

    >>> _normal_rate_note(Decimal("10.48"), Decimal("0.02"), "{:f}".format, Decimal("524"))
    '  Normal spoilage 10.48 units = normal rate 2% × 524 good units passing inspection: computed from the rate, not counted.'
    >>> _normal_rate_note(Decimal("3.5"), Decimal("0.02"), "{:f}".format, Decimal("500"))
    '  Normal spoilage 3.5 units: capped at the 3.5 units spoiled (normal rate 2% × 500 good units passing inspection would be 10 units).'
    >>> _normal_rate_note(Decimal("3.5"), Decimal("0.02"), "{:f}".format) is None
    True

    ``whole_units`` (``normal_from_rate: whole_units``): rate × passing was rounded half-up to a
    whole unit before the cap, and the note says so.

    >>> _normal_rate_note(Decimal("2"), Decimal("0.02"), "{:f}".format, Decimal("124"), whole_units=True)
    '  Normal spoilage 2 units = normal rate 2% × 124 good units passing inspection (2.48), rounded half-up to whole units: computed from the rate, not counted.'
    >>> _normal_rate_note(Decimal("3"), Decimal("0.02"), "{:f}".format, Decimal("175"), whole_units=True)
    '  Normal spoilage 3 units: capped at the 3 units spoiled (normal rate 2% × 175 good units passing inspection would be 3.5 units, 4 in whole units).'
    >>> rate = Decimal("0.0208333333333333")  # 1/48 at a spreadsheet's 15 digits
    >>> _normal_rate_note(Decimal("3"), rate, "{:f}".format, Decimal("120"), whole_units=True)
    '  Normal spoilage 3 units = normal rate 2.08333333333333% × 120 good units passing inspection (2.499999999999996, 2.5 to six places), rounded half-up to whole units: computed from the rate, not counted.'
    >>> _normal_rate_note(Decimal("2"), rate, "{:f}".format, Decimal("120"), whole_units=True)
    '  Normal spoilage 2 units: capped at the 2 units spoiled (normal rate 2.08333333333333% × 120 good units passing inspection would be 2.499999999999996 units (2.5 to six places), 3 in whole units).'
    """
    with localcontext(_WIDE):
        percent = u((rate * 100).normalize())
        if whole_units:
            if passing is None:  # rounded: how many passed cannot be read back from it
                return (f"  Normal spoilage {u(normal)} units: computed from the normal rate {percent}%, rounded "
                        "half-up to whole units." if abnormal > 0 else None)
            from_rate = rate * passing
            whole = normal_spoilage_from_rate(rate, passing, None, whole_units=True)  # as the engine rounds it
            six = from_rate.quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP).normalize()
            # 0.0208333333333333 × 120 = 2.499999999999996 is the 2.5 a rate of 1/48 stands for: said so
            to_six = f"{u(six)} to six places" if six != from_rate else ""
            shown = u(passing.normalize())
            if normal == whole:
                return (f"  Normal spoilage {u(normal)} units = normal rate {percent}% × {shown} good units passing "
                        f"inspection ({u(from_rate.normalize())}{', ' + to_six if to_six else ''}), rounded half-up to "
                        "whole units: computed from the rate, not counted.")
            if normal < whole:
                return (f"  Normal spoilage {u(normal)} units: capped at the {u(normal)} units spoiled (normal rate "
                        f"{percent}% × {shown} good units passing inspection would be {u(from_rate.normalize())} "
                        f"units{' (' + to_six + ')' if to_six else ''}, {u(whole)} in whole units).")
            return None
        if passing is None:
            if not abnormal > 0:
                return None  # perhaps capped at the units spoiled: the rate does not say how many passed
            passing = normal / rate
        from_rate = rate * passing
        if normal == from_rate:
            return (f"  Normal spoilage {u(normal)} units = normal rate {percent}% × {u(passing.normalize())} good "
                    "units passing inspection: computed from the rate, not counted.")
        if normal < from_rate:
            return (f"  Normal spoilage {u(normal)} units: capped at the {u(normal)} units spoiled (normal rate "
                    f"{percent}% × {u(passing.normalize())} good units passing inspection would be "
                    f"{u(from_rate.normalize())} units).")
    return None


def normal_rates(stages: Sequence[Any]) -> list[Decimal | None]:
    """Each stage's ``spoilage.normal_rate`` as the case or close file gave it (None where the file gave
    normal spoilage in units, or none), for ``render_case_report(..., normal_rates=...)``; ``stages``
    are the file's stage mappings (``data["stages"]``, or a close file product's ``stages``).

    >>> normal_rates([{"spoilage": {"normal_rate": "0.02", "spoiled": 6}}, {"spoilage": {"normal": 3}}, {}])
    [Decimal('0.02'), None, None]
    >>> normal_rates([{"spoilage": {"normal_rate": "2%"}}])  # read as the resolver reads it
    [Decimal('0.02')]
    """
    rates: list[Decimal | None] = []
    for stage in stages:
        spoilage = stage.get("spoilage") if isinstance(stage, Mapping) else None
        rate = spoilage.get("normal_rate") if isinstance(spoilage, Mapping) else None
        try:
            rates.append(None if rate is None or isinstance(rate, bool) else to_fraction(rate))
        except (ArithmeticError, NumberError):
            rates.append(None)
    return rates


def normal_in_whole_units(stages: Sequence[Any]) -> list[bool]:
    """Per stage, whether the case or close file counts normal spoilage from its rate in whole units
    (``spoilage.normal_from_rate: whole_units``), for ``render_case_report(..., whole_units=...)``.

    >>> normal_in_whole_units([{"spoilage": {"normal_rate": "0.02", "normal_from_rate": "whole_units"}},
    ...                        {"spoilage": {"normal_rate": "0.02"}}, {}])
    [True, False, False]
    """
    return [isinstance(stage, Mapping) and isinstance(stage.get("spoilage"), Mapping)
            and stage["spoilage"].get("normal_from_rate") == "whole_units" for stage in stages]


def _render_stage(s: StageReport, currency: str, method: str, places: int, locale: str,
                  parts: dict[str, EquivalentUnitParts] | None = None, normal_rate: Decimal | None = None,
                  passing: Decimal | None = None, whole_units: bool = False, rounding: str = "half_up") -> str:
    """The five steps of one stage.  With ``parts`` (``equivalent_unit_parts``), Step 2 shows how
    each element's equivalent units are made up, so an auditor can trace them.  ``normal_rate``: the
    stage's normal spoilage rate where the case gave one (a note then says a fractional normal
    spoilage was computed from it)."""
    elements = list(s.equivalent_units)
    pu = s.physical_units
    u = lambda v: _fmt_units(v, locale)  # noqa: E731
    a = lambda v: _fmt_amount(v, places, locale)  # noqa: E731
    lines = [f"{s.name} — production cost report ({method}, {currency})", ""]

    lines.append("Step 1  Physical units")
    # A later stage receives (0 on an idle line): it starts nothing of its own.
    receives = pu.transferred_in or TRANSFERRED_IN in s.equivalent_units
    received = ("Transferred in", pu.transferred_in) if receives else ("Started", pu.started)
    rows = [["Beginning WIP", u(pu.beginning_wip)], [received[0], u(received[1])],
            ["Units to account for", u(pu.beginning_wip + received[1])],
            ["Completed and transferred out", u(pu.completed)]]
    # Horngren's order, as in Step 2: good units completed, normal spoilage, abnormal spoilage, ending WIP.
    spoiled = bool(pu.normal_spoilage or pu.abnormal_spoilage)
    if spoiled:
        rows += [["Normal spoilage", u(pu.normal_spoilage)], ["Abnormal spoilage", u(pu.abnormal_spoilage)]]
    rows += [["Ending WIP", u(pu.ending_wip)],
             ["Units accounted for", u(pu.completed + pu.ending_wip + pu.normal_spoilage + pu.abnormal_spoilage)]]
    lines += _table(rows, ["", "units"])
    if normal_rate is not None and (whole_units or pu.normal_spoilage != pu.normal_spoilage.to_integral_value()):
        note = _normal_rate_note(pu.normal_spoilage, normal_rate, u, passing, pu.abnormal_spoilage, whole_units)
        if note is not None:
            lines.append(note)

    if parts is None:
        lines += ["", "Step 2  Equivalent units"]
        rows = [["Equivalent units"] + [u(s.equivalent_units[e]) for e in elements]]
    else:
        lines += ["", "Step 2  Equivalent units" + (" (FIFO: work done this period)" if method == "FIFO" else "")]
        labels = (_FIFO_PARTS if method == "FIFO" else _AVERAGE_PARTS) + (_SPOILAGE_PARTS if spoiled else ()) \
            + (("ending_wip", "Ending WIP"),)
        rows = [[label] + [u(getattr(parts[e], field)) for e in elements] for field, label in labels]
        rows.append(["Equivalent units"] + [u(s.equivalent_units[e]) for e in elements])
    lines += _table(rows, [""] + elements)
    lines += ["", "Step 3  Costs to account for"]
    ctaf = s.costs_to_account_for
    lines += _table(_costs_to_account_for(ctaf, elements, a, "Beginning WIP"), [""] + elements + ["total"])
    lines += ["", "Step 4  Cost per equivalent unit"] + _cost_per_eu(s, elements, locale)

    lines += ["", "Step 5  Assignment of costs"]
    normal, abnormal = s.normal_spoilage, s.abnormal_spoilage
    spoilage = bool(normal.total or abnormal.total or normal.disposal_value or abnormal.disposal_value)
    rows = []

    def assigned_rows(title, assigned, layers=None):
        out = [[title] + [a(assigned.by_element[e]) for e in elements] + [a(assigned.total)]]
        if layers is not None:
            # FIFO, the textbook's layers: beginning WIP at last period's cost, the cost to complete
            # it, the units started and completed, and the normal spoilage they carry.
            for label, field in (("  beginning WIP, last period's cost", "beginning_wip"),
                                 ("  beginning WIP, cost to complete", "to_complete_beginning_wip"),
                                 ("  started and completed", "started_and_completed"),
                                 ("  normal spoilage, net", "normal_spoilage")):
                values = [getattr(layers[e], field) for e in elements]
                if field != "normal_spoilage" or any(values):
                    out.append([label] + [a(v) for v in values] + [a(sum(values, assigned.total * 0))])
            return out
        share = assigned.normal_spoilage_by_element
        # Normal spoilage is part of the good units' cost: shown under the units that carry it.
        if spoilage and any(share.values()):
            out.append(["  of which normal spoilage, net"] + [a(share[e]) for e in elements]
                       + [a(sum(share.values(), normal.total * 0))])
        return out

    # Horngren's order, as in Steps 1 and 2: good units completed and transferred out (with their
    # normal spoilage), abnormal spoilage (with the spoiled goods' disposal value), ending WIP.
    out_layers = transferred_out_parts(s, parts, rounding)
    rows += assigned_rows("Transferred out", s.transferred_out, out_layers)
    if spoilage:
        rows.append(["Abnormal spoilage (loss), net"] + [a(abnormal.by_element[e]) for e in elements]
                    + [a(abnormal.total)])
        disposal = normal.disposal_value + abnormal.disposal_value
        if disposal:
            rows.append(["Spoiled goods at disposal value", *[""] * len(elements), a(disposal)])
    rows += assigned_rows("Ending WIP", s.ending_wip)
    # FIFO on an idle line: ending WIP is beginning units, which keep their share of last period's
    # cost; the rest is this period's work on them.
    held_parts = ending_wip_parts(s, out_layers)
    if held_parts is not None:
        for label, k in (("  beginning WIP, last period's cost", 0), ("  work this period", 1)):
            values = [held_parts[e][k] for e in elements]
            rows.append([label] + [a(v) for v in values] + [a(sum(values, s.ending_wip.total * 0))])
    rows.append(["Costs accounted for", *[""] * len(elements), a(s.costs_accounted_for)])
    lines += _table(rows, [""] + elements + ["total"])
    if held_parts is not None:
        held = pu.beginning_wip - pu.completed
        lines += ["", f"  Nothing was {'received' if receives else 'started'}: FIFO completed {u(pu.completed)} of the "
                      f"{u(pu.beginning_wip)} beginning units; ending WIP is the other {u(held)}, with their share of "
                      "last period's cost (by units) and this period's work on them."]
    if spoilage:
        # "net": the spoiled units' cost less their disposal value (recorded as spoiled goods).
        lines += ["", "  Spoilage, net of disposal value (the disposal value is recorded as spoiled goods):"]
        lines += _table([[label, a(cost.total + cost.disposal_value), a(cost.disposal_value), a(cost.total)]
                               for label, cost in (("Normal spoilage", normal), ("Abnormal spoilage", abnormal))
                               if cost.total or cost.disposal_value],
                              ["", "gross", "disposal value", "net"])
    check = s.costs_accounted_for - ctaf.total
    lines.append("")
    lines.append("  Costs to account for = costs accounted for: OK" if not check
                 else f"  Costs to account for {a(ctaf.total)}; accounted for {a(s.costs_accounted_for)}; "
                      f"difference {a(check)} — this is a defect in the engine, please report it")
    return "\n".join(lines)


def _render_process_stage(s: ProcessAccountStageReport, currency: str, method: str, places: int,
                          locale: str) -> str:
    """The five steps under the process-account convention, then the stage's T-accounts."""
    elements = list(s.equivalent_units)
    pu = s.physical_units
    u = lambda v: _fmt_units(v, locale)  # noqa: E731
    a = lambda v: _fmt_amount(v, places, locale)  # noqa: E731
    nl, al, ag = s.normal_loss, s.abnormal_loss, s.abnormal_gain
    lines = [f"{s.name} — process account report ({method}, {currency}, normal loss at scrap value)", ""]

    lines.append("Step 1  Physical units")
    rows = [["Opening WIP", u(pu.beginning_wip)]]
    receives = pu.transferred_in or TRANSFERRED_IN in s.equivalent_units  # a later stage, 0 when idle
    if receives:
        rows.append(["Transferred in", u(pu.transferred_in)])
    if pu.started or not receives:
        rows.append(["Started and added" if receives else "Started", u(pu.started)])
    rows += [["Units to account for", u(pu.beginning_wip + pu.transferred_in + pu.started)],
             ["Good output", u(pu.completed)], ["Closing WIP", u(pu.ending_wip)],
             ["Normal loss", u(nl.units)], ["Abnormal loss", u(al.units)],
             ["Abnormal gain", u(-ag.units) if ag.units else u(ag.units)],
             ["Units accounted for", u(pu.completed + pu.ending_wip + nl.units + al.units - ag.units)]]
    lines += _table(rows, ["", "units"])

    lines += ["", "Step 2  Equivalent units (normal loss: none; abnormal gain: deducted)"]
    lines += _equivalent_units(s, elements, u)
    lines += ["", "Step 3  Costs to account for"]
    ctaf = s.costs_to_account_for
    rows = _costs_to_account_for(ctaf, elements, a, "Opening WIP")
    if nl.total:
        rows.append(["Less scrap value of normal loss"] + [a(-nl.by_element[e]) for e in elements] + [a(-nl.total)])
    lines += _table(rows, [""] + elements + ["total"])
    lines += ["", "Step 4  Cost per equivalent unit of expected output"] + _cost_per_eu(s, elements, locale)

    lines += ["", "Step 5  Assignment of costs"]
    rows = [["Good output"] + [a(s.transferred_out.by_element[e]) for e in elements] + [a(s.transferred_out.total)],
            ["Closing WIP"] + [a(s.ending_wip.by_element[e]) for e in elements] + [a(s.ending_wip.total)],
            ["Normal loss (scrap value)"] + [a(nl.by_element[e]) for e in elements] + [a(nl.total)],
            ["Abnormal loss"] + [a(al.by_element[e]) for e in elements] + [a(al.total)],
            ["Less abnormal gain"] + [a(-ag.by_element[e]) for e in elements] + [a(-ag.total)],
            ["Costs accounted for", *[""] * len(elements), a(s.costs_accounted_for)]]
    lines += _table(rows, [""] + elements + ["total"])
    check = s.costs_accounted_for - ctaf.total
    lines.append("")
    lines.append("  Costs to account for = costs accounted for: OK" if not check
                 else f"  Costs to account for {a(ctaf.total)}; accounted for {a(s.costs_accounted_for)}; "
                      f"difference {a(check)} — this is a defect in the engine, please report it")
    for account in s.accounts.all():
        lines += [""] + _t_account(account, u, a)
    return "\n".join(lines)


def _t_account(account: TAccount, u, a) -> list[str]:
    """Two columns, debit left and credit right, each with narrative, units and amount; totals equal."""
    def cells(line):
        return [line.narrative, "" if line.units is None else u(line.units), a(line.amount)]

    def units_total(lines, total):
        return u(total) if any(line.units is not None for line in lines) else ""

    debit = [cells(line) for line in account.debit]
    credit = [cells(line) for line in account.credit]
    totals_dr = ["", units_total(account.debit, account.units_debit), a(account.total_debit)]
    totals_cr = ["", units_total(account.credit, account.units_credit), a(account.total_credit)]
    rows = debit + credit + [totals_dr, totals_cr, ["Dr", "units", "amount"]]
    nw = max(len(r[0]) for r in rows)
    uw = max(len(r[1]) for r in rows)
    aw = max(len(r[2]) for r in rows)

    def fmt(row):
        return f"{row[0]:<{nw}}  {row[1]:>{uw}}  {row[2]:>{aw}}"

    blank = ["", "", ""]

    def rule(totals):
        return fmt(["", "-" * len(totals[1]), "-" * aw])

    out = [f"  {account.title}", ("  " + fmt(["Dr", "units", "amount"]) + " | " + fmt(["Cr", "units", "amount"]))]
    for i in range(max(len(debit), len(credit))):
        left = debit[i] if i < len(debit) else blank
        right = credit[i] if i < len(credit) else blank
        out.append(("  " + fmt(left) + " | " + fmt(right)).rstrip())
    out.append("  " + rule(totals_dr) + " | " + rule(totals_cr))
    out.append("  " + fmt(totals_dr) + " | " + fmt(totals_cr))
    return out
