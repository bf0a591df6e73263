"""A close recorded before numbers had to be written in 0-9 (engines before 0.4.0's digits check
read ３６０００ as 36000, and posted it) is still computed again as it was: `wip report`,
`wip diff`, the variance audit and standards read its inputs as that engine did.  A file being
closed is refused (tests/test_other_script_digits.py)."""

from __future__ import annotations

import json

import pytest

from costing._numbers import NumberError, reading_recorded, to_decimal
from costing.cli import main
from tests.demo_data import DEMO, demo

FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _close_as_an_older_engine_did(tmp_path, ledger: str, data: dict, period: str) -> None:
    path = tmp_path / f"close-{period}-older.json"
    path.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    with reading_recorded():  # as the older engine read such digits
        assert main(["close", str(path), "--period", period, "--ledger", ledger]) == 0


@pytest.fixture
def ledger_with_an_older_close(tmp_path, capsys):
    data = demo("2026-10")
    stage = data["products"][0]["stages"][0]
    stage["added_costs"]["materials"] = str(stage["added_costs"]["materials"]).translate(FULLWIDTH)
    ledger = str(tmp_path / "l.db")
    _close_as_an_older_engine_did(tmp_path, ledger, data, "2026-10")
    assert main(["close", str(DEMO / "close-2026-11.yaml"), "--period", "2026-11", "--ledger", ledger]) == 0
    capsys.readouterr()
    return ledger


def test_report_variance_and_standards_read_the_recorded_close_as_it_was(ledger_with_an_older_close, capsys):
    ledger = ledger_with_an_older_close
    assert main(["report", "--period", "2026-10", "--ledger", ledger]) == 0
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", ledger]) == 0
    assert main(["standards", "--period", "2026-10", "--standards", str(DEMO / "standards.yaml"),
                 "--ledger", ledger]) == 0
    assert "NOT_A_NUMBER" not in capsys.readouterr().err


def test_diff_splits_a_change_from_a_recorded_close_with_such_digits(tmp_path, capsys):
    ledger = str(tmp_path / "l.db")
    data = demo("2026-10")
    stage = data["products"][0]["stages"][0]
    written = str(stage["added_costs"]["materials"])
    stage["added_costs"]["materials"] = written.translate(FULLWIDTH)
    _close_as_an_older_engine_did(tmp_path, ledger, data, "2026-10")
    assert main(["reopen", "2026-10", "--reason", "late invoice", "--ledger", ledger]) == 0
    stage["added_costs"]["materials"] = str(to_decimal(written) + 100)
    path = tmp_path / "close-2026-10.json"
    path.write_text(json.dumps(data, default=str), encoding="utf-8")
    assert main(["close", str(path), "--period", "2026-10", "--ledger", ledger]) == 0
    capsys.readouterr()
    assert main(["diff", "2026-10", "--ledger", ledger, "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert diff["attributed"] is True and [s["what"] for s in diff["steps"]] == ["inputs"]


def test_outside_a_recorded_reading_the_digits_are_refused():
    with pytest.raises(NumberError):
        to_decimal("３６０００.００")
    with reading_recorded():
        assert to_decimal("３６０００.００") == to_decimal("36000.00")
    with pytest.raises(NumberError):  # the reading ends with the block
        to_decimal("３６０００.００")
