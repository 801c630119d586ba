"""Links and redirects, built only from ZENTROPY_PUBLIC_URL; `next` only ever a same-site path."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_NEXT = 2000


def safe_next(value: str | None, default: str = "/account") -> str:
    """`value` if it is a path on this site (`/...`), else `default`.

    Refused: absolute and scheme-relative URLs (`//host`), backslashes (browsers read `/\\host` as
    `//host`), control characters and whitespace, and anything over 2000 characters.
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/") or value.startswith("//"):
        return default
    if "\\" in value or any(ord(c) < 0x21 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    return value


def public_link(public_url: str, path: str) -> str:
    """An absolute URL on this site: `path` (which must start with `/`) under the public URL."""
    assert path.startswith("/"), path
    return public_url.rstrip("/") + path


def is_secure(public_url: str) -> bool:
    """Cookies are Secure unless the service is served over plain HTTP (local development)."""
    return urlsplit(public_url).scheme == "https"
