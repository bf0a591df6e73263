"""The add-in's worksheet functions and Close month button under a reviewer's attacks (called as
xlwings calls them: 2-D lists), one test per behaviour: totals that cannot leave a failed row out,
misspelt optional columns, block keys given twice or cells left unread, an unsaved workbook, what
WIP_CHECK counts, messages an Excel user can act on, and units added exactly."""

from __future__ import annotations

import datetime as dt
import shutil

import pytest

from excel_addin import functions as fx

from .test_excel_addin import ANZIO_BLOCK, PACIFIC_ASSEMBLY, single, windows_decorated  # noqa: F401 (a fixture)

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
    assert total.startswith("#WIP! RANGE_HAS_ERRORS: no total: 1 row of the range holds an error: "
                            "#WIP! PROGRESS_OUT_OF_RANGE: row 3 (beginning_complete):")
    assert fx.WIP_TOTAL([[1.0], ["#N/A"]])[0][0].startswith(
        "#WIP! RANGE_HAS_ERRORS: no total: 1 row of the range holds an error: #N/A")
    assert fx.WIP_TOTAL([[1.0], ["#wip! X: typed in lower case"]])[0][0].startswith("#WIP! RANGE_HAS_ERRORS")


def test_wip_total_adds_the_numbers_excel_shows_exactly():
    assert fx.WIP_TOTAL([[0.1], [0.2], [None], [""]]) == [[0.3]]  # a float sum: 0.30000000000000004
    # (text or TRUE below the header is NOT_A_NUMBER: tests/test_excel_addin_review_r18.py)
    assert fx.WIP_TOTAL([["cost_per_eu"]]) == [[0.0]]


def test_wip_total_reads_excel_errors_as_xlwings_hands_them_over(windows_decorated):
    from .fake_xlwings import call_udf, com_error

    [[total]] = call_udf(windows_decorated.WIP_TOTAL, ((1.0,), (com_error("#SPILL!"),)))
    assert total.startswith("#WIP! RANGE_HAS_ERRORS: no total: 1 row of the range holds an error: "
                            "#SPILL! (an Excel error, row 2, column 1 of the range)")


# ---- 2. a misspelt column is refused, not left out --------------------------------------------------

@pytest.mark.parametrize("function, header, meant", [
    (fx.WIP_EQUIV_UNITS, [c for c in UNITS if c != "completed"] + ["completd"], "completed"),
    (fx.WIP_EQUIV_UNITS, UNITS + ["curency"], "currency"),
    (fx.WIP_COST_PER_EU, UNITS + ["beginning_cost", "added_cost", "curency"], "currency"),
    (fx.WIP_OVERHEAD, ["rate", "driver_quantity", "actual", "rouding"], "rounding"),
    (fx.WIP_OVERHEAD, ["rate", "driver_quantity", "actual", "satge"], "stage"),
])
def test_a_typing_slip_of_a_column_the_function_reads_is_unknown_column(function, header, meant):
    [row] = function([header, [None] * len(header)])
    assert row[0] == (f"#WIP! UNKNOWN_COLUMN: row 1 (column {len(header)} of the table): {header[-1]} is not a column "
                      f"this function reads; did you mean {meant}? Rename it to {meant}, or give your own column a "
                      "name further from it")
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
    message = single(fx.WIP_ASSIGN(block))
    assert message == (f"#WIP! DUPLICATE_ROW: row {len(block)} ({second}): {second} is already in row {number + 1} "
                       f"as {first} of stage Forming; keep one row and delete the other")


def test_a_progress_with_per_element_progress_is_not_a_duplicate():
    block = [row[:] for row in ANZIO_BLOCK] + [["ending_wip.complete.direct_materials", 1.0]]
    assert fx.WIP_ASSIGN(block) == fx.WIP_ASSIGN(ANZIO_BLOCK)  # materials are added at the start: complete anyway
    # Conversion's own completion (0.8) is read beside the stage's progress (0.5): the figures of a stage whose
    # ending WIP is 0.8 complete, which for conversion is the only element it changes.
    own = [row[:] for row in ANZIO_BLOCK] + [["ending_wip.complete.conversion", 0.8]]
    at_0_8 = [["ending_wip.complete", 0.8] if row[0] == "ending_wip.complete" else row[:] for row in ANZIO_BLOCK]
    assert fx.WIP_ASSIGN(own) == fx.WIP_ASSIGN(at_0_8) != fx.WIP_ASSIGN(ANZIO_BLOCK)
    assert fx.WIP_ASSIGN(own)[0][0] == "stage"


def _progress_element_block(*completions):
    """The Anzio block with its conversion element named progress, ending WIP's completion rows as given."""
    renamed = {"beginning_wip.cost.conversion": "beginning_wip.cost.progress",
               "added_costs.conversion": "added_costs.progress"}
    block = [["element", "progress", "conversion", "evenly"] if row[:2] == ["element", "conversion"] else
             [renamed.get(row[0], row[0]), *row[1:]] for row in ANZIO_BLOCK if row[0] != "ending_wip.complete"]
    return block + [list(row) for row in completions]


