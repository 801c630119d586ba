"""bench/loopback.py: the synthetic stream, served in each source's wire format and fetched back
through the source plugins, is the same postings in the same order, as far as each plugin carries
them."""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from urllib.parse import urlsplit

from bench import loopback
from bench.synthetic import stream
from tests.sources.conftest import SOURCE_ENV
from zentropy_plugins.sources.adzuna import COUNTRIES as ADZUNA_COUNTRIES

SALARIED = {"adzuna", "serpapi", "remotive", "lever"}  # the others' wire formats have no salary


async def test_every_posting_comes_back_once_in_stream_order(redis):
    sent = list(stream(500, seed=11))
    settings = {name: os.environ.get(name) for name in SOURCE_ENV}
    fetched = await loopback.fetch(sent, redis)
    assert fetched.skipped == {}
    assert fetched.per_source == Counter(p.source for p in sent) and len(fetched.per_source) == 6
    assert [p.source for p in fetched.postings] == [p.source for p in sent]
    assert len({(p.source, p.external_id) for p in fetched.postings}) == len(sent)
    for was, got in zip(sent, fetched.postings):
        assert (got.title, got.locations, got.apply_url, got.source_url) == (
            was.title, was.locations, was.apply_url, was.source_url)
        # Lever's API names no company: the plugin gives the site's name
        assert got.company == (urlsplit(was.apply_url).path.split("/")[1] if was.source == "lever" else was.company)
        assert got.description_text.split() == was.description_text.split()  # paragraphs from HTML: other breaks
        minimum = was.salary.min if was.salary and was.source in SALARIED else None
        assert (got.salary.min if got.salary else None) == minimum
        country = {"adzuna": was.country if was.country in ADZUNA_COUNTRIES else "gb", "serpapi": was.country,
                   "lever": was.country}.get(was.source)  # the others' wire formats have no country
        assert got.country == country
        if was.source == "serpapi":  # "N days ago", read relative to the time of the fetch
            assert timedelta(0) <= got.posted_at - was.posted_at < timedelta(days=1, minutes=5)
        else:
            assert got.posted_at == was.posted_at
    assert {name: os.environ.get(name) for name in SOURCE_ENV} == settings  # settings restored


async def test_an_item_a_plugin_cannot_read_is_counted_not_lost(redis, monkeypatch):
    sent = list(stream(60, seed=11))
    broken = next(i for i, p in enumerate(sent) if p.source == "remotive")
    encode = loopback.ENCODERS["remotive"]

    def without_title(p, index):  # noqa: ANN001, ANN202
        wire = encode(p, index)
        if index == broken:
            del wire.item["title"]
        return wire

    monkeypatch.setitem(loopback.ENCODERS, "remotive", without_title)
    fetched = await loopback.fetch(sent, redis)
    assert fetched.skipped == {"remotive": 1}
    assert [p.title for p in fetched.postings] == [p.title for i, p in enumerate(sent) if i != broken]
