from __future__ import annotations

import pytest

from tests.plugin_packages import run_cli


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"], ["plugins"], ["settings"],
                                     ["catalog"], ["catalog", "rekey"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: zentropy")


def test_settings_lists_every_variable_and_never_a_secret_value():
    from zentropy.settings import Settings, env_names

    result = run_cli("settings", "--example", env={"DATABASE_APP_PASSWORD": "pw-that-must-not-show"})
    assert result.returncode == 0, result.stderr
    for var in env_names(Settings).values():
        assert f"# {var}=" in result.stdout
    table = run_cli("settings", env={"DATABASE_APP_PASSWORD": "pw-that-must-not-show"})
    assert table.returncode == 0 and "DATABASE_APP_PASSWORD" in table.stdout
    assert "pw-that-must-not-show" not in result.stdout + table.stdout


def test_serve_believes_forwarded_headers_only_from_the_configured_proxies(monkeypatch):
    """`zentropy serve` hands ZENTROPY_FORWARDED_ALLOW_IPS to uvicorn (127.0.0.1 unless set); what
    uvicorn then does with it is tested on a real server in tests/auth/test_signin_rate_limit.py."""
    import uvicorn
    from click.testing import CliRunner

    import zentropy.app
    import zentropy.logging
    from zentropy.cli import cli

    runs = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: runs.append(kwargs))
    monkeypatch.setattr(zentropy.app, "create_app", lambda settings: object())
    monkeypatch.setattr(zentropy.logging, "configure", lambda *args: None)  # leave the test run's logging be
    for var in ("ZENTROPY_FORWARDED_ALLOW_IPS", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(var, raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["serve"]).exit_code == 0
    assert runs[-1]["proxy_headers"] is True and runs[-1]["forwarded_allow_ips"] == "127.0.0.1"
    monkeypatch.setenv("ZENTROPY_FORWARDED_ALLOW_IPS", " 10.0.0.0/8, 100.64.0.0/10 ")
    assert runner.invoke(cli, ["serve", "--port", "9000"]).exit_code == 0
    assert runs[-1]["forwarded_allow_ips"] == "10.0.0.0/8,100.64.0.0/10" and runs[-1]["port"] == 9000
    monkeypatch.setenv("ZENTROPY_FORWARDED_ALLOW_IPS", "*")
    assert runner.invoke(cli, ["serve"]).exit_code == 0 and runs[-1]["forwarded_allow_ips"] == "*"
    for bad in ("railway", "10.0.0.0/33", "127.0.0.1;rm"):
        monkeypatch.setenv("ZENTROPY_FORWARDED_ALLOW_IPS", bad)
        result = runner.invoke(cli, ["serve"])
        assert result.exit_code == 1 and "ZENTROPY_FORWARDED_ALLOW_IPS" in result.output, result.output
    assert len(runs) == 3  # nothing was started with a bad value
