"""Review round 18 of the Excel add-in: the Close month button refuses what `wip close BOOK.xlsx`
refuses (rows below a table, Excel's newer errors as Windows hands them over, a sheet of the user's
named like a result sheet), says how many problems there are, leaves no ledger file when refused;
WIP_TOTAL / WIP_CHECK never skip text or an error in silence."""

from __future__ import annotations

import openpyxl
import pytest

from costing.cli import main
from costing.ledger import Ledger
from excel_addin import functions as fx
from excel_addin._xlwings_book import XlwingsSource
from excel_addin.close import close_month

from .fake_xlwings import FakeBook, FakeRange, _windows_cleaning, com_error

# Excel's error numbers (XlCVError: xlErrNull 2000 ... xlErrCalc 2050) as the COM value Windows
# hands over: 0x800A0000 + the number, as a signed 32-bit integer.
XL_ERRORS = {"#NULL!": 2000, "#DIV/0!": 2007, "#VALUE!": 2015, "#REF!": 2023, "#NAME?": 2029, "#NUM!": 2036,
             "#N/A": 2042, "#GETTING_DATA": 2043, "#SPILL!": 2045, "#CONNECT!": 2046, "#BLOCKED!": 2047,
             "#UNKNOWN!": 2048, "#FIELD!": 2049, "#CALC!": 2050}


def test_the_com_values_are_worked_out_exactly():
    assert com_error("#DIV/0!") == -2146826281 == 0x800A07D7 - (1 << 32)  # xlwings' own cell_errors
    assert com_error("#SPILL!") == -2146826243
    for text, number in XL_ERRORS.items():
        assert com_error(text) == number - 2146828288


def demo_book(tmp_path, edits=(), extra_sheet=None):
    path = tmp_path / "book.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    wb = openpyxl.load_workbook(path)
    for sheet, ref, value in edits:
        wb[sheet][ref] = value
    if extra_sheet:
        ws = wb.create_sheet(extra_sheet)
        ws["A1"] = "My own summary"
        ws["B2"] = 12345
    wb.save(path)
    return path


@pytest.fixture
def windows_errors(monkeypatch):
    """Error cells as xlwings' Windows engine reads them with err_to_str: the seven classic errors as
    their text, the others (#SPILL!, #CALC!, ...) as the COM integer."""
    clean = _windows_cleaning()
    plain = FakeRange.value.fget

    def value(self):
        return [[clean(com_error(v), None, None, None, True) if isinstance(v, str) and v in XL_ERRORS else v
                 for v in row] for row in plain(self)]

    monkeypatch.setattr(FakeRange, "value", property(value))


def assert_refused_wrote_nothing(tmp_path, result, book):
    assert not result.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["book.xlsx"], "a refused close leaves no ledger file"
    assert book.writes == 0


# ---- 2b: Excel's newer errors arrive as integers on Windows ------------------------------------

@pytest.mark.parametrize("text", sorted(XL_ERRORS))
def test_every_excel_error_integer_reads_as_its_text(tmp_path, windows_errors, text):
    path = demo_book(tmp_path, [("Costs", "D5", text)])
    table = XlwingsSource(FakeBook(path)).table("Costs")
    cell = next(c for row in table.rows for c in row if c.coordinate == "D5")
    assert cell.value == text


def test_an_unknown_excel_error_integer_is_never_a_number(tmp_path, monkeypatch):
    """An error Excel adds later (a number past #CALC!'s 2050) is an error still, never -2146826200."""
    plain = FakeRange.value.fget
    code = 2099 - 2146828288
    monkeypatch.setattr(FakeRange, "value", property(
        lambda self: [[code if v == "#LATER!" else v for v in row] for row in plain(self)]))
    path = demo_book(tmp_path, [("Costs", "D5", "#LATER!")])
    book = FakeBook(path)
    cell = next(c for row in XlwingsSource(book).table("Costs").rows for c in row if c.coordinate == "D5")
    assert not isinstance(cell.value, (int, float))
    result = close_month(book)
    assert "Costs!D5" in result.message and "FORMULA_ERROR" in result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


@pytest.mark.parametrize("sheet,ref", [("Settings", "B4"), ("Costs", "D5"), ("Accounts", "G4"), ("Accounts", "D4")])
@pytest.mark.parametrize("text", ["#SPILL!", "#CALC!", "#FIELD!"])
def test_a_newer_excel_error_is_refused_where_it_is(tmp_path, windows_errors, sheet, ref, text):
    path = demo_book(tmp_path, [(sheet, ref, text)])
    book = FakeBook(path)
    result = close_month(book)
    assert f"{sheet}!{ref}" in result.message and "FORMULA_ERROR" in result.message, result.message
    assert "-21468" not in result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


