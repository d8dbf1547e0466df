#include "engine/sig/pattern.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <span>
#include <utility>

#include "engine/limits.h"

namespace flscan::sig {
namespace {

// ClamAV turns `{n}` with n < 128 into n `??` wildcards; longer fixed jumps, like every ranged
// jump and `*`, split a signature into parts that each need their own two fixed bytes
// (ClamAV manual, "Body-based Signature Content Format", Wildcards).
constexpr std::uint32_t kClamAvInlineJumpLimit = 128;
// Start windows this narrow are tried position by position; wider ones go through the prefilter.
constexpr std::uint64_t kDirectStartWindow = 16;
// A memchr over this many bytes costs one step of the per-start budget.
constexpr unsigned kScanBytesPerStepShift = 12;

// One element of the hex text. Plain data: a pattern's tokens live in flat vectors (Parsed), so
// parsing a signature costs a few allocations whatever its length (100,000-line databases).
struct Token {
  enum class Kind : std::uint8_t { byte, jump, star, alt };
  Kind kind = Kind::byte;
  std::uint8_t value = 0;
  std::uint8_t mask = 0xFF;  // 0xFF exact, 0xF0 / 0x0F nibble, 0x00 for `??`
  bool splits = false;       // ends a ClamAV part (see kClamAvInlineJumpLimit)
  std::uint32_t min = 0;
  std::uint32_t max = 0;
  std::uint32_t first_member = 0;  // alt: its members are Parsed::members[first_member, +members)
  std::uint32_t members = 0;
  std::size_t column = 0;

  [[nodiscard]] bool exact_byte() const { return kind == Kind::byte && mask == 0xFF; }
  [[nodiscard]] bool part_boundary() const { return kind == Kind::star || (kind == Kind::jump && splits); }
};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// The first position in [from, last] where `literal` starts, or nothing. memmem (find_bytes:
// POSIX.1-2024, glibc's two-way search) is linear in the window whatever the bytes, so neither a repetitive file
// nor a long literal can make the search quadratic.
std::optional<std::uint64_t> find_literal(ByteView data, std::uint64_t from, std::uint64_t last,
                                          std::span<const std::uint8_t> literal) {
  if (from > last || !data.contains(from, literal.size())) return std::nullopt;
  const std::uint64_t end = std::min<std::uint64_t>(saturating_add(last, literal.size()), data.size());
  const std::uint8_t* hit =
      find_bytes(data.data() + from, static_cast<std::size_t>(end - from), literal.data(), literal.size());
  if (hit == nullptr) return std::nullopt;
  return static_cast<std::uint64_t>(hit - data.data());
}

// A parsed pattern: the top-level sequence, and the members of its alternations (which hold
// only bytes: no jumps, no nested alternations) one after another in one vector.
struct Parsed {
  struct Member {
    std::uint32_t begin = 0;  // its tokens: alt_tokens[begin, end)
    std::uint32_t end = 0;
  };
  std::vector<Token> tokens;
  std::vector<Token> alt_tokens;
  std::vector<Member> members;

  [[nodiscard]] std::span<const Token> member(std::size_t m) const {
    return std::span<const Token>(alt_tokens.data() + members[m].begin, members[m].end - members[m].begin);
  }

