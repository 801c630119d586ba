"""/api/v1/me: the signed-in user, linked providers, onboarding state, preferences."""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from zentropy.auth.guards import signed_in
from zentropy.auth.middleware import CurrentUser
from zentropy.auth.redirects import public_link
from zentropy.auth.service import Auth
from zentropy.auth.store import linked_accounts
from zentropy.db import tenant
from zentropy.http.errors import ProblemError
from zentropy.runtime import Runtime
from zentropy.users.models import User
from zentropy.users.preferences import get_preferences, missing, normalized, save_preferences
from zentropy.users.schemas import LinkedProvider, Me, Onboarding, Preferences, PreferencesIn


class MeController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    guards = [signed_in]
    opt = {"before_onboarding": True}

    @get("/", summary="The signed-in user, linked providers and onboarding state")
    async def me(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime]) -> Me:
        auth = Auth.of(runtime)
        with tenant(current_user.user_id):
            async with runtime.db.session() as s:
                user = await s.get(User, current_user.user_id)
        assert user is not None  # a live session's user exists (sessions cascade with users)
        accounts = await linked_accounts(runtime.db, current_user.user_id)
        prefs = await get_preferences(runtime.db, current_user.user_id)
        linked = {a.provider for a in accounts}
        return Me(
            id=user.id, email=user.email, email_verified=user.email_verified, name=user.name, picture=user.picture,
            providers=[LinkedProvider(provider=a.provider, email=a.email, email_verified=a.email_verified,
                                      linked_at=a.created_at, last_used_at=a.last_used_at) for a in accounts],
            linkable_providers=[p.name for p in auth.offered() if p.kind == "redirect" and p.name not in linked],
            onboarding=Onboarding(completed=prefs.completed, url=public_link(auth.public_url, "/onboarding"),
                                  preferences_url=public_link(auth.public_url, "/api/v1/me/preferences")),
            session_via=current_user.via,
            csrf_token=current_user.csrf_token if current_user.via == "cookie" else None,
        )

    @get("/preferences", summary="The user's preferences (onboarding)")
    async def preferences(self, current_user: NamedDependency[CurrentUser],
                          runtime: NamedDependency[Runtime]) -> Preferences:
        return await get_preferences(runtime.db, current_user.user_id)

    @put("/preferences", summary="Set preferences; complete ones finish onboarding")
    async def put_preferences(self, data: JSONBody[PreferencesIn], current_user: NamedDependency[CurrentUser],
                              runtime: NamedDependency[Runtime]) -> Preferences:
        prefs = normalized(data)
        if needed := missing(prefs):
            raise ProblemError(422, "preferences_incomplete", "Preferences need skills, a salary expectation "
                               "(amount and currency), and locations or remote.", missing=needed)
        return await save_preferences(runtime.db, current_user.user_id, prefs)
