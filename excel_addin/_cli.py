"""`wip addin DIR`: write the macro-enabled close workbook and its launcher for Excel users."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register"]

TEMPLATE = Path(__file__).resolve().parent.parent / "templates" / "close-template.xlsx"


def _cmd_addin(args: argparse.Namespace) -> int:
    from ._xlsm import build_macro_workbook

    workbook, launcher = build_macro_workbook(TEMPLATE, args.dir)
    print(workbook)
    print(launcher)
    print("Open the workbook in Excel, enable macros, then see README 'Excel add-in' for the first function call.")
    return 0


def register(subparsers) -> None:
    p = subparsers.add_parser("addin", help="write the macro-enabled close workbook (wip_close.xlsm) for Excel")
    p.add_argument("dir", help="output directory")
    p.set_defaults(run=_cmd_addin)
