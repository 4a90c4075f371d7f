"""`tiaojie gen-demo`: made-up data stored as the service stores its own. On
an installation of its own: the counts asked for, case numbers gapless per
county and year, a generated case that an administrator reads decrypted
through the API, none of the personal data in the clear anywhere in the
database, the dashboard agreeing with the cases it counts, and the audit
chain whole."""

import re
import subprocess
from collections import Counter

import pytest

from support import Installation, clean_env, run_cli

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
COUNTIES, CASES = 3, 200
DEMO_REGION = "left(code, 2) BETWEEN '83' AND '99'"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def id_number_valid(s):
    """GB 11643: 17 digits and the check character over them."""
    if not re.fullmatch(r"[0-9]{17}[0-9X]", s):
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(s, ID_WEIGHTS)) % 11] == s[17]


@pytest.fixture(scope="module")
def demo(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        proc = run_cli(["gen-demo", "--counties", str(COUNTIES), "--cases", str(CASES), "--seed", "7"],
                       timeout=120, DATABASE_URL=inst.url)
        assert proc.returncode == 0, proc.stderr
        inst.out = proc.stdout
        inst.purpose = {**inst.admin.auth, "X-Access-Purpose": "demo data check"}
        yield inst


def rows(inst, sql):
    out = inst.psql(sql)
    return [line.split("|") for line in out.splitlines()] if out else []


def test_makes_what_was_asked(demo):
    assert demo.psql(f"SELECT count(*) FROM regions WHERE level = 'county' AND {DEMO_REGION}") == str(COUNTIES)
    assert demo.psql("SELECT count(*) FROM cases") == str(CASES)
    # 1 to 3 committees or rooms per county, each with mediators; a guidance committee per city.
    per_county = rows(demo, "SELECT region_code, count(*) FROM committees WHERE kind <> 'guidance' GROUP BY 1")
    assert len(per_county) == COUNTIES and all(1 <= int(n) <= 3 for _, n in per_county)
    cities = demo.psql(f"SELECT count(*) FROM regions WHERE level = 'city' AND {DEMO_REGION}")
    assert demo.psql("SELECT count(*) FROM committees WHERE kind = 'guidance'") == cities
    assert demo.psql("SELECT count(*) FROM committees k WHERE NOT EXISTS (SELECT 1 FROM mediator_committees mc"
                     " WHERE mc.committee_id = k.id AND mc.ended_on IS NULL)") == "0"
    assert int(demo.psql("SELECT count(*) FROM mediators WHERE expert")) > 0
    # 2 or 3 parties a case, every case's; what the command printed is what is there.
    assert rows(demo, "SELECT count(DISTINCT case_id), min(n), max(n), sum(n) FROM"
                      " (SELECT case_id, count(*) AS n FROM parties GROUP BY 1) p")[0][:3] == [str(CASES), "2", "3"]
    m = re.search(r"made (\d+) cases with (\d+) parties, (\d+) sessions, (\d+) follow-ups, (\d+) workflow events; "
                  r"(\d+) referrals", demo.out)
    assert m, demo.out
    for n, table in zip(m.groups(), ("cases", "parties", "case_sessions", "followups", "case_events", "referrals")):
        assert demo.psql(f"SELECT count(*) FROM {table}") == n, table
    # A realistic mix: mostly closed, some of everything else; about one in ten from a referral.
    statuses = dict(rows(demo, "SELECT status, count(*) FROM cases GROUP BY 1"))
    assert int(statuses.get("closed", 0)) > CASES / 2 and len(statuses) >= 3, statuses
    assert 5 <= int(m[6]) <= 50
    assert int(demo.psql("SELECT count(*) FROM referrals WHERE status = 'accepted' AND case_id IS NOT NULL")) > 0
    assert len(rows(demo, "SELECT DISTINCT dispute_type FROM cases")) >= 6
    # Received over the last five years, accepted and closed after that.
    assert demo.psql("SELECT count(*) FROM cases WHERE received_at < now() - interval '5 years 1 day'"
                     " OR received_at > now() OR accepted_at < received_at OR closed_at < received_at"
                     " OR closed_at < accepted_at") == "0"
    assert int(demo.psql("SELECT count(DISTINCT extract(year FROM received_at)) FROM cases")) >= 5


def test_refuses_a_database_with_demo_data(demo):
    proc = run_cli(["gen-demo", "--counties", "1", "--cases", "1"], DATABASE_URL=demo.url)
    assert proc.returncode == 2 and "demo data already" in proc.stderr, proc.stderr
    assert demo.psql("SELECT count(*) FROM cases") == str(CASES)


def test_bad_arguments_are_refused(demo):
    for args in (["--counties", "3"], ["--cases", "5"], ["--counties", "0", "--cases", "5"],
                 ["--counties", "2", "--cases", "x"], ["--counties", "2", "--cases", "5", "--jobs", "0"],
                 ["--counties", "2", "--cases", "5", "--colour", "red"]):
        proc = run_cli(["gen-demo", *args], DATABASE_URL=demo.url)
        assert proc.returncode == 2 and "usage: tiaojie gen-demo" in proc.stderr, (args, proc.stderr)


def test_case_numbers_are_gapless_per_county_and_year(demo):
    got = rows(demo, "SELECT county_code, extract(year FROM received_at AT TIME ZONE 'Asia/Shanghai')::int,"
                     " count(*), min(right(number, 4)::int), max(right(number, 4)::int),"
                     " count(DISTINCT number), bool_and(number LIKE county_code || '-' ||"
                     " extract(year FROM received_at AT TIME ZONE 'Asia/Shanghai') || '-%')"
                     " FROM cases GROUP BY 1, 2 ORDER BY 1, 2")
    assert len(got) >= COUNTIES * 5
    for county, year, n, lo, hi, distinct, prefixed in got:
        assert (lo, hi, distinct, prefixed) == ("1", n, n, "t"), (county, year)
        assert demo.psql(f"SELECT last FROM case_counters WHERE county_code = '{county}' AND year = {year}") == n
    # Numbered in the order received.
    assert demo.psql("SELECT count(*) FROM cases a JOIN cases b ON a.county_code = b.county_code"
                     " AND left(a.number, 11) = left(b.number, 11) AND a.number < b.number"
                     " AND a.received_at > b.received_at") == "0"


def read(demo, case_id, headers):
    r = demo.api.get(f"/api/v1/cases/{case_id}", headers=headers)
    assert r.status == 200, r
    return r.json()


def test_a_generated_case_reads_decrypted(demo):
    case_id = demo.psql("SELECT c.id FROM cases c WHERE c.agreement IS NOT NULL AND c.referral_id IS NOT NULL"
                        " AND EXISTS (SELECT 1 FROM followups f WHERE f.case_id = c.id) ORDER BY c.id LIMIT 1")
    if not case_id:
        case_id = demo.psql("SELECT id FROM cases WHERE agreement IS NOT NULL ORDER BY id LIMIT 1")
    doc = read(demo, case_id, demo.purpose)
    assert doc["summary"] and doc["outcome"]["agreement"].startswith("经调解")
    assert len(doc["parties"]) in (2, 3)
    for p in doc["parties"]:
        assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", p["name"]), p
        assert p.get("id_number") is None or id_number_valid(p["id_number"]), p
        assert p.get("phone") is None or re.fullmatch(r"1[3-9][0-9]{9}", p["phone"]), p
    assert all(s["notes"].startswith("第") for s in doc["sessions"])
    assert doc["events"][0]["to"] == "registered" and doc["events"][-1]["to"] == doc["status"]
    assert doc["version"] >= len(doc["events"])
    # Without a stated purpose, the same case without its personal data.
    plain = read(demo, case_id, demo.admin.auth)
    assert "summary" not in plain and all("name" not in p for p in plain["parties"])

    # Every generated case decrypts: each has its own key, bound to its rows.
    for cid in demo.psql("SELECT id FROM cases ORDER BY random() LIMIT 15").split():
        doc = read(demo, cid, demo.purpose)
        assert doc["summary"] and all(p["name"] for p in doc["parties"]), cid


def test_no_personal_data_in_the_clear(demo):
    values = set()
    for cid in demo.psql("SELECT id FROM cases WHERE agreement IS NOT NULL ORDER BY id LIMIT 5").split():
        doc = read(demo, cid, demo.purpose)
        values |= {doc["summary"], doc["outcome"]["agreement"]}
        for p in doc["parties"]:
            values |= {v for k, v in p.items() if k in ("name", "id_number", "phone", "address") and v}
        for s in doc["sessions"]:
            values |= {s["place"], s["attendees"], s["notes"]}
    ref = demo.psql("SELECT id FROM referrals ORDER BY id LIMIT 1")
    r = demo.api.get(f"/api/v1/referrals/{ref}", headers=demo.purpose)
    assert r.status == 200, r
    values |= {r.json()["caller_name"], r.json()["caller_phone"], r.json()["summary"]}
    med = demo.psql("SELECT id FROM mediators WHERE phone IS NOT NULL ORDER BY id LIMIT 1")
    r = demo.api.get(f"/api/v1/mediators/{med}", headers=demo.purpose)
    assert r.status == 200 and r.json()["phone"], r
    values.add(r.json()["phone"])
    values.discard(None)
    assert len(values) > 20

    # Not in the columns that hold them, as text or as bytes...
    for name in [v for v in values if re.fullmatch(r"[\u4e00-\u9fff]{2,4}", v)][:5]:
        assert demo.psql(f"SELECT count(*) FROM parties WHERE encode(name, 'escape') LIKE '%{name}%'"
                         f" OR position(convert_to('{name}', 'UTF8') IN name) > 0") == "0"
    # ...nor anywhere in a dump of the whole database, in the clear or hex-encoded.
    dump = subprocess.run([PG_DUMP, "--no-owner", "--data-only", demo.url], capture_output=True, timeout=120,
                          env=clean_env())
    assert dump.returncode == 0, dump.stderr
    text = dump.stdout.decode("utf-8", "replace")
    for v in values:
        assert v not in text, v
        assert v.encode().hex() not in text, v


def test_dashboard_agrees_with_the_cases(demo):
    county = demo.psql("SELECT county_code FROM cases GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    r = demo.api.get(f"/api/v1/dashboard/cases?region={county}&group_by=month", headers=demo.admin.auth)
    assert r.status == 200, r
    doc = r.json()
    totals = doc["totals"]
    assert totals["cases"] == int(demo.psql(f"SELECT count(*) FROM cases WHERE county_code = '{county}'"))
    statuses = Counter({s: int(n) for s, n in rows(demo, f"SELECT status, count(*) FROM cases"
                                                          f" WHERE county_code = '{county}' GROUP BY 1")})
    assert totals["status"] == {s: statuses[s] for s in totals["status"]}
    results = Counter({s: int(n) for s, n in rows(demo, f"SELECT result, count(*) FROM cases"
                                                         f" WHERE county_code = '{county}' AND result IS NOT NULL"
                                                         " GROUP BY 1")})
    assert totals["results"] == {s: results[s] for s in totals["results"]}
    counted = rows(demo, "SELECT count(*) FILTER (WHERE c.dv_flag), count(*) FILTER (WHERE c.minors_involved),"
                         " count(*) FILTER (WHERE c.difficulty = 'difficult'),"
                         " (SELECT count(*) FROM followups f JOIN cases x ON x.id = f.case_id"
                         f"  WHERE x.county_code = '{county}'),"
                         " (SELECT count(*) FROM expert_requests e JOIN cases x ON x.id = e.case_id"
                         f"  WHERE x.county_code = '{county}' AND e.expert_id IS NOT NULL)"
                         f" FROM cases c WHERE c.county_code = '{county}'")[0]
    assert [totals["domestic_violence"]["cases"], totals["minors_involved"], totals["difficult"],
            totals["followups"]["visits"], totals["experts"]["assigned"]] == [int(n) for n in counted]
    # By month of receipt (China Standard Time), the same cases.
    months = dict(rows(demo, "SELECT to_char(received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), count(*)"
                             f" FROM cases WHERE county_code = '{county}' GROUP BY 1"))
    assert {g["key"]: g["cases"] for g in doc["groups"]} == {k: int(n) for k, n in months.items()}

    r = demo.api.get(f"/api/v1/dashboard/referrals?region={county}", headers=demo.admin.auth)
    assert r.status == 200, r
    got = r.json()["totals"]
    want = rows(demo, "SELECT count(*), count(*) FILTER (WHERE status = 'accepted'),"
                      " count(*) FILTER (WHERE status = 'returned'),"
                      " (SELECT count(*) FROM referral_declines d JOIN referrals x ON x.id = d.referral_id"
                      f"  WHERE x.county_code = '{county}') FROM referrals WHERE county_code = '{county}'")[0]
    assert [got["received"], got["accepted"], got["returned"], got["declines"]] == [int(n) for n in want]


def test_the_audit_trail_is_whole_and_names_the_generator(demo):
    assert demo.psql("SELECT count(*) FROM audit_log WHERE action = 'case.create'"
                     " AND actor_username = 'tiaojie gen-demo' AND request_id = 'gen-demo'") == str(CASES)
    proc = run_cli(["audit", "verify"], DATABASE_URL=demo.url)
    assert proc.returncode == 0 and "the chain is whole" in proc.stdout, proc.stdout + proc.stderr


def test_rollups_are_what_the_triggers_would_compute_from_scratch(demo):
    """The statistics kept by the triggers while gen-demo wrote equal those
    computed afresh from the cases, follow-ups, expert requests, referrals and
    declines now stored (in a transaction rolled back)."""
    differences, rows, assigned, closed, accepted = demo.recompute_rollups(
        "SELECT count(*) FROM r0", "SELECT sum(experts_assigned) FROM r0 WHERE dim = ''",
        "SELECT count(*) FROM r0 WHERE dim = '' AND close_days <> '{}'",
        "SELECT count(*) FROM f0 WHERE dim = '' AND accept_minutes <> '{}'")
    assert differences == 0 and int(rows) > 0, (differences, rows)
    assert int(assigned) > 0, "no expert assigned: the expert_hours histograms went untested"
    assert int(closed) > 0 and int(accepted) > 0, "the close_days or accept_minutes histograms went untested"
