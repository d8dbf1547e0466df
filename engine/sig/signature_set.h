// A compiled, immutable set of signatures in the ClamAV-compatible subset flscan reads
// (.hdb MD5 hashes, .hsb SHA-256 hashes, .ndb body patterns; signatures/README.md documents it).
// Built once by the loader in signatures/, then shared `const` by every worker (style guide
// habit 5). Matching keeps no state in the set; all scratch lives on the caller's stack.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/byte_view.h"
#include "engine/hashing.h"
#include "engine/sig/literal_index.h"
#include "engine/sig/pattern.h"
#include "engine/pe.h"

namespace flscan::sig {

// .ndb target type: 0 = any file, 1 = PE files. Other ClamAV targets are rejected by the loader.
// Target 1 applies to a valid PE only: a file pe::parse accepts (the caller's `image`). This is
// the ClamAV signature format's definition and YARA's pe module's, and a deliberate deviation from
// clamscan (issue 12, signatures/README.md "Where ClamAV differs"): clamscan gives target 1 to
// every file that starts with "MZ" (CL_TYPE_MSEXE), so a `*` or absolute-offset target-1 signature
// also matches a DOS program, or an MZ file whose PE headers do not parse, that carries the bytes.
enum class Target { any_file = 0, pe = 1 };

// Where an .ndb pattern may start (ClamAV offset syntax, libclamav matcher.c cli_caloff). A base
// offset that falls before the start of the file (EOF-n with n > size, EP-n with n > EP) matches
// nothing, as in ClamAV, whose unsigned arithmetic wraps such offsets past the end of the file.
//
// EP, Sx and SL follow ClamAV's view of the headers (libclamav pe.c cli_peheader), which for
// ordinary files is the plain one: EP is the entry point's file offset, Sx the PointerToRawData of
// section x. For odd files ClamAV rounds PointerToRawData down to FileAlignment and maps the entry
// point through the rounded sections, and it gives up on some headers altogether (no sections, an
// entry point that maps into no section's file data, a short optional header, sizes with the sign
// bit set). For an MZ file whose headers it gave up on (or that flscan could not parse), ClamAV
// computes no relative offset at all, EOF-n included; only `*` and absolute offsets remain.
struct Offset {
  enum class Kind {
    anywhere,           // *
    absolute,           // n
    from_eof,           // EOF-n
    from_entry_point,   // EP+n / EP-n  (PE only)
    from_section,       // Sx+n         (PE only; x is the 0-based section index; its raw data start)
    from_last_section,  // SL+n         (PE only; the last section header's raw data start)
  };
  Kind kind = Kind::anywhere;
  std::int64_t value = 0;       // n (signed for EP-n; EOF-n stores n)
  std::uint32_t section = 0;    // x for from_section
  std::uint32_t max_shift = 0;  // ",maxshift": the match may start anywhere in [offset, offset+max_shift]
};

// A piece of a body pattern between two unbounded jumps (`*`, `{n-}`), for streamed files.
struct Segment {
  Pattern pattern;
  std::uint64_t gap = 0;     // fewest bytes between the previous piece's end and this one's start
  std::uint64_t length = 0;  // every match of the piece spans exactly this many bytes
};

struct BodySignature {
  std::string name;
  Target target = Target::any_file;
  Offset offset;
  Pattern pattern;
  std::string origin;  // "file:line" it was loaded from
  // The pattern cut at its unbounded jumps, filled by SignatureSet::add_body when every piece has
  // one fixed length of at most limits::kMaxStreamSegment bytes; empty otherwise. Such a pattern
  // can be matched on a file that streams by in chunks (StreamMatcher): the leftmost match of each
  // fixed-length piece after the previous one is the leftmost match of the whole pattern.
  std::vector<Segment> segments;
  // Set instead of `segments` when the pattern has no unbounded jump and one fixed length: the
  // pattern itself is the only piece (no second compiled copy).
  bool single_piece = false;
  // True once cut_pieces() filled `segments` / `single_piece` (the loader cuts a signature as it
  // parses it, to charge its pieces to the memory budget; add_body cuts the others).
  bool pieces_cut = false;
  // Bytes the signature takes in memory, its pieces and allocator overhead included.
  [[nodiscard]] std::size_t memory_bytes() const;
  [[nodiscard]] bool streams() const { return single_piece || !segments.empty(); }
  [[nodiscard]] std::size_t piece_count() const { return single_piece ? 1 : segments.size(); }
  [[nodiscard]] const Pattern& piece(std::size_t i) const { return single_piece ? pattern : segments[i].pattern; }
  [[nodiscard]] std::uint64_t piece_gap(std::size_t i) const { return single_piece ? 0 : segments[i].gap; }
  [[nodiscard]] std::uint64_t piece_length(std::size_t i) const {
    return single_piece ? pattern.min_length() : segments[i].length;
  }
};

// Fills `segments` or `single_piece` (see BodySignature) and sets pieces_cut.
void cut_pieces(BodySignature& signature);

// A whole-file hash signature (.hdb/.hsb line `HashString:FileSize:MalwareName`). As in ClamAV the
// digest type follows from the hash length, whatever the file extension.
struct HashSignature {
  std::string name;
  std::optional<std::uint64_t> size;  // nullopt for `*`
  std::string origin;
};

struct Match {
  std::string name;
  std::string origin;
  std::string kind;                     // "ndb", "hdb" (an MD5 file hash) or "hsb" (a SHA-256 file hash)
  std::optional<std::uint64_t> offset;  // file offset of an .ndb match
};

struct MatchStats {
  // Patterns abandoned at limits::kMaxMatchStepsPerStart / kMaxMatchStartsPerPattern: for each,
  // whether it matches this file is unknown, so the scan of the file is incomplete.
  std::uint64_t cap_hits = 0;
};

class SignatureSet {
 public:
  void add_body(BodySignature signature);
  // As in ClamAV, a hash signature with the same digest and size (or `*`) as one already in the
  // set replaces it: ClamAV reports a single name per digest and size, the last one loaded.
  void add_md5(const Md5Digest& digest, HashSignature signature);
  void add_sha256(const Sha256Digest& digest, HashSignature signature);
  // A line of provenance for --version and reports, e.g. "built-in funlove 2026.11 (7 signatures)".
  void add_source(std::string description);
  // Room for this many more signatures of each kind (a loader adding a whole database at once).
  void reserve(std::size_t body, std::size_t md5, std::size_t sha256);

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] bool needs_md5() const { return !md5_.empty(); }
  // True when some signature applies to files that are not PE (target 0 or any hash).
  [[nodiscard]] bool needs_non_pe_content() const;
  // True when some signature may match a file of `size` bytes that is not PE: a body signature for
  // any file (target 0), or a hash signature of exactly that size or of any size (`*`). Only such
  // files are read whole and hashed beyond the PE files (issue 19: ClamAV, too, asks whether a
  // hash of that size is loaded, cli_hm_have_size, before it hashes a file).
  [[nodiscard]] bool needs_content_of_size(std::uint64_t size) const;
  // True when an MD5 signature (.hdb) of `size` bytes or of any size is loaded: a file of another
  // size needs no MD5 (SHA-256 is computed for every file read whole, for the report).
  [[nodiscard]] bool needs_md5_of_size(std::uint64_t size) const { return md5_sizes_.covers(size); }
  [[nodiscard]] const std::vector<std::string>& sources() const { return sources_; }
  [[nodiscard]] const std::vector<BodySignature>& body_signatures() const { return body_; }

