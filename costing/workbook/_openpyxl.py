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


def load_workbook_pair(path: str | Path) -> tuple[Workbook, Workbook]:
    """The workbook as written (formulas) and as last calculated (cached values)."""
    with warnings.catch_warnings():  # openpyxl warns about extensions it drops on read; we only read
        warnings.simplefilter("ignore")
        formulas = openpyxl.load_workbook(path, data_only=False)
        values = openpyxl.load_workbook(path, data_only=True)
    return formulas, values


class OpenpyxlSource:
    """Tables (ListObjects) of an openpyxl workbook, by name."""

    def __init__(self, formulas: Workbook, values: Workbook | None = None, description: str = ""):
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
        wv = self.values[sheet] if self.values is not None else None
        min_col, min_row, max_col, max_row = range_boundaries(table.ref)
        header_rows = table.headerRowCount if table.headerRowCount is not None else 1
        totals = table.totalsRowCount or 0
        rows: list[tuple[Cell, ...]] = []
        values_iter = (wv.iter_rows(min_row=min_row, max_row=max_row - totals, min_col=min_col, max_col=max_col,
                                    values_only=True) if wv is not None else None)
        for row in ws.iter_rows(min_row=min_row, max_row=max_row - totals, min_col=min_col, max_col=max_col):
            cached_row = next(values_iter) if values_iter is not None else None
            cells = []
            for k, c in enumerate(row):
                v = c.value
                coord = c.coordinate
                if isinstance(v, ArrayFormula):
                    cells.append(Cell(sheet, coord, cached_row[k] if cached_row else None, "=" + (v.text or "").lstrip("=")))
                elif isinstance(v, str) and c.data_type == "f":
                    cells.append(Cell(sheet, coord, cached_row[k] if cached_row else None, v))
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
        return TableData(name, sheet, table.ref, tuple(header), tuple(data), tuple(merged))
