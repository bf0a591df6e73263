"""The Variances, Standards and Flow sheets: cells checked against golden files (values, and each
formula with its cached value; not bytes), the formulas of the derived columns, conditional
formatting on flagged lines, the bridge chart, and only our sheets replaced.  LibreOffice
recalculates the formulas in tests/test_variance_xlsx_libreoffice.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

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
    """Each sheet's rows: values, and a formula as "=FORMULA → its cached value"."""
    wb = load_workbook(path)
    cached = load_workbook(path, data_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = [[f"{c.value} → {cell(cached[ws.title][c.coordinate].value) or ''}" if c.data_type == "f"
                 else cell(c.value)
                 for c in row] for row in ws.iter_rows()]
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
    ws = load_workbook(book, data_only=True)["Variances"]
    header = [c.value for c in ws[5]]
    assert header[:8] == ["Metric", "Level", "Product", "Stage", "Element", "2026-10", "2026-11", "Change"]
    flag = header.index("Flag") + 1
    flagged = [r for r in range(6, ws.max_row + 1) if ws.cell(r, flag).value == "FLAG"]
    assert flagged and all(ws.cell(r, header.index("Explanation") + 1).value for r in flagged)
    rules = {str(cf.sqref): [rule.formula[0] for rule in cf.rules] for cf in ws.conditional_formatting}
    assert next(v for k, v in rules.items() if k.startswith("O6:O")) == ['$O6="DIFFERENCE"', '$O6="OK"']
    table = next(k for k in rules if k.startswith("A6:Q"))
    assert rules[table] == ['$P6="FLAG"'] and int(table.split("Q")[1]) >= max(flagged)
    (chart,) = ws._charts
    assert type(chart).__name__ == "BarChart" and len(chart.series) == 4  # volume, mix, completion, price
    # The components of each total are numbers in the sheet that add up to its change (the
    # formulas' cached values: what the sheet shows before any recalculation).
    for r in range(6, ws.max_row + 1):
        if ws.cell(r, 2).value == "total":
            parts = [Decimal(str(ws.cell(r, c).value)) for c in (9, 10, 11, 12)]
            assert sum(parts) == Decimal(str(ws.cell(r, 8).value)) == Decimal(str(ws.cell(r, 14).value))
            assert ws.cell(r, 15).value == "OK"


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
    ws = load_workbook(book, data_only=True)["Variances"]
    top = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Ties to the stored roll-forwards")
    assert [c.value for c in ws[top + 1]][:6] == ["Metric", "What", "Bridge", "Roll-forward", "Difference", "Tie"]
    ties = [ws.cell(r, 6).value for r in range(top + 2, top + 14)]
    assert ties == ["OK"] * 12  # four metrics × before, after, change
    rules = {str(cf.sqref): [rule.formula[0] for rule in cf.rules] for cf in ws.conditional_formatting}
    assert rules[f"F{top + 2}:F{top + 13}"] == [f'$F{top + 2}="DIFFERENCE"', f'$F{top + 2}="OK"']


# ---- live formulas ------------------------------------------------------------------------------

def _rows(ws, first_title: str, header: int = 1) -> tuple[int, list[int]]:
    """(header row, data rows) of the block whose title (column A) is ``first_title``."""
    top = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == first_title) + header
    rows = []
    r = top + 1
    while ws.cell(r, 1).value not in (None, ""):
        rows.append(r)
        r += 1
    return top, rows


