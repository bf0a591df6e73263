"""Review round 19 of the close workbook: a logical formula in a number cell saved by LibreOffice.

LibreOffice saves a formula whose result is logical (``=TRUE()``, ``=D5>0``) in a cell with a
number format as a number: ``<c s="9" t="n"><f>TRUE()</f><v>1</v></c>`` (in a General cell it
writes ``t="b"``, as Excel always does).  The reader read that as the amount 1, and the close
posted Espresso Classic's Testing labour as 1.00 instead of 4,650.00.  A formula whose result is
always logical — a comparison at its top level, or a call of a function that returns TRUE or FALSE
— is read as the TRUE/FALSE it is, and refused in a number column (``NOT_A_NUMBER``), as the same
cell saved by Excel is.  A formula that only uses a comparison (``=IF(D5>0,4650,0)``,
``=(D5>0)*4650``) is a number.
"""

from __future__ import annotations

import hashlib
import html
import re
import zipfile
from pathlib import Path

import pytest

from costing.cli import main
from costing.workbook import read_close_workbook
from costing.workbook._numbers import logical_formula
from costing.workbook._openpyxl import sheet_parts
from costing.workbook._read import read_tables
from costing.workbook._source import FakeSource, Formula
from tests.test_workbook_all_problems import demo_book  # noqa: F401  (a fixture: `wip init --demo`'s October)

# Costs!D6 of the demo: Espresso Classic / Testing / labour, 4,650.00 in a currency format.
WHERE = "Costs!D6"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _as_libreoffice_saves(path: Path, sheet: str, coord: str, formula: str, cached: str) -> None:
    """Put ``formula`` (XML-escaped, without "=") in ``sheet!coord`` as LibreOffice saves a formula
    cell with a number format: its style kept, ``t="n"``, the result as a number."""
    with zipfile.ZipFile(path) as src:
        part = sheet_parts(src)[sheet]
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for item, data in items:
            if item.filename == part:
                text = data.decode()
                pattern = re.compile(r'<c r="%s"([^>]*?)(/>|>.*?</c>)' % coord, re.S)
                found = pattern.search(text)
                assert found, coord
                style = re.search(r'\bs="(\d+)"', found.group(1))
                assert style, "the amount cell has a number format"
                cell = f'<c r="{coord}" s="{style.group(1)}" t="n"><f aca="false">{formula}</f><v>{cached}</v></c>'
                data = (text[:found.start()] + cell + text[found.end():]).encode()
            dst.writestr(item, data)


def _testing_labour(data) -> object:
    espresso = next(p for p in data["products"] if p["name"] == "Espresso Classic")
    return next(s for s in espresso["stages"] if s["name"] == "Testing")["added_costs"]["labour"]


LOGICAL = [
    ("TRUE()", "1", "TRUE"),
    ("FALSE()", "0", "FALSE"),
    ("TRUE", "1", "TRUE"),
    ("D5&gt;0", "1", "TRUE"),
    ("D5&lt;&gt;0", "1", "TRUE"),
    ("D5 &gt;= 0", "1", "TRUE"),
    ("SUM(D4:D5)&lt;0", "0", "FALSE"),
    ("(D5&gt;0)", "1", "TRUE"),
    ("NOT(D5=0)", "1", "TRUE"),
    ("AND(D5&gt;0,D4&gt;0)", "1", "TRUE"),
    ("OR(D5&gt;0,D4&gt;0)", "1", "TRUE"),
    ("_xlfn.XOR(D5&gt;0,D4&lt;0)", "1", "TRUE"),
    ("ISNUMBER(D5)", "1", "TRUE"),
    ("ISBLANK(D5)", "0", "FALSE"),
    ('A6&amp;"x"="Espresso Classicx"', "1", "TRUE"),
]


@pytest.mark.parametrize("formula, cached, shown", LOGICAL)
def test_a_logical_formula_in_a_money_cell_saved_by_libreoffice_is_refused_not_read_as_1(
        demo_book, formula, cached, shown):
    _as_libreoffice_saves(demo_book, "Costs", "D6", formula, cached)
    data, issues = read_close_workbook(demo_book)
    assert data is None
    assert [(i.code, i.path, i.message) for i in issues] == [
        ("NOT_A_NUMBER", WHERE, f"Amount: expected a number, found {shown}: the formula "
                                f"{html.unescape('=' + formula.removeprefix('_xlfn.'))} gives TRUE or FALSE, which "
                                f"the cell's number format shows as the number {cached}; make it give the number")]


