#!/usr/bin/python3
"""test_security.py - the security defaults: bind 127.0.0.1 unless told
otherwise; with --requirepass every command but AUTH, HELLO and QUIT gets
-NOAUTH; protected mode (a server bound to a public address without a
password refuses clients from other addresses with Redis's -DENIED text);
AUTH refuses every near miss of the password; DEBUG disabled unless
enable-debug-command says yes or local; rename-command disables a command
(its name answers as any unknown one) or moves it to a new name, on every
route a command takes (the connection's core, one shard, every shard, keys
spanning shards), refused at run time and, when bad, at start with the file
and line. Flags and the config file both.

Clients "from outside" connect to the host's own non-loopback address (the
server sees that address as the peer); without one those checks skip with
the reason. Usage: see kvtest.py.
"""
import atexit
import fcntl
import os
import shlex
import shutil
import socket
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, only, true  # noqa: E402

_config_files = []


@atexit.register
def _remove_config_files():
    for path in _config_files:
        try:
            os.unlink(path)
        except OSError:
            pass

PASSWORD = "s3cret-pw"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
DEBUG_DENIED = ("ERR DEBUG command not allowed. If the enable-debug-command option is set to "
                "\"local\", you can run it from a local connection, otherwise you need to set "
                "this option in the configuration file, and then restart the server.")
# Redis 7.0.15's text, as its binary holds it (networking.c).
DENIED = (
    "DENIED Redis is running in protected mode because protected mode is enabled and no "
    "password is set for the default user. In this mode connections are only accepted from "
    "the loopback interface. If you want to connect from external computers to Redis you "
    "may adopt one of the following solutions: 1) Just disable protected mode sending the "
    "command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    "Redis from the same host the server is running, however MAKE SURE Redis is not "
    "publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change "
    "permanent. 2) Alternatively you can just disable the protected mode by editing the "
    "Redis configuration file, and setting the protected mode option to 'no', and then "
    "restarting the server. 3) If you started the server manually just for testing, restart "
    "it with the '--protected-mode no' option. 4) Setup a an authentication password for "
    "the default user. NOTE: You only need to do one of the above things in order for the "
    "server to start accepting connections from the outside.")


def outside_address():
    """An IPv4 address of this host that is not loopback, or None."""
    SIOCGIFADDR = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            if name == "lo":
                continue
            try:
                req = struct.pack("256s", name.encode()[:15])
                addr = socket.inet_ntoa(fcntl.ioctl(s.fileno(), SIOCGIFADDR, req)[20:24])
            except OSError:
                continue
            if not addr.startswith("127."):
                return addr
    return None


def need_outside():
    addr = outside_address()
    if addr is None:
        raise kvtest.Skip("this host has no non-loopback IPv4 address to connect from")
    return addr


def base_argv(s, drop=("--enable-debug-command", "--bind", "--protected-mode")):
    """The server's command line without the given flags (and their values),
    with a fixed port: for starting it with other values or a config file."""
    port = kvtest.free_port()
    words = shlex.split(s.template.replace("{port}", str(port)))
    out, skip = [], False
    for w in words:
        if skip:
            skip = False
        elif w in drop:
            skip = True
        else:
            out.append(w)
    return out, port


def spawn_argv(s, extra=(), config=None):
    """s's kind of server from base_argv, with extra flags; config: a config
    file's text, given as the first argument (both servers read it there)."""
    argv, port = base_argv(s)
    if config is not None:
        f = tempfile.NamedTemporaryFile("w", prefix="kvsec-", suffix=".conf", delete=False)
        f.write(config)
        f.close()
        _config_files.append(f.name)
        argv = argv[:1] + [f.name] + argv[1:]
    return s.spawn(argv=argv + list(extra), port=port)


def denied_from(srv, host, what):
    """A client from host gets the DENIED error and is closed."""
    c = srv.conn(host=host)
    c.send(kvtest.encode("PING"))
    data = c.read_until_closed()
    eq(data, b"-" + DENIED.encode() + b"\r\n", what)


