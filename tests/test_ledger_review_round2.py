"""Review of the after-close integrity and CLI polish commits, second round: a ledger an older engine
appended to after a newer one stays usable (and verify agrees), suggested commands are safe to paste
and reach the ledger, a reopen never records a reversal verify would call tampering, `--max-lines`
says what is wrong with it, periods are written in 0-9, and a Windows line break in a reason is one."""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import subprocess
from pathlib import Path

import pytest

from costing import __version__, close_service
from costing._cli_common import ledger_option, shell_word
from costing._journal import JournalBook
from costing.cli import main
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger, LedgerError
from costing.ledger._sqlite import _HASHED, _TRIGGERS, _row_hash
from tests.demo_data import DEMO, demo

OCTOBER = str(DEMO / "close-2026-10.yaml")


def errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


def _head(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT value FROM meta WHERE key = 'head'").fetchone()[0]
    finally:
        con.close()


def _set_head(db: Path, head: str) -> None:
    con = sqlite3.connect(db)
    con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head,))
    con.commit()
    con.close()


# ---- 1. a ledger an older engine (no head records) appended to after a newer one --------------------

def _appended_without_the_head(db: Path, version: str) -> None:
    """October closed, reopened (head recorded: seq 2), then closed again as engine ``version`` but
    with the head left at seq 2: seq 3 is in the chain, each hash matching, the head names seq 2."""
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
    head = _head(db)
    assert head.startswith("2:")
    with pytest.MonkeyPatch.context() as patch, Ledger(db) as ledger:
        patch.setattr(close_service, "__version__", version)
        close_period(demo("2026-10"), ledger, user="old engine")
    _set_head(db, head)  # what the older engine leaves: its event appended, the head not moved


@pytest.fixture
def older_engine_appended(tmp_path) -> Path:
    """October closed and reopened by this engine, then closed again by an engine that records no head
    (wip 0.1.0 before head records, c46a766^): as that engine leaves it, its event names engine 0.1.0
    and is dated after the head's (checked against the real engine of c46a766^: `git archive`, its
    `wip close` run on such a ledger appends seq 3 so and leaves meta.head at seq 2)."""
    db = tmp_path / "l.db"
    _appended_without_the_head(db, "0.1.0")
    with Ledger(db) as ledger:
        events = ledger.events()
    assert [e.engine_version for e in events] == [__version__, __version__, "0.1.0"]
    assert events[2].recorded_at >= events[1].recorded_at
    return db


@pytest.fixture
def newer_engine_appended(tmp_path) -> Path:
    """The same, with seq 3 naming this engine (which always records the head): what someone leaves who
    appended a row with its hash recomputed but did not know about the head."""
    db = tmp_path / "l.db"
    _appended_without_the_head(db, __version__)
    return db


def test_a_ledger_an_older_engine_appended_to_can_be_reopened_and_closed(older_engine_appended, capsys):
    db = older_engine_appended
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 0, capsys.readouterr().err
    with Ledger(db) as ledger:
        newest = ledger.events()[-1]
        assert (newest.seq, newest.kind) == (4, "reopen")
        assert ledger.head() == f"4:{newest.row_hash}"  # the append records the head again
        assert ledger.verify() == []
        close_period(demo("2026-10"), ledger, user="test")


def test_verify_says_events_after_the_head_chained_from_it_are_an_older_engines(older_engine_appended, capsys):
    db = older_engine_appended
    with Ledger(db) as ledger:
        verification = ledger.verification()
        newest = ledger.events()[-1]
    assert verification.problems == () and verification.chain_verifies
    [note] = verification.notes
    assert note.startswith("head: event seq 3 was recorded after the head noted in the ledger (seq 2), chained to "
                           "it and each matching its hash, by engine 0.1.0 — most likely wip 0.1.0 from before "
                           "heads were noted")
    assert main(["verify", "--ledger", str(db)]) == 0
    said = capsys.readouterr()
    assert f"note: {note}" in said.err and "— events were added outside the engine" not in said.err  # said as a possibility, not found
    assert f"Ledger head: 3:{newest.row_hash}" in said.out  # the newest event, to note outside the file


