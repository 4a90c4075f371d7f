"""Malformed requests, generated from the API description.

For every operation of api-spec/openapi.yaml, as each role that may call it
and as nobody, requests that each break the description in one way: wrong
JSON types, missing and unknown members, numbers out of range or beyond 64
bits or not numbers at all, huge strings, deep nesting, invalid UTF-8,
duplicate keys, broken JSON and CSV, bad path parameters and query strings,
wrong and missing media types, bad and stale tokens, and bad If-Match,
Idempotency-Key and Accept headers; then a seeded random share of the same
kinds. They go straight to the server (the validating proxy would refuse
most of them itself), over a few keep-alive connections at once.

Every answer must be a client error in application/problem+json with a
problem body whose status is the answer's; a few requests break HTTP itself
(an oversized request line, a header without a colon) and may instead be
refused by libmicrohttpd as test_errors.py shows. Afterwards the server is
alive and ready, its log holds no sanitizer report, and no table has
changed (the audit trail, which records refusals, and sign-in failures
aside).

A body variant goes out only when the JSON Schema check below says it
breaks the description, so an answer of 2xx is the server accepting what
the description refuses, never a request that happened to be valid.
"""

import collections
import datetime
import http.client
import json
import math
import random
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import quote, unquote_to_bytes

import pytest
import yaml

from support import (
    SPEC,
    TITLES,
    Installation,
    bearer,
    create_user,
    issue_api_token,
    sanitizer_reports,
    signed_in,
)

SEED = 12338
REQUESTS = 25_000  # sent in all: every generated case, then seeded random ones up to this
CONNECTIONS = 4
# An anonymous caller is refused before anything else is looked at, and a
# public operation never looks at a token: those callers get every kind of
# variant but only one in SAMPLE_SHARE of each kind.
SAMPLE_SHARE = 4
LIMIT = 1024 * 1024  # TIAOJIE_BODY_LIMIT default, 1M
ROLES = ("admin", "federation", "mediator", "hotline")
TIMEOUT = 20

# Tables whose rows change without a write of the request's own: the audit
# trail (every refusal is recorded) and the sign-in failures it counts.
UNWATCHED_TABLES = {"audit_log", "login_failures", "schema_migrations"}
UNWATCHED_COLUMNS = {"last_used_at"}

assert REQUESTS >= 10_000


# --- the description -----------------------------------------------------------------


DOC = yaml.safe_load(SPEC.read_text())


def resolve(schema):
    while "$ref" in schema:
        node = DOC
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


class Operation:
    """One operation of the description, with what the generator needs of it."""

    def __init__(self, path, method, op, shared_params):
        self.path = path
        self.method = method.upper()
        self.id = op["operationId"]
        self.public = op.get("security") == []
        roles = re.findall(r"Roles: ([a-z, ]+)\.", op.get("description", ""))
        assert self.public or roles, f"{self.method} {path}: no 'Roles:' in its description"
        self.roles = ROLES if self.public else tuple(r.strip() for r in roles[-1].split(","))
        params = [resolve(p) for p in shared_params + op.get("parameters", [])]
        self.path_params = {p["name"]: p["schema"] for p in params if p["in"] == "path"}
        self.query = {p["name"]: p["schema"] for p in params if p["in"] == "query"}
        self.headers = {p["name"] for p in params if p["in"] == "header"}
        responses = [str(resolve(r).get("description", "")) for r in op["responses"].values()]
        text = " ".join([op.get("description", ""), *responses])
        # Where the description promises to refuse what the query holds.
        self.query_refused = bool(
            re.search(r"[Uu]nknown query|[Aa]ny query parameter is refused|query is not empty", text)
        )
        self.csv_answer = self.method == "GET" and "text/csv" in text
        self.body_type = None
        self.schema = self.example = None
        body = op.get("requestBody")
        if body:
            (self.body_type, content), = body["content"].items()
            self.schema = content["schema"]
            if "example" in content:
                self.example = content["example"]
            else:
                self.example = next(iter(content["examples"].values()))["value"]

    def __repr__(self):
        return f"{self.method} {self.path}"


def operations():
    ops = []
    for path, item in DOC["paths"].items():
        shared = item.get("parameters", [])
        for method, op in item.items():
            if method != "parameters":
                ops.append(Operation(path, method, op, shared))
    return ops


OPERATIONS = operations()


# --- what the description admits: the JSON Schema of its request bodies ---------------


def same(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return a == b


def is_type(v, t):
    if t == "null":
        return v is None
    if t == "boolean":
        return isinstance(v, bool)
    if t == "integer":
        return (isinstance(v, int) and not isinstance(v, bool)) or (
            isinstance(v, float) and math.isfinite(v) and v.is_integer()
        )
    if t == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
    if t == "string":
        return isinstance(v, str)
    if t == "array":
        return isinstance(v, list)
    if t == "object":
        return isinstance(v, dict)
    raise AssertionError(f"type {t!r}")


DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-](\d{2}):(\d{2}))$"
)


def format_ok(fmt, v):
    if fmt == "date":
        m = DATE.match(v)
        if not m:
            return False
        try:
            datetime.date(*map(int, m.groups()))
        except ValueError:
            return False
        return True
    if fmt == "date-time":
        m = DATE_TIME.match(v)
        if not m:
            return False
        try:
            datetime.date(*map(int, m.groups()[:3]))
        except ValueError:
            return False
        hh, mm, ss = int(m[4]), int(m[5]), int(m[6])
        zone_ok = m[9] is None or (int(m[9]) < 24 and int(m[10]) < 60)
        return hh < 24 and mm < 60 and ss < 61 and zone_ok
    return True