  // How many instructions and literal bytes the Compiler emits for this pattern, so that it can
  // size Pattern's vectors once: adjacent exact bytes merge into one literal and adjacent jumps
  // (and `??`) into one jump, within one sequence (the main one or an alternative's).
  [[nodiscard]] std::size_t instruction_count() const {
    auto count = [](std::span<const Token> sequence) {
      std::size_t n = 0;
      int previous = -1;
      for (const Token& t : sequence) {
        const bool jump_like = t.kind == Token::Kind::jump || t.kind == Token::Kind::star ||
                               (t.kind == Token::Kind::byte && t.mask == 0x00);
        const int merge_class = t.exact_byte() ? 0 : jump_like ? 1 : 2;  // 2: never merges
        if (merge_class == 2 || merge_class != previous) ++n;
        previous = merge_class;
      }
      return n;
    };
    std::size_t n = count(tokens) + 1;                                           // + accept
    for (std::size_t m = 0; m < members.size(); ++m) n += count(member(m)) + 1;  // + resume
    return n;
  }
  [[nodiscard]] std::size_t literal_byte_count() const {
    auto exact = [](const Token& t) { return t.exact_byte(); };
    return static_cast<std::size_t>(std::count_if(tokens.begin(), tokens.end(), exact) +
                                    std::count_if(alt_tokens.begin(), alt_tokens.end(), exact));
  }
};

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  tl::expected<Parsed, PatternError> parse() {
    Parsed parsed;
    parsed.tokens.reserve(text_.size() / 2 + 1);  // at most one token per two characters
    parsed_ = &parsed;
    if (auto ok = sequence(false, parsed.tokens); !ok) return tl::unexpected(ok.error());
    if (pos_ < text_.size()) return fail(pos_, std::string("unexpected '") + text_[pos_] + "'");
    return parsed;
  }

 private:
  static tl::unexpected<PatternError> fail(std::size_t index, std::string reason) {
    return tl::unexpected(PatternError{index + 1, std::move(reason)});
  }

  // A sequence of elements up to the end of the text, or (inside an alternation) up to `|` or `)`.
  tl::expected<void, PatternError> sequence(bool in_alternation, std::vector<Token>& out) {
    while (pos_ < text_.size()) {
      const char c = text_[pos_];
      if (in_alternation && (c == '|' || c == ')')) break;
      if (c == '*') {
        if (in_alternation) return fail(pos_, "'*' is not allowed inside an alternation");
        out.push_back(Token{Token::Kind::star, 0, 0, true, 0, Pattern::kUnbounded, 0, 0, pos_ + 1});
        ++pos_;
      } else if (c == '{') {
        auto jump = braces(in_alternation);
        if (!jump) return tl::unexpected(jump.error());
        out.push_back(*jump);
      } else if (c == '(') {
        if (in_alternation) return fail(pos_, "nested alternations are not supported");
        auto alternation = alternatives();
        if (!alternation) return tl::unexpected(alternation.error());
        out.push_back(*alternation);
      } else if (c == '!') {
        return fail(pos_, "negated alternation '!(...)' is not supported");
      } else if (c == '[') {
        return fail(pos_, "anchored byte range '[x-y]' is not supported");
      } else if (const int hi = hex_value(c); hi >= 0 && pos_ + 1 < text_.size() && hex_value(text_[pos_ + 1]) >= 0) {
        // Two hex digits, the most common element: decoded here rather than by byte_pair().
        Token t;
        t.value = static_cast<std::uint8_t>((hi << 4) | hex_value(text_[pos_ + 1]));
        t.column = pos_ + 1;
        out.push_back(t);
        pos_ += 2;
      } else if (c == '?' || hi >= 0) {
        auto byte = byte_pair();
        if (!byte) return tl::unexpected(byte.error());
        out.push_back(*byte);
      } else {
        return fail(pos_, std::string("unexpected character '") + c + "'");
      }
    }
    return {};
  }

  tl::expected<Token, PatternError> byte_pair() {
    const std::size_t start = pos_;
    if (pos_ + 1 >= text_.size() || (text_[pos_ + 1] != '?' && hex_value(text_[pos_ + 1]) < 0)) {
      return fail(start, "odd number of hex digits (every byte needs two)");
    }
    const char hi = text_[pos_];
    const char lo = text_[pos_ + 1];
    pos_ += 2;
    Token t;
    t.kind = Token::Kind::byte;
    t.column = start + 1;
    if (hi == '?' && lo == '?') {
      t.mask = 0x00;
    } else if (hi == '?') {
      t.mask = 0x0F;
      t.value = static_cast<std::uint8_t>(hex_value(lo));
    } else if (lo == '?') {
      t.mask = 0xF0;
      t.value = static_cast<std::uint8_t>(hex_value(hi) << 4);
    } else {
      t.value = static_cast<std::uint8_t>((hex_value(hi) << 4) | hex_value(lo));
    }
    return t;
  }

