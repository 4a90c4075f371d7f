"""Operational endpoints: liveness, readiness, metrics, the API document,
request ids, keep-alive and HEAD."""

import http.client
import json
import re

import pytest

from support import GENERATED_ID, LATEST_SCHEMA, MIGRATIONS, SPEC, assert_problem, wait_until


def test_healthz(api):
    r = api.get("/healthz")
    assert r.status == 200
    assert r.content_type == "application/json"
    assert r.json() == {"status": "ok"}


def test_readyz(api):
    r = api.get("/readyz")
    assert r.status == 200
    assert r.content_type == "application/json"
    assert r.json() == {"status": "ready", "schema_version": LATEST_SCHEMA}
    assert LATEST_SCHEMA == len(MIGRATIONS)


def test_readyz_reports_a_schema_the_binary_does_not_match(api, cluster, database):
    first = MIGRATIONS[0]
    saved = cluster.psql(database, "SELECT checksum FROM schema_migrations WHERE version = 1")
    try:
        cluster.psql(
            database,
            "INSERT INTO schema_migrations (version, name, checksum) "
            "VALUES (9999, '9999_from_the_future.sql', 'x')",
        )
        r = api.get("/readyz")
        assert_problem(r, 503, "not-ready", detail_has="9999_from_the_future.sql")
        assert api.get("/healthz").status == 200
        cluster.psql(database, "DELETE FROM schema_migrations WHERE version = 9999")

        cluster.psql(database, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
        r = api.get("/readyz")
        assert_problem(r, 503, "not-ready", detail_has=first)
    finally:
        cluster.psql(database, "DELETE FROM schema_migrations WHERE version = 9999")
        cluster.psql(
            database, f"UPDATE schema_migrations SET checksum = '{saved}' WHERE version = 1"
        )
    r = api.get("/readyz")
    assert r.status == 200
    assert r.json() == {"status": "ready", "schema_version": LATEST_SCHEMA}


# --- metrics ------------------------------------------------------------------

SAMPLE = re.compile(
    r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)'
    r'(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})?'
    r' (?P<value>[-+]?[0-9.]+(?:[eE][-+]?[0-9]+)?|[-+]Inf|NaN)$'
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(api):
    r = api.get("/metrics")
    assert r.status == 200
    assert r.content_type == "text/plain; version=0.0.4; charset=utf-8"
    text = r.body.decode("utf-8")
    assert text.endswith("\n")
    samples = []
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ .+$", line), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a Prometheus sample: {line!r}"
        labels = dict(LABEL.findall(m.group("labels") or ""))
        samples.append((m.group("name"), labels, float(m.group("value"))))
    return text, samples


def value(samples, name, **labels):
    found = [v for n, l, v in samples if n == name and l == labels]
    assert len(found) <= 1, (name, labels, found)
    return found[0] if found else 0.0


def test_metrics_exposition(api):
    text, samples = scrape(api)
    for family, kind in [
        ("tiaojie_http_requests_total", "counter"),
        ("tiaojie_http_request_duration_seconds", "histogram"),
        ("tiaojie_db_pool_connections", "gauge"),
        ("tiaojie_db_pool_in_use", "gauge"),
    ]:
        assert f"# TYPE {family} {kind}\n" in text
        assert f"# HELP {family} " in text
    assert value(samples, "tiaojie_db_pool_connections") == 2  # TIAOJIE_WORKERS=2
    assert value(samples, "tiaojie_db_pool_in_use") == 0


def test_metrics_count_requests_by_route_pattern(api):
    route = "/api/v1/regions/{code}"
    _, before = scrape(api)
    for code in ("450202", "450203", "450200"):
        assert api.get(f"/api/v1/regions/{code}").status == 200
    assert api.get("/api/v1/regions/450299").status == 404
    assert api.get("/no/such/thing").status == 404
    _, after = scrape(api)

    total = "tiaojie_http_requests_total"
    assert value(after, total, method="GET", route=route, status="200") == value(
        before, total, method="GET", route=route, status="200"
    ) + 3
    assert value(after, total, method="GET", route=route, status="404") == value(
        before, total, method="GET", route=route, status="404"
    ) + 1
    assert value(after, total, method="", route="unmatched", status="404") == value(
        before, total, method="", route="unmatched", status="404"
    ) + 1
    # Labels are route patterns, never raw paths.
    routes = {l.get("route") for n, l, v in after if "route" in l}
    assert not any(r and re.search(r"/\d{6}", r) for r in routes), routes
    assert "/no/such/thing" not in routes

    # The histogram agrees with the counter.
    hist = "tiaojie_http_request_duration_seconds"
    buckets = sorted(
        ((float(l["le"]) if l["le"] != "+Inf" else float("inf")), v)
        for n, l, v in after
        if n == hist + "_bucket" and l.get("route") == route
    )
    assert buckets, "no histogram buckets for " + route
    counts = [v for _, v in buckets]
    assert counts == sorted(counts), "buckets are not cumulative"
    assert buckets[-1][0] == float("inf")
    observed = value(after, hist + "_count", method="GET", route=route)
    assert buckets[-1][1] == observed
    answered = sum(
        v for n, l, v in after if n == total and l.get("route") == route and l.get("method") == "GET"
    )
    assert observed == answered
    assert value(after, hist + "_sum", method="GET", route=route) > 0


# --- the API document -----------------------------------------------------------


def test_openapi_document_is_the_spec(api):
    r = api.get("/api/v1/openapi.yaml")
    assert r.status == 200
    assert r.content_type == "application/yaml"
    assert r.body == SPEC.read_bytes()


# --- request ids --------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["abc", "A.b_c:d-9", "x" * 64, "01HZX3K9Q2R7M4T8V6W0Y5B1CD", "0"]
)
def test_request_id_is_echoed(api, given):
    r = api.get("/healthz", headers={"X-Request-Id": given})
    assert r.header("X-Request-Id") == given
    r = api.get("/api/v1/regions/450299", headers={"X-Request-Id": given})
    body = assert_problem(r, 404, "not-found")
    assert r.header("X-Request-Id") == given
    assert body["request_id"] == given