def test_an_element_named_progress_with_a_key_dot_progress_is_reserved_name_not_a_duplicate():
    # `ending_wip.complete.progress` here means element progress's completion to the user; the case file
    # reads it as the stage's progress: neither "keep one row and delete the other" nor the last one wins
    for rows in ([("ending_wip.complete", 0.5), ("ending_wip.complete.progress", 0.9)],
                 [("ending_wip.complete.progress", 0.9), ("ending_wip.complete", 0.5)],
                 [("ending_wip.complete.progress", 0.9)]):
        block = _progress_element_block(*rows)
        number = next(n for n, row in enumerate(block, start=1) if row[0] == "ending_wip.complete.progress")
        assert single(fx.WIP_ASSIGN(block)) == (
            f"#WIP! RESERVED_NAME: row {number} (ending_wip.complete.progress): ending_wip.complete.progress is read "
            "as the stage's progress (progress in a completion always is), not as the completion of the element "
            "named progress of stage Forming; rename the element (e.g. progress_work) to give it a completion of "
            "its own, or give the stage's progress as ending_wip.complete alone"), rows
    # the element declared after the completion rows: still told
    block = _progress_element_block(("ending_wip.complete", 0.5), ("ending_wip.complete.progress", 0.9))
    elements = [row for row in block if row[0] == "element"]
    moved = [row for row in block if row[0] != "element"] + elements
    assert fx.WIP_ASSIGN(moved)[0][0].startswith("#WIP! RESERVED_NAME: row ")


def test_an_element_named_progress_is_reserved_by_the_engine():
    # `complete: {progress: ...}` is the stage's completion in a case file: no element takes the name
    block = _progress_element_block(("ending_wip.complete", 0.5))
    assert [row[1] for row in block if row[0] == "element"] == ["direct_materials", "progress"]
    message = single(fx.WIP_ASSIGN(block))
    assert message.startswith("#WIP! RESERVED_NAME: row 5 (stages[0].elements.progress): 'progress' is the key of a "
                              "stage's own completion")


# ---- 4. every cell of a block is read or refused -----------------------------------------------------

def test_an_excel_error_anywhere_in_a_block_is_formula_error():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completed", 7000.0, "#N/A"]  # computed as if the #N/A were not there
    message = single(fx.WIP_ASSIGN(block))
    assert message == (f"#WIP! FORMULA_ERROR: row {number + 1} (column 3 of the block): the cell shows the error "
                       "#N/A; correct the formula or the cell it refers to")
    block = [row[:] for row in ANZIO_BLOCK] + [[None, None, "#REF!"]]  # a row with nothing else in it
    assert fx.WIP_COST_REPORT(block)[0][0].startswith(f"#WIP! FORMULA_ERROR: row {len(block)} (column 3 of the block)")


def test_a_value_past_the_cells_a_key_reads_is_refused_and_located():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completed", 7000.0, 9999.0]
    message = single(fx.WIP_ASSIGN(block))
    assert message.startswith(f"#WIP! BLOCK_EXTRA_VALUE: row {number + 1} (column 3 of the block): '9999' is past "
                              "the cells this row's key reads")
    block = [row[:] for row in ANZIO_BLOCK]
    block[3] = ["element", "direct_materials", "material", "start", "junk"]
    assert fx.WIP_ASSIGN(block)[0][0].startswith("#WIP! BLOCK_EXTRA_VALUE: row 4 (column 5 of the block): 'junk'")


def test_a_block_range_wider_than_its_rows_is_read_as_before():
    padded = [row + [None] * (5 - len(row)) for row in ANZIO_BLOCK]  # A1:E18, blank cells beside each row
    padded[2][3] = "  "  # a cell holding only spaces is blank too
    # Horngren 15e ch. 18, Anzio Company: $8.85 and $10.90 per EU; 7,000 good units and 700 normal
    # spoilage transferred out, 2,000 units 50% converted in ending WIP, 300 units abnormal spoilage
    assert fx.WIP_ASSIGN(padded) == [
        ["stage", "element", "transferred_out", "ending_wip", "normal_spoilage", "abnormal_spoilage", "disposal_value"],
        ["Forming", "direct_materials", 7700 * 8.85, 2000 * 8.85, 700 * 8.85, 300 * 8.85, 0.0],
        ["Forming", "conversion", 7700 * 10.9, 1000 * 10.9, 700 * 10.9, 300 * 10.9, 0.0],
        ["Forming", "total", 152075.0, 28600.0, 13825.0, 5925.0, 0.0]]


# ---- 5. Close month from a workbook never saved ------------------------------------------------------

