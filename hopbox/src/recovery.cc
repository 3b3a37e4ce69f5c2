// Protocol 2 on the client: recovery by a secondary device (R1), by recovery users (R2) and by
// a threshold of them (R3), and what follows a recovery (DESIGN.md, "Recovery").
#include <grpcpp/grpcpp.h>
#include <sodium.h>

#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string_view>

#include "certs/item_signature.h"
#include "certs/requests.h"
#include "client.h"
#include "client_internal.h"
#include "hopbox/exit_codes.h"
#include "hopbox/threshold.h"
#include "mupre/hex.h"
#include "mupre/pre.h"
#include "mupre/shamir.h"
#include "recovery_shares.h"
#include "statements.h"
#include "trust.h"

namespace hopbox {

namespace v1 = hopbox::v1;
namespace fs = std::filesystem;
using namespace internal;

using statements::threshold_message;

Client::RecoveryReport Client::recover_as_primary(const RebuildOptions& options) {
  if (state_.rebuild_lost_device != 0) return resume_rebuild(options);
  const v1::Device lost = primary_of("");
  if (lost.device_id() == state_.device_id) {
    throw ClientError("this device is the primary already: recover on another device", 2);
  }
  // The primary this device replaces is the one that certified it, whatever the cloud lists.
  Bytes replaced;
  if (trust_) {
    const std::vector<Bytes> chain = own_chain();
    if (chain.size() < 2) {
      throw ClientError("this device is the primary already: recover on another device", 2);
    }
    replaced = chain.back();
  }
  // The waiting periods come before anything irreversible (the CA revokes the lost primary,
  // the service locks it out). Announced at both in one run, so the next run completes both.
  const std::int64_t service_not_before = announce_promotion();
  Bytes chain;
  if (trust_) {
    // While the service waits, the CA only records the request: a CA that waits less must not
    // revoke the primary before this device may take over at the service.
    const Trust::PrimaryRecovery at_ca = trust_->recover_primary(
        own_chain(), signer(), /*announce_only=*/service_not_before > now_seconds());
    if (at_ca.certificate.empty()) {
      const std::int64_t not_before = std::max(at_ca.not_before, service_not_before);
      throw ClientError(
          "recovery announced at the CA and the service; the account's devices and recovery "
          "users were told and can cancel it. Run `hopbox recover` again after " +
              format_time(not_before) + " (unix " + std::to_string(not_before) + ")",
          1);
    }
    chain = at_ca.certificate;
  }
  if (service_not_before > now_seconds()) {
    throw ClientError(
        "recovery announced; the account's devices and recovery users were told. "
        "Run `hopbox recover` again after " +
            format_time(service_not_before) + " (unix " + std::to_string(service_not_before) + ")",
        1);
  }
  return take_over_and_rebuild(lost, chain, replaced, options);
}

Client::RecoveryReport Client::take_over_and_rebuild(const v1::Device& lost,
                                                     const Bytes& certificate,
                                                     const Bytes& replaced,
                                                     const RebuildOptions& options) {
  RecoveryReport report;
  report.lost_device = lost.device_id();
  // Kept with the rest of the take-over: a resumed rebuild is never weaker than this one.
  state_.rebuild_keep_devices = options.keep_devices;
  state_.rebuild_refresh_items = options.refresh_items;
  state_.rebuild_keep_recovery_users = options.keep_recovery_users;
  state_.rebuild_keep_threshold = options.keep_threshold;
  const certs::CertificateInfo replaced_info = take_over(lost, certificate, replaced, report);
  rebuild_as_primary(lost, replaced_info, options, report);
  return report;
}

certs::CertificateInfo Client::keys_listed_as(const v1::Device& lost) {
  certs::CertificateInfo listed;
  listed.signing_key = bytes_of(lost.keys().signing_key());
  listed.encryption_key = bytes_of(lost.keys().encryption_key());
  return listed;
}

certs::CertificateInfo Client::take_over(const v1::Device& lost, const Bytes& certificate,
                                         const Bytes& replaced, RecoveryReport& report) {
  certs::CertificateInfo replaced_info;
  if (trust_) {
    // What the lost primary certified and signed before the loss is this account's own: this
    // device keeps trusting it (everyone else, once the items are refreshed and re-signed).
    // The certificate comes from this device's chain or the CA: a cloud that listed another
    // revoked certificate as the lost primary (a stolen device's, another account's) would
    // otherwise have it trusted again.
    replaced_info = certs::inspect_certificate(replaced);
    if (replaced_info.identifier != state_.user) {
      throw ClientError("the primary to replace is certified for \"" + replaced_info.identifier +
                            "\", not for this account",
                        4);
    }
    trust_->tolerate_revoked(replaced_info.fingerprint, state_.user);
    const std::string fingerprint = mupre::to_hex(replaced_info.fingerprint);
    if (state_.replaced_primaries.empty() || state_.replaced_primaries.back() != fingerprint) {
      state_.replaced_primaries.push_back(fingerprint);
    }
  } else {
    replaced_info = keys_listed_as(lost);
  }
  // Kept before the service is asked, until the rebuild is done: if its answer is lost (the
  // take-over may have happened) or the rebuild stops half-way, `recover` goes on from here
  // with the same certificate and lost primary.
  state_.recovery_certificate = mupre::to_hex(certificate);
  state_.recovery_replaced = mupre::to_hex(replaced);
  state_.rebuild_lost_device = lost.device_id();
  state_.rebuild_taken_over = false;
  save_state(dir_, state_);
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::PromoteDeviceRequest req;
  req.set_lost_device_id(lost.device_id());
  req.set_certificate_chain(string_of(certificate));
  v1::PromoteDeviceResponse resp;
  const grpc::Status promoted = stub_->PromoteDevice(&ctx, req, &resp);
  if (!promoted.ok()) {
    const auto code = promoted.error_code();
    if (code == grpc::StatusCode::FAILED_PRECONDITION ||
        code == grpc::StatusCode::PERMISSION_DENIED || code == grpc::StatusCode::INVALID_ARGUMENT ||
        code == grpc::StatusCode::NOT_FOUND || code == grpc::StatusCode::UNAUTHENTICATED) {
      // Refused: nothing happened at the service (a cancelled recovery, this device removed).
      // The lost primary is not tolerated beyond this call; R2/R3 keep the CA's answer, which
      // cannot be had again, and tolerate it again when they retry; R1 asks the CA again.
      // (Added by this call or by an earlier one whose answer was lost.)
      if (trust_ && !state_.replaced_primaries.empty() &&
          state_.replaced_primaries.back() == mupre::to_hex(replaced_info.fingerprint)) {
        state_.replaced_primaries.pop_back();
        trust_->stop_tolerating();
        for (const auto& f : state_.replaced_primaries) {
          trust_->tolerate_revoked(unhex(f, "replaced_primaries"), state_.user);
        }
      }
      state_.rebuild_lost_device = 0;
      if (state_.recovering_via.empty()) {
        state_.recovery_certificate.clear();
        state_.recovery_replaced.clear();
      }
      save_state(dir_, state_);
    }
    check(promoted, "taking over as the primary device");
  }
  report.users_notified = resp.notified_users();
  state_.certificate_chain = mupre::to_hex(certificate);
  state_.recovering_via.clear();
  state_.recovery_certificate.clear();
  state_.rebuild_taken_over = true;
  save_state(dir_, state_);
  return replaced_info;
}

Client::RecoveryReport Client::resume_rebuild(RebuildOptions options) {
  // Never weaker than the run that began it: a device it was to remove is not kept now, and
  // the items are refreshed if it was to. Who may recover the account is as that run named:
  // a list changed between runs could leave a key made for a user the report says was dropped.
  options.keep_devices = options.keep_devices && state_.rebuild_keep_devices;
  options.refresh_items = options.refresh_items || state_.rebuild_refresh_items;
  if ((!options.keep_recovery_users.empty() &&
       options.keep_recovery_users != state_.rebuild_keep_recovery_users) ||
      (options.keep_threshold && !state_.rebuild_keep_threshold)) {
    std::cerr << "WARNING: the recovery goes on with the recovery users it began with; name "
                 "others afterwards with `hopbox recovery add` or `recovery threshold`\n";
  }
  options.keep_recovery_users = state_.rebuild_keep_recovery_users;
  options.keep_threshold = state_.rebuild_keep_threshold;
  v1::Device lost;
  lost.set_device_id(state_.rebuild_lost_device);
  for (const auto& d : devices("")) {
    if (d.device_id() == lost.device_id()) lost = d;
  }
  if (!state_.rebuild_taken_over) {
    // The service's answer to the take-over was lost: asked again, it answers as before.
    return take_over_and_rebuild(lost, unhex(state_.recovery_certificate, "recovery_certificate"),
                                 unhex(state_.recovery_replaced, "recovery_replaced"), options);
  }
  RecoveryReport report;
  report.lost_device = lost.device_id();
  certs::CertificateInfo replaced;
  if (trust_) {
    const Bytes cert = unhex(state_.recovery_replaced, "recovery_replaced");
    try {
      replaced = certs::inspect_certificate(cert);
    } catch (const certs::CertError& e) {
      throw ClientError(std::string("device state: recovery_replaced: ") + e.what());
    }
  } else {
    replaced = keys_listed_as(lost);
  }
  rebuild_as_primary(lost, replaced, options, report);
  return report;
}

void Client::rebuild_as_primary(const v1::Device& lost, const certs::CertificateInfo& replaced,
                                const RebuildOptions& options, RecoveryReport& report) {
  const auto refuse_device = [&](const v1::Device& d, const std::string& why) {
    // By id: the name is the cloud's to choose, and this terminal's to show.
    std::cerr << "WARNING: device " << d.device_id() << " is not kept: " << why << "\n";
    ++report.devices_refused;
  };
  // What this device made already, in a run that stopped half-way: not made twice.
  const Bytes own_key = unhex(state_.public_key, "public_key");
  const auto own = mupre::PublicKey::decode(own_key);
  if (!own) throw ClientError("device state: public_key is damaged");
  const std::string own_fingerprint(own->fingerprint().begin(), own->fingerprint().end());
  std::vector<v1::ReKeyInfo> own_edges;
  for (const auto& r : shares()) {
    if (r.from_fingerprint() == own_fingerprint && r.only_towards_device_id() == 0) {
      own_edges.push_back(r);
    }
  }
  const auto made_already = [&](const v1::ReKeyInfo& like) {
    return std::any_of(own_edges.begin(), own_edges.end(), [&](const v1::ReKeyInfo& m) {
      return m.kind() == like.kind() && m.to_user() == like.to_user() &&
             (like.kind() == v1::REKEY_KIND_SHARE
                  ? m.policy().SerializeAsString() == like.policy().SerializeAsString()
                  : m.to_fingerprint() == like.to_fingerprint());
    });
  };
  const std::vector<Bytes> own_certificates = trust_ ? own_chain() : std::vector<Bytes>{};
  // The other devices: re-certified and given keys from this one, or removed.
  for (const auto& d : devices("")) {
    if (d.device_id() == state_.device_id || d.lost() || !d.recovery_for().empty() ||
        d.pending_recovery()) {
      continue;
    }
    v1::ReKeyInfo to_device;
    to_device.set_kind(v1::REKEY_KIND_OWN_DEVICE);
    to_device.set_to_user(state_.user);
    to_device.set_to_fingerprint(d.encryption_key_fingerprint());
    bool certified_here = !trust_;
    try {
      const auto chain = certs::decode_chain(bytes_of(d.keys().certificate_chain()));
      certified_here = certified_here || (chain.size() == 2 && own_certificates.size() == 1 &&
                                          chain.back() == own_certificates.front());
    } catch (const certs::CertError&) {
      // Damaged: verify_device below names it.
    }
    if (!options.keep_devices) {
      remove_device(d.device_id());
      ++report.devices_removed;
      continue;
    }
    // The lost primary's own keys under any certificate: a thief holding it can certify them
    // anew as a device with its still tolerated certificate.
    if (bytes_of(d.keys().signing_key()) == replaced.signing_key ||
        bytes_of(d.keys().encryption_key()) == replaced.encryption_key) {
      refuse_device(d, "its keys are the lost primary's");
      continue;
    }
    auto pk = mupre::PublicKey::decode(bytes_of(d.keys().encryption_key()));
    if (!pk) throw ClientError("the service returned a damaged key for device " + d.name(), 4);
    if (trust_) {
      try {
        trust_->verify_device(d.keys(), state_.user);
      } catch (const ClientError& e) {
        if (e.exit_code() != exit_code::kIntegrity) throw;
        // Listed by the cloud, not certified now: the lost primary's own certificate under
        // another entry, a revoked device. Certifying it would hand the account to its holder.
        refuse_device(d, e.what());
        continue;
      }
    }
    // Re-certified by this device (the chain verified above) and given its key, in a run that
    // stopped half-way.
    if (certified_here && made_already(to_device)) {
      ++report.devices_kept;
      continue;
    }
    if (trust_) {
      grpc::ClientContext ctx;
      authorize(ctx);
      v1::UpdateDeviceCertificateRequest req;
      req.set_device_id(d.device_id());
      req.set_certificate_chain(string_of(
          certify(bytes_of(d.keys().signing_key()), bytes_of(d.keys().encryption_key()))));
      v1::UpdateDeviceCertificateResponse resp;
      check(stub_->UpdateDeviceCertificate(&ctx, req, &resp), "re-certifying " + d.name());
    }
    install_rekey(*pk, v1::REKEY_KIND_OWN_DEVICE, v1::AccessPolicy());
    ++report.devices_kept;
  }

  // R3: the threshold is set up again from this key (same users, same t). Its users get no
  // direct key: with t > 1 that would let each of them recover the account alone.
  v1::ThresholdRecovery threshold_setup;
  std::vector<std::string> threshold_users;
  {
    grpc::ClientContext ctx;
    authorize(ctx);
    const grpc::Status s =
        stub_->GetThresholdRecovery(&ctx, v1::GetThresholdRecoveryRequest(), &threshold_setup);
    if (s.error_code() != grpc::StatusCode::NOT_FOUND) check(s, "reading the recovery set-up");
    for (const auto& p : threshold_setup.protectors()) threshold_users.push_back(p.user());
  }
  // t and the users come from the service: made again only as the lost primary signed them,
  // or a cloud could lower t and hand one recovery user the account. Otherwise the rebuild goes
  // on (the items and the name key must be refreshed) and the user is told to set it up again.
  bool remake_threshold = !threshold_users.empty();
  const auto threshold_not_remade = [&](const std::string& why) {
    std::cerr << "WARNING: the threshold recovery was not made again: " << why
              << "; set it up with `hopbox recovery threshold`\n";
    remake_threshold = false;
    report.threshold_refused = true;
  };
  if (remake_threshold && certs::verify_signature(keys_->signing_public_key(state_.key_label),
                                                  threshold_message(state_.user, threshold_setup),
                                                  bytes_of(threshold_setup.signature()))) {
    remake_threshold = false;  // made again already, by a run that stopped half-way
    report.threshold_kept = threshold_setup.threshold();
    report.threshold_users = threshold_users;
  } else if (trust_ && remake_threshold) {
    if (const std::string refused = threshold_refusal(lost, threshold_setup); !refused.empty()) {
      threshold_not_remade(refused);
    }
  }
  if (threshold_users.empty() && options.keep_threshold) {
    // Asked for, and none listed: the cloud may hide it (and list the direct keys it replaced).
    threshold_not_remade("the service lists no threshold set-up");
  }
  // Asked for and not there as the lost primary signed it: the cloud may be hiding it and
  // listing the direct keys it replaced. Nobody is kept as a recovery user this time (those
  // named could otherwise each recover the account alone); the user sets it up again.
  const bool threshold_missing = options.keep_threshold && report.threshold_refused;
  if (remake_threshold && !options.keep_threshold) {
    // As the lost primary signed it, yet kept only when the user asks: an older signed set-up
    // (a lower t, a user since removed) replayed by the cloud looks the same.
    remake_threshold = false;
    report.threshold_dropped = true;
  }
  const auto in_threshold = [&](const std::string& u) {
    return std::find(threshold_users.begin(), threshold_users.end(), u) != threshold_users.end();
  };

  // Shares and recovery keys the lost primary had made, made anew from this device's key: only
  // those it signed. The list is the cloud's; an edge it added, widened or turned towards
  // another user would give that user the account's items, or the account itself.
  const std::string lost_primary_unverified =
      trust_ ? replaced_primary_refusal(lost) : std::string();
  for (const auto& r : shares()) {
    if (r.from_fingerprint() != lost.encryption_key_fingerprint() || r.to_user().empty()) {
      continue;
    }
    // Keys the service opened for one recovery request are not the account's set-up.
    if (r.only_towards_device_id() != 0) continue;
    if (r.kind() != v1::REKEY_KIND_SHARE && r.kind() != v1::REKEY_KIND_RECOVERY) continue;
    // An expired share is not made anew (the service refuses a past expiry).
    if (r.policy().expires_at() != 0 && r.policy().expires_at() <= now_seconds()) continue;
    // R3's users get no direct key (see above).
    if (r.kind() == v1::REKEY_KIND_RECOVERY && in_threshold(r.to_user())) continue;
    std::string refused = !lost_primary_unverified.empty()  ? lost_primary_unverified
                          : !made_as_signed(r, lost.keys()) ? "the lost primary did not sign it"
                                                            : std::string();
    if (refused.empty() && r.kind() == v1::REKEY_KIND_RECOVERY &&
        (threshold_missing ||
         std::find(options.keep_recovery_users.begin(), options.keep_recovery_users.end(),
                   r.to_user()) == options.keep_recovery_users.end())) {
      // Signed, but perhaps since removed (the cloud keeps the statement): the user names whom
      // to keep.
      if (std::find(report.recovery_users_dropped.begin(), report.recovery_users_dropped.end(),
                    r.to_user()) == report.recovery_users_dropped.end()) {
        report.recovery_users_dropped.push_back(r.to_user());
      }
      continue;
    }
    if (refused.empty() && made_already(r)) {
      ++(r.kind() == v1::REKEY_KIND_SHARE ? report.shares_remade : report.recovery_keys_remade);
      report.remade.push_back(r);
      continue;
    }
    if (refused.empty()) {
      try {
        if (r.kind() == v1::REKEY_KIND_SHARE) {
          const v1::Device target = trusted_primary(r.to_user());
          auto pk = mupre::PublicKey::decode(bytes_of(target.keys().encryption_key()));
          if (!pk) throw ClientError("the service returned a damaged key", exit_code::kIntegrity);
          install_rekey(*pk, v1::REKEY_KIND_SHARE, r.policy(), r.to_user());
          ++report.shares_remade;
        } else {
          install_recovery_edge(r.to_user(), r.to_device_id(), bytes_of(r.to_fingerprint()));
          ++report.recovery_keys_remade;
        }
        report.remade.push_back(r);
      } catch (const ClientError& e) {
        // Its user's keys do not verify, or the service refuses it: the rebuild goes on.
        if (e.exit_code() != exit_code::kIntegrity && e.exit_code() != exit_code::kRefused) {
          throw;
        }
        refused = e.what();
      }
    }
    if (!refused.empty()) {
      std::cerr << "WARNING: " << (r.kind() == v1::REKEY_KIND_SHARE ? "share " : "recovery key ")
                << r.rekey_id() << " to " << r.to_user() << " is not made again: " << refused
                << "\n";
      ++report.edges_refused;
    }
  }
  // Its users stay without a direct key even when it is not made again (see above).
  if (remake_threshold) {
    try {
      set_threshold(threshold_setup.threshold(), threshold_users);
      report.threshold_kept = threshold_setup.threshold();
      report.threshold_users = threshold_users;
    } catch (const ClientError& e) {
      // A recovery key of its users is missing or does not verify: the rebuild goes on.
      if (e.exit_code() == exit_code::kUnavailable) throw;
      threshold_not_remade(e.what());
    }
  }

  // Every item: a new capsule for this key, signed by this device (paper 4.5). The reserved
  // items (the name key) always: signed by the replaced primary, they would no longer verify
  // on a device that has not fetched them yet, and every name of the account would be lost.
  // Left as they are (--no-refresh), the items the replaced primary signed stay readable here
  // by their signatures as found now, pinned; nothing it signs later is trusted.
  std::map<std::string, std::string> pins;
  for (const auto& item : list(false)) {
    const bool reserved = item.item_id().rfind('.', 0) == 0;
    if (reserved || options.refresh_items) {
      try {
        refresh_id(item.item_id(), item.item_id());
      } catch (const ClientError& e) {
        // Not authentic (signed by a device since removed or revoked, or damaged): it stays
        // unreadable, as it is now, and the rebuild goes on. Stopping here would stop every
        // resume here too.
        if (reserved || e.exit_code() != exit_code::kIntegrity) throw;
        std::cerr << "WARNING: " << e.what() << "\n";
        ++report.items_unreadable;
        continue;
      }
      if (!reserved) ++report.items_refreshed;
    } else if (trust_) {
      if (!pin_replaced_signature(item.item_id(), pins)) ++report.items_unreadable;
    }
  }
  report.items_pinned = static_cast<int>(pins.size());
  if (trust_) {
    // Everything the replaced primary signed is signed anew by this device, or pinned: nothing
    // more of it is to be trusted. Its key may be in a thief's hands, and what it signs cannot
    // be dated.
    trust_->stop_tolerating();
    state_.replaced_primaries.clear();
    for (const auto& [digest, fingerprint] : pins) {
      trust_->tolerate_item_signature(unhex(digest, "pin"), unhex(fingerprint, "pin"), state_.user);
      state_.pinned_item_signatures[digest] = fingerprint;
    }
  }
  state_.rebuild_lost_device = 0;
  state_.recovery_replaced.clear();
  save_state(dir_, state_);
}

bool Client::pin_replaced_signature(const std::string& item_id,
                                    std::map<std::string, std::string>& pins) {
  const v1::DownloadHeader header = header_of("", item_id, item_id);
  certs::TrustedDevice signer;
  try {
    signer = verify_header(header, state_.user, item_id, item_id);
  } catch (const ClientError& e) {
    if (e.exit_code() != exit_code::kIntegrity) throw;
    // Not authentic even now: it stays unreadable, as it was.
    std::cerr << "WARNING: " << e.what() << "\n";
    return false;
  }
  if (!signer.leaf_fingerprint.empty()) {
    // Signed by the replaced primary, or by a device it certified (its chain holds it).
    for (const Bytes& cert : certs::decode_item_signature(bytes_of(header.signature())).chain) {
      const std::string fingerprint = mupre::to_hex(certs::inspect_certificate(cert).fingerprint);
      if (std::find(state_.replaced_primaries.begin(), state_.replaced_primaries.end(),
                    fingerprint) != state_.replaced_primaries.end()) {
        pins[mupre::to_hex(Trust::item_signature_digest(bytes_of(header.signature())))] =
            fingerprint;
        return true;
      }
    }
  }
  return true;  // signed by a device trusted anyway
}

std::string Client::replaced_primary_refusal(const v1::Device& lost) {
  // Only the primary just replaced: an older one's set-up (a lower t, say) is not replayed.
  try {
    const auto lost_chain = certs::decode_chain(bytes_of(lost.keys().certificate_chain()));
    if (lost_chain.empty() || state_.replaced_primaries.empty() ||
        mupre::to_hex(certs::inspect_certificate(lost_chain.front()).fingerprint) !=
            state_.replaced_primaries.back()) {
      return "the service lists the lost primary with another certificate than the one this "
             "recovery replaced";
    }
  } catch (const certs::CertError& e) {
    return std::string("the service lists the lost primary with a damaged certificate: ") +
           e.what();
  }
  try {
    trust_->verify_replaced_primary(lost.keys(), state_.user);
  } catch (const ClientError& e) {
    if (e.exit_code() != exit_code::kIntegrity) throw;
    return e.what();
  }
  return "";
}

std::string Client::threshold_refusal(const v1::Device& lost, const v1::ThresholdRecovery& setup) {
  if (std::string refused = replaced_primary_refusal(lost); !refused.empty()) return refused;
  if (!certs::verify_signature(bytes_of(lost.keys().signing_key()),
                               threshold_message(state_.user, setup),
                               bytes_of(setup.signature()))) {
    return "the set-up the service returned is not the one the lost primary signed";
  }
  return "";
}

bool Client::made_as_signed(const v1::ReKeyInfo& edge, const v1::DeviceKeys& maker) {
  return certs::verify_signature(bytes_of(maker.signing_key()),
                                 statements::rekey_message(state_.user, edge),
                                 bytes_of(edge.statement()));
}

std::int64_t Client::announce_promotion() {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::AnnouncePromotionResponse resp;
  check(stub_->AnnouncePromotion(&ctx, v1::AnnouncePromotionRequest(), &resp),
        "announcing the recovery");
  return resp.not_before();
}

std::vector<v1::RecoveryInProgress> Client::recoveries() {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ListRecoveriesResponse resp;
  check(stub_->ListRecoveries(&ctx, v1::ListRecoveriesRequest(), &resp),
        "listing recoveries in progress");
  return {resp.recoveries().begin(), resp.recoveries().end()};
}

std::vector<v1::ListPrimaryRecoveriesResponse::Announcement> Client::ca_recoveries() {
  if (!trust_) return {};
  return trust_->primary_recoveries(state_.user);
}

Client::CancelledRecoveries Client::cancel_recovery(std::int64_t device_id) {
  CancelledRecoveries cancelled;
  // At the service first: the cancelled device can then open no further CA challenge.
  for (const auto& r : recoveries()) {
    if (device_id != 0 && r.device_id() != device_id) continue;
    grpc::ClientContext ctx;
    authorize(ctx);
    v1::CancelRecoveryRequest req;
    req.set_device_id(r.device_id());
    v1::CancelRecoveryResponse resp;
    check(stub_->CancelRecovery(&ctx, req, &resp), "cancelling the recovery");
    ++cancelled.at_service;
  }
  // Then at the CA, even when nothing waits there yet: the cancellation also voids every
  // challenge made before it, which a cancelled device may have opened but not yet answered.
  if (trust_) {
    const auto waiting = trust_->primary_recoveries(state_.user);
    const auto chain = own_chain();
    const Bytes mine = certs::inspect_certificate(chain.front()).fingerprint;
    const bool announced_here = std::any_of(waiting.begin(), waiting.end(), [&](const auto& a) {
      return bytes_of(a.requester_fingerprint()) == mine;
    });
    // The CA lets a requester cancel no one's request; another device of the account can.
    if (!announced_here) cancelled.at_ca = trust_->cancel_primary_recoveries(chain, signer());
  }
  if (device_id != 0 && cancelled.at_service == 0 && cancelled.at_ca == 0) {
    throw ClientError("no recovery by device " + std::to_string(device_id) + " is in progress", 4);
  }
  return cancelled;
}

std::string Client::ask_protection(const std::string& user) {
  const v1::Device target = trusted_primary(user);
  if (primary_of("").device_id() != state_.device_id) {
    throw ClientError("run this on the primary device: it signs the invitation", 2);
  }
  std::string number;
  if (trust_) number = certs::safety_number(trust_->verify_primary(target.keys(), user));
  constexpr std::int64_t kInvitationSeconds = 7 * 24 * 3600;
  v1::RecoveryInvitation inv;
  Bytes nonce(16);
  randombytes_buf(nonce.data(), nonce.size());
  inv.set_protected_user(state_.user);
  inv.set_recovery_user(user);
  inv.set_nonce(string_of(nonce));
  inv.set_expires_at(now_seconds() + kInvitationSeconds);
  inv.set_signature(
      string_of(keys_->sign(state_.key_label, certs::recovery_invitation_message(
                                                  state_.user, user, nonce, inv.expires_at()))));
  // Recorded before it is sent: only an answer naming it installs a recovery key.
  for (auto it = state_.invitations.begin(); it != state_.invitations.end();) {
    it = it->second.expires_at < now_seconds() ? state_.invitations.erase(it) : std::next(it);
  }
  state_.invitations[mupre::to_hex(nonce)] = {user, inv.expires_at()};
  save_state(dir_, state_);
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::SendNotificationRequest req;
  req.set_to_device_id(target.device_id());
  *req.mutable_recovery_invitation() = inv;
  v1::SendNotificationResponse resp;
  check(stub_->SendNotification(&ctx, req, &resp), "asking " + user + " to protect this account");
  return number;
}

void Client::accept_protection(const std::string& user, const v1::RecoveryInvitation& invitation) {
  if (invitation.protected_user() != user || invitation.recovery_user() != state_.user) {
    throw ClientError("the invitation does not name " + user + " and this account", 4);
  }
  trusted_primary(user);
  if (const auto it = state_.recovery_keys.find(user); it != state_.recovery_keys.end()) {
    for (const auto& d : devices("")) {
      if (d.device_id() == it->second.device_id) return;  // already protecting them
    }
    state_.recovery_keys.erase(it);  // they removed us once; a new invitation starts afresh
  }
  const SealedSecretKey rk = SealedSecretKey::create(*keys_, state_.key_label);
  const auto pk = rk.public_key().encode();
  const Bytes spki = keys_->signing_public_key(state_.key_label);
  v1::RegisterRecoveryKeyRequest req;
  req.set_protected_user(user);
  req.mutable_keys()->set_signing_key(string_of(spki));
  req.mutable_keys()->set_encryption_key(string_of(Bytes(pk.begin(), pk.end())));
  *req.mutable_invitation() = invitation;
  if (trust_) {
    // Certified by this device: the protected user's client checks that the key is ours.
    const Bytes cert = certify(spki, Bytes(pk.begin(), pk.end()));
    req.mutable_keys()->set_certificate_chain(string_of(cert));
  }
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::RegisterRecoveryKeyResponse resp;
  check(stub_->RegisterRecoveryKey(&ctx, req, &resp), "registering the recovery key");
  state_.recovery_keys[user] = {mupre::to_hex(rk.sealed()), mupre::to_hex(pk), resp.device_id()};
  save_state(dir_, state_);
}

bool Client::answer_accepted(const std::string& helper, const v1::RecoveryAccepted& accepted) {
  const auto it = state_.invitations.find(mupre::to_hex(bytes_of(accepted.invitation_nonce())));
  if (it == state_.invitations.end() || it->second.user != helper ||
      it->second.expires_at < now_seconds()) {
    return false;  // not an answer to an invitation of this device
  }
  install_recovery_edge(helper, accepted.recovery_key_device());
  state_.invitations.erase(it);
  save_state(dir_, state_);
  return true;
}

void Client::install_recovery_edge(const std::string& helper, std::int64_t recovery_key_device,
                                   const Bytes& expected_fingerprint) {
  for (const auto& d : devices(helper)) {
    if (d.device_id() != recovery_key_device) continue;
    if (d.recovery_for() != state_.user) {
      throw ClientError("that key of " + helper + " is not a recovery key for this account", 4);
    }
    if (trust_) trust_->verify_device(d.keys(), helper);
    auto pk = mupre::PublicKey::decode(bytes_of(d.keys().encryption_key()));
    if (!pk) throw ClientError("the service returned a damaged key for " + helper, 4);
    if (!expected_fingerprint.empty() &&
        !std::equal(pk->fingerprint().begin(), pk->fingerprint().end(),
                    expected_fingerprint.begin(), expected_fingerprint.end())) {
      throw ClientError("the service lists another recovery key of " + helper +
                            " than the one this account chose",
                        4);
    }
    install_rekey(*pk, v1::REKEY_KIND_RECOVERY, v1::AccessPolicy(), helper, state_.user);
    return;
  }
  throw ClientError(helper + " has no such recovery key", 3);
}

std::vector<std::string> Client::protectors() {
  const v1::Device me = primary_of("");
  std::vector<std::string> out;
  for (const auto& r : shares()) {
    if (r.kind() == v1::REKEY_KIND_RECOVERY && r.only_towards_device_id() == 0 &&
        r.from_fingerprint() == me.encryption_key_fingerprint()) {
      out.push_back(r.to_user());
    }
  }
  return out;
}

std::pair<int, int> Client::approve_recovery(const std::string& user,
                                             const v1::RecoveryRequestNotice& request) {
  const auto it = state_.recovery_keys.find(user);
  if (it == state_.recovery_keys.end()) {
    throw ClientError("this device holds no recovery key for " + user, 3);
  }
  auto rk_pk = mupre::PublicKey::decode(unhex(it->second.public_key, "recovery public key"));
  if (!rk_pk) throw ClientError("device state: a recovery key is damaged");
  const SealedSecretKey rk(*keys_, state_.key_label, unhex(it->second.sealed_key, "recovery key"),
                           *rk_pk);
  // Exactly the key whose code the user compared: never one looked up afresh by device id.
  auto pk = mupre::PublicKey::decode(bytes_of(request.keys().encryption_key()));
  if (!pk) throw ClientError("the recovery request carries a damaged key", 4);
  install_rekey(*pk, v1::REKEY_KIND_RECOVERY, v1::AccessPolicy(), "", user, &rk);
  return submit_shares(user, rk, request.device_id(),
                       Bytes(pk->fingerprint().begin(), pk->fingerprint().end()));
}

std::pair<int, int> Client::submit_shares(const std::string& user, const SealedSecretKey& rk,
                                          std::int64_t device_id, const Bytes& fingerprint) {
  v1::ThresholdRecovery config;
  {
    grpc::ClientContext ctx;
    authorize(ctx);
    v1::GetThresholdRecoveryRequest req;
    req.set_user(user);
    const grpc::Status s = stub_->GetThresholdRecovery(&ctx, req, &config);
    if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {0, 0};  // R2 only
    check(s, "reading " + user + "'s recovery set-up");
  }
  for (const auto& p : config.protectors()) {
    if (p.user() != state_.user) continue;
    auto opened = r3::open_shares(rk, user, state_.user, bytes_of(p.shares_capsule()),
                                  bytes_of(p.shares_sealed()),
                                  static_cast<std::size_t>(config.protectors_size()));
    if (const auto* failure = std::get_if<r3::SharesFailure>(&opened)) {
      switch (*failure) {
        case r3::SharesFailure::kDamaged:
          throw ClientError("the recovery set-up is damaged", 4);
        case r3::SharesFailure::kNotForThisKey:
          throw ClientError("the shares are not for this recovery key", 4);
        case r3::SharesFailure::kDoNotOpen:
          break;
      }
      throw ClientError("the shares " + user + " left for you do not open", 4);
    }
    Bytes* plain = &std::get<Bytes>(opened);
    grpc::ClientContext ctx;
    authorize(ctx);
    v1::SubmitRecoverySharesRequest req;
    req.set_user(user);
    req.set_device_id(device_id);  // this approval is for this request only
    req.set_encryption_key_fingerprint(string_of(fingerprint));
    for (std::size_t at = 0; at < plain->size(); at += mupre::kShareSize) {
      req.add_shares(string_of(std::span(*plain).subspan(at, mupre::kShareSize)));
    }
    sodium_memzero(plain->data(), plain->size());
    v1::RecoveryProgress progress;
    check(stub_->SubmitRecoveryShares(&ctx, req, &progress), "returning the shares");
    return {progress.valid(), progress.threshold()};
  }
  return {0, 0};
}

void Client::set_threshold(int threshold_count, const std::vector<std::string>& users) {
  const v1::Device me = primary_of("");
  if (me.device_id() != state_.device_id) throw ClientError("run this on the primary device", 2);
  if (threshold_count < 1 || static_cast<std::size_t>(threshold_count) > users.size() ||
      users.size() > 16) {
    throw ClientError("threshold: 1 <= T <= number of users <= 16", 2);
  }
  struct Protector {
    std::string user;
    std::int64_t device = 0;
    std::shared_ptr<const mupre::PublicKey> key;
  };
  std::vector<Protector> protectors;
  for (const auto& u : users) {
    Protector p{u, 0, nullptr};
    for (const auto& d : devices(u)) {
      if (d.recovery_for() != state_.user) continue;
      if (trust_) trust_->verify_device(d.keys(), u);
      auto pk = mupre::PublicKey::decode(bytes_of(d.keys().encryption_key()));
      if (!pk) throw ClientError("the service returned a damaged key for " + u, 4);
      p.device = d.device_id();
      p.key = std::make_shared<const mupre::PublicKey>(*pk);
    }
    if (!p.key)
      throw ClientError(u + " does not protect this account yet (`recovery add " + u + "`)", 2);
    protectors.push_back(std::move(p));
  }
  const std::size_t n = protectors.size();
  const auto t = static_cast<unsigned>(threshold_count);
  static constexpr std::uint8_t kInfo[] = {'h', 'o', 'p', 'b', 'o', 'x',
                                           ' ', 'v', '1', ' ', 'R', '3'};
  v1::ThresholdRecovery config;
  config.set_threshold(threshold_count);
  std::vector<std::vector<mupre::Share>> split_shares(n);  // [i][j]: s_i's share for j
  const SealedSecretKey key = secret_key();
  for (std::size_t i = 0; i < n; ++i) {
    auto rk = mupre::make_rekey(key, *protectors[i].key);
    if (!rk) throw ClientError("cannot make the recovery key for " + protectors[i].user);
    const mupre::bls12_381::Scalar secret = mupre::bls12_381::scalar_random_nonzero();
    auto sealing_key = mupre::key_from_scalar(secret, kInfo);
    const auto rk_bytes = rk->encode();
    auto* p = config.add_protectors();
    p->set_user(protectors[i].user);
    p->set_recovery_key_device(protectors[i].device);
    p->set_sealed_rekey(string_of(threshold::seal(
        sealing_key, threshold::associated_data("rekey", state_.user, protectors[i].user),
        rk_bytes)));
    sodium_memzero(sealing_key.data(), sealing_key.size());
    auto sharing = mupre::split(secret, t, static_cast<unsigned>(n));
    if (!sharing) throw ClientError("cannot split the recovery secret");
    p->set_commitments(string_of(sharing->commitments.encode()));
    split_shares[i] = std::move(sharing->shares);
  }
  for (std::size_t j = 0; j < n; ++j) {
    Bytes mine(n * mupre::kShareSize);
    for (std::size_t i = 0; i < n; ++i) {
      split_shares[i][j].encode(
          std::span(mine).subspan(i * mupre::kShareSize).first<mupre::kShareSize>());
    }
    const mupre::Encapsulation e = mupre::encapsulate(*protectors[j].key);
    auto* p = config.mutable_protectors(static_cast<int>(j));
    const auto capsule = e.capsule.encode();
    p->set_shares_capsule(string_of(Bytes(capsule.begin(), capsule.end())));
    p->set_shares_sealed(string_of(threshold::seal(
        e.key.bytes(), threshold::associated_data("shares", state_.user, protectors[j].user),
        mine)));
    sodium_memzero(mine.data(), mine.size());
  }
  config.set_user(state_.user);
  config.set_signature(string_of(signer()(threshold_message(state_.user, config))));
  {
    grpc::ClientContext ctx;
    authorize(ctx);
    v1::PutThresholdRecoveryResponse resp;
    check(stub_->PutThresholdRecovery(&ctx, config, &resp), "storing the recovery set-up");
  }
  if (threshold_count > 1) {
    // No single recovery user may recover alone any more: their direct keys go.
    for (const auto& r : shares()) {
      if (r.kind() != v1::REKEY_KIND_RECOVERY ||
          r.from_fingerprint() != me.encryption_key_fingerprint()) {
        continue;
      }
      for (const auto& p : protectors) {
        if (r.to_device_id() == p.device) unshare(r.rekey_id());
      }
    }
  }
}

int Client::remove_protector(const std::string& user) {
  int removed = 0;
  for (const auto& r : shares()) {
    if (r.kind() == v1::REKEY_KIND_RECOVERY && r.to_user() == user) {
      unshare(r.rekey_id());
      ++removed;
    }
  }
  // Their recovery key goes too: otherwise they would still be asked, and could refuse, when
  // this account recovers.
  for (const auto& d : devices(user)) {
    if (d.recovery_for() == state_.user) {
      remove_at_service(d.device_id());  // another account's node: nothing to revoke at the CA
      ++removed;
    }
  }
  v1::ThresholdRecovery config;
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::GetThresholdRecoveryRequest req;
  if (stub_->GetThresholdRecovery(&ctx, req, &config).ok()) {
    for (const auto& p : config.protectors()) {
      if (p.user() != user) continue;
      // An empty set-up withdraws it; the user sets a new threshold without them.
      grpc::ClientContext c2;
      authorize(c2);
      v1::ThresholdRecovery empty;
      v1::PutThresholdRecoveryResponse resp;
      check(stub_->PutThresholdRecovery(&c2, empty, &resp), "withdrawing the threshold set-up");
      ++removed;
    }
  }
  return removed;
}

void Client::refuse_recovery(std::int64_t device_id) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::SendNotificationRequest req;
  req.set_to_device_id(device_id);
  req.mutable_recovery_refused();
  v1::SendNotificationResponse resp;
  check(stub_->SendNotification(&ctx, req, &resp), "telling the requester");
}

