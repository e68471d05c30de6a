#!/usr/bin/python3
"""test_keys.py - the keyspace commands: DEL, UNLINK, EXISTS, TOUCH, TYPE,
KEYS, SCAN, RANDOMKEY, DBSIZE, FLUSHDB, FLUSHALL, RENAME, RENAMENX, COPY, and
the 16 databases: SELECT, SWAPDB, MOVE. Key sets are large enough (hundreds
of keys) to land on every shard of atoll-kv. Usage: see kvtest.py.
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, true  # noqa: E402

OK = b"+OK\r\n"
NIL = b"$-1\r\n"
NOT_INT = "ERR value is not an integer or out of range"
OUT_OF_RANGE = "ERR DB index is out of range"


def fill(c, keys, value=None):
    """SETs every key (value: the key itself) in one pipeline."""
    replies = c.pipeline([("SET", k, k if value is None else value) for k in keys])
    eq(set(replies), {OK}, f"SET {len(keys)} keys")


def scan_all(c, *options, limit=100000):
    """Every key SCAN returns, iterating from cursor 0 until it is 0 again
    (at most limit calls); returns (list of keys with repeats, calls)."""
    cursor, keys, calls = b"0", [], 0
    while True:
        reply = c.call("SCAN", cursor, *options)
        true(isinstance(reply, list) and len(reply) == 2 and isinstance(reply[1], list),
             f"SCAN reply is [cursor, keys]: {reply!r}"[:200])
        cursor = reply[0]
        true(cursor.isdigit(), f"cursor {cursor!r} is a decimal bulk string")
        keys.extend(reply[1])
        calls += 1
        if cursor == b"0":
            return keys, calls
        true(calls < limit, f"SCAN ends within {limit} calls")


def test_del_unlink_exists_touch_count_keys(s):
    c = s.conn()
    fill(c, ["a", "b", "c", "d"])
    eq(c.cmd("EXISTS", "a"), b":1\r\n", "EXISTS one")
    eq(c.cmd("EXISTS", "a", "b", "nosuch"), b":2\r\n", "EXISTS counts the existing ones")
    eq(c.cmd("EXISTS", "a", "a", "a"), b":3\r\n", "EXISTS counts a repeated key each time")
    eq(c.cmd("TOUCH", "a", "b", "nosuch", "a"), b":3\r\n", "TOUCH counts like EXISTS")
    eq(c.cmd("DEL", "a", "nosuch"), b":1\r\n", "DEL counts what it deleted")
    eq(c.cmd("DEL", "a"), b":0\r\n", "DEL of a deleted key")
    eq(c.cmd("DEL", "b", "b"), b":1\r\n", "DEL of a repeated key deletes once")
    eq(c.cmd("UNLINK", "c", "d", "nosuch"), b":2\r\n", "UNLINK")
    eq(c.cmd("EXISTS", "a", "b", "c", "d"), b":0\r\n", "all gone")
    eq(c.cmd("DBSIZE"), b":0\r\n", "DBSIZE 0")
    r = s.redis()
    r.set("py", 1)
    eq(r.exists("py", "nope"), 1, "redis-py exists")
    eq(r.unlink("py"), 1, "redis-py unlink")


def test_keys_matches_glob_patterns(s):
    c = s.conn()
    words = ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo", "foo*bar", "foo?bar",
             "fooxbar", "[x]", "x", "user:1", "user:2", "user:10", "User:3"]
    fill(c, words)
    for pattern, want in (("*", words), ("h?llo", ["hello", "hallo", "hxllo", "hbllo"]),
                          ("h*llo", ["hello", "hallo", "hxllo", "hllo", "heeeello", "hbllo"]),
                          ("h[ae]llo", ["hello", "hallo"]),
                          ("h[^e]llo", ["hallo", "hxllo", "hbllo"]),
                          ("h[a-b]llo", ["hallo", "hbllo"]),
                          ("foo\\*bar", ["foo*bar"]), ("foo\\?bar", ["foo?bar"]),
                          ("foo?bar", ["foo*bar", "foo?bar", "fooxbar"]),
                          ("\\[x\\]", ["[x]"]), ("user:*", ["user:1", "user:2", "user:10"]),
                          ("user:?", ["user:1", "user:2"]), ("nomatch*", []), ("x", ["x"])):
        got = c.call("KEYS", pattern)
        eq(sorted(got), sorted(w.encode() for w in want), f"KEYS {pattern}")


def test_keys_and_dbsize_see_every_shard(s):
    c = s.conn()
    keys = [f"k:{i}" for i in range(1000)]
    fill(c, keys)
    eq(c.cmd("DBSIZE"), b":1000\r\n", "DBSIZE")
    eq(sorted(c.call("KEYS", "*")), sorted(k.encode() for k in keys), "KEYS *")
    eq(sorted(c.call("KEYS", "k:1*")), sorted(k.encode() for k in keys if k.startswith("k:1")),
       "KEYS k:1*")
    eq(len(s.redis().keys("k:*")), 1000, "redis-py keys")


def test_scan_iterates_the_whole_keyspace(s):
    c = s.conn()
    keys = {f"scan:{i}".encode() for i in range(1000)} | {f"other:{i}".encode() for i in range(200)}
    fill(c, sorted(keys))
    dbsize = c.call("DBSIZE")
    eq(dbsize, 1200, "DBSIZE")
    got, calls = scan_all(c)
    eq(set(got), keys, "SCAN returns every key")
    eq(len(set(got)), dbsize, "SCAN's distinct keys == DBSIZE")
    true(calls > 1, f"SCAN without COUNT takes several calls for 1200 keys ({calls})")
    got, big_calls = scan_all(c, "COUNT", "1000")
    eq(set(got), keys, "SCAN COUNT 1000")
    got, small_calls = scan_all(c, "COUNT", "7")
    eq(set(got), keys, "SCAN COUNT 7")
    true(small_calls > big_calls, f"COUNT 7 takes more calls ({small_calls}) than COUNT 1000 "
         f"({big_calls}): COUNT sizes the batches")
    got, _ = scan_all(c, "MATCH", "scan:1*", "COUNT", "50")
    eq(set(got), {k for k in keys if k.startswith(b"scan:1")}, "SCAN MATCH scan:1* COUNT 50")
    got, _ = scan_all(c, "MATCH", "nomatch*")
    eq(got, [], "SCAN MATCH with no match")
    eq({k for k in s.redis().scan_iter(match="other:*", count=30)},
       {k for k in keys if k.startswith(b"other:")}, "redis-py scan_iter")
    is_error(c.cmd("SCAN", "abc"), "ERR invalid cursor")
    is_error(c.cmd("SCAN", "0", "COUNT", "0"), "ERR syntax error")
    is_error(c.cmd("SCAN", "0", "COUNT", "abc"), NOT_INT)
    is_error(c.cmd("SCAN", "0", "FOO"), "ERR syntax error")
    is_error(c.cmd("SCAN", "0", "MATCH"), "ERR syntax error")
    eq(c.cmd("SELECT", "4"), OK, "SELECT 4")
    eq(c.cmd("SCAN", "0"), b"*2\r\n$1\r\n0\r\n*0\r\n", "SCAN of an empty database")
    fill(c, ["db4:a", "db4:b"])
    got, _ = scan_all(c)
    eq(sorted(got), [b"db4:a", b"db4:b"], "SCAN sees only the selected database")


def test_scan_returns_keys_that_stay_while_others_change(s):
    # SCAN's guarantee: a key present for the whole iteration is returned.
    c = s.conn()
    stable = {f"stable:{i}".encode() for i in range(600)}
    churn = [f"churn:{i}" for i in range(600)]
    fill(c, sorted(stable))
    fill(c, churn)
    stop = threading.Event()
    errors = []

    def writer():
        try:
            w = kvtest.Conn(s.port)
            i = 0
            while not stop.is_set() and i < 3000:  # bounded: the scan must catch up
                w.pipeline([("DEL", churn[i % 600]), ("SET", f"new:{i}", "x")])
                i += 1
            w.close()
        except Exception as e:  # reported below
            errors.append(e)

    t = threading.Thread(target=writer)
    t.start()
    try:
        got, _ = scan_all(c, "COUNT", "5")
    finally:
        stop.set()
        t.join(kvtest.TIMEOUT)
    eq(errors, [], "the writer had no errors")
    eq(stable - set(got), set(), "every stable key was returned during changes")


def test_randomkey_returns_existing_keys(s):
    c = s.conn()
    eq(c.cmd("RANDOMKEY"), NIL, "RANDOMKEY of an empty database")
    c.cmd("SET", "only", "1")
    eq(c.cmd("RANDOMKEY"), b"$4\r\nonly\r\n", "RANDOMKEY of one key")
    keys = {f"r:{i}".encode() for i in range(8)}
    fill(c, sorted(keys))
    keys.add(b"only")
    seen = set()
    for _ in range(300):
        k = c.call("RANDOMKEY")
        true(k in keys, f"RANDOMKEY returned an existing key ({k!r})")
        seen.add(k)
    true(len(seen) >= 5, f"300 RANDOMKEYs over 9 keys saw several of them ({len(seen)})")
    is_error(c.cmd("RANDOMKEY", "x"), "ERR wrong number of arguments for 'randomkey' command")


def test_dbsize_flushdb_flushall(s):
    c = s.conn()
    fill(c, [f"db0:{i}" for i in range(300)])
    c.cmd("SELECT", "3")
    fill(c, [f"db3:{i}" for i in range(50)])
    eq(c.cmd("DBSIZE"), b":50\r\n", "DBSIZE db3")
    c.cmd("SELECT", "0")
    eq(c.cmd("DBSIZE"), b":300\r\n", "DBSIZE db0")
    eq(c.cmd("FLUSHDB"), OK, "FLUSHDB")
    eq(c.cmd("DBSIZE"), b":0\r\n", "db0 empty")
    eq(c.cmd("KEYS", "*"), b"*0\r\n", "no keys in db0")
    c.cmd("SELECT", "3")
    eq(c.cmd("DBSIZE"), b":50\r\n", "FLUSHDB left db3 alone")
    c.cmd("SELECT", "0")
    fill(c, [f"db0:{i}" for i in range(10)])
    eq(c.cmd("FLUSHDB", "ASYNC"), OK, "FLUSHDB ASYNC")
    eq(c.cmd("DBSIZE"), b":0\r\n", "db0 empty after ASYNC")
    eq(c.cmd("FLUSHDB", "SYNC"), OK, "FLUSHDB SYNC")
    eq(c.cmd("FLUSHALL"), OK, "FLUSHALL")
    c.cmd("SELECT", "3")
    eq(c.cmd("DBSIZE"), b":0\r\n", "FLUSHALL emptied db3")
    eq(c.cmd("FLUSHALL", "ASYNC"), OK, "FLUSHALL ASYNC")
    eq(c.cmd("FLUSHALL", "SYNC"), OK, "FLUSHALL SYNC")
    is_error(c.cmd("FLUSHDB", "FOO"), "ERR syntax error")
    is_error(c.cmd("FLUSHALL", "FOO"), "ERR syntax error")
    is_error(c.cmd("DBSIZE", "x"), "ERR wrong number of arguments for 'dbsize' command")


def test_select_switches_between_16_databases(s):
    c = s.conn()
    for db in range(16):
        eq(c.cmd("SELECT", str(db)), OK, f"SELECT {db}")
        eq(c.cmd("SET", "same-name", f"value {db}"), OK, f"SET in db {db}")
    for db in range(16):
        c.cmd("SELECT", str(db))
        eq(c.cmd("GET", "same-name"), b"$%d\r\nvalue %d\r\n" % (len(f"value {db}"), db),
           f"db {db} has its own value")
        eq(c.cmd("DBSIZE"), b":1\r\n", f"DBSIZE of db {db}")
    is_error(c.cmd("SELECT", "16"), OUT_OF_RANGE)
    is_error(c.cmd("SELECT", "-1"), OUT_OF_RANGE)
    is_error(c.cmd("SELECT", "abc"), NOT_INT)
    eq(c.cmd("GET", "same-name"), b"$8\r\nvalue 15\r\n", "a refused SELECT keeps the database")


def test_swapdb_exchanges_two_databases(s):
    c = s.conn()
    fill(c, [f"a:{i}" for i in range(100)])
    c.cmd("SET", "ttl", "v", "EX", "1000")
    c.cmd("SELECT", "1")
    fill(c, [f"b:{i}" for i in range(30)])
    eq(c.cmd("SWAPDB", "0", "1"), OK, "SWAPDB 0 1")
    eq(c.cmd("DBSIZE"), b":101\r\n", "db1 now has db0's keys")
    eq(c.call("TTL", "ttl") in (999, 1000), True, "the TTL moved along")
    eq(sorted(c.call("KEYS", "b:*")), [], "db1 lost its own keys")
    other = s.conn()
    eq(other.cmd("DBSIZE"), b":30\r\n", "another client on db0 sees db1's old keys")
    eq(other.cmd("GET", "b:7"), b"$3\r\nb:7\r\n", "and their values")
    eq(c.cmd("SWAPDB", "1", "0"), OK, "SWAPDB back")
    eq(other.cmd("DBSIZE"), b":101\r\n", "swapped back")
    eq(c.cmd("SWAPDB", "0", "0"), OK, "SWAPDB 0 0")
    eq(c.cmd("SWAPDB", "5", "15"), OK, "SWAPDB of two empty databases")
    is_error(c.cmd("SWAPDB", "0", "16"), OUT_OF_RANGE)
    is_error(c.cmd("SWAPDB", "-1", "0"), OUT_OF_RANGE)
    is_error(c.cmd("SWAPDB", "a", "1"), "ERR invalid first DB index")
    is_error(c.cmd("SWAPDB", "0", "a"), "ERR invalid second DB index")


def test_move_between_databases(s):
    c = s.conn()
    keys = [f"m:{i}" for i in range(50)]
    fill(c, keys)
    c.cmd("EXPIRE", "m:0", "1000")
    for k in keys:
        eq(c.cmd("MOVE", k, "7"), b":1\r\n", f"MOVE {k} 7")
    eq(c.cmd("DBSIZE"), b":0\r\n", "db0 empty")
    c.cmd("SELECT", "7")
    eq(c.cmd("DBSIZE"), b":50\r\n", "db7 has them")
    eq(c.cmd("GET", "m:3"), b"$3\r\nm:3\r\n", "with their values")
    eq(c.call("TTL", "m:0") in (999, 1000), True, "and their TTL")
    c.cmd("SELECT", "0")
    c.cmd("SET", "m:1", "db0's")
    eq(c.cmd("MOVE", "m:1", "7"), b":0\r\n", "MOVE onto an existing key")
    eq(c.cmd("GET", "m:1"), b"$5\r\ndb0's\r\n", "the source stays")
    eq(c.cmd("MOVE", "nosuch", "7"), b":0\r\n", "MOVE of a missing key")
    is_error(c.cmd("MOVE", "m:1", "0"), "ERR source and destination objects are the same")
    is_error(c.cmd("MOVE", "m:1", "16"), OUT_OF_RANGE)
    is_error(c.cmd("MOVE", "m:1", "abc"), NOT_INT)


def test_rename_and_renamenx(s):
    c = s.conn()
    c.cmd("SET", "src", "v")
    c.cmd("EXPIRE", "src", "1000")
    eq(c.cmd("RENAME", "src", "dst"), OK, "RENAME")
    eq((c.cmd("EXISTS", "src"), c.cmd("GET", "dst")), (b":0\r\n", b"$1\r\nv\r\n"), "moved")
    eq(c.call("TTL", "dst") in (999, 1000), True, "RENAME keeps the TTL")
    c.cmd("SET", "other", "w")
    eq(c.cmd("RENAME", "other", "dst"), OK, "RENAME onto an existing key")
    eq(c.cmd("GET", "dst"), b"$1\r\nw\r\n", "overwritten")
    eq(c.cmd("TTL", "dst"), b":-1\r\n", "the target's TTL went with its value")
    eq(c.cmd("RENAME", "dst", "dst"), OK, "RENAME onto itself")
    eq(c.cmd("GET", "dst"), b"$1\r\nw\r\n", "unchanged")
    is_error(c.cmd("RENAME", "nosuch", "x"), "ERR no such key")
    is_error(c.cmd("RENAME", "nosuch", "nosuch"), "ERR no such key")
    c.cmd("SET", "a", "1")
    eq(c.cmd("RENAMENX", "a", "dst"), b":0\r\n", "RENAMENX onto an existing key")
    eq((c.cmd("GET", "a"), c.cmd("GET", "dst")), (b"$1\r\n1\r\n", b"$1\r\nw\r\n"), "both unchanged")
    eq(c.cmd("RENAMENX", "a", "b"), b":1\r\n", "RENAMENX onto a new key")
    eq((c.cmd("EXISTS", "a"), c.cmd("GET", "b")), (b":0\r\n", b"$1\r\n1\r\n"), "moved")
    eq(c.cmd("RENAMENX", "b", "b"), b":0\r\n", "RENAMENX onto itself")
    is_error(c.cmd("RENAMENX", "nosuch", "x"), "ERR no such key")


def test_copy_within_and_between_databases(s):
    c = s.conn()
    c.cmd("SET", "src", "v")
    c.cmd("PEXPIRE", "src", "1000000")
    eq(c.cmd("COPY", "src", "dst"), b":1\r\n", "COPY")
    eq((c.cmd("GET", "src"), c.cmd("GET", "dst")), (b"$1\r\nv\r\n",) * 2, "both have it")
    eq(c.call("PTTL", "dst") > 990000, True, "COPY copies the TTL")
    c.cmd("SET", "src", "w")
    eq(c.cmd("COPY", "src", "dst"), b":0\r\n", "COPY onto an existing key")
    eq(c.cmd("GET", "dst"), b"$1\r\nv\r\n", "not replaced")
    eq(c.cmd("COPY", "src", "dst", "REPLACE"), b":1\r\n", "COPY REPLACE")
    eq(c.cmd("GET", "dst"), b"$1\r\nw\r\n", "replaced")
    eq(c.cmd("TTL", "dst"), b":-1\r\n", "and the TTL with it")
    eq(c.cmd("COPY", "nosuch", "dst"), b":0\r\n", "COPY of a missing key")
    eq(c.cmd("COPY", "src", "src2", "DB", "5"), b":1\r\n", "COPY DB 5")
    eq(c.cmd("EXISTS", "src2"), b":0\r\n", "not in db0")
    eq(c.cmd("COPY", "src", "src", "DB", "5"), b":1\r\n", "COPY to the same name in another db")
    eq(c.cmd("COPY", "src", "src", "DB", "5"), b":0\r\n", "again: it exists there")
    c.cmd("SELECT", "5")
    eq((c.cmd("GET", "src2"), c.cmd("GET", "src")), (b"$1\r\nw\r\n",) * 2, "db5 has both")
    c.cmd("SELECT", "0")
    is_error(c.cmd("COPY", "src", "src"), "ERR source and destination objects are the same")
    is_error(c.cmd("COPY", "src", "x", "DB", "16"), OUT_OF_RANGE)
    is_error(c.cmd("COPY", "src", "x", "DB", "abc"), NOT_INT)
    is_error(c.cmd("COPY", "src", "x", "FOO"), "ERR syntax error")


if __name__ == "__main__":
    kvtest.main()
