"""`zentropy sources try` and `zentropy sources list`, run as a user would, against the loopback fakes."""

from __future__ import annotations

import json

import pytest

from tests.plugin_packages import run_cli

pytestmark = pytest.mark.slow


@pytest.fixture
def cli_env(migrated, key_prefix):
    """The test database, Redis and a Redis namespace of the test's own, as environment variables."""
    return {"DATABASE_URL": migrated.database_url, "DATABASE_APP_USER": migrated.database_app_user,
            "DATABASE_APP_PASSWORD": migrated.database_app_password, "REDIS_URL": migrated.redis_url,
            "ZENTROPY_SOURCES_KEY_PREFIX": key_prefix, "ZENTROPY_SOURCES_RETRIES": "0"}


def test_try_prints_normalized_postings_as_json(adzuna_api, cli_env, ledger):
    fake, server = adzuna_api
    result = run_cli("sources", "try", "adzuna", "analyst", "--location", "London", "--country", "GB", "--json",
                     env=cli_env)
    assert result.returncode == 0, result.stderr
    page = json.loads(result.stdout)
    assert page["source"] == "adzuna" and page["attribution"] == "Jobs by Adzuna"
    [posting] = page["postings"]
    assert posting["title"] == "Campaign Analyst" and posting["salary"]["min"] == 30000 and "raw" not in posting
    request = server.requests[-1]
    assert request.path == "/v1/api/jobs/gb/search/1" and request.param("where") == "London"
    assert fake.app_key not in result.stdout + result.stderr


def test_try_prints_a_table_with_the_attribution(remotive_api, cli_env):
    result = run_cli("sources", "try", "remotive", "engineering", "--remote", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "Head of Engineering" in result.stdout and "Lemon.io" in result.stdout
    assert "Remote jobs by Remotive — https://remotive.com" in result.stdout


def test_try_an_unconfigured_source_says_what_to_set(cli_env):
    result = run_cli("sources", "try", "adzuna", "analyst", env=cli_env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: adzuna: not configured: ADZUNA_APP_ID: is required but not set [not_configured]")


def test_try_an_unknown_source(cli_env):
    result = run_cli("sources", "try", "monster", "analyst", env=cli_env)
    assert result.returncode == 1 and "no source named 'monster'" in result.stderr and "[unknown_source]" in result.stderr


def test_list_shows_each_source_and_whether_it_is_configured(adzuna_api):
    result = run_cli("sources", "list", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["adzuna"]["configured"] is True  # the fixture set its keys
    assert rows["serpapi"]["configured"] is False and rows["serpapi"]["problem"].startswith("SERPAPI_API_KEY")
    assert rows["remotive"]["configured"] is True and rows["remotive"]["info"]["rate_limits"] == [{"calls": 4, "per_seconds": 86400}]


def test_plugins_lists_sources_with_their_configured_state():
    result = run_cli("plugins", "--json")
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    for name in ("remotive", "arbeitnow", "greenhouse", "lever"):
        assert rows[name]["kinds"] == ["source"] and rows[name]["configured"] is True
    assert rows["adzuna"]["configured"] is False and rows["serpapi"]["configured"] is False
