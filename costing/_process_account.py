"""Process accounts (ACCA/CIMA convention): normal loss at scrap value, abnormal loss and gain.

Pure functions over resolved values (``_model``); no I/O.  Called by the engine for cases with
``loss_convention: process_account``; the spoilage path (the US method) never comes here.

The method, as the Kaplan and BPP study texts and the exam answers in ``tests/process_account``
apply it (``METHOD.md`` there):

* normal loss (NL) is expected, carries no cost and gets no equivalent units; its scrap value
  reduces the cost of the stage (deducted from one element, ``NormalLoss.scrap_element``);
* cost per equivalent unit of expected output, per element:
  weighted average ``(beginning WIP + costs added - scrap of NL) / EU``,
  FIFO ``(costs added - scrap of NL) / EU of this period's work``, where the EU count good output,
  closing WIP, abnormal loss (+) and abnormal gain (-) — the latter two at the elements added up
  to the point where losses are detected;
* abnormal loss (AL) and abnormal gain (AG) are valued at that cost, like good output, and go to
  their own accounts; their scrap value goes through the scrap account (AL: proceeds, credited to
  the AL account; AG: scrap forgone, debited to the AG account).

Money stays Decimal.  Amounts are rounded once, when assigned.  Abnormal loss and abnormal gain are
ledger lines: each is rounded as a whole to the nearest minor unit and split over the elements by
largest remainder (so k units lost or gained are valued the same).  Then, per element as in the
core, what is left is shared between good output and closing WIP by largest remainder (with no
closing WIP, good output takes it all) — so that with no losses both conventions give the same figures.  Every
element conserves exactly, so the process account balances to the minor unit:
beginning WIP + costs added + AG = good output + closing WIP + NL scrap value + AL.
The scrap account closes to the cash for the units actually lost, rounded once; the normal loss's
scrap value is rounded on its own and the abnormal loss's or gain's scrap value is the rest
(``_scrap_values``).
"""

from __future__ import annotations

from decimal import Decimal

from ._engine import cost_path, equivalent_unit_terms, zero_equivalent_units
from ._errors import CostingError, Issue
from ._model import TRANSFERRED_IN, ElementKind, Method, Stage
from ._report import (
    Assigned,
    CostsToAccountFor,
    LossValue,
    PhysicalUnits,
    ProcessAccounts,
    ProcessAccountStageReport,
    ScrapValue,
    SpoilageCost,
    TAccount,
    TAccountLine,
)
from ._rounding import allocate, round_whole

__all__ = ["cost_process_stage", "combined_account"]

_ZERO = Decimal(0)


