"""Reading closes out of the ledger for the variance reports — the I/O boundary of this package.

Everything else in ``costing.variance`` computes on the ``StoredClose`` values built here.
"""

from __future__ import annotations

from ..close import RollForward
from ..ledger import ClosedPeriod, Ledger
from ._history import StoredClose

__all__ = ["load_closes", "current_closes", "each_current_close", "reclosed_periods"]


def load_closes(ledger: Ledger, period: str) -> list[StoredClose]:
    """Every close of ``period``, oldest first, each with the opening position it was closed from."""
    read = _Reader(ledger)
    return [read(closed) for closed in ledger.closes(period)]


def current_closes(ledger: Ledger, upto: str, last: int | None = None) -> list[StoredClose]:
    """The current close of every closed period up to and including ``upto``, in period order (only
    the ``last`` of them, when given)."""
    return list(each_current_close(ledger, upto, last))


def each_current_close(ledger: Ledger, upto: str, last: int | None = None, *, light: bool = False):
    """``current_closes`` one at a time, so that a reader keeping only a little of each (the flow
    report: units) holds one month's close at once, not every month's — a large plant's close is
    hundreds of MB decoded.  ``light``: without what such a reader does not need, the opening
    position it was closed from and its journals (``StoredClose.prior`` and ``.journals`` None)."""
    periods = [p for p in ledger.periods() if p <= upto and ledger.status(p) == "closed"]
    if last is not None:
        periods = periods[-last:] if last > 0 else []
    read = _Reader(ledger, light=light)
    for period in periods:
        closed = ledger.current_close(period)
        if closed is not None:
            yield read(closed)


class _Reader:
    """A ``ClosedPeriod`` as a ``StoredClose``: with the opening position it was closed from and,
    for a re-close, the reason of the reopen before it (the ledger's events read once)."""

    def __init__(self, ledger: Ledger, *, light: bool = False):
        self._ledger, self._light = ledger, light
        self._events = ledger.events()
        self._by_seq = {e.seq: e for e in self._events}
        self._sources: dict[str, list[ClosedPeriod]] = {}

    def __call__(self, closed: ClosedPeriod) -> StoredClose:
        period = closed.event.period
        prior = None
        source_seq = closed.event.opening_from
        if source_seq is not None and not self._light:
            source_period = self._by_seq[source_seq].period
            if source_period not in self._sources:
                self._sources[source_period] = self._ledger.closes(source_period)
            prior = next(c.state for c in self._sources[source_period] if c.event.seq == source_seq)
        reason = ""
        if closed.event.close_no > 1:
            reopens = [e for e in self._events
                       if e.kind == "reopen" and e.period == period and e.seq < closed.event.seq]
            reason = reopens[-1].reason if reopens else ""
        return StoredClose(period=period, close_no=closed.event.close_no, seq=closed.event.seq,
                           recorded_at=closed.event.recorded_at, inputs=closed.inputs,
                           parameters=closed.parameters, prior=prior, state=closed.state,
                           rollforward=RollForward.model_validate(closed.rollforward), reports=closed.reports,
                           reopen_reason=reason, journals=None if self._light else closed.journals)


def reclosed_periods(ledger: Ledger, periods: list[str]) -> dict[str, list[StoredClose]]:
    """Of ``periods``, those closed more than once, with all their closes."""
    out = {}
    for period in periods:
        if len(ledger.closes(period)) > 1:
            out[period] = load_closes(ledger, period)
    return out
