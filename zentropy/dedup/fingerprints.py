"""Description fingerprints, computed for a whole batch at once with numpy.

The folded description's word 3-shingles give, all kept as metadata so dedup still works once the
text itself has expired:

- a 48-value MinHash signature (192 bytes): the share of equal values estimates the Jaccard
  similarity of two descriptions, the description term of the duplicate score;
- 8 bands of 4 of its values, hashed to LSH band keys for candidate blocking: two descriptions
  share a band key with probability `1 - (1 - J**4)**8` for Jaccard similarity J: 0.89 at
  J = 0.7, 0.985 at 0.8, 0.9995 at 0.9, but 0.0008 at 0.1, so a new posting meets its near
  duplicates and hardly anything else, however large the catalog grows (12 bands would add a
  third more index rows for 0.96 at J = 0.7; on the labeled pairs 6, 8 and 12 bands find the
  same duplicates);
- winnowing keys (Schleimer, Wilkerson and Aiken's winnowing, as in MOSS): the smallest shingle
  hash of every window of `WINNOW` consecutive shingles, about one per 25 shingles. Two texts
  sharing a passage of `WINNOW + 2` words or more share a key, whatever else differs: that finds a
  staffing agency's repost, which keeps the duties and drops the employer's About and benefits,
  so its Jaccard similarity is too low for the bands.

Tokenizing and hashing run on the batch's bytes (a polynomial hash from prefix sums), so no Python
code runs per word. Every constant derives from fixed labels with BLAKE2b: fingerprints are the
same in every process and on every machine; `FINGERPRINT_VERSION` changes whenever the algorithm
does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from hashlib import blake2b

import numpy as np

FINGERPRINT_VERSION = 1
SHINGLE = 3
BANDS, ROWS = 8, 4
WINNOW = 50
PERMUTATIONS = 48
SIGNATURE_BYTES = PERMUTATIONS * 4
_DOCS_PER_CHUNK = 1024  # bounds the working arrays to a few tens of MB
_SHINGLES_PER_STEP = 8192  # keeps the MinHash block (48 x 8192 x 8 bytes) in cache
_TAG = re.compile(r"<[^>]+>")
_UNICODE_NON_WORD = re.compile(r"[^\x00-\x7f\w\s]+")  # bullets, dashes, curly quotes, symbols
_U = np.uint64


def stable_hash(text: str) -> int:
    """A signed 64-bit hash of `text` (PostgreSQL `bigint`), the same in every process."""
    return int.from_bytes(blake2b(text.encode(), digest_size=8).digest(), "little", signed=True)


def _constants(label: str, count: int) -> np.ndarray:
    return np.array(
        [int.from_bytes(blake2b(f"{label}:{i}".encode(), digest_size=8).digest(), "little") | 1
         for i in range(count)], dtype=np.uint64,
    )


_SHINGLE_MULT = _constants("zentropy-shingle", SHINGLE)
_PERM_A = _constants("zentropy-minhash-a", PERMUTATIONS)
_PERM_B = _constants("zentropy-minhash-b", PERMUTATIONS)
_BAND_MULT = _constants("zentropy-band", ROWS)
_BAND_SALT = _constants("zentropy-band-salt", BANDS)
_BASE = _U(0x100000001B3)
_INVERSE = _U(pow(int(_BASE), -1, 1 << 64))
_WORD_BYTE = np.zeros(256, dtype=bool)  # ASCII letters and digits; every byte of a non-ASCII letter
_WORD_BYTE[list(b"abcdefghijklmnopqrstuvwxyz0123456789")] = True
_WORD_BYTE[0x80:] = True


class _Powers:
    """BASE**i and BASE**-i (mod 2**64) for i < n, grown on demand."""

    def __init__(self) -> None:
        self.up = np.ones(1, dtype=np.uint64)
        self.down = np.ones(1, dtype=np.uint64)

    def get(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self.up) < n:
            size = max(n, 2 * len(self.up))
            with np.errstate(over="ignore"):
                up = np.full(size, _BASE, dtype=np.uint64)
                up[0] = 1
                down = np.full(size, _INVERSE, dtype=np.uint64)
                down[0] = 1
                self.up, self.down = np.cumprod(up), np.cumprod(down)
        return self.up[:n], self.down[:n]


_POWERS = _Powers()


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer, in place on a uint64 array."""
    x ^= x >> _U(30)
    x *= _U(0xBF58476D1CE4E5B9)
    x ^= x >> _U(27)
    x *= _U(0x94D049BB133111EB)
    x ^= x >> _U(31)
    return x


