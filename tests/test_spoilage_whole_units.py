"""Normal spoilage from a rate, counted in whole units (``spoilage.normal_from_rate: whole_units``).

Horngren's normal rate (2 % of good units passing inspection) gives a fraction of a unit; for a
product counted in whole units (coffee machines) the stage says ``normal_from_rate: whole_units``:
rate × passing rounded half-up to a whole unit, capped at the units spoiled, and abnormal =
spoiled − normal.  ``exact`` (the default) keeps the fraction, as files and ledgers recorded before
the option have it."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

import costing
from costing._resolve import resolve_case
from costing.close import compute_close
from costing.close._fast import FastResolver
from costing.close._resolve import resolve_close, resolve_header
from costing.close._state import PriorState
from tests.demo_data import demo, on_another_october

D = Decimal


def _testing_case(completed: int, spoiled: int, rate: str = "0.02", normal_from_rate: str | None = None,
                  rounding: str = "half_up") -> dict:
    """One stage, every unit started either completed (passing inspection at the end) or spoiled."""
    spoilage = {"normal_rate": rate, "spoiled": spoiled, "inspection": 1, "disposal_value": "20.00"}
    if normal_from_rate is not None:
        spoilage["normal_from_rate"] = normal_from_rate
    return {"currency": "USD", "method": "weighted_average", "rounding": rounding, "stages": [{
        "name": "Testing",
        "elements": {"labour": {"kind": "labour", "added": "evenly"}},
        "started": completed + spoiled, "completed": completed, "ending_wip": {"units": 0},
        "added_costs": {"labour": "32500.00"},
        "spoilage": spoilage}]}


def _units(case: dict) -> tuple[Decimal, Decimal]:
    units = costing.cost_case(case).stage("Testing").physical_units
    return units.normal_spoilage, units.abnormal_spoilage


def test_whole_units_rounds_the_barista_stage_to_whole_machines():
    """2 % × 124 good units = 2.48: 2 machines of normal spoilage, the 3rd of 3 spoiled is abnormal;
    the spoiled goods at disposal value (3 × 20.00) split 40.00 / 20.00 by those units."""
    case = _testing_case(124, 3, normal_from_rate="whole_units")
    assert _units(case) == (D(2), D(1))
    stage = costing.cost_case(case).stage("Testing")
    assert (stage.normal_spoilage.disposal_value, stage.abnormal_spoilage.disposal_value) == (D("40.00"), D("20.00"))


@pytest.mark.parametrize("normal_from_rate", [None, "exact"])
def test_exact_keeps_the_fraction_and_is_the_default(normal_from_rate):
    case = _testing_case(124, 3, normal_from_rate=normal_from_rate)
    assert _units(case) == (D("2.48"), D("0.52"))
    stage = costing.cost_case(case).stage("Testing")
    assert (stage.normal_spoilage.disposal_value, stage.abnormal_spoilage.disposal_value) == (D("49.60"), D("10.40"))


@pytest.mark.parametrize("rounding", ["half_up", "half_even"])
def test_half_a_unit_rounds_up_whatever_the_money_rounding(rounding):
    """2 % × 125 = 2.5 units: 3 (half-up), not the 2 half-even would give; the file's ``rounding``
    is for money and leaves unit counts alone."""
    assert _units(_testing_case(125, 5, normal_from_rate="whole_units", rounding=rounding)) == (D(3), D(2))


def test_whole_units_are_capped_at_the_units_spoiled():
    """2 % × 175 = 3.5, rounded to 4, but only 3 were spoiled: all 3 are normal, none abnormal."""
    assert _units(_testing_case(175, 3, normal_from_rate="whole_units")) == (D(3), D(0))
    assert _units(_testing_case(175, 3)) == (D(3), D(0))  # exact: 3.5 capped at 3 as before


def test_whole_units_round_down_below_a_half():
    """2 % × 120 = 2.4: 2 normal, and with 2 spoiled nothing abnormal (exact: 2.4 capped at 2)."""
    assert _units(_testing_case(120, 5, normal_from_rate="whole_units")) == (D(2), D(3))
    assert _units(_testing_case(120, 2, normal_from_rate="whole_units")) == (D(2), D(0))


def test_an_abnormal_count_that_contradicts_the_whole_units_is_a_mismatch():
    """abnormal 0.52 was right for the exact figure; with whole units spoiled 3 = 2 + 1 does not hold."""
    case = _testing_case(124, 3, normal_from_rate="whole_units")
    case["stages"][0]["spoilage"]["abnormal"] = "0.52"
    _, issues = resolve_case(case)
    assert [(i.code, i.path) for i in issues] == [("SPOILAGE_MISMATCH", "stages[0].spoilage.abnormal")]
    case["stages"][0]["spoilage"]["abnormal"] = 1
    assert resolve_case(case)[1] == []


@pytest.mark.parametrize("value, found", [("whole", "'whole'"), ("WHOLE_UNITS", "'WHOLE_UNITS'"), (True, "true"),
                                          (1, "1"), (None, "nothing")])
def test_a_value_other_than_exact_or_whole_units_is_located(value, found):
    case = _testing_case(124, 3, normal_from_rate=value)
    case["stages"][0]["spoilage"]["normal_from_rate"] = value
    _, issues = resolve_case(case)
    assert [(i.code, i.path, i.message) for i in issues] == [
        ("INVALID_CHOICE", "stages[0].spoilage.normal_from_rate", f"expected 'exact' or 'whole_units', found {found}")]


def test_bad_values_in_two_stages_are_reported_together():
    case = _testing_case(124, 3, normal_from_rate="whole")
    second = copy.deepcopy(case["stages"][0])
    second["name"] = "Packaging"
    del second["started"]
    second["spoilage"]["normal_from_rate"] = "rounded"
    case["stages"].append(second)
    _, issues = resolve_case(case)
    assert {(i.code, i.path) for i in issues} == {("INVALID_CHOICE", "stages[0].spoilage.normal_from_rate"),
                                                   ("INVALID_CHOICE", "stages[1].spoilage.normal_from_rate")}


# ---- the close: November's Barista Pro Testing, on the fast path and the general path ---------

def _october_prior() -> PriorState:
    result = compute_close(resolve_close(demo("2026-10"), None)[0])
    return PriorState("2026-10", {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()},
                      {p.name: p.fg_closing for p in result.products})


def _barista_testing(november: dict) -> dict:
    barista = next(p for p in november["products"] if p["name"] == "Barista Pro")
    return next(s for s in barista["stages"] if s["name"] == "Testing")


@pytest.mark.parametrize("normal_from_rate, normal, abnormal, disposal",
                         [("whole_units", "2", "1", ("40.00", "20.00")),
                          ("exact", "2.48", "0.52", ("49.60", "10.40"))])
def test_november_barista_testing_on_both_paths(normal_from_rate, normal, abnormal, disposal, monkeypatch):
    prior = _october_prior()
    november = on_another_october(demo("2026-11"))
    testing = _barista_testing(november)
    assert testing["spoilage"]["normal_rate"] == D("0.02") and testing["completed"] == 124
    testing["spoilage"]["normal_from_rate"] = normal_from_rate

    header, q = resolve_header(november, prior)
    barista = next(p for p in november["products"] if p["name"] == "Barista Pro")
    fast = FastResolver(header, prior, q)(barista)
    assert fast is not None  # a clean product: the fast path takes it
    fast_testing = next(s for s in fast.case.stages if s.name == "Testing")
    assert (fast_testing.spoilage.normal, fast_testing.spoilage.abnormal) == (D(normal), D(abnormal))

    plans = {}
    for path in ("fast", "general"):
        with monkeypatch.context() as m:
            if path == "general":
                m.setattr(FastResolver, "__call__", lambda self, raw: None)
            plan, issues = resolve_close(november, prior)
        assert not issues
        plans[path] = plan
        result = compute_close(plan)
        stage = next(p for p in result.products if p.name == "Barista Pro").report.stage("Testing")
        assert (stage.physical_units.normal_spoilage, stage.physical_units.abnormal_spoilage) == (D(normal),
                                                                                                   D(abnormal))
        assert (str(stage.normal_spoilage.disposal_value), str(stage.abnormal_spoilage.disposal_value)) == disposal
    assert plans["fast"] == plans["general"]


def test_a_bad_value_in_a_close_file_is_located_in_its_product_and_stage():
    prior = _october_prior()
    november = on_another_october(demo("2026-11"))
    _barista_testing(november)["spoilage"]["normal_from_rate"] = "whole"
    november["products"][0]["stages"][0]["spoilage"] = {"spoiled": 2, "normal_rate": "0.02",
                                                        "normal_from_rate": "Whole Units"}
    plan, issues = resolve_close(november, prior)
    assert plan is None
    barista = next(i for i, p in enumerate(november["products"]) if p["name"] == "Barista Pro")
    stage = next(i for i, s in enumerate(november["products"][barista]["stages"]) if s["name"] == "Testing")
    assert {(i.code, i.path) for i in issues} == {
        ("INVALID_CHOICE", f"products[{barista}].stages[{stage}].spoilage.normal_from_rate"),
        ("INVALID_CHOICE", "products[0].stages[0].spoilage.normal_from_rate")}


def test_weighted_average_normal_spoilage_counts_only_units_that_passed_inspection_this_period():
    """100 beginning units at 80 %, past inspection at 60 % last period; 50 started, 60 completed, 80
    ending at 70 %, 10 spoiled, normal 10 % of the good units passing inspection this period.  The 60
    completed are beginning units (inspected last period), so of the 80 ending units 40 are beginning
    units too: 40 good units passed this period (60 + 80 − 100), normal 4, abnormal 6 — not 80 and
    8/2, which counted the beginning units left in ending WIP and understated the loss (34.75).
    Abnormal: 6 × (10.00 + 0.6 × 1,500.00 / 122) = 104.26; normal (4 units, 69.51) to ending WIP."""
    case = {"currency": "USD", "method": "weighted_average", "stages": [{
        "name": "S1",
        "elements": {"materials": {"kind": "material", "added": "start"},
                     "conversion": {"kind": "conversion", "added": "evenly"}},
        "beginning_wip": {"units": 100, "complete": "0.8", "cost": {"materials": "1000.00", "conversion": "800.00"}},
        "started": 50, "completed": 60, "ending_wip": {"units": 80, "complete": "0.7"},
        "added_costs": {"materials": "500.00", "conversion": "700.00"},
        "spoilage": {"spoiled": 10, "normal_rate": "0.1", "inspection": "0.6"}}]}
    stage = costing.cost_case(case).stage("S1")
    assert (stage.physical_units.normal_spoilage, stage.physical_units.abnormal_spoilage) == (D(4), D(6))
    assert stage.abnormal_spoilage.total == D("104.26")
    assert sum(stage.ending_wip.normal_spoilage_by_element.values()) == D("69.51")
