#!/usr/bin/python3
"""test_multishard.py - commands whose keys land on several shards of
atoll-kv: MGET, MSET, DEL, EXISTS, TOUCH, UNLINK over hundreds of keys
(replies in request order), MSETNX all-or-nothing, RENAME, RENAMENX, COPY and
LCS over many key pairs (most pairs span two shards), and a redis-py pipeline
of 1000 mixed commands. Against Redis (one shard) the same checks hold: the
point is that sharding is invisible. Usage: see kvtest.py.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, true  # noqa: E402

OK = b"+OK\r\n"
NIL = b"$-1\r\n"


def bulk(v):
    if isinstance(v, str):
        v = v.encode()
    return b"$%d\r\n%s\r\n" % (len(v), v)


def lcs(a, b):
    """The LCS string Redis returns (its backtracking order) and its length."""
    n, m = len(a), len(b)
    dp = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dp[i][j] = dp[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(dp[i - 1][j],
                                                                              dp[i][j - 1])
    out, i, j = [], n, m
    while i > 0 and j > 0:
        if a[i - 1] == b[j - 1]:
            out.append(a[i - 1])
            i, j = i - 1, j - 1
        elif dp[i - 1][j] > dp[i][j - 1]:
            i -= 1
        else:
            j -= 1
    return bytes(reversed(out)), dp[n][m]


def test_mset_mget_keep_request_order_over_many_keys(s):
    c = s.conn()
    keys = [f"mk:{i}" for i in range(200)]
    args = []
    for k in keys:
        args += [k, f"value of {k}"]
    eq(c.cmd("MSET", *args), OK, "MSET 200 keys")
    # Interleave missing keys and repeats, so every shard's part of the reply
    # must go back to its place.
    ask = []
    for i, k in enumerate(keys):
        ask.append(k)
        if i % 3 == 0:
            ask.append(f"missing:{i}")
        if i % 7 == 0:
            ask.append(keys[(i * 13) % 200])
    want = b"*%d\r\n" % len(ask) + b"".join(
        NIL if k.startswith("missing:") else bulk(f"value of {k}") for k in ask)
    eq(c.cmd("MGET", *ask), want, f"MGET of {len(ask)} keys, missing and repeated ones included")
    eq(c.cmd("MGET", "missing:a", "missing:b"), b"*2\r\n$-1\r\n$-1\r\n", "MGET of missing keys")
    eq(c.cmd("MSET", "dup", "1", "x", "y", "dup", "2"), OK, "MSET with a repeated key")
    eq(c.cmd("GET", "dup"), bulk("2"), "the last value of a repeated key wins")
    is_error(c.cmd("MSET", "a", "1", "b"), "ERR wrong number of arguments for 'mset' command")
    is_error(c.cmd("MSET", "a"), "ERR wrong number of arguments for 'mset' command")
    r = s.redis()
    eq(r.mget(keys), [f"value of {k}".encode() for k in keys], "redis-py mget 200 keys")
    eq(r.mset({f"py:{i}": i for i in range(300)}), True, "redis-py mset 300 keys")
    eq(r.mget([f"py:{i}" for i in range(300)]), [str(i).encode() for i in range(300)],
       "redis-py mget 300 keys")


def test_binary_keys_across_shards(s):
    c = s.conn()
    rng = random.Random(7)
    keys = [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40))) for _ in range(200)]
    keys = list(dict.fromkeys(keys))
    args = []
    for k in keys:
        args += [k, k[::-1] + b"\r\n"]
    eq(c.cmd("MSET", *args), OK, "MSET binary keys")
    want = b"*%d\r\n" % len(keys) + b"".join(bulk(k[::-1] + b"\r\n") for k in keys)
    eq(c.cmd("MGET", *keys), want, "MGET binary keys")
    eq(c.cmd("EXISTS", *keys), b":%d\r\n" % len(keys), "EXISTS binary keys")
    eq(c.cmd("DEL", *keys), b":%d\r\n" % len(keys), "DEL binary keys")


def test_del_exists_touch_unlink_count_over_many_keys(s):
    c = s.conn()
    keys = [f"dk:{i}" for i in range(200)]
    c.cmd("MSET", *[x for k in keys for x in (k, "v")])
    missing = [f"none:{i}" for i in range(50)]
    mixed = keys + missing
    random.Random(1).shuffle(mixed)
    eq(c.cmd("EXISTS", *mixed), b":200\r\n", "EXISTS 200 of 250")
    eq(c.cmd("EXISTS", *keys, *keys[:30]), b":230\r\n", "EXISTS counts repeats")
    eq(c.cmd("TOUCH", *mixed), b":200\r\n", "TOUCH 200 of 250")
    eq(c.cmd("DEL", *mixed[:125]), b":%d\r\n" % sum(k.startswith("dk:") for k in mixed[:125]),
       "DEL of the first half")
    left = [k for k in keys if k not in set(mixed[:125])]
    eq(c.cmd("EXISTS", *keys), b":%d\r\n" % len(left), "EXISTS after DEL")
    eq(c.cmd("DBSIZE"), b":%d\r\n" % len(left), "DBSIZE after DEL")
    eq(c.cmd("UNLINK", *mixed[125:], *left[:5]), b":%d\r\n" % len(left), "UNLINK the rest")
    eq(c.cmd("DBSIZE"), b":0\r\n", "empty")
    r = s.redis()
    r.mset({f"r:{i}": i for i in range(200)})
    eq(r.delete(*[f"r:{i}" for i in range(0, 200, 2)]), 100, "redis-py delete 100 keys")
    eq(r.exists(*[f"r:{i}" for i in range(200)]), 100, "redis-py exists")


def test_mget_and_mset_in_another_database(s):
    c = s.conn()
    c.cmd("SELECT", "11")
    keys = [f"d11:{i}" for i in range(100)]
    eq(c.cmd("MSET", *[x for k in keys for x in (k, k)]), OK, "MSET in db11")
    eq(c.cmd("MGET", *keys), b"*100\r\n" + b"".join(bulk(k) for k in keys), "MGET in db11")
    c0 = s.conn()
    eq(c0.cmd("EXISTS", *keys), b":0\r\n", "db0 has none of them")
    eq(c0.cmd("DBSIZE"), b":0\r\n", "db0 is empty")
    eq(c.cmd("DEL", *keys), b":100\r\n", "DEL in db11")


def test_msetnx_is_all_or_nothing_across_shards(s):
    c = s.conn()
    keys = [f"nx:{i}" for i in range(200)]
    eq(c.cmd("MSETNX", *[x for k in keys for x in (k, "first")]), b":1\r\n", "MSETNX of new keys")
    eq(c.cmd("MGET", *keys), b"*200\r\n" + bulk("first") * 200, "all set")
    for trial in range(20):
        fresh = [f"nx{trial}:{i}" for i in range(200)]
        blocker = keys[(trial * 37) % 200]
        pos = (trial * 53) % 201
        batch = fresh[:pos] + [blocker] + fresh[pos:]
        eq(c.cmd("MSETNX", *[x for k in batch for x in (k, "second")]), b":0\r\n",
           f"MSETNX with one existing key at position {pos}")
        eq(c.cmd("EXISTS", *fresh), b":0\r\n", f"trial {trial}: none of the new keys was set")
        eq(c.cmd("GET", blocker), bulk("first"), "the existing key is unchanged")
    eq(c.cmd("DBSIZE"), b":200\r\n", "only the first 200 keys exist")
    eq(c.cmd("MSETNX", "same", "1", "same", "2"), b":1\r\n", "MSETNX with a repeated new key")
    eq(c.cmd("GET", "same"), bulk("2"), "the last value wins")
    is_error(c.cmd("MSETNX", "a", "1", "b"), "ERR wrong number of arguments for 'msetnx' command")
    eq(s.redis().msetnx({"nx:0": "x", "py:new": "y"}), False, "redis-py msetnx")
    eq(s.redis().exists("py:new"), 0, "redis-py msetnx set nothing")


def test_rename_and_renamenx_across_shards(s):
    c = s.conn()
    pairs = [(f"src:{i}", f"dst:{i}") for i in range(100)]
    cmds = []
    for i, (a, _) in enumerate(pairs):
        cmds.append(("SET", a, f"v{i}"))
        if i % 2:
            cmds.append(("EXPIRE", a, "1000"))
    c.pipeline(cmds)
    for i, (a, b) in enumerate(pairs):
        eq(c.cmd("RENAME", a, b), OK, f"RENAME {a} {b}")
    eq(c.cmd("EXISTS", *[a for a, _ in pairs]), b":0\r\n", "the sources are gone")
    eq(c.cmd("MGET", *[b for _, b in pairs]),
       b"*100\r\n" + b"".join(bulk(f"v{i}") for i in range(100)), "the targets have the values")
    for i, (_, b) in enumerate(pairs):
        ttl = c.call("TTL", b)
        true(ttl in (999, 1000) if i % 2 else ttl == -1, f"TTL of {b} came along ({ttl})")
    # Onto existing targets with a TTL: the source's value and TTL (none) win.
    c.pipeline([("SET", f"new:{i}", f"n{i}") for i in range(100)])
    c.pipeline([("EXPIRE", b, "500") for _, b in pairs])
    for i, (_, b) in enumerate(pairs):
        eq(c.cmd("RENAME", f"new:{i}", b), OK, f"RENAME onto {b}")
        eq(c.cmd("TTL", b), b":-1\r\n", f"{b} lost its old TTL")
    eq(c.cmd("MGET", *[b for _, b in pairs]),
       b"*100\r\n" + b"".join(bulk(f"n{i}") for i in range(100)), "overwritten")
    c.pipeline([("SET", f"nx:{i}", f"x{i}") for i in range(100)])
    for i, (_, b) in enumerate(pairs):
        eq(c.cmd("RENAMENX", f"nx:{i}", b), b":0\r\n", f"RENAMENX onto existing {b}")
    eq(c.cmd("EXISTS", *[f"nx:{i}" for i in range(100)]), b":100\r\n", "sources stay")
    for i in range(100):
        eq(c.cmd("RENAMENX", f"nx:{i}", f"free:{i}"), b":1\r\n", f"RENAMENX nx:{i} free:{i}")
    eq(c.cmd("MGET", *[f"free:{i}" for i in range(100)]),
       b"*100\r\n" + b"".join(bulk(f"x{i}") for i in range(100)), "RENAMENX moved them")
    eq(c.cmd("EXISTS", *[f"nx:{i}" for i in range(100)]), b":0\r\n", "and removed the sources")
    eq(c.cmd("DBSIZE"), b":200\r\n", "dst:* and free:*")


def test_copy_across_shards(s):
    c = s.conn()
    c.pipeline([("SET", f"c:{i}", f"v{i}", "PX", "1000000") for i in range(100)])
    for i in range(100):
        eq(c.cmd("COPY", f"c:{i}", f"copy:{i}"), b":1\r\n", f"COPY c:{i}")
    eq(c.cmd("MGET", *[f"copy:{i}" for i in range(100)]),
       b"*100\r\n" + b"".join(bulk(f"v{i}") for i in range(100)), "copied values")
    for i in range(0, 100, 9):
        true(c.call("PTTL", f"copy:{i}") > 990000, f"copy:{i} has the TTL")
    c.pipeline([("SET", f"c:{i}", f"w{i}") for i in range(100)])
    for i in range(100):
        eq(c.cmd("COPY", f"c:{i}", f"copy:{i}"), b":0\r\n", f"COPY onto existing copy:{i}")
    eq(c.cmd("GET", "copy:5"), bulk("v5"), "not replaced")
    for i in range(100):
        eq(c.cmd("COPY", f"c:{i}", f"copy:{i}", "REPLACE"), b":1\r\n", f"COPY REPLACE copy:{i}")
        eq(c.cmd("TTL", f"copy:{i}"), b":-1\r\n", f"copy:{i} took the source's (no) TTL")
    eq(c.cmd("MGET", *[f"copy:{i}" for i in range(100)]),
       b"*100\r\n" + b"".join(bulk(f"w{i}") for i in range(100)), "replaced values")
    for i in range(100):
        eq(c.cmd("COPY", f"c:{i}", f"other:{i}", "DB", "3"), b":1\r\n", f"COPY c:{i} DB 3")
    c.cmd("SELECT", "3")
    eq(c.cmd("MGET", *[f"other:{i}" for i in range(100)]),
       b"*100\r\n" + b"".join(bulk(f"w{i}") for i in range(100)), "copied into db3")
    eq(c.cmd("DBSIZE"), b":100\r\n", "db3 has 100 keys")


def test_lcs_across_shards(s):
    c = s.conn()
    rng = random.Random(42)
    for i in range(60):
        a = bytes(rng.choice(b"abcde") for _ in range(rng.randrange(0, 60)))
        b = bytes(rng.choice(b"abcde") for _ in range(rng.randrange(0, 60)))
        c.cmd("MSET", f"la:{i}", a, f"lb:{i}", b)
        string, length = lcs(a, b)
        eq(c.cmd("LCS", f"la:{i}", f"lb:{i}"), bulk(string), f"LCS la:{i} lb:{i}")
        eq(c.cmd("LCS", f"la:{i}", f"lb:{i}", "LEN"), b":%d\r\n" % length, f"LCS LEN pair {i}")
        idx = c.call("LCS", f"la:{i}", f"lb:{i}", "IDX", "WITHMATCHLEN")
        eq(idx[0::2], [b"matches", b"len"], f"LCS IDX pair {i}: keys")
        eq(idx[3], length, f"LCS IDX pair {i}: len")
        eq(sum(m[2] for m in idx[1]), length, f"LCS IDX pair {i}: match lengths add up")
        for (a0, a1), (b0, b1), n in idx[1]:
            eq(a[a0:a1 + 1], b[b0:b1 + 1], f"LCS IDX pair {i}: a match is the same bytes")
    c.cmd("SET", "only-a", "abc")
    eq(c.cmd("LCS", "only-a", "missing"), b"$0\r\n\r\n", "LCS with a missing key")


def test_pipeline_of_1000_mixed_commands(s):
    r = s.redis()
    p = r.pipeline(transaction=False)
    want, counters, values = [], {}, {}
    for i in range(1000):
        kind = i % 5
        if kind == 0:
            p.set(f"p:{i}", f"value {i}")
            values[f"p:{i}"] = f"value {i}".encode()
            want.append(True)
        elif kind == 1:
            p.get(f"p:{i - 1}")
            want.append(values[f"p:{i - 1}"])
        elif kind == 2:
            key = f"pc:{i % 13}"
            counters[key] = counters.get(key, 0) + 1
            p.incr(key)
            want.append(counters[key])
        elif kind == 3:
            p.exists(f"p:{i - 3}", f"nosuch:{i}")
            want.append(1)
        else:
            p.mget(f"p:{i - 4}", f"nosuch:{i}", f"p:{i - 4 - 5 * (i % 3)}" if i >= 14 else "x")
            want.append([values[f"p:{i - 4}"], None,
                         values.get(f"p:{i - 4 - 5 * (i % 3)}") if i >= 14 else None])
    got = p.execute()
    eq(len(got), 1000, "1000 replies")
    for i, (g, w) in enumerate(zip(got, want)):
        eq(g, w, f"reply {i}")
    eq(r.dbsize(), 200 + 13, "DBSIZE after the pipeline")


if __name__ == "__main__":
    kvtest.main()
