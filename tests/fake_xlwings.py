"""An in-memory stand-in for the part of xlwings' Book API the add-in uses (see
excel_addin/_xlwings_book.py), backed by an openpyxl workbook — so close_month is tested on Linux.

``call_udf`` calls a worksheet function the way xlwings' Windows COM server does, so that what an
argument's ``@arg`` options (``err_to_str``) make of an error cell is tested, not assumed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import openpyxl
from openpyxl.utils.cell import get_column_letter, range_boundaries


_TYPED_NUMBER = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$")


def _as_excel_enters(value: Any) -> Any:
    """What Excel makes of a value handed to Range.formula, as if typed: a leading apostrophe marks
    text (and is not part of it); text that reads as a number or TRUE/FALSE becomes one ("0100" is
    100) — the part of Excel's parsing the add-in's writes can meet."""
    if not isinstance(value, str) or value.startswith("="):
        return value
    if value.startswith("'"):
        return value[1:]
    if _TYPED_NUMBER.match(value.strip()):
        number = float(value)
        return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    if value.strip().upper() in ("TRUE", "FALSE"):
        return value.strip().upper() == "TRUE"
    return value


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
        self.sheet.book.written.append((self.sheet.name, self.row, self.column, matrix))  # as handed to xlwings
        ws = self.sheet.book.wb[self.sheet.name]
        for i, row in enumerate(matrix):
            for j, v in enumerate(row):
                ws.cell(self.row + i, self.column + j, None if v == "" else _as_excel_enters(v))

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
        self.show_headers = table.headerRowCount != 0  # as Excel's ListObject.ShowHeaders (ref without it then)
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


class FakeDocumentProperty:
    def __init__(self, book: "FakeBook", name: str):
        self.book, self.Name = book, name

    def Delete(self) -> None:  # noqa: N802 (Excel's COM name)
        props = self.book.wb.custom_doc_props
        props.props = [p for p in props.props if p.name != self.Name]


class FakeDocumentProperties:
    """Excel's ``Workbook.CustomDocumentProperties`` (``Item``, ``Add``, an item's ``Delete``), kept in
    the openpyxl workbook's custom document properties: ``SaveCopyAs`` saves them, as Excel does."""

    def __init__(self, book: "FakeBook"):
        self.book = book

    def Item(self, name: str) -> FakeDocumentProperty:  # noqa: N802
        if not any(p.name == name for p in self.book.wb.custom_doc_props.props):
            raise KeyError(name)  # Excel raises a COM error for a missing item
        return FakeDocumentProperty(self.book, name)

    def Add(self, Name: str, LinkToContent: bool, Type: int, Value: str) -> None:  # noqa: N802, N803
        from openpyxl.packaging.custom import StringProperty

        assert Type == 4 and not LinkToContent, "only the text properties the add-in writes"  # msoPropertyTypeString
        assert len(Value) <= 255, "Excel keeps at most 255 characters of a text property"
        self.book.wb.custom_doc_props.append(StringProperty(name=Name, value=Value))


class FakeApi:
    def __init__(self, book: "FakeBook"):
        self.book = book
        self.CustomDocumentProperties = FakeDocumentProperties(book)  # noqa: N815 (Excel's COM name)

    def SaveCopyAs(self, path: str) -> None:  # noqa: N802 (Excel's COM name)
        self.book.wb.save(path)

    @property
    def FullName(self) -> str:  # noqa: N802 - Excel's own FullName (a web address for a book on OneDrive)
        name = self.book.api_fullname if self.book.api_fullname is not None else self.book._fullname
        if isinstance(name, Exception):
            raise name
        return name


class FakeBook:
    """xlwings.Book as the add-in sees it, over an .xlsx file loaded with openpyxl."""

    def __init__(self, path: str | Path):
        self.fullname = str(path)
        self.api_fullname: str | Exception | None = None  # Excel's FullName when it is not ``fullname``
        self.wb = openpyxl.load_workbook(path)
        self.values = openpyxl.load_workbook(path, data_only=True)
        self.sheets = FakeSheets(self)
        self.api = FakeApi(self)
        self.app = FakeApp()
        self.writes = 0
        self.written: list[tuple[str, int, int, Any]] = []  # (sheet, top row, left column, values) per write

    @property
    def fullname(self) -> str:
        """xlwings' ``Book.fullname``: an exception set here is raised, as xlwings raises when it cannot
        map a OneDrive/SharePoint address to the synced file (``api_fullname``: that address)."""
        if isinstance(self._fullname, Exception):
            raise self._fullname
        return self._fullname

    @fullname.setter
    def fullname(self, value: "str | Exception") -> None:
        self._fullname = value

    def cell(self, sheet: str, ref: str) -> Any:
        return self.wb[sheet][ref].value

    def column_letter(self, n: int) -> str:
        return get_column_letter(n)


# ---- worksheet-function arguments as xlwings' Windows COM server hands them over -----------------

