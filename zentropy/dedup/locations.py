"""Location keys: the places a posting names, without states, countries and remote markers.

`location_keys(["New York, NY, United States"]) == ("new york",)`; two postings whose places share
none are in different cities (the same title at the same company in two cities is two jobs).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from zentropy.dedup.text import words

PLACE_ALIASES: dict[str, str] = {
    "nyc": "new york", "new york city": "new york", "manhattan": "new york", "brooklyn": "new york",
    "sf": "san francisco", "san francisco bay": "san francisco", "bay": "san francisco",
    "la": "los angeles", "dc": "washington", "washington dc": "washington", "washington d c": "washington",
    "munchen": "munich", "muenchen": "munich", "koln": "cologne", "koeln": "cologne", "wien": "vienna",
    "zuerich": "zurich", "geneve": "geneva", "milano": "milan", "roma": "rome", "lisboa": "lisbon",
    "praha": "prague", "warszawa": "warsaw", "bengaluru": "bangalore", "frankfurt am main": "frankfurt",
}
# Words that qualify a place without naming it ("Greater London Area").
QUALIFIERS = frozenset({"greater", "area", "metropolitan", "metro", "region", "office", "hq", "county",
                        "downtown", "central", "and", "surrounding", "areas", "uk"})
REMOTE = frozenset({"remote", "anywhere", "worldwide", "global", "hybrid", "home", "wfh", "virtual",
                    "distributed", "onsite", "on", "site", "based", "in", "or", "multiple", "locations"})
REGIONS = frozenset(
    # US states and Canadian provinces (names; two-letter codes are dropped as such)
    "alabama alaska arizona arkansas california colorado connecticut delaware florida georgia hawaii "
    "idaho illinois indiana iowa kansas kentucky louisiana maine maryland massachusetts michigan "
    "minnesota mississippi missouri montana nebraska nevada ohio oklahoma oregon pennsylvania "
    "tennessee texas utah vermont virginia wisconsin wyoming ontario quebec alberta manitoba "
    "saskatchewan yukon nunavut".split()
    + ["new hampshire", "new jersey", "new mexico", "north carolina", "north dakota", "rhode island",
       "south carolina", "south dakota", "west virginia", "british columbia", "nova scotia",
       "new brunswick", "prince edward island", "newfoundland and labrador", "district of columbia"]
    # countries and country-level regions
    + "usa america canada mexico brazil argentina chile colombia peru germany deutschland france "
      "spain espana italy italia portugal netherlands nederland belgium austria switzerland schweiz "
      "ireland england scotland wales poland sweden norway denmark finland iceland estonia latvia "
      "lithuania czechia romania bulgaria greece turkey israel india china japan korea singapore "
      "australia zealand philippines indonesia malaysia vietnam thailand pakistan nigeria kenya "
      "egypt emea apac latam europe asia africa americas eu dach nordics benelux".split()
    + ["united states", "united states of america", "united kingdom", "great britain", "new zealand",
       "south africa", "south korea", "czech republic", "united arab emirates", "saudi arabia",
       "hong kong", "north america", "latin america", "south america"]
)


@lru_cache(maxsize=1 << 16)
def place_key(component: str) -> str:
    tokens = [t for t in words(component) if t not in QUALIFIERS]
    if not tokens or all(t in REMOTE for t in tokens):
        return ""
    tokens = [t for t in tokens if t not in REMOTE] or tokens
    key = " ".join(tokens)
    key = PLACE_ALIASES.get(key, key)
    if len(key) <= 2 or key in REGIONS or key.isdigit():
        return ""
    return key


def location_keys(locations: Iterable[str]) -> tuple[str, ...]:
    keys: list[str] = []
    for location in locations:
        for component in location.replace(";", ",").replace("/", ",").replace(" - ", ",").split(","):
            key = place_key(component)
            if key and key not in keys:
                keys.append(key)
    return tuple(sorted(keys))


def _same_place(a: str, b: str) -> bool:
    wa, wb = set(a.split()), set(b.split())
    return wa <= wb or wb <= wa


def locations_compatible(a: tuple[str, ...], b: tuple[str, ...]) -> bool | None:
    """True: a place in common; False: places named on both sides, none shared; None: unknown."""
    if not a or not b:
        return None
    return any(_same_place(x, y) for x in a for y in b)
