"""`zentropy catalog rekey`: after aliases are added, postings already in the catalog are found under
either company name; what it cannot re-key it leaves alone and says so."""

from __future__ import annotations

import dataclasses
from unittest import mock

import pytest
from sqlalchemy import text

from tests.catalog.conftest import NOW, posting, snapshot, source
from tests.plugin_packages import run_cli
from zentropy.catalog import ingest
from zentropy.catalog.rekey import keyed_with, rekey_after_alias_change, rekey_companies
from zentropy.dedup.keys import identity_keys
from zentropy.hookspecs import hookimpl
from zentropy.plugins import Plugins


class Aliases:
    def __init__(self, **pairs: str) -> None:
        self.pairs = pairs

    @hookimpl
    def register_company_aliases(self, register):
        for alias, canonical in self.pairs.items():
            register(alias, canonical)


def with_aliases(runtime, **pairs: str):  # noqa: ANN001, ANN201
    """The runtime as it is once a plugin registering these aliases is installed."""
    plugins = Plugins(runtime.settings)
    plugins.register(Aliases(**pairs), name="aliases-test")
    return dataclasses.replace(runtime, plugins=plugins, extras={})


async def company_key(engine, posting_id: int) -> str:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT company_key FROM postings WHERE id = :id"),
                                   {"id": posting_id})).scalar_one()


@pytest.mark.parametrize("rekeyed", [True, False])
async def test_after_an_alias_is_added_a_new_listing_finds_the_older_posting_once_rekeyed(catalog, owner_engine,
                                                                                            rekeyed):
    old = await ingest(catalog, source(), [posting("1", company="Initrode GmbH", apply_url="https://a.example/1")],
                       now=NOW)
    later = with_aliases(catalog, Initrode="Initech")
    if rekeyed:
        report = await rekey_companies(later)
        assert (report.postings, report.rekeyed, report.left) == (1, 1, 0)
        assert report.keys_added == 1  # one place: Berlin
        assert await company_key(owner_engine, old.results[0].posting_id) == "initech"
    # another source's listing of the job, under the employer's new name, with no description
    new = await ingest(later, source("lever"), [posting("L1", source="lever", company="Initech Inc.",
                                                        apply_url="https://b.example/2", description_text="")],
                       now=NOW)
    if rekeyed:
        assert new.results[0].outcome == "duplicate" and new.results[0].duplicate_of == old.results[0].posting_id
    else:
        assert new.results[0].outcome == "new"


async def test_a_second_run_changes_nothing(catalog, owner_engine):
    await ingest(catalog, source(), [posting("1", company="Initrode"), posting("2", title="Data Scientist",
                                                                                company="Other Co")], now=NOW)
    later = with_aliases(catalog, Initrode="Initech")
    assert (await rekey_companies(later, batch=1)).rekeyed == 1
    before = await snapshot(owner_engine)
    again = await rekey_companies(later, batch=1)
    assert (again.postings, again.rekeyed, again.keys_added, again.left) == (2, 0, 0, 0)
    assert await snapshot(owner_engine) == before


async def test_a_key_that_would_turn_an_employer_into_an_agency_is_left(catalog, owner_engine):
    made = await ingest(catalog, source(), [posting("1", company="Acme Corp")], now=NOW)
    before = await snapshot(owner_engine)
    report = await rekey_companies(with_aliases(catalog, Acme="Randstad"))
    assert (report.rekeyed, report.left) == (0, 1)
    assert await company_key(owner_engine, made.results[0].posting_id) == "acme"
    after = await snapshot(owner_engine)
    assert after.pop("catalog_company_keys") == [(True, report.digest, mock.ANY)]  # the table it went through
    before.pop("catalog_company_keys")
    assert after == before


async def test_a_hot_identity_key_is_not_stored(catalog, owner_engine):
    made = await ingest(catalog, source(), [posting("1", company="Initrode")], now=NOW)
    async with owner_engine.connect() as conn:
        row = (await conn.execute(text("SELECT title_key, seniority, location_keys FROM postings"))).one()
        [hot] = identity_keys("initech", row.title_key, row.seniority, tuple(row.location_keys))
        await conn.execute(text("INSERT INTO hot_keys (key) VALUES (:key)"), {"key": hot})
        await conn.commit()
    report = await rekey_companies(with_aliases(catalog, Initrode="Initech"))
    assert (report.rekeyed, report.keys_added) == (1, 0)
    async with owner_engine.connect() as conn:
        stored = (await conn.execute(text("SELECT count(*) FROM posting_keys WHERE key = :key"), {"key": hot}))
        assert stored.scalar_one() == 0
    assert await company_key(owner_engine, made.results[0].posting_id) == "initech"


async def test_the_hourly_job_rekeys_when_the_alias_table_is_not_the_one_the_keys_follow(catalog, owner_engine):
    made = await ingest(catalog, source(), [posting("1", company="Initrode")], now=NOW)
    first = await rekey_after_alias_change({"runtime": catalog})  # no table recorded yet
    assert first is not None and (first["postings"], first["rekeyed"]) == (1, 0)
    assert await keyed_with(catalog) == first["digest"]
    assert await rekey_after_alias_change({"runtime": catalog}) is None  # nothing changed since

    later = with_aliases(catalog, Initrode="Initech")  # a plugin registering an alias is installed
    second = await rekey_after_alias_change({"runtime": later})
    assert second is not None and second["rekeyed"] == 1 and second["digest"] != first["digest"]
    assert await company_key(owner_engine, made.results[0].posting_id) == "initech"
    assert await keyed_with(catalog) == second["digest"]
    assert await rekey_after_alias_change({"runtime": later}) is None


@pytest.mark.slow
async def test_the_command_reports_what_it_rekeyed(catalog, owner_engine, migrated):
    """A catalog written before the built-in table knew that Facebook is Meta (its stored key is
    `facebook`): the command re-keys it, and says so."""
    made = await ingest(catalog, source(), [posting("1", company="Facebook")], now=NOW)
    async with owner_engine.connect() as conn:
        await conn.execute(text("UPDATE postings SET company_key = 'facebook'"))
        await conn.commit()
    env = {"DATABASE_URL": migrated.database_url, "DATABASE_APP_USER": migrated.database_app_user,
           "DATABASE_APP_PASSWORD": migrated.database_app_password, "REDIS_URL": migrated.redis_url,
           "ZENTROPY_LOG_FORMAT": "console"}
    result = run_cli("catalog", "rekey", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "1 of 1 postings re-keyed (1 identity keys added)"
    assert await company_key(owner_engine, made.results[0].posting_id) == "meta"
    again = run_cli("catalog", "rekey", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert '"rekeyed": 0' in again.stdout and '"postings": 1' in again.stdout
