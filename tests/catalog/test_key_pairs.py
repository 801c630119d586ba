"""(blocking key, posting id) pairs as numpy arrays: what the ingest writes and reads back."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zentropy.catalog.store import KeyPairs

pairs = st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(1, 2**62)), max_size=60)


@given(pairs)
def test_pairs_from_arrays_are_distinct_and_grouped_by_key(some):
    keys = np.array([k for k, _ in some], dtype=np.int64)
    owners = np.array([o for _, o in some], dtype=np.int64)
    expected: dict[int, list[int]] = {}
    for key, owner in sorted(set(some)):
        expected.setdefault(key, []).append(owner)
    grouped = KeyPairs.from_arrays(keys, owners).grouped()
    assert grouped == expected and list(grouped) == sorted(expected)
    assert KeyPairs.of([(o, [k]) for k, o in some]).grouped() == expected
