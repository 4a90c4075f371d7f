"""Slow and idle connections: 500 of them, from several addresses, some
sending nothing and some trickling a request's headers a byte at a time,
do not stop the server from answering /healthz and a signed-in read; from
one address they are held to TIAOJIE_MAX_CONNECTIONS_PER_IP. (What they
cost in memory is printed, for docs/RELIABILITY.md.) Each test has a server of its own, talked to straight
(the proxy would buffer what the test trickles)."""

import socket
import threading
import time

from support import Client, signed_in

SLOW = 500
ADDRESSES = [f"127.0.0.{i}" for i in range(10, 15)]  # 100 each: within the per-address limit
ANSWER_WITHIN = 15  # seconds: a liveness bound, far above any answer's time


def open_slow(port, sources, count):
    """count connections spread over sources; every other one starts a
    request whose headers never end."""
    socks = []
    for i in range(count):
        s = socket.socket()
        s.bind((sources[i % len(sources)], 0))
        s.settimeout(5)
        s.connect(("127.0.0.1", port))
        if i % 2:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        socks.append(s)
    return socks


def trickle(socks, stop):
    """One header byte per connection per half second, until stop; the
    connections the server closed are dropped."""
    alive = [s for i, s in enumerate(socks) if i % 2]
    while alive and not stop.wait(0.5):
        still = []
        for s in alive:
            try:
                s.sendall(b"X")
                still.append(s)
            except OSError:
                pass
        alive[:] = still


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def served(port, principal):
    client = Client(port, timeout=ANSWER_WITHIN)
    health = client.get("/healthz")
    me = client.get("/api/v1/me", headers=principal.auth)
    return health.status, me.status, me.json()["user"]["username"]


def test_500_slow_connections_leave_health_and_a_signed_in_read_answered(spawn_server, admin):
    srv = spawn_server(TIAOJIE_CONN_TIMEOUT="30")
    signed_in(Client(srv.port), admin)
    before = vm_rss_kib(srv.proc.pid)
    socks = open_slow(srv.port, ADDRESSES, SLOW)
    stop = threading.Event()
    t = threading.Thread(target=trickle, args=(socks, stop), daemon=True)
    t.start()
    try:
        time.sleep(2)  # a few bytes trickled on each
        held = sum(1 for s in socks if _still_open(s))
        assert held == SLOW, f"only {held} of {SLOW} slow connections were held open"
        started = time.monotonic()
        assert served(srv.port, admin) == (200, 200, admin.username)
        waited = time.monotonic() - started
        during = vm_rss_kib(srv.proc.pid)
        print(f"\n{SLOW} slow connections held; /healthz and /api/v1/me answered in {waited:.3f} s; "
              f"server RSS {before} KiB before, {during} KiB with them")
    finally:
        stop.set()
        t.join(5)
        for s in socks:
            s.close()
    assert served(srv.port, admin) == (200, 200, admin.username)


def _still_open(s):
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        s.setblocking(True)


def test_slow_connections_from_one_address_are_held_to_its_limit(spawn_server, admin):
    srv = spawn_server(TIAOJIE_MAX_CONNECTIONS_PER_IP="50")
    signed_in(Client(srv.port), admin)
    socks = open_slow(srv.port, ["127.0.0.20"], 120)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            held = sum(1 for s in socks if _still_open(s))
            if held <= 50:
                break
            time.sleep(0.2)
        assert held == 50, f"{held} connections from one address held, the limit is 50"
        # Another address is served meanwhile.
        assert served(srv.port, admin) == (200, 200, admin.username)
    finally:
        for s in socks:
            s.close()


def test_a_trickled_request_is_cut_when_it_stops_trickling(spawn_server):
    """A request whose headers stop coming is closed after TIAOJIE_CONN_TIMEOUT."""
    srv = spawn_server(TIAOJIE_CONN_TIMEOUT="2")
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        try:
            got = s.recv(4096)
        except ConnectionResetError:
            got = b""
        assert got == b"" or not got.startswith(b"HTTP/1.1 200"), got
        assert 1.0 <= time.monotonic() - started < 10
    finally:
        s.close()
