"""Identity: the first administrator, signing in and out, sessions and their
expiry, API tokens, users, and what happens to a disabled user's or a
re-passworded user's credentials.

Failed sign-ins are counted per client address too, and every test here
connects from 127.0.0.1: the shared server (at most 10 failures in 900 s
per address) sees only a handful of them (the tests that need more run on
a server and database of their own, connecting from other loopback
addresses).
"""

import datetime
import re
import time

import pytest

import support
from support import (
    API_TOKEN,
    CLI_CREATED,
    SESSION_TOKEN,
    Installation,
    assert_problem,
    bearer,
    create_user,
    issue_api_token,
    new_password,
    remember,
    run_cli,
    sign_in,
    signed_in,
)

CHALLENGE = 'Bearer realm="tiaojie"'
INVALID_DETAIL = "The username or the password is wrong."
USER_KEYS = {"id", "username", "display_name", "role", "region_code", "active", "mediator_id", "created_at", "updated_at"}
TOKEN_KEYS = {"id", "user_id", "name", "created_at", "expires_at", "last_used_at", "revoked_at"}


def parse_ts(text):
    return datetime.datetime.fromisoformat(text)


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def me_status(client, headers):
    return client.get("/api/v1/me", headers=headers).status


# --- the first administrator: tiaojie user add ------------------------------------


@pytest.fixture
def migrated(cluster, scratch_db):
    url = cluster.url(scratch_db)
    assert run_cli(["migrate"], DATABASE_URL=url).returncode == 0
    return url


@pytest.fixture(scope="module")
def empty_db(cluster):
    """A migrated database without users, for refused tiaojie user add runs."""
    name = cluster.create_db()
    try:
        url = cluster.url(name)
        assert run_cli(["migrate"], DATABASE_URL=url).returncode == 0
        yield name, url
    finally:
        cluster.drop_db(name)


def test_user_add_creates_the_first_administrator(cluster, scratch_db, migrated):
    pw = new_password()
    p = support.add_user_cli(migrated, "first.admin", "admin", pw, name="First Admin")
    assert p.returncode == 0, p.stderr
    m = CLI_CREATED.match(p.stdout)
    assert m and (m["name"], m["role"]) == ("first.admin", "admin"), p.stdout
    assert p.stderr == ""
    row = cluster.psql(
        scratch_db,
        "SELECT id, username, display_name, role, active, region_code IS NULL, "
        "password_hash LIKE '$argon2id$%' FROM users",
    )
    assert row == f"{m['id']}|first.admin|First Admin|admin|t|t|t"

    # A taken username: exit 1, nothing added.
    again = support.add_user_cli(migrated, "first.admin", "admin", new_password())
    assert again.returncode == 1 and again.stdout == "", again
    assert "already exists" in again.stderr
    # Federation staff need their county or city.
    # federation staff without --region: a usage error, found before any hashing
    assert support.add_user_cli(migrated, "fed.nowhere", "federation", new_password()).returncode == 2
    fed = support.add_user_cli(migrated, "fed.chengzhong", "federation", new_password(), region="450202")
    assert fed.returncode == 0 and CLI_CREATED.match(fed.stdout), fed
    assert cluster.psql(scratch_db, "SELECT region_code FROM users WHERE username = 'fed.chengzhong'") == "450202"
    assert cluster.psql(scratch_db, "SELECT count(*) FROM users") == "2"
    for proc in (p, again, fed):
        assert not any(s in proc.stdout + proc.stderr for s in support.SECRETS), "a password was printed"


@pytest.mark.parametrize(
    "args,password,message",
    [
        (["user", "add", "--role", "admin", "short.pw"], "only11chars", "12 to 128 characters"),
        (["user", "add", "--role", "admin", "long.pw"], "x" * 129, "12 to 128 characters"),
        (["user", "add", "--role", "admin"], None, "usage: tiaojie user add"),
        (["user", "add", "no.role"], None, "usage: tiaojie user add"),
        (["user", "add", "--role", "admin", "--colour", "red", "who"], None, "usage: tiaojie user add"),
        (["user", "remove", "--role", "admin", "who"], None, "usage: tiaojie user add"),
        (["user"], None, "usage: tiaojie user add"),
    ],
)
def test_user_add_refuses_bad_usage_and_passwords(cluster, empty_db, args, password, message):
    name, url = empty_db
    pw = password or new_password()
    remember(pw)
    p = run_cli(args, input=pw + "\n", DATABASE_URL=url)
    assert p.returncode == 2, p
    assert message in p.stderr and p.stdout == ""
    assert pw not in p.stderr
    assert cluster.psql(name, "SELECT count(*) FROM users") == "0"


