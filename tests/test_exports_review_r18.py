"""Exports, review round 18: beancount's accounts file across charts, gl-csv's close and reversal columns,
a byte-order mark before a formula, the beancount header of a file of reversals alone, and a numbered set
of which one never-imported file was deleted."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest

from costing._journal import Account, Journal, JournalBook, JournalLine, PostedBook, posted_after
from costing.exports import ExportError, export_journals, render_journals
from costing.exports._common import guard_formula, text

D = Decimal

CHART = {a.code: a for a in [
    Account(code="1210", name="Raw materials inventory", type="asset"),
    Account(code="1310", name="WIP - Assembly", type="asset"),
    Account(code="1400", name="Finished goods inventory", type="asset"),
    Account(code="2110", name="Accrued payroll", type="liability"),
    Account(code="5000", name="Cost of goods sold", type="expense"),
]}
# November's chart adds conversion costs applied (2150): the reviewer's case.
NOVEMBER_CHART = {**CHART, "2150": Account(code="2150", name="Conversion costs applied", type="liability")}


def line(account: str, amount: str, memo: str = "") -> JournalLine:
    value = D(amount)
    return JournalLine(account=account, debit=max(value, D(0)), credit=max(-value, D(0)), memo=memo)


def book(period: str, chart: dict[str, Account], prefix: str = "WIP", k: int = 1) -> JournalBook:
    """A close of ``period``: ids as the close gives them (WIP-..., WIP2-... for close #2)."""
    year, month = map(int, period.split("-"))
    date = dt.date(year, month, 30 if month != 2 else 28)
    scale = D(10) ** (k - 1)
    journals = [Journal(id=f"{prefix}-{period}-001", date=date, narration="Materials issued to Assembly",
                        lines=(line("1310", str(1000 * scale), "Assembly: material"),
                               line("1210", str(-1000 * scale)))),
                Journal(id=f"{prefix}-{period}-002", date=date, narration="Completed and sold",
                        lines=(line("1400", str(600 * scale)), line("1310", str(-600 * scale)),
                               line("5000", str(600 * scale)), line("1400", str(-600 * scale))))]
    if "2150" in chart:
        journals.append(Journal(id=f"{prefix}-{period}-003", date=date, narration="Conversion costs charged",
                                lines=(line("1310", str(500 * scale)), line("2150", str(-500 * scale)))))
    return JournalBook(company="Brew Works Ltd", currency="USD", period=period, accounts=chart,
                       journals=tuple(journals))


def reversal(closed: JournalBook, k: int = 1) -> JournalBook:
    return closed.model_copy(update={"journals": tuple(j.model_copy(update={
        "id": f"REV-{j.id}", "narration": "late invoice",
        "lines": tuple(x.model_copy(update={"debit": x.credit, "credit": x.debit}) for x in j.lines)})
        for j in closed.journals)})


def october_history(closes: int = 2) -> list[PostedBook]:
    history = [PostedBook("close", 1, book("2026-10", CHART))]
    for k in range(2, closes + 1):
        history.append(PostedBook("reversal", k - 1, reversal(history[-1].book)))
        history.append(PostedBook("close", k, book("2026-10", CHART, f"WIP{k}", k)))
    return history


def opened(folder: Path) -> dict[str, tuple[str, str]]:
    """accounts.beancount's open directives: beancount name -> (code, name), in file order."""
    found = re.findall(r'^1970-01-01 open (\S+) USD\n  code: "([^"]*)"\n  name: "([^"]*)"$',
                       (folder / "accounts.beancount").read_text("utf-8"), re.MULTILINE)
    return {name: (code, account) for name, code, account in found}


def posted_accounts(path: Path) -> set[str]:
    return set(re.findall(r"^  ((?:Assets|Liabilities|Equity|Income|Expenses)\S*)", path.read_text("utf-8"),
                          re.MULTILINE))


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- 1. beancount: an export never removes an open directive ------------------------------------------

def test_re_exporting_october_after_november_keeps_novembers_accounts_opened(tmp_path):
    export_journals(book("2026-10", CHART), "beancount", tmp_path)
    export_journals(book("2026-11", NOVEMBER_CHART), "beancount", tmp_path)
    assert "Liabilities:ConversionCostsApplied" in opened(tmp_path)
    export_journals(book("2026-10", CHART), "beancount", tmp_path)  # the same bytes again: allowed
    accounts = opened(tmp_path)
    assert accounts["Liabilities:ConversionCostsApplied"] == ("2150", "Conversion costs applied")
    for path in tmp_path.glob("journals-*.beancount"):
        assert posted_accounts(path) <= set(accounts), path.name


def test_october_after_close_file_exported_after_november_keeps_novembers_accounts(tmp_path):
    history = october_history(2)
    export_journals(history[0].book, "beancount", tmp_path, history=history[:1])
    export_journals(book("2026-11", NOVEMBER_CHART), "beancount", tmp_path)
    export_journals(posted_after(history, 1), "beancount", tmp_path, after_close=1, history=history)
    accounts = opened(tmp_path)
    assert set(accounts) == {"Assets:RawMaterialsInventory", "Assets:WIPAssembly", "Assets:FinishedGoodsInventory",
                             "Liabilities:AccruedPayroll", "Liabilities:ConversionCostsApplied",
                             "Expenses:CostOfGoodsSold"}
    assert list(accounts) == sorted(accounts), "sorted by beancount name"
    for path in tmp_path.glob("journals-*.beancount"):
        assert posted_accounts(path) <= set(accounts), path.name


def test_the_accounts_file_does_not_depend_on_the_order_of_the_exports(tmp_path):
    for folder, order in ((tmp_path / "a", ("2026-10", "2026-11")), (tmp_path / "b", ("2026-11", "2026-10"))):
        for period in order:
            export_journals(book(period, NOVEMBER_CHART if period == "2026-11" else CHART), "beancount", folder)
    assert opened(tmp_path / "a") == opened(tmp_path / "b")
    # the header names the chart of the last export's company; the opens are the same bytes
    body = {f: (tmp_path / f / "accounts.beancount").read_bytes().split(b"\n\n", 1)[1] for f in ("a", "b")}
    assert body["a"] == body["b"]
    # rendering alone (nothing written) still gives the book's own chart
    alone = render_journals(book("2026-10", CHART), "beancount")["accounts.beancount"].decode("utf-8")
    assert "ConversionCostsApplied" not in alone


def test_the_accounts_file_says_exports_add_to_it(tmp_path):
    export_journals(book("2026-10", CHART), "beancount", tmp_path)
    header = (tmp_path / "accounts.beancount").read_text("utf-8").split("\n\n")[0]
    assert "Rewritten by every" not in header
    assert "never removed" in header


@pytest.mark.parametrize("chart, message", [
    ({**CHART, "5000": Account(code="5000", name="Cost of sales", type="expense")},
     r"account 5000 is opened in .*accounts\.beancount as Expenses:CostOfGoodsSold \('Cost of goods sold'\); this "
     r"export's chart names it Expenses:CostOfSales \('Cost of sales'\)"),
    ({**CHART, "5000": Account(code="5000", name="Cost of goods sold", type="asset")},
     r"account 5000 is opened in .* as Expenses:CostOfGoodsSold .* names it Assets:CostOfGoodsSold"),
    ({**{c: a for c, a in CHART.items() if c != "5000"}, "5001": Account(code="5001", name="Cost of goods sold",
                                                                         type="expense")},
     r"Expenses:CostOfGoodsSold is opened in .* for account 5000 \('Cost of goods sold'\); this export's chart "
     r"gives that name to account 5001"),
])
def test_an_account_the_folder_opens_under_another_name_is_refused(tmp_path, chart, message):
    export_journals(book("2026-10", CHART), "beancount", tmp_path)
    before = contents(tmp_path)
    later = book("2026-11", chart)
    later = later.model_copy(update={"journals": tuple(j.model_copy(update={"lines": tuple(
        x.model_copy(update={"account": "5001" if x.account == "5000" and "5000" not in chart else x.account})
        for x in j.lines)}) for j in later.journals)})
    with pytest.raises(ExportError, match=message):
        export_journals(later, "beancount", tmp_path)
    assert contents(tmp_path) == before


def test_a_renamed_account_that_keeps_its_beancount_name_keeps_its_open_as_it_was(tmp_path):
    export_journals(book("2026-10", CHART), "beancount", tmp_path)
    recased = {**CHART, "5000": Account(code="5000", name="Cost of Goods Sold", type="expense")}
    export_journals(book("2026-11", recased), "beancount", tmp_path)
    assert opened(tmp_path)["Expenses:CostOfGoodsSold"] == ("5000", "Cost of goods sold")


def test_an_accounts_file_of_another_currency_or_not_written_by_an_export_is_refused(tmp_path):
    export_journals(book("2026-10", CHART), "beancount", tmp_path / "usd")
    yen = book("2026-11", CHART).model_copy(update={"currency": "JPY"})
    before = contents(tmp_path / "usd")
    with pytest.raises(ExportError, match=r"opens Assets:FinishedGoodsInventory in USD; this export posts JPY"):
        export_journals(yen, "beancount", tmp_path / "usd")
    assert contents(tmp_path / "usd") == before
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "accounts.beancount").write_text('2020-01-01 open Assets:Cash USD\n2020-01-01 balance Assets:Cash 0 USD\n')
    with pytest.raises(ExportError, match=r"accounts\.beancount, line 1: found '2020-01-01 open Assets:Cash "
                                          r"USD', expected a blank line .* not an accounts file a beancount export wrote"):
        export_journals(book("2026-10", CHART), "beancount", mine)
    assert sorted(p.name for p in mine.iterdir()) == ["accounts.beancount"]


