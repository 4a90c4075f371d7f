"""The committee registry, on an installation of its own: a city where two
counties have no committee yet, staff confined to their county, closing
instead of deleting, and the registry as it stood on earlier dates."""

import pytest

from support import Installation, assert_problem, audit_entries, create_user, signed_in

COUNTIES = ["450202", "450203", "450204", "450205", "450206", "450222", "450223", "450224", "450225", "450226"]


@pytest.fixture(scope="module")
def city(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        a = inst.admin.auth
        inst.fed_chengzhong = signed_in(inst.api, create_user(inst.api, a, "federation", region="450202"))
        inst.fed_yufeng = signed_in(inst.api, create_user(inst.api, a, "federation", region="450203"))
        inst.fed_city = signed_in(inst.api, create_user(inst.api, a, "federation", region="450200"))
        inst.hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        # Every county but 融安县 (450224) and 三江侗族自治县 (450226) has a committee.
        inst.ids = {}
        for code in COUNTIES:
            if code in ("450224", "450226"):
                continue
            inst.ids[code] = make(inst, a, f"{code} 婚调委", "committee", code, "2020-06-18")["id"]
        inst.guidance = make(inst, a, "柳州市婚调指导委", "guidance", "450200", "2019-03-01", purchased_service=True)
        yield inst


def make(inst, auth, name, kind, region, established, **extra):
    body = {"name": name, "kind": kind, "region_code": region, "established_on": established, **extra}
    r = inst.api.post("/api/v1/committees", headers=auth, json_body=body)
    assert r.status == 201, r
    c = r.json()
    assert r.header("Location") == f"/api/v1/committees/{c['id']}"
    return c


def listing(inst, auth, query=""):
    items, after = [], None
    while True:
        q = f"?limit=3{query}" + (f"&after={after}" if after else "")
        r = inst.api.get("/api/v1/committees" + q, headers=auth)
        assert r.status == 200, r
        items += r.json()["items"]
        after = r.json()["next_after"]
        if after is None:
            return items


def counties_covered(inst, on):
    active = listing(inst, inst.admin.auth, f"&active_on={on}&level=county")
    return sorted({c["region_code"] for c in active if c["kind"] in ("committee", "room")})


def test_a_committee_reads_back_whole(city):
    c = city.api.get(f"/api/v1/committees/{city.guidance['id']}", headers=city.hotline.auth).json()
    assert c == city.guidance
    assert (c["kind"], c["level"], c["region_code"], c["purchased_service"], c["active"], c["closed_on"]) == (
        "guidance", "city", "450200", True, True, None
    )


def test_two_counties_have_none_and_then_one_gets_a_room(city):
    assert counties_covered(city, "2026-01-01") == sorted(set(COUNTIES) - {"450224", "450226"})
    room = make(city, city.admin.auth, "融安县婚调室", "room", "450224", "2026-03-08")
    assert counties_covered(city, "2026-03-07") == sorted(set(COUNTIES) - {"450224", "450226"})
    assert counties_covered(city, "2026-03-08") == sorted(set(COUNTIES) - {"450226"})
    assert room["active"] in (True, False)  # depends on today's date in China


def test_closing_keeps_the_past(city):
    cid = city.ids["450205"]
    r = city.api.request("PATCH", f"/api/v1/committees/{cid}", headers=city.admin.auth, json_body={"closed_on": "2026-02-01"})
    assert r.status == 200, r
    assert r.json()["closed_on"] == "2026-02-01" and r.json()["active"] is False
    assert "450205" in counties_covered(city, "2026-01-31")
    assert "450205" not in counties_covered(city, "2026-02-01")
    # Still there, never deleted.
    assert city.api.get(f"/api/v1/committees/{cid}", headers=city.admin.auth).status == 200
    entries = audit_entries(city.api, city.admin.auth, object_type="committee", object_id=str(cid))
    assert [e["action"] for e in entries] == ["committee.update", "committee.create"]


def test_county_staff_see_and_change_only_their_county(city):
    mine, theirs = city.ids["450202"], city.ids["450203"]
    fed = city.fed_chengzhong.auth
    assert [c["region_code"] for c in listing(city, fed)] == ["450202"]
    assert city.api.get(f"/api/v1/committees/{mine}", headers=fed).status == 200
    assert_problem(city.api.get(f"/api/v1/committees/{theirs}", headers=fed), 404, "not-found")
    r = city.api.request("PATCH", f"/api/v1/committees/{theirs}", headers=fed, json_body={"host_org": "x"})
    assert_problem(r, 404, "not-found")
    assert city.psql(f"SELECT host_org IS NULL FROM committees WHERE id = {theirs}") == "t"
    r = city.api.post(
        "/api/v1/committees",
        headers=fed,
        json_body={"name": "越界", "kind": "room", "region_code": "450203", "established_on": "2026-01-01"},
    )
    assert_problem(r, 404, "not-found")
    # Moving their own committee out of their county is refused the same way.
    r = city.api.request("PATCH", f"/api/v1/committees/{mine}", headers=fed, json_body={"region_code": "450203"})
    assert_problem(r, 404, "not-found")
    assert city.psql(f"SELECT region_code FROM committees WHERE id = {mine}") == "450202"


def test_county_staff_may_add_a_street_room_in_their_county(city):
    city.api.post(
        "/api/v1/regions",
        headers=city.admin.auth,
        json_body={"code": "450202001", "name": "城中街道", "level": "township", "parent_code": "450202"},
    )
    room = make(city, city.fed_chengzhong.auth, "城中街道婚调室", "room", "450202001", "2026-04-01")
    assert room["level"] == "township"
    assert room["region_code"] in [c["region_code"] for c in listing(city, city.fed_chengzhong.auth, "&region=450202")]


def test_city_staff_see_every_county(city):
    seen = {c["region_code"] for c in listing(city, city.fed_city.auth)}
    assert {"450200", "450202", "450203"} <= seen


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "room", "region_code": "450202", "established_on": "2026-01-01"},
        {"name": "x", "kind": "office", "region_code": "450202", "established_on": "2026-01-01"},
        {"name": "x", "kind": "room", "region_code": "4502", "established_on": "2026-01-01"},
        {"name": "x", "kind": "room", "region_code": "450202", "established_on": "2026-13-01"},
        {"name": "x", "kind": "room", "region_code": "450202", "established_on": "2026-01-01", "closed_on": "soon"},
        {"name": "x", "kind": "room", "region_code": "450202", "established_on": "2026-01-01", "purchased_service": "yes"},
        {"name": "x", "kind": "room", "region_code": "450202", "established_on": "2026-01-01", "colour": "red"},
    ],
)
def test_invalid_committees_are_refused(city, body):
    assert_problem(city.api.post("/api/v1/committees", headers=city.admin.auth, json_body=body), 400, "validation")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "无处", "kind": "room", "region_code": "450299", "established_on": "2026-01-01"},
        {"name": "倒序", "kind": "room", "region_code": "450202", "established_on": "2026-05-01", "closed_on": "2026-04-01"},
        {"name": "电话", "kind": "room", "region_code": "450202", "established_on": "2026-05-01", "phone": "call me"},
        {"name": "二月", "kind": "room", "region_code": "450202", "established_on": "2026-02-30"},
    ],
)
def test_committees_that_cannot_hold_are_unprocessable(city, body):
    r = city.api.post("/api/v1/committees", headers=city.admin.auth, json_body=body)
    assert_problem(r, 422, "unprocessable")
    assert city.psql(f"SELECT count(*) FROM committees WHERE name = '{body['name']}'") == "0"


