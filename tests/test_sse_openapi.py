"""The OpenAPI document served at /schema says what each streaming endpoint really sends."""

from __future__ import annotations


async def test_search_events_are_documented_as_a_text_event_stream(client):
    document = (await client.get("/schema/openapi.json")).json()
    ok = document["paths"]["/api/v1/searches/{search_id}/events"]["get"]["responses"]["200"]
    assert list(ok["content"]) == ["text/event-stream"]
    assert ok["content"]["text/event-stream"]["schema"] == {"type": "string"}
    assert "Last-Event-ID" in ok["description"] and "done" in ok["description"]
    # the JSON endpoints beside it stay JSON
    search = document["paths"]["/api/v1/searches/{search_id}"]["get"]["responses"]["200"]
    assert list(search["content"]) == ["application/json"]
