#!/usr/bin/env bash
# cafray-bench in cluster mode: a head and one node started as caf-node
# processes on 127.0.0.1, and cafray-bench as a driver of their cluster
# (CAFRAY_ADDRESS), its remote functions and actor class shipped to the
# worker processes as libcafray_bench_code.so (CAFRAY_CODE). Prints the
# same table as the embedded run, with issue 3's cluster targets; figures
# only, never pass/fail. Every process it starts, it stops.
# usage: bench/cluster-bench.sh [BUILD_DIR] [cafray-bench options...]
set -euo pipefail
build=${1:-build}
shift || true
node=$build/apps/caf-node/caf-node
bench=$build/bench/cafray-bench
code=$(realpath "$build/bench/libcafray_bench_code.so")
for f in "$node" "$bench" "$code"; do
  [[ -e $f ]] || { echo "cluster-bench: missing $f (build first)" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()

source "$(dirname "$0")/../tests/integration/processes.sh"
trap stop_processes EXIT

"$node" --cafray.role='"head"' --cafray.port=0 >"$work/head.log" 2>&1 &
pids+=($!)
await_line "$work/head.log" 'listening on'
addr=$(sed -nE 's/.*listening on ([0-9.]+:[0-9]+).*/\1/p' "$work/head.log")
"$node" --cafray.role='"node"' --cafray.address="\"$addr\"" \
  >"$work/node.log" 2>&1 &
pids+=($!)
await_line "$work/node.log" 'running'
echo "cluster-bench: head at $addr and one node; the driver is cafray-bench"

CAFRAY_ADDRESS=$addr CAFRAY_CODE=$code "$bench" "$@"
