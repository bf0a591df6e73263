"""Text writers for close reports (the CLI's tables). Amounts are already rounded; babel only
formats them in the chosen locale."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from babel.numbers import format_decimal

from .._currency import minor_unit
from .._journal import JournalBook, code_order
from .._report import ProcessAccountStageReport
from .._text import amount_pattern
from ._compute import CloseResult
from ._diff import CloseDiff, InputChange, PoolTreatment, PoolTreatmentChange, flatten_inputs
from ._general_ledger import balances_after
from ._journals import Texts
from ._rollforward import (DetailRow, RollForward, RollForwardByStage, UnitsRollForward, by_stage, cogs_as_posted,
                           detail_rows)

__all__ = ["render_rollforward", "render_journals_text", "render_postings_by_account", "render_close_summary",
           "render_diff", "STEP_LABELS", "change_text", "value_text"]


def _money(value: Decimal, currency: str, locale: str) -> str:
    """An amount at the currency's places in the locale's own grouping (1,15,937.08 in en_IN)."""
    return format_decimal(value, format=amount_pattern(minor_unit(currency), locale), locale=locale,
                          decimal_quantization=False)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = lambda r: "  " + "  ".join(str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])  # noqa: E731
                                     for i, c in enumerate(r))
    return [fmt(header)] + [fmt(r) for r in rows]


# The stage table's columns: additions, then deductions (amounts taken away: transferred out split
# by where it went), then adjustments (signed).  Columns that are zero throughout are left out,
# except opening, the two transfers out, the overhead true-up and closing.
_COLUMNS = ["opening", "materials", "labour", "overhead", "conversion", "transferred_in", "abnormal_gain",
            "to_next_stage", "to_finished_goods", "spoilage", "count_adjustment", "overhead_adjustment", "closing"]
# The spoilage column is what leaves WIP for spoilage, the WIP credit of the Spoilage (or Process
# losses) journal: abnormal loss plus every spoiled unit's disposal value.  Normal spoilage's cost
# beyond its disposal value stays with the good units, in the transfers out: the title says so, for
# "spoilage" alone reads as all of it (review).
_SPOILAGE_TITLE = "abnormal loss + disposal value"
_TITLES = ["opening", "materials", "labour", "overhead", "conversion", "transferred in", "abnormal gain",
           "to next stage", "to finished goods", _SPOILAGE_TITLE, "count adjustment", "overhead true-up", "closing"]
# Shown even when zero: the overhead true-up is zero in a month whose pools were written off to COGS,
# and two months' tables must still line up column for column.
_ALWAYS = ("opening", "to_next_stage", "to_finished_goods", "overhead_adjustment", "closing")
_SIGNS = ["Each row: opening + additions − deductions ± adjustments = closing. Deductions (to next stage, "
          f"to finished goods, {_SPOILAGE_TITLE}) are",
          "shown as positive amounts taken away; adjustments are signed (+ adds to WIP). A product's last stage "
          "completes to finished goods;",
          "its other stages transfer to the next stage."]
_SPOILAGE_NOTE = [f"  {_SPOILAGE_TITLE}: the cost of abnormal spoilage written off plus the disposal (scrap) value "
                  "of all spoiled units, normal and",
                  "  abnormal (WIP's credit in the spoilage or process-losses journal, an abnormal gain apart); the rest "
                  "of normal spoilage's cost",
                  "  stays with the good units, in to next stage and to finished goods. The units tables count normal "
                  "and abnormal spoiled units apart."]
# Under the process-account convention (UK texts) the same column is what leaves WIP for lost units:
# the normal loss at its scrap value and the abnormal loss at the cost per unit of expected output
# (its scrap proceeds credit the abnormal loss account, not WIP); said in that convention's words.
_LOSS_TITLE = "normal loss scrap + abnormal loss"
_LOSS_NOTE = [f"  {_LOSS_TITLE}: what leaves WIP for lost units — the normal loss at its scrap value (to the scrap "
              "account) and the abnormal",
              "  loss at the cost per unit of expected output (to the abnormal loss account, which its scrap proceeds "
              "credit); an abnormal gain is",
              "  its own column. The rest of the normal loss's cost stays with good output, in to next stage and to "
              "finished goods."]
_UNIT_COLUMNS = ["opening", "started", "transferred_in", "to_next_stage", "to_finished_goods", "normal_spoilage",
                 "abnormal_spoilage", "count_difference", "closing", "ledger_closing"]
_UNIT_TITLES = ["opening", "started", "transferred in", "to next stage", "to finished goods", "normal spoilage",
                "abnormal spoilage", "count difference", "closing", "in ledger"]


def _units(value: Decimal, locale: str) -> str:
    """Units as counted: every digit they have, no trailing zeros.

    >>> _units(Decimal("1234.50"), "en_US"), _units(Decimal("-1"), "de_DE"), _units(Decimal("0.00"), "en_US")
    ('1,234.5', '-1', '0')
    """
    return format_decimal(value.normalize() if value else Decimal(0), format=amount_pattern(0, locale), locale=locale,
                          decimal_quantization=False)


def _tie(text: str, difference: str | None) -> str:
    return f"  {text}: " + ("OK" if difference is None else f"DIFFERENCE {difference}")


def _transfer_ties(total, outside, transfer_difference, fg_completed, fg_difference, fmt, unit: str,
                   fg_source: str) -> list[str]:
    """The two transfer ties under a by-stage table (costs or units, ``fmt`` formatting them):
    transferred in = sent to a next stage, and completed to finished goods = received by them."""
    received = (f"Total transferred in {fmt(total.transferred_in)}{unit}"
                + (f" less {fmt(outside)} received by first stages from outside their product's flow" if outside else "")
                + f" = total to next stage {fmt(total.to_next_stage)}")
    return [_tie(received, fmt(transfer_difference) if transfer_difference else None),
            _tie(f"Total to finished goods {fmt(total.to_finished_goods)}{unit} = completed per {fg_source} "
                 f"{fmt(fg_completed)}", fmt(fg_difference) if fg_difference else None)]


def render_rollforward(rf: RollForward, locale: str = "en_US", detail: bool = False,
                       stages: RollForwardByStage | None = None, units: UnitsRollForward | None = None,
                       general_ledger: tuple = (), book: JournalBook | None = None, company: str = "",
                       close: str = "", element_rows: tuple[DetailRow, ...] | None = None,
                       process_account: bool = False) -> str:
    """The roll-forward as text: WIP by stage (and with ``detail`` by product, stage and element),
    by WIP account, in units (``units``, when given), finished goods, and the ties to the journals.
    ``stages`` is ``by_stage(rf, ...)`` (made here without account subtotals when not given);
    ``element_rows`` the detail's rows, ``detail_rows(rf, ...)`` (made here, abnormal gains not parted out
    of spoilage, when not given).
    ``company`` and ``close`` (which close of the month, e.g. "close #2, recorded ... by ...") head
    the page: after a re-close the month has several roll-forwards, and a binder needs to say which.
    ``process_account``: the close's ``loss_convention`` is ``process_account``: lost units are said in
    its words (normal loss, abnormal loss) rather than spoilage's."""
    m = lambda v: _money(v, rf.currency, locale)  # noqa: E731
    u = lambda v: _units(v, locale)  # noqa: E731
    s = stages if stages is not None else by_stage(rf)
    lines = [(f"{company} — " if company else "") + f"WIP roll-forward {rf.period} ({rf.currency})"
             + (f", {close}" if close else ""), ""]
    if general_ledger and book is not None:  # the opening as the close tied it to the GL, first
        lines += general_ledger_lines(general_ledger, book, m) + [""]
    loss_title = _LOSS_TITLE if process_account else _SPOILAGE_TITLE
    lines += [line.replace(_SPOILAGE_TITLE, loss_title) for line in _SIGNS] + ["", "WIP by stage:"]
    used = [c for c in _COLUMNS if c in _ALWAYS or any(getattr(v, c) for v in s.stages)]
    titles = [loss_title if c == "spoilage" else _TITLES[_COLUMNS.index(c)] for c in used]
    rows = [[v.stage] + [m(getattr(v, c)) for c in used] for v in s.stages + (s.total,)]
    lines += _table(["stage"] + titles, rows)
    if "spoilage" in used:
        lines += _LOSS_NOTE if process_account else _SPOILAGE_NOTE
    lines += _transfer_ties(s.total, s.transferred_in_from_outside, s.transfer_difference, s.finished_goods_completed,
                            s.finished_goods_difference, m, "", "the finished-goods table")
    lines += [""]
    if s.accounts:
        lines += ["By WIP account (movement = closing − opening: read each against its line under \"Ties to the "
                  "journals\"):"]
        rows = [[f"{a.account} {a.name}", ", ".join(a.stages), m(a.opening), m(a.closing), m(a.movement)]
                for a in s.accounts]
        rows.append(["Total", "", m(s.total.opening), m(s.total.closing), m(s.total.closing - s.total.opening)])
        lines += _table(["account", "stages", "opening", "closing", "movement"], rows)
    else:
        lines.append("By WIP account: the stages' WIP accounts are not known here (see the ties to the journals).")
    if detail:
        lines += ["", "By product, stage and element:"]
        detail_of = element_rows if element_rows is not None else detail_rows(rf, s.final_stages)
        lines += _table(["product / stage / element"] + titles,
                        [[f"{r.product} / {r.stage} / {r.element}"] + [m(getattr(r, c)) for c in used]
                         for r in detail_of])
        netted = s.total.abnormal_gain - sum((r.abnormal_gain for r in detail_of), s.total.abnormal_gain * 0)
        if netted:
            lines.append(f"  By element, {'losses are' if process_account else 'spoilage is'} net of {m(netted)} of abnormal gains: which element the normal "
                         "loss's scrap reduced could not be read from the recorded inputs.")
    if units is not None:
        lines += ["", _units_text(units, u, detail, process_account)]
    lines += ["", f"Finished goods {rf.period}:"]
    rows = [[r.product, m(r.opening), m(r.completed), m(r.cost_of_goods_sold), m(r.overhead_adjustment),
             m(r.closing), u(r.closing_units)] for r in rf.finished_goods]
    total = lambda field: sum((getattr(r, field) for r in rf.finished_goods), s.total.closing * 0)  # noqa: E731
    rows.append(["Total", m(total("opening")), m(total("completed")), m(total("cost_of_goods_sold")),
                 m(total("overhead_adjustment")), m(total("closing")), ""])  # units of different products: no total
    lines += _table(["product", "opening", "completed", "cost of units shipped", "overhead true-up", "closing",
                     "units"], rows)
    lines[-1] = lines[-1].rstrip()  # the total row: no units column
    if book is not None:  # the shipped column is not yet COGS as posted: say what the journals add to it
        lines.append(cogs_as_posted_line(*cogs_as_posted(book, rf), m))
    if units is not None:
        lines += ["", "Finished goods units (opening + completed − shipped = closing, checked against the units of "
                      "the finished-goods layers in the ledger):"]
        rows = [[r.product, u(r.opening), u(r.completed), u(r.shipped), u(r.closing), u(r.ledger_closing),
                 "OK" if r.ok else u(r.difference)] for r in units.finished_goods]  # no total: products differ
        lines += _table(["product", "opening", "completed", "shipped", "closing", "in ledger", "check"], rows)
        lines.append("  Units tie: " + ("OK" if units.ties_ok else "NO — see the differences above"))
    lines += ["", "Ties to the journals (each account's movement this month: closing − opening per the "
                  "roll-forward, against debits − credits posted by the close's journals):"]
    seen: set[str] = set()
    for tie in rf.ties:  # stages sharing a WIP account share its tie: said once
        if tie.account in seen:
            continue
        seen.add(tie.account)
        state = "OK" if tie.ok else f"DIFFERENCE {m(tie.difference)} — check the journals posted to {tie.account}"
        lines.append(f"  {tie.account} {tie.name}: movement per roll-forward {m(tie.rollforward)}, net posted "
                     f"{m(tie.journals)}: {state}")
    lines.append("  Roll-forward ties: " + ("OK" if rf.ties_ok and s.ties_ok else "NO — see the differences above"))
    return "\n".join(lines) + "\n"


