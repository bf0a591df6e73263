"""Close workbooks: the template, reading tables by name and header, the same close as the close
file, results written back as formulas with the engine's values, re-closing, the second month."""

from __future__ import annotations

import io
import re
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from costing.cli import main
from costing.close_service import CloseRefused, close_period
from costing.ledger import Ledger
from costing.workbook import (FakeSource, Formula, locate_issues, read_close_workbook, read_tables,
                              write_close_results)
from costing.workbook._cli import init_workbook
from costing.workbook._schema import TABLES
from costing.workbook._template import (TEMPLATE_PATH, build_template, fill_tables, save_reproducibly,
                                        tables_from_close_data)
from tests.demo_data import demo
from tests.xlsx_cache import cache_values

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "examples" / "demo"


def journals_json(outcome) -> str:
    return outcome.journals.model_dump_json()


@pytest.fixture
def book(tmp_path) -> Path:
    return init_workbook(tmp_path / "demo.xlsx", demo("2026-10"))


def enter_month(path: Path, data: dict) -> None:
    """What the accountant does for the next month: new figures in the same tables."""
    wb = openpyxl.load_workbook(path)
    fill_tables(wb, tables_from_close_data(data))
    wb.save(path)


# ---- the template --------------------------------------------------------------------------------

def test_the_template_is_checked_in_and_built_reproducibly(tmp_path):
    a, b = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    save_reproducibly(build_template(), a)
    save_reproducibly(build_template(), b)
    assert a.read_bytes() == b.read_bytes()
    assert TEMPLATE_PATH.exists(), "run: python -m costing.workbook.build_template"
    checked_in = openpyxl.load_workbook(TEMPLATE_PATH)
    fresh = openpyxl.load_workbook(a)
    for wb in (checked_in, fresh):
        assert wb.sheetnames[0] == "Instructions"
        tables = {t.displayName: (ws.title, [c.value for c in ws[t.ref.split(":")[0]:t.ref.split(":")[1]][0]])
                  for ws in wb.worksheets for t in ws.tables.values()}
        assert tables == {t.name: (t.sheet, [c.header for c in t.columns]) for t in TABLES}


def test_the_template_has_dropdowns_formats_and_frozen_headers():
    wb = openpyxl.load_workbook(TEMPLATE_PATH)
    production = wb["Production"]
    assert production.freeze_panes == "A4"
    lists = [dv.formula1 for ws in wb.worksheets for dv in ws.data_validations.dataValidation if dv.type == "list"]
    assert '"fifo,weighted_average"' in lists  # method
    assert '"material,labour,overhead,conversion"' in lists  # element kind
    assert '"start,end,evenly"' in lists  # addition point
    assert '"labour_hours,machine_hours,direct_labour_cost,units"' in lists  # overhead driver
    ranges = {(dv.type, dv.operator, dv.formula1, dv.formula2) for dv in production.data_validations.dataValidation}
    assert ("decimal", "between", "0", "1") in ranges  # completion
    assert ("decimal", "greaterThanOrEqual", "0", None) in ranges  # units
    assert production["G4"].number_format == "0.0%"


# ---- reading -------------------------------------------------------------------------------------

def test_workbook_path_and_close_file_path_give_identical_journals(book, tmp_path):
    data, issues = read_close_workbook(book)
    assert issues == []
    with Ledger(tmp_path / "file.db") as a, Ledger(tmp_path / "book.db") as b:
        from_file = close_period(demo("2026-10"), a, user="t")
        from_book = close_period(data, b, user="t")
    assert journals_json(from_file) == journals_json(from_book)
    assert from_file.rollforward.model_dump_json() == from_book.rollforward.model_dump_json()


def test_columns_are_found_by_header_not_position_and_rows_may_be_added():
    header = ["Units shipped", "Notes", "Product"]  # reordered, with a column of the user's own
    source = FakeSource({"Shipments": ("Shipments", header, [[270, "ok", "Espresso"], [Decimal("5"), None, "Drip"]])})
    result = read_tables(source)
    assert [(r.get("product"), r.get("units")) for r in result.rows["Shipments"]] == [("Espresso", 270), ("Drip", 5)]
    assert result.rows["Shipments"][1].cells["units"].ref == "Shipments!A3"


def test_a_formula_cell_uses_its_cached_value_and_one_without_is_a_located_error():
    source = FakeSource({"Shipments": ("Shipments", ["Product", "Units shipped"],
                                       [["Espresso", Formula("=B9*2", cached=270)], ["Drip", Formula("=B10*2")]])})
    result = read_tables(source)
    assert result.rows["Shipments"][0].get("units") == 270
    problems = {(i.code, i.path) for i in result.issues}
    assert ("FORMULA_NOT_CALCULATED", "Shipments!B3") in problems


def test_numbers_typed_as_text_follow_the_workbook_locale(book):
    wb = openpyxl.load_workbook(book)
    settings = wb["Settings"]
    for row in settings.iter_rows(min_row=4):
        if row[0].value == "Locale":
            row[1].value = "de_DE"
    costs = wb["Costs"]
    costs["D4"] = "36.000,00"  # Espresso Classic / Assembly / materials, typed as text in de_DE
    wb.save(book)
    data, issues = read_close_workbook(book)
    assert issues == []
    assert data["products"][0]["stages"][0]["added_costs"]["materials"] == Decimal("36000.00")
    costs["D4"] = "36,000.00"  # en_US text in a de_DE workbook: refused, never misread
    wb.save(book)
    _, issues = read_close_workbook(book)
    assert [(i.code, i.path) for i in issues] == [("NOT_A_NUMBER", "Costs!D4")]
    assert "not a number in de_DE" in issues[0].message


def test_the_closes_own_problems_are_located_to_cells(book, tmp_path, capsys):
    wb = openpyxl.load_workbook(book)
    wb["Production"]["E5"] = 999  # Espresso Classic / Testing completed: the unit flow no longer balances
    wb.save(book)
    before = book.read_bytes()
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "Production!B5: Testing: units to account for" in err and "[UNIT_FLOW]" in err
    assert book.read_bytes() == before


# ---- closing and writing results -----------------------------------------------------------------