  // Decimal jump bound; nothing when no digits are there.
  tl::expected<std::optional<std::uint32_t>, PatternError> number() {
    const std::size_t start = pos_;
    std::uint64_t value = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      value = value * 10 + static_cast<std::uint64_t>(text_[pos_] - '0');
      if (value > limits::kMaxPatternJump) {
        return fail(start, "jump larger than the limit of " + std::to_string(limits::kMaxPatternJump) + " bytes");
      }
      ++pos_;
    }
    if (pos_ == start) return std::optional<std::uint32_t>{};
    return std::optional<std::uint32_t>{static_cast<std::uint32_t>(value)};
  }

  // `{n}`, `{n-m}`, `{-n}`, `{n-}`.
  tl::expected<Token, PatternError> braces(bool in_alternation) {
    const std::size_t start = pos_;
    // ClamAV 1.4 refuses most jumps inside alternations ("Alternative match contains unsupported
    // ranged wildcard") and matches the few it takes differently from their plain meaning.
    if (in_alternation) return fail(start, "jumps are not supported inside an alternation (use ?? per byte)");
    ++pos_;  // '{'
    auto low = number();
    if (!low) return tl::unexpected(low.error());
    Token t;
    t.kind = Token::Kind::jump;
    t.column = start + 1;
    if (pos_ < text_.size() && text_[pos_] == '-') {
      ++pos_;
      auto high = number();
      if (!high) return tl::unexpected(high.error());
      if (!*low && !*high) return fail(start, "jump '{-}' needs a number");
      t.min = low->value_or(0);
      t.max = high->value_or(Pattern::kUnbounded);
      if (t.min > t.max) return fail(start, "jump {n-m} needs n <= m");
      t.splits = true;
    } else {
      if (!*low) return fail(start, "jump '{}' needs a number");
      t.min = t.max = **low;
      t.splits = t.min >= kClamAvInlineJumpLimit;
    }
    if (pos_ >= text_.size() || text_[pos_] != '}') return fail(start, "unterminated or malformed jump (expected '}')");
    ++pos_;
    // ClamAV reads a maximum of 0 as "no maximum": {0}, {-0} and {n-0} all skip any number of
    // bytes there. flscan refuses them rather than give them either meaning silently.
    if (t.max == 0)
      return fail(start,
                  "a jump with a maximum of 0 ({0}, {-0}, {n-0}) means 'unbounded' to ClamAV; write {n-} or drop it");
    return t;
  }

