"""The add-in's worksheet functions and Close month button under a reviewer's attacks (called as
xlwings calls them: 2-D lists), one test per behaviour: totals that cannot leave a failed row out,
misspelt optional columns, block keys given twice or cells left unread, an unsaved workbook, what
WIP_CHECK counts, messages an Excel user can act on, and units added exactly."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from excel_addin import functions as fx

from .test_excel_addin import ANZIO_BLOCK, PACIFIC_ASSEMBLY, windows_decorated  # noqa: F401 (a fixture)

UNITS = PACIFIC_ASSEMBLY[0][:7]
ROW = ["weighted_average", "evenly", 0.0, None, 400.0, 100.0, 0.5]  # 400 + 50 = 450 EU


def only(result):
    [_, [value]] = result
    return value


# ---- 1. a total over a result column cannot leave a failed row out ------------------------------

def test_wip_total_sums_a_result_column_and_refuses_one_holding_an_error():
    table = [row[:] for row in PACIFIC_ASSEMBLY]
    good = fx.WIP_EQUIV_UNITS(table)
    assert fx.WIP_TOTAL(good) == [[500.0 + 450.0 + 275.0 + 315.0]]  # the spilled header is skipped, as SUM does
    table[2][3] = 1.6  # a completion above 100%: row 3 fails
    failed = fx.WIP_EQUIV_UNITS(table)
    # what =SUM(F2#) gives in Excel (text skipped): a total short of the failed row, without a sign
    assert sum(v for [v] in failed if isinstance(v, float)) == 500.0 + 275.0 + 315.0
    [[total]] = fx.WIP_TOTAL(failed)
    assert total.startswith("#WIP! RANGE_HAS_ERRORS: no total: 1 row(s) of the range hold an error; the first: "
                            "#WIP! PROGRESS_OUT_OF_RANGE: row 3 (beginning_complete):")
    assert fx.WIP_TOTAL([[1.0], ["#N/A"]])[0][0].startswith("#WIP! RANGE_HAS_ERRORS: no total: 1 row(s)")
    assert fx.WIP_TOTAL([[1.0], ["#wip! X: typed in lower case"]])[0][0].startswith("#WIP! RANGE_HAS_ERRORS")


def test_wip_total_adds_the_numbers_excel_shows_exactly():
    assert fx.WIP_TOTAL([[0.1], [0.2], [None], [""], [True], ["note"]]) == [[0.3]]  # a float sum: 0.30000000000000004
    assert fx.WIP_TOTAL([["cost_per_eu"]]) == [[0.0]]


def test_wip_total_reads_excel_errors_as_xlwings_hands_them_over(windows_decorated):
    from .fake_xlwings import call_udf, com_error

    [[total]] = call_udf(windows_decorated.WIP_TOTAL, ((1.0,), (com_error("#SPILL!"),)))
    assert total.startswith("#WIP! RANGE_HAS_ERRORS: no total: 1 row(s) of the range hold an error; the first: "
                            "#SPILL! (an Excel error, row 2, column 1 of the range)")


# ---- 2. a misspelt optional column is refused, not left out ----------------------------------------

@pytest.mark.parametrize("function, header, meant", [
    (fx.WIP_EQUIV_UNITS, UNITS + ["spoiled"], "spoiled_units"),
    (fx.WIP_EQUIV_UNITS, UNITS + ["spoiled_units", "inspection_point"], "inspection"),
    (fx.WIP_EQUIV_UNITS, UNITS + ["Spoiled Unit"], "spoiled_units"),
    (fx.WIP_COST_PER_EU, UNITS + ["beginning_cost", "added_cost", "curency"], "currency"),
    (fx.WIP_OVERHEAD, ["rate", "driver_quantity", "actual", "rouding"], "rounding"),
    (fx.WIP_OVERHEAD, ["stages", "rate", "driver_quantity", "actual"], "stage"),
])
def test_a_near_miss_of_a_column_the_function_reads_is_unknown_column(function, header, meant):
    [row] = function([header, [None] * len(header)])
    k = next(k for k, name in enumerate(header, start=1) if name.lower().replace(" ", "_") not in
             ("method", "added", "beginning_units", "beginning_complete", "completed", "ending_units",
              "ending_complete", "beginning_cost", "added_cost", "spoiled_units", "rate", "driver_quantity", "actual"))
    assert row[0].startswith(f"#WIP! UNKNOWN_COLUMN: row 1 (column {k} of the table): ")
    assert f"did you mean {meant}?" in row[0]
    assert set(row) == {row[0]}


def test_a_users_own_columns_are_left_alone():
    header = UNITS + ["note", "comment", "product", "beginning_cost", "added_cost", "month"]
    assert only(fx.WIP_EQUIV_UNITS([header, ROW + ["a", "b", "c", 0.0, 100.0, "2026-10"]])) == 450.0
    overhead = fx.WIP_OVERHEAD([["department", "rate", "driver_quantity", "actual", "notes"],
                                ["Mixing", 2.0, 3.0, 6.0, "ok"]])
    assert overhead[1] == ["", 6.0, 6.0, 0.0, "exact"]
    # the correctly spelt column next to a look-alike of it: the look-alike is the user's
    assert only(fx.WIP_EQUIV_UNITS([UNITS + ["spoiled_units", "spoiled"], ROW + [0.0, "x"]])) == 450.0


# ---- 3. X and X.progress are one key ----------------------------------------------------------------

@pytest.mark.parametrize("first, second", [("ending_wip.complete", "ending_wip.complete.progress"),
                                           ("ending_wip.complete.progress", "ending_wip.complete")])
def test_a_progress_given_as_key_and_as_key_dot_progress_is_a_duplicate(first, second):
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "ending_wip.complete")
    block[number] = [first, 0.5]
    block.append([second, 0.9])
    [[message]] = fx.WIP_ASSIGN(block)
    assert message == (f"#WIP! DUPLICATE_ROW: row {len(block)} ({second}): {second} is already in row {number + 1} "
                       f"as {first} of stage Forming; keep one row and delete the other")


def test_a_progress_with_per_element_progress_is_not_a_duplicate():
    block = [row[:] for row in ANZIO_BLOCK] + [["ending_wip.complete.direct_materials", 1.0]]
    assert fx.WIP_ASSIGN(block)[0][0] == "stage"


# ---- 4. every cell of a block is read or refused -----------------------------------------------------

def test_an_excel_error_anywhere_in_a_block_is_formula_error():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completed", 7000.0, "#N/A"]  # computed as if the #N/A were not there
    [[message]] = fx.WIP_ASSIGN(block)
    assert message == (f"#WIP! FORMULA_ERROR: row {number + 1} (column 3 of the block): the cell shows the error "
                       "#N/A; correct the formula or the cell it refers to")
    block = [row[:] for row in ANZIO_BLOCK] + [[None, None, "#REF!"]]  # a row with nothing else in it
    assert fx.WIP_COST_REPORT(block)[0][0].startswith(f"#WIP! FORMULA_ERROR: row {len(block)} (column 3 of the block)")


def test_a_value_past_the_cells_a_key_reads_is_refused_and_located():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completed", 7000.0, 9999.0]
    [[message]] = fx.WIP_ASSIGN(block)
    assert message.startswith(f"#WIP! BLOCK_EXTRA_VALUE: row {number + 1} (column 3 of the block): '9999' is past "
                              "the cells this row's key reads")
    block = [row[:] for row in ANZIO_BLOCK]
    block[3] = ["element", "direct_materials", "material", "start", "junk"]
    assert fx.WIP_ASSIGN(block)[0][0].startswith("#WIP! BLOCK_EXTRA_VALUE: row 4 (column 5 of the block): 'junk'")


def test_a_block_range_wider_than_its_rows_is_read_as_before():
    padded = [row + [None] * (5 - len(row)) for row in ANZIO_BLOCK]  # A1:E18, blank cells beside each row
    assert fx.WIP_ASSIGN(padded) == fx.WIP_ASSIGN(ANZIO_BLOCK)
    assert fx.WIP_ASSIGN(padded)[0][0] == "stage"


# ---- 5. Close month from a workbook never saved ------------------------------------------------------

@pytest.mark.parametrize("fullname", ["Book1", "https://d.docs.live.net/abc/wip_close.xlsx"])
def test_close_month_refuses_a_workbook_that_is_not_saved_in_a_folder(fullname, tmp_path, monkeypatch):
    from costing.cli import main

    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    path = tmp_path / "wip_close.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    book = FakeBook(path)
    book.fullname = fullname  # what Excel reports for a new, unsaved workbook; or one open from OneDrive
    monkeypatch.chdir(tmp_path)  # the ledger would have gone to the COM server's folder
    before = sorted(p.name for p in tmp_path.iterdir())
    result = close_month(book)
    assert not result.ok and result.message.startswith("Nothing was closed: the workbook ")
    assert result.message.endswith("[WORKBOOK_NOT_SAVED]") and fullname in result.message
    assert book.app.alerts == [result.message]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no ledger written anywhere


# ---- 6. WIP_CHECK counts rows, and reads #WIP! as the Checks sheet does -------------------------------

def test_wip_check_counts_the_rows_that_hold_an_error():
    assert fx.WIP_CHECK([["#WIP! A: x", "#WIP! B: y"]]) == [["1 row(s) with an error: #WIP! A: x"]]
    assert fx.WIP_CHECK([["#N/A", "#N/A"], [1.0, 2.0], ["#DIV/0!", "#WIP! C: z"]]) == [
        ["2 row(s) with an error: #N/A (an Excel error, row 1, column 1 of the range)"]]


def test_wip_check_ignores_case_and_leading_spaces_as_countif_ignores_case():
    assert fx.WIP_CHECK([["#wip! UNIT_FLOW: x"]]) == [["1 row(s) with an error: #wip! UNIT_FLOW: x"]]
    assert fx.WIP_CHECK([[" #WIP! UNIT_FLOW: x"]]) == [["1 row(s) with an error: #WIP! UNIT_FLOW: x"]]
    assert fx.WIP_CHECK([["see #WIP! in the notes"]]) == [["OK"]]


# ---- 7. messages an Excel user can act on ----------------------------------------------------------

def test_a_date_in_a_number_column_is_named_as_a_date():
    row = ROW[:]
    row[UNITS.index("completed")] = dt.datetime(1901, 2, 4)  # 400 typed into a date-formatted cell
    assert only(fx.WIP_EQUIV_UNITS([UNITS, row])) == (
        "#WIP! NOT_A_NUMBER: row 2 (completed): expected a number, found the date 1901-02-04 (the cell is "
        "formatted as a date: format it as a number)")
    row = ROW[:]
    row[UNITS.index("ending_complete")] = dt.datetime(1900, 1, 1, 12, 0)  # 0.5 as a date-time
    assert "found the date 1900-01-01 12:00:00" in only(fx.WIP_EQUIV_UNITS([UNITS, row]))
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completed", dt.datetime(1919, 3, 1)]
    assert fx.WIP_ASSIGN(block)[0][0] == (f"#WIP! NOT_A_NUMBER: row {number + 1} (completed): expected a number, "
                                          "found the date 1919-03-01 (the cell is formatted as a date: format it "
                                          "as a number)")


def test_a_missing_ledger_names_no_command_line_option(tmp_path):
    [[message]] = fx.WIP_JOURNAL([[str(tmp_path / "none.wip.db")]], [["2026-10"]])
    assert message.startswith(f"#WIP! LEDGER_NOT_FOUND: no ledger at {tmp_path / 'none.wip.db'}; give the full path")
    assert "--" not in message and "wip close" not in message


@pytest.mark.parametrize("function", [fx.WIP_JOURNAL, fx.WIP_ROLLFORWARD, fx.WIP_FG_COVER], ids=lambda f: f.__name__)
def test_a_path_copied_as_path_keeps_working_in_its_quotes(function, demo_ledger):
    plain = function([[str(demo_ledger)]], [["2026-10"]])
    assert plain[0][0] in ("journal", "product")
    assert function([[f'"{demo_ledger}"']], [["2026-10"]]) == plain
    assert function([[f' "{demo_ledger}" ']], [["2026-10"]]) == plain


def test_a_relative_ledger_path_is_read_from_the_workbooks_folder(windows_decorated, demo_ledger, tmp_path,
                                                                    monkeypatch):
    from .fake_xlwings import call_udf

    wip = windows_decorated
    folder = tmp_path / "close"
    folder.mkdir()
    shutil.copy(demo_ledger, folder / "wip_close.wip.db")
    monkeypatch.chdir(tmp_path)  # Excel's Python process runs elsewhere (often C:\Windows\System32)
    book = str(folder / "wip_close.xlsm")
    for function in (wip.WIP_JOURNAL, wip.WIP_ROLLFORWARD, wip.WIP_FG_COVER):
        full = call_udf(function, ((str(folder / "wip_close.wip.db"),),), (("2026-10",),), book=book)
        assert full[0][0] in ("journal", "product")
        assert call_udf(function, (("wip_close.wip.db",),), (("2026-10",),), book=book) == full
    [[message]] = call_udf(wip.WIP_JOURNAL, (("wip_close.wip.db",),), (("2026-10",),), book="Book1")
    assert message.startswith("#WIP! RELATIVE_LEDGER_PATH: ledger_path wip_close.wip.db is relative, and this "
                              "workbook is not saved in a folder to read it from; give the full path")
    [[message]] = call_udf(wip.WIP_JOURNAL, (("none.wip.db",),), (("2026-10",),), book=book)
    assert message.startswith(f"#WIP! LEDGER_NOT_FOUND: no ledger at {folder / 'none.wip.db'}; ")


# ---- 8. the started units of a row are added exactly ---------------------------------------------------

def test_a_row_that_balances_beyond_28_digits_is_not_refused():
    row = ["fifo", "start", "0", None, "12345678901234.5678901234567891", "0.0000000000000000001", "1"]
    assert only(fx.WIP_EQUIV_UNITS([UNITS, row])) == pytest.approx(12345678901234.568)

