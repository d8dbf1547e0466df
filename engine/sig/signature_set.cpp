#include "engine/sig/signature_set.h"

#include <algorithm>
#include <array>
#include <limits>
#include <span>

#include "engine/limits.h"

namespace flscan::sig {
namespace {

struct Window {
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return b > std::numeric_limits<std::uint64_t>::max() - a ? std::numeric_limits<std::uint64_t>::max() : a + b;
}

// PEALIGN / PESALIGN of libclamav pe.h, in its 32-bit arithmetic.
std::uint32_t align_down(std::uint32_t value, std::uint32_t alignment) {
  return alignment == 0 ? value : value / alignment * alignment;
}
std::uint32_t align_up(std::uint32_t value, std::uint32_t alignment) {
  return alignment == 0 ? value
                        : static_cast<std::uint32_t>((value / alignment + (value % alignment != 0)) * alignment);
}

// Where ClamAV puts an executable's entry point and sections for .ndb offsets. It does not use the
// raw header values: cli_peheader (libclamav pe.c) rounds PointerToRawData down to FileAlignment
// (0x200 when a section is misaligned to FileAlignment but not to 0x200), clips raw sizes to the
// file, and maps the entry point through those rounded sections (cli_rawaddr). It also gives up on
// some headers (its "broken PE" cases, checked below); then no offset but `*` and absolute ones
// exists for the file.
struct ExeLayout {
  std::uint64_t entry = 0;
  std::size_t sections = 0;
  std::array<std::uint32_t, limits::kMaxPeSections> section_raw{};
};

std::optional<ExeLayout> clamav_layout(const pe::Image& image, std::uint64_t file_size) {
  const std::size_t count = image.sections.size();
  if (count == 0 || count > limits::kMaxPeSections || count != image.number_of_sections) return std::nullopt;
  // The optional header must hold its fixed part and every data directory it declares.
  const std::uint32_t fixed_part = image.pe32_plus ? 112 : 96;
  const std::uint32_t directories = std::min<std::uint32_t>(image.number_of_rva_and_sizes, 16);
  if (image.size_of_optional_header < fixed_part + 8 * directories) return std::nullopt;

  const std::uint32_t salign = image.section_alignment;
  std::uint32_t falign = image.file_alignment;
  for (const pe::Section& s : image.sections) {
    if (falign != 0x200 && falign != 0 && s.size_of_raw_data != 0 && s.pointer_to_raw_data % falign != 0 &&
        s.pointer_to_raw_data % 0x200 == 0) {
      falign = 0x200;
    }
  }
  struct Mapped {
    std::uint32_t rva, raw, rsz;
  };
  std::array<Mapped, limits::kMaxPeSections> mapped{};
  ExeLayout layout;
  layout.sections = count;
  for (std::size_t i = 0; i < count; ++i) {
    const pe::Section& s = image.sections[i];
    Mapped m{align_down(s.virtual_address, salign), align_down(s.pointer_to_raw_data, falign),
             align_up(s.size_of_raw_data, falign)};
    std::uint64_t raw_size = s.size_of_raw_data;
    if (m.rsz != 0) {
      if (m.raw >= file_size || s.pointer_to_raw_data >= file_size) {
        m.rsz = 0;
        raw_size = 0;
      } else {
        if (std::uint64_t{m.raw} + m.rsz > file_size) m.rsz = static_cast<std::uint32_t>(file_size - m.raw);
        if (std::uint64_t{s.pointer_to_raw_data} + raw_size > file_size) raw_size = file_size - s.pointer_to_raw_data;
      }
    }
    // "Found PE values with sign bit set".
    if ((s.virtual_address >> 31) != 0 || (s.virtual_size >> 31) != 0 ||
        (m.rsz != 0 && (s.pointer_to_raw_data >> 31) != 0) || (raw_size >> 31) != 0) {
      return std::nullopt;
    }
    mapped[i] = m;
    layout.section_raw[i] = m.raw;
  }
  // cli_rawaddr: below the (section-aligned) headers an RVA is its own offset; otherwise the last
  // section holding it maps it. An entry point that maps nowhere breaks the whole header.
  const std::uint32_t rva = image.address_of_entry_point;
  const std::uint32_t header_size = align_up(image.size_of_headers, salign);
  if (rva < header_size) {
    if (rva >= file_size) return std::nullopt;
    layout.entry = rva;
    return layout;
  }
  for (std::size_t i = count; i-- > 0;) {
    const Mapped& m = mapped[i];
    if (m.rsz != 0 && m.rva <= rva && m.rsz > rva - m.rva) {
      layout.entry = std::uint64_t{rva - m.rva} + m.raw;
      return layout;
    }
  }
  return std::nullopt;
}

// The base offset of a relative .ndb offset (ClamAV matcher.c cli_caloff, "calculate relative
// offsets"), or nothing when it does not exist in this file. `layout` is nothing for a file that
// is not an executable to ClamAV, or whose headers ClamAV could not use.
std::optional<std::uint64_t> base_offset(const Offset& offset, std::uint64_t size, bool headers_failed,
                                         const std::optional<ExeLayout>& layout) {
  switch (offset.kind) {
    case Offset::Kind::anywhere:
      return 0;
    case Offset::Kind::absolute:
      return static_cast<std::uint64_t>(offset.value);
    case Offset::Kind::from_eof: {
      // ClamAV computes no relative offset at all, EOF-n included, for an executable whose headers
      // it cannot parse (cli_fmap_scandesc: info.status == -1).
      const auto n = static_cast<std::uint64_t>(offset.value);
      if (headers_failed || n > size) return std::nullopt;
      return size - n;
    }
    case Offset::Kind::from_entry_point: {
      if (!layout) return std::nullopt;
      if (offset.value < 0) {
        const std::uint64_t back = static_cast<std::uint64_t>(-(offset.value + 1)) + 1;
        if (back > layout->entry) return std::nullopt;
        return layout->entry - back;
      }
      return saturating_add(layout->entry, static_cast<std::uint64_t>(offset.value));
    }
    case Offset::Kind::from_section:
      if (!layout || offset.section >= layout->sections) return std::nullopt;
      return saturating_add(layout->section_raw[offset.section], static_cast<std::uint64_t>(offset.value));
    case Offset::Kind::from_last_section:
      if (!layout) return std::nullopt;
      return saturating_add(layout->section_raw[layout->sections - 1], static_cast<std::uint64_t>(offset.value));
  }
  return std::nullopt;
}

// Start positions a signature may match at: [base, base + maxshift], or the whole file for `*`.
std::optional<Window> start_window(const Offset& offset, std::uint64_t size, bool headers_failed,
                                   const std::optional<ExeLayout>& layout) {
  if (offset.kind == Offset::Kind::anywhere) return Window{0, size};
  const auto base = base_offset(offset, size, headers_failed, layout);
  if (!base || *base > size) return std::nullopt;
  return Window{*base, saturating_add(*base, offset.max_shift)};
}

// ClamAV keeps one name per digest and size (or `*`): a later signature for the same pair replaces
// the earlier one, so only the last loaded is ever reported (libclamav hashtab/matcher-hash).
template <typename Table, typename Key>
void add_hash(Table& table, const Key& key, HashSignature signature) {
  const auto [first, last] = table.equal_range(key);
  for (auto it = first; it != last; ++it) {
    if (it->second.size == signature.size) {
      it->second = std::move(signature);
      return;
    }
  }
  table.emplace(key, std::move(signature));
}

template <typename Table, typename Key>
void add_hash_matches(const Table& table, const Key& key, std::uint64_t file_size, const char* kind,
                      std::vector<Match>& out) {
  const auto [first, last] = table.equal_range(key);
  for (auto it = first; it != last; ++it) {
    const HashSignature& sig = it->second;
    if (sig.size && *sig.size != file_size) continue;
    out.push_back(Match{sig.name, sig.origin, kind, std::nullopt});
  }
}

}  // namespace

namespace {

// Cuts a pattern's hex text at its top-level unbounded jumps (`*` and `{n-}`; the loader refuses
// them inside alternations) and compiles each piece. Nothing when a piece does not compile on its
// own or has no single length, or when a piece is longer than limits::kMaxStreamSegment.
std::vector<Segment> stream_segments(const std::string& text) {
  std::vector<Segment> out;
  std::string piece;
  std::uint64_t gap = 0;
  int depth = 0;
  auto close_piece = [&]() -> bool {
    auto compiled = Pattern::compile(piece);
    if (!compiled) return false;
    const auto max = compiled->max_length();
    if (!max || *max != compiled->min_length() || *max == 0 || *max > limits::kMaxStreamSegment) return false;
    compiled->drop_text();
    out.push_back(Segment{std::move(*compiled), gap, *max});
    piece.clear();
    return true;
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth == 0 && c == '*') {
      if (!close_piece()) return {};
      gap = 0;
      continue;
    }
    if (depth == 0 && c == '{') {
      const std::size_t end = text.find('}', i);
      if (end == std::string::npos) return {};
      const std::string inner = text.substr(i + 1, end - i - 1);
      if (!inner.empty() && inner.back() == '-' && inner.find_first_not_of("0123456789") == inner.size() - 1 &&
          inner.size() > 1) {
        if (!close_piece()) return {};
        gap = std::stoull(inner.substr(0, inner.size() - 1));
        i = end;
        continue;
      }
      piece += text.substr(i, end - i + 1);
      i = end;
      continue;
    }
    piece += c;
  }
  if (!close_piece()) return {};
  out.shrink_to_fit();
  return out;
}

std::size_t string_heap_bytes(const std::string& text) {
  return text.capacity() > std::string().capacity() ? heap_allocation_bytes(text.capacity() + 1) : 0;
}

}  // namespace

