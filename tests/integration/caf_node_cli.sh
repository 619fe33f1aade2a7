#!/usr/bin/env bash
# caf-node's command line, end to end: --help, a bad config, --check, and a
# node that stops cleanly on SIGTERM.
# usage: caf_node_cli.sh <path to caf-node> <source root>
set -euo pipefail

node=$1
root=$2
work=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# 1. --help exits 0 and mentions every key of reference.ini.
timeout 5 "$node" --help >"$work/help.txt" || fail "--help exited non-zero"
section=
count=0
while IFS= read -r line; do
  if [[ $line =~ ^\[([a-z.-]+)\] ]]; then
    section=${BASH_REMATCH[1]}
  elif [[ $line =~ ^([a-z-]+)[[:space:]]*= ]]; then
    key="$section.${BASH_REMATCH[1]}"
    grep -qF -- "$key" "$work/help.txt" || fail "--help does not mention $key"
    count=$((count + 1))
  fi
done <"$root/config/reference.ini"
((count >= 10)) || fail "found only $count keys in reference.ini"
echo "ok: --help mentions all $count keys"

# 2. A bad config exits non-zero within 5 s, naming file and key.
printf '[cafray]\nnum-cpus = 2\n[cafray.gcs]\nshards = 0\n' >"$work/bad.ini"
rc=0
timeout 5 "$node" --config "$work/bad.ini" >"$work/out.txt" 2>"$work/err.txt" \
  || rc=$?
((rc != 0 && rc != 124)) || fail "bad config: exit code $rc"
grep -qF "$work/bad.ini:4: key 'cafray.gcs.shards'" "$work/err.txt" \
  || fail "bad config: unexpected message: $(cat "$work/err.txt")"
echo "ok: bad config rejected: $(cat "$work/err.txt")"

# 2b. So does a bad override.
rc=0
timeout 5 "$node" --config "$root/config/embedded.ini" --cafray.num-cpus=-1 \
  >"$work/out.txt" 2>"$work/err.txt" || rc=$?
((rc != 0 && rc != 124)) || fail "bad override: exit code $rc"
grep -qF "key 'cafray.num-cpus'" "$work/err.txt" \
  || fail "bad override: unexpected message: $(cat "$work/err.txt")"
echo "ok: bad override rejected"

# 3. --check accepts the example configs.
for f in embedded reference; do
  out=$(timeout 5 "$node" --check --config "$root/config/$f.ini") \
    || fail "--check $f.ini exited non-zero"
  [[ $out == "config OK" ]] || fail "--check $f.ini printed: $out"
done
echo "ok: --check prints config OK"

# 4. A node started from embedded.ini stops with exit code 0 on SIGTERM.
"$node" --config "$root/config/embedded.ini" >"$work/node.txt" 2>&1 &
pid=$!
for _ in $(seq 50); do
  grep -q "caf-node: mode embedded" "$work/node.txt" && break
  kill -0 "$pid" 2>/dev/null || fail "node exited early: $(cat "$work/node.txt")"
  sleep 0.1
done
grep -q "caf-node: mode embedded" "$work/node.txt" \
  || fail "no banner within 5 s: $(cat "$work/node.txt")"
kill -TERM "$pid"
for _ in $(seq 50); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  fail "node still running 5 s after SIGTERM"
fi
rc=0
wait "$pid" || rc=$?
pid=
((rc == 0)) || fail "node exited with $rc after SIGTERM: $(cat "$work/node.txt")"
echo "ok: node stopped on SIGTERM: $(head -1 "$work/node.txt")"
