"""``TableSource`` over an .xlsx/.xlsm file, with openpyxl.

The file is read twice: once for what the cells hold (formulas), once for the values the
spreadsheet last calculated (``data_only=True``).  A formula cell gives its cached value; the
reader reports one without a cached value instead of taking it as zero.

The formula workbook is also the one the result writer saves, so it is loaded as the writer needs
it: a macro workbook (.xlsm) with its VBA project kept (``keep_vba``), and whatever openpyxl says it
cannot keep (sparklines, slicers, x14 validations…) recorded as ``Loss`` values rather than hidden.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from xml.etree import ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula
from openpyxl.xml.constants import EXT_TYPES, SHEET_MAIN_NS

from ._source import Cell, ExcelError, TableData

__all__ = ["OpenpyxlSource", "load_workbook_pair", "Loss", "is_macro_workbook", "sheet_parts"]


@dataclass(frozen=True)
class Loss:
    """Something in the workbook that openpyxl reads past and would not write back."""

    sheet: str | None  # None: not tied to one sheet (or openpyxl did not say which)
    what: str  # "sparklines (Sparkline Group extension)"


def is_macro_workbook(path: str | Path) -> bool:
    return str(path).lower().endswith((".xlsm", ".xltm"))


def load_workbook_pair(path: str | Path) -> tuple[Workbook, "_LazyValues", list[Loss]]:
    """The workbook as written (formulas), its cached values (loaded only if a table cell needs
    them), and what saving it through openpyxl would lose."""
    with warnings.catch_warnings(record=True) as caught:
        # openpyxl warns about what it drops while reading; the writer saves this very workbook,
        # so those warnings are data loss to report, not noise.
        warnings.simplefilter("always")
        formulas = openpyxl.load_workbook(path, data_only=False, keep_vba=is_macro_workbook(path))
    return formulas, _LazyValues(path), _losses(path, [str(w.message) for w in caught])


# What the sheets' extensions (<extLst><ext uri=…>) are, in the accountant's words.
_EXTENSION_WORDS = {
    "Conditional Formatting": "conditional formatting of Excel 2010 and later",
    "Data Validation": "data validation of Excel 2010 and later (e.g. lists from another sheet)",
    "Sparkline Group": "sparklines",
    "Slicer List": "slicers",
    "Protected Range": "protected ranges",
    "Ignored Error": "ignored-error markers",
    "Web Extension": "web add-in parts",
    "Timeline Ref": "timelines",
}
_EXTENSION_WARNING = re.compile(r"^(.+) extension is not supported and will be removed$")
_LOSS_WARNING = re.compile(r"will be (removed|lost|discarded|ignored)|cannot be (read|located|set)", re.I)


def _losses(path: str | Path, messages: list[str]) -> list[Loss]:
    """openpyxl's warnings about content it drops, each put on the sheet that holds it when the
    warning does not say (an extension's kind is found in the sheets' own XML)."""
    kinds = [m.group(1) for m in map(_EXTENSION_WARNING.match, messages) if m]
    others = [text for text in messages if not _EXTENSION_WARNING.match(text) and _LOSS_WARNING.search(text)]
    losses: list[Loss] = []
    if kinds:
        by_sheet = _sheet_extensions(path)
        for kind in dict.fromkeys(kinds):
            what = f"{_EXTENSION_WORDS.get(kind, 'content openpyxl does not know')} ({kind} extension)"
            sheets = [sheet for sheet, found in by_sheet.items() if kind in found] or [None]
            losses.extend(Loss(sheet, what) for sheet in sheets)
    losses.extend(Loss(None, text) for text in dict.fromkeys(others))
    return losses


def _sheet_extensions(path: str | Path) -> dict[str, set[str]]:
    """The extension kinds (openpyxl's names, "Unknown" for the rest) in each worksheet's own
    ``<extLst>`` — the list openpyxl warns about; extensions nested in other elements are not it."""
    known = {uri.upper(): kind for uri, kind in EXT_TYPES.items()}
    out: dict[str, set[str]] = {}
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        for sheet, part in sheet_parts(archive).items():
            if part not in names:
                continue
            root = ElementTree.fromstring(archive.read(part))
            ext_list = root.find(f"{{{SHEET_MAIN_NS}}}extLst")
            if ext_list is not None:
                out[sheet] = {known.get(ext.get("uri", "").upper(), "Unknown")
                              for ext in ext_list.findall(f"{{{SHEET_MAIN_NS}}}ext")}
    return out


def sheet_parts(archive: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its part in the package (``xl/worksheets/sheet3.xml``)."""
    workbook = archive.read("xl/workbook.xml").decode("utf-8")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8")
    targets = {}
    for rel in re.finditer(r"<Relationship\b([^>]*)/>", rels):
        attrs = dict(re.findall(r'(\w+)="([^"]*)"', rel.group(1)))
        targets[attrs.get("Id")] = attrs.get("Target", "")
    paths = {}
    for sheet in re.finditer(r"<sheet\b([^>]*)/>", workbook):
        attrs = dict(re.findall(r'([\w:]+)="([^"]*)"', sheet.group(1)))
        name = _unescape(attrs.get("name", ""))
        target = targets.get(attrs.get("r:id"), "").lstrip("/")
        paths[name] = target if target.startswith("xl/") else "xl/" + target
    return paths


def _unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace(
        "&amp;", "&")


class _LazyValues:
    """Cached values of formula cells, read (once, read-only and streaming) when first asked for."""

    def __init__(self, path: str | Path):
        self.path = path
        self._sheets: dict[str, dict[str, Any]] = {}
        self._wb = None

    def value(self, sheet: str, coordinate: str) -> Any:
        """The cell's cached value: None if it has none; "" for a formula whose text result is empty."""
        if sheet not in self._sheets:
            self._sheets[sheet] = self._read(sheet)
        return self._sheets[sheet].get(coordinate)

    def _read(self, sheet: str) -> dict[str, Any]:
        if self._wb is None:
            with warnings.catch_warnings():  # what openpyxl drops is reported by load_workbook_pair
                warnings.simplefilter("ignore")
                self._wb = openpyxl.load_workbook(self.path, data_only=True, read_only=True)
        cells = {}
        for row in self._wb[sheet].iter_rows():
            for cell in row:
                if not hasattr(cell, "coordinate"):
                    continue
                if cell.value is not None:
                    cells[cell.coordinate] = _value(cell)
                elif cell.data_type == "str":
                    # t="str" is a formula's text result: with an empty <v> the program calculated
                    # "" (=IF(x,"",y)), a blank — not a formula it never calculated (no t, no value).
                    cells[cell.coordinate] = ""
        return cells


class OpenpyxlSource:
    """Tables (ListObjects) of an openpyxl workbook, by name."""

    def __init__(self, formulas: Workbook, values: "Workbook | _LazyValues | None" = None, description: str = "",
                 losses: Sequence[Loss] = ()):
        self.formulas = formulas
        self.values = values
        self.description = description
        self.losses = list(losses)  # what saving ``formulas`` would drop
        self._where: dict[str, tuple[str, Any]] = {}
        for ws in formulas.worksheets:
            for table in ws.tables.values():
                self._where[table.displayName] = (ws.title, table)

    @classmethod
    def open(cls, path: str | Path) -> "OpenpyxlSource":
        formulas, values, losses = load_workbook_pair(path)
        return cls(formulas, values, str(path), losses)

    def table_names(self) -> Sequence[str]:
        return list(self._where)

    def cached(self, sheet: str, coordinate: str) -> Any:
        """A formula cell's last calculated value (None: never calculated)."""
        if self.values is None:
            return None
        if isinstance(self.values, _LazyValues):
            return self.values.value(sheet, coordinate)
        return _value(self.values[sheet][coordinate])

    def table(self, name: str) -> TableData | None:
        found = self._where.get(name)
        if found is None:  # Excel table names are case-insensitive
            for other, where in self._where.items():
                if other.lower() == name.lower():
                    found = where
                    break
        if found is None:
            return None
        sheet, table = found
        ws = self.formulas[sheet]
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        header_rows = table.headerRowCount if table.headerRowCount is not None else 1
        totals = table.totalsRowCount or 0
        rows: list[tuple[Cell, ...]] = []
        for row in ws.iter_rows(min_row=min_row, max_row=max_row - totals, min_col=min_col, max_col=max_col):
            cells = []
            for c in row:
                v = c.value
                coord = c.coordinate
                if isinstance(v, ArrayFormula):
                    cells.append(Cell(sheet, coord, self.cached(sheet, coord), "=" + (v.text or "").lstrip("=")))
                elif isinstance(v, str) and c.data_type == "f":
                    cells.append(Cell(sheet, coord, self.cached(sheet, coord), v))
                else:
                    cells.append(Cell(sheet, coord, _value(c)))
            rows.append(tuple(cells))
        header = rows[0] if header_rows else tuple(Cell(sheet, c.coordinate, None) for c in rows[0])
        data = rows[header_rows:]
        merged = []
        for rng in ws.merged_cells.ranges:
            a, b, c, d = rng.bounds
            if a <= max_col and c >= min_col and b <= max_row and d >= min_row:
                merged.append(rng.coord)
        return TableData(name, sheet, table.ref, tuple(header), tuple(data), tuple(merged),
                         _typed_below(ws, table, (min_col, min_row, max_col, max_row)), bool(header_rows))

    def sheet_cells(self, sheet: str) -> tuple[str, dict[tuple[int, int], Any], dict[str, str]] | None:
        """The sheet named ``sheet`` (Excel's sheet names ignore case) as it holds data outside any
        table: (its name, what its cells hold by (row, column) — a formula's text, not its result —,
        each of its tables' range by table name); None when the workbook has no such sheet.  For
        the reader to tell an optional table that is absent from one whose data is still on the
        sheet, no longer a table (converted to a range, renamed)."""
        ws = next((w for w in self.formulas.worksheets if w.title.casefold() == sheet.casefold()), None)
        if ws is None:
            return None
        cells = {}
        for key, cell in ws._cells.items():  # the cells the sheet has, none created by looking
            if _holds_something(cell):
                v = cell.value
                cells[key] = "=" + (v.text or "").lstrip("=") if isinstance(v, ArrayFormula) else _value(cell)
        return ws.title, cells, {t.displayName: t.ref for t in ws.tables.values()}


def _typed_below(ws, table, bounds: tuple[int, int, int, int]) -> tuple[Cell, ...]:
    """The first row under the table (in its columns, within the sheet's used range, before the next
    table below it) holding anything: data the table does not cover, blank rows between or not."""
    min_col, _, max_col, max_row = bounds
    last = ws.max_row
    for other in ws.tables.values():
        a, b, c, _ = range_boundaries(other.ref)
        if other is not table and b > max_row and a <= max_col and c >= min_col:
            last = min(last, b - 1)  # rows from there on belong to that table
    # Cells are looked up, never made with ws.cell(): reading must not add cells to the sheet.  The
    # rows under the table are usually few; a sheet formatted far down has more rows than cells.
    cells = ws._cells
    if (last - max_row) * (max_col - min_col + 1) <= len(cells):
        rows = (r for r in range(max_row + 1, last + 1)
                if any(_holds_something(cells.get((r, c))) for c in range(min_col, max_col + 1)))
        first = next(rows, None)
    else:
        first = min((r for (r, c), cell in cells.items()
                     if max_row < r <= last and min_col <= c <= max_col and _holds_something(cell)), default=None)
    if first is None:
        return ()
    return tuple(_below_cell(ws.title, first, c, cells.get((first, c))) for c in range(min_col, max_col + 1))


def _value(cell: Any) -> Any:
    """A cell's value, an error value (``t="e"``: ``#N/A``, ``#PYTHON!``) marked as one."""
    v = cell.value
    return ExcelError(v) if isinstance(v, str) and cell.data_type == "e" else v


def _holds_something(cell: Any) -> bool:
    return cell is not None and cell.value is not None and not (isinstance(cell.value, str) and not cell.value.strip())


def _below_cell(sheet: str, row: int, col: int, c: Any) -> Cell:
    value = None if c is None else _value(c)
    if isinstance(value, ArrayFormula):
        value = "=" + (value.text or "").lstrip("=")
    formula = value if c is not None and c.data_type == "f" else None
    return Cell(sheet, f"{get_column_letter(col)}{row}", value, formula)