def valid(schema, v):
    """Does v fit schema (the keywords this description uses)?"""
    s = resolve(schema)
    if "oneOf" in s and sum(valid(b, v) for b in s["oneOf"]) != 1:
        return False
    if "anyOf" in s and not any(valid(b, v) for b in s["anyOf"]):
        return False
    if "allOf" in s and not all(valid(b, v) for b in s["allOf"]):
        return False
    if "const" in s and not same(v, s["const"]):
        return False
    if "enum" in s and not any(same(v, e) for e in s["enum"]):
        return False
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        if not any(is_type(v, t) for t in types):
            return False
    if isinstance(v, bool) or v is None:
        return True
    if isinstance(v, (int, float)):
        if isinstance(v, float) and not math.isfinite(v):
            return False
        if s.get("format") == "int64" and not -(2**63) <= v < 2**63:
            return False
        if "minimum" in s and v < s["minimum"]:
            return False
        if "maximum" in s and v > s["maximum"]:
            return False
        if "multipleOf" in s and v % s["multipleOf"] != 0:
            return False
    elif isinstance(v, str):
        if len(v) < s.get("minLength", 0) or len(v) > s.get("maxLength", math.inf):
            return False
        if "pattern" in s and not re.search(s["pattern"], v):
            return False
        if "format" in s and not format_ok(s["format"], v):
            return False
    elif isinstance(v, list):
        if len(v) < s.get("minItems", 0) or len(v) > s.get("maxItems", math.inf):
            return False
        if "items" in s and not all(valid(s["items"], x) for x in v):
            return False
        if s.get("uniqueItems") and len({json.dumps(x, sort_keys=True) for x in v}) != len(v):
            return False
    elif isinstance(v, dict):
        if any(k not in v for k in s.get("required", ())):
            return False
        if len(v) < s.get("minProperties", 0):
            return False
        props = s.get("properties", {})
        for k, x in v.items():
            if k in props:
                if not valid(props[k], x):
                    return False
            elif s.get("additionalProperties") is False:
                return False
            elif isinstance(s.get("additionalProperties"), dict) and not valid(s["additionalProperties"], x):
                return False
    return True


def fitting(schema, v):
    """The branch of schema's oneOf that v fits, or schema itself."""
    s = resolve(schema)
    for b in s.get("oneOf", ()):
        if valid(b, v):
            return fitting(b, v)
    return s


def admitted_types(schema):
    """The JSON types some value of schema may have (None: any)."""
    s = resolve(schema)
    kinds = set()
    for key in ("oneOf", "anyOf"):
        for b in s.get(key, ()):
            sub = admitted_types(b)
            if sub is None:
                return None
            kinds |= sub
    if "type" in s:
        kinds |= set(s["type"] if isinstance(s["type"], list) else [s["type"]])
    for c in ([s["const"]] if "const" in s else []) + list(s.get("enum", ())):
        kinds.add(json_type(c))
    if not kinds and not any(k in s for k in ("oneOf", "anyOf")):
        return None
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def json_type(v):
    for t in ("null", "boolean", "integer", "number", "string", "array", "object"):
        if is_type(v, t):
            return t


# --- the installation: something to aim at, and who aims -------------------------------


class World:
    """An installation of its own with one of everything an operation can
    name, each role signed in, and tokens that no longer work."""

    def __init__(self, inst):
        self.inst = inst
        api, a = inst.api, inst.admin.auth

        def made(r, status=201):
            assert r.status == status, r
            return r.json()

        self.committee = made(api.post("/api/v1/committees", headers=a, json_body={
            "name": "城中区婚姻家庭纠纷人民调解委员会", "kind": "committee", "region_code": "450202",
            "established_on": "2020-06-18"}))["id"]
        self.mediator = made(api.post("/api/v1/mediators", headers=a, json_body={
            "name": "韦秀兰", "full_time": True, "committees": [self.committee]}))["id"]
        self.expert = made(api.post("/api/v1/mediators", headers=a, json_body={
            "name": "覃建国", "full_time": True, "expert": True, "specialties": ["law"],
            "committees": [self.committee]}))["id"]

        mediator = create_user(api, a, "mediator")
        made(api.request("PATCH", f"/api/v1/users/{mediator.id}", headers=a,
                         json_body={"mediator_id": self.mediator}), 200)
        self.principals = {
            "admin": inst.admin,
            "federation": signed_in(api, create_user(api, a, "federation", region="450202")),
            "mediator": signed_in(api, mediator),
            "hotline": signed_in(api, create_user(api, a, "hotline")),
        }
        self.victim = create_user(api, a, "hotline", prefix="target")
        self.victim_token = issue_api_token(api, a, self.victim.id, name="target of refused requests")["id"]

        case = api.post("/api/v1/cases", headers=a, json_body={
            "committee_id": self.committee, "source": "walk_in", "dispute_type": "divorce",
            "lead_mediator_id": self.mediator,
            "parties": [{"role": "applicant", "name": "李梅", "phone": "13800138000"}]})
        doc = made(case)
        self.case, self.party, self.case_etag = doc["id"], doc["parties"][0]["id"], case.header("ETag")
        referral = api.post("/api/v1/referrals", json_body={
            "source": "hotline_12338", "caller_name": "李女士", "county_code": "450202",
            "dispute_type": "divorce"},
            headers={**self.principals["hotline"].auth, "Idempotency-Key": "malformed-setup"})
        self.referral = made(referral)["id"]

        self.stale_tokens = self.make_stale_tokens()

    def make_stale_tokens(self):
        """Tokens of administrators that no longer work: a session signed out,
        one expired, one of a disabled account, an API token revoked, one expired."""
        api, a = self.inst.api, self.inst.admin.auth
        stale = {}
        ended = signed_in(api, create_user(api, a, "admin", prefix="ended"))
        r = api.request("DELETE", "/api/v1/sessions/current", headers=ended.auth)
        assert r.status == 204, r
        stale["ended-session"] = ended.token

        expired = signed_in(api, create_user(api, a, "admin", prefix="expired"))
        stale["expired-session"] = expired.token
        stale["expired-api-token"] = issue_api_token(api, a, expired.id, name="expired")["token"]
        self.inst.psql(
            "".join(f"UPDATE {t} SET created_at = now() - interval '2 minutes', "
                    f"expires_at = now() - interval '1 minute' WHERE user_id = {expired.id};"
                    for t in ("sessions", "api_tokens"))
        )

        disabled = signed_in(api, create_user(api, a, "admin", prefix="disabled"))
        r = api.request("PATCH", f"/api/v1/users/{disabled.id}", headers=a, json_body={"active": False})
        assert r.status == 200, r
        stale["disabled-user-session"] = disabled.token

        revoked = issue_api_token(api, a, self.inst.admin.id, name="revoked")
        r = api.request("DELETE", f"/api/v1/tokens/{revoked['id']}", headers=a)
        assert r.status == 204, r
        stale["revoked-api-token"] = revoked["token"]
        for name, token in stale.items():
            assert api.get("/api/v1/me", headers=bearer(token)).status == 401, name
        return stale

    def path_values(self, op):
        """The path parameters of op, naming things that exist."""
        resource = op.path.split("/")[3] if op.path.startswith("/api/v1/") else None
        ids = {"users": self.victim.id, "tokens": self.victim_token, "committees": self.committee,
               "mediators": self.mediator, "cases": self.case, "referrals": self.referral}
        values = {}
        for name in op.path_params:
            if name == "id":
                values[name] = str(ids[resource])
            elif name == "party":
                values[name] = str(self.party)
            elif name == "code":
                values[name] = "450202"
            elif name == "year":
                values[name] = "2020"
            else:
                raise AssertionError(f"{op}: no value for path parameter {name}")
        return values

    def body(self, op):
        """op's example body, naming things that exist."""
        if op.body_type == "text/csv":
            return self.csv_body(op.example)
        names = {"committee_id": self.committee, "target_committee_id": self.committee,
                 "committees": [self.committee], "lead_mediator_id": self.mediator,
                 "co_mediator_ids": [], "expert_id": self.expert}

        def swap(v):
            if isinstance(v, dict):
                return {k: names[k] if k in names else swap(x) for k, x in v.items()}
            if isinstance(v, list):
                return [swap(x) for x in v]
            return v

        body = swap(op.example)
        assert valid(op.schema, body), f"{op}: the example does not fit its own schema: {body}"
        return body

    def csv_body(self, example):
        lines = example.split("\r\n")
        header = lines[0].split(",")
        rows = [line.split(",") for line in lines[1:] if line]
        for row in rows:
            if "committees" in header:
                row[header.index("committees")] = str(self.committee)
        return header, rows

    def caller_headers(self, caller):
        if caller == "nobody":
            return {}
        return {"Authorization": b"Bearer " + self.principals[caller].token.encode()}


