"""Crash consistency, checked as Jepsen checks a history. On a PostgreSQL
cluster and a server of this module's own, writers register cases (as a
mediator) and send referrals (as a hotline operator, each under an
Idempotency-Key, repeated with the same key and body until definitely
answered) while the server is killed with SIGKILL and PostgreSQL stopped
with `pg_ctl stop -m immediate`, each started again at once. Every attempt
is kept: acknowledged (2xx, with the id made), refused (4xx, or a 5xx that
says nothing was stored) or in doubt (no answer, or any other 5xx). With
everything up again, what the database holds, read back through the API,
must agree with that history: every acknowledged write there exactly once,
nothing refused there, no referral twice, nothing in doubt twice, the audit
chain whole and the statistics what they would be if computed afresh.

The run is seeded: TIAOJIE_CRASH_SEED=N repeats its faults' order and
timing and its writers' choices (not the interleaving, which is the
machine's). The seed and the figures of the run are printed."""

import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from support import (
    LATEST_SCHEMA,
    Client,
    Cluster,
    Installation,
    ServerProcess,
    create_user,
    run_cli,
    signed_in,
    wait_until,
)

SEED = int(os.environ.get("TIAOJIE_CRASH_SEED") or secrets.randbelow(2**31))
KILLS, STOPS = 20, 5             # SIGKILLs of the server, immediate stops of PostgreSQL
PAUSE = (0.2, 1.0)               # seconds of work between two faults
DOWN = (0.2, 1.0)                # seconds PostgreSQL stays down
CASE_WRITERS, REFERRAL_WRITERS = 3, 2
REFUSED_SHARE = 0.1              # writes made to be refused (422), of each kind
RECOVERY_SECONDS = 15            # for the server to serve again after a fault
SETTLE_SECONDS = 75              # for referrals in doubt once the faults are over (a key whose
                                 # request died with its server is taken over after 60 s)
REQUEST_TIMEOUT = 10
COUNTY = "450202"

OK, FAIL, UNKNOWN = "acknowledged", "refused", "in doubt"
NOTHING_STORED = "nothing was stored"   # a 5xx that says so is a definite failure too
NOT_SENT = object()
MARKER = re.compile(r"crash-[0-9]+-[cr][0-9]+")


@dataclass
class Op:
    """One write and every attempt at it."""
    kind: str                      # "case" or "referral"
    marker: str                    # in its summary: what finds it again
    body: dict
    key: str = None                # a referral's Idempotency-Key
    refusable: bool = False        # made to be refused
    attempts: list = field(default_factory=list)   # each answer's status, or "no answer"
    outcome: str = UNKNOWN
    id: int = None


class Incarnation(ServerProcess):
    """`tiaojie serve` on the port of the one before it, with a log of its own."""

    def __init__(self, database_url, logdir, port, n, **settings):
        super().__init__(database_url, logdir, **settings)
        self.port = port
        self.env["TIAOJIE_LISTEN"] = f"127.0.0.1:{port}"
        self.logpath = Path(logdir) / f"tiaojie-{port}-{n}.log"