def test_close_writes_formula_results_with_engine_values_and_keeps_inputs(book, capsys):
    inputs_before = _input_values(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "Recorded in" in out and "demo.wip.db" in out
    wb = openpyxl.load_workbook(book)
    for name in ("Cost Report", "Roll-forward", "Journal", "Finished Goods & COGS", "Overhead", "Checks", "Summary"):
        assert name in wb.sheetnames
    assert _input_values(book) == inputs_before
    values = openpyxl.load_workbook(book, data_only=True)
    checks = values["Checks"]
    # Every check and every row of the blocks below them (titles and column headers aside).
    results = [checks.cell(r, 5).value for r in range(5, checks.max_row + 1)
               if checks.cell(r, 1).value and checks.cell(r, 5).value not in (None, "Result")]
    assert results and all(v == "OK" for v in results)
    # Every formula carries the engine's value as its cached result.
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    assert values[ws.title][cell.coordinate].value is not None, (ws.title, cell.coordinate)
    assert len(wb["Summary"]._charts) == 2


def test_reclosing_replaces_the_result_sheets(book, tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        data, _ = read_close_workbook(book)
        first = close_period(data, ledger, user="t")
        write_close_results(book, first)
        sheets = openpyxl.load_workbook(book).sheetnames
        from costing.close_service import reopen_period

        reopen_period(ledger, "2026-10", "late invoice", user="t")
        second = close_period(data, ledger, user="t")
        write_close_results(book, second)
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == sheets
    journal = wb["Journal"]
    assert journal["A5"].value.startswith("WIP2-2026-10-")


def test_results_are_not_written_if_the_workbook_changed_after_the_close(book, tmp_path):
    from costing.workbook._results import WorkbookChanged

    with Ledger(tmp_path / "l.db") as ledger:
        data, _ = read_close_workbook(book)
        outcome = close_period(data, ledger, user="t")
    enter_month(book, {**demo("2026-10"), "company": "Other Ltd"})
    before = book.read_bytes()
    with pytest.raises(WorkbookChanged):
        write_close_results(book, outcome)
    assert book.read_bytes() == before


def test_the_second_demo_month_closes_from_the_same_workbook(book):
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    enter_month(book, demo("2026-11"))
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        closed = ledger.current_close("2026-11")
        assert closed is not None
        file_outcome_journals = closed.journals
    with Ledger(book.parent / "file.db") as ledger:
        close_period(demo("2026-10"), ledger, user="t")
        nov = close_period(demo("2026-11"), ledger, user="t")
    assert [j.model_dump() for j in file_outcome_journals.journals] == [j.model_dump() for j in nov.journals.journals]
    values = openpyxl.load_workbook(book, data_only=True)
    assert values["Journal"]["A5"].value == "WIP-2026-11-001"
    # Espresso Classic's Testing: 24 counted of 25 at 5,132.26 is 205.2904 short, rounded once to
    # 205.29 and split by largest remainder; the formula's ROUND per element gives 188.64 + 9.33 +
    # 7.31 = 205.28, and overhead's rounding adjustment cell holds the missing cent.
    rows = _table(openpyxl.load_workbook(book)["Roll-forward"], values["Roll-forward"], 4)
    count = {row["Element"][0]: row for row in rows
             if (row["Product"][0], row["Stage"][0]) == ("Espresso Classic", "Testing")}
    assert {e: _amount(row["Count adjustment"]) for e, row in count.items()} == {
        "transferred_in": Decimal("-188.64"), "labour": Decimal("-9.33"), "overhead": Decimal("-7.32")}
    assert {e: _amount(row["Rounding adj. (count)"]) for e, row in count.items()} == {
        "transferred_in": 0, "labour": 0, "overhead": Decimal("-0.01")}
    assert all(row["Count adjustment"][0].startswith("=IF(") for row in count.values())


def test_every_posted_journal_line_is_traced_to_the_result_sheets(book):
    """Each line of the Journal sheet has a formula beside it that recomputes the line from the
    Roll-forward, Cost Report, Overhead and Finished Goods sheets (LibreOffice recalculates them in
    test_workbook_libreoffice); Checks adds up what does not trace."""
    for month in ("2026-10", "2026-11"):
        if month == "2026-11":
            enter_month(book, demo(month))
        assert main(["close", str(book), "--period", month]) == 0
        formulas = openpyxl.load_workbook(book)["Journal"]
        values = openpyxl.load_workbook(book, data_only=True)
        lines = [row for row in formulas.iter_rows(min_row=5, max_col=10) if row[0].value]
        assert lines
        for journal, *_, debit, credit, memo, traced, untraced in lines:
            assert str(traced.value).startswith("=") and str(untraced.value).startswith("="), memo.value
            posted = Decimal(str(debit.value or 0)) - Decimal(str(credit.value or 0))
            cached = values["Journal"][traced.coordinate].value
            assert Decimal(str(cached)) == posted, (journal.value, memo.value)
        check = next(row for row in values["Checks"].iter_rows(values_only=True)
                     if str(row[0]).startswith("Journal lines trace"))
        assert f"({len(lines)} of {len(lines)} posted lines trace;" in check[0]
        label = next(c for c in openpyxl.load_workbook(book)["Checks"]["A"]
                     if str(c.value).startswith('="Journal lines'))
        assert "COUNTIF(Journal!J5:J" in label.value  # the count is live
        assert check[3] == 0 and check[4] == "OK"


def test_overhead_proration_is_recomputed_from_the_engines_weights(book):
    """Each prorated amount is ROUND(difference x weight / total weight) plus its rounding adjustment;
    only the weights (this month's overhead in each place) are the engine's values."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    formulas = openpyxl.load_workbook(book)["Overhead"]
    values = openpyxl.load_workbook(book, data_only=True)["Overhead"]
    header = next(r for r in range(1, formulas.max_row + 1) if formulas.cell(r, 1).value == "Prorated to")
    total = next(r for r in range(header, formulas.max_row + 1) if formulas.cell(r, 1).value == "Total prorated")
    assert total > header + 5
    for r in range(header + 1, total):
        weight, share, amount = (formulas.cell(r, c).value for c in (5, 6, 8))
        assert isinstance(weight, (int, float)) and weight > 0
        # The share of its own pool (the weights of the stage in column I), times that pool's difference.
        assert share.startswith(f"=E{r}/SUMPRODUCT(EXACT(") and f",I{r})" in share
        assert amount.startswith("=ROUND(ROUND(G") and amount.endswith(f"+G{r}")
    prorated = sum(Decimal(str(values.cell(r, 8).value)) for r in range(header + 1, total))
    pools = {row[0]: row[6] for row in values.iter_rows(values_only=True) if row[7] == "prorate"}
    assert set(pools) == {"Assembly", "Testing"}  # Packaging's 33.20 is below materiality: written off
    assert prorated == Decimal(str(values.cell(total, 8).value)) == sum(Decimal(str(v)) for v in pools.values())


# ---- the roll-forward: transfers split, subtotals by WIP account tied to the journals -------------

def one_wip_account_for_testing_and_packaging(data: dict) -> dict:
    """The demo with Testing and Packaging posting to one WIP account (1320) and Drip Home finished
    after Testing: its Testing completes to finished goods, the others' Testing transfers on."""
    data["accounts"]["wip"]["Packaging"] = dict(data["accounts"]["wip"]["Testing"])
    drip = next(p for p in data["products"] if p["name"] == "Drip Home")
    drip["stages"] = [s for s in drip["stages"] if s["name"] != "Packaging"]
    return data


def _table(formulas, values, header_row: int) -> list[dict]:
    """The rows under ``header_row`` down to the first blank column A, each as title -> (formula or
    value as written, cached value), plus "row"."""
    titles = {c.column: c.value for c in formulas[header_row] if c.value}
    rows, r = [], header_row + 1
    while formulas.cell(r, 1).value is not None:
        row = {title: (formulas.cell(r, c).value, values.cell(r, c).value) for c, title in titles.items()}
        rows.append({**row, "row": r})
        r += 1
    return rows


def _amount(cell) -> Decimal:
    return Decimal(str(cell[1] or 0))


ADDITIONS = ("Materials", "Labour", "Overhead", "Conversion", "Transferred in")
DEDUCTIONS = ("Transferred out to the next stage", "Completed to finished goods", "Abnormal loss + disposal value")
ADJUSTMENTS = ("Count adjustment", "Overhead proration")


@pytest.fixture
def closed_variant(tmp_path) -> Path:
    book = init_workbook(tmp_path / "variant.xlsx", one_wip_account_for_testing_and_packaging(demo("2026-10")))
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    return book


def test_the_rollforward_splits_transfers_out_and_states_its_sign_convention(closed_variant):
    formulas = openpyxl.load_workbook(closed_variant)
    values = openpyxl.load_workbook(closed_variant, data_only=True)
    ws = formulas["Roll-forward"]
    assert ws["A2"].value.startswith("Sign convention: additions and deductions are shown as amounts, deductions "
                                     "subtracted; adjustments carry their sign (+ raises WIP, - lowers it).")
    assert "closing = opening + additions - deductions +/- adjustments" in ws["A2"].value
    letter = {c.value: c.column_letter for c in ws[4] if c.value}
    groups = {c.value: c.column_letter for c in ws[3] if c.value}
    assert groups == {"Additions (+)": letter["Materials"], "Deductions (-)": letter["Transferred out to the next stage"],
                      "Adjustments (+/-)": letter["Count adjustment"]}
    rows = _table(ws, values["Roll-forward"], 4)
    last_stage = {"Espresso Classic": "Packaging", "Barista Pro": "Packaging", "Drip Home": "Testing"}
    for row in rows:
        r, product, stage = row["row"], row["Product"][0], row["Stage"][0]
        to_next, to_fg = row["Transferred out to the next stage"][0], row["Completed to finished goods"][0]
        if stage == last_stage[product]:  # completes to finished goods
            assert to_next is None and to_fg.startswith("='Cost Report'!"), (product, stage)
            assert row["Next stage (blank: the product's last stage)"][0] is None
        else:
            assert to_fg is None and to_next.startswith("='Cost Report'!"), (product, stage)
        # closing = opening + additions - deductions + adjustments, as a formula and in value
        # (rounded to the cent: a spreadsheet adds cents as floats)
        assert row["Closing"][0] == ("=ROUND(" + "+".join(f"{letter[t]}{r}" for t in ("Opening",) + ADDITIONS)
                                     + "".join(f"-{letter[t]}{r}" for t in DEDUCTIONS)
                                     + "".join(f"+{letter[t]}{r}" for t in ADJUSTMENTS) + ",2)")
        assert all(_amount(row[t]) >= 0 for t in DEDUCTIONS)
        assert (_amount(row["Opening"]) + sum(_amount(row[t]) for t in ADDITIONS)
                - sum(_amount(row[t]) for t in DEDUCTIONS) + sum(_amount(row[t]) for t in ADJUSTMENTS)
                == _amount(row["Closing"]))
    # What the last stages completed is the Finished Goods sheet's completed total and the journal's.
    completed = sum(_amount(row["Completed to finished goods"]) for row in rows)
    to_next = sum(_amount(row["Transferred out to the next stage"]) for row in rows)
    assert completed and to_next == sum(_amount(row["Transferred in"]) for row in rows)
    journal = _table(formulas["Journal"], values["Journal"], 4)
    posted = [row for row in journal if row["Memo"][0] == "Completed units to finished goods"]
    assert [Decimal(str(row["Debit"][0])) for row in posted] == [completed]
    block = _table(ws, values["Roll-forward"], _block_header(ws))
    total = next(row for row in block if row["Account name"][0] == "Total WIP (every row)")
    per_fg = next(row for row in block if row["Account name"][0].startswith("Completed per Finished Goods"))
    difference = next(row for row in block if row["Account name"][0].startswith("Completed to finished goods"))
    assert _amount(total["Completed to finished goods"]) == _amount(per_fg["Completed to finished goods"]) == completed
    assert per_fg["Completed to finished goods"][0].startswith("='Finished Goods & COGS'!")
    assert difference["Completed to finished goods"] == (
        f"=ROUND({letter['Completed to finished goods']}{total['row']}-{letter['Completed to finished goods']}"
        f"{per_fg['row']},2)", 0)
    check = _check(values, "Roll-forward: completed to finished goods = completed on Finished Goods & COGS")
    assert check[1:] == (float(completed), float(completed), 0, "OK")


def _block_header(ws) -> int:
    return next(r for r in range(5, ws.max_row + 1) if ws.cell(r, 1).value == "Account name")


def _check(values, starts: str) -> tuple:
    return next(row for row in values["Checks"].iter_rows(min_row=5, values_only=True) if str(row[0]).startswith(starts))


def test_rollforward_subtotals_per_wip_account_tie_to_the_journal(closed_variant):
    """Stages sharing an account are one subtotal: opening, each movement and closing over the
    account's rows (exact matching, never SUMIFS patterns), its movement beside the net posted to it
    on the Journal sheet, and the difference; Checks counts the accounts that tie."""
    formulas = openpyxl.load_workbook(closed_variant)
    values = openpyxl.load_workbook(closed_variant, data_only=True)
    ws = formulas["Roll-forward"]
    rows = _table(ws, values["Roll-forward"], 4)
    block = {row["WIP account"][0]: row for row in _table(ws, values["Roll-forward"], _block_header(ws))
             if row["WIP account"][0]}
    assert {code: row["Stages"][0] for code, row in block.items()} == {"1310": "Assembly", "1320": "Testing, Packaging"}
    journal = _table(formulas["Journal"], values["Journal"], 4)
    for code, subtotal in block.items():
        mine = [row for row in rows if row["WIP account"][0] == code]
        for title in ("Opening",) + ADDITIONS + DEDUCTIONS + ADJUSTMENTS + ("Closing",):
            formula, cached = subtotal[title]
            assert formula.startswith("=ROUND(SUMPRODUCT(EXACT(") and "SUMIF" not in formula.replace("SUMPRODUCT", "")
            assert Decimal(str(cached)) == sum(_amount(row[title]) for row in mine), (code, title)
        movement = _amount(subtotal["Closing"]) - _amount(subtotal["Opening"])
        posted = sum(_amount(row["Debit"]) - _amount(row["Credit"]) for row in journal if row["Account"][0] == code)
        assert _amount(subtotal["Movement: closing - opening"]) == movement == posted
        formula, cached = subtotal["Posted to the account (Journal: debits - credits)"]
        assert formula.startswith("=ROUND(SUMPRODUCT(EXACT(Journal!") and Decimal(str(cached)) == posted
        assert subtotal["Difference"][1] == 0
    check = _check(values, "Roll-forward subtotals tie to the journals for each WIP account")
    assert "(2 of 2 WIP accounts tie;" in check[0] and check[3:] == (0, "OK")
    name = next(c for c in formulas["Checks"]["A"] if str(c.value).startswith("=\"Roll-forward subtotals"))
    assert "COUNTIF('Roll-forward'!" in name.value  # the count is live, not the text of the close
    ties = [row[0] for row in values["Checks"].iter_rows(min_row=5, values_only=True)
            if str(row[0]).startswith("Roll-forward ties to the journals: 13")]
    assert ties == ["Roll-forward ties to the journals: 1310 WIP - Assembly",
                    "Roll-forward ties to the journals: 1320 WIP - Testing"]  # one row per account


# ---- the tie to the general ledger ---------------------------------------------------------------

def type_general_ledger(wb, rows: list[tuple]) -> list[tuple[str, str]]:
    """Type (code, balance) rows into the GeneralLedger table (Accounts sheet) from its first data
    row, the table resized to them; returns each row's (code cell, balance cell)."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    ws = wb["Accounts"]
    table = ws.tables["GeneralLedger"]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    for r in range(min_row + 1, max_row + 1):
        for c in range(min_col, max_col + 1):
            ws.cell(r, c).value = None
    cells = []
    for k, (code, balance) in enumerate(rows):
        r = min_row + 1 + k
        ws.cell(r, min_col).value, ws.cell(r, min_col + 1).value = code, balance
        cells.append((f"Accounts!{ws.cell(r, min_col).coordinate}", f"Accounts!{ws.cell(r, min_col + 1).coordinate}"))
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{min_row + max(1, len(rows))}"
    table.autoFilter.ref = table.ref
    return cells


def _errors(err: str) -> list[tuple[str, str]]:
    """(code, where) of each located error line ``error: book.xlsx: Accounts!G5: ... [CODE]``."""
    import re

    return [(m.group(2), m.group(1)) for m in re.finditer(r"^error: \S+: (\S+): .*\[(\w+)\]$", err, re.M)]


@pytest.fixture
def demo_book(tmp_path, capsys) -> Path:
    """The workbook `wip init --demo` makes: October, its General Ledger table filled."""
    path = tmp_path / "demo.xlsx"
    assert main(["init", str(path), "--demo"]) == 0
    capsys.readouterr()
    return path


def test_a_blank_general_ledger_table_means_no_tie_and_an_old_workbook_without_one_reads(book, capsys):
    data, issues = read_close_workbook(book)
    assert issues == [] and "general_ledger" not in data  # the data (and its hash) as before the table
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    checks = openpyxl.load_workbook(book, data_only=True)["Checks"]
    names = [str(row[0]) for row in checks.iter_rows(min_row=5, values_only=True) if row[0]]
    assert names and not any("general ledger" in name.lower() for name in names)
    wb = openpyxl.load_workbook(book)
    del wb["Accounts"].tables["GeneralLedger"]  # a workbook made from the template before the table
    wb.save(book)
    data, issues = read_close_workbook(book)
    assert issues == [] and "general_ledger" not in data


def test_general_ledger_codes_are_text_and_balances_numbers_as_the_cell_shows_them():
    """A code typed as a number (openpyxl gives 1310, a live Excel 1320.0) is the code "1310"; a
    balance is read once at Excel's 15 digits, may be negative (a credit), or text in the locale."""
    rows = [[1310, 10560], [1320.0, 3170.1 + 0.2], [" 1330 ", "-1,234.50"], [123456789012345678.0, Decimal("0")],
            ["a1", -12.5], ["A1", 7]]
    source = FakeSource({"GeneralLedger": ("Accounts", ["GL balance", "Account code"], [r[::-1] for r in rows])},
                        origins={"GeneralLedger": "F3"})
    result = read_tables(source)
    read = [(r.get("code"), r.get("balance")) for r in result.rows["GeneralLedger"]]
    assert read == [("1310", Decimal(10560)), ("1320", Decimal("3170.3")), ("1330", Decimal("-1234.50")),
                    ("123456789012346000", Decimal(0)), ("a1", Decimal("-12.5")), ("A1", Decimal(7))]
    # Codes are matched exactly, as the close keys accounts: "a1" and "A1" are two accounts.
    assert not [i for i in result.issues if i.path.startswith("Accounts!")]
    assert result.cells["general_ledger.balances.1320"].ref == "Accounts!F5"  # the balance cell (first column here)


def test_codes_typed_as_numbers_tie_the_demo_to_the_general_ledger(demo_book, tmp_path):
    wb = openpyxl.load_workbook(demo_book)
    balances = {str(code): balance for code, balance in ((r[0].value, r[1].value) for r in wb["Accounts"]["F4:G8"])}
    assert set(balances) == {"1310", "1320", "1330", "1400", "5900"}
    # October opens from the workbook's Opening tables; the GL before its close agrees with them and
    # holds October's actual overhead in overhead control.
    assert balances["5900"] == 22500 + 7300 + 2000 and balances["1330"] == 0
    type_general_ledger(wb, [(int(code), balance) for code, balance in balances.items()])
    wb.save(demo_book)
    data, issues = read_close_workbook(demo_book)
    assert issues == [] and set(data["general_ledger"]["balances"]) == set(balances)
    with Ledger(tmp_path / "l.db") as ledger:
        ties = close_period(data, ledger, user="t").result.general_ledger
    assert {t.account: (t.ok, t.holds) for t in ties} == {
        "1310": (True, "opening WIP"), "1320": (True, "opening WIP"), "1330": (True, "opening WIP"),
        "1400": (True, "opening finished goods"), "5900": (True, "actual overhead this month")}


def test_general_ledger_problems_are_located_to_the_tables_cells(book, capsys):
    wb = openpyxl.load_workbook(book)
    cells = type_general_ledger(wb, [(1310, 10560), ("1210", 5), (1320, 3170.005), ("1400", None), ("1310 ", 1)])
    wb.save(book)
    before = book.read_bytes()
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    # The table's own problems first: a blank balance, a code given twice (" 1310 " is 1310); then,
    # as neither holds back anything but its own balance's tie, the close's (review, 2026-11-25).
    assert _errors(err) == [("MISSING_VALUE", cells[3][1]), ("DUPLICATE_ROW", cells[4][0]),
                            ("UNKNOWN_ACCOUNT", cells[1][0]), ("AMOUNT_PRECISION", cells[2][1])]
    assert f"account 1310 is already in row {cells[0][0]}" in err
    assert book.read_bytes() == before
    wb = openpyxl.load_workbook(book)
    cells = type_general_ledger(wb, [(1310, 10560), ("1210", 5), (1320, 3170.005)])
    wb.save(book)
    before = book.read_bytes()
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    # Then the close's: a code it cannot tie at the row's code, too many places at its balance.
    assert _errors(err) == [("UNKNOWN_ACCOUNT", cells[1][0]), ("AMOUNT_PRECISION", cells[2][1])]
    assert "'1210' is not an account this close can tie to the general ledger" in err
    assert book.read_bytes() == before
    assert not book.with_suffix(".wip.db").exists() or Ledger(book.with_suffix(".wip.db")).events() == []


def test_a_general_ledger_that_does_not_tie_refuses_the_close_and_writes_nothing(demo_book, capsys):
    wb = openpyxl.load_workbook(demo_book)
    ws = wb["Accounts"]
    row = next(r for r in ws["F4:G8"] if r[0].value == "1320")
    row[1].value = 3170 - 46.83  # what the GL shows: a manual journal posted to WIP - Testing
    wb.save(demo_book)
    before = demo_book.read_bytes()
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == [("GL_DOES_NOT_TIE", f"Accounts!{row[1].coordinate}")]
    assert ("1320 WIP - Testing: the general ledger shows 3123.17 before this close; the WIP ledger's opening WIP "
            "is 3170.00; difference (GL − WIP ledger) -46.83") in err
    assert err.rstrip().endswith("nothing was written.")
    assert demo_book.read_bytes() == before
    ledger = demo_book.with_suffix(".wip.db")
    assert not ledger.exists() or Ledger(ledger).events() == []


@pytest.mark.parametrize("written", ["espresso classic", "Espresso  Classic", "ESPRESSO   classic"])
def test_a_product_written_in_other_case_or_spacing_is_one_inconsistent_name_at_its_row(demo_book, capsys, written):
    """The close keys products upper/lower case and spacing aside (``product_key``): a second
    spelling in Production is one problem at its name, not a product the other tables do not know."""
    wb = openpyxl.load_workbook(demo_book)
    assert wb["Production"]["A4"].value == wb["Production"]["A5"].value == "Espresso Classic"
    wb["Production"]["A5"] = written
    wb.save(demo_book)
    before = demo_book.read_bytes()
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == [("INCONSISTENT_NAME", "Production!A5")]
    assert (f"product {written!r} differs from 'Espresso Classic' (Production!A4) only in upper/lower case or "
            "spacing; write it the same way in every row") in err
    assert demo_book.read_bytes() == before


def remove_wip_account(wb, stage: str) -> str:
    """Delete the stage's wip row from the Accounts table (the rows below move up, the table shrinks);
    returns the table's range as it is now."""
    from openpyxl.utils.cell import get_column_letter, range_boundaries

    ws = wb["Accounts"]
    table = ws.tables["Accounts"]
    min_col, min_row, max_col, max_row = range_boundaries(table.ref)
    rows = [[ws.cell(r, c).value for c in range(min_col, max_col + 1)] for r in range(min_row + 1, max_row + 1)]
    kept = [row for row in rows if not (row[0] == "wip" and row[1] == stage)]
    assert len(kept) == len(rows) - 1
    for k in range(len(rows)):
        for c in range(min_col, max_col + 1):
            ws.cell(min_row + 1 + k, c).value = kept[k][c - min_col] if k < len(kept) else None
    table.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{max_row - 1}"
    table.autoFilter.ref = table.ref
    return f"Accounts!{table.ref}"


def test_a_stage_without_a_wip_account_is_located_to_the_accounts_table(demo_book, capsys):
    """The close reports it at ``accounts.wip``; in a workbook it is the Accounts table, where the row
    is added, said in the workbook's terms (no data paths)."""
    wb = openpyxl.load_workbook(demo_book)
    accounts = remove_wip_account(wb, "Assembly")
    wb.save(demo_book)
    before = demo_book.read_bytes()
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert _errors(err) == [("UNKNOWN_ACCOUNT", accounts)]
    assert ("no WIP account for stage 'Assembly' ('Stages & elements'!B4): Espresso Classic, Barista Pro and Drip "
            "Home are produced in it (Production!B4, Production!B7, Production!B10), and 'Overhead Rates'!A4 gives "
            "its overhead rate; every stage needs a WIP account, and the Accounts table has wip rows for Testing and "
            "Packaging only. Add a row to the Accounts table: Role wip, Stage Assembly, and the Code and Name of its "
            "WIP account [UNKNOWN_ACCOUNT]") in err
    assert "accounts.wip" not in err and "products[" not in err and "overhead.Assembly" not in err
    assert demo_book.read_bytes() == before
    ledger = demo_book.with_suffix(".wip.db")
    assert not ledger.exists() or Ledger(ledger).events() == []


def test_each_stage_without_a_wip_account_is_said_once(book):
    wb = openpyxl.load_workbook(book)
    remove_wip_account(wb, "Assembly")
    accounts = remove_wip_account(wb, "Packaging")
    wb.save(book)
    data, issues = read_close_workbook(book)
    assert issues == []
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    located = locate_issues(book, refused.value.issues)
    assert [(i.code, i.path) for i in located] == [("UNKNOWN_ACCOUNT", accounts)] * 2
    assert [i.message.split(" (")[0] for i in located] == ["no WIP account for stage 'Assembly'",
                                                          "no WIP account for stage 'Packaging'"]
    assert all("the Accounts table has wip rows for Testing only" in i.message for i in located)


def without_wip_accounts(tmp_path: Path) -> Path:
    """October's demo workbook with three stages of the Stages table that have no WIP account: Boxing,
    Drip Home's last stage (its elements apply overhead, and it has no overhead rate); Crating, Barista
    Pro's (no overhead element, no rate); and Polishing, which has an overhead rate and no products."""
    import copy

    data = copy.deepcopy(demo("2026-10"))
    products = {p["name"]: p for p in data["products"]}
    products["Drip Home"]["stages"][2]["name"] = "Boxing"
    crating = products["Barista Pro"]["stages"][2]
    crating["name"] = "Crating"
    del crating["elements"]["overhead"]
    data["overhead"]["Polishing"] = {"driver": "units", "rate": 1, "actual": 0}
    path = init_workbook(tmp_path / "stages.xlsx", data)
    tables = tables_from_close_data(data)
    tables["Stages"].append({"order": len(tables["Stages"]) + 1, "stage": "Polishing"})
    wb = openpyxl.load_workbook(path)
    fill_tables(wb, tables)
    wb.save(path)
    return path


def test_every_stage_without_a_wip_account_is_said_at_the_accounts_table_in_the_workbooks_terms(tmp_path, capsys):
    """The close says a stage one product uses without an overhead rate (maybe a misspelling, in a
    close file) at ``products[i].stages[j].name``, and a stage with an overhead rate but no products
    at ``overhead.<stage>``, both in close-file terms.  In a workbook each is a stage of the Stages
    table: said at the Accounts table, where the row is added, with the cells to look at, all at once."""
    book = without_wip_accounts(tmp_path)
    accounts = "Accounts!" + openpyxl.load_workbook(book)["Accounts"].tables["Accounts"].ref
    before = book.read_bytes()
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert sorted(_errors(err)) == [("UNKNOWN_ACCOUNT", accounts)] * 2 + [("UNKNOWN_STAGE", accounts)]
    stages = openpyxl.load_workbook(book)["Stages & elements"]
    cell = {row[1].value: f"'Stages & elements'!{row[1].coordinate}"
            for row in stages.iter_rows(min_row=4, max_col=2)}
    production = openpyxl.load_workbook(book)["Production"]
    row = {(r[0].value, r[1].value): f"Production!{r[1].coordinate}"
           for r in production.iter_rows(min_row=4, max_col=2)}
    rates = openpyxl.load_workbook(book)["Overhead Rates"]
    rate = next(f"'Overhead Rates'!{r[0].coordinate}" for r in rates.iter_rows(min_row=4, max_col=1)
                if r[0].value == "Polishing")
    have = "the Accounts table has wip rows for Assembly, Testing and Packaging only"
    assert (f"no WIP account for stage 'Boxing' ({cell['Boxing']}): Drip Home is produced in it "
            f"({row['Drip Home', 'Boxing']}); every stage needs a WIP account, and {have}. Add a row to the Accounts "
            "table: Role wip, Stage Boxing, and the Code and Name of its WIP account, and a row to the Overhead Rates "
            "table for Boxing (Driver, Rate, Actual): its elements include overhead; or, if Boxing misspells another "
            f"stage, correct it in {row['Drip Home', 'Boxing']} [UNKNOWN_ACCOUNT]") in err
    assert (f"no WIP account for stage 'Crating' ({cell['Crating']}): Barista Pro is produced in it "
            f"({row['Barista Pro', 'Crating']}); every stage needs a WIP account, and {have}. Add a row to the "
            "Accounts table: Role wip, Stage Crating, and the Code and Name of its WIP account; or, if Crating "
            f"misspells another stage, correct it in {row['Barista Pro', 'Crating']} [UNKNOWN_ACCOUNT]") in err
    assert (f"no WIP account for stage 'Polishing' ({cell['Polishing']}): no product is produced in it this month "
            f"(it has no Production rows), and {rate} gives its overhead rate; every stage needs a WIP "
            f"account, even one idle this month, and {have}. Add a row to the Accounts table: Role wip, Stage "
            "Polishing, and the Code and Name of its WIP account; or, if Polishing is no stage of the plant, delete "
            "its rows from the Stages and Overhead Rates tables [UNKNOWN_STAGE]") in err
    for close_file_terms in ("accounts.wip", "products[", "overhead.", "none of the plant's stages"):
        assert close_file_terms not in err
    assert book.read_bytes() == before


def _gl_block(formulas, values) -> dict[str, dict]:
    """The Checks sheet's tie to the general ledger: account code -> title -> (formula, value)."""
    ws = formulas["Checks"]
    header = next(r for r in range(5, ws.max_row + 1)
                  if ws.cell(r, 1).value == "Account (General Ledger table, Accounts sheet)")
    return {row["Account (General Ledger table, Accounts sheet)"][0].split()[0]: row
            for row in _table(ws, values["Checks"], header)}


def test_checks_show_the_tie_to_the_general_ledger_and_each_balance_after_posting(demo_book):
    """Both demo months: the GL balances (formulas on the General Ledger table's cells) against the
    WIP ledger as the result sheets lay it out, the difference, the net each account is posted this
    close per the Journal sheet, and the balance after posting — a WIP account's closing on the
    Roll-forward, finished goods' closing, overhead control cleared."""
    for month in ("2026-10", "2026-11"):
        if month == "2026-11":
            enter_month(demo_book, demo(month))  # November's file gives its GL balances
        assert main(["close", str(demo_book), "--period", month]) == 0
        formulas, values = openpyxl.load_workbook(demo_book), openpyxl.load_workbook(demo_book, data_only=True)
        typed = {r[0].value: r[1] for r in formulas["Accounts"]["F4:G8"]}
        block = _gl_block(formulas, values)
        assert set(block) == set(typed) == {"1310", "1320", "1330", "1400", "5900"}, month
        check = _check(values, "The general ledger ties to the WIP ledger before posting")
        assert check[0] == "The general ledger ties to the WIP ledger before posting (5 of 5 general-ledger " \
                           "balances tie; the tie to the general ledger below)"
        assert check[3:5] == (0, "OK")
        assert "COUNTIF(D" in formulas["Checks"]["A5"].value  # the first check, and its count is live
        rf, rf_values = formulas["Roll-forward"], values["Roll-forward"]
        subtotal = {row["WIP account"][0]: row for row in _table(rf, rf_values, _block_header(rf))
                    if row["WIP account"][0]}
        journal = _table(formulas["Journal"], values["Journal"], 4)
        fg = values["Finished Goods & COGS"]
        fg_total = next(r for r in range(5, fg.max_row + 1) if fg.cell(r, 1).value == "Total")
        overhead = formulas["Overhead"]
        oh_total = next(r for r in range(5, overhead.max_row + 1) if overhead.cell(r, 1).value == "Total")
        for code, row in block.items():
            gl, wip, difference = (row[t] for t in ("General ledger before this close", "Per the WIP ledger",
                                                    "Difference (GL - WIP ledger)"))
            assert gl == (f"=Accounts!{typed[code].coordinate}", typed[code].value), (month, code)
            assert difference[1] == 0 and row["Result"][1] == "OK"
            posted = sum(_amount(r["Debit"]) - _amount(r["Credit"]) for r in journal if r["Account"][0] == code)
            formula, net = row["Posted by this close (Journal: debits - credits)"]
            assert formula.startswith(f'=ROUND(SUMPRODUCT(EXACT(Journal!$D$5:$D$') and f',"{code}")' in formula
            assert _amount(row["Posted by this close (Journal: debits - credits)"]) == posted
            after = row["General ledger after posting"]
            assert after[0] == f"=ROUND(B{row['row']}+G{row['row']},2)"
            assert _amount(after) == _amount(gl) + posted, (month, code)
            if code in subtotal:  # a WIP account: its opening and closing on the Roll-forward's subtotal
                assert wip[0] == f"='Roll-forward'!E{subtotal[code]['row']}"
                assert _amount(wip) == _amount(subtotal[code]["Opening"])
                assert _amount(after) == _amount(subtotal[code]["Closing"])
                assert row["The WIP ledger's figure"][0].startswith("opening WIP")
            elif code == "1400":
                assert wip[0] == f"='Finished Goods & COGS'!C{fg_total}"
                assert _amount(wip) == _amount((None, fg.cell(fg_total, 3).value))
                assert _amount(after) == _amount((None, fg.cell(fg_total, 10).value))  # closing finished goods
            else:  # overhead control holds this month's actual overhead; the overhead journal clears it
                assert wip[0] == f"=Overhead!F{oh_total}" and _amount(after) == 0
    nov = demo("2026-11")["general_ledger"]["balances"]
    assert {code: _amount(row["General ledger before this close"]) for code, row in block.items()} == {
        code: Decimal(str(v)) for code, v in nov.items()}


def test_wip_init_creates_a_workbook_from_the_template(tmp_path, capsys):
    path = tmp_path / "new.xlsx"
    assert main(["init", str(path)]) == 0
    assert main(["init", str(path)]) == 2  # never overwrites by accident
    assert "exists" in capsys.readouterr().err
    assert main(["init", str(path), "--demo", "--force"]) == 0
    assert zipfile.is_zipfile(path)
    data, issues = read_close_workbook(path)
    assert issues == [] and data["period"] == "2026-10" and len(data["products"]) == 3


def _input_values(path: Path) -> dict:
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        for table in ws.tables.values():
            out[table.displayName] = (table.ref, [[c.value for c in row] for row in ws[table.ref]])
    return out


# ---- locale and currency -------------------------------------------------------------------------

@pytest.mark.parametrize("currency, locale, money, text", [
    ("EUR", "de_DE", '#,##0.00\\ "€";-#,##0.00\\ "€"', "22.680,00"),
    ("JPY", "ja_JP", '"￥"#,##0;-"￥"#,##0', "22,680"),
])
def test_formats_follow_the_workbooks_currency_and_locale(tmp_path, capsys, currency, locale, money, text):
    book = init_workbook(tmp_path / "book.xlsx", {**demo("2026-10"), "currency": currency, "locale": locale})
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert text in out  # the printed summary uses the workbook's locale unless --locale says otherwise
    wb = openpyxl.load_workbook(book)
    report = wb["Cost Report"]
    headers = {report.cell(4, c).value: c for c in range(1, report.max_column + 1)}
    assert report.cell(5, headers["Transferred out"]).number_format == money
    assert wb["Costs"]["D4"].number_format == money  # the input amounts too, from wip init
    values = openpyxl.load_workbook(book, data_only=True)["Cost Report"]
    amounts = [values.cell(r, headers["Transferred out"]).value for r in range(5, report.max_row + 1)]
    if currency == "JPY":  # amounts carry the currency's places: none for yen
        assert all(Decimal(str(a)) == Decimal(str(a)).quantize(Decimal(1)) for a in amounts)


def test_the_printed_summary_takes_locale_from_the_command_line(book, capsys):
    assert main(["close", str(book), "--period", "2026-10", "--locale", "de_DE"]) == 0
    assert "22.680,00" in capsys.readouterr().out


def test_a_sheet_of_the_users_own_is_never_replaced(book, capsys):
    wb = openpyxl.load_workbook(book)
    wb.create_sheet("Summary")["A1"] = "my notes"
    wb.save(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    assert "Summary (sheet): the workbook has its own sheet 'Summary'" in capsys.readouterr().err
    assert openpyxl.load_workbook(book)["Summary"]["A1"].value == "my notes"


def test_the_core_and_the_close_never_import_the_workbook_adapter():
    import ast

    import costing

    root = Path(costing.__file__).parent
    core = [root / "__init__.py", *root.glob("_*.py"), *(root / "close").rglob("*.py"), *(root / "ledger").rglob("*.py"),
            root / "close_service.py"]
    for path in core:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([node.module or ""] + [a.name for a in node.names]) if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not any("workbook" in n for n in names), f"{path.relative_to(root)} imports the workbook adapter"


def test_one_reader_interface_for_close_files_and_workbooks(book):
    from costing.workbook import CloseFileInput, CloseInput, WorkbookCloseInput, open_close_input

    file_input = open_close_input(DEMO / "close-2026-10.yaml")
    book_input = open_close_input(book)
    assert isinstance(file_input, CloseFileInput) and isinstance(book_input, WorkbookCloseInput)
    assert isinstance(file_input, CloseInput) and isinstance(book_input, CloseInput)
    (file_data, _), (book_data, _) = file_input.read(), book_input.read()
    assert [p["name"] for p in file_data["products"]] == [p["name"] for p in book_data["products"]]
    from costing import Issue

    issue = Issue("UNIT_FLOW", "products[0].stages[1].completed", "units do not balance")
    assert file_input.locate([issue]) == [issue]
    assert book_input.locate([issue])[0].path == "Production!E5"


def test_a_failure_while_writing_results_leaves_the_workbook_untouched(book, tmp_path, monkeypatch):
    from costing.workbook import _results, _sheets  # noqa: F401

    with Ledger(tmp_path / "l.db") as ledger:
        data, _ = read_close_workbook(book)
        outcome = close_period(data, ledger, user="t")
    before = book.read_bytes()

    def broken(ctx, ws):
        raise RuntimeError("disk full")

    monkeypatch.setattr(_results, "RESULT_SHEETS", [*_results.RESULT_SHEETS, _results.ResultSheet("Broken", broken)])
    with pytest.raises(RuntimeError):
        write_close_results(book, outcome)
    assert book.read_bytes() == before
    assert sorted(p.name for p in book.parent.iterdir() if p.name.startswith(".")) == []


def test_another_area_can_add_a_result_sheet(book, tmp_path, monkeypatch):
    from costing.workbook import _results, _sheets  # noqa: F401

    def variances(ctx, ws):
        ctx.title(ws, "Variances")
        ctx.put(ws, 5, 1, "=1+1", Decimal(2))

    monkeypatch.setattr(_results, "RESULT_SHEETS", list(_results.RESULT_SHEETS))
    _results.register_result_sheet("Variances", variances, after="Overhead")
    with Ledger(tmp_path / "l.db") as ledger:
        data, _ = read_close_workbook(book)
        write_close_results(book, close_period(data, ledger, user="t"))
    wb = openpyxl.load_workbook(book, data_only=True)
    assert wb.sheetnames.index("Variances") == wb.sheetnames.index("Overhead") + 1
    assert wb["Variances"]["A5"].value == 2


def test_a_fake_workbook_in_memory_closes_like_the_close_file(tmp_path):
    """The reader only sees a TableSource: tables from Python lists give the very same close."""
    from costing.workbook._schema import TABLE_BY_NAME

    rows = tables_from_close_data(demo("2026-10"))
    tables = {}
    for name, spec in TABLE_BY_NAME.items():
        keys = [c.key for c in reversed(spec.columns)]  # columns in another order than the template's
        tables[name] = (spec.sheet, [spec.column(k).header for k in keys], [[r.get(k) for k in keys] for r in rows[name]])
    result = read_tables(FakeSource(tables))
    assert result.issues == []
    with Ledger(tmp_path / "fake.db") as a, Ledger(tmp_path / "file.db") as b:
        assert journals_json(close_period(result.data, a, user="t")) == \
            journals_json(close_period(demo("2026-10"), b, user="t"))


def test_names_that_look_like_formulas_stay_text(book, capsys):
    """A product typed as '=Espresso (text in Excel) is a name: the result sheets show it as text,
    never as a formula (no injection, no crash)."""
    wb = openpyxl.load_workbook(book)
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value == "Espresso Classic":
                    cell.value = "=Espresso"
                    cell.data_type = "s"
    wb.save(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    result = openpyxl.load_workbook(book)
    names = [c for ws in (result["Cost Report"], result["Roll-forward"]) for row in ws.iter_rows() for c in row
             if c.value == "=Espresso"]
    assert names and all(c.data_type == "s" for c in names)


def test_no_result_cell_is_text_that_looks_like_a_formula(book):
    """Every formula the writers build carries the engine's value; one without would be written as
    text (the rule that keeps names like '=Deluxe' text), so none may appear in the demo's sheets."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    for name in ("Cost Report", "Roll-forward", "Journal", "Finished Goods & COGS", "Overhead", "Checks", "Summary"):
        for row in wb[name].iter_rows():
            for cell in row:
                assert not (cell.data_type == "s" and str(cell.value).startswith("=")), f"{name}!{cell.coordinate}"


def test_sheets_that_could_not_be_written_are_written_by_running_the_close_again(book, capsys, monkeypatch):
    """The workbook was open in Excel when the close finished: the close is recorded, the sheets
    are not.  The same command again writes them from the recorded close and posts nothing; with
    other inputs the period stays locked."""
    import costing.workbook as workbook_api

    real = workbook_api.write_close_results
    monkeypatch.setattr(workbook_api, "write_close_results", lambda *a, **k: (_ for _ in ()).throw(
        PermissionError("the file is open in another program")))
    assert main(["close", str(book), "--period", "2026-10"]) == 1
    assert "[RESULTS_NOT_WRITTEN]" in capsys.readouterr().err
    assert "Journal" not in openpyxl.load_workbook(book).sheetnames
    monkeypatch.setattr(workbook_api, "write_close_results", real)

    assert main(["close", str(book), "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert "already closed from these inputs (close #1" in out and "nothing posted" in out
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        assert [e.kind for e in ledger.events()] == ["close"]
        recorded = ledger.current_close("2026-10").journals
    values = openpyxl.load_workbook(book, data_only=True)
    assert values["Journal"]["A5"].value == recorded.journals[0].id == "WIP-2026-10-001"

    enter_month(book, {**demo("2026-10"), "company": "Other Ltd"})
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    assert "[PERIOD_LOCKED]" in capsys.readouterr().err


# ---- what a close must not destroy or misread ------------------------------------------------------

def _cell_xml(path: Path, sheet: str, coord: str) -> str:
    import re

    from costing.workbook._openpyxl import sheet_parts

    with zipfile.ZipFile(path) as z:
        xml = z.read(sheet_parts(z)[sheet]).decode()
    return re.search(r'<c r="%s"[^>]*?(/>|>.*?</c>)' % coord, xml).group(0)


def _calculated_book(book: Path) -> Path:
    """The demo with input formulas, saved with their results: =30000+6000, =2/5 and a formula
    whose result is empty text (Normal spoilage of a stage without spoilage)."""
    wb = openpyxl.load_workbook(book)
    wb["Costs"]["D4"] = "=30000+6000"
    wb["Production"]["G4"] = "=2/5"
    wb["Production"]["I4"] = '=IF(1=1,"",5)'
    wb.save(book)
    cache_values(book, "Costs", {"D4": ("", "36000")})
    cache_values(book, "Production", {"G4": ("", "0.4"), "I4": (' t="str"', "")})
    return book


def test_a_formula_whose_result_is_empty_text_is_a_blank_cell(book):
    data, issues = read_close_workbook(_calculated_book(book))
    assert issues == []
    assert data["products"][0]["stages"][0]["ending_wip"]["complete"] == Decimal("0.4")
    assert "normal" not in data["products"][0]["stages"][0].get("spoilage", {})
    # in memory: "" is a calculated blank, None was never calculated
    empty = Formula('=IF(A9="","",A9)', cached="")
    source = FakeSource({"Shipments": ("Shipments", ["Product", "Units shipped"],
                                       [["Espresso", empty], ["Drip", Formula("=B9*2")], [empty, empty]])})
    result = read_tables(source)
    shipments = [(i.code, i.path) for i in result.issues if i.path.startswith("Shipments!")]
    # B2 is blank (a required value missing), B3 unknown; row 4, all formulas giving "", is a blank row
    assert shipments == [("MISSING_VALUE", "Shipments!B2"), ("FORMULA_NOT_CALCULATED", "Shipments!B3")]


def test_input_formulas_keep_their_cached_values_and_the_same_close_runs_again(book, capsys):
    _calculated_book(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    assert _cell_xml(book, "Costs", "D4").endswith("<f>30000+6000</f><v>36000</v></c>")
    assert _cell_xml(book, "Production", "G4").endswith("<f>2/5</f><v>0.4</v></c>")
    assert 't="str"' in _cell_xml(book, "Production", "I4") and _cell_xml(book, "Production", "I4").endswith(
        "<v></v></c>")
    capsys.readouterr()
    assert main(["close", str(book), "--period", "2026-10"]) == 0  # the documented recovery: run it again
    captured = capsys.readouterr()
    assert "FORMULA_NOT_CALCULATED" not in captured.err
    assert "already closed from these inputs" in captured.out
    data, issues = read_close_workbook(book)
    assert issues == [] and data["products"][0]["stages"][0]["added_costs"]["materials"] == Decimal("36000")


def test_a_float_cell_is_read_at_excels_15_digits(book):
    wb = openpyxl.load_workbook(book)
    wb["Costs"]["D4"] = "=36000.1+0.2"
    wb.save(book)
    cache_values(book, "Costs", {"D4": ("", "36000.299999999996")})  # the double Excel stores, shown 36,000.30
    data, issues = read_close_workbook(book)
    assert issues == []
    assert data["products"][0]["stages"][0]["added_costs"]["materials"] == Decimal("36000.3")


def test_closing_a_macro_workbook_keeps_its_vba_project_and_close_button(tmp_path, capsys):
    from excel_addin._xlsm import MACRO, build_macro_workbook, has_close_button, vba_project_hash

    xlsm, _ = build_macro_workbook(TEMPLATE_PATH, tmp_path)
    wb = openpyxl.load_workbook(xlsm, keep_vba=True)
    fill_tables(wb, tables_from_close_data(demo("2026-10")))
    wb.save(xlsm)
    vba = vba_project_hash(xlsm)
    for _ in range(2):  # the close, then the same command again (sheets rewritten from the record)
        assert main(["close", str(xlsm), "--period", "2026-10"]) == 0
        assert vba_project_hash(xlsm) == vba
        with zipfile.ZipFile(xlsm) as z:
            assert "macroEnabled" in z.read("[Content_Types].xml").decode()
            assert any(f"[0]!{MACRO}" in z.read(n).decode() for n in z.namelist() if n.endswith(".vml"))
        assert has_close_button(xlsm)
        closed = openpyxl.load_workbook(xlsm, keep_vba=True)
        assert {"xlwings.conf", "Journal", "Checks"} <= set(closed.sheetnames)
        config = {row[0]: row[1] for row in closed["xlwings.conf"].iter_rows(values_only=True)}
        assert config["UDF Modules"] == "excel_addin.functions"


def test_a_save_that_would_lose_the_vba_project_is_refused(tmp_path):
    from excel_addin._xlsm import build_macro_workbook

    from costing.workbook._results import ContentWouldBeLost, _check_macro_parts

    xlsm, _ = build_macro_workbook(TEMPLATE_PATH, tmp_path)
    plain = io.BytesIO()
    openpyxl.load_workbook(xlsm).save(plain)  # without keep_vba: what the writer used to save
    with pytest.raises(ContentWouldBeLost, match="VBA project"):
        _check_macro_parts(xlsm, plain.getvalue())


def test_a_read_only_workbook_is_refused_before_anything_is_recorded(book, capsys):
    book.chmod(0o444)  # no write bit for anyone: read-only even to root, who may write any file
    try:
        before = book.read_bytes()
        assert main(["close", str(book), "--period", "2026-10"]) == 2
        assert "[WORKBOOK_READ_ONLY]" in capsys.readouterr().err
        assert book.read_bytes() == before
        assert not book.with_suffix(".wip.db").exists()
    finally:
        book.chmod(0o644)


def test_the_writer_itself_refuses_a_read_only_workbook(book, tmp_path):
    data, _ = read_close_workbook(book)
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(data, ledger, user="t")
    book.chmod(0o444)
    try:
        with pytest.raises(PermissionError):
            write_close_results(book, outcome)
    finally:
        book.chmod(0o644)
    assert "Journal" not in openpyxl.load_workbook(book).sheetnames


_SPARKLINES = (b'<extLst><ext uri="{05C60535-1F16-4FD2-B633-F4F36F0B64E0}" '
               b'xmlns:x14="http://schemas.microsoft.com/office/spreadsheetml/2009/9/main">'
               b'<x14:sparklineGroups xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main">'
               b'<x14:sparklineGroup><x14:sparklines><x14:sparkline><xm:f>Production!C4:E4</xm:f>'
               b'<xm:sqref>N4</xm:sqref></x14:sparkline></x14:sparklines></x14:sparklineGroup>'
               b'</x14:sparklineGroups></ext></extLst></worksheet>')


def _add_sparklines(path: Path, sheet: str) -> None:
    """Sparklines as Excel saves them: an x14 extension openpyxl reads past and does not write."""
    from costing.workbook._openpyxl import sheet_parts

    with zipfile.ZipFile(path) as src:
        target = sheet_parts(src)[sheet]
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item, data in items:
            dst.writestr(item, data.replace(b"</worksheet>", _SPARKLINES) if item.filename == target else data)


def test_content_openpyxl_would_delete_stops_the_close_before_anything_is_recorded(book, capsys):
    _add_sparklines(book, "Production")
    before = book.read_bytes()
    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    assert "Production (sheet): sparklines (Sparkline Group extension)" in err and "[UNSUPPORTED_CONTENT]" in err
    assert book.read_bytes() == before
    assert not book.with_suffix(".wip.db").exists()


def test_the_writer_refuses_to_delete_content_unless_told_the_file_is_a_throwaway_copy(book, tmp_path):
    from costing.workbook import OpenpyxlSource
    from costing.workbook._results import ContentWouldBeLost

    _add_sparklines(book, "Production")
    found = read_tables(OpenpyxlSource.open(book))
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(found.data, ledger, user="t")
    before = book.read_bytes()
    with pytest.raises(ContentWouldBeLost, match="sparklines .* on sheet 'Production'"):
        write_close_results(book, outcome)
    assert book.read_bytes() == before
    write_close_results(book, outcome, drop_unsupported=True)  # e.g. the Excel add-in's copy of the book
    assert "Journal" in openpyxl.load_workbook(book).sheetnames


# ---- one message per problem ----------------------------------------------------------------------

def _problems(book: Path, change) -> list[tuple[str, str]]:
    wb = openpyxl.load_workbook(book)
    change(wb)
    wb.save(book)
    _, issues = read_close_workbook(book)
    return [(i.code, i.path) for i in issues]


def test_a_refused_product_cell_does_not_make_the_rows_that_refer_to_it_errors(book):
    def na(wb):
        wb["Production"]["A4"] = "#N/A"  # an error value, as a failed lookup leaves it

    assert _problems(book, na) == [("FORMULA_ERROR", "Production!A4")]


def test_merged_product_cells_do_not_make_the_rows_that_refer_to_them_errors(book):
    codes = [code for code, _ in _problems(book, lambda wb: wb["Production"].merge_cells("A4:A6"))]
    assert "MERGED_CELLS" in codes
    assert "UNKNOWN_PRODUCT_STAGE" not in codes and "UNKNOWN_PRODUCT" not in codes


def test_an_unknown_currency_is_reported_once(book):
    def lower_case(wb):
        for row in wb["Settings"].iter_rows(min_row=4):
            if row[0].value == "Currency":
                row[1].value = "usd"

    wb = openpyxl.load_workbook(book)
    wb.save(book)
    assert _problems(book, lower_case) == [("UNKNOWN_CURRENCY", "Settings!B6")]
    _, issues = read_close_workbook(book)
    assert "type it as USD" in issues[0].message


def test_data_typed_under_a_table_after_a_blank_row_is_reported(book):
    def typed_far_below(wb):
        wb["Shipments"]["B9"] = 12  # the table ends at row 6; rows 7 and 8 blank
        wb["Shipments"]["E9"] = "a note beside the table, not under it"

    problems = _problems(book, typed_far_below)
    assert problems == [("DATA_BELOW_TABLE", "Shipments!B9")]
    _, issues = read_close_workbook(book)
    assert "2 blank row(s) below table Shipments, which ends at row 6" in issues[0].message


def test_result_sheets_print_for_the_close_binder(book):
    """Landscape, one page wide, column titles repeated on every page."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    for name in ("Cost Report", "Roll-forward", "Journal", "Overhead", "Checks"):
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
    assert wb["Roll-forward"].print_title_rows == "$4:$4"


def _rules(ws) -> dict[str, list[tuple[str, str, str]]]:
    """Conditional formatting by range: (formula, font colour, fill colour) of each rule."""
    return {str(cf.sqref): [(rule.formula[0], rule.dxf.font.color.rgb[-6:], rule.dxf.fill.bgColor.rgb[-6:])
                            for rule in cf.rules]
            for cf in ws.conditional_formatting}


def test_a_failed_check_is_red_and_a_passed_one_green(demo_book):
    """Every check and difference cell is coloured by conditional formatting as the workbook
    recalculates — never a fixed green that would make a failed check look like a pass."""
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(demo_book)
    green, red = ("006100", "C6EFCE"), ("9C0006", "FFC7CE")

    def coloured(ws, cells: str, kind: str) -> None:
        top = cells.split(":")[0]
        rules = _rules(ws).get(cells)
        assert rules is not None, (ws.title, cells, _rules(ws))
        passes, fails = rules
        assert passes[1:] == green and fails[1:] == red, (ws.title, cells)
        assert passes[0] == (f'{top}="OK"' if kind == "result" else f"AND(ISNUMBER({top}),{top}=0)")
        assert top in fails[0] and "<>" in fails[0]

    checks = wb["Checks"]
    last = max(r for r in range(5, checks.max_row + 1)
               if checks.cell(r, 5).value and str(checks.cell(r, 5).value).startswith("=IF"))
    last_check = next(r for r in range(5, 60) if checks.cell(r, 1).value is None) - 1
    coloured(checks, f"E5:E{last_check}", "result")
    coloured(checks, f"D5:D{last_check}", "difference")
    # The blocks below the checks: the tie to the general ledger, then the input rows referred to.
    blocks = [r + 2 for r in range(last_check + 1, last + 1)
              if checks.cell(r, 1).value and checks.cell(r + 1, 5).value == "Result"]
    assert len(blocks) == 2
    for first, end in zip(blocks, [blocks[1] - 4, last]):  # a blank row and a title between them
        assert all(str(checks.cell(r, 5).value).startswith("=IF") for r in range(first, end + 1))
        coloured(checks, f"E{first}:E{end}", "result")
        coloured(checks, f"D{first}:D{end}", "difference")
    for r in range(5, last + 1):  # no fixed colour left on a result cell
        color = checks.cell(r, 5).font.color
        assert color is None or color.type == "theme", (r, color)
    journal = wb["Journal"]
    lines = max(r for r in range(5, 100) if journal.cell(r, 4).value)
    coloured(journal, f"J5:J{lines}", "difference")
    journals = max(r for r in range(5, 100) if journal.cell(r, 12).value)
    coloured(journal, f"O5:O{journals}", "difference")
    coloured(journal, f"P5:P{journals}", "result")
    rf = wb["Roll-forward"]
    ties = [str(cf.sqref) for cf in rf.conditional_formatting]
    header = next(r for r in range(5, 200) if rf.cell(r, 1).value == "Account name")
    total = next(r for r in range(header, 200) if rf.cell(r, 1).value == "Total WIP (every row)")
    coloured(rf, f"T{header + 1}:T{total}", "difference")
    assert f"L{total + 2}" in ties  # completed to finished goods: this sheet's total - Finished Goods & COGS
    cr = wb["Cost Report"]
    rows = max(r for r in range(5, 200) if cr.cell(r, 1).value)
    assert {f"Q5:Q{rows}", f"AS5:AS{rows}"} <= {str(cf.sqref) for cf in cr.conditional_formatting}


RESULT_SHEETS = ("Cost Report", "Roll-forward", "Journal", "Finished Goods & COGS", "Overhead", "Checks", "Summary")


def _plain_numbers(path: Path) -> list[str]:
    """Result cells holding a number — a zero too, e.g. a product's opening without opening layers
    — that is neither a formula nor marked as the engine's value (grey) or a rounding adjustment
    (orange)."""
    wb = openpyxl.load_workbook(path)
    found = []
    for name in RESULT_SHEETS:
        for row in wb[name].iter_rows():
            for cell in row:
                if cell.data_type == "n" and cell.value is not None and cell.fill.fgColor.rgb[-6:] not in (
                        "EDEDED", "FCE4D6"):
                    found.append(f"{name}!{cell.coordinate}={cell.value}")
    return found


def test_a_number_typed_as_text_is_shown_as_the_value_the_close_read(book, capsys):
    """Formulas cannot use a number typed as text (it is read in the workbook's locale, a
    spreadsheet reads it in its own): the result cells that would refer to it hold the number the
    close read, grey like every value that is not a formula."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    assert _plain_numbers(book) == []
    ledger = book.with_suffix(".wip.db")
    ledger.unlink()
    wb = openpyxl.load_workbook(book)
    for ref in ("Costs!D4", "Production!C4", "Production!E4", "Overhead Rates!C4", "Overhead Rates!D4",
                "Shipments!B4", "Counts!C4", "Settings!B12"):  # typed as text, as the cell showed them
        sheet, cell = ref.split("!")
        value = wb[sheet][cell].value
        assert isinstance(value, (int, float)), ref
        wb[sheet][cell] = f"{value:,.2f}" if sheet == "Costs" else str(value)
    wb.save(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    capsys.readouterr()
    assert _plain_numbers(book) == []
    cr = openpyxl.load_workbook(book)["Cost Report"]
    added = next(c for c in cr[5] if c.value == Decimal(str(openpyxl.load_workbook(book)["Costs"]["D4"].value
                                                              .replace(",", ""))))
    assert added.fill.fgColor.rgb[-6:] == "EDEDED"


def test_an_addition_point_that_is_a_word_is_an_invalid_choice(book):
    wb = openpyxl.load_workbook(book)
    wb["Stages & elements"]["H5"] = "sometimes"
    wb.save(book)
    _, issues = read_close_workbook(book)
    assert [(i.code, i.path) for i in issues] == [("INVALID_CHOICE", "'Stages & elements'!H5")]
    assert "expected start, end, evenly or a point between 0% and 100%, found 'sometimes'" in issues[0].message


def test_the_disposition_and_normal_spoilage_from_a_rate_are_formulas_over_the_inputs(demo_book):
    """Overhead's disposition follows the Settings cell (each pool's Disposition formula reads it),
    and normal spoilage units given as a rate are the rate x good units passing inspection, at most
    what was spoiled — formulas, so changing either input shows in the workbook."""
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(demo_book)
    settings = {row[0].value: row[1].coordinate for row in wb["Settings"].iter_rows(min_row=4) if row[0].value}
    overhead = wb["Overhead"]
    row = next(r for r in range(5, 30) if overhead.cell(r, 1).value == "Overhead disposition (Settings)")
    setting = f'Settings!{settings["Overhead disposition"]}'
    assert overhead.cell(row, 7).value == f'=SUBSTITUTE(SUBSTITUTE(LOWER(TRIM({setting}))," ","_"),"-","_")'
    assert f'$G${row}="prorate"' in overhead["H5"].value
    production = wb["Production"]
    headers = {c.value: c.column_letter for c in production[3]}
    testing = next(r for r in range(4, 10) if production[f"B{r}"].value == "Testing")
    rate = f"Production!{headers['Normal spoilage rate']}{testing}"
    spoiled = f"Production!{headers['Spoiled units']}{testing}"
    assert production[rate[len("Production!"):]].value  # the demo gives Testing's normal spoilage as a rate
    cr = wb["Cost Report"]
    rows = [r for r in range(5, 40) if cr[f"A{r}"].value == "Espresso Classic" and cr[f"B{r}"].value == "Testing"]
    mode = f"Production!{headers['Normal spoilage from rate']}{testing}"
    for r in rows:
        normal = f"{rate}*(O{r}+P{r})"
        # Whole units or exact as the row's mode cell says (followed, not fixed when written).
        assert cr[f"L{r}"].value == (f'=MIN({spoiled},IF(ISNUMBER(SEARCH("whole",{mode})),ROUND(ROUND({normal},6),0),'
                                     f'{normal}))'), r
        assert cr[f"M{r}"].value == f"={spoiled}-L{r}", r


def test_finished_goods_layers_carry_the_overhead_proration_to_the_closing(book):
    """The layers' closing cost (cost left + the proration landing on this month's layer) adds up to
    each product's closing finished goods, and the Total row totals the proration columns."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    formulas = openpyxl.load_workbook(book)["Finished Goods & COGS"]
    values = openpyxl.load_workbook(book, data_only=True)["Finished Goods & COGS"]
    layers = _table(formulas, values, 4)
    by_product = next(r for r in range(5, 60) if values.cell(r, 1).value == "By product")
    layers = [row for row in layers if row["row"] < by_product and row["Product"][1]]
    summary = _table(formulas, values, by_product + 1)
    products = [row for row in summary if row["Product"][1] not in (None, "Total")]
    assert any(_amount(row["Overhead proration"]) for row in products)  # the demo prorates to finished goods
    for row in products:
        mine = [layer for layer in layers if layer["Product"][1] == row["Product"][1]]
        closing = sum(_amount(layer["Closing cost (cost left + proration)"]) for layer in mine)
        assert closing == _amount(row["Closing"]), row["Product"]
        prorated = [layer for layer in mine if layer["Overhead proration (this month's layer)"][0]]
        assert [layer["Layer (produced in)"][1] for layer in prorated] == ["2026-10"]
        assert _amount(prorated[0]["Overhead proration (this month's layer)"]) == _amount(row["Overhead proration"])
    total = next(row for row in summary if row["Product"][1] == "Total")
    for title in ("Overhead proration", "COGS: overhead proration"):
        assert total[title][0].startswith("=ROUND(SUM("), title
        assert _amount(total[title]) == sum(_amount(row[title]) for row in products)


RESULT_SHEETS_OF_THE_CLOSE = ("Cost Report", "Roll-forward", "Journal", "Finished Goods & COGS", "Overhead", "Checks",
                              "Summary")


@pytest.mark.parametrize("epoch", ["1900", "1904"])
def test_posting_dates_are_date_cells_an_accountant_can_sort_and_filter(book, epoch):
    """Each Journal line's date is a real date (a serial number in the workbook's own date system,
    1900 or a Mac's 1904, formatted yyyy-mm-dd whatever the locale), and no result sheet shows a
    date as text."""
    import datetime as dt
    import re

    from openpyxl.utils.datetime import CALENDAR_MAC_1904

    if epoch == "1904":
        wb = openpyxl.load_workbook(book)
        wb.epoch = CALENDAR_MAC_1904
        wb.save(book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    journal = wb["Journal"]
    assert journal["B4"].value == "Date"
    dates = [journal.cell(r, 2) for r in range(5, journal.max_row + 1) if journal.cell(r, 1).value]
    assert len(dates) == 32
    for cell in dates:
        assert (cell.data_type, cell.is_date, cell.number_format) == ("d", True, "yyyy-mm-dd"), cell.coordinate
        assert cell.value == dt.datetime(2026, 10, 31), cell.coordinate
    text_dates = [f"{ws.title}!{c.coordinate}" for ws in map(wb.__getitem__, RESULT_SHEETS_OF_THE_CLOSE)
                  for row in ws.iter_rows() for c in row
                  if isinstance(c.value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", c.value)]
    assert text_dates == []


def test_no_total_row_adds_up_units_of_different_products(book):
    """Units of different products (espresso machines and drip brewers) do not add up to anything
    an accountant can use: Total rows total money only; units are given per product (Finished Goods
    & COGS: By product) and per product-stage (Cost Report, Roll-forward)."""
    from costing.workbook._formats import UNITS_FORMAT

    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    totals = [(ws.title, r) for ws in map(wb.__getitem__, RESULT_SHEETS_OF_THE_CLOSE)
              for r in range(5, ws.max_row + 1) if str(ws.cell(r, 1).value or "").startswith("Total")]
    assert {title for title, _ in totals} >= {"Finished Goods & COGS", "Overhead", "Roll-forward"}
    units = [f"{title}!{c.coordinate}" for title, r in totals for c in wb[title][r]
             if c.value is not None and c.number_format == UNITS_FORMAT]
    assert units == []
    fg = wb["Finished Goods & COGS"]
    header = next(r for r in range(5, fg.max_row + 1) if fg.cell(r, 1).value == "By product") + 1
    titles = [c.value for c in fg[header]]
    products = [fg.cell(r, 1).value for r in range(header + 1, fg.max_row + 1)
                if fg.cell(r, 1).value and fg.cell(r, titles.index("Closing units") + 1).value is not None]
    assert products == ["Espresso Classic", "Barista Pro", "Drip Home"]  # closing units, one product each


# ---- what the result sheets say and refer to ------------------------------------------------------

def test_summary_headings_say_what_the_figures_are_and_in_what_currency(book):
    """Beside Closing WIP, each product's column is its cost per equivalent unit (a rate, whose
    format shows no currency): the headings say so, and the currency, as an accountant reads them;
    the chart's legend names the products."""
    from costing.workbook._formats import RATE_FORMAT

    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    summary = wb["Summary"]
    header = next(r for r in range(1, summary.max_row + 1) if summary.cell(r, 1).value == "Stage")
    titles = {c.value: c.column for c in summary[header] if c.value}
    products = ("Espresso Classic", "Barista Pro", "Drip Home")
    assert set(titles) == {"Stage", "Closing WIP (USD)"} | {f"Cost per equivalent unit (USD): {p}" for p in products}
    stages = {summary.cell(r, 1).value: r for r in range(header + 1, header + 4)}
    assert set(stages) == {"Assembly", "Testing", "Packaging"}
    values = openpyxl.load_workbook(book, data_only=True)
    cr = _table(wb["Cost Report"], values["Cost Report"], header_row=4)
    for product in products:
        column = titles[f"Cost per equivalent unit (USD): {product}"]
        for stage, r in stages.items():
            cell = summary.cell(r, column)
            assert cell.number_format == RATE_FORMAT
            rate = sum(_amount(row["Cost per equivalent unit"]) for row in cr
                       if row["Product"][0] == product and row["Stage"][0] == stage)
            assert abs(Decimal(str(values["Summary"].cell(r, column).value)) - rate) < Decimal("0.000001")
    by_stage = next(c for c in summary._charts if c.title.tx.rich.p[0].r[0].t == "Cost per equivalent unit by stage")
    assert [s.tx.v for s in by_stage.series] == list(products)


def _column_letters(ws, header_row: int) -> dict[str, str]:
    return {c.value: c.column_letter for c in ws[header_row] if c.value}


def test_an_empty_input_cell_is_referred_to_and_a_missing_one_is_a_grey_zero(book):
    """Drip Home has no ending WIP in Testing and Packaging: its Production cells are left empty.
    The Cost Report refers to them (=Production!F11 shows 0, traces to the input and follows the
    cell if it is filled in later), never a typed 0. Where no input cell exists — a stage with no
    Opening row, a product with no opening layers — the zero is typed, grey like every value that
    is not a formula."""
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(book)
    values = openpyxl.load_workbook(book, data_only=True)
    production = wb["Production"]
    p_header = next(r for r in range(1, 10) if production.cell(r, 1).value == "Product")
    p_col = _column_letters(production, p_header)
    p_row = {(production.cell(r, 1).value, production.cell(r, 2).value): r
             for r in range(p_header + 1, production.max_row + 1) if production.cell(r, 1).value}
    cr = wb["Cost Report"]
    rows = _table(cr, values["Cost Report"], header_row=4)
    cr_col = _column_letters(cr, 4)
    checked = 0
    for row in rows:
        product, stage, element = row["Product"][0], row["Stage"][0], row["Element"][0]
        if product != "Drip Home" or stage not in ("Testing", "Packaging"):
            continue
        empty = p_row[(product, stage)]
        units_cell = f"{p_col['Ending WIP units']}{empty}"
        complete_cell = f"{p_col['Ending WIP complete']}{empty}"
        assert production[units_cell].value is None and production[complete_cell].value is None
        assert row["Ending WIP units"] == (f"=Production!{units_cell}", 0), (stage, element)
        added = row["Added"][0]
        if row["Kind"][0] == "transferred_in":  # complete by definition: the engine's 1, grey
            assert row["Ending WIP: element complete"] == (1, 1)
        elif added == "evenly":
            assert row["Ending WIP: element complete"] == (f"=Production!{complete_cell}", 0), (stage, element)
        else:  # at a point: reached once the progress is at it
            assert row["Ending WIP: element complete"][0].startswith(f"=IF(Production!{complete_cell}>="), element
        checked += 1
        # No Opening row for Drip Home: nothing to refer to, a grey 0.
        for title in ("Beginning WIP units", "Beginning WIP cost"):
            cell = cr[f"{cr_col[title]}{row['row']}"]
            assert (cell.value, cell.fill.fgColor.rgb[-6:]) == (0, "EDEDED"), (title, cell.coordinate)
    assert checked == 7  # Testing: transferred in, labour, overhead; Packaging: and packaging
    fg = wb["Finished Goods & COGS"]
    header = next(r for r in range(5, fg.max_row + 1) if fg.cell(r, 1).value == "By product") + 1
    fg_col = _column_letters(fg, header)
    drip = next(r for r in range(header + 1, fg.max_row + 1) if fg.cell(r, 1).value == "Drip Home")
    for title in ("Opening units", "Opening"):  # Drip Home has no opening finished-goods layers
        cell = fg[f"{fg_col[title]}{drip}"]
        assert (cell.value, cell.fill.fgColor.rgb[-6:]) == (0, "EDEDED"), title
    assert _plain_numbers(book) == []


def test_wip_close_says_the_result_sheets_were_written_into_the_workbook(book, capsys):
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    out = capsys.readouterr().out
    assert (f"  Result sheets written into {book}: Cost Report, Roll-forward, Journal, Finished Goods & COGS, "
            "Overhead, Checks, Summary") in out.splitlines()


# ---- the result sheets' references into the input tables -------------------------------------------

_INPUT_REFERENCE = r"(?:'((?:[^']|'')+)'|([A-Za-z_][A-Za-z0-9_.]*))!\$?([A-Z]{1,3})\$?([0-9]+)(?![0-9:])"


def _input_positions_block(checks) -> dict[str, tuple]:
    """The Checks block of input rows and columns referred to: its first column -> (read, now, difference,
    result) formulas or values."""
    title = next(r for r in range(5, checks.max_row + 1)
                 if str(checks.cell(r, 1).value).startswith("Input rows and columns the result sheets refer to"))
    return {checks.cell(r, 1).value: tuple(checks.cell(r, c).value for c in range(2, 6))
            for r in range(title + 2, checks.max_row + 1) if checks.cell(r, 1).value}


def test_checks_compare_every_input_row_and_column_the_result_sheets_refer_to(demo_book):
    """A result formula refers to an input cell by position (``=Production!F11``): a sort of the table
    after the close would put another product's figures under it.  Checks lists each input row a
    result formula refers to, by its key cells, and each column, by its header, with what the close
    read there; the check row counts those still the same."""
    import re

    assert main(["close", str(demo_book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(demo_book)
    values = openpyxl.load_workbook(demo_book, data_only=True)
    block = _input_positions_block(wb["Checks"])
    block_title = next(r for r in range(5, wb["Checks"].max_row + 1)
                       if str(wb["Checks"].cell(r, 1).value).startswith("Input rows and columns the result"))
    tables = {name: (ws.title, ref) for ws in wb.worksheets for name, ref in ws.tables.items()}  # name -> (sheet, A3:M12)
    inputs = {sheet for sheet, _ in tables.values()}
    referred: set[tuple[str, str, int]] = set()  # (table, column letter, row)
    for ws in wb.worksheets:
        if ws.title in inputs:
            continue
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type != "f" or (ws.title == "Checks" and cell.row >= block_title):
                    continue
                for quoted, plain, column, r in re.findall(_INPUT_REFERENCE, cell.value):
                    sheet = quoted.replace("''", "'") if quoted else plain
                    if sheet in inputs:
                        name = next(n for n, (s, t) in tables.items() if s == sheet
                                    and _inside(t, column, int(r)))
                        referred.add((name, column, int(r)))
    assert {"Production", "Costs", "Drivers", "OverheadRates", "Settings", "GeneralLedger"} <= {n for n, *_ in referred}
    for name, column, r in referred:
        header = int(re.search(r"[0-9]+", tables[name][1])[0])
        assert any(k.startswith(f"Table {name}, column {column}: its header {column}{header}") for k in block), \
            (name, column)
        assert any(k.startswith(f"Table {name}, row {r}:") for k in block), (name, r)
    # Drip Home's ending WIP in Testing (empty, referred to): its row by product and stage.
    read, now, difference, result = block["Table Production, row 11: Product A11, Stage B11"]
    assert read == "Drip Home / Testing" and now == '=Production!A11&" / "&Production!B11'
    # Compared as the close reads them: names and headers upper/lower case and whitespace aside (``=``
    # ignores case; tabs, line breaks and no-break spaces made spaces, TRIM the spaces), an account
    # code exactly but for its ends.
    def folded(ref: str) -> str:
        return (f'TRIM(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE(SUBSTITUTE({ref},CHAR(9)," "),CHAR(10)," "),CHAR(13)," "),'
                '_xlfn.UNICHAR(160)," "))')

    assert difference == f'=IF(AND({folded("Production!A11")}="Drip Home",{folded("Production!B11")}="Testing"),0,1)'
    assert block["Table Settings, row 11: Setting A11"][2] == (
        f'=IF({folded("Settings!A11")}="Overhead disposition",0,1)')
    assert block["Table GeneralLedger, row 5: Account code F5"][0] == "1320"  # a code typed as a number
    assert block["Table GeneralLedger, row 5: Account code F5"][2] == '=IF(EXACT(TRIM(Accounts!F5),"1320"),0,1)'
    assert block["Table Production, column F: its header F3"][:3] == (
        "Ending WIP units", '=Production!F3&""', f'=IF({folded("Production!F3")}="Ending WIP units",0,1)')
    checks = values["Checks"]
    row = next(r for r in range(5, 30) if str(checks.cell(r, 1).value).startswith("The result sheets refer to"))
    n = len(block)
    assert checks.cell(row, 1).value == (f"The result sheets refer to the input rows and columns the close read "
                                         f"({n} of {n} unchanged; input rows and columns below)")
    assert "COUNTIF(" in wb["Checks"].cell(row, 1).value  # the count is live
    assert (checks.cell(row, 4).value, checks.cell(row, 5).value) == (0, "OK")
    assert "Undo it, or close 2026-10 again" in wb["Checks"].cell(row, 5).value
    assert all(values["Checks"].cell(r, 5).value == "OK" for r in range(row + 1, checks.max_row + 1)
               if str(wb["Checks"].cell(r, 5).value).startswith("=IF"))


def _inside(ref: str, column: str, row: int) -> bool:
    from openpyxl.utils.cell import column_index_from_string, range_boundaries

    c0, r0, c1, r1 = range_boundaries(ref)
    return c0 <= column_index_from_string(column) <= c1 and r0 <= row <= r1


def test_result_sheets_keep_the_row_heights_of_their_wrapped_titles(book):
    """The column titles wrap onto several lines; their rows keep the height the writer gave them."""
    from costing.workbook._openpyxl import sheet_parts

    assert main(["close", str(book), "--period", "2026-10"]) == 0
    with zipfile.ZipFile(book) as z:
        part = sheet_parts(z)["Cost Report"]
        xml = z.read(part).decode()
    assert '<row r="4" ht="' in xml and 'customHeight="1"' in xml
    wb = openpyxl.load_workbook(book)
    for name in ("Cost Report", "Roll-forward", "Journal", "Checks"):
        assert (wb[name].row_dimensions[4].height or 0) >= 30, name


def test_closing_again_after_a_sort_refers_to_the_rows_where_they_are_now(demo_book, capsys):
    """Costs sorted by element after the close (the close's inputs unchanged): closing the month
    again posts nothing and rewrites the sheets, whose references and key check follow the rows."""
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 0
    wb = openpyxl.load_workbook(demo_book)
    ws = wb["Costs"]
    rows = sorted(([c.value for c in r] for r in ws.iter_rows(min_row=4, max_row=18, max_col=4)),
                  key=lambda r: (r[2], r[0], r[1]))
    for i, values in enumerate(rows):
        for j, value in enumerate(values):
            ws.cell(4 + i, 1 + j, value)
    wb.save(demo_book)
    capsys.readouterr()
    assert main(["close", str(demo_book), "--period", "2026-10"]) == 0
    assert "nothing posted" in capsys.readouterr().out
    block = _input_positions_block(openpyxl.load_workbook(demo_book)["Checks"])
    first = "Table Costs, row 4: Product A4, Stage B4, Element C4"
    assert block[first][0] == " / ".join(rows[0][:3]) and rows[0][2] == "labour"


def test_the_rollforward_and_cogs_are_titled_as_the_text_report_says_them(book, capsys):
    """The spoilage column is what leaves WIP for spoilage (abnormal loss + disposal value), with
    the text report's note; Finished Goods & COGS' column is the cost of units shipped, and COGS as
    posted — shipped + overhead prorated to COGS + written off — is a formula equal to the text's."""
    ledger = str(book.with_suffix(".wip.db"))
    assert main(["close", str(book), "--period", "2026-10"]) == 0
    capsys.readouterr()
    assert main(["rollforward", "--period", "2026-10", "--ledger", ledger]) == 0
    text = capsys.readouterr().out
    formulas, values = openpyxl.load_workbook(book), openpyxl.load_workbook(book, data_only=True)
    rf = formulas["Roll-forward"]
    titles = [c.value for c in rf[4] if c.value]
    assert "Abnormal loss + disposal value" in titles and "Spoilage out of WIP" not in titles
    assert ("Abnormal loss + disposal value: the cost of abnormal spoilage written off plus the disposal (scrap) "
            "value of all spoiled units, normal and abnormal; the rest of normal spoilage's cost stays with the good "
            "units, in the transfers out.") in rf["A2"].value
    fg, fg_values = formulas["Finished Goods & COGS"], values["Finished Goods & COGS"]
    header = next(r for r in range(5, fg.max_row + 1) if fg.cell(r, 1).value == "Product" and r > 4
                  and fg.cell(r, 2).value == "Opening units")
    by_product = {c.value: c.column for c in fg[header] if c.value}
    assert "Cost of units shipped" in by_product and "Cost of goods sold" not in by_product
    posted = next(r for r in range(header, fg.max_row + 1)
                  if str(fg.cell(r, 1).value).startswith("Cost of goods sold as posted"))
    assert fg.cell(posted, 1).value == ("Cost of goods sold as posted = cost of units shipped + overhead prorated to "
                                        "COGS + overhead written off")
    cell = fg.cell(posted, by_product["COGS incl. proration"])
    assert str(cell.value).startswith("=")
    said = re.search(r"Cost of goods sold as posted ([0-9,.]+) = cost of units shipped ([0-9,.]+)", text)
    assert said, text
    amount = Decimal(str(fg_values[cell.coordinate].value)).quantize(Decimal("0.01"))
    assert amount == Decimal(said[1].replace(",", ""))
    total = next(r for r in range(header, posted) if fg.cell(r, 1).value == "Total")
    shipped = fg_values.cell(total, by_product["Cost of units shipped"]).value
    assert Decimal(str(shipped)).quantize(Decimal("0.01")) == Decimal(said[2].replace(",", ""))
    assert amount != Decimal(str(shipped)).quantize(Decimal("0.01"))  # the demo writes overhead off to COGS
