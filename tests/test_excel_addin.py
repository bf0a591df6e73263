"""The Excel functions, called directly on textbook inputs, and their Excel metadata as xlwings'
real Windows decorators record it (pywin32 stubbed)."""

from __future__ import annotations

import datetime as dt
import importlib
import sys
import types

import pytest

from excel_addin import functions as fx

PACIFIC_ASSEMBLY = [  # Horngren, Cost Accounting 15e, ch. 17, Pacific Electronics, assembly
    ["method", "added", "beginning_units", "beginning_complete", "completed", "ending_units", "ending_complete",
     "beginning_cost", "added_cost"],
    ["weighted_average", "start", 225.0, 1.0, 400.0, 100.0, 1.0, 18000.0, 19800.0],
    ["weighted_average", "evenly", 225.0, 0.6, 400.0, 100.0, 0.5, 8100.0, 16380.0],
    ["fifo", "start", 225.0, 1.0, 400.0, 100.0, 1.0, 18000.0, 19800.0],
    ["fifo", "evenly", 225.0, 0.6, 400.0, 100.0, 0.5, 8100.0, 16380.0],
]

ANZIO_BLOCK = [  # Horngren 15e ch. 18, Anzio Company: spoilage detected at completion, weighted-average
    ["currency", "USD"], ["method", "weighted_average"], ["stage", "Forming"],
    ["element", "direct_materials", "material", "start"], ["element", "conversion", "conversion", "evenly"],
    ["beginning_wip.units", 1500.0], ["beginning_wip.complete", 0.6],
    ["beginning_wip.cost.direct_materials", 12000.0], ["beginning_wip.cost.conversion", 9000.0],
    ["started", 8500.0], ["completed", 7000.0], ["ending_wip.units", 2000.0], ["ending_wip.complete", 0.5],
    ["added_costs.direct_materials", 76500.0], ["added_costs.conversion", 89100.0],
    ["spoilage.spoiled", 1000.0], ["spoilage.normal_rate", 0.1], ["spoilage.inspection", 1.0],
]


def column(table, name):
    index = table[0].index(name)
    return [row[index] for row in table[1:]]


def test_equivalent_units_and_cost_per_eu_for_a_whole_table():
    assert column(fx.WIP_EQUIV_UNITS(PACIFIC_ASSEMBLY), "equivalent_units") == [500.0, 450.0, 275.0, 315.0]
    rates = column(fx.WIP_COST_PER_EU(PACIFIC_ASSEMBLY), "cost_per_eu")
    assert rates == [75.6, 54.4, 72.0, 52.0]
    assert all(type(v) is float for v in rates)  # floats for Excel, never Decimal objects


def test_assignment_and_cost_report_from_a_stage_block():
    assign = fx.WIP_ASSIGN(ANZIO_BLOCK)
    totals = {row[1]: row for row in assign[1:]}
    header = assign[0]
    assert totals["total"][header.index("transferred_out")] == 152075.0
    assert totals["total"][header.index("ending_wip")] == 28600.0
    assert totals["total"][header.index("normal_spoilage")] == 13825.0
    assert totals["total"][header.index("abnormal_spoilage")] == 5925.0
    report = fx.WIP_COST_REPORT(ANZIO_BLOCK)
    lines = {(r[1], r[2], r[3]): r[4] for r in report[1:]}
    assert lines[("4 cost per EU", "", "direct_materials")] == 8.85
    assert lines[("4 cost per EU", "", "conversion")] == 10.9
    assert lines[("5 assignment", "costs accounted for", "")] == 186600.0


def test_errors_are_text_that_cannot_pass_into_a_total():
    bad = [row[:] for row in PACIFIC_ASSEMBLY]
    bad[2][3] = 1.6  # completion above 100%
    result = fx.WIP_EQUIV_UNITS(bad)
    assert result[2][0].startswith("#WIP! PROGRESS_OUT_OF_RANGE: row 3 (beginning_complete):")
    assert result[1][0] == 500.0  # the other rows still compute
    assert fx.WIP_CHECK(result)[0][0].startswith("1 error(s): #WIP! PROGRESS_OUT_OF_RANGE")
    assert fx.WIP_CHECK(fx.WIP_EQUIV_UNITS(PACIFIC_ASSEMBLY)) == [["OK"]]
    block = [row[:] for row in ANZIO_BLOCK]
    block[10] = ["completed", 7001.0]
    message = fx.WIP_ASSIGN(block)[0][0]
    assert message.startswith("#WIP! UNIT_FLOW: row 3 (stages[0])")
    with pytest.raises(TypeError):
        message + 1  # text in a cell: arithmetic on it fails in Excel too (#VALUE!)