def test_bind_defaults_to_loopback(s):
    c = s.conn()
    eq(c.call("CONFIG", "GET", "bind")[1], b"127.0.0.1", "CONFIG GET bind")
    addr = outside_address()
    if addr is None:
        print("    SKIP outside part: no non-loopback IPv4 address on this host", flush=True)
        return
    try:
        with socket.create_connection((addr, s.port), timeout=5):
            true(False, f"a connection to {addr}:{s.port} is refused (bound to loopback)")
    except ConnectionRefusedError:
        true(True, "connection from outside refused")


def test_requirepass_every_command_but_auth_hello_quit(s):
    with s.spawn(extra=["--requirepass", PASSWORD]) as srv:
        admin = srv.conn()
        eq(admin.cmd("AUTH", PASSWORD), b"+OK\r\n", "AUTH")
        infos = admin.call("COMMAND")
        c = srv.conn()
        noauth_ok = set()
        tried = 0
        for info in infos:
            name, arity, flags, subcommands = info[0].decode(), info[1], info[2], info[9]
            if subcommands:  # Redis checks a container's subcommand first
                continue
            if "no_auth" in [f if isinstance(f, str) else f.decode() for f in flags]:
                noauth_ok.add(name)
                continue
            nargs = abs(arity) if arity != 0 else 1
            reply = c.cmd(name, *["x"] * (nargs - 1))
            if name == "exec" and reply.startswith(b"-EXECABORT"):
                # Redis wraps any refusal of EXEC so.
                is_error(reply, "EXECABORT Transaction discarded because of: " + NOAUTH)
            else:
                is_error(reply, NOAUTH, f"{name} before AUTH")
            tried += 1
        true(tried >= 50, f"{tried} commands tried before AUTH")
        if srv.is_atoll:
            eq(noauth_ok, {"auth", "hello", "quit"}, "the commands allowed before AUTH")
        else:
            true({"auth", "hello", "quit"} <= noauth_ok, "AUTH, HELLO, QUIT are no_auth")
        # Inline too, and the connection is still usable afterwards.
        c.send(b"FLUSHALL\r\n")
        is_error(c.reply(), NOAUTH, "inline FLUSHALL before AUTH")
        eq(c.cmd("AUTH", PASSWORD), b"+OK\r\n", "AUTH after the refusals")
        eq(c.cmd("DBSIZE"), b":0\r\n", "nothing ran before AUTH")


def test_auth_refuses_near_misses(s):
    with s.spawn(extra=["--requirepass", PASSWORD]) as srv:
        c = srv.conn()
        for wrong in (PASSWORD[:-1], PASSWORD + "x", PASSWORD.upper(), "", "x" * 200,
                      PASSWORD + "\0", "\0" + PASSWORD, PASSWORD[1:], PASSWORD[:-1] + "W"):
            is_error(c.cmd("AUTH", wrong), WRONGPASS, f"AUTH {wrong[:20]!r}")
            is_error(c.cmd("GET", "k"), NOAUTH, "still not authenticated")
        eq(c.cmd("AUTH", PASSWORD), b"+OK\r\n", "the password itself")


