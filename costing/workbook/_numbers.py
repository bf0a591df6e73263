"""Numbers in cells: typed as numbers, or typed as text in the workbook's locale.

A number cell holds an int or a float (openpyxl); a float is converted once, with
``costing._numbers.from_excel``: at Excel's 15 significant digits, as the cell shows it
(``=36000.1+0.2`` is stored as 36000.299999999996 and read as 36000.3).  Text is read strictly in
the workbook's locale with babel (``parse_decimal(strict=True)``) after our own check that it
holds nothing but digits, the locale's separators and a sign — so ``1.234,56`` is 1234.56 in de_DE
and an error in en_US, never misread.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import NumberFormatError, get_decimal_symbol, get_group_symbol, parse_decimal

from .._errors import as_written
from .._numbers import EXCEL_ERRORS, from_excel
from ._source import ExcelError

__all__ = ["CellNumberError", "cell_decimal", "parse_text_number", "EXCEL_ERRORS", "separators"]



class CellNumberError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@lru_cache(maxsize=64)
def separators(locale: str) -> tuple[str, str]:
    """The locale's decimal and grouping symbols.

    >>> separators("de_DE"), separators("en_US")
    ((',', '.'), ('.', ','))
    """
    return get_decimal_symbol(locale), get_group_symbol(locale)


_SPACES = {"\u00a0", "\u202f", " "}


def parse_text_number(text: str, locale: str) -> Decimal:
    """A number typed as text, read strictly in ``locale``.

    >>> parse_text_number("1.234,56", "de_DE"), parse_text_number("1,234.56", "en_US")
    (Decimal('1234.56'), Decimal('1234.56'))
    >>> parse_text_number("1,234.56", "de_DE")
    Traceback (most recent call last):
    ...
    costing.workbook._numbers.CellNumberError: '1,234.56' is not a number in de_DE (decimal separator ',', grouping '.')
    >>> parse_text_number("1e3", "en_US")
    Traceback (most recent call last):
    ...
    costing.workbook._numbers.CellNumberError: '1e3' is not a number in en_US (decimal separator '.', grouping ',')
    """
    decimal, group = separators(locale)
    stripped = text.strip()
    allowed = set("0123456789") | {decimal, group}
    if group in _SPACES:
        allowed |= _SPACES
    body = stripped[1:] if stripped[:1] in "+-" else stripped
    problem = CellNumberError("NOT_A_NUMBER", f"{text!r} is not a number in {locale} "
                                              f"(decimal separator {decimal!r}, grouping {group!r})")
    if not body or not set(body) <= allowed or not re.search(r"\d", body) or body.count(decimal) > 1:
        raise problem
    if decimal in body and group in body.split(decimal, 1)[1]:
        raise problem  # grouping after the decimal separator
    try:
        value = parse_decimal(stripped, locale=locale, strict=True)
    except (NumberFormatError, InvalidOperation, ValueError):
        raise problem from None
    if not value.is_finite():
        raise problem
    return value


def cell_decimal(value: object, locale: str, percent: bool = False) -> Decimal:
    """A cell's value as an exact Decimal; ``percent``: text may end in % (60% -> 0.60).

    >>> cell_decimal(0.1, "en_US"), cell_decimal(270, "en_US"), cell_decimal("60 %", "en_US", percent=True)
    (Decimal('0.1'), Decimal('270'), Decimal('0.60'))
    >>> cell_decimal(36000.1 + 0.2, "en_US")  # a formula's float noise, read as the cell shows it
    Decimal('36000.3')
    >>> cell_decimal("0,6", "de_DE")
    Decimal('0.6')
    """
    if isinstance(value, ExcelError):  # stored as an error: whatever it shows, never a number
        raise CellNumberError("FORMULA_ERROR", f"the cell shows the error {value.strip()}")
    if isinstance(value, bool):
        raise CellNumberError("NOT_A_NUMBER", f"expected a number, found {'TRUE' if value else 'FALSE'}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise CellNumberError("NOT_A_NUMBER", f"expected a finite number, found {value!r}")
        return from_excel(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise CellNumberError("NOT_A_NUMBER", f"expected a finite number, found {value}")
        return value
    if isinstance(value, (dt.date, dt.time, dt.timedelta)):
        raise CellNumberError("NOT_A_NUMBER", f"expected a number, found the date/time {value}; "
                                              "format the cell as a number")
    if isinstance(value, str):
        text = value.strip()
        if text in EXCEL_ERRORS:
            raise CellNumberError("FORMULA_ERROR", f"the cell shows the error {text}")
        if percent and text.endswith("%"):
            return parse_text_number(text[:-1], locale).scaleb(-2)
        return parse_text_number(text, locale)
    raise CellNumberError("NOT_A_NUMBER", f"expected a number, found {as_written(value)}")
