// engine/pattern.{h,cpp}: every hex construct of the ClamAV subset, matching and not matching,
// the rejections, the step budget, and a randomised cross-check against std::regex.
#include <catch2/catch.hpp>

#include <random>
#include <regex>
#include <string>

#include "engine/limits.h"
#include "engine/sig/pattern.h"
#include "tests/signatures/test_util.h"

using namespace flscan;
using namespace flscan::sig;
using flscan::test::Bytes;
using flscan::test::hex_bytes;
using flscan::test::text_bytes;
using flscan::test::view_of;

namespace {

Pattern compile(std::string_view hex) {
  auto p = Pattern::compile(hex);
  INFO("pattern " << hex << ": " << (p ? std::string() : p.error().reason));
  REQUIRE(p);
  return std::move(*p);
}

// The leftmost match start anywhere in `data`, or -1.
long long find_in(std::string_view hex, const Bytes& data) {
  const Pattern p = compile(hex);
  const SearchResult r = p.search(view_of(data), 0, data.size());
  REQUIRE(r.outcome != MatchOutcome::cap_hit);
  return r.outcome == MatchOutcome::match ? static_cast<long long>(r.start) : -1;
}

bool matches_at(std::string_view hex, const Bytes& data, std::uint64_t start) {
  const Pattern p = compile(hex);
  return p.match_at(view_of(data), start).outcome == MatchOutcome::match;
}

std::string rejection(std::string_view hex) {
  auto p = Pattern::compile(hex);
  if (p) return "accepted";
  return p.error().reason;
}

const Bytes kAlphabet = text_bytes("xxABCDEFGHIJKLMNOPxx");  // 'A' at 2

}  // namespace

TEST_CASE("byte pairs match exactly, either case", "[pattern]") {
  CHECK(find_in("414243", kAlphabet) == 2);
  CHECK(find_in("4a4B4c", kAlphabet) == 11);
  CHECK(find_in("414244", kAlphabet) == -1);
  CHECK(find_in("4f5078787878", kAlphabet) == -1);  // runs past the end
  const SearchResult r = compile("444546").search(view_of(kAlphabet), 0, kAlphabet.size());
  CHECK(r.start == 5);
  CHECK(r.end == 8);
}

TEST_CASE("?? and nibbles", "[pattern]") {
  const Bytes data = hex_bytes("00 41 ff 43 44 5a 6b");
  CHECK(find_in("4344??6b", data) == 3);
  CHECK(find_in("??4344", data) == 2);
  CHECK(find_in("4344????", data) == 3);
  CHECK(find_in("4344??????", data) == -1);  // past the end
  CHECK(find_in("41f?4344", data) == 1);     // high nibble
  CHECK(find_in("41e?4344", data) == -1);
  CHECK(find_in("41?f4344", data) == 1);  // low nibble
  CHECK(find_in("41?e4344", data) == -1);
  CHECK(find_in("43445?6?", data) == 3);
  CHECK(find_in("4344?a?b", data) == 3);
  CHECK(find_in("4344?b", data) == -1);
}

TEST_CASE("* matches any number of bytes, in order", "[pattern]") {
  CHECK(find_in("4142*4546", kAlphabet) == 2);
  CHECK(find_in("4142*4344", kAlphabet) == 2);   // zero bytes between
  CHECK(find_in("4546*4142", kAlphabet) == -1);  // order matters
  CHECK(find_in("4142*4142", kAlphabet) == -1);  // parts do not overlap
  CHECK(find_in("4142*4b4c*4f50", kAlphabet) == 2);
  CHECK(find_in("4142*4b4c*4f51", kAlphabet) == -1);
}

TEST_CASE("{n} skips exactly n bytes, also n >= 128", "[pattern]") {
  CHECK(find_in("4142{2}4546", kAlphabet) == 2);
  CHECK(find_in("4142{1}4546", kAlphabet) == -1);
  CHECK(find_in("4142{3}4546", kAlphabet) == -1);
  CHECK(find_in("{2}4142", kAlphabet) == 0);
  CHECK(find_in("4f50{2}", kAlphabet) == 16);
  CHECK(find_in("4f50{3}", kAlphabet) == -1);
  Bytes big(300, 0);
  big[10] = 0x11, big[11] = 0x22, big[10 + 2 + 200] = 0x33, big[10 + 2 + 201] = 0x44;
  CHECK(find_in("1122{200}3344", big) == 10);
  CHECK(find_in("1122{199}3344", big) == -1);
  CHECK(find_in("1122{201}3344", big) == -1);
}

