"""Names a ledger recorded before characters that only hide were refused (engine 0.2.0 accepted a
zero-width space or a soft hyphen in a name) are read as they were accepted: the month's report,
export, diff and variance audit compute again, and the next month closes with the same names.  New
input is refused such a name; a name spelt with a joiner or a direction mark is a name."""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import costing._journal as journal
from costing.cli import main
from costing.close import resolve_close
from costing.close_service import close_period, reopen_period
from costing.ledger import Ledger
from tests.demo_data import demo, on_another_october

ZWSP, SHY = "\u200b", "\u00ad"  # zero-width space, soft hyphen: refused in new input since a4ccf9d
COMPANY = f"Brew{SHY}Works Ltd"
STAGE = f"Assem{ZWSP}bly"
PRODUCT = f"Espresso{ZWSP} Classic"
WIP_ACCOUNT_NAME = f"WIP - Assem{SHY}bly"
PERSIAN_PRODUCT = "\u0642\u0647\u0648\u0647\u200c\u0633\u0627\u0632"  # "qahve-saz", its ZWNJ part of the spelling


def spelt_as_recorded(data: dict) -> dict:
    """The demo close with the names a 0.2.0 ledger may hold: the company, one stage (its WIP account,
    overhead pool and every product's stage), one product and one account name."""
    data = copy.deepcopy(data)
    data["company"] = COMPANY
    data["accounts"]["wip"] = {STAGE if stage == "Assembly" else stage: account
                               for stage, account in data["accounts"]["wip"].items()}
    data["accounts"]["wip"][STAGE]["name"] = WIP_ACCOUNT_NAME
    data["overhead"] = {STAGE if stage == "Assembly" else stage: pool for stage, pool in data["overhead"].items()}
    for product in data["products"]:
        if product["name"] == "Espresso Classic":
            product["name"] = PRODUCT
        for stage in product["stages"]:
            if stage["name"] == "Assembly":
                stage["name"] = STAGE
    return data


def relaboured(data: dict) -> dict:
    """The month with Testing labour of the renamed product corrected (general-ledger balances dropped)."""
    changed = {k: v for k, v in copy.deepcopy(data).items() if k != "general_ledger"}
    product = next(p for p in changed["products"] if p["name"] == PRODUCT)
    next(s for s in product["stages"] if s["name"] == "Testing")["added_costs"]["labour"] = "4800.00"
    return changed