  tl::expected<Token, PatternError> alternatives() {
    const std::size_t start = pos_;
    ++pos_;  // '('
    const std::string_view rest = text_.substr(pos_);
    if (rest.size() >= 2 && rest[1] == ')' && (rest[0] == 'B' || rest[0] == 'L' || rest[0] == 'W')) {
      return fail(start, std::string("character class '(") + rest[0] + ")' is not supported");
    }
    Token t;
    t.kind = Token::Kind::alt;
    t.column = start + 1;
    t.first_member = static_cast<std::uint32_t>(parsed_->members.size());
    for (;;) {
      const std::size_t member_start = pos_;
      const auto begin = static_cast<std::uint32_t>(parsed_->alt_tokens.size());
      if (auto ok = sequence(true, parsed_->alt_tokens); !ok) return tl::unexpected(ok.error());
      const auto end = static_cast<std::uint32_t>(parsed_->alt_tokens.size());
      if (begin == end) return fail(member_start, "empty alternative");
      parsed_->members.push_back(Parsed::Member{begin, end});
      ++t.members;
      if (t.members > limits::kMaxAlternatives) {
        return fail(start, "more than " + std::to_string(limits::kMaxAlternatives) + " alternatives");
      }
      if (pos_ >= text_.size()) return fail(start, "unterminated alternation (expected ')')");
      if (text_[pos_++] == ')') break;
    }
    if (t.members < 2) return fail(start, "an alternation needs at least two members");
    return t;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  Parsed* parsed_ = nullptr;
};

// ClamAV's loading rules (it rejects such signatures, so flscan does too): a pattern may not
// begin or end with `*` or a splitting jump, and every part between them needs two consecutive
// fixed bytes ("Can't find a static subpattern of length 2").
tl::expected<void, PatternError> check_parts(std::span<const Token> tokens) {
  if (tokens.empty()) return tl::unexpected(PatternError{1, "empty pattern"});
  if (tokens.front().part_boundary()) {
    return tl::unexpected(PatternError{tokens.front().column, "a pattern cannot begin with '*' or a ranged jump"});
  }
  if (tokens.back().part_boundary()) {
    return tl::unexpected(PatternError{tokens.back().column, "a pattern cannot end with '*' or a ranged jump"});
  }
  std::size_t part_column = tokens.front().column;
  std::size_t run = 0;
  std::size_t best = 0;
  auto close_part = [&](std::size_t column) -> tl::expected<void, PatternError> {
    if (best < 2) {
      return tl::unexpected(PatternError{column,
                                         "this part has no two consecutive fixed bytes (ClamAV requires them "
                                         "between '*' and ranged jumps)"});
    }
    return {};
  };
  for (const Token& t : tokens) {
    if (t.part_boundary()) {
      if (auto ok = close_part(part_column); !ok) return ok;
      part_column = t.column;
      run = best = 0;
    } else if (t.exact_byte()) {
      best = std::max(best, ++run);
    } else {
      run = 0;
    }
  }
  return close_part(part_column);
}

}  // namespace

class Pattern::Compiler {
 public:
  Compiler(Pattern& p, const Parsed& parsed) : p_(p), parsed_(parsed) {}

  void emit_sequence(std::span<const Token> tokens) {
    for (const Token& t : tokens) {
      switch (t.kind) {
        case Token::Kind::byte:
          if (t.mask == 0xFF) {
            literal_byte(t.value);
          } else if (t.mask == 0x00) {
            jump(1, 1);
          } else {
            Instr in;
            in.op = Op::masked;
            in.value = t.value;
            in.mask = t.mask;
            push(in);
          }
          break;
        case Token::Kind::jump:
        case Token::Kind::star:
          jump(t.min, t.max);
          break;
        case Token::Kind::alt: {
          Instr in;
          in.op = Op::alt;
          in.a = static_cast<std::uint32_t>(p_.alt_starts_.size());
          in.b = t.members;
          p_.alt_starts_.resize(p_.alt_starts_.size() + t.members);
          pending_.push_back({static_cast<std::uint32_t>(p_.program_.size()), &t});
          push(in);
          sequence_start_ = p_.program_.size();  // nothing merges across an alternation
          break;
        }
      }
    }
  }

  // Appends each alternative's body after the main sequence, each ending in a resume.
  void emit_alternatives() {
    for (std::size_t i = 0; i < pending_.size(); ++i) {
      const auto [alt_pc, token] = pending_[i];
      const std::uint32_t first = p_.program_[alt_pc].a;
      for (std::uint32_t m = 0; m < token->members; ++m) {
        p_.alt_starts_[first + m] = static_cast<std::uint32_t>(p_.program_.size());
        sequence_start_ = p_.program_.size();
        emit_sequence(parsed_.member(token->first_member + m));
        Instr resume;
        resume.op = Op::resume;
        resume.a = alt_pc + 1;
        push(resume);
      }
    }
  }

  void push(const Instr& in) { p_.program_.push_back(in); }

 private:
  void literal_byte(std::uint8_t value) {
    // Extend the previous literal when it belongs to the same sequence.
    if (mergeable(Op::literal)) {
      p_.bytes_.push_back(value);
      ++p_.program_.back().b;
      return;
    }
    Instr in;
    in.op = Op::literal;
    in.a = static_cast<std::uint32_t>(p_.bytes_.size());
    in.b = 1;
    p_.bytes_.push_back(value);
    push(in);
  }

