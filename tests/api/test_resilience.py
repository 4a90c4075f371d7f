"""Database outages and shutdown.

The outage tests stop and start a PostgreSQL cluster of their own (in a
temporary directory), with a server and a proxy of their own in front of it.
The shutdown tests start servers of their own on the shared database and
talk to them straight (a slow upload must reach the server as it is sent;
the proxy would buffer it).
"""

import json
import shutil
import signal
import socket
import tempfile
import time

import pytest

import support

from support import (
    Client,
    Cluster,
    PrismProxy,
    ServerProcess,
    assert_problem,
    raw_connect,
    read_response,
    run_cli,
    wait_until,
)

RECOVERY_SECONDS = 15


@pytest.fixture(scope="module")
def outage(logdir):
    """A cluster, a server and a proxy, all of this module's own."""
    directory = tempfile.mkdtemp(prefix="tiaojie-pg-")
    cluster = Cluster(directory)
    srv = prx = None
    try:
        cluster.start()
        db = cluster.create_db()
        url = cluster.url(db)
        assert run_cli(["migrate"], DATABASE_URL=url).returncode == 0
        srv = ServerProcess(url, logdir).start()
        prx = PrismProxy(srv.port, logdir).start()
        yield cluster, srv, Client(prx.port, proxy=prx)
        rc = srv.stop()
        assert rc == 0, srv.log()[-4000:]
        problems = srv.problems(json_lines=False)  # checked by a test of its own
        assert not problems, "\n".join(problems)[:8000]
    finally:
        if prx is not None:
            prx.stop()
        if srv is not None and srv.alive():
            srv.stop()
        try:
            cluster.kill()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def regions_ok(api):
    r = api.get("/api/v1/regions?parent=450200")
    return r.status == 200 and len(r.json()["items"]) == 10


def assert_unavailable(r):
    assert_problem(r, 503, "unavailable")
    assert r.header("Retry-After") is not None, r
    assert r.header("Retry-After").isdigit() and int(r.header("Retry-After")) >= 1


def check_outage(cluster, srv, api, take_down):
    assert regions_ok(api)
    assert api.get("/api/v1/regions/450202").status == 200
    take_down()
    assert not cluster.running()

    # Every DB-backed request, the first one included, is "unavailable".
    assert_unavailable(api.get("/api/v1/regions"))
    assert_unavailable(api.get("/api/v1/regions/450202"))
    assert_unavailable(api.get("/api/v1/regions?level=county"))
    assert_unavailable(api.get("/readyz"))
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/metrics").status == 200
    # Requests refused before they reach the database are unaffected.
    assert_problem(api.get("/api/v1/regions?limit=0"), 400, "bad-request")
    assert_problem(api.get("/api/v1/regions/abc"), 400, "bad-request")
    assert_problem(api.get("/nowhere"), 404, "not-found")

    cluster.start()
    started = time.monotonic()
    assert wait_until(lambda: regions_ok(api), RECOVERY_SECONDS, interval=0.2), (
        f"regions not served again within {RECOVERY_SECONDS} s:\n{srv.log()[-3000:]}"
    )
    assert time.monotonic() - started < RECOVERY_SECONDS
    # Each pooled connection comes back, not just one.
    for _ in range(6):
        assert api.get("/api/v1/regions/450202").status == 200
        assert api.get("/readyz").json() == {"status": "ready", "schema_version": support.LATEST_SCHEMA}
    assert srv.alive()


def test_database_stopped_and_started(outage):
    cluster, srv, api = outage
    check_outage(cluster, srv, api, cluster.stop)


def test_database_crashed_and_started(outage):
    cluster, srv, api = outage
    check_outage(cluster, srv, api, cluster.kill)


def test_outage_is_counted(outage):
    cluster, srv, api = outage
    text = api.get("/metrics").body.decode()
    assert 'tiaojie_http_requests_total{method="GET",route="/api/v1/regions",status="503"}' in text
    assert 'tiaojie_http_requests_total{method="GET",route="/readyz",status="503"}' in text


def test_server_log_stays_json_through_outages(outage):
    cluster, srv, api = outage
    bad = [line for line in srv.log_lines() if not line.startswith("{")]
    assert bad == [], f"lines on stderr that are not JSON records: {bad}"
    records = [json.loads(line) for line in srv.log_lines()]
    assert any(r.get("msg") == "database connection restored" for r in records)


# --- shutdown ---------------------------------------------------------------------------

BODY = json.dumps({"code": "450300", "name": "桂林市", "level": "city", "parent_code": "450000"}).encode()


def start_slow_upload(port):
    """Sends the headers and the first part of a body; the rest is up to the caller."""
    s = raw_connect(port, timeout=10)
    s.sendall(
        b"POST /api/v1/regions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(BODY) + BODY[:12]
    )
    return s


def refused(port):
    """Nothing accepts on port: refused, or reset (a connection that sat in
    the listen backlog when the listening socket was closed)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return False
    except (ConnectionRefusedError, ConnectionResetError):
        return True


def test_sigterm_finishes_the_request_in_flight(spawn_server):
    srv = spawn_server()
    s = start_slow_upload(srv.port)
    try:
        time.sleep(0.3)  # the server has the headers
        srv.send(signal.SIGTERM)
        srv.wait_for_log("SIGTERM received: stopping")
        srv.wait_for_log("finishing 1 requests in flight")
        assert srv.alive()
        assert wait_until(lambda: refused(srv.port), 5), "still accepting connections after SIGTERM"

        s.sendall(BODY[12:])
        resp, body = read_response(s, "POST")
        assert resp.status == 401
        assert json.loads(body)["type"] == "urn:tiaojie:problem:unauthorized"
        assert resp.getheader("WWW-Authenticate") == 'Bearer realm="tiaojie"'
        assert (resp.getheader("Connection") or "").lower() == "close"
    finally:
        s.close()
    assert srv.wait(timeout=10) == 0
    log = srv.log()
    assert '"msg":"stopped"' in log
    assert "cut short" not in log


def test_sigint_with_an_idle_keep_alive_connection(spawn_server):
    srv = spawn_server()
    s = raw_connect(srv.port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        resp, _ = read_response(s)
        assert resp.status == 200 and not resp.will_close
        started = time.monotonic()
        srv.send(signal.SIGINT)
        assert srv.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        s.close()
    log = srv.log()
    assert "SIGINT received: stopping" in log
    assert '"msg":"stopped"' in log


def test_grace_period_ends_a_stalled_request(spawn_server):
    srv = spawn_server(TIAOJIE_SHUTDOWN_GRACE="1")
    s = start_slow_upload(srv.port)
    try:
        time.sleep(0.3)
        started = time.monotonic()
        srv.send(signal.SIGTERM)
        assert srv.wait(timeout=15) == 0
        elapsed = time.monotonic() - started
        assert 0.9 <= elapsed < 6, elapsed
    finally:
        s.close()
    log = srv.log()
    assert "grace period over: 1 requests cut short" in log
    assert '"msg":"stopped"' in log


def test_idle_server_stops_at_once(spawn_server):
    srv = spawn_server()
    assert Client(srv.port).get("/healthz").status == 200
    started = time.monotonic()
    srv.send(signal.SIGTERM)
    assert srv.wait(timeout=10) == 0
    assert time.monotonic() - started < 3
    # The answered request may still be counted for a moment after the
    # client has its response; it must not hold the stop up.
    assert "cut short" not in srv.log()