def _units_text(units: UnitsRollForward, u, detail: bool, process_account: bool = False) -> str:
    """The WIP units roll-forward: by stage (with ``detail`` by product and stage too), each row
    checked against the closing units in the ledger, and the transfers tied."""
    lines = ["WIP units by stage: opening + started + transferred in − to next stage − to finished goods "
             "− normal spoilage − abnormal spoilage",
             "± count difference = closing, checked against the closing units in the ledger. The count difference "
             "is counted − book units" + ("" if units.counts_known else " (here: the ledger's closing units − book "
                                          "units; the counts given could not be read)") + ", + adds to WIP:"]

    # Process accounts: an abnormal gain (units expected to be lost that were not) adds to WIP.
    gains = any(r.abnormal_gain for r in units.rows)
    columns = _UNIT_COLUMNS[:3] + ["abnormal_gain"] * gains + _UNIT_COLUMNS[3:]
    titles = _UNIT_TITLES[:3] + ["abnormal gain"] * gains + _UNIT_TITLES[3:]
    if process_account:  # the convention's own words for lost units
        titles = [{"normal spoilage": "normal loss", "abnormal spoilage": "abnormal loss"}.get(t, t) for t in titles]
        lines[0] = lines[0].replace("normal spoilage", "normal loss").replace("abnormal spoilage", "abnormal loss")

    def rows_of(rows, label):
        return [[label(r)] + [u(getattr(r, c)) for c in columns] + ["OK" if r.ok else u(r.difference)]
                for r in rows]

    if gains:
        lines[0] = lines[0].replace("transferred in", "transferred in + abnormal gain")
    lines += _table(["stage"] + titles + ["check"], rows_of(units.stages, lambda r: r.stage))
    lines.append("  A stage's row adds the units of every product it holds; units of different products are not "
                 "totalled further.")
    lines += _units_transfer_ties(units, u)
    if detail:
        lines += ["", "WIP units by product and stage:"]
        lines += _table(["product / stage"] + titles + ["check"],
                        rows_of(units.rows, lambda r: f"{r.product} / {r.stage}"))
    return "\n".join(lines)


