"""The Variances, Standards and Flow sheets: cell values checked against golden files (values, not
bytes), conditional formatting on flagged lines, the bridge chart, and only our sheets replaced."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook

from costing.cli import main
from costing.ledger import Ledger
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parent.parent
STANDARDS = ROOT / "examples" / "demo" / "standards.yaml"
ORDERS = ROOT / "examples" / "demo" / "orders.yaml"


def cell(value):
    """Cell values as text, so that the golden file does not depend on float formatting."""
    if value is None:
        return None
    if isinstance(value, float):
        return format(Decimal(repr(value)).normalize(), "f")
    if isinstance(value, (dt.datetime, dt.date)):
        return value.date().isoformat() if isinstance(value, dt.datetime) else value.isoformat()
    return str(value) if not isinstance(value, str) else value


def extract(path: Path) -> dict:
    wb = load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [[cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
        while rows and not any(v is not None for v in rows[-1]):
            rows.pop()
        out[ws.title] = {
            "rows": [r[:max((i + 1 for i, v in enumerate(r) if v is not None), default=0)] for r in rows],
            "conditional_formatting": sorted(
                [str(cf.sqref), [rule.formula[0] for rule in cf.rules]] for cf in ws.conditional_formatting),
            "charts": [{"type": type(c).__name__, "series": len(c.series)} for c in ws._charts],
        }
    return out


def test_variance_workbook_golden(demo_ledger, tmp_path, data_regression, capsys):
    book = tmp_path / "close.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book),
                 "--ledger", str(demo_ledger)]) == 0
    assert "Wrote the Variances and Flow sheets" in capsys.readouterr().out
    sheets = extract(book)
    assert list(sheets) == ["Variances", "Flow"]
    data_regression.check(sheets)


def test_flagged_lines_are_formatted_and_the_bridge_is_charted(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    ws = load_workbook(book)["Variances"]
    header = [c.value for c in ws[5]]
    assert header[:8] == ["Metric", "Level", "Product", "Stage", "Element", "2026-10", "2026-11", "Change"]
    flag = header.index("Flag") + 1
    flagged = [r for r in range(6, ws.max_row + 1) if ws.cell(r, flag).value == "FLAG"]
    assert flagged and all(ws.cell(r, header.index("Explanation") + 1).value for r in flagged)
    rules = {str(cf.sqref): [rule.formula[0] for rule in cf.rules] for cf in ws.conditional_formatting}
    table = next(k for k in rules if k.startswith("A6:P"))
    assert rules[table] == ['$O6="FLAG"'] and int(table.split("P")[1]) >= max(flagged)
    (chart,) = ws._charts
    assert type(chart).__name__ == "BarChart" and len(chart.series) == 4  # volume, mix, completion, price
    # The components of each total are numbers in the sheet that add up to its change.
    for r in range(6, ws.max_row + 1):
        if ws.cell(r, 2).value == "total":
            parts = [Decimal(str(ws.cell(r, c).value)) for c in range(9, 13)]
            assert sum(parts) == Decimal(str(ws.cell(r, 8).value))


def test_only_our_sheets_are_created_or_replaced(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    wb = Workbook()
    wb.active.title = "Inputs"
    wb["Inputs"]["A1"] = "do not touch"
    old = wb.create_sheet("Variances")
    old["Z99"] = "stale"
    wb.create_sheet("Journals")["B2"] = 42
    wb.save(book)
    for _ in range(2):  # writing twice replaces, never duplicates
        assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                     "--ledger", str(demo_ledger)]) == 0
    wb = load_workbook(book)
    assert wb.sheetnames == ["Inputs", "Variances", "Journals", "Flow"]
    assert wb["Inputs"]["A1"].value == "do not touch" and wb["Journals"]["B2"].value == 42
    assert wb["Variances"]["Z99"].value is None


def test_standards_and_flow_sheets(demo_ledger, tmp_path, data_regression):
    book = tmp_path / "close.xlsx"
    assert main(["standards", "--period", "2026-11", "--standards", str(STANDARDS), "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    sheets = extract(book)
    assert list(sheets) == ["Standards", "Flow"]
    flow = load_workbook(book)["Flow"]
    at_risk = [r for r in flow.iter_rows(values_only=True) if "AT RISK" in r]
    assert {r[0] for r in at_risk} == {"SO-1002", "SO-1005"}
    data_regression.check(sheets)


def test_into_a_close_workbook_its_results_keep_their_values_and_the_next_close_replaces_ours(tmp_path, capsys):
    from costing.workbook._cli import init_workbook
    from costing.workbook._template import fill_tables, tables_from_close_data

    book = init_workbook(tmp_path / "demo.xlsx", demo("2026-10"))
    ledger = book.with_suffix(".wip.db")
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = load_workbook(book)
    fill_tables(wb, tables_from_close_data(demo("2026-11")))  # the accountant's second month
    wb.save(book)
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    before = load_workbook(book, data_only=True)
    results = [ws.title for ws in before.worksheets if not ws.tables]
    assert "Cost Report" in results
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(ledger), "--xlsx", str(book),
                 "--json"]) == 0
    after = load_workbook(book, data_only=True)
    formulas = load_workbook(book)
    # The close's formulas still carry the values it wrote: nothing to recalculate before reading them.
    checked = 0
    for name in results:
        for row in formulas[name].iter_rows():
            for c in row:
                if c.data_type == "f":
                    assert after[name][c.coordinate].value == before[name][c.coordinate].value, (name, c.coordinate)
                    checked += 1
    assert checked > 100
    assert {"Variances", "Flow"} <= set(after.sheetnames)
    listed = next(p.value for p in formulas.custom_doc_props.props if p.name == "wip.result_sheets").split("\n")
    assert "Variances" in listed and "Flow" in listed
    # Re-closing the month (reopened) replaces the close's result sheets and drops our stale ones.
    from costing.close_service import reopen_period

    with Ledger(ledger) as opened:
        reopen_period(opened, "2026-11", "late invoice", user="t")
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    capsys.readouterr()
    assert not {"Variances", "Flow"} & set(load_workbook(book).sheetnames)


def test_a_workbook_that_cannot_take_the_sheets_is_left_as_it_was(demo_ledger, tmp_path, capsys):
    """Read-only, or holding content openpyxl would drop (a sparkline): exit 2, nothing written."""
    import os
    import zipfile

    book = tmp_path / "close.xlsx"
    wb = Workbook()
    wb.active["A1"] = 1
    wb.save(book)
    os.chmod(book, 0o444)
    before = book.read_bytes()
    command = ["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--ledger", str(demo_ledger)]
    assert main(command) == 2
    assert "[CANNOT_WRITE]" in capsys.readouterr().err and book.read_bytes() == before
    os.chmod(book, 0o644)
    sparkline = (b'<extLst><ext uri="{05C60535-1F16-4fd2-B633-F4F36F0B64E0}" '
                 b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main"><x14:sparklineGroups '
                 b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><x14:sparklineGroup>'
                 b'<x14:sparklines><x14:sparkline><xm:f>Sheet!A1:A1</xm:f><xm:sqref>B1</xm:sqref></x14:sparkline>'
                 b'</x14:sparklines></x14:sparklineGroup></x14:sparklineGroups></ext></extLst>')
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(book) as src, zipfile.ZipFile(patched, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</worksheet>", sparkline + b"</worksheet>")
            dst.writestr(item, data)
    before = patched.read_bytes()
    command[command.index(str(book))] = str(patched)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "[CANNOT_WRITE]" in err and "parkline" in err and patched.read_bytes() == before


def test_a_tie_that_holds_says_ok(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    ws = load_workbook(book)["Variances"]
    top = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Ties to the stored roll-forwards")
    assert [c.value for c in ws[top + 1]][:6] == ["Metric", "What", "Bridge", "Roll-forward", "Difference", "Tie"]
    ties = [ws.cell(r, 6).value for r in range(top + 2, top + 14)]
    assert ties == ["OK"] * 12  # four metrics × before, after, change
