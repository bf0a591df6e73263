"""On random plants: every journal balances, the roll-forward ties, and the next month opens
where this one closed (hypothesis)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from costing.close_service import CloseRefused, close_period
from costing.ledger import Ledger

STAGES = ["Assembly", "Testing", "Packaging"]
ACCOUNTS = {
    "raw_materials": {"code": "1210", "name": "Raw materials"}, "spoiled_goods": {"code": "1250", "name": "Spoiled"},
    "finished_goods": {"code": "1400", "name": "FG"}, "accrued_payroll": {"code": "2110", "name": "Payroll"},
    "cogs": {"code": "5000", "name": "COGS"}, "abnormal_spoilage": {"code": "5810", "name": "Abnormal"},
    "count_difference": {"code": "5820", "name": "Count"}, "overhead_control": {"code": "5900", "name": "OH"},
    "overhead_applied": {"code": "5910", "name": "OH applied"},
    "wip": {s: {"code": f"13{i}0", "name": f"WIP {s}"} for i, s in enumerate(STAGES, 1)},
}
cents = st.integers(0, 2_000_000).map(lambda n: Decimal(n) / 100)
fraction = st.integers(0, 100).map(lambda n: str(Decimal(n) / 100))


@st.composite
def product(draw, index: int, fifo: bool, first_period: bool):
    n = draw(st.integers(1, 3))
    stages, received = [], None
    for k in range(n):
        beginning = draw(st.integers(0, 50)) if first_period else 0
        incoming = draw(st.integers(0, 400)) if k == 0 else received
        available = beginning + incoming
        completed = draw(st.integers(beginning if fifo else 0, available))
        rest = available - completed
        spoiled = draw(st.integers(0, rest))
        ending = rest - spoiled
        b_complete = draw(fraction)
        # An idle line's ending WIP is beginning units: no less complete than they began (refused otherwise).
        idle = beginning and not incoming and not spoiled and ending
        e_complete = draw(st.integers(int(Decimal(b_complete) * 100), 100).map(lambda n: str(Decimal(n) / 100))
                          if idle else fraction)
        stage = {"name": STAGES[k],
                 "elements": {"materials": {"kind": "material", "added": draw(st.sampled_from(["start", "end", "0.5"]))},
                              "labour": {"kind": "labour", "added": "evenly"},
                              "overhead": {"kind": "overhead", "added": "evenly"}},
                 "completed": completed, "ending_wip": {"units": ending, "complete": e_complete},
                 "added_costs": {"materials": str(draw(cents)), "labour": str(draw(cents))},
                 "driver_quantity": draw(st.integers(0, 900))}
        if beginning:
            cost = {"materials": str(draw(cents)), "labour": str(draw(cents)), "overhead": str(draw(cents))}
            if k:
                cost["transferred_in"] = str(draw(cents))
            stage["beginning_wip"] = {"units": beginning, "complete": b_complete, "cost": cost}
        if spoiled:
            normal = draw(st.integers(0, spoiled))
            stage["spoilage"] = {"normal": normal, "abnormal": spoiled - normal, "inspection": draw(fraction),
                                 "disposal_value": draw(st.sampled_from(["0", "0.50"]))}
        if ending and draw(st.booleans()):
            # Up to every unit that entered and was not completed (a count above is refused).
            stage["count"] = draw(st.integers(max(0, ending - 3), ending + min(spoiled, 3)))
        if k == 0:
            stage["started"] = incoming
        stages.append(stage)
        received = completed
    opening = [{"units": draw(st.integers(0, 30)), "cost": str(draw(cents)), "period": "2026-09"}] if first_period else []
    on_hand = received + sum(l["units"] for l in opening)
    return {"name": f"P{index}", "stages": stages, "shipments": draw(st.integers(0, on_hand)),
            **({"opening_finished_goods": opening} if opening else {})}


@st.composite
def plant(draw, period="2026-10", first_period=True, method=None):
    method = method or draw(st.sampled_from(["fifo", "weighted_average"]))
    products = [draw(product(i, method == "fifo", first_period)) for i in range(draw(st.integers(1, 3)))]
    return {"company": "Random Works", "period": period, "currency": draw(st.sampled_from(["USD", "JPY", "KWD"])),
            "method": method, "finished_goods_method": draw(st.sampled_from(["fifo", "weighted_average"])),
            "overhead_disposition": draw(st.sampled_from(["write_off", "prorate"])),
            "materiality": str(draw(st.sampled_from([0, 50, 100000]))), "accounts": ACCOUNTS,
            "overhead": {s: {"driver": draw(st.sampled_from(["labour_hours", "machine_hours", "units"])),
                             "rate": str(draw(st.integers(0, 4000)) / 100), "actual": str(draw(cents).quantize(Decimal(1)))}
                         for s in STAGES},
            "products": products}


# Found by hypothesis: Assembly's overhead all over-applied and prorated back, with its ending WIP
# counted 3 units short. The shortage's cost is rounded and split over the elements by largest
# remainder (overhead lost 0.07, more than its 3/12 of 0.25), so a weight of 9/12 of the book
# overhead (0.1875) took a share of 0.19 from the 0.18 left: overhead -0.01 in closing WIP.
def _stage(name, completed, ending, complete, driver, **more):
    return {"name": name, "elements": {"materials": {"kind": "material", "added": "start"},
                                       "labour": {"kind": "labour", "added": "evenly"},
                                       "overhead": {"kind": "overhead", "added": "evenly"}},
            "completed": completed, "ending_wip": {"units": ending, "complete": complete},
            "added_costs": {"materials": more.pop("materials", "0"), "labour": "0"}, "driver_quantity": driver,
            **more}


ZERO_COST = {"materials": "0", "labour": "0", "overhead": "0"}
SHORT_COUNT_ALL_OVER_APPLIED = {
    "company": "Random Works", "period": "2026-10", "currency": "USD", "method": "fifo",
    "finished_goods_method": "fifo", "overhead_disposition": "prorate", "materiality": "0", "accounts": ACCOUNTS,
    "overhead": {"Assembly": {"driver": "labour_hours", "rate": "1.15", "actual": "0"},
                 "Testing": {"driver": "labour_hours", "rate": "0.0", "actual": "0"},
                 "Packaging": {"driver": "labour_hours", "rate": "0.0", "actual": "0"}},
    "products": [{"name": "P0", "shipments": 0,
                  "opening_finished_goods": [{"units": 0, "cost": "0", "period": "2026-09"}],
                  "stages": [
                      _stage("Assembly", 2, 12, "0.04", 1, materials="0.01", started=14, count=9,
                             beginning_wip={"units": 1, "complete": "0.23", "cost": ZERO_COST},
                             spoilage={"normal": 0, "abnormal": 1, "inspection": "0", "disposal_value": "0"}),
                      _stage("Testing", 1, 2, "0", 0, beginning_wip={"units": 1, "complete": "0", "cost": {
                          **ZERO_COST, "transferred_in": "0"}}),
                      _stage("Packaging", 0, 1, "0", 0)]}]}


def _close(data, ledger):
    try:
        return close_period(data, ledger, user="hypothesis")
    except CloseRefused as e:
        # Random data may be legitimately refused; a defect would show up as another code.
        codes = {i.code for i in e.issues}
        assert codes <= {"ZERO_EQUIVALENT_UNITS", "DISPOSAL_EXCEEDS_COST", "COUNT_WITHOUT_BOOK_UNITS",
                         "AMOUNT_PRECISION", "NORMAL_SPOILAGE_UNABSORBED", "BEGINNING_COST_WITHOUT_UNITS"}, e.issues
        assume(False)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(plant())
@example(SHORT_COUNT_ALL_OVER_APPLIED)
def test_journals_balance_and_the_rollforward_ties(data):
    with Ledger(":memory:") as ledger:
        outcome = _close(data, ledger)
    for journal in outcome.journals.journals:
        assert journal.total_debit == journal.total_credit, journal.id
    assert outcome.rollforward.ties_ok
    for row in outcome.rollforward.rows:
        assert row.computed_closing == row.closing
    for fg in outcome.rollforward.finished_goods:
        assert fg.opening + fg.completed - fg.cost_of_goods_sold + fg.overhead_adjustment == fg.closing
    _proration_is_what_the_products_carry(outcome.result)
    _count_differences_are_rounded_once(outcome.result, data)


def _count_differences_are_rounded_once(result, data) -> None:
    """A count difference is one amount at book cost, rounded once (book ending WIP x units over or
    short / book units), then split over the elements; never the elements rounded and added up."""
    q = Decimal(1).scaleb(-{"USD": 2, "JPY": 0, "KWD": 3}[data["currency"]])
    for product in result.products:
        for stage, count in product.count_adjustments.items():
            book = product.report.stage(stage).ending_wip
            diff = count.counted_units - count.book_units
            assert count.amount == (book.total * diff / count.book_units).quantize(q, rounding=ROUND_HALF_UP)
            assert set(count.by_element) == set(book.by_element)
            assert all(a == a.quantize(q) for a in count.by_element.values())


def _proration_is_what_the_products_carry(result) -> None:
    """Each pool (a stage's overhead) prorated on its own: its shares add up to its difference and
    its weights to its overhead applied; what is not prorated is written off; and the shares are
    exactly what each product's WIP, finished goods and COGS carry."""
    prorated = {l.stage: l for l in result.overhead if l.disposition == "prorate"}
    assert result.written_off_to_cogs == sum(l.under_applied for l in result.overhead if l.stage not in prorated)
    assert {s.pool for s in result.proration} == set(prorated)
    for pool, line in prorated.items():
        mine = [s for s in result.proration if s.pool == pool]
        assert sum(s.amount for s in mine) == line.under_applied
        assert abs(sum(s.weight for s in mine) - line.applied) < Decimal("1e-20")
        # Every place holds a share of the pool's overhead, none negative (units found at the count
        # included): so each part goes the way of the difference, and none exceeds it.
        assert all(s.weight >= 0 for s in mine), [s for s in mine if s.weight < 0]
        assert all(s.amount * line.under_applied >= 0 and abs(s.amount) <= abs(line.under_applied) for s in mine)
    for i, product in enumerate(result.products):
        mine = [s for s in result.proration if s.product == i]
        by_bucket: dict = {}
        for s in mine:
            if s.bucket == "wip":
                by_bucket[(s.stage, s.element)] = by_bucket.get((s.stage, s.element), 0) + s.amount
        assert by_bucket == {(stage, e): a for stage, by_element in product.overhead_adjustment.items()
                             for e, a in by_element.items()}
        for wip in product.closing_wip.values():  # a part is at most the pool's overhead an element holds
            assert all(cost >= 0 for cost in wip.cost.values()), (product.name, wip.stage, wip.cost)
        fg = sum(s.amount for s in mine if s.bucket == "fg")
        cogs = sum(s.amount for s in mine if s.bucket == "cogs")
        assert (product.fg_overhead_adjustment, product.cogs_overhead_adjustment) in ((fg, cogs), (0, fg + cogs))
