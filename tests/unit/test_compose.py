"""docker-compose.yml scales: a load balancer publishes the port, ``api`` does not, the
serving path has health checks, and the README's command is the one it supports."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_only_the_load_balancer_publishes_a_port() -> None:
    services = _compose()["services"]
    assert "ports" not in services["api"]
    assert services["api"]["expose"] == ["8000"]
    lb = services["lb"]
    assert lb["image"].startswith("nginx:")
    assert lb["ports"] == ["${CHRONORAG_PORT:-8000}:8080"]
    assert "./docker/nginx.conf:/etc/nginx/nginx.conf:ro" in lb["volumes"]
    assert lb["depends_on"]["api"]["condition"] == "service_healthy"
    # Nothing else that scales publishes a port (it could not start twice on one host).
    for name in ("api", "worker", "stream-consumer", "beat", "gpu-worker"):
        assert "ports" not in services[name], name


def test_health_checks_on_the_serving_path() -> None:
    services = _compose()["services"]
    for name in ("redis", "qdrant", "api", "lb", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert "/lb-healthz" in " ".join(services["lb"]["healthcheck"]["test"])


def test_nginx_balances_the_api_service_it_resolves_again() -> None:
    conf = (ROOT / "docker" / "nginx.conf").read_text()
    assert "listen 8080;" in conf
    assert "resolver 127.0.0.11 valid=5s" in conf
    assert re.search(r"set \$chronorag_api http://api:8000;\s+proxy_pass \$chronorag_api;", conf)
    assert "location = /lb-healthz" in conf


def test_readme_scaling_command_matches_the_compose_file() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^docker compose up [^\n]*--scale api=\d+[^\n]*$", readme, re.M)
    assert commands, "the README shows how to scale the API"
    assert "docker-compose up" not in readme
    services = set(_compose()["services"])
    for command in commands:
        assert set(re.findall(r"--scale (\w[\w-]*)=", command)) <= services


@pytest.mark.skipif(not shutil.which("nginx"), reason="no nginx binary to check the config")
def test_nginx_accepts_the_config() -> None:
    out = subprocess.run(
        ["nginx", "-t", "-c", str(ROOT / "docker" / "nginx.conf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr


def _compose_cli() -> list[str] | None:
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    return [legacy] if legacy else None


@pytest.mark.skipif(_compose_cli() is None, reason="neither `docker compose` nor docker-compose")
def test_compose_config_is_valid_and_shows_the_balancer() -> None:
    cli = _compose_cli()
    assert cli is not None
    out = subprocess.run(
        [*cli, "-f", str(ROOT / "docker-compose.yml"), "config", "--services"],
        capture_output=True, text=True, timeout=120, check=False, cwd=ROOT,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert {"lb", "api", "worker"} <= set(out.stdout.split())