  // Every signature that matches `file`: body signatures in load order, then hash signatures
  // sorted by name. `image` is the parsed PE (nullptr when the file is not a valid PE; see Target
  // and Offset for what that disables). `digests` are the file's hashes (md5 present when
  // needs_md5(); without it MD5 signatures cannot match).
  [[nodiscard]] std::vector<Match> match(ByteView file, const pe::Image* image, const Digests& digests,
                                         MatchStats* stats = nullptr) const;

  // True when every body signature can be matched on a streamed file (segments filled), and the
  // bytes a stream must carry from one chunk to the next for that (longest piece - 1).
  [[nodiscard]] bool streamable() const { return streamable_; }
  [[nodiscard]] std::size_t stream_overlap() const { return stream_overlap_; }

  // The hash signatures that match a file of `size` bytes with these digests, sorted by name.
  void add_hash_matches_to(std::uint64_t size, const Digests& digests, std::vector<Match>& out) const;

  // Whether wide searches may share one pass of the literal indexes (the default; issue 19). Off,
  // every pattern searches alone with memmem. The results are the same either way: an internal
  // setting, for tests and measurements, never a user option.
  void use_literal_index(bool enabled) { literal_index_enabled_ = enabled; }
  // How many `*` signatures' whole patterns, and streamed pieces, the literal indexes hold.
  [[nodiscard]] std::size_t indexed_patterns() const { return whole_index_.size(); }
  [[nodiscard]] std::size_t indexed_pieces() const { return piece_index_.size(); }

