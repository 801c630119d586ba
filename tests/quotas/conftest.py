from tests.search.conftest import _no_real_source_settings, rig  # noqa: F401  (users and settings of the rig)
