"""A month-end close of a generated plant: 5,000 products x 10 stages (50,000 stage-rows),
including costing, overhead, finished goods, journals, roll-forward and the ledger write.

Run: .venv/bin/python benchmarks/bench_close.py [--products N] [--stages K] [--repeat R] [--cpu]
Target: under 5 s on this machine.  Prints the median and best of R closes, each in a new process
on a fresh ledger (as `wip close` runs).  --cpu: the CPU time of each step instead, in one process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from costing.close_service import close_period
from costing.ledger import Ledger


def make_plant(products: int, stages: int) -> dict:
    names = [f"Stage {k + 1:02d}" for k in range(stages)]
    plant = {
        "company": "Benchmark Works", "period": "2026-10", "currency": "USD", "method": "fifo",
        "overhead_disposition": "prorate", "materiality": "0",
        "accounts": {
            "raw_materials": {"code": "1210", "name": "Raw materials"},
            "spoiled_goods": {"code": "1250", "name": "Spoiled goods"},
            "finished_goods": {"code": "1400", "name": "Finished goods"},
            "accrued_payroll": {"code": "2110", "name": "Accrued payroll"},
            "cogs": {"code": "5000", "name": "COGS"}, "abnormal_spoilage": {"code": "5810", "name": "Abnormal"},
            "count_difference": {"code": "5820", "name": "Count"},
            "overhead_control": {"code": "5900", "name": "Overhead control"},
            "overhead_applied": {"code": "5910", "name": "Overhead applied"},
            "wip": {n: {"code": f"13{k:02d}", "name": f"WIP {n}"} for k, n in enumerate(names)},
        },
        "overhead": {n: {"driver": "labour_hours", "rate": "21.50", "actual": f"{products * 21 * 40}.00"}
                     for n in names},
        "products": [],
    }
    for p in range(products):
        stage_list, received = [], None
        for k, name in enumerate(names):
            beginning = 20 + p % 7
            incoming = 200 + p % 13 if k == 0 else received
            spoiled = 3 if k % 3 == 1 else 0
            ending = 15 + (p + k) % 9
            completed = beginning + incoming - ending - spoiled
            cost = {"materials": f"{1000 + p % 50}.25", "labour": "310.40", "overhead": "402.10"}
            if k:
                cost["transferred_in"] = "5120.00"
            stage = {
                "name": name,
                "elements": {"materials": {"kind": "material", "added": "start" if k == 0 else "end"},
                             "labour": {"kind": "labour", "added": "evenly"},
                             "overhead": {"kind": "overhead", "added": "evenly"}},
                "beginning_wip": {"units": beginning, "complete": "0.4", "cost": cost},
                "completed": completed,
                "ending_wip": {"units": ending, "complete": "0.55"},
                "added_costs": {"materials": f"{9000 + p % 100}.10", "labour": f"{2400 + k}.35"},
                "driver_quantity": 40,
            }
            if spoiled:
                stage["spoilage"] = {"spoiled": spoiled, "normal_rate": "0.01", "inspection": "1", "disposal_value": "2"}
            if k == 0:
                stage["started"] = incoming
            stage_list.append(stage)
            received = completed
        plant["products"].append({"name": f"Product {p:05d}", "stages": stage_list, "shipments": received // 2})
    return plant


def close_once(products: int, stages: int) -> tuple[float, int]:
    """One close of the generated plant on a fresh ledger: (seconds, ledger bytes)."""
    plant = make_plant(products, stages)
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger(Path(tmp) / "bench.db") as ledger:
            t0 = time.perf_counter()
            outcome = close_period(plant, ledger, user="bench")
            seconds = time.perf_counter() - t0
            assert outcome.rollforward.ties_ok
            assert all(j.total_debit == j.total_credit for j in outcome.journals.journals)
            return seconds, (Path(tmp) / "bench.db").stat().st_size


def cpu_by_step(products: int, stages: int) -> dict[str, float]:
    """Seconds each step of one close takes in one process (no fork), by wrapping the functions
    the close calls: the CPU budget the README's Performance section quotes."""
    import functools

    import costing._background as background
    import costing.close_service as service
    from costing.ledger import _sqlite

    background._can_fork = lambda: False  # every step in this process, so each is timed alone
    spent: dict[str, float] = {}

    def timed(owner, name: str, label: str) -> None:
        function = getattr(owner, name)

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - t0

        setattr(owner, name, wrapper)

    timed(service, "resolve_close", "validate and resolve (clean files: fast path)")
    timed(service, "compute_close", "cost them, overhead, finished goods, counts")
    timed(service, "build_journals", "journals")
    timed(service, "build_rollforward", "roll-forward rows and ties")
    timed(service, "_stored_reports", "encode reports and roll-forward to store")
    timed(service, "canonical_inputs_json", "canonical JSON of the inputs")
    timed(_sqlite.Ledger, "record_close", "ledger write")
    plant = make_plant(products, stages)
    with tempfile.TemporaryDirectory() as tmp:
        with Ledger(Path(tmp) / "bench.db") as ledger:
            t0 = time.perf_counter()
            close_period(plant, ledger, user="bench")
            total = time.perf_counter() - t0
    spent["everything else (closing state to store, checks)"] = total - sum(spent.values())
    spent["total, one process"] = total
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--stages", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3, help="closes to time, each in a new process as `wip close` "
                                                               "runs (default 3)")
    parser.add_argument("--once", action="store_true", help=argparse.SUPPRESS)  # one close, figures as JSON
    parser.add_argument("--cpu", action="store_true", help="instead: the CPU time of each step, in one process")
    args = parser.parse_args()
    if args.cpu:
        rows = args.products * args.stages
        for label, seconds in cpu_by_step(args.products, args.stages).items():
            print(f"  {label:<52} {seconds:6.2f} s  {seconds / rows * 1e6:6.0f} µs per stage-row")
        return
    if args.once:
        seconds, size = close_once(args.products, args.stages)
        print(json.dumps({"seconds": seconds, "ledger_bytes": size}))
        return
    runs = []
    for _ in range(args.repeat):
        out = subprocess.run([sys.executable, __file__, "--once", "--products", str(args.products),
                              "--stages", str(args.stages)], check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    times = [r["seconds"] for r in runs]
    rows = args.products * args.stages
    median = statistics.median(times)
    print(f"close of {args.products:,} products x {args.stages} stages = {rows:,} stage-rows: median {median:.2f} s, "
          f"best {min(times):.2f} s of {len(times)} ({rows / median:,.0f} stage-rows/s; "
          f"ledger {runs[0]['ledger_bytes'] / 1e6:.0f} MB) — target < 5 s")


if __name__ == "__main__":
    main()
