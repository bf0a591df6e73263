"""From what the user wrote (``CaseSpec``) to what the engine computes on (``Case``).

``resolve_case(data)`` returns ``(case, issues)``: ``case`` is None when there is any issue.  All
problems are collected — every stage is checked even when an earlier one is wrong — and each is
located by the path of the offending value (``stages[1].ending_wip.complete.conversion``).
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext
from typing import Any, Callable, Collection, Mapping

from pydantic import ValidationError

from ._currency import is_known_currency, quantum, unknown_currency_text
from ._engine import (cost_resolved_case, element_completion, equivalent_units, normal_spoilage_from_rate,
                      units_passing_inspection, zero_equivalent_units)
from ._errors import CostingError, Issue, as_written, format_path
from ._journal import name_problem, printed_alike, printed_as
from ._model import (
    PROGRESS,
    TRANSFERRED_IN,
    Case,
    Element,
    ElementKind,
    LossConvention,
    Method,
    NormalLoss,
    Spoilage,
    Stage,
    UnitGroup,
)
from ._numbers import EXACT_UNITS, percent_text
from ._spec import CaseSpec, StageSpec
from ._spelling import likely_meant

__all__ = ["resolve_case", "cost_problems", "in_stage_order", "issues_from_validation_error", "parse_sections",
           "negative_amount", "negative_units", "revalidated_without_amounts", "revalidated_with_stand_ins",
           "is_stage_amount", "in_file_order"]

# Branch names pydantic puts into error locations for tagged unions; not part of the user's path.
_UNION_TAGS = frozenset({"<number>", "<map>"})

_ZERO = Decimal(0)
_ONE = Decimal(1)
_POINTS = {"start": _ZERO, "end": _ONE}
_KINDS = {kind.value: kind for kind in ElementKind}  # ElementKind(value), without the enum call
# How units were added and compared before they were exact: in Python's default context, 28
# significant digits.  A close the ledger holds was accepted so, and is computed again so
# (``resolve_case``'s ``recorded``): units that balanced to 28 digits gave the journals recorded.
_RECORDED_UNITS = Context(prec=28, rounding=ROUND_HALF_EVEN)
# Elements are immutable values: every stage that receives units shares this one.
_TRANSFERRED_IN_ELEMENT = Element(TRANSFERRED_IN, ElementKind.TRANSFERRED_IN, _ZERO)


# Where a file's keys are listed, by kind of file: said with an unknown key.
KEYS_HINT = {"case": "`wip schema` lists the keys this section takes",
             "close": "`wip schema --close` lists the keys this section takes",
             "standards": "`wip standards --schema` lists the keys this section takes",
             "orders": "an order takes product, units, due and id (docs/variance.md)",
             "orders file": "an orders file holds only orders: [{product, units, due, id}, ...] (docs/variance.md)"}


def issues_from_validation_error(error: ValidationError, prefix: tuple = (), what: str = "case",
                                 top_level_keys: Collection[str] = ()) -> list[Issue]:
    """Turn pydantic's errors into located issues with stable codes (``what``: the kind of file,
    for the hint that comes with an unknown key; ``top_level_keys``: the keys the file's top level
    takes, for a "did you mean" of an optional one misspelt)."""
    issues = []
    errors = error.errors(include_url=False)
    # A required key missing beside an unknown one is most often the same key misspelt or in other
    # capitals ('curency', 'Method'): the unknown key says so.
    missing: dict[tuple, list[str]] = {}
    for err in errors:
        loc = tuple(part for part in err["loc"] if part not in _UNION_TAGS)
        if err["type"] == "missing" and loc and isinstance(loc[-1], str):
            missing.setdefault(loc[:-1], []).append(loc[-1])
    for err in errors:
        loc = prefix + tuple(part for part in err["loc"] if part not in _UNION_TAGS)
        kind = err["type"]
        found = err.get("input")
        if kind == "extra_forbidden":
            parent = loc[len(prefix):-1]
            meant = likely_meant(str(loc[-1]), missing.get(parent, []))
            if meant is not None:
                hint = f"did you mean {meant!r} (required, and missing)?"
            elif not parent and top_level_keys and (meant := likely_meant(str(loc[-1]), top_level_keys)):
                hint = f"did you mean {meant!r}?"
            else:
                hint = KEYS_HINT[what]
            issues.append(Issue("UNKNOWN_KEY", format_path(loc), f"unknown key {loc[-1]!r}; {hint}"))
        elif kind == "missing":
            issues.append(Issue("MISSING_KEY", format_path(loc), f"required key {loc[-1]!r} is missing"))
        elif kind in ("literal_error", "enum"):
            expected = err.get("ctx", {}).get("expected", "")
            issues.append(Issue("INVALID_CHOICE", format_path(loc), f"expected {expected}, found {as_written(found)}"))
        elif kind.isupper():  # our own codes, raised by the Number/Fraction validators
            issues.append(Issue(kind, format_path(loc), err["msg"]))
        elif kind in ("model_type", "dict_type", "model_attributes_type"):
            issues.append(Issue("WRONG_TYPE", format_path(loc), f"expected a mapping of keys, found {as_written(found)}"))
        elif kind == "list_type":
            issues.append(Issue("WRONG_TYPE", format_path(loc), f"expected a list, found {as_written(found)}"))
        elif kind == "string_pattern_mismatch":
            issues.append(Issue("INVALID_FORMAT", format_path(loc),
                                f"expected {'YYYY-MM' if loc and loc[-1] == 'period' else 'another format'}, found {as_written(found)}"))
        elif kind == "string_type" and loc and loc[-1] == "period":  # period: 202610, a month typed as a number
            issues.append(Issue("WRONG_TYPE", format_path(loc),
                                f'expected a month YYYY-MM (e.g. "2026-10"), found {as_written(found)}'))
        elif kind == "string_type":
            issues.append(Issue("WRONG_TYPE", format_path(loc), f"expected text, found {as_written(found)}"))
        else:
            issues.append(Issue("WRONG_TYPE", format_path(loc), f"{err['msg'].lower()}, found {as_written(found)}"))
    return issues


def resolve_case(data: Any, vouched: frozenset[str] | set[str] = frozenset(), *,
                 recorded: bool = False,
                 progress_stages: frozenset[str] = frozenset(),
                 costs_known_before: int | None = None) -> tuple[Case | None, list[Issue]]:
    """Validate and resolve a case given as a mapping (parsed YAML/JSON) or a ``CaseSpec``.
    ``vouched``: stage names a close the ledger holds was accepted with, checked as they were then
    (``name_problem(..., vouched=True)``), so that a ledger recorded before a rule on names was
    tightened is still read and closed onwards.
    ``recorded``: the stages are a close the ledger holds, computed again (``resolve_close``'s
    ``recorded``): their units are added and compared as the engine that recorded it did (to 28
    significant digits, not exactly), and a normal loss given in units is not held to the units to
    account for (that engine costed it), so that the recorded month still computes.
    ``progress_stages``: stages whose element named ``progress`` the ledger holds (a close's opening
    WIP, recorded before the name was reserved): accepted there only.
    ``costs_known_before``: the first stage whose costs are not known as written (a close's refused
    overhead pool or money amount, reported by the caller): with other problems, the stages before it
    are still costed for what compares costs (``cost_problems``), it and those after it are not."""
    if isinstance(data, CaseSpec):
        header, stage_specs, issues = data, list(data.stages), []
    else:
        header, stage_specs, issues = parse_sections(data, CaseSpec, "stages", StageSpec, "case")
    if issues and isinstance(data, Mapping) and isinstance(data.get("stages"), list):
        # A stage whose only refused values are money amounts is still checked for everything else
        # (its units above all); the amounts' own problems are reported already.  Its costs are
        # not known: no comparison of costs is made from it (nor from the stages it transfers to).
        refused = [index for index, spec in enumerate(stage_specs) if spec is None]
        if refused:
            costs_known_before = refused[0] if costs_known_before is None else min(refused[0], costs_known_before)
        stage_specs = [spec if spec is not None else revalidated_without_amounts(StageSpec, raw, is_stage_amount)
                       for spec, raw in zip(stage_specs, data["stages"])]
    if header is None:
        if not any(stage_specs):
            return None, issues
        # The header is refused (reported above); the stages are still checked, so every problem
        # shows at once.  Weighted-average is the lenient stand-in: FIFO's own checks are not run
        # on a guess.
        header = _stand_in_header(data)
        reported = {i.path for i in issues}  # a currency pydantic refused is not reported again
        # Nor are costs compared on a guessed method, rounding or convention (``costs_known_before=0``);
        # with another part of the header refused (a typo'd key), the stand-in is the header as written.
        guessed = any(i.path.split(".")[0] in _COSTING_HEADER for i in issues)
        known = 0 if guessed else costs_known_before
        # A stage whose shape is refused stays in its place (as None, reported above): every later
        # stage keeps its own index in its problems' paths, and the stage after it is not taken for
        # a first stage nor compared with the units of the stage before the refused one.
        case, stage_issues = resolve_case(CaseSpec.model_construct(**header, stages=stage_specs), vouched,
                                          recorded=recorded, progress_stages=progress_stages,
                                          costs_known_before=known)
        issues = [*issues, *(i for i in stage_issues if i.path not in reported)]
        if case is not None and known != 0:
            # The stages before ``known`` are in order and none of them refused (``known`` is at most
            # the first refused stage): what compares their costs is said with the header's problems.
            issues = in_stage_order(issues, cost_problems(replace(case, stages=case.stages[:known])))
        return None, in_file_order(issues)

    currency = header.currency
    if not (len(currency) == 3 and currency.isalpha() and currency.isupper() and is_known_currency(currency)):
        issues.append(Issue("UNKNOWN_CURRENCY", "currency", unknown_currency_text(currency)))
        q = None
    else:
        q = quantum(currency)
    method = Method(header.method)
    convention = LossConvention(header.loss_convention)

    if not stage_specs and not any(i.path == "stages" for i in issues):  # missing or not a list: said once
        issues.append(Issue("NO_STAGES", "stages", "a case needs at least one stage"))

    seen: dict[str, int] = {}
    printed: dict[str, str] = {}  # each name as it prints -> the stage name so printed first
    stages: list[Stage | None] = []
    previous_completed: Decimal | None = None
    for index, spec in enumerate(stage_specs):
        path = f"stages[{index}]"
        if spec is None:
            stages.append(None)
            previous_completed = None
            continue
        problem = name_problem(spec.name, vouched=spec.name in vouched)
        if problem:
            issues.append(Issue("INVALID_NAME", f"{path}.name", f"stage name {spec.name!r} {problem}"))
        if spec.name in seen:
            issues.append(Issue("DUPLICATE_STAGE", f"{path}.name",
                                f"stage name {spec.name!r} is already used by stages[{seen[spec.name]}]; "
                                "stage names must be unique"))
        elif printed_as(spec.name) in printed and spec.name not in vouched:  # a recorded close is read as it was
            other = printed[printed_as(spec.name)]
            issues.append(Issue("DUPLICATE_STAGE", f"{path}.name", f"stage name {spec.name!r} prints as "
                                f"stages[{seen[other]}]'s {other!r} {printed_alike(spec.name, other)}"))
        else:
            seen[spec.name] = index
            printed[printed_as(spec.name)] = spec.name
        stage, stage_issues = _resolve_stage(spec, index, previous_completed, method, q, convention, recorded,
                                             progress_vouched=spec.name in progress_stages)
        issues.extend(i.under(path) for i in stage_issues)
        stages.append(stage)
        # A negative completed is reported here; the next stage receiving it would only restate it
        # at a key the file does not hold (transferred_in.units).
        previous_completed = spec.completed if spec.completed >= 0 else None

    if issues:
        # What compares costs (a disposal or scrap value with the cost it reduces) is found as the
        # stages are costed: the stages in order and sound, up to the first with a problem or
        # without known costs, are costed now, so that it is said with the other problems.  A later
        # stage receives the cost of the one before, which is not known: it is held back.
        known = len(stages) if costs_known_before is None else min(costs_known_before, len(stages))
        sound = []
        for stage in stages[:known]:
            if stage is None:
                break
            sound.append(stage)
        if sound and q is not None:
            found = cost_problems(Case(currency=currency, quantum=q, method=method, rounding=header.rounding,
                                       stages=tuple(sound), loss_convention=convention))
            issues = in_stage_order(issues, found)
        return None, in_file_order(issues)
    return Case(currency=currency, quantum=q, method=method, rounding=header.rounding,
                stages=tuple(s for s in stages if s is not None), loss_convention=convention), []


def _stage_index(path: str) -> int | None:
    """The stage a problem is located in (``stages[2].spoilage...`` -> 2), None if in none."""
    if not path.startswith("stages["):
        return None
    return int(path[len("stages["):path.index("]")])


_ITEM_PATH = re.compile(r"(?:products\[(\d+)\])?\.?(?:stages\[(\d+)\])?")


def in_file_order(issues: list[Issue]) -> list[Issue]:
    """``issues`` with those located in a product or stage put in the file's order of products and
    stages (a product's name first, its stages in turn, then the rest of it), each in the place one
    of them held: the others stay where they are, and problems of one stage keep their order.

    >>> [i.path for i in in_file_order([Issue("A", "stages[2].completed", ""), Issue("B", "currency", ""),
    ...                                  Issue("C", "stages[1]", ""), Issue("D", "stages[1].x", "")])]
    ['stages[1]', 'currency', 'stages[1].x', 'stages[2].completed']
    >>> [i.path for i in in_file_order([Issue("A", "products[1].shipments", ""), Issue("B", "products[1].stages[0]", ""),
    ...                                  Issue("C", "products[0].stages[3]", ""), Issue("D", "products[1].name", "")])]
    ['products[0].stages[3]', 'products[1].name', 'products[1].stages[0]', 'products[1].shipments']
    """
    def key(issue: Issue) -> tuple[int, int]:
        m = _ITEM_PATH.match(issue.path)
        product, stage = m[1], m[2]
        if stage is not None:
            return (int(product) if product is not None else -1, int(stage))
        rest = issue.path[m.end():].lstrip(".")
        return int(product), (-1 if rest in ("", "name") or rest.startswith("name.") else 1 << 30)

    slots = [k for k, issue in enumerate(issues) if (m := _ITEM_PATH.match(issue.path)) and (m[1] or m[2])]
    ordered = sorted((issues[k] for k in slots), key=key)  # stable: a stage's problems keep their order
    out = list(issues)
    for k, issue in zip(slots, ordered):
        out[k] = issue
    return out


def in_stage_order(issues: list[Issue], found: list[Issue]) -> list[Issue]:
    """``issues`` with each of ``found`` (located in a stage) put after the problems of its stage and
    of those before it, before those of later stages: every problem in file order.

    >>> [i.path for i in in_stage_order([Issue("A", "currency", ""), Issue("B", "stages[1]", "")],
    ...                                 [Issue("C", "stages[0].spoilage", "")])]
    ['currency', 'stages[0].spoilage', 'stages[1]']
    """
    merged = list(issues)
    for issue in found:
        stage = _stage_index(issue.path)
        later = (k for k, other in enumerate(merged)
                 if stage is not None and (_stage_index(other.path) or -1) > stage)  # stages[0]: never later
        merged.insert(next(later, len(merged)), issue)
    return merged


def cost_problems(case: Case) -> list[Issue]:
    """The problems found costing ``case`` (``DISPOSAL_EXCEEDS_COST``, ``SCRAP_EXCEEDS_COST``, ...),
    located by stage: for a case (or the sound stages of one) whose file has other problems, so that
    every problem is said at once.  The report itself is not used."""
    try:
        cost_resolved_case(case)
    except CostingError as e:
        return list(e.issues)
    return []


# The header fields costs are computed with: refused, no cost is compared on a stand-in for them.
_COSTING_HEADER = frozenset({"currency", "method", "rounding", "loss_convention"})


def _units(value: Decimal) -> str:
    """Units as a person writes them: 3, not 3.00 (normal spoilage from a rate carries places)."""
    return format(value.normalize(), "f") if value else "0"


def _stand_in_header(data: Mapping) -> dict:
    """The case header's fields that are valid as written, the lenient default for the others."""
    stand_in = {"currency": "XXX", "method": "weighted_average", "rounding": "half_up", "loss_convention": "spoilage"}
    allowed = {"method": ("weighted_average", "fifo"), "rounding": ("half_up", "half_even"),
               "loss_convention": ("spoilage", "process_account")}
    if isinstance(data.get("currency"), str):  # checked (and reported when unknown) as written
        stand_in["currency"] = data["currency"]
    for key, values in allowed.items():
        if data.get(key) in values:
            stand_in[key] = data[key]
    return stand_in


def parse_sections(data: Any, header_model: type, key: str, item_model: type, what: str) -> tuple[Any, list, list[Issue]]:
    """Check shape: the header once, then each item of the list under ``key`` on its own, so one
    bad item hides nothing.  Returns (header or None, items with None for bad ones, issues)."""
    if data is None:
        return None, [], [Issue("WRONG_TYPE", "", f"the file is empty; expected a mapping of {what} keys")]
    if not isinstance(data, Mapping):
        return None, [], [Issue("WRONG_TYPE", "", f"expected a mapping of {what} keys, found {type(data).__name__}")]
    issues: list[Issue] = []
    raw_items = data.get(key)
    if raw_items is None and key in data:
        raw_items = []  # written but empty (``stages:``): the caller says a case needs at least one
    try:
        header = header_model.model_validate({**{k: v for k, v in data.items() if k != key}, key: []})
    except ValidationError as e:
        header = None
        issues.extend(issues_from_validation_error(e, what=what, top_level_keys=header_model.model_fields))
    if raw_items is None:
        issues.append(Issue("MISSING_KEY", key, f"required key {key!r} is missing"))
        raw_items = []
    elif not isinstance(raw_items, list):
        dashed = isinstance(raw_items, Mapping) and any(str(k).startswith("-") for k in raw_items)
        issues.append(Issue("WRONG_TYPE", key, f"expected a list of {key}, found {type(raw_items).__name__}" + (
            f" — a `-` with no space after it (`{next(str(k) for k in raw_items if str(k).startswith('-'))}:`) "
            "makes a key, not a list item: write `- ` and then the key" if dashed else "")))
        raw_items = []
    items: list = []
    for index, raw in enumerate(raw_items):
        try:
            items.append(item_model.model_validate(raw))
        except ValidationError as e:
            items.append(None)
            issues.extend(issues_from_validation_error(e, (key, index), what, item_model.model_fields))
    return header, items, issues


def is_stage_amount(loc: tuple) -> bool:
    """Whether a location in a stage (as pydantic gives it) is a money amount: a cost or a value per
    lost unit, which no check of units, names or other amounts depends on."""
    match loc:
        case ("added_costs", str()) | ("beginning_wip", "cost", str()) | ("transferred_in", "cost") \
                | ("spoilage", "disposal_value") | ("normal_loss", "scrap_value"):
            return True
    return False


def revalidated_without_amounts(model: type, raw: Any, is_amount: Callable[[tuple], bool]) -> Any | None:
    """``raw`` (refused by ``model``) validated again with each refused money amount taken as zero,
    so that what does not depend on it is still checked; None when anything else is refused too.

    The caller has reported the amounts' problems; what it resolves from the result is never used
    but to find the other problems (a zero in place of a cost must not reach a comparison of costs).
    """
    checked = revalidated_with_stand_ins(model, raw, is_amount, amounts_only=True)
    return None if checked is None else checked[0]


_SCALAR = (str, int, float, Decimal, bool, type(None))


def revalidated_with_stand_ins(model: type, raw: Any, is_amount: Callable[[tuple], bool], amounts_only: bool = False
                               ) -> tuple[Any, dict[int, frozenset[tuple]]] | None:
    """``raw`` (a product of a close file, refused by ``model``) validated again with a stand-in for
    each refused value: a money amount taken as zero (``revalidated_without_amounts``), and in a
    stage a value that is not one — units that are not a number, a word not among those allowed,
    a key missing or one the stage does not take — by zero, the allowed word most like it, or left
    out.  Returns the product and, by stage, the values stood in for (their place in the stage), so
    that the caller checks the product's other stages and holds back what reads those values; None
    when a refusal is not of one value in a stage (a list where a mapping belongs, a stage's name).

    As with amounts, nothing resolved from the stand-ins is ever used but to find the other problems.
    ``amounts_only``: None as soon as a refused value is not a money amount.
    """
    try:
        model.model_validate(raw)
        return None
    except ValidationError as e:
        errors = e.errors(include_url=False)
    patched = copy.deepcopy(raw)
    stood_in: dict[int, set[tuple]] = {}
    for err in errors:
        loc = tuple(part for part in err["loc"] if part not in _UNION_TAGS)
        container = patched
        try:
            for part in loc[:-1]:
                container = container[part]
        except (KeyError, IndexError, TypeError):
            return None
        if not loc or not isinstance(container, dict):
            return None
        if is_amount(loc):
            container[loc[-1]] = 0
            continue
        if amounts_only:
            return None
        match loc:
            case ("stages", int(j), *in_stage) if in_stage and in_stage[-1] != "name":
                pass
            case _:
                return None
        if err["type"] == "extra_forbidden":
            container.pop(loc[-1], None)
        elif err["type"] == "literal_error":
            allowed = re.findall(r"'([^']*)'", (err.get("ctx") or {}).get("expected", ""))
            if not allowed:
                return None
            typed = err.get("input")
            container[loc[-1]] = (likely_meant(typed, allowed) if isinstance(typed, str) else None) or allowed[0]
        elif err["type"] == "missing" or isinstance(err.get("input"), _SCALAR):
            container[loc[-1]] = 0
        else:
            return None
        stood_in.setdefault(j, set()).add(tuple(in_stage))
    try:
        return model.model_validate(patched), {j: frozenset(values) for j, values in stood_in.items()}
    except ValidationError:
        return None


def _fifo_beginning_left(spec: StageSpec, elements: list[Element], beginning, ending, b_units: Decimal,
                         e_units: Decimal, input_units: Decimal | None, spoiled_units: Decimal | None,
                         process_account: bool, completions_read: bool, receives_transfer: bool) -> list[Issue]:
    """Under FIFO, fewer units completed than were in beginning WIP.  Costed when it is an idle
    line — nothing started or received, nothing spoiled or lost: ending WIP is then the beginning
    units not completed, at the progress the file gives, and they keep their share of beginning
    WIP's cost (``beginning_cost_completed``).  Refused otherwise, and when that progress is behind
    the beginning units' own (work cannot be undone) — compared only when both completions were
    read and ending WIP is those units (otherwise the problem reported is that one)."""
    spoiled_now = spoiled_units or _ZERO
    left = b_units - spec.completed
    head = (f"{spec.name}: FIFO completes beginning WIP first, but only {spec.completed} of its {b_units} beginning "
            "units were completed, ")
    if input_units is None:
        return []  # the missing input is reported already
    advice = "; use method: weighted_average for this period or check the units"
    if process_account:
        return [Issue("FIFO_BEGINNING_NOT_COMPLETED", "completed", head + (
            f"and the other {left} are not: under loss_convention: process_account FIFO is costed only when "
            "beginning WIP is completed" + advice))]
    if input_units:
        return [Issue("FIFO_BEGINNING_NOT_COMPLETED", "completed", head + (
            "so part of beginning WIP is in ending WIP" + (" or spoiled" if spoiled_now else "")
            + f" beside units {'received' if receives_transfer else 'started'} this period, at one progress the "
            "file gives for both" + advice))]
    if spoiled_now:
        where = ("were spoiled" if not e_units else
                 f"are still in process ({e_units.normalize():f}) or were spoiled ({spoiled_now.normalize():f})")
        return [Issue("FIFO_BEGINNING_NOT_COMPLETED", "completed", head + (
            f"and the other {left} {where}: this engine costs FIFO with beginning units left only when none "
            "was spoiled" + advice))]
    if not completions_read or e_units != left:
        return []  # a completion or the unit flow is refused already: that is the problem to fix
    return _ending_behind_beginning(spec, elements, beginning, ending, e_units, "FIFO")


def _ending_behind_beginning(spec: StageSpec, elements: list[Element], beginning, ending, e_units: Decimal,
                             method: str) -> list[Issue]:
    """ENDING_WIP_BEHIND_BEGINNING on an idle line (nothing started or received, nothing spoiled):
    ending WIP is the beginning units not completed, and the progress the file gives them is behind
    what they had at the start of the period.  Under weighted average too: the costing would take
    it (an average hides it), but this month's work on those units would be negative (the variance
    bridge's equivalent units of work below zero, a negative cost per EU)."""
    given = spec.ending_wip.complete if spec.ending_wip is not None else None
    lead = f"{spec.name}: with nothing started or received, ending WIP is {e_units.normalize():f} of the beginning units, "
    tail = f" ({method}): work done cannot go backwards; check ending_wip's completion or the units"
    # The stage's progress as typed first, where an element takes it: an element added at a point
    # reads 1 or 0 of it, and a progress gone back across no point would pass unseen there.
    takes_progress = any(el.kind is not ElementKind.TRANSFERRED_IN and not (isinstance(given, dict) and el.name in given)
                         for el in elements)
    if takes_progress and beginning.progress is not None and ending.progress is not None \
            and ending.progress < beginning.progress:
        return [Issue("ENDING_WIP_BEHIND_BEGINNING",
                      "ending_wip.complete.progress" if isinstance(given, dict) else "ending_wip.complete",
                      lead + f"{ending.progress.normalize():f} complete where they began "
                      f"{beginning.progress.normalize():f} complete" + tail)]
    issues = []
    for el in elements:  # completions given element by element (or carried so from the month before)
        name = el.name
        before, after = beginning.completion[name], ending.completion[name]
        if after < before:
            issues.append(Issue(
                "ENDING_WIP_BEHIND_BEGINNING",
                (f"ending_wip.complete.{name}" if name in given else "ending_wip.complete.progress")
                if isinstance(given, dict) else "ending_wip.complete",
                lead + f"{after.normalize():f} complete in {name} where they began {before.normalize():f} complete"
                + tail))
    return issues


def _resolve_stage(spec: StageSpec, index: int, previous_completed: Decimal | None, method: Method,
                   q: Decimal | None, convention: LossConvention = LossConvention.SPOILAGE,
                   recorded: bool = False, progress_vouched: bool = False) -> tuple[Stage | None, list[Issue]]:
    """``progress_vouched``: an element named ``progress`` is one the ledger holds (accepted before the
    name was reserved): read as it was then, so that no ledger is locked out by the rule."""
    issues: list[Issue] = []
    first = index == 0
    units_context = _RECORDED_UNITS if recorded else EXACT_UNITS  # see resolve_case's ``recorded``

    # Elements, transferred-in first: it is added at the start of every stage that receives units.
    receives_transfer = not first or spec.transferred_in is not None
    elements: list[Element] = []
    reserved: set[str] = set()  # elements refused for their name: their costs are not "unknown" too
    if receives_transfer:
        elements.append(_TRANSFERRED_IN_ELEMENT)
    for name, el in spec.elements.items():
        if name == TRANSFERRED_IN:
            issues.append(Issue("RESERVED_NAME", f"elements.{name}",
                                "'transferred_in' is the element that carries the previous stage's cost; "
                                "name this element differently"))
            reserved.add(name)
            continue
        if name == PROGRESS and not (recorded or progress_vouched):
            # `complete: {progress: 0.6, materials: 1}` names the stage's progress; an element of that
            # name would have its completion read as the stage's, without a word.
            issues.append(Issue("RESERVED_NAME", f"elements.{name}",
                                "'progress' is the key of a stage's own completion in `complete: {progress: ...}`; "
                                "name this element differently"))
            reserved.add(name)
            continue
        added = _POINTS.get(el.added) if isinstance(el.added, str) else el.added
        if el.added == "evenly":
            added = None
        elif added is not None and not (_ZERO <= added <= _ONE):
            issues.append(Issue("ADDED_OUT_OF_RANGE", f"elements.{name}.added",
                                f"addition point {added} is outside 0..1; use start, end, evenly or a fraction like 0.5"))
            added = min(max(added, _ZERO), _ONE)  # kept (refused already) so its costs are not also "unknown"
        elements.append(Element(name, _KINDS.get(el.kind) or ElementKind(el.kind), added))
    element_names = [e.name for e in elements]
    own_names = [e.name for e in elements if e.kind is not ElementKind.TRANSFERRED_IN]

    # Units received.
    if first:
        if spec.started is not None and spec.transferred_in is not None:
            issues.append(Issue("CONFLICTING_INPUT", "started",
                                "give either started (units begun here) or transferred_in (units received), not both"))
        elif spec.started is None and spec.transferred_in is None:
            issues.append(Issue("MISSING_INPUT", "started",
                                "the first stage needs started: N, or transferred_in: {units, cost} for a department costed alone"))
        if spec.transferred_in is not None and spec.transferred_in.cost is None:
            issues.append(Issue("MISSING_KEY", "transferred_in.cost",
                                "a first stage that receives units needs the cost of those units"))
        if spec.started is not None:
            input_units = spec.started
            input_path = "started"
        elif spec.transferred_in is not None:
            input_units = spec.transferred_in.units
            input_path = "transferred_in.units"
        else:
            input_units, input_path = None, "started"
        ti_cost = spec.transferred_in.cost if spec.transferred_in is not None else None
    else:
        ti_cost = None
        input_path = "transferred_in.units"
        if spec.started is not None:
            # The previous stage's figure is not known when that stage was refused: said without it.
            received = "the units" if previous_completed is None else f"the {previous_completed} units"
            issues.append(Issue("STARTED_IN_LATER_STAGE", "started",
                                f"only the first stage starts units; this stage receives {received} "
                                "the previous stage completed"))
        if spec.transferred_in is not None and spec.transferred_in.cost is not None:
            issues.append(Issue("TRANSFERRED_IN_COST_GIVEN", "transferred_in.cost",
                                "a later stage's transferred-in cost is the previous stage's transferred-out cost; remove it"))
        input_units = previous_completed
        if spec.transferred_in is not None and previous_completed is not None \
                and spec.transferred_in.units != previous_completed:
            issues.append(Issue("TRANSFERRED_IN_MISMATCH", "transferred_in.units",
                                f"expected {previous_completed} (completed by the previous stage), found "
                                f"{spec.transferred_in.units}; difference {spec.transferred_in.units - previous_completed}"))

    # Unit counts are never negative.
    b_spec, e_spec = spec.beginning_wip, spec.ending_wip
    b_units = b_spec.units if b_spec else _ZERO
    e_units = e_spec.units if e_spec else _ZERO
    units_negative = False  # then the flow checks below would only restate it
    for path, value in (("beginning_wip.units", b_units), (input_path, input_units), ("completed", spec.completed),
                        ("ending_wip.units", e_units)):
        if value is not None and value < 0:
            units_negative = True
            issues.append(negative_units(path, value))

    beginning, b_issues = _unit_group(b_units, b_spec.complete if b_spec else None, "beginning_wip.complete", elements)
    ending, e_issues = _unit_group(e_units, e_spec.complete if e_spec else None, "ending_wip.complete", elements)
    issues += b_issues + e_issues

    # Costs by element, every element present.
    b_cost = _costs(b_spec.cost if b_spec else {}, "beginning_wip.cost", element_names, q, issues,
                    hint="beginning WIP cost", refused=reserved)
    added = _costs(spec.added_costs, "added_costs", own_names, q, issues,
                   hint="current-period cost; transferred-in cost comes from the previous stage", refused=reserved)
    if ti_cost is not None and _check_amount(ti_cost, "transferred_in.cost", q, issues):
        ti_cost = ti_cost.quantize(q)
    if not b_units and any(b_cost.values()):
        issues.append(Issue("BEGINNING_COST_WITHOUT_UNITS", "beginning_wip.cost",
                            f"beginning WIP has cost {sum(b_cost.values())} but no units; "
                            "give beginning_wip.units, or move the cost to added_costs"))

    # Lost units follow the case's convention; a block of the other convention is refused.
    process_account = convention is LossConvention.PROCESS_ACCOUNT
    normal_loss: NormalLoss | None = None
    added_units: dict[str, Decimal] = {}
    mismatch = False  # lost units described for the other convention: the unit flow is not checked
    if process_account:
        if spec.spoilage is not None:
            mismatch = True
            issues.append(Issue(
                "LOSS_CONVENTION_MISMATCH", "spoilage",
                "a spoilage block belongs to loss_convention: spoilage (the US method); under process_account "
                "give normal_loss: {rate, scrap_value} instead"))
            spec = spec.model_copy(update={"spoilage": None})
    else:
        for key in ("normal_loss", "added_units"):
            if getattr(spec, key):
                mismatch = True
                issues.append(Issue(
                    "LOSS_CONVENTION_MISMATCH", key,
                    f"{key} belongs to loss_convention: process_account (set it at the top of the file); "
                    "under spoilage (the US method) give a spoilage block instead"))

    # Spoilage and the units that passed inspection this period.
    spoilage, spoiled_units, completed_passing, ending_passing, s_issues = _spoilage(
        spec, elements, beginning, ending, b_units, e_units, units_context)
    issues += s_issues

    if process_account:
        # The process account: actual loss from the unit flow, normal loss from the rate.
        with localcontext(units_context):  # its unit flow too is added up exactly (a recorded close: as recorded)
            normal_loss, added_units, n_issues = _normal_loss(
                spec, elements, beginning, ending, b_units, e_units, None if mismatch else input_units,
                receives_transfer, recorded)
        issues += n_issues
    elif input_units is not None and spoiled_units is not None and not mismatch and not units_negative:
        # Physical flow: units to account for = units accounted for.  Checked whatever else is wrong
        # with the stage's values (a cost, a disposal value): it depends only on the units.
        with localcontext(units_context):
            issues.extend(_unit_flow(spec, b_units, input_units, e_units, spoiled_units, receives_transfer))

    if method is Method.FIFO and spec.completed < b_units and not units_negative:
        issues.extend(_fifo_beginning_left(spec, elements, beginning, ending, b_units, e_units, input_units,
                                           spoiled_units, process_account, not (b_issues or e_issues),
                                           receives_transfer))
    elif method is Method.WEIGHTED_AVERAGE and not recorded and not process_account and not units_negative \
            and input_units is not None and not input_units and spoiled_units is not None and not spoiled_units \
            and e_units \
            and e_units == b_units - spec.completed and not (b_issues or e_issues):
        # An idle line under weighted average: a progress gone back is refused as under FIFO (not
        # for a close the ledger holds, recorded before the rule: it is read as it was).
        issues.extend(_ending_behind_beginning(spec, elements, beginning, ending, e_units, "weighted average"))

    if issues:
        return None, issues

    # Costs with no work to carry them: caught here so that they are reported with the others.
    spoiled = spoilage.units
    if normal_loss is not None:  # lost units: + abnormal loss, - abnormal gain, none for the normal loss
        spoiled = normal_loss.abnormal_loss - normal_loss.abnormal_gain
        loss_completion = normal_loss.completion
    else:
        loss_completion = spoilage.completion
    fifo = method is Method.FIFO
    for el in elements:
        name = el.name
        eu = equivalent_units(fifo, b_units, beginning.completion[name], spec.completed, e_units,
                              ending.completion[name], spoiled, loss_completion[name])
        pool = added.get(name, _ZERO) if fifo else b_cost[name] + added.get(name, _ZERO)
        if eu <= 0 and pool:
            where = "beginning_wip.cost" if name not in added or not added[name] else "added_costs"
            issues.append(zero_equivalent_units(spec.name, name, pool, eu, method, f"{where}.{name}"))
    if issues:
        return None, issues

    return Stage(
        name=spec.name,
        elements=tuple(elements),
        beginning=beginning,
        beginning_cost=b_cost,
        input_units=input_units,
        receives_transfer=receives_transfer,
        transferred_in_cost=ti_cost,
        completed=spec.completed,
        ending=ending,
        added_costs=added,
        spoilage=spoilage,
        completed_passing=completed_passing,
        ending_passing=ending_passing,
        normal_loss=normal_loss,
        added_units=added_units,
    ), []


def _unit_flow(spec: StageSpec, b_units: Decimal, input_units: Decimal, e_units: Decimal, spoiled_units: Decimal,
               receives_transfer: bool) -> list[Issue]:
    """UNIT_FLOW when units to account for differ from units accounted for (run in ``EXACT_UNITS``,
    or ``_RECORDED_UNITS`` for a recorded close)."""
    to_account = b_units + input_units
    accounted = spec.completed + e_units + spoiled_units
    if to_account == accounted:
        return []
    word = "transferred in" if receives_transfer else "started"
    return [Issue(
        "UNIT_FLOW", "",
        f"{spec.name}: units to account for {to_account} (beginning {b_units} + {word} {input_units}); "
        f"accounted for {_units(accounted)} (completed {spec.completed} + ending {e_units} + spoiled "
        f"{_units(spoiled_units)}); difference {_units(to_account - accounted)} — check the units completed, "
        "in ending WIP and spoiled")]


def _progress_written(group_spec) -> bool:
    """Whether the file gives a group's stage progress (a number, or a map's ``progress``), even
    one refused as out of range: then that is the problem reported, not a missing progress."""
    complete = group_spec.complete if group_spec is not None else None
    return complete is not None and (not isinstance(complete, dict) or complete.get("progress") is not None)


def _unit_group(units: Decimal, complete: Any, path: str, elements: list[Element]) -> tuple[UnitGroup, list[Issue]]:
    """Completion of every element for a group of units, from a progress number or a map."""
    issues: list[Issue] = []
    names = {e.name for e in elements}
    if complete is None:
        if units:
            issues.append(Issue("MISSING_COMPLETION", path,
                                f"{units} units need a completion: a progress like 0.6 or a map {{progress: 0.6, ...}}"))
        return UnitGroup(units, _ZERO, {e.name: (_ONE if e.kind is ElementKind.TRANSFERRED_IN else _ZERO)
                                        for e in elements}), issues
    overrides: dict[str, Decimal] = {}
    if isinstance(complete, dict):
        progress = complete.get("progress")
        for key, value in complete.items():
            if key != "progress" and key not in names:
                issues.append(Issue("UNKNOWN_ELEMENT", f"{path}.{key}",
                                    f"{key!r} is not an element of this stage (elements: {', '.join(sorted(names))})"))
                continue
            if not (_ZERO <= value <= _ONE):
                issues.append(_out_of_range(f"{path}.{key}", value))
                continue
            if key != "progress":
                overrides[key] = value
        if progress is not None and not (_ZERO <= progress <= _ONE):
            progress = None
    else:
        progress = complete
        if not (_ZERO <= progress <= _ONE):
            issues.append(_out_of_range(path, progress))
            progress = None
    completion: dict[str, Decimal] = {}
    shape_ok = not issues
    for e in elements:
        if e.name in overrides:
            completion[e.name] = overrides[e.name]
        elif e.kind is ElementKind.TRANSFERRED_IN:
            completion[e.name] = _ONE  # received at the start of the stage
        elif progress is not None:
            completion[e.name] = element_completion(progress, e.added_at)
        elif shape_ok:
            issues.append(Issue("MISSING_COMPLETION", f"{path}.{e.name}",
                                f"no completion for element {e.name!r}: give it in the map or add progress"))
    return UnitGroup(units, progress, completion), issues


def _out_of_range(path: str, value: Decimal, what: str = "completion") -> Issue:
    """``what``: what the figure is, as the caller knows it (a spoilage rate of 2 is no "completion")."""
    side = "above 100%" if value > _ONE else "below 0%"
    return Issue("PROGRESS_OUT_OF_RANGE", path, f"{what} {value} ({percent_text(value)}) is {side}")


def _negative(code: str, path: str, value: Decimal, what: str) -> Issue:
    return Issue(code, path, f"{what}cannot be negative: expected zero or more, found {value}; "
                 "check the sign of the value typed here")


def negative_amount(path: str, value: Decimal, what: str = "") -> Issue:
    """``NEGATIVE_AMOUNT``: what is expected, what was found, what to check; worded here once, for
    case files and close files alike (``what``: what the amount is, e.g. "cost ").

    >>> negative_amount("materiality", Decimal("-5")).message
    'cannot be negative: expected zero or more, found -5; check the sign of the value typed here'
    """
    return _negative("NEGATIVE_AMOUNT", path, value, what)


def negative_units(path: str, value: Decimal, what: str = "units ") -> Issue:
    """``NEGATIVE_UNITS``, worded as ``negative_amount`` words an amount (``what``: "" where the path
    already says what is counted, e.g. a close's ``driver_quantity``).

    >>> negative_units("completed", Decimal("-503.5")).message
    'units cannot be negative: expected zero or more, found -503.5; check the sign of the value typed here'
    """
    return _negative("NEGATIVE_UNITS", path, value, what)


def _check_amount(value: Decimal, path: str, q: Decimal | None, issues: list[Issue]) -> bool:
    """True when ``value`` is a valid posted amount in the currency."""
    if value < 0:
        issues.append(negative_amount(path, value, "cost "))
        return False
    if q is None:
        return False
    if value != value.quantize(q):
        issues.append(Issue("AMOUNT_PRECISION", path,
                            f"{value} has more decimal places than the currency allows ({-q.as_tuple().exponent}); "
                            "costs are posted amounts"))
        return False
    return True


def _costs(given: Mapping[str, Decimal], path: str, names: list[str], q: Decimal | None,
           issues: list[Issue], hint: str, refused: set[str] | frozenset[str] = frozenset()) -> dict[str, Decimal]:
    """``refused``: elements refused for their name (one problem said already, not one per cost)."""
    zero = _ZERO if q is None else _ZERO * q
    costs = {name: zero for name in names}
    for key, value in given.items():
        if key in refused and key not in costs:
            continue
        if key not in costs:
            issues.append(Issue("UNKNOWN_ELEMENT", f"{path}.{key}",
                                f"{key!r} is not an element of this stage (elements: {', '.join(names) or 'none'}; {hint})"))
            continue
        if q is not None and value >= 0:  # the usual case: a valid amount, checked and carried at once
            posted = value.quantize(q)
            if posted == value:
                costs[key] = posted  # posted amount: carry the currency's places (12 -> 12.00)
                continue
        if _check_amount(value, f"{path}.{key}", q, issues):
            value = value.quantize(q)
        costs[key] = value
    return costs


def _spoilage(spec: StageSpec, elements: list[Element], beginning: UnitGroup, ending: UnitGroup,
              b_units: Decimal, e_units: Decimal, units_context: Context = EXACT_UNITS,
              ) -> tuple[Spoilage | None, Decimal | None, Decimal, Decimal, list[Issue]]:
    """The stage's spoilage (None when anything in it is refused), the units spoiled as far as the
    file tells them (None when not known: the unit flow is then not checked), the good units that
    passed inspection this period (completed, ending WIP), and the problems."""
    issues: list[Issue] = []
    s = spec.spoilage
    inspection = s.inspection if s else _ONE
    if not (_ZERO <= inspection <= _ONE):
        issues.append(_out_of_range("spoilage.inspection", inspection, "inspection point"))
        inspection = min(max(inspection, _ZERO), _ONE)  # refused already; the other checks still run

    # Beginning units that had reached inspection last period were inspected then; this period's
    # normal spoilage is not theirs.  Ending units at or past the point have been inspected.
    has_spoilage = s is not None and any(v for v in (s.normal, s.normal_rate, s.abnormal, s.spoiled))
    completed_passing, ending_passing = units_passing_inspection(spec.completed, b_units, beginning.progress, e_units,
                                                                 ending.progress, inspection)
    passing_known = True  # whether the units that passed inspection are known (a rate applies to them)
    if has_spoilage:
        for path, group, given in (("beginning_wip.complete", beginning, spec.beginning_wip),
                                   ("ending_wip.complete", ending, spec.ending_wip)):
            if group.units and group.progress is None and not _progress_written(given):
                passing_known = False
                issues.append(Issue("MISSING_COMPLETION", f"{path}.progress",
                                    "stage progress is needed to tell whether these units passed inspection"))

    completion = {e.name: (_ONE if e.kind is ElementKind.TRANSFERRED_IN else element_completion(inspection, e.added_at))
                  for e in elements}
    if s is None:
        return Spoilage(_ZERO, _ZERO, inspection, _ZERO, completion), _ZERO, completed_passing, ending_passing, issues

    units_negative = False
    for path, value in (("spoilage.normal", s.normal), ("spoilage.abnormal", s.abnormal),
                        ("spoilage.spoiled", s.spoiled)):
        if value is not None and value < 0:
            units_negative = True
            issues.append(negative_units(path, value))
    # The disposal value is money: refused, it does not change how many units spoiled, so the unit
    # checks below still run.
    if s.disposal_value < 0:
        issues.append(negative_amount("spoilage.disposal_value", s.disposal_value))
    rate_ok = True  # whether normal spoilage can be taken from the rate as written
    if s.normal is not None and s.normal_rate is not None:
        rate_ok = False
        issues.append(Issue("CONFLICTING_SPOILAGE", "spoilage.normal_rate",
                            "give normal (units) or normal_rate (a fraction of good units passing inspection), not both"))
    if s.normal_rate is not None and not (_ZERO <= s.normal_rate <= _ONE):
        rate_ok = False
        issues.append(_out_of_range("spoilage.normal_rate", s.normal_rate, "rate"))
    if units_negative:
        return None, None, completed_passing, ending_passing, issues  # the flow would only restate them

    if s.normal is not None and rate_ok:
        normal: Decimal | None = s.normal
    elif s.normal_rate is not None:
        normal = normal_spoilage_from_rate(s.normal_rate, completed_passing + ending_passing, s.spoiled,
                                           whole_units=s.normal_from_rate == "whole_units") \
            if rate_ok and passing_known else None
    else:
        normal = _ZERO
    if normal is None:
        # Normal spoilage is not known (its rate is refused, or the units it applies to are not
        # known); the units spoiled are, when counted, and the unit flow is checked with them.
        return None, s.spoiled, completed_passing, ending_passing, issues
    if s.spoiled is not None:
        with localcontext(units_context):  # normal + abnormal is the units spoiled, to the last place
            abnormal = s.spoiled - normal
            if s.abnormal is not None and s.abnormal != abnormal:
                issues.append(Issue("SPOILAGE_MISMATCH", "spoilage.abnormal",
                                    f"spoiled {s.spoiled} = normal {normal} + abnormal {s.abnormal} does not hold; "
                                    f"difference {abnormal - s.abnormal}"))
            elif abnormal < 0:
                issues.append(Issue("SPOILAGE_MISMATCH", "spoilage.spoiled",
                                    f"spoiled {s.spoiled} is less than normal spoilage {normal}"))
    else:
        abnormal = s.abnormal if s.abnormal is not None else _ZERO
    if normal and not (completed_passing + ending_passing) and passing_known:
        issues.append(Issue("NORMAL_SPOILAGE_UNABSORBED", "spoilage.normal",
                            f"{normal} units of normal spoilage but no good units passed inspection this period "
                            "to carry its cost; record it as abnormal or check the inspection point"))
    spoilage = Spoilage(normal, abnormal, inspection, s.disposal_value, completion)
    with localcontext(units_context):
        spoiled_units = spoilage.units
    # Refused, the spoilage is not used; the units spoiled are still known (counted, or normal + abnormal).
    return None if issues else spoilage, spoiled_units, completed_passing, ending_passing, issues


def _normal_loss(spec: StageSpec, elements: list[Element], beginning: UnitGroup, ending: UnitGroup,
                 b_units: Decimal, e_units: Decimal, input_units: Decimal | None, receives_transfer: bool,
                 recorded: bool = False) -> tuple[NormalLoss | None, dict[str, Decimal], list[Issue]]:
    """Process-account convention: added units, the normal loss and the actual loss of a stage
    (``recorded``: see ``resolve_case``)."""
    issues: list[Issue] = []
    by_name = {e.name: e for e in elements}

    # Units put in with an element: material that adds to the unit count, so it goes in at the start.
    added_units: dict[str, Decimal] = {}
    for key, value in spec.added_units.items():  # any problem here leaves the units in unknown
        path = f"added_units.{key}"
        element = by_name.get(key)
        if key == TRANSFERRED_IN:
            issues.append(Issue("RESERVED_NAME", path,
                                "transferred-in units are the units the previous stage completed "
                                "(or transferred_in.units on a first stage); they are not added here"))
        elif element is None:
            issues.append(Issue("UNKNOWN_ELEMENT", path,
                                f"{key!r} is not an element of this stage (elements: {', '.join(by_name) or 'none'})"))
        elif value < 0:
            issues.append(negative_units(path, value))
        elif element.added_at != _ZERO:
            issues.append(Issue("ADDED_UNITS_NOT_AT_START", path,
                                f"units come into the process with {key!r}, so it must be added at the start "
                                f"(added: start), not at {'evenly' if element.added_at is None else element.added_at}; "
                                "or add its cost without units"))
        else:
            added_units[key] = value

    units_in_known = not issues
    actual_negative = False
    nl = spec.normal_loss
    if nl is not None:
        if nl.rate is not None and nl.units is not None:
            issues.append(Issue("CONFLICTING_NORMAL_LOSS", "normal_loss.units",
                                "give rate (a fraction of the basis) or units (the normal loss itself), not both"))
        elif nl.rate is None and nl.units is None:
            issues.append(Issue("MISSING_KEY", "normal_loss.rate",
                                "normal_loss needs rate (e.g. 0.10 of the units entering the process) or units"))
        if nl.rate is not None and not (_ZERO <= nl.rate <= _ONE):
            issues.append(_out_of_range("normal_loss.rate", nl.rate, "rate"))
        if not (_ZERO <= nl.inspection <= _ONE):
            issues.append(_out_of_range("normal_loss.inspection", nl.inspection, "inspection point"))
        for path, value in (("normal_loss.units", nl.units), ("normal_loss.actual", nl.actual)):
            if value is not None and value < 0:
                actual_negative = actual_negative or path == "normal_loss.actual"
                issues.append(negative_units(path, value))
        if nl.scrap_value < 0:
            issues.append(negative_amount("normal_loss.scrap_value", nl.scrap_value, "scrap value "))
        if nl.scrap_element is not None and nl.scrap_element not in by_name:
            issues.append(Issue("UNKNOWN_ELEMENT", "normal_loss.scrap_element",
                                f"{nl.scrap_element!r} is not an element of this stage "
                                f"(elements: {', '.join(by_name) or 'none'})"))
        if nl.basis == "inspected" and nl.rate is not None:
            for path, group, given in (("beginning_wip.complete", beginning, spec.beginning_wip),
                                       ("ending_wip.complete", ending, spec.ending_wip)):
                if group.units and group.progress is None and not _progress_written(given):
                    issues.append(Issue("MISSING_COMPLETION", f"{path}.progress",
                                        "stage progress is needed to tell whether these units reached the "
                                        "inspection point (normal_loss.basis: inspected)"))
    if input_units is None or not units_in_known:
        return None, added_units, issues
    # The loss's rate, scrap value, inspection point or scrap element, refused above, do not change
    # how many units were lost: the unit flow is still checked.

    # Actual loss from the unit flow: units in - good output - closing WIP.
    units_in = input_units + sum(added_units.values(), _ZERO)
    available = b_units + units_in
    actual = available - spec.completed - e_units
    word = "transferred in" if receives_transfer else "started"
    added_note = f" + added {units_in - input_units}" if added_units else ""
    flow = (f"{spec.name}: units available {available} (beginning {b_units} + {word} {input_units}{added_note}); "
            f"good output {spec.completed} + closing WIP {e_units}")
    if nl is None:
        if actual:
            issues.append(Issue("UNIT_FLOW", "",
                                f"{flow}; difference {actual} — give normal_loss: {{rate, scrap_value}} to account "
                                "for lost units, or check the units"))
            return None, added_units, issues
        return _no_loss(elements), added_units, issues
    if actual < 0:
        issues.append(Issue("UNIT_FLOW", "",
                            f"{flow} is more than was available; difference {-actual} — check good output "
                            "and closing WIP units"))
    elif nl.actual is not None and nl.actual != actual and not actual_negative:
        issues.append(Issue("UNIT_FLOW", "normal_loss.actual",
                            f"{flow} leaves a loss of {actual}, but normal_loss.actual is {nl.actual}; "
                            f"difference {nl.actual - actual} — check the units or the actual loss"))
    if nl.units is not None and nl.rate is None and nl.units > available and not recorded:
        # No flow loses more units than the stage had to work with (its units to account for:
        # beginning WIP too, whose units can be lost as they are finished this period); such a
        # normal loss would show only as negative equivalent units, blamed on the costs.  Less
        # than that, and more than came in, is a loss of opening units: the flow allows it.
        issues.append(Issue(
            "UNIT_FLOW", "normal_loss.units",
            f"{spec.name}: normal loss {nl.units} exceeds the {available} units to account for "
            f"(beginning {b_units} + {word} {input_units}{added_note}); difference {nl.units - available} — "
            "check normal_loss.units (the loss expected of them, not the units put in)"))
    if issues:
        return None, added_units, issues

    inspection = nl.inspection
    if nl.units is not None:
        normal = nl.units
    elif nl.basis == "inspected":
        # Units reaching the point this period: beginning WIP not yet past it, all new units, less
        # closing WIP that has not reached it.
        b_below = b_units if b_units and beginning.progress < inspection else _ZERO
        e_below = e_units if e_units and ending.progress < inspection else _ZERO
        normal = nl.rate * (b_below + units_in - e_below)
    else:
        normal = nl.rate * units_in

    return NormalLoss(units=normal, actual=actual, scrap_value=nl.scrap_value, inspection=inspection,
                      completion=_loss_completion(elements, inspection),
                      scrap_element=nl.scrap_element or _default_scrap_element(elements)), added_units, issues


def _loss_completion(elements: list[Element], inspection: Decimal) -> dict[str, Decimal]:
    """Lost units carry the elements added up to the point where losses are detected."""
    return {e.name: (_ONE if e.kind is ElementKind.TRANSFERRED_IN else element_completion(inspection, e.added_at))
            for e in elements}


def _default_scrap_element(elements: list[Element]) -> str:
    """The first material element as written, else transferred_in, else the first element."""
    for e in elements:
        if e.kind is ElementKind.MATERIAL:
            return e.name
    return elements[0].name if elements else ""


def _no_loss(elements: list[Element]) -> NormalLoss:
    """A process-account stage without normal_loss whose units all came out good."""
    return NormalLoss(units=_ZERO, actual=_ZERO, scrap_value=_ZERO, inspection=_ONE,
                      completion=_loss_completion(elements, _ONE), scrap_element=_default_scrap_element(elements))
