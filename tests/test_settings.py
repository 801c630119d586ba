from __future__ import annotations

from typing import Annotated

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.plugin_packages import run_cli
from zentropy.settings import Settings, SettingsError, env, environment, read_settings, redact


class PluginSettings(msgspec.Struct, frozen=True):
    api_key: Annotated[str, env("EXAMPLE_API_KEY", secret=True)]
    per_page: Annotated[int, msgspec.Meta(ge=1, le=50), env("EXAMPLE_PER_PAGE")] = 20
    base_url: Annotated[str, env("EXAMPLE_BASE_URL")] = "https://api.example.com"


def test_defaults_when_nothing_is_set():
    settings = read_settings(Settings, {})
    assert settings.database_url is None and settings.port == 8000 and settings.embedded_postgres


def test_values_are_converted_from_strings():
    settings = read_settings(Settings, {"PORT": "9000", "ZENTROPY_IN_PROCESS_WORKER": "false", "REDIS_URL": "redis://x"})
    assert settings.port == 9000 and settings.in_process_worker is False and not settings.embedded_redis


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"PORT": "eighty"}, "PORT: expected `int`, got `str`"),
        ({"PORT": "70000"}, "PORT: expected `int` <= 65535"),
        ({"ZENTROPY_LOG_FORMAT": "xml"}, "ZENTROPY_LOG_FORMAT: expected `str` matching regex"),
        ({"DATABASE_POOL_SIZE": "0"}, "DATABASE_POOL_SIZE: expected `int` >= 1"),
    ],
)
def test_malformed_value_names_the_variable(environ, message):
    with pytest.raises(SettingsError) as err:
        read_settings(Settings, environ)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_plugin_settings_missing_required_value():
    with pytest.raises(SettingsError, match=r"^EXAMPLE_API_KEY: is required but not set$"):
        read_settings(PluginSettings, {"EXAMPLE_PER_PAGE": "5"})


def test_empty_value_counts_as_unset():
    assert read_settings(PluginSettings, {"EXAMPLE_API_KEY": "k", "EXAMPLE_PER_PAGE": ""}).per_page == 20


def test_dotenv_file_is_read_and_environment_wins(tmp_path, monkeypatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("EXAMPLE_API_KEY=from-file\nEXAMPLE_PER_PAGE=7\n")
    monkeypatch.setenv("EXAMPLE_PER_PAGE", "9")
    settings = read_settings(PluginSettings, environment(dotenv))
    assert settings.api_key == "from-file" and settings.per_page == 9


def test_secrets_are_redacted():
    settings = read_settings(PluginSettings, {"EXAMPLE_API_KEY": "sk-very-secret"})
    shown = redact(settings)
    assert shown["api_key"] == "***" and "sk-very-secret" not in repr(shown)


@given(st.integers())
def test_any_integer_is_accepted_or_refused_with_one_line(value):
    try:
        read_settings(PluginSettings, {"EXAMPLE_API_KEY": "k", "EXAMPLE_PER_PAGE": str(value)})
    except SettingsError as exc:
        assert not 1 <= value <= 50
        assert str(exc).startswith("EXAMPLE_PER_PAGE: ")
    else:
        assert 1 <= value <= 50


def test_cli_fails_fast_with_one_line_naming_the_variable():
    result = run_cli("plugins", env={"PORT": "not-a-port"})
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1] == "Error: configuration error: PORT: expected `int`, got `str`"
