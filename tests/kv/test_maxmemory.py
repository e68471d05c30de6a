#!/usr/bin/python3
"""test_maxmemory.py - maxmemory and maxmemory-policy: CONFIG GET/SET and
INFO memory round trips, the --maxmemory flags; noeviction refuses writes
with Redis's exact -OOM error and stays near the limit while reads, DEL and
EXPIRE go on; allkeys-lru keeps keys in use through a scan of new ones;
volatile-lru, volatile-random and volatile-ttl evict only keys with a TTL
(volatile-ttl the nearest first) and refuse writes once none is left;
allkeys-random evicts; evicted_keys counts and CONFIG RESETSTAT clears it.

used_memory is compared loosely (kvtest's "used-memory" entry): Redis counts
its allocator's bytes, ~1 MB of them before any key, atoll-kv its stores'
own count of keys, values and tables. Limits are therefore set from the
server's own used_memory, never as absolute sizes. Redis's LRU clock ticks
once a second, so the LRU test waits (polling OBJECT IDLETIME) for old keys
to be a second old. Usage: see kvtest.py.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, poll, true  # noqa: E402

OK = b"+OK\r\n"
OOM = b"-OOM command not allowed when used memory > 'maxmemory'.\r\n"
MB = 1 << 20
FAR = 4102444800  # 2100-01-01, in seconds


def used_memory(s, c):
    return int(s.info("memory", conn=c)["memory"]["used_memory"])


def stat(s, c, field):
    return int(s.info("stats", conn=c)["stats"][field])


def set_limit(c, limit, policy):
    """Sets the limit and policy, and zeroes evicted_keys."""
    eq(c.cmd("CONFIG", "RESETSTAT"), OK, "CONFIG RESETSTAT")
    eq(c.cmd("CONFIG", "SET", "maxmemory-policy", policy), OK, f"policy {policy}")
    eq(c.cmd("CONFIG", "SET", "maxmemory", str(limit)), OK, f"maxmemory {limit}")


def no_limit(c):
    """Back to the defaults, so the next test starts without a limit."""
    c.cmd("CONFIG", "SET", "maxmemory", "0")
    c.cmd("CONFIG", "SET", "maxmemory-policy", "noeviction")
    c.cmd("CONFIG", "SET", "maxmemory-samples", "5")


def fill(c, prefix, start, n, value, *opts):
    """SET prefix:i for i in [start, start + n), pipelined by 100; returns the
    replies."""
    out = []
    for i in range(start, start + n, 100):
        out += c.pipeline([("SET", f"{prefix}:{j}", value, *opts)
                           for j in range(i, min(i + 100, start + n))])
    return out


def count_existing(c, keys):
    n = 0
    for i in range(0, len(keys), 500):
        n += c.call("EXISTS", *keys[i:i + 500])
    return n


def write_until_refused(c, prefix, value, limit=20000):
    """SETs new keys in batches of 100 until a whole batch is refused (every
    shard is then over its share). Every reply is +OK or the OOM error.
    Returns the keys that were set."""
    done = []
    for i in range(0, limit, 100):
        keys = [f"{prefix}:{j}" for j in range(i, i + 100)]
        replies = c.pipeline([("SET", k, value) for k in keys])
        for k, r in zip(keys, replies):
            true(r in (OK, OOM), f"SET {k} answered +OK or -OOM ({r!r})")
            if r == OK:
                done.append(k)
        if all(r == OOM for r in replies):
            return done
    raise kvtest.Failure(f"writes still accepted after {limit} keys")


def test_config_and_info_round_trip(s):
    c = s.conn()
    try:
        eq(c.call("CONFIG", "GET", "maxmemory"), [b"maxmemory", b"0"], "maxmemory default")
        eq(c.call("CONFIG", "GET", "maxmemory-policy"), [b"maxmemory-policy", b"noeviction"],
           "maxmemory-policy default")
        eq(c.call("CONFIG", "GET", "maxmemory-samples"), [b"maxmemory-samples", b"5"],
           "maxmemory-samples default")
        mem = s.info("memory", conn=c)["memory"]
        eq((mem["maxmemory"], mem["maxmemory_human"], mem["maxmemory_policy"]),
           ("0", "0B", "noeviction"), "INFO memory without a limit")
        eq(c.cmd("CONFIG", "SET", "maxmemory", "100mb"), OK, "CONFIG SET maxmemory 100mb")
        eq(c.call("CONFIG", "GET", "maxmemory"), [b"maxmemory", b"104857600"], "100mb in bytes")
        for policy in ("allkeys-lru", "volatile-lru", "allkeys-random", "volatile-random",
                       "volatile-ttl", "noeviction"):
            eq(c.cmd("CONFIG", "SET", "maxmemory-policy", policy.upper()), OK,
               f"CONFIG SET maxmemory-policy {policy}")
            eq(c.call("CONFIG", "GET", "maxmemory-policy"),
               [b"maxmemory-policy", policy.encode()], f"CONFIG GET after {policy}")
            mem = s.info("memory", conn=c)["memory"]
            eq((mem["maxmemory"], mem["maxmemory_human"], mem["maxmemory_policy"]),
               ("104857600", "100.00M", policy), f"INFO memory with {policy}")
        eq(c.cmd("CONFIG", "SET", "maxmemory-samples", "10"), OK, "maxmemory-samples 10")
        eq(c.call("CONFIG", "GET", "maxmemory-samples"), [b"maxmemory-samples", b"10"],
           "maxmemory-samples round trip")
        eq(c.cmd("CONFIG", "SET", "maxmemory", "1gb"), OK, "CONFIG SET maxmemory 1gb")
        eq(s.info("memory", conn=c)["memory"]["maxmemory_human"], "1.00G", "1gb, human")
        is_error(c.cmd("CONFIG", "SET", "maxmemory", "lots"),
                 "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument "
                 "must be a memory value")
        is_error(c.cmd("CONFIG", "SET", "maxmemory-samples", "0"),
                 "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - "
                 "argument must be between 1 and %s inclusive"
                 % ("2147483647" if s.is_redis else "64"))
        r = c.cmd("CONFIG", "SET", "maxmemory-policy", "sometimes")
        true(r.startswith(b"-ERR CONFIG SET failed (possibly related to argument "
                          b"'maxmemory-policy') - argument(s) must be one of the following: "),
             f"a bad policy is refused ({r!r})")
        eq(c.call("CONFIG", "GET", "maxmemory-policy"), [b"maxmemory-policy", b"noeviction"],
           "a refused policy changes nothing")
    finally:
        no_limit(c)
    mem = s.info("memory", conn=c)["memory"]
    eq((mem["maxmemory"], mem["maxmemory_human"]), ("0", "0B"), "INFO memory after reset")


def test_flags_set_the_limit_at_start(s):
    with s.spawn(extra=["--maxmemory", "3mb", "--maxmemory-policy", "allkeys-lru"]) as srv:
        c = srv.conn()
        mem = srv.info("memory", conn=c)["memory"]
        eq((mem["maxmemory"], mem["maxmemory_policy"]), (str(3 * MB), "allkeys-lru"),
           "--maxmemory 3mb --maxmemory-policy allkeys-lru")


def test_noeviction_refuses_writes_and_stays_within_the_limit(s):
    c = s.conn()
    value = "x" * 1000
    try:
        limit = used_memory(s, c) + 2 * MB
        set_limit(c, limit, "noeviction")
        stored = write_until_refused(c, "k", value)
        true(len(stored) > 500, f"about 2 MB of keys went in ({len(stored)})")
        used = used_memory(s, c)
        if kvtest.only(s, "used-memory"):
            # Over by at most a write per shard (and the allocator's and
            # buffers' slack, on Redis).
            true(limit * 0.9 <= used <= limit * 1.1,
                 f"used_memory {used} is near maxmemory {limit}")
        # Writes that may grow memory are refused, exactly as Redis does.
        eq(c.cmd("SET", stored[0], "v"), OOM, "SET over an existing key")
        eq(c.cmd("INCR", "counter"), OOM, "INCR")
        eq(c.cmd("APPEND", stored[1], "more"), OOM, "APPEND")
        eq(c.cmd("MSET", "a", "1", "b", "2"), OOM, "MSET")
        eq(c.cmd("SETEX", "e", "100", "v"), OOM, "SETEX")
        eq(stat(s, c, "evicted_keys"), 0, "noeviction evicts nothing")
        # Reads, deletes and expiry changes still run.
        eq(c.cmd("GET", stored[2]), b"$1000\r\n" + value.encode() + b"\r\n", "GET")
        eq(c.call("EXISTS", *stored[:10]), 10, "EXISTS")
        eq(c.cmd("EXPIRE", stored[3], "1000"), b":1\r\n", "EXPIRE")
        eq(c.cmd("PERSIST", stored[3]), b":1\r\n", "PERSIST")
        eq(c.call("DBSIZE"), len(stored), "DBSIZE: nothing lost")
        half = stored[:len(stored) // 2]
        for i in range(0, len(half), 500):
            eq(c.call("DEL", *half[i:i + 500]), len(half[i:i + 500]), "DEL")
        # With room again, writes run.
        eq(c.cmd("SET", "after", "v"), OK, "SET after DEL made room")
        eq(c.cmd("INCR", "counter"), b":1\r\n", "INCR after DEL made room")
    finally:
        no_limit(c)


def test_allkeys_lru_keeps_hot_keys_through_a_scan(s):
    c = s.conn()
    cold_n, hot_n, scan_n = 3000, 100, 2000
    value = "v" * 500
    try:
        eq(c.cmd("CONFIG", "RESETSTAT"), OK, "CONFIG RESETSTAT")
        eq(c.cmd("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"), OK, "allkeys-lru")
        fill(c, "cold", 0, cold_n, value)
        # Redis's LRU clock has a resolution of one second: wait until the
        # cold keys are a second old (OBJECT IDLETIME does not touch them).
        poll(lambda: c.call("OBJECT", "IDLETIME", "cold:0") >= 1, "cold keys a second old")
        hot = [f"hot:{i}" for i in range(hot_n)]
        fill(c, "hot", 0, hot_n, value)
        eq(c.cmd("CONFIG", "SET", "maxmemory", str(used_memory(s, c))), OK,
           "maxmemory at what is used now")
        # A scan of new keys, each needing room, with the hot keys in use.
        for i in range(0, scan_n, 100):
            for r in fill(c, "scan", i, 100, value):
                eq(r, OK, "SET of a scan key")
            c.pipeline([("GET", k) for k in hot])
        hot_left = count_existing(c, hot)
        cold_left = count_existing(c, [f"cold:{i}" for i in range(cold_n)])
        evicted = stat(s, c, "evicted_keys")
        true(evicted >= scan_n * 0.8, f"the scan evicted keys ({evicted})")
        true(hot_left >= hot_n * 0.9, f"hot keys survive the scan ({hot_left} of {hot_n})")
        true(cold_left <= cold_n - evicted * 0.8,
             f"evicted keys were cold ones ({cold_left} of {cold_n} left, {evicted} evicted)")
        eq(c.cmd("CONFIG", "RESETSTAT"), OK, "CONFIG RESETSTAT")
        eq(stat(s, c, "evicted_keys"), 0, "evicted_keys after CONFIG RESETSTAT")
    finally:
        no_limit(c)


def volatile_policy_keeps_persistent_keys(s, policy):
    c = s.conn()
    value = "v" * 500
    try:
        fill(c, "p", 0, 1000, value)
        fill(c, "v", 0, 1000, value, "EXAT", str(FAR))
        set_limit(c, used_memory(s, c), policy)
        stored = write_until_refused(c, "n", value)
        persistent = [f"p:{i}" for i in range(1000)]
        eq(count_existing(c, persistent), 1000, f"{policy}: every key without a TTL is kept")
        eq(count_existing(c, stored), len(stored), f"{policy}: every key written is kept")
        db0 = kvtest.keyspace_line(s.info("keyspace", conn=c)["keyspace"]["db0"])
        eq(db0["expires"], 0, f"{policy}: the keys with a TTL all went, then writes stopped")
        eq(stat(s, c, "evicted_keys"), 1000, f"{policy}: evicted_keys")
        true(len(stored) >= 800, f"{policy}: their room was used ({len(stored)} writes)")
        eq(c.cmd("SET", "one more", "v"), OOM, f"{policy}: nothing left to evict")
    finally:
        no_limit(c)


def test_volatile_lru_evicts_only_keys_with_a_ttl(s):
    volatile_policy_keeps_persistent_keys(s, "volatile-lru")


def test_volatile_random_evicts_only_keys_with_a_ttl(s):
    volatile_policy_keeps_persistent_keys(s, "volatile-random")


def test_volatile_ttl_evicts_only_keys_with_a_ttl(s):
    volatile_policy_keeps_persistent_keys(s, "volatile-ttl")


def test_volatile_ttl_evicts_the_nearest_expiry_first(s):
    c = s.conn()
    value = "v" * 500
    try:
        fill(c, "near", 0, 1000, value, "EX", "10000")
        fill(c, "far", 0, 1000, value, "EX", "1000000")
        set_limit(c, used_memory(s, c), "volatile-ttl")
        for r in fill(c, "p", 0, 500, value):
            eq(r, OK, "SET with near keys to evict")
        near = count_existing(c, [f"near:{i}" for i in range(1000)])
        far = count_existing(c, [f"far:{i}" for i in range(1000)])
        evicted = stat(s, c, "evicted_keys")
        true(evicted >= 400, f"~500 keys evicted ({evicted})")
        true(far >= 950, f"keys expiring last are kept ({far} of 1000)")
        true(near <= 1000 - evicted * 0.9, f"keys expiring first go ({near} of 1000 left)")
    finally:
        no_limit(c)


def test_allkeys_random_evicts_keys_with_and_without_ttl(s):
    c = s.conn()
    value = "v" * 500
    try:
        fill(c, "p", 0, 1000, value)
        fill(c, "v", 0, 1000, value, "EX", "10000")
        set_limit(c, used_memory(s, c), "allkeys-random")
        for r in fill(c, "n", 0, 1000, value):
            eq(r, OK, "SET under allkeys-random")
        p = count_existing(c, [f"p:{i}" for i in range(1000)])
        v = count_existing(c, [f"v:{i}" for i in range(1000)])
        # ~1000 evictions from ~2000 keys: each old key stays with
        # p ~ e^-0.5, so ~600 of each kind are left.
        true(350 <= p <= 850 and 350 <= v <= 850,
             f"both kinds evicted alike ({p} and {v} of 1000 left)")
        true(stat(s, c, "evicted_keys") >= 800, "evicted_keys")
    finally:
        no_limit(c)


if __name__ == "__main__":
    kvtest.main()
