"""Compact storage of a close's bulky columns: production cost reports, closing state, roll-forward.

A close of 5,000 products x 10 stages holds 50,000 stage reports and 200,000 roll-forward rows.
As pydantic JSON (every key on every value, the roll-forward repeating the reports) that was over
120 MB per close and most of the ledger's write time.  Here each product-stage is one short array:
its name, the index of its element names (listed once per close), and its values as their exact
``str(Decimal)`` joined by spaces — ``Decimal()`` reads each back identically.

- reports: what the report's JSON holds (``wip cost --json``): physical units, totals, and by
  element the equivalent units, cost per EU, transferred out and ending WIP;
- closing state: units, progress, and by element completion and cost;
- roll-forward: only what is not already in the reports and the closing state — by element the
  opening, the cost added (and the column it posts to), what left as spoilage, count and overhead
  adjustments; finished goods and ties.  Its rows are rebuilt on reading by the function the close
  built them with (``costing.close._rollforward.stage_rows``).

Reading gives the shapes the first ledger format stored (``ClosedPeriod.reports``,
``.rollforward``, ``.state``), and rows written in that format are read as they are.  A report of
another shape (a process-account stage, say) is stored as its JSON, as before, and then so is the
roll-forward.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from decimal import Decimal, getcontext
from typing import Any, Iterable

from .._report import CaseReport, StageReport, _quantity, plain
from ..close._rollforward import (
    ADDED_COLUMNS,
    FinishedGoodsRow,
    RollForward,
    TieCheck,
    stage_rows,
)
from ..close._compute import leaves_wip
from ..close._state import FinishedGoodsLayer, PriorState, StageWip

__all__ = ["REPORTS_FORMAT", "STATE_FORMAT", "ROLLFORWARD_FORMAT", "StoredClose", "rows_database",
           "encode_reports", "decode_rollforward_needed", "decode_rollforward_json",
           "decode_reports", "element_order", "encode_state", "decode_state", "state_as_first_format", "decode_rollforward"]

REPORTS_FORMAT = "wip-reports/2"
STATE_FORMAT = "wip-state/2"
ROLLFORWARD_FORMAT = "wip-rollforward/2"

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False).encode


class _Palette:
    """Lists that repeat across product-stages (element names), stored once and referred to by index."""

    def __init__(self) -> None:
        self.index: dict[tuple, int] = {}

    def __call__(self, key: tuple) -> int:
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.index)
        return i

    def lists(self) -> list[list]:
        return [list(key) for key in self.index]


def _in_order(values: dict, elements: tuple) -> Iterable:
    """The dict's values in element order (KeyError or ValueError when it names other elements)."""
    if tuple(values) == elements:
        return values.values()
    if len(values) != len(elements):
        raise ValueError("elements differ")
    return [values[e] for e in elements]


# ---- production cost reports ------------------------------------------------------------------

def _stage_values(sr: StageReport, elements: tuple) -> str:
    pu, ctaf, out, end = sr.physical_units, sr.costs_to_account_for, sr.transferred_out, sr.ending_wip
    ns, ab = sr.normal_spoilage, sr.abnormal_spoilage
    return " ".join(map(str, (
        pu.beginning_wip, pu.started, pu.transferred_in, pu.completed, pu.ending_wip, pu.normal_spoilage,
        pu.abnormal_spoilage, ctaf.beginning_wip, ctaf.added, ctaf.total, out.total, end.total,
        ns.total, ns.disposal_value, ab.total, ab.disposal_value,
        *_in_order(sr.equivalent_units, elements), *_in_order(sr.cost_per_eu, elements),
        *_in_order(out.by_element, elements), *_in_order(end.by_element, elements))))


def _compact(report: CaseReport) -> bool:
    return (type(report) is CaseReport and report.loss_convention == "spoilage"
            and all(type(sr) is StageReport for sr in report.stages))


