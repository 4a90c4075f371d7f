"""The statistics dashboards (docs/STATISTICS.md), on an installation of its
own: a small town of two counties whose every number is counted by hand
below; the rollups checked against the cases, follow-ups, expert requests,
referrals and declines they summarise, before and after more writes, and
two corrections at once that must not deadlock; small counts hidden from
federation staff (and the threshold following TIAOJIE_SUPPRESS_BELOW); who
may see which region; bad queries; the CSV export for Excel; names of
counties and committees."""

import csv
import io
import itertools
import json
import secrets
import threading
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

import pytest

from support import Client, Installation, ServerProcess, assert_problem, create_user, signed_in

ADMISSIBLE = {"before_court": False, "before_police": False, "marriage_status": False, "identity": False}
OPEN = ("accepted", "in_mediation", "expert_requested")

# The names of a committee with a comma and quotes: a CSV field that needs quoting.
COMMITTEES = {
    "A": ("450202", "committee", "城中区婚姻家庭纠纷人民调解委员会"),
    "B": ("450202", "room", '城中区"文惠"婚调室, 二号'),
    "C": ("450203", "committee", "鱼峰区婚姻家庭纠纷人民调解委员会"),
}
COUNTY_NAMES = {"450202": "城中区", "450203": "鱼峰区"}

# --- the data set ------------------------------------------------------------------------------
#
# Cases: committee, time received (the month counts in China Standard Time),
# source, dispute type, what the case is created with, what happens to it,
# days from acceptance to closing (set with SQL afterwards), and whether it
# is past its due date (idem). A step is a status, or ("safety", kind),
# ("expert", hours to assignment or None: still waiting), ("closed", result),
# ("declined", reason), ("confirmation", status), ("followup", honoured), ("patch", body).

CASES = {
    "c1": dict(k="A", at="2026-03-05T10:00:00+08:00", path=[
        "accepted", "in_mediation", ("closed", "written"), ("confirmation", "applied"),
        ("confirmation", "granted"), ("followup", "fully")], days=10),
    "c2": dict(k="A", at="2026-03-06T10:00:00+08:00", path=[
        "accepted", "in_mediation", ("closed", "written"), ("confirmation", "applied"),
        ("confirmation", "refused"), ("followup", "partly"), ("followup", "not")], days=20),
    "c3": dict(k="A", at="2026-03-10T10:00:00+08:00", src="hotline_12338", type="custody",
               new={"minors_involved": True},
               path=["accepted", "in_mediation", ("closed", "oral"), ("followup", "fully")], days=5),
    "c4": dict(k="A", at="2026-03-12T10:00:00+08:00", type="property_division", path=[
        "accepted", "in_mediation", ("closed", "written"), ("confirmation", "applied")], days=30),
    "c5": dict(k="A", at="2026-03-15T10:00:00+08:00", src="court",
               path=["accepted", "in_mediation", ("closed", "no_agreement")], days=45),
    "c6": dict(k="A", at="2026-04-02T10:00:00+08:00",
               path=["accepted", "in_mediation", ("closed", "withdrawn")], days=2),
    "c7": dict(k="A", at="2026-04-03T10:00:00+08:00", type="child_support",
               path=["accepted", "in_mediation", ("closed", "referred_to_litigation")], days=60),
    "c8": dict(k="B", at="2026-04-05T10:00:00+08:00", src="hotline_12338",
               path=["accepted", "in_mediation", ("closed", "referred_elsewhere")], days=3),
    "c9": dict(k="A", at="2026-03-20T10:00:00+08:00", type="domestic_violence",
               new={"domestic_violence": {"flag": True, "risk": "high"}, "difficulty": "difficult"},
               path=["accepted", ("safety", "protection_order"), "in_mediation", ("expert", 30)], overdue=True),
    "c10": dict(k="A", at="2026-04-08T10:00:00+08:00", new={"difficulty": "difficult"},
                path=["accepted", "in_mediation", ("expert", None)], overdue=True),
    "c11": dict(k="B", at="2026-03-22T10:00:00+08:00", path=["accepted"]),
    "c12": dict(k="B", at="2026-04-10T10:00:00+08:00", src="petition", type="elder_support", path=[]),
    "c13": dict(k="B", at="2026-03-25T10:00:00+08:00", path=[("declined", "outside_remit")]),
    "c14": dict(k="B", at="2026-04-12T10:00:00+08:00", type="inheritance", path=["accepted", "withdrawn"]),
    # 2026-04-01 00:30 in Beijing, still March in UTC: April's.
    "c15": dict(k="A", at="2026-03-31T16:30:00Z", new={
        "minors_involved": True, "domestic_violence": {"flag": True, "risk": "low"}},
        path=["accepted", "in_mediation"], overdue=True),
    "c16": dict(k="C", at="2026-03-08T10:00:00+08:00", path=[
        "accepted", "in_mediation", ("closed", "written"), ("confirmation", "applied"),
        ("confirmation", "granted"), ("followup", "fully")], days=7),
    "c17": dict(k="C", at="2026-03-18T10:00:00+08:00", type="custody", new={"minors_involved": True},
                path=["accepted", "in_mediation"], overdue=True),
    "c18": dict(k="C", at="2026-04-15T10:00:00+08:00", src="police", type="domestic_violence",
                new={"domestic_violence": {"flag": True, "risk": "high"}, "difficulty": "difficult"},
                path=["accepted", ("safety", "police"), "in_mediation", ("expert", 2)]),
    "c19": dict(k="C", at="2026-04-20T10:00:00+08:00", path=[]),
    "c20": dict(k="C", at="2026-04-22T10:00:00+08:00",
                path=["accepted", "in_mediation", ("closed", "written")], days=15),
}

# Referrals: source, county, urgency, the committee named, time of intake
# (moved there with SQL), what happens (declines and take-up, by whose
# mediator), minutes from intake to acceptance, past due. The four taken up
# are cases too: registered, in the month of the intake, with its source.
REFERRALS = {
    "r1": dict(src="hotline_12338", county="450202", target="A", at="2026-03-09T10:00:00+08:00",
               path=[("accept", "A")], minutes=12),
    "r2": dict(src="hotline_12338", county="450202", target="A", at="2026-04-06T15:00:00+08:00",
               urgency="urgent", path=[("decline", "A"), ("accept", "B")], minutes=47),
    "r3": dict(src="court", county="450202", target="B", at="2026-03-16T09:00:00+08:00",
               path=[("decline", "B"), ("decline", "A")]),  # no committee left: back to the hotline
    "r4": dict(src="hotline_12338", county="450203", target="C", at="2026-04-18T20:00:00+08:00",
               urgency="urgent", overdue=True),
    "r5": dict(src="police", county="450203", target="C", at="2026-04-25T11:00:00+08:00"),
    "r6": dict(src="hotline_12338", county="450202", target="A", at="2026-04-07T08:00:00+08:00",
               path=[("accept", "A")], minutes=125),
    "r7": dict(src="petition", county="450202", target="A", at="2026-04-09T16:00:00+08:00",
               path=[("accept", "A")], minutes=3),
}

# --- the numbers, counted by hand ----------------------------------------------------------------
#
# One row per group, in the columns of the CSV export (after key and label).

