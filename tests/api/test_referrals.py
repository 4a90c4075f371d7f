"""Referrals (转介) from the 12338 hotline and other bodies, on an
installation of its own: intake exactly once under an Idempotency-Key,
routing to the least-loaded committee of the county (else the city's
guidance committee), declines and re-routing until the referral is returned
to the hotline, take-up as a case, what the hotline operator follows of it
and what others see, service levels and the overdue list, the repeat-caller
look-up, open referrals among a case's duplicates, list filters, validation,
and a pg_dump that holds none of the callers' details."""

import datetime
import itertools
import json
import secrets
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from support import (
    Installation,
    assert_problem,
    audit_entries,
    bearer,
    clean_env,
    create_user,
    issue_api_token,
    signed_in,
)

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"

ADMISSIBLE = {"before_court": False, "before_police": False, "marriage_status": False, "identity": False}

# What anyone who may see a referral is told of it.
META = {
    "id", "source", "county_code", "dispute_type", "urgency", "status", "target_committee_id", "committee_id",
    "case_id", "case_number", "case_status", "outcome", "created_at", "routed_at", "due_at", "overdue",
    "accepted_at", "safety_guidance", "purged", "version",
}
SEALED = {"caller_name", "caller_phone", "summary"}
# One referral, as its operator, its committee's mediators or a purposeful administrator read it.
FULL = META | SEALED | {"declines"}

OMIT = object()
_serial = itertools.count(1)


def new_key():
    return "12338-" + secrets.token_hex(12)


def intake(**fields):
    """A referral's body with a caller nobody else in the run has; OMIT drops a member."""
    n = next(_serial)
    body = {
        "source": "hotline_12338",
        "caller_name": f"来电人{n:05d}",
        "caller_phone": f"1367{n:07d}",
        "county_code": "450202",
        "dispute_type": "divorce",
        "summary": f"来电摘要{n:05d}：丈夫长期不回家，要求调解离婚事宜",
        **fields,
    }
    return {k: v for k, v in body.items() if v is not OMIT}


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def auth_of(who):
    return who.auth if hasattr(who, "auth") else dict(who)


def post(t, who, body, key=None, client=None, headers=None):
    h = auth_of(who)
    if key is not None:
        h["Idempotency-Key"] = key
    h.update(headers or {})
    return (client or t.api).post("/api/v1/referrals", headers=h, json_body=body)


def opened(t, who=None, target="a", **fields):
    """A new referral (201), targeted at committee `target` (None: routed): its document."""
    who = who or t.hotline
    if target is not None and "target_committee_id" not in fields:
        fields["target_committee_id"] = t.committee[target]
    body = intake(**fields)
    r = post(t, who, body, key=new_key())
    assert r.status == 201, r
    doc = r.json()
    assert r.header("Location") == f"/api/v1/referrals/{doc['id']}"
    return doc


def get(t, who, rid, headers=None, client=None):
    h = auth_of(who)
    h.update(headers or {})
    return (client or t.api).get(f"/api/v1/referrals/{rid}", headers=h)


def read(t, who, rid, headers=None):
    r = get(t, who, rid, headers)
    assert r.status == 200, r
    return r.json()


def act(t, who, rid, action, body, client=None):
    return (client or t.api).post(f"/api/v1/referrals/{rid}/{action}", headers=auth_of(who), json_body=body)


def decline(t, who, rid, reason="本委人手不足，请转其他调委会", client=None):
    return act(t, who, rid, "decline", {"reason": reason}, client)


def declined(t, who, rid, reason="本委人手不足，请转其他调委会"):
    r = decline(t, who, rid, reason)
    assert r.status == 204 and r.body == b"", r
    return read(t, t.admin, rid)


def accept(t, who, rid, body=None, client=None):
    return act(t, who, rid, "accept", {} if body is None else body, client)


def accepted(t, who, rid, body=None):
    """Takes a referral up: (the case, its ETag)."""
    r = accept(t, who, rid, body)
    assert r.status == 201, r
    case = r.json()
    assert r.header("Location") == f"/api/v1/cases/{case['id']}"
    assert r.header("ETag") == f'"{case["version"]}"', r
    return case, r.header("ETag")


def listing(t, who, **query):
    """Every item of GET /api/v1/referrals with query, paging with next_after."""
    items, after = [], None
    for _ in range(100):
        q = dict(query, **({"after": after} if after is not None else {}))
        r = t.api.get("/api/v1/referrals?" + urlencode(q), headers=auth_of(who))
        assert r.status == 200, r
        page = r.json()
        assert set(page) == {"items", "next_after"}, page
        items += page["items"]
        after = page["next_after"]
        if after is None:
            return items
    raise AssertionError("the listing did not end")


def listed_ids(t, who, **query):
    return [x["id"] for x in listing(t, who, limit=1000, **query)]


def referral_count(t):
    return int(t.psql("SELECT count(*) FROM referrals"))


def key_count(t):
    return int(t.psql("SELECT count(*) FROM idempotency_keys"))


def referral_audit(t, rid, action=None):
    entries = audit_entries(t.api, t.admin.auth, object_type="referral", object_id=str(rid), limit=1000)
    return [e for e in entries if action is None or e["action"] == action]


def entry_of(entries, resp):
    found = [e for e in entries if e["request_id"] == resp.header("X-Request-Id")]
    assert len(found) == 1, (found, resp)
    return found[0]


# --- cases, for loads and for taking referrals up -------------------------------------------


def party(n, **fields):
    return {"role": "applicant", "name": f"当事人{n}", "phone": f"1590{n:07d}", **fields}


def new_case(t, who, committee, parties=None, **fields):
    n = next(_serial)
    body = {"committee_id": t.committee[committee], "source": "walk_in", "dispute_type": "divorce",
            "parties": parties or [party(n)], **fields}
    r = t.api.post("/api/v1/cases", headers=who.auth, json_body=body)
    assert r.status == 201, r
    return r.json(), r.header("ETag")


def move(t, who, case_id, etag, to, **body):
    r = t.api.post(f"/api/v1/cases/{case_id}/transitions", headers={**who.auth, "If-Match": etag},
                   json_body={"to": to, **body})
    assert r.status == 200, r
    assert r.json()["status"] == to
    return r.json(), r.header("ETag")


