"""`wip addin DIR`: write the macro-enabled close workbook and its launcher for Excel users."""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
from pathlib import Path

from costing import Issue
from costing.cli_support import EXIT_INPUT, is_read_only, print_issues

__all__ = ["register"]

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "close-template.xlsx"


def _folder_problem(out_dir: Path, force: bool = False) -> Issue | None:
    """Why ``out_dir`` cannot be the output folder, found before anything is written.  A
    wip_close.xlsm or wip_close.py already there is kept unless ``force``: the workbook may hold a
    filled-in month (``wip init`` refuses an existing workbook the same way)."""
    if out_dir.exists() and not out_dir.is_dir():
        return Issue("CANNOT_WRITE", str(out_dir), "is a file, not a folder; give a folder for wip_close.xlsm and "
                                                   "wip_close.py (it is created if it does not exist)")
    for parent in out_dir.parents:
        if parent.exists():
            if not parent.is_dir():
                return Issue("CANNOT_WRITE", str(out_dir), f"{parent} is a file, not a folder; give a folder for "
                                                           "wip_close.xlsm and wip_close.py")
            break
    names = ("wip_close.xlsm", "wip_close.py")  # excel_addin._xlsm.WORKBOOK_NAME and its launcher
    for name in names:
        target = out_dir / name
        if target.is_dir():
            return Issue("CANNOT_WRITE", str(out_dir), f"{target} is a folder; move it away, or give another folder")
    # FILE_EXISTS before read-only: without --force nothing is replaced, so "make it writable" would
    # only lead the user on to replacing a workbook that may hold a filled-in month.
    if not force:
        existing = [name for name in names if (out_dir / name).exists()]
        if existing:
            lost = "; a close workbook filled in there would be lost" if "wip_close.xlsm" in existing else ""
            return Issue("FILE_EXISTS", str(out_dir / existing[0]),
                         f"exists (use --force to replace {' and '.join(existing)}{lost}), or give another folder")
    for name in names:
        target = out_dir / name
        if target.exists() and is_read_only(target):
            return Issue("CANNOT_WRITE", str(out_dir), f"{target} is read-only; make it writable (chmod u+w, or "
                                                       "clear Read-only in its Properties), or give another folder")
    return None


def _write(out_dir: Path) -> tuple[Path, Path]:
    """Both files built in a staging folder inside ``out_dir``, then moved into it: a failure
    (OSError) leaves neither a half-written file nor the folders this call created."""
    from ._xlsm import build_macro_workbook

    missing = [d for d in (out_dir, *out_dir.parents) if not d.exists()]
    staging = None
    moved: list[Path] = []
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".wip_close.", suffix=".tmp", dir=out_dir))
        built_workbook, built_launcher = build_macro_workbook(TEMPLATE, staging)
        workbook, launcher = out_dir / built_workbook.name, out_dir / built_launcher.name
        # The launcher first: its text never changes, so replacing it changes nothing should the
        # workbook's move fail; a launcher this call added is taken away again then.
        launcher_existed = launcher.exists()
        os.replace(built_launcher, launcher)
        if not launcher_existed:
            moved.append(launcher)
        os.replace(built_workbook, workbook)
        return workbook, launcher
    except BaseException:
        for path in moved:
            try:
                path.unlink()
            except OSError:
                pass
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        for folder in missing:  # deepest first; only the folders this call made, and only if empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _cmd_addin(args: argparse.Namespace) -> int:
    out_dir = Path(args.dir)
    problem = _folder_problem(out_dir, args.force)
    if problem is None:
        try:
            workbook, launcher = _write(out_dir)
        except OSError as e:  # a folder we may not write into, a file in the way, a full disk
            problem = Issue("CANNOT_WRITE", str(out_dir),
                            f"cannot write wip_close.xlsm and wip_close.py into it: {e.strerror or e}; "
                            "give a folder you can write to")
    if problem is not None:
        print_issues([problem], writes=True)
        return EXIT_INPUT
    print(workbook)
    print(launcher)
    print("Open the workbook in Excel, enable macros, then see README 'Excel add-in' for the first function call.")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("addin", help="write the macro-enabled close workbook (wip_close.xlsm) for Excel")
    p.add_argument("dir", help="output directory")
    p.add_argument("--force", action="store_true", help="replace wip_close.xlsm and wip_close.py if they exist")
    p.set_defaults(run=_cmd_addin)