# ---- 2a: rows typed below a table ---------------------------------------------------------------

def test_rows_below_a_table_are_refused_as_the_command_refuses_them(tmp_path, capsys):
    edits = [("Costs", "A20", "Drip Home"), ("Costs", "B20", "Assembly"), ("Costs", "C20", "materials"),
             ("Costs", "D20", 5000)]
    path = demo_book(tmp_path, edits)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    assert "DATA_BELOW_TABLE" in capsys.readouterr().err
    book = FakeBook(path)
    result = close_month(book)
    assert "Costs!A20" in result.message and "DATA_BELOW_TABLE" in result.message, result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


# ---- 3: the user's own sheet named like a result sheet ------------------------------------------

@pytest.mark.parametrize("name", ["Summary", "summary"])
def test_a_sheet_of_the_users_named_like_a_result_sheet_is_refused_and_kept(tmp_path, name):
    path = demo_book(tmp_path, extra_sheet=name)
    book = FakeBook(path)
    result = close_month(book)
    assert "RESULT_SHEET_NAME_TAKEN" in result.message, result.message
    assert_refused_wrote_nothing(tmp_path, result, book)
    assert book.wb[name]["A1"].value == "My own summary"


def test_the_buttons_result_sheets_are_its_own_at_the_next_close(tmp_path, capsys):
    """Written by the button, the result sheets are recorded as the close's (as the command records
    them): the next close, by the button or the command, replaces them rather than refusing them."""
    path = demo_book(tmp_path)
    book = FakeBook(path)
    assert close_month(book).ok
    book.wb.save(path)  # the user saves the workbook
    again = FakeBook(path)
    result = close_month(again)
    assert result.ok and "already closed from these inputs" in result.message, result.message
    assert main(["close", str(path), "--period", "2026-10"]) == 0, capsys.readouterr().err


def test_copy_result_sheets_replaces_only_result_sheets(tmp_path):
    from excel_addin._xlwings_book import copy_result_sheets

    path = demo_book(tmp_path, extra_sheet="Summary")
    written = tmp_path / "written.xlsx"
    wb = openpyxl.load_workbook(path)
    wb["Summary"]["A1"] = "the close's summary"
    wb.save(written)
    book = FakeBook(path)
    with pytest.raises(Exception, match="Summary"):
        copy_result_sheets(book, written, ["Summary"])
    assert book.wb["Summary"]["A1"].value == "My own summary"


# ---- 7: how many problems --------------------------------------------------------------------

def test_the_button_says_how_many_problems_and_where_to_see_them_all(tmp_path, capsys):
    edits = [("Costs", f"D{r}", "abc") for r in range(4, 19)] + [("Production", f"G{r}", 1.5) for r in range(4, 11)]
    edits += [("Shipments", "B4", "x"), ("Shipments", "B5", "y"), ("Counts", "C4", "z")]
    path = demo_book(tmp_path, edits)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    said = capsys.readouterr().err
    count = int(said.strip().splitlines()[-1].split()[0])
    assert count > 20
    book = FakeBook(path)
    result = close_month(book)
    assert f"{count} problems found" in result.message, result.message
    assert f"and {count - 20} more" in result.message
    assert f"wip close {path.name} --period 2026-10" in result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


# ---- 8: a refused close leaves no ledger file ---------------------------------------------------

def test_a_close_refused_by_the_close_checks_leaves_no_ledger_file(tmp_path):
    path = demo_book(tmp_path, [("Accounts", "G4", 10000)])  # the GL does not tie
    book = FakeBook(path)
    result = close_month(book)
    assert "GL_DOES_NOT_TIE" in result.message, result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


def test_a_refused_close_leaves_an_existing_ledger_as_it_was(tmp_path):
    path = demo_book(tmp_path, [("Accounts", "G4", 10000)])
    ledger = tmp_path / "book.wip.db"
    ledger.write_bytes(b"")  # an empty file the user made: left empty
    result = close_month(FakeBook(path))
    assert not result.ok
    assert ledger.exists() and ledger.read_bytes() == b""


# ---- 5: WIP_TOTAL / WIP_CHECK never skip text or an error ------------------------------------------

@pytest.mark.parametrize("text", ["1,000", "n/a", "x"])
def test_wip_total_refuses_text_below_the_header(text):
    [[got]] = fx.WIP_TOTAL([["hdr"], [1.0], [text], [2.0]])
    assert got.startswith("#WIP! NOT_A_NUMBER") and "row 3, column 1" in got, got


