"""The command line said precisely (review): a ledger path that cannot be used says what is wrong with
it at --ledger (a folder, a folder that does not exist, one you may not write, a workbook's name
for a new ledger), a period that is not a month says why, every option of the ledger commands has
help, a reopen's reason is plain text that prints on one line, and the messages that name a month
to re-close, or an export to import, say it as the close does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from costing.cli import build_parser, main
from costing.close_service import CloseRefused, close_period, reopen_period
from costing.ledger import Ledger, LedgerError
from tests.demo_data import DEMO, demo
from tests.test_close import _following_month

OCTOBER = str(DEMO / "close-2026-10.yaml")
NOVEMBER = str(DEMO / "close-2026-11.yaml")


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


@pytest.fixture
def october(tmp_path) -> Path:
    db = tmp_path / "l.db"
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 0
    return db


# ---- a ledger path that cannot be used: what is wrong with it, at --ledger -----------------------

@pytest.mark.parametrize("command", [["journal", "--period", "2026-10"], ["history"],
                                     ["close", OCTOBER, "--period", "2026-10"]], ids=["journal", "history", "close"])
def test_a_folder_given_as_the_ledger_is_said_to_be_a_folder(command, tmp_path, capsys):
    (tmp_path / "l.wip.db").write_bytes(b"")
    assert main([*command, "--ledger", str(tmp_path)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: {tmp_path} is a folder, not a ledger file; give the ledger file itself")
    assert "it holds l.wip.db: give one of them" in said and said.endswith("[LEDGER_UNAVAILABLE]")
    assert "may you write" not in said  # a reader is not told about writing
    assert sorted(p.name for p in tmp_path.iterdir()) == ["l.wip.db"]


def test_a_ledger_in_a_folder_that_does_not_exist_says_so(tmp_path, capsys):
    db = tmp_path / "no" / "such" / "l.db"
    assert main(["journal", "--period", "2026-10", "--ledger", str(db)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: no ledger at {db}: its folder {db.parent} does not exist")
    assert said.endswith("[LEDGER_NOT_FOUND]")
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: cannot create a ledger at {db}: its folder {db.parent} does not exist")
    assert said.endswith("[LEDGER_UNAVAILABLE]") and "create the folder first" in said
    assert not (tmp_path / "no").exists()


def test_a_missing_ledger_is_said_at_ledger(tmp_path, capsys):
    assert main(["journal", "--period", "2026-10", "--ledger", str(tmp_path / "none.db")]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: no ledger at {tmp_path / 'none.db'}; close a period first")


def test_a_new_ledger_in_a_folder_you_may_not_write_is_read_only(tmp_path, monkeypatch, capsys):
    """The permission as the operating system answers it (os.access), not as SQLite's "unable to open
    database file" (LEDGER_UNAVAILABLE) — stood in for, so that it runs as root too."""
    import costing.ledger._sqlite as sqlite_ledger

    folder = tmp_path / "locked"
    folder.mkdir()
    allowed = os.access
    monkeypatch.setattr(sqlite_ledger.os, "access",
                        lambda path, mode: False if Path(path) == folder else allowed(path, mode))
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(folder / "l.db")]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: cannot write to the ledger {folder / 'l.db'}: its folder {folder} is "
                           "read-only for you, so a new ledger cannot be created in it")
    assert said.endswith("[LEDGER_READ_ONLY]") and list(folder.iterdir()) == []


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0,
                    reason="as root every folder is writable: the permission check passes")
def test_a_new_ledger_in_a_read_only_folder_is_read_only(tmp_path, capsys):
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(folder / "l.db")]) == 2
        assert "[LEDGER_READ_ONLY]" in capsys.readouterr().err and list(folder.iterdir()) == []
    finally:
        folder.chmod(0o755)


@pytest.mark.parametrize("name", ["out.xlsx", "book.xlsm", "old.xls", "journals.csv", "close.yaml", "c.yml",
                                  "close.json", "OUT.XLSX"])
def test_a_new_ledger_named_like_a_workbook_or_data_file_is_refused(name, tmp_path, capsys):
    """`wip close FILE --ledger out.xlsx`: the arguments swapped, most likely; never a SQLite file
    under a workbook's name."""
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(tmp_path / name)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith(f"error: --ledger: {tmp_path / name} ends in {Path(name).suffix}, a name for a workbook "
                           "or a data file, not a ledger: a ledger is a SQLite file ending .db")
    assert said.endswith("[NOT_A_LEDGER]") and list(tmp_path.iterdir()) == []
    with pytest.raises(LedgerError) as refused:
        Ledger(tmp_path / name)
    assert refused.value.code == "NOT_A_LEDGER" and list(tmp_path.iterdir()) == []