std::pair<int, int> Client::recovery_progress() {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::GetRecoveryProgressRequest req;
  v1::RecoveryProgress resp;
  const grpc::Status s = stub_->GetRecoveryProgress(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::NOT_FOUND) return {0, 0};
  check(s, "reading the recovery's progress");
  return {resp.valid(), resp.threshold()};
}

std::string Client::own_key_code() const {
  return key_code(state_.user, keys_->signing_public_key(state_.key_label),
                  unhex(state_.public_key, "public_key"));
}

std::unique_ptr<Client> Client::request_recovery(const fs::path& dir, const std::string& pin,
                                                 DeviceState base,
                                                 const std::vector<std::string>& via) {
  if (base.ca.empty()) {
    throw ClientError("recovering on a new device needs the CA (--ca, --ca-root)", 2);
  }
  std::unique_ptr<KeyStore> keys;
  DeviceState s = make_device_keys(dir, pin, std::move(base), keys);
  std::string joined;
  for (const auto& v : via) joined += (joined.empty() ? "" : ",") + v;
  s.recovering_via = joined;
  // Kept before asking: a refused request is asked again with the same keys, so the code the
  // user reads out to a recovery user stays the same.
  save_state(dir, s);
  std::unique_ptr<Client> c(new Client(dir, s, std::move(keys)));
  c->send_recovery_request();
  return c;
}

