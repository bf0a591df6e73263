"""Review 19 of `wip variance`: a late change names a new opening position (the prior month closed
again) as `wip diff` does; late changes list the inputs as `wip diff` words and orders them, and sign
what the re-close moved; no percentage or quantity is ever shown as a negative zero; argument
problems are reported together."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from costing.cli import main
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger
from costing.variance import build_variance_report, load_closes, reclosed_periods
from tests.demo_data import demo, on_another_october

D = Decimal
OPENING = "the opening position (the prior month was closed again)"


def _report(path: Path, p1: str = "2026-10", p2: str = "2026-11"):
    with Ledger(path) as ledger:
        before, after = load_closes(ledger, p1)[-1], load_closes(ledger, p2)[-1]
        reclosed = reclosed_periods(ledger, list(dict.fromkeys((p1, p2))))
    return build_variance_report(before, after, reclosed=reclosed)


def _section(text: str, head: str) -> list[str]:
    """The lines of one Late changes block (up to the next blank line)."""
    block = text.split(head, 1)[1].split("\n\n", 1)[0]
    return block.splitlines()[1:]


# ---- 1. a new opening position is a late change of its own ------------------------------------------

@pytest.fixture(scope="module")
def reopened_opening_ledger(tmp_path_factory) -> Path:
    """October and November closed; October reopened and closed again (Assembly's actual overhead
    22,500 → 22,700), then November reopened and closed again on that new opening, with one input
    change of its own (Espresso's Testing labour 4,900 → 4,700)."""
    path = tmp_path_factory.mktemp("reopened-opening") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        november = on_another_october(demo("2026-11"))
        close_period(november, ledger, user="test")
        reopen_period(ledger, "2026-10", "late OH invoice", user="controller")
        october = demo("2026-10")
        october["overhead"]["Assembly"]["actual"] = D("22700.00")
        close_period(october, ledger, user="test")
        reopen_period(ledger, "2026-11", "reclose on new opening", user="controller")
        november = on_another_october(demo("2026-11"))
        november["products"][0]["stages"][1]["added_costs"]["labour"] = D("4700.00")
        close_period(november, ledger, user="test")
    return path


def test_a_late_change_names_the_new_opening_position(reopened_opening_ledger, capsys, tmp_path):
    report = _report(reopened_opening_ledger)
    late = {l.period: l for l in report.late_changes}
    assert late["2026-11"].opening_changed is True
    assert late["2026-10"].opening_changed is False  # the ledger's first month: no opening to change
    assert [c.path for c in late["2026-11"].input_changes] == \
        ["products[Espresso Classic].stages[Testing].added_costs.labour"]

    db = str(reopened_opening_ledger)
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", db]) == 0
    lines = _section(capsys.readouterr().out, "Late changes 2026-11: close #1 → close #2")
    # First, as `wip diff` takes it first: the opening, then the input changes.
    assert lines[0] == f"  {OPENING}"
    assert lines[1] == "  products[Espresso Classic].stages[Testing].added_costs.labour: 4900.00 → 4700.00"

    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger", db]) == 0
    payload = {l["period"]: l for l in json.loads(capsys.readouterr().out)["late_changes"]}
    assert payload["2026-11"]["opening_changed"] is True and payload["2026-10"]["opening_changed"] is False

    import openpyxl

    book = tmp_path / "v.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--xlsx", str(book), "--json",
                 "--ledger", db]) == 0
    ws = openpyxl.load_workbook(book)["Variances"]
    column = [ws.cell(r, 1).value for r in range(1, ws.max_row + 1)]
    top = next(r for r, v in enumerate(column) if str(v).startswith("Late changes 2026-11"))
    assert column[top + 1] == OPENING
    assert column[top + 2] == "products[Espresso Classic].stages[Testing].added_costs.labour"
    earlier = next(r for r, v in enumerate(column) if str(v).startswith("Late changes 2026-10"))
    assert OPENING not in column[earlier:top]


def test_an_opening_only_re_close_says_so_rather_than_no_input_changed(reopened_opening_ledger):
    from costing.variance._render import render_variance

    report = _report(reopened_opening_ledger)
    late = [l.model_copy(update={"input_changes": ()}) if l.period == "2026-11" else l for l in report.late_changes]
    text = render_variance(report.model_copy(update={"late_changes": tuple(late)}))
    lines = _section(text, "Late changes 2026-11: close #1 → close #2")
    assert lines[:2] == [f"  {OPENING}", "  no input changed"]
    assert "the opening position or the engine did" not in text


# ---- 2. never a negative zero -----------------------------------------------------------------------

def test_a_percentage_change_that_rounds_to_zero_is_shown_unsigned():
    from costing.variance._bridge import _said, _share_shown, explanation_text
    from costing.variance._render import LocaleNumbers

    e = _said("price", "Testing overhead transferred-out cost per unit", "rate", D("18.1000"), D("18.0999"))
    assert str(e.pct_change) == "0.0"  # not -0.0
    said = e.model_copy(update={"metric": "cost transferred out", "share_of_change": D(40), "amount": D("1.00")})
    for numbers in (None, LocaleNumbers("en_US"), LocaleNumbers("de_DE")):
        text = explanation_text(said, numbers)
        assert "+-" not in text and "-0" not in text and " 0.0 % (" in text.replace("0,0", "0.0"), text
    rounded_up = _said("price", "x", "rate", D("18.0999"), D("18.1000"))
    assert " 0.0 % (" in explanation_text(rounded_up.model_copy(update={"metric": "m", "share_of_change": D(1)}))
    assert str(_share_shown(D("0.00"), D("-3.00"))) == "0"


