"""Build templates/close-template.xlsx from the table descriptions (``costing.workbook._schema``).

    .venv/bin/python -m costing.workbook.build_template [--out PATH]

The same code and openpyxl version give byte-identical files (fixed document times and zip dates).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ._template import TEMPLATE_PATH, build_template, save_reproducibly


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(TEMPLATE_PATH), help=f"where to write (default {TEMPLATE_PATH})")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_reproducibly(build_template(), out)
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