@pytest.mark.parametrize("fullname", ["Book1", "https://d.docs.live.net/abc/wip_close.xlsx"])
def test_close_month_refuses_a_workbook_that_is_not_saved_in_a_folder(fullname, tmp_path, monkeypatch, no_onedrive):
    from costing.cli import main

    from excel_addin.close import close_month

    from .fake_xlwings import FakeBook

    path = tmp_path / "wip_close.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    book = FakeBook(path)
    book.fullname = fullname  # what Excel reports for a new, unsaved workbook; or one open from OneDrive
    # (whose synced file is not on this computer: no OneDrive folder in the test's home)
    monkeypatch.chdir(tmp_path)  # the ledger would have gone to the COM server's folder
    before = sorted(p.name for p in tmp_path.iterdir())
    result = close_month(book)
    assert not result.ok and result.message.startswith("Nothing was closed: the workbook ")
    assert result.message.endswith("[WORKBOOK_NOT_SAVED]") and fullname in result.message
    assert book.app.alerts == [result.message]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no ledger written anywhere


# ---- 6. WIP_CHECK counts rows, and reads #WIP! as the Checks sheet does -------------------------------

def test_wip_check_counts_the_rows_that_hold_an_error():
    assert fx.WIP_CHECK([["#WIP! A: x", "#WIP! A: x"], [1.0, 2.0], ["#WIP! B: y", "#WIP! B: y"]]) == [
        ["2 rows with an error (2 different); the first: #WIP! A: x"]]  # a failed row shows its error in every cell
    assert fx.WIP_CHECK([["#N/A", "#N/A"], [1.0, 2.0], ["#N/A", 3.0]]) == [
        ["2 rows with an error: #N/A (an Excel error, row 1, column 1 of the range)"]]


def test_wip_check_ignores_case_and_leading_spaces_as_countif_ignores_case():
    assert fx.WIP_CHECK([["#wip! UNIT_FLOW: x"]]) == [["1 row with an error: #wip! UNIT_FLOW: x"]]
    assert fx.WIP_CHECK([[" #WIP! UNIT_FLOW: x"]]) == [["1 row with an error: #WIP! UNIT_FLOW: x"]]
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



# ==== second review ====================================================================================

@pytest.fixture
def no_onedrive(tmp_path, monkeypatch):
    """A home with no OneDrive folder, no OneDrive variables and no xlwings.conf: xlwings'
    ``fullname_url_to_local_path`` finds no synced file (as on a computer without the sync client)."""
    import xlwings
    import xlwings.utils

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    for name in ("OneDrive", "OneDriveConsumer", "OneDriveCommercial"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(xlwings, "USER_CONFIG_FILE", str(home / ".xlwings" / "xlwings.conf"))
    xlwings.utils.fullname_url_to_local_path.cache_clear()  # xlwings keeps each address it mapped
    yield home
    xlwings.utils.fullname_url_to_local_path.cache_clear()


@pytest.fixture
def onedrive(no_onedrive, monkeypatch):
    """The folder the OneDrive sync client keeps https://d.docs.live.net/CID/... in (``OneDriveConsumer``)."""
    folder = no_onedrive / "OneDrive"
    folder.mkdir()
    monkeypatch.setenv("OneDriveConsumer", str(folder))
    return folder


# ---- 1. a misspelt block key is the error, not the cells after it --------------------------------------

@pytest.mark.parametrize("key", ["elements", "Elements", "elemnt", "Elemnet"])  # `Element`: case aside, the key
def test_a_misspelt_element_key_is_unknown_key_not_its_kind_and_addition_extra(key):
    block = [row[:] for row in ANZIO_BLOCK]
    assert block[3][0] == "element"
    block[3][0] = key
    assert single(fx.WIP_ASSIGN(block)) == (f"#WIP! UNKNOWN_KEY: row 4 ({key}): {key} is not a block key; did you "
                                            "mean element? Write `element | NAME | KIND | ADDED`")  # not "delete" its kind


def test_a_value_past_an_unknown_key_is_not_called_extra():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "completed")
    block[number] = ["completd", 7000.0, "checked"]
    assert single(fx.WIP_ASSIGN(block)) == (f"#WIP! UNKNOWN_KEY: row {number + 1} (completd): completd is not a block "
                                            "key; did you mean completed? Correct the key")
    block[number] = ["count", 7000.0, "checked"]  # nothing near: the key is still the error
    assert single(fx.WIP_ASSIGN(block)) == (f"#WIP! UNKNOWN_KEY: row {number + 1} (count): count is not a key of a "
                                            "case file's stage (docs/case-file.md lists them); correct the key")
    block[number] = ["completd", 7000.0, "#N/A"]  # an error cell is still an error cell
    assert fx.WIP_ASSIGN(block)[0][0].startswith(f"#WIP! FORMULA_ERROR: row {number + 1} (column 3 of the block)")
    block[number] = ["completed", 7000.0, "checked"]  # a known key: the value is extra
    assert fx.WIP_ASSIGN(block)[0][0].startswith(f"#WIP! BLOCK_EXTRA_VALUE: row {number + 1} (column 3 of the block)")
    # the case file's own dotted spelling of an element is a key the block knows
    dotted = [row[:] for row in ANZIO_BLOCK[:3]] + [["elements.direct_materials.kind", "material"],
                                                   ["elements.direct_materials.added", "start"]] + ANZIO_BLOCK[4:]
    assert fx.WIP_ASSIGN(dotted) == fx.WIP_ASSIGN(ANZIO_BLOCK)


