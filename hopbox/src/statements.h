// What a primary (or a device sharing from its own key) signs about the account's set-up, so
// that a recovery remakes only what the user decided and not what the cloud lists
// (docs/formats.md, "Re-key statement" and "Recovery R3").
#ifndef HOPBOX_CLIENT_STATEMENTS_H_
#define HOPBOX_CLIENT_STATEMENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "hopbox/v1/hopbox.pb.h"

namespace hopbox::statements {

using Bytes = std::vector<std::uint8_t>;

// The R3 set-up of `user`: everything in it but the signature, so that the cloud can change
// neither t nor the users nor their material.
Bytes threshold_message(const std::string& user, const hopbox::v1::ThresholdRecovery& setup);

// A share or recovery edge of `owner`'s account as ListReKeys shows it: its kind, the user it
// leads to, its source key, its policy and, for a recovery edge, the exact recovery key (a
// share follows its recipient's primary, which their own recovery may replace).
Bytes rekey_message(const std::string& owner, const hopbox::v1::ReKeyInfo& edge);

}  // namespace hopbox::statements

#endif  // HOPBOX_CLIENT_STATEMENTS_H_
