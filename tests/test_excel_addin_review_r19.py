"""Review round 19 of the Excel add-in: WIP_TOTAL skips a first row only when it is a header (a row
range, or a column range given without its header, has no header to skip: its text or TRUE/FALSE
is NOT_A_NUMBER); an Excel error in a block row with a blank key is FORMULA_ERROR."""

from __future__ import annotations

import pytest

from excel_addin import functions as fx
from excel_addin._block import parse_block
from excel_addin._cells import formula_error

from .fake_xlwings import com_error
from .test_excel_addin import ANZIO_BLOCK, single


# ---- 1: WIP_TOTAL's first row is skipped only when it is a header ----------------------------------

@pytest.mark.parametrize("values, where, found", [
    ([[0.1, "1,000", 0.2]], "row 1, column 2", "the text '1,000'"),  # a row range: no header in it
    ([[100.0, "200", 0.2]], "row 1, column 2", "the text '200'"),
    ([[0.1, True, 0.2]], "row 1, column 2", "TRUE/FALSE (TRUE)"),
    ([["n/a", 1.0, 2.0]], "row 1, column 1", "the text 'n/a'"),  # text beside numbers is not a header
    ([["1,000"], [1.0], [2.0]], "row 1, column 1", "the text '1,000'"),  # F3:F10: a number typed as text
    ([["200"], [1.0]], "row 1, column 1", "the text '200'"),
    ([[False], [1.0]], "row 1, column 1", "TRUE/FALSE (FALSE)"),
    ([["1,000"]], "row 1, column 1", "the text '1,000'"),
])
def test_wip_total_refuses_text_in_a_first_row_that_is_no_header(values, where, found):
    [[got]] = fx.WIP_TOTAL(values)
    expected = f"#WIP! NOT_A_NUMBER: no total: {where} of the range: expected a number, found {found}"
    assert str(got).startswith(expected), got


def test_wip_total_still_skips_a_genuine_header():
    assert fx.WIP_TOTAL([["equivalent_units"], [1.0], [2.0]]) == [[3.0]]
    assert fx.WIP_TOTAL([["stage", "element", "cost"], ["Assembly", None, None]])[0][0].startswith(
        "#WIP! NOT_A_NUMBER: no total: row 2, column 1")  # the header is skipped, the text below it is not
    assert fx.WIP_TOTAL([["transferred_out", "ending_wip"], [1.0, 2.0], [None, 0.5]]) == [[3.5]]
    assert fx.WIP_TOTAL([["cost per EU", None], [1.0, 2.0]]) == [[3.0]]  # a blank header cell
    assert fx.WIP_TOTAL([["cost_per_eu"]]) == [[0.0]]  # a result's header with no rows below
    assert fx.WIP_TOTAL([[1.0], [2.0]]) == [[3.0]]  # a column range without its header
    assert fx.WIP_TOTAL([[0.1, 0.2]]) == [[0.3]]


# ---- 2: an Excel error in a block row with a blank key ---------------------------------------------

@pytest.mark.parametrize("function", [fx.WIP_COST_REPORT, fx.WIP_ASSIGN])
@pytest.mark.parametrize("error", ["#N/A", com_error("#SPILL!")])
def test_an_excel_error_beside_a_blank_key_is_formula_error(function, error):
    assert not function(ANZIO_BLOCK)[0][0].startswith("#WIP!")
    shown = error if isinstance(error, str) else "#SPILL!"
    for extra in ([None, error], ["", error], ["  ", error, None]):
        block = [row[:] for row in ANZIO_BLOCK] + [extra]
        message = single(function(block))
        assert message == (f"#WIP! FORMULA_ERROR: row {len(block)} (column 2 of the block): the cell shows the error "
                           f"{shown}; correct the formula or the cell it refers to"), message


def test_an_excel_error_beside_an_error_key_is_reported_too():
    block = [row[:] for row in ANZIO_BLOCK] + [["#REF!", "#N/A"]]
    row = len(block)
    _, _, issues = parse_block(block)
    assert sorted((i.code, i.path, i.message) for i in issues) == [
        ("FORMULA_ERROR", f"row {row} (column 2 of the block)", formula_error("#N/A")),
        ("FORMULA_ERROR", f"row {row} (key)", formula_error("#REF!"))]
    assert fx.WIP_ASSIGN(block)[0][0].endswith("(+1 more)")


