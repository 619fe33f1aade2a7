#!/usr/bin/env bash
# Cluster mode with real processes on 127.0.0.1: a head and two nodes, the
# seed tour run against them as drivers, a tree reduce spread over the
# three nodes, a task pinned to a node reading a 64 MiB object put on the
# head, actors in processes of their own (placed by resources, killed,
# found by name), the status view, bad deployments, and a node leaving on
# SIGTERM.
# usage: cluster.sh CAF_NODE BUILD_DIR
set -euo pipefail
node=$1
build=$2
work=$(mktemp -d)
pids=()

source "$(dirname "$0")/processes.sh"
trap stop_processes EXIT

common=(--cafray.num-cpus=2 --scheduler.max-threads=2)

# The head's arena holds 256 MiB (a larger put fails), node 1's 32 MiB (a
# 64 MiB object cannot be pulled there).
"$node" --cafray.role='"head"' --cafray.port=0 "${common[@]}" \
  --cafray.object-store-mb=256 '--cafray.resources={main = 1}' \
  >"$work/head.log" 2>&1 &
pids+=($!)
head=$!
await_line "$work/head.log" 'listening on'
addr=$(sed -nE 's/.*listening on ([0-9.]+:[0-9]+).*/\1/p' "$work/head.log")
echo "ok: head at $addr"

"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}" \
  --cafray.object-store-mb=32 '--cafray.resources={small = 1}' \
  >"$work/node1.log" 2>&1 &
pids+=($!)
node1=$!
"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}" \
  '--cafray.resources={special = 1}' >"$work/node2.log" 2>&1 &
pids+=($!)
node2=$!
await_line "$work/node1.log" 'running'
await_line "$work/node2.log" 'running'

await_status '3 nodes, 3 alive'
grep -qE 'node .* node .* special 1/1' "$work/status.txt" \
  || fail "status lacks node 2's special resource: $(cat "$work/status.txt")"
echo "ok: status shows three live nodes"

export CAFRAY_ADDRESS=$addr

# The seed tour, as drivers of the cluster.
out=$("$(dirname "$0")/seed_tour.sh" "$build" 2>&1) || fail "seed tour: $out"
echo "$out" | sed 's/^/    /'
echo "ok: the seed tour ran as drivers of the cluster"

driver() {
  CAFRAY_CODE="$build/tests/integration/libcluster_driver_code.so" \
    timeout 120 "$build/tests/integration/cluster_driver" "$@"
}

out=$(driver tree 2>&1) || fail "tree: $out"
grep -qx 'sum 523776' <<<"$out" || fail "tree: $out"
grep -qx 'nodes 3' <<<"$out" || fail "tree did not use every node: $out"
echo "ok: tree reduce of 1,024 leaves on three nodes"

out=$(driver direct 2>&1) || fail "direct: $out"
# 0^2 + ... + 499^2 and 0^2 + ... + 1999^2; 3^2 + 4^2; 1^2 + ... + 10^2
for line in 'sync sum 41541750' 'leases while busy yes' \
    'async sum 2664667000' 'store kept most results no' 'argument 25' 'serialized 385' \
    'wait 2 ready 0 not' 'slow 300' 'actor last 2001000' \
    'store kept most calls no' 'call as argument 4002000' 'wait on call 1' \
    'leases when idle 0'; do
  grep -qx "$line" <<<"$out" || fail "direct: no '$line' in: $out"
done
echo "ok: plain tasks over worker leases, their results owned by the driver"

out=$(driver pinned 2>&1) || fail "pinned: $out"
grep -qx 'matched 67108864 of 67108864' <<<"$out" || fail "pinned: $out"
echo "ok: a task on node 2 read every byte of a 64 MiB object put on the head"

# Same node: the driver's put goes into the head's arena, and a worker
# process of the head views it in place (the same arena offset as the
# driver's view; the arena grew by the object once).
out=$(driver view 2>&1) || fail "view: $out"
for line in 'same place yes' 'worker matched 67108864 of 67108864' \
  'other process yes' 'arena bytes added 67108864' 'second in arena yes' \
  'released yes'; do
  grep -qx "$line" <<<"$out" || fail "view: no '$line' in: $out"
done
echo "ok: a worker process read a 64 MiB object in the head's arena in place" \
  "(offset $(sed -n 's/^driver offset //p' <<<"$out") in both processes)"

