"""What a refused close says (review of edited copies of the demo close files): one mistake is one
problem, a problem in the header hides none of the products' own, and each message says what was
expected, what was found and what to check next."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from costing.cli import main
from tests.test_close_errors import _refused_lines

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = yaml.safe_load((ROOT / "examples/demo/close-2026-10.yaml").read_text())
NOVEMBER = yaml.safe_load((ROOT / "examples/demo/close-2026-11.yaml").read_text())


def _product(data: dict, name: str) -> dict:
    return next(p for p in data["products"] if p["name"] == name)


def _stage(product: dict, name: str) -> dict:
    return next(s for s in product["stages"] if s["name"] == name)


def _refused(tmp_path, capsys, data, period, ledger=None) -> list[str]:
    return _refused_lines(tmp_path, capsys, data, period, ledger)


def _codes(lines: list[str]) -> list[str]:
    return [line.rsplit(" ", 1)[-1] for line in lines]


@pytest.fixture
def october_closed(tmp_path, capsys):
    db = tmp_path / "ledger.db"
    assert main(["close", str(ROOT / "examples/demo/close-2026-10.yaml"), "--period", "2026-10",
                 "--ledger", str(db)]) == 0
    capsys.readouterr()
    return db


# --- 1. A product whose shape is refused is not also missing ------------------------------------

def test_a_typo_in_a_stage_key_is_not_also_the_product_missing(tmp_path, capsys, october_closed):
    """`startd` for `started` refused Espresso Classic's shape; the close then reported the product
    missing four times over (its WIP in three stages and its finished goods carried from October)."""
    november = copy.deepcopy(NOVEMBER)
    assembly = _stage(_product(november, "Espresso Classic"), "Assembly")
    assembly["startd"] = assembly.pop("started")
    assert _refused(tmp_path, capsys, november, "2026-11", october_closed) == [
        "products[0].stages[0].startd: unknown key 'startd'; `wip schema --close` lists the keys this section takes "
        "[UNKNOWN_KEY]"]


def test_a_refused_product_written_in_another_case_is_told_its_name_not_missing(tmp_path, capsys, october_closed):
    november = copy.deepcopy(NOVEMBER)
    drip = _product(november, "Drip Home")
    drip["name"] = "Drip home"
    drip["stages"][0]["startd"] = drip["stages"][0].pop("started")
    assert _codes(_refused(tmp_path, capsys, november, "2026-11", october_closed)) == \
        ["[INCONSISTENT_NAME]", "[UNKNOWN_KEY]"]  # in the file's order: the name, then its stages


# --- 2. A stage without its WIP account: one problem, at accounts.wip ---------------------------

def test_a_stage_missing_from_the_chart_is_one_problem_at_accounts_wip(tmp_path, capsys):
    """Deleting accounts.wip.Assembly gave an overhead line 'for no stage' and one UNKNOWN_ACCOUNT per
    product: four problems for one missing line of the chart."""
    data = copy.deepcopy(OCTOBER)
    del data["accounts"]["wip"]["Assembly"]
    assert _refused(tmp_path, capsys, data, "2026-10") == [
        "accounts.wip: no WIP account for stage 'Assembly': the stages of Espresso Classic, Barista Pro and Drip Home "
        "(products[0].stages[0], products[1].stages[0], products[2].stages[0]) are in it, and overhead.Assembly is "
        "its overhead pool; every stage needs one, and accounts.wip gives one for Testing, Packaging only. Add "
        "Assembly: {code, name} under accounts.wip [UNKNOWN_ACCOUNT]"]


def test_a_stage_missing_from_the_chart_leaves_the_other_accounts_tied(tmp_path, capsys, october_closed):
    """In November the general ledger's balance of the missing stage's account is not 'unknown', and
    the other accounts are still tied."""
    november = copy.deepcopy(NOVEMBER)
    del november["accounts"]["wip"]["Assembly"]
    november["general_ledger"]["balances"]["1320"] = 5000.00
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert [line.split(": ")[0] for line in lines] == ["accounts.wip", "general_ledger.balances.1320"]
    assert _codes(lines) == ["[UNKNOWN_ACCOUNT]", "[GL_DOES_NOT_TIE]"]


# --- 3. A header problem hides none of the products' own ----------------------------------------

def _header_and_products_wrong(data: dict) -> None:
    data["overhead"]["Packaging"]["rate"] = "abc"
    _stage(_product(data, "Espresso Classic"), "Assembly")["completed"] = 320  # does not flow
    _stage(_product(data, "Barista Pro"), "Assembly")["ending_wip"]["complete"] = 1.6
    _stage(_product(data, "Barista Pro"), "Testing")["added_costs"]["labour"] = -28600
    _product(data, "Drip Home")["shipments"] = 1200


def test_a_bad_overhead_rate_hides_none_of_the_products_problems(tmp_path, capsys):
    data = copy.deepcopy(OCTOBER)
    _header_and_products_wrong(data)
    lines = _refused(tmp_path, capsys, data, "2026-10")
    assert [line.split(": ")[0] for line in lines] == [
        "overhead.Packaging.rate", "products[0].stages[0]", "products[0].stages[1]",
        "products[1].stages[0].ending_wip.complete", "products[1].stages[1].added_costs.labour",
        "products[2].shipments"]
    assert _codes(lines) == ["[NOT_A_NUMBER]", "[UNIT_FLOW]", "[UNIT_FLOW]", "[PROGRESS_OUT_OF_RANGE]",
                             "[NEGATIVE_AMOUNT]", "[SHIPMENTS_EXCEED_STOCK]"]


@pytest.mark.parametrize("change", [
    lambda d: d["overhead"]["Packaging"].update(rate="abc"),
    lambda d: d["overhead"]["Packaging"].update(rate=-0.6),
    lambda d: d["overhead"]["Packaging"].update(driver="labour"),
    lambda d: d["overhead"]["Packaging"].pop("rate"),
    lambda d: d["overhead"].update(Packaging="0.60 of labour"),
    lambda d: d["overhead"].update(Pakaging=d["overhead"].pop("Packaging")),
    lambda d: d["accounts"]["cogs"].update(code=5000),
    lambda d: d["accounts"].pop("finished_goods"),
    lambda d: d["accounts"]["wip"].update(Testing="1320"),
    lambda d: d["accounts"].update(wip=["1310", "1320", "1330"]),
    lambda d: d.update(currency=840),
], ids=["rate not a number", "negative rate", "unknown driver", "no rate", "pool not a mapping",
        "misspelt overhead line", "account code a number", "no finished goods account", "a WIP account as text",
        "WIP accounts as a list", "currency a number"])
def test_a_header_problem_is_one_problem_and_the_products_are_still_checked(tmp_path, capsys, change):
    """The header's problem once, with no follow-on problem in the products that use the part
    refused (the overhead a refused pool would apply, the stages of a refused chart, the places of a
    refused currency), and a product's own problem found all the same."""
    data = copy.deepcopy(OCTOBER)
    change(data)
    lines = _refused(tmp_path, capsys, data, "2026-10")
    assert len(lines) == 1 and not lines[0].startswith("products"), lines
    _product(data, "Drip Home")["shipments"] = -5
    lines = _refused(tmp_path, capsys, data, "2026-10")
    assert len(lines) == 2 and lines[1].startswith("products[2].shipments: cannot be negative"), lines