TEST_CASE("{n-m}, {-n} and {n-} bound the gap", "[pattern]") {
  // 'AB' at 2, 'EF' at 6: a gap of two bytes.
  CHECK(find_in("4142{2-3}4546", kAlphabet) == 2);
  CHECK(find_in("4142{0-2}4546", kAlphabet) == 2);
  CHECK(find_in("4142{3-5}4546", kAlphabet) == -1);
  CHECK(find_in("4142{0-1}4546", kAlphabet) == -1);
  CHECK(find_in("4142{-2}4546", kAlphabet) == 2);
  CHECK(find_in("4142{-1}4546", kAlphabet) == -1);
  CHECK(find_in("4142{2-}4546", kAlphabet) == 2);
  CHECK(find_in("4142{1-}4546", kAlphabet) == 2);
  CHECK(find_in("4142{3-}4546", kAlphabet) == -1);
  CHECK(find_in("4142{2-2}4546", kAlphabet) == 2);
}

TEST_CASE("alternations: single bytes, equal and different lengths, with backtracking", "[pattern]") {
  CHECK(find_in("(41|58)4243", kAlphabet) == 2);
  CHECK(find_in("(58|59)4243", kAlphabet) == -1);
  CHECK(find_in("4142(4344|5859)4546", kAlphabet) == 2);
  CHECK(find_in("4142(5859|4344)4546", kAlphabet) == 2);
  CHECK(find_in("4142(5859|5a5b)4546", kAlphabet) == -1);
  CHECK(find_in("4142(4344|58)4546", kAlphabet) == 2);
  CHECK(find_in("4142(58|4344)4546", kAlphabet) == 2);
  CHECK(find_in("4142(43|5859)4546", kAlphabet) == -1);
  // The first member fits here but the rest does not: the matcher must try the second.
  CHECK(find_in("4142(4344|43)444546", kAlphabet) == 2);
  CHECK(find_in("(4142|41)424344", kAlphabet) == 2);
  // Wildcards inside members.
  CHECK(find_in("4142(4?44|58)4546", kAlphabet) == 2);
  CHECK(find_in("4142(?3|58)4445", kAlphabet) == 2);
  CHECK(find_in("4142(43??|5859)4546", kAlphabet) == 2);
  CHECK(find_in("4142(43????|5859)4647", kAlphabet) == 2);
  CHECK(find_in("4142(43??|5859)4647", kAlphabet) == -1);
  // A jump before an alternation.
  CHECK(find_in("4142{-4}(44|45)4647", kAlphabet) == 2);
  // Several alternations.
  CHECK(find_in("(41|42)(42|43)4344", kAlphabet) == 2);
}

TEST_CASE("search reports the leftmost start inside the window", "[pattern]") {
  const Bytes data = text_bytes("ABxxABxxABxx");
  const Pattern p = compile("4142");
  CHECK(p.search(view_of(data), 0, 100).start == 0);
  CHECK(p.search(view_of(data), 1, 100).start == 4);
  CHECK(p.search(view_of(data), 5, 8).start == 8);
  CHECK(p.search(view_of(data), 5, 7).outcome == MatchOutcome::no_match);
  CHECK(p.match_at(view_of(data), 4).outcome == MatchOutcome::match);
  CHECK(p.match_at(view_of(data), 3).outcome == MatchOutcome::no_match);
  CHECK(p.match_at(view_of(data), 1000).outcome == MatchOutcome::no_match);
  CHECK(matches_at("????4142", data, 2));
  CHECK_FALSE(matches_at("????4142", data, 3));
}

TEST_CASE("the prefilter finds matches at variable distances from the start", "[pattern]") {
  // The anchor literal (5a5a5a) sits behind an alternation of different lengths and a ranged jump.
  Bytes data(4096, 0x41);
  flscan::test::put_bytes(data, 3000, hex_bytes("1122 33 44 55 5a5a5a"));
  CHECK(find_in("1122(33|3344)55{0-2}5a5a5a", data) == 3000);
  CHECK(find_in("1122(33|3344)5a5a5a", data) == -1);
  const Pattern p = compile("1122(33|3344)55{0-2}5a5a5a");
  CHECK(p.search(view_of(data), 3001, 4096).outcome == MatchOutcome::no_match);
  CHECK(p.search(view_of(data), 0, 2999).outcome == MatchOutcome::no_match);
  CHECK(p.search(view_of(data), 2999, 3000).start == 3000);
}