# --- the town ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def town(cluster, logdir):
    with Installation.running(cluster, logdir, TIAOJIE_WORKERS="8") as inst:
        a = inst.admin.auth
        inst.today = inst.psql("SELECT civil_today()")
        inst.committee = {}
        for key, code, kind, extra in (
            ("a", "450202", "committee", {}),  # 城中区: the hotline's everyday committee
            ("b", "450202", "room", {}),
            ("g", "450200", "guidance", {}),  # the city's guidance committee
            ("p", "450203", "committee", {}),  # 鱼峰区: routing by load
            ("q", "450203", "room", {}),
            ("s", "450203", "committee", {}),
            ("x", "450203", "committee", {"closed_on": "2025-01-01"}),  # closed, no cases
            ("f", "450203", "room", {"established_on": "2099-01-01"}),  # not yet open, no cases
            ("d", "450204", "committee", {}),  # 柳南区: the list filters
            ("d2", "450204", "room", {}),
            ("e", "450205", "committee", {}),  # 柳北区: service levels
            # 三江侗族自治县 (450226) has none.
        ):
            body = {"name": f"{code} 婚调{kind} {key}", "kind": kind, "region_code": code,
                    "established_on": "2020-06-18", **extra}
            r = inst.api.post("/api/v1/committees", headers=a, json_body=body)
            assert r.status == 201, r
            inst.committee[key] = r.json()["id"]

        inst.m = {}
        for key, committee in (("a1", "a"), ("a2", "a"), ("b", "b"), ("g", "g"), ("p", "p"), ("q", "q"),
                               ("s", "s")):
            body = {"name": f"调解员{key}", "full_time": True, "committees": [inst.committee[committee]]}
            r = inst.api.post("/api/v1/mediators", headers=a, json_body=body)
            assert r.status == 201, r
            inst.m[key] = r.json()["id"]

        def mediator_user(record):
            user = create_user(inst.api, a, "mediator")
            r = inst.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a,
                                 json_body={"mediator_id": inst.m[record]})
            assert r.status == 200 and r.json()["mediator_id"] == inst.m[record], r
            return signed_in(inst.api, user)

        inst.med = {key: mediator_user(key) for key in ("a1", "b", "g", "p", "q", "s")}
        inst.fed = signed_in(inst.api, create_user(inst.api, a, "federation", region="450202"))
        inst.fed_c = signed_in(inst.api, create_user(inst.api, a, "federation", region="450203"))
        inst.fed_city = signed_in(inst.api, create_user(inst.api, a, "federation", region="450200"))
        inst.hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        inst.hotline2 = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        inst.hotline_token = bearer(issue_api_token(inst.api, a, inst.hotline.id, name="12338 bridge")["token"])

        # 鱼峰区's load: p two open cases; q one open and one declined; s one open.
        admin = inst.admin
        for committee, declined_too in (("p", False), ("p", False), ("q", False), ("s", False), ("q", True)):
            case, etag = new_case(inst, admin, committee)
            if declined_too:
                move(inst, admin, case["id"], etag, "declined", reason="other")
        yield inst


# --- exactly once --------------------------------------------------------------------------------


def test_the_same_referral_posted_fifty_times_at_once_is_stored_once(town):
    t = town
    key, body = new_key(), intake(target_committee_id=town.committee["a"])
    before = referral_count(t)
    barrier = threading.Barrier(50)

    def fire(i):
        # A few through the validating proxy, the rest straight to the server.
        client = t.api if i % 10 == 0 else t.direct
        barrier.wait(timeout=30)
        return client, post(t, t.hotline, body, key=key, client=client)

    with ThreadPoolExecutor(50) as pool:
        answers = list(pool.map(fire, range(50)))

    assert {r.status for _, r in answers} <= {201, 409}, [r for _, r in answers if r.status not in (201, 409)]
    created = [(c, r) for c, r in answers if r.status == 201]
    assert created, "no request got the referral's answer"
    for _, r in answers:
        if r.status == 409:
            assert_problem(r, 409, "conflict")
            assert r.header("Retry-After") == "1", r
    first = created[0][1]
    doc = first.json()
    for _, r in created:
        assert r.body == first.body
        assert r.header("Location") == f"/api/v1/referrals/{doc['id']}"
    assert any(c is t.api for c, _ in answers)
    assert referral_count(t) == before + 1
    assert t.psql(f"SELECT count(*) FROM referrals WHERE created_by = {t.hotline.id} AND id = {doc['id']}") == "1"
    assert t.psql(f"SELECT referral_id FROM idempotency_keys WHERE user_id = {t.hotline.id}"
                  f" AND key = '{key}'") == str(doc["id"])
    assert len(referral_audit(t, doc["id"], "referral.create")) == 1
    assert (doc["caller_name"], doc["caller_phone"], doc["summary"]) == (
        body["caller_name"], body["caller_phone"], body["summary"])

    # Repeated later: the first answer again, byte for byte, and nothing new.
    again = post(t, t.hotline, body, key=key, client=t.direct)
    assert (again.status, again.body, again.header("Location")) == (201, first.body, first.header("Location"))
    again = post(t, t.hotline, body, key=key)
    assert (again.status, again.body, again.header("Location")) == (201, first.body, first.header("Location"))
    # The same body spelled differently is the same request; the operator's API token is the operator.
    spelled = json.dumps(dict(reversed(list(body.items()))), ensure_ascii=False, indent=2)
    again = t.direct.post("/api/v1/referrals", body=spelled, headers={
        **t.hotline_token, "Idempotency-Key": key, "Content-Type": "application/json"})
    assert (again.status, again.body) == (201, first.body)
    assert referral_count(t) == before + 1
    assert len(referral_audit(t, doc["id"], "referral.create")) == 1

    # Another referral under the same key: refused, nothing stored.
    other = dict(body, summary="另一通来电的摘要")
    assert_problem(post(t, t.hotline, other, key=key), 422, "unprocessable")
    assert_problem(post(t, t.hotline_token, dict(body, urgency="urgent"), key=key), 422, "unprocessable")
    assert referral_count(t) == before + 1

    # Another operator's key is their own.
    theirs = post(t, t.hotline2, body, key=key)
    assert theirs.status == 201, theirs
    assert theirs.json()["id"] != doc["id"]
    assert referral_count(t) == before + 2
    assert post(t, t.hotline2, body, key=key).json()["id"] == theirs.json()["id"]
    assert post(t, t.hotline, body, key=key).json()["id"] == doc["id"]
    assert referral_count(t) == before + 2


def test_a_key_in_flight_is_a_conflict_and_one_abandoned_for_a_minute_is_taken_over(town):
    t = town
    body = intake(target_committee_id=t.committee["a"])
    done = post(t, t.hotline, body, key=new_key())
    assert done.status == 201, done
    # Another key claimed for the same body, as by a request still being served (or one whose process died).
    key = new_key()
    t.psql(f"INSERT INTO idempotency_keys (user_id, key, request_hash) SELECT user_id, '{key}', request_hash"
           f" FROM idempotency_keys WHERE referral_id = {done.json()['id']}")
    before = referral_count(t)
    for client in (t.api, t.direct):
        r = post(t, t.hotline, body, key=key, client=client)
        assert_problem(r, 409, "conflict")
        assert r.header("Retry-After") == "1", r
    assert_problem(post(t, t.hotline, dict(body, urgency="urgent"), key=key), 422, "unprocessable")
    t.psql(f"UPDATE idempotency_keys SET claimed_at = now() - interval '50 seconds' WHERE key = '{key}'")
    assert_problem(post(t, t.hotline, body, key=key), 409, "conflict")
    assert referral_count(t) == before
    t.psql(f"UPDATE idempotency_keys SET claimed_at = now() - interval '61 seconds' WHERE key = '{key}'")
    taken = post(t, t.hotline, body, key=key)
    assert taken.status == 201, taken
    assert taken.json()["id"] != done.json()["id"] and referral_count(t) == before + 1
    again = post(t, t.hotline, body, key=key, client=t.direct)
    assert (again.status, again.json()) == (201, taken.json())
    assert referral_count(t) == before + 1


