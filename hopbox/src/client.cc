#include "client.h"

#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "access.h"
#include "certs/item_signature.h"
#include "client_internal.h"
#include "download_sink.h"
#include "hopbox/exit_codes.h"
#include "hopbox/net.h"
#include "hopbox/private_files.h"
#include "mupre/hex.h"
#include "mupre/item.h"
#include "names.h"
#include "pairing_code.h"
#include "software_keystore.h"
#include "statements.h"
#include "token.h"
#include "trust.h"

namespace hopbox {

namespace fs = std::filesystem;
namespace v1 = hopbox::v1;

namespace internal {

constexpr char kSessionLabel[] = "hopbox v1 session";
constexpr std::size_t kMessagePayload = 1 << 20;  // bytes of payload per upload message
// The listing of a device's inbox ends once sent; this only bounds a service that never ends it.
constexpr std::chrono::seconds kInboxListingDeadline{60};

std::int64_t random_serial() {
  std::int64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return (v & 0x7fffffffffffffffLL) | 1;  // positive, never zero
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_time(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &utc);
  return buf;
}

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw ClientError("cannot read " + p.string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

Bytes bytes_of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}
std::string string_of(std::span<const std::uint8_t> b) {
  return std::string(b.begin(), b.end());
}

Bytes unhex(const std::string& s, const char* what) {
  auto v = mupre::from_hex(s);
  if (!v) throw ClientError(std::string("device state: ") + what + " is not hexadecimal");
  return *v;
}

// The service's address, for the error that says it cannot be reached (a command talks to one
// service; gRPC's own message, "failed to connect to all addresses", names none usefully).
std::string g_service_address;

void check(const grpc::Status& s, const std::string& what) {
  if (s.ok()) return;
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
      s.error_message().find("database cannot be written") != std::string::npos) {
    // hopboxd answered: it serves reads, but cannot store anything until its operator acts.
    throw ClientError(what + ": the service at " + g_service_address +
                          " cannot store anything now: " + s.error_message(),
                      exit_code::kUnavailable);
  }
  if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
    throw ClientError(what + ": cannot reach the service at " + g_service_address +
                          ": is hopboxd running there, and are --server and --server-ca right? (" +
                          s.error_message() + ")",
                      exit_code::kUnavailable);
  }
  // A failure, not a refusal: what depends on it (a recovery's rebuild) must stop and be
  // resumed, not go on as though the service had said no.
  if (s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    throw ClientError(what + ": the service at " + g_service_address +
                          " did not answer in time; whether it was done is not known: check "
                          "before doing it again",
                      exit_code::kUnavailable);
  }
  if (s.error_code() == grpc::StatusCode::INTERNAL || s.error_code() == grpc::StatusCode::UNKNOWN) {
    throw ClientError(what + ": the service at " + g_service_address + " failed (" +
                          s.error_message() +
                          "); nothing was refused: try again later (if it goes on, its operator "
                          "should look at its log)",
                      exit_code::kUnavailable);
  }
  std::string message = what + ": " + s.error_message();
  if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED &&
      s.error_message().find("no admissible chain") != std::string::npos) {
    message += " (ask the owner for it: `hopbox request-access OWNER`)";
  }
  throw ClientError(message, exit_code::kRefused);
}

std::unique_ptr<v1::Hopbox::Stub> make_stub(const DeviceState& s) {
  g_service_address = s.server;
  return v1::Hopbox::NewStub(net::tls_channel(s.server, read_text(s.server_ca), 8 << 20));
}

// The pairing code's keys; a ClientError (usage) for anything that is not one.
pairing::Keys decode_pairing(const std::string& code) {
  if (!pairing::has_prefix(code)) throw ClientError("not a pairing code (HBP1-...)", 2);
  auto keys = pairing::decode(code);
  if (!keys) throw ClientError("damaged pairing code", 2);
  return std::move(*keys);
}

std::unique_ptr<KeyStore> open_keys(const fs::path& dir, const DeviceState& s,
                                    const std::string& pin) {
  if (s.module == "software") return SoftwareKeyStore::open(dir, pin);
  return Token::open(s.module, s.token_label, pin);
}

DeviceState make_device_keys(const fs::path& dir, const std::string& pin, DeviceState base,
                             std::unique_ptr<KeyStore>& keys) {
  if (state_exists(dir)) throw ClientError(dir.string() + " already holds a device", 2);
  if (base.device_name.empty()) base.device_name = "device";
  base.key_label = "hopbox/" + base.user + "/" + base.device_name;
  files::make_private_dir(dir);  // the key file and the state go here
  keys = open_keys(dir, base, pin);
  keys->generate_device_keys(base.key_label);
  try {
    const SealedSecretKey key = SealedSecretKey::create(*keys, base.key_label);
    base.sealed_key = mupre::to_hex(key.sealed());
    base.public_key = mupre::to_hex(key.public_key().encode());
  } catch (...) {
    keys->delete_device_keys(base.key_label);
    throw;
  }
  return base;
}