void Client::send_recovery_request() {
  std::vector<std::string> via;
  for (std::size_t at = 0; at < state_.recovering_via.size();) {
    const std::size_t comma =
        std::min(state_.recovering_via.find(',', at), state_.recovering_via.size());
    via.push_back(state_.recovering_via.substr(at, comma - at));
    at = comma + 1;
  }
  grpc::ClientContext ctx;
  v1::RequestRecoveryRequest req;
  req.set_user(state_.user);
  req.set_device_name(state_.device_name);
  const Bytes encryption_key = unhex(state_.public_key, "public_key");
  req.mutable_keys()->set_signing_key(string_of(keys_->signing_public_key(state_.key_label)));
  req.mutable_keys()->set_encryption_key(string_of(encryption_key));
  for (const auto& v : via) req.add_via(v);
  // Signed by the new key: the request is this device's own.
  req.set_requested_at(now_seconds());
  req.set_signature(string_of(keys_->sign(
      state_.key_label, certs::recovery_request_message(state_.user, state_.device_name,
                                                        encryption_key, req.requested_at(), via))));
  v1::RequestRecoveryResponse resp;
  const grpc::Status s = stub_->RequestRecovery(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    throw ClientError(s.error_message() + "; this device's code: " + own_key_code(), 1);
  }
  check(s, "asking for a recovery");
  state_.device_id = resp.device_id();
  state_.recovery_not_before = resp.not_before();
  save_state(dir_, state_);
}

