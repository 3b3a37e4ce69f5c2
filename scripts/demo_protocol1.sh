#!/usr/bin/env bash
# Protocol 1 of the seed paper with key authenticity (section 4.3), step by step, on this
# machine: a local certification authority (hopbox-ca), a local hopboxd (embedded storage),
# and four devices (alice and bob, each with a primary and a secondary), each with its own
# SoftHSM2 token in a temporary folder. Needs a build (scripts/demo.sh makes one).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/local_stack.sh
make_tokens alice1 alice2 alice3 bob1 bob2 carol1 dave1 mallory1 mallory2 mallory3

step() { printf '\n-- %s\n' "$*"; }

# A recovery waits 4 s here (at the CA and the cloud) before it completes, so that the
# account's devices can cancel it; the default is a day.
wait_seconds=4
step "The certification authority: hopbox-ca on 127.0.0.1, its own keys in $work/ca (not the cloud's)"
start_ca --recovery-wait-seconds "$wait_seconds"

step "The cloud: hopboxd on 127.0.0.1, storing everything in $work/cloud; it admits certified devices only"
echo "   (a recovery waits 4 s here, at the CA too, before it completes, so that the account's devices can cancel it; the default is a day)"
start_cloud --revocation-refresh 2 --recovery-wait-seconds "$wait_seconds"

step "The CA's operator checks who alice and bob are (in person) and gives each a one-time code"
declare -A codes
for user in alice bob; do
  codes[$user]=$(ca_cli invite --json --data-dir "$work/ca" "$user" | json '["code"]')
  echo "   $user: enrollment code ${codes[$user]} (valid 72 hours, usable once)"
done
step "An identifier that looks like an existing one is refused (Cyrillic 'а' in 'аlice')"
ca_cli invite --data-dir "$work/ca" "аlice" || echo "   refused, as it should be"

for user in alice bob; do
  step "$user sets up an account on a primary device (keys made inside token ${user}1), enrolled at the CA"
  hb "${user}1" init --user "$user" --token "${user}1" --device-name primary \
    --enroll-code "${codes[$user]}" "${server[@]}"
  step "$user adds a secondary device: it shows a pairing code and a QR code ..."
  code=$(hb "${user}2" --json device add --user "$user" --token "${user}2" \
    --device-name secondary "${server[@]}" | json '["pairing_code"]')
  echo "   pairing code ${code:0:40}..."
  step "... which the primary approves (comparing the short code): it certifies the secondary and creates the key primary -> secondary"
  hb "${user}1" device approve --yes "$code"
  hb "${user}2" device status
done

head -c 200000 /dev/urandom >"$work/report.bin"
step "alice uploads report.bin from her secondary (encrypted for her primary's key)"
hb alice2 put "$work/report.bin"
step "bob's safety number, as his own device shows it"
hb bob1 whoami
step "alice's secondary checks bob's key against the CA, shows the same number, and shares (a re-encryption key secondary -> bob)"
hb alice2 share bob --yes
step "bob reads it on his secondary: the cloud re-encrypts alice1 -> alice2 -> bob1 -> bob2"
hb bob2 get report.bin --owner alice -o "$work/received.bin"
cmp "$work/report.bin" "$work/received.bin" && echo "   the bytes bob received are alice's"
step "Real names stay encrypted: alice files it as \"Quartalsbericht März 2026.bin\" in Berichte/2026; the cloud sees an opaque id, bob reads the name from the item's metadata"
hb alice2 put "$work/report.bin" --as "Quartalsbericht März 2026.bin" --folder Berichte/2026
hb bob2 ls --shared
if grep -rq "Quartalsbericht" "$work/cloud"; then echo "   unexpected: the cloud holds the name"; exit 1; fi
echo "   the cloud's files hold neither the name nor the folder"
step "alice revokes the share; bob's next download is refused"
share_id=$(hb alice2 --json shares | python3 -c 'import json,sys; print([s["id"] for s in json.load(sys.stdin) if s["kind"]=="REKEY_KIND_SHARE"][0])')
hb alice2 unshare "$share_id"
if hb bob2 get report.bin --owner alice -o "$work/again.bin"; then
  echo "   unexpected: still readable"; exit 1
fi
echo "   refused, as it should be"

