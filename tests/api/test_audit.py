"""The audit trail: what leaves an entry, reading it with filters, sealing
into the hash chain, and finding entries changed or deleted afterwards (on
a database of its own, so that the shared chain stays whole). The last
tests here run after the whole suite: the shared chain is still whole, and
no token or password reached a server log or a table.
"""

import contextlib
import datetime
import hashlib
import re
import secrets
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest

import support
from support import (
    Installation,
    assert_problem,
    audit_entries,
    audit_entry,
    bearer,
    create_user,
    new_password,
    run_cli,
    sign_in,
)

ENTRY_KEYS = {
    "id", "seq", "at", "actor_id", "actor_username", "actor_role", "action", "object_type",
    "object_id", "fields", "purpose", "request_id", "client_addr", "status", "hash", "prev_hash",
}
CHANGED = "entry changed: its content does not match its hash"
LINK = "link broken: the previous entry was changed or replaced"


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


def rid(what):
    return f"audit-{what}-{secrets.token_hex(6)}"


def check_entry(e, request_id, action, object_type, object_id, status, actor=None, purpose=None):
    """e is the entry of request request_id, as expected; actor is a
    Principal or None (nobody signed in)."""
    assert e is not None, f"no entry for request {request_id}"
    assert set(e) == ENTRY_KEYS, set(e) ^ ENTRY_KEYS
    assert (e["action"], e["object_type"], e["object_id"], e["status"]) == (action, object_type, object_id, status), e
    assert e["request_id"] == request_id
    assert e["client_addr"] == "127.0.0.1"
    assert e["purpose"] == purpose
    assert e["fields"] == []
    if actor is None:
        assert (e["actor_id"], e["actor_username"], e["actor_role"]) == (None, None, None), e
    else:
        assert (e["actor_id"], e["actor_username"], e["actor_role"]) == (actor.id, actor.username, actor.role), e
    at = datetime.datetime.fromisoformat(e["at"])
    assert utc_now() - datetime.timedelta(minutes=2) < at <= utc_now() + datetime.timedelta(seconds=2), e["at"]


def send(api, method, path, headers, request_id, **kw):
    r = api.request(method, path, headers={**headers, "X-Request-Id": request_id}, **kw)
    assert r.header("X-Request-Id") == request_id
    return r


# --- what leaves an entry ----------------------------------------------------------


def test_user_and_token_writes_are_audited(api, admin):
    a = admin.auth
    ids = {}

    ids["create"] = rid("user-create")
    name = support.unique_name("audited")
    body = {"username": name, "display_name": "被审计的人", "role": "mediator", "password": new_password()}
    r = send(api, "POST", "/api/v1/users", a, ids["create"], json_body=body)
    assert r.status == 201
    uid = str(r.json()["id"])

    ids["update"] = rid("user-update")
    assert send(api, "PATCH", f"/api/v1/users/{uid}", a, ids["update"], json_body={"display_name": "改名"}).status == 200
    ids["password"] = rid("user-password")
    r = send(api, "PUT", f"/api/v1/users/{uid}/password", a, ids["password"], json_body={"password": new_password()})
    assert r.status == 204
    ids["token"] = rid("token-create")
    r = send(api, "POST", f"/api/v1/users/{uid}/tokens", a, ids["token"], json_body={"name": "audited token"})
    assert r.status == 201
    support.remember(r.json()["token"])
    tid = str(r.json()["id"])
    ids["revoke"] = rid("token-revoke")
    assert send(api, "DELETE", f"/api/v1/tokens/{tid}", a, ids["revoke"]).status == 204

    on_user = {e["request_id"]: e for e in audit_entries(api, a, object_type="user", object_id=uid)}
    check_entry(on_user.get(ids["create"]), ids["create"], "user.create", "user", uid, 201, admin)
    check_entry(on_user.get(ids["update"]), ids["update"], "user.update", "user", uid, 200, admin)
    check_entry(on_user.get(ids["password"]), ids["password"], "user.password", "user", uid, 204, admin)
    assert len(on_user) == 3, on_user
    on_token = {e["request_id"]: e for e in audit_entries(api, a, object_type="api_token", object_id=tid)}
    check_entry(on_token.get(ids["token"]), ids["token"], "token.create", "api_token", tid, 201, admin)
    check_entry(on_token.get(ids["revoke"]), ids["revoke"], "token.revoke", "api_token", tid, 204, admin)
    assert len(on_token) == 2, on_token


