"""The set of hot keys a process keeps: an array it loads and merges into, and a set of keys found since."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from zentropy.catalog.store import HotKeys

keys = st.integers(min_value=-(2**63), max_value=2**63 - 1)


@given(loaded=st.lists(keys, max_size=50), found=st.lists(st.sets(keys, max_size=6), max_size=12),
       others=st.lists(keys, max_size=30), limit=st.integers(1, 80))
def test_a_key_is_known_hot_only_if_loaded_or_found_and_all_are_while_they_fit(loaded, found, others, limit):
    hot = HotKeys()
    hot.limit, hot.recent_limit = limit, 5  # small, so that merges into the array and forgetting happen
    hot.merge(np.array(loaded, dtype=np.int64))
    for some in found:
        hot.add(some)
    every = set(loaded).union(*found)
    queried = np.array(sorted(every) + others, dtype=np.int64)
    known = {key for key, is_hot in zip(queried.tolist(), hot.mask(queried).tolist()) if is_hot}
    assert known <= every  # never a key nobody found hot
    if len(every) <= limit:
        assert known == every
    assert hot.unrecorded == set().union(*found)
