"""A process-account normal loss is refused only when no flow could lose it: more units than the
stage had to work with (its units to account for: beginning WIP + started or transferred in + added).

Opening units are finished this period and can be lost as they are, so a normal loss above the
units that came in is a valid loss when beginning WIP covers it (an abnormal gain takes up what was
not actually lost); the engine before the check accepted such a close and recorded it, and the
ledger must still report it.  Recorded closes are also computed again with units compared as they
were when recorded (to 28 significant digits), not exactly.
"""

from __future__ import annotations

import copy
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import costing
import costing._resolve as resolve_module
import costing.close._fast as fast_module
from costing.cli import main
from costing.close_service import close_period
from tests.test_close_process_account import process_account_demo
from costing.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
DEMO_CLOSE = yaml.safe_load((ROOT / "examples/demo/close-2026-10.yaml").read_text())

# The reviewer's stage: 500 units of opening WIP, 100 started, 560 completed, none left in process;
# the normal loss expected is 120 units, more than the 100 that came in, less than the 600 to
# account for (the opening units lose some as they are finished).
OPENING, STARTED, COMPLETED, NORMAL = Decimal(500), Decimal(100), Decimal(560), Decimal(120)

REVIEWER_CASE = f"""\
currency: GBP
method: weighted_average
loss_convention: process_account
stages:
  - name: Mixing
    elements:
      materials: {{kind: material, added: start}}
      conversion: {{kind: conversion, added: evenly}}
    beginning_wip:
      units: {OPENING}
      complete: 0.6
      cost: {{materials: 25000, conversion: 9000}}
    started: {STARTED}
    completed: {COMPLETED}
    added_costs: {{materials: 5200, conversion: 7400}}
    normal_loss: {{units: {NORMAL}, scrap_value: 2.50}}
"""


def _cost(tmp_path, capsys, text: str) -> tuple[int, list[str]]:
    case = tmp_path / "case.yaml"
    case.write_text(text)
    status = main(["cost", str(case)])
    _, err = capsys.readouterr()
    return status, [line.removeprefix(f"error: {case}: ") for line in err.splitlines() if line.startswith("error:")]


def test_a_normal_loss_above_the_units_that_came_in_but_within_the_opening_wip_costs(tmp_path, capsys):
    assert _cost(tmp_path, capsys, REVIEWER_CASE) == (0, [])

    report = costing.cost_case(yaml.safe_load(REVIEWER_CASE))
    stage = next(s for s in report.stages if s.name == "Mixing")
    actual = OPENING + STARTED - COMPLETED  # nothing left in process
    assert stage.normal_loss.units == NORMAL
    assert stage.abnormal_gain.units == NORMAL - actual  # expected more lost than was: a gain
    assert stage.abnormal_loss.units == 0
    # Weighted average: each element's equivalent units are good output less the abnormal gain.
    assert all(eu == COMPLETED - (NORMAL - actual) for eu in stage.equivalent_units.values())
    # The process account balances: debits (opening, costs added, gain) = credits (output, scrap, loss).
    debits = stage.costs_to_account_for.total + stage.abnormal_gain.total
    credits = stage.transferred_out.total + stage.ending_wip.total + stage.normal_loss.total + stage.abnormal_loss.total
    assert debits == credits


def test_a_normal_loss_of_all_the_units_to_account_for_is_not_refused_at_the_normal_loss(tmp_path, capsys):
    text = REVIEWER_CASE.replace(f"units: {NORMAL},", f"units: {OPENING + STARTED},")
    _, problems = _cost(tmp_path, capsys, text)
    assert not [p for p in problems if p.startswith("stages[0].normal_loss.units")]


def test_a_normal_loss_above_the_units_to_account_for_is_refused_with_its_parts(tmp_path, capsys):
    to_account = OPENING + STARTED
    text = REVIEWER_CASE.replace(f"units: {NORMAL},", f"units: {to_account + 1},")
    status, problems = _cost(tmp_path, capsys, text)
    assert status == 2
    assert problems == [
        f"stages[0].normal_loss.units: Mixing: normal loss {to_account + 1} exceeds the {to_account} units to "
        f"account for (beginning {OPENING} + started {STARTED}); difference 1 — check normal_loss.units (the loss "
        "expected of them, not the units put in) [UNIT_FLOW]"]


