#!/usr/bin/python3
"""kvtest.py - the harness of atoll-kv's integration tests, and their runner.

Each tests/kv/test_*.py file imports this module and ends with kvtest.main().
main() starts the server under test on a free loopback port (the command
given with --server-cmd, or a real redis-server with --redis: Redis 7.0.15 is
the oracle every check must pass against first), runs the file's test_*
functions in order against it, and always stops it: try/finally, atexit, and
PR_SET_PDEATHSIG so it dies with us even if we are SIGKILLed by a ctest
timeout. atoll-kv must exit 0 on SIGTERM; redis-server's status is printed.

Every socket has a timeout and every wait is a bounded poll. Checks count
themselves (eq, true, is_error), so a run reports how many it made. A check
where atoll-kv may differ from Redis names its entry in DIFFERENCES, and is
skipped or loosened visibly, with the reason printed, never silently.

Exit status: 0 all passed, 1 a failure, 77 skipped (redis-py, redis-cli or
redis-server missing). Run as a script, kvtest.py runs every test_*.py here
with the same arguments and sums them up:

    /usr/bin/python3 tests/kv/kvtest.py --redis
    /usr/bin/python3 tests/kv/kvtest.py --server-cmd "build/bin/atoll-kv --port {port} --reactors 4 --enable-debug-command local"
    /usr/bin/python3 tests/kv/test_strings.py --redis -k incr
"""
import argparse
import atexit
import ctypes
import glob
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

EXIT_PASS, EXIT_FAIL, EXIT_SKIP = 0, 1, 77

# Every socket operation, server start and server stop is bounded by this.
TIMEOUT = 10.0

# The oracle. DEBUG is disabled by default since Redis 7; "local" allows it
# from loopback, which the DEBUG SLEEP checks need.
REDIS_CMD = ("redis-server --port {port} --bind 127.0.0.1 --save '' --appendonly no "
             "--daemonize no --enable-debug-command local")

# The few checks where atoll-kv is allowed to differ from Redis 7.0.15. Each
# entry is (where the check runs, why):
#   "atoll": the check runs against atoll-kv only; skipped (printed) on Redis.
#   "redis": the check runs against Redis only; skipped (printed) on atoll-kv.
#   "loose": the check runs on both, comparing only what both must share; a
#            note saying what is left out is printed.
DIFFERENCES = {
    "info-atoll-section": (
        "atoll", "atoll-kv's INFO has an extra '# atoll' section with per-reactor "
        "counters; Redis has no such section"),
    "client-setinfo": (
        "atoll", "CLIENT SETINFO came with Redis 7.2: 7.0.15 answers \"unknown "
        "subcommand 'SETINFO'\", atoll-kv implements it"),
    "help-flag": (
        "atoll", "atoll-kv --help prints its usage and exits 0; redis-server --help "
        "exits 1 and has other flags"),
    "reactors-flag": (
        "atoll", "--reactors is atoll-kv's own flag (one shard per reactor); Redis has "
        "none"),
    "sigterm-exit": (
        "atoll", "atoll-kv must exit 0 on SIGTERM; redis-server's exit status is "
        "only printed"),
    "multibulk-count-limit": (
        "atoll", "atoll-kv refuses a multibulk count over 1048576 (Redis's limit before "
        "7.0) at once; Redis 7.0 accepts counts up to INT_MAX and waits for the arguments"),
    "big-arg-prealloc": (
        "atoll", "Redis 7.0 reserves a big argument's declared length (up to 512 MiB) as "
        "soon as its $<len> line comes; atoll-kv grows to it only once half has come, so "
        "clients that announce and never send hold little memory"),
    "object-encoding-thresholds": (
        "redis", "Redis answers embstr up to 44 bytes and raw above or after "
        "APPEND/SETRANGE; atoll-kv only promises one of int/embstr/raw, int for "
        "integers"),
    "client-list-fields": (
        "loose", "CLIENT LIST lines: only id, addr, name and db are compared; Redis "
        "has ~25 fields (fd, qbuf, omem, ...), atoll-kv its own set"),
    "debug-subcommands": (
        "loose", "DEBUG subcommands other than SLEEP: atoll-kv has none; only checked "
        "to answer an -ERR reply and keep the connection"),
    "command-table": (
        "loose", "COMMAND COUNT/INFO/DOCS: atoll-kv has its own ~60 commands (Redis "
        "240); compared: the count covers ours, name/arity/key positions/"
        "write-readonly flags, DOCS summary and group; not ACL categories, tips, "
        "key specs, since, complexity, arguments"),
    "hello-server-version": (
        "loose", "HELLO's server/version values and INFO's redis_version are only "
        "checked to be present (non-empty, version x.y.z)"),
    "info-fields": (
        "loose", "INFO: only the sections server, clients, memory, stats, keyspace "
        "and the fields clients read are compared, not Redis's full field list"),
    "startup-error-format": (
        "loose", "a bad config line at start: atoll-kv prints 'atoll-kv: FILE:LINE: "
        "rename-command ...: REASON', Redis its FATAL CONFIG FILE ERROR block with 'at line "
        "N'; compared: the error exit, Redis's REASON text and the line number"),
    "rename-command-subcommand": (
        "atoll", "rename-command config|get ...: Redis 7.0.15 fails an assertion and "
        "crashes; atoll-kv refuses it (no such command)"),
    "rename-command-internal-name": (
        "atoll", "rename-command to kv.dump, kv.restore, kv.info or kv.resetstat: "
        "atoll-kv's internal commands' names are reserved; Redis has no such commands"),
    "rename-command-log": (
        "atoll", "atoll-kv's append-only log names a renamed command by its own name, so it "
        "replays under any renames; Redis 7.0 logs the new name and refuses to load it "
        "without the same renames (\"Unknown command 'put' reading the append only file\")"),
    "used-memory": (
        "loose", "used_memory: Redis counts its allocator's bytes (~1 MB before any "
        "key, client buffers included), atoll-kv its stores' own count of keys, values "
        "and tables; compared within 10% of maxmemory, with limits set from the "
        "server's own used_memory"),
}


