"""Golden production cost reports (text and JSON) for the demo and the textbook cases."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costing.cli import main

ROOT = Path(__file__).resolve().parent.parent
CASES = [ROOT / "examples/demo/case.yaml"] + sorted(
    p for p in (ROOT / "tests/textbook").glob("*.yaml") if not p.name.endswith(".expected.yaml"))
# loss_convention: process_account (the published examples in tests/process_account/).
PROCESS_ACCOUNT_CASES = sorted((ROOT / "tests/process_account/cases").glob("*.yaml"))

STAGE_KEYS = {"name", "physical_units", "equivalent_units", "cost_per_eu", "costs_to_account_for",
              "transferred_out", "ending_wip", "normal_spoilage", "abnormal_spoilage"}
# Only under loss_convention: process_account; the spoilage report keeps exactly STAGE_KEYS.
PROCESS_ACCOUNT_KEYS = {"normal_loss", "abnormal_loss", "abnormal_gain", "scrap"}


@pytest.mark.parametrize("case_file", CASES + PROCESS_ACCOUNT_CASES, ids=lambda p: p.stem)
def test_json_report(case_file, capsys, monkeypatch, data_regression):
    monkeypatch.chdir(ROOT)
    assert main(["cost", "--json", str(case_file.relative_to(ROOT))]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert len(reports) == 1
    assert set(reports[0]) == {"currency", "method", "stages"}
    process_account = case_file in PROCESS_ACCOUNT_CASES
    for stage in reports[0]["stages"]:
        assert set(stage) == (STAGE_KEYS | PROCESS_ACCOUNT_KEYS if process_account else STAGE_KEYS)
        if process_account:
            for key in ("normal_loss", "abnormal_loss", "abnormal_gain"):
                assert set(stage[key]) == {"units", "total"}
            assert set(stage["scrap"]) == {"total"}
        assert set(stage["physical_units"]) == {"beginning_wip", "started", "transferred_in", "completed",
                                                "ending_wip", "normal_spoilage", "abnormal_spoilage"}
        assert set(stage["costs_to_account_for"]) == {"beginning_wip", "added", "total"}
        assert set(stage["transferred_out"]) == set(stage["ending_wip"]) == {"total", "by_element"}
        for key in ("normal_spoilage", "abnormal_spoilage"):
            # `total` is net of disposal value, as it always was; `net` and `gross` say which is which.
            spoilage = stage[key]
            assert set(spoilage) == {"total", "disposal_value", "gross", "net"}
            assert spoilage["net"] == spoilage["total"]
            assert Decimal(spoilage["gross"]) == Decimal(spoilage["net"]) + Decimal(spoilage["disposal_value"])
    data_regression.check(reports[0])


@pytest.mark.parametrize("case_file", CASES[:3], ids=lambda p: p.stem)
def test_text_report(case_file, capsys, monkeypatch, file_regression):
    monkeypatch.chdir(ROOT)
    assert main(["cost", str(case_file.relative_to(ROOT))]) == 0
    out = capsys.readouterr().out
    assert "Costs to account for = costs accounted for: OK" in out
    file_regression.check(out, extension=".txt")


@pytest.mark.parametrize("case_file", [p for p in PROCESS_ACCOUNT_CASES if p.stem.startswith(("bpp", "politeknik"))],
                         ids=lambda p: p.stem)
def test_process_account_text_report(case_file, capsys, monkeypatch, file_regression):
    monkeypatch.chdir(ROOT)
    assert main(["cost", str(case_file.relative_to(ROOT))]) == 0
    out = capsys.readouterr().out
    assert "Costs to account for = costs accounted for: OK" in out
    assert "Process account — " in out
    file_regression.check(out, extension=".txt")


def test_text_report_in_another_locale(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert main(["cost", "--locale", "de_DE", "examples/demo/case.yaml"]) == 0
    out = capsys.readouterr().out
    assert "52.480,00" in out  # Assembly transferred out, German grouping and decimal comma


def test_spoilage_cost_says_gross_and_net_of_disposal_value(capsys, monkeypatch):
    """Testing in the demo case spoils units with a disposal value: `total` stays the net cost (JSON
    consumers read it so), and `gross`/`net` beside it name the two figures an accountant books."""
    monkeypatch.chdir(ROOT)
    assert main(["cost", "--json", "examples/demo/case.yaml"]) == 0
    [report] = json.loads(capsys.readouterr().out)
    spoiled = [(stage["name"], key, stage[key]) for stage in report["stages"]
               for key in ("normal_spoilage", "abnormal_spoilage") if stage[key]["disposal_value"] != "0.00"]
    assert spoiled
    for _, _, cost in spoiled:
        assert cost["net"] == cost["total"]
        assert Decimal(cost["gross"]) - Decimal(cost["disposal_value"]) == Decimal(cost["net"])
        assert Decimal(cost["gross"]) > Decimal(cost["net"])
        assert len(cost["gross"].split(".")[1]) == 2  # money with the currency's places


def test_several_files_give_one_json_object_each(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    files = [str(p.relative_to(ROOT)) for p in CASES[:3]]
    assert main(["cost", "--json", *files]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3


def test_schema_is_json_schema_of_the_case_file(capsys):
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert set(schema["properties"]) == {"currency", "method", "rounding", "loss_convention", "stages"}
    assert schema["required"] == ["currency", "method", "stages"]
