"""HTTPS: with TIAOJIE_TLS_CERT and TIAOJIE_TLS_KEY the server speaks TLS 1.2
or 1.3 with AEAD ciphers and nothing else on its port. Each test starts a
server of its own with a certificate made here by openssl."""

import contextlib
import os
import socket
import ssl
import subprocess

import pytest

from support import (
    TIME_SCALE,
    VALGRIND_EXIT,
    ServerProcess,
    port_open,
    raw_connect,
    received_until_closed,
    sign_in,
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1 and localhost, and its key (mode 600)."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-days", "2", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert),
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


@pytest.fixture
def https_server(database_url, logdir, certificate):
    cert, key = certificate
    srv = ServerProcess(database_url, logdir, TIAOJIE_TLS_CERT=str(cert),
                        TIAOJIE_TLS_KEY=str(key)).start()
    yield srv
    assert srv.stop() == 0, srv.log()[-4000:]
    problems = srv.problems()
    assert not problems, "\n".join(problems)[:8000]


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", *args], capture_output=True,
                          text=True, timeout=30)


def test_curl_reads_health_over_tls_and_keeps_the_connection(https_server, certificate):
    cert, _ = certificate
    url = f"https://127.0.0.1:{https_server.port}/healthz"
    proc = curl("-v", "--cacert", str(cert), "-D", "-", "-o", "/dev/null", url, url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("HTTP/1.1 200") == 2, proc.stdout
    assert "strict-transport-security: max-age=31536000" in proc.stdout.lower(), proc.stdout
    assert "SSL connection using TLSv1.3" in proc.stderr, proc.stderr
    assert "Re-using existing connection" in proc.stderr, proc.stderr


def test_a_signed_in_read_over_tls(https_server, certificate, admin):
    cert, _ = certificate
    context = ssl.create_default_context(cafile=str(cert))
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            body = ('{"username": "%s", "password": "%s"}' % (admin.username, admin.password)).encode()
            s.sendall(b"POST /api/v1/sessions HTTP/1.1\r\nHost: localhost\r\n"
                      b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            head, rest = read_all_headers(s)
            assert head.startswith(b"HTTP/1.1 201"), head
            assert s.version() in ("TLSv1.3", "TLSv1.2")
            assert s.cipher()[0] in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                     "TLS_CHACHA20_POLY1305_SHA256"), s.cipher()


def read_all_headers(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def test_plain_http_to_the_tls_port_gets_no_answer(https_server):
    proc = curl("-o", "/dev/null", "-w", "%{http_code}", f"http://127.0.0.1:{https_server.port}/healthz")
    assert proc.returncode != 0 and proc.stdout == "000", (proc.returncode, proc.stdout, proc.stderr)
    with raw_connect(https_server.port) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        got = received_until_closed(s, 10)
        assert b"HTTP/" not in got and b"ok" not in got, got
    assert https_server.alive()


def test_tls_1_2_with_a_cbc_cipher_is_refused(https_server, certificate):
    cert, _ = certificate
    context = ssl.create_default_context(cafile=str(cert))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA")
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            context.wrap_socket(raw, server_hostname="localhost")
    # The same version with an AEAD cipher is served.
    context = ssl.create_default_context(cafile=str(cert))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
    with socket.create_connection(("127.0.0.1", https_server.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as s:
            assert s.version() == "TLSv1.2" and s.cipher()[0] == "ECDHE-ECDSA-AES128-GCM-SHA256"


def refused_start(database_url, logdir, **settings):
    """Starts a server that must refuse to: it exits with an error and
    serves nothing. Returns what it wrote."""
    srv = ServerProcess(database_url, logdir, **settings)
    # libmicrohttpd binds the port before it sets TLS up, so the port may be
    # open for a moment (long enough to be seen under memcheck).
    with contextlib.suppress(RuntimeError):
        srv.start(timeout=15)
    try:
        rc = srv.wait(15 * TIME_SCALE)
    except subprocess.TimeoutExpired:
        srv.stop()
        pytest.fail(f"the server started:\n{srv.log()[-3000:]}")
    assert rc not in (0, VALGRIND_EXIT), srv.log()[-3000:]
    assert not port_open(srv.port)
    return srv.log()


def test_a_key_others_may_read_is_refused(database_url, logdir, certificate, tmp_path):
    cert, key = certificate
    loose = tmp_path / "key.pem"
    loose.write_bytes(key.read_bytes())
    os.chmod(loose, 0o644)
    message = refused_start(database_url, logdir, TIAOJIE_TLS_CERT=str(cert), TIAOJIE_TLS_KEY=str(loose))
    assert "TIAOJIE_TLS_KEY" in message and "chmod 600" in message, message
    assert "PRIVATE KEY" not in message


@pytest.mark.parametrize("which", ["TIAOJIE_TLS_CERT", "TIAOJIE_TLS_KEY"])
def test_one_without_the_other_is_refused(database_url, logdir, certificate, which):
    cert, key = certificate
    value = str(cert) if which == "TIAOJIE_TLS_CERT" else str(key)
    message = refused_start(database_url, logdir, **{which: value})
    assert "TIAOJIE_TLS_CERT and TIAOJIE_TLS_KEY go together" in message, message


def test_a_file_that_is_not_pem_is_refused(database_url, logdir, certificate, tmp_path):
    _, key = certificate
    junk = tmp_path / "cert.pem"
    junk.write_text("not a certificate\n")
    message = refused_start(database_url, logdir, TIAOJIE_TLS_CERT=str(junk), TIAOJIE_TLS_KEY=str(key))
    assert "TIAOJIE_TLS_CERT" in message and "not a PEM file" in message, message


def test_a_key_that_does_not_match_the_certificate_is_refused(database_url, logdir, certificate,
                                                             tmp_path):
    cert, _ = certificate
    other = tmp_path / "other.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                    "-out", str(other)], check=True, capture_output=True)
    os.chmod(other, 0o600)
    message = refused_start(database_url, logdir, TIAOJIE_TLS_CERT=str(cert), TIAOJIE_TLS_KEY=str(other))
    assert "cannot listen" in message, message
