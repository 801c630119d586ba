"""The jobs API: a catalog posting's metadata and, while it lasts, its content; refetching it."""
