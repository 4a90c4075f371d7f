"""Retention: `tiaojie purge-expired` shreds the personal data of cases that
ended more than TIAOJIE_RETENTION_YEARS ago, and nothing else. The purged
cases cannot be read by any means (key destroyed, ciphertext cleared, blind
indexes gone); the statistics fields are untouched."""

import subprocess

import pytest

from support import Installation, assert_problem, audit_entries, clean_env, create_user, run_cli, signed_in

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
NO = {"before_court": False, "before_police": False, "marriage_status": False, "identity": False}

# What statistics are computed from: none of it may change.
STATS = """
SELECT string_agg(concat_ws('|', c.number, c.committee_id, c.county_code, c.source, c.dispute_type,
       c.minors_involved, c.dv_flag, c.dv_risk, c.difficulty, c.status, c.result, c.agreement_form,
       c.received_at, c.accepted_at, c.closed_at, c.due_on, c.confirmation,
       (SELECT string_agg(concat_ws(':', p.role, p.gender, p.birth_year), ',' ORDER BY p.id)
          FROM parties p WHERE p.case_id = c.id),
       (SELECT count(*) FROM case_sessions s WHERE s.case_id = c.id),
       (SELECT string_agg(f.honoured, ',' ORDER BY f.id) FROM followups f WHERE f.case_id = c.id)),
       ';' ORDER BY c.id) FROM cases c
"""


@pytest.fixture(scope="module")
def city(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        a = inst.admin.auth
        r = inst.api.post("/api/v1/committees", headers=a, json_body={
            "name": "城中区婚调委", "kind": "committee", "region_code": "450202", "established_on": "2015-01-01"})
        inst.committee = r.json()["id"]
        r = inst.api.post("/api/v1/mediators", headers=a, json_body={
            "name": "覃调解", "full_time": True, "committees": [inst.committee]})
        user = create_user(inst.api, a, "mediator")
        inst.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a, json_body={"mediator_id": r.json()["id"]})
        inst.mediator = signed_in(inst.api, user)
        yield inst


def write(inst, case, etag, method, suffix, body):
    r = inst.api.request(method, f"/api/v1/cases/{case}{suffix}", headers={**inst.mediator.auth, "If-Match": etag},
                         json_body=body)
    assert r.status in (200, 201), r
    return r.header("ETag")


def new_case(inst, tag, phone, id_number, close=True):
    body = {
        "committee_id": inst.committee, "source": "walk_in", "dispute_type": "property_division",
        "summary": f"{tag} 房产分割纠纷",
        "parties": [
            {"role": "applicant", "name": f"{tag}申请人", "phone": phone, "id_number": id_number,
             "address": f"{tag}路 1 号", "gender": "female", "birth_year": 1979},
            {"role": "respondent", "name": f"{tag}被申请人", "gender": "male", "birth_year": 1977},
        ],
    }
    r = inst.api.post("/api/v1/cases", headers=inst.mediator.auth, json_body=body)
    assert r.status == 201, r
    case, etag = r.json()["id"], r.header("ETag")
    if not close:
        return case
    etag = write(inst, case, etag, "POST", "/transitions", {"to": "accepted", "admissibility": NO})
    etag = write(inst, case, etag, "POST", "/transitions", {"to": "in_mediation"})
    etag = write(inst, case, etag, "POST", "/sessions", {
        "held_at": "2015-03-02T09:00:00+08:00", "place": f"{tag}调解室", "attendees": f"{tag}双方", "notes": f"{tag}笔录"})
    etag = write(inst, case, etag, "POST", "/transitions", {"to": "closed", "outcome": {
        "result": "agreement", "agreement_form": "written", "agreement": f"{tag}协议书", "effective_on": "2015-03-10"}})
    write(inst, case, etag, "POST", "/followups", {"visited_on": "2015-04-10", "honoured": "fully", "notes": f"{tag}回访"})
    return case


