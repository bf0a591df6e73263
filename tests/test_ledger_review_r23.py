"""Review (ledger tampering, 2026-11-25): an index rebuilt outside the engine passed `wip verify`
and made a month look reopened, so the engine posted it a second time; a cell an editor saved as
bytes crashed verify and history; a reopen of a ledger whose last close was cut off was told the
month "is reopened"."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger
from tests.demo_data import DEMO, demo
from tests.test_ledger_review_r18 import _sneaky


@pytest.fixture
def reclosed(tmp_path) -> Path:
    """Both demo months closed, then each reopened and closed again (six events)."""
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-10", "count fix", user="controller")
        close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-11", "follow October", user="controller")
        close_period(demo("2026-11"), ledger, user="test")
    return db


def _index_leaving_out(db: Path, seq: int) -> None:
    """The events_period index rebuilt to leave out event ``seq``, its schema text put back as the
    engine writes it: no row of any table changed."""
    con = sqlite3.connect(db, isolation_level=None)
    sql = con.execute("SELECT sql FROM sqlite_master WHERE name = 'events_period'").fetchone()[0]
    con.execute("DROP INDEX events_period")
    con.execute(f"CREATE INDEX events_period ON events (period, seq) WHERE seq <> {seq}")
    con.execute("PRAGMA writable_schema = ON")
    con.execute("UPDATE sqlite_master SET sql = ? WHERE name = 'events_period'", (sql,))
    con.execute("PRAGMA writable_schema = OFF")
    con.close()


def test_an_index_rebuilt_outside_the_engine_is_caught_and_misleads_no_close(reclosed, capsys):
    _index_leaving_out(reclosed, 6)  # November's close #2: by the index, the month looked reopened
    assert main(["verify", "--ledger", str(reclosed)]) == 1
    err = capsys.readouterr().err
    assert "SQLite's integrity check finds" in err and "events_period" in err and "[LEDGER_TAMPERED]" in err
    with Ledger(reclosed) as ledger:
        assert ledger.status("2026-11") == "closed" and ledger.close_count("2026-11") == 2
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", str(reclosed)]) == 2
    assert "[PERIOD_LOCKED]" in capsys.readouterr().err  # not posted a second time


def test_a_cell_saved_as_bytes_is_said_changed_not_a_traceback(reclosed, capsys):
    _sneaky(reclosed, "UPDATE events SET reason = CAST(reason AS BLOB) WHERE seq = 3")
    assert main(["verify", "--ledger", str(reclosed)]) == 1
    err = capsys.readouterr().err
    assert "events seq 3 (reopen 2026-10): contents do not match its hash" in err and "Traceback" not in err
    assert main(["history", "--ledger", str(reclosed)]) == 1
    out, err = capsys.readouterr()
    assert "changed outside the engine" in err and "Traceback" not in err and "count fix" in out


def test_a_reopen_of_a_month_whose_close_was_cut_off_says_the_ledger_changed(reclosed, capsys):
    _sneaky(reclosed, *(f"DELETE FROM {table} WHERE seq = 6" for table in ("journal_lines", "closing_wip",
                                                                         "fg_layers", "events")))
    assert main(["reopen", "2026-11", "--reason", "audit", "--ledger", str(reclosed)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "events were cut off the end" in err and "NOT_CLOSED" not in err


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="flock: POSIX only")
def test_a_refused_close_never_removes_a_new_ledger_another_process_has_open(tmp_path, capsys, monkeypatch):
    """Review (concurrency): a close refused into a new ledger emptied or removed the file while a
    colleague's close, started just after it, was writing into it (a traceback, or a false
    LEDGER_READ_ONLY, for theirs)."""
    import yaml

    from costing import close_service

    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(demo("2026-11")))  # refused: a first month cannot open from nothing
    others: list[Ledger] = []
    real_close = close_service.close_period

    def colleague_opens_then_refused(data, ledger, **kwargs):
        others.append(Ledger(ledger.path))  # another close opens the new ledger meanwhile
        return real_close(data, ledger, **kwargs)

    monkeypatch.setattr(close_service, "close_period", colleague_opens_then_refused)
    for was in ("absent", "empty"):
        db = tmp_path / f"{was}.db"
        if was == "empty":
            db.write_bytes(b"")
        assert main(["close", str(path), "--period", "2026-11", "--ledger", str(db)]) == 2
        capsys.readouterr()
        other = others.pop()
        try:
            assert db.exists() and db.stat().st_size > 0 and other.events() == []  # still there for it
        finally:
            other.close()
    monkeypatch.undo()
    for was in ("absent", "empty"):  # no one else has it open: left as found
        alone = tmp_path / f"alone-{was}.db"
        if was == "empty":
            alone.write_bytes(b"")
        assert main(["close", str(path), "--period", "2026-11", "--ledger", str(alone)]) == 2
        capsys.readouterr()
        assert (not alone.exists()) if was == "absent" else alone.read_bytes() == b""


def test_a_second_ledger_closed_in_one_process_keeps_the_others_write_lock(reclosed):
    """Review: the shared lock was taken on the ledger file itself; closing its descriptor dropped
    every POSIX lock SQLite held on the file in the process — a second Ledger opened and closed let
    another process write while the first held the write lock."""
    import subprocess
    import sys

    first = Ledger(reclosed)
    try:
        first._db.execute("BEGIN IMMEDIATE")  # the write lock, as a close holds it while recording
        Ledger(reclosed).close()
        probe = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1], timeout=0, isolation_level=None)\n"
                 "try:\n    c.execute('BEGIN IMMEDIATE'); print('GOT THE WRITE LOCK')\n"
                 "except sqlite3.OperationalError as e:\n    print(e)")
        out = subprocess.run([sys.executable, "-c", probe, str(reclosed)], capture_output=True, text=True).stdout
        assert out.strip() == "database is locked"
    finally:
        first._db.execute("ROLLBACK")
        first.close()


def test_a_month_saved_as_bytes_is_said_changed_not_never_closed(reclosed, capsys):
    """Review: with the period cell of October's events saved as a BLOB, `wip journal` said October
    was never closed and a close of November was told it came before b'2026-10'."""
    _sneaky(reclosed, "UPDATE events SET period = CAST(period AS BLOB) WHERE period = '2026-10'")
    assert main(["journal", "--period", "2026-10", "--json", "--ledger", str(reclosed)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "holds its month or kind as other than text" in err
    assert "NOT_CLOSED" not in err
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", str(reclosed)]) == 2
    err = capsys.readouterr().err
    assert "[LEDGER_CHANGED]" in err and "PERIOD_OUT_OF_SEQUENCE" not in err and "b'2026-10'" not in err
    assert main(["history", "--ledger", str(reclosed)]) == 1
    assert "b'2026-10'" not in capsys.readouterr().out


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid"), reason="POSIX")
def test_a_lock_file_is_opened_only_in_the_users_own_folder_never_through_a_planted_symlink(tmp_path):
    """Review: lock files at a predictable name in the shared /tmp could be planted by another user
    (a symlink to the user's file, which was then chmodded 0666; a FIFO that hung every command).
    They live in the user's own folder, 700, and are opened without following a symlink."""
    import hashlib
    import os
    import stat

    from costing import _atomic

    fd = _atomic.open_lock("ledger", tmp_path / "l.db")
    assert fd is not None
    folder = _atomic._private_lock_folder()
    os.close(fd)
    found = os.lstat(folder)
    assert stat.S_ISDIR(found.st_mode) and found.st_uid == os.geteuid() and not found.st_mode & 0o077
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    secret.chmod(0o600)
    target = tmp_path / "victim.db"
    key = hashlib.sha256(str(target.resolve()).encode()).hexdigest()[:32]
    planted = folder / f"ledger-{key}.lock"
    planted.symlink_to(secret)  # where the lock of ``target`` would be: not followed
    try:
        assert _atomic.open_lock("ledger", target) is None
        assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    finally:
        planted.unlink()
