"""``wip init BOOK.xlsx [--demo]``: a new close workbook from the template (registered by cli.py)."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._cli_common import EXIT_INPUT, print_issues
from .._errors import Issue

__all__ = ["register", "init_workbook", "DEMO_FIRST_MONTH", "opening_general_ledger"]

DEMO_FIRST_MONTH = Path(__file__).resolve().parents[2] / "examples" / "demo" / "close-2026-10.yaml"


def init_workbook(path: str | Path, data: dict | None = None) -> Path:
    """Write a close workbook from the template, its tables filled from close ``data`` if given.

    The workbook is written beside ``path`` and renamed over it (``replace_atomically``): a failure
    (OSError) leaves no file, and no temporary file, behind; a read-only ``path`` is refused.
    """
    import datetime as dt
    import io

    from .._atomic import replace_atomically
    from ._template import fill_tables, input_formats, tables_from_close_data, template_workbook

    wb = template_workbook()
    if data is not None:
        fill_tables(wb, tables_from_close_data(data))
        input_formats(wb, str(data.get("currency", "USD")), str(data.get("locale", "en_US")))
    path = Path(path)
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    wb.properties.created = wb.properties.modified = now  # a new workbook, not the template's fixed times
    buffer = io.BytesIO()
    wb.save(buffer)
    replace_atomically(path, buffer.getvalue())
    return path


def opening_general_ledger(data: dict) -> dict:
    """The general ledger's balances before the first close when it agrees with the workbook's
    opening tables — each WIP account the opening WIP cost of the stages it holds, finished goods
    the opening layers, overhead control the month's actual overhead — as ``general_ledger``.

    The demo's first month opens from its close file; its GL, taken before October's journals, is
    September's closing positions plus October's overhead incurred: these figures.
    """
    from decimal import Decimal

    accounts = data["accounts"]
    wip = {stage: str(account["code"]) for stage, account in accounts["wip"].items()}
    balances = dict.fromkeys(wip.values(), Decimal(0))
    fg, overhead = str(accounts["finished_goods"]["code"]), str(accounts["overhead_control"]["code"])
    balances.setdefault(fg, Decimal(0))
    balances.setdefault(overhead, Decimal(0))
    for product in data["products"]:
        for stage in product["stages"]:
            cost = (stage.get("beginning_wip") or {}).get("cost") or {}
            balances[wip[stage["name"]]] += sum((Decimal(str(v)) for v in cost.values()), Decimal(0))
        balances[fg] += sum((Decimal(str(layer["cost"])) for layer in product.get("opening_finished_goods") or []),
                            Decimal(0))
    balances[overhead] += sum((Decimal(str(oh["actual"])) for oh in (data.get("overhead") or {}).values()), Decimal(0))
    return {"balances": balances}


def _cannot_write(path: Path, message: str) -> Issue:
    return Issue("CANNOT_WRITE", str(path), message)


def _where_problem(path: Path, force: bool) -> Issue | None:
    """Why the workbook cannot be written at ``path``, found before anything is read or written."""
    if not path.name.lower().endswith(".xlsx"):
        return Issue("INVALID_FORMAT", str(path), "a close workbook is an .xlsx file; give a name ending in .xlsx")
    if path.is_dir():
        return _cannot_write(path, "is a folder, not a workbook file; give a file name for the new workbook "
                                   f"(e.g. {path / 'close.xlsx'})")
    folder = path.parent
    if not folder.exists():
        return _cannot_write(path, f"the folder {folder} does not exist; create it first (mkdir {folder}) or give "
                                   "a path in an existing folder")
    if not folder.is_dir():
        return _cannot_write(path, f"{folder} is a file, not a folder; give a path in an existing folder")
    if path.exists() and not force:
        return Issue("FILE_EXISTS", str(path), "exists (use --force to replace it)")
    return None


def _cmd_init(args: argparse.Namespace) -> int:
    from .._atomic import is_read_only
    from .._casefile import read_data_file

    path = Path(args.book)
    problem = _where_problem(path, args.force)
    if problem is not None:
        print_issues([problem], writes=True)
        return EXIT_INPUT
    data = None
    if args.demo:
        data, issues = read_data_file(DEMO_FIRST_MONTH)
        if issues:
            print_issues([issue.with_source(str(DEMO_FIRST_MONTH)) for issue in issues], writes=True)
            return EXIT_INPUT
        if not data.get("general_ledger"):
            data = {**data, "general_ledger": opening_general_ledger(data)}
    try:
        init_workbook(path, data)
    except OSError as e:  # a folder we may not write into, a read-only BOOK.xlsx (--force), a full disk
        if path.exists() and is_read_only(path):
            message = "cannot replace it: the file is read-only; make it writable (chmod u+w, or clear Read-only " \
                      "in its Properties) or give another path"
        else:
            message = f"cannot write it: {e.strerror or e}; give a path in a folder you can write to"
        print_issues([_cannot_write(path, message)], writes=True)
        return EXIT_INPUT
    what = ("the demo factory's first month (2026-10; its General Ledger table holds the GL's balances before "
            "the close, which agree with the opening tables)") if args.demo else "empty tables"
    print(f"{path}: close workbook created from the template with {what}.")
    period = data["period"] if data else "YYYY-MM"
    print(f"  Next: wip close {path} --period {period}   (ledger: {path.with_suffix('.wip.db')})")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("init", help="create a close workbook (.xlsx) from the template")
    p.add_argument("book", metavar="BOOK.xlsx")
    p.add_argument("--demo", action="store_true", help="fill it with the demo factory's first month")
    p.add_argument("--force", action="store_true", help="replace BOOK.xlsx if it exists")
    p.set_defaults(run=_cmd_init)