def test_user_add_refuses_an_unknown_role_as_bad_usage(cluster, empty_db):
    """A role other than admin, federation, mediator and hotline is a usage
    error (exit 2), like any other bad argument."""
    name, url = empty_db
    pw = new_password()
    p = run_cli(["user", "add", "--role", "superuser", "who.am.i"], input=pw + "\n", DATABASE_URL=url)
    assert cluster.psql(name, "SELECT count(*) FROM users") == "0"
    assert pw not in p.stdout + p.stderr
    assert p.returncode == 2, p


# --- signing in -------------------------------------------------------------------


def test_sign_in_returns_a_session_token(api, admin):
    p = create_user(api, admin.auth, "mediator")
    before = utc_now()
    r = sign_in(api, p.username, p.password)
    assert r.status == 201, r
    body = r.json()
    assert set(body) == {"token", "token_type", "expires_at", "idle_timeout_seconds", "user"}
    assert SESSION_TOKEN.match(body["token"]), body["token"]
    assert body["token_type"] == "Bearer"
    assert body["idle_timeout_seconds"] == 1800
    # TIAOJIE_SESSION_MAX defaults to 12 hours.
    lasts = (parse_ts(body["expires_at"]) - before).total_seconds()
    assert 43200 - 5 < lasts < 43200 + 5, body["expires_at"]
    assert body["user"] == api.get(f"/api/v1/users/{p.id}", headers=admin.auth).json()
    assert set(body["user"]) == USER_KEYS
    # Every sign-in is a session of its own.
    other = sign_in(api, p.username, p.password).json()["token"]
    assert other != body["token"] and SESSION_TOKEN.match(other)


def test_me_with_a_session(api, staff):
    fed = staff["federation"]
    r = api.get("/api/v1/me", headers=fed.auth)
    assert r.status == 200
    body = r.json()
    assert body["auth"]["kind"] == "session"
    assert parse_ts(body["auth"]["expires_at"]) > utc_now() + datetime.timedelta(hours=11)
    user = body["user"]
    assert (user["id"], user["username"], user["role"], user["region_code"], user["active"]) == (
        fed.id, fed.username, "federation", "450202", True
    )


def test_me_with_api_tokens(api, admin, staff):
    hot = staff["hotline"]
    forever = issue_api_token(api, admin.auth, hot.id, name="never expires")
    r = api.get("/api/v1/me", headers=bearer(forever["token"]))
    assert r.status == 200
    assert r.json()["auth"] == {"kind": "api_token", "expires_at": None}
    assert r.json()["user"]["username"] == hot.username

    until = (utc_now() + datetime.timedelta(days=30)).replace(microsecond=0)
    dated = issue_api_token(api, admin.auth, hot.id, name="thirty days", expires_at=until.isoformat())
    assert parse_ts(dated["expires_at"]) == until
    r = api.get("/api/v1/me", headers=bearer(dated["token"]))
    assert r.json()["auth"]["kind"] == "api_token"
    assert parse_ts(r.json()["auth"]["expires_at"]) == until


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "someone"},
        {"password": "a long enough password"},
        {"username": "someone", "password": "a long enough password", "remember": True},
        {"username": "", "password": "a long enough password"},
        {"username": "someone", "password": ""},
        {"username": "u" * 65, "password": "a long enough password"},
        {"username": "someone", "password": "p" * 1025},
        {"username": 7, "password": "a long enough password"},
    ],
)
def test_sign_in_body_is_validated(api, body):
    r = api.post("/api/v1/sessions", json_body=body)
    assert_problem(r, 400, "validation")


def test_failed_sign_ins_answer_alike(direct, api, admin):
    """An unknown user, a wrong password and a disabled user's right
    password get the same answer, byte for byte but for the request id."""
    known = create_user(api, admin.auth, "hotline")
    disabled = create_user(api, admin.auth, "hotline")
    r = api.request("PATCH", f"/api/v1/users/{disabled.id}", headers=admin.auth, json_body={"active": False})
    assert r.status == 200 and r.json()["active"] is False

    answers = [
        sign_in(direct, known.username, new_password()),
        sign_in(direct, "nobody." + known.username, known.password),
        sign_in(direct, disabled.username, disabled.password),
    ]
    shapes = []
    for r in answers:
        body = assert_problem(r, 401, "invalid-credentials", instance="/api/v1/sessions")
        assert body["detail"] == INVALID_DETAIL
        assert r.header("WWW-Authenticate") == CHALLENGE
        assert r.header("Retry-After") is None
        headers = sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() not in ("x-request-id", "date"))
        body.pop("request_id")
        shapes.append((r.status, r.reason, headers, body))
    assert shapes[0] == shapes[1] == shapes[2], shapes


# --- throttling, on a server and database of its own --------------------------------

WINDOW = 4


@pytest.fixture(scope="module")
def island(cluster, logdir):
    """Its own database and server: at most 3 failed sign-ins per account or
    address within WINDOW seconds, with the validating proxy in front."""
    with Installation.running(
        cluster, logdir, TIAOJIE_LOGIN_MAX_FAILURES="3", TIAOJIE_LOGIN_WINDOW=str(WINDOW)
    ) as inst:
        yield inst