def test_a_region_write_is_audited_with_the_stated_purpose(api, admin, cluster, database):
    request_id = rid("region")
    headers = {**admin.auth, "X-Access-Purpose": "Case 2026-0412: new township"}
    body = {"code": "450202950", "name": "审计街道", "level": "township", "parent_code": "450202"}
    try:
        r = send(api, "POST", "/api/v1/regions", headers, request_id, json_body=body)
        assert r.status == 201, r
    finally:
        # The shared database keeps its seed regions only: other tests list them.
        cluster.psql(database, "DELETE FROM regions WHERE code = '450202950'")
    e = audit_entry(api, admin.auth, request_id, object_type="region", object_id="450202950")
    check_entry(e, request_id, "region.create", "region", "450202950", 201, admin, purpose="Case 2026-0412: new township")


def test_a_write_refused_as_invalid_leaves_no_entry(api, admin, cluster, database):
    request_id = rid("invalid")
    body = {"username": "Not Valid", "display_name": "x", "role": "mediator", "password": new_password()}
    r = send(api, "POST", "/api/v1/users", admin.auth, request_id, json_body=body)
    assert r.status == 400
    assert cluster.psql(database, f"SELECT count(*) FROM audit_log WHERE request_id = '{request_id}'") == "0"
    # ... whereas a valid one does.
    request_id = rid("valid")
    body["username"] = support.unique_name("valid")
    assert send(api, "POST", "/api/v1/users", admin.auth, request_id, json_body=body).status == 201
    assert cluster.psql(database, f"SELECT action FROM audit_log WHERE request_id = '{request_id}'") == "user.create"


def test_sign_in_and_sign_out_are_audited(api, admin):
    p = create_user(api, admin.auth, "hotline")
    ok_id, fail_id, ghost_id, out_id = rid("signin"), rid("signin-fail"), rid("signin-ghost"), rid("signout")

    r = sign_in(api, p.username, p.password, headers={"X-Request-Id": ok_id})
    assert r.status == 201
    token = r.json()["token"]
    created = audit_entry(api, admin.auth, ok_id, actor_id=p.id)
    assert created is not None and re.fullmatch(r"[1-9][0-9]*", created["object_id"] or ""), created
    session_id = created["object_id"]
    check_entry(created, ok_id, "session.create", "session", session_id, 201, p)

    assert send(api, "DELETE", "/api/v1/sessions/current", bearer(token), out_id).status == 204
    ended = audit_entry(api, admin.auth, out_id, object_type="session", object_id=session_id)
    check_entry(ended, out_id, "session.delete", "session", session_id, 204, p)

    # A failed sign-in names the account when there is one, never an actor.
    assert sign_in(api, p.username, new_password(), headers={"X-Request-Id": fail_id}).status == 401
    failed = audit_entry(api, admin.auth, fail_id, object_type="user", object_id=str(p.id))
    check_entry(failed, fail_id, "session.create", "user", str(p.id), 401)
    assert sign_in(api, "nobody." + p.username, new_password(), headers={"X-Request-Id": ghost_id}).status == 401
    ghost = audit_entry(api, admin.auth, ghost_id, object_type="user")
    check_entry(ghost, ghost_id, "session.create", "user", None, 401)


