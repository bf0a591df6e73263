"""The WIP ledger tied to the general ledger before the close posts anything.

A stock ledger that drifts from the GL is what month-end reviewers distrust most in ERPs: WIP and
finished goods per the sub-ledger say one thing, the GL accounts another, and nobody notices until
the auditors do.  A close file may therefore give the general ledger's balances of its inventory
and overhead accounts as they stand before this close's journals are posted (``general_ledger``);
the close then checks, account by account:

- each WIP account: the opening WIP of every product-stage it holds (from the prior close, or
  the file in the ledger's first period);
- the finished-goods account: the opening finished-goods layers;
- the overhead control account: the month's actual overhead of every pool (the close's overhead
  journal clears it, so before the close it holds this month's actual overhead only).

Any difference refuses the close (``GL_DOES_NOT_TIE``): posting on a sub-ledger that does not
agree with the GL would carry the difference into every later month.  Pure: no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Iterable, NamedTuple

from .._errors import Issue
from ._spec import CloseSpec

__all__ = ["GeneralLedgerTie", "tie_to_general_ledger", "reconcilable_accounts"]

_ZERO = Decimal(0)


class GeneralLedgerTie(NamedTuple):
    """One account: its balance per the general ledger before this close, what the WIP ledger and
    the close data say it must be, and the difference (general ledger − WIP ledger)."""

    account: str  # account code
    name: str
    holds: str  # what the WIP ledger figure is made of: "opening WIP", "opening finished goods", ...
    general_ledger: Decimal
    wip_ledger: Decimal

    @property
    def difference(self) -> Decimal:
        return self.general_ledger - self.wip_ledger

    @property
    def ok(self) -> bool:
        return not self.difference


def reconcilable_accounts(spec: CloseSpec) -> dict[str, tuple[str, list[str]]]:
    """Account code -> (name, what it holds) for the accounts a close can tie to the GL: the WIP
    accounts, finished goods and overhead control (one code may serve several of these roles)."""
    accounts = spec.accounts
    found: dict[str, tuple[str, list[str]]] = {}

    def add(code: str, name: str, holds: str) -> None:
        entry = found.setdefault(code, (name, []))
        if holds not in entry[1]:
            entry[1].append(holds)

    for account in accounts.wip.values():
        add(account.code, account.name, "opening WIP")
    add(accounts.finished_goods.code, accounts.finished_goods.name, "opening finished goods")
    add(accounts.overhead_control.code, accounts.overhead_control.name, "actual overhead this month")
    return found


def tie_to_general_ledger(spec: CloseSpec, products: Iterable) -> tuple[tuple[GeneralLedgerTie, ...], list[Issue]]:
    """The ties of the balances the close file gives under ``general_ledger.balances`` (none when
    it gives none), and a located ``GL_DOES_NOT_TIE`` issue for each that differs.  ``products``
    are the close's product plans (their stages' opening WIP and opening finished goods)."""
    given = spec.general_ledger.balances if spec.general_ledger is not None else {}
    if not given:
        return (), []
    accounts = reconcilable_accounts(spec)
    expected: dict[str, Decimal] = dict.fromkeys(accounts, _ZERO)
    wip_code = {stage: account.code for stage, account in spec.accounts.wip.items()}
    for product in products:
        for stage in product.case.stages:
            code = wip_code.get(stage.name)
            if code is not None:
                expected[code] += sum(stage.beginning_cost.values(), _ZERO)
        expected[spec.accounts.finished_goods.code] += sum((layer.cost for layer in product.opening_fg), _ZERO)
    expected[spec.accounts.overhead_control.code] += sum((oh.actual for oh in spec.overhead.values()), _ZERO)

    ties, issues = [], []
    for code, balance in given.items():  # checked against the chart when the header was resolved
        name, holds = accounts[code]
        tie = GeneralLedgerTie(code, name, " + ".join(holds), balance, expected[code])
        ties.append(tie)
        if not tie.ok:
            issues.append(Issue(
                "GL_DOES_NOT_TIE", f"general_ledger.balances.{code}",
                f"{code} {name}: the general ledger shows {balance} before this close; the WIP ledger's "
                f"{tie.holds} is {tie.wip_ledger}; difference (GL − WIP ledger) {tie.difference}. Check the GL for entries posted "
                "to this account outside the close (manual journals, a prior month posted twice or not at all) "
                "and the balance typed here; the close posts nothing until they agree"))
    return tuple(ties), issues
