"""What a search asks for, normalized, and its fingerprint.

Two searches that differ only in case, spacing, punctuation around words, word order or repeated
words are the same search: they share a fingerprint, so one answers the other from the cache tier
and, run at once, they share every source call.
"""

from __future__ import annotations

import re
import unicodedata
from hashlib import blake2b
from typing import Annotated

import msgspec

from zentropy.sources.contract import EmploymentType, SearchQuery

FINGERPRINT_VERSION = 1
_TOKEN = re.compile(r"[\w+#.]+")
_EDGE_DOTS = re.compile(r"\.+$")


class SearchIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A search: keywords and/or a location, optional filters, how many results are wanted, and
    whether premium sources may be used (None: the user's setting)."""

    keywords: Annotated[str, msgspec.Meta(max_length=200)] = ""
    location: Annotated[str, msgspec.Meta(max_length=120)] | None = None
    country: Annotated[str, msgspec.Meta(pattern="^[A-Za-z]{2}$")] | None = None
    remote: bool = False
    posted_within_days: Annotated[int, msgspec.Meta(ge=1, le=365)] | None = None
    salary_min: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)] | None = None
    employment_type: EmploymentType | None = None
    want: Annotated[int, msgspec.Meta(ge=1, le=500)] | None = None
    premium: bool | None = None


class NormalizedQuery(msgspec.Struct, frozen=True, kw_only=True):
    keywords: str = ""  # lower-case words, each once, in the order given
    location: str | None = None
    country: str | None = None
    remote: bool = False
    posted_within_days: int | None = None
    salary_min: int | None = None
    employment_type: EmploymentType | None = None

    @property
    def empty(self) -> bool:
        return not self.keywords and not self.location

    def fingerprint(self) -> str:
        """Equal for equal searches: the words as a set, every filter as given."""
        canonical = msgspec.structs.replace(self, keywords=" ".join(sorted(self.keywords.split())))
        payload = msgspec.json.encode([FINGERPRINT_VERSION, canonical], order="sorted")
        return blake2b(payload, digest_size=16).hexdigest()

    def source_query(self, page_size: int) -> SearchQuery:
        return SearchQuery(keywords=self.keywords, location=self.location, country=self.country,
                           remote_only=self.remote, posted_within_days=self.posted_within_days,
                           salary_min=self.salary_min, employment_type=self.employment_type, page_size=page_size)

    def to_dict(self) -> dict:
        return msgspec.to_builtins(self)

    @classmethod
    def from_dict(cls, data: dict) -> NormalizedQuery:
        return msgspec.convert(data, cls)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def keyword_tokens(text: str) -> list[str]:
    """The words of `text`, folded, each once, in order. `c++`, `c#`, `.net` and `node.js` stay
    whole; a trailing full stop and other punctuation are dropped."""
    out: list[str] = []
    for raw in _TOKEN.findall(_fold(text)):
        token = _EDGE_DOTS.sub("", raw)
        if token.strip("+#.") and token not in out:
            out.append(token)
    return out


def normalize_location(text: str | None) -> str | None:
    if text is None:
        return None
    parts = [" ".join(re.sub(r"[^\w\s'-]", " ", part).split()) for part in _fold(text).split(",")]
    joined = ", ".join(part for part in parts if part)
    return joined or None


_MEMO: dict[tuple, tuple[NormalizedQuery, str]] = {}
_MEMO_SIZE = 8192


def normalized_with_fingerprint(search: SearchIn) -> tuple[NormalizedQuery, str]:
    """`normalize(search)` and its fingerprint, remembered for searches asked again (hot queries)."""
    key = (search.keywords, search.location, search.country, search.remote, search.posted_within_days,
           search.salary_min, search.employment_type)
    found = _MEMO.get(key)
    if found is None:
        query = normalize(search)
        found = (query, query.fingerprint())
        if len(_MEMO) >= _MEMO_SIZE:
            _MEMO.clear()
        _MEMO[key] = found
    return found


def normalize(search: SearchIn) -> NormalizedQuery:
    return NormalizedQuery(
        keywords=" ".join(keyword_tokens(search.keywords)), location=normalize_location(search.location),
        country=search.country.lower() if search.country else None, remote=search.remote,
        posted_within_days=search.posted_within_days, salary_min=search.salary_min,
        employment_type=search.employment_type,
    )
