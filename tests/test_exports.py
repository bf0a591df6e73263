"""Journal exports: golden files for every format, and the rules every writer keeps, checked by re-reading.

The books are written inline, the way the close builds them: a USD close with awkward text
(formulas, commas, quotes, a line break, "Café"), a zero line and a line carrying both sides, and a
JPY close for a currency without decimals.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import io
import locale
import re
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import costing
from costing import exports
from costing._journal import (Account, Journal, JournalBook, JournalLine, PostedBook, UnbalancedJournal, posted_after,
                              postings_by_account)
from costing.exports import FORMATS, ExportError, export_journals, render_journals

D = Decimal
OCT31 = dt.date(2026, 10, 31)

CHART = {a.code: a for a in [
    Account(code="1200", name="Raw materials", type="asset"),
    Account(code="1300", name="Work in process - Assembly", type="asset"),
    Account(code="1310", name="Work in process - Finishing", type="asset"),
    Account(code="1400", name="Finished goods", type="asset"),
    Account(code="2100", name="Accrued payroll", type="liability"),
    Account(code="2200", name="Overhead applied", type="liability"),
    Account(code="5000", name="Cost of goods sold", type="expense"),
    Account(code="5100", name="Café supplies", type="expense"),
    Account(code="5900", name="Abnormal spoilage", type="expense"),
]}


def dr(account: str, amount: str, memo: str = "") -> JournalLine:
    return JournalLine(account=account, debit=D(amount), credit=D(0), memo=memo)


def cr(account: str, amount: str, memo: str = "") -> JournalLine:
    return JournalLine(account=account, debit=D(0), credit=D(amount), memo=memo)


def journal(id: str, narration: str, *lines: JournalLine, date: dt.date = OCT31) -> Journal:
    return Journal(id=id, date=date, narration=narration, lines=lines)


def usd_book() -> JournalBook:
    return JournalBook(company="Acme Fabrication, Inc.", currency="USD", period="2026-10", accounts=CHART, journals=(
        journal("WIP-2026-10-001", "Materials issued to Assembly",
                dr("1300", "12500.00", "Direct material"),
                dr("5100", "37.80", "Café supplies used — shop floor"),
                cr("1200", "12537.80"),
                date=dt.date(2026, 10, 3)),
        journal("WIP-2026-10-002", "Conversion costs, Assembly",
                dr("1300", "8400.25"),
                cr("2100", "5200.00", '=HYPERLINK("http://evil.example","Payroll, October")'),
                cr("2200", "3200.25", "@SUM(A1:A9) overhead at 150%")),
        journal("WIP-2026-10-003", '=1+2, "Assembly" to Finishing',
                dr("1310", "20000.00", "-transferred-in cost"),
                JournalLine(account="5900", debit=D("0.00"), credit=D("0.00"), memo="no abnormal spoilage"),
                cr("1300", "20000.00", "+units completed 4,000")),
        journal("WIP-2026-10-004", "Abnormal spoilage, Finishing",
                dr("5900", "250.05", "Spoiled units\nabove normal rate"),
                JournalLine(account="1310", debit=D("100.00"), credit=D("350.05"), memo="net of a reversal")),
        journal("WIP-2026-10-005", "Completed goods to FG; sold",
                dr("1400", "19000.00"),
                cr("1310", "19000.00"),
                dr("5000", "15000.00"),
                cr("1400", "15000.00")),
        journal("WIP-2026-10-006", "Nothing to post",
                JournalLine(account="5900", debit=D("0.00"), credit=D("0.00")),
                JournalLine(account="1310", debit=D("-0.00"), credit=D("0.00"))),
    ))


def jpy_book() -> JournalBook:
    return JournalBook(company="Kobe Seimitsu KK", currency="JPY", period="2026-10", accounts=CHART, journals=(
        journal("WIP-2026-10-001", "Materials issued to Assembly",
                dr("1300", "1250000", "Direct material"), cr("1200", "1250000")),
        journal("WIP-2026-10-002", "Transfer to Finishing",
                dr("1310", "2004817"), dr("5900", "3"), cr("1300", "2004820", "tail yen to spoilage")),
    ))


BOOKS = {"usd": usd_book, "jpy": jpy_book}
# QuickBooks Desktop matches account names exactly and IIF is ASCII, so its books name 5100 in ASCII.
ASCII_CHART = {**CHART, "5100": Account(code="5100", name="Cafe supplies", type="expense")}


def book_for(fmt: str, book_name: str) -> JournalBook:
    book = BOOKS[book_name]()
    return book.model_copy(update={"accounts": ASCII_CHART}) if fmt == "iif" else book

# journal id -> signed line amounts (debit positive) that every format must carry, zero lines dropped
EXPECTED_USD = {
    "WIP-2026-10-001": [D("12500.00"), D("37.80"), D("-12537.80")],
    "WIP-2026-10-002": [D("8400.25"), D("-5200.00"), D("-3200.25")],
    "WIP-2026-10-003": [D("20000.00"), D("-20000.00")],
    "WIP-2026-10-004": [D("250.05"), D("-250.05")],
    "WIP-2026-10-005": [D("19000.00"), D("-19000.00"), D("15000.00"), D("-15000.00")],
}
EXPECTED_JPY = {
    "WIP-2026-10-001": [D("1250000"), D("-1250000")],
    "WIP-2026-10-002": [D("2004817"), D("3"), D("-2004820")],
}
EXPECTED = {"usd": EXPECTED_USD, "jpy": EXPECTED_JPY}
PLACES = {"usd": 2, "jpy": 0}
EXT = {"gl-csv": ".csv", "qbo": ".csv", "xero": ".csv", "iif": ".iif", "intacct": ".csv", "beancount": ".beancount"}


# --- reading the files back, one small parser per format -------------------------------------------

def amount(cell: str, places: int) -> Decimal:
    """An amount as written: digits, '.', exactly ``places`` decimals, optional leading '-', never '-0'."""
    pattern = r"-?\d+" + (r"\.\d{%d}" % places if places else "")
    assert re.fullmatch(pattern, cell), f"amount {cell!r} is not plain with {places} places"
    value = D(cell)
    assert value or not cell.startswith("-"), f"negative zero {cell!r}"
    return value


def csv_rows(data: bytes) -> list[dict[str, str]]:
    body = data.decode("utf-8")
    assert "\ufeff" not in body
    assert re.search(r"(?<!\r)\n", body) is None, "every CSV record ends in CRLF, no bare LF"
    return list(csv.DictReader(io.StringIO(body, newline="")))


def read_gl(files, places):
    lines = defaultdict(list)
    for row in csv_rows(files[0]):
        debit, credit = amount(row["debit"], places), amount(row["credit"], places)
        assert not (debit and credit)
        assert int(row["line"]) == len(lines[row["journal_id"]]) + 1
        assert row["source"] == "wip close 2026-10"
        lines[row["journal_id"]].append(debit - credit)
    return lines


def read_qbo(files, places):
    lines = defaultdict(list)
    for row in csv_rows(files[0]):
        assert len(row["Journal No."]) <= 21
        assert re.fullmatch(r"\d\d/\d\d/\d{4}", row["Journal Date"])
        debit = amount(row["Debits"], places) if row["Debits"] else D(0)
        credit = amount(row["Credits"], places) if row["Credits"] else D(0)
        assert bool(debit) != bool(credit), row
        lines[row["Journal No."]].append(debit - credit)
    return lines


def read_xero(files, places):
    lines = defaultdict(list)
    for data in files:
        for row in csv_rows(data):
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", row["*Date"])
            journal_id = row["*Narration"].split(":")[0]
            lines[journal_id, row["*Date"]].append(amount(row["*Amount"], places))
    assert len({key[0] for key in lines}) == len(lines), "one narration, one date per journal"
    return {key[0]: amounts for key, amounts in lines.items()}


def read_iif(files, places):
    """Journal id (each MEMO starts ``<id>: ``) -> amounts; a DOCNUM fits QuickBooks Desktop's 11-character
    entry number and stands for one journal only."""
    body = files[0].decode("ascii")
    records = [line.split("\t") for line in body.split("\r\n")]
    assert records.pop() == [""]
    assert [r[0] for r in records[:3]] == ["!TRNS", "!SPL", "!ENDTRNS"]
    header = records[0][1:]
    lines, numbers, block = {}, {}, None
    for record in records[3:]:
        if record[0] == "TRNS":
            assert block is None, "TRNS inside an open block"
            block = []
        if record[0] in ("TRNS", "SPL"):
            fields = dict(zip(header, record[1:]))
            assert fields["TRNSTYPE"] == "GENERAL JOURNAL"
            assert re.fullmatch(r"\d\d/\d\d/\d{4}", fields["DATE"])
            assert 0 < len(fields["DOCNUM"]) <= 11, fields["DOCNUM"]
            journal_id = fields["MEMO"].split(": ")[0]
            block.append((fields["DOCNUM"], journal_id, amount(fields["AMOUNT"], places)))
        elif record == ["ENDTRNS"]:
            assert sum(a for _, _, a in block) == 0, "TRNS...ENDTRNS block sums to zero"
            assert len({(doc, id_) for doc, id_, _ in block}) == 1, "one DOCNUM, one journal id per block"
            number, journal_id = block[0][:2]
            assert numbers.setdefault(number, journal_id) == journal_id, f"DOCNUM {number} on two journals"
            assert journal_id not in lines, f"{journal_id} written twice"
            lines[journal_id] = [a for _, _, a in block]
            block = None
        else:
            assert record[0] in ("TRNS", "SPL"), record
    assert block is None
    return lines


def read_intacct(files, places):
    lines = {}
    for data in files:
        current = None
        for row in csv_rows(data):
            if row["LINE_NO"] == "1":
                assert row["JOURNAL"] and row["DATE"] and row["DESCRIPTION"]
                assert len(row["DESCRIPTION"]) <= 30 and row["DESCRIPTION"] == row["DESCRIPTION"].strip()
                current = lines.setdefault(row["DESCRIPTION"].split(" ")[0], [])
                assert current == [], "an entry appears once"
            else:
                assert not (row["JOURNAL"] or row["DATE"] or row["DESCRIPTION"]), "header fields on line 1 only"
                assert int(row["LINE_NO"]) == len(current) + 1
            debit = amount(row["DEBIT"], places) if row["DEBIT"] else D(0)
            credit = amount(row["CREDIT"], places) if row["CREDIT"] else D(0)
            assert bool(debit) != bool(credit), row
            current.append(debit - credit)
    return lines


BEANCOUNT_ACCOUNT = r"(Assets|Liabilities|Equity|Income|Expenses)(:[A-Z0-9][A-Za-z0-9-]*)+"


def read_beancount_accounts(data: bytes) -> list[str]:
    """The accounts opened, in order; nothing but comments, opens and their metadata."""
    opened = []
    for line in data.decode("utf-8").split("\n"):
        if m := re.fullmatch(r"1970-01-01 open (\S+) ([A-Z]{3})", line):
            assert re.fullmatch(BEANCOUNT_ACCOUNT, m[1]), m[1]
            opened.append(m[1])
        else:
            assert line == "" or line.startswith(";") or re.fullmatch(r'  (code|name): "([^"\\]|\\.)*"', line), line
    return opened


def read_beancount(files, places):
    accounts, body = files[0], files[1].decode("utf-8")
    opened, lines, current = set(read_beancount_accounts(accounts)), {}, None
    for line in body.split("\n"):
        if " open " in line:
            raise AssertionError(f"an open directive in a journals file: {line}")
        elif re.fullmatch(r'\d{4}-\d\d-\d\d \* "([^"\\]|\\.)*"', line):
            current = []
        elif m := re.fullmatch(r'  id: "([^"]+)"', line):
            lines[m[1]] = current
        elif m := re.fullmatch(r"  (\S+) +(\S+) ([A-Z]{3})", line):
            assert m[1] in opened, f"{m[1]} used before it is opened"
            current.append(amount(m[2], places))
        else:
            assert line == "" or line.startswith(";") or re.fullmatch(r'    memo: "([^"\\]|\\.)*"', line), line
    return lines


READERS = {"gl-csv": read_gl, "qbo": read_qbo, "xero": read_xero, "iif": read_iif, "intacct": read_intacct,
           "beancount": read_beancount}


def export(book: JournalBook, fmt: str, out_dir: Path, **options) -> list[bytes]:
    paths = export_journals(book, fmt, out_dir, **options)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(p.name for p in paths), "nothing else left behind"
    return [p.read_bytes() for p in paths]


# --- golden files ---------------------------------------------------------------------------------

@pytest.mark.parametrize("book_name", BOOKS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_golden(fmt, book_name, tmp_path, file_regression):
    paths = export_journals(book_for(fmt, book_name), fmt, tmp_path)
    journal_files = [p for p in paths if p.name.startswith("journals-")]
    for index, path in enumerate(journal_files, start=1):
        file_regression.check(path.read_bytes(), binary=True, extension=EXT[fmt],
                              basename=f"{book_name}_{fmt}" + (f"_{index}" if len(journal_files) > 1 else ""))
    for path in set(paths) - set(journal_files):  # beancount's accounts.beancount
        file_regression.check(path.read_bytes(), binary=True, extension=path.suffix,
                              basename=f"{book_name}_{fmt}_{path.stem}")


@pytest.mark.parametrize("fmt", ["xero", "intacct"])
def test_golden_split(fmt, tmp_path, file_regression):
    """Four lines per file: 001 (3 lines) and 002 (3) each alone, 003 (2, zero line dropped) with 004 (2), 005 (4)."""
    paths = export_journals(usd_book(), fmt, tmp_path, max_lines=4)
    assert [p.name for p in paths] == [f"journals-2026-10.{fmt}-{n}.csv" for n in (1, 2, 3, 4)]
    for index, path in enumerate(paths, start=1):
        file_regression.check(path.read_bytes(), binary=True, extension=".csv", basename=f"usd_{fmt}_split_{index}")


def test_file_names(tmp_path):
    names = {fmt: [p.name for p in export_journals(book_for(fmt, "usd"), fmt, tmp_path / fmt)] for fmt in FORMATS}
    assert names == {
        "gl-csv": ["journals-2026-10.gl.csv"],
        "qbo": ["journals-2026-10.qbo.csv"],
        "xero": ["journals-2026-10.xero-1.csv"],
        "iif": ["journals-2026-10.iif"],
        "intacct": ["journals-2026-10.intacct-1.csv"],
        "beancount": ["accounts.beancount", "journals-2026-10.beancount"],
    }


# --- every format re-read: balanced journals, the right lines, plain numbers ------------------------

@pytest.mark.parametrize("book_name", BOOKS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_journal_balances_when_read_back(fmt, book_name, tmp_path):
    files = export(book_for(fmt, book_name), fmt, tmp_path)
    lines = READERS[fmt](files, PLACES[book_name])
    for journal_id, amounts in lines.items():
        assert sum(amounts) == 0, f"{fmt}: {journal_id} does not balance"
    # the same lines as the book, in its order: zero lines and the all-zero journal dropped, both-sided line netted
    assert {k: list(v) for k, v in lines.items()} == EXPECTED[book_name]


def with_negative_zeros(book: JournalBook) -> JournalBook:
    """The same book with every zero side written as -0 (``Decimal('-0.00')``), as some arithmetic leaves it."""
    minus_zero = D("-0").scaleb(-PLACES["jpy" if book.currency == "JPY" else "usd"])
    journals = tuple(j.model_copy(update={"lines": tuple(
        line.model_copy(update={"debit": line.debit or minus_zero, "credit": line.credit or minus_zero})
        for line in j.lines)}) for j in book.journals)
    return book.model_copy(update={"journals": journals})


@pytest.mark.parametrize("fmt", FORMATS)
def test_negative_zero_never_appears(fmt, tmp_path):
    for name in BOOKS:
        signed = with_negative_zeros(book_for(fmt, name))
        assert any(str(line.credit).startswith("-0") for j in signed.journals for line in j.lines)
        body = export(signed, fmt, tmp_path / name)
        assert not re.search(rb"(?<![\w.])-0+(\.0+)?(?![\w.])", b"".join(body)), "negative zero"
        assert body == export(book_for(fmt, name), fmt, tmp_path / f"{name}-plain")


# --- splitting --------------------------------------------------------------------------------------

def many_journals(count: int, sizes: list[int]) -> JournalBook:
    journals = []
    for n in range(1, count + 1):
        size = sizes[(n - 1) % len(sizes)]
        lines = [dr("1300", f"{n}.{k:02d}", f"line {k}") for k in range(1, size)]
        lines.append(cr("1200", str(sum(line.debit for line in lines))))
        journals.append(journal(f"WIP-2026-10-{n:03d}", f"Batch {n}", *lines))
    return JournalBook(company="Acme", currency="USD", period="2026-10", accounts=CHART, journals=tuple(journals))


@pytest.mark.parametrize("sizes", [[10], [10, 7, 13, 2]], ids=["10-lines", "mixed-sizes"])
def test_xero_files_hold_at_most_300_lines_and_never_split_a_journal(sizes, tmp_path):
    book = many_journals(40, sizes)
    files = export(book, "xero", tmp_path)
    journal_file = {}
    for number, data in enumerate(files, start=1):
        rows = csv_rows(data)
        assert 0 < len(rows) <= 300
        assert data.count(b"\r\n") == len(rows) + 1, "header plus one physical line per row"
        for row in rows:
            journal_id = row["*Narration"].split(":")[0]
            assert journal_file.setdefault(journal_id, number) == number, f"{journal_id} split across files"
    assert len(journal_file) == 40
    counts = {journal_id: len(amounts) for journal_id, amounts in read_xero(files, 2).items()}
    assert counts == {j.id: len(j.lines) for j in book.journals}
    if sizes == [10]:
        assert [len(csv_rows(data)) for data in files] == [300, 100]


def test_intacct_splits_by_entry_too(tmp_path):
    files = export(many_journals(40, [10, 7, 13, 2]), "intacct", tmp_path, max_lines=50)
    assert all(len(csv_rows(data)) <= 50 for data in files)
    assert all(csv_rows(data)[0]["LINE_NO"] == "1" for data in files), "each file starts with an entry"
    assert len(read_intacct(files, 2)) == 40


@pytest.mark.parametrize("fmt, system", [("xero", "Xero"), ("intacct", "Sage Intacct")])
def test_a_journal_larger_than_a_file_is_refused(fmt, system, tmp_path):
    with pytest.raises(ExportError) as refused:
        export_journals(many_journals(3, [10, 13]), fmt, tmp_path, max_lines=12)
    assert list(tmp_path.iterdir()) == []
    # the limit was the user's (max_lines, `wip export --max-lines`): told at it, with the line count to allow
    limit = {"xero": 300, "intacct": 5000}[fmt]
    assert refused.value.option == "max_lines"
    assert str(refused.value) == (
        "WIP-2026-10-002: 13 lines, more than the 12 lines per file asked for, and a journal is never split across "
        f"files: allow at least 13 lines per file (the longest journal; {system} takes up to {limit} in one file)")


def test_an_export_with_other_files_never_replaces_an_earlier_one(tmp_path):
    """An export file may have been imported: one with other contents (here other max_lines, so fewer
    files) is refused, the folder unchanged, saying how to go on; once deleted, the new one is written
    and other files (another period's, the user's) stay."""
    (tmp_path / "notes.csv").write_text("mine")
    (tmp_path / "journals-2026-11.xero-3.csv").write_text("another period")
    assert len(export_journals(many_journals(40, [10]), "xero", tmp_path, max_lines=100)) == 4
    before = contents(tmp_path)
    with pytest.raises(ExportError, match=r"holds journals-2026-10\.xero-\*\.csv, journals this export cannot "
                                          r"identify .* never replaced with other contents.* If journals-2026-10"
                                          r"\.xero-\*\.csv was never imported, delete them and export the month "
                                          r"again$"):
        export_journals(many_journals(40, [10]), "xero", tmp_path)
    assert contents(tmp_path) == before
    for path in tmp_path.glob("journals-2026-10.xero-*.csv"):
        path.unlink()
    paths = export_journals(many_journals(40, [10]), "xero", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [p.name for p in paths] + ["notes.csv", "journals-2026-11.xero-3.csv"])
    assert len(paths) == 2


# --- determinism and locale -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_book_gives_the_same_bytes(fmt, tmp_path):
    book = book_for(fmt, "usd")
    first = export(book, fmt, tmp_path / "first")
    again = export(book, fmt, tmp_path / "again")
    reordered_chart = book.model_copy(update={"accounts": dict(reversed(list(book.accounts.items())))})
    assert first == again == export(reordered_chart, fmt, tmp_path / "reordered")


@pytest.fixture
def german_locale(monkeypatch):
    """de_DE everywhere we can set it: the environment (babel reads it) and, if installed, the C locale."""
    for name in ("LC_ALL", "LC_NUMERIC", "LC_MONETARY", "LC_TIME", "LANG"):
        monkeypatch.setenv(name, "de_DE.UTF-8")
    saved = locale.setlocale(locale.LC_ALL)
    installed = None
    for candidate in ("de_DE.UTF-8", "de_DE.utf8", "de_DE"):
        try:
            installed = locale.setlocale(locale.LC_ALL, candidate)
            break
        except locale.Error:
            continue
    yield installed
    locale.setlocale(locale.LC_ALL, saved)


@pytest.mark.parametrize("fmt", FORMATS)
def test_output_does_not_depend_on_the_locale(fmt, tmp_path, request):
    plain = export(book_for(fmt, "usd"), fmt, tmp_path / "C")
    installed = request.getfixturevalue("german_locale")
    if installed:
        assert locale.localeconv()["decimal_point"] == ","
    german = export(book_for(fmt, "usd"), fmt, tmp_path / "de")
    assert german == plain
    lines = READERS[fmt](german, 2)  # every amount is plain '-?digits.dd'
    assert lines == EXPECTED_USD


# --- refusal and atomicity --------------------------------------------------------------------------

def unbalanced_book() -> JournalBook:
    book = usd_book()
    bad = journal("WIP-2026-10-007", "Off by a cent", dr("1300", "100.00"), cr("1200", "99.99"))
    return book.model_copy(update={"journals": book.journals + (bad,)})


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unbalanced_book_is_refused_and_nothing_is_written(fmt, tmp_path):
    out = tmp_path / "out"
    with pytest.raises(UnbalancedJournal, match="WIP-2026-10-007: debits 100.00, credits 99.99, difference 0.01"):
        export_journals(unbalanced_book(), fmt, out)
    assert not out.exists() or list(out.iterdir()) == []


@pytest.mark.parametrize("change, message", [
    ({"journals": (journal("J1", "x", dr("1300", "1.005"), cr("1200", "1.005")),)},
     "J1 line 1: amount 1.005 has more than 2 decimal places"),
    ({"journals": (journal("J1", "x", dr("1300", "1"), cr("1200", "1")),) * 2}, "journal id 'J1' appears twice"),
    ({"journals": (journal("=J1", "x", dr("1300", "1"), cr("1200", "1")),)}, "journal id '=J1' cannot be exported"),
    ({"accounts": {**CHART, "1200": Account(code="1200", name="-Raw", type="asset")}},
     "account name '-Raw' cannot be exported"),
    ({"period": "../../etc"}, "period '../../etc' is not YYYY-MM"),
    ({"journals": (journal("J1", "x", dr("9999", "1"), cr("1200", "1")),)}, "account '9999' is not in the chart"),
])
def test_books_that_cannot_be_written_faithfully_are_refused(change, message, tmp_path):
    book = usd_book().model_copy(update=change)
    for fmt in FORMATS:
        with pytest.raises(ValueError, match=re.escape(message)):
            export_journals(book, fmt, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_qbo_refuses_journal_numbers_longer_than_21_characters(tmp_path):
    long_id = "WIP-CLOSE-2026-10-00001"
    book = usd_book().model_copy(update={"journals": (journal(long_id, "x", dr("1300", "1"), cr("1200", "1")),)})
    with pytest.raises(ExportError, match="at most 21 characters, this id has 23"):
        export_journals(book, "qbo", tmp_path)
    assert export_journals(book, "gl-csv", tmp_path), "other formats take it"


def test_a_failed_write_leaves_the_directory_as_it_was(tmp_path, monkeypatch):
    from costing.exports import _common

    (tmp_path / "journals-2026-09.xero-1.csv").write_bytes(b"previous export")
    real_write = _common._write_file
    calls = []

    def fail_on_second(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(_common, "_write_file", fail_on_second)
    with pytest.raises(OSError, match="disk full"):
        export_journals(many_journals(40, [10]), "xero", tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["journals-2026-09.xero-1.csv"]
    assert (tmp_path / "journals-2026-09.xero-1.csv").read_bytes() == b"previous export"


def test_unknown_format_and_options_are_refused(tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'sap'; choose one of gl-csv, qbo"):
        export_journals(usd_book(), "sap", tmp_path)
    with pytest.raises(TypeError, match="tax_rate"):
        export_journals(usd_book(), "qbo", tmp_path, tax_rate="No VAT")
    assert list(tmp_path.iterdir()) == []


# --- text: formulas, quoting, ASCII -----------------------------------------------------------------

FORMULA = re.compile(r"[=+\-@\t\r]")


@pytest.mark.parametrize("fmt", ["gl-csv", "qbo", "xero", "intacct"])
def test_no_csv_cell_starts_a_formula_except_signed_amounts(fmt, tmp_path):
    data = export(usd_book(), fmt, tmp_path)[0].decode("utf-8")
    cells = {cell for row in csv.reader(io.StringIO(data, newline="")) for cell in row}
    risky = {cell for cell in cells if FORMULA.match(cell)}
    assert all(re.fullmatch(r"-\d+\.\d\d", cell) for cell in risky), risky
    assert "'=HYPERLINK(\"http://evil.example\",\"Payroll, October\")" in cells
    assert "'@SUM(A1:A9) overhead at 150%" in cells


def test_guarded_text_round_trips_through_csv_quoting(tmp_path):
    rows = {(r["journal_id"], r["line"]): r for r in csv_rows(export(usd_book(), "gl-csv", tmp_path)[0])}
    assert rows["WIP-2026-10-002", "2"]["memo"] == "'=HYPERLINK(\"http://evil.example\",\"Payroll, October\")"
    assert rows["WIP-2026-10-002", "3"]["memo"] == "'@SUM(A1:A9) overhead at 150%"
    assert rows["WIP-2026-10-003", "1"]["description"] == "'=1+2, \"Assembly\" to Finishing"
    assert rows["WIP-2026-10-003", "1"]["memo"] == "'-transferred-in cost"
    assert rows["WIP-2026-10-003", "2"]["memo"] == "'+units completed 4,000"
    assert rows["WIP-2026-10-004", "1"]["memo"] == "Spoiled units above normal rate"
    assert rows["WIP-2026-10-001", "2"]["account_name"] == "Café supplies"


def test_iif_is_ascii_tab_separated_with_guarded_text(tmp_path):
    body = export(book_for("iif", "usd"), "iif", tmp_path)[0].decode("ascii")
    records = [line.split("\t") for line in body.split("\r\n") if line]
    fields = {r[0]: r[1:] for r in records[:2]}
    assert fields["!TRNS"] == fields["!SPL"] == ["TRNSTYPE", "DATE", "ACCNT", "AMOUNT", "DOCNUM", "MEMO"]
    by_memo = {r[-1]: dict(zip(fields["!SPL"], r[1:])) for r in records[3:] if r[0] in ("TRNS", "SPL")}
    cafe = by_memo["WIP-2026-10-001: Cafe supplies used - shop floor"]
    assert cafe["ACCNT"] == "Cafe supplies" and cafe["AMOUNT"] == "37.80" and cafe["DATE"] == "10/03/2026"
    assert cafe["DOCNUM"] == "2610-001"
    # every memo starts with the journal id, so none starts a formula
    assert "WIP-2026-10-002: =HYPERLINK('http://evil.example','Payroll, October')" in by_memo
    assert all(memo.startswith("WIP-2026-10-") for memo in by_memo)
    narration = by_memo["WIP-2026-10-002: Conversion costs, Assembly"]
    assert narration["ACCNT"] == "Work in process - Assembly", "narration for a missing memo"


@pytest.mark.parametrize("name, found", [
    ("\u22125 count diff", "has '\u2212' (not ASCII)"),  # U+2212 minus: was written '-5 count diff, a new account
    ("東京 COGS", "has '東' (not ASCII)"),  # was written ?? COGS
    ("\u201cSpecial\u201d tooling", "has '\u201c' (not ASCII)"),  # curly quotes were straightened
    ("Café supplies", "has 'é' (not ASCII)"),  # was written Cafe supplies
    ('12" pipe stock', "has a double quote, which QuickBooks Desktop strips"),
])
def test_iif_refuses_an_account_name_it_cannot_write_exactly(name, found, tmp_path):
    chart = {**ASCII_CHART, "5810": Account(code="5810", name=name, type="expense")}
    book = usd_book().model_copy(update={"accounts": chart, "journals": usd_book().journals + (
        journal("WIP-2026-10-009", "Count difference", dr("5810", "1.00"), cr("1310", "1.00")),)})
    with pytest.raises(ExportError) as refused:
        export_journals(book, "iif", tmp_path)
    assert str(refused.value) == (
        f"WIP-2026-10-009 line 1: account 5810 {name!r} {found}: IIF is plain ASCII and QuickBooks Desktop would "
        f"create a new account for any other spelling; rename the account in the chart to its exact QuickBooks name")
    assert list(tmp_path.iterdir()) == []
    assert export_journals(book, "qbo", tmp_path), "QuickBooks Online takes the name as it is (UTF-8)"


def test_iif_writes_account_names_and_journal_ids_exactly_and_transliterates_memos(tmp_path):
    chart = {**ASCII_CHART, "5810": Account(code="5810", name="WIP count diff (Parent:Sub) 'B'", type="expense")}
    book = usd_book().model_copy(update={"accounts": chart, "journals": (
        journal("WIP-2026-10-009", "\u22125 units \u201ccounted\u201d in 東京",
                dr("5810", "1.00"), cr("1310", "1.00", "Caf\u00e9 \u2014 \u22125")),)})
    body = export(book, "iif", tmp_path)[0].decode("ascii")
    rows = {r[3]: r for r in (line.split("\t") for line in body.split("\r\n")) if r[0] in ("TRNS", "SPL")}
    assert rows["WIP count diff (Parent:Sub) 'B'"][5:] == ["2610-009", "WIP-2026-10-009: -5 units 'counted' in ??"]
    assert rows["Work in process - Finishing"][5:] == ["2610-009", "WIP-2026-10-009: Cafe - -5"]


def test_iif_refuses_a_journal_id_it_cannot_write_exactly(tmp_path):
    book = book_for("iif", "usd").model_copy(update={"journals": (
        journal("WIP-2026-10-\u2160", "x", dr("1300", "1"), cr("1200", "1")),)})
    with pytest.raises(ExportError, match="journal id 'WIP-2026-10-\u2160' has '\u2160' \\(not ASCII\\)"):
        export_journals(book, "iif", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_iif_docnum_fits_quickbooks_desktop_entry_number_and_names_one_journal(tmp_path):
    """QuickBooks Desktop's journal Entry No. holds 11 characters (IIF DOCNUM); the close's ids have 15
    (WIP-2026-10-003) to 20 (REV-WIP2-2026-10-003).  Written whole, an import cut to 11 would give every
    journal of the month WIP-2026-10, and re-imports could no longer be told apart.  Each id gets its
    own short DOCNUM, the same at every export, and stays whole at the start of each MEMO."""
    import datetime as dt_

    from costing.close._journals import build_journals, reversal_book
    from costing.close_service import close_period, journal_id_prefix
    from costing.ledger import Ledger
    from tests.demo_data import demo

    with Ledger(tmp_path / "ledger.db") as ledger:
        close = close_period(demo("2026-10"), ledger, user="test")
    first = close.journals
    second = build_journals(close.result, id_prefix=journal_id_prefix(2))
    books = [first, reversal_book(first, "REV", dt_.date(2026, 11, 2), "late invoice"), second,
             reversal_book(second, "REV", dt_.date(2026, 11, 3), "count")]
    numbers = {}
    for book in books:
        body = render_journals(book, "iif")["journals-2026-10.iif"]
        assert body == render_journals(book, "iif")["journals-2026-10.iif"], "deterministic"
        assert {j.id for j in book.journals} == set(read_iif([body], 2))
        for record in body.decode("ascii").split("\r\n"):
            fields = record.split("\t")
            if fields[0] in ("TRNS", "SPL"):
                assert numbers.setdefault(fields[5], fields[6].split(": ")[0]) == fields[6].split(": ")[0]
    assert len(numbers) == sum(len(b.journals) for b in books), "one DOCNUM per journal id, across the books"
    assert {"2610-001", "R2610-001", "2610-001/2", "R2610-001/2"} <= set(numbers)


@pytest.mark.parametrize("ids, message", [
    (["WIP-CLOSE-2026-10-001"], "journal id 'WIP-CLOSE-2026-10-001' has 21 characters: QuickBooks Desktop's journal "
                                "entry number (IIF DOCNUM) holds 11"),
    # R2610-001/12 has 12: the close numbering, not the id the user could change; said so, with a format to use
    (["REV-WIP12-2026-10-001"], "journal id 'REV-WIP12-2026-10-001' (the reversal of close #12's journal "
                                "WIP12-2026-10-001) cannot be written as IIF: QuickBooks Desktop's journal entry "
                                "number (IIF DOCNUM) holds 11 characters, and its short form with the close's number, "
                                "'R2610-001/12', has 12 — a limit of QuickBooks Desktop's entry number with the "
                                "close numbering, reached by the reversals of a month's close #10 and later (and its "
                                "close #100 and later); export these journals in another format (gl-csv, for "
                                "instance) and enter them in QuickBooks Desktop by hand"),
    (["WIP100-2026-10-001"], "journal id 'WIP100-2026-10-001' (close #100's journal WIP100-2026-10-001) cannot be "
                             "written as IIF"),
    (["WIP1-2026-10-001"], "journal id 'WIP1-2026-10-001' has 16"),  # close #1's ids are WIP-..., never WIP1-...
    (["2610-001", "WIP-2026-10-001"], "journals 2610-001 and WIP-2026-10-001 would both be QuickBooks Desktop entry "
                                      "number '2610-001'"),
])
def test_iif_refuses_ids_it_cannot_give_a_docnum_of_their_own(ids, message, tmp_path):
    book = book_for("iif", "usd").model_copy(update={"journals": tuple(
        journal(id_, "x", dr("1300", "1"), cr("1200", "1")) for id_ in ids)})
    with pytest.raises(ExportError, match=re.escape(message)):
        export_journals(book, "iif", tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert export_journals(book, "gl-csv", tmp_path), "other formats take them"


def november_book() -> JournalBook:
    """The October book again, a month later: the same chart, other ids and dates."""
    return usd_book().model_copy(update={"period": "2026-11", "journals": tuple(
        j.model_copy(update={"id": j.id.replace("2026-10", "2026-11"), "date": dt.date(2026, 11, 30)})
        for j in usd_book().journals)})


def reversal_of(book: JournalBook) -> JournalBook:
    """What ``wip export --after-close 1`` exports after a reopen: the close's journals reversed."""
    return book.model_copy(update={"journals": tuple(j.model_copy(update={
        "id": f"R1-{j.id}", "date": dt.date(2026, 11, 5), "narration": f"Reversal of {j.id}",
        "lines": tuple(line.model_copy(update={"debit": line.credit, "credit": line.debit}) for line in j.lines)})
        for j in book.journals)})


