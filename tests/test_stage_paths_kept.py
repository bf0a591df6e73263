"""Every stage keeps its own index in the paths of its problems, whatever else is refused: with the
case header refused (``method: lifo``) a stage whose shape is refused stays in its place, so the
stages after it are neither renumbered (``stages[0].started`` said of the file's second stage) nor
taken for a first stage, nor compared with the units of the stage before the refused one
(docs/errors.md: every error located where the user typed it)."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from costing import resolve_case
from costing.cli import main
from costing.close._resolve import resolve_close
from tests.demo_data import DEMO, read_clean

CASE = read_clean(DEMO / "case.yaml")  # Assembly (completes 400) -> Testing (410) -> Packaging


def located(issues) -> list[tuple[str, str]]:
    return [(i.code, i.path) for i in issues]


def with_changes(data: dict, header: dict, stages: dict[int, dict]) -> dict:
    changed = copy.deepcopy(data)
    changed.update(header)
    for index, update in stages.items():
        changed["stages"][index].update(update)
    return changed


def test_wip_cost_says_the_second_stages_problem_at_stages_1_when_the_first_and_the_method_are_refused(
        tmp_path: Path, capsys):
    data = with_changes(CASE, {"method": "lifo"},
                        {0: {"bogus": 1}, 1: {"ending_wip": {"units": 30, "complete": 1.3}}})
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")

    assert main(["cost", str(path)]) == 2

    err = capsys.readouterr().err
    assert f"{path}: stages[1].ending_wip.complete: completion 1.3 (130%) is above 100% [PROGRESS_OUT_OF_RANGE]" in err
    # Before, the second stage was checked as the first: a missing `started` in a stage that needs none.
    assert "MISSING_INPUT" not in err
    assert "stages[0].ending_wip" not in err
    assert "3 problems found." in err


def test_the_stage_after_a_refused_one_is_not_compared_with_the_stage_before_that():
    # Packaging receives the 410 units Testing completed, as written; Testing's shape is refused, so
    # what it completed is not known to the check, and Assembly's 400 must not stand in for it.
    data = with_changes(CASE, {"method": "lifo"}, {1: {"bogus": 1}, 2: {"transferred_in": {"units": 410}}})

    case, issues = resolve_case(data)

    assert case is None
    assert located(issues) == [("INVALID_CHOICE", "method"), ("UNKNOWN_KEY", "stages[1].bogus")]


def test_a_later_stages_units_are_still_compared_with_the_stage_before_it_when_that_one_is_sound():
    data = with_changes(CASE, {"method": "lifo"}, {0: {"bogus": 1}, 2: {"transferred_in": {"units": 400}}})

    case, issues = resolve_case(data)

    assert case is None
    assert located(issues) == [("INVALID_CHOICE", "method"), ("UNKNOWN_KEY", "stages[0].bogus"),
                               ("TRANSFERRED_IN_MISMATCH", "stages[2].transferred_in.units")]
    assert "expected 410 (completed by the previous stage), found 400" in issues[-1].message


def test_the_header_refused_leaves_the_stage_problems_as_a_valid_header_gives_them():
    stages = {0: {"elements": 5}, 1: {"started": 400}, 2: {"added_costs": {"packaging": 6000, "glue": 5}}}
    refused = resolve_case(with_changes(CASE, {"method": "lifo"}, stages))[1]
    valid = resolve_case(with_changes(CASE, {"method": "weighted_average"}, stages))[1]

    assert located(refused) == [("INVALID_CHOICE", "method"), *located(valid)]
    assert located(valid) == [("WRONG_TYPE", "stages[0].elements"), ("STARTED_IN_LATER_STAGE", "stages[1].started"),
                              ("UNKNOWN_ELEMENT", "stages[2].added_costs.glue")]


def test_with_the_header_refused_names_and_elements_the_ledger_vouches_for_are_read_as_it_accepted_them():
    # What the caller says the ledger holds is passed on to the stages checked under the stand-in header.
    hidden = "Assem\u200bbly"
    data = with_changes(CASE, {"method": "lifo"},
                        {0: {"name": hidden, "elements": {"materials": {"kind": "material", "added": "start"},
                                                          "progress": {"kind": "conversion", "added": "evenly"}},
                             "beginning_wip": {"units": 225, "complete": 0.6,
                                               "cost": {"materials": 18000, "progress": 8100}},
                             "added_costs": {"materials": 19800, "progress": 16380}}})

    not_vouched = located(resolve_case(data)[1])
    assert ("INVALID_NAME", "stages[0].name") in not_vouched
    assert ("RESERVED_NAME", "stages[0].elements.progress") in not_vouched
    assert located(resolve_case(data, frozenset({hidden}), progress_stages=frozenset({hidden}))[1]) == [
        ("INVALID_CHOICE", "method")]


def test_a_close_locates_each_stage_problem_at_its_own_index(tmp_path: Path, capsys):
    close = read_clean(DEMO / "close-2026-10.yaml")
    stages = close["products"][0]["stages"]
    stages[0]["added_costs"]["materials"] = "lots"  # refused amount: the stage is checked without it
    stages[1]["transferred_in"] = {"units": 999}
    stages[2]["ending_wip"]["complete"] = 1.5
    close["company"] = 5  # a header problem the products are still checked without

    plan, issues = resolve_close(copy.deepcopy(close), None)

    assert plan is None
    assert located(issues) == [("WRONG_TYPE", "company"),
                               ("NOT_A_NUMBER", "products[0].stages[0].added_costs.materials"),
                               ("TRANSFERRED_IN_MISMATCH", "products[0].stages[1].transferred_in.units"),
                               ("PROGRESS_OUT_OF_RANGE", "products[0].stages[2].ending_wip.complete")]

    # `method: lifo` with a stage's shape refused: the close says both where they are typed, and writes nothing.
    close = read_clean(DEMO / "close-2026-10.yaml")
    close["method"] = "lifo"
    close["products"][0]["stages"][0]["bogus"] = 1
    path, ledger = tmp_path / "close.yaml", tmp_path / "x" / "l.db"
    ledger.parent.mkdir()
    path.write_text(yaml.safe_dump(close, sort_keys=False), encoding="utf-8")
    capsys.readouterr()

    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(ledger)]) == 2

    err = capsys.readouterr().err
    assert f"{path}: method: " in err and f"{path}: products[0].stages[0].bogus: unknown key 'bogus'" in err
    assert "2 problems found; nothing was written." in err
    assert not ledger.exists()


# A chain of n stages, each sound: 100 units started, completed by every stage and received by the next.
def chain(n: int) -> list[dict]:
    stages = [{"name": f"S{j}", "elements": {"conv": {"kind": "conversion", "added": "evenly"}},
               "completed": 100, "added_costs": {"conv": 10}} for j in range(n)]
    stages[0]["started"] = 100
    return stages


# Problems a stage can be given whatever its place (``first``: allowed in a first stage too), with
# where each is said and whether it depends on the units the stage before completed.
PROBLEMS = {
    "ghost_cost": ({"added_costs": {"conv": 10, "ghost": 1}}, "UNKNOWN_ELEMENT", "added_costs.ghost", True, False),
    "progress": ({"ending_wip": {"units": 0, "complete": 1.5}}, "PROGRESS_OUT_OF_RANGE", "ending_wip.complete",
                 True, False),
    "started": ({"started": 100}, "STARTED_IN_LATER_STAGE", "started", False, False),
    "transferred": ({"transferred_in": {"units": 99}}, "TRANSFERRED_IN_MISMATCH", "transferred_in.units",
                    False, True),
}
SHAPES_REFUSED = [{"bogus": 1}, {"elements": 5}, {"completed": "many"}, {"ending_wip": [1]}]


@st.composite
def refused_chains(draw):
    n = draw(st.integers(2, 5))
    refused = draw(st.integers(0, n - 2))  # a stage with at least one after it
    given_problems = {}
    for j in range(n):
        if j == refused:
            continue
        allowed = sorted(name for name, (*_, first, _) in PROBLEMS.items() if j or first)
        given_problems[j] = draw(st.lists(st.sampled_from(allowed), unique=True, max_size=len(allowed)))
    return n, refused, draw(st.sampled_from(SHAPES_REFUSED)), given_problems


@settings(max_examples=80, deadline=None)
@given(refused_chains())
def test_with_the_header_refused_every_later_stages_problem_names_that_stage(drawn):
    n, refused, shape, given_problems = drawn
    stages = chain(n)
    stages[refused].update(shape)
    expected = set()
    for j, names in given_problems.items():
        for name in names:
            update, code, where, _, needs_previous = PROBLEMS[name]
            stages[j].update(copy.deepcopy(update))
            if not (needs_previous and j - 1 == refused):  # nothing to compare with: no problem
                expected.add((code, f"stages[{j}].{where}"))
    data = {"currency": "USD", "method": "lifo", "stages": stages}

    case, issues = resolve_case(copy.deepcopy(data))

    assert case is None
    assert issues[0].code == "INVALID_CHOICE" and issues[0].path == "method"
    own = [(code, path) for code, path in located(issues[1:]) if not path.startswith(f"stages[{refused}]")]
    assert set(own) == expected and len(own) == len(expected)
    assert any(path.startswith(f"stages[{refused}].") for _, path in located(issues))
    # The stand-in header checks the stages as the valid header it stands in for does.
    valid = resolve_case({**copy.deepcopy(data), "method": "weighted_average"})[1]
    assert located(issues) == [("INVALID_CHOICE", "method"), *located(valid)]
