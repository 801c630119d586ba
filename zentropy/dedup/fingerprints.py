"""Description fingerprints, computed for a whole batch at once.

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

The batch's folded texts are joined into one byte string, and loops compiled with numba (once,
then cached in `__pycache__`) tokenize it, hash each word's bytes (a polynomial hash) and work out
the shingles, signatures, band keys and winnowing keys, one call per `_DOCS_PER_CHUNK` texts.
Every constant derives from fixed labels with BLAKE2b: fingerprints are the same in every process
and on every machine; `FINGERPRINT_VERSION` changes whenever the algorithm does.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from hashlib import blake2b

import numba
import numpy as np

FINGERPRINT_VERSION = 1
SHINGLE = 3
BANDS, ROWS = 8, 4
WINNOW = 50
PERMUTATIONS = 48
SIGNATURE_BYTES = PERMUTATIONS * 4
_DOCS_PER_CHUNK = 1024  # bounds the working arrays (about 10 MB for 1.7 KB descriptions)
_TAG = re.compile(r"<[^>]+>")
_UNICODE_NON_WORD = re.compile(r"[^\x00-\x7f\w\s]+")  # bullets, dashes, curly quotes, symbols
_kernel = numba.njit(cache=True, nogil=True)


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
_BASE = np.uint64(0x100000001B3)
_ALL_ONES = np.uint64(0xFFFFFFFF)  # the signature value of a text without shingles
_WORD_BYTE = np.zeros(256, dtype=bool)  # ASCII letters and digits; every byte of a non-ASCII letter
_WORD_BYTE[list(b"abcdefghijklmnopqrstuvwxyz0123456789")] = True
_WORD_BYTE[0x80:] = True


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


@_kernel
def _mix(x):
    """splitmix64's finalizer, on a uint64."""
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


