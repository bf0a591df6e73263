"""`wip diff`: which input change moved which amount, exactly.  Changes are substituted one at a
time and the month closed again after each; the parts of every move add up to the move."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from costing.close import build_journals, build_rollforward, compute_close, resolve_close
from costing.close._diff import close_amounts, diff_closes
from costing.close._render import render_diff
from costing.close._state import PriorState
from tests.demo_data import demo, on_another_october
from tests.test_close_properties import plant



def closed(data: dict, prior: PriorState | None = None):
    """(amounts as the ledger would store them, closing state) of a month closed in memory."""
    plan, issues = resolve_close(data, prior)
    assert not issues, issues
    result = compute_close(plan)
    book = build_journals(result)
    state = PriorState(data["period"], {(w.product, w.stage): w for p in result.products for w in p.closing_wip.values()},
                       {p.name: p.fg_closing for p in result.products})
    return close_amounts(build_rollforward(result, book), book), state


def diff(old: dict, new: dict, old_prior=None, new_prior=None):
    return diff_closes(old["period"], old, new, old_prior, new_prior, closed(old, old_prior)[0], closed(new, new_prior)[0])


def parts_add_up(result) -> None:
    for amount in result.amounts + result.totals:
        assert sum((v for _, v in amount.by_step), Decimal(0)) == amount.change, amount.name
    # ... and each step's moves are exactly the parts listed under the amounts
    for n, step in enumerate(result.steps, 1):
        listed = {(a.kind, a.name): dict(a.by_step).get(n) for a in result.amounts if n in dict(a.by_step)}
        assert {(m.kind, m.name): m.amount for m in step.moves} == listed


def stage(data: dict, product: str, name: str) -> dict:
    found = next(p for p in data["products"] if p["name"] == product)
    return next(s for s in found["stages"] if s["name"] == name)


def test_each_change_gets_its_own_part_of_each_move():
    old = demo("2026-10")
    new = copy.deepcopy(old)
    stage(new, "Espresso Classic", "Testing")["added_costs"]["labour"] = "4800.00"
    new["overhead"]["Assembly"]["rate"] = "19.00"
    result = diff(old, new)
    assert result.attributed
    assert [c.path for step in result.steps for c in step.changes] == [
        "overhead.Assembly.rate", "products[Espresso Classic].stages[Testing].added_costs.labour"]
    parts_add_up(result)
    rate, labour = ({(m.kind, m.name): m.amount for m in step.moves} for step in result.steps)
    # The labour change moves nothing upstream of Testing; the Assembly rate moves Assembly's overhead.
    assert not any(name.startswith("Espresso Classic / Assembly") for kind, name in labour if kind == "closing_wip")
    assert labour[("journal", "Direct labour charged to production (2026-10) / 1320 (Testing: labour added)")] \
        == Decimal("150.00")
    hours = sum(stage(old, p["name"], "Assembly")["driver_quantity"] for p in old["products"])
    assert rate[("journal", "Overhead applied at predetermined rates (2026-10) / 1310 (Assembly: overhead added)")] \
        == (Decimal("19.00") - Decimal(str(old["overhead"]["Assembly"]["rate"]))) * hours


def test_changes_that_do_not_close_apart_are_one_step():
    """Two more units completed in Assembly are two fewer in its ending WIP and two more received by
    Testing: no one of these changes closes without the others."""
    old = demo("2026-11")
    october = closed(demo("2026-10"))[1]
    new = copy.deepcopy(old)
    assembly, testing = stage(new, "Espresso Classic", "Assembly"), stage(new, "Espresso Classic", "Testing")
    assembly["completed"] += 2
    assembly["ending_wip"]["units"] -= 2
    testing["ending_wip"]["units"] += 2
    stage(new, "Espresso Classic", "Packaging")["added_costs"]["packaging"] = "1234.00"
    result = diff(old, new, october, october)
    parts_add_up(result)
    grouped = [[c.path for c in step.changes] for step in result.steps]
    assert grouped[0] == ["products[Espresso Classic].stages[Assembly].completed",
                          "products[Espresso Classic].stages[Assembly].ending_wip.units",
                          "products[Espresso Classic].stages[Testing].ending_wip.units"]
    assert grouped[1] == ["products[Espresso Classic].stages[Packaging].added_costs.packaging"]
    assert [s.what for s in result.steps] == ["inputs", "inputs"]


def test_a_new_opening_is_its_own_step():
    """The prior month closed again with other figures: the same inputs open elsewhere."""
    october = demo("2026-10")
    first_state = closed(october)[1]
    changed = copy.deepcopy(october)
    stage(changed, "Espresso Classic", "Assembly")["added_costs"]["materials"] = "30000.00"
    second_state = closed(changed)[1]
    november = on_another_october(demo("2026-11"))
    result = diff(november, november, first_state, second_state)
    parts_add_up(result)
    assert [s.what for s in result.steps] == ["opening"]
    assert result.input_changes == ()
    assert any(a.kind == "closing_wip" for a in result.amounts)
    # Said so, not "No input changes." above a step 1 "one step per input change" never explains.
    text = render_diff(result, "USD")
    assert "No input changes: the opening position differs (the prior month was closed again), step 1 below." in text
    assert "each at the values before it; the opening position):" in text


def test_what_the_inputs_do_not_explain_is_said_not_spread():
    old = demo("2026-10")
    stored_old, _ = closed(old)
    tampered = dict(stored_old)
    key = next(k for k in tampered if k[0] == "cogs")
    tampered[key] += Decimal("1.00")  # as if an older engine had recorded another figure
    result = diff_closes("2026-10", old, old, None, None, tampered, stored_old)
    parts_add_up(result)
    assert [s.what for s in result.steps] == ["unexplained"]
    assert result.steps[0].moves[0].amount == Decimal("-1.00")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plant(), st.data())
def test_parts_add_up_on_random_plants(data, draw):
    plan, issues = resolve_close(data, None)
    assume(not issues)
    try:
        compute_close(plan)
    except Exception:  # noqa: BLE001 - a plant the close refuses is no example
        assume(False)
    new = copy.deepcopy(data)
    for product in new["products"]:
        for s in product["stages"]:
            if draw.draw(st.booleans()):
                s["added_costs"]["labour"] = str(Decimal(s["added_costs"]["labour"]) + draw.draw(st.integers(1, 500)))
            if draw.draw(st.booleans()):
                s["driver_quantity"] += draw.draw(st.integers(0, 50))
    for name, overhead in new["overhead"].items():
        if draw.draw(st.booleans()):
            overhead["actual"] = str(Decimal(overhead["actual"]) + 100)
    try:
        closed(new)
    except Exception:  # noqa: BLE001
        assume(False)
    result = diff(data, new)
    assert result.attributed
    parts_add_up(result)
    assert all(s.what == "inputs" for s in result.steps)
    assert sum(len(s.changes) for s in result.steps) == len(result.input_changes)


def test_the_same_number_written_two_ways_is_no_input_change():
    """Ledgers written before YAML kept the digits stored 4650.00 as "4650.0": comparing such a
    close with a later one lists no change for it.  Account codes are text: 1310 is not 01310."""
    old = demo("2026-10")
    new = copy.deepcopy(old)
    stage(old, "Espresso Classic", "Testing")["added_costs"]["labour"] = "4650.0"
    stage(new, "Espresso Classic", "Testing")["added_costs"]["labour"] = "4650.00"
    new["accounts"]["cogs"]["code"] = "05000"
    result = diff(old, new)
    assert [c.path for c in result.input_changes] == ["accounts.cogs.code"]
    parts_add_up(result)


# ---- closes recorded by another engine version ----------------------------------------------------

def test_an_older_engines_cent_is_one_step_named_by_the_versions():
    """The earlier close recorded by 0.1.0 (a cent rounded otherwise), the later by this engine: the
    cent is one step saying what it is, not 'not explained', and the parts still add up."""
    old = demo("2026-10")
    this_close, _ = closed(old)
    by_0_1_0 = dict(this_close)
    key = next(k for k in by_0_1_0 if k[0] == "cogs")
    by_0_1_0[key] -= Decimal("0.01")
    new = copy.deepcopy(old)
    stage(new, "Espresso Classic", "Testing")["added_costs"]["labour"] = "4800.00"
    result = diff_closes("2026-10", old, new, None, None, by_0_1_0, closed(new)[0],
                         engine_versions=("0.1.0", "0.2.0"), this_engine="0.2.0")
    parts_add_up(result)
    assert [s.what for s in result.steps] == ["engine", "inputs"]
    assert {(m.kind, m.name): m.amount for m in result.steps[0].moves} == {key: Decimal("0.01")}
    # Without the versions the same cent is told as not explained by the inputs, as before.
    unversioned = diff_closes("2026-10", old, new, None, None, by_0_1_0, closed(new)[0])
    assert [s.what for s in unversioned.steps] == ["unexplained", "inputs"]


def test_a_cent_the_same_engine_does_not_reproduce_is_not_blamed_on_the_engine():
    old = demo("2026-10")
    stored_old, _ = closed(old)
    tampered = dict(stored_old)
    key = next(k for k in tampered if k[0] == "cogs")
    tampered[key] += Decimal("1.00")
    result = diff_closes("2026-10", old, old, None, None, tampered, stored_old,
                         engine_versions=("0.2.0", "0.2.0"), this_engine="0.2.0")
    parts_add_up(result)
    assert [s.what for s in result.steps] == ["unexplained"]
    assert "  1. not explained by the input changes or the engine version\n" in render_diff(result, "USD")


def test_one_older_engine_on_both_closes_that_offsets_is_no_step():
    """Both closes by 0.1.0 and no input change its rounding treats otherwise: the cent it posts
    differently from this engine at each end offsets, and no step is shown for it."""
    old = demo("2026-10")
    this_close, _ = closed(old)
    by_0_1_0 = dict(this_close)
    key = next(k for k in by_0_1_0 if k[0] == "cogs")
    by_0_1_0[key] -= Decimal("0.01")
    result = diff_closes("2026-10", old, old, None, None, by_0_1_0, by_0_1_0,
                         engine_versions=("0.1.0", "0.1.0"), this_engine="0.2.0")
    assert result.steps == () and result.amounts == ()


def close_by_engine_0_1_0(data: dict, ledger):
    """Record a close as engine 0.1.0 would have: its rounding (CHANGELOG.md) posted other cents
    from the same inputs; here its first split of a stage's cost gives ending WIP one cent more."""
    import costing._engine as engine
    import costing.close_service as service
    from costing.close_service import close_period

    real_allocate, shifted = engine.allocate, []

    def allocate(exact, total, quantum, rounding):
        parts = real_allocate(exact, total, quantum, rounding)
        if not shifted and len(parts) == 2 and parts[0] >= quantum:
            shifted.append(parts)
            return [parts[0] - quantum, parts[1] + quantum]
        return parts

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "allocate", allocate)
        patch.setattr(service, "__version__", "0.1.0")
        outcome = close_period(data, ledger, user="test")
    assert shifted, "the simulated 0.1.0 rounding was not applied"
    return outcome


