// What `hopbox watch` does with each notification in this device's inbox: shows who asks and
// what (identifier, safety number or short code), asks the user unless told the answer, acts
// (pairing, access, recovery set-up, recovery requests, following a user's recovery) and
// acknowledges it.
#pragma once

#include <nlohmann/json.hpp>

#include "client.h"

namespace hopbox {

// Appends what was done to `done` (for --json); quiet: print nothing. Always true: keep
// watching.
bool answer_notification(Client& c, const hopbox::v1::Notification& n, bool answer_yes,
                         bool answer_no, bool quiet, nlohmann::json& done);

// Once per `hopbox watch`: R1 requests for this account waiting at the CA (with a CA only).
// A thief holding a secondary may have gone to the CA without the service; each is shown as a
// WARNING and appended to `done` as {"kind": "ca-recovery-started", "not_before": ...}.
void warn_ca_recoveries(Client& c, bool quiet, nlohmann::json& done);

}  // namespace hopbox
