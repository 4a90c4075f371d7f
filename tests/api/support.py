"""Plumbing for the API tests: PostgreSQL clusters and databases, server and
proxy processes, and an HTTP client that checks every response.

Everything here uses the standard library only. Paths are resolved against
the repository root, so the tests run from any working directory.
"""

import http.client
import contextlib
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

# `make memcheck`: every server the tests start runs under Valgrind's memcheck
# (the command in TIAOJIE_VALGRIND), which makes it exit with VALGRIND_EXIT on
# any error or leak, and writes its report beside the server's log. Waits
# and time-outs stretch by TIAOJIE_TIME_SCALE, as everything runs slower.
VALGRIND = os.environ.get("TIAOJIE_VALGRIND", "").split()
VALGRIND_EXIT = 99
TIME_SCALE = float(os.environ.get("TIAOJIE_TIME_SCALE", "1"))

# Standard reason phrases (RFC 9110), used as problem titles.
TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    414: "URI Too Long",
    415: "Unsupported Media Type",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
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


def memcheck_summary(logdir):
    """What Valgrind reported for every server of the run (the .valgrind
    files in logdir): how many ran, how many were killed before memcheck
    could report, and the errors and bytes lost of the others."""
    totals = {"servers": 0, "killed": 0, "errors": 0, "definitely lost": 0,
              "indirectly lost": 0, "possibly lost": 0, "still reachable": 0}
    for path in sorted(Path(logdir).glob("*.valgrind")):
        text = path.read_text(errors="replace")
        totals["servers"] += 1
        errors = re.search(r"ERROR SUMMARY: ([\d,]+) errors", text)
        if errors is None:
            totals["killed"] += 1
            continue
        totals["errors"] += int(errors.group(1).replace(",", ""))
        for kind in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
            lost = re.search(kind + r": ([\d,]+) bytes", text)
            if lost is not None:
                totals[kind] += int(lost.group(1).replace(",", ""))
    return totals


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


_test_keys = None


def run_keys():
    """Encryption keys for this test run, made once by `tiaojie keygen -`."""
    global _test_keys
    if _test_keys is None:
        proc = subprocess.run(
            [str(binary_path()), "keygen", "-"], capture_output=True, text=True, timeout=30, check=True
        )
        _test_keys = proc.stdout
    return _test_keys


def clean_env(**overrides):
    """The environment without our own settings or libpq's, plus the run's
    encryption keys (TIAOJIE_MASTER_KEY) and overrides; an override of None
    removes the variable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("TIAOJIE_") or k.startswith("PG") or k == "DATABASE_URL")
    }
    env["TIAOJIE_MASTER_KEY"] = run_keys()
    for k, v in overrides.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = str(v)
    return env


def run_cli(args, timeout=30, input=None, **env):
    """Runs the binary with args and environment overrides (and input as its
    standard input, when given); fails the test if a sanitizer reports
    anything."""
    proc = subprocess.run(
        [str(binary_path()), *args],
        env=clean_env(**env),
        cwd=ROOT,
        input=input,
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
        wrapper = []
        if VALGRIND:
            wrapper = VALGRIND + [f"--error-exitcode={VALGRIND_EXIT}",
                                  f"--log-file={self.logpath.with_suffix('.valgrind')}"]
        return self.launch(wrapper + [str(binary_path()), "serve"], self.env, "tiaojie serve",
                           timeout * TIME_SCALE)

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
        timeout *= TIME_SCALE
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError(f"tiaojie serve did not exit within {timeout} s of {sig!r}")
        self.returncode = self.proc.returncode
        if VALGRIND and self.returncode in (0, VALGRIND_EXIT):
            report = self.logpath.with_suffix(".valgrind").read_text(errors="replace")
            assert "ERROR SUMMARY: 0 errors" in report, f"memcheck:\n{report[-12000:]}"
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

    source: the local address to connect from (any 127.x.y.z works on the
    loopback interface), so that a server sees different clients.
    """

    def __init__(self, port, proxy=None, timeout=20, host="127.0.0.1", source=None):
        self.host = host
        self.port = port
        self.proxy = proxy
        self.timeout = timeout * TIME_SCALE
        self.source = source

    def request(self, method, path, headers=None, body=None, json_body=None, common=True):
        headers = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode("utf-8")
        source = (self.source, 0) if self.source else None
        conn = http.client.HTTPConnection(
            self.host, self.port, timeout=self.timeout, source_address=source
        )
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
        if json_body is not None and r.status < 300:
            remember_personal(json_body)
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