def test_the_reviewers_folder_passes_bean_check_when_installed(tmp_path):
    """bean-check itself (beancount is a test dependency, pyproject [test])."""
    loader = pytest.importorskip("beancount.loader")
    history = october_history(2)
    export_journals(history[0].book, "beancount", tmp_path, history=history[:1])
    export_journals(book("2026-11", NOVEMBER_CHART), "beancount", tmp_path)
    export_journals(posted_after(history, 1), "beancount", tmp_path, after_close=1, history=history)
    export_journals(history[0].book, "beancount", tmp_path, history=history)
    (tmp_path / "main.beancount").write_text('include "accounts.beancount"\ninclude "journals-*.beancount"\n')
    _, errors, _ = loader.load_file(str(tmp_path / "main.beancount"))
    assert errors == []


# --- 2. gl-csv: which close posted a journal, and what a reversal reverses -----------------------------

def gl_rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def test_gl_csv_says_which_close_posted_each_journal_and_what_a_reversal_reverses():
    history = october_history(3)
    rows = gl_rows(render_journals(posted_after(history, 1), "gl-csv")["journals-2026-10.gl.csv"])
    assert list(rows[0])[-4:] == ["source", "close_no", "reversal", "reversed_journal_id"]
    seen = {(r["journal_id"], r["close_no"], r["reversal"], r["reversed_journal_id"]) for r in rows}
    assert seen == {
        ("REV-WIP-2026-10-001", "1", "Y", "WIP-2026-10-001"), ("REV-WIP-2026-10-002", "1", "Y", "WIP-2026-10-002"),
        ("WIP2-2026-10-001", "2", "N", ""), ("WIP2-2026-10-002", "2", "N", ""),
        ("REV-WIP2-2026-10-001", "2", "Y", "WIP2-2026-10-001"),
        ("REV-WIP2-2026-10-002", "2", "Y", "WIP2-2026-10-002"),
        ("WIP3-2026-10-001", "3", "N", ""), ("WIP3-2026-10-002", "3", "N", "")}
    month = gl_rows(render_journals(history[0].book, "gl-csv")["journals-2026-10.gl.csv"])
    assert {(r["close_no"], r["reversal"], r["reversed_journal_id"]) for r in month} == {("1", "N", "")}


