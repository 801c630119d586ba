"""The tier engine: cache tier, free then premium sources, single-flight, per-search reports,
live progress, per-user source priority. See docs/search.md."""
