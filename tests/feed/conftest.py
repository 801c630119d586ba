from tests.search.conftest import _no_real_source_settings, rig, signed_in  # noqa: F401  (the tier engine's rig)