void Client::expect_recovery(const std::string& user, const std::string& code) {
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ExpectRecoveryRequest req;
  req.set_protected_user(user);
  req.set_key_code(code);
  v1::ExpectRecoveryResponse resp;
  check(stub_->ExpectRecovery(&ctx, req, &resp), "vouching for the recovery of " + user);
}

std::optional<Client::CaAnswer> Client::answer_ca_challenge(bool announce_only) {
  // Paper Fig. 6: the CA's challenge, for the certified primary's key, reaches this device only
  // along a recovery chain that a recovery user approved.
  const Bytes encryption_key = unhex(state_.public_key, "public_key");
  const Bytes signing_key = keys_->signing_public_key(state_.key_label);
  const auto challenge =
      trust_->begin_recertification(state_.user, signing_key, encryption_key, signer());
  grpc::ClientContext ctx;
  authorize(ctx);
  v1::ReencryptChallengeRequest req;
  req.set_capsule(string_of(challenge.capsule));
  req.set_expires_at(challenge.expires_at);
  req.set_ca_signature(string_of(challenge.ca_signature));
  v1::ReencryptChallengeResponse resp;
  const grpc::Status s = stub_->ReencryptChallenge(&ctx, req, &resp);
  if (s.error_code() == grpc::StatusCode::PERMISSION_DENIED) return std::nullopt;
  check(s, "opening the CA's challenge");
  auto c = mupre::Ciphertext::decode(bytes_of(resp.capsule()));
  if (!c) throw ClientError("the challenge from the service does not decode", 4);
  const SealedSecretKey key = secret_key();
  auto k = mupre::decapsulate(key, *c);
  if (!k) throw ClientError("this device cannot open the CA's challenge", 4);
  const auto done = trust_->complete_recertification(
      state_.user, signing_key, encryption_key, challenge.ticket,
      certs::recertification_answer(k->bytes(), encryption_key), announce_only);
  return CaAnswer{done.certificate, done.not_before, done.replaced};
}

