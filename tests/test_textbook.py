"""Textbook cases with published answers reproduce to the cent (sources in tests/textbook/SOURCES.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
import yaml

import costing

CASES = sorted(p for p in (Path(__file__).parent / "textbook").glob("*.yaml") if not p.name.endswith(".expected.yaml"))


def _expected(case: Path) -> dict:
    return yaml.safe_load(case.with_name(case.stem + ".expected.yaml").read_text())


@pytest.mark.parametrize("case_file", CASES, ids=lambda p: p.stem)
def test_published_answers(case_file: Path):
    expected = _expected(case_file)
    report = costing.cost_case(costing.load_case(case_file))
    checked = 0
    for want in expected["stages"]:
        got = report.stage(want["name"])
        for element, eu in want.get("equivalent_units", {}).items():
            assert got.equivalent_units[element] == Decimal(eu), (want["name"], element)
            checked += 1
        rounded = set(want.get("rounded_rate", []))
        for element, rate in want.get("cost_per_eu", {}).items():
            engine_rate = got.cost_per_eu[element]
            if element in rounded:  # the source rounded the rate; compare at its places
                engine_rate = engine_rate.quantize(Decimal(rate))
            assert engine_rate == Decimal(rate), (want["name"], element)
            checked += 1
        amounts = {
            "transferred_out": got.transferred_out.total,
            "ending_wip": got.ending_wip.total,
            "normal_spoilage": got.normal_spoilage.total,
            "abnormal_spoilage": got.abnormal_spoilage.total,
        }
        exact = want.get("exact", {})
        for key, engine_amount in amounts.items():
            if key in want:
                assert engine_amount == Decimal(exact.get(key, want[key])), (want["name"], key)
                checked += 1
    assert checked, "the expected file publishes nothing to compare"


@pytest.mark.parametrize("case_file", [c for c in CASES if any("transferred_out_layers" in w
                                                                for w in _expected(c)["stages"])],
                         ids=lambda p: p.stem)
def test_published_fifo_layers_of_the_cost_transferred_out(case_file: Path):
    """Step 5 under FIFO as the sources lay it out: beginning WIP's own cost, the cost added to
    complete it, and the units started and completed (``transferred_out_parts``)."""
    from costing._engine import equivalent_unit_parts, transferred_out_parts

    wanted = [w for w in _expected(case_file)["stages"] if "transferred_out_layers" in w]
    case = costing.load_case(case_file)
    report = costing.cost_case(case)
    stages = {s.name: s for s in case.stages}
    for want in wanted:
        got = report.stage(want["name"])
        layers = transferred_out_parts(got, equivalent_unit_parts(stages[want["name"]], got, report.method),
                                       case.rounding)
        for layer, amount in want["transferred_out_layers"].items():
            assert sum(getattr(part, layer) for part in layers.values()) == Decimal(amount), (want["name"], layer)


def test_at_least_three_sources_and_both_methods():
    sources = {_expected(c)["source"].split(",")[0] for c in CASES}
    methods = {yaml.safe_load(c.read_text())["method"] for c in CASES}
    assert len(sources) >= 3, sources
    assert methods == {"weighted_average", "fifo"}
