"""qbo: QuickBooks Online journal entry import (CSV).

Grouped by Journal No. (the journal id, at most 21 characters — longer ids are refused, never cut,
since a cut id could collide); account by *name* (``Parent:Sub`` as in the chart); Debits and
Credits both positive, the other left blank; Description is the line memo, or the narration when
the line has none; Name (needed only on AR/AP lines) is left blank.
"""

from __future__ import annotations

from ._common import ExportError, PreparedBook, csv_bytes, file_name, mdy, text

__all__ = ["render", "MAX_JOURNAL_NO"]

HEADER = ("Journal No.", "Journal Date", "Account Name", "Debits", "Credits", "Description", "Name")
MAX_JOURNAL_NO = 21


def render(book: PreparedBook) -> dict[str, bytes]:
    rows = []
    for journal in book.journals:
        if len(journal.id) > MAX_JOURNAL_NO:
            raise ExportError(f"{journal.id}: QuickBooks Online journal numbers take at most {MAX_JOURNAL_NO} "
                              f"characters, this id has {len(journal.id)}")
        for line in journal.lines:
            rows.append((journal.id, mdy(journal.date), line.account.name,  # keys, checked by prepare()
                         book.amount(line.debit) if line.amount > 0 else "",
                         book.amount(line.credit) if line.amount < 0 else "",
                         text(line.memo or journal.narration), ""))
    return {file_name(book.period, "qbo", "csv"): csv_bytes(HEADER, rows)}