def test_a_refused_pool_still_asks_for_a_driver_quantity_it_needs(tmp_path, capsys):
    """Only what depends on the refused rate is held back: the driver (machine hours) is known, so a
    product that gives no quantity is told."""
    data = copy.deepcopy(OCTOBER)
    data["overhead"]["Testing"]["rate"] = "abc"
    del _stage(_product(data, "Barista Pro"), "Testing")["driver_quantity"]
    assert _codes(_refused(tmp_path, capsys, data, "2026-10")) == ["[NOT_A_NUMBER]", "[MISSING_DRIVER_QUANTITY]"]


def test_an_unknown_currency_does_not_count_the_products_places(tmp_path, capsys):
    data = copy.deepcopy(OCTOBER)
    data["currency"] = ["USD"]
    _stage(_product(data, "Drip Home"), "Assembly")["added_costs"]["labour"] = 2850.001
    assert _codes(_refused(tmp_path, capsys, data, "2026-10")) == ["[WRONG_TYPE]"]


# --- 4. The general-ledger tie is reported beside header problems -------------------------------

def test_the_tie_is_reported_beside_a_header_problem(tmp_path, capsys, october_closed):
    november = copy.deepcopy(NOVEMBER)
    november["materiality"] = "abc"
    november["general_ledger"]["balances"]["1400"] = 19000.00
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert [line.split(": ")[0] for line in lines] == ["materiality", "general_ledger.balances.1400"]
    assert "the general ledger shows 19000.00 before this close; the WIP ledger's opening finished goods is " \
           "19278.95; difference (GL − WIP ledger) -278.95" in lines[1]


