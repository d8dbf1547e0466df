#include "scanner/report/shard.h"

#include <cctype>

namespace flscan::scanner {

namespace {

// Digits only, at most 10 of them (anything larger than kMaxShards is refused after).
std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return value;
}

}  // namespace

tl::expected<Shard, std::string> parse_shard(std::string_view text) {
  const std::string quoted = "'" + std::string(text) + "'";
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return tl::make_unexpected(quoted + " is not K/N (shard K of N, counted from 1; example: --shard 2/5)");
  }
  const auto k = parse_number(text.substr(0, slash));
  const auto n = parse_number(text.substr(slash + 1));
  if (!k || !n) return tl::make_unexpected(quoted + " is not K/N with K and N whole numbers (example: --shard 2/5)");
  if (*n == 0) return tl::make_unexpected(quoted + ": N must be at least 1");
  if (*n > kMaxShards) {
    return tl::make_unexpected(quoted + ": N must be at most " + std::to_string(kMaxShards));
  }
  if (*k == 0) {
    return tl::make_unexpected(quoted +
                               ": shards are counted from 1 (a 0-based index i is shard i+1, e.g. "
                               "--shard $((JOB_COMPLETION_INDEX + 1))/N)");
  }
  if (*k > *n) return tl::make_unexpected(quoted + ": K must be between 1 and N");
  return Shard{static_cast<std::uint32_t>(*k), static_cast<std::uint32_t>(*n)};
}

std::string to_string(Shard shard) { return std::to_string(shard.k) + "/" + std::to_string(shard.n); }

std::uint64_t fnv1a_64(std::string_view key) {
  std::uint64_t hash = 0xcbf29ce484222325ULL;
  for (char c : key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

std::uint32_t shard_of(std::string_view key, std::uint32_t n) {
  if (n <= 1) return 1;
  return static_cast<std::uint32_t>(fnv1a_64(key) % n) + 1;
}

std::string operand_key(std::string_view operand) {
  while (operand.size() > 1 && operand.back() == '/') operand.remove_suffix(1);
  const auto slash = operand.rfind('/');
  if (slash == std::string_view::npos || operand.size() == 1) return std::string(operand);
  return std::string(operand.substr(slash + 1));
}

std::optional<std::string> key_below(std::string_view path, std::string_view root) {
  if (path == root) return operand_key(root);
  if (root.empty() || !path.starts_with(root)) return std::nullopt;
  std::string_view rest = path.substr(root.size());
  if (root.back() != '/') {
    if (rest.front() == ':') return std::string(rest.substr(1));  // IMAGE:pN/...
    if (rest.front() != '/') return std::nullopt;                 // "a/bc" is not below "a/b"
  }
  while (!rest.empty() && rest.front() == '/') rest.remove_prefix(1);
  if (rest.empty()) return operand_key(root);
  return std::string(rest);
}

}  // namespace flscan::scanner
