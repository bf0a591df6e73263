"""beancount: ``open`` directives for every account used, then one transaction per journal.

Account names are ``<Root>:<Segment>...``: the root from the account type (Assets, Liabilities,
Equity, Income, Expenses), the segments from the account's name (``Parent:Sub`` gives two), each
in ASCII, capitalised, with spaces and punctuation removed (``Work in process - Assembly`` →
``WorkInProcessAssembly``).  Two accounts that would share a name both get ``-<code>`` appended.
The accounts open on the first day of the period (or the earliest journal date, if earlier).
Each transaction carries ``id: "<journal id>"`` metadata and line memos as ``memo:`` posting
metadata.  Beancount's own balance tolerance is looser than a cent; the journals were checked to
balance exactly before writing.  UTF-8, LF line ends (a text file, not CSV).
"""

from __future__ import annotations

import re

from .._journal import Account
from ._common import ExportError, PreparedBook, clean_text, file_name, text, to_ascii

__all__ = ["render", "account_names"]

ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
         "expense": "Expenses"}
_WORD = re.compile(r"[A-Za-z0-9]+")
_ACCOUNT = re.compile(r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+")


def _segment(value: str) -> str:
    """One account-name component.

    >>> _segment("Work in process - Assembly"), _segment("Café supplies"), _segment("3rd-party WIP")
    ('WorkInProcessAssembly', 'CafeSupplies', '3rdPartyWIP')
    """
    return "".join(word[0].upper() + word[1:] for word in _WORD.findall(to_ascii(value)))


def _derived(account: Account) -> str:
    segments = [s for s in map(_segment, account.name.split(":")) if s] or [_segment(account.code) or "Account"]
    return ":".join([ROOTS[account.type], *segments])


def account_names(accounts: list[Account]) -> dict[str, str]:
    """Beancount account name by account code, unique across ``accounts``."""
    by_name: dict[str, list[Account]] = {}
    for account in accounts:
        by_name.setdefault(_derived(account), []).append(account)
    names = {}
    for name, group in by_name.items():
        for account in group:
            names[account.code] = name if len(group) == 1 else f"{name}-{_segment(account.code)}"
    if len(set(names.values())) != len(names):
        raise ExportError(f"accounts {sorted(names)} cannot be given distinct beancount names")
    for code, name in names.items():
        if not _ACCOUNT.fullmatch(name):
            raise ExportError(f"account {code}: {name!r} is not a valid beancount account name")
    return names


def _string(value: str) -> str:
    escaped = text(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def render(book: PreparedBook) -> dict[str, bytes]:
    used = {line.account.code: line.account for journal in book.journals for line in journal.lines}
    names = account_names(list(used.values()))
    opened = min([book.period_start, *(journal.date for journal in book.journals)])
    out = [f"; {clean_text(book.company)}: journals of the WIP close {book.period} ({book.currency})", ""]
    out += [f"{opened.isoformat()} open {name} {book.currency}" for name in sorted(names.values())]
    width = max((len(name) for name in names.values()), default=0)
    amount_width = max((len(book.amount(line.amount)) for journal in book.journals for line in journal.lines),
                       default=0)
    for journal in book.journals:
        out += ["", f"{journal.date.isoformat()} * {_string(journal.narration)}", f"  id: {_string(journal.id)}"]
        for line in journal.lines:
            posting = f"  {names[line.account.code]:<{width}}  {book.amount(line.amount):>{amount_width}} {book.currency}"
            out.append(posting)
            if line.memo:
                out.append(f"    memo: {_string(line.memo)}")
    return {file_name(book.period, "", "beancount"): ("\n".join(out) + "\n").encode("utf-8")}
