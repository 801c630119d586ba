"""Wires sign-in into the app: the session middleware, the app-wide request guard (CSRF and the
onboarding gate) and the `current_user` dependency."""

from __future__ import annotations

from litestar.config.app import AppConfig
from litestar.di import Provide
from litestar.plugins import InitPluginProtocol

from zentropy.auth.guards import provide_current_user, request_guard
from zentropy.auth.middleware import session_middleware


class AuthPlugin(InitPluginProtocol):
    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.middleware.append(session_middleware)
        app_config.guards.append(request_guard)
        app_config.dependencies["current_user"] = Provide(provide_current_user)
        return app_config
