#!/usr/bin/python3
"""podtape's benchmark: every figure of issue 8 beside its peer, measured in the same run.

usage: run_bench.py [--build DIR | --podtape BIN --sim BIN] [--smoke] [--runs N] [--json FILE]

Starts podtape-sim (HTTPS, port 0) with one pod whose exec runs local processes, and measures:
  throughput  `exec POD -- cat FILE` (256 MiB, random and text-like) to /dev/null:
              podtape exec (recording) vs kubectl exec (not recording); the same through
              `podtape proxy` (recording) vs kubectl straight to the API server
  start-up    `exec POD -- true`, wall time, podtape vs kubectl
  memory      peak RSS of podtape exec vs kubectl, 256 MiB and 1 GiB sessions
  storage     database bytes per recorded byte (frames and sessions; the search index apart)
              vs the session's asciicast v2 export
  reading     `podtape cat` vs `asciinema cat` of the v2 export (under a pty);
              `podtape export --format cast-v2` MB/s
  replay      `podtape play` vs `asciinema play` of the same recording, read from a pty with
              timestamps: deviation from the schedule (median, p95) and time to first frame
Runs alternate podtape, peer, podtape, peer, ...; each figure is the median over runs and the
ratio is the median of the per-pair ratios. Prints one table (markdown). --smoke runs tiny sizes
once, to check that everything works (CI); its figures mean nothing. Exit status 1 when any
measurement could not be made (a command failed, bytes went missing); figures never fail it.

Every process it starts is stopped by its PID; the temporary folder is removed at the end.
"""
import argparse
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import pty_stamp  # noqa: E402  (beside this file)

PYTHON = "/usr/bin/python3"
GEN_TEXT = os.path.join(HERE, "gen_text.py")
MIB = 1 << 20


class BenchError(Exception):
    """A measurement could not be made (not a figure that missed its target)."""


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def percentile(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(len(s) * p / 100))]


class Timed:
    """Wall time (s), CPU time (user+system s), peak RSS (KiB) of the command itself, and its exit
    code."""

    def __init__(self, wall, cpu, maxrss_kib, code, err):
        self.wall, self.cpu, self.maxrss_kib, self.code, self.err = wall, cpu, maxrss_kib, code, err


# The peak RSS comes from GNU time, not from this process's wait4: Linux carries the parent's
# resident size into a forked child's ru_maxrss across exec, so a command started straight from
# Python reported at least Python's RSS (32 MiB here, more than podtape's own peak).
GNU_TIME = "/usr/bin/time"


def timed(argv, env, timeout_s, stdout=subprocess.DEVNULL):
    """Runs argv under GNU time with stdin and stdout on /dev/null, stderr kept; past timeout_s
    its process group (GNU time and the command, nothing else) is killed."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as rss:
        t0 = time.perf_counter()
        p = subprocess.Popen([GNU_TIME, "-f", "%M", "-o", rss.name, "--"] + argv,
                             stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, env=env,
                             start_new_session=True)
        killer = threading.Timer(timeout_s, lambda: os.killpg(p.pid, signal.SIGKILL))
        killer.start()
        try:
            _, status, ru = os.wait4(p.pid, 0)  # GNU time's rusage holds the command's CPU
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen quiet
        err.seek(0)
        text = err.read().decode(errors="replace")
        rss.seek(0)
        lines = rss.read().split()
    # GNU time exits with the command's status; "Command exited with non-zero status N" or
    # "Command terminated by signal N" lines precede the figure.
    maxrss = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    code = p.returncode if p.returncode >= 0 else 128 - p.returncode
    return Timed(wall, ru.ru_utime + ru.ru_stime, maxrss, code, text)


def check(r, what):
    if r.code != 0:
        raise BenchError(f"{what} exited {r.code}: {r.err.strip()[-2000:]}")
    return r


class Sim:
    """podtape-sim on 127.0.0.1:0 with HTTPS; stopped by its PID."""

    def __init__(self, binary, workdir, data_dir):
        os.makedirs(workdir, exist_ok=True)
        self.config = os.path.join(workdir, "cluster.yaml")
        with open(self.config, "w") as f:
            f.write(CLUSTER.format(data=data_dir))
        self.tls = os.path.join(workdir, "tls")
        self.stderr = open(os.path.join(workdir, "sim.stderr"), "w+")
        self.proc = None
        self.url = start_server(
            [binary, "--config", self.config, "--listen", "127.0.0.1:0", "--tls-dir", self.tls],
            self.stderr, self, os.environ)

    def stop(self):
        stop_server(self.proc)


CLUSTER = """\
httpUser: alice
users:
  - name: alice
    token: alice-token
    groups: [dev]
    exec: true
  - name: podtape-proxy
    token: podtape-proxy-token
    groups: [podtape]
    exec: true
    impersonate: true
