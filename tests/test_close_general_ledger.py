"""The close ties the WIP ledger to the general ledger's balances before it posts (``general_ledger``)."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pytest

from costing.close._render import render_close_summary
from costing.close_service import CloseRefused, close_period, reopen_period
from costing.ledger import Ledger
from tests.conftest import run_wip
from tests.demo_data import DEMO, demo, on_another_october

D = Decimal


def _october_closing(ledger: Ledger) -> dict[str, Decimal]:
    """October's closing balances by account, from the recorded roll-forward (WIP by stage account,
    finished goods), as an accountant would read them off the October papers."""
    data = demo("2026-10")
    code_of = {stage: a["code"] for stage, a in data["accounts"]["wip"].items()}
    closed = ledger.current_close("2026-10")
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for row in closed.rollforward["rows"]:
        balances[code_of[row["stage"]]] += D(row["closing"])
    balances[data["accounts"]["finished_goods"]["code"]] = sum(
        (D(r["closing"]) for r in closed.rollforward["finished_goods"]), D(0))
    return dict(balances)


def _november_with(balances: dict) -> dict:
    data = demo("2026-11")
    data["general_ledger"] = {"balances": balances}
    return data


def _actual_overhead(data: dict) -> Decimal:
    return sum((D(str(oh["actual"])) for oh in data["overhead"].values()), D(0))


@pytest.fixture
def october(tmp_path):
    path = tmp_path / "ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
    return path


def test_balances_that_agree_close_and_show_the_balance_after_posting(october):
    with Ledger(october) as ledger:
        opening = _october_closing(ledger)
        data = _november_with({**{k: str(v) for k, v in opening.items()},
                               "5900": str(_actual_overhead(demo("2026-11")))})
        outcome = close_period(data, ledger, user="test")
    ties = {t.account: t for t in outcome.result.general_ledger}
    assert set(ties) == {"1310", "1320", "1330", "1400", "5900"}
    assert all(t.ok for t in ties.values())
    assert ties["1320"].wip_ledger == opening["1320"] and ties["1320"].holds == "opening WIP"
    assert ties["5900"].wip_ledger == D("33650.00")  # 24,400 + 7,150 + 2,100 per the November file
    # After posting, each inventory account holds the month's closing per the roll-forward, and
    # overhead control is cleared by the overhead journal.
    text = render_close_summary(outcome.result, outcome.journals, outcome.rollforward)
    closing_1320 = sum((r.closing for r in outcome.rollforward.rows if r.stage == "Testing"), D(0))
    line_1320 = next(line for line in text.splitlines() if line.strip().startswith("1320 WIP - Testing"))
    assert line_1320.split()[-1] == f"{closing_1320:,.2f}"
    line_5900 = next(line for line in text.splitlines() if line.strip().startswith("5900"))
    assert line_5900.split()[-1] == "0.00"


def test_a_difference_refuses_the_close_with_both_figures_and_writes_nothing(october):
    with Ledger(october) as ledger:
        opening = _october_closing(ledger)
        typed = opening["1320"] - D("46.83")
        data = _november_with({"1320": str(typed), "1400": str(opening["1400"])})
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
        assert [e.period for e in ledger.events()] == ["2026-10"]
    [issue] = refused.value.issues
    assert (issue.code, issue.path) == ("GL_DOES_NOT_TIE", "general_ledger.balances.1320")
    assert str(typed) in issue.message and str(opening["1320"]) in issue.message and "-46.83" in issue.message


def test_the_first_period_ties_to_the_opening_written_in_the_file(tmp_path):
    data = demo("2026-10")
    opening_assembly = sum((D(str(v)) for p in data["products"] for s in p["stages"] if s["name"] == "Assembly"
                            for v in s.get("beginning_wip", {}).get("cost", {}).values()), D(0))
    assert opening_assembly  # the demo opens October with WIP in Assembly
    data["general_ledger"] = {"balances": {"1310": str(opening_assembly + D("0.01"))}}
    with Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    assert [(i.code, i.path) for i in refused.value.issues] == [("GL_DOES_NOT_TIE", "general_ledger.balances.1310")]
    assert "difference (GL − WIP ledger) 0.01" in refused.value.issues[0].message


def test_codes_the_close_cannot_tie_and_amounts_beyond_the_currency_are_located(tmp_path):
    data = demo("2026-10")
    data["general_ledger"] = {"balances": {"1210": "5", "1310": "1.005", "9999": "0"}}
    with Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    found = [(i.code, i.path) for i in refused.value.issues]
    assert found == [("UNKNOWN_ACCOUNT", "general_ledger.balances.1210"),
                     ("AMOUNT_PRECISION", "general_ledger.balances.1310"),
                     ("UNKNOWN_ACCOUNT", "general_ledger.balances.9999")]


def test_an_unquoted_code_in_yaml_says_to_quote_it(tmp_path):
    text = (DEMO / "close-2026-10.yaml").read_text() + '\ngeneral_ledger:\n  balances: {1310: 0}\n'
    path = tmp_path / "close.yaml"
    path.write_text(text)
    run = run_wip("close", str(path), "--period", "2026-10", "--ledger", str(tmp_path / "l.db"))
    assert run.returncode == 2
    assert "general_ledger.balances: account codes are text: write 1310 in quotes" in run.stderr
    assert not (tmp_path / "l.db").exists()


def test_a_difference_is_reported_with_every_other_problem(october):
    """Every problem at once: the tie is known from the prior close even when products fail."""
    with Ledger(october) as ledger:
        wrong = {"1310": "7449.60"}
        shipped_too_many = _november_with(wrong)
        shipped_too_many["products"][0]["shipments"] = 10000
        flow_broken = _november_with(wrong)
        flow_broken["products"][0]["stages"][0]["completed"] = 999
        for data, other in ((shipped_too_many, "SHIPMENTS_EXCEED_STOCK"), (flow_broken, "UNIT_FLOW")):
            with pytest.raises(CloseRefused) as refused:
                close_period(data, ledger, user="test")
            codes = [i.code for i in refused.value.issues]
            assert codes[0] == "GL_DOES_NOT_TIE" and other in codes, codes
        assert [e.period for e in ledger.events()] == ["2026-10"]


def test_a_first_months_difference_is_reported_with_its_unit_flow_problems(tmp_path, capsys):
    """Every problem at once in the ledger's first month too: the tie compares the GL with the
    opening the file writes (beginning WIP, opening finished goods), which no flow problem changes,
    so the accountant learns of both before fixing either; nothing is written, exit 2."""
    import yaml

    from costing.cli import main

    data = demo("2026-10")
    opening_fg = sum((D(str(layer["cost"])) for p in data["products"] for layer in p.get("opening_finished_goods", ())),
                     D(0))
    data["general_ledger"] = {"balances": {"1310": "10560.01", "1320": "3170.00", "1400": str(opening_fg)}}
    data["products"][0]["stages"][0]["completed"] = 999  # Assembly's flow, and so Testing's, broken
    path = tmp_path / "close.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    db = tmp_path / "l.db"
    assert main(["close", str(path), "--period", "2026-10", "--ledger", str(db)]) == 2
    err = capsys.readouterr().err
    assert not db.exists()
    with Ledger(db) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
        assert ledger.events() == []
    found = [(i.code, i.path) for i in refused.value.issues]
    assert found[0] == ("GL_DOES_NOT_TIE", "general_ledger.balances.1310")  # the header's first, as in the file
    assert {code for code, _ in found} == {"GL_DOES_NOT_TIE", "UNIT_FLOW"}
    assert [path for code, path in found if code == "GL_DOES_NOT_TIE"] == ["general_ledger.balances.1310"]
    assert "the WIP ledger's opening WIP is 10560.00; difference (GL − WIP ledger) 0.01" in refused.value.issues[0].message
    assert "[GL_DOES_NOT_TIE]" in err and "[UNIT_FLOW]" in err


def test_a_first_months_tie_waits_for_an_opening_that_is_itself_wrong(tmp_path):
    """An opening the file writes wrongly (here a negative cost) is no opening to tie to: its own
    problem is reported, not a difference made of it."""
    data = demo("2026-10")
    data["general_ledger"] = {"balances": {"1310": "10560.01"}}
    data["products"][0]["stages"][0]["completed"] = 999
    data["products"][1]["stages"][0]["beginning_wip"]["cost"]["labour"] = -400
    with Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    codes = {i.code for i in refused.value.issues}
    assert "NEGATIVE_AMOUNT" in codes and "UNIT_FLOW" in codes and "GL_DOES_NOT_TIE" not in codes


def test_overhead_control_shared_with_cogs_cannot_be_tied(tmp_path):
    data = demo("2026-10")
    data["accounts"]["overhead_control"] = {"code": "5000", "name": "Cost of goods sold"}
    data["general_ledger"] = {"balances": {"5000": str(_actual_overhead(data))}}
    with Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    [issue] = refused.value.issues
    assert (issue.code, issue.path) == ("ACCOUNT_CONFLICT", "general_ledger.balances.5000")
    assert "also cogs" in issue.message


def test_no_balance_at_all_is_said_rather_than_tying_nothing(tmp_path):
    data = demo("2026-10")
    data["general_ledger"] = {"balances": {}}
    with Ledger(tmp_path / "l.db") as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
    assert [(i.code, i.path) for i in refused.value.issues] == [("MISSING_INPUT", "general_ledger.balances")]


def test_a_gl_that_still_holds_a_reopened_close_is_told_so(october):
    """Reopened after its journals were imported: each difference is that close's net posting, and
    the refusal says so (and what to do) rather than listing differences to hunt down."""
    with Ledger(october) as ledger:
        after_first, refused = re_close_with_the_gl_holding_the_first(ledger)
    assert {i.code for i in refused.issues} == {"GL_DOES_NOT_TIE"}
    assert len(refused.issues) == 5
    assert all("the GL still holds close #1, which was reopened" in i.message
               and "wip export --period 2026-11 --after-close 1" in i.message for i in refused.issues)
    assert "balance from before close #1 (" in refused.issues[0].message
    testing = next(i for i in refused.issues if i.path == "general_ledger.balances.1320")
    assert f"shows {after_first['1320']}" in testing.message


def test_a_gl_holding_a_reopened_close_is_told_so_when_the_months_overhead_changed(october):
    """November reopened for a late Testing invoice (actual overhead 7150.00 → 7250.00) after its
    close #1 was imported, and the GL has not booked the invoice yet: overhead control differs by
    close #1's posting and the 100.00 more.  Overhead control is no opening: it used to keep the
    hint from firing, five bare differences where four were exactly close #1's postings."""
    with Ledger(october) as ledger:
        november = demo("2026-11")
        first = close_period(november, ledger, user="test")
        reopen_period(ledger, "2026-11", "late overhead invoice", user="controller")
        posted = defaultdict(Decimal)
        for journal in first.journals.journals:
            for line in journal.lines:
                posted[line.account] += line.debit - line.credit
        after_first = {code: str(D(str(v)) + posted[code]) for code, v in november["general_ledger"]["balances"].items()}
        assert after_first["5900"] == "0.00"  # close #1 cleared the month's actual overhead
        corrected = demo("2026-11")
        corrected["overhead"]["Testing"]["actual"] = D("7250.00")
        with pytest.raises(CloseRefused) as refused:
            close_period({**corrected, "general_ledger": {"balances": after_first}}, ledger, user="test")
        told = {i.path: i.message for i in refused.value.issues}
        assert {i.code for i in refused.value.issues} == {"GL_DOES_NOT_TIE"}
        assert all("the GL still holds close #1, which was reopened" in message
                   and "wip export --period 2026-11 --after-close 1" in message for message in told.values())
        assert sorted(told) == [f"general_ledger.balances.{code}" for code in ("1310", "1320", "1330", "1400", "5900")]
        assert told["general_ledger.balances.5900"].startswith(
            "5900 Manufacturing overhead control: the general ledger shows 0.00, which is 33650.00 plus the -33650.00 "
            "that close #1 of 2026-11 posted to it: the GL still holds close #1, which was reopened. Before close #1 "
            "it holds 33650.00, and the actual overhead this close gives for the month (overhead: Assembly 24400.00 + "
            "Testing 7250.00 + Packaging 2100.00) is 33750.00: the difference -100.00 is no posting of close #1")
        # With the invoice booked in the GL too, overhead control differs by close #1's posting alone.
        booked = {**after_first, "5900": "100.00"}
        with pytest.raises(CloseRefused) as refused:
            close_period({**corrected, "general_ledger": {"balances": booked}}, ledger, user="test")
        overhead = next(i.message for i in refused.value.issues if i.path == "general_ledger.balances.5900")
        assert "which is 33750.00 plus the -33650.00 that close #1 of 2026-11 posted to it" in overhead
        assert "Give the balance from before close #1 (33750.00)" in overhead
        # The balances from before close #1 (and the invoice booked): the re-close ties and is recorded.
        before = {**november["general_ledger"]["balances"], "5900": "33750.00"}
        close_period({**corrected, "general_ledger": {"balances": before}}, ledger, user="test")


