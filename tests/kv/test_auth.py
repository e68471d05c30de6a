#!/usr/bin/python3
"""test_auth.py - AUTH, --requirepass and HELLO ... AUTH: NOAUTH before
authenticating, WRONGPASS for a bad password, what is allowed before AUTH,
and the clients' own ways to authenticate (redis-py password=, redis-cli
-a). Also AUTH against a server without a password. Usage: see kvtest.py.
"""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import eq, is_error, true  # noqa: E402

PASSWORD = "s3cret-pw"
NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise "
                "the HELLO AUTH <user> <pass> option can be used to authenticate the client and "
                "select the RESP protocol version at the same time")


def test_auth_without_a_configured_password(s):
    c = s.conn()
    is_error(c.cmd("AUTH", "foo"),
             "ERR AUTH <password> called without any password configured for the default user. "
             "Are you sure your configuration is correct?")
    is_error(c.cmd("AUTH", "someone", "pw"), WRONGPASS)
    is_error(c.cmd("AUTH"), "ERR wrong number of arguments for 'auth' command")
    is_error(c.cmd("AUTH", "a", "b", "c"), "ERR syntax error")
    eq(c.cmd("PING"), b"+PONG\r\n", "still usable")


def test_requirepass_refuses_commands_before_auth(s):
    with s.spawn(extra=["--requirepass", PASSWORD]) as srv:
        c = srv.conn()
        for cmd in (("PING",), ("GET", "k"), ("SET", "k", "v"), ("ECHO", "x"), ("CLIENT", "ID"),
                    ("SELECT", "1"), ("DBSIZE",), ("INFO",), ("CONFIG", "GET", "maxclients"),
                    ("COMMAND", "COUNT")):
            is_error(c.cmd(*cmd), NOAUTH, f"{cmd[0]} before AUTH")
        # Redis looks the command up and checks its arity before AUTH.
        is_error(c.cmd("nosuchcommand", "a"),
                 "ERR unknown command 'nosuchcommand', with args beginning with: 'a' ")
        is_error(c.cmd("GET"), "ERR wrong number of arguments for 'get' command")
        is_error(c.cmd("HELLO", "3"), HELLO_NOAUTH)
        is_error(c.cmd("HELLO"), HELLO_NOAUTH)
        eq(c.cmd("GET", "k"), b"-NOAUTH Authentication required.\r\n", "still RESP2")
        # Inline commands are refused the same way.
        c.send(b"GET k\r\n")
        is_error(c.reply(), NOAUTH, "inline GET before AUTH")
        is_error(c.cmd("AUTH", "wrong"), WRONGPASS)
        is_error(c.cmd("AUTH", "default", "wrong"), WRONGPASS)
        is_error(c.cmd("AUTH", "bob", PASSWORD), WRONGPASS)
        is_error(c.cmd("AUTH", "a", "b", "c"), "ERR syntax error")
        is_error(c.cmd("GET", "k"), NOAUTH, "failed AUTHs leave it unauthenticated")
        eq(c.cmd("AUTH", PASSWORD), b"+OK\r\n", "AUTH with the password")
        eq(c.cmd("SET", "k", "v"), b"+OK\r\n", "SET after AUTH")
        eq(c.cmd("GET", "k"), b"$1\r\nv\r\n", "GET after AUTH")
        c2 = srv.conn()
        eq(c2.cmd("AUTH", "default", PASSWORD), b"+OK\r\n", "AUTH default <password>")
        eq(c2.cmd("GET", "k"), b"$1\r\nv\r\n", "GET after AUTH default")
        c3 = srv.conn()
        eq(c3.cmd("QUIT"), b"+OK\r\n", "QUIT is allowed before AUTH")
        eq(c3.read_until_closed(), b"", "and closes")


def test_hello_with_auth_authenticates_and_switches(s):
    with s.spawn(extra=["--requirepass", PASSWORD]) as srv:
        c = srv.conn()
        is_error(c.cmd("HELLO", "3", "AUTH", "default", "wrong"), WRONGPASS)
        is_error(c.cmd("HELLO", "2", "AUTH", "bob", PASSWORD), WRONGPASS)
        is_error(c.cmd("GET", "k"), NOAUTH, "failed HELLO AUTH leaves it unauthenticated")
        reply = c.cmd("HELLO", "3", "AUTH", "default", PASSWORD, "SETNAME", "authed")
        true(reply.startswith(b"%7\r\n$6\r\nserver\r\n"), f"HELLO 3 AUTH answers a map: {reply!r}")
        eq(c.cmd("GET", "k"), b"_\r\n", "authenticated, in RESP3")
        eq(c.cmd("CLIENT", "GETNAME"), b"$6\r\nauthed\r\n", "HELLO set the name")
        c2 = srv.conn()
        reply = c2.cmd("HELLO", "2", "AUTH", "default", PASSWORD)
        true(reply.startswith(b"*14\r\n$6\r\nserver\r\n"), f"HELLO 2 AUTH: {reply!r}")
        eq(c2.cmd("GET", "k"), b"$-1\r\n", "authenticated, in RESP2")


def test_real_clients_authenticate(s):
    import redis
    with s.spawn(extra=["--requirepass", PASSWORD]) as srv:
        r = srv.redis(password=PASSWORD)
        eq(r.set("k", "v"), True, "redis-py with password= sets")
        eq(r.get("k"), b"v", "and gets")
        try:
            srv.redis(password="wrong").ping()
            true(False, "redis-py with a wrong password fails")
        except redis.exceptions.ResponseError as e:
            eq(str(e), WRONGPASS, "redis-py with a wrong password")
        try:
            srv.redis().get("k")
            true(False, "redis-py without a password fails")
        except redis.exceptions.AuthenticationError as e:
            eq(str(e), "Authentication required.", "redis-py sees NOAUTH")
        if shutil.which("redis-cli") is None:
            print("    SKIP redis-cli part: redis-cli is missing", flush=True)
            return
        p = srv.cli("-a", PASSWORD, "--no-auth-warning", "GET", "k")
        eq((p.returncode, p.stdout), (0, b"v\n"), "redis-cli -a")
        p = srv.cli("GET", "k")
        eq(p.stdout.strip(), b"NOAUTH Authentication required.", "redis-cli without -a")


if __name__ == "__main__":
    kvtest.main()
