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


def change(inst, auth, mediator_id, **fields):
    return inst.api.request("PATCH", f"/api/v1/mediators/{mediator_id}", headers=auth, json_body=fields)


def test_a_change_keeps_what_it_does_not_name_and_is_audited(town):
    m = add(town, town.admin.auth, phone="13600136000", specialties=["law"], trained_on="2024-05-01").json()
    r = change(town, town.admin.auth, m["id"], expert=True, specialties=["law", "medicine"], certified_on="2025-01-02")
    assert r.status == 200, r
    got = r.json()
    assert (got["expert"], got["specialties"], got["certified_on"]) == (True, ["law", "medicine"], "2025-01-02")
    assert (got["name"], got["trained_on"], got["phone_on_file"], got["full_time"]) == (
        m["name"], "2024-05-01", True, True)
    assert "phone" not in got
    r = change(town, town.admin.auth, m["id"], trained_on=None, gender="male", active=False)
    assert (r.json()["trained_on"], r.json()["gender"], r.json()["active"]) == (None, "male", False)
    updates = [e for e in audit_entries(town.api, town.admin.auth, object_type="mediator", object_id=str(m["id"]))
               if e["action"] == "mediator.update"]
    assert len(updates) == 2 and all(e["status"] == 200 for e in updates)


def test_a_new_phone_is_encrypted_and_null_removes_it(town):
    m = add(town, town.admin.auth, phone="13600136001").json()
    assert change(town, town.admin.auth, m["id"], phone="+86 135 0013 5000").status == 200
    stored = town.psql(f"SELECT encode(phone, 'escape') FROM mediators WHERE id = {m['id']}")
    assert "13500135000" not in stored and "135 0013 5000" not in stored
    shown = town.api.get(f"/api/v1/mediators/{m['id']}", headers={**town.admin.auth, "X-Access-Purpose": "roster check"})
    assert shown.json()["phone"] == "+86 135 0013 5000"
    r = change(town, town.admin.auth, m["id"], phone=None)
    assert r.status == 200 and r.json()["phone_on_file"] is False
    assert town.psql(f"SELECT phone IS NULL AND phone_bidx IS NULL FROM mediators WHERE id = {m['id']}") == "t"


def test_committees_are_joined_and_left_from_today(town):
    today = town.psql("SELECT civil_today()")
    extra = town.api.post("/api/v1/committees", headers=town.admin.auth, json_body={
        "name": "城中区第二婚调室", "kind": "room", "region_code": "450202", "established_on": "2021-01-01"}).json()["id"]
    m = add(town, town.admin.auth).json()
    town.psql(f"UPDATE mediator_committees SET started_on = '2022-03-01' WHERE mediator_id = {m['id']}")
    r = change(town, town.admin.auth, m["id"], committees=[extra])
    assert r.status == 200, r
    got = r.json()
    assert got["committees"] == [extra]
    assert sorted((x["committee_id"], x["started_on"], x["ended_on"]) for x in got["memberships"]) == sorted([
        (town.committee["450202"], "2022-03-01", today), (extra, today, None)])
    # Coverage on an earlier day still counts the mediator where they served.
    cov = town.api.get("/api/v1/coverage?as_of=2023-01-01&region=450202", headers=town.admin.auth).json()
    assert cov["counties"][0]["mediators"] >= 1
    # Back again on the same day: one open membership, not two.
    r = change(town, town.admin.auth, m["id"], committees=[extra, town.committee["450202"]])
    assert sorted(r.json()["committees"]) == sorted([extra, town.committee["450202"]])
    assert town.psql(f"SELECT count(*) FROM mediator_committees WHERE mediator_id = {m['id']} AND ended_on IS NULL") == "2"