# ---- 2. a user's own column that looks like one the function reads is left alone -------------------------

@pytest.mark.parametrize("function, header, row", [
    (fx.WIP_EQUIV_UNITS, UNITS, ROW),
    (fx.WIP_OVERHEAD, ["rate", "driver_quantity", "actual"], [2.0, 3.0, 6.0]),
], ids=["units", "overhead"])
def test_a_users_column_named_like_a_read_column_is_not_refused(function, header, row):
    # A units-only table's figures do not depend on currency or rounding, an overhead table's not on
    # spoilage or inspection; a stage is a label (left out, a blank in the result): no stem of theirs.
    own = {"units": ["currency_note", "currently", "stage_name", "date", "note", "period", "batch", "lot", "shift",
                     "rate", "started", "comments", "line", "plant", "state", "status", "ccy", "curr. code",
                     "Currency (rate)", "currency_code", "rounding_method", "round", "Rounding (diff)"],
           "overhead": ["stage_name", "stage_id", "stage_code", "stage_no", "stages", "stage (label)", "state",
                        "status", "date", "period", "line", "plant", "spoilage_note", "spoiled_units", "inspector",
                        "inspection", "scrap", "curry", "recurring"]
           }["units" if header == UNITS else "overhead"]  # not `function is`: a fixture reloads fx
    expected = function([header, row])
    assert not str(expected[1][-1]).startswith("#WIP!")
    for name in own:
        assert function([header + [name], row + ["x"]]) == expected, name


# ---- 3. a workbook on OneDrive or SharePoint ---------------------------------------------------------------

ONEDRIVE_BOOK = "https://d.docs.live.net/4f1c2a9e/close/wip_close.xlsm"  # Excel's FullName with the sync client


def test_a_relative_ledger_path_is_read_from_a_onedrive_workbooks_synced_folder(windows_decorated, demo_ledger,
                                                                                onedrive, tmp_path, monkeypatch):
    from .fake_xlwings import call_udf

    folder = onedrive / "close"
    folder.mkdir()
    (folder / "wip_close.xlsm").write_bytes(b"")  # the synced copy of the workbook
    shutil.copy(demo_ledger, folder / "wip_close.wip.db")
    monkeypatch.chdir(tmp_path)
    full = call_udf(windows_decorated.WIP_JOURNAL, ((str(folder / "wip_close.wip.db"),),), (("2026-10",),))
    assert full[0][0] == "journal"
    assert call_udf(windows_decorated.WIP_JOURNAL, (("wip_close.wip.db",),), (("2026-10",),),
                    book=ONEDRIVE_BOOK) == full


def test_a_relative_ledger_path_in_a_web_workbook_or_when_excel_is_busy_says_so(windows_decorated, no_onedrive):
    import xlwings

    from .fake_xlwings import FakeCaller, call_udf

    def message(book):
        [[text]] = call_udf(windows_decorated.WIP_JOURNAL, (("wip_close.wip.db",),), (("2026-10",),), book=book)
        return text

    web = ("#WIP! RELATIVE_LEDGER_PATH: ledger_path wip_close.wip.db is relative, and this workbook is open from "
           f"OneDrive or SharePoint ({ONEDRIVE_BOOK}), and its folder on this computer could not be found; give the "
           "ledger's full path (e.g. C:\\close\\wip_close.wip.db), or save the workbook to a folder on this computer "
           "(File > Save As > Browse > This PC)")
    assert message(ONEDRIVE_BOOK) == web  # no synced file on this computer
    # xlwings' Book.fullname itself maps the address, and raises when it cannot: Excel's FullName says why
    unmapped = FakeCaller(xlwings.XlwingsError("Couldn't find your local OneDrive file"), api_fullname=ONEDRIVE_BOOK)
    assert message(unmapped) == web
    busy = FakeCaller("C:\\close\\wip_close.xlsm", sheet_error=RuntimeError("Call was rejected by callee."))
    assert message(busy) == ("#WIP! RELATIVE_LEDGER_PATH: ledger_path wip_close.wip.db is relative, and Excel could "
                             "not be asked for this workbook's folder (Call was rejected by callee.); recalculate "
                             "(Ctrl+Alt+F9) once Excel is idle, or give the full path (e.g. "
                             "C:\\close\\wip_close.wip.db)")
    assert "not saved" in message("Book1")


