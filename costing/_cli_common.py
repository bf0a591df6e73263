"""What every ``wip`` command says the same way: how problems are printed and the exit code for
bad input.  Shared by ``costing.cli`` and the feature areas' own commands (``costing/<area>/_cli.py``)."""

from __future__ import annotations

import sys
from typing import Sequence

from ._errors import Issue

__all__ = ["EXIT_INPUT", "DEFAULT_LEDGER", "print_issues"]

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
