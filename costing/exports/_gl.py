"""gl-csv: a generic general-ledger detail file for auditors (AICPA Audit Data Standard flavour).

One row per journal line, both amount columns always filled (``0.00`` on the other side) so a
spreadsheet or an audit tool can sum them without blanks; the account code is the key, its name
rides along for reading.  ``source`` is the command that posted the journal: ``wip close 2026-10``,
or for a reversal ``wip reopen 2026-10 (reversal of close #1)``.  ``close_no`` is the close the
journal belongs to (the close that posted it, or for a reversal the close it reverses; blank for a
journal no close posted), ``reversal`` ``Y`` or ``N``, ``reversed_journal_id`` the journal a
reversal reverses.  No entered-by or entered-date: the same close recorded in two ledgers (at other
times, by other users) gives the same bytes (``docs/exports.md``).
"""

from __future__ import annotations

from ._common import PreparedBook, csv_bytes, file_name, text

__all__ = ["render"]

HEADER = ("journal_id", "line", "date", "account_code", "account_name", "debit", "credit", "currency",
          "description", "memo", "source", "close_no", "reversal", "reversed_journal_id")


def render(book: PreparedBook) -> dict[str, bytes]:
    rows = []
    for journal in book.journals:
        close_no = "" if journal.close_no is None else str(journal.close_no)
        for line in journal.lines:
            # keys as they are: prepare() refused any that a spreadsheet could misread
            rows.append((journal.id, str(line.number), journal.date.isoformat(), line.account.code,
                         line.account.name, book.amount(line.debit), book.amount(line.credit), book.currency,
                         text(journal.narration), text(line.memo), text(journal.source), close_no,
                         "Y" if journal.reverses else "N", journal.reverses))
    return {file_name(book.period, "gl", "csv"): csv_bytes(HEADER, rows)}