def _demo_book(path):
    from costing.cli import main

    from .fake_xlwings import FakeBook

    assert main(["init", str(path), "--demo"]) == 0
    return FakeBook(path)


def test_close_month_of_a_onedrive_workbook_keeps_the_ledger_beside_its_synced_file(onedrive):
    from excel_addin.close import close_month

    folder = onedrive / "close"
    folder.mkdir()
    book = _demo_book(folder / "wip_close.xlsx")
    book.fullname = "https://d.docs.live.net/4f1c2a9e/close/wip_close.xlsx"
    result = close_month(book)
    assert result.ok, result.message
    assert (folder / "wip_close.wip.db").is_file()


def test_close_month_says_a_workbook_on_onedrive_is_on_onedrive_and_a_busy_excel_is_busy(tmp_path, no_onedrive,
                                                                                        monkeypatch):
    import xlwings

    from excel_addin.close import close_month

    book = _demo_book(tmp_path / "wip_close.xlsx")
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())

    book.fullname = xlwings.XlwingsError("Couldn't find your local OneDrive file")  # xlwings could not map it
    book.api_fullname = ONEDRIVE_BOOK
    result = close_month(book)
    assert not result.ok and result.message.startswith(
        f"Nothing was closed: the workbook is open from OneDrive or SharePoint ({ONEDRIVE_BOOK}), and its folder on "
        "this computer could not be found; the ledger is kept beside the workbook. Save it to a folder on this "
        "computer")
    assert result.message.endswith("[WORKBOOK_NOT_SAVED]")
    book.fullname = book.api_fullname = RuntimeError("Call was rejected by callee.")
    result = close_month(book)
    assert result.message == ("Nothing was closed: Excel could not be asked where the workbook is saved (Call was "
                              "rejected by callee.). Press Close month again once Excel is idle. [EXCEL_UNAVAILABLE]")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# ---- 4. a date in a total's range -------------------------------------------------------------------------

def test_wip_total_refuses_a_date_which_sum_would_add_as_its_serial_number():
    assert fx.WIP_TOTAL([["cost"], [dt.datetime(1900, 1, 5)], [2.0]]) == [[
        "#WIP! NOT_A_NUMBER: no total: row 2, column 1 of the range: expected a number, found the date 1900-01-05 "
        "(the cell is formatted as a date: format it as a number)"]]
    assert fx.WIP_TOTAL([["cost"], [dt.date(2026, 10, 1)]])[0][0].startswith("#WIP! NOT_A_NUMBER: no total: row 2")


# ---- 5. WIP_CHECK counts rows and different errors ----------------------------------------------------------

def test_wip_check_counts_rows_and_different_errors():
    # a result row laid across (B5:M5) with four errors: one row, four errors
    assert fx.WIP_CHECK([["#WIP! A: x", "#WIP! B: y", "#N/A", "#WIP! C: z"]]) == [
        ["1 row with an error (4 different); the first: #WIP! A: x"]]
    # two functions' results side by side: the second function's different error is counted; UNIT_FLOW
    # in rows 3 and 5 is one kind of error, though each text names its row
    assert fx.WIP_CHECK([["#WIP! UNIT_FLOW: row 3", "#WIP! UNIT_FLOW: row 3", "#WIP! NOT_CLOSED: 2026-12"],
                         [1.0, 2.0, 3.0], ["#WIP! UNIT_FLOW: row 5", "#WIP! UNIT_FLOW: row 5", 4.0]]) == [
        ["2 rows with an error (2 different); the first: #WIP! UNIT_FLOW: row 3"]]
    assert fx.WIP_CHECK([[1.0, "text"], [None, 2.0]]) == [["OK"]]
    [[total]] = fx.WIP_TOTAL([["#WIP! A: x"], [1.0], ["#N/A"]])
    assert total == ("#WIP! RANGE_HAS_ERRORS: no total: 2 rows of the range hold an error (2 different); the first: "
                     "#WIP! A: x")


# ---- 6. a ledger path of quotes only ------------------------------------------------------------------------

@pytest.mark.parametrize("text", ['""', '" "', ' "  " '])
def test_a_ledger_path_of_quotes_only_is_blank(text, windows_decorated):
    from .fake_xlwings import call_udf

    blank = [["#WIP! MISSING_VALUE: ledger_path is blank; give the ledger file (e.g. BOOK.wip.db)"]]
    assert fx.WIP_JOURNAL([[text]], [["2026-10"]]) == blank
    assert call_udf(windows_decorated.WIP_ROLLFORWARD, ((text,),), (("2026-10",),)) == blank


