#!/usr/bin/env bash
# Every script that sources scripts/local_stack.sh stops the servers it started, whether it
# ends normally, fails (set -e), or is stopped by SIGINT (Ctrl-C) or SIGTERM; and removes its
# temporary folder. Usage: local_stack_test.sh BUILD_DIR (run by ctest).
set -euo pipefail
build=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.."
root=$(mktemp -d)
export TMPDIR=$root  # local_stack.sh's folder, and so every server's command line, is in here
set -m               # children in their own process group: SIGINT is not ignored there
failed=0

# PIDs of processes whose command line mentions $root (the servers the stack started).
leftovers() {
  local f
  for f in /proc/[0-9]*/cmdline; do
    if { tr '\0' ' ' <"$f"; } 2>/dev/null | grep -qF "$root/"; then
      f=${f#/proc/}
      echo "${f%/cmdline}"
    fi
  done
}

for mode in success failure sigint sigterm; do
  rm -f "$root/ready"
  HOPBOX_BUILD=$build MODE=$mode READY=$root/ready bash -c '
    set -euo pipefail
    . scripts/local_stack.sh
    start_ca >/dev/null
    start_cloud
    touch "$READY"
    case $MODE in
      success) exit 0 ;;
      failure) false ;;
      *) while :; do sleep 0.1; done ;;
    esac' &
  script=$!
  for _ in $(seq 300); do
    [ -f "$root/ready" ] && break
    kill -0 "$script" 2>/dev/null || break
    sleep 0.1
  done
  if [ ! -f "$root/ready" ]; then
    echo "FAIL $mode: the stack did not start"; failed=1
  fi
  case $mode in
    sigint) kill -INT "$script" ;;
    sigterm) kill -TERM "$script" ;;
  esac
  for _ in $(seq 200); do kill -0 "$script" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$script" 2>/dev/null; then
    echo "FAIL $mode: the script did not stop"; failed=1
    kill -KILL -- "-$script" 2>/dev/null || true  # its process group (set -m)
  fi
  status=0
  wait "$script" || status=$?
  case $mode in
    success) expected=0 ;;
    failure) expected=1 ;;
    sigint) expected=130 ;;
    sigterm) expected=143 ;;
  esac
  if [ "$status" != "$expected" ]; then
    echo "FAIL $mode: exit status $status, expected $expected"; failed=1
  fi
  left=$(leftovers)
  if [ -n "$left" ]; then
    echo "FAIL $mode: still running after the script ended:"
    for p in $left; do
      { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null
      echo
      kill -KILL "$p" 2>/dev/null || true
    done
    failed=1
  fi
  if [ -n "$(find "$root" -mindepth 1 -maxdepth 1 ! -name ready)" ]; then
    echo "FAIL $mode: temporary folder left: $(ls -A "$root")"; failed=1
  fi
  rm -rf "${root:?}"/*
  [ "$failed" = 0 ] && echo "ok $mode"
done
rm -rf "$root"
exit "$failed"
