"""The command line: version, help, configuration checks, and the
migrator's refusals."""

import json
import re
import socket
import subprocess
import time

import pytest

from support import LATEST_SCHEMA, MIGRATIONS, ROOT, binary_path, clean_env, free_port, run_cli

COMMANDS = ("serve", "migrate", "version")
VARIABLES = (
    "TIAOJIE_LISTEN",
    "DATABASE_URL",
    "TIAOJIE_WORKERS",
    "TIAOJIE_BODY_LIMIT",
    "TIAOJIE_LOG_LEVEL",
    "TIAOJIE_CONN_TIMEOUT",
    "TIAOJIE_MAX_CONNECTIONS",
    "TIAOJIE_MAX_CONNECTIONS_PER_IP",
    "TIAOJIE_CONN_MEMORY",
    "TIAOJIE_SHUTDOWN_GRACE",
)
# A libpq URL nobody answers: if a bad setting were let through, the command
# would fail to connect (exit 1) rather than start.
NOWHERE = "postgresql:///nowhere?host=/nonexistent-tiaojie-socket-dir&user=tiaojie&connect_timeout=2"


def test_version():
    p = run_cli(["version"])
    assert p.returncode == 0
    assert re.match(
        rf"^tiaojie \d+\.\d+\.\d+ \(schema version {LATEST_SCHEMA}; libmicrohttpd [0-9.]+, "
        r"libpq \d+, jansson [0-9.]+, libsodium [0-9.]+\)\n$",
        p.stdout,
    ), p.stdout
    assert p.stderr == ""
    assert run_cli(["--version"]).stdout == p.stdout


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help(flag):
    p = run_cli([flag])
    assert p.returncode == 0
    assert p.stdout.startswith("usage: tiaojie COMMAND [--help]\n")
    for c in COMMANDS:
        assert re.search(rf"^  {c} +\S", p.stdout, re.M), c
    for v in VARIABLES:
        assert re.search(rf"^  {v} +\S", p.stdout, re.M), v
    assert p.stderr == ""


def test_no_command_prints_usage_and_fails():
    p = run_cli([])
    assert p.returncode == 2
    assert p.stderr.startswith("usage: tiaojie COMMAND")
    assert p.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_command_help(command, flag):
    p = run_cli([command, flag])
    assert p.returncode == 0
    assert p.stdout.startswith(f"usage: tiaojie {command}\n\n")
    if command != "version":
        assert "DATABASE_URL" in p.stdout and "TIAOJIE_LISTEN" in p.stdout
    assert p.stderr == ""


def test_unknown_command():
    p = run_cli(["bogus"])
    assert p.returncode == 2
    assert "unknown command 'bogus'" in p.stderr
    assert "usage: tiaojie COMMAND" in p.stderr
    assert p.stdout == ""


@pytest.mark.parametrize("command", COMMANDS)
def test_unexpected_argument(command):
    p = run_cli([command, "extra"], DATABASE_URL=NOWHERE)
    assert p.returncode == 2
    assert "unexpected argument 'extra'" in p.stderr


# --- configuration -------------------------------------------------------------------

BAD_SETTINGS = [
    ("TIAOJIE_WORKERS", "0"),
    ("TIAOJIE_WORKERS", "257"),
    ("TIAOJIE_WORKERS", "two"),
    ("TIAOJIE_WORKERS", "-1"),
    ("TIAOJIE_WORKERS", "4 "),
    ("TIAOJIE_LISTEN", "nonsense"),
    ("TIAOJIE_LISTEN", "127.0.0.1"),
    ("TIAOJIE_LISTEN", "127.0.0.1:0"),
    ("TIAOJIE_LISTEN", "127.0.0.1:70000"),
    ("TIAOJIE_LISTEN", "localhost:8080"),
    ("TIAOJIE_LISTEN", "[::1]8080"),
    ("TIAOJIE_BODY_LIMIT", "1G"),
    ("TIAOJIE_BODY_LIMIT", "512"),
    ("TIAOJIE_BODY_LIMIT", "65M"),
    ("TIAOJIE_BODY_LIMIT", "1.5M"),
    ("TIAOJIE_LOG_LEVEL", "loud"),
    ("TIAOJIE_CONN_TIMEOUT", "0"),
    ("TIAOJIE_MAX_CONNECTIONS", "0"),
    ("TIAOJIE_MAX_CONNECTIONS_PER_IP", "0"),
    ("TIAOJIE_CONN_MEMORY", "8k"),
    ("TIAOJIE_CONN_MEMORY", "2M"),
    ("TIAOJIE_SHUTDOWN_GRACE", "301"),
]


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize("name,value", BAD_SETTINGS)
def test_bad_setting_is_refused(command, name, value):
    p = run_cli([command], DATABASE_URL=NOWHERE, **{name: value})
    assert p.returncode == 2, p.stderr
    assert p.stderr.startswith(f"tiaojie {command}: ")
    assert name in p.stderr
    assert value.strip() in p.stderr


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_fewer_connections_than_workers_is_refused(command):
    p = run_cli([command], DATABASE_URL=NOWHERE, TIAOJIE_WORKERS="8", TIAOJIE_MAX_CONNECTIONS="4")
    assert p.returncode == 2
    assert "TIAOJIE_MAX_CONNECTIONS" in p.stderr and "TIAOJIE_WORKERS" in p.stderr


