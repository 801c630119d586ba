"""Random tokens and their keyed hashes (HMAC-SHA256 with ZENTROPY_SECRET_KEY): only hashes are stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    """A URL-safe token of 32 random bytes."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def keyed_hash(secret_key: str, purpose: str, *parts: str) -> str:
    """HMAC-SHA256 of `parts` under `secret_key`, separated by `purpose` so hashes never cross uses."""
    message = "\x00".join((purpose, *parts)).encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