def received_until_closed(sock, timeout):
    """What the peer sends until it closes the connection (EOF or reset) or
    timeout passes with nothing more."""
    sock.settimeout(timeout)
    received = b""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return received
            received += data
    except (ConnectionResetError, socket.timeout):
        return received


def wait_until(predicate, timeout, interval=0.1):
    """Polls predicate until it returns a true value or timeout passes."""
    deadline = time.monotonic() + timeout * TIME_SCALE
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            return value
        time.sleep(interval)


# --- identity -------------------------------------------------------------------

# Every password used and every token issued during the run, so that a
# last check can make sure none of them reached a server log or a table.
SECRETS = set()

TOKEN_TEXT = re.compile(r"tj[sa]_[A-Za-z0-9_-]{20,}")
SESSION_TOKEN = re.compile(r"^tjs_[A-Za-z0-9_-]{43}$")
API_TOKEN = re.compile(r"^tja_[A-Za-z0-9_-]{43}$")
CLI_CREATED = re.compile(r"^user (?P<name>\S+) \((?P<role>[a-z]+)\) created with id (?P<id>[1-9][0-9]*)\n$")


def remember(*values):
    """Adds values (tokens, passwords) to the secrets no log may show."""
    for v in values:
        if v:
            SECRETS.add(v)


# Every personal value the server took from a JSON body (a party's name, ID
# number, phone and address; summaries, notes, agreements; callers' names and
# phones): the last check makes sure none of them reached a server log.
PERSONAL = {}  # value: the member it was sent as
PERSONAL_MEMBERS = {"id_number", "phone", "address", "summary", "notes", "agreement",
                    "attendees", "place", "caller_name", "caller_phone"}


def remember_personal(value):
    """Adds the personal members found anywhere in a request body to PERSONAL
    (a name counts when it is a party's: beside a role or an ID number)."""
    if isinstance(value, list):
        for v in value:
            remember_personal(v)
    elif isinstance(value, dict):
        for k, v in value.items():
            party = k == "name" and ("role" in value or "id_number" in value)
            if (k in PERSONAL_MEMBERS or party) and isinstance(v, str) and len(v) >= 3:
                PERSONAL.setdefault(v, k)
            else:
                remember_personal(v)


def new_password():
    """A password nobody else uses (12 to 128 characters), remembered."""
    pw = "pw " + secrets.token_urlsafe(15)
    remember(pw)
    return pw


def unique_name(prefix):
    """A valid, unused username: prefix plus random hex."""
    return f"{prefix}.{secrets.token_hex(4)}"


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


class Principal:
    """A user the tests know the password of, with a token once signed in."""

    def __init__(self, username, password, role, id=None, token=None, region=None):
        self.username = username
        self.password = password
        self.role = role
        self.id = id
        self.token = token
        self.region = region

    @property
    def auth(self):
        assert self.token, f"{self.username} is not signed in"
        return bearer(self.token)

    def __repr__(self):
        return f"<Principal {self.username} ({self.role}) id={self.id}>"


def sign_in(client, username, password, headers=None):
    """POST /api/v1/sessions; the token (on 201) and password are remembered."""
    remember(password)
    r = client.post(
        "/api/v1/sessions", json_body={"username": username, "password": password}, headers=headers
    )
    if r.status == 201:
        remember(r.json().get("token"))
    return r


