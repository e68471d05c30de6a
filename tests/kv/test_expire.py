#!/usr/bin/python3
"""test_expire.py - expiry: SET EX/PX/EXAT/PXAT, EXPIRE, PEXPIRE, EXPIREAT,
PEXPIREAT with NX/XX/GT/LT, EXPIRETIME, PEXPIRETIME, TTL, PTTL, PERSIST; keys
gone after their time (short TTLs, bounded polling, no sleeps), and active
expiry: keys nobody touches leave DBSIZE and INFO keyspace on their own.
Usage: see kvtest.py.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, poll, true  # noqa: E402

OK = b"+OK\r\n"
NIL = b"$-1\r\n"
NOT_INT = "ERR value is not an integer or out of range"
FAR = 4102444800  # 2100-01-01, in seconds


def now_ms():
    return int(time.time() * 1000)


def test_ttl_and_pttl_of_missing_persistent_and_volatile_keys(s):
    c = s.conn()
    eq(c.cmd("TTL", "nosuch"), b":-2\r\n", "TTL missing")
    eq(c.cmd("PTTL", "nosuch"), b":-2\r\n", "PTTL missing")
    eq(c.cmd("EXPIRETIME", "nosuch"), b":-2\r\n", "EXPIRETIME missing")
    eq(c.cmd("PEXPIRETIME", "nosuch"), b":-2\r\n", "PEXPIRETIME missing")
    c.cmd("SET", "p", "v")
    eq(c.cmd("TTL", "p"), b":-1\r\n", "TTL without expiry")
    eq(c.cmd("PTTL", "p"), b":-1\r\n", "PTTL without expiry")
    eq(c.cmd("EXPIRETIME", "p"), b":-1\r\n", "EXPIRETIME without expiry")
    eq(c.cmd("PEXPIRETIME", "p"), b":-1\r\n", "PEXPIRETIME without expiry")
    eq(c.cmd("SET", "ex", "v", "EX", "100"), OK, "SET EX 100")
    true(c.call("TTL", "ex") in (99, 100), "TTL after EX 100")
    true(99000 < c.call("PTTL", "ex") <= 100000, "PTTL after EX 100")
    eq(c.cmd("SET", "px", "v", "PX", "5500"), OK, "SET PX 5500")
    true(c.call("TTL", "px") in (5, 6), "TTL rounds ms to seconds")
    true(5000 < c.call("PTTL", "px") <= 5500, "PTTL after PX 5500")
    eq(c.cmd("SET", "exat", "v", "EXAT", str(FAR)), OK, "SET EXAT")
    eq(c.cmd("EXPIRETIME", "exat"), b":%d\r\n" % FAR, "EXPIRETIME after EXAT")
    eq(c.cmd("PEXPIRETIME", "exat"), b":%d\r\n" % (FAR * 1000), "PEXPIRETIME after EXAT")
    eq(c.cmd("SET", "pxat", "v", "PXAT", str(FAR * 1000 + 123)), OK, "SET PXAT")
    eq(c.cmd("PEXPIRETIME", "pxat"), b":%d\r\n" % (FAR * 1000 + 123), "PEXPIRETIME after PXAT")
    eq(c.cmd("EXPIRETIME", "pxat"), b":%d\r\n" % FAR, "EXPIRETIME rounds down")
    ttl = c.call("TTL", "exat")
    true(abs(ttl - (FAR - time.time())) < 5, f"TTL of an absolute time ({ttl})")
    r = s.redis()
    eq(r.ttl("ex") in (99, 100), True, "redis-py ttl")
    eq(r.pttl("nosuch"), -2, "redis-py pttl")


def test_expire_family_sets_relative_and_absolute_times(s):
    c = s.conn()
    c.pipeline([("SET", k, "v") for k in ("a", "b", "c", "d")])
    eq(c.cmd("EXPIRE", "a", "100"), b":1\r\n", "EXPIRE")
    true(c.call("TTL", "a") in (99, 100), "EXPIRE's TTL")
    eq(c.cmd("PEXPIRE", "b", "100000"), b":1\r\n", "PEXPIRE")
    true(99000 < c.call("PTTL", "b") <= 100000, "PEXPIRE's PTTL")
    eq(c.cmd("EXPIREAT", "c", str(FAR)), b":1\r\n", "EXPIREAT")
    eq(c.cmd("EXPIRETIME", "c"), b":%d\r\n" % FAR, "EXPIREAT's time")
    eq(c.cmd("PEXPIREAT", "d", str(FAR * 1000 + 7)), b":1\r\n", "PEXPIREAT")
    eq(c.cmd("PEXPIRETIME", "d"), b":%d\r\n" % (FAR * 1000 + 7), "PEXPIREAT's time")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        eq(c.cmd(cmd, "nosuch", "100"), b":0\r\n", f"{cmd} of a missing key")
        is_error(c.cmd(cmd, "a", "abc"), NOT_INT, f"{cmd} abc")
        is_error(c.cmd(cmd, "a", "100", "FOO"), "ERR Unsupported option FOO", f"{cmd} FOO")
    is_error(c.cmd("EXPIRE", "a", "9223372036854775807"),
             "ERR invalid expire time in 'expire' command")
    is_error(c.cmd("EXPIRE", "a", "-9223372036854775808"),
             "ERR invalid expire time in 'expire' command")
    is_error(c.cmd("PEXPIRE", "a", "9223372036854775807"),
             "ERR invalid expire time in 'pexpire' command")
    is_error(c.cmd("EXPIREAT", "a", "9223372036854775807"),
             "ERR invalid expire time in 'expireat' command")
    true(c.call("TTL", "a") in (99, 100), "refused EXPIREs changed nothing")


def test_expire_in_the_past_deletes_the_key(s):
    c = s.conn()
    for cmd, when in (("EXPIRE", "0"), ("EXPIRE", "-10"), ("PEXPIRE", "-1"), ("PEXPIRE", "0"),
                      ("EXPIREAT", "1"), ("PEXPIREAT", "1"),
                      ("EXPIREAT", str(int(time.time()) - 5))):
        c.cmd("SET", "k", "v")
        eq(c.cmd(cmd, "k", when), b":1\r\n", f"{cmd} k {when}")
        eq(c.cmd("EXISTS", "k"), b":0\r\n", f"{cmd} k {when} deleted it")
        eq(c.cmd("GET", "k"), NIL, "GET after")
    eq(c.cmd("SET", "k", "v", "PXAT", "1"), OK, "SET PXAT in the past")
    eq(c.cmd("GET", "k"), NIL, "is gone at once")
    eq(c.cmd("SET", "k", "v", "EXAT", "1"), OK, "SET EXAT in the past")
    eq(c.cmd("EXISTS", "k"), b":0\r\n", "is gone at once")
    eq(c.cmd("DBSIZE"), b":0\r\n", "nothing left")


def test_expire_nx_xx_gt_lt(s):
    c = s.conn()
    c.cmd("SET", "k", "v")
    # A key without a TTL: XX and GT do nothing (its TTL counts as infinite).
    eq(c.cmd("EXPIRE", "k", "100", "XX"), b":0\r\n", "XX without a TTL")
    eq(c.cmd("EXPIRE", "k", "100", "GT"), b":0\r\n", "GT without a TTL")
    eq(c.cmd("TTL", "k"), b":-1\r\n", "still no TTL")
    eq(c.cmd("EXPIRE", "k", "100", "LT"), b":1\r\n", "LT without a TTL sets one")
    eq(c.cmd("EXPIRE", "k", "100", "NX"), b":0\r\n", "NX with a TTL")
    eq(c.cmd("EXPIRE", "k", "200", "GT"), b":1\r\n", "GT with a larger time")
    true(c.call("TTL", "k") in (199, 200), "GT set it")
    eq(c.cmd("EXPIRE", "k", "50", "GT"), b":0\r\n", "GT with a smaller time")
    eq(c.cmd("EXPIRE", "k", "50", "LT"), b":1\r\n", "LT with a smaller time")
    eq(c.cmd("EXPIRE", "k", "500", "LT"), b":0\r\n", "LT with a larger time")
    eq(c.cmd("EXPIRE", "k", "60", "xx"), b":1\r\n", "XX with a TTL (lower case)")
    true(c.call("TTL", "k") in (59, 60), "XX set it")
    eq(c.cmd("PERSIST", "k"), b":1\r\n", "PERSIST")
    eq(c.cmd("EXPIRE", "k", "100", "NX"), b":1\r\n", "NX without a TTL")
    eq(c.cmd("PEXPIRE", "k", "300000", "GT"), b":1\r\n", "PEXPIRE GT")
    eq(c.cmd("EXPIREAT", "k", str(FAR), "LT"), b":0\r\n", "EXPIREAT LT with a later time")
    eq(c.cmd("PEXPIREAT", "k", str(now_ms() + 100000), "LT"), b":1\r\n", "PEXPIREAT LT")
    eq(c.cmd("EXPIRE", "nosuch", "10", "NX"), b":0\r\n", "NX on a missing key")
    for bad in (("NX", "XX"), ("NX", "GT"), ("NX", "LT"), ("XX", "NX")):
        is_error(c.cmd("EXPIRE", "k", "10", *bad),
                 "ERR NX and XX, GT or LT options at the same time are not compatible", str(bad))
    is_error(c.cmd("EXPIRE", "k", "10", "GT", "LT"),
             "ERR GT and LT options at the same time are not compatible")
    is_error(c.cmd("PEXPIRE", "k", "10", "LT", "GT"),
             "ERR GT and LT options at the same time are not compatible")


def test_persist_and_what_keeps_or_clears_a_ttl(s):
    c = s.conn()
    c.cmd("SET", "k", "v", "EX", "100")
    eq(c.cmd("PERSIST", "k"), b":1\r\n", "PERSIST a volatile key")
    eq(c.cmd("PERSIST", "k"), b":0\r\n", "PERSIST a persistent key")
    eq(c.cmd("PERSIST", "nosuch"), b":0\r\n", "PERSIST a missing key")
    eq(c.cmd("TTL", "k"), b":-1\r\n", "no TTL")
    # Kept by INCR, APPEND, SETRANGE, SET KEEPTTL, RENAME; cleared by SET, GETSET.
    for cmd in (("INCR", "n"), ("APPEND", "k", "x"), ("SETRANGE", "k", "0", "y"),
                ("SET", "k", "z", "KEEPTTL"), ("INCRBYFLOAT", "n", "1.5")):
        c.cmd("SET", "k", "1", "EX", "100")
        c.cmd("SET", "n", "1", "EX", "100")
        c.cmd(*cmd)
        true(c.call("TTL", cmd[1]) in (99, 100), f"{cmd[0]} keeps the TTL")
    for cmd in (("SET", "k", "w"), ("GETSET", "k", "w"), ("GETEX", "k", "PERSIST")):
        c.cmd("SET", "k", "1", "EX", "100")
        c.cmd(*cmd)
        eq(c.cmd("TTL", "k"), b":-1\r\n", f"{cmd[0]} clears the TTL")


def test_keys_are_gone_after_their_time(s):
    c = s.conn()
    c.pipeline([("SET", "set-px", "v", "PX", "250"),
                ("PSETEX", "psetex", "250", "v"),
                ("SET", "set-pxat", "v", "PXAT", str(now_ms() + 300)),
                ("SET", "pexpire", "v"), ("PEXPIRE", "pexpire", "250"),
                ("SET", "getex", "v"), ("GETEX", "getex", "PX", "250"),
                ("SET", "pexpireat", "v"), ("PEXPIREAT", "pexpireat", str(now_ms() + 300)),
                ("SET", "stays", "v", "PX", "60000")])
    keys = ["set-px", "psetex", "set-pxat", "pexpire", "getex", "pexpireat"]
    eq(c.cmd("EXISTS", *keys, "stays"), b":7\r\n", "all there at first")
    for key in keys:
        poll(lambda: c.cmd("GET", key) == NIL, f"{key} expires", timeout=5)
    for key in keys:
        eq(c.cmd("TTL", key), b":-2\r\n", f"TTL of expired {key}")
        eq(c.cmd("EXISTS", key), b":0\r\n", f"EXISTS of expired {key}")
    eq(c.cmd("GET", "stays"), b"$1\r\nv\r\n", "the 60 s key stays")
    # Expired keys are gone for every command, not just GET.
    c.cmd("SET", "x", "5", "PX", "100")
    poll(lambda: c.cmd("PTTL", "x") == b":-2\r\n", "x expires")
    eq(c.cmd("INCR", "x"), b":1\r\n", "INCR starts over on an expired key")
    eq(c.cmd("TTL", "x"), b":-1\r\n", "without the old TTL")
    c.cmd("SET", "y", "v", "PX", "100")
    poll(lambda: c.cmd("EXISTS", "y") == b":0\r\n", "y expires")
    eq(c.cmd("SET", "y", "w", "NX"), OK, "SET NX on an expired key")
    c.cmd("SET", "z", "v", "PX", "100")
    poll(lambda: c.cmd("TTL", "z") == b":-2\r\n", "z expires")
    is_error(c.cmd("RENAME", "z", "zz"), "ERR no such key")
    eq(c.cmd("KEYS", "z*"), b"*0\r\n", "KEYS does not list expired keys")


def test_active_expiry_removes_untouched_keys(s):
    c = s.conn()
    eq(c.cmd("CONFIG", "RESETSTAT"), OK, "CONFIG RESETSTAT")
    n = 1000
    replies = c.pipeline([("SET", f"ae:{i}", "v", "PX", "100") for i in range(n)])
    eq(set(replies), {OK}, f"{n} SETs with PX 100")
    c.pipeline([("SET", f"keep:{i}", "v") for i in range(10)])
    c.cmd("SET", "keep:ttl", "v", "EX", "1000")
    # Never touch the keys: only the server's own expiry cycle can remove them.
    poll(lambda: c.call("DBSIZE") == 11, "DBSIZE down to the 11 persistent keys",
         timeout=10, interval=0.05)
    ks = s.info("keyspace", c)["keyspace"]
    db0 = kvtest.keyspace_line(ks["db0"])
    eq((db0["keys"], db0["expires"]), (11, 1), "INFO keyspace after active expiry")
    stats = s.info("stats", c)["stats"]
    eq(int(stats["expired_keys"]), n, "INFO stats expired_keys")


def test_expiry_in_other_databases(s):
    c = s.conn()
    c.cmd("SELECT", "6")
    c.pipeline([("SET", f"e6:{i}", "v", "PX", "100") for i in range(100)])
    c.cmd("SET", "stay", "v")
    poll(lambda: c.call("DBSIZE") == 1, "db6's volatile keys expire", timeout=10, interval=0.05)
    eq(c.cmd("GET", "stay"), b"$1\r\nv\r\n", "the persistent one stays")


if __name__ == "__main__":
    kvtest.main()
