"""/api/v1/jobs/{id}: a catalog posting (metadata always, content while it lasts) and refetching it."""

from __future__ import annotations

import math

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath
from litestar.response import Redirect

from zentropy.auth.middleware import CurrentUser
from zentropy.http.errors import ProblemError
from zentropy.postings import service
from zentropy.postings.schemas import Job
from zentropy.runtime import Runtime
from zentropy.search.results import job_url

MERGED = ResponseSpec(None, description="The job was merged into another (the same job, listed twice): "
                                        "`Location` is that job's URL")


def not_found() -> ProblemError:
    return ProblemError(404, "job_not_found", "No such job in the catalog.")


async def missing(runtime: Runtime, job_id: int, path: str = "") -> Redirect:
    """For a job that is not in the catalog: a redirect to the job it was merged into, or 404."""
    kept = await service.merged_into(runtime, job_id)
    if kept is None:
        raise not_found()
    return Redirect(job_url(runtime.settings.public_url, kept) + path, status_code=308)


class JobsController(Controller):
    path = "/api/v1/jobs"
    tags = ["jobs"]

    @get("/{job_id:int}", summary="A job: its metadata, and its text until the content expires (24 h by "
                                  "default); after that `content_status` is `expired` and `source_url` says "
                                  "where to read it", responses={308: MERGED})
    async def read(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                   runtime: NamedDependency[Runtime]) -> Job | Redirect:
        job = await service.load_job(runtime, job_id)
        if job is None:
            return await missing(runtime, job_id)
        return job

    @post("/{job_id:int}/refetch", status_code=200,
          summary="Fetch an expired job's text again from a source that can (it gets a fresh TTL)",
          responses={308: MERGED, 409: ResponseSpec(None, description="No source of the job can fetch it again "
                                                         "(`refetch_unsupported`); `source_url` says where to read it"),
                     410: ResponseSpec(None, description="The source no longer has the job"),
                     502: ResponseSpec(None, description="The source failed"),
                     503: ResponseSpec(None, description="The source is rate limited or paused (Retry-After)")})
    async def refetch(self, job_id: FromPath[int], current_user: NamedDependency[CurrentUser],
                      runtime: NamedDependency[Runtime]) -> Job | Redirect:
        try:
            job = await service.refetch(runtime, job_id)
        except service.RefetchError as exc:
            headers = {"Retry-After": str(math.ceil(exc.retry_after))} if exc.retry_after is not None else None
            raise ProblemError(exc.status, exc.code, exc.detail, headers=headers, source_url=exc.source_url,
                               **exc.members) from None
        if job is None:
            return await missing(runtime, job_id, "/refetch")
        return job