def test_floats_from_excel_are_converted_exactly():
    table = [PACIFIC_ASSEMBLY[0], ["fifo", "start", 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 0.1]]
    assert column(fx.WIP_COST_PER_EU(table), "cost_per_eu") == [pytest.approx(0.1 / 3)]
    # the engine saw Decimal('0.1'), not 0.1000000000000000055...: the cost splits to the cent
    block = [["currency", "USD"], ["method", "fifo"], ["stage", "S"], ["element", "m", "material", "start"],
             ["started", 3.0], ["completed", 3.0], ["added_costs.m", 0.1]]
    assert fx.WIP_ASSIGN(block)[-1][2] == 0.1


def test_overhead_applied_and_under_over():
    result = fx.WIP_OVERHEAD([["stage", "rate", "driver_quantity", "actual"], ["Assembly", 18.0, 630.0, 11000.0],
                              ["Testing", 24.0, 155.0, 3800.0]])
    rows = {r[0]: r for r in result[1:]}
    assert rows["Assembly"][1:] == [11340.0, 11000.0, -340.0, "over-applied"]
    assert rows["Testing"][1:] == [3720.0, 3800.0, 80.0, "under-applied"]


H = ["method", "added", "beginning_units", "beginning_complete", "completed", "ending_units", "ending_complete"]
H_COSTS = H + ["beginning_cost", "added_cost"]
GOOD = ["fifo", "evenly", 100.0, 0.4, 500.0, 200.0, 0.5]  # 60 + 400 + 100 = 560 EU


def only(result):
    """The single data row's first cell."""
    [_, [value, *_]] = result
    return value


def test_a_blank_required_cell_is_an_error_not_a_zero():
    assert only(fx.WIP_EQUIV_UNITS([H, GOOD])) == 560.0
    cases = {  # column made blank -> the start of the error in that row
        "ending_complete": "#WIP! MISSING_COMPLETION: row 2 (ending_complete): 200 units need a completion",
        "beginning_complete": "#WIP! MISSING_COMPLETION: row 2 (beginning_complete): 100 units need a completion",
        "beginning_units": "#WIP! MISSING_VALUE: row 2 (beginning_units): is blank",
        "completed": "#WIP! MISSING_VALUE: row 2 (completed): is blank",
        "ending_units": "#WIP! MISSING_VALUE: row 2 (ending_units): is blank",
        "added": "#WIP! MISSING_VALUE: row 2 (added): is blank",
        "method": "#WIP! MISSING_VALUE: row 2 (method): is blank",
    }
    for column, expected in cases.items():
        for blank in (None, "", "  "):  # None: an empty cell, or an error cell such as #N/A
            row = GOOD[:]
            row[H.index(column)] = blank
            assert str(only(fx.WIP_EQUIV_UNITS([H, row]))).startswith(expected), (column, blank)


def test_a_blank_cost_is_an_error_unless_there_are_no_beginning_units():
    costed = GOOD + [3000.0, 28000.0]
    assert fx.WIP_COST_PER_EU([H_COSTS, costed])[1] == [560.0, 50.0]  # FIFO: 28000 / 560
    for column in ("beginning_cost", "added_cost"):
        row = costed[:]
        row[H_COSTS.index(column)] = None
        assert fx.WIP_COST_PER_EU([H_COSTS, row])[1][0].startswith(f"#WIP! MISSING_VALUE: row 2 ({column}): is blank")
    # no beginning WIP: its completion and cost may stay blank, as an accountant leaves them
    fresh = ["weighted_average", "evenly", 0.0, None, 90.0, 10.0, 0.5, None, 950.0]
    assert fx.WIP_COST_PER_EU([H_COSTS, fresh])[1] == [95.0, 10.0]
    # and no ending WIP: its completion may stay blank too
    assert only(fx.WIP_EQUIV_UNITS([H, ["weighted_average", "evenly", 0.0, None, 90.0, 0.0, None]])) == 90.0