def test_a_value_beside_a_blank_key_is_still_block_key_missing():
    block = [row[:] for row in ANZIO_BLOCK] + [[None, 5.0]]
    message = single(fx.WIP_ASSIGN(block))
    assert message.startswith(f"#WIP! BLOCK_KEY_MISSING: row {len(block)}: a value without a key"), message


@pytest.mark.parametrize("error", ["Err:502", "Err:504", "Err:508", "Err:539"])
def test_libreoffice_errors_are_errors_not_text(error):
    """Only Err:502 was known: WIP_CHECK said OK for Err:504, and the workbook called it text."""
    from costing import EXCEL_ERRORS

    assert error in EXCEL_ERRORS
    assert fx.WIP_CHECK([[error]])[0][0].startswith("1 row with an error")
    assert fx.WIP_TOTAL([["cost"], [1.0], [error]])[0][0].startswith("#WIP! RANGE_HAS_ERRORS")


def test_the_button_copies_text_cells_as_text_not_as_excel_would_parse_them(tmp_path):
    """Result sheets are copied into the open book through Range.formula, which Excel parses as if
    typed: an account code "0100" became the number 100 (and "1/2" a date), breaking the sheets'
    EXACT(…, "0100") traces.  Text goes with Excel's text prefix."""
    import openpyxl

    from excel_addin._xlwings_book import copy_result_sheets

    from .fake_xlwings import FakeBook
    from .test_excel_addin_review_r18 import demo_book

    path = demo_book(tmp_path)
    written = tmp_path / "written.xlsx"
    wb = openpyxl.Workbook()
    sheet = wb.active
    sheet.title = "Journal"
    sheet.append(["0100", "TRUE", "12", "'quoted", "=1+1", 5, "Materials"])
    wb.save(written)
    book = FakeBook(path)
    copy_result_sheets(book, written, ["Journal"])
    assert [c.value for c in book.wb["Journal"][1]] == ["0100", "TRUE", "12", "'quoted", "=1+1", 5, "Materials"]


def _damage(db, table: str) -> None:
    import sqlite3

    with sqlite3.connect(db) as con:
        (root,) = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        (page_size,) = con.execute("PRAGMA page_size").fetchone()
    con.close()
    data = bytearray(db.read_bytes())
    data[(root - 1) * page_size:(root - 1) * page_size + 200] = b"\xff" * 200
    db.write_bytes(bytes(data))


def test_a_damaged_ledger_is_said_by_the_button_and_the_functions(tmp_path):
    """The button raised sqlite3's 'database disk image is malformed' (a traceback box in Excel), and
    the functions told the user to pick the .wip.db file — the very file, damaged."""
    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook
    from .test_excel_addin_review_r18 import demo_book

    path = demo_book(tmp_path)
    assert close_month(FakeBook(path)).ok
    db = path.with_suffix(".wip.db")
    _damage(db, "events")
    result = close_month(FakeBook(path))
    assert not result.ok and "is damaged" in result.message and "[LEDGER_TAMPERED]" in result.message
    [[said]] = fx.WIP_JOURNAL([[str(db)]], [["2026-10"]])
    assert said.startswith("#WIP! LEDGER_TAMPERED: the ledger") and "is damaged" in said


def test_the_button_says_a_reused_close_rests_on_a_superseded_opening(tmp_path):
    from costing.close_service import close_period, reopen_period
    from costing.ledger import Ledger
    from costing.workbook._cli import init_workbook
    from excel_addin.close import close_month
    from tests.demo_data import demo

    from .fake_xlwings import FakeBook

    book = tmp_path / "november.xlsx"
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    init_workbook(book, demo("2026-11"))
    assert close_month(FakeBook(book)).ok
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        reopen_period(ledger, "2026-10", "late labour invoice", user="test")
        october = demo("2026-10")
        october["products"][0]["stages"][0]["added_costs"]["labour"] = "9500.00"
        close_period(october, ledger, user="test")
    result = close_month(FakeBook(book))
    assert "already closed from these inputs" in result.message and "[NEEDS_RE_CLOSE]" in result.message


def test_addin_with_only_its_launcher_in_the_way_does_not_speak_of_a_workbook_lost(tmp_path, capsys):
    from costing.cli import main

    (tmp_path / "wip_close.py").write_text("# an older launcher\n")
    assert main(["addin", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "exists (use --force to replace wip_close.py), or give another folder [FILE_EXISTS]" in err
    assert "workbook" not in err
