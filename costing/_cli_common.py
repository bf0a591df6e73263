"""What every ``wip`` command says the same way: how problems are printed and the exit code for
bad input.  Shared by ``costing.cli`` and the feature areas' own commands (``costing/<area>/_cli.py``)."""

from __future__ import annotations

import re
import sys
from typing import Sequence

from ._errors import Issue

__all__ = ["EXIT_INPUT", "DEFAULT_LEDGER", "print_issues", "period_argument"]

EXIT_INPUT = 2  # the input has problems; a command that writes wrote nothing
DEFAULT_LEDGER = "wip-ledger.db"  # in the working directory, unless --ledger (or a close file's folder)


def print_issues(issues: Sequence[Issue], writes: bool = False) -> None:
    """The problems, one a line, and how many.  A command that writes (close, reopen, export, a
    report into ``--xlsx``) adds that it wrote nothing; one that only reads does not say so — it
    would suggest something might have been."""
    for issue in issues:
        print(f"error: {issue}", file=sys.stderr)
    noun = "problem" if len(issues) == 1 else "problems"
    print(f"{len(issues)} {noun} found" + ("; nothing was written." if writes else "."), file=sys.stderr)


def period_argument(text: str) -> str:
    """The commands' period: a month YYYY-MM, or argparse's usage error (exit 2) saying what is wrong
    with it, with the code a close file's period gets.

    >>> period_argument("2026-10")
    '2026-10'
    >>> for bad in ("2026-13", "2026-00", "2026-1", " 2026-10", "Oct 2026"):
    ...     try:
    ...         period_argument(bad)
    ...     except Exception as e:
    ...         print(e)
    month 13 does not exist (months are 01 to 12): expected a month YYYY-MM, found '2026-13' [INVALID_FORMAT]
    month 00 does not exist (months are 01 to 12): expected a month YYYY-MM, found '2026-00' [INVALID_FORMAT]
    the month needs two digits (2026-01 for January): expected a month YYYY-MM, found '2026-1' [INVALID_FORMAT]
    spaces around the month: expected a month YYYY-MM, found ' 2026-10' [INVALID_FORMAT]
    expected a month YYYY-MM (e.g. 2026-10), found 'Oct 2026' [INVALID_FORMAT]
    """
    from argparse import ArgumentTypeError

    from ._period import is_period

    if is_period(text):
        return text
    found = f"expected a month YYYY-MM, found {text!r} [INVALID_FORMAT]"
    if is_period(text.strip()):
        raise ArgumentTypeError(f"spaces around the month: {found}")
    digits = re.fullmatch(r"(\d{4})-(\d{1,2})", text.strip())
    if digits and len(digits[2]) == 2:
        raise ArgumentTypeError(f"month {digits[2]} does not exist (months are 01 to 12): {found}")
    if digits and 1 <= int(digits[2]) <= 9:
        raise ArgumentTypeError(f"the month needs two digits ({digits[1]}-0{digits[2]} for "
                                f"{_MONTH_NAMES[int(digits[2]) - 1]}): {found}")
    raise ArgumentTypeError(f"expected a month YYYY-MM (e.g. 2026-10), found {text!r} [INVALID_FORMAT]")


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