# --- requests --------------------------------------------------------------------------


@dataclass(slots=True)
class Request:
    """One request to send: what it is made of, and what answer it may get.

    http_layer: it breaks HTTP itself; libmicrohttpd may refuse it with a
    4xx of its own (not a problem) or by closing the connection.
    """

    category: str
    op: object
    caller: object
    method: str
    target: bytes
    headers: dict
    body: object
    http_layer: bool = False
    raw: bytes | None = None

    def wire(self, n):
        """The request's bytes (n gives it its X-Request-Id)."""
        if self.raw is not None:
            return self.raw
        lines = [b"%s %s HTTP/1.1" % (self.method.encode(), self.target), b"Host: 127.0.0.1",
                 b"X-Request-Id: malformed-%d" % n]
        for name, value in self.headers.items():
            if value is not None:
                lines.append(name.encode() + b": " + value)
        if self.body is not None:
            lines.append(b"Content-Length: %d" % len(self.body))
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        if self.body is None:
            return head
        # A body over the limit is refused on its declared length: it is not sent.
        return head if len(self.body) > LIMIT else head + self.body

    def __repr__(self):
        return f"[{self.category}] {self.method} {self.target[:160]!r} as {self.caller}"


class Base:
    """The well-formed request of an operation for a caller; variants
    change one part of it."""

    def __init__(self, world, op, caller, keys):
        self.world, self.op, self.caller = world, op, caller
        self.values = {k: quote(v, safe="").encode() for k, v in world.path_values(op).items()}
        self.headers = dict(world.caller_headers(caller))
        if "If-Match" in op.headers:
            self.headers["If-Match"] = world.case_etag.encode()
        if "Idempotency-Key" in op.headers:
            self.headers["Idempotency-Key"] = b"malformed-%d" % next(keys)
        self.body_value = None
        self.body = None
        if op.body_type == "application/json":
            self.body_value = world.body(op)
            self.body = dumps(self.body_value)
            self.headers["Content-Type"] = b"application/json"
        elif op.body_type == "text/csv":
            self.csv = world.body(op)
            self.body = csv_text(*self.csv)
            self.headers["Content-Type"] = b"text/csv"

    def path(self, **values):
        target = self.op.path.encode()
        for name, v in {**self.values, **values}.items():
            target = target.replace(b"{%s}" % name.encode(), v)
        return target

    def variant(self, category, target=None, query=None, headers=None, body=..., method=None,
                caller=None):
        target = target if target is not None else self.path()
        if query is not None:
            target += b"?" + query
        h = dict(self.headers)
        h.update(headers or {})
        return Request(category, self.op, caller or self.caller, method or self.op.method, target, h,
                       self.body if body is ... else body)


def dumps(v):
    return json.dumps(v, ensure_ascii=False).encode()


def csv_text(header, rows):
    return ("\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n").encode()


# --- body variants: (category, the body as sent) ------------------------------------------


class Raw:
    """JSON text to put where a value goes, as it is: tokens that are not
    JSON, bytes that are not UTF-8, nesting too deep to build as objects."""

    def __init__(self, text, value=None):
        self.text = text if isinstance(text, bytes) else text.encode()
        self.value = value  # the value when it is JSON after all, else None


def render(doc):
    """doc as JSON text, with its Raw parts spliced in; (bytes, value or None)."""
    raws = []

    def mark(v):
        if isinstance(v, Raw):
            raws.append(v)
            return f"\ue000raw{len(raws) - 1}\ue000"
        if isinstance(v, dict):
            return {k: mark(x) for k, x in v.items()}
        if isinstance(v, list):
            return [mark(x) for x in v]
        return v

    def unraw(v):
        if isinstance(v, Raw):
            return v.value
        if isinstance(v, dict):
            return {k: unraw(x) for k, x in v.items()}
        if isinstance(v, list):
            return [unraw(x) for x in v]
        return v

    text = dumps(mark(doc))
    for i, raw in enumerate(raws):
        text = text.replace(f'"\ue000raw{i}\ue000"'.encode(), raw.text)
    return text, None if any(raw.value is None for raw in raws) else unraw(doc)


def locations(schema, value, path=()):
    """(path, schema) of every member the body has or may have, nested too.
    Members absent from value come with path ending where they would go."""
    s = fitting(schema, value) if value is not None else resolve(schema)
    yield path, schema
    if isinstance(value, dict):
        for k, sub in s.get("properties", {}).items():
            yield from locations(sub, value.get(k), path + (k,)) if k in value else [(path + (k,), sub)]
    elif isinstance(value, list) and value and "items" in s:
        yield from locations(s["items"], value[0], path + (0,))


def put(doc, path, v):
    """A copy of doc with v at path (a member added if absent)."""
    if not path:
        return v
    doc = json.loads(json.dumps(doc))  # a deep copy
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = v
    return doc


def drop(doc, path):
    doc = json.loads(json.dumps(doc))
    node = doc
    for p in path[:-1]:
        node = node[p]
    del node[path[-1]]
    return doc


def get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


