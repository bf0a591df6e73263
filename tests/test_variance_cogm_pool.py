"""Cost of goods manufactured is measured against all products' units completed to finished goods
(each product's last stage in that month), not against its last stage's pool: when one product's
last stage changes between the months (Drip Home skips Packaging in November and completes from
Testing), the other products' COGM volume keeps the sign of the change in units to finished goods
and their mix is their share of those units.  The stage view (Packaging's own transfer) still uses
Packaging's pool."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from costing.variance import (
    COMPONENTS,
    LineFigures,
    Metric,
    PeriodFigures,
    build_bridge,
    build_variance_report,
    load_closes,
)
from tests.demo_data import demo

D = Decimal
ESPRESSO, BARISTA, DRIP = "Espresso Classic", "Barista Pro", "Drip Home"
# Units completed to finished goods, by product: October (all from Packaging) and November (Drip
# Home from Testing).
FG_BEFORE = {ESPRESSO: 290, BARISTA: 118, DRIP: 186}
FG_AFTER = {ESPRESSO: 303, BARISTA: 125, DRIP: 197}


def _november_without_drip_packaging() -> dict:
    """The demo's November with Drip Home skipping Packaging, as /tmp/h/variance/nov-skip.yaml:
    its Packaging stage gone, 180 shipped, and Packaging's actual overhead and the overhead control
    balance less the 360.00 applied to Drip Home's Packaging labour."""
    november = demo("2026-11")
    drip = next(p for p in november["products"] if p["name"] == DRIP)
    drip["stages"] = [s for s in drip["stages"] if s["name"] != "Packaging"]
    drip["shipments"] = 180
    november["overhead"]["Packaging"]["actual"] = D("1740.00")
    november["general_ledger"]["balances"]["5900"] = D("33290.00")
    return november


@pytest.fixture(scope="module")
def skip_ledger(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("cogm-skip") / "wip-ledger.db"
    with Ledger(path) as ledger:
        close_period(demo("2026-10"), ledger, user="test")
        close_period(_november_without_drip_packaging(), ledger, user="test")
    return path


@pytest.fixture(scope="module")
def report(skip_ledger):
    with Ledger(skip_ledger) as ledger:
        before, after = load_closes(ledger, "2026-10")[-1], load_closes(ledger, "2026-11")[-1]
    return build_variance_report(before, after)


def _cogm(report, product: str = ""):
    if product:
        return report.bridge.line(Metric.TRANSFERRED_OUT, product, level="product")
    return report.bridge.total(Metric.TRANSFERRED_OUT)


def test_the_scenario_is_the_reviewers(report):
    b = report.bridge
    assert b.final_stages_before == {ESPRESSO: "Packaging", BARISTA: "Packaging", DRIP: "Packaging"}
    assert b.final_stages_after == {ESPRESSO: "Packaging", BARISTA: "Packaging", DRIP: "Testing"}
    assert report.ties_ok and b.all_sum_exactly
    assert (_cogm(report).before, _cogm(report).after) == (D("136339.54"), D("142298.72"))


def test_cogm_volume_has_the_sign_of_the_units_to_finished_goods(report):
    total = _cogm(report)
    qt1, qt2 = sum(FG_BEFORE.values()), sum(FG_AFTER.values())
    assert (qt1, qt2) == (594, 625)
    # Volume: the units to finished goods grew 594 → 625, at October's mix and costs per unit.
    assert total.volume > 0
    assert abs(total.volume - total.before * (D(qt2) / D(qt1) - 1)) < D("0.10")
    # The roll-ups add their lines to the cent, and every line's components add to its change.
    products = [l for l in report.bridge.lines if (l.level, l.metric) == ("product", "transferred_out")]
    for c in COMPONENTS + ("before", "after", "change"):
        assert getattr(total, c) == sum(getattr(l, c) for l in products), c
    for line in products + [total]:
        assert sum(getattr(line, c) for c in COMPONENTS) == line.change and line.sums_exactly


@pytest.mark.parametrize("product", [ESPRESSO, BARISTA, DRIP])
def test_each_products_cogm_is_measured_against_units_to_finished_goods(report, product):
    line = _cogm(report, product)
    qt1, qt2 = D(sum(FG_BEFORE.values())), D(sum(FG_AFTER.values()))
    q1, q2 = D(FG_BEFORE[product]), D(FG_AFTER[product])
    rate1 = line.before / q1  # October's cost per unit to finished goods
    share1 = q1 / qt1
    # Espresso Classic's share 290/594 = 48.8 % → 303/625 = 48.5 %, not Packaging's 48.8 % → 70.8 %.
    expected_volume = (qt2 * share1 - q1) * rate1
    expected_mix = (q2 - qt2 * share1) * rate1
    assert abs(line.volume - expected_volume) < D("0.05"), (line.volume, expected_volume)
    assert abs(line.mix - expected_mix) < D("0.05"), (line.mix, expected_mix)
    assert line.volume > 0  # the pool of units to finished goods grew
    assert line.completion == 0
    assert line.volume + line.mix + line.price == line.change


def test_espressos_share_is_of_units_to_finished_goods(report):
    espresso = _cogm(report, ESPRESSO)
    share_before, share_after = D(290) / D(594), D(303) / D(625)
    assert espresso.mix < 0  # 48.8 % → 48.5 %: a smaller share
    assert abs(espresso.mix - (D(303) - D(625) * share_before) * espresso.before / D(290)) < D("0.05")
    assert round(share_after * 100, 1) == D("48.5")
    assert "70.8 %" not in espresso.explanation and "share of Packaging" not in espresso.explanation
    assert espresso.explanation.startswith("All products' units completed to finished goods +5.2 % (594 → 625)"), \
        espresso.explanation
    total = _cogm(report)
    assert total.explanation.startswith("All products' units completed to finished goods +5.2 % (594 → 625)"), \
        total.explanation


def test_the_stage_view_keeps_packagings_own_pool(report):
    """Packaging's transfer (the stage line) is Packaging's: Drip Home's October Packaging units
    leave that pool, so the stage's volume falls with its units."""
    packaging = report.bridge.line(Metric.TRANSFERRED_OUT, stage="Packaging", level="stage")
    assert packaging.volume < 0
    espresso = report.bridge.line(Metric.TRANSFERRED_OUT, ESPRESSO, "Packaging", "transferred_in")
    assert (espresso.drivers.pool_units_before, espresso.drivers.pool_units_after) == (D(594), D(428))


def test_the_cli_json_and_text_agree(skip_ledger, capsys):
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(skip_ledger), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    total = next(l for l in data["bridge"]["lines"] if (l["level"], l["metric"]) == ("total", "transferred_out"))
    assert D(total["volume"]) > 0
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(skip_ledger)]) == 0
    text = capsys.readouterr().out
    assert "Totals tie: OK" in text and "Every line's components add up to its change: OK" in text
    assert "share of Packaging transferred-in units transferred out 48.8 % → 70.8 %" not in text