def test_other_differences_after_a_reopen_keep_the_general_message(october):
    """Only when every difference is the reopened close's posting is the GL said to hold it."""
    with Ledger(october) as ledger:
        november = demo("2026-11")
        close_period(november, ledger, user="test")
        reopen_period(ledger, "2026-11", "late invoice", user="controller")
        off = {**november["general_ledger"]["balances"], "1320": "5500.00"}
        with pytest.raises(CloseRefused) as refused:
            close_period({**november, "general_ledger": {"balances": off}}, ledger, user="test")
    [issue] = refused.value.issues
    assert "still holds" not in issue.message and "difference (GL − WIP ledger) -46.83" in issue.message


def test_a_gl_without_the_prior_months_reclose_is_told_which_export_to_import(october):
    """October reopened and closed again after its close #1 was imported: November's GL balances
    (October's close #1) differ by exactly what October posted since, and the refusal says to
    import October's after-close export (review: it used to point at November's own reopen)."""
    with Ledger(october) as ledger:
        reopen_period(ledger, "2026-10", "late labour invoice", user="controller")
        corrected = demo("2026-10")
        corrected["products"][0]["stages"][1]["added_costs"]["labour"] = 4700.00
        close_period(corrected, ledger, user="test")
        with pytest.raises(CloseRefused) as refused:
            close_period(demo("2026-11"), ledger, user="test")  # the GL balances of October's close #1
        issues = refused.value.issues
        assert issues and {i.code for i in issues} == {"GL_DOES_NOT_TIE"}
        assert all("what 2026-10 posted after its close #1, which the GL lacks: it still holds close #1" in i.message
                   and "`wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER`" in i.message for i in issues)
        # With that export imported, the balances tie and November closes.
        since = defaultdict(Decimal)
        for event, book in ledger.journal_books("2026-10")[1:]:
            for journal in book.journals:
                for line in journal.lines:
                    since[line.account] += line.debit - line.credit
        november = demo("2026-11")
        balances = {code: str(D(str(v)) + since.get(code, 0)) for code, v in november["general_ledger"]["balances"].items()}
        close_period({**november, "general_ledger": {"balances": balances}}, ledger, user="test")


