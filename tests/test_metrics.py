from __future__ import annotations

import uuid

import pytest

from zentropy import metrics


async def test_metrics_report_requests_and_cluster_counters(client, runtime):
    source = f"src-{uuid.uuid4().hex[:6]}"
    await metrics.count(runtime.redis, "zentropy_source_calls", source=source, status="ok")
    await metrics.count(runtime.redis, "zentropy_source_calls", 2, source=source, status="ok")
    await client.get("/api/v1/plugins")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert f'zentropy_source_calls_total{{source="{source}",status="ok"}} 3.0' in text
    assert 'zentropy_requests_total{' in text and 'path="/api/v1/plugins"' in text
    assert "zentropy_request_duration_seconds_bucket" in text


async def test_counter_labels_are_checked(runtime):
    with pytest.raises(ValueError, match="takes labels"):
        await metrics.count(runtime.redis, "zentropy_tier_hits", source="x")