def _cell_value(ws, shown, row: int, col: int) -> Decimal:
    """A cell's value as the sheet computes it: a =SUM of other rows adds their shown values."""
    formula = ws.cell(row, col).value
    if isinstance(formula, str) and formula.startswith("=SUM("):
        total = D(0)
        for letter, first, last in re.findall(r"([A-Z]+)(\d+)(?::[A-Z]+(\d+))?", formula[len("=SUM("):]):
            for r in range(int(first), int(last or first) + 1):
                total += D(str(shown.cell(r, col).value))
        return total
    return D(str(shown.cell(row, col).value))


def test_the_workbook_shows_the_cogm_components_it_reports(skip_ledger, report, tmp_path):
    book = tmp_path / "skip.xlsx"
    assert main(["variance", "--from", "2026-10", "--to", "2026-11", "--ledger", str(skip_ledger), "--xlsx",
                 str(book)]) == 0
    ws, shown = load_workbook(book)["Variances"], load_workbook(book, data_only=True)["Variances"]
    for r in range(6, ws.max_row + 1):
        if (ws.cell(r, 1).value, ws.cell(r, 2).value) != ("cost transferred out", "product"):
            continue
        line = _cogm(report, ws.cell(r, 3).value)
        for k, c in enumerate(COMPONENTS):
            # Recomputed as a spreadsheet would (not only the cached result): the bridge's figure.
            assert _cell_value(ws, shown, r, 9 + k) == getattr(line, c), (line.product, c, ws.cell(r, 9 + k).value)


def _fg(product: str, stage: str, value: str, units: int) -> LineFigures:
    return LineFigures(Metric.TRANSFERRED_OUT, product, stage, "labour", D(value), D(units))


def test_a_product_in_one_month_only():
    """B is new in the later month and C gone: the pool of units to finished goods is A's and B's
    then, A's and C's before; every line still sums, and A's volume follows the pool."""
    before = PeriodFigures("2026-10", 1, "fifo", "USD", D("0.01"), "half_up",
                           (_fg("A", "Packaging", "1000.00", 100), _fg("C", "Testing", "500.00", 50)))
    after = PeriodFigures("2026-11", 1, "fifo", "USD", D("0.01"), "half_up",
                          (_fg("A", "Packaging", "1100.00", 100), _fg("B", "Testing", "800.00", 60)))
    bridge = build_bridge(before, after)
    a = bridge.line(Metric.TRANSFERRED_OUT, "A", level="product")
    # Units to finished goods 150 → 160 at A's October share 2/3 and $10: volume 66.67.
    assert a.volume == D("66.67") and a.mix == D("-66.67") and a.price == D("100.00")
    b = bridge.line(Metric.TRANSFERRED_OUT, "B", level="product")
    c = bridge.line(Metric.TRANSFERRED_OUT, "C", level="product")
    assert (b.before, b.after, c.before, c.after) == (D(0), D("800.00"), D("500.00"), D(0))
    total = bridge.total(Metric.TRANSFERRED_OUT)
    for line in (a, b, c, total):
        assert sum(getattr(line, k) for k in COMPONENTS) == line.change and line.sums_exactly
    for k in COMPONENTS:
        assert getattr(total, k) == getattr(a, k) + getattr(b, k) + getattr(c, k)
    assert total.volume == D("100.00")  # (160 / 150 − 1) × 1,500.00: the pool's growth at October's costs
