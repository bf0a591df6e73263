"""A close file's stage refused for a value that is not a money amount (units typed as text, an
element kind misspelt, a key missing or unknown) used to hide every other problem of its product:
the accountant fixed it, closed again and met the next.  Now the product's other stages are checked
with a stand-in for the refused value, and what reads it is held back — nothing more."""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from tests.test_close_errors import _refused_lines

ROOT = Path(__file__).resolve().parent.parent
OCTOBER = yaml.safe_load((ROOT / "examples/demo/close-2026-10.yaml").read_text())


def _codes(lines: list[str]) -> list[tuple[str, str]]:
    return [(line.split(": ")[0], line.rsplit(" ", 1)[-1]) for line in lines]


def _october() -> dict:
    return copy.deepcopy(OCTOBER)


def test_units_typed_as_text_hide_no_other_stage_nor_product(tmp_path, capsys):
    data = _october()
    espresso = data["products"][0]["stages"]
    espresso[0]["started"] = "abc"
    espresso[1]["ending_wip"]["complete"] = 1.5
    espresso[2]["added_costs"]["labour"] = -1770
    data["products"][1]["stages"][0]["ending_wip"]["complete"] = 3
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].started", "[NOT_A_NUMBER]"),
        ("products[0].stages[1].ending_wip.complete", "[PROGRESS_OUT_OF_RANGE]"),
        ("products[0].stages[2].added_costs.labour", "[NEGATIVE_AMOUNT]"),
        ("products[1].stages[0].ending_wip.complete", "[PROGRESS_OUT_OF_RANGE]")]


def test_a_misspelt_element_kind_or_addition_point_hides_no_other_stage(tmp_path, capsys):
    data = _october()
    espresso = data["products"][0]["stages"]
    espresso[0]["elements"]["overhead"]["kind"] = "xyz"
    espresso[0]["elements"]["labour"]["added"] = "evnly"
    espresso[1]["ending_wip"]["units"] = -4
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].elements.labour.added", "[INVALID_CHOICE]"),
        ("products[0].stages[0].elements.overhead.kind", "[INVALID_CHOICE]"),
        ("products[0].stages[1].ending_wip.units", "[NEGATIVE_UNITS]")]


def test_refused_completed_units_hold_back_what_the_next_stage_received(tmp_path, capsys):
    """Testing received what Assembly completed: with that refused, Testing's unit flow is not
    known, and a stand-in must not make it look wrong."""
    data = _october()
    data["products"][0]["stages"][0]["completed"] = "three hundred ten"
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].completed", "[NOT_A_NUMBER]")]
    data = _october()
    del data["products"][0]["stages"][0]["completed"]
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].completed", "[MISSING_KEY]")]


def test_refused_completed_units_of_the_last_stage_hold_back_the_shipments(tmp_path, capsys):
    data = _october()
    espresso = data["products"][0]
    espresso["stages"][2]["completed"] = "x"
    espresso["shipments"] = 10_000  # beyond stock only as the stand-in reads it: not known
    espresso["stages"][0]["count"] = 500  # beyond the flow of Assembly, whose units are all given
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].count", "[COUNT_EXCEEDS_FLOW]"),
        ("products[0].stages[2].completed", "[NOT_A_NUMBER]")]


def test_a_misspelt_beginning_wip_key_leaves_the_opening_untied(tmp_path, capsys):
    """`begining_wip:` may hold the opening meant: the general-ledger tie of the WIP accounts is not
    made without it (it would show a difference that is not there), overhead control's still is."""
    data = _october()
    assembly = data["products"][0]["stages"][0]
    assembly["begining_wip"] = assembly.pop("beginning_wip")
    data["products"][1]["stages"][1]["ending_wip"]["complete"] = 2
    data["general_ledger"] = {"balances": {"1310": 10560.00, "5900": 1.00}}  # 1310 as the file's openings
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("general_ledger.balances.5900", "[GL_DOES_NOT_TIE]"),
        ("products[0].stages[0].begining_wip", "[UNKNOWN_KEY]"),
        ("products[1].stages[1].ending_wip.complete", "[PROGRESS_OUT_OF_RANGE]")]