def test_refusals_are_audited(api, admin, staff):
    anon_id, hot_id, fed_id = rid("anon"), rid("hotline"), rid("federation")
    assert send(api, "GET", "/api/v1/users", {}, anon_id).status == 401
    hot = staff["hotline"]
    headers = {**hot.auth, "X-Access-Purpose": "curious"}
    assert send(api, "GET", "/api/v1/audit/verify", headers, hot_id).status == 403
    fed = staff["federation"]
    body = {"username": support.unique_name("nope"), "display_name": "x", "role": "admin", "password": new_password()}
    assert send(api, "POST", "/api/v1/users", fed.auth, fed_id, json_body=body).status == 403

    e = audit_entry(api, admin.auth, anon_id, object_type="route", object_id="GET /api/v1/users")
    check_entry(e, anon_id, "access.denied", "route", "GET /api/v1/users", 401)
    e = audit_entry(api, admin.auth, hot_id, object_type="route", object_id="GET /api/v1/audit/verify")
    check_entry(e, hot_id, "access.denied", "route", "GET /api/v1/audit/verify", 403, hot, purpose="curious")
    e = audit_entry(api, admin.auth, fed_id, actor_id=fed.id)
    check_entry(e, fed_id, "access.denied", "route", "POST /api/v1/users", 403, fed)


# X-Access-Purpose is free text from the client: bytes that are not UTF-8, or
# a long value cut at 200 bytes in the middle of a character.
ODD_PURPOSES = {
    "not-utf8": b"\xff\xfe follow-up",
    "cut-mid-character": ("a" * 199 + "é").encode("utf-8"),
}


@pytest.mark.parametrize("purpose", ODD_PURPOSES.values(), ids=ODD_PURPOSES.keys())
def test_a_refusal_is_audited_whatever_its_purpose_header(direct, api, admin, purpose):
    """Straight to the server: the proxy passes no such header on."""
    request_id = rid("odd-purpose")
    r = direct.get("/api/v1/users", headers={"X-Access-Purpose": purpose, "X-Request-Id": request_id})
    assert_problem(r, 401, "unauthorized")
    e = audit_entry(api, admin.auth, request_id, object_type="route", object_id="GET /api/v1/users")
    assert e is not None, "a refusal left no audit entry"
    assert e["action"] == "access.denied" and e["status"] == 401


@pytest.mark.parametrize("purpose", ODD_PURPOSES.values(), ids=ODD_PURPOSES.keys())
def test_a_write_with_an_odd_purpose_header_is_no_internal_error(direct, api, admin, purpose):
    """Refused as a bad request, or done and audited: not a 500."""
    p = create_user(api, admin.auth, "mediator", prefix="purpose")
    request_id = rid("odd-write")
    r = direct.request(
        "PATCH", f"/api/v1/users/{p.id}", json_body={"display_name": "Purposeful"},
        headers={**admin.auth, "X-Access-Purpose": purpose, "X-Request-Id": request_id},
    )
    assert r.status in (200, 400), r
    e = audit_entry(api, admin.auth, request_id, object_type="user", object_id=str(p.id))
    if r.status == 200:
        assert e is not None and e["action"] == "user.update", e
        assert e["purpose"] is None or 1 <= len(e["purpose"]) <= 200, e
    else:
        assert_problem(r, 400, "bad-request")
        assert e is None


def test_a_utf8_purpose_is_recorded_as_sent(direct, api, admin):
    p = create_user(api, admin.auth, "mediator", prefix="purpose")
    request_id = rid("utf8-purpose")
    purpose = "调解回访 case 2026-0412"
    r = direct.request(
        "PATCH", f"/api/v1/users/{p.id}", json_body={"display_name": "回访"},
        headers={**admin.auth, "X-Access-Purpose": purpose.encode("utf-8"), "X-Request-Id": request_id},
    )
    assert r.status == 200, r
    e = audit_entry(api, admin.auth, request_id, object_type="user", object_id=str(p.id))
    assert e is not None and e["purpose"] == purpose, e


