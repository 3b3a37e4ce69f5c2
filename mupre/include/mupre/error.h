// Errors of the mupre scheme layer, and Result<T>: a value or the reason there is none.
#pragma once

#include <optional>
#include <utility>

namespace mupre {

enum class Error : int {
  kOk = 0,
  kMalformed,          // wrong length, truncated, trailing bytes, field out of range
  kUnknownFormat,      // the format byte names another object (or an unknown one)
  kUnknownScheme,      // the scheme id is not one this library implements
  kBadElement,         // a point or GT element is not canonical, on the curve, in the subgroup
  kLevelOutOfRange,    // ciphertext level outside 1..kMaxLevel
  kWrongHolder,        // the key does not belong to the holder of the ciphertext's open block
  kInvalidCiphertext,  // authentication failed: tampered, truncated, or not meant for this key
  kKeyUnavailable,     // the SecretKeySource could not provide its key
  kBadShare,           // a share does not match the published commitments
  kNotEnoughShares,    // fewer distinct shares than the threshold
  kInvalidArgument,    // the caller passed values outside the documented range
  kIo,                 // reading or writing a stream failed
};

// A short English description, for logs and error messages (never contains secrets).
const char* error_message(Error e);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Error error) : error_(error == Error::kOk ? Error::kInvalidArgument : error) {}  // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  Error error() const { return error_; }

  // REQUIRES: ok().
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Error error_ = Error::kOk;
};

}  // namespace mupre
