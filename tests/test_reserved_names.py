"""Names the case file's own keys take: no element may be called so."""

from __future__ import annotations

from pathlib import Path

from costing.cli import main

DEMO_CASE = Path(__file__).resolve().parent.parent / "examples" / "demo" / "case.yaml"


def test_an_element_named_progress_is_reserved(tmp_path, capsys):
    """`complete: {progress: 0.9}` is the stage's completion: an element of that name would have its
    own completion read as the stage's without a word."""
    text = DEMO_CASE.read_text()
    old = "      materials:  {kind: material,   added: start}"
    assert old in text
    path = tmp_path / "case.yaml"
    path.write_text(text.replace(old, "      progress:  {kind: material,   added: start}", 1))
    assert main(["cost", str(path)]) == 2
    err = capsys.readouterr().err
    assert "elements.progress: 'progress' is the key of a stage's own completion" in err and "[RESERVED_NAME]" in err


def _renamed(value):
    """The demo close data with Espresso Classic's... every stage element `labour` named `progress`."""
    if isinstance(value, dict):
        return {("progress" if k == "labour" else k): _renamed(v) for k, v in value.items()}
    return [_renamed(v) for v in value] if isinstance(value, list) else value


def test_a_ledger_holding_an_element_named_progress_is_not_locked_out(tmp_path, monkeypatch, capsys):
    """A ledger an earlier engine recorded with an element named progress (accepted then) is still
    reported, closed onwards, reopened and closed again: the name is read as it was accepted."""
    import yaml

    import costing._resolve as resolve
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from tests.demo_data import demo

    db = tmp_path / "l.db"
    october = {**demo("2026-10"), "products": _renamed(demo("2026-10")["products"])}
    november = {**demo("2026-11"), "products": _renamed(demo("2026-11")["products"])}
    with monkeypatch.context() as before_the_rule:  # the engine that accepted the name
        before_the_rule.setattr(resolve, "PROGRESS", "not reserved yet")
        with Ledger(db) as ledger:
            close_period(october, ledger, user="test")
    path = tmp_path / "close-2026-11.yaml"
    path.write_text(yaml.safe_dump(november, allow_unicode=True))
    assert main(["report", "--period", "2026-10", "--ledger", str(db)]) == 0
    assert main(["close", str(path), "--period", "2026-11", "--ledger", str(db)]) == 0
    assert main(["reopen", "2026-11", "--reason", "test", "--ledger", str(db)]) == 0
    assert main(["close", str(path), "--period", "2026-11", "--ledger", str(db)]) == 0
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(db)]) == 0
    assert "RESERVED_NAME" not in capsys.readouterr().err
    # a new ledger still refuses the name
    fresh = tmp_path / "fresh.db"
    october_path = tmp_path / "close-2026-10.yaml"
    october_path.write_text(yaml.safe_dump(october, allow_unicode=True))
    assert main(["close", str(october_path), "--period", "2026-10", "--ledger", str(fresh)]) == 2
    assert "[RESERVED_NAME]" in capsys.readouterr().err


def test_only_the_stage_whose_element_the_ledger_holds_keeps_the_name(tmp_path, monkeypatch, capsys):
    """The ledger vouches for the element named progress where it holds one (that product's stage),
    not for a new one elsewhere, nor because a stage or product is named progress."""
    import yaml

    import costing._resolve as resolve
    from costing.close_service import close_period
    from costing.ledger import Ledger
    from tests.demo_data import demo

    def renamed_in(products, product_index):
        return [_renamed(p) if i == product_index else p for i, p in enumerate(products)]

    db = tmp_path / "l.db"
    october = {**demo("2026-10"), "products": renamed_in(demo("2026-10")["products"], 0)}
    with monkeypatch.context() as before_the_rule:
        before_the_rule.setattr(resolve, "PROGRESS", "not reserved yet")
        with Ledger(db) as ledger:
            close_period(october, ledger, user="test")
    november = demo("2026-11")
    # the first product keeps its element; the second product names a new one so
    november["products"] = renamed_in(renamed_in(november["products"], 0), 1)
    path = tmp_path / "close-2026-11.yaml"
    path.write_text(yaml.safe_dump(november, allow_unicode=True))
    assert main(["close", str(path), "--period", "2026-11", "--ledger", str(db)]) == 2
    err = capsys.readouterr().err
    second = november["products"][1]["name"]
    assert "[RESERVED_NAME]" in err and "products[1]" in err and "products[0]" not in err, (second, err)


def test_an_element_refused_for_its_name_is_one_problem_not_one_per_cost(tmp_path, capsys):
    """Its costs (beginning WIP's, added) name the element refused: not UNKNOWN_ELEMENT each too."""
    import yaml

    from costing.cli import main
    from tests.demo_data import DEMO

    data = yaml.safe_load((DEMO / "case.yaml").read_text())
    stage = data["stages"][0]
    stage["elements"]["progress"] = stage["elements"].pop("conversion")
    stage["beginning_wip"]["cost"]["progress"] = stage["beginning_wip"]["cost"].pop("conversion")
    stage["added_costs"]["progress"] = stage["added_costs"].pop("conversion")
    path = tmp_path / "case.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["cost", str(path)]) == 2
    err = capsys.readouterr().err
    assert "[RESERVED_NAME]" in err and "UNKNOWN_ELEMENT" not in err and "1 problem found" in err