def _units_transfer_ties(units: UnitsRollForward, u) -> list[str]:
    """The two transfer ties in units, product by product (units of different products do not add up)."""
    def differing(differences) -> str | None:
        return "; ".join(f"{p} {u(d)}" for p, d in differences.items()) or None

    return [_tie("Units transferred in = units sent on by the stage before, product by product",
                 differing(units.transfer_differences)),
            _tie("Units to finished goods = completed per the finished-goods units, product by product",
                 differing(units.finished_goods_differences))]


def render_journals_text(book: JournalBook, locale: str = "en_US") -> str:
    m = lambda v: _money(v, book.currency, locale) if v else ""  # noqa: E731
    lines = [f"Journals {book.period} — {book.company} ({book.currency})"]
    for j in book.journals:
        # A reversal's narration carries the reopen's reason, which may take several lines: the
        # journal's header stays one line (as `wip history` and the exports flatten it).
        lines += ["", f"{j.id}  {j.date.isoformat()}  {' '.join(j.narration.split())}"]
        rows = [[_account_label(book, l.account), m(l.debit), m(l.credit), l.memo] for l in j.lines]
        rows.append(["Total", m(j.total_debit), m(j.total_credit),
                     "balanced" if j.total_debit == j.total_credit else "NOT BALANCED"])
        lines += _table(["account", "debit", "credit", "memo"], rows)
    return "\n".join(lines) + "\n"