class Skip(Exception):
    """Raised by a test (or main) to skip with a reason."""


class Failure(AssertionError):
    """A check that did not hold."""


# --- checks -------------------------------------------------------------

checks = 0
_notes_printed = set()
_skipped_differences = {}


def _short(v, n=300):
    r = repr(v)
    return r if len(r) <= n else r[:n] + f"... ({len(r)} chars)"


def eq(actual, expected, what=""):
    """Checks actual == expected; returns actual."""
    global checks
    checks += 1
    if actual != expected:
        raise Failure(f"{what}: expected {_short(expected)}, got {_short(actual)}")
    return actual


def true(cond, what=""):
    """Checks that cond holds; returns it."""
    global checks
    checks += 1
    if not cond:
        raise Failure(f"{what}: does not hold")
    return cond


def is_error(reply, message, what=""):
    """Checks that raw reply bytes are exactly the error "-<message>\\r\\n"."""
    return eq(reply, b"-" + message.encode() + b"\r\n", what or message)


def poll(fn, what, timeout=5.0, interval=0.01):
    """Calls fn until it returns something true; returns that. Fails after
    timeout seconds (a bounded wait, not a sleep used as synchronisation)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = fn()
        if last:
            return last
        if time.monotonic() > deadline:
            raise Failure(f"{what}: not within {timeout} s (last: {_short(last)})")
        time.sleep(interval)


def only(server, key):
    """True when the check named key (DIFFERENCES) runs on this server; else
    prints that it is skipped and why. For a "loose" key: prints, once, what
    the check leaves out, and returns True."""
    where, why = DIFFERENCES[key]
    if where == "loose":
        if key not in _notes_printed:
            _notes_printed.add(key)
            print(f"    NOTE [{key}] checked loosely: {why}", flush=True)
        return True
    runs = (where == "atoll") != server.is_redis
    if not runs:
        name = "redis-server" if server.is_redis else "atoll-kv"
        print(f"    SKIP on {name} [{key}]: {why}", flush=True)
        _skipped_differences[key] = _skipped_differences.get(key, 0) + 1
    return runs


# --- RESP over raw sockets ----------------------------------------------


def encode(*args):
    """One command as a RESP multibulk; str arguments are UTF-8, ints are
    written in decimal."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, int):
            a = str(a)
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def resp_end(buf, pos=0):
    """The index just past the one complete RESP2/RESP3 value at buf[pos:],
    or -1 when it is not complete yet. Raises ValueError on bytes that are
    not RESP."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return -1
    kind = buf[pos:pos + 1]
    after = nl + 2
    if kind in (b"+", b"-", b":", b",", b"#", b"_", b"("):
        return after
    if kind in (b"$", b"=", b"!"):
        n = int(buf[pos + 1:nl])
        if n < 0:
            return after
        end = after + n + 2
        return end if len(buf) >= end else -1
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(buf[pos + 1:nl])
        if n < 0:
            return after
        if kind in (b"%", b"|"):
            n *= 2
        p = after
        for _ in range(n):
            p = resp_end(buf, p)
            if p < 0:
                return -1
        if kind == b"|":  # attributes precede the value they describe
            return resp_end(buf, p)
        return p
    raise ValueError(f"not RESP at {pos}: {_short(buf[pos:pos + 60])}")


class Err(str):
    """An error reply, decoded (without the leading '-')."""


class Verbatim(bytes):
    """A RESP3 verbatim string's text (without the "txt:" prefix)."""


