"""A user's own OpenRouter key: encrypted at rest, used for their calls, metered as theirs, never shown."""

from __future__ import annotations

import logging
import uuid

import pytest
import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.llm.conftest import SYSTEM_KEY, usage_rows
from tests.llm.loopback import error
from zentropy.db import tenant
from zentropy.llm.contract import Message
from zentropy.llm.crypto import decrypt_user_key, encrypt_user_key, opaque_user_id
from zentropy.llm.errors import LLMError
from zentropy.llm.keys import InvalidUserKey, delete_user_key, has_user_key, load_user_key, store_user_key
from zentropy.llm.models import LLMUserKey
from zentropy.llm.usage import usage_report

OWN_KEY = "sk-or-v1-0123456789abcdef-users-own-key"
HI = [Message("user", "Hi")]
SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


async def ciphertext(runtime, user_id) -> bytes | None:
    with tenant(user_id):
        async with runtime.db.session() as session:
            return await session.scalar(sa.select(LLMUserKey.ciphertext).where(LLMUserKey.user_id == user_id))


async def test_key_is_stored_encrypted_and_only_its_owner_sees_it(runtime, new_user):
    alice, bob = await new_user(), await new_user()
    await store_user_key(runtime, alice, f"  {OWN_KEY}\n")
    blob = await ciphertext(runtime, alice)
    assert blob is not None and OWN_KEY.encode() not in blob and b"sk-or" not in blob
    assert await has_user_key(runtime, alice) and await load_user_key(runtime, alice) == OWN_KEY
    assert not await has_user_key(runtime, bob) and await ciphertext(runtime, bob) is None
    # a ciphertext copied into another user's row does not decrypt there (bound to user and provider)
    with pytest.raises(InvalidTag):
        decrypt_user_key(runtime.settings.secret_key, bob, "openrouter", blob)
    await store_user_key(runtime, alice, OWN_KEY.replace("0123", "9999"))  # replacing keeps one row
    assert await load_user_key(runtime, alice) == OWN_KEY.replace("0123", "9999")
    assert await delete_user_key(runtime, alice) is True
    assert not await has_user_key(runtime, alice) and await delete_user_key(runtime, alice) is False


@pytest.mark.parametrize("bad", ["", "short", "has spaces in the middle of it", "x" * 300, "sk-or-v1-\u00e9\u00e9\u00e9\u00e9abcdefghijkl"])
async def test_malformed_keys_are_refused_without_echoing_them(runtime, new_user, bad):
    user = await new_user()
    with pytest.raises(InvalidUserKey) as caught:
        await store_user_key(runtime, user, bad)
    assert bad.strip() == "" or bad not in str(caught.value)
    assert not await has_user_key(runtime, user)


async def test_keys_for_other_providers_are_refused(runtime, new_user):
    with pytest.raises(InvalidUserKey):
        await store_user_key(runtime, await new_user(), OWN_KEY, provider="openai")


async def test_calls_use_the_users_key_are_metered_as_theirs_and_skip_the_budget(
        make_service, openrouter, loopback, new_user, runtime):
    service, _ = make_service([openrouter], monthly_budget_usd=0)  # no budget at all
    user, other = await new_user(), await new_user()
    await store_user_key(runtime, user, OWN_KEY)
    await service.chat("scoring", HI, user_id=user)
    assert loopback.chats()[0].headers["authorization"] == f"Bearer {OWN_KEY}"
    assert loopback.chats()[0].body["user"] == opaque_user_id(runtime.settings.secret_key, user)
    [row] = await usage_rows(runtime, user)
    assert row.byok is True and row.status == "ok"
    report = await usage_report(runtime, user, service.settings)
    assert report.own_key is True and report.days[0].cost_usd == 0 and report.days[0].own_key_cost_usd > 0
    # another user, without a key, is held to the (zero) budget and never gets the first user's key
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=other)
    assert caught.value.code == "llm_budget_exceeded" and len(loopback.chats()) == 1


