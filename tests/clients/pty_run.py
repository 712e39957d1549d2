#!/usr/bin/python3
"""Runs a command on a new pseudo-terminal of a given size and copies what it prints.

usage: pty_run.py ROWS COLS [--input TEXT] -- COMMAND [ARG...]

The terminal is ROWS x COLS before COMMAND starts. With --input, TEXT is typed into the
terminal once COMMAND has printed something (or after 3 s). The exit status is COMMAND's.
Used by podtape's tests to run `kubectl exec -it` / `attach -it` where stdin is a terminal.
"""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time


def main():
    args = sys.argv[1:]
    if len(args) < 4 or "--" not in args:
        sys.exit("usage: pty_run.py ROWS COLS [--input TEXT] -- COMMAND [ARG...]")
    rows, cols = int(args[0]), int(args[1])
    sep = args.index("--")
    opts, argv = args[2:sep], args[sep + 1:]
    text = None
    if opts[:1] == ["--input"]:
        text = opts[1].encode()
    pid, fd = pty.fork()
    if pid == 0:
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        os.execvp(argv[0], argv)
    out = bytearray()
    start = time.monotonic()
    while True:
        if text is not None and (out or time.monotonic() - start > 3):
            time.sleep(0.3)
            os.write(fd, text)
            text = None
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:  # EIO: the command and everything it started are gone
            break
        if not data:
            break
        out += data
    sys.stdout.buffer.write(out)
    sys.stdout.flush()
    _, status = os.waitpid(pid, 0)
    sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode")
             else status >> 8)


if __name__ == "__main__":
    main()