def assert_throttled(r):
    body = assert_problem(r, 429, "too-many-requests", instance="/api/v1/sessions")
    wait = r.header("Retry-After")
    assert wait is not None and re.fullmatch(r"[1-9][0-9]*", wait), wait
    assert 1 <= int(wait) <= WINDOW, wait
    assert f"{wait} seconds" in body["detail"], body
    return int(wait)


def test_a_success_clears_the_accounts_failures(island):
    alice = create_user(island.api, island.admin.auth, "mediator", prefix="alice")
    a, b, c = (island.client(f"127.0.0.{n}") for n in (4, 5, 6))
    for _ in range(2):
        assert sign_in(a, alice.username, new_password()).status == 401
    assert sign_in(a, alice.username, alice.password).status == 201
    # Had the success not cleared them, the account would now be locked.
    for _ in range(2):
        r = sign_in(b, alice.username, new_password())
        assert_problem(r, 401, "invalid-credentials")
    assert sign_in(c, alice.username, alice.password).status == 201


def test_lockout_per_account_and_per_address_and_its_end(island):
    carol = create_user(island.api, island.admin.auth, "hotline", prefix="carol")
    bob = create_user(island.api, island.admin.auth, "hotline", prefix="bob")
    attacker, elsewhere = island.client("127.0.0.2"), island.client("127.0.0.3")

    for _ in range(3):
        assert_problem(sign_in(attacker, carol.username, new_password()), 401, "invalid-credentials")
    # The account is locked, from any address, even with the right password
    # (and the case of the username does not get around it).
    waits = [assert_throttled(sign_in(elsewhere, carol.username, carol.password))]
    waits.append(assert_throttled(sign_in(island.api, carol.username, carol.password)))
    waits.append(assert_throttled(sign_in(elsewhere, carol.username.upper(), carol.password)))
    # Another account from another address is not affected...
    assert sign_in(elsewhere, bob.username, bob.password).status == 201
    # ... but the attacker's address is locked for every account.
    waits.append(assert_throttled(sign_in(attacker, bob.username, bob.password)))
    waits.append(assert_throttled(sign_in(attacker, "nobody.at.all", new_password())))

    # A locked-out attempt is not another failure: once the window has
    # passed, both the account and the address work again.
    time.sleep(max(waits) + 0.3)
    assert sign_in(elsewhere, carol.username, carol.password).status == 201
    assert sign_in(attacker, bob.username, bob.password).status == 201


def test_failed_sign_ins_are_counted_by_address(island):
    """Failures for different (also unknown) accounts add up per address."""
    probe = island.client("127.0.0.7")
    dave = create_user(island.api, island.admin.auth, "mediator", prefix="dave")
    for n in range(3):
        assert sign_in(probe, f"ghost{n}.user", new_password()).status == 401
    assert_throttled(sign_in(probe, dave.username, dave.password))
    assert sign_in(island.client("127.0.0.8"), dave.username, dave.password).status == 201


def test_an_undecodable_purpose_header_does_not_get_round_the_lockout(island):
    """X-Access-Purpose goes into the audit entry of a failed sign-in, in the
    statement that also counts the failure: a header that is not UTF-8 must
    neither stop the counting nor tell a right password from a wrong one."""
    eve = create_user(island.api, island.admin.auth, "mediator", prefix="eve")
    guesser = island.client("127.0.0.9")
    odd = {"X-Access-Purpose": b"\xff\xfe"}
    wrong = [sign_in(guesser, eve.username, new_password(), headers=odd) for _ in range(3)]
    assert all(r.status in (400, 401) for r in wrong), wrong
    right = sign_in(guesser, eve.username, eve.password, headers=odd)
    assert right.status in (400, 429), right
    counted = all(r.status == 401 for r in wrong)
    r = sign_in(guesser, eve.username, eve.password)
    assert r.status == (429 if counted else 201), r


# --- the last administrator -------------------------------------------------------


def test_the_last_active_administrator_cannot_be_disabled_or_demoted(island):
    api, first = island.api, island.admin
    for change in ({"active": False}, {"role": "mediator"}, {"role": "hotline", "active": False}):
        r = api.request("PATCH", f"/api/v1/users/{first.id}", headers=first.auth, json_body=change)
        assert_problem(r, 422, "unprocessable")
    assert island.psql(f"SELECT role, active FROM users WHERE id = {first.id}") == "admin|t"
    assert me_status(api, first.auth) == 200

    second = signed_in(api, create_user(api, first.auth, "admin", prefix="second"))
    r = api.request("PATCH", f"/api/v1/users/{first.id}", headers=second.auth, json_body={"active": False})
    assert r.status == 200 and r.json()["active"] is False
    assert me_status(api, first.auth) == 401
    # A disabled administrator does not count: the second is the last one.
    for change in ({"active": False}, {"role": "federation", "region_code": "450202"}):
        r = api.request("PATCH", f"/api/v1/users/{second.id}", headers=second.auth, json_body=change)
        assert_problem(r, 422, "unprocessable")
    assert me_status(api, second.auth) == 200

    r = api.request("PATCH", f"/api/v1/users/{first.id}", headers=second.auth, json_body={"active": True})
    assert r.status == 200 and r.json()["active"] is True
    signed_in(api, first)
    r = api.request("PATCH", f"/api/v1/users/{second.id}", headers=first.auth, json_body={"role": "mediator"})
    assert r.status == 200 and r.json()["role"] == "mediator"
    assert_problem(api.get("/api/v1/users", headers=second.auth), 403, "forbidden")


