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

Keys are the case file's (docs/case-file.md), dotted; `stage` starts the next stage.  A key's first
part is read case aside (`Completed`, `Stage`, `Beginning_WIP.units`), as a table's header is; what
follows a dot is not (it may name an element).  Problems are reported with the block row they come
from ("row 9 (completed): ...").
"""

from __future__ import annotations

import functools
from typing import Any

from costing import Issue, NumberError, StageSpec, edit_distance, resolve_case

from ._cells import excel_error, formula_error, is_blank, to_number, to_text
from ._names import is_typo

__all__ = ["parse_block", "locate", "block_outline"]

_TOP = {"currency", "method", "rounding", "loss_convention"}
_ELEMENT_PARTS = ("name", "kind", "added")
# The first parts of keys a misspelt key is compared with, to say which was meant.
# The keys a slip is told (`completd`: completed): a block writes an element `element | NAME | KIND |
# ADDED` (or `elements.NAME.kind`), never `elements` alone, so that is not offered.
_SUGGESTED = tuple(sorted(_TOP | {"stage", "element"} | set(StageSpec.model_fields) - {"name", "elements"}))


def parse_block(block: list[list[Any]]) -> tuple[dict, dict[str, int], list[Issue]]:
    """(case dict, data path -> block row number, issues).

    A blank value is MISSING_VALUE (never the key left out: a blank `spoilage.normal_rate` is not
    "no normal spoilage"); an Excel error anywhere in the block is FORMULA_ERROR, and a value past
    the cells a row's key reads (a key and one value; an element a name, a kind and an addition) is
    BLOCK_EXTRA_VALUE; a key's first part is read case aside (``_folded``); a key that is not a case
    file's is UNKNOWN_KEY at its row (a look-alike of `element` is asked "did you mean element?",
    and the cells past it are not called extra: they are the element's name, kind and addition; a
    look-alike of `stage` still starts a stage, so that the keys below it are not BLOCK_NO_STAGE or
    a duplicate of the stage before; another slip is asked the key meant, when one is near:
    ``_suggestion``); a key given twice (in the same stage) is
    DUPLICATE_ROW at the second row,
    never "the last one wins" — a completion `X` and `X.progress` are the same key (the case file
    reads both as the stage's progress: ``_completions``).
    """
    case: dict[str, Any] = {"currency": "USD", "stages": []}
    rows: dict[str, int] = {}
    issues: list[Issue] = []
    stage: dict[str, Any] | None = None
    seen: dict[str, tuple[int, str]] = {}  # path of a key already given -> its block row and key as written
    progress: list[tuple[int, str, str]] = []  # each completion key given: its block row, key as written, path
    for number, row in enumerate(block, start=1):
        if not row or all(is_blank(c) for c in row):
            continue
        error = excel_error(row[0])
        written = "" if error else to_text(row[0])  # the key as written, for the messages
        key = _folded(written)
        like_element = key != "element" and _like_element(key)
        like_stage = key != "stage" and _like_stage(key)
        # The cells this row's key reads: none past a blank key or an error, so that an error beside
        # it (`| #N/A`) is FORMULA_ERROR as anywhere else, not a row left out as blank.
        width = 4 if key == "element" or like_element else 2 if key else 1
        # A value past them is reported only for a key the block knows: past a misspelt key it is
        # the rest of what the user meant (an element's kind and addition), and the key is the error.
        known = bool(key) and not like_element and not like_stage and _known_key(key)
        issues += _stray(row, number, width, errors_only=not known)
        if error:
            issues.append(Issue("FORMULA_ERROR", f"row {number} (key)", formula_error(error)))
            continue
        if like_element:
            issues.append(Issue("UNKNOWN_KEY", f"row {number} ({written})",
                                f"{written} is not a block key; did you mean element? "
                                "Write `element | NAME | KIND | ADDED`"))
            continue
        if like_stage:  # still a stage: the keys below are its own, not the stage before's nor stageless
            issues.append(Issue("UNKNOWN_KEY", f"row {number} ({written})",
                                f"{written} is not a block key; did you mean stage? Write `stage | NAME`"))
            stage = {"name": "", "elements": {}}
            case["stages"].append(stage)
            continue
        if key and not known:
            meant = _suggestion(key)
            # A slip too far from `element` to be read as one, with a name, kind and addition beside it.
            element_row = meant is None and "." not in key and sum(not is_blank(c) for c in row[1:4]) == 3 \
                and edit_distance(key, "element") <= 3
            issues.append(Issue("UNKNOWN_KEY", f"row {number} ({written})",
                                f"{written} is not a block key; did you mean {meant}? Correct the key" if meant else
                                f"{written} is not a block key; did you mean element? Write `element | NAME | KIND | "
                                "ADDED`" if element_row else
                                f"{written} is not a key of a case file's stage (docs/case-file.md lists them); "
                                "correct the key"))
            continue
        values = list(row[1:width])
        if not key:
            if any(not is_blank(c) and not excel_error(c) for c in row[1:]):
                issues.append(Issue("BLOCK_KEY_MISSING", f"row {number}", "a value without a key in the first column"))
            continue
        where = f"row {number} ({written})"
        if key == "element":
            cells = (values + [None, None, None])[:3]
            bad = _unreadable(cells, [f"row {number} (element {part})" for part in _ELEMENT_PARTS],
                              "give `element | NAME | KIND | ADDED`")
        elif key == "stage":  # a blank name is not a name
            bad = _unreadable(values[:1] or [None], [where], "type the stage's name")
        else:
            bad = _unreadable(values[:1] or [None], [where], "type the value (0 if there is none), or delete the row")
        issues += bad
        if key == "stage":  # even unnamed: the keys below are this stage's, not the one before
            stage = {"name": "" if bad else to_text(values[0]), "elements": {}}
            case["stages"].append(stage)
            rows[f"stages[{len(case['stages']) - 1}]"] = number
            continue
        if bad:
            continue
        if key in _TOP:
            path = key
        elif stage is None:
            issues.append(Issue("BLOCK_NO_STAGE", where, "give a `stage | NAME` row before stage keys"))
            continue
        elif key == "element":
            path = f"stages[{len(case['stages']) - 1}].elements.{to_text(values[0])}"
        else:
            path = f"stages[{len(case['stages']) - 1}].{key}"
        # `cost | 5` and `cost.progress | 3` are one key to ``_set`` (a duplicate); a completion's
        # `complete` and `complete.progress` are told apart once the stage's elements are known
        completion = key != "element" and path.removesuffix(".progress").endswith(".complete")
        same = path if key == "element" or completion else path.removesuffix(".progress")
        if same in seen:
            what = f"element {to_text(values[0])}" if key == "element" else written
            scope = f" of stage {stage['name']}" if key not in _TOP and stage is not None else ""
            first, first_written = seen[same]
            issues.append(_duplicate(where, what, first, first_written, written, scope))
            continue
        seen[same] = number, written
        if completion:
            progress.append((number, written, path))
        rows[path] = number
        try:
            if key in _TOP:
                case[key] = to_text(values[0])
            elif key == "element":
                name, kind, added = (to_text(v) for v in values[:3])
                stage["elements"][name] = {"kind": kind, "added": added if isinstance(values[2], str)
                                           else to_number(values[2])}
            else:
                _set(stage, key.split("."), to_number(values[0]))
        except NumberError as e:  # a date where a number belongs
            issues.append(Issue(e.code, where, e.message))
    return case, rows, issues + _completions(case, progress)


def _duplicate(where: str, what: str, first: int, first_written: str, written: str, scope: str) -> Issue:
    also = f" as {first_written}" if first_written != written else ""
    return Issue("DUPLICATE_ROW", where, f"{what} is already in row {first}{also}{scope}; keep one row and delete "
                                         "the other")


def _completions(case: dict, given: list[tuple[int, str, str]]) -> list[Issue]:
    """The issues of the completion keys ``given`` (each path once, in block order): `X.complete` and
    `X.complete.progress` are one key, the stage's progress (`ending_wip.complete | 0.5` with
    `ending_wip.complete.progress | 0.9` is DUPLICATE_ROW at the second row, never the last one
    wins) — but in a stage with an element named progress, `X.complete.progress` reads as that
    element's completion and is the stage's progress to the case file: RESERVED_NAME, not a
    duplicate, at each such row.  Checked once the block is read, as the element may come after."""
    found: list[Issue] = []
    for number, written, path in given:
        stage = case["stages"][int(path[len("stages["):path.index("]")])]
        base = path.removesuffix(".progress")
        if "progress" in stage["elements"]:
            if base != path:
                found.append(Issue("RESERVED_NAME", f"row {number} ({written})",
                                   f"{written} is read as the stage's progress (progress in a completion always is), "
                                   f"not as the completion of the element named progress of stage {stage['name']}; "
                                   "rename the element (e.g. progress_work) to give it a completion of its own, or "
                                   f"give the stage's progress as {written.removesuffix('.progress')} alone"))
            continue
        first = [(n, w) for n, w, p in given if n < number and p != path and p.removesuffix(".progress") == base]
        if first:
            where, scope = f"row {number} ({written})", f" of stage {stage['name']}"
            found.append(_duplicate(where, written, *first[0], written, scope))
    return found


def block_outline(block: list[list[Any]]) -> tuple[list[tuple[int, bool]], bool]:
    """What a block's keys say of its layout, whatever its values: each stage's element rows and
    whether it receives a transfer (after the first stage, or a ``transferred_in`` key), and whether
    it is under process accounts — read from the rows as written, so that a result can keep its
    shape when a value (an element's kind, the convention itself) is an error or a slip."""
    stages: list[tuple[set[str], list[bool]]] = []  # per stage: its elements' names, [receives a transfer]
    process = False
    for number, row in enumerate(block):
        if not row or all(is_blank(c) for c in row) or excel_error(row[0]):
            continue
        key = _folded(to_text(row[0]))
        values = [c for c in row[1:] if not is_blank(c)]
        if key == "stage" or _like_stage(key):
            stages.append((set(), [bool(stages)]))
        elif key.startswith("normal_loss") or key.startswith("added_units"):
            process = True  # keys only process accounts have: the layout is theirs, whatever the convention says
            if stages and key.startswith("added_units."):
                stages[-1][0].add(key.split(".", 2)[1])  # an element taking units added at its start
        elif not stages:
            if key == "loss_convention" and values:  # an error, or a slip of process_account, is read as one
                process = excel_error(values[0]) is not None or "process" in _folded(to_text(values[0]))
        elif key.startswith("elements."):
            stages[-1][0].add(key.split(".", 2)[1])  # the case file's own spelling: elements.NAME.kind
        elif key == "element" or _like_element(key) or ("." not in key and len(values) >= 3 and not _known_key(key)):
            # An element's row (or a slip of its key, with its name, kind and addition beside it).
            name = row[1] if len(row) > 1 and not is_blank(row[1]) and not excel_error(row[1]) else None
            stages[-1][0].add(to_text(name) if name is not None else f"\0row {number}")
        elif key.startswith("transferred_in"):
            stages[-1][1][0] = True
    return [(len(names), transfer[0]) for names, transfer in stages], process


def _folded(key: str) -> str:
    """``key`` with its first part in lower case: the case file's keys are, and an accountant may well
    type `Completed` or `Stage`.  What follows a dot is left as written: an element's name.

    >>> _folded("Completed"), _folded("STAGE"), _folded("Beginning_WIP.cost.Materials"), _folded("")
    ('completed', 'stage', 'beginning_wip.cost.Materials', '')
    """
    head, dot, rest = key.partition(".")
    return head.casefold() + dot + rest


def _like_stage(key: str) -> bool:
    """A key written for `stage` (`stages`, `stge`, `satge`; not `state` or `status`).

    >>> [_like_stage(k) for k in ("stages", "stge", "satge", "state", "status", "stage_name", "stage.x")]
    [True, True, True, False, False, False, False]
    """
    return "." not in key and (key == "stages" or is_typo(key, "stage"))


def _suggestion(key: str) -> str | None:
    """The key a misspelt ``key`` (first part folded) was likely meant to be: the key with more of its
    parts in lower case (`ending_wip.Complete`; an element's name after them is left as written), or
    a typing slip of a top key or a stage key in its first part (`completd`, `curency`,
    `ending_wp.units`); None when none is near.

    >>> [_suggestion(k) for k in ("ending_wip.Complete", "ending_wip.Complete.Paint", "completd", "curency",
    ...                           "ending_wp.units", "count", "rate")]
    ['ending_wip.complete', 'ending_wip.complete.Paint', 'completed', 'currency', 'ending_wip.units', None, None]
    """
    parts = key.split(".")
    for n in range(2, len(parts) + 1):
        folded = ".".join([p.casefold() for p in parts[:n]] + parts[n:])
        if folded != key and _known_key(folded):
            return folded
    head, dot, rest = key.partition(".")
    slips = [c for c in _SUGGESTED if is_typo(head, c) and (not dot or _known_key(c + dot + rest))]
    return min(slips, key=lambda c: edit_distance(head, c)) + dot + rest if slips else None


def _like_element(key: str) -> bool:
    """A key written for `element` (`Element`, `elements`, `elemnt`): its row holds an element's
    name, kind and addition.  A dotted key (`elements.m.kind`) is the case file's own spelling.

    >>> [_like_element(k) for k in ("Element", "ELEMENTS", "elemnt", "elemnet", "element_x", "elements.m.kind")]
    [True, True, True, True, False, False]
    """
    folded = key.casefold()
    return "." not in key and (folded in ("element", "elements") or is_typo(folded, "element"))


def _known_key(key: str) -> bool:
    """A key the block reads, or one the engine takes in a stage: only then is a value past its cells
    BLOCK_EXTRA_VALUE (the engine is asked on a stage holding only this key: UNKNOWN_KEY or not).

    >>> [_known_key(k) for k in ("completed", "beginning_wip.cost.m", "ending_wip.complete.m", "completd", "Stage")]
    [True, True, True, False, False]
    """
    if key in _TOP or key in ("stage", "element"):
        return True
    return _engine_knows(key)


@functools.lru_cache(maxsize=256)
def _engine_knows(key: str) -> bool:
    stage: dict[str, Any] = {"name": "probe"}
    _set(stage, key.split("."), 0)
    _, issues = resolve_case({"currency": "USD", "method": "fifo", "stages": [stage]})
    return not any(i.code == "UNKNOWN_KEY" for i in issues)


def _stray(row: list[Any], number: int, width: int, errors_only: bool = False) -> list[Issue]:
    """An Excel error anywhere past the cells read is FORMULA_ERROR, any other value BLOCK_EXTRA_VALUE:
    a value the block does not read is not silently left out."""
    issues = []
    for k, cell in enumerate(row[width:], start=width + 1):
        error = excel_error(cell)
        if error:
            issues.append(Issue("FORMULA_ERROR", f"row {number} (column {k} of the block)", formula_error(error)))
        elif not errors_only and not is_blank(cell):
            issues.append(Issue("BLOCK_EXTRA_VALUE", f"row {number} (column {k} of the block)",
                                f"{to_text(cell)!r} is past the cells this row's key reads (a key and one value; an "
                                "element's name, kind and addition); delete it, or keep notes outside the block"))
    return issues


def _unreadable(cells: list[Any], wheres: list[str], hint: str) -> list[Issue]:
    """MISSING_VALUE for each blank cell, FORMULA_ERROR for each Excel error, at ``wheres``."""
    issues = []
    for cell, where in zip(cells, wheres):
        error = excel_error(cell)
        if error:
            issues.append(Issue("FORMULA_ERROR", where, formula_error(error)))
        elif is_blank(cell):
            issues.append(Issue("MISSING_VALUE", where, f"is blank; {hint}"))
    return issues


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