@pytest.mark.parametrize("key", [None, "", "two words", "k" * 256, "caf\xe9"],
                         ids=["missing", "empty", "space", "too-long", "not-ascii"])
def test_a_referral_needs_a_good_idempotency_key_and_stores_nothing_without_one(town, key):
    t = town
    before, keys = referral_count(t), key_count(t)
    r = post(t, t.hotline, intake(target_committee_id=t.committee["a"]), key=key, client=t.direct)
    assert_problem(r, 400, "bad-request")
    assert (referral_count(t), key_count(t)) == (before, keys)


def test_the_longest_idempotency_key_is_taken(town):
    key = "K" * 255
    r = post(town, town.hotline, intake(target_committee_id=town.committee["a"]), key=key)
    assert r.status == 201, r
    assert town.psql(f"SELECT referral_id FROM idempotency_keys WHERE key = '{key}'") == str(r.json()["id"])


def test_a_refused_referral_leaves_its_key_free(town):
    t = town
    before = referral_count(t)
    # Invalid (400) and unprocessable (422) attempts under one key each, then the corrected referral.
    for bad in ({"urgency": "high"}, {"county_code": "450200"}, {"target_committee_id": town.committee["p"]},
                {"caller_phone": "call me"}, {"county_code": "450299"}):
        key = new_key()
        good = intake(target_committee_id=t.committee["a"])
        r = post(t, t.hotline, {**good, **bad}, key=key)
        assert r.status in (400, 422), r
        assert_problem(r, r.status, "validation" if r.status == 400 else "unprocessable")
        assert t.psql(f"SELECT count(*) FROM idempotency_keys WHERE key = '{key}'") == "0", bad
        assert referral_count(t) == before
        r = post(t, t.hotline, good, key=key)
        assert r.status == 201, (bad, r)
        before += 1
        assert referral_count(t) == before


# --- routing -------------------------------------------------------------------------------------


def test_a_referral_goes_to_the_open_committee_of_its_county_with_the_fewest_open_cases(town):
    t, k = town, town.committee
    # p: 2 open cases; q: 1 open (and 1 declined, which does not count); s: 1 open; x closed; f not yet open.
    doc = opened(t, target=None, county_code="450203")
    assert (doc["status"], doc["committee_id"], doc["target_committee_id"]) == ("open", k["q"], None)
    assert doc["routed_at"] is not None and instant(doc["routed_at"]) >= instant(doc["created_at"])
    # One more open case at q: now s has fewer; once that case ends, q again (the tie, lowest id).
    case, etag = new_case(t, t.admin, "q")
    assert opened(t, target=None, county_code="450203")["committee_id"] == k["s"]
    case, etag = move(t, t.admin, case["id"], etag, "accepted", admissibility=ADMISSIBLE)
    assert opened(t, target=None, county_code="450203")["committee_id"] == k["s"]
    move(t, t.admin, case["id"], etag, "withdrawn")
    assert opened(t, target=None, county_code="450203")["committee_id"] == k["q"]


def test_a_named_target_is_honoured_and_must_be_an_open_committee_of_the_county(town):
    t, k = town, town.committee
    assert opened(t, target="p", county_code="450203")["committee_id"] == k["p"]
    assert opened(t, target="b")["committee_id"] == k["b"]
    doc = opened(t, target="g", county_code="450203")  # the city's guidance committee, by choice
    assert (doc["committee_id"], doc["target_committee_id"]) == (k["g"], k["g"])
    before = referral_count(t)
    for target in (k["x"], k["f"], k["a"], 999999999):
        r = post(t, t.hotline, intake(county_code="450203", target_committee_id=target), key=new_key())
        assert_problem(r, 422, "unprocessable")
    for county in ("450200", "450000", "450299", "450203001"):
        r = post(t, t.hotline, intake(county_code=county), key=new_key())
        assert_problem(r, 422, "unprocessable")
    assert referral_count(t) == before


def test_a_county_without_a_committee_sends_its_referrals_to_the_guidance_committee(town):
    t, k = town, town.committee

    def to_guidance(code):
        r = t.api.get("/api/v1/coverage?region=450200", headers=t.admin.auth)
        assert r.status == 200, r
        (county,) = [c for c in r.json()["counties"] if c["region_code"] == code]
        return county["referrals_to_guidance"]

    gaps, elsewhere = to_guidance("450226"), to_guidance("450202")
    one = opened(t, target=None, county_code="450226", dispute_type="custody")
    two = opened(t, target=None, county_code="450226")
    assert (one["status"], one["committee_id"], two["committee_id"]) == ("open", k["g"], k["g"])
    opened(t, target=None, county_code="450202")  # 城中区 has committees of its own
    assert to_guidance("450226") == gaps + 2
    assert to_guidance("450202") == elsewhere
    assert to_guidance("450226") == int(t.psql("SELECT count(*) FROM referrals WHERE county_code = '450226'"))
    r = t.api.get("/api/v1/coverage?region=450226", headers=t.admin.auth)
    assert r.status == 200 and r.json()["counties"][0]["referrals_to_guidance"] == gaps + 2, r

    # The guidance committee's mediator takes it up: a case of the county, numbered there.
    assert one["id"] in listed_ids(t, t.med["g"])
    case, _ = accepted(t, t.med["g"], one["id"])
    assert (case["committee_id"], case["county_code"], case["referral_id"]) == (k["g"], "450226", one["id"])
    assert case["number"].startswith("450226-"), case["number"]
    after = read(t, t.hotline, one["id"])
    assert (after["status"], after["case_number"], after["committee_id"]) == ("accepted", case["number"], k["g"])
    assert to_guidance("450226") == gaps + 2


# --- declines ------------------------------------------------------------------------------------


