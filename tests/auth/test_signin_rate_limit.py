"""Starting Google / LinkedIn sign-ins is limited per client IP; behind `zentropy serve`, the client IP
is the forwarded one only from the proxies ZENTROPY_FORWARDED_ALLOW_IPS names."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import asynccontextmanager

import httpx
import pytest
import uvicorn

from tests.auth.conftest import PUBLIC, auth_runtime, oidc_sign_in, providers, web_client
from tests.auth.loopback import bound_socket
from tests.auth.test_oidc import assert_refused, google_user
from zentropy.auth.ratelimit import is_loopback
from zentropy.auth.settings import AuthSettings
from zentropy.cli import server_options
from zentropy.settings import Settings


LIMIT = AuthSettings().signin_starts_per_ip  # the default, which `auth_rt` uses


def an_ip() -> str:
    n = uuid.uuid4().int
    return f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250 + 1}"


async def start(client: httpx.AsyncClient, provider: str = "google", **headers: str) -> httpx.Response:
    return await client.get(f"/api/v1/auth/{provider}/login", params={"next": "/jobs"}, headers=headers)


async def use_up(client: httpx.AsyncClient, **headers: str) -> None:
    for i in range(LIMIT):
        response = await start(client, "google" if i % 2 else "linkedin", **headers)
        assert response.status_code == 303, response.text


async def test_starts_beyond_the_limit_get_a_429_problem_with_retry_after(auth_rt, google_op):
    async with web_client(auth_rt, client=(an_ip(), 1)) as crowd, web_client(auth_rt, client=(an_ip(), 1)) as other:
        await use_up(crowd)  # Google and LinkedIn count together
        for provider in ("google", "linkedin"):
            refused = await start(crowd, provider)
            assert_refused(refused, 429, "rate_limited")
            body = refused.json()
            assert 0 < int(refused.headers["retry-after"]) <= auth_rt.extras["auth"].settings.rate_window_seconds
            assert body["retry_after"] == int(refused.headers["retry-after"])
            assert "location" not in refused.headers and "zentropy_state" not in refused.headers.get("set-cookie", "")
        assert (await oidc_sign_in(other, google_op, google_user())).status_code == 303  # another IP signs in


async def test_the_limit_is_a_setting(runtime, google_op, linkedin_op, inbox):
    strict = auth_runtime(runtime, providers(google_op, linkedin_op, inbox), signin_starts_per_ip=3)
    async with web_client(strict, client=(an_ip(), 1)) as client:
        for _ in range(3):
            assert (await start(client)).status_code == 303
        assert_refused(await start(client, "linkedin"), 429, "rate_limited")


async def test_a_browser_gets_the_refusal_as_a_page(auth_rt):
    async with web_client(auth_rt, client=(an_ip(), 1)) as browser:
        await use_up(browser)
        refused = await start(browser, accept="text/html,application/xhtml+xml")
        assert refused.status_code == 429 and refused.headers["content-type"].startswith("text/html")
        assert int(refused.headers["retry-after"]) > 0 and "Too many sign-ins" in refused.text


async def test_linking_counts_as_starting_a_sign_in(auth_rt, google_op):
    async with web_client(auth_rt, client=(an_ip(), 1)) as client:
        assert (await oidc_sign_in(client, google_op, google_user())).status_code == 303  # one start, signed in
        me = (await client.get("/api/v1/me")).json()
        for _ in range(LIMIT - 1):
            assert (await start(client, "linkedin")).status_code == 303
        linked = await client.post("/api/v1/auth/linkedin/link", headers={"X-CSRF-Token": me["csrf_token"]})
        assert_refused(linked, 429, "rate_limited")


async def test_loopback_clients_are_not_limited(auth_rt):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and not is_loopback("10.0.0.1")
    assert not is_loopback("unknown")
    async with web_client(auth_rt, client=("127.0.0.1", 1)) as local:
        for _ in range(LIMIT + 2):
            assert (await start(local)).status_code == 303


def test_the_429_is_in_the_openapi_document():
    from zentropy.app import create_app

    schema = create_app(Settings(public_url=PUBLIC)).openapi_schema.to_schema()
    for path, method in (("/api/v1/auth/{provider}/login", "get"), ("/api/v1/auth/{provider}/link", "post")):
        assert "429" in schema["paths"][path][method]["responses"]


# -- behind `zentropy serve`: whose X-Forwarded-For is believed ---------------------------------------
@asynccontextmanager
async def served(rt, forwarded_allow_ips: str):  # noqa: ANN001
    """The app on a real uvicorn server on 127.0.0.1, with the proxy options `zentropy serve` uses."""
    from zentropy.app import create_app

    options = server_options(Settings(forwarded_allow_ips=forwarded_allow_ips))
    sock = bound_socket()
    server = uvicorn.Server(uvicorn.Config(create_app(runtime=rt), log_level="warning", lifespan="off",
                                           access_log=False, **options))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}") as client:
            yield client
    finally:
        server.should_exit = True
        await task
        sock.close()


async def test_a_trusted_proxy_s_forwarded_client_is_the_one_limited(auth_rt):
    async with served(auth_rt, "127.0.0.1") as client:  # the default: a proxy on this machine
        crowd, other = an_ip(), an_ip()
        await use_up(client, **{"x-forwarded-for": crowd})
        assert_refused(await start(client, **{"x-forwarded-for": crowd}), 429, "rate_limited")
        # a client cannot pick its address by sending its own X-Forwarded-For: the proxy's entry,
        # the last one, is believed
        assert_refused(await start(client, **{"x-forwarded-for": f"{other}, {crowd}"}), 429, "rate_limited")
        assert (await start(client, **{"x-forwarded-for": other})).status_code == 303


async def test_an_untrusted_peer_s_forwarded_for_is_ignored(auth_rt):
    async with served(auth_rt, "10.0.0.0/8, 192.168.1.1") as client:  # this peer (127.0.0.1) is not a proxy
        crowd = an_ip()
        for _ in range(LIMIT + 2):  # the client is 127.0.0.1 whatever the header says
            assert (await start(client, **{"x-forwarded-for": crowd})).status_code == 303
    async with served(auth_rt, "127.0.0.0/8") as client:  # a network: believed again
        await use_up(client, **{"x-forwarded-for": crowd})
        assert_refused(await start(client, **{"x-forwarded-for": crowd}), 429, "rate_limited")


@pytest.mark.parametrize("value", ["*", "127.0.0.1", "10.0.0.0/8,::1", "fd00::/8"])
def test_server_options_take_addresses_networks_or_star(value):
    options = server_options(Settings(forwarded_allow_ips=value))
    assert options == {"proxy_headers": True, "forwarded_allow_ips": value}