def cost_process_stage(stage: Stage, method: Method, q: Decimal, ti_cost: Decimal | None,
                       received_from: str = "", output_to: str = "") -> ProcessAccountStageReport:
    """Cost one stage under the process-account convention.

    Runs inside the engine's decimal context (``quantize`` uses the case's rounding mode).
    ``ti_cost`` is the previous stage's good output; ``received_from`` / ``output_to`` name the
    neighbouring stages for the narratives of the process account ("" = outside the case).
    """
    nl = stage.normal_loss
    if nl is None:
        raise ValueError(f"stage {stage.name!r} was not resolved under the process-account convention")
    fifo = method is Method.FIFO
    b_units = stage.beginning.units
    b_done = stage.beginning.completion
    b_cost = stage.beginning_cost
    completed = stage.completed
    if fifo and completed < b_units:
        # The resolver refuses it (FIFO_BEGINNING_NOT_COMPLETED): beginning cost rides out whole here.
        raise ValueError(f"stage {stage.name!r}: under FIFO fewer units completed than began; the process account "
                         "costs that only under weighted average")
    e_units = stage.ending.units
    e_done = stage.ending.completion
    normal_units, al_units, ag_units = nl.units, nl.abnormal_loss, nl.abnormal_gain
    loss_done = nl.completion
    zero = _ZERO * q

    added = dict(stage.added_costs)
    if stage.receives_transfer:
        if stage.transferred_in_cost is not None:
            ti_cost = stage.transferred_in_cost
        if ti_cost is None:
            raise ValueError(f"stage {stage.name!r} receives units but no transferred-in cost was given")
        added = {TRANSFERRED_IN: ti_cost, **added}

    # Scrap values (see _scrap_values): the cash for the units actually lost is one amount, rounded
    # once; the normal loss's scrap value is rounded on its own (it enters the cost per unit) and
    # the abnormal loss's scrap proceeds, or the abnormal gain's scrap forgone, is the rest.
    normal_scrap, al_scrap, ag_scrap = _scrap_values(normal_units, al_units, ag_units, nl.scrap_value, q)

    eus: dict[str, Decimal] = {}
    rates: dict[str, Decimal] = {}
    nets: dict[str, Decimal] = {}
    work: dict[str, tuple[Decimal, Decimal]] = {}  # element -> (EU of good output, EU of closing WIP)
    al_exact: list[Decimal] = []
    ag_exact: list[Decimal] = []
    scrap_by: dict[str, Decimal] = {}
    problems: list[Issue] = []
    for element in stage.elements:
        name = element.name
        # equivalent_units() with lost units = abnormal loss - abnormal gain, term by term.
        # FIFO: this period's work (finish beginning WIP, start-and-complete); beginning cost rides along.
        finish, done, end_eu = equivalent_unit_terms(fifo, b_units, b_done[name], completed, e_units, e_done[name])
        al_eu = al_units * loss_done[name]
        ag_eu = ag_units * loss_done[name]
        if fifo:
            out_eu = finish + done
            pool = added[name]
        else:
            out_eu = done
            pool = b_cost[name] + added[name]
        scrap = normal_scrap if name == nl.scrap_element else zero
        net = pool - scrap
        if net < 0:
            problems.append(Issue(
                "SCRAP_EXCEEDS_COST", "normal_loss.scrap_value",
                f"{stage.name}: the scrap value of the normal loss {normal_scrap} is more than the {name} cost "
                f"{pool} it reduces; check normal_loss.scrap_value (per lost unit) or name another "
                "normal_loss.scrap_element"))
        eu = out_eu + end_eu + al_eu - ag_eu
        if eu <= 0:
            if net:
                problems.append(zero_equivalent_units(stage.name, name, net, eu, method, cost_path(name)))
            rate = _ZERO
        else:
            rate = net / eu
        eus[name] = eu
        rates[name] = rate
        nets[name] = net
        work[name] = (out_eu, end_eu)
        al_exact.append(al_eu * rate)
        ag_exact.append(ag_eu * rate)
        scrap_by[name] = scrap
    if problems:
        raise CostingError(problems)

    # Abnormal loss and gain: each a ledger line, rounded as a whole and split over the elements by
    # largest remainder — the same numbers give the same amounts, whether lost or gained.
    names = list(eus)
    al_by = dict(zip(names, _split(al_exact, q)))
    ag_by = dict(zip(names, _split(ag_exact, q)))
    to_out: dict[str, Decimal] = {}
    to_end: dict[str, Decimal] = {}
    for name in names:
        out_eu, end_eu = work[name]
        rest = nets[name] - al_by[name] + ag_by[name]  # what good output and closing WIP carry
        if not end_eu:
            out, end = rest, zero
        elif not out_eu:
            out, end = zero, rest
        else:
            rate = rates[name]
            out, end = allocate([out_eu * rate, end_eu * rate], rest, q, None)  # as the core: largest remainder
        to_out[name] = b_cost[name] + out if fifo else out
        to_end[name] = end

    b_total = sum(b_cost.values(), zero)
    added_total = sum(added.values(), zero)
    out_total = sum(to_out.values(), zero)
    end_total = sum(to_end.values(), zero)
    al_total = sum(al_by.values(), zero)
    ag_total = sum(ag_by.values(), zero)
    zeros = {name: zero for name in eus}
    added_unit_total = sum(stage.added_units.values(), _ZERO)
    no_spoilage = SpoilageCost._trusted(total=zero, disposal_value=zero, by_element=dict(zeros),
                                        disposal_value_by_element=dict(zeros))

    accounts = _accounts(
        stage, added, received_from, output_to, zero,
        b_total=b_total, normal_units=normal_units, normal_scrap=normal_scrap, al_units=al_units, al_total=al_total,
        al_scrap=al_scrap, ag_units=ag_units, ag_total=ag_total, ag_scrap=ag_scrap, out_total=out_total,
        end_total=end_total)

    return ProcessAccountStageReport._trusted(
        name=stage.name,
        physical_units=PhysicalUnits._trusted(
            beginning_wip=b_units,
            # New units put into the process: units started, and units added with materials.
            started=(_ZERO if stage.receives_transfer else stage.input_units) + added_unit_total,
            transferred_in=stage.input_units if stage.receives_transfer else _ZERO,
            completed=completed,
            ending_wip=e_units,
            normal_spoilage=_ZERO,
            abnormal_spoilage=_ZERO,
        ),
        equivalent_units=eus,
        cost_per_eu=rates,
        costs_to_account_for=CostsToAccountFor._trusted(
            beginning_wip=b_total, added=added_total, total=b_total + added_total,
            beginning_wip_by_element={name: b_cost[name] for name in eus},
            added_by_element={name: added.get(name, zero) for name in eus}),
        transferred_out=Assigned._trusted(total=out_total, by_element=to_out, normal_spoilage_by_element=dict(zeros)),
        ending_wip=Assigned._trusted(total=end_total, by_element=to_end, normal_spoilage_by_element=dict(zeros)),
        normal_spoilage=no_spoilage,
        abnormal_spoilage=no_spoilage,
        normal_loss=LossValue._trusted(units=normal_units, total=normal_scrap, by_element=scrap_by,
                                       scrap_value=normal_scrap),
        abnormal_loss=LossValue._trusted(units=al_units, total=al_total, by_element=al_by, scrap_value=al_scrap),
        abnormal_gain=LossValue._trusted(units=ag_units, total=ag_total, by_element=ag_by, scrap_value=ag_scrap),
        scrap=ScrapValue._trusted(total=normal_scrap + al_scrap - ag_scrap, units=nl.actual),
        accounts=accounts,
    )


