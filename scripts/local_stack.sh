# Sourced by the scripts that run Hopbox on this machine (demo_protocol1.sh, recovery_chart.sh):
# a temporary folder with SoftHSM2 tokens, child processes killed on exit, and small helpers.
# Needs a build in build/release. Sets: bin, work, module, SOFTHSM2_CONF, HOPBOX_PIN.
bin=build/release
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

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
wait_port() { for _ in $(seq 50); do [ -f "$1" ] && return; sleep 0.1; done; }
ca_cli() { "$bin/hopbox-ca/hopbox-ca" "$@"; }
hb() { local dev=$1; shift; "$bin/hopbox/hopbox" --state "$work/$dev" "$@"; }
json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# hopbox-ca in $work/ca on a free loopback port, with any further `serve` options; sets
# ca=(--ca ... --ca-root ...).
start_ca() {
  ca_cli init --data-dir "$work/ca"
  ca_cli serve --data-dir "$work/ca" --listen 127.0.0.1:0 --port-file "$work/ca-port" "$@" \
    >"$work/ca.log" 2>&1 &
  pids+=($!)
  wait_port "$work/ca-port"
  ca=(--ca "127.0.0.1:$(cat "$work/ca-port")" --ca-root "$work/ca/root.pem")
}

# hopboxd in $work/cloud, knowing the CA, with any further options; sets server=(...), the
# options a device's `init`/`device add` needs.
start_cloud() {
  "$bin/hopboxd/hopboxd" --data-dir "$work/cloud" --listen 127.0.0.1:0 \
    --port-file "$work/port" "${ca[@]}" "$@" >"$work/cloud.log" 2>&1 &
  pids+=($!)
  wait_port "$work/port"
  server=(--server "127.0.0.1:$(cat "$work/port")" --server-ca "$work/cloud/tls/cert.pem"
          --module "$module" "${ca[@]}")
}
