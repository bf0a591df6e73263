"""`wip rollforward`: the units roll-forward, transferred out split into to the next stage and to
finished goods, and subtotals by WIP account — all read from what the ledger recorded.

Expected figures are worked out by hand from the demo close files (examples/demo/close-2026-1?.yaml),
not taken from the code under test.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal as D

import pytest

from costing.cli import main
from costing.close import FinishedGoodsLayer, FinishedGoodsRow, PriorState, RollForward, StageWip
from costing.close._render import render_rollforward
from costing.close._rollforward import (
    StageFlow,
    build_units,
    by_stage,
    counts_of_result,
    flows_of_reports,
    flows_of_result,
    recorded_counts_and_accounts,
)
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo


def rollforward_json(ledger, period: str, capsys) -> dict:
    assert main(["rollforward", "--period", period, "--ledger", str(ledger), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def rollforward_text(ledger, period: str, capsys, *extra: str) -> str:
    assert main(["rollforward", "--period", period, "--ledger", str(ledger), *extra]) == 0
    return capsys.readouterr().out


def by_key(rows: list[dict], **key) -> dict:
    found = [r for r in rows if all(r[k] == v for k, v in key.items())]
    assert len(found) == 1, (key, found)
    return found[0]


# ---- units, by hand ------------------------------------------------------------------------------

def test_demo_november_units_by_product_and_stage_match_the_close_files(demo_ledger, capsys):
    units = rollforward_json(demo_ledger, "2026-11", capsys)["units"]
    # Espresso Classic, Assembly: October's count of 29 is carried forward; 320 started, 314 completed,
    # 35 in ending WIP.  29 + 320 - 314 = 35.
    row = by_key(units["rows"], product="Espresso Classic", stage="Assembly")
    assert (row["opening"], row["started"], row["to_next_stage"], row["to_finished_goods"]) == ("29", "320", "314", "0")
    assert (row["count_difference"], row["closing"], row["ledger_closing"], row["difference"]) == ("0", "35", "35", "0")
    # Espresso Classic, Testing: October's 22 in ending WIP, 314 received, 305 completed, 6 spoiled, all
    # normal (2% of 305 good units is 6.1), book 22 + 314 - 305 - 6 = 25; counted 24, so -1; closing 24.
    row = by_key(units["rows"], product="Espresso Classic", stage="Testing")
    assert (row["opening"], row["transferred_in"], row["to_next_stage"]) == ("22", "314", "305")
    assert (row["normal_spoilage"], row["abnormal_spoilage"], row["count_difference"]) == ("6", "0", "-1")
    assert (row["closing"], row["ledger_closing"], row["difference"]) == ("24", "24", "0")
    # Barista Pro, Testing: 3 + 128 - 124 = 7, 3 spoiled of which 2% of 124 = 2.48, counted in whole
    # machines (normal_from_rate: whole_units) 2 normal, 1 abnormal; 7 - 3 = 4.
    row = by_key(units["rows"], product="Barista Pro", stage="Testing")
    assert (row["normal_spoilage"], row["abnormal_spoilage"], row["closing"]) == ("2", "1", "4")
    # Packaging is every product's last stage: what it completes goes to finished goods.
    row = by_key(units["rows"], product="Drip Home", stage="Packaging")
    assert (row["to_next_stage"], row["to_finished_goods"], row["closing"]) == ("0", "190", "7")

    # Testing over the three products: 22 + 3 + 0 opening, 314 + 128 + 205 received, 305 + 124 + 197
    # completed, normal 6 + 2 + 2, abnormal 0 + 1 + 1, count -1, closing 24 + 4 + 5.
    testing = by_key(units["stages"], stage="Testing")
    assert {k: testing[k] for k in ("opening", "transferred_in", "to_next_stage", "normal_spoilage",
                                    "abnormal_spoilage", "count_difference", "closing", "ledger_closing")} == {
        "opening": "25", "transferred_in": "647", "to_next_stage": "626", "normal_spoilage": "10",
        "abnormal_spoilage": "2", "count_difference": "-1", "closing": "33", "ledger_closing": "33"}
    assert testing["product"] is None
    # Units received by Testing and Packaging = units Assembly and Testing sent on, product by product;
    # units of different products are never totalled (no "total" row).
    assert "total" not in units and units["transfer_differences"] == {}

    # Finished goods: October 25 + 290 - 270 = 45 Espresso, 10 + 118 - 110 = 18 Barista, 0 + 186 - 175 = 11
    # Drip; November + 303 - 300, + 125 - 120, + 190 - 200.
    fg = {r["product"]: (r["opening"], r["completed"], r["shipped"], r["closing"], r["ledger_closing"])
          for r in units["finished_goods"]}
    assert fg == {"Espresso Classic": ("45", "303", "300", "48", "48"), "Barista Pro": ("18", "125", "120", "23", "23"),
                  "Drip Home": ("11", "190", "200", "1", "1")}
    assert "finished_goods_total" not in units and units["finished_goods_differences"] == {}


def test_demo_units_tie_in_the_text(demo_ledger, capsys):
    for period in ("2026-10", "2026-11"):
        text = rollforward_text(demo_ledger, period, capsys)
        assert "  Units tie: OK" in text
        assert "  Roll-forward ties: OK" in text
    # November: the units each product's last stage completed went into its finished goods, and each
    # stage received what the one before sent on, product by product (units of products never added).
    assert "  Units to finished goods = completed per the finished-goods units, product by product: OK" in text
    assert "  Units transferred in = units sent on by the stage before, product by product: OK" in text
    detail = rollforward_text(demo_ledger, "2026-11", capsys, "--detail")
    assert "WIP units by product and stage:" in detail
    by_product = detail.split("WIP units by product and stage:")[1]
    testing = next(line for line in by_product.splitlines() if line.startswith("  Espresso Classic / Testing "))
    assert testing.split()[-4:] == ["-1", "24", "24", "OK"]  # count difference, closing, in ledger, check


def test_a_units_row_that_does_not_tie_says_by_how_much():
    """The check is against the ledger's closing state, not the roll-forward's own arithmetic."""
    flow = StageFlow("P", "Mixing", opening=D(10), started=D(100), transferred_in=D(0), completed=D(90),
                     book_closing=D(18), normal_spoilage=D(2), abnormal_spoilage=D(0))
    state = PriorState("2026-10", {("P", "Mixing"): StageWip("P", "Mixing", D(19), None, {}, {})},
                       {"P": (FinishedGoodsLayer("P", "2026-10", D(90), D("900.00")),)})
    finished = [FinishedGoodsRow(product="P", opening_units=D(0), opening=D("0.00"), completed_units=D(90),
                                 completed=D("900.00"), shipped_units=D(0), cost_of_goods_sold=D("0.00"),
                                 overhead_adjustment=D("0.00"), closing_units=D(90), closing=D("900.00"))]
    units = build_units("2026-10", [flow], {}, state, finished)
    row = units.rows[0]
    assert (row.to_finished_goods, row.closing, row.ledger_closing, row.difference) == (D(90), D(18), D(19), D(-1))
    assert not units.ties_ok
    # A count of 19 given for the stage explains the extra unit.
    units = build_units("2026-10", [flow], {("P", "Mixing"): D(19)}, state, finished)
    assert units.rows[0].count_difference == D(1) and units.ties_ok


def test_counts_not_readable_from_the_inputs_are_taken_from_the_closing_state(demo_ledger):
    with Ledger(demo_ledger, create=False) as ledger:
        closed = ledger.current_close("2026-11")
        rf = closed.rollforward_model
        assert recorded_counts_and_accounts({"not": "a close file"}) == (None, None)
        units = build_units(rf.period, flows_of_reports(closed.reports), None, closed.state, rf.finished_goods)
        counts, _ = recorded_counts_and_accounts(closed.inputs)
    assert counts == {("Espresso Classic", "Testing"): D(24)}  # the one count in November's file
    assert not units.counts_known and units.ties_ok
    testing = next(r for r in units.rows if r.stage == "Testing" and r.product == "Espresso Classic")
    assert testing.count_difference == -1
    text = render_rollforward(rf, units=units)
    assert "the counts given could not be read" in text
    assert "By WIP account: the stages' WIP accounts are not known" in text


def test_units_from_the_stored_reports_equal_those_of_the_close_in_memory(tmp_path):
    """What `wip rollforward` reads from the ledger (reports as stored, compactly or as JSON) gives
    the same flows and counts as the close it recorded."""
    from tests.test_ledger_storage import process_account_demo

    for name, data in (("spoilage", demo("2026-10")), ("process_account", process_account_demo())):
        with Ledger(tmp_path / f"{name}.db") as ledger:
            outcome = close_period(data, ledger, user="test")
            closed = ledger.current_close("2026-10")
            assert flows_of_reports(closed.reports) == flows_of_result(outcome.result)
            counts, accounts = recorded_counts_and_accounts(closed.inputs)
            assert counts == counts_of_result(outcome.result)
            assert {s: a.code for s, a in accounts.items()} == {"Assembly": "1310", "Testing": "1320",
                                                                "Packaging": "1330"}
            units = build_units("2026-10", flows_of_reports(closed.reports), counts, closed.state,
                                outcome.rollforward.finished_goods)
        assert units.ties_ok, name


def test_process_account_losses_are_the_spoilage_columns_and_a_gain_an_addition(tmp_path, capsys):
    """Deductions are never negative: an abnormal gain (units expected to be lost that were not)
    is its own addition, in units and in cost, and every row still ties."""
    from tests.test_ledger_storage import process_account_demo

    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(process_account_demo(), ledger, user="test")
    payload = rollforward_json(tmp_path / "l.db", "2026-10", capsys)
    units = payload["units"]
    gains = D(0)
    for product in outcome.result.products:
        sr = product.report.stage("Testing")
        row = by_key(units["rows"], product=product.name, stage="Testing")
        assert D(row["normal_spoilage"]) == sr.normal_loss.units
        assert D(row["abnormal_spoilage"]) == sr.abnormal_loss.units
        assert D(row["abnormal_gain"]) == sr.abnormal_gain.units
        assert row["difference"] == "0"
        gains += sr.abnormal_gain.total
    assert gains, "the process-account demo has an abnormal gain in Testing"
    testing = by_key(payload["by_stage"]["stages"], stage="Testing")
    stored_net = sum((r.spoilage for r in outcome.rollforward.rows if r.stage == "Testing"), D(0))
    assert D(testing["abnormal_gain"]) == gains and D(testing["spoilage"]) == stored_net + gains
    assert all(D(s[c]) >= 0 for s in payload["by_stage"]["stages"] for c in ("spoilage", "abnormal_gain"))
    # Money with the currency's places in every stage, a gain or none (it was "0" where none).
    assert all(len(s["abnormal_gain"].partition(".")[2]) == 2 for s in payload["by_stage"]["stages"])
    assert any(not D(s["abnormal_gain"]) for s in payload["by_stage"]["stages"])
    assert all(D(r[c]) >= 0 for r in units["rows"] for c in ("abnormal_spoilage", "abnormal_gain"))
    text = rollforward_text(tmp_path / "l.db", "2026-10", capsys)
    assert "abn. gain" not in text and "abnormal gain" in text and "Roll-forward ties: OK" in text


def _with_two_materials_in_barista_testing(data: dict) -> dict:
    """Barista Pro's Testing (which has the demo's abnormal gain) with two materials declared seals
    then boxes: the normal loss's scrap reduces seals, the first as written (boxes sorts first)."""
    testing = next(s for p in data["products"] if p["name"] == "Barista Pro" for s in p["stages"]
                   if s["name"] == "Testing")
    testing["elements"] = {"seals": {"kind": "material", "added": "start"},
                           "boxes": {"kind": "material", "added": "start"}, **testing["elements"]}
    testing["added_costs"] = {**testing["added_costs"], "seals": 400.00, "boxes": 700.00}
    return data