WRONG_TYPES = [None, True, 7, 2.5, "7", [7], {"x": 1}]
NUMBER_TOKENS = [
    "NaN", "-NaN", "Infinity", "-Infinity", "nan", "inf", "1e400", "-1e400", "1e-400",
    "18446744073709551616", "-9223372036854775809", "9223372036854775808",
    "99999999999999999999999999999999999999", "0x10", "+1", ".5", "1.", "01", "-", "1e", "--1",
    "1.5", "-0.5", "1e2", "2.0000000000000001", "4.9e-324",
]
DATE_LIKE = ["2026-13-01", "2026-02-30", "2026-00-10", "20260101", "2026-1-1", "0000-00-00",
             "9999-99-99", "2026-06-18T", "tomorrow", "2026-06-18 "]
TIME_LIKE = ["2026-11-29", "2026-11-29T25:00:00+08:00", "2026-11-29T10:00:00", "2026-11-29 10:00:00+08:00",
             "2026-11-29T10:60:00Z", "2026-02-30T10:00:00Z", "2026-11-29T10:00:00+24:00", "yesterday"]
BAD_UTF8 = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80", b"\xe4\xb8"]
BAD_ESCAPES = [b"\\u0000", b"\\ud800", b"\\x41", b"\x01"]


def out_of_range(s, current):
    """Values of the types schema s admits that break its other rules."""
    s = resolve(s)
    out = []
    for b in [*s.get("oneOf", ()), *s.get("anyOf", ())]:
        out += out_of_range(b, current)
    types = admitted_types(s) or set()
    if "integer" in types or "number" in types:
        lo, hi = s.get("minimum"), s.get("maximum")
        out += [lo - 1] if lo is not None else []
        out += [hi + 1] if hi is not None else []
        out += [0, -1, 2**63 - 1, -(2**63), 2**53 + 1, 10**15]
    if "string" in types:
        if "maxLength" in s:
            out += ["x" * (s["maxLength"] + 1), "中" * (s["maxLength"] + 1)]
        if s.get("minLength", 0) > 0:
            out += ["", "x" * (s["minLength"] - 1)]
        for c in ([s["const"]] if "const" in s else []) + list(s.get("enum", ())):
            if isinstance(c, str):
                out += [c.upper(), c + " ", " " + c, "not-" + c, c[:-1]]
        if "pattern" in s:
            out += ["x", "!", "0" * 50, "١٢٣٤٥٦", "4502O2", " 450202"]
        if s.get("format") == "date":
            out += DATE_LIKE
        if s.get("format") == "date-time":
            out += TIME_LIKE
    if "array" in types:
        if "maxItems" in s:
            out.append([current[0] if isinstance(current, list) and current else 1] * (s["maxItems"] + 1))
            out.append(list(range(1, s["maxItems"] + 2)))
        if s.get("minItems", 0) > 0:
            out.append([])
        if s.get("uniqueItems") and isinstance(current, list):
            out.append([1, 1])
    if "object" in types and s.get("minProperties", 0) > 0:
        out.append({})
    return out


