"""One reproducer per error code (tests/errors/CODE.yaml); its output is a golden file.

The reproducers double as user documentation (docs/errors.md lists them).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from costing import _errors
from costing.cli import main

ERRORS = Path(__file__).parent / "errors"
REPRODUCERS = sorted(ERRORS.glob("*.yaml"))
DOCS = Path(__file__).parent.parent / "docs" / "errors.md"


@pytest.mark.parametrize("case_file", REPRODUCERS, ids=lambda p: p.stem)
def test_reproducer(case_file: Path, capsys, file_regression, monkeypatch):
    monkeypatch.chdir(ERRORS.parent.parent)
    status = main(["cost", str(case_file.relative_to(ERRORS.parent.parent))])
    out, err = capsys.readouterr()
    assert status == 2
    assert out == ""  # nothing written on failure
    assert f"[{case_file.stem}]" in err
    assert "Traceback" not in err
    file_regression.check(err, basename=case_file.stem, extension=".txt")


def test_every_code_is_documented_and_has_a_reproducer():
    documented = set(re.findall(r"^### `([A-Z_]+)`", DOCS.read_text(), re.M))
    reproduced = {p.stem for p in REPRODUCERS}
    # Codes whose reproducer is not a case file (they are about the file itself).
    special = {"FILE_NOT_FOUND", "UNREADABLE_FILE", "INVALID_FORMAT"}  # INVALID_FORMAT: close files only
    assert reproduced | special == documented


def test_all_problems_are_reported_at_once(capsys, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "currency: usd\nmethod: fifo\nstages:\n"
        "  - name: A\n    elements: {m: {kind: material, added: start}}\n"
        "    started: -5\n    completed: 1\n    ending_wip: {units: 2, complete: 1.5}\n"
        "  - name: B\n    elements: {c: {kind: conversion, added: sometimes}}\n    completed: x\n")
    assert main(["cost", str(bad)]) == 2
    err = capsys.readouterr().err
    for code in ("UNKNOWN_CURRENCY", "NEGATIVE_UNITS", "PROGRESS_OUT_OF_RANGE", "INVALID_CHOICE", "NOT_A_NUMBER"):
        assert f"[{code}]" in err, code
    assert "stages[1].elements.c.added" in err and "stages[1].completed" in err


def test_missing_and_unreadable_files(capsys, tmp_path):
    assert main(["cost", str(tmp_path / "nope.yaml")]) == 2
    assert "[FILE_NOT_FOUND]" in capsys.readouterr().err
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    assert main(["cost", str(binary)]) == 2
    assert "[UNREADABLE_FILE]" in capsys.readouterr().err


def test_command_line_exit_status_and_no_traceback(wip):
    result = wip("cost", "tests/errors/UNIT_FLOW.yaml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "[UNIT_FLOW]" in result.stderr


def test_issue_paths_read_like_the_file():
    assert _errors.format_path(("stages", 1, "ending_wip", "complete", "conversion")) == \
        "stages[1].ending_wip.complete.conversion"