  // True when the last instruction has operation `op` and belongs to the sequence being emitted
  // (never merge the first instruction of an alternative into what precedes it).
  [[nodiscard]] bool mergeable(Op op) const {
    return p_.program_.size() > sequence_start_ && p_.program_.back().op == op;
  }

  // Adjacent jumps (and `??`) merge: {a-b}{c-d} skips between a+c and b+d bytes.
  void jump(std::uint32_t min, std::uint32_t max) {
    if (min == 0 && max == 0) return;
    if (mergeable(Op::jump)) {
      Instr& last = p_.program_.back();
      last.a = static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{last.a} + min, kUnbounded - 1));
      last.b = (last.b == kUnbounded || max == kUnbounded)
                   ? kUnbounded
                   : static_cast<std::uint32_t>(std::min<std::uint64_t>(std::uint64_t{last.b} + max, kUnbounded - 1));
      return;
    }
    Instr in;
    in.op = Op::jump;
    in.a = min;
    in.b = max;
    push(in);
  }

  Pattern& p_;
  const Parsed& parsed_;
  std::vector<std::pair<std::uint32_t, const Token*>> pending_;
  std::size_t sequence_start_ = 0;  // first instruction of the sequence being emitted
};

tl::expected<Pattern, PatternError> Pattern::compile(std::string_view hex) {
  auto parsed = Parser(hex).parse();
  if (!parsed) return tl::unexpected(parsed.error());
  if (auto ok = check_parts(parsed->tokens); !ok) return tl::unexpected(ok.error());

  Pattern p;
  p.text_ = std::string(hex);
  // Their final sizes: one allocation each.
  p.program_.reserve(parsed->instruction_count());
  p.bytes_.reserve(parsed->literal_byte_count());
  Compiler compiler(p, *parsed);
  compiler.emit_sequence(parsed->tokens);
  p.main_end_ = static_cast<std::uint32_t>(p.program_.size());
  Instr accept;
  accept.op = Op::accept;
  compiler.push(accept);
  compiler.emit_alternatives();

  // Width of each instruction, and of each alternative body (from its first instruction to its
  // resume), so that each instruction's min_rest can be filled backwards.
  auto width_min = [&](const Instr& in) -> std::uint64_t {
    switch (in.op) {
      case Op::literal:
        return in.b;
      case Op::masked:
        return 1;
      case Op::jump:
        return in.a;
      default:
        return 0;
    }
  };
  // Alternative bodies first (they only hold literal/masked/jump/resume), relative to their resume.
  std::vector<std::uint64_t> body_min(p.alt_starts_.size(), 0), body_max(p.alt_starts_.size(), 0);
  for (std::size_t m = 0; m < p.alt_starts_.size(); ++m) {
    std::uint64_t lo = 0, hi = 0;
    for (std::uint32_t pc = p.alt_starts_[m]; p.program_[pc].op != Op::resume; ++pc) {
      const Instr& in = p.program_[pc];
      lo += width_min(in);
      hi += in.op == Op::jump ? in.b : width_min(in);
    }
    body_min[m] = lo;
    body_max[m] = hi;
  }
  // Main sequence backwards; alternations take their shortest member.
  std::uint64_t rest = 0;
  bool unbounded = false;
  std::uint64_t max_total = 0;
  for (std::uint32_t pc = p.main_end_; pc-- > 0;) {
    const Instr& in = p.program_[pc];
    if (in.op == Op::alt) {
      std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0;
      for (std::uint32_t m = in.a; m < in.a + in.b; ++m) {
        lo = std::min(lo, body_min[m]);
        hi = std::max(hi, body_max[m]);
      }
      rest += lo;
      max_total += hi;
    } else {
      rest += width_min(in);
      if (in.op == Op::jump && in.b == kUnbounded) unbounded = true;
      max_total += in.op == Op::jump ? (in.b == kUnbounded ? 0 : in.b) : width_min(in);
    }
    p.program_[pc].min_rest = rest;
  }
  p.min_length_ = rest;
  if (!unbounded) p.max_length_ = max_total;
  // Alternative bodies: what remains of the body plus what the main sequence needs after it.
  for (std::size_t m = 0; m < p.alt_starts_.size(); ++m) {
    std::uint32_t end = p.alt_starts_[m];
    while (p.program_[end].op != Op::resume) ++end;
    std::uint64_t tail = p.program_[p.program_[end].a].min_rest;
    p.program_[end].min_rest = tail;
    for (std::uint32_t pc = end; pc-- > p.alt_starts_[m];) {
      tail += width_min(p.program_[pc]);
      p.program_[pc].min_rest = tail;
    }
  }

  // Unbounded jumps get a memo slot (see run()).
  for (std::uint32_t pc = 0; pc < p.main_end_; ++pc) {
    Instr& in = p.program_[pc];
    if (in.op != Op::jump || in.b != kUnbounded) continue;
    in.memo_slot = ++p.memo_slots_;
    if (p.first_unbounded_slot_ == 0) {
      p.first_unbounded_slot_ = p.memo_slots_;
      p.first_unbounded_entry_ = p.min_length_ - in.min_rest + in.a;
    }
  }

  // The prefilter anchor: a literal of the main sequence at a bounded distance from the start,
  // preferring a fixed distance, then the longest literal, then the narrowest distance range.
  std::uint64_t dmin = 0, dmax = 0;
  bool dmax_bounded = true;
  for (std::uint32_t pc = 0; pc < p.main_end_; ++pc) {
    const Instr& in = p.program_[pc];
    if (in.op == Op::literal && dmax_bounded) {
      const std::uint64_t spread = dmax - dmin;
      bool better = !p.anchor_;
      if (p.anchor_) {
        const Instr& cur = p.program_[p.anchor_->pc];
        const std::uint64_t cur_spread = p.anchor_->max_distance - p.anchor_->min_distance;
        if ((spread == 0) != (cur_spread == 0)) {
          better = spread == 0;
        } else if (in.b != cur.b) {
          better = in.b > cur.b;
        } else {
          better = spread < cur_spread;
        }
      }
      if (better) p.anchor_ = Anchor{pc, dmin, dmax};
    }
    if (in.op == Op::alt) {
      std::uint64_t lo = std::numeric_limits<std::uint64_t>::max(), hi = 0;
      for (std::uint32_t m = in.a; m < in.a + in.b; ++m) {
        lo = std::min(lo, body_min[m]);
        hi = std::max(hi, body_max[m]);
      }
      dmin += lo;
      dmax += hi;
    } else if (in.op == Op::jump) {
      dmin += in.a;
      if (in.b == kUnbounded) {
        dmax_bounded = false;
      } else {
        dmax += in.b;
      }
    } else {
      dmin += width_min(in);
      dmax += width_min(in);
    }
  }
  return p;
}

