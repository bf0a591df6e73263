"""The close workbook template, and filling its tables from close data (the demo, tests, benchmarks).

``build_template()`` makes the template from the table descriptions in ``_schema``: an Instructions
sheet, one sheet per input area with real Excel tables, drop-downs, numeric ranges, number formats
and frozen header rows.  ``fill_tables`` writes rows into the tables by header (resizing them);
``tables_from_close_data`` turns a close file's data into those rows.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any, Mapping

import openpyxl
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.table import Table, TableStyleInfo

from ._schema import (ADDITION_POINTS, DISPOSITIONS, DRIVER_HELP, ELEMENT_KINDS, METHODS, NORMAL_FROM_RATE, ROUNDINGS,
                      SETTINGS, TABLES, TableSpec, normalise_header)

__all__ = ["build_template", "fill_tables", "tables_from_close_data", "save_reproducibly", "TEMPLATE_PATH",
           "template_workbook", "amount_format", "MAX_ROW", "input_formats"]

TEMPLATE_PATH = Path(__file__).resolve().parents[2] / "templates" / "close-template.xlsx"
MAX_ROW = 1048576
_FIXED_TIME = dt.datetime(2026, 1, 1, 0, 0, 0)
_TITLE = Font(bold=True, size=14)
_NOTE = Font(italic=True, color="595959")
_INPUT_FILL = PatternFill("solid", fgColor="FFF2CC")  # input cells: light yellow, the usual convention

UNITS_FORMAT = "#,##0.########"
FRACTION_FORMAT = "0.0%"


def amount_format(places: int = 2, symbol: str = "", symbol_after: bool = False) -> str:
    """An Excel number format for money with ``places`` decimals (and a currency symbol).

    >>> amount_format(2), amount_format(0, "¥"), amount_format(2, "€", symbol_after=True)
    ('#,##0.00;-#,##0.00', '"¥"#,##0;-"¥"#,##0', '#,##0.00\\\\ "€";-#,##0.00\\\\ "€"')
    """
    number = "#,##0" + ("." + "0" * places if places else "")
    if not symbol:
        return f"{number};-{number}"
    quoted = '"' + symbol.replace('"', "") + '"'
    positive = f"{number}\\ {quoted}" if symbol_after else f"{quoted}{number}"
    return f"{positive};-{positive}"


def _formats(kind: str, amount: str) -> str | None:
    return {"units": "General", "fraction": FRACTION_FORMAT, "amount": amount, "balance": amount, "rate": "General",
            "period": "@", "text": "@"}.get(kind)


def _validation(spec: TableSpec, col) -> DataValidation | None:
    prompt = col.help[:250] if col.help else None
    if col.kind == "choice":
        dv = DataValidation(type="list", formula1='"' + ",".join(col.choices) + '"', allow_blank=True)
        dv.error = f"Choose one of: {', '.join(col.choices)}"
    elif col.kind == "added":
        dv = DataValidation(type="list", formula1='"start,end,evenly"', allow_blank=True, errorStyle="warning")
        dv.error = "start, end, evenly, or the stage progress (e.g. 50%) at which the element is added"
    elif col.kind == "fraction":
        dv = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", allow_blank=True)
        dv.error = "A completion between 0% and 100%"
    elif col.kind in ("units", "amount", "rate"):
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", allow_blank=True)
        dv.error = "A number, zero or more"
    elif col.kind == "balance":  # a ledger balance: a number of either sign
        dv = DataValidation(type="decimal", operator="between", formula1="-999999999999999",
                            formula2="999999999999999", allow_blank=True)
        dv.error = "A number: debit positive, credit negative"
    else:
        return None
    dv.errorTitle = col.header
    dv.showErrorMessage = True
    if prompt:
        dv.promptTitle = col.header[:32]
        dv.prompt = prompt
        dv.showInputMessage = True
    return dv


def build_template(amount: str | None = None) -> Workbook:
    """A fresh close workbook: Instructions, then the input sheets with empty tables."""
    amount = amount or amount_format(2)
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Instructions"
    _instructions(ws)
    for spec in TABLES:
        sheet = wb[spec.sheet] if spec.sheet in wb.sheetnames else wb.create_sheet(spec.sheet)
        if sheet.max_row <= 1 and sheet["A1"].value is None:
            sheet["A1"] = spec.sheet
            sheet["A1"].font = _TITLE
            sheet.freeze_panes = "A4"
        _add_table(sheet, spec, amount)
    settings = wb["Settings"]
    _write_rows(settings, "Settings", [{"setting": label, "value": None, "notes": help_}
                                       for label, _, _, _, _, help_ in SETTINGS], amount)
    _settings_validation(settings)
    wb.properties.creator = "wip (costing.workbook)"
    wb.properties.title = "WIP month-end close workbook"
    return wb


def _instructions(ws) -> None:
    ws["A1"] = "WIP month-end close workbook"
    ws["A1"].font = _TITLE
    ws.column_dimensions["A"].width = 26
    ws.column_dimensions["B"].width = 110
    lines: list[tuple[str, str]] = [
        ("How to close", "Fill in the yellow tables, then run:  wip close BOOK.xlsx --period YYYY-MM"),
        ("", "The close is recorded in BOOK.wip.db beside the workbook; result sheets (Cost Report, Roll-forward, "
             "Journal, Finished Goods & COGS, Overhead, Checks, Summary) are written into this workbook and "
             "replaced at every close. Input tables are never changed by the close."),
        ("", "Tables are read by table name and column header, so you may add rows, sort and reorder columns. "
             "Keep the table names and headers; extra columns of your own are ignored."),
        ("", "Numbers: type numbers, not text. Numbers typed as text are read in the workbook's Locale "
             "(1.234,56 in de_DE) or refused - never guessed. A formula must have been calculated "
             "(save the file in Excel or LibreOffice)."),
        ("", "Result sheets hold live formulas over these tables: recalculate (F9) to see every figure "
             "traced to its inputs; the Checks sheet shows OK or the difference."),
        ("", ""),
    ]
    for spec in TABLES:
        lines.append((f"{spec.sheet}: {spec.name}", spec.purpose + (" (first month only; later months take "
                                                                    "opening WIP and finished goods from the "
                                                                    "ledger)" if spec.first_period_only else "")))
    lines.append(("", ""))
    for title, table in (("Method", METHODS), ("Rounding", ROUNDINGS), ("Overhead disposition", DISPOSITIONS),
                         ("Element kind", ELEMENT_KINDS), ("Added", ADDITION_POINTS), ("Overhead driver", DRIVER_HELP),
                         ("Normal spoilage from rate", NORMAL_FROM_RATE)):
        for k, (word, meaning) in enumerate(table.items()):
            lines.append((title if k == 0 else "", f"{word}: {meaning}"))
    for r, (a, b) in enumerate(lines, start=3):
        ws.cell(r, 1, a or None).font = Font(bold=True)
        ws.cell(r, 2, b or None).alignment = Alignment(wrap_text=True, vertical="top")


def _add_table(ws, spec: TableSpec, amount: str) -> None:
    col0_letter, row0 = coordinate_from_string(spec.origin)
    col0 = column_index_from_string(col0_letter)
    ws.cell(2, col0, spec.purpose).font = _NOTE
    for k, col in enumerate(spec.columns):
        cell = ws.cell(row0, col0 + k, col.header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        ws.column_dimensions[get_column_letter(col0 + k)].width = col.width
        dv = _validation(spec, col)
        if dv is not None:
            ws.add_data_validation(dv)
            letter = get_column_letter(col0 + k)
            dv.add(f"{letter}{row0 + 1}:{letter}{MAX_ROW}")
    last = get_column_letter(col0 + len(spec.columns) - 1)
    table = Table(displayName=spec.name, ref=f"{spec.origin}:{last}{row0 + 1}")
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    ws.add_table(table)
    _style_row(ws, spec, row0 + 1, amount)


def _style_row(ws, spec: TableSpec, row: int, amount: str) -> None:
    col0 = column_index_from_string(coordinate_from_string(spec.origin)[0])
    for k, col in enumerate(spec.columns):
        cell = ws.cell(row, col0 + k)
        fmt = _formats(col.kind, amount)
        if fmt:
            cell.number_format = fmt


def _settings_validation(ws) -> None:
    """Drop-downs on the Settings rows whose values are choices."""
    table = ws.tables["Settings"]
    min_col, min_row, _, max_row = range_boundaries(table.ref)
    for r in range(min_row + 1, max_row + 1):
        label = normalise_header(ws.cell(r, min_col).value)
        for text, key, kind, choices, _, help_ in SETTINGS:
            if normalise_header(text) == label:
                value = ws.cell(r, min_col + 1)
                value.fill = _INPUT_FILL
                if kind == "choice":
                    dv = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True)
                    dv.error = f"Choose one of: {', '.join(choices)}"
                    dv.showErrorMessage = True
                    ws.add_data_validation(dv)
                    dv.add(value.coordinate)
                elif kind == "amount":
                    value.number_format = "#,##0.00"
                else:
                    value.number_format = "@"


def _write_rows(ws, name: str, rows: list[Mapping[str, Any]], amount: str) -> None:
    from ._schema import TABLE_BY_NAME

    spec = TABLE_BY_NAME[name]
    table = ws.tables[name]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    headers = {normalise_header(ws.cell(min_row, c).value): c for c in range(min_col, max_col + 1)}
    column_of = {col.key: headers.get(normalise_header(col.header)) for col in spec.columns}
    # Clear what the table held, then write the rows from its first data row.
    for r in range(min_row + 1, max_row + 1):
        for c in range(min_col, max_col + 1):
            ws.cell(r, c).value = None
    for k, values in enumerate(rows):
        r = min_row + 1 + k
        for key, value in values.items():
            c = column_of.get(key)
            if c is None:
                raise KeyError(f"table {name} has no column for {key!r}")
            if isinstance(value, float):
                value = Decimal(str(value))
            ws.cell(r, c).value = value
    new_max = min_row + max(1, len(rows))
    if len(rows) > max_row - min_row:  # grown: format the new rows like the first
        for r in range(max_row + 1, new_max + 1):
            for c in range(min_col, max_col + 1):
                ws.cell(r, c).number_format = ws.cell(min_row + 1, c).number_format
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{new_max}"
    if table.autoFilter is not None:
        table.autoFilter.ref = table.ref


def fill_tables(wb: Workbook, tables: Mapping[str, list[Mapping[str, Any]]], amount: str | None = None) -> None:
    """Replace the rows of the named tables (found by name, columns by header)."""
    where = {name: ws for ws in wb.worksheets for name in ws.tables}
    for name, rows in tables.items():
        if name == "Settings":
            _fill_settings(where[name], rows)
            continue
        _write_rows(where[name], name, rows, amount or amount_format(2))


def _fill_settings(ws, rows: list[Mapping[str, Any]]) -> None:
    table = ws.tables["Settings"]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    headers = {normalise_header(ws.cell(min_row, c).value): c for c in range(min_col, max_col + 1)}
    label_col, value_col = headers["setting"], headers["value"]
    by_label = {normalise_header(ws.cell(r, label_col).value): r for r in range(min_row + 1, max_row + 1)}
    for row in rows:
        r = by_label.get(normalise_header(row["setting"]))
        if r is None:
            raise KeyError(f"the Settings table has no row {row['setting']!r}")
        value = row["value"]
        ws.cell(r, value_col).value = Decimal(str(value)) if isinstance(value, float) else value


def tables_from_close_data(data: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A close file's data as rows of the workbook's tables (the inverse of the reader)."""
    labels = {key: label for label, key, *_ in SETTINGS}
    tables: dict[str, list[dict[str, Any]]] = {name: [] for name in (t.name for t in TABLES)}
    tables["Settings"] = [{"setting": labels[k], "value": _plain(data[k])} for k in labels if k in data]
    for role, entry in data.get("accounts", {}).items():
        if role == "wip":
            for stage, account in entry.items():
                tables["Accounts"].append({"role": "wip", "stage": stage, "code": str(account["code"]),
                                           "name": account["name"]})
        elif entry is not None:
            tables["Accounts"].append({"role": role, "code": str(entry["code"]), "name": entry["name"]})
    order: list[str] = []
    for product in data.get("products", []):
        for stage in product["stages"]:
            if stage["name"] not in order:
                order.append(stage["name"])
    tables["Stages"] = [{"order": k + 1, "stage": s} for k, s in enumerate(order)]
    # Elements: the most common set of a stage for every product (blank product), others per product.
    for stage_name in order:
        sets = [(p["name"], _elements_key(s["elements"])) for p in data["products"] for s in p["stages"]
                if s["name"] == stage_name]
        common = Counter(key for _, key in sets).most_common(1)[0][0]
        for element, kind, added in common:
            tables["Elements"].append({"stage": stage_name, "element": element, "kind": kind, "added": added})
        for product, key in sets:
            if key != common:
                for element, kind, added in key:
                    tables["Elements"].append({"product": product, "stage": stage_name, "element": element,
                                               "kind": kind, "added": added})
    for stage, oh in data.get("overhead", {}).items():
        tables["OverheadRates"].append({"stage": stage, "driver": oh["driver"], "rate": _plain(oh["rate"]),
                                        "actual": _plain(oh["actual"])})
    for product in data.get("products", []):
        name = product["name"]
        for stage in product["stages"]:
            row: dict[str, Any] = {"product": name, "stage": stage["name"], "completed": _plain(stage["completed"])}
            if "started" in stage:
                row["started"] = _plain(stage["started"])
            if "transferred_in" in stage:
                row["transferred_in"] = _plain(stage["transferred_in"]["units"])
            ending = stage.get("ending_wip")
            if ending:
                row["ending_units"] = _plain(ending["units"])
                if "complete" in ending:
                    row["ending_complete"] = _fraction(ending["complete"])
            for key, value in (stage.get("spoilage") or {}).items():
                row[key] = _fraction(value) if key in ("normal_rate", "inspection") else _plain(value)
            tables["Production"].append(row)
            for element, amount in stage.get("added_costs", {}).items():
                tables["Costs"].append({"product": name, "stage": stage["name"], "element": element,
                                        "amount": _plain(amount)})
            if stage.get("driver_quantity") is not None:
                tables["Drivers"].append({"product": name, "stage": stage["name"],
                                          "quantity": _plain(stage["driver_quantity"])})
            if stage.get("count") is not None:
                tables["Counts"].append({"product": name, "stage": stage["name"], "units": _plain(stage["count"])})
            beginning = stage.get("beginning_wip")
            if beginning:
                opening = {"product": name, "stage": stage["name"], "units": _plain(beginning["units"])}
                if "complete" in beginning:
                    opening["complete"] = _fraction(beginning["complete"])
                tables["OpeningWIP"].append(opening)
                for element, cost in beginning.get("cost", {}).items():
                    tables["OpeningWIPCost"].append({"product": name, "stage": stage["name"], "element": element,
                                                     "cost": _plain(cost)})
        if "shipments" in product:
            tables["Shipments"].append({"product": name, "units": _plain(product["shipments"])})
        for layer in product.get("opening_finished_goods") or []:
            tables["OpeningFG"].append({"product": name, "period": layer.get("period"), "units": _plain(layer["units"]),
                                        "cost": _plain(layer["cost"])})
    for code, balance in ((data.get("general_ledger") or {}).get("balances") or {}).items():
        tables["GeneralLedger"].append({"code": str(code), "balance": _plain(balance)})
    return tables


