"""A whole rounds once: amounts that are one figure to the accountant (spoiled goods at disposal
value, the cash for scrap sold, a count difference at book cost) are rounded as a whole and then
split, never rounded part by part and added up a cent away from the whole."""

from __future__ import annotations

import json
from decimal import Decimal

import costing
from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from tests.demo_data import demo

D = Decimal


def _spoilage_case() -> dict:
    """153 started, 150 good, 3 spoiled at the end (normal 1 % of the 150 good: 1.5), 30.00 a unit."""
    return {"currency": "USD", "method": "weighted_average", "stages": [{
        "name": "Cutting",
        "elements": {"materials": {"kind": "material", "added": "start"},
                     "conversion": {"kind": "conversion", "added": "evenly"}},
        "started": 153, "completed": 150, "ending_wip": {"units": 0},
        "added_costs": {"materials": "3060.00", "conversion": "1530.00"},
        "spoilage": {"normal_rate": "0.01", "spoiled": 3, "inspection": 1, "disposal_value": "12.25"}}]}


def test_spoiled_goods_at_disposal_value_are_the_spoiled_units_times_the_value():
    stage = costing.cost_case(_spoilage_case()).stage("Cutting")
    normal, abnormal = stage.normal_spoilage, stage.abnormal_spoilage
    assert (stage.physical_units.normal_spoilage, stage.physical_units.abnormal_spoilage) == (D("1.5"), D("1.5"))
    # 3 x 12.25 = 36.75, not 18.38 + 18.38: split 18.375 / 18.375, the tie to normal spoilage.
    assert normal.disposal_value + abnormal.disposal_value == D("36.75")
    assert (normal.disposal_value, abnormal.disposal_value) == (D("18.38"), D("18.37"))
    # Gross 1.5 x 30.00 = 45.00 each; net of disposal value 26.62 and 26.63.
    assert (normal.gross, abnormal.gross) == (D("45.00"), D("45.00"))
    assert (normal.net, abnormal.net) == (D("26.62"), D("26.63"))
    assert sum(normal.disposal_value_by_element.values()) == normal.disposal_value
    assert sum(abnormal.disposal_value_by_element.values()) == abnormal.disposal_value
    # 150 x 30.00 + the normal spoilage's net cost; the stage conserves to the cent.
    assert stage.transferred_out.total == D("4526.62")
    assert stage.transferred_out.total + stage.ending_wip.total + abnormal.net + D("36.75") \
        == stage.costs_to_account_for.total == D("4590.00")


def test_the_report_shows_the_spoiled_goods_as_one_amount(tmp_path, capsys):
    path = tmp_path / "case.json"
    path.write_text(json.dumps(_spoilage_case()))
    assert main(["cost", str(path)]) == 0
    line = next(l for l in capsys.readouterr().out.splitlines() if "Spoiled goods at disposal value" in l)
    assert line.split()[-1] == "36.75"


def _process_case(completed, scrap_value: str) -> dict:
    """1,005 units started, normal loss 10 % of them (100.5), no WIP: what is not good output is lost."""
    return {"currency": "USD", "method": "weighted_average", "loss_convention": "process_account", "stages": [{
        "name": "Mixing",
        "elements": {"materials": {"kind": "material", "added": "start"},
                     "conversion": {"kind": "conversion", "added": "evenly"}},
        "started": 1005, "completed": completed, "added_costs": {"materials": "10050.00", "conversion": "4020.00"},
        "normal_loss": {"rate": "0.10", "scrap_value": scrap_value}}]}


def test_scrap_sold_is_the_units_actually_lost_times_the_scrap_value_with_an_abnormal_loss():
    stage = costing.cost_case(_process_case(903, "1.25")).stage("Mixing")
    assert (stage.normal_loss.units, stage.abnormal_loss.units) == (D("100.5"), D("1.5"))
    # 102 lost x 1.25 = 127.50 of cash, not 125.63 + 1.88 = 127.51.
    assert stage.scrap.total == D("127.50")
    scrap = stage.accounts.scrap
    assert scrap.line("cash").amount == D("127.50") and scrap.line("cash").units == D(102)
    # The normal loss (100.5 x 1.25 = 125.625) keeps its own rounding: it sets the cost per unit.
    assert stage.normal_loss.scrap_value == scrap.line("process").amount == D("125.63")
    # The abnormal loss's scrap proceeds are the rest: 127.50 - 125.63.
    assert stage.abnormal_loss.scrap_value == scrap.line("abnormal_loss").amount == D("1.87")
    assert stage.accounts.abnormal_loss.line("scrap").amount == D("1.87")
    assert scrap.total_debit == scrap.total_credit == D("127.50")


