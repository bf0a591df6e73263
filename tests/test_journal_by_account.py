"""`wip journal --by-account`: the close's postings summed by account, a trial balance of its journals."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from decimal import Decimal

from costing._journal import Account, Journal, JournalBook, JournalLine, postings_by_account
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.conftest import run_wip
from tests.demo_data import demo


def test_totals_by_account_add_up_line_by_line_and_balance(tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        book = close_period(demo("2026-10"), ledger, user="test").journals
    expected = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for journal in book.journals:
        for line in journal.lines:
            expected[line.account][0] += line.debit
            expected[line.account][1] += line.credit
    totals = postings_by_account(book)
    assert [t.account.code for t in totals] == sorted(expected, key=int)  # the demo's codes are all numbers
    assert {t.account.code: [t.debit, t.credit] for t in totals} == dict(expected)
    assert sum(t.debit for t in totals) == sum(t.credit for t in totals) == sum(j.total_debit for j in book.journals)
    assert sum(t.net for t in totals) == 0


def test_the_cli_prints_them_and_gives_them_as_json(demo_ledger):
    text = run_wip("journal", "--period", "2026-11", "--by-account", "--ledger", demo_ledger)
    assert text.returncode == 0, text.stderr
    as_json = run_wip("journal", "--period", "2026-11", "--by-account", "--json", "--ledger", demo_ledger)
    assert as_json.returncode == 0, as_json.stderr
    payload = json.loads(as_json.stdout)
    rows = payload["accounts"]
    assert sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows) > 0
    assert (payload["period"], payload["currency"], payload["after_close"]) == ("2026-11", "USD", None)
    assert Decimal(payload["total_debit"]) == sum(Decimal(r["debit"]) for r in rows)
    assert Decimal(payload["total_credit"]) == sum(Decimal(r["credit"]) for r in rows)
    journal = json.loads(run_wip("journal", "--period", "2026-11", "--json", "--ledger", demo_ledger).stdout)
    debits = [Decimal(line["debit"]) for j in journal["journals"] for line in j["lines"]]
    assert Decimal(payload["total_debit"]) == sum(debits), "the journals' own debits, added up"
    assert all(Decimal(r["net"]) == Decimal(r["debit"]) - Decimal(r["credit"]) for r in rows)
    wip_testing = next(r for r in rows if r["account"] == "1320")
    assert wip_testing["name"] == "WIP - Testing" and wip_testing["type"] == "asset"
    line = next(line for line in text.stdout.splitlines() if line.strip().startswith("1320 WIP - Testing"))
    assert f"{Decimal(wip_testing['debit']):,.2f}" in line and f"{Decimal(wip_testing['credit']):,.2f}" in line
    assert "balanced" in text.stdout.splitlines()[-1]


def book_posting_to(*codes: str) -> JournalBook:
    """One journal posting 1.00 to each account and the total back to the first."""
    chart = {code: Account(code=code, name=f"Account {code}", type="asset") for code in codes}
    lines = [JournalLine(account=code, debit=Decimal("1.00"), credit=Decimal(0)) for code in codes[1:]]
    lines.append(JournalLine(account=codes[0], debit=Decimal(0), credit=Decimal(len(codes) - 1)))
    return JournalBook(company="Co", currency="USD", period="2026-10", accounts=chart, journals=(
        Journal(id="J-1", date=dt.date(2026, 10, 31), narration="n", lines=tuple(lines)),))


def test_codes_sort_as_numbers_where_they_are_digits_whatever_order_they_were_posted_in():
    posted = ["1310", "900", "WIP-10", "wip-9", "10000", "1310.2", "1310.10", "0900"]
    natural = ["0900", "900", "1310", "1310.2", "1310.10", "10000", "wip-9", "WIP-10"]
    for order in (posted, list(reversed(posted)), sorted(posted)):
        assert [t.account.code for t in postings_by_account(book_posting_to(*order))] == natural


def test_the_json_of_journals_after_a_close_says_so_and_prints_names_as_the_journals_do(tmp_path):
    from costing.close_service import reopen_period

    db = tmp_path / "l.db"
    october = demo("2026-10")
    october["accounts"]["cogs"]["name"] = "Coût des ventes"
    with Ledger(db) as ledger:
        close_period(october, ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="test")
        close_period(october, ledger, user="test")
    result = run_wip("journal", "--period", "2026-10", "--by-account", "--json", "--after-close", "1", "--ledger", db)
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["after_close"] == 1 and payload["period"] == "2026-10"
    assert payload["total_debit"] == payload["total_credit"]
    assert all(Decimal(r["net"]) == 0 for r in payload["accounts"]), "close #2 as close #1: the reversal nets it out"
    assert "Co\\u00fbt des ventes" in result.stdout, "non-ASCII escaped, as `wip journal --json` does"
    assert next(r for r in payload["accounts"] if r["account"] == "5000")["name"] == "Coût des ventes"
