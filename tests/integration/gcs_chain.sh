#!/usr/bin/env bash
# One GCS shard as processes on 127.0.0.1: a coordinator and 3 replicas
# (cafray-gcs), 8 client processes writing unique values to 1,000 keys.
#   1. kill -9 the head, then a middle replica, then the tail, a
#      replacement joining each time: every operation answered, the history
#      (with a final read of every key) linearizable, every acknowledged
#      write applied exactly once (last sequence number == acknowledged
#      writes) and the replicas identical (digests).
#   2. SIGSTOP the tail past its lease: it is replaced; after SIGCONT it
#      serves no read and takes no write.
#   3. 20,000 acknowledged writes to distinct keys, kill -9 of every replica
#      and the coordinator, start again from the same directories: all
#      20,000 present.
# Usage: gcs_chain.sh CAFRAY_GCS LINCHECK. Kills every process it started.
set -u
GCS=$1
LINCHECK=$2
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cafray-gcs-chain-XXXXXX")
declare -a STARTED=()
declare -A PID=() PORT=()
COORD_PID=""
COORD_PORT=""

cleanup() {
  for p in "${STARTED[@]}"; do
    kill -CONT "$p" 2>/dev/null
    kill -9 "$p" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$WORK"/*/*.err; do
    [ -s "$f" ] && { echo "--- $f" >&2; tail -n 20 "$f" >&2; }
  done
  exit 1
}

# wait_listening FILE: prints the port once FILE says "listening on PORT".
wait_listening() {
  for _ in $(seq 1 200); do
    local port
    port=$(awk '/listening on/ {print $NF}' "$1" 2>/dev/null)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.05
  done
  return 1
}

# start_coordinator DIR REPLICAS [RUN]: the lease is long enough that 12
# processes on 2 busy cores do not lose replicas to missed heartbeats.
start_coordinator() {
  local log="$1/coordinator${3:-}"
  "$GCS" coordinator --port=0 --replicas="$2" --state-file="$1/coordinator" \
    --lease-ms=1000 > "$log.out" 2> "$log.err" &
  COORD_PID=$!
  STARTED+=("$COORD_PID")
  COORD_PORT=$(wait_listening "$log.out") || fail "coordinator did not start"
}

# start_replica DIR ID [RUN]
start_replica() {
  local log="$1/replica-$2${3:-}"
  "$GCS" replica --id="$2" --dir="$1/replica-$2" \
    --coordinator=127.0.0.1:"$COORD_PORT" > "$log.out" 2> "$log.err" &
  PID[$2]=$!
  STARTED+=("$!")
  PORT[$2]=$(wait_listening "$log.out") || fail "replica $2 did not start"
}

# A tool that does not finish in time (a hung connection) counts as failed
# instead of stalling the test.
tool() {
  timeout -k 5 60 "$GCS" "$@"
}

status() {
  tool status --coordinator=127.0.0.1:"$COORD_PORT"
}

# The replica ids of the chain, head first.
chain() {
  status | awk 'NR == 1 { for (i = 4; i <= NF; ++i) printf "%s%s", $i, (i < NF ? " " : "") }'
}

# wait_chain "IDS": until the chain is exactly IDS (15 s at most).
wait_chain() {
  for _ in $(seq 1 300); do
    [ "$(chain)" = "$1" ] && return 0
    sleep 0.05
  done
  fail "chain is '$(chain)', expected '$1'"
}

# wait_chain_from "IDS": until the chain starts with IDS (a replica that
# was out before may have joined behind them).
wait_chain_from() {
  for _ in $(seq 1 300); do
    case "$(chain)" in "$1"|"$1 "*) return 0 ;; esac
    sleep 0.05
  done
  fail "chain is '$(chain)', expected it to start with '$1'"
}

# check_replicas N: every member applied exactly N writes; one digest.
check_replicas() {
  local out members digests applied
  out=$(status)
  members=$(echo "$out" | awk 'NR == 1 { print NF - 3 }')
  applied=$(echo "$out" | awk '/^replica/ { print $4 }' | sort -u)
  digests=$(echo "$out" | awk '/^replica/ { print $6 }' | sort -u | wc -l)
  [ "$(echo "$out" | grep -c '^replica .* last_applied')" = "$members" ] \
    || fail "a member did not answer: $out"
  [ "$applied" = "$1" ] || fail "applied '$applied', expected $1: $out"
  [ "$digests" = 1 ] || fail "replicas differ: $out"
  echo "$out"
}

acked_writes() {
  cat "$@" | awk '$3 == "write" && $6 != "?" && $6 != "fail"' | wc -l
}

