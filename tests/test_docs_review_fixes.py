"""Behaviour the docs review of HEAD found told differently from what the code did."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest

from costing.close_service import CloseRefused, close_period
from costing.ledger import Ledger
from tests.demo_data import demo


def _october_with_gl_and_a_unit_flow_problem() -> dict:
    """October with Testing's opening costs typed without cents (2900, not 2900.00), a GL that does not
    tie, and a unit-flow problem: the tie is then checked on the openings as the file writes them."""
    data = copy.deepcopy(demo("2026-10"))
    testing = next(stage for stage in data["products"][0]["stages"] if stage["name"] == "Testing")
    testing["beginning_wip"]["cost"] = {"transferred_in": 2900, "labour": 150, "overhead": 120}
    data["products"][0]["stages"][0]["completed"] += 1
    data["general_ledger"] = {"balances": {"1320": "3123.17", "1330": "12.50"}}
    return data


def test_a_gl_tie_says_its_amounts_in_the_currencys_places(tmp_path):
    """GL_DOES_NOT_TIE once said `opening WIP is 3170` and `opening WIP is 0` (the openings as typed);
    the GL shows cents, so the message does: 3170.00, 0.00."""
    with Ledger(tmp_path / "ledger.db") as ledger, pytest.raises(CloseRefused) as refused:
        close_period(_october_with_gl_and_a_unit_flow_problem(), ledger, user="test")
    by_path = {issue.path: issue.message for issue in refused.value.issues if issue.code == "GL_DOES_NOT_TIE"}
    assert "the general ledger shows 3123.17 before this close; the WIP ledger's opening WIP is 3170.00; " \
           "difference (GL − WIP ledger) -46.83." in by_path["general_ledger.balances.1320"]
    assert "the WIP ledger's opening WIP is 0.00; difference (GL − WIP ledger) 12.50." \
        in by_path["general_ledger.balances.1330"]
    assert any(issue.code == "UNIT_FLOW" for issue in refused.value.issues)


def test_an_amount_with_more_places_than_the_currency_is_shown_whole_never_rounded():
    from costing.close._general_ledger import posted_text

    assert posted_text(Decimal("3170"), "USD") == "3170.00"
    assert posted_text(Decimal("1.005"), "USD") == "1.005"  # not 1.00 nor 1.01: the value is kept
    assert posted_text(Decimal("3170.000"), "JPY") == "3170"
    assert posted_text(Decimal("-0.5"), "KWD") == "-0.500"


def test_the_workbook_writers_exceptions_are_public():
    """docs/workbook.md names them as `costing.workbook`'s: they are, and the very classes raised."""
    import costing.workbook
    from costing.workbook import ContentWouldBeLost, WorkbookChanged
    from costing.workbook import _results

    assert ContentWouldBeLost is _results.ContentWouldBeLost and WorkbookChanged is _results.WorkbookChanged
    assert issubclass(ContentWouldBeLost, WorkbookChanged)
    assert {"ContentWouldBeLost", "WorkbookChanged"} <= set(costing.workbook.__all__)


def test_a_close_workbook_has_no_loss_convention_setting(tmp_path):
    """docs/workbook.md: process accounts are close-file only; a `Loss convention` row is refused at its
    cell, never read as the spoilage convention without a word."""
    import openpyxl

    from tests.conftest import run_wip

    book = tmp_path / "demo.xlsx"
    assert run_wip("init", book, "--demo").returncode == 0
    wb = openpyxl.load_workbook(book)
    settings = wb["Settings"]
    table = settings.tables["Settings"]
    last = settings[table.ref.split(":")[1]].row
    settings.cell(last + 1, 1, "Loss convention")
    settings.cell(last + 1, 2, "process_account")
    table.ref = f"{table.ref.split(':')[0]}:C{last + 1}"
    wb.save(book)
    closed = run_wip("close", book, "--period", "2026-10")
    assert closed.returncode == 2
    assert f"Settings!A{last + 1}: unknown setting 'Loss convention'" in closed.stderr
    assert "[UNKNOWN_SETTING]" in closed.stderr and not (tmp_path / "demo.wip.db").exists()