def test_a_stage_moved_to_another_wip_account_is_refused_while_it_holds_wip(october):
    """The GL keeps the opening in the old account; a close posts no reclass, so the ledgers would part."""
    data = on_another_october(demo("2026-11"))
    data["accounts"]["wip"]["Testing"] = {"code": "1325", "name": "WIP - Testing line 2"}
    data["accounts"]["finished_goods"] = {"code": "1410", "name": "Finished goods (new)"}
    with Ledger(october) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(data, ledger, user="test")
        assert [e.period for e in ledger.events()] == ["2026-10"]
        opening_testing = sum((w.total for w in ledger.prior_for("2026-11")[0].wip.values() if w.stage == "Testing"),
                              Decimal(0))
    assert [(i.code, i.path) for i in refused.value.issues] == [
        ("ACCOUNT_CHANGED", "accounts.wip.Testing.code"), ("ACCOUNT_CHANGED", "accounts.finished_goods.code")]
    assert f"opening WIP of {opening_testing} is in account 1320" in refused.value.issues[0].message


def test_the_recorded_tie_is_shown_again_with_the_roll_forward(demo_ledger, tmp_path):
    """For the month's papers: `wip rollforward` repeats the tie the close made, from what it recorded."""
    with Ledger(tmp_path / "again.db") as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        made = close_period(demo("2026-11"), ledger, user="test").result.general_ledger
    run = run_wip("rollforward", "--period", "2026-11", "--json", "--ledger", demo_ledger)
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)["general_ledger"]
    assert [(t["account"], D(t["general_ledger"]), D(t["wip_ledger"])) for t in shown] == \
        [(t.account, t.general_ledger, t.wip_ledger) for t in made]
    assert json.loads(run_wip("rollforward", "--period", "2026-10", "--json", "--ledger", demo_ledger).stdout)[
        "general_ledger"] == []  # October's file gave no balances