# ---- 7. an optional column that changes the figures: a header holding its stem is refused while it is absent ----

SPOIL_HEAD, SPOIL_ROW = UNITS + ["spoiled_units"], ROW + [20.0]  # 400 + 50 + 20 spoiled at the end = 470 EU
COSTS_HEAD, COSTS_ROW = UNITS + ["beginning_cost", "added_cost"], ROW + [0.0, 1000.5]  # 2.22 per EU in USD, 2 in JPY
OVERHEAD = ["rate", "driver_quantity", "actual"], [18.333, 630.0, 11000.0]  # 11549.79 in USD, 11550 in JPY
HALF = ["rate", "driver_quantity", "actual"], [0.125, 1.0, 0.12]  # 0.13 half_up, 0.12 half_even
HOLDS = {"spoiled_units": "the units spoiled", "inspection": "the inspection point", "currency": "the currency code",
         "rounding": "the rounding mode"}
DEFAULT = {"spoiled_units": "0 (no spoilage)", "inspection": "1 (spoilage found at the end of the stage)",
           "currency": "USD", "rounding": "half_up"}
EXAMPLE = {"spoiled_units": "scrap_reason to loss_reason", "inspection": "qa_inspector to qa_by",
           "currency": "currency_note to fx_note", "rounding": "rounding_diff to diff"}
# Each optional column, the function(s) whose figures it changes, a table without it, and a value for it.
GUARDED = {"spoiled_units": [(fx.WIP_EQUIV_UNITS, UNITS, ROW, 20.0), (fx.WIP_COST_PER_EU, COSTS_HEAD, COSTS_ROW, 20.0)],
           "inspection": [(fx.WIP_EQUIV_UNITS, SPOIL_HEAD, SPOIL_ROW, 0.5)],
           "currency": [(fx.WIP_COST_PER_EU, COSTS_HEAD, COSTS_ROW, "JPY"), (fx.WIP_OVERHEAD, *OVERHEAD, "JPY")],
           "rounding": [(fx.WIP_OVERHEAD, *HALF, "half_even")]}
# Headers standing for each: the reviewers' (left out before, so its default was used without a sign), the
# earlier rounds' wrong names and qualified names, and an NBSP between words; each with the stems the message
# names, as written out here (not worked out again as the add-in does).
SPOIL, INSPECT, CURRENC, CURR, CCY, ROUND = "'spoil'", "'inspect'", "'currenc'", "'curr'", "'ccy'", "'round'"
STANDS_FOR = {
    "spoiled_units": {"spoiled units [pcs]": SPOIL, "Spoiled units, pcs": SPOIL, "spoiled units (qty)": SPOIL,
                      "spoiled_units_qty": SPOIL, "Spoiled Units (pcs)": SPOIL, "spoilt": SPOIL, "scrap": "'scrap'",
                      "rejected_units": "'reject'", "spoiled": SPOIL, "Spoiled Unit": SPOIL, "spoilage": SPOIL,
                      "spoiled_unist": SPOIL, "spoiled-units": SPOIL, "units scrapped": "'scrap'"},
    "inspection": {"Inspection [%]": INSPECT, "inspection point (%)": INSPECT, "inspection (%)": INSPECT,
                   "inspection_pct": INSPECT, "inspection %": INSPECT, "inspect_at": INSPECT,
                   "inspection_point_%": INSPECT, "inspection\u00a0point": INSPECT, "inspection_point": INSPECT,
                   "inspect": INSPECT, "Inspected at": INSPECT},
    "currency": {"currency\u00a0code": CURRENC, "Currency:": CURRENC, "currency_id": CURRENC, "iso_currency": CURRENC,
                 "curr. code": CURR, "currency_code": CURRENC, "ccy": CCY, "curr": CURR, "currencies": CURRENC,
                 "currency (ISO)": CURRENC, "CCY code": CCY},
    "rounding": {"rounding_method": ROUND, "round": ROUND, "rounding method": ROUND, "Rounding mode:": ROUND,
                 "round\u00a0mode": ROUND},
}
# Users' own columns holding a stem, left alone before: refused now too, with the way out.
USERS_OWN = {"spoiled_units": {"spoiled units (reason)": SPOIL, "spoiled_value": SPOIL, "spoilage_cost": SPOIL,
                               "spoiled units (cost)": SPOIL, "spoilage_note": SPOIL, "scrap_reason": "'scrap'",
                               "scrap/spoil": "'spoil' or 'scrap'"},
             "inspection": {"inspection (who)": INSPECT, "inspection number": INSPECT, "inspection_note": INSPECT,
                            "inspector": INSPECT, "qa_inspector": INSPECT},
             "currency": {"Currency (rate)": CURRENC, "currency_note": CURRENC, "rate currency": CURRENC},
             "rounding": {"Rounding (diff)": ROUND, "rounding_note": ROUND}}


