"""`zentropy fetch`, run as a user would, against the loopback sources."""

from __future__ import annotations

import json

import pytest

from tests.plugin_packages import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(rig, migrated):
    return {"DATABASE_URL": migrated.database_url, "DATABASE_APP_USER": migrated.database_app_user,
            "DATABASE_APP_PASSWORD": migrated.database_app_password, "REDIS_URL": migrated.redis_url,
            "ZENTROPY_PLUGINS": "adzuna,greenhouse,serpapi", "ZENTROPY_LOG_LEVEL": "WARNING", **rig.env}


def test_fetch_runs_the_tiers_with_progress_and_a_summary_table(rig, cli_env):
    rig.adzuna.results = rig.adzuna.results[:4]
    result = run_cli("fetch", rig.token, "--want", "10", env=cli_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.split()[:2] == ["│", "source"] or "source" in line and "duplicates" in line for line in lines)
    row = {name: next(line for line in lines if f" {name} " in line) for name in ("adzuna", "greenhouse", "serpapi")}
    assert [c.strip() for c in row["adzuna"].split("│")[1:-1]] == ["adzuna", "free", "exhausted", "4", "4", "0", "0"]
    assert [c.strip() for c in row["greenhouse"].split("│")[1:-1]][:5] == ["greenhouse", "free", "ok", "20", "20"]
    assert "not_needed" in row["serpapi"]
    assert "24 results for 10 wanted; cost 0" in result.stdout
    assert "adzuna" in result.stderr and "free tier" in result.stderr  # the progress bars
    assert (rig.calls("adzuna"), rig.calls("serpapi")) == (1, 0)

    again = run_cli("fetch", rig.token.upper(), "--want", "10", "--json", env=cli_env)
    assert again.returncode == 0, again.stderr
    body = json.loads(again.stdout)
    assert body["report"]["cache"] == {"answered": True, "matches": 10} and len(body["results"]) == 10
    assert rig.calls("adzuna") == 1  # the cache answered


def test_fetch_reaches_premium_only_when_free_falls_short_and_says_what_it_cost(rig, cli_env):
    rig.adzuna.results = rig.adzuna.results[:1]
    rig.greenhouse.boards[rig.token] = []
    no_premium = run_cli("fetch", rig.token, "--want", "5", "--no-premium", "--json", env=cli_env)
    premium = json.loads(no_premium.stdout)["report"]["tiers"][1]
    assert premium["status"] == "skipped" and premium["reason"] == "premium_not_allowed"
    result = run_cli("fetch", f"{rig.token} ", "--want", "5", env=cli_env)
    assert result.returncode == 0, result.stderr
    serpapi = next(line for line in result.stdout.splitlines() if " serpapi " in line)
    assert [c.strip() for c in serpapi.split("│")[1:-1]] == ["serpapi", "premium", "ok", "10", "10", "0",
                                                            "1 search credit"]
    assert rig.calls("serpapi") == 1


def test_fetch_needs_something_to_search_for(cli_env):
    result = run_cli("fetch", " ... ", env=cli_env)
    assert result.returncode == 2 and "give keywords" in result.stderr
