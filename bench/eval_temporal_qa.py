"""``make eval``: CLARK-News, ECT-QA and TimeQA through the real REST path, one table.

For each set: start ``chronorag serve`` on a fresh data dir (sets never share an index),
upload every document through ``POST /v1/documents`` in timestamp order, wait until all are
indexed, ask the dev questions in each of the set's modes (see ``bench/eval/<set>.py``), stop
the server. Prints one table (set, mode, n, metrics) and writes ``bench/results/eval.json``
(every set, the machine and the commit); CLARK-News alone also goes to
``bench/results/eval_temporal_qa.json`` in the shape earlier runs had. The rows that missed
quote the data, so they go to ``*_failures.jsonl`` beside it, which git ignores.

    .venv/bin/python bench/eval_temporal_qa.py [--sets clark-news,ect-qa,timeqa] [--limit N]
        [--modes as_of,...] [--url URL --sets ONE] [--data DIR] [--ect-qa-data DIR] ...
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import RESULTS, Served, fresh_dir, git_sha, machine, table  # noqa: E402
from bench.eval.clark import CLARK  # noqa: E402
from bench.eval.common import EvalSet, ask_all, ingest, load_set  # noqa: E402
from bench.eval.ectqa import ECT_QA  # noqa: E402
from bench.eval.timeqa import TIMEQA  # noqa: E402

SETS: dict[str, EvalSet] = {s.name: s for s in (CLARK, ECT_QA, TIMEQA)}
DATA_ROOT = ROOT.parent / "shared" / "data"


def run_set(
    evalset: EvalSet, data: Path, args: argparse.Namespace, failures: Path
) -> dict[str, Any]:
    """One set end to end on its own server (or on ``--url``, already loaded)."""
    started = time.perf_counter()
    docs, questions = load_set(data, args.limit)
    modes = [m for m in evalset.modes if m in args.modes] if args.modes else list(evalset.modes)
    report: dict[str, Any] = {
        "dataset": data.name,
        "questions": len(questions),
        "documents": len(docs),
        "ingest_seconds": None,
    }
    server, url = None, args.url
    if url is None:
        server = Served(fresh_dir(f"eval-{evalset.name}") / "data")
        server.start()
        url = server.url
        # Where the served code came from: the process's working folder (it runs -m workers.cli).
        report["served_from"] = str(Path(f"/proc/{server.pid}/cwd").resolve())
    results: dict[str, Any] = {}
    rows_by_mode: dict[str, list[dict[str, Any]]] = {}
    failed_docs: list[str] = []
    try:
        if server is not None:
            print(f"{evalset.name}: ingesting {len(docs)} documents through REST …", flush=True)
            done = ingest(url, docs, args.workers)
            report["ingest_seconds"] = done["seconds"]
            # Only the count here: ids name the data's subjects, so they go to the failures file.
            failed_docs = done["failed_documents"]
            report["failed_documents"] = len(failed_docs)
            print(f"  indexed in {done['seconds']:.1f} s, {len(failed_docs)} failed")
        for mode in modes:
            t0 = time.perf_counter()
            rows_by_mode[mode] = ask_all(url, evalset, questions, mode, args.workers)
            results[mode] = evalset.summarise(rows_by_mode[mode])
            results[mode]["seconds"] = round(time.perf_counter() - t0, 1)
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.data_dir, ignore_errors=True)
    report["results"] = results
    report.update(evalset.compare(results))
    report["seconds"] = round(time.perf_counter() - started, 1)
    with failures.open("w") as fh:
        for doc_id in failed_docs:
            fh.write(json.dumps({"failed_document": doc_id}) + "\n")
        for row in rows_by_mode[modes[0]] if modes else []:
            if evalset.failed(row):
                fh.write(json.dumps({"mode": modes[0], **row}) + "\n")
    return report


def print_table(reports: dict[str, dict[str, Any]]) -> None:
    rows: list[tuple[str, str, int | str, str]] = []
    for name, report in reports.items():
        for mode, summary in report["results"].items():
            for label, n, metrics in SETS[name].table(mode, summary):
                shown = " · ".join(f"{k} {v:.3f}" for k, v in metrics.items())
                rows.append((name, label, n, shown))
        gains = {k: v for k, v in report.items() if k.endswith("_gain_points")}
        if gains:
            shown = " · ".join(f"{k} {v:+.1f}" for k, v in gains.items())
            rows.append((name, "gain over time-agnostic", "", shown))
    table("Temporal QA evaluation", ("set", "mode", "n", "metrics"), rows)


def write_json(path: Path, payload: dict[str, Any]) -> None:
    measured = {"measured_at": datetime.now(UTC).isoformat(timespec="seconds")}
    path.write_text(json.dumps({**payload, **measured}, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated subset")
    parser.add_argument("--data-root", type=Path, default=DATA_ROOT, help="holds every set")
    parser.add_argument("--data", type=Path, default=None, help="the CLARK-News folder")
    parser.add_argument("--ect-qa-data", type=Path, default=None, help="the ECT-QA folder")
    parser.add_argument("--timeqa-data", type=Path, default=None, help="the TimeQA folder")
    parser.add_argument("--limit", type=int, default=None, help="first N questions per set")
    parser.add_argument("--url", default=None, help="a running service, already ingested")
    parser.add_argument("--modes", default=None, help="comma-separated modes (default all)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent requests")
    parser.add_argument("--out", type=Path, default=RESULTS / "eval.json")
    parser.add_argument(
        "--clark-out",
        default=str(RESULTS / "eval_temporal_qa.json"),
        help="CLARK-News alone, in the earlier results' shape ('' to skip)",
    )
    args = parser.parse_args(argv)
    names = [s for s in args.sets.split(",") if s]
    unknown = sorted(set(names) - set(SETS))
    if unknown:
        parser.error(f"unknown set(s) {unknown}; choose from {sorted(SETS)}")
    if args.url and len(names) != 1:
        parser.error("--url serves one already-loaded index: name exactly one set in --sets")
    args.modes = set(args.modes.split(",")) if args.modes else None
    folders = {
        "clark-news": args.data,
        "ect-qa": args.ect_qa_data,
        "timeqa": args.timeqa_data,
    }

    # Machine and commit as the run starts (the load average then is the one that matters).
    stamp = {"machine": machine(), "git_sha": git_sha()}
    reports: dict[str, dict[str, Any]] = {}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for name in names:
        data = folders[name] or args.data_root / name
        failures = args.out.with_name(f"{args.out.stem}_{name}_failures.jsonl")
        reports[name] = run_set(SETS[name], data, args, failures)
        print(f"{name}: done in {reports[name]['seconds']:.0f} s", flush=True)
        # Written after every set, so a later set's crash does not lose the earlier ones.
        write_json(args.out, {"sets": reports, **stamp})

    print_table(reports)
    print(f"wrote {args.out}")
    if "clark-news" in reports and args.clark_out:
        clark = {k: v for k, v in reports["clark-news"].items() if k != "seconds"}
        write_json(Path(args.clark_out), {**clark, **stamp})
        print(f"wrote {args.clark_out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
