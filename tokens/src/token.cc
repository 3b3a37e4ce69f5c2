#include "token.h"

#include <dlfcn.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
// p11-kit spells the PKCS#11 types in lower case when CRYPTOKI_GNU is defined.
#define CRYPTOKI_GNU 1
#include <p11-kit/pkcs11.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <map>

namespace hopbox {

namespace {

// DER of the named curve prime256v1 (CKA_EC_PARAMS), and the SubjectPublicKeyInfo prefix of
// a P-256 key, which is followed by the 65-byte uncompressed point.
constexpr std::uint8_t kP256Params[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
constexpr std::uint8_t kP256SpkiPrefix[] = {0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48,
                                            0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
                                            0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};
constexpr std::size_t kGcmIv = 12, kGcmTag = 16;

void check(ck_rv_t rv, const char* what) {
  if (rv != CKR_OK) throw TokenError(what, rv);
}

// A loaded module, shared by every Token of the process that uses the same path (a module
// is initialized once per process).
struct Module {
  void* handle = nullptr;
  ck_function_list* fl = nullptr;
  int users = 0;
};
std::mutex g_modules_mu;
std::map<std::string, Module> g_modules;

ck_function_list* acquire_module(const std::string& path) {
  std::lock_guard lock(g_modules_mu);
  Module& m = g_modules[path];
  if (m.users == 0) {
    m.handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (m.handle == nullptr)
      throw TokenError("cannot load PKCS#11 module " + path, CKR_GENERAL_ERROR);
    auto get =
        reinterpret_cast<ck_rv_t (*)(ck_function_list**)>(dlsym(m.handle, "C_GetFunctionList"));
    if (get == nullptr) {
      dlclose(m.handle);
      throw TokenError(path + " is not a PKCS#11 module", CKR_GENERAL_ERROR);
    }
    check(get(&m.fl), "C_GetFunctionList");
    ck_c_initialize_args args{};
    args.flags = CKF_OS_LOCKING_OK;
    const ck_rv_t rv = m.fl->C_Initialize(&args);
    if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
      dlclose(m.handle);
      throw TokenError("C_Initialize", rv);
    }
  }
  ++m.users;
  return m.fl;
}

void release_module(const std::string& path) {
  std::lock_guard lock(g_modules_mu);
  Module& m = g_modules[path];
  if (--m.users == 0) {
    m.fl->C_Finalize(nullptr);
    dlclose(m.handle);
    g_modules.erase(path);
  }
}

std::string trim_label(const unsigned char (&label)[32]) {
  std::string s(reinterpret_cast<const char*>(label), 32);
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

ck_attribute attr(ck_attribute_type_t type, const void* value, unsigned long len) {
  return ck_attribute{type, const_cast<void*>(value), len};
}

}  // namespace

TokenError::TokenError(const std::string& what, unsigned long rv)
    : std::runtime_error(what + " failed (CK_RV 0x" +
                         [rv] {
                           char buf[32];
                           std::snprintf(buf, sizeof buf, "%lx", rv);
                           return std::string(buf);
                         }() +
                         ")"),
      rv_(rv) {}

TokenError TokenError::plain(const std::string& message, unsigned long rv) {
  return TokenError(rv, message);
}

struct Token::Impl {
  std::string module_path;
  ck_function_list* fl = nullptr;
  ck_session_handle_t session = 0;
  std::mutex mu;  // a PKCS#11 session runs one operation at a time

