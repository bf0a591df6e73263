"""What the period lifecycle tells the accountant: NEEDS_RE_CLOSE on every reader of a flagged month
(journals and exports after a close, diff), the months to re-close named in order when a month is
flagged through another, commands that reach the ledger they are about (`--ledger` when it is not
the default), `--period` taken by reopen and diff as by every other command, and a diff or refusal
worded for an accountant."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import CloseRefused, close_period, reopen_period
from costing.ledger import Ledger
from tests.demo_data import DEMO, demo, on_another_october
from tests.test_close import _following_month


def _late_invoice_october() -> dict:
    data = demo("2026-10")
    data["products"][0]["stages"][1]["added_costs"]["labour"] = 4800.00
    return data


# ---- NEEDS_RE_CLOSE on every reader of a flagged month ------------------------------------------

@pytest.fixture
def november_flagged(tmp_path) -> Path:
    """November closed twice (so it has an after-close history and a diff), then October reopened
    and closed again with a change: November's close rests on the superseded October."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-11", "re-close", user="controller")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
        close_period(_late_invoice_october(), ledger, user="test")
        assert ledger.stale_periods() == {"2026-11": "2026-10"}
    return db


@pytest.mark.parametrize("command", [
    ["journal", "--period", "2026-11", "--after-close", "1"],
    ["journal", "--period", "2026-11", "--after-close", "1", "--json"],
    ["export", "--period", "2026-11", "--after-close", "1", "--format", "gl-csv", "--out", "OUT"],
    ["diff", "2026-11"],
    ["diff", "2026-11", "--json"],
], ids=["journal", "journal-json", "export", "diff", "diff-json"])
def test_a_flagged_month_warns_on_every_reader(november_flagged, command, tmp_path, capsys):
    command = [str(tmp_path / "out") if part == "OUT" else part for part in command]
    assert main(command + ["--ledger", str(november_flagged)]) == 0
    out, err = capsys.readouterr()
    assert err.startswith("warning: 2026-11's close opened from a close of 2026-10 that has since been reopened or "
                          "replaced") and err.rstrip().endswith("[NEEDS_RE_CLOSE]"), err
    assert "NEEDS_RE_CLOSE" not in out  # the warning is not in what is printed (JSON, journals)


def test_after_close_of_a_month_that_is_not_flagged_says_nothing(november_flagged, capsys):
    assert main(["journal", "--period", "2026-10", "--after-close", "1", "--ledger", str(november_flagged)]) == 0
    assert "NEEDS_RE_CLOSE" not in capsys.readouterr().err


# ---- a month flagged through another: the months to re-close, in order ---------------------------

@pytest.fixture
def three_months(tmp_path):
    """October, November and December closed in turn; then October reopened and closed again with a
    change: November rests on the superseded October, December on November."""
    db = tmp_path / "l.db"
    ledger = Ledger(db)
    close_period(demo("2026-10"), ledger, user="test")
    november = close_period(demo("2026-11"), ledger, user="test")
    december = _following_month(demo("2026-11"), november, "2026-12")
    december_closed = close_period(december, ledger, user="test")
    reopen_period(ledger, "2026-10", "late invoice", user="controller")
    close_period(_late_invoice_october(), ledger, user="test")
    yield db, ledger, december, december_closed
    ledger.close()


