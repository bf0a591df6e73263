"""Standard-cost variances: textbook cases with published answers (tests/variance/standards,
sources in SOURCES.md), the demo's standards, one reproducer per standards-file problem, and the
standards file's JSON schema as documented."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from costing._casefile import read_data_file
from costing.cli import main
from costing.close_service import close_period
from costing.ledger import Ledger
from costing.variance import load_closes, recompute, resolve_standards, standards_report, standards_schema

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "variance" / "standards"
DEMO = ROOT / "examples" / "demo"
DEMO_STANDARDS = ROOT / "examples" / "demo" / "standards.yaml"
D = Decimal


def read(path: Path):
    data, issues = read_data_file(path)
    assert not issues, issues
    return data


def closed(tmp_path: Path, *close_files: Path):
    """Close the files into a fresh ledger; the last close, recomputed, and where it is stored."""
    db = tmp_path / "wip-ledger.db"
    with Ledger(db) as ledger:
        for path in close_files:
            data = read(path)
            close_period(data, ledger, user="test")
        stored = load_closes(ledger, data["period"])[-1]
    return recompute(stored), stored, db


def report_for(tmp_path: Path, close_files: list[Path], standards: Path):
    result, stored, _ = closed(tmp_path, *close_files)
    resolved, issues = resolve_standards(read(standards), result)
    assert not issues, issues
    return standards_report(result, resolved, stored.close_no, stored.element_order)


@pytest.mark.parametrize("case", sorted(p.name.removesuffix(".close.yaml") for p in CASES.glob("*.close.yaml")))
def test_textbook_case_reproduces(case, tmp_path):
    report = report_for(tmp_path, [CASES / f"{case}.close.yaml"], CASES / f"{case}.standards.yaml")
    expected = yaml.safe_load((CASES / f"{case}.expected.yaml").read_text())
    for want in expected.get("elements", []):
        got = next(e for e in report.elements if (e.stage, e.element) == (want["stage"], want["element"]))
        for key in ("equivalent_units", "standard_cost", "actual_cost"):
            if key in want:
                assert getattr(got, key) == D(want[key]), (case, want["element"], key)
        assert got.total.amount == D(want["total"]) and got.total.label == want["label"]
        for name, amount in want.get("components", {}).items():
            component = next(c for c in got.components if c.name == name)
            assert component.amount == D(amount), (case, want["element"], name)
    for want in expected.get("overhead", []):
        got = next(o for o in report.overhead if o.stage == want["stage"])
        variances = {v.name: v.amount for v in got.variances}
        for name, amount in want.get("variances", {}).items():
            assert variances[name] == D(amount), (case, name)
        if "controllable" in want:
            assert got.controllable.amount == D(want["controllable"])
        if "total" in want:
            assert got.total.amount == D(want["total"])
        if "standard_driver_quantity" in want:
            assert got.standard_driver_quantity == D(want["standard_driver_quantity"])
        assert got.sums_exactly
    for want in expected.get("at_standard", []):
        got = next(s for s in report.at_standard if s.stage == want["stage"])
        for key, value in want.items():
            if key != "stage":
                assert getattr(got, key) == D(value), (case, key)


def test_labels_are_u_for_unfavourable_and_f_for_favourable(tmp_path):
    report = report_for(tmp_path, [CASES / "warren-mackinaw-variances.close.yaml"],
                        CASES / "warren-mackinaw-variances.standards.yaml")
    materials = next(e for e in report.elements if e.element == "materials")
    assert [(c.name, c.amount, c.label) for c in materials.components] == \
           [("price", D("-870.00"), "F"), ("usage", D("-480.00"), "F")]
    labour = next(e for e in report.elements if e.element == "labour")
    assert labour.actual_quantity == 1740 and labour.actual_quantity_source == "driver_quantity"
    assert [(c.name, c.label) for c in labour.components] == [("rate", "U"), ("efficiency", "U")]
    (overhead,) = report.overhead
    assert overhead.analysis == "four_way"
    fixed = next(v for v in overhead.variances if v.name == "fixed_spending")
    assert (fixed.amount, fixed.label) == (D("0.00"), "")


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("standards")
    return report_for(tmp, [DEMO / "close-2026-10.yaml", DEMO / "close-2026-11.yaml"], DEMO_STANDARDS)


def test_demo_standards_decompose_exactly(demo_report):
    assert len(demo_report.elements) == 24
    for e in demo_report.elements:
        assert e.total.amount == e.actual_cost - e.standard_cost
        if e.components:
            assert sum(c.amount for c in e.components) == e.total.amount
    for o in demo_report.overhead:
        assert o.sums_exactly and sum(v.amount for v in o.variances) == o.total.amount
        assert o.controllable.amount + o.variances[-1].amount == o.total.amount  # two-way adds up too
    assert {o.stage: o.analysis for o in demo_report.overhead} == {"Assembly": "three_way", "Testing": "four_way"}
    for s in demo_report.at_standard:
        assert s.to_account_for == s.accounted_for == s.beginning_wip + s.work_done
    assert demo_report.total.amount == demo_report.actual_cost - demo_report.standard_cost
    # Packaging overhead has a cost-per-EU standard only: no stage analysis, and the report says so.
    assert "Packaging" not in {o.stage for o in demo_report.overhead}


def test_demo_standards_golden_json(demo_report, data_regression):
    data_regression.check(json.loads(demo_report.model_dump_json()))


def test_cli_standards_text_golden(tmp_path, capsys, file_regression):
    _, _, db = closed(tmp_path, DEMO / "close-2026-10.yaml", DEMO / "close-2026-11.yaml")
    assert main(["standards", "--period", "2026-11", "--standards", str(DEMO_STANDARDS), "--ledger", str(db)]) == 0
    file_regression.check(capsys.readouterr().out, extension=".txt")
    assert main(["standards", "--period", "2026-11", "--standards", str(DEMO_STANDARDS), "--ledger", str(db),
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["period"] == "2026-11"


# ---- problems with a standards file: one reproducer per code ------------------------------------

WARREN = CASES / "warren-mackinaw-variances"


def problems(tmp_path, edit) -> list:
    result, _, _ = closed(tmp_path, WARREN.with_suffix(".close.yaml"))
    data = read(WARREN.with_suffix(".standards.yaml"))
    edit(data)
    resolved, issues = resolve_standards(data, result)
    assert resolved is None
    return issues


def _element(data, name):
    return data["products"][0]["stages"][0]["elements"][name]


@pytest.mark.parametrize("code, path, edit", [
    ("CONFLICTING_STANDARD", "products[0].stages[0].elements.materials",
     lambda d: _element(d, "materials").update(cost_per_eu=105)),
    ("INCOMPLETE_STANDARD", "products[0].stages[0].elements.labour.rate",
     lambda d: _element(d, "labour").pop("rate")),
    ("INCOMPLETE_STANDARD", "overhead.Processing",
     lambda d: d["overhead"]["Processing"].pop("fixed_budget")),
    ("CONFLICTING_STANDARD", "overhead.Processing",
     lambda d: d["overhead"]["Processing"].update(denominator=1000)),
    ("MISSING_OVERHEAD_STANDARD", "products[0].stages[0].elements.overhead", lambda d: d.pop("overhead")),
    ("ACTUALS_MISMATCH", "actuals.2026-01.overhead.Processing",
     lambda d: d["actuals"]["2026-01"]["overhead"]["Processing"].update(fixed=12000)),
    ("UNKNOWN_PRODUCT", "actuals.2026-01.products[0].name",
     lambda d: d["actuals"]["2026-01"]["products"][0].update(name="Plastic")),
    ("UNKNOWN_ELEMENT", "actuals.2026-01.products[0].stages[0].quantities.resin",
     lambda d: d["actuals"]["2026-01"]["products"][0]["stages"][0]["quantities"].update(resin=5)),
    ("UNKNOWN_ELEMENT", "products[0].stages[0].elements.transferred_in",
     lambda d: d["products"][0]["stages"][0]["elements"].update(transferred_in={"cost_per_eu": 1})),
    ("NEGATIVE_AMOUNT", "products[0].stages[0].elements.materials.price",
     lambda d: _element(d, "materials").update(price=-4.80)),
    ("CURRENCY_MISMATCH", "currency", lambda d: d.update(currency="EUR")),
    ("UNKNOWN_KEY", "products[0].stages[0].elements.materials.prise",
     lambda d: _element(d, "materials").update(prise=4)),
])
def test_a_bad_standards_file_is_located(tmp_path, code, path, edit):
    issues = problems(tmp_path, edit)
    assert (code, path) in {(i.code, i.path) for i in issues}, issues


def test_standards_for_products_the_period_does_not_have_are_noted_not_refused(tmp_path):
    result, _, _ = closed(tmp_path, WARREN.with_suffix(".close.yaml"))
    data = read(WARREN.with_suffix(".standards.yaml"))
    data["products"].append({"name": "Discontinued", "stages": [{"name": "Processing", "elements": {}}]})
    resolved, issues = resolve_standards(data, result)
    assert not issues and "standards for Discontinued: not in the 2026-01 close" in resolved.notes


def test_cli_standards_problems_exit_2_with_the_file_named(tmp_path, capsys):
    _, _, db = closed(tmp_path, WARREN.with_suffix(".close.yaml"))
    bad = tmp_path / "standards.yaml"
    data = read(WARREN.with_suffix(".standards.yaml"))
    data["products"][0]["stages"][0]["elements"]["labour"].pop("rate")
    bad.write_text(yaml.safe_dump(data))
    assert main(["standards", "--period", "2026-01", "--standards", str(bad), "--ledger", str(db)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: products[0].stages[0].elements.labour.rate:" in err and "[INCOMPLETE_STANDARD]" in err
    assert main(["standards", "--period", "2026-02", "--standards", str(bad), "--ledger", str(db)]) == 2
    assert "[NOT_CLOSED]" in capsys.readouterr().err
    assert main(["standards", "--period", "2026-01", "--standards", str(tmp_path / "none.yaml"),
                 "--ledger", str(db)]) == 2
    assert "[FILE_NOT_FOUND]" in capsys.readouterr().err


def test_the_documented_schema_is_the_standards_model(capsys):
    assert main(["standards", "--schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    documented = json.loads((ROOT / "docs" / "standards.schema.json").read_text())
    assert printed == documented == standards_schema()