def _relabour(data: dict) -> dict:
    """The month with its Testing labour corrected (its general-ledger balances dropped with it)."""
    changed = {k: v for k, v in copy.deepcopy(data).items() if k != "general_ledger"}
    stage(changed, "Espresso Classic", "Testing")["added_costs"]["labour"] = "4800.00"
    return changed


@pytest.mark.parametrize("second_close_by", ["this engine", "0.1.0"])
def test_wip_diff_shows_an_engine_version_change_as_one_step(tmp_path, capsys, second_close_by):
    """October recorded by 0.1.0, reopened and closed again with its labour corrected (by this
    engine, or before the upgrade by 0.1.0 too): the engine's cents are exactly one step, which
    says what it is; the steps still add up to every move."""
    from costing import __version__
    from costing.cli import main
    from costing.close._diff import CloseDiff
    from costing.close_service import close_period, reopen_period
    from costing.ledger import Ledger

    db = tmp_path / "ledger.db"
    with Ledger(db) as ledger:
        close_by_engine_0_1_0(demo("2026-10"), ledger)
        reopen_period(ledger, "2026-10", "labour corrected", user="test")
        if second_close_by == "0.1.0":
            close_by_engine_0_1_0(_relabour(demo("2026-10")), ledger)
        else:
            close_period(_relabour(demo("2026-10")), ledger, user="test")
        old, new = ledger.closes("2026-10")
        stored_old = close_amounts(old.rollforward_model, old.journals)
    capsys.readouterr()
    assert main(["diff", "2026-10", "--json", "--ledger", str(db)]) == 0
    result = CloseDiff.model_validate_json(capsys.readouterr().out)
    parts_add_up(result)
    assert [s.what for s in result.steps] == ["engine", "inputs"]
    if second_close_by == "this engine":
        # What 0.1.0 recorded against what this engine makes of the same inputs, all of it.
        this_close = closed(demo("2026-10"))[0]
        expected = {k: this_close[k] - stored_old[k] for k in stored_old if this_close[k] != stored_old[k]}
        # The step's moves are the amounts; the totals they add up to carry the step as a part of their own.
        assert expected and {(m.kind, m.name): m.amount for m in result.steps[0].moves} \
            == {k: v for k, v in expected.items() if k[0] != "total"}
        assert {("total", t.name): dict(t.by_step)[1] for t in result.totals if 1 in dict(t.by_step)} \
            == {k: v for k, v in expected.items() if k[0] == "total"}
    assert main(["diff", "2026-10", "--ledger", str(db)]) == 0
    out = capsys.readouterr().out
    label = (f"  1. engine version 0.1.0 → {__version__} (not an input change" if second_close_by == "this engine"
             else f"  1. engine version 0.1.0, which recorded both closes, rounds the changes otherwise than this "
                  f"engine {__version__}")
    assert out.count(label) == 1 and "not explained" not in out
    assert "  2. products[Espresso Classic].stages[Testing].added_costs.labour: 4650.00 → 4800.00" in out


@pytest.mark.parametrize("later, said", [
    ("0.2.0", "  1. changes that never close apart: products[A].stages[B].completed: 10 → 11\n"),
    ("0.1.0", "  1. changes that never close apart (with the cents engine version 0.1.0 rounds otherwise than this "
              "one): products[A].stages[B].completed: 10 → 11\n"),
])
def test_changes_that_never_close_apart_are_not_said_to_be_no_engine_version(later, said):
    """A step left with input changes carries what they moved, and the cents of another version
    that recorded the later close: it is not labelled 'not the engine version'."""
    from costing.close._diff import AmountMove, CloseDiff, DiffStep, InputChange

    step = DiffStep(what="unexplained",
                    changes=(InputChange(path="products[A].stages[B].completed", before=10, after=11),),
                    moves=(AmountMove(kind="cogs", name="A", amount=Decimal("1.00")),))
    diff = CloseDiff(period="2026-10", input_changes=step.changes, steps=(step,), amounts=(), attributed=True,
                     note="one step per input change", engine_versions=("0.2.0", later), this_engine="0.2.0")
    text = render_diff(diff, "USD")
    assert said in text
    assert "or the engine version" not in text