def test_a_month_flagged_through_another_names_the_month_it_opened_from_and_the_order(three_months, capsys):
    db, ledger, _, _ = three_months
    assert ledger.stale_periods() == {"2026-11": "2026-10", "2026-12": "2026-10"}  # unchanged
    assert ledger.re_close_order("2026-11") == ["2026-11"]
    assert ledger.re_close_order("2026-12") == ["2026-11", "2026-12"]
    assert ledger.re_close_order("2026-10") == []
    why = ledger.needs_re_close("2026-12")
    assert why.startswith("2026-12's close opened from the close of 2026-11, which itself rests on a close of "
                          "2026-10 that has since been reopened or replaced")
    assert "then re-close 2026-11, then 2026-12, in that order" in why
    assert '(each month: `wip reopen MONTH --reason "WHO AND WHY"`, then `wip close FILE --period MONTH`' in why
    assert "a close of 2026-10 that" in why and "opened from a close of 2026-10" not in why
    # November, flagged directly, is told as before, word for word (the Excel functions show it too).
    assert ledger.needs_re_close("2026-11") == (
        "2026-11's close opened from a close of 2026-10 that has since been reopened or replaced: its opening, and "
        "so its journals and roll-forward, rest on superseded figures — close 2026-10 again if it is open, then "
        "re-close 2026-11: `wip reopen 2026-11 --reason \"WHO AND WHY\"`, then `wip close FILE --period 2026-11` (WHO AND WHY: "
        "who asked for the re-close and why; FILE: the month's close file or workbook), before its journals go to the general ledger")

    assert main(["journal", "--period", "2026-12", "--ledger", str(db)]) == 0
    err = capsys.readouterr().err
    assert "opened from the close of 2026-11" in err and "re-close 2026-11, then 2026-12" in err
    assert main(["history", "--ledger", str(db)]) == 0
    out = capsys.readouterr().out
    assert "2026-11: closed — NEEDS RE-CLOSE: its opening rests on a superseded close of 2026-10\n" in out
    assert ("2026-12: closed — MAY NEED RE-CLOSE: it opened from 2026-11, which rests on a superseded close of "
            "2026-10: re-close 2026-11, then 2026-12, in that order, each after the first only if the re-close before "
            "it says so\n") in out
    assert "may rest on superseded figures" in ledger.needs_re_close("2026-12")
    assert "may rest" not in ledger.needs_re_close("2026-11")  # flagged directly: it does


def test_following_the_advice_re_closes_the_months_in_order(three_months):
    db, ledger, december, _ = three_months
    reopen_period(ledger, "2026-11", "October changed", user="controller")
    november = close_period(on_another_october(demo("2026-11")), ledger, user="test")
    assert ledger.re_close_order("2026-12") == ["2026-12"]  # now flagged directly, through nothing
    assert "opened from a close of 2026-11" in ledger.needs_re_close("2026-12")
    reopen_period(ledger, "2026-12", "November changed", user="controller")
    close_period(_following_month(demo("2026-11"), november, "2026-12"), ledger, user="test")
    assert ledger.stale_periods() == {} and ledger.verify() == []


def test_a_month_after_one_flagged_through_another_is_refused_with_the_order(three_months):
    _, ledger, december, december_closed = three_months
    january = _following_month(december, december_closed, "2027-01")
    with pytest.raises(CloseRefused) as refused:
        close_period(january, ledger, user="test")
    [issue] = refused.value.issues
    assert issue.code == "PRIOR_PERIOD_STALE"
    assert issue.message.startswith("2026-12 opened from the close of 2026-11, which rests on a close of 2026-10 "
                                    "that has since been replaced")
    assert "re-close 2026-11, then 2026-12 (reopen each and close it again, in that order; each after the first " \
           "only if the re-close before it says so) before 2027-01" \
           in issue.message