def body_variants(op, base):
    """Every variant of base's JSON body, each breaking the schema once."""
    schema = op.schema
    seen = set()

    def emit(category, doc):
        text, value = render(doc)
        if text in seen or (value is not None and valid(schema, value)):
            return
        seen.add(text)
        yield category, text

    for path, sub in locations(schema, base):
        present = not path or has(base, path)
        current = get(base, path) if present else None
        kinds = admitted_types(sub)
        if path:
            if kinds is not None:
                for v in WRONG_TYPES:
                    if json_type(v) not in kinds or (json_type(v) == "integer" and "integer" in kinds):
                        yield from emit("wrong-type", put(base, path, v))
            for v in out_of_range(sub, current):
                yield from emit("out-of-range", put(base, path, v))
            if kinds is None or kinds & {"integer", "number"}:
                for token in NUMBER_TOKENS:
                    yield from emit("number-token", put(base, path, Raw(token, number_value(token))))
            if kinds is None or "string" in kinds:
                yield from emit("huge-string", put(base, path, "x" * 100_000))
                for bad in BAD_UTF8[:3]:
                    yield from emit("bad-utf8", put(base, path, Raw(b'"' + bad + b'"')))
                for esc in BAD_ESCAPES:
                    yield from emit("bad-syntax", put(base, path, Raw(b'"a' + esc + b'b"')))
            yield from emit("deep-nesting", put(base, path, Raw(b"[" * 10_000 + b"]" * 10_000)))
            yield from emit("deep-nesting", put(base, path, Raw(b"[" * 2_000 + b"]" * 2_000, nest(2_000))))
            yield from emit("deep-nesting", put(base, path, Raw(b'{"a":' * 3_000 + b"1" + b"}" * 3_000)))
            if present and not isinstance(path[-1], int):
                yield from emit("missing-field", drop(base, path))
        s = resolve(fitting(sub, current)) if present else resolve(sub)
        holder = current
        if isinstance(holder, dict) and s.get("additionalProperties") is False:
            for key in ("unexpected", "id", "__proto__", "", "Name", next(iter(holder), "x").upper(),
                        next(iter(holder), "x") + " "):
                if key not in holder:
                    yield from emit("unknown-field", put(base, path + (key,), 1))
            for key in holder:
                yield from emit("duplicate-key", put(base, path, Raw(duplicated(holder, key))))
            yield from emit("bad-utf8", put(base, path, Raw(with_bad_key(holder))))

    yield from emit("missing-field", {})
    for bad in (b"", b" ", b"null", b"[]", b"[{}]", b"\"{}\"", b"42", b"true", b"{", b"}", b"{}{}",
                b"{} x", b"{,}", b"{\"a\"}", b"{'a': 1}", b"{\"a\":1,}", b"/* */{}", b"{\"a\":1}\x00",
                b"\xef\xbb\xbf\xef\xbb\xbf{}", b"\x00", b"\xff\xfe{\x00}\x00"):
        yield from emit("bad-syntax", Raw(bad))
    text = dumps(base)
    for cut in sorted({1, len(text) // 3, len(text) // 2, len(text) - 1}):
        yield from emit("bad-syntax", Raw(text[:cut]))
    yield from emit("bad-syntax", Raw(text + b","))
    yield from emit("bad-syntax", Raw(text.replace(b'"', b"'")))
    yield from emit("deep-nesting", Raw(b"[" * 10_000 + b"]" * 10_000))
    yield from emit("deep-nesting", Raw(b'{"a":' * 10_000 + b"{}" + b"}" * 10_000))
    yield from emit("deep-nesting", Raw(b"[" * 100_000))
    yield from emit("huge-string", Raw(b'{"a": "' + b"x" * (LIMIT + 1) + b'"}'))
    strings = [p for p, sub in locations(schema, base) if p and "string" in (admitted_types(sub) or ())]
    for first in strings[:1]:
        yield from emit("huge-string", put(base, first, "長" * 300_000))
    yield from emit("huge-string", Raw(b" " * (LIMIT - len(text) - 1) + text + b"}"))


def get_or_none(doc, path):
    try:
        return get(doc, path)
    except (KeyError, IndexError, TypeError):
        return None


def has(doc, path):
    holder = get_or_none(doc, path[:-1])
    if isinstance(holder, dict):
        return path[-1] in holder
    return isinstance(holder, list) and isinstance(path[-1], int) and path[-1] < len(holder)


def number_value(token):
    """The value of a number token that is JSON, else None."""
    if not re.fullmatch(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?", token):
        return None
    v = json.loads(token)
    return v if not isinstance(v, float) or math.isfinite(v) else None


def nest(depth):
    v = []
    for _ in range(depth - 1):
        v = [v]
    return v


def duplicated(obj, key):
    """obj's JSON text with key given twice."""
    items = [dumps(k) + b":" + dumps(v) for k, v in [*obj.items(), (key, obj[key])]]
    return b"{" + b",".join(items) + b"}"


def with_bad_key(obj):
    text = dumps(obj)
    return (text[:-1] + (b"," if obj else b"") + b'"k\xff\xfe":1}')


# --- CSV bodies -------------------------------------------------------------------------


def csv_bad_values(column):
    if column.endswith("_on"):
        return ["2026-02-30", "tomorrow", "2026/06/18"]
    if column in ("purchased_service", "full_time", "expert"):
        return ["maybe", "YES", "1"]
    bad = {"kind": ["castle", "Committee"], "region_code": ["4502", "abcdef", "459999"],
           "committees": ["abc", "0", "-1"], "specialties": ["cooking", "law;law;x"],
           "gender": ["x", "FEMALE"], "phone": ["phone!", "1"]}
    return bad.get(column, []) + ["\x01bad", "x" * 301]


def csv_variants(base):
    header, rows = base.csv
    text = csv_text(header, rows)
    yield "missing-field", csv_text(header[:-1], [r[:-1] for r in rows])
    yield "missing-field", csv_text(header, [rows[0][:-1]])
    yield "unknown-field", csv_text(header + ["unexpected"], [r + ["1"] for r in rows])
    yield "unknown-field", csv_text(header, [rows[0] + ["1"]])
    yield "duplicate-key", csv_text(header[:1] + header, [r[:1] + r for r in rows])
    yield "out-of-range", csv_text([h.upper() for h in header], rows)
    yield "out-of-range", csv_text(list(reversed(header)), [list(reversed(r)) for r in rows])
    for i, column in enumerate(header):
        for bad in csv_bad_values(column):
            row = list(rows[0])
            row[i] = '"' + bad.replace('"', '""') + '"' if "," in bad or '"' in bad else bad
            yield "wrong-type", csv_text(header, [row])
    for bad in BAD_UTF8:
        yield "bad-utf8", text.replace(b",", b"," + bad, 1)
        yield "bad-utf8", text + bad + b"\r\n"
    yield "bad-syntax", b""
    yield "bad-syntax", b"\xef\xbb\xbf"
    yield "bad-syntax", text + b'"unterminated,\r\n'
    yield "bad-syntax", text.replace(b",", b',"', 1)
    yield "bad-syntax", b"\x00" * 64
    yield "bad-syntax", text.replace(b"\r\n", b"\r\n\x00", 1)
    yield "bad-syntax", b"\n".join([b",".join(h.encode() for h in header)] + [b"x" * 10] * 6000)
    yield "huge-string", csv_text(header, [[("x" * 200_000 if i == 0 else v) for i, v in enumerate(rows[0])]])
    yield "huge-string", text + b"y" * (LIMIT + 1)
    yield "deep-nesting", text + b'"' * 100_000


# --- variants of everything but the body -------------------------------------------------


QUERY_VALUES = [
    b"abc", b"-1", b"0", b"1.5", b"99999999999999999999999", b"%FF", b"%C3%28", b"5%00", b"x" * 300,
    b"%27%20OR%201%3D1--", b"2026-02-30", b"TRUE", b"450202x", b"%0D%0A",
]


def bad_param_values(schema, candidates=None):
    """Path or query values (as sent, percent-encoded where needed) that do
    not decode to a value of schema. (Long ones alternate two characters:
    paths are logged, and the run's last check looks for every password of
    the run in every log, some of which repeat a single character.)"""
    candidates = candidates or [
        b"0", b"-1", b"1.5", b"1e3", b"abc", b"0x10", b"+1", b"%201", b"%00", b"1%00", b"1%00x", b"%FF",
        b"%C3%28", b"%ED%A0%80", b"%", b"%G1", b"..", b"%2e%2e", b"%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        b"../../../etc/passwd", b"99999999999999999999999", b"90" * 1500, b"%D9%A1%D9%A2", b"null",
        b"%7Bid%7D", b"1;2", b"%27%20OR%201%3D1--", b"%0D%0AX-Injected:%201", b"\xff", b"1\xff",
        b"%E2%80%8B1", b"xy" * 2500, b"%2500", b"4502", b"450202x", b"450202%00", b"2020%00", b"1999",
        b"2101", b"%EF%BC%94%EF%BC%95",
    ]
    out = []
    for c in candidates:
        decoded = unquote_to_bytes(c)
        try:
            text = decoded.decode("utf-8")
        except UnicodeDecodeError:
            out.append(c)
            continue
        if not param_valid(schema, text):
            out.append(c)
    return out


def param_valid(schema, text):
    """Is text a value of schema as a path or query string?"""
    kinds = admitted_types(schema) or {"string"}
    if "integer" in kinds:
        return bool(re.fullmatch(r"-?[0-9]+", text)) and valid(schema, int(text))
    if "boolean" in kinds:
        return text in ("true", "false")
    return valid(schema, text)


def path_variants(base):
    op = base.op
    for name, schema in op.path_params.items():
        for bad in bad_param_values(schema):
            yield base.variant("path-param", target=base.path(**{name: bad}))
    plain = base.path()
    for suffix in (b"/", b"%00", b"%00.json", b"/%FF", b"/../x", b";x", b"%20", b"/%2e%2e"):
        yield base.variant("path", target=plain + suffix)
    yield base.variant("path", target=plain.upper())
    yield base.variant("path", target=plain.replace(b"/", b"//", 2))
    yield base.variant("path", target=b"/api/v1/../.." + plain)
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
        if method not in {o.method for o in OPERATIONS if o.path == op.path} | (
            {"HEAD"} if op.method == "GET" else set()
        ):
            yield base.variant("method", method=method)


QUERY_JUNK = [b"foo=1", b"x", b"=1", b"&&&", b"%FF=1", b"%00=1", b"a%00=1", b"__proto__=1", b"a=1&a=2",
              b"q=" + b"x" * 3000, b"p" + b"&p".join(b"%d" % i for i in range(300)), b"a=%G0"]


def query_variants(base):
    op = base.op
    if not op.query_refused:
        return
    for junk in QUERY_JUNK:
        yield base.variant("query", query=junk)
    for i, (name, schema) in enumerate(op.query.items()):
        good = good_query_value(schema)
        enc = name.encode()
        for bad in bad_param_values(schema, QUERY_VALUES):
            yield base.variant("query", query=enc + b"=" + bad)
        yield base.variant("query", query=enc)
        yield base.variant("query", query=enc + b"=")
        yield base.variant("query", query=enc + b"=" + good + b"&" + enc + b"=" + good)
        if i == 0:
            yield base.variant("query", query=enc.upper() + b"=" + good)
            yield base.variant("query", query=enc + b"%00=" + good)
            yield base.variant("query", query=enc + b"=" + good + b"&foo=1")
            yield base.variant("query", query=enc + b"[]=" + good)
        for bad in bad_param_values(schema, [good + b"%00", good + b"%00junk"]):
            yield base.variant("query", query=enc + b"=" + bad)
    if not op.public:
        token = base.headers.get("Authorization", b"Bearer x")[7:]
        yield base.variant("token", query=b"access_token=" + token)
        yield base.variant("token", query=b"token=" + token)


def good_query_value(schema):
    s = resolve(schema)
    kinds = admitted_types(s) or {"string"}
    for candidate in [*s.get("enum", ()), "450202", "2026-06-30", "2026-06-30T00:00:00Z", "true", "5", "1"]:
        if param_valid(s, str(candidate)):
            return quote(str(candidate)).encode()
    raise AssertionError(f"no good value for {s} ({kinds})")


def header_variants(base):
    op = base.op
    if op.body_type is not None:
        good = op.body_type.encode()
        other = b"text/csv" if op.body_type == "application/json" else b"application/json"
        for ct in (None, b"", b"text/plain", b"application/x-www-form-urlencoded",
                   b"multipart/form-data; boundary=x", other, good + b"x", good + b"; charset=latin1", good + b"; charset=utf-16", good + b";;",
                   good + b"; charset=utf-8; x=1", b"application/problem+json", b"*/*", b"application/*",
                   good + b"\xff", b"\xff\xfe", good.replace(b"/", b" / "), good.replace(b"/", b""),
                   b"application/vnd.api+json"):
            yield base.variant("content-type", headers={"Content-Type": ct})
    if "If-Match" in op.headers:
        version = int(base.world.case_etag.strip('"'))
        for im in (None, b"", b"5", b'"0"', b'"-1"', b'"abc"', b"W/5", b"*", b'"1", "2"', b'"' + b"9" * 30 + b'"',
                   b'""', b'W/""', b'"1', b"1\"", b"\xff", b'"\xff"', b'"' + b"1" * 8000 + b'"', b'w/"1"',
                   b'"%d"' % (version + 1), b'W/"%d"' % (version + 7), b'"1 "', b'" 1"', b'"0x1"', b'"+1"'):
            yield base.variant("header", headers={"If-Match": im})
    if "Idempotency-Key" in op.headers:
        for key in (None, b"", b" ", b"a b", b"\x7f", b"\xe4\xb8\xad\xe6\x96\x87", b"\xff", b"k" * 256, b"\x01key",
                    b"key\ttab", b"k" * 5000):
            yield base.variant("header", headers={"Idempotency-Key": key})
    if op.csv_answer:
        for accept in (b"text/csv", b"text/csv; charset=latin1", b"application/xml", b"*/*;q=x", b"\xff",
                       b"text/csv, application/json;q=0", b"", b"text/*"):
            yield base.variant("header", query=b"unknown=1", headers={"Accept": accept})
            yield base.variant("header", query=b"region=%FF",
                               headers={"Accept": accept, "Accept-Language": b"zh\xff"})


BAD_TOKENS = [
    None, b"", b"Bearer", b"Bearer ", b"Basic dXNlcjpwYXNz", b"Bearer tjs_", b"Bearer tja_short",
    b"Bearer " + b"x" * 8000, b"Bearer tjs_\xff\xfe", b"Bearer tjs_" + b"\x01" * 43, b"Bearer\ttjs_x",
    b"Bearer tjs_%00",
]


def token_variants(base, world, rng):
    op = base.op
    if op.public:
        return
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    good = world.principals[op.roles[0]].token.encode()
    forged = [b"Bearer " + prefix + bytes(rng.choice(alphabet) for _ in range(43))
              for prefix in (b"tjs_", b"tja_")]
    altered = [b"Bearer " + good[:-1], b"Bearer " + good + b"x", b"Bearer tja_" + good[4:]]
    stale = [b"Bearer " + t.encode() for t in world.stale_tokens.values()]
    for auth in BAD_TOKENS + forged + altered + stale:
        yield base.variant("token", headers={"Authorization": auth}, caller="bad token")


def http_layer_variants(base):
    """Requests that break HTTP itself, which a server must refuse (RFC 9112):
    libmicrohttpd does so with answers of its own or by closing the
    connection, the server with a problem."""
    target = base.path()
    method = base.op.method.encode()
    for raw in (
        method + b" " + target + b"?" + b"a" * 70_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 70_000 + b"\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n",
        method + b" " + target + b" HTTP/9.9\r\nHost: x\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\n X-Folded: yes\r\n\r\n",
        method + b" " + target + b"\xff HTTP/1.1\r\nHost: x\r\n\r\n",
        method + b" " + target + b" HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ):
        yield Request("http-layer", base.op, base.caller, base.op.method, target, {}, None,
                      http_layer=True, raw=raw)


# --- the whole set ----------------------------------------------------------------------


def generate(world):
    """The systematic cases, in a fixed order."""
    rng = random.Random(SEED)
    keys = iter(range(1, 10**9))
    cases = []
    for op in OPERATIONS:
        bodies = None
        for caller in ("nobody", *op.roles):
            base = Base(world, op, caller, keys)
            if bodies is None and op.body_type == "application/json":
                bodies = list(body_variants(op, base.body_value))
            elif bodies is None and op.body_type == "text/csv":
                bodies = list(csv_variants(base))
            variants = [base.variant(category, body=body) for category, body in bodies or ()]
            variants += path_variants(base)
            variants += query_variants(base)
            variants += header_variants(base)
            if (caller == "nobody") != op.public:
                variants = sample_by_category(variants, SAMPLE_SHARE)
            cases += variants
        base = Base(world, op, "nobody", keys)
        cases += token_variants(base, world, rng)
        cases += http_layer_variants(base)
    return cases


def sample_by_category(cases, share):
    """Every share-th case of each category, and its first."""
    seen = collections.Counter()
    kept = []
    for c in cases:
        if seen[c.category] % share == 0:
            kept.append(c)
        seen[c.category] += 1
    return kept


def random_cases(world, count):
    """count seeded random cases: random values, where the description admits
    none of them, at random members of random operations' bodies, in their
    path parameters and in their queries."""
    rng = random.Random(SEED + 1)
    keys = iter(range(10**9, 2 * 10**9))
    ops = [op for op in OPERATIONS if op.body_type == "application/json" or op.path_params or op.query_refused]
    cases = []
    while len(cases) < count:
        op = rng.choice(ops)
        base = Base(world, op, rng.choice(("nobody", *op.roles)), keys)
        parts = (("body", op.body_type == "application/json"), ("path", bool(op.path_params)),
                 ("query", op.query_refused))
        what = rng.choice([part for part, present in parts if present])
        if what == "body":
            spots = [p for p, _ in locations(op.schema, base.body_value) if p]
            doc = put(base.body_value, rng.choice(spots), random_value(rng, 3))
            if valid(op.schema, doc):
                continue
            cases.append(base.variant("random", body=dumps(doc)))
        elif what == "path":
            name, schema = rng.choice(sorted(op.path_params.items()))
            value = random_text(rng)
            if param_valid(schema, unquote_to_bytes(value).decode("utf-8", "replace")):
                continue
            cases.append(base.variant("random", target=base.path(**{name: value})))
        else:
            names = sorted(op.query) + ["x", "limit", "after"]
            pairs = [(rng.choice(names), random_text(rng)) for _ in range(rng.randint(1, 4))]
            if rng.random() < 0.3:
                pairs.append(("junk" + str(rng.randint(0, 99)), random_text(rng)))
            if query_valid(op, pairs):
                continue
            cases.append(base.variant("random", query=b"&".join(k.encode() + b"=" + v for k, v in pairs)))
    return cases


def query_valid(op, pairs):
    """Would the description take this query (names once each, values fitting)?"""
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names) or not set(names) <= set(op.query):
        return False
    for k, v in pairs:
        try:
            text = unquote_to_bytes(v).decode("utf-8")
        except UnicodeDecodeError:
            return False
        if not param_valid(op.query[k], text):
            return False
    return True


def random_value(rng, depth):
    kind = rng.randrange(8 if depth else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return rng.choice([rng.randint(-(2**63), 2**63 - 1), rng.randint(-1000, 1000), rng.uniform(-1e6, 1e6)])
    if kind in (3, 4):
        alphabet = "aZ09 _-.:/\\\"'<>&%\u00e9\u4e2d\u0000\u200b\U0001f600\ufeff\u2028"
        return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 5, 40, 300, 6000])))
    if kind in (5, 6):
        return [random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))]
    keys = ["k", "name", "id", "", "\u4e2d", "a b"]
    return {rng.choice(keys) + str(rng.randint(0, 9)): random_value(rng, depth - 1) for _ in range(rng.randint(0, 3))}


