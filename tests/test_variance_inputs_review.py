"""The variance commands' inputs, as a new user writes them: a misspelt stage, product or element in
a standards file, every problem of a standards or orders file at once, an orders CSV from Excel
(semicolons, day/month dates, line numbers), the flow command's numeric arguments, and the reports'
locale defaulting to the close's."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import DEMO, demo, read_clean

STANDARDS = DEMO / "standards.yaml"


@pytest.fixture(scope="module")
def german_ledger(tmp_path_factory) -> Path:
    """The demo's two months closed with locale de_DE."""
    path = tmp_path_factory.mktemp("de") / "wip-ledger.db"
    with Ledger(path) as ledger:
        for period in ("2026-10", "2026-11"):
            close_period({**demo(period), "locale": "de_DE"}, ledger, user="test")
    return path


def standards(tmp_path: Path, edit) -> Path:
    data = copy.deepcopy(read_clean(STANDARDS))
    edit(data)
    path = tmp_path / "standards.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(data, default=str)), sort_keys=False))
    return path


def run_standards(capsys, ledger: Path, path: Path) -> tuple[int, str, str]:
    status = main(["standards", "--period", "2026-11", "--standards", str(path), "--ledger", str(ledger)])
    out, err = capsys.readouterr()
    return status, out, err


def stage(data: dict, product: str, name: str) -> dict:
    return next(s for p in data["products"] if p["name"] == product for s in p["stages"] if s["name"] == name)


# ---- 1. a near-miss name is a typo, refused with what it likely is --------------------------------

def test_a_misspelt_stage_whose_real_stage_has_no_standard_is_refused_with_a_suggestion(demo_ledger, tmp_path,
                                                                                        capsys):
    path = standards(tmp_path, lambda d: stage(d, "Espresso Classic", "Testing").update(name="Tesitng"))
    status, out, err = run_standards(capsys, demo_ledger, path)
    assert status == 2 and out == ""
    assert f"{path}: products[0].stages[1].name: Espresso Classic has no stage 'Tesitng'" in err
    assert "did you mean 'Testing'?" in err and "[UNKNOWN_STAGE]" in err


def test_a_misspelt_product_and_element_are_refused_too(demo_ledger, tmp_path, capsys):
    def edit(d):
        d["products"][2]["name"] = "Drip home"
        elements = stage(d, "Barista Pro", "Assembly")["elements"]
        elements["labor"] = elements.pop("labour")
    status, _, err = run_standards(capsys, demo_ledger, standards(tmp_path, edit))
    assert status == 2
    assert "products[2].name: 'Drip home' is not a product of the 2026-11 close" in err
    assert "did you mean 'Drip Home'?" in err and "[UNKNOWN_PRODUCT]" in err
    assert "products[1].stages[0].elements.labor:" in err and "did you mean 'labour'?" in err
    assert "[UNKNOWN_ELEMENT]" in err


def test_a_misspelt_overhead_stage_is_refused_and_its_products_not_asked_for_one(demo_ledger, tmp_path, capsys):
    status, _, err = run_standards(capsys, demo_ledger, standards(
        tmp_path, lambda d: d["overhead"].update(Tesitng=d["overhead"].pop("Testing"))))
    assert status == 2
    assert "overhead.Tesitng:" in err and "did you mean 'Testing'?" in err and "[UNKNOWN_STAGE]" in err
    assert "MISSING_OVERHEAD_STANDARD" not in err and "1 problem found." in err


def test_a_stage_the_month_does_not_have_and_like_none_of_its_is_still_only_noted(demo_ledger, tmp_path, capsys):
    path = standards(tmp_path, lambda d: d["products"][0]["stages"].append(
        {"name": "Calibration", "elements": {"labour": {"cost_per_eu": 4}}}))
    status, out, _ = run_standards(capsys, demo_ledger, path)
    assert status == 0
    assert "standards for Espresso Classic / Calibration: no such stage in the 2026-11 close" in out


# ---- 2. every problem at once ------------------------------------------------------------------

def test_every_problem_of_a_standards_file_is_reported_at_once(demo_ledger, tmp_path, capsys):
    def edit(d):
        assembly = stage(d, "Espresso Classic", "Assembly")["elements"]
        assembly["materials"]["price"] = "118,00"
        assembly["labour"]["quantity"] = -2
        stage(d, "Espresso Classic", "Testing")["name"] = "Tesitng"
    status, _, err = run_standards(capsys, demo_ledger, standards(tmp_path, edit))
    assert status == 2
    assert "products[0].stages[0].elements.materials.price: expected a number, found '118,00' [NOT_A_NUMBER]" in err
    assert "products[0].stages[0].elements.labour.quantity:" in err and "[NEGATIVE_UNITS]" in err
    assert "products[0].stages[1].name:" in err and "[UNKNOWN_STAGE]" in err
    # The refused price is not reported a second time as a missing one.
    assert "INCOMPLETE_STANDARD" not in err and "3 problems found." in err


def test_a_standards_entry_without_a_name_hides_nothing_else(demo_ledger, tmp_path, capsys):
    def edit(d):
        stage(d, "Drip Home", "Assembly")["elements"]["materials"]["price"] = -46
        d["products"][0].pop("name")
    status, _, err = run_standards(capsys, demo_ledger, standards(tmp_path, edit))
    assert status == 2
    assert "products[0].name: required key 'name' is missing [MISSING_KEY]" in err
    assert "products[2].stages[0].elements.materials.price:" in err and "[NEGATIVE_AMOUNT]" in err


