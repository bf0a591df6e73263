"""``wip init BOOK.xlsx [--demo]``: a new close workbook from the template (registered by cli.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

__all__ = ["register", "init_workbook", "DEMO_FIRST_MONTH"]

DEMO_FIRST_MONTH = Path(__file__).resolve().parents[2] / "examples" / "demo" / "close-2026-10.yaml"


def init_workbook(path: str | Path, data: dict | None = None) -> Path:
    """Write a close workbook from the template, its tables filled from close ``data`` if given."""
    import datetime as dt

    from ._template import fill_tables, input_formats, tables_from_close_data, template_workbook

    wb = template_workbook()
    if data is not None:
        fill_tables(wb, tables_from_close_data(data))
        input_formats(wb, str(data.get("currency", "USD")), str(data.get("locale", "en_US")))
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None, microsecond=0)
    wb.properties.created = wb.properties.modified = now  # a new workbook, not the template's fixed times
    wb.save(tmp)
    tmp.replace(path)
    return path


def _cmd_init(args: argparse.Namespace) -> int:
    from .._casefile import read_data_file

    path = Path(args.book)
    if not str(path).lower().endswith(".xlsx"):
        print(f"error: {path}: a close workbook is an .xlsx file [INVALID_FORMAT]", file=sys.stderr)
        return 2
    if path.exists() and not args.force:
        print(f"error: {path} exists; nothing was written (use --force to replace it) [FILE_EXISTS]", file=sys.stderr)
        return 2
    data = None
    if args.demo:
        data, issues = read_data_file(DEMO_FIRST_MONTH)
        if issues:
            for issue in issues:
                print(f"error: {issue.with_source(str(DEMO_FIRST_MONTH))}", file=sys.stderr)
            return 2
    init_workbook(path, data)
    what = "the demo factory's first month (2026-10)" if args.demo else "empty tables"
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
