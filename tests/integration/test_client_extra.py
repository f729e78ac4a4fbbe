"""``pip install 'chronorag[client]'`` in a fresh venv: the CLI's client commands and the
LangChain retriever work, and neither torch, Qdrant, Celery nor the web stack is installed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port

pytestmark = pytest.mark.integration

#: Distributions the client must never pull (the service's heavy dependencies).
SERVER_ONLY = {
    "torch", "sentence-transformers", "transformers", "qdrant-client", "qdrant-edge-py",
    "celery", "kombu", "redis", "fastapi", "uvicorn", "onnxruntime", "numpy", "networkx",
}  # fmt: skip


def _run(*cmd: str | Path, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=timeout_s, check=False
    )


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with only ``.[client]`` installed, from a copy of the source (a build in the
    work tree would leave ``build/`` behind)."""
    base = tmp_path_factory.mktemp("client-extra")
    src = base / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for package in ("app", "graph", "workers"):
        shutil.copytree(ROOT / package, src / package, ignore=shutil.ignore_patterns("__pycache__"))
    venv = base / "venv"
    made = _run(sys.executable, "-m", "venv", "--without-pip", venv)
    assert made.returncode == 0, made.stderr
    # This interpreter's pip installs into the new venv (``--python``): no pip bootstrap there.
    pip = [sys.executable, "-m", "pip", "--python", venv / "bin" / "python"]
    done = _run(*pip, "install", "--quiet", f"{src}[client]", timeout_s=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return venv


def test_client_extra_installs_no_server_dependencies(client_venv: Path) -> None:
    listed = _run(
        sys.executable, "-m", "pip", "--python", client_venv / "bin" / "python", "list",
        "--format", "json",
    )  # fmt: skip
    names = {p["name"].lower().replace("_", "-") for p in json.loads(listed.stdout)}
    assert {"chronorag", "httpx", "langchain-core", "tqdm"} <= names
    assert not names & SERVER_ONLY, names & SERVER_ONLY


def test_retriever_imports_and_reports_an_unreachable_service(client_venv: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    script = (
        "import sys\n"
        "from app.core.errors import Unavailable\n"
        "from app.integrations.langchain import ChronoragAnswerer, ChronoragRetriever\n"
        f"r = ChronoragRetriever(base_url={url!r}, timeout_s=2)\n"
        "try:\n"
        "    r.invoke('q', as_of='2022-12-31')\n"
        "except Unavailable as exc:\n"
        "    print('unavailable:', exc)\n"
        "heavy = ('torch', 'numpy', 'qdrant_client', 'celery')\n"
        "print('loaded:', sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = _run(client_venv / "bin" / "python", "-c", script)
    assert out.returncode == 0, out.stderr
    assert f"unavailable: cannot reach chronorag at {url}/v1/query" in out.stdout
    assert "loaded: []" in out.stdout


def test_client_commands_run_and_server_commands_say_what_to_install(client_venv: Path) -> None:
    chronorag = client_venv / "bin" / "chronorag"
    url = f"http://127.0.0.1:{free_port()}"
    asked = _run(chronorag, "ask", "Who chairs the board?", "--url", url)
    assert asked.returncode == 3
    assert asked.stderr.startswith(f"chronorag: cannot reach chronorag at {url} (")
    served = _run(chronorag, "serve")
    assert served.returncode == 2
    assert "pip install 'chronorag[server]'" in served.stderr
    assert "Traceback" not in served.stderr
