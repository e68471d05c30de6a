#!/usr/bin/python3
"""durability_clients.py - the clients of durability.py and what they
check: writers that record every write and its reply, the state the store
must hold afterwards (matched as a prefix of each writer's writes), a churn
of many kinds of write command, and a digest of the whole keyspace.

Not a test by itself: durability.py imports it.
"""
import hashlib
import random
import threading
import time

import kvtest
from kvtest import Failure, eq, true

NCLIENTS = 6
CLIENT_DBS = [0, 1, 0, 5, 0, 15]  # client i writes in database CLIENT_DBS[i]
POOL = 30                         # keys of one client
SHARED = 3                        # shared counters per database
SHORT_TTL_MS = (100, 1500)
LONG_TTL_S = 100000
# Expiry is judged against this script's clock, the server's is the same
# one; SLOP covers millisecond rounding and the clock a server reads once per
# batch of commands (a batch can be preempted on a loaded machine).
SLOP = 0.05
# An expiry time read back (now + PTTL) must lie within the time the write
# was sent and answered, give or take this: a log that replays a TTL as
# relative to the restart misses it by the restart time (the short TTLs that
# must have expired catch that more surely).
TTL_SLOP = 0.25
JOIN_TIMEOUT = 15.0


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
                reply = kvtest.decode(raw)[0]
                if isinstance(reply, kvtest.Err) and str(reply).startswith(
                        "ERR the server is shutting down"):
                    # atoll-kv refuses writes once a shutdown has begun (so
                    # no acknowledged write can miss the last sync). An MSET
                    # across shards may have been applied by a shard that
                    # had not closed yet: it counts as in flight.
                    self.ended_by = "shutting down"
                    return
                op.ack = time.time()
                op.reply = reply
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
        return self._verify(port, writers, kill_t, margin)

    @staticmethod
    def per_key_window(w, obs, m_min, kill_t):
        """everysec with one log per shard: each shard may lose its own last
        moments, so within the margin a client's writes need not survive as
        one prefix (an MSET across shards may survive on one shard and not on
        another). Accepts when every key holds a value it had at some point
        from the m_min-th acknowledged write on; returns the state, or None."""
        acked, flight = w.acked(), w.in_flight()
        state = dict(w.base)
        for op in acked[:m_min]:
            for eff in op.effects:
                if eff[0] != "shared":
                    apply_effect(state, eff, op.send, op.ack)
        allowed = {k: [state[k]] for k in w.keys}
        later = acked[m_min:] + ([flight] if flight is not None else [])
        cur = dict(state)
        for op in later:
            for eff in op.effects:
                if eff[0] == "shared":
                    continue
                apply_effect(cur, eff, op.send, op.ack if op.ack is not None else kill_t)
                allowed[eff[1]].append(cur[eff[1]])
        final = {}
        for k in w.keys:
            fit = [st for st in allowed[k] if fits(st, obs[(w.db, k)])]
            if not fit:
                return None
            final[k] = fit[-1]
        return final

    def _verify(self, port, writers, kill_t, margin):
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
                state = (None if margin is None else
                         self.per_key_window(w, obs, m_min, kill_t))
                if state is None:
                    problems.append(str(e))
                    continue
                print(f"    note: client {w.cid}: no single prefix survives, but every key "
                      f"holds a value it had within the last {margin:.2f} s (one log per "
                      f"shard: each shard loses its own last moments)")
                m = m_min
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
        two = lambda: [f"r:{i}" for i in rng.sample(range(300), 2)]  # noqa: E731
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
            (2, lambda: ["RENAME", *two()]),
            (1, lambda: ["RENAMENX", *two()]),
            (1, lambda: ["COPY", *two()]),
            (1, lambda: ["MOVE", r(), (db + 1 + rng.randrange(15)) % 16]),
            (0.1, lambda: ["SWAPDB", rng.randrange(16), rng.randrange(16)]),
            (0.02, lambda: ["FLUSHDB"]),
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
                # PEXPIRETIME, not PTTL: the absolute time a key expires,
                # which does not depend on when the reply was read (a PTTL
                # read on a busy machine drifted past the tolerance).
                cmds = [x for k in chunk for x in (("GET", k), ("PEXPIRETIME", k))]
                replies = c.pipeline(cmds)
                for j, k in enumerate(chunk):
                    value = kvtest.decode(replies[2 * j])[0]
                    at = kvtest.decode(replies[2 * j + 1])[0]
                    entries[(db, k)] = (value, None if at == -1 else at / 1000)
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
                x[1] is not None and x[1] != y[1]):
            diffs.append(f"    db {key[0]} {key[1]!r}: before {kvtest._short(x, 80)}, "
                         f"after {kvtest._short(y, 80)}")
    kvtest.checks += len(a) + 1
    if diffs or ha != hb:
        raise Failure(f"{what}: the keyspace differs ({len(a)} keys before, {len(b)} after, "
                      f"digest {ha} then {hb}, {len(diffs)} keys differ):\n" +
                      "\n".join(diffs[:12]))
    return f"{len(a)} keys, digest {ha}"
