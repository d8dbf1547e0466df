// A compiled, immutable set of signatures in the ClamAV-compatible subset flscan reads
// (.hdb MD5 hashes, .hsb SHA-256 hashes, .ndb body patterns; signatures/README.md documents it).
// Built once by the loader in signatures/, then shared `const` by every worker (style guide
// habit 5). Matching keeps no state in the set; all scratch lives on the caller's stack.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/byte_view.h"
#include "engine/hashing.h"
#include "engine/pattern.h"
#include "engine/pe.h"

namespace flscan::sig {

// .ndb target type: 0 = any file, 1 = PE files. Other ClamAV targets are rejected by the loader.
// As in ClamAV, "PE" means the file type ClamAV gives every file that starts with "MZ"
// (CL_TYPE_MSEXE): a target-1 signature with a `*` or absolute offset also runs on an MZ file whose
// PE headers do not parse; offsets relative to PE structure (EP, Sx, SL) then never match.
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
  std::int64_t value = 0;      // n (signed for EP-n; EOF-n stores n)
  std::uint32_t section = 0;   // x for from_section
  std::uint32_t max_shift = 0; // ",maxshift": the match may start anywhere in [offset, offset+max_shift]
};

struct BodySignature {
  std::string name;
  Target target = Target::any_file;
  Offset offset;
  Pattern pattern;
  std::string origin;  // "file:line" it was loaded from
};

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
  std::string kind;                   // "ndb", "hdb" (an MD5 file hash) or "hsb" (a SHA-256 file hash)
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

  [[nodiscard]] std::size_t size() const;
  [[nodiscard]] bool needs_md5() const { return !md5_.empty(); }
  // True when some signature applies to files that are not PE (target 0 or any hash):
  // the scanner must then read and hash every file whole, not only PE files.
  [[nodiscard]] bool needs_non_pe_content() const;
  [[nodiscard]] const std::vector<std::string>& sources() const { return sources_; }
  [[nodiscard]] const std::vector<BodySignature>& body_signatures() const { return body_; }

  // Every signature that matches `file`: body signatures in load order, then hash signatures
  // sorted by name. `image` is the parsed PE (nullptr when the file is not a valid PE; see Target
  // and Offset for what that disables). `digests` are the file's hashes (md5 present when
  // needs_md5(); without it MD5 signatures cannot match).
  [[nodiscard]] std::vector<Match> match(ByteView file, const pe::Image* image, const Digests& digests,
                                         MatchStats* stats = nullptr) const;

 private:
  std::vector<BodySignature> body_;
  std::unordered_multimap<std::string, HashSignature> md5_;     // key: raw 16 bytes
  std::unordered_multimap<std::string, HashSignature> sha256_;  // key: raw 32 bytes
  std::vector<std::string> sources_;
};

}  // namespace flscan::sig
