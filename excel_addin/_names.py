"""Is a name a typing slip of another?  Used to refuse a misspelt column (``curency``) or block key
(``elemnt``) rather than leave it out without a sign, while leaving a user's own names alone
(``currently``, ``stage_name``, ``state``).  A name with a word added or cut short
(``currency_code``, ``curr``) is no slip: a table function refuses it by the stem it holds
(``functions._STEMS``) when it stands for an optional column that changes the figures."""

from __future__ import annotations

from costing import edit_distance

__all__ = ["is_typo"]


def is_typo(name: str, meant: str) -> bool:
    """``name`` is ``meant`` typed with a slip: neither contains the other (a name with a word added
    or cut short is a name of its own: ``currency_code``, ``curr``), and they are at most one slip
    apart — two when both have 10 letters or more.  A name under 6 letters is a slip only by a letter
    left out, added or swapped, never one typed differently (``state`` is not ``stage``).

    >>> [is_typo(n, "currency") for n in ("curency", "currnecy", "currently", "currency_code", "curr")]
    [True, True, False, False, False]
    >>> [is_typo(n, "spoiled_units") for n in ("spoiled_unist", "spoilt_units", "spoiled_unit_cost", "spoiled")]
    [True, True, False, False]
    >>> [is_typo(n, "inspection") for n in ("inspecton", "inspector", "inspection_note", "inspections")]
    [True, False, False, False]
    >>> [is_typo(n, "stage") for n in ("stge", "satge", "stagge", "state", "stage_name", "status")]
    [True, True, True, False, False, False]
    """
    if name == meant or name in meant or meant in name:
        return False
    distance = edit_distance(name, meant)
    if min(len(name), len(meant)) >= 10:
        return distance <= 2
    if min(len(name), len(meant)) >= 6:
        return distance <= 1
    return distance == 1 and (len(name) != len(meant) or sorted(name) == sorted(meant))
