// Identifier hygiene (DESIGN.md, "Certificates"): one spelling per user, and no new identifier
// that a person could mistake for an existing one.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>

namespace hopbox_ca {

// The identifier cannot be used; the message is safe to show to the requester.
class IdentifierRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class IdentifierPolicy {
 public:
  IdentifierPolicy();  // throws std::runtime_error if ICU's data is missing
  ~IdentifierPolicy();
  IdentifierPolicy(const IdentifierPolicy&) = delete;
  IdentifierPolicy& operator=(const IdentifierPolicy&) = delete;

  // NFKC with case folding, then the checks: 1..64 code points of letters, marks, digits and
  // . _ - @ +; one script (plus common characters); no invisible characters; digits of one
  // numbering system. Throws IdentifierRefused.
  std::string normalize(const std::string& raw) const;
  // ICU's confusable skeleton (UTS #39) of a normalized identifier: two identifiers a reader
  // could mistake for each other have the same skeleton ("rn" and "m", Cyrillic "а" and "a").
  std::string skeleton(const std::string& normalized) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hopbox_ca