async def test_with_an_own_key_the_services_other_providers_are_not_used(
        make_service, openrouter, local_provider, loopback, new_user, runtime):
    from zentropy_plugins.llm.openai import OpenAIProvider

    openai = OpenAIProvider(api_key="sk-openai-system", base_url=loopback.url)
    service, _ = make_service([openrouter, openai, local_provider],
                              extraction_models="openrouter:a/b, openai:gpt-4.1-nano, local:rules")
    user = await new_user()
    await store_user_key(runtime, user, OWN_KEY)
    loopback.reply(error(402, "Insufficient credits"))
    from zentropy.llm import extract_posting

    extraction = await extract_posting(runtime, "Python developer", user_id=user)
    assert extraction.method == "rules"  # the user's key was out of credits: local, not the service's OpenAI key
    assert [r.headers["authorization"] for r in loopback.chats()] == [f"Bearer {OWN_KEY}"]
    rows = await usage_rows(runtime, user)
    assert [(r.provider, r.byok, r.error_code) for r in rows] == [("openrouter", True, "llm_out_of_credits"),
                                                                  ("local", False, None)]


async def test_the_key_is_never_logged_nor_in_errors(make_service, openrouter, loopback, new_user, runtime, caplog):
    service, _ = make_service([openrouter])
    user = await new_user()
    caplog.set_level(logging.DEBUG)
    await store_user_key(runtime, user, OWN_KEY)
    loopback.reply(error(401, "User not found."))
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=user)
    assert caught.value.code == "llm_provider_auth" and "your own API key" in caught.value.message
    text = caplog.text + str(caught.value) + repr(caught.value.problem().detail)
    assert OWN_KEY not in text and SYSTEM_KEY not in text


@settings(max_examples=30, deadline=None)
@given(key=st.text(alphabet=st.characters(codec="utf-8"), max_size=300), other=st.uuids())
def test_encryption_round_trips_and_is_bound_to_its_user(key, other):
    user = uuid.UUID(int=1)
    blob = encrypt_user_key(SECRET, user, "openrouter", key)
    assert decrypt_user_key(SECRET, user, "openrouter", blob) == key
    assert encrypt_user_key(SECRET, user, "openrouter", key) != blob  # a fresh nonce each time
    for wrong in ((SECRET + "x", user, "openrouter"), (SECRET, other, "openrouter"), (SECRET, user, "openai")):
        if wrong == (SECRET, user, "openrouter"):
            continue
        with pytest.raises(InvalidTag):
            decrypt_user_key(wrong[0], wrong[1], wrong[2], blob)


@given(a=st.uuids(), b=st.uuids())
def test_opaque_user_ids_are_stable_distinct_and_reveal_nothing(a, b):
    assert opaque_user_id(SECRET, a) == opaque_user_id(SECRET, a)
    assert (opaque_user_id(SECRET, a) == opaque_user_id(SECRET, b)) == (a == b)
    assert a.hex not in opaque_user_id(SECRET, a) and opaque_user_id(SECRET + "x", a) != opaque_user_id(SECRET, a)


async def test_a_key_stored_under_another_secret_is_not_used_and_the_user_is_told(make_service, openrouter,
                                                                                  loopback, new_user, runtime):
    service, _ = make_service([openrouter])
    user = await new_user()
    blob = encrypt_user_key("an-older-secret-key-0123456789-abcdefghij", user, "openrouter", OWN_KEY)
    with tenant(user):
        async with runtime.db.session() as session:
            await session.execute(sa.insert(LLMUserKey).values(user_id=user, provider="openrouter", ciphertext=blob))
    with pytest.raises(LLMError) as caught:
        await service.chat("scoring", HI, user_id=user)
    assert caught.value.code == "llm_provider_auth" and "store it again" in caught.value.message
    assert loopback.requests == []  # not sent with the service's key instead