def post(port, path, headers, body):
    """One POST on a connection of its own: (status, headers, body) when
    answered; NOT_SENT when no connection was made (nothing left the
    client); None when sent and not answered (reset, closed, timed out)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        try:
            conn.connect()
        except OSError:
            return NOT_SENT
        try:
            conn.request("POST", path, body=json.dumps(body, ensure_ascii=False).encode(),
                         headers={**headers, "Content-Type": "application/json"})
            r = conn.getresponse()
            return r.status, r.headers, r.read()
        except (OSError, http.client.HTTPException):
            return None
    finally:
        conn.close()


def answered(got):
    """What an attempt got, for the history: a status (with the problem's
    detail for a 5xx), or "no answer"."""
    if got is None:
        return "no answer"
    status, headers, body = got
    if status < 500:
        return status
    try:
        return f"{status} {json.loads(body)['detail']}"
    except (ValueError, KeyError, TypeError):
        return f"{status} {body[:100]!r}"


# --- the run -------------------------------------------------------------------------------------


class Run:
    """The writers, the faults and the history of one run."""

    def __init__(self, inst, cluster, mediator, hotline, committees, elsewhere):
        self.inst, self.cluster = inst, cluster
        self.mediator, self.hotline = mediator, hotline
        self.committees, self.elsewhere = committees, elsewhere
        self.port = inst.server.port
        self.history = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.serial = itertools.count(1)
        self.errors = []
        self.incarnations = [inst.server]
        self.kills = self.stops = 0
        self.comebacks = {"kill": [], "stop": []}   # seconds from each restart until the server served again
        self.outage_answers = Counter()

    # --- writes

    def new_case(self, rng):
        n = next(self.serial)
        marker = f"crash-{SEED}-c{n}"
        body = {
            "committee_id": rng.choice(self.committees), "source": "walk_in", "dispute_type": "divorce",
            "summary": f"{marker}：双方因家庭琐事争吵，女方要求调解",
            "parties": [
                {"role": "applicant", "name": f"当事人{n:06d}", "phone": f"1391{n:07d}", "gender": "female",
                 "birth_year": 1988},
                {"role": "respondent", "name": f"对方{n:06d}", "phone": f"1392{n:07d}", "gender": "male",
                 "birth_year": 1986},
            ],
        }
        refusable = rng.random() < REFUSED_SHARE
        if refusable:  # a time that does not exist: refused by PostgreSQL, inside the transaction
            body["received_at"] = "2026-02-30T09:30:00+08:00"
        return self.record(Op("case", marker, body, refusable=refusable))

    def new_referral(self, rng, acknowledged):
        n = next(self.serial)
        marker = f"crash-{SEED}-r{n}"
        body = {
            "source": "hotline_12338", "caller_name": f"来电人{n:06d}", "caller_phone": f"1367{n:07d}",
            "county_code": COUNTY, "dispute_type": "divorce",
            "summary": f"{marker}：丈夫长期不回家，要求调解离婚事宜",
        }
        key, refusable, roll = f"12338-crash-{SEED}-{n}", False, rng.random()
        if roll < REFUSED_SHARE / 2 and acknowledged:
            key, refusable = rng.choice(acknowledged), True      # another referral under a used key
        elif roll < REFUSED_SHARE:
            body["target_committee_id"] = self.elsewhere         # a committee of another county
            refusable = True
        return self.record(Op("referral", marker, body, key=key, refusable=refusable))

    def record(self, op):
        with self.lock:
            self.history.append(op)
        return op

    def send(self, op):
        """One attempt at op: the answer, None when none came, or NOT_SENT
        when no connection was made (nothing is recorded then)."""
        if op.kind == "case":
            path, headers = "/api/v1/cases", dict(self.mediator.auth)
        else:
            path, headers = "/api/v1/referrals", {**self.hotline.auth, "Idempotency-Key": op.key}
        got = post(self.port, path, headers, op.body)
        if got is not NOT_SENT:
            op.attempts.append(answered(got))
        return got

    def write_case(self, op):
        """A case is sent once: without an idempotency key, a second try could make it twice."""
        got = self.send(op)
        while got is NOT_SENT and not self.stop.is_set():
            time.sleep(0.05)  # nothing listens: the server is down
            got = self.send(op)
        if got is NOT_SENT:
            with self.lock:
                self.history.remove(op)
        elif got is not None and 200 <= got[0] < 300:
            op.outcome, op.id = OK, json.loads(got[2])["id"]
            summary = json.loads(got[2]).get("summary")
            if summary != op.body["summary"]:
                self.errors.append(f"case {op.id} was answered with summary {summary!r}")
        elif got is not None and (got[0] < 500 or NOTHING_STORED in op.attempts[-1]):
            op.outcome = FAIL
        elif got is not None:  # any other 5xx: in doubt; and the server asks for a pause
            time.sleep(int(got[1].get("Retry-After") or 0) or 0.1)

    def write_referral(self, op, going_on):
        """Sends op again and again while going_on() until definitely
        answered: None then, or the seconds to wait when the first request
        with its key is still in flight (409 with Retry-After)."""
        while going_on():
            got = self.send(op)
            if got is NOT_SENT or got is None:
                time.sleep(0.05)
                continue
            status, headers, body = got
            if 200 <= status < 300:
                op.outcome, op.id = OK, json.loads(body)["id"]
                return None
            if status == 409 and headers.get("Retry-After"):
                return int(headers["Retry-After"])
            if 400 <= status < 500:
                op.outcome = FAIL
                return None
            time.sleep(int(headers.get("Retry-After") or 0) or 0.1)  # 5xx: again
        return None

    def case_writer(self, rng):
        while not self.stop.is_set():
            self.write_case(self.new_case(rng))

    def referral_writer(self, rng):
        parked, acknowledged = [], []   # [when, op] waiting for their first request; keys answered 2xx
        while not self.stop.is_set():
            due = [p for p in parked if p[0] <= time.monotonic()]
            if due:
                parked.remove(due[0])
                op = due[0][1]
            else:
                op = self.new_referral(rng, acknowledged)
            wait = self.write_referral(op, lambda: not self.stop.is_set())
            if wait is not None:
                parked.append([time.monotonic() + wait, op])
            elif op.outcome == OK:
                acknowledged.append(op.key)

    def guarded(self, work, *args):
        try:
            work(*args)
        except Exception as e:  # reported by the first check
            self.errors.append(f"{work.__name__}: {e!r}")

    # --- faults

    def serving(self):
        try:
            return Client(self.port, timeout=5).get("/readyz").status == 200
        except AssertionError:
            return False

    def kill_server(self, n):
        srv = self.incarnations[-1]
        srv.send(signal.SIGKILL)
        srv.wait(timeout=10)
        started = time.monotonic()
        srv = Incarnation(self.inst.url, self.inst.logdir, self.port, n, **self.inst.settings).start()
        self.incarnations.append(srv)
        self.inst.server = srv
        assert wait_until(self.serving, RECOVERY_SECONDS, interval=0.05), (
            f"the server did not serve again within {RECOVERY_SECONDS} s of a restart:\n{srv.log()[-3000:]}")
        self.comebacks["kill"].append(time.monotonic() - started)
        self.kills += 1

    def stop_database(self, rng):
        self.cluster.kill()  # pg_ctl stop -m immediate
        assert not self.cluster.running()
        # Meanwhile the server stays up and says the database is unavailable.
        r = Client(self.port, timeout=5).get("/readyz")
        self.outage_answers[r.status] += 1
        time.sleep(rng.uniform(*DOWN))
        self.cluster.start()
        started = time.monotonic()
        assert wait_until(self.serving, RECOVERY_SECONDS, interval=0.05), (
            f"the server did not serve again within {RECOVERY_SECONDS} s of the database's restart:\n"
            f"{self.incarnations[-1].log()[-3000:]}")
        assert self.incarnations[-1].alive(), "the server died with its database"
        self.comebacks["stop"].append(time.monotonic() - started)
        self.stops += 1

    def go(self):
        rng = random.Random(SEED)
        faults = ["kill"] * KILLS + ["stop"] * STOPS
        rng.shuffle(faults)
        writers = [threading.Thread(target=self.guarded, args=(self.case_writer, random.Random(SEED + i)))
                   for i in range(1, CASE_WRITERS + 1)]
        writers += [threading.Thread(target=self.guarded, args=(self.referral_writer, random.Random(-SEED - i)))
                    for i in range(1, REFERRAL_WRITERS + 1)]
        started = time.monotonic()
        for t in writers:
            t.start()
        try:
            for n, fault in enumerate(faults, start=1):
                time.sleep(rng.uniform(*PAUSE))
                if fault == "kill":
                    self.kill_server(n)
                else:
                    self.stop_database(rng)
            self.faults_seconds = time.monotonic() - started
        finally:
            self.stop.set()
            for t in writers:
                t.join(timeout=60)
        # No more faults: referrals in doubt are sent again, as an operator would, until answered.
        started = time.monotonic()
        deadline = started + SETTLE_SECONDS
        pending = [op for op in self.history if op.kind == "referral" and op.outcome == UNKNOWN]
        while pending and time.monotonic() < deadline:
            for op in pending:
                self.write_referral(op, lambda: time.monotonic() < deadline)
            pending = [op for op in pending if op.outcome == UNKNOWN]
            if pending:
                time.sleep(1)
        self.settle_seconds = time.monotonic() - started

    def read_back(self):
        """What is stored, with everything up: from the database, and through the API."""
        inst, mediator, hotline = self.inst, self.mediator, self.hotline
        self.serving_at_end = self.serving()
        self.db_ids = {"case": ids_of(inst, "SELECT id FROM cases"),
                       "referral": ids_of(inst, "SELECT id FROM referrals")}
        self.listed_ids = {"case": sorted(c["id"] for c in every_item(inst.api, mediator, "/api/v1/cases")),
                           "referral": sorted(f["id"] for f in every_item(inst.api, hotline, "/api/v1/referrals"))}
        self.stored = {"case": markers(inst.api, mediator, "cases", self.db_ids["case"]),
                       "referral": markers(inst.api, hotline, "referrals", self.db_ids["referral"])}
        self.keys = {}
        for line in inst.psql(f"SELECT key, coalesce(referral_id::text, ''), completed_at IS NOT NULL"
                              f" FROM idempotency_keys WHERE user_id = {hotline.id}").splitlines():
            key, rid, completed = line.split("|")
            self.keys[key] = (int(rid) if rid else None, completed == "t")


# --- what is stored, read back ------------------------------------------------------------------


def every_item(api, who, path):
    """Every item of a list endpoint, paging with next_after."""
    items, after = [], None
    while True:
        r = api.get(f"{path}?limit=1000" + (f"&after={after}" if after is not None else ""), headers=who.auth)
        assert r.status == 200, r
        page = r.json()
        items += page["items"]
        after = page["next_after"]
        if after is None:
            return items


def markers(api, who, kind, ids):
    """id -> the marker in the summary of each case or referral, read through the API."""
    def one(i):
        r = api.get(f"/api/v1/{kind}/{i}", headers=who.auth)
        assert r.status == 200, r
        found = MARKER.match(r.json().get("summary") or "")
        return i, found.group(0) if found else None

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(one, ids))


def ids_of(inst, sql):
    return sorted(int(x) for x in inst.psql(sql).split())


@dataclass
class Verdict:
    """What the stored data says of the history."""
    lost: list = field(default_factory=list)          # acknowledged, not there (or not as acknowledged)
    duplicated: list = field(default_factory=list)    # there more than once
    refused_but_stored: list = field(default_factory=list)
    doubtful_twice: list = field(default_factory=list)
    phantoms: list = field(default_factory=list)      # there, and never written
    found: Counter = field(default_factory=Counter)   # (kind, outcome) -> ops found


def check(history, stored, keys):
    """stored: kind -> {id: marker}; keys: idempotency key -> (referral id, completed)."""
    v = Verdict()
    for kind in ("case", "referral"):
        ops = {op.marker: op for op in history if op.kind == kind}
        where = {}
        for i, m in stored[kind].items():
            where.setdefault(m, []).append(i)
        for m, ids in where.items():
            if m not in ops:
                v.phantoms.append((kind, ids, m))
            elif len(ids) > 1:
                v.duplicated.append((kind, ids, m))
        for m, op in ops.items():
            ids = where.get(m, [])
            if ids:
                v.found[kind, op.outcome] += 1
            if op.outcome == OK and ids != [op.id]:
                v.lost.append((kind, op.id, m, ids))
            elif op.outcome == FAIL and ids:
                v.refused_but_stored.append((kind, ids, m, op.attempts))
            elif op.outcome == UNKNOWN and len(ids) > 1:
                v.doubtful_twice.append((kind, ids, m, op.attempts))
            if kind == "referral" and not op.refusable:
                # The key names the referral it made, and only that one.
                made = keys.get(op.key)
                if op.outcome == OK and made != (op.id, True):
                    v.lost.append(("referral key", op.key, op.id, made))
                if ids and made is not None and made[0] not in (None, *ids):
                    v.duplicated.append(("referral key", op.key, ids, made))
    return v


@pytest.fixture(scope="module")
def run(logdir, request):
    """A cluster, an installation and a run of their own: the writes and the
    faults, then what is stored, checked against the history."""
    directory = tempfile.mkdtemp(prefix="tiaojie-pg-")
    cluster = Cluster(directory)
    inst = w = None
    try:
        cluster.start()
        inst = Installation(cluster, logdir, proxy=False, TIAOJIE_WORKERS="4").start()
        a = signed_in(inst.api, inst.admin).auth
        committees = []
        for kind in ("committee", "room"):
            r = inst.api.post("/api/v1/committees", headers=a, json_body={
                "name": f"{COUNTY} 婚调{kind}", "kind": kind, "region_code": COUNTY, "established_on": "2020-06-18"})
            assert r.status == 201, r
            committees.append(r.json()["id"])
        r = inst.api.post("/api/v1/committees", headers=a, json_body={
            "name": "450203 婚调委", "kind": "committee", "region_code": "450203", "established_on": "2020-06-18"})
        assert r.status == 201, r
        elsewhere = r.json()["id"]
        r = inst.api.post("/api/v1/mediators", headers=a,
                          json_body={"name": "调解员", "full_time": True, "committees": committees})
        assert r.status == 201, r
        mediator = create_user(inst.api, a, "mediator")
        r = inst.api.request("PATCH", f"/api/v1/users/{mediator.id}", headers=a,
                             json_body={"mediator_id": r.json()["id"]})
        assert r.status == 200, r
        mediator = signed_in(inst.api, mediator)
        hotline = signed_in(inst.api, create_user(inst.api, a, "hotline"))

        w = Run(inst, cluster, mediator, hotline, committees, elsewhere)
        w.go()

        w.read_back()
        w.verdict = check(w.history, w.stored, w.keys)
        w.summary = summary(w)
        with request.config.pluginmanager.get_plugin("capturemanager").global_and_fixture_disabled():
            print("\n" + w.summary)
        yield w
    finally:
        # The last server is stopped as usual; every one before it was killed.
        problems = inst.close() if inst is not None else []
        for srv in w.incarnations[:-1] if w is not None else []:
            problems += srv.problems()
        try:
            cluster.kill()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    assert not problems, "\n".join(problems)[:8000]


def summary(w):
    v, h = w.verdict, w.history
    lines = [f"crash consistency (TIAOJIE_CRASH_SEED={SEED}): {w.kills} server kills (SIGKILL) and {w.stops}"
             f" immediate stops of PostgreSQL survived in {w.faults_seconds:.0f} s, then {w.settle_seconds:.0f} s"
             f" until every referral in doubt was answered; serving again at most"
             f" {max(w.comebacks['kill']):.2f} s after the server's restart,"
             f" {max(w.comebacks['stop']):.2f} s after PostgreSQL's"]
    for kind in ("case", "referral"):
        ops = [op for op in h if op.kind == kind]
        by = Counter(op.outcome for op in ops)
        lines.append(
            f"  {kind}s: {len(ops)} writes, {sum(len(op.attempts) for op in ops)} attempts;"
            f" {by[OK]} acknowledged, {by[FAIL]} refused, {by[UNKNOWN]} in doubt;"
            f" found {v.found[kind, OK]} of the acknowledged, {v.found[kind, FAIL]} of the refused,"
            f" {v.found[kind, UNKNOWN]} of those in doubt; stored {len(w.db_ids[kind])}")
    stored = set(w.stored["case"].values())
    doubt = Counter(str(op.attempts[-1]) for op in h if op.kind == "case" and op.outcome == UNKNOWN)
    found = Counter(str(op.attempts[-1]) for op in h
                    if op.kind == "case" and op.outcome == UNKNOWN and op.marker in stored)
    for what, n in doubt.most_common():
        lines.append(f"  cases in doubt after {what}: {n}, found {found[what]}")
    waited = [op for op in h if op.kind == "referral" and 409 in op.attempts]
    lines.append(f"  referrals answered 409 (the first request with the key counted in flight): {len(waited)},"
                 f" on {sum(op.attempts.count(409) for op in waited)} attempts")
    lines.append(f"  lost {len(v.lost)}, duplicated {len(v.duplicated)},"
                 f" refused but stored {len(v.refused_but_stored)}, never written but stored {len(v.phantoms)}")
    return "\n".join(lines)


# --- the checks ---------------------------------------------------------------------------------


def test_the_run_survived_every_fault_and_the_server_serves(run):
    assert run.errors == [], run.errors[:20]
    assert (run.kills, run.stops) == (KILLS, STOPS)
    assert len(run.incarnations) == KILLS + 1 and run.incarnations[-1].alive()
    assert run.serving_at_end
    # While PostgreSQL was down the server said so, and was not gone.
    assert set(run.outage_answers) == {503}, run.outage_answers
    health = Client(run.port).get("/readyz").json()
    assert health == {"status": "ready", "schema_version": LATEST_SCHEMA}
    # The faults hit writes: some were in doubt, and both kinds were made and refused.
    ops = Counter((op.kind, op.outcome) for op in run.history)
    assert all(ops[kind, outcome] > 0 for kind in ("case", "referral") for outcome in (OK, FAIL)), ops
    assert ops["case", UNKNOWN] + sum(1 for op in run.history if len(op.attempts) > 1) > 0, ops


def test_every_acknowledged_write_is_stored_once(run):
    assert run.verdict.lost == [], (run.summary, run.verdict.lost[:20])
    assert run.verdict.duplicated == [], (run.summary, run.verdict.duplicated[:20])


def answered_amiss(op):
    """A write made to be refused that was acknowledged, or another that was refused (4xx)."""
    if op.refusable:
        return op.outcome == OK
    return any(isinstance(a, int) and 400 <= a < 500 and a != 409 for a in op.attempts)


def test_no_refused_write_is_stored(run):
    assert run.verdict.refused_but_stored == [], (run.summary, run.verdict.refused_but_stored[:20])
    amiss = [(op.kind, op.marker, op.attempts, op.outcome) for op in run.history if answered_amiss(op)]
    assert amiss == [], amiss[:20]


def test_nothing_in_doubt_is_stored_twice_and_nothing_unwritten_at_all(run):
    assert run.verdict.doubtful_twice == [], run.verdict.doubtful_twice[:20]
    assert run.verdict.phantoms == [], run.verdict.phantoms[:20]


def test_one_referral_per_idempotency_key(run):
    made = Counter(rid for rid, completed in run.keys.values() if rid is not None)
    assert [rid for rid, n in made.items() if n > 1] == []
    assert sorted(made) == run.db_ids["referral"], "a referral without its key, or a key without its referral"
    assert all(completed for rid, completed in run.keys.values() if rid is not None)


def test_what_the_lists_show_is_what_is_stored(run):
    assert run.listed_ids == run.db_ids


def test_case_numbers_have_no_gaps_after_the_crashes(run):
    # Per county and year: 1 to n, each once, and the counter at n.
    off = run.inst.psql(
        "SELECT count(*) FROM (SELECT left(number, 11) AS prefix, count(*) AS n, count(DISTINCT number) AS d,"
        " max(split_part(number, '-', 3)::int) AS hi FROM cases GROUP BY 1) g"
        " FULL JOIN case_counters k ON k.county_code || '-' || k.year = g.prefix"
        " WHERE g.n IS DISTINCT FROM g.d OR g.d IS DISTINCT FROM g.hi OR g.hi IS DISTINCT FROM k.last")
    assert off == "0"
    assert run.inst.psql("SELECT sum(last) FROM case_counters") == str(len(run.db_ids["case"]))


def test_every_stored_write_has_its_one_audit_entry(run):
    for table, action in (("cases", "case.create"), ("referrals", "referral.create")):
        off = run.inst.psql(
            f"SELECT count(*) FROM {table} t WHERE (SELECT count(*) FROM audit_log a WHERE a.action = '{action}'"
            f" AND a.object_id = t.id::text) <> 1")
        assert off == "0", (table, off)
        stray = run.inst.psql(f"SELECT count(*) FROM audit_log a WHERE a.action = '{action}'"
                              f" AND NOT EXISTS (SELECT 1 FROM {table} t WHERE t.id::text = a.object_id)")
        assert stray == "0", (table, stray)


def test_the_audit_chain_is_whole(run):
    proc = run_cli(["audit", "verify"], DATABASE_URL=run.inst.url)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.endswith(" pending: the chain is whole\n"), proc.stdout
    sealed = int(proc.stdout.split()[0])
    stored = len(run.db_ids["case"]) + len(run.db_ids["referral"])
    assert sealed == int(run.inst.psql("SELECT count(*) FROM audit_log")) > stored


def test_rollups_are_what_they_would_be_if_computed_afresh(run):
    differences, cases, referrals = run.inst.recompute_rollups(
        "SELECT sum(cases) FROM r0 WHERE dim = ''", "SELECT sum(received) FROM f0 WHERE dim = ''")
    assert differences == 0, (cases, referrals)
    assert (int(cases), int(referrals)) == (len(run.db_ids["case"]), len(run.db_ids["referral"]))