  // The object of this class with this label; 0 when absent.
  ck_object_handle_t find(ck_object_class_t cls, const std::string& label) {
    ck_attribute tmpl[] = {attr(CKA_CLASS, &cls, sizeof cls),
                           attr(CKA_LABEL, label.data(), label.size())};
    check(fl->C_FindObjectsInit(session, tmpl, 2), "C_FindObjectsInit");
    ck_object_handle_t obj = 0;
    unsigned long n = 0;
    const ck_rv_t rv = fl->C_FindObjects(session, &obj, 1, &n);
    fl->C_FindObjectsFinal(session);
    check(rv, "C_FindObjects");
    return n == 1 ? obj : 0;
  }
  ck_object_handle_t need(ck_object_class_t cls, const std::string& label) {
    const ck_object_handle_t h = find(cls, label);
    if (h == 0) throw TokenError("no key " + label + " in the token", CKR_KEY_HANDLE_INVALID);
    return h;
  }
};

Token::Token(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Token::~Token() {
  impl_->fl->C_Logout(impl_->session);
  impl_->fl->C_CloseSession(impl_->session);
  release_module(impl_->module_path);
}

namespace {

// The module's slots with a token, and each token's information.
std::vector<std::pair<ck_slot_id_t, ck_token_info>> tokens_of(ck_function_list* fl) {
  unsigned long count = 0;
  check(fl->C_GetSlotList(1, nullptr, &count), "C_GetSlotList");
  std::vector<ck_slot_id_t> slots(count);
  check(fl->C_GetSlotList(1, slots.data(), &count), "C_GetSlotList");
  std::vector<std::pair<ck_slot_id_t, ck_token_info>> out;
  for (std::size_t i = 0; i < count; ++i) {
    ck_token_info info{};
    if (fl->C_GetTokenInfo(slots[i], &info) == CKR_OK) out.emplace_back(slots[i], info);
  }
  return out;
}

unsigned char* pin_bytes(const std::string& pin) {
  return reinterpret_cast<unsigned char*>(const_cast<char*>(pin.data()));
}

}  // namespace

bool Token::exists(const std::string& module_path, const std::string& label) {
  ck_function_list* fl = acquire_module(module_path);
  bool found = false;
  try {
    for (const auto& [slot, info] : tokens_of(fl)) {
      if ((info.flags & CKF_TOKEN_INITIALIZED) != 0 && trim_label(info.label) == label) {
        found = true;
      }
    }
  } catch (...) {
    release_module(module_path);
    throw;
  }
  release_module(module_path);
  return found;
}

void Token::initialize(const std::string& module_path, const std::string& label,
                       const std::string& so_pin, const std::string& pin) {
  if (label.empty() || label.size() > 32) {
    throw TokenError("a token label has 1 to 32 characters", CKR_ARGUMENTS_BAD);
  }
  ck_function_list* fl = acquire_module(module_path);
  try {
    std::optional<ck_slot_id_t> free_slot;
    for (const auto& [slot, info] : tokens_of(fl)) {
      if ((info.flags & CKF_TOKEN_INITIALIZED) == 0) {
        free_slot = slot;
        break;
      }
    }
    if (!free_slot) {
      throw TokenError("no free token in " + module_path + " to initialize", CKR_TOKEN_NOT_PRESENT);
    }
    unsigned char padded[32];
    std::memset(padded, ' ', sizeof padded);
    std::memcpy(padded, label.data(), label.size());
    check(fl->C_InitToken(*free_slot, pin_bytes(so_pin), so_pin.size(), padded), "C_InitToken");
    // SoftHSM2 gives the initialized token a new slot: found again by its label.
    std::optional<ck_slot_id_t> slot;
    for (const auto& [s, info] : tokens_of(fl)) {
      if ((info.flags & CKF_TOKEN_INITIALIZED) != 0 && trim_label(info.label) == label) slot = s;
    }
    if (!slot) throw TokenError("the token " + label + " vanished", CKR_TOKEN_NOT_PRESENT);
    ck_session_handle_t session = 0;
    check(fl->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr, &session),
          "C_OpenSession");
    const ck_rv_t login = fl->C_Login(session, CKU_SO, pin_bytes(so_pin), so_pin.size());
    ck_rv_t rv = login;
    if (login == CKR_OK) {
      rv = fl->C_InitPIN(session, pin_bytes(pin), pin.size());
      fl->C_Logout(session);
    }
    fl->C_CloseSession(session);
    check(login, "C_Login (security officer)");
    check(rv, "C_InitPIN");
  } catch (...) {
    release_module(module_path);
    throw;
  }
  release_module(module_path);
}

std::unique_ptr<Token> Token::open(const std::string& module_path, const std::string& label,
                                   const std::string& pin) {
  // libsodium's locked allocations (unseal) need it initialized.
  if (sodium_init() < 0) throw TokenError("libsodium unavailable", CKR_GENERAL_ERROR);
  auto impl = std::make_unique<Impl>();
  impl->module_path = module_path;
  impl->fl = acquire_module(module_path);
  try {
    unsigned long count = 0;
    check(impl->fl->C_GetSlotList(1, nullptr, &count), "C_GetSlotList");
    std::vector<ck_slot_id_t> slots(count);
    check(impl->fl->C_GetSlotList(1, slots.data(), &count), "C_GetSlotList");
    std::optional<ck_slot_id_t> slot;
    for (const ck_slot_id_t s : slots) {
      ck_token_info info{};
      if (impl->fl->C_GetTokenInfo(s, &info) == CKR_OK && trim_label(info.label) == label) {
        slot = s;
        break;
      }
    }
    if (!slot) throw TokenError("no token labelled \"" + label + "\"", CKR_TOKEN_NOT_PRESENT);
    check(impl->fl->C_OpenSession(*slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, nullptr, nullptr,
                                  &impl->session),
          "C_OpenSession");
    const ck_rv_t rv = impl->fl->C_Login(
        impl->session, CKU_USER, reinterpret_cast<unsigned char*>(const_cast<char*>(pin.data())),
        pin.size());
    if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
      impl->fl->C_CloseSession(impl->session);
      if (rv == CKR_PIN_INCORRECT || rv == CKR_PIN_LOCKED) {
        // PKCS#11 gives no count, only these flags (read after the failed try).
        ck_token_info info{};
        const bool known = impl->fl->C_GetTokenInfo(*slot, &info) == CKR_OK;
        std::string m = rv == CKR_PIN_LOCKED ? "the PIN of token \"" + label + "\" is locked"
                                             : "wrong PIN for token \"" + label + "\"";
        if (rv == CKR_PIN_LOCKED || (known && (info.flags & CKF_USER_PIN_LOCKED) != 0)) {
          if (rv != CKR_PIN_LOCKED) m += ": the token is now locked";
          m += " (its security officer can unlock it, e.g. softhsm2-util or the vendor's tool)";
        } else if (known && (info.flags & CKF_USER_PIN_FINAL_TRY) != 0) {
          m += ": one try left before the token locks";
        } else if (known && (info.flags & CKF_USER_PIN_COUNT_LOW) != 0) {
          m += ": few tries left before the token locks";
        }
        throw TokenError::plain(m, rv);
      }
      throw TokenError("C_Login", rv);
    }
  } catch (...) {
    release_module(module_path);
    throw;
  }
  return std::unique_ptr<Token>(new Token(std::move(impl)));
}

void Token::generate_device_keys(const std::string& key_label) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const std::string seal_label = key_label + "/seal", sign_label = key_label + "/sign";
  if (t.find(CKO_SECRET_KEY, seal_label) != 0 || t.find(CKO_PRIVATE_KEY, sign_label) != 0) {
    throw TokenError("keys " + key_label + " exist already", CKR_GENERAL_ERROR);
  }
  const unsigned char yes = 1, no = 0;  // CK_BBOOL
  const ck_object_class_t secret = CKO_SECRET_KEY;
  const ck_key_type_t aes = CKK_AES;
  const unsigned long len = 32;
  ck_attribute aes_tmpl[] = {attr(CKA_CLASS, &secret, sizeof secret),
                             attr(CKA_KEY_TYPE, &aes, sizeof aes),
                             attr(CKA_VALUE_LEN, &len, sizeof len),
                             attr(CKA_TOKEN, &yes, sizeof yes),
                             attr(CKA_PRIVATE, &yes, sizeof yes),
                             attr(CKA_SENSITIVE, &yes, sizeof yes),
                             attr(CKA_EXTRACTABLE, &no, sizeof no),
                             attr(CKA_ENCRYPT, &yes, sizeof yes),
                             attr(CKA_DECRYPT, &yes, sizeof yes),
                             attr(CKA_WRAP, &no, sizeof no),
                             attr(CKA_UNWRAP, &no, sizeof no),
                             attr(CKA_LABEL, seal_label.data(), seal_label.size())};
  ck_mechanism gen{CKM_AES_KEY_GEN, nullptr, 0};
  ck_object_handle_t aes_key = 0;
  check(t.fl->C_GenerateKey(t.session, &gen, aes_tmpl, std::size(aes_tmpl), &aes_key),
        "C_GenerateKey (AES)");