def _account_label(book: JournalBook, code: str) -> str:
    """'1310 WIP - Assembly': an account code with the chart's name; a code the book's chart lacks
    (the engine never posts one: a ledger row changed with its hash recomputed) is shown, said so."""
    account = book.accounts.get(code)
    return f"{code} {account.name}" if account is not None else f"{code} (not in the book's chart of accounts)"


def render_postings_by_account(book: JournalBook, locale: str = "en_US") -> str:
    """The journals' postings summed by account, in code order: a trial balance of the close."""
    from .._journal import postings_by_account

    m = lambda v: _money(v, book.currency, locale)  # noqa: E731
    totals = postings_by_account(book)
    debit = sum((t.debit for t in totals), Decimal(0))
    credit = sum((t.credit for t in totals), Decimal(0))
    contra = contra_accounts(book)
    rows = [[f"{t.account.code} {t.account.name}",
             f"contra-{t.account.type}" if t.account.code in contra else t.account.type,
             m(t.debit), m(t.credit), m(t.net)] for t in totals]
    ids = [j.id for j in book.journals]
    lines = [f"Postings by account {book.period} ({book.currency})"
             + (f": journals {ids[0]} … {ids[-1]}" if ids else ": no journals"), ""]
    lines += _table(["account", "type", "debit", "credit", "net (debit +)"],
                    rows + [["Total", "", m(debit), m(credit), m(debit - credit)]])
    for code, controls in contra.items():
        if code in {t.account.code for t in totals}:
            named = ", ".join(f"{c} {book.accounts[c].name}" for c in controls)
            lines += [f"  {code} {book.accounts[code].name}: contra account to {named} (overhead applied is "
                      "credited to it, then closed against control",
                      f"  by the overhead true-up); imports carry it as an {book.accounts[code].type} account, "
                      "the class it nets against (beancount: Expenses)."]
    lines.append("  Debits equal credits: balanced" if debit == credit else
                 f"  Debits {m(debit)} and credits {m(credit)} differ by {m(debit - credit)}: NOT balanced")
    return "\n".join(lines) + "\n"


# Memos of the overhead lines, as the close's journals write them: applied is credited by the charge
# journal (its memo is the narration) and debited by the true-up, control credited by the true-up.
_APPLIED_MEMOS = frozenset({Texts.OVERHEAD_APPLIED,
                            *(memo for _, role, memo in Texts.CHARGES if role == "overhead_applied")})
_CONTROL_MEMOS = frozenset({Texts.OVERHEAD_INCURRED})