std::size_t heap_allocation_bytes(std::size_t bytes) {
  return bytes == 0 ? 0 : std::max<std::size_t>(32, (bytes + 8 + 15) / 16 * 16);
}

std::size_t Pattern::heap_bytes() const {
  const std::size_t text_heap = text_.capacity() > std::string().capacity() ? text_.capacity() + 1 : 0;
  return heap_allocation_bytes(text_heap) + heap_allocation_bytes(program_.capacity() * sizeof(Instr)) +
         heap_allocation_bytes(alt_starts_.capacity() * sizeof(std::uint32_t)) +
         heap_allocation_bytes(bytes_.capacity());
}

bool Pattern::next_jump_candidate(ByteView data, Frame& frame, std::uint64_t& steps) const {
  if (frame.pos > frame.last) return false;
  ++steps;
  const Instr& next = program_[frame.pc + 1];
  if (next.op != Op::literal) {
    ++frame.pos;  // the candidate is frame.pos - 1
    return true;
  }
  // The bytes after the jump are fixed: only the places where they occur are candidates.
  const std::span<const std::uint8_t> literal(bytes_.data() + next.a, next.b);
  const auto hit = find_literal(data, frame.pos, frame.last, literal);
  const std::uint64_t scanned = (hit ? *hit : frame.last) - frame.pos;
  steps += scanned >> kScanBytesPerStepShift;
  if (!hit) {
    frame.pos = frame.last + 1;
    return false;
  }
  frame.pos = *hit + 1;
  return true;
}

