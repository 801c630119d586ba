"""Errors as RFC 9457 problem details, each with a stable machine-readable `code`."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"


class ProblemError(HTTPException):
    """Raise with a status, a stable `code` and a human `detail`; extra members go in the body."""

    def __init__(self, status_code: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                 **members: Any) -> None:
        super().__init__(status_code=status_code, detail=detail, headers=headers)
        self.code = code
        self.members = members


DEFAULT_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    409: "conflict", 413: "payload_too_large", 415: "unsupported_media_type", 422: "validation_failed",
    429: "rate_limited", 500: "internal_error", 503: "unavailable",
}


def problem(request: Request, status: int, code: str, detail: str, headers: dict[str, str] | None = None,
            **members: Any) -> Response:
    body = {
        "type": f"https://zentropy.dev/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.url.path,
        **members,
    }
    request_id = request.scope.get("state", {}).get("request_id")
    if request_id:
        body["request_id"] = request_id
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def handle_http(request: Request, exc: HTTPException) -> Response:
    if isinstance(exc, ProblemError):
        return problem(request, exc.status_code, exc.code, exc.detail, exc.headers, **exc.members)
    code = DEFAULT_CODES.get(exc.status_code, "error")
    members: dict[str, Any] = {}
    if isinstance(exc, ValidationException):
        code = "validation_failed"
        members["errors"] = exc.extra or []
        status = 400
    else:
        status = exc.status_code
    if isinstance(exc, NotFoundException):
        detail = "Not found."
    else:
        detail = exc.detail
    return problem(request, status, code, detail, exc.headers, **members)


def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path})
    return problem(request, 500, "internal_error", "An unexpected error occurred; it has been logged.")


EXCEPTION_HANDLERS = {HTTPException: handle_http, Exception: handle_unexpected}
__all__ = ["EXCEPTION_HANDLERS", "MediaType", "ProblemError", "problem"]