def test_an_overhead_problem_holds_back_only_the_overhead_control_tie(tmp_path, capsys, october_closed):
    november = copy.deepcopy(NOVEMBER)
    november["overhead"]["Packaging"]["actual"] = "abc"
    november["general_ledger"]["balances"].update({"1310": 7000.00, "5900": 1.00})
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert [line.split(": ")[0] for line in lines] == ["overhead.Packaging.actual", "general_ledger.balances.1310"]


def test_a_refused_balance_holds_back_only_its_own_tie(tmp_path, capsys, october_closed):
    """Review: one balance typed as text dropped the whole general-ledger section, so a WIP account
    off by 1.00 went unsaid (the close workbook said it)."""
    november = copy.deepcopy(NOVEMBER)
    balances = november["general_ledger"]["balances"]
    balances["1330"] = "abc"
    balances["1320"] = float(balances["1320"]) + 1
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert [line.split(": ")[0] for line in lines] == ["general_ledger.balances.1330", "general_ledger.balances.1320"]
    assert _codes(lines) == ["[NOT_A_NUMBER]", "[GL_DOES_NOT_TIE]"]


def test_a_code_given_unquoted_beside_its_quoted_self_holds_back_that_codes_tie(tmp_path, capsys, october_closed):
    """Review: 1310 unquoted (refused) beside "1310": the quoted balance was tied, a false difference."""
    november = copy.deepcopy(NOVEMBER)
    balances = november["general_ledger"]["balances"]
    balances["1310"] = float(balances["1310"]) - 561
    balances[1310] = 10560
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert _codes(lines) == ["[WRONG_TYPE]"]


def test_a_first_months_overhead_control_is_tied_though_a_product_is_refused(tmp_path, capsys):
    """The openings of a first month are not known while a product's shape is refused; overhead
    control's figure is the month's actual overhead, which is."""
    data = copy.deepcopy(OCTOBER)
    data["general_ledger"] = {"balances": {"5900": 30000.00, "1400": 1.00}}
    data["products"][0]["stages"][0]["startd"] = data["products"][0]["stages"][0].pop("started")
    lines = _refused(tmp_path, capsys, data, "2026-10")
    assert [line.split(": ")[0] for line in lines] == ["products[0].stages[0].startd", "general_ledger.balances.5900"] \
        or [line.split(": ")[0] for line in lines] == ["general_ledger.balances.5900", "products[0].stages[0].startd"]
    assert _codes(lines).count("[GL_DOES_NOT_TIE]") == 1


# --- 5. Messages say what is expected and what to check -----------------------------------------

