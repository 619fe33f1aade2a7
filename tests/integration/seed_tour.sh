#!/usr/bin/env bash
# The seed article's three programs print exactly what the article shows.
# With CAFRAY_ADDRESS set they run as drivers of that cluster, shipping their
# code libraries (examples/lib<name>_code.so) to its nodes.
# usage: seed_tour.sh BUILD_DIR
set -euo pipefail
build=$1
fail=0

expect() {
  local name=$1 expected=$2 actual
  if ! actual=$(CAFRAY_CODE="$build/examples/lib${name}_code.so" \
                timeout 60 "$build/examples/$name" 2>&1); then
    echo "FAIL $name: exit code $?"; echo "$actual"; fail=1; return
  fi
  if [[ "$actual" != "$expected" ]]; then
    echo "FAIL $name"
    diff <(echo "$expected") <(echo "$actual") || true
    fail=1
  else
    echo "ok   $name"
  fi
}

expect seed_functions "17"
expect seed_counters "[1, 1, 1, 1]
[2, 2, 2, 2]
[3, 3, 3, 3]"
expect parameter_server "initial: w1=[1, 2, 3] w2=[10, 20]
pulled:  w1=[1.75, 2.75, 3.75] w2=[13, 23]"
exit $fail
