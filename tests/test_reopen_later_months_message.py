"""Reopening a month whose later months are closed says those months need a re-close, and that each
is still closed (locked), so it must be reopened too: the command to start with, with --ledger."""

from __future__ import annotations

from costing.cli import main
from tests.demo_data import DEMO


def test_reopen_names_the_later_month_and_the_reopen_it_needs(tmp_path, capsys):
    ledger = str(tmp_path / "my ledger.db")
    for period in ("2026-10", "2026-11"):
        assert main(["close", str(DEMO / f"close-{period}.yaml"), "--period", period, "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    out = capsys.readouterr().out
    line = next(l for l in out.splitlines() if "Needs re-close" in l)
    assert "2026-11" in line and "still closed" in line
    assert f"`wip reopen 2026-11 --ledger '{ledger}' --reason \"...\"`" in line


def test_reopen_of_the_last_month_says_nothing_of_later_months(tmp_path, capsys):
    ledger = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    assert "Needs re-close" not in capsys.readouterr().out