def test_the_first_administrator_was_made_by_the_command_line(api, admin):
    entries = audit_entries(api, admin.auth, object_type="user", object_id=str(admin.id))
    made = [e for e in entries if e["action"] == "user.create"]
    assert len(made) == 1, entries
    e = made[0]
    assert (e["actor_id"], e["actor_username"], e["actor_role"]) == (None, None, None)
    assert (e["request_id"], e["purpose"], e["client_addr"], e["status"]) == ("command-line", "bootstrap", None, 201)


# --- reading the trail ----------------------------------------------------------------


@pytest.fixture(scope="module")
def history(api, admin):
    """One user with three entries: created, then changed twice. Returns the
    user and the ids of its entries, newest first (the entries themselves
    change as they are sealed)."""
    p = create_user(api, admin.auth, "mediator", prefix="history")
    for n in (1, 2):
        time.sleep(0.05)
        r = api.request("PATCH", f"/api/v1/users/{p.id}", headers=admin.auth, json_body={"display_name": f"History {n}"})
        assert r.status == 200
    entries = audit_entries(api, admin.auth, object_type="user", object_id=str(p.id))
    assert [e["action"] for e in entries] == ["user.update", "user.update", "user.create"], entries
    return p, entries


def ids(entries):
    return [e["id"] for e in entries]


def test_entries_come_newest_first(api, admin, history):
    _, entries = history
    assert ids(entries) == sorted(ids(entries), reverse=True)
    everything = audit_entries(api, admin.auth, limit=1000)
    assert ids(everything) == sorted(ids(everything), reverse=True)
    assert len(set(ids(everything))) == len(everything)
    assert all(set(e) == ENTRY_KEYS for e in everything)


def test_filters_combine(api, admin, staff, history):
    p, entries = history
    assert ids(audit_entries(api, admin.auth, object_type="user", object_id=str(p.id), actor_id=admin.id)) == ids(entries)
    assert audit_entries(api, admin.auth, object_type="api_token", object_id=str(p.id)) == []
    assert audit_entries(api, admin.auth, object_id=str(p.id), actor_id=staff["hotline"].id) == []
    mine = audit_entries(api, admin.auth, actor_id=staff["hotline"].id, limit=1000)
    assert all(e["actor_id"] == staff["hotline"].id for e in mine)
    users = audit_entries(api, admin.auth, object_type="user", limit=1000)
    assert users and all(e["object_type"] == "user" for e in users)
    assert set(ids(entries)) <= set(ids(users))


def test_time_filters_take_from_inclusively_and_to_exclusively(api, admin, history):
    p, entries = history
    newest, middle, oldest = entries
    q = {"object_type": "user", "object_id": str(p.id)}

    def found(**more):
        return ids(audit_entries(api, admin.auth, **q, **more))

    assert found(**{"from": middle["at"]}) == [newest["id"], middle["id"]]
    assert found(to=middle["at"]) == [oldest["id"]]
    assert found(**{"from": middle["at"], "to": newest["at"]}) == [middle["id"]]
    # Any UTC offset names the same instant.
    at = datetime.datetime.fromisoformat(middle["at"]).astimezone(datetime.timezone(datetime.timedelta(hours=8)))
    assert found(**{"from": at.isoformat()}) == [newest["id"], middle["id"]]


def test_pages_follow_next_after(api, admin, history):
    p, entries = history
    q = {"object_type": "user", "object_id": str(p.id), "limit": 1}
    seen, after = [], None
    for _ in range(5):
        r = api.get("/api/v1/audit?" + urlencode({**q, **({"after": after} if after else {})}), headers=admin.auth)
        assert r.status == 200
        page = r.json()
        assert len(page["items"]) <= 1
        seen += page["items"]
        after = page["next_after"]
        if after is None:
            break
        assert after == page["items"][-1]["id"]
    assert ids(seen) == ids(entries)


@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=1001", "limit=ten", "actor_id=abc", "actor_id=0", "after=-5",
        "from=2026-13-45T00:00:00Z", "object_type=", "sort=at", "limit=1&limit=2",
        # The document: from and to are RFC 3339 date-times, not whatever
        # PostgreSQL makes of a string.
        "from=yesterday", "to=infinity",
    ],
)
def test_bad_audit_queries_are_refused(api, admin, query):
    assert_problem(api.get("/api/v1/audit?" + query, headers=admin.auth), 400, "bad-request")