std::optional<Client::RecoveryReport> Client::complete_recovery(const RebuildOptions& options) {
  if (state_.rebuild_lost_device != 0) return resume_rebuild(options);
  if (state_.recovering_via.empty()) throw ClientError("this device is not recovering", 2);
  if (!trust_) throw ClientError("recovering on a new device needs the CA (--ca, --ca-root)", 2);
  // The CA's answer from an earlier run whose take-over failed at the service: the CA revoked
  // the lost primary then, and asked again would replace this device's own certificate.
  const bool certified = !state_.recovery_certificate.empty();
  if (!certified && now_seconds() < state_.recovery_not_before) {
    // The account's devices may still cancel it. Once approved, the CA hears of it now, so
    // that its own waiting period runs beside the service's; it certifies nothing yet.
    std::string at_ca;
    try {
      if (const auto announced = answer_ca_challenge(true)) {
        at_ca = " (at the CA until " + format_time(announced->not_before) + ")";
      }
    } catch (const ClientError&) {
      // Not approved yet, or the CA is unreachable: asked again next time.
    }
    throw ClientError("the recovery's waiting period runs until " +
                          format_time(state_.recovery_not_before) + at_ca +
                          ": run `hopbox recover --via ...` again then",
                      1);
  }
  v1::Device lost;
  for (const auto& d : devices("")) {
    if (d.primary()) lost = d;
  }
  if (lost.device_id() == 0) throw ClientError("the account has no primary to replace", 3);
  if (!certified) {
    const auto answered = answer_ca_challenge(false);
    if (!answered) return std::nullopt;
    if (answered->certificate.empty()) {
      // The CA waits too (announced to the account, which may cancel): ask again later.
      throw ClientError(
          "the CA announced this re-certification to the account; its waiting "
          "period runs until " +
              format_time(answered->not_before) + ": run `hopbox recover --via ...` again then",
          1);
    }
    // Kept first: if the service fails now, the next run takes over with this answer.
    state_.recovery_certificate = mupre::to_hex(answered->certificate);
    state_.recovery_replaced = mupre::to_hex(answered->replaced);
    save_state(dir_, state_);
  }
  return take_over_and_rebuild(lost, unhex(state_.recovery_certificate, "recovery_certificate"),
                               unhex(state_.recovery_replaced, "recovery_replaced"), options);
}

