"""Journals as data: balanced entries in the currency's minor unit, and the chart they post to.

Built by the month-end close, rendered by one writer per import format (``costing.exports``).
``JournalBook.model_dump(mode="json")`` minus the header is what ``wip journal --json`` prints.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field

from ._report import Amount

__all__ = ["AccountType", "Account", "JournalLine", "Journal", "JournalBook", "UnbalancedJournal", "key_problem",
           "AccountPostings", "postings_by_account", "FORMULA_STARTS", "CONTROL_CHARACTERS"]

# A text cell starting with one of these is run as a formula by spreadsheets (CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def key_problem(value: str) -> str | None:
    """Why ``value`` cannot be a key an accounting system matches (an account code or name, a
    journal id), or None.  Such keys are refused, never altered: an altered key would post to
    another account, or to none.

    >>> key_problem("1210"), key_problem(" Raw materials"), key_problem("=SUM(A1)"), key_problem("")
    (None, 'has leading or trailing spaces', 'starts with =, which a spreadsheet runs as a formula', 'is empty')
    """
    if not value:
        return "is empty"
    if CONTROL_CHARACTERS.search(value):
        return "has a line break or control character"
    if value != value.strip():
        return "has leading or trailing spaces"
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


def postings_by_account(book: JournalBook) -> tuple[AccountPostings, ...]:
    """The book's postings by account, in account-code order (a trial balance of the close's
    journals: the debits and the credits each add up to the same total when the book balances).
    Accounts of the chart the book does not post to are left out."""
    debit: dict[str, Decimal] = {}
    credit: dict[str, Decimal] = {}
    for journal in book.journals:
        for line in journal.lines:
            debit[line.account] = debit.get(line.account, Decimal(0)) + line.debit
            credit[line.account] = credit.get(line.account, Decimal(0)) + line.credit
    return tuple(AccountPostings(book.accounts[code], debit[code], credit[code]) for code in sorted(debit))
