"""``TableSource`` over an .xlsx file, with openpyxl.

The file is read twice: once for what the cells hold (formulas), once for the values the
spreadsheet last calculated (``data_only=True``).  A formula cell gives its cached value; the
reader reports one without a cached value instead of taking it as zero.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import openpyxl
from openpyxl.utils.cell import range_boundaries
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.formula import ArrayFormula

from ._source import Cell, TableData

__all__ = ["OpenpyxlSource", "load_workbook_pair"]


def load_workbook_pair(path: str | Path) -> tuple[Workbook, "_LazyValues"]:
    """The workbook as written (formulas), and its cached values, loaded only if a table cell needs them."""
    with warnings.catch_warnings():  # openpyxl warns about extensions it drops on read; we only read
        warnings.simplefilter("ignore")
        formulas = openpyxl.load_workbook(path, data_only=False)
    return formulas, _LazyValues(path)


class _LazyValues:
    """Cached values of formula cells, read (once, read-only and streaming) when first asked for."""

    def __init__(self, path: str | Path):
        self.path = path
        self._sheets: dict[str, dict[str, Any]] = {}
        self._wb = None

    def value(self, sheet: str, coordinate: str) -> Any:
        if sheet not in self._sheets:
            if self._wb is None:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    self._wb = openpyxl.load_workbook(self.path, data_only=True, read_only=True)
            cells = {}
            for row in self._wb[sheet].iter_rows():
                for cell in row:
                    if cell.value is not None and hasattr(cell, "coordinate"):
                        cells[cell.coordinate] = cell.value
            self._sheets[sheet] = cells
        return self._sheets[sheet].get(coordinate)


class OpenpyxlSource:
    """Tables (ListObjects) of an openpyxl workbook, by name."""

    def __init__(self, formulas: Workbook, values: "Workbook | _LazyValues | None" = None, description: str = ""):
        self.formulas = formulas
        self.values = values
        self.description = description
        self._where: dict[str, tuple[str, Any]] = {}
        for ws in formulas.worksheets:
            for table in ws.tables.values():
                self._where[table.displayName] = (ws.title, table)

    @classmethod
    def open(cls, path: str | Path) -> "OpenpyxlSource":
        formulas, values = load_workbook_pair(path)
        return cls(formulas, values, str(path))

    def table_names(self) -> Sequence[str]:
        return list(self._where)

    def _cached(self, sheet: str, coordinate: str) -> Any:
        if self.values is None:
            return None
        if isinstance(self.values, _LazyValues):
            return self.values.value(sheet, coordinate)
        return self.values[sheet][coordinate].value

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
                    cells.append(Cell(sheet, coord, self._cached(sheet, coord), "=" + (v.text or "").lstrip("=")))
                elif isinstance(v, str) and c.data_type == "f":
                    cells.append(Cell(sheet, coord, self._cached(sheet, coord), v))
                else:
                    cells.append(Cell(sheet, coord, v))
            rows.append(tuple(cells))
        header = rows[0] if header_rows else tuple(Cell(sheet, c.coordinate, None) for c in rows[0])
        data = rows[header_rows:]
        merged = []
        for rng in ws.merged_cells.ranges:
            a, b, c, d = rng.bounds
            if a <= max_col and c >= min_col and b <= max_row and d >= min_row:
                merged.append(rng.coord)
        below = tuple(Cell(sheet, c.coordinate, c.value, c.value if c.data_type == "f" else None)
                      for row in ws.iter_rows(min_row=max_row + 1, max_row=max_row + 1, min_col=min_col,
                                              max_col=max_col) for c in row) if max_row < ws.max_row else ()
        return TableData(name, sheet, table.ref, tuple(header), tuple(data), tuple(merged), below)