TEST_CASE("length bounds", "[pattern]") {
  CHECK(compile("4142").min_length() == 2);
  CHECK(compile("4142{2-5}(43|4445)4647").min_length() == 7);
  CHECK(compile("4142{2-5}(43|4445)4647").max_length() == std::optional<std::uint64_t>(11));
  CHECK_FALSE(compile("4142*4344").max_length().has_value());
  CHECK(Pattern().empty());
  CHECK(Pattern().search(view_of(kAlphabet), 0, 100).outcome == MatchOutcome::no_match);
}

TEST_CASE("unsupported and malformed syntax is rejected with a reason", "[pattern]") {
  CHECK_THAT(rejection("!(41|42)4344"), Catch::Contains("negated"));
  CHECK_THAT(rejection("4142(B)4344"), Catch::Contains("character class"));
  CHECK_THAT(rejection("4142(L)4344"), Catch::Contains("character class"));
  CHECK_THAT(rejection("4142(W)4344"), Catch::Contains("character class"));
  CHECK_THAT(rejection("4142[1-2]43"), Catch::Contains("anchored byte"));
  CHECK_THAT(rejection("41424"), Catch::Contains("odd number"));
  CHECK_THAT(rejection("4142 4344"), Catch::Contains("unexpected character"));
  CHECK_THAT(rejection("4142g4"), Catch::Contains("unexpected character"));
  CHECK_THAT(rejection(""), Catch::Contains("empty"));
  CHECK_THAT(rejection("4142*"), Catch::Contains("cannot end"));
  CHECK_THAT(rejection("*4142"), Catch::Contains("cannot begin"));
  CHECK_THAT(rejection("{1-2}4142"), Catch::Contains("cannot begin"));
  CHECK_THAT(rejection("4142{-3}"), Catch::Contains("cannot end"));
  CHECK_THAT(rejection("{200}4142"), Catch::Contains("cannot begin"));
  CHECK_THAT(rejection("41*4243"), Catch::Contains("two consecutive fixed bytes"));
  CHECK_THAT(rejection("4142*43??44"), Catch::Contains("two consecutive fixed bytes"));
  CHECK_THAT(rejection("4142**4344"), Catch::Contains("two consecutive fixed bytes"));
  CHECK_THAT(rejection("4142{1-3}(45|46)"), Catch::Contains("two consecutive fixed bytes"));
  CHECK_THAT(rejection("41??42"), Catch::Contains("two consecutive fixed bytes"));
  CHECK_THAT(rejection("4142{3-2}4344"), Catch::Contains("n <= m"));
  CHECK_THAT(rejection("4142{}4344"), Catch::Contains("needs a number"));
  CHECK_THAT(rejection("4142{-}4344"), Catch::Contains("needs a number"));
  CHECK_THAT(rejection("4142{2x}4344"), Catch::Contains("'}'"));
  CHECK_THAT(rejection("4142{2"), Catch::Contains("'}'"));
  CHECK_THAT(rejection("4142{99999999999}4344"), Catch::Contains("limit"));
  CHECK_THAT(rejection("4142((41|42)|43)"), Catch::Contains("nested"));
  CHECK_THAT(rejection("4142(41|)4344"), Catch::Contains("empty alternative"));
  CHECK_THAT(rejection("4142(41)4344"), Catch::Contains("at least two"));
  CHECK_THAT(rejection("4142(41|42"), Catch::Contains("unterminated"));
  CHECK_THAT(rejection("4142(41|42*43)4344"), Catch::Contains("'*'"));
  CHECK_THAT(rejection("4142(41{2}|42)4344"), Catch::Contains("inside an alternation"));
  CHECK_THAT(rejection("4142(41{1-2}|42)4344"), Catch::Contains("inside an alternation"));
  // ClamAV reads a maximum of 0 as unbounded.
  CHECK_THAT(rejection("4142{0}4344"), Catch::Contains("maximum of 0"));
  CHECK_THAT(rejection("4142{-0}4344"), Catch::Contains("maximum of 0"));
  CHECK_THAT(rejection("4142{0-0}4344"), Catch::Contains("maximum of 0"));
  CHECK_THAT(rejection("4142)4344"), Catch::Contains("unexpected"));
  std::string many = "4142(";
  for (std::size_t i = 0; i <= limits::kMaxAlternatives; ++i) many += (i ? "|" : "") + std::string("41");
  CHECK_THAT(rejection(many + ")"), Catch::Contains("alternatives"));
  // Errors carry the 1-based column of the offending element.
  auto err = Pattern::compile("4142!(41|42)");
  REQUIRE_FALSE(err);
  CHECK(err.error().column == 5);
}