def test_wip_total_refuses_true_below_the_header():
    [[got]] = fx.WIP_TOTAL([["hdr"], [1.0], [True]])
    assert got.startswith("#WIP! NOT_A_NUMBER") and "row 3, column 1" in got, got


def test_wip_total_skips_its_header_and_blanks_only():
    assert fx.WIP_TOTAL([["equivalent units"], [1.0], [None], [" "], [2.0]]) == [[3.0]]


@pytest.mark.parametrize("text", ["#PYTHON!", "#EXTERNAL!", "#BUSY!", "#SPILL!"])
def test_error_texts_are_errors_in_wip_total_and_wip_check(text):
    [[total]] = fx.WIP_TOTAL([["h"], [text], [1.0]])
    assert total.startswith("#WIP! RANGE_HAS_ERRORS") and text in total, total
    [[check]] = fx.WIP_CHECK([[text]])
    assert check != "OK" and text in check


@pytest.mark.parametrize("text", ["#SPILL!", "#CALC!", "#BLOCKED!"])
def test_com_error_integers_are_errors_in_the_functions(text):
    """As the arguments reach the functions on Windows (see test_excel_addin_review for the whole COM path)."""
    [[total]] = fx.WIP_TOTAL([["h"], [1.0], [com_error(text)]])
    assert total.startswith("#WIP! RANGE_HAS_ERRORS") and text in total, total
    [[check]] = fx.WIP_CHECK([[com_error(text)]])
    assert text in check


# ---- minor: a method as the close workbook reads it; a blank period ---------------------------------

UNITS = ["method", "added", "beginning_units", "beginning_complete", "completed", "ending_units", "ending_complete"]


@pytest.mark.parametrize("method,added",
                         [("FIFO", "Start"), (" Weighted Average ", "START"), ("weighted-average", "start")])
def test_a_method_is_read_as_the_close_workbook_reads_it(method, added):
    expected = fx.WIP_EQUIV_UNITS([UNITS, ["fifo" if "f" in method.lower() else "weighted_average", "start",
                                           225.0, 1.0, 400.0, 100.0, 1.0]])
    assert fx.WIP_EQUIV_UNITS([UNITS, [method, added, 225.0, 1.0, 400.0, 100.0, 1.0]]) == expected
    assert not str(expected[1][0]).startswith("#WIP!")


@pytest.mark.parametrize("blank", [None, "", "  "])
def test_a_blank_period_is_missing_not_an_invalid_period(tmp_path, blank):
    [[got]] = fx.WIP_JOURNAL([[str(tmp_path / "book.wip.db")]], [[blank]])
    assert got.startswith("#WIP! MISSING_VALUE: period is blank"), got


def test_result_sheets_not_marked_in_the_workbook_is_said(tmp_path, monkeypatch):
    """Excel that cannot record the document property (the Mac's scripting, say): the close and its
    sheets stand, and the message says what the next close will make of them."""
    path = demo_book(tmp_path)
    book = FakeBook(path)

    class NoProperties:
        def Item(self, name):  # noqa: N802
            raise RuntimeError("not supported")

        def Add(self, *args):  # noqa: N802
            raise RuntimeError("not supported")

    book.api.CustomDocumentProperties = NoProperties()
    result = close_month(book)
    assert result.ok and "Summary" in book.wb.sheetnames
    assert "could not record that the result sheets are the close's (not supported)" in result.message


def test_a_copy_that_cannot_be_saved_closes_nothing(tmp_path):
    path = demo_book(tmp_path)
    book = FakeBook(path)

    def busy(target):
        raise RuntimeError("Call was rejected by callee.")

    book.api.SaveCopyAs = busy
    result = close_month(book)
    assert result.message.endswith("[EXCEL_UNAVAILABLE]") and "Call was rejected" in result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


@pytest.mark.parametrize("table", ["Shipments", "Counts"])
def test_an_optional_table_converted_to_a_range_is_refused_by_the_button_too(tmp_path, table):
    """Read as absent, a Shipments range closed with the COGS of no shipments: the command refuses it
    (MISSING_TABLE at the range), and so does the button, from the same read of its saved copy."""
    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb[table].tables[table]
    wb.save(path)
    book = FakeBook(path)
    result = close_month(book)
    assert "MISSING_TABLE" in result.message and f"no Excel table named {table}" in result.message, result.message
    assert result.message.count("[MISSING_TABLE]") == 1, result.message
    assert_refused_wrote_nothing(tmp_path, result, book)


def test_a_required_table_missing_is_said_once(tmp_path):
    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb["Costs"].tables["Costs"]
    wb.save(path)
    result = close_month(FakeBook(path))
    assert not result.ok and result.message.count("[MISSING_TABLE]") == 1, result.message


