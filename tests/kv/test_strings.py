#!/usr/bin/python3
"""test_strings.py - the string commands on single keys: GET, SET and its
options, SETNX, SETEX, PSETEX, GETSET, GETDEL, GETEX, APPEND, STRLEN, the
INCR/DECR family, INCRBYFLOAT, GETRANGE, SETRANGE, SUBSTR, LCS, TYPE and
OBJECT ENCODING, with their exact error replies. The multi-key ones across
shards are in test_multishard.py, expiry in test_expire.py. Usage: see
kvtest.py.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, only  # noqa: E402

NOT_INT = "ERR value is not an integer or out of range"
SYNTAX = "ERR syntax error"


def bulk(v):
    if isinstance(v, str):
        v = v.encode()
    return b"$%d\r\n%s\r\n" % (len(v), v)


NIL = b"$-1\r\n"
OK = b"+OK\r\n"


def test_set_and_get_are_binary_safe(s):
    c = s.conn()
    every_byte = bytes(range(256)) * 4 + b"\r\n"
    eq(c.cmd("SET", every_byte, every_byte), OK, "SET binary key and value")
    eq(c.cmd("GET", every_byte), bulk(every_byte), "GET binary")
    eq(c.cmd("SET", "empty", ""), OK, "SET empty value")
    eq(c.cmd("GET", "empty"), b"$0\r\n\r\n", "GET empty value")
    eq(c.cmd("SET", "", "empty key"), OK, "SET empty key")
    eq(c.cmd("GET", ""), bulk("empty key"), "GET empty key")
    big = os.urandom(3 << 20)
    eq(c.cmd("SET", "big", big), OK, "SET 3 MiB")
    eq(c.cmd("GET", "big"), bulk(big), "GET 3 MiB")
    eq(c.cmd("STRLEN", "big"), b":%d\r\n" % len(big), "STRLEN 3 MiB")
    eq(c.cmd("GET", "nosuch"), NIL, "GET missing")
    eq(c.cmd("SET", "k", "v1"), OK, "SET")
    eq(c.cmd("SET", "k", "v2"), OK, "SET overwrites")
    eq(c.cmd("get", "k"), bulk("v2"), "lower-case get")
    r = s.redis()
    eq(r.set("py", b"\x00\xff"), True, "redis-py set")
    eq(r.get("py"), b"\x00\xff", "redis-py get")


def test_set_options_nx_xx_get_keepttl(s):
    c = s.conn()
    eq(c.cmd("SET", "k", "a", "NX"), OK, "SET NX on a new key")
    eq(c.cmd("SET", "k", "b", "NX"), NIL, "SET NX on an existing key")
    eq(c.cmd("GET", "k"), bulk("a"), "NX left the value")
    eq(c.cmd("SET", "x", "a", "XX"), NIL, "SET XX on a new key")
    eq(c.cmd("EXISTS", "x"), b":0\r\n", "XX created nothing")
    eq(c.cmd("SET", "k", "c", "xx"), OK, "SET XX on an existing key")
    eq(c.cmd("SET", "k", "d", "GET"), bulk("c"), "SET GET returns the old value")
    eq(c.cmd("SET", "new", "d", "GET"), NIL, "SET GET on a new key")
    eq(c.cmd("GET", "new"), bulk("d"), "SET GET set it")
    eq(c.cmd("SET", "k", "e", "NX", "GET"), bulk("d"), "SET NX GET on an existing key")
    eq(c.cmd("GET", "k"), bulk("d"), "NX GET left the value")
    eq(c.cmd("SET", "k2", "e", "NX", "GET"), NIL, "SET NX GET on a new key")
    eq(c.cmd("GET", "k2"), bulk("e"), "NX GET set it")
    eq(c.cmd("SET", "k3", "f", "XX", "GET"), NIL, "SET XX GET on a new key")
    eq(c.cmd("EXISTS", "k3"), b":0\r\n", "XX GET created nothing")
    eq(c.cmd("SET", "t", "v", "EX", "100"), OK, "SET EX")
    eq(c.cmd("SET", "t", "w", "KEEPTTL"), OK, "SET KEEPTTL")
    ttl = c.call("TTL", "t")
    eq(ttl in (99, 100), True, f"KEEPTTL kept the TTL ({ttl})")
    eq(c.cmd("SET", "t", "x"), OK, "plain SET")
    eq(c.cmd("TTL", "t"), b":-1\r\n", "plain SET clears the TTL")
    for bad in (("NX", "XX"), ("EX", "10", "PX", "100"), ("KEEPTTL", "EX", "10"),
                ("EX", "10", "EXAT", "4102444800"), ("PXAT", "1", "KEEPTTL"), ("FOO",),
                ("EX",), ("NX", "NX", "XX")):
        is_error(c.cmd("SET", "k", "v", *bad), SYNTAX, f"SET k v {' '.join(bad)}")
    is_error(c.cmd("SET", "k", "v", "EX", "abc"), NOT_INT)
    for bad in (("EX", "0"), ("EX", "-5"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-1"),
                ("EX", "9223372036854775807"), ("PX", "9223372036854775807")):
        is_error(c.cmd("SET", "k", "v", *bad), "ERR invalid expire time in 'set' command",
                 f"SET k v {' '.join(bad)}")
    eq(c.cmd("GET", "k"), bulk("d"), "refused SETs changed nothing")
    is_error(c.cmd("SET", "k"), "ERR wrong number of arguments for 'set' command")


def test_setnx_setex_psetex(s):
    c = s.conn()
    eq(c.cmd("SETNX", "k", "a"), b":1\r\n", "SETNX new")
    eq(c.cmd("SETNX", "k", "b"), b":0\r\n", "SETNX existing")
    eq(c.cmd("GET", "k"), bulk("a"), "SETNX kept the value")
    eq(c.cmd("SETEX", "e", "100", "v"), OK, "SETEX")
    eq(c.call("TTL", "e") in (99, 100), True, "SETEX sets the TTL")
    eq(c.cmd("PSETEX", "p", "100000", "v"), OK, "PSETEX")
    pttl = c.call("PTTL", "p")
    eq(99000 < pttl <= 100000, True, f"PSETEX sets the TTL in ms ({pttl})")
    is_error(c.cmd("SETEX", "e", "0", "v"), "ERR invalid expire time in 'setex' command")
    is_error(c.cmd("SETEX", "e", "-1", "v"), "ERR invalid expire time in 'setex' command")
    is_error(c.cmd("SETEX", "e", "abc", "v"), NOT_INT)
    is_error(c.cmd("PSETEX", "p", "-1", "v"), "ERR invalid expire time in 'psetex' command")
    is_error(c.cmd("PSETEX", "p", "0", "v"), "ERR invalid expire time in 'psetex' command")


def test_getset_getdel_getex(s):
    c = s.conn()
    eq(c.cmd("GETSET", "k", "a"), NIL, "GETSET new key")
    eq(c.cmd("GETSET", "k", "b"), bulk("a"), "GETSET returns the old value")
    eq(c.cmd("GET", "k"), bulk("b"), "GETSET set the new one")
    eq(c.cmd("GETDEL", "k"), bulk("b"), "GETDEL returns the value")
    eq(c.cmd("GETDEL", "k"), NIL, "GETDEL deleted it")
    eq(c.cmd("EXISTS", "k"), b":0\r\n", "gone")
    c.cmd("SET", "g", "v")
    eq(c.cmd("GETEX", "g"), bulk("v"), "GETEX without options")
    eq(c.cmd("TTL", "g"), b":-1\r\n", "no TTL")
    eq(c.cmd("GETEX", "g", "EX", "100"), bulk("v"), "GETEX EX")
    eq(c.call("TTL", "g") in (99, 100), True, "GETEX EX sets the TTL")
    eq(c.cmd("GETEX", "g", "PERSIST"), bulk("v"), "GETEX PERSIST")
    eq(c.cmd("TTL", "g"), b":-1\r\n", "PERSIST cleared it")
    eq(c.cmd("GETEX", "g", "EXAT", "4102444800"), bulk("v"), "GETEX EXAT")
    eq(c.cmd("EXPIRETIME", "g"), b":4102444800\r\n", "EXAT's time")
    eq(c.cmd("GETEX", "g", "PXAT", "4102444800999"), bulk("v"), "GETEX PXAT")
    eq(c.cmd("PEXPIRETIME", "g"), b":4102444800999\r\n", "PXAT's time")
    eq(c.cmd("GETEX", "g", "PX", "100000"), bulk("v"), "GETEX PX")
    eq(99000 < c.call("PTTL", "g") <= 100000, True, "GETEX PX's TTL")
    eq(c.cmd("GETEX", "nosuch", "EX", "10"), NIL, "GETEX on a missing key")
    is_error(c.cmd("GETEX", "g", "EX", "0"), "ERR invalid expire time in 'getex' command")
    is_error(c.cmd("GETEX", "g", "PX", "-1"), "ERR invalid expire time in 'getex' command")
    is_error(c.cmd("GETEX", "g", "PERSIST", "EX", "10"), SYNTAX)
    is_error(c.cmd("GETEX", "g", "EX", "10", "PX", "10"), SYNTAX)
    is_error(c.cmd("GETEX", "g", "FOO"), SYNTAX)
    is_error(c.cmd("GETEX", "g", "EX", "abc"), NOT_INT)
    c.cmd("SET", "t", "v", "EX", "100")
    eq(c.cmd("GETSET", "t", "w"), bulk("v"), "GETSET on a key with a TTL")
    eq(c.cmd("TTL", "t"), b":-1\r\n", "GETSET clears the TTL")


def test_append_and_strlen(s):
    c = s.conn()
    eq(c.cmd("APPEND", "a", "hello"), b":5\r\n", "APPEND creates")
    eq(c.cmd("APPEND", "a", " world"), b":11\r\n", "APPEND returns the new length")
    eq(c.cmd("APPEND", "a", ""), b":11\r\n", "APPEND nothing")
    eq(c.cmd("GET", "a"), bulk("hello world"), "appended")
    eq(c.cmd("STRLEN", "a"), b":11\r\n", "STRLEN")
    eq(c.cmd("STRLEN", "nosuch"), b":0\r\n", "STRLEN missing")
    c.cmd("SET", "n", "12")
    eq(c.cmd("APPEND", "n", "34"), b":4\r\n", "APPEND to an integer")
    eq(c.cmd("INCR", "n"), b":1235\r\n", "still an integer")
    c.cmd("SET", "t", "v", "EX", "100")
    c.cmd("APPEND", "t", "w")
    eq(c.call("TTL", "t") in (99, 100), True, "APPEND keeps the TTL")
    for i in range(200):  # grows past any small-string representation
        c.cmd("APPEND", "grow", "x" * 37)
    eq(c.cmd("STRLEN", "grow"), b":7400\r\n", "200 appends")
    eq(c.cmd("GET", "grow"), bulk("x" * 7400), "200 appends' value")


def test_incr_decr_family(s):
    c = s.conn()
    eq(c.cmd("INCR", "n"), b":1\r\n", "INCR new key")
    eq(c.cmd("INCRBY", "n", "41"), b":42\r\n", "INCRBY")
    eq(c.cmd("DECR", "n"), b":41\r\n", "DECR")
    eq(c.cmd("DECRBY", "n", "50"), b":-9\r\n", "DECRBY")
    eq(c.cmd("INCRBY", "n", "-1"), b":-10\r\n", "INCRBY negative")
    eq(c.cmd("GET", "n"), bulk("-10"), "stored as text")
    eq(c.cmd("DECR", "d"), b":-1\r\n", "DECR new key")
    eq(c.cmd("DECRBY", "db", "5"), b":-5\r\n", "DECRBY new key")
    c.cmd("SET", "max", "9223372036854775807")
    is_error(c.cmd("INCR", "max"), "ERR increment or decrement would overflow")
    c.cmd("SET", "min", "-9223372036854775808")
    is_error(c.cmd("DECR", "min"), "ERR increment or decrement would overflow")
    is_error(c.cmd("DECRBY", "min", "1"), "ERR increment or decrement would overflow")
    is_error(c.cmd("INCRBY", "min", "-9223372036854775808"),
             "ERR increment or decrement would overflow")
    c.cmd("SET", "five", "5")
    is_error(c.cmd("DECRBY", "five", "-9223372036854775808"), "ERR decrement would overflow")
    eq(c.cmd("GET", "max"), bulk("9223372036854775807"), "overflow changed nothing")
    # Redis's integer syntax: no spaces, no '+', no leading zeros, no "-0".
    for text in ("abc", " 1", "1 ", "+1", "01", "-0", "1.5", "", "9223372036854775808",
                 "0x10"):
        c.cmd("SET", "s", text)
        is_error(c.cmd("INCR", "s"), NOT_INT, f"INCR on {text!r}")
    is_error(c.cmd("INCRBY", "n", "abc"), NOT_INT, "INCRBY abc")
    is_error(c.cmd("INCRBY", "n", "1.0"), NOT_INT, "INCRBY 1.0")
    is_error(c.cmd("DECRBY", "n", ""), NOT_INT, "DECRBY ''")
    c.cmd("SET", "t", "1", "EX", "100")
    eq(c.cmd("INCR", "t"), b":2\r\n", "INCR on a key with a TTL")
    eq(c.call("TTL", "t") in (99, 100), True, "INCR keeps the TTL")
    r = s.redis()
    eq(r.incr("py"), 1, "redis-py incr")
    eq(r.incrby("py", 10), 11, "redis-py incrby")
    eq(r.decr("py", 2), 9, "redis-py decr")


def test_incrbyfloat(s):
    c = s.conn()
    for start, incr, want in (("10.5", "0.1", "10.6"), ("5.0e3", "2.0e2", "5200"),
                              ("3", "1.5", "4.5"), ("3", "-4.5", "-1.5"), ("4.5", "-4.5", "0"),
                              (None, "1.5e-3", "0.0015"), ("1", "1", "2"),
                              ("-1.25", "0.25", "-1")):
        if start is None:
            c.cmd("DEL", "f")
        else:
            c.cmd("SET", "f", start)
        eq(c.cmd("INCRBYFLOAT", "f", incr), bulk(want), f"{start} + {incr}")
        eq(c.cmd("GET", "f"), bulk(want), f"{start} + {incr} stored")
    c.cmd("SET", "f", "1")
    is_error(c.cmd("INCRBYFLOAT", "f", "abc"), "ERR value is not a valid float")
    is_error(c.cmd("INCRBYFLOAT", "f", "nan"), "ERR value is not a valid float")
    is_error(c.cmd("INCRBYFLOAT", "f", ""), "ERR value is not a valid float")
    is_error(c.cmd("INCRBYFLOAT", "f", " 1"), "ERR value is not a valid float")
    is_error(c.cmd("INCRBYFLOAT", "f", "inf"), "ERR increment would produce NaN or Infinity")
    c.cmd("SET", "s", "text")
    is_error(c.cmd("INCRBYFLOAT", "s", "1"), "ERR value is not a valid float")
    eq(c.cmd("GET", "f"), bulk("1"), "refused INCRBYFLOATs changed nothing")
    eq(s.redis().incrbyfloat("py", 2.5), 2.5, "redis-py incrbyfloat")


def test_getrange_substr_setrange(s):
    c = s.conn()
    c.cmd("SET", "g", "This is a string")
    for start, end, want in (("0", "3", "This"), ("-3", "-1", "ing"),
                             ("0", "-1", "This is a string"), ("10", "100", "string"),
                             ("5", "3", ""), ("100", "200", ""), ("-100", "3", "This"),
                             # Redis 7.0 clamps both negative ends to 0: one byte.
                             ("-100", "-50", "T")):
        eq(c.cmd("GETRANGE", "g", start, end), bulk(want), f"GETRANGE {start} {end}")
        eq(c.cmd("SUBSTR", "g", start, end), bulk(want), f"SUBSTR {start} {end}")
    eq(c.cmd("GETRANGE", "nosuch", "0", "-1"), bulk(""), "GETRANGE missing key")
    is_error(c.cmd("GETRANGE", "g", "a", "1"), NOT_INT)
    is_error(c.cmd("GETRANGE", "g", "0", "b"), NOT_INT)
    eq(c.cmd("SETRANGE", "n", "5", "hi"), b":7\r\n", "SETRANGE pads a new key with zeros")
    eq(c.cmd("GET", "n"), bulk(b"\0\0\0\0\0hi"), "padded value")
    eq(c.cmd("SETRANGE", "n", "1", "XY"), b":7\r\n", "SETRANGE inside")
    eq(c.cmd("GET", "n"), bulk(b"\0XY\0\0hi"), "overwritten inside")
    eq(c.cmd("SETRANGE", "n", "6", "JKL"), b":9\r\n", "SETRANGE past the end grows it")
    eq(c.cmd("GET", "n"), bulk(b"\0XY\0\0hJKL"), "grown")
    eq(c.cmd("SETRANGE", "e", "0", ""), b":0\r\n", "SETRANGE '' on a missing key")
    eq(c.cmd("EXISTS", "e"), b":0\r\n", "creates nothing")
    eq(c.cmd("SETRANGE", "n", "100", ""), b":9\r\n", "SETRANGE '' past the end")
    eq(c.cmd("STRLEN", "n"), b":9\r\n", "does not grow")
    is_error(c.cmd("SETRANGE", "n", "-1", "x"), "ERR offset is out of range")
    is_error(c.cmd("SETRANGE", "n", "abc", "x"), NOT_INT)
    is_error(c.cmd("SETRANGE", "n", "536870912", "x"),
             "ERR string exceeds maximum allowed size (proto-max-bulk-len)")
    c.cmd("SET", "t", "v", "EX", "100")
    c.cmd("SETRANGE", "t", "0", "w")
    eq(c.call("TTL", "t") in (99, 100), True, "SETRANGE keeps the TTL")


def test_lcs_matches_the_documented_example(s):
    c = s.conn()
    # The example of Redis's documentation, exact bytes; two key pairs (on
    # one shard or two, whichever they hash to).
    for a, b in (("a", "b"), ("lcs:a", "lcs:b")):
        c.cmd("SET", a, "ohmytext")
        c.cmd("SET", b, "mynewtext")
        eq(c.cmd("LCS", a, b), bulk("mytext"), "LCS")
        eq(c.cmd("LCS", a, b, "LEN"), b":6\r\n", "LCS LEN")
        eq(c.cmd("LCS", a, b, "IDX"),
           b"*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
           b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n", "LCS IDX")
        eq(c.cmd("LCS", a, b, "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"),
           b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
           b"$3\r\nlen\r\n:6\r\n", "LCS IDX MINMATCHLEN 4 WITHMATCHLEN")
    eq(c.cmd("LCS", "lcs:a", "nosuch"), bulk(""), "LCS with a missing key")
    eq(c.cmd("LCS", "nosuch1", "nosuch2", "LEN"), b":0\r\n", "LCS LEN of missing keys")
    eq(c.cmd("LCS", "nosuch1", "nosuch2", "IDX"),
       b"*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n", "LCS IDX of missing keys")
    is_error(c.cmd("LCS", "lcs:a", "lcs:b", "LEN", "IDX"),
             "ERR If you want both the length and indexes, please just use IDX.")
    is_error(c.cmd("LCS", "lcs:a", "lcs:b", "FOO"), SYNTAX)
    is_error(c.cmd("LCS", "lcs:a", "lcs:b", "MINMATCHLEN", "abc"), NOT_INT)


def test_type_and_object_encoding(s):
    c = s.conn()
    c.cmd("SET", "i", "123")
    c.cmd("SET", "neg", "-5")
    c.cmd("SET", "short", "abc")
    c.cmd("SET", "s44", "x" * 44)
    c.cmd("SET", "s45", "x" * 45)
    c.cmd("SET", "app", "abc")
    c.cmd("APPEND", "app", "d")
    eq(c.cmd("TYPE", "i"), b"+string\r\n", "TYPE of a string")
    eq(c.cmd("TYPE", "nosuch"), b"+none\r\n", "TYPE of a missing key")
    eq(c.cmd("OBJECT", "ENCODING", "i"), bulk("int"), "OBJECT ENCODING of 123")
    eq(c.cmd("OBJECT", "ENCODING", "neg"), bulk("int"), "OBJECT ENCODING of -5")
    for key in ("short", "s44", "s45", "app"):
        eq(c.call("OBJECT", "ENCODING", key) in (b"embstr", b"raw"), True,
           f"OBJECT ENCODING of {key} is embstr or raw")
    eq(c.cmd("OBJECT", "ENCODING", "nosuch"), NIL, "OBJECT ENCODING of a missing key")
    is_error(c.cmd("OBJECT", "FOO", "i"), "ERR unknown subcommand 'FOO'. Try OBJECT HELP.")
    is_error(c.cmd("OBJECT", "ENCODING"),
             "ERR wrong number of arguments for 'object|encoding' command")
    if only(s, "object-encoding-thresholds"):
        for key, want in (("short", "embstr"), ("s44", "embstr"), ("s45", "raw"), ("app", "raw")):
            eq(c.cmd("OBJECT", "ENCODING", key), bulk(want), f"OBJECT ENCODING of {key}")


def test_string_commands_in_other_databases(s):
    c = s.conn()
    c.cmd("SET", "k", "db0")
    eq(c.cmd("SELECT", "9"), OK, "SELECT 9")
    eq(c.cmd("GET", "k"), NIL, "db9 does not see db0's key")
    eq(c.cmd("SET", "k", "db9"), OK, "SET in db9")
    eq(c.cmd("INCR", "n"), b":1\r\n", "INCR in db9")
    eq(c.cmd("APPEND", "k", "!"), b":4\r\n", "APPEND in db9")
    c2 = s.conn()
    eq(c2.cmd("GET", "k"), bulk("db0"), "db0 is unchanged")
    eq(c2.cmd("EXISTS", "n"), b":0\r\n", "db0 has no n")
    eq(c2.cmd("SELECT", "9"), OK, "SELECT 9 on another connection")
    eq(c2.cmd("GET", "k"), bulk("db9!"), "the other connection sees db9")
    eq(s.redis(db=9).get("n"), b"1", "redis-py db=9")


if __name__ == "__main__":
    kvtest.main()
