"""/api/v1/jobs/{id}: a catalog posting (metadata always, content while it lasts) and refetching it."""

from __future__ import annotations

import math

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath

from zentropy.auth.middleware import CurrentUser
from zentropy.http.errors import ProblemError
from zentropy.postings import service
from zentropy.postings.schemas import Job
from zentropy.runtime import Runtime


def not_found() -> ProblemError:
    return ProblemError(404, "job_not_found", "No such job in the catalog.")


class JobsController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}", summary="A job: its metadata, and its text until the content expires (24 h by "
                                  "default); after that `content_status` is `expired` and `source_url` says "
                                  "where to read it")
    async def read(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime]) -> Job:
        job = await service.load_job(runtime, job_id)
        if job is None:
            raise not_found()
        return job

    @post("/{job_id:int}/refetch", status_code=200,
          summary="Fetch an expired job's text again from a source that can (it gets a fresh TTL)",
          responses={409: ResponseSpec(None, description="No source of the job can fetch it again "
                                                         "(`refetch_unsupported`); `source_url` says where to read it"),
                     410: ResponseSpec(None, description="The source no longer has the job"),
                     502: ResponseSpec(None, description="The source failed"),
                     503: ResponseSpec(None, description="The source is rate limited or paused (Retry-After)")})
    async def refetch(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                      runtime: NamedDependency[Runtime]) -> Job:
        try:
            job = await service.refetch(runtime, job_id)
        except service.RefetchError as exc:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after is not None else None
            raise ProblemError(exc.status, exc.code, exc.detail, headers=headers, source_url=exc.source_url,
                               **exc.members) from None
        if job is None:
            raise not_found()
        return job