def random_text(rng):
    """A path or query value: random bytes, percent-encoded or not."""
    out = bytearray()
    for _ in range(rng.choice([0, 1, 3, 12, 80])):
        c = rng.randrange(256)
        if rng.random() < 0.6 or c in b" #?&=/\r\n" or c < 0x21 or c == 0x7F:
            out += b"%%%02X" % c
        else:
            out.append(c)
    return bytes(out)


# --- sending ----------------------------------------------------------------------------


class Answer:
    __slots__ = ("status", "headers", "body", "error")

    def __init__(self, status=None, headers=None, body=b"", error=None):
        self.status, self.headers, self.body, self.error = status, headers, body, error


class Connection:
    """A keep-alive connection that sends raw requests and reads their answers."""

    def __init__(self, port):
        self.port = port
        self.sock = None

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def exchange(self, req, n):
        data = req.wire(n)
        fresh = self.sock is None or req.http_layer
        if req.http_layer:
            self.close()
        answer = self._once(req, data)
        if answer.status is None and not fresh and answer.error == "closed":
            # The server may close a kept-alive connection between requests.
            answer = self._once(req, data)
        if answer.status is None or req.http_layer or answer.headers.get("Connection", "").lower() == "close":
            self.close()
        return answer

    def _once(self, req, data):
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=TIMEOUT)
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while sending: the answer may be waiting
        except socket.timeout:
            self.close()
            return Answer(error="the server stopped reading the request for %d s" % TIMEOUT)
        try:
            r = http.client.HTTPResponse(self.sock, method=req.method)
            r.begin()
            body = r.read()
            return Answer(r.status, r.headers, body)
        except socket.timeout:
            self.close()
            return Answer(error="no answer within %d s" % TIMEOUT)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.IncompleteRead):
            self.close()
            return Answer(error="closed")
        except http.client.HTTPException as e:
            self.close()
            return Answer(error=f"not HTTP: {e!r}")


