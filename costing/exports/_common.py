"""What every journal writer shares: the prepared book, text guards, numbers, dates, CSV, atomic files.

The writers never look at a ``JournalBook`` directly: ``prepare`` checks it once (balanced, amounts
at the currency's minor unit, identifiers safe) and hands them the lines to write, with the
zero-line policy already applied, so that every format drops exactly the same lines.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import errno
import io
import os
import re
import shutil
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from decimal import Context, Decimal
from pathlib import Path
from typing import Callable, Iterable, Sequence

from .._atomic import flock_within, open_lock
from .._currency import is_known_currency, minor_unit
from .._period import is_period
from .._journal import CONTROL_CHARACTERS, FORMULA_STARTS, Account, JournalBook, key_problem

__all__ = [
    "ExportError",
    "CLOSE_ID",
    "journal_source",
    "close_of",
    "PreparedLine",
    "PreparedJournal",
    "PreparedBook",
    "prepare",
    "option_key",
    "clean_text",
    "guard_formula",
    "starts_formula",
    "text",
    "to_ascii",
    "format_amount",
    "mdy",
    "dmy",
    "csv_bytes",
    "split_journals",
    "file_name",
    "numbered_family",
    "write_atomically",
    "folder_locked",
]


# The close's journal ids (costing.close_service): WIP-2026-10-003 for close #1, WIP2-2026-10-003 for
# close #2, ..., and REV-<id> for the reversal ``wip reopen`` posts.  Close #1 has no number (WIP1-...
# is not one of its ids) and years are 20YY, so that no two ids the pattern takes get one IIF short form.
CLOSE_ID = re.compile(r"(?P<rev>REV-)?WIP(?P<close>[2-9]|[1-9][0-9]+)?-20(?P<yy>\d\d)-(?P<mm>\d\d)-(?P<no>\d{3,})")


def close_of(journal_id: str) -> tuple[int | None, str]:
    """(the close a journal belongs to, the journal it reverses), told by its id: a close's journal
    (``WIP-...`` close #1, ``WIP2-...`` close #2) belongs to that close and reverses nothing; a
    reversal (``REV-<close's id>``) belongs to the close it reverses and reverses that journal; any
    other id (a book not made by ``wip close``) to no close.

    >>> close_of("WIP-2026-10-003"), close_of("WIP2-2026-10-003"), close_of("REV-WIP2-2026-10-003")
    ((1, ''), (2, ''), (2, 'WIP2-2026-10-003'))
    >>> close_of("J-7"), close_of("REV-J-7")
    ((None, ''), (None, ''))
    """
    match = CLOSE_ID.fullmatch(journal_id)
    if not match:
        return None, ""
    return int(match["close"] or 1), journal_id[len("REV-"):] if match["rev"] else ""


def journal_source(journal_id: str, period: str) -> str:
    """The command that posted a journal, told by its id: a reversal (``REV-<close's id>``) was posted
    by ``wip reopen``, with the close it reverses; anything else by ``wip close``.

    >>> journal_source("WIP-2026-10-003", "2026-10"), journal_source("J-7", "2026-10")
    ('wip close 2026-10', 'wip close 2026-10')
    >>> journal_source("REV-WIP-2026-10-003", "2026-10"), journal_source("REV-WIP2-2026-10-003", "2026-10")
    ('wip reopen 2026-10 (reversal of close #1)', 'wip reopen 2026-10 (reversal of close #2)')
    """
    match = CLOSE_ID.fullmatch(journal_id)
    if match and match["rev"]:
        return f"wip reopen {period} (reversal of close #{match['close'] or 1})"
    return f"wip close {period}"


class ExportError(ValueError):
    """A book that cannot be written faithfully in a format; nothing is written.  ``option`` names the
    export option at fault (``tax_rate``, ``journal``, ``location_id``, ``dept_id``, ``max_lines``), so
    that a caller can say which of its own settings to change; None when the book is at fault."""

    def __init__(self, message: str, option: str | None = None):
        super().__init__(message)
        self.option = option


# Exact arithmetic for debit − credit whatever the caller's decimal context is.
_EXACT = Context(prec=100)
# A cell starting with one of these is read as a formula by Excel, LibreOffice and Google Sheets.
_FORMULA_STARTS = FORMULA_STARTS
# Control characters and Unicode line/paragraph separators: a record stays on one physical line.
_CONTROL = CONTROL_CHARACTERS


@dataclass(frozen=True)
class PreparedLine:
    number: int  # 1, 2, ... over the lines written (zero lines dropped), per journal
    account: Account
    amount: Decimal  # debit − credit, exactly at the minor unit, never zero
    memo: str  # cleaned (one line, stripped), not yet guarded

    @property
    def debit(self) -> Decimal:
        return self.amount if self.amount > 0 else Decimal(0)

    @property
    def credit(self) -> Decimal:
        return -self.amount if self.amount < 0 else Decimal(0)


@dataclass(frozen=True)
class PreparedJournal:
    id: str
    date: dt.date
    narration: str  # cleaned, not yet guarded
    lines: tuple[PreparedLine, ...]
    source: str = ""  # the command that posted it: "wip close 2026-10", "wip reopen 2026-10 (reversal of close #1)"
    close_no: int | None = None  # the close it belongs to (posted by it, or reversing it); None: no close's id
    reverses: str = ""  # for a reversal, the id of the journal it reverses


@dataclass(frozen=True)
class PreparedBook:
    company: str
    currency: str
    places: int  # decimal places of the currency's minor unit
    period: str  # YYYY-MM, safe in a file name
    journals: tuple[PreparedJournal, ...]  # in the book's order, journals with no non-zero line left out
    source: str  # "wip close 2026-10", or with reversals "wip close and wip reopen 2026-10"
    # The whole chart the book carries, used or not, by code: a writer that derives names from it
    # (beancount) gives an account the same name in every export of the same chart.
    accounts: tuple[Account, ...]

    def amount(self, value: Decimal) -> str:
        return format_amount(value, self.places)


def clean_text(value: str) -> str:
    """One line of text: control characters and line breaks become one space, a byte-order mark
    (U+FEFF, left by a file pasted from) is dropped, ends stripped.

    >>> clean_text("  Line one\\r\\nline two\\ttabbed "), clean_text("\\ufeffSpoilage")
    ('Line one line two tabbed', 'Spoilage')
    """
    return _CONTROL.sub(" ", value).replace("\ufeff", "").strip()


def _visible_start(value: str) -> str:
    """``value`` without the invisible format characters it starts with (a byte-order mark, a zero-width
    space, a word joiner, a direction mark...): what a spreadsheet may see as the cell's first character."""
    start = 0
    while start < len(value) and unicodedata.category(value[start]) == "Cf":
        start += 1
    return value[start:]


def starts_formula(value: str) -> bool:
    """Whether a spreadsheet could run ``value`` as a formula: it starts with ``=``, ``+``, ``-``, ``@``,
    tab or CR, also after invisible characters.

    >>> starts_formula("=1"), starts_formula("\\ufeff=1"), starts_formula("\\u200b@SUM(A1)"), starts_formula("a=1")
    (True, True, True, False)
    """
    return _visible_start(value).startswith(_FORMULA_STARTS)


def guard_formula(value: str) -> str:
    """Neutralise a text cell a spreadsheet would run as a formula, by prefixing an apostrophe (also
    where invisible characters come before the formula's first character).

    >>> guard_formula('=HYPERLINK("http://x")'), guard_formula("-2+3"), guard_formula("@SUM(A1)")
    ('\\'=HYPERLINK("http://x")', "'-2+3", "'@SUM(A1)")
    >>> guard_formula("Direct material, Assembly"), guard_formula("\\u200b=1")
    ('Direct material, Assembly', "'\\u200b=1")
    """
    return "'" + value if starts_formula(value) else value


def text(value: str) -> str:
    """A free-text field as every writer writes it: one clean line, guarded against formulas."""
    return guard_formula(clean_text(value))


# Characters NFKD does not take apart, spelled in ASCII for IIF.
_ASCII_SPELLING = str.maketrans({
    "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u2032": "'",
    "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2033": '"',
    "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
    "\u2026": "...", "\u00a0": " ", "\u202f": " ", "\u2192": "->", "\u2190": "<-",
    "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE",
    "\u00f8": "o", "\u00d8": "O", "\u0142": "l", "\u0141": "L", "\u0111": "d", "\u0110": "D",
    "\u00fe": "th", "\u00de": "Th", "\u00f0": "d", "\u00d0": "D",
    "\u20ac": "EUR", "\u00a3": "GBP", "\u00a5": "JPY", "\u00b0": " deg",
})


# Between a digit and a vulgar fraction character (½, ¾, ⅞...; NFKD spells them "1/2").
# A whole number followed by a vulgar fraction (3½) or by one written with superscript digits and
# the fraction slash (3¹⁄₂): either would run into the whole number once spelled in ASCII.
_WHOLE_AND_FRACTION = re.compile(
    r"(?<=\d)(?=[\u00bc-\u00be\u2150-\u215e\u2189]|[\u2070\u00b9\u00b2\u00b3\u2074-\u2079]+\u2044)")  # \d: ３ too


def to_ascii(value: str) -> str:
    """Plain ASCII: accents dropped, common punctuation spelled out, anything else becomes '?'.

    >>> to_ascii("Café supplies — Zürich “A” 3½ €5 東京")
    'Cafe supplies - Zurich "A" 3 1/2 EUR5 ??'

    A vulgar fraction after a digit is set apart by a space: "3½" spelled "31/2" would read as 31 halves.

    >>> to_ascii("3¹⁄₂ in"), to_ascii("x² ¹⁄₄")
    ('3 1/2 in', 'x2 1/4')
    """
    value = _WHOLE_AND_FRACTION.sub(" ", value)
    decomposed = unicodedata.normalize("NFKD", value.translate(_ASCII_SPELLING)).translate(_ASCII_SPELLING)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.replace("\u2044", "/").encode("ascii", "replace").decode("ascii")


def format_amount(value: Decimal, places: int) -> str:
    """An amount with exactly ``places`` decimals, '.' as the point, no grouping, never '-0'.

    Never rounds: a value with more places than the currency's minor unit is a defect upstream.

    >>> format_amount(Decimal("12500"), 2), format_amount(Decimal("-0.00"), 2), format_amount(Decimal("1E+3"), 0)
    ('12500.00', '0.00', '1000')
    >>> format_amount(Decimal("-37.8"), 2), format_amount(Decimal("1234567.891"), 3)
    ('-37.80', '1234567.891')
    >>> format_amount(Decimal("0.005"), 2)
    Traceback (most recent call last):
    ...
    costing.exports._common.ExportError: amount 0.005 has more than 2 decimal places
    """
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ExportError(f"amount {value!r} is not a finite Decimal")
    quantized = value.quantize(Decimal(1).scaleb(-places), context=_EXACT)
    if quantized != value:
        raise ExportError(f"amount {value} has more than {places} decimal places")
    if not quantized:
        quantized = abs(quantized)
    return format(quantized, "f")


def mdy(date: dt.date) -> str:
    """MM/DD/YYYY (QuickBooks, Sage Intacct), never from the locale.

    >>> mdy(dt.date(2026, 10, 3))
    '10/03/2026'
    """
    return f"{date.month:02d}/{date.day:02d}/{date.year:04d}"


def dmy(date: dt.date) -> str:
    """dd/mm/yyyy (Xero), never from the locale.

    >>> dmy(dt.date(2026, 10, 3))
    '03/10/2026'
    """
    return f"{date.day:02d}/{date.month:02d}/{date.year:04d}"


def _identifier(value: str, what: str) -> str:
    """Journal ids, account codes and names are keys the target system matches: refuse, never alter.
    They are a recorded close's, accepted when it closed: checked as it accepted them (a ledger may
    hold an account name with a character refused in new input since)."""
    problem = key_problem(value, vouched=True)
    if not problem and starts_formula(value):  # a vouched key may start with a character that only hides
        problem = f"starts with {_visible_start(value)[0]}, after an invisible character, which a spreadsheet runs " \
                  "as a formula"
    if problem:
        raise ExportError(f"{what} {value!r} cannot be exported: it {problem}; rename it in the chart or the close")
    return value


def option_key(value: str, what: str, required: bool = False, option: str | None = None) -> str:
    """An option the target matches on (a tax rate's name, a journal symbol, a dimension id):
    refused, never altered, like the book's own keys.  Unless ``required``, an empty value leaves
    its column blank."""
    problem = key_problem(value) if value or required else None
    if problem:
        raise ExportError(f"{what} {value!r} cannot be exported: it {problem}; give it exactly as the target "
                          f"system spells it", option)
    return value


def prepare(book: JournalBook) -> PreparedBook:
    """Check ``book`` and net each line to one signed amount, dropping lines that net to zero.

    Zero-line policy (the same for every format): a line whose debit − credit is zero is left out;
    a journal with no line left is left out.  A line carrying both a debit and a credit is written
    as its net.  Lines are numbered 1, 2, ... over the lines written.
    """
    book.check_balanced()
    if not is_period(book.period):
        raise ExportError(f"period {book.period!r} is not YYYY-MM")
    if not is_known_currency(book.currency):
        raise ExportError(f"currency {book.currency!r} is not an ISO 4217 code")
    places = minor_unit(book.currency)
    seen: set[str] = set()
    journals = []
    for journal in book.journals:
        _identifier(journal.id, "journal id")
        if journal.id in seen:
            raise ExportError(f"journal id {journal.id!r} appears twice: importers would merge the two journals")
        seen.add(journal.id)
        lines = []
        for index, line in enumerate(journal.lines, start=1):
            account = book.accounts[line.account]
            where = f"{journal.id} line {index}"
            for value in (line.debit, line.credit):
                try:
                    format_amount(value, places)
                except ExportError as exc:
                    raise ExportError(f"{where}: {exc} ({book.currency})") from None
            amount = _EXACT.subtract(line.debit, line.credit)
            if not amount:
                continue
            _identifier(account.code, f"{where}: account code")
            _identifier(account.name, f"{where}: account name")
            lines.append(PreparedLine(len(lines) + 1, account, amount, clean_text(line.memo)))
        if lines:
            journals.append(PreparedJournal(journal.id, journal.date, clean_text(journal.narration), tuple(lines),
                                            journal_source(journal.id, book.period), *close_of(journal.id)))
    chart = tuple(book.accounts[code] for code in sorted(book.accounts))
    reopened = any(j.source.startswith("wip reopen") for j in journals)
    return PreparedBook(clean_text(book.company), book.currency, places, book.period, tuple(journals),
                        f"wip close and wip reopen {book.period}" if reopened else f"wip close {book.period}", chart)


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """UTF-8 CSV (no BOM), fields quoted by the csv module when needed, every record ending in CRLF."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def split_journals(journals: Sequence[PreparedJournal], max_lines: int, system: str,
                   system_lines: int | None = None) -> list[list[PreparedJournal]]:
    """Group journals, in order, into files of at most ``max_lines`` lines, never splitting a journal.

    A new file starts when the next journal would not fit.  There is always at least one file
    (an empty one for a book with no journals), so an export always says what it produced.
    ``system_lines`` is what ``system`` takes in one file (the writer's default): a journal too
    long for a ``max_lines`` given apart from it is told to allow more lines per file, and the
    refusal names the option (``ExportError.option``, ``max_lines``), as one of ``max_lines`` < 1
    does; one too long for the system's own limit is about the journal, and names none.  A
    ``max_lines`` above ``system_lines`` is refused: the files would not import.
    """
    if max_lines < 1:
        raise ExportError(f"{system}: max_lines must be at least 1, not {max_lines}", "max_lines")
    if system_lines is not None and max_lines > system_lines:  # files the system would refuse to import
        raise ExportError(f"{system}: max_lines {max_lines} is more than the {system_lines} lines {system} takes in "
                          f"one file; give {system_lines} or fewer (or leave it out: {system_lines})", "max_lines")
    limit = max_lines if system_lines is None else system_lines
    # Every journal too long for the system's own file named at once (fixing one should not bring
    # the next refusal); about the journals: no option to blame.
    too_long = [j for j in journals if len(j.lines) > limit]
    if too_long:
        named = "; ".join(f"{j.id}: {len(j.lines)} lines" for j in too_long)
        these = "this journal" if len(too_long) == 1 else f"these {len(too_long)} journals"
        raise ExportError(
            f"{named} — more than the {limit} lines {system} takes in one file, "
            f"and a journal is never split across files — post to fewer accounts (fewer WIP accounts), "
            f"or enter {these} into {system} by hand")
    files: list[list[PreparedJournal]] = [[]]
    used = 0
    for journal in journals:
        size = len(journal.lines)
        if size > max_lines:  # within the system's limit, not within the one asked for
            lines = "line" if max_lines == 1 else "lines"
            # Enough for every journal (not the first too long alone).
            needed = max(len(j.lines) for j in journals)
            raise ExportError(
                f"{journal.id}: {size} lines, more than the {max_lines} {lines} per file asked for, and a journal is "
                f"never split across files: allow at least {needed} lines per file (the longest journal; {system} "
                f"takes up to {system_lines} in one file)", "max_lines")
        if used + size > max_lines:
            files.append([])
            used = 0
        files[-1].append(journal)
        used += size
    return files


def file_name(period: str, kind: str, ext: str, number: int | None = None) -> str:
    """The deterministic name of an export file.

    >>> file_name("2026-10", "gl", "csv"), file_name("2026-10", "xero", "csv", 2), file_name("2026-10", "", "iif")
    ('journals-2026-10.gl.csv', 'journals-2026-10.xero-2.csv', 'journals-2026-10.iif')
    """
    stem = f"journals-{period}"
    if kind:
        stem += f".{kind}" if number is None else f".{kind}-{number}"
    return f"{stem}.{ext}"


def numbered_family(period: str, kind: str, ext: str) -> Callable[[str], bool]:
    """Whether a file name is one of the numbered files of ``kind`` for ``period`` (any number).

    >>> is_xero = numbered_family("2026-10", "xero", "csv")
    >>> is_xero("journals-2026-10.xero-3.csv"), is_xero("journals-2026-11.xero-3.csv"), is_xero("notes.csv")
    (True, False, False)
    """
    pattern = re.compile(re.escape(f"journals-{period}.{kind}-") + r"[1-9][0-9]*" + re.escape(f".{ext}"))
    return lambda name: pattern.fullmatch(name) is not None


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


_STAGING_PREFIX = ".journals-export-"


@contextlib.contextmanager
def folder_locked(out_dir: Path, timeout: float = 30.0):
    """Exports into one folder one at a time: what a folder holds is read, checked never to post a
    close twice, then written — two exports at once each saw the other's files missing.  An
    exclusive flock on the folder's lock file (``open_lock``: the same whether or not the folder
    exists yet, or is reached through a symlink), waited for at most ``timeout`` seconds.  A staging
    folder an export killed part-way left (``.journals-export-*``) is removed once an hour old (an
    export takes seconds; one of another machine's, on a shared folder, may be writing now).
    Without flock (Windows) or a lock file, exports are not serialised."""
    fd = open_lock("export", out_dir)
    try:
        if fd is not None:
            _locked(fd, timeout, out_dir)
        _remove_dead_staging(Path(out_dir))
        yield
    finally:
        if fd is not None:
            os.close(fd)


def _locked(fd: int, timeout: float, out_dir: Path) -> None:
    if flock_within(fd, True, timeout) is False:  # None: a file system without flock, not serialised
        raise ExportError(f"another export into {out_dir} has held it for {timeout:g} s; try again in a moment")


def _made_folders(folder: Path) -> list[Path]:
    """Make ``folder`` and the folders above it that are missing; the ones made, outermost first."""
    made: list[Path] = []
    for each in [*reversed(folder.parents), folder]:
        try:
            each.mkdir()
            made.append(each)
        except FileExistsError:
            pass
        except OSError:
            if not each.is_dir():  # Windows says a drive's root is denied, not there already
                _take_away(made)
                raise
    return made


_DEAD_AFTER_SECONDS = 3600


def _remove_dead_staging(out_dir: Path) -> None:
    try:
        left = [p for p in out_dir.glob(_STAGING_PREFIX + "*")
                if p.is_dir() and time.time() - p.stat().st_mtime > _DEAD_AFTER_SECONDS]
    except OSError:
        return
    for folder in left:
        shutil.rmtree(folder, ignore_errors=True)


def write_atomically(out_dir: Path, files: dict[str, bytes], stale: Callable[[str], bool] = lambda name: False,
                     ) -> list[Path]:
    """Write ``files`` into ``out_dir``: all into a private temporary directory first, then renamed into place.

    A failure while writing leaves ``out_dir`` as it was — a folder it made for them (``--out`` a new
    folder) taken away again.  Each rename replaces one file at once (``os.replace``), so no file is
    ever seen half-written.  Afterwards, files of an earlier export for which ``stale(name)`` is
    true and that this export did not produce (``...-3.csv`` when there are now two files) are
    removed, so that a directory never mixes two exports.
    """
    out_dir = Path(out_dir)
    made: list[Path] = []  # the folders made here, outermost first: taken away if nothing is written
    try:
        made = _made_folders(out_dir)
        staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=out_dir))
    except BaseException:
        _take_away(made)
        raise
    renamed = False
    try:
        for name, data in files.items():
            _write_file(staging / name, data)
        for name in files:  # every destination before the first rename: a folder in the way of the
            target = out_dir / name  # last file must not leave the first ones replaced
            if target.is_dir() or (target.exists() and not target.is_file()):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        written = []
        for name in files:
            renamed = True
            os.replace(staging / name, out_dir / name)
            written.append(out_dir / name)
        for old in sorted(out_dir.iterdir()):
            if old.name not in files and stale(old.name) and old.is_file():
                old.unlink()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not renamed:
            _take_away(made)
    return written


def _take_away(made: list[Path]) -> None:
    """The folders an export made, innermost first, where they are still empty."""
    for folder in reversed(made):
        try:
            folder.rmdir()
        except OSError:
            break