def test_wip_close_refuses_it_and_posts_nothing(demo_book, capsys):
    _as_libreoffice_saves(demo_book, "Costs", "D6", "D5&gt;0", "1")
    before = _sha(demo_book)
    code = main(["close", str(demo_book), "--period", "2026-10"])
    err = capsys.readouterr().err
    assert code != 0
    assert f"{WHERE}: Amount: expected a number, found TRUE: the formula =D5>0 gives TRUE or FALSE" in err
    assert "shows as the number 1; make it give the number [NOT_A_NUMBER]" in err
    assert _sha(demo_book) == before
    assert not demo_book.with_suffix(".wip.db").exists()


NUMERIC = [
    ("IF(D5&gt;0,1,0)", "1"),
    ("(D5&gt;0)*1", "1"),
    ("SUM(D5:D5)*(D5&gt;0)/D5", "1"),
    ("--(D5&gt;0)", "1"),
    ("N(TRUE())", "1"),
    ("TRUE()+0", "1"),
    ("COUNTIF(D4:D5,\"&gt;9999\")", "1"),
    ('IF(A6="a&gt;b",0,1)', "1"),
    ("SUMPRODUCT((D4:D5&gt;10000)*1)", "1"),
    ("IF(AND(D5&gt;0,D4&gt;0),1,0)", "1"),
    ("'a&gt;b'!D5", "1"),
    ("ISPMT(0,1,2,-1)", "1"),
    ("D5/D5", "1"),
]


@pytest.mark.parametrize("formula, cached", NUMERIC)
def test_a_formula_that_only_uses_a_comparison_or_a_logical_is_a_number(demo_book, formula, cached):
    _as_libreoffice_saves(demo_book, "Costs", "D6", formula, cached)
    data, issues = read_close_workbook(demo_book)
    assert [(i.code, i.path) for i in issues] == []
    assert _testing_labour(data) == 1


def test_the_amount_libreoffice_calculated_is_still_read(demo_book):
    _as_libreoffice_saves(demo_book, "Costs", "D6", "IF(D5&gt;0,4650,0)", "4650")
    data, issues = read_close_workbook(demo_book)
    assert issues == [] and _testing_labour(data) == 4650


def test_any_source_refuses_a_logical_formulas_number():
    source = FakeSource({"Shipments": ("Shipments", ["Product", "Units shipped"],
                                       [["Espresso", Formula("=B9>0", cached=1)],
                                        ["Drip", Formula("=IF(B9>0,1,0)", cached=1)]])})
    result = read_tables(source)
    assert [(i.code, i.path, i.message) for i in result.issues if i.code == "NOT_A_NUMBER"] == [
        ("NOT_A_NUMBER", "Shipments!B2", "Units shipped: expected a number, found TRUE: the formula =B9>0 gives "
                                         "TRUE or FALSE, which the cell's number format shows as the number 1; make "
                                         "it give the number")]
    assert [r.get("units") for r in result.rows["Shipments"]] == [1]


@pytest.mark.parametrize("formula", [
    "=TRUE()", "=false", "=+TRUE()", "= TRUE ( ) ", "=D5>0", "=D5=0", "=D5<>0", "=D5<=0", "=SUM(A1:A3)>=0",
    "=((D5>0))", "=NOT(A1)", "=and(A1,B1)", "=Or(A1>0)", "=_xlfn.XOR(A1,B1)", "=ISNUMBER(A1)", "=ISTEXT(A1)",
    "=ISNONTEXT(A1)", "=ISERROR(1/0)", "=ISERR(A1)", "=ISNA(A1)", "=ISLOGICAL(A1)", "=ISREF(A1)", "=ISEVEN(2)",
    "=ISODD(1)", "=_xlfn.ISFORMULA(A1)", "=EXACT(A1,B1)", '=A1&"<"=B1', "=Table1[[#This Row],[Amount]]>0",
    "='My Sheet'!A1>0", "=[1]Sheet1!A1<0", "={1,2}=1", "=A1:A3 A2:B2>0", "=-A1>0", "=50%>0", "=A1+B1>C1*2",
])
def test_a_formula_whose_result_is_always_logical(formula):
    assert logical_formula(formula)


