#!/usr/bin/env bash
# A node drains on SIGTERM (real processes on 127.0.0.1): a head and a node
# both offering {slot: 2}, the node also {solo: 1}. A driver submits a 2 s
# task only the node can run and 24 tasks of 300 ms needing a slot; once
# the long task runs, the node gets SIGTERM with slot tasks running and
# queued there. Every result is correct, every task ran exactly once (each
# run notes its start and end in a file), the status shows the node
# draining while the long task finishes, the node exits 0 within its drain
# timeout and is dead in the status and the GCS nodes table; the results
# it kept were copied to the head (tasks read them after it left). A
# second node drains with a timeout shorter than its tasks: the one
# without retries fails with worker_died, the other runs on a third node.
# The head then stops on SIGTERM too.
# usage: drain.sh CAF_NODE BUILD_DIR
set -euo pipefail
node=$1
build=$2
work=$(mktemp -d)
pids=()

source "$(dirname "$0")/processes.sh"
trap stop_processes EXIT

common=(--cafray.num-cpus=2 --scheduler.max-threads=2
        --cafray.object-store-mb=64)
tasks=24

"$node" --cafray.role='"head"' --cafray.port=0 "${common[@]}" \
  '--cafray.resources={slot = 2}' >"$work/head.log" 2>&1 &
pids+=($!)
head=$!
await_line "$work/head.log" 'listening on'
addr=$(sed -nE 's/.*listening on ([0-9.]+:[0-9]+).*/\1/p' "$work/head.log")

"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}" \
  '--cafray.resources={slot = 2, solo = 1}' --cafray.drain-timeout-ms=8000 \
  >"$work/node.log" 2>&1 &
pids+=($!)
member=$!
await_line "$work/node.log" 'running'

await_status '2 nodes, 2 alive'
echo "[${SECONDS}s] ok: head at $addr and a node (pid $member)"

runs="$work/runs"
CAFRAY_ADDRESS=$addr \
  CAFRAY_CODE="$build/tests/integration/libdrain_driver_code.so" \
  timeout 120 "$build/tests/integration/drain_driver" "$runs" "$tasks" \
  >"$work/driver.log" 2>&1 &
driver=$!
pids+=($driver)
# The long task runs on the node: the slot tasks are placed by then.
await_line "$runs" "^start 0 $member\$"
kill -TERM "$member"
signalled=$(date +%s%3N)

# The node shows as draining while its long task finishes.
seen=no
for _ in $(seq 40); do
  status >"$work/status.txt" 2>&1 || true
  if grep -q '2 nodes, 2 alive (1 draining)' "$work/status.txt" \
    && grep -qE "^node .* node .* draining CPU" "$work/status.txt"; then
    seen=yes
    break
  fi
  kill -0 "$member" 2>/dev/null || break
  sleep 0.05
done
[[ $seen == yes ]] || fail "status never showed the node draining:" \
  "$(cat "$work/status.txt")"
echo "[${SECONDS}s] ok: status showed the node draining"

await_exit "$member" "the node" 12
ms=$(($(date +%s%3N) - signalled))
((rc == 0)) || fail "the node exited with $rc"
((ms < 8000)) || fail "the node took $ms ms to leave (drain timeout 8 s)"
line=$(grep -E '^caf-node: draining: [0-9]+ tasks handed back' "$work/node.log") \
  || fail "the node printed no drain summary"
read -r handed finished retried failed < <(sed -nE 's/^caf-node: draining: ([0-9]+) tasks handed back, [0-9]+ passed on on arrival, ([0-9]+) running finished, ([0-9]+) still running retried elsewhere, ([0-9]+) failed$/\1 \2 \3 \4/p' <<<"$line")
[[ -n ${handed:-} ]] || fail "unexpected drain summary: $line"
((handed >= 1)) || fail "nothing was handed back: $line"
((finished >= 1)) || fail "no running task finished: $line"
((retried == 0 && failed == 0)) || fail "tasks outlived the drain: $line"
echo "[${SECONDS}s] ok: the node exited 0 $ms ms after SIGTERM: ${line#caf-node: }"
copied=$(grep -E '^caf-node: draining: [0-9]+ of [0-9]+ objects copied to ' \
  "$work/node.log") || fail "the node copied no objects: $(cat "$work/node.log")"
read -r got all < <(sed -nE 's/^caf-node: draining: ([0-9]+) of ([0-9]+) objects.*/\1 \2/p' <<<"$copied")
((got == all && all >= 1)) || fail "objects not handed over: $copied"
echo "[${SECONDS}s] ok: ${copied#caf-node: draining: }"