def _drop_triggers(con: sqlite3.Connection) -> None:
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")


def test_events_after_the_head_that_do_not_match_their_hash_are_still_refused(older_engine_appended, capsys):
    db = older_engine_appended
    con = sqlite3.connect(db)
    _drop_triggers(con)
    con.execute("UPDATE events SET recorded_by = 'someone else' WHERE seq = 3")
    con.executescript(_TRIGGERS)
    con.commit()
    con.close()
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 2
    assert "[LEDGER_CHANGED]" in capsys.readouterr().err
    with Ledger(db) as ledger:
        assert len(ledger.events()) == 3
        assert any("do not carry on the chain from it — events were added outside the engine" in p
                   for p in ledger.verify())


def test_a_head_naming_an_event_with_another_hash_is_still_refused(older_engine_appended):
    db = older_engine_appended
    _set_head(db, "2:" + "0" * 64)
    with Ledger(db) as ledger:
        with pytest.raises(LedgerError) as refused:
            reopen_period(ledger, "2026-10", "x", user="test")
        assert refused.value.code == "LEDGER_CHANGED" and "newest event" in refused.value.message
        assert ledger.verification().notes == ()
        assert any("events were added outside the engine" in p for p in ledger.verify())


# ---- 1b. only what wip 0.1.0 appends is taken in after the head; what was taken in stays said -------

NOVEMBER = str(DEMO / "close-2026-11.yaml")


def _rewrite_event(db: Path, seq: int, change, *, head: str | None = None) -> None:
    """Event ``seq`` changed by ``change(row)`` (a dict of its columns) with its hash and the chain
    after it recomputed, its journal lines matching its journals, the triggers put back (someone who
    knows the hashing scheme); the head then recorded is ``head``, or the newest event's."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    _drop_triggers(con)
    prev = None
    for row in con.execute("SELECT * FROM events WHERE seq >= ? ORDER BY seq", (seq,)).fetchall():
        r = dict(row)
        if r["seq"] == seq:
            change(r)
            book = JournalBook.model_validate_json(r["journals"])
            con.execute("DELETE FROM journal_lines WHERE seq = ?", (seq,))
            con.executemany("INSERT INTO journal_lines VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [(seq, j.id, i + 1, j.date.isoformat(), ln.account, format(ln.debit, "f"),
                              format(ln.credit, "f"), ln.memo) for j in book.journals for i, ln in enumerate(j.lines)])
        if prev is not None:
            r["prev_hash"] = prev
        r["row_hash"] = _row_hash(r)
        con.execute(f"UPDATE events SET {', '.join(f'{c} = ?' for c in _HASHED)}, row_hash = ? WHERE seq = ?",
                    [r[c] for c in _HASHED] + [r["row_hash"], r["seq"]])
        prev, newest = r["row_hash"], f"{r['seq']}:{r['row_hash']}"
    con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head or newest,))
    con.executescript(_TRIGGERS)
    con.commit()
    con.close()


def test_events_after_the_head_from_an_engine_that_notes_it_are_refused_by_verify(newer_engine_appended, capsys):
    db = newer_engine_appended
    assert main(["verify", "--ledger", str(db)]) == 1
    out, err = capsys.readouterr()
    assert errors(err) == [
        "error: head: the newest event recorded is seq 2, but events run to seq 3 and event seq 3 names engine "
        f"'{__version__}', which notes the head when it appends (only wip 0.1.0 from before heads were noted does "
        "not) — events were added outside the engine [LEDGER_TAMPERED]"]
    assert "note:" not in err and "Ledger head" not in out  # the added event is not given as the head to note
    with Ledger(db) as ledger:
        assert not ledger.verification().chain_verifies


def test_events_after_the_head_from_an_engine_that_notes_it_are_refused_by_close_and_reopen(newer_engine_appended,
                                                                                           capsys):
    db = newer_engine_appended
    before = db.read_bytes()
    assert main(["reopen", "2026-10", "--reason", "approved by CFO", "--ledger", str(db)]) == 2
    assert "[LEDGER_CHANGED]" in capsys.readouterr().err
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(db)]) == 2
    assert "[LEDGER_CHANGED]" in capsys.readouterr().err
    assert db.read_bytes() == before  # the head is not moved past them: verify still says so
    assert main(["verify", "--ledger", str(db)]) == 1


def test_a_forged_reopen_and_close_after_the_head_are_refused(tmp_path, capsys):
    """The review's forgery: after October's close (head: seq 1), a reopen 'approved by CFO' and a close
    #2 with two WIP accounts swapped, appended with their hashes recomputed, the head left as it was."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="alice")
        reopen_period(ledger, "2026-10", "approved by CFO", user="cfo")
        close_period(demo("2026-10"), ledger, user="alice")

    def swap(row):
        book = json.loads(row["journals"])
        lines = book["journals"][0]["lines"]
        lines[0]["account"], lines[1]["account"] = lines[1]["account"], lines[0]["account"]
        row["journals"] = json.dumps(book)

    _rewrite_event(db, 3, swap, head=_first_head(db))
    assert main(["verify", "--ledger", str(db)]) == 1
    assert "event seq 2 names engine" in capsys.readouterr().err
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 2
    capsys.readouterr()
    assert main(["verify", "--ledger", str(db)]) == 1  # the evidence stays


