from __future__ import annotations

from sqlalchemy import text

from tests.conftest import alembic_run
from zentropy.db.migrate import head_revision, upgrade


async def test_migrations_from_empty_down_and_up_again(scratch_database, settings):
    url, engine = scratch_database
    await upgrade(url, settings.database_app_user, settings.database_app_password)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == head_revision()
        assert (await conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'vector'"))).scalar() == 1
    await engine.dispose()
    # every migration can be undone, and redone
    await alembic_run(url, "downgrade", "base")
    async with engine.connect() as conn:
        left = (await conn.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))).scalar()
        assert left == 0
    await engine.dispose()
    await upgrade(url, settings.database_app_user, settings.database_app_password)
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar() == head_revision()


async def test_agency_keys_move_to_their_own_table(scratch_database):
    """0013: the keys of agencies' postings are copied to `posting_agency_keys`; the others stay."""
    url, engine = scratch_database
    await alembic_run(url, "upgrade", "0012")
    async with engine.begin() as conn:
        for posting_id, company, agency in ((1, "Acme", False), (2, "Robert Half", True)):
            await conn.execute(text(
                "INSERT INTO postings (id, title, company, locations, company_key, title_key, agency, location_keys, "
                "shingles, fingerprint_version, apply_url_rank, first_seen_at, last_seen_at) VALUES "
                "(:id, 'Accountant', :company, '{}', lower(:company), 'accountant', :agency, '{}', 0, 1, -1, "
                "now(), now())"), {"id": posting_id, "company": company, "agency": agency})
            await conn.execute(text("INSERT INTO posting_keys (key, posting_id) VALUES (:k, :p), (:k + 1, :p)"),
                               {"k": 10 * posting_id, "p": posting_id})
    await alembic_run(url, "upgrade", "0013")
    async with engine.connect() as conn:
        moved = (await conn.execute(text("SELECT key, posting_id FROM posting_agency_keys ORDER BY key"))).all()
        kept = (await conn.execute(text("SELECT count(*) FROM posting_keys"))).scalar()
    assert [tuple(r) for r in moved] == [(20, 2), (21, 2)] and kept == 4
    await engine.dispose()
    await alembic_run(url, "downgrade", "0012")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM posting_keys"))).scalar() == 4


async def test_keys_already_hot_are_recorded(scratch_database):
    """0014: keys shared by eight postings or more, in either key table, go into `hot_keys`."""
    url, engine = scratch_database
    await alembic_run(url, "upgrade", "0013")
    async with engine.begin() as conn:
        for table, key, postings in (("posting_keys", 1, 8), ("posting_keys", 2, 7), ("posting_agency_keys", 3, 9),
                                     ("posting_agency_keys", 4, 1)):
            await conn.execute(text(f"INSERT INTO {table} (key, posting_id) SELECT :k, n FROM generate_series(1, :n) n"),
                               {"k": key, "n": postings})
    await alembic_run(url, "upgrade", "0014")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT key FROM hot_keys ORDER BY key"))).scalars().all() == [1, 3]
    await engine.dispose()
    await alembic_run(url, "downgrade", "0013")
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT to_regclass('hot_keys')"))).scalar() is None


async def test_key_tables_move_to_a_hash_index_and_back(scratch_database):
    """0015: the key tables' B-tree primary keys become hash indexes on `key`; the rows stay."""
    url, engine = scratch_database
    await alembic_run(url, "upgrade", "0014")
    async with engine.begin() as conn:
        for table in ("posting_keys", "posting_agency_keys"):
            await conn.execute(text(f"INSERT INTO {table} (key, posting_id) SELECT n % 5, n FROM generate_series(1, 20) n"))
    await alembic_run(url, "upgrade", "0015")
    indexes = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('posting_keys', 'posting_agency_keys') "
               "ORDER BY indexname")
    async with engine.connect() as conn:
        found = (await conn.execute(text(indexes))).all()
        counts = [(await conn.execute(text(f"SELECT count(*) FROM {t}"))).scalar()
                  for t in ("posting_keys", "posting_agency_keys")]
    assert [name for name, _ in found] == ["ix_posting_agency_keys_key", "ix_posting_keys_key"]
    assert all("USING hash (key)" in definition for _, definition in found) and counts == [20, 20]
    await engine.dispose()
    await alembic_run(url, "downgrade", "0014")
    async with engine.connect() as conn:
        assert [name for name, _ in (await conn.execute(text(indexes))).all()] == [
            "pk_posting_agency_keys", "pk_posting_keys"]
