#!/usr/bin/python3
"""durability.py - crash, disk-full, rewrite and restart tests of a
Redis-protocol server's append-only log: atoll-kv's (issue 5), checked first
against redis-server 7.0.15 run with the same flags.

Unlike tests/kv/test_*.py this is a standalone script: it starts, kills
(SIGKILL) and restarts its servers itself, on directories it owns. Servers
listen on free loopback ports and die with this process (PR_SET_PDEATHSIG,
atexit, try/finally); every wait is a bounded poll; temporary directories
(and the tmpfs of disk-full) are removed at the end. The server command is a
template with {port}, {dir} and {fsync} (always, everysec or no):

    /usr/bin/python3 tests/kv/durability.py --redis
    /usr/bin/python3 tests/kv/durability.py --server-cmd "build/bin/atoll-kv \\
        --port {port} --reactors 4 --dir {dir} --appendonly yes --appendfsync {fsync}"
    /usr/bin/python3 tests/kv/durability.py --redis -k crash-everysec --seed 7

Scenarios (-k NAME runs the one so named, or those whose name contains NAME):

  crash-always      appendfsync always. 6 clients (4 databases) write: SET,
                    SET PX (short) and EX (long), EXPIRE, DEL, MSET of keys
                    on several shards, INCR of their own and of shared
                    counters, and record every reply. SIGKILL at a random
                    moment, restart on the same dir: every acknowledged
                    write is there with its value (the one write in flight
                    per client may or may not be, wholly or per key), no
                    key whose expiry passed comes back, TTLs are absolute.
                    --rounds times (default 20), one dir for all rounds.
  crash-everysec    The same with everysec: writes acknowledged more than
                    --margin seconds before the kill survive, what survives
                    of each client is a prefix of what it sent (no holes),
                    the store always loads. Prints the real gap.
  disk-full         everysec with the dir on a full disk (a small tmpfs, or
                    RLIMIT_FSIZE where tmpfs cannot be mounted): writes get
                    -MISCONF, reads and other clients keep working, the
                    server stays up; once space is freed writes work again;
                    after a restart every write acknowledged is there and no
                    refused one is.
  disk-full-always  The same under always: the write whose log write failed
                    gets its reply only once the log write succeeds, new
                    writes get -MISCONF at once. atoll-kv only: redis-server
                    exits on an AOF write error under always.
  rewrite-digest    BGREWRITEAOF while clients write (16 databases, many
                    write commands), then SIGTERM and restart: the same
                    keyspace digest; then under always: SIGKILL right after
                    a rewrite, and SIGKILL during rewrites: the same digest.
  restart-clean     appendfsync no; SIGTERM while clients write: every
                    acknowledged write survives the restart.

Exit status: 0 all passed, 1 a failure, 77 skipped (reason printed).
"""
import argparse
import atexit
import hashlib
import os
import random
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import Failure, Skip, eq, true  # noqa: E402

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = kvtest.EXIT_PASS, kvtest.EXIT_FAIL, kvtest.EXIT_SKIP

# The oracle, with the flags atoll-kv takes.
REDIS_CMD = ("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly yes "
             "--appendfsync {fsync} --dir {dir} --daemonize no")

NCLIENTS = 6
CLIENT_DBS = [0, 1, 0, 5, 0, 15]  # client i writes in database CLIENT_DBS[i]
POOL = 30                         # keys of one client
SHARED = 3                        # shared counters per database
SHORT_TTL_MS = (100, 1500)
LONG_TTL_S = 100000
# Expiry is judged against this script's clock, the server's is the same
# one; SLOP covers millisecond rounding and a clock a server caches per loop.
SLOP = 0.02
# An expiry time read back (now + PTTL) must lie within the time the write
# was sent and answered, give or take this: a log that replays a TTL as
# relative to the restart misses it by the restart time.
TTL_SLOP = 0.1
JOIN_TIMEOUT = 15.0
REWRITE_TIMEOUT = 30.0


def note(text):
    print(f"    {text}", flush=True)


# --- the server, with a directory and an fsync policy --------------------


class DServer(kvtest.Server):
    """A kvtest.Server whose template also has {dir} and {fsync}; prefix:
    argv put in front (prlimit)."""

    def __init__(self, template, is_redis, data_dir, fsync, prefix=()):
        super().__init__(template, is_redis)
        self.data_dir = data_dir
        self.fsync = fsync
        self.prefix = list(prefix)
        self.start_s = None

    def argv(self):
        t = (self.template.replace("{port}", str(self.port)).replace("{dir}", self.data_dir)
             .replace("{fsync}", self.fsync))
        return self.prefix + shlex.split(t)

    def start(self, attempts=3):
        t0 = time.monotonic()
        super().start(attempts)
        self.start_s = time.monotonic() - t0
        return self

    def status_text(self):
        rc = self.proc.returncode if self.proc is not None else None
        if rc is None:
            return "running"
        if rc < 0:
            return f"killed by {signal.Signals(-rc).name}"
        return f"exited with status {rc}"