  ck_attribute pub_tmpl[] = {attr(CKA_TOKEN, &yes, sizeof yes), attr(CKA_VERIFY, &yes, sizeof yes),
                             attr(CKA_EC_PARAMS, kP256Params, sizeof kP256Params),
                             attr(CKA_LABEL, sign_label.data(), sign_label.size())};
  ck_attribute priv_tmpl[] = {
      attr(CKA_TOKEN, &yes, sizeof yes),     attr(CKA_PRIVATE, &yes, sizeof yes),
      attr(CKA_SENSITIVE, &yes, sizeof yes), attr(CKA_EXTRACTABLE, &no, sizeof no),
      attr(CKA_SIGN, &yes, sizeof yes),      attr(CKA_LABEL, sign_label.data(), sign_label.size())};
  ck_mechanism ec{CKM_EC_KEY_PAIR_GEN, nullptr, 0};
  ck_object_handle_t pub = 0, priv = 0;
  check(t.fl->C_GenerateKeyPair(t.session, &ec, pub_tmpl, std::size(pub_tmpl), priv_tmpl,
                                std::size(priv_tmpl), &pub, &priv),
        "C_GenerateKeyPair (P-256)");
}

bool Token::has_device_keys(const std::string& key_label) {
  std::lock_guard lock(impl_->mu);
  return impl_->find(CKO_SECRET_KEY, key_label + "/seal") != 0 &&
         impl_->find(CKO_PRIVATE_KEY, key_label + "/sign") != 0;
}

