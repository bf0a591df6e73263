"""What a new user following the README ran into: files overwritten or deleted without asking,
and messages about bad input that spoke Python or PyYAML instead of saying what to fix."""

from __future__ import annotations

import os
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from costing.cli import main

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "scripts" / "demo.sh"
MARKER = ".wip-demo-output"


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``, hidden ones included."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


# ---- wip addin keeps a workbook already there ---------------------------------------------------

def test_addin_refuses_to_replace_a_workbook_already_there_unless_forced(tmp_path, capsys):
    """`wip addin DIR` onto a DIR holding a (filled-in) wip_close.xlsm refused it as `wip init` does:
    FILE_EXISTS, nothing touched; --force replaces it."""
    assert main(["addin", str(tmp_path)]) == 0
    capsys.readouterr()
    (tmp_path / "wip_close.xlsm").write_bytes(b"a month of work")
    before = tree(tmp_path)
    assert main(["addin", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert f"error: {tmp_path / 'wip_close.xlsm'}: exists (use --force" in err and "[FILE_EXISTS]" in err, err
    assert "Traceback" not in err and out == ""
    assert tree(tmp_path) == before
    assert main(["addin", str(tmp_path), "--force"]) == 0
    capsys.readouterr()
    assert (tmp_path / "wip_close.xlsm").read_bytes() != b"a month of work"


def test_addin_refuses_a_launcher_already_there_too(tmp_path, capsys):
    (tmp_path / "wip_close.py").write_text("# mine\n")
    assert main(["addin", str(tmp_path)]) == 2
    _, err = capsys.readouterr()
    assert f"error: {tmp_path / 'wip_close.py'}: exists" in err and "[FILE_EXISTS]" in err, err
    assert tree(tmp_path) == {"wip_close.py": b"# mine\n"}


# ---- scripts/demo.sh deletes only a folder it made ----------------------------------------------

def _run(script: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(script), *args], cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.fixture
def fake_checkout(tmp_path):
    """A copy of scripts/demo.sh in a checkout whose venv is a stub: `wip` does nothing, so the
    script's handling of its output folder runs in milliseconds."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(DEMO, root / "scripts" / "demo.sh")
    (root / "scripts" / "_venv.sh").write_text(
        'set -euo pipefail\nroot="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"\nvenv="$root/.venv"\n')
    (root / ".venv" / "bin").mkdir(parents=True)
    wip = root / ".venv" / "bin" / "wip"
    wip.write_text("#!/bin/sh\nexit 0\n")
    wip.chmod(0o755)
    (root / "examples").mkdir()
    (root / "examples" / "keep.txt").write_text("mine")
    return root


def test_demo_refuses_a_folder_it_did_not_make_before_doing_anything(tmp_path):
    """The real script: `bash scripts/demo.sh DIR` onto a folder holding the user's files refuses
    it at once (before setting up the venv), and deletes nothing; a relative DIR is the caller's."""
    mine = tmp_path / "x"
    mine.mkdir()
    (mine / "my-notes.txt").write_text("mine")
    result = _run(DEMO, str(mine), cwd=tmp_path)
    assert result.returncode == 2 and "already holds files this script did not write" in result.stderr
    assert tree(mine) == {"my-notes.txt": b"mine"}
    result = _run(DEMO, "x", cwd=tmp_path)
    assert result.returncode == 2 and f"{mine} already holds files" in result.stderr
    assert tree(mine) == {"my-notes.txt": b"mine"}


def test_demo_takes_a_relative_folder_from_the_callers_folder(fake_checkout, tmp_path):
    """`examples` run from elsewhere is that folder's examples/, never the checkout's."""
    here = tmp_path / "here"
    here.mkdir()
    result = _run(fake_checkout / "scripts" / "demo.sh", "examples", cwd=here)
    assert result.returncode == 0, result.stderr
    assert (here / "examples" / MARKER).is_file() and (here / "examples" / "exports").is_dir()
    assert tree(fake_checkout / "examples") == {"keep.txt": b"mine"}
    assert f"ledger:        {here / 'examples' / 'wip-ledger.db'}" in result.stdout
    result = _run(fake_checkout / "scripts" / "demo.sh", "examples", cwd=fake_checkout)
    assert result.returncode == 2 and tree(fake_checkout / "examples") == {"keep.txt": b"mine"}


def test_demo_replaces_only_a_folder_it_filled(fake_checkout, tmp_path):
    out = tmp_path / "out"
    assert _run(fake_checkout / "scripts" / "demo.sh", str(out), cwd=tmp_path).returncode == 0
    for name in ("journals-2026-10.txt", "wip-ledger.db-wal", "exports/journals-2026-10.qbo.csv"):
        (out / name).write_text("old")  # names it writes, left by an earlier run: replaced
    assert _run(fake_checkout / "scripts" / "demo.sh", str(out) + "/", cwd=tmp_path).returncode == 0
    written = tree(out)
    assert MARKER in written and written["journals-2026-10.txt"] == b"" and "wip-ledger.db-wal" not in written
    assert "exports/journals-2026-10.qbo.csv" not in written
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(fake_checkout / "scripts" / "demo.sh", str(empty), cwd=tmp_path).returncode == 0
    assert MARKER in tree(empty) and (empty / "exports").is_dir()
    (tmp_path / "file").write_text("mine")
    result = _run(fake_checkout / "scripts" / "demo.sh", str(tmp_path / "file"), cwd=tmp_path)
    assert result.returncode == 2 and "not a folder" in result.stderr
    assert (tmp_path / "file").read_text() == "mine"


def test_demo_default_folder_is_out_demo_in_the_checkout_and_an_earlier_run_there_is_replaced(fake_checkout,
                                                                                              tmp_path):
    """No argument (README's Quick start): out/demo in the checkout, printed as before; a folder an
    earlier run left there before runs wrote the marker is still replaced, but not one holding
    anything else."""
    old = fake_checkout / "out" / "demo"
    (old / "exports").mkdir(parents=True)
    for name in ("wip-ledger.db", "journals-2026-10.txt", "rollforward-2026-11.txt", "audit.xlsx", "flow.txt",
                 "standards.txt", "variance.txt", "exports/journals-2026-10.qbo.csv"):
        (old / name).write_text("old")
    result = _run(fake_checkout / "scripts" / "demo.sh", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "  ledger:        out/demo/wip-ledger.db" in result.stdout
    written = tree(old)
    assert MARKER in written and b"old" not in written.values() and "exports/journals-2026-10.qbo.csv" not in written
    (old / MARKER).unlink()
    (old / "my-notes.txt").write_text("mine")
    result = _run(fake_checkout / "scripts" / "demo.sh", cwd=tmp_path)
    assert result.returncode == 2 and (old / "my-notes.txt").read_text() == "mine"


def test_demo_keeps_files_put_into_a_folder_it_filled(fake_checkout, tmp_path):
    """The marker says the demo filled the folder, not that all in it is the demo's: a file or
    folder put in since (or beside it in exports/) is refused by name, and nothing is deleted."""
    demo = fake_checkout / "scripts" / "demo.sh"
    out = tmp_path / "t2"
    out.mkdir()
    assert _run(demo, "t2", cwd=tmp_path).returncode == 0
    (out / "october-notes.docx").write_text("notes")
    (out / "client").mkdir()
    before = tree(out)
    result = _run(demo, "t2", cwd=tmp_path)
    assert result.returncode == 2, result.stdout
    assert f"{out} already holds files this script did not write (client/, october-notes.docx)" in result.stderr
    assert tree(out) == before
    (out / "october-notes.docx").unlink()
    (out / "client").rmdir()
    (out / "exports" / "budget.xlsx").write_text("mine")
    result = _run(demo, "t2", cwd=tmp_path)
    assert result.returncode == 2 and "(exports/budget.xlsx)" in result.stderr
    assert (out / "exports" / "budget.xlsx").read_text() == "mine"


def test_demo_refuses_a_copied_marker_beside_other_files_and_a_marker_that_is_a_link(fake_checkout, tmp_path):
    """`cp -r out/demo/. ~/reports/` copies the marker along: the folder still holds the user's
    budget.xlsx, so it is refused.  A marker that is a link (to a file anywhere) is no marker."""
    demo = fake_checkout / "scripts" / "demo.sh"
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "budget.xlsx").write_text("budget")
    (reports / MARKER).write_text("Written by scripts/demo.sh\n")
    result = _run(demo, str(reports), cwd=tmp_path)
    assert result.returncode == 2 and "(budget.xlsx)" in result.stderr
    assert tree(reports) == {MARKER: b"Written by scripts/demo.sh\n", "budget.xlsx": b"budget"}
    linked = tmp_path / "linked"
    linked.mkdir()
    (tmp_path / "elsewhere").write_text("x")
    (linked / MARKER).symlink_to(tmp_path / "elsewhere")
    result = _run(demo, str(linked), cwd=tmp_path)
    assert result.returncode == 2 and f"({MARKER} (a link))" in result.stderr
    assert (linked / MARKER).is_symlink() and (tmp_path / "elsewhere").read_text() == "x"


def test_demo_into_the_current_folder_runs_again(fake_checkout, tmp_path):
    """`demo.sh .` ran once, then `rm` refused to remove '.': the folder's own contents are replaced,
    the folder stays, and the printed paths are the folder's (no /./)."""
    here = tmp_path / "here"
    here.mkdir()
    for _ in range(2):
        result = _run(fake_checkout / "scripts" / "demo.sh", ".", cwd=here)
        assert result.returncode == 0, result.stderr
        assert f"ledger:        {here / 'wip-ledger.db'}" in result.stdout
        assert (here / MARKER).is_file() and (here / "exports").is_dir()


def test_demo_keeps_a_file_whose_name_only_looks_like_one_it_writes(fake_checkout, tmp_path):
    """`wip-ledger.db-*`, `journals-*.txt`, `exports/journals-*` took in a backup of the ledger, notes,
    a renamed export: the demo deleted them on its next run.  It deletes only the names it writes."""
    demo = fake_checkout / "scripts" / "demo.sh"
    out = tmp_path / "out"
    assert _run(demo, str(out), cwd=tmp_path).returncode == 0
    mine = ("wip-ledger.db-backup", "journals-notes.txt", "rollforward-2026-10.txt.bak",
            "exports/journals-2026-10.gl.csv.orig", "exports/journals-2026-12.qbo.csv",
            "exports/journals-2026-10.xero-9.csv")
    for name in mine:
        (out / name).write_text("mine")
        before = tree(out)
        result = _run(demo, str(out), cwd=tmp_path)
        assert result.returncode == 2 and f"({name})" in result.stderr, (name, result.stderr)
        assert tree(out) == before
        (out / name).unlink()
    for name in ("wip-ledger.db-journal", "wip-ledger.db-shm", "exports/accounts.beancount",
                 "exports/journals-2026-11.intacct-1.csv", "exports/journals-2026-11.xero-1.csv",
                 "exports/journals-2026-10.iif", "exports/journals-2026-11.beancount",
                 "exports/journals-2026-10.gl.csv"):
        (out / name).write_text("old")  # what a run writes: replaced
    assert _run(demo, str(out), cwd=tmp_path).returncode == 0
    assert b"old" not in tree(out).values()


@pytest.mark.parametrize("args, code", [(["--help"], 0), (["-h"], 0), (["a", "b"], 2), (["--out"], 2), ([""], 2)])
def test_demo_usage(tmp_path, args, code):
    result = _run(DEMO, *args, cwd=tmp_path)
    assert result.returncode == code
    assert "usage: bash scripts/demo.sh [OUT_DIR]" in (result.stdout if code == 0 else result.stderr)
    assert list(tmp_path.iterdir()) == []


def test_demo_runs_into_a_new_folder(tmp_path, fake_checkout):
    """The real demo (about 20 s), into a relative folder: every output, and the marker; and every
    name it wrote is one the script lists as its own (else its next run would refuse the folder)."""
    result = _run(DEMO, "demo-out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "demo-out"
    assert (out / MARKER).is_file() and (out / "wip-ledger.db").is_file() and (out / "audit.xlsx").is_file()
    assert any((out / "exports").iterdir())
    again = _run(fake_checkout / "scripts" / "demo.sh", "demo-out", cwd=tmp_path)  # the same script, no venv
    assert again.returncode == 0, again.stderr


# ---- numbers with a comma: no Python in the message, and what to write instead ------------------

DEMO_CLOSE = ROOT / "examples" / "demo" / "close-2026-10.yaml"
DEMO_CASE = ROOT / "examples" / "demo" / "case.yaml"
NO_SEPARATORS = "close and case files take '.' as the decimal point and no thousands separator, whatever `locale` says"


def _close_errors(capsys, path: Path, tmp_path: Path) -> list[str]:
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err and not (tmp_path / "l.wip.db").exists()
    return err.splitlines()


def _edited(tmp_path: Path, source: Path, *replacements: tuple[str, str], name: str = "edited.yaml") -> Path:
    text = source.read_text()
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_comma_inside_braces_is_said_to_split_the_number(tmp_path, capsys):
    """`{materials: 36,000.00}` and `{complete: 0,4}`: YAML ends the value at the comma; the message
    says so at the number's line and column, and how to write it, never `Decimal('0.00')` or a key 4."""
    path = _edited(tmp_path, DEMO_CLOSE,
                   ("ending_wip: {units: 30, complete: 0.4}", "ending_wip: {units: 30, complete: 0,4}"),
                   ("added_costs: {materials: 36000.00, labour: 9450.00}",
                    "added_costs: {materials: 36,000.00, labour: 1.00}"))
    lines = path.read_text().splitlines()
    row = next(i for i, line in enumerate(lines) if "0,4" in line)
    err = _close_errors(capsys, path, tmp_path)
    assert err[0] == (f"error: {path}: line {row + 1}, column {lines[row].index('0,4') + 1}: 0,4 is cut in two at "
                      f"its comma (inside {{…}} a comma ends a value); {NO_SEPARATORS}: write 0.4 [NOT_A_NUMBER]")
    assert err[1].endswith(f"{NO_SEPARATORS}: write 36000.00 [NOT_A_NUMBER]") and "36,000.00 is cut" in err[1]
    assert len(err) == 3 and "Decimal" not in "\n".join(err) and "keys should be strings" not in "\n".join(err)


def test_a_comma_inside_braces_in_a_case_file_too(tmp_path, capsys):
    path = _edited(tmp_path, DEMO_CASE, ("added_costs: {materials: 19800, conversion: 16380}",
                                         "added_costs: {materials: 1,234,567.50, conversion: 16380}"))
    assert main(["cost", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith(f"1,234,567.50 is cut in two at its comma (inside {{…}} a comma ends a value); "
                           f"{NO_SEPARATORS}: write 1234567.50 [NOT_A_NUMBER]") and len(err) == 2


def test_a_number_in_the_locales_style_in_block_style_gets_the_same_hint(tmp_path, capsys):
    path = _edited(tmp_path, DEMO_CLOSE, ("locale: en_US", "locale: de_DE"),
                   ("      added_costs: {materials: 36000.00, labour: 9450.00}",
                    "      added_costs:\n        materials: 36000.00\n        labour: 9.450,00"))
    assert _close_errors(capsys, path, tmp_path)[0] == (
        f"error: {path}: products[0].stages[0].added_costs.labour: expected a number, found '9.450,00'; "
        f"{NO_SEPARATORS}: write 9450.00 [NOT_A_NUMBER]")


# ---- YAML mistakes in plain words -----------------------------------------------------------------

@pytest.mark.parametrize("text, where, words", [
    ("company: A\nproducts:\n  - name: B\n    stages: []\n   period: x\n", "line 5, column 4",
     "this line is indented differently from the lines above it"),
    ("company: A\nproducts:\n\t- name: B\n", "line 3, column 1", "a tab character: YAML indents with spaces only"),
    ("company: A\nperiod: 2026-10: x\n", "line 2, column 16", "a ':' where no key can start"),
    ("company: A\nperiod\nlocale: en_US\n", "line 2, column 1", "this line is not `key: value`"),
    ("company: 'A\nperiod: 2026-10\n", "line 1, column 10", "this quote is never closed"),
    ("company: A\naccounts: {wip: x\nperiod: 2026-10\n", "line 3, column 7",
     "the {…} begun at line 2, column 11 is not closed: add the '}'"),
    ("company: A\nproducts: [\n", "line 3, column 1", "the file ends where a value should follow"),
    ("company: @A\n", "line 1, column 10", "a value cannot start with '@' in YAML: put the value in quotes"),
])
def test_yaml_mistakes_are_said_in_plain_words(tmp_path, capsys, text, where, words):
    path = tmp_path / "close.yaml"
    path.write_text(text)
    err = _close_errors(capsys, path, tmp_path)
    assert err[0].startswith(f"error: {path}: {where}: {words}") and err[0].endswith("[INVALID_SYNTAX]"), err
    for jargon in ("<block", "token", "stream", "scanning", "parsing", "invalid YAML"):
        assert jargon not in err[0]


def test_a_file_not_in_utf8_is_located_and_told_to_be_saved_as_utf8(tmp_path, capsys):
    path = tmp_path / "close.yaml"
    path.write_bytes("company: A\nperiod: 2026-10\nlocale: de_DE\n# Müller\n".encode("latin-1"))
    assert _close_errors(capsys, path, tmp_path)[0] == (
        f"error: {path}: line 4, column 4: byte 0xfc is not UTF-8 text: the file was saved in another encoding "
        "(Windows-1252 or Latin-1, e.g. for ä, ü, é, £); save it as UTF-8 (in Notepad: Save as, Encoding: UTF-8) "
        "[UNREADABLE_FILE]")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_file_saved_as_utf16_is_said_to_be_utf16_not_windows_1252(encoding, tmp_path, capsys):
    path = tmp_path / "close.yaml"
    text = "company: Müller GmbH\nperiod: 2026-10\n"
    path.write_bytes(("\ufeff" + text).encode(encoding) if encoding.endswith("be") else text.encode(encoding))
    error, summary = _close_errors(capsys, path, tmp_path)
    assert error.startswith(f"error: {path}: line 1, column 1: the file was saved as UTF-16"), error
    assert "Windows-1252" not in error and error.endswith("[UNREADABLE_FILE]")


@pytest.mark.parametrize("content, said", [
    ("company: A\nperiod: 2026-10\n".encode("utf-16-le"), "line 1: the file holds NUL bytes"),
    ("company: A\n".encode("utf-32"), "line 1, column 1: the file was saved as UTF-32"),
    (b"company: A\x01\nperiod: 2026-10\n", "line 1, column 11: character U+0001 is a control character"),
], ids=["utf-16 without a byte-order mark", "utf-32", "a control character"])
def test_a_file_that_is_no_utf8_text_is_said_so_not_a_traceback(content, said, tmp_path, capsys):
    path = tmp_path / "close.yaml"
    path.write_bytes(content)
    error, summary = _close_errors(capsys, path, tmp_path)
    assert error.startswith(f"error: {path}: {said}"), error


# ---- the wrong kind of file ---------------------------------------------------------------------

def test_a_folder_given_as_the_file(tmp_path, capsys):
    err = _close_errors(capsys, tmp_path, tmp_path)
    assert err[0].startswith(f"error: {tmp_path}: is a folder, not a file; give the file itself") and \
        err[0].endswith("[UNREADABLE_FILE]") and "Errno" not in err[0]


@pytest.mark.parametrize("content, words", [
    (b"company: A\n", "a text file, not an Excel workbook, whatever its name says"),
    (bytes(range(128, 256)), "not an Excel workbook, whatever its name says (an .xlsx file is a zip package"),
    (b"", "an empty file, not an Excel workbook"),
])
def test_a_file_named_xlsx_that_is_no_workbook(tmp_path, capsys, content, words):
    path = tmp_path / "close.xlsx"
    path.write_bytes(content)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith(f"error: {path}: {words}") and err[0].endswith("[UNREADABLE_FILE]"), err
    assert "zip file" not in err[0]


def test_a_csv_file_given_to_close(tmp_path, capsys):
    path = tmp_path / "production.csv"
    path.write_text("product,stage,started\nEspresso Classic,Assembly,300\n")
    err = _close_errors(capsys, path, tmp_path)
    assert err[0].startswith(f"error: {path}: the file reads as a table of values (CSV), not keys and values: close "
                             "and case files are YAML or JSON `key: value` lines") and err[0].endswith("[WRONG_TYPE]")
    assert "found str" not in err[0]


def test_a_case_file_given_to_close_is_said_to_be_one(tmp_path, capsys):
    err = _close_errors(capsys, DEMO_CASE, tmp_path)
    assert err == [f"error: {DEMO_CASE}: stages: this looks like a case file (stages, no products or accounts), not a "
                   "close file: cost it with `wip cost`; a close file lists products, each with its stages, and the "
                   "ledger accounts (see examples/demo/close-2026-10.yaml) [UNKNOWN_KEY]",
                   "1 problem found; nothing was written."]


# ---- the locale's own grouping --------------------------------------------------------------------

@pytest.mark.parametrize("locale, shown", [("en_IN", "12,34,567.50"), ("en_US", "1,234,567.50"),
                                           ("de_DE", "1.234.567,50")])
def test_amounts_follow_the_locales_grouping(tmp_path, capsys, locale, shown):
    path = _edited(tmp_path, DEMO_CASE, ("added_costs: {materials: 19800, conversion: 16380}",
                                         "added_costs: {materials: 1234567.50, conversion: 16380}"))
    assert main(["cost", str(path), "--locale", locale]) == 0
    assert shown in capsys.readouterr().out


# ---- workbook: a completion of 55 says 5500% ------------------------------------------------------

def test_a_workbook_completion_above_100_percent_shows_the_percent(tmp_path, capsys):
    import openpyxl

    from costing.workbook._cli import init_workbook
    from tests.demo_data import demo

    book = init_workbook(tmp_path / "demo.xlsx", demo("2026-10"))
    wb = openpyxl.load_workbook(book)
    assert wb["Production"]["G3"].value == "Ending WIP complete"
    wb["Production"]["G4"] = 55
    wb.save(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "Production!G4: Ending WIP complete: completion 55 (5500%) is above 100% [PROGRESS_OUT_OF_RANGE]" in err


def test_a_number_in_the_locales_style_in_a_case_file_gets_the_hint_too(tmp_path, capsys):
    """`wip cost` tells the number to write, as `wip close` does."""
    path = _edited(tmp_path, DEMO_CASE, ("added_costs: {materials: 19800, conversion: 16380}",
                                         "added_costs:\n      materials: 19.800,00\n      conversion: 16380"))
    assert main(["cost", str(path)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0].endswith(f"expected a number, found '19.800,00'; {NO_SEPARATORS}: write 19800.00 [NOT_A_NUMBER]"), err


# ---- review of the plain words: the cause named is the one in the file ----------------------------

def _demo_close_with(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The demo close with ``old`` written as ``new`` once, and the (1-based) line it is on."""
    path = _edited(tmp_path, DEMO_CLOSE, (old, new))
    row = next(i for i, line in enumerate(path.read_text().splitlines(), 1) if new.splitlines()[0] in line)
    return path, row


def _first_error(capsys, path: Path, tmp_path: Path) -> str:
    err = _close_errors(capsys, path, tmp_path)
    assert err[-1] == "1 problem found; nothing was written.", err
    return err[0]


@pytest.mark.parametrize("old, new, closed_at", [
    ("company: Brew Works Ltd", 'company: "Brew Works Ltd', 'period: "'),
    ('period: "2026-10"', 'period: "2026-10', '{code: "'),
])
def test_a_missing_closing_quote_is_said_at_the_line_it_opens(tmp_path, capsys, old, new, closed_at):
    """A double-quoted value runs on over lines to the next quote; PyYAML stops after that one, lines
    below (`period: "2026-10` was reported at line 13), and it was called text after a quoted value."""
    path, row = _demo_close_with(tmp_path, old, new)
    lines = path.read_text().splitlines()
    closing = next(i for i, line in enumerate(lines, 1) if i > row and closed_at in line)
    column = lines[row - 1].index('"') + 1
    assert _first_error(capsys, path, tmp_path) == (
        f"error: {path}: line {row}, column {column}: this quote is closed only at line {closing}: add the closing "
        'quote on this line (a quoted value runs on to the next ") [INVALID_SYNTAX]')


@pytest.mark.parametrize("old, new, at, words", [
    ("{units: 30, complete: 0.4}", "{units: 30, complete: 0.4}}", "}\n",
     "a '}' with none open to close: one '}' too many on this line; remove it"),
    ("{units: 30, complete: 0.4}", "{units: 30} {complete: 0.4}", "{complete",
     "more text after the '}' that closes the {…} begun at column 19: that {…} is the whole value"),
    ("{units: 30, complete: 0.4}", "{units: 30, complete: 0.4} units", "units\n",
     "more text after the '}' that closes the {…} begun at column 19"),
    ('{code: "1210", name: "Raw materials inventory"}', '{code: "1210, name: "Raw materials inventory"}',
     'Raw materials inventory"}', 'more text after the quoted value "1210, name: " on this line: a closing quote is '
                                  'missing or one is left over'),
    ("{units: 30, complete: 0.4}", "{units: 30 complete: 0.4}", "30 complete",
     "a ',' is missing between two entries of the {…} begun at line 41, column 19: '30 complete' reads as one value"),
    ('{code: "1210", name: "Raw materials inventory"}', '{code: "1210" name: "Raw materials inventory"}', 'name: "Raw',
     """a ',' is missing between two entries of the {…} begun at line 13, column 22: after the quoted value "1210" """
     "another entry starts; separate entries with ', '"),
    ("added_costs: {materials: 36000.00, labour: 9450.00}", "added_costs: materials: 36000.00, labour: 9450.00}",
     "materials", "a '{' is missing here: the entries end with a '}' that none opens; write them inside {…}, "
                  "'added_costs: {materials: 36000.00, labour: 9450.00}'"),
    ("  - name: Espresso Classic", "- name: Espresso Classic", "- name",
     "this list item's keys start at column 3, and the next line's at column 5: an item's keys start in one column; "
     "indent this '- ' as the list's other items are"),
    ("    - name: Testing", "    -name: Testing", "-name",
     "a '-' with no space after it: a list item is written '- ' and then the item"),
    ("company: Brew Works Ltd", "company: 'O'Brien Works'", "Brien",
     "more text after the quoted value 'O' on this line: a closing quote is missing or one is left over; put the "
     "whole value in one pair of quotes (a ' inside '...' is written '')"),
])
def test_yaml_mistakes_name_the_cause_found_there(tmp_path, capsys, old, new, at, words):
    """Each was told a wrong cause: an extra '}' or text after '}' "indented differently", text
    after a '}' "after a quoted value", a quote closed early "the {…} is not closed", a missing
    comma led with "not closed", `-name:` reported on the next line; a missing comma after a quoted
    value "a closing quote is missing", a missing '{' "a ':' where no key can start", a list item
    dedented to column 1 reported at the line below it."""
    path, row = _demo_close_with(tmp_path, old, new)
    line = path.read_text().splitlines()[row - 1] + "\n"
    column = line.index(at) + 1
    assert _first_error(capsys, path, tmp_path).startswith(f"error: {path}: line {row}, column {column}: {words}")


@pytest.mark.parametrize("text, where, words", [
    ("company: A\naccounts: {wip: [1, 2}\n", "line 2, column 22",
     "the […] begun at line 2, column 17: a ',' between its entries, or its closing ']', is missing here"),
    ("}\ncompany: A\n", "line 1, column 1", "a '}' with none open to close"),
])
def test_brackets_are_told_apart(tmp_path, capsys, text, where, words):
    """A '[' closed by '}' was said to be a {…} ("but got '}'" has a '}' in it); a '}' opening the
    file was "expected the node content"."""
    path = tmp_path / "close.yaml"
    path.write_text(text)
    assert _first_error(capsys, path, tmp_path).startswith(f"error: {path}: {where}: {words}")


def test_a_line_indented_differently_is_still_said_so(tmp_path, capsys):
    path, row = _demo_close_with(tmp_path, "      started: 300", "     started: 300")
    assert _first_error(capsys, path, tmp_path).startswith(
        f"error: {path}: line {row}, column 6: this line is indented differently from the lines above it")


@pytest.mark.parametrize("written, meant", [("36,080", "36080"), ("2,089.50", "2089.50"), ("1,008", "1008")])
def test_a_comma_split_number_whose_second_part_yaml_reads_as_text(tmp_path, capsys, written, meant):
    """`36,080`: PyYAML reads `080` as text (not octal, not decimal), so the split went unseen."""
    path = _edited(tmp_path, DEMO_CLOSE, ("added_costs: {materials: 36000.00, labour: 9450.00}",
                                          f"added_costs: {{materials: {written}, labour: 9450.00}}"))
    err = _close_errors(capsys, path, tmp_path)
    assert f"{written} is cut in two at its comma" in err[0] and f"write {meant}" in err[0], err
    assert err[0].endswith("[NOT_A_NUMBER]") and len(err) == 2


@pytest.mark.parametrize("content, name", [
    ('"stage","completed"\n"Assembly",310\n', "production.csv"),
    ("stage\tcompleted\nAssembly\t310\n", "production.tsv"),
    ('"stage","completed"\n"Assembly",310\n', "production.txt"),
])
def test_a_table_file_is_said_to_be_one_before_yaml_reads_it(tmp_path, capsys, content, name):
    """A quoted CSV header gave `expected '<document start>', but found ','`, a .tsv "a tab character"."""
    path = tmp_path / name
    path.write_text(content)
    err = _close_errors(capsys, path, tmp_path)
    assert err[0] == (f"error: {path}: the file reads as a table of values (CSV), not keys and values: close and "
                      "case files are YAML or JSON `key: value` lines (see examples/demo/close-2026-10.yaml and "
                      "case.yaml); `wip close` also reads a close workbook (.xlsx) [WRONG_TYPE]")


def test_a_close_file_saved_as_txt_is_still_read(tmp_path, capsys):
    path = tmp_path / "close.txt"
    path.write_text(DEMO_CLOSE.read_text())
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]) == 0


@pytest.mark.parametrize("written, meant", [
    ("36 000,00", "36000.00"), ("36\u00a0000,00", "36000.00"), ("9\u202f450,00", "9450.00"),
    ("36'000.00", "36000.00"), ("$36,000.00", "36000.00 (no currency sign)"),
    ("(9,450.00)", "-9450.00 (a minus sign, not parentheses)"),
])
def test_more_ways_a_locale_writes_numbers_get_the_hint(tmp_path, capsys, written, meant):
    """Spaces (no-break and narrow no-break too, fr_FR) or an apostrophe between thousands, a
    currency sign, parentheses: the value, read back from the message as typed, gets the hint."""
    quoted = '"' + written.replace("\u00a0", "\\u00a0").replace("\u202f", "\\u202f") + '"'
    path = _edited(tmp_path, DEMO_CLOSE, ("      added_costs: {materials: 36000.00, labour: 9450.00}",
                                          f"      added_costs:\n        materials: {quoted}\n        labour: 9450.00"))
    err = _close_errors(capsys, path, tmp_path)
    assert err[0].startswith(f"error: {path}: products[0].stages[0].added_costs.materials: expected a number, found ")
    assert err[0].endswith(f"; {NO_SEPARATORS}: write {meant} [NOT_A_NUMBER]"), err


@pytest.mark.parametrize("start, column", [(b"\xef\xbb\xbfcompany: A M", 13), ("company: A — M".encode(), 15)])
def test_the_column_of_a_bad_byte_counts_characters(tmp_path, capsys, start, column):
    """After a byte-order mark or an em dash on the line the column was 3 too far right (bytes)."""
    path = tmp_path / "close.yaml"
    path.write_bytes(start + "üller\nperiod: 2026-10\n".encode("latin-1"))
    err = _close_errors(capsys, path, tmp_path)
    assert err[0].startswith(f"error: {path}: line 1, column {column}: byte 0xfc is not UTF-8 text"), err


# ---- a locale grouping thousands with '.': 36.000 is not 36.00 ----------------------------------------

def _de_close(tmp_path: Path, added: str, locale: str = "de_DE") -> Path:
    return _edited(tmp_path, DEMO_CLOSE, ("locale: en_US", f"locale: {locale}"),
                   ("added_costs: {materials: 36000.00, labour: 9450.00}", f"added_costs: {added}"))


def test_three_places_under_a_locale_grouping_with_a_dot_are_refused(tmp_path, capsys):
    """`locale: de_DE` and `{materials: 36.000, labour: 9.450}` closed and posted 36.00 and 9.45,
    1000 times too little, without a word."""
    path = _de_close(tmp_path, "{materials: 36.000, labour: 9.450}")
    err = _close_errors(capsys, path, tmp_path)
    assert err == [
        f"error: {path}: products[0].stages[0].added_costs.materials: 36.000 has more decimal places than USD allows "
        "(2): under locale de_DE '.' separates thousands, so this is most likely 36000 — write 36000 if so (close "
        "files take '.' as the decimal point and no thousands separator), or 36.00 [AMOUNT_PRECISION]",
        f"error: {path}: products[0].stages[0].added_costs.labour: 9.450 has more decimal places than USD allows "
        "(2): under locale de_DE '.' separates thousands, so this is most likely 9450 — write 9450 if so (close "
        "files take '.' as the decimal point and no thousands separator), or 9.45 [AMOUNT_PRECISION]",
        "2 problems found; nothing was written."]


def test_three_places_in_the_header_amounts_too(tmp_path, capsys):
    path = _edited(tmp_path, DEMO_CLOSE, ("locale: en_US", "locale: it_IT"))
    text = path.read_text()
    actual = next(line for line in text.splitlines() if "actual:" in line)
    amount = actual.split("actual:")[1].split(",")[0].split("}")[0].strip()
    path.write_text(text.replace(actual, actual.replace(f"actual: {amount}", "actual: 7.500", 1), 1))
    err = _close_errors(capsys, path, tmp_path)
    assert any(": 7.500 has more decimal places than USD allows (2): under locale it_IT" in e for e in err), err


@pytest.mark.parametrize("locale, added", [("en_US", "{materials: 36000.000, labour: 9450.000}"),
                                           ("de_DE", "{materials: 36000.00, labour: 9450.0}"),
                                           ("fr_FR", "{materials: 36000.000, labour: 9450.000}")])
def test_zeros_beyond_the_currencys_places_elsewhere_are_the_same_amount(tmp_path, capsys, locale, added):
    """Only where '.' groups thousands is 36.000 another number: en_US (',' groups), fr_FR (a space
    groups) and two places or fewer under de_DE close as before."""
    path = _de_close(tmp_path, added, locale)
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]) == 0, \
        capsys.readouterr().err


def test_the_fast_path_declines_what_the_general_path_refuses(tmp_path):
    from costing._casefile import read_data_file
    from costing.close._fast import FastResolver
    from costing.close._resolve import resolve_header
    from tests.test_close_fast import general

    for locale, taken in (("de_DE", False), ("en_US", True)):
        # Drip Home: a product the fast path takes (no opening finished goods).
        path = _edited(tmp_path, DEMO_CLOSE, ("locale: en_US", f"locale: {locale}"),
                       ("added_costs: {materials: 9000.00, labour: 2850.00}",
                        "added_costs: {materials: 9.000, labour: 2.850}"))
        data, issues = read_data_file(path)
        assert not issues
        header, q = resolve_header(data, None)
        product = data["products"][2]
        fast, slow = FastResolver(header, None, q)(product), general(product, header, None, q)
        assert (fast is not None, slow is not None) == (taken, taken)
        assert fast == slow


# ---- 36.000 refused only as typed in a close file, and only where thousands can be grouped -----------

def _workbook_with_cost(tmp_path: Path, typed: str) -> Path:
    """The demo workbook under de_DE, Espresso Classic / Assembly / materials (Costs!D4) a text cell."""
    import openpyxl

    from costing.workbook._cli import init_workbook
    from tests.demo_data import demo

    book = init_workbook(tmp_path / "de.xlsx", demo("2026-10"))
    wb = openpyxl.load_workbook(book)
    for row in wb["Settings"].iter_rows(min_row=4):
        if row[0].value == "Locale":
            row[1].value = "de_DE"
    wb["Costs"]["D4"] = typed
    wb.save(book)
    return book


@pytest.mark.parametrize("typed, read", [("36,000", "36.000"), ("36.000,000", "36000.000")])
def test_a_workbook_cell_the_locale_read_is_not_refused_as_grouped(tmp_path, capsys, typed, read):
    """The workbook's locale reads its text cells: `36.000,000` is 36000.000 and `36,000` is 36.000
    under de_DE, neither typed with a '.' between thousands.  The close refused them, advising
    36000000 and 36000 (1000 times the amount)."""
    from costing.workbook import read_close_workbook

    book = _workbook_with_cost(tmp_path, typed)
    data, issues = read_close_workbook(book)
    assert not issues and str(data["products"][0]["stages"][0]["added_costs"]["materials"]) == read
    assert main(["close", str(book), "--period", "2026-10"]) == 0, capsys.readouterr().err


def test_36_000_in_a_json_close_file_is_refused_too(tmp_path, capsys):
    import json

    from tests.demo_data import demo

    data = demo("2026-10") | {"locale": "de_DE"}
    data["products"][0]["stages"][0]["added_costs"]["materials"] = "@"
    path = tmp_path / "close.json"
    path.write_text(json.dumps(data, default=str).replace('"@"', "36.000"))
    err = _close_errors(capsys, path, tmp_path)
    assert "added_costs.materials: 36.000 has more decimal places than USD allows (2): under locale de_DE" in err[0]
    assert "write 36000 if so" in err[0] and len(err) == 2, err


def test_three_places_typed_by_python_code_are_its_amount(tmp_path):
    """Only text read from a close file is known to be typed so: Python code's Decimal("36.000") is 36."""
    from costing.close import resolve_close
    from tests.demo_data import demo

    data = demo("2026-10") | {"locale": "de_DE"}
    data["products"][0]["stages"][0]["added_costs"]["materials"] = Decimal("36.000")
    plan, issues = resolve_close(data, None)
    assert issues == [] and plan is not None


@pytest.mark.parametrize("written", ["36000.000", "1234.000", "0.500", "12.5000"])
def test_three_places_no_thousands_group_could_follow_are_the_amount(tmp_path, capsys, written):
    """`36000.000`, `1234.000` and `0.500` were refused under de_DE ("write 0500"): only 1 to 3 digits,
    a '.', then 3 digits is what that locale writes for a number of thousands."""
    path = _de_close(tmp_path, f"{{materials: {written}, labour: 9450.00}}")
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]) == 0, \
        capsys.readouterr().err


def test_three_places_not_zeros_say_the_grouped_reading_too(tmp_path, capsys):
    """`9.455` under de_DE got only "more decimal places than the currency allows"."""
    path = _de_close(tmp_path, "{materials: 36000.00, labour: 9.455}")
    err = _close_errors(capsys, path, tmp_path)
    assert err == [
        f"error: {path}: products[0].stages[0].added_costs.labour: 9.455 has more decimal places than USD allows "
        "(2): under locale de_DE '.' separates thousands, so this is most likely 9455 — write 9455 if so (close "
        "files take '.' as the decimal point and no thousands separator), or the amount with at most 2 decimal "
        "places [AMOUNT_PRECISION]",
        "1 problem found; nothing was written."]
    path = _de_close(tmp_path, "{materials: 36000.00, labour: 9.455}", "en_US")
    err = _close_errors(capsys, path, tmp_path)
    assert "9.455 has more decimal places than the currency allows (2)" in err[0] and "most likely" not in err[0]


@pytest.mark.parametrize("locale, refused", [("de_DE", True), ("en_US", False)])
def test_materiality_typed_as_grouped_is_refused_units_are_not(tmp_path, capsys, locale, refused):
    """`materiality: 1.000` was taken as 1 under de_DE, and decides write-off or proration.  A
    quantity (here the labour hours overhead is applied on) may have three places: left alone."""
    path = _edited(tmp_path, DEMO_CLOSE, ("locale: en_US", f"locale: {locale}"),
                   ("materiality: 100.00", "materiality: 1.000"),
                   ("driver_quantity: 630 ", "driver_quantity: 630.500 "),
                   ("count: 29 ", "count: 29.000 "))
    if not refused:
        assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]) == 0
        return
    err = _close_errors(capsys, path, tmp_path)
    assert err == [
        f"error: {path}: materiality: 1.000 has more decimal places than USD allows (2): under locale de_DE '.' "
        "separates thousands, so this is most likely 1000 — write 1000 if so (close files take '.' as the decimal "
        "point and no thousands separator), or 1.00 [AMOUNT_PRECISION]",
        "1 problem found; nothing was written."]


def test_a_materiality_finer_than_the_currency_is_refused_as_any_amount(tmp_path, capsys):
    """`materiality: 100.005` in USD was recorded, and the variance audit of the month then refused
    it as if --materiality had been given."""
    path = _edited(tmp_path, DEMO_CLOSE, ("materiality: 100.00", "materiality: 100.005"))
    assert _close_errors(capsys, path, tmp_path) == [
        f"error: {path}: materiality: 100.005 has more decimal places than USD allows (2) [AMOUNT_PRECISION]",
        "1 problem found; nothing was written."]
    assert not (tmp_path / "l.wip.db").exists()


def test_a_close_recorded_before_the_check_is_still_reproduced(tmp_path, capsys, monkeypatch):
    """A de_DE close recorded with `materials: 36.000` (posted 36.00) by an engine before the check:
    `wip report` said NOT_REPRODUCIBLE, the same inputs now refused."""
    import costing.close._resolve as resolve
    from costing._casefile import read_data_file

    path = _de_close(tmp_path, "{materials: 36.000, labour: 9450.00}")
    ledger = tmp_path / "l.wip.db"
    with monkeypatch.context() as before:
        before.setattr(resolve, "read_as_grouped", lambda value, q, locale: False)
        assert main(["close", str(path), "--period", "2026-10", "--ledger", str(ledger)]) == 0
    capsys.readouterr()
    assert main(["report", "--period", "2026-10", "--ledger", str(ledger)]) == 0, capsys.readouterr().err
    data, _ = read_data_file(path)  # the file itself, as typed: a close the ledger holds is computed as it was
    assert resolve.resolve_close(data, None, recorded=True)[1] == []
    assert resolve.resolve_close(data, None)[1][0].code == "AMOUNT_PRECISION"


@pytest.mark.parametrize("command", ["close", "cost"])
def test_a_currency_in_small_letters_is_told_the_code_to_type(tmp_path, capsys, command):
    """`currency: usd` got "expected an ISO 4217 code", leaving the reader to guess what was wrong
    with it; the close workbook already said "type it as USD"."""
    source = DEMO_CLOSE if command == "close" else ROOT / "examples" / "demo" / "case.yaml"
    path = _edited(tmp_path, source, ("currency: USD", "currency: usd"))
    argv = [command, str(path)] + (["--period", "2026-10", "--ledger", str(tmp_path / "l.wip.db")]
                                   if command == "close" else [])
    assert main(argv) == 2
    assert "currency: unknown currency 'usd'; expected an ISO 4217 code in capitals: type it as USD " \
           "[UNKNOWN_CURRENCY]" in capsys.readouterr().err
