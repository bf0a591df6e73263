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


# ---- review of 4d5a44a ---------------------------------------------------------------------------

def excel_csv(tmp_path: Path, delimiter: str, *rows: tuple[str, ...], header=("id", "product", "units", "due")) -> Path:
    """An orders CSV as Excel writes it: UTF-8 with a byte-order mark, CRLF line ends."""
    path = tmp_path / "orders.csv"
    lines = [delimiter.join(header)] + [delimiter.join(row) for row in rows]
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode())
    return path


def flow_units(capsys, ledger: Path, orders: Path) -> list[tuple[str, str]]:
    status, out, err = run_flow(capsys, ledger, "--orders", str(orders), "--json")
    assert status == 0, err
    return [(o["id"], o["units"]) for o in json.loads(out)["orders"]]


def test_a_german_excel_csv_reads_1_500_as_one_thousand_five_hundred(german_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ";", ("A-1", "Barista Pro", "1.500", "2026-12-02"),
                       ("A-2", "Drip Home", "12.000", "2026-12-09"), ("A-3", "Drip Home", "10,5", "2026-12-09"),
                       ("A-4", "Espresso Classic", "1.234,5", "2026-12-09"), ("A-5", "Drip Home", "7", "2026-12-09"))
    assert flow_units(capsys, german_ledger, orders) == [("A-1", "1500"), ("A-2", "12000"), ("A-3", "10.5"),
                                                         ("A-4", "1234.5"), ("A-5", "7")]


def test_a_german_csv_refuses_units_written_with_a_decimal_point(german_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ";", ("A-1", "Barista Pro", "10.5", "2026-12-02"))
    status, _, err = run_flow(capsys, german_ledger, "--orders", str(orders))
    assert status == 2
    assert f"{orders}: line 2, units: expected a number as the close's locale de_DE writes it (1500 or 1.500,5), " \
           "found '10.5' [NOT_A_NUMBER]" in err
    assert "MISSING_KEY" not in err and "1 problem found." in err


@pytest.mark.parametrize("delimiter, units, why", [
    (";", "1.500", "a semicolon-separated file (as Excel writes one where a comma is the decimal separator) and the "
                   "close's locale en_US (a decimal point) disagree on which; write 1500 or 1.5"),
    (";", "1,500", "a semicolon-separated file (as Excel writes one where a comma is the decimal separator) and the "
                   "close's locale en_US (a decimal point) disagree on which; write 1500 or 1.5"),
    ("\t", "12.000", "a tab-separated file does not say which; write 12000 or 12"),
])
def test_a_thousand_or_a_fraction_is_refused_where_the_file_and_the_locale_disagree(demo_ledger, tmp_path, capsys,
                                                                                    delimiter, units, why):
    orders = excel_csv(tmp_path, delimiter, ("A-1", "Barista Pro", units, "15/12/2026"))
    status, out, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2 and out == ""
    assert f"{orders}: line 2, units: '{units}' is" in err and why + " [INVALID_FORMAT]" in err
    # The row's other values are still checked; its units are not also missing.
    assert f"{orders}: line 2, due: expected a date YYYY-MM-DD" in err
    assert "MISSING_KEY" not in err and "2 problems found." in err


def test_a_comma_csv_for_a_german_close_refuses_1_500_too(german_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ",", ("A-1", "Barista Pro", "1.500", "2026-12-02"))
    status, _, err = run_flow(capsys, german_ledger, "--orders", str(orders))
    assert status == 2 and "line 2, units: '1.500' is 1500 if '.' groups thousands and 1.5 if it is the decimal " \
                           "separator: a comma-separated file" in err and "[INVALID_FORMAT]" in err


def test_a_comma_csv_for_an_english_close_and_yaml_orders_keep_the_decimal_point(demo_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ",", ("A-1", "Barista Pro", "1.500", "2026-12-02"))
    assert flow_units(capsys, demo_ledger, orders) == [("A-1", "1.5")]
    yaml_orders = tmp_path / "orders.yaml"
    yaml_orders.write_text("orders:\n  - {id: A-1, product: Barista Pro, units: '1.500', due: 2026-12-02}\n")
    assert flow_units(capsys, demo_ledger, yaml_orders) == [("A-1", "1.5")]


