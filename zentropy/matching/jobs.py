"""The cron job: extract and embed a bounded batch of new catalog postings."""

from __future__ import annotations

from typing import Any

import msgspec

from zentropy.matching.pipeline import run_pipeline

EXTRACTION_CRON = "*/2 * * * *"


async def extract_new_postings(ctx: dict[str, Any], **_: Any) -> dict[str, Any]:
    return msgspec.to_builtins(await run_pipeline(ctx["runtime"]))
