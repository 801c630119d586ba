from __future__ import annotations

import pytest

from tests.plugin_packages import run_cli


@pytest.mark.parametrize("command", [[], ["serve"], ["worker"], ["db"], ["db", "upgrade"], ["plugins"]])
def test_every_command_has_help(command):
    result = run_cli(*command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: zentropy")
