"""Month-end close: cost every product line, overhead applied vs actual, finished goods and COGS,
count differences, balanced journals and a WIP roll-forward that ties to them.

Pure computation (``resolve_close`` → ``compute_close`` → ``build_journals`` /
``build_rollforward``); the ledger and files are handled by ``costing.close_service``.  Two
modules here are not part of it: ``_render`` (the text writer, babel) and ``_transport`` (how a
plan made in a child process reaches the parent).
"""

from ._compute import CloseResult, CountAdjustment, OverheadLine, ProductResult, ProrationShare, compute_close
from .._period import period_end, previous_period
from ._general_ledger import GeneralLedgerTie
from ._journals import build_journals, reversal_book
from ._overhead import apply_overhead
from ._resolve import ClosePlan, ProductPlan, resolve_close
from ._rollforward import FinishedGoodsRow, RollForward, RollForwardRow, TieCheck, build_rollforward
from ._spec import CloseSpec
from ._state import FinishedGoodsLayer, PriorState, StageWip

__all__ = [
    "CloseSpec", "ClosePlan", "ProductPlan", "resolve_close", "previous_period",
    "CloseResult", "ProductResult", "ProrationShare", "OverheadLine", "CountAdjustment", "GeneralLedgerTie",
    "compute_close",
    "build_journals", "reversal_book", "period_end", "apply_overhead",
    "RollForward", "RollForwardRow", "FinishedGoodsRow", "TieCheck", "build_rollforward",
    "StageWip", "FinishedGoodsLayer", "PriorState",
]