// ASCII case folding: enough to accept the identifier as first typed against the CA's
// normalized one when an init resumes.
std::string fold(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace internal

using namespace internal;

Client::Client(fs::path dir, DeviceState state, std::unique_ptr<KeyStore> keys,
               bool tolerate_replaced)
    : dir_(std::move(dir)), state_(std::move(state)), keys_(std::move(keys)) {
  stub_ = make_stub(state_);
  if (!state_.ca.empty()) {
    trust_ = std::make_unique<Trust>(
        state_.ca, state_.ca_root, state_.revocation_list_issued_at,
        [this](std::int64_t issued_at) {
          state_.revocation_list_issued_at = issued_at;
          save_state(dir_, state_);
        },
        dir_ / kRevocationCacheFile);
    // Only `recover` trusts the lost primary, while it rebuilds: what the thief holding it
    // signs is trusted by no other command.
    for (const auto& f :
         tolerate_replaced ? state_.replaced_primaries : std::vector<std::string>{}) {
      trust_->tolerate_revoked(unhex(f, "replaced_primaries"), state_.user);
    }
    for (const auto& [digest, f] : state_.pinned_item_signatures) {
      trust_->tolerate_item_signature(unhex(digest, "pinned_item_signatures"),
                                      unhex(f, "pinned_item_signatures"), state_.user);
    }
  }
}
Client::~Client() = default;

std::unique_ptr<Client> Client::init(const fs::path& dir, const std::string& pin, DeviceState base,
                                     const std::string& enrollment_code) {
  if (!base.ca.empty() && (base.ca_root.empty() || enrollment_code.empty())) {
    throw ClientError("with --ca, give --ca-root and --enroll-code too", 2);
  }
  std::unique_ptr<Client> c;
  bool created_dir = false;
  if (state_exists(dir)) {
    DeviceState s = load_state(dir);
    if (!s.init_pending) throw ClientError(dir.string() + " already holds a device", 2);
    // Resuming: the same account and keys; the addresses as given now (one may have been
    // mistyped).
    if (fold(s.user) != fold(base.user) || s.ca.empty() != base.ca.empty()) {
      throw ClientError(
          dir.string() + " holds an unfinished init of \"" + s.user + "\"" +
              (s.ca.empty() ? " without a CA" : " with a CA") +
              ": run it again with the same --user (and --ca), or use another --state",
          2);
    }
    s.server = base.server;
    s.server_ca = base.server_ca;
    if (!base.ca.empty()) {
      s.ca = base.ca;
      s.ca_root = base.ca_root;
    }
    auto keys = open_keys(dir, s, pin);
    if (!keys->has_device_keys(s.key_label)) {
      throw ClientError("the unfinished init's keys (" + s.key_label + ") are not in token \"" +
                            s.token_label + "\"; remove " + dir.string() + " and start again",
                        1);
    }
    save_state(dir, s);
    c.reset(new Client(dir, std::move(s), std::move(keys)));
  } else {
    created_dir = !fs::exists(dir);
    std::unique_ptr<KeyStore> keys;
    DeviceState s = make_device_keys(dir, pin, std::move(base), keys);
    s.init_pending = true;
    try {
      save_state(dir, s);  // before any request: a crash leaves something to resume
    } catch (...) {
      keys->delete_device_keys(s.key_label);
      throw;
    }
    c.reset(new Client(dir, std::move(s), std::move(keys)));
  }
  try {
    c->finish_init(enrollment_code);
  } catch (const std::exception& e) {
    const int code = [&] {
      const auto* ce = dynamic_cast<const ClientError*>(&e);
      return ce ? ce->exit_code() : 1;
    }();
    if (c->state_.certificate_chain.empty() && c->state_.device_id == 0) {
      // Nothing irreversible happened: leave nothing behind, so that a retry starts clean.
      c->discard(created_dir);
      throw ClientError(std::string(e.what()) + " (nothing was kept: its keys were deleted)", code);
    }
    throw ClientError(
        std::string(e.what()) +
            (c->state_.device_id == 0
                 ? "\nThe CA certified this device's keys, which stay in the token. Run the same "
                   "`hopbox init` again (with --server corrected if it was wrong) to finish."
                 : "\nThe cloud registered this device, but the CA was not told. Run the same "
                   "`hopbox init` again to tell it."),
        code);
  }
  return c;
}

void Client::finish_init(const std::string& enrollment_code) {
  const Bytes spki = keys_->signing_public_key(state_.key_label);
  const Bytes encryption_key = unhex(state_.public_key, "public_key");
  if (trust_ && state_.certificate_chain.empty()) {
    // Asked again with the same code and keys, the CA returns the certificate it issued.
    auto [identifier, cert] =
        trust_->enroll(state_.user, enrollment_code, spki, encryption_key, signer());
    state_.user = identifier;
    state_.certificate_chain = mupre::to_hex(cert);
    save_state(dir_, state_);
  }
  const Bytes certificate = trust_ ? unhex(state_.certificate_chain, "certificate_chain") : Bytes{};
  if (state_.device_id == 0) {
    grpc::ClientContext ctx;
    v1::CreateAccountRequest req;
    req.set_user(state_.user);
    req.set_device_name(state_.device_name);
    req.mutable_keys()->set_signing_key(string_of(spki));
    req.mutable_keys()->set_encryption_key(string_of(encryption_key));
    req.mutable_keys()->set_certificate_chain(string_of(certificate));
    v1::CreateAccountResponse resp;
    const grpc::Status st = stub_->CreateAccount(&ctx, req, &resp);
    if (st.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
      // An earlier run may have been registered and lost the answer: these keys sign in then.
      try {
        ensure_session();
      } catch (const ClientError&) {
        check(st, "creating the account");
      }
    } else {
      check(st, "creating the account");
      state_.device_id = resp.device_id();
    }
    save_state(dir_, state_);
  }
  // From now on the operator cannot reset the identifier, nor Enroll resume.
  if (trust_) trust_->confirm_enrollment(certificate, signer());
  state_.init_pending = false;
  save_state(dir_, state_);
}

void Client::discard(bool remove_dir) {
  if (state_.device_id != 0) throw ClientError("this device is registered: not discarded", 2);
  keys_->delete_device_keys(state_.key_label);
  remove_state(dir_);
  std::error_code ec;
  if (state_.module == "software") fs::remove(dir_ / "software-keys.json", ec);
  if (remove_dir) fs::remove_all(dir_, ec);
}

std::unique_ptr<Client> Client::prepare_device(const fs::path& dir, const std::string& pin,
                                               DeviceState base) {
  std::unique_ptr<KeyStore> keys;
  DeviceState s = make_device_keys(dir, pin, std::move(base), keys);
  save_state(dir, s);
  return std::unique_ptr<Client>(new Client(dir, s, std::move(keys)));
}

std::unique_ptr<Client> Client::open(const fs::path& dir, const std::string& pin, bool to_recover) {
  DeviceState s = load_state(dir);
  const bool rebuild_pending = s.rebuild_lost_device != 0;
  if (rebuild_pending && !to_recover) {
    std::cerr << "WARNING: this device's recovery stopped half-way: run `hopbox recover` again "
                 "to finish it (until then, what the lost primary signed is not trusted here)\n";
  }
  auto keys = open_keys(dir, s, pin);
  return std::unique_ptr<Client>(new Client(dir, std::move(s), std::move(keys),
                                            /*tolerate_replaced=*/to_recover || !rebuild_pending));
}

certs::Signer Client::signer() {
  return [this](std::span<const std::uint8_t> m) { return keys_->sign(state_.key_label, m); };
}

std::vector<Bytes> Client::own_chain() {
  if (!state_.certificate_chain.empty()) {
    std::vector<Bytes> kept =
        certs::decode_chain(unhex(state_.certificate_chain, "certificate_chain"));
    if (!trust_ || !trust_->revokes_any(kept)) return kept;
    // A recovery replaced the primary that certified this device, and the new primary
    // re-certified it: what it signs must chain through the new one, or nobody else trusts it.
    if (auto renewed = renewed_chain(kept)) return *renewed;
    // Not re-certified (yet): an R1 retry, for one, still presents this chain to the CA.
    return kept;
  }
  for (const auto& d : devices("")) {
    if (d.device_id() != state_.device_id) continue;
    if (bytes_of(d.keys().encryption_key()) != unhex(state_.public_key, "public_key")) {
      throw ClientError("the service lists other keys for this device", 4);
    }
    trust_->verify_device(d.keys(), state_.user);
    state_.certificate_chain = mupre::to_hex(bytes_of(d.keys().certificate_chain()));
    save_state(dir_, state_);
    return certs::decode_chain(bytes_of(d.keys().certificate_chain()));
  }
  throw ClientError("this device is not registered", 3);
}

std::optional<std::vector<Bytes>> Client::renewed_chain(const std::vector<Bytes>& kept) {
  const std::vector<v1::Device> listed_devices = devices("");
  for (const auto& d : listed_devices) {
    if (d.device_id() != state_.device_id) continue;
    if (bytes_of(d.keys().encryption_key()) != unhex(state_.public_key, "public_key") ||
        bytes_of(d.keys().signing_key()) != keys_->signing_public_key(state_.key_label)) {
      return {};
    }
    std::vector<Bytes> listed = certs::decode_chain(bytes_of(d.keys().certificate_chain()));
    if (listed == kept || listed.size() != 2) return {};
    // Issued by the account's primary now, as the CA certified it: not by a lost primary that
    // is still tolerated while a recovery runs (a thief could certify this device's keys anew).
    const auto primary = std::find_if(listed_devices.begin(), listed_devices.end(),
                                      [](const v1::Device& p) { return p.primary(); });
    if (primary == listed_devices.end()) return {};
    try {
      trust_->verify_primary(primary->keys(), state_.user);
      const auto primary_chain = certs::decode_chain(bytes_of(primary->keys().certificate_chain()));
      if (primary_chain.size() != 1 || listed.back() != primary_chain.front()) return {};
      trust_->verify_device(d.keys(), state_.user);  // ours, for these keys, not revoked
    } catch (const ClientError& e) {
      if (e.exit_code() != exit_code::kIntegrity) throw;
      return {};
    } catch (const certs::CertError&) {
      return {};
    }
    state_.certificate_chain = mupre::to_hex(bytes_of(d.keys().certificate_chain()));
    save_state(dir_, state_);
    return listed;
  }
  return {};
}

std::string Client::safety_number_of(const std::string& user) {
  if (!trust_) return "";
  const v1::Device d = primary_of(user);
  return certs::safety_number(trust_->verify_primary(d.keys(), user));
}

std::string Client::own_safety_number() {
  if (!trust_) return "";
  // The account's number is its primary's: what others see at `share` and compare with ours,
  // the same on every device of the account.
  if (own_chain().size() == 1) return device_safety_number();  // this device is the primary
  return safety_number_of(state_.user);
}

std::string Client::device_safety_number() {
  if (!trust_) return "";
  v1::DeviceKeys keys;
  keys.set_signing_key(string_of(keys_->signing_public_key(state_.key_label)));
  keys.set_encryption_key(string_of(unhex(state_.public_key, "public_key")));
  keys.set_certificate_chain(string_of(certs::encode_chain(own_chain())));
  return certs::safety_number(trust_->verify_device(keys, state_.user));
}

Bytes Client::certify(const Bytes& signing_key, const Bytes& encryption_key) {
  const std::vector<Bytes> mine = own_chain();
  // Chains are root -> primary -> device: what a secondary certified would not verify.
  if (mine.size() != 1) {
    throw ClientError("only the primary device certifies keys: do this on the primary", 2);
  }
  const std::int64_t t = now_seconds();
  Bytes chain = certs::issue_certificate({state_.user, signing_key, encryption_key, random_serial(),
                                          t - 60, t + kDeviceCertificateSeconds},
                                         mine.front(), signer());
  const Bytes rest = certs::encode_chain(mine);
  chain.insert(chain.end(), rest.begin(), rest.end());
  return chain;
}

SealedSecretKey Client::secret_key() {
  auto pk = mupre::PublicKey::decode(unhex(state_.public_key, "public_key"));
  if (!pk) throw ClientError("device state: public_key is damaged");
  return SealedSecretKey(*keys_, state_.key_label, unhex(state_.sealed_key, "sealed_key"), *pk);
}

std::string Client::pairing_code() const {
  auto pk = mupre::PublicKey::decode(*mupre::from_hex(state_.public_key));
  return pairing::encode(keys_->signing_public_key(state_.key_label), pk->encode());
}

std::string Client::key_code(const std::string& user, const Bytes& signing_key,
                             const Bytes& encryption_key) {
  return certs::safety_number(certs::TrustedDevice{user, signing_key, encryption_key, {}});
}

std::string Client::pairing_key_code(const std::string& pairing_code) const {
  const pairing::Keys keys = decode_pairing(pairing_code);
  return key_code(state_.user, keys.spki, keys.public_key);
}

void Client::ensure_session() {
  if (!state_.session_token.empty() && state_.session_expires > now_seconds() + 30) return;
  grpc::ClientContext c1;
  v1::BeginSessionRequest b;
  b.set_device_id(state_.device_id);
  if (state_.device_id == 0) {
    auto pk = mupre::PublicKey::decode(unhex(state_.public_key, "public_key"));
    b.set_encryption_key_fingerprint(string_of(pk->fingerprint()));
  }
  v1::BeginSessionResponse br;
  check(stub_->BeginSession(&c1, b, &br), "starting a session");
  Bytes msg(kSessionLabel, kSessionLabel + sizeof kSessionLabel - 1);
  msg.insert(msg.end(), br.challenge().begin(), br.challenge().end());
  grpc::ClientContext c2;
  v1::CompleteSessionRequest r;
  r.set_device_id(br.device_id());
  r.set_challenge(br.challenge());
  r.set_signature(string_of(keys_->sign(state_.key_label, msg)));
  v1::CompleteSessionResponse rr;
  check(stub_->CompleteSession(&c2, r, &rr), "authenticating this device");
  state_.device_id = br.device_id();
  state_.session_token = rr.token();
  state_.session_expires = rr.expires_at();
  save_state(dir_, state_);
}

void Client::authorize(grpc::ClientContext& ctx) {
  ensure_session();
  ctx.AddMetadata("authorization", "Bearer " + state_.session_token);
}

void Client::request_pairing() {
  grpc::ClientContext ctx;
  v1::RequestPairingRequest req;
  req.set_user(state_.user);
  req.set_device_name(state_.device_name);
  req.set_pairing_code(pairing_code());
  v1::RequestPairingResponse resp;
  check(stub_->RequestPairing(&ctx, req, &resp), "asking the primary device for approval");
}

bool Client::complete_pairing() {
  if (state_.device_id != 0) return true;
  try {
    ensure_session();
  } catch (const ClientError&) {
    return false;  // not approved yet
  }
  if (trust_) own_chain();  // the approving device certified this one: check and keep it
  return true;
}

std::vector<v1::Device> Client::devices(const std::string& user) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ListDevicesRequest req;
  req.set_user(user);
  v1::ListDevicesResponse resp;
  const grpc::Status s = stub_->ListDevices(&ctx, req, &resp);
  // Mostly a typo: said with the name, not as the service's "listing devices: no such user".
  if (s.error_code() == grpc::StatusCode::NOT_FOUND && !user.empty()) {
    throw ClientError("no user " + user + " at the service (check the spelling)",
                      exit_code::kRefused);
  }
  check(s, "listing devices");
  return {resp.devices().begin(), resp.devices().end()};
}

