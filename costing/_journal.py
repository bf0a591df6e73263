"""Journals as data: balanced entries in the currency's minor unit, and the chart they post to.

Built by the month-end close, rendered by one writer per import format (``costing.exports``).
``JournalBook.model_dump(mode="json")`` minus the header is what ``wip journal --json`` prints.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from typing import Literal, NamedTuple, Sequence

from pydantic import BaseModel, ConfigDict, Field

from ._report import Amount

__all__ = ["AccountType", "Account", "JournalLine", "Journal", "JournalBook", "UnbalancedJournal", "key_problem",
           "name_problem", "invisible_problem", "AccountPostings", "postings_by_account", "net_by_account",
           "code_order", "PostedBook", "NotPostedAfter", "posted_after", "FORMULA_STARTS", "CONTROL_CHARACTERS",
           "HIDING_CHARACTERS", "printed_as", "printed_alike"]

# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


# Characters that are never part of a name's spelling and only hide, so that two names that look
# alike are two stages, products or accounts: zero-width space, word joiner, byte-order mark (zero-
# width no-break space), soft hyphen; the invisible mathematical operators (function application,
# invisible times, separator and plus: they mark up formulas); the deprecated format controls
# U+206A to U+206F (symmetric swapping, Arabic form shaping, digit shapes), which Unicode says not
# to use; the interlinear annotation anchor, separator and terminator (ruby markup, not text).
# Other format characters spell: the zero-width non-joiner and joiner (Persian, Indic scripts,
# emoji sequences), the left-to-right and right-to-left marks (mixed Hebrew or Arabic names), the
# Mongolian vowel separator, the tag characters of subdivision flag emoji.  Those are accepted, and
# a product name that differs from another only by them is the same product (``product_key``).
# The bidi embeddings, overrides and isolates are refused too: an override shows the characters in
# another order than they are matched in (the "Trojan Source" disguise), an unclosed one reorders
# the rest of the report line, and the marks, which reorder nothing, are what a mixed-direction
# name needs.
# A reopen's reason is the narration of every reversing journal (exports carry it in narration and
# memo fields): one typed or pasted, not a file (close_service.reason_problem holds it to this).
REASON_MAX_CHARACTERS = 2000

_BIDI_CONTROLS = "\u202a-\u202e\u2066-\u2069"
HIDING_CHARACTERS = re.compile(f"[\u00ad\u200b\u2060-\u2064\u206a-\u206f\ufeff\ufff9-\ufffb{_BIDI_CONTROLS}]")
_REORDERING = re.compile(f"[{_BIDI_CONTROLS}]")


def name_problem(value: str, *, vouched: bool = False) -> str | None:
    """Why ``value`` cannot name a product, a stage, an account or the company: it is printed on
    one line of reports and journals, and matched exactly, so no line breaks, no characters that
    only hide (two names that look alike would differ) and no spaces at the ends.

    ``vouched``: a name a close the ledger holds was accepted with (its inputs read again, or the
    name as the prior close holds it), checked as it was then: a ledger recorded before these
    characters were refused may hold them, and must still be read, exported and closed onwards.

    >>> name_problem("Espresso Classic"), name_problem("Espresso\\nClassic"), name_problem(" Testing")
    (None, 'has a line break or control character', 'has leading or trailing spaces')
    >>> name_problem("Assem\\u200bbly")
    'has an invisible character (U+200B ZERO WIDTH SPACE), which only hides'
    >>> name_problem("Assem\\u200bbly", vouched=True), name_problem("\u0645\u06cc\u200c\u0631\u0648\u062f")
    (None, None)
    """
    if not value:
        return "is empty"
    if CONTROL_CHARACTERS.search(value):
        return "has a line break or control character"
    hiding = None if vouched else invisible_problem(value)
    if hiding is not None:
        return hiding
    if value != value.strip():
        return "has leading or trailing spaces"
    return None


def printed_as(name: str) -> str:
    """A name as it prints: without its invisible format characters (Unicode category Cf, the
    joiners and direction marks a name may hold), its accents composed (é typed as e and a combining
    accent prints as é).  Two stages whose names print alike cannot be told apart on a report, so
    they are one stage written twice.

    >>> printed_as("Testing\u200e") == printed_as("Testing"), printed_as("testing") == printed_as("Testing")
    (True, False)
    >>> printed_as("Cafe\u0301") == printed_as("Caf\u00e9")
    True
    """
    if name.isascii():
        return name
    return unicodedata.normalize("NFC", "".join(c for c in name if unicodedata.category(c) != "Cf"))


def printed_alike(name: str, other: str) -> str:
    """Why stage ``name`` is refused beside ``other``, printed alike: how the two differ (the
    invisible characters each holds, or accents written as a letter and a combining mark), and what
    to do."""
    def hidden(value: str) -> str:
        found = [f"U+{ord(c):04X} {unicodedata.name(c, '')}".strip() for c in value if unicodedata.category(c) == "Cf"]
        return ", ".join(dict.fromkeys(found)) or "none"
    how = "the same letters, one with its accents written as combining marks" if hidden(name) == hidden(other) \
        else f"invisible characters: {hidden(name)} against {hidden(other)}"
    return (f"({how}): reports could not tell the two stages apart; name the stage apart, or type it as the "
            "other is typed")


def invisible_problem(value: str) -> str | None:
    """Whether ``value`` holds a character that only hides or reorders text (``HIDING_CHARACTERS``):
    refused in names, and in free text kept in the ledger and printed in reports (a reopen's reason).

    >>> invisible_problem("late invoice"), invisible_problem("late \u202einvoice")
    (None, 'has an invisible character (U+202E RIGHT-TO-LEFT OVERRIDE), which reorders how the text is shown')
    """
    hiding = None if value.isascii() else HIDING_CHARACTERS.search(value)
    if hiding is None:
        return None
    character = hiding.group()
    return (f"has an invisible character (U+{ord(character):04X} {unicodedata.name(character)}), which "
            + ("reorders how the text is shown" if _REORDERING.match(character) else "only hides"))


def key_problem(value: str, *, vouched: bool = False) -> str | None:
    """Why ``value`` cannot be a key an accounting system matches (an account code or name, a
    journal id), or None.  Such keys are refused, never altered: an altered key would post to
    another account, or to none.

    >>> key_problem("1210"), key_problem(" Raw materials"), key_problem("=SUM(A1)"), key_problem("")
    (None, 'has leading or trailing spaces', 'starts with =, which a spreadsheet runs as a formula', 'is empty')
    """
    problem = name_problem(value, vouched=vouched)
    if problem:
        return problem
    if value.startswith(FORMULA_STARTS):
        return f"starts with {value[0]}, which a spreadsheet runs as a formula"
    return None

# What kind of account, for systems that need it (beancount's Assets/Liabilities/... roots).
AccountType = Literal["asset", "liability", "equity", "income", "expense"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Account(_Frozen):
    code: str  # the account number/code accounting systems key on (Xero AccountCode, Intacct ACCT_NO)
    name: str  # the account's name (QuickBooks imports by name)
    type: AccountType


class JournalLine(_Frozen):
    account: str  # account code, a key of JournalBook.accounts
    debit: Amount
    credit: Amount
    memo: str = ""


class Journal(_Frozen):
    id: str  # deterministic: the same close gives the same ids (WIP-2026-10-003)
    date: dt.date
    narration: str
    lines: tuple[JournalLine, ...]

    @property
    def total_debit(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))

    @property
    def total_credit(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal(0))


class UnbalancedJournal(ValueError):
    """A journal whose debits and credits differ: a defect, never something to post."""


class JournalBook(_Frozen):
    """The journals of one close, with the chart of accounts they use."""

    company: str
    currency: str
    period: str  # YYYY-MM
    accounts: dict[str, Account] = Field(description="by account code")
    journals: tuple[Journal, ...]

    def check_balanced(self) -> None:
        for journal in self.journals:
            if journal.total_debit != journal.total_credit:
                raise UnbalancedJournal(
                    f"{journal.id}: debits {journal.total_debit}, credits {journal.total_credit}, "
                    f"difference {journal.total_debit - journal.total_credit}")
            for line in journal.lines:
                if line.account not in self.accounts:
                    raise ValueError(f"{journal.id}: account {line.account!r} is not in the chart")


class AccountPostings(NamedTuple):
    """What a book posts to one account: its debits and credits, and the net (debit positive)."""

    account: Account
    debit: Decimal
    credit: Decimal

    @property
    def net(self) -> Decimal:
        return self.debit - self.credit


_DIGITS = re.compile(r"([0-9]+)")


def code_order(code: str) -> tuple:
    """Sort key for account codes: runs of digits compare as numbers, so ``900`` comes before
    ``1310`` and ``A9`` before ``A10``; text compares ignoring case.  Every code has its own key
    (``01`` and ``1``, ``a`` and ``A``: then the code as written decides), so the order is total and
    deterministic.

    >>> sorted(["1310", "900", "A10", "a9", "A9", "01", "1", "1310-2", "1310-10"], key=code_order)
    ['01', '1', '900', '1310', '1310-2', '1310-10', 'A9', 'a9', 'A10']
    """
    runs = _DIGITS.split(code)  # text, digits, text, ...: digits at the odd places
    return tuple((0, int(run)) if i % 2 else (1, run.casefold()) for i, run in enumerate(runs)), code


def postings_by_account(book: JournalBook) -> tuple[AccountPostings, ...]:
    """The book's postings by account, in account-code order (``code_order``: ``900`` before
    ``1310``) — a trial balance of the close's journals: the debits and the credits each add up to
    the same total when the book balances.  Accounts of the chart the book does not post to are left
    out."""
    debit: dict[str, Decimal] = {}
    credit: dict[str, Decimal] = {}
    for journal in book.journals:
        for line in journal.lines:
            debit[line.account] = debit.get(line.account, Decimal(0)) + line.debit
            credit[line.account] = credit.get(line.account, Decimal(0)) + line.credit
    return tuple(AccountPostings(book.accounts[code], debit[code], credit[code])
                 for code in sorted(debit, key=code_order))


def net_by_account(book: JournalBook) -> dict[str, Decimal]:
    """Account code -> what the book posts to it, net (debits − credits), for the accounts it posts to."""
    return {p.account.code: p.net for p in postings_by_account(book)}


class PostedBook(NamedTuple):
    """One book of journals posted for a period, in the order they were posted: close #``close_no``
    (``kind`` "close"), or the journals reversing close #``close_no`` when the month was reopened
    (``kind`` "reversal").  A period's history is a sequence of them: close #1, its reversal,
    close #2, ..."""

    kind: Literal["close", "reversal"]
    close_no: int
    book: JournalBook


