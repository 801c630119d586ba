"""Paging for sources that cannot search: read their listings in order, keep what matches.

Free boards (Remotive, Arbeitnow, Greenhouse and Lever boards) hand out whole listings; the source
filters them with `normalize.matches` and pages through the matches with a cursor
"listing:offset", reading at most `max_listings` listings for one page. `Normalized` keeps a
listing's normalized postings for a minute, so paging through it normalizes it once, not once a
page (a board of 1,000 jobs, paged 20 at a time, would be normalized 50 times).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import msgspec

from zentropy.sources.contract import Page, Posting, SourceError

log = logging.getLogger(__name__)


class Normalized:
    """A source's listings as normalized, kept in this process `seconds` after they were read (at
    most `size` of them): `await normalized.get(key, read)`. The response cache in Redis says how
    fresh a listing is across processes; this only spares normalizing it again for every page of
    one search. A failed read keeps nothing."""

    def __init__(self, seconds: float = 60.0, size: int = 64, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.size, self.clock = seconds, size, clock
        self._kept: OrderedDict[str, tuple[float, tuple[list[Posting], int]]] = OrderedDict()

    async def get(self, key: str, read: Callable[[], Awaitable[tuple[list[Posting], int]]]) -> tuple[list[Posting], int]:
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and kept[0] > now:
            self._kept.move_to_end(key)
            return kept[1]
        listing = await read()
        self._kept[key] = (now + self.seconds, listing)
        self._kept.move_to_end(key)
        while len(self._kept) > self.size:
            self._kept.popitem(last=False)
        return listing


class Listing(msgspec.Struct, kw_only=True):
    postings: list[Posting]
    skipped: int = 0
    last: bool = True  # no listing follows this one


def parse_cursor(source: str, cursor: str | None) -> tuple[int, int]:
    if not cursor:
        return 0, 0
    unit, _, offset = cursor.partition(":")
    if not (unit.isdigit() and offset.isdigit()):
        raise SourceError(source, "unsupported_query", "the cursor is not one this source issued")
    return int(unit), int(offset)


async def scan(source: str, cursor: str | None, size: int, load: Callable[[int], Awaitable[Listing]],
               keep: Callable[[Posting], bool], *, max_listings: int = 5) -> Page:
    """One page of matches, reading listings `load(0)`, `load(1)`, ... from where `cursor` left off."""
    unit, offset = parse_cursor(source, cursor)
    postings: list[Posting] = []
    skipped = 0
    read = 0
    while len(postings) < size and read < max_listings:
        listing = await load(unit)
        read += 1
        if offset == 0:
            skipped += listing.skipped  # counted once, when the listing is first paged
        matched = [p for p in listing.postings if keep(p)]
        taken = matched[offset: offset + size - len(postings)]
        postings.extend(taken)
        offset += len(taken)
        if offset < len(matched):
            return Page(postings=postings, next_cursor=f"{unit}:{offset}", skipped=skipped)
        if listing.last:
            return Page(postings=postings, next_cursor=None, skipped=skipped)
        unit, offset = unit + 1, 0
    return Page(postings=postings, next_cursor=f"{unit}:{offset}", skipped=skipped)


async def scan_boards(source: str, boards: list[str], cursor: str | None, size: int,
                      read: Callable[[str], Awaitable[tuple[list[Posting], int]]],
                      keep: Callable[[Posting], bool], *, unknown: str) -> Page:
    """One page of matches from several company boards, one listing per board.

    `read(board)` returns the board's (postings, skipped). A board the source does not know is
    logged with `unknown` (which says what setting to check) and passed over."""

    async def load(unit: int) -> Listing:
        if unit >= len(boards):
            return Listing(postings=[], last=True)
        last = unit + 1 >= len(boards)
        try:
            postings, skipped = await read(boards[unit])
        except SourceError as exc:
            if exc.code != "not_found":
                raise
            log.warning(unknown, extra={"board": boards[unit]})
            return Listing(postings=[], last=last)
        return Listing(postings=postings, skipped=skipped, last=last)

    return await scan(source, cursor, size, load, keep, max_listings=len(boards) or 1)
