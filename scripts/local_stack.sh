# Sourced by the scripts that run Hopbox on this machine (demo_protocol1.sh, recovery_chart.sh):
# a temporary folder with SoftHSM2 tokens, child processes killed on exit, and small helpers.
# Needs a build in build/release (or $HOPBOX_BUILD). Sets: bin, work, module, SOFTHSM2_CONF,
# HOPBOX_PIN.
# Servers are started by PID into $work/pids (a file, so that a server started in a subshell or a
# function is recorded too) and stopped on any exit: success, failure (set -e), Ctrl-C, SIGTERM.
bin=${HOPBOX_BUILD:-build/release}
work=$(mktemp -d)
: >"$work/pids"
cleanup() {
  local status=$? p
  trap - EXIT INT TERM
  while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/pids"
  # Gone before their folder is: they may still be writing into it.
  while read -r p; do
    for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.05; done
    kill -KILL "$p" 2>/dev/null || true
  done <"$work/pids"
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  2>/dev/null | head -1)
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf" HOPBOX_PIN=1234

# One token per device label, all with the PIN above.
make_tokens() {
  for t in "$@"; do
    softhsm2-util --init-token --free --label "$t" --pin 1234 --so-pin 99999 >/dev/null
  done
}
# Waits for a server's port file; fails (and so stops the script) if it never comes.
wait_port() {
  for _ in $(seq 100); do [ -f "$1" ] && return; sleep 0.1; done
  echo "a server did not start (no $1); see its log in $work" >&2
  return 1
}
ca_cli() { "$bin/hopbox-ca/hopbox-ca" "$@"; }
hb() { local dev=$1; shift; "$bin/hopbox/hopbox" --state "$work/$dev" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# hopbox-ca in $work/ca on a free loopback port, with any further `serve` options; sets
# ca=(--ca ... --ca-root ...).
start_ca() {
  ca_cli init --data-dir "$work/ca"
  # The binary itself, not the ca_cli function: $! must be the server, not a subshell whose
  # death would leave the server running.
  "$bin/hopbox-ca/hopbox-ca" serve --data-dir "$work/ca" --listen 127.0.0.1:0 \
    --port-file "$work/ca-port" "$@" >"$work/ca.log" 2>&1 &
  echo $! >>"$work/pids"
  wait_port "$work/ca-port"
  ca=(--ca "127.0.0.1:$(cat "$work/ca-port")" --ca-root "$work/ca/root.pem")
}

# hopboxd in $work/cloud, knowing the CA, with any further options; sets server=(...), the
# options a device's `init`/`device add` needs.
start_cloud() {
  "$bin/hopboxd/hopboxd" --data-dir "$work/cloud" --listen 127.0.0.1:0 \
    --port-file "$work/port" "${ca[@]}" "$@" >"$work/cloud.log" 2>&1 &
  echo $! >>"$work/pids"
  wait_port "$work/port"
  server=(--server "127.0.0.1:$(cat "$work/port")" --server-ca "$work/cloud/tls/cert.pem"
          --module "$module" "${ca[@]}")
}
