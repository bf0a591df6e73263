"""The Excel edge: cell values in, Decimals for the engine; engine values out, floats for Excel.

Excel hands numbers over as binary floats; they are converted exactly once, here, with
``costing._numbers.from_excel``: the number Excel shows, read at its 15 significant digits, so the
result of ``=0.1+0.2`` (0.30000000000000004 as a float) is 0.3 (never xlwings' ``numbers=Decimal``,
which keeps the float's binary noise: Decimal(0.1) is 0.1000000000000000055511151231257827...).
Values going back are floats or text, never Decimal objects (Excel would format and truncate those
as currency).

A blank cell is not a zero.  xlwings passes an empty cell, and an error cell such as #N/A, as
None; ``is_blank`` treats those and empty text alike, and the functions decide per column whether a
blank is an error or has a documented default.

Error policy: a function that cannot compute a row returns, in that row's cells, a text value
beginning with ``#WIP!`` followed by the stable code and the message.  Text cannot be added to a
number (``=A1+1`` gives #VALUE!), and the close workbook's Checks sheet counts ``#WIP!*`` cells
(``COUNTIF(range, "#WIP!*")``) so that an error never passes silently into a total.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable

from costing import Issue
from costing._numbers import NumberError, from_excel
from costing._period import is_period

__all__ = ["ERROR_PREFIX", "error_text", "issues_text", "is_blank", "is_blank_row", "to_number", "to_text",
           "to_period", "out", "rows_with_header"]

ERROR_PREFIX = "#WIP!"


def error_text(code: str, message: str) -> str:
    """
    >>> error_text("UNIT_FLOW", "units do not balance")
    '#WIP! UNIT_FLOW: units do not balance'
    """
    return f"{ERROR_PREFIX} {code}: {message}"


def issues_text(issues: Iterable[Issue]) -> str:
    issues = list(issues)
    first = issues[0]
    more = f" (+{len(issues) - 1} more)" if len(issues) > 1 else ""
    where = f"{first.path}: " if first.path else ""
    return error_text(first.code, f"{where}{first.message}{more}")


def is_blank(value: Any) -> bool:
    """An empty cell, an error cell (#N/A: xlwings passes both as None) or text of spaces only.

    >>> is_blank(None), is_blank(" "), is_blank(0.0)
    (True, True, False)
    """
    return value is None or (isinstance(value, str) and not value.strip())


def is_blank_row(row: list[Any]) -> bool:
    return all(is_blank(cell) for cell in row)


def to_number(value: Any) -> Any:
    """A cell value as the engine takes it: floats once through ``from_excel``, text as typed.

    >>> to_number(0.1 + 0.2), to_number(18000.0), to_number(" start ")
    (Decimal('0.3'), Decimal('18000'), 'start')
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value.is_integer():  # 18000.0 is 18000: no decimal place the user did not type
            return Decimal(int(value))
        if value != value or value in (_INF, -_INF):
            return value  # not from Excel; the engine refuses it with its own message
        return from_excel(value)
    if isinstance(value, str):
        return value.strip()
    return value


_INF = float("inf")


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


def rows_with_header(table: list[list[Any]]) -> tuple[list[str], list[list[Any]]]:
    """A 2-D range whose first row is a header: (lower-case header names, data rows).

    Blank rows inside the table are kept, so that the results spill one row per input row and sit
    beside the rows they belong to; only the blank rows at the end (a whole-column reference such
    as A:G) are dropped.
    """
    if not table:
        return [], []
    header = [to_text(h).lower().replace(" ", "_") for h in table[0]]
    rows = list(table[1:])
    while rows and is_blank_row(rows[-1]):
        rows.pop()
    return header, rows