def test_a_missing_cost_column_is_one_error():
    [[message, _]] = fx.WIP_COST_PER_EU([H + ["added_cost"], GOOD + [28000.0]])
    assert message == "#WIP! MISSING_COLUMN: the table needs columns beginning_cost"


def test_added_zero_is_added_at_the_start():
    # a case file's `added: 0` is the start of the stage (the point 0 of progress), not "evenly"
    at_start = ["weighted_average", "start", 225.0, 0.6, 400.0, 100.0, 0.5]
    at_zero = ["weighted_average", 0.0, 225.0, 0.6, 400.0, 100.0, 0.5]
    evenly = ["weighted_average", "evenly", 225.0, 0.6, 400.0, 100.0, 0.5]
    assert column(fx.WIP_EQUIV_UNITS([H, at_start, at_zero, evenly]), "equivalent_units") == [500.0, 500.0, 450.0]


def test_inspection_at_zero_is_the_start_of_the_stage_not_the_end():
    header = H + ["spoiled_units", "inspection"]
    row = ["weighted_average", "evenly", 0.0, 0.0, 90.0, 10.0, 0.5, 10.0]
    results = column(fx.WIP_EQUIV_UNITS([header, row + [0.0], row + [1.0], row + [None]]), "equivalent_units")
    # spoiled at 0 % carry no conversion; at the end (and by default) all of it
    assert results == [95.0, 105.0, 105.0]


def test_a_blank_row_inside_a_table_gives_a_blank_result_row():
    second = ["weighted_average", "evenly", 225.0, 0.6, 400.0, 100.0, 0.5]
    blank = [None] * 7
    result = fx.WIP_EQUIV_UNITS([H, GOOD, blank, second, blank, ["", None, "", "", "", "", ""]])
    # one result per input row, so results sit beside their rows; trailing blank rows are trimmed
    assert result == [["equivalent_units"], [560.0], [""], [450.0]]
    costed = fx.WIP_COST_PER_EU([H_COSTS, GOOD + [3000.0, 28000.0], [None] * 9, second + [8100.0, 16380.0]])
    assert costed == [["equivalent_units", "cost_per_eu"], [560.0, 50.0], ["", ""], [450.0, 54.4]]
    overhead = fx.WIP_OVERHEAD([["stage", "rate", "driver_quantity", "actual"], ["Assembly", 18.0, 630.0, 11000.0],
                                [None] * 4, ["Testing", 24.0, 155.0, 3800.0], [None] * 4])
    assert [r[0] for r in overhead] == ["stage", "Assembly", "", "Testing"]
    assert overhead[2] == [""] * 5


def test_a_text_number_is_read_and_a_bad_one_is_named():
    text = GOOD[:]
    text[H.index("beginning_units")] = "100"
    assert only(fx.WIP_EQUIV_UNITS([H, text])) == 560.0  # plain text digits read as the case file reads them
    text[H.index("beginning_units")] = "1,000"
    assert only(fx.WIP_EQUIV_UNITS([H, text])) == \
        "#WIP! NOT_A_NUMBER: row 2 (beginning_units): expected a number, found '1,000'"


def test_float_noise_from_excel_arithmetic_is_read_at_excels_15_digits():
    noisy = 0.1 + 0.2  # =0.1+0.2 in a cell: 0.30000000000000004, shown by Excel as 0.3
    table = [H_COSTS, ["fifo", "start", 0.0, None, 3.0, 0.0, None, None, noisy]]
    assert fx.WIP_COST_PER_EU(table)[1] == [3.0, 0.1]
    block = [["currency", "USD"], ["method", "fifo"], ["stage", "S"], ["element", "m", "material", "start"],
             ["started", 3.0], ["completed", 3.0], ["added_costs.m", noisy]]
    totals = {row[1]: row for row in fx.WIP_ASSIGN(block)[1:]}
    assert totals["total"][2] == 0.3


OVERHEAD_HEADER = ["stage", "rate", "driver_quantity", "actual"]


