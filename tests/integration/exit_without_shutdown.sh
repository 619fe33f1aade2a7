#!/usr/bin/env bash
# Runs the driver that skips shutdown(); it must finish within 20 s, exit 0
# and print the exact sum of squares 0..99.
set -u
exe=$1
out=$(timeout 20 "$exe" 2>&1)
rc=$?
expected="sum 328350, kept 1048576 bytes"
if [[ $rc -ne 0 ]]; then
  echo "FAIL: exit code $rc (124 means it hung); output: $out"
  exit 1
fi
if [[ $out != "$expected" ]]; then
  echo "FAIL: expected '$expected', got '$out'"
  exit 1
fi
echo "ok: $out"