def test_an_administrator_setting_their_own_password_ends_their_sessions(island):
    api, admin = island.api, island.admin
    other = sign_in(api, admin.username, admin.password).json()["token"]
    new = new_password()
    r = api.request("PUT", f"/api/v1/users/{admin.id}/password", headers=admin.auth, json_body={"password": new})
    assert r.status == 204 and r.body == b""
    assert me_status(api, admin.auth) == 401
    assert me_status(api, bearer(other)) == 401
    admin.password = new
    signed_in(api, admin)
    assert me_status(api, admin.auth) == 200


# --- signing out ------------------------------------------------------------------


def test_sign_out_ends_only_that_session(api, admin):
    p = create_user(api, admin.auth, "mediator")
    one = sign_in(api, p.username, p.password).json()["token"]
    two = sign_in(api, p.username, p.password).json()["token"]
    r = api.request("DELETE", "/api/v1/sessions/current", headers=bearer(one))
    assert r.status == 204 and r.body == b""
    r = api.get("/api/v1/me", headers=bearer(one))
    assert_problem(r, 401, "unauthorized")
    assert r.header("WWW-Authenticate") == CHALLENGE
    assert_problem(api.request("DELETE", "/api/v1/sessions/current", headers=bearer(one)), 401, "unauthorized")
    assert me_status(api, bearer(two)) == 200


def test_sign_out_with_an_api_token_is_refused(api, admin, staff):
    token = issue_api_token(api, admin.auth, staff["mediator"].id, name="cannot sign out")["token"]
    r = api.request("DELETE", "/api/v1/sessions/current", headers=bearer(token))
    assert_problem(r, 400, "bad-request", detail_has="/api/v1/tokens/")
    assert me_status(api, bearer(token)) == 200


# --- expiry -----------------------------------------------------------------------


def until(t0, offset):
    delay = t0 + offset - time.monotonic()
    if delay > 0:
        time.sleep(delay)


def test_sessions_expire_when_idle_and_at_their_maximum(spawn_server, api, admin):
    """TIAOJIE_SESSION_IDLE=2, TIAOJIE_SESSION_MAX=4: a session used every
    second outlives the idle time but not the maximum; one left alone dies
    after the idle time. An API token dies at its expires_at. (The second is
    stretched by TIAOJIE_TIME_SCALE: under memcheck a sign-in alone can take
    longer than one.)"""
    sec = max(1, round(support.TIME_SCALE))
    srv = spawn_server(TIAOJIE_SESSION_IDLE=str(2 * sec), TIAOJIE_SESSION_MAX=str(4 * sec))
    short = support.Client(srv.port)
    p = create_user(api, admin.auth, "hotline")

    r = sign_in(short, p.username, p.password)
    t0 = time.monotonic()
    wall0 = utc_now()
    assert r.status == 201, r
    assert r.json()["idle_timeout_seconds"] == 2 * sec
    lasts = (parse_ts(r.json()["expires_at"]) - wall0).total_seconds()
    assert 3 * sec <= lasts <= 4 * sec + 0.1, r.json()["expires_at"]
    busy = bearer(r.json()["token"])
    idle = bearer(sign_in(short, p.username, p.password).json()["token"])
    expiry = (utc_now() + datetime.timedelta(seconds=3.5 * sec)).isoformat()
    token = bearer(issue_api_token(api, admin.auth, p.id, name="short lived", expires_at=expiry)["token"])
    assert me_status(short, idle) == 200

    until(t0, 1.0 * sec)
    assert me_status(short, busy) == 200
    until(t0, 2.0 * sec)
    assert me_status(short, busy) == 200
    assert me_status(short, token) == 200
    until(t0, 3.0 * sec)
    assert me_status(short, busy) == 200  # used a second ago, 3 s old
    r = short.get("/api/v1/me", headers=idle)  # unused for over 2 s
    assert_problem(r, 401, "unauthorized")
    until(t0, 4.5 * sec)
    # Used 1.5 s ago, within the idle time, but past its 4 s.
    assert_problem(short.get("/api/v1/me", headers=busy), 401, "unauthorized")
    assert_problem(short.get("/api/v1/me", headers=token), 401, "unauthorized")
    # Dead for the other server too: expiry is in the database.
    assert me_status(api, idle) == 401
    assert me_status(api, token) == 401


