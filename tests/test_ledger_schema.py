"""A ledger whose recorded schema version this engine does not know — newer than its own, or
missing or unreadable — is refused when it is opened, before anything is read from it or written
into it (LEDGER_TOO_NEW, LEDGER_VERSION_UNKNOWN); the versions it knows are read as before."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
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


def edit_meta(path: Path, sql: str) -> None:
    """What a later engine (or someone editing the file) leaves in the meta table."""
    con = sqlite3.connect(path)
    con.execute(sql)
    con.commit()
    con.close()


@pytest.fixture(scope="module")
def closed_ledger(tmp_path_factory) -> Path:
    """October and November of the demo closed (copied by each test before it is changed)."""
    path = tmp_path_factory.mktemp("closed") / "wip-ledger.db"
    assert main(["close", str(OCTOBER), "--period", "2026-10", "--ledger", str(path)]) == 0
    assert main(["close", str(NOVEMBER), "--period", "2026-11", "--ledger", str(path)]) == 0
    return path


@pytest.fixture
def ledger_copy(closed_ledger, tmp_path) -> Path:
    path = tmp_path / "wip-ledger.db"
    shutil.copy(closed_ledger, path)
    return path


NEWER = str(int(_sqlite.SCHEMA_VERSION) + 8)
VERSION_EDITS = {
    "newer": (f"UPDATE meta SET value = '{NEWER}' WHERE key = 'schema_version'", "LEDGER_TOO_NEW"),
    "missing": ("DELETE FROM meta WHERE key = 'schema_version'", "LEDGER_VERSION_UNKNOWN"),
    "garbled": ("UPDATE meta SET value = 'one' WHERE key = 'schema_version'", "LEDGER_VERSION_UNKNOWN"),
    "zero": ("UPDATE meta SET value = '0' WHERE key = 'schema_version'", "LEDGER_VERSION_UNKNOWN"),
    "no meta table": ("DROP TABLE meta", "LEDGER_VERSION_UNKNOWN"),
}


@pytest.mark.parametrize("edit", VERSION_EDITS, ids=list(VERSION_EDITS))
@pytest.mark.parametrize("create", [True, False], ids=["writer", "reader"])
def test_a_ledger_of_an_unknown_schema_version_is_refused_when_opened(ledger_copy, edit, create):
    sql, code = VERSION_EDITS[edit]
    edit_meta(ledger_copy, sql)
    before = digest(ledger_copy)
    with pytest.raises(LedgerError) as refused:
        Ledger(ledger_copy, create=create)
    assert refused.value.code == code
    message = refused.value.message
    assert f"schema version {_sqlite.SCHEMA_VERSION}" in message  # what this engine reads
    assert "nothing was read or written" in message
    if code == "LEDGER_TOO_NEW":
        assert f"has schema version {NEWER}" in message  # what was found
        assert "use the engine version that wrote it" in message
    assert digest(ledger_copy) == before


def test_the_schema_version_this_engine_writes_is_read(ledger_copy):
    with Ledger(ledger_copy, create=False) as ledger:
        assert [e.period for e in ledger.events()] == ["2026-10", "2026-11"]
        assert ledger.verify() == []
    con = sqlite3.connect(ledger_copy)
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (_sqlite.SCHEMA_VERSION,)
    con.close()


COMMANDS = {
    "journal": ["journal", "--period", "2026-10"],
    "verify": ["verify"],
    "reopen": ["reopen", "2026-11", "--reason", "test"],
    "close": ["close", str(NOVEMBER), "--period", "2026-12"],
    "rollforward": ["rollforward", "--period", "2026-10"],
    "export": ["export", "--period", "2026-10", "--format", "gl-csv", "--out", "{out}"],
    "variance": ["variance", "--from", "2026-10", "--to", "2026-11"],
}


@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_every_command_refuses_a_ledger_from_a_newer_engine_and_leaves_it_as_it_was(
        ledger_copy, tmp_path, capsys, command):
    edit_meta(ledger_copy, f"UPDATE meta SET value = '{NEWER}' WHERE key = 'schema_version'")
    before = digest(ledger_copy)
    out_dir = tmp_path / "exports"
    args = [a.replace("{out}", str(out_dir)) for a in COMMANDS[command]] + ["--ledger", str(ledger_copy)]
    capsys.readouterr()
    status = main(args)
    out, err = capsys.readouterr()
    assert status == 2, err
    assert "[LEDGER_TOO_NEW]" in err, err
    assert f"schema version {NEWER}" in err
    assert "Traceback" not in err
    assert out == ""
    assert digest(ledger_copy) == before
    assert not out_dir.exists() or not any(out_dir.iterdir())
