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

import re
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, NamedTuple

from pydantic import ValidationError

from .._currency import is_known_currency, quantum
from .._errors import Issue
from .._journal import JournalBook, net_by_account
from ._spec import CloseSpec
from ._state import PriorState

__all__ = ["GeneralLedgerTie", "tie_to_general_ledger", "reconcilable_accounts", "shared_overhead_control",
           "openings_of_plans", "openings_of_prior", "openings_of_specs", "recorded_tie", "balances_after",
           "ACTUAL_OVERHEAD", "close_figure", "posted_text"]

_ZERO = Decimal(0)

# What overhead control's figure is made of (``GeneralLedgerTie.holds``): not a WIP-ledger balance
# but the actual overhead the close data gives for the month (``overhead.<stage>.actual``).
ACTUAL_OVERHEAD = "actual overhead this month"


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

    @property
    def is_actual_overhead(self) -> bool:
        """Overhead control: its figure is the month's actual overhead as the close data gives it,
        which no earlier close posted (the opening accounts' figures are the WIP ledger's)."""
        return self.holds == ACTUAL_OVERHEAD


def posted_text(amount: Decimal, currency: str) -> str:
    """An amount of a tie as the ledger posts it, for a message: to the currency's minor unit when
    that does not change it (an opening summed from costs typed ``3170`` reads ``3170.00``, as the
    GL shows it), else as it is — padded, never rounded.

    >>> from decimal import Decimal as D
    >>> posted_text(D("3170"), "USD"), posted_text(D("-46.83"), "USD"), posted_text(D("0"), "USD")
    ('3170.00', '-46.83', '0.00')
    >>> posted_text(D("1E+3"), "JPY"), posted_text(D("12.5"), "KWD")
    ('1000', '12.500')
    >>> posted_text(D("0.005"), "USD")  # more places than a cent: shown whole, not rounded to 0.01
    '0.005'
    """
    try:
        posted = amount.quantize(quantum(currency))
    except InvalidOperation:  # more digits than the context holds: nothing to pad
        return format(amount, "f")
    return format(posted if posted == amount else amount, "f")


def close_figure(tie: GeneralLedgerTie, spec: CloseSpec) -> str:
    """What the close's side of a tie is, with its amount, for a message: the WIP ledger's opening
    for inventory accounts; for overhead control, the actual overhead the close data gives (the WIP
    ledger holds no such balance), pool by pool.  Amounts in the currency's places (``posted_text``).

    >>> from decimal import Decimal as D
    >>> from types import SimpleNamespace
    >>> close_figure(GeneralLedgerTie("1310", "WIP", "opening WIP", D("5"), D("4")), SimpleNamespace(currency="USD"))
    "the WIP ledger's opening WIP is 4.00"
    """
    if not tie.is_actual_overhead:
        return f"the WIP ledger's {tie.holds} is {posted_text(tie.wip_ledger, spec.currency)}"
    pools = " + ".join(f"{stage} {posted_text(oh.actual, spec.currency)}"
                       for stage, oh in spec.overhead.items()) or "no pool"
    return (f"the actual overhead this close gives for the month (overhead: {pools}) is "
            f"{posted_text(tie.wip_ledger, spec.currency)}")


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
    if not shared_overhead_control(spec):
        add(accounts.overhead_control.code, accounts.overhead_control.name, ACTUAL_OVERHEAD)
    return found


def shared_overhead_control(spec: CloseSpec) -> list[str]:
    """The roles other than overhead applied that share the overhead control account: its balance
    then holds more than this month's actual overhead (COGS to date, say), so it cannot be tied."""
    code = spec.accounts.overhead_control.code
    return [role for role, account in spec.accounts if role not in ("overhead_control", "overhead_applied", "wip")
            and account is not None and account.code == code]


def openings_of_plans(products: Iterable) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """(opening WIP by stage, opening finished goods) of the close's product plans."""
    wip = [(stage.name, sum(stage.beginning_cost.values(), _ZERO)) for product in products
           for stage in product.case.stages]
    return wip, sum((layer.cost for product in products for layer in product.opening_fg), _ZERO)


def openings_of_prior(prior: PriorState) -> tuple[list[tuple[str, Decimal]], Decimal]:
    """The same from the prior close's closing position: what a later month opens with, known even
    when this month's products have problems (so the tie is reported with them)."""
    wip = [(w.stage, w.total) for w in prior.wip.values()]
    return wip, sum((layer.cost for layers in prior.finished_goods.values() for layer in layers), _ZERO)


# Problems under which a first month's openings, as the file writes them, are not known: a product
# given twice (which one opens?), or a problem in a beginning WIP or opening finished-goods layer.
_OPENING_UNKNOWN = re.compile(r"products\[\d+\]\.(stages\[\d+\]\.beginning_wip|opening_finished_goods)\b")


