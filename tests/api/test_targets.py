"""The plan's targets per year and region: seeded for the city from the
plan (2020: four new committees, every county covered), set by
administrators, read by administrators and federation staff."""

import pytest

from support import Installation, assert_problem, audit_entries, create_user, signed_in


@pytest.fixture(scope="module")
def plan(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        inst.county = signed_in(inst.api, create_user(inst.api, inst.admin.auth, "federation", region="450202"))
        inst.hotline = signed_in(inst.api, create_user(inst.api, inst.admin.auth, "hotline"))
        yield inst


def test_the_plan_is_seeded(plan):
    body = plan.api.get("/api/v1/targets/2020", headers=plan.admin.auth).json()
    assert body["year"] == 2020
    assert [(t["region_code"], t["new_committees"], t["every_county_covered"], t["pilot_districts"])
            for t in body["targets"]] == [("450200", 4, True, [])]


def test_a_year_without_targets_is_empty(plan):
    assert plan.api.get("/api/v1/targets/2031", headers=plan.admin.auth).json() == {"year": 2031, "targets": []}


def test_an_administrator_sets_and_replaces_a_target(plan):
    body = {"region_code": "450200", "new_committees": 6, "every_county_covered": True,
            "pilot_districts": ["450202", "450203"]}
    r = plan.api.request("PUT", "/api/v1/targets/2026", headers=plan.admin.auth, json_body=body)
    assert r.status == 200, r
    assert (r.json()["new_committees"], r.json()["pilot_districts"]) == (6, ["450202", "450203"])
    body["new_committees"] = 5
    plan.api.request("PUT", "/api/v1/targets/2026", headers=plan.admin.auth, json_body=body)
    got = plan.api.get("/api/v1/targets/2026", headers=plan.admin.auth).json()["targets"]
    assert [(t["region_code"], t["new_committees"]) for t in got] == [("450200", 5)]
    entries = audit_entries(plan.api, plan.admin.auth, object_type="target", object_id="2026/450200")
    assert [e["action"] for e in entries] == ["target.put", "target.put"]


def test_county_staff_read_their_targets_and_those_above(plan):
    plan.api.request("PUT", "/api/v1/targets/2027", headers=plan.admin.auth,
                     json_body={"region_code": "450203", "new_committees": 1, "every_county_covered": False})
    plan.api.request("PUT", "/api/v1/targets/2027", headers=plan.admin.auth,
                     json_body={"region_code": "450200", "new_committees": 2, "every_county_covered": True})
    seen = [t["region_code"] for t in plan.api.get("/api/v1/targets/2027", headers=plan.county.auth).json()["targets"]]
    assert seen == ["450200"]
    r = plan.api.request("PUT", "/api/v1/targets/2027", headers=plan.county.auth,
                         json_body={"region_code": "450202", "new_committees": 9, "every_county_covered": True})
    assert_problem(r, 403, "forbidden")
    assert_problem(plan.api.get("/api/v1/targets/2027", headers=plan.hotline.auth), 403, "forbidden")


@pytest.mark.parametrize(
    "body,status,slug",
    [
        ({"region_code": "450200", "new_committees": -1, "every_county_covered": True}, 400, "validation"),
        ({"region_code": "450200", "new_committees": 1}, 400, "validation"),
        ({"region_code": "450200", "new_committees": 1, "every_county_covered": "yes"}, 400, "validation"),
        ({"region_code": "450200", "new_committees": 1, "every_county_covered": True, "goal": 1}, 400, "validation"),
        ({"region_code": "450299", "new_committees": 1, "every_county_covered": True}, 422, "unprocessable"),
        ({"region_code": "450200", "new_committees": 1, "every_county_covered": True, "pilot_districts": ["450200"]}, 422, "unprocessable"),
        ({"region_code": "450202", "new_committees": 1, "every_county_covered": True, "pilot_districts": ["450203"]}, 422, "unprocessable"),
    ],
)
def test_bad_targets_are_refused(plan, body, status, slug):
    r = plan.api.request("PUT", "/api/v1/targets/2028", headers=plan.admin.auth, json_body=body)
    assert_problem(r, status, slug)
    assert plan.api.get("/api/v1/targets/2028", headers=plan.admin.auth).json()["targets"] == []


@pytest.mark.parametrize("year", ["1999", "2101", "twenty", "2020x"])
def test_bad_years_are_refused(plan, year):
    assert_problem(plan.api.get(f"/api/v1/targets/{year}", headers=plan.admin.auth), 400, "bad-request")
