"""The isolation proof: several people drive every operation of the API with random valid and
invalid inputs, and no one ever sees or changes another's data.

The operations are read from the running app's `/schema/openapi.json`, so a new endpoint is driven
without a change here. Three people sign up through the real flow (magic link over loopback SMTP,
bearer sessions), onboard, store a provider key and have LLM usage; each person's data carries a
unique marker. A hypothesis state machine then makes requests as a random person (or anonymously):
path parameters from the actor's recent ids, everyone's object ids (read from the database) and
random values, query parameters and JSON bodies from the schema (with the actor's marker and
others' ids planted in them) or simply wrong; it also follows links found in responses, the
actor's own and other people's. A response that streams (server-sent events) is read for a moment,
then the client hangs up. After each request:

- no response contains another person's marker, email, session token or object ids (beyond what
  the request itself sent), nor any stored provider key or token hash, even the actor's own;
- no tenant row of anyone but the actor changed (every tenant table, read as the owner behind
  row-level security), and no row of the actor's now refers to another person's object;
- every database transaction of the request ran in the actor's tenant context or in none;
- a request naming another person's object answers exactly like one naming a missing object;
- a signed-in person never gets 401, and nothing answers 500.

Sessions a request ends (logout) are replaced by signing in again; a person who deletes their
account is checked to have no rows left and is replaced by a new person. Google linking runs as a
flow of its own, trying fresh subjects and other people's. At the end, row-level security is
checked as the service role on every tenant table with the rows the run made.
"""

from __future__ import annotations

import asyncio
import contextvars
import re
import secrets
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote as urlquote
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import msgspec
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test
from sqlalchemy import event, text

from tests.tenancy.asgi import call
from tests.tenancy.conftest import PUBLIC, Person, app_client, new_marker, sign_in, sign_up
from tests.tenancy.openapi import PUBLIC_OBJECT_PATHS, Operation, Plant, from_schema, json_values, operations
from tests.tenancy.rls_checks import check_every_tenant_table
from zentropy.accounts.tables import quote, tenant_tables
from zentropy.db.tenant import TenantSession, current_user_id
from zentropy.feed.service import add_to_feed
from zentropy.llm.crypto import decrypt_user_key
from zentropy.llm.metering import CallRecord, record

# Operations that cannot be driven meaningfully, with the reason. None so far: a stream (server-sent
# events) is driven too, read for STREAM_SECONDS before the client hangs up.
EXCLUDED: dict[tuple[str, str], str] = {}
STREAM_SECONDS = 0.3
STEP_SECONDS = 30
PEOPLE = 3
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
EMAIL = re.compile(r"[^\s\"'<>@,;]+@[^\s\"'<>@,;]+")
MISSING_INT = "8123456789012345"
LINK_GOOGLE = Operation("post", "(link a Google account: the whole redirect flow)")
FOLLOW_LINK = Operation("get", "(follow a link from a response: one's own, or someone else's)")

ACTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("tenancy_acting", default=None)


def among(items: list[Any]) -> st.SearchStrategy[Any]:
    """One of `items`, a list whose length changes as the world does, drawn as an index of fixed
    range: hypothesis wants the shape of what is drawn to depend on the draws alone (lists of fixed
    length, like the operations or the people, use `sampled_from`)."""
    return st.integers(min_value=0, max_value=2**16).map(lambda i: items[i % len(items)])


