# Shared by the scripts that start caf-node processes (sourced): the caller
# sets `work` (a temporary directory for logs) and `pids` (the processes it
# started), and traps EXIT with stop_processes.

# Stops every started process (TERM, then KILL after 5 s) and removes $work.
stop_processes() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}

# Reports a failure with the tail of every log in $work, and exits 1.
fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log; do
    echo "--- $f" >&2
    tail -20 "$f" >&2
  done
  exit 1
}

# Waits until FILE holds a line matching PATTERN (at most 10 s).
await_line() {
  local file=$1 pattern=$2
  for _ in $(seq 100); do
    grep -qE "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.1
  done
  fail "no line matching '$pattern' in $file"
}

# `caf-node status` of the head at $addr ($node is caf-node).
status() {
  timeout 10 "$node" status --address "$addr"
}

# Waits until the status holds a line matching PATTERN (at most 5 s); the
# last status stays in $work/status.txt.
await_status() {
  local pattern=$1
  for _ in $(seq 50); do
    status >"$work/status.txt" 2>&1 || true
    grep -qE "$pattern" "$work/status.txt" && return 0
    sleep 0.1
  done
  fail "status never matched '$pattern': $(cat "$work/status.txt")"
}

# Prints where each thread of process PID waits (stacks if gdb is there,
# kernel wait channels otherwise), to find a hang after the fact.
dump_threads() {
  local pid=$1 t
  echo "--- threads of $pid ($(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null))" >&2
  if command -v gdb >/dev/null; then
    timeout 20 gdb -p "$pid" -batch -nx -ex "thread apply all bt 15" 2>/dev/null \
      | grep -E '^(Thread|#)' >&2 || true
  else
    for t in /proc/"$pid"/task/*; do
      echo "$(cat "$t/comm" 2>/dev/null) $(cat "$t/wchan" 2>/dev/null)" >&2
    done
  fi
}

# Waits until process PID (WHAT names it) ended, at most LIMIT s after it
# was told to stop, and collects it into `rc`; fails if it still runs.
await_exit() {
  local pid=$1 what=$2 limit=$3
  for _ in $(seq $((limit * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    dump_threads "$pid"
    fail "$what still runs $limit s after SIGTERM"
  fi
  rc=0
  wait "$pid" || rc=$?
}
