"""What is posted after a close is read only from rows the engine recorded: `wip journal` and
`wip export --after-close N` refuse a reversal changed outside the engine (edited, or rewritten with
its hash recomputed), a close or reopen is not appended to a ledger visibly changed outside the
engine, and a reopen prints the new ledger head as a close does."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import CloseRefused, close_period, reopen_period
from costing.ledger import Ledger, LedgerError
from costing.ledger._sqlite import _TRIGGERS, _row_hash
from tests.demo_data import demo


def _late_invoice_october() -> dict:
    """October's demo close with its labour changed (the late invoice it was reopened for)."""
    data = demo("2026-10")
    data["products"][0]["stages"][1]["added_costs"]["labour"] = 4800.00
    return data


@pytest.fixture
def reclosed(tmp_path) -> Path:
    """October closed (seq 1), reopened (seq 2: the reversal) and closed again with a change (seq 3)."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
        close_period(_late_invoice_october(), ledger, user="test")
    return db


def _drop_triggers(con: sqlite3.Connection) -> None:
    for (trigger,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
        con.execute(f"DROP TRIGGER {trigger}")


def _edit_reversal(db: Path, *, rehash: bool) -> None:
    """The reversal (seq 2) credits 100.00 less on its first line and debits 100.00 less to balance
    (someone with a SQLite browser); with ``rehash`` the row's hash, the chain after it and the head
    are recomputed and the triggers put back, so that only the journals themselves tell."""
    import json
    from decimal import Decimal

    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    _drop_triggers(con)
    book = json.loads(con.execute("SELECT journals FROM events WHERE seq = 2").fetchone()[0])
    lines = book["journals"][0]["lines"]
    credit = next(l for l in lines if Decimal(l["credit"]))
    debit = next(l for l in lines if Decimal(l["debit"]))
    credit["credit"] = str(Decimal(credit["credit"]) - 100)
    debit["debit"] = str(Decimal(debit["debit"]) - 100)
    con.execute("UPDATE events SET journals = ? WHERE seq = 2", (json.dumps(book),))
    if rehash:
        prev = None
        for row in con.execute("SELECT * FROM events ORDER BY seq").fetchall():
            r = dict(row)
            if prev is not None:
                r["prev_hash"] = prev
            r["row_hash"] = _row_hash(r)
            con.execute("UPDATE events SET prev_hash = ?, row_hash = ? WHERE seq = ?",
                        (r["prev_hash"], r["row_hash"], r["seq"]))
            prev = r["row_hash"]
            head = f"{r['seq']}:{r['row_hash']}"
        con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (head,))
        con.executescript(_TRIGGERS)
    con.commit()
    con.close()


@pytest.mark.parametrize("rehash", [False, True], ids=["edited", "rehashed"])
def test_journal_after_close_refuses_a_reversal_changed_outside_the_engine(reclosed, rehash, capsys):
    assert main(["journal", "--period", "2026-10", "--after-close", "1", "--ledger", str(reclosed)]) == 0
    assert "REV-WIP-2026-10-001" in capsys.readouterr().out  # read as recorded
    _edit_reversal(reclosed, rehash=rehash)
    for command in (["journal", "--period", "2026-10", "--after-close", "1"],
                    ["journal", "--period", "2026-10", "--after-close", "1", "--json"],
                    ["journal", "--period", "2026-10", "--after-close", "1", "--by-account"]):
        assert main(command + ["--ledger", str(reclosed)]) == 2, command
        out, err = capsys.readouterr()
        assert out == "", command  # nothing of the altered reversal is printed
        assert "[LEDGER_CHANGED]" in err and "run `wip verify --ledger" in err, command
        assert ("does not match its hash" if not rehash else "does not undo that close exactly") in err


@pytest.mark.parametrize("rehash", [False, True], ids=["edited", "rehashed"])
def test_export_after_close_refuses_a_reversal_changed_outside_the_engine(reclosed, rehash, tmp_path, capsys):
    _edit_reversal(reclosed, rehash=rehash)
    out = tmp_path / "out"
    assert main(["export", "--period", "2026-10", "--after-close", "1", "--format", "gl-csv", "--out", str(out),
                 "--ledger", str(reclosed)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "nothing was written" in err
    assert not out.exists() or not any(out.iterdir())
    # The current close's own export reads the period's posting history too: refused as well.
    assert main(["export", "--period", "2026-10", "--format", "gl-csv", "--out", str(out),
                 "--ledger", str(reclosed)]) == 2
    assert not out.exists() or not any(out.iterdir())


def test_verify_names_a_reversal_that_does_not_undo_its_close(reclosed, capsys):
    _edit_reversal(reclosed, rehash=True)
    with Ledger(reclosed) as ledger:
        problems = ledger.verify()
    assert any("events seq 2 (reopen 2026-10): its reversing journals do not undo close #1 of 2026-10 exactly"
               in p for p in problems), problems
    with Ledger(reclosed) as ledger:
        with pytest.raises(LedgerError) as refused:
            ledger.journal_books("2026-10")
    assert refused.value.code == "LEDGER_CHANGED"


def test_an_untouched_ledger_reads_and_verifies_as_before(reclosed):
    with Ledger(reclosed) as ledger:
        assert ledger.verify() == []
        assert [(e.kind, e.close_no) for e, _ in ledger.journal_books("2026-10")] == \
               [("close", 1), ("reopen", 1), ("close", 2)]


# ---- nothing is appended to a ledger visibly changed outside the engine ---------------------------

def _close_count(db: Path) -> int:
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    finally:
        con.close()


def test_a_close_is_not_appended_to_a_ledger_whose_triggers_were_dropped(tmp_path):
    """A reopen row's reason edited with the triggers dropped: October is its first month, so the
    close opens from no row that would be checked; the missing triggers refuse it all the same."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
    con = sqlite3.connect(db)
    _drop_triggers(con)
    con.execute("UPDATE events SET reason = 'nobody asked' WHERE seq = 2")
    con.commit()
    con.close()
    with Ledger(db) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(_late_invoice_october(), ledger, user="test")
    [issue] = refused.value.issues
    assert issue.code == "LEDGER_CHANGED"
    assert "append-only triggers" in issue.message and "run `wip verify`" in issue.message
    assert _close_count(db) == 2


