"""The public surface of `costing` is what __all__ says; this pins it (changes are deliberate)."""

from __future__ import annotations

from dataclasses import replace

from decimal import Context, Decimal

from pydantic import BaseModel

import pytest

import costing
from costing._numbers import require_decimal
from costing._report import StageReport


def test_public_api_is_pinned():
    assert sorted(costing.__all__) == sorted([
        "load_case", "resolve_case", "cost_case", "cost_stage", "element_completion",
        "CaseSpec", "StageSpec", "Case", "Stage", "Element", "ElementKind", "Method", "UnitGroup", "Spoilage",
        "TRANSFERRED_IN", "CaseReport", "StageReport", "PhysicalUnits", "CostsToAccountFor", "Assigned",
        "SpoilageCost", "report_json", "Issue", "CostingError", "__version__",
        # loss_convention: process_account
        "LossConvention", "NormalLoss", "ProcessAccountStageReport", "LossValue", "ScrapValue", "ProcessAccounts",
        "TAccount", "TAccountLine",
    ])
    for name in costing.__all__:
        assert hasattr(costing, name), name


def test_core_modules_do_no_io():
    """The pure core (engine, model, rounding, report) imports no file, workbook or database module."""
    import ast
    from pathlib import Path

    pure = ["_engine.py", "_model.py", "_rounding.py", "_report.py", "_numbers.py", "_errors.py", "_resolve.py", "_spec.py",
            "_process_account.py"]
    forbidden = {"os", "io", "pathlib", "sqlite3", "openpyxl", "xlwings", "yaml", "json", "csv", "subprocess"}
    for name in pure:
        tree = ast.parse((Path(costing.__file__).parent / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = {node.module.split(".")[0]}
            else:
                continue
            assert not mods & forbidden, (name, mods & forbidden)


def test_importing_the_core_and_the_close_computation_loads_no_io_module():
    """What the source scan above cannot see: modules pulled in through packages' __init__ and
    relative imports.  A fresh interpreter imports the pure modules; no I/O module may be loaded."""
    import subprocess
    import sys

    pure = ["costing._engine", "costing._rounding", "costing._resolve", "costing._process_account",
            "costing.close._compute", "costing.close._resolve", "costing.close._rollforward", "costing.close._journals"]
    code = ("import sys\n" + "".join(f"import {m}\n" for m in pure)
            + "print(sorted(m for m in ('sqlite3', 'openpyxl', 'xlwings', 'yaml', 'subprocess') "
              "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]", loaded


def test_the_core_refuses_floats():
    with pytest.raises(TypeError, match="Decimal"):
        require_decimal(0.1, "cost")
    assert require_decimal(Decimal("0.1"), "cost") == Decimal("0.1")
    case, issues = costing.resolve_case({
        "currency": "USD", "method": "fifo",
        "stages": [{"name": "A", "elements": {"m": {"kind": "material", "added": "start"}},
                    "started": 3, "completed": 3, "added_costs": {"m": "0.10"}}]})
    assert not issues
    stage = case.stages[0]
    report = costing.cost_stage(stage, case.method, case.quantum, case.rounding)  # all Decimal: costed
    assert report.transferred_out.total == Decimal("0.10")
    with pytest.raises(TypeError, match=r"A: added_costs.m: the costing core takes Decimal, not float \(0.1\)"):
        costing.cost_stage(replace(stage, added_costs={"m": 0.1}), case.method, case.quantum, case.rounding)
    with pytest.raises(TypeError, match="quantum: the costing core takes Decimal, not float"):
        costing.cost_stage(stage, case.method, 0.01, case.rounding)
    with pytest.raises(TypeError, match=r"A: ending.units: the costing core takes Decimal, not float"):
        costing.cost_case(replace(case, stages=(replace(stage, ending=replace(stage.ending, units=0.0)),)))
    assert costing.cost_case(case).stages[0].transferred_out.total == Decimal("0.10")


def test_floats_from_the_edge_are_converted_exactly():
    report = costing.cost_case({
        "currency": "USD", "method": "fifo",
        "stages": [{"name": "A", "elements": {"m": {"kind": "material", "added": "start"}},
                    "started": 3, "completed": 3, "added_costs": {"m": 0.1}}]})
    assert report.stage("A").transferred_out.total == Decimal("0.10")
    assert report.stage("A").cost_per_eu["m"] == Context(prec=34).divide(Decimal("0.1"), 3)


def test_fast_report_construction_equals_a_validated_model():
    report = costing.cost_case(costing.load_case("examples/demo/case.yaml"))
    def fields(model):  # every field, excluded ones included (model_dump leaves those out)
        return {k: fields(v) if isinstance(v, BaseModel) else v for k, v in model.__dict__.items()}

    for stage in report.stages:
        rebuilt = StageReport.model_validate(fields(stage))
        assert rebuilt == stage
        assert rebuilt.model_dump(mode="json") == stage.model_dump(mode="json")
