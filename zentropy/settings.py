"""Typed settings read from the environment (and an optional `.env`), validated at start.

Every settings object — the core's and each plugin's — is a msgspec Struct read by
`read_settings`. A field's environment variable is its name in upper case, or the name given
with `env(...)`. A missing or malformed value raises `SettingsError` with one line naming the
variable and what is expected.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, TypeVar

import msgspec
from dotenv import dotenv_values

S = TypeVar("S", bound=msgspec.Struct)

SECRET = "secret"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line naming the variable."""


def env(name: str, *, secret: bool = False, doc: str = "") -> msgspec.Meta:
    """Annotate a settings field with its environment variable name (and whether it is secret)."""
    return msgspec.Meta(extra={"env": name, SECRET: secret, "doc": doc})


def _field_meta(cls: type[msgspec.Struct]) -> dict[str, dict[str, Any]]:
    hints = msgspec.inspect.type_info(cls)
    out: dict[str, dict[str, Any]] = {}
    for field in hints.fields:  # type: ignore[attr-defined]
        extra: dict[str, Any] = {}
        info = field.type
        while isinstance(info, msgspec.inspect.Metadata):
            extra.update(info.extra or {})
            info = info.type
        out[field.name] = {"env": extra.get("env", field.name.upper()), **extra}
    return out


def env_names(cls: type[msgspec.Struct]) -> dict[str, str]:
    """Field name -> environment variable name."""
    return {name: meta["env"] for name, meta in _field_meta(cls).items()}


def secret_fields(cls: type[msgspec.Struct]) -> set[str]:
    return {name for name, meta in _field_meta(cls).items() if meta.get(SECRET)}


def environment(env_file: str | os.PathLike[str] | None = ".env") -> dict[str, str]:
    """The process environment over the values of `env_file` (if it exists)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def read_settings(cls: type[S], source: Mapping[str, str] | None = None) -> S:
    source = environment() if source is None else source
    names = env_names(cls)
    raw = {field: source[var] for field, var in names.items() if source.get(var, "") != ""}
    try:
        return msgspec.convert(raw, cls, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_one_line(exc, names)) from None


def _one_line(exc: msgspec.ValidationError, names: dict[str, str]) -> str:
    message = str(exc)
    field = None
    if " - at `$." in message:
        message, _, path = message.partition(" - at `$.")
        field = path.rstrip("`").split(".")[0].split("[")[0]
    elif message.startswith("Object missing required field `"):
        field = message.split("`")[1]
        message = "is required but not set"
    var = names.get(field or "", field or "settings")
    return f"{var}: {message[0].lower() + message[1:] if message else 'is invalid'}"


def is_configured(cls: type[msgspec.Struct], source: Mapping[str, str] | None = None) -> bool:
    """True when `cls` can be read: its required settings are present and well formed."""
    try:
        read_settings(cls, source)
    except SettingsError:
        return False
    return True


def redact(struct: msgspec.Struct) -> dict[str, Any]:
    """The settings as a dict with secret values replaced, safe to log or show."""
    secrets = secret_fields(type(struct))
    data = msgspec.structs.asdict(struct)
    return {k: ("***" if k in secrets and v else v) for k, v in data.items()}


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The core's settings. Plugins define their own Struct and call `read_settings` on it."""

    database_url: Annotated[
        str | None,
        env("DATABASE_URL", secret=True, doc="PostgreSQL (with pgvector) URL of the schema owner; "
            "migrations run as it. Unset: an embedded PostgreSQL in ZENTROPY_DATA_DIR."),
    ] = None
    database_app_url: Annotated[
        str | None,
        env("DATABASE_APP_URL", secret=True, doc="URL the service connects with: a role that owns "
            "nothing and has no BYPASSRLS. Unset: derived from DATABASE_URL with "
            "DATABASE_APP_USER / DATABASE_APP_PASSWORD."),
    ] = None
    database_app_user: Annotated[str, env("DATABASE_APP_USER", doc="Service role name.")] = "zentropy_app"
    database_app_password: Annotated[
        str | None,
        env("DATABASE_APP_PASSWORD", secret=True, doc="Service role password "
            "(`zentropy db upgrade` sets it on the role)."),
    ] = None
    database_pool_size: Annotated[int, msgspec.Meta(ge=1, le=200), env("DATABASE_POOL_SIZE")] = 10
    redis_url: Annotated[
        str | None,
        env("REDIS_URL", secret=True, doc="Redis URL for the queue, rate limits and caches. "
            "Unset: an embedded Redis."),
    ] = None
    data_dir: Annotated[
        str, env("ZENTROPY_DATA_DIR", doc="Folder for the embedded default's data.")
    ] = ".zentropy"
    public_url: Annotated[
        str, env("ZENTROPY_PUBLIC_URL", doc="Public base URL; every link and redirect is built "
                 "from it.")
    ] = "http://127.0.0.1:8000"
    secret_key: Annotated[
        str | None,
        env("ZENTROPY_SECRET_KEY", secret=True, doc="Key for token hashing and encryption at rest "
            "(32+ chars). Unset: generated once into ZENTROPY_DATA_DIR."),
    ] = None
    plugins: Annotated[
        str | None, env("ZENTROPY_PLUGINS", doc="Comma-separated allowlist of plugins to load.")
    ] = None
    disable_plugins: Annotated[
        str | None, env("ZENTROPY_DISABLE_PLUGINS", doc="Comma-separated plugins not to load.")
    ] = None
    host: Annotated[str, env("HOST", doc="Address `zentropy serve` binds.")] = "127.0.0.1"
    port: Annotated[int, msgspec.Meta(ge=1, le=65535), env("PORT", doc="Port `zentropy serve` binds.")] = 8000
    log_level: Annotated[str, env("ZENTROPY_LOG_LEVEL")] = "INFO"
    log_format: Annotated[
        str, msgspec.Meta(pattern="^(json|console)$"),
        env("ZENTROPY_LOG_FORMAT", doc="`json` (default) or `console`."),
    ] = "json"
    queue_name: Annotated[str, env("ZENTROPY_QUEUE", doc="SAQ queue name.")] = "zentropy"
    worker_concurrency: Annotated[int, msgspec.Meta(ge=1), env("ZENTROPY_WORKER_CONCURRENCY")] = 10
    worker_shutdown_grace: Annotated[
        int, msgspec.Meta(ge=0),
        env("ZENTROPY_WORKER_SHUTDOWN_GRACE", doc="Seconds a stopping worker lets jobs in flight "
            "finish; the rest go back to the queue."),
    ] = 30
    in_process_worker: Annotated[
        bool | None,
        env("ZENTROPY_IN_PROCESS_WORKER", doc="Run the worker inside `zentropy serve`. "
            "Default: on for the embedded default, off otherwise."),
    ] = None

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None

    @property
    def allowlist(self) -> list[str] | None:
        return _split(self.plugins) if self.plugins else None

    @property
    def blocklist(self) -> list[str]:
        return _split(self.disable_plugins or "")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return read_settings(Settings)
