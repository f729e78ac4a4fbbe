"""Rule extractor speed on invented news text, in documents per second.

Why: `graph.extract` sits on the ingest hot path, so a refactor of its rules (issue 16: rules
as data) must not slow ingest. This times `RuleFactExtractor.extract` alone, with no stores,
over a fixed set of invented documents (no sentence from any evaluation data set), and writes
the result to ``bench/results/extract_speed.json`` so a before/after pair can be compared.

Run: ``.venv/bin/python -m bench.extract_speed [--label after] [--repeat 5]``. To time an older
version, save it as a module and name it: ``git show REV:graph/extract.py >
/tmp/extract_before.py`` then ``PYTHONPATH=/tmp .venv/bin/python -m bench.extract_speed
--module extract_before --label before``. The machine may be shared: compare runs made
back to back, and prefer best-of-N (``--repeat``) to a single pass.
"""

from __future__ import annotations

import argparse
import importlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

REFERENCE = datetime(2023, 1, 15, tzinfo=UTC)

# Invented documents, one per domain the rules cover; every name here is made up.
_DOCS = (
    "Orla Fenwick was appointed chief executive of Quillon Robotics in March 2021, replacing "
    "Bastian Reeve. Fenwick previously worked at Marrow Systems. Quillon, headquartered in "
    "Portavel, makes warehouse robots. Its chair, Idris Calloway, said the board was pleased.",
    "Tessmere Rovers have signed striker Jonah Pike from Elder Vale Athletic on a three-year "
    "deal. Pike scored 14 goals in the league last season. Head coach Mina Oduya said the club "
    "had followed him for years. Defender Sol Arkwright joined Harrowby Town on loan.",
    "Health Secretary Priya Lomax announced the plan on Tuesday. Former Transport Secretary "
    "Callum Drey, who left the cabinet last year, criticised it. Noor Haddad was elected Mayor "
    "of Westerby in May 2022 and is a member of the Westerby City Council.",
    "Brindle Bank was fined by the regulator last week. Its chief executive, Rafe Okoro, will "
    "step down as chief executive of Brindle Bank in June. Okoro married Ines Varga in 2015. "
    "Brindle Bank is owned by Calder Holdings, which acquired Ferrow Credit in 2019.",
    "The Greywell Trust named Ada Pennick as its director in 2020. She succeeded Lionel Marsh "
    "as director of the Greywell Trust. The charity moved its headquarters from Ambleford to "
    "Kestwick in 2021. The weather was mild and volunteers planted trees on Saturday.",
)


def measure(repeat: int, module: str = "graph.extract") -> dict[str, float | int]:
    """Best of ``repeat`` passes over the documents (best, not mean: the machine is shared)."""
    extractor = importlib.import_module(module).RuleFactExtractor()
    docs = _DOCS * 20
    facts = sum(len(extractor.extract(doc, REFERENCE)) for doc in _DOCS)  # warm-up, and count
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for doc in docs:
            extractor.extract(doc, REFERENCE)
        best = min(best, time.perf_counter() - started)
    return {"docs": len(docs), "seconds": best, "docs_per_s": len(docs) / best, "facts": facts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="current")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--module", default="graph.extract", help="module with RuleFactExtractor")
    args = parser.parse_args()
    result = {"label": args.label, "module": args.module, **measure(args.repeat, args.module)}
    out = Path(__file__).parent / "results" / "extract_speed.json"
    runs = json.loads(out.read_text()) if out.exists() else {}
    runs[args.label] = result
    out.write_text(json.dumps(runs, indent=2) + "\n")
    print(f"{args.label}: {result['docs_per_s']:.0f} docs/s ({result['facts']} facts per pass)")


if __name__ == "__main__":
    main()