def test_declines_move_the_referral_on_until_it_is_returned_to_the_hotline(town):
    t, k, med = town, town.committee, town.med
    doc = opened(t, target=None, county_code="450203", dispute_type="elder_support")
    rid = doc["id"]
    assert doc["committee_id"] == k["q"] and doc["declines"] == []
    reasons = {"q": "当事人住所不在本辖区", "s": "调解员均在外培训", "p": "与当事人有利害关系",
               "g": "建议转法院"}
    order = []
    for here, then in (("q", "s"), ("s", "p"), ("p", "g"), ("g", None)):
        # Only the mediators of the committee holding it see it and act on it.
        for other in ("q", "s", "p", "g"):
            if other != here:
                assert_problem(get(t, med[other], rid), 404, "not-found")
                assert_problem(decline(t, med[other], rid), 404, "not-found")
                assert_problem(accept(t, med[other], rid), 404, "not-found")
        assert rid in listed_ids(t, med[here])
        r = decline(t, med[here], rid, reasons[here])
        assert r.status == 204 and r.body == b"", r
        order.append(here)
        after = read(t, t.admin, rid)
        assert rid not in listed_ids(t, med[here])
        assert [(d["committee_id"], d["reason"]) for d in after["declines"]] == [(k[c], reasons[c]) for c in order]
        ats = [instant(d["at"]) for d in after["declines"]]
        assert ats == sorted(ats) and ats[0] >= instant(doc["created_at"])
        assert after["due_at"] == doc["due_at"]  # a decline does not move the deadline
        if then is None:
            assert (after["status"], after["committee_id"]) == ("returned", None)
        else:
            assert (after["status"], after["committee_id"]) == ("open", k[then])
            assert rid in listed_ids(t, med[then])
    entries = referral_audit(t, rid, "referral.decline")
    assert sorted(e["actor_id"] for e in entries) == sorted(med[c].id for c in order)

    # Returned: nobody can take it up or decline it; the operator sees the declines and sends it on.
    assert_problem(decline(t, t.admin, rid), 409, "conflict")
    assert_problem(accept(t, t.admin, rid), 409, "conflict")
    for c in ("q", "s", "p", "g"):
        assert_problem(accept(t, med[c], rid), 404, "not-found")
    mine = read(t, t.hotline, rid)
    assert (mine["status"], mine["committee_id"], len(mine["declines"])) == ("returned", None, 4)
    assert rid in listed_ids(t, t.hotline, status="returned")
    route = f"/api/v1/referrals/{rid}/route"
    for target in (k["a"], k["x"], k["f"], 999999999):
        assert_problem(t.api.post(route, headers=t.hotline.auth, json_body={"committee_id": target}),
                       422, "unprocessable")
    for body in ({}, {"committee_id": "q"}, {"committee_id": 0}, {"committee_id": k["q"], "note": "x"}):
        assert_problem(t.api.post(route, headers=t.hotline.auth, json_body=body), 400, "validation")
    assert_problem(t.api.post(route, headers=t.hotline2.auth, json_body={"committee_id": k["q"]}), 404, "not-found")
    assert_problem(t.api.post(route, headers=med["q"].auth, json_body={"committee_id": k["q"]}), 403, "forbidden")
    assert_problem(t.api.post(route, headers=t.fed_c.auth, json_body={"committee_id": k["q"]}), 403, "forbidden")
    assert read(t, t.admin, rid)["status"] == "returned"

    # A day later, it is sent on: due again 24 hours from then.
    t.psql(f"UPDATE referrals SET due_at = due_at - interval '1 day', created_at = created_at - interval '1 day'"
           f" WHERE id = {rid}")
    r = t.api.post(route, headers=t.hotline.auth, json_body={"committee_id": k["s"]})
    assert r.status == 200, r
    sent = r.json()
    assert (sent["status"], sent["committee_id"], sent["id"], sent["overdue"]) == ("open", k["s"], rid, False)
    assert instant(sent["due_at"]) - instant(sent["routed_at"]) == datetime.timedelta(hours=24)
    assert t.psql(f"SELECT extract(epoch FROM due_at - routed_at) FROM referrals WHERE id = {rid}") in (
        "86400", "86400.000000")
    assert set(sent) == FULL and sent["caller_name"] == doc["caller_name"] and len(sent["declines"]) == 4
    assert sent["version"] > mine["version"] and instant(sent["routed_at"]) >= instant(mine["routed_at"])
    assert len(referral_audit(t, rid, "referral.route")) == 1
    assert rid in listed_ids(t, med["s"])
    # Only a returned referral is sent on.
    assert_problem(t.api.post(route, headers=t.hotline.auth, json_body={"committee_id": k["q"]}), 409, "conflict")
    assert read(t, t.admin, rid)["committee_id"] == k["s"]
    case, etag = accepted(t, med["s"], rid)
    assert_problem(t.api.post(route, headers=t.hotline.auth, json_body={"committee_id": k["q"]}), 409, "conflict")
    # The case ends, so that s's load is as it was.
    case, etag = move(t, med["s"], case["id"], etag, "accepted", admissibility=ADMISSIBLE)
    move(t, med["s"], case["id"], etag, "withdrawn")


def test_a_decline_needs_a_short_reason_and_the_referral_s_committee(town):
    t = town
    rid = opened(t)["id"]
    for body in ({}, {"reason": ""}, {"reason": "x" * 201}, {"reason": 5}, {"reason": "忙", "note": "x"}):
        assert_problem(act(t, t.med["a1"], rid, "decline", body), 400, "validation")
    assert_problem(decline(t, t.med["b"], rid), 404, "not-found")
    assert_problem(decline(t, t.hotline, rid), 403, "forbidden")
    assert_problem(decline(t, t.fed, rid), 403, "forbidden")
    doc = read(t, t.admin, rid)
    assert (doc["status"], doc["committee_id"], doc["declines"]) == ("open", t.committee["a"], [])
    # The longest reason is taken; the referral moves on to the other committee of the county.
    doc = declined(t, t.med["a1"], rid, "因" * 200)
    assert doc["committee_id"] == t.committee["b"] and doc["declines"][0]["reason"] == "因" * 200


def test_concurrent_declines_of_one_committee_count_once(town):
    t = town
    rid = opened(t)["id"]
    barrier = threading.Barrier(8)

    def fire(i):  # a double click, eight times over (straight to the server: the proxy would space them out)
        barrier.wait(timeout=30)
        return decline(t, t.med["a1"], rid, f"第{i}次点击", client=t.direct)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(fire, range(8)))
    doc = read(t, t.admin, rid)
    assert (doc["status"], doc["committee_id"]) == ("open", t.committee["b"])
    # One committee, one decision: recorded and audited once, answered 204 once.
    assert [d["committee_id"] for d in doc["declines"]] == [t.committee["a"]], (answers, doc["declines"])
    assert len(referral_audit(t, rid, "referral.decline")) == 1
    assert [r.status for r in answers].count(204) == 1, answers
    for r in answers:
        if r.status == 409:
            assert_problem(r, 409, "conflict")
        elif r.status == 404:  # a mediator of a committee it has left
            assert_problem(r, 404, "not-found")
        else:
            assert r.status == 204, r


# --- take-up -------------------------------------------------------------------------------------