def test_the_recorded_tie_shows_balances_at_the_currencys_places(october):
    """A balance typed 33650.0 was shown by `wip rollforward --json` as typed ("33650.0", a
    difference of "0.0"), where the close tied it, and the rest of the document gives, 33650.00."""
    data = demo("2026-11")
    data["general_ledger"]["balances"] = {**data["general_ledger"]["balances"], "5900": D("33650.0"),
                                          "1310": D("7449.630")}
    with Ledger(october) as ledger:
        close_period(data, ledger, user="test")
    run = run_wip("rollforward", "--period", "2026-11", "--json", "--ledger", october)
    assert run.returncode == 0, run.stderr
    shown = {t["account"]: t for t in json.loads(run.stdout)["general_ledger"]}
    assert (shown["5900"]["general_ledger"], shown["5900"]["difference"]) == ("33650.00", "0.00")
    assert shown["1310"]["general_ledger"] == "7449.63"


def test_overhead_control_is_tied_to_the_actual_overhead_the_file_gives(october):
    """Its figure is the month's overhead.*.actual, not a balance of the WIP ledger, and the message
    says so, pool by pool (it used to read "the WIP ledger's actual overhead this month": walkthrough)."""
    november = demo("2026-11")
    november["general_ledger"]["balances"]["5900"] = "33850.00"
    with Ledger(october) as ledger:
        with pytest.raises(CloseRefused) as refused:
            close_period(november, ledger, user="test")
    [issue] = refused.value.issues
    assert (issue.code, issue.path) == ("GL_DOES_NOT_TIE", "general_ledger.balances.5900")
    assert issue.message.startswith(
        "5900 Manufacturing overhead control: the general ledger shows 33850.00 before this close; the actual overhead "
        "this close gives for the month (overhead: Assembly 24400.00 + Testing 7150.00 + Packaging 2100.00) is "
        "33650.00; difference (GL − actual overhead given) 200.00. ")
    assert "WIP ledger" not in issue.message


