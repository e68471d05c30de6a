#!/usr/bin/python3
"""test_connection.py - the connection and server commands: PING, ECHO, QUIT,
TIME, DEBUG SLEEP, CLIENT (ID, SETNAME, GETNAME, SETINFO, LIST, KILL), COMMAND
(COUNT, INFO, DOCS), INFO, CONFIG GET/SET/RESETSTAT, and every command's
arity error. Raw sockets where the exact reply bytes matter, redis-py where a
real client's view is the point. Usage: see kvtest.py.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, only, poll, true  # noqa: E402

# Every command atoll-kv implements, as Redis 7.0.15's COMMAND INFO has it:
# arity, first key, last key, key step, the write/readonly flag, and the
# COMMAND DOCS group.
COMMANDS = {
    "ping": (-1, 0, 0, 0, "", "connection"),
    "echo": (2, 0, 0, 0, "", "connection"),
    "quit": (-1, 0, 0, 0, "", "connection"),
    "hello": (-1, 0, 0, 0, "", "connection"),
    "auth": (-2, 0, 0, 0, "", "connection"),
    "select": (2, 0, 0, 0, "", "connection"),
    "client": (-2, 0, 0, 0, "", "connection"),
    "command": (-1, 0, 0, 0, "", "server"),
    "info": (-1, 0, 0, 0, "", "server"),
    "config": (-2, 0, 0, 0, "", "server"),
    "dbsize": (1, 0, 0, 0, "readonly", "server"),
    "flushdb": (-1, 0, 0, 0, "write", "server"),
    "flushall": (-1, 0, 0, 0, "write", "server"),
    "time": (1, 0, 0, 0, "", "server"),
    "swapdb": (3, 0, 0, 0, "write", "server"),
    "debug": (-2, 0, 0, 0, "", "server"),
    "get": (2, 1, 1, 1, "readonly", "string"),
    "set": (-3, 1, 1, 1, "write", "string"),
    "setnx": (3, 1, 1, 1, "write", "string"),
    "setex": (4, 1, 1, 1, "write", "string"),
    "psetex": (4, 1, 1, 1, "write", "string"),
    "getset": (3, 1, 1, 1, "write", "string"),
    "getdel": (2, 1, 1, 1, "write", "string"),
    "getex": (-2, 1, 1, 1, "write", "string"),
    "mget": (-2, 1, -1, 1, "readonly", "string"),
    "mset": (-3, 1, -1, 2, "write", "string"),
    "msetnx": (-3, 1, -1, 2, "write", "string"),
    "append": (3, 1, 1, 1, "write", "string"),
    "strlen": (2, 1, 1, 1, "readonly", "string"),
    "incr": (2, 1, 1, 1, "write", "string"),
    "decr": (2, 1, 1, 1, "write", "string"),
    "incrby": (3, 1, 1, 1, "write", "string"),
    "decrby": (3, 1, 1, 1, "write", "string"),
    "incrbyfloat": (3, 1, 1, 1, "write", "string"),
    "getrange": (4, 1, 1, 1, "readonly", "string"),
    "setrange": (4, 1, 1, 1, "write", "string"),
    "substr": (4, 1, 1, 1, "readonly", "string"),
    "lcs": (-3, 1, 2, 1, "readonly", "string"),
    "del": (-2, 1, -1, 1, "write", "generic"),
    "unlink": (-2, 1, -1, 1, "write", "generic"),
    "exists": (-2, 1, -1, 1, "readonly", "generic"),
    "type": (2, 1, 1, 1, "readonly", "generic"),
    "keys": (2, 0, 0, 0, "readonly", "generic"),
    "scan": (-2, 0, 0, 0, "readonly", "generic"),
    "randomkey": (1, 0, 0, 0, "readonly", "generic"),
    "rename": (3, 1, 2, 1, "write", "generic"),
    "renamenx": (3, 1, 2, 1, "write", "generic"),
    "copy": (-3, 1, 2, 1, "write", "generic"),
    "move": (3, 1, 1, 1, "write", "generic"),
    "expire": (-3, 1, 1, 1, "write", "generic"),
    "pexpire": (-3, 1, 1, 1, "write", "generic"),
    "expireat": (-3, 1, 1, 1, "write", "generic"),
    "pexpireat": (-3, 1, 1, 1, "write", "generic"),
    "expiretime": (2, 1, 1, 1, "readonly", "generic"),
    "pexpiretime": (2, 1, 1, 1, "readonly", "generic"),
    "ttl": (2, 1, 1, 1, "readonly", "generic"),
    "pttl": (2, 1, 1, 1, "readonly", "generic"),
    "persist": (2, 1, 1, 1, "write", "generic"),
    "touch": (-2, 1, -1, 1, "readonly", "generic"),
    "object": (-2, 0, 0, 0, "", "generic"),
}


def client_list(text):
    """CLIENT LIST's text as a list of {field: value} dicts, one per line."""
    if isinstance(text, bytes):
        text = text.decode()
    eq(text.endswith("\n"), True, "CLIENT LIST ends with a newline")
    out = []
    for line in text.split("\n")[:-1]:
        fields = dict(re.findall(r"(\S+?)=(\S*)", line))
        true("id" in fields, f"CLIENT LIST line {line!r} has id=")
        out.append(fields)
    return out