pods:
  - name: bench
    containers:
      - name: main
        workingDir: {data}
"""


def start_server(argv, stderr, holder, env, timeout_s=30):
    """Starts a server that prints `listening on URL` first; returns the URL (holder.proc set)."""
    holder.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=stderr, env=env)
    box = {}

    def read_first_line():
        box["line"] = holder.proc.stdout.readline().decode(errors="replace")

    t = threading.Thread(target=read_first_line, daemon=True)
    t.start()
    t.join(timeout_s)
    line = box.get("line", "")
    m = re.match(r"listening on (\S+)", line)
    if not m:
        stop_server(holder.proc)
        stderr.seek(0)
        raise BenchError(f"{argv[0]} did not start: {line!r} {stderr.read()[-2000:]}")
    return m.group(1)


def stop_server(proc):
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def find_indexer(db):
    """The PID of the detached `podtape --db DB index --background` that exec started for this
    benchmark's own database DB (matched on its exact arguments in /proc), or None."""
    want = ["--db", db, "index", "--background"]
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if args[1:5] == want:
            return int(pid)
    return None


def settle_indexer(db, timeout_s, stop):
    """Waits (bounded) until the background indexer exec started for DB is gone; returns the
    seconds waited. With stop, ends every indexer of DB instead (SIGTERM to each PID; SQLite
    rolls back its open transaction): indexing a 256 MiB session takes a minute and would overlap
    the next runs, and the proxy starts another after one ends while a session waits."""
    t0 = time.perf_counter()
    if stop:
        stop_indexers(db, timeout_s)
        return time.perf_counter() - t0
    pid = find_indexer(db)
    while pid is not None:
        if time.perf_counter() - t0 > timeout_s:
            raise BenchError(f"the background indexer of {db} (pid {pid}) still runs after "
                             f"{timeout_s:.0f} s")
        time.sleep(0.02)
        pid = find_indexer(db)
    return time.perf_counter() - t0


def stop_indexers(db, timeout_s=30):
    """Ends every background indexer of DB (SIGTERM by PID) until none is left, and none comes
    back within 0.3 s (the proxy starts the next one as soon as it has reaped the last)."""
    t0 = time.perf_counter()
    quiet_since = None
    while True:
        pid = find_indexer(db)
        if pid is None:
            quiet_since = quiet_since or time.perf_counter()
            if time.perf_counter() - quiet_since >= 0.3:
                return
        else:
            quiet_since = None
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if time.perf_counter() - t0 > timeout_s:
            raise BenchError(f"the background indexers of {db} still run after {timeout_s} s")
        time.sleep(0.02)


