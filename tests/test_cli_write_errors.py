"""Commands that write a file (`wip init`, `wip addin`, `--xlsx` of variance/standards/flow) refuse
a place they cannot write — a folder that does not exist, a folder where a file belongs and the
reverse, a read-only folder or file, a file that is not a workbook — with a located CANNOT_WRITE or
INVALID_FORMAT, exit 2, and nothing written: no file, no temporary file, no folder."""

from __future__ import annotations

import builtins
import errno
import io
import os
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from costing.cli import main

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = ROOT / "examples" / "demo" / "standards.yaml"
ORDERS = ROOT / "examples" / "demo" / "orders.yaml"


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``, hidden ones included."""
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None) for p in sorted(folder.rglob("*"))}


def refused(capsys, code: str, location: str, *words: str) -> str:
    """The one problem printed: located at ``location``, with ``code``, naming ``words``; no traceback."""
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[-1] == "1 problem found; nothing was written.", err
    assert len(lines) == 2 and lines[0].startswith(f"error: {location}: ") and lines[0].endswith(f"[{code}]"), err
    assert "Traceback" not in err and out == ""
    for word in words:
        assert word in lines[0], (word, err)
    return lines[0]


@pytest.fixture
def read_only_folder(monkeypatch, tmp_path):
    """A folder nothing may be created in, renamed into or written in, as for a user without write
    permission (the tests run as root, who ignores mode bits): the calls that create, rename or
    open files for writing raise PermissionError for paths inside it."""
    folder = tmp_path / "read-only"
    folder.mkdir()

    def inside(path) -> bool:
        try:
            return Path(os.path.abspath(os.fsdecode(path))).is_relative_to(folder)
        except TypeError:  # a file descriptor
            return False

    def deny(path):
        raise PermissionError(errno.EACCES, "Permission denied", os.fsdecode(path))

    real_open, real_mkdir, real_replace, real_rename = os.open, os.mkdir, os.replace, os.rename
    real_builtin_open = builtins.open

    def fake_os_open(path, flags, *a, **kw):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            deny(path)
        return real_open(path, flags, *a, **kw)

    def fake_mkdir(path, *a, **kw):
        if inside(path):
            deny(path)
        return real_mkdir(path, *a, **kw)

    def fake_replace(src, dst, *a, **kw):
        if inside(dst):
            deny(dst)
        return real_replace(src, dst, *a, **kw)

    def fake_rename(src, dst, *a, **kw):
        if inside(dst):
            deny(dst)
        return real_rename(src, dst, *a, **kw)

    def fake_open(file, mode="r", *a, **kw):
        if inside(file) and any(c in mode for c in "wax+"):
            deny(file)
        return real_builtin_open(file, mode, *a, **kw)

    monkeypatch.setattr(os, "open", fake_os_open)
    monkeypatch.setattr(os, "mkdir", fake_mkdir)
    monkeypatch.setattr(os, "replace", fake_replace)
    monkeypatch.setattr(os, "rename", fake_rename)
    monkeypatch.setattr(builtins, "open", fake_open)
    monkeypatch.setattr(io, "open", fake_open)
    return folder


# ---- wip init -----------------------------------------------------------------------------------

def test_init_into_a_folder_that_does_not_exist(tmp_path, capsys):
    book = tmp_path / "nodir" / "x.xlsx"
    assert main(["init", str(book)]) == 2
    refused(capsys, "CANNOT_WRITE", str(book), f"the folder {book.parent} does not exist", "create it first")
    assert tree(tmp_path) == {}


def test_init_under_a_file(tmp_path, capsys):
    (tmp_path / "notes").write_text("x")
    book = tmp_path / "notes" / "x.xlsx"
    assert main(["init", str(book), "--demo"]) == 2
    refused(capsys, "CANNOT_WRITE", str(book), "is a file, not a folder")
    assert tree(tmp_path) == {"notes": b"x"}


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_init_onto_a_folder_leaves_no_temporary_file(tmp_path, capsys, force):
    folder = tmp_path / "d.xlsx"
    (folder / "inside.txt").parent.mkdir()
    (folder / "inside.txt").write_text("kept")
    assert main(["init", str(folder), *force]) == 2
    refused(capsys, "CANNOT_WRITE", str(folder), "is a folder, not a workbook file", "close.xlsx")
    assert tree(tmp_path) == {"d.xlsx": None, "d.xlsx/inside.txt": b"kept"}


def test_init_into_a_read_only_folder(read_only_folder, capsys):
    book = read_only_folder / "x.xlsx"
    assert main(["init", str(book), "--demo"]) == 2
    refused(capsys, "CANNOT_WRITE", str(book), "Permission denied", "a folder you can write to")
    assert tree(read_only_folder) == {}


def test_init_force_onto_a_read_only_workbook_keeps_it(tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    assert main(["init", str(book)]) == 0
    capsys.readouterr()
    os.chmod(book, 0o444)
    before = tree(tmp_path)
    assert main(["init", str(book), "--demo", "--force"]) == 2
    refused(capsys, "CANNOT_WRITE", str(book), "read-only", "make it writable")
    assert tree(tmp_path) == before


def test_init_that_fails_while_writing_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    """The disk fills up half-way through the write: no workbook, no temporary file."""
    import costing._atomic

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.f = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(costing._atomic.os, "fdopen", FullDisk)
    book = tmp_path / "x.xlsx"
    assert main(["init", str(book)]) == 2
    refused(capsys, "CANNOT_WRITE", str(book), "No space left on device")
    assert tree(tmp_path) == {}


def test_init_still_refuses_an_existing_file_and_a_name_that_is_not_xlsx(tmp_path, capsys):
    book = tmp_path / "x.xlsx"
    book.write_bytes(b"mine")
    assert main(["init", str(book)]) == 2
    refused(capsys, "FILE_EXISTS", str(book), "--force")
    assert main(["init", str(tmp_path / "x.txt")]) == 2
    refused(capsys, "INVALID_FORMAT", str(tmp_path / "x.txt"), ".xlsx")
    assert tree(tmp_path) == {"x.xlsx": b"mine"}


# ---- wip addin ----------------------------------------------------------------------------------

def test_addin_onto_a_file(tmp_path, capsys):
    target = tmp_path / "FILE"
    target.write_text("mine")
    assert main(["addin", str(target)]) == 2
    refused(capsys, "CANNOT_WRITE", str(target), "is a file, not a folder", "wip_close.xlsm")
    assert tree(tmp_path) == {"FILE": b"mine"}


def test_addin_under_a_file(tmp_path, capsys):
    (tmp_path / "FILE").write_text("mine")
    target = tmp_path / "FILE" / "sub"
    assert main(["addin", str(target)]) == 2
    refused(capsys, "CANNOT_WRITE", str(target), f"{tmp_path / 'FILE'} is a file, not a folder")
    assert tree(tmp_path) == {"FILE": b"mine"}


@pytest.mark.parametrize("sub", ["", "new/deeper"])
def test_addin_into_a_read_only_folder(read_only_folder, capsys, sub):
    target = read_only_folder / sub if sub else read_only_folder
    assert main(["addin", str(target)]) == 2
    refused(capsys, "CANNOT_WRITE", str(target), "Permission denied", "a folder you can write to")
    assert tree(read_only_folder) == {}


def test_addin_that_fails_at_the_last_step_leaves_nothing(tmp_path, capsys, monkeypatch):
    """The workbook cannot be moved into place (the last step): the launcher moved before it, the
    staging folder and the folders made for DIR are all taken away again."""
    real_replace = os.replace

    def fail_on_workbook(src, dst, *a, **kw):
        if str(dst).endswith("wip_close.xlsm") and Path(dst).parent.name == "b":
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", fail_on_workbook)
    target = tmp_path / "a" / "b"
    assert main(["addin", str(target)]) == 2
    refused(capsys, "CANNOT_WRITE", str(target), "Permission denied")
    assert tree(tmp_path) == {}


def test_addin_refuses_a_read_only_workbook_or_a_folder_in_its_place(tmp_path, capsys):
    assert main(["addin", str(tmp_path)]) == 0
    capsys.readouterr()
    os.chmod(tmp_path / "wip_close.xlsm", 0o444)
    before = tree(tmp_path)
    assert main(["addin", str(tmp_path), "--force"]) == 2  # without --force: FILE_EXISTS first
    refused(capsys, "CANNOT_WRITE", str(tmp_path), "wip_close.xlsm is read-only", "make it writable")
    assert tree(tmp_path) == before
    other = tmp_path / "other"
    (other / "wip_close.py").mkdir(parents=True)
    assert main(["addin", str(other)]) == 2
    refused(capsys, "CANNOT_WRITE", str(other), "wip_close.py is a folder")
    assert tree(other) == {"wip_close.py": None}


# ---- --xlsx of wip variance / standards / flow --------------------------------------------------

COMMANDS = {
    "variance": ["variance", "--from", "2026-10", "--to", "2026-11"],
    "standards": ["standards", "--period", "2026-11", "--standards", str(STANDARDS)],
    "flow": ["flow", "--period", "2026-11", "--orders", str(ORDERS)],
}


def _not_a_zip(folder: Path) -> Path:
    path = folder / "junk.xlsx"
    path.write_text("junk\n")
    return path


def _a_zip_but_not_a_workbook(folder: Path) -> Path:
    path = folder / "archive.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("a.txt", "x")
    return path


def _not_named_as_a_workbook(folder: Path) -> Path:
    path = folder / "notes.txt"
    path.write_text("mine")
    return path


def _a_folder(folder: Path) -> Path:
    (folder / "out.xlsx").mkdir()
    return folder / "out.xlsx"


def _a_folder_without_suffix(folder: Path) -> Path:
    (folder / "reports").mkdir()
    return folder / "reports"


def _in_a_missing_folder(folder: Path) -> Path:
    return folder / "nodir" / "x.xlsx"


def _new_but_not_xlsx(folder: Path) -> Path:
    return folder / "report.csv"


TARGETS = {
    "not a zip": (_not_a_zip, "INVALID_FORMAT", ["is not an Excel workbook", "not a zip package"]),
    "zip, not a workbook": (_a_zip_but_not_a_workbook, "INVALID_FORMAT", ["[Content_Types].xml"]),
    "not named .xlsx": (_not_named_as_a_workbook, "INVALID_FORMAT", ["is not an Excel workbook"]),
    "folder .xlsx": (_a_folder, "CANNOT_WRITE", ["is a folder", "give a workbook file"]),
    "folder": (_a_folder_without_suffix, "CANNOT_WRITE", ["is a folder", "give a workbook file"]),
    "missing folder": (_in_a_missing_folder, "CANNOT_WRITE", ["does not exist"]),
    "new, not .xlsx": (_new_but_not_xlsx, "INVALID_FORMAT", ["ending in .xlsx"]),
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("target", TARGETS)
def test_xlsx_that_cannot_take_the_sheets(demo_ledger, tmp_path, capsys, command, target):
    make, code, words = TARGETS[target]
    path = make(tmp_path)
    before = tree(tmp_path)
    assert main([*COMMANDS[command], "--ledger", str(demo_ledger), "--xlsx", str(path), "--json"]) == 2
    refused(capsys, code, "--xlsx", str(path), *words)  # nothing on stdout either: no JSON
    assert tree(tmp_path) == before


@pytest.mark.parametrize("command", COMMANDS)
def test_xlsx_into_a_read_only_folder(demo_ledger, read_only_folder, capsys, command):
    path = read_only_folder / "report.xlsx"
    assert main([*COMMANDS[command], "--ledger", str(demo_ledger), "--xlsx", str(path)]) == 2
    refused(capsys, "CANNOT_WRITE", "--xlsx", str(path), "Permission denied", "a folder you can write to")
    assert tree(read_only_folder) == {}


def test_xlsx_read_only_workbook_says_how_to_fix_it(demo_ledger, tmp_path, capsys):
    book = tmp_path / "book.xlsx"
    wb = Workbook()
    wb.active["A1"] = 1
    wb.save(book)
    os.chmod(book, 0o444)
    before = tree(tmp_path)
    assert main([*COMMANDS["variance"], "--ledger", str(demo_ledger), "--xlsx", str(book)]) == 2
    refused(capsys, "CANNOT_WRITE", "--xlsx", str(book), "is read-only", "make it writable")
    assert tree(tmp_path) == before
