"""Normal spoilage from a rate counted in whole units, in the close workbook: the Production table's
optional "Normal spoilage from rate" column is the close file's ``spoilage.normal_from_rate``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import openpyxl
import pytest

from costing.cli import main
from costing.workbook import read_close_workbook
from costing.workbook._cli import init_workbook
from tests.demo_data import DEMO, read_clean

COLUMN = "Normal spoilage from rate"


def close_file(tmp_path: Path, counted: str = "whole_units") -> Path:
    """The demo's October with its normal spoilage from a rate counted ``counted`` (Espresso
    Classic's rate raised to 0.023, so that whole units give other figures than exact)."""
    text = (DEMO / "close-2026-10.yaml").read_text()
    text = re.sub(r"spoilage: \{spoiled: 8, normal_rate: [0-9.]+,( normal_from_rate: \w+,)?",
                  "spoilage: {spoiled: 8, normal_rate: 0.023,", text)
    text = re.sub(r"normal_rate: ([0-9.]+),( normal_from_rate: \w+,)?",
                  rf"normal_rate: \1, normal_from_rate: {counted},", text)
    path = tmp_path / f"close-{counted}.yaml"
    path.write_text(text)
    return path


def journals(source: Path, ledger: Path, capsys) -> dict:
    assert main(["close", str(source), "--period", "2026-10", "--ledger", str(ledger)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["journal", "--period", "2026-10", "--json", "--ledger", str(ledger)]) == 0
    return json.loads(capsys.readouterr().out)


def production_column(book: Path) -> dict[tuple[str, str], object]:
    ws = openpyxl.load_workbook(book)["Production"]
    table = ws.tables["Production"]
    first, last = table.ref.split(":")
    rows = [[c.value for c in row] for row in ws[first:last]]
    header = rows[0]
    at = {name: header.index(name) for name in ("Product", "Stage", COLUMN)}
    return {(r[at["Product"]], r[at["Stage"]]): r[at[COLUMN]] for r in rows[1:]}


def test_the_demo_workbook_of_a_close_file_in_whole_units_closes_to_the_same_journals(tmp_path, capsys, monkeypatch):
    whole, exact = close_file(tmp_path), close_file(tmp_path, "exact")
    monkeypatch.setattr("costing.workbook._cli.DEMO_FIRST_MONTH", whole)
    book = tmp_path / "demo.xlsx"
    assert main(["init", str(book), "--demo"]) == 0
    capsys.readouterr()
    column = production_column(book)
    assert column[("Espresso Classic", "Testing")] == column[("Barista Pro", "Testing")] == "whole_units"
    assert column[("Espresso Classic", "Assembly")] is None
    data, issues = read_close_workbook(book)
    assert issues == []
    testing = next(s for s in data["products"][0]["stages"] if s["name"] == "Testing")
    assert testing["spoilage"]["normal_from_rate"] == "whole_units"
    from_book = journals(book, tmp_path / "book.db", capsys)
    from_file = journals(whole, tmp_path / "file.db", capsys)
    assert from_book == from_file
    # Whole units move figures here (6.9 -> 7 units of normal spoilage): the column was read.
    assert from_book != journals(exact, tmp_path / "exact.db", capsys)


def test_the_cost_report_rounds_normal_spoilage_from_the_rate_to_whole_units(tmp_path, capsys):
    book = init_workbook(tmp_path / "whole.xlsx", read_clean(close_file(tmp_path)))
    assert main(["close", str(book), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 0
    formulas = openpyxl.load_workbook(book)
    values = openpyxl.load_workbook(book, data_only=True)
    cr = formulas["Cost Report"]
    rows = [r for r in range(5, 40) if cr[f"A{r}"].value == "Espresso Classic" and cr[f"B{r}"].value == "Testing"]
    assert rows
    for r in rows:
        # Whole units as the row's "Normal spoilage from rate" cell says, exact otherwise (it is followed).
        assert re.fullmatch(rf'=MIN\(Production!H(\d+),IF\(ISNUMBER\(SEARCH\("whole",Production!N\1\)\),'
                            rf"ROUND\(ROUND\(Production!J\1\*\(O{r}\+P{r}\),6\),0\),Production!J\1\*\(O{r}\+P{r}\)\)\)",
                            cr[f"L{r}"].value), cr[f"L{r}"].value
        assert values["Cost Report"][f"L{r}"].value == 7


@pytest.mark.parametrize("typed, read", [("whole_units", "whole_units"), ("Whole units", "whole_units"),
                                         ("exact", "exact"), (None, None)])
def test_the_column_takes_exact_or_whole_units_and_blank_is_the_default(tmp_path, typed, read):
    book = init_workbook(tmp_path / "b.xlsx", read_clean(close_file(tmp_path)))
    wb = openpyxl.load_workbook(book)
    ws = wb["Production"]
    col = next(c.column_letter for c in ws[3] if c.value == COLUMN)
    row = next(r for r in range(4, 13) if ws[f"A{r}"].value == "Espresso Classic" and ws[f"B{r}"].value == "Testing")
    ws[f"{col}{row}"] = typed
    wb.save(book)
    data, issues = read_close_workbook(book)
    assert issues == []
    testing = next(s for s in data["products"][0]["stages"] if s["name"] == "Testing")
    assert testing["spoilage"].get("normal_from_rate") == read


def test_a_value_that_is_no_way_of_counting_is_an_invalid_choice_at_its_cell(tmp_path):
    book = init_workbook(tmp_path / "b.xlsx", read_clean(close_file(tmp_path)))
    wb = openpyxl.load_workbook(book)
    ws = wb["Production"]
    col = next(c.column_letter for c in ws[3] if c.value == COLUMN)
    ws[f"{col}5"] = "rounded"
    wb.save(book)
    data, issues = read_close_workbook(book)
    assert data is None
    assert [(i.code, i.path) for i in issues] == [("INVALID_CHOICE", f"Production!{col}5")]
    assert "exact, whole_units" in issues[0].message and "'rounded'" in issues[0].message


def test_an_old_workbook_without_the_column_still_closes_as_exact(tmp_path, capsys):
    exact = close_file(tmp_path, "exact")
    book = init_workbook(tmp_path / "old.xlsx", read_clean(exact))
    wb = openpyxl.load_workbook(book)
    ws = wb["Production"]
    table = ws.tables["Production"]
    col = next(c for c in ws[3] if c.value == COLUMN)
    assert col.column_letter == table.ref.split(":")[1].rstrip("0123456789")  # the table's last column
    for row in ws.iter_rows(min_col=col.column, max_col=col.column):
        row[0].value = None
    first, last = table.ref.split(":")
    table.ref = f"{first}:{chr(ord(col.column_letter) - 1)}{last.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ')}"
    table.autoFilter.ref = table.ref
    del table.tableColumns[-1]
    wb.save(book)
    assert COLUMN not in [c.value for c in openpyxl.load_workbook(book)["Production"][3]]
    data, issues = read_close_workbook(book)
    assert issues == []
    assert journals(book, tmp_path / "book.db", capsys) == journals(exact, tmp_path / "file.db", capsys)


def test_libreoffice_recalculates_normal_spoilage_in_whole_units_to_the_engines_figures(tmp_path, capsys):
    from tests.libreoffice import recalculate, soffice, without_cached_values
    from tests.test_workbook_libreoffice import _compare

    soffice()
    book = init_workbook(tmp_path / "whole.xlsx", read_clean(close_file(tmp_path)))
    assert main(["close", str(book), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 0
    (tmp_path / "in").mkdir()
    blank = tmp_path / "in" / book.name
    assert without_cached_values(book, blank) > 500
    out = tmp_path / "out"
    recalculate([blank], out, tmp_path / "profile")
    count, problems = _compare(book, out / book.name)
    assert count > 500
    assert problems == [], "\n".join(problems[:20])


def test_the_template_offers_the_two_ways_in_a_drop_down():
    from costing.workbook._template import TEMPLATE_PATH

    ws = openpyxl.load_workbook(TEMPLATE_PATH)["Production"]
    col = next(c.column_letter for c in ws[3] if c.value == COLUMN)
    lists = {dv.formula1: str(dv.sqref) for dv in ws.data_validations.dataValidation if dv.type == "list"}
    assert lists['"exact,whole_units"'].startswith(f"{col}4:")