# --- disabling a user --------------------------------------------------------------


def test_disabling_a_user_kills_their_sessions_and_tokens_at_once(api, admin):
    p = signed_in(api, create_user(api, admin.auth, "hotline"))
    created = issue_api_token(api, admin.auth, p.id, name="bridge")
    token = bearer(created["token"])
    assert me_status(api, p.auth) == 200 and me_status(api, token) == 200

    r = api.request("PATCH", f"/api/v1/users/{p.id}", headers=admin.auth, json_body={"active": False})
    assert r.status == 200 and r.json()["active"] is False
    for headers in (p.auth, token):
        r = api.get("/api/v1/me", headers=headers)
        assert_problem(r, 401, "unauthorized")
    items = api.get(f"/api/v1/users/{p.id}/tokens", headers=admin.auth).json()["items"]
    assert [t["id"] for t in items] == [created["id"]]
    assert items[0]["revoked_at"] is not None
    # No new tokens for a disabled user.
    r = api.post(f"/api/v1/users/{p.id}/tokens", headers=admin.auth, json_body={"name": "again"})
    assert_problem(r, 422, "unprocessable")

    # Enabling the user again restores neither.
    r = api.request("PATCH", f"/api/v1/users/{p.id}", headers=admin.auth, json_body={"active": True})
    assert r.status == 200 and r.json()["active"] is True
    assert me_status(api, p.auth) == 401
    assert me_status(api, token) == 401
    assert me_status(api, signed_in(api, p).auth) == 200


# --- setting a password -------------------------------------------------------------


def test_a_new_password_ends_the_users_sessions(api, admin):
    p = signed_in(api, create_user(api, admin.auth, "mediator"))
    second = bearer(sign_in(api, p.username, p.password).json()["token"])
    token = bearer(issue_api_token(api, admin.auth, p.id, name="survives")["token"])
    old, new = p.password, new_password()

    r = api.request("PUT", f"/api/v1/users/{p.id}/password", headers=admin.auth, json_body={"password": new})
    assert r.status == 204 and r.body == b""
    assert me_status(api, p.auth) == 401
    assert me_status(api, second) == 401
    assert me_status(api, token) == 200  # API tokens are not affected
    assert_problem(sign_in(api, p.username, old), 401, "invalid-credentials")
    p.password = new
    assert me_status(api, signed_in(api, p).auth) == 200
    assert me_status(api, admin.auth) == 200  # the administrator's own session lives on


@pytest.mark.parametrize("password", ["elevenchars", "x" * 129, 123456789012345])
def test_a_new_password_is_validated(api, admin, staff, password):
    r = api.request(
        "PUT", f"/api/v1/users/{staff['mediator'].id}/password", headers=admin.auth, json_body={"password": password}
    )
    assert_problem(r, 400, "validation")
    assert me_status(api, staff["mediator"].auth) == 200


def test_a_password_for_nobody(api, admin):
    r = api.request("PUT", "/api/v1/users/999999999/password", headers=admin.auth, json_body={"password": new_password()})
    assert_problem(r, 404, "not-found")


# --- API tokens ---------------------------------------------------------------------


def test_an_api_token_is_shown_once(api, admin):
    p = create_user(api, admin.auth, "hotline")
    r = api.post(f"/api/v1/users/{p.id}/tokens", headers=admin.auth, json_body={"name": "12338 hotline bridge"})
    assert r.status == 201, r
    created = r.json()
    remember(created["token"])
    assert set(created) == TOKEN_KEYS | {"token"}
    assert API_TOKEN.match(created["token"]), created["token"]
    assert (created["user_id"], created["name"], created["expires_at"], created["last_used_at"], created["revoked_at"]) == (
        p.id, "12338 hotline bridge", None, None, None
    )
    second = issue_api_token(api, admin.auth, p.id, name="another")
    assert second["token"] != created["token"]

    listed = api.get(f"/api/v1/users/{p.id}/tokens", headers=admin.auth)
    assert listed.status == 200
    assert created["token"].encode() not in listed.body and second["token"].encode() not in listed.body
    items = listed.json()["items"]
    assert [t["id"] for t in items] == [created["id"], second["id"]]
    assert all(set(t) == TOKEN_KEYS for t in items)
    assert items[0] == {k: v for k, v in created.items() if k != "token"}
    assert created["token"] not in api.get(f"/api/v1/users/{p.id}", headers=admin.auth).body.decode()