def test_a_prior_months_reclose_that_changed_its_overhead_is_told_which_export_to_import(october):
    """October closed again with 100.00 more Testing overhead (a late invoice): the re-close moved
    WIP, finished goods — and overhead control, which November's GL balance (this month's actual
    only) does not show.  That used to keep the hint from firing: three bare differences that were
    exactly the re-close's (walkthrough)."""
    with Ledger(october) as ledger:
        reopen_period(ledger, "2026-10", "late overhead invoice", user="controller")
        corrected = demo("2026-10")
        corrected["overhead"]["Testing"]["actual"] = D("7400.00")
        close_period(corrected, ledger, user="test")
        with pytest.raises(CloseRefused) as refused:
            close_period(demo("2026-11"), ledger, user="test")  # the GL balances of October's close #1
        issues = refused.value.issues
        assert [i.path for i in issues] == ["general_ledger.balances.1320", "general_ledger.balances.1330",
                                            "general_ledger.balances.1400"]
        assert [i.message.split("the difference ")[1].split(" ")[0] for i in issues] == ["-2.27", "-2.20", "-13.12"]
        assert all("is what 2026-10 posted after its close #1, which the GL lacks: it still holds close #1" in i.message
                   and "`wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER`" in i.message
                   and "it also credits 5900 Manufacturing overhead control with 100.00: 2026-10's actual overhead "
                       "changed by 100.00, which the GL must record too" in i.message for i in issues)
        # With the export imported, and the late invoice booked to overhead control, November closes.
        since = defaultdict(Decimal)
        for event, book in ledger.journal_books("2026-10")[1:]:
            for journal in book.journals:
                for line in journal.lines:
                    since[line.account] += line.debit - line.credit
        assert since["5900"] == D("-100.00")
        november = demo("2026-11")
        balances = {code: str(D(str(v)) + since.get(code, 0) + (D("100.00") if code == "5900" else 0))
                    for code, v in november["general_ledger"]["balances"].items()}
        close_period({**november, "general_ledger": {"balances": balances}}, ledger, user="test")


