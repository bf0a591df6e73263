"""`wip report` computes the recorded close again; when this engine cannot, NOT_REPRODUCIBLE says
why (the inputs refused, and by what; other journals), not always "other journals"."""

from __future__ import annotations

import costing.close_service as service
from costing._errors import Issue
from costing.cli import main
from tests.demo_data import DEMO


def _closed(tmp_path, capsys) -> str:
    ledger = str(tmp_path / "l.db")
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger", ledger]) == 0
    capsys.readouterr()
    return ledger


def test_inputs_this_engine_refuses_are_said_with_the_first_problem(tmp_path, capsys, monkeypatch):
    ledger = _closed(tmp_path, capsys)
    refused = [Issue("NOT_A_NUMBER", "products[0].stages[0].added_costs.materials", "expected a number"),
               Issue("UNIT_FLOW", "products[1].stages[0]", "out by one")]
    monkeypatch.setattr(service, "resolve_close", lambda *a, **k: (None, refused))
    assert main(["report", "--period", "2026-10", "--ledger", ledger]) == 2
    err = capsys.readouterr().err
    assert "[NOT_REPRODUCIBLE]" in err and "this engine refuses the inputs it recorded: " \
        "products[0].stages[0].added_costs.materials: expected a number [NOT_A_NUMBER] (and 1 more)" in err


def test_other_journals_are_said_as_such(tmp_path, capsys, monkeypatch):
    ledger = _closed(tmp_path, capsys)
    real = service.build_journals
    monkeypatch.setattr(service, "build_journals", lambda *a, **k: real(*a, **{**k, "id_prefix": "OTHER"}))
    assert main(["report", "--period", "2026-10", "--ledger", ledger]) == 2
    assert "this engine gives other journals from the inputs it recorded" in capsys.readouterr().err


def test_a_close_computed_again_is_reported(tmp_path, capsys):
    ledger = _closed(tmp_path, capsys)
    assert main(["report", "--period", "2026-10", "--ledger", ledger]) == 0
    assert "NOT_REPRODUCIBLE" not in capsys.readouterr().err


def test_costing_problems_are_said_on_one_line(tmp_path, capsys, monkeypatch):
    from costing._errors import CostingError

    ledger = _closed(tmp_path, capsys)

    def refuses(plan, progress=None):
        raise CostingError([Issue("DISPOSAL_EXCEEDS_COST", "stages[0].spoilage", "above its cost"),
                            Issue("ZERO_EQUIVALENT_UNITS", "stages[1]", "no units")])

    monkeypatch.setattr(service, "compute_close", refuses)
    assert main(["report", "--period", "2026-10", "--ledger", ledger]) == 2
    err = capsys.readouterr().err
    line = next(l for l in err.splitlines() if "NOT_REPRODUCIBLE" in l)
    assert "cannot cost the inputs it recorded: stages[0].spoilage: above its cost [DISPOSAL_EXCEEDS_COST] " \
        "(and 1 more)" in line and "ZERO_EQUIVALENT_UNITS" not in err