def export_months_to_one_folder(folder: Path) -> dict[str, list[Path]]:
    return {"october": export_journals(usd_book(), "beancount", folder),
            "november": export_journals(november_book(), "beancount", folder),
            "after close": export_journals(reversal_of(usd_book()), "beancount", folder, after_close=1, history=[
                PostedBook("close", 1, usd_book()), PostedBook("reversal", 1, reversal_of(usd_book()))])}


def test_beancount_months_share_one_accounts_file_and_never_repeat_an_open(tmp_path):
    exported = export_months_to_one_folder(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "accounts.beancount", "journals-2026-10-after-close-1.beancount", "journals-2026-10.beancount",
        "journals-2026-11.beancount"]
    accounts = {name: [p for p in paths if p.name == "accounts.beancount"] for name, paths in exported.items()}
    assert all(len(paths) == 1 for paths in accounts.values()), "every export rewrites the accounts file"
    opened = read_beancount_accounts((tmp_path / "accounts.beancount").read_bytes())
    assert len(opened) == len(set(opened)) == len(CHART), "each account of the chart opened once"
    for path in tmp_path.glob("journals-*.beancount"):
        lines = read_beancount([(tmp_path / "accounts.beancount").read_bytes(), path.read_bytes()], 2)
        assert all(sum(amounts) == 0 for amounts in lines.values()), path.name


