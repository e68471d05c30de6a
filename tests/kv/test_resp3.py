#!/usr/bin/python3
"""test_resp3.py - HELLO 2/3 and the RESP3 reply forms, byte for byte over
raw sockets (redis-py 4.3 speaks RESP2 only): the HELLO map, null "_",
maps for CONFIG GET, LCS IDX and COMMAND DOCS, sets for COMMAND INFO flags,
verbatim strings for INFO and CLIENT LIST, and multi-shard replies assembled
in RESP3. Redis 7.0.15 answers no RESP3 double for any command atoll-kv has
(INCRBYFLOAT stays a bulk string), so the test checks exactly that.
Usage: see kvtest.py.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, only, true  # noqa: E402


def bulk(v):
    if isinstance(v, str):
        v = v.encode()
    return b"$%d\r\n%s\r\n" % (len(v), v)


def hello_tail(proto, client_id):
    """What follows "server" and "version" in HELLO's reply."""
    return (b"$5\r\nproto\r\n:%d\r\n$2\r\nid\r\n:%d\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n"
            b"$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n" % (proto, client_id))


def check_hello(reply, proto, client_id):
    """HELLO's reply: a map (RESP3) or flat array (RESP2) of exactly server,
    version, proto, id, mode, role, modules, in that order."""
    head = b"%7\r\n" if proto == 3 else b"*14\r\n"
    true(reply.startswith(head + b"$6\r\nserver\r\n"), f"HELLO {proto} starts {head!r}: {reply!r}")
    value, _ = kvtest.decode(reply)
    if proto == 2:
        value = dict(zip(value[0::2], value[1::2]))
    eq(list(value), [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"],
       f"HELLO {proto} fields")
    true(value[b"server"] and re.fullmatch(rb"\d+\.\d+\.\d+", value[b"version"] or b""),
         f"HELLO server and version: {value[b'server']!r} {value[b'version']!r}")
    # Everything after server and version is exact.
    eq(reply.endswith(hello_tail(proto, client_id)), True,
       f"HELLO {proto} ends with proto, id, mode, role, modules: {reply!r}")
    eq(value[b"proto"], proto, "proto")
    return value


def test_hello_3_answers_a_map_and_switches_protocol(s):
    c = s.conn()
    cid = c.call("CLIENT", "ID")
    only(s, "hello-server-version")
    check_hello(c.cmd("HELLO", "3"), 3, cid)
    eq(c.cmd("GET", "nosuch"), b"_\r\n", "RESP3 null after HELLO 3")
    check_hello(c.cmd("HELLO"), 3, cid)  # no argument: the current protocol
    check_hello(c.cmd("HELLO", "2"), 2, cid)
    eq(c.cmd("GET", "nosuch"), b"$-1\r\n", "RESP2 null after HELLO 2")
    check_hello(c.cmd("HELLO"), 2, cid)
    c2 = s.conn()
    eq(c2.cmd("HELLO", "3", "SETNAME", "resp3-client")[:4], b"%7\r\n", "HELLO 3 SETNAME")
    eq(c2.cmd("CLIENT", "GETNAME"), bulk("resp3-client"), "HELLO SETNAME set the name")
    is_error(c.cmd("HELLO", "4"), "NOPROTO unsupported protocol version")
    is_error(c.cmd("HELLO", "1"), "NOPROTO unsupported protocol version")
    is_error(c.cmd("HELLO", "abc"), "ERR Protocol version is not an integer or out of range")
    is_error(c.cmd("HELLO", "3", "FOO"), "ERR Syntax error in HELLO option 'FOO'")
    eq(c.cmd("GET", "nosuch"), b"$-1\r\n", "failed HELLOs left RESP2")


def test_resp3_null_forms(s):
    c = s.conn()
    c.cmd("HELLO", "3")
    c.cmd("SET", "k", "v")
    for cmd in (("GET", "nosuch"), ("GETDEL", "nosuch"), ("GETEX", "nosuch"),
                ("GETSET", "new1", "v"), ("SET", "k", "w", "NX"), ("SET", "nosuch", "w", "XX"),
                ("SET", "new2", "v", "GET"), ("OBJECT", "ENCODING", "nosuch"),
                ("CLIENT", "GETNAME")):
        eq(c.cmd(*cmd), b"_\r\n", f"{' '.join(cmd)} is RESP3 null")
    eq(c.cmd("SELECT", "13"), b"+OK\r\n", "SELECT an empty db")
    eq(c.cmd("RANDOMKEY"), b"_\r\n", "RANDOMKEY of an empty db is RESP3 null")
    eq(c.cmd("COMMAND", "INFO", "nosuchcommand"), b"*1\r\n_\r\n", "COMMAND INFO of nothing")


def test_resp3_forms_of_other_replies(s):
    c = s.conn()
    c.cmd("HELLO", "3")
    c.cmd("MSET", "a", "ohmytext", "b", "mynewtext", "n", "10", "f", "1.5")
    eq(c.cmd("GET", "a"), bulk("ohmytext"), "bulk string")
    eq(c.cmd("INCR", "n"), b":11\r\n", "integer")
    eq(c.cmd("EXISTS", "a", "b"), b":2\r\n", "EXISTS integer")
    eq(c.cmd("TYPE", "a"), b"+string\r\n", "TYPE simple string")
    eq(c.cmd("TTL", "a"), b":-1\r\n", "TTL integer")
    # Redis 7.0 answers INCRBYFLOAT with a bulk string in RESP3 too.
    eq(c.cmd("INCRBYFLOAT", "f", "1"), bulk("2.5"), "INCRBYFLOAT is a bulk string, not a double")
    eq(c.cmd("CONFIG", "GET", "appendonly"), b"%1\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
       "CONFIG GET is a map")
    eq(c.cmd("CONFIG", "GET", "save"), b"%1\r\n$4\r\nsave\r\n$0\r\n\r\n", "CONFIG GET save")
    eq(c.cmd("LCS", "a", "b", "IDX"),
       b"%2\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
       b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n", "LCS IDX is a map")
    eq(c.cmd("LCS", "a", "b"), bulk("mytext"), "LCS")
    time_reply = c.cmd("TIME")
    true(time_reply.startswith(b"*2\r\n$"), f"TIME is an array of bulks: {time_reply!r}")
    scan = c.cmd("SCAN", "0", "COUNT", "100")
    true(scan.startswith(b"*2\r\n$1\r\n0\r\n*4\r\n"), f"SCAN is [cursor, array]: {scan!r}")
    eq(sorted(kvtest.decode(scan)[0][1]), [b"a", b"b", b"f", b"n"], "SCAN's keys")
    is_error(c.cmd("INCR", "a"), "ERR value is not an integer or out of range")
    is_error(c.cmd("GET"), "ERR wrong number of arguments for 'get' command")
    docs = c.cmd("COMMAND", "DOCS", "get")
    true(docs.startswith(b"%1\r\n$3\r\nget\r\n%"), f"COMMAND DOCS is a map of maps: {docs[:40]!r}")
    info = c.cmd("COMMAND", "INFO", "get")
    true(info.startswith(b"*1\r\n*") and b"~" in info, "COMMAND INFO's flags are a set")
    flags = kvtest.decode(info)[0][0][2]
    true("readonly" in flags, f"COMMAND INFO get flags: {flags}")


def test_resp3_verbatim_strings_for_info_and_client_list(s):
    c = s.conn()
    c.cmd("HELLO", "3")
    c.cmd("SET", "k", "v")
    ks = c.cmd("INFO", "keyspace")
    true(ks.startswith(b"=") and b"\r\ntxt:# Keyspace\r\n" in ks, f"INFO is verbatim txt: {ks!r}")
    value = kvtest.decode(ks)[0]
    true(isinstance(value, kvtest.Verbatim), "decoded as verbatim")
    eq(kvtest.parse_info(value)["keyspace"]["db0"].startswith("keys=1,expires=0,avg_ttl="), True,
       "INFO keyspace in RESP3")
    cl = c.cmd("CLIENT", "LIST")
    true(cl.startswith(b"=") and b"\r\ntxt:id=" in cl, f"CLIENT LIST is verbatim txt: {cl!r}")


def test_resp3_replies_assembled_from_many_shards(s):
    c = s.conn()
    c.cmd("HELLO", "3")
    keys = [f"r3:{i}" for i in range(100)]
    c.cmd("MSET", *[x for k in keys[::2] for x in (k, k)])
    want = b"*100\r\n" + b"".join(bulk(k) if i % 2 == 0 else b"_\r\n" for i, k in enumerate(keys))
    eq(c.cmd("MGET", *keys), want, "MGET over shards with RESP3 nulls in order")
    replies = c.pipeline([("GET", k) for k in keys])
    eq(b"".join(replies), want[len(b"*100\r\n"):], "pipelined GETs with RESP3 nulls in order")
    eq(c.cmd("EXISTS", *keys), b":50\r\n", "EXISTS over shards")
    eq(c.cmd("DEL", *keys), b":50\r\n", "DEL over shards")
    eq(c.cmd("DBSIZE"), b":0\r\n", "DBSIZE over shards")


def test_hello_switches_back_for_redis_py(s):
    # A connection that went RESP3 and back serves redis-py-style RESP2 again.
    c = s.conn()
    c.cmd("HELLO", "3")
    c.cmd("HELLO", "2")
    c.cmd("MSET", "x", "1", "y", "2")
    eq(c.cmd("MGET", "x", "nosuch", "y"), b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n", "RESP2 MGET")
    eq(c.cmd("CONFIG", "GET", "appendonly"), b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
       "RESP2 CONFIG GET is a flat array")
    info = c.cmd("INFO", "keyspace")
    true(info.startswith(b"$"), "RESP2 INFO is a bulk string")


if __name__ == "__main__":
    kvtest.main()