step "A dishonest cloud swaps bob's key for another one: alice's client catches it and refuses to share"
swap_bob_key() {
  python3 - "$work/cloud/hopbox.db" "$1" <<'PY'
import json, os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
bob = "is_primary = 1 AND user_id = (SELECT id FROM users WHERE name = 'bob')"
saved = os.path.join(os.path.dirname(sys.argv[1]), "bob-key.json")
if sys.argv[2] == "swap":
    key, fp = db.execute("SELECT encryption_key, fingerprint FROM devices WHERE " + bob).fetchone()
    json.dump([key.hex(), fp.hex()], open(saved, "w"))
    alice = db.execute("SELECT d.encryption_key FROM devices d JOIN users u ON u.id = d.user_id "
                       "WHERE u.name = 'alice' AND d.is_primary = 1").fetchone()[0]
    db.execute("UPDATE devices SET encryption_key = ?, fingerprint = ? WHERE " + bob,
               (alice, os.urandom(32)))
else:
    key, fp = json.load(open(saved))
    db.execute("UPDATE devices SET encryption_key = ?, fingerprint = ? WHERE " + bob,
               (bytes.fromhex(key), bytes.fromhex(fp)))
db.commit()
PY
}
swap_bob_key swap
if hb alice1 share bob --yes; then echo "   unexpected: shared"; exit 1; fi
swap_bob_key restore

step "Protocol 2 set-up: carol, dave and mallory enroll; alice asks bob, carol and dave to protect her account"
for user in carol dave mallory; do
  code=$(ca_cli invite --json --data-dir "$work/ca" "$user" | json '["code"]')
  hb "${user}1" init --user "$user" --token "${user}1" --device-name primary \
    --enroll-code "$code" "${server[@]}" >/dev/null
done
for user in bob carol dave; do
  hb alice1 recovery add "$user"
  echo "   $user's device shows who asks and makes a recovery key just for alice:"
  hb "${user}1" watch --seconds 1 --yes | sed 's/^/   /'
done
hb alice1 watch --seconds 1 --yes >/dev/null
step "alice chooses a threshold: any 2 of bob, carol and dave together, none alone"
hb alice1 recovery threshold 2 bob carol dave

step "mallory, an enrolled user, tries to take alice's account: she asks for a recovery naming herself"
echo "   the cloud asks nobody (and its answer does not tell her who protects alice): nothing can approve it"
if hb mallory2 recover --via mallory --user alice --token mallory2 --device-name laptop \
  "${server[@]}" >"$work/mallory.out" 2>&1; then
  echo "   unexpected: recovered"; exit 1
fi
sed 's/^/   /' "$work/mallory.out"
step "... and then naming bob, who does protect alice: bob sees a code that alice does not show, and refuses"
hb mallory3 recover --via bob --user alice --token mallory3 --device-name laptop \
  "${server[@]}" >/dev/null 2>&1 || true
hb bob1 watch --seconds 1 --no | sed 's/^/   /'
echo "   the request ends at once; alice's devices hear of it, and her account is unchanged:"
hb alice1 watch --seconds 1 | sed 's/^/   /'

step "alice's secondary announces that it takes over (R1), at the cloud and the CA: nothing happens before the waiting period ends"
hb alice2 recover --yes 2>&1 | sed 's/^/   /' || true
step "alice's primary is told (by the cloud and the CA), and cancels it at both"
hb alice1 watch --seconds 1 | sed 's/^/   /'
hb alice1 recovery cancel

step "alice loses both her devices. On a new device (token alice3) she asks her recovery users"
hb alice3 recover --via bob --via carol --via dave --user alice --token alice3 \
  --device-name new-phone "${server[@]}" || true
step "bob calls alice, compares the code, approves and returns his shares (the cloud checks them)"
hb bob1 watch --seconds 1 --yes
step "one approval is not enough"
hb alice3 recover --via bob || echo "   (still waiting, as it should)"
step "carol approves too: two valid shares, the cloud rebuilds the sealed recovery keys"
hb carol1 watch --seconds 1 --yes
step "the recovery waits out its waiting period (alice's devices, were they not lost, could cancel it)"
hb alice3 recover --via bob 2>&1 | sed 's/^/   /' || true
sleep "$wait_seconds"
step "alice's new device opens the CA's challenge through the recovery chain, is re-certified, and takes over, keeping her 2-of-3 recovery users (only what she names is kept)"
hb alice3 recover --via bob --keep-threshold
step "alice reads what she had before the loss; her lost devices are refused"
hb alice3 get report.bin -o "$work/recovered.bin"
cmp "$work/report.bin" "$work/recovered.bin" && echo "   the same bytes as before the loss"
if hb alice1 ls >/dev/null 2>&1; then echo "   unexpected: the lost device still works"; exit 1; fi
echo "   the lost primary is refused"