def _first_head(db: Path) -> str:
    con = sqlite3.connect(db)
    try:
        seq, digest = con.execute("SELECT seq, row_hash FROM events WHERE seq = 1").fetchone()
    finally:
        con.close()
    return f"{seq}:{digest}"


def test_a_0_1_0_event_dated_before_the_head_is_refused(older_engine_appended, capsys):
    db = older_engine_appended
    _rewrite_event(db, 3, lambda row: row.update(recorded_at="2026-01-05T09:00:00+00:00"), head=_head(db))
    assert main(["verify", "--ledger", str(db)]) == 1
    [error] = errors(capsys.readouterr().err)
    assert "and event seq 3 is dated 2026-01-05T09:00:00+00:00, before the head's event seq 2 (" in error
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 2
    assert "[LEDGER_CHANGED]" in capsys.readouterr().err


def test_the_events_taken_in_as_0_1_0_s_are_still_said_after_the_next_close(older_engine_appended, capsys):
    db = older_engine_appended
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 0  # takes seq 3 in
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 0
    capsys.readouterr()
    with Ledger(db) as ledger:
        verification = ledger.verification()
        assert ledger.head().startswith("5:")  # the head moved past seq 3, twice
    assert verification.problems == ()
    [note] = verification.notes
    assert note.startswith("head: event seq 3 was recorded by engine 0.1.0 after the head then noted in the ledger "
                           "(wip 0.1.0 from before heads were noted does not note it) and taken in by the next "
                           "close or reopen; if no one closed or reopened a month with that engine then, it was "
                           "added outside the engine")
    assert main(["verify", "--ledger", str(db)]) == 0
    assert f"note: {note}" in capsys.readouterr().err


def test_events_taken_in_at_two_times_are_all_said(older_engine_appended, capsys):
    db = older_engine_appended
    assert main(["reopen", "2026-10", "--reason", "x", "--ledger", str(db)]) == 0  # seq 4, takes seq 3 in
    head = _head(db)
    with pytest.MonkeyPatch.context() as patch, Ledger(db) as ledger:
        patch.setattr(close_service, "__version__", "0.1.0")
        close_period(demo("2026-10"), ledger, user="old engine")  # seq 5
        reopen_period(ledger, "2026-10", "again", user="old engine")  # seq 6
    _set_head(db, head)
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 0  # seq 7, takes 5 and 6 in
    with Ledger(db) as ledger:
        [note] = ledger.verification().notes
    assert note.startswith("head: events seq 3, 5 to 6 were recorded by engine 0.1.0")