def test_a_prior_months_reclose_leaves_an_overhead_difference_of_its_own_told_as_such(october):
    """Only the differences the re-close explains are retold; overhead control off by something
    else keeps its own message."""
    with Ledger(october) as ledger:
        reopen_period(ledger, "2026-10", "late overhead invoice", user="controller")
        corrected = demo("2026-10")
        corrected["overhead"]["Testing"]["actual"] = D("7400.00")
        close_period(corrected, ledger, user="test")
        november = demo("2026-11")
        november["general_ledger"]["balances"]["5900"] = "33660.00"
        with pytest.raises(CloseRefused) as refused:
            close_period(november, ledger, user="test")
    told = {i.path: i.message for i in refused.value.issues}
    assert "still holds" not in told["general_ledger.balances.5900"]
    assert "difference (GL − actual overhead given) 10.00" in told["general_ledger.balances.5900"]
    assert all("after its close #1, which the GL lacks: it still holds close #1" in told[f"general_ledger.balances.{code}"]
               for code in ("1320", "1330", "1400"))


def balances_after(data: dict, outcome) -> dict[str, str]:
    """``data``'s GL balances with ``outcome``'s journals posted to them (the GL as it stands once a
    close's journals were imported)."""
    return {code: str(Decimal(str(v)) + sum((line.debit - line.credit for j in outcome.journals.journals
                                             for line in j.lines if line.account == code), Decimal(0)))
            for code, v in data["general_ledger"]["balances"].items()}


def re_close_with_the_gl_holding_the_first(ledger: Ledger) -> tuple[dict[str, str], CloseRefused]:
    """November closed in ``ledger`` (October closed), reopened, and closed again with the GL's
    balances as they stand once the first close's journals were imported: (those balances, the
    refusal)."""
    november = demo("2026-11")
    first = close_period(november, ledger, user="test")
    reopen_period(ledger, "2026-11", "late invoice", user="controller")
    after_first = balances_after(november, first)
    with pytest.raises(CloseRefused) as refused:
        close_period({**november, "general_ledger": {"balances": after_first}}, ledger, user="test")
    return after_first, refused.value