@pytest.mark.parametrize("given", ["x" * 65, "has space", "semi;colon", "slash/", "quote\"", "tab\there"])
def test_bad_request_id_is_replaced(api, given):
    r = api.get("/api/v1/regions/450299", headers={"X-Request-Id": given})
    rid = r.header("X-Request-Id")
    assert GENERATED_ID.match(rid), rid
    assert assert_problem(r, 404, "not-found")["request_id"] == rid


def test_request_id_not_ascii_is_replaced(direct):
    # Straight to the server, so that the raw UTF-8 bytes arrive unchanged
    # (http.client sends bytes header values as they are).
    r = direct.get("/healthz", headers={"X-Request-Id": "调解".encode("utf-8")})
    assert GENERATED_ID.match(r.header("X-Request-Id"))


def test_empty_request_id_is_replaced(direct):
    # Straight to the server: an empty header must reach it as sent.
    r = direct.get("/healthz", headers={"X-Request-Id": ""})
    assert GENERATED_ID.match(r.header("X-Request-Id"))


def test_generated_request_ids_differ(api):
    ids = {api.get("/healthz").header("X-Request-Id") for _ in range(5)}
    assert len(ids) == 5
    assert all(GENERATED_ID.match(i) for i in ids)


def test_requests_are_logged_as_json(api, server):
    rid = "log-check.1"
    assert api.get("/api/v1/regions/450202", headers={"X-Request-Id": rid}).status == 200

    def record():
        for line in server.log_lines():
            if f'"request_id":"{rid}"' in line:
                return json.loads(line)
        return None

    rec = wait_until(record, timeout=5)
    assert rec is not None, server.log()[-2000:]
    assert rec["level"] == "info"
    assert rec["method"] == "GET"
    assert rec["route"] == "/api/v1/regions/{code}"
    assert rec["status"] == 200
    assert rec["path"] == "/api/v1/regions/450202"
    assert isinstance(rec["duration_us"], int) and rec["duration_us"] >= 0
    assert rec["bytes"] > 0


# --- connections and HEAD (straight to the server: the proxy keeps its own
# connections to the server, and it cannot carry HEAD: it answers 500
# itself when it finds no JSON body to parse) ---------------------------------------


def test_keep_alive_reuses_the_connection(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        seen = []
        for path, status in [
            ("/healthz", 200),
            ("/api/v1/regions/450202", 200),
            ("/nowhere", 404),
            ("/api/v1/regions?limit=0", 400),
            ("/readyz", 200),
        ]:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            assert r.status == status, path
            assert (r.getheader("Connection") or "").lower() != "close", path
            assert not r.will_close, path
            seen.append((conn.sock, conn.sock.getsockname()))
        assert all(s is seen[0][0] and name == seen[0][1] for s, name in seen)
    finally:
        conn.close()


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/api/v1/regions?parent=450200", "/api/v1/regions/450200", "/metrics"]
)
def test_head_matches_get(direct, path):
    get = direct.get(path)
    head = direct.request("HEAD", path)
    assert head.status == get.status == 200
    assert head.body == b""
    assert head.content_type == get.content_type
    if path != "/metrics":  # the metrics text changes between the two requests
        assert int(head.header("Content-Length")) == len(get.body)


def test_head_of_unknown_path(direct):
    r = direct.request("HEAD", "/nowhere")
    assert r.status == 404
    assert r.body == b""
    assert r.content_type == "application/problem+json"


def test_concurrent_requests(api):
    from concurrent.futures import ThreadPoolExecutor

    expected = {
        "/api/v1/regions/450202": "城中区",
        "/api/v1/regions/450226": "三江侗族自治县",
        "/api/v1/regions/450000": "广西壮族自治区",
    }
    paths = list(expected) * 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(api.get, paths))
    for path, r in zip(paths, results):
        assert r.status == 200, r
        assert r.json()["name"] == expected[path]
    assert len({r.header("X-Request-Id") for r in results}) == len(paths)
    _, samples = scrape(api)
    assert value(samples, "tiaojie_db_pool_in_use") == 0
