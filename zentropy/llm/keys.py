"""Users' own provider keys (BYOK): stored encrypted, used for their calls, never returned or logged."""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from zentropy.db import tenant
from zentropy.llm.crypto import decrypt_user_key, encrypt_user_key
from zentropy.llm.models import LLMUserKey
from zentropy.runtime import Runtime

BYOK_PROVIDERS = frozenset({"openrouter"})
KEY_SHAPE = re.compile(r"^[A-Za-z0-9_\-.]{16,256}$")


class InvalidUserKey(ValueError):
    """The key cannot be stored (wrong shape or provider); the message never contains the key."""


async def store_user_key(runtime: Runtime, user_id: uuid.UUID, key: str, provider: str = "openrouter") -> None:
    if provider not in BYOK_PROVIDERS:
        raise InvalidUserKey(f"own keys are accepted for {', '.join(sorted(BYOK_PROVIDERS))} only")
    key = key.strip()
    if not KEY_SHAPE.match(key):
        raise InvalidUserKey("that does not look like an API key (16-256 letters, digits, '-', '_' or '.')")
    blob = encrypt_user_key(runtime.settings.secret_key, user_id, provider, key)
    statement = insert(LLMUserKey).values(user_id=user_id, provider=provider, ciphertext=blob)
    statement = statement.on_conflict_do_update(
        index_elements=[LLMUserKey.user_id, LLMUserKey.provider],
        set_={"ciphertext": blob, "updated_at": sa.func.now()},
    )
    with tenant(user_id):
        async with runtime.db.session() as session:
            await session.execute(statement)


async def delete_user_key(runtime: Runtime, user_id: uuid.UUID, provider: str = "openrouter") -> bool:
    with tenant(user_id):
        async with runtime.db.session() as session:
            result = await session.execute(
                sa.delete(LLMUserKey).where(LLMUserKey.user_id == user_id, LLMUserKey.provider == provider))
    return result.rowcount > 0


async def has_user_key(runtime: Runtime, user_id: uuid.UUID, provider: str = "openrouter") -> bool:
    return await _blob(runtime, user_id, provider) is not None


async def load_user_key(runtime: Runtime, user_id: uuid.UUID, provider: str = "openrouter") -> str | None:
    """The decrypted key, for the call being made on the user's behalf only."""
    blob = await _blob(runtime, user_id, provider)
    if blob is None:
        return None
    return decrypt_user_key(runtime.settings.secret_key, user_id, provider, blob)


async def _blob(runtime: Runtime, user_id: uuid.UUID, provider: str) -> bytes | None:
    with tenant(user_id):
        async with runtime.db.session() as session:
            return await session.scalar(
                sa.select(LLMUserKey.ciphertext).where(LLMUserKey.user_id == user_id, LLMUserKey.provider == provider))
