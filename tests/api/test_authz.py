"""Who may do what: every operation of the API, called by every kind of
caller, against the live server.

EXPECTED is the whole matrix, one row per operation (METHOD, path as in the
API document) and one column per caller (CALLERS). A new operation needs a
row: the coverage tests below fail until it has one. REQUESTS says how to
make a well-formed request for an operation (path parameters, body); an
operation without an entry is called on its path as is, without a body.

Each request is one that would succeed if the caller were admitted (unique
usernames, live tokens, existing ids), so a status in the matrix shows what
authorisation decided, and a 2xx where the matrix says otherwise cannot
hide. Where an operation changes something, the database is checked too:
the change happened exactly when the request was admitted.
"""

import secrets

import pytest

import support
from support import SPEC, assert_problem, audit_entry, bearer, new_password, remember

CALLERS = (
    "anonymous",
    "admin",
    "federation",
    "mediator",
    "hotline",
    "admin_api_token",
    "hotline_api_token",
    "ended_session",  # an administrator's session after sign-out
)

# fmt: off
EXPECTED = {
    #                                          anon admin  fed  med  hot  adm-t hot-t ended
    ("GET",    "/healthz"):                     (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET",    "/readyz"):                      (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET",    "/metrics"):                     (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET",    "/api/v1/openapi.yaml"):         (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET",    "/api/v1/regions"):              (200, 200, 200, 200, 200, 200, 200, 200),
    ("GET",    "/api/v1/regions/{code}"):       (200, 200, 200, 200, 200, 200, 200, 200),
    ("POST",   "/api/v1/regions"):              (401, 201, 403, 403, 403, 201, 403, 401),
    ("POST",   "/api/v1/sessions"):             (201, 201, 201, 201, 201, 201, 201, 201),
    ("DELETE", "/api/v1/sessions/current"):     (401, 204, 204, 204, 204, 400, 400, 401),
    ("GET",    "/api/v1/me"):                   (401, 200, 200, 200, 200, 200, 200, 401),
    ("POST",   "/api/v1/users"):                (401, 201, 403, 403, 403, 201, 403, 401),
    ("GET",    "/api/v1/users"):                (401, 200, 403, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/users/{id}"):           (401, 200, 403, 403, 403, 200, 403, 401),
    ("PATCH",  "/api/v1/users/{id}"):           (401, 200, 403, 403, 403, 200, 403, 401),
    ("PUT",    "/api/v1/users/{id}/password"):  (401, 204, 403, 403, 403, 204, 403, 401),
    ("POST",   "/api/v1/users/{id}/tokens"):    (401, 201, 403, 403, 403, 201, 403, 401),
    ("GET",    "/api/v1/users/{id}/tokens"):    (401, 200, 403, 403, 403, 200, 403, 401),
    ("DELETE", "/api/v1/tokens/{id}"):          (401, 204, 403, 403, 403, 204, 403, 401),
    ("GET",    "/api/v1/audit"):                (401, 200, 403, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/audit/verify"):         (401, 200, 403, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/committees"):           (401, 201, 201, 403, 403, 201, 403, 401),
    ("GET",    "/api/v1/committees"):           (401, 200, 200, 200, 200, 200, 200, 401),
    ("GET",    "/api/v1/committees/{id}"):      (401, 200, 200, 200, 200, 200, 200, 401),
    ("PATCH",  "/api/v1/committees/{id}"):      (401, 200, 200, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/mediators"):            (401, 201, 201, 403, 403, 201, 403, 401),
    ("GET",    "/api/v1/mediators"):            (401, 200, 200, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/mediators/{id}"):       (401, 200, 200, 403, 403, 200, 403, 401),
    ("PATCH",  "/api/v1/mediators/{id}"):       (401, 200, 200, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/targets/{year}"):       (401, 200, 200, 403, 403, 200, 403, 401),
    ("PUT",    "/api/v1/targets/{year}"):       (401, 200, 403, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/coverage"):             (401, 200, 200, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/import/committees"):    (401, 200, 200, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/import/mediators"):     (401, 200, 200, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/experts"):              (401, 200, 200, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases"):                (401, 201, 403, 201, 403, 201, 403, 401),
    ("GET",    "/api/v1/cases"):                (401, 200, 200, 200, 403, 200, 403, 401),
    ("GET",    "/api/v1/cases/{id}"):           (401, 200, 200, 200, 403, 200, 403, 401),
    ("PATCH",  "/api/v1/cases/{id}"):           (401, 200, 403, 200, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases/{id}/parties"):   (401, 201, 403, 201, 403, 201, 403, 401),
    ("PATCH",  "/api/v1/cases/{id}/parties/{party}"): (401, 200, 403, 200, 403, 200, 403, 401),
    ("GET",    "/api/v1/cases/{id}/duplicates"): (401, 200, 200, 200, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases/{id}/transitions"): (401, 200, 403, 200, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases/{id}/expert"):    (401, 200, 200, 403, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases/{id}/extensions"): (401, 200, 403, 200, 403, 200, 403, 401),
    ("POST",   "/api/v1/cases/{id}/sessions"):  (401, 201, 403, 201, 403, 201, 403, 401),
    ("POST",   "/api/v1/cases/{id}/followups"): (401, 201, 403, 201, 403, 201, 403, 401),
    ("PUT",    "/api/v1/cases/{id}/confirmation"): (401, 200, 403, 200, 403, 200, 403, 401),
    ("POST",   "/api/v1/referrals"):            (401, 201, 403, 403, 201, 201, 201, 401),
    ("GET",    "/api/v1/referrals"):            (401, 200, 200, 200, 200, 200, 200, 401),
    ("GET",    "/api/v1/referrals/{id}"):       (401, 200, 200, 200, 200, 200, 200, 401),
    ("POST",   "/api/v1/referrals/{id}/accept"): (401, 201, 403, 201, 403, 201, 403, 401),
    ("POST",   "/api/v1/referrals/{id}/decline"): (401, 204, 403, 204, 403, 204, 403, 401),
    ("POST",   "/api/v1/referrals/{id}/route"): (401, 200, 403, 403, 200, 200, 200, 401),
    ("POST",   "/api/v1/referrals/callers"):    (401, 200, 403, 403, 200, 200, 200, 401),
    ("GET",    "/api/v1/dashboard/cases"):      (401, 200, 200, 403, 403, 200, 403, 401),
    ("GET",    "/api/v1/dashboard/referrals"):  (401, 200, 200, 403, 403, 200, 403, 401),
}
# fmt: on

# Who is behind each caller: (principal key in ctx.people, role), None for nobody.
IDENTITY = {
    "anonymous": None,
    "admin": ("admin", "admin"),
    "federation": ("federation", "federation"),
    "mediator": ("mediator", "mediator"),
    "hotline": ("hotline", "hotline"),
    "admin_api_token": ("admin", "admin"),
    "hotline_api_token": ("hotline", "hotline"),
    "ended_session": None,  # not authenticated: the refusal names nobody
}
SESSION_CALLERS = ("admin", "federation", "mediator", "hotline")


class Req:
    def __init__(self, path, body=None, headers=None, check=None, content_type=None):
        self.path = path
        self.body = body
        self.content_type = content_type  # a body sent as is, not as JSON
        self.headers = headers  # replaces the caller's headers when given
        self.check = check  # check(status): side effects match the status


def ok(status):
    return 200 <= status < 300


# --- well-formed requests ---------------------------------------------------------


def region_create(ctx, caller):
    ctx.region_seq += 1
    code = f"450202{ctx.region_seq:03d}"
    body = {"code": code, "name": f"权限测试街道{ctx.region_seq}", "level": "township", "parent_code": "450202"}

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM regions WHERE code = '{code}'")
        # The shared database keeps its seed regions only: other tests list them.
        ctx.psql(f"DELETE FROM regions WHERE code = '{code}'")
        assert count == ("1" if ok(status) else "0"), (code, status, count)

    return Req("/api/v1/regions", body, check=check)


def region_get(ctx, caller):
    return Req("/api/v1/regions/450202")


def session_create(ctx, caller):
    probe = ctx.people["probe"]
    remember(probe.password)
    return Req("/api/v1/sessions", {"username": probe.username, "password": probe.password})


def session_delete(ctx, caller):
    if caller not in SESSION_CALLERS:
        return Req("/api/v1/sessions/current")
    # A session of its own, so that the shared ones live on.
    p = ctx.people[caller]
    r = support.sign_in(ctx.api, p.username, p.password)
    assert r.status == 201, r
    token = r.json()["token"]

    def check(status):
        after = ctx.api.get("/api/v1/me", headers=bearer(token)).status
        assert after == (401 if ok(status) else 200), (status, after)

    return Req("/api/v1/sessions/current", headers=bearer(token), check=check)


def user_create(ctx, caller):
    name = support.unique_name("authz")
    body = {"username": name, "display_name": "Authz probe", "role": "mediator", "password": new_password()}

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM users WHERE username = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req("/api/v1/users", body, check=check)


def user_get(ctx, caller):
    return Req(f"/api/v1/users/{ctx.target.id}")


def user_list(ctx, caller):
    return Req("/api/v1/users?limit=5")


def user_update(ctx, caller):
    name = f"Target {secrets.token_hex(4)}"

    def check(status):
        now = ctx.psql(f"SELECT display_name FROM users WHERE id = {ctx.target.id}")
        assert (now == name) == ok(status), (status, now, name)

    return Req(f"/api/v1/users/{ctx.target.id}", {"display_name": name}, check=check)


def user_password(ctx, caller):
    before = ctx.psql(f"SELECT password_hash FROM users WHERE id = {ctx.target.id}")

    def check(status):
        after = ctx.psql(f"SELECT password_hash FROM users WHERE id = {ctx.target.id}")
        assert (after != before) == ok(status), status

    return Req(f"/api/v1/users/{ctx.target.id}/password", {"password": new_password()}, check=check)


def token_create(ctx, caller):
    name = f"authz {secrets.token_hex(4)}"

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM api_tokens WHERE name = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req(f"/api/v1/users/{ctx.target.id}/tokens", {"name": name}, check=check)


def token_list(ctx, caller):
    return Req(f"/api/v1/users/{ctx.target.id}/tokens")


def token_revoke(ctx, caller):
    tid = support.issue_api_token(ctx.api, ctx.admin.auth, ctx.target.id, name="to revoke")["id"]

    def check(status):
        revoked = ctx.psql(f"SELECT revoked_at IS NOT NULL FROM api_tokens WHERE id = {tid}")
        assert revoked == ("t" if ok(status) else "f"), (tid, status, revoked)

    return Req(f"/api/v1/tokens/{tid}", check=check)


def audit_list(ctx, caller):
    return Req("/api/v1/audit?limit=1")


def committee_create(ctx, caller):
    name = f"权限测试婚调室 {secrets.token_hex(4)}"
    # In 城中区, the federation caller's own county.
    body = {"name": name, "kind": "room", "region_code": "450202", "established_on": "2026-01-05"}

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM committees WHERE name = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req("/api/v1/committees", body, check=check)


def committee_get(ctx, caller):
    return Req(f"/api/v1/committees/{ctx.committee}")


def committee_update(ctx, caller):
    host = f"host {secrets.token_hex(4)}"

    def check(status):
        now = ctx.psql(f"SELECT host_org FROM committees WHERE id = {ctx.committee}")
        assert (now == host) == ok(status), (status, now, host)

    return Req(f"/api/v1/committees/{ctx.committee}", {"host_org": host}, check=check)


def mediator_create(ctx, caller):
    name = f"权限测试调解员{secrets.token_hex(3)}"
    body = {"name": name, "full_time": False, "committees": [ctx.committee]}

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM mediators WHERE name = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req("/api/v1/mediators", body, check=check)


def mediator_get(ctx, caller):
    return Req(f"/api/v1/mediators/{ctx.mediator}")


def mediator_update(ctx, caller):
    name = f"权限测试调解员{secrets.token_hex(3)}"

    def check(status):
        now = ctx.psql(f"SELECT name FROM mediators WHERE id = {ctx.mediator}")
        assert (now == name) == ok(status), (status, now, name)

    return Req(f"/api/v1/mediators/{ctx.mediator}", {"name": name}, check=check)


def target_get(ctx, caller):
    return Req("/api/v1/targets/2020")


def target_put(ctx, caller):
    ctx.region_seq += 1
    count = ctx.region_seq  # a value no other cell sets
    body = {"region_code": "450200", "new_committees": count, "every_county_covered": True}

    def check(status):
        now = ctx.psql("SELECT new_committees FROM targets WHERE year = 2029 AND region_code = '450200'")
        assert (now == str(count)) == ok(status), (status, now, count)

    return Req("/api/v1/targets/2029", body, check=check)


def coverage_get(ctx, caller):
    # Federation staff default to their own county; administrators name one.
    return Req("/api/v1/coverage?region=450202")


def import_committees(ctx, caller):
    name = f"导入婚调室 {secrets.token_hex(4)}"
    csv = ("name,kind,region_code,host_org,address,phone,purchased_service,established_on,closed_on\n"
           f"{name},room,450202,,,,,2026-01-05,\n")

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM committees WHERE name = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req("/api/v1/import/committees", csv, check=check, content_type="text/csv")


def import_mediators(ctx, caller):
    name = f"导入调解员{secrets.token_hex(3)}"
    csv = ("name,gender,full_time,specialties,expert,phone,trained_on,certified_on,committees\n"
           f"{name},female,yes,law,no,,,,{ctx.committee}\n")

    def check(status):
        count = ctx.psql(f"SELECT count(*) FROM mediators WHERE name = '{name}'")
        assert count == ("1" if ok(status) else "0"), (name, status, count)

    return Req("/api/v1/import/mediators", csv, check=check, content_type="text/csv")


def new_case(ctx, state="registered"):
    """A case of ctx.committee moved to state by the administrator: (id, ETag)."""
    body = {
        "committee_id": ctx.committee, "source": "walk_in", "dispute_type": "divorce", "difficulty": "difficult",
        "parties": [{"role": "applicant", "name": "权限测试当事人", "phone": "13800138000"}],
    }
    r = ctx.api.post("/api/v1/cases", headers=ctx.admin.auth, json_body=body)
    assert r.status == 201, r
    case, etag = r.json()["id"], r.header("ETag")
    no = {"before_court": False, "before_police": False, "marriage_status": False, "identity": False}
    path = {
        "registered": [],
        "accepted": [{"to": "accepted", "admissibility": no}],
        "expert_requested": [{"to": "accepted", "admissibility": no}, {"to": "in_mediation"},
                             {"to": "expert_requested"}],
        "agreed": [{"to": "accepted", "admissibility": no}, {"to": "in_mediation"},
                   {"to": "closed", "outcome": {"result": "agreement", "agreement_form": "written",
                                                "agreement": "协议", "effective_on": "2026-03-01"}}],
    }[state]
    for move in path:
        r = ctx.api.post(f"/api/v1/cases/{case}/transitions", headers={**ctx.admin.auth, "If-Match": etag},
                         json_body=move)
        assert r.status == 200, r
        etag = r.header("ETag")
    return case, etag


def case_write(ctx, caller, suffix, body, state="registered"):
    """A write to a fresh case: it changes the case's version exactly when admitted."""
    case, etag = new_case(ctx, state)
    before = ctx.psql(f"SELECT version FROM cases WHERE id = {case}")

    def check(status):
        now = ctx.psql(f"SELECT version FROM cases WHERE id = {case}")
        assert (now != before) == ok(status), (status, before, now)

    return Req(f"/api/v1/cases/{case}{suffix}", body, headers={**ctx.callers[caller], "If-Match": etag}, check=check)


def case_create(ctx, caller):
    before = int(ctx.psql("SELECT count(*) FROM cases"))
    body = {"committee_id": ctx.committee, "source": "court", "dispute_type": "custody",
            "parties": [{"role": "applicant", "name": "权限测试申请人"}]}

    def check(status):
        now = int(ctx.psql("SELECT count(*) FROM cases"))
        assert now == before + (1 if ok(status) else 0), (status, before, now)

    return Req("/api/v1/cases", body, check=check)


def case_get(ctx, caller):
    return Req(f"/api/v1/cases/{ctx.case}")


def case_duplicates(ctx, caller):
    return Req(f"/api/v1/cases/{ctx.case}/duplicates")


def case_update(ctx, caller):
    return case_write(ctx, caller, "", {"minors_involved": True})


def case_parties(ctx, caller):
    return case_write(ctx, caller, "/parties", {"parties": [{"role": "other", "name": "权限测试证人"}]})


def case_party_update(ctx, caller):
    req = case_write(ctx, caller, "", {"relationship": "配偶"})
    case = req.path.rsplit("/", 1)[1]
    req.path += f"/parties/{ctx.psql(f'SELECT min(id) FROM parties WHERE case_id = {case}')}"
    return req


def case_transition(ctx, caller):
    return case_write(ctx, caller, "/transitions", {"to": "declined", "reason": "outside_remit"})


def case_expert(ctx, caller):
    return case_write(ctx, caller, "/expert", {"expert_id": ctx.mediator}, state="expert_requested")


def case_extension(ctx, caller):
    return case_write(ctx, caller, "/extensions", {"due_on": "2099-01-01", "reason": "双方要求延期"}, state="accepted")


def case_session(ctx, caller):
    return case_write(ctx, caller, "/sessions", {"held_at": "2026-03-01T10:00:00+08:00", "notes": "记录"},
                      state="accepted")


def case_followup(ctx, caller):
    return case_write(ctx, caller, "/followups", {"visited_on": "2026-04-01", "honoured": "fully"}, state="agreed")


def case_confirmation(ctx, caller):
    return case_write(ctx, caller, "/confirmation", {"status": "applied", "applied_on": "2026-03-05"}, state="agreed")


def new_referral(ctx, target=True):
    """A referral opened by the hotline operator, at ctx.committee when target: its id."""
    body = {"source": "hotline_12338", "caller_name": "权限测试来电人", "caller_phone": "13800138000",
            "county_code": "450202", "dispute_type": "divorce"}
    if target:
        body["target_committee_id"] = ctx.committee
    headers = {**ctx.callers["hotline"], "Idempotency-Key": secrets.token_hex(8)}
    r = ctx.api.post("/api/v1/referrals", headers=headers, json_body=body)
    assert r.status == 201, r
    return r.json()["id"]


def referral_state(ctx, referral):
    return ctx.psql(f"SELECT status || '/' || version FROM referrals WHERE id = {referral}")


def referral_create(ctx, caller):
    key = secrets.token_hex(8)
    before = int(ctx.psql("SELECT count(*) FROM referrals"))
    body = {"source": "court", "caller_name": "权限测试当事人", "county_code": "450202", "dispute_type": "custody"}

    def check(status):
        now = int(ctx.psql("SELECT count(*) FROM referrals"))
        assert now == before + (1 if ok(status) else 0), (status, before, now)

    return Req("/api/v1/referrals", body, headers={**ctx.callers[caller], "Idempotency-Key": key}, check=check)


def referral_get(ctx, caller):
    return Req(f"/api/v1/referrals/{ctx.referral}")


def referral_write(ctx, suffix, body, referral):
    before = referral_state(ctx, referral)

    def check(status):
        now = referral_state(ctx, referral)
        assert (now != before) == ok(status), (status, before, now)

    return Req(f"/api/v1/referrals/{referral}{suffix}", body, check=check)


def referral_accept(ctx, caller):
    return referral_write(ctx, "/accept", {}, new_referral(ctx))


def referral_decline(ctx, caller):
    return referral_write(ctx, "/decline", {"reason": "本会案件已满"}, new_referral(ctx))


def referral_route(ctx, caller):
    referral = new_referral(ctx)
    # As if every committee had declined it (test_referrals.py walks that way).
    ctx.psql(f"UPDATE referrals SET status = 'returned', committee_id = NULL WHERE id = {referral}")
    return referral_write(ctx, "/route", {"committee_id": ctx.committee}, referral)


def referral_callers(ctx, caller):
    return Req("/api/v1/referrals/callers", {"phone": "13800138000"})


def dashboard(path):
    # Federation staff default to their own county; administrators name a region.
    return lambda ctx, caller: Req(f"{path}?region=450202&group_by=month")


REQUESTS = {
    ("GET", "/api/v1/dashboard/cases"): dashboard("/api/v1/dashboard/cases"),
    ("GET", "/api/v1/dashboard/referrals"): dashboard("/api/v1/dashboard/referrals"),
    ("POST", "/api/v1/referrals"): referral_create,
    ("GET", "/api/v1/referrals/{id}"): referral_get,
    ("POST", "/api/v1/referrals/{id}/accept"): referral_accept,
    ("POST", "/api/v1/referrals/{id}/decline"): referral_decline,
    ("POST", "/api/v1/referrals/{id}/route"): referral_route,
    ("POST", "/api/v1/referrals/callers"): referral_callers,
    ("POST", "/api/v1/cases"): case_create,
    ("GET", "/api/v1/cases/{id}"): case_get,
    ("PATCH", "/api/v1/cases/{id}"): case_update,
    ("POST", "/api/v1/cases/{id}/parties"): case_parties,
    ("PATCH", "/api/v1/cases/{id}/parties/{party}"): case_party_update,
    ("GET", "/api/v1/cases/{id}/duplicates"): case_duplicates,
    ("POST", "/api/v1/cases/{id}/transitions"): case_transition,
    ("POST", "/api/v1/cases/{id}/expert"): case_expert,
    ("POST", "/api/v1/cases/{id}/extensions"): case_extension,
    ("POST", "/api/v1/cases/{id}/sessions"): case_session,
    ("POST", "/api/v1/cases/{id}/followups"): case_followup,
    ("PUT", "/api/v1/cases/{id}/confirmation"): case_confirmation,
    ("POST", "/api/v1/regions"): region_create,
    ("GET", "/api/v1/regions/{code}"): region_get,
    ("POST", "/api/v1/sessions"): session_create,
    ("DELETE", "/api/v1/sessions/current"): session_delete,
    ("POST", "/api/v1/users"): user_create,
    ("GET", "/api/v1/users"): user_list,
    ("GET", "/api/v1/users/{id}"): user_get,
    ("PATCH", "/api/v1/users/{id}"): user_update,
    ("PUT", "/api/v1/users/{id}/password"): user_password,
    ("POST", "/api/v1/users/{id}/tokens"): token_create,
    ("GET", "/api/v1/users/{id}/tokens"): token_list,
    ("DELETE", "/api/v1/tokens/{id}"): token_revoke,
    ("GET", "/api/v1/audit"): audit_list,
    ("POST", "/api/v1/committees"): committee_create,
    ("GET", "/api/v1/committees/{id}"): committee_get,
    ("PATCH", "/api/v1/committees/{id}"): committee_update,
    ("POST", "/api/v1/mediators"): mediator_create,
    ("GET", "/api/v1/mediators/{id}"): mediator_get,
    ("PATCH", "/api/v1/mediators/{id}"): mediator_update,
    ("GET", "/api/v1/targets/{year}"): target_get,
    ("PUT", "/api/v1/targets/{year}"): target_put,
    ("GET", "/api/v1/coverage"): coverage_get,
    ("POST", "/api/v1/import/committees"): import_committees,
    ("POST", "/api/v1/import/mediators"): import_mediators,
}


def build(ctx, op, caller):
    maker = REQUESTS.get(op)
    if maker is not None:
        return maker(ctx, caller)
    assert "{" not in op[1], f"{op}: a path with parameters needs an entry in REQUESTS"
    return Req(op[1])


class Context:
    pass


@pytest.fixture(scope="module")
def ctx(api, admin, staff, callers, cluster, database):
    c = Context()
    c.api = api
    c.admin = admin
    c.callers = callers
    c.region_seq = 900
    c.psql = lambda sql: cluster.psql(database, sql)
    # The user that admin operations act on, and one that signs in.
    c.target = support.create_user(api, admin.auth, "mediator", prefix="target")
    c.people = {"admin": admin, **staff, "probe": support.create_user(api, admin.auth, "hotline", prefix="probe")}
    # A committee in 城中区, inside the federation caller's scope.
    r = api.post(
        "/api/v1/committees",
        headers=admin.auth,
        json_body={"name": "权限测试婚调委", "kind": "committee", "region_code": "450202", "established_on": "2020-06-18"},
    )
    assert r.status == 201, r
    c.committee = r.json()["id"]
    r = api.post(
        "/api/v1/mediators",
        headers=admin.auth,
        json_body={"name": "权限测试调解员", "full_time": True, "committees": [c.committee], "phone": "13800138000",
                   "expert": True},
    )
    assert r.status == 201, r
    c.mediator = r.json()["id"]
    # The mediator caller works the cases of that mediator's committee.
    r = api.request("PATCH", f"/api/v1/users/{staff['mediator'].id}", headers=admin.auth,
                    json_body={"mediator_id": c.mediator})
    assert r.status == 200, r
    c.case, _ = new_case(c)
    c.referral = new_referral(c)
    return c


def public(op):
    return all(ok(s) for s in EXPECTED[op])


CELLS = [(op, caller) for op in EXPECTED for caller in CALLERS]


@pytest.mark.parametrize("op,caller", CELLS, ids=[f"{m} {p} as {c}" for (m, p), c in CELLS])
def test_cell(ctx, op, caller):
    method, pattern = op
    want = EXPECTED[op][CALLERS.index(caller)]
    req = build(ctx, op, caller)
    headers = dict(ctx.callers[caller] if req.headers is None else req.headers)
    rid = "authz-" + secrets.token_hex(8)
    headers["X-Request-Id"] = rid
    if req.content_type is not None:
        headers["Content-Type"] = req.content_type
        r = ctx.api.request(method, req.path, headers=headers, body=req.body.encode())
    else:
        r = ctx.api.request(method, req.path, headers=headers, json_body=req.body)
    assert r.status == want, f"{caller}: {r!r}"
    assert r.header("X-Request-Id") == rid

    if want == 401:
        assert_problem(r, 401, "unauthorized", instance=req.path.split("?")[0])
        assert r.header("WWW-Authenticate") == 'Bearer realm="tiaojie"', r
    elif want == 403:
        body = assert_problem(r, 403, "forbidden", instance=req.path.split("?")[0])
        assert IDENTITY[caller][1] in body["detail"], body
    elif want == 400:
        assert_problem(r, 400, "bad-request", instance=req.path.split("?")[0])
    if req.check is not None:
        req.check(r.status)

    if public(op):
        return
    # Refusals, and only refusals, leave an access.denied entry naming the
    # route, the status and (when known) the caller.
    entry = audit_entry(
        ctx.api, ctx.admin.auth, rid, object_type="route", object_id=f"{method} {pattern}"
    )
    if want not in (401, 403):
        assert entry is None, entry
        return
    assert entry is not None, f"no access.denied entry for {method} {pattern} as {caller}"
    assert entry["action"] == "access.denied"
    assert entry["status"] == want
    assert entry["client_addr"] == "127.0.0.1"
    who = IDENTITY[caller] if want == 403 else None
    if who is None:
        assert (entry["actor_id"], entry["actor_username"], entry["actor_role"]) == (None, None, None), entry
    else:
        p = ctx.people[who[0]]
        assert (entry["actor_id"], entry["actor_username"], entry["actor_role"]) == (p.id, p.username, who[1]), entry


# --- HEAD goes through the same door as GET --------------------------------------


GETS = [op for op in EXPECTED if op[0] == "GET"]
HEAD_CALLERS = ("anonymous", "hotline", "admin")


@pytest.mark.parametrize("op", GETS, ids=[p for _, p in GETS])
def test_head_is_authorised_like_get(ctx, direct, op):
    for caller in HEAD_CALLERS:
        req = build(ctx, op, caller)
        r = direct.request("HEAD", req.path, headers=ctx.callers[caller])
        assert r.status == EXPECTED[op][CALLERS.index(caller)], f"{caller}: {r!r}"
        assert r.body == b""
        if r.status == 401:
            assert r.header("WWW-Authenticate") == 'Bearer realm="tiaojie"'


def test_head_refusal_is_audited(ctx, direct, staff):
    rid = "authz-head-" + secrets.token_hex(6)
    r = direct.request("HEAD", "/api/v1/audit", headers={**ctx.callers["hotline"], "X-Request-Id": rid})
    assert r.status == 403
    entry = audit_entry(ctx.api, ctx.admin.auth, rid, object_type="route", object_id="GET /api/v1/audit")
    assert entry is not None and entry["status"] == 403 and entry["actor_id"] == staff["hotline"].id, entry


# --- the matrix covers everything -------------------------------------------------


def test_matrix_rows_are_complete():
    for op, row in EXPECTED.items():
        assert len(row) == len(CALLERS), op
        assert all(isinstance(s, int) and 200 <= s <= 599 for s in row), op
        assert "{" not in op[1] or op in REQUESTS, f"{op} has path parameters but no request maker"
    assert set(REQUESTS) <= set(EXPECTED), set(REQUESTS) - set(EXPECTED)
    assert set(IDENTITY) == set(CALLERS)


def test_matrix_covers_every_operation_of_the_api_document():
    in_spec = support.spec_operations(SPEC.read_text())
    assert len(in_spec) >= 20, in_spec
    assert set(EXPECTED) - in_spec == set(), "rows for operations the document does not have"
    assert in_spec - set(EXPECTED) == set(), "operations without a row in EXPECTED"


def test_matrix_covers_every_operation_the_server_serves(api):
    r = api.get("/api/v1/openapi.yaml")
    assert r.status == 200
    assert support.spec_operations(r.body.decode("utf-8")) == set(EXPECTED)


def test_matrix_agrees_with_the_route_tables():
    """The roles each route names in server/src/api_*.c, seen from outside:
    public routes serve everyone, admin routes refuse everyone else, and no
    route serves an ended session."""
    routes = support.server_routes()
    assert set(routes) == set(EXPECTED), set(routes) ^ set(EXPECTED)
    for op, roles in routes.items():
        row = dict(zip(CALLERS, EXPECTED[op]))
        if roles == {"ROLE_PUBLIC"}:
            assert all(ok(s) for s in row.values()), op
            continue
        assert row["anonymous"] == 401 and row["ended_session"] == 401, op
        for caller in CALLERS:
            if IDENTITY[caller] is None:
                continue
            admitted = roles == {"ROLE_ANY_USER"} or f"ROLE_{IDENTITY[caller][1].upper()}" in roles
            assert (row[caller] not in (401, 403)) == admitted, (op, caller, roles)


# --- the caller is checked before the body -----------------------------------------


@pytest.mark.parametrize("caller,status", [("anonymous", 401), ("hotline", 403), ("admin", None)])
def test_a_refused_callers_body_is_never_examined(ctx, direct, caller, status):
    """Authorisation comes before body checks: a caller who may not call
    learns nothing from the body's media type or syntax, and the refusal is
    audited; an admitted caller gets the body checks (415, then 400).
    Straight to the server: the proxy answers malformed JSON itself."""
    slug = {401: "unauthorized", 403: "forbidden"}.get(status)
    for content_type, body, admitted, admitted_slug in [
        ("text/plain", b"{}", 415, "unsupported-media-type"),
        ("application/json", b"{not json", 400, "malformed-json"),
    ]:
        rid = "authz-body-" + secrets.token_hex(6)
        headers = {**ctx.callers[caller], "Content-Type": content_type, "X-Request-Id": rid}
        r = direct.request("POST", "/api/v1/users", headers=headers, body=body)
        assert_problem(r, status or admitted, slug or admitted_slug)
        entry = audit_entry(ctx.api, ctx.admin.auth, rid, object_type="route", object_id="POST /api/v1/users")
        if status is None:
            assert entry is None, entry
        else:
            assert entry is not None and entry["status"] == status, entry


def test_a_role_change_takes_effect_at_once(ctx):
    """Authorisation reads the role on every request: a demoted
    administrator's live session and API token are refused at once."""
    p = support.signed_in(ctx.api, support.create_user(ctx.api, ctx.admin.auth, "admin", prefix="demoted"))
    token = support.issue_api_token(ctx.api, ctx.admin.auth, p.id, name="demoted")["token"]
    assert ctx.api.get("/api/v1/users?limit=1", headers=p.auth).status == 200
    assert ctx.api.get("/api/v1/users?limit=1", headers=bearer(token)).status == 200
    r = ctx.api.request("PATCH", f"/api/v1/users/{p.id}", headers=ctx.admin.auth, json_body={"role": "hotline"})
    assert r.status == 200 and r.json()["role"] == "hotline", r
    for headers in (p.auth, bearer(token)):
        assert_problem(ctx.api.get("/api/v1/users?limit=1", headers=headers), 403, "forbidden")
        me = ctx.api.get("/api/v1/me", headers=headers)
        assert me.status == 200 and me.json()["user"]["role"] == "hotline", me