def contra_accounts(book: JournalBook) -> dict[str, list[str]]:
    """Overhead-applied account code -> the overhead-control account codes it is contra to, for a
    book whose applied and control overhead are posted to different accounts (one account for both
    is the control account itself: nothing is contra then).  Read from the overhead lines' memos.
    The chart types the applied account ``expense``, the class the import formats carry; in a trial
    balance it is the control account's contra, whose balance is a credit."""
    applied: list[str] = []
    control: list[str] = []
    for journal in book.journals:
        for line in journal.lines:
            if line.memo in _APPLIED_MEMOS and line.account not in applied:
                applied.append(line.account)
            elif line.memo in _CONTROL_MEMOS and line.account not in control:
                control.append(line.account)
    others = sorted(set(control) - set(applied), key=code_order)
    return {code: others for code in applied if code not in control and others}


def render_close_summary(result: CloseResult, book: JournalBook, rf: RollForward, locale: str = "en_US") -> str:
    spec = result.plan.spec
    m = lambda v: _money(v, spec.currency, locale)  # noqa: E731
    lines = [f"{spec.company}: close {spec.period} ({spec.method}, {spec.currency})", ""]
    rows = []
    for line in result.overhead:
        diff = line.under_applied
        rows.append([line.stage, line.driver, m(line.applied), m(line.actual),
                     f"{m(abs(diff))} {'under' if diff > 0 else 'over' if diff < 0 else ''}".strip(),
                     disposition_text(line.disposition, diff, spec.overhead_disposition, spec.materiality, m)])
    if rows:
        lines += ["Overhead applied vs actual:"] + _table(["stage", "driver", "applied", "actual", "difference",
                                                            "disposition"], rows) + [""]
    if result.general_ledger:
        lines += general_ledger_lines(result.general_ledger, book, m) + [""]
    wip = sum((r.closing for r in rf.rows), Decimal(0))
    fg = sum((r.closing for r in rf.finished_goods), Decimal(0))
    shipped = sum((p.cogs for p in result.products), Decimal(0))
    prorated = sum((p.cogs_overhead_adjustment for p in result.products), Decimal(0))
    cogs = shipped + prorated + result.written_off_to_cogs
    lines += [f"  Products: {len(result.products)}; stage-rows costed: {sum(len(p.report.stages) for p in result.products)}",
              f"  Closing WIP: {m(wip)}   Finished goods: {m(fg)}   Cost of goods sold: {m(cogs)}",
              cogs_as_posted_line(shipped, result.written_off_to_cogs, prorated, m)]
    charges = other_charges_line(result, m)
    lines += [charges] if charges else []
    lines += [f"  Journals: {len(book.journals)}, all balanced; roll-forward ties to the journals: "
              + ("OK" if rf.ties_ok else "NO")]
    return "\n".join(lines) + "\n"


def other_charges_line(result, m) -> str:
    """What the close charged to profit and loss besides cost of goods sold, by what it is — abnormal
    spoilage (or abnormal loss, and abnormal gain), count differences — each with the account it
    went to, Dr or Cr; "" when none.  From the close's own figures, not an account's net: an account
    the chart also uses for overhead (count differences to manufacturing overhead) nets the overhead
    true-up's clearing too.

    >>> from types import SimpleNamespace as N
    >>> account = lambda code, name: N(code=code, name=name)
    >>> stage = N(abnormal_spoilage=N(total=Decimal("578.63")))
    >>> product = N(report=N(stages=[stage]), count_adjustments={"Assembly": N(amount=Decimal("-147.54"))})
    >>> accounts = N(abnormal_spoilage=account("5810", "Abnormal spoilage"), abnormal_loss=None, abnormal_gain=None,
    ...              count_difference=account("5820", "Count differences"))
    >>> other_charges_line(N(products=[product], plan=N(spec=N(accounts=accounts))), lambda v: f"{v:,.2f}")
    '  Also to profit and loss: abnormal spoilage 578.63 Dr (5810 Abnormal spoilage); count differences 147.54 Dr (5820 Count differences)'
    """
    accounts = result.plan.spec.accounts
    stages = [sr for product in result.products for sr in product.report.stages]
    lost = [sr for sr in stages if isinstance(sr, ProcessAccountStageReport)]  # (their spoilage fields are zero)
    zero = Decimal(0)
    figures = [  # (what, the role's account, amount: + debit, − credit)
        ("abnormal spoilage", accounts.abnormal_spoilage, sum((sr.abnormal_spoilage.total for sr in stages), zero)),
        ("abnormal loss", accounts.abnormal_loss,
         sum((sr.abnormal_loss.total - sr.abnormal_loss.scrap_value for sr in lost), zero)),
        ("abnormal gain", accounts.abnormal_gain,
         -sum((sr.abnormal_gain.total - sr.abnormal_gain.scrap_value for sr in lost), zero)),
        ("count differences", accounts.count_difference,
         -sum((c.amount for product in result.products for c in product.count_adjustments.values()), zero))]
    said = [f"{what} {m(abs(amount))} {'Dr' if amount > 0 else 'Cr'} ({account.code} {account.name})"
            for what, account, amount in figures if account is not None and amount]
    return "  Also to profit and loss: " + "; ".join(said) if said else ""


