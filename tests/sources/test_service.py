"""The service around the sources: registration, settings, unknown names and cursors."""

from __future__ import annotations

import logging

import pytest
from zentropy_plugins.sources import (
    adzuna,
    arbeitnow,
    greenhouse,
    lever,
    remotive,
    serpapi,
)

from tests.sources.conftest import FAST
from tests.sources.tiny import tiny_source, with_sources
from zentropy.settings import SettingsError, read_settings
from zentropy.sources import SearchQuery, SourceError
from zentropy.sources.service import SourceService


def test_every_base_url_is_a_setting_defaulting_to_the_real_service():
    keys = {"ADZUNA_APP_ID": "id", "ADZUNA_APP_KEY": "key", "SERPAPI_API_KEY": "key"}
    assert read_settings(adzuna.AdzunaSettings, keys).base_url == "https://api.adzuna.com"
    assert read_settings(serpapi.SerpApiSettings, keys).base_url == "https://serpapi.com"
    assert read_settings(remotive.RemotiveSettings, {}).base_url == "https://remotive.com"
    assert read_settings(arbeitnow.ArbeitnowSettings, {}).base_url == "https://www.arbeitnow.com"
    assert read_settings(greenhouse.GreenhouseSettings, {}).base_url == "https://boards-api.greenhouse.io"
    assert read_settings(lever.LeverSettings, {}).base_url == "https://api.lever.co"
    assert read_settings(greenhouse.GreenhouseSettings, {}).board_list == ["stripe", "gitlab", "cloudflare"]
    assert read_settings(lever.LeverSettings, {"LEVER_SITES": " a, b ,"}).site_list == ["a", "b"]
    named = read_settings(lever.LeverSettings, {"LEVER_SITES": "scaleai = Scale AI Inc.,b, c=C & Co"})
    assert named.site_list == ["scaleai", "b", "c"]
    assert named.companies == {"scaleai": "Scale AI Inc.", "b": "b", "c": "C & Co"}
    assert read_settings(lever.LeverSettings, {}).companies["palantir"] == "Palantir Technologies"
    for malformed in ("a=", "=Name", "a=b=c", "../x=Name"):
        with pytest.raises(SettingsError, match="LEVER_SITES"):
            read_settings(lever.LeverSettings, {"LEVER_SITES": malformed})


async def test_a_malformed_board_list_is_not_configured_and_names_the_variable(sources, monkeypatch):
    monkeypatch.setenv("GREENHOUSE_BOARDS", "stripe,../admin")
    state = sources.state("greenhouse")
    assert state.configured is False and state.problem.startswith("GREENHOUSE_BOARDS: expected `str` matching")
    with pytest.raises(SourceError) as err:
        await sources.search("greenhouse", SearchQuery())
    assert err.value.code == "not_configured"


async def test_an_unknown_source_is_named_with_the_known_ones(sources):
    with pytest.raises(SourceError) as err:
        await sources.search("monster", SearchQuery())
    assert err.value.code == "unknown_source" and "adzuna" in str(err.value) and "lever" in str(err.value)


async def test_a_cursor_from_elsewhere_is_refused(remotive_api, sources):
    with pytest.raises(SourceError) as err:
        await sources.search("remotive", SearchQuery(), cursor="eyJmYyI6IkV1SUVDcUlF")
    assert err.value.code == "unsupported_query"


async def test_registrations_that_are_not_sources_or_repeat_a_name_are_ignored(runtime, key_prefix, caplog):
    first = tiny_source("tiny-twice", "http://127.0.0.1:9")
    again = tiny_source("tiny-twice", "http://127.0.0.1:9")
    async with SourceService(with_sources(runtime, first, again, "not a source"), policy=FAST,
                             key_prefix=key_prefix) as sources:
        assert sources.names() == ["tiny-twice"]
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "source registration ignored: duplicate name" in messages
    assert "source registration ignored: not a source factory" in messages


async def test_a_source_that_cannot_be_reached_is_unavailable(runtime, key_prefix, ledger):
    factory = tiny_source("tiny-gone", "http://127.0.0.1:9")  # nothing listens on port 9
    async with SourceService(with_sources(runtime, factory), policy=FAST, key_prefix=key_prefix) as sources:
        with pytest.raises(SourceError) as err:
            await sources.search("tiny-gone", SearchQuery())
    assert err.value.code == "unavailable" and "could not reach http://127.0.0.1:9/jobs" in str(err.value)
    [row] = await ledger.rows("tiny-gone")
    assert row["requests"] == FAST.retries + 1