@pytest.mark.parametrize("variant", ["demo", "two_materials"])
def test_process_account_detail_shows_an_abnormal_gain_as_an_addition_by_element(tmp_path, capsys, variant):
    """`--detail` follows the main table's sign rule: by element too, an abnormal gain is an addition
    of its own and spoilage the losses alone (never netted below zero), text and JSON; each element's
    gain is the one the close computed (the stored reports keep it by stage only)."""
    from tests.test_ledger_storage import process_account_demo

    data = process_account_demo()
    if variant == "two_materials":
        data = _with_two_materials_in_barista_testing(data)
    with Ledger(tmp_path / "l.db") as ledger:
        outcome = close_period(data, ledger, user="test")
    assert main(["rollforward", "--period", "2026-10", "--ledger", str(tmp_path / "l.db"), "--json",
                 "--detail"]) == 0
    payload = json.loads(capsys.readouterr().out)
    detail = payload["detail"]
    gains = D(0)
    for product in outcome.result.products:
        for sr in product.report.stages:
            for element, gain in sr.abnormal_gain.by_element.items():
                row = by_key(detail, product=product.name, stage=sr.name, element=element)
                assert D(row["abnormal_gain"]) == gain, (product.name, sr.name, element)
                losses = sr.normal_loss.by_element[element] + sr.abnormal_loss.by_element[element]
                assert D(row["spoilage"]) == losses >= 0, (product.name, sr.name, element)
                gains += gain
    assert gains and gains == D(by_key(payload["by_stage"]["stages"], stage="Testing")["abnormal_gain"])
    assert len(detail) == len(payload["rows"])
    for row in detail:
        additions = sum(D(row[c]) for c in ("materials", "labour", "overhead", "conversion", "transferred_in",
                                            "abnormal_gain"))
        deductions = sum(D(row[c]) for c in ("to_next_stage", "to_finished_goods", "spoilage"))
        adjustments = D(row["count_adjustment"]) + D(row["overhead_adjustment"])
        assert D(row["opening"]) + additions - deductions + adjustments == D(row["closing"]), row
    if variant == "two_materials":
        seals = by_key(detail, product="Barista Pro", stage="Testing", element="seals")
        assert D(seals["spoilage"]) > 0  # the scrap: seals, as the file declared them first
    text = rollforward_text(tmp_path / "l.db", "2026-10", capsys, "--detail")
    header, *lines = text.split("By product, stage and element:\n", 1)[1].splitlines()
    titles = [c.strip() for c in header.split("  ") if c.strip()][1:]  # after "product / stage / element"
    printed = {line.split(" / ")[2].split()[0]: dict(zip(titles, line.split()[-len(titles):]))
               for line in lines if line.strip().startswith("Barista Pro / Testing /")}
    barista = next(p for p in outcome.result.products if p.name == "Barista Pro")
    assert set(printed) == set(barista.report.stage("Testing").equivalent_units)
    for element, cells in printed.items():
        row = by_key(detail, product="Barista Pro", stage="Testing", element=element)
        assert D(cells["abnormal gain"].replace(",", "")) == D(row["abnormal_gain"])
        assert D(cells["normal loss scrap + abnormal loss"].replace(",", "")) == D(row["spoilage"]) >= 0
    assert "net of" not in text and "Roll-forward ties: OK" in text