def test_an_api_token_records_its_first_use_and_can_be_revoked_once(api, admin):
    p = create_user(api, admin.auth, "mediator")
    created = issue_api_token(api, admin.auth, p.id, name="integration")
    token = bearer(created["token"])

    def listed():
        items = api.get(f"/api/v1/users/{p.id}/tokens", headers=admin.auth).json()["items"]
        return {t["id"]: t for t in items}[created["id"]]

    assert listed()["last_used_at"] is None
    before = utc_now() - datetime.timedelta(seconds=2)
    assert me_status(api, token) == 200
    used = listed()["last_used_at"]
    assert used is not None and before <= parse_ts(used) <= utc_now() + datetime.timedelta(seconds=2)

    assert api.request("DELETE", f"/api/v1/tokens/{created['id']}", headers=admin.auth).status == 204
    assert listed()["revoked_at"] is not None
    assert_problem(api.get("/api/v1/me", headers=token), 401, "unauthorized")
    r = api.request("DELETE", f"/api/v1/tokens/{created['id']}", headers=admin.auth)
    assert_problem(r, 404, "not-found")
    assert_problem(api.request("DELETE", "/api/v1/tokens/999999999", headers=admin.auth), 404, "not-found")


@pytest.mark.parametrize(
    "body,status,slug",
    [
        ({"name": "past", "expires_at": "2020-01-01T00:00:00+08:00"}, 422, "unprocessable"),
        ({"name": "nonsense", "expires_at": "next tuesday"}, 400, "validation"),
        ({"name": "number", "expires_at": 1893456000}, 400, "validation"),
        ({"name": ""}, 400, "validation"),
        ({"name": "x" * 101}, 400, "validation"),
        ({}, 400, "validation"),
        ({"name": "extra", "scope": "all"}, 400, "validation"),
    ],
)
def test_api_token_requests_are_validated(api, admin, staff, body, status, slug):
    before = api.get(f"/api/v1/users/{staff['mediator'].id}/tokens", headers=admin.auth).json()["items"]
    r = api.post(f"/api/v1/users/{staff['mediator'].id}/tokens", headers=admin.auth, json_body=body)
    assert_problem(r, status, slug)
    assert api.get(f"/api/v1/users/{staff['mediator'].id}/tokens", headers=admin.auth).json()["items"] == before


@pytest.fixture(scope="module")
def odd_tokens_user(api, admin):
    """Whoever gets the tokens with odd expiries (which break the document
    when shown), so that no other test lists them."""
    return create_user(api, admin.auth, "hotline", prefix="odd")


@pytest.mark.parametrize(
    "expires_at", ["infinity", "tomorrow", "2030-01-01T00:00:00"]  # the last without its UTC offset
)
def test_api_token_expiry_must_be_an_rfc3339_date_time(direct, admin, odd_tokens_user, expires_at):
    """The document: expires_at is a date-time (RFC 3339, with its UTC
    offset). Straight to the server, so that a wrong 201 shows as such."""
    path = f"/api/v1/users/{odd_tokens_user.id}/tokens"
    before = direct.get(path, headers=admin.auth).json()["items"]
    r = direct.post(path, headers=admin.auth, json_body={"name": "odd", "expires_at": expires_at})
    if r.status == 201:
        remember(r.json()["token"])
    assert_problem(r, 400, "validation")
    assert direct.get(path, headers=admin.auth).json()["items"] == before


def test_api_token_for_nobody(api, admin):
    r = api.post("/api/v1/users/999999999/tokens", headers=admin.auth, json_body={"name": "ghost"})
    assert_problem(r, 404, "not-found")
    assert_problem(api.get("/api/v1/users/999999999/tokens", headers=admin.auth), 404, "not-found")


# --- credentials in the URL and malformed Authorization headers ---------------------


@pytest.mark.parametrize("param", ["access_token", "token"])
def test_tokens_in_the_query_string_are_refused(api, admin, param):
    token = admin.token
    for headers in ({}, admin.auth):
        r = api.get(f"/api/v1/me?{param}={token}", headers=headers)
        assert_problem(r, 400, "bad-request", instance="/api/v1/me")
        assert "Authorization header" in r.json()["detail"]
    r = api.get(f"/api/v1/users?{param}=tjs_not-even-a-token", headers=admin.auth)
    assert_problem(r, 400, "bad-request", instance="/api/v1/users")
    name = support.unique_name("via.url")
    body = {"username": name, "display_name": "Via URL", "role": "hotline", "password": new_password()}
    r = api.post(f"/api/v1/users?{param}={token}", json_body=body)
    assert_problem(r, 400, "bad-request", instance="/api/v1/users")
    users = api.get("/api/v1/users?limit=1000", headers=admin.auth).json()["items"]
    assert name not in [u["username"] for u in users]


