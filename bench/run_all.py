"""``make bench``: every benchmark, one after another, then one summary table.

Each benchmark runs in its own Python process (so one's model, threads and memory do not
colour the next) and writes ``bench/results/<name>.json``; this script then writes
``bench/results/summary.md``, the table the README's Performance section quotes.

    python -m bench.run_all [--only ingest,query]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

from bench.common import RESULTS, ROOT, clean_work, machine, read_result

ORDER = ("embedding", "ingest", "freshness", "query", "churn", "memory")


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        value = f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return f"{value}{unit}"


def summary() -> str:
    """The Markdown summary of whatever results exist."""
    rows: list[tuple[str, str, str]] = []
    results = {name: read_result(name) for name in ORDER}  # each file read once
    e = results["embedding"]
    if e:
        per_round = ", ".join(f"{r['ratio']:.2f}" for r in e.get("rounds", []))
        rows.append(("embedding: ingest pipeline vs bare encode, same chunks",
                     f"ratio **{_fmt(e['ratio'])}** (median of rounds {per_round}); "
                     f"{_fmt(e['pipeline_rate'])} vs {_fmt(e['bare_rate'])} chunks/s; "
                     "1 thread, one document per encode: "
                     f"{_fmt(e.get('one_thread_per_document_ratio'))}",
                     "ratio ≥ 0.85"))  # fmt: skip
    i = results["ingest"]
    if i:
        share = ", ".join(f"{k} {v:.0%}" for k, v in i["stage_share"].items() if v >= 0.005)
        wx, nx = i.get("with_extraction", {}), i.get("no_extraction", {})
        rows.append(("ingest, ~1,000-token docs (docs/s)",
                     f"**{_fmt(i['docs_per_s'])}** with extraction, "
                     f"**{_fmt(i['docs_per_s_no_extraction'])}** without; server CPU "
                     f"{_fmt(wx.get('server_cpu_s_per_doc'))} / "
                     f"{_fmt(nx.get('server_cpu_s_per_doc'))} s per doc", "-"))  # fmt: skip
        rows.append(("ingest stage share (with extraction)", share, "-"))
    f = results["freshness"]
    if f:
        rows.append(("freshness: 202 → searchable",
                     f"p50 **{_fmt(f['p50_s'], ' s')}**, p99 **{_fmt(f['p99_s'], ' s')}** at "
                     f"{_fmt(f['upload_rate'])} docs/s", "p50 ≤ 2 s, p99 ≤ 10 s"))  # fmt: skip
    q = results["query"]
    if q:
        c = q["clients"]
        rows.append((f"query over {q['chunks']:,} chunks, 1 client",
                     f"p50 **{_fmt(c['1']['p50_ms'], ' ms')}**, "
                     f"p99 {_fmt(c['1']['p99_ms'], ' ms')}, {_fmt(c['1']['qps'])} qps; "
                     f"server CPU {_fmt(c['1'].get('server_cpu_ms_per_query'), ' ms')}/query",
                     "p50 ≤ 40 ms"))  # fmt: skip
        for n in ("8", "32"):
            rows.append((f"query, {n} clients",
                         f"**{_fmt(c[n]['qps'])} qps**, p50 {_fmt(c[n]['p50_ms'], ' ms')}, "
                         f"p99 **{_fmt(c[n]['p99_ms'], ' ms')}**",
                         "≥ 50 qps, p99 ≤ 250 ms" if n == "8" else "-"))  # fmt: skip
        h = q.get("after_optimize")
        if h:
            hc = h["clients"]
            rows.append(("query after `chronorag optimize` (HNSW), 1 / 8 / 32 clients",
                         f"p50 **{_fmt(hc['1']['p50_ms'], ' ms')}** at 1; "
                         f"**{_fmt(hc['8']['qps'])} qps**, "
                         f"p99 **{_fmt(hc['8']['p99_ms'], ' ms')}** at 8; "
                         f"{_fmt(hc['32']['qps'])} qps at 32; recall@10 vs exact "
                         f"{_fmt(h['recall_at_10'])} (ef {h['hnsw_ef']}); optimize "
                         f"{_fmt(h['optimize_s'], ' s')}",
                         "same targets"))  # fmt: skip
    ch = results["churn"]
    if ch:
        rec = ch["recall_at_10"]
        rows.append(("churn: recall@10 over 10 rounds",
                     f"min **{_fmt(min(rec))}**, last {_fmt(rec[-1])}; deleted hits "
                     f"**{ch['deleted_hits']}**", "deleted hits = 0"))  # fmt: skip
    m = results["memory"]
    if m:
        rows.append(("memory: peak RSS",
                     f"serve (API + in-process worker) **{_fmt(m['api_rss_mb'], ' MiB')}** at "
                     f"{m['chunks']:,} chunks; standalone worker "
                     f"**{_fmt(m['worker_rss_mb'], ' MiB')}**",
                     "-"))  # fmt: skip
    runs = []
    for name, r in results.items():
        if r:
            m, sha = r.get("machine", {}), str(r.get("git_sha", "?"))
            commit = sha[:12] + ("-dirty" if sha.endswith("-dirty") else "")
            runs.append(f"{name}: {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {commit}")
    mach = machine()
    head = (f"Each benchmark's own run ({'; '.join(runs)}); torch {mach['torch']}, no GPU. "
            "Shared, noisy machines: ratios are measured within one run.")  # fmt: skip
    lines = [head, "", "| benchmark | result | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(ORDER))
    args = parser.parse_args(argv)
    failed = []
    for name in [n for n in ORDER if n in args.only.split(",")]:
        print(f"\n=== bench.{name} ===", flush=True)
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT).returncode
        clean_work()
        print(f"=== bench.{name}: exit {rc} in {time.monotonic() - t0:.0f}s", flush=True)
        if rc:
            failed.append(name)
    clean_work()
    text = summary()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "summary.md").write_text(text)
    print("\n" + text)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