def test_protected_mode_refuses_outside_clients(s):
    addr = need_outside()
    with spawn_argv(s, ["--bind", "0.0.0.0"]) as srv:
        c = srv.conn()
        eq(c.call("CONFIG", "GET", "protected-mode"), [b"protected-mode", b"yes"],
           "protected-mode is yes by default")
        eq(c.cmd("PING"), b"+PONG\r\n", "a loopback client is served")
        denied_from(srv, addr, f"a client from {addr}, no password")
        eq(c.cmd("PING"), b"+PONG\r\n", "loopback still served after the refusal")
        # A password lifts it: the outside client may then AUTH.
        eq(c.cmd("CONFIG", "SET", "requirepass", PASSWORD), b"+OK\r\n", "set a password")
        o = srv.conn(host=addr)
        is_error(o.cmd("PING"), NOAUTH, "outside client with a password set: NOAUTH")
        eq(o.cmd("AUTH", PASSWORD), b"+OK\r\n", "and may AUTH")
        eq(o.cmd("PING"), b"+PONG\r\n", "then is served")
        eq(c.cmd("AUTH", PASSWORD), b"+OK\r\n", "loopback AUTH")
        eq(c.cmd("CONFIG", "SET", "requirepass", ""), b"+OK\r\n", "drop the password")
        denied_from(srv, addr, "refused again without a password")
        # CONFIG SET protected-mode no opens it.
        eq(c.cmd("CONFIG", "SET", "protected-mode", "no"), b"+OK\r\n", "protected-mode no")
        eq(srv.conn(host=addr).cmd("PING"), b"+PONG\r\n", "outside client served")
        is_error(c.cmd("CONFIG", "SET", "protected-mode", "maybe"),
                 "ERR CONFIG SET failed (possibly related to argument 'protected-mode') - "
                 "argument must be 'yes' or 'no'", "bad value")


def test_protected_mode_flag_and_config_file(s):
    addr = need_outside()
    with spawn_argv(s, ["--bind", "0.0.0.0", "--protected-mode", "no"]) as srv:
        eq(srv.conn(host=addr).cmd("PING"), b"+PONG\r\n", "--protected-mode no: served")
    with spawn_argv(s, ["--bind", "0.0.0.0"], config="protected-mode no\n") as srv:
        eq(srv.conn(host=addr).cmd("PING"), b"+PONG\r\n", "protected-mode no in the file")
    with spawn_argv(s, [], config="bind 0.0.0.0\nprotected-mode yes\n") as srv:
        denied_from(srv, addr, "protected-mode yes in the file")


def test_debug_disabled_by_default(s):
    with spawn_argv(s) as srv:
        c = srv.conn()
        eq(c.call("CONFIG", "GET", "enable-debug-command"), [b"enable-debug-command", b"no"],
           "enable-debug-command is no by default")
        is_error(c.cmd("DEBUG", "SLEEP", "0"), DEBUG_DENIED, "DEBUG SLEEP refused")
        is_error(c.cmd("DEBUG", "NOSUCH"), DEBUG_DENIED, "any DEBUG refused")
        is_error(c.cmd("DEBUG"), "ERR wrong number of arguments for 'debug' command",
                 "arity is checked first")
        is_error(c.cmd("CONFIG", "SET", "enable-debug-command", "yes"),
                 "ERR CONFIG SET failed (possibly related to argument 'enable-debug-command') - "
                 "can't set immutable config", "not settable at run time")
        eq(c.cmd("PING"), b"+PONG\r\n", "the connection stays usable")
    # Before AUTH too: the refusal comes before authentication, as in Redis.
    with spawn_argv(s, ["--requirepass", PASSWORD]) as srv:
        is_error(srv.conn().cmd("DEBUG", "SLEEP", "0"), DEBUG_DENIED, "before AUTH")


def test_debug_local_and_yes(s):
    addr = outside_address()
    with spawn_argv(s, ["--enable-debug-command", "local", "--bind", "0.0.0.0",
                        "--protected-mode", "no"]) as srv:
        eq(srv.conn().cmd("DEBUG", "SLEEP", "0"), b"+OK\r\n", "local: loopback may")
        if addr is None:
            print("    SKIP outside part: no non-loopback IPv4 address on this host",
                  flush=True)
        else:
            is_error(srv.conn(host=addr).cmd("DEBUG", "SLEEP", "0"), DEBUG_DENIED,
                     f"local: a client from {addr} may not")
    with spawn_argv(s, ["--bind", "0.0.0.0", "--protected-mode", "no"],
                    config="enable-debug-command yes\n") as srv:
        eq(srv.conn().call("CONFIG", "GET", "enable-debug-command"),
           [b"enable-debug-command", b"yes"], "yes from the config file")
        if addr is not None:
            eq(srv.conn(host=addr).cmd("DEBUG", "SLEEP", "0"), b"+OK\r\n",
               "yes: a client from outside may")


