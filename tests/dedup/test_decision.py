"""The duplicate decision on the labeled pairs: the hard cases one by one, the whole set's F1."""

from __future__ import annotations

import msgspec
import subprocess
import sys

import pytest

from zentropy.dedup.calibration import HARD_CASES, load_pairs, pair_keys, quality
from zentropy.dedup.data.generate import HARD_CASES as HARD_FILE
from zentropy.dedup.keys import dedup_keys
from zentropy.dedup.score import THRESHOLD, decide, specific_url
from zentropy.sources.contract import Posting

PAIRS = load_pairs()
HARD = [p for p in PAIRS if p.id.startswith("hard-")]


def test_the_labeled_set_is_what_the_generator_makes():
    result = subprocess.run([sys.executable, "-m", "zentropy.dedup.data.generate", "--check"], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr


def test_the_labeled_set_has_hundreds_of_pairs_of_both_kinds():
    assert len(PAIRS) >= 400
    assert 0.35 < sum(p.duplicate for p in PAIRS) / len(PAIRS) < 0.65
    assert len(HARD) == len(HARD_FILE.read_text().splitlines()) == len(HARD_CASES)


@pytest.mark.parametrize("pair", HARD, ids=[p.id for p in HARD])
def test_hard_cases(pair):
    a, b = dedup_keys([pair.a, pair.b])
    assert decide(a, b).duplicate is pair.duplicate
    assert decide(b, a).duplicate is pair.duplicate  # symmetric


def test_the_shipped_threshold_reaches_f1_095_on_the_labeled_set():
    keys = pair_keys(PAIRS)
    result = quality([p.duplicate for p in PAIRS], [decide(a, b).score >= THRESHOLD for a, b in keys], THRESHOLD)
    assert result.f1 >= 0.95, msgspec.to_builtins(result)


def posting(**fields) -> Posting:
    base = dict(source="s", external_id="1", title="Software Engineer", company="Acme", locations=["Berlin"],
                description_text="Build robots. " * 30)
    return Posting(**{**base, **fields})


def test_different_countries_and_cities_veto_a_match():
    a, b, c = dedup_keys([posting(country="de"), posting(country="at"), posting(locations=["Hamburg"])])
    assert decide(a, b).reason == "different countries" and not decide(a, b).duplicate
    assert decide(a, c).reason == "different locations" and not decide(a, c).duplicate


def test_a_shared_job_url_matches_but_a_shared_careers_page_does_not():
    job = "https://boards.greenhouse.io/acme/jobs/42"
    a, b = dedup_keys([posting(apply_url=job + "?gh_src=x", description_text=""),
                       posting(apply_url=job, title="SWE", description_text="")])
    assert decide(a, b).reason == "same apply url"
    assert not specific_url("acme.com/careers") and specific_url("boards.greenhouse.io/acme/jobs/42")
    c, d = dedup_keys([posting(apply_url="https://acme.com/careers", title="Accountant", description_text="x " * 40),
                       posting(apply_url="https://acme.com/careers/", title="Nurse", description_text="y " * 40)])
    assert not decide(c, d).duplicate
