"""GET /api/v1/regions and GET /api/v1/regions/{code} against the seed data."""

import pytest

from support import assert_problem

PROVINCE = ("450000", "广西壮族自治区", "province", None)
CITY = ("450200", "柳州市", "city", "450000")
COUNTIES = [
    ("450202", "城中区"),
    ("450203", "鱼峰区"),
    ("450204", "柳南区"),
    ("450205", "柳北区"),
    ("450206", "柳江区"),
    ("450222", "柳城县"),
    ("450223", "鹿寨县"),
    ("450224", "融安县"),
    ("450225", "融水苗族自治县"),
    ("450226", "三江侗族自治县"),
]


def region(code, name, level, parent):
    return {"code": code, "name": name, "level": level, "parent_code": parent}


ALL = [region(*PROVINCE), region(*CITY)] + [region(c, n, "county", "450200") for c, n in COUNTIES]
ALL_CODES = [r["code"] for r in ALL]


def ref(code, name, level):
    return {"code": code, "name": name, "level": level}


def page(api, query):
    r = api.get("/api/v1/regions" + query)
    assert r.status == 200, r
    assert r.content_type == "application/json"
    body = r.json()
    assert set(body) == {"items", "next_after"}
    return body


# --- list -----------------------------------------------------------------------


def test_list_all(api):
    body = page(api, "")
    assert body["items"] == ALL
    assert body["next_after"] is None
    assert ALL_CODES == sorted(ALL_CODES) and len(ALL_CODES) == 12


def test_list_children_of_city(api):
    body = page(api, "?parent=450200")
    assert body["items"] == ALL[2:]
    assert body["next_after"] is None


def test_list_children_of_province(api):
    assert page(api, "?parent=450000") == {"items": [region(*CITY)], "next_after": None}


@pytest.mark.parametrize("parent", ["450202", "999999", "450202001", "450202001001"])
def test_list_children_of_leaf_or_unknown(api, parent):
    assert page(api, f"?parent={parent}") == {"items": [], "next_after": None}


@pytest.mark.parametrize(
    "level,codes",
    [
        ("province", ["450000"]),
        ("city", ["450200"]),
        ("county", [c for c, _ in COUNTIES]),
        ("township", []),
    ],
)
def test_list_by_level(api, level, codes):
    body = page(api, f"?level={level}")
    assert [r["code"] for r in body["items"]] == codes
    assert all(r["level"] == level for r in body["items"])
    assert body["next_after"] is None


def test_list_filters_combine(api):
    body = page(api, "?parent=450200&level=county&after=450206&limit=3")
    assert [r["code"] for r in body["items"]] == ["450222", "450223", "450224"]
    assert body["next_after"] == "450224"
    assert page(api, "?parent=450200&level=city") == {"items": [], "next_after": None}


def test_pagination_walks_everything_once(api):
    seen, pages, after = [], [], None
    while True:
        body = page(api, "?limit=5" + (f"&after={after}" if after else ""))
        pages.append([r["code"] for r in body["items"]])
        seen += body["items"]
        after = body["next_after"]
        if after is None:
            break
        assert after == body["items"][-1]["code"]
        assert len(pages) < 10
    assert [len(p) for p in pages] == [5, 5, 2]
    assert [p[-1] for p in pages[:2]] == ["450204", "450224"]
    assert seen == ALL


def test_pagination_with_parent(api):
    codes, after = [], None
    for _ in range(5):
        body = page(api, "?parent=450200&limit=4" + (f"&after={after}" if after else ""))
        codes += [r["code"] for r in body["items"]]
        after = body["next_after"]
        if after is None:
            break
    assert codes == [c for c, _ in COUNTIES]


@pytest.mark.parametrize(
    "limit,count,next_after",
    [("1", 1, "450000"), ("11", 11, "450225"), ("12", 12, None), ("1000", 12, None), ("007", 7, "450206")],
)
def test_limit(api, limit, count, next_after):
    body = page(api, f"?limit={limit}")
    assert body["items"] == ALL[:count]
    assert body["next_after"] == next_after


def test_after_last_is_empty(api):
    assert page(api, "?after=450226") == {"items": [], "next_after": None}
    assert page(api, "?after=000000")["items"] == ALL


