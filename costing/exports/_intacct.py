"""intacct: Sage Intacct General Ledger journal entry import (CSV), numbered files of ≤ 5,000 lines.

The header fields JOURNAL (the journal symbol, ``journal``, default "GJ"), DATE (MM/DD/YYYY — pick
that date format when importing) and DESCRIPTION are written on the first line of each entry only;
LINE_NO restarts at 1 per entry.  DESCRIPTION is the journal id and narration cut to Intacct's 30
characters at a word boundary (the id always fits whole or is refused); MEMO is the line memo, or the full narration
when the line has none.  ACCT_NO is the account code; LOCATION_ID and DEPT_ID are the ``location_id``
and ``dept_id`` options (blank by default) on every line.  DEBIT and CREDIT positive, the other
blank.  Files are ``journals-YYYY-MM.intacct-1.csv``, ``-2``, ...; an entry is never split.

Intacct ignores any row that starts with ``#`` (its templates' DONOTIMPORT description row); JOURNAL
is the first field of an entry's first row, so a journal symbol starting with ``#`` is refused.
"""

from __future__ import annotations

from ._common import (ExportError, PreparedBook, csv_bytes, file_name, mdy, numbered_family, option_key,
                      split_journals, text)

__all__ = ["render", "stale", "MAX_LINES", "DESCRIPTION_LENGTH"]

HEADER = ("JOURNAL", "DATE", "DESCRIPTION", "LINE_NO", "ACCT_NO", "LOCATION_ID", "DEPT_ID", "MEMO", "DEBIT",
          "CREDIT")
MAX_LINES = 5000  # journal lines per file, header not counted
DESCRIPTION_LENGTH = 30  # Intacct's limit on an entry's description


def description(journal) -> str:
    """``WIP-2026-10-003 Transfer to`` — id and narration, at most 30 characters, cut between words
    (a word cut in half reads as a typo in Intacct's journal list), ends stripped.

    >>> from types import SimpleNamespace as J
    >>> description(J(id="WIP-2026-10-001", narration="Materials issued to production"))
    'WIP-2026-10-001 Materials'
    >>> description(J(id="WIP-2026-10-001", narration="Transfers"))
    'WIP-2026-10-001 Transfers'
    """
    if len(journal.id) > DESCRIPTION_LENGTH:
        raise ExportError(f"{journal.id}: longer than the {DESCRIPTION_LENGTH} characters of an Intacct description")
    whole = f"{journal.id} {journal.narration}".strip()
    if len(whole) <= DESCRIPTION_LENGTH:
        return whole
    cut = whole[:DESCRIPTION_LENGTH + 1].rfind(" ")  # a space right after the limit keeps the last word
    return whole[:cut].strip() if cut >= len(journal.id) else whole[:DESCRIPTION_LENGTH].strip()


def render(book: PreparedBook, *, journal: str = "GJ", location_id: str = "", dept_id: str = "",
           max_lines: int = MAX_LINES) -> dict[str, bytes]:
    # Intacct matches the journal symbol and the dimension ids: refused if unsafe, never altered.
    option_key(journal, "Intacct journal symbol", required=True)
    if journal.startswith("#"):
        # JOURNAL is the first field of an entry's first row, and Intacct skips every row starting with '#'
        raise ExportError(f"Intacct journal symbol {journal!r} cannot be exported: it starts with #, and Intacct "
                          f"ignores every CSV row that starts with #, so each entry would lose its first line")
    option_key(location_id, "Intacct location id")
    option_key(dept_id, "Intacct department id")
    files = {}
    for number, entries in enumerate(split_journals(book.journals, max_lines, "Sage Intacct"), start=1):
        rows = []
        for entry in entries:
            for line in entry.lines:
                first = line.number == 1
                rows.append((journal if first else "", mdy(entry.date) if first else "",
                             text(description(entry)) if first else "", str(line.number), line.account.code,
                             location_id, dept_id, text(line.memo or entry.narration),
                             book.amount(line.debit) if line.amount > 0 else "",
                             book.amount(line.credit) if line.amount < 0 else ""))
        files[file_name(book.period, "intacct", "csv", number)] = csv_bytes(HEADER, rows)
    return files


def stale(period: str):
    return numbered_family(period, "intacct", "csv")
