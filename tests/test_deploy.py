"""Deployment files: every command they run exists in the CLI, and the start commands work."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import time
import tomllib
import uuid

import click
import httpx
import pytest

from tests.plugin_packages import ROOT
from zentropy.cli import cli

CONFIGS = ["railway.toml", "railway.worker.toml"]


def commands(config: str) -> list[str]:
    deploy = tomllib.loads((ROOT / config).read_text())["deploy"]
    return [deploy["startCommand"], *deploy.get("preDeployCommand", [])]


def resolve(args: list[str]) -> click.Command:
    """Parse `args` as the CLI would (unknown commands or options raise), without running them."""
    command: click.Command = cli
    ctx = cli.make_context("zentropy", list(args), resilient_parsing=False)
    while isinstance(command, click.Group) and ctx.protected_args:
        name, command, rest = command.resolve_command(ctx, [*ctx.protected_args, *ctx.args])
        ctx = command.make_context(name, rest, parent=ctx)
    return command


@pytest.mark.parametrize("config", CONFIGS)
def test_every_railway_command_exists_in_the_cli(config):
    found = commands(config)
    assert found
    for line in found:
        program, *args = shlex.split(line)
        assert program == "zentropy"
        assert resolve(args).name in {"serve", "worker", "upgrade"}


def test_railway_api_config_checks_health_and_migrates_first():
    deploy = tomllib.loads((ROOT / "railway.toml").read_text())["deploy"]
    assert deploy["healthcheckPath"] == "/health/ready"
    assert deploy["preDeployCommand"] == ["zentropy db upgrade"]
    assert deploy["restartPolicyType"] in {"ON_FAILURE", "ALWAYS"}


def test_a_mistyped_command_would_be_caught():
    with pytest.raises(click.UsageError):
        resolve(["serve", "--hots", "0.0.0.0"])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
async def test_documented_start_commands_run_against_postgres_and_redis(migrated, runtime):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENTROPY_", "DATABASE_", "REDIS_"))}
    queue = f"smoke-{uuid.uuid4().hex[:8]}"
    env.update(DATABASE_URL=migrated.database_url, REDIS_URL=migrated.redis_url, PORT=str(port),
               DATABASE_APP_USER=migrated.database_app_user, DATABASE_APP_PASSWORD=migrated.database_app_password,
               ZENTROPY_SECRET_KEY=migrated.secret_key, ZENTROPY_QUEUE=queue,
               ZENTROPY_PLUGINS=os.environ["ZENTROPY_PLUGINS"])
    bin_dir = os.path.dirname(sys.executable)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    for line in tomllib.loads((ROOT / "railway.toml").read_text())["deploy"]["preDeployCommand"]:
        subprocess.run(shlex.split(line), env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    procs = [subprocess.Popen(shlex.split(commands(c)[0]), env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for c in CONFIGS]
    try:
        ready = None
        for _ in range(200):
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/health/ready", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        assert ready is not None and ready.status_code == 200
        from saq.queue.redis import RedisQueue

        info = None
        q = RedisQueue(runtime.redis, name=queue)
        for _ in range(100):
            info = await q.info()
            if info["workers"]:
                break
            time.sleep(0.1)
        assert info and len(info["workers"]) == 1  # the worker service registered on the queue
        assert all(p.poll() is None for p in procs)
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)


def test_env_example_lists_every_setting_with_its_meaning():
    """.env.example is `zentropy settings --example` with every bundled plugin loaded: regenerate it
    with `ZENTROPY_PLUGINS= .venv/bin/zentropy settings --example > .env.example`."""
    from tests.plugin_packages import run_cli

    result = run_cli("settings", "--example", env={"ZENTROPY_PLUGINS": os.environ["ZENTROPY_PLUGINS"]})
    assert result.returncode == 0, result.stderr
    assert (ROOT / ".env.example").read_text() == result.stdout
