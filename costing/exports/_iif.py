"""iif: QuickBooks Desktop Intuit Interchange Format, GENERAL JOURNAL transactions.

Tab-separated plain ASCII, CRLF line ends.  One ``TRNS`` row (the journal's first line), ``SPL``
rows for the others, then ``ENDTRNS``; AMOUNT signed, positive is a debit, so every block sums to
zero.  ACCNT is the account *name*; DOCNUM the journal id (QuickBooks has no duplicate detection,
so a deterministic DOCNUM is how a re-import is spotted); MEMO the line memo, or the narration when
the line has none.

QuickBooks matches ACCNT by name and creates an unknown name as a new account without a word, so
account names and journal ids are written exactly or refused: one that is not plain ASCII or has a
double quote (QuickBooks strips quotes) cannot be written exactly.  Memos are free text:
transliterated to ASCII (``Café`` → ``Cafe``, anything without an ASCII spelling → ``?``) and
double quotes made single.
"""

from __future__ import annotations

from ._common import ExportError, PreparedBook, file_name, mdy, text, to_ascii

__all__ = ["render"]

_FIELDS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")
HEADER = (("!TRNS",) + _FIELDS, ("!SPL",) + _FIELDS, ("!ENDTRNS",))
TRNSTYPE = "GENERAL JOURNAL"


def _free_text(value: str) -> str:
    # text() has already turned tabs and line breaks into spaces; the guard runs again after
    # transliteration, which can change a first character ("−5" becomes "-5").
    return text(to_ascii(value).replace('"', "'"))


def _exact_problem(value: str) -> str | None:
    """Why ``value`` cannot be written into IIF exactly as it is, or None.

    >>> _exact_problem("Work in process - Assembly"), _exact_problem("東京 COGS"), _exact_problem('12" pipe')
    (None, "has '東' (not ASCII)", 'has a double quote, which QuickBooks Desktop strips')
    """
    if '"' in value:
        return "has a double quote, which QuickBooks Desktop strips"
    for character in value:
        if not character.isascii():
            return f"has {character!r} (not ASCII)"
    return None


def _check_keys(book: PreparedBook) -> None:
    """Refuse, before anything is written, an account name or journal id IIF cannot carry exactly."""
    for journal in book.journals:
        problem = _exact_problem(journal.id)
        if problem:
            raise ExportError(f"journal id {journal.id!r} {problem}: IIF is plain ASCII, and a DOCNUM other than "
                              f"the exact id would hide a re-import; give the journal an ASCII id")
        for line in journal.lines:
            problem = _exact_problem(line.account.name)
            if problem:
                raise ExportError(
                    f"{journal.id} line {line.number}: account {line.account.code} {line.account.name!r} {problem}: "
                    f"IIF is plain ASCII and QuickBooks Desktop would create a new account for any other spelling; "
                    f"rename the account in the chart to its exact QuickBooks name")


def render(book: PreparedBook) -> dict[str, bytes]:
    _check_keys(book)
    rows = list(HEADER)
    for journal in book.journals:
        for line in journal.lines:
            kind = "TRNS" if line.number == 1 else "SPL"
            # ACCNT and DOCNUM as they are: checked above and by prepare(), never transliterated
            rows.append((kind, TRNSTYPE, mdy(journal.date), line.account.name, book.amount(line.amount),
                         journal.id, _free_text(line.memo or journal.narration)))
        rows.append(("ENDTRNS",))
    data = "".join("\t".join(row) + "\r\n" for row in rows)
    return {file_name(book.period, "", "iif"): data.encode("ascii")}
