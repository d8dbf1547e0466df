// A compiled ClamAV body-signature hex pattern (the HexSignature field of an .ndb line) and its
// matcher. The accepted syntax is the subset signatures/README.md lists; everything else is
// rejected at compile time with the column and the reason, never silently ignored.
//
// Matching is a small backtracking machine over compiled instructions, with an explicit stack
// (no recursion, so a long pattern cannot overflow a worker's stack) and a step budget per start
// position (limits::kMaxMatchStepsPerStart). Unanchored searches use a literal prefilter: the
// matcher looks for the pattern's best fixed byte run (its anchor literal) with a linear substring
// search (memmem) and only verifies around its occurrences; after a jump, only where the next fixed
// run occurs. Pattern::Search is that search driven from outside: a caller that finds the anchors
// of many patterns in one pass (LiteralIndex, issue 19) offers it the occurrences instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/byte_view.h"

namespace flscan::sig {

// Bytes a heap allocation of `bytes` takes (glibc malloc: a header, 16-byte granularity, 32 bytes
// at least); 0 for none. For the loader's memory budget.
[[nodiscard]] std::size_t heap_allocation_bytes(std::size_t bytes);

struct PatternError {
  std::size_t column = 0;  // 1-based column in the hex text
  std::string reason;
};

enum class MatchOutcome {
  no_match,
  match,
  cap_hit,  // a limit stopped the search before it could decide: the result is unknown
};

struct SearchResult {
  MatchOutcome outcome = MatchOutcome::no_match;
  std::uint64_t start = 0;  // file offset where the match starts (outcome == match)
  std::uint64_t end = 0;    // one past its last byte
};

class Pattern {
  struct Frame {
    std::uint32_t pc = 0;        // the jump or alternation instruction
    std::uint32_t next_alt = 0;  // alternation: next member to try
    std::uint64_t pos = 0;       // alternation: where members start; jump: next candidate position
    std::uint64_t last = 0;      // jump: last candidate position
    std::uint64_t entry = 0;     // jump: first candidate position (for the unbounded-jump memo)
  };

 public:
  // Sentinel for an unbounded jump (`*`, `{n-}`).
  static constexpr std::uint32_t kUnbounded = 0xFFFFFFFFu;

  // A default-constructed pattern is empty and matches nothing.
  Pattern() = default;

  // Compiles ClamAV hex syntax: byte pairs, `??`, nibbles `a?` / `?a`, `*`, `{n}`, `{n-m}`,
  // `{-n}`, `{n-}` and alternations `(aa|bbcc|…)` whose members are byte sequences (of any
  // lengths) that may use `??` and nibbles. ClamAV's loading rules are enforced too: each part
  // between `*` / ranged jumps / jumps of 128 bytes or more must hold two consecutive fixed bytes,
  // and the pattern may not begin or end with such a jump. Jumps whose maximum is 0 are refused
  // (ClamAV reads that maximum as "unbounded"), as are jumps inside alternations.
  [[nodiscard]] static tl::expected<Pattern, PatternError> compile(std::string_view hex);

  // The leftmost start s with first <= s <= last at which the pattern matches `data`.
  [[nodiscard]] SearchResult search(ByteView data, std::uint64_t first, std::uint64_t last) const;
  // A match starting exactly at `start`.
  [[nodiscard]] SearchResult match_at(ByteView data, std::uint64_t start) const { return search(data, start, start); }

  // The literal a wide search looks for first (empty when the pattern has none).
  [[nodiscard]] std::span<const std::uint8_t> anchor_literal() const;

  class Search;
  // Memory searches reuse: one per thread, for any number of searches one after another.
  class Scratch {
    friend class Pattern;
    friend class Search;
    std::vector<Frame> stack_;
  };

