"""How far apart two names are as typed: what a "did you mean" and a refused typing slip rest on,
for the variance commands' standards names and the Excel add-in's columns and block keys."""

from __future__ import annotations

__all__ = ["edit_distance", "likely_meant"]


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


def likely_meant(typed: str, names) -> str | None:
    """The one of ``names`` that ``typed`` most likely is, misspelt or in other capitals, or None:
    the same in any case, or one slip away (two for names of six letters or more — 'note' is
    two slips from 'name', 'rate' and 'code', and is none of them).

    >>> likely_meant("curency", ["company", "currency"]), likely_meant("Method", ["method"])
    ('currency', 'method')
    >>> likely_meant("loss_conventon", ["loss_convention", "locale"]), likely_meant("note", ["name", "rate"])
    ('loss_convention', None)
    """
    folded = typed.casefold()
    best: list[tuple[int, str]] = []
    for name in names:
        if name.casefold() == folded:
            return name
        distance = edit_distance(folded, name.casefold())
        if distance <= (2 if min(len(typed), len(name)) >= 6 else 1):
            best.append((distance, name))
    best.sort()
    if not best or (len(best) > 1 and best[0][0] == best[1][0]):
        return None
    return best[0][1]