def session_row(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return con.execute("SELECT id, bytes, end_reason, exit_code FROM sessions "
                           "ORDER BY started_at_ns DESC LIMIT 1").fetchone()
    finally:
        con.close()


def table_bytes(db):
    """(store bytes, search index bytes, file bytes): pages per b-tree from SQLite's dbstat for
    the store; the search index is its own file beside it (DB.index, schema/index_schema.sql),
    counted in pages as well (0 when there is none)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        store = con.execute("SELECT SUM(pgsize) FROM dbstat").fetchone()[0] or 0
        page_size = con.execute("PRAGMA page_size").fetchone()[0]
        pages = con.execute("PRAGMA page_count").fetchone()[0]
    finally:
        con.close()
    index = 0
    if os.path.exists(db + ".index"):
        # Read-write: an indexer the driver stopped may have left a hot WAL, which a read-only
        # connection cannot recover ("attempt to write a readonly database").
        con = sqlite3.connect(f"{db}.index", timeout=30)
        try:
            index = con.execute("SELECT SUM(pgsize) FROM dbstat").fetchone()[0] or 0
        finally:
            con.close()
    return store, index, page_size * pages


class Row:
    def __init__(self, figure, podtape, peer, ratio, target, met, unit=""):
        self.figure, self.podtape, self.peer, self.ratio = figure, podtape, peer, ratio
        self.target, self.met, self.unit = target, met, unit


def fmt(v, digits=3):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v != v:  # nan
        return "-"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}g}" if abs(v) < 1 else f"{v:.2f}"


class Bench:
    def __init__(self, args):
        self.a = args
        self.rows = []
        self.notes = []
        self.tmp = tempfile.mkdtemp(prefix="podtape-bench-")
        self.data = os.path.join(self.tmp, "data")
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.data)
        os.makedirs(self.home)
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("KUBECONFIG", "PODTAPE_DB", "KUBERNETES_MASTER",
                                 "KUBECTL_REMOTE_COMMAND_WEBSOCKETS")}
        self.env["HOME"] = self.home
        self.sim = None
        self.proxy = None
        self.proxy_stderr = None
        self.dbn = 0
        self.proxy_sessions = 0

    # --- helpers -------------------------------------------------------------------------------

    def new_db(self, tag):
        self.dbn += 1
        return os.path.join(self.tmp, f"{tag}-{self.dbn}.db")

    def podtape_exec(self, db, command, timeout_s, index="stop"):
        """podtape exec, timed; then its background indexer is stopped or (index="wait")
        waited for, so that it never overlaps the next measurement."""
        argv = [self.a.podtape, "--db", db, "exec", "--kubeconfig", self.kubeconfig, "bench",
                "--"] + command
        r = check(timed(argv, self.env, timeout_s), "podtape exec")
        r.index_wait = settle_indexer(db, self.a.index_timeout, stop=index == "stop")
        return r

    def kubectl(self, kubeconfig, command, timeout_s):
        argv = [self.a.kubectl, "--kubeconfig", kubeconfig, "--cache-dir",
                os.path.join(self.tmp, "kcache"), "exec", "bench", "--"] + command
        return check(timed(argv, self.env, timeout_s), "kubectl exec")

    def expect_session(self, db, nbytes, what):
        row = session_row(db)
        if row is None:
            raise BenchError(f"{what}: no session recorded in {db}")
        if row[1] != nbytes or row[2] != "completed" or row[3] != 0:
            raise BenchError(f"{what}: session {row[0]} recorded {row[1]} bytes (want {nbytes}), "
                             f"end {row[2]}, exit code {row[3]}")
        return row[0]

    def add(self, *a, **k):
        self.rows.append(Row(*a, **k))

    # --- set-up --------------------------------------------------------------------------------

    def setup(self):
        self.size = self.a.mib * MIB
        log(f"generating {self.a.mib} MiB random and text-like files in {self.data}")
        with open(os.path.join(self.data, "random.bin"), "wb") as f:
            left = self.size
            while left:
                n = min(left, 16 * MIB)
                f.write(os.urandom(n))
                left -= n
        with open(os.path.join(self.data, "text.log"), "wb") as f:
            subprocess.run([PYTHON, GEN_TEXT, "--bytes", str(self.size)], stdout=f, check=True,
                           timeout=600)
        self.sim = Sim(self.a.sim, os.path.join(self.tmp, "sim"), self.data)
        self.kubeconfig = os.path.join(self.sim.tls, "kubeconfig-alice")
        log(f"podtape-sim at {self.sim.url}")

    def start_proxy(self):
        tls = self.sim.tls
        self.proxy_db = os.path.join(self.tmp, "proxy.db")
        self.proxy_stderr = open(os.path.join(self.tmp, "proxy.stderr"), "w+")
        self.proxy = type("Holder", (), {"proc": None})()
        url = start_server(
            [self.a.podtape, "--db", self.proxy_db, "proxy", "--listen", "127.0.0.1:0",
             "--kubeconfig", os.path.join(tls, "kubeconfig-podtape-proxy"), "--tls-cert",
             os.path.join(tls, "server.crt"), "--tls-key", os.path.join(tls, "server.key"),
             "--client-ca", os.path.join(tls, "ca.crt")], self.proxy_stderr, self.proxy, self.env)
        self.proxy_kubeconfig = os.path.join(self.tmp, "kubeconfig-proxy")
        with open(self.proxy_kubeconfig, "w") as f:
            f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster:
    server: {url}
    certificate-authority: {os.path.join(tls, "ca.crt")}
contexts:
- name: proxy
  context: {{cluster: proxy, user: alice, namespace: default}}
current-context: proxy
users:
- name: alice
  user: {{token: alice-token}}
""")
        log(f"podtape proxy at {url}")

    def cleanup(self):
        if self.proxy is not None:
            stop_server(self.proxy.proc)
        if self.sim is not None:
            self.sim.stop()
        if self.a.keep:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- figures -------------------------------------------------------------------------------

    def throughput(self, kind, fname):
        """podtape exec vs kubectl exec of `cat FILE`; keeps the first podtape database."""
        path = os.path.join(self.data, fname)
        pt, kc, ratios, rss_p, rss_k, cpu_p, cpu_k = [], [], [], [], [], [], []
        keep_db = None
        for i in range(self.a.runs):
            db = self.new_db(kind)
            p = self.podtape_exec(db, ["cat", path], 600)
            self.expect_session(db, self.size, f"podtape exec cat {fname}")
            k = self.kubectl(self.kubeconfig, ["cat", path], 600)
            pt.append(p.wall)
            kc.append(k.wall)
            ratios.append(p.wall / k.wall)
            cpu_p.append(p.cpu)
            cpu_k.append(k.cpu)
            rss_p.append(p.maxrss_kib / 1024)
            rss_k.append(k.maxrss_kib / 1024)
            log(f"  {kind} run {i + 1}: podtape {p.wall:.3f} s (CPU {p.cpu:.2f} s, "
                f"{p.maxrss_kib // 1024} MiB), kubectl {k.wall:.3f} s (CPU {k.cpu:.2f} s, "
                f"{k.maxrss_kib // 1024} MiB)")
            if keep_db is None:
                keep_db = db
            else:
                remove_db(db)
        target = 1.0 if kind == "text" else 1.5
        r = median(ratios)
        mib = self.a.mib
        self.add(f"exec {mib} MiB {kind}, s (kubectl exec)", median(pt), median(kc), r,
                 f"<= {target}x", r <= target)
        self.notes.append(f"exec {kind}: podtape {mib / median(pt):.0f} MiB/s, kubectl "
                          f"{mib / median(kc):.0f} MiB/s; CPU time of the client: podtape "
                          f"{median(cpu_p):.2f} s, kubectl {median(cpu_k):.2f} s")
        # Peak RSS: the highest of the runs (it depends on how full the writer's queue got).
        return keep_db, max(rss_p), max(rss_k)

    def throughput_proxy(self, kind, fname):
        path = os.path.join(self.data, fname)
        via, direct, ratios = [], [], []
        for i in range(self.a.runs):
            p = self.kubectl(self.proxy_kubeconfig, ["cat", path], 600)
            self.proxy_sessions += 1
            self.settle_proxy()
            d = self.kubectl(self.kubeconfig, ["cat", path], 600)
            via.append(p.wall)
            direct.append(d.wall)
            ratios.append(p.wall / d.wall)
            log(f"  proxy {kind} run {i + 1}: via podtape proxy {p.wall:.3f} s, "
                f"direct {d.wall:.3f} s")
        target = 1.0 if kind == "text" else 1.5
        r = median(ratios)
        self.add(f"kubectl via podtape proxy {self.a.mib} MiB {kind}, s (direct)", median(via),
                 median(direct), r, f"<= {target}x", r <= target)

    def settle_proxy(self):
        """Waits (bounded, not timed) until the proxy has ended every session it recorded, and
        stops a background indexer it may have started, so neither overlaps the next run."""
        t0 = time.perf_counter()
        while True:
            con = sqlite3.connect(f"file:{self.proxy_db}?mode=ro", uri=True, timeout=30)
            try:
                n, running = con.execute("SELECT COUNT(*), COUNT(*) - COUNT(ended_at_ns) FROM "
                                         "sessions").fetchone()
            finally:
                con.close()
            if n >= self.proxy_sessions and running == 0:
                break
            if time.perf_counter() - t0 > 120:
                raise BenchError(f"podtape proxy recorded {n} of {self.proxy_sessions} sessions, "
                                 f"{running} still running after 120 s")
            time.sleep(0.02)
        settle_indexer(self.proxy_db, self.a.index_timeout, stop=True)

    def startup(self):
        pt, kc, ratios = [], [], []
        db = self.new_db("startup")
        for i in range(self.a.startup_runs):
            p = self.podtape_exec(db, ["true"], 60)
            k = self.kubectl(self.kubeconfig, ["true"], 60)
            pt.append(p.wall * 1000)
            kc.append(k.wall * 1000)
            ratios.append(p.wall / k.wall)
        r = median(ratios)
        log(f"  start-up: podtape {median(pt):.1f} ms, kubectl {median(kc):.1f} ms")
        self.add("exec -- true, ms (kubectl exec)", median(pt), median(kc), r, "<= 0.5x", r <= 0.5)

    def memory(self, rss_small_p, rss_small_k):
        big_mib = self.a.mib * 4
        path = os.path.join(self.data, "text.log")
        cmd = ["cat", path, path, path, path]
        pt, kc = [], []
        for i in range(self.a.memory_runs):
            db = self.new_db("big")
            p = self.podtape_exec(db, cmd, 1200)
            self.expect_session(db, 4 * self.size, "podtape exec of 4x the text file")
            k = self.kubectl(self.kubeconfig, cmd, 1200)
            remove_db(db)
            pt.append(p.maxrss_kib / 1024)
            kc.append(k.maxrss_kib / 1024)
            log(f"  {big_mib} MiB: podtape {p.wall:.2f} s {pt[-1]:.1f} MiB, "
                f"kubectl {k.wall:.2f} s {kc[-1]:.1f} MiB")
        big_p, big_k = median(pt), median(kc)
        self.add(f"peak RSS, {self.a.mib} MiB text session, MiB (kubectl)", rss_small_p,
                 rss_small_k, rss_small_p / rss_small_k, "<= 32 MiB", rss_small_p <= 32)
        self.add(f"peak RSS, {big_mib} MiB text session, MiB (kubectl)", big_p, big_k,
                 big_p / big_k, "<= 32 MiB", big_p <= 32)
        growth = big_p / rss_small_p
        self.add(f"RSS growth {self.a.mib} MiB -> {big_mib} MiB, x (kubectl's)", growth,
                 big_k / rss_small_k, growth / (big_k / rss_small_k), "<= 1.1x (flat)",
                 growth <= 1.1)

    def index_cost(self):
        """The search index exec builds in the background, on a smaller text-like session (it
        takes seconds per MiB): its bytes per recorded byte and how long after exec it ended."""
        n = min(self.size, self.a.index_bytes)
        db = self.new_db("index")
        path = os.path.join(self.data, "text.log")
        p = self.podtape_exec(db, ["head", "-c", str(n), path], 600, index="wait")
        self.expect_session(db, n, "podtape exec of the text file's head")
        store, index, _ = table_bytes(db)
        remove_db(db)
        log(f"  index of {n / MIB:g} MiB text: {index / MIB:.1f} MiB, done {p.index_wait:.1f} "
            f"s after exec")
        self.add(f"search index of a {n / MIB:g} MiB text session, bytes per recorded byte",
                 index / n, None, None, "-", None)
        self.add("search index: background indexing after exec, s per MiB", p.index_wait / (
            n / MIB), None, None, "-", None)

    def index_overlap(self):
        """podtape exec while the background indexer of the session before it runs, against the
        same exec with indexing off (PODTAPE_NO_INDEX=1) on a store holding the same session
        before it: indexing must not slow recording by more than 10%."""
        path = os.path.join(self.data, "text.log")
        no_index = dict(self.env, PODTAPE_NO_INDEX="1")
        on, off, ratios = [], [], []

        def argv(db):
            return [self.a.podtape, "--db", db, "exec", "--kubeconfig", self.kubeconfig, "bench",
                    "--", "cat", path]

        for i in range(self.a.runs):
            db_on, db_off = self.new_db("overlap-on"), self.new_db("overlap-off")
            check(timed(argv(db_on), self.env, 600), "podtape exec")
            if find_indexer(db_on) is None:
                raise BenchError("no background indexer ran after podtape exec")
            p_on = check(timed(argv(db_on), self.env, 600), "podtape exec beside an indexer")
            busy = find_indexer(db_on) is not None
            stop_indexers(db_on)
            check(timed(argv(db_off), no_index, 600), "podtape exec (PODTAPE_NO_INDEX=1)")
            p_off = check(timed(argv(db_off), no_index, 600), "podtape exec (PODTAPE_NO_INDEX=1)")
            on.append(p_on.wall)
            off.append(p_off.wall)
            ratios.append(p_on.wall / p_off.wall)
            log(f"  run {i + 1}: beside the indexer {p_on.wall:.3f} s (indexer still running at "
                f"the end: {busy}), indexing off {p_off.wall:.3f} s")
            remove_db(db_on)
            remove_db(db_off)
        r = median(ratios)
        self.add(f"exec {self.a.mib} MiB text beside the previous session's indexer, s "
                 "(indexing off)", median(on), median(off), r, "<= 1.1x", r <= 1.1)

    def export_cast(self, db, out):
        argv = [self.a.podtape, "--db", db, "export", "last", out, "--format", "cast-v2"]
        return check(timed(argv, self.env, 600), "podtape export --format cast-v2")

    def storage(self, kind, db, target):
        store, index, total = table_bytes(db)
        cast = os.path.join(self.tmp, f"{kind}.cast")
        self.export_cast(db, cast)
        cast_bytes = os.path.getsize(cast)
        per = store / self.size
        cast_per = cast_bytes / self.size
        self.add(f"storage {kind}, db bytes per recorded byte (cast v2 export)", per, cast_per,
                 per / cast_per, f"<= {target}", per <= target)
        self.notes.append(f"storage {kind}: frames+sessions {store / MIB:.1f} MiB, file "
                          f"{total / MIB:.1f} MiB, cast v2 "
                          f"{cast_bytes / MIB:.1f} MiB for {self.a.mib} MiB recorded")
        return cast

    def reading(self, db, cast):
        # The figures before this one wrote about 2 GiB; their writeback would otherwise land on
        # whichever reader runs first (podtape, in every pair).
        os.sync()
        pt, ac, ratios, ex, cpu_p, cpu_a, cpu_e = [], [], [], [], [], [], []
        out = os.path.join(self.tmp, "export.cast")
        for i in range(self.a.runs):
            p = pty_stamp.run([self.a.podtape, "--db", db, "cat", "last"], timeout_s=600,
                              null_stdout=True, env=self.env)
            a = pty_stamp.run([self.a.asciinema, "cat", cast], timeout_s=600, null_stdout=True,
                              env=self.env)
            for what, r in (("podtape cat", p), ("asciinema cat", a)):
                if r.exit_code != 0 or r.timed_out:
                    raise BenchError(f"{what} exited {r.exit_code}: {r.head[-2000:]!r}")
            pt.append((p.end_ns - p.spawn_ns) / 1e9)
            ac.append((a.end_ns - a.spawn_ns) / 1e9)
            ratios.append(pt[-1] / ac[-1])
            cpu_p.append(p.cpu)
            cpu_a.append(a.cpu)
            e = self.export_cast(db, out)
            ex.append(self.size / 1e6 / e.wall)
            cpu_e.append(e.cpu)
            log(f"  cat run {i + 1}: podtape {pt[-1]:.3f} s, asciinema {ac[-1]:.3f} s; "
                f"export {ex[-1]:.0f} MB/s")
        os.remove(out)
        r = median(ratios)
        self.add(f"cat {self.a.mib} MiB text session, s (asciinema cat of cast v2)", median(pt),
                 median(ac), r, "<= 0.2x", r <= 0.2)
        self.add("export --format cast-v2, MB/s of recorded bytes", median(ex), None, None,
                 ">= 300", median(ex) >= 300)
        self.notes.append(f"reading: CPU time of podtape cat {median(cpu_p):.2f} s, asciinema cat "
                          f"{median(cpu_a):.2f} s; export --format cast-v2 {median(cpu_e):.2f} s "
                          f"({self.size / 1e6 / median(cpu_e):.0f} MB per CPU second)")

    def replay(self):
        lines = self.a.replay_lines
        db = self.new_db("replay")
        argv = [self.a.podtape, "--db", db, "exec", "--kubeconfig", self.kubeconfig, "bench",
                "--", PYTHON, GEN_TEXT, "--lines", str(lines), "--interval-ms", "5-35"]
        check(timed(argv, self.env, 300), "podtape exec of the paced generator")
        settle_indexer(db, self.a.index_timeout, stop=False)
        cast = os.path.join(self.tmp, "replay.cast")
        self.export_cast(db, cast)
        schedule = {}  # marker -> ms of the output event that completes it
        tail = b""
        with open(cast, encoding="utf-8") as f:
            next(f)  # header
            for line in f:
                t, kind, text = json.loads(line)
                if kind == "o":
                    buf = tail + text.encode()
                    for m in pty_stamp.MARKER.finditer(buf):
                        schedule.setdefault(int(m.group(1)), t * 1000)
                    tail = buf[-8:]
        if len(schedule) != lines:
            raise BenchError(f"the replay recording holds {len(schedule)} of {lines} markers")
        results = {"podtape": [], "asciinema": []}
        for i in range(self.a.replay_runs):
            for who, cmd in (("podtape", [self.a.podtape, "--db", db, "play", "last"]),
                             ("asciinema", [self.a.asciinema, "play", cast])):
                r = pty_stamp.run(cmd, timeout_s=120, env=self.env)
                if r.exit_code != 0 or r.timed_out or len(r.markers) != lines:
                    raise BenchError(f"{who} play exited {r.exit_code} with {len(r.markers)} of "
                                     f"{lines} frames: {r.head[-1000:]!r}")
                results[who].append(deviation(r, schedule))
        figs = {}
        for who, runs in results.items():
            figs[who] = (median([x[0] for x in runs]), median([x[1] for x in runs]),
                         median([x[2] for x in runs]))
            log(f"  {who} play: median {figs[who][0]:.3f} ms, p95 {figs[who][1]:.3f} ms, "
                f"first frame {figs[who][2]:.1f} ms")
        p, a = figs["podtape"], figs["asciinema"]
        self.add("play: median deviation from schedule, ms (asciinema play)", p[0], a[0],
                 p[0] / a[0] if a[0] else None, "<= asciinema", p[0] <= a[0])
        self.add("play: p95 deviation, ms (asciinema play)", p[1], a[1],
                 p[1] / a[1] if a[1] else None, "<= 1 ms", p[1] <= 1.0)
        self.add("play: first frame after start, ms (asciinema play)", p[2], a[2], p[2] / a[2],
                 "<= 20 ms", p[2] <= 20)


