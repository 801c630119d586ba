"""Sign-in: identity providers (plugins), accounts and linking, sessions, the onboarding gate.

For feature authors (see docs/auth.md): a handler that needs the signed-in user takes
`current_user: NamedDependency[CurrentUser]` (401 `unauthenticated` without a session) or is
guarded by `signed_in`; the request already runs in that user's tenant context.
"""

from zentropy.auth.contract import (
    AuthorizationRequest,
    EmailProvider,
    EmailSignIn,
    IdentityError,
    IdentityProvider,
    RedirectProvider,
    VerifiedIdentity,
)

__all__ = [
    "AuthorizationRequest",
    "CurrentUser",
    "EmailProvider",
    "EmailSignIn",
    "IdentityError",
    "IdentityProvider",
    "RedirectProvider",
    "VerifiedIdentity",
    "signed_in",
]


def __getattr__(name: str):  # noqa: ANN202 - the HTTP side loads lazily (zentropy.db.models imports this package)
    if name == "CurrentUser":
        from zentropy.auth.middleware import CurrentUser

        return CurrentUser
    if name == "signed_in":
        from zentropy.auth.guards import signed_in

        return signed_in
    raise AttributeError(name)
