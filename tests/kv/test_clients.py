#!/usr/bin/python3
"""test_clients.py - the real command-line clients: redis-cli one-shot
commands (raw and --no-raw output, -e, -x, -n, -r, --scan), commands read
from stdin, --pipe with 10000 SETs, -3 (RESP3), and redis-benchmark (skipped,
with the reason printed, when it is not installed). Usage: see kvtest.py.
"""
import os
import re
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import kvtest  # noqa: E402
from kvtest import encode, eq, only, true  # noqa: E402


def out(p):
    return p.stdout.decode(errors="replace")


def test_redis_cli_one_shot_commands(s):
    eq(out(s.cli("SET", "k", "v", check=True)), "OK\n", "SET")
    eq(out(s.cli("GET", "k", check=True)), "v\n", "GET")
    eq(out(s.cli("GET", "nosuch", check=True)), "\n", "GET of a missing key (raw: empty line)")
    eq(out(s.cli("MSET", "a", "1", "b", "2", check=True)), "OK\n", "MSET")
    eq(out(s.cli("MGET", "a", "nosuch", "b", check=True)), "1\n\n2\n", "MGET (raw)")
    eq(out(s.cli("INCR", "n", check=True)), "1\n", "INCR (raw)")
    eq(out(s.cli("DBSIZE", check=True)), "4\n", "DBSIZE")
    eq(out(s.cli("-n", "5", "SET", "in5", "x", check=True)), "OK\n", "-n 5 SET")
    eq(out(s.cli("-n", "5", "DBSIZE", check=True)), "1\n", "-n 5 DBSIZE")
    eq(out(s.cli("-r", "3", "INCR", "rep", check=True)), "1\n2\n3\n", "-r 3 INCR")
    eq(out(s.cli("EXISTS", "in5", check=True)), "0\n", "db0 has no in5")
    eq(out(s.cli("DBSIZE", check=True)), "5\n", "DBSIZE (k, a, b, n, rep)")
    info = out(s.cli("INFO", check=True))
    true("# Server" in info and "# Keyspace" in info, "INFO has its sections")
    true(re.search(r"^db0:keys=5,expires=0,avg_ttl=\d+\r?$", info, re.M),
         f"INFO's keyspace line for db0: {info[-200:]!r}")
    true(re.search(r"^db5:keys=1,", info, re.M), "INFO's keyspace line for db5")
    eq(out(s.cli("INFO", "keyspace", check=True)).replace("\r", "").split("\n")[0], "# Keyspace",
       "INFO keyspace")


def test_redis_cli_no_raw_output(s):
    s.cli("SET", "k", "hello world", check=True)
    s.conn().cmd("SET", "bin", b"\x00\xff\"")  # no NUL in argv
    eq(out(s.cli("--no-raw", "GET", "k")), '"hello world"\n', "--no-raw GET")
    eq(out(s.cli("--no-raw", "GET", "bin")), '"\\x00\\xff\\""\n', "--no-raw GET of binary")
    eq(out(s.cli("--no-raw", "GET", "nosuch")), "(nil)\n", "--no-raw nil")
    eq(out(s.cli("--no-raw", "MGET", "k", "nosuch")), '1) "hello world"\n2) (nil)\n',
       "--no-raw MGET")
    eq(out(s.cli("--no-raw", "INCR", "n")), "(integer) 1\n", "--no-raw integer")
    eq(out(s.cli("--no-raw", "SET", "k", "v")), "OK\n", "--no-raw status")
    eq(out(s.cli("--no-raw", "INCR", "k")), "(error) ERR value is not an integer or out of range\n",
       "--no-raw error")
    eq(out(s.cli("--no-raw", "KEYS", "nomatch*")), "(empty array)\n", "--no-raw empty array")


def test_redis_cli_exit_status_with_e(s):
    s.cli("SET", "text", "abc", check=True)
    p = s.cli("-e", "INCR", "text")
    eq(p.returncode, 1, "-e: a failed command exits 1")
    true(b"ERR value is not an integer or out of range" in p.stdout + p.stderr,
         "-e prints the error")
    p = s.cli("INCR", "text")
    eq(p.returncode, 0, "without -e: exit 0 even on an error reply")
    eq(s.cli("-e", "GET", "text").returncode, 0, "-e: a good command exits 0")


