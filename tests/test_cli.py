from __future__ import annotations

import pytest

from tests.plugin_packages import run_cli


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"], ["plugins"], ["settings"]])
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