# Waits until a driver running in the background wrote the pids FILE (at
# most 10 s); WHAT names the case and OUT is the driver's output.
await_pids() {
  local file=$1 what=$2 out=$3
  for _ in $(seq 100); do
    [[ -s $file ]] && return 0
    sleep 0.1
  done
  fail "$what never started: $(cat "$out")"
}

# A worker process that dies while it views an object: the store drops its
# pin (it watches every process that maps the arena).
file="$work/pids-view"
driver pin_death "$file" >"$work/pin_death.out" 2>&1 &
driver_pid=$!
await_pids "$file" "pin_death: the task" "$work/pin_death.out"
await_line "$work/pin_death.out" '^pinned by the worker'
kill -KILL "$(head -1 "$file")"
wait "$driver_pid" || fail "pin_death driver: $(cat "$work/pin_death.out")"
out=$(cat "$work/pin_death.out")
for line in 'pinned by the worker yes' 'task error worker_died' \
  'pin dropped with the worker yes'; do
  grep -qx "$line" <<<"$out" || fail "pin_death: no '$line' in: $out"
done
echo "ok: the pin of a worker process killed while viewing an object went"

out=$(driver too_large 2>&1) || fail "too_large: $out"
grep -qx 'put error object_too_large' <<<"$out" || fail "too_large: $out"
grep -qx 'get error object_too_large' <<<"$out" || fail "too_large: $out"
echo "ok: a put larger than the arena and a pull into a too small arena" \
  "fail with object_too_large"

# A worker process killed mid-task: the task runs again in a new worker
# process; with no retries left, get fails with worker_died within 5 s.
crash_run() {
  local retries=$1 file="$work/pids-$1"
  driver crash "$file" "$retries" >"$work/crash.out" 2>&1 &
  local driver_pid=$!
  await_pids "$file" "crash: the task" "$work/crash.out"
  local victim
  victim=$(head -1 "$file")
  kill -KILL "$victim"
  local killed_at=$SECONDS
  wait "$driver_pid" || fail "crash driver: $(cat "$work/crash.out")"
  echo "$killed_at $SECONDS"
}
crash_run 3 >/dev/null
out=$(cat "$work/crash.out")
second=$(sed -n 2p "$work/pids-3")
[[ -n $second && $second != "$(head -1 "$work/pids-3")" ]] \
  || fail "crash: no second run in another process: $out"
grep -qx "finished in pid $second after 2 runs" <<<"$out" \
  || fail "crash with retries: $out"
echo "ok: a killed worker's task ran again in a new worker process"
crash_run 0 >/dev/null
out=$(cat "$work/crash.out")
grep -qE '^error worker_died after [0-9]+ ms$' <<<"$out" \
  || fail "crash without retries: $out"
ms=$(sed -nE 's/^error worker_died after ([0-9]+) ms$/\1/p' <<<"$out")
((ms < 5000)) || fail "worker_died took $ms ms"
echo "ok: with no retries left, get failed with worker_died ($ms ms after submit)"

# Actors: each in a worker process of its own, on a node that has its
# resources.
actors() {
  CAFRAY_CODE="$build/tests/integration/libcluster_actors_code.so" \
    timeout 120 "$build/tests/integration/cluster_actors" "$@"
}
out=$(actors special 2>&1) || fail "actors special: $out"
apid=$(sed -nE 's/^actor pid ([0-9]+)$/\1/p' <<<"$out")
[[ -n $apid && $apid != "$head" && $apid != "$node1" && $apid != "$node2" ]] \
  || fail "special: the actor runs in no process of its own: $out"
for line in "actor parent $node2" 'gcs alive' \
  'task waits while the actor lives yes' \
  "task ran after the kill, parent $node2" 'call after kill actor_died' \
  'gcs dead' "second actor 6 in a new process yes, parent $node2"; do
  grep -qx "$line" <<<"$out" || fail "special: no '$line' in: $out"
done
grep -qE '^process gone after kill yes' <<<"$out" \
  || fail "special: the killed actor's process still runs: $out"
echo "ok: an actor holding {special: 1} ran in process $apid, a child of" \
  "node 2 ($(sed -n 's/^created in //p' <<<"$out")); a task needing" \
  "special waited until it was killed"

file="$work/actor-pids"
actors crash "$file" >"$work/actor_crash.out" 2>&1 &
driver_pid=$!
await_pids "$file" "actor crash: the call" "$work/actor_crash.out"
victim=$(head -1 "$file")
[[ $(ps -o ppid= -p "$victim" | tr -d ' ') == "$head" ]] \
  || fail "actor crash: actor process $victim is no child of the head"
