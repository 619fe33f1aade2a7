#!/usr/bin/env bash
# The lincheck command: its exit status and first line on the sample
# histories. Usage: check_cli.sh LINCHECK HISTORIES-DIR
set -uo pipefail
lincheck=$1
dir=$2
failures=0

expect() { # expect STATUS FIRST-LINE FILE
  local want_status=$1 want_line=$2 file=$3 out status
  out=$("$lincheck" "$file" 2>&1)
  status=$?
  if [[ $status != "$want_status" || ${out%%$'\n'*} != "$want_line" ]]; then
    echo "FAIL $file: status $status (want $want_status), output:" >&2
    echo "$out" >&2
    failures=$((failures + 1))
  else
    echo "ok   $file: $want_line"
  fi
}

expect 0 "linearizable: 2 keys, 9 ops" "$dir/linearizable.txt"
expect 1 "not linearizable: key x" "$dir/stale_read.txt"
bad=$(mktemp)
trap 'rm -f "$bad"' EXIT
printf '1 x write 1 0 10\n1 x wrte 2 0 1\n' > "$bad"
expect 2 "$bad: line 2: kind must be read or write, not 'wrte'" "$bad"
expect 2 "/nonexistent/history: cannot open" /nonexistent/history
((failures == 0))
