"""Overhead applied at a predetermined rate, and the under/over-applied difference."""

from __future__ import annotations

from decimal import Decimal

from .._currency import quantum
from .._numbers import ROUNDING_MODES

__all__ = ["apply_overhead"]


def apply_overhead(rate: Decimal, quantity: Decimal, actual: Decimal, currency: str,
                   rounding: str = "half_up") -> tuple[Decimal, Decimal, Decimal]:
    """(applied, actual, under-applied) — applied = rate x driver quantity, rounded (half-up unless
    ``rounding`` says half_even) to the currency's minor unit as it is posted; under-applied is
    positive, over-applied negative.

    >>> apply_overhead(Decimal("18"), Decimal("630"), Decimal("11000"), "USD")
    (Decimal('11340.00'), Decimal('11000.00'), Decimal('-340.00'))
    >>> apply_overhead(Decimal("0.125"), Decimal("1"), Decimal("0"), "USD")[0]
    Decimal('0.13')
    """
    for name, value in (("rate", rate), ("driver_quantity", quantity), ("actual", actual)):
        if not isinstance(value, Decimal):
            raise ValueError(f"{name}: expected a number, found {value!r}")
    q = quantum(currency)
    applied = (rate * quantity).quantize(q, rounding=ROUNDING_MODES[rounding])
    actual = actual.quantize(q, rounding=ROUNDING_MODES[rounding])
    return applied, actual, actual - applied
