#!/usr/bin/env bash
# caf-ray's two quick-start commands:
#   ./dev.sh demo   installs what is missing, builds, runs the seed tour
#   ./dev.sh test   installs what is missing, builds, runs every test and
#                   ends with a line "N passed, N failed"
# CAFRAY_BUILD_DIR chooses another build directory (default: build).
# Both are fast the second time: nothing is reinstalled or reconfigured.
set -euo pipefail
cd "$(dirname "$0")"

build=${CAFRAY_BUILD_DIR:-build}
packages=(g++ meson ninja-build pkg-config cmake libcaf-dev liblmdb-dev
          libfmt-dev doctest-dev libboost-serialization-dev libjemalloc-dev)

usage() {
  echo "usage: $0 demo|test" >&2
  exit 2
}

install_missing_packages() {
  local missing=() pkg
  for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null \
        | grep -q "install ok installed"; then
      missing+=("$pkg")
    fi
  done
  ((${#missing[@]} == 0)) && return 0
  echo "==> installing ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null \
      || { echo "need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo=(sudo)
  fi
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive \
    "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
}

configure_and_build() {
  if [[ ! -f $build/build.ninja ]]; then
    echo "==> configuring $build/"
    if [[ -f $build/meson-private/coredata.dat ]]; then
      meson setup --reconfigure "$build" --buildtype=release || return 1
    else
      meson setup "$build" --buildtype=release || return 1
    fi
  fi
  echo "==> building"
  ninja -C "$build" -j "$(nproc)" || return 1
}

run_demo() {
  local found=0 rc=0 name
  for name in seed_functions seed_counters parameter_server; do
    local exe=$build/examples/$name
    [[ -x $exe ]] || continue
    found=$((found + 1))
    echo
    echo "=== $name ==="
    "$exe" || { rc=$?; echo "$name failed with exit code $rc" >&2; }
  done
  if ((found == 0)); then
    echo "no example programs were built (expected $build/examples/...)" >&2
    return 1
  fi
  return "$rc"
}

run_tests() {
  local rc=0
  local log=$build/meson-logs/testlog.json
  rm -f "$log" # never count a previous run's results
  meson test -C "$build" --print-errorlogs --num-processes 2 || rc=$?
  [[ -f $log ]] || { echo "0 passed, 0 failed"; echo "no test log" >&2; return 1; }
  # One JSON object per test; OK and EXPECTEDFAIL pass, anything else fails.
  local counts
  counts=$(python3 - "$log" <<'PY'
import json, sys
passed = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        line = line.strip()
        if not line:
            continue
        if json.loads(line).get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        else:
            failed += 1
print(passed, failed)
PY
)
  local passed=${counts% *} failed=${counts#* }
  echo "$passed passed, $failed failed"
  if ((failed > 0 || passed == 0 || rc != 0)); then
    return 1
  fi
}

(($# == 1)) || usage
case $1 in
  demo)
    install_missing_packages
    configure_and_build || { echo "the build failed" >&2; exit 1; }
    run_demo
    ;;
  test)
    install_missing_packages
    if ! configure_and_build; then
      echo "the build failed: no tests ran" >&2
      echo "0 passed, 0 failed"
      exit 1
    fi
    run_tests
    ;;
  *)
    usage
    ;;
esac
