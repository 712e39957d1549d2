#!/usr/bin/python3
"""A raw WebSocket client for podtape-sim's protocol tests (websocket-client, a dependency of
Debian's python3-kubernetes).

usage: ws_probe.py WS_URL [--protocols P1,P2 | --no-protocol] [--send HEX]... [--send-text S]...
                   [--hold MS]
                   [--drop] [--for MS] [--ping-flood] [--header 'Name: value']...

Connects, sends each --send message (binary; hex-encoded bytes) and --send-text message (a text
frame), in order, after the first frame received, then reads until the server
closes. --hold waits MS milliseconds after the first frame before sending; --drop closes the TCP
connection abruptly after the sends (no close frame); --for stops reading after MS milliseconds
and closes normally (for sessions that never end, e.g. attach to a logging process); --ping-flood
sends ping frames without pause from the first frame received until the connection ends (the
server's pongs then race its own writes). Prints one JSON object:
{"status": 101|HTTP status, "protocol": chosen, "frames": [{"op": "binary"|"text", "size": N, "hex": first 64 KiB}],
 "close": code|null, "eof": bool}
"""
import json
import socket
import sys
import threading
import time

try:
    import websocket
except ImportError as e:
    sys.stderr.write(f"python3-websocket is not installed for {sys.executable}: {e}\n")
    sys.exit(3)


def flood(ws):
    try:
        while True:
            ws.ping(b"p")
    except Exception:  # the connection ended: that is the flood's end
        pass


def main():
    args = sys.argv[1:]
    url = args.pop(0)
    protocols, sends, hold_ms, drop, headers = ["v5.channel.k8s.io"], [], 0, False, []
    for_ms, ping_flood = None, False
    while args:
        a = args.pop(0)
        if a == "--protocols":
            protocols = args.pop(0).split(",")
        elif a == "--no-protocol":
            protocols = None
        elif a == "--send":
            sends.append((websocket.ABNF.OPCODE_BINARY, bytes.fromhex(args.pop(0))))
        elif a == "--send-text":
            sends.append((websocket.ABNF.OPCODE_TEXT, args.pop(0).encode()))
        elif a == "--hold":
            hold_ms = int(args.pop(0))
        elif a == "--drop":
            drop = True
        elif a == "--for":
            for_ms = int(args.pop(0))
        elif a == "--ping-flood":
            ping_flood = True
        elif a == "--header":
            headers.append(args.pop(0))
        else:
            sys.exit(f"unknown argument {a}")
    result = {"status": None, "protocol": None, "frames": [], "close": None, "eof": False}
    try:
        ws = websocket.create_connection(url, subprotocols=protocols, header=headers, timeout=30,
                                         enable_multithread=True)
    except websocket.WebSocketBadStatusException as e:
        result["status"] = e.status_code
        print(json.dumps(result))
        return
    result["status"] = 101
    result["protocol"] = ws.getsubprotocol()
    first = True
    deadline = time.monotonic() + for_ms / 1000 if for_ms else None
    try:
        while True:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    ws.close()
                    break
                ws.settimeout(left)
            try:
                op, data = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                ws.close()
                break
            if op == websocket.ABNF.OPCODE_CLOSE:
                result["close"] = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                break
            if op in (websocket.ABNF.OPCODE_BINARY, websocket.ABNF.OPCODE_TEXT):
                result["frames"].append({"op": "text" if op == websocket.ABNF.OPCODE_TEXT
                                         else "binary", "size": len(data),
                                         "hex": data[:65536].hex()})
            if first:
                first = False
                if hold_ms:
                    time.sleep(hold_ms / 1000)
                for opcode, payload in sends:
                    ws.send(payload, opcode=opcode)
                if ping_flood:
                    threading.Thread(target=flood, args=(ws,), daemon=True).start()
                if drop:
                    ws.sock.shutdown(socket.SHUT_RDWR)
                    ws.sock.close()
                    break
    except (websocket.WebSocketConnectionClosedException, ConnectionError, OSError):
        result["eof"] = True
    print(json.dumps(result))


if __name__ == "__main__":
    main()