def test_redis_cli_reads_stdin(s):
    p = s.cli("-x", "SET", "from-stdin", input=b"line 1\nline 2\n", check=True)
    eq(out(p), "OK\n", "-x SET")
    eq(s.conn().cmd("GET", "from-stdin"), b"$14\r\nline 1\nline 2\n\r\n",
       "-x took stdin as the last argument")
    p = s.cli(input=b"SET a 1\nINCR a\nGET a\nGET nosuch\n", check=True)
    eq(out(p), "OK\n2\n2\n\n", "commands read from stdin, one per line")


def test_redis_cli_pipe_mode_with_10000_sets(s):
    n = 10000
    with tempfile.TemporaryFile() as f:
        f.write(b"".join(encode("SET", f"pipe:{i}", f"value {i}") for i in range(n)))
        f.seek(0)
        p = s.cli("--pipe", input=f.read(), timeout=60)
    text = out(p)
    eq(p.returncode, 0, f"--pipe exits 0: {text!r} {p.stderr!r}")
    true(f"errors: 0, replies: {n}" in text, f"--pipe reports {n} replies, no errors: {text!r}")
    c = s.conn()
    eq(c.cmd("DBSIZE"), b":%d\r\n" % n, "DBSIZE after --pipe")
    eq(c.cmd("GET", "pipe:9876"), b"$10\r\nvalue 9876\r\n", "a value from --pipe")
    eq(sorted(out(s.cli("--scan", "--pattern", "pipe:99*", check=True)).split()),
       sorted(f"pipe:{i}" for i in range(n) if str(i).startswith("99")), "--scan --pattern")


def test_redis_cli_resp3(s):
    s.cli("SET", "k", "v", check=True)
    eq(out(s.cli("-3", "--no-raw", "CONFIG", "GET", "appendonly")), '1# "appendonly" => "no"\n',
       "-3 map")
    eq(out(s.cli("-3", "--no-raw", "GET", "nosuch")), "(nil)\n", "-3 null")
    eq(out(s.cli("-3", "--no-raw", "GET", "k")), '"v"\n', "-3 bulk")
    eq(out(s.cli("-3", "--no-raw", "EXISTS", "k")), "(integer) 1\n", "-3 integer")
    eq(out(s.cli("-3", "MGET", "k", "nosuch")), "v\n\n", "-3 raw MGET")
    hello = out(s.cli("-3", "--no-raw", "HELLO", "3"))
    true('"proto" => (integer) 3' in hello, f"-3 HELLO 3 shows proto 3: {hello!r}")
    only(s, "info-fields")
    info = out(s.cli("-3", "INFO", "keyspace"))
    true(re.search(r"^db0:keys=1,", info, re.M), f"-3 INFO (a verbatim string): {info!r}")


def test_redis_benchmark_runs(s):
    if shutil.which("redis-benchmark") is None:
        raise kvtest.Skip("redis-benchmark is missing (apt-get install redis-tools)")
    for extra in ([], ["-P", "16"]):
        argv = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port), "-t", "set,get",
                "-n", "2000", "-c", "10", "-q", *extra]
        p = kvtest.subprocess.run(argv, capture_output=True, timeout=60)
        text = out(p).replace("\r", "\n")
        eq(p.returncode, 0, f"{' '.join(argv)} exits 0: {p.stderr!r}")
        for test in ("SET", "GET"):
            m = re.search(rf"^\s*{test}: ([\d.]+) requests per second", text, re.M)
            true(m and float(m.group(1)) > 0, f"{test} line with requests per second: {text!r}")
            print(f"    redis-benchmark {' '.join(extra)} {test}: {m.group(1)} requests per second",
                  flush=True)
    eq(s.conn().cmd("EXISTS", "key:__rand_int__"), b":1\r\n", "the benchmark's key")


if __name__ == "__main__":
    kvtest.main(needs=("redis-cli",))
