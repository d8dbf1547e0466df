// File digests behind one interface, the backend chosen at build time (issue 17):
// - hashing_openssl.cpp (Linux): OpenSSL EVP. The digest algorithms are fetched once per process
//   (implicit fetch on every call is a lock hotspot in OpenSSL 3, style guide habit 5);
// - hashing_cryptoapi.cpp (Windows, flscan-live.exe): CryptoAPI, so the engine builds with
//   mingw-w64 without OpenSSL. SHA-256 needs the PROV_RSA_AES provider, which Windows 2000 and XP
//   before SP3 lack: there the Hasher still works, sha256_error() says why no SHA-256 was made.
// Each worker owns one Hasher, whose contexts are reused for every file it scans.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "engine/byte_view.h"

namespace flscan {

using Md5Digest = std::array<std::uint8_t, 16>;
using Sha256Digest = std::array<std::uint8_t, 32>;

struct Digests {
  Sha256Digest sha256{};
  std::optional<Md5Digest> md5;  // computed only when a loaded .hdb needs it
};

enum class WantMd5 { no, yes };

class Hasher {
 public:
  Hasher();
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  // Streaming use: begin, update with consecutive chunks, finish.
  void begin(WantMd5 want_md5);
  void update(ByteView chunk);
  [[nodiscard]] Digests finish();

  // One-shot convenience over a whole buffer.
  [[nodiscard]] Digests digest(ByteView bytes, WantMd5 want_md5);

  // Empty when the last finish() produced a real SHA-256; otherwise why not (the backend could
  // not make one: CryptoAPI without SHA-256), and that Digests::sha256 is all zeros, never to be
  // shown. Always empty with OpenSSL (its setup failure throws in the constructor).
  [[nodiscard]] const std::string& sha256_error() const;

 private:
  struct State;  // the backend's contexts (hashing_openssl.cpp or hashing_cryptoapi.cpp)
  std::unique_ptr<State> state_;
};

[[nodiscard]] std::string to_hex(const std::uint8_t* bytes, std::size_t size);
template <std::size_t N>
[[nodiscard]] std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  return to_hex(bytes.data(), N);
}
// Parses exactly 2*N hex digits (either case) into `out`; false on any other input.
bool parse_hex_digest(std::string_view text, std::uint8_t* out, std::size_t size);

}  // namespace flscan
