"""GET /api/v1/jobs/{id}/match: how well a catalog job fits the signed-in user."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from zentropy.auth import CurrentUser
from zentropy.http.errors import ProblemError
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
