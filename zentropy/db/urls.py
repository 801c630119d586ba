from __future__ import annotations

from sqlalchemy.engine import URL, make_url


def async_url(url: str | URL) -> URL:
    """`url` with the asyncpg driver, whatever scheme it came with (postgres://, postgresql://)."""
    if isinstance(url, str) and url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    return make_url(url).set(drivername="postgresql+asyncpg")


def app_url(owner_url: str | URL, user: str, password: str | None) -> URL:
    """The service's URL: the owner's server and database, the service role's credentials."""
    return async_url(owner_url).set(username=user, password=password)