def test_beancount_months_and_the_after_close_file_load_together_when_installed(tmp_path):
    """beancount is not a dependency; where it is installed, a ledger including every file must load."""
    loader = pytest.importorskip("beancount.loader")
    export_months_to_one_folder(tmp_path)
    ledger = tmp_path / "main.beancount"
    ledger.write_text('include "accounts.beancount"\ninclude "journals-*.beancount"\n', encoding="utf-8")
    entries, errors, _ = loader.load_file(str(ledger))
    assert errors == []
    transactions = {e.meta["id"]: e for e in entries if hasattr(e, "narration")}
    assert len(transactions) == 3 * len(EXPECTED_USD)
    october = {k: [p.units.number for p in t.postings] for k, t in transactions.items() if k.startswith("WIP-2026-10")}
    assert october == EXPECTED_USD
    assert transactions["WIP-2026-10-003"].narration == "'=1+2, \"Assembly\" to Finishing"
    balances = defaultdict(Decimal)
    for t in transactions.values():
        for posting in t.postings:
            balances[posting.account] += posting.units.number
    november = defaultdict(Decimal)
    for t in transactions.values():
        if t.meta["id"].startswith("WIP-2026-11"):
            for posting in t.postings:
                november[posting.account] += posting.units.number
    assert balances == november, "October and its reversal cancel out"