def test_ping_replies_pong_or_its_argument(s):
    c = s.conn()
    eq(c.cmd("PING"), b"+PONG\r\n", "PING")
    eq(c.cmd("ping", "hello world"), b"$11\r\nhello world\r\n", "PING message")
    eq(c.cmd("PING", ""), b"$0\r\n\r\n", "PING empty message")
    is_error(c.cmd("PING", "a", "b"), "ERR wrong number of arguments for 'ping' command")
    eq(s.redis().ping(), True, "redis-py ping")


def test_echo_returns_binary_arguments_unchanged(s):
    c = s.conn()
    every_byte = bytes(range(256)) + b"\r\n\r\n"
    eq(c.cmd("ECHO", every_byte), b"$%d\r\n%s\r\n" % (len(every_byte), every_byte), "ECHO bytes")
    eq(c.cmd("ECHO", ""), b"$0\r\n\r\n", "ECHO empty")
    big = os.urandom(1 << 20)
    eq(c.cmd("ECHO", big), b"$%d\r\n%s\r\n" % (len(big), big), "ECHO 1 MiB")
    is_error(c.cmd("ECHO"), "ERR wrong number of arguments for 'echo' command")
    is_error(c.cmd("ECHO", "a", "b"), "ERR wrong number of arguments for 'echo' command")
    eq(s.redis().echo("héllo"), "héllo".encode(), "redis-py echo")


def test_quit_replies_ok_then_closes(s):
    c = s.conn()
    c.cmd("SET", "quit:k", "v")
    eq(c.cmd("QUIT"), b"+OK\r\n", "QUIT")
    eq(c.read_until_closed(), b"", "nothing after QUIT's +OK")
    c2 = s.conn()
    c2.send(kvtest.encode("QUIT", "extra") + kvtest.encode("PING"))
    eq(c2.read_until_closed(), b"+OK\r\n", "QUIT with an argument, and nothing after it")
    eq(s.conn().cmd("GET", "quit:k"), b"$1\r\nv\r\n", "another client after QUIT")


def test_time_is_now_in_seconds_and_microseconds(s):
    c = s.conn()
    reply = c.call("TIME")
    eq(len(reply), 2, "TIME has two elements")
    secs, usecs = reply
    true(re.fullmatch(rb"[0-9]+", secs) and re.fullmatch(rb"[0-9]+", usecs),
         f"TIME's bulk strings are decimal: {reply}")
    true(abs(int(secs) + int(usecs) / 1e6 - time.time()) < 5, "TIME is within 5 s of ours")
    true(int(usecs) < 1000000, "microseconds < 1e6")
    is_error(c.cmd("TIME", "x"), "ERR wrong number of arguments for 'time' command")


def test_debug_sleep_zero_replies_ok(s):
    c = s.conn()
    eq(c.cmd("DEBUG", "SLEEP", "0"), b"+OK\r\n", "DEBUG SLEEP 0")
    t0 = time.monotonic()
    eq(c.cmd("DEBUG", "SLEEP", "0.2"), b"+OK\r\n", "DEBUG SLEEP 0.2")
    true(time.monotonic() - t0 >= 0.15, "DEBUG SLEEP 0.2 took at least 0.15 s")
    is_error(c.cmd("DEBUG"), "ERR wrong number of arguments for 'debug' command")
    only(s, "debug-subcommands")
    true(c.cmd("DEBUG", "NOSUCHSUBCOMMAND").startswith(b"-ERR "), "DEBUG <unknown> is an error")
    eq(c.cmd("PING"), b"+PONG\r\n", "connection still usable after the DEBUG error")


