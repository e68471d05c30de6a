#!/usr/bin/python3
"""test_server.py - the server process: --maxclients (and the client over
the limit refused with Redis's error), --config FILE in redis.conf style,
bad flags and bad config files refused with an exit status (never a crash),
--help and --reactors (atoll-kv's own), and SIGTERM with clients connected.
Usage: see kvtest.py.
"""
import os
import shlex
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, only, poll, true  # noqa: E402


def connected(c):
    return int(kvtest.parse_info(c.call("INFO", "clients"))["clients"]["connected_clients"])


def test_maxclients_refuses_the_client_over_the_limit(s):
    with s.spawn(extra=["--maxclients", "4"]) as srv:
        first = srv.conn()
        eq(first.cmd("PING"), b"+PONG\r\n", "client 1")
        # The start-up probe's connection may take a moment to be forgotten.
        poll(lambda: connected(first) == 1, "only client 1 is connected")
        others = [srv.conn() for _ in range(3)]
        for i, c in enumerate(others):
            eq(c.cmd("PING"), b"+PONG\r\n", f"client {i + 2}")
        over = srv.conn()
        eq(over.read_until_closed(), b"-ERR max number of clients reached\r\n",
           "client 5 gets the error and is closed")
        eq(first.cmd("CONFIG", "GET", "maxclients"), b"*2\r\n$10\r\nmaxclients\r\n$1\r\n4\r\n",
           "CONFIG GET maxclients")
        others[0].close()

        def new_client_works():
            with kvtest.Conn(srv.port) as c:
                try:
                    return c.cmd("PING") == b"+PONG\r\n"
                except kvtest.Closed:
                    return False

        poll(new_client_works, "a new client is taken once one left")
        poll(lambda: connected(first) == 3, "the probing clients are forgotten")
        # CONFIG SET maxclients moves the limit at run time.
        eq(first.cmd("CONFIG", "SET", "maxclients", "6"), b"+OK\r\n", "CONFIG SET maxclients 6")
        more = [srv.conn() for _ in range(3)]
        for c in more:
            eq(c.cmd("PING"), b"+PONG\r\n", "clients up to the new limit")
        eq(srv.conn().read_until_closed(), b"-ERR max number of clients reached\r\n",
           "the client over the new limit is refused")


def write_config(lines):
    f = tempfile.NamedTemporaryFile("w", prefix="kvtest-", suffix=".conf", delete=False)
    f.write("\n".join(lines) + "\n")
    f.close()
    return f.name


def config_argv(s, path):
    """How each server is started from a config file alone."""
    if s.is_redis:
        return ["redis-server", path, "--save", "", "--appendonly", "no", "--daemonize", "no"]
    return [shlex.split(s.template)[0], "--config", path]


def test_config_file_sets_port_password_and_maxclients(s):
    port = kvtest.free_port()
    # A line longer than any fixed buffer is still one line.
    lines = ["# written by test_server.py", "# long: " + "x" * 3000, "", f"port {port}",
             "bind 127.0.0.1", "requirepass from-file", "maxclients 7"]
    if s.is_atoll:
        lines.append("reactors 3")
    path = write_config(lines)
    try:
        with s.spawn(argv=config_argv(s, path), port=port) as srv:
            c = srv.conn()
            is_error(c.cmd("GET", "k"), "NOAUTH Authentication required.",
                     "requirepass from the file")
            eq(c.cmd("AUTH", "from-file"), b"+OK\r\n", "AUTH with the file's password")
            eq(c.call("CONFIG", "GET", "maxclients"), [b"maxclients", b"7"],
               "maxclients from the file")
            eq(c.call("CONFIG", "GET", "port"), [b"port", str(port).encode()], "port from the file")
            keys = [f"cf:{i}" for i in range(300)]
            eq(c.cmd("MSET", *[x for k in keys for x in (k, k)]), b"+OK\r\n", "MSET 300 keys")
            eq(c.call("MGET", *keys), [k.encode() for k in keys], "MGET 300 keys")
    finally:
        os.unlink(path)


def test_config_file_values_are_read_as_redis_conf_reads_them(s):
    port = kvtest.free_port()
    # Words split as sdssplitargs splits them: double quotes with \xHH and
    # C escapes, single quotes; blanks around the value do not count.
    lines = [f"port {port}", "bind 127.0.0.1", "maxclients '9'  ",
             'requirepass "p\\x41 \\"q\'"']
    path = write_config(lines)
    try:
        with s.spawn(argv=config_argv(s, path), port=port) as srv:
            c = srv.conn()
            eq(c.cmd("AUTH", r"p\x41 \"q'"), b"-WRONGPASS invalid username-password pair or "
               b"user is disabled.\r\n", "the escapes are undone")
            eq(c.cmd("AUTH", "pA \"q'"), b"+OK\r\n", "AUTH with the unquoted password")
            eq(c.call("CONFIG", "GET", "maxclients"), [b"maxclients", b"9"],
               "a single-quoted number")
    finally:
        os.unlink(path)