def openings_of_specs(products: Iterable, issues: Iterable[Issue]) -> tuple[list[tuple[str, Decimal]], Decimal] | None:
    """The same, in the ledger's first month, from the products as the close file writes them
    (``ProductSpec``s, None for one whose shape was refused) whose plans could not be made: the
    openings are the file's beginning WIP and opening finished goods, which do not depend on the
    month's flow, so the tie is reported with a unit-flow problem.  None when they are not known:
    a product refused, none given, a product given twice, or a problem in an opening itself."""
    products = list(products)
    if not products or any(p is None for p in products):
        return None
    if any(i.code == "DUPLICATE_PRODUCT" or _OPENING_UNKNOWN.match(i.path) for i in issues):
        return None
    wip = [(stage.name, sum(stage.beginning_wip.cost.values(), _ZERO)) for product in products
           for stage in product.stages if stage.beginning_wip is not None]
    return wip, sum((layer.cost for product in products for layer in product.opening_finished_goods or ()), _ZERO)


def tie_to_general_ledger(spec: CloseSpec, openings: tuple[list[tuple[str, Decimal]], Decimal],
                          ) -> tuple[tuple[GeneralLedgerTie, ...], list[Issue]]:
    """The ties of the balances the close file gives under ``general_ledger.balances`` (none when
    it gives none), and a located ``GL_DOES_NOT_TIE`` issue for each that differs.  ``openings``:
    (opening WIP by stage, opening finished goods), from ``openings_of_plans`` or ``openings_of_prior``."""
    given = spec.general_ledger.balances if spec.general_ledger is not None else {}
    if not given:
        return (), []
    accounts = reconcilable_accounts(spec)
    expected: dict[str, Decimal] = dict.fromkeys(accounts, _ZERO)
    wip_code = {stage: account.code for stage, account in spec.accounts.wip.items()}
    wip_openings, fg_opening = openings
    for stage, amount in wip_openings:
        code = wip_code.get(stage)
        if code is not None:
            expected[code] += amount
    expected[spec.accounts.finished_goods.code] += fg_opening
    if spec.accounts.overhead_control.code in expected:
        expected[spec.accounts.overhead_control.code] += sum((oh.actual for oh in spec.overhead.values()), _ZERO)

    ties, issues = [], []
    for code, balance in given.items():  # checked against the chart when the header was resolved
        if code not in accounts:
            continue
        name, holds = accounts[code]
        tie = GeneralLedgerTie(code, name, " + ".join(holds), balance, expected[code])
        ties.append(tie)
        if tie.ok:
            continue
        difference = posted_text(tie.difference, spec.currency)
        if tie.is_actual_overhead:
            check = (f"difference (GL − actual overhead given) {difference}. Before the close, overhead control "
                     "holds this month's actual overhead only (each close's overhead journal clears it): check the "
                     "actual overhead typed here, pool by pool, against the overhead the GL recorded this month, and "
                     "that last month's close journals were imported")
        else:
            check = (f"difference (GL − WIP ledger) {difference}. Check the GL for entries posted to this account "
                     "outside the close (manual journals, a prior month posted twice or not at all) and the balance "
                     "typed here")
        issues.append(Issue(
            "GL_DOES_NOT_TIE", f"general_ledger.balances.{code}",
            f"{code} {name}: the general ledger shows {posted_text(balance, spec.currency)} before this close; "
            f"{close_figure(tie, spec)}; "
            f"{check}; if this month was closed before and reopened, the GL may still hold that close's journals: "
            f"give the balances from before it (then {after_close_export(spec.period)}, N the close the GL holds, "
            "gives its reversal with the new close). The close posts nothing until they agree"))
    return tuple(ties), issues


def after_close_export(period: str, ledger_option: str = "") -> str:
    """The export a refusal suggests for a GL holding an earlier close; the close service gives it the
    ledger's option (`` --ledger PATH``) once it knows which ledger the close ran on."""
    return f"`wip export --period {period} --after-close N --format FORMAT --out FOLDER{ledger_option}`"


def recorded_tie(inputs: Any, rollforward: Any) -> tuple[GeneralLedgerTie, ...]:
    """The tie of a recorded close, again, for the month's papers: the balances its inputs gave
    against the openings its roll-forward records (``wip rollforward``); () when its inputs gave
    none or cannot be read so.  ``rollforward`` is a ``RollForward``."""
    if not isinstance(inputs, dict) or not inputs.get("general_ledger"):
        return ()
    try:
        spec = CloseSpec.model_validate({**{k: v for k, v in inputs.items() if k != "products"}, "products": []})
    except ValidationError:
        return ()
    if spec.general_ledger is not None and is_known_currency(spec.currency):
        # At the currency's places, as the close tied them (5047500.0 yen was shown as typed).
        q = quantum(spec.currency)
        spec = spec.model_copy(update={"general_ledger": spec.general_ledger.model_copy(update={"balances": {
            code: balance.quantize(q) if balance == balance.quantize(q) else balance
            for code, balance in spec.general_ledger.balances.items()}})})
    wip = [(row.stage, row.opening) for row in rollforward.rows]
    fg = sum((row.opening for row in rollforward.finished_goods), _ZERO)
    return tie_to_general_ledger(spec, (wip, fg))[0]


def balances_after(ties: Iterable[GeneralLedgerTie], book: JournalBook) -> list[Decimal]:
    """Each tied account's balance once the close's journals (``book``) are posted to the general
    ledger: what to look for there after the import."""
    posted = net_by_account(book)
    return [t.general_ledger + posted.get(t.account, _ZERO) for t in ties]
