#!/usr/bin/env python3
"""echo_test.py - starts build/bin/echo on loopback and checks it end to end.

Usage: echo_test.py PATH_TO_ECHO [REACTORS ...]

For each reactor count (default 1 2 4): 50 concurrent clients each send
random chunks while reading the echoes back, half-close, and check that every
byte came back in order before the server closed. Then --max-connections
refuses the connection over the limit and takes a new one once a client
leaves; bad flags exit 2; SIGTERM stops the server with exit status 0.
Exits 0 on success, 1 on failure, 77 (skip) when the runtime cannot start
(no io_uring).
"""
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

CLIENTS = 50
TIMEOUT = 20.0


class Skip(Exception):
    pass


def start(echo, *args):
    """Starts echo on a free port; returns (process, port)."""
    proc = subprocess.Popen([echo, "--port", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    m = re.search(r"listening on .*:(\d+),", line)
    if m is None:
        proc.kill()
        out, err = proc.communicate(timeout=TIMEOUT)
        if "cannot start the runtime" in err:
            raise Skip(err.strip())
        raise AssertionError(f"echo did not start: {line!r} {out!r} {err!r}")
    if "--max-connections" in args:
        proc.stdout.readline()  # "at most N connections per reactor"
    return proc, int(m.group(1))


def stop(proc):
    """SIGTERM, then checks the clean exit; returns stdout's last lines."""
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 0, f"echo exited {proc.returncode}: {err!r}"
    assert "echo: stopped" in out, out
    return out


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
    s.settimeout(TIMEOUT)
    return s


def client(port, seed, errors, totals):
    """Sends random chunks from one thread, reads them back in this one."""
    try:
        rng = random.Random(seed)
        data = b"".join(rng.randbytes(rng.choice((1, 7, 100, 1500, 16384, 70000)))
                        for _ in range(rng.randint(1, 30)))
        s = connect(port)

        def send():
            view = memoryview(data)
            while view:
                n = s.send(view[:rng.randint(1, 65536)])
                view = view[n:]
            s.shutdown(socket.SHUT_WR)

        sender = threading.Thread(target=send)
        sender.start()
        got = bytearray()
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        sender.join()
        s.close()
        totals.append(len(got))
        if bytes(got) != data:
            errors.append(f"client {seed}: sent {len(data)} bytes, got {len(got)} back"
                          f"{' (differing)' if len(got) == len(data) else ''}")
    except Exception as e:  # noqa: BLE001 - any failure is the test's result
        errors.append(f"client {seed}: {e!r}")


def test_clients(echo, reactors):
    proc, port = start(echo, "--reactors", str(reactors))
    try:
        errors, totals = [], []
        threads = [threading.Thread(target=client, args=(port, i, errors, totals))
                   for i in range(CLIENTS)]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT * 2)
        assert not any(t.is_alive() for t in threads), "clients hung"
        assert not errors, "\n".join(errors[:10])
        elapsed = time.monotonic() - t0
    finally:
        out = stop(proc)
    print(f"ok: {CLIENTS} clients, {reactors} reactor(s), {sum(totals)} bytes echoed "
          f"in {elapsed:.2f} s; "
          f"{out.strip().splitlines()[-1]}")


def echoes(s, payload=b"ping"):
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(4096)
        if not chunk:
            return False
        got += chunk
    return got == payload


def test_max_connections(echo):
    proc, port = start(echo, "--reactors", "1", "--max-connections", "2")
    try:
        a, b = connect(port), connect(port)
        assert echoes(a) and echoes(b), "connections under the limit must echo"
        c = connect(port)
        # The refused connection is closed at once: end of file, or a reset
        # when our bytes reached it first.
        try:
            c.sendall(b"x")
            refused = c.recv(16) == b""
        except (ConnectionResetError, BrokenPipeError):
            refused = True
        assert refused, "the connection over the limit was served"
        c.close()
        a.close()
        # The listener learns that a left through a message: retry briefly.
        deadline = time.monotonic() + TIMEOUT
        while True:
            d = connect(port)
            try:
                if echoes(d):
                    break
            except (ConnectionResetError, BrokenPipeError):
                pass
            d.close()
            assert time.monotonic() < deadline, "no new connection after one left"
            time.sleep(0.05)
        assert echoes(b), "b must still be served"
        d.close()
        b.close()
    finally:
        stop(proc)
    print("ok: --max-connections refuses over the limit and frees a place on close")


def test_bad_flags(echo):
    for args in (["--port", "70000"], ["--bind", "localhost"], ["--reactors", "0"],
                 ["--max-connections", "-1"], ["--nope"], ["extra"]):
        r = subprocess.run([echo, *args], capture_output=True, text=True, timeout=TIMEOUT)
        assert r.returncode == 2 and r.stderr, f"{args}: exit {r.returncode} {r.stderr!r}"
    r = subprocess.run([echo, "--help"], capture_output=True, text=True, timeout=TIMEOUT)
    assert r.returncode == 0 and "usage: echo" in r.stdout
    print("ok: bad flags exit 2, --help exits 0")


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    echo = sys.argv[1]
    reactors = [int(r) for r in sys.argv[2:]] or [1, 2, 4]
    try:
        test_bad_flags(echo)
        for r in reactors:
            test_clients(echo, r)
        test_max_connections(echo)
    except Skip as e:
        print(f"skip: {e}")
        return 77
    except AssertionError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
