"""Every long-running command refuses invalid settings with a fix-it line and exit code 2,
never a traceback and never the offending value (it may be a secret)."""

from __future__ import annotations

import pytest

from workers.cli import main


@pytest.mark.parametrize(
    ("command", "env", "needle"),
    [
        (["serve", "--port", "1"], {"CHRONORAG_ENVIRONMENT": "production"}, "needs API keys"),
        (["worker"], {"CHRONORAG_EMBEDDING_OFFLOAD": "true"}, "needs CHRONORAG_REDIS_URL"),
        (["stream-consumer"], {"CHRONORAG_MAX_BACKLOG": "s3cret-ish"}, "max_backlog"),
    ],
)
def test_invalid_settings_exit_2_with_a_reason(
    command: list[str],
    env: dict[str, str],
    needle: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "invalid configuration" in err and needle in err
    assert "s3cret-ish" not in err
