"""The SAQ worker: jobs and cron jobs contributed by the core and by plugins."""
