// hashing.h through OpenSSL EVP (the Linux build).
#include "engine/hashing.h"

#include <stdexcept>

#include <openssl/evp.h>

namespace flscan {
namespace {

// Fetched once, shared read-only by every Hasher (EVP_MD objects are thread-safe to use).
const EVP_MD* sha256_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}
const EVP_MD* md5_md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "MD5", nullptr);
  return md;
}

}  // namespace

struct Hasher::State {
  EVP_MD_CTX* sha256_ctx = nullptr;
  EVP_MD_CTX* md5_ctx = nullptr;
  bool md5_active = false;
  std::string no_error;
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  state_->sha256_ctx = EVP_MD_CTX_new();
  state_->md5_ctx = EVP_MD_CTX_new();
  if (state_->sha256_ctx == nullptr || state_->md5_ctx == nullptr || sha256_md() == nullptr || md5_md() == nullptr) {
    EVP_MD_CTX_free(state_->sha256_ctx);
    EVP_MD_CTX_free(state_->md5_ctx);
    // Setup failure (no SHA-256 in this OpenSSL): nothing can be scanned honestly.
    throw std::runtime_error("OpenSSL: cannot set up SHA-256/MD5 digests");
  }
}

Hasher::~Hasher() {
  EVP_MD_CTX_free(state_->sha256_ctx);
  EVP_MD_CTX_free(state_->md5_ctx);
}

void Hasher::begin(WantMd5 want_md5) {
  EVP_DigestInit_ex(state_->sha256_ctx, sha256_md(), nullptr);
  state_->md5_active = want_md5 == WantMd5::yes;
  if (state_->md5_active) EVP_DigestInit_ex(state_->md5_ctx, md5_md(), nullptr);
}

void Hasher::update(ByteView chunk) {
  if (chunk.empty()) return;
  EVP_DigestUpdate(state_->sha256_ctx, chunk.data(), chunk.size());
  if (state_->md5_active) EVP_DigestUpdate(state_->md5_ctx, chunk.data(), chunk.size());
}

Digests Hasher::finish() {
  Digests out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(state_->sha256_ctx, out.sha256.data(), &len);
  if (state_->md5_active) {
    Md5Digest md5{};
    EVP_DigestFinal_ex(state_->md5_ctx, md5.data(), &len);
    out.md5 = md5;
    state_->md5_active = false;
  }
  return out;
}

const std::string& Hasher::sha256_error() const { return state_->no_error; }

}  // namespace flscan
