"""How long content is kept: the plugin's TTL, capped by ZENTROPY_CONTENT_TTL_SECONDS, or the
per-source override; cached source responses never outlive the content fetched from them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.purge.conftest import HOUR, T0, posting, rows, source
from zentropy.catalog.partitions import content_expiry
from zentropy.purge import purge
from zentropy.purge.service import PURGE_EVERY, cache_lifetime, shorten_response_caches
from zentropy.purge.settings import ContentSettings
from zentropy.settings import SettingsError, read_settings
from zentropy.sources.contract import DEFAULT_CONTENT_TTL, SourceInfo

TTLS = st.integers(min_value=0, max_value=400 * 24 * 3600)


def info(name: str = "adzuna", ttl: int = DEFAULT_CONTENT_TTL) -> SourceInfo:
    return SourceInfo(name=name, tier="free", content_ttl_seconds=ttl)


def test_the_settings_are_read_from_the_environment():
    settings = read_settings(ContentSettings, {"ZENTROPY_CONTENT_TTL_SECONDS": "7200",
                                               "ZENTROPY_CONTENT_TTL_OVERRIDES": " remotive=600 , adzuna = 172800"})
    assert settings.content_ttl_seconds == 7200 and settings.overrides == {"remotive": 600, "adzuna": 172800}
    assert read_settings(ContentSettings, {}) == ContentSettings()


@pytest.mark.parametrize("environ, variable", [
    ({"ZENTROPY_CONTENT_TTL_SECONDS": "a day"}, "ZENTROPY_CONTENT_TTL_SECONDS"),
    ({"ZENTROPY_CONTENT_TTL_SECONDS": "-5"}, "ZENTROPY_CONTENT_TTL_SECONDS"),
    ({"ZENTROPY_CONTENT_TTL_OVERRIDES": "remotive"}, "ZENTROPY_CONTENT_TTL_OVERRIDES"),
    ({"ZENTROPY_CONTENT_TTL_OVERRIDES": "remotive=1h"}, "ZENTROPY_CONTENT_TTL_OVERRIDES"),
    ({"ZENTROPY_PURGE_LOCK_TIMEOUT_MS": "0"}, "ZENTROPY_PURGE_LOCK_TIMEOUT_MS"),
])
def test_a_malformed_setting_is_one_line_naming_it(environ, variable):
    with pytest.raises(SettingsError) as error:
        read_settings(ContentSettings, environ)
    assert str(error.value).startswith(f"{variable}: ") and "\n" not in str(error.value)


def test_the_plugins_ttl_by_default_capped_by_the_setting_overridden_per_source():
    assert ContentSettings().ttl(info()) == DEFAULT_CONTENT_TTL
    assert ContentSettings().ttl(info(ttl=6 * 3600)) == 6 * 3600  # a plugin whose terms say less
    capped = ContentSettings(content_ttl_seconds=12 * 3600)
    assert capped.ttl(info()) == 12 * 3600 and capped.ttl(info(ttl=6 * 3600)) == 6 * 3600
    overridden = ContentSettings(content_ttl_seconds=3600, content_ttl_overrides="adzuna=172800")
    assert overridden.ttl(info()) == 172800 and overridden.ttl(info("remotive")) == 3600


@given(plugin=TTLS, cap=st.none() | TTLS, override=st.none() | TTLS)
def test_the_ttl_is_the_override_or_at_most_the_plugins_and_the_caps(plugin, cap, override):
    settings = ContentSettings(content_ttl_seconds=cap,
                               content_ttl_overrides="" if override is None else f"adzuna={override}")
    ttl = settings.ttl(info(ttl=plugin))
    if override is not None:
        assert ttl == override
    else:
        assert ttl <= plugin and (cap is None or ttl <= cap) and ttl in (plugin, cap)
    assert settings.ttl(info("lever", ttl=plugin)) == (plugin if cap is None else min(plugin, cap))


@given(ttl=TTLS, stored=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1),
                                     timezones=st.just(timezone.utc)))
def test_a_cached_response_is_gone_before_the_content_fetched_from_it_expires(ttl, stored):
    """A response cached at `stored` is seen by a purge run within PURGE_EVERY, which leaves it
    `cache_lifetime(ttl)` at most; content fetched at `stored` or later expires no earlier than this."""
    gone_by = stored + PURGE_EVERY + timedelta(seconds=max(0.0, cache_lifetime(ttl)))
    if cache_lifetime(ttl) > 0:
        assert gone_by <= content_expiry(stored, ttl)
    else:  # content kept for about an hour or less: the cache entry is deleted at the next run
        assert gone_by == stored + PURGE_EVERY


async def test_ingest_given_the_effective_ttl_keeps_content_that_long(ttl):
    from zentropy.catalog import ingest
    from zentropy.purge import content_ttl

    ttl.content_settings(content_ttl_seconds=6 * 3600)
    adzuna = source()
    await ingest(ttl.rt, adzuna, [posting("1")], now=T0, content_ttl_seconds=content_ttl(ttl.rt, adzuna))
    assert await rows(ttl.owner, "SELECT expires_at FROM posting_content") == [(content_expiry(T0, 6 * 3600),)]


async def test_purge_shortens_cached_responses_that_would_outlive_their_content(ttl, redis):
    ttl.sources()  # the runtime's sources, keyed under the test's prefix
    prefix = ttl.key_prefix
    keys = {
        "remotive_day": (f"{prefix}:remotive:cache:a", 24 * 3600),  # REMOTIVE_REFRESH_HOURS=24: up to a day
        "greenhouse": (f"{prefix}:greenhouse:cache:b", 900),
        "lever_forever": (f"{prefix}:lever:cache:c", None),
        "unknown": (f"{prefix}:gone-plugin:cache:d", 24 * 3600),
        "not_a_cache": (f"{prefix}:remotive:breaker", 24 * 3600),
    }
    for key, seconds in keys.values():
        await redis.set(key, b"cached body", ex=seconds)
    report = await purge(ttl.rt, now=T0)
    limit = cache_lifetime(DEFAULT_CONTENT_TTL) * 1000
    ttls = {name: await redis.pttl(key) for name, (key, _) in keys.items()}
    assert 0 < ttls["remotive_day"] <= limit and 0 < ttls["lever_forever"] <= limit and 0 < ttls["unknown"] <= limit
    assert limit < 24 * 3600 * 1000 - HOUR.total_seconds() * 1000
    assert 0 < ttls["greenhouse"] <= 900_000 and ttls["not_a_cache"] > limit  # short enough already; not a cache
    assert report.caches_shortened == 3

    ttl.content_settings(content_ttl_overrides="remotive=7200,greenhouse=3000")
    await purge(ttl.rt, now=T0)
    assert 0 < await redis.pttl(keys["remotive_day"][0]) <= cache_lifetime(7200) * 1000
    assert await redis.exists(keys["greenhouse"][0]) == 0  # content kept under ~an hour: cache deleted