def test_gl_csv_leaves_the_close_number_blank_for_journals_no_close_posted():
    other = book("2026-10", CHART, prefix="J")
    rows = gl_rows(render_journals(other, "gl-csv")["journals-2026-10.gl.csv"])
    assert {(r["close_no"], r["reversal"], r["reversed_journal_id"]) for r in rows} == {("", "N", "")}


def test_gl_csv_carries_nothing_that_differs_between_two_ledgers_closing_the_same_inputs():
    """No entered date (the ledger's recorded_at) or entered-by: the same close in two ledgers gives the
    same bytes; the header holds no such column."""
    header = render_journals(book("2026-10", CHART), "gl-csv")["journals-2026-10.gl.csv"].split(b"\r\n")[0]
    assert b"entered" not in header and b"recorded" not in header


# --- 8. a byte-order mark before a formula ------------------------------------------------------------

@pytest.mark.parametrize("value", ["\ufeff=bom", "\ufeff\ufeff+1", "\u200b@SUM(A1)", "\u2060-2+3"])
def test_invisible_characters_before_a_formula_start_do_not_hide_it(value):
    assert text(value).lstrip("'") != text(value), value
    assert guard_formula(value).startswith("'"), value


def test_a_bom_before_a_formula_is_guarded_in_every_csv(tmp_path):
    bom = book("2026-10", CHART)
    bom = bom.model_copy(update={"journals": tuple(j.model_copy(update={
        "narration": "\ufeff=HYPERLINK(\"x\")", "lines": tuple(x.model_copy(update={"memo": "\ufeff=1+2"})
                                                               for x in j.lines)}) for j in bom.journals)})
    for fmt in ("gl-csv", "qbo", "xero", "intacct"):
        for name, data in render_journals(bom, fmt).items():
            for row in csv.reader(io.StringIO(data.decode("utf-8"), newline="")):
                for cell in row:
                    assert not cell.lstrip("\ufeff\u200b\u2060").startswith(("=", "+", "@")), (fmt, cell)