def test_an_urgent_domestic_violence_referral_becomes_a_high_risk_case(town):
    t = town
    doc = opened(t, dispute_type="domestic_violence", urgency="urgent", source="police")
    rid = doc["id"]
    assert set(doc) == FULL
    assert isinstance(doc["safety_guidance"], str) and "110" in doc["safety_guidance"], doc
    assert read(t, t.med["a1"], rid)["safety_guidance"] == doc["safety_guidance"]
    assert [e["action"] for e in referral_audit(t, rid, "referral.create")] == ["referral.create"]
    assert referral_audit(t, rid, "referral.create")[0]["actor_id"] == t.hotline.id

    cases_before = int(t.psql("SELECT count(*) FROM cases"))
    r = accept(t, t.med["a1"], rid)
    assert r.status == 201, r
    case = r.json()
    assert r.header("Location") == f"/api/v1/cases/{case['id']}" and r.header("ETag") == f'"{case["version"]}"'
    assert (case["source"], case["dispute_type"], case["summary"], case["referral_id"]) == (
        "police", "domestic_violence", doc["summary"], rid)
    assert (case["committee_id"], case["county_code"], case["status"], case["lead_mediator_id"]) == (
        t.committee["a"], "450202", "registered", t.m["a1"])
    assert case["domestic_violence"]["flag"] is True and case["domestic_violence"]["risk"] == "high"
    assert [(p["role"], p["name"], p["phone"]) for p in case["parties"]] == [
        ("applicant", doc["caller_name"], doc["caller_phone"])]
    assert instant(case["received_at"]) == instant(doc["created_at"])
    assert rid not in [x["id"] for x in case["duplicates"]["referrals"]]
    assert int(t.psql("SELECT count(*) FROM cases")) == cases_before + 1

    after = read(t, t.hotline, rid)
    assert (after["status"], after["case_id"], after["case_number"], after["case_status"], after["outcome"]) == (
        "accepted", case["id"], case["number"], "registered", None)
    assert after["accepted_at"] is not None and after["overdue"] is False
    assert after["committee_id"] == t.committee["a"]
    (entry,) = referral_audit(t, rid, "referral.accept")
    assert entry["actor_id"] == t.med["a1"].id and entry["request_id"] == r.header("X-Request-Id")

    # Taken up once only; nor declined afterwards.
    assert_problem(accept(t, t.med["a1"], rid), 409, "conflict")
    assert_problem(accept(t, t.admin, rid), 409, "conflict")
    assert_problem(decline(t, t.med["a1"], rid), 409, "conflict")
    assert_problem(accept(t, t.med["b"], rid), 404, "not-found")
    assert int(t.psql("SELECT count(*) FROM cases")) == cases_before + 1
    assert read(t, t.admin, rid)["case_id"] == case["id"]


@pytest.mark.parametrize("dispute, urgency, flag, risk", [
    ("domestic_violence", "normal", True, None),
    ("custody", "urgent", False, None),
    ("inheritance", "normal", False, None),
])
def test_safety_guidance_is_for_urgent_domestic_violence_only(town, dispute, urgency, flag, risk):
    t = town
    doc = opened(t, dispute_type=dispute, urgency=urgency, caller_phone=None, summary=None)
    assert doc["safety_guidance"] is None and (doc["caller_phone"], doc["summary"]) == (None, None)
    case, _ = accepted(t, t.med["a1"], doc["id"])
    assert (case["domestic_violence"]["flag"], case["domestic_violence"]["risk"]) == (flag, risk)
    assert (case["dispute_type"], case["summary"], case["source"]) == (dispute, None, "hotline_12338")
    assert [(p["name"], p["phone"]) for p in case["parties"]] == [(doc["caller_name"], None)]


def test_a_referral_is_taken_up_with_a_lead_mediator_of_the_committee_only(town):
    t = town
    rid = opened(t)["id"]
    for body in ({"lead_mediator_id": "a2"}, {"lead_mediator_id": 0}, {"colour": "red"}):
        assert_problem(accept(t, t.med["a1"], rid, body), 400, "validation")
    assert_problem(accept(t, t.med["a1"], rid, {"lead_mediator_id": t.m["b"]}), 422, "unprocessable")
    assert_problem(accept(t, t.hotline, rid), 403, "forbidden")
    assert_problem(accept(t, t.fed, rid), 403, "forbidden")
    assert read(t, t.admin, rid)["status"] == "open"
    case, _ = accepted(t, t.med["a1"], rid, {"lead_mediator_id": t.m["a2"]})
    assert case["lead_mediator_id"] == t.m["a2"]


def test_concurrent_take_ups_make_one_case(town):
    t = town
    rid = opened(t)["id"]
    before = int(t.psql("SELECT count(*) FROM cases"))
    barrier = threading.Barrier(6)

    def fire(i):  # straight to the server: the proxy would space them out
        barrier.wait(timeout=30)
        return accept(t, t.med["a1"] if i % 2 else t.admin, rid, client=t.direct)

    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(fire, range(6)))
    statuses = sorted(r.status for r in answers)
    errors = [line for line in t.server.log_lines() if f"referral {rid}" in line or "storing a case" in line]
    assert statuses == [201] + [409] * 5, (answers, errors[-5:])
    for r in answers:
        if r.status == 409:
            assert_problem(r, 409, "conflict")
    assert int(t.psql("SELECT count(*) FROM cases")) == before + 1
    (won,) = [r for r in answers if r.status == 201]
    assert t.psql(f"SELECT id FROM cases WHERE referral_id = {rid}") == str(won.json()["id"])
    assert len(referral_audit(t, rid, "referral.accept")) == 1


# --- what the hotline sees -------------------------------------------------------------------------


def test_the_operator_follows_the_referral_to_the_agreement_and_sees_nothing_of_the_case(town):
    t, med = town, town.med["a1"]
    doc = opened(t, dispute_type="child_support")
    rid = doc["id"]
    case, etag = accepted(t, med, rid)
    cid = case["id"]
    case, etag = move(t, med, cid, etag, "accepted", admissibility=ADMISSIBLE)
    case, etag = move(t, med, cid, etag, "in_mediation")
    outcome = {"result": "agreement", "agreement_form": "written", "agreement": "男方每月支付抚养费八百元",
               "effective_on": t.today}
    case, etag = move(t, med, cid, etag, "closed", outcome=outcome)

    mine = read(t, t.hotline, rid)
    assert set(mine) == FULL
    assert (mine["status"], mine["case_id"], mine["case_number"], mine["case_status"], mine["outcome"]) == (
        "accepted", cid, case["number"], "closed", "agreement")
    assert (mine["caller_name"], mine["caller_phone"], mine["summary"]) == (
        doc["caller_name"], doc["caller_phone"], doc["summary"])
    assert "男方每月支付抚养费八百元" not in json.dumps(mine, ensure_ascii=False)
    # Nothing of the case itself.
    for path in (f"/api/v1/cases/{cid}", f"/api/v1/cases/{cid}/duplicates", "/api/v1/cases"):
        assert_problem(t.api.get(path, headers=t.hotline.auth), 403, "forbidden")
        assert_problem(t.api.get(path, headers=t.hotline_token), 403, "forbidden")
    # The hotline's API token is the operator.
    r = get(t, t.hotline_token, rid)
    assert r.status == 200 and r.json() == mine, r
    assert rid in listed_ids(t, t.hotline_token) and rid in listed_ids(t, t.hotline)
    # Another operator: no such referral.
    assert_problem(get(t, t.hotline2, rid), 404, "not-found")
    assert rid not in listed_ids(t, t.hotline2)
    assert rid not in listed_ids(t, t.hotline2, status="accepted", county="450202")
    # The mediator who worked it reads it too.
    assert read(t, med, rid)["case_status"] == "closed"