def deviation(run, schedule):
    """(median, p95 deviation ms, first-frame ms) of one play run against the schedule.

    Lateness of each frame is its arrival after spawn minus its scheduled time; deviations are
    taken from the earliest start no frame contradicts (the minimum lateness), so the player's
    start-up is not counted as replay timing. First frame: the first marker's lateness."""
    late = [(t - run.spawn_ns) / 1e6 - schedule[n] for n, t in run.markers]
    anchor = min(late)
    dev = [x - anchor for x in late]
    first = min(run.markers, key=lambda m: schedule[m[0]])
    first_ms = (first[1] - run.spawn_ns) / 1e6 - schedule[first[0]]
    return median(dev), percentile(dev, 95), first_ms


def remove_db(db):
    for suffix in ("", "-wal", "-shm", "-journal", ".live", ".indexing", ".index", ".index-wal",
                   ".index-shm"):
        try:
            os.remove(db + suffix)
        except FileNotFoundError:
            pass


def version(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError):
        return "?"


def machine_facts(a):
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    load = open("/proc/loadavg").read().split()[:3]
    return [
        f"cpu: {cpu}, {os.cpu_count()} cores; memory {mem_kib / MIB:.1f} GiB; "
        f"kernel {platform.release()}",
        f"load average at start: {' '.join(load)}",
        f"{version([a.podtape, '--version'])}; kubectl {version([a.kubectl, 'version', '--client'])}"
        f"; {version([a.asciinema, '--version'])}",
    ]