# ---- costs: transferred out split, subtotals by WIP account -----------------------------------

def test_to_finished_goods_total_equals_the_finished_goods_completed_total(demo_ledger, capsys):
    with Ledger(demo_ledger, create=False) as ledger:
        rf = RollForward.model_validate(ledger.current_close("2026-11").rollforward)
    # By hand: Packaging is every product's last stage; Assembly and Testing transfer on.
    packaging_out = sum((r.transferred_out for r in rf.rows if r.stage == "Packaging"), D(0))
    other_out = sum((r.transferred_out for r in rf.rows if r.stage != "Packaging"), D(0))
    fg_completed = sum((r.completed for r in rf.finished_goods), D(0))
    received = sum((r.transferred_in for r in rf.rows), D(0))
    stages = by_stage(rf)
    assert stages.total.to_finished_goods == packaging_out == fg_completed == stages.finished_goods_completed
    assert stages.total.to_next_stage == other_out == received
    assert not stages.finished_goods_difference and not stages.transfer_difference and stages.ties_ok
    for s in stages.stages:
        assert s.computed_closing == s.closing
    assert stages.final_stages == {"Espresso Classic": "Packaging", "Barista Pro": "Packaging",
                                   "Drip Home": "Packaging"}

    payload = rollforward_json(demo_ledger, "2026-11", capsys)
    assert payload["by_stage"]["total"]["to_finished_goods"] == f"{fg_completed:f}"
    text = rollforward_text(demo_ledger, "2026-11", capsys)
    money = f"{fg_completed:,.2f}"
    assert f"  Total to finished goods {money} = completed per the finished-goods table {money}: OK" in text
    money = f"{received:,.2f}"
    assert f"  Total transferred in {money} = total to next stage {money}: OK" in text
    assert "Deductions (to next stage, to finished goods, abnormal loss + disposal value) are" in text
    assert "trans. out" not in text
    fg_table = text.split("Finished goods 2026-11:")[1]
    fg_total = next(line for line in fg_table.splitlines() if line.startswith("  Total"))
    assert f"{fg_completed:,.2f}" in fg_total.split()


