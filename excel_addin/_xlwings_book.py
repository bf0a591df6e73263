"""The close workbook open in Excel, through xlwings: the same reader interface as the openpyxl
path (``costing.workbook.TableSource``) and a writer for the result sheets.

Only a small part of xlwings' API is used (listed in ``tests/fake_xlwings.py``, which implements
it in memory for the tests): ``book.fullname``, ``book.sheets`` (iterate, index by name, ``add``),
``sheet.tables`` (``name``, ``range``, ``show_totals``), ``Range.options(ndim=2).value``,
``Range.formula``, ``Range.row/column/shape``, ``Range.merge_cells``, ``Range.resize``,
``Range.number_format``, ``sheet.delete()``, ``book.api.SaveCopyAs(path)`` and
``book.api.CustomDocumentProperties`` (``Item(name).Delete()``, ``Add``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

from openpyxl.utils.cell import get_column_letter

from costing.workbook import Cell, TableData

from ._cells import com_error_text

__all__ = ["XlwingsSource", "copy_result_sheets", "recorded_result_sheets", "remember_result_sheets",
           "ResultSheetNameTaken", "RESULT_SHEETS_PROPERTY"]


def _grid(value: Any, rows: int, cols: int) -> list[list[Any]]:
    """xlwings returns a scalar, a row or a 2-D list depending on the range's shape: make it 2-D."""
    if rows == 1 and cols == 1:
        return [[value[0][0] if isinstance(value, (list, tuple)) and value and isinstance(value[0], (list, tuple))
                 else value]]
    if value and not isinstance(value[0], (list, tuple)):
        return [list(value)] if rows == 1 else [[v] for v in value]
    return [list(r) for r in value]


class XlwingsSource:
    """Tables (ListObjects) of a live workbook, by name — a ``TableSource``.  ``TableData.below`` is
    left empty: what is typed under a table is found by the Close month button on a saved copy of the
    book, with the command's own reader (``close._SHEET_CHECKS``), so that both find the same rows."""

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
        # FORMULA_ERROR; by default xlwings gives None, which would read as blank.  On Windows
        # xlwings names only the seven classic errors: #SPILL!, #CALC!, ... stay COM error codes
        # (-2146826243), made their text here, never a number (an amount, a GL balance) or text.
        values = _grid(rng.options(ndim=2, err_to_str=True).value, rows, cols)
        formulas = _grid(rng.formula, rows, cols)
        top, left = rng.row, rng.column

        def cell(r: int, c: int) -> Cell:
            formula = formulas[r][c]
            text = formula if isinstance(formula, str) and formula.startswith("=") else None
            value = values[r][c]
            value = com_error_text(value) or value
            if text is not None and value is None:
                value = ""  # a live Excel has calculated every formula: None is an empty-text result
            # Excel holds every number as a double; xlwings hands 225 over as 225.0.  openpyxl reads
            # the same cell as 225, so whole numbers are made ints here and both paths read alike.
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            return Cell(sheet.name, f"{get_column_letter(left + c)}{top + r}", value, text)

        last = rows - 1 if getattr(table, "show_totals", False) else rows
        # Header row turned off (Table Design > Header Row): Excel's range then starts at the first
        # data row; read as the command reads it (no header cells: one problem that says so), never
        # the first data row as headers.
        headers = getattr(table, "show_headers", True) is not False
        first = 1 if headers else 0
        header = tuple(cell(0, c) for c in range(cols)) if headers else \
            tuple(Cell(sheet.name, f"{get_column_letter(left + c)}{top}", None) for c in range(cols))
        body = tuple(tuple(cell(r, c) for c in range(cols)) for r in range(first, last))
        ref = f"{get_column_letter(left)}{top}:{get_column_letter(left + cols - 1)}{top + rows - 1}"
        merged = (ref,) if rng.merge_cells else ()  # xlwings tells whether, not where
        return TableData(table.name, sheet.name, ref, header, body, merged, header_row=headers)


