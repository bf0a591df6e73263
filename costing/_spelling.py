"""How far apart two names are as typed: what a "did you mean" and a refused typing slip rest on,
for the variance commands' standards names and the Excel add-in's columns and block keys."""

from __future__ import annotations

__all__ = ["edit_distance"]


def edit_distance(a: str, b: str) -> int:
    """Letters typed wrong, left out, added or swapped with the next, each one slip
    (Damerau-Levenshtein, optimal string alignment).

    >>> edit_distance("curency", "currency"), edit_distance("rouding", "rounding"), edit_distance("satge", "stage")
    (1, 1, 1)
    >>> edit_distance("currently", "currency"), edit_distance("inspector", "inspection")
    (2, 2)
    >>> edit_distance("tesitng", "testing"), edit_distance("labor", "labour"), edit_distance("retesting", "testing")
    (1, 1, 2)
    """
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y))
            if i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[-1]
