#include "statements.h"

#include <iterator>
#include <string_view>

namespace hopbox::statements {

namespace v1 = hopbox::v1;

namespace {

// A label and its NUL, then fields as a 4-byte big-endian length and the bytes.
class Message {
 public:
  template <std::size_t N>
  explicit Message(const char (&label)[N]) : m_(label, label + N) {}  // with its NUL
  Message& field(std::string_view v) {
    const auto n = static_cast<std::uint32_t>(v.size());
    const std::uint8_t length[4] = {
        static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
        static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
    m_.insert(m_.end(), std::begin(length), std::end(length));
    m_.insert(m_.end(), v.begin(), v.end());
    return *this;
  }
  Message& number(std::int64_t v) { return field(std::to_string(v)); }
  Bytes take() { return std::move(m_); }

 private:
  Bytes m_;
};

}  // namespace

Bytes threshold_message(const std::string& user, const v1::ThresholdRecovery& setup) {
  Message m("hopbox v1 R3 set-up");
  m.field(user).number(setup.threshold());
  for (const auto& p : setup.protectors()) {
    m.field(p.user()).number(p.recovery_key_device()).field(p.sealed_rekey());
    m.field(p.commitments()).field(p.shares_capsule()).field(p.shares_sealed());
  }
  return m.take();
}

Bytes rekey_message(const std::string& owner, const v1::ReKeyInfo& edge) {
  Message m("hopbox v1 re-key statement");
  m.field(owner).number(edge.kind()).field(edge.to_user()).field(edge.from_fingerprint());
  m.field(edge.kind() == v1::REKEY_KIND_RECOVERY ? edge.to_fingerprint() : std::string());
  const v1::AccessPolicy& p = edge.policy();
  m.number(p.scope()).field(p.folder()).number(p.item_ids_size());
  for (const auto& id : p.item_ids()) m.field(id);
  m.number(p.expires_at());
  return m.take();
}

}  // namespace hopbox::statements