def description_text(text: str | None, html_text: str | None = None) -> str:
    """The text to fingerprint: the plain description, else the HTML one without its tags."""
    if text:
        return text
    if html_text:
        return html.unescape(_TAG.sub(" ", html_text))
    return ""


def _prepare(text: str) -> str:
    text = text.casefold()
    if not text.isascii():  # non-ASCII bytes count as letters below: blank out the other symbols
        text = _UNICODE_NON_WORD.sub(" ", text)
    return text.replace("\x00", " ")


def _word_hashes(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of every word of every text, in order, and the text each word belongs to."""
    joined = "\x00".join(_prepare(t) for t in texts).encode()
    data = np.frombuffer(joined, dtype=np.uint8)
    edges = np.diff(_WORD_BYTE[data].view(np.int8), prepend=np.int8(0), append=np.int8(0))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    up, down = _POWERS.get(len(data))
    with np.errstate(over="ignore"):
        prefix = np.zeros(len(data) + 1, dtype=np.uint64)
        np.cumsum(data.astype(np.uint64) * up, out=prefix[1:])
        hashes = _mix((prefix[ends] - prefix[starts]) * down[starts])
    separators = np.flatnonzero(data == 0)
    return hashes, np.searchsorted(separators, starts)


def _shingles(texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """All texts' shingle hashes (grouped by text, in text order) and each text's shingle count.
    A text shorter than a shingle contributes its words."""
    hashes, owner = _word_hashes(texts)
    n = len(hashes)
    words_per_text = np.bincount(owner, minlength=len(texts))
    with np.errstate(over="ignore"):
        if n >= SHINGLE:
            window = hashes[: n - SHINGLE + 1] * _SHINGLE_MULT[0]
            for k in range(1, SHINGLE):
                window += hashes[k: n - SHINGLE + 1 + k] * _SHINGLE_MULT[k]
            valid = owner[: n - SHINGLE + 1] == owner[SHINGLE - 1:]
            shingles, shingle_owner = _mix(window[valid]), owner[: n - SHINGLE + 1][valid]
        else:
            shingles, shingle_owner = np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    short = (words_per_text > 0) & (words_per_text < SHINGLE)
    if short.any():
        from_short = short[owner]
        shingles = np.concatenate([shingles, hashes[from_short]])
        shingle_owner = np.concatenate([shingle_owner, owner[from_short]])
        order = np.argsort(shingle_owner, kind="stable")
        shingles, shingle_owner = shingles[order], shingle_owner[order]
    return shingles, np.bincount(shingle_owner, minlength=len(texts))


def _minhash(shingles: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(texts, PERMUTATIONS) uint32 signatures; texts without shingles get all-ones rows."""
    out = np.full((len(counts), PERMUTATIONS), 0xFFFFFFFF, dtype=np.uint32)
    present = np.flatnonzero(counts)
    if not len(present):
        return out
    ends = np.cumsum(counts)[present]
    starts = ends - counts[present]
    lo = 0
    with np.errstate(over="ignore"):
        while lo < len(present):
            hi = max(lo + 1, int(np.searchsorted(ends, starts[lo] + _SHINGLES_PER_STEP, side="right")))
            values = np.multiply.outer(_PERM_A, shingles[starts[lo]: ends[hi - 1]])
            values += _PERM_B[:, None]
            values >>= _U(32)
            out[present[lo:hi]] = np.minimum.reduceat(values, starts[lo:hi] - starts[lo], axis=1).T
            lo = hi
    return out


def _bands(signatures: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(texts, BANDS) int64 LSH keys; 0 for texts without shingles."""
    with np.errstate(over="ignore"):
        rows = signatures[:, : BANDS * ROWS].astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
        combined = (rows * _BAND_MULT).sum(axis=2, dtype=np.uint64) ^ _BAND_SALT
        keys = _mix(combined).view(np.int64)
    keys[counts == 0] = 0
    return keys


def _window_minima(values: np.ndarray, w: int) -> np.ndarray:
    """min(values[i:i + w]) for every i (van Herk / Gil-Werman: linear, whatever `w`)."""
    n = len(values)
    blocks = -(-n // w)
    padded = np.full(blocks * w, np.iinfo(np.uint64).max, dtype=np.uint64)
    padded[:n] = values
    grid = padded.reshape(blocks, w)
    prefix = np.minimum.accumulate(grid, axis=1).ravel()
    suffix = np.minimum.accumulate(grid[:, ::-1], axis=1)[:, ::-1].ravel()
    starts = np.arange(n - w + 1)
    return np.minimum(suffix[starts], prefix[starts + w - 1])


def _winnow(shingles: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct minima of each text's windows of `WINNOW` shingles (a text shorter than a
    window: its minimum), and the text each belongs to; grouped by text."""
    owners = np.repeat(np.arange(len(counts)), counts)
    minima, owner_of = [], []
    if len(shingles) >= WINNOW:
        windows = _window_minima(shingles, WINNOW)
        whole = owners[: len(windows)] == owners[WINNOW - 1:]
        minima.append(windows[whole])
        owner_of.append(owners[: len(windows)][whole])
    short = np.flatnonzero((counts > 0) & (counts < WINNOW))
    if len(short):
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        minima.append(np.minimum.reduceat(shingles, starts[short]))
        owner_of.append(short)
    if not minima:
        return np.empty(0, np.uint64), np.empty(0, np.int64)
    values, owned = np.concatenate(minima), np.concatenate(owner_of)
    order = np.lexsort((values, owned))
    values, owned = values[order], owned[order]
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = (values[1:] != values[:-1]) | (owned[1:] != owned[:-1])
    return values[keep], owned[keep]


def _salted(values: np.ndarray, salt: int) -> np.ndarray:
    """Winnowing values as keys of one namespace (int64), distinct from every other namespace's."""
    with np.errstate(over="ignore"):
        return _mix(values ^ np.uint64(salt)).view(np.int64)


def _split(values: np.ndarray, owned: np.ndarray, n: int) -> list[list[int]]:
    bounds = np.searchsorted(owned, np.arange(n + 1))
    flat = values.tolist()
    return [flat[bounds[i]: bounds[i + 1]] for i in range(n)]


EMPLOYER, AGENCY = 0x5A17E3D1C2B4A697, 0x3C6EF372FE94F82B  # winnowing key namespaces


class Fingerprints:
    """A batch's fingerprints, row i for text i: `signatures` (uint32, PERMUTATIONS), `bands`
    (int64, BANDS), winnowing keys in the employer and in the agency namespace (lists of int64),
    and `shingles` (the count; 0 means no description, hence no fingerprint)."""

    def __init__(self, signatures: np.ndarray, bands: np.ndarray, shingles: np.ndarray,
                 employer_winnows: list[list[int]] | None = None,
                 agency_winnows: list[list[int]] | None = None) -> None:
        self.signatures, self.bands, self.shingles = signatures, bands, shingles
        self.employer_winnows = employer_winnows if employer_winnows is not None else [[] for _ in shingles]
        self.agency_winnows = agency_winnows if agency_winnows is not None else [[] for _ in shingles]

    def signature_bytes(self, i: int) -> bytes | None:
        return self.signatures[i].astype("<u4").tobytes() if self.shingles[i] else None


def fingerprint(texts: Sequence[str]) -> Fingerprints:
    signatures, bands, counts, employer, agency = [], [], [], [], []
    for lo in range(0, len(texts), _DOCS_PER_CHUNK):
        chunk = texts[lo: lo + _DOCS_PER_CHUNK]
        shingles, count = _shingles(chunk)
        signature = _minhash(shingles, count)
        signatures.append(signature)
        bands.append(_bands(signature, count))
        counts.append(count)
        values, owned = _winnow(shingles, count)
        employer += _split(_salted(values, EMPLOYER), owned, len(chunk))
        agency += _split(_salted(values, AGENCY), owned, len(chunk))
    if not texts:
        return Fingerprints(np.empty((0, PERMUTATIONS), np.uint32), np.empty((0, BANDS), np.int64),
                            np.empty(0, np.int64))
    return Fingerprints(np.concatenate(signatures), np.concatenate(bands), np.concatenate(counts), employer, agency)


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingles behind two signatures."""
    return float(np.count_nonzero(np.frombuffer(a, "<u4") == np.frombuffer(b, "<u4"))) / PERMUTATIONS
