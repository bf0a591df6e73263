"""A stage block: a 2-D range of `key | value` rows that spells a case file, so that one cell
formula can cost a stage (or a chain of stages) laid out on a worksheet.

    currency                   | USD
    method                     | fifo
    stage                      | Assembly
    element                    | materials  | material   | start
    element                    | conversion | conversion | evenly
    beginning_wip.units        | 225
    beginning_wip.complete     | 0.6
    beginning_wip.cost.materials | 18000
    started                    | 275
    completed                  | 400
    ending_wip.units           | 100
    ending_wip.complete        | 0.5
    added_costs.materials      | 19800

Keys are the case file's (docs/case-file.md), dotted; `stage` starts the next stage.  Problems
are reported with the block row they come from ("row 9 (completed): ...").
"""

from __future__ import annotations

from typing import Any

from costing import Issue

from ._cells import to_number, to_text

__all__ = ["parse_block", "locate"]

_TOP = {"currency", "method", "rounding", "loss_convention"}


def parse_block(block: list[list[Any]]) -> tuple[dict, dict[str, int], list[Issue]]:
    """(case dict, data path -> block row number, issues)."""
    case: dict[str, Any] = {"currency": "USD", "stages": []}
    rows: dict[str, int] = {}
    issues: list[Issue] = []
    stage: dict[str, Any] | None = None
    for number, row in enumerate(block, start=1):
        if not row or all(c in (None, "") for c in row):
            continue
        key = to_text(row[0])
        values = [c for c in row[1:]]
        value = to_number(values[0]) if values else None
        if not key:
            issues.append(Issue("BLOCK_KEY_MISSING", f"row {number}", "a value without a key in the first column"))
            continue
        if key in _TOP:
            case[key] = to_text(values[0]) if values else ""
            rows[key] = number
        elif key == "stage":
            stage = {"name": to_text(values[0]) if values else f"Stage {len(case['stages']) + 1}", "elements": {}}
            case["stages"].append(stage)
            rows[f"stages[{len(case['stages']) - 1}]"] = number
        elif stage is None:
            issues.append(Issue("BLOCK_NO_STAGE", f"row {number} ({key})", "give a `stage | NAME` row before stage keys"))
        elif key == "element":
            name, kind, added = (to_text(v) for v in (values + [None, None, None])[:3])
            stage["elements"][name] = {"kind": kind, "added": to_number(values[2]) if len(values) > 2 and
                                       not isinstance(values[2], str) else added}
            rows[f"stages[{len(case['stages']) - 1}].elements.{name}"] = number
        else:
            _set(stage, key.split("."), value)
            rows[f"stages[{len(case['stages']) - 1}].{key}"] = number
    return case, rows, issues


def _set(target: dict, path: list[str], value: Any) -> None:
    for part in path[:-1]:
        nested = target.get(part)
        if not isinstance(nested, dict):  # e.g. complete: 0.6 then complete.materials: 1
            nested = {} if nested is None else {"progress": nested}
            target[part] = nested
        target = nested
    leaf = path[-1]
    if isinstance(target.get(leaf), dict):
        target[leaf]["progress"] = value
    else:
        target[leaf] = value


def locate(issue: Issue, rows: dict[str, int]) -> Issue:
    """Point an engine issue at the block row it came from (the longest matching path)."""
    path = issue.path
    while path:
        if path in rows:
            return Issue(issue.code, f"row {rows[path]} ({issue.path})", issue.message)
        path = path.rsplit(".", 1)[0] if "." in path else ""
    return issue
