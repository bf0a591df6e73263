"""Number formats for the workbook's cells, from its currency and locale (babel's CLDR data).

Excel stores a format with '.' and ',' whatever the locale (the reader's Excel shows its own
separators); what follows the locale is the currency symbol, where it stands, and the currency's
decimal places (USD 2, JPY 0, KWD 3).  Values are already rounded; a format never rounds money.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from babel.numbers import get_currency_symbol

from .._currency import minor_unit

__all__ = ["money_format", "amount_only_format", "UNITS_FORMAT", "RATE_FORMAT", "FRACTION_FORMAT", "DATE_FORMAT"]

UNITS_FORMAT = "#,##0.########"
RATE_FORMAT = "#,##0.0000"
FRACTION_FORMAT = "0.0%"
# A posting date: a real date (sortable, filterable), shown the same in every locale (ISO 8601, never
# 03/04 read as March or April).
DATE_FORMAT = "yyyy-mm-dd"


def _number(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places else "")


@lru_cache(maxsize=64)
def money_format(currency: str, locale: str) -> str:
    """The Excel format for amounts in ``currency`` as ``locale`` writes them.

    >>> money_format("USD", "en_US")
    '"$"#,##0.00;-"$"#,##0.00'
    >>> money_format("EUR", "de_DE")
    '#,##0.00\\\\ "€";-#,##0.00\\\\ "€"'
    >>> money_format("JPY", "ja_JP")
    '"￥"#,##0;-"￥"#,##0'
    """
    places = minor_unit(currency)
    try:
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
        symbol = get_currency_symbol(currency, locale)
    except Exception:  # an unknown locale: the close refuses it anyway; keep a plain format
        return amount_only_format(currency)
    number = _number(places)
    quoted = '"' + symbol.replace('"', "") + '"'
    if pattern.strip().endswith("¤"):
        positive = f"{number}\\ {quoted}" if pattern.rstrip("¤").endswith(("\xa0", " ", "\u202f")) else f"{number}{quoted}"
    else:
        positive = f"{quoted}\\ {number}" if pattern.lstrip("¤").startswith(("\xa0", " ", "\u202f")) else f"{quoted}{number}"
    return f"{positive};-{positive}"


def amount_only_format(currency: str) -> str:
    """Amounts without a symbol, at the currency's places: '#,##0.00;-#,##0.00' for USD."""
    number = _number(minor_unit(currency))
    return f"{number};-{number}"
