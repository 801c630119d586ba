from __future__ import annotations

import random
import re
import subprocess
import sys
from hashlib import blake2b

from hypothesis import given, settings
from hypothesis import strategies as st

from zentropy.dedup.fingerprints import (
    BANDS, FINGERPRINT_VERSION, SIGNATURE_BYTES, description_text, fingerprint, jaccard,
)

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


LONG = TEXT + (" We offer a yearly learning budget, four weeks of paid leave, a hybrid office in Leeds and parental "
               "leave for every parent. Our interview has three steps: a call with the hiring manager, a take-home "
               "exercise that takes two hours at most, and a conversation with the team you would join.")
NON_ASCII = "Wir suchen: Entwickler:in (m/w/d) für unsere Büros in München & Zürich — Straße, 東京 • naïve café ‘résumé’"
PINNED = {  # text: shingles, blake2b-128 of the signature bytes, band keys, employer and agency winnowing keys
    "Senior Engineer": (
        2, "71052b3c9b3f4376eccb38d4cf635383",
        [-6284542324244538461, 8081424208195874960, 3328953605652066598, -8784357516898584748,
         6595543429385243520, 4259494504666511257, -4294692097088597158, -2826419876786393537],
        [-7349098714254678538], [-826910461808541859]),
    LONG: (
        101, "08b1cc8dcd9f42416a3d6a3f83ef919b",
        [-6976886064035519731, -6267565666707768796, 7179478122465660953, -5567446143867072618,
         -3061080005726622898, -7391194015589173107, -8288389709626989933, -2849755569904563618],
        [-8978184024225962168, -3590388748985713390, 714679599827617855],
        [656982369593904676, 1077918758288897443, 4755816401876292048]),
    "": (0, None, [0] * BANDS, [], []),
    NON_ASCII: (
        16, "f953978efbdf4aca381a0ca5b01c2969",
        [-5768764711238325900, 1296135171088216239, 4912687708806248942, -7093016686980352432,
         -6131960934316009872, -542322762822207310, 1912558538735077006, 8015881084295074525],
        [261508708531042238], [-1542448588826883113]),
    TEXT: (
        49, "6bf3b2f040d2490317b649773c3a16c5",
        [-3353434859248565032, 4649102040137953192, -4469941283381008687, 8685695330789690015,
         -4439351695513576399, -1397313687275842036, 2085977753440881486, 7749911507758936669],
        [-8978184024225962168], [656982369593904676]),
}


def test_stored_fingerprints_do_not_change():
    """Fingerprints are stored with the catalog: while FINGERPRINT_VERSION stays 1, a text must get
    the same signature, band keys and winnowing keys as when it was stored. The pinned values are
    what the first (numpy) implementation computed for each text on its own; the batch puts the
    2-word text before a long one, where that implementation's winnowing key for a text of fewer
    than WINNOW shingles also took in the next texts' shingles (fixed: a text's keys are its own)."""
    assert FINGERPRINT_VERSION == 1
    prints = fingerprint(list(PINNED))
    for i, (count, digest, bands, employer, agency) in enumerate(PINNED.values()):
        signature = prints.signature_bytes(i)
        assert prints.shingles[i] == count
        assert (signature and blake2b(signature, digest_size=16).hexdigest()) == digest
        assert prints.bands[i].tolist() == bands
        assert prints.employer_winnows[i] == employer and prints.agency_winnows[i] == agency


VOCABULARY = ["alpha", "beta", "Gamma", "naïve", "東京", "x1", "•", "—", ",", "\x00", "\n"]
TEXTS = st.one_of(  # empty, a few words, symbols only, and more shingles than a winnowing window
    st.text(max_size=80),
    st.tuples(st.randoms(use_true_random=False), st.integers(0, 160)).map(
        lambda drawn: " ".join(drawn[0].choice(VOCABULARY) for _ in range(drawn[1]))),
)


@settings(max_examples=100)
@given(st.lists(TEXTS, max_size=8))
def test_a_text_is_fingerprinted_the_same_in_any_batch(texts):
    together = fingerprint(texts)
    for i, text in enumerate(texts):
        alone = fingerprint([text])
        assert together.shingles[i] == alone.shingles[0]
        assert (together.signatures[i] == alone.signatures[0]).all()
        assert (together.bands[i] == alone.bands[0]).all()
        assert together.employer_winnows[i] == alone.employer_winnows[0]
        assert together.agency_winnows[i] == alone.agency_winnows[0]