 private:
  friend class StreamMatcher;

  // Adds the anchors of body_.back() (the whole pattern of a `*` signature, and its pieces).
  void index_anchors();
  // Hashes every byte of the digest, as std::hash of a string did (a database's digests are text
  // anyone can write: a hash of a few of their bytes would let one file put every line in one
  // bucket and make loading quadratic), without allocating a string per key.
  struct DigestHash {
    template <std::size_t N>
    std::size_t operator()(const std::array<std::uint8_t, N>& digest) const {
      return std::hash<std::string_view>{}(std::string_view(reinterpret_cast<const char*>(digest.data()), N));
    }
  };
  template <typename Digest>
  using HashTable = std::unordered_multimap<Digest, HashSignature, DigestHash>;

  // The file sizes the hash signatures of one kind name, and whether one of them is `*`.
  struct SizeSet {
    std::unordered_set<std::uint64_t> sizes;
    bool any = false;
    void add(const std::optional<std::uint64_t>& size);
    [[nodiscard]] bool covers(std::uint64_t size) const { return any || sizes.count(size) != 0; }
  };

  std::vector<BodySignature> body_;
  bool body_for_any_file_ = false;  // a body signature with target 0
  HashTable<Md5Digest> md5_;
  HashTable<Sha256Digest> sha256_;
  SizeSet md5_sizes_;
  SizeSet sha256_sizes_;
  std::vector<std::string> sources_;
  bool streamable_ = true;
  std::size_t stream_overlap_ = 0;
  // The anchors of the `*` signatures' whole patterns (match(): id = signature index), and of the
  // streamed pieces that search beyond a narrow window (StreamMatcher: id = piece_base_[i] + piece).
  // A pattern whose anchor an index did not take searches alone.
  LiteralIndex whole_index_;
  LiteralIndex piece_index_;
  std::vector<bool> whole_indexed_;
  std::vector<bool> piece_indexed_;
  std::vector<std::uint32_t> piece_base_;
  bool literal_index_enabled_ = true;
};

// Matches a set's body signatures on a file that streams by in chunks, with the same results as
// SignatureSet::match on the whole file (tests/engine/stream_scan_test.cpp compares them). Feed
// it windows in file order: each window starts with the last stream_overlap() bytes of the
// previous one (or at offset 0) and adds new bytes after them. Only for a streamable() set.
class StreamMatcher {
 public:
  // `image` as for SignatureSet::match; `executable` is true for every file that starts with MZ.
  StreamMatcher(const SignatureSet& set, std::uint64_t file_size, const pe::Image* image, bool executable);

  void feed(ByteView window, std::uint64_t window_offset);
  // Body matches in load order, then hash matches (as SignatureSet::match).
  [[nodiscard]] std::vector<Match> finish(const Digests& digests, MatchStats* stats = nullptr);

 private:
  struct State {
    std::size_t piece = 0;
    std::uint64_t first = 0;  // earliest start for the current piece
    std::uint64_t last = 0;   // latest start for it (first piece: the offset's window; then unbounded)
    std::uint64_t start = 0;  // where the first piece matched
    bool done = false;
    bool matched = false;
  };
  const SignatureSet& set_;
  std::uint64_t file_size_;
  std::vector<State> states_;
  std::uint64_t cap_hits_ = 0;
};

}  // namespace flscan::sig
