"""beancount: an accounts file for the chart, and one journals file per export, that load together.

Two files per export:

- ``accounts.beancount``: an ``open`` directive for every account of the chart the book carries
  (used this month or not), all dated ``OPEN_DATE``, with the account's code and name as metadata.
  ``render`` gives the book's chart alone; ``export_journals`` writes the union of that and the
  opens the folder's accounts file holds already (``merge_accounts``): an export never removes an
  ``open`` (a later month's chart may hold accounts an earlier one lacks, and re-exporting the
  earlier month must not close them under the later month's file), nor changes one, and refuses
  a chart that names an account the file opens otherwise.  Sorted by name, so the file is the same
  whatever order the months were exported in; it is included once however many months sit beside it.
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
from typing import Iterable, NamedTuple

from .._journal import Account
from ._common import ExportError, PreparedBook, clean_text, file_name, text, to_ascii

__all__ = ["render", "merge_accounts", "account_names", "ACCOUNTS_FILE", "OPEN_DATE"]

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


class _Open(NamedTuple):
    """One ``open`` directive of an accounts file: its lines after the date as written (the metadata
    strings quoted and escaped), so that an open read back is written again byte for byte."""
    name: str  # the beancount account name
    currency: str
    code: str  # the quoted code metadata, '"5000"'
    account: str  # the quoted name metadata, '"Cost of goods sold"'

    def lines(self) -> list[str]:
        return ["", f"{OPEN_DATE.isoformat()} open {self.name} {self.currency}", f"  code: {self.code}",
                f"  name: {self.account}"]


def _header(company: str, currency: str) -> list[str]:
    return [f"; {clean_text(company)}: the chart of accounts of the WIP close journals ({currency}).",
            "; Every beancount export to this folder adds the accounts it opens; an open is never removed. Include "
            "it once, with the journals-*.beancount files."]


def _write_accounts(header: list[str], opens: Iterable[_Open]) -> bytes:
    out = list(header)
    for directive in sorted(opens, key=lambda o: o.name):
        out += directive.lines()
    return ("\n".join(out) + "\n").encode("utf-8")


def _accounts_file(book: PreparedBook, names: dict[str, str]) -> bytes:
    opens = (_Open(names[a.code], book.currency, _string(a.code), _string(a.name)) for a in book.accounts)
    return _write_accounts(_header(book.company, book.currency), opens)


_QUOTED = r'"(?:[^"\\\n]|\\.)*"'
_OPEN_LINE = re.compile(re.escape(OPEN_DATE.isoformat()) + r" open (\S+) ([A-Z][A-Z0-9'._-]*[A-Z0-9])")
_CODE_LINE, _NAME_LINE = re.compile(f"  code: ({_QUOTED})"), re.compile(f"  name: ({_QUOTED})")


def _read_accounts(data: bytes, where: str) -> tuple[list[str], list[_Open]]:
    """The header comments and the opens of an accounts file a beancount export wrote; ``ExportError``
    for anything else (edited, or another file of that name), which an export would otherwise lose."""
    def refuse(number: int, why: str) -> ExportError:
        return ExportError(f"{where}, line {number}: {why}; it is not an accounts file a beancount export wrote, and "
                           "writing the export would replace what it holds. Move it out of the folder (or export into "
                           "a folder of its own)")

    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise refuse(1, "not UTF-8") from None
    if lines and lines[-1] == "":
        lines.pop()
    header, opens, number = [], [], 0
    while number < len(lines) and lines[number].startswith(";"):
        header.append(lines[number])
        number += 1
    while number < len(lines):
        block = lines[number:number + 4]
        found = [_OPEN_LINE.fullmatch(block[1]) if len(block) > 1 else None,
                 _CODE_LINE.fullmatch(block[2]) if len(block) > 2 else None,
                 _NAME_LINE.fullmatch(block[3]) if len(block) > 3 else None]
        if block[0] != "" or not all(found):
            bad = next((i for i, m in enumerate([block[0] == "" or None, *found]) if not m), 0)
            shown = block[bad] if bad < len(block) else "(the file ends)"
            expected = ("a blank line", "an open directive", "its code metadata", "its name metadata")[bad]
            raise refuse(number + bad + 1, f"found {shown!r}, expected {expected} as an export writes it")
        opens.append(_Open(found[0][1], found[0][2], found[1][1], found[2][1]))
        number += 4
    return header, opens


def merge_accounts(existing: bytes, new: bytes, where: str) -> bytes:
    """The accounts file an export writes into a folder whose accounts file is ``existing``: every open
    of ``existing`` as it is, and the opens of ``new`` (this export's chart) it lacks; the header of
    ``new``.  Refused (``ExportError``, nothing written): an account of the chart opened there under
    another name (renamed in the chart, another type, a look-alike added), a name opened there for
    another account, an account opened there in another currency — a ledger built from the folder
    would post one account to two names, or two accounts to one."""
    header, ours = _read_accounts(new, ACCOUNTS_FILE)
    _, theirs = _read_accounts(existing, where)
    by_name = {o.name: o for o in theirs}
    by_code: dict[str, _Open] = {}
    for o in theirs:
        by_code.setdefault(o.code, o)
    merged = dict(by_name)
    currency = ours[0].currency if ours else None
    other_currency = next((o for o in sorted(theirs, key=lambda o: o.name) if currency and o.currency != currency),
                          None)
    if other_currency is not None:
        raise ExportError(
            f"{where} opens {other_currency.name} in {other_currency.currency}; this export posts {currency}: keep "
            "one company's exports, in one currency, in a folder of their own")

    def said(o: _Open) -> str:
        return f"{o.name} ({_unquoted(o.account)!r})"

    for o in ours:
        code = _unquoted(o.code)
        other = by_code.get(o.code)
        if other is not None and other.name != o.name:
            raise ExportError(
                f"account {code} is opened in {where} as {said(other)}; this export's chart names it {said(o)}: the "
                "folder's ledger would post one account to two names. Either the account was renamed in one "
                "month's chart (or its type changed): give it one name in every month's chart; or one month's chart "
                "has another account whose name reads the same in beancount, so that month's names carry their "
                "account codes and the other's do not: export the months of each chart into a folder of their own")
        same = by_name.get(o.name)
        if same is not None and same.code != o.code:
            raise ExportError(
                f"{o.name} is opened in {where} for account {_unquoted(same.code)} ({_unquoted(same.account)!r}); "
                f"this export's chart gives that name to account {code} ({_unquoted(o.account)!r}): the folder's "
                "ledger would post two accounts to one name. Rename one of them in the chart, or export into a folder "
                "of its own")
        merged.setdefault(o.name, o)  # an open there already is kept as it is (its name metadata too)
    return _write_accounts(header, merged.values())


def _unquoted(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted[1:-1])


def _journals_file(book: PreparedBook, names: dict[str, str]) -> bytes:
    reversals = [journal for journal in book.journals if journal.source.startswith("wip reopen")]
    if not reversals:
        posted = f"journals of the WIP close {book.period}"
    elif len(reversals) == len(book.journals):  # reopened, not closed again: no close's journal here
        posted = f"journals posted for {book.period} by wip reopen (reversals)"
    else:
        posted = f"journals posted for {book.period} by wip close and wip reopen (reversals)"
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