def test_county_staff_change_their_county_only(town):
    theirs = add(town, town.admin.auth, committees=[town.committee["450203"]]).json()
    assert_problem(change(town, town.fed.auth, theirs["id"], expert=True), 404, "not-found")
    assert town.api.get(f"/api/v1/mediators/{theirs['id']}", headers=town.admin.auth).json()["expert"] is False
    both = add(town, town.admin.auth, committees=[town.committee["450202"], town.committee["450203"]]).json()
    # Staff of 城中区 may not add a committee of 鱼峰区 ...
    r = change(town, town.fed.auth, both["id"], committees=[town.committee["450202"], town.committee["450203"]])
    assert_problem(r, 404, "not-found")
    # ... and leaving their own committees keeps the other county's membership.
    r = change(town, town.fed.auth, both["id"], committees=[])
    assert r.status == 200, r
    assert r.json()["committees"] == [town.committee["450203"]]
    # The county's history stays theirs to read.
    seen = town.api.get(f"/api/v1/mediators/{both['id']}", headers=town.fed.auth)
    assert seen.status == 200 and town.committee["450202"] in [
        x["committee_id"] for x in seen.json()["memberships"] if x["ended_on"] is not None]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"phone": "call me"},
        {"specialties": ["astrology"]},
        {"committees": [1, 1]},
        {"committees": "1"},
        {"active": "no"},
        {"name": ""},
        {"certified_on": "2025-02-30x"},
        {"id": 5},
    ],
)
def test_invalid_changes_are_refused(town, fields):
    m = add(town, town.admin.auth).json()
    assert_problem(change(town, town.admin.auth, m["id"], **fields), 400, "validation")


def test_a_change_to_an_unknown_mediator_or_committee_is_404(town):
    assert_problem(change(town, town.admin.auth, 999999999, expert=True), 404, "not-found")
    m = add(town, town.admin.auth).json()
    assert_problem(change(town, town.admin.auth, m["id"], committees=[999999999]), 404, "not-found")
    assert_problem(change(town, town.admin.auth, 999999999, phone="13800138000"), 404, "not-found")


def test_a_mediator_account_is_linked_to_one_record(town):
    a = town.admin.auth
    m = add(town, a).json()
    user = create_user(town.api, a, "mediator", prefix="linked")
    r = town.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a, json_body={"mediator_id": m["id"]})
    assert r.status == 200 and r.json()["mediator_id"] == m["id"], r
    me = town.api.get("/api/v1/me", headers=signed_in(town.api, user).auth).json()
    assert me["user"]["mediator_id"] == m["id"]
    # One account per record.
    other = create_user(town.api, a, "mediator", prefix="second")
    r = town.api.request("PATCH", f"/api/v1/users/{other.id}", headers=a, json_body={"mediator_id": m["id"]})
    assert_problem(r, 409, "conflict")
    # Only mediators' accounts are linked, and only to records that exist.
    hotline = create_user(town.api, a, "hotline", prefix="notmed")
    r = town.api.request("PATCH", f"/api/v1/users/{hotline.id}", headers=a, json_body={"mediator_id": m["id"]})
    assert_problem(r, 422, "unprocessable")
    r = town.api.request("PATCH", f"/api/v1/users/{other.id}", headers=a, json_body={"mediator_id": 999999999})
    assert_problem(r, 422, "unprocessable")
    r = town.api.post("/api/v1/users", headers=a, json_body={
        "username": "linked-hotline", "display_name": "x", "role": "hotline", "password": "a long password 1",
        "mediator_id": m["id"]})
    assert_problem(r, 400, "validation")
    # Created linked, then unlinked.
    fresh = add(town, a).json()
    r = town.api.post("/api/v1/users", headers=a, json_body={
        "username": f"med-{fresh['id']}", "display_name": "调解员", "role": "mediator",
        "password": "a long password 1", "mediator_id": fresh["id"]})
    assert r.status == 201 and r.json()["mediator_id"] == fresh["id"], r
    r = town.api.request("PATCH", f"/api/v1/users/{r.json()['id']}", headers=a, json_body={"mediator_id": None})
    assert r.status == 200 and r.json()["mediator_id"] is None


def test_a_dump_holds_none_of_the_phones_seeded_through_the_api(town):
    phones = [f"1510000{i:04d}" for i in range(200)]
    for phone in phones:
        assert add(town, town.admin.auth, phone=phone).status == 201
    dump = subprocess.run([PG_DUMP, "--no-owner", town.url], capture_output=True, timeout=120, env=clean_env())
    assert dump.returncode == 0, dump.stderr
    assert b"mediators" in dump.stdout
    assert [p for p in phones if p.encode() in dump.stdout] == []
