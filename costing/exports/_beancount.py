"""beancount: an accounts file for the chart, and one journals file per export, that load together.

Two files per export:

- ``accounts.beancount``: an ``open`` directive for every account of the chart the book carries
  (used this month or not), all dated ``OPEN_DATE``, with the account's code and name as metadata.
  Every export to a folder rewrites it with the same bytes for the same chart, so it is included
  once however many months sit beside it.
- ``journals-YYYY-MM.beancount`` (and ``journals-YYYY-MM-after-close-N.beancount``): transactions
  only, no ``open``, so several months and the journals posted after a close load together.  Each
  transaction carries ``id: "<journal id>"`` metadata and line memos as ``memo:`` posting metadata.

A ledger includes them as ``include "accounts.beancount"`` and ``include "journals-*.beancount"``.

Account names are ``<Root>:<Segment>...``: the root from the account type (Assets, Liabilities,
Equity, Income, Expenses), the segments from the account's name (``Parent:Sub`` gives two), each
in ASCII, capitalised, with spaces and punctuation removed (``Work in process - Assembly`` →
``WorkInProcessAssembly``).  Beancount has no contra type: a contra account goes under the root of
the account it offsets, so overhead applied (credited as overhead is applied, closed against
overhead control by the true-up; a credit balance in between) is ``Expenses``, a contra-expense,
as the chart types it.  The trial balance (``wip journal --by-account``) calls it contra-expense.  A name depends on the account and its chart, never on which accounts
a month happened to use (a ledger built from several months must hold one name per account):

- a name that loses letters in ASCII (``東京 COGS``) always carries its code (``Expenses:COGS-5000``),
  so two such accounts never meet, whatever else the chart holds;
- accounts whose names still meet (``Sales`` and ``sales``) are found in the whole chart, and each
  gets ``-<code>`` appended.

Beancount's own balance tolerance is looser than a cent; the journals were checked to balance
exactly before writing.  UTF-8, LF line ends (text files, not CSV).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Iterable

from .._journal import Account
from ._common import ExportError, PreparedBook, clean_text, file_name, text, to_ascii

__all__ = ["render", "account_names", "ACCOUNTS_FILE", "OPEN_DATE"]

ROOTS = {"asset": "Assets", "liability": "Liabilities", "equity": "Equity", "income": "Income",
         "expense": "Expenses"}
ACCOUNTS_FILE = "accounts.beancount"
# Fixed, so that every export writes the same open directives; before any close this engine makes.
OPEN_DATE = dt.date(1970, 1, 1)
_WORD = re.compile(r"[A-Za-z0-9]+")
_ACCOUNT = re.compile(r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+")


def _segment(value: str) -> str:
    """One account-name component.

    >>> _segment("Work in process - Assembly"), _segment("Café supplies"), _segment("3rd-party WIP")
    ('WorkInProcessAssembly', 'CafeSupplies', '3rdPartyWIP')
    """
    return "".join(word[0].upper() + word[1:] for word in _WORD.findall(to_ascii(value)))


def _loses_letters(name: str) -> bool:
    """Whether some character of ``name`` has no ASCII spelling (to_ascii writes it as '?').

    >>> _loses_letters("東京 COGS"), _loses_letters("Café supplies"), _loses_letters("Scrap?")
    (True, False, False)
    """
    return "?" in to_ascii(name.replace("?", ""))


def _derived(account: Account) -> str:
    segments = [s for s in map(_segment, account.name.split(":")) if s]
    if not segments:  # nothing left in ASCII: the code is the name
        return f"{ROOTS[account.type]}:{_segment(account.code) or 'Account'}"
    name = ":".join([ROOTS[account.type], *segments])
    return f"{name}-{_segment(account.code)}" if _loses_letters(account.name) else name


def account_names(accounts: Iterable[Account]) -> dict[str, str]:
    """Beancount account name by account code, unique across ``accounts`` — pass the whole chart,
    not the accounts one month used, or a name could change from one month to the next."""
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


def _accounts_file(book: PreparedBook, names: dict[str, str]) -> bytes:
    out = [f"; {clean_text(book.company)}: the chart of accounts of the WIP close journals ({book.currency}).",
           f"; Rewritten by every beancount export to this folder; include it once, with the journals-*.beancount "
           f"files."]
    for account in sorted(book.accounts, key=lambda a: names[a.code]):
        out += ["", f"{OPEN_DATE.isoformat()} open {names[account.code]} {book.currency}",
                f"  code: {_string(account.code)}", f"  name: {_string(account.name)}"]
    return ("\n".join(out) + "\n").encode("utf-8")


def _journals_file(book: PreparedBook, names: dict[str, str]) -> bytes:
    # book.source: "wip close 2026-10", or "wip close and wip reopen 2026-10" for a book with reversals
    posted = (f"journals posted for {book.period} by wip close and wip reopen (reversals)"
              if book.source.startswith("wip close and wip reopen") else f"journals of the WIP close {book.period}")
    out = [f"; {clean_text(book.company)}: {posted} ({book.currency}); the accounts are opened in {ACCOUNTS_FILE}"]
    used = {names[line.account.code] for journal in book.journals for line in journal.lines}
    width = max(map(len, used), default=0)
    amount_width = max((len(book.amount(line.amount)) for journal in book.journals for line in journal.lines),
                       default=0)
    for journal in book.journals:
        out += ["", f"{journal.date.isoformat()} * {_string(journal.narration)}", f"  id: {_string(journal.id)}"]
        for line in journal.lines:
            posting = f"  {names[line.account.code]:<{width}}  {book.amount(line.amount):>{amount_width}} {book.currency}"
            out.append(posting)
            if line.memo:
                out.append(f"    memo: {_string(line.memo)}")
    return ("\n".join(out) + "\n").encode("utf-8")


def render(book: PreparedBook) -> dict[str, bytes]:
    early = [journal.id for journal in book.journals if journal.date < OPEN_DATE]
    if early:
        raise ExportError(f"{early[0]}: dated before {OPEN_DATE.isoformat()}, when the beancount accounts open")
    names = account_names(book.accounts)
    return {ACCOUNTS_FILE: _accounts_file(book, names),
            file_name(book.period, "", "beancount"): _journals_file(book, names)}