def test_a_month_after_one_resting_on_a_reopened_month_says_to_close_that_month_first(tmp_path):
    """November only reopened, not replaced: January's close said December "opened from a close of
    2026-11 that has since been replaced" and to reopen December, whose close was then refused
    (PRIOR_PERIOD_OPEN) — and a re-close of November from the same position would not move it."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        november = close_period(demo("2026-11"), ledger, user="test")
        december = _following_month(demo("2026-11"), november, "2026-12")
        december_closed = close_period(december, ledger, user="test")
        reopen_period(ledger, "2026-11", "late labour", user="controller")
        with pytest.raises(CloseRefused) as refused:
            close_period(_following_month(december, december_closed, "2027-01"), ledger, user="test")
        [issue] = refused.value.issues
        assert (issue.code, issue.message) == ("PRIOR_PERIOD_STALE", (
            "2026-12 opened from a close of 2026-11 that is reopened now, so its closing position may change; close "
            "2026-11 again first (`wip close FILE --period 2026-11`, FILE: 2026-11's close file or "
            "workbook): that close says whether 2026-12 needs closing again before 2027-01"))
        # December itself: locked, and the step before reopening it is November's close.
        with pytest.raises(CloseRefused) as refused:
            close_period(december, ledger, user="test")
        [issue] = refused.value.issues
        assert (issue.code, issue.message) == ("PERIOD_LOCKED", (
            "2026-12 is closed (close #1) and locked, and 2026-11 is reopened: close 2026-11 again first (`wip close "
            "FILE --period 2026-11`, FILE: 2026-11's close file or workbook): that close says whether "
            "2026-12 needs closing again, and how"))


def test_a_re_close_changing_only_how_the_month_is_printed_leaves_the_next_month_alone(tmp_path):
    """October closed again with `locale: de_DE` (same inputs, same closing WIP and finished goods):
    November was flagged NEEDS RE-CLOSE, "this close moved the closing position", beside "posts to
    each account what close #1 posted"."""
    with Ledger(tmp_path / "l.db") as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-10", "print in German", user="controller")
        close_period({**demo("2026-10"), "locale": "de_DE", "materiality": "150.00"}, ledger, user="test")
        assert ledger.stale_periods() == {} and ledger.needs_re_close("2026-11") is None
        # the accounts the position is in are part of it: moved, the next month rests on another position
        reopen_period(ledger, "2026-10", "finished goods account renamed", user="controller")
        moved = demo("2026-10")
        moved["accounts"]["finished_goods"] = {"code": "1401", "name": "Finished goods"}
        close_period(moved, ledger, user="test")
        assert ledger.stale_periods() == {"2026-11": "2026-10"}


def test_a_re_close_in_another_currency_is_refused(tmp_path):
    """The ledger's first month closed again in EUR after close #1 in USD: the re-close notice said a
    GL that took close #1 "needs nothing more", and `--after-close 1` exports labelled the EUR lines
    USD (and put both currencies' lines in one Xero, QBO, IIF or Intacct file)."""
    with Ledger(tmp_path / "l.db") as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "functional currency is EUR", user="controller")
        with pytest.raises(CloseRefused) as refused:
            close_period({**demo("2026-10"), "currency": "EUR"}, ledger, user="test")
        [issue] = refused.value.issues
        assert (issue.code, issue.path) == ("CURRENCY_MISMATCH", "currency")
        assert issue.message.startswith("2026-10's close #1 was in USD, and what a general ledger took of it, and "
                                        "its reversal, are in USD; found 'EUR'")
        assert ledger.status("2026-10") == "reopened"
        close_period(demo("2026-10"), ledger, user="test")  # in its own currency, as before
        # A later month: its opening is in the month before's currency, and that is what is said.
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-11", "functional currency is EUR", user="controller")
        with pytest.raises(CloseRefused) as refused:
            close_period({**demo("2026-11"), "currency": "EUR"}, ledger, user="test")
        assert [i.message.split(";")[0] for i in refused.value.issues if i.code == "CURRENCY_MISMATCH"] == [
            "2026-10 closed in USD, and its closing WIP and finished goods open this month in USD"]


@pytest.mark.parametrize("command", [["standards", "--period", "2026-11", "--standards",
                                      str(DEMO / "standards.yaml")],
                                     ["flow", "--period", "2026-11"]], ids=["standards", "flow"])
