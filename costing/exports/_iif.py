"""iif: QuickBooks Desktop Intuit Interchange Format, GENERAL JOURNAL transactions.

Tab-separated plain ASCII, CRLF line ends.  One ``TRNS`` row (the journal's first line), ``SPL``
rows for the others, then ``ENDTRNS``; AMOUNT signed, positive is a debit, so every block sums to
zero.  ACCNT is the account *name*; DOCNUM the journal id (QuickBooks has no duplicate detection,
so a deterministic DOCNUM is how a re-import is spotted); MEMO the line memo, or the narration when
the line has none.  Text is transliterated to ASCII (``Café`` → ``Cafe``, anything without an
ASCII spelling → ``?``) and double quotes become single ones, since QuickBooks strips quotes.
QuickBooks creates unknown accounts silently, so two accounts whose names meet in ASCII are refused.
"""

from __future__ import annotations

from ._common import ExportError, PreparedBook, file_name, mdy, text, to_ascii

__all__ = ["render"]

_FIELDS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")
HEADER = (("!TRNS",) + _FIELDS, ("!SPL",) + _FIELDS, ("!ENDTRNS",))
TRNSTYPE = "GENERAL JOURNAL"


def _field(value: str) -> str:
    # text() has already turned tabs and line breaks into spaces; the guard runs again after
    # transliteration, which can change a first character ("−5" becomes "-5").
    return text(to_ascii(value).replace('"', "'"))


def render(book: PreparedBook) -> dict[str, bytes]:
    names: dict[str, str] = {}
    for journal in book.journals:
        for line in journal.lines:
            ascii_name = _field(line.account.name)
            other = names.setdefault(ascii_name, line.account.name)
            if other != line.account.name:
                raise ExportError(f"accounts {other!r} and {line.account.name!r} are both {ascii_name!r} in "
                                  f"ASCII: QuickBooks Desktop would post them to one account")
    rows = list(HEADER)
    for journal in book.journals:
        for line in journal.lines:
            kind = "TRNS" if line.number == 1 else "SPL"
            rows.append((kind, TRNSTYPE, mdy(journal.date), _field(line.account.name), book.amount(line.amount),
                         _field(journal.id), _field(line.memo or journal.narration)))
        rows.append(("ENDTRNS",))
    data = "".join("\t".join(row) + "\r\n" for row in rows)
    return {file_name(book.period, "", "iif"): data.encode("ascii")}