TOKYO = Account(code="5000", name="東京 COGS", type="expense")
OSAKA = Account(code="5810", name="大阪 COGS", type="expense")


def cogs_book(chart: list[Account], *used: str) -> JournalBook:
    lines = [dr(code, "100.00") for code in used] + [cr("1400", f"{100 * len(used)}.00")]
    return JournalBook(company="Kobe", currency="USD", period="2026-10", accounts={
        a.code: a for a in [CHART["1400"], *chart]}, journals=(journal("WIP-2026-10-001", "COGS", *lines),))


def beancount_postings(book: JournalBook) -> set[str]:
    body = render_journals(book, "beancount")["journals-2026-10.beancount"].decode("utf-8")
    return set(re.findall(r"^  ((?:Assets|Expenses)\S*)", body, re.MULTILINE))


def test_a_beancount_name_does_not_depend_on_which_accounts_a_month_used():
    """5000 東京 COGS and 5810 大阪 COGS are both COGS in ASCII: 5000's name was Expenses:COGS in a month
    that used only 5000 and Expenses:COGS-5000 in a month that used both, two names for one account."""
    only_tokyo_used = beancount_postings(cogs_book([TOKYO, OSAKA], "5000"))
    both_used = beancount_postings(cogs_book([TOKYO, OSAKA], "5000", "5810"))
    chart_without_osaka = beancount_postings(cogs_book([TOKYO], "5000"))
    assert only_tokyo_used == chart_without_osaka == {"Expenses:COGS-5000", "Assets:FinishedGoods"}
    assert both_used == {"Expenses:COGS-5000", "Expenses:COGS-5810", "Assets:FinishedGoods"}


