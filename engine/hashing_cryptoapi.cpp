// hashing.h through CryptoAPI (the Windows build, flscan-live.exe: issue 17). Every call used
// exists in advapi32 since Windows NT 4.0 (CryptAcquireContextW, CryptCreateHash, CryptHashData,
// CryptGetHashParam, CryptDestroyHash, CryptReleaseContext). SHA-256 (CALG_SHA_256) is offered
// only by the PROV_RSA_AES provider ("Microsoft Enhanced RSA and AES Cryptographic Provider":
// Windows XP SP3 and later); on Windows 2000 the provider is missing, on XP before SP3 its
// prototype refuses the algorithm. Then the Hasher still hashes MD5 when asked and sha256_error()
// names the failed call, so the tool reports the file's sha256 as null with that reason.
#include "engine/hashing.h"

#include <windows.h>
#include <wincrypt.h>

#include <algorithm>
#include <cstdio>
#include <limits>

namespace flscan {
namespace {

// wincrypt.h declares these only for _WIN32_WINNT >= 0x0502; flscan-live builds for 0x0500 and
// asks for them at run time (values from wincrypt.h: ALG_CLASS_HASH | ALG_TYPE_ANY | ALG_SID_SHA_256).
constexpr DWORD kProvRsaAes = 24;           // PROV_RSA_AES
constexpr ALG_ID kCalgSha256 = 0x0000800c;  // CALG_SHA_256

std::string call_error(const char* call) {
  char text[96];
  std::snprintf(text, sizeof text, "%s: error 0x%08lx", call, static_cast<unsigned long>(GetLastError()));
  return text;
}

void destroy(HCRYPTHASH& hash) {
  if (hash != 0) CryptDestroyHash(hash);
  hash = 0;
}

}  // namespace

struct Hasher::State {
  HCRYPTPROV aes = 0;   // PROV_RSA_AES: SHA-256 (0 when absent)
  HCRYPTPROV full = 0;  // PROV_RSA_FULL: MD5 (every NT since 4.0)
  HCRYPTHASH sha256 = 0;
  HCRYPTHASH md5 = 0;
  std::string provider_error;  // why there is no PROV_RSA_AES provider
  std::string sha256_error;    // why the current / last digest has no SHA-256
  std::string md5_error;       // why the current digest has no MD5
};

Hasher::Hasher() : state_(std::make_unique<State>()) {
  // CRYPT_VERIFYCONTEXT: no key container, nothing written, no user interface.
  if (!CryptAcquireContextW(&state_->aes, nullptr, nullptr, kProvRsaAes, CRYPT_VERIFYCONTEXT)) {
    state_->aes = 0;
    state_->provider_error = call_error("CryptAcquireContext(PROV_RSA_AES)") + " (no SHA-256 provider on this Windows)";
  }
  if (!CryptAcquireContextW(&state_->full, nullptr, nullptr, PROV_RSA_FULL, CRYPT_VERIFYCONTEXT)) state_->full = 0;
}

Hasher::~Hasher() {
  destroy(state_->sha256);
  destroy(state_->md5);
  if (state_->aes != 0) CryptReleaseContext(state_->aes, 0);
  if (state_->full != 0) CryptReleaseContext(state_->full, 0);
}

void Hasher::begin(WantMd5 want_md5) {
  destroy(state_->sha256);
  destroy(state_->md5);
  state_->sha256_error = state_->provider_error;
  state_->md5_error.clear();
  if (state_->aes != 0 && !CryptCreateHash(state_->aes, kCalgSha256, 0, 0, &state_->sha256)) {
    state_->sha256 = 0;
    state_->sha256_error = call_error("CryptCreateHash(CALG_SHA_256)");
  }
  if (want_md5 == WantMd5::yes) {
    if (state_->full == 0 || !CryptCreateHash(state_->full, CALG_MD5, 0, 0, &state_->md5)) {
      state_->md5 = 0;
      state_->md5_error = "no MD5";
    }
  }
}

void Hasher::update(ByteView chunk) {
  // CryptHashData takes a DWORD length: chunks above 4 GiB go in pieces.
  const std::uint8_t* data = chunk.data();
  std::size_t left = chunk.size();
  while (left > 0) {
    const auto n = static_cast<DWORD>(std::min<std::size_t>(left, std::numeric_limits<DWORD>::max()));
    if (state_->sha256 != 0 && !CryptHashData(state_->sha256, data, n, 0)) {
      state_->sha256_error = call_error("CryptHashData(SHA-256)");
      destroy(state_->sha256);
    }
    if (state_->md5 != 0 && !CryptHashData(state_->md5, data, n, 0)) destroy(state_->md5);
    data += n;
    left -= n;
  }
}

Digests Hasher::finish() {
  Digests out;
  DWORD len = static_cast<DWORD>(out.sha256.size());
  if (state_->sha256 != 0 && !CryptGetHashParam(state_->sha256, HP_HASHVAL, out.sha256.data(), &len, 0)) {
    state_->sha256_error = call_error("CryptGetHashParam(SHA-256)");
    out.sha256.fill(0);
  }
  if (state_->md5 != 0) {
    Md5Digest md5{};
    len = static_cast<DWORD>(md5.size());
    if (CryptGetHashParam(state_->md5, HP_HASHVAL, md5.data(), &len, 0)) out.md5 = md5;
  }
  destroy(state_->sha256);
  destroy(state_->md5);
  return out;
}

const std::string& Hasher::sha256_error() const { return state_->sha256_error; }

}  // namespace flscan