def problem_fault(req, a):
    """What is wrong with answer a to req, or None."""
    if a.status is None:
        return None if req.http_layer and a.error == "closed" else f"no answer ({a.error})"
    if req.http_layer and a.headers.get("Content-Type") != "application/problem+json":
        # Refused by libmicrohttpd itself, as test_errors.py shows.
        return None if 400 <= a.status < 500 or a.status == 505 else f"status {a.status}"
    if not 400 <= a.status < 500:
        return f"status {a.status}"
    if a.headers.get("Content-Type") != "application/problem+json":
        return f"Content-Type {a.headers.get('Content-Type')!r}"
    try:
        doc = json.loads(a.body.decode("utf-8"))
    except ValueError:
        return "the body is not JSON"
    if not isinstance(doc, dict):
        return "the problem is not an object"
    if not (isinstance(doc.get("type"), str) and doc["type"].startswith("urn:tiaojie:problem:")):
        return f"type {doc.get('type')!r}"
    if doc.get("title") != TITLES.get(a.status) or doc.get("status") != a.status:
        return f"title {doc.get('title')!r}, status {doc.get('status')!r}"
    if doc.get("request_id") != a.headers.get("X-Request-Id"):
        return "request_id is not X-Request-Id"
    return None


def send_all(port, cases):
    """Sends the cases over CONNECTIONS connections; (answers, seconds).
    All stop at the first request the server leaves unanswered for TIMEOUT
    seconds: it has stopped serving, and the rest would only wait too."""
    answers = [None] * len(cases)
    stalled = threading.Event()

    def worker(k):
        conn = Connection(port)
        for i in range(k, len(cases), CONNECTIONS):
            if stalled.is_set():
                break
            answers[i] = conn.exchange(cases[i], i)
            if answers[i].error is not None and answers[i].error != "closed":
                stalled.set()
        conn.close()

    started = time.monotonic()
    with ThreadPoolExecutor(CONNECTIONS) as pool:
        list(pool.map(worker, range(CONNECTIONS)))
    return answers, time.monotonic() - started


