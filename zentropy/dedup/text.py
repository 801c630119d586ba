"""Text folding shared by the normalizers: lower case, no accents, words."""

from __future__ import annotations

import re
import unicodedata

_WORD = re.compile(r"[^\W_]+")
_JOINERS = re.compile(r"(?<=\w)['’.](?=\w)")  # O'Brien, L'Oréal, A.B.C. stay one word
_LIGATURES = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "þ": "th"})


def fold(text: str) -> str:
    """Case-folded, accents removed, ligatures spelled out, in-word apostrophes and dots dropped."""
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
        text = "".join(c for c in text if not unicodedata.combining(c))
    return _JOINERS.sub("", text)


def words(text: str) -> list[str]:
    """The words of `text` after `fold`: runs of letters and digits (any script)."""
    return _WORD.findall(fold(text))
