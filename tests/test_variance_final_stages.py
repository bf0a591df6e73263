"""Cost of goods manufactured takes each product's own last stage, in each month: a product that
skips a middle stage, and one whose flow gains a stage between the months, still tie to what
finished goods received in the stored roll-forwards (the bridge, the text, the workbook and the
method effect all read the one ``final_stages``)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from costing.variance import COMPONENTS, Metric, build_variance_report, load_closes
from tests.demo_data import demo, on_another_october

D = Decimal
ESPRESSO = "Espresso Classic"


def _espresso(data: dict) -> dict:
    return next(p for p in data["products"] if p["name"] == ESPRESSO)


def _stage(product: dict, name: str) -> dict:
    return next(s for s in product["stages"] if s["name"] == name)


def _skipping_testing() -> tuple[dict, dict]:
    """The demo with Espresso Classic going Assembly → Packaging in both months; Barista Pro and
    Drip Home keep Assembly → Testing → Packaging.  Packaging completes what Assembly sends it."""
    october, november = demo("2026-10"), on_another_october(demo("2026-11"))
    for data, completed in ((october, 300), (november, 312)):  # 310 in − 10 WIP; 10 + 314 in − 12 WIP
        espresso = _espresso(data)
        espresso["stages"] = [s for s in espresso["stages"] if s["name"] != "Testing"]
        _stage(espresso, "Packaging")["completed"] = completed
    return october, november


def _gaining_packaging() -> tuple[dict, dict]:
    """Espresso Classic goes Assembly → Testing in October and Assembly → Testing → Packaging in
    November (Packaging new, so without opening WIP): its last stage changes between the months."""
    october, november = demo("2026-10"), on_another_october(demo("2026-11"))
    espresso = _espresso(october)
    espresso["stages"] = [s for s in espresso["stages"] if s["name"] != "Packaging"]
    _stage(_espresso(november), "Packaging")["completed"] = 293  # Testing's 305 in − 12 WIP
    return october, november


def _ledger(tmp_path_factory, name: str, months: tuple[dict, dict]) -> Path:
    path = tmp_path_factory.mktemp(name) / "wip-ledger.db"
    with Ledger(path) as ledger:
        for data in months:
            close_period(data, ledger, user="test")
    return path


@pytest.fixture(scope="module")
def skipping_ledger(tmp_path_factory) -> Path:
    return _ledger(tmp_path_factory, "skip", _skipping_testing())


@pytest.fixture(scope="module")
def gaining_ledger(tmp_path_factory) -> Path:
    return _ledger(tmp_path_factory, "gain", _gaining_packaging())


def _report(path: Path):
    with Ledger(path) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
        rollforwards = {p: ledger.current_close(p).rollforward for p in ("2026-10", "2026-11")}
    return build_variance_report(before, after), rollforwards


def _finished_goods_completed(rollforward: dict, product: str | None = None) -> Decimal:
    return sum((D(r["completed"]) for r in rollforward["finished_goods"]
                if product is None or r["product"] == product), D(0))


def _cogm_ties(report, rollforwards) -> None:
    """Cost of goods manufactured, in total and by product, is what finished goods received."""
    total = report.bridge.total(Metric.TRANSFERRED_OUT)
    assert (total.before, total.after) == (_finished_goods_completed(rollforwards["2026-10"]),
                                           _finished_goods_completed(rollforwards["2026-11"]))
    for product in (ESPRESSO, "Barista Pro", "Drip Home"):
        line = report.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
        assert (line.before, line.after) == (_finished_goods_completed(rollforwards["2026-10"], product),
                                             _finished_goods_completed(rollforwards["2026-11"], product)), product
        assert sum(getattr(line, c) for c in COMPONENTS) == line.change and line.sums_exactly
    assert report.ties_ok and all(t.ok for t in report.ties)
    assert not any("engine version" in note for note in report.notes)


def _detail(report, product: str, stage: str) -> list:
    return [l for l in report.bridge.lines
            if (l.level, l.metric, l.product, l.stage) == ("line", "transferred_out", product, stage)]


def test_a_product_skipping_a_middle_stage_leaves_the_others_last_stage_alone(skipping_ledger):
    report, rollforwards = _report(skipping_ledger)
    _cogm_ties(report, rollforwards)
    everywhere_packaging = {ESPRESSO: "Packaging", "Barista Pro": "Packaging", "Drip Home": "Packaging"}
    assert report.bridge.final_stages_before == report.bridge.final_stages_after == everywhere_packaging
    # Barista Pro's cost of goods manufactured is its Packaging transfer, not its Testing one.
    barista = report.bridge.line(Metric.TRANSFERRED_OUT, "Barista Pro", level="product")
    packaging = _detail(report, "Barista Pro", "Packaging")
    for field in ("before", "after") + COMPONENTS:
        assert getattr(barista, field) == sum(getattr(l, field) for l in packaging), field


def test_the_text_report_ties_with_a_product_skipping_a_stage(skipping_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(skipping_ledger)]) == 0
    text = capsys.readouterr().out
    assert "Totals tie: OK" in text and "engine version" not in text


def test_a_product_whose_last_stage_changes_between_the_months(gaining_ledger):
    report, rollforwards = _report(gaining_ledger)
    _cogm_ties(report, rollforwards)
    bridge = report.bridge
    assert (bridge.final_stages_before[ESPRESSO], bridge.final_stages_after[ESPRESSO]) == ("Testing", "Packaging")
    assert bridge.final_stages_before["Barista Pro"] == bridge.final_stages_after["Barista Pro"] == "Packaging"
    # October's cost of goods manufactured is Testing's transfer, November's Packaging's: no one
    # line holds both, so the product's change is one line of its units to finished goods and its
    # cost per finished unit, no completion; its volume and mix, as every product's, are against
    # all products' units completed to finished goods (300 + 118 + 186 = 604 → 293 + 125 + 190 = 608).
    espresso = bridge.line(Metric.TRANSFERRED_OUT, ESPRESSO, level="product")
    assert espresso.before == sum(l.before for l in _detail(report, ESPRESSO, "Testing"))
    assert espresso.after == sum(l.after for l in _detail(report, ESPRESSO, "Packaging"))
    assert espresso.completion == 0
    rate = espresso.before / 300
    assert abs(espresso.volume - (D(608) * 300 / 604 - 300) * rate) < D("0.01")
    assert abs(espresso.mix - (293 - D(608) * 300 / 604) * rate) < D("0.01")
    assert espresso.explanation.startswith("Testing → Packaging transferred-out cost per unit")
    # The stage lines are each stage's own transfer, as before.
    testing = bridge.line(Metric.TRANSFERRED_OUT, stage="Testing", level="stage")
    assert testing.after == sum(l.after for l in bridge.lines if (l.level, l.metric, l.stage) ==
                                ("line", "transferred_out", "Testing"))


def test_a_bridge_backwards_over_a_changed_flow_is_the_same_with_the_opposite_sign(gaining_ledger):
    with Ledger(gaining_ledger) as ledger:
        october, november = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    forward, backward = build_variance_report(october, november), build_variance_report(november, october)
    for product in (ESPRESSO, "Barista Pro"):
        f = forward.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
        b = backward.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
        assert (f.before, f.after, f.change) == (b.after, b.before, -b.change)


def test_the_method_effect_takes_the_same_last_stage_as_the_bridge(gaining_ledger):
    report, _ = _report(gaining_ledger)
    october, november = report.method_effect
    for effect, side in ((october, "before"), (november, "after")):
        for product in (ESPRESSO, "Barista Pro", "Drip Home"):
            effect_line = next(l for l in effect.lines if (l.level, l.product) == ("product", product))
            cogm = report.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
            assert effect_line.transferred_out == getattr(cogm, side), (effect.period, product)


def test_the_text_names_a_changed_last_stage(gaining_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(gaining_ledger)]) == 0
    text = capsys.readouterr().out
    assert "Totals tie: OK" in text
    assert "Espresso Classic (to finished goods from Testing → Packaging)" in text
    assert "Barista Pro (to finished goods)" in text


def _rows_summed(formula: str) -> set[int]:
    """The rows a ``=SUM(F7:F9,F12)`` formula adds."""
    assert formula.startswith("=SUM("), formula
    rows: set[int] = set()
    for first, last in re.findall(r"[A-Z]+(\d+)(?::[A-Z]+(\d+))?", formula[len("=SUM("):]):
        rows.update(range(int(first), int(last or first) + 1))
    return rows


@pytest.mark.parametrize("scenario", ["skipping_ledger", "gaining_ledger"])
def test_the_workbook_sums_each_months_own_last_stage(scenario, request, tmp_path):
    path = request.getfixturevalue(scenario)
    book = tmp_path / "audit.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(path), "--xlsx",
                 str(book)]) == 0
    report, _ = _report(path)
    ws = load_workbook(book)["Variances"]
    shown = load_workbook(book, data_only=True)["Variances"]
    rows = {(ws.cell(r, 1).value, ws.cell(r, 2).value, ws.cell(r, 3).value, ws.cell(r, 4).value, ws.cell(r, 5).value): r
            for r in range(6, ws.max_row + 1) if ws.cell(r, 2).value in ("line", "product")}
    label = "cost transferred out"
    for product in (ESPRESSO, "Barista Pro", "Drip Home"):
        before_stage = report.bridge.final_stages_before[product]
        after_stage = report.bridge.final_stages_after[product]
        stage = before_stage if before_stage == after_stage else f"{before_stage} → {after_stage}"
        r = next(row for (metric, level, name, where, _), row in rows.items()
                 if (metric, level, name, where) == (label, "product", product, stage))
        for col, side_stage, side in ((6, before_stage, "before"), (7, after_stage, "after")):
            members = set(row for (metric, level, name, where, _), row in rows.items()
                             if (metric, level, name, where) == (label, "line", product, side_stage))
            formula = ws.cell(r, col).value
            assert _rows_summed(formula) == members, (product, side, formula)
            line = report.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
            assert D(str(shown.cell(r, col).value)) == getattr(line, side)
