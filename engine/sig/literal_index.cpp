#include "engine/sig/literal_index.h"

#include <algorithm>
#include <limits>

#include "engine/sig/pattern.h"

namespace flscan::sig {
namespace {

// murmur3's finaliser: every bit of the key moves the bucket, so keys that differ only in a few
// bytes (literals of one family) spread over the table.
std::uint32_t mix(std::uint32_t h) {
  h ^= h >> 16;
  h *= 0x85EBCA6Bu;
  h ^= h >> 13;
  h *= 0xC2B2AE35u;
  h ^= h >> 16;
  return h;
}

template <typename T>
std::size_t vector_heap(const std::vector<T>& v) {
  return heap_allocation_bytes(v.capacity() * sizeof(T));
}

}  // namespace

std::size_t LiteralIndex::bucket(std::uint32_t key) const {
  return bucket_bits_ == 0 ? 0 : mix(key) >> (32 - bucket_bits_);
}

// Doubles the bucket table and re-links every key. A bucket of the larger table holds a subset of
// the keys of one bucket of the smaller (the bucket is the hash's top bits), so no chain grows
// past limits::kLiteralIndexBucketKeys.
void LiteralIndex::grow() {
  bucket_bits_ = bucket_bits_ == 0 ? limits::kLiteralIndexMinBucketBits : bucket_bits_ + 1;
  buckets_.assign(std::size_t{1} << bucket_bits_, 0);
  for (std::size_t k = 0; k < keys_.size(); ++k) {
    const std::size_t b = bucket(keys_[k].key);
    keys_[k].next = buckets_[b];
    buckets_[b] = static_cast<std::uint32_t>(k + 1);
  }
}

bool LiteralIndex::add(std::span<const std::uint8_t> literal, std::uint32_t id) {
  if (literal.size() < kKeyBytes || literal.size() > limits::kMaxStreamSegment) return false;
  if (literals_.size() >= limits::kLiteralIndexMaxLiterals) return false;
  if (literal.size() > std::numeric_limits<std::uint32_t>::max() - bytes_.size()) return false;
  if (buckets_.empty()) {
    first_pairs_.assign(kBitmapWords, 0);
    second_pairs_.assign(kBitmapWords, 0);
    grow();
  }
  const std::uint32_t key = key_at(literal.data());
  std::uint32_t found = 0;
  std::size_t chain = 0;
  for (std::uint32_t k = buckets_[bucket(key)]; k != 0; k = keys_[k - 1].next, ++chain) {
    if (keys_[k - 1].key == key) {
      found = k;
      break;
    }
  }
  if (found == 0 && chain >= limits::kLiteralIndexBucketKeys) return false;

  Literal lit;
  lit.offset = static_cast<std::uint32_t>(bytes_.size());
  lit.length = static_cast<std::uint32_t>(literal.size());
  lit.id = id;
  bytes_.insert(bytes_.end(), literal.begin(), literal.end());
  literals_.push_back(lit);
  const auto index = static_cast<std::uint32_t>(literals_.size());
  if (found != 0) {
    literals_[keys_[found - 1].last_literal - 1].next = index;
    keys_[found - 1].last_literal = index;
  } else {
    const std::size_t b = bucket(key);
    keys_.push_back(Key{key, buckets_[b], index, index});
    buckets_[b] = static_cast<std::uint32_t>(keys_.size());
    // At most one key per two buckets on average.
    if (keys_.size() * 2 > buckets_.size()) grow();
  }
  const std::uint16_t first = pair_at(literal.data());
  const std::uint16_t second = pair_at(literal.data() + 2);
  first_pairs_[first >> 6] |= std::uint64_t{1} << (first & 63U);
  second_pairs_[second >> 6] |= std::uint64_t{1} << (second & 63U);
  return true;
}

std::size_t LiteralIndex::heap_bytes() const {
  return vector_heap(first_pairs_) + vector_heap(second_pairs_) + vector_heap(buckets_) + vector_heap(keys_) +
         vector_heap(literals_) + vector_heap(bytes_);
}

std::size_t LiteralIndex::charge_for_literal(std::size_t length) {
  // Vectors at most double their size, and the bucket table is at most four times the keys.
  return 2 * (sizeof(Literal) + sizeof(Key) + length) + 4 * sizeof(std::uint32_t);
}

}  // namespace flscan::sig