def encode_reports(reports: Iterable[tuple[str, CaseReport]]) -> tuple[str, bool]:
    """The production cost reports of a close, by product, as stored; and whether every one was
    laid out in columns (the roll-forward is only rebuilt from such reports)."""
    palette = _Palette()
    entries: list[str] = []
    all_compact = True
    for name, report in reports:
        if _compact(report):
            try:
                stages = []
                for sr in report.stages:
                    elements = tuple(sr.equivalent_units)
                    stages.append([sr.name, palette(elements), _stage_values(sr, elements)])
                entries.append(_dumps([name, report.currency, report.method, stages]))
                continue
            except (KeyError, ValueError):
                pass
        # Anything else keeps the report's JSON (what `wip cost --json` prints), as the first format did.
        all_compact = False
        entries.append(f'{{"product":{_dumps(name)},"report":{report.model_dump_json()}}}')
    head = _dumps({"format": REPORTS_FORMAT, "elements": palette.lists()})
    return head[:-1] + ',"products":[' + ",".join(entries) + "]}", all_compact


def _plain_text(text: str) -> str:
    """``plain(Decimal(text))`` for a stored ``str(Decimal)``: the same digits unless it has an
    exponent or is a negative zero.

    >>> [_plain_text(t) for t in ("12.30", "-0.00", "4E+1", "-5.10")]
    ['12.30', '0.00', '40', '-5.10']
    """
    if "E" in text:
        return plain(Decimal(text))
    if text[0] == "-" and not text.strip("-0."):
        return text[1:]
    return text


def _quantity_text(text: str, prec: int) -> str:
    """``_quantity(Decimal(text))`` for a stored ``str(Decimal)`` of at most ``prec`` (the
    context's precision) significant digits: trailing zeros dropped; longer ones through Decimal.

    >>> [_quantity_text(t, 28) for t in ("22", "-0.50", "10.0", "0.000", "1E+2")]
    ['22', '-0.5', '10', '0', '100']
    """
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    if "E" in text or len(digits) > prec:
        return _quantity(Decimal(text))
    if not digits:
        return "0"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _report_json(currency: str, method: str, stages: list, palette: list) -> dict:
    """A stored report as ``CaseReport.model_dump(mode="json")`` gives it."""
    prec = getcontext().prec  # shorter texts drop their trailing zeros as text; longer ones go through _quantity
    out = []
    for name, index, text in stages:
        elements = palette[index]
        n = len(elements)
        v = text.split(" ")
        q = [_quantity_text(x, prec) for x in v[:7]]
        a = [_plain_text(x) for x in v[7:16]]
        by = v[16:]

        def column(k: int, fmt) -> dict:
            if fmt is plain:
                return {e: _plain_text(x) for e, x in zip(elements, by[k * n:(k + 1) * n])}
            return {e: _quantity_text(x, prec) for e, x in zip(elements, by[k * n:(k + 1) * n])}

        out.append({
            "name": name,
            "physical_units": dict(zip(("beginning_wip", "started", "transferred_in", "completed", "ending_wip",
                                        "normal_spoilage", "abnormal_spoilage"), q)),
            "equivalent_units": column(0, _quantity),
            "cost_per_eu": column(1, _quantity),
            "costs_to_account_for": {"beginning_wip": a[0], "added": a[1], "total": a[2]},
            "transferred_out": {"total": a[3], "by_element": column(2, plain)},
            "ending_wip": {"total": a[4], "by_element": column(3, plain)},
            "normal_spoilage": {"total": a[5], "disposal_value": a[6]},
            "abnormal_spoilage": {"total": a[7], "disposal_value": a[8]},
        })
    return {"currency": currency, "method": method, "stages": out}


def decode_reports(doc: Any) -> list:
    """The stored reports as ``[{"product", "report"}]`` with each report's JSON (the first format's shape)."""
    if not (isinstance(doc, dict) and doc.get("format") == REPORTS_FORMAT):
        return doc  # written in the first format: already that shape
    palette = doc["elements"]
    return [entry if isinstance(entry, dict) else
            {"product": entry[0], "report": _report_json(entry[1], entry[2], entry[3], palette)}
            for entry in doc["products"]]