# --- what must not change ----------------------------------------------------------------


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def table_digest(inst):
    """Per table the count of rows and a digest of their content."""
    columns = collections.defaultdict(list)
    for line in inst.psql(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
    ).splitlines():
        table, column = line.split("|")
        if table not in UNWATCHED_TABLES and column not in UNWATCHED_COLUMNS:
            columns[table].append(column)
    parts = [
        f"SELECT '{t}', count(*), coalesce(md5(string_agg(r, ',' ORDER BY r)), '') "
        f"FROM (SELECT ROW({', '.join(map(quote_ident, c))})::text AS r FROM {t}) x"
        for t, c in sorted(columns.items())
    ]
    out = inst.psql(" UNION ALL ".join(parts))
    return {t: (int(n), h) for t, n, h in (line.split("|") for line in out.splitlines())}


# --- the test ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(cluster, logdir):
    with Installation.running(cluster, logdir, proxy=False) as inst:
        yield World(inst)


def test_the_generator_covers_every_operation_and_role(world):
    cases = generate(world)
    assert len(cases) <= REQUESTS, f"{len(cases)} generated: raise REQUESTS"
    covered = {(c.op.id, c.caller) for c in cases}
    for op in OPERATIONS:
        for caller in ("nobody", *op.roles):
            assert (op.id, caller) in covered, (op, caller)
    by_op = collections.Counter(c.op.id for c in cases)
    assert min(by_op.values()) >= 20, by_op.most_common()[-5:]


def test_large_bodies_on_more_connections_than_workers(world):
    # A request used to keep its database connection until its answer was
    # sent; a worker meanwhile serving another connection could wait for
    # that connection for good. Four connections posting large bodies (read
    # in many pieces) stopped the two workers within a few requests.
    op = next(o for o in OPERATIONS if o.id == "createUser")
    large = Base(world, op, "nobody", iter(range(1))).variant("huge-string", body=dumps({"name": "長" * 300_000}))
    small = Base(world, op, "nobody", iter(range(1))).variant("missing-field", body=b"{}")

    def client(k):
        conn = Connection(world.inst.server.port)
        got = []
        for i in range(24):
            a = conn.exchange(large if (i + k) % 3 == 0 else small, 0)
            got.append(a.status or a.error)
            if a.status is None:
                break
        conn.close()
        return got

    with ThreadPoolExecutor(CONNECTIONS) as pool:
        answers = collections.Counter(x for got in pool.map(client, range(CONNECTIONS)) for x in got)
    assert answers == {401: 24 * CONNECTIONS}, answers


def test_malformed_requests_get_problems_and_change_nothing(world, capsys):
    inst = world.inst
    systematic = generate(world)
    cases = systematic + random_cases(world, REQUESTS - len(systematic))
    assert len(cases) == REQUESTS
    before = table_digest(inst)

    answers, seconds = send_all(inst.server.port, cases)

    sent = collections.Counter()
    classes = collections.defaultdict(collections.Counter)
    faults = []
    for req, a in zip(cases, answers):
        if a is None:
            continue  # not sent: the server had stopped answering
        sent[req.category] += 1
        cls = "no answer" if a.status is None else f"{a.status // 100}xx"
        classes[req.category][cls] += 1
        classes["(all)"][cls] += 1
        fault = problem_fault(req, a)
        if fault is not None:
            faults.append(f"{req!r}: {fault}: {a.body[:200]!r}")
    statuses = collections.Counter(a.status for a in answers if a is not None and a.status is not None)

    lines = [f"malformed requests: {len(cases)} in {seconds:.1f} s over {CONNECTIONS} connections "
             f"({len(systematic)} generated, {len(cases) - len(systematic)} random)"]
    for category in sorted(sent, key=lambda c: -sent[c]):
        lines.append(f"  {category:14} {sent[category]:6}  " + ", ".join(
            f"{k} {v}" for k, v in sorted(classes[category].items())))
    lines.append(f"  {'all':14} {sum(sent.values()):6}  " + ", ".join(
        f"{k} {v}" for k, v in sorted(classes["(all)"].items())))
    lines.append("  statuses: " + ", ".join(f"{s} {n}" for s, n in sorted(statuses.items())))
    lines.append(f"  faults: {len(faults)}")
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert inst.server.alive(), f"the server died:\n{inst.server.log()[-4000:]}"
    assert not faults, f"{len(faults)} answers are not problems of a client error:\n" + "\n".join(faults[:60])
    assert sum(sent.values()) == REQUESTS
    assert not sanitizer_reports(inst.server.log()), inst.server.log()[-6000:]

    after = table_digest(inst)
    changed = {t: (before.get(t), after.get(t)) for t in set(before) | set(after) if before.get(t) != after.get(t)}
    assert not changed, f"tables changed by refused requests: {changed}"

    assert inst.api.get("/healthz").json() == {"status": "ok"}
    assert inst.api.get("/readyz").status == 200
    for role, who in world.principals.items():
        r = inst.api.get("/api/v1/me", headers=who.auth)
        assert r.status == 200 and r.json()["user"]["role"] == role, r
    r = inst.api.get(f"/api/v1/cases/{world.case}", headers=world.principals["admin"].auth)
    assert r.status == 200 and r.header("ETag") == world.case_etag, r