def test_bad_list_queries(city):
    for q in ("kind=office", "level=street", "active_on=today", "region=45", "limit=0", "colour=red"):
        assert_problem(city.api.get(f"/api/v1/committees?{q}", headers=city.admin.auth), 400, "bad-request")


# --- coverage ----------------------------------------------------------------------


def coverage(inst, auth, **query):
    q = "&".join(f"{k}={v}" for k, v in query.items())
    r = inst.api.get(f"/api/v1/coverage?{q}", headers=auth)
    assert r.status == 200, r
    return r.json()


def covered_codes(body):
    return [c["region_code"] for c in body["counties"] if c["covered"]]


def test_coverage_on_a_past_day(city):
    body = coverage(city, city.admin.auth, region="450200", as_of="2026-01-01")
    assert body["as_of"] == "2026-01-01" and body["region_code"] == "450200"
    assert [c["region_code"] for c in body["counties"]] == COUNTIES
    assert covered_codes(body) == [c for c in COUNTIES if c not in ("450224", "450226")]
    assert body["totals"]["counties"] == 10
    assert body["totals"]["counties_covered"] == 8
    # Before the guidance committee existed, the city has none.
    before = coverage(city, city.admin.auth, region="450200", as_of="2019-01-01")
    assert before["totals"]["counties_covered"] == 0


