// engine/sig/literal_index.{h,cpp} and its use by SignatureSet and StreamMatcher (issue 19): one
// pass of the index finds exactly the occurrences a search of each literal finds, and a set gives
// the same matches with the index as with every pattern searching alone (memmem), whole or
// streamed in chunks, with literals placed across chunk boundaries.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "engine/limits.h"
#include "engine/sig/literal_index.h"
#include "engine/sig/signature_set.h"
#include "signatures/loader.h"
#include "tests/signatures/test_util.h"

using namespace flscan;
using namespace flscan::sig;
using flscan::test::Bytes;
using flscan::test::view_of;

namespace {

using Hit = std::pair<std::uint32_t, std::uint64_t>;  // literal id, position

std::vector<Hit> index_hits(const LiteralIndex& index, ByteView data, std::uint64_t from, std::uint64_t to) {
  std::vector<Hit> hits;
  index.scan(data, from, to, [&](std::uint32_t id, std::uint64_t at) {
    hits.emplace_back(id, at);
    return true;
  });
  return hits;
}

// What the index must report: each literal (id = its index) at each position of [from, to] where
// it lies wholly inside the data; positions in increasing order, literals in the order added.
std::vector<Hit> brute_hits(const std::vector<Bytes>& literals, ByteView data, std::uint64_t from, std::uint64_t to) {
  std::vector<Hit> hits;
  for (std::uint64_t p = from; p <= to && p < data.size(); ++p) {
    for (std::size_t i = 0; i < literals.size(); ++i) {
      if (data.equals_at(p, std::span<const std::uint8_t>(literals[i]))) hits.emplace_back(i, p);
    }
  }
  return hits;
}

Bytes random_bytes(std::mt19937& rng, std::size_t n, const Bytes& alphabet = {}) {
  Bytes out(n);
  for (auto& b : out) {
    b = alphabet.empty() ? static_cast<std::uint8_t>(rng() & 0xFF) : alphabet[rng() % alphabet.size()];
  }
  return out;
}

std::string hex(const Bytes& bytes) {
  std::string out;
  char two[3];
  for (const std::uint8_t b : bytes) {
    std::snprintf(two, sizeof two, "%02x", b);
    out += two;
  }
  return out;
}

}  // namespace

TEST_CASE("the literal index finds what a brute-force search finds", "[literal_index]") {
  // Small alphabets make literals share prefixes (and whole first four bytes) and occur often;
  // the full byte range makes them rare. Literals are planted so every one occurs.
  const std::vector<Bytes> alphabets = {{0x41, 0x42}, {0x00, 0x41, 0x42, 0x43}, {}};
  for (std::uint32_t seed = 1; seed <= 60; ++seed) {
    std::mt19937 rng(seed);
    const Bytes& alphabet = alphabets[seed % alphabets.size()];
    const std::size_t count = seed % 7 == 0 ? 1 : rng() % 300;
    std::vector<Bytes> literals;
    LiteralIndex index;
    for (std::size_t i = 0; i < count; ++i) {
      literals.push_back(random_bytes(rng, 4 + rng() % 13, alphabet));
      REQUIRE(index.add(literals.back(), static_cast<std::uint32_t>(i)));
    }
    Bytes data = random_bytes(rng, 4000 + rng() % 4000, alphabet);
    for (const Bytes& literal : literals) {
      const std::size_t at = rng() % (data.size() - literal.size() + 1);
      std::copy(literal.begin(), literal.end(), data.begin() + static_cast<std::ptrdiff_t>(at));
    }
    INFO("seed " << seed << ", " << count << " literals");
    CHECK(index.size() == count);
    CHECK(index_hits(index, view_of(data), 0, data.size()) == brute_hits(literals, view_of(data), 0, data.size()));
    // A part of the data, as a streamed window's search asks for.
    const std::uint64_t from = rng() % data.size();
    const std::uint64_t to = from + rng() % (data.size() - from);
    CHECK(index_hits(index, view_of(data), from, to) == brute_hits(literals, view_of(data), from, to));
  }
}

