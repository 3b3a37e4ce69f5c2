#include "identifier.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/uspoof.h>

#include <vector>

namespace hopbox_ca {

namespace {

constexpr int kMaxCodePoints = 64;

bool allowed(UChar32 c) {
  const auto cat = static_cast<UCharCategory>(u_charType(c));
  switch (cat) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_DECIMAL_DIGIT_NUMBER:
      return true;
    default:
      return c == '.' || c == '_' || c == '-' || c == '@' || c == '+';
  }
}

}  // namespace

struct IdentifierPolicy::Impl {
  const icu::Normalizer2* nfkc_cf = nullptr;
  USpoofChecker* checker = nullptr;
  ~Impl() { uspoof_close(checker); }
};

IdentifierPolicy::IdentifierPolicy() : impl_(std::make_unique<Impl>()) {
  UErrorCode status = U_ZERO_ERROR;
  impl_->nfkc_cf = icu::Normalizer2::getNFKCCasefoldInstance(status);
  impl_->checker = uspoof_open(&status);
  if (U_SUCCESS(status)) {
    uspoof_setRestrictionLevel(impl_->checker, USPOOF_SINGLE_SCRIPT_RESTRICTIVE);
    uspoof_setChecks(impl_->checker,
                     USPOOF_RESTRICTION_LEVEL | USPOOF_INVISIBLE | USPOOF_MIXED_NUMBERS, &status);
  }
  if (U_FAILURE(status)) {
    throw std::runtime_error(std::string("ICU is not usable: ") + u_errorName(status));
  }
}

IdentifierPolicy::~IdentifierPolicy() = default;

std::string IdentifierPolicy::normalize(const std::string& raw) const {
  if (raw.empty() || raw.size() > 4 * kMaxCodePoints) {
    throw IdentifierRefused("an identifier has 1 to 64 characters");
  }
  UErrorCode status = U_ZERO_ERROR;
  const icu::UnicodeString in = icu::UnicodeString::fromUTF8(raw);
  if (in.indexOf(static_cast<char16_t>(0xFFFD)) >= 0) {
    throw IdentifierRefused("the identifier is not valid UTF-8");
  }
  const icu::UnicodeString folded = impl_->nfkc_cf->normalize(in, status);
  if (U_FAILURE(status)) throw IdentifierRefused("the identifier cannot be normalized");
  const int n = folded.countChar32();
  if (n == 0 || n > kMaxCodePoints) throw IdentifierRefused("an identifier has 1 to 64 characters");
  for (int i = 0; i < folded.length(); i = folded.moveIndex32(i, 1)) {
    if (!allowed(folded.char32At(i))) {
      throw IdentifierRefused(
          "an identifier may hold only letters, digits and . _ - @ + (no spaces or symbols)");
    }
  }
  std::string out;
  folded.toUTF8String(out);
  const std::int32_t failed = uspoof_checkUTF8(
      impl_->checker, out.data(), static_cast<std::int32_t>(out.size()), nullptr, &status);
  if (U_FAILURE(status)) throw IdentifierRefused("the identifier cannot be checked");
  if ((failed & USPOOF_RESTRICTION_LEVEL) != 0) {
    throw IdentifierRefused("the identifier mixes writing systems (scripts); use one");
  }
  if ((failed & USPOOF_MIXED_NUMBERS) != 0) {
    throw IdentifierRefused("the identifier mixes digits of different numbering systems");
  }
  if (failed != 0) throw IdentifierRefused("the identifier contains invisible characters");
  return out;
}

std::string IdentifierPolicy::skeleton(const std::string& normalized) const {
  UErrorCode status = U_ZERO_ERROR;
  std::vector<char> buf(normalized.size() * 4 + 16);
  std::int32_t n = uspoof_getSkeletonUTF8(impl_->checker, 0, normalized.data(),
                                          static_cast<std::int32_t>(normalized.size()), buf.data(),
                                          static_cast<std::int32_t>(buf.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    buf.resize(static_cast<std::size_t>(n) + 1);
    n = uspoof_getSkeletonUTF8(impl_->checker, 0, normalized.data(),
                               static_cast<std::int32_t>(normalized.size()), buf.data(),
                               static_cast<std::int32_t>(buf.size()), &status);
  }
  if (U_FAILURE(status)) throw IdentifierRefused("the identifier cannot be checked");
  return std::string(buf.data(), static_cast<std::size_t>(n));
}

}  // namespace hopbox_ca
