"""Content TTL: expired posting content is purged (whole hourly partitions), metadata stays."""

from zentropy.purge.service import PurgedPartition, PurgeReport, purge
from zentropy.purge.settings import ContentSettings, content_settings, content_ttl

__all__ = ["ContentSettings", "PurgeReport", "PurgedPartition", "content_settings", "content_ttl", "purge"]
