"""The onboarding gate (server side) and preferences, by API and by the HTML form."""

from __future__ import annotations

from hypothesis import given, settings as hsettings, strategies as st

from tests.auth.conftest import PUBLIC
from tests.auth.test_oidc import assert_refused, me
from tests.auth.test_sessions import COMPLETE, signed_in
from zentropy.users.preferences import missing, normalized
from zentropy.users.schemas import PreferencesIn

GATED = "/api/v1/plugins"  # any endpoint that is not sign-in, health, me or preferences


async def test_gate_holds_until_preferences_are_complete(web, inbox):
    _, user = await signed_in(web, inbox)
    csrf = {"X-CSRF-Token": user["csrf_token"]}
    refused = await web.get(GATED)
    assert_refused(refused, 403, "onboarding_required")
    assert refused.json()["onboarding_url"] == f"{PUBLIC}/onboarding"
    assert refused.json()["preferences_url"] == f"{PUBLIC}/api/v1/me/preferences"
    for open_path in ("/api/v1/me", "/api/v1/me/preferences", "/health/live", "/api/v1/auth/providers", "/signin",
                      "/onboarding"):
        assert (await web.get(open_path)).status_code == 200, open_path
    assert (await me(web))["onboarding"]["completed"] is False

    incomplete = await web.put("/api/v1/me/preferences", json={**COMPLETE, "remote": None}, headers=csrf)
    assert_refused(incomplete, 422, "preferences_incomplete")
    assert incomplete.json()["missing"] == ["locations_or_remote"]
    assert (await web.get("/api/v1/me/preferences")).json()["completed"] is False
    assert_refused(await web.get(GATED), 403, "onboarding_required")

    done = await web.put("/api/v1/me/preferences", json={**COMPLETE, "skills": [" Python ", "python", "SQL"]},
                         headers=csrf)
    assert done.status_code == 200
    assert done.json()["completed"] is True and done.json()["skills"] == ["Python", "SQL"]
    assert (await web.get(GATED)).status_code == 200
    assert (await me(web))["onboarding"]["completed"] is True


async def test_completed_onboarding_stays_completed_on_later_edits(web, inbox):
    _, user = await signed_in(web, inbox)
    csrf = {"X-CSRF-Token": user["csrf_token"]}
    first = (await web.put("/api/v1/me/preferences", json=COMPLETE, headers=csrf)).json()
    second = (await web.put("/api/v1/me/preferences", json={**COMPLETE, "locations": ["Berlin"], "remote": False},
                            headers=csrf)).json()
    assert second["completed_at"] == first["completed_at"] and second["locations"] == ["Berlin"]


async def test_malformed_preferences_are_400_and_change_nothing(web, inbox):
    _, user = await signed_in(web, inbox)
    csrf = {"X-CSRF-Token": user["csrf_token"]}
    for body in ({**COMPLETE, "salary_min": -5}, {**COMPLETE, "salary_currency": "EURO"},
                 {**COMPLETE, "skills": "Python"}, {**COMPLETE, "surprise": 1}):
        response = await web.put("/api/v1/me/preferences", json=body, headers=csrf)
        assert response.status_code == 400 and response.json()["code"] == "validation_failed", body
    assert (await web.get("/api/v1/me/preferences")).json()["completed"] is False


async def test_anonymous_requests_are_not_gated_but_me_needs_sign_in(web):
    assert (await web.get(GATED)).status_code == 200
    assert_refused(await web.get("/api/v1/me/preferences"), 401, "unauthenticated")


async def test_onboarding_page_completes_onboarding_without_javascript(web, inbox):
    anonymous = await web.get("/onboarding")
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith(f"{PUBLIC}/signin?next=")
    _, user = await signed_in(web, inbox)
    form_page = await web.get("/onboarding?next=/account")
    assert form_page.status_code == 200 and "<script" not in form_page.text
    assert f'name="csrf_token" value="{user["csrf_token"]}"' in form_page.text
    base = {"csrf_token": user["csrf_token"], "next": "/account"}
    missing_page = await web.post("/onboarding", data={**base, "skills": "Python", "salary_min": ""})
    assert missing_page.status_code == 422 and "your salary expectation" in missing_page.text
    assert 'value="Python"' in missing_page.text  # what was typed is kept
    saved = await web.post("/onboarding", data={**base, "skills": "Python, Go", "salary_min": "70000",
                                                 "salary_currency": "GBP", "locations": "", "remote": "yes"})
    assert saved.status_code == 303 and saved.headers["location"] == f"{PUBLIC}/account"
    prefs = (await web.get("/api/v1/me/preferences")).json()
    assert prefs["skills"] == ["Python", "Go"] and prefs["remote"] is True and prefs["salary_currency"] == "GBP"
    account = await web.get("/account")
    assert account.status_code == 200 and user["email"] in account.text


async def test_account_page_sends_unfinished_users_to_onboarding(web, inbox):
    await signed_in(web, inbox)
    response = await web.get("/account")
    assert response.status_code == 303 and response.headers["location"] == f"{PUBLIC}/onboarding?next=/account"


async def test_signout_form_ends_the_session(web, inbox):
    _, user = await signed_in(web, inbox)
    assert_refused(await web.post("/signout"), 403, "csrf_failed")
    response = await web.post("/signout", data={"csrf_token": user["csrf_token"]})
    assert response.status_code == 303 and response.headers["location"] == f"{PUBLIC}/signin"
    assert (await web.get("/api/v1/me")).status_code == 401


words = st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=12), max_size=6)


@hsettings(max_examples=200, deadline=None)
@given(skills=words, locations=words, salary=st.one_of(st.none(), st.integers(0, 10**6)),
       currency=st.one_of(st.none(), st.sampled_from(["usd", "EUR"])), remote=st.one_of(st.none(), st.booleans()))
def test_complete_exactly_when_skills_salary_and_locations_or_remote(skills, locations, salary, currency, remote):
    prefs = normalized(PreferencesIn(skills=skills, salary_min=salary, salary_currency=currency,
                                     locations=locations, remote=remote))
    has_skills = any(s.strip() for s in skills)
    has_where = any(s.strip() for s in locations) or remote is True
    assert (missing(prefs) == []) == (has_skills and salary is not None and currency is not None and has_where)
    assert all(s == " ".join(s.split()) and s for s in prefs.skills + prefs.locations)
    assert len({s.lower() for s in prefs.skills}) == len(prefs.skills)
