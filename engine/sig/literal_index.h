// The anchor literals of many patterns, found in one pass over the data (issue 19). Searching each
// unanchored pattern's anchor with its own memmem made a scan cost grow with the number of rules;
// this index reads each position once, whatever the number of literals:
//   1. a bitmap of the literals' first two bytes, and one of their third and fourth bytes, rule out
//      almost every position with two bit tests;
//   2. a hash table keyed by the first four bytes names the literals that may start there;
//   3. memcmp checks the rest of each.
// Literals shorter than four bytes are not taken (add() says so): their patterns keep the memmem
// path. ClamAV does the same in two steps (libclamav filtering.c filter_search, then its
// Aho-Corasick trie, matcher-ac.c); a trie's state count grows with the literals' total length,
// this index's memory only with their number (limits.h, kLiteralIndex*).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "engine/byte_view.h"
#include "engine/limits.h"

namespace flscan::sig {

class LiteralIndex {
 public:
  static constexpr std::size_t kKeyBytes = 4;

  // Takes `literal` under `id` (any number, chosen by the caller; several literals may share one).
  // False when it is not taken: shorter than kKeyBytes, or its hash bucket already holds
  // limits::kLiteralIndexBucketKeys other keys (only crafted literals collide so often).
  bool add(std::span<const std::uint8_t> literal, std::uint32_t id);

  [[nodiscard]] bool empty() const { return literals_.empty(); }
  [[nodiscard]] std::size_t size() const { return literals_.size(); }
  // Bytes the index takes on the heap, allocator overhead included.
  [[nodiscard]] std::size_t heap_bytes() const;
  // The most heap one more literal of `length` bytes can add (the tables grow by doubling), for
  // the loader's memory budget; the fixed bitmaps (limits::kLiteralIndexBitmapBytes each) are
  // within its allowance.
  [[nodiscard]] static std::size_t charge_for_literal(std::size_t length);

  // Calls on_hit(id, position) for each occurrence of each literal that starts in [from, to] and
  // ends inside `data`: positions in increasing order, the literals of one position in the order
  // they were added. Stops when on_hit returns false.
  template <typename OnHit>
  void scan(ByteView data, std::uint64_t from, std::uint64_t to, OnHit&& on_hit) const;

 private:
  struct Key {
    std::uint32_t key = 0;
    std::uint32_t next = 0;           // next key of its bucket, plus 1 (0: none)
    std::uint32_t first_literal = 0;  // its literals, plus 1
    std::uint32_t last_literal = 0;
  };
  struct Literal {
    std::uint32_t offset = 0;  // its bytes: bytes_[offset, offset + length)
    std::uint32_t length = 0;
    std::uint32_t id = 0;
    std::uint32_t next = 0;  // next literal with the same first four bytes, plus 1
  };
  static constexpr std::size_t kBitmapWords = limits::kLiteralIndexBitmapBytes / sizeof(std::uint64_t);

  static std::uint16_t pair_at(const std::uint8_t* p) {
    std::uint16_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static std::uint32_t key_at(const std::uint8_t* p) {
    std::uint32_t v = 0;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static bool has(const std::uint64_t* bitmap, std::uint16_t pair) {
    return ((bitmap[pair >> 6] >> (pair & 63)) & 1) != 0;
  }
  [[nodiscard]] std::size_t bucket(std::uint32_t key) const;
  void grow();

  std::vector<std::uint64_t> first_pairs_;   // bit per value of bytes 0-1
  std::vector<std::uint64_t> second_pairs_;  // bit per value of bytes 2-3
  std::vector<std::uint32_t> buckets_;       // first key of each bucket, plus 1
  unsigned bucket_bits_ = 0;
  std::vector<Key> keys_;
  std::vector<Literal> literals_;
  std::vector<std::uint8_t> bytes_;
};

template <typename OnHit>
void LiteralIndex::scan(ByteView data, std::uint64_t from, std::uint64_t to, OnHit&& on_hit) const {
  const std::uint64_t size = data.size();
  if (literals_.empty() || size < kKeyBytes) return;
  const std::uint8_t* d = data.data();
  const std::uint64_t end = std::min<std::uint64_t>(to, size - kKeyBytes);  // the last position a key fits
  const std::uint64_t* first_pairs = first_pairs_.data();
  const std::uint64_t* second_pairs = second_pairs_.data();
  for (std::uint64_t p = from; p <= end; ++p) {
    if (!has(first_pairs, pair_at(d + p)) || !has(second_pairs, pair_at(d + p + 2))) continue;
    const std::uint32_t key = key_at(d + p);
    for (std::uint32_t k = buckets_[bucket(key)]; k != 0; k = keys_[k - 1].next) {
      if (keys_[k - 1].key != key) continue;
      for (std::uint32_t l = keys_[k - 1].first_literal; l != 0; l = literals_[l - 1].next) {
        const Literal& lit = literals_[l - 1];
        if (lit.length > size - p) continue;
        if (std::memcmp(d + p + kKeyBytes, bytes_.data() + lit.offset + kKeyBytes, lit.length - kKeyBytes) != 0) {
          continue;
        }
        if (!on_hit(lit.id, p)) return;
      }
      break;
    }
  }
}

}  // namespace flscan::sig
