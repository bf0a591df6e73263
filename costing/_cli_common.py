"""What every ``wip`` command says the same way: how problems are printed and the exit code for
bad input.  Shared by ``costing.cli`` and the feature areas' own commands (``costing/<area>/_cli.py``)."""

from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Sequence

from ._errors import Issue, shown_safely
from ._numbers import ascii_digits as _ascii_digits

__all__ = ["EXIT_INPUT", "DEFAULT_LEDGER", "print_issues", "period_argument", "ledger_option", "shell_word",
           "open_ledger", "progress_bar", "end_progress_bar"]

EXIT_INPUT = 2  # the input has problems; a command that writes wrote nothing
DEFAULT_LEDGER = "wip-ledger.db"  # in the working directory, unless --ledger (or a close file's folder)


def progress_bar(done: int, total: int, what: str = "costing products") -> None:
    """A progress bar on stderr for a long run (500 products and more), when stderr is a terminal:
    the close, and the reports that cost a recorded close again (``wip report``, ``wip variance``)."""
    global _bar_open
    if total >= 500 and sys.stderr.isatty():
        width = 30
        filled = width * done // total
        sys.stderr.write(f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        _bar_open = done != total
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


_bar_open = False  # a bar drawn and not finished (a product failed before the last): its line is open


def end_progress_bar() -> None:
    """Ends a bar left unfinished, so that what is printed next starts on a line of its own."""
    global _bar_open
    if _bar_open:
        sys.stderr.write("\n")
        _bar_open = False


def print_issues(issues: Sequence[Issue], writes: bool = False) -> None:
    """The problems, one a line, and how many.  A command that writes (close, reopen, export, a
    report into ``--xlsx``) adds that it wrote nothing; one that only reads does not say so — it
    would suggest something might have been."""
    end_progress_bar()
    for issue in issues:
        print(f"error: {shown_safely(str(issue))}", file=sys.stderr)
    noun = "problem" if len(issues) == 1 else "problems"
    print(f"{len(issues)} {noun} found" + ("; nothing was written." if writes else "."), file=sys.stderr)


def ledger_option(path: str | Path, *, for_close: bool = False) -> str:
    """`` --ledger PATH`` for a command suggested in a message about the ledger at ``path``, so that it
    reaches that ledger when run from here; "" for the ledger the commands find without it
    (wip-ledger.db in the working directory) — except ``for_close``: `wip close FILE` finds its
    ledger beside FILE, so it is always given.  A path under the working directory is shown from it;
    one starting with ``-`` is given as ``--ledger=PATH`` (``--ledger -x.db`` reads as two options)."""
    path = Path(path)
    try:
        if not for_close and path.resolve() == Path(DEFAULT_LEDGER).resolve():
            return ""
    except OSError:  # pragma: no cover - a path that cannot be resolved is shown as given
        pass
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            pass
    text = str(path)
    return f" --ledger={shell_word(text)}" if text.startswith("-") else f" --ledger {shell_word(text)}"


def open_ledger(path: str | Path, *, create: bool = False, writes: bool = False):
    """The ledger at ``path`` for a command, its messages' suggested commands reaching it
    (``ledger_option``); or None after saying, at --ledger, why it cannot be used (and the
    ``LedgerError``, for a command whose exit status depends on it): (ledger, None) or (None, error).
    One definition for `wip` and `wip variance`."""
    from .ledger import Ledger, LedgerError

    try:
        return Ledger(path, create=create, ledger_option=ledger_option(path),
                      close_ledger_option=ledger_option(path, for_close=True)), None
    except LedgerError as e:  # the ledger file given (or found by default) cannot be used: said at --ledger
        print_issues([Issue(e.code, "--ledger", e.message)], writes=writes)
        return None, e


def shell_word(text: str, windows: bool | None = None) -> str:
    r"""``text`` as one word of a command line that, pasted, runs nothing of it: as is when it is
    plain; else on POSIX in single quotes (``shlex.quote``: ``$``, backticks and ``\`` are text
    there), on Windows (``windows``; default: this is Windows) in double quotes, which the command
    prompt and PowerShell both read as one word, with PowerShell's ``$`` and backtick escaped by a
    backtick (a ``%`` stays: the command prompt expands ``%NAME%`` inside quotes and has no escape
    there — it names a variable, it runs nothing).

    >>> shell_word("sub/wip-ledger.db", windows=False), shell_word("My Ledgers/a`id`$(id).db", windows=False)
    ('sub/wip-ledger.db', "'My Ledgers/a`id`$(id).db'")
    >>> print(shell_word("it's.db", windows=False))
    'it'"'"'s.db'
    >>> print(shell_word("C:\\My Ledgers\\a`id`$(id).db", windows=True))
    "C:\My Ledgers\a``id```$(id).db"
    >>> print(shell_word("C:\\Ledgers\\wip-ledger.db", windows=True))
    C:\Ledgers\wip-ledger.db
    >>> print(shell_word("\\\\srv\\C$\\My Books\\wip-ledger.db", windows=True))
    "\\srv\C$\My Books\wip-ledger.db"
    """
    windows = os.name == "nt" if windows is None else windows
    if windows:
        if text and re.fullmatch(r"[\w@+=:,./\\-]+", text):
            return text
        # A $ is escaped only where PowerShell would expand it (a name, {, (, ?, ^, $ or : follows):
        # `\\srv\C$\Books` keeps its administrative share's $ as is, which the command prompt,
        # knowing no backtick, reads the same.  A " cannot be in a Windows file name anyway.
        return '"' + re.sub(r'(`|\$(?=[\w{(?:^$])|")', r"`\1", text) + '"'
    if text and re.fullmatch(r"[\w@+=:,./-]+", text):  # \w: a letter of any script is plain to a shell
        return text
    return shlex.quote(text)


def ledger_argument(text: str) -> str:
    """``--ledger``: a path, or argparse's usage error (exit 2) for an empty one — a script's unset
    variable (``--ledger "$LEDGER"``) would otherwise close into the default ledger, not the one
    the auditor keeps.

    >>> ledger_argument("books/wip.db")
    'books/wip.db'
    >>> ledger_argument(" ")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: is empty (an unset variable in a script?): give the ledger file, or leave --ledger out for the default [LEDGER_UNAVAILABLE]
    """
    from argparse import ArgumentTypeError

    if not text.strip():
        raise ArgumentTypeError("is empty (an unset variable in a script?): give the ledger file, or leave --ledger "
                                "out for the default [LEDGER_UNAVAILABLE]")
    return text


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
    >>> for bad in ("\uff12\uff10\uff12\uff16-10", "2026-\uff11\uff13"):  # full-width digits
    ...     try:
    ...         period_argument(bad)
    ...     except Exception as e:
    ...         print(e)
    write the digits as 0-9 (2026-10): expected a month YYYY-MM, found '２０２６-10' [INVALID_FORMAT]
    expected a month YYYY-MM (e.g. 2026-10), found '2026-１３' [INVALID_FORMAT]
    """
    from argparse import ArgumentTypeError

    from ._period import is_period

    if is_period(text):
        return text
    found = f"expected a month YYYY-MM, found {text!r} [INVALID_FORMAT]"
    if is_period(text.strip()):
        raise ArgumentTypeError(f"spaces around the month: {found}")
    ascii_digits = _ascii_digits(text.strip())
    if ascii_digits != text.strip() and is_period(ascii_digits):
        raise ArgumentTypeError(f"write the digits as 0-9 ({ascii_digits}): {found}")
    digits = re.fullmatch(r"([0-9]{4})-([0-9]{1,2})", text.strip())
    if digits and len(digits[2]) == 2:
        raise ArgumentTypeError(f"month {digits[2]} does not exist (months are 01 to 12): {found}")
    if digits and 1 <= int(digits[2]) <= 9:
        raise ArgumentTypeError(f"the month needs two digits ({digits[1]}-0{digits[2]} for "
                                f"{_MONTH_NAMES[int(digits[2]) - 1]}): {found}")
    raise ArgumentTypeError(f"expected a month YYYY-MM (e.g. 2026-10), found {text!r} [INVALID_FORMAT]")


def close_number_argument(text: str) -> int:
    """A close number (``--after-close N``): digits 0-9, 1 or more, as `wip history` shows them; or
    argparse's usage error (exit 2) saying what is wrong.  Python's int() would take '٣' or '１' as a
    digit, '1_0' as 10 and ' 1' as 1: the journals after another close than the one meant.

    >>> close_number_argument("3")
    3
    >>> for bad in ("\u0663", " 1", "1_0", "0", "-1", "x"):
    ...     try:
    ...         close_number_argument(bad)
    ...     except Exception as e:
    ...         print(e)
    write the digits as 0-9 (3): expected a close number as `wip history` shows it (#1, #2, ...), found '٣' [INVALID_FORMAT]
    spaces around the number: expected a close number as `wip history` shows it (#1, #2, ...), found ' 1' [INVALID_FORMAT]
    expected a close number as `wip history` shows it (#1, #2, ...), found '1_0' [INVALID_FORMAT]
    closes are numbered from 1: expected a close number as `wip history` shows it (#1, #2, ...), found '0' [INVALID_FORMAT]
    closes are numbered from 1: expected a close number as `wip history` shows it (#1, #2, ...), found '-1' [INVALID_FORMAT]
    expected a close number as `wip history` shows it (#1, #2, ...), found 'x' [INVALID_FORMAT]
    """
    from argparse import ArgumentTypeError

    found = f"expected a close number as `wip history` shows it (#1, #2, ...), found {text!r} [INVALID_FORMAT]"
    if re.fullmatch(r"[0-9]+", text) and int(text) >= 1:
        return int(text)
    if re.fullmatch(r"[0-9]+", text.strip()) and text.strip() != text:
        raise ArgumentTypeError(f"spaces around the number: {found}")
    if re.fullmatch(r"-?[0-9]+", text):
        raise ArgumentTypeError(f"closes are numbered from 1: {found}")
    ascii_digits = _ascii_digits(text.strip())
    if ascii_digits != text.strip() and re.fullmatch(r"[0-9]+", ascii_digits):
        raise ArgumentTypeError(f"write the digits as 0-9 ({ascii_digits}): {found}")
    raise ArgumentTypeError(found)


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                "November", "December")
