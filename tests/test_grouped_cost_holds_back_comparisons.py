"""A cost typed like 36.000 under a '.'-grouping locale is refused (most likely 36000): the stage's
cost as written is not known, so no disposal value is compared with it — a reviewer got
DISPOSAL_EXCEEDS_COST telling the accountant to cut a correct disposal value."""

from __future__ import annotations

from costing.close import resolve_close
from tests.demo_data import demo


def _with_spoilage(materials) -> dict:
    data = demo("2026-10")
    data["locale"] = "de_DE"
    stage = data["products"][0]["stages"][0]
    stage["added_costs"]["materials"] = materials
    stage["spoilage"] = {"spoiled": 10, "normal": 5, "inspection": "1.0", "disposal_value": 100}
    stage["completed"] = stage["completed"] - 10
    data["products"][0]["stages"][1]["completed"] = data["products"][0]["stages"][1]["completed"] - 10  # a UNIT_FLOW
    return data


def test_a_grouped_cost_holds_back_the_disposal_comparison():
    from costing._casefile import TypedLikeGrouped

    issues = resolve_close(_with_spoilage(TypedLikeGrouped("36.000")), None)[1]
    codes = [i.code for i in issues]
    assert "AMOUNT_PRECISION" in codes and "DISPOSAL_EXCEEDS_COST" not in codes
    assert "UNIT_FLOW" in codes  # the other problems are still said