def purge(inst, **env):
    proc = run_cli(["purge-expired"], DATABASE_URL=inst.url, **env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_only_cases_past_retention_are_purged_and_statistics_stay(city):
    old = new_case(city, "旧案甲", "13511112222", "11010519491231002X")
    recent = new_case(city, "新案乙", "13533334444", "440301198001010018")
    still_open = new_case(city, "未结丙", "13555556666", None, close=False)
    # The old case ended eleven years ago; the recent one today.
    city.psql(f"UPDATE cases SET closed_at = now() - interval '11 years' WHERE id = {old}")
    before = city.psql(STATS)
    dk = city.psql(f"SELECT data_key_id FROM cases WHERE id = {old}")

    out = purge(city)
    assert "purged the personal data of 1 cases" in out, out
    assert city.psql(STATS) == before

    # The key is destroyed and every encrypted column and blind index cleared.
    assert city.psql(f"SELECT wrapped IS NULL AND destroyed_at IS NOT NULL FROM data_keys WHERE id = {dk}") == "t"
    assert city.psql(f"SELECT summary IS NULL AND agreement IS NULL AND purged_at IS NOT NULL FROM cases WHERE id = {old}") == "t"
    assert city.psql(f"SELECT count(*) FROM parties WHERE case_id = {old} AND (name IS NOT NULL OR id_number IS NOT NULL"
                     " OR phone IS NOT NULL OR address IS NOT NULL OR phone_bidx IS NOT NULL OR id_bidx IS NOT NULL)") == "0"
    assert city.psql(f"SELECT count(*) FROM case_sessions WHERE case_id = {old} AND (place IS NOT NULL OR"
                     " attendees IS NOT NULL OR notes IS NOT NULL)") == "0"
    assert city.psql(f"SELECT count(*) FROM followups WHERE case_id = {old} AND notes IS NOT NULL") == "0"

    # Read by its own mediator, and by an administrator with a purpose: no personal data.
    for headers in (city.mediator.auth, {**city.admin.auth, "X-Access-Purpose": "archive check"}):
        r = city.api.get(f"/api/v1/cases/{old}", headers=headers)
        assert r.status == 200, r
        doc = r.json()
        assert doc["purged"] is True and "summary" not in doc and "agreement" not in doc["outcome"]
        assert all(set(p) & {"name", "id_number", "phone", "address"} == set() for p in doc["parties"])
        assert [(p["gender"], p["birth_year"]) for p in doc["parties"]] == [("female", 1979), ("male", 1977)]
        assert "notes" not in doc["sessions"][0] and "notes" not in doc["followups"][0]
        assert doc["number"].startswith("450202-") and doc["result"] == "agreement"

    # It no longer changes, and the audit trail says who purged what.
    etag = city.api.get(f"/api/v1/cases/{old}", headers=city.mediator.auth).header("ETag")
    r = city.api.request("PATCH", f"/api/v1/cases/{old}", headers={**city.mediator.auth, "If-Match": etag},
                         json_body={"minors_involved": True})
    assert_problem(r, 409, "conflict")
    entries = [e for e in audit_entries(city.api, city.admin.auth, object_type="case", object_id=str(old))
               if e["action"] == "case.purge"]
    assert len(entries) == 1 and entries[0]["purpose"] == "retention"

    # The others are whole.
    for case, name in ((recent, "新案乙申请人"), (still_open, "未结丙申请人")):
        doc = city.api.get(f"/api/v1/cases/{case}", headers=city.mediator.auth).json()
        assert doc["purged"] is False and doc["parties"][0]["name"] == name

    # Nothing of the purged case is left in a dump; the others are still there, encrypted.
    dump = subprocess.run([PG_DUMP, "--no-owner", city.url], capture_output=True, timeout=120, env=clean_env())
    assert dump.returncode == 0, dump.stderr
    for text in ("旧案甲", "13511112222", "11010519491231002X"):
        assert text.encode() not in dump.stdout

    # Running again finds nothing more.
    assert "purged the personal data of 0 cases" in purge(city)


def test_the_retention_is_a_setting(city):
    case = new_case(city, "七年案", "13577778888", None)
    city.psql(f"UPDATE cases SET closed_at = now() - interval '7 years' WHERE id = {case}")
    assert "of 0 cases" in purge(city)
    assert "of 1 cases" in purge(city, TIAOJIE_RETENTION_YEARS=5)
    proc = run_cli(["purge-expired"], DATABASE_URL=city.url, TIAOJIE_RETENTION_YEARS=0)
    assert proc.returncode != 0 and "TIAOJIE_RETENTION_YEARS" in proc.stderr


def test_a_referral_goes_with_its_case_and_one_never_taken_up_after_the_retention(city):
    hotline = signed_in(city.api, create_user(city.api, city.admin.auth, "hotline"))

    def refer(name, phone):
        body = {"source": "hotline_12338", "caller_name": name, "caller_phone": phone, "county_code": "450202",
                "dispute_type": "property_division", "summary": f"{name}的诉求", "target_committee_id": city.committee}
        r = city.api.post("/api/v1/referrals", headers={**hotline.auth, "Idempotency-Key": phone}, json_body=body)
        assert r.status == 201, r
        return r.json()["id"]

    taken = refer("转介甲", "13566667777")
    r = city.api.post(f"/api/v1/referrals/{taken}/accept", headers=city.mediator.auth, json_body={})
    assert r.status == 201, r
    case, etag = r.json()["id"], r.header("ETag")
    etag = write(city, case, etag, "POST", "/transitions", {"to": "declined", "reason": "outside_remit"})
    left = refer("转介乙", "13588889999")
    city.psql(f"UPDATE referrals SET status = 'returned', committee_id = NULL,"
              f" created_at = now() - interval '11 years' WHERE id = {left}")
    kept = refer("转介丙", "13500001111")
    city.psql(f"UPDATE cases SET closed_at = now() - interval '11 years' WHERE id = {case}")

    out = purge(city)
    assert "and of 2 referrals" in out, out
    for referral in (taken, left):
        assert city.psql(f"SELECT caller_name IS NULL AND caller_phone IS NULL AND caller_phone_bidx IS NULL"
                         f" AND summary IS NULL AND purged_at IS NOT NULL FROM referrals WHERE id = {referral}") == "t"
        assert city.psql(f"SELECT k.wrapped IS NULL FROM referrals f JOIN data_keys k ON k.id = f.data_key_id"
                         f" WHERE f.id = {referral}") == "t"
        assert city.psql(f"SELECT count(*) FROM idempotency_keys WHERE referral_id = {referral}"
                         " AND response IS NOT NULL") == "0"
        doc = city.api.get(f"/api/v1/referrals/{referral}", headers=hotline.auth).json()
        assert doc["purged"] is True and {"caller_name", "caller_phone", "summary"} & set(doc) == set()
    doc = city.api.get(f"/api/v1/referrals/{kept}", headers=hotline.auth).json()
    assert doc["caller_name"] == "转介丙"
    # The look-up by phone finds nothing of the purged ones any more.
    r = city.api.post("/api/v1/referrals/callers", headers=hotline.auth, json_body={"phone": "13566667777"})
    assert r.status == 200 and r.json()["items"] == []