def strings(value: Any) -> list[str]:
    """Every string in a JSON document."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def object_ids(value: Any) -> list[str]:
    """The values of `id` and `..._id` members anywhere in a JSON document."""
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if (k == "id" or k.endswith("_id")) and isinstance(v, str | int) and not isinstance(v, bool):
                found.append(str(v))
            found.extend(object_ids(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(object_ids(v))
    return found


@dataclass
class Request:
    path: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    raw: bytes | None = None  # a body that is not JSON
    form: dict[str, str] | None = None
    link: str | None = None  # a whole path (a link followed), instead of the operation's

    def strings(self) -> list[str]:
        """Every string the request carries (what a response may legitimately echo)."""
        out = [*self.path.values(), *self.query.values(), *self.headers.values(), *(self.form or {}).values()]
        if self.link is not None:
            out.append(self.link)
        if self.raw is not None:
            out.append(self.raw.decode("utf-8", "replace"))

        def walk(value: Any) -> None:
            if isinstance(value, str):
                out.append(value)
            elif isinstance(value, bool) or value is None:
                return
            elif isinstance(value, int | float):
                out.append(str(value))
            elif isinstance(value, dict):
                for k, v in value.items():
                    out.append(str(k))
                    walk(v)
            elif isinstance(value, list):
                for v in value:
                    walk(v)

        walk(self.body)
        return out

    def replaced(self, subs: dict[str, str]) -> Request:
        def swap(value: Any) -> Any:
            if isinstance(value, str):
                for old, new in subs.items():
                    value = value.replace(old, new)
                return value
            if isinstance(value, int) and not isinstance(value, bool) and str(value) in subs:
                return int(subs[str(value)])
            if isinstance(value, dict):
                return {swap(k): swap(v) for k, v in value.items()}
            if isinstance(value, list):
                return [swap(v) for v in value]
            return value

        return Request(path=swap(self.path), query=swap(self.query), headers=swap(self.headers), body=swap(self.body),
                       raw=self.raw, form=swap(self.form), link=swap(self.link))


class World:
    """Everything the state machine acts on; its coroutines run on the test's event loop."""

    def __init__(self, loop, rt, owner_engine, inbox, google) -> None:  # noqa: ANN001
        self.loop, self.rt, self.owner_engine, self.inbox, self.google = loop, rt, owner_engine, inbox, google
        self.people: list[Person] = []
        self.retired: list[Person] = []
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.ops: list[Operation] = []
        self.tables = []
        self.snap: dict[tuple[str, str], tuple[str, str]] = {}
        self.secrets: set[str] = set()  # stored provider keys and token hashes: never in any response
        self.subjects: dict[str, str] = {}  # Google subject -> user id it is linked to
        self.neutral: set[str] = set()  # ids seen in responses (shared data, or anyone's)
        self.driven: Counter[tuple[str, str]] = Counter()
        self.statuses: Counter[tuple[str, str, int]] = Counter()
        self.own_marker_seen = 0
        self.contexts: list[tuple[str | None, str | None]] = []
        self._owners: dict[str, set[str]] | None = None
        self.doing = ""  # the step under way, for a report if it hangs
        self.recent: dict[str, list[str]] = {}  # ids in a person's own responses, newest first
        self.links: dict[str, list[str]] = {}  # links (paths) in a person's own responses, newest first
        self.sent: dict[str | None, set[str]] = {}  # what each person ever sent: theirs to see again
        self.app = None  # the app the people call

    # -- plumbing -----------------------------------------------------------------------------
    def run(self, coro) -> Any:  # noqa: ANN001
        future = asyncio.run_coroutine_threadsafe(coro, self.loop)
        try:
            return future.result(timeout=STEP_SECONDS)
        except TimeoutError:
            future.cancel()
            raise AssertionError(f"a step took over {STEP_SECONDS} s: {self.doing}") from None

    def _record_context(self, session, transaction, connection) -> None:  # noqa: ANN001
        tenant = current_user_id.get()
        self.contexts.append((ACTING.get(), str(tenant) if tenant else None))

    async def start(self) -> None:
        from zentropy.app import create_app

        event.listen(TenantSession, "after_begin", self._record_context)
        self.app = create_app(runtime=self.rt)
        self.clients["anonymous"] = app_client(self.rt)
        document = (await self.clients["anonymous"].get("/schema/openapi.json")).json()
        # Creating operations first: hypothesis leans towards the first choice, let it make objects.
        self.ops = sorted((op for op in operations(document) if op.key not in EXCLUDED), key=lambda op: (
            "{" in op.path, ["post", "put", "patch", "get", "delete"].index(op.method), "/auth/" in op.path))
        assert len(self.ops) >= 15, [repr(op) for op in self.ops]
        async with self.owner_engine.connect() as conn:
            self.tables = await tenant_tables(conn)
        self.uuid_columns = {t.name: [c for c, kind in zip(t.columns, t.types, strict=True)
                                      if kind == "uuid" and c != t.tenant_column] for t in self.tables}
        for _ in range(PEOPLE):
            await self.new_person()
        await self.take_snapshot()

    async def stop(self) -> None:
        event.remove(TenantSession, "after_begin", self._record_context)
        for client in self.clients.values():
            await client.aclose()

    async def new_person(self) -> Person:
        client = app_client(self.rt)
        person = await sign_up(client, self.inbox, marker=new_marker())
        self.clients[person.email] = client
        self.people.append(person)
        await self.plant(person)
        return person

    async def plant(self, person: Person) -> None:
        """Data of every kind, carrying the person's marker: a stored provider key, a search, a
        saved search, feed entries (as a saved-search run adds them), LLM usage."""
        key = f"sk-or-v1-{person.marker}{secrets.token_hex(12)}"
        client = self.clients[person.email]
        stored = await client.put("/api/v1/me/llm-key", json={"key": key}, headers=person.headers)
        assert stored.status_code == 200, stored.text
        started = await client.post("/api/v1/searches", json={"keywords": f"python {person.marker}"},
                                    headers=person.headers)
        assert started.status_code in (200, 202), started.text
        saved = await client.post("/api/v1/saved-searches", json={"name": f"{person.marker} alerts",
                                                                  "keywords": "rust"}, headers=person.headers)
        assert saved.status_code == 201, saved.text
        await add_to_feed(self.rt, uuid.UUID(person.user_id), uuid.UUID(saved.json()["id"]),
                          [secrets.randbelow(10**12) + 10**12 for _ in range(2)])
        await record(self.rt.db, CallRecord(user_id=uuid.UUID(person.user_id), task=f"extract {person.marker}",
                                            provider="openrouter", model="test/model", latency_ms=5, status="ok",
                                            cost=0.0001))

    def others(self, actor: Person | None) -> list[Person]:
        return [p for p in [*self.people, *self.retired] if actor is None or p.user_id != actor.user_id]

    # -- the database as the owner sees it -----------------------------------------------------
    async def take_snapshot(self) -> dict[tuple[str, str], tuple[str, str]]:
        parts = []
        for t in self.tables:
            key = f"json_build_array({', '.join('t.' + quote(c) for c in t.primary_key)})::text" \
                if t.primary_key else "to_jsonb(t)::text"
            parts.append(f"SELECT '{t.name}', t.{quote(t.tenant_column)}::text, {key}, to_jsonb(t)::text "
                         f"FROM {quote(t.name)} t")
        async with self.owner_engine.connect() as conn:
            await conn.execute(text("SET LOCAL row_security = off"))
            rows = (await conn.execute(text(" UNION ALL ".join(parts)))).all()
        snap = {(table, key): (owner, row) for table, owner, key, row in rows}
        tracked = {p.user_id for p in [*self.people, *self.retired]}
        for (table, _), (owner, row) in snap.items():
            values = msgspec.json.decode(row)
            if table == "llm_user_keys" and owner in tracked:  # (other tests' keys may be made to fail)
                key = decrypt_user_key(self.rt.settings.secret_key, owner, values["provider"],
                                       bytes.fromhex(values["ciphertext"][2:]))
                if not UUID.fullmatch(key):  # a random key may be an id (drawn from the pool), shown as such
                    self.secrets.add(key)
            for column, value in values.items():
                if column.endswith("_hash") and isinstance(value, str):
                    self.secrets.add(value)
        self.snap = snap
        self._owners = None
        return snap

    def owners(self) -> dict[str, set[str]]:
        """The id of each tenant row that is an object of its own (a one-column primary key), and
        each user id -> the users whose rows these are. (In a composite key such as a feed entry's
        (user, posting), the other column names shared data, not the user's object.)"""
        if self._owners is not None:
            return self._owners
        found: dict[str, set[str]] = {}
        for (_, key), (owner, _) in self.snap.items():
            values = msgspec.json.decode(key) if key.startswith("[") else []
            if len(values) == 1 and isinstance(values[0], str | int) and not isinstance(values[0], bool):
                found.setdefault(str(values[0]), set()).add(owner)
            found.setdefault(owner, set()).add(owner)
        self._owners = found
        return found

    def id_pool(self) -> list[str]:
        tracked = {p.user_id for p in [*self.people, *self.retired]}
        mine = sorted(v for v, owners in self.owners().items() if owners & tracked)
        return [*mine, *sorted(self.neutral)[:200], str(uuid.uuid4()), "0", "-1", MISSING_INT]

    # -- requests -------------------------------------------------------------------------------
    def requests(self, op: Operation, actor: Person | None) -> st.SearchStrategy[Request]:
        pool = self.id_pool()
        ids = among(pool)
        mine = sorted(v for v, holders in self.owners().items() if actor and actor.user_id in holders)
        own = among(mine) if mine else ids
        recent = among(self.recent.get(actor.user_id) or mine or pool) if actor else ids  # newest first
        emails = among([p.email for p in [*self.people, *self.retired]])
        plant = Plant(uuids=among([v for v in pool if UUID.fullmatch(v)] or [str(uuid.uuid4())]), emails=emails)
        if actor is not None:
            marker = actor.marker
            suffix = st.text("0123456789abcdef", min_size=8, max_size=8)
            plant = Plant(text=st.one_of(st.just(marker), suffix.map(lambda h: f"{marker}_{h}"),
                                         st.sampled_from(["python", "remote", "berlin"]).map(lambda w: f"{marker} {w}")),
                          uuids=plant.uuids, emails=emails)
        names = st.sampled_from(["google", "linkedin", "magic-link"])
        weird = st.sampled_from(["..", "%2e%2e", "null", "undefined", " ", "a" * 300, "\u00e9\u00e8", "-1", "0"])

        def mangled(value: Any, draw) -> Any:  # noqa: ANN001
            """`value` with some strings and numbers swapped for ids and addresses."""
            if isinstance(value, str):
                how = draw(st.sampled_from(["keep", "id", "email"]))
                return draw(ids) if how == "id" else draw(emails) if how == "email" else value
            if isinstance(value, dict):
                return {k: mangled(v, draw) for k, v in value.items()}
            if isinstance(value, list):
                return [mangled(v, draw) for v in value]
            if isinstance(value, int) and not isinstance(value, bool) and draw(st.booleans()):
                chosen = draw(ids)
                return int(chosen) if chosen.lstrip("-").isdigit() else value
            return value

        @st.composite
        def build(draw) -> Request:  # noqa: ANN001
            request = Request()
            for p in op.parameters:
                if p.location == "path":
                    value = draw(st.one_of(recent, own, ids, ids, from_schema(p.schema), names, weird))
                    request.path[p.name] = str(value) if str(value) else "x"
                elif p.location in ("query", "header", "cookie"):
                    if not p.required and draw(st.booleans()):
                        continue
                    alphabet = st.characters(min_codepoint=32, max_codepoint=126) if p.location != "query" else None
                    value = draw(st.one_of(from_schema(p.schema, alphabet=alphabet, plant=plant), ids,
                                           json_values.map(str) if p.location == "query" else weird))
                    if value is None:
                        continue
                    value = "true" if value is True else "false" if value is False else str(value)
                    if p.location == "header" and p.name.lower() not in ("authorization", "cookie", "origin"):
                        request.headers[p.name] = value
                    elif p.location == "query":
                        request.query[p.name] = value
            if op.body is not None or op.form is not None:
                shape = draw(st.sampled_from(["planted", "valid", "planted", "mangled", "json", "raw", "none"]))
                schema = op.body if op.body is not None else op.form
                if shape in ("valid", "planted", "mangled"):
                    value = draw(from_schema(schema, plant=plant if shape == "planted" else None))
                    value = mangled(value, draw) if shape == "mangled" else value
                    if op.body is not None:
                        request.body = value
                    else:
                        request.form = {k: str(v) for k, v in (value or {}).items()} if isinstance(value, dict) else {}
                elif shape == "json":
                    request.body = draw(json_values)
                elif shape == "raw":
                    request.raw = draw(st.sampled_from([b"{", b"not json", b"\xff\xfe", b'{"a": 1', b"[]" * 50]))
            return request

        return build()

    async def send(self, actor: Person | None, op: Operation, request: Request) -> httpx.Response:
        path = request.link or op.path
        for name, value in request.path.items():
            path = path.replace("{" + name + "}", urlquote(value, safe=""))
        headers = {**request.headers, **(actor.headers if actor else {})}
        body = b""
        if request.raw is not None:
            body, headers["content-type"] = request.raw, "application/json"
        elif request.form is not None:
            body, headers["content-type"] = urlencode(request.form).encode(), "application/x-www-form-urlencoded"
        elif request.body is not None or (op.body is not None and op.body_required):
            body, headers["content-type"] = msgspec.json.encode(request.body), "application/json"
        return await call(self.app, op.method.upper(), path, request.query, headers, body,
                          stream_seconds=STREAM_SECONDS, limit=STEP_SECONDS / 3)

    # -- one step and its checks ---------------------------------------------------------------
    async def step(self, actor: Person | None, op: Operation, request: Request) -> None:
        ACTING.set(actor.user_id if actor else None)
        self.contexts.clear()
        self.doing = f"{actor.email if actor else 'anonymous'}: {op!r} {request}"
        self.sent.setdefault(actor.user_id if actor else None, set()).update(self.echoes(request))
        before = self.snap
        response = await self.send(actor, op, request)
        contexts = list(self.contexts)
        after = await self.take_snapshot()
        what = f"{actor.email if actor else 'anonymous'}: {op!r} {request} -> {response.status_code} {response.text[:500]}"
        self.statuses[(op.method.upper(), op.path, response.status_code)] += 1
        if actor is not None:
            self.driven[op.key] += 1
        assert response.status_code != 500, what
        self.check_response(actor, request, response, what)
        self.check_contexts(actor, contexts, what)
        self.check_writes(actor, before, after, what)
        foreign = self.foreign_values(actor, op, request)
        if foreign and response.status_code < 500:
            await self.compare_with_missing(actor, op, request, response, foreign, what)
        await self.after_request(actor, op, response, what)

    def check_response(self, actor: Person | None, request: Request, response: httpx.Response, what: str) -> None:
        body = response.text
        seen = body + "\n" + "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        for secret in self.secrets:
            assert secret not in seen, f"a stored secret in a response: {what}"
        for person in [*self.people, *self.retired]:
            assert person.token not in seen, f"a session token in a response: {what}"
        # What the actor sent (now or before) is theirs to see again: a search for another person's id
        # is the actor's search. A reference to another's object is caught in the rows instead.
        echoed = self.echoes(request) | self.sent.get(actor.user_id if actor else None, set())
        scrubbed = seen
        for value in sorted(echoed, key=len, reverse=True):
            scrubbed = scrubbed.replace(value, "")
        lowered = scrubbed.lower()
        owners = self.owners()
        mine = actor.user_id if actor else None
        for person in self.others(actor):
            assert person.marker.lower() not in lowered, f"{person.email}'s marker leaked: {what}"
            assert person.email.lower() not in lowered, f"{person.email}'s address leaked: {what}"
        for value in set(UUID.findall(scrubbed)):
            holders = owners.get(value.lower(), set())
            at = scrubbed.find(value)
            assert not holders or mine in holders, \
                f"another user's id {value} leaked (...{scrubbed[max(0, at - 300):at + 60]}...): {what}"
        if actor is not None and actor.marker.lower() in body.lower():
            self.own_marker_seen += 1
        if actor is not None and response.headers.get("content-type", "").startswith("application/json"):
            document = response.json()
            found = [v for v in object_ids(document) if v not in echoed]
            self.recent[actor.user_id] = list(dict.fromkeys([*found, *self.recent.get(actor.user_id, [])]))[:30]
            links = [urlsplit(v) for v in strings(document) if v.startswith(PUBLIC + "/api/")]
            paths = [f"{u.path}?{u.query}" if u.query else u.path for u in links]
            self.links[actor.user_id] = list(dict.fromkeys([*paths, *self.links.get(actor.user_id, [])]))[:30]
        for value in UUID.findall(body):
            self.neutral.add(value.lower())

    @staticmethod
    def echoes(request: Request) -> set[str]:
        """What a response may echo of the request: every string it sent, and the ids and
        addresses inside them, in plain, JSON-escaped and URL-encoded forms."""
        found: set[str] = set()
        for value in request.strings():
            for part in [value, *UUID.findall(value), *EMAIL.findall(value)]:
                if len(part) >= 8:
                    found |= {part, msgspec.json.encode(part).decode()[1:-1], urlquote(part, safe=""), part.lower()}
        return found

    def check_contexts(self, actor: Person | None, contexts: list[tuple[str | None, str | None]], what: str) -> None:
        """Every transaction of the request ran in the actor's tenant context, or in none."""
        allowed = {None, actor.user_id if actor else None}
        for acting, tenant in contexts:
            assert acting == (actor.user_id if actor else None), what
            assert tenant in allowed, f"a transaction ran as {tenant}: {what}"

    def check_writes(self, actor: Person | None, before: dict, after: dict, what: str) -> None:
        """No row of anyone but the actor changed; no row of the actor's now points at another's."""
        mine = actor.user_id if actor else None
        owners = self.owners()
        for key in before.keys() | after.keys():
            owner = (before.get(key) or after.get(key))[0]
            if owner != mine:
                assert before.get(key) == after.get(key), f"{key} of user {owner} changed: {what}"
            elif key in after and before.get(key) != after[key]:
                row = msgspec.json.decode(after[key][1])
                for column in self.uuid_columns[key[0]]:
                    holders = owners.get(str(row.get(column)).lower(), set())
                    assert not holders or mine in holders, \
                        f"{key[0]}.{column} of {mine} points at another user's {row.get(column)}: {what}"

    def foreign_values(self, actor: Person | None, op: Operation, request: Request) -> dict[str, str]:
        """Other people's object ids in the request -> a missing id of the same kind."""
        owners, mine = self.owners(), actor.user_id if actor else None
        found: dict[str, str] = {}
        # numbers name tenant objects only in paths, and not in those of public catalog postings
        public = op.path.startswith(PUBLIC_OBJECT_PATHS)
        whole_ids = [] if public else [v for v in request.path.values() if v.isdigit()]
        for value in [*request.strings(), *whole_ids]:
            for part in [*UUID.findall(value), *([value] if value in whole_ids else [])]:
                holders = owners.get(part.lower(), set())
                if holders and mine not in holders:
                    found[part] = str(uuid.uuid4()) if UUID.fullmatch(part) else MISSING_INT
        return found

    async def compare_with_missing(self, actor: Person | None, op: Operation, request: Request,
                                   response: httpx.Response, foreign: dict[str, str], what: str) -> None:
        before = self.snap
        self.contexts.clear()
        missing = await self.send(actor, op, request.replaced(foreign))
        self.check_writes(actor, before, await self.take_snapshot(), what)
        assert self.outcome(response, foreign.keys()) == self.outcome(missing, foreign.values()), \
            f"another user's object answers unlike a missing one: {what}\nmissing: {missing.status_code} {missing.text}"

    @staticmethod
    def outcome(response: httpx.Response, ids: Any) -> tuple[int, Any]:
        """What the client learns: the status, and a problem's body with the ids it was given masked."""
        if not response.headers.get("content-type", "").startswith("application/problem+json"):
            return response.status_code, None  # successes differ by what they made; the status may not
        ids = set(ids)

        def mask(value: Any) -> Any:
            if isinstance(value, str):
                for given in ids:
                    value = value.replace(given, "<id>")
                return value
            if isinstance(value, int) and str(value) in ids:
                return "<id>"
            if isinstance(value, dict):
                return {k: mask(v) for k, v in value.items()}
            if isinstance(value, list):
                return [mask(v) for v in value]
            return value

        problem = mask(response.json())
        for member in ("request_id", "instance", "retry_after"):
            problem.pop(member, None)
        return response.status_code, problem

    async def after_request(self, actor: Person | None, op: Operation, response: httpx.Response, what: str) -> None:
        """A person whose session the request ended signs in again; one who deleted themselves is
        checked to have nothing left, and is replaced."""
        if actor is None:
            return
        client = self.clients[actor.email]
        if response.status_code == 401:
            raise AssertionError(f"a live session was refused: {what}")
        if op.method == "get" or (await client.get("/api/v1/me", headers=actor.headers)).status_code != 401:
            return
        if any(owner == actor.user_id and table == "users" for (table, _), (owner, _) in self.snap.items()):
            await sign_in(client, self.inbox, actor)
        else:
            left = [key for key, (owner, _) in self.snap.items() if owner == actor.user_id]
            assert left == [], f"rows left after deletion: {left}: {what}"
            self.people.remove(actor)
            self.retired.append(actor)
            await self.new_person()
        await self.take_snapshot()

    # -- Google linking, a flow of its own -----------------------------------------------------------
    async def link_google(self, actor: Person, subject: str) -> None:
        self.doing = f"{actor.email} links Google {subject}"
        ACTING.set(actor.user_id)
        self.contexts.clear()
        before = self.snap
        client = self.clients[actor.email]
        self.google.user = {"sub": subject, "email": f"g-{actor.marker.lower()}@example.com", "email_verified": True,
                            "name": f"{actor.marker} G"}
        start = await client.post("/api/v1/auth/google/link", headers=actor.headers)
        assert start.status_code == 303, start.text
        async with httpx.AsyncClient() as browser:
            at_provider = await browser.get(start.headers["location"])
        back = urlsplit(at_provider.headers["location"])
        done = await client.get(f"{back.path}?{back.query}", headers=actor.headers)
        what = f"{actor.email} links Google {subject} -> {done.status_code} {done.text[:300]}"
        contexts = list(self.contexts)
        owner = self.subjects.get(subject)
        if owner is None or owner == actor.user_id:
            assert done.status_code == 303, what
            self.subjects[subject] = actor.user_id
        else:
            assert done.status_code == 409 and done.json()["code"] == "account_already_linked", what
        for response in (start, done):
            self.check_response(actor, Request(), response, what)
        self.check_contexts(actor, contexts, what)
        self.check_writes(actor, before, await self.take_snapshot(), what)

    async def check_database(self) -> dict[str, bool]:
        for person in self.people:  # the run may have removed what was planted
            await self.plant(person)
        users = [uuid.UUID(p.user_id) for p in self.people]
        return await check_every_tenant_table(self.rt.db, self.owner_engine, users)