def element_order(doc: Any) -> dict[tuple[str, str], tuple[str, ...]]:
    """(product, stage) -> the stage's elements in the order its production cost report listed
    them when the close was computed (transferred-in first, then as the close file declared them),
    from the stored reports of either format; without decoding their figures.

    The recorded inputs are canonical JSON, whose keys are sorted: this is what still says in which
    order the file declared each stage's elements (every stored format keeps a report's order)."""
    order: dict[tuple[str, str], tuple[str, ...]] = {}
    if isinstance(doc, dict) and doc.get("format") == REPORTS_FORMAT:
        palette, entries = [tuple(names) for names in doc["elements"]], doc["products"]
    else:
        palette, entries = [], doc if isinstance(doc, list) else []
    for entry in entries:
        if isinstance(entry, list):  # laid out in columns: [name, currency, method, [[stage, palette index, ...]]]
            for stage in entry[3]:
                order[(entry[0], stage[0])] = palette[stage[1]]
        elif isinstance(entry, dict) and isinstance(entry.get("report"), dict):
            for stage in entry["report"].get("stages") or ():
                if isinstance(stage, dict) and isinstance(stage.get("equivalent_units"), dict):
                    order[(entry.get("product"), stage.get("name"))] = tuple(stage["equivalent_units"])
    return order


# ---- closing state ----------------------------------------------------------------------------

def encode_state(wip: list[StageWip], layers: list[FinishedGoodsLayer]) -> tuple[str, list[tuple], list[tuple]]:
    """Closing WIP grouped by product, and finished-goods layers, as stored; with the rows of the
    ``closing_wip`` and ``fg_layers`` tables (without seq), from the same strings."""
    palette = _Palette()
    products: list[list] = []
    wip_rows: list[tuple] = []
    current: list = []
    for w in wip:
        product, stage = w.product, w.stage
        if not current or current[0] != product:
            current = [product, []]
            products.append(current)
        units = str(w.units)
        progress = None if w.progress is None else str(w.progress)
        elements = tuple(w.cost)
        costs = list(map(str, w.cost.values()))
        if tuple(w.completion) == elements:
            completion = list(map(str, w.completion.values()))
            current[1].append([stage, palette(elements), units, progress, " ".join(completion), " ".join(costs)])
            wip_rows += [(product, stage, e, units, c, k) for e, c, k in zip(elements, completion, costs)]
        else:  # completion and cost name different elements: each as its own map
            completion_by = {k: str(v) for k, v in w.completion.items()}
            current[1].append([stage, None, units, progress, completion_by, dict(zip(elements, costs))])
            wip_rows += [(product, stage, e, units, completion_by.get(e, ""), k) for e, k in zip(elements, costs)]
    layer_rows = [(l.product, i, l.period, str(l.units), str(l.cost)) for i, l in enumerate(layers)]
    text = _dumps({"format": STATE_FORMAT, "elements": palette.lists(), "wip": products,
                   "finished_goods": [[p, period, units, cost] for p, _, period, units, cost in layer_rows]})
    return text, wip_rows, layer_rows


def _state_records(doc: dict) -> Iterable[tuple[str, str, str, str | None, dict[str, str], dict[str, str]]]:
    """(product, stage, units, progress, completion, cost) of each stored product-stage, as strings."""
    palette = doc["elements"]
    for product, stages in doc["wip"]:
        for stage, index, units, progress, completion, cost in stages:
            if index is not None:
                elements = palette[index]
                completion = dict(zip(elements, completion.split(" ")))
                cost = dict(zip(elements, cost.split(" ")))
            yield product, stage, units, progress, completion, cost


def state_as_first_format(doc: Any) -> dict:
    """The closing state as the first format's ``{"wip": [StageWip.to_json()], "finished_goods": [...]}``."""
    if not (isinstance(doc, dict) and doc.get("format") == STATE_FORMAT):
        return doc
    return {
        "wip": [{"product": p, "stage": s, "units": u, "progress": pr, "completion": c, "cost": k}
                for p, s, u, pr, c, k in _state_records(doc)],
        "finished_goods": [{"product": p, "period": per, "units": u, "cost": c}
                           for p, per, u, c in doc["finished_goods"]],
    }


