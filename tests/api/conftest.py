"""Fixtures: a fresh database in the test cluster, the server on a free port
with the validating proxy in front of it, and clients for both.

Environment (set by tools/test-api.sh):
  TIAOJIE_BIN          the server binary, relative to the repository root
  TIAOJIE_TEST_PGDIR   the PostgreSQL cluster directory (tools/pg.sh)
"""

import os
import shutil
import tempfile

import pytest

import support
from support import ROOT, Client, Cluster, PrismProxy, ServerProcess


@pytest.fixture(scope="session")
def logdir():
    path = tempfile.mkdtemp(prefix="tiaojie-api-tests-")
    yield path
    if support.VALGRIND:
        _memcheck.update(support.memcheck_summary(path))
    shutil.rmtree(path, ignore_errors=True)


_memcheck = {}


def pytest_terminal_summary(terminalreporter):
    if _memcheck:
        terminalreporter.write_line("memcheck: " + ", ".join(f"{k} {v:,}" for k, v in _memcheck.items()))


def pytest_sessionfinish(session):
    """Under memcheck an error in a server no test stopped (one killed
    after its report, say) still fails the run."""
    if _memcheck.get("errors") and session.exitstatus == 0:
        session.exitstatus = 1


@pytest.fixture(scope="session")
def cluster():
    c = Cluster(ROOT / os.environ.get("TIAOJIE_TEST_PGDIR", ".local/pg"))
    c.start()
    return c


@pytest.fixture(scope="session")
def database(cluster):
    """A migrated database of its own, dropped at the end."""
    name = cluster.create_db()
    try:
        proc = support.run_cli(["migrate"], DATABASE_URL=cluster.url(name))
        assert proc.returncode == 0, proc.stderr
        yield name
    finally:
        cluster.drop_db(name)


@pytest.fixture(scope="session")
def database_url(cluster, database):
    return cluster.url(database)


@pytest.fixture
def scratch_db(cluster):
    """A fresh, empty database for one test."""
    name = cluster.create_db()
    yield name
    cluster.drop_db(name)


@pytest.fixture(scope="session")
def server(database_url, logdir):
    srv = ServerProcess(database_url, logdir).start()
    yield srv
    rc = srv.stop()
    log = srv.log()
    assert rc == 0, f"tiaojie serve exited with {rc}:\n{log[-4000:]}"
    assert '"msg":"stopped"' in log, log[-2000:]
    problems = srv.problems()
    assert not problems, "\n".join(problems)[:8000]


@pytest.fixture(scope="session")
def proxy(server, logdir):
    p = PrismProxy(server.port, logdir).start()
    yield p
    p.stop()


@pytest.fixture(scope="session")
def api(proxy):
    """Requests through the validating proxy."""
    return Client(proxy.port, proxy=proxy)


@pytest.fixture(scope="session")
def direct(server):
    """Requests straight to the server, for what the proxy cannot carry."""
    return Client(server.port)


@pytest.fixture
def spawn_server(database_url, logdir):
    """Starts extra servers on the shared database; each is stopped (if
    the test did not) and its output checked afterwards."""
    started = []

    def spawn(**settings):
        srv = ServerProcess(database_url, logdir, **settings).start()
        started.append(srv)
        return srv

    yield spawn
    for srv in started:
        rc = srv.stop()
        assert rc == 0, f"tiaojie serve exited with {rc}:\n{srv.log()[-4000:]}"
        problems = srv.problems()
        assert not problems, "\n".join(problems)[:8000]


@pytest.fixture(autouse=True)
def _server_survives(request):
    """After each test that used the shared server: it is still running and
    no sanitizer has spoken."""
    srv = request.getfixturevalue("server") if "server" in request.fixturenames else None
    prx = request.getfixturevalue("proxy") if "proxy" in request.fixturenames else None
    yield
    if srv is not None:
        assert srv.alive(), f"the server died (exit {srv.proc.returncode}):\n{srv.log()[-4000:]}"
        reports = support.sanitizer_reports(srv.log())
        assert not reports, srv.log()[-6000:]
    if prx is not None:
        assert prx.alive(), f"prism died:\n{prx.log()[-3000:]}"


# --- ordering -------------------------------------------------------------------


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "last: runs after every other test (checks over the whole run)"
    )


def pytest_collection_modifyitems(config, items):
    # Stable: everything else keeps its order; "last" tests go to the end.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


# --- identities on the shared server ----------------------------------------------


@pytest.fixture(scope="session")
def admin(database_url, api):
    """The first administrator (made with tiaojie user add), signed in.
    Tests must not disable, demote or re-password this user."""
    p = support.bootstrap_admin(database_url)
    return support.signed_in(api, p)


@pytest.fixture(scope="session")
def staff(api, admin):
    """One signed-in user of each other role: federation (scoped to
    城中区), mediator and hotline. Tests must not change these users."""
    people = {
        "federation": support.create_user(api, admin.auth, "federation", region="450202"),
        "mediator": support.create_user(api, admin.auth, "mediator"),
        "hotline": support.create_user(api, admin.auth, "hotline"),
    }
    return {role: support.signed_in(api, p) for role, p in people.items()}


@pytest.fixture(scope="session")
def api_tokens(api, admin, staff):
    """API tokens of the administrator and of the hotline operator."""
    return {
        "admin": support.issue_api_token(api, admin.auth, admin.id, name="admin integration"),
        "hotline": support.issue_api_token(api, admin.auth, staff["hotline"].id, name="12338 bridge"),
    }


@pytest.fixture(scope="session")
def callers(admin, staff, api_tokens, api):
    """Caller name -> the request headers that make a request theirs."""
    ended = support.sign_in(api, admin.username, admin.password)
    assert ended.status == 201, ended
    ended_token = ended.json()["token"]
    r = api.request("DELETE", "/api/v1/sessions/current", headers=support.bearer(ended_token))
    assert r.status == 204, r
    return {
        "anonymous": {},
        "admin": admin.auth,
        "federation": staff["federation"].auth,
        "mediator": staff["mediator"].auth,
        "hotline": staff["hotline"].auth,
        "admin_api_token": support.bearer(api_tokens["admin"]["token"]),
        "hotline_api_token": support.bearer(api_tokens["hotline"]["token"]),
        "ended_session": support.bearer(ended_token),
    }