TEST_CASE("the step budget stops pathological backtracking and says so", "[pattern][budget]") {
  // Four nested ranged jumps over a buffer where every position is a candidate and the final
  // literal never occurs: 61^4 paths, far past kMaxMatchStepsPerStart.
  const Bytes data(2000, 0x41);
  const Pattern p = compile("4141{0-60}4141{0-60}4141{0-60}4141{0-60}4343");
  const SearchResult r = p.search(view_of(data), 0, 0);
  CHECK(r.outcome == MatchOutcome::cap_hit);
  // The same shape with a reachable end matches well within the budget.
  Bytes ok = data;
  flscan::test::put_bytes(ok, 20, hex_bytes("4343"));
  CHECK(p.search(view_of(ok), 0, 0).outcome == MatchOutcome::match);
}

TEST_CASE("`*` stays linear: failures after a star are remembered", "[pattern][budget]") {
  // Without the memo every start would rescan the rest of the megabyte for each star.
  Bytes data(1 << 20, 0x41);
  const Pattern p = compile("4141*4242*4343*4444");
  CHECK(p.search(view_of(data), 0, data.size()).outcome == MatchOutcome::no_match);
  flscan::test::put_bytes(data, 900000, hex_bytes("4242"));
  flscan::test::put_bytes(data, 950000, hex_bytes("4343"));
  flscan::test::put_bytes(data, 1000000, hex_bytes("4444"));
  const SearchResult r = p.search(view_of(data), 0, data.size());
  CHECK(r.outcome == MatchOutcome::match);
  CHECK(r.start == 0);
  CHECK(r.end == 1000002);
}

TEST_CASE("a failure after the first `*` ends the search: no start cap on repetitive files", "[pattern][budget]") {
  // Every position starts with 4141, so without the cut each of the 70 million positions would be a
  // start, past limits::kMaxMatchStartsPerPattern.
  static_assert(limits::kMaxMatchStartsPerPattern < 70'000'000);
  const Bytes data(70'000'000, 0x41);
  const SearchResult r = compile("4141*414141414142").search(view_of(data), 0, data.size());
  CHECK(r.outcome == MatchOutcome::no_match);
}

namespace {

unsigned pick(std::mt19937& rng, unsigned n) { return static_cast<unsigned>(rng() % n); }

std::string byte_regex(std::uint8_t b) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", b);
  return buf;
}

// One random element: its hex form and its regex form.
struct Element {
  std::string hex;
  std::string regex;
};

Element random_fixed_byte(std::mt19937& rng) {
  static const std::uint8_t kBytes[] = {0x41, 0x42, 0x43, 0x00};
  const std::uint8_t b = kBytes[pick(rng, 4)];
  char buf[4];
  std::snprintf(buf, sizeof buf, "%02x", b);
  return {buf, byte_regex(b)};
}

Element random_element(std::mt19937& rng, bool in_alternation) {
  switch (pick(rng, (in_alternation ? 5 : 7))) {
    case 0:
    case 1:
      return random_fixed_byte(rng);
    case 2:
      return {"??", "[\\s\\S]"};
    case 3: {
      const unsigned nib = pick(rng, 2) ? 4 : 0;
      std::string cls = "[";
      for (unsigned lo = 0; lo < 16; ++lo) cls += byte_regex(static_cast<std::uint8_t>(nib * 16 + lo));
      return {std::to_string(nib) + "?", cls + "]"};
    }
    case 4: {
      if (in_alternation) return {"??", "[\\s\\S]"};  // no jumps inside alternations
      const unsigned lo = pick(rng, 3), hi = std::max(1u, lo + pick(rng, 3));
      return {"{" + std::to_string(lo) + "-" + std::to_string(hi) + "}",
              "[\\s\\S]{" + std::to_string(lo) + "," + std::to_string(hi) + "}"};
    }
    case 5: {
      Element alt{"(", "(?:"};
      const unsigned members = 2 + pick(rng, 2);
      for (unsigned m = 0; m < members; ++m) {
        if (m) alt.hex += "|", alt.regex += "|";
        const unsigned len = 1 + pick(rng, 3);
        for (unsigned i = 0; i < len; ++i) {
          const Element e = random_element(rng, true);
          alt.hex += e.hex;
          alt.regex += e.regex;
        }
      }
      alt.hex += ")";
      alt.regex += ")";
      return alt;
    }
    default:
      return pick(rng, 2) ? Element{"*", "[\\s\\S]*"} : Element{"{1-}", "[\\s\\S]{1,}"};
  }
}

}  // namespace

