"""YAML 1.1 reads yes, no, on and off as booleans: a product named No became `false` and was refused
as not text, and `started: yes` was told it found True.  No field takes a boolean: they are read as
the text written, as YAML 1.2 reads them; true and false stay booleans (refused where they are)."""

from __future__ import annotations

from pathlib import Path

from costing._casefile import read_data_file
from costing.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_yes_no_on_off_are_read_as_written(tmp_path):
    path = tmp_path / "words.yaml"
    path.write_text("names: [No, yes, On, OFF, y, n]\nflags: [true, False]\non: 1\n")
    data, issues = read_data_file(path)
    assert issues == []
    assert data == {"names": ["No", "yes", "On", "OFF", "y", "n"], "flags": [True, False], "on": 1}


def test_a_product_named_no_closes_and_a_yes_for_units_is_told_as_typed(tmp_path, capsys):
    text = (ROOT / "examples/demo/close-2026-10.yaml").read_text()
    named_no = tmp_path / "close-2026-10.yaml"
    named_no.write_text(text.replace("- name: Espresso Classic", "- name: No", 1))
    assert main(["close", str(named_no), "--period", "2026-10", "--ledger", str(tmp_path / "a.db")]) == 0
    capsys.readouterr()
    assert main(["history", "--ledger", str(tmp_path / "a.db")]) == 0
    yes = tmp_path / "yes" / "close-2026-10.yaml"
    yes.parent.mkdir()
    yes.write_text(text.replace("      started: 300\n", "      started: yes\n", 1))
    assert main(["close", str(yes), "--period", "2026-10", "--ledger", str(tmp_path / "b.db")]) == 2
    err = capsys.readouterr().err
    assert "products[0].stages[0].started: expected a number, found 'yes' [NOT_A_NUMBER]" in err
    assert not (tmp_path / "b.db").exists()