def _stem_cases(names):
    return [pytest.param(function, header, row, value, column, name, found, id=f"{function.__name__}-{name}")
            for column, headers in names.items() for function, header, row, value in GUARDED[column]
            for name, found in headers.items()]


def _refused(function, header, row, name, column, found):
    result = function([header + [name], row + [None]])[0]
    assert single(function([header + [name], row + [None]])) == result[0] == (
        f"#WIP! UNKNOWN_COLUMN: row 1 (column {len(header) + 1} of the table): {name} is not a column this function "
        f"reads, and it contains {found}: the function reads {column} from a column named {column}, and without one "
        f"takes {DEFAULT[column]}. Rename this column to {column} if it holds {HOLDS[column]}, or rename it so it "
        f"does not contain {found} if it is your own (e.g. {EXAMPLE[column]})")
    assert set(result) == {result[0]}  # every result cell of the table


@pytest.mark.parametrize("function, header, row, value, column, name, found", _stem_cases(STANDS_FOR))
def test_a_header_holding_the_stem_of_an_absent_optional_column_is_refused(function, header, row, value, column,
                                                                          name, found):
    _refused(function, header, row, name, column, found)
    # renamed as told, its value is read, and the figures are not the default's
    assert function([header + [column], row + [value]]) != function([header, row])


@pytest.mark.parametrize("function, header, row, value, column, name, found", _stem_cases(USERS_OWN))
def test_a_users_own_column_holding_a_stem_is_refused_with_the_way_out(function, header, row, value, column, name,
                                                                       found):
    _refused(function, header, row, name, column, found)
    # renamed so it holds no stem, it is the user's and left alone; beside the column itself it is left alone as is
    assert function([header + ["own_column"], row + ["x"]]) == function([header, row])
    assert function([header + [column, name], row + [value, "x"]]) == function([header + [column], row + [value]])


def test_the_value_a_stem_column_holds_is_what_its_default_would_have_hidden():
    assert only(fx.WIP_EQUIV_UNITS([SPOIL_HEAD, SPOIL_ROW])) == 470.0  # spoiled units [pcs] left out: 450
    assert only(fx.WIP_EQUIV_UNITS([SPOIL_HEAD + ["inspection"], SPOIL_ROW + [0.5]])) == 460.0  # left out: 470
    assert fx.WIP_OVERHEAD([OVERHEAD[0] + ["currency"], OVERHEAD[1] + ["JPY"]])[1][1] == 11550.0  # left out: 11549.79
    # a spoilage value column is refused only while spoiled_units is absent: beside it, it is the user's
    assert only(fx.WIP_EQUIV_UNITS([SPOIL_HEAD + ["spoiled_value", "spoilage_cost", "inspection (%)", "inspection"],
                                    SPOIL_ROW + [100.0, 5.0, "y", 1.0]])) == 470.0


@pytest.mark.parametrize("name", ["Spoiled\u00a0Units", "spoiled  units", "Spoiled\tunits"])
def test_a_header_whose_words_a_no_break_space_or_a_tab_separates_is_read_as_the_column(name):
    assert only(fx.WIP_EQUIV_UNITS([UNITS + [name], ROW + [20.0]])) == 470.0  # spoiled_units, not refused


# ---- 8. a block key is read case aside; a misspelt stage key still starts a stage ---------------------------------

def test_a_block_key_is_read_case_aside_as_a_table_header_is():
    block = [[key.title() if key in ("currency", "method", "stage", "element", "completed") else key.upper()
              if key == "started" else key, *rest] for key, *rest in ANZIO_BLOCK]
    block[5][0] = "Beginning_WIP.units"  # the first part: what follows a dot may name an element
    assert [row[0] for row in block[:6]] == ["Currency", "Method", "Stage", "Element", "Element", "Beginning_WIP.units"]
    assert fx.WIP_ASSIGN(block) == fx.WIP_ASSIGN(ANZIO_BLOCK)
    assert fx.WIP_ASSIGN(block)[0][0] == "stage"


def test_a_space_in_a_block_key_is_not_read_as_an_underscore_as_in_a_table_header():
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == "beginning_wip.units")
    block[number][0] = "Beginning WIP.units"
    assert single(fx.WIP_ASSIGN(block)) == (f"#WIP! UNKNOWN_KEY: row {number + 1} (Beginning WIP.units): Beginning "
                                            "WIP.units is not a block key; did you mean beginning_wip.units? Correct the key")


@pytest.mark.parametrize("key, meant", [("ending_wip.Complete", "ending_wip.complete"), ("Curency", "currency"),
                                        ("Ending_wp.units", "ending_wip.units")])
