"""Company canonicalization: legal forms, case, punctuation and an alias table.

`company_key("Meta Platforms, Inc.") == company_key("facebook") == "meta"`. Plugins extend the alias
table through the `register_company_aliases` hook: `register("facebook", "meta")`.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from functools import lru_cache

from zentropy.dedup.text import words

log = logging.getLogger(__name__)

# Moved whenever `base_key`'s code changes what it makes of a name: stored company keys then need
# recomputing (`CompanyAliases.digest`, zentropy.catalog.rekey).
KEY_RULES_VERSION = 1

# Legal forms, as word sequences after folding ("S.A." folds to "sa", "Sp. z o.o." to "sp z oo").
LEGAL_FORMS: frozenset[tuple[str, ...]] = frozenset(
    tuple(form.split())
    for form in (
        "inc incorporated corp corporation co company cos llc llp lllp pllc lp ltd limited plc "
        "gmbh mbh ag kg kgaa ohg ug ev se sa sas sasu sarl srl srls spa sl slu lda ltda bv nv cv "
        "pty pte pvt oy oyj ab asa as aps kk gk ulc sro zrt nyrt"
    ).split()
    + ["sp z oo", "s a", "s l", "s de rl", "sa de cv", "and co", "and company", "pvt ltd",
       "private limited", "public limited company", "ag and co kg", "gmbh and co kg", "co kg"]
)
# Words spelled out by some sources and abbreviated by others.
WORD_FORMS = {"laboratories": "labs", "laboratory": "lab", "technologies": "tech", "technology": "tech",
              "international": "intl", "manufacturing": "mfg"}
_DOMAIN = re.compile(r"\.(?:com|net|org|io|ai|co|app|dev)\b", re.IGNORECASE)
_AMPERSAND = re.compile(r"\s*[&+]\s*")
_PARENTHESES = re.compile(r"\([^)]*\)|\[[^\]]*\]")  # "Amazon Web Services (AWS)"

# alias -> canonical; both sides are company keys (legal forms already stripped).
BUILTIN_ALIASES: dict[str, str] = {
    "facebook": "meta",
    "meta platforms": "meta",
    "alphabet": "google",
    "google deepmind": "google",
    "twitter": "x",
    "x corp": "x",
    "amazon web services": "amazon",
    "aws": "amazon",
    "amazon development center": "amazon",
    "international business machines": "ibm",
    "hewlett packard enterprise": "hpe",
    "hewlett packard": "hp",
    "jp morgan": "jpmorgan chase",
    "jpmorgan": "jpmorgan chase",
    "jp morgan chase": "jpmorgan chase",
    "bofa": "bank of america",
    "bank of america merrill lynch": "bank of america",
    "pricewaterhousecoopers": "pwc",
    "ernst and young": "ey",
    "ernst young": "ey",
    "deloitte touche tohmatsu": "deloitte",
    "disney": "walt disney",
    "general electric": "ge",
    "procter and gamble": "p and g",
    "johnson and johnson": "j and j",
    "boston consulting group": "bcg",
    "square": "block",
    "tiktok": "bytedance",
    "microsoft corp": "microsoft",
}

STAFFING_AGENCIES: frozenset[str] = frozenset(
    {
        "robert half", "randstad", "adecco", "manpower", "manpowergroup", "kelly services", "kforce",
        "teksystems", "insight global", "aerotek", "allegis", "hays", "michael page", "page group",
        "cybercoders", "modis", "akkodis", "experis", "spherion", "express employment professionals",
        "apex systems", "beacon hill staffing group", "motion recruitment", "harvey nash", "reed",
        "jobot", "vaco", "robert walters", "lhh", "korn ferry", "gi group", "tempo team",
        "brook street", "nigel frank", "jefferson frank", "hudson", "hirequest", "collabera",
        "judge group", "yoh", "volt", "kavaliro", "mastech digital", "tandym", "addison group",
    }
)
_AGENCY_WORDS = frozenset(
    {"staffing", "recruitment", "recruiting", "recruiters", "personnel", "headhunters", "headhunting",
     "employment", "outsourcing", "placements", "resourcing"}
)


@lru_cache(maxsize=1 << 16)
def base_key(name: str | None) -> str:
    """Case, accents, punctuation and legal forms removed: `"ACME GmbH & Co. KG"` -> `"acme"`."""
    if not name:
        return ""
    name = _AMPERSAND.sub(" and ", _DOMAIN.sub("", _PARENTHESES.sub(" ", name)))
    parts = [WORD_FORMS.get(w, w) for w in words(name)]
    if parts[:1] == ["the"] and len(parts) > 1:
        parts = parts[1:]
    stripped = True
    while stripped and parts:
        stripped = False
        for size in (5, 4, 3, 2, 1):
            if len(parts) > size and tuple(parts[-size:]) in LEGAL_FORMS:
                parts = parts[:-size]
                stripped = True
                break
    return " ".join(parts)


class CompanyAliases:
    """Alias -> canonical company keys; resolution follows chains and stops at cycles."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = BUILTIN_ALIASES.items()) -> None:
        self._map: dict[str, str] = {}
        for alias, canonical in pairs:
            self.add(alias, canonical)

    def add(self, alias: str, canonical: str) -> None:
        alias_key, canonical_key = base_key(alias), base_key(canonical)
        if not alias_key or not canonical_key:
            raise ValueError(f"company alias needs two non-empty names, got {alias!r} -> {canonical!r}")
        if alias_key != canonical_key:
            self._map[alias_key] = canonical_key

    def resolve(self, key: str) -> str:
        seen = {key}
        while key in self._map and self._map[key] not in seen:
            key = self._map[key]
            seen.add(key)
        return key

    def key(self, name: str | None) -> str:
        return self.resolve(base_key(name))

    def __len__(self) -> int:
        return len(self._map)

    def digest(self) -> str:
        """Names what keys this table makes: the same digest, the same key for every name."""
        tables = repr((KEY_RULES_VERSION, sorted(LEGAL_FORMS), sorted(WORD_FORMS.items()), sorted(self._map.items())))
        return hashlib.blake2b(tables.encode(), digest_size=16).hexdigest()

    @classmethod
    def from_plugins(cls, plugins) -> CompanyAliases:  # noqa: ANN001 - zentropy.plugins.Plugins
        """The built-in table extended by every plugin's `register_company_aliases`."""
        aliases = cls()
        for plugin, args, kwargs in plugins.collect("register_company_aliases"):
            try:
                aliases.add(*args, **kwargs)
            except (TypeError, ValueError) as exc:  # one bad entry never stops ingest
                log.warning("company alias ignored", extra={"plugin": plugin, "error": str(exc)})
        return aliases


DEFAULT_ALIASES = CompanyAliases()


def company_key(name: str | None, aliases: CompanyAliases = DEFAULT_ALIASES) -> str:
    return aliases.key(name)


def is_staffing_agency(key: str) -> bool:
    """A recruiter posting for a client: its name says little about the employer."""
    return key in STAFFING_AGENCIES or not _AGENCY_WORDS.isdisjoint(key.split())
