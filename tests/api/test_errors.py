"""Everything that should be refused: unknown routes, wrong methods, bad
bodies, oversized bodies and URLs, broken encodings; and the server
keeps serving afterwards."""

import json
import socket
import time

import pytest

from support import (
    TITLES,
    assert_problem,
    connection_closed,
    raw_connect,
    read_response,
    received_until_closed,
)

LIMIT = 1024 * 1024  # TIAOJIE_BODY_LIMIT default, 1M
GOOD_REGION = {"code": "450300", "name": "桂林市", "level": "city", "parent_code": "450000"}


# --- routing ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/", "/nope", "/api", "/api/v1", "/api/v2/regions", "/healthz/", "/HEALTHZ", "/api/v1/openapi.json"]
)
def test_unknown_path(api, path):
    body = assert_problem(api.get(path), 404, "not-found")
    assert body["instance"] == path


@pytest.mark.parametrize(
    "method,path,allow",
    [
        ("POST", "/healthz", "GET, HEAD"),
        ("DELETE", "/readyz", "GET, HEAD"),
        ("PUT", "/metrics", "GET, HEAD"),
        ("PATCH", "/api/v1/openapi.yaml", "GET, HEAD"),
        ("DELETE", "/api/v1/regions", "GET, HEAD, POST"),
        ("PUT", "/api/v1/regions", "GET, HEAD, POST"),
        ("OPTIONS", "/api/v1/regions", "GET, HEAD, POST"),
        ("PUT", "/api/v1/regions/450200", "GET, HEAD"),
        ("POST", "/api/v1/regions/450200", "GET, HEAD"),
        ("DELETE", "/api/v1/regions/450299", "GET, HEAD"),
    ],
)
def test_wrong_method(api, method, path, allow):
    r = api.request(method, path)
    assert_problem(r, 405, "method-not-allowed")
    assert r.header("Allow") == allow


def test_unknown_method_on_unknown_path(api):
    assert_problem(api.request("DELETE", "/nope"), 404, "not-found")


# --- bodies ----------------------------------------------------------------------


def test_valid_body_needs_a_token(api):
    r = api.post("/api/v1/regions", json_body=GOOD_REGION)
    assert_problem(r, 401, "unauthorized", instance="/api/v1/regions")
    assert r.header("WWW-Authenticate") == 'Bearer realm="tiaojie"'


def test_bearer_token_is_not_accepted_yet(api):
    r = api.post(
        "/api/v1/regions", json_body=GOOD_REGION, headers={"Authorization": "Bearer not-a-real-token"}
    )
    assert_problem(r, 401, "unauthorized")
    assert r.header("WWW-Authenticate") == 'Bearer realm="tiaojie"'


def test_region_still_absent_after_refused_create(api):
    assert_problem(api.get("/api/v1/regions/450300"), 404, "not-found")


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", "application/json;charset=UTF-8"]
)
def test_json_media_type_variants_pass_body_checks(api, content_type):
    r = api.post(
        "/api/v1/regions",
        body=json.dumps(GOOD_REGION).encode(),
        headers={"Content-Type": content_type},
    )
    assert_problem(r, 401, "unauthorized")


@pytest.mark.parametrize("body", [{}, {"unexpected": True}, {"code": 1}])
def test_body_of_an_anonymous_caller_is_not_examined(api, body):
    assert_problem(api.post("/api/v1/regions", json_body=body), 401, "unauthorized")


def test_malformed_body_of_an_anonymous_caller_is_not_parsed(direct):
    r = direct.post("/api/v1/regions", body=b"{bad", headers={"Content-Type": "text/plain"})
    assert_problem(r, 401, "unauthorized")


def test_empty_body(api, admin):
    r = api.post("/api/v1/regions", body=b"", headers={"Content-Type": "application/json", **admin.auth})
    assert_problem(r, 400, "malformed-json")


def test_array_body(api, admin):
    r = api.post(
        "/api/v1/regions",
        body=b'[{"code":"450300"}]',
        headers={"Content-Type": "application/json", **admin.auth},
    )
    assert_problem(r, 400, "malformed-json", detail_has="object")


