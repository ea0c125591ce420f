"""The HTTP server comparison behind llmpulse's choice of server (docs/benchmarks.md).

Each candidate of `llmpulse.bench.bare_servers` (and llmpulse itself, `llmpulse`) runs in
its own process and is measured for:

- **framing**: the RFC 9112 request-framing cases of issue 13 (signed, underscored and
  duplicate Content-Length, negative / hex / underscored chunk sizes, unsupported transfer
  codings, a chunked body with trailers followed by a pipelined request...): the statuses
  answered and whether the connection was closed;
- **deadlines**: how long an idle connection, a slow header sender, a slow body sender and an
  idle keep-alive connection are kept (every server is given its tightest knob, 2 s);
- **throughput**: requests/s of 1-, 10- and 512-span protobuf requests over keep-alive from
  several senders (raw sockets, so the client costs little), in rounds that alternate the
  servers, median kept.

    python -m llmpulse.bench.http_servers --rounds 3 --seconds 2 --json servers.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from llmpulse.bench.bare_servers import DEADLINE_S, KINDS, LLMPULSE_BARE

HOST = "127.0.0.1"
PROBE_WAIT_S = 12.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class Candidate:
    """One server in its own process (`kind` of bare_servers, or "llmpulse" for the exporter)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.port = free_port()
        if kind == "llmpulse":      # the exporter itself
            overrides = {"server": {"otlp_http_port": self.port, "metrics_port": 0, "grpc_enabled": False,
                                    "host": HOST, "header_timeout_seconds": DEADLINE_S,
                                    "body_timeout_seconds": DEADLINE_S, "idle_timeout_seconds": DEADLINE_S}}
            argv = [sys.executable, "-m", "llmpulse.bench.server", json.dumps(overrides)]
        else:
            argv = [sys.executable, "-m", "llmpulse.bench.bare_servers", kind, HOST, str(self.port)]
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
                break
            except OSError as e:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{kind} did not start") from e
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                if self.proc.stdin is not None:
                    self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# ----------------------------------------------------------------- raw HTTP

def request_bytes(body: bytes, path: str = "/v1/traces") -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-protobuf\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class RawClient:
    """A keep-alive connection that sends prebuilt requests and reads Content-Length answers."""

    def __init__(self, port: int):
        self.sock = socket.create_connection((HOST, port), timeout=30)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def exchange(self, req: bytes) -> int:
        self.sock.sendall(req)
        while b"\r\n\r\n" not in self.buf:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError("closed")
            self.buf += got
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            k, _, v = line.partition(b":")
            if k.strip().lower() == b"content-length":
                length = int(v)
        while len(rest) < length:
            got = self.sock.recv(65536)
            if not got:
                raise ConnectionError("closed")
            rest += got
        self.buf = rest[length:]
        return status

    def close(self) -> None:
        self.sock.close()


def rate(port: int, requests: list[bytes], senders: int, seconds: float, cycle: bool = True) -> float:
    """Requests/s answered 200 by `senders` keep-alive connections taking from `requests` in turn.

    With `cycle` False every request is sent at most once (an exporter drops resent spans, which
    would flatter it): the run ends early, and is timed to that end, when they run out."""
    stop = threading.Event()
    counts = [0] * senders
    errors: list[BaseException] = []
    ticket = itertools.count()

    def run(i: int) -> None:
        try:
            c = RawClient(port)
            while not stop.is_set():
                k = next(ticket)
                if not cycle and k >= len(requests):
                    stop.set()
                    break
                try:
                    status = c.exchange(requests[k % len(requests)])
                except ConnectionError:           # a keep-alive limit: reconnect, as clients do
                    c.close()
                    c = RawClient(port)
                    continue
                if status != 200:
                    raise RuntimeError(f"answered {status}")
                counts[i] += 1
            c.close()
        except BaseException as exc:  # reported by the caller
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(senders)]
    t = time.perf_counter()
    for th in threads:
        th.start()
    stop.wait(seconds)
    stop.set()
    for th in threads:
        th.join()
    took = time.perf_counter() - t
    if errors:
        raise errors[0]
    return sum(counts) / took


# ----------------------------------------------------------------- framing probes

_H = f"POST /v1/traces HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-protobuf\r\n"
_NEXT = f"POST /v1/traces HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"

