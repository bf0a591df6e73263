"""What a month-end reader sees: COGS as posted reconciled to the cost of the units shipped, the
production cost report's units in one order (Horngren's), normal spoilage from a rate said so, and
overhead applied shown as the contra account it is in the trial balance."""

from __future__ import annotations

import datetime as dt
import json
import re
from decimal import Decimal as D
from pathlib import Path

import pytest

import costing
from costing._casefile import read_data_file
from costing._engine import equivalent_unit_parts
from costing._journal import Account, Journal, JournalBook, JournalLine
from costing._text import normal_rates, render_case_report
from costing.close._journals import Texts
from costing.close._render import contra_accounts, render_close_summary
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.conftest import run_wip
from tests.demo_data import demo

ROOT = Path(__file__).resolve().parents[1]


def _amount(text: str) -> D:
    return D(text.replace(",", ""))


def _net_posted(ledger: Path, period: str, code: str) -> D:
    result = run_wip("journal", "--period", period, "--by-account", "--json", "--ledger", ledger)
    assert result.returncode == 0, result.stderr
    return next(D(r["net"]) for r in json.loads(result.stdout)["accounts"] if r["account"] == code)


# --- COGS: the finished-goods table's column is the cost of the units shipped; what the journals add

_AS_POSTED = re.compile(r"Cost of goods sold as posted ([\d,.]+) = cost of units shipped ([\d,.]+)(.*)$")


@pytest.mark.parametrize("period", ["2026-10", "2026-11"])
def test_the_rollforward_reconciles_the_cost_of_units_shipped_to_cogs_as_posted(demo_ledger, period):
    text = run_wip("rollforward", "--period", period, "--ledger", demo_ledger)
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    at = lines.index(f"Finished goods {period}:")
    header = lines[at + 1]
    assert "cost of units shipped" in header and " COGS " not in header
    total = next(line for line in lines[at:] if line.strip().startswith("Total"))
    shipped_column = _amount(total.split()[3])  # product, opening, completed, cost of units shipped
    (match,) = [m for m in map(_AS_POSTED.search, lines) if m]
    as_posted, shipped = _amount(match.group(1)), _amount(match.group(2))
    assert shipped == shipped_column
    parts = re.findall(r"([+−]) overhead (written off|prorated) to COGS ([\d,.]+)", match.group(3))
    assert parts, "the demo writes overhead off to COGS in both months"
    assert shipped + sum((_amount(v) if s == "+" else -_amount(v) for s, _, v in parts), D(0)) == as_posted
    assert as_posted == _net_posted(demo_ledger, period, "5000")  # the demo's COGS account holds COGS alone


def test_the_close_summary_says_what_its_cogs_is_made_of(tmp_path):
    with Ledger(tmp_path / "wip-ledger.db") as ledger:
        outcome = close_period(demo("2026-10"), ledger, user="test")
    result = outcome.result
    text = render_close_summary(result, outcome.journals, outcome.rollforward)
    cogs = re.search(r"Cost of goods sold: ([\d,.]+)", text).group(1)
    (match,) = [m for m in map(_AS_POSTED.search, text.splitlines()) if m]
    assert match.group(1) == cogs
    assert _amount(match.group(2)) == sum((p.cogs for p in result.products), D(0))
    assert f"+ overhead written off to COGS {result.written_off_to_cogs:,.2f}" in match.group(3)
    prorated = sum((p.cogs_overhead_adjustment for p in result.products), D(0))
    assert prorated and f"+ overhead prorated to COGS {prorated:,.2f}" in match.group(3)


# --- The production cost report: one order of units in Step 1 and Step 2, and of costs in Step 5


