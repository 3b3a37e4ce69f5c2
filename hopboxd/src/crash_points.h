// Crash points, for tests only: `hopboxd --crash-at NAME` dies as by kill -9 (SIGKILL, no
// clean-up) when it reaches the step NAME, so that a test can restart it on the same data and
// check that nothing acknowledged was lost and nothing half-done is visible
// (hopboxd/tests/crash_test.cc, docs/testing.md "Crash points"). Names are checked: a call
// site naming a step not in kCrashPoints does not compile, and --crash-at refuses one.
#pragma once

#include <algorithm>
#include <iterator>
#include <string_view>

namespace hopboxd {

// Every step, "call.step", in the order a call reaches them. "call.committed" comes after the
// call's last commit; every other step before it.
inline constexpr std::string_view kCrashPoints[] = {
    // Upload: the payload fsynced under its temporary name; renamed into objects/ with the
    // item not committed; the item committed, the payloads it replaced not yet removed.
    "upload.payload_written",
    "upload.payload_published",
    "upload.committed",
    // RefreshItem, InstallReKey, RevokeReKey: one write each, committed and not answered.
    "refresh.committed",
    "rekey.committed",
    "revoke.committed",
    // RequestRecovery: the pending device and its request; the recovery users' inboxes
    // written, not the account's; everything written, not answered.
    "recovery_request.device_added",
    "recovery_request.helpers_asked",
    "recovery_request.committed",
    // AnnouncePromotion: the request stored, not announced; announced, not answered.
    "announce.request_stored",
    "announce.committed",
    // SubmitRecoveryShares: the approval stored; the request marked "keys installed", the
    // keys not yet; everything written, not answered.
    "shares.approval_stored",
    "shares.installed_marked",
    "shares.committed",
    // PromoteDevice: the new primary, its request still open; the request closed, the
    // sharers not told; everything written, not answered.
    "promote.promoted",
    "promote.request_deleted",
    "promote.committed",
};

constexpr bool is_crash_point(std::string_view name) {
  return std::find(std::begin(kCrashPoints), std::end(kCrashPoints), name) !=
         std::end(kCrashPoints);
}

// A step's name, checked when compiled.
class CrashPointName {
 public:
  // Implicit, so that call sites read crash_point("upload.committed").
  consteval CrashPointName(const char* name) : name_(name) {
    if (!is_crash_point(name_)) throw "not a crash point: add it to kCrashPoints";
  }
  std::string_view name() const { return name_; }

 private:
  std::string_view name_;
};

// Arms `name` (one of kCrashPoints) for this process; call before serving.
void arm_crash_point(std::string_view name);
// Dies at once, by SIGKILL, if `point` is the armed one; nothing otherwise.
void crash_point(CrashPointName point);

}  // namespace hopboxd
