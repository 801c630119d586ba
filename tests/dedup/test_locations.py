from __future__ import annotations

import pytest

from zentropy.dedup.locations import location_keys, locations_compatible


@pytest.mark.parametrize(("locations", "keys"), [
    (["New York, NY"], ("new york",)),
    (["New York, New York, United States"], ("new york",)),
    (["NYC"], ("new york",)),
    (["München"], ("munich",)),
    (["Munich, Bavaria, Germany"], ("bavaria", "munich")),
    (["Greater London Area"], ("london",)),
    (["Seattle, San Francisco, New York City"], ("new york", "san francisco", "seattle")),
    (["Remote"], ()),
    (["Remote - US"], ()),
    (["USA"], ()),
    ([], ()),
])
def test_location_keys(locations, keys):
    assert location_keys(locations) == keys


@pytest.mark.parametrize(("a", "b", "compatible"), [
    (["Seattle, WA"], ["Seattle, Washington, United States"], True),
    (["Fulham, South West London"], ["London"], True),
    (["Seattle, WA"], ["New York, NY"], False),
    (["San Jose, CA"], ["San Francisco, CA"], False),
    (["Seattle, San Francisco"], ["San Francisco Bay Area"], True),
    (["Remote"], ["New York, NY"], None),
    ([], ["Berlin"], None),
])
def test_compatibility(a, b, compatible):
    assert locations_compatible(location_keys(a), location_keys(b)) is compatible