def _step(text: str, step: str) -> list[str]:
    """The row labels of one step's table (the first stage's)."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(step))
    rows = []
    for line in lines[at + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip())[0])
    return rows


def _report(path: Path, with_rates: bool = True) -> str:
    data, issues = read_data_file(path)
    assert not issues
    case = costing.load_case(path)
    report = costing.cost_case(case)
    parts = [equivalent_unit_parts(stage, sr, report.method) for stage, sr in zip(case.stages, report.stages)]
    return render_case_report(report, parts=parts, normal_rates=normal_rates(data["stages"]) if with_rates else None,
                              passing=[stage.completed_passing + stage.ending_passing for stage in case.stages])


_HORNGREN = ["Normal spoilage", "Abnormal spoilage", "Ending WIP"]


FIFO_LAYERS_ROWS = ["beginning WIP, last period's cost", "beginning WIP, cost to complete", "started and completed"]


@pytest.mark.parametrize("case_file", ["tests/textbook/horngren-anzio-spoilage-fifo.yaml",
                                       "tests/textbook/horngren-anzio-spoilage-wa.yaml"])
def test_step_1_and_step_2_list_the_units_in_one_order(case_file):
    text = _report(ROOT / case_file)
    step1 = _step(text, "Step 1")
    step2 = _step(text, "Step 2")
    completed = step1.index("Completed and transferred out")
    assert step1[completed:] == ["Completed and transferred out", *_HORNGREN, "Units accounted for"]
    # Step 2: the completed units (FIFO: to complete beginning WIP, started and completed), then the same.
    assert step2[-4:] == [*_HORNGREN, "Equivalent units"]
    first = ["To complete beginning WIP", "Started and completed"] if "fifo" in case_file else \
        ["Completed and transferred out"]
    assert step2[:-4] == first


def _step_5(text: str) -> list[list[str]]:
    """Each stage's Step 5 row labels."""
    blocks = text.split("Step 5  Assignment of costs\n")[1:]
    return [[re.split(r"\s{2,}", line.strip())[0] for line in block.split("\n\n")[0].splitlines()[1:]]
            for block in blocks]


@pytest.mark.parametrize("case_file", ["tests/textbook/horngren-anzio-spoilage-fifo.yaml",
                                       "tests/textbook/horngren-anzio-spoilage-wa.yaml"])
def test_step_5_assigns_costs_in_the_order_of_steps_1_and_2(case_file):
    """Horngren: good units completed and transferred out (with normal spoilage), abnormal spoilage,
    ending WIP, then the costs accounted for."""
    (rows,) = _step_5(_report(ROOT / case_file))
    # Under FIFO the cost transferred out is shown in its layers, normal spoilage the last of them.
    out = [*FIFO_LAYERS_ROWS, "normal spoilage, net"] if "fifo" in case_file else ["of which normal spoilage, net"]
    assert rows == ["Transferred out", *out, "Abnormal spoilage (loss), net", "Ending WIP", "Costs accounted for"]


def test_step_5_keeps_the_disposal_value_with_the_spoilage_and_ending_wip_last():
    stages = _step_5(_report(ROOT / "examples" / "demo" / "case.yaml"))  # Testing: spoiled goods sold
    # FIFO: the cost transferred out in its layers; no spoilage, no spoilage rows
    assert stages[0] == ["Transferred out", *FIFO_LAYERS_ROWS, "Ending WIP", "Costs accounted for"]
    assert stages[1] == ["Transferred out", *FIFO_LAYERS_ROWS, "normal spoilage, net", "Abnormal spoilage (loss), net",
                         "Spoiled goods at disposal value", "Ending WIP", "Costs accounted for"]


def test_step_5_shows_the_normal_spoilage_ending_wip_carries_under_ending_wip(tmp_path):
    """Inspection at 40%: ending WIP at 50% passed it, so it carries its share of normal spoilage."""
    text = (ROOT / "tests" / "textbook" / "horngren-anzio-spoilage-wa.yaml").read_text()
    assert "inspection: 1.0" in text
    (tmp_path / "early.yaml").write_text(text.replace("inspection: 1.0", "inspection: 0.4"))
    (rows,) = _step_5(_report(tmp_path / "early.yaml"))
    assert rows == ["Transferred out", "of which normal spoilage, net", "Abnormal spoilage (loss), net", "Ending WIP",
                    "of which normal spoilage, net", "Costs accounted for"]