void cut_pieces(BodySignature& signature) {
  const Pattern& whole = signature.pattern;
  const bool unbounded_jump = !whole.max_length();
  if (!unbounded_jump) {
    signature.single_piece = whole.min_length() == *whole.max_length() && whole.min_length() > 0 &&
                             whole.min_length() <= limits::kMaxStreamSegment;
  } else {
    signature.segments = stream_segments(whole.text());
  }
  signature.pieces_cut = true;
}

std::size_t BodySignature::memory_bytes() const {
  std::size_t total = sizeof(BodySignature) + string_heap_bytes(name) + string_heap_bytes(origin) +
                      pattern.heap_bytes() + heap_allocation_bytes(segments.capacity() * sizeof(Segment));
  for (const Segment& segment : segments) total += segment.pattern.heap_bytes();
  // Its anchors in the set's literal indexes (SignatureSet::index_anchors), at most.
  total += LiteralIndex::charge_for_literal(pattern.anchor_literal().size());
  for (const Segment& segment : segments)
    total += LiteralIndex::charge_for_literal(segment.pattern.anchor_literal().size());
  return total;
}

void SignatureSet::add_body(BodySignature signature) {
  if (!signature.pieces_cut) cut_pieces(signature);
  if (!signature.streams()) {
    streamable_ = false;
  } else {
    for (std::size_t i = 0; i < signature.piece_count(); ++i) {
      // A piece's length is that of a pattern held in memory: it fits a std::size_t.
      stream_overlap_ = std::max(stream_overlap_, static_cast<std::size_t>(signature.piece_length(i) - 1));
    }
  }
  if (signature.target == Target::any_file) body_for_any_file_ = true;
  body_.push_back(std::move(signature));
  index_anchors();
}

