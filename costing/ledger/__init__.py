"""The period ledger: every close and reopen of every period, append-only and hash-chained.

The embedded default store is one SQLite file.  ``Ledger`` is the only I/O boundary the close
service talks to; tests use the same class on a temporary file or ``":memory:"``.
"""

from ._sqlite import ClosedPeriod, Event, Ledger, LedgerError, Verification, refusal_of

__all__ = ["Ledger", "LedgerError", "Event", "ClosedPeriod", "Verification", "refusal_of"]