# Straight to the server: the proxy answers malformed JSON itself (400 with
# its own body), drops a "null" body, and re-encodes the JSON it parses
# (which would hide duplicate keys and trailing garbage).
@pytest.mark.parametrize(
    "body",
    [
        b"{bad",
        b'{"code": }',
        b'{"code":"450300"',
        b'{"a":1} x',
        b'{"a":1}{"b":2}',
        b'{"a":1,"a":2}',
        b'{"name":"\xff"}',
        b"null",
        b'"a string"',
        b"42",
        b"true",
        b"   ",
    ],
)
def test_malformed_json(direct, admin, body):
    r = direct.post(
        "/api/v1/regions", body=body, headers={"Content-Type": "application/json", **admin.auth}
    )
    assert_problem(r, 400, "malformed-json", instance="/api/v1/regions")


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", "application/json; charset=latin1", "application/xml"],
)
def test_wrong_media_type(api, admin, content_type):
    r = api.post(
        "/api/v1/regions",
        body=json.dumps(GOOD_REGION).encode(),
        headers={"Content-Type": content_type, **admin.auth},
    )
    assert_problem(r, 415, "unsupported-media-type", instance="/api/v1/regions")


def test_missing_media_type(direct, admin):
    # Straight to the server, so that nothing adds a Content-Type on the way.
    r = direct.post("/api/v1/regions", body=json.dumps(GOOD_REGION).encode(), headers=admin.auth)
    assert_problem(r, 415, "unsupported-media-type")


def test_media_type_checked_before_json(direct, admin):
    r = direct.post(
        "/api/v1/regions", body=b"{bad", headers={"Content-Type": "text/plain", **admin.auth}
    )
    assert_problem(r, 415, "unsupported-media-type")


# --- body size (straight to the server: the proxy re-encodes bodies and
# does not pass on chunked transfer or early answers) ----------------------------------


def post_head(length=None, chunked=False, content_type="application/json"):
    head = f"POST /api/v1/regions HTTP/1.1\r\nHost: test\r\nContent-Type: {content_type}\r\n"
    if length is not None:
        head += f"Content-Length: {length}\r\n"
    if chunked:
        head += "Transfer-Encoding: chunked\r\n"
    return (head + "\r\n").encode()


def problem_of(resp, body, status, slug):
    assert resp.status == status, body[:300]
    assert resp.getheader("Content-Type") == "application/problem+json"
    doc = json.loads(body)
    assert doc["type"] == f"urn:tiaojie:problem:{slug}"
    assert doc["status"] == status
    assert doc["title"] == TITLES[status]
    assert doc["request_id"] == resp.getheader("X-Request-Id")
    return doc


@pytest.mark.parametrize("declared", [LIMIT + 1, 10**12, 2**64 - 1])
def test_declared_length_over_limit_is_refused_at_once(server, declared):
    with raw_connect(server.port) as s:
        s.sendall(post_head(length=declared) + b'{"code":')  # and nothing more
        resp, body = read_response(s, "POST")
        doc = problem_of(resp, body, 413, "payload-too-large")
        assert doc["instance"] == "/api/v1/regions"
        assert str(LIMIT) in doc["detail"]
        assert (resp.getheader("Connection") or "").lower() == "close"
        assert connection_closed(s), "connection left open after the 413"


def test_declared_length_beyond_64_bits(server):
    # libmicrohttpd refuses this itself, before the server sees the request:
    # any 413 will do, and the connection must be closed.
    with raw_connect(server.port) as s:
        s.sendall(post_head(length=2**64 + 5))
        resp, _ = read_response(s, "POST")
        assert resp.status == 413
        assert connection_closed(s)


def test_body_of_exactly_the_limit_is_read(server):
    body = b"{}" + b" " * (LIMIT - 2)
    with raw_connect(server.port) as s:
        s.sendall(post_head(length=len(body)) + body)
        resp, data = read_response(s, "POST")
        problem_of(resp, data, 401, "unauthorized")


def test_chunked_body_within_limit(server):
    payload = json.dumps(GOOD_REGION).encode()
    chunks = [payload[:10], payload[10:]]
    wire = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    with raw_connect(server.port) as s:
        s.sendall(post_head(chunked=True) + wire)
        resp, data = read_response(s, "POST")
        problem_of(resp, data, 401, "unauthorized")


