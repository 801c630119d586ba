"""Which user a verified identity signs in as: the account linking rules.

1. An account already known (provider + subject) signs in its user.
2. A signed-in user linking explicitly gets the account added (unless another user has it).
3. A *verified* email equal to a user's verified email links the new account to that user.
4. An email that is not verified never links and never makes a second user with that address:
   if a user has the address, the sign-in is refused (409 `account_linking_blocked`).
5. Otherwise a new user is made; it keeps the address only if verified.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from zentropy.auth import store
from zentropy.auth.contract import IdentityError, VerifiedIdentity
from zentropy.db import Database


def linking_blocked() -> IdentityError:
    return IdentityError(
        "account_linking_blocked",
        "An account with this email address exists, but this provider did not verify the address. "
        "Sign in the way you did before, then link this provider from your account page.",
        status=409,
    )


def disabled() -> IdentityError:
    return IdentityError("account_disabled", "This account is disabled.", status=403)


async def resolve_user(db: Database, identity: VerifiedIdentity, *, link_to: uuid.UUID | None = None) -> uuid.UUID:
    """The user `identity` signs in as (made or linked as the rules say), or `IdentityError`."""
    for attempt in range(2):  # a concurrent first sign-in may win a unique index; then look again
        try:
            user_id = await _resolve(db, identity, link_to)
        except IntegrityError:
            if attempt:
                raise IdentityError("sign_in_conflict", "Sign-in collided with another; try again.", 409) from None
            continue
        return user_id
    raise AssertionError("unreachable")


async def _resolve(db: Database, identity: VerifiedIdentity, link_to: uuid.UUID | None) -> uuid.UUID:
    owner = await store.account_owner(db, identity.provider, identity.subject)
    if owner is not None:
        if link_to is not None and owner != link_to:
            raise IdentityError("account_already_linked",
                                "This sign-in is already linked to another user.", status=409)
        if await store.is_disabled(db, owner):
            raise disabled()
        await store.touch_account(db, owner, identity)
        return owner
    if link_to is not None:
        await store.add_account(db, link_to, identity)
        return link_to
    if identity.email:
        match = await store.email_owner(db, identity.email)
        if match is not None:
            if identity.email_verified and match.email_verified:
                if match.disabled:
                    raise disabled()
                await store.add_account(db, match.user_id, identity)
                return match.user_id
            raise linking_blocked()
    return await store.create_user(db, identity)