def test_stored_json_keeps_its_fields_and_adds_the_derived_reports(demo_ledger, capsys):
    payload = rollforward_json(demo_ledger, "2026-11", capsys)
    assert {"period", "currency", "rows", "finished_goods", "ties"} <= set(payload)
    assert set(payload["rows"][0]) == set(RollForward.model_fields["rows"].annotation.__args__[0].model_fields)
    assert {"by_stage", "units", "ledger_ties"} <= set(payload) and payload["ledger_ties"] is True


def test_wip_account_subtotals_of_stages_sharing_an_account(tmp_path, capsys):
    data = demo("2026-10")
    data["accounts"]["wip"]["Testing"] = {"code": "1310", "name": "WIP - Assembly"}  # Testing shares 1310
    with Ledger(tmp_path / "l.db") as ledger:
        close_period(data, ledger, user="test")
        rf = ledger.current_close("2026-10").rollforward_model
    payload = rollforward_json(tmp_path / "l.db", "2026-10", capsys)
    accounts = {a["account"]: a for a in payload["by_stage"]["accounts"]}
    assert list(accounts) == ["1310", "1330"] and accounts["1310"]["stages"] == ["Assembly", "Testing"]
    shared = [r for r in rf.rows if r.stage in ("Assembly", "Testing")]
    opening, closing = sum((r.opening for r in shared), D(0)), sum((r.closing for r in shared), D(0))
    assert (D(accounts["1310"]["opening"]), D(accounts["1310"]["closing"])) == (opening, closing)
    tie = next(t for t in rf.ties if t.account == "1310")
    assert D(accounts["1310"]["movement"]) == closing - opening == tie.rollforward == tie.journals
    text = rollforward_text(tmp_path / "l.db", "2026-10", capsys)
    line = next(line for line in text.splitlines() if line.startswith("  1310 WIP - Assembly "))
    assert "Assembly, Testing" in line and line.split()[-1] == f"{closing - opening:,.2f}"
    assert text.count("  1310 WIP - Assembly: movement per roll-forward") == 1  # the shared tie, said once


