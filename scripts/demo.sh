#!/usr/bin/env bash
# The README's demo: from a fresh clone, install what is missing, build, start podtape-sim (a
# local stand-in for a cluster), record one interactive TTY session and one plain session with
# podtape, show what was recorded, and stop the simulator. Under a minute once built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

scripts/install-deps.sh
build=${PODTAPE_BUILD_DIR:-build/release}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target podtape podtape-sim
podtape=$root/$build/cli/podtape
sim=$root/$build/samples/podtape-sim

work=$(mktemp -d /tmp/podtape-demo-XXXXXX)
out=$root/build/demo
sim_pid=
cleanup() {
  if [ -n "$sim_pid" ]; then
    kill -TERM "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT INT TERM


# The simulator prints "listening on URL" as its first line; read it, bounded in time.
mkfifo "$work/sim.out"
"$sim" --config "$root/samples/cluster.yaml" --listen 127.0.0.1:0 >"$work/sim.out" 2>"$work/sim.err" &
sim_pid=$!
exec 3<"$work/sim.out"
if ! read -r -t 20 line <&3; then
  echo "demo: podtape-sim did not start:" >&2
  cat "$work/sim.err" >&2
  exit 1
fi
url=${line#listening on }
cat <&3 >/dev/null &  # keep draining the simulator's stdout
echo "== podtape-sim is serving at $url (pid $sim_pid)"

db=$work/podtape.db
export HOME=$work  # no ~/.kube/config: the connection comes from the flags below
unset KUBECONFIG PODTAPE_DB

echo
echo "== 1. an interactive TTY session, typed on a 100x30 pseudo-terminal:"
echo "   podtape exec -it demo -- sh"
/usr/bin/python3 "$root/tests/e2e/exec_pty_driver.py" 100 30 30 \
  --type $'echo hello from a tty\rstty size\rexit 3\r' -- \
  "$podtape" --db "$db" exec -it -s "$url" demo -- sh >"$work/tty.json"
/usr/bin/python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
for line in r["output"].replace("\r\n", "\n").splitlines():
    print("   | " + line)
print("   exit status %d (the remote shell said: exit 3); terminal restored: %s"
      % (r["exit_code"], r["stty_before"] == r["stty_after"]))
' "$work/tty.json"

echo
echo "== 2. a plain session with stdin (no TTY); no -c: the container named by the pod's default-container annotation, as kubectl picks it:"
echo "   printf 'line one\\nline two\\n' | podtape exec -i multi -- sh -c 'sort -r; echo done >&2'"
printf 'line one\nline two\n' |
  "$podtape" --db "$db" exec -i -s "$url" multi -- sh -c 'sort -r; echo done >&2' 2>&1 |
  sed 's/^/   | /'

echo
echo "== what was recorded: podtape ls"
"$podtape" --db "$db" ls
# ls is newest first: the TTY session is the last row.
first=$("$podtape" --db "$db" ls -o json |
  /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)[-1]["short_id"])')

echo
echo "== the frames of the TTY session in SQLite (direction 0 = to the server, 1 = from it):"
sqlite3 -header -column "$db" \
  "SELECT seq, printf('%.3f', t_ns / 1e9) AS t_s, direction AS dir, channel AS ch,
          length(payload) AS bytes, replace(replace(substr(CAST(payload AS TEXT), 1, 40),
          char(13), '\r'), char(10), '\n') AS payload
   FROM frames WHERE session_key = (SELECT min(session_key) FROM sessions) ORDER BY seq"

echo
echo "== podtape play $first -s 4   (replayed at 4x with its recorded timing)"
"$podtape" --db "$db" play "$first" -s 4 </dev/null | cat
echo

echo
echo "== podtape export: asciicast v3, v2 and a self-contained html page, kept in $out"
mkdir -p "$out"
"$podtape" --db "$db" export "$first" "$out/tty.cast"
"$podtape" --db "$db" export "$first" "$out/tty-v2.cast" --format cast-v2
"$podtape" --db "$db" export "$first" "$out/tty.html"
ls -l "$out" | sed 's/^/   /'
echo "   first lines of tty.cast:"
head -n 4 "$out/tty.cast" | sed 's/^/   | /'

echo
echo "== the TTY session as a transcript (podtape export --format txt):"
"$podtape" --db "$db" export "$first" --format txt | sed 's/^/   | /'

echo
echo "== podtape audit (one row per command) and podtape verify (hash chains and seals):"
"$podtape" --db "$db" audit | sed 's/^/   /'
"$podtape" --db "$db" verify | sed 's/^/   /'

echo
echo "== done; the simulator is stopped, the exports are in $out"