def run_briefly(argv):
    """Runs a server command that should exit at once; returns (status,
    output). Fails (and kills it) if it keeps running."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=kvtest.TIMEOUT, preexec_fn=kvtest._pdeathsig)
    except subprocess.TimeoutExpired:
        raise kvtest.Failure(f"{argv} kept running for {kvtest.TIMEOUT} s")
    return p.returncode, (p.stdout + p.stderr).decode(errors="replace")


def test_bad_flags_and_config_files_exit_with_an_error(s):
    base = shlex.split(s.template.replace("{port}", str(kvtest.free_port())))
    if s.is_redis:
        base += ["--save", "", "--appendonly", "no"]
    for bad in (["--port", "abc"], ["--port", "70000"], ["--port", "-1"], ["--maxclients", "abc"],
                ["--nosuchflag", "1"], ["--requirepass"], ["--config", "/nonexistent/kv.conf"],
                # The last of many flags counts too.
                ["--maxclients", "5"] * 40 + ["--maxclients", "abc"]):
        if s.is_redis and bad[0] == "--config":
            bad = ["/nonexistent/kv.conf"]  # redis-server takes the file first
            argv = [base[0]] + bad + base[1:]
        else:
            argv = base + bad
        rc, out = run_briefly(argv)
        true(rc > 0, f"{' '.join(bad)}: exits with an error status, not a signal ({rc})")
        true(out.strip(), f"{' '.join(bad)}: says why")
    for line in ("port notanumber", "nosuchdirective 1", "maxclients -5",
                 'requirepass "unbalanced', 'requirepass "a"b', "requirepass two words"):
        path = write_config([line])
        try:
            argv = config_argv(s, path)
            rc, out = run_briefly(argv)
            true(rc > 0, f"config line {line!r}: exits with an error status ({rc})")
            true(out.strip(), f"config line {line!r}: says why")
        finally:
            os.unlink(path)


def test_help_prints_the_flags(s):
    if not only(s, "help-flag"):
        return
    rc, out = run_briefly([shlex.split(s.template)[0], "--help"])
    eq(rc, 0, "--help exits 0")
    for flag in ("--port", "--bind", "--reactors", "--requirepass", "--maxclients", "--config"):
        true(flag in out, f"--help mentions {flag}")


def test_reactor_counts_all_serve_the_same_keyspace(s):
    if not only(s, "reactors-flag"):
        return
    binary = shlex.split(s.template)[0]
    rc, out = run_briefly([binary, "--port", str(kvtest.free_port()), "--reactors", "abc"])
    true(rc > 0, f"--reactors abc exits with an error ({rc})")
    rc, out = run_briefly([binary, "--port", str(kvtest.free_port()), "--reactors", "0"])
    true(rc > 0, f"--reactors 0 exits with an error ({rc})")
    for n in ("1", "3"):
        template = f"{shlex.quote(binary)} --port {{port}} --reactors {n}"
        with kvtest._Spawned(kvtest.Server(template, False)) as srv:
            c = srv.conn()
            keys = [f"r{n}:{i}" for i in range(300)]
            eq(c.cmd("MSET", *[x for k in keys for x in (k, k)]), b"+OK\r\n", f"MSET, {n} reactors")
            eq(c.call("MGET", *keys), [k.encode() for k in keys], f"MGET, {n} reactors")
            eq(c.call("DBSIZE"), 300, f"DBSIZE, {n} reactors")
            eq(c.cmd("RENAME", "r%s:1" % n, "moved"), b"+OK\r\n", f"RENAME, {n} reactors")
            eq(len(c.call("KEYS", "*")), 300, f"KEYS, {n} reactors")


def test_sigterm_with_clients_connected_stops_cleanly(s):
    with s.spawn() as srv:
        # Not srv.conn(): stop() would close those before the server does.
        idle = [kvtest.Conn(srv.port) for _ in range(10)]
        for c in idle:
            eq(c.cmd("PING"), b"+PONG\r\n", "idle client")
        half = kvtest.Conn(srv.port)
        half.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
        srv.redis().set("k", "v")
        clients = idle + [half]
        srv.stop_and_check()  # atoll-kv: exit status 0
        for c in clients:
            eq(c.read_until_closed(), b"", "the server closed every client")
            c.close()


if __name__ == "__main__":
    kvtest.main()
