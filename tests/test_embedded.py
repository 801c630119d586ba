from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.plugin_packages import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ZENTROPY_", "DATABASE_", "REDIS_"))}
    env.update(extra)
    return env


@pytest.mark.slow
def test_serve_with_no_servers_configured_runs_on_the_embedded_default(tmp_path):
    port = free_port()
    data = tmp_path / "data"
    proc = subprocess.Popen(
        [sys.executable, "-m", "zentropy.cli", "serve", "--port", str(port)], cwd=ROOT,
        env=clean_env(ZENTROPY_DATA_DIR=str(data), ZENTROPY_PLUGINS=os.environ["ZENTROPY_PLUGINS"]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        ready = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        assert ready is not None and ready.status_code == 200, proc.stdout.read1().decode()[-3000:] if proc.poll() is not None else "not ready"
        checks = {c["name"]: c for c in ready.json()["checks"]}
        assert checks["database"]["ok"] and "migrations at" in checks["database"]["detail"]
        assert checks["redis"]["ok"]
        assert (data / "postgres" / "PG_VERSION").exists() and (data / "redis").is_dir()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught
    assert proc.returncode in (0, -15)
    assert b"Application shutdown complete" in output
    # the embedded servers stopped with it: no postmaster left, no Redis answering
    assert not (data / "postgres" / "postmaster.pid").exists()
    from zentropy.embedded import _redis_answers

    assert not _redis_answers(f"unix://{data / 'redis' / 'redis.sock'}")


def test_configured_servers_are_used_and_nothing_embedded_starts(tmp_path, migrated):
    data = tmp_path / "data"
    result = subprocess.run(
        [sys.executable, "-m", "zentropy.cli", "db", "upgrade"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=clean_env(ZENTROPY_DATA_DIR=str(data), DATABASE_URL=migrated.database_url, REDIS_URL=migrated.redis_url,
                      ZENTROPY_SECRET_KEY=migrated.secret_key, DATABASE_APP_USER=migrated.database_app_user,
                      DATABASE_APP_PASSWORD=migrated.database_app_password),
    )
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    assert not (data / "postgres").exists() and not (data / "redis").exists()