void Client::remove_device(std::int64_t device_id) {
  // What the service would refuse is refused here first: a revocation at the CA cannot be
  // undone, so it never happens for a removal that then fails.
  std::optional<v1::Device> target;
  for (const auto& d : devices("")) {
    if (d.device_id() == device_id) target = d;
  }
  if (!target) {
    throw ClientError(
        "no device " + std::to_string(device_id) + " in this account (see `hopbox device list`)",
        3);
  }
  if (target->primary()) {
    throw ClientError(
        "the primary device cannot be removed (a lost primary is replaced by `hopbox recover` "
        "on another device); nothing was changed",
        3);
  }
  if (target->lost()) {
    throw ClientError("a device replaced by a recovery stays locked out; it cannot be removed", 3);
  }
  if (trust_) {
    // The account's name key outlives the device that made it: re-signed by this one first
    // (what the removed device signed is no longer trusted).
    const auto mine = list(false);
    if (std::any_of(mine.begin(), mine.end(),
                    [](const v1::ItemSummary& s) { return s.item_id() == names::kNameKeyItem; })) {
      refresh_id(names::kNameKeyItem, "the account's name key");
    }
  }
  if (trust_ && !target->keys().certificate_chain().empty()) {
    // Revoked at the CA first: every client and the service then refuse the device.
    const auto chain = certs::decode_chain(bytes_of(target->keys().certificate_chain()));
    trust_->revoke(chain.front(), own_chain(), signer());
  }
  remove_at_service(device_id);
}

void Client::remove_at_service(std::int64_t device_id) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::RemoveDeviceRequest req;
  req.set_device_id(device_id);
  v1::RemoveDeviceResponse resp;
  check(stub_->RemoveDevice(&ctx, req, &resp), "removing device " + std::to_string(device_id));
}

v1::Device Client::primary_of(const std::string& user) {
  for (const auto& d : devices(user)) {
    if (d.primary()) return d;
  }
  throw ClientError("user " + user + " has no primary device", 3);
}

v1::Device Client::trusted_primary(const std::string& user) {
  v1::Device d = primary_of(user);
  if (trust_) trust_->verify_primary(d.keys(), user.empty() ? state_.user : user);
  return d;
}

std::int64_t Client::approve(const std::string& code, const std::string& device_name) {
  const pairing::Keys keys = decode_pairing(code);
  auto pk = mupre::PublicKey::decode(keys.public_key);
  if (!pk) throw ClientError("pairing code: bad encryption key", 2);
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::AddDeviceRequest req;
  req.set_device_name(device_name);
  req.mutable_keys()->set_signing_key(string_of(keys.spki));
  req.mutable_keys()->set_encryption_key(string_of(keys.public_key));
  if (trust_) {
    // This device, the primary, certifies the new one (an end device: after a loss of the
    // primary the CA certifies a new primary directly under the root).
    Bytes cert;
    try {
      cert = certify(keys.spki, keys.public_key);
    } catch (const certs::CertError& e) {
      throw ClientError(std::string("cannot certify the new device: ") + e.what(), 2);
    }
    req.mutable_keys()->set_certificate_chain(string_of(cert));
  }
  v1::AddDeviceResponse resp;
  check(stub_->AddDevice(&ctx, req, &resp), "registering the new device");
  // Protocol 1: the primary's key re-encrypts for each secondary. Only the primary can make
  // that key; approving from a secondary (without a CA: with one only the primary certifies)
  // registers the device and leaves the key to the primary.
  const v1::Device me = primary_of("");
  if (me.device_id() == state_.device_id) {
    const SealedSecretKey key = secret_key();
    auto rk = mupre::make_rekey(key, *pk);
    if (!rk)
      throw ClientError(std::string("re-encryption key: ") + mupre::error_message(rk.error()));
    const auto bytes = rk->encode();
    grpc::ClientContext c2;
    authorize(c2);
    v1::InstallReKeyRequest ireq;
    ireq.set_rekey(string_of(bytes));
    ireq.set_kind(v1::REKEY_KIND_OWN_DEVICE);
    v1::InstallReKeyResponse iresp;
    check(stub_->InstallReKey(&c2, ireq, &iresp), "installing the device's re-encryption key");
  }
  // The same device's pairing request, if it also came through the inbox, is answered now.
  watch(0, [&](const v1::Notification& n) {
    if (n.has_pairing_request() && n.pairing_request().pairing_code() == code) {
      acknowledge(n.notification_id());
    }
    return true;
  });
  return resp.device_id();
}

