#!/usr/bin/python3
"""Runs a command on a new pseudo-terminal (its controlling terminal) and timestamps its output.

usage: pty_stamp.py [--timeout S] [--null-stdout] -- COMMAND [ARG...]

Prints one line per frame marker `F000123` seen in the output: `MARKER MS`, where MS is the
arrival time in milliseconds after the command was started (CLOCK_MONOTONIC, taken just after
each read of the terminal's master side returns), then `exit CODE`. With --null-stdout the
command's stdout goes to /dev/null and only its controlling terminal (and stderr) is the
pseudo-terminal: how `asciinema cat`, which insists on /dev/tty, is timed without the terminal
being the bottleneck.

As a module, run() is what bench/run_bench.py uses for replay timing and for `asciinema cat`.
"""
import fcntl
import os
import re
import select
import signal
import struct
import sys
import termios
import time

MARKER = re.compile(rb"F(\d{6}) ")


class PtyRun:
    """What run() saw. Times are time.monotonic_ns() values."""

    def __init__(self):
        self.spawn_ns = 0
        self.end_ns = 0
        self.exit_code = -1
        self.timed_out = False
        self.maxrss_kib = 0
        self.cpu = 0.0  # user + system seconds of the command itself
        self.bytes = 0
        self.markers = []  # (marker number, arrival ns), in arrival order; first sighting only
        self.head = b""  # the first 4 KiB of output (for error messages)


def run(argv, timeout_s=120.0, null_stdout=False, env=None, rows=24, cols=80):
    """Runs argv on a fresh pseudo-terminal and returns a PtyRun.

    Bounded by timeout_s: past it the child (only it, by its PID) gets SIGKILL.
    """
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    result = PtyRun()
    result.spawn_ns = time.monotonic_ns()
    pid = os.fork()
    if pid == 0:  # child: new session, the pty as controlling terminal
        try:
            os.close(master)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if null_stdout:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.close(devnull)
            os.close(slave)
            if env is None:
                os.execvp(argv[0], argv)
            else:
                os.execvpe(argv[0], argv, env)
        except BaseException as e:  # never return into the parent's code
            os.write(2, f"pty_stamp: cannot run {argv[0]}: {e}\n".encode())
        os._exit(127)
    os.close(slave)
    deadline = result.spawn_ns + int(timeout_s * 1e9)
    seen = set()
    tail = b""
    while True:
        left = (deadline - time.monotonic_ns()) / 1e9
        if left <= 0:
            result.timed_out = True
            os.kill(pid, signal.SIGKILL)
            break
        ready, _, _ = select.select([master], [], [], min(left, 1.0))
        if not ready:
            continue
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every holder of the terminal's slave side is gone
            break
        now = time.monotonic_ns()
        if not data:
            break
        result.bytes += len(data)
        if len(result.head) < 4096:
            result.head += data[: 4096 - len(result.head)]
        buf = tail + data
        for m in MARKER.finditer(buf):
            n = int(m.group(1))
            if n not in seen:
                seen.add(n)
                result.markers.append((n, now))
        tail = buf[-8:]
    os.close(master)
    _, status, rusage = os.wait4(pid, 0)
    result.end_ns = time.monotonic_ns()
    result.maxrss_kib = rusage.ru_maxrss
    result.cpu = rusage.ru_utime + rusage.ru_stime
    result.exit_code = (128 + os.WTERMSIG(status)) if os.WIFSIGNALED(status) else os.WEXITSTATUS(
        status)
    return result


def main():
    args = sys.argv[1:]
    if "--" not in args:
        sys.exit(__doc__.split("\n\n")[1])
    sep = args.index("--")
    opts, argv = args[:sep], args[sep + 1:]
    timeout = 120.0
    if "--timeout" in opts:
        timeout = float(opts[opts.index("--timeout") + 1])
    r = run(argv, timeout_s=timeout, null_stdout="--null-stdout" in opts)
    for n, t in r.markers:
        print(f"F{n:06d} {(t - r.spawn_ns) / 1e6:.3f}")
    print(f"exit {r.exit_code}")
    sys.exit(0 if r.exit_code == 0 else 1)


if __name__ == "__main__":
    main()