def test_demo_account_subtotals_read_against_the_ties(demo_ledger, capsys):
    text = rollforward_text(demo_ledger, "2026-11", capsys)
    payload = rollforward_json(demo_ledger, "2026-11", capsys)
    for account in payload["by_stage"]["accounts"]:
        tie = by_key(payload["ties"], account=account["account"])
        assert account["movement"] == tie["rollforward"] == tie["journals"]
        movement = f"{D(account['movement']):,.2f}"
        assert f"  {account['account']} {account['name']}: movement per roll-forward {movement}," in text


# ---- closes recorded by earlier versions --------------------------------------------------------

# A roll-forward as the first ledger format stored it (pydantic JSON of the fields of that time):
# product P, stage Cutting receiving 100.00 of transferred-in cost from outside the product's flow
# (a first stage costed from units received), then Sewing, its last stage.
_OLD_STORED = {
    "period": "2026-09", "currency": "USD",
    "rows": [
        {"product": "P", "stage": "Cutting", "element": "transferred_in", "opening": "10.00", "materials": "0.00",
         "labour": "0.00", "overhead": "0.00", "conversion": "0.00", "transferred_in": "100.00",
         "transferred_out": "90.00", "spoilage": "0.00", "count_adjustment": "0.00", "overhead_adjustment": "0.00",
         "closing": "20.00", "closing_units": "2"},
        {"product": "P", "stage": "Sewing", "element": "transferred_in", "opening": "0.00", "materials": "0.00",
         "labour": "0.00", "overhead": "0.00", "conversion": "0.00", "transferred_in": "90.00",
         "transferred_out": "80.00", "spoilage": "5.00", "count_adjustment": "-1.00", "overhead_adjustment": "0.00",
         "closing": "4.00", "closing_units": "1"},
    ],
    "finished_goods": [{"product": "P", "opening_units": "0", "opening": "0.00", "completed_units": "8",
                        "completed": "80.00", "shipped_units": "8", "cost_of_goods_sold": "80.00",
                        "overhead_adjustment": "0.00", "closing_units": "0", "closing": "0.00"}],
    "ties": [{"account": "1310", "name": "WIP - Cutting", "rollforward": "10.00", "journals": "10.00",
              "difference": "0.00"}],
}


