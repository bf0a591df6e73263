"""Reopening a month whose later months are closed: whether those need a re-close is known only
when the month is closed again (a re-close that moves no closing figure leaves them as they are).
The reopen says so; the re-close that moves the closing position names each later month with the
commands to run (reopen, then close), with --ledger."""

from __future__ import annotations

from costing.cli import main
from tests.demo_data import DEMO


def _closed_both_and_reopened_october(tmp_path, capsys) -> tuple[str, str]:
    ledger = str(tmp_path / "my ledger.db")
    for period in ("2026-10", "2026-11"):
        assert main(["close", str(DEMO / f"close-{period}.yaml"), "--period", period, "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    return ledger, capsys.readouterr().out


def test_reopen_names_the_later_month_and_says_when_it_needs_a_re_close(tmp_path, capsys):
    _, out = _closed_both_and_reopened_october(tmp_path, capsys)
    line = next(l for l in out.splitlines() if "Later months" in l)
    assert "2026-11" in line and "if closing 2026-10 again moves its closing WIP or finished goods" in line


def test_a_re_close_that_moves_the_closing_position_names_the_later_month_and_the_commands(tmp_path, capsys):
    ledger, _ = _closed_both_and_reopened_october(tmp_path, capsys)
    changed = tmp_path / "close-2026-10.yaml"
    text = (DEMO / "close-2026-10.yaml").read_text()
    assert text.count("2000.00") == 1  # Packaging's actual overhead
    changed.write_text(text.replace("2000.00", "2130.00"))
    assert main(["close", str(changed), "--period", "2026-10", "--ledger", ledger]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "Needs re-close" in l)
    assert line.startswith("  Needs re-close: 2026-11 ")
    assert (f"`wip reopen 2026-11 --ledger '{ledger}' --reason \"WHO AND WHY\"`, then "
            f"`wip close FILE --period 2026-11 --ledger '{ledger}'`") in line


def test_a_re_close_that_moves_nothing_names_no_later_month(tmp_path, capsys):
    ledger, _ = _closed_both_and_reopened_october(tmp_path, capsys)
    changed = tmp_path / "close-2026-10.yaml"
    text = (DEMO / "close-2026-10.yaml").read_text()
    changed.write_text(text.replace("company:", "company: Renamed #", 1))
    assert main(["close", str(changed), "--period", "2026-10", "--ledger", ledger]) == 0
    assert "Needs re-close" not in capsys.readouterr().out


def test_reopen_of_the_last_month_says_nothing_of_later_months(tmp_path, capsys):
    ledger = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    assert "Later months" not in capsys.readouterr().out


def test_the_suggested_close_names_the_default_ledger_too(tmp_path, capsys, monkeypatch):
    """`wip close FILE` finds its ledger beside FILE, not in the working directory: a suggested
    close reaches the working directory's wip-ledger.db only with --ledger, while reopen needs none."""
    monkeypatch.chdir(tmp_path)
    for period in ("2026-10", "2026-11"):
        assert main(["close", str(DEMO / f"close-{period}.yaml"), "--period", period, "--ledger", "wip-ledger.db"]) == 0
    assert main(["reopen", "2026-10", "--reason", "late invoice"]) == 0
    changed = tmp_path / "elsewhere" / "close-2026-10.yaml"
    changed.parent.mkdir()
    changed.write_text((DEMO / "close-2026-10.yaml").read_text().replace("2000.00", "2130.00"))
    capsys.readouterr()
    assert main(["close", str(changed), "--period", "2026-10", "--ledger", "wip-ledger.db"]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "Needs re-close" in l)
    assert ('`wip reopen 2026-11 --reason "WHO AND WHY"`, then `wip close FILE --period 2026-11 --ledger wip-ledger.db`'
            in line)
    assert main(["journal", "--period", "2026-11"]) == 0
    assert "`wip close FILE --period 2026-11 --ledger wip-ledger.db`" in capsys.readouterr().err


def _three_months_closed(tmp_path) -> str:
    """A ledger with the demo's October and November closed, and December from November's figures."""
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from tests.demo_data import demo
    from tests.test_close import _following_month

    ledger = str(tmp_path / "l.db")
    with Ledger(ledger) as book:
        close_period(demo("2026-10"), book, user="test")
        november = close_period(demo("2026-11"), book, user="test")
        close_period(_following_month(demo("2026-11"), november, "2026-12"), book, user="test")
    return ledger


def _october_reopened_and_closed_again_with_a_change(tmp_path, ledger: str, capsys) -> str:
    """What closing October again prints, after its reopen, with Packaging's overhead 130.00 higher."""
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    changed = tmp_path / "close-2026-10.yaml"
    changed.write_text((DEMO / "close-2026-10.yaml").read_text().replace("2000.00", "2130.00"))
    capsys.readouterr()
    assert main(["close", str(changed), "--period", "2026-10", "--ledger", ledger]) == 0
    return capsys.readouterr().out


def test_with_two_later_months_only_the_next_gets_commands_the_other_waits_in_order(tmp_path, capsys):
    """December opened from November's close, not October's: it needs a re-close only if November's
    re-close moves November's closing position, which that re-close says. Reopening it first fails."""
    ledger = _three_months_closed(tmp_path)
    out = _october_reopened_and_closed_again_with_a_change(tmp_path, ledger, capsys)
    needs = [l for l in out.splitlines() if "Needs re-close" in l]
    assert len(needs) == 1 and needs[0].startswith("  Needs re-close: 2026-11 ")
    then = next(l for l in out.splitlines() if l.startswith("  Then, in order"))
    assert then.endswith(": 2026-12") and "wip reopen 2026-12" not in out


def test_a_later_month_waiting_on_another_reopened_month_is_not_named(tmp_path, capsys):
    """November reopened, then October re-closed: December opened from November's close, which the
    user reopened; it waits for November's own re-close, and October's re-close names nothing (a
    reviewer was told to reopen December, which posted reversals and could not then close)."""
    ledger = _three_months_closed(tmp_path)
    assert main(["reopen", "2026-11", "--reason", "count error", "--ledger", ledger]) == 0
    out = _october_reopened_and_closed_again_with_a_change(tmp_path, ledger, capsys)
    assert "Needs re-close" not in out and "Then, in order" not in out
    assert "  Also flagged, waiting on another month's re-close: 2026-12 (" in out  # November's, which leads


def test_a_ledger_problem_after_the_close_is_recorded_is_a_warning_not_a_refusal(tmp_path, capsys, monkeypatch):
    """The close is posted before the later months are looked at: a ledger problem then must not
    print "nothing was written" (a reviewer's hand-edited superseded row did)."""
    import costing.close_service as service
    from costing.ledger import Ledger, LedgerError

    def unreadable(ledger, period, close_no=1):
        raise LedgerError("LEDGER_CHANGED", "a row was changed outside the engine")

    monkeypatch.setattr(service, "re_close_notice", unreadable)
    ledger = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", ledger]) == 0
    out, err = capsys.readouterr()
    assert "Recorded in" in out and "nothing was written" not in err
    assert "could not be checked: a row was changed outside the engine [LEDGER_CHANGED]" in err
    with Ledger(ledger) as book:
        assert book.status("2026-10") == "closed"


def test_a_re_close_of_the_first_month_restating_its_opening_says_the_gl_needs_it(tmp_path, capsys):
    """The ledger's first month opens from its file; no journal posts an opening (the GL holds it),
    so a re-close that restates it — Assembly's beginning WIP materials 4,800.00 → 4,900.00, an
    opening finished-goods layer 5,250.00 → 5,200.00 — says by account what the GL must record,
    with both figures; a re-close with the same opening says nothing of it."""
    ledger, _ = _closed_both_and_reopened_october(tmp_path, capsys)
    text = (DEMO / "close-2026-10.yaml").read_text()
    same = tmp_path / "same.yaml"
    same.write_text(text.replace("2000.00", "2130.00"))  # Packaging's actual overhead: no opening moves
    assert main(["close", str(same), "--period", "2026-10", "--ledger", ledger]) == 0
    assert "Opening restated" not in capsys.readouterr().out
    assert main(["reopen", "2026-10", "--reason", "opening WIP restated", "--ledger", ledger]) == 0
    restated = tmp_path / "restated.yaml"
    assert text.count("materials: 4800.00") == 1 and text.count("cost: 5250.00") == 1
    restated.write_text(text.replace("materials: 4800.00", "materials: 4900.00").replace("cost: 5250.00",
                                                                                         "cost: 5200.00"))
    capsys.readouterr()
    assert main(["close", str(restated), "--period", "2026-10", "--ledger", ledger]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "Opening restated" in l)
    assert ("Opening restated: this close opens 2026-10 with other balances than close #2 did — "
            "1310 10,560.00 → 10,660.00 (+100.00); 1400 8,650.00 → 8,600.00 (-50.00). The journals post the "
            "month's movements, never an opening: record the restatement in the general ledger") in line


def test_a_restated_opening_the_gl_balances_given_already_hold_is_not_told_to_be_recorded(tmp_path):
    """The re-close was given the GL's balances and tied to them (it is refused otherwise): the GL
    holds the restated opening of those accounts already — told for the others only, in the
    currency's places (0.00 for an account on one side only)."""
    from collections import defaultdict
    from decimal import Decimal

    from costing.close_service import close_period, re_close_notice, reopen_period
    from costing.ledger import Ledger
    from tests.demo_data import demo

    with Ledger(tmp_path / "l.db") as ledger:
        first = close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "opening restated", user="controller")
        october = demo("2026-10")
        october["products"][0]["stages"][0]["beginning_wip"]["cost"]["materials"] = Decimal("4900.00")
        october["products"][0]["opening_finished_goods"][0]["cost"] = Decimal("5200.00")
        wip = {stage: account["code"] for stage, account in october["accounts"]["wip"].items()}
        gl = defaultdict(Decimal)
        for row in first.rollforward.rows:
            gl[wip[row.stage]] += row.opening
        gl["1310"] += 100  # the restatement booked in the GL already; finished goods' not given
        gl[october["accounts"]["overhead_control"]["code"]] = sum(
            (Decimal(str(pool["actual"])) for pool in october["overhead"].values()), Decimal(0))
        october["general_ledger"] = {"balances": {code: str(v) for code, v in gl.items()}}
        outcome = close_period(october, ledger, user="test")
        (line,) = [l for l in re_close_notice(ledger, "2026-10", outcome.event.close_no) if "Opening restated" in l]
    assert "1400 8,650.00 → 8,600.00 (-50.00)." in line and "1310" not in line
