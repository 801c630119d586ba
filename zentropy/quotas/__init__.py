"""Per-user quotas: searches per day, premium-source calls per month (`zentropy.quotas.service`)."""
