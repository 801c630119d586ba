"""Loopback HTTP servers that speak the job APIs' real wire formats.

`FakeServer(handler)` is a real HTTP/1.1 server on 127.0.0.1 (port chosen by the OS), in a thread
of its own, so it answers sync and async tests and subprocesses alike. `handler(request)` returns a
`Reply`; replies pushed on `server.script` are used first (faults: delays, slow drip, cut-short
bodies, any status). Each API fake is built from the captured responses in
shared/fixtures/sources/ (Adzuna, SerpApi, Remotive, Greenhouse) or, for Arbeitnow and Lever, from
their documented formats.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "sources"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


@dataclass
class Reply:
    status: int = 200
    body: Any = b""  # bytes, str, or anything JSON-serializable
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before the status line
    drip: float | None = None  # seconds between body chunks
    chunk: int = 8
    truncate: int | None = None  # send only this many body bytes (declaring them all), then close

    def payload(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


def json_reply(body: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status=status, body=body, headers={"Content-Type": "application/json; charset=utf-8", **headers})


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    at: float = field(default_factory=time.monotonic)  # when it arrived

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None


class FakeServer:
    def __init__(self, handler: Callable[[Request], Reply]) -> None:
        self.handler = handler
        self.script: deque[Reply] = deque()
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for a delayed ACK

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                parts = urlsplit(self.path)
                request = Request("GET", parts.path, parse_qs(parts.query, keep_blank_values=True),
                                  {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.requests.append(request)
                    reply = server.script.popleft() if server.script else None
                try:
                    self._send(reply or server.handler(request))
                except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError):
                    self.close_connection = True

            def _send(self, reply: Reply) -> None:
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.payload()
                self.send_response(reply.status)
                headers = {"Content-Type": "application/json", **reply.headers}
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                if reply.truncate is not None:
                    self.send_header("Connection", "close")
                self.end_headers()
                if reply.truncate is not None:
                    self.wfile.write(body[: reply.truncate])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if reply.drip is None:
                    self.wfile.write(body)
                    return
                for start in range(0, len(body), reply.chunk):
                    self.wfile.write(body[start: start + reply.chunk])
                    self.wfile.flush()
                    time.sleep(reply.drip)

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            block_on_close = False

        self._server = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def count(self, path_prefix: str = "/") -> int:
        with self._lock:
            return sum(1 for r in self.requests if r.path.startswith(path_prefix))

    def __enter__(self) -> FakeServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def _words_match(query: str | None, *texts: Any) -> bool:
    words = (query or "").lower().split()
    if not words:  # every job matches, and no text is joined: paging a listing of thousands stays linear
        return True
    hay = " ".join(str(t) for t in texts if t).lower()
    return all(word in hay for word in words)


# -- Adzuna -----------------------------------------------------------------------------------------
def adzuna_items(n: int) -> list[dict[str, Any]]:
    """`n` results in the captured shape (the captured ones first, then variations of them)."""
    captured = fixture("adzuna_search.json")["results"]
    items = []
    for i in range(n):
        item = copy.deepcopy(captured[i % len(captured)])
        if i >= len(captured):
            item["id"] = str(4_000_000_000 + i)
            item["title"] = f"{item['title']} {i}"
            item["adref"] = base64.b64encode(f"ref-{i}".encode()).decode()
        items.append(item)
    return items


class AdzunaFake:
    AUTH_FAIL = {"__CLASS__": "Adzuna::API::Response::Exception", "exception": "AUTH_FAIL",
                 "display": "Authorisation failed", "doc": "https://api.adzuna.com/v1/doc"}

    def __init__(self, results: list[dict[str, Any]] | None = None, app_id: str = "test-app-id",
                 app_key: str = "test-app-key-s3cret") -> None:
        self.results = adzuna_items(2) if results is None else results
        self.app_id, self.app_key = app_id, app_key

    def __call__(self, request: Request) -> Reply:
        match = re.fullmatch(r"/v1/api/jobs/([a-z]{2})/search/(\d+)", request.path)
        if not match:
            return json_reply({"__CLASS__": "Adzuna::API::Response::Exception", "exception": "NOT_FOUND"}, 404)
        if request.param("app_id") != self.app_id or request.param("app_key") != self.app_key:
            return json_reply(self.AUTH_FAIL, 401)
        per_page = int(request.param("results_per_page") or 10)
        if per_page > 50:
            return json_reply({"__CLASS__": "Adzuna::API::Response::Exception", "exception": "BAD_PARAM",
                               "display": "results_per_page must be at most 50"}, 400)
        matched = [r for r in self.results if _words_match(request.param("what"), r.get("title"), r.get("description"))]
        page = int(match.group(2))
        body = {"__CLASS__": "Adzuna::API::Response::JobSearchResults", "count": len(matched), "mean": 41115.4,
                "results": matched[(page - 1) * per_page: page * per_page]}
        return json_reply(body)


# -- SerpApi Google Jobs ------------------------------------------------------------------------------
def serpapi_jobs(n: int) -> list[dict[str, Any]]:
    captured = fixture("serpapi_google_jobs.json")["jobs_results"]
    jobs = []
    for i in range(n):
        job = copy.deepcopy(captured[i % len(captured)])
        if i >= len(captured):
            job["title"] = f"{job['title']} {i}"
            job["job_id"] = base64.b64encode(json.dumps({"job_title": job["title"], "n": i}).encode()).decode()
        jobs.append(job)
    return jobs


class SerpApiFake:
    INVALID_KEY = {"error": "Invalid API key. Your API key should be here: https://serpapi.com/manage-api-key"}
    OUT_OF_SEARCHES = {"error": "Your account has run out of searches."}

    def __init__(self, jobs: list[dict[str, Any]] | None = None, api_key: str = "test-serpapi-key-s3cret",
                 searches_left: int = 100) -> None:
        self.jobs = serpapi_jobs(2) if jobs is None else jobs
        self.api_key = api_key
        self.searches_left = searches_left
        self.searches = 0
        self.captured = fixture("serpapi_google_jobs.json")

    def __call__(self, request: Request) -> Reply:
        if request.param("api_key") != self.api_key:
            return json_reply(self.INVALID_KEY, 401)
        if request.path == "/account.json":
            return json_reply({
                "account_id": "5f8d0e6b1c9d440000a1b2c3", "api_key": self.api_key, "account_email": "dev@example.com",
                "account_status": "Active", "plan_id": "developer", "plan_name": "Developer Plan",
                "searches_per_month": 5000, "plan_searches_left": self.searches_left, "extra_credits": 0,
                "total_searches_left": self.searches_left, "this_month_usage": self.searches,
                "this_hour_searches": self.searches, "last_hour_searches": 0, "account_rate_limit_per_hour": 1000,
            })
        if request.path != "/search.json":
            return json_reply({"error": "Not found"}, 404)
        if request.param("engine") != "google_jobs":
            return json_reply({"error": "Unsupported `engine` parameter."}, 400)
        if request.param("start") is not None:
            return json_reply({"error": "`start` parameter is discontinued. Use `next_page_token` instead."}, 400)
        if self.searches_left <= 0:
            return json_reply(self.OUT_OF_SEARCHES, 429)
        self.searches_left -= 1
        self.searches += 1
        metadata = dict(self.captured["search_metadata"], created_at="2026-11-26 10:00:00 UTC")
        parameters = {"q": request.param("q"), "engine": "google_jobs", "google_domain": "google.com",
                      "hl": request.param("hl") or "en", "gl": request.param("gl") or "us"}
        matched = [j for j in self.jobs if _words_match(request.param("q"), j["title"], j.get("description"))]
        token = request.param("next_page_token")
        start = json.loads(base64.b64decode(token))["fc"] if token else 0
        if not matched[start:]:
            return json_reply({"search_metadata": metadata, "search_parameters": parameters,
                               "error": "Google hasn't returned any results for this query.",
                               "jobs_results_state": "Fully empty"})
        body: dict[str, Any] = {"search_metadata": metadata, "search_parameters": parameters,
                                "filters": self.captured["filters"], "jobs_results": matched[start: start + 10]}
        if start + 10 < len(matched):
            next_token = base64.b64encode(json.dumps({"fc": start + 10}).encode()).decode()
            body["serpapi_pagination"] = {
                "next_page_token": next_token,
                "next": f"https://serpapi.com/search.json?engine=google_jobs&next_page_token={next_token}",
            }
        return json_reply(body)


# -- Remotive ------------------------------------------------------------------------------------------
def remotive_jobs(n: int) -> list[dict[str, Any]]:
    captured = fixture("remotive.json")["jobs"]
    jobs = []
    for i in range(n):
        job = copy.deepcopy(captured[i % len(captured)])
        if i >= len(captured):
            job["id"] = 3_000_000 + i
            job["title"] = f"{job['title']} {i}"
            job["url"] = f"https://remotive.com/remote-jobs/software-development/job-{job['id']}"
        jobs.append(job)
    return jobs


class RemotiveFake:
    def __init__(self, jobs: list[dict[str, Any]] | None = None) -> None:
        self.jobs = remotive_jobs(3) if jobs is None else jobs
        self.captured = fixture("remotive.json")

    def __call__(self, request: Request) -> Reply:
        if request.path != "/api/remote-jobs":
            return json_reply({"error": "not found"}, 404)
        return json_reply({"00-warning": self.captured["00-warning"], "0-legal-notice": self.captured["0-legal-notice"],
                           "job-count": len(self.jobs), "total-job-count": len(self.jobs), "jobs": self.jobs})


# -- Greenhouse -----------------------------------------------------------------------------------------
def greenhouse_jobs(n: int, company: str = "Stripe") -> list[dict[str, Any]]:
    captured = fixture("greenhouse.json")["jobs"]
    jobs = []
    for i in range(n):
        job = copy.deepcopy(captured[i % len(captured)])
        if i >= len(captured) or company != "Stripe":
            job["id"] = 9_000_000 + i
            job["internal_job_id"] = 4_000_000 + i
            job["title"] = f"{job['title']} {i}"
            job["company_name"] = company
            job["absolute_url"] = f"https://boards.greenhouse.io/{company.lower()}/jobs/{job['id']}"
        jobs.append(job)
    return jobs


class GreenhouseFake:
    NOT_FOUND = {"status": 404, "error": "Job not found"}

    def __init__(self, boards: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.boards = {"stripe": greenhouse_jobs(2)} if boards is None else boards

    def __call__(self, request: Request) -> Reply:
        one = re.fullmatch(r"/v1/boards/([^/]+)/jobs/(\d+)", request.path)
        if one:
            job = next((j for j in self.boards.get(one.group(1), []) if j["id"] == int(one.group(2))), None)
            return json_reply(job) if job else json_reply(self.NOT_FOUND, 404)
        listing = re.fullmatch(r"/v1/boards/([^/]+)/jobs", request.path)
        if not listing or listing.group(1) not in self.boards:
            return json_reply(self.NOT_FOUND, 404)
        jobs = copy.deepcopy(self.boards[listing.group(1)])
        if request.param("content") != "true":
            for job in jobs:  # without content=true the board leaves these out
                for key in ("content", "departments", "offices"):
                    job.pop(key, None)
        return json_reply({"jobs": jobs, "meta": {"total": len(jobs)}})


# -- Arbeitnow (documented format: data, links, meta; 100 a page) ---------------------------------------
def arbeitnow_jobs(n: int) -> list[dict[str, Any]]:
    kinds = [["Full Time"], ["Berufserfahren", "Full Time"], ["Part Time"], ["Internship"], []]
    places = ["Berlin", "Munich", "Hamburg", "Remote", "Frankfurt am Main"]
    jobs = []
    for i in range(n):
        title = ["Senior Python Developer", "Werkstudent Marketing (m/w/d)", "Data Engineer", "UX Designer",
                 "Backend Engineer (Go)"][i % 5]
        jobs.append({
            "slug": f"{title.lower().replace(' ', '-').replace('(', '').replace(')', '').replace('/', '')}-{100000 + i}",
            "company_name": ["Acme GmbH", "Müller & Söhne AG", "Datenfabrik", "Pixel UG", "Gopher SE"][i % 5],
            "title": title,
            "description": f"<p>Wir suchen <strong>dich</strong> &amp; dein Team. Job {i}.</p><ul><li>Python</li></ul>",
            "remote": i % 5 == 3,
            "url": f"https://www.arbeitnow.com/jobs/companies/acme/{100000 + i}",
            "tags": ["IT", "Software Development"] if i % 2 == 0 else ["Marketing"],
            "job_types": kinds[i % len(kinds)],
            "location": places[i % len(places)],
            "created_at": 1_764_000_000 - i * 3600,
        })
    return jobs


class ArbeitnowFake:
    def __init__(self, jobs: list[dict[str, Any]] | None = None, per_page: int = 100) -> None:
        self.jobs = arbeitnow_jobs(5) if jobs is None else jobs
        self.per_page = per_page

    def __call__(self, request: Request) -> Reply:
        if request.path != "/api/job-board-api":
            return json_reply({"message": "Not Found"}, 404)
        page = int(request.param("page") or 1)
        base = "https://www.arbeitnow.com/api/job-board-api"
        chunk = self.jobs[(page - 1) * self.per_page: page * self.per_page]
        more = page * self.per_page < len(self.jobs)
        return json_reply({
            "data": chunk,
            "links": {"first": f"{base}?page=1", "last": None, "prev": f"{base}?page={page - 1}" if page > 1 else None,
                      "next": f"{base}?page={page + 1}" if more else None},
            "meta": {"current_page": page, "from": (page - 1) * self.per_page + 1 if chunk else None, "path": base,
                     "per_page": self.per_page, "to": (page - 1) * self.per_page + len(chunk) if chunk else None,
                     "terms": "This is a free public API for jobs, please do not abuse. By using the API, you agree "
                              "to the terms and link back to Arbeitnow.com",
                     "info": "Jobs are updated every hour and order by the `created_at` timestamp. Use `?page=` to "
                             "paginate."},
        })


# -- Lever (documented format: a JSON array of postings) ------------------------------------------------
def lever_postings(n: int, site: str = "leverdemo") -> list[dict[str, Any]]:
    workplaces = ["remote", "on-site", "hybrid", "unspecified"]
    postings = []
    for i in range(n):
        pid = f"5ac21346-8e0c-4494-8e7a-3eb92ff{i:05d}"
        title = ["Senior Software Engineer", "Account Executive", "Product Designer", "Data Scientist"][i % 4]
        posting: dict[str, Any] = {
            "additional": "<div>We are an equal opportunity employer.</div>",
            "additionalPlain": "We are an equal opportunity employer.",
            "categories": {"commitment": ["Full-time", "Part-time", "Intern", "Contract"][i % 4],
                           "department": "Engineering" if i % 2 == 0 else "Sales",
                           "location": ["San Francisco", "London", "Remote - US", "Toronto"][i % 4],
                           "team": ["Platform", "EMEA Sales", "Design", "Data"][i % 4],
                           "allLocations": [["San Francisco", "New York"], ["London"], ["Remote - US"], ["Toronto"]][i % 4]},
            "createdAt": 1_760_000_000_000 + i * 60_000,
            "descriptionPlain": f"Join us as a {title}.",
            "description": f"<div>Join us as a <b>{title}</b>.</div>",
            "descriptionBody": f"<div>{title} body</div>",
            "descriptionBodyPlain": f"{title} body",
            "opening": "<div>Join us.</div>",
            "openingPlain": "Join us.",
            "id": pid,
            "lists": [{"text": "Requirements", "content": "<li>5+ years</li><li>Python</li>"}],
            "text": title,
            "country": ["US", "GB", "US", "CA"][i % 4],
            "workplaceType": workplaces[i % 4],
            "hostedUrl": f"https://jobs.lever.co/{site}/{pid}",
            "applyUrl": f"https://jobs.lever.co/{site}/{pid}/apply",
        }
        if i % 2 == 0:
            posting["salaryRange"] = {"currency": "USD", "interval": "per-year-salary", "min": 150000, "max": 190000}
            posting["salaryDescription"] = "<div>Base salary</div>"
            posting["salaryDescriptionPlain"] = "Base salary"
        postings.append(posting)
    return postings


class LeverFake:
    NOT_FOUND = {"ok": False, "error": "Document not found"}

    def __init__(self, sites: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.sites = {"leverdemo": lever_postings(4)} if sites is None else sites

    def __call__(self, request: Request) -> Reply:
        one = re.fullmatch(r"/v0/postings/([^/]+)/([^/]+)", request.path)
        if one:
            posting = next((p for p in self.sites.get(one.group(1), []) if p["id"] == one.group(2)), None)
            return json_reply(posting) if posting else json_reply(self.NOT_FOUND, 404)
        listing = re.fullmatch(r"/v0/postings/([^/]+)", request.path)
        if not listing or listing.group(1) not in self.sites:
            return json_reply(self.NOT_FOUND, 404)
        if request.param("mode") != "json":
            return Reply(body="<div class='lever'><ul></ul></div>", headers={"Content-Type": "text/html"})
        postings = self.sites[listing.group(1)]
        skip = int(request.param("skip") or 0)
        limit = int(request.param("limit") or len(postings))
        return json_reply(postings[skip: skip + limit])