def decode(buf, pos=0):
    """Decodes the RESP value at buf[pos:]; returns (value, end). Simple
    strings become str, errors Err, integers int, bulks bytes, nulls None,
    arrays and sets lists, maps dicts, doubles float, booleans bool."""
    nl = buf.index(b"\r\n", pos)
    kind, line, after = buf[pos:pos + 1], buf[pos + 1:nl], nl + 2
    if kind == b"+":
        return line.decode(), after
    if kind == b"-":
        return Err(line.decode()), after
    if kind in (b":", b"("):
        return int(line), after
    if kind == b"_":
        return None, after
    if kind == b",":
        return float(line), after  # "inf", "-inf", "nan" parse too
    if kind == b"#":
        return line == b"t", after
    if kind in (b"$", b"=", b"!"):
        n = int(line)
        if n < 0:
            return None, after
        data = buf[after:after + n]
        if kind == b"=":
            data = Verbatim(data[4:])
        elif kind == b"!":
            data = Err(data.decode())
        return data, after + n + 2
    if kind in (b"*", b"~", b">", b"%", b"|"):
        n = int(line)
        if n < 0:
            return None, after
        items, p = [], after
        for _ in range(n * 2 if kind in (b"%", b"|") else n):
            v, p = decode(buf, p)
            items.append(v)
        if kind == b"|":
            return decode(buf, p)
        if kind == b"%":
            return dict(zip(items[0::2], items[1::2])), p
        return items, p
    raise ValueError(f"not RESP at {pos}: {_short(buf[pos:pos + 60])}")


class Closed(Exception):
    """The server closed the connection; .data holds what came before."""

    def __init__(self, data):
        super().__init__(f"connection closed by the server after {_short(data)}")
        self.data = data


