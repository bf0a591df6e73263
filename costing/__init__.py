"""WIP process costing: equivalent units, cost per equivalent unit and assignment by stage.

The public API is what ``__all__`` lists; everything in underscore modules is private.

>>> report = cost_case({
...     "currency": "USD", "method": "weighted_average",
...     "stages": [{"name": "Assembly",
...                 "elements": {"materials": {"kind": "material", "added": "start"},
...                              "conversion": {"kind": "conversion", "added": "evenly"}},
...                 "started": 100, "completed": 80,
...                 "ending_wip": {"units": 20, "complete": 0.5},
...                 "added_costs": {"materials": 1000, "conversion": 900}}]})
>>> stage = report.stage("Assembly")
>>> stage.cost_per_eu["conversion"], stage.transferred_out.total, stage.ending_wip.total
(Decimal('10.0'), Decimal('1600.00'), Decimal('300.00'))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._currency import is_known_currency, quantum
from ._engine import cost_stage, element_completion
from ._errors import CostingError, Issue
from ._model import (
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
from ._numbers import EXCEL_ERRORS, ROUNDING_MODES, NumberError, from_excel, to_decimal
from ._period import is_period
from ._spelling import edit_distance
from ._report import (
    Assigned,
    CaseReport,
    CostsToAccountFor,
    LossValue,
    PhysicalUnits,
    ProcessAccounts,
    ProcessAccountStageReport,
    ScrapValue,
    SpoilageCost,
    StageReport,
    TAccount,
    TAccountLine,
    report_json,
)
from ._resolve import resolve_case
from ._spec import CaseSpec, StageSpec

__version__ = "0.6.0"

__all__ = [
    # entry points
    "load_case",
    "resolve_case",
    "cost_case",
    "cost_stage",
    "element_completion",
    # input as written, and as resolved
    "CaseSpec",
    "StageSpec",
    "Case",
    "Stage",
    "Element",
    "ElementKind",
    "Method",
    "LossConvention",
    "UnitGroup",
    "Spoilage",
    "NormalLoss",
    "TRANSFERRED_IN",
    # the report
    "CaseReport",
    "StageReport",
    "PhysicalUnits",
    "CostsToAccountFor",
    "Assigned",
    "SpoilageCost",
    "report_json",
    # the report under loss_convention: process_account
    "ProcessAccountStageReport",
    "LossValue",
    "ScrapValue",
    "ProcessAccounts",
    "TAccount",
    "TAccountLine",
    # values read as the engine reads them, for adapters that take input elsewhere (the Excel add-in)
    "to_decimal",
    "from_excel",
    "EXCEL_ERRORS",
    "NumberError",
    "ROUNDING_MODES",
    "is_known_currency",
    "quantum",
    "is_period",
    "edit_distance",
    # problems
    "Issue",
    "CostingError",
    "__version__",
]


def load_case(path: str | Path) -> Case:
    """Read and resolve a case file (YAML or JSON); raises CostingError with every problem found."""
    from ._casefile import read_data_file  # the file boundary: importing the core reads no files

    data, issues = read_data_file(path)
    if not issues:
        case, issues = resolve_case(data)
    if issues:
        raise CostingError([i.with_source(str(path)) for i in issues])
    return case


def cost_case(case: Case | CaseSpec | dict[str, Any]) -> CaseReport:
    """Cost a case: a resolved ``Case``, a ``CaseSpec``, or the same structure as a dict."""
    from ._engine import cost_resolved_case, refuse_floats

    if not isinstance(case, Case):
        resolved, issues = resolve_case(case)
        if issues:
            raise CostingError(issues)
        case = resolved
    else:  # built by Python code: the core takes no float (a dict's floats are converted as it is resolved)
        refuse_floats(case)
    return cost_resolved_case(case)