# name -> (raw request, what a strict server does)
FRAMING = {
    "content_length_plus": (_H + "Content-Length: +2\r\n\r\n\n\x00", "400"),
    "content_length_underscore": (_H + "Content-Length: 1_0\r\n\r\n" + "\x00" * 10, "400"),
    "content_length_twice_differing": (_H + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n\n\x00\x00", "400"),
    "content_length_and_chunked": (_H + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "400"),
    "chunk_size_negative": (_H + "Transfer-Encoding: chunked\r\n\r\n-1\r\n" + "\x00" * 64, "400"),
    "chunk_size_hex_prefix": (_H + "Transfer-Encoding: chunked\r\n\r\n0x2\r\n\n\x00\r\n0\r\n\r\n", "400"),
    "chunk_size_underscore": (_H + "Transfer-Encoding: chunked\r\n\r\n1_0\r\n" + "\x00" * 16 + "\r\n0\r\n\r\n",
                              "400"),
    "te_gzip_chunked": (_H + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", "400 or 501"),
    "te_chunked_not_last": (_H + "Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n", "400"),
    "space_before_colon": (_H + "Content-Length : 0\r\n\r\n", "400"),
    "obs_fold": (_H + "X-A: b\r\n c\r\nContent-Length: 0\r\n\r\n", "400"),
    "trailers_then_pipelined": (_H + "Transfer-Encoding: chunked\r\n\r\n0\r\nX-Trailer: 1\r\n\r\n" + _NEXT,
                                "two answers"),
    "header_100k": (_H + "X-Big: " + "a" * 100_000 + "\r\nContent-Length: 0\r\n\r\n", "400 or 431"),
}


def probe(port: int, raw: bytes, wait: float = 1.5) -> str:
    """Send raw bytes; the statuses answered, and 'closed' if the server closed the connection."""
    s = socket.create_connection((HOST, port), timeout=wait)
    got = b""
    closed = False
    try:
        s.sendall(raw)
        end = time.monotonic() + wait
        while time.monotonic() < end:
            s.settimeout(max(0.05, end - time.monotonic()))
            try:
                part = s.recv(65536)
            except socket.timeout:
                break
            except OSError:
                closed = True
                break
            if not part:
                closed = True
                break
            got += part
            if got.count(b"HTTP/1.") >= 2:
                break
    except OSError:
        closed = True
    finally:
        s.close()
    statuses = [got[i + 9:i + 12].decode(errors="replace") for i in range(len(got)) if got.startswith(b"HTTP/1.", i)]
    return (" ".join(statuses) or "no answer") + (", closed" if closed else "")


def framing(port: int) -> dict:
    return _parallel({name: (lambda raw=raw: probe(port, raw.encode("latin-1"))) for name, (raw, _) in FRAMING.items()})


def _parallel(cases: dict) -> dict:
    out: dict = {}

    def run(name, fn):
        try:
            out[name] = fn()
        except OSError as exc:
            out[name] = f"error {exc}"
    threads = [threading.Thread(target=run, args=kv) for kv in cases.items()]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return {k: out[k] for k in cases}


# ----------------------------------------------------------------- deadline probes

def _held(port: int, first: bytes, drip: bytes, every: float, wait: float = PROBE_WAIT_S,
          answered_first: bool = False) -> str:
    """Seconds until the server closes a connection that sent `first`, then one byte of `drip` each `every` s."""
    s = socket.create_connection((HOST, port), timeout=wait)
    t = time.monotonic()
    try:
        if first:
            s.sendall(first)
        if answered_first:
            s.settimeout(5)
            s.recv(65536)
            t = time.monotonic()
        s.settimeout(every)
        i = 0
        while time.monotonic() - t < wait:
            try:
                got = s.recv(65536)
                if not got:
                    return f"{time.monotonic() - t:.1f} s"
                if b"HTTP/1." in got:
                    return f"answered {got[9:12].decode()} at {time.monotonic() - t:.1f} s"
            except socket.timeout:
                pass
            except OSError:
                return f"{time.monotonic() - t:.1f} s (reset)"
            if drip:
                try:
                    s.send(drip[i % len(drip):i % len(drip) + 1])
                except OSError:
                    return f"{time.monotonic() - t:.1f} s (reset)"
                i += 1
        return f"> {wait:.0f} s"
    finally:
        s.close()


def deadlines(port: int) -> dict:
    slow_head = _H.encode()
    body_head = (_H + "Content-Length: 100000\r\n\r\n").encode()
    cases = {
        "idle_after_connect": lambda: _held(port, b"", b"", 0.5),
        "slow_headers": lambda: _held(port, b"POST /v1/traces HTTP/1.1\r\n", slow_head[27:] + b"X-Slow: " +
                                      b"a" * 200, 0.5),
        "slow_body": lambda: _held(port, body_head, b"\x00", 0.5),
        "idle_keep_alive": lambda: _held(port, _NEXT.encode(), b"", 0.5, answered_first=True),
    }
    return _parallel(cases)


# ----------------------------------------------------------------- the comparison

def compare(kinds: list[str], rounds: int, seconds: float, senders: int, log=print) -> dict:
    from llmpulse.bench.payloads import SpanPool

    pool = SpanPool(seed=7, calls=600)
    sizes = (1, 10, 512)
    reqs = {n: [request_bytes(b) for b in pool.bodies(n, 200 if n < 512 else 20, "protobuf")] for n in sizes}
    res: dict = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "load_average_start": os.getloadavg()[0],
                 "senders": senders, "seconds_per_point": seconds, "rounds": rounds, "servers": {}}
    for kind in kinds:
        c = Candidate(kind)
        try:
            res["servers"][kind] = {"framing": framing(c.port), "deadlines": deadlines(c.port),
                                    "rps": {str(n): [] for n in sizes}}
            log(f"{kind}: probes done")
        finally:
            c.stop()
    for r in range(rounds):
        order = kinds[r % len(kinds):] + kinds[:r % len(kinds)]     # a different server first each round
        for kind in order:
            c = Candidate(kind)
            try:
                rate(c.port, reqs[1], senders, 0.3)                  # warm up
                for n in sizes:
                    res["servers"][kind]["rps"][str(n)].append(rate(c.port, reqs[n], senders, seconds))
            finally:
                c.stop()
            log(f"round {r + 1}: {kind}: " + ", ".join(
                f"{n} spans {res['servers'][kind]['rps'][str(n)][-1]:,.0f}/s" for n in sizes))
    for kind in kinds:
        s = res["servers"][kind]
        s["median_rps"] = {n: statistics.median(v) for n, v in s["rps"].items() if v}
    res["load_average_end"] = os.getloadavg()[0]
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__ and __doc__.split("\n")[0])
    p.add_argument("--servers", default=",".join(KINDS + ("llmpulse",)),
                   help="comma separated: " + ", ".join(KINDS + (LLMPULSE_BARE, "llmpulse")))
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--senders", type=int, default=4)
    p.add_argument("--json", metavar="PATH")
    a = p.parse_args()
    res = compare(a.servers.split(","), a.rounds, a.seconds, a.senders, log=lambda s: print(s, file=sys.stderr))
    text = json.dumps(res, indent=2)
    if a.json:
        with open(a.json, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
