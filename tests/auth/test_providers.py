"""Which providers are offered: only configured ones, in the API, the sign-in page and `zentropy plugins`."""

from __future__ import annotations

import json

from tests.auth.conftest import PUBLIC, auth_runtime, web_client
from tests.plugin_packages import run_cli
from zentropy_plugins.auth.google import GoogleProvider
from zentropy_plugins.auth.linkedin import LinkedInProvider
from zentropy_plugins.auth.magic_link import MagicLinkProvider


async def test_configured_providers_are_listed_with_their_start_urls(web):
    listed = (await web.get("/api/v1/auth/providers")).json()
    assert listed == [
        {"name": "google", "display_name": "Google", "kind": "redirect", "start_url": f"{PUBLIC}/api/v1/auth/google/login"},
        {"name": "linkedin", "display_name": "LinkedIn", "kind": "redirect",
         "start_url": f"{PUBLIC}/api/v1/auth/linkedin/login"},
        {"name": "magic-link", "display_name": "Email", "kind": "email", "start_url": f"{PUBLIC}/api/v1/auth/magic-link"},
    ]
    page = (await web.get("/signin")).text
    assert "Continue with Google" in page and "Continue with LinkedIn" in page and 'name="email"' in page


async def test_unconfigured_providers_are_not_offered(runtime):
    rt = auth_runtime(runtime, [GoogleProvider(None), LinkedInProvider(None), MagicLinkProvider(None)])
    async with web_client(rt) as client:
        assert (await client.get("/api/v1/auth/providers")).json() == []
        for path in ("/api/v1/auth/google/login", "/api/v1/auth/nope/login"):
            response = await client.get(path)
            assert response.status_code == 404 and response.json()["code"] == "unknown_provider"
        refused = await client.post("/api/v1/auth/magic-link", json={"email": "a@example.com"})
        assert refused.status_code == 404 and refused.json()["code"] == "unknown_provider"
        page = (await client.get("/signin")).text
        assert "No way to sign in is configured" in page and "Continue with" not in page


def test_zentropy_plugins_shows_which_sign_in_providers_are_configured():
    env = {"GOOGLE_CLIENT_ID": "id", "GOOGLE_CLIENT_SECRET": "secret-value", "SMTP_URL": "console:",
           "EMAIL_FROM": "dev@localhost", "ZENTROPY_PLUGINS": "google,linkedin,magic-link"}
    result = run_cli("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["google"]["configured"] is True and rows["google"]["kinds"] == ["auth"]
    assert rows["magic-link"]["configured"] is True
    assert rows["linkedin"]["configured"] is False
    assert "secret-value" not in result.stdout + result.stderr
