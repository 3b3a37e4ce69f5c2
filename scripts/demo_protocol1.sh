#!/usr/bin/env bash
# Protocol 1 of the seed paper, step by step, on this machine: a local hopboxd (embedded
# storage), and four devices (alice and bob, each with a primary and a secondary), each with
# its own SoftHSM2 token in a temporary folder. Needs a build (scripts/demo.sh makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

module=$(ls /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  2>/dev/null | head -1)
mkdir -p "$work/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
  "$work/tokens" >"$work/softhsm2.conf"
export SOFTHSM2_CONF="$work/softhsm2.conf" HOPBOX_PIN=1234
for t in alice1 alice2 bob1 bob2; do
  softhsm2-util --init-token --free --label "$t" --pin 1234 --so-pin 99999 >/dev/null
done

step() { printf '\n-- %s\n' "$*"; }
hb() { local dev=$1; shift; "$bin/hopbox/hopbox" --state "$work/$dev" "$@"; }

step "The cloud: hopboxd on 127.0.0.1, storing everything in $work/cloud"
"$bin/hopboxd/hopboxd" --data-dir "$work/cloud" --listen 127.0.0.1:0 \
  --port-file "$work/port" >"$work/cloud.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do [ -f "$work/port" ] && break; sleep 0.1; done
server=(--server "127.0.0.1:$(cat "$work/port")" --server-ca "$work/cloud/tls/cert.pem"
        --module "$module")

for user in alice bob; do
  step "$user sets up an account on a primary device (keys made inside token ${user}1)"
  hb "${user}1" init --user "$user" --token "${user}1" --device-name primary "${server[@]}"
  step "$user adds a secondary device: it shows a pairing code and a QR code ..."
  code=$(hb "${user}2" --json device add --user "$user" --token "${user}2" \
    --device-name secondary "${server[@]}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pairing_code"])')
  echo "   pairing code ${code:0:40}..."
  step "... which the primary approves (comparing the short code), creating the key primary -> secondary"
  hb "${user}1" device approve --yes "$code"
  hb "${user}2" device status
done

head -c 200000 /dev/urandom >"$work/report.bin"
step "alice uploads report.bin from her secondary (encrypted for her primary's key)"
hb alice2 put "$work/report.bin"
step "alice's secondary shares with bob's primary (a re-encryption key secondary -> bob)"
hb alice2 share bob
step "bob reads it on his secondary: the cloud re-encrypts alice1 -> alice2 -> bob1 -> bob2"
hb bob2 get report.bin --owner alice -o "$work/received.bin"
cmp "$work/report.bin" "$work/received.bin" && echo "   the bytes bob received are alice's"
step "alice revokes the share; bob's next download is refused"
share_id=$(hb alice2 --json shares | python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin) if s["kind"]=="REKEY_KIND_SHARE"][0])')
hb alice2 unshare "$share_id"
if hb bob2 get report.bin --owner alice -o "$work/again.bin"; then
  echo "   unexpected: still readable"; exit 1
fi
echo "   refused, as it should be"