def test_shipments_beyond_stock_say_what_to_check(tmp_path, capsys):
    data = copy.deepcopy(OCTOBER)
    _product(data, "Drip Home")["shipments"] = 500
    assert _refused(tmp_path, capsys, data, "2026-10") == [
        "products[2].shipments: Drip Home: shipped 500 units but only 186 finished units were on hand (opening + "
        "completed); difference 314. Check this month's shipments, then the units the last stage completed and the "
        "opening finished goods [SHIPMENTS_EXCEED_STOCK]"]


def test_a_negative_cost_says_what_is_expected(tmp_path, capsys):
    data = copy.deepcopy(OCTOBER)
    _stage(_product(data, "Barista Pro"), "Testing")["added_costs"]["labour"] = -28600.00
    assert _refused(tmp_path, capsys, data, "2026-10") == [
        "products[1].stages[1].added_costs.labour: cost cannot be negative: expected zero or more, found -28600.0; "
        "check the sign of the value typed here [NEGATIVE_AMOUNT]"]


# --- 6. --product matches as a close file does ---------------------------------------------------

@pytest.mark.parametrize("written", ["espresso classic", "ESPRESSO  Classic", " Espresso Classic "])
def test_report_product_matches_whatever_the_case_and_spacing(october_closed, capsys, written):
    assert main(["report", "--period", "2026-10", "--product", written, "--ledger", str(october_closed)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("== Espresso Classic (2026-10, close #1) ==") and "Barista Pro" not in out


def test_a_misspelt_product_is_told_the_product_it_is_likely(october_closed, capsys):
    assert main(["report", "--period", "2026-10", "--product", "Espreso Clasic", "--ledger", str(october_closed)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "error: --product: 'Espreso Clasic' is not a product of the 2026-10 close (did you mean 'Espresso Classic'?); "
        "products: Espresso Classic, Barista Pro, Drip Home [UNKNOWN_PRODUCT]",
        "1 problem found."]


# --- 7. verify --head: a head that differs from a chain that verifies ---------------------------

def test_verify_tells_a_head_that_differs_from_a_chain_that_verifies(october_closed, capsys):
    assert main(["verify", "--ledger", str(october_closed)]) == 0
    head = next(line for line in capsys.readouterr().out.splitlines() if "Ledger head:" in line).split()[2]
    assert main(["verify", "--ledger", str(october_closed), "--head", "1:deadbeef00"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"error: --head: expected event 1 with hash deadbeef00, as given; found that its event 1 has hash "
        f"{head[2:18]}… (1 event, head {head[:18]}…). The hash chain of {october_closed} itself verifies: check the "
        "head against where it was kept (a digit mistyped?) and that it was printed for this ledger; if both hold, "
        "the ledger was rewritten with its hashes recomputed after the head was noted — go back to a copy kept with "
        "it [LEDGER_TAMPERED]",
        "1 problem found."]
    assert main(["verify", "--ledger", str(october_closed), "--head", "2:deadbeef00"]) == 1
    assert "found that it holds no event 2 (1 event, " in capsys.readouterr().err
    assert main(["verify", "--ledger", str(october_closed), "--head", head[:12]]) == 0


def test_a_stage_moved_to_another_account_is_not_also_an_unknown_balance(tmp_path, capsys, october_closed):
    """The GL's balance of the account the opening is in, given as asked, is no 'unknown account'
    beside ACCOUNT_CHANGED; the other accounts are still tied."""
    november = copy.deepcopy(NOVEMBER)
    november["accounts"]["wip"]["Testing"]["code"] = "1399"
    november["general_ledger"]["balances"]["1310"] = 1.00
    lines = _refused(tmp_path, capsys, november, "2026-11", october_closed)
    assert [line.split(": ")[0] for line in lines] == ["accounts.wip.Testing.code", "general_ledger.balances.1310"]
    assert _codes(lines) == ["[ACCOUNT_CHANGED]", "[GL_DOES_NOT_TIE]"]