def test_scrap_sold_is_the_units_actually_lost_times_the_scrap_value_with_an_abnormal_gain():
    # 98.5 units lost, 2 fewer than the normal 100.5, at 1.252 a unit:
    # normal loss 125.826 -> 125.83 (Dr scrap), cash 98.5 x 1.252 = 123.322 -> 123.32 (Cr scrap), so the
    # scrap value the gain forgoes (Cr scrap, Dr abnormal gain) is 125.83 - 123.32 = 2.51 — rounded on its
    # own (2.504 -> 2.50) the cash would have been 123.33, a cent more than the lost units fetch.
    stage = costing.cost_case(_process_case("906.5", "1.252")).stage("Mixing")
    assert (stage.normal_loss.units, stage.abnormal_gain.units) == (D("100.5"), D(2))
    scrap = stage.accounts.scrap
    assert stage.scrap.total == scrap.line("cash").amount == D("123.32")
    assert stage.normal_loss.scrap_value == scrap.line("process").amount == D("125.83")
    assert stage.abnormal_gain.scrap_value == scrap.line("abnormal_gain").amount == D("2.51")
    assert stage.accounts.abnormal_gain.line("scrap").amount == D("2.51")
    assert scrap.total_debit == scrap.total_credit == D("125.83")


def test_a_count_difference_is_the_units_short_at_book_cost_rounded_once(tmp_path):
    """November's Espresso Classic: Testing's book ending WIP is 25 units at 5,132.26; 24 were counted.
    One unit at book cost is 5,132.26 / 25 = 205.2904, so 205.29 — not 188.64 + 9.33 + 7.31 = 205.28,
    each element rounded on its own (4,716.07 / 25 = 188.6428, 233.33 / 25 = 9.3332, 182.86 / 25 = 7.3144).
    The missing cent goes to the element that rounding moved furthest: overhead, 7.3144 -> 7.32."""
    with Ledger(tmp_path / "ledger.db") as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        november = close_period(demo("2026-11"), ledger, user="test")
    product = next(p for p in november.result.products if p.name == "Espresso Classic")
    testing = product.report.stage("Testing")
    assert testing.ending_wip.total == D("5132.26")
    assert testing.ending_wip.by_element == {"transferred_in": D("4716.07"), "labour": D("233.33"),
                                             "overhead": D("182.86")}
    count = product.count_adjustments["Testing"]
    assert (count.book_units, count.counted_units) == (25, 24)
    assert count.amount == D("-205.29")
    assert count.by_element == {"transferred_in": D("-188.64"), "labour": D("-9.33"), "overhead": D("-7.32")}
    journal = next(j for j in november.journals.journals if j.id == "WIP-2026-11-007")
    assert {(l.account, l.debit, l.credit) for l in journal.lines} == {
        ("1320", D("0.00"), D("205.29")), ("5820", D("205.29"), D("0.00"))}


def test_an_exact_tie_is_decided_by_order_not_by_the_last_digit_of_a_division():
    """Exact shares 40/3 and 10/3 (or their negatives) tie at a third of a cent, but as 34-digit
    Decimals the larger keeps one decimal place fewer, and that last digit decided who got the cent:
    the rule (ties to the earlier part, upward) held only when the earlier part was the smaller."""
    from decimal import localcontext

    from costing._numbers import ENGINE_CONTEXT
    from costing._rounding import allocate

    cent = D("0.01")
    with localcontext(ENGINE_CONTEXT):
        assert allocate([D(40) / 3, D(10) / 3], D("16.67"), cent, None) == [D("13.34"), D("3.33")]
        assert allocate([D(10) / 3, D(40) / 3], D("16.67"), cent, None) == [D("3.34"), D("13.33")]
        # a negative whole: the earlier part keeps the amount nearer zero
        assert allocate([D(-10) / 3, D(-40) / 3], D("-16.67"), cent, None) == [D("-3.33"), D("-13.34")]
        assert allocate([D(-40) / 3, D(-10) / 3], D("-16.67"), cent, None) == [D("-13.33"), D("-3.34")]
        # more than two parts
        assert allocate([D(40) / 3, D(10) / 3, D(10) / 3], D("20.00"), cent, None) == \
            [D("13.34"), D("3.33"), D("3.33")]
        assert allocate([D(-10) / 3, D(-40) / 3, D(-40) / 3], D("-30.00"), cent, None) == \
            [D("-3.33"), D("-13.33"), D("-13.34")]


def test_a_count_difference_that_ties_gives_the_earlier_element_the_amount_nearer_zero(tmp_path):
    """Ending WIP materials 10.00 and labour 40.00 on 3 units, 2 counted: the shares -10/3 and -40/3
    tie, the whole is -16.67; the documented rule gives materials -3.33 and labour -13.34 (the engine
    gave -3.34 and -13.33, decided by the last digit of the division)."""
    data = demo("2026-10")  # its header and accounts, one product of one stage
    data.update({"products": [{"name": "P", "stages": [{
        "name": "Assembly",
        "elements": {"materials": {"kind": "material", "added": "start"},
                     "labour": {"kind": "labour", "added": "start"}},
        "started": 13, "completed": 10, "ending_wip": {"units": 3, "complete": "0.5"},
        "added_costs": {"materials": "43.33", "labour": "173.33"}, "count": 2}], "shipments": 0}]})
    with Ledger(tmp_path / "ledger.db") as ledger:
        october = close_period(data, ledger, user="test")
    count = october.result.products[0].count_adjustments["Assembly"]
    assert count.amount == D("-16.67")
    assert count.by_element == {"materials": D("-3.33"), "labour": D("-13.34")}