TEST_CASE("the literal index at the edges of its window", "[literal_index]") {
  const Bytes a = flscan::test::hex_bytes("a1a2a3a4a5a6");
  const Bytes b = flscan::test::hex_bytes("b1b2b3b4");
  LiteralIndex index;
  REQUIRE(index.add(a, 7));
  REQUIRE(index.add(b, 9));
  Bytes data(64, 0);
  std::copy(b.begin(), b.end(), data.begin());       // at the first position
  std::copy(a.begin(), a.end(), data.end() - 6);     // ending at the last byte
  std::copy(a.begin(), a.end(), data.begin() + 20);  // in the middle
  CHECK(index_hits(index, view_of(data), 0, 63) == std::vector<Hit>{{9, 0}, {7, 20}, {7, 58}});
  // `to` is the last start reported; `from` the first.
  CHECK(index_hits(index, view_of(data), 0, 57) == std::vector<Hit>{{9, 0}, {7, 20}});
  CHECK(index_hits(index, view_of(data), 20, 58) == std::vector<Hit>{{7, 20}, {7, 58}});
  CHECK(index_hits(index, view_of(data), 1, 19).empty());
  // A literal cut off by the end of the data is not there.
  const ByteView cut(data.data(), 63);
  CHECK(index_hits(index, cut, 0, 63) == std::vector<Hit>{{9, 0}, {7, 20}});
  // on_hit returning false stops the scan.
  std::size_t calls = 0;
  index.scan(view_of(data), 0, 63, [&](std::uint32_t, std::uint64_t) { return ++calls < 2; });
  CHECK(calls == 2);
}

TEST_CASE("the literal index: shared prefixes, one literal under two ids, short literals", "[literal_index]") {
  LiteralIndex index;
  const std::vector<Bytes> literals = {
      flscan::test::hex_bytes("41424344"),       flscan::test::hex_bytes("4142434445"),
      flscan::test::hex_bytes("41424344454647"), flscan::test::hex_bytes("4142434458"),
      flscan::test::hex_bytes("41424344"),  // the first one again, under another id
  };
  for (std::size_t i = 0; i < literals.size(); ++i) REQUIRE(index.add(literals[i], static_cast<std::uint32_t>(i)));
  // Shorter than the 4-byte key: not taken (their patterns keep the memmem search).
  CHECK_FALSE(index.add(flscan::test::hex_bytes("414243"), 10));
  CHECK_FALSE(index.add(flscan::test::hex_bytes("4142"), 11));
  CHECK_FALSE(index.add({}, 12));
  CHECK(index.size() == literals.size());
  const Bytes data = flscan::test::hex_bytes("00 41424344454647 00 4142434458 414243");
  CHECK(index_hits(index, view_of(data), 0, data.size()) == brute_hits(literals, view_of(data), 0, data.size()));
  CHECK(index_hits(index, view_of(data), 0, data.size()) ==
        std::vector<Hit>{{0, 1}, {1, 1}, {2, 1}, {4, 1}, {0, 9}, {3, 9}, {4, 9}});

  LiteralIndex none;
  CHECK(none.empty());
  CHECK(index_hits(none, view_of(data), 0, data.size()).empty());
  CHECK(none.heap_bytes() == 0);
}

TEST_CASE("the literal index's memory stays within what the loader charges for it", "[literal_index]") {
  std::mt19937 rng(5);
  LiteralIndex index;
  std::size_t charged = 0;
  for (std::uint32_t i = 0; i < 20000; ++i) {
    const Bytes literal = random_bytes(rng, 4 + rng() % 40);
    REQUIRE(index.add(literal, i));
    charged += LiteralIndex::charge_for_literal(literal.size());
  }
  // The two fixed bitmaps are within the loader's allowance (limits.h).
  CHECK(index.heap_bytes() <= charged + 2 * heap_allocation_bytes(limits::kLiteralIndexBitmapBytes));
}