def signed_in(client, principal):
    """principal with a fresh session token."""
    r = sign_in(client, principal.username, principal.password)
    assert r.status == 201, r
    principal.token = r.json()["token"]
    principal.id = r.json()["user"]["id"]
    return principal


def create_user(client, admin_headers, role, region=None, prefix=None, display_name=None):
    """A new user through POST /api/v1/users; returns its Principal."""
    p = Principal(unique_name(prefix or role), new_password(), role, region=region)
    body = {
        "username": p.username,
        "display_name": display_name or f"Test {role} {p.username[-8:]}",
        "role": role,
        "password": p.password,
    }
    if region is not None:
        body["region_code"] = region
    r = client.post("/api/v1/users", json_body=body, headers=admin_headers)
    assert r.status == 201, r
    p.id = r.json()["id"]
    return p


def issue_api_token(client, admin_headers, user_id, name="test token", expires_at=None):
    """POST /api/v1/users/{id}/tokens; returns the created body (token remembered)."""
    body = {"name": name}
    if expires_at is not None:
        body["expires_at"] = expires_at
    r = client.post(f"/api/v1/users/{user_id}/tokens", json_body=body, headers=admin_headers)
    assert r.status == 201, r
    doc = r.json()
    remember(doc["token"])
    return doc


def add_user_cli(database_url, username, role, password, name=None, region=None):
    """tiaojie user add, the password on standard input; returns the process."""
    remember(password)
    args = ["user", "add", "--role", role]
    if name is not None:
        args += ["--name", name]
    if region is not None:
        args += ["--region", region]
    args.append(username)
    return run_cli(args, input=password + "\n", DATABASE_URL=database_url)


def bootstrap_admin(database_url, username="root.admin"):
    """The first administrator, made with the command line."""
    p = Principal(username, new_password(), "admin")
    proc = add_user_cli(database_url, username, "admin", p.password, name="Bootstrap Admin")
    assert proc.returncode == 0, proc.stderr
    m = CLI_CREATED.match(proc.stdout)
    assert m and m["name"] == username and m["role"] == "admin", proc.stdout
    p.id = int(m["id"])
    return p


def audit_entries(client, admin_headers, **query):
    """GET /api/v1/audit with the given filters; returns the items."""
    from urllib.parse import urlencode

    qs = urlencode({k: v for k, v in query.items() if v is not None})
    r = client.get("/api/v1/audit" + ("?" + qs if qs else ""), headers=admin_headers)
    assert r.status == 200, r
    return r.json()["items"]


def audit_entry(client, admin_headers, request_id, **query):
    """The one audit entry a request (by its request id) left, among those
    matching query; None if there is none."""
    found = [e for e in audit_entries(client, admin_headers, limit=1000, **query) if e["request_id"] == request_id]
    assert len(found) <= 1, found
    return found[0] if found else None


def spec_operations(text):
    """(METHOD, path) of every operation in an OpenAPI document's text.

    Reads the block layout this project's document uses (paths at two
    spaces, methods at four), so it needs no YAML library."""
    ops = set()
    in_paths = False
    path = None
    for line in text.splitlines():
        if line.startswith("paths:"):
            in_paths = True
            continue
        if in_paths and line and not line.startswith(" "):
            break
        m = re.match(r"^  (/\S*):\s*$", line)
        if in_paths and m:
            path = m.group(1)
            continue
        m = re.match(r"^    (get|put|post|delete|patch|head|options|trace):\s*$", line)
        if in_paths and path and m:
            ops.add((m.group(1).upper(), path))
    return ops


ROUTE_LINE = re.compile(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*\w+,\s*([A-Z_| ]+),\s*BODY_[A-Z]+\s*\}')


