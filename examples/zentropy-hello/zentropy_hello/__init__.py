"""zentropy-hello: one settings class, one job, one cron job."""

from __future__ import annotations

from typing import Annotated

import msgspec

from zentropy.hookspecs import hookimpl
from zentropy.settings import env, read_settings


class HelloSettings(msgspec.Struct, frozen=True):
    greeting: Annotated[str, env("HELLO_GREETING", doc="What the hello job says.")] = "hello"


async def say_hello(ctx, *, name: str = "world", user_id=None):
    settings = read_settings(HelloSettings)
    return f"{settings.greeting}, {name}"


async def hello_tick(ctx, **_):
    await ctx["runtime"].redis.incr("hello:ticks")


@hookimpl
def register_settings(register):
    register(HelloSettings)


@hookimpl
def register_jobs(register):
    register(say_hello)


@hookimpl
def register_cron_jobs(register):
    register(hello_tick, cron="* * * * *")
