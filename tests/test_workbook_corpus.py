"""A corpus of malformed close workbooks, each made from the demo workbook by one change.

Every one must give located errors (a cell or table range, with a stable code), exit status 2, and
leave both the workbook and the ledger exactly as they were.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from typing import Callable

import openpyxl
import pytest
from openpyxl.utils.cell import get_column_letter, range_boundaries

from costing._casefile import read_data_file
from costing.cli import main
from costing.ledger import Ledger
from costing.workbook._cli import init_workbook
from tests.test_workbook import type_general_ledger
from tests.xlsx_cache import cache_values

ROOT = Path(__file__).resolve().parent.parent

# Where the demo workbook's tables are (the template's layout): header on row 3, data from row 4.
# Production: A Product, B Stage, C Started, D Transferred in, E Completed, F Ending WIP units,
#   G Ending WIP complete, H Spoiled, I Normal, J Normal rate, K Abnormal, L Inspection, M Disposal value;
#   rows 4-6 Espresso Classic (Assembly, Testing, Packaging), 7-9 Barista Pro, 10-12 Drip Home.
# Costs: A Product, B Stage, C Element, D Amount; row 4 Espresso Classic / Assembly / materials.
# Settings: A Setting, B Value; rows 4 Company, 5 Period, 6 Currency, 7 Locale, 8 Method, ...
# Elements (sheet "Stages & elements", from D3): D Product, E Stage, F Element, G Kind, H Added.


def append_row(ws, table: str, values: list) -> int:
    t = ws.tables[table]
    min_col, min_row, max_col, max_row = range_boundaries(t.ref)
    row = max_row + 1
    for k, v in enumerate(values):
        ws.cell(row, min_col + k, v)
    t.ref = f"{get_column_letter(min_col)}{min_row}:{get_column_letter(max_col)}{row}"
    t.autoFilter.ref = t.ref
    return row


def delete_table(wb, name: str) -> None:
    for ws in wb.worksheets:
        if name in ws.tables:
            del ws.tables[name]


def set_value(sheet: str, coord: str, value) -> Callable:
    def change(wb):
        wb[sheet][coord] = value
    return change


def setting(label: str, value) -> Callable:
    def change(wb):
        ws = wb["Settings"]
        for row in ws.iter_rows(min_row=4, max_col=2):
            if row[0].value == label:
                row[1].value = value
                return
        raise KeyError(label)
    return change


def several(*changes: Callable) -> Callable:
    def change(wb):
        for c in changes:
            c(wb)
    return change


def rename_header(sheet: str, coord: str, text: str) -> Callable:
    def change(wb):
        ws = wb[sheet]
        old = ws[coord].value
        ws[coord] = text
        for t in ws.tables.values():  # keep the table's column names in step with the header cells
            for col in t.tableColumns:
                if col.name == old:
                    col.name = text
    return change


def merge(sheet: str, rng: str) -> Callable:
    def change(wb):
        wb[sheet].merge_cells(rng)
    return change


def clear_row(sheet: str, row: int, first: str = "A", last: str = "M") -> Callable:
    def change(wb):
        for cells in wb[sheet][f"{first}{row}:{last}{row}"]:
            for cell in cells:
                cell.value = None
    return change


def general_ledger(*rows: tuple) -> Callable:
    """(code, balance) rows typed into the GeneralLedger table (Accounts, from F4)."""
    def change(wb):
        type_general_ledger(wb, list(rows))
    return change


# The demo's October: the GL before the close agrees with the opening tables (wip init --demo).
_GL = [("1310", 10560), ("1320", 3170), ("1330", 0), ("1400", 8650), ("5900", 31800)]


def duplicate_production_row(wb):
    ws = wb["Production"]
    append_row(ws, "Production", [c.value for c in ws[4][:13]])


def duplicate_stage_order(wb):
    wb["Stages & elements"]["A5"] = 1


CORPUS: dict[str, tuple[Callable, str, str]] = {
    # name: (change, expected code, expected location)
    "text_in_number": (set_value("Costs", "D4", "lots"), "NOT_A_NUMBER", "Costs!D4"),
    "wrong_locale_number": (set_value("Costs", "D4", "36.000,00"), "NOT_A_NUMBER", "Costs!D4"),
    "en_number_in_de_workbook": (several(setting("Locale", "de_DE"), set_value("Costs", "D4", "36,000.00")),
                                 "NOT_A_NUMBER", "Costs!D4"),
    "exponent_as_text": (set_value("Production", "C4", "3e2"), "NOT_A_NUMBER", "Production!C4"),
    "date_in_number": (set_value("Production", "E4", dt.datetime(2026, 10, 31)), "NOT_A_NUMBER", "Production!E4"),
    "boolean_in_number": (set_value("Costs", "D5", True), "NOT_A_NUMBER", "Costs!D5"),
    "missing_table": (lambda wb: delete_table(wb, "Production"), "MISSING_TABLE", "Production (table Production)"),
    "missing_column": (rename_header("Production", "E3", "Done"), "MISSING_COLUMN", "Production!A3:N3"),
    # Review: a second 'Completed ' column (read as the same one) was dropped without a word.
    "duplicate_column": (rename_header("Production", "N3", "completed "), "DUPLICATE_COLUMN", "Production!N3"),
    "duplicate_product_stage_row": (duplicate_production_row, "DUPLICATE_ROW", "Production!A13"),
    "completion_above_100": (set_value("Production", "G4", 1.3), "PROGRESS_OUT_OF_RANGE", "Production!G4"),
    "negative_units": (set_value("Production", "C4", -300), "NEGATIVE_UNITS", "Production!C4"),
    "negative_amount": (set_value("Costs", "D4", -36000), "NEGATIVE_AMOUNT", "Costs!D4"),
    "formula_without_cached_value": (set_value("Costs", "D4", "=30000+6000"), "FORMULA_NOT_CALCULATED", "Costs!D4"),
    "formula_error_cached": (set_value("Costs", "D4", "=1/0"), "FORMULA_ERROR", "Costs!D4"),  # cache set below
    "merged_cells_in_table": (merge("Production", "A5:B5"), "MERGED_CELLS", "Production!A5:B5"),
    "empty_row_between_rows": (clear_row("Production", 6), "EMPTY_ROW", "Production!A6"),
    "missing_required_value": (set_value("Production", "E5", None), "MISSING_VALUE", "Production!E5"),
    "unknown_stage": (set_value("Production", "B5", "Testng"), "UNKNOWN_STAGE", "Production!B5"),
    "invalid_element_kind": (set_value("Stages & elements", "G4", "materials"), "INVALID_CHOICE",
                             "'Stages & elements'!G4"),
    "invalid_method": (setting("Method", "LIFO"), "INVALID_CHOICE", "Settings!B8"),
    "unknown_locale": (setting("Locale", "xx_XX"), "UNKNOWN_LOCALE", "Settings!B7"),
    "unknown_setting": (set_value("Settings", "A12", "Materiallity"), "UNKNOWN_SETTING", "Settings!A12"),
    "invalid_period": (setting("Period", "Oct 2026"), "INVALID_PERIOD", "Settings!B5"),
    "period_not_the_one_closed": (setting("Period", "2026-09"), "PERIOD_MISMATCH", "Settings!B5"),
    "added_point_out_of_range": (set_value("Stages & elements", "H4", 1.5), "ADDED_OUT_OF_RANGE",
                                 "'Stages & elements'!H4"),
    "added_point_a_word": (set_value("Stages & elements", "H5", "sometimes"), "INVALID_CHOICE",
                           "'Stages & elements'!H5"),
    "duplicate_stage_order": (duplicate_stage_order, "DUPLICATE_ROW", "'Stages & elements'!A5"),
    "cost_for_unknown_product": (set_value("Costs", "A4", "Espresso Clasic"), "UNKNOWN_PRODUCT", "Costs!A4"),
    "unit_flow_does_not_balance": (set_value("Production", "E5", 999), "UNIT_FLOW", "Production!B5"),
    "overhead_typed_in": (lambda wb: append_row(wb["Costs"], "Costs", ["Barista Pro", "Assembly", "overhead", 500]),
                          "OVERHEAD_TYPED_IN", "Costs!C"),  # the Element cell: the element is what is wrong
    "element_not_of_the_stage": (set_value("Costs", "C4", "Materials"), "UNKNOWN_ELEMENT", "Costs!C4"),
    "error_value_in_the_locale": (set_value("Settings", "B7", "#NULL!"), "FORMULA_ERROR", "Settings!B7"),
    "error_value_in_a_setting_name": (set_value("Settings", "A12", "#N/A"), "FORMULA_ERROR", "Settings!A12"),
    "stage_order_blank": (set_value("Stages & elements", "A5", None), "MISSING_VALUE", "'Stages & elements'!A5"),
    "product_name_on_two_lines": (set_value("Production", "A10", "Drip\nHome"), "INVALID_NAME", "Production!A10"),
    "amount_with_too_many_places": (set_value("Costs", "D4", 36000.125), "AMOUNT_PRECISION", "Costs!D4"),
    "shipments_exceed_stock": (set_value("Shipments", "B4", 5000), "SHIPMENTS_EXCEED_STOCK", "Shipments!B4"),
    "data_typed_below_the_table": (set_value("Shipments", "B7", 12), "DATA_BELOW_TABLE", "Shipments!B7"),
    "data_typed_below_a_blank_row": (set_value("Shipments", "B8", 12), "DATA_BELOW_TABLE", "Shipments!B8"),
    "error_value_in_a_key_cell": (set_value("Production", "A4", "#N/A"), "FORMULA_ERROR", "Production!A4"),
    "currency_in_lower_case": (setting("Currency", "usd"), "UNKNOWN_CURRENCY", "Settings!B6"),
    "product_name_in_other_case": (set_value("Production", "A5", "ESPRESSO CLASSIC"), "INCONSISTENT_NAME",
                                   "Production!A5"),
    "account_stage_in_other_case": (set_value("Accounts", "B13", "assembly"), "INCONSISTENT_NAME", "Accounts!B13"),
    "count_without_book_units": (lambda wb: append_row(wb["Counts"], "Counts", ["Drip Home", "Testing", 3]),
                                 "COUNT_WITHOUT_BOOK_UNITS", "Counts!C5"),
    "general_ledger_does_not_tie": (general_ledger(*_GL[:1], ("1320", 3170.01), *_GL[2:]), "GL_DOES_NOT_TIE",
                                    "Accounts!G5"),
    "general_ledger_code_not_tied": (general_ledger(*_GL, ("1210", 0)), "UNKNOWN_ACCOUNT", "Accounts!F9"),
    "general_ledger_balance_in_tenths_of_a_cent": (general_ledger(("1310", 10560.001)), "AMOUNT_PRECISION",
                                                   "Accounts!G4"),
    "general_ledger_code_twice": (general_ledger(*_GL, (1310, 10560)), "DUPLICATE_ROW", "Accounts!F9"),
    "general_ledger_overhead_control_shared_with_cogs": (  # row 11: overhead control, on the COGS account
        several(set_value("Accounts", "C11", "5000"), set_value("Accounts", "D11", "Cost of goods sold"),
                general_ledger(("5000", 31800))), "ACCOUNT_CONFLICT", "Accounts!F4"),
}


@pytest.fixture(scope="module")
def demo_book(tmp_path_factory) -> Path:
    data, issues = read_data_file(ROOT / "examples" / "demo" / "close-2026-10.yaml")
    assert not issues
    return init_workbook(tmp_path_factory.mktemp("corpus") / "demo.xlsx", data)


def test_the_corpus_has_at_least_twenty_workbooks():
    assert len(CORPUS) >= 20


def test_the_demo_workbook_itself_is_fine(demo_book, tmp_path):
    book = tmp_path / demo_book.name
    shutil.copy(demo_book, book)
    assert main(["close", str(book), "--period", "2026-10"]) == 0


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_workbook_gives_located_errors_and_changes_nothing(name, demo_book, tmp_path, capsys):
    change, code, where = CORPUS[name]
    book = tmp_path / f"{name}.xlsx"
    wb = openpyxl.load_workbook(demo_book)
    change(wb)
    wb.save(book)
    if name == "formula_error_cached":
        cache_values(book, "Costs", {"D4": (' t="e"', "#DIV/0!")})
    ledger_path = book.with_suffix(".wip.db")
    with Ledger(ledger_path):
        pass  # an existing, empty ledger: the failed close must leave it as it is
    ledger_before = ledger_path.read_bytes()
    book_before = book.read_bytes()

    assert main(["close", str(book), "--period", "2026-10"]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert lines, err
    located = [line for line in lines if f"[{code}]" in line]
    assert located, f"expected {code}; got:\n{err}"
    assert any(f": {where}" in line for line in located), f"expected {where}; got:\n{err}"
    for line in lines:  # every problem is located: a cell, a range or a table
        assert re.match(r"error: \S+\.xlsx: (('[^']+'|\w+)![A-Z]+\d+(:[A-Z]+\d+)?|[\w &]+ \(table \w+\)): ", line), line
    assert err.rstrip().endswith("nothing was written.")
    assert book.read_bytes() == book_before
    assert ledger_path.read_bytes() == ledger_before
    with Ledger(ledger_path) as ledger:
        assert ledger.events() == []
