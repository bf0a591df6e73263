"""intacct: Sage Intacct General Ledger journal entry import (CSV), numbered files of ≤ 5,000 lines.

The header fields JOURNAL (the journal symbol, ``journal``, default "GJ"), DATE (MM/DD/YYYY — pick
that date format when importing) and DESCRIPTION are written on the first line of each entry only;
LINE_NO restarts at 1 per entry.  DESCRIPTION is the journal id, then as much of the narration as fits
Intacct's 30 characters and reads whole (a close's journals by a short form: "WIP-2026-10-006 Spoilage";
other narrations whole, to a clause end, or between words, never ending on punctuation; the id always
fits whole or is refused); MEMO is the line memo, or the full narration when the line has none.
ACCT_NO is the account code; LOCATION_ID and DEPT_ID are the ``location_id`` and ``dept_id`` options
(blank by default) on every line.  DEBIT and CREDIT positive, the other blank.  Files are
``journals-YYYY-MM.intacct-1.csv``, ``-2``, ...; an entry is never split.

Intacct ignores any row that starts with ``#`` (its templates' DONOTIMPORT description row); JOURNAL
is the first field of an entry's first row, so a journal symbol starting with ``#`` is refused.
"""

from __future__ import annotations

import re

from ..close._journals import Texts
from ._common import (ExportError, PreparedBook, csv_bytes, file_name, mdy, numbered_family, option_key,
                      split_journals, text)

__all__ = ["render", "stale", "MAX_LINES", "DESCRIPTION_LENGTH"]

HEADER = ("JOURNAL", "DATE", "DESCRIPTION", "LINE_NO", "ACCT_NO", "LOCATION_ID", "DEPT_ID", "MEMO", "DEBIT",
          "CREDIT")
MAX_LINES = 5000  # journal lines per file, header not counted
DESCRIPTION_LENGTH = 30  # Intacct's limit on an entry's description


# The close's journal narrations (``Texts``, each posted as "<narration> (YYYY-MM)") in short forms,
# longest first, the first that fits beside the journal id taken: "WIP-2026-10-006 Spoilage", not
# "WIP-2026-10-006 Spoilage:".  A journal carries no kind: its narration says which journal it is.
_SHORT_NARRATIONS: dict[str, tuple[str, ...]] = {
    **{narration: short for (_, _, narration), short in zip(Texts.CHARGES, (
        ("Materials issued", "Materials"), ("Direct labour",), ("Conversion costs", "Conversion"),
        ("Overhead applied", "OH applied")))},
    Texts.TRANSFERS: ("Transfers",),
    Texts.COMPLETED: ("Completed to FG", "Completed"),
    Texts.SPOILAGE: ("Spoilage",),
    Texts.PROCESS_LOSSES: ("Process losses",),
    Texts.COUNTS: ("WIP count differences", "Count differences", "Count diffs"),
    Texts.OVERHEAD: ("Overhead true-up", "OH true-up"),
    Texts.COGS: ("Cost of goods sold", "COGS"),
}
_PERIOD_SUFFIX = re.compile(r" \(\d{4}-\d{2}\)$")  # the close's " (2026-10)": the id and date say it already
_CLAUSE_END = re.compile(r"[:;,]")
_TRAILING = ":;,.-–—(/&+ "  # what a cut may leave dangling at the end
_CONNECTORS = frozenset({"a", "an", "and", "as", "at", "between", "by", "for", "from", "in", "into", "of", "on", "or",
                         "per", "the", "to", "vs", "with"})


def description(journal) -> str:
    """``WIP-2026-10-006 Spoilage`` — the journal id, then its narration in as much as fits
    Intacct's 30 characters, read as a whole: a close's narration by its short form; else the
    narration whole, or its first clauses (up to ``:``, ``;`` or ``,``), or cut between words (a
    word cut in half reads as a typo in Intacct's journal list); never ending on punctuation or on a
    word that leads on ("to", "of", "and", ...).

    >>> from types import SimpleNamespace as J
    >>> description(J(id="WIP-2026-10-006", narration="Spoilage: abnormal loss and spoiled goods (2026-10)"))
    'WIP-2026-10-006 Spoilage'
    >>> description(J(id="REV-WIP-2026-10-003", narration="Reversal of WIP-2026-10-003: late invoice"))
    'REV-WIP-2026-10-003 Reversal'
    >>> description(J(id="WIP-2026-10-001", narration="Materials issued to Assembly"))
    'WIP-2026-10-001 Materials'
    >>> description(J(id="J-7", narration="Accrual: October, shop-floor supplies"))
    'J-7 Accrual: October'
    """
    if len(journal.id) > DESCRIPTION_LENGTH:
        raise ExportError(f"{journal.id}: longer than the {DESCRIPTION_LENGTH} characters of an Intacct description")
    narration = _PERIOD_SUFFIX.sub("", journal.narration.strip())
    room = DESCRIPTION_LENGTH - len(journal.id) - 1
    if narration.startswith("Reversal of "):  # the id (REV-...) names the journal reversed
        narration = "Reversal"
    forms = _SHORT_NARRATIONS.get(narration, ())
    narration = next((form for form in forms if len(form) <= room), forms[-1] if forms else narration)
    text = narration if len(narration) <= room else _shortened(narration, room)
    return f"{journal.id} {text}".strip()


def _shortened(narration: str, room: int) -> str:
    """``narration`` in at most ``room`` characters: its longest run of whole clauses that fits,
    else its longest run of whole words, ends stripped of punctuation; "" when no word fits."""
    clauses = [m.start() for m in _CLAUSE_END.finditer(narration) if m.start() <= room]
    if clauses:
        return narration[:clauses[-1]].rstrip(_TRAILING)
    cut = narration[:room + 1].rfind(" ")  # a space right after the limit keeps the last word
    if cut <= 0:
        return ""
    words = narration[:cut].rstrip(_TRAILING).split(" ")
    while len(words) > 1 and words[-1].lower() in _CONNECTORS:  # "Transfer to" reads as cut off: "Transfer"
        words.pop()
    return " ".join(words).rstrip(_TRAILING)


def render(book: PreparedBook, *, journal: str = "GJ", location_id: str = "", dept_id: str = "",
           max_lines: int = MAX_LINES) -> dict[str, bytes]:
    # Intacct matches the journal symbol and the dimension ids: refused if unsafe, never altered.
    option_key(journal, "Intacct journal symbol", required=True, option="journal")
    if journal.startswith("#"):
        # JOURNAL is the first field of an entry's first row, and Intacct skips every row starting with '#'
        raise ExportError(f"Intacct journal symbol {journal!r} cannot be exported: it starts with #, and Intacct "
                          f"ignores every CSV row that starts with #, so each entry would lose its first line", "journal")
    option_key(location_id, "Intacct location id", option="location_id")
    option_key(dept_id, "Intacct department id", option="dept_id")
    files = {}
    for number, entries in enumerate(split_journals(book.journals, max_lines, "Sage Intacct", MAX_LINES), start=1):
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
