"""An array call of WIP_COST_PER_EU over a 10,000-row table, as Excel would make it (floats in,
floats out).  Run: .venv/bin/python benchmarks/bench_udf.py [--rows N]"""

from __future__ import annotations

import argparse
import time

from excel_addin.functions import WIP_COST_PER_EU, WIP_EQUIV_UNITS


def make_table(rows: int) -> list[list]:
    header = ["method", "added", "beginning_units", "beginning_complete", "completed", "ending_units",
              "ending_complete", "beginning_cost", "added_cost"]
    table = [header]
    for i in range(rows):
        table.append(["fifo" if i % 2 else "weighted_average", ["start", "evenly", "end", 0.5][i % 4],
                      float(100 + i % 50), 0.4, float(500 + i % 70), float(80 + i % 30), 0.55,
                      float(1000 + i % 300) + 0.25, float(20000 + i % 900) + 0.1])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    table = make_table(args.rows)
    for fn in (WIP_EQUIV_UNITS, WIP_COST_PER_EU):
        t0 = time.perf_counter()
        result = fn(table)
        elapsed = time.perf_counter() - t0
        assert len(result) == args.rows + 1 and not any(isinstance(r[0], str) for r in result[1:])
        print(f"{fn.__name__} over {args.rows:,} rows: {elapsed:.2f} s ({args.rows / elapsed:,.0f} rows/s) in one call")


if __name__ == "__main__":
    main()