void SignatureSet::index_anchors() {
  const BodySignature& sig = body_.back();
  const auto index = static_cast<std::uint32_t>(body_.size() - 1);
  const bool anywhere = sig.offset.kind == Offset::Kind::anywhere;
  whole_indexed_.push_back(anywhere && whole_index_.add(sig.pattern.anchor_literal(), index));
  // A first piece searches the signature's start window (narrow unless `*`); a later one searches
  // from where the previous piece ended to the end of the file.
  piece_base_.push_back(static_cast<std::uint32_t>(piece_indexed_.size()));
  for (std::size_t i = 0; i < sig.piece_count(); ++i) {
    const auto id = static_cast<std::uint32_t>(piece_indexed_.size());
    piece_indexed_.push_back((i > 0 || anywhere) && piece_index_.add(sig.piece(i).anchor_literal(), id));
  }
}

void SignatureSet::SizeSet::add(const std::optional<std::uint64_t>& size) {
  if (size) {
    sizes.insert(*size);
  } else {
    any = true;
  }
}

// A replaced signature's size stays in the set: a superset only costs a file of that size a hash.
void SignatureSet::add_md5(const Md5Digest& digest, HashSignature signature) {
  md5_sizes_.add(signature.size);
  add_hash(md5_, digest, std::move(signature));
}

