"""Rounding at assignment: largest-remainder allocation to the currency's minor unit.

Amounts are carried at full precision until they are assigned; then a whole (a stage's cost of one
element, a journal, a disposal value) is split into parts that are each rounded to the minor unit
and that add back up to the whole exactly.  Each part is first rounded with the chosen mode; if
the rounded parts do not add up, the missing (or surplus) minor units go to the parts whose
rounding moved them furthest from their exact value.  Ties go to the earlier part, so callers
decide precedence by the order they pass parts in.  Under half-even a part exactly at a half
rounds to the even unit first, as that mode says; the earlier-part rule then settles the units
still missing or surplus (0.025 and 0.015 of a whole 0.04 are 0.02 and 0.02 under half-even,
0.03 and 0.01 under half-up).
"""

from __future__ import annotations

import heapq
from decimal import Decimal, getcontext

from ._numbers import ENGINE_CONTEXT

__all__ = ["allocate", "round_whole"]


# How far rounding moved each part is compared to 12 places below the minor unit: parts that come
# from a division (a share of a count difference, units x a cost per equivalent unit) carry 34
# significant digits, so an exact tie (40/3 and 10/3 of a cent) differs in its last digit by the
# parts' sizes alone, and that digit must not decide who gets the cent.
_TIE_PLACES = 12
_TIE_BOUNDS: dict[Decimal, tuple[Decimal, Decimal, Decimal]] = {}


_LAST: tuple = (None, None)  # the last minor unit asked for and its bounds: one currency a close