class Isolation(RuleBasedStateMachine):
    world: World
    ops: list[Operation]  # the operations this run drives

    @rule(data=st.data())
    def call_an_operation(self, data) -> None:  # noqa: ANN001
        w = self.world
        # Following links is most of real use (read what you made): a fifth of the steps.
        op = data.draw(st.sampled_from([FOLLOW_LINK, *self.ops, LINK_GOOGLE, *[FOLLOW_LINK] * (len(self.ops) // 4)]),
                       label="operation")
        if op is LINK_GOOGLE:
            actor = data.draw(st.sampled_from(w.people), label="actor")
            linked = sorted(s for s, owner in w.subjects.items()
                            if owner in {p.user_id for p in w.people})  # a deleted person's subjects are free again
            subject = data.draw(among([f"{actor.marker}-g{secrets.token_hex(3)}", *linked]), label="subject")
            w.run(w.link_google(actor, subject))
            return
        actor = data.draw(st.sampled_from([*w.people, None]), label="actor")
        if op is FOLLOW_LINK:
            owner = data.draw(st.sampled_from([actor, *w.people]), label="whose link")
            link = data.draw(among(w.links.get(owner.user_id if owner else "") or [""]), label="link")
            if not link:  # (drawn all the same: what is drawn may not depend on the world)
                return
            path, _, query = link.partition("?")
            request = Request(query=dict(parse_qsl(query)), link=path)
        else:
            request = data.draw(w.requests(op, actor), label="request")
        w.run(w.step(actor, op, request))


def drive(world: World, ops: list[Operation], examples: int, steps: int) -> None:
    Isolation.world, Isolation.ops = world, ops
    run_state_machine_as_test(Isolation, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None, phases=[Phase.generate],
        suppress_health_check=list(HealthCheck)))


async def test_no_user_ever_sees_or_changes_another_users_data(tenancy_rt, owner_engine, tenancy_inbox,
                                                                tenancy_google):
    world = World(asyncio.get_running_loop(), tenancy_rt, owner_engine, tenancy_inbox, tenancy_google)
    await world.start()
    try:
        await asyncio.to_thread(drive, world, world.ops, 15, 30)
        for _ in range(3):  # then every operation not yet driven by a signed-in person, on its own
            if undriven := [op for op in world.ops if not world.driven[op.key]]:
                await asyncio.to_thread(drive, world, undriven, 3, 10)
        undriven = [op for op in world.ops if not world.driven[op.key]]
        assert undriven == [], f"operations never driven: {undriven}"
        assert world.own_marker_seen > 0, "no response ever showed its owner's own data: the check is vacuous"
        assert sum(world.statuses.values()) > 100, world.statuses
        exercised = await world.check_database()
        assert all(exercised[t] for t in ("users", "accounts", "sessions", "user_preferences", "llm_usage",
                                          "llm_user_keys", "searches", "saved_searches", "feed_entries")), exercised
    finally:
        await world.stop()
