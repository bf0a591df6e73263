"""The Excel edge: cell values in, Decimals for the engine; engine values out, floats for Excel.

Excel hands numbers over as binary floats; they are converted exactly once, here, with
``Decimal(str(x))`` (never xlwings' ``numbers=Decimal``, which keeps the float's binary noise:
Decimal(0.1) is 0.1000000000000000055511151231257827...).  Values going back are floats or text,
never Decimal objects (Excel would format and truncate those as currency).

Error policy: a function that cannot compute a row returns, in that row's cells, a text value
beginning with ``#WIP!`` followed by the stable code and the message.  Text cannot be added to a
number (``=A1+1`` gives #VALUE!), and the close workbook's Checks sheet counts ``#WIP!*`` cells
(``COUNTIF(range, "#WIP!*")``) so that an error never passes silently into a total.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Iterable

from costing import Issue

__all__ = ["ERROR_PREFIX", "error_text", "to_number", "to_text", "out", "rows_with_header"]

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


def to_number(value: Any) -> Any:
    """A cell value as the engine takes it: floats exactly once through str, text as typed."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return Decimal(int(value))
        return Decimal(str(value))
    if isinstance(value, str):
        return value.strip()
    return value


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
    """A 2-D range whose first row is a header: (lower-case header names, data rows without blank rows)."""
    if not table:
        return [], []
    header = [to_text(h).lower().replace(" ", "_") for h in table[0]]
    rows = [row for row in table[1:] if any(cell not in (None, "") for cell in row)]
    return header, rows
