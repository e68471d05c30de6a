#!/usr/bin/python3
"""durability.py - crash, disk-full, rewrite and restart tests of a
Redis-protocol server's append-only log: atoll-kv's (issue 5), checked first
against redis-server 7.0.15 run with the same flags.

Unlike tests/kv/test_*.py this is a standalone script: it starts, kills
(SIGKILL) and restarts its servers itself, on directories it owns; its
clients and what they check are in durability_clients.py. Servers
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
from durability_clients import (  # noqa: E402
    JOIN_TIMEOUT, NCLIENTS, ChurnWriter, Workload, compare_digests, digest, preload)

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = kvtest.EXIT_PASS, kvtest.EXIT_FAIL, kvtest.EXIT_SKIP

# The oracle, with the flags atoll-kv takes.
REDIS_CMD = ("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly yes "
             "--appendfsync {fsync} --dir {dir} --daemonize no")

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
        old.kill()  # its log stays until cleanup(), for a failure's report
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
    return crash_rounds(ctx, "restart-clean", "no", ctx.args.clean_rounds, (0.2, 0.8), "term",
                        None)


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


def probe_writes(ctx, server, tag, n, acked, refused, timeout=kvtest.TIMEOUT):
    """n SETs of new keys, each from a new client: each must be answered OK
    (it must then survive) or -MISCONF (it must then be absent). A reply
    that does not come within timeout is held: returns [(key, conn)] of
    those, and how many were accepted and refused."""
    ok = bad = 0
    held = []
    for j in range(n):
        key = f"probe:{tag}:{j}"
        c = kvtest.Conn(server.port, timeout)
        try:
            reply = c.call("SET", key, key)
        except TimeoutError:
            held.append((key, c))
            continue
        except (kvtest.Closed, OSError):
            c.close()
            died(ctx, server, f"SET {key} on a full disk")
        c.close()
        if reply == "OK":
            acked[key] = key.encode()
            ok += 1
        elif is_misconf(reply):
            refused.append(key)
            bad += 1
        else:
            raise Failure(f"SET {key} on a full disk: {reply!r}")
    return ok, bad, held


def per_shard_note(ctx, accepted, total):
    if accepted == 0:
        note(f"all {total} SETs of new keys from new clients were refused with MISCONF, "
             f"as in Redis")
    else:
        note(f"{accepted} of {total} SETs of new keys from new clients were accepted while the "
             f"disk was full: MISCONF is per shard (Redis refuses all); each accepted one is "
             f"checked after the restart")
    if ctx.is_redis:
        eq(accepted, 0, "redis-server refuses every write while the AOF cannot be written")


def write_after(writer, t_free, acked, refused):
    """20 SETs of new keys (on every shard) once space was freed: each is
    tried until accepted; a shard retries its log once a second, so -MISCONF
    is allowed until RECOVER_TIMEOUT after the space was freed."""
    for j in range(20):
        key = f"after:{j}"
        while True:
            reply = writer.call("SET", key, key)
            if reply == "OK":
                acked[key] = key.encode()
                break
            true(is_misconf(reply), f"SET {key} after space was freed: {reply!r}")
            if time.monotonic() - t_free > RECOVER_TIMEOUT:
                raise Failure(f"SET {key} still refused {RECOVER_TIMEOUT} s after space was "
                              f"freed: -{reply}")
            refused.append(key)
            key = f"after:{j}.{len(refused)}"  # the refused key must stay absent
            time.sleep(0.05)
    note(f"20 SETs of new keys all accepted {time.monotonic() - t_free:.3f} s after space was "
         f"freed")


def scenario_disk_full(ctx):
    server, free, restart, how = disk_full_server(ctx, "disk-full", "everysec")
    note(f"{how}; appendfsync everysec")
    acked, refused = {}, []
    writer, reader = server.conn(), server.conn()
    t0 = time.monotonic()
    failed = misconf = None
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
            failed, misconf = key, reply
            refused.append(key)
            break
        else:
            raise Failure(f"SET {key} while filling the disk: {reply!r}")
    if misconf is None:
        raise Failure(f"no -MISCONF after {len(acked)} writes of {FILL_VALUE} bytes "
                      f"({time.monotonic() - t0:.1f} s); {persistence_fields(reader)}")
    note(f"after {len(acked)} acknowledged writes of {FILL_VALUE >> 10} KiB "
         f"({time.monotonic() - t0:.2f} s): SET {failed}: -{misconf}")
    true(misconf.startswith("MISCONF Errors writing to the AOF file"),
         f"the error is Redis's (-MISCONF Errors writing to the AOF file: ...): -{misconf}")
    note(f"INFO persistence: {persistence_fields(reader)}")

    # The disk stays full: writes to the key refused (its shard's log
    # failed) are refused again, now and a second later; every client
    # reads; the server stays up.
    last = max(acked, key=lambda k: int(k.split(":")[1]))
    accepted = probes = 0
    for attempt in range(2):
        if attempt:
            time.sleep(1.2)  # past a once-a-second retry: still full
        reply = writer.call("SET", failed, "again")
        true(is_misconf(reply), f"SET {failed} again on a full disk is refused: {reply!r}")
        ok, bad, _ = probe_writes(ctx, server, attempt, 8, acked, refused)
        accepted, probes = accepted + ok, probes + ok + bad
        eq(reader.call("GET", "fill:0"), acked["fill:0"], "GET fill:0 (another client)")
        eq(reader.call("GET", last), acked[last], f"GET {last}, the last acknowledged")
        eq(reader.call("DBSIZE"), len(acked), "DBSIZE")
        with kvtest.Conn(server.port) as c:
            eq(c.call("EXISTS", "fill:1"), 1, "EXISTS from a new client")
            eq(c.call("GET", failed), None, f"GET {failed}: the refused write did not happen")
        true(server.alive(), f"{server.name} still runs on a full disk")
    per_shard_note(ctx, accepted, probes)

    # Room again: writes work again within RECOVER_TIMEOUT.
    free()
    t_free = time.monotonic()
    tries = 0
    while True:
        tries += 1
        value = fill_value(int(failed.split(":")[1]))
        reply = writer.call("SET", failed, value)
        if reply == "OK":
            acked[failed] = value
            refused.remove(failed)
            break
        true(is_misconf(reply), f"SET {failed} after space was freed: {reply!r}")
        if time.monotonic() - t_free > RECOVER_TIMEOUT:
            raise Failure(f"writes still refused {RECOVER_TIMEOUT} s after space was freed; "
                          f"{persistence_fields(reader)}")
        time.sleep(0.05)
    note(f"SET {failed} accepted again {time.monotonic() - t_free:.3f} s after space was freed "
         f"({tries - 1} refused meanwhile); INFO persistence: {persistence_fields(reader)}")
    write_after(writer, t_free, acked, refused)
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
    note(f"after {len(acked)} acknowledged writes, SET {held} gets no reply within 2 s (held)")
    with kvtest.Conn(server.port, timeout=2.0) as other:
        try:
            reply = other.call("SET", held, "again")
        except TimeoutError:
            raise Failure(f"SET {held} from another client waits too: a new write to the shard "
                          f"whose log failed should get -MISCONF at once")
        true(is_misconf(reply), f"SET {held} from another client while it is held: {reply!r}")
        eq(other.call("GET", "fill:0"), acked["fill:0"], "GET fill:0 while a write is held")
    ok, bad, held_probes = probe_writes(ctx, server, "a", 8, acked, refused, timeout=2.0)
    note(f"SETs of 8 new keys from new clients meanwhile: {ok} accepted, {bad} refused with "
         f"MISCONF, {len(held_probes)} held (their shards' logs failed on them)")
    true(server.alive(), f"{server.name} still runs")
    free()
    t_free = time.monotonic()
    for key, c in [(held, writer)] + held_probes:
        c.sock.settimeout(max(0.1, RECOVER_TIMEOUT - (time.monotonic() - t_free)))
        try:
            reply = kvtest.decode(c.reply())[0]
        except TimeoutError:
            raise Failure(f"the held SET {key} got no reply {RECOVER_TIMEOUT} s after space "
                          f"was freed")
        eq(reply, "OK", f"the held SET {key}, once space was freed")
        acked[key] = fill_value(int(key.split(":")[1])) if key == held else key.encode()
        if c is not writer:
            c.close()
    note(f"the held writes answered OK within {time.monotonic() - t_free:.3f} s after space "
         f"was freed")
    t_ok = time.monotonic()
    while True:
        reply = writer.call("SET", held, "after")
        if reply == "OK":
            acked[held] = b"after"
            break
        true(is_misconf(reply), f"SET {held} after space was freed: {reply!r}")
        if time.monotonic() - t_ok > RECOVER_TIMEOUT:
            raise Failure(f"SET {held} still refused {RECOVER_TIMEOUT} s after space was freed")
        time.sleep(0.05)
    write_after(writer, t_free, acked, refused)
    server.close_clients()
    check_stop(ctx, server, "stop after the disk-full episode")
    server = restart(server)
    check_after_restart(server, acked, refused, "disk-full-always")
    check_stop(ctx, server, "final stop")
    return (f"{len(acked)} writes acknowledged ({1 + len(held_probes)} held until space was "
            f"freed) and back after the restart, {len(refused)} refused with MISCONF and "
            f"absent")


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

    # 3. always: SIGKILL during rewrites of a bigger keyspace, at moments
    # from at once to after the end (INFO, read just before, says which).
    preload(server.port, rng, 4000, 600)
    before = digest(server.port)
    for i, delay in enumerate((0, 0.001, 0.004, 0.015, 0.06)):
        with kvtest.Conn(server.port) as c:
            reply = c.call("BGREWRITEAOF")
            true(isinstance(reply, str), f"BGREWRITEAOF: {reply!r}")
            time.sleep(delay)
            busy = persistence(c).get("aof_rewrite_in_progress")
            server.kill()
        server = ctx.restart(server)
        text = compare_digests(before, digest(server.port),
                               f"always, SIGKILL during rewrite {i + 1}")
        note(f"SIGKILL {delay * 1000:.0f} ms after BGREWRITEAOF (aof_rewrite_in_progress:{busy} "
             f"just before), restart {server.start_s:.3f} s: {text}")
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
    p.add_argument("--clean-rounds", type=int, default=3, help="restart-clean rounds (3)")
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
