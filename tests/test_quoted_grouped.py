"""A quoted amount written like 2.900 is refused under a '.'-grouping locale as an unquoted one is:
close files written by scripts often quote their decimals (JSON strings), and "2.900" posted as
2.90 is a thousand times too little."""

from __future__ import annotations

import json

import pytest
import yaml

from costing._casefile import read_data_file
from costing._numbers import TypedLikeGrouped, to_decimal
from costing.cli import main
from tests.demo_data import demo


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_quoted_amount_like_2_900_is_refused_under_de_DE(tmp_path, capsys, suffix):
    data = demo("2026-10")
    data["locale"] = "de_DE"
    data["products"][0]["stages"][0]["added_costs"]["materials"] = "36.000"  # quoted
    path = tmp_path / f"close{suffix}"
    text = json.dumps(data, default=str) if suffix == ".json" else yaml.safe_dump(json.loads(json.dumps(data, default=str)))
    path.write_text(text)
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.db")]) == 2
    err = capsys.readouterr().err
    assert "added_costs.materials: 36.000" in err and "most likely 36000" in err and "[AMOUNT_PRECISION]" in err
    assert not (tmp_path / "l.db").exists()  # refused before a ledger is made


def test_quoted_text_stays_text_and_reads_as_a_marked_number(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text('code: "1.100"\nplain: 1.100\nname: Assembly\nother: "12.50"\n')
    data, issues = read_data_file(path)
    assert not issues and data["code"] == "1.100" and isinstance(data["code"], str)
    assert type(to_decimal(data["code"])) is TypedLikeGrouped and to_decimal(data["code"]) == to_decimal("1.100")
    assert type(data["plain"]) is TypedLikeGrouped
    assert type(data["name"]) is str and type(to_decimal(data["other"])) is not TypedLikeGrouped
