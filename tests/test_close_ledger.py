"""The ledger under stress: kill -9 during a close, two closes racing, hand-edited rows."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from costing.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = ROOT / "examples" / "demo" / "close-2026-10.yaml"


def start_close(db: Path, pause: float | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    if pause is not None:
        env["WIP_LEDGER_TEST_PAUSE"] = str(pause)
    return subprocess.Popen([sys.executable, "-m", "costing", "close", str(OCTOBER), "--period", "2026-10",
                             "--ledger", str(db)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_write_lock(db: Path, timeout: float = 30) -> None:
    """Until another process holds the ledger's write lock (its close is mid-transaction)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        probe = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            probe.execute("BEGIN IMMEDIATE")
            probe.execute("ROLLBACK")
        except sqlite3.OperationalError:
            return
        finally:
            probe.close()
        time.sleep(0.05)
    raise AssertionError("the close never took the write lock")


def test_kill_9_inside_the_close_transaction_leaves_the_ledger_as_before(tmp_path):
    db = tmp_path / "ledger.db"
    Ledger(db).close()  # an empty ledger exists
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    proc = start_close(db, pause=30)
    wait_for_write_lock(db)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with Ledger(db) as ledger:
        assert ledger.events() == []  # the half-written close is gone
        assert ledger.verify() == []
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # byte for byte as before the close
    after_recovery = start_close(db)
    out, err = after_recovery.communicate(timeout=120)
    assert after_recovery.returncode == 0, err
    with Ledger(db) as ledger:
        assert [e.period for e in ledger.events()] == ["2026-10"]
        assert ledger.verify() == []


def test_kill_9_at_arbitrary_moments_never_corrupts(tmp_path):
    db = tmp_path / "ledger.db"
    for delay in (0.05, 0.2, 0.5, 0.9, 1.5):
        proc = start_close(db)
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if db.exists():
            with Ledger(db) as ledger:
                assert ledger.verify() == []
                assert len(ledger.events()) <= 1
                if ledger.events():
                    break  # it finished before the kill: nothing more to test
    proc = start_close(db)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode in (0, 2), err  # 2: an earlier run had finished and locked the period
    with Ledger(db) as ledger:
        assert [e.period for e in ledger.events()] == ["2026-10"]
        assert ledger.verify() == []


def test_two_concurrent_closes_of_one_period_exactly_one_wins(tmp_path):
    db = tmp_path / "ledger.db"
    Ledger(db).close()
    first = start_close(db, pause=2)
    wait_for_write_lock(db)
    second = start_close(db)
    results = [p.communicate(timeout=120) + (p.returncode,) for p in (first, second)]
    codes = sorted(r[2] for r in results)
    assert codes == [0, 2]
    loser_err = next(err for out, err, rc in results if rc == 2)
    assert "[PERIOD_LOCKED]" in loser_err and "Traceback" not in loser_err
    with Ledger(db) as ledger:
        assert len(ledger.events()) == 1
        assert ledger.verify() == []


def _tamper(db: Path, sql: str) -> None:
    con = sqlite3.connect(db)
    for trigger in [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")]:
        con.execute(f"DROP TRIGGER {trigger}")  # what someone editing the file by hand would do
    con.execute(sql)
    con.commit()
    con.close()


def test_verify_catches_a_hand_edited_row(tmp_path):
    db = tmp_path / "ledger.db"
    proc = start_close(db)
    assert proc.wait(timeout=120) == 0
    verify = [sys.executable, "-m", "costing", "verify", "--ledger", str(db)]
    assert subprocess.run(verify, cwd=ROOT, capture_output=True).returncode == 0
    _tamper(db, "UPDATE events SET reason = 'nothing to see' WHERE seq = 1")
    result = subprocess.run(verify, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "events seq 1 (close 2026-10): contents do not match its hash" in result.stderr


def test_verify_catches_an_edited_detail_row(tmp_path):
    db = tmp_path / "ledger.db"
    assert start_close(db).wait(timeout=120) == 0
    _tamper(db, "UPDATE closing_wip SET cost = '1.00' WHERE rowid = 1")
    with Ledger(db) as ledger:
        problems = ledger.verify()
    assert any("closing_wip rows differ" in p for p in problems)


def test_verify_catches_the_newest_close_cut_off(tmp_path):
    db = tmp_path / "ledger.db"
    assert start_close(db).wait(timeout=120) == 0
    for table in ("journal_lines", "closing_wip", "fg_layers"):
        _tamper(db, f"DELETE FROM {table} WHERE seq = 1")
    _tamper(db, "DELETE FROM events WHERE seq = 1")
    with Ledger(db) as ledger:
        problems = ledger.verify()
    assert any("events were removed from the end of the ledger" in p for p in problems)


def test_the_ledger_refuses_updates_and_deletes(tmp_path):
    db = tmp_path / "ledger.db"
    assert start_close(db).wait(timeout=120) == 0
    con = sqlite3.connect(db)
    for sql in ("UPDATE events SET reason = 'x'", "DELETE FROM journal_lines"):
        try:
            con.execute(sql)
        except sqlite3.DatabaseError as e:
            assert "append-only" in str(e)
        else:
            raise AssertionError(f"{sql} was allowed")
    con.close()


def test_money_is_never_stored_as_real(tmp_path):
    db = tmp_path / "ledger.db"
    assert start_close(db).wait(timeout=120) == 0
    con = sqlite3.connect(db)
    for table, column in (("closing_wip", "cost"), ("journal_lines", "debit"), ("journal_lines", "credit"),
                          ("fg_layers", "cost")):
        types = {r[0] for r in con.execute(f"SELECT DISTINCT typeof({column}) FROM {table}")}
        assert types == {"text"}, (table, column, types)
    con.close()
