"""Title normalization: abbreviations spelled out, synonyms unified, noise dropped, seniority apart.

`normalize_title("Sr. React Dev (m/w/d) - Remote")` -> key `"react engineer"`, seniority `"senior"`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import msgspec

from zentropy.dedup.text import words

_SYMBOLS = (
    (re.compile(r"c\+\+", re.IGNORECASE), " cpp "),
    (re.compile(r"c#", re.IGNORECASE), " csharp "),
    (re.compile(r"f#", re.IGNORECASE), " fsharp "),
    (re.compile(r"(?<![\w.])\.net\b", re.IGNORECASE), " dotnet "),
)
_SEGMENTS = re.compile(r"\s+[-–—|:/]\s+|[()\[\]{},;]")

ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "sr": ("senior",), "snr": ("senior",), "sen": ("senior",),
    "jr": ("junior",), "jnr": ("junior",),
    "eng": ("engineer",), "engr": ("engineer",), "engg": ("engineer",), "engineering": ("engineering",),
    "dev": ("engineer",), "devs": ("engineer",), "developer": ("engineer",), "programmer": ("engineer",),
    "swe": ("software", "engineer"), "sde": ("software", "engineer"),
    "sre": ("site", "reliability", "engineer"),
    "mgr": ("manager",), "mngr": ("manager",), "mgmt": ("management",),
    "qa": ("quality", "assurance"), "ml": ("machine", "learning"),
    "vp": ("vice", "president"), "svp": ("senior", "vice", "president"),
    "evp": ("executive", "vice", "president"),
    "dir": ("director",), "assoc": ("associate",), "asst": ("assistant",), "admin": ("administrator",),
    "ops": ("operations",), "exec": ("executive",), "coord": ("coordinator",),
    "rep": ("representative",), "spec": ("specialist",), "sys": ("systems",), "sw": ("software",),
    "hw": ("hardware",), "fe": ("frontend",), "js": ("javascript",), "principle": ("principal",),
}
PHRASES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("front", "end"): ("frontend",), ("back", "end"): ("backend",), ("full", "stack"): ("fullstack",),
    ("dev", "ops"): ("devops",), ("e", "commerce"): ("ecommerce",), ("data", "base"): ("database",),
    ("entry", "level"): ("junior",), ("mid", "level"): ("mid",), ("full", "time"): (), ("part", "time"): (),
    ("all", "genders"): (), ("work", "from", "home"): (), ("on", "site"): (),
}
SENIORITY: dict[str, str] = {
    "intern": "intern", "internship": "intern", "trainee": "intern", "apprentice": "intern",
    "junior": "junior", "graduate": "junior", "grad": "junior",
    "mid": "mid", "intermediate": "mid",
    "senior": "senior", "staff": "staff", "principal": "principal", "lead": "lead",
}
LEVELS: dict[str, str] = {
    "i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "1": "1", "2": "2", "3": "3", "4": "4", "5": "5",
    "l1": "1", "l2": "2", "l3": "3", "l4": "4", "l5": "5", "l6": "6", "l7": "7",
}
NOISE = frozenset(
    {"remote", "hybrid", "onsite", "wfh", "telecommute", "fulltime", "parttime", "mwd", "mfd", "fmd",
     "wmd", "gn", "fmx", "hf"}
)
# Employment terms are title words in "Contract Manager", noise in "Engineer (Contract)".
TRAILING_NOISE = frozenset({"contract", "temporary", "temp", "permanent", "freelance", "job", "position",
                            "opening", "vacancy", "new", "urgent", "hiring", "immediate", "start"})
_GENDER_LETTERS = frozenset("mwdfxhni")


class NormalizedTitle(msgspec.Struct, frozen=True, gc=False):
    key: str  # title words in order, seniority removed
    seniority: str | None  # "senior", "junior", "lead", "level 2", "senior level 2", ...

    @property
    def sorted_key(self) -> str:
        return " ".join(sorted(set(self.key.split())))


def _expand(tokens: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(tokens):
        for size in (3, 2):
            phrase = tuple(tokens[i:i + size])
            if len(phrase) == size and phrase in PHRASES:
                out.extend(PHRASES[phrase])
                i += size
                break
        else:
            out.extend(ABBREVIATIONS.get(tokens[i], (tokens[i],)))
            i += 1
    return out


def _drop_gender_markers(tokens: list[str]) -> list[str]:
    """Runs of two or more single gender letters: (m/w/d), (f/m/x), (h/f)."""
    out: list[str] = []
    i = 0
    while i < len(tokens):
        j = i
        while j < len(tokens) and len(tokens[j]) == 1 and tokens[j] in _GENDER_LETTERS:
            j += 1
        if j - i >= 2:
            i = j
            continue
        out.append(tokens[i])
        i += 1
    return out


@lru_cache(maxsize=1 << 16)
def normalize_title(title: str | None, location_words: frozenset[str] = frozenset()) -> NormalizedTitle:
    """`location_words` (the posting's own location) are dropped from trailing title segments."""
    text = title or ""
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    tokens: list[str] = []
    for index, segment in enumerate(_SEGMENTS.split(text)):
        part = _expand(_drop_gender_markers(words(segment)))
        if index:
            part = [t for t in part if t not in TRAILING_NOISE and t not in location_words]
        tokens.extend(t for t in part if t not in NOISE)
    seniority: list[str] = []
    level = None
    kept: list[str] = []
    for token in tokens:
        if token in SENIORITY:
            if SENIORITY[token] not in seniority:
                seniority.append(SENIORITY[token])
        elif token in LEVELS and kept:
            level = LEVELS[token]
        else:
            kept.append(token)
    if not kept:  # a title of seniority words only ("Senior") keeps them as its key
        kept = seniority
        seniority = []
    kept = _expand(kept)  # words the seniority stood between: "Full Senior Stack"
    if level:
        seniority.append(f"level {level}")
    return NormalizedTitle(" ".join(kept), " ".join(seniority) or None)