class Ctx:
    """What every scenario shares: the arguments, the server kind, the
    random source, and the things to clean up."""

    def __init__(self, args):
        self.args = args
        self.is_redis = args.redis
        self.template = REDIS_CMD if args.redis else args.server_cmd
        self.name = "redis-server" if args.redis else "atoll-kv"
        self.tmp = []
        self.mounts = []
        self.servers = []

    def rng(self, scenario):
        return random.Random(f"{self.args.seed}:{scenario}")

    def mkdtemp(self, what):
        d = tempfile.mkdtemp(prefix=f"durability-{what}-")
        self.tmp.append(d)
        return d

    def server(self, data_dir, fsync, prefix=()):
        s = DServer(self.template, self.is_redis, data_dir, fsync, prefix)
        self.servers.append(s)
        return s

    def restart(self, old):
        old.kill()
        old.remove_log()
        return self.server(old.data_dir, old.fsync, old.prefix).start()

    def cleanup(self, keep_logs=False):
        for s in self.servers:
            s.kill()
            if keep_logs and s.log is not None and os.path.exists(s.log.name):
                note(f"server log kept: {s.log.name}")
            else:
                s.remove_log()
        self.servers.clear()
        for m in reversed(self.mounts):
            if subprocess.run(["umount", m], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", m], capture_output=True)
        self.mounts.clear()
        for d in self.tmp:
            shutil.rmtree(d, ignore_errors=True)
        self.tmp.clear()


def fs_type(path):
    """The file system path is on (ext4, tmpfs, ...), for the record."""
    for argv in (["findmnt", "-n", "-o", "FSTYPE", "-T", path], ["stat", "-f", "-c", "%T", path]):
        try:
            p = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if p.returncode == 0 and p.stdout.strip():
            return p.stdout.strip()
    return "unknown"


def check_stop(ctx, server, what):
    """SIGTERM; atoll-kv must exit 0 (redis-server's status is printed)."""
    t0 = time.monotonic()
    rc = server.stop()
    took = time.monotonic() - t0
    if ctx.is_redis:
        note(f"{what}: redis-server {server.status_text()} on SIGTERM after {took:.3f} s "
             f"(not checked)")
    else:
        eq(rc, 0, f"{what}: atoll-kv exit status on SIGTERM\n{server.log_tail()}")
    return took


# --- a client's writes and what the store must hold afterwards -----------
#
# A key's state is (value, lo, hi): value None when absent, else the bytes;
# lo..hi the window of its absolute expiry time (None: no expiry). The
# window is the write's send time to its reply time plus the TTL: the server
# fixed the expiry somewhere in between.

ABSENT = (None, None, None)


class Op:
    __slots__ = ("cmd", "effects", "send", "ack", "reply")

    def __init__(self, cmd, effects):
        self.cmd = cmd
        self.effects = effects  # ("set", key, value, ttl_s|None), ("del", key),
        self.send = None        # ("expire", key, ttl_s), ("incr", key),
        self.ack = None         # ("shared", key): a shared counter
        self.reply = None


def apply_effect(state, eff, send, ack):
    kind, key = eff[0], eff[1]
    if kind == "set":
        ttl = eff[3]
        state[key] = (eff[2], None, None) if ttl is None else (eff[2], send + ttl, ack + ttl)
    elif kind == "del":
        state[key] = ABSENT
    elif kind == "expire":
        value = state[key][0]
        if value is not None:
            state[key] = (value, send + eff[2], ack + eff[2])
    elif kind == "incr":
        state[key] = (str(int(state[key][0] or b"0") + 1).encode(), None, None)


def fits(st, obs):
    """Whether observed (value, pttl, t0, t1) can be the state st: t0..t1
    is when it was read."""
    value, lo, hi = st
    ovalue, pttl, t0, t1 = obs
    if value is None:
        return ovalue is None
    if lo is None:
        return ovalue == value and pttl == -1
    must_be_gone = hi < t0 - SLOP
    must_be_there = lo > t1 + SLOP
    if ovalue is None:
        return not must_be_there
    if must_be_gone or ovalue != value or pttl == -1:
        return False
    if pttl == -2:  # expired between GET and PTTL
        return not must_be_there
    return t1 + pttl / 1000 >= lo - TTL_SLOP and t0 + pttl / 1000 <= hi + TTL_SLOP


def show_state(st, now):
    value, lo, hi = st
    if value is None:
        return "absent"
    v = value if len(value) <= 24 else value[:24] + b"..."
    if lo is None:
        return f"{v!r} (no TTL)"
    return f"{v!r} (expires in {lo - now:+.3f}..{hi - now:+.3f} s)"


def show_obs(obs):
    ovalue, pttl, t0, _ = obs
    if ovalue is None:
        return "absent"
    v = ovalue if len(ovalue) <= 24 else ovalue[:24] + b"..."
    return f"{v!r} (PTTL {pttl})"


class Writer(threading.Thread):
    """One client: writes its own keys (and shared counters) in database db
    as fast as the server answers, one command at a time, until stopped or
    the connection breaks. ops: every command sent, in order; the last one
    may be in flight (ack None)."""

    def __init__(self, cid, db, port, state, rng, stop, shared, mix="crash"):
        super().__init__(daemon=True, name=f"writer-{cid}")
        self.cid, self.db, self.port = cid, db, port
        self.pool = [f"c{cid}:k{i}".encode() for i in range(POOL)]
        self.counter = f"c{cid}:n".encode()
        self.keys = self.pool + [self.counter]
        self.base = {k: state.get(k, ABSENT) for k in self.keys}
        self.cur = dict(self.base)
        self.rng, self.stop, self.shared = rng, stop, shared
        self.ops = []
        self.error = None
        self.ended_by = None
        self.shared_last = {}
        self.seq = 0

    def value(self):
        self.seq += 1
        pad = self.rng.choice((0, 8, 64, 300, 2000))
        return f"{self.cid}.{self.seq}.".encode() + b"x" * pad

    def next_op(self):
        rng, k, now = self.rng, self.rng.choice(self.pool), time.time()
        r = rng.random()
        if r < 0.30:
            v = self.value()
            return Op(["SET", k, v], [("set", k, v, None)])
        if r < 0.40:
            v, ms = self.value(), rng.randint(*SHORT_TTL_MS)
            return Op(["SET", k, v, "PX", ms], [("set", k, v, ms / 1000)])
        if r < 0.47:
            v = self.value()
            return Op(["SET", k, v, "EX", LONG_TTL_S], [("set", k, v, LONG_TTL_S)])
        if r < 0.53:
            # Only keys certainly there: EXPIRE must answer 1.
            there = [x for x in self.pool
                     if self.cur[x][0] is not None and (self.cur[x][1] is None or
                                                        self.cur[x][1] > now + 60)]
            if there:
                x = rng.choice(there)
                return Op(["EXPIRE", x, LONG_TTL_S], [("expire", x, LONG_TTL_S)])
            v = self.value()
            return Op(["SET", k, v], [("set", k, v, None)])
        if r < 0.63:
            ks = rng.sample(self.pool, rng.choice((1, 2)))
            return Op(["DEL", *ks], [("del", x) for x in ks])
        if r < 0.76:
            ks = rng.sample(self.pool, 3)
            cmd, effects = ["MSET"], []
            for x in ks:
                v = self.value()
                cmd += [x, v]
                effects.append(("set", x, v, None))
            return Op(cmd, effects)
        if r < 0.88:
            return Op(["INCR", self.counter], [("incr", self.counter)])
        s = rng.choice(self.shared)
        return Op(["INCR", s], [("shared", s)])

    def check_reply(self, op, reply):
        name = op.cmd[0]
        if isinstance(reply, kvtest.Err):
            return f"error reply -{reply}"
        if name in ("SET", "MSET"):
            return None if reply == "OK" else f"reply {reply!r}, expected OK"
        if name == "DEL":
            ok = isinstance(reply, int) and 0 <= reply <= len(op.cmd) - 1
            return None if ok else f"reply {reply!r}, expected 0..{len(op.cmd) - 1}"
        if name == "EXPIRE":
            return None if reply == 1 else f"reply {reply!r}, expected 1 (the key is there)"
        key = op.cmd[1]
        if key == self.counter:
            want = int(self.cur[key][0] or b"0") + 1
            return None if reply == want else f"reply {reply!r}, expected {want}"
        last = self.shared_last.get(key, 0)
        self.shared_last[key] = reply
        ok = isinstance(reply, int) and reply > last
        return None if ok else f"reply {reply!r}, expected more than {last} (seen before)"

    def run(self):
        try:
            conn = kvtest.Conn(self.port)
        except OSError as e:
            self.error = f"client {self.cid}: cannot connect: {e}"
            return
        try:
            if self.db:
                r = conn.cmd("SELECT", self.db)
                if r != b"+OK\r\n":
                    self.error = f"client {self.cid}: SELECT {self.db} -> {r!r}"
                    return
            while not self.stop.is_set():
                op = self.next_op()
                op.send = time.time()
                self.ops.append(op)
                try:
                    raw = conn.cmd(*op.cmd)
                except (kvtest.Closed, OSError) as e:
                    self.ended_by = type(e).__name__
                    return  # the op stays in flight
                op.ack = time.time()
                op.reply = kvtest.decode(raw)[0]
                bad = self.check_reply(op, op.reply)
                if bad is not None:
                    self.error = (f"client {self.cid} (db {self.db}): {fmt_cmd(op.cmd)}: "
                                  f"{bad}")
                    return
                for eff in op.effects:
                    apply_effect(self.cur, eff, op.send, op.ack)
            self.ended_by = "stopped"
        except Exception as e:  # a bug here must not pass as a quiet thread
            self.error = f"client {self.cid}: {type(e).__name__}: {e}"
        finally:
            conn.close()

    def acked(self):
        return [op for op in self.ops if op.ack is not None]

    def in_flight(self):
        return self.ops[-1] if self.ops and self.ops[-1].ack is None else None


def fmt_cmd(cmd):
    out = []
    for a in cmd:
        a = a.decode() if isinstance(a, bytes) else str(a)
        out.append(a if len(a) <= 24 else a[:24] + "...")
    return " ".join(out)


def read_keys(port, keys_by_db):
    """{(db, key): (value, pttl, t0, t1)} for the keys named, read with
    pipelined GET and PTTL; t0..t1 bounds when each was read."""
    out = {}
    with kvtest.Conn(port) as c:
        for db, keys in sorted(keys_by_db.items()):
            eq(c.cmd("SELECT", db), b"+OK\r\n", f"SELECT {db}")
            keys = list(keys)
            for i in range(0, len(keys), 100):
                chunk = keys[i:i + 100]
                cmds = []
                for k in chunk:
                    cmds += [("GET", k), ("PTTL", k)]
                t0 = time.time()
                replies = c.pipeline(cmds)
                t1 = time.time()
                for j, k in enumerate(chunk):
                    value = kvtest.decode(replies[2 * j])[0]
                    pttl = kvtest.decode(replies[2 * j + 1])[0]
                    if isinstance(value, kvtest.Err) or isinstance(pttl, kvtest.Err):
                        raise Failure(f"db {db} key {k!r}: GET/PTTL -> {value!r} {pttl!r}")
                    out[(db, k)] = (value, pttl, t0, t1)
    return out


def scan_db(c, db):
    eq(c.cmd("SELECT", db), b"+OK\r\n", f"SELECT {db}")
    keys, cursor = set(), b"0"
    for _ in range(100000):
        reply = c.call("SCAN", cursor, "COUNT", 1000)
        if isinstance(reply, kvtest.Err):
            raise Failure(f"SCAN in db {db}: -{reply}")
        cursor, batch = reply
        keys.update(batch)
        if cursor == b"0":
            return keys
    raise Failure(f"SCAN in db {db} did not end after 100000 calls")


def scan_all(port):
    with kvtest.Conn(port) as c:
        return {db: scan_db(c, db) for db in range(16)}


def match_writer(w, obs, m_min, kill_t):
    """Finds how many of w's writes the store holds: a prefix of m >= m_min
    acknowledged writes, or all of them plus any part of the one in flight.
    Returns (m, partial, state); raises Failure with what differs."""
    def ok(k, st):
        return fits(st, obs[(w.db, k)])

    acked, flight = w.acked(), w.in_flight()
    state = dict(w.base)
    bad = {k for k in w.keys if not ok(k, state[k])}
    best = (len(bad), 0)
    cands = []
    if m_min <= 0 and not bad:
        cands.append((0, dict(state)))
    for i, op in enumerate(acked):
        for eff in op.effects:
            if eff[0] == "shared":
                continue
            apply_effect(state, eff, op.send, op.ack)
            k = eff[1]
            if ok(k, state[k]):
                bad.discard(k)
            else:
                bad.add(k)
        if not bad and i + 1 >= m_min:
            cands.append((i + 1, dict(state)))
        if len(bad) <= best[0]:
            best = (len(bad), i + 1)
    n = len(acked)
    if flight is not None:
        post = dict(state)
        touched = set()
        for eff in flight.effects:
            if eff[0] != "shared":
                apply_effect(post, eff, flight.send, kill_t)
                touched.add(eff[1])
        if bad <= touched and all(ok(k, state[k]) or ok(k, post[k]) for k in touched):
            final = dict(state)
            applied = 0
            for k in touched:
                if ok(k, post[k]) and post[k] != state[k]:
                    final[k] = post[k]
                    applied += 1
            return n, applied > 0 and applied < len(touched), final
    if cands:
        m, st = cands[-1]
        return m, False, st
    # Nothing fits: say what differs, at the closest prefix the rule allows
    # and at the closest one overall.
    lines = [f"client {w.cid} (db {w.db}): no prefix of its {n} acknowledged writes "
             f"(at least {m_min}) plus the one in flight "
             f"({fmt_cmd(flight.cmd) if flight else 'none'}) matches the store"]
    for label, m in (("the fewest allowed", max(m_min, 0)), ("the closest", best[1])):
        state = dict(w.base)
        for op in acked[:m]:
            for eff in op.effects:
                if eff[0] != "shared":
                    apply_effect(state, eff, op.send, op.ack)
        diff = [k for k in w.keys if not ok(k, state[k])]
        lines.append(f"  after {m} writes ({label}): {len(diff)} keys differ")
        for k in diff[:6]:
            last = None
            for j, op in enumerate(acked[:m]):
                if any(e[1] == k for e in op.effects):
                    last = (j, op)
            where = "never written this round"
            if last is not None:
                j, op = last
                where = (f"last write #{j} {fmt_cmd(op.cmd)} sent {op.send - kill_t:+.3f} s, "
                         f"answered {op.ack - kill_t:+.3f} s from the kill")
            lines.append(f"    {k.decode()}: expected {show_state(state[k], time.time())}, "
                         f"found {show_obs(obs[(w.db, k)])}; {where}")
    raise Failure("\n".join(lines))


class Workload:
    """The clients and the state the store must hold, across rounds."""

    def __init__(self, rng):
        self.rng = rng
        self.states = {}   # cid -> {key: state}
        self.shared = {}   # (db, key) -> value
        for db in set(CLIENT_DBS):
            for i in range(SHARED):
                self.shared[(db, f"shared:{i}".encode())] = 0

    def writers(self, port, stop):
        out = []
        for cid in range(NCLIENTS):
            db = CLIENT_DBS[cid]
            names = [k for (d, k) in self.shared if d == db]
            out.append(Writer(cid, db, port, self.states.get(cid, {}),
                              random.Random(self.rng.random()), stop, names))
        return out

    def verify(self, port, writers, kill_t, margin):
        """Checks the restarted store against what the writers were told.
        margin None: every acknowledged write must be there; else those
        acknowledged more than margin s before kill_t. Returns (checks,
        lost acknowledged writes, the age of the oldest one lost)."""
        before = kvtest.checks
        keys_by_db = {}
        for w in writers:
            keys_by_db.setdefault(w.db, []).extend(w.keys)
        for (db, k) in self.shared:
            keys_by_db.setdefault(db, []).append(k)
        obs = read_keys(port, keys_by_db)
        known = {(db, k) for db, ks in keys_by_db.items() for k in ks}
        for db, keys in scan_all(port).items():
            extra = sorted(k for k in keys if (db, k) not in known)
            eq(extra[:5], [], f"keys in db {db} no client wrote ({len(extra)})")
        lost, oldest = 0, 0.0
        problems = []
        for w in writers:
            acked = w.acked()
            if margin is None:
                m_min = len(acked)
            else:
                m_min = sum(1 for op in acked if op.ack <= kill_t - margin)
            try:
                m, partial, state = match_writer(w, obs, m_min, kill_t)
            except Failure as e:
                problems.append(str(e))
                continue
            kvtest.checks += len(w.keys)
            if m < len(acked):
                lost += len(acked) - m
                oldest = max(oldest, kill_t - acked[m].ack)
            self.states[w.cid] = state
        # Shared counters: at least the increments acknowledged (before the
        # margin), at most those plus the ones in flight.
        for (db, k), base in sorted(self.shared.items()):
            inc = [op for w in writers if w.db == db for op in w.acked()
                   if op.cmd[0] == "INCR" and op.cmd[1] == k]
            flight = sum(1 for w in writers if w.db == db and w.in_flight() is not None
                         and w.in_flight().cmd[0] == "INCR" and w.in_flight().cmd[1] == k)
            low = base + (len(inc) if margin is None else
                          sum(1 for op in inc if op.ack <= kill_t - margin))
            high = base + len(inc) + flight
            value, pttl = obs[(db, k)][0], obs[(db, k)][1]
            got = int(value) if value is not None else 0
            if not (low <= got <= high) or pttl not in (-1, -2):
                problems.append(f"shared counter {k.decode()} in db {db}: {got} (PTTL {pttl}), "
                                f"expected {low}..{high} (was {base}, {len(inc)} INCRs "
                                f"acknowledged, {flight} in flight)")
            kvtest.checks += 1
            self.shared[(db, k)] = got
        if problems:
            more = len(problems) - 3
            raise Failure("\n".join(problems[:3]) +
                          (f"\n(and {more} more clients or counters)" if more > 0 else ""))
        return kvtest.checks - before, lost, oldest


def run_writers(server, workload, rng, delay, stop_how):
    """Starts the writers on server, lets them run delay seconds, then stops
    the server (stop_how: "kill" SIGKILL, "term" SIGTERM) and the writers.
    Returns (writers, kill time, how long the stop took, exit status)."""
    stop = threading.Event()
    writers = workload.writers(server.port, stop)
    for w in writers:
        w.start()
    try:
        time.sleep(delay)  # the kill moment, not a synchronisation
        for w in writers:
            if w.error:
                raise Failure(w.error)
        kill_t = time.time()
        t0 = time.monotonic()
        if stop_how == "kill":
            server.kill()
            rc = server.proc.returncode
        else:
            rc = server.stop()
        took = time.monotonic() - t0
    finally:
        stop.set()
        for w in writers:
            w.join(JOIN_TIMEOUT)
    for w in writers:
        true(not w.is_alive(), f"client {w.cid} ended within {JOIN_TIMEOUT} s")
        if w.error:
            raise Failure(w.error)
    return writers, kill_t, took, rc


def crash_rounds(ctx, scenario, fsync, rounds, delays, stop_how, margin):
    rng = ctx.rng(scenario)
    data = ctx.mkdtemp(scenario)
    note(f"dir {data} ({fs_type(data)}), appendfsync {fsync}, {rounds} rounds, "
         f"{NCLIENTS} clients, seed {ctx.args.seed}")
    server = ctx.server(data, fsync).start()
    workload = Workload(rng)
    total_acked, total_lost, worst_gap = 0, 0, 0.0
    for r in range(rounds):
        delay = rng.uniform(*delays)
        writers, kill_t, took, rc = run_writers(server, workload, rng, delay, stop_how)
        if stop_how == "term":
            if ctx.is_redis:
                note(f"redis-server {server.status_text()} on SIGTERM (not checked)")
            else:
                eq(rc, 0, f"atoll-kv exit status on SIGTERM\n{server.log_tail()}")
        acked = sum(len(w.acked()) for w in writers)
        flight = sum(1 for w in writers if w.in_flight() is not None)
        total_acked += acked
        try:
            server = ctx.restart(server)
        except Failure as e:
            raise Failure(f"round {r + 1}: the store does not load: {e}")
        try:
            checks, lost, gap = workload.verify(server.port, writers, kill_t,
                                                None if margin is None else margin + took)
        except Failure as e:
            raise Failure(f"round {r + 1} (stopped {delay:.3f} s after the start, "
                          f"{acked} writes acknowledged):\n{e}")
        total_lost += lost
        worst_gap = max(worst_gap, gap)
        extra = ""
        if margin is not None:
            extra = (f", {lost} acknowledged lost" +
                     (f" (oldest {gap:.3f} s before the kill)" if lost else ""))
        print(f"  round {r + 1:2}/{rounds}: {acked:6} writes acknowledged, {flight} in flight, "
              f"{'kill -9' if stop_how == 'kill' else 'SIGTERM'} at {delay:.3f} s "
              f"(took {took * 1000:.1f} ms), restart {server.start_s:.3f} s, {checks} checks"
              f"{extra}", flush=True)
    check_stop(ctx, server, "final stop")
    summary = f"{total_acked} writes acknowledged over {rounds} rounds"
    if margin is not None:
        summary += (f", {total_lost} acknowledged lost, oldest lost {worst_gap:.3f} s "
                    f"before its kill (allowed: {margin:.2f} s)")
    return summary


def scenario_crash_always(ctx):
    return crash_rounds(ctx, "crash-always", "always", ctx.args.rounds, (0.05, 0.8), "kill",
                        None)


def scenario_crash_everysec(ctx):
    return crash_rounds(ctx, "crash-everysec", "everysec", ctx.args.everysec_rounds, (1.8, 3.5),
                        "kill", ctx.args.margin)


def scenario_restart_clean(ctx):
    return crash_rounds(ctx, "restart-clean", "no", 3, (0.2, 0.8), "term", None)


# --- disk full -----------------------------------------------------------

TMPFS_SIZE = 8 << 20
BALLAST = 2 << 20       # written before the server starts, removed to free space
FSIZE = 512 << 10       # RLIMIT_FSIZE instead of a tmpfs
FILL_VALUE = 16 << 10
FILL_TIMEOUT = 30.0
RECOVER_TIMEOUT = 10.0


def disk_full_server(ctx, scenario, fsync):
    """A server whose dir fills up soon. Returns (server, free, restart,
    how): free() makes room, restart(old) starts it again with room."""
    mode = ctx.args.disk_full_mode
    base = ctx.mkdtemp(scenario)
    if mode in ("auto", "tmpfs"):
        mnt = os.path.join(base, "mnt")
        os.mkdir(mnt)
        p = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE},mode=0700",
                            "tmpfs", mnt], capture_output=True, text=True, timeout=30)
        if p.returncode == 0:
            ctx.mounts.append(mnt)
            ballast = os.path.join(mnt, "ballast")
            with open(ballast, "wb") as f:
                f.write(b"\xa5" * BALLAST)
            data = os.path.join(mnt, "data")
            os.mkdir(data)
            server = ctx.server(data, fsync).start()
            return (server, lambda: os.unlink(ballast), ctx.restart,
                    f"tmpfs of {TMPFS_SIZE >> 20} MiB ({BALLAST >> 20} MiB of it a file this "
                    f"script removes to free space)")
        why = (p.stderr or p.stdout).strip()
        if mode == "tmpfs":
            raise Skip(f"mount -t tmpfs failed: {why}")
        note(f"mount -t tmpfs failed ({why}): RLIMIT_FSIZE instead")
    if shutil.which("prlimit") is None:
        raise Skip("no tmpfs (mount failed) and no prlimit for RLIMIT_FSIZE")
    data = os.path.join(base, "data")
    os.mkdir(data)
    server = ctx.server(data, fsync, prefix=["prlimit", f"--fsize={FSIZE}:unlimited"]).start()

    def free():
        resource.prlimit(server.proc.pid, resource.RLIMIT_FSIZE,
                         (resource.RLIM_INFINITY, resource.RLIM_INFINITY))

    def restart(old):  # without the limit
        old.kill()
        old.remove_log()
        return ctx.server(old.data_dir, old.fsync).start()

    return (server, free, restart,
            f"RLIMIT_FSIZE of {FSIZE >> 10} KiB per file (prlimit), raised with prlimit(2) to "
            f"free space")


