"""Field encryption against a real database, driven through the module by
build/*/crypt-probe until resources with encrypted fields have endpoints:
ciphertexts bound to their row and column, data keys bound to their id,
a wrong master key, crypto-shredding, blind-index look-ups, key rotation,
and a pg_dump that holds none of the plaintext."""

import os
import secrets
import subprocess
from pathlib import Path

import pytest

from support import ROOT, binary_path, clean_env, run_cli

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"
PROBE_TABLE = """
CREATE TABLE crypt_probe (
    id bigint PRIMARY KEY REFERENCES data_keys (id),
    name bytea NOT NULL,
    phone bytea NOT NULL,
    phone_bidx integer NOT NULL
);
GRANT SELECT, INSERT, UPDATE ON crypt_probe TO tiaojie_app;
"""


def probe_path():
    return Path(os.environ.get("TIAOJIE_PROBE") or binary_path().parent / "crypt-probe")


class Store:
    """A migrated database with the probe table, and a key file."""

    def __init__(self, cluster, db, keyfile):
        self.cluster, self.db, self.keyfile = cluster, db, keyfile
        self.url = cluster.url(db)

    def env(self, keyfile=None):
        return clean_env(
            DATABASE_URL=self.url, TIAOJIE_MASTER_KEY=None, TIAOJIE_KEY_FILE=str(keyfile or self.keyfile)
        )

    def probe(self, *args, stdin=None, keyfile=None):
        return subprocess.run(
            [str(probe_path()), *args],
            input=stdin,
            env=self.env(keyfile),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def seed(self, rows):
        p = self.probe("seed", stdin="".join(f"{n}\t{ph}\n" for n, ph in rows))
        assert p.returncode == 0, p.stderr
        ids = p.stdout.split()
        assert len(ids) == len(rows)
        return ids

    def read(self, row, keyfile=None):
        return self.probe("read", row, keyfile=keyfile)

    def sql(self, text):
        return self.cluster.psql(self.db, text)


def new_keyfile(tmp_path, name="master.key"):
    path = tmp_path / name
    p = run_cli(["keygen", str(path)])
    assert p.returncode == 0, p.stderr
    return path


@pytest.fixture
def store(cluster, scratch_db, tmp_path):
    url = cluster.url(scratch_db)
    p = run_cli(["migrate"], DATABASE_URL=url)
    assert p.returncode == 0, p.stderr
    cluster.psql(scratch_db, PROBE_TABLE)
    return Store(cluster, scratch_db, new_keyfile(tmp_path))


def person(i):
    return (f"当事人{i:04d}-{secrets.token_hex(4)}", f"139{i:04d}{secrets.randbelow(10000):04d}")


def test_values_read_back(store):
    rows = [person(i) for i in range(3)] + [("", "0772-2812345")]
    for row, (name, phone) in zip(store.seed(rows), rows):
        p = store.read(row)
        assert p.returncode == 0, p.stderr
        assert p.stdout == f"{name}\t{phone}\n"


def test_the_same_plaintext_twice_gives_different_ciphertexts(store):
    a, b = store.seed([("同名", "13800138000"), ("同名", "13800138000")])
    names = store.sql(f"SELECT encode(name, 'hex') FROM crypt_probe WHERE id IN ({a}, {b})").split()
    assert len(names) == 2 and names[0] != names[1]


def test_a_ciphertext_moved_to_another_row_fails(store):
    a, b = store.seed([person(1), person(2)])
    store.sql(f"UPDATE crypt_probe SET phone = (SELECT phone FROM crypt_probe WHERE id = {b}) WHERE id = {a}")
    p = store.read(a)
    assert p.returncode == 4, p
    assert store.read(b).returncode == 0


def test_a_ciphertext_moved_to_another_column_fails(store):
    (a,) = store.seed([person(3)])
    store.sql(f"UPDATE crypt_probe SET name = phone WHERE id = {a}")
    assert store.read(a).returncode == 4


def test_one_flipped_byte_fails(store):
    (a,) = store.seed([person(4)])
    for position in (0, 1, 24, 30):
        store.sql(
            f"UPDATE crypt_probe SET name = set_byte(name, {position}, get_byte(name, {position}) # 1) WHERE id = {a}"
        )
        assert store.read(a).returncode == 4, position
        store.sql(
            f"UPDATE crypt_probe SET name = set_byte(name, {position}, get_byte(name, {position}) # 1) WHERE id = {a}"
        )
        assert store.read(a).returncode == 0, position


def test_a_data_key_moved_to_another_record_fails(store):
    a, b = store.seed([person(5), person(6)])
    store.sql(f"UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE id = {b}) WHERE id = {a}")
    p = store.read(a)
    assert p.returncode == 4 and "does not unwrap" in p.stderr


def test_a_wrong_master_key_fails_cleanly(store, tmp_path):
    (a,) = store.seed([person(7)])
    other = new_keyfile(tmp_path, "other.key")
    p = store.read(a, keyfile=other)
    assert p.returncode == 4
    assert "does not unwrap" in p.stderr
    assert "當事人" not in p.stdout and p.stdout == ""


def test_a_shredded_record_cannot_be_read(store):
    a, b = store.seed([person(8), person(9)])
    assert store.probe("shred", a).returncode == 0
    p = store.read(a)
    assert p.returncode == 3 and "destroyed" in p.stderr
    assert store.sql(f"SELECT wrapped IS NULL AND destroyed_at IS NOT NULL FROM data_keys WHERE id = {a}") == "t"
    assert store.read(b).returncode == 0
    # Shredding twice finds nothing left to destroy.
    assert store.probe("shred", a).returncode == 5


def test_the_server_role_cannot_bring_a_shredded_key_back_or_delete_keys(store):
    (a,) = store.seed([person(10)])
    for sql in (f"DELETE FROM data_keys WHERE id = {a}", f"UPDATE data_keys SET created_at = now() WHERE id = {a}"):
        p = subprocess.run(
            ["tools/pg.sh", "psql", str(store.cluster.dir), store.db, "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-c", "SET ROLE tiaojie_app", "-c", sql],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )
        assert p.returncode != 0 and "permission denied" in p.stderr, sql


def test_a_destroyed_data_key_stays_destroyed(store):
    a, b = store.seed([person(12), person(13)])
    assert store.probe("shred", a).returncode == 0
    for role in ("SET ROLE tiaojie_app", "RESET ROLE"):
        p = subprocess.run(
            ["tools/pg.sh", "psql", str(store.cluster.dir), store.db, "-X", "-q", "-v", "ON_ERROR_STOP=1",
             "-c", role,
             "-c", f"UPDATE data_keys SET wrapped = (SELECT wrapped FROM data_keys WHERE id = {b}),"
                   f" destroyed_at = NULL WHERE id = {a}"],
            cwd=ROOT, capture_output=True, text=True, timeout=30,
        )
        assert p.returncode != 0 and "was destroyed" in p.stderr, (role, p.stderr)
    assert store.read(a).returncode == 3


def test_blind_index_finds_every_spelling_and_confirms_by_decryption(store):
    rows = [("甲", "138 0013 8000"), ("乙", "+86 138-0013-8000"), ("丙", "13900139000")]
    a, b, c = store.seed(rows)
    p = store.probe("find", "8613800138000")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == [a, b]
    # Candidates that share the truncated index but not the number are dropped.
    q = store.probe("find", "13700137000")
    assert q.returncode == 0 and q.stdout.split() == []


def test_rotation_rewraps_every_data_key(store):
    rows = [person(i) for i in range(40)]
    ids = store.seed(rows)
    first = run_cli(["rotate-keys"], **{k: v for k, v in store.env().items() if k in ("DATABASE_URL", "TIAOJIE_KEY_FILE")})
    assert first.returncode == 0, first.stderr
    assert "added master key version 2" in first.stdout
    assert "re-wrapped 40 data keys" in first.stdout and ", 0 an older one" in first.stdout
    assert store.sql("SELECT count(*) FROM data_keys WHERE master_version <> 2") == "0"
    assert store.keyfile.read_text().count("\nv2:") == 1
    for row, (name, phone) in zip(ids[:5], rows[:5]):
        assert store.read(row).stdout == f"{name}\t{phone}\n"
    again = run_cli(["rotate-keys"], DATABASE_URL=store.url, TIAOJIE_KEY_FILE=str(store.keyfile), TIAOJIE_MASTER_KEY=None)
    assert again.returncode == 0 and "added master key version 3" in again.stdout
    assert store.sql("SELECT DISTINCT master_version FROM data_keys") == "3"


def test_a_running_reader_keeps_reading_through_a_rotation(store):
    (a,) = store.seed([("轮换中", "13800138000")])
    reader = subprocess.Popen(
        [str(probe_path()), "hold", a],
        env=store.env(),
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline() == "轮换中 reloads=0\n"
        rotate = run_cli(
            ["rotate-keys"], DATABASE_URL=store.url, TIAOJIE_KEY_FILE=str(store.keyfile), TIAOJIE_MASTER_KEY=None
        )
        assert rotate.returncode == 0, rotate.stderr
        assert store.sql(f"SELECT master_version FROM data_keys WHERE id = {a}") == "2"
        # The reader holds only version 1: it reloads the keys once, and reads on.
        for _ in range(2):
            reader.stdin.write("\n")
            reader.stdin.flush()
            assert reader.stdout.readline() == "轮换中 reloads=1\n"
    finally:
        reader.stdin.close()
        assert reader.wait(timeout=30) == 0, reader.stderr.read()


def test_rotation_needs_the_old_version_to_read_what_it_moves(store, tmp_path):
    store.seed([person(11)])
    other = new_keyfile(tmp_path, "other.key")
    p = run_cli(["rotate-keys"], DATABASE_URL=store.url, TIAOJIE_KEY_FILE=str(other), TIAOJIE_MASTER_KEY=None)
    assert p.returncode == 1
    assert "does not unwrap" in p.stderr


def test_a_dump_holds_none_of_1000_plaintexts(store):
    rows = [person(i) for i in range(1000)]
    store.seed(rows)
    dump = subprocess.run(
        [PG_DUMP, "--no-owner", store.url], capture_output=True, timeout=120, env=clean_env()
    )
    assert dump.returncode == 0, dump.stderr
    text = dump.stdout
    assert b"crypt_probe" in text and len(text) > 100_000
    found = [v for name, phone in rows for v in (name, phone) if v.encode() in text]
    assert found == []
    # Nor the keys.
    for line in store.keyfile.read_text().splitlines():
        if line and not line.startswith("#"):
            assert line.split(":", 1)[1].encode() not in text


def test_an_interrupted_rotation_resumes_without_a_new_version(store):
    store.seed([person(i) for i in range(10)])
    # As if a run had added version 2 and stopped before re-wrapping anything:
    fresh = run_cli(["keygen", "-"]).stdout
    v2 = next(line for line in fresh.splitlines() if line.startswith("v1:")).replace("v1:", "v2:", 1)
    with open(store.keyfile, "a") as f:
        f.write(v2 + "\n")
    store.seed([person(i) for i in range(10, 15)])  # new keys are wrapped under version 2
    assert store.sql("SELECT master_version, count(*) FROM data_keys GROUP BY 1 ORDER BY 1") == "1|10\n2|5"
    p = run_cli(["rotate-keys"], DATABASE_URL=store.url, TIAOJIE_KEY_FILE=str(store.keyfile), TIAOJIE_MASTER_KEY=None)
    assert p.returncode == 0, p.stderr
    assert "added master key version" not in p.stdout
    assert "re-wrapped 10 data keys: all 15 live data keys use master key version 2, 0 an older one" in p.stdout
