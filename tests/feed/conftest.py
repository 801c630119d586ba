from tests.search.conftest import _no_real_source_settings, rig  # noqa: F401  (the tier engine's rig)