  // search(data, first, last), step by step. The constructor decides what needs no anchor (a
  // narrow start window is tried position by position); otherwise offer() takes the occurrences of
  // anchor_literal() that start in [hit_from(), hit_to()] (and end inside `data`), in increasing
  // order, each once, until done(). When no occurrence is left, result() is the search's result:
  // the same match, cap hit or no match, after the same steps, as search() (which is this with
  // memmem finding the occurrences: finish_alone()).
  class Search {
   public:
    Search(const Pattern& pattern, ByteView data, std::uint64_t first, std::uint64_t last, Scratch& scratch);
    [[nodiscard]] bool done() const { return done_; }
    [[nodiscard]] std::uint64_t hit_from() const { return hit_from_; }
    [[nodiscard]] std::uint64_t hit_to() const { return hit_to_; }
    // The anchor literal starts at `hit`; true when the search is decided (done()).
    bool offer(std::uint64_t hit, Scratch& scratch);
    // Finds the remaining occurrences itself (memmem) and returns the result.
    SearchResult finish_alone(Scratch& scratch);
    [[nodiscard]] const SearchResult& result() const { return result_; }

   private:
    bool try_start(std::uint64_t start, Scratch& scratch);

    const Pattern* pattern_;
    ByteView data_;
    std::uint64_t first_ = 0;
    std::uint64_t last_ = 0;
    std::uint64_t hit_from_ = 0;
    std::uint64_t hit_to_ = 0;
    std::uint64_t next_start_ = 0;  // starts below it were tried (each start at most once)
    std::uint64_t starts_ = 0;
    std::vector<std::uint64_t> fail_from_;
    SearchResult result_;
    bool done_ = true;
  };

  [[nodiscard]] bool empty() const { return program_.empty(); }
  [[nodiscard]] const std::string& text() const { return text_; }
  // Drops the stored copy of the hex text (a piece cut for streaming never needs it).
  void drop_text() { std::string().swap(text_); }
  // Bytes this pattern takes on the heap, allocator overhead included (the loader's memory
  // budget, limits::kSignatureMemoryPerTextByte, charges it).
  [[nodiscard]] std::size_t heap_bytes() const;
  // Fewest bytes any match spans, and the most (nothing when a jump is unbounded).
  [[nodiscard]] std::uint64_t min_length() const { return min_length_; }
  [[nodiscard]] std::optional<std::uint64_t> max_length() const { return max_length_; }

 private:
  enum class Op : std::uint8_t {
    literal,  // bytes_[a, a+b) must follow exactly
    masked,   // one byte: (byte & mask) == value
    jump,     // skip between a and b bytes (b == kUnbounded: any number)
    alt,      // alternatives alt_starts_[a, a+b): one of them must follow
    resume,   // end of an alternative: continue at instruction a
    accept,   // end of the main sequence: the pattern matched
  };
  struct Instr {
    Op op = Op::literal;
    std::uint8_t value = 0;
    std::uint8_t mask = 0;
    std::uint32_t a = 0;
    std::uint32_t b = 0;
    std::uint32_t memo_slot = 0;  // unbounded jump: its slot in fail_from, plus 1 (0: none)
    std::uint64_t min_rest = 0;   // fewest bytes needed from this instruction to the end
  };
  // The literal a search looks for first, and how far from the start of a match it can lie.
  struct Anchor {
    std::uint32_t pc = 0;  // the literal instruction
    std::uint64_t min_distance = 0;
    std::uint64_t max_distance = 0;
  };
  class Compiler;

  [[nodiscard]] MatchOutcome run(ByteView data, std::uint64_t start, std::vector<Frame>& stack,
                                 std::vector<std::uint64_t>& fail_from, std::uint64_t& end) const;
  [[nodiscard]] bool next_jump_candidate(ByteView data, Frame& frame, std::uint64_t& steps) const;

  std::string text_;
  std::vector<Instr> program_;             // main sequence [0, main_end_), accept, then alternative bodies
  std::uint32_t main_end_ = 0;             // index of the accept instruction
  std::vector<std::uint32_t> alt_starts_;  // first instruction of each alternative
  std::vector<std::uint8_t> bytes_;        // literal bytes
  std::uint32_t memo_slots_ = 0;
  // The first unbounded jump: its memo slot (0: none) and the fewest bytes from the start of a
  // match to its first candidate. Once the rest after it failed from position F, no start at or
  // beyond F - entry can match, which ends a search early.
  std::uint32_t first_unbounded_slot_ = 0;
  std::uint64_t first_unbounded_entry_ = 0;
  std::optional<Anchor> anchor_;
  std::uint64_t min_length_ = 0;
  std::optional<std::uint64_t> max_length_;
};

}  // namespace flscan::sig