namespace {

// Reads up to `size` bytes, as many as the source gives before it ends.
std::size_t fill(const Client::Source& source, std::uint8_t* buf, std::size_t size) {
  std::size_t have = 0;
  while (have < size) {
    const std::size_t n = source(buf + have, size - have);
    if (n == 0) break;
    have += n;
  }
  return have;
}

Client::Source stream_source(std::istream& in, const std::string& what) {
  return [&in, what](std::uint8_t* buf, std::size_t size) -> std::size_t {
    in.read(reinterpret_cast<char*>(buf), static_cast<std::streamsize>(size));
    if (in.bad()) throw ClientError("error reading " + what);
    return static_cast<std::size_t>(in.gcount());
  };
}

// As typed in a shell: names with spaces or other characters the shell reads are quoted.
std::string shell_quoted(const std::string& s) {
  const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-' || c == '/';
  });
  if (plain) return s;
  std::string out = "'";
  for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// "folder/name" split at its last '/', the folder normalized; throws ClientError (usage).
names::Path split_path(const std::string& path) {
  const std::size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto folder =
      names::normalize_folder(slash == std::string::npos ? "" : path.substr(0, slash));
  if (!folder || !names::valid_name(name)) {
    throw ClientError("\"" + path +
                          "\" is not a file name and folder: names of 1 to 255 bytes of UTF-8 "
                          "without '/', not \".\" or \"..\"; folders at most 1024 bytes",
                      exit_code::kUsage);
  }
  return {*folder, name};
}

}  // namespace

v1::UploadResponse Client::put(const fs::path& file, std::string name, const std::string& folder,
                               bool replace, const Progress& progress) {
  if (name.empty()) name = file.filename().string();
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ClientError("cannot read " + file.string());
  return put_from(stream_source(in, file.string()), fs::file_size(file), name, folder, replace,
                  progress);
}

v1::UploadResponse Client::put_from(const Source& source, std::optional<std::uint64_t> size,
                                    const std::string& name, const std::string& folder,
                                    bool replace, const Progress& progress) {
  const auto path_folder = names::normalize_folder(folder);
  if (!names::valid_name(name)) {
    throw ClientError("\"" + name +
                          "\" is not a file name: 1 to 255 bytes of UTF-8, no '/', not \".\" or "
                          "\"..\"",
                      exit_code::kUsage);
  }
  if (!path_folder) {
    throw ClientError("\"" + folder +
                          "\" is not a folder: '/'-separated names, no \".\" or \"..\", at most "
                          "1024 bytes",
                      exit_code::kUsage);
  }
  const names::NameKey k = *name_key(true);
  const std::string id = names::item_id(k, *path_folder, name);
  nlohmann::json meta{{"name", name}, {"folder", *path_folder}, {"uploaded_at", now_seconds()}};
  if (size) meta["size"] = *size;
  return upload(source, size.value_or(0), id, names::folder_label(k, *path_folder), meta.dump(),
                names::seal(k, state_.user, id, {*path_folder, name}), replace, progress,
                names::join(*path_folder, name));
}

v1::UploadResponse Client::upload(const Source& source, std::uint64_t total, const std::string& id,
                                  const std::string& label, const std::string& meta,
                                  const std::string& sealed_name, bool replace,
                                  const Progress& progress, const std::string& shown) {
  // Items are encrypted for the account's primary key; every device reads them through it.
  const v1::Device primary = trusted_primary("");
  auto owner_pk = mupre::PublicKey::decode(bytes_of(primary.keys().encryption_key()));
  if (!owner_pk) throw ClientError("the service returned a damaged primary key", 4);
  const mupre::ItemBinding binding{id, state_.user};
  const mupre::Encapsulation e = mupre::encapsulate(*owner_pk);
  const mupre::DataKey dk = mupre::DataKey::generate();
  auto w = mupre::wrap_data_key(e.key, dk, binding);
  auto m = mupre::seal_metadata(dk, binding, bytes_of(meta));
  auto sealer = mupre::PayloadSealer::begin(dk, binding);
  if (!w || !m || !sealer) throw ClientError("cannot encrypt the item");

  grpc::ClientContext ctx;
  authorize(ctx);
  v1::UploadResponse resp;
  auto writer = stub_->Upload(&ctx, &resp);
  v1::UploadRequest h;
  auto& hh = *h.mutable_header();
  hh.set_item_id(id);
  hh.set_folder(label);
  hh.set_capsule(string_of(e.capsule.encode()));
  hh.set_wrapped_key(string_of(*w));
  hh.set_metadata(string_of(*m));
  hh.set_payload_header(string_of(sealer->header()));
  hh.set_replace(replace);
  hh.set_sealed_name(sealed_name);
  bool open = writer->Write(h);
  crypto_hash_sha256_state digest;
  crypto_hash_sha256_init(&digest);
  std::vector<std::uint8_t> chunk(sealer->chunk_size()), next(sealer->chunk_size());
  std::string pending;
  std::uint64_t sent = 0;
  std::size_t have = fill(source, chunk.data(), chunk.size());
  for (;;) {
    const std::size_t got = have < chunk.size() ? 0 : fill(source, next.data(), next.size());
    const bool last = got == 0;
    auto sealed = sealer->seal_chunk(std::span(chunk).first(have), last);
    if (!sealed) throw ClientError("cannot encrypt the item");
    crypto_hash_sha256_update(&digest, sealed->data(), sealed->size());
    pending.append(sealed->begin(), sealed->end());
    if (pending.size() >= kMessagePayload || last) {
      v1::UploadRequest p;
      p.set_payload(pending);
      open = open && writer->Write(p);
      pending.clear();
    }
    sent += have;
    if (progress) progress(sent, total == 0 ? sent : total);
    if (last) break;
    chunk.swap(next);
    have = got;
  }
  sodium_memzero(chunk.data(), chunk.size());
  sodium_memzero(next.data(), next.size());
  std::string sum(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256_final(&digest, reinterpret_cast<unsigned char*>(sum.data()));
  v1::UploadRequest c;
  c.mutable_commit()->set_payload_sha256(sum);
  if (trust_) {
    const auto capsule = e.capsule.encode();
    const auto payload_header = sealer->header();
    c.mutable_commit()->set_signature(sign_item(
        {state_.user, id, label, Bytes(capsule.begin(), capsule.end()), Bytes(w->begin(), w->end()),
         Bytes(m->begin(), m->end()), Bytes(payload_header.begin(), payload_header.end()),
         bytes_of(sum), bytes_of(sealed_name)}));
  }
  if (open) writer->Write(c);
  writer->WritesDone();
  const grpc::Status s = writer->Finish();
  if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS) {
    throw ClientError("uploading " + shown + ": it exists already (--replace for a new version)",
                      exit_code::kRefused);
  }
  check(s, "uploading " + shown);
  return resp;
}

certs::TrustedDevice Client::verify_header(const v1::DownloadHeader& header,
                                           const std::string& owner_id, const std::string& item_id,
                                           const std::string& shown) {
  if (!trust_) return {};
  if (header.signature().empty()) {
    throw ClientError(
        "refusing " + owner_id + "/" + shown + ": it is not signed by any device of its owner", 4);
  }
  return trust_->verify_item(
      {owner_id, item_id, header.item().folder(), bytes_of(header.signed_capsule()),
       bytes_of(header.wrapped_key()), bytes_of(header.metadata()),
       bytes_of(header.payload_header()), bytes_of(header.payload_sha256()),
       bytes_of(header.item().sealed_name())},
      bytes_of(header.signature()));
}

