"""A month-end close under the ACCA/CIMA process-account convention: normal loss to scrap at
scrap value, abnormal loss and gain to their accounts, journals balanced, roll-forward tied."""

from __future__ import annotations

from decimal import Decimal

import yaml

from costing.close_service import close_period
from costing.ledger import Ledger

from pathlib import Path

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo"


def process_account_demo() -> dict:
    data = yaml.safe_load((DEMO / "close-2026-10.yaml").read_text())
    data["loss_convention"] = "process_account"
    data["accounts"].update(scrap={"code": "1260", "name": "Scrap inventory"},
                            abnormal_loss={"code": "5830", "name": "Abnormal loss"},
                            abnormal_gain={"code": "4830", "name": "Abnormal gain"})
    for product in data["products"]:
        for stage in product["stages"]:
            if stage.pop("spoilage", None) is not None:
                stage["normal_loss"] = {"rate": "0.02", "scrap_value": "15.00"}
    return data


def test_process_account_close_posts_losses_and_ties(tmp_path):
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(process_account_demo(), ledger, user="test")
    for journal in outcome.journals.journals:
        assert journal.total_debit == journal.total_credit
    assert outcome.rollforward.ties_ok
    losses = next(j for j in outcome.journals.journals if j.narration.startswith("Process losses"))
    by_account: dict[str, Decimal] = {}
    for line in losses.lines:
        by_account[line.account] = by_account.get(line.account, Decimal(0)) + line.debit - line.credit
    reports = [s for p in outcome.result.products for s in p.report.stages if s.name == "Testing"]
    normal_scrap = sum(s.normal_loss.total for s in reports)
    abnormal = sum(s.abnormal_loss.total for s in reports) - sum(s.abnormal_gain.total for s in reports)
    scrap = sum(s.scrap.total for s in reports)
    assert normal_scrap > 0 and by_account["1260"] == scrap  # scrap account = cash expected for units lost
    net_abnormal = (sum(s.abnormal_loss.total - s.abnormal_loss.scrap_value for s in reports))
    assert by_account.get("5830", Decimal(0)) == net_abnormal
    assert by_account["1320"] == -(normal_scrap + abnormal)  # WIP-Testing credited with what left it


def test_the_report_of_a_process_account_close_prints_its_stages_as_wip_cost_does(tmp_path, capsys):
    """`wip report` shows Step 2 in parts for spoilage stages only: a process account's Step 2 deducts
    an abnormal gain and gives the normal loss none, so it is printed as `wip cost` prints it."""
    import json

    from costing._text import render_case_report
    from costing.cli import main

    db = tmp_path / "l.db"
    with Ledger(db) as ledger:
        outcome = close_period(process_account_demo(), ledger, user="test")
    assert main(["report", "--period", "2026-10", "--ledger", str(db)]) == 0
    text = capsys.readouterr().out
    for product in outcome.result.products:
        assert render_case_report(product.report).strip() in text
    assert main(["report", "--period", "2026-10", "--json", "--ledger", str(db)]) == 0
    assert all(p["equivalent_units_parts"] == {} for p in json.loads(capsys.readouterr().out))


def test_the_rollforward_says_lost_units_in_the_process_account_words(tmp_path, capsys):
    """The column of what leaves WIP for lost units holds, under process accounts, the normal loss
    at scrap value plus the abnormal loss at full cost (its scrap proceeds credit the abnormal loss
    account, not WIP): the spoilage note ('plus the disposal value of all spoiled units') misread it."""
    from costing.cli import main

    path = tmp_path / "close.yaml"
    path.write_text(yaml.safe_dump(process_account_demo()))
    db = tmp_path / "l.db"
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(db)]) == 0
    capsys.readouterr()
    assert main(["rollforward", "--period", "2026-10", "--ledger", str(db), "--detail"]) == 0
    out = capsys.readouterr().out
    assert "normal loss scrap + abnormal loss" in out and "the normal loss at its scrap value" in out
    assert "disposal (scrap) value of all spoiled units" not in out
    assert "normal spoilage" not in out and "− normal loss − abnormal loss" in out
    # The spoilage convention keeps its own words.
    assert main(["close", str(DEMO / "close-2026-10.yaml"), "--period", "2026-10", "--ledger",
                 str(tmp_path / "s.db")]) == 0
    capsys.readouterr()
    assert main(["rollforward", "--period", "2026-10", "--ledger", str(tmp_path / "s.db")]) == 0
    out = capsys.readouterr().out
    assert "abnormal loss + disposal value" in out and "normal loss scrap" not in out


def test_the_variance_audit_reads_a_process_account_close_cogs_as_posted(tmp_path):
    """The variance audit finds COGS as posted by the journals' memos: a process-account close's ties
    hold (a memo of its own for the proration line broke them; found by the variance property test)."""
    from costing.variance import build_variance_report, load_closes
    from tests.demo_data import demo, on_another_october

    october, november = process_account_demo(), on_another_october(demo("2026-11"))
    november["loss_convention"] = "process_account"
    november["accounts"].update(october["accounts"])
    for product in november["products"]:
        for stage in product["stages"]:
            if stage.pop("spoilage", None) is not None:
                stage["normal_loss"] = {"rate": "0.02", "scrap_value": "15.00"}
            stage.pop("count", None)
    with Ledger(tmp_path / "l.db") as ledger:
        close_period(october, ledger, user="test")
        close_period(november, ledger, user="test")
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    report = build_variance_report(before, after)
    assert report.ties_ok and report.all_sum_exactly
