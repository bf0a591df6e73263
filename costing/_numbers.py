"""Numbers at the edge: user values in, Decimals out; and the engine's arithmetic context.

The costing core refuses floats.  YAML and JSON numbers are read as the Decimal of the digits
written (``costing._casefile``); a float handed in by Python code is converted once, here, with
``Decimal(str(x))`` so that 0.1 stays 0.1 rather than the binary approximation ``Decimal(0.1)``
would give; a spreadsheet cell's float goes through ``from_excel`` (Excel's 15 digits).
"""

from __future__ import annotations

import re
import unicodedata
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import (MAX_EMAX, MAX_PREC, MIN_EMIN, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero,
                     InvalidOperation, Overflow)
from types import MappingProxyType

from ._errors import Issue, as_written

__all__ = [
    "EXACT_UNITS",
    "ENGINE_CONTEXT",
    "EXCEL_ERRORS",
    "engine_context",
    "NumberError",
    "to_decimal",
    "to_fraction",
    "ROUNDING_MODES",
    "require_decimal",
    "from_excel",
    "percent_text",
    "separator_hint",
    "with_separator_hints",
    "LIKE_DOT_GROUPED",
    "TypedLikeGrouped",
    "TextLikeGrouped",
]

# A number written as 1 to 3 digits, '.', then 3 digits (36.000, 9.455, -1.500): what a locale that
# groups thousands with '.' (de_DE) shows for a whole number of thousands (36000), and what reads as
# a fraction with a decimal point: a thousand times apart.  Not 0.500 (no one groups 500 so) nor
# 36000.000 (its whole part is no group of three).
LIKE_DOT_GROUPED = re.compile(r"[+-]?[1-9][0-9]{0,2}\.[0-9]{3}")


class TypedLikeGrouped(Decimal):
    """A number a close or case file gave as 1 to 3 digits, '.', then 3 digits (``36.000``,
    ``9.455``, ``"2.900"``): the same value as the Decimal of those digits, marked as so typed.
    Under a close file's ``locale`` grouping thousands with '.', the close refuses it as a posted
    amount (most likely 36000, not 36.00: ``costing.close._resolve.typed_like_grouped``).  Only
    text read from a file is marked (``costing._casefile``): a workbook's cells are read by the
    workbook's locale already, and Python code's Decimals are what it means."""

    __slots__ = ()
    like_dot_grouped = True  # what ``costing.close._resolve.typed_like_grouped`` looks for


class TextLikeGrouped(str):
    """A quoted value a close or case file gave as ``"2.900"``: text until a number is read from it,
    which is then a ``TypedLikeGrouped`` (``to_decimal``); an account code ``"1.100"`` stays text."""

    __slots__ = ()
    like_dot_grouped = True

# Cost per equivalent unit is carried at full precision until amounts are assigned; 34 significant
# digits (IEEE decimal128) is far beyond any currency's minor unit, and a fixed context makes the
# results independent of whatever decimal context the caller happens to have set.
ENGINE_CONTEXT = Context(prec=34, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
# Unit counts are added and compared exactly, however many places they are written with: in the
# caller's context (28 digits by default) a sum is rounded, and units that differ beyond its last
# digit would pass as balanced.  Additions only: exact at any length the file can hold.  Shared
# by the case resolver and the close's fast path, which must agree on what balances.
EXACT_UNITS = Context(prec=MAX_PREC, Emax=MAX_EMAX, Emin=MIN_EMIN)

# Rounding modes a case file may choose for assigned amounts.
# Read-only: the mapping is public (costing.ROUNDING_MODES), and a caller adding or changing a
# mode would change what the engine posts.
ROUNDING_MODES = MappingProxyType({
    "half_up": ROUND_HALF_UP,  # 0.005 -> 0.01: what accountants and Excel's ROUND do
    "half_even": ROUND_HALF_EVEN,  # banker's rounding: 0.005 -> 0.00, 0.015 -> 0.02
})



def engine_context(rounding: str) -> Context:
    """The engine's context with ``rounding`` (a decimal constant) as the rounding used by quantize."""
    return _ENGINE_CONTEXTS[rounding]


_ENGINE_CONTEXTS = {mode: Context(prec=34, rounding=mode, traps=[InvalidOperation, DivisionByZero, Overflow])
                    for mode in ROUNDING_MODES.values()}

# Plain decimal notation only: no exponents, no underscores, no NaN/Infinity, no grouping, and the
# digits 0-9 only (``\d`` would take Arabic-Indic ٣ or full-width ３, which Decimal reads as 3).
_PLAIN = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$")


def ascii_digits(text: str) -> str:
    """``text`` with each decimal digit of another script (full-width ２, Arabic-Indic ٢…) as 0-9.

    >>> ascii_digits("２０２６-１０"), ascii_digits("x²")
    ('2026-10', 'x²')
    """
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text)


