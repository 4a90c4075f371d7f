"""Plumbing for the API tests: PostgreSQL clusters and databases, server and
proxy processes, and an HTTP client that checks every response.

Everything here uses the standard library only. Paths are resolved against
the repository root, so the tests run from any working directory.
"""

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_SH = ROOT / "tools" / "pg.sh"
PRISM = ROOT / "tools" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "api-spec" / "openapi.yaml"
MIGRATIONS = sorted(p.name for p in (ROOT / "migrations").glob("[0-9][0-9][0-9][0-9]_*.sql"))
LATEST_SCHEMA = int(MIGRATIONS[-1][:4]) if MIGRATIONS else 0

REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
GENERATED_ID = re.compile(r"^[0-9a-f]{32}$")

# Text that sanitizers print when they find something. Any of it in a
# process's output fails the test that ran the process.
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")

# Standard reason phrases (RFC 9110), used as problem titles.
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


def binary_path():
    """The server binary: $TIAOJIE_BIN (relative to the repository root)."""
    path = ROOT / os.environ.get("TIAOJIE_BIN", "build/rel/tiaojie")
    if not path.is_file():
        pytest.exit(f"server binary {path} not found: build it first (make build)", returncode=2)
    return path


def sanitizer_reports(text):
    """The lines of text that come from a sanitizer report."""
    return [line for line in text.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=0.5).close()
        return True
    except OSError:
        return False