class Conn:
    """A raw client socket, for exact reply bytes. Every call is bounded by
    the socket timeout."""

    def __init__(self, port, timeout=TIMEOUT, host="127.0.0.1"):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def local_addr(self):
        host, port = self.sock.getsockname()[:2]
        return f"{host}:{port}"

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        try:
            data = self.sock.recv(1 << 20)
        except ConnectionResetError:
            data = b""
        if not data:
            raise Closed(self.buf)
        self.buf += data

    def reply(self):
        """The next complete reply, as raw bytes."""
        while True:
            end = resp_end(self.buf) if self.buf else -1
            if end > 0:
                out, self.buf = self.buf[:end], self.buf[end:]
                return out
            self._fill()

    def cmd(self, *args):
        """Sends one command; returns its reply's raw bytes."""
        self.send(encode(*args))
        return self.reply()

    def call(self, *args):
        """Sends one command; returns its reply decoded (see decode)."""
        return decode(self.cmd(*args))[0]

    def pipeline(self, commands):
        """Sends the commands in one write; returns their raw replies."""
        self.send(b"".join(encode(*c) for c in commands))
        return [self.reply() for _ in commands]

    def read_until_closed(self, timeout=TIMEOUT):
        """Reads until the server closes the connection; returns every byte
        that came (beyond what reply() consumed). Fails if it stays open."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(f"the server did not close the connection within "
                              f"{timeout} s (received {_short(data)})")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                chunk = b""
            except socket.timeout:
                continue
            if not chunk:
                return data
            data += chunk


# --- the server under test ----------------------------------------------


def _pdeathsig():
    """In the child: die with SIGKILL when the test process dies, even by
    SIGKILL, so no server outlives a test."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def free_port():
    """A loopback port that was free a moment ago (bind 0, read, close)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_servers = []


@atexit.register
def _kill_leftovers():
    for srv in list(_servers):
        srv.kill()


class StartError(Exception):
    pass


class Server:
    """One server process on a loopback port.

    template: the command line with {port}; extra: flags appended (the same
    for both servers: --requirepass, --maxclients); redis_extra: flags for
    redis-server only; argv: a full command line instead of template+extra
    (for --config, whose port is in the file).
    """

    def __init__(self, template, is_redis, extra=(), redis_extra=(), argv=None, port=None):
        self.template = template
        self.is_redis = is_redis
        self.extra = list(extra) + (list(redis_extra) if is_redis else [])
        self.fixed_argv = argv
        self.port = port
        self.proc = None
        self.log = None
        self.returncode = None
        self.checked = False
        self.name = "redis-server" if is_redis else "atoll-kv"
        self._clients = []

    @property
    def is_atoll(self):
        return not self.is_redis

    def argv(self):
        if self.fixed_argv is not None:
            return list(self.fixed_argv)
        return shlex.split(self.template.replace("{port}", str(self.port))) + self.extra

    def start(self, attempts=3):
        """Starts the server and waits until it answers. A port taken between
        free_port() and the server's bind is retried with another one."""
        last = None
        for _ in range(attempts):
            if self.fixed_argv is None:
                self.port = free_port()
            self.log = tempfile.NamedTemporaryFile(prefix="kvtest-", suffix=".log", delete=False)
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL,
                                         stdout=self.log, stderr=subprocess.STDOUT,
                                         preexec_fn=_pdeathsig, start_new_session=True)
            _servers.append(self)
            try:
                self._wait_ready()
                return self
            except StartError as e:
                self.kill()
                last = f"{e}\n{self.log_tail()}"
                self.remove_log()
                if self.fixed_argv is not None:
                    break
        raise Failure(f"{self.name} did not start: {last}")

    def _wait_ready(self):
        """Polls with PING until the server answers (+PONG, or -NOAUTH when it
        wants a password), the process exits, or TIMEOUT passes."""
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise StartError(f"exited with status {self.proc.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                    s.settimeout(1.0)
                    s.sendall(b"PING\r\n")
                    line = s.recv(64)
                if line.startswith((b"+PONG", b"-NOAUTH")):
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise StartError(f"no answer to PING on port {self.port} within {TIMEOUT} s")

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=30):
        try:
            with open(self.log.name, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join("    | " + line for line in lines[-n:])
        except (OSError, AttributeError):
            return ""

    def stop(self):
        """SIGTERM, then SIGKILL after TIMEOUT; returns the exit status (as
        subprocess reports it: negative for a signal). atoll-kv must exit 0."""
        self.close_clients()
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=TIMEOUT)
                self.returncode = self.proc.returncode
                self._forget()
                raise Failure(f"{self.name} ignored SIGTERM for {TIMEOUT} s (SIGKILLed)")
        self.returncode = self.proc.returncode
        self._forget()
        return self.returncode

    def stop_and_check(self):
        """stop(), then the exit status check (atoll-kv only). Once."""
        if self.checked:
            return self.returncode
        self.checked = True
        rc = self.stop()
        if self.is_redis:
            print(f"    {self.name} exited with status {rc} on SIGTERM (not checked: "
                  f"[sigterm-exit])", flush=True)
        else:
            eq(rc, 0, f"{self.name} exit status on SIGTERM\n{self.log_tail()}")
        return rc

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        self._forget()

    def _forget(self):
        if self in _servers:
            _servers.remove(self)
        if self.log is not None:
            self.log.close()

    def remove_log(self):
        if self.log is not None:
            try:
                os.unlink(self.log.name)
            except OSError:
                pass

    # clients

    def conn(self, timeout=TIMEOUT, host="127.0.0.1"):
        """A raw RESP connection (closed at the end of the test); host: the
        address to connect to (a server bound to 0.0.0.0 is reachable on the
        host's own non-loopback addresses too)."""
        c = Conn(self.port, timeout, host)
        self._clients.append(c)
        return c

    def redis(self, **kw):
        """A redis-py client (closed at the end of the test)."""
        import redis
        kw.setdefault("socket_timeout", TIMEOUT)
        kw.setdefault("socket_connect_timeout", TIMEOUT)
        r = redis.Redis(host="127.0.0.1", port=self.port, **kw)
        self._clients.append(r)
        return r

    def close_clients(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:  # a client already broken by the test
                pass
        self._clients.clear()

    def cli(self, *args, input=None, timeout=30, check=False):
        """Runs redis-cli against the server; returns the CompletedProcess
        (bytes stdout/stderr)."""
        argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), *args]
        p = subprocess.run(argv, input=input, capture_output=True, timeout=timeout)
        if check and p.returncode != 0:
            raise Failure(f"{argv} exited {p.returncode}: {p.stderr!r}")
        return p

    def info(self, section=None, conn=None):
        """INFO [section] parsed as {section: {field: value}} (str values)."""
        c = conn or self.conn()
        text = c.call("INFO", *([section] if section else []))
        return parse_info(text)

    def spawn(self, extra=(), redis_extra=(), argv=None, port=None):
        """Another server of the same kind with more flags (started; stop it
        with stop_and_check). Used as a context manager it is always stopped,
        and its exit status checked when the body succeeded."""
        return _Spawned(Server(self.template, self.is_redis, extra, redis_extra, argv, port))


