"""A case file has no locale: an amount typed like 36.000 is 36.00 there, whatever locale `wip cost`
prints the report in (docs/case-file.md, Numbers).  A close file whose locale groups thousands with
'.' refuses it (tests/test_quoted_grouped.py); `--locale` is the reader's, not the writer's, so it
does not change how the file is read: the same file costs the same printed, as --json and through
costing.load_case."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from costing import cost_case, load_case
from costing._casefile import read_data_file
from costing._numbers import TypedLikeGrouped, to_decimal
from costing.cli import main

# Brew Works' Assembly in EUR; materials typed as de_DE writes 36000 (36.000), conversion quoted ("16.380").
_CASE_YAML = """\
currency: EUR
method: weighted_average
stages:
  - name: Assembly
    elements:
      materials:  {kind: material,   added: start}
      conversion: {kind: conversion, added: evenly}
    beginning_wip: {units: 225, complete: 0.6, cost: {materials: 18000, conversion: 8100}}
    started: 275
    completed: 400
    ending_wip: {units: 100, complete: 0.5}
    added_costs: {materials: 36.000, conversion: "16.380"}
"""

_CASE_JSON = """\
{"currency": "EUR", "method": "weighted_average",
 "stages": [{"name": "Assembly",
             "elements": {"materials": {"kind": "material", "added": "start"},
                          "conversion": {"kind": "conversion", "added": "evenly"}},
             "beginning_wip": {"units": 225, "complete": 0.6, "cost": {"materials": 18000, "conversion": 8100}},
             "started": 275, "completed": 400, "ending_wip": {"units": 100, "complete": 0.5},
             "added_costs": {"materials": 36.000, "conversion": "16.380"}}]}
"""


@pytest.fixture(params=[".yaml", ".json"])
def case_path(request, tmp_path):
    path = tmp_path / f"case{request.param}"
    path.write_text(_CASE_YAML if request.param == ".yaml" else _CASE_JSON)
    return path


def test_the_amounts_are_read_as_marked_like_grouped(case_path):
    # The file reader marks them as a close file's are: what follows is a decision, not a blind spot.
    data, issues = read_data_file(case_path)
    added = data["stages"][0]["added_costs"]
    assert not issues
    assert type(added["materials"]) is TypedLikeGrouped
    assert type(to_decimal(added["conversion"])) is TypedLikeGrouped


def test_a_case_file_costs_36_000_as_36_00(case_path):
    case = load_case(case_path)
    assembly = next(s for s in case.stages if s.name == "Assembly")
    assert assembly.added_costs == {"materials": Decimal("36.00"), "conversion": Decimal("16.38")}
    assert str(assembly.added_costs["materials"]) == "36.00"  # the currency's places, as posted amounts carry
    report = cost_case(case)
    stage = next(s for s in report.stages if s.name == "Assembly")
    assert stage.costs_to_account_for.added == Decimal("52.38")


def test_wip_cost_under_de_DE_prints_the_amount_as_read(case_path, capsys):
    assert main(["cost", "--locale", "de_DE", str(case_path)]) == 0
    captured = capsys.readouterr()
    assert "AMOUNT_PRECISION" not in captured.err
    step_3 = captured.out.split("Step 3  Costs to account for\n")[1].split("\n\n")[0]
    rows = {re.split(r"\s{2,}", line.strip())[0]: line.split() for line in step_3.splitlines()[1:]}
    # Beside beginning WIP's 18.000,00 the reader sees 36,00: the slip shows where costs added are checked.
    assert rows["Beginning WIP"][-3:] == ["18.000,00", "8.100,00", "26.100,00"]
    assert rows["Added this period"][-3:] == ["36,00", "16,38", "52,38"]


@pytest.mark.parametrize("locale", ["de_DE", "en_US", "it_IT"])
def test_the_report_locale_does_not_change_the_figures(case_path, capsys, locale):
    assert main(["cost", "--json", "--locale", locale, str(case_path)]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    stage = next(s for s in report["stages"] if s["name"] == "Assembly")
    assert stage["costs_to_account_for"] == {"beginning_wip": "26100.00", "added": "52.38", "total": "26152.38"}
