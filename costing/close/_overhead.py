"""Overhead applied at a predetermined rate, and the under/over-applied difference."""

from __future__ import annotations

from decimal import Decimal

from .._currency import quantum
from .._numbers import ENGINE_CONTEXT, NUMBER_LIMIT, ROUNDING_MODES, NumberError, require_decimal

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

    Raises ``NumberError`` NUMBER_TOO_LARGE when rate x driver quantity, or the actual overhead, is
    not below ``NUMBER_LIMIT`` (10^15), as the close refuses it: no posting of it can be made exactly.

    >>> apply_overhead(Decimal("18"), Decimal("630"), Decimal("11000"), "USD")
    (Decimal('11340.00'), Decimal('11000.00'), Decimal('-340.00'))
    >>> apply_overhead(Decimal("0.125"), Decimal("1"), Decimal("0"), "USD")[0]
    Decimal('0.13')
    >>> try:
    ...     apply_overhead(Decimal("9E+14"), Decimal("9E+14"), Decimal("0"), "USD")
    ... except NumberError as e:
    ...     print(e.code)
    NUMBER_TOO_LARGE
    """
    rate, quantity, actual = (require_decimal(value, name) for name, value in (
        ("rate", rate), ("driver_quantity", quantity), ("actual", actual)))
    # Measured in the engine's context (the product is not rounded, whatever the caller's context),
    # before anything is quantized: beyond the limit quantize fails (8.1E+29 to the cent) or posts
    # an amount no ledger takes.
    if abs(ENGINE_CONTEXT.multiply(rate, quantity)) >= NUMBER_LIMIT:
        raise NumberError("NUMBER_TOO_LARGE", f"overhead applied would be rate {rate} × driver quantity {quantity}, "
                                              f"not below {NUMBER_LIMIT:,}; check the rate and the driver quantity")
    if abs(actual) >= NUMBER_LIMIT:
        raise NumberError("NUMBER_TOO_LARGE", f"actual overhead {actual} is not below {NUMBER_LIMIT:,}")
    q = quantum(currency)
    applied = applied_overhead(rate, quantity, q, ROUNDING_MODES[rounding])
    actual = actual.quantize(q, rounding=ROUNDING_MODES[rounding])
    return applied, actual, actual - applied
