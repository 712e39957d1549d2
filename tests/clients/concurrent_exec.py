#!/usr/bin/python3
"""Opens N exec sessions at once (v5, websocket-client threads), each running
`sh -c 'sleep S; echo n-I'`, and prints {"ok": count, "elapsed": seconds, "failures": [...]}.

usage: concurrent_exec.py WS_BASE_URL N S
WS_BASE_URL is ws://HOST:PORT/api/v1/namespaces/default/pods/POD/exec
"""
import json
import sys
import threading
import time
import urllib.parse

import websocket


def one(base, i, seconds, results):
    q = urllib.parse.urlencode([("command", "sh"), ("command", "-c"),
                                ("command", f"sleep {seconds}; echo n-{i}"),
                                ("stdout", "true"), ("stderr", "true")])
    try:
        ws = websocket.create_connection(f"{base}?{q}", subprotocols=["v5.channel.k8s.io"],
                                         timeout=60)
        out, status = b"", b""
        try:
            while True:
                op, data = ws.recv_data(control_frame=True)
                if op == websocket.ABNF.OPCODE_CLOSE:
                    break
                if data[:1] == b"\x01":
                    out += data[1:]
                elif data[:1] == b"\x03":
                    status += data[1:]
        except websocket.WebSocketConnectionClosedException:
            pass
        if out != f"n-{i}\n".encode() or json.loads(status).get("status") != "Success":
            results[i] = f"session {i}: stdout {out!r} status {status!r}"
        else:
            results[i] = None
    except Exception as e:  # reported, not raised: the test counts failures
        results[i] = f"session {i}: {e}"


def main():
    base, n, seconds = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    results = {}
    start = time.monotonic()
    threads = [threading.Thread(target=one, args=(base, i, seconds, results)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failures = [r for r in results.values() if r]
    print(json.dumps({"ok": n - len(failures), "elapsed": time.monotonic() - start,
                      "failures": failures[:5]}))


if __name__ == "__main__":
    main()