def run_flow(capsys, ledger: Path, *args: str) -> tuple[int, str, str]:
    status = main(["flow", "--period", "2026-11", "--ledger", str(ledger), *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_every_problem_of_an_orders_csv_at_once_located_by_line(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text("product,units,due\n"
                      "Espresso Classic,10,2026-12-15\n"
                      "Barista Pro,-5,15/12/2026\n"
                      'Drip Home,"1.234,5",2026-12-01\n'
                      "Nope,3,2026-12-01\n")
    status, out, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2 and out == ""
    assert f"{orders}: line 3, due: expected a date YYYY-MM-DD (2026-12-15), found '15/12/2026' " \
           "[INVALID_FORMAT]" in err
    assert f"{orders}: line 3, units: must be more than zero, found -5 [NEGATIVE_UNITS]" in err
    assert f"{orders}: line 4, units: expected a number, found '1.234,5' [NOT_A_NUMBER]" in err
    assert f"{orders}: line 5, product: 'Nope' is not a product" in err and "[UNKNOWN_PRODUCT]" in err
    assert "4 problems found." in err


def test_orders_in_yaml_are_located_by_their_place_in_the_list(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.yaml"
    orders.write_text("orders:\n"
                      "  - {product: Barista Pro, units: -5, due: 15/12/2026}\n"
                      "  - {product: Drip hom, units: 3, due: 2026-12-01}\n")
    status, _, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2
    assert "orders[0].due: expected a date YYYY-MM-DD" in err and "orders[0].units:" in err
    assert "orders[1].product: 'Drip hom' is not a product" in err and "did you mean 'Drip Home'?" in err


# ---- 3. an orders CSV from Excel -----------------------------------------------------------------

@pytest.mark.parametrize("delimiter", [";", "\t"])
def test_an_orders_csv_separated_by_semicolons_or_tabs_is_read(demo_ledger, tmp_path, capsys, delimiter):
    orders = tmp_path / "orders.csv"
    orders.write_text("\ufeff" + delimiter.join(["id", "product", "units", "due"]) + "\n"
                      + delimiter.join(["A-1", "Barista Pro", "20", "2026-12-02"]) + "\n", encoding="utf-8")
    status, out, err = run_flow(capsys, demo_ledger, "--orders", str(orders), "--json")
    assert status == 0, err
    (order,) = json.loads(out)["orders"]
    assert (order["id"], order["product"], order["units"]) == ("A-1", "Barista Pro", "20")


def test_a_row_with_more_values_than_columns_is_refused_not_cut(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text("product,units,due\nBarista Pro,1,5,2026-12-02\n")
    status, _, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2 and f"{orders}: line 2: 4 values for 3 columns" in err and "[INVALID_FORMAT]" in err


# ---- 4. the flow command's numbers ---------------------------------------------------------------

@pytest.mark.parametrize("args, said", [
    (["--periods", "0"], "argument --periods: expected a whole number of at least 1, found '0'"),
    (["--periods", "-3"], "argument --periods: expected a whole number of at least 1, found '-3'"),
    (["--cover-periods", "0"], "argument --cover-periods: expected a whole number of at least 1, found '0'"),
    (["--horizon-days", "-1"], "argument --horizon-days: expected a whole number of at least 0, found '-1'"),
])
def test_flow_refuses_a_period_count_or_horizon_out_of_range(demo_ledger, capsys, args, said):
    with pytest.raises(SystemExit) as exit_:
        main(["flow", "--period", "2026-11", "--ledger", str(demo_ledger), *args])
    assert exit_.value.code == 2 and said in capsys.readouterr().err


def test_a_cover_band_low_above_high_is_a_range_error(demo_ledger, capsys):
    status, _, err = run_flow(capsys, demo_ledger, "--cover-band", "8-4")
    assert status == 2 and "LOW 8 is above HIGH 4" in err and "[INVALID_RANGE]" in err


# ---- 6. the reports' locale is the close's unless --locale is given -------------------------------

def test_the_variance_commands_default_to_the_closes_locale(german_ledger, tmp_path, capsys):
    assert main(["flow", "--period", "2026-11", "--ledger", str(german_ledger)]) == 0
    assert "21,57" in capsys.readouterr().out  # Assembly's units completed per day
    assert main(["flow", "--period", "2026-11", "--ledger", str(german_ledger), "--locale", "en_US"]) == 0
    assert "21.57" in capsys.readouterr().out
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(german_ledger)]) == 0
    assert "125.726,46" in capsys.readouterr().out
    assert main(["standards", "--period", "2026-11", "--standards", str(STANDARDS),
                 "--ledger", str(german_ledger)]) == 0
    assert "148.568,00" in capsys.readouterr().out


# ---- 5. wording ----------------------------------------------------------------------------------

def test_one_product_without_an_overhead_quantity_is_said_in_the_singular(demo_ledger, tmp_path, capsys):
    path = standards(tmp_path, lambda d: stage(d, "Espresso Classic", "Testing")["elements"].update(
        overhead={"cost_per_eu": 6}))
    status, out, _ = run_standards(capsys, demo_ledger, path)
    assert status == 0
    assert "overhead Testing: Espresso Classic has no standard driver quantity" in out
    assert "Espresso Classic have" not in out
