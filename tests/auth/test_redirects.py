"""`next` goes only to a same-site path: no open redirect through any sign-in route."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from tests.auth.conftest import PUBLIC, new_email, oidc_sign_in
from tests.auth.test_magic_link import ask, confirm, link_parts
from tests.auth.test_oidc import google_user
from zentropy.auth.redirects import public_link, safe_next

ATTACKS = [
    "https://evil.example/", "//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
    "/\t/evil.example", "/\n/evil.example", " /x", "javascript:alert(1)", "http:/evil.example",
    "/%0d%0aSet-Cookie:x=1\r\n", "evil.example", "/" + "a" * 3000,
]


@pytest.mark.parametrize("target", ATTACKS)
def test_unsafe_next_falls_back_to_the_default(target):
    assert safe_next(target) == "/account"


@pytest.mark.parametrize("target", ["/", "/jobs", "/jobs?q=python&page=2", "/a/b#frag", "/%2F%2Fevil.example"])
def test_same_site_paths_are_kept(target):
    assert safe_next(target) == target


@hsettings(max_examples=500, deadline=None)
@given(st.one_of(st.text(), st.from_regex(r"^[/\\]{1,3}[\w.:@%-]{0,20}", fullmatch=True)))
def test_every_next_lands_on_this_site(target):
    landed = urlsplit(public_link(PUBLIC, safe_next(target)))
    assert f"{landed.scheme}://{landed.netloc}" == PUBLIC
    assert landed.path.startswith("/")


async def test_oauth_next_cannot_leave_the_site(web, google_op):
    response = await oidc_sign_in(web, google_op, google_user(), next_path="//evil.example/steal")
    location = response.headers["location"]
    assert location.startswith(f"{PUBLIC}/")
    assert parse_qs(urlsplit(location).query)["next"] == ["/account"]


async def test_magic_link_next_cannot_leave_the_site(web, inbox):
    email = new_email()
    await ask(web, email, "https://evil.example/")
    _, fields = link_parts(inbox.link_for(email))
    assert "next" not in fields  # dropped before it reached the mail
    response = await confirm(web, {**fields, "next": "/\\evil.example"})
    assert response.headers["location"] == f"{PUBLIC}/onboarding?next=%2Faccount"


async def test_signin_page_does_not_reflect_unsafe_next(web):
    page = await web.get("/signin", params={"next": "https://evil.example/"})
    assert "evil.example" not in page.text
