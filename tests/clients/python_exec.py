#!/usr/bin/python3
"""exec through the official Kubernetes Python client (Debian python3-kubernetes).

usage: python_exec.py SERVER_URL POD CONTAINER COMMAND [ARG...]
Prints one JSON line: {"stdout": ..., "stderr": ..., "returncode": N, "version": ...}.
"""
import json
import sys

try:
    import kubernetes
    from kubernetes import client
    from kubernetes.stream import stream
except ImportError as e:  # the test reports this as a missing package
    sys.stderr.write(f"python3-kubernetes is not installed for {sys.executable}: {e}\n")
    sys.exit(3)


def main():
    url, pod, container, command = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    cfg = client.Configuration()
    cfg.host = url
    cfg.verify_ssl = False
    api = client.CoreV1Api(client.ApiClient(cfg))
    resp = stream(api.connect_get_namespaced_pod_exec, pod, "default", container=container,
                  command=command, stderr=True, stdin=False, stdout=True, tty=False,
                  _preload_content=False)
    resp.run_forever(timeout=30)
    # returncode first: read_all() would also consume the status channel.
    rc = resp.returncode
    out = resp.read_stdout() or ""
    err = resp.read_stderr() or ""
    print(json.dumps({"stdout": out, "stderr": err, "returncode": rc,
                      "version": kubernetes.__version__}))


if __name__ == "__main__":
    main()
