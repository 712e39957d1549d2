#!/usr/bin/python3
"""Types into a command on a fresh pseudo-terminal the way a person does, for the command index
tests: waits for each expected text in the output before typing the next keys.

usage: audit_typist.py COLS ROWS TIMEOUT_S STEPS_JSON -- ARGV...

STEPS_JSON is a list of [expect, keys]: wait until `expect` appears in the output after the previous
step's match (an empty expect waits for nothing), then type `keys`. After the
last step it waits for the command to exit. Prints one JSON object: exit_code (128+N when killed
by signal N), output (latin-1 text), timed_out, failed_step (index of a step whose text never
came, else null). Every wait is bounded by TIMEOUT_S; the command is killed (SIGKILL) past it.
"""
import fcntl
import json
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def main():
    args = sys.argv[1:]
    dash = args.index("--")
    opts, argv = args[:dash], args[dash + 1:]
    cols, rows, timeout = int(opts[0]), int(opts[1]), float(opts[2])
    steps = json.loads(opts[3])
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    pid = os.fork()
    if pid == 0:
        os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(master)
        os.close(slave)
        os.execvp(argv[0], argv)
    os.close(slave)
    deadline = time.monotonic() + timeout
    output = b""
    since = 0
    step = 0
    failed_step = None
    timed_out = False
    status = None
    while True:
        if step < len(steps):
            expect = steps[step][0].encode()
            found = output.find(expect, since)
            if found >= 0:
                since = found + len(expect)
                os.write(master, steps[step][1].encode())
                step += 1
                continue
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            failed_step = step if step < len(steps) else None
            os.kill(pid, signal.SIGKILL)
            break
        r, _, _ = select.select([master], [], [], min(left, 0.1))
        if r:
            try:
                data = os.read(master, 65536)
            except OSError:
                data = b""
            if not data:
                break
            output += data
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            # Drain what is left.
            while select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    break
                if not data:
                    break
                output += data
            break
    if status is None:
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        code = 128 - code
    if failed_step is None and step < len(steps):
        failed_step = step
    print(json.dumps({"exit_code": code, "output": output.decode("latin-1"),
                      "timed_out": timed_out, "failed_step": failed_step}))


main()