def _scrap_values(normal_units: Decimal, al_units: Decimal, ag_units: Decimal, price: Decimal,
                  q: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Scrap value of the normal loss, of the abnormal loss (proceeds) and of the abnormal gain
    (scrap forgone), so that the scrap account closes to the cash for the units actually lost,
    ``(normal + abnormal loss - abnormal gain) x price`` rounded once — not to three amounts rounded
    each (102 units lost at 1.25, 100.5 of them normal, are 127.50 of cash, not 125.63 + 1.88).

    The normal loss is rounded on its own: it is set by what was expected and reduces the cost per
    unit of good output, which an abnormal loss or gain must not move.  The abnormal part is the
    rest: a loss's proceeds are the cash less the normal loss, a gain's scrap forgone is the normal
    loss less the cash.  This is the cash split by largest remainder with the normal loss first
    (two parts: they miss the whole only when both are ties, and the earlier keeps its rounding),
    without letting a tie under half-even move the normal loss.  Runs in the engine's context.

    >>> from decimal import Decimal as D, localcontext, ROUND_HALF_UP
    >>> with localcontext() as ctx:
    ...     ctx.rounding = ROUND_HALF_UP
    ...     _scrap_values(D("100.5"), D("1.5"), D(0), D("1.25"), D("0.01"))
    (Decimal('125.63'), Decimal('1.87'), Decimal('0.00'))
    >>> with localcontext() as ctx:
    ...     ctx.rounding = ROUND_HALF_UP
    ...     _scrap_values(D("100.5"), D(0), D("0.5"), D("1.25"), D("0.01"))
    (Decimal('125.63'), Decimal('0.00'), Decimal('0.63'))
    """
    normal = (normal_units * price).quantize(q)
    cash = ((normal_units + al_units - ag_units) * price).quantize(q)
    zero = _ZERO * q
    if al_units:
        return normal, cash - normal, zero
    if ag_units:
        return normal, zero, normal - cash
    return normal, zero, zero


def _split(exact: list[Decimal], q: Decimal) -> list[Decimal]:
    """Round the sum of ``exact`` to the minor unit and split it over the parts by largest remainder."""
    total = sum(exact, _ZERO)
    if not total:
        return [_ZERO * q] * len(exact)
    return allocate(exact, round_whole(total, q), q, None)  # a half hidden by a division is a tie


def _line(narrative: str, contra: str, units: Decimal | None, amount: Decimal) -> TAccountLine:
    return TAccountLine._trusted(narrative=narrative, contra=contra, units=units if units else None, amount=amount)


def _account(account: str, title: str, debit: list[TAccountLine], credit: list[TAccountLine],
             balance: tuple[str, str] | None = None) -> TAccount:
    """A T-account; ``balance`` (narrative, contra) closes it on whichever side is short."""
    if balance is not None:
        dr = sum((line.amount for line in debit), _ZERO)
        cr = sum((line.amount for line in credit), _ZERO)
        if dr > cr:
            credit.append(_line(*balance, None, dr - cr))
        elif cr > dr:
            debit.append(_line(*balance, None, cr - dr))
    return TAccount._trusted(account=account, title=title, debit=tuple(debit), credit=tuple(credit))


def _accounts(stage: Stage, added: dict[str, Decimal], received_from: str, output_to: str, zero: Decimal, *,
              b_total: Decimal, normal_units: Decimal, normal_scrap: Decimal, al_units: Decimal, al_total: Decimal,
              al_scrap: Decimal, ag_units: Decimal, ag_total: Decimal, ag_scrap: Decimal, out_total: Decimal,
              end_total: Decimal) -> ProcessAccounts:
    name = stage.name
    # Units started go on the line of the first material element (the material that is the units),
    # else on the first element; units added with an element go on that element's line.
    own = [e for e in stage.elements if e.kind is not ElementKind.TRANSFERRED_IN]
    started_on = None
    if not stage.receives_transfer and own:
        materials = [e.name for e in own if e.kind is ElementKind.MATERIAL]
        started_on = materials[0] if materials else own[0].name

    debit = []
    if stage.beginning.units or b_total:
        debit.append(_line("Opening WIP b/d", "opening_wip", stage.beginning.units, b_total))
    if not stage.receives_transfer and started_on is None and stage.input_units:
        debit.append(_line("Units started", "started", stage.input_units, zero))
    for element in stage.elements:
        key = element.name
        if element.kind is ElementKind.TRANSFERRED_IN:
            units = stage.input_units
            narrative = f"Transferred in from {received_from}" if received_from else "Transferred in"
        else:
            units = stage.added_units.get(key, _ZERO) + (stage.input_units if key == started_on else _ZERO)
            narrative = key
        if units or added[key]:
            contra = key if element.kind is ElementKind.TRANSFERRED_IN else f"element:{key}"
            debit.append(_line(narrative, contra, units, added[key]))
    if ag_units:
        debit.append(_line("Abnormal gain", "abnormal_gain", ag_units, ag_total))

    credit = []
    if normal_units or normal_scrap:
        credit.append(_line("Normal loss", "scrap", normal_units, normal_scrap))
    credit.append(_line(f"Transferred to {output_to}" if output_to else "Good output (finished goods)",
                        "transferred_out", stage.completed, out_total))
    if al_units:
        credit.append(_line("Abnormal loss", "abnormal_loss", al_units, al_total))
    if stage.ending.units or end_total:
        credit.append(_line("Closing WIP c/d", "closing_wip", stage.ending.units, end_total))
    process = _account("process", f"Process account — {name}", debit, credit)

    has_scrap = bool(stage.normal_loss.scrap_value)
    pl = ("Profit and loss", "profit_and_loss")
    abnormal_loss = abnormal_gain = scrap = None
    if al_units:
        abnormal_loss = _account(
            "abnormal_loss", f"Abnormal loss account — {name}",
            [_line("Process account", "process", al_units, al_total)],
            [_line("Scrap account (scrap value)", "scrap", al_units, al_scrap)] if has_scrap else [],
            balance=pl)
    if ag_units:
        abnormal_gain = _account(
            "abnormal_gain", f"Abnormal gain account — {name}",
            [_line("Scrap account (scrap value forgone)", "scrap", ag_units, ag_scrap)] if has_scrap else [],
            [_line("Process account", "process", ag_units, ag_total)],
            balance=pl)
    if has_scrap and (normal_units or al_units):
        s_debit = []
        if normal_units:
            s_debit.append(_line("Process account (normal loss)", "process", normal_units, normal_scrap))
        if al_units:
            s_debit.append(_line("Abnormal loss account", "abnormal_loss", al_units, al_scrap))
        s_credit = []
        if ag_units:
            s_credit.append(_line("Abnormal gain account (scrap value forgone)", "abnormal_gain", ag_units, ag_scrap))
        cash = normal_scrap + al_scrap - ag_scrap
        if cash or stage.normal_loss.actual:
            s_credit.append(_line("Cash (scrap sold)", "cash", stage.normal_loss.actual, cash))
        scrap = _account("scrap", f"Scrap account — {name}", s_debit, s_credit)
    return ProcessAccounts._trusted(process=process, abnormal_loss=abnormal_loss, abnormal_gain=abnormal_gain,
                                    scrap=scrap)


def combined_account(account: str, title: str, accounts: list[TAccount], net: tuple[str, ...] = ()) -> TAccount:
    """Several stages' accounts as one (BPP keeps one scrap account, one abnormal loss and gain account).

    Lines are kept, each side in the order given, except the lines posted against a contra in
    ``net`` (e.g. ``"cash"``, ``"profit_and_loss"``): those are summed into one line per contra,
    on whichever side the net amount falls.
    """
    debit: list[TAccountLine] = []
    credit: list[TAccountLine] = []
    netted: dict[str, list] = {}
    for a in accounts:
        for side, lines in ((1, a.debit), (-1, a.credit)):
            for line in lines:
                if line.contra in net:
                    entry = netted.setdefault(line.contra, [line.narrative, _ZERO, _ZERO])
                    entry[1] += side * line.amount
                    entry[2] += side * (line.units or _ZERO)
                else:
                    (debit if side == 1 else credit).append(line)
    for contra, (narrative, amount, units) in netted.items():
        # A net debit balance of the lines netted is shown as a debit, and the other way round.
        if amount > 0 or (not amount and units > 0):
            debit.append(_line(narrative, contra, units, amount))
        elif amount < 0 or units < 0:
            credit.append(_line(narrative, contra, -units, -amount))
    return TAccount._trusted(account=account, title=title, debit=tuple(debit), credit=tuple(credit))