def test_beancount_names_collide_against_the_whole_chart_not_the_accounts_used():
    sales = [Account(code="5001", name="Cost of sales", type="expense"),
             Account(code="5002", name="cost of sales", type="expense")]
    assert beancount_postings(cogs_book(sales, "5001")) == {"Expenses:CostOfSales-5001",
                                                                      "Assets:FinishedGoods"}
    accounts = render_journals(cogs_book(sales, "5001"), "beancount")["accounts.beancount"].decode("utf-8")
    assert "1970-01-01 open Expenses:CostOfSales-5002 USD" in accounts, "unused accounts are opened too"


def test_intacct_options_and_description(tmp_path):
    files = export(usd_book(), "intacct", tmp_path, journal="WIPJ", location_id="100", dept_id="MFG")
    rows = csv_rows(files[0])
    first = [r for r in rows if r["LINE_NO"] == "1"]
    assert {r["JOURNAL"] for r in first} == {"WIPJ"}
    assert [r["DESCRIPTION"] for r in first][:2] == ["WIP-2026-10-001 Materials", "WIP-2026-10-002 Conversion"]
    assert {(r["LOCATION_ID"], r["DEPT_ID"]) for r in rows} == {("100", "MFG")}


@pytest.mark.parametrize("fmt, options, message", [
    ("xero", {"tax_rate": "-Tax Exempt"}, "Xero tax rate '-Tax Exempt' cannot be exported: it starts with -"),
    ("xero", {"tax_rate": "Tax Exempt "}, "Xero tax rate 'Tax Exempt ' cannot be exported: it has leading or trailing"),
    ("xero", {"tax_rate": ""}, "Xero tax rate '' cannot be exported: it is empty"),
    ("intacct", {"journal": "=GJ"}, "Intacct journal symbol '=GJ' cannot be exported: it starts with ="),
    # Intacct skips every CSV row starting with '#': each entry's first line (JOURNAL first) would be lost
    ("intacct", {"journal": "#GJ"}, "Intacct journal symbol '#GJ' cannot be exported: it starts with #"),
    ("intacct", {"location_id": " 100"}, "Intacct location id ' 100' cannot be exported: it has leading or trailing"),
    ("intacct", {"dept_id": "+MFG"}, "Intacct department id '+MFG' cannot be exported: it starts with +"),
])
def test_options_the_target_matches_on_are_refused_not_altered(fmt, options, message, tmp_path):
    """They used to be written through the free-text guard: '-Tax Exempt' became "'-Tax Exempt", a rate
    Xero does not have."""
    with pytest.raises(ExportError, match=re.escape(message)):
        export_journals(usd_book(), fmt, tmp_path, **options)
    assert list(tmp_path.iterdir()) == []


