"""The case file (docs/CASES.md), on an installation of its own: a case from
intake to follow-up, domestic-violence safety and the expert pool, the
admissibility of a dispute, the workflow's illegal moves, versions and
concurrent writers, gapless numbers under concurrency, who sees which case
and which of its personal data (and the audit of every read of it),
duplicate parties, list filters, validation, and a pg_dump that holds none
of the personal data seeded through the API."""

import datetime
import itertools
import re
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlencode

import pytest

from support import (
    PROBLEM_KEYS,
    TITLES,
    Installation,
    assert_problem,
    audit_entries,
    clean_env,
    create_user,
    signed_in,
)

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"

ADMISSIBLE = {"before_court": False, "before_police": False, "marriage_status": False, "identity": False}
REASONS = ("before_court", "before_police", "marriage_status", "identity")

# What a caller without access to personal data must not be sent at all.
PERSONAL = {
    None: ("summary",),
    "parties": ("name", "id_number", "phone", "address"),
    "sessions": ("place", "attendees", "notes"),
    "outcome": ("agreement",),
    "followups": ("notes",),
}
ALL_FIELDS = {
    "summary", "outcome.agreement", "parties.name", "parties.id_number", "parties.phone",
    "parties.address", "sessions.place", "sessions.attendees", "sessions.notes", "followups.notes",
}
CASE_NUMBER = re.compile(r"^(\d{6})-(\d{4})-(\d{4,})$")

_serial = itertools.count(1)