@_kernel
def _word_hashes(data, n_texts):
    """Hashes of every word of the NUL-separated texts in `data`, in order, and each text's word
    count. A word is a run of `_WORD_BYTE` bytes; its hash mixes the sum of byte i times BASE**i."""
    hashes = np.empty(len(data) // 2 + 1, dtype=np.uint64)
    words_per_text = np.zeros(n_texts, dtype=np.int64)
    n = text = length = 0
    total, power = np.uint64(0), np.uint64(1)
    for i in range(len(data) + 1):
        byte = data[i] if i < len(data) else np.uint8(0)  # a last separator ends the last word
        if _WORD_BYTE[byte]:
            total += np.uint64(byte) * power
            power *= _BASE
            length += 1
            continue
        if length:
            hashes[n] = _mix(total)
            n += 1
            words_per_text[text] += 1
            total, power, length = np.uint64(0), np.uint64(1), 0
        if byte == 0:
            text += 1
    return hashes[:n], words_per_text


@_kernel
def _shingle_hashes(words, words_per_text):
    """All texts' shingle hashes, grouped by text, and each text's shingle count. A text shorter
    than a shingle contributes its words."""
    shingles = np.empty(len(words), dtype=np.uint64)
    counts = np.zeros(len(words_per_text), dtype=np.int64)
    lo = n = 0
    for text in range(len(words_per_text)):
        hi = lo + words_per_text[text]
        first = n
        if hi - lo < SHINGLE:
            for i in range(lo, hi):
                shingles[n] = words[i]
                n += 1
        else:
            for i in range(lo, hi - SHINGLE + 1):
                total = np.uint64(0)
                for k in range(SHINGLE):
                    total += words[i + k] * _SHINGLE_MULT[k]
                shingles[n] = _mix(total)
                n += 1
        counts[text] = n - first
        lo = hi
    return shingles[:n], counts


@_kernel
def _signatures(shingles, counts):
    """(texts, PERMUTATIONS) uint32 MinHash signatures; texts without shingles get all-ones rows."""
    out = np.empty((len(counts), PERMUTATIONS), dtype=np.uint32)
    smallest = np.empty(PERMUTATIONS, dtype=np.uint64)
    lo = 0
    for text in range(len(counts)):
        hi = lo + counts[text]
        smallest[:] = _ALL_ONES
        for i in range(lo, hi):  # permutations innermost: a loop the compiler vectorizes
            for p in range(PERMUTATIONS):
                smallest[p] = min(smallest[p], (_PERM_A[p] * shingles[i] + _PERM_B[p]) >> np.uint64(32))
        out[text] = smallest
        lo = hi
    return out


@_kernel
def _band_keys(signatures, counts):
    """(texts, BANDS) int64 LSH keys; 0 for texts without shingles."""
    keys = np.zeros((len(counts), BANDS), dtype=np.uint64)
    for text in range(len(counts)):
        if counts[text]:
            for band in range(BANDS):
                total = np.uint64(0)
                for row in range(ROWS):
                    total += np.uint64(signatures[text, band * ROWS + row]) * _BAND_MULT[row]
                keys[text, band] = _mix(total ^ _BAND_SALT[band])
    return keys.view(np.int64)


@_kernel
def _sorted_distinct(values):
    """Sorts `values` in place and moves its distinct values to the front; returns how many."""
    values.sort()
    n = 0
    for value in values:
        if n == 0 or values[n - 1] != value:
            values[n] = value
            n += 1
    return n


@_kernel
def _winnowing_values(shingles, counts):
    """Each text's distinct minima of its windows of `WINNOW` shingles (a text shorter than a window:
    its minimum), ascending, grouped by text; and the bounds of each text's run (texts + 1)."""
    values = np.empty(len(shingles), dtype=np.uint64)
    bounds = np.zeros(len(counts) + 1, dtype=np.int64)
    lo = n = 0
    for text in range(len(counts)):
        hi = lo + counts[text]
        width = min(WINNOW, hi - lo)
        first = n
        smallest = lo  # where the current window's minimum is
        for i in range(lo, hi):
            if smallest <= i - width:  # it left the window: rescan (random hashes: ~2 comparisons per shingle)
                smallest = i - width + 1
                for j in range(i - width + 2, i + 1):
                    if shingles[j] <= shingles[smallest]:
                        smallest = j
            elif shingles[i] <= shingles[smallest]:
                smallest = i
            if i >= lo + width - 1 and (n == first or values[n - 1] != shingles[smallest]):
                values[n] = shingles[smallest]
                n += 1
        n = first + _sorted_distinct(values[first:n])
        bounds[text + 1] = n
        lo = hi
    return values[:n], bounds


@_kernel
def _salted(values, salt):
    """Winnowing values as keys of one namespace (int64), distinct from every other namespace's."""
    keys = np.empty(len(values), dtype=np.uint64)
    for i in range(len(values)):
        keys[i] = _mix(values[i] ^ salt)
    return keys.view(np.int64)


@_kernel
def _fingerprint_bytes(data, n_texts, employer, agency):
    words, words_per_text = _word_hashes(data, n_texts)
    shingles, counts = _shingle_hashes(words, words_per_text)
    signatures = _signatures(shingles, counts)
    values, bounds = _winnowing_values(shingles, counts)
    return (signatures, _band_keys(signatures, counts), counts,
            _salted(values, employer), _salted(values, agency), bounds)


def _split(keys: np.ndarray, bounds: np.ndarray) -> list[list[int]]:
    flat, bounds = keys.tolist(), bounds.tolist()
    return [flat[bounds[i]: bounds[i + 1]] for i in range(len(bounds) - 1)]


EMPLOYER, AGENCY = 0x5A17E3D1C2B4A697, 0x3C6EF372FE94F82B  # winnowing key namespaces
_EMPLOYER_SALT, _AGENCY_SALT = np.uint64(EMPLOYER), np.uint64(AGENCY)


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
    if not texts:
        return Fingerprints(np.empty((0, PERMUTATIONS), np.uint32), np.empty((0, BANDS), np.int64),
                            np.empty(0, np.int64))
    signatures, bands, counts, employer, agency = [], [], [], [], []
    for lo in range(0, len(texts), _DOCS_PER_CHUNK):
        chunk = texts[lo: lo + _DOCS_PER_CHUNK]
        data = np.frombuffer("\x00".join(_prepare(t) for t in chunk).encode(), dtype=np.uint8)
        signature, band, count, employer_keys, agency_keys, bounds = _fingerprint_bytes(
            data, len(chunk), _EMPLOYER_SALT, _AGENCY_SALT)
        signatures.append(signature)
        bands.append(band)
        counts.append(count)
        employer += _split(employer_keys, bounds)
        agency += _split(agency_keys, bounds)
    return Fingerprints(np.concatenate(signatures), np.concatenate(bands), np.concatenate(counts), employer, agency)


def jaccard(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of the shingles behind two signatures."""
    return float(np.count_nonzero(np.frombuffer(a, "<u4") == np.frombuffer(b, "<u4"))) / PERMUTATIONS