@pytest.mark.parametrize(
    "query,name",
    [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=abc", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=1.5", "limit"),
        ("?limit=", "limit"),
        ("?limit=99999999999999999999999", "limit"),
        ("?level=County", "level"),
        ("?level=village", "level"),
        ("?level=", "level"),
        ("?parent=4502", "parent"),
        ("?parent=abc", "parent"),
        ("?parent=4502001", "parent"),
        ("?parent=", "parent"),
        ("?after=x", "after"),
        ("?after=45020", "after"),
        ("?foo=1", "foo"),
        ("?limit=5&Limit=5", "Limit"),
        ("?limit=5&limit=6", "limit"),
        ("?parent=450200&parent=450200", "parent"),
    ],
)
def test_list_bad_query(api, query, name):
    r = api.get("/api/v1/regions" + query)
    body = assert_problem(r, 400, "bad-request", instance="/api/v1/regions")
    assert f"'{name}'" in body["detail"], body


@pytest.mark.parametrize("query", ["?limit", "?parent", "?level", "?after"])
def test_list_parameter_without_value(direct, query):
    # A parameter without "=" is a parameter with an empty value, which is
    # not a valid value for any of these. Straight to the server: the proxy
    # rewrites "?limit" to "?limit=".
    r = direct.get("/api/v1/regions" + query)
    assert_problem(r, 400, "bad-request", instance="/api/v1/regions", detail_has=query[1:])


# --- one region ------------------------------------------------------------------


def detail(api, code):
    r = api.get(f"/api/v1/regions/{code}")
    assert r.status == 200, r
    assert r.content_type == "application/json"
    return r.json()


def test_get_county(api):
    assert detail(api, "450202") == {
        "code": "450202",
        "name": "城中区",
        "level": "county",
        "parent_code": "450200",
        "ancestors": [ref("450000", "广西壮族自治区", "province"), ref("450200", "柳州市", "city")],
        "children": [],
    }


def test_get_city(api):
    assert detail(api, "450200") == {
        "code": "450200",
        "name": "柳州市",
        "level": "city",
        "parent_code": "450000",
        "ancestors": [ref("450000", "广西壮族自治区", "province")],
        "children": [ref(c, n, "county") for c, n in COUNTIES],
    }


def test_get_province(api):
    assert detail(api, "450000") == {
        "code": "450000",
        "name": "广西壮族自治区",
        "level": "province",
        "parent_code": None,
        "ancestors": [],
        "children": [ref("450200", "柳州市", "city")],
    }


@pytest.mark.parametrize("code", [c for c, _ in COUNTIES])
def test_get_every_county(api, code):
    body = detail(api, code)
    assert body["name"] == dict(COUNTIES)[code]
    assert [a["code"] for a in body["ancestors"]] == ["450000", "450200"]
    assert body["children"] == []


@pytest.mark.parametrize("code", ["450299", "000000", "450202001", "450202001001"])
def test_get_unknown(api, code):
    body = assert_problem(api.get(f"/api/v1/regions/{code}"), 404, "not-found")
    assert code in body["detail"]


@pytest.mark.parametrize(
    "code,decoded",
    [
        ("abc", "abc"),
        ("4502", "4502"),
        ("45020212345678", "45020212345678"),
        ("4502021", "4502021"),
        ("45020a", "45020a"),
        ("450%20202", "450 202"),
        ("-45020", "-45020"),
        ("4502.0", "4502.0"),
        ("%34%35%30%32%30%32x", "450202x"),
    ],
)
def test_get_malformed_code(api, code, decoded):
    assert_problem(api.get(f"/api/v1/regions/{code}"), 400, "bad-request", instance=f"/api/v1/regions/{decoded}")


def test_get_percent_encoded_code(api):
    assert detail(api, "%34%35%30%32%30%32")["code"] == "450202"


def test_get_non_ascii_code(api):
    r = api.get("/api/v1/regions/%E6%9F%B3%E5%B7%9E")
    assert_problem(r, 400, "bad-request", instance="/api/v1/regions/柳州")


def test_get_refuses_query_parameters(api):
    body = assert_problem(
        api.get("/api/v1/regions/450202?limit=5"), 400, "bad-request", instance="/api/v1/regions/450202"
    )
    assert "'limit'" in body["detail"]


@pytest.mark.parametrize(
    "path", ["/api/v1/regions/", "/api/v1/regions/450202/", "/api/v1/regions/450202/children"]
)
def test_get_paths_that_are_not_regions(api, path):
    assert_problem(api.get(path), 404, "not-found")


@pytest.mark.parametrize("path", ["/api/v1/regions//450202", "//api/v1/regions/450202", "//healthz"])
def test_empty_segments_are_not_collapsed(direct, path):
    # Straight to the server: the proxy collapses "//" before forwarding.
    assert_problem(direct.get(path), 404, "not-found")