def test_verify_refuses_a_query(api, admin):
    assert_problem(api.get("/api/v1/audit/verify?deep=1", headers=admin.auth), 400, "bad-request")


# --- the hash chain -------------------------------------------------------------------


def canonical(e):
    """The bytes an entry's hash covers (audit_canonical() in 0002_identity.sql)."""
    def text(v):
        return "\\N" if v is None else str(v)

    at = datetime.datetime.fromisoformat(e["at"]).astimezone(datetime.timezone.utc)
    parts = [
        str(e["id"]), str(e["seq"]), at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        text(e["actor_id"]), text(e["actor_username"]), text(e["actor_role"]), e["action"],
        text(e["object_type"]), text(e["object_id"]), "\x1e".join(e["fields"]), text(e["purpose"]),
        text(e["request_id"]), text(e["client_addr"]), str(e["status"]),
    ]
    return "\x1f".join(parts).encode("utf-8")


def test_entries_are_sealed_into_the_chain_within_seconds(api, admin, cluster, database):
    p = create_user(api, admin.auth, "hotline", prefix="sealed")
    request_id = rid("seal")
    r = send(api, "PATCH", f"/api/v1/users/{p.id}", admin.auth, request_id, json_body={"display_name": "Sealed"})
    assert r.status == 200

    def sealed():
        e = audit_entry(api, admin.auth, request_id, object_type="user", object_id=str(p.id))
        return e if e is not None and e["hash"] is not None else None

    started = time.monotonic()
    e = support.wait_until(sealed, timeout=5, interval=0.2)
    assert e, "the entry was not sealed within 5 s"
    assert time.monotonic() - started < 5
    assert isinstance(e["seq"], int) and e["seq"] >= 1
    assert re.fullmatch(r"[0-9a-f]{64}", e["hash"]) and re.fullmatch(r"[0-9a-f]{64}", e["prev_hash"])
    # Its hash covers its content and the hash before it ...
    assert hashlib.sha256(bytes.fromhex(e["prev_hash"]) + canonical(e)).hexdigest() == e["hash"]
    # ... which is the hash of the entry before it in the chain.
    before = cluster.psql(database, f"SELECT encode(hash, 'hex') FROM audit_log WHERE seq = {e['seq'] - 1}")
    assert before == e["prev_hash"]
    first = cluster.psql(database, "SELECT encode(prev_hash, 'hex') FROM audit_log WHERE seq = 1")
    assert first == "0" * 64


def test_verify_on_the_untouched_chain(api, admin, cluster, database):
    r = api.get("/api/v1/audit/verify", headers=admin.auth)
    assert r.status == 200
    body = r.json()
    assert body["ok"] is True and body["problems"] == [], body
    # Verifying seals what was pending first.
    assert body["unsealed"] == 0
    assert body["sealed"] == int(cluster.psql(database, "SELECT count(*) FROM audit_log"))
    assert body["sealed"] > 10


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_log SET status = 0",
        "UPDATE audit_log SET hash = NULL, seq = NULL WHERE id = 1",
        "DELETE FROM audit_log",
        "DELETE FROM audit_log WHERE id = 1",
        "TRUNCATE audit_log",
        "DROP TABLE audit_log",
        "ALTER TABLE audit_log DISABLE TRIGGER ALL",
    ],
)
def test_the_servers_role_cannot_change_or_delete_entries(cluster, database, sql):
    count = cluster.psql(database, "SELECT count(*) FROM audit_log")
    with pytest.raises(RuntimeError) as refused:
        # Rolled back should it ever go through.
        cluster.psql(database, f"BEGIN; SET ROLE tiaojie_app; {sql}; ROLLBACK;")
    assert "permission denied" in str(refused.value) or "must be owner" in str(refused.value), refused.value
    assert cluster.psql(database, "SELECT count(*) FROM audit_log") == count