int Client::follow_recovery(const std::string& user) {
  const v1::Device target = trusted_primary(user);
  auto pk = mupre::PublicKey::decode(bytes_of(target.keys().encryption_key()));
  if (!pk) throw ClientError("the service returned a damaged key for " + user, 4);
  const std::vector<v1::Device> own = devices("");
  int moved = 0;
  for (const auto& r : shares()) {
    if (r.kind() != v1::REKEY_KIND_SHARE || r.to_user() != user ||
        r.to_device_id() == target.device_id()) {
      continue;
    }
    // A share moves as the device that made it signed it: the list is the cloud's, which
    // could otherwise widen one, or add one, on its way to the new key.
    const auto maker = std::find_if(own.begin(), own.end(), [&](const v1::Device& d) {
      return d.encryption_key_fingerprint() == r.from_fingerprint() && !d.lost();
    });
    std::string refused;
    if (maker == own.end()) {
      refused = "no device of this account made it";
    } else if (trust_) {
      try {
        trust_->verify_device(maker->keys(), state_.user);
      } catch (const ClientError& e) {
        if (e.exit_code() != exit_code::kIntegrity) throw;
        refused = e.what();
      }
    }
    if (refused.empty() && !made_as_signed(r, maker->keys())) {
      refused = "the device that made it did not sign it";
    }
    if (!refused.empty()) {
      std::cerr << "WARNING: share " << r.rekey_id() << " to " << user
                << " is not moved: " << refused << "\n";
      continue;
    }
    // An expired share is dropped, not moved (the service refuses a past expiry).
    if (r.policy().expires_at() == 0 || r.policy().expires_at() > now_seconds()) {
      install_rekey(*pk, v1::REKEY_KIND_SHARE, r.policy(), user);
    }
    unshare(r.rekey_id());
    ++moved;
  }
  return moved;
}

}  // namespace hopbox
