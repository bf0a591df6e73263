"""The ``wip`` command line: an adapter over the public ``costing`` API.

User mistakes (bad input files) print located issues and exit 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from . import CostingError, Issue, cost_case, load_case
from ._spec import CaseSpec
from ._text import render_case_report

__all__ = ["main"]

EXIT_INPUT = 2  # the input has problems; nothing was written


def _print_issues(issues: Sequence[Issue]) -> None:
    for issue in issues:
        print(f"error: {issue}", file=sys.stderr)
    noun = "problem" if len(issues) == 1 else "problems"
    print(f"{len(issues)} {noun} found; nothing was written.", file=sys.stderr)


def _cmd_cost(args: argparse.Namespace) -> int:
    reports, issues = [], []
    for path in args.files:
        try:
            reports.append((path, cost_case(load_case(path))))
        except CostingError as e:
            issues.extend(i if i.source else i.with_source(path) for i in e.issues)
    if issues:
        _print_issues(issues)
        return EXIT_INPUT
    if args.json:
        json.dump([r.model_dump(mode="json") for _, r in reports], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        sys.stdout.write("\n".join(render_case_report(r, locale=args.locale, title=f"== {p} ==")
                                   for p, r in reports))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    schema = CaseSpec.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "WIP costing case file"
    json.dump(schema, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="wip", description="WIP process costing and month-end close.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("cost", help="print the production cost report of case files")
    p.add_argument("files", nargs="+", metavar="FILE", help="case files (YAML or JSON)")
    p.add_argument("--json", action="store_true", help="print a JSON array, one object per file")
    p.add_argument("--locale", default="en_US", help="locale for numbers in the text report (default en_US)")
    p.set_defaults(run=_cmd_cost)

    p = sub.add_parser("schema", help="print the JSON schema of the case file")
    p.set_defaults(run=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except BrokenPipeError:  # output piped into `head` and the like: not an error
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