# -- 1. head, middle, tail killed under 8 writers ----------------------------
D1="$WORK/failures"
mkdir -p "$D1"
start_coordinator "$D1" 1,2,3
for id in 1 2 3; do start_replica "$D1" $id; done
wait_chain "1 2 3"
declare -a LOADS=()
for c in $(seq 1 8); do
  "$GCS" load --coordinator=127.0.0.1:"$COORD_PORT" --client=$c --seed=$c \
    --keys=1000 --ops=100000000 --stop-file="$D1/stop" \
    --history="$D1/history-$c" > "$D1/load-$c.out" 2> "$D1/load-$c.err" &
  LOADS+=("$!")
  STARTED+=("$!")
done
sleep 1
expected="1 2 3"
next=4
for position in 1 2 3; do
  read -r -a ids <<< "$(chain)"
  victim=${ids[$((position - 1))]}
  echo "killing replica $victim (position $position of: ${ids[*]})"
  kill -9 "${PID[$victim]}"
  start_replica "$D1" $next
  expected=$(echo "${ids[*]}" | tr ' ' '\n' | grep -vx "$victim" | tr '\n' ' ')
  expected="${expected}${next}"
  wait_chain "$expected"
  next=$((next + 1))
  sleep 0.7
done
[ "$expected" = "2 4 6" ] || fail "final chain '$expected'"
touch "$D1/stop"
for p in "${LOADS[@]}"; do wait "$p" || fail "a writer saw a failure"; done
cat "$D1"/load-*.out
tool verify --coordinator=127.0.0.1:"$COORD_PORT" \
  --history="$(ls "$D1"/history-* | paste -sd,)" --out="$D1/final" \
  || fail "final reads failed"
[ "$(wc -l < "$D1/final")" -gt 0 ] || fail "no final reads"
cat "$D1"/history-* "$D1/final" > "$D1/all"
"$LINCHECK" "$D1/all" || fail "history not linearizable"
writes=$(acked_writes "$D1"/history-*)
check_replicas "$writes"

# -- 2. a paused tail is replaced and stays out ------------------------------
tail_id=6
kill -STOP "${PID[$tail_id]}"
echo "paused replica $tail_id"
tool load --coordinator=127.0.0.1:"$COORD_PORT" --client=20 --keys=1000 \
  --ops=300 --history="$D1/history-paused" > "$D1/load-paused.out" \
  2> "$D1/load-paused.err" || fail "writes while the tail is paused"
wait_chain "2 4"
kill -CONT "${PID[$tail_id]}"
sleep 0.5
probe=$(tool probe --replica=127.0.0.1:"${PORT[$tail_id]}")
echo "$probe"
echo "$probe" | grep -q "serving 0" || fail "the resumed tail serves reads"
echo "$probe" | grep -q "read: refused" || fail "the resumed tail read"
echo "$probe" | grep -q "write: refused" || fail "the resumed tail wrote"
writes=$((writes + $(acked_writes "$D1/history-paused")))
check_replicas "$writes"

# -- 3. whole restart after 20,000 acknowledged writes -----------------------
for p in "${STARTED[@]}"; do kill -9 "$p" 2>/dev/null; done
wait 2>/dev/null
D3="$WORK/restart"
mkdir -p "$D3"
start_coordinator "$D3" 1,2,3
for id in 1 2 3; do start_replica "$D3" $id; done
wait_chain "1 2 3"
LOADS=()
for c in $(seq 1 8); do
  "$GCS" load --coordinator=127.0.0.1:"$COORD_PORT" --client=$c \
    --unique-keys=1 --ops=2500 --history="$D3/history-$c" \
    > "$D3/load-$c.out" 2> "$D3/load-$c.err" &
  LOADS+=("$!")
  STARTED+=("$!")
done
for p in "${LOADS[@]}"; do wait "$p" || fail "a writer saw a failure"; done
[ "$(acked_writes "$D3"/history-*)" = 20000 ] || fail "not 20000 writes"
before=$(chain)
kill -9 "$COORD_PID" "${PID[1]}" "${PID[2]}" "${PID[3]}"
wait "$COORD_PID" "${PID[1]}" "${PID[2]}" "${PID[3]}" 2>/dev/null
echo "killed every replica and the coordinator (chain was: $before)"
start_coordinator "$D3" 1,2,3 -again
for id in 1 2 3; do start_replica "$D3" $id -again; done
wait_chain_from "$before"
tool verify --coordinator=127.0.0.1:"$COORD_PORT" --unique-keys=1 \
  --history="$(ls "$D3"/history-* | paste -sd,)" \
  | tee "$D3/verify" || fail "acknowledged writes missing after restart"
grep -q "present: 20000 of 20000" "$D3/verify" || fail "not all 20000"
check_replicas 20000
echo "gcs_chain: all checks passed"