def decode_state(period: str, doc: Any) -> PriorState:
    data = state_as_first_format(doc)
    wip = {(w["product"], w["stage"]): StageWip.from_json(w) for w in data.get("wip", [])}
    fg: dict[str, list[FinishedGoodsLayer]] = {}
    for layer in data.get("finished_goods", []):
        fg.setdefault(layer["product"], []).append(FinishedGoodsLayer.from_json(layer))
    return PriorState(period, wip, {k: tuple(v) for k, v in fg.items()})


# ---- roll-forward -----------------------------------------------------------------------------

_NONE = (1 << 64) - 1  # a part that is not there


class StoredClose:
    """The bulky columns of a close as stored, encoded from the close result alone (so that it
    can be done in a child process while the journals and roll-forward are built): reports,
    closing state with the rows of its detail tables, and the roll-forward's stored remainder,
    which ``rollforward_json`` completes with finished goods and ties.

    ``wip_rows`` (the ``closing_wip`` rows, without seq) are a list of tuples, or an SQLite
    database image holding them in a table ``closing_wip`` (``rows_database``), which the ledger
    copies in one statement."""

    def __init__(self, reports: str | None, state: str | None, wip_rows: list | bytes | None,
                 layer_rows: list | None, rollforward_products: str | None, rollforward_rows: int, zero: str | None):
        self.reports, self.state, self.wip_rows, self.layer_rows = reports, state, wip_rows, layer_rows
        self._products, self._rows, self._zero = rollforward_products, rollforward_rows, zero

    @classmethod
    def encode(cls, result, *, reports: bool = True, state: bool = True) -> "StoredClose":
        """The whole of it, or one of its two halves (``merge`` joins them): the reports with the
        roll-forward's remainder, or the closing state with its detail-table rows."""
        reports_text = products = zero = None
        rows = 0
        if reports:
            reports_text, compact = encode_reports((p.name, p.report) for p in result.products)
            if compact:
                try:
                    found, rows = _rollforward_products(result)
                    products = _dumps(found)
                except (KeyError, ValueError):
                    products = None
            zero = str(Decimal(0) * result.plan.quantum)
        state_text = wip_rows = layer_rows = None
        if state:
            state_text, rows_list, layer_rows = encode_state(
                [w for p in result.products for w in p.closing_wip.values()],
                [layer for p in result.products for layer in p.fg_closing])
            wip_rows = rows_database(rows_list)
        return cls(reports_text, state_text, wip_rows, layer_rows, products, rows, zero)

    def merge(self, other: "StoredClose") -> "StoredClose":
        """The parts this one lacks, from ``other``."""
        pick = lambda mine, theirs: theirs if mine is None else mine  # noqa: E731
        return StoredClose(pick(self.reports, other.reports), pick(self.state, other.state),
                           pick(self.wip_rows, other.wip_rows), pick(self.layer_rows, other.layer_rows),
                           pick(self._products, other._products), self._rows or other._rows,
                           pick(self._zero, other._zero))

    def to_bytes(self) -> bytes:
        """One byte string (for the pipe from a child process): length-prefixed parts."""
        def text(value: str | None) -> bytes | None:
            return None if value is None else value.encode()

        wip = self.wip_rows
        parts = (text(self.reports), text(self.state),
                 None if wip is None else (b"d" + wip if isinstance(wip, bytes) else b"j" + _dumps(wip).encode()),
                 None if self.layer_rows is None else _dumps(self.layer_rows).encode(), text(self._products),
                 str(self._rows).encode(), text(self._zero))
        return b"".join(struct.pack(">Q", _NONE) if part is None else struct.pack(">Q", len(part)) + part
                        for part in parts)

    @classmethod
    def from_bytes(cls, data: bytes) -> "StoredClose":
        parts: list[bytes | None] = []
        at = 0
        while at < len(data):
            (size,) = struct.unpack_from(">Q", data, at)
            if size == _NONE:
                parts.append(None)
                at += 8
            else:
                parts.append(data[at + 8:at + 8 + size])
                at += 8 + size
        reports, state, wip, layers, products, rows, zero = parts
        text = lambda b: None if b is None else b.decode()  # noqa: E731
        if wip is not None:
            wip = wip[1:] if wip[:1] == b"d" else json.loads(wip[1:])
        return cls(text(reports), text(state), wip, None if layers is None else json.loads(layers), text(products),
                   int(rows), text(zero))

    def rollforward_json(self, rollforward: RollForward) -> str:
        """The roll-forward as stored: its remainder, or the whole of it when it cannot be rebuilt
        from what is stored (a report kept as JSON, or rows this close did not build)."""
        if self._products is None or self._rows != len(rollforward.rows):
            return rollforward.model_dump_json()
        head = _dumps({"format": ROLLFORWARD_FORMAT, "period": rollforward.period,
                       "currency": rollforward.currency, "zero": self._zero})
        finished_goods = [[r.product, str(r.opening_units), str(r.opening), str(r.completed_units), str(r.completed),
                           str(r.shipped_units), str(r.cost_of_goods_sold), str(r.overhead_adjustment),
                           str(r.closing_units), str(r.closing)] for r in rollforward.finished_goods]
        ties = [[t.account, t.name, str(t.rollforward), str(t.journals), str(t.difference)] for t in rollforward.ties]
        # One JSON object: the header's members, the remainder's ("columns", "products"), then these.
        return (head[:-1] + "," + self._products[1:-1] + ',"finished_goods":' + _dumps(finished_goods)
                + ',"ties":' + _dumps(ties) + "}")