CASE_COLUMNS = (
    "cases", "status_registered", "status_accepted", "status_declined", "status_in_mediation",
    "status_expert_requested", "status_withdrawn", "status_closed",
    "results_agreement", "results_no_agreement", "results_withdrawn", "results_referred_to_litigation",
    "results_referred_elsewhere", "success_rate", "days_to_close_median", "days_to_close_p90",
    "experts_requests", "experts_assigned", "experts_hours_to_assign_median", "experts_hours_to_assign_p90",
    "judicial_confirmation_written_agreements", "judicial_confirmation_applied",
    "judicial_confirmation_granted", "judicial_confirmation_refused", "judicial_confirmation_rate",
    "followups_visits", "followups_honoured_fully", "followups_honoured_partly", "followups_honoured_not",
    "domestic_violence_cases", "domestic_violence_high_risk", "domestic_violence_safety_referrals",
    "minors_involved", "difficult", "overdue",
)
CASE_COLUMNS_ZH = (
    "案件数", "已登记", "已受理", "不予受理", "调解中", "待专家", "已撤回", "已结案",
    "调解成功", "调解不成", "撤回调解", "转诉讼", "转其他途径", "调解成功率", "结案天数中位数", "结案天数90分位",
    "专家申请", "专家指派", "指派小时数中位数", "指派小时数90分位",
    "书面协议", "申请司法确认", "确认有效", "不予确认", "司法确认率",
    "回访次数", "完全履行", "部分履行", "未履行", "涉家暴案件", "高风险", "安全转介", "涉未成年人", "疑难案件", "超期",
)
REFERRAL_COLUMNS = (
    "received", "open", "accepted", "returned", "urgent", "declines", "acceptance_rate",
    "minutes_to_accept_median", "minutes_to_accept_p90", "overdue",
)
REFERRAL_COLUMNS_ZH = (
    "收到转介", "待接收", "已接收", "退回热线", "紧急", "拒收次数", "接收率", "接收分钟数中位数", "接收分钟数90分位", "超期",
)
# Rates and durations are not counts, never shown as "<n": null when computed from fewer cases than
# the threshold (their base), and a rate also when its numerator is a hidden count (rate times base
# would give it away). Here: member -> (base, numerator).
NOT_COUNTS = {
    "success_rate": ("status_closed", "results_agreement"),
    "days_to_close_median": ("status_closed", None), "days_to_close_p90": ("status_closed", None),
    "experts_hours_to_assign_median": ("experts_assigned", None),
    "experts_hours_to_assign_p90": ("experts_assigned", None),
    "judicial_confirmation_rate": ("judicial_confirmation_written_agreements", "judicial_confirmation_granted"),
    "acceptance_rate": ("received", "accepted"),
    "minutes_to_accept_median": ("accepted", None), "minutes_to_accept_p90": ("accepted", None),
}

_ = None
#                 cases   status: reg acc dec med exp wdr clo   results: agr no wdr lit els   rate
#                 days: med p90   experts: req asg h-med h-p90   judicial: written app gra ref rate
#                 follow-ups: visits fully partly not   dv: cases high safety   minors difficult overdue
CITY = (24, 6, 1, 1, 4, 1, 1, 10, 6, 1, 1, 1, 1, 0.6, 10, 45, 3, 2, 2, 30, 5, 4, 2, 1, 0.4,
        5, 3, 1, 1, 3, 2, 2, 3, 3, 4)
CHENGZHONG = (19, 5, 1, 1, 2, 1, 1, 8, 4, 1, 1, 1, 1, 0.5, 10, 60, 2, 1, 30, 30, 3, 3, 1, 1, 0.3333,
              4, 2, 1, 1, 2, 1, 1, 2, 2, 3)
YUFENG = (5, 1, 0, 0, 2, 0, 0, 2, 2, 0, 0, 0, 0, 1.0, 7, 15, 1, 1, 2, 2, 2, 1, 1, 0, 0.5,
          1, 1, 0, 0, 1, 1, 1, 1, 1, 1)
