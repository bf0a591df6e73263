"""A ledger whose pages were overwritten outside the engine (a disk fault, a tool writing into
the file) is said to be damaged (LEDGER_TAMPERED, exit 1 from verify and history, 2 elsewhere):
a damaged schema-version page read as 'no schema version' (LEDGER_VERSION_UNKNOWN, telling the
user to find the engine that wrote it), and a damaged table met part-way through a read was a
traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo


def _overwrite_first_page_of(db: Path, table: str) -> None:
    with sqlite3.connect(db) as con:
        (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        (page_size,) = con.execute("PRAGMA page_size").fetchone()
    con.close()
    data = bytearray(db.read_bytes())
    offset = (root - 1) * page_size
    data[offset:offset + 200] = b"\xff" * 200
    db.write_bytes(bytes(data))


@pytest.fixture
def october(tmp_path) -> Path:
    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    return db


def test_a_damaged_schema_version_page_is_damage_not_an_unknown_version(october, capsys):
    _overwrite_first_page_of(october, "meta")
    assert main(["verify", "--ledger", str(october)]) == 1
    err = capsys.readouterr().err
    assert "is damaged" in err and "[LEDGER_TAMPERED]" in err and "LEDGER_VERSION_UNKNOWN" not in err


@pytest.mark.parametrize("table", ["events", "journal_lines", "closing_wip", "fg_layers"])
def test_verify_says_a_damaged_table_is_damage(october, table, capsys):
    _overwrite_first_page_of(october, table)
    assert main(["verify", "--ledger", str(october)]) == 1
    err = capsys.readouterr().err
    assert "is damaged (database disk image is malformed)" in err and err.count("[LEDGER_TAMPERED]") == 1
    assert "Traceback" not in err


@pytest.mark.parametrize("command", [["history"], ["journal", "--period", "2026-10"],
                                     ["rollforward", "--period", "2026-10"]])
def test_a_reader_meeting_a_damaged_page_says_so(october, command, capsys):
    _overwrite_first_page_of(october, "events")
    code = main(command + ["--ledger", str(october)])
    assert code == (1 if command == ["history"] else 2)
    assert "[LEDGER_TAMPERED]" in capsys.readouterr().err


def test_a_close_opening_from_a_damaged_page_is_refused_and_writes_nothing(october, capsys):
    _overwrite_first_page_of(october, "closing_wip")
    before = october.read_bytes()
    november = str(Path(__file__).parents[1] / "examples" / "demo" / "close-2026-11.yaml")
    assert main(["close", november, "--period", "2026-11", "--ledger", str(october)]) == 2
    assert "[LEDGER_TAMPERED]" in capsys.readouterr().err
    assert october.read_bytes() == before


def test_a_new_ledger_whose_tables_cannot_be_written_leaves_no_file(tmp_path, monkeypatch, capsys):
    """A first close on a full drive: SQLite creates the file, the ledger's tables cannot be written
    into it; the refusal said 'nothing was written' and left an empty file, later read as 'not a
    ledger'.  (The full drive is stood in for by a schema that fails, refused as a write failure.)"""
    from costing.ledger import LedgerError, _sqlite

    monkeypatch.setattr(_sqlite, "_SCHEMA", "CREATE TABLE;")
    monkeypatch.setattr(_sqlite, "_refusal", lambda path, error: LedgerError(
        "LEDGER_WRITE_FAILED", f"the ledger {path} could not be written (database or disk is full)"))
    db = tmp_path / "new.wip.db"
    october = str(Path(__file__).parents[1] / "examples" / "demo" / "close-2026-10.yaml")
    assert main(["close", october, "--period", "2026-10", "--ledger", str(db)]) == 2
    assert "[LEDGER_WRITE_FAILED]" in capsys.readouterr().err
    assert not db.exists() and list(tmp_path.iterdir()) == []


def test_a_close_names_the_damaged_ledger_it_found_beside_its_file(tmp_path, monkeypatch, capsys):
    """A close without --ledger uses the ledger beside its file: the damage message named
    'wip-ledger.db' in the working directory, a file that does not exist."""
    import shutil

    demo = Path(__file__).parents[1] / "examples" / "demo"
    books = tmp_path / "books"
    books.mkdir()
    for month in ("10", "11"):
        shutil.copy(demo / f"close-2026-{month}.yaml", books)
    assert main(["close", str(books / "close-2026-10.yaml"), "--period", "2026-10"]) == 0
    _overwrite_first_page_of(books / "wip-ledger.db", "closing_wip")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["close", str(books / "close-2026-11.yaml"), "--period", "2026-11"]) == 2
    err = capsys.readouterr().err
    assert f"the ledger {books / 'wip-ledger.db'} is damaged" in err and "[LEDGER_TAMPERED]" in err