void SignatureSet::add_sha256(const Sha256Digest& digest, HashSignature signature) {
  sha256_sizes_.add(signature.size);
  add_hash(sha256_, digest, std::move(signature));
}

void SignatureSet::add_source(std::string description) { sources_.push_back(std::move(description)); }

namespace {
// Grows geometrically, so that many small databases added one after another stay linear.
template <typename Container>
void reserve_more(Container& c, std::size_t more, std::size_t capacity) {
  const std::size_t needed = c.size() + more;
  if (more != 0 && needed > capacity) c.reserve(std::max(needed, 2 * c.size()));
}
}  // namespace

void SignatureSet::reserve(std::size_t body, std::size_t md5, std::size_t sha256) {
  reserve_more(body_, body, body_.capacity());
  reserve_more(md5_, md5, static_cast<std::size_t>(static_cast<float>(md5_.bucket_count()) * md5_.max_load_factor()));
  reserve_more(sha256_, sha256,
               static_cast<std::size_t>(static_cast<float>(sha256_.bucket_count()) * sha256_.max_load_factor()));
}

std::size_t SignatureSet::size() const { return body_.size() + md5_.size() + sha256_.size(); }

bool SignatureSet::needs_non_pe_content() const { return !md5_.empty() || !sha256_.empty() || body_for_any_file_; }

bool SignatureSet::needs_content_of_size(std::uint64_t size) const {
  return body_for_any_file_ || md5_sizes_.covers(size) || sha256_sizes_.covers(size);
}

