"""`wip diff` says when an input change flips what a close did with an overhead pool's difference
(written off below materiality, prorated at or above it), and gives closing WIP, finished goods and
COGS as posted in total, before → after, with their parts by step.

The demo's October: Packaging applies 1,966.80 of overhead against 2,000.00 actual, 33.20
under-applied, below the materiality of 100.00, so written off to COGS.  A late invoice raising
actual to 2,130.00 makes it 163.20 under-applied: prorated."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from costing.close import build_journals, build_rollforward, compute_close, resolve_close
from costing.close._diff import close_amounts, diff_closes
from costing.close._render import render_diff
from tests.demo_data import DEMO, demo

PACKAGING_LINE = ("  Overhead Packaging: 33.20 under-applied written off to COGS (below materiality 100.00) → "
                  "163.20 under-applied prorated\n")


def close_result(data: dict):
    plan, issues = resolve_close(data, None)
    assert not issues, issues
    return compute_close(plan)


def diff(old: dict, new: dict):
    def stored(data: dict):
        result = close_result(data)
        book = build_journals(result)
        return close_amounts(build_rollforward(result, book), book)
    return diff_closes(old["period"], old, new, None, None, stored(old), stored(new))


def with_packaging_actual(actual: str) -> dict:
    data = demo("2026-10")
    data["overhead"]["Packaging"]["actual"] = actual
    return data


def summary_totals(data: dict) -> dict[str, Decimal]:
    """The close summary's figures, from the close itself: closing WIP, finished goods, and COGS as
    posted = cost of units shipped + overhead written off + overhead prorated to COGS."""
    result = close_result(data)
    book = build_journals(result)
    rf = build_rollforward(result, book)
    return {"closing_wip": sum((r.closing for r in rf.rows), Decimal(0)),
            "finished_goods": sum((r.closing for r in rf.finished_goods), Decimal(0)),
            "cogs_as_posted": sum((p.cogs + p.cogs_overhead_adjustment for p in result.products), Decimal(0))
            + result.written_off_to_cogs}


def test_a_higher_actual_that_crosses_materiality_is_said_to_flip_the_pool_to_prorated():
    result = diff(demo("2026-10"), with_packaging_actual("2130.00"))
    assert [c.pool for c in result.pool_treatments] == ["Packaging"]
    flip = result.pool_treatments[0]
    assert (flip.before.under_applied, flip.before.treatment) == (Decimal("33.20"), "write_off")
    assert (flip.after.under_applied, flip.after.treatment) == (Decimal("163.20"), "prorate")
    assert flip.after.materiality == Decimal("100.00") and flip.after.asked == "prorate"
    assert PACKAGING_LINE in render_diff(result, "USD")


def test_and_back_to_written_off():
    result = diff(with_packaging_actual("2130.00"), demo("2026-10"))
    assert render_diff(result, "USD").count(
        "  Overhead Packaging: 163.20 under-applied prorated → 33.20 under-applied written off to COGS "
        "(below materiality 100.00)\n") == 1


def test_a_lower_materiality_flips_the_pool_too():
    """The threshold itself changed (a settings change): the line gives the threshold of each close."""
    lower = demo("2026-10")
    lower["materiality"] = "30.00"
    result = diff(demo("2026-10"), lower)
    assert "  Overhead Packaging: 33.20 under-applied written off to COGS (below materiality 100.00) → " \
           "33.20 under-applied prorated\n" in render_diff(result, "USD")


def test_a_change_that_leaves_every_pool_as_it_was_names_none():
    """Testing's actual up by 100: still prorated, 292.00 → 392.00 under-applied; nothing flips."""
    new = demo("2026-10")
    new["overhead"]["Testing"]["actual"] = "7400.00"
    result = diff(demo("2026-10"), new)
    assert result.pool_treatments == ()
    assert "treatment changed" not in render_diff(result, "USD")


def test_totals_are_the_close_summarys_figures_with_their_parts_by_step():
    old, new = demo("2026-10"), with_packaging_actual("2130.00")
    new["overhead"]["Testing"]["actual"] = "7400.00"
    result = diff(old, new)
    before, after = summary_totals(old), summary_totals(new)
    totals = {t.name: t for t in result.totals}
    assert list(totals) == ["closing_wip", "finished_goods", "cogs_as_posted"]
    for name, total in totals.items():
        assert (total.before, total.after, total.change) == (before[name], after[name], after[name] - before[name])
        assert sum((v for _, v in total.by_step), Decimal(0)) == total.change
    assert totals["cogs_as_posted"].before == Decimal("125859.76")
    assert totals["cogs_as_posted"].after != totals["cogs_as_posted"].before
    assert [n for n, _ in totals["cogs_as_posted"].by_step] == [1, 2]  # each change its own part
    # The totals are kept apart from the amounts they add up (and from each step's moves).
    assert all(a.kind != "total" for a in result.amounts)
    assert all(m.kind != "total" for step in result.steps for m in step.moves)
    text = render_diff(result, "USD")
    total = totals["cogs_as_posted"]
    parts = ", ".join(f"step {n} +{v:,.2f}" for n, v in total.by_step)
    assert f"  Cost of goods sold as posted: 125,859.76 → {total.after:,.2f} (+{total.change:,.2f}) = {parts}\n" in text


