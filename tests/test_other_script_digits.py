"""Numbers are written with the digits 0-9.  Python's Decimal reads Arabic-Indic ٣ and full-width ３
as 3, so a quoted amount typed on another keyboard or pasted from another script used to be taken
as its value without a sign; a close posts it, so it is refused, located, with the number to write."""

from __future__ import annotations

import json

import pytest

from costing._numbers import NumberError, to_decimal, to_fraction
from costing.cli import main
from tests.demo_data import demo


@pytest.mark.parametrize("text", ["٣٦٠٠", "３６００", "36٠0.50", "+٣"])
def test_to_decimal_refuses_digits_of_another_script_and_says_what_to_write(text):
    with pytest.raises(NumberError) as e:
        to_decimal(text)
    assert e.value.code == "NOT_A_NUMBER" and "not one of the digits 0-9; write" in e.value.message


def test_a_digit_with_no_decimal_value_is_refused_without_a_suggestion():
    with pytest.raises(NumberError) as e:
        to_decimal("3²")
    assert "not one of the digits 0-9" in e.value.message and "write" not in e.value.message


def test_percent_completion_with_other_digits_is_refused():
    with pytest.raises(NumberError):
        to_fraction("٦٠%")


def test_ascii_numbers_still_read():
    assert to_decimal(" 3600.50 ") == to_decimal("3600.50") and str(to_decimal("-.5")) == "-0.5"


def test_a_close_file_with_an_amount_in_other_digits_is_refused_located_and_nothing_written(tmp_path, capsys):
    data = demo("2026-10")
    data["products"][0]["stages"][0]["added_costs"]["materials"] = "３６０００"
    data["products"][1]["stages"][0]["ending_wip"]["units"] = "٤٠"
    path = tmp_path / "close.json"
    path.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 2
    err = capsys.readouterr().err
    assert "added_costs.materials" in err and "write 36000" in err
    assert "ending_wip.units" in err and "write 40" in err  # both problems at once
    assert not (tmp_path / "l.db").exists()