# Set while the inputs of a close the ledger holds are read again (``reading_recorded``): an engine
# before 0.4.0's digits check read another script's digits as 0-9 and posted them so, and such a
# close must still be computed again as it was (reports, diff, the variance audit).
_READING_RECORDED: ContextVar[bool] = ContextVar("reading_recorded", default=False)


@contextmanager
def reading_recorded():
    """Within: a number written in another script's decimal digits reads as 0-9, as engines before
    this check read it — for the inputs of a close the ledger holds, never for a file being closed.

    >>> with reading_recorded():
    ...     to_decimal("３６０００.００"), to_fraction("６０%")
    (Decimal('36000.00'), Decimal('0.60'))
    """
    token = _READING_RECORDED.set(True)
    try:
        yield
    finally:
        _READING_RECORDED.reset(token)


def other_digits(text: str) -> str | None:
    """What to say of a number written with digits other than 0-9, or None if it has none: the
    first such digit, named, and where each is a decimal digit of its script, what to write.

    >>> other_digits("1500") is None
    True
    >>> other_digits("1٥00")
    'holds ٥ (ARABIC-INDIC DIGIT FIVE, U+0665), not one of the digits 0-9; write 1500'
    >>> other_digits("２²")
    'holds ２ (FULLWIDTH DIGIT TWO, U+FF12), not one of the digits 0-9'
    """
    others = [c for c in text if c.isdigit() and not c.isascii()]
    if not others:
        return None
    first = others[0]
    said = f"holds {first} ({unicodedata.name(first, 'a digit')}, U+{ord(first):04X}), not one of the digits 0-9"
    # ² is a digit but no decimal one, and ３６,０００ would be refused in 0-9 too: no number to suggest.
    if all(c.isdecimal() for c in others) and _PLAIN.match(ascii_digits(text)):
        said += f"; write {ascii_digits(text)}"
    return said


