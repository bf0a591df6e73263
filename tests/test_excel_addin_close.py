"""The Close month button, through a fake xlwings Book: same reader interface, same close, same
ledger and result sheets as `wip close BOOK.xlsx` — and identical journals."""

from __future__ import annotations

import json
import shutil

from costing.cli import main
from costing.ledger import Ledger
from excel_addin.close import close_month

from .fake_xlwings import FakeBook


def demo_book(tmp_path, name="wip_close.xlsx"):
    path = tmp_path / name
    assert main(["init", str(path), "--demo"]) == 0
    return path


def test_close_month_closes_the_calling_workbook(tmp_path, capsys):
    book_path = demo_book(tmp_path)
    book = FakeBook(book_path)
    result = close_month(book)
    assert result.ok, result.message
    assert "2026-10 closed (close #1)" in book.app.alerts[-1]
    with Ledger(book_path.with_suffix(".wip.db"), create=False) as ledger:
        assert ledger.status("2026-10") == "closed"
    sheets = book.wb.sheetnames
    for name in ("Cost Report", "Journal", "Checks"):
        assert name in sheets
    formulas = [c.value for row in book.wb["Cost Report"].iter_rows() for c in row
                if isinstance(c.value, str) and c.value.startswith("=")]
    assert formulas, "results are live formulas"


def test_button_and_command_give_identical_journals(tmp_path, capsys):
    (tmp_path / "a").mkdir()
    by_button = demo_book(tmp_path / "a")
    by_command = tmp_path / "b" / "wip_close.xlsx"
    (tmp_path / "b").mkdir()
    shutil.copy(by_button, by_command)
    assert close_month(FakeBook(by_button)).ok
    assert main(["close", str(by_command), "--period", "2026-10"]) == 0
    capsys.readouterr()
    journals = []
    for path in (by_button, by_command):
        assert main(["journal", "--period", "2026-10", "--json", "--ledger", str(path.with_suffix(".wip.db"))]) == 0
        journals.append(json.loads(capsys.readouterr().out))
    assert journals[0] == journals[1]


def test_close_month_refuses_bad_input_and_writes_nothing(tmp_path):
    book_path = demo_book(tmp_path)
    book = FakeBook(book_path)
    ws = book.wb["Production"]
    table = next(iter(ws.tables.values()))
    # put a completion above 100% into the first data row's ending-completion column
    first_row = int("".join(ch for ch in table.ref.split(":")[0] if ch.isdigit())) + 1
    for cell in ws[first_row - 1]:
        if isinstance(cell.value, str) and "ending" in cell.value.lower() and "complet" in cell.value.lower():
            ws.cell(first_row, cell.column, 1.3)
            book.values["Production"].cell(first_row, cell.column, 1.3)
            break
    else:
        raise AssertionError("no ending completion column in the Production table")
    result = close_month(book)
    assert not result.ok
    assert "Production!" in result.message and "PROGRESS_OUT_OF_RANGE" in result.message
    assert not book_path.with_suffix(".wip.db").exists() or Ledger(book_path.with_suffix(".wip.db")).events() == []
    assert book.writes == 0


def test_checks_sheet_counts_excel_function_errors(tmp_path, capsys):
    import openpyxl

    book_path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(book_path)
    calc = wb.create_sheet("My calc")
    calc["B2"] = "#WIP! UNIT_FLOW: row 3 (stages[0]): units do not balance"  # what a WIP_* function returned
    calc["B3"] = 12.5
    calc["B4"] = "#N/A"  # an Excel error value (openpyxl keeps it as one): a cell no total reads shows it nowhere
    wb.save(book_path)
    assert main(["close", str(book_path), "--period", "2026-10"]) == 0
    checks = openpyxl.load_workbook(book_path, data_only=True)["Checks"]
    formulas = openpyxl.load_workbook(book_path)["Checks"]
    row = next(r for r in range(1, checks.max_row + 1) if str(checks.cell(r, 1).value).startswith("No #WIP! errors"))
    assert checks.cell(row, 5).value == "2 error(s)"
    assert "COUNTIF('My calc'!A:CZ" in formulas.cell(row, 4).value
    assert "SUMPRODUCT(--ISERROR('My calc'!A1:CZ4))" in formulas.cell(row, 4).value


def test_pressing_close_month_again_writes_the_sheets_from_the_recorded_close(tmp_path, monkeypatch):
    import costing.workbook as workbook_api

    book_path = demo_book(tmp_path)
    book = FakeBook(book_path)
    real = workbook_api.write_close_results

    def fails(*args, **kwargs):
        raise PermissionError("disk full")

    monkeypatch.setattr(workbook_api, "write_close_results", fails)
    first = close_month(book)
    assert not first.ok and "[RESULTS_NOT_WRITTEN]" in first.message and "close #1" in first.message
    assert "Journal" not in book.wb.sheetnames
    monkeypatch.setattr(workbook_api, "write_close_results", real)
    again = close_month(book)
    assert again.ok and "already closed from these inputs (close #1)" in again.message
    assert "Journal" in book.wb.sheetnames
    with Ledger(book_path.with_suffix(".wip.db"), create=False) as ledger:
        assert [e.kind for e in ledger.events()] == ["close"]