def cogs_as_posted_line(shipped: Decimal, written_off: Decimal, prorated: Decimal, m) -> str:
    """How the cost of the units shipped (the finished-goods table's column) becomes cost of goods
    sold as posted: plus the overhead written off and the overhead prorated to COGS (each signed, a
    part that is zero left out).  ``m`` formats an amount.

    >>> m = lambda v: f"{v:,.2f}"
    >>> cogs_as_posted_line(Decimal("141800.85"), Decimal("242.00"), Decimal("0.00"), m)
    '  Cost of goods sold as posted 142,042.85 = cost of units shipped 141,800.85 + overhead written off to COGS 242.00'
    >>> cogs_as_posted_line(Decimal("100.00"), Decimal("0.00"), Decimal("-7.50"), m).split(" = ")[1]
    'cost of units shipped 100.00 − overhead prorated to COGS 7.50'
    """
    parts = [f"cost of units shipped {m(shipped)}"]
    for amount, what in ((written_off, "overhead written off to COGS"), (prorated, "overhead prorated to COGS")):
        if amount:
            parts.append(f"{'+' if amount > 0 else '−'} {what} {m(abs(amount))}")
    return f"  Cost of goods sold as posted {m(shipped + written_off + prorated)} = " + " ".join(parts)


def disposition_text(done: str, difference: Decimal, asked: str, materiality: Decimal, m) -> str:
    """What was done with a pool's under/over-applied overhead, in words, and why when it is not
    what the close file asked for (``overhead_disposition: prorate`` and written off anyway).

    >>> m = lambda v: f"{v:,.2f}"
    >>> disposition_text("write_off", Decimal("33.20"), "prorate", Decimal("100"), m)
    'written off to COGS (below materiality 100.00)'
    >>> disposition_text("prorate", Decimal("-180"), "prorate", Decimal("100"), m)
    'prorated'
    """
    if not difference:
        return "none (no difference)"
    if done == "prorate":
        return "prorated"
    if asked != "prorate":
        return "written off to COGS"
    if abs(difference) < materiality:
        return f"written off to COGS (below materiality {m(materiality)})"
    return "written off to COGS (none of the pool's overhead is left in WIP, finished goods or COGS to carry it)"


def general_ledger_lines(ties, book: JournalBook, m) -> list[str]:
    """The tie to the general ledger's balances before the close (``GeneralLedgerTie``s), and each
    account's balance once the close's journals (``book``) are posted there: what to look for in
    the GL after the import.  ``m`` formats an amount."""
    rows = [[f"{t.account} {t.name}", t.holds, m(t.general_ledger), m(t.wip_ledger),
             "OK" if t.ok else m(t.difference), m(after)] for t, after in zip(ties, balances_after(ties, book))]
    return (["Tie to the general ledger (balances before this close's journals, as given with its inputs):"]
            + _table(["account", "holds", "per GL", "per WIP ledger", "difference", "after posting"], rows))


# COGS here is the cost of the units shipped; overhead written off or prorated to COGS moves the
# journal lines (Overhead true-up), shown with them — not added in twice.
_KIND_LABELS = {"closing_wip": "Closing WIP", "finished_goods": "Finished goods",
                "cogs": "Cost of goods sold: units shipped (overhead written off or prorated to COGS: see the "
                        "Overhead true-up journal lines)",
                "journal": "Journal"}
# The totals every diff shows (``CloseDiff.totals``), by name; COGS as posted as the close's summary
# and `wip rollforward` give it (units shipped and the overhead true-up's COGS lines).
_TOTAL_LABELS = {"closing_wip": "Closing WIP", "finished_goods": "Finished goods",
                 "cogs_as_posted": "Cost of goods sold as posted"}
STEP_LABELS = {"opening": "the opening position (the prior month was closed again)",
                "opening+inputs": "the opening position (the prior month was closed again), with",
                "unexplained": "not explained by the input changes (engine version, or changes that never close apart)"}