@pytest.mark.parametrize("pause", [0, 0.2], ids=["streamed", "paused"])
def test_chunked_body_over_limit(server, pause):
    # "paused": the chunk that crosses the limit, and the end of the body,
    # arrive in reads of their own.
    chunk = b" " * 65536
    with raw_connect(server.port, timeout=5) as s:
        s.sendall(post_head(chunked=True) + b"1\r\n{\r\n")
        try:
            for _ in range(LIMIT // len(chunk)):
                s.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            time.sleep(pause)
            s.sendall(b"1\r\n}\r\n")
            time.sleep(pause)
            s.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused while sending: the answer should be waiting
        try:
            resp, data = read_response(s, "POST")
        except socket.timeout:
            pytest.fail("no response within 5 s to a chunked body over the limit")
        problem_of(resp, data, 413, "payload-too-large")


# --- URL length ----------------------------------------------------------------------


def test_path_of_2048_bytes_is_served(api):
    path = "/" + "a" * 2047
    assert_problem(api.get(path), 404, "not-found", instance=None)


def test_path_over_2048_bytes(api):
    assert_problem(api.get("/" + "a" * 2048), 414, "uri-too-long", instance=None)


def test_path_of_3000_bytes_under_a_route(api):
    r = api.get("/api/v1/regions/" + "1" * 3000)
    assert_problem(r, 414, "uri-too-long", instance=None)


def test_decoded_path_length_counts(api):
    # 700 x "%41" is 2100 bytes on the wire but 700 decoded: not too long.
    r = api.get("/" + "%41" * 700)
    assert_problem(r, 404, "not-found", instance=None)


def test_query_of_4096_bytes_is_served(api):
    # limit=000...05: a valid request whose query is exactly 4096 bytes.
    query = "limit=" + "0" * (4096 - len("limit=") - 1) + "5"
    assert len(query) == 4096
    r = api.get("/api/v1/regions?" + query)
    assert r.status == 200, r
    assert [x["code"] for x in r.json()["items"]] == ["450000", "450200", "450202", "450203", "450204"]


def test_query_of_4095_bytes_is_served(api):
    query = "limit=" + "0" * (4095 - len("limit=") - 1) + "5"
    r = api.get("/api/v1/regions?" + query)
    assert r.status == 200
    assert len(r.json()["items"]) == 5


def test_query_over_4096_bytes(api):
    query = "limit=" + "0" * (4097 - len("limit=") - 1) + "5"
    assert len(query) == 4097
    r = api.get("/api/v1/regions?" + query)
    assert_problem(r, 414, "uri-too-long", instance="/api/v1/regions")


def test_long_query_of_many_parameters(api):
    query = "&".join(f"p{i}={'x' * 40}" for i in range(150))
    r = api.get("/api/v1/regions?" + query)
    assert_problem(r, 414, "uri-too-long", instance="/api/v1/regions")


def test_request_line_beyond_the_connection_buffer(server):
    # Straight to the server: over the proxy's own header size limit.
    with raw_connect(server.port) as s:
        s.sendall(b"GET /api/v1/regions?" + b"a" * 70000 + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        resp, _ = read_response(s)
        assert resp.status == 414


def test_instance_is_omitted_beyond_256_bytes(api):
    path = "/" + "b" * 255
    assert_problem(api.get(path), 404, "not-found", instance=path)
    assert_problem(api.get(path + "b"), 404, "not-found", instance=None)


# --- encodings (straight to the server: the proxy exits on a path that is not
# UTF-8 once decoded, "URIError: URI malformed") -----------------------------------------


@pytest.mark.parametrize(
    "target,status,slug",
    [
        (b"/api/v1/regions/\xff\xfe", 400, "bad-request"),
        (b"/api/v1/regions/%FF%FE", 400, "bad-request"),
        (b"/api/v1/regions/%C3%28", 400, "bad-request"),
        (b"/nope/%FF", 404, "not-found"),
        (b"/\xc0\xaf", 404, "not-found"),
    ],
)
def test_path_not_utf8(server, target, status, slug):
    with raw_connect(server.port) as s:
        s.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        resp, body = read_response(s)
        doc = problem_of(resp, body, status, slug)
        body.decode("utf-8")  # the answer itself is UTF-8
        assert "instance" not in doc


@pytest.mark.parametrize("query", [b"?level=%FF", b"?parent=%C3%28", b"?%FF=1"])
def test_query_not_utf8(server, query):
    with raw_connect(server.port) as s:
        s.sendall(b"GET /api/v1/regions" + query + b" HTTP/1.1\r\nHost: test\r\n\r\n")
        resp, body = read_response(s)
        doc = problem_of(resp, body, 400, "bad-request")
        body.decode("utf-8")
        assert doc["instance"] == "/api/v1/regions"


@pytest.mark.parametrize(
    "request_bytes",
    [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"\x00\x01\x02\r\n\r\n"],
)
def test_malformed_request_lines(server, request_bytes):
    with raw_connect(server.port, timeout=5) as s:
        s.sendall(request_bytes)
        received = received_until_closed(s, 1.5)
    # Either refused outright or answered with a client error.
    assert received == b"" or received.startswith((b"HTTP/1.1 4", b"HTTP/1.0 4", b"HTTP/1.1 505")), received[:200]


# --- and afterwards -------------------------------------------------------------------


def test_still_healthy_after_all_of_this(api):
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").status == 200
    assert api.get("/api/v1/regions/450202").json()["name"] == "城中区"
