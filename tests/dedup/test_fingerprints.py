from __future__ import annotations

import random
import re
import subprocess
import sys

from hypothesis import given, settings
from hypothesis import strategies as st

from zentropy.dedup.fingerprints import BANDS, SIGNATURE_BYTES, description_text, fingerprint, jaccard

TEXT = ("We build warehouse robots that move millions of parcels every day. You will design, build and operate the "
        "services that plan routes for thousands of robots, write Go and Python, review code and take part in the "
        "on-call rotation. You have three or more years of experience with distributed systems.")


def signature(text: str) -> bytes | None:
    return fingerprint([text]).signature_bytes(0)


def test_no_description_no_fingerprint():
    prints = fingerprint(["", "   ", "…"])
    assert list(prints.shingles) == [0, 0, 0]
    assert prints.signature_bytes(0) is None
    assert (prints.bands == 0).all()


def test_a_fingerprint_is_192_bytes_band_keys_and_winnowing_keys():
    prints = fingerprint([TEXT])
    assert len(prints.signature_bytes(0)) == SIGNATURE_BYTES
    assert prints.bands.shape == (1, BANDS) and (prints.bands != 0).all()
    assert 1 <= len(prints.employer_winnows[0]) == len(prints.agency_winnows[0]) <= 3  # a 50-word text
    assert not set(prints.employer_winnows[0]) & set(prints.agency_winnows[0])


def test_fingerprints_are_the_same_in_another_process():
    """They are stored: a new process (another hash seed) must compute the same bytes."""
    code = ("from zentropy.dedup.fingerprints import fingerprint; import sys; "
            f"sys.stdout.write(fingerprint([{TEXT!r}]).signature_bytes(0).hex())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"PYTHONHASHSEED": "12345"})
    assert out.stdout == signature(TEXT).hex()


def test_formatting_does_not_change_the_fingerprint():
    variants = [TEXT.upper(), TEXT.replace(". ", ".\n\n• "), TEXT.replace(" ", "   "), "— " + TEXT.replace(",", " ;")]
    for variant in variants:
        assert signature(variant) == signature(TEXT)


def test_html_is_used_when_there_is_no_text():
    html = "<p>" + TEXT.replace(". ", ".</p><p>") + "</p>"
    assert signature(description_text("", html)) == signature(TEXT)


def exact_jaccard(a: str, b: str) -> float:
    def shingles(text: str) -> set:
        words = re.findall(r"[a-z0-9]+", text.lower())
        return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_the_estimate_follows_the_exact_jaccard_similarity():
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(3000)]
    errors = []
    for _ in range(200):
        base = [rng.choice(vocabulary) for _ in range(250)]
        edited = list(base)
        for _ in range(rng.randrange(0, 120)):
            edited[rng.randrange(len(edited))] = rng.choice(vocabulary)
        a, b = " ".join(base), " ".join(edited)
        prints = fingerprint([a, b])
        errors.append(abs(jaccard(prints.signature_bytes(0), prints.signature_bytes(1)) - exact_jaccard(a, b)))
    assert sum(errors) / len(errors) < 0.06  # 48 permutations: standard error ~0.07 at J = 0.5
    assert max(errors) < 0.25


WORDS = st.lists(st.sampled_from("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()),
                 min_size=3, max_size=60)


@settings(max_examples=50)
@given(WORDS, WORDS)
def test_identical_descriptions_share_every_band_and_batches_do_not_matter(a, b):
    text_a, text_b = " ".join(a), " ".join(b)
    together = fingerprint([text_a, text_b, text_a])
    assert (together.bands[0] == together.bands[2]).all()
    alone = fingerprint([text_b])
    assert together.signature_bytes(1) == alone.signature_bytes(0)
    assert jaccard(together.signature_bytes(0), together.signature_bytes(2)) == 1.0
