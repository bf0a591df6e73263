"""The close workbook open in Excel, through xlwings: the same reader interface as the openpyxl
path (``costing.workbook.TableSource``) and a writer for the result sheets.

Only a small part of xlwings' API is used (listed in ``tests/fake_xlwings.py``, which implements
it in memory for the tests): ``book.fullname``, ``book.sheets`` (iterate, index by name, ``add``),
``sheet.tables`` (``name``, ``range``, ``show_totals``), ``Range.options(ndim=2).value``,
``Range.formula``, ``Range.row/column/shape``, ``Range.merge_cells``, ``Range.resize``,
``Range.number_format``, ``sheet.delete()`` and ``book.api.SaveCopyAs(path)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from openpyxl.utils.cell import get_column_letter

from costing.workbook import Cell, TableData

__all__ = ["XlwingsSource", "copy_result_sheets"]


def _grid(value: Any, rows: int, cols: int) -> list[list[Any]]:
    """xlwings returns a scalar, a row or a 2-D list depending on the range's shape: make it 2-D."""
    if rows == 1 and cols == 1:
        return [[value[0][0] if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple))
                 else value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)] if rows == 1 else [[v] for v in value]
    return [list(r) for r in value]


class XlwingsSource:
    """Tables (ListObjects) of a live workbook, by name — a ``TableSource``."""

    def __init__(self, book: Any):
        self.book = book
        self._tables: dict[str, tuple[Any, Any]] = {}
        for sheet in book.sheets:
            for table in sheet.tables:
                self._tables[table.name.lower()] = (sheet, table)

    def table_names(self) -> Sequence[str]:
        return [t.name for _, t in self._tables.values()]

    def table(self, name: str) -> TableData | None:
        found = self._tables.get(name.lower())
        if found is None:
            return None
        sheet, table = found
        rng = table.range
        rows, cols = rng.shape
        # err_to_str: an error cell comes as its text ("#N/A"), which the reader refuses as
        # FORMULA_ERROR; by default xlwings gives None, which would read as blank.
        values = _grid(rng.options(ndim=2, err_to_str=True).value, rows, cols)
        formulas = _grid(rng.formula, rows, cols)
        top, left = rng.row, rng.column

        def cell(r: int, c: int) -> Cell:
            formula = formulas[r][c]
            text = formula if isinstance(formula, str) and formula.startswith("=") else None
            value = values[r][c]
            if text is not None and value is None:
                value = ""  # a live Excel has calculated every formula: None is an empty-text result
            # Excel holds every number as a double; xlwings hands 225 over as 225.0.  openpyxl reads
            # the same cell as 225, so whole numbers are made ints here and both paths read alike.
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return Cell(sheet.name, f"{get_column_letter(left + c)}{top + r}", value, text)

        last = rows - 1 if getattr(table, "show_totals", False) else rows
        header = tuple(cell(0, c) for c in range(cols))
        body = tuple(tuple(cell(r, c) for c in range(cols)) for r in range(1, last))
        ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + cols - 1)}{top + rows - 1}"
        merged = (ref,) if rng.merge_cells else ()  # xlwings tells whether, not where
        return TableData(table.name, sheet.name, ref, header, body, merged)


def copy_result_sheets(book: Any, written: str | Path, names: Sequence[str]) -> list[str]:
    """Put the result sheets of ``written`` (an .xlsx the openpyxl writer produced from a copy of
    the book) into the live book: each replaced whole, formulas written in one call per sheet,
    number formats by column run.  Charts stay in the file copy only (xlwings has no chart copy)."""
    import openpyxl

    wb = openpyxl.load_workbook(written)
    existing = {s.name: s for s in book.sheets}
    copied = []
    for name in names:
        if name not in wb.sheetnames:
            continue
        if name in existing:
            existing[name].delete()
        ws = wb[name]
        target = book.sheets.add(name, after=list(book.sheets)[-1])
        rows, cols = ws.max_row, ws.max_column
        matrix = [["" if c.value is None else c.value for c in row] for row in ws.iter_rows(1, rows, 1, cols)]
        target.range((1, 1)).resize(rows, cols).formula = matrix
        for c in range(1, cols + 1):  # number formats, one call per run of equal formats in a column
            start, current = 1, ws.cell(1, c).number_format
            for r in range(2, rows + 2):
                fmt = ws.cell(r, c).number_format if r <= rows else None
                if fmt != current:
                    if current and current != "General":
                        target.range((start, c), (r - 1, c)).number_format = current
                    start, current = r, fmt
        copied.append(name)
    return copied