VALID_SHAPE = "tjs_" + "A" * 43


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNzd29yZA==",
        "Token " + VALID_SHAPE,
        "Bearer " + VALID_SHAPE,  # well-formed, but nobody's
        "Bearer " + "tja_" + "A" * 43,
        "Bearer " + "tjs_" + "A" * 42,
        "Bearer " + "tjs_" + "A" * 44,
        "Bearer " + "tjs_" + "A" * 42 + "!",
        "Bearer " + "tjx_" + "A" * 43,
        "Bearer " + "A" * 47,
        "Bearer {admin}x",
        "Bearer x{admin}",
        "Bearer {admin} {admin}",
        "Basic {admin}",
        "{admin}",
    ],
)
def test_malformed_or_unknown_credentials_get_401_with_a_challenge(api, admin, value):
    r = api.get("/api/v1/me", headers={"Authorization": value.format(admin=admin.token)})
    body = assert_problem(r, 401, "unauthorized", instance="/api/v1/me")
    assert r.header("WWW-Authenticate") == CHALLENGE
    assert admin.token not in body["detail"]


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer  "])
def test_the_scheme_is_case_insensitive(api, admin, scheme):
    r = api.get("/api/v1/me", headers={"Authorization": f"{scheme} {admin.token}"})
    assert r.status == 200 and r.json()["user"]["id"] == admin.id


# --- users --------------------------------------------------------------------------


def user_body(**over):
    body = {
        "username": support.unique_name("u"),
        "display_name": "周敏",
        "role": "mediator",
        "password": new_password(),
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not ...}


def test_create_read_and_change_a_user(api, admin):
    body = user_body(role="federation", region_code="450200", display_name="李华")
    r = api.post("/api/v1/users", headers=admin.auth, json_body=body)
    assert r.status == 201, r
    user = r.json()
    assert r.header("Location") == f"/api/v1/users/{user['id']}"
    assert set(user) == USER_KEYS
    assert (user["username"], user["display_name"], user["role"], user["region_code"], user["active"]) == (
        body["username"], "李华", "federation", "450200", True
    )
    assert "password" not in r.body.decode() and body["password"] not in r.body.decode()
    assert api.get(f"/api/v1/users/{user['id']}", headers=admin.auth).json() == user

    r = api.request(
        "PATCH", f"/api/v1/users/{user['id']}", headers=admin.auth,
        json_body={"role": "mediator", "region_code": None, "display_name": "李华 (调解员)"},
    )
    assert r.status == 200, r
    changed = r.json()
    assert (changed["role"], changed["region_code"], changed["display_name"]) == ("mediator", None, "李华 (调解员)")
    assert changed["created_at"] == user["created_at"]
    assert parse_ts(changed["updated_at"]) > parse_ts(user["updated_at"])
    assert api.get(f"/api/v1/users/{user['id']}", headers=admin.auth).json() == changed


def test_a_taken_username_is_a_conflict(api, admin, staff):
    r = api.post("/api/v1/users", headers=admin.auth, json_body=user_body(username=staff["hotline"].username))
    assert_problem(r, 409, "conflict")


@pytest.mark.parametrize(
    "over",
    [
        {"username": "ab"},
        {"username": "Upper.Case"},
        {"username": "-starts.with.dash"},
        {"username": "has space"},
        {"username": "x" * 65},
        {"display_name": ""},
        {"display_name": " leading space"},
        {"display_name": "x" * 101},
        {"role": "root"},
        {"password": "elevenchars"},
        {"password": "x" * 129},
        {"region_code": "45020"},
        {"password": ...},
        {"role": ...},
        {"is_admin": True},
    ],
)
def test_user_bodies_are_validated(api, admin, over):
    body = user_body(**over)
    r = api.post("/api/v1/users", headers=admin.auth, json_body=body)
    assert_problem(r, 400, "validation")
    users = api.get("/api/v1/users?limit=1000", headers=admin.auth).json()["items"]
    assert body.get("username") not in [u["username"] for u in users]


@pytest.mark.parametrize(
    "over",
    [
        {"role": "federation"},  # no region_code
        {"role": "federation", "region_code": None},
        {"role": "mediator", "region_code": "450202"},
    ],
)
def test_role_and_region_that_do_not_fit_are_a_bad_request(api, admin, over):
    """The document: region_code is required (a county or the city) for
    federation staff and absent or null for every other role; "a body that
    breaks this is refused with 400"."""
    r = api.post("/api/v1/users", headers=admin.auth, json_body=user_body(**over))
    assert_problem(r, 400, "validation")


@pytest.mark.parametrize("region", ["450000", "450299", "450202001"])
def test_federation_staff_need_an_existing_county_or_the_city(api, admin, region):
    r = api.post("/api/v1/users", headers=admin.auth, json_body=user_body(role="federation", region_code=region))
    assert_problem(r, 422, "unprocessable")


@pytest.fixture(scope="module")
def unchanging(api, admin):
    """Federation staff that refused changes must leave as they are."""
    return create_user(api, admin.auth, "federation", region="450203")


