"""iif: QuickBooks Desktop Intuit Interchange Format, GENERAL JOURNAL transactions.

Tab-separated plain ASCII, CRLF line ends.  One ``TRNS`` row (the journal's first line), ``SPL``
rows for the others, then ``ENDTRNS``; AMOUNT signed, positive is a debit, so every block sums to
zero.  ACCNT is the account *name*.  DOCNUM is QuickBooks Desktop's journal *Entry No.*, an
11-character field: a journal id that fits is written as it is; a close's own ids, which do not
(``WIP-2026-10-003`` is 15 characters), by a short form that maps back to exactly one id (see
``docnum``); any other longer id is refused.  QuickBooks has no duplicate detection for IIF, so a
deterministic DOCNUM is how a re-import is spotted, and the whole journal id starts every MEMO
(``WIP-2026-10-003: <line memo, or the narration when the line has none>``) for the audit trail.

QuickBooks matches ACCNT by name and creates an unknown name as a new account without a word, so
account names and journal ids are written exactly or refused: one that is not plain ASCII or has a
double quote (QuickBooks strips quotes) cannot be written exactly.  Memos are free text:
transliterated to ASCII (``Café`` → ``Cafe``, anything without an ASCII spelling → ``?``) and
double quotes made single.
"""

from __future__ import annotations

from ._common import CLOSE_ID, ExportError, PreparedBook, clean_text, file_name, mdy, to_ascii

__all__ = ["render", "docnum", "DOCNUM_LENGTH"]

_FIELDS = ("TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO")
HEADER = (("!TRNS",) + _FIELDS, ("!SPL",) + _FIELDS, ("!ENDTRNS",))
TRNSTYPE = "GENERAL JOURNAL"
DOCNUM_LENGTH = 11  # QuickBooks Desktop's journal Entry No. (RefNumber) holds 11 characters



def docnum(journal_id: str) -> str:
    """The DOCNUM (QuickBooks Desktop Entry No., at most 11 characters) for ``journal_id``.

    An id that fits is written as it is.  A close's id is written ``YYMM-NNN``, with ``R`` in front
    for a reversal and ``/k`` after it for the journals of close #k (k > 1): one id, one DOCNUM, the
    same at every export.  Any other id longer than 11 characters, and a short form that still does
    not fit (the reversal of close #10 or later), is refused.

    >>> docnum("WIP-2026-10-003"), docnum("WIP2-2026-10-003"), docnum("REV-WIP2-2026-10-003"), docnum("J-7")
    ('2610-003', '2610-003/2', 'R2610-003/2', 'J-7')
    """
    if len(journal_id) <= DOCNUM_LENGTH:
        return journal_id
    match = CLOSE_ID.fullmatch(journal_id)
    short = match and (("R" if match["rev"] else "") + f"{match['yy']}{match['mm']}-{match['no']}"
                       + (f"/{match['close']}" if match["close"] else ""))
    if short and len(short) > DOCNUM_LENGTH:  # a close's own id: the close's number does not fit
        close = match["close"] or "1"
        what = f"the reversal of close #{close}'s journal" if match["rev"] else f"close #{close}'s journal"
        raise ExportError(
            f"journal id {journal_id!r} ({what} {journal_id.removeprefix('REV-')}) cannot be written as IIF: "
            f"QuickBooks Desktop's journal entry number (IIF DOCNUM) holds {DOCNUM_LENGTH} characters, and its short "
            f"form with the close's number, {short!r}, has {len(short)} — a limit of QuickBooks Desktop's entry "
            f"number with the close numbering, reached by the reversals of a month's close #10 and later (and its "
            f"close #100 and later); export these journals in another format (gl-csv, for instance) and enter them "
            f"in QuickBooks Desktop by hand")
    if not short:
        raise ExportError(
            f"journal id {journal_id!r} has {len(journal_id)} characters: QuickBooks Desktop's journal entry number "
            f"(IIF DOCNUM) holds {DOCNUM_LENGTH}, and a cut id would give two journals one number; give the "
            f"journal an id of at most {DOCNUM_LENGTH} characters, or export another format")
    return short


def _memo(journal_id: str, value: str) -> str:
    """``WIP-2026-10-002: Accrued payroll`` — the journal id (checked: ASCII, no formula start), then
    the free text transliterated, its double quotes made single.  The cell starts with the id, so
    a memo such as ``=HYPERLINK(...)`` is no formula; ``value`` is already one clean line.

    >>> _memo("WIP-2026-10-002", '=HYPERLINK("x")  Café — −5'), _memo("J-7", "")
    ("WIP-2026-10-002: =HYPERLINK('x')  Cafe - -5", 'J-7')
    """
    free = clean_text(to_ascii(value).replace('"', "'"))
    return f"{journal_id}: {free}" if free else journal_id


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


def _check_keys(book: PreparedBook) -> dict[str, str]:
    """Refuse, before anything is written, an account name or journal id IIF cannot carry exactly, or
    two journals it would give one DOCNUM; the DOCNUM of each journal id."""
    numbers: dict[str, str] = {}
    for journal in book.journals:
        problem = _exact_problem(journal.id)
        if problem:
            raise ExportError(f"journal id {journal.id!r} {problem}: IIF is plain ASCII, and a journal id written "
                              f"otherwise would hide a re-import; give the journal an ASCII id")
        number = docnum(journal.id)
        other = next((id_ for id_, n in numbers.items() if n == number), None)
        if other is not None:
            raise ExportError(f"journals {other} and {journal.id} would both be QuickBooks Desktop entry number "
                              f"{number!r} (IIF DOCNUM); rename one of them")
        numbers[journal.id] = number
        for line in journal.lines:
            problem = _exact_problem(line.account.name)
            if problem:
                raise ExportError(
                    f"{journal.id} line {line.number}: account {line.account.code} {line.account.name!r} {problem}: "
                    f"IIF is plain ASCII and QuickBooks Desktop would create a new account for any other spelling; "
                    f"rename the account in the chart to its exact QuickBooks name")
    return numbers


def render(book: PreparedBook) -> dict[str, bytes]:
    numbers = _check_keys(book)
    rows = list(HEADER)
    for journal in book.journals:
        for line in journal.lines:
            kind = "TRNS" if line.number == 1 else "SPL"
            # ACCNT as it is, checked above and by prepare(), never transliterated; DOCNUM from the id
            rows.append((kind, TRNSTYPE, mdy(journal.date), line.account.name, book.amount(line.amount),
                         numbers[journal.id], _memo(journal.id, line.memo or journal.narration)))
        rows.append(("ENDTRNS",))
    data = "".join("\t".join(row) + "\r\n" for row in rows)
    return {file_name(book.period, "", "iif"): data.encode("ascii")}
