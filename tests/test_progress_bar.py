"""Long runs show a progress bar: the close, and the reports that cost a recorded close again
(`wip report`, `wip variance`) — on stderr, when it is a terminal, from 500 products."""

from __future__ import annotations

import io

from costing._cli_common import progress_bar
from costing.close_service import recorded_outcome_or_why
from costing.ledger import Ledger
from costing.variance import build_variance_report, current_closes


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_is_drawn_on_a_terminal_for_a_large_run_only(monkeypatch):
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress_bar(250, 1000)
    progress_bar(1000, 1000)
    assert terminal.getvalue() == ("\rcosting products [#######.......................] 250/1000"
                                   "\rcosting products [##############################] 1000/1000\n")
    small = _Terminal()
    monkeypatch.setattr("sys.stderr", small)
    progress_bar(3, 3)
    assert small.getvalue() == ""
    piped = io.StringIO()  # not a terminal: a log file gets no carriage returns
    monkeypatch.setattr("sys.stderr", piped)
    progress_bar(1000, 1000)
    assert piped.getvalue() == ""


def test_wip_report_and_wip_variance_report_their_progress(demo_ledger):
    calls: list[tuple[int, int]] = []
    with Ledger(demo_ledger) as ledger:
        closed = ledger.current_close("2026-11")
        outcome, why = recorded_outcome_or_why(closed.inputs, ledger, "2026-11",
                                               progress=lambda done, total: calls.append((done, total)))
        assert outcome is not None, why
        assert calls and calls[-1] == (3, 3)  # the demo's three products, costed again
        calls.clear()
        before, after = current_closes(ledger, "2026-11")
    build_variance_report(before, after, progress=lambda done, total: calls.append((done, total)))
    assert calls.count((3, 3)) >= 2  # each month costed again


def test_problems_after_an_unfinished_bar_start_on_a_line_of_their_own(monkeypatch):
    """Review: when a product before the last failed, the bar was never finished and the first
    problem was printed on the bar's line."""
    from costing._cli_common import print_issues
    from costing._errors import Issue

    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    progress_bar(250, 1000)
    print_issues([Issue("NEGATIVE_UNITS", "products[3].stages[0].started", "units cannot be negative")])
    lines = terminal.getvalue().split("\n")
    assert lines[0].endswith("250/1000") and lines[1].startswith("error: products[3]"), lines


def test_wip_diff_reports_its_progress_over_every_close_it_makes(tmp_path, monkeypatch, capsys):
    """`wip diff` closes the month once for each step (20 s at 2,000 products) and showed nothing."""
    from costing import cli
    from costing.close_service import close_period, reopen_period
    from tests.demo_data import demo

    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "two corrections", user="test")
        corrected = demo("2026-10")
        corrected["products"][0]["stages"][0]["added_costs"]["labour"] = "9500.00"
        corrected["products"][1]["shipments"] = 100
        close_period(corrected, ledger, user="test")
    calls: list[tuple[int, int, str]] = []
    monkeypatch.setattr(cli, "progress_bar", lambda done, total, what: calls.append((done, total, what)))
    assert cli.main(["diff", "2026-10", "--ledger", str(path)]) == 0
    out = capsys.readouterr().out
    assert "9500.00" in out and "shipments" in out  # the diff itself is printed as before
    # The earlier inputs, then one close a change: three closes of the demo's three products.
    assert {total for _, total, _ in calls} == {9}
    assert [done for done, _, _ in calls] == sorted(done for done, _, _ in calls)
    assert calls[-1][:2] == (9, 9) and calls[-1][2] == "closing each step again"
