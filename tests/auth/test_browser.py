"""A real headless Chromium (Debian's) signs in by magic link and completes onboarding, against the
app on a real uvicorn server — with JavaScript switched off, since the pages must not need it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import msgspec
import pytest

from tests.auth.conftest import new_email
from tests.auth.loopback import bound_socket, serve
from zentropy.auth.service import Auth
from zentropy.auth.settings import AuthSettings
from zentropy_plugins.auth.magic_link import MagicLinkProvider, MagicLinkSettings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


async def test_browser_signs_in_by_magic_link_and_completes_onboarding(runtime, inbox, counts):
    require_chromium()
    from playwright.async_api import async_playwright

    sock = bound_socket()
    public_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    rt = dataclasses.replace(runtime, settings=msgspec.structs.replace(runtime.settings, public_url=public_url),
                             extras={})
    rt.extras["auth"] = Auth(rt, AuthSettings(), providers=[MagicLinkProvider(MagicLinkSettings(
        smtp_url=f"smtp://127.0.0.1:{inbox.port}", email_from="Zentropy <no-reply@zentropy.test>"))])
    from zentropy.app import create_app

    email = new_email()
    async with serve(create_app(runtime=rt), sock) as base, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            context = await browser.new_context(java_script_enabled=False)
            page = await context.new_page()
            await page.goto(f"{base}/signin?next=/account")
            await page.fill("#email", email)
            await page.click("form[action='/signin/email'] button")
            await page.wait_for_selector("text=Check your email")

            link = inbox.link_for(email)
            assert link.startswith(f"{public_url}/signin/magic?")
            await page.goto(link)
            assert await counts.users_with_email(email) == 0  # opening the link alone does nothing
            await page.click("#confirm")
            await page.wait_for_url(f"{base}/onboarding?next=%2Faccount")

            await page.fill("#skills", "Python, PostgreSQL")
            await page.fill("#salary_min", "85000")
            await page.select_option("#salary_currency", "EUR")
            await page.fill("#locations", "Berlin")
            await page.check("#remote")
            await page.click("#save")
            await page.wait_for_url(f"{base}/account")
            assert email in await page.text_content("#signed-in-as")

            session = next(c for c in await context.cookies() if c["name"] == "zentropy_session")
            assert session["httpOnly"] and session["sameSite"] == "Lax"
            gated = await page.goto(f"{base}/api/v1/plugins")
            assert gated.status == 200  # onboarding done: the gate is open

            await page.goto(f"{base}/account")
            await page.click("#signout")
            await page.wait_for_url(f"{base}/signin")
            assert (await page.goto(f"{base}/api/v1/me")).status == 401
        finally:
            await browser.close()
    assert await counts.users_with_email(email) == 1