def test_a_ledger_named_dot_db_or_wip_db_is_created_as_before(tmp_path):
    for name in ("wip-ledger.db", "BOOK.wip.db", "ledger.sqlite"):
        with Ledger(tmp_path / name) as ledger:
            assert ledger.events() == []


# ---- a period that is not a month: why, with a stable code ---------------------------------------

@pytest.mark.parametrize("argv, said", [
    (["journal", "--period", "2026-13"], "argument --period: month 13 does not exist (months are 01 to 12): expected "
                                         "a month YYYY-MM, found '2026-13' [INVALID_FORMAT]"),
    (["export", "--period", "2026-00", "--format", "gl-csv", "--out", "x"], "month 00 does not exist"),
    (["reopen", "2026-1", "--reason", "x"], "argument PERIOD: the month needs two digits (2026-01 for January)"),
    (["diff", "--period", "Oct 2026"], "expected a month YYYY-MM (e.g. 2026-10), found 'Oct 2026' [INVALID_FORMAT]"),
])
def test_a_period_that_is_not_a_month_says_why(argv, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        main(argv)
    assert stopped.value.code == 2  # argparse's usage error, as before
    err = capsys.readouterr().err
    assert said in err and "[INVALID_FORMAT]" in err, err


# ---- --help: every option of the ledger commands says what it is ---------------------------------

def _subparser(name: str):
    parser = build_parser()
    [sub] = [a for a in parser._actions if a.dest == "command"]
    return sub.choices[name]


@pytest.mark.parametrize("name", ["journal", "rollforward", "report", "export", "diff", "reopen"])
def test_every_option_of_the_ledger_commands_has_help(name):
    bare = [a.option_strings or [a.dest] for a in _subparser(name)._actions if not a.help]
    assert bare == [], f"wip {name}: no help for {bare}"


def test_help_says_the_locale_default_and_the_files_an_export_writes():
    assert "default: the locale the close was recorded with" in " ".join(_subparser("journal").format_help().split())
    export = " ".join(_subparser("export").format_help().split())
    assert "journals-YYYY-MM.gl.csv (gl-csv)" in export and "accounts.beancount" in export
    assert "journals-YYYY-MM-after-close-N.*" in export
    assert "at most 2,000 characters" in " ".join(_subparser("reopen").format_help().split())


# ---- a reopen's reason: plain text, on one line where a line is printed --------------------------

@pytest.mark.parametrize("reason, said", [
    ("late invoice\u202e", "the reason has an invisible character (U+202E RIGHT-TO-LEFT OVERRIDE), which reorders "
                           "how the text is shown"),
    ("late \u2066invoice\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    ("late\u200binvoice", "U+200B ZERO WIDTH SPACE), which only hides"),
    ("late invoice\u2028from the contractor", "a Unicode line or paragraph separator"),
    ("late invoice\u2029", "a Unicode line or paragraph separator"),
    ("x" * 2001, "the reason is 2,001 characters long, more than 2,000"),
])
def test_a_reason_that_hides_reorders_or_overflows_is_refused(reason, said, october, capsys):
    assert main(["reopen", "2026-10", "--reason", reason, "--ledger", str(october)]) == 2
    [error] = errors(capsys.readouterr().err)
    assert error.startswith("error: --reason: ") and said in error and error.endswith("[INVALID_TEXT]"), error
    with Ledger(october, create=False) as ledger:
        assert ledger.status("2026-10") == "closed"  # nothing recorded


@pytest.mark.parametrize("reason", ["late invoice\u202e", "late\x1b[2Jinvoice", "late\rinvoice", "x" * 2001,
                                    "late \udcff invoice"])
def test_reopen_period_refuses_the_same_reasons_for_any_caller(reason, october):
    """The rules live with the reopen, not only in the command line: a caller of the Python API (the
    add-in, a script) cannot record a reason the command line would refuse."""
    with Ledger(october) as ledger:
        with pytest.raises(CloseRefused) as refused:
            reopen_period(ledger, "2026-10", reason, user="controller")
        [issue] = refused.value.issues
        assert (issue.code, issue.path) == ("INVALID_TEXT", "--reason")
        assert ledger.status("2026-10") == "closed" and [e.kind for e in ledger.events()] == ["close"]


def test_reopen_period_keeps_a_windows_line_break_as_one(october):
    with Ledger(october) as ledger:
        reopen_period(ledger, "2026-10", "late invoice\r\nfrom Testing", user="controller")
        assert [e.reason for e in ledger.events() if e.kind == "reopen"] == ["late invoice\nfrom Testing"]


def test_a_reason_of_several_lines_is_kept_and_the_journal_header_stays_on_one_line(october, capsys):
    reason = "late invoice\nfrom the Testing contractor\tref 42"
    assert main(["reopen", "2026-10", "--reason", reason, "--ledger", str(october)]) == 0
    said = capsys.readouterr().out.splitlines()
    assert said[0].startswith("2026-10 reopened by ") and said[0].endswith(": late invoice from the Testing contractor "
                                                                           "ref 42")
    with Ledger(october, create=False) as ledger:
        assert [e.reason for e in ledger.events() if e.kind == "reopen"] == [reason]  # kept as written
    assert main(["journal", "--period", "2026-10", "--after-close", "1", "--ledger", str(october)]) == 0
    lines = capsys.readouterr().out.splitlines()
    headers = [line for line in lines if line.startswith("REV-")]
    assert headers and all(line.endswith(": late invoice from the Testing contractor ref 42") for line in headers)
    assert not any(line.startswith("from the Testing contractor") for line in lines)


def test_a_reason_of_2000_characters_is_accepted(october, capsys):
    assert main(["reopen", "2026-10", "--reason", "x" * 2000, "--ledger", str(october)]) == 0


# ---- the same words as the close: a month flagged through another, the export to import -----------

def test_variance_names_the_month_a_month_flagged_through_another_opened_from(tmp_path, capsys):
    """December opened from November, which opened from October's since-replaced close: the variance
    report says December opened from November and the order to re-close them, as `wip history` does —
    not that it opened from October."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        november = close_period(demo("2026-11"), ledger, user="test")
        close_period(_following_month(demo("2026-11"), november, "2026-12"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
        october = demo("2026-10")
        october["products"][0]["stages"][1]["added_costs"]["labour"] = 4800.00
        close_period(october, ledger, user="test")
        assert ledger.re_close_order("2026-12") == ["2026-11", "2026-12"]
    assert main(["variance", "--from", "2026-11", "--to", "2026-12", "--ledger", str(db)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("2026-12 opened from the close of 2026-11, which rests on a superseded close of 2026-10: it may need a "
            "re-close — re-close 2026-11, then 2026-12, in that order, each after the first only if the re-close "
            "before it says so") in out
    assert "2026-12 opened from a close of 2026-10" not in out
    # November, flagged directly, is told as before; each headed as wip history heads it.
    assert "2026-11 opened from a close of 2026-10 that has since been superseded: it needs a re-close" in out
    assert "MAY NEED RE-CLOSE: 2026-12 opened from the close of 2026-11" in out
    assert "NEEDS RE-CLOSE: 2026-11 opened from" in out and "NEEDS RE-CLOSE: 2026-12" not in out


def test_the_export_to_import_for_a_gl_without_the_prior_months_reclose_carries_the_ledger(tmp_path, capsys):
    db = tmp_path / "month end" / "l.db"
    db.parent.mkdir()
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late labour invoice", user="controller")
        corrected = demo("2026-10")
        corrected["products"][0]["stages"][1]["added_costs"]["labour"] = 4700.00
        close_period(corrected, ledger, user="test")
    # November's file gives the GL balances of October's close #1.
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(db)]) == 2
    said = errors(capsys.readouterr().err)
    assert said and all(f"`wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER --ledger '{db}'`" in line for line in said), said


@pytest.mark.parametrize("number", ["\u0661", "\uff11", "1_0", " 1", "0"])
def test_after_close_takes_a_close_number_in_0_to_9_only(number, october, capsys):
    """int() read '١' and '１' as 1 and '1_0' as 10: journals after another close than the one typed."""
    with pytest.raises(SystemExit) as usage:
        main(["journal", "--period", "2026-10", "--after-close", number, "--ledger", str(october)])
    assert usage.value.code == 2
    err = capsys.readouterr().err
    assert "argument --after-close:" in err and "expected a close number" in err and "[INVALID_FORMAT]" in err


# ---- a re-close says which export a general ledger holding the earlier close imports -------------

def test_a_re_close_names_the_export_after_the_close_the_general_ledger_took(october, tmp_path, capsys):
    """A general ledger that imported close #1 and then this close's own export would hold the month
    twice: the re-close says so, with the export of the reversal and this close, which runs once its
    placeholders are filled in."""
    import shlex

    import yaml

    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", str(october)]) == 0
    corrected = demo("2026-10")
    corrected["products"][0]["stages"][1]["added_costs"]["labour"] = "4700.00"  # the late invoice
    (tmp_path / "october.yaml").write_text(yaml.safe_dump(corrected))
    assert main(["close", str(tmp_path / "october.yaml"), "--period", "2026-10", "--ledger", str(october)]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "This close replaces" in line]
    assert "This close replaces 2026-10's close #1: if the general ledger took one of them, import `wip export " \
           f"--period 2026-10 --after-close 1 --format FORMAT --out FOLDER --ledger {october}`" in line
    assert "not this close's own export, which would post the month twice" in line
    command = line.split("`")[1].replace("FORMAT", "gl-csv").replace("FOLDER", str(tmp_path / "gl"))
    assert main(shlex.split(command)[1:]) == 0
    assert (tmp_path / "gl" / "journals-2026-10-after-close-1.gl.csv").exists()


def test_a_first_close_says_nothing_of_an_earlier_close(tmp_path, capsys):
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 0
    assert "This close replaces" not in capsys.readouterr().out


@pytest.mark.parametrize("reason", ['"WHO AND WHY"', "WHO AND WHY", "who and why", "TEXT", "...", "-", "?!",
                                    "\u201cWHO AND WHY\u201d", "WHO AND WHY.", "'who and why'"])
def test_a_placeholder_or_punctuation_is_no_reason(reason, october, capsys):
    """The suggested commands carry `--reason "WHO AND WHY"`: pasted as it is, or a reason of dots,
    the audit trail would keep no reason."""
    assert main(["reopen", "2026-10", "--reason", reason, "--ledger", str(october)]) == 2
    [error] = errors(capsys.readouterr().err)
    assert error.startswith("error: --reason: ") and "says nothing of the reopen" in error, error


def test_a_re_close_that_posts_what_the_close_before_posted_says_the_gl_needs_nothing_more(october, capsys):
    assert main(["reopen", "2026-10", "--reason", "checked again", "--ledger", str(october)]) == 0
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(october)]) == 0  # the same inputs
    out = capsys.readouterr().out
    assert "This close posts to each account what 2026-10's close #1 posted: a general ledger that took close #1 " \
           "needs nothing more" in out
    assert "This close replaces" not in out


def test_the_same_postings_notice_reads_right_after_close_2_and_close_3(october, capsys):
    for reason in ("checked again", "and again"):
        assert main(["reopen", "2026-10", "--reason", reason, "--ledger", str(october)]) == 0
        assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(october)]) == 0
        [line] = [line for line in capsys.readouterr().out.splitlines() if "This close posts" in line]
        assert "either" not in line and "#1 to #1" not in line
        assert "imports this close's own export" in line  # a GL that took the reversal too
    assert "one that took close #1 imports `wip export --period 2026-10 --after-close 1 " in line


def test_a_reopen_says_how_the_general_ledger_follows_with_a_command_that_runs(october, tmp_path, capsys):
    """A reopen posted reversals and said nothing of how they reach the general ledger that took the
    close: it names the export, which run now gives the reversal alone."""
    assert main(["reopen", "2026-10", "--reason", "Controller: late freight invoice", "--ledger", str(october)]) == 0
    out = capsys.readouterr().out
    [line] = [line for line in out.splitlines() if "General ledger holding close #1" in line]
    command = line.split("`")[1]
    assert command.startswith("wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER")
    folder = tmp_path / "gl"
    argv = command.split()[1:]
    argv[argv.index("FORMAT")], argv[argv.index("FOLDER")] = "gl-csv", str(folder)
    assert main(argv) == 0
    [written] = folder.iterdir()
    assert written.name == "journals-2026-10-after-close-1.gl.csv"
    rows = written.read_text().splitlines()[1:]
    assert rows and all(row.startswith("REV-WIP-2026-10-") for row in rows)


def test_history_marks_a_month_on_a_reopened_month_as_waiting_for_its_re_close(october, capsys):
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(october)]) == 0
    assert main(["reopen", "2026-10", "--reason", "Controller: late freight invoice", "--ledger", str(october)]) == 0
    capsys.readouterr()
    assert main(["history", "--ledger", str(october)]) == 0
    assert ("2026-11: closed — MAY NEED RE-CLOSE: its opening rests on a close of 2026-10, reopened now; closing "
            "2026-10 again says whether it does") in capsys.readouterr().out
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(october)]) == 0  # the same position
    capsys.readouterr()
    assert main(["history", "--ledger", str(october)]) == 0
    assert "2026-11: closed\n" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["close", OCTOBER, "--period", "2026-10"], ["journal", "--period", "2026-10"],
                                     ["history"], ["verify"]], ids=["close", "journal", "history", "verify"])
def test_an_empty_ledger_path_is_refused_not_taken_for_the_default(command, tmp_path, monkeypatch, capsys):
    """`--ledger "$LEDGER"` with the variable unset closed into the default ledger beside the file."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(command + ["--ledger", ""])
    assert exit_.value.code == 2
    assert "argument --ledger: is empty" in capsys.readouterr().err
    assert not list(tmp_path.iterdir()) and not (DEMO / "wip-ledger.db").exists()


@pytest.mark.parametrize("command", [["variance", "--from", "2026-10", "--to", "2026-11"],
                                     ["standards", "--period", "2026-10", "--standards", "s.yaml"]],
                         ids=["variance", "standards"])
def test_the_variance_commands_refuse_an_empty_ledger_path_too(command, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(command + ["--ledger", ""])
    assert exit_.value.code == 2 and "argument --ledger: is empty" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["export", "--period", "2026-10", "--format", "csv", "--out", "x"], ["reopen"],
                                  ["verify", "--head", "foo"], ["journal", "--period", "2026-10", "--frobnicate"],
                                  ["frobnicate"], ["history", "extra[1]"]],
                         ids=["choice", "required", "type", "unknown option", "command", "argument ending in ]"])
