"""Metrics. Request counts and latency are per process (Litestar's Prometheus middleware); the
counters of work done anywhere in the cluster — source calls, tier hits, purges, LLM spend — are
kept in Redis, so `/metrics` on any API replica reports what every worker did."""

from __future__ import annotations

import json

from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily
from redis.asyncio import Redis

KEY = "zentropy:metrics:{}"

# name: (help, label names)
CLUSTER_COUNTERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "zentropy_source_calls": ("Calls to job sources, by source and outcome.", ("source", "status")),
    "zentropy_tier_hits": ("Searches answered, by tier that answered them.", ("tier",)),
    "zentropy_purged_contents": ("Posting contents purged after their TTL.", ()),
    "zentropy_llm_spend_usd": ("LLM spend in US dollars, by task and model.", ("task", "model")),
    "zentropy_llm_calls": ("LLM calls, by task, model and outcome.", ("task", "model", "status")),
}


async def count(redis: Redis, name: str, amount: float = 1, **labels: str) -> None:
    """Add `amount` to cluster counter `name` (one of CLUSTER_COUNTERS) with `labels`."""
    help_text, label_names = CLUSTER_COUNTERS[name]
    if set(labels) != set(label_names):
        raise ValueError(f"{name} takes labels {label_names}, got {sorted(labels)}")
    await redis.hincrbyfloat(KEY.format(name), json.dumps([labels[n] for n in label_names]), amount)


async def render(redis: Redis) -> bytes:
    registry = CollectorRegistry()
    families = []
    for name, (help_text, label_names) in CLUSTER_COUNTERS.items():
        family = CounterMetricFamily(name, help_text, labels=label_names)
        for labels, value in (await redis.hgetall(KEY.format(name))).items():
            family.add_metric(json.loads(labels), float(value))
        families.append(family)

    class Snapshot:
        def collect(self):  # noqa: ANN202
            return families

    registry.register(Snapshot())
    return generate_latest(REGISTRY) + generate_latest(registry)
