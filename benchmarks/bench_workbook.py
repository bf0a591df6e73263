"""Closing a close workbook of 5,000 products x 10 stages (50,000 stage-rows): reading the tables,
the close with its ledger write, and writing the result sheets (live formulas with cached values).

Run: .venv/bin/python benchmarks/bench_workbook.py [--products N] [--stages K]
The plant is bench_close.py's; the workbook is made from it first (not timed as part of the close).
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time
from pathlib import Path

from costing.close_service import close_period
from costing.ledger import Ledger
from costing.workbook import read_workbook_input, write_close_results
from costing.workbook._cli import init_workbook


def _make_plant():
    spec = importlib.util.spec_from_file_location("bench_close", Path(__file__).with_name("bench_close.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_plant


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=5000)
    parser.add_argument("--stages", type=int, default=10)
    args = parser.parse_args()
    plant = _make_plant()(args.products, args.stages)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "bench.xlsx"
        t0 = time.perf_counter()
        init_workbook(book, plant)
        made = time.perf_counter() - t0
        size_in = book.stat().st_size
        phases = {}
        t0 = time.perf_counter()
        found = read_workbook_input(book)
        assert not found.issues, found.issues[:3]
        phases["read tables"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        with Ledger(Path(tmp) / "bench.wip.db") as ledger:
            outcome = close_period(found.data, ledger, user="bench")
        phases["close + ledger"] = time.perf_counter() - t1
        t2 = time.perf_counter()
        engine = write_close_results(book, outcome)
        phases["write results"] = time.perf_counter() - t2
        total = time.perf_counter() - t0
        formulas = sum(len(cells) for cells in engine.values())
        size_out = book.stat().st_size
    rows = args.products * args.stages
    print(f"workbook close of {args.products:,} products x {args.stages} stages = {rows:,} stage-rows: {total:.1f} s "
          f"({rows / total:,.0f} stage-rows/s)")
    print("  " + "; ".join(f"{k} {v:.1f} s" for k, v in phases.items())
          + f"; {formulas:,} formula cells written; workbook {size_in / 1e6:.1f} MB -> {size_out / 1e6:.1f} MB "
            f"(making the input workbook: {made:.1f} s)")


if __name__ == "__main__":
    main()