def test_a_usage_error_carries_a_code_as_every_refusal_does(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    [error] = [line for line in capsys.readouterr().err.splitlines() if ": error: " in line]
    assert error.endswith("[USAGE_ERROR]"), error


def test_an_argument_with_a_code_of_its_own_keeps_it(capsys):
    with pytest.raises(SystemExit):
        main(["journal", "--period", "2026-13"])
    err = capsys.readouterr().err
    assert err.rstrip().endswith("[INVALID_FORMAT]") and "USAGE_ERROR" not in err


def test_diff_of_a_reopened_month_says_its_newer_close_was_reversed(october, capsys):
    assert main(["reopen", "2026-10", "--reason", "Controller: late freight invoice", "--ledger", str(october)]) == 0
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(october)]) == 0
    assert main(["reopen", "2026-10", "--reason", "Controller: a second look", "--ledger", str(october)]) == 0
    capsys.readouterr()
    assert main(["diff", "2026-10", "--ledger", str(october)]) == 0
    assert ("note: 2026-10 is reopened: close #2 was reversed and the month has no current close; these are its "
            "last two closes") in capsys.readouterr().err


def test_not_closed_says_never_closed_or_reopened_not_open(october, capsys):
    """'2026-09 is open in l.db' for a month the ledger never held."""
    assert main(["journal", "--period", "2026-09", "--ledger", str(october)]) == 2
    assert f"2026-09 was never closed in {october}; there is no current close to show" in capsys.readouterr().err
    assert main(["reopen", "2026-10", "--reason", "Controller: late freight invoice", "--ledger", str(october)]) == 0
    capsys.readouterr()
    assert main(["rollforward", "--period", "2026-10", "--ledger", str(october)]) == 2
    assert f"2026-10 is reopened in {october}, not closed again since;" in capsys.readouterr().err


