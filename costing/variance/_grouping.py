"""Numbers a '.'-grouping locale makes a thousand times apart: 1.500 is one thousand five hundred
in de_DE and one and a half with a decimal point.  Shared by the standards file and the orders file
of the variance commands, which read '.' as the decimal point (YAML, JSON, a comma CSV) for a close
whose locale may write it between thousands."""

from __future__ import annotations

from decimal import Decimal

from .._numbers import LIKE_DOT_GROUPED
from ..close._resolve import groups_with_dot

__all__ = ["groups_with_dot", "thousand_or_fraction", "two_readings"]



def thousand_or_fraction(value: object) -> str | None:
    """The text of ``value`` when it is written like 1.500 — a whole number with '.' between
    thousands, or a fraction with three places — else None.  A YAML or JSON number keeps the digits
    written (``costing._casefile``: 1.500 is Decimal('1.500')), so a number is looked at as well as a
    string.

    >>> thousand_or_fraction(Decimal("1.500")), thousand_or_fraction("12.000"), thousand_or_fraction(" 1.300 ")
    ('1.500', '12.000', '1.300')
    >>> thousand_or_fraction(Decimal("1.5")), thousand_or_fraction(Decimal("0.500")), thousand_or_fraction("1500.000")
    (None, None, None)
    >>> thousand_or_fraction(True), thousand_or_fraction(Decimal("1.5000")), thousand_or_fraction(3)
    (None, None, None)
    """
    if isinstance(value, Decimal) and value.is_finite():
        text = format(value, "f")
    elif isinstance(value, str):
        text = value.strip()
    else:
        return None
    return text if LIKE_DOT_GROUPED.fullmatch(text) else None


def two_readings(text: str, separator: str = ".", decimal: str = ".") -> tuple[str, str]:
    """``text`` (1.500) read with ``separator`` between thousands and as the decimal separator,
    the latter written with ``decimal``: ('1500', '1.5').  A fraction whose trailing zeros leave
    three places (1.234) is written with a fourth (1.2340), which no longer reads as thousands.

    >>> two_readings("1.500"), two_readings("-12.000"), two_readings("1.234"), two_readings("1,500", ",", ",")
    (('1500', '1.5'), ('-12000', '-12'), ('1234', '1.2340'), ('1500', '1,5'))
    """
    sign = "-" if text.startswith("-") else ""
    whole, fraction = text.lstrip("+-").split(separator)
    thousands = f"{sign}{whole}{fraction}"
    fraction = fraction.rstrip("0")
    fraction += "0" if len(fraction) == 3 else ""
    return thousands, f"{sign}{whole}" + (f"{decimal}{fraction}" if fraction else "")
