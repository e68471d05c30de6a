#!/usr/bin/python3
"""test_concurrency.py - many clients at once, one that never reads, and
clients that vanish or misbehave mid-pipeline.

200 concurrent clients (threads, raw sockets) each run 100 rounds of
SET/GET/INCR on their own keys plus an INCR of one shared counter; every
reply is checked as it comes, the final values exactly, and the shared
counter's replies must be exactly 1..20000 (each once: no lost or doubled
increment). A slow reader pipelines GETs of a 1 MiB value and never reads:
the server must drop it within a bounded time while other clients keep
getting correct answers. Redis needs its normal-class output limit set for
that (its default is unlimited); atoll-kv must have a limit by default.
Usage: see kvtest.py.
"""
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import encode, eq, poll, true  # noqa: E402

CLIENTS = 200
ROUNDS = 100
OK = b"+OK\r\n"

# The slow reader asks for at most this many bytes of replies (1024 GETs of
# 1 MiB), which bounds the memory of a server that never drops it: atoll-kv's
# output limit must be lower (Redis gets a 32 MB hard limit below).
SLOW_READER_CAP = 1 << 30
SLOW_READER_TIMEOUT = 30.0


def test_200_clients_with_own_keys_and_a_shared_counter(s):
    barrier = threading.Barrier(CLIENTS, timeout=kvtest.TIMEOUT * 3)
    errors, shared_replies = [], [None] * CLIENTS

    def client(n):
        try:
            c = kvtest.Conn(s.port, timeout=kvtest.TIMEOUT * 3)
            barrier.wait()  # everyone connected, then all start at once
            mine = []
            for i in range(ROUNDS):
                value = f"client {n} round {i}"
                # One round is pipelined in one write: 4 commands, 4 replies.
                c.send(encode("SET", f"own:{n}:v", value) + encode("GET", f"own:{n}:v")
                       + encode("INCR", f"own:{n}:n") + encode("INCR", "shared"))
                got = [c.reply() for _ in range(4)]
                want = [OK, b"$%d\r\n%s\r\n" % (len(value), value.encode()), b":%d\r\n" % (i + 1)]
                if got[:3] != want or not got[3].startswith(b":"):
                    raise AssertionError(f"client {n} round {i}: {got!r}, wanted {want!r}")
                mine.append(int(got[3][1:-2]))
            shared_replies[n] = mine
            c.close()
        except Exception as e:  # collected and reported by the main thread
            errors.append(f"client {n}: {type(e).__name__}: {e}")
            barrier.abort()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    true(not any(t.is_alive() for t in threads), "every client thread finished")
    eq(errors[:5], [], f"no client saw a wrong reply ({len(errors)} errors)")
    print(f"    {CLIENTS} clients x {ROUNDS} rounds x 4 commands in "
          f"{time.monotonic() - t0:.1f}s", flush=True)
    c = s.conn()
    total = CLIENTS * ROUNDS
    eq(c.cmd("GET", "shared"), b"$%d\r\n%d\r\n" % (len(str(total)), total), "the shared counter")
    everything = sorted(x for mine in shared_replies for x in mine)
    eq(everything == list(range(1, total + 1)), True,
       "the shared INCR replies are exactly 1..20000, each once")
    for mine in shared_replies:
        true(mine == sorted(mine), "one client's shared INCR replies increase")
    counts = c.pipeline([("GET", f"own:{n}:n") for n in range(CLIENTS)])
    eq(counts, [b"$3\r\n100\r\n"] * CLIENTS, "every client's own counter is 100")
    values = c.cmd("MGET", *[f"own:{n}:v" for n in range(CLIENTS)])
    eq(values, b"*%d\r\n" % CLIENTS + b"".join(
        b"$%d\r\n%s\r\n" % (len(v), v.encode())
        for v in (f"client {n} round {ROUNDS - 1}" for n in range(CLIENTS))),
        "every client's own value is its last SET")
    eq(c.cmd("DBSIZE"), b":%d\r\n" % (2 * CLIENTS + 1), "DBSIZE")