class NumberError(ValueError):
    """A value that is not a number we accept; ``code`` is the stable issue code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


# Units, costs and rates stay below this (a quadrillion): the engine's 34 significant digits then
# always hold an amount to the cent and a rate to many places; beyond it rounding and quantizing
# would fail mid-computation instead of saying which value is out of range.
NUMBER_LIMIT = Decimal(10) ** 15


def to_decimal(value: object) -> Decimal:
    """Convert a value as written by the user to an exact Decimal (below ``NUMBER_LIMIT``).

    >>> to_decimal(0.1)
    Decimal('0.1')
    >>> to_decimal("1250.50")
    Decimal('1250.50')
    >>> to_decimal(" 12 ")
    Decimal('12')
    >>> to_decimal("1e3")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: expected a number, found '1e3', written with an exponent; write 1000
    >>> to_decimal("2500000000000000000.00")
    Traceback (most recent call last):
    ...
    costing._numbers.NumberError: expected a number below 1,000,000,000,000,000, found '2500000000000000000.00'
    """
    kind = type(value)  # the common cases first, by exact type (a close reads millions of numbers)
    if kind is str:
        text = value.strip()
        if _PLAIN.match(text):
            # Fewer than 16 characters cannot reach 10^15: only longer texts are measured.
            return Decimal(text) if len(text) < 16 else _within_limit(Decimal(text), value)
        return _recorded_or_refused(text, value)
    return _within_limit(_other_to_decimal(value, kind), value)


def _recorded_or_refused(text: str, value: str) -> Decimal:
    """A stripped text that is no plain number: as 0-9 while ``reading_recorded`` (where it then is
    one), else ``NOT_A_NUMBER``."""
    if _READING_RECORDED.get():
        digits = ascii_digits(text)
        if _PLAIN.match(digits):
            return _within_limit(Decimal(digits), value)
    raise NumberError("NOT_A_NUMBER", _not_a_number(value))


def _not_a_number(text: str) -> str:
    """
    >>> _not_a_number("1e3")
    "expected a number, found '1e3', written with an exponent; write 1000"
    >>> _not_a_number("1e30")
    "expected a number, found '1e30', written with an exponent; write it in plain decimal notation"
    >>> _not_a_number("３")
    "expected a number, found '３', which holds ３ (FULLWIDTH DIGIT THREE, U+FF13), not one of the digits 0-9; write 3"
    """
    found = f"expected a number, found {text!r}"
    other = other_digits(text.strip())
    if other:
        return f"{found}, which {other}"
    if _EXPONENT.match(text.strip()):
        number = Decimal(text.strip())
        plain = format(number, "f") if abs(number.adjusted()) < 15 else "it in plain decimal notation"
        return f"{found}, written with an exponent; write {plain}"
    return found


# What Decimal would read as a number with an exponent (1e3, 2.5E-2): said as such, with the plain number.
_EXPONENT = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)[eE][+-]?[0-9]+$")


def _within_limit(number: Decimal, value: object) -> Decimal:
    if number.adjusted() >= 15 and number.copy_abs() >= NUMBER_LIMIT:  # copy_abs: no context, no overflow
        shown = repr(value) if isinstance(value, str) else str(value)
        if len(shown) > 60:  # a value pasted thousands of digits long: its start, and how long it is
            shown = f"{shown[:40]}… ({number.adjusted() + 1:,} digits before the decimal point)"
        raise NumberError("NUMBER_TOO_LARGE", f"expected a number below {NUMBER_LIMIT:,}, found {shown}")
    return number


def _other_to_decimal(value: object, kind: type) -> Decimal:
    if kind is int:
        return Decimal(value)
    if isinstance(value, bool):  # bool is an int subclass; YAML turns 'yes' into True
        raise NumberError("NOT_A_NUMBER", f"expected a number, found {value!r}")
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise NumberError("NOT_A_NUMBER", f"expected a finite number, found {value}")
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise NumberError("NOT_A_NUMBER", f"expected a finite number, found {value!r}")
        return Decimal(str(value))
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN.match(text):
            # A quoted "2.900" from a file keeps its mark (``TextLikeGrouped``) as a number.
            return TypedLikeGrouped(text) if getattr(value, "like_dot_grouped", False) else Decimal(text)
        return _recorded_or_refused(text, str(value))
    raise NumberError("NOT_A_NUMBER", f"expected a number, found {as_written(value)}")


def to_fraction(value: object) -> Decimal:
    """A completion, rate or addition point: a fraction, or a percent string.

    >>> to_fraction("60%")
    Decimal('0.60')
    >>> to_fraction(0.6)
    Decimal('0.6')
    >>> to_fraction("12.5 %")
    Decimal('0.125')
    """
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            number = to_decimal(value.strip()[:-1])
        except NumberError as e:
            number_part = value.strip()[:-1]
            said = e.message.replace(repr(number_part), repr(value))
            written = ascii_digits(number_part.strip())
            if said.endswith(f"; write {written}"):  # the number to write is a percent too
                said += "%"
            raise NumberError(e.code, said) from None
        return number.scaleb(-2)
    return to_decimal(value)


def require_decimal(value: object, what: str) -> Decimal:
    """Guard at the core's public entry points: Decimal (or int) only, never float."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"{what}: the costing core takes Decimal, not {type(value).__name__} ({value!r}); "
                    "convert at the edge with Decimal(str(x))")


