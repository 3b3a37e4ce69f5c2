// What an attacker against the CA's clients works with, for the attack tests: a device
// enrolled at a real hopbox-ca (its keys in the attacker's hands), the CA's signing key as
// stored in its data directory (to sign lists the CA really could have signed), and a real
// TLS gRPC server on loopback standing at the CA's address, presenting any certificate chain
// and serving any revocation list.
#pragma once

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "certs/certificate.h"
#include "certs/requests.h"
#include "hopbox/testing/process.h"
#include "hopbox/v1/ca.grpc.pb.h"
#include "mupre/keys.h"
#include "test_ca.h"

namespace hopbox_ca::test {

using Bytes = hopbox::certs::Bytes;

inline std::shared_ptr<EVP_PKEY> new_p256_key() {
  return {EVP_EC_gen("P-256"), EVP_PKEY_free};
}

inline hopbox::certs::Signer signer_of(std::shared_ptr<EVP_PKEY> key) {
  return [key](std::span<const std::uint8_t> m) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    std::size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get());
    EVP_DigestSign(ctx, nullptr, &len, m.data(), m.size());
    Bytes sig(len);
    EVP_DigestSign(ctx, sig.data(), &len, m.data(), m.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return sig;
  };
}

inline Bytes spki_of(EVP_PKEY* key) {
  unsigned char* out = nullptr;
  const int n = i2d_PUBKEY(key, &out);
  Bytes b(out, out + n);
  OPENSSL_free(out);
  return b;
}

inline std::string private_pem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(n));
  BIO_free(bio);
  return pem;
}

// The CA's root signing key, read from its data directory (a file key: no token).
inline hopbox::certs::Signer ca_root_signer(const TestCa& ca) {
  const std::string pem = hopbox::testing::read_all(fs::path(ca.data()) / "ca-key.pem");
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  std::shared_ptr<EVP_PKEY> key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr),
                                EVP_PKEY_free);
  BIO_free(bio);
  if (!key) throw std::runtime_error("cannot read the CA's key");
  return signer_of(key);
}

// A device enrolled at `ca` as `identifier` (a primary, certified directly under the root).
struct EnrolledDevice {
  std::shared_ptr<EVP_PKEY> key = new_p256_key();
  Bytes encryption_key;
  Bytes certificate;

  EnrolledDevice(const TestCa& ca, const std::string& identifier) {
    const auto pk = mupre::SecretKey::generate().public_key().encode();
    encryption_key.assign(pk.begin(), pk.end());
    const Bytes spki = spki_of(key.get());
    const Bytes proof =
        signer_of(key)(hopbox::certs::enrollment_proof_message(identifier, encryption_key));
    hopbox::v1::EnrollRequest req;
    req.set_identifier(identifier);
    req.set_enrollment_code(ca.invite(identifier));
    req.set_signing_key(std::string(spki.begin(), spki.end()));
    req.set_encryption_key(std::string(encryption_key.begin(), encryption_key.end()));
    req.set_proof(std::string(proof.begin(), proof.end()));
    hopbox::v1::EnrollResponse resp;
    grpc::ClientContext ctx;
    const grpc::Status s = ca.stub()->Enroll(&ctx, req, &resp);
    if (!s.ok()) throw std::runtime_error("enrollment failed: " + s.error_message());
    certificate.assign(resp.certificate().begin(), resp.certificate().end());
  }
  Bytes signing_key() const { return spki_of(key.get()); }
};

// The CA's current signed revocation list, as any client fetches it.
inline Bytes fetch_revocation_list(const TestCa& ca) {
  grpc::ClientContext ctx;
  hopbox::v1::GetRevocationListResponse resp;
  const grpc::Status s =
      ca.stub()->GetRevocationList(&ctx, hopbox::v1::GetRevocationListRequest(), &resp);
  if (!s.ok()) throw std::runtime_error("no revocation list: " + s.error_message());
  return Bytes(resp.revocation_list().begin(), resp.revocation_list().end());
}

// A TLS server at a loopback address of its own, answering as the CA would.
class FakeCa final : public hopbox::v1::CertificateAuthority::Service {
 public:
  // chain_pem: the certificate presented, then its issuers.
  FakeCa(const std::string& key_pem, const std::string& chain_pem) {
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({key_pem, chain_pem});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(ssl), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    if (!server_ || port_ == 0) throw std::runtime_error("fake CA: cannot listen");
  }
  ~FakeCa() override { server_->Shutdown(); }

  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void serve_revocation_list(const Bytes& list) {
    std::lock_guard lock(mu_);
    list_.assign(list.begin(), list.end());
  }
  // Calls that got through TLS to this server.
  int calls() const { return calls_.load(); }

  grpc::Status GetRevocationList(grpc::ServerContext*, const hopbox::v1::GetRevocationListRequest*,
                                 hopbox::v1::GetRevocationListResponse* resp) override {
    ++calls_;
    std::lock_guard lock(mu_);
    resp->set_revocation_list(list_);
    return grpc::Status::OK;
  }
  grpc::Status Enroll(grpc::ServerContext*, const hopbox::v1::EnrollRequest*,
                      hopbox::v1::EnrollResponse*) override {
    ++calls_;
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "fake CA");
  }

 private:
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::atomic<int> calls_{0};
  std::mutex mu_;
  std::string list_;
};

}  // namespace hopbox_ca::test