def test_each_read_of_the_caller_s_details_is_audited_and_staff_see_none_of_them(town):
    t = town
    doc = opened(t)
    rid = doc["id"]

    def reads():
        return referral_audit(t, rid, "referral.read")

    for who, actor in ((t.hotline, t.hotline.id), (t.hotline_token, t.hotline.id), (t.med["a1"], t.med["a1"].id)):
        n = len(reads())
        r = get(t, who, rid)
        assert r.status == 200 and set(r.json()) == FULL, r
        assert r.json()["caller_phone"] == doc["caller_phone"]
        entry = entry_of(reads(), r)
        assert len(reads()) == n + 1
        assert (entry["actor_id"], entry["status"], entry["purpose"]) == (actor, 200, None)
        assert sorted(entry["fields"]) == ["caller_name", "caller_phone", "summary"]

    # Staff of the county (and of the city) see the referral without the caller; nothing is audited.
    n = len(reads())
    for who in (t.fed, t.fed_city, t.admin):
        r = get(t, who, rid)
        assert r.status == 200, r
        assert set(r.json()) == FULL - SEALED, r.json()
        assert {k: v for k, v in r.json().items() if k in META} == {k: v for k, v in doc.items() if k in META}
        assert rid in listed_ids(t, who, county="450202")
    assert len(reads()) == n
    assert_problem(get(t, t.fed_c, rid), 404, "not-found")
    assert rid not in listed_ids(t, t.fed_c)
    assert_problem(get(t, t.med["b"], rid), 404, "not-found")

    # An administrator who states a purpose.
    r = get(t, t.admin, rid, headers={"X-Access-Purpose": "12338 complaint review 2026-31"})
    assert r.status == 200 and set(r.json()) == FULL, r
    assert r.json()["caller_name"] == doc["caller_name"]
    entry = entry_of(reads(), r)
    assert (entry["actor_id"], entry["purpose"]) == (t.admin.id, "12338 complaint review 2026-31")
    assert sorted(entry["fields"]) == ["caller_name", "caller_phone", "summary"]

    # Only the members on file are read.
    bare = opened(t, caller_phone=None, summary=None)
    r = get(t, t.hotline, bare["id"])
    assert (r.json()["caller_phone"], r.json()["summary"]) == (None, None)
    assert entry_of(referral_audit(t, bare["id"], "referral.read"), r)["fields"] == ["caller_name"]


def test_lists_never_carry_the_caller(town):
    t = town
    doc = opened(t)
    for who in (t.hotline, t.med["a1"], t.admin, t.fed):
        (item,) = [x for x in listing(t, who, limit=1000, county="450202") if x["id"] == doc["id"]]
        assert set(item) == META, item
        assert doc["caller_name"] not in json.dumps(item, ensure_ascii=False)


def test_who_may_do_what(town):
    t = town
    rid = opened(t)["id"]
    for who in (t.med["a1"], t.fed):
        assert_problem(post(t, who, intake(target_committee_id=t.committee["a"]), key=new_key()), 403, "forbidden")
        assert_problem(t.api.post("/api/v1/referrals/callers", headers=who.auth, json_body={"phone": "13800138000"}),
                       403, "forbidden")
    assert_problem(t.api.get("/api/v1/referrals"), 401, "unauthorized")
    assert_problem(t.api.get(f"/api/v1/referrals/{rid}"), 401, "unauthorized")
    assert_problem(post(t, {}, intake(), key=new_key()), 401, "unauthorized")
    assert_problem(get(t, t.admin, "abc"), 400, "bad-request")
    assert_problem(get(t, t.admin, 999999999), 404, "not-found")
    # An administrator may open one (for a body that has no operator of its own).
    doc = opened(t, who=t.admin, source="court")
    assert "caller_name" not in doc  # stated no purpose
    assert read(t, t.admin, doc["id"])["source"] == "court"


# --- service levels ---------------------------------------------------------------------------------


def due_hours(t, rid):
    return float(t.psql(f"SELECT extract(epoch FROM due_at - created_at) / 3600 FROM referrals WHERE id = {rid}"))


def same_instant(t, rid, column, text):
    epoch = float(t.psql(f"SELECT extract(epoch FROM {column}) FROM referrals WHERE id = {rid}"))
    return abs(instant(text).timestamp() - epoch) < 1e-5


def test_a_referral_is_due_within_24_hours_or_2_when_urgent(town):
    t = town
    normal, urgent = opened(t), opened(t, urgency="urgent")
    for doc, hours in ((normal, 24), (urgent, 2)):
        assert due_hours(t, doc["id"]) == hours
        assert instant(doc["due_at"]) - instant(doc["created_at"]) == datetime.timedelta(hours=hours)
        assert same_instant(t, doc["id"], "created_at", doc["created_at"])
        assert same_instant(t, doc["id"], "due_at", doc["due_at"])
        assert (doc["overdue"], doc["accepted_at"]) == (False, None)


def test_the_overdue_list_holds_exactly_the_open_referrals_past_due(town):
    t = town
    late, late_urgent, fresh, taken = (opened(t, target=None, county_code="450205", **f)
                                       for f in ({}, {"urgency": "urgent"}, {}, {}))
    assert {late["committee_id"], fresh["committee_id"]} == {t.committee["e"]}
    for doc in (late, late_urgent, taken):
        t.psql(f"UPDATE referrals SET due_at = now() - interval '1 minute' WHERE id = {doc['id']}")
    case, etag = accepted(t, t.admin, taken["id"])  # taken up late

    assert listed_ids(t, t.admin, county="450205", overdue="true") == [late["id"], late_urgent["id"]]
    assert listed_ids(t, t.admin, county="450205", overdue="false") == [fresh["id"], taken["id"]]
    assert listed_ids(t, t.hotline, county="450205", overdue="true") == [late["id"], late_urgent["id"]]
    everywhere = listed_ids(t, t.admin, overdue="true")
    assert everywhere == [int(x) for x in t.psql(
        "SELECT id FROM referrals WHERE status = 'open' AND due_at < now() ORDER BY id").split()]
    items = {x["id"]: x for x in listing(t, t.admin, county="450205", limit=1000)}
    assert [items[d["id"]]["overdue"] for d in (late, late_urgent, fresh, taken)] == [True, True, False, False]
    assert read(t, t.hotline, late["id"])["overdue"] is True

    # Taken up: never overdue, and when it was taken up is kept as the case moves on.
    first = read(t, t.admin, taken["id"])
    assert first["status"] == "accepted" and first["overdue"] is False
    assert instant(first["accepted_at"]) > instant(first["due_at"])
    assert same_instant(t, taken["id"], "accepted_at", first["accepted_at"])
    case, etag = move(t, t.admin, case["id"], etag, "accepted", admissibility=ADMISSIBLE)
    case, etag = move(t, t.admin, case["id"], etag, "in_mediation")
    later = read(t, t.admin, taken["id"])
    assert (later["accepted_at"], later["overdue"], later["case_status"]) == (
        first["accepted_at"], False, "in_mediation")