def rows_database(wip_rows: list[tuple]) -> list[tuple] | bytes:
    """The ``closing_wip`` rows as an in-memory SQLite database image (table ``closing_wip``,
    without seq), or the list itself where this SQLite cannot serialize."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        if not hasattr(db, "serialize"):
            return wip_rows
        db.execute("CREATE TABLE closing_wip (product TEXT, stage TEXT, element TEXT, units TEXT, "
                   "completion TEXT, cost TEXT)")
        db.execute("BEGIN")
        db.executemany("INSERT INTO closing_wip VALUES (?, ?, ?, ?, ?, ?)", wip_rows)
        db.execute("COMMIT")
        return db.serialize()
    finally:
        db.close()


def _rollforward_products(result) -> tuple[dict, int]:
    """What the roll-forward adds to the reports and the closing state: by product-stage, the
    added-cost column of each element and, by element, opening, cost added and what left WIP as
    spoilage, and count and overhead adjustments where there are any — the values
    ``build_rollforward`` passes to ``stage_rows`` for the same product-stage.  With the number
    of rows they make."""
    palette = _Palette()
    zero = str(Decimal(0) * result.plan.quantum)
    products = []
    count_rows = 0
    for plan, product in zip(result.plan.products, result.products, strict=True):
        stages = []
        for stage, sr in zip(plan.case.stages, product.report.stages, strict=True):
            kind = {e.name: ADDED_COLUMNS[e.kind] for e in stage.elements}
            elements = tuple(sr.equivalent_units)
            count_rows += len(elements)
            ctaf = sr.costs_to_account_for
            record = [palette(tuple(kind[e] for e in elements)), " ".join(map(str, (
                *_in_order(ctaf.beginning_wip_by_element, elements), *_in_order(ctaf.added_by_element, elements),
                *(leaves_wip(sr, e) for e in elements))))]
            count = product.count_adjustments.get(sr.name)
            overhead = product.overhead_adjustment.get(sr.name)
            if overhead:
                record.append(" ".join(map(str, _in_order(count.by_element, elements))) if count is not None
                              else " ".join(zero for _ in elements))
                record.append(" ".join(str(overhead[e]) if e in overhead else zero for e in elements))
            elif count is not None:
                record.append(" ".join(map(str, _in_order(count.by_element, elements))))
            stages.append(record)
        products.append([product.name, stages])
    return {"columns": palette.lists(), "products": products}, count_rows


_FG_FIELDS = ("product", "opening_units", "opening", "completed_units", "completed", "shipped_units",
              "cost_of_goods_sold", "overhead_adjustment", "closing_units", "closing")


def decode_rollforward_needed(doc: Any) -> bool:
    """Whether a stored roll-forward is the compact remainder (True) or whole, as first stored."""
    return isinstance(doc, dict) and doc.get("format") == ROLLFORWARD_FORMAT


def _decode_rows(doc: Any, reports_doc: Any, state_doc: Any, num, units, make_row) -> list:
    """Roll-forward rows from the stored remainder, reports and state, by the close's own
    ``stage_rows``: amounts through ``num`` (Decimal for typed rows, plain text for JSON), units
    through ``units``, rows made by ``make_row`` (None: typed RollForwardRow)."""
    zero = num(doc["zero"])
    columns = doc["columns"]
    elements_of = reports_doc["elements"]
    closing = {(p, s): (units(Decimal(u)), {k: num(v) for k, v in cost.items()})
               for p, s, u, _, _, cost in _state_records(state_doc)}
    rows: list = []
    extra = {} if make_row is None else {"make_row": make_row}
    for entry, (name, stages) in zip(reports_doc["products"], doc["products"], strict=True):
        if isinstance(entry, dict) or entry[0] != name:
            raise ValueError(f"the stored roll-forward of {name!r} does not match the stored reports")
        for (stage, index, report_values), record in zip(entry[3], stages, strict=True):
            elements = elements_of[index]
            n = len(elements)
            out = report_values.split(" ")[16 + 2 * n:16 + 3 * n]
            v = [num(x) for x in record[1].split(" ")]
            count = dict(zip(elements, map(num, record[2].split(" ")))) if len(record) > 2 else None
            overhead = dict(zip(elements, map(num, record[3].split(" ")))) if len(record) > 3 else {}
            stage_units, cost = closing[(name, stage)]
            stage_rows(rows, name, stage, elements, dict(zip(elements, columns[record[0]])),
                       dict(zip(elements, v[:n])), dict(zip(elements, v[n:2 * n])),
                       dict(zip(elements, map(num, out))), dict(zip(elements, v[2 * n:])),
                       count, overhead, cost, stage_units, zero, **extra)
    return rows


def decode_rollforward(doc: Any, reports_doc: Any, state_doc: Any) -> RollForward | None:
    """The typed roll-forward rebuilt from the stored reports and state; None for the first format."""
    if not decode_rollforward_needed(doc):
        return None
    rows = _decode_rows(doc, reports_doc, state_doc, Decimal, lambda u: u, make_row=None)
    fg = [FinishedGoodsRow._trusted(dict(zip(_FG_FIELDS, [r[0], *map(Decimal, r[1:])]))) for r in doc["finished_goods"]]
    ties = [TieCheck._trusted({"account": t[0], "name": t[1], "rollforward": Decimal(t[2]),
                               "journals": Decimal(t[3]), "difference": Decimal(t[4])}) for t in doc["ties"]]
    return RollForward._trusted({"period": doc["period"], "currency": doc["currency"], "rows": tuple(rows),
                                 "finished_goods": tuple(fg), "ties": tuple(ties)})


def decode_rollforward_json(doc: Any, reports_doc: Any, state_doc: Any) -> dict | None:
    """``decode_rollforward(...).model_dump(mode="json")``, built from the stored text directly
    (the rows by the same ``stage_rows``); None for the first format."""
    if not decode_rollforward_needed(doc):
        return None
    rows = _decode_rows(doc, reports_doc, state_doc, _plain_text, _quantity, make_row=dict)
    quantities = {"opening_units", "completed_units", "shipped_units", "closing_units"}
    fg = [{field: (value if field == "product" else _quantity(Decimal(value)) if field in quantities
                   else _plain_text(value)) for field, value in zip(_FG_FIELDS, r)} for r in doc["finished_goods"]]
    ties = [{"account": t[0], "name": t[1], "rollforward": _plain_text(t[2]), "journals": _plain_text(t[3]),
             "difference": _plain_text(t[4])} for t in doc["ties"]]
    return {"period": doc["period"], "currency": doc["currency"], "rows": rows, "finished_goods": fg, "ties": ties}
