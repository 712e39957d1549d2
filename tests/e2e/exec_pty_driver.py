#!/usr/bin/python3
"""Runs a command on a fresh pseudo-terminal of a set size, for podtape's TTY tests.

usage: exec_pty_driver.py COLS ROWS TIMEOUT_S [--type TEXT] [--sigterm-after S]
                          [--resize-after S COLSxROWS] -- ARGV...

Waits until the command has put the terminal in raw mode, then types TEXT (if given), resizes
the terminal S seconds later (the kernel sends SIGWINCH) and sends SIGTERM S seconds later (if
given). Prints one JSON object: exit_code (128+N when killed by
signal N), output (all the command wrote, latin-1 text), raw_seen, timed_out, and
stty_before / stty_after (`stty -a` of the terminal before the run and after it).
Every wait is bounded by TIMEOUT_S; the command is killed (SIGKILL) past it.
"""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time


def stty(fd):
    return subprocess.run(["stty", "-a"], stdin=fd, capture_output=True, text=True).stdout


def main():
    args = sys.argv[1:]
    dash = args.index("--")
    opts, argv = args[:dash], args[dash + 1:]
    cols, rows, timeout = int(opts[0]), int(opts[1]), float(opts[2])
    text, sigterm_after, resize = None, None, None
    i = 3
    while i < len(opts):
        if opts[i] == "--type":
            text = opts[i + 1].encode()
            i += 2
        elif opts[i] == "--sigterm-after":
            sigterm_after = float(opts[i + 1])
            i += 2
        elif opts[i] == "--resize-after":
            c, r = opts[i + 2].split("x")
            resize = (float(opts[i + 1]), int(c), int(r))
            i += 3
        else:
            sys.exit("unknown option " + opts[i])

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    before = stty(slave)
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.close(slave)
        os.execvp(argv[0], argv)

    deadline = time.time() + timeout
    out = b""
    raw_at = None
    typed = termed = resized = timed_out = False
    status = None
    while True:
        if raw_at is None and not (termios.tcgetattr(slave)[3] & termios.ICANON):
            raw_at = time.time()
        if raw_at is not None and text is not None and not typed:
            time.sleep(0.2)
            os.write(master, text)
            typed = True
        if (raw_at is not None and resize is not None and not resized
                and time.time() - raw_at >= resize[0]):
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", resize[2], resize[1], 0, 0))
            resized = True
        if (raw_at is not None and sigterm_after is not None and not termed
                and time.time() - raw_at >= sigterm_after):
            os.kill(pid, signal.SIGTERM)
            termed = True
        r, _, _ = select.select([master], [], [], 0.05)
        if r:
            try:
                out += os.read(master, 65536)
            except OSError:
                pass
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
        if time.time() > deadline:
            timed_out = True
            os.kill(pid, signal.SIGKILL)
            _, status = os.waitpid(pid, 0)
            break
    end = time.time() + 0.5
    while time.time() < end:
        r, _, _ = select.select([master], [], [], 0.05)
        if not r:
            break
        try:
            out += os.read(master, 65536)
        except OSError:
            break
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
    print(json.dumps({
        "exit_code": code,
        "output": out.decode("latin-1"),
        "raw_seen": raw_at is not None,
        "timed_out": timed_out,
        "stty_before": before,
        "stty_after": stty(slave),
    }))


if __name__ == "__main__":
    main()
