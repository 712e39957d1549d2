#!/usr/bin/python3
"""Writes a deterministic, text-like log stream to stdout: what a busy service prints.

usage: gen_text.py --bytes N [--seed S]
       gen_text.py --lines N --interval-ms MIN-MAX [--seed S]

--bytes N   exactly N bytes, as fast as possible (the benchmark's text-like payload, written to a
            file once and then sent with `exec POD -- cat FILE`).
--lines N   N lines, each starting with a marker `F000123 ` (its number) and flushed on its own,
            with a pause of MIN..MAX milliseconds (deterministic) before each: run by podtape-sim
            as an exec command, it makes a recording with many frames at known times.

The same seed gives the same bytes on every machine (Python's random.Random is specified to be
reproducible for a given seed). The lines mix repeated structure (timestamps, levels, services,
paths) with high-entropy fields (request ids, addresses, latencies), so they compress about as
real logs do rather than as a repeated pattern would.
"""
import argparse
import random
import sys
import time

LEVELS = ["INFO"] * 12 + ["DEBUG"] * 6 + ["WARN"] * 2 + ["ERROR"]
SERVICES = ["api-gateway", "checkout", "cart", "payments", "inventory", "auth", "search",
            "recommendations", "shipping", "notifications"]
METHODS = ["GET"] * 6 + ["POST"] * 3 + ["PUT", "DELETE", "PATCH"]
PATHS = ["/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/cart/{id}/items", "/healthz",
         "/api/v1/users/{id}", "/api/v1/products", "/api/v1/products/{id}/reviews",
         "/api/v2/search", "/metrics", "/api/v1/payments/{id}/capture", "/login", "/logout"]
STATUS = [200] * 30 + [201] * 4 + [204] * 3 + [301, 304, 400, 401, 403, 404, 404, 409, 429,
                                                 500, 502, 503]
MESSAGES = [
    "request completed",
    "cache miss, fetching from upstream",
    "retrying after transient error",
    "connection pool exhausted, waiting for a free connection",
    "slow query detected",
    "token refreshed",
    "rate limit applied",
    "published event to queue",
    "consumer lag above threshold",
    "circuit breaker half-open",
]
AGENTS = ["curl/8.4.0", "kube-probe/1.32", "Mozilla/5.0 (X11; Linux x86_64)", "okhttp/4.12.0",
          "python-requests/2.31.0", "Go-http-client/2.0"]


class Lines:
    """An endless deterministic sequence of log lines (str, each ending in a newline)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.t_ms = 1_767_225_600_000  # 2026-01-01T00:00:00Z

    def next(self):
        r = self.rng
        self.t_ms += r.randint(0, 40)
        secs, ms = divmod(self.t_ms, 1000)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs))
        level = r.choice(LEVELS)
        svc = r.choice(SERVICES)
        path = r.choice(PATHS).replace("{id}", str(r.randint(1, 99999)))
        kind = r.random()
        if kind < 0.6:
            return (f'{ts}.{ms:03d}Z {level:<5} {svc} req={r.getrandbits(64):016x} '
                    f'client=10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)} '
                    f'"{r.choice(METHODS)} {path} HTTP/1.1" status={r.choice(STATUS)} '
                    f'bytes={r.randint(0, 65536)} dur={r.expovariate(1 / 35):.3f}ms '
                    f'ua="{r.choice(AGENTS)}"\n')
        if kind < 0.9:
            return (f'{ts}.{ms:03d}Z {level:<5} {svc} {r.choice(MESSAGES)} '
                    f'trace_id={r.getrandbits(128):032x} attempt={r.randint(1, 3)} '
                    f'elapsed={r.randint(1, 5000)}ms\n')
        return (f'{{"ts":"{ts}.{ms:03d}Z","level":"{level.lower()}","service":"{svc}",'
                f'"msg":"{r.choice(MESSAGES)}","user_id":{r.randint(1, 10**7)},'
                f'"path":"{path}","latency_ms":{r.expovariate(1 / 50):.2f}}}\n')


def write_bytes(n, seed):
    out = sys.stdout.buffer
    lines = Lines(seed)
    block = []
    size = 0
    left = n
    while left > 0:
        line = lines.next().encode()
        block.append(line)
        size += len(line)
        if size >= 1 << 20 or size >= left:
            data = b"".join(block)[:left]
            out.write(data)
            left -= len(data)
            block, size = [], 0
    out.flush()


def write_paced(count, lo_ms, hi_ms, seed):
    out = sys.stdout.buffer
    lines = Lines(seed)
    pace = random.Random(seed + 1)
    for i in range(count):
        time.sleep(pace.uniform(lo_ms, hi_ms) / 1000)
        out.write(b"F%06d " % i + lines.next().encode())
        out.flush()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bytes", type=int)
    p.add_argument("--lines", type=int)
    p.add_argument("--interval-ms", default="5-35")
    p.add_argument("--seed", type=int, default=8)
    a = p.parse_args()
    if (a.bytes is None) == (a.lines is None):
        p.error("give exactly one of --bytes and --lines")
    if a.bytes is not None:
        write_bytes(a.bytes, a.seed)
    else:
        lo, _, hi = a.interval_ms.partition("-")
        write_paced(a.lines, float(lo), float(hi or lo), a.seed)


if __name__ == "__main__":
    main()