def _demo_case_exact(tmp_path) -> Path:
    """The demo case with normal spoilage from the rate kept exact, fractions of a unit included (the
    demo counts its machines in whole units): Testing's 2% of 410 units is 8.2."""
    text = (ROOT / "examples" / "demo" / "case.yaml").read_text()
    exact = re.sub(r"normal_from_rate: whole_units.*", "normal_from_rate: exact", text)
    assert exact != text
    path = tmp_path / "case-exact.yaml"
    path.write_text(exact)
    return path


def test_normal_spoilage_from_a_rate_that_is_not_whole_says_so(tmp_path):
    text = _report(_demo_case_exact(tmp_path))  # Testing: 2% of 410 units = 8.2
    notes = [line for line in text.splitlines() if "computed from the rate" in line]
    assert notes == ["  Normal spoilage 8.2 units = normal rate 2% × 410 good units passing inspection: computed "
                     "from the rate, not counted."]
    # The same units typed in as units: nothing to say.
    typed = _demo_case_exact(tmp_path).read_text().replace("normal_rate: 0.02", "normal: 8.2")
    assert "normal: 8.2" in typed
    (tmp_path / "typed.yaml").write_text(typed)
    assert "computed from the rate" not in _report(tmp_path / "typed.yaml")


def _capped_case(tmp_path, spoiled: str, rate: str = "0.02") -> Path:
    """Testing: 500 units completed and passing inspection at the end, ``spoiled`` units spoiled,
    normal spoilage ``rate`` of the units passing."""
    path = tmp_path / f"spoiled-{spoiled}-{rate}.yaml"
    path.write_text("currency: USD\nmethod: weighted_average\nstages:\n  - name: Testing\n"
                    "    elements: {mat: {kind: material, added: start}, conv: {kind: conversion, added: evenly}}\n"
                    f"    started: {D(500) + D(spoiled)}\n    completed: 500\n"
                    "    added_costs: {mat: 5035.00, conv: 2517.50}\n"
                    f"    spoilage: {{spoiled: {spoiled}, normal_rate: {rate}, inspection: 1.0}}\n")
    return path


def _testing_step_1(text: str) -> tuple[dict[str, str], list[str]]:
    """Step 1's rows by label, and the notes under its table."""
    lines = text.split("Step 1  Physical units\n")[1].split("\n\n")[0].splitlines()[1:]
    table = [line for line in lines if re.match(r"  \S.*\s{2,}\S+$", line) and " units" not in line]
    rows = {re.split(r"\s{2,}", line.strip())[0]: re.split(r"\s{2,}", line.strip())[-1] for line in table}
    return rows, [line for line in lines if line not in table]


def test_normal_spoilage_capped_at_the_units_spoiled_is_not_said_to_come_from_the_rate(tmp_path):
    """500 good units pass inspection; 2% of them is 10, but only 3.5 were spoiled: all 3.5 are
    normal, counted, not 2% × 175 units (the rate applied backwards)."""
    rows, notes = _testing_step_1(_report(_capped_case(tmp_path, "3.5")))
    assert (rows["Completed and transferred out"], rows["Normal spoilage"], rows["Abnormal spoilage"]) == \
        ("500", "3.5", "0")
    assert notes == ["  Normal spoilage 3.5 units: capped at the 3.5 units spoiled (normal rate 2% × 500 good units "
                     "passing inspection would be 10 units)."]