def _unrecorded(path):
    """The book as the Close month button before it recorded its sheets left it: result sheets
    written, no wip.result_sheets property."""
    wb = openpyxl.load_workbook(path)
    wb.custom_doc_props.props = [p for p in wb.custom_doc_props.props if p.name != "wip.result_sheets"]
    wb.save(path)


def test_a_book_the_button_closed_before_it_recorded_its_sheets_closes_again(tmp_path, capsys):
    """Its result sheets carry their titles; read by them, the next close (button or command) takes
    them for its own, where it refused each as the user's (RESULT_SHEET_NAME_TAKEN)."""
    path = demo_book(tmp_path)
    assert main(["close", str(path), "--period", "2026-10"]) == 0
    _unrecorded(path)
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", str(path.with_suffix(".wip.db"))]) == 0
    capsys.readouterr()
    assert close_month(FakeBook(path)).ok  # the button's re-close
    _unrecorded(path)
    assert main(["reopen", "2026-10", "--reason", "again", "--ledger", str(path.with_suffix(".wip.db"))]) == 0
    assert main(["close", str(path), "--period", "2026-10"]) == 0, capsys.readouterr().err
    assert "RESULT_SHEET_NAME_TAKEN" not in capsys.readouterr().err


def test_a_users_sheet_named_summary_with_its_own_title_is_still_the_users(tmp_path):
    path = demo_book(tmp_path, extra_sheet="Summary")  # A1: "My own summary"
    _unrecorded(path)
    result = close_month(FakeBook(path))
    assert not result.ok and "RESULT_SHEET_NAME_TAKEN" in result.message


@pytest.mark.parametrize("sheet, table", [("Costs", "Drivers"), ("Opening", "OpeningFG"), ("Counts", "Counts")])
def test_the_button_holds_back_what_a_converted_table_makes_unreliable_as_the_command_does(
        tmp_path, capsys, sheet, table):
    """Drivers as a range: the command said 1 problem, the button 7 (driver quantities 'missing');
    OpeningFG as a range: the button added a GL difference of 8,650.00 that does not exist."""
    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    del wb[sheet].tables[table]
    wb.save(path)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    command = sorted(line.rsplit("[", 1)[1] for line in capsys.readouterr().err.splitlines()
                     if line.startswith("error:"))
    result = close_month(FakeBook(path))
    button = sorted(line.rsplit("[", 1)[1] for line in result.message.splitlines()[1:] if "[" in line)
    assert button == command, result.message


def test_a_table_with_its_header_row_off_is_said_so_by_the_button_as_by_the_command(tmp_path, capsys):
    """The button read the first data row as headers ('its headers are Espresso Classic, 270')."""
    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    table = wb["Shipments"].tables["Shipments"]
    first, last = table.ref.split(":")
    table.headerRowCount = 0
    table.ref = f"{first[0]}{int(first[1:]) + 1}:{last}"  # as Excel leaves it: the data rows only
    table.autoFilter = None
    wb.save(path)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    command = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    result = close_month(FakeBook(path))
    assert not result.ok and "header row" in result.message and "turned off" in result.message, result.message
    assert "its headers are" not in result.message
    assert len([line for line in result.message.splitlines()[1:] if "[" in line]) == len(command), (result.message,
                                                                                                     command)


def test_one_result_sheet_kept_as_a_copy_in_a_book_that_records_none_is_the_users(tmp_path, capsys):
    """A user pasted last month's Summary (titled 'Summary 2026-10') into a fresh book: one sheet of
    the set is the user's copy, not a close's; replaced, the signed-off figures were gone."""
    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    sheet = wb.create_sheet("Summary")
    sheet["A1"] = "Summary 2026-10"
    sheet["A40"] = "signed off by the controller"
    wb.save(path)
    _unrecorded(path)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    assert "RESULT_SHEET_NAME_TAKEN" in capsys.readouterr().err
    assert openpyxl.load_workbook(path)["Summary"]["A40"].value == "signed off by the controller"


def test_a_chart_sheet_named_like_a_result_sheet_is_refused_not_a_traceback(tmp_path, capsys):
    from openpyxl.chart import BarChart

    path = demo_book(tmp_path)
    wb = openpyxl.load_workbook(path)
    chart = wb.create_chartsheet("Overhead")
    chart.add_chart(BarChart())
    wb.save(path)
    _unrecorded(path)
    assert main(["close", str(path), "--period", "2026-10"]) == 2
    assert "RESULT_SHEET_NAME_TAKEN" in capsys.readouterr().err
