"""Variance audit: what moved between two month-ends and why, standard-cost variances, WIP flow.

- ``build_bridge`` / ``build_variance_report``: the period-over-period bridge of cost added,
  transferred out, ending WIP and COGS by product, stage and element, decomposed by sequential
  substitution (volume → mix → completion → price), exact to the minor unit; the method effect
  (the period re-costed under the other method) and late changes (a reopened period's two closes);
  the bridge's COGS (units shipped, before the overhead true-up) reconciled to COGS as posted.
- ``resolve_standards`` / ``standards_report``: process costing at standard and the textbook
  variances (price/usage, rate/efficiency, overhead spending/efficiency/production-volume).
- ``build_flow``: throughput, average WIP, Little's-law cycle time and its trend, bottleneck, order
  forecasts and finished-goods weeks of cover.

Computation is pure; the ledger is read by ``load_closes`` / ``current_closes`` (the adapter), the
text tables and xlsx sheets are written by ``costing.variance._render`` and ``._xlsx``, and the
commands live in ``costing.variance._cli`` (``wip variance``, ``wip standards``, ``wip flow``).
Documented in docs/variance.md.
"""

from ._bridge import COMPONENTS, Bridge, BridgeLine, CloseRef, Drivers, Explanation, Materiality, build_bridge
from ._figures import LineFigures, Metric, PeriodFigures, figures_from_close
from ._flow import (
    COVER_PERIODS,
    TREND_PERIODS,
    Cover,
    FlowReport,
    Order,
    OrderForecast,
    PeriodUnits,
    ProductStageFlow,
    StageFlow,
    TrendPoint,
    build_flow,
    resolve_orders,
    units_of,
)
from ._history import (
    CogsAsPosted,
    CogsLine,
    InputChange,
    LateChange,
    MethodEffect,
    MethodEffectLine,
    StoredClose,
    Tie,
    VarianceReport,
    build_variance_report,
    method_effect,
    recompute,
    tie_to_rollforwards,
)
from ._ledger import current_closes, each_current_close, load_closes, reclosed_periods
from ._standards import (
    ElementVariance,
    OverheadApplied,
    OverheadVariance,
    ResolvedStandards,
    StageAtStandard,
    StandardsReport,
    StandardsSpec,
    Variance,
    WithoutStandard,
    resolve_standards,
    standards_report,
    standards_schema,
)

__all__ = [
    # the bridge
    "Metric", "LineFigures", "PeriodFigures", "figures_from_close", "COMPONENTS", "Materiality", "Drivers",
    "Explanation", "BridgeLine", "CloseRef", "Bridge", "build_bridge",
    # the variance report over stored closes
    "StoredClose", "recompute", "MethodEffect", "MethodEffectLine", "method_effect", "InputChange", "LateChange",
    "Tie", "tie_to_rollforwards", "CogsLine", "CogsAsPosted", "VarianceReport", "build_variance_report",
    # standard costs
    "StandardsSpec", "ResolvedStandards", "resolve_standards", "standards_report", "standards_schema",
    "StandardsReport", "ElementVariance", "OverheadVariance", "OverheadApplied", "StageAtStandard", "Variance",
    "WithoutStandard",
    # flow and cover
    "PeriodUnits", "units_of", "Order", "resolve_orders", "build_flow", "FlowReport", "StageFlow", "TrendPoint",
    "ProductStageFlow", "OrderForecast", "Cover", "COVER_PERIODS", "TREND_PERIODS",
    # reading the ledger
    "load_closes", "current_closes", "each_current_close", "reclosed_periods",
]