def test_service_levels_follow_the_settings(cluster, logdir):
    with Installation.running(cluster, logdir, TIAOJIE_REFERRAL_HOURS="72",
                              TIAOJIE_REFERRAL_URGENT_HOURS="1") as inst:
        a = inst.admin.auth
        r = inst.api.post("/api/v1/committees", headers=a, json_body={
            "name": "城中区婚调委", "kind": "committee", "region_code": "450202", "established_on": "2020-06-18"})
        assert r.status == 201, r
        inst.committee = {"a": r.json()["id"]}
        inst.hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        normal, urgent = opened(inst, target=None), opened(inst, target=None, urgency="urgent")
        assert (due_hours(inst, normal["id"]), due_hours(inst, urgent["id"])) == (72, 1)
        assert instant(normal["due_at"]) - instant(normal["created_at"]) == datetime.timedelta(hours=72)
        assert instant(urgent["due_at"]) - instant(urgent["created_at"]) == datetime.timedelta(hours=1)
        # No committee in the county and no guidance committee in the city: back to the hotline at once.
        lost = opened(inst, target=None, county_code="450226")
        assert (lost["status"], lost["committee_id"], lost["overdue"]) == ("returned", None, False)
        assert listed_ids(inst, inst.admin, overdue="true") == []
        inst.psql(f"UPDATE referrals SET due_at = now() - interval '1 second'"
                  f" WHERE id IN ({urgent['id']}, {lost['id']})")
        assert listed_ids(inst, inst.admin, overdue="true") == [urgent["id"]]
        assert listed_ids(inst, inst.hotline, overdue="false") == [normal["id"], lost["id"]]


# --- repeat callers ------------------------------------------------------------------------------------


def test_a_repeat_caller_is_found_whatever_the_spelling_of_the_phone(town):
    t = town
    phone = "13977001234"
    spellings = ["13977001234", "+86 139 7700 1234", "+8613977001234", "139-7700-1234", "008613977001234"]
    made = []
    for i, spelled in enumerate(spellings):
        who = t.hotline2 if i == 2 else t.hotline
        made.append((opened(t, who=who, caller_phone=spelled, target="a" if i % 2 else "b"), who))
    accepted(t, t.med["a1"], made[1][0]["id"])
    opened(t, caller_phone="13977001235")  # one digit apart

    path = "/api/v1/referrals/callers"
    for asked in ("+86 13977001234", "(139) 7700-1234", phone):
        r = t.api.post(path, headers=t.hotline.auth, json_body={"phone": asked})
        assert r.status == 200, r
        body = r.json()
        assert set(body) == {"items"}
        items = body["items"]
        assert [x["id"] for x in items] == sorted((d["id"] for d, _ in made), reverse=True)
        assert [x["mine"] for x in items] == [who is t.hotline for _, who in reversed(made)]
        for x in items:
            assert set(x) == META | {"mine"}, x
        assert [x["status"] for x in items if x["id"] == made[1][0]["id"]] == ["accepted"]
        entry = entry_of(audit_entries(t.api, t.admin.auth, object_type="referral", actor_id=t.hotline.id,
                                       limit=1000), r)
        assert (entry["action"], entry["fields"], entry["object_id"]) == ("referral.lookup", ["caller_phone"], None)
        assert phone not in json.dumps(entry) and phone not in json.dumps(items)

    r = t.api.post(path, headers=t.hotline2.auth, json_body={"phone": phone})
    assert [x["mine"] for x in r.json()["items"]] == [who is t.hotline2 for _, who in reversed(made)]
    r = t.api.post(path, headers=t.admin.auth, json_body={"phone": phone})
    assert len(r.json()["items"]) == len(made) and not any(x["mine"] for x in r.json()["items"])
    r = t.api.post(path, headers=t.hotline_token, json_body={"phone": phone})
    assert [x["mine"] for x in r.json()["items"]] == [who is t.hotline for _, who in reversed(made)]
    r = t.api.post(path, headers=t.hotline.auth, json_body={"phone": "13977009999"})
    assert r.status == 200 and r.json() == {"items": []}, r
    for bad in ({"phone": "call me"}, {"phone": "123456"}, {"phone": "+44 20 7946 0958"}, {"phone": 13977001234},
                {}, {"phone": phone, "name": "x"}):
        assert_problem(t.api.post(path, headers=t.hotline.auth, json_body=bad), 400, "validation")


# --- duplicates -------------------------------------------------------------------------------------


def test_a_case_lists_open_referrals_of_its_parties_in_scope_and_counts_the_others(town):
    t = town
    doc = opened(t, caller_phone="13655501234")  # open at committee a
    rid = doc["id"]
    same = {"id": rid, "status": "open", "committee_id": t.committee["a"], "matched": ["phone"]}
    case, _ = new_case(t, t.med["a1"], "a", parties=[party(next(_serial), phone="+86 136 5550 1234")])
    assert case["duplicates"]["referrals"] == [same] and case["duplicates"]["elsewhere"] == 0
    path = f"/api/v1/cases/{case['id']}/duplicates"
    for who in (t.med["a1"], t.fed, t.admin):
        r = t.api.get(path, headers=who.auth)
        assert r.status == 200 and r.json()["referrals"] == [same], r
    # From committee b (same county) the referral, like committee a's case, is elsewhere.
    other, _ = new_case(t, t.med["b"], "b", parties=[party(next(_serial), phone="136-5550-1234")])
    assert other["duplicates"] == {"cases": [], "referrals": [], "elsewhere": 2}
    r = t.api.get(f"/api/v1/cases/{other['id']}/duplicates", headers=t.med["b"].auth)
    assert r.json() == {"cases": [], "referrals": [], "elsewhere": 2}, r
    r = t.api.get(f"/api/v1/cases/{other['id']}/duplicates", headers=t.fed.auth)
    assert r.json()["referrals"] == [same] and r.json()["elsewhere"] == 0, r
    # Staff of another county see neither the case nor the referral.
    assert_problem(t.api.get(path, headers=t.fed_c.auth), 404, "not-found")
    # Taken up, the referral is no longer open: it is the new case that is found.
    taken, _ = accepted(t, t.med["a1"], rid)
    r = t.api.get(path, headers=t.med["a1"].auth)
    assert r.json()["referrals"] == [] and taken["id"] in [c["id"] for c in r.json()["cases"]], r
    assert taken["duplicates"]["referrals"] == []
    # A referral with another phone is not listed.
    opened(t, caller_phone="13655501235")
    r = t.api.get(path, headers=t.admin.auth)
    assert r.json()["referrals"] == [], r


# --- lists --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def filed(town):
    """Referrals of 柳南区 (450204), which no other test touches."""
    t, k = town, town.committee
    ids = {}
    ids["open_d"] = opened(t, target="d", county_code="450204")["id"]
    ids["court_d2"] = opened(t, target="d2", county_code="450204", source="court", urgency="urgent")["id"]
    ids["police_taken"] = opened(t, target="d", county_code="450204", source="police")["id"]
    ids["late"] = opened(t, who=t.hotline2, target="d", county_code="450204", urgency="urgent")["id"]
    ids["petition_back"] = opened(t, target="d", county_code="450204", source="petition")["id"]
    accepted(t, t.admin, ids["police_taken"])
    t.psql(f"UPDATE referrals SET due_at = now() - interval '1 minute' WHERE id = {ids['late']}")
    for _ in range(3):  # d, d2, then the guidance committee decline
        declined(t, t.admin, ids["petition_back"])
    assert read(t, t.admin, ids["petition_back"])["status"] == "returned"
    return ids