def test_standards_and_flow_of_a_flagged_month_warn_as_every_reader_does(november_flagged, command, capsys):
    """`wip standards` and `wip flow` of a month resting on a superseded close said nothing of it."""
    assert main(command + ["--ledger", str(november_flagged)]) == 0
    err = capsys.readouterr().err
    assert err.startswith("warning: 2026-11's close opened from a close of 2026-10 that has since been reopened or "
                          "replaced") and err.rstrip().endswith("[NEEDS_RE_CLOSE]"), err


# ---- suggested commands reach the ledger they are about ------------------------------------------

@pytest.fixture
def elsewhere(tmp_path, monkeypatch) -> Path:
    """Working in tmp_path, with the close file (and so its ledger) in sub/."""
    (tmp_path / "sub").mkdir()
    shutil.copy(DEMO / "close-2026-10.yaml", tmp_path / "sub" / "close-2026-10.yaml")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_period_locked_suggests_a_reopen_that_reaches_the_ledger(elsewhere, capsys):
    assert main(["close", "sub/close-2026-10.yaml", "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert f"`wip verify --ledger {Path('sub/wip-ledger.db')} --head 1:" in out and "` checks against it" in out
    assert main(["close", "sub/close-2026-10.yaml", "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    suggested = 'wip reopen 2026-10 --reason "WHO AND WHY" --ledger ' + str(Path("sub/wip-ledger.db"))
    assert f"`{suggested}`" in err and "[PERIOD_LOCKED]" in err
    # Run as suggested, from where the close was run, it reopens the month.
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", str(Path("sub/wip-ledger.db"))]) == 0
    assert "reopened by" in capsys.readouterr().out


def test_the_default_ledger_is_not_given_again(tmp_path, monkeypatch, capsys):
    shutil.copy(DEMO / "close-2026-10.yaml", tmp_path / "close-2026-10.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["close", "close-2026-10.yaml", "--period", "2026-10"]) == 0
    assert "`wip verify --head 1:" in capsys.readouterr().out
    assert main(["close", "close-2026-10.yaml", "--period", "2026-10"]) == 2
    assert '`wip reopen 2026-10 --reason "WHO AND WHY"`, then close it again' in capsys.readouterr().err


def test_a_ledger_path_with_spaces_is_one_word(tmp_path, capsys):
    db = tmp_path / "month end" / "l.db"
    db.parent.mkdir()
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", str(db)]) == 0
    assert f"`wip verify --ledger '{db}' --head 1:" in capsys.readouterr().out  # quoted safe to paste (shlex)


def test_needs_re_close_and_verify_name_the_ledger(november_flagged, capsys):
    assert main(["journal", "--period", "2026-11", "--ledger", str(november_flagged)]) == 0
    err = capsys.readouterr().err
    assert (f'`wip reopen 2026-11 --ledger {november_flagged} --reason "WHO AND WHY"`, then '
            f"`wip close FILE --period 2026-11 --ledger {november_flagged}`") in err
    assert main(["verify", "--ledger", str(november_flagged)]) == 0
    out = capsys.readouterr().out
    head = out.split("Ledger head: ")[1].split(" ")[0]
    assert f"`wip verify --ledger {november_flagged} --head {head[:head.index(':') + 9]}` checks the ledger against it" in out
    assert main(["verify", "--ledger", str(november_flagged), "--head", head[:head.index(':') + 9]]) == 0  # runs as given


# ---- reopen and diff take --period as the other commands do --------------------------------------

def test_reopen_and_diff_take_the_period_as_an_option_too(tmp_path, capsys):
    db = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", db]) == 0
    assert main(["reopen", "--period", "2026-10", "--reason", "late invoice", "--ledger", db]) == 0
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", db]) == 0
    capsys.readouterr()
    assert main(["diff", "--period", "2026-10", "--ledger", db]) == 0
    by_option = capsys.readouterr().out
    assert main(["diff", "2026-10", "--ledger", db]) == 0  # positionally, as before
    assert capsys.readouterr().out == by_option and by_option.startswith("2026-10: close #1 → close #2")


@pytest.mark.parametrize("args, said", [
    (["reopen", "--reason", "x"], "the period is required"),
    (["reopen", "2026-10", "--period", "2026-11", "--reason", "x"], "the period is given twice"),
    (["diff"], "the period is required"),
    (["diff", "--period", "2026-13"], "--period"),
])
def test_reopen_and_diff_without_one_period_are_usage_errors(args, said, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args + ["--ledger", str(tmp_path / "l.db")])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert said in err and f"wip {args[0]}" in err  # the command's own usage, not the top level's


# ---- worded for an accountant ---------------------------------------------------------------------

def test_reopen_of_a_month_never_closed_says_so(tmp_path, capsys):
    db = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", db]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-09", "--reason", "x", "--ledger", db]) == 2
    err = capsys.readouterr().err
    assert "2026-09 was never closed in" in err and "is open" not in err and "[NOT_CLOSED]" in err
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", db]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", db]) == 2
    assert "2026-10 is reopened and not closed again since" in capsys.readouterr().err


def test_diff_shows_a_general_ledger_removed_by_its_balances(tmp_path, capsys):
    db = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", db]) == 0
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", db]) == 0
    assert main(["reopen", "2026-11", "--reason", "no GL", "--ledger", db]) == 0
    without = tmp_path / "close-2026-11.yaml"
    text = (DEMO / "close-2026-11.yaml").read_text()
    start = text.index("general_ledger:")
    end = text.index("\n", text.index("balances:", start)) + 1
    without.write_text(text[:start] + text[end:])
    assert main(["close", str(without), "--period", "2026-11", "--ledger", db]) == 0
    capsys.readouterr()
    assert main(["diff", "2026-11", "--ledger", db]) == 0
    out = capsys.readouterr().out
    assert "{'balances'" not in out and "→ None" not in out
    assert "  general_ledger: (balances.1310 = 7449.63, balances.1320 = 5546.83, balances.1330 = 3016.66, " \
           "balances.1400 = 19278.95, balances.5900 = 33650.00) → (not given)\n" in out
    assert "moves nothing (a general-ledger balance is only tied to before posting)" in out


def test_the_re_close_a_warning_suggests_runs_as_printed_once_filled_in(november_flagged, tmp_path, capsys):
    """NEEDS_RE_CLOSE once suggested `wip reopen 2026-11 --ledger L, wip close --ledger L`: no reason,
    no file, no period, so neither ran. Its commands now run with only the placeholders filled in."""
    import re
    import shlex

    november = tmp_path / "close 2026-11.yaml"  # November without the GL balances of the October it replaced
    text = (DEMO / "close-2026-11.yaml").read_text()
    start = text.index("general_ledger:")
    november.write_text(text[:start] + text[text.index("\n", text.index("balances:", start)) + 1:])
    assert main(["journal", "--period", "2026-11", "--ledger", str(november_flagged)]) == 0
    commands = re.findall(r"`(wip [^`]*)`", capsys.readouterr().err)
    assert [c.split()[:2] for c in commands] == [["wip", "reopen"], ["wip", "close"]], commands
    for command in commands:
        filled = command.replace('"WHO AND WHY"', '"October changed"').replace("FILE", shlex.quote(str(november)))
        assert main(shlex.split(filled)[1:]) == 0, filled
    with Ledger(november_flagged) as ledger:
        assert ledger.stale_periods() == {} and ledger.needs_re_close("2026-11") is None


def test_prior_period_open_gives_the_close_to_run(tmp_path, capsys):
    """Closing November while October is reopened: the refusal names the command that closes
    October, reaching this ledger (it named none)."""
    db = tmp_path / "month end" / "l.db"
    db.parent.mkdir()
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", str(db)]) == 2
    err = capsys.readouterr().err
    assert "[PRIOR_PERIOD_OPEN]" in err
    assert f"`wip close FILE --period 2026-10 --ledger '{db}'` (FILE: 2026-10's close file or workbook)" in err
