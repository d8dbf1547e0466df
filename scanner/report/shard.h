// --shard K/N: a deterministic 1/N of the files of a scan, the same on every run, machine and
// compiler, so N runners (a Kubernetes Indexed Job, a CI matrix) can each scan one shard of a
// tree and `flscan merge` (merge.h) can put the N reports back together into the report a single
// full scan would have written.
//
// Which shard owns an entry is decided by its key alone: the entry's path relative to the PATH
// operand it was found under, as bytes, '/'-separated, without a leading "./" (the names the walk
// joined below the operand). The PATH operand itself has its base name as key. A file inside a
// disk image (`IMAGE:pN/path/in/volume`) has the key `pN/path/in/volume`; one inside a disk image
// the walk found in a directory (`DIR/sub/snap.vhd:pN/path`), the image file's key, ':', then
// that (`sub/snap.vhd:pN/path`), so key_below gives it too.
//
//   shard(key) = (FNV-1a-64(key bytes) mod N) + 1
//
// FNV-1a 64: offset basis 0xcbf29ce484222325, prime 0x100000001b3, for each byte: h ^= byte,
// h *= prime (mod 2^64). Nothing depends on std::hash, the locale or the byte order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace flscan::scanner {

// Largest N accepted (a merge reads one report per shard).
inline constexpr std::uint32_t kMaxShards = 4096;

struct Shard {
  std::uint32_t k = 1;  // 1-based: 1 <= k <= n
  std::uint32_t n = 1;
  friend bool operator==(const Shard&, const Shard&) = default;
};

// "K/N", decimal, 1 <= K <= N <= kMaxShards. The error says what is wrong and how to write it.
[[nodiscard]] tl::expected<Shard, std::string> parse_shard(std::string_view text);

// "K/N".
[[nodiscard]] std::string to_string(Shard shard);

// FNV-1a 64 of the bytes of `key`.
[[nodiscard]] std::uint64_t fnv1a_64(std::string_view key);

// The shard (1..n) that owns `key`; n must be >= 1.
[[nodiscard]] std::uint32_t shard_of(std::string_view key, std::uint32_t n);

// True when `shard` owns `key`: the predicate every part of a sharded scan applies.
[[nodiscard]] inline bool in_shard(std::string_view key, Shard shard) { return shard_of(key, shard.n) == shard.k; }

// The key of the PATH operand itself: its last name ("dir/sub/" -> "sub", "/" -> "/").
[[nodiscard]] std::string operand_key(std::string_view operand);

// The key of `path`, found by the walk under the PATH operand `root` (path = root joined with the
// names below it, or root itself; `root:pN/...` for a file inside the disk image `root`), or
// nullopt when `path` is not below `root`.
[[nodiscard]] std::optional<std::string> key_below(std::string_view path, std::string_view root);

}  // namespace flscan::scanner