def id_number(first17):
    """A resident ID number (GB 11643): 17 digits and their check character."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return first17 + "10X98765432"[sum(int(d) * w for d, w in zip(first17, weights)) % 11]


assert id_number("11010519491231002") == "11010519491231002X"


def person(role="applicant", **fields):
    """A party nobody else in the run has: own name, phone and ID number."""
    n = next(_serial)
    return {
        "role": role,
        "name": f"当事人{n:05d}号",
        "phone": f"1390{n:07d}",
        "id_number": id_number(f"4502021985{n:07d}"),
        "address": f"柳州市城中区文惠路{n}号",
        "gender": "female" if role == "applicant" else "male",
        "birth_year": 1985,
        "relationship": "配偶",
        **fields,
    }


# --- the town ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def town(cluster, logdir):
    with Installation.running(cluster, logdir, TIAOJIE_WORKERS="8") as inst:
        a = inst.admin.auth
        inst.today = inst.psql("SELECT civil_today()")
        inst.committee = {}
        for key, code, kind in (
            ("a", "450202", "committee"),  # 城中区: two mediators, an expert
            ("b", "450202", "room"),       # 城中区, another committee
            ("c", "450203", "committee"),  # 鱼峰区
            ("d", "450204", "committee"),  # 柳南区: the list filters only
            ("d2", "450204", "room"),
            ("e", "450205", "committee"),  # 柳北区: numbers across a year's end only
        ):
            body = {"name": f"{code} 婚调{kind} {key}", "kind": kind, "region_code": code,
                    "established_on": "2020-06-18"}
            r = inst.api.post("/api/v1/committees", headers=a, json_body=body)
            assert r.status == 201, r
            inst.committee[key] = r.json()["id"]

        inst.m = {}
        for key, committee, extra in (
            ("a1", "a", {}),
            ("a2", "a", {}),
            ("b", "b", {}),
            ("c", "c", {}),
            ("plain", "a", {"specialties": ["psychology"]}),
            ("x1", "a", {"expert": True, "specialties": ["psychology", "law"]}),
            ("x2", "c", {"expert": True, "specialties": ["psychology"]}),
            ("x3", "c", {"expert": True, "specialties": ["law"]}),
        ):
            body = {"name": f"调解员{key}", "full_time": True, "committees": [inst.committee[committee]], **extra}
            r = inst.api.post("/api/v1/mediators", headers=a, json_body=body)
            assert r.status == 201, r
            inst.m[key] = r.json()["id"]

        def mediator_user(record):
            user = create_user(inst.api, a, "mediator")
            if record is not None:
                r = inst.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a,
                                     json_body={"mediator_id": inst.m[record]})
                assert r.status == 200 and r.json()["mediator_id"] == inst.m[record], r
            return signed_in(inst.api, user)

        inst.med_a1 = mediator_user("a1")
        inst.med_a2 = mediator_user("a2")
        inst.med_b = mediator_user("b")
        inst.med_c = mediator_user("c")
        inst.unlinked = mediator_user(None)
        inst.fed = signed_in(inst.api, create_user(inst.api, a, "federation", region="450202"))
        inst.fed_c = signed_in(inst.api, create_user(inst.api, a, "federation", region="450203"))
        inst.fed_city = signed_in(inst.api, create_user(inst.api, a, "federation", region="450200"))
        inst.hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        yield inst


# --- making, moving and reading cases ---------------------------------------------------


def new_case(t, who, committee="a", parties=..., **fields):
    body = {
        "committee_id": t.committee[committee],
        "source": "walk_in",
        "dispute_type": "divorce",
        "parties": parties if parties is not ... else [person(), person("respondent")],
        **fields,
    }
    return t.api.post("/api/v1/cases", headers=who.auth, json_body=body)


def created(t, who, committee="a", **fields):
    """A new case: (its document, its ETag)."""
    r = new_case(t, who, committee, **fields)
    assert r.status == 201, r
    return r.json(), r.header("ETag")


def send(t, who, method, path, body=None, etag=None, headers=None):
    h = dict(who.auth)
    if etag is not None:
        h["If-Match"] = etag
    h.update(headers or {})
    return t.api.request(method, path, headers=h, json_body=body)


def done(r, status=200):
    """A successful write or read: (the case, its ETag), the ETag matching the version."""
    assert r.status == status, r
    doc = r.json()
    assert r.header("ETag") == f'"{doc["version"]}"', (r.header("ETag"), doc["version"])
    return doc, r.header("ETag")


def read(t, who, case_id, headers=None):
    return done(send(t, who, "GET", f"/api/v1/cases/{case_id}", headers=headers))


def move(t, who, case_id, etag, to, **body):
    return send(t, who, "POST", f"/api/v1/cases/{case_id}/transitions", {"to": to, **body}, etag)


def walk(t, who, case_id, etag, *steps):
    """Moves a case through steps (a status, or (status, body)); its last (document, ETag)."""
    doc = None
    for step in steps:
        to, body = (step, {}) if isinstance(step, str) else step
        if to == "accepted" and not body:
            body = {"admissibility": ADMISSIBLE}
        doc, etag = done(move(t, who, case_id, etag, to, **body))
        assert doc["status"] == to, doc
    return doc, etag


def agreement(text, effective_on, form="written"):
    return {"result": "agreement", "agreement_form": form, "agreement": text, "effective_on": effective_on}


def full_case(t, who, committee="a", tag=None, **fields):
    """A case with every kind of personal data on file: parties, a summary,
    a session, a written agreement and a follow-up. Returns (id, ETag, texts)."""
    tag = tag or f"{next(_serial):05d}"
    texts = {
        "summary": f"案情摘要{tag}：双方因抚养费产生纠纷",
        "place": f"调解室{tag}",
        "attendees": f"出席人{tag}",
        "notes": f"调解笔录{tag}：双方同意协商",
        "agreement": f"调解协议{tag}：每月支付抚养费一千元",
        "followup": f"回访记录{tag}：已按期履行",
    }
    parties = [person(), person("respondent")]
    doc, etag = created(t, who, committee, summary=texts["summary"], parties=parties, **fields)
    cid = doc["id"]
    doc, etag = walk(t, who, cid, etag, "accepted", "in_mediation")
    doc, etag = done(send(t, who, "POST", f"/api/v1/cases/{cid}/sessions", {
        "held_at": "2026-03-10T09:30:00+08:00", "place": texts["place"], "attendees": texts["attendees"],
        "notes": texts["notes"]}, etag), 201)
    doc, etag = walk(t, who, cid, etag, ("closed", {"outcome": agreement(texts["agreement"], t.today)}))
    doc, etag = done(send(t, who, "POST", f"/api/v1/cases/{cid}/followups", {
        "visited_on": t.today, "honoured": "fully", "notes": texts["followup"]}, etag), 201)
    # All of it is on file, and reads back.
    assert (doc["summary"], doc["outcome"]["agreement"], doc["followups"][0]["notes"]) == (
        texts["summary"], texts["agreement"], texts["followup"])
    assert [(s["place"], s["attendees"], s["notes"]) for s in doc["sessions"]] == [
        (texts["place"], texts["attendees"], texts["notes"])]
    assert [{k: x[k] for k in p} for x, p in zip(doc["parties"], parties)] == parties
    for p in parties:
        texts.update({f"{k}{p['name']}": p[k] for k in ("name", "phone", "id_number", "address")})
    return cid, etag, texts


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def problem_with(resp, status, slug, member):
    """A problem of this status and type carrying one extra member; its body."""
    assert resp.status == status, f"{resp!r}: expected {status}"
    assert resp.content_type == "application/problem+json", resp
    body = resp.json()
    assert body.get("type") == f"urn:tiaojie:problem:{slug}", body
    assert (body.get("title"), body.get("status")) == (TITLES[status], status), body
    assert set(body) - PROBLEM_KEYS == {member}, body
    return body


def personal_members(doc):
    """Where doc carries personal data: ["summary", "parties[0].name", ...]."""
    found = []
    for holder, names in PERSONAL.items():
        if holder is None:
            found += [n for n in names if n in doc]
            continue
        value = doc.get(holder)
        if isinstance(value, dict):
            found += [f"{holder}.{n}" for n in names if n in value]
        for i, item in enumerate(value if isinstance(value, list) else []):
            found += [f"{holder}[{i}].{n}" for n in names if n in item]
    return found


def case_reads(t, case_id):
    return [e for e in audit_entries(t.api, t.admin.auth, object_type="case", object_id=str(case_id), limit=1000)
            if e["action"] == "case.read"]


def listing(t, who, **query):
    """Every item of GET /api/v1/cases with query, paging with next_after."""
    items, after = [], None
    for _ in range(100):
        q = dict(query, **({"after": after} if after is not None else {}))
        r = send(t, who, "GET", "/api/v1/cases?" + urlencode(q))
        assert r.status == 200, r
        page = r.json()
        items += page["items"]
        after = page["next_after"]
        if after is None:
            return items
    raise AssertionError("the listing did not end")


def listed_ids(t, who, **query):
    return [c["id"] for c in listing(t, who, limit=1000, **query)]


# --- from intake to follow-up ------------------------------------------------------


def test_a_case_from_intake_through_sessions_agreement_confirmation_and_follow_up(town):
    t, med = town, town.med_a1
    parties = [person(), person("respondent")]
    r = new_case(t, med, parties=parties, summary="女方申请调解离婚后子女抚养问题", dispute_type="custody",
                 minors_involved=True, received_at="2026-03-08T09:30:00+08:00")
    c, etag = done(r, 201)
    cid = c["id"]
    path = f"/api/v1/cases/{cid}"
    assert r.header("Location") == path
    assert etag == '"1"'
    m = CASE_NUMBER.match(c["number"])
    assert m and m.group(1) == "450202" and m.group(2) == "2026", c["number"]
    assert (c["status"], c["committee_id"], c["county_code"], c["lead_mediator_id"]) == (
        "registered", t.committee["a"], "450202", t.m["a1"])
    assert (c["accepted_at"], c["due_on"], c["closed_at"], c["outcome"], c["overdue"]) == (None, None, None, None, False)
    assert c["summary"] == "女方申请调解离婚后子女抚养问题"
    assert [(p["role"], p["name"], p["phone"], p["id_number"]) for p in c["parties"]] == [
        (p["role"], p["name"], p["phone"], p["id_number"]) for p in parties]
    assert c["duplicates"] == {"cases": [], "referrals": [], "elsewhere": 0}
    assert [(e["from"], e["to"], e["actor_id"]) for e in c["events"]] == [(None, "registered", med.id)]
    versions = [c["version"]]

    # Accepted: due one month after the day of acceptance.
    c, etag = done(move(t, med, cid, etag, "accepted", admissibility=ADMISSIBLE))
    versions.append(c["version"])
    assert c["status"] == "accepted" and c["accepted_at"] is not None
    assert c["due_on"] == t.psql("SELECT (civil_today() + interval '1 month')::date")
    assert c["overdue"] is False

    c, etag = done(move(t, med, cid, etag, "in_mediation"))
    versions.append(c["version"])

    # Two sessions, the later one recorded first: the file lists them by time.
    later = {"held_at": "2026-03-20T14:00:00+08:00", "place": "城中区婚调委第二调解室", "attendees": "双方当事人",
             "notes": "第二次调解：就探视时间达成一致"}
    earlier = {"held_at": "2026-03-12T09:00:00+08:00", "place": "城中区婚调委第一调解室", "attendees": "双方及母亲",
               "notes": "第一次调解：情绪激动，约定再谈"}
    for s in (later, earlier):
        c, etag = done(send(t, med, "POST", f"{path}/sessions", s, etag), 201)
        versions.append(c["version"])
    assert [{**x, "held_at": instant(x["held_at"])} for x in c["sessions"]] == [
        {"id": x["id"], **s, "held_at": instant(s["held_at"])} for x, s in zip(c["sessions"], (earlier, later))]
    assert c["status"] == "in_mediation"

    # Closed with a written agreement.
    effective = t.today
    text = "双方自愿达成如下协议：孩子随母亲生活，父亲每月支付抚养费一千五百元。"
    c, etag = done(move(t, med, cid, etag, "closed", outcome=agreement(text, effective)))
    versions.append(c["version"])
    assert c["status"] == "closed" and c["closed_at"] is not None and c["result"] == "agreement"
    assert c["outcome"] == {"result": "agreement", "agreement_form": "written", "agreement": text,
                            "effective_on": effective}
    apply_by = (datetime.date.fromisoformat(effective) + datetime.timedelta(days=30)).isoformat()
    assert c["confirmation_apply_by"] == apply_by
    assert c["confirmation"] is None
    assert c["followup_due_on"] == t.psql("SELECT civil_today() + 30")

    # Judicial confirmation: applied, then granted.
    c, etag = done(send(t, med, "PUT", f"{path}/confirmation",
                        {"status": "applied", "applied_on": effective, "decided_on": None}, etag))
    versions.append(c["version"])
    assert c["confirmation"] == {"status": "applied", "applied_on": effective, "decided_on": None}
    c, etag = done(send(t, med, "PUT", f"{path}/confirmation",
                        {"status": "granted", "applied_on": effective, "decided_on": effective}, etag))
    versions.append(c["version"])
    assert c["confirmation"] == {"status": "granted", "applied_on": effective, "decided_on": effective}
    assert c["confirmation_apply_by"] == apply_by

    # The follow-up visit: nothing more is due.
    c, etag = done(send(t, med, "POST", f"{path}/followups",
                        {"visited_on": t.today, "honoured": "fully", "notes": "回访：抚养费按月支付"}, etag), 201)
    versions.append(c["version"])
    assert c["followup_due_on"] is None
    assert [(f["visited_on"], f["honoured"], f["notes"]) for f in c["followups"]] == [
        (t.today, "fully", "回访：抚养费按月支付")]

    assert [(e["from"], e["to"], e["actor_id"]) for e in c["events"]] == [
        (None, "registered", med.id),
        ("registered", "accepted", med.id),
        ("accepted", "in_mediation", med.id),
        ("in_mediation", "closed", med.id),
    ]
    assert all(e["at"] for e in c["events"])
    assert versions == list(range(1, len(versions) + 1))
    assert c["status"] == "closed"
    # A read answers the file as the last write did.
    again, again_etag = read(t, med, cid)
    assert (again, again_etag) == (c, etag)
    moves = [e for e in audit_entries(t.api, t.admin.auth, object_type="case", object_id=str(cid), limit=1000)
             if e["action"] == "case.transition"]
    assert len(moves) == 3 and {e["actor_id"] for e in moves} == {med.id}


# --- domestic violence and the expert pool -----------------------------------------


def experts(t, who, **query):
    r = send(t, who, "GET", "/api/v1/experts" + ("?" + urlencode(query) if query else ""))
    assert r.status == 200, r
    items = r.json()["items"]
    assert [(x["open_assignments"], x["id"]) for x in items] == sorted((x["open_assignments"], x["id"]) for x in items)
    return items


def test_a_high_risk_case_needs_a_safety_referral_and_a_difficult_one_gets_an_expert(town):
    t, med = town, town.med_a2
    c, etag = created(t, med, dispute_type="domestic_violence", domestic_violence={"flag": True, "risk": "high"})
    cid, path = c["id"], f"/api/v1/cases/{c['id']}"
    assert c["domestic_violence"] == {"flag": True, "risk": "high", "safety_referral": None, "safety_referred_on": None}
    c, etag = walk(t, med, cid, etag, "accepted")

    # No mediation before the safety referral is on file.
    assert_problem(move(t, med, cid, etag, "in_mediation"), 409, "conflict")
    c2, etag2 = read(t, med, cid)
    assert (c2["status"], etag2) == ("accepted", etag)
    c, etag = done(send(t, med, "PATCH", path, {"domestic_violence": {
        "safety_referral": "protection_order", "safety_referred_on": t.today}}, etag))
    assert c["domestic_violence"] == {"flag": True, "risk": "high", "safety_referral": "protection_order",
                                      "safety_referred_on": t.today}
    c, etag = walk(t, med, cid, etag, "in_mediation")
    # A risk stays with the flag.
    assert_problem(send(t, med, "PATCH", path, {"domestic_violence": {"flag": False}}, etag), 422, "unprocessable")
    assert read(t, med, cid)[0]["domestic_violence"]["flag"] is True

    # An expert is for a difficult case only.
    assert_problem(move(t, med, cid, etag, "expert_requested", specialty="psychology"), 409, "conflict")
    assert read(t, med, cid)[1] == etag
    c, etag = done(send(t, med, "PATCH", path, {"difficulty": "difficult"}, etag))
    assert c["difficulty"] == "difficult"

    # Nobody to assign before a request.
    assert_problem(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": t.m["x1"]}, etag), 409, "conflict")

    c, etag = done(move(t, med, cid, etag, "expert_requested", specialty="psychology"))
    assert c["status"] == "expert_requested" and c["expert_id"] is None
    (request,) = c["expert_requests"]
    assert (request["specialty"], request["expert_id"], request["assigned_at"]) == ("psychology", None, None)
    assert request["requested_at"]

    # Staff of the county see the pool, least loaded first.
    before = {x["id"]: x for x in experts(t, t.fed, specialty="psychology")}
    assert {t.m["x1"], t.m["x2"]} <= set(before) and t.m["x3"] not in before and t.m["plain"] not in before
    assert all("psychology" in x["specialties"] for x in before.values())
    assert before[t.m["x1"]]["committees"] == [t.committee["a"]]
    assert {t.m["x1"], t.m["x2"]} <= {x["id"] for x in experts(t, t.admin, specialty="psychology")}
    assert (before[t.m["x1"]]["open_assignments"], before[t.m["x2"]]["open_assignments"]) == (0, 0)
    assert [x["id"] for x in experts(t, t.fed, region="450203")] == [t.m["x2"], t.m["x3"]]
    assert_problem(send(t, med, "GET", "/api/v1/experts"), 403, "forbidden")
    assert_problem(send(t, t.fed, "GET", "/api/v1/experts?specialty=astrology"), 400, "bad-request")

    # Not an expert, or no longer active: refused, nothing changes. Staff of another county: no such case.
    r = t.api.post("/api/v1/mediators", headers=t.admin.auth, json_body={
        "name": "退出专家", "full_time": False, "committees": [t.committee["a"]], "expert": True,
        "specialties": ["psychology"]})
    assert r.status == 201, r
    retired = r.json()["id"]
    assert retired in {x["id"] for x in experts(t, t.fed, specialty="psychology")}
    r = t.api.request("PATCH", f"/api/v1/mediators/{retired}", headers=t.admin.auth, json_body={"active": False})
    assert r.status == 200, r
    assert retired not in {x["id"] for x in experts(t, t.fed, specialty="psychology")}
    assert_problem(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": retired}, etag), 422, "unprocessable")
    assert_problem(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": t.m["plain"]}, etag), 422, "unprocessable")
    assert_problem(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": 999999999}, etag), 422, "unprocessable")
    assert_problem(send(t, t.fed_c, "POST", f"{path}/expert", {"expert_id": t.m["x1"]}, etag), 404, "not-found")
    assert_problem(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": t.m["x1"]}), 428, "precondition-required")
    assert read(t, med, cid)[1] == etag

    c, etag = done(send(t, t.fed, "POST", f"{path}/expert", {"expert_id": t.m["x1"]}, etag))
    assert (c["status"], c["expert_id"]) == ("in_mediation", t.m["x1"])
    (assigned,) = c["expert_requests"]
    assert (assigned["specialty"], assigned["requested_at"], assigned["expert_id"]) == (
        "psychology", request["requested_at"], t.m["x1"])
    assert instant(assigned["assigned_at"]) >= instant(assigned["requested_at"])
    assert [(e["from"], e["to"], e["actor_id"]) for e in c["events"][-2:]] == [
        ("in_mediation", "expert_requested", med.id), ("expert_requested", "in_mediation", t.fed.id)]

    listed = experts(t, t.fed, specialty="psychology")
    after = {x["id"]: x for x in listed}
    assert after[t.m["x1"]]["open_assignments"] == before[t.m["x1"]]["open_assignments"] + 1
    assert after[t.m["x2"]]["open_assignments"] == before[t.m["x2"]]["open_assignments"]
    order = [x["id"] for x in listed]
    assert t.m["x1"] < t.m["x2"] and order.index(t.m["x2"]) < order.index(t.m["x1"]), order

    # Assigned: no request is open any more.
    assert_problem(send(t, t.admin, "POST", f"{path}/expert", {"expert_id": t.m["x2"]}, etag), 409, "conflict")
    # The mediator sees the expert on the case.
    assert read(t, med, cid)[0]["expert_id"] == t.m["x1"]
    # A case that ends is no longer the expert's load.
    walk(t, med, cid, etag, "withdrawn")
    final = {x["id"]: x for x in experts(t, t.fed, specialty="psychology")}
    assert final[t.m["x1"]]["open_assignments"] == before[t.m["x1"]]["open_assignments"]


# --- admissibility ------------------------------------------------------------------


@pytest.mark.parametrize("reason", REASONS)
def test_acceptance_refuses_a_dispute_people_s_mediation_may_not_take(town, reason):
    t, med = town, town.med_a1
    c, etag = created(t, med)
    r = move(t, med, c["id"], etag, "accepted", admissibility={**ADMISSIBLE, reason: True})
    assert problem_with(r, 422, "unprocessable", "reason")["reason"] == reason
    after, after_etag = read(t, med, c["id"])
    assert (after["status"], after["version"], after_etag, after["accepted_at"], after["due_on"]) == (
        "registered", 1, etag, None, None)
    assert len(after["events"]) == 1

    c, etag = walk(t, med, c["id"], etag, ("declined", {"reason": reason}))
    assert (c["status"], c["decline_reason"], c["version"]) == ("declined", reason, 2)
    assert c["accepted_at"] is None and c["due_on"] is None
    assert [(e["from"], e["to"], e["actor_id"]) for e in c["events"]][-1] == ("registered", "declined", med.id)
    assert read(t, t.admin, c["id"])[0]["decline_reason"] == reason


@pytest.mark.parametrize("body", [
    {"to": "accepted"},
    {"to": "accepted", "admissibility": {"before_court": False}},
    {"to": "accepted", "admissibility": {**ADMISSIBLE, "before_court": "no"}},
    {"to": "declined"},
    {"to": "declined", "reason": "tired"},
    {"to": "accepted", "admissibility": ADMISSIBLE, "reason": "other"},
    {"to": "registered"},
    {"to": "closed", "outcome": {"result": "agreement", "agreement_form": "written", "effective_on": "2026-03-01"}},
    {"to": "closed", "outcome": {"result": "no_agreement", "agreement_form": "oral"}},
    {"to": "expert_requested", "specialty": "astrology"},
])
def test_a_transition_body_that_does_not_fit_its_move_is_refused(town, body):
    t = town
    c, etag = created(t, t.med_a1)
    assert_problem(send(t, t.med_a1, "POST", f"/api/v1/cases/{c['id']}/transitions", body, etag), 400, "validation")
    assert read(t, t.med_a1, c["id"])[1] == etag


# --- illegal moves ------------------------------------------------------------------


def test_an_illegal_move_names_the_moves_allowed_now(town):
    t, med = town, town.med_a1

    def refused(cid, etag, to, allowed, **body):
        r = move(t, med, cid, etag, to, **body)
        got = problem_with(r, 409, "conflict", "allowed")["allowed"]
        assert sorted(got) == sorted(allowed) and len(got) == len(set(got)), got
        assert read(t, med, cid)[1] == etag

    c, etag = created(t, med)
    cid = c["id"]
    closing = {"outcome": {"result": "no_agreement"}}
    refused(cid, etag, "closed", ["accepted", "declined"], **closing)
    refused(cid, etag, "in_mediation", ["accepted", "declined"])
    refused(cid, etag, "withdrawn", ["accepted", "declined"])
    c, etag = walk(t, med, cid, etag, "accepted")
    refused(cid, etag, "closed", ["in_mediation", "withdrawn"], **closing)
    refused(cid, etag, "declined", ["in_mediation", "withdrawn"], reason="other")
    refused(cid, etag, "accepted", ["in_mediation", "withdrawn"], admissibility=ADMISSIBLE)
    c, etag = walk(t, med, cid, etag, "in_mediation")
    refused(cid, etag, "accepted", ["expert_requested", "withdrawn", "closed"], admissibility=ADMISSIBLE)
    refused(cid, etag, "in_mediation", ["expert_requested", "withdrawn", "closed"])
    c, etag = walk(t, med, cid, etag, ("closed", closing))
    assert (c["result"], c["outcome"], c["confirmation_apply_by"], c["followup_due_on"]) == (
        "no_agreement", {"result": "no_agreement", "agreement_form": None, "agreement": None, "effective_on": None},
        None, None)
    refused(cid, etag, "withdrawn", [])
    refused(cid, etag, "in_mediation", [])
    # Nor can a closed case without an agreement be confirmed or followed up.
    assert_problem(send(t, med, "PUT", f"/api/v1/cases/{cid}/confirmation",
                        {"status": "applied", "applied_on": t.today}, etag), 409, "conflict")
    assert_problem(send(t, med, "POST", f"/api/v1/cases/{cid}/followups",
                        {"visited_on": t.today, "honoured": "fully"}, etag), 409, "conflict")
    assert_problem(send(t, med, "POST", f"/api/v1/cases/{cid}/sessions",
                        {"held_at": "2026-03-10T09:30:00+08:00"}, etag), 409, "conflict")

    w, wetag = created(t, med)
    w, wetag = walk(t, med, w["id"], wetag, "accepted", "withdrawn")
    assert w["closed_at"] is not None
    refused(w["id"], wetag, "in_mediation", [])
    d, detag = created(t, med)
    d, detag = walk(t, med, d["id"], detag, ("declined", {"reason": "outside_remit"}))
    refused(d["id"], detag, "accepted", [], admissibility=ADMISSIBLE)


def test_an_oral_agreement_has_no_confirmation_window(town):
    t, med = town, town.med_a1
    c, etag = created(t, med)
    c, etag = walk(t, med, c["id"], etag, "accepted", "in_mediation",
                   ("closed", {"outcome": {"result": "agreement", "agreement_form": "oral", "effective_on": t.today}}))
    assert c["confirmation_apply_by"] is None
    assert c["followup_due_on"] == t.psql("SELECT civil_today() + 30")
    assert_problem(send(t, med, "PUT", f"/api/v1/cases/{c['id']}/confirmation",
                        {"status": "applied", "applied_on": t.today}, etag), 409, "conflict")


def test_the_due_date_is_extended_later_only(town):
    t, med = town, town.med_a1
    c, etag = created(t, med)
    path = f"/api/v1/cases/{c['id']}/extensions"
    assert_problem(send(t, med, "POST", path, {"due_on": "2099-01-01", "reason": "当事人外出务工"}, etag), 409, "conflict")
    c, etag = walk(t, med, c["id"], etag, "accepted")
    due = c["due_on"]
    assert_problem(send(t, med, "POST", path, {"due_on": due, "reason": "当事人外出务工"}, etag), 422, "unprocessable")
    assert_problem(send(t, med, "POST", path, {"due_on": "2099-02-30", "reason": "x"}, etag), 400, "validation")
    assert_problem(send(t, med, "POST", path, {"due_on": "2099-01-01", "reason": "x" * 201}, etag), 400, "validation")
    c, etag = done(send(t, med, "POST", path, {"due_on": "2099-01-01", "reason": "当事人外出务工"}, etag))
    assert c["due_on"] == "2099-01-01"
    assert [(x["from_due"], x["to_due"], x["reason"]) for x in c["extensions"]] == [(due, "2099-01-01", "当事人外出务工")]


# --- versions -------------------------------------------------------------------------


def test_a_write_needs_the_current_version(town):
    t, med = town, town.med_a1
    c, etag = created(t, med, summary="原始摘要")
    cid, path = c["id"], f"/api/v1/cases/{c['id']}"
    c, etag = walk(t, med, cid, etag, "accepted", "in_mediation")
    writes = [
        (med, "PATCH", "", {"summary": "改动"}),
        (med, "POST", "/transitions", {"to": "withdrawn"}),
        (med, "POST", "/parties", {"parties": [person("other")]}),
        (med, "POST", "/sessions", {"held_at": "2026-03-10T09:30:00+08:00", "notes": "不该记下"}),
        (med, "POST", "/extensions", {"due_on": "2099-01-01", "reason": "当事人外出"}),
        (med, "PUT", "/confirmation", {"status": "applied", "applied_on": t.today}),
        (med, "POST", "/followups", {"visited_on": t.today, "honoured": "fully"}),
        (t.fed, "POST", "/expert", {"expert_id": t.m["x1"]}),
    ]
    for who, method, sub, body in writes:
        assert_problem(send(t, who, method, path + sub, body), 428, "precondition-required")
        assert_problem(send(t, who, method, path + sub, body, etag="3"), 400, "bad-request")
        assert_problem(send(t, who, method, path + sub, body, etag='"x"'), 400, "bad-request")
    c, etag2 = done(send(t, med, "PATCH", path, {"summary": "第二版摘要"}, etag))
    assert (etag, etag2, c["summary"]) == ('"3"', '"4"', "第二版摘要")
    # The old ETag no longer writes; the answer names the current one.
    for who, method, sub, body in writes:
        r = send(t, who, method, path + sub, body, etag)
        assert_problem(r, 412, "precondition-failed")
        assert r.header("ETag") == etag2
    c, etag3 = read(t, med, cid)
    assert etag3 == etag2
    assert (c["summary"], c["status"], len(c["parties"]), c["sessions"], c["extensions"], c["due_on"]) == (
        "第二版摘要", "in_mediation", 2, [], [], t.psql("SELECT (civil_today() + interval '1 month')::date"))
    # A weak ETag names the same version.
    c, etag4 = done(send(t, med, "POST", path + "/parties", {"parties": [person("other")]}, "W/" + etag2), 201)
    assert (etag4, len(c["parties"])) == ('"5"', 3)


def test_two_mediators_writing_at_once_one_wins(town):
    t = town
    c, etag = created(t, t.med_a1, summary="并发前")
    cid, path = c["id"], f"/api/v1/cases/{c['id']}"
    assert read(t, t.med_a2, cid)[1] == etag  # both serve the committee
    for round_ in range(5):
        gate = threading.Barrier(2)
        results = {}

        def write(who, text):
            gate.wait()
            results[text] = send(t, who, "PATCH", path, {"summary": text}, etag)

        threads = [threading.Thread(target=write, args=(who, f"第{round_}轮 {who.username}"))
                   for who in (t.med_a1, t.med_a2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        statuses = sorted(r.status for r in results.values())
        assert statuses == [200, 412], results
        (winner,) = [text for text, r in results.items() if r.status == 200]
        (loser,) = [r for r in results.values() if r.status == 412]
        assert_problem(loser, 412, "precondition-failed")
        c, new_etag = read(t, t.med_a1, cid)
        assert c["summary"] == winner
        assert int(new_etag.strip('"')) == int(etag.strip('"')) + 1
        etag = new_etag


# --- numbers ---------------------------------------------------------------------------


def test_numbers_are_gapless_per_county_and_year_under_concurrent_creation(town):
    t = town
    year = t.psql("SELECT extract(year FROM now() AT TIME ZONE 'Asia/Shanghai')::integer")
    before = [c["number"] for c in listing(t, t.admin, region="450203", limit=1000)]

    def one(i):
        who = t.med_c if i % 2 else t.admin
        return new_case(t, who, "c", parties=[person()], source="hotline_12338")

    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(one, range(100)))
    assert [r.status for r in responses if r.status != 201] == []
    numbers = [r.json()["number"] for r in responses]
    assert len(set(numbers)) == 100
    assert len({r.json()["id"] for r in responses}) == 100
    for n in numbers:
        m = CASE_NUMBER.match(n)
        assert m and m.group(1) == "450203" and m.group(2) == year, n
    this_year = sorted(int(CASE_NUMBER.match(n).group(3)) for n in before + numbers
                       if CASE_NUMBER.match(n).group(2) == year)
    assert this_year == list(range(1, len(this_year) + 1))
    assert all(len(n.rsplit("-", 1)[1]) == 4 for n in numbers)
    # The list agrees with what creation answered.
    after = {c["id"]: c["number"] for c in listing(t, t.admin, region="450203", limit=1000)}
    assert {r.json()["id"]: r.json()["number"] for r in responses}.items() <= after.items()


def test_the_year_of_a_number_is_the_year_in_china(town):
    t = town
    # 2024-12-31 23:30 in Beijing, then 2025-01-01 00:30 there (still 2024 in UTC).
    old, _ = created(t, t.admin, "e", received_at="2024-12-31T15:30:00Z")
    new, _ = created(t, t.admin, "e", received_at="2024-12-31T16:30:00Z")
    newer, _ = created(t, t.admin, "e", received_at="2025-06-01T08:00:00+08:00")
    assert (old["number"], new["number"], newer["number"]) == (
        "450205-2024-0001", "450205-2025-0001", "450205-2025-0002")


# --- who sees what ---------------------------------------------------------------------


def test_mediators_of_other_committees_do_not_see_the_case(town):
    t = town
    c, etag = created(t, t.med_a1)
    cid, path = c["id"], f"/api/v1/cases/{c['id']}"
    for who in (t.med_b, t.med_c, t.unlinked):
        assert_problem(send(t, who, "GET", path), 404, "not-found")
        assert_problem(send(t, who, "GET", path + "/duplicates"), 404, "not-found")
        assert_problem(send(t, who, "PATCH", path, {"summary": "越权"}, etag), 404, "not-found")
        assert_problem(move(t, who, cid, etag, "accepted", admissibility=ADMISSIBLE), 404, "not-found")
        assert_problem(send(t, who, "POST", path + "/parties", {"parties": [person()]}, etag), 404, "not-found")
        assert cid not in listed_ids(t, who)
    assert read(t, t.med_a1, cid)[1] == etag
    assert cid in listed_ids(t, t.med_a1) and cid in listed_ids(t, t.med_a2)
    # A mediator's account linked to no record works no case at all.
    assert listed_ids(t, t.unlinked) == []
    assert_problem(new_case(t, t.unlinked), 404, "not-found")
    # The other committee's mediator sees its own cases only.
    b, _ = created(t, t.med_b, "b")
    mine = listed_ids(t, t.med_b)
    assert b["id"] in mine and cid not in mine
    assert {x["committee_id"] for x in listing(t, t.med_b, limit=1000)} == {t.committee["b"]}


def test_a_mediator_who_leaves_the_committee_leaves_its_cases(town):
    t, a = town, town.admin.auth
    r = t.api.post("/api/v1/mediators", headers=a, json_body={
        "name": "调解员走", "full_time": False, "committees": [t.committee["a"], t.committee["b"]]})
    assert r.status == 201, r
    record = r.json()["id"]
    user = create_user(t.api, a, "mediator")
    r = t.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a, json_body={"mediator_id": record})
    assert r.status == 200, r
    user = signed_in(t.api, user)
    in_a, etag = created(t, t.med_a1)
    in_b, _ = created(t, t.med_b, "b")
    assert read(t, user, in_a["id"])[1] == etag
    assert {in_a["id"], in_b["id"]} <= set(listed_ids(t, user))
    r = t.api.request("PATCH", f"/api/v1/mediators/{record}", headers=a, json_body={"committees": [t.committee["b"]]})
    assert r.status == 200, r
    assert_problem(send(t, user, "GET", f"/api/v1/cases/{in_a['id']}"), 404, "not-found")
    assert_problem(send(t, user, "PATCH", f"/api/v1/cases/{in_a['id']}", {"summary": "离任后"}, etag), 404, "not-found")
    mine = listed_ids(t, user)
    assert in_b["id"] in mine and in_a["id"] not in mine
    assert_problem(new_case(t, user, "a"), 404, "not-found")


def test_a_case_of_a_street_room_is_numbered_and_seen_in_its_county(town):
    t, a = town, town.admin.auth
    r = t.api.post("/api/v1/regions", headers=a, json_body={
        "code": "450202007", "name": "城中第七街道", "level": "township", "parent_code": "450202"})
    assert r.status == 201, r
    r = t.api.post("/api/v1/committees", headers=a, json_body={
        "name": "城中第七街道婚调室", "kind": "room", "region_code": "450202007", "established_on": "2021-01-01"})
    assert r.status == 201, r
    t.committee["street"] = r.json()["id"]
    c, _ = created(t, t.admin, "street")
    assert c["county_code"] == "450202" and c["number"].startswith("450202-"), c
    assert personal_members(c) == []  # an administrator who gave no purpose
    assert read(t, t.fed, c["id"])[0]["committee_id"] == t.committee["street"]
    assert c["id"] in listed_ids(t, t.fed_city, region="450202")
    assert_problem(send(t, t.fed_c, "GET", f"/api/v1/cases/{c['id']}"), 404, "not-found")


def test_federation_staff_see_the_metadata_of_their_county_only(town):
    t = town
    cid, _, texts = full_case(t, t.med_a1)
    full, _ = read(t, t.med_a1, cid)
    assert personal_members(full) and set(personal_members(full)) >= {
        "summary", "parties[0].name", "parties[1].phone", "sessions[0].notes", "outcome.agreement",
        "followups[0].notes"}
    reads_before = len(case_reads(t, cid))

    for who in (t.fed, t.fed_city):
        doc, etag = read(t, who, cid, headers={"X-Access-Purpose": "statistics check"})
        assert personal_members(doc) == [], personal_members(doc)
        assert (doc["number"], doc["status"], doc["result"], doc["version"]) == (
            full["number"], "closed", "agreement", full["version"])
        assert [(p["id"], p["role"], p["gender"], p["birth_year"]) for p in doc["parties"]] == [
            (p["id"], p["role"], p["gender"], p["birth_year"]) for p in full["parties"]]
        assert [s["held_at"] for s in doc["sessions"]] == [s["held_at"] for s in full["sessions"]]
        assert doc["outcome"] == {k: v for k, v in full["outcome"].items() if k != "agreement"}
        assert [f["honoured"] for f in doc["followups"]] == ["fully"]
        assert not [s for s in texts.values() if s in str(doc)]
        assert cid in listed_ids(t, who)
    assert len(case_reads(t, cid)) == reads_before  # nothing personal read, nothing audited

    # Lists never carry personal data, for anyone.
    for who in (t.fed, t.med_a1, t.admin):
        (item,) = [x for x in listing(t, who, limit=1000, committee=t.committee["a"]) if x["id"] == cid]
        assert personal_members(item) == [] and "parties" not in item
        assert item["number"] == full["number"]

    assert_problem(send(t, t.fed_c, "GET", f"/api/v1/cases/{cid}"), 404, "not-found")
    assert_problem(send(t, t.fed_c, "GET", f"/api/v1/cases/{cid}/duplicates"), 404, "not-found")
    assert cid not in listed_ids(t, t.fed_c)
    for path in (f"/api/v1/cases/{cid}", "/api/v1/cases", f"/api/v1/cases/{cid}/duplicates"):
        assert_problem(send(t, t.hotline, "GET", path), 403, "forbidden")
    assert_problem(new_case(t, t.hotline), 403, "forbidden")
    # Staff read; they do not write the file.
    assert_problem(send(t, t.fed, "PATCH", f"/api/v1/cases/{cid}", {"difficulty": "difficult"}, f'"{full["version"]}"'),
                   403, "forbidden")
    assert_problem(new_case(t, t.fed), 403, "forbidden")


def test_an_administrator_reads_personal_data_only_for_a_stated_purpose_and_it_is_audited(town):
    t = town
    cid, _, texts = full_case(t, t.med_a2)
    before = len(case_reads(t, cid))
    plain, _ = read(t, t.admin, cid)
    assert personal_members(plain) == []
    assert len(case_reads(t, cid)) == before

    r = send(t, t.admin, "GET", f"/api/v1/cases/{cid}", headers={"X-Access-Purpose": "petition review 2026-17"})
    doc, _ = done(r)
    assert doc["summary"] == texts["summary"] and doc["outcome"]["agreement"] == texts["agreement"]
    assert doc["sessions"][0]["notes"] == texts["notes"] and doc["followups"][0]["notes"] == texts["followup"]
    reads = case_reads(t, cid)
    assert len(reads) == before + 1
    entry = reads[0]
    assert (entry["actor_id"], entry["purpose"], entry["request_id"], entry["status"]) == (
        t.admin.id, "petition review 2026-17", r.header("X-Request-Id"), 200)
    assert sorted(entry["fields"]) == sorted(ALL_FIELDS)


def test_every_read_by_a_mediator_is_audited_with_the_fields_read(town):
    t = town
    parties = [person(address=None, id_number=None), person("respondent")]
    c, etag = created(t, t.med_a1, parties=parties)  # no summary, no sessions yet
    cid = c["id"]
    reads = case_reads(t, cid)
    assert len(reads) == 1 and reads[0]["actor_id"] == t.med_a1.id  # the created case, as answered
    assert sorted(reads[0]["fields"]) == ["parties.address", "parties.id_number", "parties.name", "parties.phone"]

    for who in (t.med_a1, t.med_a2, t.med_a1):
        r = send(t, who, "GET", f"/api/v1/cases/{cid}")
        doc, _ = done(r)
        assert doc["parties"][0]["name"] == parties[0]["name"] and doc["parties"][0]["address"] is None
        entry = case_reads(t, cid)[0]
        assert (entry["actor_id"], entry["request_id"], entry["purpose"]) == (who.id, r.header("X-Request-Id"), None)
        assert sorted(entry["fields"]) == ["parties.address", "parties.id_number", "parties.name", "parties.phone"]
    assert len(case_reads(t, cid)) == 4

    c, etag = done(send(t, t.med_a1, "PATCH", f"/api/v1/cases/{cid}", {"summary": "补充摘要"}, etag))
    entry = case_reads(t, cid)[0]
    assert "summary" in entry["fields"] and entry["actor_id"] == t.med_a1.id
    assert len(case_reads(t, cid)) == 5


# --- duplicates ------------------------------------------------------------------------


def test_parties_of_other_open_cases_are_found_by_phone_or_id_number(town):
    t = town
    shared = person()
    phone, idn = shared["phone"], shared["id_number"]

    # An open case in committee a with both; one in 鱼峰区 with the ID number only.
    first, e1 = created(t, t.med_a1, parties=[person(phone=phone, id_number=idn), person("respondent")])
    walk(t, t.med_a1, first["id"], e1, "accepted")
    other_county, e3 = created(t, t.med_c, "c", parties=[person(id_number=idn)])
    assert other_county["duplicates"] == {"cases": [], "referrals": [], "elsewhere": 1}
    walk(t, t.med_c, other_county["id"], e3, "accepted")
    # Same phone in another case of committee a (written differently).
    spaced = f"+86 {phone[:3]} {phone[3:7]} {phone[7:]}"
    second, e2 = created(t, t.med_a2, parties=[person(phone=spaced)])
    assert second["duplicates"] == {"cases": [{
        "id": first["id"], "number": first["number"], "status": "accepted",
        "committee_id": t.committee["a"], "matched": ["phone"]}], "referrals": [], "elsewhere": 0}
    walk(t, t.med_a2, second["id"], e2, "accepted", "in_mediation")
    # Cases closed, declined or withdrawn are not listed.
    gone = []
    for steps in (("accepted", "in_mediation", ("closed", {"outcome": {"result": "no_agreement"}})),
                  (("declined", {"reason": "other"}),), ("accepted", "withdrawn")):
        g, ge = created(t, t.med_a1, parties=[person(phone=phone, id_number=idn)])
        walk(t, t.med_a1, g["id"], ge, *steps)
        gone.append(g["id"])

    third, e4 = created(t, t.med_a1, parties=[person(id_number=idn.lower()), person("respondent", phone=phone)])
    expected = {"cases": [
        {"id": first["id"], "number": first["number"], "status": "accepted", "committee_id": t.committee["a"],
         "matched": ["phone", "id_number"]},
        {"id": second["id"], "number": second["number"], "status": "in_mediation", "committee_id": t.committee["a"],
         "matched": ["phone"]},
    ], "referrals": [], "elsewhere": 1}
    assert third["duplicates"] == expected
    walk(t, t.med_a1, third["id"], e4, "accepted")
    r = send(t, t.med_a1, "GET", f"/api/v1/cases/{third['id']}/duplicates")
    assert r.status == 200 and r.json() == expected, r
    # Staff of the county see the same; an administrator sees all of them.
    assert send(t, t.fed, "GET", f"/api/v1/cases/{third['id']}/duplicates").json() == expected
    everywhere = send(t, t.admin, "GET", f"/api/v1/cases/{third['id']}/duplicates").json()
    assert [x["id"] for x in everywhere["cases"]] == sorted([first["id"], second["id"], other_county["id"]])
    assert everywhere["elsewhere"] == 0
    assert [x["matched"] for x in everywhere["cases"] if x["id"] == other_county["id"]] == [["id_number"]]
    # From 鱼峰区, the three open cases of 城中区 are elsewhere.
    r = send(t, t.med_c, "GET", f"/api/v1/cases/{other_county['id']}/duplicates")
    assert r.json() == {"cases": [], "referrals": [], "elsewhere": 2}, r  # first and third hold the ID number
    assert not set(gone) & {x["id"] for x in everywhere["cases"]}
    # A case nobody shares a party with has none.
    alone, _ = created(t, t.med_a1)
    assert alone["duplicates"] == {"cases": [], "referrals": [], "elsewhere": 0}


# --- lists ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def filed(town):
    """Cases of 柳南区 (450204), which no other test touches."""
    t = town
    k = {}
    k["court"], e = created(t, t.admin, "d", source="court", dispute_type="custody",
                            received_at="2026-02-28T17:00:00Z")  # 2026-03-01 01:00 in China
    k["court"], _ = walk(t, t.admin, k["court"]["id"], e, "accepted")
    k["police"], _ = created(t, t.admin, "d", source="police", dispute_type="inheritance",
                             received_at="2026-02-28T15:59:59Z")  # 2026-02-28 23:59:59 in China
    k["due_today"], e = created(t, t.admin, "d", dispute_type="elder_support")
    walk(t, t.admin, k["due_today"]["id"], e, "accepted", "in_mediation")
    k["agreed"], e = created(t, t.admin, "d2", dispute_type="property_division")
    k["agreed"], k["agreed_etag"] = walk(t, t.admin, k["agreed"]["id"], e, "accepted", "in_mediation",
                                         ("closed", {"outcome": agreement("财产分割协议", t.today)}))
    k["recent"], e = created(t, t.admin, "d2", dispute_type="property_division")
    walk(t, t.admin, k["recent"]["id"], e, "accepted", "in_mediation",
         ("closed", {"outcome": agreement("另一份协议", t.today, form="oral")}))
    # Time passes (only the dates the filters look at).
    t.psql(f"UPDATE cases SET due_on = civil_today() - 1 WHERE id = {k['court']['id']}")
    t.psql(f"UPDATE cases SET due_on = civil_today() WHERE id = {k['due_today']['id']}")
    t.psql(f"UPDATE cases SET closed_at = closed_at - interval '30 days' WHERE id = {k['agreed']['id']}")
    t.psql(f"UPDATE cases SET closed_at = closed_at - interval '29 days' WHERE id = {k['recent']['id']}")
    k["ids"] = {name: c["id"] for name, c in k.items() if isinstance(c, dict) and "id" in c}
    return k


FILTERS = [
    ({}, ["court", "police", "due_today", "agreed", "recent"]),
    ({"status": "accepted"}, ["court"]),
    ({"status": "registered"}, ["police"]),
    ({"status": "closed"}, ["agreed", "recent"]),
    ({"dispute_type": "custody"}, ["court"]),
    ({"dispute_type": "property_division"}, ["agreed", "recent"]),
    ({"source": "police"}, ["police"]),
    ({"source": "walk_in"}, ["due_today", "agreed", "recent"]),
    ({"committee": "d2"}, ["agreed", "recent"]),
    ({"received_to": "2026-02-28"}, ["police"]),
    ({"received_from": "2026-03-01", "received_to": "2026-03-01"}, ["court"]),
    ({"received_from": "2026-03-01"}, ["court", "due_today", "agreed", "recent"]),
    ({"overdue": "true"}, ["court"]),
    ({"overdue": "false"}, ["police", "due_today", "agreed", "recent"]),
    ({"confirmation_due": "true"}, ["agreed"]),
    ({"confirmation_due": "false"}, ["court", "police", "due_today", "recent"]),
    ({"followup_due": "true"}, ["agreed"]),
    ({"followup_due": "false"}, ["court", "police", "due_today", "recent"]),
    ({"status": "closed", "followup_due": "true", "dispute_type": "property_division"}, ["agreed"]),
]


@pytest.mark.parametrize("query, expected", FILTERS, ids=[urlencode(q) or "none" for q, _ in FILTERS])
def test_list_filters(town, filed, query, expected):
    t = town
    q = dict(query)
    if "committee" in q:
        q["committee"] = t.committee[q["committee"]]
    want = sorted(filed["ids"][name] for name in expected)
    names = {i: name for name, i in filed["ids"].items()}
    got = listed_ids(t, t.admin, region="450204", **q)
    assert got == want, f"listed {[names.get(i, i) for i in got]}, expected {expected}"
    # The same through the city, and for the county's staff.
    assert [i for i in listed_ids(t, t.admin, region="450200", **q) if i in filed["ids"].values()] == want
    assert [i for i in listed_ids(t, t.fed_city, **q) if i in filed["ids"].values()] == want


def test_list_items_say_what_is_due(town, filed):
    t = town
    items = {x["id"]: x for x in listing(t, t.admin, region="450204", limit=1000)}
    ids = filed["ids"]
    assert items[ids["court"]]["overdue"] is True and items[ids["due_today"]]["overdue"] is False
    assert items[ids["agreed"]]["followup_due_on"] == t.today
    assert items[ids["recent"]]["followup_due_on"] == t.psql("SELECT civil_today() + 1")
    assert read(t, t.admin, ids["court"])[0]["overdue"] is True
    assert listed_ids(t, t.admin, region="450203", overdue="true", dispute_type="custody") == []


def test_a_confirmation_applied_for_or_a_follow_up_recorded_is_no_longer_due(town, filed):
    t = town
    cid, etag = filed["ids"]["agreed"], filed["agreed_etag"]
    c, etag = done(send(t, t.admin, "PUT", f"/api/v1/cases/{cid}/confirmation",
                        {"status": "applied", "applied_on": t.today}, etag))
    assert listed_ids(t, t.admin, region="450204", confirmation_due="true") == []
    assert cid in listed_ids(t, t.admin, region="450204", confirmation_due="false")
    assert listed_ids(t, t.admin, region="450204", followup_due="true") == [cid]
    c, etag = done(send(t, t.admin, "POST", f"/api/v1/cases/{cid}/followups",
                        {"visited_on": t.today, "honoured": "partly"}, etag), 201)
    assert c["followup_due_on"] is None
    assert listed_ids(t, t.admin, region="450204", followup_due="true") == []
    filed["agreed_etag"] = etag


def test_list_pages_follow_next_after(town, filed):
    t = town
    everything = listed_ids(t, t.admin, region="450204")
    assert everything == sorted(everything) and len(everything) == len(filed["ids"])
    pages, after = [], None
    while True:
        q = {"region": "450204", "limit": 2, **({"after": after} if after is not None else {})}
        r = send(t, t.admin, "GET", "/api/v1/cases?" + urlencode(q))
        assert r.status == 200, r
        page = r.json()
        assert set(page) == {"items", "next_after"}
        ids = [x["id"] for x in page["items"]]
        pages.append(ids)
        if page["next_after"] is None:
            break
        assert page["next_after"] == ids[-1] and len(ids) == 2
        after = page["next_after"]
    assert [len(p) for p in pages] == [2, 2, 1]
    assert [i for p in pages for i in p] == everything
    r = send(t, t.admin, "GET", f"/api/v1/cases?region=450204&after={everything[-1]}")
    assert r.json() == {"items": [], "next_after": None}


@pytest.mark.parametrize("query", [
    "colour=red", "status=open", "dispute_type=adultery", "committee=abc", "committee=0", "region=45",
    "source=email", "received_from=2026-02-30", "received_to=yesterday", "overdue=yes", "confirmation_due=1",
    "followup_due=TRUE", "limit=0", "limit=1001", "limit=ten", "after=-1", "after=x",
])
def test_bad_list_queries_are_refused(town, query):
    assert_problem(send(town, town.admin, "GET", f"/api/v1/cases?{query}"), 400, "bad-request")


# --- validation ------------------------------------------------------------------------


def case_count(t):
    return int(t.psql("SELECT count(*) FROM cases"))


@pytest.mark.parametrize("fields, detail", [
    ({"colour": "red"}, None),
    ({"source": "email"}, None),
    ({"dispute_type": "adultery"}, None),
    ({"difficulty": "hard"}, None),
    ({"minors_involved": "yes"}, None),
    ({"domestic_violence": {"flag": True, "risk": "extreme"}}, None),
    ({"domestic_violence": {"flag": False, "risk": "high"}}, None),
    ({"domestic_violence": {"flag": True, "colour": "red"}}, None),
    ({"domestic_violence": {"flag": True, "safety_referral": "police", "safety_referred_on": "2026-03-01"}}, None),
    ({"summary": "字" * 5001}, None),
    ({"summary": "   "}, None),
    ({"received_at": "2026-03-08T09:30:00"}, None),
    ({"co_mediator_ids": [1, 1]}, None),
    ({"co_mediator_ids": "1"}, None),
    ({"lead_mediator_id": "1"}, None),
    ({"committee_id": "1"}, None),
    ({"parties": []}, None),
    ({"parties": "张三"}, None),
    ({"parties": None}, None),
    ({"parties": [{"role": "applicant", "name": f"甲{i}"} for i in range(21)]}, None),
    ({"parties": [{"role": "judge", "name": "张三"}]}, None),
    ({"parties": [{"role": "applicant"}]}, None),
    ({"parties": [{"role": "applicant", "name": ""}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "phone": "call me"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "phone": "+44 20 7946 0958"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "phone": "123456"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "id_number": "110105194912310021"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "id_number": "11010519491231002"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "id_number": "1101051949123100XX"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "gender": "other"}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "birth_year": 1899}]}, None),
    ({"parties": [{"role": "applicant", "name": "张三", "nickname": "小张"}]}, None),
    ({"id": 5}, "id"),
    ({"number": "450202-2026-0001"}, "number"),
    ({"status": "accepted"}, "status"),
    ({"county_code": "450203"}, "county_code"),
    ({"version": 3}, "version"),
    ({"due_on": "2026-04-01"}, "due_on"),
    ({"accepted_at": "2026-03-08T09:30:00+08:00"}, "accepted_at"),
    ({"outcome": {"result": "agreement"}}, "outcome"),
    ({"expert_id": 1}, "expert_id"),
    ({"decline_reason": "other"}, "decline_reason"),
])
def test_invalid_cases_are_refused(town, fields, detail):
    t = town
    before = case_count(t)
    r = new_case(t, t.med_a1, **fields)
    body = assert_problem(r, 400, "validation")
    if detail is not None:
        assert detail in body["detail"], body
    assert case_count(t) == before


def test_a_case_received_at_a_time_that_does_not_exist_is_refused_not_a_server_error(town):
    t = town
    before = case_count(t)
    r = new_case(t, t.med_a1, received_at="2026-02-30T09:30:00+08:00")
    assert r.status in (400, 422), r
    assert_problem(r, r.status, "validation" if r.status == 400 else "unprocessable")
    assert case_count(t) == before


def test_a_change_to_a_time_that_does_not_exist_is_unprocessable(town):
    t = town
    c, etag = created(t, t.med_a1)
    path = f"/api/v1/cases/{c['id']}"
    r = send(t, t.med_a1, "PATCH", path, {"received_at": "2026-02-30T09:30:00+08:00"}, etag)
    assert_problem(r, 422, "unprocessable")
    c, etag = walk(t, t.med_a1, c["id"], etag, "accepted", "in_mediation")
    r = send(t, t.med_a1, "POST", path + "/sessions", {"held_at": "2026-04-31T09:30:00+08:00"}, etag)
    assert_problem(r, 422, "unprocessable")
    c, etag2 = read(t, t.med_a1, c["id"])
    assert (etag2, c["sessions"]) == (etag, [])


def test_valid_edges_are_taken(town):
    t = town
    good = [
        {"role": "applicant", "name": "王某", "id_number": "11010519491231002X", "phone": "+86 138 0013 8000"},
        {"role": "respondent", "name": "李某", "id_number": "11010519491231002x", "phone": "0772-2823456"},
        {"role": "other", "name": "赵某", "id_number": None, "phone": None, "address": None, "gender": None,
         "birth_year": None, "relationship": None},
    ]
    c, _ = created(t, t.med_a1, parties=good, summary="字" * 5000, received_at="2026-03-08T09:30:00.123+08:00")
    assert len(c["summary"]) == 5000
    assert [p["id_number"] for p in c["parties"]] == ["11010519491231002X", "11010519491231002x", None]
    assert [p["phone"] for p in c["parties"]] == ["+86 138 0013 8000", "0772-2823456", None]


@pytest.mark.parametrize("fields, detail", [
    ({"committee_id": 1}, "committee"),
    ({"committee_id": 1, "summary": "x"}, "committee"),
    ({}, None),
    ({"colour": "red"}, None),
    ({"status": "closed"}, "status"),
    ({"version": 9}, "version"),
    ({"number": "x"}, "number"),
    ({"id": 1}, "id"),
    ({"source": "email"}, None),
    ({"difficulty": "hard"}, None),
    ({"parties": [{"role": "applicant", "name": "张三"}]}, None),
    ({"domestic_violence": {"safety_referral": "police"}}, None),
    ({"domestic_violence": {"safety_referral": "neighbour", "safety_referred_on": "2026-03-01"}}, None),
    ({"summary": "字" * 5001}, None),
])
def test_invalid_changes_are_refused(town, fields, detail):
    t = town
    c, etag = created(t, t.med_a1)
    body = assert_problem(send(t, t.med_a1, "PATCH", f"/api/v1/cases/{c['id']}", fields, etag), 400, "validation")
    if detail is not None:
        assert detail in body["detail"], body
    assert read(t, t.med_a1, c["id"])[1] == etag


def test_a_case_goes_only_to_a_committee_and_mediators_that_fit(town):
    t = town
    before = case_count(t)
    # A committee the mediator does not serve, or none at all: no such committee.
    assert_problem(new_case(t, t.med_a1, "b"), 404, "not-found")
    assert_problem(new_case(t, t.med_a1, "c"), 404, "not-found")
    r = t.api.post("/api/v1/cases", headers=t.admin.auth, json_body={
        "committee_id": 999999999, "source": "walk_in", "dispute_type": "divorce", "parties": [person()]})
    assert_problem(r, 404, "not-found")
    # A lead or co-mediator who does not serve the committee.
    assert_problem(new_case(t, t.admin, "a", lead_mediator_id=t.m["b"]), 422, "unprocessable")
    assert_problem(new_case(t, t.med_a1, "a", lead_mediator_id=t.m["c"]), 422, "unprocessable")
    assert_problem(new_case(t, t.admin, "a", co_mediator_ids=[t.m["a2"], t.m["b"]]), 422, "unprocessable")
    assert case_count(t) == before
    # Those who do, do.
    c, etag = created(t, t.admin, "a", lead_mediator_id=t.m["a2"], co_mediator_ids=[t.m["a1"], t.m["plain"]])
    assert (c["lead_mediator_id"], c["co_mediator_ids"]) == (t.m["a2"], sorted([t.m["a1"], t.m["plain"]]))
    assert_problem(send(t, t.med_a1, "PATCH", f"/api/v1/cases/{c['id']}", {"lead_mediator_id": t.m["b"]}, etag),
                   422, "unprocessable")
    assert_problem(send(t, t.med_a1, "PATCH", f"/api/v1/cases/{c['id']}", {"co_mediator_ids": [t.m["c"]]}, etag),
                   422, "unprocessable")
    c, etag = done(send(t, t.med_a1, "PATCH", f"/api/v1/cases/{c['id']}",
                        {"lead_mediator_id": t.m["a1"], "co_mediator_ids": [t.m["x1"]]}, etag))
    assert (c["lead_mediator_id"], c["co_mediator_ids"], c["committee_id"]) == (t.m["a1"], [t.m["x1"]], t.committee["a"])


# --- nothing readable in a dump --------------------------------------------------------


def test_a_party_is_corrected_and_the_change_is_sealed_and_audited(town):
    doc, etag = created(town, town.med_a1)
    party = doc["parties"][1]["id"]
    path = f"/api/v1/cases/{doc['id']}/parties/{party}"
    new_id = id_number("45020219850312002")
    r = send(town, town.med_a1, "PATCH", path, {"name": "王更正", "phone": "+86 137 0099 1111",
                                                "id_number": new_id, "birth_year": 1985}, etag)
    changed, etag = done(r)
    p = [x for x in changed["parties"] if x["id"] == party][0]
    assert (p["name"], p["phone"], p["id_number"], p["birth_year"]) == ("王更正", "+86 137 0099 1111", new_id, 1985)
    assert p["role"] == "respondent" and changed["version"] == doc["version"] + 1
    other = [x for x in changed["parties"] if x["id"] != party][0]
    assert other == [x for x in doc["parties"] if x["id"] != party][0]
    stored = town.psql(f"SELECT encode(name, 'hex') || encode(phone, 'hex') FROM parties WHERE id = {party}")
    assert "王更正".encode().hex() not in stored and "13700991111".encode().hex() not in stored
    # The new phone is found as a duplicate; null clears it and its index.
    twin, _ = created(town, town.med_a1, parties=[person(phone="13700991111")])
    assert doc["id"] in [c["id"] for c in twin["duplicates"]["cases"]]
    changed, etag = done(send(town, town.med_a1, "PATCH", path, {"phone": None}, etag))
    assert [x for x in changed["parties"] if x["id"] == party][0]["phone"] is None
    assert town.psql(f"SELECT phone IS NULL AND phone_bidx IS NULL FROM parties WHERE id = {party}") == "t"
    actions = [e["action"] for e in audit_entries(town.api, town.admin.auth, object_type="case",
                                                  object_id=str(doc["id"]))]
    assert actions.count("case.party.update") == 2


def test_a_party_change_is_checked(town):
    doc, etag = created(town, town.med_a1)
    party = doc["parties"][0]["id"]
    path = f"/api/v1/cases/{doc['id']}/parties/{party}"
    for body in ({}, {"name": None}, {"role": "judge"}, {"phone": "call me"}, {"id": 5}, {"birth_year": 1800}):
        assert_problem(send(town, town.med_a1, "PATCH", path, body, etag), 400, "validation")
    assert_problem(send(town, town.med_a1, "PATCH", path, {"gender": "male"}), 428, "precondition-required")
    assert_problem(send(town, town.med_a1, "PATCH", path, {"gender": "male"}, '"999"'), 412, "precondition-failed")
    other, _ = created(town, town.med_a1)
    wrong = f"/api/v1/cases/{doc['id']}/parties/{other['parties'][0]['id']}"
    assert_problem(send(town, town.med_a1, "PATCH", wrong, {"gender": "male"}, etag), 404, "not-found")
    assert_problem(send(town, town.med_b, "PATCH", path, {"gender": "male"}, etag), 404, "not-found")
    assert_problem(send(town, town.fed, "PATCH", path, {"gender": "male"}, etag), 403, "forbidden")
    assert read(town, town.med_a1, doc["id"])[1] == etag


def test_a_dump_holds_none_of_the_personal_data_seeded_through_the_api(town):
    t = town
    secrets_ = []
    for i in range(32):
        committee, who = (("a", t.med_a1), ("a", t.med_a2), ("b", t.med_b), ("c", t.med_c))[i % 4]
        _, _, texts = full_case(t, who, committee, tag=f"卷{i:03d}")
        secrets_ += texts.values()
    assert len(set(secrets_)) == len(secrets_) and len(secrets_) >= 32 * 14
    dump = subprocess.run([PG_DUMP, "--no-owner", t.url], capture_output=True, timeout=120, env=clean_env())
    assert dump.returncode == 0, dump.stderr
    assert b"COPY public.parties" in dump.stdout and b"COPY public.case_sessions" in dump.stdout
    assert [s for s in secrets_ if s.encode("utf-8") in dump.stdout] == []
