"""Currencies and their minor units (from babel's CLDR data, not a hand-kept table)."""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache

from babel.numbers import get_currency_precision, list_currencies

__all__ = ["is_known_currency", "is_known_locale", "minor_unit", "quantum", "unknown_currency_text",
           "finer_than_currency"]


@lru_cache(maxsize=None)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    return code in _currencies()


def unknown_currency_text(code: object) -> str:
    """Why ``code`` is refused, and what to type: the code in capitals when that is one.

    >>> unknown_currency_text("usd"), unknown_currency_text("EURO")
    ("unknown currency 'usd'; expected an ISO 4217 code in capitals: type it as USD", "unknown currency 'EURO'; expected an ISO 4217 code such as USD, EUR, JPY")
    """
    meant = code.strip().upper() if isinstance(code, str) else ""
    if meant != code and is_known_currency(meant):
        return f"unknown currency {code!r}; expected an ISO 4217 code in capitals: type it as {meant}"
    return f"unknown currency {code!r}; expected an ISO 4217 code such as USD, EUR, JPY"


def finer_than_currency(amount: Decimal | None, currency: str) -> str | None:
    """Why an amount of ``currency`` given with more decimal places than its minor unit is refused
    (posted, or compared with what is: a threshold, a budget), or None; trailing zeros are no places.

    >>> finer_than_currency(Decimal("100.005"), "USD"), finer_than_currency(Decimal("15000.0"), "JPY")
    ('100.005 has more decimal places than USD allows (2)', None)
    """
    if amount is None or not amount.is_finite() or amount == amount.quantize(quantum(currency)):
        return None
    return f"{amount} has more decimal places than {currency} allows ({minor_unit(currency)})"


@lru_cache(maxsize=None)
def is_known_locale(name: str) -> bool:
    """A locale babel has CLDR data for (number formats follow it).

    >>> is_known_locale("de_DE"), is_known_locale("xx_YY"), is_known_locale("")
    (True, False, False)
    """
    from babel import Locale

    try:
        Locale.parse(name)
    except Exception:  # babel raises several types for unknown or malformed locales
        return False
    return True


@lru_cache(maxsize=None)
def minor_unit(code: str) -> int:
    """Decimal places of the currency's minor unit.

    >>> minor_unit("USD"), minor_unit("JPY"), minor_unit("KWD")
    (2, 0, 3)
    """
    return get_currency_precision(code)


@lru_cache(maxsize=None)
def quantum(code: str) -> Decimal:
    """The smallest amount that can be posted: Decimal('0.01') for USD, Decimal('1') for JPY."""
    return Decimal(1).scaleb(-minor_unit(code))