# The error values a spreadsheet cell can show (Excel's, and LibreOffice's Err:5xx): never a number,
# never a blank.  Read by the close workbook and the Excel functions alike.  A cell stored as an
# error (``t="e"``) is refused by its type whatever it shows (``costing.workbook._source.ExcelError``);
# this list is for the paths that see only text: an error typed or pasted as text, a live Excel's
# values through xlwings.  Excel 365's newer errors included: #PYTHON! (Python in Excel), #EXTERNAL!
# (an external data type), #SPILL!, #CALC!, #FIELD!, #BLOCKED!, #CONNECT!, #BUSY!, #UNKNOWN!.
EXCEL_ERRORS = frozenset({"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA",
                          "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!", "#CONNECT!", "#BUSY!",
                          "#PYTHON!", "#EXTERNAL!"}
                         # LibreOffice shows its own errors as Err:501 to Err:539 (Err:502: an invalid
                         # argument, Err:504: a wrong parameter list, Err:508: unmatched brackets...).
                         | {f"Err:{n}" for n in range(501, 540)})


def from_excel(value: float) -> Decimal:
    """A number read from a spreadsheet cell, as the Decimal the user sees.

    Excel keeps 15 significant digits; a float with more is arithmetic's binary noise
    (``=36000.1+0.2`` is stored as 36000.299999999996, shown as 36,000.30), so it is read at 15
    digits.  Otherwise ``Decimal(str(x))``: the shortest text that is exactly this float.

    >>> from_excel(36000.299999999996), from_excel(0.1 + 0.2), from_excel(0.55), from_excel(1234.5)
    (Decimal('36000.3'), Decimal('0.3'), Decimal('0.55'), Decimal('1234.5'))
    """
    if value != value or value in (_INF, -_INF):  # NaN/inf: refused by to_decimal with its message
        return to_decimal(value)
    text = str(value)
    number = Decimal(text)
    if len(number.as_tuple().digits) > 15:
        number = Decimal(format(value, ".15g")).normalize(_EXCEL_DIGITS)
        if number == number.to_integral_value():
            number = number.quantize(_ONE_UNIT)
    return number


_INF = float("inf")
_EXCEL_DIGITS = Context(prec=15)
_ONE_UNIT = Decimal(1)


def percent_text(fraction: Decimal) -> str:
    """A fraction as the percent a person writes, exactly: 0.4 is 40%, 0.125 is 12.5%.

    >>> percent_text(Decimal("0.4")), percent_text(Decimal("0.125")), percent_text(Decimal("1.30"))
    ('40%', '12.5%', '130%')
    """
    return f"{(fraction * 100).normalize():f}%"



# A number written with a thousands separator or a decimal comma: 36,000.00, 9.450,00, 0,4, 1.234.567.
_SEPARATED = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]+)+")  # 0-9: a hint never suggests other digits
# Digits grouped by a space (a no-break, narrow no-break or thin one too) or an apostrophe, as
# fr_FR, ru_RU and de_CH show them: 36 000,00, 9 450,00, 36'000.00; a single ',' or '.' after the
# groups is the decimal point.
_SPACE_GROUPED = re.compile(r"([+-]?[0-9]{1,3}(?:[ \u00a0\u202f\u2009'’][0-9]{3})+)(?:([.,])([0-9]+))?")
_CURRENCY_SIGNS = "$€£¥₹"


