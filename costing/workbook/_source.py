"""Where the close workbook's tables come from: one small interface, several implementations.

The reader only ever asks a ``TableSource`` for a table by name and gets its header and rows as
``Cell`` values (with their references, so every problem can be located to a cell).  Behind it:
``OpenpyxlSource`` reads an .xlsx file; ``FakeSource`` is built from Python lists for tests; an
xlwings-backed source (a live Excel workbook) can plug in the same way.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Protocol, Sequence, runtime_checkable

from openpyxl.utils.cell import get_column_letter, range_boundaries

__all__ = ["Cell", "ExcelError", "Formula", "TableData", "TableSource", "FakeSource", "sheet_ref", "quote_sheet"]


class ExcelError(str):
    """A cell's value stored as an error (``<c t="e">``: ``#N/A``, ``#PYTHON!``, one Excel adds next
    year): its text, marked as what it is.  The reader refuses it as ``FORMULA_ERROR`` by its type,
    not by a list of the errors known today, and the writer puts it back as an error.

    >>> ExcelError("#PYTHON!") == "#PYTHON!", isinstance(ExcelError("#N/A"), ExcelError)
    (True, True)
    """

    __slots__ = ()


@lru_cache(maxsize=256)
def quote_sheet(sheet: str) -> str:
    """A sheet name as a formula needs it.

    >>> quote_sheet("Production"), quote_sheet("Stages & elements"), quote_sheet("Roll-forward")
    ('Production', "'Stages & elements'", "'Roll-forward'")
    """
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", sheet) and not re.fullmatch(r"[A-Za-z]{1,3}\d+", sheet):
        return sheet
    return "'" + sheet.replace("'", "''") + "'"


def sheet_ref(sheet: str, coordinate: str) -> str:
    """How a cell is named in messages: ``Production!F12`` (as Excel's Go To accepts it)."""
    return f"{quote_sheet(sheet)}!{coordinate}"


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell of a table: where it is, what it holds, and the formula if it holds one."""

    sheet: str
    coordinate: str  # "F12"
    value: Any  # the stored value; for a formula cell its cached result (None if never calculated)
    formula: str | None = None  # "=D12*E12" when the cell holds a formula

    @property
    def ref(self) -> str:
        return sheet_ref(self.sheet, self.coordinate)

    @property
    def is_blank(self) -> bool:
        """Nothing typed, or a formula whose calculated result is empty text (``=IF(A4="","",…)``).
        A formula never calculated (value None) is not blank: it is an unknown value."""
        if isinstance(self.value, str):
            return not self.value.strip()
        return self.value is None and self.formula is None

    @property
    def not_calculated(self) -> bool:
        """A formula with no cached result: the file was saved by a program that does not calculate."""
        return self.formula is not None and self.value is None


@dataclass(frozen=True)
class TableData:
    """A table (Excel ListObject) as read: header cells, data rows (totals row excluded)."""

    name: str
    sheet: str
    ref: str  # "A3:M20", header row included
    header: tuple[Cell, ...]
    rows: tuple[tuple[Cell, ...], ...]
    merged: tuple[str, ...] = ()  # merged ranges overlapping the table ("B5:C5")
    # The first row under the table with something in the table's columns (blank rows between or
    # not, before any table further down): typed data the table does not cover.
    below: tuple[Cell, ...] = ()
    header_row: bool = True  # False: the table's header row is turned off (``header`` is all blank)

    @property
    def location(self) -> str:
        return sheet_ref(self.sheet, self.ref)


@runtime_checkable
class TableSource(Protocol):
    """Tables of a close workbook by name; ``None`` when the workbook has no such table.

    A source may also offer ``sheet_cells(sheet)`` (``OpenpyxlSource.sheet_cells``): a sheet's
    cells, so that an optional table converted to a range or renamed, its data still on the sheet,
    is refused rather than read as empty.  One without it (a fake, a live Excel) is not asked."""

    def table(self, name: str) -> TableData | None: ...

    def table_names(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class Formula:
    """For fakes: a cell holding a formula, with its cached result (None: never calculated)."""

    text: str
    cached: Any = None


@dataclass
class FakeSource:
    """An in-memory workbook for tests: tables from Python lists, laid out from an origin cell.

    >>> src = FakeSource({"Shipments": ("Shipments", ["Product", "Units shipped"], [["Espresso", 270]])})
    >>> t = src.table("Shipments")
    >>> t.ref, [c.ref for c in t.rows[0]], t.rows[0][1].value
    ('A1:B2', ['Shipments!A2', 'Shipments!B2'], 270)
    """

    tables: Mapping[str, tuple[str, Sequence[Any], Sequence[Sequence[Any]]]] = field(default_factory=dict)
    origins: Mapping[str, str] = field(default_factory=dict)  # table name -> top-left cell, default A1
    merged: Mapping[str, Sequence[str]] = field(default_factory=dict)

    def table_names(self) -> Sequence[str]:
        return list(self.tables)

    def table(self, name: str) -> TableData | None:
        if name not in self.tables:
            return None
        sheet, header, rows = self.tables[name]
        col0, row0, _, _ = range_boundaries(self.origins.get(name, "A1") + ":" + self.origins.get(name, "A1"))
        width = max([len(header)] + [len(r) for r in rows])

        def cells(r: int, values: Iterable[Any]) -> tuple[Cell, ...]:
            out = []
            values = list(values)
            values += [None] * (width - len(values))
            for c, v in enumerate(values):
                coord = f"{get_column_letter(col0 + c)}{r}"
                if isinstance(v, Formula):
                    out.append(Cell(sheet, coord, v.cached, v.text))
                else:
                    out.append(Cell(sheet, coord, v))
            return tuple(out)

        last = f"{get_column_letter(col0 + width - 1)}{row0 + len(rows)}"
        return TableData(name, sheet, f"{get_column_letter(col0)}{row0}:{last}", cells(row0, header),
                         tuple(cells(row0 + 1 + i, r) for i, r in enumerate(rows)), tuple(self.merged.get(name, ())))