@pytest.fixture
def three_months(tmp_path) -> Path:
    """October, November and December closed, each opening from the month before."""
    db = tmp_path / "chain.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        november = close_period(demo("2026-11"), ledger, user="test")
        close_period(_following_month(demo("2026-11"), november, "2026-12"), ledger, user="test")
    return db


def test_a_month_two_steps_from_a_reopened_month_says_the_re_closes_from_there_decide(three_months, capsys):
    with Ledger(three_months) as ledger:
        reopen_period(ledger, "2026-10", "late invoice", user="test")
        why = ledger.needs_re_close("2026-12")
    assert why.startswith("2026-12's close opened from the close of 2026-11, which rests on a close of 2026-10 "
                          "that is reopened now")
    assert "close 2026-10 again first: the re-closes from there say whether 2026-12 needs closing again" in why
    assert main(["history", "--ledger", str(three_months)]) == 0
    assert ("2026-12: closed — MAY NEED RE-CLOSE: its opening rests, through 2026-11, on a close of 2026-10, "
            "reopened now; closing 2026-10 again (and the months after it) says whether it does") in capsys.readouterr().out


def test_with_two_months_reopened_both_are_named_in_order(three_months):
    with Ledger(three_months) as ledger:
        reopen_period(ledger, "2026-11", "late invoice", user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="test")
        why = ledger.needs_re_close("2026-12")
    assert "close 2026-10, then 2026-11 again first: the re-closes from there say" in why


