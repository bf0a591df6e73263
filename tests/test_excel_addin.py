"""The Excel functions, called directly on textbook inputs, and their Excel metadata as xlwings'
real Windows decorators record it (pywin32 stubbed)."""

from __future__ import annotations

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
    assert result[2][0].startswith("#WIP! PROGRESS_OUT_OF_RANGE: beginning_complete:")
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


def test_rollforward_and_journal_from_the_ledger(tmp_path):
    from costing._casefile import read_data_file
    from costing.close_service import close_period
    from costing.ledger import Ledger

    data, _ = read_data_file("examples/demo/close-2026-10.yaml")
    db = tmp_path / "book.wip.db"
    with Ledger(db) as ledger:
        outcome = close_period(data, ledger, user="test")
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
