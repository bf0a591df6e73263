"""Reading closes out of the ledger for the variance reports — the I/O boundary of this package.

Everything else in ``costing.variance`` computes on the ``StoredClose`` values built here.
"""

from __future__ import annotations

from ..close import RollForward
from ..ledger import ClosedPeriod, Ledger
from ._history import StoredClose

__all__ = ["load_closes", "current_closes", "reclosed_periods"]


def load_closes(ledger: Ledger, period: str) -> list[StoredClose]:
    """Every close of ``period``, oldest first, each with the opening position it was closed from."""
    events = ledger.events()
    by_seq = {e.seq: e for e in events}
    source_cache: dict[str, list[ClosedPeriod]] = {}
    out = []
    for closed in ledger.closes(period):
        prior = None
        source_seq = closed.event.opening_from
        if source_seq is not None:
            source_period = by_seq[source_seq].period
            if source_period not in source_cache:
                source_cache[source_period] = ledger.closes(source_period)
            prior = next(c.state for c in source_cache[source_period] if c.event.seq == source_seq)
        reason = ""
        if closed.event.close_no > 1:
            reopens = [e for e in events if e.kind == "reopen" and e.period == period and e.seq < closed.event.seq]
            reason = reopens[-1].reason if reopens else ""
        out.append(StoredClose(period=period, close_no=closed.event.close_no, seq=closed.event.seq,
                               recorded_at=closed.event.recorded_at, inputs=closed.inputs,
                               parameters=closed.parameters, prior=prior, state=closed.state,
                               rollforward=RollForward.model_validate(closed.rollforward), reports=closed.reports,
                               reopen_reason=reason, journals=closed.journals))
    return out


def current_closes(ledger: Ledger, upto: str) -> list[StoredClose]:
    """The current close of every closed period up to and including ``upto``, in period order."""
    out = []
    for period in ledger.periods():
        if period > upto or ledger.status(period) != "closed":
            continue
        out.append(load_closes(ledger, period)[-1])
    return out


def reclosed_periods(ledger: Ledger, periods: list[str]) -> dict[str, list[StoredClose]]:
    """Of ``periods``, those closed more than once, with all their closes."""
    out = {}
    for period in periods:
        if len(ledger.closes(period)) > 1:
            out[period] = load_closes(ledger, period)
    return out