def print_table(rows, out):
    out.write("| figure | podtape | peer | ratio | target | met |\n")
    out.write("|---|---:|---:|---:|---|---|\n")
    for r in rows:
        met = "-" if r.met is None else ("met" if r.met else "**missed**")
        ratio = "-" if r.ratio is None else f"{fmt(r.ratio)}x"
        out.write(f"| {r.figure} | {fmt(r.podtape)} | {fmt(r.peer)} | {ratio} | {r.target} | "
                  f"{met} |\n")


def main():
    p = argparse.ArgumentParser(description="podtape's benchmark against kubectl and asciinema")
    p.add_argument("--build", help="a CMake build folder holding cli/podtape and "
                   "samples/podtape-sim (default: build/release beside this folder)")
    p.add_argument("--podtape")
    p.add_argument("--sim")
    p.add_argument("--kubectl", default=shutil.which("kubectl") or "kubectl")
    p.add_argument("--asciinema", default=shutil.which("asciinema") or "asciinema")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, one run each (CI)")
    p.add_argument("--runs", type=int, help="alternating pairs per throughput figure (3)")
    p.add_argument("--mib", type=int, help="session size in MiB (256; memory uses 4x)")
    p.add_argument("--json", help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = p.parse_args()
    build = a.build or os.path.join(os.path.dirname(HERE), "build", "release")
    a.podtape = a.podtape or os.path.join(build, "cli", "podtape")
    a.sim = a.sim or os.path.join(build, "samples", "podtape-sim")
    for b in (a.podtape, a.sim, a.kubectl, a.asciinema):
        if not os.access(b, os.X_OK):
            sys.exit(f"error: {b} is not an executable: build podtape and podtape-sim first "
                     "(cmake --build build/release), or give --build")
    if a.smoke:
        a.mib = a.mib or 1
        a.runs = a.runs or 1
        a.startup_runs, a.memory_runs, a.replay_runs, a.replay_lines = 1, 1, 1, 20
        a.index_timeout = 120
        a.index_bytes = 256 << 10
    else:
        a.mib = a.mib or 256
        a.runs = a.runs or 3
        a.startup_runs, a.memory_runs, a.replay_runs, a.replay_lines = 3 * a.runs, 1, a.runs, 150
        a.index_timeout = 600
        a.index_bytes = 8 * MIB
    b = Bench(a)
    facts = machine_facts(a)
    t0 = time.perf_counter()
    try:
        b.setup()
        log("throughput: text-like")
        text_db, rss_p, rss_k = b.throughput("text", "text.log")
        log("throughput: random")
        random_db, _, _ = b.throughput("random", "random.bin")
        log("throughput through podtape proxy")
        b.start_proxy()
        b.throughput_proxy("text", "text.log")
        b.throughput_proxy("random", "random.bin")
        stop_server(b.proxy.proc)
        log("start-up")
        b.startup()
        log("memory")
        b.memory(rss_p, rss_k)
        log("storage")
        text_cast = b.storage("text", text_db, 0.35)
        random_cast = b.storage("random", random_db, 1.05)
        b.index_cost()
        log("recording beside a background indexer")
        b.index_overlap()
        os.remove(random_cast)
        remove_db(random_db)
        log("reading back")
        b.reading(text_db, text_cast)
        log("replay timing")
        b.replay()
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        b.cleanup()
        return 1
    except BaseException:
        b.cleanup()
        raise
    b.cleanup()
    elapsed = time.perf_counter() - t0
    load = open("/proc/loadavg").read().split()[:3]
    out = sys.stdout
    out.write(f"\npodtape benchmark{' (smoke: tiny sizes, figures meaningless)' if a.smoke else ''}"
              f", {a.runs} alternating run(s) per figure, {elapsed:.0f} s\n")
    for f in facts + [f"load average at end: {' '.join(load)}"]:
        out.write(f"- {f}\n")
    out.write("\n")
    print_table(b.rows, out)
    out.write("\n")
    for n in b.notes:
        out.write(f"- {n}\n")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"facts": facts, "elapsed_s": elapsed, "notes": b.notes,
                       "rows": [r.__dict__ for r in b.rows]}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