std::string Client::sign_item(const certs::ItemFacts& facts) {
  const Bytes signature = signer()(certs::item_message(facts));
  return string_of(certs::encode_item_signature({own_chain(), signature}));
}

Client::Opened Client::open_header(const v1::DownloadHeader& header, const std::string& owner_id,
                                   const std::string& item_id, const std::string& shown) {
  // With a CA, nothing is decrypted before the item's signature verified.
  verify_header(header, owner_id, item_id, shown);
  const mupre::ItemBinding binding{item_id, owner_id};
  auto capsule = mupre::Ciphertext::decode(bytes_of(header.capsule()));
  if (!capsule) throw ClientError("the capsule from the service does not decode", 4);
  const SealedSecretKey key = secret_key();
  auto k = mupre::decapsulate(key, *capsule);
  if (!k)
    throw ClientError(std::string("cannot open the capsule: ") + mupre::error_message(k.error()),
                      4);
  auto dk = mupre::unwrap_data_key(*k, bytes_of(header.wrapped_key()), binding);
  if (!dk) {
    throw ClientError(
        "the item failed its integrity check (wrapped key): it was altered or is "
        "not the item it claims to be",
        4);
  }
  auto meta = mupre::open_metadata(*dk, binding, bytes_of(header.metadata()));
  if (!meta) throw ClientError("the item failed its integrity check (metadata)", 4);
  const auto j = nlohmann::json::parse(meta->begin(), meta->end(), nullptr, false);
  names::Path path;
  if (j.is_object() && j.contains("name") && j["name"].is_string()) {
    path.name = j["name"].get<std::string>();
    if (j.contains("folder") && j["folder"].is_string()) path.folder = j["folder"];
  }
  const auto folder = names::normalize_folder(path.folder);
  const bool reserved = item_id == names::kNameKeyItem && path.name == item_id;
  if (!reserved && (!names::valid_name(path.name) || !folder || *folder != path.folder)) {
    throw ClientError("the item's metadata holds no valid file name", 4);
  }
  return {std::move(*dk), std::move(path)};
}

v1::DownloadHeader Client::header_of(const std::string& owner, const std::string& item_id,
                                     const std::string& shown) {
  // Only the header: the payload is not read.
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::DownloadRequest req;
  req.set_owner(owner);
  req.set_item_id(item_id);
  auto reader = stub_->Download(&ctx, req);
  v1::DownloadResponse msg;
  const bool have = reader->Read(&msg) && msg.has_header();
  ctx.TryCancel();
  const grpc::Status s = reader->Finish();
  if (!have) check(s, "reading " + shown);
  if (!have) throw ClientError("the service sent no item header", 4);
  return msg.header();
}

int Client::fetch(const std::string& owner, const std::string& item_id, const names::Path* expected,
                  const std::string& shown, const Writer& write, const Progress& progress) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::DownloadRequest req;
  req.set_owner(owner);
  req.set_item_id(item_id);
  auto reader = stub_->Download(&ctx, req);
  v1::DownloadResponse msg;
  if (!reader->Read(&msg) || !msg.has_header()) {
    check(reader->Finish(), "downloading " + shown);
    throw ClientError("the service sent no item header", 4);
  }
  const v1::DownloadHeader header = msg.header();
  const std::string owner_id = owner.empty() ? state_.user : owner;
  const auto fail = [&](const std::string& why, int code) {
    ctx.TryCancel();
    throw ClientError(why, code);
  };
  std::optional<Opened> opened;
  try {
    opened.emplace(open_header(header, owner_id, item_id, shown));
  } catch (const ClientError& e) {
    fail(e.what(), e.exit_code());
  }
  // The item's own sealed metadata names it: the cloud cannot hand another item for this one.
  if (expected != nullptr &&
      (opened->path.folder != expected->folder || opened->path.name != expected->name)) {
    fail("refusing " + shown + ": the item the service sent is named \"" +
             names::join(opened->path.folder, opened->path.name) + "\"",
         4);
  }
  const mupre::ItemBinding binding{item_id, owner_id};
  auto opener = mupre::PayloadOpener::begin(opened->dk, binding, bytes_of(header.payload_header()));
  if (!opener) fail("the item's payload header is damaged", 4);

  crypto_hash_sha256_state digest;
  crypto_hash_sha256_init(&digest);
  std::string buffer;
  std::uint64_t received = 0;
  const auto total = static_cast<std::uint64_t>(header.item().payload_size());
  while (reader->Read(&msg)) {
    buffer += msg.payload();
    received += msg.payload().size();
    crypto_hash_sha256_update(&digest, reinterpret_cast<const unsigned char*>(msg.payload().data()),
                              msg.payload().size());
    if (progress) progress(received, total);
    // Open every complete frame (4-byte length, then the sealed chunk).
    std::size_t at = 0;
    while (buffer.size() - at >= 4) {
      const auto b = [&](std::size_t i) { return std::uint32_t(std::uint8_t(buffer[at + i])); };
      const std::size_t len = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
      if (len > opener->chunk_size() + 17) fail("the item's payload is damaged", 4);
      if (buffer.size() - at < 4 + len) break;
      auto plain = opener->open_chunk(
          std::span(reinterpret_cast<const std::uint8_t*>(buffer.data()) + at, 4 + len));
      if (!plain) fail("the item failed its integrity check (payload)", 4);
      try {
        write(plain->data(), plain->size());
      } catch (const ClientError& e) {
        fail(e.what(), e.exit_code());
      }
      sodium_memzero(plain->data(), plain->size());
      at += 4 + len;
    }
    buffer.erase(0, at);
  }
  const grpc::Status s = reader->Finish();
  if (!s.ok()) fail("downloading " + shown + ": " + s.error_message(), 3);
  if (!opener->finished() || !buffer.empty()) fail("the item's payload is truncated", 4);
  if (trust_) {
    Bytes sum(crypto_hash_sha256_BYTES);
    crypto_hash_sha256_final(&digest, sum.data());
    if (sum != bytes_of(header.payload_sha256())) {
      fail("refusing " + owner_id + "/" + shown + ": its payload is not the one its owner signed",
           4);
    }
  }
  return header.chain_size();
}

std::optional<names::NameKey> Client::name_key(bool create) {
  const fs::path file = dir_ / "name.key";
  if (fs::exists(file)) {
    std::string hex = read_text(file);
    while (!hex.empty() && hex.back() == '\n') hex.pop_back();
    auto b = mupre::from_hex(hex);
    sodium_memzero(hex.data(), hex.size());
    if (!b || b->size() != names::kKeySize) {
      throw ClientError("device state: " + file.string() + " is damaged");
    }
    names::NameKey k(*b);
    sodium_memzero(b->data(), b->size());
    return k;
  }
  const auto save = [&](const names::NameKey& k) {
    std::string hex = mupre::to_hex(k.bytes());
    write_file_atomically(file, hex + "\n");  // owner-only, like the rest of the state
    sodium_memzero(hex.data(), hex.size());
  };
  const auto fetch_key = [&]() -> names::NameKey {
    std::string got;
    const Writer into = [&](const std::uint8_t* p, std::size_t n) {
      if (got.size() + n > names::kKeySize)
        throw ClientError("the account's name key is damaged", 4);
      got.append(reinterpret_cast<const char*>(p), n);
    };
    fetch("", names::kNameKeyItem, nullptr, "the account's name key", into, {});
    if (got.size() != names::kKeySize) {
      sodium_memzero(got.data(), got.size());
      throw ClientError("the account's name key is damaged", 4);
    }
    names::NameKey k(
        std::span(reinterpret_cast<const std::uint8_t*>(got.data()), got.size()));  // no copy
    sodium_memzero(got.data(), got.size());
    return k;
  };
  const auto mine = list(false);
  if (std::any_of(mine.begin(), mine.end(),
                  [](const v1::ItemSummary& s) { return s.item_id() == names::kNameKeyItem; })) {
    names::NameKey k = fetch_key();
    save(k);
    return k;
  }
  if (!create) return std::nullopt;
  names::NameKey k = names::NameKey::generate();
  std::size_t at = 0;
  const Source from_key = [&](std::uint8_t* buf, std::size_t size) {
    const std::size_t n = std::min(size, k.bytes().size() - at);
    std::copy_n(k.bytes().data() + at, n, buf);
    at += n;
    return n;
  };
  try {
    upload(from_key, names::kKeySize, names::kNameKeyItem, "",
           nlohmann::json{{"name", names::kNameKeyItem}}.dump(), "", false, {},
           "the account's name key");
  } catch (const ClientError& e) {
    // Another device of the account made one meanwhile: that one is the account's.
    if (e.exit_code() != exit_code::kRefused) throw;
    k = fetch_key();
  }
  save(k);
  return k;
}