TEST_CASE("matching agrees with std::regex on random patterns and buffers", "[pattern][random]") {
  std::mt19937 rng(20261101);
  int compared = 0, matched = 0;
  for (int round = 0; round < 3000; ++round) {
    // Pattern: fixed pair, random elements, fixed pair (keeps ClamAV's part rules mostly true).
    Element first = random_fixed_byte(rng), second = random_fixed_byte(rng);
    std::string hex = first.hex + second.hex;
    std::string re = first.regex + second.regex;
    const unsigned count = pick(rng, 5);
    for (unsigned i = 0; i < count; ++i) {
      const Element e = random_element(rng, false);
      hex += e.hex;
      re += e.regex;
      if (e.hex == "*" || e.hex[0] == '{') {  // a new part needs its own two fixed bytes
        const Element a = random_fixed_byte(rng), b = random_fixed_byte(rng);
        hex += a.hex + b.hex;
        re += a.regex + b.regex;
      }
    }
    auto compiled = Pattern::compile(hex);
    if (!compiled) continue;
    Bytes data(static_cast<std::size_t>(pick(rng, 40)), 0);
    static const std::uint8_t kData[] = {0x41, 0x42, 0x43, 0x00};
    for (auto& b : data) b = kData[pick(rng, 4)];
    const std::string subject(data.begin(), data.end());
    const std::regex regex(re, std::regex::ECMAScript);
    ++compared;
    std::smatch m;
    const bool expected = std::regex_search(subject, m, regex);
    const SearchResult got = compiled->search(view_of(data), 0, data.size());
    INFO("pattern " << hex << " regex " << re << " data " << subject);
    REQUIRE(got.outcome != MatchOutcome::cap_hit);
    REQUIRE((got.outcome == MatchOutcome::match) == expected);
    if (expected) {
      ++matched;
      REQUIRE(got.start == static_cast<std::uint64_t>(m.position(0)));
    }
    // Anchored at every start as well.
    for (std::size_t s = 0; s <= data.size(); ++s) {
      const bool here = std::regex_search(subject.begin() + static_cast<std::ptrdiff_t>(s), subject.end(), m, regex,
                                          std::regex_constants::match_continuous);
      INFO("start " << s);
      REQUIRE((compiled->match_at(view_of(data), s).outcome == MatchOutcome::match) == here);
    }
  }
  CHECK(compared > 1500);
  CHECK(matched > 200);
}

TEST_CASE("mutated pattern text compiles or is rejected, and never misbehaves when matching", "[pattern][random]") {
  // A small in-process fuzzer over the hex syntax (run under the ASan preset too).
  std::mt19937 rng(99);
  const std::string seeds[] = {"4142*4344", "4142{2-5}(43|4445)4647",
                               "41?2(4142|43?"
                               "?)4344{-3}4545",
                               "4d5a{58}80000000", "4142{200}4344*4546{3-}4748"};
  const std::string alphabet = "0123456789abcdefAF?*{}-()|!BLW[] ";
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string text = seeds[pick(rng, 5)];
    const unsigned edits = 1 + pick(rng, 4);
    for (unsigned e = 0; e < edits; ++e) {
      const std::size_t at = pick(rng, static_cast<unsigned>(text.size() + 1));
      const char c = alphabet[pick(rng, static_cast<unsigned>(alphabet.size()))];
      switch (pick(rng, 3)) {
        case 0:
          text.insert(at, 1, c);
          break;
        case 1:
          if (at < text.size()) text.erase(at, 1);
          break;
        default:
          if (at < text.size()) text[at] = c;
          break;
      }
    }
    auto p = Pattern::compile(text);
    if (!p) {
      INFO(text);
      CHECK(p.error().column >= 1);
      CHECK(p.error().column <= text.size() + 1);
      CHECK_FALSE(p.error().reason.empty());
      continue;
    }
    ++accepted;
    Bytes data(pick(rng, 300), 0);
    static const std::uint8_t kData[] = {0x41, 0x42, 0x43, 0x44, 0x45, 0x00, 0x4d, 0x5a, 0x80};
    for (auto& b : data) b = kData[pick(rng, 9)];
    const SearchResult r = p->search(view_of(data), 0, data.size());
    if (r.outcome == MatchOutcome::match) {
      CHECK(r.start <= r.end);
      CHECK(r.end <= data.size());
      CHECK(r.end - r.start >= p->min_length());
      CHECK(p->match_at(view_of(data), r.start).outcome == MatchOutcome::match);
    }
  }
  CHECK(accepted > 1000);
}