def test_a_misspelt_block_key_is_told_the_key_meant(key, meant):
    block = [row[:] for row in ANZIO_BLOCK]
    number = next(i for i, row in enumerate(block) if row[0] == meant)
    block[number] = [key, block[number][1]]
    assert single(fx.WIP_ASSIGN(block)) == (f"#WIP! UNKNOWN_KEY: row {number + 1} ({key}): {key} is not a block key; "
                                            f"did you mean {meant}? Correct the key")


@pytest.mark.parametrize("key", ["Satge", "stages", "Stge"])
def test_a_misspelt_stage_key_is_one_problem_not_every_row_after_it(key):
    block = [row[:] for row in ANZIO_BLOCK]
    block[2] = [key, "Forming"]  # the first stage: its keys were each BLOCK_NO_STAGE
    expected = [[f"#WIP! UNKNOWN_KEY: row 3 ({key}): {key} is not a block key; did you mean stage? Write "
                 "`stage | NAME`"]]
    assert single(fx.WIP_ASSIGN(block)) == expected[0][0]
    # a second stage: its keys were each DUPLICATE_ROW of the first stage's
    second = [row[:] for row in ANZIO_BLOCK] + [[key, "Packing"]] + [row[:] for row in ANZIO_BLOCK[3:]]
    assert single(fx.WIP_COST_REPORT(second)) == expected[0][0].replace("row 3 ", f"row {len(ANZIO_BLOCK) + 1} ")


# ---- 9. WIP_CHECK tells errors apart by code, not by the row each names -----------------------------------------

def test_wip_check_counts_one_kind_of_error_in_many_rows_once():
    e2 = "#WIP! MISSING_VALUE: row 2 (completed): is blank; type the number"
    e3 = "#wip! missing_value: row 3 (completed): is blank; type the number"  # case aside, as COUNTIF
    assert fx.WIP_CHECK([["equivalent_units"], [e2], [e3], [450.0]]) == [[f"2 rows with an error: {e2}"]]
    assert fx.WIP_CHECK([[e2], ["#N/A"], ["#N/A"]]) == [[f"3 rows with an error (2 different); the first: {e2}"]]
    assert fx.WIP_TOTAL([["h"], [e2], [e3], [1.0]]) == [[f"#WIP! RANGE_HAS_ERRORS: no total: 2 rows of the range hold "
                                                         f"an error: {e2}"]]


# ---- 10. wip addin onto a read-only workbook without --force: FILE_EXISTS first ----------------------------------

def test_addin_onto_a_read_only_workbook_is_file_exists_unless_forced(tmp_path, capsys):
    import os

    from costing.cli import main

    assert main(["addin", str(tmp_path)]) == 0
    os.chmod(tmp_path / "wip_close.xlsm", 0o444)
    capsys.readouterr()
    assert main(["addin", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    # not "make it writable": that would lead on to replacing a workbook that may hold a month
    assert f"error: {tmp_path / 'wip_close.xlsm'}: exists (use --force" in err and err.count("[FILE_EXISTS]") == 1, err
    assert "writable" not in err
    assert main(["addin", str(tmp_path), "--force"]) == 2
    err = capsys.readouterr().err
    assert "wip_close.xlsm is read-only; make it writable" in err and "[CANNOT_WRITE]" in err, err


def test_a_far_slip_of_element_beside_a_name_kind_and_addition_is_told_element():
    """`elemnts | conversion | conversion | evenly` was told "did you mean elements?", a key the
    block then refused with "did you mean element?": the row was to be fixed twice."""
    block = [["elemnts", *row[1:]] if row[:2] == ["element", "conversion"] else list(row) for row in ANZIO_BLOCK]
    assert single(fx.WIP_ASSIGN(block)) == ("#WIP! UNKNOWN_KEY: row 5 (elemnts): elemnts is not a block key; did you "
                                            "mean element? Write `element | NAME | KIND | ADDED`")


def test_a_required_column_is_read_case_and_spaces_aside_as_an_optional_one():
    """README: `Beginning Units` is beginning_units — for the columns a function needs as for the
    optional ones (a Title Case header was MISSING_COLUMN, though the column was there)."""
    title = lambda header: [" ".join(w.capitalize() for w in h.split("_")) for h in header]  # noqa: E731
    assert title(UNITS)[:3] == ["Method", "Added", "Beginning Units"]
    assert only(fx.WIP_EQUIV_UNITS([title(UNITS), ROW])) == only(fx.WIP_EQUIV_UNITS([UNITS, ROW])) == 450.0
    assert fx.WIP_COST_PER_EU([title(COSTS_HEAD), COSTS_ROW]) == fx.WIP_COST_PER_EU([COSTS_HEAD, COSTS_ROW])
    assert fx.WIP_OVERHEAD([title(OVERHEAD[0]), OVERHEAD[1]])[1][1] == 11549.79
    spaced = ["beginning\u00a0units" if h == "beginning_units" else h for h in UNITS]
    assert only(fx.WIP_EQUIV_UNITS([spaced, ROW])) == 450.0