@pytest.mark.parametrize("record, said", [
    ("[2]", "include seq 2, which names engine"),
    ("[9]", "include seq 9, which is not in the ledger"),
    ("three", "is unreadable"),
])
def test_a_record_of_events_taken_in_that_does_not_hold_is_a_problem(older_engine_appended, record, said):
    db = older_engine_appended
    con = sqlite3.connect(db)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('older_engine_events', ?)", (record,))
    con.commit()
    con.close()
    with Ledger(db) as ledger:
        [problem] = ledger.verify()
    assert problem.startswith("meta: ") and said in problem and "changed outside the engine" in problem


# ---- 1c. a line on an account the book's chart lacks ------------------------------------------------

def test_the_journal_text_says_an_account_not_in_the_chart(tmp_path, capsys):
    """A close row rewritten with its hash recomputed, a line moved to account 9999 (in no chart):
    `wip journal` shows it, saying so, instead of failing with a KeyError."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")

    def to_9999(row):
        book = json.loads(row["journals"])
        book["journals"][0]["lines"][0]["account"] = "9999"
        row["journals"] = json.dumps(book)

    _rewrite_event(db, 1, to_9999)
    assert main(["journal", "--period", "2026-10", "--ledger", str(db)]) == 0
    out, err = capsys.readouterr()
    assert "9999 (not in the book's chart of accounts)" in out and "Traceback" not in err
    # the trial balance cannot class the account: refused, saying why, no traceback
    assert main(["journal", "--period", "2026-10", "--by-account", "--ledger", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "posts to account 9999, which the book's chart of accounts does not hold" in err
    assert "[LEDGER_CHANGED]" in err and "Traceback" not in err


# ---- 2, 3. suggested commands: safe to paste, reach the ledger --------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="POSIX shell quoting")
def test_a_suggested_ledger_path_runs_nothing_when_pasted(tmp_path, capsys):
    folder = tmp_path / "My Ledgers"
    folder.mkdir()
    db = folder / "a`touch pwned`$(touch pwned2)'x.db"
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 0
    out = capsys.readouterr().out
    option = out.split("`wip verify")[1].split(" --head ")[0]
    assert option == " --ledger " + shlex.quote(str(db))
    # Pasted into a shell, the option is the path, and nothing of it runs.
    shown = subprocess.run(["bash", "-c", "printf '%s\\n'" + option], cwd=tmp_path, capture_output=True,
                           text=True, check=True).stdout
    assert shown == f"--ledger\n{db}\n"
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()
    assert main(["verify", *shlex.split(option)]) == 0


def test_windows_quotes_a_path_in_double_quotes_with_powershells_specials_escaped():
    assert shell_word(r"C:\Ledgers\wip-ledger.db", windows=True) == r"C:\Ledgers\wip-ledger.db"
    assert shell_word(r"C:\My Ledgers\a`b$(c).db", windows=True) == r'"C:\My Ledgers\a``b`$(c).db"'
    assert shell_word("a b.db", windows=False) == "'a b.db'"
    assert shell_word("a\\b.db", windows=False) == "'a\\b.db'"  # a backslash is an escape to a POSIX shell


def test_a_ledger_path_starting_with_a_dash_is_given_as_ledger_equals(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert ledger_option("-dash.db") == " --ledger=-dash.db"
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger=-dash.db"]) == 0
    assert "`wip verify --ledger=-dash.db --head 1:" in capsys.readouterr().out
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger=-dash.db"]) == 2
    err = capsys.readouterr().err
    suggested = err.split("`wip reopen ")[1].split("`")[0]
    assert suggested == '2026-10 --reason "WHO AND WHY" --ledger=-dash.db'
    assert main(["reopen", *shlex.split(suggested.replace("WHO AND WHY", "late"))]) == 0  # the suggestion runs as given


def test_the_import_for_a_gl_holding_a_reopened_close_carries_the_ledger(tmp_path):
    """The refusal of a re-close whose GL still holds the reopened close names the export to import
    with --ledger, as the one for a prior month's re-close does."""
    from tests.test_close_general_ledger import re_close_with_the_gl_holding_the_first

    db = tmp_path / "month end" / "l.db"
    db.parent.mkdir()
    with Ledger(db, ledger_option=ledger_option(db)) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        _, refused = re_close_with_the_gl_holding_the_first(ledger)
    assert refused.issues and all(
        f"import `wip export --period 2026-11 --after-close 1 --format FORMAT --out FOLDER --ledger '{db}'`" in i.message
        for i in refused.issues)