def _unexplained_label(diff, with_changes: bool) -> str:
    """What is left when the versions were compared.  Input changes that never close apart carry
    what they moved and, when another engine version recorded the later close, its cents too
    (``diff_closes`` cannot split them); a step with no changes is left only where this engine
    recorded the close at that end, so it is not the engine version."""
    if not with_changes:
        return "not explained by the input changes or the engine version"
    later = diff.engine_versions[1]
    return "changes that never close apart" + (
        f" (with the cents engine version {later} rounds otherwise than this one)"
        if later is not None and later != diff.this_engine else "") + ":"


def _engine_step_label(diff: CloseDiff) -> str:
    """What an "engine" step is: the versions that recorded the two closes, and the one that closed
    the steps again when it is neither (see CHANGELOG.md for what each version moved)."""
    recorded_by, this_engine = diff.engine_versions or ("?", "?"), diff.this_engine or "?"
    if recorded_by[0] != recorded_by[1]:
        return (f"engine version {recorded_by[0]} → {recorded_by[1]} (not an input change: the versions post "
                "different cents from the same inputs)")
    return (f"engine version {recorded_by[0]}, which recorded both closes, rounds the changes otherwise than this "
            f"engine {this_engine}, which closed the steps (not an input change)")


def _pool_treatment_text(change: PoolTreatmentChange, m) -> str:
    """``Overhead POOL: before → after``, each side its under/over-applied difference and what was
    done with it, in the close summary's words.  ``m`` formats an amount.

    >>> m = lambda v: f"{v:,.2f}"
    >>> below = PoolTreatment(under_applied=Decimal("33.20"), treatment="write_off", asked="prorate",
    ...                       materiality=Decimal("100"))
    >>> above = below.model_copy(update={"under_applied": Decimal("163.20"), "treatment": "prorate"})
    >>> _pool_treatment_text(PoolTreatmentChange(pool="Packaging", before=below, after=above), m)
    'Overhead Packaging: 33.20 under-applied written off to COGS (below materiality 100.00) → 163.20 under-applied prorated'
    >>> _pool_treatment_text(PoolTreatmentChange(pool="Testing", before=None, after=above.model_copy(
    ...     update={"under_applied": Decimal("-180")})), m)
    'Overhead Testing: (no such pool) → 180.00 over-applied prorated'
    """
    def side(pool: PoolTreatment | None) -> str:
        if pool is None:
            return "(no such pool)"
        difference = pool.under_applied
        done = disposition_text(pool.treatment, difference, pool.asked, pool.materiality, m)
        if not difference:
            return done
        return f"{m(abs(difference))} {'under' if difference > 0 else 'over'}-applied {done}"

    return f"Overhead {change.pool}: {side(change.before)} → {side(change.after)}"


def change_text(change: InputChange) -> str:
    """``path: before → after`` as an accountant reads it: a value not given as "(not given)", a
    section given on one side only (a general ledger removed) by its values, a list by its items.

    >>> change_text(InputChange(path="general_ledger", before={"balances": {"1310": "7449.63"}}, after=None))
    'general_ledger: (balances.1310 = 7449.63) → (not given)'
    >>> change_text(InputChange(path="products[A].stages", before=["Mix", "Fill"], after=["Mix"]))
    'products[A].stages: [Mix, Fill] → [Mix]'
    """
    return f"{change.path}: {value_text(change.before)} → {value_text(change.after)}"


def value_text(value) -> str:
    if value is None:
        return "(not given)"
    if isinstance(value, dict):
        leaves = flatten_inputs(value)
        if not leaves:
            return "(empty)"
        return "(" + ", ".join(f"{path} = {value_text(v)}" for path, v in leaves.items()) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(value_text(v) for v in value) + "]"
    return str(value)