def test_xero_refuses_two_journals_it_would_read_as_one(tmp_path):
    book = usd_book().model_copy(update={"journals": (
        journal("A: B", "C", dr("1300", "1"), cr("1200", "1")),
        journal("A", "B: C", dr("1300", "2"), cr("1200", "2")))})
    with pytest.raises(ExportError, match="journals A: B and A have the same Xero narration and date"):
        export_journals(book, "xero", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_xero_tax_rate_option(tmp_path):
    rows = csv_rows(export(usd_book(), "xero", tmp_path, tax_rate="No VAT")[0])
    assert {r["*TaxRate"] for r in rows} == {"No VAT"}
    assert rows[0]["*Narration"] == "WIP-2026-10-001: Materials issued to Assembly"


# --- the package's place in the architecture --------------------------------------------------------

def test_public_surface_is_pinned():
    assert sorted(exports.__all__) == ["ExportError", "FORMATS", "OPTIONS", "export_journals", "render_journals"]
    assert FORMATS == ("gl-csv", "qbo", "xero", "iif", "intacct", "beancount")
    assert render_journals(usd_book(), "gl-csv") == render_journals(usd_book(), "gl-csv")


def test_the_core_never_imports_the_exports():
    """The core (costing/_*.py, the package itself) and the close that builds the journals never import
    the writers; entry points (cli.py) may, as they wire adapters together."""
    root = Path(costing.__file__).parent
    core = [root / "__init__.py", *root.glob("_*.py"), *(root / "close").rglob("*.py")]
    assert root / "_journal.py" in core
    for path in core:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            assert not any("exports" in name for name in names), f"{path.relative_to(root)} imports the exports"


# --- a folder of exports is a chain: never a close twice, never one missed ------------------------------
#
# A month is closed (#1), reopened (its reversal posted) and closed again (#2), ... .  Each close has
# its own ids and amounts (close #k: the October book's amounts × 10^(k-1), so that no sum of a few
# closes and reversals equals another close), as the ledger's history of the period gives them.


def close_no(fmt: str, k: int) -> JournalBook:
    """Close #k of October."""
    book = book_for(fmt, "usd")
    factor = D(10) ** (k - 1)
    return book.model_copy(update={"journals": tuple(j.model_copy(update={
        "id": j.id.replace("WIP-2026-10-", f"W{k}-"),
        "lines": tuple(line.model_copy(update={"debit": line.debit * factor, "credit": line.credit * factor})
                       for line in j.lines)}) for j in book.journals)})


def history_of(fmt: str, closes: int) -> list[PostedBook]:
    """What the ledger holds after ``closes`` closes of October: close #1, its reversal, close #2, ..."""
    history = []
    for k in range(1, closes + 1):
        if k > 1:
            history.append(PostedBook("reversal", k - 1, reversal_of(close_no(fmt, k - 1))))
        history.append(PostedBook("close", k, close_no(fmt, k)))
    return history


def export_month(fmt: str, closes: int, folder: Path) -> list[Path]:
    """``wip export`` after ``closes`` closes: the current close, as the month's own file."""
    history = history_of(fmt, closes)
    return export_journals(history[-1].book, fmt, folder, history=history)


def export_after(fmt: str, closes: int, folder: Path, n: int) -> list[Path]:
    """``wip export --after-close n`` after ``closes`` closes."""
    history = history_of(fmt, closes)
    return export_journals(posted_after(history, n), fmt, folder, after_close=n, history=history)


def contents(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()} if folder.exists() else {}


def refused(export, *args, match: str) -> None:
    """The export is refused, saying so, and the folder (``args[2]``) is left exactly as it was."""
    before = contents(args[2])
    with pytest.raises(ExportError, match=match):
        export(*args)
    assert contents(args[2]) == before


def gl_net(folder: Path) -> dict[str, Decimal]:
    """What importing every gl-csv file of the folder posts, by account (accounts netting to zero left out)."""
    net: dict[str, Decimal] = defaultdict(Decimal)
    for path in folder.glob("journals-*.gl.csv"):
        for row in csv_rows(path.read_bytes()):
            net[row["account_code"]] += amount(row["debit"], 2) - amount(row["credit"], 2)
    return {code: value for code, value in net.items() if value}


def close_net(k: int) -> dict[str, Decimal]:
    """What close #k posts, by account, from the book itself (not from a file)."""
    return {p.account.code: p.net for p in postings_by_account(close_no("gl-csv", k)) if p.net}


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_folder_never_gets_files_that_post_a_close_twice(tmp_path, fmt):
    """Month file (close #1) + after-close-1 (reversal of #1, then #2) post #2 once; the month
    rewritten as #2 beside it, or after-close-1 beside a month file of #2, would post #2 twice."""
    folder = tmp_path / "folder"
    export_month(fmt, 1, folder)
    export_after(fmt, 2, folder, 1)
    before = contents(folder)
    export_month(fmt, 1, folder)  # the same bytes again: nothing changes
    assert contents(folder) == before
    refused(export_month, fmt, 2, folder, match=r"expected 2026-10's journals unchanged .* found them changed "
                                                r"\(now close #2\)")
    other = tmp_path / "other"
    export_month(fmt, 2, other)
    refused(export_after, fmt, 2, other, 1, match=r"posts close #2 when imported .*; expected close #1")
    export_after(fmt, 2, tmp_path / "alone", 1)  # no month file: for a system that imported close #1 elsewhere
    # A third close: what follows close #2 goes beside the month file (#1) and after-close-1 (-#1, #2).
    written = {path.name for path in export_after(fmt, 3, folder, 2)}
    assert set(contents(folder)) == set(before) | written
    assert any("after-close-2" in name for name in written)


@pytest.mark.parametrize("fmt", FORMATS)
def test_reproduction_a_two_after_close_files_that_both_follow_close_1(tmp_path, fmt):
    """Month #1, re-closed twice, after-close-1 (up to #3): the folder posts #3.  After-close-2 beside
    it would post #3 again and reverse #2 that the folder no longer holds."""
    export_month(fmt, 1, tmp_path)
    export_after(fmt, 3, tmp_path, 1)
    refused(export_after, fmt, 3, tmp_path, 2,
            match=r"posts close #3 when imported \(.* holds close #1, then .*after-close-1.* brings it to close #3\); "
                  r"expected close #2")


@pytest.mark.parametrize("fmt", FORMATS)
def test_reproduction_b_an_after_close_file_replaced_under_a_later_one(tmp_path, fmt):
    """Month #1, after-close-1 (to #2), after-close-2 (to #3): right.  After-close-1 again (now up to
    #3) would post #3 twice with after-close-2 still there."""
    export_month(fmt, 1, tmp_path)
    export_after(fmt, 2, tmp_path, 1)
    export_after(fmt, 3, tmp_path, 2)
    refused(export_after, fmt, 3, tmp_path, 1, match=r"after-close-2.*which follows the after-close #1 file there")


@pytest.mark.parametrize("fmt", FORMATS)
def test_reproduction_c_an_after_close_file_missing_from_the_chain(tmp_path, fmt):
    """Month #1, after-close-1 (to #2), then #3 and #4: after-close-3 would leave out #3's reversal
    and #3 itself (#2 − #3 + #4).  After-close-2 is what brings the folder to #4."""
    export_month(fmt, 1, tmp_path)
    export_after(fmt, 2, tmp_path, 1)
    refused(export_after, fmt, 4, tmp_path, 3,
            match=r"posts close #2 when imported .*expected close #3.* Export --after-close 2 instead")
    export_after(fmt, 4, tmp_path, 2)


@pytest.mark.parametrize("fmt", FORMATS)
def test_after_close_files_in_order_are_accepted_and_exporting_again_changes_nothing(tmp_path, fmt):
    export_month(fmt, 1, tmp_path)
    for n in (1, 2, 3):
        export_after(fmt, n + 1, tmp_path, n)
    folder = contents(tmp_path)
    export_month(fmt, 4, tmp_path / "fresh")
    export_month(fmt, 1, tmp_path)
    for n in (1, 2, 3):
        export_after(fmt, n + 1, tmp_path, n)  # each as it was, with the history it was exported from
    export_after(fmt, 4, tmp_path, 3)  # the last one with today's history: the same bytes
    assert contents(tmp_path) == folder
    # Every export stays where it belongs: refused, the month, and each after-close file but the last.
    refused(export_month, fmt, 4, tmp_path, match="found them changed")
    for n in (1, 2):
        refused(export_after, fmt, 4, tmp_path, n, match=f"which follows the after-close #{n} file there")


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_folder_of_after_close_files_only_follows_a_close_imported_elsewhere(tmp_path, fmt):
    export_after(fmt, 2, tmp_path, 1)  # the system imported close #1 from another folder
    export_after(fmt, 2, tmp_path, 1)  # unchanged
    refused(export_after, fmt, 3, tmp_path, 1, match=r"what was posted after close #1 up to close #2; .* never "
                                                     r"replaced.* Export --after-close 2 instead")
    export_after(fmt, 3, tmp_path, 2)
    refused(export_after, fmt, 4, tmp_path, 1, match=r"no month file: it follows close #1, imported elsewhere, then "
                                                     r".* brings it to close #2, then .* brings it to close #3\)")
    export_after(fmt, 4, tmp_path, 3)
    refused(export_month, fmt, 4, tmp_path, match="found them changed")


@pytest.mark.parametrize("fmt", ["gl-csv", "xero"])
def test_files_the_guard_cannot_identify_are_refused(tmp_path, fmt):
    export_month(fmt, 1, tmp_path)
    month = sorted(tmp_path.glob("journals-2026-10.*"))[0]
    month.write_bytes(month.read_bytes() + b"edited by hand\r\n")
    refused(export_after, fmt, 2, tmp_path, 1, match=r"expected the export of one of 2026-10's closes #1, #2, found "
                                                    r"other contents")
    export_month(fmt, 1, tmp_path / "options")
    options = {"xero": {"tax_rate": "No VAT"}}.get(fmt, {})
    history = history_of(fmt, 2)
    if options:  # the month exported with other options matches no close as exported with these
        # an export written by an earlier version (0.4.0 changed IIF, gl-csv and beancount) is one such file
        with pytest.raises(ExportError, match="exported with other options, by an earlier version of wip"):
            export_journals(posted_after(history, 1), fmt, tmp_path / "options", after_close=1, history=history,
                            **options)
    export_month(fmt, 1, tmp_path / "renamed")
    export_after(fmt, 3, tmp_path / "renamed", 1)
    after = sorted((tmp_path / "renamed").glob("journals-2026-10-after-close-1.*"))[0]
    after.rename(after.with_name(after.name.replace("after-close-1", "after-close-2")))
    refused(export_after, fmt, 3, tmp_path / "renamed", 1, match=r"after close #2 up to a later close, found other")


def test_an_after_close_file_needs_the_history_it_comes_from(tmp_path):
    with pytest.raises(TypeError, match="needs the period's history"):
        export_journals(reversal_of(usd_book()), "gl-csv", tmp_path, after_close=1)
    with pytest.raises(ExportError, match="not what the history given says was posted"):
        export_journals(close_no("gl-csv", 2), "gl-csv", tmp_path, after_close=1, history=history_of("gl-csv", 2))
    assert contents(tmp_path) == {}


def test_a_folder_in_which_a_close_was_reversed_and_not_yet_closed_again(tmp_path):
    """Exported while the month was reopened, after-close-1 holds only the reversal: the folder posts
    nothing for October.  That file may have been imported, so it is never replaced by the reversal
    and the re-close: the re-close goes, as the month's own file, into a folder of its own."""
    reopened = history_of("gl-csv", 1) + [PostedBook("reversal", 1, reversal_of(close_no("gl-csv", 1)))]
    export_month("gl-csv", 1, tmp_path)
    export_journals(posted_after(reopened, 1), "gl-csv", tmp_path, after_close=1, history=reopened)
    assert gl_net(tmp_path) == {}
    twice = history_of("gl-csv", 2) + [PostedBook("reversal", 2, reversal_of(close_no("gl-csv", 2)))]
    refused(lambda *args: export_journals(*args, after_close=2, history=twice), posted_after(twice, 2), "gl-csv",
            tmp_path, match=r"posts nothing \(close #1 reversed, not closed again\) when imported .* The folder "
                  r"posts nothing of 2026-10, as the ledger does now \(close #2 reversed, not closed again\): leave "
                  r"it as it is; once 2026-10 is closed again, export its journals \(the month's own file\) into a folder of its "
                  r"own: imported after this folder, they post that close$")
    refused(export_after, "gl-csv", 3, tmp_path, 1,
            match=r"holds journals-2026-10-after-close-1\.gl\.csv, the reversal of close #1 alone \(exported while "
                  r"2026-10 was reopened\); .* never replaced with other contents.* Export 2026-10's journals \(the "
                  r"month's own file, close #3\) into a folder of its own: imported after this folder, which posts "
                  r"nothing of 2026-10, they post close #3\. If journals-2026-10-after-close-1\.gl\.csv was never "
                  r"imported, delete it and export --after-close 1 again$")
    refused(export_after, "gl-csv", 3, tmp_path, 2, match=r"posts nothing \(close #1 reversed, not closed again\) "
                                                          r"when imported .* Export 2026-10's journals \(the month's "
                                                          r"own file, close #3\) into a folder of its own")
    export_month("gl-csv", 3, tmp_path / "after")
    assert gl_net(tmp_path / "after") == close_net(3)  # on top of the folder, which posts nothing
    # Never imported: deleted, the after-close file is written again, up to the current close.
    (tmp_path / "journals-2026-10-after-close-1.gl.csv").unlink()
    export_after("gl-csv", 3, tmp_path, 1)
    assert gl_net(tmp_path) == close_net(3)


def test_an_accepted_folder_imports_as_the_current_close(tmp_path):
    export_month("gl-csv", 1, tmp_path)
    assert gl_net(tmp_path) == close_net(1)
    export_after("gl-csv", 3, tmp_path, 1)
    assert gl_net(tmp_path) == close_net(3)
    export_after("gl-csv", 5, tmp_path, 3)
    assert gl_net(tmp_path) == close_net(5) != close_net(3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.just("re-close"), st.just("month"), st.integers(1, 5)), max_size=12))
