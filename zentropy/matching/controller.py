"""GET /api/v1/jobs/{id}/match: how well a catalog job fits the signed-in user; GET /api/v1/me/matches:
the catalog jobs nearest to their preferences."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, Parameter

from zentropy.auth import CurrentUser
from zentropy.http.errors import ProblemError
from zentropy.llm import LLMError
from zentropy.matching.fit import refine_match
from zentropy.matching.nearest import MAX_K, NearMatches, nearest_matches
from zentropy.matching.schemas import Match
from zentropy.matching.service import match
from zentropy.runtime import Runtime


class MatchController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}/match", summary="How well a job fits you: a score in 0..1 and its breakdown (skills "
                                        "overlap, similarity to your preferences, salary and location fit)")
    async def read(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime]) -> Match:
        found = await match(runtime, current_user.user_id, [job_id])
        if job_id not in found:
            raise ProblemError(404, "job_not_found", "No such job in the catalog.")
        return found[job_id]

    @post("/{job_id:int}/match/refine", status_code=200,
          summary="Have a language model judge how well a job fits you: its judgement (`fit`, strengths, gaps) "
                  "joins the breakdown and the score, and is kept until your preferences change. With no "
                  "model available (no key), the match as computed without one",
          responses={402: ResponseSpec(None, description="Your LLM budget is spent (`llm_budget_exceeded`), or "
                                                         "the provider account is out of credits"),
                     429: ResponseSpec(None, description="Your LLM rate limit (`llm_rate_limited`, Retry-After)"),
                     502: ResponseSpec(None, description="The model failed or answered twice outside the schema "
                                                         "(`llm_invalid_output`); nothing was stored"),
                     503: ResponseSpec(None, description="The provider is unavailable")})
    async def refine(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                     runtime: NamedDependency[Runtime]) -> Match:
        try:
            found = await refine_match(runtime, current_user.user_id, job_id)
        except LLMError as exc:
            raise exc.problem() from None
        if found is None:
            raise ProblemError(404, "job_not_found", "No such job in the catalog.")
        return found


class MyMatchesController(Controller):
    path = "/api/v1/me"
    tags = ["me"]

    @get("/matches", summary="The catalog jobs nearest to your preferences (vector search), nearest first, each "
                             "with its match score and breakdown")
    async def nearest(self, current_user: NamedDependency[CurrentUser], runtime: NamedDependency[Runtime],
                      limit: Annotated[int, Parameter(ge=1, le=MAX_K)] = 20) -> NearMatches:
        return await nearest_matches(runtime, current_user.user_id, limit)