def render_diff(diff: CloseDiff, currency: str, locale: str = "en_US", title: str = "") -> str:
    """The diff as text: the input changes, each step's part of every amount it moved, and every
    amount that moved with its parts by step (they add up to the move)."""
    m = lambda v: _money(v, currency, locale)  # noqa: E731
    signed = lambda v: ("+" if v > 0 else "") + m(v)  # noqa: E731
    lines = [title or f"{diff.period}: two closes compared", ""]
    opening = bool(diff.steps) and diff.steps[0].what == "opening"  # the prior month closed again, a step of its own
    if not diff.input_changes:
        lines.append("No input changes" + (": the opening position differs (the prior month was closed again), "
                                           "step 1 below." if opening else "."))
    else:
        lines.append("Input changes:")
        lines += [f"  {change_text(c)}" for c in diff.input_changes]
    if diff.pool_treatments is None:
        lines += ["", "Overhead pools whose treatment changed: not known (the inputs of one of the closes do not "
                      "close with this engine version; compare the two closes' overhead lines in `wip journal`)"]
    elif diff.pool_treatments:
        lines += ["", "Overhead pools whose treatment changed (under/over-applied, and what was done with it):"]
        lines += [f"  {_pool_treatment_text(c, m)}" for c in diff.pool_treatments]
    if diff.totals:
        lines += ["", "Totals:"]
        for total in diff.totals:
            parts = ", ".join(f"step {n} {signed(v)}" for n, v in total.by_step)
            lines.append(f"  {_TOTAL_LABELS.get(total.name, total.name)}: {m(total.before)} → {m(total.after)} "
                         f"({signed(total.change)})" + (f" = {parts}" if parts else ""))
    if not diff.attributed:
        lines += ["", f"Moves are not split by input change: {diff.note}."]
    elif diff.steps:
        note = f"the opening position first, then {diff.note}" if opening and diff.input_changes else \
            "the opening position" if opening else diff.note
        lines += ["", "What each step moved (the changes are applied one at a time in this order, each at the values "
                      f"before it; {note}):"]
        for n, step in enumerate(diff.steps, 1):
            changes = [change_text(c) for c in step.changes]
            if step.what == "engine":
                head = _engine_step_label(diff)
            elif step.what == "unexplained" and diff.engine_versions is not None:
                head = _unexplained_label(diff, bool(step.changes))
            else:
                head = STEP_LABELS.get(step.what, "")
            if head and changes:
                lines.append(f"  {n}. {head} " + "; ".join(changes))
            else:
                lines.append(f"  {n}. " + (head or "; ".join(changes)))
            if not step.moves:
                ledger_only = step.changes and all(c.path == "general_ledger" or c.path.startswith("general_ledger.")
                                                   for c in step.changes)
                lines.append("       moves nothing" + (" (a general-ledger balance is only tied to before posting)"
                                                       if ledger_only else ""))
            for move in step.moves:
                lines.append(f"       {_KIND_LABELS[move.kind]} {move.name}: {signed(move.amount)}")
    by_kind = defaultdict(list)
    for a in diff.amounts:
        by_kind[a.kind].append(a)
    for kind in ("closing_wip", "finished_goods", "cogs", "journal"):
        if not by_kind.get(kind):
            continue
        lines += ["", f"{_KIND_LABELS[kind]} moved:"]
        for a in by_kind[kind]:
            parts = ", ".join(f"step {n} {signed(v)}" for n, v in a.by_step)
            lines.append(f"  {a.name}: {m(a.before)} → {m(a.after)} ({signed(a.change)})" + (f" = {parts}" if parts else ""))
    if not diff.amounts:
        lines += ["", "No amount moved."]
    return "\n".join(lines) + "\n"


def closing_after_costing(product) -> list[dict]:
    """What the close did to a product's ending WIP after the costing its production cost report
    shows, by stage: ``stage``, ``ending_wip`` (the report's), ``count_adjustment``,
    ``overhead_proration`` and ``closing_wip``, the closing WIP carried to next month (its opening,
    b/d): ending WIP + count adjustment + overhead proration = closing WIP.  A reader tying this
    month's c/d to next month's b/d otherwise finds a difference the report does not explain."""
    rows = []
    for stage in product.report.stages:
        ending = stage.ending_wip.total
        count = product.count_adjustments.get(stage.name)
        counted = count.amount if count is not None else ending * 0
        prorated = sum(product.overhead_adjustment.get(stage.name, {}).values(), ending * 0)
        wip = product.closing_wip.get(stage.name)
        closing = sum(wip.cost.values(), ending * 0) if wip is not None else ending
        rows.append({"stage": stage.name, "ending_wip": ending, "count_adjustment": counted,
                     "overhead_proration": prorated, "closing_wip": closing})
    return rows


def closing_after_costing_text(product, currency: str, locale: str = "en_US") -> str:
    """``closing_after_costing`` said under the report, for the stages the close changed; "" when it
    changed none."""
    m = lambda v: _money(v, currency, locale)  # noqa: E731
    lines = []
    for row in closing_after_costing(product):
        ending, counted, prorated, closing = (row["ending_wip"], row["count_adjustment"], row["overhead_proration"],
                                              row["closing_wip"])
        if not counted and not prorated and closing == ending:
            continue
        said = f"ending WIP {m(ending)}"
        for amount, what in ((counted, "count adjustment"), (prorated, "overhead proration")):
            if amount:
                said += f" {'+' if amount > 0 else '−'} {m(abs(amount))} {what}"
        lines.append(f"  {row['stage']}: {said} = closing WIP {m(closing)}")
    if not lines:
        return ""
    return "\n".join(["", "After the costing above, the close adjusted ending WIP; the closing WIP is what next month opens "
                      "with (b/d), by element in `wip rollforward --detail`:"] + lines) + "\n"