# The document property in which the close workbook's writer records the result sheets it wrote
# (costing.workbook's ``wip.result_sheets``): a sheet of a result sheet's name is the close's to
# replace only under a name recorded there; any other is the user's (RESULT_SHEET_NAME_TAKEN).
RESULT_SHEETS_PROPERTY = "wip.result_sheets"
_STRING_PROPERTY = 4  # msoPropertyTypeString


class ResultSheetNameTaken(Exception):
    pass


def recorded_result_sheets(saved: str | Path) -> set[str]:
    """The result sheets earlier closes wrote into a workbook, read from a copy of it saved with
    ``SaveCopyAs`` (document properties included): those recorded, or in a book that records none
    (closed by this button before it recorded them) those its titles show
    (``costing.workbook.result_sheets_of_earlier_closes``)."""
    import openpyxl

    from costing.workbook import result_sheets_of_earlier_closes

    wb = openpyxl.load_workbook(saved, read_only=True)
    try:
        props = getattr(wb, "custom_doc_props", None)
        recorded = next((str(prop.value) for prop in (props.props if props is not None else ())
                         if prop.name == RESULT_SHEETS_PROPERTY), None)
        return result_sheets_of_earlier_closes(wb, recorded)
    finally:
        wb.close()


def remember_result_sheets(book: Any, names: Sequence[str]) -> None:
    """Record in the open workbook, as the writer records in a file, the result sheets written into it
    (Excel's ``CustomDocumentProperties``; saved with the workbook)."""
    props = book.api.CustomDocumentProperties
    try:
        props.Item(RESULT_SHEETS_PROPERTY).Delete()
    except Exception:  # noqa: BLE001 - none yet (COM raises for a missing item)
        pass
    props.Add(RESULT_SHEETS_PROPERTY, False, _STRING_PROPERTY, "\n".join(names))


def copy_result_sheets(book: Any, written: str | Path, names: Sequence[str], ours: Iterable[str] = ()) -> list[str]:
    """Put the result sheets of ``written`` (an .xlsx the openpyxl writer produced from a copy of
    the book) into the live book: each replaced whole, formulas written in one call per sheet,
    number formats by column run.  Charts stay in the file copy only (xlwings has no chart copy).

    A sheet of the live book is replaced only when it is the close's own: its very name is among
    ``ours`` (``recorded_result_sheets``).  Excel's sheet names ignore case, so a sheet of the user's
    named ``summary`` takes the name ``Summary`` too: then nothing is replaced or added and
    ``ResultSheetNameTaken`` is raised (the close refuses it beforehand: RESULT_SHEET_NAME_TAKEN)."""
    import openpyxl

    wb = openpyxl.load_workbook(written)
    ours = set(ours)
    existing = {s.name.casefold(): s for s in book.sheets}
    wanted = [name for name in names if name in wb.sheetnames]
    taken = [existing[name.casefold()].name for name in wanted
             if name.casefold() in existing and existing[name.casefold()].name not in ours]
    if taken:
        raise ResultSheetNameTaken(
            "the workbook has its own sheet(s) " + ", ".join(repr(t) for t in taken) + ", named as the close's "
            "result sheets; rename them [RESULT_SHEET_NAME_TAKEN]")
    copied = []
    for name in wanted:
        if name.casefold() in existing:
            existing[name.casefold()].delete()
        ws = wb[name]
        target = book.sheets.add(name, after=list(book.sheets)[-1])
        rows, cols = ws.max_row, ws.max_column
        # Range.formula parses what it is given as if typed: text goes with Excel's text prefix ("'"),
        # or an account code "0100" would become the number 100 and "1/2" a date.
        matrix = [["" if c.value is None else "'" + c.value if isinstance(c.value, str) and c.data_type != "f"
                   else c.value for c in row] for row in ws.iter_rows(1, rows, 1, cols)]
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