def died(ctx, server, what):
    """Called when the server closed a connection: fails, or skips when
    redis-server died the way Redis is known to."""
    try:
        server.proc.wait(timeout=kvtest.TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure(f"{what}: the connection closed but {server.name} still runs")
    rc = server.proc.returncode
    tail = server.log_tail(8)
    if ctx.is_redis and rc == -signal.SIGXFSZ:
        raise Skip(f"redis-server was killed by SIGXFSZ at the file size limit (Redis does "
                   f"not ignore it): this path is atoll-only\n{tail}")
    if ctx.is_redis and rc == 1 and server.fsync == "always":
        raise Skip(f"redis-server exited with status 1 on the AOF write error: under "
                   f"appendfsync always Redis cannot recover and exits, so this scenario is "
                   f"atoll-only\n{tail}")
    raise Failure(f"{what}: {server.name} {server.status_text()}\n{tail}")


def fill_value(i):
    return f"{i}:".encode() + bytes([97 + i % 26]) * FILL_VALUE


def is_misconf(reply):
    return isinstance(reply, kvtest.Err) and reply.startswith("MISCONF")


def persistence_fields(conn):
    try:
        info = kvtest.parse_info(conn.call("INFO", "persistence")).get("persistence", {})
    except (Failure, ValueError):
        return "(INFO persistence unreadable)"
    keys = ("aof_last_write_status", "aof_last_bgrewrite_status", "aof_pending_bio_fsync",
            "aof_delayed_fsync", "aof_buffer_length")
    got = [f"{k}:{info[k]}" for k in keys if k in info]
    return " ".join(got) if got else "(no aof_* fields in INFO persistence)"


def check_after_restart(server, acked, refused, what):
    with kvtest.Conn(server.port) as c:
        for key, value in acked.items():
            got = c.call("GET", key)
            if got != value:
                raise Failure(f"{what}: {key} is {kvtest._short(got, 60)} after the restart; "
                              f"its SET was acknowledged with a value of {len(value)} bytes")
        kvtest.checks += len(acked)
        for key in refused:
            eq(c.call("EXISTS", key), 0, f"{what}: {key}, refused with MISCONF, is absent")
        eq(c.call("DBSIZE"), len(acked), f"{what}: DBSIZE after the restart")


def scenario_disk_full(ctx):
    server, free, restart, how = disk_full_server(ctx, "disk-full", "everysec")
    note(f"{how}; appendfsync everysec")
    acked, refused = {}, []
    writer, reader = server.conn(), server.conn()
    t0 = time.monotonic()
    misconf = None
    for i in range(4 * TMPFS_SIZE // FILL_VALUE):
        if time.monotonic() - t0 > FILL_TIMEOUT:
            break
        key = f"fill:{i}"
        try:
            reply = writer.call("SET", key, fill_value(i))
        except (kvtest.Closed, OSError):
            died(ctx, server, f"SET {key} while filling the disk")
        if reply == "OK":
            acked[key] = fill_value(i)
        elif is_misconf(reply):
            misconf = reply
            refused.append(key)
            break
        else:
            raise Failure(f"SET {key} while filling the disk: {reply!r}")
    if misconf is None:
        raise Failure(f"no -MISCONF after {len(acked)} writes of {FILL_VALUE} bytes "
                      f"({time.monotonic() - t0:.1f} s); {persistence_fields(reader)}")
    note(f"after {len(acked)} acknowledged writes of {FILL_VALUE >> 10} KiB "
         f"({time.monotonic() - t0:.2f} s): -{misconf}")
    true(misconf.startswith("MISCONF Errors writing to the AOF file"),
         f"the error is Redis's (-MISCONF Errors writing to the AOF file: ...): -{misconf}")
    note(f"INFO persistence: {persistence_fields(reader)}")

    # The disk stays full: writes are refused, everything else works, from
    # every client, old or new, and a second later too.
    last = max(acked, key=lambda k: int(k.split(":")[1]))
    for attempt in range(2):
        if attempt:
            time.sleep(1.2)  # past a once-a-second retry: still full
        key = f"refused:{attempt}"
        reply = writer.call("SET", key, "x")
        true(is_misconf(reply), f"SET {key} on a full disk is refused with MISCONF: {reply!r}")
        refused.append(key)
        eq(reader.call("GET", "fill:0"), acked["fill:0"], "GET fill:0 (another client)")
        eq(reader.call("GET", last), acked[last], f"GET {last}, the last acknowledged")
        eq(reader.call("DBSIZE"), len(acked), "DBSIZE")
        with kvtest.Conn(server.port) as c:
            eq(c.call("EXISTS", "fill:1"), 1, "EXISTS from a new client")
            eq(c.call("GET", key), None, f"GET {key}: the refused write did not happen")
            reply = c.call("INCR", "refused:counter")
            true(is_misconf(reply), f"INCR from a new client is refused: {reply!r}")
        true(server.alive(), f"{server.name} still runs on a full disk")
    refused.append("refused:counter")

    # Room again: writes work again within RECOVER_TIMEOUT.
    free()
    t_free = time.monotonic()
    j = 0
    while True:
        key = f"after:{j}"
        reply = writer.call("SET", key, key)
        if reply == "OK":
            acked[key] = key.encode()
            break
        true(is_misconf(reply), f"SET {key} after space was freed: {reply!r}")
        refused.append(key)
        if time.monotonic() - t_free > RECOVER_TIMEOUT:
            raise Failure(f"writes still refused {RECOVER_TIMEOUT} s after space was freed; "
                          f"{persistence_fields(reader)}")
        j += 1
        time.sleep(0.05)
    note(f"writes accepted again {time.monotonic() - t_free:.3f} s after space was freed "
         f"({j} refused meanwhile); INFO persistence: {persistence_fields(reader)}")
    for j in range(j + 1, j + 21):
        key = f"after:{j}"
        eq(writer.call("SET", key, key), "OK", f"SET {key}")
        acked[key] = key.encode()
    server.close_clients()
    took = check_stop(ctx, server, "stop after the disk-full episode")
    server = restart(server)
    check_after_restart(server, acked, refused, "disk-full")
    check_stop(ctx, server, "final stop")
    return (f"{len(acked)} writes acknowledged and all back after the restart (stop "
            f"{took:.3f} s, start {server.start_s:.3f} s), {len(refused)} refused with "
            f"MISCONF and absent")


def scenario_disk_full_always(ctx):
    server, free, restart, how = disk_full_server(ctx, "disk-full-always", "always")
    note(f"{how}; appendfsync always")
    acked, refused = {}, []
    writer = server.conn(timeout=2.0)
    held = None
    t0 = time.monotonic()
    for i in range(4 * TMPFS_SIZE // FILL_VALUE):
        if time.monotonic() - t0 > FILL_TIMEOUT:
            break
        key = f"fill:{i}"
        try:
            reply = writer.call("SET", key, fill_value(i))
        except TimeoutError:
            held = key
            break
        except (kvtest.Closed, OSError):
            died(ctx, server, f"SET {key} while filling the disk")
        if reply == "OK":
            acked[key] = fill_value(i)
        elif is_misconf(reply):
            raise Failure(f"SET {key} got -{reply} at once: under always the write whose log "
                          f"write failed should wait for its reply, not be refused")
        else:
            raise Failure(f"SET {key} while filling the disk: {reply!r}")
    if held is None:
        raise Failure(f"every one of {len(acked)} writes was answered: the disk never filled")
    note(f"after {len(acked)} acknowledged writes, SET {held} gets no reply (held)")
    with server.conn(timeout=2.0) as other:
        for j in range(8):  # several keys: several shards
            key = f"refused:{j}"
            try:
                reply = other.call("SET", key, "x")
            except TimeoutError:
                raise Failure(f"SET {key} from another client waits too: new writes should "
                              f"get -MISCONF at once while the log cannot be written")
            true(is_misconf(reply), f"SET {key} while a write is held: {reply!r}")
            refused.append(key)
        eq(other.call("GET", "fill:0"), acked["fill:0"], "GET fill:0 while a write is held")
    true(server.alive(), f"{server.name} still runs")
    free()
    t_free = time.monotonic()
    writer.sock.settimeout(RECOVER_TIMEOUT)
    try:
        reply = kvtest.decode(writer.reply())[0]
    except TimeoutError:
        raise Failure(f"the held SET {held} got no reply {RECOVER_TIMEOUT} s after space "
                      f"was freed")
    eq(reply, "OK", f"the held SET {held}, once space was freed")
    acked[held] = fill_value(int(held.split(":")[1]))
    note(f"the held write answered {time.monotonic() - t_free:.3f} s after space was freed")
    for j in range(20):
        key = f"after:{j}"
        reply = writer.call("SET", key, key)
        if is_misconf(reply) and time.monotonic() - t_free < RECOVER_TIMEOUT:
            refused.append(key)
            time.sleep(0.05)
            continue
        eq(reply, "OK", f"SET {key} after space was freed")
        acked[key] = key.encode()
    server.close_clients()
    check_stop(ctx, server, "stop after the disk-full episode")
    server = restart(server)
    check_after_restart(server, acked, refused, "disk-full-always")
    check_stop(ctx, server, "final stop")
    return (f"{len(acked)} writes acknowledged (one held until space was freed) and back "
            f"after the restart, {len(refused)} refused with MISCONF and absent")


# --- rewrite and digest --------------------------------------------------


class ChurnWriter(threading.Thread):
    """Random write commands over 16 databases, many kinds, for the digest
    comparison (no model: the digest is taken once it stopped)."""

    def __init__(self, cid, port, rng, stop):
        super().__init__(daemon=True, name=f"churn-{cid}")
        self.cid, self.port, self.rng, self.stop = cid, port, rng, stop
        self.count = 0
        self.error = None

    def op(self, db):
        rng = self.rng
        r = lambda: f"r:{rng.randrange(300)}"  # noqa: E731
        v = lambda: f"{self.cid}.{self.count}." + "v" * rng.choice((0, 10, 100, 1000))  # noqa
        now = time.time()
        choices = [
            (20, lambda: ["SET", r(), v()]),
            (5, lambda: ["SET", r(), v(), "EX", LONG_TTL_S]),
            (2, lambda: ["SET", r(), v(), "KEEPTTL"]),
            (2, lambda: ["SETEX", r(), LONG_TTL_S, v()]),
            (2, lambda: ["PSETEX", r(), LONG_TTL_S * 1000, v()]),
            (6, lambda: ["MSET", r(), v(), r(), v(), r(), v()]),
            (2, lambda: ["MSETNX", f"r:{rng.randrange(300, 100000)}", v(),
                         f"r:{rng.randrange(300, 100000)}", v()]),
            (6, lambda: ["DEL", r(), r()]),
            (2, lambda: ["UNLINK", r()]),
            (4, lambda: ["APPEND", r(), "+a"]),
            (3, lambda: ["SETRANGE", r(), rng.randrange(40), "ZZ"]),
            (5, lambda: ["INCRBY", f"n:{rng.randrange(20)}", rng.randrange(-5, 50)]),
            (2, lambda: ["DECR", f"n:{rng.randrange(20)}"]),
            (3, lambda: ["INCRBYFLOAT", f"f:{rng.randrange(10)}", "1.25"]),
            (4, lambda: ["EXPIRE", r(), LONG_TTL_S]),
            (2, lambda: ["PEXPIRE", r(), LONG_TTL_S * 1000]),
            (2, lambda: ["EXPIREAT", r(), int(now) + LONG_TTL_S]),
            (2, lambda: ["PEXPIREAT", r(), int(now * 1000) + LONG_TTL_S * 1000]),
            (2, lambda: ["PERSIST", r()]),
            (2, lambda: ["GETDEL", r()]),
            (2, lambda: ["GETEX", r(), "EX", LONG_TTL_S]),
            (1, lambda: ["GETEX", r(), "PERSIST"]),
            (2, lambda: ["GETSET", r(), v()]),
            (2, lambda: ["SETNX", r(), v()]),
            (2, lambda: ["RENAME", r(), r()]),
            (1, lambda: ["RENAMENX", r(), r()]),
            (1, lambda: ["COPY", r(), r()]),
            (1, lambda: ["MOVE", r(), (db + 1 + rng.randrange(15)) % 16]),
            (0.1, lambda: ["SWAPDB", rng.randrange(16), rng.randrange(16)]),
        ]
        x = rng.uniform(0, sum(w for w, _ in choices))
        for w, make in choices:
            x -= w
            if x <= 0:
                return make()
        return choices[0][1]()

    def run(self):
        try:
            with kvtest.Conn(self.port) as c:
                db = 0
                while not self.stop.is_set():
                    if self.rng.random() < 0.05:
                        db = self.rng.randrange(16)
                        if c.cmd("SELECT", db) != b"+OK\r\n":
                            self.error = f"churn {self.cid}: SELECT {db} failed"
                            return
                    cmd = self.op(db)
                    reply = c.call(*cmd)
                    self.count += 1
                    if isinstance(reply, kvtest.Err) and not (
                            cmd[0] in ("RENAME", "RENAMENX") and reply == "ERR no such key"):
                        self.error = f"churn {self.cid}: {fmt_cmd(cmd)} -> -{reply}"
                        return
        except Exception as e:
            self.error = f"churn {self.cid}: {type(e).__name__}: {e}"


def preload(port, rng, per_db, size):
    with kvtest.Conn(port) as c:
        for db in range(16):
            eq(c.cmd("SELECT", db), b"+OK\r\n", f"SELECT {db}")
            cmds = []
            for i in range(per_db):
                value = f"{db}.{i}." + "p" * rng.randrange(size)
                if i % 5 == 0:
                    cmds.append(("SET", f"r:{i}", value, "EX", LONG_TTL_S + i))
                else:
                    cmds.append(("SET", f"r:{i}", value))
            cmds += [("INCRBY", f"n:{i}", i) for i in range(20)]
            cmds += [("INCRBYFLOAT", f"f:{i}", "0.5") for i in range(10)]
            for i in range(0, len(cmds), 500):
                for reply in c.pipeline(cmds[i:i + 500]):
                    true(not reply.startswith(b"-"), f"preload in db {db}: {reply!r}")


def digest(port):
    """Every key of the 16 databases: {(db, key): (value, expiry time or
    None)}, and a sha256 over (db, key, value, has-expiry) sorted."""
    entries = {}
    with kvtest.Conn(port) as c:
        for db in range(16):
            keys = sorted(scan_db(c, db))
            for i in range(0, len(keys), 200):
                chunk = keys[i:i + 200]
                cmds = [x for k in chunk for x in (("GET", k), ("PTTL", k))]
                t0 = time.time()
                replies = c.pipeline(cmds)
                t = (t0 + time.time()) / 2
                for j, k in enumerate(chunk):
                    value = kvtest.decode(replies[2 * j])[0]
                    pttl = kvtest.decode(replies[2 * j + 1])[0]
                    entries[(db, k)] = (value, None if pttl == -1 else t + pttl / 1000)
    h = hashlib.sha256()
    for (db, k), (value, exp) in sorted(entries.items()):
        h.update(b"%d\0%s\0%s\0%d\n" % (db, k, bytes(value or b""), exp is not None))
    return entries, h.hexdigest()[:16]


def compare_digests(before, after, what):
    (a, ha), (b, hb) = before, after
    diffs = []
    for key in sorted(set(a) | set(b)):
        x, y = a.get(key), b.get(key)
        if x is None or y is None or x[0] != y[0] or (x[1] is None) != (y[1] is None) or (
                x[1] is not None and abs(x[1] - y[1]) > 0.25):
            diffs.append(f"    db {key[0]} {key[1]!r}: before {kvtest._short(x, 80)}, "
                         f"after {kvtest._short(y, 80)}")
    kvtest.checks += len(a) + 1
    if diffs or ha != hb:
        raise Failure(f"{what}: the keyspace differs ({len(a)} keys before, {len(b)} after, "
                      f"digest {ha} then {hb}, {len(diffs)} keys differ):\n" +
                      "\n".join(diffs[:12]))
    return f"{len(a)} keys, digest {ha}"


def persistence(conn):
    return kvtest.parse_info(conn.call("INFO", "persistence")).get("persistence", {})


def rewrite(conn):
    """BGREWRITEAOF, then waits until INFO persistence says it is over.
    Returns how long it took."""
    info = persistence(conn)
    true("aof_rewrite_in_progress" in info, "INFO persistence has aof_rewrite_in_progress")
    count = int(info.get("aof_rewrites", "0"))
    t0 = time.monotonic()
    reply = conn.call("BGREWRITEAOF")
    true(isinstance(reply, str) and reply.startswith("Background append only file rewriting"),
         f"BGREWRITEAOF: {reply!r}")

    def over():
        i = persistence(conn)
        return (i.get("aof_rewrite_in_progress") == "0" and
                i.get("aof_rewrite_scheduled", "0") == "0" and
                int(i.get("aof_rewrites", count + 1)) > count) and i
    info = kvtest.poll(over, "the rewrite is over (INFO persistence)", REWRITE_TIMEOUT, 0.02)
    if "aof_last_bgrewrite_status" in info:
        eq(info["aof_last_bgrewrite_status"], "ok", "aof_last_bgrewrite_status")
    return time.monotonic() - t0


def churn(port, rng, seconds_before, then):
    """Runs 3 churn writers; calls then() after seconds_before; lets them
    go on 0.3 s more; stops them. Returns (then's result, writes done)."""
    stop = threading.Event()
    ws = [ChurnWriter(i, port, random.Random(rng.random()), stop) for i in range(3)]
    for w in ws:
        w.start()
    try:
        time.sleep(seconds_before)
        result = then()
        time.sleep(0.3)
    finally:
        stop.set()
        for w in ws:
            w.join(JOIN_TIMEOUT)
    for w in ws:
        true(not w.is_alive(), f"churn writer {w.cid} ended")
        if w.error:
            raise Failure(w.error)
    return result, sum(w.count for w in ws)


def scenario_rewrite_digest(ctx):
    rng = ctx.rng("rewrite-digest")
    out = []
    # 1. everysec: rewrite under writers, SIGTERM, restart.
    data = ctx.mkdtemp("rewrite")
    note(f"dir {data} ({fs_type(data)})")
    server = ctx.server(data, "everysec").start()
    preload(server.port, rng, 200, 200)
    with kvtest.Conn(server.port) as c:
        took, writes = churn(server.port, rng, 0.3, lambda: rewrite(c))
    before = digest(server.port)
    check_stop(ctx, server, "SIGTERM after the rewrite")
    server = ctx.restart(server)
    text = compare_digests(before, digest(server.port), "everysec, rewrite, SIGTERM, restart")
    note(f"everysec: rewrite under {writes} writes took {took:.3f} s; SIGTERM, restart "
         f"{server.start_s:.3f} s: {text}")
    out.append(text)
    check_stop(ctx, server, "stop")

    # 2. always: rewrite under writers, SIGKILL right after it.
    data = ctx.mkdtemp("rewrite-kill")
    server = ctx.server(data, "always").start()
    preload(server.port, rng, 200, 200)
    with kvtest.Conn(server.port) as c:
        took, writes = churn(server.port, rng, 0.3, lambda: rewrite(c))
    before = digest(server.port)
    server.kill()
    server = ctx.restart(server)
    text = compare_digests(before, digest(server.port), "always, rewrite, SIGKILL, restart")
    note(f"always: rewrite under {writes} writes took {took:.3f} s; SIGKILL, restart "
         f"{server.start_s:.3f} s: {text}")

    # 3. always: SIGKILL during rewrites of a bigger keyspace.
    preload(server.port, rng, 2000, 400)
    for i in range(3):
        before = digest(server.port)
        with kvtest.Conn(server.port) as c:
            reply = c.call("BGREWRITEAOF")
            true(isinstance(reply, str), f"BGREWRITEAOF: {reply!r}")
            time.sleep(rng.uniform(0, 0.05))
            busy = persistence(c).get("aof_rewrite_in_progress")
            t_kill = time.monotonic()
            server.kill()
        server = ctx.restart(server)
        text = compare_digests(before, digest(server.port),
                               f"always, SIGKILL during rewrite {i + 1}")
        note(f"SIGKILL during rewrite {i + 1} (aof_rewrite_in_progress:{busy} just before), "
             f"restart {server.start_s:.3f} s: {text}")
        del t_kill
    out.append(text)
    check_stop(ctx, server, "final stop")
    return "; ".join(out)


# --- the runner ----------------------------------------------------------

SCENARIOS = [
    ("crash-always", scenario_crash_always),
    ("crash-everysec", scenario_crash_everysec),
    ("disk-full", scenario_disk_full),
    ("disk-full-always", scenario_disk_full_always),
    ("rewrite-digest", scenario_rewrite_digest),
    ("restart-clean", scenario_restart_clean),
]


def private_mounts():
    """Puts this process in its own mount namespace (root only), so that the
    tmpfs of disk-full disappears with it even if it is SIGKILLed."""
    if os.geteuid() != 0:
        return False
    import ctypes
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
        return False
    p = subprocess.run(["mount", "--make-rprivate", "/"], capture_output=True)
    return p.returncode == 0


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--server-cmd", help="command line with {port}, {dir} and {fsync}")
    g.add_argument("--redis", action="store_true", help="test the oracle: " + REDIS_CMD)
    p.add_argument("-k", dest="pattern", help="the scenario so named, or those containing this")
    p.add_argument("--rounds", type=int, default=20, help="crash-always rounds (20)")
    p.add_argument("--everysec-rounds", type=int, default=4, help="crash-everysec rounds (4)")
    p.add_argument("--margin", type=float, default=1.5,
                   help="everysec: writes acknowledged this long before the kill must "
                        "survive (1.5 s, plus the time the kill took)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: time)")
    p.add_argument("--disk-full-mode", choices=("auto", "tmpfs", "fsize"), default="auto",
                   help="a small tmpfs (auto: if it can be mounted) or RLIMIT_FSIZE")
    args = p.parse_args(argv)
    if args.seed is None:
        args.seed = int(time.time() * 1000) % 1000000
    return args


def main():
    args = parse_args(sys.argv[1:])
    script = os.path.basename(__file__)

    def skip_all(reason):
        print(f"SKIP {script}: {reason}", flush=True)
        sys.exit(EXIT_SKIP)

    try:
        import redis  # noqa: F401  (kvtest's clients; checked as the other suites do)
    except ImportError:
        skip_all(f"redis-py is missing (apt-get install python3-redis; run with "
                 f"/usr/bin/python3, not {sys.executable})")
    template = REDIS_CMD if args.redis else args.server_cmd
    for field in ("{port}", "{dir}", "{fsync}"):
        if field not in template:
            print(f"FAIL {script}: --server-cmd needs {field}: {template!r}", flush=True)
            sys.exit(EXIT_FAIL)
    binary = shlex.split(template)[0]
    if shutil.which(binary) is None:
        if args.redis:
            skip_all("redis-server is missing (apt-get install redis-server)")
        print(f"FAIL {script}: server binary {binary!r} not found", flush=True)
        sys.exit(EXIT_FAIL)
    chosen = [(n, f) for n, f in SCENARIOS if n == args.pattern]
    if not chosen:
        chosen = [(n, f) for n, f in SCENARIOS if not args.pattern or args.pattern in n]
    if not chosen:
        print(f"FAIL {script}: no scenario matches {args.pattern!r} "
              f"({', '.join(n for n, _ in SCENARIOS)})", flush=True)
        sys.exit(EXIT_FAIL)
    if any(n.startswith("disk-full") for n, _ in chosen) and private_mounts():
        pass  # mounts made from now on vanish with this process

    # ctest and the user stop us with SIGTERM or SIGINT: unwind, so that
    # finally clauses stop servers and remove directories.
    def on_signal(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    name = "redis-server" if args.redis else "atoll-kv"
    print(f"{script}: against {name} ({template}), seed {args.seed}", flush=True)
    passed, failed, skipped = [], [], []
    start = time.monotonic()
    for scenario, fn in chosen:
        ctx = Ctx(args)
        atexit.register(ctx.cleanup)
        t0 = time.monotonic()
        ok = False
        print(f"--- {scenario}", flush=True)
        try:
            summary = fn(ctx)
            ok = True
            passed.append(scenario)
            print(f"ok   {scenario} ({time.monotonic() - t0:.1f}s): {summary}", flush=True)
        except Skip as e:
            skipped.append(scenario)
            print(f"SKIP {scenario}: {e}", flush=True)
            ok = True
        except KeyboardInterrupt as e:
            failed.append(scenario)
            print(f"FAIL {scenario}: interrupted ({e})", flush=True)
            ctx.cleanup()
            break
        except Exception as e:
            failed.append(scenario)
            print(f"FAIL {scenario} ({time.monotonic() - t0:.1f}s): {type(e).__name__}: {e}",
                  flush=True)
            if not isinstance(e, Failure):
                traceback.print_exc(file=sys.stdout)
            for s in ctx.servers[-2:]:
                tail = s.log_tail(15)
                if tail:
                    print(f"    {s.name} log ({s.status_text()}):\n{tail}", flush=True)
        finally:
            ctx.cleanup(keep_logs=not ok)
    print(f"{script}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped; "
          f"{kvtest.checks} checks; {time.monotonic() - start:.1f}s against {name}, "
          f"seed {args.seed}", flush=True)
    print(f"CHECKS {kvtest.checks}", flush=True)
    if failed:
        sys.exit(EXIT_FAIL)
    if skipped and not passed:
        sys.exit(EXIT_SKIP)
    sys.exit(EXIT_PASS)


if __name__ == "__main__":
    main()
