"""Adding regions (administrators), on a database of its own so that the
shared one keeps exactly the seeded hierarchy."""

import pytest

from support import Installation, assert_problem, audit_entries

GUILIN = {"code": "450300", "name": "桂林市", "level": "city", "parent_code": "450000"}


@pytest.fixture(scope="module")
def inst(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        yield inst


def test_a_city_is_added_under_the_province(inst):
    r = inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=GUILIN)
    assert r.status == 201, r
    assert r.json() == GUILIN
    assert r.header("Location") == "/api/v1/regions/450300"
    got = inst.api.get("/api/v1/regions/450300").json()
    assert [a["code"] for a in got["ancestors"]] == ["450000"]
    province = inst.api.get("/api/v1/regions/450000").json()
    assert [c["code"] for c in province["children"]] == ["450200", "450300"]


def test_the_addition_is_audited(inst):
    entries = audit_entries(inst.api, inst.admin.auth, object_type="region", object_id="450300")
    assert [(e["action"], e["status"], e["actor_id"]) for e in entries] == [
        ("region.create", 201, inst.admin.id)
    ]


def test_a_county_and_a_township_below_it(inst):
    county = {"code": "450302", "name": "秀峰区", "level": "county", "parent_code": "450300"}
    town = {"code": "450302001", "name": "秀峰街道", "level": "township", "parent_code": "450302"}
    for body in (county, town):
        r = inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=body)
        assert r.status == 201, r
    assert inst.api.get("/api/v1/regions?parent=450302").json()["items"] == [town]


def test_an_existing_code_is_a_conflict(inst):
    r = inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=GUILIN)
    assert_problem(r, 409, "conflict")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "450400", "name": "梧州市", "level": "city", "parent_code": "460000"},
        {"code": "450203001", "name": "无父街道", "level": "township", "parent_code": "450203999"},
    ],
)
def test_a_missing_parent_is_unprocessable(inst, body):
    assert_problem(inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=body), 422, "unprocessable")
    assert inst.api.get(f"/api/v1/regions/{body['code']}").status == 404


@pytest.mark.parametrize(
    "body",
    [
        # a city under a county, a county under a county, a province under nothing but with a parent
        {"code": "450500", "name": "北海市", "level": "city", "parent_code": "450202"},
        {"code": "450207", "name": "测试区", "level": "county", "parent_code": "450203"},
    ],
)
def test_a_parent_that_is_not_above_is_unprocessable(inst, body):
    assert_problem(inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=body), 422, "unprocessable")


@pytest.mark.parametrize(
    "body",
    [
        {"code": "4503", "name": "x", "level": "city", "parent_code": "450000"},
        {"code": "450600", "name": "", "level": "city", "parent_code": "450000"},
        {"code": "450600", "name": " 防城港市", "level": "city", "parent_code": "450000"},
        {"code": "450600", "name": "防城港市", "level": "metropolis", "parent_code": "450000"},
        {"code": "450600", "name": "防城港市", "level": "city"},
        {"code": "450600", "name": "防城港市", "level": "city", "parent_code": None},
        {"code": "460000", "name": "海南省", "level": "province", "parent_code": "450000"},
        {"code": "450600", "name": "防城港市", "level": "city", "parent_code": 450000},
        {"code": "450600", "name": "防城港市", "level": "city", "parent_code": "450000", "extra": 1},
        {"name": "防城港市", "level": "city", "parent_code": "450000"},
    ],
)
def test_invalid_bodies_are_refused(inst, body):
    assert_problem(inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=body), 400, "validation")
    code = body.get("code")
    if isinstance(code, str) and len(code) == 6:
        assert inst.api.get(f"/api/v1/regions/{code}").status == 404


def test_a_province_has_no_parent(inst):
    body = {"code": "460000", "name": "海南省", "level": "province", "parent_code": None}
    r = inst.api.post("/api/v1/regions", headers=inst.admin.auth, json_body=body)
    assert r.status == 201, r
    assert r.json() == body