def test_the_servers_role_may_add_and_read_entries(cluster, database):
    out = cluster.psql(
        database,
        "BEGIN; SET ROLE tiaojie_app; "
        "INSERT INTO audit_log (action, status) VALUES ('test.probe', 200); "
        "SELECT count(*) > 0 FROM audit_log WHERE action = 'test.probe'; ROLLBACK;",
    )
    assert out == "t"
    assert cluster.psql(database, "SELECT count(*) FROM audit_log WHERE action = 'test.probe'") == "0"


# --- tampering, on a database of its own -------------------------------------------


@pytest.fixture(scope="module")
def forge(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        for _ in range(4):
            create_user(inst.api, inst.admin.auth, "mediator", prefix="forge")
        r = inst.api.get("/api/v1/audit/verify", headers=inst.admin.auth)
        assert r.json()["ok"] is True and r.json()["sealed"] >= 6, r
        yield inst


def verify(inst):
    """(API answer, CLI process) for inst's chain."""
    r = inst.api.get("/api/v1/audit/verify", headers=inst.admin.auth)
    assert r.status == 200, r
    return r.json(), run_cli(["audit", "verify"], DATABASE_URL=inst.url)


def assert_whole(inst):
    body, cli = verify(inst)
    assert body["ok"] is True and body["problems"] == [], body
    assert cli.returncode == 0, cli
    assert cli.stdout == f"{body['sealed']} entries sealed, 0 pending: the chain is whole\n", cli.stdout


def assert_broken(inst, problems):
    """Both the API and the command line report exactly problems, a list
    of (seq, problem)."""
    body, cli = verify(inst)
    assert body["ok"] is False, body
    ids = {s: int(inst.psql(f"SELECT id FROM audit_log WHERE seq = {s}")) for s, _ in problems}
    assert body["problems"] == [{"seq": s, "id": ids[s], "problem": p} for s, p in problems], body
    assert cli.returncode == 1, cli
    lines = cli.stdout.splitlines()
    assert lines[:-1] == [f"audit entry seq {s} (id {ids[s]}): {p}" for s, p in problems], cli.stdout
    assert lines[-1] == f"{body['sealed']} entries sealed, 0 pending: the chain is BROKEN"


@contextlib.contextmanager
def tampering(inst, *seqs):
    """Keeps a copy of the entries at seqs, and puts them back as they were
    afterwards (as the owner, who can): the chain is whole again."""
    where = f"seq IN ({', '.join(map(str, seqs))})"
    inst.psql(f"CREATE TABLE kept_entries AS SELECT * FROM audit_log WHERE {where}")
    try:
        yield
    finally:
        inst.psql(
            "DELETE FROM audit_log WHERE id IN (SELECT id FROM kept_entries); "
            "INSERT INTO audit_log OVERRIDING SYSTEM VALUE SELECT * FROM kept_entries; "
            "DROP TABLE kept_entries"
        )
    assert_whole(inst)


def test_an_edited_entry_is_found(forge):
    assert_whole(forge)
    with tampering(forge, 3):
        forge.psql("UPDATE audit_log SET status = 299 WHERE seq = 3")
        assert_broken(forge, [(3, CHANGED)])
    with tampering(forge, 4):
        forge.psql("UPDATE audit_log SET actor_username = 'someone.else' WHERE seq = 4")
        assert_broken(forge, [(4, CHANGED)])
    with tampering(forge, 2, 5):
        forge.psql("UPDATE audit_log SET at = at - interval '1 day' WHERE seq = 2")
        forge.psql("UPDATE audit_log SET object_id = '1' WHERE seq = 5")
        assert_broken(forge, [(2, CHANGED), (5, CHANGED)])


def test_an_entry_rewritten_with_a_new_hash_breaks_the_next_link(forge):
    with tampering(forge, 2):
        forge.psql(
            "UPDATE audit_log SET purpose = 'covered up' WHERE seq = 2; "
            "UPDATE audit_log a SET hash = sha256(a.prev_hash || audit_canonical(a)) WHERE seq = 2"
        )
        assert_broken(forge, [(3, LINK)])


def test_a_deleted_entry_is_found(forge):
    with tampering(forge, 4, 5):
        forge.psql("DELETE FROM audit_log WHERE seq = 4")
        assert_broken(forge, [(5, "entries 4 to 4 missing")])
        forge.psql("DELETE FROM audit_log WHERE seq = 5")
        assert_broken(forge, [(6, "entries 4 to 5 missing")])


def test_a_deleted_first_entry_is_found(forge):
    with tampering(forge, 1):
        forge.psql("DELETE FROM audit_log WHERE seq = 1")
        assert_broken(forge, [(2, "entries 1 to 1 missing")])


def test_new_entries_are_chained_after_a_repaired_chain(forge):
    """The sealer goes on from the last sealed entry."""
    before = int(forge.psql("SELECT max(seq) FROM audit_log"))
    create_user(forge.api, forge.admin.auth, "hotline", prefix="after")
    assert_whole(forge)
    assert int(forge.psql("SELECT max(seq) FROM audit_log")) == before + 1


# --- over the whole run ------------------------------------------------------------------


@pytest.mark.last
def test_the_shared_chain_is_whole_after_the_run(api, admin, database_url):
    r = api.get("/api/v1/audit/verify", headers=admin.auth)
    assert r.status == 200
    body = r.json()
    assert body["ok"] is True and body["problems"] == [], body
    cli = run_cli(["audit", "verify"], DATABASE_URL=database_url)
    assert cli.returncode == 0, cli
    assert cli.stdout.endswith(" pending: the chain is whole\n"), cli.stdout


@pytest.mark.last
def test_no_token_or_password_reaches_a_log_or_a_table(api, admin, server, logdir, cluster, database):
    """Every token issued and every password used in the run (support.SECRETS),
    and any Authorization header, is absent from every server log line and
    from every table of the shared database, which keeps token hashes only."""
    # A request of this test's own, so that the scan has something to find.
    request_id = rid("scan")
    r = sign_in(api, admin.username, admin.password, headers={"X-Request-Id": request_id})
    assert r.status == 201
    token = r.json()["token"]
    r = api.get(f"/api/v1/me?access_token={token}", headers={"X-Request-Id": request_id + "-url"})
    assert r.status == 400
    assert api.get("/api/v1/me", headers={**bearer(token), "X-Request-Id": request_id + "-me"}).status == 200
    assert support.wait_until(lambda: request_id + "-me" in server.log(), timeout=5)
    assert request_id + "-url" in server.log()
    assert token in support.SECRETS and admin.password in support.SECRETS

    logs = sorted(Path(logdir).glob("tiaojie-*.log"))
    assert server.logpath in logs, logs
    secrets_ = sorted(support.SECRETS)
    found = []
    for path in logs:
        for n, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            low = line.lower()
            if "authorization" in low or "bearer " in low or support.TOKEN_TEXT.search(line):
                found.append(f"{path.name}:{n}: {line[:200]}")
            found += [f"{path.name}:{n}: a secret" for s in secrets_ if s in line]
    assert not found, "\n".join(found[:20])

    tables = cluster.psql(
        database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
    ).split()
    assert {"users", "sessions", "api_tokens", "audit_log", "login_failures"} <= set(tables), tables
    for table in tables:
        text = cluster.psql(database, f'SELECT t::text FROM "{table}" t')
        assert not support.TOKEN_TEXT.search(text), table
        leaked = sum(s in text for s in secrets_)
        assert leaked == 0, f"{leaked} secrets in table {table}"
    # What is kept of a token is its BLAKE2b-256.
    digest = hashlib.blake2b(token.encode(), digest_size=32).hexdigest()
    assert cluster.psql(database, f"SELECT count(*) FROM sessions WHERE token_hash = '\\x{digest}'") == "1"
