"""The public surface of `costing` is what __all__ says; this pins it (changes are deliberate)."""

from __future__ import annotations

import ast
import re
from dataclasses import replace
from pathlib import Path

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
        # values read as the engine reads them (numbers, spreadsheet cells, currencies, periods)
        "to_decimal", "from_excel", "EXCEL_ERRORS", "NumberError", "ROUNDING_MODES", "is_known_currency", "quantum",
        "is_period",
        # names as typed: how far a slip is from the name meant (variance standards, the add-in's columns)
        "edit_distance",
    ])
    for name in costing.__all__:
        assert hasattr(costing, name), name


def test_cli_support_is_pinned_and_is_what_the_wip_commands_use():
    """``costing.cli_support`` names the very objects the built-in commands use: a subcommand
    defined outside the package exits and prints as they do."""
    import costing.cli_support as cli_support
    from costing import _atomic, _cli_common

    assert sorted(cli_support.__all__) == sorted(["EXIT_INPUT", "print_issues", "is_read_only", "ledger_option_for"])
    assert cli_support.EXIT_INPUT == _cli_common.EXIT_INPUT == 2
    assert cli_support.print_issues is _cli_common.print_issues
    assert cli_support.is_read_only is _atomic.is_read_only


def test_the_reading_helpers_are_the_engines_own():
    """The public names are the engine's functions, not copies: the add-in reads a cell, a currency
    or a period exactly as a case file or the close workbook is read."""
    from costing import _currency, _numbers, _period, _spelling

    for name, private in (("to_decimal", _numbers), ("from_excel", _numbers), ("EXCEL_ERRORS", _numbers),
                          ("NumberError", _numbers), ("ROUNDING_MODES", _numbers), ("is_known_currency", _currency),
                          ("quantum", _currency), ("is_period", _period), ("edit_distance", _spelling)):
        assert getattr(costing, name) is getattr(private, name), name
    assert costing.quantum("JPY") == Decimal("1") and costing.quantum("USD") == Decimal("0.01")
    assert costing.from_excel(0.1 + 0.2) == Decimal("0.3")
    assert costing.is_period("2026-10") and not costing.is_period("2026-13")


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


# ---- adapters outside the package use the public API only ----------------------------------

ADDIN = Path(__file__).resolve().parent.parent / "excel_addin"


def _private(dotted: str) -> bool:
    """A dotted name with a component that starts with an underscore (a dunder such as __version__ is public)."""
    return any(part.startswith("_") and not (part.startswith("__") and part.endswith("__"))
               for part in dotted.split("."))


def _costing_uses(source: str) -> list[tuple[int, str]]:
    """(line, dotted name) for every use of a costing module or name in ``source``: imports,
    attributes reached from an imported costing module, and module names given as text
    (``importlib.import_module("costing.workbook._cli")``)."""
    uses: list[tuple[int, str]] = []
    bound: dict[str, str] = {}  # local name -> the costing module it is bound to
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "costing":
                    uses.append((node.lineno, alias.name))
                    bound[alias.asname or "costing"] = alias.name if alias.asname else "costing"
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] == "costing":
            uses += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"costing(\.\w+)+", node.value):
            uses.append((node.lineno, node.value))
    for node in ast.walk(tree):  # costing.cost_case(...), costing._numbers.to_decimal(...)
        if isinstance(node, ast.Attribute):
            chain, base = [node.attr], node.value
            while isinstance(base, ast.Attribute):
                chain.insert(0, base.attr)
                base = base.value
            if isinstance(base, ast.Name) and base.id in bound:
                uses.append((node.lineno, ".".join([bound[base.id], *chain])))
    return uses


def _unlisted(dotted: str) -> str | None:
    """The part of ``dotted`` that is neither a public module nor in its module's ``__all__``."""
    import importlib

    parts = dotted.split(".")
    module = importlib.import_module(parts[0])
    for k, part in enumerate(parts[1:], start=1):
        name = ".".join(parts[:k + 1])
        try:
            module = importlib.import_module(name)  # a public subpackage or module
            continue
        except ModuleNotFoundError as e:
            if e.name != name:  # a module that exists but fails to import is not "a name in __all__"
                raise
        return None if part in getattr(module, "__all__", ()) else name
    return None