class _Spawned:
    def __init__(self, server):
        self.server = server

    def __enter__(self):
        return self.server.start()

    def __exit__(self, kind, value, tb):
        try:
            if kind is None:
                self.server.stop_and_check()
            else:
                if not isinstance(value, Skip):
                    print(self.server.log_tail(), flush=True)
                self.server.stop()
        finally:
            self.server.kill()
            self.server.remove_log()
        return False


def parse_info(text):
    """INFO's text as {section name, lower case: {field: value}}. Every line
    must be a "# Section" heading, "field:value" or empty."""
    if isinstance(text, bytes):
        text = text.decode()
    sections, current = {}, None
    for line in text.split("\r\n"):
        if not line:
            continue
        if line.startswith("# "):
            current = sections.setdefault(line[2:].strip().lower(), {})
            continue
        true(current is not None and ":" in line, f"INFO line {line!r} is field:value")
        k, v = line.split(":", 1)
        current[k] = v
    return sections


def keyspace_line(value):
    """"keys=3,expires=1,avg_ttl=0" as a dict of ints."""
    out = {}
    for part in value.split(","):
        k, v = part.split("=", 1)
        out[k] = int(v)
    return out


# --- the runner ---------------------------------------------------------


def _args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--server-cmd", help='command line with {port}, e.g. '
                   '"build/bin/atoll-kv --port {port} --reactors 4"')
    g.add_argument("--redis", action="store_true",
                   help="test the oracle: " + REDIS_CMD)
    p.add_argument("-k", dest="pattern", help="only tests whose name contains this")
    return p.parse_args(argv)


