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

  // Seals the expected answer for this identifier and these very keys, until expires_at.
  Bytes seal(const std::string& identifier, const Bytes& signing_key, const Bytes& encryption_key,
             const Bytes& answer, std::int64_t expires_at) const;
  // The expected answer, if `ticket` was sealed here for the same identifier and keys and has
  // not expired at `now`.
  std::optional<Bytes> open(std::span<const std::uint8_t> ticket, const std::string& identifier,
                            const Bytes& signing_key, const Bytes& encryption_key,
                            std::int64_t now) const;

 private:
  std::array<std::uint8_t, 32> key_{};
};

}  // namespace hopbox_ca