def _reviewer_close() -> dict:
    """The demo's October close under process accounts and weighted average, its Espresso Classic
    Assembly the reviewer's stage (the later stages receive its 560 units and lose, at most, a few).

    Weighted average: under FIFO this period's materials (added at the start, so none left to add
    to the opening units) would have 100 started - 120 expected lost < 0 equivalent units, which the
    costing refuses as it always has (ZERO_EQUIVALENT_UNITS) — a limit of the method, not of the flow."""
    data = process_account_demo()
    data["method"] = "weighted_average"
    espresso = next(p for p in data["products"] if p["name"] == "Espresso Classic")
    stages = {s["name"]: s for s in espresso["stages"]}
    assembly = stages["Assembly"]
    assembly["beginning_wip"]["units"] = str(OPENING)
    assembly.update(started=str(STARTED), completed=str(COMPLETED),
                    normal_loss={"units": str(NORMAL), "scrap_value": "15.00"})
    for key in ("ending_wip", "count"):  # nothing left in process, nothing to count
        assembly.pop(key)
    testing, packaging = stages["Testing"], stages["Packaging"]
    testing["completed"] = 550  # 20 opening + 560 in: 22 left in process, 8 lost
    packaging["completed"] = 540  # 550 in: 10 left in process, none lost
    return data


def test_a_ledger_recorded_with_a_normal_loss_of_opening_units_still_reports(tmp_path, capsys):
    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        outcome = close_period(_reviewer_close(), ledger, user="test")
    assembly = next(s for p in outcome.result.products if p.name == "Espresso Classic"
                    for s in p.report.stages if s.name == "Assembly")
    assert assembly.normal_loss.units == NORMAL
    capsys.readouterr()
    assert main(["report", "--period", "2026-10", "--ledger", str(db)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "Espresso Classic" in out


# Espresso Classic's Assembly started units, 31 significant digits: with 40 + this, 340 to account
# for balances the 340 accounted for to 28 digits, not exactly.
STARTED_BEYOND_28_DIGITS = "300.000000000000000000000000001"


def _close_beyond_28_digits() -> dict:
    data = copy.deepcopy(DEMO_CLOSE)
    assembly = next(s for p in data["products"] if p["name"] == "Espresso Classic"
                    for s in p["stages"] if s["name"] == "Assembly")
    assembly["started"] = STARTED_BEYOND_28_DIGITS
    return data


def test_a_case_recorded_with_units_balanced_to_28_digits_resolves_again_as_recorded():
    stages = copy.deepcopy(next(p for p in DEMO_CLOSE["products"] if p["name"] == "Espresso Classic")["stages"])
    for stage in stages:
        for key in ("driver_quantity", "count"):
            stage.pop(key, None)
    stages[0]["started"] = STARTED_BEYOND_28_DIGITS
    case = {"currency": "USD", "method": "fifo", "stages": stages}
    fresh, fresh_issues = costing.resolve_case(case)
    assert fresh is None and [(i.code, i.path) for i in fresh_issues] == [("UNIT_FLOW", "stages[0]")]
    recorded, recorded_issues = costing.resolve_case(case, recorded=True)
    assert recorded_issues == [] and recorded.stages[0].input_units == Decimal(STARTED_BEYOND_28_DIGITS)


def test_a_process_account_normal_loss_above_the_units_to_account_for_resolves_again_as_recorded():
    """The engine before the check costed such a loss when every element with costs still had
    equivalent units (conversion only, losses found half-way): a recorded close is not refused."""
    case = {"currency": "GBP", "method": "weighted_average", "loss_convention": "process_account",
            "stages": [{"name": "Mixing", "elements": {"conversion": {"kind": "conversion", "added": "evenly"}},
                        "started": 100, "completed": 100, "added_costs": {"conversion": 1000},
                        "normal_loss": {"units": 150, "inspection": 0.5}}]}
    assert [(i.code, i.path) for i in costing.resolve_case(case)[1]] == [("UNIT_FLOW", "stages[0].normal_loss.units")]
    recorded, issues = costing.resolve_case(case, recorded=True)
    assert issues == [] and recorded.stages[0].normal_loss.units == 150


def test_a_ledger_recorded_with_units_balanced_to_28_digits_still_reports(tmp_path, capsys, monkeypatch):
    db = tmp_path / "ledger.db"
    # Recorded as the engine before exact unit comparison recorded it: units compared to 28 digits.
    with monkeypatch.context() as before_exact_units:
        before_exact_units.setattr(resolve_module, "EXACT_UNITS", resolve_module._RECORDED_UNITS)
        before_exact_units.setattr(fast_module, "EXACT_UNITS", resolve_module._RECORDED_UNITS)
        with Ledger(db) as ledger:
            close_period(_close_beyond_28_digits(), ledger, user="test")
    capsys.readouterr()
    assert main(["report", "--period", "2026-10", "--ledger", str(db)]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "Espresso Classic" in out
