"""Encryption keys: made by `tiaojie keygen`, required by `serve`, refused
when anyone but the owner may read them. The keys never reach the logs."""

import os
import stat

import pytest

from support import free_port, run_cli, run_keys


def serve_with(database_url, **env):
    return run_cli(
        ["serve"], DATABASE_URL=database_url, TIAOJIE_LISTEN=f"127.0.0.1:{free_port()}", timeout=20, **env
    )


def test_keygen_writes_a_private_file_once(tmp_path):
    path = tmp_path / "master.key"
    first = run_cli(["keygen", str(path)])
    assert first.returncode == 0, first.stderr
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    text = path.read_text()
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert [line.split(":", 1)[0] for line in lines] == ["index", "v1"]
    again = run_cli(["keygen", str(path)])
    assert again.returncode == 1
    assert "never overwritten" in again.stderr
    assert path.read_text() == text


def test_keygen_makes_different_keys_each_time():
    a, b = run_cli(["keygen", "-"]), run_cli(["keygen", "-"])
    assert a.returncode == b.returncode == 0
    assert a.stdout != b.stdout


def test_serve_refuses_to_start_without_keys(database_url):
    p = serve_with(database_url, TIAOJIE_MASTER_KEY=None)
    assert p.returncode == 1
    assert "refusing to start" in p.stderr and "tiaojie keygen" in p.stderr


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o666])
def test_serve_refuses_a_key_file_others_may_read(database_url, tmp_path, mode):
    path = tmp_path / "master.key"
    path.write_text(run_keys())
    os.chmod(path, mode)
    p = serve_with(database_url, TIAOJIE_MASTER_KEY=None, TIAOJIE_KEY_FILE=str(path))
    assert p.returncode == 1
    assert "chmod 600" in p.stderr and str(path) in p.stderr


@pytest.mark.parametrize(
    "text,says",
    [
        ("v1:" + "A" * 43 + "\n", "index"),
        ("index:" + "A" * 43 + "\n", "version"),
        ("index:" + "A" * 43 + "\nv1:tooshort\n", "base64url"),
        ("index:" + "A" * 43 + "\nv0:" + "A" * 43 + "\n", "version 0"),
    ],
)
def test_serve_refuses_malformed_keys_and_names_the_variable(database_url, text, says):
    p = serve_with(database_url, TIAOJIE_MASTER_KEY=text)
    assert p.returncode == 1
    assert says in p.stderr and "TIAOJIE_MASTER_KEY" in p.stderr
    # The refusal never repeats the key material.
    assert "A" * 20 not in p.stderr


def test_a_missing_key_file_is_named(database_url, tmp_path):
    path = tmp_path / "nowhere.key"
    p = serve_with(database_url, TIAOJIE_MASTER_KEY=None, TIAOJIE_KEY_FILE=str(path))
    assert p.returncode == 1
    assert str(path) in p.stderr


def test_keys_never_reach_the_server_log(server):
    secret = [line.split(":", 1)[1] for line in run_keys().splitlines() if line and not line.startswith("#")]
    log = server.log()
    assert log  # the shared server has logged its start at least
    for key in secret:
        assert key not in log