def test_slow_reader_is_dropped_while_others_keep_working(s):
    # redis-server keeps unread replies without limit unless told otherwise.
    with s.spawn(redis_extra=["--client-output-buffer-limit", "normal 32mb 16mb 60"]) as srv:
        c = srv.conn()
        value = os.urandom(1 << 20)
        eq(c.cmd("SET", "big", value), OK, "SET a 1 MiB value")
        eq(c.cmd("SET", "small", "fine"), OK, "SET small")
        slow = srv.conn()
        slow_id = slow.call("CLIENT", "ID")
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stop = threading.Event()
        sent = [0]

        def flood():
            """Pipelines GETs of the big value and never reads a reply."""
            batch = encode("GET", "big") * 16
            slow.sock.settimeout(1.0)
            while not stop.is_set() and sent[0] * len(value) < SLOW_READER_CAP:
                try:
                    slow.sock.sendall(batch)
                    sent[0] += 16
                except socket.timeout:
                    continue  # the server stopped reading for now: try again
                except OSError:
                    return  # dropped: reset or broken pipe

        t = threading.Thread(target=flood)
        t.start()
        try:
            deadline = time.monotonic() + SLOW_READER_TIMEOUT
            rounds = 0
            while True:
                # Other clients keep getting correct answers meanwhile.
                eq(c.cmd("GET", "small"), b"$4\r\nfine\r\n", "another client's GET")
                eq(c.cmd("INCR", "other"), b":%d\r\n" % (rounds + 1), "another client's INCR")
                rounds += 1
                listed = c.call("CLIENT", "LIST").decode()
                if f"id={slow_id} " not in listed:
                    break
                true(time.monotonic() < deadline,
                     f"the slow reader was dropped within {SLOW_READER_TIMEOUT} s "
                     f"({sent[0]} GETs of 1 MiB sent, cap {SLOW_READER_CAP >> 20} MiB)")
                time.sleep(0.05)
        finally:
            stop.set()
            t.join(kvtest.TIMEOUT)
        print(f"    slow reader dropped ({sent[0]} GETs of 1 MiB sent)", flush=True)
        # What the slow reader gets now is some replies, then the end.
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        got = slow.read_until_closed(timeout=kvtest.TIMEOUT)
        true(len(got) < sent[0] * (len(value) + 16), "it did not get every reply")
        fresh = srv.conn()
        eq(fresh.cmd("GET", "small"), b"$4\r\nfine\r\n", "a new client after the drop")
        eq(fresh.cmd("STRLEN", "big"), b":%d\r\n" % len(value), "the big value is intact")
        poll(lambda: f"id={slow_id} " not in fresh.call("CLIENT", "LIST").decode(),
             "the slow reader stays gone")