killed_at=$(date +%s%3N)
kill -KILL "$victim"
wait "$driver_pid" || fail "actor crash driver: $(cat "$work/actor_crash.out")"
out=$(cat "$work/actor_crash.out")
for line in 'queued actor_died' 'later actor_died' 'gcs dead'; do
  grep -qx "$line" <<<"$out" || fail "actor crash: no '$line' in: $out"
done
failed_at=$(sed -nE 's/^in flight actor_died at ([0-9]+)$/\1/p' <<<"$out")
[[ -n $failed_at ]] || fail "actor crash: the call in flight: $out"
ms=$((failed_at - killed_at))
((ms < 5000)) || fail "actor_died took $ms ms after kill -9"
echo "ok: kill -9 of an actor's process failed its calls with actor_died" \
  "($ms ms after the kill)"

file="$work/typed-pids"
actors typed "$file" >"$work/typed.out" 2>&1 &
driver_pid=$!
await_pids "$file" "typed: the request" "$work/typed.out"
victim=$(head -1 "$file")
grep -qx "typed pid $victim parent $head" "$work/typed.out" \
  || fail "typed: no process of its own on the head: $(cat "$work/typed.out")"
killed_at=$(date +%s%3N)
kill -KILL "$victim"
wait "$driver_pid" || fail "typed driver: $(cat "$work/typed.out")"
out=$(cat "$work/typed.out")
failed_at=$(sed -nE 's/^typed in flight actor_died at ([0-9]+)$/\1/p' <<<"$out")
[[ -n $failed_at ]] || fail "typed: the request in flight: $out"
ms=$((failed_at - killed_at))
((ms < 5000)) || fail "typed: actor_died took $ms ms after kill -9"
echo "ok: a typed behavior ran in a process of its own; kill -9 failed its" \
  "request in flight with actor_died ($ms ms after the kill)"

out=$(actors named_create 2>&1) || fail "named_create: $out"
grep -qx "keeper 42 parent $node2" <<<"$out" || fail "named_create: $out"
out=$(actors named_use 2>&1) || fail "named_use: $out"
for line in 'found keeper 43' 'keeper gone yes'; do
  grep -qx "$line" <<<"$out" || fail "named_use: no '$line' in: $out"
done
echo "ok: a second driver found the named actor on node 2 and killed it"

# Bad deployments: each exits non-zero within 5 s with a clear message.
bad() {
  local what=$1 pattern=$2
  shift 2
  local rc=0 start=$SECONDS
  timeout 5 "$@" >"$work/bad.out" 2>&1 || rc=$?
  ((rc != 0 && rc != 124)) || fail "$what: exit code $rc"
  grep -qE "$pattern" "$work/bad.out" \
    || fail "$what: unexpected message: $(cat "$work/bad.out")"
  echo "ok: $what: $(grep -E "$pattern" "$work/bad.out" | head -1)"
}
port=${addr##*:}
bad "port in use" "cannot listen on 127.0.0.1:$port" \
  "$node" --cafray.role='"head"' --cafray.port="$port" "${common[@]}"
bad "unreachable head" "cannot reach the head at 127.0.0.1:1" \
  "$node" --cafray.role='"node"' --cafray.address='"127.0.0.1:1"' \
  "${common[@]}"
bad "mismatched version" "version_mismatch.*cafray-cluster-1.*other-version" \
  env CAFRAY_PROTOCOL_VERSION=other-version \
  "$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}"
bad "unknown key" "key 'cafray.nodes': unknown key" \
  "$node" --cafray.role='"node"' --cafray.nodes=3

# A node leaves on SIGTERM: it exits cleanly and the head marks it dead.
kill -TERM "$node1"
# It drains first (its objects go to the head); CAF's own teardown gets
# at most 2 s more (lib/api/runtime.cpp, teardown_patience).
await_exit "$node1" "node 1" 8
((rc == 0)) || fail "node 1 exited with $rc"
status >"$work/status.txt" 2>&1 || fail "status: $(cat "$work/status.txt")"
grep -q '3 nodes, 2 alive' "$work/status.txt" \
  || fail "status after SIGTERM: $(cat "$work/status.txt")"
echo "ok: node 1 left on SIGTERM"