def test_client_id_is_unique_and_increasing(s):
    # "Later" means connected after the first was served: with several
    # reactors, two connections made at once are set up in either order.
    a = s.conn()
    ida = a.call("CLIENT", "ID")
    b = s.conn()
    idb = b.call("CLIENT", "ID")
    true(isinstance(ida, int) and ida > 0, f"CLIENT ID is a positive integer: {ida!r}")
    true(idb > ida, "a later connection has a larger id")
    eq(a.call("CLIENT", "ID"), ida, "CLIENT ID is stable")
    is_error(a.cmd("CLIENT", "ID", "x"), "ERR wrong number of arguments for 'client|id' command")
    eq(s.redis().client_id() > idb, True, "redis-py client_id")


def test_client_setname_and_getname(s):
    c = s.conn()
    eq(c.cmd("CLIENT", "GETNAME"), b"$-1\r\n", "no name yet")
    eq(c.cmd("CLIENT", "SETNAME", "worker-1"), b"+OK\r\n", "SETNAME")
    eq(c.cmd("client", "getname"), b"$8\r\nworker-1\r\n", "GETNAME")
    is_error(c.cmd("CLIENT", "SETNAME", "a b"),
             "ERR Client names cannot contain spaces, newlines or special characters.")
    is_error(c.cmd("CLIENT", "SETNAME", "a\nb"),
             "ERR Client names cannot contain spaces, newlines or special characters.")
    eq(c.cmd("CLIENT", "GETNAME"), b"$8\r\nworker-1\r\n", "a refused name changes nothing")
    eq(c.cmd("CLIENT", "SETNAME", ""), b"+OK\r\n", "SETNAME '' clears the name")
    eq(c.cmd("CLIENT", "GETNAME"), b"$-1\r\n", "cleared")
    is_error(c.cmd("CLIENT", "SETNAME"),
             "ERR wrong number of arguments for 'client|setname' command")
    is_error(c.cmd("CLIENT", "SETNAME", "a", "b"),
             "ERR wrong number of arguments for 'client|setname' command")
    is_error(c.cmd("CLIENT"), "ERR wrong number of arguments for 'client' command")
    is_error(c.cmd("CLIENT", "FOO"), "ERR unknown subcommand 'FOO'. Try CLIENT HELP.")
    # redis-py sends CLIENT SETNAME itself when given client_name.
    r = s.redis(client_name="from-redis-py")
    eq(r.client_getname(), "from-redis-py", "redis-py client_name")


def test_client_setinfo_sets_library_name_and_version(s):
    c = s.conn()
    if not only(s, "client-setinfo"):
        return
    eq(c.cmd("CLIENT", "SETINFO", "lib-name", "kvtest"), b"+OK\r\n", "SETINFO lib-name")
    eq(c.cmd("CLIENT", "SETINFO", "LIB-VER", "1.2.3"), b"+OK\r\n", "SETINFO lib-ver")
    is_error(c.cmd("CLIENT", "SETINFO", "lib-name", "a b"),
             "ERR lib-name cannot contain spaces, newlines or special characters.")
    is_error(c.cmd("CLIENT", "SETINFO", "foo", "bar"), "ERR Unrecognized option 'foo'")
    is_error(c.cmd("CLIENT", "SETINFO", "lib-name"),
             "ERR wrong number of arguments for 'client|setinfo' command")