def test_whatever_is_exported_a_folder_imports_as_the_current_close(tmp_path_factory, steps):
    """Any sequence of re-closes and exports (the month, or after close #n) into one folder: each export
    accepted leaves a folder whose gl-csv files, read back and added up on top of the close the folder
    follows (none if it holds the month file), post exactly the current close; a refused one leaves the
    folder as it was."""
    folder = tmp_path_factory.mktemp("chain")
    closes, base = 1, None
    for step in steps:
        if step == "re-close":
            closes += 1
            continue
        before = contents(folder)
        try:
            if step == "month":
                export_month("gl-csv", closes, folder)
            elif step < closes:
                export_after("gl-csv", closes, folder, step)
            else:
                continue  # nothing posted after the current close, or no such close: the CLI says so
        except ExportError:
            assert contents(folder) == before
            continue
        if base is None:
            base = {} if step == "month" else close_net(step)
        posted = defaultdict(Decimal, base)
        for code, value in gl_net(folder).items():
            posted[code] += value
        assert {code: value for code, value in posted.items() if value} == close_net(closes), steps


# --- Intacct's DESCRIPTION: 30 characters that read as a whole ----------------------------------------

_DANGLING = (":", ";", ",", ".", "-", "(", "&", "+")


def intacct_descriptions(book: JournalBook) -> dict[str, str]:
    """Journal id -> the DESCRIPTION of its entry, read back from the export."""
    rows = csv_rows(render_journals(book, "intacct")["journals-2026-10.intacct-1.csv"])
    return {row["DESCRIPTION"].split(" ")[0]: row["DESCRIPTION"] for row in rows if row["LINE_NO"] == "1"}


