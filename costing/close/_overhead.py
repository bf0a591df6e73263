"""Overhead applied at a predetermined rate, and the under/over-applied difference."""

from __future__ import annotations

from decimal import Decimal

from .._currency import quantum
from .._numbers import ROUNDING_MODES, require_decimal

__all__ = ["apply_overhead", "applied_overhead"]


def applied_overhead(rate: Decimal, quantity: Decimal, q: Decimal, rounding: str) -> Decimal:
    """Overhead applied to one product-stage: rate x driver quantity, rounded as it is posted (to
    the minor unit ``q``, ``rounding`` a decimal constant).  The one rule: the close's two
    resolvers and the add-in's ``WIP_OVERHEAD`` (through ``apply_overhead``) all apply it here.

    >>> from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP
    >>> applied_overhead(Decimal("0.125"), Decimal("1"), Decimal("0.01"), ROUND_HALF_UP)
    Decimal('0.13')
    >>> applied_overhead(Decimal("0.125"), Decimal("1"), Decimal("0.01"), ROUND_HALF_EVEN)
    Decimal('0.12')
    """
    return (rate * quantity).quantize(q, rounding=rounding)


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
    rate, quantity, actual = (require_decimal(value, name) for name, value in (
        ("rate", rate), ("driver_quantity", quantity), ("actual", actual)))
    q = quantum(currency)
    applied = applied_overhead(rate, quantity, q, ROUNDING_MODES[rounding])
    actual = actual.quantize(q, rounding=ROUNDING_MODES[rounding])
    return applied, actual, actual - applied