MatchOutcome Pattern::run(ByteView data, std::uint64_t start, std::vector<Frame>& stack,
                          std::vector<std::uint64_t>& fail_from, std::uint64_t& end) const {
  const std::uint64_t size = data.size();
  stack.clear();
  std::uint64_t steps = 0;
  std::uint32_t pc = 0;
  std::uint64_t pos = start;
  for (;;) {
    if (++steps > limits::kMaxMatchStepsPerStart) return MatchOutcome::cap_hit;
    const Instr& in = program_[pc];
    bool advanced = false;
    switch (in.op) {
      case Op::accept:
        end = pos;
        return MatchOutcome::match;
      case Op::literal:
        if (data.equals_at(pos, std::span<const std::uint8_t>(bytes_.data() + in.a, in.b))) {
          pos += in.b;
          ++pc;
          advanced = true;
        }
        break;
      case Op::masked:
        if (auto byte = data.u8(pos); byte && (*byte & in.mask) == in.value) {
          ++pos;
          ++pc;
          advanced = true;
        }
        break;
      case Op::resume:
        pc = in.a;
        advanced = true;
        break;
      case Op::jump: {
        const std::uint64_t need = program_[pc + 1].min_rest;
        if (size < need) break;
        const std::uint64_t limit = size - need;  // the last position the rest can start at
        const std::uint64_t lo = saturating_add(pos, in.a);
        if (lo > limit) break;
        if (in.a == in.b) {
          pos = lo;
          ++pc;
          advanced = true;
          break;
        }
        std::uint64_t hi = in.b == kUnbounded ? limit : std::min(limit, saturating_add(pos, in.b));
        if (const std::uint32_t slot = in.memo_slot; slot != 0) {
          // Whether the rest matches depends only on where it starts; once it failed from every
          // position >= fail_from, no later try can do better (this keeps `*` linear).
          if (lo >= fail_from[slot - 1]) break;
          hi = std::min(hi, fail_from[slot - 1] - 1);
        }
        stack.push_back(Frame{pc, 0, lo, hi, lo});
        break;
      }
      case Op::alt:
        stack.push_back(Frame{pc, 0, pos, 0, 0});
        break;
    }
    if (advanced) continue;

    // Backtrack to the most recent choice that still has an untried option.
    bool resumed = false;
    while (!stack.empty() && !resumed) {
      Frame& f = stack.back();
      const Instr& choice = program_[f.pc];
      if (choice.op == Op::alt) {
        if (f.next_alt < choice.b) {
          pc = alt_starts_[choice.a + f.next_alt++];
          pos = f.pos;
          resumed = true;
        } else {
          stack.pop_back();
        }
        continue;
      }
      if (next_jump_candidate(data, f, steps)) {
        pos = f.pos - 1;
        pc = f.pc + 1;
        resumed = true;
      } else {
        if (const std::uint32_t slot = choice.memo_slot; slot != 0) {
          fail_from[slot - 1] = std::min(fail_from[slot - 1], f.entry);
        }
        stack.pop_back();
      }
      if (steps > limits::kMaxMatchStepsPerStart) return MatchOutcome::cap_hit;
    }
    if (!resumed) return MatchOutcome::no_match;
  }
}