@pytest.mark.parametrize("formula", [
    "=IF(A1>0,5,6)", "=SUM(A1:A3)*(A1>0)", "=(A1>0)*5", "=-(A1>0)", "=--(A1>0)", "=(A1>0)+(B1>0)", "=TRUE()+0",
    "=TRUE()*4650", "=N(TRUE())", "=NOT(A1)*1", "=AND(A1,B1)+0", "=ISPMT(0.1,1,3,-100)", "=ISOWEEKNUM(A1)",
    '=COUNTIF(A1:A3,">0")', '=IF(A1="<",1,2)', "='a>b'!A1", "='it''s >'!A1*2", "=Table1[[#This Row],[a'>b]]",
    "=[1]Sheet1!A1", "=SUMPRODUCT((A1:A3>0)*B1:B3)", "=IF(AND(A1>0,B1>0),1,0)", "=TRUE()&\"\"", "=A1",
    "=TRUEX()", "=NOTE(A1)", "=ANDROID(A1)", "=(A1>0)*(B1>0)", "=(TRUE())*1", "=IFERROR(A1>0,0)", "=",
    "=SUM(", '="a>b"', "=1", "=D5*E5",
])
def test_a_formula_that_is_a_number_or_only_sometimes_logical(formula):
    assert not logical_formula(formula)


# ---- the close's advice in the workbook's terms ------------------------------------------------

def _november_book(tmp_path, edit) -> "Path":
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from costing.workbook._cli import init_workbook
    from tests.demo_data import demo

    book = tmp_path / "november.xlsx"
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    data = demo("2026-11")
    edit(data)
    init_workbook(book, data)
    return book


def test_a_product_left_out_is_located_at_the_production_table_in_its_terms(tmp_path, capsys):
    """PRODUCT_MISSING was at the close-file path 'products', telling the user to 'include the product'."""
    from costing.cli import main

    def drop_drip_home(data):
        data["products"] = [p for p in data["products"] if p["name"] != "Drip Home"]
        data.pop("general_ledger", None)

    book = _november_book(tmp_path, drop_drip_home)
    assert main(["close", str(book), "--period", "2026-11"]) == 2
    err = capsys.readouterr().err
    said = [line for line in err.splitlines() if "[PRODUCT_MISSING]" in line]
    assert len(said) == 2  # its closing WIP and its finished goods
    for line in said:
        assert line.startswith(f"error: {book}: Production!") and "'Drip Home' has" in line
        assert "add its rows to the Production table" in line and "include the product" not in line


def test_an_opening_left_in_the_tables_is_told_to_be_cleared_in_the_workbooks_terms(tmp_path, capsys):
    from costing.cli import main

    def keep_an_opening(data):
        stage = data["products"][0]["stages"][0]
        stage["beginning_wip"] = {"units": 999, "complete": "0.5", "cost": {"materials": "1.00", "labour": "1.00"}}

    book = _november_book(tmp_path, keep_an_opening)
    assert main(["close", str(book), "--period", "2026-11"]) == 2
    err = capsys.readouterr().err
    mismatch = [line for line in err.splitlines() if "[OPENING_MISMATCH]" in line]
    assert mismatch and all("remove beginning_wip" not in line for line in mismatch)
    assert any("clear the OpeningWIP table on the Opening sheet" in line for line in mismatch), mismatch
    assert all("the workbook gives" in line and "file gives" not in line for line in mismatch), mismatch


def test_sheets_written_again_from_a_close_resting_on_a_superseded_opening_say_so(tmp_path, capsys):
    """`wip close BOOK` on a month already closed rewrites its sheets from the recorded close: after the
    month before was closed again with other figures, that gave an all-green pack, exit 0, no word."""
    from costing.cli import main
    from costing.close_service import close_period, reopen_period
    from costing.ledger import Ledger
    from costing.workbook._cli import init_workbook
    from tests.demo_data import demo

    book = tmp_path / "november.xlsx"
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    init_workbook(book, demo("2026-11"))
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    with Ledger(book.with_suffix(".wip.db")) as ledger:
        reopen_period(ledger, "2026-10", "late labour invoice", user="test")
        october = demo("2026-10")
        october["products"][0]["stages"][0]["added_costs"]["labour"] = "9500.00"
        close_period(october, ledger, user="test")
    capsys.readouterr()
    assert main(["close", str(book), "--period", "2026-11"]) == 0
    out, err = capsys.readouterr()
    assert "was already closed from these inputs" in out
    assert "warning: 2026-11's close opened from a close of 2026-10 that has since been reopened or replaced" in err
    assert "[NEEDS_RE_CLOSE]" in err
