#!/usr/bin/python3
"""test_security.py - the security defaults: bind 127.0.0.1 unless told
otherwise; with --requirepass every command but AUTH, HELLO and QUIT gets
-NOAUTH; protected mode (a server bound to a public address without a
password refuses clients from other addresses with Redis's -DENIED text);
AUTH refuses every near miss of the password; DEBUG disabled unless
enable-debug-command says yes or local. Flags and the config file both.

Clients "from outside" connect to the host's own non-loopback address (the
server sees that address as the peer); without one those checks skip with
the reason. Usage: see kvtest.py.
"""
import atexit
import fcntl
import os
import shlex
import socket
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, true  # noqa: E402

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


if __name__ == "__main__":
    kvtest.main()
