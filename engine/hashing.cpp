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

Hasher::Hasher() : sha256_ctx_(EVP_MD_CTX_new()), md5_ctx_(EVP_MD_CTX_new()) {
  if (sha256_ctx_ == nullptr || md5_ctx_ == nullptr || sha256_md() == nullptr || md5_md() == nullptr) {
    EVP_MD_CTX_free(sha256_ctx_);
    EVP_MD_CTX_free(md5_ctx_);
    // Setup failure (no SHA-256 in this OpenSSL): nothing can be scanned honestly.
    throw std::runtime_error("OpenSSL: cannot set up SHA-256/MD5 digests");
  }
}

Hasher::~Hasher() {
  EVP_MD_CTX_free(sha256_ctx_);
  EVP_MD_CTX_free(md5_ctx_);
}

void Hasher::begin(WantMd5 want_md5) {
  EVP_DigestInit_ex(sha256_ctx_, sha256_md(), nullptr);
  md5_active_ = want_md5 == WantMd5::yes;
  if (md5_active_) EVP_DigestInit_ex(md5_ctx_, md5_md(), nullptr);
}

void Hasher::update(ByteView chunk) {
  if (chunk.empty()) return;
  EVP_DigestUpdate(sha256_ctx_, chunk.data(), chunk.size());
  if (md5_active_) EVP_DigestUpdate(md5_ctx_, chunk.data(), chunk.size());
}

Digests Hasher::finish() {
  Digests out;
  unsigned int len = 0;
  EVP_DigestFinal_ex(sha256_ctx_, out.sha256.data(), &len);
  if (md5_active_) {
    Md5Digest md5{};
    EVP_DigestFinal_ex(md5_ctx_, md5.data(), &len);
    out.md5 = md5;
    md5_active_ = false;
  }
  return out;
}

Digests Hasher::digest(ByteView bytes, WantMd5 want_md5) {
  begin(want_md5);
  update(bytes);
  return finish();
}

std::string to_hex(const std::uint8_t* bytes, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[bytes[i] >> 4]);
    out.push_back(kDigits[bytes[i] & 0xF]);
  }
  return out;
}

bool parse_hex_digest(std::string_view text, std::uint8_t* out, std::size_t size) {
  if (text.size() != size * 2) return false;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < size; ++i) {
    const int hi = nibble(text[2 * i]);
    const int lo = nibble(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace flscan