def _bounds(quantum: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """(the tie precision, half the minor unit, what a part must have moved to be near a half:
    only those are looked at closely), kept per minor unit: ``allocate`` runs per stage element,
    and the same quantum object comes back (a hash of a Decimal costs more than the check)."""
    global _LAST
    last = _LAST
    if quantum is last[0]:
        return last[1]
    bounds = _TIE_BOUNDS.get(quantum)
    if bounds is None:
        fine = quantum.scaleb(-_TIE_PLACES)
        half = quantum / 2
        bounds = _TIE_BOUNDS[quantum] = (fine, half, half - fine)
    _LAST = (quantum, bounds)  # one assignment: a thread reads the old pair or the new, never half of each
    return bounds


def allocate(exact: list[Decimal], total: Decimal, quantum: Decimal, rounding: str | None) -> list[Decimal]:
    """Round ``exact`` parts to ``quantum`` so that they sum to ``total`` exactly.

    ``rounding`` is a decimal module constant, or None to use the current context's rounding
    (the engine runs inside a context set up for the case, which is measurably faster).

    ``total`` must already be a multiple of ``quantum`` and ``exact`` must add up to it (up to the
    engine's precision).

    >>> from decimal import ROUND_HALF_UP as UP
    >>> allocate([Decimal("1") / 3] * 3, Decimal("1.00"), Decimal("0.01"), UP)
    [Decimal('0.34'), Decimal('0.33'), Decimal('0.33')]
    >>> allocate([Decimal("0.335"), Decimal("0.335"), Decimal("0.33")], Decimal("1.00"), Decimal("0.01"), UP)
    [Decimal('0.34'), Decimal('0.33'), Decimal('0.33')]

    Whether a part is exactly at a half is not read from the last of its digits: 9908.235 arrives
    from a division as 9908.234999…998, and 12110.065 as 12110.065000…0, and each is a tie all the
    same.

    >>> rate = Decimal("22018.30") / 120
    >>> allocate([54 * rate, 66 * rate], Decimal("22018.30"), Decimal("0.01"), UP)
    [Decimal('9908.24'), Decimal('12110.06')]

    Only the last digits: a part 1.2e-16 below a half is below it.

    >>> allocate([Decimal("0.0749999999999998800"), Decimal("17.1250000000000001200")], Decimal("17.20"),
    ...          Decimal("0.01"), UP)
    [Decimal('0.07'), Decimal('17.13')]

    Ties the rounding mode leaves unsettled go to the earlier part under either mode:

    >>> from decimal import ROUND_HALF_EVEN as EVEN
    >>> parts = [Decimal("0.005")] * 4
    >>> allocate(parts, Decimal("0.02"), Decimal("0.01"), UP) == allocate(parts, Decimal("0.02"), Decimal("0.01"), EVEN)
    True
    >>> allocate(parts, Decimal("0.02"), Decimal("0.01"), UP)
    [Decimal('0.01'), Decimal('0.01'), Decimal('0.00'), Decimal('0.00')]
    >>> allocate(parts[:2], Decimal("0.01"), Decimal("0.01"), EVEN)
    [Decimal('0.01'), Decimal('0.00')]
    """
    if len(exact) == 2:
        # Two parts (the common case), the rule below without its sorting: each rounded; when they
        # miss the total (both were ties rounded the same way) the unit goes to, or is given back
        # by, the part that rounding moved furthest — the earlier one on a tie.
        a, b = exact
        ra, rb = (a.quantize(quantum), b.quantize(quantum)) if rounding is None else \
            (a.quantize(quantum, rounding=rounding), b.quantize(quantum, rounding=rounding))
        last = _LAST
        fine, half, near = last[1] if quantum is last[0] else _bounds(quantum)
        da = a - ra
        gap = total - ra - rb
        # Perhaps a tie the last digits hid, rounded as one.  With no gap the two parts moved alike
        # (they add up to the whole), so one tells; the common case stops there.
        if not gap and abs(da) < near:
            return [ra, rb]
        db = b - rb
        if abs(da) >= near or abs(db) >= near:
            ra, da = _as_tie(a, ra, da.quantize(fine), half, quantum, rounding, fine)
            rb, db = _as_tie(b, rb, db.quantize(fine), half, quantum, rounding, fine)
            gap = total - ra - rb
            if not gap:
                return [ra, rb]
        da, db = da.quantize(fine), db.quantize(fine)
        if gap > 0:
            return [ra + gap, rb] if da >= db else [ra, rb + gap]
        return [ra + gap, rb] if da < db else [ra, rb + gap]
    if rounding is None:
        rounded = [x.quantize(quantum) for x in exact]
    else:
        rounded = [x.quantize(quantum, rounding=rounding) for x in exact]
    last = _LAST
    fine, half, near = last[1] if quantum is last[0] else _bounds(quantum)
    moved = [x - r for x, r in zip(exact, rounded)]
    if max(moved) >= near or min(moved) <= -near:  # perhaps a tie the last digits hid: rounded as one
        for i, x in enumerate(exact):
            rounded[i] = _as_tie(x, rounded[i], moved[i].quantize(fine), half, quantum, rounding, fine)[0]
    gap = total - sum(rounded)
    if not gap:
        return rounded
    steps = int(gap / quantum)
    if steps * quantum != gap:
        raise ValueError(f"total {total} is not a multiple of the minor unit {quantum}")
    n = len(rounded)
    if abs(steps) > n:
        # The exact parts do not add up to the total: a bug in the caller, never a rounding matter.
        raise ValueError(f"parts {exact} do not add up to {total}")
    moved = [(x - r).quantize(fine) for x, r in zip(exact, rounded)]
    if steps > 0:
        # Parts rounded down the most get the missing minor units first.
        for i in _first(steps, n, lambda i: (-moved[i], i)):
            rounded[i] += quantum
    else:
        # Parts rounded up the most give back the surplus first; among equals the later ones, so
        # that the earlier part keeps the unit whichever way the rounding mode broke the tie.
        for i in _first(-steps, n, lambda i: (moved[i], -i)):
            rounded[i] -= quantum
    return rounded


def _as_tie(x: Decimal, r: Decimal, moved: Decimal, half: Decimal, quantum: Decimal, rounding: str | None,
            fine: Decimal) -> tuple[Decimal, Decimal]:
    """(the part rounded, how far that moved it, to ``fine``): a part a half away from its
    rounding but for its last digits (what a division leaves: 9908.234999…998 for
    9908.235) is rounded as the exact tie it stands for, in the rounding mode.  Only those last
    digits: 0.0749999999999998800 is 1.2e-16 below a half, far above a division's error, and no tie."""
    if abs(moved) != half:
        return r, moved
    off = half - abs(x - r)
    if off and off > _division_error(x):
        return r, moved
    tie = r + (half if x > r else -half)
    rounded = tie.quantize(quantum) if rounding is None else tie.quantize(quantum, rounding=rounding)
    return rounded, (x - rounded).quantize(fine)


def _division_error(x: Decimal) -> Decimal:
    """How far a part computed through a division and a product or two can lie from its exact
    value: a thousand units of its last significant digit — the 34th, the engine's, or fewer in a
    coarser context (Python's default 28).  Never finer than the engine's: a part computed in a
    wider context (the reports' parts, at 80 digits) from a cost per unit kept at 34 carries that
    one's error."""
    return Decimal(1).scaleb(x.adjusted() - min(getcontext().prec, ENGINE_CONTEXT.prec) + 4) if x else Decimal(0)


def round_whole(x: Decimal, quantum: Decimal, rounding: str | None = None) -> Decimal:
    """One amount rounded to ``quantum`` as ``allocate`` rounds a part: an exact half, however a
    division left its last digits, rounds as a tie in the rounding mode (None: the context's).

    >>> from decimal import ROUND_HALF_UP as UP
    >>> round_whole(54 * (Decimal("22018.30") / 120), Decimal("0.01"), UP)
    Decimal('9908.24')
    >>> round_whole(Decimal("0.0749999999999998800"), Decimal("0.01"), UP)
    Decimal('0.07')
    """
    r = x.quantize(quantum) if rounding is None else x.quantize(quantum, rounding=rounding)
    fine, half, near = _bounds(quantum)
    if abs(x - r) < near:
        return r
    return _as_tie(x, r, (x - r).quantize(fine), half, quantum, rounding, fine)[0]


def _first(k: int, n: int, key) -> list[int]:
    """The first ``k`` of ``range(n)`` in ``key`` order: ``heapq.nsmallest`` (which is
    ``sorted(...)[:k]``, ties included) for a large allocation — a plant-wide proration has a part
    per product-stage element — where sorting all of it would cost more."""
    if n > 64:
        return heapq.nsmallest(k, range(n), key=key)
    return sorted(range(n), key=key)[:k]