namespace {

// One search of a window: pattern->search(data, first, last), under `id` in a literal index.
struct SearchJob {
  std::uint32_t id = 0;
  const Pattern* pattern = nullptr;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
  SearchResult result;
};

// Sets each job's result to pattern->search(data, first, last) (one job per id). The jobs whose
// anchor `index` holds (indexed[id]) and that need an anchor search share one pass of the index
// when there are at least limits::kLiteralIndexMinSearches of them (issue 19): each gets the same
// occurrences, in the same order, as its own memmem would find, so the same result. The others,
// or all when `use_index` is false, search alone.
void search_jobs(ByteView data, std::span<SearchJob> jobs, const LiteralIndex& index, const std::vector<bool>& indexed,
                 bool use_index) {
  Pattern::Scratch scratch;
  std::vector<Pattern::Search> searches;
  std::vector<std::size_t> owner;  // the job of each search
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    SearchJob& job = jobs[j];
    if (!use_index || !indexed[job.id]) {
      job.result = job.pattern->search(data, job.first, job.last);
      continue;
    }
    Pattern::Search search(*job.pattern, data, job.first, job.last, scratch);
    if (search.done()) {
      job.result = search.result();
      continue;
    }
    searches.push_back(std::move(search));
    owner.push_back(j);
  }
  if (searches.size() < limits::kLiteralIndexMinSearches) {
    for (std::size_t k = 0; k < searches.size(); ++k) jobs[owner[k]].result = searches[k].finish_alone(scratch);
    return;
  }

  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  std::vector<std::uint32_t> search_of(indexed.size(), kNone);
  std::uint64_t from = std::numeric_limits<std::uint64_t>::max();
  std::uint64_t to = 0;
  for (std::size_t k = 0; k < searches.size(); ++k) {
    search_of[jobs[owner[k]].id] = static_cast<std::uint32_t>(k);
    from = std::min(from, searches[k].hit_from());
    to = std::max(to, searches[k].hit_to());
  }
  std::size_t undecided = searches.size();
  index.scan(data, from, to, [&](std::uint32_t id, std::uint64_t at) {
    const std::uint32_t k = id < search_of.size() ? search_of[id] : kNone;
    if (k == kNone) return true;
    Pattern::Search& search = searches[k];
    if (search.done() || at < search.hit_from() || at > search.hit_to()) return true;
    if (search.offer(at, scratch)) --undecided;
    return undecided > 0;
  });
  // A search the pass left undecided saw every occurrence of its anchor: its result stands.
  for (std::size_t k = 0; k < searches.size(); ++k) jobs[owner[k]].result = searches[k].result();
}

}  // namespace

std::vector<Match> SignatureSet::match(ByteView file, const pe::Image* image, const Digests& digests,
                                       MatchStats* stats) const {
  std::vector<Match> out;
  // ClamAV types every file that starts with "MZ" as an executable and parses its headers for
  // relative offsets; `headers_failed` is its info.status == -1. Target 1 itself needs a valid PE
  // (issue 12; see Target).
  const bool executable = image != nullptr || pe::looks_like_mz(file);
  const std::optional<ExeLayout> layout = image ? clamav_layout(*image, file.size()) : std::nullopt;
  const bool headers_failed = executable && !layout;
  std::vector<SearchJob> jobs;
  jobs.reserve(body_.size());
  for (std::size_t i = 0; i < body_.size(); ++i) {
    const BodySignature& sig = body_[i];
    if (sig.target == Target::pe && image == nullptr) continue;
    const auto window = start_window(sig.offset, file.size(), headers_failed, layout);
    if (!window) continue;
    jobs.push_back(SearchJob{static_cast<std::uint32_t>(i), &sig.pattern, window->first, window->last, {}});
  }
  search_jobs(file, jobs, whole_index_, whole_indexed_, literal_index_enabled_);
  for (const SearchJob& job : jobs) {  // in load order
    const BodySignature& sig = body_[job.id];
    if (job.result.outcome == MatchOutcome::cap_hit) {
      if (stats != nullptr) ++stats->cap_hits;
      continue;
    }
    if (job.result.outcome == MatchOutcome::match) out.push_back(Match{sig.name, sig.origin, "ndb", job.result.start});
  }

  add_hash_matches_to(file.size(), digests, out);
  return out;
}

void SignatureSet::add_hash_matches_to(std::uint64_t size, const Digests& digests, std::vector<Match>& out) const {
  // ClamAV cannot hash-match an empty file (a hash signature's size must be at least 1).
  if (size == 0) return;
  const std::size_t first_hash = out.size();
  if (digests.md5) add_hash_matches(md5_, *digests.md5, size, "hdb", out);
  add_hash_matches(sha256_, digests.sha256, size, "hsb", out);
  std::sort(out.begin() + static_cast<std::ptrdiff_t>(first_hash), out.end(),
            [](const Match& a, const Match& b) { return a.name != b.name ? a.name < b.name : a.origin < b.origin; });
}