std::vector<Client::Entry> Client::entries(bool include_shared,
                                           std::vector<ClientError>* failures) {
  const auto items = list(include_shared);
  std::optional<names::NameKey> k;
  const bool any_own = std::any_of(items.begin(), items.end(), [&](const v1::ItemSummary& s) {
    return s.owner() == state_.user && s.item_id() != names::kNameKeyItem;
  });
  if (any_own) k = name_key(false);
  // Names of others' items, learnt from their metadata, by owner, id and version.
  const fs::path cache_file = dir_ / "shared-names.json";
  nlohmann::json cache = nlohmann::json::object();
  if (include_shared && fs::exists(cache_file)) {
    cache = nlohmann::json::parse(read_text(cache_file), nullptr, false);
    if (!cache.is_object()) cache = nlohmann::json::object();
  }
  nlohmann::json kept = nlohmann::json::object();
  std::vector<Entry> out;
  for (const auto& s : items) {
    if (s.item_id().empty() || s.item_id()[0] == '.') continue;  // the client's own
    Entry e{s.owner(), "", "", s};
    if (s.owner() == state_.user) {
      // Every item this client uploads carries its sealed name; one without was not made here.
      const auto p = k ? names::open(*k, state_.user, s.item_id(), s.sealed_name()) : std::nullopt;
      if (!p) {
        throw ClientError("refusing the listing: item " + s.item_id() +
                              " has no name sealed with this account's name key (made or "
                              "altered by the service?)",
                          4);
      }
      e.folder = p->folder;
      e.name = p->name;
    } else {
      const std::string key = s.owner() + "\n" + s.item_id() + "\n" + std::to_string(s.version());
      // A cached name passes the same rules as a decrypted one (the file is only a cache).
      const bool cached = cache.contains(key) && cache[key].is_array() && cache[key].size() == 2 &&
                          cache[key][0].is_string() && cache[key][1].is_string() &&
                          names::valid_name(cache[key][1].get<std::string>()) &&
                          names::normalize_folder(cache[key][0].get<std::string>()) ==
                              cache[key][0].get<std::string>();
      if (cached) {
        e.folder = cache[key][0].get<std::string>();
        e.name = cache[key][1].get<std::string>();
      } else {
        try {
          const Opened o = open_header(header_of(s.owner(), s.item_id(), s.item_id()), s.owner(),
                                       s.item_id(), s.item_id());
          e.folder = o.path.folder;
          e.name = o.path.name;
        } catch (const ClientError& err) {
          if (err.exit_code() == exit_code::kRefused) continue;  // unshared meanwhile
          if (failures == nullptr) throw;
          failures->push_back(err);
          continue;
        }
      }
      kept[key] = nlohmann::json::array({e.folder, e.name});
    }
    out.push_back(std::move(e));
  }
  if (include_shared && kept != cache) write_file_atomically(cache_file, kept.dump() + "\n");
  return out;
}

std::optional<Client::Entry> Client::shared_item(const std::string& owner, const names::Path& p,
                                                 std::vector<ClientError>* failures) {
  // The exact path; without a folder, also the one item of that name in any folder.
  std::vector<Entry> named;
  for (auto& e : entries(true, failures)) {
    if (e.owner != owner || e.name != p.name) continue;
    if (e.folder == p.folder) return std::move(e);
    if (p.folder.empty()) named.push_back(std::move(e));
  }
  if (named.size() > 1) {
    throw ClientError(owner + " shares several items named " + p.name +
                          ": give the folder too (see `hopbox ls --shared`)",
                      exit_code::kUsage);
  }
  if (named.empty()) return std::nullopt;
  return std::move(named.front());
}

Client::Downloaded Client::get(const std::string& owner, const std::string& path,
                               const fs::path& out, const Progress& progress) {
  std::string who = owner == state_.user ? "" : owner;
  names::Path p = split_path(path);
  std::string id;
  std::vector<ClientError> failures;  // others' items that did not verify or open
  std::optional<Entry> shared;
  if (who.empty()) {
    const auto k = name_key(false);
    const auto mine = list(false);
    if (k) id = names::item_id(*k, p.folder, p.name);
    const bool found = k && std::any_of(mine.begin(), mine.end(), [&](const v1::ItemSummary& s) {
                         return s.item_id() == id;
                       });
    // Without --owner, FOLDER/NAME may also be OWNER/NAME, the form `ls --shared` prints:
    // both existing is a question only the user can answer, never guessed.
    if (owner.empty() && !p.folder.empty()) {
      const std::size_t slash = p.folder.find('/');
      names::Path rest{slash == std::string::npos ? "" : p.folder.substr(slash + 1), p.name};
      const std::string candidate = p.folder.substr(0, slash);
      bool several = false;
      if (candidate != state_.user) {
        try {
          shared = shared_item(candidate, rest, &failures);
        } catch (const ClientError& e) {
          if (!found) throw;  // several of that name: the folder is needed
          several = true;
        }
      }
      if (found && (shared || several)) {
        throw ClientError(path + " names both your item and " + candidate + "'s " +
                              names::join(rest.folder, rest.name) + ": add --owner " + state_.user +
                              " or --owner " + candidate,
                          exit_code::kUsage);
      }
      if (!found && candidate == state_.user) {
        return get(candidate, names::join(rest.folder, rest.name), out, progress);
      }
      if (!found) {
        who = candidate;
        p = rest;
      }
    }
    if (!found && who.empty()) {
      throw ClientError("no item " + path + " in your account (see `hopbox ls`)",
                        exit_code::kRefused);
    }
  } else {
    shared = shared_item(who, p, &failures);
  }
  if (!who.empty()) {
    id.clear();
    if (shared) {
      id = shared->summary.item_id();
      p.folder = shared->folder;
    }
    const std::string shown = names::join(p.folder, p.name);
    // One of those may be the item asked for: say why it cannot be read.
    if (id.empty() && !failures.empty()) throw failures.front();
    // The service does not tell another account's unshared items from absent ones.
    if (id.empty()) {
      throw ClientError("downloading " + shown + ": " + who + " has no such item, or has not " +
                            "shared it with this device (ask them: `hopbox request-access " + who +
                            " --item " + shell_quoted(shown) + "`)",
                        exit_code::kRefused);
    }
  }
  return download(who, id, p, out, progress);
}

Client::Downloaded Client::get(const Entry& e, const fs::path& out, const Progress& progress) {
  return download(e.owner == state_.user ? "" : e.owner, e.summary.item_id(), {e.folder, e.name},
                  out, progress);
}

Client::Downloaded Client::download(const std::string& who, const std::string& id, names::Path p,
                                    const fs::path& out, const Progress& progress) {
  const std::string shown = names::join(p.folder, p.name);
  const fs::path target = download_target(out, p.name);
  // Removed by its destructor on every failure, and by the signal handler on Ctrl-C.
  DownloadSink sink(target);
  const int hops = fetch(
      who, id, &p, shown, [&](const std::uint8_t* d, std::size_t n) { sink.write(d, n); },
      progress);
  sink.commit();
  return {hops, target, who.empty() ? state_.user : who, shown};
}