@pytest.mark.parametrize("command", ["serve", "migrate"])
@pytest.mark.parametrize("url", [None, ""])
def test_missing_database_url(command, url):
    p = run_cli([command], DATABASE_URL=url)
    assert p.returncode == 2
    assert "DATABASE_URL" in p.stderr


@pytest.mark.parametrize("command", ["serve", "migrate"])
def test_unreachable_database(command):
    p = run_cli([command], DATABASE_URL=NOWHERE)
    assert p.returncode == 1
    assert "cannot connect to the database" in p.stderr


# --- schema checks ---------------------------------------------------------------------


def applied(cluster, db):
    rows = cluster.psql(db, "SELECT version, name FROM schema_migrations ORDER BY version")
    return [tuple(r.split("|")) for r in rows.splitlines()]


def expected_rows():
    return [(str(int(name[:4])), name) for name in MIGRATIONS]


def test_serve_refuses_an_unmigrated_database(cluster, scratch_db):
    p = run_cli(["serve"], DATABASE_URL=cluster.url(scratch_db), TIAOJIE_LISTEN=f"127.0.0.1:{free_port()}", timeout=20)
    assert p.returncode == 1
    assert "refusing to start" in p.stderr
    assert "tiaojie migrate" in p.stderr


def test_migrate_then_serve_check_passes_and_migrate_is_idempotent(cluster, scratch_db):
    url = cluster.url(scratch_db)
    first = run_cli(["migrate"], DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    for name in MIGRATIONS:
        assert f"applied migration {name}" in first.stderr
    assert f"schema is current at version {LATEST_SCHEMA}" in first.stderr
    rows = applied(cluster, scratch_db)
    assert rows == expected_rows()
    stamps = cluster.psql(scratch_db, "SELECT applied_at FROM schema_migrations ORDER BY version")

    again = run_cli(["migrate"], DATABASE_URL=url)
    assert again.returncode == 0, again.stderr
    assert "applied migration" not in again.stderr
    assert f"schema is current at version {LATEST_SCHEMA}" in again.stderr
    assert applied(cluster, scratch_db) == rows
    assert cluster.psql(scratch_db, "SELECT applied_at FROM schema_migrations ORDER BY version") == stamps
    assert cluster.psql(scratch_db, "SELECT count(*) FROM regions") == "12"


def test_migrate_logs_json(cluster, scratch_db):
    p = run_cli(["migrate"], DATABASE_URL=cluster.url(scratch_db))
    assert p.returncode == 0
    records = [json.loads(line) for line in p.stderr.splitlines()]
    assert all(r["level"] == "info" and "ts" in r and "msg" in r for r in records)


def migrated(cluster, db):
    p = run_cli(["migrate"], DATABASE_URL=cluster.url(db))
    assert p.returncode == 0, p.stderr
    return cluster.url(db)


def test_changed_migration_is_refused(cluster, scratch_db):
    url = migrated(cluster, scratch_db)
    cluster.psql(scratch_db, "UPDATE schema_migrations SET checksum = 'x' WHERE version = 1")
    for command in ("migrate", "serve"):
        p = run_cli([command], DATABASE_URL=url, TIAOJIE_LISTEN=f"127.0.0.1:{free_port()}", timeout=20)
        assert p.returncode == 1, (command, p.stderr)
        assert MIGRATIONS[0] in p.stderr, (command, p.stderr)
        assert "changed" in p.stderr, (command, p.stderr)
    assert cluster.psql(scratch_db, "SELECT checksum FROM schema_migrations WHERE version = 1") == "x"


def test_database_newer_than_the_binary_is_refused(cluster, scratch_db):
    url = migrated(cluster, scratch_db)
    cluster.psql(
        scratch_db,
        "INSERT INTO schema_migrations (version, name, checksum) VALUES (9999, '9999_future.sql', 'x')",
    )
    for command in ("migrate", "serve"):
        p = run_cli([command], DATABASE_URL=url, TIAOJIE_LISTEN=f"127.0.0.1:{free_port()}", timeout=20)
        assert p.returncode == 1, (command, p.stderr)
        assert "9999_future.sql" in p.stderr, (command, p.stderr)
        assert "newer" in p.stderr, (command, p.stderr)
    assert cluster.psql(scratch_db, "SELECT count(*) FROM schema_migrations") == str(len(MIGRATIONS) + 1)


def test_concurrent_migrations_wait_for_each_other(cluster, scratch_db):
    url = cluster.url(scratch_db)
    env = clean_env(DATABASE_URL=url)
    procs = [
        subprocess.Popen(
            [str(binary_path()), "migrate"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=60), p.communicate()[1]) for p in procs]
    for rc, err in results:
        assert rc == 0, err
        assert "AddressSanitizer" not in err and "runtime error:" not in err, err
    assert sum(err.count("applied migration") for _, err in results) == len(MIGRATIONS)
    assert applied(cluster, scratch_db) == expected_rows()
    assert cluster.psql(scratch_db, "SELECT count(*) FROM regions") == "12"


def test_serve_refuses_a_port_in_use(database_url):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        start = time.monotonic()
        p = run_cli(["serve"], DATABASE_URL=database_url, TIAOJIE_LISTEN=f"127.0.0.1:{port}")
        assert p.returncode == 1, p.stderr
        assert f"cannot listen on 127.0.0.1 port {port}" in p.stderr
        assert time.monotonic() - start < 20