def separator_hint(text: str) -> str | None:
    """What to say of ``text``, refused as a number in a close or case file, when it is a number
    written with a thousands separator or a decimal comma (as a locale shows it); None otherwise.
    A currency sign beside it, or parentheses for a negative amount, are said too.

    >>> separator_hint("9.450,00")
    "close and case files take '.' as the decimal point and no thousands separator, whatever `locale` says: write 9450.00"
    >>> [separator_hint(t).split(": write ")[1] for t in ("36,000.00", "9450,5", "0,4", "-1.234.567", "40,5%", "1,500")]
    ['36000.00', '9450.5', '0.4', '-1234567', '40.5%', '1500 (or 1.500 if the comma is a decimal point)']
    >>> [separator_hint(t).split(": write ")[1] for t in ("36 000,00", "36\u00a0000,00", "9\u202f450,00", "36'000.00")]
    ['36000.00', '36000.00', '9450.00', '36000.00']
    >>> [separator_hint(t).split(": write ")[1] for t in ("$36,000.00", "(9,450.00)", "9.450,00 €", "-$1,500.00")]
    ['36000.00 (no currency sign)', '-9450.00 (a minus sign, not parentheses)', '9450.00 (no currency sign)', '-1500.00 (no currency sign)']
    >>> separator_hint("12.5"), separator_hint("lots"), separator_hint("1,2.3,4"), separator_hint("$36000"), separator_hint("1 2")
    (None, None, None, None, None)
    """
    text = text.strip()
    notes = []
    negative = ""
    if len(text) > 2 and text[0] == "(" and text[-1] == ")":  # (9,450.00): an accountant's negative
        text, negative = text[1:-1].strip(), "-"
        notes.append("a minus sign, not parentheses")
    if text[:1] in ("+", "-") and text[1:2] in tuple(_CURRENCY_SIGNS):  # -$1,500.00
        if negative:
            return None
        negative, text = text[0].replace("+", ""), text[1:]
    if text[:1] and text[:1] in _CURRENCY_SIGNS or text[-1:] and text[-1:] in _CURRENCY_SIGNS:
        text = text.strip(_CURRENCY_SIGNS).strip()
        notes.insert(0, "no currency sign")
    note = f" ({', '.join(notes)})" if notes else ""
    percent = "%" if text.endswith("%") else ""
    digits = text[:-1].rstrip() if percent else text
    if digits[:1] in "+-" and negative:
        return None  # two signs: not a number written another way
    grouped = _SPACE_GROUPED.fullmatch(digits)
    if grouped is not None:
        whole = re.sub(r"[^0-9+-]", "", grouped.group(1))
        meant = negative + whole + ("." + grouped.group(3) if grouped.group(3) else "") + percent + note
        return _SEPARATOR_WORDS + meant
    separators = [c for c in digits if c in ",."]
    if not _SEPARATED.fullmatch(digits) or separators == ["."]:
        return None
    last = separators[-1]
    whole, fraction = digits.rsplit(last, 1)
    whole = negative + whole
    if len(set(separators)) == 2:  # 36,000.00 or 9.450,00: the last one is the decimal point
        if digits.count(last) > 1 or any(b != a for a, b in zip(separators, separators[1:-1])):
            return None
        meant = whole.replace("," if last == "." else ".", "") + "." + fraction + percent
    elif len(separators) > 1:  # 1.234.567 or 1,234,567: grouping only
        meant = negative + digits.replace(last, "") + percent
    elif len(fraction) == 3:  # 1,500: a thousands separator, or a decimal comma
        meant = f"{whole}{fraction}{percent} (or {whole}.{fraction}{percent} if the comma is a decimal point)"
    else:  # 0,4
        meant = f"{whole}.{fraction}{percent}"
    return _SEPARATOR_WORDS + meant + note


_SEPARATOR_WORDS = ("close and case files take '.' as the decimal point and no thousands separator, whatever "
                    "`locale` says: write ")
_REFUSED = "expected a number, found "


def with_separator_hints(issues: list[Issue]) -> list[Issue]:
    """``issues`` of a close or case file, a number refused as written with a thousands separator
    or a decimal comma (``expected a number, found '9.450,00'``) told how to write it instead.  The
    value is read back from the message's Python literal (``'36\\xa0000,00'``, ``"36'000.00"``), so
    what was typed is what is looked at.

    >>> [i.message.split("write ")[1] for i in with_separator_hints([
    ...     Issue("NOT_A_NUMBER", "a", "expected a number, found '36\\xa0000,00'"),
    ...     Issue("NOT_A_NUMBER", "b", 'expected a number, found "36\\'000.00"')])]
    ['36000.00', '36000.00']
    """
    out = []
    for issue in issues:
        hint = None
        if issue.code == "NOT_A_NUMBER" and issue.message.startswith(_REFUSED):
            written = _literal(issue.message[len(_REFUSED):])
            hint = separator_hint(written) if written is not None else None
        out.append(issue if hint is None else Issue(issue.code, issue.path, f"{issue.message}; {hint}", issue.source))
    return out


def _literal(text: str) -> str | None:
    """The str a Python literal (a ``repr``) writes, or None when ``text`` is not one."""
    import ast

    if len(text) < 2 or text[0] not in "'\"" or text[-1] != text[0]:
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    return value if isinstance(value, str) else None