std::span<const std::uint8_t> Pattern::anchor_literal() const {
  if (!anchor_) return {};
  const Instr& lit = program_[anchor_->pc];
  return std::span<const std::uint8_t>(bytes_.data() + lit.a, lit.b);
}

Pattern::Search::Search(const Pattern& pattern, ByteView data, std::uint64_t first, std::uint64_t last,
                        Scratch& scratch)
    : pattern_(&pattern), data_(data), first_(first) {
  const std::uint64_t size = data.size();
  if (pattern.empty() || size < pattern.min_length_) return;
  last_ = std::min(last, size - pattern.min_length_);
  if (first_ > last_) return;
  fail_from_.assign(pattern.memo_slots_, std::numeric_limits<std::uint64_t>::max());
  done_ = false;

  if (!pattern.anchor_ || last_ - first_ < kDirectStartWindow) {
    for (std::uint64_t s = first_;; ++s) {
      if (try_start(s, scratch) || s == last_) break;
    }
    done_ = true;
    return;
  }

  // Prefilter: find the anchor literal, then try only the starts that put the anchor where this
  // occurrence is (offer()).
  const Anchor& anchor = *pattern.anchor_;
  const std::uint64_t literal_size = pattern.program_[anchor.pc].b;
  if (size < literal_size) {
    done_ = true;
    return;
  }
  hit_from_ = saturating_add(first_, anchor.min_distance);
  hit_to_ = std::min(saturating_add(last_, anchor.max_distance), size - literal_size);
  next_start_ = first_;
  done_ = hit_from_ > hit_to_;
}

// Tries one start; true when the search is decided (match, cap hit, or no start left).
bool Pattern::Search::try_start(std::uint64_t s, Scratch& scratch) {
  const Pattern& p = *pattern_;
  if (p.first_unbounded_slot_ != 0) {
    // Every position the rest after the first unbounded jump could start from failed already.
    const std::uint64_t failed_from = fail_from_[p.first_unbounded_slot_ - 1];
    if (failed_from != std::numeric_limits<std::uint64_t>::max() &&
        saturating_add(s, p.first_unbounded_entry_) >= failed_from) {
      return true;
    }
  }
  if (++starts_ > limits::kMaxMatchStartsPerPattern) {
    result_.outcome = MatchOutcome::cap_hit;
    return true;
  }
  std::uint64_t end = 0;
  const MatchOutcome outcome = p.run(data_, s, scratch.stack_, fail_from_, end);
  if (outcome == MatchOutcome::no_match) return false;
  result_.outcome = outcome;
  result_.start = s;
  result_.end = end;
  return true;
}

// Starts are tried in increasing order and each at most once (next_start_), so the first match
// found is the leftmost.
bool Pattern::Search::offer(std::uint64_t hit, Scratch& scratch) {
  if (done_) return true;
  const Anchor& anchor = *pattern_->anchor_;
  hit_from_ = hit + 1;
  if (hit >= anchor.min_distance) {
    const std::uint64_t lowest = hit >= anchor.max_distance ? hit - anchor.max_distance : 0;
    const std::uint64_t highest = std::min(last_, hit - anchor.min_distance);
    for (std::uint64_t s = std::max(next_start_, lowest); s <= highest; ++s) {
      if (try_start(s, scratch)) {
        done_ = true;
        return true;
      }
      next_start_ = s + 1;
    }
  }
  done_ = hit_from_ > hit_to_;
  return done_;
}

SearchResult Pattern::Search::finish_alone(Scratch& scratch) {
  const std::span<const std::uint8_t> literal = pattern_->anchor_literal();
  while (!done_) {
    const auto hit = find_literal(data_, hit_from_, hit_to_, literal);
    if (!hit) break;
    offer(*hit, scratch);
  }
  done_ = true;
  return result_;
}

SearchResult Pattern::search(ByteView data, std::uint64_t first, std::uint64_t last) const {
  Scratch scratch;
  Search search(*this, data, first, last, scratch);
  return search.finish_alone(scratch);
}

}  // namespace flscan::sig