def clean_env(**overrides):
    """The environment without our own settings or libpq's, plus overrides."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TIAOJIE_") or k.startswith("PG") or k == "DATABASE_URL")
    }
    env.update({k: str(v) for k, v in overrides.items() if v is not None})
    return env


def run_cli(args, timeout=30, **env):
    """Runs the binary with args and environment overrides; fails the test
    if a sanitizer reports anything."""
    proc = subprocess.run(
        [str(binary_path()), *args],
        env=clean_env(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
    )
    reports = sanitizer_reports(proc.stderr + proc.stdout)
    if reports:
        pytest.fail(f"sanitizer report from tiaojie {' '.join(args)}:\n" + proc.stderr[-4000:])
    return proc


# --- PostgreSQL -------------------------------------------------------------


class Cluster:
    """A cluster managed by tools/pg.sh."""

    def __init__(self, directory):
        self.dir = str(directory)

    def _pg(self, *args, timeout=60):
        proc = subprocess.run(
            [str(PG_SH), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=clean_env(),
        )
        if proc.returncode != 0:
            raise RuntimeError(f"tools/pg.sh {' '.join(args)} failed:\n{proc.stderr}")
        return proc.stdout

    def start(self):
        self._pg("start", self.dir)

    def stop(self):
        self._pg("stop", self.dir)

    def kill(self):
        self._pg("kill", self.dir)

    def running(self):
        return subprocess.run([str(PG_SH), "status", self.dir], cwd=ROOT).returncode == 0

    def url(self, db):
        return self._pg("url", self.dir, db).strip()

    def psql(self, db, sql):
        """Runs sql in db; returns the unaligned, tuples-only output."""
        return self._pg(
            "psql", self.dir, db, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql
        ).strip()

    def create_db(self):
        name = "tiaojie_test_" + secrets.token_hex(4)
        self.psql("postgres", f'CREATE DATABASE "{name}"')
        return name

    def drop_db(self, name):
        self.psql("postgres", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- processes ----------------------------------------------------------------


class LoggedProcess:
    """A child process whose output goes to self.logpath, ready once it listens on self.port."""

    host = "127.0.0.1"

    def launch(self, argv, env, what, timeout):
        with open(self.logpath, "wb") as log:
            self.proc = subprocess.Popen(
                argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        deadline = time.monotonic() + timeout
        while not port_open(self.port, self.host):
            if self.proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {self.proc.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError(f"{what} did not listen within {timeout} s:\n{self.log()}")
            time.sleep(0.05)
        return self

    def log(self):
        try:
            return self.logpath.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


class ServerProcess(LoggedProcess):
    """One `tiaojie serve` on a free port; its output goes to a file."""

    def __init__(self, database_url, logdir, host="127.0.0.1", **settings):
        self.host = host
        self.port = free_port()
        self.logpath = Path(logdir) / f"tiaojie-{self.port}.log"
        listen = f"[{host}]:{self.port}" if ":" in host else f"{host}:{self.port}"
        settings = {"TIAOJIE_WORKERS": "2", **settings}
        self.env = clean_env(DATABASE_URL=database_url, TIAOJIE_LISTEN=listen, **settings)
        self.proc = None
        self.returncode = None

    def start(self, timeout=30):
        return self.launch([str(binary_path()), "serve"], self.env, "tiaojie serve", timeout)

    def log_lines(self):
        return self.log().splitlines()

    def wait_for_log(self, needle, timeout=10):
        deadline = time.monotonic() + timeout
        while needle not in self.log():
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} not logged within {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.02)

    def send(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout):
        self.returncode = self.proc.wait(timeout=timeout)
        return self.returncode

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Signals the server (if still running) and returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"tiaojie serve did not exit within {timeout} s of {sig!r}")
        self.returncode = self.proc.returncode
        return self.returncode

    def problems(self, json_lines=True):
        """What is wrong with the server's output: sanitizer reports, and
        (json_lines) lines on stderr that are not JSON log records."""
        found = []
        reports = sanitizer_reports(self.log())
        if reports:
            found.append("sanitizer report:\n" + self.log()[-6000:])
        for line in self.log_lines() if json_lines else []:
            try:
                record = json.loads(line)
                ok = isinstance(record, dict) and "ts" in record and "level" in record
            except ValueError:
                ok = False
            if not ok and not any(m in line for m in SANITIZER_MARKERS):
                found.append(f"log line is not a JSON record: {line!r}")
        return found


class PrismProxy(LoggedProcess):
    """The validating proxy in front of a server."""

    def __init__(self, upstream_port, logdir):
        self.port = free_port()
        self.upstream = upstream_port
        self.logpath = Path(logdir) / f"prism-{self.port}.log"
        self.proc = None

    def start(self, timeout=60):
        argv = [str(PRISM), "proxy", str(SPEC), f"http://127.0.0.1:{self.upstream}",
                "--host", "127.0.0.1", "--port", str(self.port)]
        return self.launch(argv, clean_env(), "prism", timeout)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# --- HTTP ---------------------------------------------------------------------


class Response:
    def __init__(self, method, path, status, reason, headers, body, violations=()):
        self.method = method
        self.path = path
        self.status = status
        self.reason = reason
        self.headers = headers  # http.client.HTTPMessage: case-insensitive
        self.body = body
        self.violations = list(violations)

    def header(self, name):
        return self.headers.get(name)

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<{self.method} {self.path[:80]} -> {self.status} {self.body[:300]!r}>"


def check_common_headers(resp):
    """What the server puts on every response it makes."""
    rid = resp.header("X-Request-Id")
    assert rid is not None, f"{resp!r}: no X-Request-Id (not an answer of the server?)"
    assert REQUEST_ID.match(rid), f"{resp!r}: X-Request-Id {rid!r} breaks its pattern"
    assert resp.header("Cache-Control") == "no-store", f"{resp!r}: Cache-Control {resp.header('Cache-Control')!r}"
    assert resp.header("X-Content-Type-Options") == "nosniff", f"{resp!r}"


class Client:
    """Sends one request per connection and checks the response.

    proxy: when given (a PrismProxy), requests go through it and any
    response-side violation it reports fails the test; request-side
    violations are recorded on the response, since bad-input tests make
    them on purpose.
    """

    def __init__(self, port, proxy=None, timeout=20, host="127.0.0.1"):
        self.host = host
        self.port = port
        self.proxy = proxy
        self.timeout = timeout

    def request(self, method, path, headers=None, body=None, json_body=None, common=True):
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            try:
                conn.request(method, path, body=body, headers=headers)
                r = conn.getresponse()
                data = r.read()
            except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
                if self.proxy is not None and not self.proxy.alive():
                    pytest.fail(f"{method} {path[:80]}: prism has exited:\n{self.proxy.log()[-3000:]}")
                raise AssertionError(f"{method} {path[:80]}: no response: {e!r}") from e
        finally:
            conn.close()

        violations = []
        raw = r.headers.get("sl-violations")
        if raw is not None:
            violations = json.loads(raw)
        resp = Response(method, path, r.status, r.reason, r.headers, data, violations)
        if self.proxy is not None:
            bad = [v for v in violations if v.get("location", [None])[0] == "response"]
            if bad:
                pytest.fail(
                    f"{method} {path[:120]} -> {r.status}: the response breaks the spec: "
                    f"{json.dumps(bad, ensure_ascii=False)}\nbody: {data[:500]!r}"
                )
        if common:
            check_common_headers(resp)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)


def assert_problem(resp, status, slug, instance=..., detail_has=None):
    """resp is an RFC 9457 problem with this status and type.

    instance: ... means "the request path" (when ASCII), None means "must be
    absent", a string means exactly that.
    """
    assert resp.status == status, f"{resp!r}: expected {status}"
    assert resp.content_type == "application/problem+json", f"{resp!r}: {resp.content_type}"
    body = resp.json()
    assert isinstance(body, dict), body
    assert body.get("type") == f"urn:tiaojie:problem:{slug}", body
    assert body.get("title") == TITLES[status], body
    assert body.get("status") == status, body
    assert body.get("request_id") == resp.header("X-Request-Id"), body
    assert isinstance(body.get("detail"), str) and body["detail"], body
    assert set(body) <= PROBLEM_KEYS, f"unexpected members: {set(body) - PROBLEM_KEYS}"
    if instance is ...:
        instance = resp.path.split("?", 1)[0]
    if instance is None:
        assert "instance" not in body, body
    else:
        assert body.get("instance") == instance, body
    if detail_has is not None:
        assert detail_has in body["detail"], body
    return body


# --- raw connections ----------------------------------------------------------


def raw_connect(port, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_response(sock, method="GET"):
    """Reads one HTTP response from a socket; returns (HTTPResponse, body)."""
    r = http.client.HTTPResponse(sock, method=method)
    r.begin()
    body = r.read()
    return r, body


def connection_closed(sock, timeout=5):
    """True when the peer closes the connection (EOF or reset) in time."""
    sock.settimeout(timeout)
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except (ConnectionResetError, BrokenPipeError):
        return True
    except socket.timeout:
        return False


def wait_until(predicate, timeout, interval=0.1):
    """Polls predicate until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)