void Token::delete_device_keys(const std::string& key_label) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const std::pair<ck_object_class_t, std::string> objects[] = {
      {CKO_SECRET_KEY, key_label + "/seal"},
      {CKO_PRIVATE_KEY, key_label + "/sign"},
      {CKO_PUBLIC_KEY, key_label + "/sign"}};
  for (const auto& [cls, label] : objects) {
    while (const ck_object_handle_t h = t.find(cls, label)) {
      check(t.fl->C_DestroyObject(t.session, h), "C_DestroyObject");
    }
  }
}

Bytes Token::signing_public_key(const std::string& key_label) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const ck_object_handle_t pub = t.need(CKO_PUBLIC_KEY, key_label + "/sign");
  std::uint8_t point[80];
  ck_attribute a = attr(CKA_EC_POINT, point, sizeof point);
  check(t.fl->C_GetAttributeValue(t.session, pub, &a, 1), "C_GetAttributeValue (EC point)");
  // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point 04 || x || y.
  if (a.value_len != 67 || point[0] != 0x04 || point[1] != 65 || point[2] != 0x04) {
    throw TokenError("unexpected EC point encoding", CKR_GENERAL_ERROR);
  }
  Bytes der(sizeof kP256SpkiPrefix + 65);
  std::memcpy(der.data(), kP256SpkiPrefix, sizeof kP256SpkiPrefix);
  std::memcpy(der.data() + sizeof kP256SpkiPrefix, point + 2, 65);
  return der;
}

Bytes Token::sign(const std::string& key_label, std::span<const std::uint8_t> message) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const ck_object_handle_t priv = t.need(CKO_PRIVATE_KEY, key_label + "/sign");
  std::uint8_t digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, message.data(), message.size());
  ck_mechanism mech{CKM_ECDSA, nullptr, 0};
  check(t.fl->C_SignInit(t.session, &mech, priv), "C_SignInit");
  std::uint8_t raw[64];
  unsigned long raw_len = sizeof raw;
  check(t.fl->C_Sign(t.session, digest, sizeof digest, raw, &raw_len), "C_Sign");
  if (raw_len != 64) throw TokenError("unexpected ECDSA signature size", CKR_GENERAL_ERROR);
  // PKCS#11 gives r || s; X.509 and OpenSSL want the DER SEQUENCE of two INTEGERs.
  ECDSA_SIG* sig = ECDSA_SIG_new();
  ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, nullptr), BN_bin2bn(raw + 32, 32, nullptr));
  unsigned char* der = nullptr;
  const int n = i2d_ECDSA_SIG(sig, &der);
  Bytes out(der, der + n);
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