FILTERS = [
    ({}, ["open_d", "court_d2", "police_taken", "late", "petition_back"]),
    ({"status": "open"}, ["open_d", "court_d2", "late"]),
    ({"status": "accepted"}, ["police_taken"]),
    ({"status": "returned"}, ["petition_back"]),
    ({"source": "hotline_12338"}, ["open_d", "late"]),
    ({"source": "court"}, ["court_d2"]),
    ({"source": "civil_affairs"}, []),
    ({"overdue": "true"}, ["late"]),
    ({"overdue": "false"}, ["open_d", "court_d2", "police_taken", "petition_back"]),
    ({"committee": "d"}, ["open_d", "police_taken", "late"]),
    ({"committee": "d2"}, ["court_d2"]),
    ({"urgency": "urgent"}, ["court_d2", "late"]),
    ({"urgency": "normal"}, ["open_d", "police_taken", "petition_back"]),
    ({"status": "open", "urgency": "urgent", "committee": "d"}, ["late"]),
]


@pytest.mark.parametrize("query, expected", FILTERS, ids=[urlencode(q) or "none" for q, _ in FILTERS])
def test_list_filters(town, filed, query, expected):
    t = town
    q = dict(query)
    if "committee" in q:
        q["committee"] = t.committee[q["committee"]]
    names = {i: name for name, i in filed.items()}
    want = sorted(filed[name] for name in expected)
    got = listed_ids(t, t.admin, county="450204", **q)
    assert got == want, f"listed {[names.get(i, i) for i in got]}, expected {expected}"
    assert [i for i in listed_ids(t, t.admin, county="450200", **q) if i in names] == want
    assert [i for i in listed_ids(t, t.fed_city, **q) if i in names] == want
    assert not set(listed_ids(t, t.admin, county="450203", **q)) & set(names)
    assert not set(listed_ids(t, t.fed, **q)) & set(names)  # 城中区's staff
    # The operator sees their own only.
    assert listed_ids(t, t.hotline, county="450204", **q) == [i for i in want if i != filed["late"]]
    assert listed_ids(t, t.hotline2, county="450204", **q) == [i for i in want if i == filed["late"]]


def test_list_pages_follow_next_after(town, filed):
    t = town
    everything = listed_ids(t, t.admin, county="450204")
    assert everything == sorted(filed.values())
    pages, after = [], None
    while True:
        q = {"county": "450204", "limit": 2, **({"after": after} if after is not None else {})}
        r = t.api.get("/api/v1/referrals?" + urlencode(q), headers=t.admin.auth)
        assert r.status == 200, r
        page = r.json()
        ids = [x["id"] for x in page["items"]]
        pages.append(ids)
        if page["next_after"] is None:
            break
        assert page["next_after"] == ids[-1] and len(ids) == 2
        after = page["next_after"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == everything
    r = t.api.get(f"/api/v1/referrals?county=450204&after={everything[-1]}", headers=t.admin.auth)
    assert r.status == 200 and r.json() == {"items": [], "next_after": None}, r


def test_a_mediator_lists_the_referrals_at_their_committees(town, filed):
    t = town
    # None of 柳南区's referrals are at 城中区's committees.
    assert not set(listed_ids(t, t.med["a1"])) & set(filed.values())
    assert all(x["committee_id"] == t.committee["a"] for x in listing(t, t.med["a1"], limit=1000))


@pytest.mark.parametrize("query", [
    "colour=red", "status=closed", "county=45", "county=abc", "source=email", "overdue=yes", "overdue=TRUE",
    "committee=0", "committee=x", "urgency=high", "after=-1", "after=x", "limit=0", "limit=1001", "limit=ten",
    "status=open&status=accepted",
])
def test_bad_list_queries_are_refused(town, query):
    assert_problem(town.api.get(f"/api/v1/referrals?{query}", headers=town.admin.auth), 400, "bad-request")


# --- validation ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    {"colour": "red"},
    {"id": 5},
    {"status": "accepted"},
    {"committee_id": 1},
    {"source": "email"},
    {"source": OMIT},
    {"source": None},
    {"caller_name": OMIT},
    {"caller_name": ""},
    {"caller_name": "   "},
    {"caller_name": "名" * 101},
    {"caller_name": 5},
    {"caller_phone": "call me"},
    {"caller_phone": "123456"},
    {"caller_phone": "+44 20 7946 0958"},
    {"caller_phone": 13800138000},
    {"county_code": OMIT},
    {"county_code": "45"},
    {"county_code": 450202},
    {"dispute_type": "adultery"},
    {"dispute_type": OMIT},
    {"summary": "字" * 5001},
    {"summary": 5},
    {"urgency": "high"},
    {"urgency": None},
    {"target_committee_id": "1"},
    {"target_committee_id": 0},
    {"target_committee_id": -3},
])
def test_invalid_referrals_are_refused(town, fields):
    t = town
    before, keys = referral_count(t), key_count(t)
    r = post(t, t.hotline, intake(**{"target_committee_id": t.committee["a"], **fields}), key=new_key())
    assert_problem(r, 400, "validation")
    assert (referral_count(t), key_count(t)) == (before, keys)


def test_valid_edges_are_taken(town):
    t = town
    doc = opened(t, caller_name="名" * 100, summary="字" * 5000, caller_phone="0772-2823456",
                 target_committee_id=None, county_code="450226", source="civil_affairs")
    assert (len(doc["caller_name"]), len(doc["summary"]), doc["caller_phone"]) == (100, 5000, "0772-2823456")
    assert (doc["committee_id"], doc["target_committee_id"], doc["source"]) == (
        t.committee["g"], None, "civil_affairs")


# --- nothing readable in a dump -------------------------------------------------------------------------


def test_a_dump_holds_none_of_the_callers_details(town):
    t = town
    texts = []
    for i in range(30):
        target, med = (("a", t.med["a1"]), ("b", t.med["b"]))[i % 2]
        doc = opened(t, target=target, caller_name=f"转介来电人{i:03d}号", caller_phone=f"1351234{i:04d}",
                     summary=f"转介摘要{i:03d}：婆媳矛盾激化，需上门调解")
        texts += [doc["caller_name"], doc["caller_phone"], doc["summary"]]
        if i % 3 == 0:
            case, _ = accepted(t, med, doc["id"])
            assert case["parties"][0]["name"] == doc["caller_name"]
    assert len(set(texts)) == 90
    dump = subprocess.run([PG_DUMP, "--no-owner", t.url], capture_output=True, timeout=120, env=clean_env())
    assert dump.returncode == 0, dump.stderr
    assert b"COPY public.referrals" in dump.stdout and b"COPY public.idempotency_keys" in dump.stdout
    assert [s for s in texts if s.encode("utf-8") in dump.stdout] == []
    assert [s for s in texts if s.encode("utf-8").hex().encode() in dump.stdout] == []
    # The stored first answers are sealed: no JSON in them, none of the details.
    answers = t.psql("SELECT encode(response, 'hex') FROM idempotency_keys WHERE response IS NOT NULL")
    assert len(answers.split()) >= 30
    for plain in ('"caller_name"', '"summary"', "hotline_12338", *texts):
        assert plain.encode("utf-8").hex() not in answers, plain