def test_a_gl_holding_this_months_reopened_close_and_not_the_prior_months_reclose_is_told_both(october):
    """The usual correction of an exported month: October and November were both imported, then
    November and October reopened and October closed again with a late labour invoice.  The GL
    holds November's close #1 and October's close #1: each opening account differs by the sum of
    the two.  The refusal names both postings and both exports, and the balance to give."""
    with Ledger(october) as ledger:
        november = demo("2026-11")
        first = close_period(november, ledger, user="test")
        held = defaultdict(Decimal)
        for journal in first.journals.journals:
            for line in journal.lines:
                held[line.account] += line.debit - line.credit
        gl = {code: str(Decimal(str(v)) + held[code]) for code, v in november["general_ledger"]["balances"].items()}
        reopen_period(ledger, "2026-11", "October corrected", user="controller")
        reopen_period(ledger, "2026-10", "late labour invoice", user="controller")
        corrected = demo("2026-10")
        corrected["products"][0]["stages"][1]["added_costs"]["labour"] = 4700.00
        close_period(corrected, ledger, user="test")
        with pytest.raises(CloseRefused) as refused:
            close_period({**november, "general_ledger": {"balances": gl}}, ledger, user="test")
        opening = _october_closing(ledger)
    told = {i.path: i.message for i in refused.value.issues if "two postings the GL holds" in i.message}
    assert {"general_ledger.balances.1320", "general_ledger.balances.1330",
            "general_ledger.balances.1400"} <= set(told), [str(i) for i in refused.value.issues]
    for path, message in told.items():
        code = path.rsplit(".", 1)[1]
        assert "that close #1 of 2026-11 posted (reopened since; the GL still holds it)" in message
        assert "that 2026-10 posted after its close #1 (reopened and closed again; the GL holds close #1 and lacks" in message
        assert "`wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER`" in message
        assert "`wip export --period 2026-11 --after-close 1 --format FORMAT --out FOLDER`" in message
        if code in opening:  # the balance to give is the WIP ledger's opening, October's new closing
            assert f"give the balance from before close #1 of 2026-11 ({opening[code]})" in message
    # Overhead control, which October's re-close left alone: one posting, not "two … less 0.00".
    (control,) = [i.message for i in refused.value.issues if i.path == "general_ledger.balances.5900"]
    assert "is what close #1 of 2026-11 posted (reopened since; the GL still holds it). Import" in control
    assert "less 0.00" not in control and "two postings" not in control


def test_the_ledgers_first_month_closed_again_against_a_gl_holding_its_close_is_told_so(tmp_path):
    """October, the ledger's first month, is where a late invoice most often lands: closed again
    with the GL still holding close #1, the refusal gave five bare differences (the explainer needed
    a month before); it says what close #1 posted and what to give, as for any later month."""
    with Ledger(tmp_path / "l.db") as ledger:
        first = close_period(demo("2026-10"), ledger, user="test")
        reopen_period(ledger, "2026-10", "late invoice", user="controller")
        posted = defaultdict(Decimal)
        for journal in first.journals.journals:
            for line in journal.lines:
                posted[line.account] += line.debit - line.credit
        october = demo("2026-10")
        code_of = {stage: a["code"] for stage, a in october["accounts"]["wip"].items()}
        before = defaultdict(Decimal)  # the GL before close #1: the file's openings, the month's actual overhead
        for row in first.rollforward.rows:
            before[code_of[row.stage]] += row.opening
        before[october["accounts"]["finished_goods"]["code"]] = sum(
            (r.opening for r in first.rollforward.finished_goods), Decimal(0))
        before[october["accounts"]["overhead_control"]["code"]] = sum(
            (Decimal(str(oh["actual"])) for oh in october["overhead"].values()), Decimal(0))
        after_first = {code: str(amount + posted[code]) for code, amount in before.items()}
        with pytest.raises(CloseRefused) as refused:
            close_period({**october, "general_ledger": {"balances": after_first}}, ledger, user="test")
    told = [i for i in refused.value.issues if i.code == "GL_DOES_NOT_TIE"]
    assert told and all("the GL still holds close #1, which was reopened" in i.message for i in told), \
        [str(i) for i in refused.value.issues]
    assert all("`wip export --period 2026-10 --after-close 1 --format FORMAT --out FOLDER`" in i.message for i in told)