def test_normal_spoilage_below_the_units_spoiled_is_rate_times_the_units_passing(tmp_path):
    """Above the norm the rate gives normal spoilage (the rest is abnormal): the note says so."""
    rows, notes = _testing_step_1(_report(_capped_case(tmp_path, "10.5")))
    assert (rows["Normal spoilage"], rows["Abnormal spoilage"]) == ("10", "0.5")
    assert notes == []  # 2% × 500 = 10: whole, nothing to say
    rows, notes = _testing_step_1(_report(_capped_case(tmp_path, "12", rate="0.021")))
    assert (rows["Normal spoilage"], rows["Abnormal spoilage"]) == ("10.5", "1.5")
    assert notes == ["  Normal spoilage 10.5 units = normal rate 2.1% × 500 good units passing inspection: computed "
                     "from the rate, not counted."]


def test_without_the_units_passing_the_rate_is_named_only_beside_abnormal_spoilage(tmp_path):
    """The report alone does not tell a cap from rate × units passing, save that a cap leaves no
    abnormal spoilage: without ``passing`` nothing is said of a capped normal spoilage."""
    path = _capped_case(tmp_path, "3.5")
    data, _ = read_data_file(path)
    case = costing.load_case(path)
    text = render_case_report(costing.cost_case(case), normal_rates=normal_rates(data["stages"]))
    assert "2% ×" not in text and "Normal spoilage 3.5 units" not in text


def test_wip_cost_says_normal_spoilage_was_capped_at_the_units_spoiled(tmp_path):
    cost = run_wip("cost", _capped_case(tmp_path, "3.5"))
    assert cost.returncode == 0, cost.stderr
    assert "Normal spoilage 3.5 units: capped at the 3.5 units spoiled (normal rate 2% × 500 good units passing " \
        "inspection would be 10 units)." in cost.stdout
    assert "× 175" not in cost.stdout


def test_a_rate_that_gives_whole_units_needs_no_note():
    text = _report(ROOT / "tests" / "textbook" / "horngren-anzio-spoilage-wa.yaml")
    assert "normal_rate" in (ROOT / "tests" / "textbook" / "horngren-anzio-spoilage-wa.yaml").read_text()
    assert "computed from the rate" not in text


# --- The trial balance: overhead applied is the contra account to overhead control


def test_overhead_applied_is_shown_as_contra_to_overhead_control(demo_ledger):
    text = run_wip("journal", "--period", "2026-11", "--by-account", "--ledger", demo_ledger)
    assert text.returncode == 0, text.stderr
    rows = {line.split()[0]: line for line in text.stdout.splitlines() if re.match(r"\s+\d{4} .*\d$", line)}
    assert "contra-expense" in rows["5910"] and "contra" not in rows["5900"]
    assert re.search(r"\s{2}expense\s", rows["5900"])
    note = next(line for line in text.stdout.splitlines() if line.strip().startswith("5910 Manufacturing overhead"
                                                                                        " applied:"))
    assert "contra account to 5900 Manufacturing overhead control" in note
    assert text.stdout.splitlines()[-1].strip() == "Debits equal credits: balanced"


def test_the_json_trial_balance_names_the_control_account_overhead_applied_is_contra_to(demo_ledger):
    result = run_wip("journal", "--period", "2026-11", "--by-account", "--json", "--ledger", demo_ledger)
    assert result.returncode == 0, result.stderr
    accounts = {a["account"]: a for a in json.loads(result.stdout)["accounts"]}
    assert accounts["5910"]["type"] == "expense" and accounts["5910"]["contra_to"] == ["5900"]
    assert "contra_to" not in accounts["5900"]


def test_beancount_keeps_overhead_applied_under_expenses(demo_ledger, tmp_path):
    result = run_wip("export", "--period", "2026-11", "--format", "beancount", "--out", tmp_path, "--ledger", demo_ledger)
    assert result.returncode == 0, result.stderr
    accounts = (tmp_path / "accounts.beancount").read_text()
    assert "open Expenses:ManufacturingOverheadApplied USD" in accounts


