// The CA's re-certification challenge, kept by the requester instead of the CA: a ticket
// sealed under a key that lives only in this process. Nothing is stored before a requester
// proves it can open the capsule, so strangers asking for challenges fill no place that a
// genuine recovery needs (issue 12). A restarted CA refuses older tickets: begin again.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "ca_store.h"

namespace hopbox_ca {

class RecertificationTickets {
 public:
  RecertificationTickets();  // a fresh random key
  ~RecertificationTickets();
  RecertificationTickets(const RecertificationTickets&) = delete;
  RecertificationTickets& operator=(const RecertificationTickets&) = delete;

  // What a ticket is for: the identifier, the primary certificate whose key the capsule was
  // made for (an answer counts only while it is current), and the new device's keys.
  struct Subject {
    const std::string& identifier;
    const Bytes& certificate_fingerprint;
    const Bytes& signing_key;
    const Bytes& encryption_key;
  };
  // Seals the expected answer for this subject, until expires_at (unix milliseconds).
  Bytes seal(const Subject& subject, const Bytes& answer, std::int64_t expires_at) const;
  struct Opened {
    Bytes answer;
    std::int64_t expires_at = 0;
  };
  // The expected answer, if `ticket` was sealed here for the same subject and has not expired
  // at `now` (unix milliseconds).
  std::optional<Opened> open(std::span<const std::uint8_t> ticket, const Subject& subject,
                             std::int64_t now) const;

 private:
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace hopbox_ca