StreamMatcher::StreamMatcher(const SignatureSet& set, std::uint64_t file_size, const pe::Image* image, bool executable)
    : set_(set), file_size_(file_size) {
  const std::optional<ExeLayout> layout = image ? clamav_layout(*image, file_size) : std::nullopt;
  const bool headers_failed = executable && !layout;
  states_.resize(set.body_signatures().size());
  for (std::size_t i = 0; i < states_.size(); ++i) {
    const BodySignature& sig = set.body_signatures()[i];
    State& st = states_[i];
    st.done = true;
    if (!sig.streams()) continue;  // not streamable: the caller must not stream with this set
    if (sig.target == Target::pe && image == nullptr) continue;  // a valid PE only (Target)
    const auto window = start_window(sig.offset, file_size, headers_failed, layout);
    if (!window) continue;
    st.first = window->first;
    st.last = window->last;
    st.done = false;
  }
}

void StreamMatcher::feed(ByteView window, std::uint64_t window_offset) {
  const std::uint64_t window_end = window_offset + window.size();
  // Each round searches every live signature's current piece in this window; a signature whose
  // piece matched goes on to its next piece in the next round.
  std::vector<std::size_t> live;
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (!states_[i].done) live.push_back(i);
  }
  std::vector<SearchJob> jobs;
  std::vector<std::size_t> owner;  // the state of each job
  while (!live.empty()) {
    jobs.clear();
    owner.clear();
    for (const std::size_t i : live) {
      State& st = states_[i];
      const BodySignature& sig = set_.body_signatures()[i];
      const std::uint64_t length = sig.piece_length(st.piece);
      // Starts whose whole piece lies in this window; later starts wait for the next one, which
      // repeats the last stream_overlap() >= length - 1 bytes of this one.
      if (length > window.size() || st.first > window_end - length) {
        if (st.first > file_size_ || file_size_ - st.first < length) st.done = true;  // cannot fit any more
        continue;
      }
      const std::uint64_t first = std::max(st.first, window_offset);
      const std::uint64_t last = std::min(st.last, window_end - length);
      if (first > last) {
        if (st.last < first) st.done = true;
        continue;
      }
      jobs.push_back(SearchJob{set_.piece_base_[i] + static_cast<std::uint32_t>(st.piece),
                               &sig.piece(st.piece),
                               first - window_offset,
                               last - window_offset,
                               {}});
      owner.push_back(i);
    }
    search_jobs(window, jobs, set_.piece_index_, set_.piece_indexed_, set_.literal_index_enabled_);
    live.clear();
    for (std::size_t j = 0; j < jobs.size(); ++j) {
      State& st = states_[owner[j]];
      const BodySignature& sig = set_.body_signatures()[owner[j]];
      const SearchResult& found = jobs[j].result;
      const std::uint64_t last = window_offset + jobs[j].last;
      if (found.outcome == MatchOutcome::cap_hit) {
        ++cap_hits_;
        st.done = true;
        continue;
      }
      if (found.outcome == MatchOutcome::no_match) {
        if (last >= st.last) st.done = true;
        st.first = last + 1;
        continue;
      }
      const std::uint64_t at = window_offset + found.start;
      const std::uint64_t length = sig.piece_length(st.piece);
      if (st.piece == 0) st.start = at;
      if (++st.piece == sig.piece_count()) {
        st.matched = true;
        st.done = true;
        continue;
      }
      st.first = at + length + sig.piece_gap(st.piece);
      st.last = std::numeric_limits<std::uint64_t>::max();
      live.push_back(owner[j]);
    }
  }
}

std::vector<Match> StreamMatcher::finish(const Digests& digests, MatchStats* stats) {
  std::vector<Match> out;
  for (std::size_t i = 0; i < states_.size(); ++i) {
    if (!states_[i].matched) continue;
    const BodySignature& sig = set_.body_signatures()[i];
    out.push_back(Match{sig.name, sig.origin, "ndb", states_[i].start});
  }
  if (stats != nullptr) stats->cap_hits += cap_hits_;
  set_.add_hash_matches_to(file_size_, digests, out);
  return out;
}

}  // namespace flscan::sig
