"""The company heads every report and journal: a close file with an empty one is refused, located
at ``company``, as a name that is empty is (INVALID_NAME).  A company refused for another reason
(not text, missing) is stood in for by "" while the products are checked: that is one problem, not
a second "empty" one, and the products' own problems are still said.  A ledger an earlier engine
recorded with an empty company (accepted then) is still reported and closed onwards."""

from __future__ import annotations

import copy
import hashlib
import re
from pathlib import Path

import openpyxl
import pytest
import yaml

import costing._journal as journal
import costing.close._resolve as close_resolve
from costing.cli import main
from costing.close import resolve_close
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger
from excel_addin.close import close_month
from tests.demo_data import demo
from tests.fake_xlwings import FakeBook
from tests.test_workbook_all_problems import change, demo_book  # noqa: F401  (a fixture)

COMPANY_CELL = "Settings!B4"  # the Value of the Settings table's Company row


def with_company(data: dict, company: object) -> dict:
    """``data`` with ``company`` as written (``...``: the key left out)."""
    data = copy.deepcopy(data)
    if company is ...:
        del data["company"]
    else:
        data["company"] = company
    return data


def close_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"close-{data['period']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


# ---- a close file ------------------------------------------------------------------------------------

@pytest.mark.parametrize("company, says", [
    ("", "company: the company name is empty: it heads every report and journal — give the company's name "
         "[INVALID_NAME]"),
    # only spaces is as empty, so removing them does not lead to a second refusal (review)
    ("   ", "company: the company name is only spaces: it heads every report and journal — give the company's name"),
    ("\u00a0", "company: the company name is only spaces"),
    ("\u3000", "company: the company name is only spaces"),
], ids=["empty", "only spaces", "a no-break space", "an ideographic space"])
@pytest.mark.parametrize("first_month", [True, False], ids=["first month", "a later month"])
def test_a_close_file_with_no_company_is_refused_and_the_ledger_untouched(tmp_path, capsys, company, says,
                                                                          first_month):
    db = tmp_path / "ledger.db"
    if first_month:
        Ledger(db).close()
        data = with_company(demo("2026-10"), company)
    else:
        october = close_file(tmp_path, demo("2026-10"))
        assert run(capsys, "close", october, "--period", "2026-10", "--ledger", db)[0] == 0
        data = with_company(demo("2026-11"), company)
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    with Ledger(db) as ledger:
        events = ledger.events()
    path = close_file(tmp_path, data)
    status, out, err = run(capsys, "close", path, "--period", data["period"], "--ledger", db)
    assert (status, out) == (2, "")
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {path}: {says}"), err
    assert errors[0].endswith("[INVALID_NAME]") and "Traceback" not in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before  # the ledger is untouched
    with Ledger(db) as ledger:
        assert ledger.events() == events


@pytest.mark.parametrize("company, code", [
    ("", "INVALID_NAME"),
    ("Brew\nWorks Ltd", "INVALID_NAME"),
    (..., "MISSING_KEY"),
    (None, "WRONG_TYPE"),
    (12, "WRONG_TYPE"),
    (["Brew Works Ltd"], "WRONG_TYPE"),
], ids=["empty", "a line break", "missing", "nothing", "a number", "a list"])
def test_a_refused_company_is_one_problem_and_the_products_are_still_checked(company, code):
    """A company refused as not text or missing is stood in for by "" while the products are checked:
    the stand-in is not refused again as empty, and hides none of the products' problems."""
    data = with_company(demo("2026-10"), company)
    _, issues = resolve_close(data, None)
    assert [(i.code, i.path) for i in issues] == [(code, "company")]
    data["products"][2]["shipments"] = -5  # Drip Home
    data["products"][0]["stages"][0]["added_costs"]["materials"] = "lots"  # Espresso Classic's Assembly
    _, issues = resolve_close(data, None)
    assert [(i.code, i.path) for i in issues] == [
        (code, "company"), ("NOT_A_NUMBER", "products[0].stages[0].added_costs.materials"),
        ("NEGATIVE_UNITS", "products[2].shipments")]


# ---- a ledger recorded before an empty company was refused ------------------------------------------------