def test_overhead_refuses_negatives_and_blanks_per_row():
    result = fx.WIP_OVERHEAD([OVERHEAD_HEADER, ["Assembly", -18.0, 630.0, 22500.0], ["Testing", 24.0, -155.0, 3800.0],
                              ["Packing", 10.0, 50.0, -1.0], ["Paint", None, 50.0, 500.0],
                              ["Kiln", 2.0, 3.0, 6.0], ["Dryer", 2.0, 3.0, 6.125]])
    rows = {r[0]: r for r in result[1:]}
    assert rows["Assembly"][1] == "#WIP! NEGATIVE_AMOUNT: row 2 (rate): cannot be negative, found -18"
    assert rows["Testing"][1] == "#WIP! NEGATIVE_UNITS: row 3 (driver_quantity): cannot be negative, found -155"
    assert rows["Packing"][1] == "#WIP! NEGATIVE_AMOUNT: row 4 (actual): cannot be negative, found -1"
    assert rows["Paint"][1].startswith("#WIP! MISSING_VALUE: row 5 (rate): is blank")
    assert all(rows[s][2:] == ["", "", ""] for s in ("Assembly", "Testing", "Packing", "Paint"))
    assert rows["Kiln"][1:] == [6.0, 6.0, 0.0, "exact"]
    assert rows["Dryer"][1].startswith("#WIP! AMOUNT_PRECISION: row 7 (actual): 6.125 has more decimal places")


def test_overhead_without_a_driver_quantity_column_is_one_error():
    result = fx.WIP_OVERHEAD([["stage", "rate", "actual"], ["Assembly", 18.0, 11000.0], ["Testing", 24.0, 3800.0]])
    assert result == [["#WIP! MISSING_COLUMN: the table needs columns driver_quantity", "", "", "", ""]]


def test_overhead_rounds_half_up_unless_the_row_says_half_even():
    result = fx.WIP_OVERHEAD([OVERHEAD_HEADER + ["rounding"], ["A", 0.125, 1.0, 0.0, None],
                              ["B", 0.125, 1.0, 0.0, "half_even"], ["C", 0.125, 1.0, 0.0, "half_up"],
                              ["D", 0.125, 1.0, 0.0, "nearest"]])
    rows = {r[0]: r for r in result[1:]}
    assert [rows[s][1] for s in "ABC"] == [0.13, 0.12, 0.13]
    assert rows["D"][1] == "#WIP! INVALID_CHOICE: row 5 (rounding): expected half_up or half_even, found 'nearest'"


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory):
    """(ledger path, close outcome) of the demo's October close."""
    from costing._casefile import read_data_file
    from costing.close_service import close_period
    from costing.ledger import Ledger

    data, _ = read_data_file("examples/demo/close-2026-10.yaml")
    db = tmp_path_factory.mktemp("ledger") / "book.wip.db"
    with Ledger(db) as ledger:
        outcome = close_period(data, ledger, user="test")
    return db, outcome


def test_rollforward_and_journal_from_the_ledger(demo_ledger, tmp_path):
    db, outcome = demo_ledger
    journal = fx.WIP_JOURNAL([[str(db)]], [["2026-10"]])
    assert journal[0][:3] == ["journal", "date", "narration"]
    debit, credit = journal[0].index("debit"), journal[0].index("credit")
    assert round(sum(r[debit] for r in journal[1:]), 2) == round(sum(r[credit] for r in journal[1:]), 2)
    assert len(journal) - 1 == sum(len(j.lines) for j in outcome.journals.journals)
    rf = fx.WIP_ROLLFORWARD([[str(db)]], [["2026-10"]])
    closing = rf[0].index("closing")
    assert round(sum(r[closing] for r in rf[1:]), 2) == float(sum(r.closing for r in outcome.rollforward.rows))
    assert fx.WIP_JOURNAL([[str(db)]], [["2026-12"]])[0][0].startswith("#WIP! NOT_CLOSED")
    cover = fx.WIP_FG_COVER([[str(db)]], [["2026-10"]])
    assert cover[0] == ["product", "on_hand", "weekly_shipments", "weeks_of_cover", "flag"]
    rows = {r[0]: r for r in cover[1:]}
    espresso = next(p for p in outcome.rollforward.finished_goods if p.product == "Espresso Classic")
    assert rows["Espresso Classic"][1] == float(espresso.closing_units)
    # 270 units shipped in October's 31 days: 270 / (31 / 7) a week
    assert rows["Espresso Classic"][2] == pytest.approx(270 / (31 / 7), rel=1e-3)
    assert fx.WIP_JOURNAL([[str(tmp_path / "none.db")]], [["2026-10"]])[0][0].startswith("#WIP! LEDGER_NOT_FOUND")