def test_the_variance_commands_suggest_commands_with_the_ledger(tmp_path, capsys):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    con = sqlite3.connect(db)
    _drop_triggers(con)
    con.execute("UPDATE events SET recorded_by = 'someone else' WHERE seq = 1")
    con.executescript(_TRIGGERS)
    con.commit()
    con.close()
    assert main(["variance", "--from", "2026-10", "--to", "2026-10", "--ledger", str(db)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert "[LEDGER_CHANGED]" in said and f"run `wip verify --ledger {db}`" in said


# ---- 5. a reopen records only the exact mirror of the close -----------------------------------------

def test_record_reopen_refuses_reversals_that_do_not_undo_the_close(tmp_path):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")

        def short_by_one_line(book: JournalBook, close_no: int) -> JournalBook:
            import datetime as dt

            from costing.close._journals import reversal_book

            reversal = reversal_book(book, "REV", dt.date(2026, 10, 31), "x")
            first = reversal.journals[0]
            return reversal.model_copy(update={"journals": (first.model_copy(update={"lines": first.lines[:-1]}),
                                                            *reversal.journals[1:])})

        with pytest.raises(ValueError, match="do not undo 2026-10's close #1 exactly"):
            ledger.record_reopen("2026-10", reason="x", user="test", reversals_for=short_by_one_line,
                                 engine_version="test")
        assert [e.kind for e in ledger.events()] == ["close"] and ledger.status("2026-10") == "closed"
        assert ledger.verify() == []


# ---- 6. --max-lines ---------------------------------------------------------------------------------

@pytest.mark.parametrize("given", ["²", "٣", "0", "-1", "x"])
def test_max_lines_that_is_no_whole_number_is_a_usage_error(given, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["export", "--period", "2026-10", "--format", "xero", "--out", str(tmp_path), "--max-lines", given])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert "expected a whole number of journal lines per file, at least 1" in err and "invalid" not in err.lower()


def test_a_journal_longer_than_max_lines_is_told_to_allow_more_lines_at_max_lines(tmp_path, capsys):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        closed = close_period(demo("2026-10"), ledger, user="test")
    longest = max(closed.journals.journals, key=lambda j: len(j.lines))
    out = tmp_path / "out"
    assert main(["export", "--period", "2026-10", "--format", "xero", "--out", str(out), "--max-lines", "1",
                 "--ledger", str(db)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert said.startswith("error: --max-lines: ") and said.endswith("[EXPORT_REFUSED]")
    assert "more than the 1 line per file asked for" in said
    assert f"allow at least {len(longest.lines)} lines per file (the longest journal; Xero takes up to 300" in said
    assert not out.exists()


def test_a_journal_longer_than_the_systems_own_limit_names_no_option(tmp_path):
    """At the system's own limit (the default) the journal is told to post to fewer accounts, and no
    option is blamed; a limit asked for that the journal fits is blamed (``max_lines``)."""
    from costing.exports import ExportError
    from costing.exports._common import prepare, split_journals

    with Ledger(tmp_path / "l.db") as ledger:
        journals = prepare(close_period(demo("2026-10"), ledger, user="test").journals).journals
    longest = max(len(j.lines) for j in journals)
    with pytest.raises(ExportError) as refused:
        split_journals(journals, longest - 1, "Xero", longest - 1)
    assert refused.value.option is None
    assert f"more than the {longest - 1} lines Xero takes in one file" in str(refused.value)
    assert "post to fewer accounts" in str(refused.value)
    # Every journal too long is named at once (fixing one brought the next refusal).
    too_long = [j for j in journals if len(j.lines) > 2]
    assert len(too_long) >= 2
    with pytest.raises(ExportError) as refused:
        split_journals(journals, 2, "Xero", 2)
    said = str(refused.value)
    assert all(f"{j.id}: {len(j.lines)} lines" in said for j in too_long), said
    assert said.endswith(f"or enter these {len(too_long)} journals into Xero by hand")
    # One over Xero's own limit met after one over a lower limit asked for: the journal is told
    # first (no limit asked for would export it), not the option.
    with pytest.raises(ExportError) as refused:
        split_journals(journals, 2, "Xero", longest - 1)
    assert refused.value.option is None and f"more than the {longest - 1} lines Xero takes" in str(refused.value)
    with pytest.raises(ExportError) as refused:
        split_journals(journals, longest - 1, "Xero", longest)
    assert refused.value.option == "max_lines"
    assert f"allow at least {longest} lines per file" in str(refused.value)


# ---- 7. periods in 0-9 ------------------------------------------------------------------------------

@pytest.mark.parametrize("period, said", [
    ("\uff12\uff10\uff12\uff16-10", "write the digits as 0-9 (2026-10)"),
    ("2026-\uff11\uff10", "write the digits as 0-9 (2026-10)"),
])
def test_a_period_in_other_digits_is_refused(period, said, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        main(["journal", "--period", period, "--ledger", str(tmp_path / "l.db")])
    assert exit.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "does not exist" not in err


# ---- 8. a Windows line break in a reason ------------------------------------------------------------

@pytest.fixture
def october(tmp_path) -> Path:
    db = tmp_path / "l.db"
    assert main(["close", OCTOBER, "--period", "2026-10", "--ledger", str(db)]) == 0
    return db


def test_a_reason_with_windows_line_breaks_is_kept_with_plain_line_breaks(october, capsys):
    assert main(["reopen", "2026-10", "--reason", "late invoice\r\nfrom the contractor\r\n", "--ledger",
                 str(october)]) == 0
    assert capsys.readouterr().out.startswith("2026-10 reopened by ")
    with Ledger(october, create=False) as ledger:
        assert [e.reason for e in ledger.events() if e.kind == "reopen"] == ["late invoice\nfrom the contractor\n"]
        narrations = {j.narration for _, book in ledger.journal_books("2026-10") for j in book.journals
                      if j.id.startswith("REV-")}
    assert all("\r" not in n for n in narrations)


def test_a_carriage_return_alone_is_still_a_control_character(october, capsys):
    assert main(["reopen", "2026-10", "--reason", "late invoice\rpaid", "--ledger", str(october)]) == 2
    [said] = errors(capsys.readouterr().err)
    assert "control characters" in said and said.endswith("[INVALID_TEXT]")


def test_a_close_file_period_in_other_scripts_digits_is_refused():
    """A period is written with the digits 0-9 wherever it comes from (the pydantic pattern's \\d
    would take any script's digits, which no export or ledger query would then match)."""
    from costing.close_service import resolve_close
    from tests.demo_data import demo

    data = demo("2026-10")
    data["period"] = "\uff12\uff10\uff12\uff16-10"  # fullwidth 2026
    _, issues = resolve_close(data, None)
    assert [(i.code, i.path) for i in issues][:1] == [("INVALID_FORMAT", "period")]


def test_events_after_the_head_from_an_engine_that_notes_it_are_not_read_as_journals_or_exported(
        newer_engine_appended, tmp_path, capsys):
    """Reading commands check the head too (once, before the first row is used): the added close is
    not printed or exported as the month's journals."""
    db = newer_engine_appended
    assert main(["journal", "--period", "2026-10", "--ledger", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "[LEDGER_CHANGED]" in err and "its newest event is not the one recorded" in err
    assert main(["export", "--period", "2026-10", "--format", "gl-csv", "--out", str(tmp_path / "out"),
                 "--ledger", str(db)]) == 2
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_an_older_engines_append_still_reads(older_engine_appended, capsys):
    assert main(["journal", "--period", "2026-10", "--ledger", str(older_engine_appended)]) == 0
    assert "LEDGER_CHANGED" not in capsys.readouterr().err