def test_the_variances_sheet_derives_its_columns_by_formula(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    ws = load_workbook(book)["Variances"]
    shown = load_workbook(book, data_only=True)["Variances"]
    lines = []  # the bridge's lines: from row 6 to the first row that is not one
    r = 6
    while ws.cell(r, 2).value in ("total", "stage", "product", "line"):
        lines.append(r)
        r += 1
    assert len(lines) > 100
    # U/F only on price (a cost per unit against the earlier period's); the change, volume, mix and
    # completion are signed, with none.
    assert [ws.cell(5, c).value for c in range(8, 18)] == [
        "Change", "Volume", "Mix", "Completion", "Price", "Price U/F", "Components sum", "Sums exactly", "Flag",
        "Explanation"]
    # The thresholds the flags read.
    assert (shown["F3"].value, shown["G3"].value) == (100, 5)
    for r in lines:
        # The figures from the closes are values on the detail lines; what is derived from them
        # (roll-ups included) is a formula.
        figures = (6, 7, 9, 10, 11, 12)
        if ws.cell(r, 2).value == "line":
            assert all(ws.cell(r, c).data_type == "n" for c in figures), r
        else:
            assert all(ws.cell(r, c).value.startswith("=SUM(") for c in figures), r
        assert ws.cell(r, 8).value == f"=G{r}-F{r}"
        assert ws.cell(r, 13).value == f'=IF(ROUND(L{r},2)>0,"U",IF(ROUND(L{r},2)<0,"F",""))'  # price's U/F
        assert ws.cell(r, 14).value == f"=I{r}+J{r}+K{r}+L{r}"
        assert ws.cell(r, 15).value == f'=IF(ROUND(N{r}-H{r},2)=0,"OK","DIFFERENCE")'
        assert ws.cell(r, 16).value.startswith("=IF(AND(ROUND(H") and "$F$3" in ws.cell(r, 16).value \
            and "$G$3" in ws.cell(r, 16).value
        assert shown.cell(r, 15).value == "OK"
    # Roll-ups add their detail lines: the stage's, the product's, all of the metric's.
    cost_added = [r for r in lines if ws.cell(r, 1).value == "cost added"]
    details = [r for r in cost_added if ws.cell(r, 2).value == "line"]
    total = next(r for r in cost_added if ws.cell(r, 2).value == "total")
    assert ws.cell(total, 6).value == f"=SUM(F{details[0]}:F{details[-1]})"
    testing = next(r for r in cost_added if (ws.cell(r, 2).value, ws.cell(r, 4).value) == ("stage", "Testing"))
    in_testing = [r for r in details if ws.cell(r, 4).value == "Testing"]
    assert in_testing == [16, 17, 24, 25, 32, 33]  # two elements of each of three products
    assert ws.cell(testing, 9).value == "=SUM(I16:I17,I24:I25,I32:I33)"
    assert sum(Decimal(str(shown.cell(r, 7).value)) for r in in_testing) == Decimal(str(shown.cell(testing, 7).value))
    assert (shown.cell(total, 8).value, shown.cell(total, 12).value, shown.cell(total, 13).value) == \
        (9055.2, -15.42, "F")
    # Transferred out by product and in total: cost of goods manufactured, each product's last stage
    # (Packaging) only, and the total the products' lines, never every stage's transfer added up.
    out = [r for r in lines if ws.cell(r, 1).value == "cost transferred out"]
    products = [r for r in out if ws.cell(r, 2).value == "product"]
    out_total = next(r for r in out if ws.cell(r, 2).value == "total")
    assert ws.cell(out_total, 6).value == f"=SUM(F{products[0]}:F{products[-1]})"
    assert {ws.cell(r, 5).value for r in products + [out_total]} == {"cost of goods manufactured (to finished goods)"}
    for p in products:
        name, stage = ws.cell(p, 3).value, ws.cell(p, 4).value
        assert stage == "Packaging"
        last = [r for r in out if ws.cell(r, 2).value == "line" and (ws.cell(r, 3).value, ws.cell(r, 4).value) ==
                (name, stage)]
        assert ws.cell(p, 7).value == f"=SUM(G{last[0]}:G{last[-1]})"
    assert (shown.cell(out_total, 6).value, shown.cell(out_total, 7).value) == (136339.54, 143570.52)
    cogs_total = next(r for r in lines if ws.cell(r, 2).value == "total"
                      and ws.cell(r, 1).value == "COGS before overhead true-up")
    # Under the table: COGS as posted, from the bridge's COGS total and the overhead true-up.
    top, rows = _rows(ws, "COGS as posted: the bridge's COGS (units shipped, before the overhead true-up) plus the "
                          "overhead the close wrote off or prorated to COGS")
    labels = {ws.cell(r, 1).value: r for r in rows}
    first, written_off, prorated, posted, journals, difference = rows
    assert ws.cell(first, 6).value == f"=F{cogs_total}" and ws.cell(first, 7).value == f"=G{cogs_total}"
    assert ws.cell(posted, 6).value == f"=F{first}+F{written_off}+F{prorated}"
    assert ws.cell(difference, 7).value == f"=G{posted}-G{journals}"
    assert [shown.cell(r, 6).value for r in rows] == [125726.46, 33.2, 100.1, 125859.76, 125859.76, 0]
    assert [shown.cell(r, 7).value for r in rows] == [141660.02, 242, 0, 141902.02, 141902.02, 0]
    assert shown.cell(difference, 9).value == "OK" and "COGS as posted" in labels
    # No U/F in the reconciliation: 100.10 prorated → 0.00 (written off instead) is a signed −100.10.
    assert shown.cell(prorated, 8).value == -100.1 and shown.cell(top, 9).value == "Tie"
    # The chart's table and the ties refer to the total lines.
    top, rows = _rows(ws, "Bridge by component (totals)")
    assert [ws.cell(rows[-1], c).value for c in range(2, 7)] == [f"={x}{cogs_total}" for x in "IJKLH"]
    top, rows = _rows(ws, "Ties to the stored roll-forwards")
    cogs_ties = [r for r in rows if ws.cell(r, 1).value == "COGS before overhead true-up"]
    assert [ws.cell(r, 3).value for r in cogs_ties] == [f"={x}{cogs_total}" for x in "FGH"]
    assert all(ws.cell(r, 4).data_type == "n" and ws.cell(r, 5).value == f"=C{r}-D{r}" for r in rows)


def test_the_standards_sheet_derives_its_columns_by_formula(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    assert main(["standards", "--period", "2026-11", "--standards", str(STANDARDS), "--xlsx", str(book), "--json",
                 "--ledger", str(demo_ledger)]) == 0
    ws = load_workbook(book)["Standards"]
    shown = load_workbook(book, data_only=True)["Standards"]
    header, rows = _rows(ws, "Product", header=0)
    elements = rows[:[ws.cell(r, 1).value for r in rows].index("Total")]
    assert [ws.cell(header, c).value for c in (7, 8, 9, 21)] == ["Standard", "Cost added (overhead: applied)",
                                                                 "Variance", "Components add up"]
    assert len(elements) == 24
    for r in elements:
        # Standard cost per EU and the prices are rates: two places at least (118.00), up to four.
        assert {ws.cell(r, c).number_format for c in (6, 13, 14) if ws.cell(r, c).value is not None} == \
            {"#,##0.00##"}, r
        assert ws.cell(r, 9).value == f"=H{r}-G{r}"
        assert ws.cell(r, 10).value == f'=IF(ROUND(I{r},2)>0,"U",IF(ROUND(I{r},2)<0,"F",""))'
        # Standard = EU × standard cost per EU, rounded, and what the report's figure differs by (V).
        assert ws.cell(r, 7).value == f"=ROUND(E{r}*F{r},2)+V{r}" and ws.cell(r, 22).data_type == "n"
        if ws.cell(r, 15).value is not None:
            assert ws.cell(r, 21).value.startswith(f"=IF(ROUND(O{r}+Q{r}") and shown.cell(r, 21).value == "OK"
    total = elements[-1] + 1
    assert ws.cell(total, 8).value == f"=SUM(H{elements[0]}:H{elements[-1]})"
    assert shown.cell(total, 8).value == 148568
    # Finding: cost added holds overhead as applied; the under-applied 242.00 makes cost incurred.
    assert ws.cell(total + 1, 1).value.startswith("Overhead under(+)/over(−)-applied")
    assert shown.cell(total + 1, 8).value == 242 and shown.cell(total + 2, 8).value == 148810
    assert ws.cell(total + 2, 8).value == f"=H{total}+H{total + 1}"
    top, stages = _rows(ws, "Overhead applied against incurred, by stage (all products)")
    by_stage = {shown.cell(r, 1).value: (shown.cell(r, 5).value, shown.cell(r, 6).value) for r in stages[:-1]}
    assert by_stage == {"Assembly": (370, "U"), "Testing": (-170, "F"), "Packaging": (42, "U")}
    assert all(ws.cell(r, 5).value == f"=C{r}-D{r}" for r in stages[:-1])
    # The stage analyses: total = incurred − standard; the products' lines and actual − applied add up to it.
    rows = [r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "Assembly" and ws.cell(r, 8).value]
    names = {ws.cell(r, 8).value: r for r in rows}
    t, own = names["total"], names["not by product: actual_less_applied"]
    assert ws.cell(t, 9).value == f"=E{t}-G{t}" and shown.cell(t, 9).value == 895.6
    assert ws.cell(own, 9).value == f"=E{own}-F{own}" and shown.cell(own, 9).value == 370
    assert ws.cell(own, 11).value == f'=IF(ROUND(I{own - 3}+I{own - 2}+I{own - 1}+I{own}-I{t},2)=0,"OK","DIFFERENCE")'
    # The stage's SH, AH, applied and standard, and the products' lines, add up its products'
    # overhead lines in the table above.
    overhead = [r for r in elements if (ws.cell(r, 2).value, ws.cell(r, 3).value) == ("Assembly", "overhead")]
    listed = ",".join(f"{{}}{r}" for r in overhead)
    assert [ws.cell(t, c).value for c in (3, 4, 6, 7)] == ["=SUM(" + listed.format(*x * len(overhead)) + ")"
                                                           for x in "LKHG"]
    assert shown.cell(t, 7).value == 23504.4 and shown.cell(t, 4).value == 1305.8
    assert ws.cell(header, 19).value == "Fixed volume efficiency (overhead)"
    fixed = names["products: fixed_volume_efficiency"]
    assert ws.cell(fixed, 9).value == "=SUM(" + listed.format(*"S" * len(overhead)) + ")"
    assert shown.cell(fixed, 9).value == 306.6 and "products: production_volume" not in names
    assert shown.cell(own, 11).value == shown.cell(t, 11).value == "OK"
    # WIP at standard: to account for and accounted for are sums, checked against each other.
    top, wip = _rows(ws, "WIP at standard (memo)")
    for r in wip:
        # Accounted for: completed + ending (counted) + spoiled − count difference (counted − book).
        assert (ws.cell(r, 6).value, ws.cell(r, 11).value) == (f"=D{r}+E{r}", f"=G{r}+H{r}+J{r}-I{r}")
        assert shown.cell(r, 12).value == "OK"


def test_the_flow_sheet_derives_its_columns_by_formula(demo_ledger, tmp_path):
    book = tmp_path / "close.xlsx"
    assert main(["flow", "--period", "2026-11", "--orders", str(ORDERS), "--horizon-days", "7", "--xlsx", str(book),
                 "--json", "--ledger", str(demo_ledger)]) == 0
    ws = load_workbook(book)["Flow"]
    shown = load_workbook(book, data_only=True)["Flow"]
    assert (ws["A2"].value, ws["B2"].value) == ("Days in the period", 30)
    assembly = next(r for r in range(4, 8) if ws.cell(r, 1).value == "Assembly")
    r = assembly
    assert [ws.cell(r, c).value for c in (3, 6)] == [f"=ROUND(B{r}/$B$2,2)", f"=ROUND((D{r}+E{r})/2,2)"]
    assert [shown.cell(r, c).value for c in (2, 3, 4, 5, 6, 7)] == [647, 21.57, 49, 62, 55.5, 2.57]
    # WIP growth, (62 − 49) ÷ 49 = 0.265, shown as a percentage to one place (26.5%).
    assert (shown.cell(r, 8).value, ws.cell(r, 8).number_format) == (0.265, "0.0%")
    assert ws.cell(r, 8).value == f'=IF(D{r}=0,"",ROUND((E{r}-D{r})/D{r},3))'
    # The trend compares the first and the last point of the cycle-time trend below; this
    # period's point is the cycle time above.
    top, trend = _rows(ws, "Cycle time trend (days)")
    point = next(t for t in trend if ws.cell(t, 1).value == "Assembly")
    assert [ws.cell(top, c).value for c in (2, 3)] == ["2026-10", "2026-11"] and ws.cell(point, 3).value == f"=G{r}"
    assert ws.cell(r, 9).value == (f'=IF(C{point}="","n/a",IF(N(B{point})=0,IF(C{point}>0,"rising","flat"),'
                                   f'IF(ROUND(C{point}-B{point}-0.05*B{point},6)>0,"rising",'
                                   f'IF(ROUND(C{point}-B{point}+0.05*B{point},6)<0,"falling","flat"))))')
    assert shown.cell(r, 9).value == "flat"
    top, cover = _rows(ws, "Finished-goods weeks of cover (target 4–8 weeks)")
    espresso = next(r for r in cover if ws.cell(r, 1).value == "Espresso Classic")
    r = espresso
    assert ws.cell(r, 6).value == f'=IF(C{r}=0,"",ROUND(B{r}*D{r}/(7*C{r}),2))'
    assert [shown.cell(r, c).value for c in (2, 3, 4, 5, 6, 7, 8)] == [48, 570, 61, 65.41, 0.73, 70.7, 1.81]


def test_a_text_that_looks_like_a_formula_stays_text(tmp_path):
    from costing.variance._xlsx import STANDARDS as SHEET
    from costing.variance._xlsx import write_sheets
    from costing.variance import StandardsReport, Variance

    zero = Decimal("0.00")
    report = StandardsReport(period="2026-11", close_no=1, currency="USD", method="fifo", elements=(), overhead=(),
                             at_standard=(), standard_cost=zero, cost_added=zero,
                             total=Variance(name="total", amount=zero, label=""), overhead_applied=(),
                             under_over_applied=Variance(name="under_over_applied", amount=zero, label=""),
                             cost_incurred=zero, total_incurred=Variance(name="total", amount=zero, label=""),
                             notes=("=SUM(A1:A2) is a note",))
    book = tmp_path / "s.xlsx"
    write_sheets(book, standards=report)
    ws = load_workbook(book)[SHEET]
    note = next(c for row in ws.iter_rows() for c in row if c.value == "=SUM(A1:A2) is a note")
    assert note.data_type == "s"
