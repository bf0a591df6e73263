"""Largest-remainder allocation against an exact reference of the documented rule, on parts made as
the engine makes them — a whole shared by weights (a count difference over the elements, a pool's
difference over the places its overhead went), each part a 34-digit Decimal quotient.

The rule (costing/_rounding.py, docs/case-file.md): each part rounded with the mode; missing minor
units go to the parts rounding moved down the most, ties to the earlier part; surplus is taken from
the parts moved up the most, ties from the later part.  The reference works on the exact Fractions,
so a tie is a tie; the engine's parts carry a last digit that depends on their size, which must not
decide."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from costing._numbers import engine_context
from costing._rounding import allocate


def _round(x: Fraction, q: Fraction, mode: str) -> Fraction:
    n = x / q
    whole = n.numerator // n.denominator
    rest = n - whole
    if rest != Fraction(1, 2):
        return (whole + (rest > Fraction(1, 2))) * q
    if mode == ROUND_HALF_UP:  # half away from zero
        return (whole + 1 if x > 0 else whole) * q
    return (whole if whole % 2 == 0 else whole + 1) * q


def _reference(exact: list[Fraction], total: Fraction, q: Fraction, mode: str) -> list[Fraction]:
    rounded = [_round(x, q, mode) for x in exact]
    steps = (total - sum(rounded)) / q
    assert steps.denominator == 1
    moved = [x - r for x, r in zip(exact, rounded)]
    order = range(len(exact))
    if steps > 0:
        for i in sorted(order, key=lambda i: (-moved[i], i))[:int(steps)]:
            rounded[i] += q
    else:
        for i in sorted(order, key=lambda i: (moved[i], -i))[:int(-steps)]:
            rounded[i] -= q
    return rounded


@settings(max_examples=400, deadline=None)
@given(places=st.sampled_from([0, 2, 3]), mode=st.sampled_from([ROUND_HALF_UP, ROUND_HALF_EVEN]),
       units=st.integers(min_value=-10 ** 12, max_value=10 ** 12),
       weights=st.lists(st.integers(min_value=0, max_value=1000), min_size=2, max_size=8).filter(any))
def test_shares_of_a_whole_round_as_the_rule_says(places, mode, units, weights):
    q = Decimal(1).scaleb(-places)
    total = units * q
    whole = sum(weights)
    with localcontext(engine_context(mode)):
        parts = [total * w / whole for w in weights]  # as the engine divides: 34 significant digits
        got = allocate(parts, total, q, None)
    exact = [Fraction(total) * w / whole for w in weights]
    assert sum(got) == total  # conserved to the minor unit
    assert [Fraction(g) for g in got] == _reference(exact, Fraction(total), Fraction(q), mode)