def test_client_list_has_a_line_per_client(s):
    a, b = s.conn(), s.conn()
    eq(b.cmd("CLIENT", "SETNAME", "listed"), b"+OK\r\n", "SETNAME")
    eq(b.cmd("SELECT", "3"), b"+OK\r\n", "SELECT 3")
    ida, idb = a.call("CLIENT", "ID"), b.call("CLIENT", "ID")
    only(s, "client-list-fields")
    reply = a.call("CLIENT", "LIST")
    eq(type(reply), bytes, "CLIENT LIST is a bulk string")
    clients = {int(f["id"]): f for f in client_list(reply)}
    true(ida in clients and idb in clients, f"both ids {ida}, {idb} listed: {sorted(clients)}")
    eq(clients[idb].get("name"), "listed", "name= of the named client")
    eq(clients[ida].get("name"), "", "name= empty for an unnamed client")
    eq(clients[idb].get("db"), "3", "db= follows SELECT")
    eq(clients[idb].get("addr"), b.local_addr(), "addr= is the client's address")
    one = client_list(a.call("CLIENT", "LIST", "ID", str(idb)))
    eq([int(f["id"]) for f in one], [idb], "CLIENT LIST ID <id> lists just that one")
    two = client_list(a.call("CLIENT", "LIST", "ID", str(ida), str(idb)))
    eq(sorted(int(f["id"]) for f in two), sorted([ida, idb]), "CLIENT LIST ID with two ids")
    eq(a.cmd("CLIENT", "LIST", "ID", "999999"), b"$0\r\n\r\n", "CLIENT LIST of an unknown id")
    is_error(a.cmd("CLIENT", "LIST", "ID", "abc"), "ERR Invalid client ID")
    # redis-py's parser of CLIENT LIST.
    names = [c["name"] for c in s.redis().client_list()]
    true("listed" in names, f"redis-py client_list sees the name: {names}")


def test_client_kill_by_id_and_by_addr_closes_the_victim(s):
    killer = s.conn()
    victim = s.conn()
    vid = victim.call("CLIENT", "ID")
    eq(killer.cmd("CLIENT", "KILL", "ID", str(vid)), b":1\r\n", "CLIENT KILL ID")
    eq(victim.read_until_closed(), b"", "the victim's connection is closed")
    poll(lambda: str(vid) not in killer.call("CLIENT", "LIST").decode().replace("=", " ").split(),
         "the killed client leaves CLIENT LIST")

    victim2 = s.conn()
    eq(victim2.cmd("PING"), b"+PONG\r\n", "victim 2 is connected")
    eq(killer.cmd("CLIENT", "KILL", "ADDR", victim2.local_addr()), b":1\r\n", "CLIENT KILL ADDR")
    eq(victim2.read_until_closed(), b"", "victim 2's connection is closed")

    victim3 = s.conn()
    eq(victim3.cmd("PING"), b"+PONG\r\n", "victim 3 is connected")
    eq(killer.cmd("CLIENT", "KILL", victim3.local_addr()), b"+OK\r\n",
       "old form CLIENT KILL ip:port")
    eq(victim3.read_until_closed(), b"", "victim 3's connection is closed")

    eq(killer.cmd("CLIENT", "KILL", "ID", "999999"), b":0\r\n", "KILL ID of nobody")
    eq(killer.cmd("CLIENT", "KILL", "ADDR", "10.1.2.3:4"), b":0\r\n", "KILL ADDR of nobody")
    is_error(killer.cmd("CLIENT", "KILL", "10.1.2.3:4"), "ERR No such client")
    is_error(killer.cmd("CLIENT", "KILL", "ID", "abc"), "ERR client-id should be greater than 0")
    is_error(killer.cmd("CLIENT", "KILL", "FOO", "bar"), "ERR syntax error")
    is_error(killer.cmd("CLIENT", "KILL"),
             "ERR wrong number of arguments for 'client|kill' command")
    # SKIPME defaults to yes: a client does not kill itself by its own id.
    own = killer.call("CLIENT", "ID")
    eq(killer.cmd("CLIENT", "KILL", "ID", str(own)), b":0\r\n", "KILL ID of oneself skips it")
    eq(killer.cmd("PING"), b"+PONG\r\n", "the killer is still connected")


