"""`zentropy llm status` and `zentropy plugins` say which LLM provider is in use."""

from __future__ import annotations

import json

from tests.plugin_packages import run_cli

NO_KEYS = {"OPENROUTER_API_KEY": "", "OPENAI_API_KEY": ""}


def status(env):
    result = run_cli("llm", "status", "--json", env={**NO_KEYS, **env})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_keys_the_local_fallback_is_in_use_and_chat_tasks_have_none():
    report = status({})
    assert report["in_use"]["extraction"] == "local:rules"
    assert report["in_use"]["scoring"] is None and report["in_use"]["generation"] is None
    reasons = {e["ref"]: e["reason"] for e in report["routes"]["extraction"]}
    assert reasons["openrouter:google/gemini-2.5-flash-lite"] == "not configured"
    providers = {p["name"]: p for p in report["providers"]}
    assert providers["local"]["plugin"] == "local-llm" and providers["local"]["local"] is True
    assert providers["openrouter"]["configured"] is False and providers["openrouter"]["accepts_user_keys"] is True


def test_with_an_openrouter_key_routes_start_with_openrouter_and_the_key_is_not_shown():
    key = "sk-or-v1-never-printed-0123456789"
    result = run_cli("llm", "status", "--json", env={**NO_KEYS, "OPENROUTER_API_KEY": key,
                                                     "ZENTROPY_LLM_SCORING_MODELS": "openrouter:x/cheap, local:rules"})
    assert result.returncode == 0 and key not in result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["in_use"]["extraction"] == "openrouter:google/gemini-2.5-flash-lite"
    assert report["in_use"]["scoring"] == "openrouter:x/cheap"
    assert report["routes"]["scoring"][1]["reason"].startswith("cannot do scoring")
    assert {p["name"]: p["configured"] for p in report["providers"]}["openrouter"] is True


def test_a_malformed_route_is_a_one_line_configuration_error():
    result = run_cli("llm", "status", env={**NO_KEYS, "ZENTROPY_LLM_EMBEDDING_MODELS": "minilm"})
    assert result.returncode != 0
    assert "ZENTROPY_LLM_EMBEDDING_MODELS: 'minilm' is not provider:model" in result.stderr


def test_plugins_listing_shows_the_llm_plugins_and_a_bad_setting_with_its_variable():
    result = run_cli("plugins", "--json", env={**NO_KEYS, "OPENROUTER_PROVIDER": '{"sort": "cheapest"}'})
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["local-llm"]["kinds"] == ["llm"] and rows["local-llm"]["configured"] is True
    assert rows["openai"]["kinds"] == ["llm"] and rows["openai"]["configured"] is False
    assert rows["openrouter"]["error"].startswith("SettingsError: OPENROUTER_PROVIDER:")