def test_an_old_stored_rollforward_still_loads_and_splits_its_transfers():
    rf = RollForward.model_validate(_OLD_STORED)
    stages = by_stage(rf)
    cutting, sewing = stages.stages
    # Cutting: 10 + 100 - 90 to Sewing = 20; Sewing: 0 + 90 - 80 to finished goods - 5 - 1 = 4.
    assert (cutting.to_next_stage, cutting.to_finished_goods, cutting.computed_closing) == (D("90.00"), 0, D("20.00"))
    assert (sewing.to_next_stage, sewing.to_finished_goods, sewing.computed_closing) == (0, D("80.00"), D("4.00"))
    # Received 190.00 in all, of which 100.00 from outside the flow: the other 90.00 is what Cutting sent.
    assert stages.transferred_in_from_outside == D("100.00") and stages.transfer_difference == 0
    assert stages.finished_goods_difference == 0 and stages.ties_ok
    text = render_rollforward(rf)
    assert ("  Total transferred in 190.00 less 100.00 received by first stages from outside their product's flow "
            "= total to next stage 90.00: OK") in text
    assert "  Total to finished goods 80.00 = completed per the finished-goods table 80.00: OK" in text


def test_a_close_in_the_first_storage_format_prints_its_units(tmp_path, capsys):
    from tests.test_ledger_storage import _first_format_close

    with Ledger(":memory:") as scratch:
        october = close_period(demo("2026-10"), scratch, user="test")
    with Ledger(tmp_path / "old.db") as ledger:
        _first_format_close(ledger, demo("2026-10"), october)
    payload = rollforward_json(tmp_path / "old.db", "2026-10", capsys)
    # October, Espresso Classic, Assembly: 40 + 300 - 310 = 30 on the books, 29 counted.
    row = by_key(payload["units"]["rows"], product="Espresso Classic", stage="Assembly")
    assert (row["count_difference"], row["closing"], row["ledger_closing"]) == ("-1", "29", "29")
    assert "  Units tie: OK" in rollforward_text(tmp_path / "old.db", "2026-10", capsys)


def _normal_spoilage_exact(data: dict) -> dict:
    """A demo close file with normal spoilage from a rate kept exact, fractions of a unit included
    (the demo counts its machines in whole units)."""
    lines = [s["spoilage"] for p in data["products"] for s in p["stages"] if "normal_rate" in s.get("spoilage", {})]
    assert lines and all(line["normal_from_rate"] == "whole_units" for line in lines)
    for line in lines:
        line["normal_from_rate"] = "exact"
    return data


@pytest.fixture(scope="module")
def exact_demo_ledger(tmp_path_factory):
    """Both demo months closed with normal spoilage kept exact: November's Barista Pro Testing has
    2% × 124 = 2.48 units of normal spoilage and 0.52 abnormal."""
    path = tmp_path_factory.mktemp("exact") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(_normal_spoilage_exact(demo("2026-10")), ledger, user="test")
        close_period(_normal_spoilage_exact(demo("2026-11")), ledger, user="test")
    return path