def test_command_count_info_and_docs_describe_the_commands(s):
    c = s.conn()
    only(s, "command-table")
    count = c.call("COMMAND", "COUNT")
    true(isinstance(count, int) and count >= len(COMMANDS),
         f"COMMAND COUNT {count} covers the {len(COMMANDS)} commands")
    is_error(c.cmd("COMMAND", "COUNT", "x"),
             "ERR wrong number of arguments for 'command|count' command")
    is_error(c.cmd("COMMAND", "FOO"), "ERR unknown subcommand 'FOO'. Try COMMAND HELP.")

    names = list(COMMANDS)
    infos = c.call("COMMAND", "INFO", *names, "nosuchcommand")
    eq(len(infos), len(names) + 1, "COMMAND INFO has one entry per name")
    eq(infos[-1], None, "COMMAND INFO of an unknown command is nil")
    eq(c.cmd("COMMAND", "INFO", "nosuchcommand"), b"*1\r\n$-1\r\n",
       "COMMAND INFO of an unknown command: a nil bulk, as Redis's")
    for name, info in zip(names, infos):
        arity, first, last, step, rw, _ = COMMANDS[name]
        true(isinstance(info, list) and len(info) >= 6, f"COMMAND INFO {name} has >= 6 fields")
        eq(info[0], name.encode(), f"COMMAND INFO {name}: name")
        eq(info[1], arity, f"COMMAND INFO {name}: arity")
        eq(info[3:6], [first, last, step], f"COMMAND INFO {name}: first/last key, step")
        if rw:
            true(rw in info[2], f"COMMAND INFO {name}: flags {info[2]} include {rw}")
    eq(c.call("COMMAND", "INFO", "GET")[0][0], b"get", "COMMAND INFO is case-insensitive")

    docs = c.call("COMMAND", "DOCS", *names)
    true(isinstance(docs, list) and len(docs) == 2 * len(names),
         "COMMAND DOCS is a map (flat in RESP2) with one entry per command")
    docs = dict(zip(docs[0::2], docs[1::2]))
    for name in names:
        doc = docs.get(name.encode())
        true(isinstance(doc, list), f"COMMAND DOCS has {name}")
        doc = dict(zip(doc[0::2], doc[1::2]))
        true(isinstance(doc.get(b"summary"), bytes) and doc[b"summary"],
             f"COMMAND DOCS {name}: summary")
        eq(doc.get(b"group"), COMMANDS[name][5].encode(), f"COMMAND DOCS {name}: group")
    eq(c.cmd("COMMAND", "DOCS", "nosuchcommand"), b"*0\r\n", "DOCS of an unknown command")
    eq(s.redis().command_count(), count, "redis-py command_count")


def test_every_command_refuses_the_wrong_number_of_arguments(s):
    c = s.conn()
    for name, (arity, *_rest) in COMMANDS.items():
        message = f"ERR wrong number of arguments for '{name}' command"
        n = abs(arity)
        if n >= 2:  # fewer than the least it takes
            bad = [name.upper()] + ["x"] * (n - 2)
            is_error(c.cmd(*bad), message, f"{bad}")
        if arity > 0:  # one more than it takes
            bad = [name.upper()] + ["x"] * n
            is_error(c.cmd(*bad), message, f"{bad}")
    eq(c.cmd("PING"), b"+PONG\r\n", "the connection survives arity errors")


