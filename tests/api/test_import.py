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