def test_a_list_where_a_mapping_belongs_still_holds_back_its_product(tmp_path, capsys):
    """Not one value: what the stage means is not known, as documented (docs/errors.md)."""
    data = _october()
    espresso = data["products"][0]["stages"]
    espresso[0]["ending_wip"] = [30, 0.4]
    espresso[1]["ending_wip"]["complete"] = 1.5
    assert [path for path, _ in _codes(_refused_lines(tmp_path, capsys, data))] == [
        "products[0].stages[0].ending_wip"]


def test_a_product_named_twice_is_still_checked_for_its_own_problems(tmp_path, capsys):
    """DUPLICATE_PRODUCT hid every problem of the product named twice: fixing the name brought a
    second round (review)."""
    data = _october()
    drip = data["products"][2]
    drip["name"] = "Espresso Classic"
    drip["stages"][0]["ending_wip"]["complete"] = 1.5
    drip["shipments"] = -4
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[2].name", "[DUPLICATE_PRODUCT]"),
        ("products[2].stages[0].ending_wip.complete", "[PROGRESS_OUT_OF_RANGE]"),
        ("products[2].shipments", "[NEGATIVE_UNITS]")]


def test_in_a_later_month_a_product_named_twice_is_not_compared_with_the_others_opening(tmp_path, capsys):
    """Its opening is the other product's, carried under the name it took: Barista Pro named
    Espresso Classic is not told a unit flow that Espresso's opening would give it."""
    from costing.cli import main

    db = tmp_path / "ledger.db"
    assert main(["close", str(ROOT / "examples/demo/close-2026-10.yaml"), "--period", "2026-10",
                 "--ledger", str(db)]) == 0
    november = yaml.safe_load((ROOT / "examples/demo/close-2026-11.yaml").read_text())
    barista = november["products"][1]
    barista["name"] = "Espresso Classic"
    barista["stages"][0]["ending_wip"]["complete"] = 2
    barista["stages"][1]["ending_wip"]["units"] = -5  # its own problem, whatever its opening (review)
    lines = _refused_lines(tmp_path, capsys, november, "2026-11", db)
    assert [code for code in _codes(lines) if code[0].startswith("products[1]")] == [
        ("products[1].name", "[DUPLICATE_PRODUCT]"),
        ("products[1].stages[0].ending_wip.complete", "[PROGRESS_OUT_OF_RANGE]"),
        ("products[1].stages[1].ending_wip.units", "[NEGATIVE_UNITS]")]
    assert {code for _, code in _codes(lines)} == {"[DUPLICATE_PRODUCT]", "[PROGRESS_OUT_OF_RANGE]",
                                                   "[NEGATIVE_UNITS]", "[PRODUCT_MISSING]"}  # Barista's WIP, stock


def test_problems_are_said_in_the_files_order_of_products_and_stages(tmp_path, capsys):
    """Review: a refused value (found reading the file's shape) was said before the problems found
    resolving earlier stages."""
    data = _october()
    espresso = data["products"][0]["stages"]
    espresso[2]["completed"] = "x"
    espresso[0]["ending_wip"]["complete"] = 2
    data["products"][1]["stages"][1]["ending_wip"]["complete"] = 2
    data["products"][0]["name"] = "Espresso\tClassic"
    assert [path for path, _ in _codes(_refused_lines(tmp_path, capsys, data))] == [
        "products[0].name", "products[0].stages[0].ending_wip.complete", "products[0].stages[2].completed",
        "products[1].stages[1].ending_wip.complete"]


def test_what_reads_refused_completed_units_is_held_back_not_the_next_stages_own_problems(tmp_path, capsys):
    """Review: with Assembly's completed refused, Testing's own negative ending units were held back
    with its unit flow (which reads what Assembly completed), and the last stage's refused completed
    held back a negative shipments with the stock check."""
    data = _october()
    espresso = data["products"][0]
    espresso["stages"][0]["completed"] = "abc"
    espresso["stages"][1]["ending_wip"]["units"] = -22
    espresso["stages"][2]["completed"] = "many"
    espresso["shipments"] = -270
    assert _codes(_refused_lines(tmp_path, capsys, data)) == [
        ("products[0].stages[0].completed", "[NOT_A_NUMBER]"),
        ("products[0].stages[1].ending_wip.units", "[NEGATIVE_UNITS]"),
        ("products[0].stages[2].completed", "[NOT_A_NUMBER]"),
        ("products[0].shipments", "[NEGATIVE_UNITS]")]