std::pair<int, std::int64_t> Client::refresh(const std::string& path) {
  const names::Path p = split_path(path);
  const auto k = name_key(false);
  if (!k) throw ClientError("no item " + path + " in your account (see `hopbox ls`)", 3);
  return refresh_id(names::item_id(*k, p.folder, p.name), names::join(p.folder, p.name));
}

std::pair<int, std::int64_t> Client::refresh_id(const std::string& id, const std::string& shown) {
  const v1::DownloadHeader header = header_of("", id, shown);
  verify_header(header, state_.user, id, shown);
  auto capsule = mupre::Ciphertext::decode(bytes_of(header.capsule()));
  if (!capsule) throw ClientError("the capsule from the service does not decode", 4);
  const v1::Device primary = trusted_primary("");
  auto owner_pk = mupre::PublicKey::decode(bytes_of(primary.keys().encryption_key()));
  if (!owner_pk) throw ClientError("the service returned a damaged primary key", 4);
  const SealedSecretKey key = secret_key();
  auto fresh = mupre::refresh(key, *capsule, bytes_of(header.wrapped_key()),
                              mupre::ItemBinding{id, state_.user}, *owner_pk);
  if (!fresh) {
    throw ClientError(std::string("cannot refresh: ") + mupre::error_message(fresh.error()), 4);
  }
  const auto new_capsule = fresh->capsule.encode();
  const Bytes wrapped(fresh->wrapped_key.begin(), fresh->wrapped_key.end());
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::RefreshItemRequest req;
  req.set_item_id(id);
  req.set_expected_version(header.item().version());
  req.set_capsule(string_of(new_capsule));
  req.set_wrapped_key(string_of(wrapped));
  if (trust_) {
    req.set_signature(sign_item(
        {state_.user, id, header.item().folder(), Bytes(new_capsule.begin(), new_capsule.end()),
         wrapped, bytes_of(header.metadata()), bytes_of(header.payload_header()),
         bytes_of(header.payload_sha256()), bytes_of(header.item().sealed_name())}));
  }
  v1::RefreshItemResponse resp;
  check(stub_->RefreshItem(&ctx, req, &resp), "refreshing " + shown);
  // Signed anew by this device: a replaced primary's signature of it is needed no more.
  if (trust_ && state_.pinned_item_signatures.erase(mupre::to_hex(
                    Trust::item_signature_digest(bytes_of(header.signature())))) != 0) {
    save_state(dir_, state_);
  }
  return {header.chain_size(), resp.version()};
}

std::vector<v1::ItemSummary> Client::list(bool include_shared) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ListItemsRequest req;
  req.set_include_shared(include_shared);
  v1::ListItemsResponse resp;
  check(stub_->ListItems(&ctx, req, &resp), "listing items");
  return {resp.items().begin(), resp.items().end()};
}

std::optional<std::string> Client::own_item(const std::string& path) {
  const names::Path p = split_path(path);
  const auto k = name_key(false);
  if (!k) return std::nullopt;
  const std::string id = names::item_id(*k, p.folder, p.name);
  const auto mine = list(false);
  if (std::none_of(mine.begin(), mine.end(),
                   [&](const v1::ItemSummary& s) { return s.item_id() == id; })) {
    return std::nullopt;
  }
  return id;
}

std::string Client::own_item_id(const std::string& path) {
  auto id = own_item(path);
  if (!id) {
    throw ClientError("no item " + path + " in your account (see `hopbox ls`)",
                      exit_code::kRefused);
  }
  return *id;
}

std::string Client::folder_label(const std::string& folder) {
  const auto f = names::normalize_folder(folder);
  if (!f) {
    throw ClientError("\"" + folder +
                          "\" is not a folder: '/'-separated names, no \".\" or \"..\", at most "
                          "1024 bytes",
                      exit_code::kUsage);
  }
  return names::folder_label(*name_key(true), *f);
}

Client::OwnNames Client::own_names() {
  OwnNames out;
  for (const auto& e : entries(false)) {
    out.items[e.summary.item_id()] = names::join(e.folder, e.name);
    // The folder and every folder above it (a share may name a folder holding only folders).
    for (std::string f = e.folder; !f.empty();
         f = f.find('/') == std::string::npos ? "" : f.substr(0, f.rfind('/'))) {
      if (!out.folders.count(folder_label(f)) && out.folders.size() < 100000) {
        out.folders[folder_label(f)] = f;
      }
    }
  }
  return out;
}

void Client::remove(const std::string& path) {
  const std::string id = own_item_id(path);
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::DeleteItemRequest req;
  req.set_item_id(id);
  v1::DeleteItemResponse resp;
  check(stub_->DeleteItem(&ctx, req, &resp), "deleting " + path);
}

std::int64_t Client::install_rekey(const mupre::PublicKey& target, v1::ReKeyKind kind,
                                   const v1::AccessPolicy& policy, const std::string& to_user,
                                   const std::string& protected_user,
                                   const mupre::SecretKeySource* from) {
  const SealedSecretKey key = secret_key();
  auto rk = mupre::make_rekey(from != nullptr ? *from : key, target);
  if (!rk) throw ClientError(std::string("re-encryption key: ") + mupre::error_message(rk.error()));
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::InstallReKeyRequest req;
  req.set_rekey(string_of(rk->encode()));
  req.set_kind(kind);
  *req.mutable_policy() = policy;
  req.set_protected_user(protected_user);
  if (from == nullptr && kind != v1::REKEY_KIND_OWN_DEVICE) {
    // What this device decided, in its own words: a recovery remakes only what it signed.
    v1::ReKeyInfo edge;
    edge.set_kind(kind);
    edge.set_to_user(to_user);
    edge.set_from_fingerprint(string_of(rk->from()));
    edge.set_to_fingerprint(string_of(rk->to()));
    *edge.mutable_policy() = policy;
    req.set_statement(string_of(signer()(statements::rekey_message(state_.user, edge))));
  }
  v1::InstallReKeyResponse resp;
  check(stub_->InstallReKey(&ctx, req, &resp), "installing a re-encryption key");
  return resp.rekey_id();
}

std::int64_t Client::share(const std::string& user, const SharePolicyArgs& policy,
                           const Confirm& confirm) {
  if (user == state_.user) {
    throw ClientError("cannot share with yourself (" + user +
                          "): every device of your account reads your items already",
                      2);
  }
  if (policy.expires_at != 0 && policy.expires_at <= now_seconds()) {
    throw ClientError("the share would have expired already: give a time in the future", 2);
  }
  // The cloud sees the opaque ids and folder label; a missing item would hide a typo.
  std::vector<std::string> ids;
  for (const auto& i : policy.items) ids.push_back(own_item_id(i));
  if (!policy.folder.empty() && names::normalize_folder(policy.folder) == std::string()) {
    // "/" is the top level, which no folder label names: such a share would reach nothing.
    throw ClientError("--folder \"" + policy.folder +
                          "\" names no folder; to share every item, leave --folder out",
                      exit_code::kUsage);
  }
  const std::string label = policy.folder.empty() ? "" : folder_label(policy.folder);
  const v1::Device target = primary_of(user);
  std::string number;
  if (trust_) number = certs::safety_number(trust_->verify_primary(target.keys(), user));
  if (confirm && !confirm(number)) throw ClientError("not shared", 1);
  auto pk = mupre::PublicKey::decode(bytes_of(target.keys().encryption_key()));
  if (!pk) throw ClientError("the service returned a damaged key for " + user, 4);
  v1::AccessPolicy p;
  if (!policy.items.empty()) {
    p.set_scope(v1::AccessPolicy::SCOPE_LISTED_ITEMS);
    for (const auto& i : ids) p.add_item_ids(i);
  } else if (!policy.folder.empty()) {
    p.set_scope(v1::AccessPolicy::SCOPE_FOLDER);
    p.set_folder(label);
  }
  p.set_expires_at(policy.expires_at);
  return install_rekey(*pk, v1::REKEY_KIND_SHARE, p, user);
}

void Client::unshare(std::int64_t rekey_id) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::RevokeReKeyRequest req;
  req.set_rekey_id(rekey_id);
  v1::RevokeReKeyResponse resp;
  check(stub_->RevokeReKey(&ctx, req, &resp), "revoking share " + std::to_string(rekey_id));
}