namespace {

// A database like bench/run.py's make_ndb (unanchored literals, wildcards, `*` jumps,
// alternatives, EOF-anchored; here target 0 so that any file qualifies), plus patterns whose
// anchor is 2 or 3 bytes (they search alone). Each rule comes with bytes that match it.
struct Rule {
  std::string name;
  std::string line;
  Bytes instance;
  std::uint64_t eof_distance = 0;  // 0: `*`; else EOF-n
};

std::vector<Rule> generate_rules(std::size_t n, std::uint32_t seed) {
  std::mt19937 rng(seed);
  auto bytes = [&](std::size_t lo, std::size_t hi) { return random_bytes(rng, lo + rng() % (hi - lo + 1)); };
  auto join = [](std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  std::vector<Rule> rules;
  for (std::size_t i = 0; i < n; ++i) {
    const auto r = static_cast<unsigned>(rng() % 100);
    Rule rule;
    std::string hexsig;
    if (r < 45) {
      rule.name = "T.Any." + std::to_string(i);
      rule.instance = bytes(16, 48);
      hexsig = hex(rule.instance);
    } else if (r < 60) {
      rule.name = "T.Wild." + std::to_string(i);
      const Bytes p0 = bytes(4, 11), p1 = bytes(4, 11), p2 = bytes(4, 11);
      const std::size_t jump = 1 + rng() % 99;
      hexsig = hex(p0) + "??" + hex(p1) + "{" + std::to_string(jump) + "}" + hex(p2);
      rule.instance = join({p0, bytes(1, 1), p1, bytes(jump, jump), p2});
    } else if (r < 70) {
      rule.name = "T.Star." + std::to_string(i);
      const Bytes a = bytes(6, 15), b = bytes(6, 15);
      hexsig = hex(a) + "*" + hex(b);
      rule.instance = join({a, bytes(0, 40), b});
    } else if (r < 80) {
      rule.name = "T.Alt." + std::to_string(i);
      const Bytes x = bytes(6, 6), y = bytes(2, 2), z = bytes(2, 2), w = bytes(6, 6);
      hexsig = hex(x) + "(" + hex(y) + "|" + hex(z) + ")" + hex(w);
      rule.instance = join({x, rng() % 2 ? y : z, w});
    } else if (r < 90) {
      // Every fixed run 2 or 3 bytes long: the anchor is too short for the index.
      rule.name = "T.Short." + std::to_string(i);
      const Bytes a = bytes(2, 3), b = bytes(2, 3), c = bytes(2, 3);
      hexsig = hex(a) + "??" + hex(b) + "??" + hex(c);
      rule.instance = join({a, bytes(1, 1), b, bytes(1, 1), c});
    } else {
      rule.name = "T.Eof." + std::to_string(i);
      rule.instance = bytes(8, 24);
      rule.eof_distance = 16 + rng() % 8000;
      hexsig = hex(rule.instance);
    }
    rule.line = rule.name +
                ":0:" + (rule.eof_distance == 0 ? std::string("*") : "EOF-" + std::to_string(rule.eof_distance)) + ":" +
                hexsig;
    rules.push_back(std::move(rule));
  }
  return rules;
}

SignatureSet load_rules(const std::vector<Rule>& rules) {
  std::string text;
  for (const Rule& rule : rules) text += rule.line + "\n";
  SignatureSet set;
  const auto loaded = signatures::load_text(text, signatures::Kind::ndb, "generated.ndb", set);
  if (!loaded) FAIL(loaded.error().message());
  return set;
}

// The matches of a file streamed in chunks, each window starting with the last stream_overlap()
// bytes of the previous one, as FileScanner::scan_stream feeds them.
std::vector<Match> stream_matches(const SignatureSet& set, const Bytes& data, std::size_t chunk) {
  StreamMatcher matcher(set, data.size(), nullptr, false);
  for (std::size_t offset = 0; offset < data.size();) {
    const std::size_t n = std::min(chunk, data.size() - offset);
    const std::size_t carry = std::min(set.stream_overlap(), offset);
    matcher.feed(ByteView(data.data() + offset - carry, carry + n), offset - carry);
    offset += n;
  }
  return matcher.finish(Digests{});
}

using Found = std::vector<std::pair<std::string, std::uint64_t>>;

Found found(const std::vector<Match>& matches) {
  Found out;
  for (const Match& m : matches) out.emplace_back(m.name, m.offset.value_or(~std::uint64_t{0}));
  return out;
}

Found whole_matches(const SignatureSet& set, const Bytes& data, MatchStats* stats = nullptr) {
  return found(set.match(view_of(data), nullptr, Digests{}, stats));
}

}  // namespace

TEST_CASE("1,000 rules: the literal index gives the matches of per-pattern searches", "[literal_index][set]") {
  const std::vector<Rule> rules = generate_rules(1000, 19);
  SignatureSet set = load_rules(rules);
  REQUIRE(set.streamable());
  // The `*` rules with an anchor of 4 bytes or more are in the index; the short-anchor ones not.
  const auto any_offset = static_cast<std::size_t>(
      std::count_if(rules.begin(), rules.end(), [](const Rule& r) { return r.eof_distance == 0; }));
  const auto short_anchor = static_cast<std::size_t>(
      std::count_if(rules.begin(), rules.end(), [](const Rule& r) { return r.name.rfind("T.Short.", 0) == 0; }));
  CHECK(set.indexed_patterns() == any_offset - short_anchor);
  CHECK(set.indexed_pieces() > set.indexed_patterns());  // every `*` rule's second piece too

  for (const std::size_t size : {std::size_t{256 * 1024}, std::size_t{48 * 1024}}) {
    // Random bytes (in which no rule of 8 fixed bytes or more occurs by chance), with every
    // tenth rule planted: expected are exactly those, at the planted offsets, in load order.
    std::mt19937 rng(static_cast<std::uint32_t>(size));
    Bytes data = random_bytes(rng, size);
    Found expected;
    std::size_t at = 0;
    bool eof_planted = false;
    for (std::size_t i = 0; i < rules.size(); i += 10) {
      const Rule& rule = rules[i];
      std::uint64_t where = 0;
      if (rule.eof_distance != 0) {
        // One EOF rule, at its place near the end (the others would overlap it).
        if (eof_planted || rule.eof_distance < rule.instance.size() || size - rule.eof_distance < size / 2) continue;
        eof_planted = true;
        where = size - rule.eof_distance;
      } else {
        where = at;
        at += rule.instance.size() + 50;
        if (at >= size / 2) break;
      }
      std::copy(rule.instance.begin(), rule.instance.end(), data.begin() + static_cast<std::ptrdiff_t>(where));
      expected.emplace_back(rule.name, where);
    }
    REQUIRE(expected.size() > 40);
    std::stable_sort(expected.begin(), expected.end(), [&](const auto& x, const auto& y) {
      const auto load_index = [&](const std::string& name) { return std::stoul(name.substr(name.rfind('.') + 1)); };
      return load_index(x.first) < load_index(y.first);
    });
    INFO("file of " << size << " bytes");

    MatchStats with_stats;
    const Found with_index = whole_matches(set, data, &with_stats);
    CHECK(with_index == expected);
    CHECK(with_stats.cap_hits == 0);
    set.use_literal_index(false);
    MatchStats alone_stats;
    CHECK(whole_matches(set, data, &alone_stats) == with_index);
    CHECK(alone_stats.cap_hits == with_stats.cap_hits);
    const Found streamed_alone = found(stream_matches(set, data, 4096));
    set.use_literal_index(true);
    CHECK(streamed_alone == expected);
    for (const std::size_t chunk : {std::size_t{61}, std::size_t{4096}, std::size_t{1} << 20}) {
      if (chunk == 61 && size > 64 * 1024) continue;  // one window per 61 bytes of 256 KiB: slow, no new case
      INFO("chunk " << chunk);
      CHECK(found(stream_matches(set, data, chunk)) == expected);
    }
  }
}

TEST_CASE("literals across chunk boundaries are found once, at their offset", "[literal_index][stream]") {
  // Eight rules planted around chunk boundaries, twenty that never match (so that a window always
  // has enough undecided searches for the index pass), and a `*` rule whose second piece lies in
  // a later chunk than its first.
  std::mt19937 rng(7);
  constexpr std::size_t kChunk = 100;
  std::vector<Rule> rules;
  for (int i = 0; i < 28; ++i) {
    Rule rule;
    rule.name = "B.Lit." + std::to_string(i);
    rule.instance = random_bytes(rng, 8);
    rule.line = rule.name + ":0:*:" + hex(rule.instance);
    rules.push_back(std::move(rule));
  }
  Rule star;
  star.name = "B.Star";
  const Bytes first = random_bytes(rng, 6), second = random_bytes(rng, 6);
  star.line = star.name + ":0:*:" + hex(first) + "*" + hex(second);
  rules.push_back(star);
  SignatureSet set = load_rules(rules);
  REQUIRE(set.stream_overlap() == 7);  // the longest piece, 8 bytes, minus one
  REQUIRE(set.indexed_pieces() == 30);

  Bytes data = random_bytes(rng, 20 * kChunk);
  // Chunk k's new bytes start at k * kChunk; its window starts 7 bytes earlier.
  const std::vector<std::uint64_t> places = {
      3 * kChunk - 8,   // ends at the last byte of a window
      5 * kChunk - 7,   // starts at the first byte of the next window (the carried bytes)
      7 * kChunk - 3,   // straddles the boundary
      9 * kChunk,       // starts with the new bytes
      11 * kChunk - 1,  // its first byte is the last of a chunk
      13 * kChunk - 4,  // half and half
      15 * kChunk + 1,
      20 * kChunk - 8,  // ends at the end of the file
  };
  Found expected;
  for (std::size_t i = 0; i < places.size(); ++i) {
    const Bytes& instance = rules[i].instance;
    std::copy(instance.begin(), instance.end(), data.begin() + static_cast<std::ptrdiff_t>(places[i]));
    expected.emplace_back(rules[i].name, places[i]);
  }
  // The star rule: its first piece straddles one boundary, its second another.
  std::copy(first.begin(), first.end(), data.begin() + static_cast<std::ptrdiff_t>(16 * kChunk - 2));
  std::copy(second.begin(), second.end(), data.begin() + static_cast<std::ptrdiff_t>(17 * kChunk - 5));
  expected.emplace_back(star.name, 16 * kChunk - 2);

  CHECK(whole_matches(set, data) == expected);
  CHECK(found(stream_matches(set, data, kChunk)) == expected);
  set.use_literal_index(false);
  CHECK(found(stream_matches(set, data, kChunk)) == expected);
}

TEST_CASE("sets with no or one unanchored pattern search alone", "[literal_index][set]") {
  SignatureSet empty;
  CHECK(empty.indexed_patterns() == 0);
  CHECK(whole_matches(empty, flscan::test::hex_bytes("41424344")).empty());

  std::vector<Rule> one(1);
  one[0].name = "One";
  one[0].line = "One:0:*:4142434445";
  const SignatureSet set = load_rules(one);
  CHECK(set.indexed_patterns() == 1);
  CHECK(whole_matches(set, flscan::test::hex_bytes("00 4142434445 4142434445")) == Found{{"One", 1}});
  CHECK(found(stream_matches(set, flscan::test::hex_bytes("00 4142434445 4142434445"), 3)) == Found{{"One", 1}});
}