def test_a_gl_tie_refusal_suggests_the_export_with_the_ledger(october, tmp_path, capsys):
    """Its suggested `wip export --after-close N` lacked --ledger, and read the working directory's."""
    text = Path(NOVEMBER).read_text().replace('"1310": 7449.63', '"1310": 7450.63')
    assert '"1310": 7450.63' in text
    bad = tmp_path / "november.yaml"
    bad.write_text(text)
    assert main(["close", str(bad), "--period", "2026-11", "--ledger", str(october)]) == 2
    err = capsys.readouterr().err
    assert (f"`wip export --period 2026-11 --after-close N --format FORMAT --out FOLDER --ledger {october}`"
            in err), err


def test_a_locked_month_resting_on_a_superseded_opening_says_so_when_closed_again(october, capsys):
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(october)]) == 0
    with Ledger(october) as ledger:
        reopen_period(ledger, "2026-10", "late labour invoice", user="test")
        data = demo("2026-10")
        data["products"][0]["stages"][0]["added_costs"]["labour"] = "9500.00"
        close_period(data, ledger, user="test")
    capsys.readouterr()
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(october)]) == 2
    err = capsys.readouterr().err
    assert "[PERIOD_LOCKED]" in err
    assert "note: 2026-11's close opened from a close of 2026-10 that has since been reopened or replaced" in err
    assert "[NEEDS_RE_CLOSE]" in err