LEDGER_FUNCTIONS = [fx.WIP_JOURNAL, fx.WIP_ROLLFORWARD, fx.WIP_FG_COVER]


@pytest.mark.parametrize("function", LEDGER_FUNCTIONS, ids=lambda f: f.__name__)
def test_a_file_that_is_not_a_ledger_is_an_error_not_a_crash(function, tmp_path):
    workbook = tmp_path / "demo.xlsx"
    workbook.write_bytes(b"PK\x03\x04 not a database, a workbook")
    for path, code in ((workbook, "NOT_A_LEDGER"), (tmp_path, "LEDGER_UNAVAILABLE")):  # a workbook by mistake; a folder
        [[message]] = function([[str(path)]], [["2026-10"]])
        assert message.startswith(f"#WIP! {code}: ") and str(path) in message
    assert workbook.read_bytes() == b"PK\x03\x04 not a database, a workbook"  # left as it was
    [[message]] = function([[None]], [["2026-10"]])
    assert message.startswith("#WIP! MISSING_VALUE: ledger_path is blank")


@pytest.mark.parametrize("function", LEDGER_FUNCTIONS, ids=lambda f: f.__name__)
def test_a_period_excel_turned_into_a_date_is_read_as_its_month(function, demo_ledger):
    db, _ = demo_ledger
    typed = function([[str(db)]], [["2026-10"]])
    assert function([[str(db)]], [[dt.datetime(2026, 10, 1)]]) == typed  # Excel reads 2026-10 as 1 Oct 2026
    assert function([[str(db)]], [[dt.date(2026, 10, 1)]]) == typed
    [[message]] = function([[str(db)]], [[dt.datetime(2026, 10, 15)]])
    assert message == "#WIP! INVALID_PERIOD: expected a month YYYY-MM, found the date 2026-10-15"
    assert function([[str(db)]], [["Oct 2026"]]) == [["#WIP! INVALID_PERIOD: expected a month YYYY-MM, found 'Oct 2026'"]]


class _Stub(types.ModuleType):
    """Stands in for pywin32 so xlwings' Windows UDF module imports on Linux."""

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return lambda *args, **kwargs: None


@pytest.fixture
def windows_decorated(monkeypatch):
    for name in ("pythoncom", "pywintypes", "win32com", "win32com.client", "win32api", "win32con"):
        monkeypatch.setitem(sys.modules, name, _Stub(name))
    monkeypatch.delitem(sys.modules, "xlwings.udfs", raising=False)
    udfs = importlib.import_module("xlwings.udfs")
    import xlwings

    monkeypatch.setattr(xlwings, "func", udfs.xlfunc)
    monkeypatch.setattr(xlwings, "arg", udfs.xlarg)
    monkeypatch.setattr(xlwings, "ret", udfs.xlret)
    module = importlib.reload(fx)
    yield module
    monkeypatch.undo()
    importlib.reload(fx)


EXPECTED = {
    "WIP_EQUIV_UNITS": ["table"], "WIP_COST_PER_EU": ["table"], "WIP_COST_REPORT": ["block"],
    "WIP_ASSIGN": ["block"], "WIP_OVERHEAD": ["table"], "WIP_ROLLFORWARD": ["ledger_path", "period"],
    "WIP_JOURNAL": ["ledger_path", "period"], "WIP_FG_COVER": ["ledger_path", "period"], "WIP_CHECK": ["values"],
}


def test_excel_metadata_from_xlwings_windows_decorators(windows_decorated):
    assert sorted(windows_decorated.__all__) == sorted(EXPECTED)
    for name, args in EXPECTED.items():
        meta = getattr(windows_decorated, name).__xlfunc__
        assert meta["name"] == name  # the Excel function name
        assert not any(name[len("WIP_"):].startswith(p) for p in ("A1", "R1C1"))
        assert [a["name"] for a in meta["args"]] == args
        for a in meta["args"]:
            assert a["options"]["ndim"] == 2, (name, a["name"])
            assert a["doc"] and not a["doc"].startswith("Positional argument"), (name, a["name"])
        assert meta["ret"]["doc"] == getattr(windows_decorated, name).__doc__ and len(meta["ret"]["doc"]) < 255
        assert meta["category"] == "WIP costing"
        assert meta["ret"]["options"]["ndim"] == 2  # results are 2-D arrays that spill
