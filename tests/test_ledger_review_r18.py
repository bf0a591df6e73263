"""IT-audit review of the ledger, round 18: nothing is appended to, opened from, exported from or shown
out of a ledger changed outside the engine when the change can be seen cheaply — the newest row
re-hashed before an append, the link to the next row checked when a row is read, a month's events a
proper close/reopen sequence, an old engine's events that cannot follow later ones, the tie to the
journals recomputed from the journal lines held, the schema compared with the engine's, the history
checked row by row, the finished-goods layer numbers verified."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from costing import close_service
from costing.cli import main
from costing.close_service import CloseRefused, close_period, reopen_period
from costing.ledger import Ledger, LedgerError
from costing.ledger._sqlite import _row_hash
from tests.demo_data import DEMO, demo, on_another_october

NOVEMBER = str(DEMO / "close-2026-11.yaml")


@pytest.fixture
def ledger_db(tmp_path) -> Path:
    """October closed (seq 1), November closed (seq 2), reopened (seq 3) and closed again (seq 4)."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-11", "late invoice", user="controller")
        close_period(demo("2026-11"), ledger, user="test")
    return db


def _sneaky(db: Path, *statements) -> None:
    """Statements run with the append-only triggers dropped and then put back as they were."""
    con = sqlite3.connect(db)
    triggers = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall()
    for name, _ in triggers:
        con.execute(f"DROP TRIGGER {name}")
    for s in statements:
        con.execute(*s) if isinstance(s, tuple) else con.execute(s)
    for _, sql in triggers:
        con.execute(sql)
    con.commit()
    con.close()


