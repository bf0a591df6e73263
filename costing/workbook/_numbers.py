"""Numbers in cells: typed as numbers, or typed as text in the workbook's locale.

A number cell holds an int or a float (openpyxl); a float is converted once, with
``costing._numbers.from_excel``: at Excel's 15 significant digits, as the cell shows it
(``=36000.1+0.2`` is stored as 36000.299999999996 and read as 36000.3).  Text is read strictly in
the workbook's locale with babel (``parse_decimal(strict=True)``) after our own check that it
holds nothing but digits, the locale's separators and a sign — so ``1.234,56`` is 1234.56 in de_DE
and an error in en_US, never misread.  TRUE/FALSE is never a number, also where a formula's logical
result was saved as 1 or 0 (``formula_result``: LibreOffice, in a cell with a number format).
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

__all__ = ["CellNumberError", "cell_decimal", "parse_text_number", "EXCEL_ERRORS", "separators", "logical_formula",
           "formula_result"]



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

# Functions whose result is always TRUE or FALSE (or an error), by their name as stored in the file
# (an Excel 2013+ function with its ``_xlfn.`` prefix, which is dropped before looking here).
_LOGICAL_FUNCTIONS = frozenset({
    "TRUE", "FALSE", "NOT", "AND", "OR", "XOR", "EXACT", "ISBLANK", "ISERR", "ISERROR", "ISEVEN", "ISFORMULA",
    "ISLOGICAL", "ISNA", "ISNONTEXT", "ISNUMBER", "ISODD", "ISOMITTED", "ISREF", "ISTEXT"})
_CALL = re.compile(r"\+*\s*(?:_xl[a-z]+\.)?([A-Za-z][A-Za-z0-9_.]*)\s*\(", re.I)


def _top_level(body: str) -> tuple[bool, list[tuple[int, int]]] | None:
    """A formula's text (without its "=") as its top level sees it: whether a comparison operator
    stands there (outside strings, quoted sheet names, brackets, braces and parentheses), and the
    spans of its top-level parenthesised groups; None if the text does not scan (unclosed quote or
    parenthesis)."""
    comparison = False
    groups: list[tuple[int, int]] = []
    depth = 0  # parentheses, brackets (structured and external references) and braces (arrays)
    opened = 0
    i, n = 0, len(body)
    while i < n:
        ch = body[i]
        if ch == '"':  # a string: "" is a quote inside it
            i += 1
            while i < n and not (body[i] == '"' and body[i + 1:i + 2] != '"'):
                i += 2 if body[i] == '"' else 1
            if i >= n:
                return None
        elif ch == "'":  # a quoted sheet name: '' is a quote inside it
            i += 1
            while i < n and not (body[i] == "'" and body[i + 1:i + 2] != "'"):
                i += 2 if body[i] == "'" else 1
            if i >= n:
                return None
        elif ch == "[":  # a structured or external reference: ' escapes the next character in it
            level = 1
            i += 1
            while i < n and level:
                if body[i] == "'":
                    i += 1
                elif body[i] == "[":
                    level += 1
                elif body[i] == "]":
                    level -= 1
                i += 1
            if level:
                return None
            continue
        elif ch in "({":
            if depth == 0:
                opened = i
            depth += 1
        elif ch in ")}":
            depth -= 1
            if depth < 0:
                return None
            if depth == 0:
                groups.append((opened, i))
        elif depth == 0 and ch in "<>=":
            comparison = True
        i += 1
    return (comparison, groups) if depth == 0 else None


def logical_formula(formula: str) -> bool:
    """Whether a formula's result is always logical (TRUE/FALSE), whatever the cells it uses hold:
    a comparison at its top level (the operator Excel applies last), or nothing but a call of a
    function that gives TRUE or FALSE.  A comparison inside a function or parentheses
    (``=IF(A1>0,5,6)``, ``=(A1>0)*5``) is not the result; a formula only sometimes logical
    (``=IF(A1>0,TRUE,0)``, ``=A1`` where A1 holds TRUE) is not decided here.

    >>> logical_formula("=TRUE()"), logical_formula("=D5>0"), logical_formula('=ISNUMBER(D5)')
    (True, True, True)
    >>> logical_formula("=IF(D5>0,5,6)"), logical_formula("=SUM(D4:D5)*(D5>0)"), logical_formula('="a>b"')
    (False, False, False)
    """
    body = formula[1:] if formula.startswith("=") else formula
    while True:
        body = body.strip()
        scanned = _top_level(body)
        if scanned is None or not body:
            return False
        comparison, groups = scanned
        if comparison:
            return True
        if body.lstrip("+").strip().upper() in ("TRUE", "FALSE"):
            return True
        if len(groups) != 1 or groups[0][1] != len(body) - 1 or body[groups[0][0]] != "(":
            return False  # not one parenthesised group or call ending the formula
        start, end = groups[0]
        call = _CALL.fullmatch(body, 0, start + 1)
        if call:
            return call.group(1).upper() in _LOGICAL_FUNCTIONS
        if body[:start].strip("+ "):
            return False  # -(…), a reference or an operator before the parentheses
        body = body[start + 1:end]  # (…): what is inside


def formula_result(value: object, formula: str | None) -> object:
    """A formula cell's cached value as the formula gave it: TRUE/FALSE for a logical formula whose
    result was saved as the number 1 or 0 (LibreOffice does so in a cell with a number format:
    ``<c s="9" t="n"><f>TRUE()</f><v>1</v>``, where Excel writes ``t="b"``)."""
    if formula is not None and type(value) in (int, float) and value in (0, 1) and logical_formula(formula):
        return bool(value)
    return value


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