def test_info_has_the_sections_clients_parse(s):
    c = s.conn()
    r = s.redis()
    for i in range(150):
        r.set(f"info:{i}", i)
    for i in range(40):
        r.expire(f"info:{i}", 1000)
    c.cmd("SELECT", "2")
    c.pipeline([("SET", f"db2:{i}", "v") for i in range(3)])
    only(s, "info-fields")
    info = kvtest.parse_info(c.call("INFO"))
    for section in ("server", "clients", "memory", "stats", "keyspace"):
        true(section in info, f"INFO has a {section} section: {sorted(info)}")
    only(s, "hello-server-version")
    true(re.fullmatch(r"\d+\.\d+\.\d+", info["server"].get("redis_version", "")),
         "server: redis_version is x.y.z")
    eq(info["server"].get("tcp_port"), str(s.port), "server: tcp_port")
    for section, field in (("server", "uptime_in_seconds"), ("clients", "connected_clients"),
                           ("memory", "used_memory"), ("stats", "total_connections_received"),
                           ("stats", "total_commands_processed"), ("stats", "keyspace_hits"),
                           ("stats", "keyspace_misses"), ("stats", "expired_keys")):
        true(re.fullmatch(r"\d+", info[section].get(field, "")),
             f"{section}: {field} is an integer ({info[section].get(field)!r})")
    true(int(info["clients"]["connected_clients"]) >= 2, "connected_clients counts us")
    ks = info["keyspace"]
    eq(sorted(ks), ["db0", "db2"], "keyspace lists the non-empty databases")
    true(re.fullmatch(r"keys=\d+,expires=\d+,avg_ttl=\d+", ks["db0"]),
         f"db0 line is keys=N,expires=M,avg_ttl=T: {ks['db0']!r}")
    db0 = kvtest.keyspace_line(ks["db0"])
    eq((db0["keys"], db0["expires"]), (150, 40), "db0 keys and expires")
    eq(kvtest.keyspace_line(ks["db2"])["keys"], 3, "db2 keys")

    only_keyspace = kvtest.parse_info(c.call("INFO", "keyspace"))
    eq(list(only_keyspace), ["keyspace"], "INFO keyspace has only that section")
    two = kvtest.parse_info(c.call("INFO", "server", "clients"))
    eq(sorted(two), ["clients", "server"], "INFO server clients")
    eq(c.cmd("INFO", "nosuchsection"), b"$0\r\n\r\n", "INFO of an unknown section is empty")
    # redis-py parses INFO into dicts, keyspace lines included.
    pyinfo = r.info("keyspace")
    eq(pyinfo["db0"]["keys"], 150, "redis-py info('keyspace')")
    if only(s, "info-atoll-section"):
        atoll = kvtest.parse_info(c.call("INFO", "atoll")).get("atoll")
        true(atoll, f"INFO atoll has per-reactor counters: {atoll}")
        for i in range(int(atoll["reactors"])):
            fields = dict(kv.split("=") for kv in atoll[f"reactor{i}"].split(","))
            for f in ("queued", "queued_max", "ring_full", "overflow", "dead_letters"):
                true(re.fullmatch(r"\d+", fields.get(f, "")),
                     f"reactor{i} shows overload counter {f}: {fields}")
        everything = kvtest.parse_info(c.call("INFO", "everything"))
        true("atoll" in everything, "INFO everything includes the atoll section")


def test_info_stats_count_hits_and_misses_since_resetstat(s):
    c = s.conn()
    c.pipeline([("SET", f"hit:{i}", i) for i in range(20)])
    eq(c.cmd("CONFIG", "RESETSTAT"), b"+OK\r\n", "CONFIG RESETSTAT")
    stats = s.info("stats", c)["stats"]
    eq((stats["keyspace_hits"], stats["keyspace_misses"]), ("0", "0"), "zero after RESETSTAT")
    for i in range(3):
        c.cmd("GET", f"hit:{i}")
    c.cmd("GET", "miss:1")
    c.cmd("GET", "miss:2")
    stats = s.info("stats", c)["stats"]
    eq((stats["keyspace_hits"], stats["keyspace_misses"]), ("3", "2"), "GET hits, misses")
    # MGET's keys spread over every shard: each one counts.
    c.cmd("MGET", *[f"hit:{i}" for i in range(20)], *[f"miss:{i}" for i in range(7)])
    stats = s.info("stats", c)["stats"]
    eq((stats["keyspace_hits"], stats["keyspace_misses"]), ("23", "9"), "MGET hits, misses")
    is_error(c.cmd("CONFIG", "RESETSTAT", "x"),
             "ERR wrong number of arguments for 'config|resetstat' command")


def test_info_clients_counts_connections(s):
    c = s.conn()

    def connected():
        return int(s.info("clients", c)["clients"]["connected_clients"])

    base = poll(lambda: connected() == 1 and 1, "only our connection left from earlier tests")
    extra = [kvtest.Conn(s.port) for _ in range(5)]
    for e in extra:
        eq(e.cmd("PING"), b"+PONG\r\n", "extra client")
    eq(connected(), base + 5, "connected_clients counts 5 more")
    for e in extra:
        e.close()
    poll(lambda: connected() == base, "connected_clients back down after they close")