def test_a_reopen_is_not_appended_to_a_ledger_whose_triggers_were_dropped(tmp_path, capsys):
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    con = sqlite3.connect(db)
    _drop_triggers(con)
    con.commit()
    con.close()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", str(db)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "append-only triggers" in err and f"wip verify --ledger {db}" in err
    assert _close_count(db) == 1


def test_a_close_is_not_appended_after_events_were_cut_off_the_end(tmp_path):
    """November's close removed by hand and the triggers put back: the chain that is left verifies
    row by row, but the head recorded apart from it names the removed event."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
    con = sqlite3.connect(db)
    _drop_triggers(con)
    for table in ("journal_lines", "closing_wip", "fg_layers", "events"):
        con.execute(f"DELETE FROM {table} WHERE seq = 2")
    con.executescript(_TRIGGERS)
    con.commit()
    con.close()
    with Ledger(db) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(demo("2026-11"), ledger, user="test")
    [issue] = refused.value.issues
    assert issue.code == "LEDGER_CHANGED" and "newest event" in issue.message
    assert _close_count(db) == 1


# ---- a reopen is an event of the chain: its head is printed ----------------------------------------

def test_reopen_prints_the_new_ledger_head(tmp_path, capsys):
    db = tmp_path / "l.db"
    assert main(["close", str(Path("examples/demo/close-2026-10.yaml").resolve()), "--period", "2026-10",
                 "--ledger", str(db)]) == 0
    capsys.readouterr()
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", str(db)]) == 0
    out = capsys.readouterr().out
    with Ledger(db) as ledger:
        head = ledger.head()
    assert head.startswith("2:")
    assert f"  Ledger head: {head} (keep it with the month's papers; `wip verify --ledger {db} --head {head[:10]}` checks " \
           "against it)" in out
    assert main(["verify", "--head", head, "--ledger", str(db)]) == 0