def test_coverage_follows_rooms_added_and_committees_closed(city):
    # (earlier tests: a room in 融安县 from 2026-03-08; 柳北区 closed on 2026-02-01)
    body = coverage(city, city.admin.auth, region="450200", as_of="2026-06-30")
    covered = covered_codes(body)
    assert "450224" in covered and "450205" not in covered and "450226" not in covered


def test_coverage_against_the_target_and_new_committees(city):
    city.api.request("PUT", "/api/v1/targets/2026", headers=city.admin.auth,
                     json_body={"region_code": "450200", "new_committees": 4, "every_county_covered": True,
                                "pilot_districts": ["450202"]})
    make(city, city.admin.auth, "新建婚调委一", "committee", "450226", "2026-05-01")
    totals = coverage(city, city.admin.auth, region="450200", as_of="2026-06-30")["totals"]
    assert totals["target_new_committees"] == 4 and totals["every_county_covered_required"] is True
    assert totals["new_committees"] == 1
    assert coverage(city, city.admin.auth, region="450200", as_of="2026-04-30")["totals"]["new_committees"] == 0


def test_a_pilot_districts_street_coverage_moves_as_rooms_are_added(city):
    for n in range(2, 5):
        city.api.post("/api/v1/regions", headers=city.admin.auth,
                      json_body={"code": f"450202{n:03d}", "name": f"城中第{n}街道", "level": "township", "parent_code": "450202"})
    def pilot(day):
        body = coverage(city, city.admin.auth, region="450200", as_of=day)
        (p,) = body["pilot_districts"]
        return p["region_code"], p["streets"], p["streets_covered"], p["share"]
    # 450202001 got a room on 2026-04-01 (an earlier test); four streets in all.
    assert pilot("2026-06-30") == ("450202", 4, 1, 0.25)
    make(city, city.fed_chengzhong.auth, "第二街道婚调室", "room", "450202002", "2026-07-01")
    assert pilot("2026-06-30") == ("450202", 4, 1, 0.25)
    assert pilot("2026-07-01") == ("450202", 4, 2, 0.5)


def test_county_staff_get_their_county_by_default_and_nothing_else(city):
    body = coverage(city, city.fed_chengzhong.auth, as_of="2026-06-30")
    assert body["region_code"] == "450202" and [c["region_code"] for c in body["counties"]] == ["450202"]
    r = city.api.get("/api/v1/coverage?region=450203", headers=city.fed_chengzhong.auth)
    assert_problem(r, 404, "not-found")
    assert_problem(city.api.get("/api/v1/coverage?region=450200", headers=city.fed_chengzhong.auth), 404, "not-found")


def test_coverage_needs_a_region_from_an_administrator_and_good_values(city):
    for q in ("", "?region=45", "?region=450200&as_of=yesterday", "?region=450200&colour=red",
              "?region=450200&as_of=2026-02-30"):
        assert_problem(city.api.get(f"/api/v1/coverage{q}", headers=city.admin.auth), 400, "bad-request")
    assert_problem(city.api.get("/api/v1/coverage?region=450299", headers=city.admin.auth), 404, "not-found")


def test_coverage_as_csv_opens_in_excel(city):
    r = city.api.get("/api/v1/coverage?region=450200&as_of=2026-06-30",
                     headers={**city.admin.auth, "Accept": "text/csv"})
    assert r.status == 200, r
    assert r.header("Content-Type") == "text/csv; charset=utf-8"
    assert r.body.startswith(b"\xef\xbb\xbf")
    lines = r.body[3:].decode("utf-8").split("\r\n")
    assert lines[0] == "region_code,name,committees,rooms,guidance,covered,mediators,experts,referrals_to_guidance"
    assert lines[-1] == ""
    rows = [line.split(",") for line in lines[1:-1]]
    assert [row[0] for row in rows] == COUNTIES
    assert dict((row[0], row[1]) for row in rows)["450225"] == "融水苗族自治县"
    assert dict((row[0], row[5]) for row in rows)["450224"] == "yes"
