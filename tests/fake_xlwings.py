"""An in-memory stand-in for the part of xlwings' Book API the add-in uses (see
excel_addin/_xlwings_book.py), backed by an openpyxl workbook — so close_month is tested on Linux."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries


class FakeRange:
    def __init__(self, sheet: "FakeSheet", r1: int, c1: int, r2: int, c2: int):
        self.sheet, self.row, self.column, self._r2, self._c2 = sheet, r1, c1, r2, c2

    @property
    def shape(self) -> tuple[int, int]:
        return self._r2 - self.row + 1, self._c2 - self.column + 1

    def options(self, ndim: int = 2, err_to_str: bool = False) -> "FakeRange":
        return self  # cached error values are already their text ("#N/A"), as with err_to_str

    def _cells(self, wb) -> list[list[Any]]:
        ws = wb[self.sheet.name]
        return [[ws.cell(r, c).value for c in range(self.column, self._c2 + 1)] for r in range(self.row, self._r2 + 1)]

    @property
    def value(self) -> list[list[Any]]:  # what Excel calculated: numbers as floats, like xlwings
        grid = self._cells(self.sheet.book.values)
        return [[float(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in row] for row in grid]

    @property
    def formula(self) -> tuple[tuple[str, ...], ...]:  # xlwings gives text for every cell
        grid = self._cells(self.sheet.book.wb)
        return tuple(tuple("" if v is None else str(v) for v in row) for row in grid)

    @formula.setter
    def formula(self, matrix: list[list[Any]]) -> None:
        self.sheet.book.writes += 1
        ws = self.sheet.book.wb[self.sheet.name]
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                ws.cell(self.row + i, self.column + j, None if v == "" else v)

    @property
    def merge_cells(self) -> bool:
        ws = self.sheet.book.wb[self.sheet.name]
        for merged in ws.merged_cells.ranges:
            if not (merged.max_row < self.row or merged.min_row > self._r2 or merged.max_col < self.column
                    or merged.min_col > self._c2):
                return True
        return False

    def resize(self, rows: int, cols: int) -> "FakeRange":
        return FakeRange(self.sheet, self.row, self.column, self.row + rows - 1, self.column + cols - 1)

    @property
    def number_format(self) -> str:
        return self.sheet.book.wb[self.sheet.name].cell(self.row, self.column).number_format

    @number_format.setter
    def number_format(self, fmt: str) -> None:
        ws = self.sheet.book.wb[self.sheet.name]
        for r in range(self.row, self._r2 + 1):
            for c in range(self.column, self._c2 + 1):
                ws.cell(r, c).number_format = fmt


class FakeTable:
    def __init__(self, sheet: "FakeSheet", table):
        self.name = table.displayName
        self.show_totals = bool(table.totalsRowCount)
        c1, r1, c2, r2 = range_boundaries(table.ref)
        self.range = FakeRange(sheet, r1, c1, r2, c2)


class FakeSheet:
    def __init__(self, book: "FakeBook", name: str):
        self.book, self.name = book, name

    @property
    def tables(self) -> list[FakeTable]:
        return [FakeTable(self, t) for t in self.book.wb[self.name].tables.values()]

    def range(self, first, last=None) -> FakeRange:
        r1, c1 = first
        r2, c2 = last if last is not None else first
        return FakeRange(self, r1, c1, r2, c2)

    def delete(self) -> None:
        del self.book.wb[self.name]


class FakeSheets:
    def __init__(self, book: "FakeBook"):
        self.book = book

    def __iter__(self):
        return iter([FakeSheet(self.book, n) for n in self.book.wb.sheetnames])

    def __getitem__(self, name: str) -> FakeSheet:
        return FakeSheet(self.book, name)

    def add(self, name: str, after: FakeSheet | None = None) -> FakeSheet:
        self.book.wb.create_sheet(name)
        return FakeSheet(self.book, name)


class FakeApp:
    def __init__(self):
        self.alerts: list[str] = []

    def alert(self, text: str, title: str = "") -> None:
        self.alerts.append(text)


class FakeApi:
    def __init__(self, book: "FakeBook"):
        self.book = book

    def SaveCopyAs(self, path: str) -> None:  # noqa: N802 (Excel's COM name)
        self.book.wb.save(path)


class FakeBook:
    """xlwings.Book as the add-in sees it, over an .xlsx file loaded with openpyxl."""

    def __init__(self, path: str | Path):
        self.fullname = str(path)
        self.wb = openpyxl.load_workbook(path)
        self.values = openpyxl.load_workbook(path, data_only=True)
        self.sheets = FakeSheets(self)
        self.api = FakeApi(self)
        self.app = FakeApp()
        self.writes = 0

    def cell(self, sheet: str, ref: str) -> Any:
        return self.wb[sheet][ref].value

    def column_letter(self, n: int) -> str:
        return get_column_letter(n)