def test_the_texts_quantities_rates_and_growth_are_never_negative_zero():
    from costing.variance._flow import _growth_shown
    from costing.variance._render import _growth, _qty, _rate

    assert _qty(D("-0.00001"), "en_US") == "0"
    assert _rate(D("-0.00001"), "en_US") == "0.00"
    assert _growth(D("-0.0001"), "en_US") == "0.0 %"
    assert str(_growth_shown(D("-0.0001"))) == "0.000"


# ---- 3. late changes worded, ordered and signed as `wip diff` ---------------------------------------

@pytest.fixture(scope="module")
def product_added_ledger(tmp_path_factory) -> Path:
    """October and November closed; November reopened and closed again with a product added (Milk
    Frother, one stage), Barista Pro's and Espresso Classic's Assembly labour changed, and
    Assembly's actual overhead changed."""
    path = tmp_path_factory.mktemp("product-added") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(demo("2026-11"), ledger, user="test")
        reopen_period(ledger, "2026-11", "new product", user="controller")
        data = demo("2026-11")
        data["products"][0]["stages"][0]["added_costs"]["labour"] = \
            D(data["products"][0]["stages"][0]["added_costs"]["labour"]) + 100
        data["products"][1]["stages"][0]["added_costs"]["labour"] = \
            D(data["products"][1]["stages"][0]["added_costs"]["labour"]) + 100
        data["products"].append({
            "name": "Milk Frother",
            "stages": [{"name": "Assembly",
                        "elements": {"materials": {"kind": "material", "added": "start"},
                                     "labour": {"kind": "labour", "added": "evenly"},
                                     "overhead": {"kind": "overhead", "added": "evenly"}},
                        "started": 50, "completed": 40, "ending_wip": {"units": 10, "complete": D("0.5")},
                        "added_costs": {"materials": D("1000.00"), "labour": D("450.00")},
                        "driver_quantity": 30}],
            "shipments": 30})
        close_period(data, ledger, user="test")
    return path


def test_late_changes_list_the_inputs_as_wip_diff(product_added_ledger, capsys):
    db = str(product_added_ledger)
    report = _report(product_added_ledger)
    (late,) = report.late_changes
    added = next(c for c in late.input_changes if c.path == "products[Milk Frother]")
    assert (added.before, added.after) == (None, "(product)")  # one change, not one per field
    assert not any(c.path.startswith("products[Milk Frother].") for c in late.input_changes)

    assert main(["diff", "2026-11", "--ledger", db]) == 0
    diff = capsys.readouterr().out
    expected = diff.split("Input changes:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert "  products[Milk Frother]: (not given) → (product)" in expected

    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", db]) == 0
    text = capsys.readouterr().out
    lines = _section(text, "Late changes 2026-11: close #1 → close #2")
    listed = lines[:lines.index("  What the re-close moved:")]
    assert listed == expected  # same words, same (flow) order
    assert "None" not in "\n".join(lines)
    # What moved is signed as wip diff signs it: + on an increase.
    moved = [l for l in lines if l.startswith("    cost added ")]
    assert moved and all(") — " in l or l.endswith(")") for l in moved)
    total = next(l for l in moved if l.startswith("    cost added Total:"))
    assert "(+" in total, total


def test_the_json_keeps_a_value_not_given_as_null(product_added_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger",
                 str(product_added_ledger)]) == 0
    (late,) = json.loads(capsys.readouterr().out)["late_changes"]
    assert {"path": "products[Milk Frother]", "before": None, "after": "(product)"} in late["input_changes"]
    assert late["opening_changed"] is False


# ---- 4. argument problems together ------------------------------------------------------------------

def test_periods_out_of_order_and_a_bad_materiality_are_reported_together(demo_ledger, capsys):
    code = main(["variance", "--from", "2026-11", "--to", "2026-10", "--materiality", "x",
                 "--ledger", str(demo_ledger)])
    err = capsys.readouterr().err
    assert code == 2
    assert "[PERIODS_OUT_OF_ORDER]" in err and "--materiality: expected a number, found 'x'" in err
    assert "2 problems found." in err


def test_a_bad_locale_and_materialities_are_reported_together(demo_ledger, capsys):
    code = main(["variance", "--from", "2026-10", "--to", "2026-11", "--locale", "zz", "--materiality", "-5",
                 "--materiality-pct", "abc", "--ledger", str(demo_ledger)])
    err = capsys.readouterr().err
    assert code == 2
    assert "--locale: unknown locale 'zz'; expected e.g. en_US, de_DE [UNKNOWN_LOCALE]" in err
    assert "--materiality: expected zero or more, found '-5' [NEGATIVE_AMOUNT]" in err
    assert "--materiality-pct: expected a number, found 'abc' [NOT_A_NUMBER]" in err
    assert "3 problems found." in err
