from tests.purge.conftest import ttl  # noqa: F401  (the content-TTL rig)
