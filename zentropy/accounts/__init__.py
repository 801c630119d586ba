"""A user's account as a whole: export of all their data, deletion, and administration (the
`zentropy users` command). Tenant tables are discovered from the database (`tables`), so every
feature's data is exported and deleted without changes here. See docs/privacy.md."""
