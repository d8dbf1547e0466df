// File digests through OpenSSL EVP. The digest algorithms are fetched once per process
// (implicit fetch on every call is a lock hotspot in OpenSSL 3, style guide habit 5); each
// worker owns one Hasher, whose contexts are reused for every file it scans.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/byte_view.h"

struct evp_md_ctx_st;

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

 private:
  evp_md_ctx_st* sha256_ctx_ = nullptr;
  evp_md_ctx_st* md5_ctx_ = nullptr;
  bool md5_active_ = false;
};

[[nodiscard]] std::string to_hex(const std::uint8_t* bytes, std::size_t size);
template <std::size_t N>
[[nodiscard]] std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  return to_hex(bytes.data(), N);
}
// Parses exactly 2*N hex digits (either case) into `out`; false on any other input.
bool parse_hex_digest(std::string_view text, std::uint8_t* out, std::size_t size);

}  // namespace flscan
