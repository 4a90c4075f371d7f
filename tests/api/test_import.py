"""Committee rosters from spreadsheets: a 500-row file with three bad rows
stores nothing and names the three lines; the fixed file imports fully."""

import pytest

from support import Installation, assert_problem, create_user, signed_in

HEADER = "name,kind,region_code,host_org,address,phone,purchased_service,established_on,closed_on"
COUNTIES = ["450202", "450203", "450204", "450205", "450206", "450222", "450223", "450224", "450225", "450226"]


@pytest.fixture(scope="module")
def roster(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        inst.fed = signed_in(inst.api, create_user(inst.api, inst.admin.auth, "federation", region="450202"))
        yield inst


def lines(n):
    out = []
    for i in range(n):
        county = COUNTIES[i % len(COUNTIES)]
        host = f'"{county}司法局, 人民调解委员会"' if i % 7 == 0 else ""
        out.append(f"婚调室 {i:03d},room,{county},{host},,0772-28{i:05d},{'yes' if i % 2 else 'no'},2021-0{1 + i % 9}-15,")
    return out


def send(inst, auth, text, content_type="text/csv; charset=utf-8", direct=False):
    client = inst.direct if direct else inst.api
    return client.post("/api/v1/import/committees", headers={**auth, "Content-Type": content_type},
                         body=text.encode("utf-8"))


def import_problem(r):
    """A 422 problem whose extra member is the list of errors by line."""
    assert r.status == 422, r
    assert r.content_type == "application/problem+json"
    body = r.json()
    assert body["type"] == "urn:tiaojie:problem:unprocessable" and body["status"] == 422
    assert set(body) == {"type", "title", "status", "detail", "instance", "request_id", "errors"}
    return body


def count(inst):
    return int(inst.psql("SELECT count(*) FROM committees"))


def test_three_bad_rows_store_nothing_and_are_named(roster):
    rows = lines(500)
    rows[9] = rows[9].replace(",room,", ",office,")          # line 11
    rows[249] = rows[249].replace("2021-", "2021/")           # line 251
    rows[499] = rows[499].replace(",45", ",99")               # line 502: no such region
    before = count(roster)
    r = send(roster, roster.admin.auth, "\ufeff" + HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    body = import_problem(r)
    assert [e["line"] for e in body["errors"]] == [11, 251, 501]
    assert "kind" in body["errors"][0]["message"] and "established_on" in body["errors"][1]["message"]
    assert "region" in body["errors"][2]["message"]
    assert count(roster) == before


def test_the_fixed_file_imports_fully(roster):
    before = count(roster)
    r = send(roster, roster.admin.auth, HEADER + "\n" + "\n".join(lines(500)) + "\n")
    assert r.status == 200, r
    assert r.json()["imported"] == 500 and len(r.json()["ids"]) == 500
    assert count(roster) == before + 500
    first = roster.api.get(f"/api/v1/committees/{r.json()['ids'][0]}", headers=roster.admin.auth).json()
    assert (first["name"], first["host_org"], first["phone"], first["purchased_service"]) == (
        "婚调室 000", "450202司法局, 人民调解委员会", "0772-2800000", False)
    imported = roster.psql("SELECT count(*) FROM audit_log WHERE action = 'committee.create'")
    assert int(imported) >= 500


def test_county_staff_import_only_their_county(roster):
    text = HEADER + "\n本区婚调室,room,450202,,,,,2022-01-01,\n他区婚调室,room,450203,,,,,2022-01-01,\n"
    body = import_problem(send(roster, roster.fed.auth, text))
    assert [e["line"] for e in body["errors"]] == [3]
    ok = send(roster, roster.fed.auth, HEADER + "\n本区婚调室,room,450202,,,,,2022-01-01,\n")
    assert ok.status == 200 and ok.json()["imported"] == 1


@pytest.mark.parametrize(
    "text",
    ["name,kind\nx,room\n", "", HEADER + '\n"unclosed,room,450202,,,,,2022-01-01,\n'],
)
def test_files_that_are_not_rosters(roster, text):
    r = send(roster, roster.admin.auth, text)
    assert r.status == 400, r


def test_only_csv_is_taken(roster):
    # Straight to the server: the proxy answers a body that is not JSON itself.
    r = send(roster, roster.admin.auth, HEADER + "\n", content_type="application/json", direct=True)
    assert_problem(r, 415, "unsupported-media-type")


# --- mediators ----------------------------------------------------------------------

M_HEADER = "name,gender,full_time,specialties,expert,phone,trained_on,certified_on,committees"


@pytest.fixture(scope="module")
def committees(roster):
    ids = {}
    for code in ("450202", "450203"):
        r = roster.api.post("/api/v1/committees", headers=roster.admin.auth,
                            json_body={"name": f"{code} 名册婚调委", "kind": "committee", "region_code": code,
                                       "established_on": "2020-06-18"})
        assert r.status == 201, r
        ids[code] = r.json()["id"]
    return ids


def mediator_lines(n, committees):
    a, b = committees["450202"], committees["450203"]
    return [f"调解员{i:03d},{'female' if i % 2 else 'male'},{'yes' if i % 3 else 'no'},law;psychology,"
            f"{'yes' if i % 10 == 0 else 'no'},1358800{i:04d},2024-0{1 + i % 9}-01,,{a}" + (f";{b}" if i % 5 == 0 else "")
            for i in range(n)]


def send_mediators(inst, auth, text):
    return inst.api.post("/api/v1/import/mediators", headers={**auth, "Content-Type": "text/csv"},
                         body=text.encode("utf-8"))


def test_mediator_roster_with_bad_rows_stores_nothing(roster, committees):
    rows = mediator_lines(300, committees)
    rows[4] = rows[4].replace("law;psychology", "law;astrology")            # line 6
    rows[99] = rows[99].replace(",1358800", ",call-")                        # line 101
    rows[299] = rows[299].rsplit(",", 1)[0] + ",999999"                       # line 301: no such committee
    before = roster.psql("SELECT count(*) FROM mediators")
    body = import_problem(send_mediators(roster, roster.admin.auth, M_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert [e["line"] for e in body["errors"]] == [6, 101, 301]
    assert roster.psql("SELECT count(*) FROM mediators") == before
    assert roster.psql("SELECT count(*) FROM data_keys") == roster.psql("SELECT count(*) FROM mediators")


def test_mediator_roster_imports_with_phones_encrypted(roster, committees):
    rows = mediator_lines(300, committees)
    r = send_mediators(roster, roster.admin.auth, M_HEADER + "\r\n" + "\r\n".join(rows) + "\r\n")
    assert r.status == 200, r
    assert r.json()["imported"] == 300
    first = r.json()["ids"][0]
    shown = roster.api.get(f"/api/v1/mediators/{first}",
                           headers={**roster.admin.auth, "X-Access-Purpose": "roster check"}).json()
    assert (shown["name"], shown["phone"], shown["specialties"], shown["full_time"]) == (
        "调解员000", "13588000000", ["law", "psychology"], False)
    assert roster.psql("SELECT count(*) FROM mediators WHERE phone::text LIKE '%1358800%'") == "0"


def test_county_staff_import_mediators_only_for_their_committees(roster, committees):
    line = f"外区调解员,female,yes,,no,,,,{committees['450203']}"
    body = import_problem(send_mediators(roster, roster.fed.auth, M_HEADER + "\n" + line + "\n"))
    assert [e["line"] for e in body["errors"]] == [2]
    ok = send_mediators(roster, roster.fed.auth, M_HEADER + f"\n本区调解员,male,no,,,,,,{committees['450202']}\n")
    assert ok.status == 200 and ok.json()["imported"] == 1


def test_every_row_naming_an_unknown_region_or_committee_is_named(roster, committees):
    """Several unknown values, anywhere in a row's list: each row that names
    one is listed, in the order of the lines."""
    known = committees["450202"]
    rows = [f"调解员甲,female,yes,,no,,,,{known}",
            f"调解员乙,female,yes,,no,,,,{known};999998",      # line 3
            f"调解员丙,male,no,,,,,,{known}",
            f"调解员丁,male,no,,,,,,999997;{known}",            # line 5
            f"调解员戊,male,no,,,,,,999996;999998;{known}"]     # line 6
    body = import_problem(send_mediators(roster, roster.admin.auth, M_HEADER + "\n" + "\n".join(rows) + "\n"))
    assert [e["line"] for e in body["errors"]] == [3, 5, 6]
    text = HEADER + "\n" + "\n".join(["甲,room,990101,,,,,2022-01-01,", "乙,room,450202,,,,,2022-01-01,",
                                      "丙,room,990102,,,,,2022-01-01,", "丁,room,990101,,,,,2022-01-01,"]) + "\n"
    body = import_problem(send(roster, roster.admin.auth, text))
    assert [e["line"] for e in body["errors"]] == [2, 4, 5]
