"""A ledger the user cannot write, one another process holds locked, and a reopen of a row edited
by hand: each refused with its own code (LEDGER_READ_ONLY, LEDGER_BUSY, LEDGER_CHANGED), never a
traceback, and the ledger file left byte for byte as it was."""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from costing.cli import main
from costing.ledger import Ledger, LedgerError
from costing.ledger import _sqlite

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = ROOT / "examples" / "demo" / "close-2026-10.yaml"
NOVEMBER = ROOT / "examples" / "demo" / "close-2026-11.yaml"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def wip(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_refused(code: int, err: str, expected: str) -> None:
    assert code == 2, err
    assert f"[{expected}]" in err, err
    assert "Traceback" not in err, err


@pytest.fixture(scope="module")
def october_ledger(tmp_path_factory) -> Path:
    """A ledger with October closed (copied by each test that changes or locks it)."""
    path = tmp_path_factory.mktemp("october") / "wip-ledger.db"
    assert main(["close", str(OCTOBER), "--period", "2026-10", "--ledger", str(path)]) == 0
    return path


@pytest.fixture
def ledger(october_ledger, tmp_path) -> Path:
    path = tmp_path / "wip-ledger.db"
    shutil.copy(october_ledger, path)
    return path


# ---- a ledger the user may not write: real file modes ----------------------------------------


def _file_modes_apply() -> None:
    """In the child, before exec: a root process loses the capabilities that let it write (and
    enter) what its mode forbids (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a mode-444 file is
    read-only to it as to any user.  It stays uid 0: it can still run Python wherever it lives."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the exec'd program
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


class Unprivileged:
    """Runs `wip` (or Python) in a subprocess that file modes apply to: the current user, or, when
    the tests run as root (which writes read-only files regardless of their mode), root without
    the capabilities that override file modes."""

    def __init__(self, folder: Path):
        self.folder = folder

    def run(self, *args) -> subprocess.CompletedProcess:
        kw = {"preexec_fn": _file_modes_apply} if os.geteuid() == 0 else {}
        return subprocess.run([sys.executable, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                              timeout=300, **kw)

    def wip(self, *args) -> subprocess.CompletedProcess:
        return self.run("-m", "costing", *args)


@pytest.fixture
def unprivileged(tmp_path):
    folder = tmp_path / "access"
    folder.mkdir()
    runner = Unprivileged(folder)
    probe_file = tmp_path / "probe"
    probe_file.touch()
    probe_file.chmod(0o444)
    try:
        probe = runner.run("-c", "import os, sys; print(os.access(sys.argv[1], os.W_OK))", probe_file)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot run a process that file modes apply to here: {e}")
    if probe.stdout.strip() != "False":
        pytest.skip(f"cannot run a process that file modes apply to here: {probe.stdout}{probe.stderr}")
    try:
        yield runner
    finally:
        for sub in [folder, *folder.iterdir()]:
            if sub.is_dir():
                sub.chmod(0o755)  # a read-only folder left by a test, made removable again


def test_close_and_reopen_on_a_read_only_ledger_file_are_ledger_read_only(october_ledger, unprivileged):
    db = unprivileged.folder / "ro.db"
    shutil.copy(october_ledger, db)
    db.chmod(0o444)
    before = digest(db)

    closed = unprivileged.wip("close", NOVEMBER, "--period", "2026-11", "--ledger", db)
    assert_refused(closed.returncode, closed.stderr, "LEDGER_READ_ONLY")
    assert str(db) in closed.stderr and "a ledger file you can write" in closed.stderr

    reopened = unprivileged.wip("reopen", "2026-10", "--reason", "x", "--ledger", db)
    assert_refused(reopened.returncode, reopened.stderr, "LEDGER_READ_ONLY")
    assert str(db) in reopened.stderr

    # Reading it is still fine: a read-only ledger is refused only where something would be written.
    shown = unprivileged.wip("journal", "--period", "2026-10", "--ledger", db)
    assert shown.returncode == 0, shown.stderr
    assert "WIP-2026-10-001" in shown.stdout

    assert digest(db) == before
    assert sorted(p.name for p in unprivileged.folder.iterdir()) == ["ro.db"]  # no journal left beside it
    with Ledger(db) as ledger:
        assert [(e.kind, e.period) for e in ledger.events()] == [("close", "2026-10")]


def test_a_ledger_in_a_read_only_folder_is_ledger_read_only_naming_the_folder(october_ledger, unprivileged):
    folder = unprivileged.folder / "locked-folder"
    folder.mkdir()
    db = folder / "wip-ledger.db"
    shutil.copy(october_ledger, db)
    db.chmod(0o644)  # the file itself may be written; SQLite's journal beside it may not
    empty = folder / "empty.db"
    empty.touch()
    folder.chmod(0o555)
    before = digest(db)

    reopened = unprivileged.wip("reopen", "2026-10", "--reason", "x", "--ledger", db)
    assert_refused(reopened.returncode, reopened.stderr, "LEDGER_READ_ONLY")
    assert f"its folder {folder} is read-only" in reopened.stderr

    # A new (0-byte) ledger there: refused where its tables would be created, in Ledger.__init__.
    first = unprivileged.wip("close", OCTOBER, "--period", "2026-10", "--ledger", empty)
    assert_refused(first.returncode, first.stderr, "LEDGER_READ_ONLY")
    assert str(empty) in first.stderr

    assert digest(db) == before
    assert empty.stat().st_size == 0
    assert sorted(p.name for p in folder.iterdir()) == ["empty.db", "wip-ledger.db"]


def test_check_writable_says_the_file_or_folder_cannot_be_written(october_ledger, unprivileged):
    db = unprivileged.folder / "ro.db"
    shutil.copy(october_ledger, db)
    db.chmod(0o444)
    writable = unprivileged.folder / "rw.db"
    shutil.copy(october_ledger, writable)
    before = digest(db)
    probe = ("import sys\nfrom costing.ledger import Ledger, LedgerError\n"
             "with Ledger(sys.argv[1], create=False) as ledger:\n"
             "    try:\n        ledger.check_writable()\n    except LedgerError as e:\n"
             "        print(e.code, e.message)\n    else:\n        print('writable')\n")
    refused = unprivileged.run("-c", probe, db)
    assert refused.returncode == 0, refused.stderr
    assert refused.stdout.startswith(f"LEDGER_READ_ONLY cannot write to the ledger {db}: the file is read-only")
    allowed = unprivileged.run("-c", probe, writable)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "writable"
    assert digest(db) == before


# ---- the same refusals without file modes (any user): SQLite opening the file read-only ------


@pytest.fixture
def sqlite_read_only(monkeypatch):
    """Every ledger opened read-only by SQLite itself (URI mode=ro): the very error a file the user
    may not write gives (SQLITE_READONLY), also when the tests run as root."""
    connect = sqlite3.connect

    def read_only(path, *args, **kw):
        if str(path) == ":memory:":  # the close's own scratch databases
            return connect(path, *args, **kw)
        return connect(f"{Path(path).resolve().as_uri()}?mode=ro", *args, uri=True, **kw)

    monkeypatch.setattr(_sqlite.sqlite3, "connect", read_only)


def test_a_write_sqlite_refuses_as_read_only_is_ledger_read_only(ledger, sqlite_read_only, capsys):
    before = digest(ledger)
    code, out, err = wip(capsys, "close", NOVEMBER, "--period", "2026-11", "--ledger", ledger)
    assert_refused(code, err, "LEDGER_READ_ONLY")
    assert f"cannot write to the ledger {ledger}" in err and "Recorded in" not in out
    code, out, err = wip(capsys, "reopen", "2026-10", "--reason", "x", "--ledger", ledger)
    assert_refused(code, err, "LEDGER_READ_ONLY")
    assert digest(ledger) == before
    assert sorted(p.name for p in ledger.parent.iterdir()) == [ledger.name]


def test_check_writable_uses_the_permissions_of_file_and_folder(ledger, monkeypatch):
    with Ledger(ledger, create=False) as opened:
        assert opened.check_writable() is None  # the test's own file, in its own folder
        access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != ledger and access(p, mode))
        with pytest.raises(LedgerError) as refused:
            opened.check_writable()
        assert refused.value.code == "LEDGER_READ_ONLY"
        assert f"{ledger}: the file is read-only for you" in refused.value.message
        monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != ledger.parent and access(p, mode))
        with pytest.raises(LedgerError) as refused:
            opened.check_writable()
        assert refused.value.code == "LEDGER_READ_ONLY"
        assert f"its folder {ledger.parent} is read-only for you" in refused.value.message


# ---- a ledger another process holds locked --------------------------------------------------

_HOLD_EXCLUSIVE = """
import sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.read()  # until the test closes our stdin
con.execute("ROLLBACK")
"""


def test_a_ledger_locked_by_another_process_is_ledger_busy_not_not_a_ledger(ledger, monkeypatch, capsys):
    before = digest(ledger)
    monkeypatch.setattr(_sqlite, "BUSY_TIMEOUT", 0.2)  # not 30 seconds of waiting per command
    holder = subprocess.Popen([sys.executable, "-c", _HOLD_EXCLUSIVE, str(ledger)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(LedgerError) as refused:
            Ledger(ledger, create=False)
        assert refused.value.code == "LEDGER_BUSY"
        assert "another wip command (or another program) is using the ledger" in refused.value.message
        assert "try again when it is done" in refused.value.message
        for command in (["journal", "--period", "2026-10"], ["reopen", "2026-10", "--reason", "x"],
                        ["close", NOVEMBER, "--period", "2026-11"]):
            code, out, err = wip(capsys, *command, "--ledger", ledger)
            assert_refused(code, err, "LEDGER_BUSY")
            assert "NOT_A_LEDGER" not in err and "is not a ledger" not in err
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    assert digest(ledger) == before
    with Ledger(ledger, create=False) as opened:  # once the other process is done, it opens as before
        assert opened.verify() == []
        assert [e.period for e in opened.events()] == ["2026-10"]


# ---- a reopen of a close row edited by hand -------------------------------------------------


from tests.test_close_ledger import _tamper as _edit_by_hand  # noqa: E402  (drops the triggers, runs the SQL)


def test_reopen_refuses_a_close_whose_journals_were_edited_outside_the_engine(ledger, capsys):
    con = sqlite3.connect(ledger)
    original = con.execute("SELECT journals FROM events WHERE seq = 1").fetchone()[0]
    con.close()
    _edit_by_hand(ledger, "UPDATE events SET journals = replace(journals, '\"debit\":\"', '\"debit\":\"9') "
                          "WHERE seq = 1")
    con = sqlite3.connect(ledger)
    edited = con.execute("SELECT journals FROM events WHERE seq = 1").fetchone()[0]
    con.close()
    assert edited != original  # the amounts to be reversed are now what was typed in
    before = digest(ledger)

    code, out, err = wip(capsys, "reopen", "2026-10", "--reason", "GL import failed", "--ledger", ledger)
    assert_refused(code, err, "LEDGER_CHANGED")
    assert "event seq 1" in err and "reopened" not in out
    assert digest(ledger) == before
    with Ledger(ledger, create=False) as opened:
        assert [(e.seq, e.kind) for e in opened.events()] == [(1, "close")]  # no reversal chained on
        assert opened.status("2026-10") == "closed"


def test_a_full_drive_is_ledger_write_failed_and_the_ledger_is_as_it_was(ledger, capsys, monkeypatch):
    """Disk full (SQLITE_FULL) while the ledger records: rolled back, said, no traceback.  The drive
    is made 'full' by capping the ledger at the pages it has, which SQLite reports the same way; a
    reason of a megabyte needs more (past the reason's own limit, lifted here)."""
    import costing.close_service as service
    from costing.close_service import reopen_period

    monkeypatch.setattr(service, "reason_problem", lambda reason: None)

    before = digest(ledger)
    with Ledger(ledger) as opened:
        pages = opened._db.execute("PRAGMA page_count").fetchone()[0]
        opened._db.execute(f"PRAGMA max_page_count = {pages}")  # no room to grow
        with pytest.raises(LedgerError) as refused:
            reopen_period(opened, "2026-10", "late invoice " * 80_000, user="controller")
        assert refused.value.code == "LEDGER_WRITE_FAILED" and "free space on its drive" in refused.value.message
        assert [e.kind for e in opened.events()] == ["close"]
    assert digest(ledger) == before


def test_read_month_before_reads_the_close_before_and_changes_nothing(ledger, tmp_path):
    from costing.close_service import read_month_before

    assert read_month_before(tmp_path / "none.db", "2026-10") == (None, frozenset())  # no ledger yet
    assert not (tmp_path / "none.db").exists()
    before = digest(ledger)
    prior, vouched = read_month_before(ledger, "2026-11")
    assert prior is not None and prior.period == "2026-10"
    assert "Espresso Classic" in vouched  # the names October was recorded with
    with pytest.raises(LedgerError) as refused:  # closed and locked: the ledger cannot open it again
        read_month_before(ledger, "2026-10")
    assert refused.value.code == "PERIOD_LOCKED"
    assert digest(ledger) == before