def com_error(text: str) -> int:
    """The COM value of an error cell on Windows: 0x800A0000 + Excel's error number, signed."""
    numbers = {"#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029, "#NUM!": 2036,
               "#N/A": 2042, "#GETTING_DATA": 2043, "#SPILL!": 2045, "#CONNECT!": 2046, "#BLOCKED!": 2047,
               "#UNKNOWN!": 2048, "#FIELD!": 2049, "#CALC!": 2050}
    return 0x800A0000 + numbers[text] - (1 << 32)


def _windows_cleaning():
    """``cell_errors`` and ``_clean_value_data_element`` of the installed xlwings/_xlwindows.py (that
    module imports pywin32 and ctypes.windll, so it is not imported on Linux: its two definitions
    are compiled from its source, so the pinned version's own code cleans the values)."""
    import ast
    import datetime as dt

    import xlwings

    source = (Path(xlwings.__file__).parent / "_xlwindows.py").read_text(encoding="utf-8")
    wanted = [node for node in ast.parse(source).body
              if (isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "cell_errors" for t in node.targets))
              or (isinstance(node, ast.FunctionDef) and node.name == "_clean_value_data_element")]
    assert len(wanted) == 2, "xlwings' Windows cell cleaning moved: update tests/fake_xlwings.py"
    namespace: dict[str, Any] = {"time_types": (dt.datetime,), "_com_time_to_datetime": lambda v, b: v}
    exec(compile(ast.Module(body=wanted, type_ignores=[]), "xlwings/_xlwindows.py", "exec"), namespace)
    return namespace["_clean_value_data_element"]


class _WindowsEngineImpl:
    name, type = "excel", "desktop"

    def __init__(self):
        self._clean = _windows_cleaning()

    def clean_value_data(self, data, datetime_builder, empty_as, number_builder, err_to_str):
        return [[self._clean(c, datetime_builder, empty_as, number_builder, err_to_str) for c in row] for row in data]


class FakeCaller:
    """The calling range xlwings passes to an argument named ``caller`` (a ``ComRange``): only
    ``caller.sheet.book.fullname`` (and, when that raises, Excel's own ``book.api.FullName``) is read.
    ``fullname`` may be an exception, raised as xlwings' ``Book.fullname`` raises when it cannot map a
    OneDrive address to the synced file (``api_fullname`` is then that address); ``sheet_error``:
    raised on ``caller.sheet`` (Excel busy)."""

    def __init__(self, fullname: "str | Exception", api_fullname: str | None = None,
                 sheet_error: Exception | None = None):
        self._sheet_error = sheet_error
        name = fullname

        class Book:
            api = type("Api", (), {"FullName": api_fullname if api_fullname is not None else name})()

            @property
            def fullname(self):
                if isinstance(name, Exception):
                    raise name
                return name

        self._sheet = type("Sheet", (), {})()
        self._sheet.book = Book()

    @property
    def sheet(self):
        if self._sheet_error is not None:
            raise self._sheet_error
        return self._sheet


def call_udf(function, *raw_args, book: "str | FakeCaller" = "C:\\close\\wip_close.xlsm"):
    """Call a worksheet function as xlwings' COM server does (``udfs.call_udf``): ``raw_args`` are the
    arguments Excel shows (the VBA wrapper's parameters), as raw COM values (floats, text, None for an
    empty cell, ``com_error(...)`` for an error cell).  The wrapper passes ``Array(...)`` of every
    argument, with the expression ``generate_vba_wrapper`` gives an argument named ``caller``
    (``Nothing``, which reaches Python as None) at its position; ``call_udf`` replaces that
    placeholder with the calling range (a ``FakeCaller`` of a workbook whose fullname is ``book``:
    Excel's "Book1" for one never saved), then reads every argument with ``xlwings.conversion.read``
    and the options its ``@arg`` recorded (``err_to_str``, ``ndim``).  ``function`` must carry
    ``__xlfunc__`` (the Windows decorators)."""
    import xlwings
    from xlwings import conversion
    from xlwings.main import Engine, Engines

    info = function.__xlfunc__["args"]
    given = iter(raw_args)
    args = [None if a["name"] == "caller" or a.get("vba") else next(given) for a in info]  # VBA's Array(...)
    assert next(given, None) is None, "more arguments than the VBA wrapper takes"
    for a in info:  # udfs.call_udf: "If there is the 'reserved' argument "caller", assign the caller object"
        if a["name"] == "caller":
            args[a["pos"]] = book if isinstance(book, FakeCaller) else FakeCaller(book)
    engines = Engines()
    engines.add(Engine(impl=_WindowsEngineImpl()))
    saved, xlwings.engines = xlwings.engines, engines
    try:
        for i, value in enumerate(args):  # every argument, the caller too, as udfs.call_udf reads them
            options = info[min(i, len(info) - 1)]["options"]
            if isinstance(value, int) and value == -2147352572:  # an optional argument left out
                args[i] = info[min(i, len(info) - 1)].get("optional", None)
            else:
                args[i] = conversion.read(None, value, options)
    finally:
        xlwings.engines = saved
    return function(*args)