def _book(applied: str, control: str) -> JournalBook:
    chart = {code: Account(code=code, name=f"Account {code}", type="expense") for code in {applied, control}}
    chart["1310"] = Account(code="1310", name="WIP", type="asset")
    lines = (JournalLine(account=applied, debit=D("10.00"), credit=D("0.00"), memo=Texts.OVERHEAD_APPLIED),
             JournalLine(account=control, debit=D("0.00"), credit=D("10.00"), memo=Texts.OVERHEAD_INCURRED))
    return JournalBook(company="Co", currency="USD", period="2026-10", accounts=chart,
                       journals=(Journal(id="WIP-2026-10-001", date=dt.date(2026, 10, 31), narration="true-up",
                                         lines=lines),))


def test_one_account_for_applied_and_incurred_overhead_is_no_contra_account():
    assert contra_accounts(_book("5910", "5900")) == {"5910": ["5900"]}
    assert contra_accounts(_book("5900", "5900")) == {}


def test_wip_cost_and_wip_report_say_a_fractional_normal_spoilage_came_from_the_rate(tmp_path, demo_ledger):
    """The commands pass the file's rates to the report: the resolved case keeps only the units."""
    cost = run_wip("cost", _demo_case_exact(tmp_path))
    assert cost.returncode == 0, cost.stderr
    assert "Normal spoilage 8.2 units = normal rate 2% × 410 good units passing inspection: computed from the rate" \
        in cost.stdout
    # The demo as shipped counts its machines in whole units, and its note says so.
    cost = run_wip("cost", ROOT / "examples" / "demo" / "case.yaml")
    assert cost.returncode == 0, cost.stderr
    assert ("Normal spoilage 8 units = normal rate 2% × 410 good units passing inspection (8.2), rounded half-up to "
            "whole units: computed from the rate") in cost.stdout
    report = run_wip("report", "--period", "2026-11", "--ledger", demo_ledger)
    assert report.returncode == 0, report.stderr
    notes = [line.strip() for line in report.stdout.splitlines() if "computed from the rate" in line]
    assert notes and all(re.match(r"Normal spoilage [\d.]+ units = normal rate 2% × [\d,.]+ good units", n) for n in notes)


def test_a_normal_rate_written_as_a_percent_gets_its_note_too(tmp_path):
    case = _demo_case_exact(tmp_path).read_text()
    assert "normal_rate: 0.02" in case
    path = tmp_path / "case.yaml"
    path.write_text(case.replace("normal_rate: 0.02", 'normal_rate: "2%"'))
    result = run_wip("cost", path)
    assert result.returncode == 0, result.stderr
    assert "Normal spoilage 8.2 units = normal rate 2% × 410 good units passing inspection" in result.stdout


# --- The roll-forward as the accountant who signs it reads it --------------------------------------


def _json(*args) -> dict:
    result = run_wip(*map(str, args))
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _stage_table(text: str) -> tuple[list[str], dict[str, dict[str, str]]]:
    """The "WIP by stage:" table: its column titles, and each row's cells by title."""
    lines = text.splitlines()
    at = lines.index("WIP by stage:")
    titles = re.split(r"\s{2,}", lines[at + 1].strip())
    rows = {}
    for line in lines[at + 2:]:
        cells = line.split()
        if len(cells) != len(titles):  # the table ends where the lines under it begin
            break
        rows[cells[0]] = dict(zip(titles, cells))
    return titles, rows


