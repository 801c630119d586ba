"""The app's operations as its OpenAPI document describes them, and hypothesis strategies for
their inputs: values valid by the schema, and values that are not."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from hypothesis import strategies as st

METHODS = ("get", "post", "put", "patch", "delete")
# Catalog postings are public: a number in these paths names a posting any user may read, never a
# tenant's row (whose integer ids can coincide with a posting's).
PUBLIC_OBJECT_PATHS = ("/api/v1/jobs/",)
PLANTED_MAX = 32  # planted text is at most this long (and at least 14 characters)

# Any JSON value, small: what a client may send where something else is expected.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63) | st.floats(allow_nan=False,
                                                                                             allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=6,
)


@dataclass
class Parameter:
    name: str
    location: str  # path | query | header | cookie
    required: bool
    schema: dict[str, Any]


@dataclass
class Operation:
    method: str
    path: str
    parameters: list[Parameter] = field(default_factory=list)
    body: dict[str, Any] | None = None  # JSON schema of a JSON body
    form: dict[str, Any] | None = None  # JSON schema of a form body
    body_required: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return self.method.upper(), self.path

    def __repr__(self) -> str:  # short, for hypothesis' reports
        return f"{self.method.upper()} {self.path}"


def inline(node: Any, components: dict[str, Any], seen: frozenset[str] = frozenset()) -> Any:
    """`node` with its local `$ref`s replaced by what they name (a recursive one by `{}`)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            name = ref.rsplit("/", 1)[1]
            return {} if name in seen else inline(components[name], components, seen | {name})
        return {k: inline(v, components, seen) for k, v in node.items()}
    if isinstance(node, list):
        return [inline(v, components, seen) for v in node]
    return node


def operations(document: dict[str, Any]) -> list[Operation]:
    components = document.get("components", {}).get("schemas", {})
    found = []
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            operation = Operation(method, path)
            for p in [*shared, *op.get("parameters", [])]:
                operation.parameters.append(Parameter(p["name"], p["in"], bool(p.get("required", p["in"] == "path")),
                                                      inline(p.get("schema", {}), components)))
            content = (op.get("requestBody") or {}).get("content", {})
            operation.body_required = bool((op.get("requestBody") or {}).get("required"))
            for media, spec in content.items():
                if "json" in media:
                    operation.body = inline(spec.get("schema", {}), components)
                elif "form" in media:
                    operation.form = inline(spec.get("schema", {}), components)
            found.append(operation)
    return found


@dataclass(frozen=True)
class Plant:
    """Values to try first where the schema allows them: free text, uuids, email addresses."""

    text: st.SearchStrategy[str] | None = None
    uuids: st.SearchStrategy[str] | None = None
    emails: st.SearchStrategy[str] | None = None


def from_schema(schema: dict[str, Any], *, alphabet: Any = None, plant: Plant | None = None) -> st.SearchStrategy[Any]:
    """Values valid by `schema` (the JSON Schema subset OpenAPI documents use); strings without a
    pattern or format are drawn from `alphabet` (default: any character). With `plant`, its values
    come first (hypothesis leans towards first choices), and every property is there first."""
    nested = {"alphabet": alphabet, "plant": plant}
    if not isinstance(schema, dict) or not schema:
        return json_values
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    for key in ("oneOf", "anyOf"):
        if key in schema:
            base = {k: v for k, v in schema.items() if k != key}
            return st.one_of([from_schema({**base, **alt}, **nested) for alt in schema[key]])
    if "allOf" in schema:
        merged = {k: v for k, v in schema.items() if k != "allOf"}
        for part in schema["allOf"]:
            merged = {**merged, **part, "properties": {**merged.get("properties", {}), **part.get("properties", {})},
                      "required": [*merged.get("required", []), *part.get("required", [])]}
        return from_schema(merged, **nested)
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([from_schema({**schema, "type": k}, **nested) for k in kind])
    if kind is None:
        kind = "object" if "properties" in schema else ("array" if "items" in schema else None)
    if kind is None:
        return json_values
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        low = None if low is None else math.ceil(low) + (1 if schema.get("exclusiveMinimum") is True else 0)
        high = None if high is None else math.floor(high) - (1 if schema.get("exclusiveMaximum") is True else 0)
        return st.integers(min_value=low if low is not None else -(2**31), max_value=high if high is not None else 2**31)
    if kind == "number":
        return st.floats(min_value=schema.get("minimum"), max_value=schema.get("maximum"), allow_nan=False,
                         allow_infinity=False)
    if kind == "string":
        return _string(schema, alphabet, plant)
    if kind == "array":
        low = schema.get("minItems", 0)
        if plant is not None:  # a non-empty list first
            low = max(low, min(1, schema.get("maxItems", 1)))
        return st.lists(from_schema(schema.get("items", {}), **nested), min_size=low,
                        max_size=max(low, min(schema.get("maxItems", 4), 4)))
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        some = st.fixed_dictionaries(
            {k: from_schema(v, **nested) for k, v in properties.items() if k in required},
            optional={k: from_schema(v, **nested) for k, v in properties.items() if k not in required},
        )
        if plant is None:
            return some

        def planted(name: str, spec: dict[str, Any]) -> st.SearchStrategy[Any]:
            value = from_schema(spec, **nested)
            return plant.emails | value if plant.emails is not None and "email" in name.lower() else value

        return st.fixed_dictionaries({k: planted(k, v) for k, v in properties.items()}) | some
    return json_values


def _string(schema: dict[str, Any], alphabet: Any, plant: Plant | None) -> st.SearchStrategy[str]:
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    fmt = schema.get("format")
    plant = plant or Plant()
    fits = (lambda s: low <= len(s) and (high is None or len(s) <= high))  # noqa: E731
    if fmt == "uuid":
        return plant.uuids | st.uuids().map(str) if plant.uuids else st.uuids().map(str)
    if fmt == "date-time":
        return st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat())
    if fmt == "date":
        return st.dates().map(lambda d: d.isoformat())
    if fmt == "email":
        return plant.emails | st.emails() if plant.emails else st.emails()
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True).filter(
            lambda s: low <= len(s) and (high is None or len(s) <= high))
    size = {"min_size": low, "max_size": max(low, min(high if high is not None else 30, 30))}
    if alphabet is not None:
        return st.text(alphabet, **size)
    words = st.lists(st.from_regex(r"[A-Za-z][a-z0-9+#]{0,9}", fullmatch=True), min_size=1, max_size=3).map(" ".join)
    free = st.one_of(st.text(**size), words.filter(fits))
    if plant.text is not None and low <= 14 and (high is None or high >= PLANTED_MAX):
        return plant.text | free
    return free
