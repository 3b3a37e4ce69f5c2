#include "inbox.h"

#include <iostream>
#include <optional>
#include <string>

#include "client_internal.h"
#include "mupre/hex.h"

namespace hopbox {

using nlohmann::json;
namespace v1 = hopbox::v1;

namespace {

// The person's answer: --yes and --no answer for them; otherwise they are asked. nullopt when
// nobody can answer (standard input ended: no terminal): silence is not a refusal.
std::optional<bool> ask(const std::string& question, bool answer_yes, bool answer_no) {
  if (answer_no) return false;
  if (answer_yes) return true;
  // On stderr: stdout carries the answers (--json), and the question still reaches the person.
  std::cerr << question << " [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) {
    std::cerr << "\n";
    return std::nullopt;
  }
  return answer == "y" || answer == "Y" || answer == "yes";
}

// A request nobody answered stays in the inbox, unacknowledged, for a later `watch`.
bool leave_pending(json entry, const std::string& what, json& j) {
  entry["pending"] = true;
  j.push_back(entry);
  // On stderr even with --json: the person must learn that nothing was decided.
  std::cerr << what
            << " left pending: nobody answered (standard input is not a terminal); run `hopbox "
               "watch` on a terminal, or with --yes or --no\n";
  return false;
}

void say(bool quiet, const std::string& line) {
  if (!quiet) std::cout << line << "\n";
}

// Someone asks this device's user to protect their account (R2, R3).
bool on_invitation(Client& c, const v1::Notification& n, bool yes, bool no, bool quiet, json& j) {
  const std::string number = c.safety_number_of(n.from_user());
  json entry = {{"kind", "recovery-setup"}, {"from_user", n.from_user()}, {"fingerprint", number}};
  const auto answer =
      ask(n.from_user() + (number.empty() ? "" : " (safety number " + number + ")") +
              " asks you to protect their account: if they lose their devices, you can let a "
              "new device of theirs read their data. Accept?",
          yes, no);
  if (!answer) return leave_pending(entry, "recovery-setup from " + n.from_user(), j);
  const bool consent = *answer;
  if (consent) c.accept_protection(n.from_user(), n.recovery_invitation());
  entry["approved"] = consent;
  j.push_back(entry);
  say(quiet, "recovery-setup from " + n.from_user() + ": " + (consent ? "approved" : "refused"));
  return true;
}

// The answer to an invitation: acted on only if this device recorded that invitation.
void on_accepted(Client& c, const v1::Notification& n, bool quiet, json& j) {
  const bool installed = c.answer_accepted(n.from_user(), n.recovery_accepted());
  j.push_back({{"kind", "recovery-accepted"},
               {"from_user", n.from_user()},
               {"approved", installed},
               {"ignored", !installed}});
  say(quiet, installed ? n.from_user() + " now protects this account"
                       : "ignored a recovery answer from " + n.from_user() +
                             ": this device did not ask them");
}

// A new device of a user this device protects asks to recover onto it.
bool on_recovery_request(Client& c, const v1::Notification& n, bool yes, bool no, bool quiet,
                         json& j) {
  const auto& r = n.recovery_request();
  // The code of exactly the keys an approval re-keys to.
  const std::string code =
      Client::key_code(n.from_user(), internal::bytes_of(r.keys().signing_key()),
                       internal::bytes_of(r.keys().encryption_key()));
  json entry = {{"kind", "recovery-request"},
                {"from_user", n.from_user()},
                {"short_code", code},
                {"device_id", r.device_id()}};
  const auto answer =
      ask(n.from_user() + " asks to recover their account onto a new device (" + r.device_name() +
              ") showing the code\n\n  " + code + "\n\nCall them and compare every digit. Approve?",
          yes, no);
  if (!answer) return leave_pending(entry, "recovery-request from " + n.from_user(), j);
  const bool consent = *answer;
  entry["approved"] = consent;
  if (consent) {
    const auto [valid, needed] = c.approve_recovery(n.from_user(), r);
    if (needed > 0) {
      entry["valid_shares"] = valid;
      entry["threshold"] = needed;
    }
  } else {
    c.refuse_recovery(r.device_id());  // the requester sees who refused
  }
  j.push_back(entry);
  std::string line = "recovery-request from " + n.from_user() + ": " +
                     (consent ? "approved" : "refused") + " (new device code " + code + ")";
  if (entry.contains("threshold")) {
    line += "; shares returned, " + std::to_string(entry["valid_shares"].get<int>()) + " of " +
            std::to_string(entry["threshold"].get<int>()) + " valid so far";
  }
  say(quiet, line);
  return true;
}

// A recovery of this account (or of one this device protects) started or was cancelled.
void on_recovery_news(Client& c, const v1::Notification& n, bool quiet, json& j) {
  if (n.has_recovery_started()) {
    const auto& r = n.recovery_started();
    const bool own = r.user() == c.state().user;
    j.push_back({{"kind", "recovery-started"},
                 {"user", r.user()},
                 {"device_id", r.device_id()},
                 {"device_name", r.device_name()},
                 {"new_device", r.new_device()},
                 {"not_before", r.not_before()}});
    say(quiet, "WARNING: a recovery of " + r.user() + "'s account started on " +
                   (r.new_device() ? "a new device" : "the secondary device") + " \"" +
                   r.device_name() + "\" (device " + std::to_string(r.device_id()) +
                   "); it can complete after " + internal::format_time(r.not_before()) + ". " +
                   (own ? "If this was not you, run `hopbox recovery cancel` now."
                        : "If " + r.user() + " did not ask for it, tell them."));
  } else {
    const auto& r = n.recovery_cancelled();
    j.push_back({{"kind", "recovery-cancelled"}, {"user", r.user()}, {"device_id", r.device_id()}});
    say(quiet, "the recovery of " + r.user() + "'s account by device " +
                   std::to_string(r.device_id()) + " was cancelled");
  }
}

// A user this account shares with recovered: their key changed. Like a changed safety number in
// Signal, the change is shown and the share moves only with consent. False when declined: the
// notice stays, to be answered later.
bool on_recovered(Client& c, const v1::Notification& n, bool yes, bool no, bool quiet, json& j) {
  const std::string who = n.recovered().user();
  if (who != n.from_user()) return true;  // the service names the sender itself
  std::string number, old_number;
  for (const auto& d : c.devices(who)) {
    if (d.device_id() == n.recovered().lost_device()) {
      old_number = Client::key_code(who, internal::bytes_of(d.keys().signing_key()),
                                    internal::bytes_of(d.keys().encryption_key()));
    }
  }
  try {
    number = c.safety_number_of(who);
  } catch (const ClientError& e) {
    j.push_back({{"recovered", who}, {"followed", false}, {"refused_because", e.what()}});
    say(quiet, "not following " + who + ": " + e.what());
    return true;
  }
  const bool follow =
      ask(who + " recovered their account onto a new device. Their safety number changed" +
              (old_number.empty() ? "" : " from\n\n  " + old_number + "\n\nto") + "\n\n  " +
              number + "\n\nCall " + who +
              " and compare it with their `hopbox whoami` before your shares move to it. "
              "Move your shares?",
          yes, no)
          .value_or(false);  // unanswered: nothing moves, and the notice stays
  json entry = {{"recovered", who},
                {"fingerprint", number},
                {"previous_fingerprint", old_number},
                {"followed", follow}};
  if (follow) entry["shares_moved"] = c.follow_recovery(who);
  j.push_back(entry);
  say(quiet, follow ? "moved the shares to " + who + "'s new primary (safety number " + number +
                          ", was " + old_number + ")"
                    : "kept the shares to " + who +
                          "'s former key; nothing moved (`hopbox watch` asks again)");
  return follow;
}

bool on_pairing(Client& c, const v1::Notification& n, bool yes, bool no, bool quiet, json& j) {
  const auto& p = n.pairing_request();
  std::string code;
  try {
    code = c.pairing_key_code(p.pairing_code());
  } catch (const ClientError& e) {
    j.push_back({{"pairing_request", n.notification_id()}, {"approved", false}});
    say(quiet, std::string("ignored a damaged pairing request: ") + e.what());
    return true;
  }
  const auto answer = ask("A new device \"" + p.device_name() +
                              "\" asks to join this account. It must show the code\n\n  " + code +
                              "\n\nCompare every digit. Approve?",
                          yes, no);
  json entry = {{"pairing_request", n.notification_id()}, {"short_code", code}};
  if (!answer) return leave_pending(entry, "the pairing request of \"" + p.device_name() + "\"", j);
  const bool approve = *answer;
  entry["approved"] = approve;
  // Approving certifies exactly the keys whose code was shown; it also answers the request.
  if (approve) entry["device_id"] = c.approve(p.pairing_code(), p.device_name());
  j.push_back(entry);
  say(quiet, approve ? "approved the new device" : "refused the new device");
  return true;
}

// Text another user chose, shown on this terminal: control characters (C0, DEL, C1) could
// rewrite it, so they show as '?'.
std::string printable(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    const bool c1 = c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) >= 0x80 &&
                    static_cast<unsigned char>(s[i + 1]) <= 0x9f;
    if (c < 0x20 || c == 0x7f || c1) {
      out += '?';
      if (c1) ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Tells the requester the answer; failing to tell them undoes nothing (a share stands).
void tell(Client& c, const v1::Notification& n, bool grant, json& entry) {
  try {
    c.answer_access(n, grant);
    entry["told"] = true;
  } catch (const ClientError& e) {
    entry["told"] = false;
    std::cerr << "could not tell " << n.from_user() << " the answer: " << e.what() << "\n";
  }
}

bool on_access_request(Client& c, const v1::Notification& n, bool yes, bool no, bool quiet,
                       json& j) {
  const std::string message = n.access_request().message();
  // Show who asks: identifier and the fingerprint of the key access would go to (with a
  // CA, the safety number of a key whose chain verified; an untrusted key is refused).
  std::string fingerprint;
  if (c.certified()) {
    try {
      fingerprint = c.safety_number_of(n.from_user());
    } catch (const ClientError& e) {
      j.push_back({{"request", n.notification_id()},
                   {"from_user", n.from_user()},
                   {"granted", false},
                   {"refused_because", e.what()}});
      say(quiet, "refused " + n.from_user() + ": " + e.what());
      return true;
    }
  } else {
    for (const auto& d : c.devices(n.from_user())) {
      if (d.primary()) {
        fingerprint = Client::key_code(n.from_user(), internal::bytes_of(d.keys().signing_key()),
                                       internal::bytes_of(d.keys().encryption_key()));
      }
    }
  }
  json entry = {{"request", n.notification_id()},
                {"from_user", n.from_user()},
                {"message", message},
                {"fingerprint", fingerprint}};
  // The item is sealed for this account's primary and bound to the sender the service names:
  // one sealed by or for anybody else does not open, and nothing is granted on a guess.
  const std::optional<std::string> item = c.requested_item(n);
  if (!item) {
    entry["unreadable"] = true;
    entry["granted"] = false;
    tell(c, n, false, entry);
    j.push_back(entry);
    say(quiet, "refused a request from " + n.from_user() +
                   " that could not be read (not sealed by them for this account's primary key, "
                   "or damaged); nothing was shared");
    return true;
  }
  entry["item"] = *item;
  const std::string what = item->empty() ? "everything" : *item;
  if (!item->empty() && !c.own_item(*item)) {
    entry["granted"] = false;
    entry["refused_because"] = "no such item";
    tell(c, n, false, entry);
    j.push_back(entry);
    say(quiet, n.from_user() + " asks for access to " + what +
                   ", which is not in this account (see `hopbox ls`): refused");
    return true;
  }
  const std::string asks = n.from_user() + " asks for access to " + what +
                           (message.empty() ? "" : ": " + printable(message));
  // --yes and --no answer without asking: the request is still shown.
  if (yes || no) say(quiet, asks);
  const auto answer =
      ask(asks + "\n" + n.from_user() + "'s " + (c.certified() ? "safety number " : "key ") +
              fingerprint + ". Grant?",
          yes, no);
  if (!answer) return leave_pending(entry, "the access request of " + n.from_user(), j);
  const bool grant = *answer;
  entry["granted"] = grant;
  if (grant) {
    SharePolicyArgs p;
    if (!item->empty()) p.items = {*item};
    entry["share_id"] = c.share(n.from_user(), p);
  }
  tell(c, n, grant, entry);
  j.push_back(entry);
  say(quiet, (grant ? "granted " : "refused ") + n.from_user() + " access to " + what);
  return true;
}

// The answer to this device's access request: shown, then removed from the inbox. What it
// answers is this device's own note of the request (the service cannot read the item).
void on_access_answer(Client& c, const v1::Notification& n, bool quiet, json& j) {
  const auto& a = n.access_answer();
  const std::optional<std::string> item = c.asked_for(a.request_id(), n.from_user());
  json entry = {{"kind", "access-answer"},
                {"from_user", n.from_user()},
                {"request", a.request_id()},
                {"granted", a.granted()}};
  if (item) entry["item"] = *item;
  j.push_back(entry);
  const std::string what = !item           ? "request " + std::to_string(a.request_id())
                           : item->empty() ? "everything"
                                           : *item;
  say(quiet, n.from_user() + (a.granted() ? " granted" : " refused") + " your request for " + what +
                 (a.granted() ? ": `hopbox ls --shared` lists it" : ""));
}

}  // namespace

bool answer_notification(Client& c, const v1::Notification& n, bool answer_yes, bool answer_no,
                         bool quiet, json& j) {
  switch (n.payload_case()) {
    case v1::Notification::kRecoveryInvitation:
      if (!on_invitation(c, n, answer_yes, answer_no, quiet, j)) return true;
      break;
    case v1::Notification::kRecoveryAccepted:
      on_accepted(c, n, quiet, j);
      break;
    case v1::Notification::kRecoveryRequest:
      if (!on_recovery_request(c, n, answer_yes, answer_no, quiet, j)) return true;
      break;
    case v1::Notification::kRecoveryStarted:
    case v1::Notification::kRecoveryCancelled:
      on_recovery_news(c, n, quiet, j);
      break;
    case v1::Notification::kRecovered:
      if (!on_recovered(c, n, answer_yes, answer_no, quiet, j)) return true;
      break;
    case v1::Notification::kPairingRequest:
      if (!on_pairing(c, n, answer_yes, answer_no, quiet, j)) return true;
      if (j.back().value("approved", false)) return true;  // approve() acknowledged it
      break;
    case v1::Notification::kAccessRequest:
      if (!on_access_request(c, n, answer_yes, answer_no, quiet, j)) return true;
      break;
    case v1::Notification::kAccessAnswer:
      on_access_answer(c, n, quiet, j);
      break;
    default:
      return true;  // the requester's own kinds (a refusal) are read by `recover --via`
  }
  c.acknowledge(n.notification_id());
  if (n.has_access_answer()) c.forget_request(n.access_answer().request_id());
  return true;
}

void warn_ca_recoveries(Client& c, bool quiet, json& done) {
  std::vector<v1::ListPrimaryRecoveriesResponse::Announcement> waiting;
  try {
    waiting = c.ca_recoveries();
  } catch (const ClientError& e) {
    // Answering the inbox still matters; the user learns that the check did not happen.
    std::cerr << "WARNING: could not ask the CA whether a take-over of this account waits there: "
              << e.what() << "\n";
    return;
  }
  for (const auto& a : waiting) {
    done.push_back(
        {{"kind", "ca-recovery-started"},
         {"user", c.state().user},
         {"requester_fingerprint", mupre::to_hex(internal::bytes_of(a.requester_fingerprint()))},
         {"not_before", a.not_before()}});
    // Even with --json (stdout is for the JSON): an alarm the person must see.
    (quiet ? std::cerr : std::cout)
        << "WARNING: a device asked the CA to take over as " << c.state().user
        << "'s primary (revoking the current one); the CA completes it after "
        << internal::format_time(a.not_before())
        << ". If this was not you, run `hopbox recovery cancel` now.\n";
  }
}

}  // namespace hopbox