def recorded_under_the_0_2_0_rule(data: dict, ledger: Ledger):
    """Close ``data`` as the engine before a4ccf9d did: names were refused line breaks, control
    characters and spaces at the ends, no character that only hides."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(journal, "HIDING_CHARACTERS", re.compile("(?!)"))  # matches nothing
        return close_period(data, ledger, user="test")


@pytest.fixture(scope="module")
def old_ledger(tmp_path_factory) -> Path:
    """October closed under the 0.2.0 rule, reopened and closed again with its labour corrected."""
    db = tmp_path_factory.mktemp("recorded") / "ledger.db"
    with Ledger(db) as ledger:
        recorded_under_the_0_2_0_rule(spelt_as_recorded(demo("2026-10")), ledger)
        reopen_period(ledger, "2026-10", "labour corrected", user="test")
        recorded_under_the_0_2_0_rule(relaboured(spelt_as_recorded(demo("2026-10"))), ledger)
    return db


@pytest.fixture
def ledger_copy(old_ledger, tmp_path) -> Path:
    """The recorded ledger, copied for a test that writes to it."""
    return Path(shutil.copy(old_ledger, tmp_path / "ledger.db"))


def run(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    status = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return status, out, err


def close_file(tmp_path: Path, data: dict) -> Path:
    path = tmp_path / f"close-{data['period']}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def test_the_recorded_names_are_ones_a_new_close_file_is_refused():
    _, issues = resolve_close(spelt_as_recorded(demo("2026-10")), None)
    refused = {(i.code, i.path) for i in issues}
    assert {("INVALID_NAME", "company"), ("INVALID_NAME", f"accounts.wip.{STAGE}"),
            ("INVALID_ACCOUNT", f"accounts.wip.{STAGE}.name"), ("INVALID_NAME", "products[0].name")} <= refused


def test_wip_report_computes_the_recorded_close_again(old_ledger, capsys):
    status, out, err = run(capsys, "report", "--period", "2026-10", "--ledger", old_ledger)
    assert (status, err) == (0, "")
    assert f"== {PRODUCT} (2026-10, close #2) ==" in out and f"{STAGE} — production cost report" in out


def test_wip_export_writes_the_recorded_account_names_exactly(old_ledger, tmp_path, capsys):
    status, _, err = run(capsys, "export", "--period", "2026-10", "--format", "gl-csv", "--out", tmp_path / "out",
                         "--ledger", old_ledger)
    assert (status, err) == (0, "")
    rows = [row for path in sorted((tmp_path / "out").iterdir()) if path.suffix == ".csv"
            for row in csv.reader(path.read_text(encoding="utf-8").splitlines())]
    assert any(WIP_ACCOUNT_NAME in row for row in rows)


def test_wip_diff_splits_the_moves_of_the_recorded_closes(old_ledger, capsys):
    from costing.close._diff import CloseDiff

    status, out, err = run(capsys, "diff", "2026-10", "--json", "--ledger", old_ledger)
    assert (status, err) == (0, "")
    result = CloseDiff.model_validate_json(out)
    assert result.attributed
    assert [[c.path for c in step.changes] for step in result.steps] == [
        [f"products[{PRODUCT}].stages[Testing].added_costs.labour"]]
    assert result.amounts and all(dict(amount.by_step) == {1: amount.change} for amount in result.amounts)


def test_the_next_month_closes_with_the_recorded_names_and_the_variance_audit_reads_both(ledger_copy, tmp_path,
                                                                                          capsys):
    november = close_file(tmp_path, on_another_october(spelt_as_recorded(demo("2026-11"))))
    status, _, err = run(capsys, "close", november, "--period", "2026-11", "--ledger", ledger_copy)
    assert (status, err) == (0, "")
    status, out, err = run(capsys, "variance", "--from", "2026-10", "--to", "2026-11", "--json", "--ledger",
                           ledger_copy)
    assert (status, err) == (0, "")
    audit = json.loads(out)
    assert audit["all_sum_exactly"] and audit["ties_ok"]
    assert PRODUCT in {line["product"] for line in audit["bridge"]["lines"]}
    # Each month recomputed under the other method too, from its recorded inputs
    assert [effect["available"] for effect in audit["method_effect"]] == [True] * len(audit["method_effect"])
    assert STAGE in {line["stage"] for effect in audit["method_effect"] for line in effect["lines"]}
    status, out, _ = run(capsys, "report", "--period", "2026-11", "--ledger", ledger_copy)
    assert status == 0 and PRODUCT in out


def test_a_large_next_month_resolved_in_a_child_closes_with_the_recorded_names_alike(old_ledger, tmp_path,
                                                                                     monkeypatch):
    """A close of many stage rows resolves its products in a forked child: the same journals."""
    import costing.close_service as service

    def not_in_one_process(*args, **kwargs):
        raise AssertionError("the close fell back to resolving in one process")

    november = on_another_october(spelt_as_recorded(demo("2026-11")))
    books = {}
    for rows, name in ((10**9, "one process"), (0, "child")):
        monkeypatch.setattr(service, "BACKGROUND_FROM_STAGE_ROWS", rows)
        if name == "child":
            monkeypatch.setattr(service, "resolve_close", not_in_one_process)
        with Ledger(shutil.copy(old_ledger, tmp_path / f"{name}.db")) as ledger:
            books[name] = service.close_period(november, ledger, user="test").journals
    assert books["child"] == books["one process"]
    assert any(account.name == WIP_ACCOUNT_NAME for account in books["child"].accounts.values())


def test_the_next_month_is_refused_a_hiding_name_the_prior_close_does_not_hold(ledger_copy, tmp_path, capsys):
    november = on_another_october(spelt_as_recorded(demo("2026-11")))
    november["products"].append(copy.deepcopy(next(p for p in november["products"] if p["name"] == PRODUCT)))
    november["products"][-1]["name"] = f"Espresso{ZWSP} Lungo"
    status, out, err = run(capsys, "close", close_file(tmp_path, november), "--period", "2026-11",
                           "--ledger", ledger_copy)
    assert status == 2 and out == ""
    assert f"products[{len(november['products']) - 1}].name" in err and "U+200B ZERO WIDTH SPACE" in err
    assert "[INVALID_NAME]" in err
    assert err.count("[INVALID_NAME]") == 1  # the recorded names are not refused beside it


def test_october_closes_again_after_a_reopen_with_the_names_it_recorded(ledger_copy, capsys, tmp_path):
    with Ledger(ledger_copy) as ledger:
        reopen_period(ledger, "2026-10", "overhead corrected", user="test")
    october = spelt_as_recorded(demo("2026-10"))
    status, _, err = run(capsys, "close", close_file(tmp_path, october), "--period", "2026-10",
                         "--ledger", ledger_copy)
    assert (status, err) == (0, "")


def test_a_new_close_file_with_a_zero_width_space_is_refused_and_nothing_is_written(tmp_path, capsys):
    october = demo("2026-10")
    october["products"][0]["name"] = PRODUCT
    ledger = tmp_path / "ledger.db"
    status, out, err = run(capsys, "close", close_file(tmp_path, october), "--period", "2026-10", "--ledger", ledger)
    assert status == 2 and out == ""
    assert "products[0].name" in err and "U+200B ZERO WIDTH SPACE" in err and "[INVALID_NAME]" in err
    assert not ledger.exists()


def test_a_new_close_file_with_a_soft_hyphen_in_the_company_is_refused(tmp_path, capsys):
    october = demo("2026-10")
    october["company"] = COMPANY
    status, _, err = run(capsys, "close", close_file(tmp_path, october), "--period", "2026-10",
                         "--ledger", tmp_path / "ledger.db")
    assert status == 2
    assert "company: the company name has an invisible character (U+00AD SOFT HYPHEN)" in err
    assert "[INVALID_NAME]" in err


def test_a_persian_name_spelt_with_a_zero_width_non_joiner_closes(tmp_path, capsys):
    october = demo("2026-10")
    october["products"][0]["name"] = PERSIAN_PRODUCT
    ledger = tmp_path / "ledger.db"
    status, _, err = run(capsys, "close", close_file(tmp_path, october), "--period", "2026-10", "--ledger", ledger)
    assert (status, err) == (0, "")
    status, out, _ = run(capsys, "report", "--period", "2026-10", "--product", PERSIAN_PRODUCT, "--ledger", ledger)
    assert status == 0 and PERSIAN_PRODUCT in out


def test_resolving_recorded_inputs_accepts_their_names_and_new_input_only_the_names_vouched_for():
    recorded = spelt_as_recorded(demo("2026-10"))
    plan, issues = resolve_close(recorded, None, recorded=True)
    assert issues == [] and plan.spec.company == COMPANY
    _, issues = resolve_close(recorded, None, vouched=frozenset({COMPANY, STAGE, WIP_ACCOUNT_NAME}))
    assert [(i.code, i.path) for i in issues] == [("INVALID_NAME", "products[0].name")]


# ---- names a later rule refuses or folds, recorded by the engine that accepted them -------------

def recorded_before_invisible_characters_were_folded(data: dict, ledger: Ledger):
    """Close ``data`` as the engine before product_key set invisible characters aside did (and
    before any character that only hides was refused): two look-alike names were two products."""
    import costing.close._resolve as close_resolve

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(close_resolve, "product_key", lambda name: " ".join(name.split()).casefold())
        return recorded_under_the_0_2_0_rule(data, ledger)


def with_a_twin_of_espresso_classic(data: dict, name: str) -> dict:
    data = copy.deepcopy(data)
    twin = copy.deepcopy(next(p for p in data["products"] if p["name"] == "Espresso Classic"))
    data["products"].append({**twin, "name": name})
    data.pop("general_ledger", None)  # the demo's balances are of one Espresso Classic
    return data


def test_a_name_recorded_with_an_invisible_operator_closes_onwards_and_a_new_one_is_refused(tmp_path, capsys):
    """U+2063 INVISIBLE SEPARATOR was accepted in names until it was refused as only hiding: a
    month recorded with it closes onwards with it; a new product named with it is refused."""
    recorded = "Barista\u2063 Pro"
    ledger = tmp_path / "ledger.db"
    with Ledger(ledger) as opened:
        recorded_under_the_0_2_0_rule(on_another_october(_renamed(demo("2026-10"), "Barista Pro", recorded)), opened)
    november = on_another_october(_renamed(demo("2026-11"), "Barista Pro", recorded))
    refused = with_a_twin_of_espresso_classic(november, "Cold\u2063 Brew")
    status, _, err = run(capsys, "close", close_file(tmp_path, refused), "--period", "2026-11", "--ledger", ledger)
    assert status == 2 and err.count("[INVALID_NAME]") == 1  # the recorded name is not refused beside it
    assert "products[3].name" in err and "U+2063 INVISIBLE SEPARATOR" in err
    status, _, err = run(capsys, "close", close_file(tmp_path, november), "--period", "2026-11", "--ledger", ledger)
    assert (status, err) == (0, "")
    with Ledger(ledger) as opened:
        assert recorded in {product for product, _ in opened.current_close("2026-11").state.wip}


def test_look_alike_products_a_ledger_recorded_as_two_close_onwards_and_a_third_spelling_is_refused(
        tmp_path, capsys):
    """A ledger recorded 'Espresso Classic' and, as another product with its own WIP, 'Espresso
    Classic' with a zero-width space: neither can be renamed (PRODUCT_MISSING) nor the two merged, so
    the next month closes with both as recorded.  Another look-alike is still the same product twice."""
    look_alike = f"Espresso Classic{ZWSP}"
    ledger = tmp_path / "ledger.db"
    with Ledger(ledger) as opened:
        recorded_before_invisible_characters_were_folded(with_a_twin_of_espresso_classic(demo("2026-10"), look_alike),
                                                         opened)
    november = with_a_twin_of_espresso_classic(demo("2026-11"), look_alike)
    third = with_a_twin_of_espresso_classic(november, "Espresso Classic\u200d")
    status, _, err = run(capsys, "close", close_file(tmp_path, third), "--period", "2026-11", "--ledger", ledger)
    assert status == 2
    assert [line.split(": ", 2)[2] for line in err.splitlines() if line.endswith("]")] == [
        "products[4].name: product 'Espresso Classic\\u200d' differs from 'Espresso Classic' (products[0]) only in "
        "invisible characters (U+200D ZERO WIDTH JOINER), so it is the same product named twice; merge the two, or "
        "name them apart [DUPLICATE_PRODUCT]"]
    status, _, err = run(capsys, "close", close_file(tmp_path, november), "--period", "2026-11", "--ledger", ledger)
    assert (status, err) == (0, "")
    with Ledger(ledger) as opened:
        carried = {product for (product, _), wip in opened.current_close("2026-11").state.wip.items() if wip.units}
    assert {"Espresso Classic", look_alike} <= carried


def _renamed(data: dict, old: str, new: str) -> dict:
    data = copy.deepcopy(data)
    next(p for p in data["products"] if p["name"] == old)["name"] = new
    return data
