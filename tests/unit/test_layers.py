"""The import direction docs/ARCHITECTURE.md draws, checked on the source (no imports run).

``workers → app → graph``; inside ``app/``, ground first: a room may import only the rooms
listed for it. A new import against the direction fails here with the file and the module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: What each room of the project may import from the project (itself always allowed).
ALLOWED: dict[str, set[str]] = {
    "graph": set(),
    "app": set(),  # the package itself (its __init__)
    "app.core": set(),
    "app.embeddings": {"app.core"},
    "app.stores": {"app.core", "graph"},
    # LangChain's ChronoragEmbeddings.from_settings builds the model for a user's own process.
    "app.integrations": {"app.core", "app.embeddings", "app.retrieval", "app.wiring", "graph"},
    "app.ingest": {"app.core", "app.embeddings", "app.stores", "graph"},
    "app.retrieval": {
        "app.core",
        "app.embeddings",
        "app.stores",
        "app.ingest.summaries",
        "app.services",
        "graph",
    },
    "app.services": {"app.core", "app.embeddings", "app.stores", "graph"},
    "app.api": {
        "app.core",
        "app.embeddings",
        "app.ingest",
        "app.retrieval",
        "app.services",
        "app.stores",
        "app.integrations",
        "graph",
    },
    "app.wiring": {"app", "graph"},
}
PROJECT = ("app", "graph", "workers")


def _room(module: str) -> str:
    """The most specific entry of ALLOWED that ``module`` belongs to."""
    best = ""
    for room in ALLOWED:
        if (module == room or module.startswith(room + ".")) and len(room) > len(best):
            best = room
    return best


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return [m for m in found if m.split(".")[0] in PROJECT]


def _allowed(room: str, target: str) -> bool:
    grants = ALLOWED[room] | {room}
    return any(target == g or target.startswith(g + ".") for g in grants)


SOURCES = sorted(
    p
    for top in ("app", "graph")
    for p in (ROOT / top).rglob("*.py")
    if "__pycache__" not in p.parts
)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_one_way(path: Path) -> None:
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    room = _room(module)
    assert room, f"{module} is in no room of ALLOWED; add it"
    wrong = [t for t in _imports(path) if not _allowed(room, t)]
    assert not wrong, f"{module} ({room}) imports {wrong}, against docs/ARCHITECTURE.md"


def test_the_rule_catches_an_upward_import(tmp_path: Path) -> None:
    """The check itself: a store importing the API is refused."""
    bad = tmp_path / "bad.py"
    bad.write_text("from app.api.routes import router\n", encoding="utf-8")
    assert [t for t in _imports(bad) if not _allowed("app.stores", t)] == ["app.api.routes"]