def test_intacct_descriptions_of_a_close_name_each_journal_whole(tmp_path):
    """The close's narrations are cut to a short form, not mid-phrase: "WIP-2026-10-006 Spoilage", not
    "WIP-2026-10-006 Spoilage:"; "… COGS", not "… Cost of goods"; a reversal says it is one."""
    import datetime as dt_

    from costing.close._journals import Texts, reversal_book
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from tests.demo_data import demo
    from tests.test_ledger_storage import process_account_demo

    books = []
    for n, data in enumerate((demo("2026-10"), process_account_demo())):
        with Ledger(tmp_path / f"{n}.db") as ledger:
            books.append(close_period(data, ledger, user="test").journals)
    books.append(reversal_book(books[0], "REV", dt_.date(2026, 11, 2), "late invoice"))
    seen = {}
    for book in books:
        shown = intacct_descriptions(book)
        assert set(shown) == {j.id for j in book.journals}
        for j in book.journals:
            description = shown[j.id]
            assert len(description) <= 30 and description.startswith(j.id + " "), description
            assert not description.endswith(_DANGLING), description
            assert description.split(" ")[-1] not in ("to", "of", "and", "vs"), description
            seen[j.narration.split(" (")[0]] = description.split(" ", 1)[1]
    assert seen[Texts.SPOILAGE] == "Spoilage" and seen[Texts.COGS] == "COGS"
    assert seen[Texts.COUNTS] == "Count diffs" and seen[Texts.OVERHEAD] == "OH true-up"
    assert seen[Texts.PROCESS_LOSSES] == "Process losses"
    assert all(shown == "Reversal" for narration, shown in seen.items() if narration.startswith("Reversal of"))


@pytest.mark.parametrize("id_, narration, expected", [
    ("WIP-2026-10-004", "Abnormal spoilage, Finishing", "WIP-2026-10-004 Abnormal"),  # whole words
    ("WIP-2026-10-003", '=1+2, "Assembly" to Finishing', "WIP-2026-10-003 =1+2"),  # no dangling comma
    ("J-7", "Accrual: October, shop-floor supplies", "J-7 Accrual: October"),  # up to a clause end
    ("J-8", "Materials issued to production (2026-10)", "J-8 Materials issued"),  # the longer form fits
    ("J-9", "Short one (2026-10)", "J-9 Short one"),  # the period is the date's, said once
    ("WIP-2026-10-002", "Transfer to Finishing", "WIP-2026-10-002 Transfer"),  # not ending on "to"
])
def test_intacct_descriptions_of_other_narrations_end_on_a_whole_word(id_, narration, expected):
    book = usd_book().model_copy(update={"journals": (journal(id_, narration, dr("1300", "1.00"),
                                                               cr("1200", "1.00")),)})
    assert intacct_descriptions(book) == {id_: expected}