def test_the_spoilage_column_says_it_holds_abnormal_loss_and_disposal_value(demo_ledger):
    """The money column is what the spoilage journal credits WIP with — abnormal loss plus every
    spoiled unit's disposal value — not the cost of all spoilage: normal spoilage's cost stays with
    the good units.  Its title says so, and a note says how it differs from the units columns."""
    text = run_wip("rollforward", "--period", "2026-10", "--ledger", demo_ledger).stdout
    titles, rows = _stage_table(text)
    assert "spoilage" not in titles and "abnormal loss + disposal value" in titles
    journals = _json("journal", "--period", "2026-10", "--json", "--ledger", demo_ledger)["journals"]
    (spoilage,) = [j for j in journals if j["narration"].startswith(Texts.SPOILAGE)]
    wip_credit = sum(D(line["credit"]) for line in spoilage["lines"] if line["account"] == "1320")  # WIP - Testing
    loss_and_disposal = sum(D(line["debit"]) for line in spoilage["lines"] if line["account"] in ("5810", "1250"))
    assert _amount(rows["Testing"]["abnormal loss + disposal value"]) == wip_credit == loss_and_disposal > 0
    assert any(line.strip().startswith("abnormal loss + disposal value: the cost of abnormal spoilage")
               for line in text.splitlines())
    assert "normal and abnormal spoiled units apart" in text


def test_the_overhead_true_up_column_is_there_every_month_so_months_line_up(demo_ledger):
    """November writes its overhead off to COGS: nothing is trued up in WIP, and the column still shows."""
    october, _ = _stage_table(run_wip("rollforward", "--period", "2026-10", "--ledger", demo_ledger).stdout)
    november, rows = _stage_table(run_wip("rollforward", "--period", "2026-11", "--ledger", demo_ledger).stdout)
    assert october == november and "overhead true-up" in november
    assert {_amount(r["overhead true-up"]) for r in rows.values()} == {D(0)}
    detail = run_wip("rollforward", "--period", "2026-11", "--detail", "--ledger", demo_ledger).stdout
    header = detail.split("By product, stage and element:\n", 1)[1].splitlines()[0]
    assert re.split(r"\s{2,}", header.strip())[1:] == november[1:]  # the same columns by element


@pytest.mark.parametrize("period", ["2026-10", "2026-11"])
def test_rollforward_json_names_the_cost_of_units_shipped_and_gives_cogs_as_posted(demo_ledger, period):
    """A finished-goods row's cost of the units shipped is not COGS as posted (the overhead true-up
    is not in it): the JSON names it so, and gives COGS as posted plant-wide beside it."""
    payload = _json("rollforward", "--period", period, "--json", "--ledger", demo_ledger)
    rows = payload["finished_goods"]
    assert all("cost_of_goods_sold" not in row and "cost_of_units_shipped" in row for row in rows)
    shipped = sum((D(row["cost_of_units_shipped"]) for row in rows), D(0))
    parts = payload["cost_of_goods_sold_as_posted_parts"]
    assert D(parts["cost_of_units_shipped"]) == shipped
    as_posted = D(payload["cost_of_goods_sold_as_posted"])
    assert as_posted == shipped + D(parts["overhead_written_off_to_cogs"]) + D(parts["overhead_prorated_to_cogs"])
    assert as_posted == _net_posted(demo_ledger, period, "5000") != shipped  # the demo's COGS account
    with Ledger(demo_ledger, create=False) as ledger:  # the ledger keeps its stored key: old ledgers still read
        assert all("cost_of_goods_sold" in row for row in ledger.current_close(period).rollforward["finished_goods"])


def test_journal_json_says_whose_journals_and_names_each_account(demo_ledger):
    """`wip journal --json` keeps its shape and says which books these are, as `--by-account --json`
    does, with each line's account name."""
    payload = _json("journal", "--period", "2026-11", "--json", "--ledger", demo_ledger)
    by_account = _json("journal", "--period", "2026-11", "--by-account", "--json", "--ledger", demo_ledger)
    assert (payload["period"], payload["currency"]) == (by_account["period"], by_account["currency"]) == \
        ("2026-11", "USD")
    assert payload["company"] == demo("2026-11")["company"] and payload["after_close"] is None
    names = {a["account"]: a["name"] for a in by_account["accounts"]}
    for journal in payload["journals"]:
        assert set(journal) == {"id", "date", "narration", "lines"}
        for line in journal["lines"]:
            assert set(line) == {"account", "debit", "credit", "memo", "account_name"}
            assert line["account_name"] == names[line["account"]]
