"""Settings that change how the server behaves, each on a server of its own
(straight to it: these are about connections and sizes, which the proxy
would hide)."""

import http.client
import json
import time

from support import (
    Client,
    assert_problem,
    connection_closed,
    raw_connect,
    read_response,
    wait_until,
)

BODY_HEAD = b"POST /api/v1/regions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"


def test_body_limit_setting(spawn_server):
    srv = spawn_server(TIAOJIE_BODY_LIMIT="1k")
    client = Client(srv.port)
    at_limit = b"{}" + b" " * 1022
    r = client.post("/api/v1/regions", body=at_limit, headers={"Content-Type": "application/json"})
    assert_problem(r, 401, "unauthorized")
    r = client.post("/api/v1/regions", body=at_limit + b" ", headers={"Content-Type": "application/json"})
    body = assert_problem(r, 413, "payload-too-large")
    assert "1024" in body["detail"]


def test_idle_connections_are_closed_after_the_timeout(spawn_server):
    srv = spawn_server(TIAOJIE_CONN_TIMEOUT="1")
    with raw_connect(srv.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        resp, _ = read_response(s)
        assert resp.status == 200
        started = time.monotonic()
        assert connection_closed(s, timeout=5), "idle connection still open after 5 s"
        assert time.monotonic() - started >= 0.5
    assert Client(srv.port).get("/healthz").status == 200


def _served(sock):
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        return read_response(sock)[0].status == 200
    except (OSError, http.client.HTTPException):
        return False


def _two_served(port):
    """Two open connections, both served; None while the server still
    counts a connection that was just closed (the readiness probe)."""
    pair = [raw_connect(port), raw_connect(port)]
    if all(_served(s) for s in pair):
        return pair
    for s in pair:
        s.close()
    return None


def test_connections_per_address_are_limited(spawn_server):
    srv = spawn_server(TIAOJIE_MAX_CONNECTIONS_PER_IP="2")
    pair = wait_until(lambda: _two_served(srv.port), 5, interval=0.2)
    assert pair, "two connections from one address were not both served"
    try:
        with raw_connect(srv.port) as third:
            assert connection_closed(third, timeout=5), "a third connection was kept"
    finally:
        for s in pair:
            s.close()
    # Once the others are gone, a new one is served.
    assert wait_until(lambda: _healthy(srv.port), 5)


def _healthy(port):
    try:
        return Client(port, timeout=2).get("/healthz").status == 200
    except AssertionError:
        return False


def test_log_level_warn_leaves_out_ordinary_requests(spawn_server):
    srv = spawn_server(TIAOJIE_LOG_LEVEL="warn")
    client = Client(srv.port)
    assert client.get("/healthz", headers={"X-Request-Id": "quiet-1"}).status == 200
    assert client.get("/nowhere", headers={"X-Request-Id": "quiet-2"}).status == 404
    # An aborted request is a warning: it is logged.
    with raw_connect(srv.port) as s:
        s.sendall(BODY_HEAD % 100 + b'{"code":')
        time.sleep(0.3)
    assert wait_until(lambda: '"aborted":true' in srv.log(), 5), srv.log()
    log = srv.log()
    assert "quiet-1" not in log and "quiet-2" not in log
    assert '"level":"info"' not in log
    records = [json.loads(line) for line in srv.log_lines()]
    assert all(r["level"] in ("warn", "error") for r in records)


def test_debug_log_level_is_accepted(spawn_server):
    srv = spawn_server(TIAOJIE_LOG_LEVEL="debug")
    assert Client(srv.port).get("/healthz", headers={"X-Request-Id": "loud-1"}).status == 200
    assert wait_until(lambda: "loud-1" in srv.log(), 5)


def test_listen_on_ipv6_loopback(spawn_server):
    srv = spawn_server(host="::1")
    client = Client(srv.port, host="::1")
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/api/v1/regions/450200").json()["name"] == "柳州市"
    assert wait_until(lambda: f"listening on ::1 port {srv.port}" in srv.log(), 5)


def test_one_worker_serves_concurrent_clients(spawn_server):
    srv = spawn_server(TIAOJIE_WORKERS="1")
    sockets = [raw_connect(srv.port) for _ in range(5)]
    try:
        for s in sockets:
            s.sendall(b"GET /api/v1/regions/450202 HTTP/1.1\r\nHost: test\r\n\r\n")
        for s in sockets:
            resp, body = read_response(s)
            assert resp.status == 200
            assert json.loads(body)["code"] == "450202"
    finally:
        for s in sockets:
            s.close()
    text = Client(srv.port).get("/metrics").body.decode()
    assert "tiaojie_db_pool_connections 1\n" in text