@pytest.mark.parametrize(
    "change,status",
    [
        ({}, 400),
        ({"password": "a new password!"}, 400),
        ({"active": "no"}, 400),
        ({"role": "root"}, 400),
        ({"display_name": ""}, 400),
        ({"region_code": 450202}, 400),
        ({"region_code": None}, 422),  # federation staff need their region
        ({"role": "mediator"}, 422),  # ... and others none
        ({"region_code": "450000"}, 422),
    ],
)
def test_user_changes_are_validated(api, admin, unchanging, change, status):
    p = unchanging
    before = api.get(f"/api/v1/users/{p.id}", headers=admin.auth).json()
    r = api.request("PATCH", f"/api/v1/users/{p.id}", headers=admin.auth, json_body=change)
    assert_problem(r, status, "validation" if status == 400 else "unprocessable")
    assert api.get(f"/api/v1/users/{p.id}", headers=admin.auth).json() == before


def test_unknown_and_malformed_user_ids(api, admin):
    assert_problem(api.get("/api/v1/users/999999999", headers=admin.auth), 404, "not-found")
    r = api.request("PATCH", "/api/v1/users/999999999", headers=admin.auth, json_body={"display_name": "Nobody"})
    assert_problem(r, 404, "not-found")
    for bad in ("0", "-1", "abc", "1.5", "9999999999999"):
        assert_problem(api.get(f"/api/v1/users/{bad}", headers=admin.auth), 400, "bad-request")
        assert_problem(api.get(f"/api/v1/users/{bad}/tokens", headers=admin.auth), 400, "bad-request")
        r = api.request("DELETE", f"/api/v1/tokens/{bad}", headers=admin.auth)
        assert_problem(r, 400, "bad-request")


def test_listing_users_filters_and_pages(api, admin, staff):
    everyone = api.get("/api/v1/users?limit=1000", headers=admin.auth).json()
    assert everyone["next_after"] is None
    ids = [u["id"] for u in everyone["items"]]
    assert ids == sorted(ids) and len(ids) >= 4
    assert {admin.id, *(p.id for p in staff.values())} <= set(ids)
    assert all(set(u) == USER_KEYS for u in everyone["items"])

    feds = api.get("/api/v1/users?role=federation&limit=1000", headers=admin.auth).json()["items"]
    assert feds and all(u["role"] == "federation" for u in feds)
    assert [u["id"] for u in feds] == [u["id"] for u in everyone["items"] if u["role"] == "federation"]
    off = api.get("/api/v1/users?active=false&limit=1000", headers=admin.auth).json()["items"]
    assert [u["id"] for u in off] == [u["id"] for u in everyone["items"] if not u["active"]]

    seen, after = [], None
    while True:
        page = api.get("/api/v1/users?limit=2" + (f"&after={after}" if after else ""), headers=admin.auth).json()
        assert len(page["items"]) <= 2
        seen += [u["id"] for u in page["items"]]
        after = page["next_after"]
        if after is None:
            break
        assert after == page["items"][-1]["id"]
    assert seen == ids


@pytest.mark.parametrize(
    "query", ["role=root", "active=yes", "limit=0", "limit=1001", "after=abc", "sort=id", "role=admin&role=hotline"]
)
def test_listing_users_refuses_bad_queries(api, admin, query):
    assert_problem(api.get(f"/api/v1/users?{query}", headers=admin.auth), 400, "bad-request")


def test_single_user_operations_refuse_a_query(api, admin, staff):
    """The document: GET /api/v1/users/{id}, GET .../tokens and DELETE
    /api/v1/tokens/{id} answer 400 when "the query is not empty"."""
    target = staff["mediator"]
    live = issue_api_token(api, admin.auth, target.id, name="query probe")
    answers = {
        "get user": api.get(f"/api/v1/users/{target.id}?expand=all", headers=admin.auth),
        "list tokens": api.get(f"/api/v1/users/{target.id}/tokens?expand=all", headers=admin.auth),
        "revoke token": api.request("DELETE", f"/api/v1/tokens/{live['id']}?force=1", headers=admin.auth),
    }
    wrong = {what: r.status for what, r in answers.items() if r.status != 400}
    assert not wrong, f"answered instead of 400: {wrong}"
    for r in answers.values():
        assert_problem(r, 400, "bad-request")


# --- what is kept of a password ---------------------------------------------------


def test_passwords_are_kept_only_as_argon2id_hashes(api, admin, staff, cluster, database):
    rows = cluster.psql(database, "SELECT username, password_hash FROM users ORDER BY id").splitlines()
    assert len(rows) >= 4
    for row in rows:
        username, hash_ = row.split("|", 1)
        assert hash_.startswith("$argon2id$v=19$"), (username, hash_[:20])
    table = cluster.psql(database, "SELECT u::text FROM users u")
    for p in (admin, *staff.values()):
        assert (p.password in table) is False, f"the password of {p.username} is in the users table"
    leaked = sum(s in table for s in support.SECRETS)
    assert leaked == 0, f"{leaked} remembered secrets in the users table"