def _elements_key(elements: Mapping[str, Any]) -> tuple:
    return tuple((name, e["kind"], _added(e["added"])) for name, e in elements.items())


def _added(value: Any) -> Any:
    return value if isinstance(value, str) and value in ("start", "end", "evenly") else _fraction(value)


def _plain(value: Any) -> Any:
    """Numbers as Decimal (floats via str, once); text as is."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except Exception:
            return value
    return value


def _fraction(value: Any) -> Any:
    if isinstance(value, dict):
        raise ValueError("the close workbook takes one stage progress per WIP group; per-element completion "
                         "maps are not supported")
    if isinstance(value, str) and value.strip().endswith("%"):
        return Decimal(value.strip()[:-1]).scaleb(-2)
    return _plain(value)


def template_workbook() -> Workbook:
    """The checked-in template if it is there, else one built now (the same content)."""
    if TEMPLATE_PATH.exists():
        return openpyxl.load_workbook(TEMPLATE_PATH)
    return build_template()


def save_reproducibly(wb: Workbook, path: str | Path) -> None:
    """Save with fixed document times and zip entry dates, so the same content gives the same bytes."""
    wb.properties.created = _FIXED_TIME
    wb.properties.modified = _FIXED_TIME
    wb.properties.lastModifiedBy = None
    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "docProps/core.xml":
                data = _fixed_core(data)
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, data)
    Path(path).write_bytes(out.getvalue())


def _fixed_core(xml: bytes) -> bytes:
    import re

    stamp = _FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    return re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)", rb"\g<1>" + stamp + rb"\g<2>", xml)


def input_formats(wb: Workbook, currency: str, locale: str) -> None:
    """Amount columns of the input tables in the workbook's currency format (see ``_formats``)."""
    from ._formats import money_format
    from ._schema import TABLE_BY_NAME

    fmt = money_format(currency, locale)
    for ws in wb.worksheets:
        for table in ws.tables.values():
            spec = TABLE_BY_NAME.get(table.displayName)
            if spec is None:
                continue
            min_col, min_row, max_col, max_row = range_boundaries(table.ref)
            headers = {normalise_header(ws.cell(min_row, c).value): c for c in range(min_col, max_col + 1)}
            for col in spec.columns:
                c = headers.get(normalise_header(col.header))
                if c is not None and col.kind in ("amount", "balance"):
                    for r in range(min_row + 1, max_row + 1):
                        ws.cell(r, c).number_format = fmt
