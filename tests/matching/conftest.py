"""An empty catalog, LLM services on the local fallback or on the loopback OpenRouter server, users
with preferences, and signed-in clients."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import text

from tests.conftest import empty_catalog
from tests.llm.conftest import local_provider, loopback, make_service, openrouter, system_rows  # noqa: F401
from zentropy.auth.service import Auth
from zentropy.catalog.ingest import ingest
from zentropy.db import tenant
from zentropy.sources.contract import Posting, SourceInfo

LOCAL_ROUTES = {"extraction_models": "local:rules", "embedding_models": "local:all-minilm-l6-v2"}
GOOD = {
    "required_skills": ["python", "Postgres"], "preferred_skills": ["k8s"], "seniority": "senior",
    "years_experience": 5, "remote": "remote",
    "salary": {"min": 70000, "max": 90000, "currency": "eur", "period": "year"}, "employment_type": "full_time",
}
MARKER = "Zebrafish telemetry sentence that only the description holds."


def description(skills: str, extra: str = "") -> str:
    return (f"We build logistics software used by three hundred warehouses. You will design services and "
            f"review code. Requirements: {skills}. {extra} {MARKER} Full-time.")


def posting(external_id: str, *, title: str = "Backend Engineer", skills: str = "Python and PostgreSQL",
            extra: str = "", **fields) -> Posting:
    defaults = dict(source="adzuna", title=title, company=f"Company {external_id}", locations=["Berlin"],
                    description_text=description(skills, extra))
    defaults.update(fields)
    return Posting(external_id=external_id, **defaults)


@pytest.fixture
async def catalog(runtime, owner_engine):
    await empty_catalog(owner_engine, runtime)
    return runtime


async def add(runtime, *postings: Posting) -> list[int]:
    report = await ingest(runtime, SourceInfo(name="adzuna", tier="free"), list(postings),
                          now=datetime.now(timezone.utc))
    return [r.posting_id for r in report.results]


@pytest.fixture
def local(make_service, local_provider):  # noqa: F811
    service, _ = make_service([local_provider], **LOCAL_ROUTES)
    return service


@pytest.fixture
def remote(make_service, openrouter, local_provider, loopback):  # noqa: F811
    loopback.default_content = json.dumps(GOOD)
    service, _ = make_service([openrouter, local_provider])
    return service


@pytest.fixture
def new_user(runtime):
    async def make(*, skills=("Python",), salary_min=None, currency="EUR", locations=(), remote=None,
                   prefs: bool = True) -> uuid.UUID:
        user_id = uuid.uuid4()
        with tenant(user_id):
            async with runtime.db.session() as session:
                await session.execute(sa.text("INSERT INTO users (id, email) VALUES (:id, :email)"),
                                      {"id": user_id, "email": f"{user_id.hex}@example.test"})
                if prefs:
                    await session.execute(sa.text(
                        "INSERT INTO user_preferences (user_id, skills, salary_min, salary_currency, locations, "
                        "remote, completed_at) VALUES (:id, :skills, :salary_min, :currency, :locations, :remote, "
                        "now())"), {"id": user_id, "skills": list(skills), "salary_min": salary_min,
                                    "currency": currency, "locations": list(locations), "remote": remote})
        return user_id

    return make


@pytest.fixture
def signed_in(runtime, client):
    async def make(user_id: uuid.UUID) -> dict[str, str]:
        session = await Auth.of(runtime).open_session(user_id, via="bearer", user_agent=None)
        return {"Authorization": f"Bearer {session.token}"}

    return make


async def rows(owner_engine, sql: str, **params) -> list:
    async with owner_engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())