# --- rename-command ---------------------------------------------------------

OK = b"+OK\r\n"


def unknown(name, *args):
    """The reply to a command no name reaches (Redis 7.0's text)."""
    return ("ERR unknown command '%s', with args beginning with: %s"
            % (name, "".join(f"'{a}' " for a in args)))


def set_keys(c, prefix, n=64):
    """n keys (spread over every shard), each set to its own name; returns
    them."""
    keys = [f"{prefix}:{i}" for i in range(n)]
    for k in keys:
        eq(c.cmd("SET", k, k), OK, f"SET {k}")
    return keys


def startup_fails(s, argv, reason, line=None, path=None):
    """Runs a server that must refuse to start: a non-zero exit, reason in
    what it printed and, for a config file, the file's line named."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=kvtest.TIMEOUT, preexec_fn=kvtest._pdeathsig)
    except subprocess.TimeoutExpired:
        raise kvtest.Failure(f"{argv} kept running for {kvtest.TIMEOUT} s instead of refusing")
    out = (p.stdout + p.stderr).decode(errors="replace")
    what = f"{' '.join(argv[-3:])!r}"
    true(p.returncode > 0, f"{what}: exits with an error status ({p.returncode})\n{out}")
    true(reason in out, f"{what}: says {reason!r}\n{out}")
    if line is not None:
        only(s, "startup-error-format")
        where = f"at line {line}" if s.is_redis else f"{path}:{line}:"
        true(where in out, f"{what}: names the line ({where!r})\n{out}")


RENAMES = ('rename-command FLUSHALL ""\n'
           "rename-command config my-secret-config\n"
           "rename-command GET MyGet\n"
           "rename-command keys k2\n")


def test_rename_command_in_the_config_file(s):
    base_count = s.conn().call("COMMAND", "COUNT")
    with spawn_argv(s, config=RENAMES) as srv:
        c = srv.conn()
        keys = set_keys(c, "rn")
        # Disabled: its name is unknown, as any other, inline too.
        is_error(c.cmd("FLUSHALL"), unknown("FLUSHALL"), "FLUSHALL disabled")
        is_error(c.cmd("flushall", "ASYNC"), unknown("flushall", "ASYNC"), "in any case")
        c.send(b"FLUSHALL\r\n")
        is_error(c.reply(), unknown("FLUSHALL"), "inline FLUSHALL disabled")
        eq(c.call("DBSIZE"), len(keys), "nothing was flushed")
        # Renamed: the new name in any case, on every shard; not the old.
        for k in keys:
            eq(c.call("myget", k), k.encode(), f"GET as myget {k}")
        eq(c.call("MYGET", keys[0]), keys[0].encode(), "MYGET")
        is_error(c.cmd("GET", keys[0]), unknown("GET", keys[0]), "GET by its old name")
        is_error(c.cmd("get", keys[0]), unknown("get", keys[0]), "get by its old name")
        # Its errors still call it by its own name, as Redis's.
        is_error(c.cmd("myget"), "ERR wrong number of arguments for 'get' command",
                 "arity error of a renamed GET")
        # A command the connection runs, and a container of subcommands.
        is_error(c.cmd("CONFIG", "GET", "maxclients"), unknown("CONFIG", "GET", "maxclients"),
                 "CONFIG by its old name")
        eq(c.call("my-secret-config", "GET", "maxclients"), [b"maxclients", b"10000"],
           "CONFIG as my-secret-config")
        is_error(c.cmd("my-secret-config", "FOO"),
                 "ERR unknown subcommand 'FOO'. Try MY-SECRET-CONFIG HELP.",
                 "an unknown subcommand names the command as it was called")
        is_error(c.cmd("my-secret-config", "GET"),
                 "ERR wrong number of arguments for 'config|get' command", "subcommand arity")
        # A fan-out command (every shard answers).
        eq(sorted(c.call("k2", "rn:*")), sorted(k.encode() for k in keys), "KEYS as k2")
        is_error(c.cmd("KEYS", "*"), unknown("KEYS", "*"), "KEYS by its old name")
        # COMMAND: the disabled one is gone, the renamed ones keep their own
        # names, and are found by their new ones only.
        eq(c.call("COMMAND", "COUNT"), base_count - 1, "COMMAND COUNT without FLUSHALL")
        infos = c.call("COMMAND")
        eq(len(infos), base_count - 1, "COMMAND as long as COMMAND COUNT says")
        # (Redis's COMMAND LIST has the subcommands too: "config|get".)
        for what, names in (("COMMAND", [i[0] for i in infos]),
                            ("COMMAND LIST", c.call("COMMAND", "LIST"))):
            for name in (b"get", b"config", b"keys", b"set"):
                true(name in names, f"{what} has {name}")
            for name in (b"flushall", b"myget", b"my-secret-config", b"k2"):
                true(name not in names, f"{what} has no {name}")
        raw = c.cmd("COMMAND", "INFO", "flushall", "get", "myget", "my-secret-config")
        true(raw.startswith(b"*4\r\n$-1\r\n$-1\r\n*10\r\n$3\r\nget\r\n"),
             f"COMMAND INFO: nil for FLUSHALL and GET, myget is get ({raw[:40]!r})")
        eq(kvtest.decode(raw)[0][3][0], b"config", "COMMAND INFO my-secret-config is config")
        eq(c.call("COMMAND", "DOCS", "myget", "get", "flushall")[0::2], [b"get"],
           "COMMAND DOCS by the new name only")


def test_rename_command_flags_after_the_file(s):
    flags = ["--rename-command", "FLUSHALL", "wipe-all", "--rename-command", "strlen", "",
             "--rename-command", "DEBUG", "dbg", "--rename-command", "client", "cl",
             "--rename-command", "myget", "g2"]
    with spawn_argv(s, flags, config='rename-command get MYGET\n') as srv:
        c = srv.conn()
        keys = set_keys(c, "fl")
        is_error(c.cmd("STRLEN", keys[0]), unknown("STRLEN", keys[0]), "--rename-command strlen ''")
        # Flags apply after the file, to the names it left.
        eq(c.call("g2", keys[0]), keys[0].encode(), "GET renamed by the file, then by a flag")
        is_error(c.cmd("myget", keys[0]), unknown("myget", keys[0]), "the file's name moved on")
        # A renamed DEBUG is DEBUG still: enable-debug-command holds.
        is_error(c.cmd("dbg", "SLEEP", "0"), DEBUG_DENIED, "DEBUG as dbg, still refused")
        is_error(c.cmd("DEBUG", "SLEEP", "0"), unknown("DEBUG", "SLEEP", "0"), "DEBUG's old name")
        # HELP is headed by the name the client called it by.
        eq(c.call("cl", "HELP")[0], "CL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
           "CLIENT HELP as cl")
        is_error(c.cmd("cl", "NOSUCH"), "ERR unknown subcommand 'NOSUCH'. Try CL HELP.",
                 "CLIENT as cl, unknown subcommand")
        # FLUSHALL under its new name, on every shard.
        is_error(c.cmd("FLUSHALL"), unknown("FLUSHALL"), "FLUSHALL by its old name")
        eq(c.cmd("Wipe-All"), OK, "FLUSHALL as wipe-all")
        eq(c.call("DBSIZE"), 0, "every shard flushed")
        eq(c.call("EXISTS", *keys), 0, "no key left")


def test_renamed_commands_on_every_route(s):
    renames = [("set", "put"), ("get", "g"), ("mget", "mg"), ("del", "rm"), ("dbsize", "n"),
               ("scan", "sc"), ("rename", "mv"), ("copy", "cp"), ("info", "inf"),
               ("flushdb", "fdb")]
    flags = [w for old, new in renames for w in ("--rename-command", old, new)]
    with spawn_argv(s, flags) as srv:
        c = srv.conn()
        keys = [f"rt:{i}" for i in range(64)]
        for k in keys:  # one key: its shard's, from any core
            eq(c.cmd("put", k, k), OK, f"SET as put {k}")
        eq(c.call("mg", *keys), [k.encode() for k in keys], "MGET as mg, keys on every shard")
        eq(c.call("n"), len(keys), "DBSIZE as n, summed over the shards")
        # SCAN as sc: a cursor that walks shard after shard (bounded).
        cursor, seen = b"0", set()
        for _ in range(1000):
            cursor, batch = c.call("sc", cursor, "COUNT", "7")
            seen.update(batch)
            if cursor == b"0":
                break
        eq(seen, {k.encode() for k in keys}, "SCAN as sc sees every key")
        # RENAME and COPY whose keys are on different shards run as internal
        # steps (kv.dump, kv.restore), which renames do not touch.
        for i in range(16):
            eq(c.cmd("mv", f"rt:{i}", f"moved:{i}"), OK, f"RENAME as mv rt:{i}")
            eq(c.call("g", f"moved:{i}"), f"rt:{i}".encode(), f"moved:{i} has the value")
            eq(c.call("cp", f"moved:{i}", f"copy:{i}"), 1, f"COPY as cp moved:{i}")
            eq(c.call("g", f"copy:{i}"), f"rt:{i}".encode(), f"copy:{i} has the value")
        eq(c.call("rm", *[f"copy:{i}" for i in range(16)]), 16, "DEL as rm over the shards")
        eq(c.call("n"), len(keys), "16 moved, 16 copies deleted")
        true(b"db0:keys=64," in c.call("inf", "keyspace"), "INFO as inf, every shard's keys")
        for old, new in renames:
            is_error(c.cmd(old.upper()), unknown(old.upper()), f"{old} renamed to {new}")
        eq(c.cmd("fdb"), OK, "FLUSHDB as fdb")
        eq(c.call("n"), 0, "every shard flushed")


def test_rename_command_applies_in_order(s):
    long_name = "a" * 3000
    config = ("rename-command get foo\n"
              "rename-command foo bar\n"  # renamed again by its new name
              "rename-command set get\n"  # the freed name, taken by another
              "rename-command echo ECHO\n"  # its own name in another case
              'rename-command strlen "\\xff\\x00len"\n'  # any bytes, as escapes
              f"rename-command append {long_name}\n"
              "rename-command getrange 'it\\'s'\n")
    with spawn_argv(s, config=config) as srv:
        c = srv.conn()
        eq(c.cmd("GET", "k", "v"), OK, "SET answers to get")
        eq(c.call("bar", "k"), b"v", "GET answers to bar")
        is_error(c.cmd("foo", "k"), unknown("foo", "k"), "the middle name is gone")
        is_error(c.cmd("set", "k", "v"), unknown("set", "k", "v"), "SET's own name is gone")
        eq(c.call("echo", "hi"), b"hi", "ECHO renamed to ECHO")
        eq(c.call(b"\xff\x00LEN", "k"), 1, "STRLEN by a name of any bytes")
        eq(c.call(long_name.upper(), "k", "w"), 2, "APPEND by a 3000-byte name")
        eq(c.call("IT'S", "k", "0", "0"), b"v", "GETRANGE by a single-quoted name")


def test_bad_rename_command_fails_at_startup(s):
    bad = [
        ("rename-command nosuch foo\n", 1, "No such command in rename-command"),
        ("# taken\nrename-command get set\n", 2, "Target command name already exists"),
        ("rename-command get foo\nrename-command set FOO\n", 2,
         "Target command name already exists"),
        # Twice: the first took its name away.
        ('rename-command flushall ""\nrename-command flushall ""\n', 2,
         "No such command in rename-command"),
        ("rename-command get foo\nrename-command GET bar\n", 2,
         "No such command in rename-command"),
        ('rename-command "" foo\n', 1, "No such command in rename-command"),
        ("rename-command \\xff foo\n", 1, "No such command in rename-command"),
        ("rename-command " + "x" * 5000 + " foo\n", 1, "No such command in rename-command"),
        ("rename-command get\n", 1, "Bad directive or wrong number of arguments"),
        ("rename-command get a b\n", 1, "Bad directive or wrong number of arguments"),
        ('rename-command get "unbalanced\n', 1, "Unbalanced quotes in configuration line"),
        ('rename-command get "a"b\n', 1, "Unbalanced quotes in configuration line"),
    ]
    if only(s, "rename-command-subcommand"):
        bad.append(("rename-command config|get foo\n", 1, "No such command in rename-command"))
    if only(s, "rename-command-internal-name"):
        bad.append(("rename-command get kv.dump\n", 1,
                    "Target command name is reserved for atoll-kv's internal commands"))
    for text, line, reason in bad:
        f = tempfile.NamedTemporaryFile("w", prefix="kvsec-", suffix=".conf", delete=False)
        f.write(text)
        f.close()
        _config_files.append(f.name)
        argv, _ = base_argv(s)
        startup_fails(s, argv[:1] + [f.name] + argv[1:], reason, line, f.name)
    for words, reason in ((["nosuch", "foo"], "No such command in rename-command"),
                          (["get", "set"], "Target command name already exists"),
                          (["get"], "wrong number of arguments")):
        argv, _ = base_argv(s)
        startup_fails(s, argv + ["--rename-command"] + words, reason)


def test_config_set_rename_command_refused(s):
    c = s.conn()
    is_error(c.cmd("CONFIG", "SET", "rename-command", "flushall"),
             "ERR Unknown option or number of arguments for CONFIG SET - 'rename-command'",
             "CONFIG SET rename-command")
    is_error(c.cmd("CONFIG", "SET", "rename-command", 'flushall ""'),
             "ERR Unknown option or number of arguments for CONFIG SET - 'rename-command'",
             "CONFIG SET rename-command, both words in one")
    is_error(c.cmd("CONFIG", "SET", "rename-command", "flushall", ""), "ERR syntax error",
             "CONFIG SET rename-command, two words")
    eq(c.call("CONFIG", "GET", "rename-command"), [], "CONFIG GET has no rename-command")
    eq(c.cmd("FLUSHALL"), OK, "FLUSHALL is still FLUSHALL")


def test_renamed_writes_replay_from_the_log(s):
    d = tempfile.mkdtemp(prefix="kvsec-aof-")
    try:
        log = ["--dir", d, "--appendonly", "yes"]
        renamed = log + ["--rename-command", "set", "put", "--rename-command", "del", "rm"]
        keys = [f"log:{i}" for i in range(32)]
        want = [None] + [k.encode() for k in keys[1:]]
        with spawn_argv(s, renamed) as srv:
            c = srv.conn()
            for k in keys:
                eq(c.cmd("put", k, k), OK, f"SET as put {k}")
            eq(c.call("rm", keys[0]), 1, "DEL as rm")
        with spawn_argv(s, renamed) as srv:
            eq(srv.conn().call("MGET", *keys), want, "replayed under the same renames")
        # atoll-kv logs a command by its own name: the log replays under
        # any renames, or none.
        if only(s, "rename-command-log"):
            with spawn_argv(s, log) as srv:
                eq(srv.conn().call("MGET", *keys), want, "replayed without the renames")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    kvtest.main()