Bytes Token::seal(const std::string& key_label, std::span<const std::uint8_t> plain) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const ck_object_handle_t key = t.need(CKO_SECRET_KEY, key_label + "/seal");
  Bytes out(kGcmIv + plain.size() + kGcmTag);
  randombytes_buf(out.data(), kGcmIv);
  ck_gcm_params gcm{
      out.data(),       kGcmIv,
      kGcmIv * 8,       reinterpret_cast<unsigned char*>(const_cast<char*>(key_label.data())),
      key_label.size(), kGcmTag * 8};
  ck_mechanism mech{CKM_AES_GCM, &gcm, sizeof gcm};
  check(t.fl->C_EncryptInit(t.session, &mech, key), "C_EncryptInit");
  unsigned long len = plain.size() + kGcmTag;
  check(t.fl->C_Encrypt(t.session, const_cast<std::uint8_t*>(plain.data()), plain.size(),
                        out.data() + kGcmIv, &len),
        "C_Encrypt");
  out.resize(kGcmIv + len);
  return out;
}

bool Token::unseal(const std::string& key_label, std::span<const std::uint8_t> sealed,
                   std::span<std::uint8_t> out) {
  if (sealed.size() != kGcmIv + out.size() + kGcmTag) return false;
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const ck_object_handle_t key = t.need(CKO_SECRET_KEY, key_label + "/seal");
  ck_gcm_params gcm{const_cast<std::uint8_t*>(sealed.data()),
                    kGcmIv,
                    kGcmIv * 8,
                    reinterpret_cast<unsigned char*>(const_cast<char*>(key_label.data())),
                    key_label.size(),
                    kGcmTag * 8};
  ck_mechanism mech{CKM_AES_GCM, &gcm, sizeof gcm};
  check(t.fl->C_DecryptInit(t.session, &mech, key), "C_DecryptInit");
  // Decrypt into a buffer with room for the tag (some modules want it), in locked memory
  // (sodium_malloc), then copy; sodium_free wipes it.
  const std::size_t cap = sealed.size();
  auto* buf = static_cast<std::uint8_t*>(sodium_malloc(cap));
  if (buf == nullptr) throw TokenError("out of locked memory", CKR_HOST_MEMORY);
  unsigned long len = cap;
  const ck_rv_t rv = t.fl->C_Decrypt(t.session, const_cast<std::uint8_t*>(sealed.data()) + kGcmIv,
                                     sealed.size() - kGcmIv, buf, &len);
  const bool ok = rv == CKR_OK && len == out.size();
  if (ok) std::memcpy(out.data(), buf, out.size());
  sodium_free(buf);
  return ok;
}

unsigned long Token::try_read_secret_value(const std::string& key_label, bool sealing_key) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  const ck_object_handle_t h = sealing_key ? t.need(CKO_SECRET_KEY, key_label + "/seal")
                                           : t.need(CKO_PRIVATE_KEY, key_label + "/sign");
  std::uint8_t value[256];
  ck_attribute a = attr(CKA_VALUE, value, sizeof value);
  return t.fl->C_GetAttributeValue(t.session, h, &a, 1);
}

unsigned long Token::try_wrap_out(const std::string& key_label, bool sealing_key) {
  Impl& t = *impl_;
  std::lock_guard lock(t.mu);
  // A session-only wrapping key, as an attacker with the PIN could make.
  const unsigned char yes = 1, no = 0;  // CK_BBOOL
  const unsigned long len = 32;
  ck_attribute tmpl[] = {attr(CKA_VALUE_LEN, &len, sizeof len), attr(CKA_TOKEN, &no, sizeof no),
                         attr(CKA_WRAP, &yes, sizeof yes)};
  ck_mechanism gen{CKM_AES_KEY_GEN, nullptr, 0};
  ck_object_handle_t wrapper = 0;
  check(t.fl->C_GenerateKey(t.session, &gen, tmpl, std::size(tmpl), &wrapper), "C_GenerateKey");
  ck_mechanism wrap{CKM_AES_KEY_WRAP_PAD, nullptr, 0};
  const ck_object_handle_t target = sealing_key ? t.need(CKO_SECRET_KEY, key_label + "/seal")
                                                : t.need(CKO_PRIVATE_KEY, key_label + "/sign");
  std::uint8_t out[512];
  unsigned long out_len = sizeof out;
  const ck_rv_t rv = t.fl->C_WrapKey(t.session, &wrap, wrapper, target, out, &out_len);
  t.fl->C_DestroyObject(t.session, wrapper);
  return rv;
}

}  // namespace hopbox