def recorded_with_an_empty_company(data: dict, ledger: Ledger):
    """Close ``data`` as an engine before this check did: the company's name checked unless empty."""
    def accepting_empty(value: str, **kwargs):
        return None if value == "" else journal.name_problem(value, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(close_resolve, "name_problem", accepting_empty)
        return close_period(data, ledger, user="test")


@pytest.fixture
def old_ledger(tmp_path) -> Path:
    db = tmp_path / "old.db"
    with Ledger(db) as ledger:
        recorded_with_an_empty_company(with_company(demo("2026-10"), ""), ledger)
    return db


def test_a_recorded_empty_company_is_reported_and_closed_again_and_onwards(old_ledger, tmp_path, capsys):
    status, out, err = run(capsys, "report", "--period", "2026-10", "--ledger", old_ledger)
    assert (status, err) == (0, "") and "Espresso Classic" in out
    # The month closed again after a reopen, as its own recorded close accepted it.
    with Ledger(old_ledger) as ledger:
        reopen_period(ledger, "2026-10", "recount", user="test")
    october = close_file(tmp_path, with_company(demo("2026-10"), ""))
    status, _, err = run(capsys, "close", october, "--period", "2026-10", "--ledger", old_ledger)
    assert (status, err) == (0, ""), err
    status, _, err = run(capsys, "diff", "2026-10", "--ledger", old_ledger)  # both recorded closes computed again
    assert (status, err) == (0, ""), err
    # The next month, as the close it opens from accepted it.
    november = close_file(tmp_path, with_company(demo("2026-11"), ""))
    status, _, err = run(capsys, "close", november, "--period", "2026-11", "--ledger", old_ledger)
    assert (status, err) == (0, ""), err
    status, _, err = run(capsys, "report", "--period", "2026-11", "--ledger", old_ledger)
    assert (status, err) == (0, "")


def test_an_empty_company_is_not_vouched_by_a_ledger_that_never_held_one(tmp_path, capsys):
    db = tmp_path / "ledger.db"
    assert run(capsys, "close", close_file(tmp_path, demo("2026-10")), "--period", "2026-10", "--ledger", db)[0] == 0
    november = close_file(tmp_path, with_company(demo("2026-11"), ""))
    status, _, err = run(capsys, "close", november, "--period", "2026-11", "--ledger", db)
    assert status == 2 and f"error: {november}: company: the company name is empty" in err


# ---- a close workbook and the add-in's Close month button -------------------------------------------------



def errors_of(err: str) -> list[tuple[str, str]]:
    """(cell, code) of each error line of ``wip close BOOK``."""
    return [(m[1], m[2]) for m in re.finditer(r"^error: \S+: (\S+): .*\[(\w+)\]$", err, re.M)]


@pytest.mark.parametrize("blank", [None, "", "   "], ids=["empty", "empty text", "only spaces"])
def test_a_blank_company_cell_is_refused_at_the_cell(demo_book, capsys, blank):
    assert openpyxl.load_workbook(demo_book)["Settings"]["A4"].value == "Company"
    change(demo_book, {COMPANY_CELL: blank})
    status, _, err = run(capsys, "close", demo_book, "--period", "2026-10")
    assert status == 2
    assert errors_of(err) == [(COMPANY_CELL, "MISSING_VALUE")]
    assert "setting Company is required" in err
    assert not demo_book.with_suffix(".wip.db").exists()


def test_a_company_with_a_line_break_is_refused_at_the_cell(demo_book, capsys):
    change(demo_book, {COMPANY_CELL: "Brew\nWorks Ltd"})
    status, _, err = run(capsys, "close", demo_book, "--period", "2026-10")
    assert status == 2
    assert errors_of(err) == [(COMPANY_CELL, "INVALID_NAME")]
    assert not demo_book.with_suffix(".wip.db").exists()


def test_the_close_month_button_refuses_a_blank_company_at_the_cell(demo_book):
    book = FakeBook(demo_book)
    book.wb["Settings"]["B4"] = None
    book.values["Settings"]["B4"] = None
    result = close_month(book)
    assert not result.ok
    assert f"{COMPANY_CELL}: setting Company is required [MISSING_VALUE]" in result.message
    assert book.writes == 0
    assert not demo_book.with_suffix(".wip.db").exists()
