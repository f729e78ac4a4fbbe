"""Hostile input: parsing and extraction time at 10 KB and 100 KB, per adversarial family.

Each family of ``tests/fixtures/adversarial.py`` (runs of years, quarters, "between X and Y",
"of the", appointment clauses and capitalised words in one sentence; deeply nested or
unclosed HTML) goes through every ingest step it reaches: `extract_text` for HTML; sentence
splitting, the acronym scan, time mentions and fact extraction for text. A step that grows
linearly shows a ratio near 10; a quadratic one near 100. No service is started.

    python -m bench.adversarial [--small 10000] [--large 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
from typing import Any

from bench.common import table, write_result
from tests.fixtures.adversarial import FAMILIES, best_of, ingest_steps, steps_for


def measure(small: int, large: int, runs: int) -> list[dict[str, Any]]:
    """Best-of-``runs`` CPU milliseconds of every (family, step) at both sizes."""
    steps = ingest_steps()
    rows: list[dict[str, Any]] = []
    for family in FAMILIES:
        for step in steps_for(family):
            func = steps[step]
            small_text, large_text = family.build(small), family.build(large)
            func(small_text)  # warm-up
            small_ms = best_of(func, small_text, runs) * 1000
            large_ms = best_of(func, large_text, runs) * 1000
            rows.append(
                {
                    "family": family.name,
                    "step": step,
                    "small_ms": round(small_ms, 3),
                    "large_ms": round(large_ms, 3),
                    "ratio": round(large_ms / max(small_ms, 1e-6), 2),
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--small", type=int, default=10_000, help="small input, characters")
    parser.add_argument("--large", type=int, default=100_000, help="large input, characters")
    parser.add_argument("--runs", type=int, default=3, help="runs per size (best is kept)")
    args = parser.parse_args()
    rows = measure(args.small, args.large, args.runs)
    table(
        f"Adversarial input: ms at {args.small:,} and {args.large:,} characters (best of "
        f"{args.runs})",
        ["family", "step", f"ms @{args.small // 1000} KB", f"ms @{args.large // 1000} KB", "ratio"],
        [(r["family"], r["step"], r["small_ms"], r["large_ms"], r["ratio"]) for r in rows],
    )
    path = write_result(
        "adversarial",
        {"small_chars": args.small, "large_chars": args.large, "runs": args.runs, "rows": rows},
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