def test_report_json_carries_what_the_close_did_to_ending_wip(october, capsys):
    """The text said 'ending WIP 4,426.10 − 147.54 count adjustment − 3.46 overhead proration = closing
    WIP 4,275.10'; the JSON had only the ending WIP, 151.51 short of the closing WIP next month opens with."""
    import json
    from decimal import Decimal

    capsys.readouterr()
    assert main(["report", "--period", "2026-10", "--ledger", str(october), "--json"]) == 0
    rows = [row for product in json.loads(capsys.readouterr().out) for row in product["closing_after_costing"]]
    for row in rows:
        assert Decimal(row["ending_wip"]) + Decimal(row["count_adjustment"]) + Decimal(row["overhead_proration"]) \
            == Decimal(row["closing_wip"]), row
    assert sum(Decimal(row["closing_wip"]) for row in rows) == Decimal("16013.12")  # the close's closing WIP
    assert sum(Decimal(row["ending_wip"]) for row in rows) == Decimal("16164.63")


def test_the_close_summary_says_the_months_other_charges_to_profit_and_loss(tmp_path, capsys):
    """An auditor saw cost of goods sold in the summary, and the abnormal spoilage loss and the count
    difference only in the journals."""
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 0
    assert ("  Also to profit and loss: abnormal spoilage 578.63 Dr (5810 Loss from abnormal spoilage); count "
            "differences 147.54 Dr (5820 WIP count differences)") in capsys.readouterr().out.splitlines()


def test_other_charges_are_the_closes_own_figures_not_a_shared_accounts_net(tmp_path, capsys):
    """Count differences charged to manufacturing overhead (one account with overhead control and
    applied): the account's net, 31,652.46 Cr, is the overhead true-up's clearing, no charge."""
    import yaml

    data = yaml.safe_load(Path(OCTOBER).read_text())
    shared = {"code": "5900", "name": "Manufacturing overhead"}
    data["accounts"].update(overhead_control=shared, overhead_applied=shared, count_difference=shared)
    data.pop("general_ledger", None)
    close_file = tmp_path / "october.yaml"
    close_file.write_text(yaml.safe_dump(data, sort_keys=False))
    assert main(["close", str(close_file), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 0
    [line] = [x for x in capsys.readouterr().out.splitlines() if "Also to profit and loss" in x]
    assert line.endswith("; count differences 147.54 Dr (5900 Manufacturing overhead)") and "31," not in line