def _testing_units(text: str) -> dict[str, str]:
    """Testing's row of the text's "WIP units by stage" table, by column title."""
    table = text.split("WIP units by stage", 1)[1].split("\n\n", 1)[0].splitlines()
    header = next(line for line in table if line.strip().startswith("stage "))
    row = next(line for line in table if line.startswith("  Testing "))
    return dict(zip(re.split(r"\s{2,}", header.strip()), row.split()))


@pytest.mark.parametrize("locale,normal,abnormal", [("en_US", "10.48", "1.52"), ("de_DE", "10,48", "1,52")])
def test_fractional_units_are_printed_in_the_locale(exact_demo_ledger, capsys, locale, normal, abnormal):
    testing = _testing_units(rollforward_text(exact_demo_ledger, "2026-11", capsys, "--locale", locale))
    # normal spoilage 6 + 2.48 + 2, abnormal 0 + 0.52 + 1
    assert (testing["normal spoilage"], testing["abnormal spoilage"]) == (normal, abnormal)


@pytest.mark.parametrize("locale", ["en_US", "de_DE"])
def test_whole_units_are_printed_without_decimals_in_any_locale(demo_ledger, capsys, locale):
    testing = _testing_units(rollforward_text(demo_ledger, "2026-11", capsys, "--locale", locale))
    # normal spoilage 6 + 2 + 2, abnormal 0 + 1 + 1 (the demo counts machines in whole units)
    assert (testing["normal spoilage"], testing["abnormal spoilage"]) == ("10", "2")


def test_units_of_different_products_are_never_added_together(demo_ledger, capsys):
    """Coffee machines and grinders do not add up: no units total over products, in text or JSON;
    the money totals stay, and the transfers tie product by product."""
    text = rollforward_text(demo_ledger, "2026-10", capsys, "--detail")
    wip_units = text.split("WIP units by stage:", 1)[1].split("\n\n", 1)[0]
    fg_units = text.split("Finished goods units", 1)[1].split("Units tie:", 1)[0]
    assert not any(line.strip().startswith("Total ") for line in wip_units.splitlines() + fg_units.splitlines())
    fg_money = text.split("Finished goods 2026-10:\n", 1)[1].split("\n\n", 1)[0]
    header, *rows = fg_money.splitlines()
    total = next(line for line in rows if line.strip().startswith("Total"))
    assert total.split() == ["Total", "8,650.00", "136,339.54", "125,726.46", "15.87", "19,278.95"]  # no units
    assert "Total      13,730.00" in text  # the WIP money total by stage stays
    units = rollforward_json(demo_ledger, "2026-10", capsys)["units"]
    assert "total" not in units and "finished_goods_total" not in units
    assert units["transfer_differences"] == {} and units["finished_goods_differences"] == {}


def test_a_transfer_that_does_not_tie_is_named_by_product_even_when_products_offset():
    """Two products whose differences offset (+2, −2) would tie in a units total over products."""
    state = PriorState("2026-10", {}, {})
    flows = [StageFlow("A", "Mixing", D(0), D(10), D(0), D(10), D(0), D(0), D(0)),
             StageFlow("A", "Filling", D(0), D(0), D(12), D(12), D(0), D(0), D(0)),
             StageFlow("B", "Mixing", D(0), D(10), D(0), D(10), D(0), D(0), D(0)),
             StageFlow("B", "Filling", D(0), D(0), D(8), D(8), D(0), D(0), D(0))]
    units = build_units("2026-10", flows, {}, state, [])
    assert units.transfer_differences == {"A": D(2), "B": D(-2)}
    assert not units.ties_ok


def test_the_rollforward_uses_plain_words_not_abbreviations(demo_ledger, capsys):
    text = rollforward_text(demo_ledger, "2026-10", capsys, "--detail")
    for abbreviation in ("OH adj.", "trans. in", "to fin. goods", "count adj.", "count diff.", "spoil.", "abn. gain"):
        assert abbreviation not in text, abbreviation
    assert "overhead true-up" in text and "transferred in" in text and "to finished goods" in text
