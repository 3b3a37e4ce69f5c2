#include "recertification_ticket.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <memory>
#include <stdexcept>
#include <string_view>

namespace hopbox_ca {

namespace {

// nonce (12) || expires_at (8, big endian) || sealed answer (32) || tag (16)
constexpr std::size_t kNonce = 12, kTime = 8, kAnswer = 32, kTag = 16;
constexpr std::size_t kTicket = kNonce + kTime + kAnswer + kTag;

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

void put_digest(Bytes& out, const Bytes& b) {
  std::uint8_t h[SHA256_DIGEST_LENGTH];
  SHA256(b.data(), b.size(), h);
  out.insert(out.end(), h, h + sizeof h);
}

// What the ticket is bound to: every field the requester names again when it answers.
Bytes associated_data(const RecertificationTickets::Subject& subject,
                      std::span<const std::uint8_t> expires_at) {
  constexpr std::string_view kLabel = "hopbox v1 recertification ticket";
  Bytes ad(kLabel.begin(), kLabel.end());
  ad.push_back(0);
  ad.insert(ad.end(), subject.identifier.begin(), subject.identifier.end());
  ad.push_back(0);
  put_digest(ad, subject.certificate_fingerprint);
  put_digest(ad, subject.signing_key);
  put_digest(ad, subject.encryption_key);
  ad.insert(ad.end(), expires_at.begin(), expires_at.end());
  return ad;
}

// AES-256-GCM one way or the other; false if the tag does not verify.
bool gcm(bool seal, const std::uint8_t* key, std::span<const std::uint8_t> nonce, const Bytes& ad,
         std::span<const std::uint8_t> in, std::uint8_t* out, std::uint8_t* tag) {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_free);
  if (!ctx) throw std::bad_alloc();
  int len = 0;
  const int enc = seal ? 1 : 0;
  if (EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key, nonce.data(), enc) != 1 ||
      EVP_CipherUpdate(ctx.get(), nullptr, &len, ad.data(), static_cast<int>(ad.size())) != 1 ||
      EVP_CipherUpdate(ctx.get(), out, &len, in.data(), static_cast<int>(in.size())) != 1) {
    throw std::runtime_error("AES-GCM failed");
  }
  if (!seal && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag) != 1) {
    throw std::runtime_error("AES-GCM failed");
  }
  if (EVP_CipherFinal_ex(ctx.get(), out + len, &len) != 1) return false;
  if (seal && EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag) != 1) {
    throw std::runtime_error("AES-GCM failed");
  }
  return true;
}

}  // namespace

RecertificationTickets::RecertificationTickets() {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    throw std::runtime_error("no randomness for the re-certification tickets");
  }
}

RecertificationTickets::~RecertificationTickets() {
  OPENSSL_cleanse(key_.data(), key_.size());
}

Bytes RecertificationTickets::seal(const Subject& subject, const Bytes& answer,
                                   std::int64_t expires_at) const {
  if (answer.size() != kAnswer) throw std::invalid_argument("an answer is 32 bytes");
  Bytes ticket(kTicket);
  if (RAND_bytes(ticket.data(), kNonce) != 1) throw std::runtime_error("no randomness");
  for (std::size_t i = 0; i < kTime; ++i) {
    ticket[kNonce + i] =
        static_cast<std::uint8_t>(static_cast<std::uint64_t>(expires_at) >> (8 * (kTime - 1 - i)));
  }
  const auto time = std::span(ticket).subspan(kNonce, kTime);
  gcm(true, key_.data(), std::span(ticket).first(kNonce), associated_data(subject, time), answer,
      ticket.data() + kNonce + kTime, ticket.data() + kNonce + kTime + kAnswer);
  return ticket;
}

std::optional<RecertificationTickets::Opened> RecertificationTickets::open(
    std::span<const std::uint8_t> ticket, const Subject& subject, std::int64_t now) const {
  if (ticket.size() != kTicket) return std::nullopt;
  std::uint64_t expires_at = 0;
  for (std::size_t i = 0; i < kTime; ++i) expires_at = (expires_at << 8) | ticket[kNonce + i];
  Bytes answer(kAnswer);
  Bytes tag(ticket.begin() + kNonce + kTime + kAnswer, ticket.end());
  const bool authentic = gcm(false, key_.data(), ticket.first(kNonce),
                             associated_data(subject, ticket.subspan(kNonce, kTime)),
                             ticket.subspan(kNonce + kTime, kAnswer), answer.data(), tag.data());
  if (!authentic || static_cast<std::int64_t>(expires_at) < now) return std::nullopt;
  return Opened{std::move(answer), static_cast<std::int64_t>(expires_at)};
}

}  // namespace hopbox_ca