def test_live_excel_formula_results_empty_text_is_blank_and_an_error_is_not(tmp_path):
    """xlwings gives None for a formula showing "" (a live Excel has calculated every formula), and
    by default None for an error cell too: errors are read as their text, so they stay errors."""
    from excel_addin._xlwings_book import XlwingsSource

    book = FakeBook(demo_book(tmp_path))
    name = XlwingsSource(book).table_names()[0]
    first = XlwingsSource(book).table(name).rows[0][-1]
    sheet, coordinate = first.sheet, first.coordinate
    for cached, blank in ((None, True), ("#N/A", False)):
        book.wb[sheet][coordinate] = '=IF(1=1,"",5)'
        book.values[sheet][coordinate] = cached
        cell = XlwingsSource(book).table(name).rows[0][-1]
        assert cell.formula == '=IF(1=1,"",5)' and cell.is_blank is blank and cell.value == (cached or "")


def test_journal_dates_reach_the_open_workbook_as_dates_formatted_yyyy_mm_dd(tmp_path):
    """The Journal's Date column is copied into the open workbook as dates, not text or bare
    serial numbers: the values handed to xlwings are ``datetime``s (read back from the written copy
    by openpyxl), which xlwings turns into Excel dates on Windows (COM) and macOS (appscript), in
    the live workbook's own date system; and the column gets the yyyy-mm-dd format there too."""
    import datetime as dt

    book_path = demo_book(tmp_path)
    book = FakeBook(book_path)
    assert close_month(book).ok
    (_, top, left, matrix), = [w for w in book.written if w[0] == "Journal"]
    header = next(k for k, row in enumerate(matrix) if row[:2] == ["'Journal", "'Date"])  # text goes as text
    handed = [row[1] for row in matrix[header + 1:] if str(row[0]).startswith("'WIP-")]
    assert len(handed) == 32
    assert {type(v) for v in handed} == {dt.datetime} and set(handed) == {dt.datetime(2026, 10, 31)}
    journal = book.wb["Journal"]
    dates = [journal.cell(top + header + 1 + k, left + 1) for k in range(len(handed))]
    assert [(c.value, c.number_format) for c in dates] == [(dt.datetime(2026, 10, 31), "yyyy-mm-dd")] * 32


def test_close_month_names_later_months_to_re_close(tmp_path, monkeypatch):
    """As `wip close` says it (close_service.re_close_notice): the month after, with its reopen and
    close (the ledger named), then the rest in order, then the months waiting on another's re-close.
    Which months they are is the ledger's (tested with the CLI); here it is given."""
    from costing.ledger import Ledger

    monkeypatch.setattr(Ledger, "stale_sources", lambda self: {
        "2026-11": ("2026-10", "2026-10"), "2026-12": ("2026-11", "2026-10"), "2027-02": ("2027-01", "2027-01")})
    book_path = demo_book(tmp_path)
    result = close_month(FakeBook(book_path))
    assert result.ok
    ledger = str(book_path.with_suffix(".wip.db"))
    assert ("Needs re-close: 2026-11 opened from 2026-10's earlier close, and this close moved the closing position "
            f'it opened from: `wip reopen 2026-11 --ledger {ledger} --reason "WHO AND WHY"`, then `wip close FILE --period '
            f"2026-11 --ledger {ledger}` (WHO AND WHY: who asked for the re-close and why; FILE: the month's close file or workbook). Then, in order, each only if the "
            "re-close before it says so (it moved the closing position the month opened from): 2026-12. Also flagged, "
            "waiting on another month's re-close: 2027-02") in result.message


def test_close_month_recorded_is_not_said_as_refused_when_the_later_months_cannot_be_checked(tmp_path, monkeypatch):
    import excel_addin.close as button
    from costing.ledger import LedgerError

    def unreadable(ledger, period, close_no=1):
        raise LedgerError("LEDGER_CHANGED", "a row was changed outside the engine")

    monkeypatch.setattr(button, "re_close_notice", unreadable)
    result = close_month(FakeBook(demo_book(tmp_path)))
    assert result.ok and "2026-10 closed (close #1)" in result.message
    assert "could not be checked: a row was changed outside the engine [LEDGER_CHANGED]" in result.message


def test_a_value_excel_cuts_to_four_places_closes_nothing_and_names_the_cell(tmp_path):
    """A rate formatted as Currency reaches the add-in as 18.1235 where the book holds 18.123456: the
    button posted a close no saved file reproduces (14 lines a few cents off `wip close`), then
    could never write its sheets, and said to press again — which said the same."""
    import openpyxl
    from decimal import Decimal

    book_path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(book_path)
    wb["Overhead Rates"]["C4"] = 18.123456
    wb.save(book_path)
    book = FakeBook(book_path)
    book.values["Overhead Rates"]["C4"].value = Decimal("18.1235")  # pywin32's VT_CY for a Currency cell
    result = close_month(book)
    assert not result.ok
    assert result.message == (
        "Nothing was closed: 1 problem found:\n'Overhead Rates'!C4: Excel handed the add-in 18.1235 where the "
        "workbook holds 18.123456 (a cell formatted as Currency or Accounting is handed to add-ins to four decimal "
        "places): format it as Number, or close with the `wip close` command [EXCEL_VALUE_CUT]")
    assert not book_path.with_suffix(".wip.db").exists() and book.writes == 0