def test_totals_are_shown_when_nothing_moved():
    result = diff(demo("2026-10"), demo("2026-10"))
    assert [(t.name, t.change, t.by_step) for t in result.totals] == [
        ("closing_wip", 0, ()), ("finished_goods", 0, ()), ("cogs_as_posted", 0, ())]
    assert "  Closing WIP: 16,013.12 → 16,013.12 (0.00)\n" in render_diff(result, "USD")


def test_totals_without_the_steps_when_the_earlier_inputs_do_not_close():
    new = demo("2026-10")
    result = close_result(new)
    book = build_journals(result)
    stored = close_amounts(build_rollforward(result, book), book)
    refused = {k: v for k, v in new.items() if k != "products"}
    got = diff_closes("2026-10", refused, new, None, None, stored, stored)
    assert not got.attributed
    assert [t.name for t in got.totals] == ["closing_wip", "finished_goods", "cogs_as_posted"]
    assert got.pool_treatments is None  # the earlier close cannot be made again: what it did is not known
    assert "Overhead pools whose treatment changed: not known" in render_diff(got, "USD")
    assert json.loads(got.model_dump_json())["pool_treatments"] is None  # not [], which says none changed


@pytest.fixture
def reclosed(tmp_path, capsys):
    """October closed, reopened for a late Packaging overhead invoice and closed again."""
    from costing.cli import main

    db = str(tmp_path / "ledger.db")
    first = tmp_path / "close-2026-10.yaml"
    text = (DEMO / "close-2026-10.yaml").read_text()
    first.write_text(text)
    assert main(["close", str(first), "--period", "2026-10", "--ledger", db]) == 0
    assert main(["reopen", "2026-10", "--reason", "Packaging overhead invoice late", "--ledger", db]) == 0
    changed = tmp_path / "close-2026-10-reclosed.yaml"
    changed.write_text(text.replace("rate: 0.60,  actual: 2000.00}", "rate: 0.60,  actual: 2130.00}"))
    assert changed.read_text() != text
    assert main(["close", str(changed), "--period", "2026-10", "--ledger", db]) == 0
    capsys.readouterr()
    return main, db


def test_wip_diff_text_says_the_flip_and_the_totals(reclosed, capsys):
    main, db = reclosed
    assert main(["diff", "2026-10", "--ledger", db]) == 0
    out = capsys.readouterr().out
    assert PACKAGING_LINE in out
    assert "  Closing WIP: 16,013.12 → 16,015.01 (+1.89) = step 1 +1.89\n" in out
    assert "  Finished goods: 19,278.95 → 19,301.18 (+22.23) = step 1 +22.23\n" in out
    assert "  Cost of goods sold as posted: 125,859.76 → 125,965.64 (+105.88) = step 1 +105.88\n" in out
    assert main(["diff", "2026-10", "--locale", "de_DE", "--ledger", db]) == 0
    assert "  Cost of goods sold as posted: 125.859,76 → 125.965,64 (+105,88) = step 1 +105,88\n" \
        in capsys.readouterr().out


def test_wip_diff_json_carries_the_flip_and_the_totals(reclosed, capsys):
    main, db = reclosed
    assert main(["diff", "2026-10", "--json", "--ledger", db]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {t["name"]: (t["before"], t["after"], t["change"]) for t in data["totals"]} == {
        "closing_wip": ("16013.12", "16015.01", "1.89"), "finished_goods": ("19278.95", "19301.18", "22.23"),
        "cogs_as_posted": ("125859.76", "125965.64", "105.88")}
    assert data["pool_treatments"] == [{
        "pool": "Packaging",
        "before": {"under_applied": "33.20", "treatment": "write_off", "asked": "prorate", "materiality": "100.00"},
        "after": {"under_applied": "163.20", "treatment": "prorate", "asked": "prorate", "materiality": "100.00"}}]


def test_a_pool_with_no_difference_is_said_so():
    """Packaging's actual equal to what it applied: no difference, nothing to write off or prorate."""
    result = diff(demo("2026-10"), with_packaging_actual("1966.80"))
    assert [(c.pool, c.after.treatment) for c in result.pool_treatments] == [("Packaging", "none")]
    assert "  Overhead Packaging: 33.20 under-applied written off to COGS (below materiality 100.00) → " \
           "none (no difference)\n" in render_diff(result, "USD")