class NotPostedAfter(ValueError):
    """No book can be made of what was posted after a close: ``code`` says why (NOT_CLOSED: no such
    close; NOTHING_POSTED: nothing after it; ACCOUNT_CONFLICT: an account renamed in between)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def posted_after(history: Sequence[PostedBook], close_no: int) -> JournalBook:
    """One book of every journal posted after close #``close_no`` in ``history``: its reversal,
    later closes and their reversals, in posting order — what a system that already imported close
    #``close_no`` needs.  Pass ``history[:i + 1]`` for what was posted up to and including
    ``history[i]``.

    An account must be the same (name and type) in every book joined: a reversal posts to the
    account as it was named when the close was posted, and systems that match accounts by name
    would post a reversal and a re-close that renamed the account apart (``NotPostedAfter``,
    ACCOUNT_CONFLICT).

    >>> chart = {"1300": Account(code="1300", name="WIP", type="asset"),
    ...          "5000": Account(code="5000", name="COGS", type="expense")}
    >>> def book(id, amount):
    ...     return JournalBook(company="Co", currency="USD", period="2026-10", accounts=chart, journals=(
    ...         Journal(id=id, date=dt.date(2026, 10, 31), narration="COGS", lines=(
    ...             JournalLine(account="5000", debit=Decimal(amount), credit=Decimal(0)),
    ...             JournalLine(account="1300", debit=Decimal(0), credit=Decimal(amount)))),))
    >>> history = [PostedBook("close", 1, book("WIP-1", 5)), PostedBook("reversal", 1, book("REV-WIP-1", -5)),
    ...            PostedBook("close", 2, book("WIP2-1", 7))]
    >>> [j.id for j in posted_after(history, 1).journals], [j.id for j in posted_after(history[:2], 1).journals]
    (['REV-WIP-1', 'WIP2-1'], ['REV-WIP-1'])
    >>> posted_after(history, 2)
    Traceback (most recent call last):
    ...
    costing._journal.NotPostedAfter: nothing was posted for 2026-10 after close #2: it is still the current close
    """
    closes = [posted.close_no for posted in history if posted.kind == "close"]
    at = next((i for i, posted in enumerate(history) if posted.kind == "close" and posted.close_no == close_no), None)
    if at is None:
        period = history[0].book.period if history else "the period"
        raise NotPostedAfter("NOT_CLOSED", f"{period} has no close #{close_no}"
                             + (f"; its closes are #{', #'.join(map(str, closes))}" if closes else ""))
    later = [posted.book for posted in history[at + 1:]]
    if not later:
        raise NotPostedAfter("NOTHING_POSTED", f"nothing was posted for {history[at].book.period} after close "
                                               f"#{close_no}: it is still the current close")
    accounts: dict[str, Account] = {}
    for book in later:
        for code, account in book.accounts.items():
            first = accounts.setdefault(code, account)
            if first != account:  # a reversal must post to the account as it was named when posted
                raise NotPostedAfter(
                    "ACCOUNT_CONFLICT",
                    f"account {code} is {first.name!r} ({first.type}) in one of the journals posted after close "
                    f"#{close_no} and {account.name!r} ({account.type}) in another: systems that match accounts "
                    "by name would post them apart; export the reversal before renaming the account, or rename "
                    "it in the accounting system too")
    return JournalBook(company=later[0].company, currency=later[0].currency, period=later[0].period,
                       accounts=accounts, journals=tuple(journal for book in later for journal in book.journals))
