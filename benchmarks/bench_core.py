"""Stage-costings per second through the public API (FIFO, 3 elements, spoilage).

Run: .venv/bin/python benchmarks/bench_core.py [--stages N] [--repeat R]
Prints two figures: costing an already-resolved case (``cost_case(Case)``, what the close does
for each product after validating its inputs once), and costing from a plain dict (validation and
resolution included).  Single process, so one core.
"""

from __future__ import annotations

import argparse
import time
from decimal import Decimal

import costing


def make_case(n_stages: int) -> dict:
    stages = []
    for i in range(n_stages):
        stage = {
            "name": f"Stage {i + 1}",
            "elements": {
                "materials": {"kind": "material", "added": "start"},
                "labour": {"kind": "labour", "added": "evenly"},
                "overhead": {"kind": "overhead", "added": "evenly"},
            },
            "beginning_wip": {"units": 200, "complete": "0.4",
                              "cost": {"materials": "8123.45", "labour": "2311.07", "overhead": "1733.30"}},
            "completed": 1000 - 3 * i,
            "ending_wip": {"units": 150, "complete": "0.35"},
            "added_costs": {"materials": "41234.56", "labour": "23456.78", "overhead": "17592.59"},
            "spoilage": {"normal_rate": "0.02", "spoiled": 30 - 0, "inspection": "0.8", "disposal_value": "1.25"},
        }
        if i == 0:
            stage["started"] = 980
            stage["completed"] = 1000
        else:
            stage["beginning_wip"]["cost"]["transferred_in"] = "9000.00"
            stage["completed"] = stages[-1]["completed"] + 200 - 150 - 30
        stages.append(stage)
    return {"currency": "USD", "method": "fifo", "rounding": "half_up", "stages": stages}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, default=10, help="stages per case")
    parser.add_argument("--repeat", type=int, default=2000, help="cases costed per measurement")
    args = parser.parse_args()

    # A single stage: exactly the target's shape (FIFO, 3 elements, spoilage).
    single, issues = costing.resolve_case(make_case(1))
    assert not issues, issues
    best = None
    repeat = args.repeat * args.stages
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(repeat):
            costing.cost_case(single)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(f"single stage: {repeat / best:,.0f} stage-costings/s ({best / repeat * 1e6:.1f} µs per stage, "
          "FIFO, 3 elements, spoilage; target >= 20,000)")

    data = make_case(args.stages)
    case, issues = costing.resolve_case(data)
    assert not issues, issues
    report = costing.cost_case(case)
    for s in report.stages:  # the benchmark must measure correct work
        assert s.costs_accounted_for == s.costs_to_account_for.total

    best = None
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            costing.cost_case(case)
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    n = args.repeat * args.stages
    print(f"{args.stages}-stage chain: {n / best:,.0f} stage-costings/s ({best / n * 1e6:.1f} µs per stage, "
          "FIFO, 3 elements + transferred-in, spoilage)")

    repeat = max(1, args.repeat // 10)
    t0 = time.perf_counter()
    for _ in range(repeat):
        costing.cost_case(data)
    elapsed = time.perf_counter() - t0
    n = repeat * args.stages
    print(f"from dict (validate + resolve + cost): {n / elapsed:,.0f} stage-costings/s "
          f"({elapsed / n * 1e6:.1f} µs per stage)")
    _ = Decimal  # Decimal inputs are strings above: the core never sees a float


if __name__ == "__main__":
    main()