def server_routes():
    """(METHOD, pattern) -> role names, from the route tables in server/src."""
    routes = {}
    for src in sorted((ROOT / "server" / "src").glob("api_*.c")):
        for method, pattern, roles in ROUTE_LINE.findall(src.read_text()):
            routes[(method, pattern)] = {r.strip() for r in roles.split("|")}
    return routes


class Installation:
    """A database of its own, migrated, with its first administrator, and a
    server on it (with the validating proxy in front when proxy is true):
    for tests that must not touch the shared database, such as sign-in
    throttling (counted per address) or tampering with the audit trail."""

    def __init__(self, cluster, logdir, proxy=False, **settings):
        self.cluster = cluster
        self.logdir = logdir
        self.want_proxy = proxy
        self.settings = settings
        self.db = None
        self.server = None
        self.proxy = None

    def start(self):
        self.db = self.cluster.create_db()
        self.url = self.cluster.url(self.db)
        proc = run_cli(["migrate"], DATABASE_URL=self.url)
        assert proc.returncode == 0, proc.stderr
        self.admin = bootstrap_admin(self.url)
        self.server = ServerProcess(self.url, self.logdir, **self.settings).start()
        self.direct = Client(self.server.port)
        if self.want_proxy:
            self.proxy = PrismProxy(self.server.port, self.logdir).start()
            self.api = Client(self.proxy.port, proxy=self.proxy)
        else:
            self.api = self.direct
        return self

    def client(self, source):
        """A direct client connecting from another loopback address."""
        return Client(self.server.port, source=source)

    def psql(self, sql):
        return self.cluster.psql(self.db, sql)

    def recompute_rollups(self, *columns):
        """Computes the statistics tables afresh from the stored cases and
        referrals, as the triggers would, in a transaction rolled back.
        Returns the number of rows that differ from the tables as kept,
        then the value of each of `columns`: SQL expressions over r0 and f0
        (case_rollup and referral_rollup as they were kept)."""
        extra = "".join(f", ({c})" for c in columns)
        out = self.psql(f"""
            BEGIN;
            CREATE TEMP TABLE r0 AS SELECT * FROM case_rollup;
            CREATE TEMP TABLE f0 AS SELECT * FROM referral_rollup;
            DELETE FROM case_rollup; DELETE FROM referral_rollup;
            CREATE TEMP TABLE done1 AS SELECT count(case_rollup_add(c, 1)) FROM cases c;
            CREATE TEMP TABLE done2 AS SELECT count(referral_rollup_add(f, 1)) FROM referrals f;
            SELECT (SELECT count(*) FROM ((TABLE r0 EXCEPT TABLE case_rollup)
                    UNION ALL (TABLE case_rollup EXCEPT TABLE r0)) x)
                 + (SELECT count(*) FROM ((TABLE f0 EXCEPT TABLE referral_rollup)
                    UNION ALL (TABLE referral_rollup EXCEPT TABLE f0)) x){extra};
            ROLLBACK;
        """)
        differences, *values = out.split("|")
        return (int(differences), *values)

    @classmethod
    @contextlib.contextmanager
    def running(cls, cluster, logdir, proxy=True, **settings):
        """Started, with its administrator signed in; on leaving, closed and
        failing the test if the server did not stop cleanly."""
        inst = cls(cluster, logdir, proxy=proxy, **settings)
        try:
            inst.start()
            signed_in(inst.api, inst.admin)
            yield inst
        finally:
            problems = inst.close()
        assert not problems, "\n".join(problems)[:8000]

    def close(self):
        """Stops everything and drops the database; returns what went wrong."""
        problems = []
        if self.proxy is not None:
            self.proxy.stop()
        if self.server is not None:
            rc = self.server.stop()
            if rc != 0:
                problems.append(f"tiaojie serve exited with {rc}:\n{self.server.log()[-4000:]}")
            problems += self.server.problems()
        if self.db is not None:
            self.cluster.drop_db(self.db)
        return problems