std::vector<v1::ReKeyInfo> Client::shares() {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ListReKeysResponse resp;
  check(stub_->ListReKeys(&ctx, v1::ListReKeysRequest(), &resp), "listing shares");
  return {resp.rekeys().begin(), resp.rekeys().end()};
}

namespace {
// This device's own access requests by id: {"ID": {"owner", "item"}} (docs/formats.md).
constexpr char kRequestsFile[] = "access-requests.json";
constexpr std::size_t kMaxRequestsKept = 64;
constexpr std::uintmax_t kMaxRequestsFile = 256 * 1024;  // 64 paths of at most 1265 bytes fit
}  // namespace

std::int64_t Client::request_access(const std::string& owner, const std::string& item,
                                    const std::string& message) {
  // A usage error for what no file system allows; the canonical form is what the owner reads.
  const std::optional<names::Path> asked =
      item.empty() ? std::nullopt : std::optional(split_path(item));
  if (owner == state_.user) {
    throw ClientError("cannot ask yourself (" + owner +
                          ") for access: every device of your account reads your items already",
                      2);
  }
  // The path is for the owner only: sealed for their primary's key, verified like a share's.
  const v1::Device target = asked ? trusted_primary(owner) : primary_of(owner);
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::SendNotificationRequest req;
  req.set_to_device_id(target.device_id());
  req.mutable_access_request()->set_message(message);
  if (asked) {
    auto pk = mupre::PublicKey::decode(bytes_of(target.keys().encryption_key()));
    if (!pk) throw ClientError("the service returned a damaged key for " + owner, 4);
    req.mutable_access_request()->set_sealed_item(access::seal(*pk, state_.user, owner, *asked));
  }
  v1::SendNotificationResponse resp;
  check(stub_->SendNotification(&ctx, req, &resp), "asking " + owner + " for access");
  // Only this device can say later what the answer is about: the service cannot read it.
  const fs::path file = dir_ / kRequestsFile;
  nlohmann::json kept = nlohmann::json::object();
  std::error_code ec;
  if (fs::exists(file) && fs::file_size(file, ec) <= kMaxRequestsFile && !ec) {
    kept = nlohmann::json::parse(read_text(file), nullptr, false);
    if (!kept.is_object()) kept = nlohmann::json::object();
  }
  // The oldest go first (ids grow); a forgotten one makes `watch` name the request's id.
  const auto id_of = [](const std::string& key) {
    std::int64_t id = 0;
    std::from_chars(key.data(), key.data() + key.size(), id);
    return id;
  };
  while (kept.size() >= kMaxRequestsKept) {
    auto oldest = kept.begin();
    for (auto it = kept.begin(); it != kept.end(); ++it) {
      if (id_of(it.key()) < id_of(oldest.key())) oldest = it;
    }
    kept.erase(oldest);
  }
  kept[std::to_string(resp.notification_id())] = {
      {"owner", owner}, {"item", asked ? names::join(asked->folder, asked->name) : ""}};
  try {
    files::write_private_file(file, kept.dump() + "\n");
  } catch (const std::exception& e) {
    // The request is sent; only the wording of its answer suffers.
    throw ClientError("asked " + owner + " for access (request " +
                      std::to_string(resp.notification_id()) +
                      "), but could not note it in the state folder: " + e.what());
  }
  return resp.notification_id();
}

std::optional<std::string> Client::asked_for(std::int64_t request_id, const std::string& owner) {
  const fs::path file = dir_ / kRequestsFile;
  std::error_code ec;
  if (!fs::exists(file) || fs::file_size(file, ec) > kMaxRequestsFile || ec) return std::nullopt;
  const auto kept = nlohmann::json::parse(read_text(file), nullptr, false);
  const std::string key = std::to_string(request_id);
  if (!kept.is_object() || !kept.contains(key) || !kept[key].is_object()) return std::nullopt;
  const auto& r = kept[key];
  // An answer from another user than the one asked is not about this record.
  if (r.value("owner", "") != owner || !r.contains("item") || !r["item"].is_string()) {
    return std::nullopt;
  }
  const std::string item = r["item"].get<std::string>();
  if (!item.empty()) {
    try {
      split_path(item);  // the file is only a note: its names pass the rules again
    } catch (const ClientError&) {
      return std::nullopt;
    }
  }
  return item;
}

void Client::forget_request(std::int64_t request_id) {
  const fs::path file = dir_ / kRequestsFile;
  std::error_code ec;
  if (!fs::exists(file) || fs::file_size(file, ec) > kMaxRequestsFile || ec) return;
  auto kept = nlohmann::json::parse(read_text(file), nullptr, false);
  if (!kept.is_object() || kept.erase(std::to_string(request_id)) == 0) return;
  files::write_private_file(file, kept.dump() + "\n");
}

std::optional<std::string> Client::requested_item(const v1::Notification& request) {
  const auto& a = request.access_request();
  // Plaintext names are not sent any more (the service refuses them): one is not a request.
  if (!a.item().empty()) return std::nullopt;
  if (a.sealed_item().empty()) return "";
  const SealedSecretKey key = secret_key();
  // Bound to the sender the service names and to this account: sealed by or for anyone else,
  // it does not open.
  auto p = access::open(key, request.from_user(), state_.user, a.sealed_item());
  if (!p && p.error() == mupre::Error::kKeyUnavailable) {
    throw ClientError("cannot read an access request: the device's key is unavailable");
  }
  if (!p) return std::nullopt;
  return names::join(p->folder, p->name);
}

void Client::answer_access(const v1::Notification& request, bool granted) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::SendNotificationRequest req;
  req.set_to_device_id(request.from_device_id());
  req.mutable_access_answer()->set_request_id(request.notification_id());
  req.mutable_access_answer()->set_granted(granted);
  v1::SendNotificationResponse resp;
  check(stub_->SendNotification(&ctx, req, &resp),
        "telling " + request.from_user() + " the answer");
}

void Client::watch(int wait_ms, const std::function<bool(const v1::Notification&)>& on) {
  // What waits first, read to its end however slow the link (under a deadline a slow listing
  // would look empty); then, if asked, new ones until the wait is over.
  std::set<std::int64_t> seen;
  if (!read_inbox(/*pending_only=*/true, kInboxListingDeadline, on, seen) || wait_ms == 0) return;
  read_inbox(/*pending_only=*/false,
             wait_ms < 0 ? std::nullopt : std::optional(std::chrono::milliseconds(wait_ms)), on,
             seen);
}

bool Client::read_inbox(bool pending_only, std::optional<std::chrono::milliseconds> wait,
                        const std::function<bool(const v1::Notification&)>& on,
                        std::set<std::int64_t>& seen) {
  grpc::ClientContext ctx;
  authorize(ctx);
  if (wait) ctx.set_deadline(std::chrono::system_clock::now() + *wait);
  v1::WatchInboxRequest req;
  req.set_pending_only(pending_only);
  auto reader = stub_->WatchInbox(&ctx, req);
  v1::Notification n;
  bool go_on = true;
  while (reader->Read(&n)) {
    // A watch after the listing sends the unacknowledged ones again.
    if (!seen.insert(n.notification_id()).second) continue;
    if (!on(n)) {
      go_on = false;
      ctx.TryCancel();
      break;
    }
  }
  const grpc::Status s = reader->Finish();
  // A watch ends by its deadline or by being stopped; a listing ends only by being complete.
  const bool expected_end = !pending_only && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
  if (!s.ok() && !expected_end && s.error_code() != grpc::StatusCode::CANCELLED) {
    check(s, "reading the inbox");
  }
  return go_on;
}

void Client::acknowledge(std::int64_t notification_id) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::AckNotificationRequest req;
  req.set_notification_id(notification_id);
  v1::AckNotificationResponse resp;
  const grpc::Status s = stub_->AckNotification(&ctx, req, &resp);
  // Gone already is as good as acknowledged (a refused request takes its notices with it).
  if (s.error_code() != grpc::StatusCode::NOT_FOUND) check(s, "acknowledging a notification");
}

}  // namespace hopbox
