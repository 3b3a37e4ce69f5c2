#include "inbox.h"

#include <iostream>
#include <string>

#include "mupre/hex.h"

namespace hopbox {

using nlohmann::json;

bool answer_notification(Client& c, const v1::Notification& n, bool answer_yes, bool answer_no,
                         bool quiet, json& j) {
  if (n.kind() == "recovery-setup" || n.kind() == "recovery-accepted" ||
      n.kind() == "recovery-request") {
    const auto body = json::parse(n.body(), nullptr, false);
    json entry = {{"kind", n.kind()}, {"from_user", n.from_user()}};
    bool consent = answer_yes;
    std::string question;
    if (n.kind() == "recovery-setup") {
      const std::string number = c.safety_number_of(n.from_user());
      entry["fingerprint"] = number;
      question = n.from_user() + (number.empty() ? "" : " (safety number " + number + ")") +
                 " asks you to protect their account: if they lose their devices, you "
                 "can let a new device of theirs read their data. Accept?";
    } else if (n.kind() == "recovery-request") {
      const auto fp = mupre::from_hex(body.is_object() ? body.value("fingerprint", "") : "");
      const std::string short_code =
          fp ? Client::short_code(std::string(fp->begin(), fp->end())) : std::string();
      entry["short_code"] = short_code;
      entry["device_id"] = body.is_object() ? body.value("device_id", std::int64_t{0}) : 0;
      question = n.from_user() + " asks to recover their account onto a new device (" +
                 (body.is_object() ? body.value("device_name", "") : "") + ") showing the code " +
                 short_code + ". Call them and compare the code. Approve?";
    } else {
      consent = true;  // our own request, answered: install the recovery key
    }
    if (!consent && !answer_no) {
      std::cout << question << " [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      consent = answer == "y" || answer == "Y" || answer == "yes";
    }
    if (answer_no && n.kind() != "recovery-accepted") consent = false;
    entry["approved"] = consent;
    if (!consent && n.kind() == "recovery-request") {
      c.refuse_recovery(n.from_device_id());  // the requester sees who refused
    }
    if (consent) {
      if (n.kind() == "recovery-setup") {
        c.accept_protection(n.from_user());
      } else if (n.kind() == "recovery-request") {
        const auto fp = mupre::from_hex(body.is_object() ? body.value("fingerprint", "") : "");
        const auto [valid, needed] = c.approve_recovery(
            n.from_user(), entry["device_id"].get<std::int64_t>(), fp ? *fp : Bytes{});
        if (needed > 0) {
          entry["valid_shares"] = valid;
          entry["threshold"] = needed;
        }
      } else {
        c.install_recovery_edge(n.from_user(),
                                body.is_object() ? body.value("recovery_key", std::int64_t{0}) : 0);
      }
    }
    c.acknowledge(n.notification_id());
    j.push_back(entry);
    if (!quiet) {
      std::cout << n.kind() << " from " << n.from_user() << ": "
                << (consent ? "approved" : "refused");
      if (entry.contains("short_code")) {
        std::cout << " (new device code " << entry["short_code"].get<std::string>() << ")";
      }
      if (entry.contains("threshold")) {
        std::cout << "; shares returned, " << entry["valid_shares"].get<int>() << " of "
                  << entry["threshold"].get<int>() << " valid so far";
      }
      std::cout << "\n";
    }
    return true;
  }
  if (n.kind() == "recovered") {
    const auto body = json::parse(n.body(), nullptr, false);
    const std::string who = body.is_object() ? body.value("user", "") : "";
    if (who != n.from_user()) return true;  // the service names the sender itself
    // Paper 4.5: the share keys move to the new primary automatically once its
    // certificate checks out (--no keeps them where they are).
    std::string number;
    bool follow = false;
    try {
      number = c.safety_number_of(who);
      follow = !answer_no;
    } catch (const ClientError& e) {
      if (!quiet) std::cout << "not following " << who << ": " << e.what() << "\n";
    }
    json entry = {{"recovered", who}, {"fingerprint", number}, {"followed", follow}};
    if (follow) entry["shares_moved"] = c.follow_recovery(who);
    c.acknowledge(n.notification_id());
    j.push_back(entry);
    if (!quiet && follow) {
      std::cout << "moved the shares to " << who << "'s new primary (safety number " << number
                << ")\n";
    }
    return true;
  }
  if (n.kind() == "pairing-request") {
    const auto body = json::parse(n.body(), nullptr, false);
    if (!body.is_object() || !body.contains("pairing_code")) return true;
    const std::string pairing = body.value("pairing_code", "");
    const std::string short_code = Client::short_code(pairing);
    bool approve = answer_yes;
    if (!answer_yes && !answer_no) {
      std::cout << "A new device \"" << body.value("device_name", "?")
                << "\" asks to join this account. It must show the short code " << short_code
                << ". Approve? [y/N] " << std::flush;
      std::string answer;
      std::getline(std::cin, answer);
      approve = answer == "y" || answer == "Y" || answer == "yes";
    }
    json entry = {{"pairing_request", n.notification_id()},
                  {"short_code", short_code},
                  {"approved", approve}};
    if (approve) {
      // Also answers the request.
      entry["device_id"] = c.approve(pairing, body.value("device_name", "paired device"));
    } else {
      c.acknowledge(n.notification_id());
    }
    j.push_back(entry);
    if (!quiet) std::cout << (approve ? "approved" : "refused") << " the new device\n";
    return true;
  }
  if (n.kind() != "access-request") return true;
  const auto body = json::parse(n.body(), nullptr, false);
  const std::string item = body.is_object() ? body.value("item", "") : "";
  // Show who asks: identifier and the fingerprint of the key access would go to (with a
  // CA, the safety number of a key whose chain verified; an untrusted key is refused).
  std::string fingerprint, untrusted;
  if (c.certified()) {
    try {
      fingerprint = c.safety_number_of(n.from_user());
    } catch (const ClientError& e) {
      untrusted = e.what();
    }
  } else {
    for (const auto& d : c.devices(n.from_user())) {
      if (d.primary()) fingerprint = Client::short_code(d.encryption_key_fingerprint());
    }
  }
  if (!untrusted.empty()) {
    c.acknowledge(n.notification_id());
    j.push_back({{"request", n.notification_id()},
                 {"from_user", n.from_user()},
                 {"item", item},
                 {"granted", false},
                 {"refused_because", untrusted}});
    if (!quiet) std::cout << "refused " << n.from_user() << ": " << untrusted << "\n";
    return true;
  }
  bool grant = answer_yes;
  if (!answer_yes && !answer_no) {
    std::cout << n.from_user() << " (" << (c.certified() ? "safety number " : "key ") << fingerprint
              << ") asks for " << (item.empty() ? "everything" : item) << ". Grant? [y/N] "
              << std::flush;
    std::string answer;
    std::getline(std::cin, answer);
    grant = answer == "y" || answer == "Y" || answer == "yes";
  }
  json entry = {{"request", n.notification_id()},
                {"from_user", n.from_user()},
                {"item", item},
                {"fingerprint", fingerprint},
                {"granted", grant}};
  if (grant) {
    hopbox::SharePolicyArgs p;
    if (!item.empty()) p.items = {item};
    entry["share_id"] = c.share(n.from_user(), p);
  }
  c.acknowledge(n.notification_id());
  j.push_back(entry);
  if (!quiet) {
    std::cout << (grant ? "granted " : "refused ") << n.from_user() << "\n";
  }
  return true;
}

}  // namespace hopbox