def test_a_csv_header_in_title_case_is_read(demo_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ";", ("A-1", "Barista Pro", "20", "2026-12-02"),
                       header=("ID", "Product", "Units", "Due"))
    assert flow_units(capsys, demo_ledger, orders) == [("A-1", "20")]


def test_a_csv_header_naming_a_column_twice_is_refused(demo_ledger, tmp_path, capsys):
    orders = excel_csv(tmp_path, ",", ("Barista Pro", "20", "2026-12-02", "3"),
                       header=("product", "units", "due", "Units"))
    status, _, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2 and f"{orders}: line 1: column 'units' is in the header twice" in err


def test_a_csv_row_is_located_at_the_line_it_starts_on(demo_ledger, tmp_path, capsys):
    orders = tmp_path / "orders.csv"
    orders.write_text('product,units,due\n"Espresso\nClassic",10,2026-12-15\n\nDrip Home,-5,2026-12-20\n')
    status, _, err = run_flow(capsys, demo_ledger, "--orders", str(orders))
    assert status == 2
    assert f"{orders}: line 2, product: 'Espresso\\nClassic' is not a product" in err
    assert f"{orders}: line 5, units: must be more than zero, found -5 [NEGATIVE_UNITS]" in err


@pytest.mark.parametrize("edit, noted", [
    (lambda d: d["products"][2].update(name="Drip Home Mini"),
     "standards for Drip Home Mini: not in the 2026-11 close"),
    (lambda d: stage(d, "Espresso Classic", "Testing").update(name="Retesting"),
     "standards for Espresso Classic / Retesting: no such stage in the 2026-11 close"),
    (lambda d: stage(d, "Espresso Classic", "Testing").update(name="Testing 2"),
     "standards for Espresso Classic / Testing 2: no such stage in the 2026-11 close"),
])
def test_a_name_with_a_word_or_prefix_added_is_another_name_not_a_typo(demo_ledger, tmp_path, capsys, edit, noted):
    status, out, err = run_standards(capsys, demo_ledger, standards(tmp_path, edit))
    assert status == 0, err
    assert noted in out


@pytest.mark.parametrize("name", ["Testin", "testing", "Tetsing", "Tsting"])
def test_a_slip_or_two_is_still_a_typo(demo_ledger, tmp_path, capsys, name):
    status, _, err = run_standards(capsys, demo_ledger, standards(
        tmp_path, lambda d: stage(d, "Espresso Classic", "Testing").update(name=name)))
    assert status == 2 and "did you mean 'Testing'?" in err and "[UNKNOWN_STAGE]" in err


@pytest.mark.parametrize("overhead, problem", [
    (["Assembly"], "overhead: expected a mapping of keys, found a list ['Assembly'] [WRONG_TYPE]"),
    ({"Assembly": 5}, "overhead.Assembly: expected a mapping of keys, found 5 [WRONG_TYPE]"),
])
def test_a_refused_overhead_section_is_one_problem_not_missing_standards_too(demo_ledger, tmp_path, capsys, overhead,
                                                                            problem):
    def edit(d):
        if isinstance(overhead, dict):
            d["overhead"].update(overhead)
        else:
            d["overhead"] = overhead
    status, _, err = run_standards(capsys, demo_ledger, standards(tmp_path, edit))
    assert status == 2 and problem in err
    assert "MISSING_OVERHEAD_STANDARD" not in err and "1 problem found." in err


def test_the_variance_commands_locate_a_ledger_problem_at_the_ledger_option(tmp_path, capsys):
    status = main(["flow", "--period", "2026-11", "--ledger", str(tmp_path / "none.db")])
    assert status == 2 and "error: --ledger: " in capsys.readouterr().err


@pytest.mark.parametrize("args, said", [
    (["flow", "--period", "2026-13"], "month 13 does not exist (months are 01 to 12): expected a month YYYY-MM, "
                                      "found '2026-13' [INVALID_FORMAT]"),
    (["variance", "--from", "2026-1", "--to", "2026-11"], "the month needs two digits"),
    (["standards", "--period", "2026-11", "--locale", "xx_YY"],
     "unknown locale 'xx_YY'; expected e.g. en_US, de_DE [UNKNOWN_LOCALE]"),
])
def test_the_variance_commands_arguments_say_what_is_wrong_with_a_code(capsys, args, said):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2 and said in capsys.readouterr().err
