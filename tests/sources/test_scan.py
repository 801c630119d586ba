"""`zentropy.sources.scan.Normalized`: what a listing normalized to, kept a while, a bounded number."""

from __future__ import annotations

import pytest

from zentropy.sources.scan import Normalized


class Reads:
    def __init__(self) -> None:
        self.made: list[str] = []

    def of(self, key: str):  # noqa: ANN201
        async def read() -> tuple[list, int]:
            self.made.append(key)
            return [key], 0
        return read


async def test_a_listing_is_read_again_once_its_time_is_up():
    now = [0.0]
    kept, reads = Normalized(seconds=60, clock=lambda: now[0]), Reads()
    assert await kept.get("a", reads.of("a")) == (["a"], 0)
    now[0] = 59.9
    await kept.get("a", reads.of("a"))
    assert reads.made == ["a"]
    now[0] = 60.0
    await kept.get("a", reads.of("a"))
    assert reads.made == ["a", "a"]


async def test_at_most_size_listings_are_kept_the_least_recently_used_go_first():
    kept, reads = Normalized(size=2), Reads()
    for key in ("a", "b", "a", "c"):  # "b" is the least recently used when "c" comes
        await kept.get(key, reads.of(key))
    for key in ("a", "c", "b"):
        await kept.get(key, reads.of(key))
    assert reads.made == ["a", "b", "c", "b"]


async def test_a_failed_read_keeps_nothing():
    kept, reads = Normalized(), Reads()

    async def failing() -> tuple[list, int]:
        raise RuntimeError("source down")

    with pytest.raises(RuntimeError):
        await kept.get("a", failing)
    assert await kept.get("a", reads.of("a")) == (["a"], 0) and reads.made == ["a"]
