"""Mediators: their committees, their encrypted phones (shown only to an
administrator who states why, and audited), scope for county staff, and a
pg_dump that holds none of the phones seeded through the API."""

import subprocess

import pytest

from support import Installation, assert_problem, audit_entries, clean_env, create_user, signed_in

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


@pytest.fixture(scope="module")
def town(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        a = inst.admin.auth
        inst.fed = signed_in(inst.api, create_user(inst.api, a, "federation", region="450202"))
        inst.other_fed = signed_in(inst.api, create_user(inst.api, a, "federation", region="450203"))
        inst.mediator_user = signed_in(inst.api, create_user(inst.api, a, "mediator"))
        inst.committee = {}
        for code in ("450202", "450203"):
            body = {"name": f"{code} 婚调委", "kind": "committee", "region_code": code, "established_on": "2020-06-18"}
            r = inst.api.post("/api/v1/committees", headers=a, json_body=body)
            assert r.status == 201, r
            inst.committee[code] = r.json()["id"]
        yield inst


def add(inst, auth, **fields):
    body = {"name": "张调解", "full_time": True, "committees": [inst.committee["450202"]], **fields}
    return inst.api.post("/api/v1/mediators", headers=auth, json_body=body)


def test_a_mediator_is_created_without_showing_the_phone(town):
    r = add(town, town.admin.auth, phone="138 0013 8000", specialties=["law", "psychology"], expert=True,
            gender="female", trained_on="2025-09-01")
    assert r.status == 201, r
    m = r.json()
    assert "phone" not in m and m["phone_on_file"] is True
    assert (m["specialties"], m["expert"], m["committees"], m["gender"]) == (
        ["law", "psychology"], True, [town.committee["450202"]], "female")
    assert r.header("Location") == f"/api/v1/mediators/{m['id']}"
    stored = town.psql(f"SELECT encode(phone, 'escape') FROM mediators WHERE id = {m['id']}")
    assert "13800138000" not in stored and "138 0013 8000" not in stored


def test_the_phone_is_shown_to_an_administrator_who_says_why_and_audited(town):
    m = add(town, town.admin.auth, phone="13900139000").json()
    plain = town.api.get(f"/api/v1/mediators/{m['id']}", headers=town.admin.auth).json()
    assert "phone" not in plain
    shown = town.api.get(
        f"/api/v1/mediators/{m['id']}", headers={**town.admin.auth, "X-Access-Purpose": "follow-up visit"}
    ).json()
    assert shown["phone"] == "13900139000"
    reads = [e for e in audit_entries(town.api, town.admin.auth, object_type="mediator", object_id=str(m["id"]))
             if e["action"] == "mediator.read"]
    assert len(reads) == 1
    assert (reads[0]["fields"], reads[0]["purpose"], reads[0]["actor_id"]) == (["phone"], "follow-up visit", town.admin.id)


def test_county_staff_never_see_phones(town):
    m = add(town, town.fed.auth, phone="13700137000").json()
    r = town.api.get(f"/api/v1/mediators/{m['id']}", headers={**town.fed.auth, "X-Access-Purpose": "curious"})
    assert r.status == 200 and "phone" not in r.json()


def test_county_staff_keep_their_county_only(town):
    mine = add(town, town.fed.auth).json()
    theirs = add(town, town.admin.auth, committees=[town.committee["450203"]]).json()
    assert_problem(town.api.get(f"/api/v1/mediators/{theirs['id']}", headers=town.fed.auth), 404, "not-found")
    assert town.api.get(f"/api/v1/mediators/{theirs['id']}", headers=town.other_fed.auth).status == 200
    listed = [x["id"] for x in town.api.get("/api/v1/mediators?limit=1000", headers=town.fed.auth).json()["items"]]
    assert mine["id"] in listed and theirs["id"] not in listed
    r = add(town, town.fed.auth, committees=[town.committee["450203"]])
    assert_problem(r, 404, "not-found")


def test_other_roles_are_refused(town):
    assert_problem(town.api.get("/api/v1/mediators", headers=town.mediator_user.auth), 403, "forbidden")


@pytest.mark.parametrize(
    "fields",
    [
        {"phone": "call me"},
        {"specialties": ["astrology"]},
        {"committees": []},
        {"committees": ["1"]},
        {"gender": "other"},
        {"full_time": "yes"},
        {"trained_on": "2025-13-01"},
        {"nickname": "小张"},
    ],
)
def test_invalid_mediators_are_refused(town, fields):
    assert_problem(add(town, town.admin.auth, **fields), 400, "validation")


def test_filters(town):
    expert = add(town, town.admin.auth, expert=True, specialties=["social_work"]).json()
    items = town.api.get("/api/v1/mediators?expert=true&specialty=social_work&limit=1000", headers=town.admin.auth).json()["items"]
    assert expert["id"] in [m["id"] for m in items]
    assert all(m["expert"] and "social_work" in m["specialties"] for m in items)
    for q in ("expert=maybe", "specialty=astrology", "committee=x", "limit=0", "colour=red"):
        assert_problem(town.api.get(f"/api/v1/mediators?{q}", headers=town.admin.auth), 400, "bad-request")


def test_a_dump_holds_none_of_the_phones_seeded_through_the_api(town):
    phones = [f"1510000{i:04d}" for i in range(200)]
    for phone in phones:
        assert add(town, town.admin.auth, phone=phone).status == 201
    dump = subprocess.run([PG_DUMP, "--no-owner", town.url], capture_output=True, timeout=120, env=clean_env())
    assert dump.returncode == 0, dump.stderr
    assert b"mediators" in dump.stdout
    assert [p for p in phones if p.encode() in dump.stdout] == []
