"""Re-key the catalog's companies after the alias table changed: `zentropy catalog rekey`.

A posting's company key, and the identity keys made of it, are computed when it is ingested, with
the alias table of the time. When a plugin registers aliases (`register_company_aliases`) or the
built-in table grows, postings already in the catalog keep their old key: a new "Facebook" listing
would neither find an older posting keyed "instagram" by identity nor score their companies alike.
`rekey_companies` recomputes each posting's company key from its company name with today's table
and, where it changed, stores it and adds the identity keys made of it (hot keys left out, as the
ingest leaves them out). The old identity keys stay: they still lead to the same posting.

One change it cannot make: when the new key turns an employer into a staffing agency or back, the
posting's description keys belong in the other namespace, and its description may have expired.
Such postings keep their old key and are counted as `left`.

Each batch is written under the ingest's lock and moves the catalog epoch, so a batch that a
running ingest decided against the old keys is decided again. Once every posting has been seen, the
table's digest is recorded (`catalog_company_keys`): the worker's hourly `rekey_after_alias_change`
re-keys the catalog only when its own table's digest differs, so installing a plugin that registers
aliases is enough; `zentropy catalog rekey` does it at once.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec

from zentropy.catalog import store
from zentropy.catalog.ingest import company_aliases
from zentropy.dedup.companies import is_staffing_agency
from zentropy.dedup.keys import identity_keys

log = logging.getLogger(__name__)

BATCH = 2_000


class RekeyReport(msgspec.Struct, kw_only=True):
    digest: str = ""  # of the alias table the keys now follow
    postings: int = 0  # looked at
    rekeyed: int = 0  # company key changed
    keys_added: int = 0  # identity keys added for them
    left: int = 0  # key unchanged: it would change the posting's agency status


READ = ("SELECT id, company, company_key, agency, title_key, seniority, location_keys FROM postings "
        "WHERE id > $1 ORDER BY id LIMIT $2")
RECORD = ("INSERT INTO catalog_company_keys AS c (digest) VALUES ($1) ON CONFLICT (one) "
          "DO UPDATE SET digest = excluded.digest, rekeyed_at = now() WHERE c.digest <> excluded.digest")
UPDATE = ("UPDATE postings p SET company_key = u.key FROM unnest($1::bigint[], $2::text[]) AS u(id, key) "
          "WHERE p.id = u.id")


async def rekey_companies(runtime, *, batch: int = BATCH) -> RekeyReport:  # noqa: ANN001 - zentropy.runtime.Runtime
    aliases = company_aliases(runtime)
    hot = store.HotKeys()
    report = RekeyReport(digest=aliases.digest())
    last = 0
    while True:
        async with runtime.db.raw() as conn, conn.transaction():
            await store.begin_write(conn)
            rows = await conn.fetch(READ, last, batch)
            if not rows:
                await conn.execute(RECORD, report.digest)
                return report
            last = rows[-1]["id"]
            report.postings += len(rows)
            changed: dict[int, str] = {}
            pairs: list[tuple[int, list[int]]] = []
            for row in rows:
                key = aliases.key(row["company"])
                if key == row["company_key"]:
                    continue
                if is_staffing_agency(key) != row["agency"]:
                    report.left += 1
                    continue
                changed[row["id"]] = key
                pairs.append((row["id"], identity_keys(key, row["title_key"], row["seniority"],
                                                       tuple(row["location_keys"]))))
            if not changed:
                continue
            await conn.execute(UPDATE, list(changed), list(changed.values()))
            await store.load_hot_keys(conn, hot)
            added = store.KeyPairs.of(pairs)
            added = added[~hot.mask(added.keys)]
            await store.add_keys(conn, added, store.NO_KEYS)
            report.rekeyed += len(changed)
            report.keys_added += len(added)


async def keyed_with(runtime) -> str | None:  # noqa: ANN001
    """The digest of the alias table the catalog's company keys were last brought up to date with."""
    async with runtime.db.raw() as conn:
        return await conn.fetchval("SELECT digest FROM catalog_company_keys")


async def rekey_after_alias_change(ctx: dict[str, Any], **_: Any) -> dict | None:
    """The hourly job: re-key the catalog when this worker's alias table is not the one its keys
    follow; the report, or None when they are."""
    runtime = ctx["runtime"]
    if await keyed_with(runtime) == company_aliases(runtime).digest():
        return None
    report = await rekey_companies(runtime)
    log.info("company keys brought up to date with the alias table",
             extra={"rekeyed": report.rekeyed, "left": report.left, "postings": report.postings})
    return msgspec.to_builtins(report)