CASES_BY = {
    None: {"": CITY},
    "county": {"450202": CHENGZHONG, "450203": YUFENG},
    "month": {
        "2026-03": (11, 1, 1, 1, 2, 0, 0, 6, 5, 1, 0, 0, 0, 0.8333, 10, 45, 1, 1, 30, 30, 4, 4, 2, 1, 0.5,
                    5, 3, 1, 1, 1, 1, 1, 2, 1, 2),
        "2026-04": (13, 5, 0, 0, 2, 1, 1, 4, 1, 0, 1, 1, 1, 0.25, 3, 60, 2, 1, 2, 2, 1, 0, 0, 0, 0.0,
                    0, 0, 0, 0, 2, 1, 1, 1, 2, 2),
    },
    "committee": {
        "A": (13, 3, 0, 0, 2, 1, 0, 7, 4, 1, 1, 1, 0, 0.5714, 20, 60, 2, 1, 30, 30, 3, 3, 1, 1, 0.3333,
              4, 2, 1, 1, 2, 1, 1, 2, 2, 3),
        "B": (6, 2, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0.0, 3, 3, 0, 0, _, _, 0, 0, 0, 0, _,
              0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "C": YUFENG,
    },
    "dispute_type": {
        "child_support": (1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0.0, 60, 60, 0, 0, _, _, 0, 0, 0, 0, _,
                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "custody": (2, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1.0, 5, 5, 0, 0, _, _, 0, 0, 0, 0, _,
                    1, 1, 0, 0, 0, 0, 0, 2, 0, 1),
        "divorce": (16, 5, 1, 1, 1, 1, 0, 7, 4, 1, 1, 0, 1, 0.5714, 10, 45, 1, 0, _, _, 4, 3, 2, 1, 0.5,
                    4, 2, 1, 1, 1, 0, 0, 1, 1, 2),
        "domestic_violence": (2, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, _, _, _, 2, 2, 2, 30, 0, 0, 0, 0, _,
                              0, 0, 0, 0, 2, 2, 2, 0, 2, 1),
        "elder_support": (1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, _, _, _, 0, 0, _, _, 0, 0, 0, 0, _,
                          0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "inheritance": (1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, _, _, _, 0, 0, _, _, 0, 0, 0, 0, _,
                        0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "property_division": (1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1.0, 30, 30, 0, 0, _, _, 1, 1, 0, 0, 0.0,
                              0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    },
    "source": {
        "court": (1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0.0, 45, 45, 0, 0, _, _, 0, 0, 0, 0, _,
                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "hotline_12338": (5, 3, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 1, 0.5, 3, 5, 0, 0, _, _, 0, 0, 0, 0, _,
                          1, 1, 0, 0, 0, 0, 0, 1, 0, 0),
        "petition": (2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, _, _, _, 0, 0, _, _, 0, 0, 0, 0, _,
                     0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        "police": (1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, _, _, _, 1, 1, 2, 2, 0, 0, 0, 0, _,
                   0, 0, 0, 0, 1, 1, 1, 0, 1, 0),
        "walk_in": (15, 1, 1, 1, 3, 1, 1, 7, 5, 0, 1, 1, 0, 0.7143, 15, 60, 2, 1, 30, 30, 5, 4, 2, 1, 0.4,
                    4, 2, 1, 1, 2, 1, 1, 2, 2, 4),
    },
}
ZERO_CASES = (0,) * 13 + (_, _, _, 0, 0, _, _, 0, 0, 0, 0, _) + (0,) * 10

#                     received open accepted returned urgent declines rate  minutes: med p90  overdue
REFERRALS_CITY = (7, 2, 4, 1, 2, 3, 0.5714, 10, 125, 1)
REFERRALS_CHENGZHONG = (5, 0, 4, 1, 1, 3, 0.8, 10, 125, 0)
REFERRALS_YUFENG = (2, 2, 0, 0, 1, 0, 0.0, _, _, 1)
REFERRALS_BY = {
    None: {"": REFERRALS_CITY},
    "county": {"450202": REFERRALS_CHENGZHONG, "450203": REFERRALS_YUFENG},
    "month": {"2026-03": (2, 0, 1, 1, 0, 2, 0.5, 10, 10, 0), "2026-04": (5, 2, 3, 0, 2, 1, 0.6, 45, 125, 1)},
    "source": {
        "court": (1, 0, 0, 1, 0, 2, 0.0, _, _, 0),
        "hotline_12338": (4, 1, 3, 0, 2, 1, 0.75, 45, 125, 1),
        "petition": (1, 0, 1, 0, 0, 0, 1.0, 0, 0, 0),
        "police": (1, 1, 0, 0, 0, 0, 0.0, _, _, 0),
    },
}
ZERO_REFERRALS = (0, 0, 0, 0, 0, 0, _, _, _, 0)

# What staff of 城中区 see of their county (fewer than 5: hidden).
H = "<5"
CHENGZHONG_HIDDEN = (19, 5, H, H, H, H, H, 8, H, H, H, H, H, _, 10, 60, H, H, _, _, H, H, H, H, _,
                     H, H, H, H, H, H, H, H, H, H)
CITY_HIDDEN = (24, 6, H, H, H, H, H, 10, 6, H, H, H, H, 0.6, 10, 45, H, H, _, _, 5, H, H, H, _,
               5, H, H, H, H, H, H, H, H, H)
YUFENG_HIDDEN = (5, H, 0, 0, H, 0, 0, H, H, 0, 0, 0, 0, _, _, _, H, H, _, _, H, H, H, 0, _,
                 H, H, 0, 0, H, H, H, H, H, H)
REFERRALS_CHENGZHONG_HIDDEN = (5, 0, H, H, H, H, _, _, _, 0)
REFERRALS_YUFENG_HIDDEN = (H, H, 0, 0, H, 0, _, _, _, H)
# The same with TIAOJIE_SUPPRESS_BELOW=3.
T = "<3"
CHENGZHONG_BELOW_3 = (19, 5, T, T, T, T, T, 8, 4, T, T, T, T, 0.5, 10, 60, T, T, _, _, 3, 3, T, T, _,
                      4, T, T, T, T, T, T, T, T, 3)
REFERRALS_CHENGZHONG_BELOW_3 = (5, 0, 4, T, T, 3, 0.8, 10, 125, 0)

BOARDS = {
    "cases": (CASE_COLUMNS, CASE_COLUMNS_ZH, CASES_BY),
    "referrals": (REFERRAL_COLUMNS, REFERRAL_COLUMNS_ZH, REFERRALS_BY),
}

_serial = itertools.count(1)


# --- the town ------------------------------------------------------------------------------------


def send(t, who, method, path, body=None, etag=None):
    h = dict(who.auth)
    if etag is not None:
        h["If-Match"] = etag
    return t.writer.request(method, path, headers=h, json_body=body)


def written(r, status=200):
    assert r.status == status, r
    return r.json(), r.header("ETag")


def move(t, who, cid, etag, to, **body):
    doc, etag = written(send(t, who, "POST", f"/api/v1/cases/{cid}/transitions", {"to": to, **body}, etag))
    assert doc["status"] == to, doc
    return etag


def outcome(kind, today):
    if kind in ("written", "oral"):
        return {"result": "agreement", "agreement_form": kind, "agreement": "双方自愿达成调解协议",
                "effective_on": today}
    return {"result": kind}


def build_case(t, name, spec):
    """Creates case name by its mediator and walks it along its path; its id."""
    med = t.med[spec["k"]]
    n = next(_serial)
    body = {"committee_id": t.committee[spec["k"]], "source": spec.get("src", "walk_in"),
            "dispute_type": spec.get("type", "divorce"), "received_at": spec["at"],
            "parties": [{"role": "applicant", "name": f"统计当事人{n:03d}", "phone": f"1380{n:07d}"}],
            **spec.get("new", {})}
    doc, etag = written(t.writer.post("/api/v1/cases", headers=med.auth, json_body=body), 201)
    walk(t, med, doc["id"], etag, spec["path"])
    return doc["id"]


def walk(t, med, cid, etag, steps):
    """Takes case cid along steps (see CASES), by its mediator; its last ETag."""
    path = f"/api/v1/cases/{cid}"
    for step in steps:
        what, arg = (step, None) if isinstance(step, str) else step
        if what == "accepted":
            etag = move(t, med, cid, etag, "accepted", admissibility=ADMISSIBLE)
        elif what in ("in_mediation", "withdrawn"):
            etag = move(t, med, cid, etag, what)
        elif what == "declined":
            etag = move(t, med, cid, etag, "declined", reason=arg)
        elif what == "closed":
            etag = move(t, med, cid, etag, "closed", outcome=outcome(arg, t.today))
        elif what == "safety":
            _, etag = written(send(t, med, "PATCH", path, {"domestic_violence": {
                "safety_referral": arg, "safety_referred_on": t.today}}, etag))
        elif what == "confirmation":
            decided = None if arg == "applied" else t.today
            _, etag = written(send(t, med, "PUT", path + "/confirmation",
                                   {"status": arg, "applied_on": t.today, "decided_on": decided}, etag))
        elif what == "followup":
            _, etag = written(send(t, med, "POST", path + "/followups",
                                   {"visited_on": t.today, "honoured": arg}, etag), 201)
        elif what == "expert":
            etag = move(t, med, cid, etag, "expert_requested", specialty="psychology")
            if arg is not None:
                # Requested arg hours (and ten minutes) before the assignment.
                t.psql(f"UPDATE expert_requests SET requested_at = now() - interval '{arg} hours 10 minutes'"
                       f" WHERE case_id = {cid} AND assigned_at IS NULL")
                doc, etag = written(send(t, t.admin, "POST", path + "/expert", {"expert_id": t.expert}, etag))
                assert doc["status"] == "in_mediation", doc
        elif what == "patch":
            _, etag = written(send(t, med, "PATCH", path, arg, etag))
        else:
            raise AssertionError(step)
    return etag


def intake_key():
    return "stats-" + secrets.token_hex(10)


def build_referral(t, name, spec):
    """Takes referral name in, moves its intake to spec["at"], and walks it along its path; its id."""
    n = next(_serial)
    body = {"source": spec["src"], "caller_name": f"统计来电人{n:03d}", "caller_phone": f"1371{n:07d}",
            "county_code": spec["county"], "dispute_type": "divorce", "summary": "来电要求调解离婚纠纷",
            "urgency": spec.get("urgency", "normal"), "target_committee_id": t.committee[spec["target"]]}
    r = t.writer.post("/api/v1/referrals", headers={**t.hotline.auth, "Idempotency-Key": intake_key()},
                   json_body=body)
    assert r.status == 201, r
    rid = r.json()["id"]
    # The intake time is not among what re-counts a referral; urgency is: flipped there and back,
    # the referral is counted again in the month of its new intake time.
    flip = "urgency = CASE urgency WHEN 'urgent' THEN 'normal' ELSE 'urgent' END"
    t.psql(f"UPDATE referrals SET created_at = '{spec['at']}', {flip} WHERE id = {rid};"
           f" UPDATE referrals SET {flip} WHERE id = {rid}")
    for what, k in spec.get("path", []):
        r = t.writer.post(f"/api/v1/referrals/{rid}/{what}", headers=t.med[k].auth,
                       json_body={} if what == "accept" else {"reason": "本委人手不足"})
        assert r.status == (201 if what == "accept" else 204), r
    if "minutes" in spec:
        t.psql(f"UPDATE referrals SET accepted_at = created_at + interval '{spec['minutes']} minutes 20 seconds'"
               f" WHERE id = {rid}")
    if spec.get("overdue"):
        t.psql(f"UPDATE referrals SET due_at = now() - interval '1 hour' WHERE id = {rid}")
    return rid


@pytest.fixture(scope="module")
def town(cluster, logdir):
    with Installation.running(cluster, logdir) as inst:
        a = inst.admin.auth
        inst.today = inst.psql("SELECT civil_today()")
        # The data set is written straight to the server (the tests of cases and referrals check
        # those answers against the spec); the dashboards are read through the validating proxy.
        inst.writer = inst.direct
        inst.committee = {}
        for key, (code, kind, name) in COMMITTEES.items():
            r = inst.api.post("/api/v1/committees", headers=a, json_body={
                "name": name, "kind": kind, "region_code": code, "established_on": "2020-06-18"})
            assert r.status == 201, r
            inst.committee[key] = r.json()["id"]
        inst.med = {}
        for key in COMMITTEES:
            r = inst.api.post("/api/v1/mediators", headers=a, json_body={
                "name": f"统计调解员{key}", "full_time": True, "committees": [inst.committee[key]]})
            assert r.status == 201, r
            user = create_user(inst.api, a, "mediator")
            r = inst.api.request("PATCH", f"/api/v1/users/{user.id}", headers=a,
                                 json_body={"mediator_id": r.json()["id"]})
            assert r.status == 200, r
            inst.med[key] = signed_in(inst.api, user)
        r = inst.api.post("/api/v1/mediators", headers=a, json_body={
            "name": "统计专家", "full_time": False, "committees": [inst.committee["A"]], "expert": True,
            "specialties": ["psychology"]})
        assert r.status == 201, r
        inst.expert = r.json()["id"]
        inst.fed = signed_in(inst.api, create_user(inst.api, a, "federation", region="450202"))
        inst.fed_c = signed_in(inst.api, create_user(inst.api, a, "federation", region="450203"))
        inst.fed_city = signed_in(inst.api, create_user(inst.api, a, "federation", region="450200"))
        inst.hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))
        inst.mediator = inst.med["A"]
        # The region each member of staff sees when naming none.
        inst.scopes = {inst.fed.username: "450202", inst.fed_c.username: "450203", inst.fed_city.username: "450200"}
        r = inst.api.post("/api/v1/regions", headers=a, json_body={
            "code": "450202001", "name": "城中街道", "level": "township", "parent_code": "450202"})
        assert r.status == 201, r

        inst.cases = {name: build_case(inst, name, spec) for name, spec in CASES.items()}
        inst.referrals = {name: build_referral(inst, name, spec) for name, spec in REFERRALS.items()}

        # Known durations: accepted a day after receipt, closed `days` days (and six hours) later;
        # past due. The rollups follow the UPDATE (the columns are among those that re-count a case).
        sql = []
        for name, spec in CASES.items():
            cid = inst.cases[name]
            if "days" in spec:
                sql.append(f"UPDATE cases SET accepted_at = received_at + interval '1 day', closed_at ="
                           f" received_at + interval '1 day' + interval '{spec['days']} days 6 hours'"
                           f" WHERE id = {cid} AND status = 'closed';")
            if spec.get("overdue"):
                sql.append(f"UPDATE cases SET due_on = civil_today() - 3 WHERE id = {cid};")
        inst.psql(" ".join(sql))
        yield inst


# --- reading the dashboards ----------------------------------------------------------------------


def flat(doc, prefix=""):
    """A group's members by their CSV column names: {"status_closed": 3, ...}."""
    out = {}
    for name, value in doc.items():
        full = f"{prefix}_{name}" if prefix else name
        if isinstance(value, dict):
            out.update(flat(value, full))
        else:
            out[full] = value
    return out


def row_of(group, columns):
    """A group's numbers in the order of columns; its members must be exactly those."""
    f = {k: v for k, v in flat(group).items() if k not in ("key", "label")}
    assert set(f) == set(columns), (set(f) ^ set(columns), group)
    return tuple(f[c] for c in columns)


def dashboard(t, who, kind, client=None, **query):
    """GET /api/v1/dashboard/{kind}?query as who: the document, its shape checked."""
    query = {k: v for k, v in query.items() if v is not None}
    path = f"/api/v1/dashboard/{kind}" + ("?" + urlencode(query) if query else "")
    r = (client or t.api).get(path, headers=who.auth)
    assert r.status == 200, r
    assert r.content_type.split(";")[0] == "application/json", r
    doc = r.json()
    assert set(doc) == {"region_code", "from", "to", "group_by", "suppressed_below", "totals", "groups"}, doc
    assert (doc["from"], doc["to"], doc["group_by"]) == (
        query.get("from"), query.get("to"), query.get("group_by")), doc
    region = query.get("region") or t.scopes.get(who.username)
    assert doc["region_code"] == region, doc
    assert "key" not in doc["totals"], doc["totals"]
    assert isinstance(doc["groups"], list), doc
    if "group_by" not in query:
        assert doc["groups"] == [], doc
    return doc


def numbers(t, who, kind, client=None, **query):
    """(totals, {key: group}) as rows of the board's columns."""
    columns = BOARDS[kind][0]
    doc = dashboard(t, who, kind, client, **query)
    groups = {g["key"]: row_of(g, columns) for g in doc["groups"]}
    assert len(groups) == len(doc["groups"]), doc["groups"]
    return row_of(doc["totals"], columns), groups, doc


def committee_keyed(t, table):
    return {str(t.committee[k]) if k in t.committee else k: v for k, v in table.items()}


def mismatches(columns, got, want):
    """{column: (got, wanted)} where they differ."""
    return {c: (g, w) for c, g, w in zip(columns, got, want) if g != w}


# --- 1. every number, counted by hand -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["cases", "referrals"])
def test_the_totals_of_the_city_its_province_and_each_county_are_the_ones_counted_by_hand(town, kind):
    t = town
    columns, _, by = BOARDS[kind]
    city = by[None][""]
    for region, want in (("450200", city), ("450000", city), ("450202", by["county"]["450202"]),
                         ("450203", by["county"]["450203"])):
        totals, groups, doc = numbers(t, t.admin, kind, region=region)
        assert mismatches(columns, totals, want) == {}, region
        assert doc["suppressed_below"] is None
    # A county where nothing happened: zeros, nulls, no groups.
    zero = ZERO_CASES if kind == "cases" else ZERO_REFERRALS
    for group_by in (None, "county", "month", "source"):
        totals, groups, _ = numbers(t, t.admin, kind, region="450205", group_by=group_by)
        assert (totals, groups) == (zero, {}), group_by


@pytest.mark.parametrize("kind, group_by", [
    ("cases", "county"), ("cases", "month"), ("cases", "committee"), ("cases", "dispute_type"), ("cases", "source"),
    ("referrals", "county"), ("referrals", "month"), ("referrals", "source"),
])
def test_each_group_is_the_one_counted_by_hand(town, kind, group_by):
    t = town
    columns, _, by = BOARDS[kind]
    want = committee_keyed(t, by[group_by])
    for region in ("450200", "450000"):
        totals, groups, doc = numbers(t, t.admin, kind, region=region, group_by=group_by)
        assert mismatches(columns, totals, by[None][""]) == {}
        assert set(groups) == set(want), (region, sorted(groups))
        assert {k: mismatches(columns, groups[k], want[k]) for k in want} == {k: {} for k in want}, region
        keys = [g["key"] for g in doc["groups"]]
        assert keys == sorted(keys), keys
    # A county's groups are its own only.
    for county in ("450202", "450203"):
        _, groups, _ = numbers(t, t.admin, kind, region=county, group_by=group_by)
        if group_by == "county":
            assert set(groups) == {county}
            assert mismatches(columns, groups[county], want[county]) == {}
        elif group_by == "committee":
            mine = {str(t.committee[k]) for k, (code, _, _) in COMMITTEES.items() if code == county}
            assert set(groups) == mine and all(mismatches(columns, groups[k], want[k]) == {} for k in mine)
        else:
            assert groups and set(groups) <= set(want), groups


def test_the_months_select_cohorts_received_in_china_time(town):
    t = town
    march, april = CASES_BY["month"]["2026-03"], CASES_BY["month"]["2026-04"]
    for query, want in (
        ({"from": "2026-04-01", "to": "2026-04-30"}, april),
        ({"from": "2026-04-30", "to": "2026-04-30"}, april),  # whole months
        ({"from": "2026-04-15"}, april),
        ({"from": "2026-03-31", "to": "2026-03-31"}, march),
        ({"to": "2026-03-01"}, march),
        ({"from": "2026-02-01", "to": "2026-03-31"}, march),
        ({"from": "2026-03-01", "to": "2026-04-01"}, CITY),
        ({"from": "2025-01-01", "to": "2026-02-28"}, ZERO_CASES),
        ({"from": "2026-05-01"}, ZERO_CASES),
    ):
        totals, _, doc = numbers(t, t.admin, "cases", region="450200", **query)
        assert mismatches(CASE_COLUMNS, totals, want) == {}, query
        _, groups, _ = numbers(t, t.admin, "cases", region="450200", group_by="month", **query)
        assert all(k[:7] >= query.get("from", "0000")[:7] and k <= query.get("to", "9999")[:7] for k in groups)
    # The case received at 00:30 on 1 April in Beijing (16:30 UTC on 31 March) is April's.
    c15 = t.cases["c15"]
    assert t.psql(f"SELECT to_char(received_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM cases"
                  f" WHERE id = {c15}") == "2026-03-31 16:30"
    _, groups, _ = numbers(t, t.admin, "cases", region="450200", group_by="month", **{"from": "2026-04-01"})
    assert set(groups) == {"2026-04"} and mismatches(CASE_COLUMNS, groups["2026-04"], april) == {}
    _, groups, _ = numbers(t, t.admin, "cases", region="450202", group_by="committee", to="2026-03-31")
    assert groups[str(t.committee["A"])][0] == 7 and groups[str(t.committee["B"])][0] == 2  # c15 is not March's

    r_march, r_april = REFERRALS_BY["month"]["2026-03"], REFERRALS_BY["month"]["2026-04"]
    for query, want in (
        ({"from": "2026-03-01", "to": "2026-03-31"}, r_march),
        ({"from": "2026-04-09"}, r_april),
        ({"to": "2026-02-28"}, ZERO_REFERRALS),
    ):
        totals, _, _ = numbers(t, t.admin, "referrals", region="450200", **query)
        assert mismatches(REFERRAL_COLUMNS, totals, want) == {}, query


# --- 2. the rollups agree with what they summarise -----------------------------------------------

BASE_CASES = """
SELECT COALESCE(json_agg(json_build_object(
    'county', c.county_code, 'city', c.city_code, 'province', g.parent_code,
    'month', to_char(c.received_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'),
    'committee', c.committee_id::text, 'dispute_type', c.dispute_type, 'source', c.source,
    'status', c.status, 'result', c.result, 'form', c.agreement_form, 'confirmation', c.confirmation,
    'dv', c.dv_flag, 'dv_risk', c.dv_risk, 'safety', c.safety_referral, 'minors', c.minors_involved,
    'difficulty', c.difficulty,
    'close_seconds', CASE WHEN c.status = 'closed' AND c.accepted_at IS NOT NULL
                     THEN extract(epoch FROM c.closed_at - c.accepted_at) END,
    'overdue', c.status IN ('accepted', 'in_mediation', 'expert_requested') AND c.due_on < civil_today(),
    'experts', (SELECT COALESCE(json_agg(extract(epoch FROM x.assigned_at - x.requested_at)), '[]')
                FROM expert_requests x WHERE x.case_id = c.id),
    'followups', (SELECT COALESCE(json_agg(f.honoured), '[]') FROM followups f WHERE f.case_id = c.id))), '[]')
FROM cases c LEFT JOIN regions g ON g.code = c.city_code
"""

BASE_REFERRALS = """
SELECT COALESCE(json_agg(json_build_object(
    'county', f.county_code, 'city', f.city_code, 'province', g.parent_code,
    'month', to_char(f.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM'), 'source', f.source,
    'status', f.status, 'urgency', f.urgency,
    'declines', (SELECT count(*) FROM referral_declines d WHERE d.referral_id = f.id),
    'accept_seconds', extract(epoch FROM f.accepted_at - f.created_at),
    'overdue', f.status = 'open' AND f.due_at < now())), '[]')
FROM referrals f LEFT JOIN regions g ON g.code = f.city_code
"""


def rate(num, den, least):
    if den == 0 or den < least:
        return None
    return float((Decimal(num) / Decimal(den)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


def quantiles(values, least):
    """(median, 90th percentile): the least value that at least half (nine tenths) of them do not exceed."""
    values = sorted(values)
    n = len(values)
    if n == 0 or n < least:
        return None, None
    return values[(n + 1) // 2 - 1], values[(9 * n + 9) // 10 - 1]


def case_row(rows, least=1):
    """The numbers of a group of cases (rows of BASE_CASES), in CASE_COLUMNS' order."""
    def count(pred):
        return sum(1 for c in rows if pred(c))

    statuses = [count(lambda c, s=s: c["status"] == s) for s in (
        "registered", "accepted", "declined", "in_mediation", "expert_requested", "withdrawn", "closed")]
    results = [count(lambda c, s=s: c["result"] == s) for s in (
        "agreement", "no_agreement", "withdrawn", "referred_to_litigation", "referred_elsewhere")]
    days = [min(int(c["close_seconds"] // 86400), 400) for c in rows if c["close_seconds"] is not None]
    waits = [x for c in rows for x in c["experts"]]
    hours = [min(int(x // 3600), 720) for x in waits if x is not None]
    visits = [v for c in rows for v in c["followups"]]
    written_ = count(lambda c: c["form"] == "written")
    granted = count(lambda c: c["confirmation"] == "granted")
    return (
        len(rows), *statuses, *results, rate(results[0], statuses[6], least), *quantiles(days, least),
        len(waits), len(hours), *quantiles(hours, least),
        written_, count(lambda c: c["confirmation"] is not None), granted,
        count(lambda c: c["confirmation"] == "refused"), rate(granted, written_, least),
        len(visits), visits.count("fully"), visits.count("partly"), visits.count("not"),
        count(lambda c: c["dv"]), count(lambda c: c["dv_risk"] == "high"), count(lambda c: c["safety"] is not None),
        count(lambda c: c["minors"]), count(lambda c: c["difficulty"] == "difficult"), count(lambda c: c["overdue"]),
    )


def referral_row(rows, least=1):
    """The numbers of a group of referrals (rows of BASE_REFERRALS), in REFERRAL_COLUMNS' order."""
    accepted = sum(1 for f in rows if f["status"] == "accepted")
    minutes = [min(int(f["accept_seconds"] // 300), 2016) * 5 for f in rows if f["accept_seconds"] is not None]
    return (
        len(rows), sum(1 for f in rows if f["status"] == "open"), accepted,
        sum(1 for f in rows if f["status"] == "returned"), sum(1 for f in rows if f["urgency"] == "urgent"),
        sum(f["declines"] for f in rows), rate(accepted, len(rows), least), *quantiles(minutes, least),
        sum(1 for f in rows if f["overdue"]),
    )


def base_rows(t, kind):
    return json.loads(t.psql(BASE_CASES if kind == "cases" else BASE_REFERRALS))


def recomputed(t, kind, region, group_by=None, first=None, last=None, rows=None):
    """(totals, {key: row}) computed from the base tables (or their rows, when given)."""
    rows = base_rows(t, kind) if rows is None else rows
    rows = [x for x in rows if region in (x["county"], x["city"], x["province"])
            and (first is None or x["month"] >= first[:7]) and (last is None or x["month"] <= last[:7])]
    compute = case_row if kind == "cases" else referral_row
    groups = {}
    for x in rows if group_by else []:
        groups.setdefault(x[group_by], []).append(x)
    return compute(rows), {k: compute(v) for k, v in groups.items()}


def assert_rollups_agree(t, regions=("450200", "450000", "450202", "450203"), empty_groups=False):
    """Every dashboard of the admin agrees with the base tables, for the city, the province and each
    county, in total and by every grouping, over all months and over some. empty_groups: a group
    with nothing in it may be listed, if all its numbers are zero."""
    checked = 0
    for kind, (columns, _, by) in BOARDS.items():
        rows = base_rows(t, kind)
        zero = ZERO_CASES if kind == "cases" else ZERO_REFERRALS
        for region in regions:
            for first, last in ((None, None), ("2026-04-01", "2026-04-30"), ("2026-02-01", "2026-03-31")):
                for group_by in [None] + [g for g in by if g]:
                    totals, groups, _ = numbers(t, t.admin, kind, region=region, group_by=group_by,
                                                **{"from": first, "to": last})
                    want_totals, want_groups = recomputed(t, kind, region, group_by, first, last, rows)
                    where = (kind, region, group_by, first, last)
                    assert mismatches(columns, totals, want_totals) == {}, where
                    if empty_groups:
                        extra = {k: v for k, v in groups.items() if k not in want_groups}
                        assert {k: mismatches(columns, v, zero) for k, v in extra.items()} == {
                            k: {} for k in extra}, where
                        groups = {k: v for k, v in groups.items() if k in want_groups}
                    assert set(groups) == set(want_groups), (where, sorted(groups), sorted(want_groups))
                    bad = {k: mismatches(columns, groups[k], want_groups[k]) for k in want_groups}
                    assert bad == {k: {} for k in want_groups}, where
                    checked += 1
    return checked


def test_the_rollups_agree_with_the_cases_and_referrals_they_count(town):
    t = town
    assert assert_rollups_agree(t) == 4 * 3 * (6 + 4)
    # The check itself sees what the hand count saw.
    totals, groups = recomputed(t, "cases", "450200", "committee")
    assert totals == CITY and groups == committee_keyed(t, CASES_BY["committee"])
    assert recomputed(t, "referrals", "450200", "month") == (REFERRALS_CITY, REFERRALS_BY["month"])


# --- 3. small counts -----------------------------------------------------------------------------


def hidden(columns, exact, below):
    """What staff who see no personal data are shown of an exact row: counts from 1 to below-1 as
    "<below", rates and durations from fewer than below cases (or of a hidden count) as null."""
    out = []
    for c, v in zip(columns, exact):
        if c in NOT_COUNTS:
            base, numerator = (exact[columns.index(m)] if m else 0 for m in NOT_COUNTS[c])
            out.append(v if base >= below and not 0 < numerator < below else None)
        else:
            out.append(f"<{below}" if 0 < v < below else v)
    return tuple(out)


assert hidden(CASE_COLUMNS, CHENGZHONG, 5) == CHENGZHONG_HIDDEN
assert hidden(CASE_COLUMNS, CITY, 5) == CITY_HIDDEN and hidden(CASE_COLUMNS, YUFENG, 5) == YUFENG_HIDDEN
assert hidden(CASE_COLUMNS, CHENGZHONG, 3) == CHENGZHONG_BELOW_3
assert hidden(REFERRAL_COLUMNS, REFERRALS_CHENGZHONG, 3) == REFERRALS_CHENGZHONG_BELOW_3
assert hidden(REFERRAL_COLUMNS, REFERRALS_YUFENG, 5) == REFERRALS_YUFENG_HIDDEN


def test_federation_staff_see_counts_below_five_as_less_than_five(town):
    t = town
    for who, region, cases, referrals in (
        (t.fed, None, CHENGZHONG_HIDDEN, REFERRALS_CHENGZHONG_HIDDEN),
        (t.fed, "450202", CHENGZHONG_HIDDEN, REFERRALS_CHENGZHONG_HIDDEN),
        (t.fed_c, None, YUFENG_HIDDEN, REFERRALS_YUFENG_HIDDEN),
        (t.fed_city, None, CITY_HIDDEN, hidden(REFERRAL_COLUMNS, REFERRALS_CITY, 5)),
        (t.fed_city, "450202", CHENGZHONG_HIDDEN, REFERRALS_CHENGZHONG_HIDDEN),
    ):
        totals, _, doc = numbers(t, who, "cases", region=region)
        assert mismatches(CASE_COLUMNS, totals, cases) == {}, (who, region)
        assert doc["suppressed_below"] == 5
        totals, _, doc = numbers(t, who, "referrals", region=region)
        assert mismatches(REFERRAL_COLUMNS, totals, referrals) == {}, (who, region)
        assert doc["suppressed_below"] == 5


@pytest.mark.parametrize("kind", ["cases", "referrals"])
def test_every_group_staff_see_is_the_exact_one_with_small_counts_hidden(town, kind):
    t = town
    columns, _, by = BOARDS[kind]
    for who, region in ((t.fed_city, "450200"), (t.fed, "450202"), (t.fed_c, "450203")):
        for group_by in [g for g in by if g]:
            exact_totals, exact, _ = numbers(t, t.admin, kind, region=region, group_by=group_by)
            totals, groups, doc = numbers(t, who, kind, region=region, group_by=group_by)
            assert doc["suppressed_below"] == 5
            assert totals == hidden(columns, exact_totals, 5), (region, group_by)
            assert groups == {k: hidden(columns, v, 5) for k, v in exact.items()}, (region, group_by)
    # Administrators see the exact numbers.
    _, groups, doc = numbers(t, t.admin, kind, region="450200", group_by="county")
    assert doc["suppressed_below"] is None
    assert not [v for row in groups.values() for v in row if isinstance(v, str)]


def other_server(t, logdir, **settings):
    """Another server on the town's database (its sessions are valid there too)."""
    return ServerProcess(t.url, logdir, **settings).start()


def stopped_cleanly(srv):
    assert srv.stop() == 0, srv.log()[-3000:]
    assert not srv.problems(), srv.problems()


def test_the_threshold_follows_tiaojie_suppress_below(town, logdir):
    t = town
    srv = other_server(t, logdir, TIAOJIE_SUPPRESS_BELOW="3")
    try:
        there = Client(srv.port)
        totals, _, doc = numbers(t, t.fed, "cases", there)
        assert mismatches(CASE_COLUMNS, totals, CHENGZHONG_BELOW_3) == {}
        assert doc["suppressed_below"] == 3
        totals, _, doc = numbers(t, t.fed, "referrals", there)
        assert mismatches(REFERRAL_COLUMNS, totals, REFERRALS_CHENGZHONG_BELOW_3) == {}
        assert doc["suppressed_below"] == 3
        for kind, (columns, _, by) in BOARDS.items():
            for group_by in [g for g in by if g]:
                exact_totals, exact, doc = numbers(t, t.admin, kind, there, region="450200", group_by=group_by)
                assert doc["suppressed_below"] is None
                totals, groups, doc = numbers(t, t.fed_city, kind, there, group_by=group_by)
                assert (totals, groups) == (hidden(columns, exact_totals, 3),
                                            {k: hidden(columns, v, 3) for k, v in exact.items()}), group_by
    finally:
        stopped_cleanly(srv)

    # 1: nothing is hidden; staff see what an administrator sees.
    srv = other_server(t, logdir, TIAOJIE_SUPPRESS_BELOW="1")
    try:
        there = Client(srv.port)
        for kind, (_, _, by) in BOARDS.items():
            for group_by in by:
                for who, region in ((t.fed_city, "450200"), (t.fed, "450202"), (t.fed_c, "450203")):
                    mine = dashboard(t, who, kind, there, region=region, group_by=group_by)
                    exact = dashboard(t, t.admin, kind, there, region=region, group_by=group_by)
                    assert mine == exact, (kind, group_by, region)
                    assert mine["suppressed_below"] is None
        totals, _, _ = numbers(t, t.fed_c, "cases", there)
        assert totals == YUFENG
    finally:
        stopped_cleanly(srv)


# --- 4. who sees which region; bad queries -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["cases", "referrals"])
def test_staff_see_their_own_region_only(town, kind):
    t = town

    def get(who, **query):
        return t.api.get(f"/api/v1/dashboard/{kind}?" + urlencode(query), headers=who.auth)

    # A county's staff: their county; not the neighbour, the city or the province.
    for who, theirs, others in ((t.fed, "450202", ("450203", "450200", "450000", "450205")),
                                (t.fed_c, "450203", ("450202", "450200", "450000"))):
        assert dashboard(t, who, kind)["region_code"] == theirs
        assert dashboard(t, who, kind, region=theirs)["region_code"] == theirs
        for region in others:
            assert_problem(get(who, region=region), 404, "not-found")
            assert_problem(get(who, region=region, group_by="county"), 404, "not-found")
    # The city's staff: the city and each of its counties, not the province.
    assert dashboard(t, t.fed_city, kind)["region_code"] == "450200"
    for region in ("450200", "450202", "450203", "450205"):
        assert dashboard(t, t.fed_city, kind, region=region)["region_code"] == region
    assert_problem(get(t.fed_city, region="450000"), 404, "not-found")
    # No region under a county: statistics are kept by county.
    assert_problem(get(t.fed, region="450202001"), 400, "bad-request")
    assert_problem(get(t.fed_city, region="450202001"), 400, "bad-request")
    assert_problem(get(t.admin, region="450202001"), 400, "bad-request")
    assert_problem(get(t.fed_c, region="450202001"), 404, "not-found")
    assert_problem(get(t.admin, region="450299"), 404, "not-found")
    # Nobody else.
    for who in (t.mediator, t.hotline):
        assert_problem(get(who, region="450202"), 403, "forbidden")
        assert_problem(get(who), 403, "forbidden")
    assert_problem(t.api.get(f"/api/v1/dashboard/{kind}?region=450202"), 401, "unauthorized")


@pytest.mark.parametrize("query", [
    {},  # an administrator names the region
    {"group_by": "county"},
    {"region": "450200", "colour": "red"},
    {"region": "450200", "region_code": "450202"},
    {"region": "4502"},
    {"region": "45020x"},
    {"region": "450200", "from": "2026-02-30"},
    {"region": "450200", "from": "2026-4-1"},
    {"region": "450200", "to": "2026-04"},
    {"region": "450200", "to": "yesterday"},
    {"region": "450200", "from": ""},
    {"region": "450200", "from": "2026-05-01", "to": "2026-04-30"},
    {"region": "450200", "from": "2026-04-20", "to": "2026-04-10"},
    {"region": "450200", "group_by": "week"},
    {"region": "450200", "group_by": ""},
    {"region": "450200", "group_by": "COUNTY"},
], ids=lambda q: urlencode(q) or "no-region")
@pytest.mark.parametrize("kind", ["cases", "referrals"])
def test_a_bad_query_is_refused(town, kind, query):
    t = town
    assert_problem(t.api.get(f"/api/v1/dashboard/{kind}?" + urlencode(query), headers=t.admin.auth),
                   400, "bad-request")


@pytest.mark.parametrize("group_by", ["committee", "dispute_type"])
def test_referrals_are_not_grouped_by_what_they_do_not_have(town, group_by):
    t = town
    r = t.api.get(f"/api/v1/dashboard/referrals?region=450200&group_by={group_by}", headers=t.admin.auth)
    assert_problem(r, 400, "bad-request")
    r = t.api.get(f"/api/v1/dashboard/referrals?group_by={group_by}", headers=t.fed.auth)
    assert_problem(r, 400, "bad-request")


def test_a_bad_query_from_staff_is_refused_too(town):
    t = town
    for query in ("from=2026-13-01", "to=2026-04-31", "group_by=month&group_by=week", "region=", "x=1"):
        r = t.api.get("/api/v1/dashboard/cases?" + query, headers=t.fed.auth)
        assert_problem(r, 400, "bad-request")


# --- 5. CSV for Excel ------------------------------------------------------------------------------


def csv_table(r):
    """The rows of a CSV answer, after checking it opens in Excel: UTF-8 with a byte-order mark, CRLF."""
    assert r.status == 200, r
    assert r.content_type == "text/csv; charset=utf-8", r
    assert r.body.startswith(b"\xef\xbb\xbf"), r.body[:20]
    text = r.body[3:].decode("utf-8")
    assert text.endswith("\r\n") and "\n" not in text.replace("\r\n", "") and "\r" not in text.replace("\r\n", "")
    return list(csv.reader(io.StringIO(text, newline="")))


def cell_is(column, cell, value):
    """A CSV cell shows a JSON value: null as nothing, "<5" as itself, a count as the same whole
    number, a rate or a duration as the same number."""
    if value is None:
        return cell == ""
    if isinstance(value, str):
        return cell == value
    if column not in NOT_COUNTS:
        return cell.isdigit() and int(cell) == value
    return cell != "" and float(cell) == value


def as_csv(t, who, kind, lang=None, **query):
    headers = {**who.auth, "Accept": "text/csv"}
    if lang is not None:
        headers["Accept-Language"] = lang
    path = f"/api/v1/dashboard/{kind}?" + urlencode({k: v for k, v in query.items() if v is not None})
    return t.api.get(path, headers=headers)


@pytest.mark.parametrize("kind, group_by", [
    ("cases", None), ("cases", "committee"), ("cases", "month"), ("cases", "dispute_type"),
    ("referrals", None), ("referrals", "source"), ("referrals", "county"),
])
def test_the_csv_export_is_the_same_table_in_english_or_chinese(town, kind, group_by):
    t = town
    columns, columns_zh, _ = BOARDS[kind]
    for who, region in ((t.admin, "450200"), (t.fed_city, None), (t.fed, None)):
        doc = dashboard(t, who, kind, region=region, group_by=group_by)
        want = [row_of(doc["totals"], columns)] + [row_of(g, columns) for g in doc["groups"]]
        keys = [None] + [(g["key"], g.get("label")) for g in doc["groups"]]
        for lang, header, total in ((None, ["key", "label", *columns], "total"),
                                    ("en-GB,en;q=0.8", ["key", "label", *columns], "total"),
                                    ("zh-CN,zh;q=0.9,en;q=0.5", ["分组", "名称", *columns_zh], "合计"),
                                    ("zh", ["分组", "名称", *columns_zh], "合计")):
            rows = csv_table(as_csv(t, who, kind, lang, region=region, group_by=group_by))
            assert rows[0] == header, lang
            assert len(rows) == 1 + len(want), rows
            for row, numbers_, key in zip(rows[1:], want, keys):
                assert len(row) == len(header), row
                assert (row[0], row[1]) == ((total, "") if key is None else (key[0], key[1] or "")), row
                bad = [(c, cell, v) for c, cell, v in zip(columns, row[2:], numbers_) if not cell_is(c, cell, v)]
                assert bad == [], (who, lang, row[0])
        if who is not t.admin and kind == "cases":
            assert any("<5" in row for row in want), want  # hidden in the CSV too
            assert "<5" in as_csv(t, who, kind, region=region, group_by=group_by).body.decode("utf-8-sig")


def test_the_csv_quotes_a_name_with_a_comma_and_quotes_and_hides_small_counts(town):
    t = town
    r = as_csv(t, t.admin, "cases", region="450202", group_by="committee")
    text = r.body.decode("utf-8-sig")
    b = str(t.committee["B"])
    assert f'\r\n{b},"城中区""文惠""婚调室, 二号",6,2,1,1,0,0,1,1,0,0,0,0,1,0.0' in text, text
    rows = {row[0]: row for row in csv_table(r)[1:]}
    assert rows[b][1] == COMMITTEES["B"][2]
    # Staff of the county: the same rows, counts below five hidden.
    rows = {row[0]: row for row in csv_table(as_csv(t, t.fed, "cases", group_by="committee"))[1:]}
    assert rows[b][:10] == [b, COMMITTEES["B"][2], "6", "<5", "<5", "<5", "0", "0", "<5", "<5"], rows[b]
    assert rows["total"][2:4] == ["19", "5"]
    # A period with nothing: the totals row alone, zeros and blanks.
    rows = csv_table(as_csv(t, t.fed, "referrals", group_by="source", **{"from": "2020-01-01", "to": "2020-12-31"}))
    assert rows == [["key", "label", *REFERRAL_COLUMNS], ["total", "", "0", "0", "0", "0", "0", "0", "", "", "", "0"]]


# --- 6. names --------------------------------------------------------------------------------------


def test_counties_and_committees_are_named(town):
    t = town
    for who, region in ((t.admin, "450200"), (t.fed_city, None)):
        for kind in BOARDS:
            doc = dashboard(t, who, kind, region=region, group_by="county")
            assert [(g["key"], g["label"]) for g in doc["groups"]] == sorted(COUNTY_NAMES.items())
        doc = dashboard(t, who, "cases", region=region, group_by="committee")
        assert {g["key"]: g["label"] for g in doc["groups"]} == {
            str(t.committee[k]): name for k, (_, _, name) in COMMITTEES.items()}
    doc = dashboard(t, t.fed, "cases", group_by="committee")
    assert {g["key"]: g["label"] for g in doc["groups"]} == {
        str(t.committee[k]): COMMITTEES[k][2] for k in ("A", "B")}
    # Months, dispute types and sources are their own names.
    for kind, group_by in (("cases", "month"), ("cases", "dispute_type"), ("cases", "source"),
                           ("referrals", "month"), ("referrals", "source")):
        doc = dashboard(t, t.admin, kind, region="450200", group_by=group_by)
        assert doc["groups"] and all(g.get("label") is None for g in doc["groups"]), doc["groups"]


# --- 2 (again). later writes: corrections, more of the workflow, referrals sent on -------------------


def etag_of(t, who, cid):
    r = send(t, who, "GET", f"/api/v1/cases/{cid}")
    assert r.status == 200, r
    return r.header("ETag")


def referral_act(t, who, rid, action, body):
    return t.writer.post(f"/api/v1/referrals/{rid}/{action}", headers=who.auth, json_body=body)


def test_the_rollups_follow_every_later_write(town):
    t = town
    c, med = t.cases, t.med
    later = {
        # Corrected on file: another type and source, minors, received in February.
        "c12": ("B", [("patch", {"dispute_type": "other", "source": "community", "minors_involved": True,
                                 "received_at": "2026-02-10T10:00:00+08:00"})]),
        "c19": ("C", [("patch", {"domestic_violence": {"flag": True, "risk": "medium"}, "difficulty": "difficult"}),
                      "accepted", "in_mediation", ("expert", 5), ("closed", "no_agreement")]),
        "c11": ("B", ["in_mediation", ("closed", "written"), ("confirmation", "applied"), ("followup", "partly")]),
        # A second expert, then another type: both waits go along.
        "c9": ("A", [("expert", 0), ("patch", {"dispute_type": "divorce"})]),
        "c17": ("C", ["withdrawn"]),
        "c3": ("A", [("followup", "not")]),
        # Closed, confirmed and visited: moved to the end of April (Beijing time).
        "c2": ("A", [("patch", {"received_at": "2026-04-30T23:59:00+08:00"})]),
        "c18": ("C", [("closed", "written"), ("confirmation", "applied"), ("confirmation", "granted"),
                      ("followup", "fully"), ("patch", {"source": "court"})]),
    }
    for name, (k, steps) in later.items():
        walk(t, med[k], c[name], etag_of(t, med[k], c[name]), steps)
    # No longer overdue: the due date is extended.
    r = send(t, med["A"], "POST", f"/api/v1/cases/{c['c10']}/extensions",
             {"due_on": "2099-01-01", "reason": "当事人外出务工"}, etag_of(t, med["A"], c["c10"]))
    assert r.status == 200, r
    # A case received at half past midnight on 1 February in Beijing (31 January in UTC), declined.
    build_case(t, "late", dict(k="A", at="2026-01-31T16:30:00Z", path=[("declined", "other")]))

    # r5 declined by the only committee of its county: back to the hotline, sent on, taken up; r4 taken up.
    r5, r4 = t.referrals["r5"], t.referrals["r4"]
    assert referral_act(t, med["C"], r5, "decline", {"reason": "调解员外出培训"}).status == 204
    r = t.api.get(f"/api/v1/referrals/{r5}", headers=t.admin.auth)
    assert r.json()["status"] == "returned", r
    r = referral_act(t, t.hotline, r5, "route", {"committee_id": t.committee["C"]})
    assert r.status == 200, r
    for rid in (r5, r4):
        r = referral_act(t, med["C"], rid, "accept", {})
        assert r.status == 201, r

    assert assert_rollups_agree(t, empty_groups=True) == 4 * 3 * (6 + 4)
    # What moved, moved.
    _, groups, _ = numbers(t, t.admin, "cases", region="450200", group_by="month")
    assert sorted(groups) == ["2026-02", "2026-03", "2026-04"]
    assert groups["2026-02"][:4] == (2, 1, 0, 1) and groups["2026-03"][0] == 10 and groups["2026-04"][0] == 15
    # Both taken up months after their intake: a week and more is the last bucket, 2016 times 5 minutes.
    totals, _, _ = numbers(t, t.admin, "referrals", region="450203")
    assert totals == (2, 0, 2, 0, 1, 1, 1.0, 10080, 10080, 0)


def test_a_group_nothing_is_left_in_is_not_listed(town):
    t = town
    # Received in December 2025 as a dispute over the bride price; both corrected.
    cid = build_case(t, "corrected", dict(k="C", at="2025-12-15T10:00:00+08:00", type="bride_price", path=[]))
    walk(t, t.med["C"], cid, etag_of(t, t.med["C"], cid), [
        ("patch", {"dispute_type": "divorce", "received_at": "2026-01-15T10:00:00+08:00"})])
    assert_rollups_agree(t, regions=("450203",), empty_groups=True)
    _, months, _ = numbers(t, t.admin, "cases", region="450203", group_by="month")
    _, types, _ = numbers(t, t.admin, "cases", region="450203", group_by="dispute_type")
    assert "2026-01" in months and "divorce" in types
    # Nothing was received in December 2025 and nothing is about a bride price.
    assert ("2025-12" not in months, "bride_price" not in types) == (True, True), (
        months.get("2025-12"), types.get("bride_price"))


def test_two_corrections_of_receipt_dates_at_once_do_not_deadlock(town):
    """Case x moves from March to April while case y, of the same county, moves from April to March:
    each takes out its old month's part and adds its new month's. A lock held a moment on one
    row of March makes them meet halfway, as concurrent requests may."""
    t = town
    med = t.med["C"]
    x = build_case(t, "x", dict(k="C", at="2026-03-03T10:00:00+08:00", path=[]))
    y = build_case(t, "y", dict(k="C", at="2026-04-03T10:00:00+08:00", path=[]))
    etags = {cid: etag_of(t, med, cid) for cid in (x, y)}
    holder = ("BEGIN; SELECT 1 FROM case_rollup WHERE county_code = '450203' AND month = '2026-03-01'"
              f" AND dim = 'committee' AND value = '{t.committee['C']}' FOR UPDATE; SELECT pg_sleep(20); COMMIT")
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
               " AND wait_event_type = 'Lock'")
    sleeping = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND query LIKE '%pg_sleep(20)%' AND state = 'active' AND pid <> pg_backend_pid()")
    answers = {}

    def hold():
        try:
            t.psql(holder)
        except RuntimeError:
            pass  # cancelled: the lock is released

    def patch(cid, at):
        answers[cid] = t.direct.request("PATCH", f"/api/v1/cases/{cid}", headers={
            **med.auth, "If-Match": etags[cid]}, json_body={"received_at": at})

    def until(sql, least):
        for _ in range(200):
            got = t.psql(sql)
            if got and int(got) >= least:
                return got
            threading.Event().wait(0.02)
        raise AssertionError(f"{sql}: not {least}")

    threads = [threading.Thread(target=hold)]
    threads[0].start()
    pid = until(sleeping, 1)
    threads.append(threading.Thread(target=patch, args=(x, "2026-04-04T10:00:00+08:00")))
    threads[-1].start()
    until(waiting, 1)  # x holds its March row of all cases, waits for its committee's
    threads.append(threading.Thread(target=patch, args=(y, "2026-03-04T10:00:00+08:00")))
    threads[-1].start()
    until(waiting, 2)  # y holds April's, waits for x's March row
    t.psql(f"SELECT pg_cancel_backend({pid})")
    for th in threads:
        th.join(timeout=30)
    deadlocks = [json.loads(line)["msg"][:300] for line in t.server.log_lines() if "40P01" in line]
    assert (answers[x].status, answers[y].status) == (200, 200), deadlocks[-1:]
    assert_rollups_agree(t, regions=("450203",), empty_groups=True)
