"""The Excel edge: cell values in, Decimals for the engine; engine values out, floats for Excel.

Excel hands numbers over as binary floats; they are converted exactly once, here, with
``costing.from_excel``: the number Excel shows, read at its 15 significant digits, so the
result of ``=0.1+0.2`` (0.30000000000000004 as a float) is 0.3 (never xlwings' ``numbers=Decimal``,
which keeps the float's binary noise: Decimal(0.1) is 0.1000000000000000055511151231257827...).
Values going back are floats or text, never Decimal objects (Excel would format and truncate those
as currency).

A blank cell is not a zero.  xlwings passes an empty cell as None; ``is_blank`` treats that and
empty text alike, and the functions decide per column whether a blank is an error or has a
documented default.  An error cell (#N/A, #DIV/0!, #SPILL!, ...) is not a blank: the arguments are
read with ``err_to_str=True``, so it arrives as its text, and ``grid`` also turns the COM error codes
xlwings leaves as integers (#SPILL!, #CALC!, ... on Windows) into their text; ``excel_error`` names
it, and the functions refuse it (FORMULA_ERROR, as the close workbook reader does) at its column.

Error policy: a function that cannot compute a row returns, in that row's cells, a text value
beginning with ``#WIP!`` followed by the stable code and the message.  Text cannot be added to a
number (``=A1+1`` gives #VALUE!), and the close workbook's Checks sheet counts ``#WIP!*`` cells
(``COUNTIF(range, "#WIP!*")``, which ignores case).  But Excel's SUM, SUMIFS, AVERAGE, SUBTOTAL and
pivot tables skip text: ``=SUM(F2#)`` leaves a failed row out without a sign.  xlwings cannot return
a real Excel error value from a worksheet function (xlwings issue #776), so a total is taken with
``WIP_TOTAL`` (which refuses a range holding an error) or guarded with ``WIP_CHECK``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from costing import EXCEL_ERRORS, Issue, NumberError, from_excel, is_period

__all__ = ["ERROR_PREFIX", "EXCEL_ERRORS", "error_text", "issues_text", "is_blank", "is_blank_row", "excel_error",
           "formula_error", "grid", "first_cell", "com_error_text", "to_number", "to_text", "to_period", "out",
           "rows_with_header", "is_wip_error", "header_name"]

ERROR_PREFIX = "#WIP!"


# On Windows an error cell reaches Python as the COM error code 0x800A0000 + Excel's error number
# (XlCVError); xlwings' err_to_str names only the seven classic ones and passes the others
# (#SPILL!, #CALC!, ...) on as these negative integers, which would read as numbers.
_COM_ERROR_BASE = -0x7FF60000  # 0x800A0000 as a signed 32-bit integer
_COM_ERRORS = {2000: "#NULL!", 2007: "#DIV/0!", 2015: "#VALUE!", 2023: "#REF!", 2029: "#NAME?", 2036: "#NUM!",
               2042: "#N/A", 2043: "#GETTING_DATA", 2045: "#SPILL!", 2046: "#CONNECT!", 2047: "#BLOCKED!",
               2048: "#UNKNOWN!", 2049: "#FIELD!", 2050: "#CALC!"}


def error_text(code: str, message: str) -> str:
    """
    >>> error_text("UNIT_FLOW", "units do not balance")
    '#WIP! UNIT_FLOW: units do not balance'
    """
    return f"{ERROR_PREFIX} {code}: {message}"


def is_wip_error(value: Any) -> bool:
    """A ``#WIP!`` error text, as the Checks sheet's ``COUNTIF(range, "#WIP!*")`` counts it (case
    ignored) and, stricter, also with leading spaces.

    >>> is_wip_error("#WIP! UNIT_FLOW: x"), is_wip_error(" #wip! x"), is_wip_error("see #WIP!"), is_wip_error(1.0)
    (True, True, False, False)
    """
    return isinstance(value, str) and value.lstrip()[:len(ERROR_PREFIX)].upper() == ERROR_PREFIX


def issues_text(issues: Iterable[Issue]) -> str:
    issues = list(issues)
    first = issues[0]
    more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
    where = f"{first.path}: " if first.path else ""
    return error_text(first.code, f"{where}{first.message}{more}")


def is_blank(value: Any) -> bool:
    """An empty cell (None) or text of spaces only; an error cell is not blank (see ``excel_error``).

    >>> is_blank(None), is_blank(" "), is_blank(0.0)
    (True, True, False)
    """
    return value is None or (isinstance(value, str) and not value.strip())


def is_blank_row(row: list[Any]) -> bool:
    return all(is_blank(cell) for cell in row)


# Error values newer than the engine's list (``costing.EXCEL_ERRORS``), whose COM numbers are not
# documented: as text (Excel on the Mac, a value pasted) they are errors all the same.
_MORE_ERRORS = frozenset({"#PYTHON!", "#EXTERNAL!", "#BUSY!"})


def _com_error(value: Any) -> str | None:
    """The error a COM error code stands for: its text, or ``#ERROR n`` for an Excel error number
    this list does not name (one Excel added since).

    >>> _com_error(-2146826281), _com_error(-2146826238), _com_error(-2146826189), _com_error(-2146826281.0)
    ('#DIV/0!', '#CALC!', '#ERROR 2099', None)
    """
    if type(value) is int and _COM_ERROR_BASE + 2000 <= value < _COM_ERROR_BASE + 2100:
        number = value - _COM_ERROR_BASE
        return _COM_ERRORS.get(number, f"#ERROR {number}")
    return None


def com_error_text(value: Any) -> str | None:
    """For a reader of cells (the Close month button's): the text of a COM error code (None when
    ``value`` is not one).  A number Excel's list does not name is read as ``#UNKNOWN!``, an error the
    close workbook reader refuses (FORMULA_ERROR), never as a number or text.

    >>> com_error_text(-2146826243), com_error_text(-2146826189), com_error_text(2045), com_error_text(True)
    ('#SPILL!', '#UNKNOWN!', None, None)
    """
    error = _com_error(value)
    if error is None:
        return None
    return error if error in EXCEL_ERRORS else "#UNKNOWN!"


def grid(value: Any) -> list[list[Any]]:
    """An argument as the 2-D list the functions read: a COM error code becomes its text.

    >>> grid([[1.0, -2146826243, "#N/A"]])
    [[1.0, '#SPILL!', '#N/A']]
    """
    if not isinstance(value, (list, tuple)):
        value = [[value]]
    return [[_com_error(c) or c for c in row] if isinstance(row, (list, tuple)) else [_com_error(row) or row]
            for row in value]


def first_cell(value: Any) -> Any:
    """The top-left cell of an argument (None when the range is empty)."""
    rows = grid(value)
    return rows[0][0] if rows and rows[0] else None


def excel_error(value: Any) -> str | None:
    """The Excel error a cell shows ("#N/A", ...), or None.

    >>> excel_error("#N/A"), excel_error(" #DIV/0! "), excel_error(-2146826243), excel_error("N/A"), excel_error(0.0)
    ('#N/A', '#DIV/0!', '#SPILL!', None, None)
    """
    if isinstance(value, str):
        text = value.strip()
        return text if text in EXCEL_ERRORS or text in _MORE_ERRORS or text.startswith("#ERROR ") else None
    return _com_error(value)


def formula_error(error: str, cell: str = "the cell") -> str:
    """The message of FORMULA_ERROR, worded as the close workbook reader words it."""
    return f"{cell} shows the error {error}; correct the formula or the cell it refers to"


def to_number(value: Any) -> Any:
    """A cell value as the engine takes it: floats once through ``from_excel``, text as typed.  A
    date (a number typed into a date-formatted cell, which xlwings hands over as a datetime) is
    refused, named as the date the cell shows: NumberError NOT_A_NUMBER.

    >>> to_number(0.1 + 0.2), to_number(18000.0), to_number(" start "), to_number(2.0 ** 60)
    (Decimal('0.3'), Decimal('18000'), 'start', Decimal('1.15292150460685E+18'))
    >>> to_number(dt.datetime(1901, 2, 4))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    costing._numbers.NumberError: expected a number, found the date 1901-02-04 (the cell is formatted as a date: ...)
    """
    if isinstance(value, (dt.datetime, dt.date)):
        shown = f"{value:%Y-%m-%d}" if not isinstance(value, dt.datetime) or value.time() == dt.time() \
            else f"{value:%Y-%m-%d %H:%M:%S}"
        raise NumberError("NOT_A_NUMBER", f"expected a number, found the date {shown} (the cell is formatted as a "
                                          "date: format it as a number)")
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value != value or value in (_INF, -_INF):
            return value  # not from Excel; the engine refuses it with its own message
        if value.is_integer():
            if abs(value) < _EXACT:  # 18000.0 is 18000: no decimal place the user did not type
                return Decimal(int(value))
            # Beyond 15 digits a whole float is Excel's 15 digits and binary noise (=2^60 shows
            # 1.15292150460685E+18): read as Excel shows it (far above the engine's limit anyway).
            return Decimal(format(value, ".15g"))
        return from_excel(value)
    if isinstance(value, str):
        return value.strip()
    return value


_INF = float("inf")
_EXACT = 1e15  # whole floats below it have at most 15 digits: exactly the number Excel shows


def to_period(value: Any) -> str:
    """A period cell as YYYY-MM.  Excel turns a typed ``2026-10`` into the date 1 Oct 2026, which
    xlwings passes as a datetime: the first of a month is read as that month, as the close workbook
    reads its period; any other date is refused rather than guessed.

    >>> to_period(dt.datetime(2026, 10, 1)), to_period("2026-10")
    ('2026-10', '2026-10')
    """
    if isinstance(value, (dt.datetime, dt.date)):
        if value.day != 1:
            raise NumberError("INVALID_PERIOD", f"expected a month YYYY-MM, found the date {value:%Y-%m-%d}")
        return f"{value.year:04d}-{value.month:02d}"
    text = to_text(value)
    if not is_period(text):
        raise NumberError("INVALID_PERIOD", f"expected a month YYYY-MM, found {text!r}")
    return text


def to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def out(value: Any) -> Any:
    """An engine value as Excel should receive it."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def header_name(value: Any) -> str:
    r"""A header cell as a column name: lower case, each run of spaces (a no-break space, a tab or a
    line break too, which look alike in a cell) as one ``_``.

    >>> header_name(" Spoiled\u00a0 Units "), header_name("Beginning\nCost"), header_name(None)
    ('spoiled_units', 'beginning_cost', '')
    """
    return "_".join(to_text(value).lower().split())


def rows_with_header(table: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """A 2-D range whose first row is a header: (lower-case header names, data rows).

    Blank rows inside the table are kept, so that the results spill one row per input row and sit
    beside the rows they belong to; only the blank rows at the end (a whole-column reference such
    as A:G) are dropped.
    """
    if not table:
        return [], []
    header = [header_name(h) for h in table[0]]
    rows = list(table[1:])
    while rows and is_blank_row(rows[-1]):
        rows.pop()
    return header, rows