def test_the_scan_finds_private_uses():
    """The scanner below is only as good as what it sees: each way of reaching a private module."""
    for source in ("from costing._numbers import to_decimal", "import costing._period",
                   "from costing import _numbers", "import costing\ncosting._currency.quantum('USD')",
                   "import costing.close as c\nc._overhead.applied_overhead", "import_module('costing._atomic')"):
        assert any(_private(name) for _, name in _costing_uses(source)), source
    assert _unlisted("costing.workbook.read_tables") is None
    assert _unlisted("costing.close.applied_overhead") == "costing.close.applied_overhead"  # exists, not public


def test_the_excel_addin_uses_only_the_public_api():
    """httpx's rule for adapters: excel_addin reaches costing through public modules and the names
    their ``__all__`` lists, never through a private module (any dotted part starting with _)."""
    files = sorted(ADDIN.glob("**/*.py"))
    assert files
    private, unlisted = [], []
    for path in files:
        for line, name in _costing_uses(path.read_text()):
            where = f"{path.relative_to(ADDIN.parent)}:{line}: {name}"
            if _private(name):
                private.append(where)
            elif _unlisted(name):
                unlisted.append(where)
    assert not private, "private costing modules used by the add-in:\n" + "\n".join(private)
    assert not unlisted, "names the add-in uses that their module's __all__ does not list:\n" + "\n".join(unlisted)


def test_rounding_modes_cannot_be_changed_by_a_caller():
    """Public since the add-in reads it: a caller adding a mode would change what the engine posts."""
    import costing

    with pytest.raises(TypeError):
        costing.ROUNDING_MODES["half_down"] = "ROUND_HALF_DOWN"  # type: ignore[index]
    assert set(costing.ROUNDING_MODES) == {"half_up", "half_even"}


def test_a_stage_built_in_python_that_fifo_cannot_cost_is_refused_not_costed():
    """FIFO with fewer units completed than began is costed only as an idle line; the resolver
    refuses the rest.  Review: a Stage built by Python code reached the engine anyway — a process
    account sent all beginning cost out with half the units, and an ending completion below the
    beginning one assigned -150.00 to ending WIP."""
    idle = {"name": "A", "elements": {"m": {"kind": "material", "added": "start"},
                                      "c": {"kind": "conversion", "added": "evenly"}},
            "beginning_wip": {"units": 100, "complete": "0.4", "cost": {"m": "1000", "c": "400"}},
            "started": 0, "completed": 50, "ending_wip": {"units": 50, "complete": "0.6"},
            "added_costs": {"m": "0", "c": "300"}}
    case, issues = costing.resolve_case({"currency": "USD", "method": "fifo", "stages": [idle]})
    assert not issues
    stage = case.stages[0]
    report = costing.cost_stage(stage, case.method, case.quantum, case.rounding)  # the idle line: costed
    assert (report.transferred_out.total, report.ending_wip.total) == (Decimal("925.00"), Decimal("775.00"))
    behind = replace(stage, ending=replace(stage.ending, completion={"m": Decimal(1), "c": Decimal("0.2")}))
    with pytest.raises(ValueError, match="less complete than it began in c"):
        costing.cost_stage(behind, case.method, case.quantum, case.rounding)
    # The progress gone back though every element's completion advanced: the figures stand (the
    # resolver compares the progress where an element takes it).
    back = replace(stage, ending=replace(stage.ending, progress=Decimal("0.3"), completion={"m": Decimal(1),
                                                                                          "c": Decimal("0.6")}))
    assert costing.cost_stage(back, case.method, case.quantum, case.rounding).ending_wip.total == \
        report.ending_wip.total
    with pytest.raises(ValueError, match="with units started"):
        costing.cost_stage(replace(stage, input_units=Decimal(10), ending=replace(stage.ending, units=Decimal(60))),
                           case.method, case.quantum, case.rounding)
    process, issues = costing.resolve_case({"currency": "USD", "method": "weighted_average",
                                            "loss_convention": "process_account",
                                            "stages": [{**idle, "normal_loss": {"rate": 0, "scrap_value": 0}}]})
    assert not issues
    with pytest.raises(ValueError, match="only under weighted average"):
        costing.cost_stage(process.stages[0], costing.Method.FIFO, case.quantum, case.rounding)