def test_clients_that_vanish_mid_cross_shard_pipeline_leave_no_shard_locked(s):
    """Cross-shard MSETNX/RENAME/COPY take shard locks (atoll-kv). Clients that
    pipeline them and close (or reset) at once, while others keep running the
    same commands, must not leave a lock behind: afterwards every shard
    answers, and the cross-shard commands still work."""
    import random
    keys = [f"vanish:{i}" for i in range(40)]
    setup = kvtest.Conn(s.port)
    for k in keys:
        setup.cmd("SET", k, "v")
    errors = []

    def pipeline(rnd):
        batch = b""
        for _ in range(10):
            a, b = rnd.sample(keys, 2)
            batch += (encode("MSETNX", a, "1", b, "2") + encode("RENAME", a, b)
                      + encode("COPY", b, a, "REPLACE") + encode("SET", a, "v"))
        return batch

    def vanisher(n):
        rnd = random.Random(n)
        try:
            for round_ in range(40):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=kvtest.TIMEOUT)
                c.sendall(pipeline(rnd))
                if round_ % 2:
                    # An RST instead of a FIN: a reset mid-pipeline.
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                c.close()
        except Exception as e:
            errors.append(f"vanisher {n}: {type(e).__name__}: {e}")

    def worker(n):
        rnd = random.Random(100 + n)
        try:
            c = kvtest.Conn(s.port, timeout=kvtest.TIMEOUT)
            for _ in range(15):
                c.send(pipeline(rnd))
                for _ in range(40):
                    c.reply()  # every reply comes (a stuck lock would time out)
            c.close()
        except Exception as e:
            errors.append(f"worker {n}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=vanisher, args=(n,)) for n in range(6)]
    threads += [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(kvtest.TIMEOUT * 6)
    eq(errors, [], "every client got all its replies")
    # Every shard must still answer (a shard left locked would hang these).
    check = kvtest.Conn(s.port, timeout=kvtest.TIMEOUT)
    true(check.call("DBSIZE") >= 1, "DBSIZE answers after the vanished clients")
    eq(check.cmd("MSETNX", "vanish:new:a", "1", "vanish:new:b", "2"), b":1\r\n",
       "a cross-shard MSETNX still takes its locks")
    eq(check.cmd("MGET", "vanish:new:a", "vanish:new:b"), b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n",
       "and both keys are set")
    setup.close()
    check.close()


def test_random_mix_with_bad_input_and_disconnects_leaves_the_server_sound(s):
    """12 clients, 30 connections each: pipelines of up to 60 commands drawn
    from every kind the server routes differently (local, batched, split over
    shards, every shard, coordinated, blocking, connection-level), sometimes
    ended by a protocol error, a QUIT or a cut, then closed, reset or read to
    the end. Afterwards the server still answers every kind correctly."""
    import random

    def ops(rnd):
        def k():
            return f"mix:{rnd.randint(0, 200)}"
        return [
            lambda: encode("MSETNX", k(), "1", k(), "2"), lambda: encode("RENAME", k(), k()),
            lambda: encode("COPY", k(), k(), "DB", str(rnd.randint(0, 3))),
            lambda: encode("LCS", k(), k()), lambda: encode("SCAN", str(rnd.randint(0, 50)), "COUNT", "7"),
            lambda: encode("MGET", *[k() for _ in range(30)]),
            lambda: encode("MSET", *sum([[k(), "x" * rnd.randint(0, 3000)] for _ in range(10)], [])),
            lambda: encode("DEL", k(), k(), k()), lambda: encode("DEBUG", "SLEEP", "0.01"),
            lambda: encode("KEYS", "mix:1*"), lambda: encode("DBSIZE"), lambda: encode("INFO"),
            lambda: encode("CLIENT", "LIST"), lambda: encode("SELECT", str(rnd.randint(0, 15))),
            lambda: encode("HELLO", str(rnd.choice([2, 3]))), lambda: encode("EXPIRE", k(), "1"),
            lambda: encode("INCR", k()), lambda: encode("GET", k()), lambda: encode("RANDOMKEY"),
            lambda: b"PING\r\n", lambda: encode("SWAPDB", "0", str(rnd.randint(1, 3))),
        ]

    errors = []

    def client(n):
        rnd = random.Random(1000 + n)
        kinds = ops(rnd)
        try:
            for _ in range(30):
                c = socket.create_connection(("127.0.0.1", s.port), timeout=kvtest.TIMEOUT)
                data = b"".join(rnd.choice(kinds)() for _ in range(rnd.randint(1, 60)))
                end = rnd.random()
                if end < 0.1:
                    data += b"*abc\r\n"  # a protocol error after the rest
                elif end < 0.2:
                    data += encode("QUIT")
                elif end < 0.3:
                    data = data[:rnd.randint(0, len(data))]  # cut anywhere
                c.sendall(data)
                how = rnd.random()
                if how < 0.3:
                    c.close()
                elif how < 0.5:
                    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                 b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    c.close()
                else:
                    c.settimeout(0.3)
                    try:
                        while c.recv(65536):
                            pass
                    except socket.timeout:
                        pass
                    c.close()
        except Exception as e:
            errors.append(f"client {n}: {type(e).__name__}: {e}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(kvtest.TIMEOUT * 12)
    eq(errors, [], "no client failed to connect or send")
    c = kvtest.Conn(s.port, timeout=kvtest.TIMEOUT)
    eq(c.cmd("SET", "mix:after", "ok"), OK, "SET afterwards")
    eq(c.cmd("GET", "mix:after"), b"$2\r\nok\r\n", "GET afterwards")
    eq(c.cmd("MSETNX", "mix:after:a", "1", "mix:after:b", "2"), b":1\r\n", "MSETNX afterwards")
    true(c.call("DBSIZE") >= 3, "DBSIZE afterwards")
    eq(c.cmd("PING"), b"+PONG\r\n", "PING afterwards")
    poll(lambda: c.call("INFO", "clients").decode().count("connected_clients:1") == 1,
         "every other client's connection is gone")
    c.close()


if __name__ == "__main__":
    kvtest.main()
