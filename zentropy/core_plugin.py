"""The core's own contributions, registered through the same hooks as any plugin."""

from __future__ import annotations

from zentropy.auth.jobs import purge_expired_sign_ins
from zentropy.auth.settings import AuthSettings
from zentropy.catalog.rekey import rekey_after_alias_change
from zentropy.feed.jobs import refresh_saved_searches, run_saved_search
from zentropy.hookspecs import hookimpl
from zentropy.llm.settings import LLMSettings
from zentropy.matching.jobs import EXTRACTION_CRON, extract_new_postings
from zentropy.purge.jobs import purge_expired_content
from zentropy.purge.service import PURGE_CRON
from zentropy.purge.settings import ContentSettings
from zentropy.quotas.settings import QuotaSettings
from zentropy.search.jobs import prune_query_cache, run_search, sweep_stalled_searches
from zentropy.search.settings import SearchSettings
from zentropy.settings import Settings


@hookimpl
def register_settings(register):
    register(Settings)
    register(AuthSettings)
    register(LLMSettings)
    register(SearchSettings)
    register(QuotaSettings)
    register(ContentSettings)


@hookimpl
def register_cron_jobs(register):
    register(purge_expired_sign_ins, cron="17 * * * *", timeout=300)
    register(refresh_saved_searches, cron="*/10 * * * *", timeout=120)
    register(sweep_stalled_searches, cron="* * * * *", timeout=60)
    register(prune_query_cache, cron="23 * * * *", timeout=300)
    register(purge_expired_content, cron=PURGE_CRON, timeout=240)
    register(extract_new_postings, cron=EXTRACTION_CRON, timeout=110)
    register(rekey_after_alias_change, cron="41 * * * *", timeout=1800)


@hookimpl
def register_jobs(register):
    register(run_search)
    register(run_saved_search)