def main(needs=()):
    """Runs the calling script's test_* functions (definition order) against
    one server; exits 0, 1 or 77. needs: programs the tests cannot do
    without (skip, 77, when one is missing)."""
    import __main__
    args = _args(sys.argv[1:])
    script = os.path.basename(__main__.__file__)
    tests = [(n, f) for n, f in vars(__main__).items() if n.startswith("test_") and callable(f)]
    if args.pattern:
        tests = [(n, f) for n, f in tests if args.pattern in n]
    template = REDIS_CMD if args.redis else args.server_cmd

    def skip_all(reason):
        print(f"SKIP {script}: {reason}", flush=True)
        sys.exit(EXIT_SKIP)

    try:
        import redis  # noqa: F401  (redis-py, Debian's python3-redis)
    except ImportError:
        skip_all(f"redis-py is missing (apt-get install python3-redis; run with "
                 f"/usr/bin/python3, not {sys.executable})")
    for prog in needs:
        if shutil.which(prog) is None:
            skip_all(f"{prog} is missing (apt-get install redis-tools)")
    binary = shlex.split(template)[0]
    if shutil.which(binary) is None:
        if args.redis:
            skip_all("redis-server is missing (apt-get install redis-server)")
        print(f"FAIL {script}: server binary {binary!r} not found", flush=True)
        sys.exit(EXIT_FAIL)

    server = Server(template, args.redis)
    passed, failed, skipped = [], [], []
    start = time.monotonic()
    print(f"{script}: against {server.name} ({template})", flush=True)

    # Tests restart the server when it died; only a failure to start at all
    # ends the run.
    try:
        server.start()
        for name, fn in tests:
            t0 = time.monotonic()
            try:
                if not server.alive():
                    server.kill()
                    server.remove_log()
                    server = Server(template, args.redis).start()
                with server.conn() as c:
                    eq(c.cmd("FLUSHALL"), b"+OK\r\n", "FLUSHALL before the test")
                fn(server)
                true(server.alive(), f"{server.name} still running after {name}")
                passed.append(name)
                print(f"ok   {name} ({time.monotonic() - t0:.2f}s)", flush=True)
            except Skip as e:
                skipped.append(name)
                print(f"SKIP {name}: {e}", flush=True)
            except Exception as e:  # a failed check or an unexpected error
                failed.append(name)
                print(f"FAIL {name} ({time.monotonic() - t0:.2f}s): "
                      f"{type(e).__name__}: {e}", flush=True)
                traceback.print_exc(limit=-3, file=sys.stdout)
                if not server.alive():
                    print(f"    {server.name} died:\n{server.log_tail()}", flush=True)
            finally:
                server.close_clients()
        try:
            server.stop_and_check()
        except Failure as e:
            failed.append("server exit")
            print(f"FAIL server exit: {e}", flush=True)
    except Failure as e:
        failed.append("server start")
        print(f"FAIL {e}", flush=True)
    finally:
        server.kill()
        if not failed:
            server.remove_log()
        elif server.log is not None:
            print(f"    server log: {server.log.name}", flush=True)

    for key, n in sorted(_skipped_differences.items()):
        print(f"    skipped [{key}] {n}x on {server.name}: {DIFFERENCES[key][1]}")
    print(f"{script}: {len(passed)} passed, {len(failed)} failed, {len(skipped)} skipped; "
          f"{checks} checks; {time.monotonic() - start:.1f}s against {server.name}", flush=True)
    print(f"CHECKS {checks}", flush=True)
    if failed:
        sys.exit(EXIT_FAIL)
    if skipped and not passed:
        sys.exit(EXIT_SKIP)
    sys.exit(EXIT_PASS)


def run_all(argv):
    """Runs every test_*.py next to this file, one process each, with the
    same arguments; prints one line per file and the totals."""
    _args(argv)  # validates the arguments, --help
    here = os.path.dirname(os.path.abspath(__file__))
    results, total_checks = [], 0
    start = time.monotonic()
    for path in sorted(glob.glob(os.path.join(here, "test_*.py"))):
        name = os.path.basename(path)
        t0 = time.monotonic()
        try:
            p = subprocess.run([sys.executable, path, *argv], capture_output=True,
                               text=True, timeout=300)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired as e:
            rc, out = EXIT_FAIL, f"{e.stdout or ''}\ntimed out after 300 s"
        m = re.search(r"^CHECKS (\d+)$", out, re.M)
        n = int(m.group(1)) if m else 0
        total_checks += n
        status = {EXIT_PASS: "ok", EXIT_SKIP: "SKIP"}.get(rc, "FAIL")
        results.append((name, status))
        print(f"{status:4} {name}: {n} checks, {time.monotonic() - t0:.1f}s", flush=True)
        if status != "ok":
            print("\n".join("    " + line for line in out.rstrip().splitlines()), flush=True)
    failed = [n for n, s in results if s == "FAIL"]
    print(f"{len(results)} files: {len(results) - len(failed)} ok or skipped, {len(failed)} "
          f"failed; {total_checks} checks; {time.monotonic() - start:.1f}s", flush=True)
    return EXIT_FAIL if failed else EXIT_PASS


if __name__ == "__main__":
    sys.exit(run_all(sys.argv[1:]))