wait "$driver" || fail "driver: $(cat "$work/driver.log")"
out=$(cat "$work/driver.log")
grep -qx "results $((tasks + 1)) of $((tasks + 1)) correct" <<<"$out" \
  || fail "driver: $out"
grep -qx 'gcs nodes alive 1 dead 1 draining 0' <<<"$out" \
  || fail "GCS nodes table: $out"
# The node's results outlived it: tasks on the head read them.
grep -qx "second round $((tasks + 1)) of $((tasks + 1)) correct" <<<"$out" \
  || fail "results of the drained node were lost: $out"
# Exactly one run per task: one start and one end each, nothing else.
for what in start end; do
  dup=$(grep "^$what " "$runs" | cut -d' ' -f2 | sort -n | uniq -d)
  [[ -z $dup ]] || fail "tasks that ran twice ($what): $dup"
  n=$(grep -c "^$what " "$runs")
  ((n == tasks + 1)) || fail "$n runs ${what}ed, expected $((tasks + 1))"
done
on_node=$(grep -c "^end [0-9]* $member\$" "$runs" || true)
on_head=$(grep -c "^end [0-9]* $head\$" "$runs" || true)
((on_node + on_head == tasks + 1)) || fail "runs elsewhere: $(cat "$runs")"
grep -qx "end 0 $member" "$runs" || fail "the long task did not end on the node"
echo "[${SECONDS}s] ok: $((tasks + 1)) results correct, each task ran once" \
  "($on_node on the node, $on_head on the head)"

status >"$work/status.txt" 2>&1 || fail "status: $(cat "$work/status.txt")"
grep -qx "cluster at $addr: 2 nodes, 1 alive" "$work/status.txt" \
  || fail "status after the drain: $(cat "$work/status.txt")"
grep -qE "^node .* node .* dead CPU" "$work/status.txt" \
  || fail "status after the drain: $(cat "$work/status.txt")"
echo "[${SECONDS}s] ok: status and the GCS show the node dead"

# A drain timeout shorter than the tasks: at the timeout the task without
# retries fails with worker_died at its owner, the other is handed to the
# global scheduler, held there (no node offers solo) and runs on a node
# that joins later.
late_runs="$work/late-runs"
"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}" \
  '--cafray.resources={solo = 2}' --cafray.drain-timeout-ms=300 \
  >"$work/node2.log" 2>&1 &
pids+=($!)
node2=$!
await_line "$work/node2.log" 'running'
await_status '3 nodes, 2 alive'
CAFRAY_ADDRESS=$addr \
  CAFRAY_CODE="$build/tests/integration/libdrain_driver_code.so" \
  timeout 120 "$build/tests/integration/drain_driver" "$late_runs" late \
  >"$work/late.log" 2>&1 &
driver=$!
pids+=($driver)
await_line "$late_runs" "^start 100 $node2\$"
await_line "$late_runs" "^start 101 $node2\$"
kill -TERM "$node2"
await_exit "$node2" "node 2" 8
((rc == 0)) || fail "node 2 exited with $rc"
grep -qx 'caf-node: draining: 0 tasks handed back, 0 passed on on arrival, 0 running finished, 1 still running retried elsewhere, 1 failed' \
  "$work/node2.log" || fail "node 2: $(cat "$work/node2.log")"
"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" "${common[@]}" \
  '--cafray.resources={solo = 1}' >"$work/node3.log" 2>&1 &
pids+=($!)
node3=$!
wait "$driver" || fail "late driver: $(cat "$work/late.log")"
out=$(cat "$work/late.log")
for line in 'late 100 error worker_died' 'late 101 10201'; do
  grep -qx "$line" <<<"$out" || fail "late: no '$line' in: $out"
done
grep -qx "end 101 $node3" "$late_runs" \
  || fail "the retried task did not run on node 3: $(cat "$late_runs")"
(($(grep -c '^start 100 ' "$late_runs") == 1)) \
  || fail "the task without retries ran again: $(cat "$late_runs")"
echo "[${SECONDS}s] ok: at the drain timeout a task without retries failed" \
  "with worker_died, one with retries ran on a node that joined later"
kill -TERM "$node3"
await_exit "$node3" "node 3" 10
((rc == 0)) || fail "node 3 exited with $rc"

# The head stops on SIGTERM as before, without hanging.
kill -TERM "$head"
await_exit "$head" "the head" 10
((rc == 0)) || fail "the head exited with $rc"
grep -q 'caf-node: draining' "$work/head.log" && fail "the head drained"
echo "[${SECONDS}s] ok: the head stopped on SIGTERM"
