#!/usr/bin/python3
"""test_protocol.py - RESP parsing over raw sockets: malformed requests get
Redis's exact protocol error and the connection is closed; unknown commands
and wrong arities get their exact errors and the connection stays; inline
commands with quotes and escapes; commands split at every byte; big
pipelines and big values across many reads; clients that vanish mid-command.
After every bad client, another client still gets correct answers.
Usage: see kvtest.py.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import encode, eq, is_error, true  # noqa: E402

OK = b"+OK\r\n"
PONG = b"+PONG\r\n"
CANARY = b"canary value \x00\xff"

# Malformed requests and Redis's reply to each, after which it closes the
# connection. Each is sent after a good PING in the same write: commands
# before the bad bytes are answered first.
PROTOCOL_ERRORS = [
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*+1\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*01\r\n$4\r\nPING\r\n", "invalid multibulk length"),
    (b"*1\r\nx3\r\nfoo\r\n", "expected '$', got 'x'"),
    (b"*2\r\n$4\r\nECHO\r\n:3\r\n", "expected '$', got ':'"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*2\r\n$3\r\nGET\r\n$+5\r\n", "invalid bulk length"),
    (b"*1\r\n$04\r\nPING\r\n", "invalid bulk length"),
    (b"*1\r\n$600000000\r\n", "invalid bulk length"),  # 600 MB > 512 MB
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),  # one over 512 MiB
    (b'SET "foo bar\r\n', "unbalanced quotes in request"),
    (b"SET 'foo\r\n", "unbalanced quotes in request"),
    (b'SET "a"b c\r\n', "unbalanced quotes in request"),  # a closing quote needs a space after
    (b"ECHO 'it''s'\r\n", "unbalanced quotes in request"),
    # One byte over 64 KiB without a newline: the smallest requests that are
    # too big, so the server can read every byte before it closes (no RST
    # that could eat the error reply). A longer line whose newline arrives
    # in the same read is accepted by Redis: that depends on read sizes, so
    # it is not tested.
    (b"a" * 65537, "too big inline request"),
    (b"*" + b"1" * 65536, "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 65536, "too big bulk count string"),
]


def check_others_fine(s, what):
    """A new client still gets correct answers."""
    with kvtest.Conn(s.port) as other:
        eq(other.pipeline([("PING",), ("GET", "canary"), ("INCR", "canary:n")])[:2],
           [PONG, b"$%d\r\n%s\r\n" % (len(CANARY), CANARY)], f"another client after {what}")


def send_ignoring_reset(c, data):
    """Sends data; the server may close before reading it all."""
    try:
        c.send(data)
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_malformed_requests_get_the_protocol_error_and_are_closed(s):
    eq(s.conn().cmd("SET", "canary", CANARY), OK, "SET canary")
    for bad, message in PROTOCOL_ERRORS:
        what = f"{kvtest._short(bad, 40)}"
        c = s.conn()
        send_ignoring_reset(c, encode("PING") + bad)
        got = c.read_until_closed()
        eq(got, PONG + b"-ERR Protocol error: " + message.encode() + b"\r\n", what)
        check_others_fine(s, what)


def test_unknown_commands_get_an_error_and_keep_the_connection(s):
    c = s.conn()
    is_error(c.cmd("foo", "a", "b"),
             "ERR unknown command 'foo', with args beginning with: 'a' 'b' ")
    is_error(c.cmd("FOO"), "ERR unknown command 'FOO', with args beginning with: ")
    # A CR or LF would end the error line: it is written as a space.
    is_error(c.cmd("foo", "a\r\nb"), "ERR unknown command 'foo', with args beginning with: 'a  b' ")
    # Redis lists the arguments within 128 characters: each is cut to what
    # is left, and none starts after the 128th.
    is_error(c.cmd("foo", "a" * 200, "b"),
             "ERR unknown command 'foo', with args beginning with: '" + "a" * 128 + "' ")
    args = [f"a{i}" for i in range(100)]
    is_error(c.cmd("foo", *args), "ERR unknown command 'foo', with args beginning with: "
             + "".join(f"'a{i}' " for i in range(23)))
    # A 64 KiB inline line is not too big yet; the name is cut to 128 bytes.
    c.send(b"a" * 65536)
    c.send(b" b\r\n")
    is_error(c.reply(), "ERR unknown command '" + "a" * 128 + "', with args beginning with: 'b' ")
    c.send(b"nosuchcommand x y\r\n")
    is_error(c.reply(), "ERR unknown command 'nosuchcommand', with args beginning with: 'x' 'y' ")
    is_error(c.cmd("GET"), "ERR wrong number of arguments for 'get' command")
    c.send(b"GET\r\n")
    is_error(c.reply(), "ERR wrong number of arguments for 'get' command")
    # The internal commands atoll-kv's shards use are not for clients.
    for internal in (("kv.dump", "k"), ("kv.restore", "k", "v", "-1"), ("kv.info",),
                     ("kv.resetstat",)):
        reply = c.cmd(*internal)
        true(reply.startswith(b"-ERR unknown command '" + internal[0].encode() + b"'"),
             f"{internal[0]} is unknown to clients: {reply!r}")
    eq(c.cmd("PING"), PONG, "the connection is still open")
    eq(c.cmd("SET", "k", "v"), OK, "and works")


def test_inline_commands_with_quotes_and_escapes(s):
    c = s.conn()
    for line, want in ((b"PING\r\n", PONG), (b"PING\n", PONG), (b"  PING   \r\n", PONG),
                       (b"\t PING\t\r\n", PONG), (b"ping\r\n", PONG),
                       (b'ECHO "hello world"\r\n', b"$11\r\nhello world\r\n"),
                       (b'ECHO "a\\x41b\\n"\r\n', b"$4\r\naAb\n\r\n"),
                       (b'ECHO "\\t\\r\\x00"\r\n', b"$3\r\n\t\r\x00\r\n"),
                       (b"ECHO 'a\\'b'\r\n", b"$3\r\na'b\r\n"),
                       (b"ECHO 'x\\ny'\r\n", b"$4\r\nx\\ny\r\n"),  # no escapes in '...'
                       (b'ECHO ""\r\n', b"$0\r\n\r\n"),
                       (b'SET inline "two words"\r\n', OK),
                       (b"GET inline\r\n", b"$9\r\ntwo words\r\n"),
                       (b"\r\n\r\nPING\r\n", PONG),  # empty lines are skipped
                       (b"*0\r\nPING\r\n", PONG),  # so are empty multibulks
                       (b"*-1\r\nPING\r\n", PONG),
                       (b"MGET inline nosuch\r\n", b"*2\r\n$9\r\ntwo words\r\n$-1\r\n")):
        c.send(line)
        eq(c.reply(), want, f"inline {line!r}")
    c.send(b"PING\r\nPING\nECHO x\r\n")
    eq([c.reply() for _ in range(3)], [PONG, PONG, b"$1\r\nx\r\n"], "three inline commands at once")


def test_commands_split_at_every_byte(s):
    c = s.conn()
    other = s.conn()
    eq(other.cmd("SET", "canary", CANARY), OK, "SET canary")
    one = encode("SET", "split", "value\r\nwith crlf")
    # Paced, so the server sees every prefix of the command; meanwhile
    # another client is served.
    for i, byte in enumerate(one):
        c.send(bytes([byte]))
        if i == len(one) // 2:
            eq(other.cmd("GET", "canary"), b"$%d\r\n%s\r\n" % (len(CANARY), CANARY),
               "another client is served while a command is half sent")
        time.sleep(0.001)
    eq(c.reply(), OK, "SET sent one byte at a time")
    for data, want in ((encode("GET", "split"), b"$16\r\nvalue\r\nwith crlf\r\n"),
                       (b"PING\r\n", PONG), (b'ECHO "a b"\r\n', b"$3\r\na b\r\n"),
                       (encode("MGET", "split", "nosuch"),
                        b"*2\r\n$16\r\nvalue\r\nwith crlf\r\n$-1\r\n")):
        for byte in data:
            c.send(bytes([byte]))
        eq(c.reply(), want, f"{data!r} one byte at a time")
    commands, want = [], []
    for i in range(20):
        commands.append(encode("SET", f"bb:{i}", f"v{i}" * (i + 1)))
        want.append(OK)
        commands.append(encode("GET", f"bb:{i}"))
        value = f"v{i}" * (i + 1)
        want.append(b"$%d\r\n%s\r\n" % (len(value), value.encode()))
    stream = b"".join(commands)
    for byte in stream:
        c.send(bytes([byte]))
    eq([c.reply() for _ in want], want, f"a pipeline of 40 SET/GET, {len(stream)} bytes one by one")
    # Random cuts of a long pipeline, including cuts inside "\r\n".
    rng = random.Random(5)
    stream = b"".join(encode("INCR", f"cut:{i % 7}") for i in range(500))
    pos = 0
    while pos < len(stream):
        n = rng.choice((1, 2, 3, 5, 8, 13, 100, 1000))
        c.send(stream[pos:pos + n])
        pos += n
    replies = [c.reply() for _ in range(500)]
    counts = {}
    want = []
    for i in range(500):
        counts[i % 7] = counts.get(i % 7, 0) + 1
        want.append(b":%d\r\n" % counts[i % 7])
    eq(replies, want, "500 INCRs cut at random places")


def test_big_pipeline_and_big_values(s):
    c = s.conn()
    c.send(encode("PING") * 10000)
    eq(b"".join(c.reply() for _ in range(10000)), PONG * 10000, "10000 PINGs in one write")
    rng = random.Random(9)
    value = rng.randbytes(8 << 20)
    data = encode("SET", "big", value)
    pos = 0
    while pos < len(data):
        n = rng.choice((1, 7, 4096, 65536, 1 << 20))
        c.send(data[pos:pos + n])
        pos += n
    eq(c.reply(), OK, "SET of 8 MiB sent in random chunks")
    eq(c.cmd("GET", "big"), b"$%d\r\n%s\r\n" % (len(value), value), "GET of 8 MiB")
    eq(c.cmd("STRLEN", "big"), b":%d\r\n" % len(value), "STRLEN")
    many = [("GET", "big")] * 5 + [("PING",)]
    replies = c.pipeline(many)
    eq(replies[-1], PONG, "PING after 5 pipelined 8 MiB GETs")
    eq(set(replies[:5]), {b"$%d\r\n%s\r\n" % (len(value), value)}, "the 5 GETs")


def test_clients_that_vanish_mid_command_or_mid_reply(s):
    eq(s.conn().cmd("SET", "canary", CANARY), OK, "SET canary")
    s.conn().cmd("SET", "big", b"x" * (2 << 20))
    for partial in (b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc", b"*3\r\n$3\r\nSET\r\n",
                    b"*3\r\n", b"*", b"SET k v", encode("GET", "big") * 20):
        c = kvtest.Conn(s.port)
        c.send(partial)
        c.close()
        check_others_fine(s, f"a client that closed after {kvtest._short(partial, 40)}")
    eq(s.conn().cmd("EXISTS", "k"), b":0\r\n", "the half-sent SETs did nothing")


if __name__ == "__main__":
    kvtest.main()