def _rehash(db: Path, seq: int) -> None:
    """Event ``seq``'s own hash recomputed (the chain after it and the head left alone)."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    row = dict(con.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone())
    con.close()
    _sneaky(db, ("UPDATE events SET row_hash = ? WHERE seq = ?", (_row_hash(row), seq)))


def _rechain(db: Path) -> None:
    """Every prev_hash and row_hash recomputed and the head moved to the newest: a full rewrite."""
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    rows = [dict(r) for r in con.execute("SELECT * FROM events ORDER BY seq")]
    con.close()
    prev, updates = "0" * 64, []
    for r in rows:
        r["prev_hash"] = prev
        prev = r["row_hash"] = _row_hash(r)
        updates.append(("UPDATE events SET prev_hash = ?, row_hash = ? WHERE seq = ?",
                        (r["prev_hash"], r["row_hash"], r["seq"])))
    updates.append(("UPDATE meta SET value = ? WHERE key = 'head'", (f"{rows[-1]['seq']}:{prev}",)))
    _sneaky(db, *updates)


def _count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        con.close()


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("error: ")]


# ---- 1. nothing appended to or opened from a row changed outside the engine ---------------------------

def test_a_close_is_not_appended_when_the_newest_event_was_changed(ledger_db, capsys):
    _sneaky(ledger_db, "UPDATE events SET period = '2026-12' WHERE seq = 4")  # November reads as reopened
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(ledger_db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "newest event, seq 4 (close 2026-12), does not match its hash" in err
    assert _count(ledger_db) == 4


def test_a_close_does_not_open_from_a_row_rehashed_alone(ledger_db, capsys):
    con = sqlite3.connect(ledger_db)
    state = con.execute("SELECT state FROM events WHERE seq = 1").fetchone()[0]
    con.close()
    assert '"3480.00 ' in state
    _sneaky(ledger_db, "UPDATE events SET state = replace(state, '\"3480.00 ', '\"3000.00 ') WHERE seq = 1",
            "UPDATE closing_wip SET cost = '3000.00' WHERE seq = 1 AND cost = '3480.00'")
    _rehash(ledger_db, 1)
    assert main(["reopen", "2026-11", "--reason", "re-close", "--ledger", str(ledger_db)]) == 0  # seq 4 is sound
    capsys.readouterr()
    # Without its general-ledger balances (they would not tie to an opening of 3,000.00 either).
    with Ledger(ledger_db) as ledger, pytest.raises(CloseRefused) as refused:
        close_period(on_another_october(demo("2026-11")), ledger, user="test")
    [issue] = refused.value.issues
    assert issue.code == "LEDGER_CHANGED" and "event seq 1" in issue.message and "(seq 2)" in issue.message
    assert _count(ledger_db) == 5  # the reopen, no close #3
    with Ledger(ledger_db) as ledger, pytest.raises(LedgerError) as e:
        ledger.prior_for("2026-11")
    assert e.value.code == "LEDGER_CHANGED"


# ---- 2. a month's events are a proper sequence, chained -----------------------------------------------

def _delete_reopen(db: Path) -> None:
    _sneaky(db, "DELETE FROM journal_lines WHERE seq = 3", "DELETE FROM events WHERE seq = 3")


@pytest.mark.parametrize("rechain", [False, True], ids=["deleted", "deleted-and-rechained"])
def test_export_after_close_refuses_a_month_whose_reopen_was_deleted(ledger_db, rechain, tmp_path, capsys):
    _delete_reopen(ledger_db)
    if rechain:
        _rechain(ledger_db)
    out = tmp_path / "out"
    assert main(["export", "--period", "2026-11", "--after-close", "1", "--format", "gl-csv", "--out", str(out),
                 "--ledger", str(ledger_db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "2026-11" in err
    assert not out.exists() or not any(out.iterdir())
    with Ledger(ledger_db) as ledger, pytest.raises(LedgerError):
        ledger.journal_books("2026-11")


def test_the_journal_books_of_an_untouched_ledger_still_read(ledger_db):
    with Ledger(ledger_db) as ledger:
        books = ledger.journal_books("2026-11")
    assert [(e.kind, e.close_no) for e, _ in books] == [("close", 1), ("reopen", 1), ("close", 2)]


# ---- 3. engine 0.1.0 cannot follow an engine that notes the head ---------------------------------------

def _appended_as(db: Path, version: str, *, earlier: str | None = None) -> None:
    """October closed and reopened (as ``earlier``, default this engine), then closed again as
    ``version`` with the head left at the reopen, as an engine that notes no head leaves it."""
    with pytest.MonkeyPatch.context() as patch, Ledger(db) as ledger:
        if earlier is not None:
            patch.setattr(close_service, "__version__", earlier)
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
        head = ledger.head()
        patch.setattr(close_service, "__version__", version)
        close_period(demo("2026-10"), ledger, user="old engine")
    _sneaky(db, ("UPDATE meta SET value = ? WHERE key = 'head'", (head,)))


def test_events_tagged_0_1_0_after_a_later_engines_events_are_a_note_that_says_what_to_check(tmp_path, capsys):
    """Decided (not a defect): wip 0.1.0, from before heads were noted, does append to a ledger a later
    engine wrote (checked against that engine: tests/test_ledger_review_round2.py), so its events after
    the head are not refused.  The tag proves nothing — anyone who can append a row with its hash can
    as well move the head — so verify's note says they may have been added outside the engine and
    what to check them against."""
    db = tmp_path / "l.db"
    _appended_as(db, "0.1.0")
    assert main(["verify", "--ledger", str(db)]) == 0
    err = capsys.readouterr().err
    assert "note: head: event seq 3 was recorded after the head noted in the ledger (seq 2)" in err and "0.1.0" in err
    assert "added outside the engine" in err and "wip verify --head" in err


def test_events_of_0_1_0_after_0_1_0_events_stay_a_note(tmp_path, capsys):
    db = tmp_path / "l.db"
    _appended_as(db, "0.1.0", earlier="0.1.0")
    assert main(["verify", "--ledger", str(db)]) == 0
    assert "note: head: event seq 3 was recorded after the head" in capsys.readouterr().err


# ---- 4. the tie to the journals, from the journal lines held ------------------------------------------

def test_rollforward_ties_are_recomputed_from_the_journal_lines(ledger_db, capsys):
    assert main(["rollforward", "--period", "2026-11", "--ledger", str(ledger_db)]) == 0
    assert "DIFFERENCE" not in capsys.readouterr().out
    con = sqlite3.connect(ledger_db)
    jid, line, debit = con.execute("SELECT journal_id, line, debit FROM journal_lines WHERE seq = 4 AND "
                                   "account = '1310' AND debit != '0.00' ORDER BY journal_id, line").fetchone()
    con.close()
    _sneaky(ledger_db, ("UPDATE journal_lines SET debit = '1.00' WHERE seq = 4 AND journal_id = ? AND line = ?",
                        (jid, line)))
    assert main(["rollforward", "--period", "2026-11", "--ledger", str(ledger_db)]) == 1
    out = capsys.readouterr().out
    assert "1310" in out and "DIFFERENCE" in out
    assert main(["rollforward", "--period", "2026-11", "--json", "--ledger", str(ledger_db)]) == 1
    ties = {t["account"]: t for t in json.loads(capsys.readouterr().out)["ties"]}
    assert ties["1310"]["difference"] != "0.00"


# ---- 5. the schema as the engine creates it ------------------------------------------------------------

def _schema_change(db: Path, *statements: str) -> None:
    con = sqlite3.connect(db)
    for s in statements:
        con.execute(s)
    con.commit()
    con.close()


@pytest.mark.parametrize("statements, said", [
    (["DROP TRIGGER events_no_update",
      "CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END"], "events_no_update"),
    (["CREATE TRIGGER zz AFTER INSERT ON journal_lines BEGIN INSERT INTO journal_lines VALUES (new.seq, "
      "new.journal_id, new.line + 1000, new.date, new.account, new.debit, new.credit, 'dup'); END"], "zz"),
    (["CREATE TRIGGER yy BEFORE INSERT ON events BEGIN SELECT RAISE(IGNORE); END"], "yy"),
    (["ALTER TABLE events ADD COLUMN note TEXT DEFAULT 'x'"], "events"),
    (["DROP INDEX events_period"], "events_period"),
    (["CREATE INDEX extra ON closing_wip (cost)"], "extra"),
], ids=["noop-trigger", "extra-after-insert", "raise-ignore", "added-column", "dropped-index", "extra-index"])
def test_a_schema_changed_outside_the_engine_fails_verify_and_refuses_appends(ledger_db, statements, said, capsys):
    _schema_change(ledger_db, *statements)
    assert main(["verify", "--ledger", str(ledger_db)]) == 1
    errors = _errors(capsys.readouterr().err)
    assert any(said in e and "schema" in e for e in errors), errors
    assert main(["reopen", "2026-11", "--reason", "x", "--ledger", str(ledger_db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "Traceback" not in err
    assert _count(ledger_db) == 4


def test_an_insert_the_database_refuses_is_a_ledger_error_not_a_traceback(ledger_db, monkeypatch):
    _schema_change(ledger_db, "CREATE TRIGGER yy BEFORE INSERT ON events BEGIN SELECT RAISE(IGNORE); END")
    monkeypatch.setattr(Ledger, "_check_appendable", lambda self: None)  # as if the schema check missed it
    with Ledger(ledger_db) as ledger, pytest.raises(LedgerError) as e:
        reopen_period(ledger, "2026-11", "x", user="controller")
    assert e.value.code == "LEDGER_CHANGED"
    assert _count(ledger_db) == 4


# ---- 6. the history checks each row it shows -----------------------------------------------------------

@pytest.mark.parametrize("change", ["edited", "rehashed", "deleted"])
def test_history_marks_a_reopen_changed_outside_the_engine(ledger_db, change, capsys):
    if change == "deleted":
        _delete_reopen(ledger_db)
    else:
        _sneaky(ledger_db, "UPDATE events SET reason = 'approved by auditor', recorded_by = 'CFO' WHERE seq = 3")
        if change == "rehashed":
            _rehash(ledger_db, 3)
    assert main(["history", "--ledger", str(ledger_db)]) == 1
    out, err = capsys.readouterr()
    errors = _errors(err)
    assert errors and all(e.endswith("[LEDGER_TAMPERED]") for e in errors)
    seq = "4" if change == "deleted" else "3"
    assert any(f"event seq {seq}" in e for e in errors), errors
    assert "CHANGED OUTSIDE THE ENGINE" in out


def test_history_of_an_untouched_ledger(ledger_db, capsys):
    assert main(["history", "--ledger", str(ledger_db)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "CHANGED OUTSIDE THE ENGINE" not in out and "reopen #1" in out


# ---- 7. the finished-goods layer numbers --------------------------------------------------------------

@pytest.mark.parametrize("statement", [
    "UPDATE fg_layers SET layer = layer + 10 WHERE seq = 4",
    "UPDATE fg_layers SET layer = CASE layer WHEN 0 THEN 1 WHEN 1 THEN 0 ELSE layer END WHERE seq = 4",
], ids=["renumbered", "order-swapped"])
def test_verify_checks_the_finished_goods_layer_numbers(ledger_db, statement, capsys):
    _sneaky(ledger_db, statement)
    assert main(["verify", "--ledger", str(ledger_db)]) == 1
    assert any("fg_layers" in e for e in _errors(capsys.readouterr().err))


# ---- minor --------------------------------------------------------------------------------------------

def test_a_truncated_ledger_is_called_damaged(ledger_db, capsys):
    data = ledger_db.read_bytes()
    ledger_db.write_bytes(data[:len(data) // 3])
    assert main(["verify", "--ledger", str(ledger_db)]) == 1
    [error] = _errors(capsys.readouterr().err)
    assert "damaged" in error and error.endswith("[LEDGER_TAMPERED]")


def test_a_reader_says_the_ledger_changed_when_the_current_close_was_removed(ledger_db, capsys):
    _sneaky(ledger_db, "DELETE FROM journal_lines WHERE seq = 4", "DELETE FROM closing_wip WHERE seq = 4",
            "DELETE FROM fg_layers WHERE seq = 4", "DELETE FROM events WHERE seq = 4")
    assert main(["journal", "--period", "2026-11", "--ledger", str(ledger_db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "NOT_CLOSED" not in err


def test_an_untouched_ledger_verifies_and_closes_on(ledger_db, capsys):
    assert main(["verify", "--ledger", str(ledger_db)]) == 0
    assert main(["rollforward", "--period", "2026-11", "--ledger", str(ledger_db)]) == 0
    assert main(["reopen", "2026-11", "--reason", "again", "--ledger", str(ledger_db)]) == 0
    assert main(["close", NOVEMBER, "--period", "2026-11", "--ledger", str(ledger_db)]) == 0
    assert main(["verify", "--ledger", str(ledger_db)]) == 0


@pytest.mark.parametrize("read", ["checked_events", "verification"])
def test_history_and_verify_read_the_rows_and_the_head_as_one_state(ledger_db, monkeypatch, read):
    """A reopen committed between reading the rows and reading the head made the head newer than the
    rows: `wip history` and `wip verify` said events were removed from the end (a false tamper
    verdict during a colleague's ordinary reopen).  The read is one transaction: the reopen waits."""
    from costing.ledger import _sqlite

    original = _sqlite.Ledger._verify_head
    meanwhile = {}

    def reopen_meanwhile(self, last):
        if not meanwhile:
            try:
                with Ledger(ledger_db, timeout=0.1) as other:
                    reopen_period(other, "2026-11", "late invoice", user="colleague")
                meanwhile["reopen"] = "recorded"
            except LedgerError as e:
                meanwhile["reopen"] = e.code
        return original(self, last)

    monkeypatch.setattr(_sqlite.Ledger, "_verify_head", reopen_meanwhile)
    with Ledger(ledger_db) as ledger:
        if read == "checked_events":
            _, flagged, general = ledger.checked_events()
            assert not flagged and not general, general
        else:
            assert ledger.verification().problems == ()
    assert meanwhile["reopen"] == "LEDGER_BUSY"  # it waited for the read, and gave up (0.1 s here)


def test_a_ledger_wip_0_1_0_wrote_throughout_is_a_note_not_tampered(tmp_path, capsys):
    """wip 0.1.0 (before heads were noted) left no head; every reader and the close take such a
    ledger, and so do `wip history` and `wip verify` (they said LEDGER_TAMPERED, exit 1)."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger, pytest.MonkeyPatch.context() as patch:
        patch.setattr(close_service, "__version__", "0.1.0")
        close_period(demo("2026-10"), ledger, user="old engine")
        close_period(demo("2026-11"), ledger, user="old engine")
    _sneaky(db, ("DELETE FROM meta WHERE key = 'head'", ()))
    assert main(["history", "--ledger", str(db)]) == 0, capsys.readouterr().err
    assert main(["verify", "--ledger", str(db)]) == 0
    assert "note: head: the ledger notes no head: every event was recorded by engine 0.1.0" in capsys.readouterr().err
    _sneaky(db, ("UPDATE events SET engine_version = '0.4.0' WHERE seq = 1", ()))  # not 0.1.0 throughout
    assert main(["verify", "--ledger", str(db)]) == 1


def test_verify_prints_the_count_and_head_of_the_state_it_verified(ledger_db, monkeypatch, capsys):
    """A close or reopen committed after the check and before the count and head were read: verify
    printed a head it never checked (even a forged row's) as verified.  One read: the write waits."""
    from costing.ledger import _sqlite

    original = _sqlite.Ledger.verification
    meanwhile = {}

    def then_a_reopen(self, expected_head=None):
        result = original(self, expected_head)
        try:
            with Ledger(ledger_db, timeout=0.1) as other:
                reopen_period(other, "2026-11", "late invoice", user="colleague")
            meanwhile["reopen"] = "recorded"
        except LedgerError as e:
            meanwhile["reopen"] = e.code
        return result

    monkeypatch.setattr(_sqlite.Ledger, "verification", then_a_reopen)
    assert main(["verify", "--ledger", str(ledger_db)]) == 0
    out = capsys.readouterr().out
    assert meanwhile["reopen"] == "LEDGER_BUSY"
    assert ": 4 events, hash chain and detail tables verified: OK" in out and "Ledger head: 4:" in out


def test_a_ledger_that_cannot_be_written_with_an_unfinished_write_is_read_only_not_damaged(ledger_db, monkeypatch):
    """SQLite rolls an unfinished write back before anything is read, which needs write access: a
    user without it got LEDGER_TAMPERED ('damaged … go back to a copy') for a healthy ledger."""
    import sqlite3 as sqlite

    from costing.ledger import _sqlite

    real_connect = sqlite.connect

    class Unwritable:
        def __init__(self, *args, **kwargs):
            self._db = real_connect(*args, **kwargs)

        def __getattr__(self, name):
            return getattr(self._db, name)

        def __setattr__(self, name, value):
            if name == "_db":
                object.__setattr__(self, name, value)
            else:
                setattr(self._db, name, value)

        def execute(self, *args):
            raise sqlite.OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(_sqlite.sqlite3, "connect", Unwritable)
    with pytest.raises(LedgerError) as refused:
        Ledger(ledger_db, create=False)
    assert refused.value.code == "LEDGER_READ_ONLY" and "write left unfinished" in refused.value.message


def test_a_ledger_a_later_engine_wrote_with_its_head_removed_takes_no_close(ledger_db, capsys):
    """No head is a 0.1.0 ledger's state; one a later engine wrote has had a head since its first
    event: events removed from the end with the head, the close appended onto it as if nothing."""
    _sneaky(ledger_db, ("DELETE FROM events WHERE seq = 4", ()), ("DELETE FROM journal_lines WHERE seq = 4", ()),
            ("DELETE FROM closing_wip WHERE seq = 4", ()), ("DELETE FROM fg_layers WHERE seq = 4", ()),
            ("DELETE FROM meta WHERE key = 'head'", ()))
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", str(ledger_db)]) == 2
    assert "[LEDGER_CHANGED]" in capsys.readouterr().err
    assert _count(ledger_db) == 3


@pytest.mark.parametrize("command", [["journal", "--period", "2026-11"], ["rollforward", "--period", "2026-11"],
                                     ["diff", "2026-11"]])
def test_a_lock_taken_between_opening_and_reading_is_ledger_busy_not_a_traceback(ledger_db, monkeypatch, capsys,
                                                                                  command):
    from costing.ledger import _sqlite

    def locked(self, period):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(_sqlite.Ledger, "current_close", locked)
    monkeypatch.setattr(_sqlite.Ledger, "closes", lambda self, period: locked(self, period))
    assert main([*command, "--ledger", str(ledger_db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_BUSY]" in err and "Traceback" not in err


def test_rollforward_on_journal_lines_changed_since_the_close_says_to_verify(ledger_db, capsys):
    """It showed 'DIFFERENCE 0.01' against an account, while journal and export read the recorded
    journals and said nothing: the close tied when recorded, so the difference is the file's."""
    _sneaky(ledger_db, "UPDATE journal_lines SET debit = '1.00' WHERE seq = 4 AND debit != '0.00' "
                       "AND rowid = (SELECT MIN(rowid) FROM journal_lines WHERE seq = 4 AND debit != '0.00')")
    assert main(["rollforward", "--period", "2026-11", "--ledger", str(ledger_db)]) == 1
    err = capsys.readouterr().err
    assert "warning: this close tied when it was recorded" in err and "run `wip verify" in err
    assert "[LEDGER_CHANGED]" in err