def test_an_account_name_with_a_bom_before_a_formula_is_refused_not_written(tmp_path):
    """A name a recorded close vouches for may hold a BOM (checked as it was accepted): written as it is,
    it would run as a formula."""
    chart = {**CHART, "5000": Account.model_construct(code="5000", name="\ufeff=cmd|' /C calc'!A0", type="expense")}
    with pytest.raises(ExportError, match=r"account name .* starts with =, after an invisible character"):
        render_journals(book("2026-10", chart), "gl-csv")


# --- 6. beancount: a file of reversals alone is wip reopen's --------------------------------------------

def test_a_beancount_file_of_reversals_alone_does_not_say_wip_close_posted_it(tmp_path):
    history = october_history(1) + [PostedBook("reversal", 1, reversal(book("2026-10", CHART)))]
    export_journals(posted_after(history, 1), "beancount", tmp_path, after_close=1, history=history)
    first = (tmp_path / "journals-2026-10-after-close-1.beancount").read_text("utf-8").splitlines()[0]
    assert "journals posted for 2026-10 by wip reopen (reversals)" in first
    assert "wip close" not in first
    both = october_history(2)
    export_journals(posted_after(both, 1), "beancount", tmp_path / "both", after_close=1, history=both)
    first = (tmp_path / "both" / "journals-2026-10-after-close-1.beancount").read_text("utf-8").splitlines()[0]
    assert "journals posted for 2026-10 by wip close and wip reopen (reversals)" in first


# --- 9. a numbered set: one never-imported file deleted, the set exported again -------------------------

def many(period: str = "2026-10") -> JournalBook:
    journals = tuple(Journal(id=f"WIP-{period}-{n:03d}", date=dt.date(2026, 10, 31), narration=f"Batch {n}",
                             lines=(line("1310", f"{n}.00"), line("1210", f"-{n}.00"))) for n in range(1, 8))
    return JournalBook(company="Acme", currency="USD", period=period, accounts=CHART, journals=journals)


@pytest.mark.parametrize("fmt", ["xero", "intacct"])
@pytest.mark.parametrize("deleted", [1, 2, 3])
def test_a_deleted_file_of_a_numbered_set_is_exported_again(tmp_path, fmt, deleted):
    paths = export_journals(many(), fmt, tmp_path, max_lines=6)
    assert len(paths) == 3
    whole = contents(tmp_path)
    paths[deleted - 1].unlink()
    export_journals(many(), fmt, tmp_path, max_lines=6)
    assert contents(tmp_path) == whole


@pytest.mark.parametrize("fmt", ["xero", "intacct"])
def test_a_numbered_set_missing_a_file_is_still_never_replaced_with_other_contents(tmp_path, fmt):
    paths = export_journals(many(), fmt, tmp_path, max_lines=6)
    paths[2].unlink()
    before = contents(tmp_path)
    with pytest.raises(ExportError, match="never replaced with other contents"):
        export_journals(many(), fmt, tmp_path, max_lines=4)  # other files: the first one differs
    assert contents(tmp_path) == before


@pytest.mark.parametrize("fmt", ["xero", "intacct"])
def test_a_deleted_file_of_a_numbered_after_close_set_is_exported_again(tmp_path, fmt):
    history = october_history(2)
    options = {"max_lines": 4}
    export_journals(history[0].book, fmt, tmp_path, history=history[:1], **options)
    paths = export_journals(posted_after(history, 1), fmt, tmp_path, after_close=1, history=history, **options)
    assert len(paths) > 1
    whole = contents(tmp_path)
    paths[-1].unlink()
    export_journals(posted_after(history, 1), fmt, tmp_path, after_close=1, history=history, **options)
    assert contents(tmp_path) == whole


@pytest.mark.parametrize("fmt, limit", [("xero", 300), ("intacct", 5000)])
def test_more_lines_per_file_than_the_system_takes_is_refused(fmt, limit, tmp_path):
    """--max-lines above the vendor's limit wrote files the system would refuse to import."""
    from costing.exports import ExportError, export_journals

    with pytest.raises(ExportError, match=f"more than the {limit} lines") as refused:
        export_journals(many(), fmt, tmp_path, max_lines=limit + 1)
    assert refused.value.option == "max_lines" and not list(tmp_path.iterdir())
    assert export_journals(many(), fmt, tmp_path, max_lines=limit)  # the limit itself is fine