def test_config_get_set_and_resetstat(s):
    c = s.conn()
    # redis-benchmark asks these two at start-up.
    eq(c.cmd("CONFIG", "GET", "save"), b"*2\r\n$4\r\nsave\r\n$0\r\n\r\n", "CONFIG GET save")
    eq(c.cmd("CONFIG", "GET", "appendonly"), b"*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
       "CONFIG GET appendonly")
    everything = c.call("CONFIG", "GET", "*")
    true(isinstance(everything, list) and len(everything) % 2 == 0 and everything,
         "CONFIG GET * is a non-empty list of pairs")
    conf = dict(zip(everything[0::2], everything[1::2]))
    eq(len(conf), len(everything) // 2, "CONFIG GET * names are unique")
    for name in (b"maxclients", b"save", b"appendonly", b"port"):
        true(name in conf, f"CONFIG GET * has {name}")
    eq(conf[b"port"], str(s.port).encode(), "CONFIG GET * port")
    eq(c.call("CONFIG", "GET", "nosuchparameter"), [], "CONFIG GET of an unknown name")
    old = c.call("CONFIG", "GET", "maxclients")[1]
    try:
        eq(c.cmd("CONFIG", "SET", "maxclients", "100"), b"+OK\r\n", "CONFIG SET maxclients")
        eq(c.cmd("CONFIG", "GET", "maxclients"), b"*2\r\n$10\r\nmaxclients\r\n$3\r\n100\r\n",
           "CONFIG GET maxclients after SET")
        eq(c.call("CONFIG", "GET", "maxc*"), [b"maxclients", b"100"], "CONFIG GET with a pattern")
        is_error(c.cmd("CONFIG", "SET", "maxclients", "abc"),
                 "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
                 "argument couldn't be parsed into an integer")
        eq(c.call("CONFIG", "GET", "maxclients")[1], b"100", "a refused SET changes nothing")
    finally:
        eq(c.cmd("CONFIG", "SET", "maxclients", old), b"+OK\r\n", "CONFIG SET maxclients back")
    is_error(c.cmd("CONFIG", "SET", "nosuchparameter", "1"),
             "ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparameter'")
    is_error(c.cmd("CONFIG", "GET"), "ERR wrong number of arguments for 'config|get' command")
    is_error(c.cmd("CONFIG", "SET", "maxclients"),
             "ERR wrong number of arguments for 'config|set' command")
    is_error(c.cmd("CONFIG", "SET", "maxclients", "100", "hz"), "ERR syntax error",
             "a name without its value")
    eq(c.call("CONFIG", "GET", "maxclients")[1], old, "and nothing set")
    is_error(c.cmd("CONFIG", "FOO"), "ERR unknown subcommand 'FOO'. Try CONFIG HELP.")
    eq(s.redis().config_get("appendonly"), {"appendonly": "no"}, "redis-py config_get")


def test_container_help_lists_subcommands_the_server_knows(s):
    c = s.conn()
    for container in ("COMMAND", "CONFIG", "CLIENT", "OBJECT"):
        lines = c.call(container.lower(), "HELP")
        true(isinstance(lines, list) and len(lines) >= 5, f"{container} HELP is a list")
        eq(lines[0], f"{container} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
           f"{container} HELP header, upper-cased")
        eq(lines[-2:], ["HELP", "    Prints this help."], f"{container} HELP ends with HELP")
        subs = [line.split(" ")[0] for line in lines[1:-2]
                if not line.startswith(" ") and line != "(no subcommand)"]
        true(len(subs) >= 3, f"{container} HELP names its subcommands")
        for sub in subs:
            # Extra arguments make every subcommand refuse without acting:
            # what matters is that the server knows it.
            reply = c.cmd(container, sub, "x", "x", "x")
            true(not reply.startswith(b"-ERR unknown subcommand '"),
                 f"{container} HELP lists {sub}, which the server knows ({reply!r})")
        is_error(c.cmd(container, "HELP", "x"),
                 f"ERR wrong number of arguments for '{container.lower()}|help' command")
    eq(c.cmd("PING"), b"+PONG\r\n", "the connection survives")


def test_redis_py_round_trips(s):
    r = s.redis(decode_responses=True)
    eq(r.set("py:k", "välue"), True, "set")
    eq(r.get("py:k"), "välue", "get")
    eq(r.incr("py:n", 5), 5, "incr")
    eq(r.mget(["py:k", "py:none", "py:n"]), ["välue", None, "5"], "mget")
    eq(r.exists("py:k", "py:n", "py:none"), 2, "exists")
    eq(r.delete("py:k", "py:n"), 2, "delete")
    eq(r.dbsize(), 0, "dbsize")
    eq(r.info("server")["tcp_port"], s.port, "info server")


if __name__ == "__main__":
    kvtest.main()
