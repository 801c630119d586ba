"""Query normalization: the same search however it is typed has one fingerprint; a different one
has another."""

from __future__ import annotations

import string

from hypothesis import given, settings, strategies as st

from zentropy.search.query import SearchIn, keyword_tokens, normalize, normalize_location

WORD = st.text(alphabet=string.ascii_letters + string.digits + "éüß+#", min_size=1, max_size=10).filter(
    lambda w: w.strip("+#"))
WORDS = st.lists(WORD, min_size=1, max_size=6)
SPACE = st.sampled_from([" ", "  ", "\t", "\n", " , ", "; ", " / "])


def fingerprint(**fields) -> str:
    return normalize(SearchIn(**fields)).fingerprint()


@settings(max_examples=200)
@given(WORDS, st.randoms(use_true_random=False), st.lists(SPACE, min_size=12, max_size=12), st.booleans())
def test_case_spacing_order_repeats_and_punctuation_do_not_change_the_fingerprint(words, rng, spaces, repeat):
    original = " ".join(words)
    variant = list(words) + ([rng.choice(words)] if repeat else [])
    rng.shuffle(variant)
    variant = [w.upper() if rng.random() < 0.5 else w.swapcase() for w in variant]
    typed = "".join(w + spaces[i % len(spaces)] for i, w in enumerate(variant)) + "."
    assert fingerprint(keywords=typed, location=" Berlin,  Germany ") == fingerprint(
        keywords=original, location="berlin, germany")


@settings(max_examples=200)
@given(WORDS, WORD)
def test_another_word_is_another_search(words, extra):
    tokens = set(keyword_tokens(" ".join(words)))
    added = keyword_tokens(extra)
    if set(added) <= tokens:
        return  # not another word after all
    assert fingerprint(keywords=" ".join(words)) != fingerprint(keywords=" ".join(words) + " " + extra)


@given(WORDS)
def test_filters_are_part_of_the_search(words):
    keywords = " ".join(words)
    base = fingerprint(keywords=keywords)
    others = {fingerprint(keywords=keywords, remote=True), fingerprint(keywords=keywords, country="GB"),
              fingerprint(keywords=keywords, location="Paris"), fingerprint(keywords=keywords, salary_min=1),
              fingerprint(keywords=keywords, posted_within_days=7), fingerprint(keywords=keywords,
                                                                                employment_type="contract")}
    assert base not in others and len(others) == 6
    # how many results are wanted, and whether premium may be used, are not part of it
    assert fingerprint(keywords=keywords, want=50, premium=False) == base


def test_technology_names_stay_whole():
    assert keyword_tokens("Senior C++ / C# and .NET, Node.js dev.") == ["senior", "c++", "c#", "and", ".net",
                                                                        "node.js", "dev"]
    assert normalize_location("  São Paulo ,  BR ") == "são paulo, br"
    assert normalize_location(" , ") is None
    assert normalize(SearchIn(keywords="!!! ...")).empty


@given(WORDS, st.booleans())
def test_the_remembered_fingerprint_is_the_computed_one(words, remote):
    from zentropy.search.query import normalized_with_fingerprint

    search = SearchIn(keywords=" ".join(words), remote=remote)
    for _ in range(2):  # computed, then remembered
        query, fingerprint = normalized_with_fingerprint(search)
        assert (query, fingerprint) == (normalize(search), normalize(search).fingerprint())
