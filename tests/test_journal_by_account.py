"""`wip journal --by-account`: the close's postings summed by account, a trial balance of its journals."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

from costing._journal import postings_by_account
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
    assert [t.account.code for t in totals] == sorted(expected)
    assert {t.account.code: [t.debit, t.credit] for t in totals} == dict(expected)
    assert sum(t.debit for t in totals) == sum(t.credit for t in totals) == sum(j.total_debit for j in book.journals)
    assert sum(t.net for t in totals) == 0


def test_the_cli_prints_them_and_gives_them_as_json(demo_ledger):
    text = run_wip("journal", "--period", "2026-11", "--by-account", "--ledger", demo_ledger)
    assert text.returncode == 0, text.stderr
    as_json = run_wip("journal", "--period", "2026-11", "--by-account", "--json", "--ledger", demo_ledger)
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)["accounts"]
    assert sum(Decimal(r["debit"]) for r in rows) == sum(Decimal(r["credit"]) for r in rows) > 0
    assert all(Decimal(r["net"]) == Decimal(r["debit"]) - Decimal(r["credit"]) for r in rows)
    wip_testing = next(r for r in rows if r["account"] == "1320")
    assert wip_testing["name"] == "WIP - Testing" and wip_testing["type"] == "asset"
    line = next(line for line in text.stdout.splitlines() if line.strip().startswith("1320 WIP - Testing"))
    assert f"{Decimal(wip_testing['debit']):,.2f}" in line and f"{Decimal(wip_testing['credit']):,.2f}" in line
    assert "balanced" in text.stdout.splitlines()[-1]
