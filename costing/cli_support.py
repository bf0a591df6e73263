"""What a ``wip`` subcommand defined outside the package uses to behave like the built-in ones.

``wip`` takes commands from adapters too: ``costing.cli`` calls ``register(subparsers)`` in
``excel_addin._cli`` for ``wip addin``.  Every ``wip`` command says a problem the same way, so
these are shared rather than copied:

- ``print_issues(issues, writes=...)``: the problems on stderr, one a line, and how many (a command
  that writes adds that it wrote nothing);
- ``EXIT_INPUT``: the exit code for bad input (2; nothing was written);
- ``is_read_only(path)``: a file the command must not replace, found before anything is written
  (a file marked read-only is refused even for root, as ``wip close`` refuses it);
- ``ledger_option_for(path)``: `` --ledger PATH`` (absolute, quoted to paste safely) for the
  commands a ledger's messages suggest, where no working directory relates the two (Excel).
"""

from __future__ import annotations

from ._atomic import is_read_only
from pathlib import Path

from ._cli_common import EXIT_INPUT, print_issues, shell_word

__all__ = ["EXIT_INPUT", "print_issues", "is_read_only", "ledger_option_for"]


def ledger_option_for(path: str | Path) -> str:
    """`` --ledger PATH`` with the ledger's absolute path, one pasteable word (``shell_word``).

    >>> ledger_option_for("/books/wip ledger.db") == " --ledger " + shell_word("/books/wip ledger.db")
    True
    """
    return f" --ledger {shell_word(str(Path(path).absolute()))}"  # absolute: never read as an option
