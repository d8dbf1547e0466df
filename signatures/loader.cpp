#include "signatures/loader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <memory>
#include <system_error>
#include <utility>
#include <vector>

#include "engine/limits.h"
#include "signatures/builtin_data.h"

namespace flscan::signatures {

// The compiled forms the loader builds (engine/sig/).
using sig::BodySignature;
using sig::HashSignature;
using sig::Offset;
using sig::Pattern;
using sig::SignatureSet;
using sig::Target;

namespace {

// ClamAV 1.4's functionality level. Lines may carry MinFL/MaxFL fields; ClamAV skips a line whose
// range excludes its own level before looking at the rest of it (readdb.c cli_loadndb and
// cli_loadhash), so newer syntax can sit in a database older engines read. flscan reproduces
// ClamAV 1.4's semantics and therefore skips exactly the lines ClamAV 1.4 skips.
constexpr std::uint64_t kFunctionalityLevel = 216;
// A `*` size in a hash database needs MinFL >= 73, the level that introduced it (ClamAV manual,
// "Hash signatures with unknown size"); ClamAV rejects the database otherwise.
constexpr std::uint64_t kWildcardSizeLevel = 73;
// cli_caloff refuses offset strings longer than this.
constexpr std::size_t kMaxOffsetText = 64;
// Hash sizes must be below 0xFFFFFFFF (readdb.c cli_loadhash).
constexpr std::uint64_t kMaxHashSize = 0xFFFFFFFEull;

using Failure = tl::unexpected<std::string>;

// The signatures of one database, committed to the set only when every line parsed. Deques: a
// 100,000-line database grows them without moving what was already parsed.
struct Staged {
  std::string origin;
  Kind kind = Kind::ndb;
  std::deque<BodySignature> body;
  std::deque<std::pair<Md5Digest, HashSignature>> md5;
  std::deque<std::pair<Sha256Digest, HashSignature>> sha256;
  std::size_t skipped = 0;  // lines outside flscan's functionality level
  std::size_t lines = 0;

  [[nodiscard]] std::size_t count() const { return body.size() + md5.size() + sha256.size(); }
};

std::string_view kind_name(Kind kind) {
  switch (kind) {
    case Kind::ndb:
      return "ndb";
    case Kind::hdb:
      return "hdb";
    case Kind::hsb:
      return "hsb";
  }
  return "?";
}

// A line's fields. Lines have at most 6; only the first kMaxKept are kept (no allocation per
// line), but size() counts them all for the error message.
class Fields {
 public:
  static constexpr std::size_t kMaxKept = 8;

  Fields(std::string_view line, char separator) {
    std::size_t from = 0;
    for (;;) {
      const std::size_t at = line.find(separator, from);
      if (count_ < kMaxKept)
        kept_[count_] = line.substr(from, at == std::string_view::npos ? std::string_view::npos : at - from);
      ++count_;
      if (at == std::string_view::npos) return;
      from = at + 1;
    }
  }
  [[nodiscard]] std::size_t size() const { return count_; }
  [[nodiscard]] std::string_view operator[](std::size_t i) const { return kept_[i]; }

 private:
  std::array<std::string_view, kMaxKept> kept_{};
  std::size_t count_ = 0;
};

// A non-empty run of decimal digits no larger than `max`.
std::optional<std::uint64_t> decimal(std::string_view text, std::uint64_t max = 0xFFFFFFFFull) {
  if (text.empty()) return std::nullopt;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return value;
}

std::string quoted(std::string_view text) {
  return "'" + std::string(text.substr(0, 80)) + (text.size() > 80 ? "...'" : "'");
}

tl::expected<std::string, std::string> check_name(std::string_view name) {
  if (name.empty()) return Failure("empty signature name");
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F)
      return Failure("signature name " + quoted(name) + " has a space, control or non-ASCII byte");
  }
  return std::string(name);
}

// MinFL and MaxFL fields: true when the line applies to flscan's functionality level.
tl::expected<bool, std::string> level_applies(const Fields& fields, std::size_t min_index) {
  if (fields.size() <= min_index) return true;
  const auto min = decimal(fields[min_index]);
  if (!min) return Failure("minimum functionality level " + quoted(fields[min_index]) + " is not a decimal number");
  if (fields.size() > min_index + 1) {
    const auto max = decimal(fields[min_index + 1]);
    if (!max)
      return Failure("maximum functionality level " + quoted(fields[min_index + 1]) + " is not a decimal number");
    if (*max < kFunctionalityLevel) return false;
  }
  return *min <= kFunctionalityLevel;
}

// ClamAV offset syntax (matcher.c cli_caloff): *, n, EOF-n, EP+n, EP-n, Sx+n, SL+n, each but `*`
// optionally followed by ",maxshift".
tl::expected<Offset, std::string> parse_offset(std::string_view text, Target target) {
  Offset offset;
  if (text == "*") return offset;
  if (text.size() > kMaxOffsetText)
    return Failure("offset longer than " + std::to_string(kMaxOffsetText) + " characters");
  std::string_view base = text;
  if (const std::size_t comma = text.find(','); comma != std::string_view::npos) {
    const auto shift = decimal(text.substr(comma + 1));
    if (!shift) return Failure("offset " + quoted(text) + ": maxshift after ',' must be a decimal number below 2^32");
    offset.max_shift = static_cast<std::uint32_t>(*shift);
    base = text.substr(0, comma);
  }
  auto number_after = [&](std::size_t prefix) -> tl::expected<std::int64_t, std::string> {
    const auto n = decimal(base.substr(prefix));
    if (!n)
      return Failure("offset " + quoted(text) + ": expected a decimal number below 2^32 after " +
                     quoted(base.substr(0, prefix)));
    return static_cast<std::int64_t>(*n);
  };
  bool needs_executable = true;
  if (base.rfind("EP+", 0) == 0 || base.rfind("EP-", 0) == 0) {
    auto n = number_after(3);
    if (!n) return tl::unexpected(n.error());
    offset.kind = Offset::Kind::from_entry_point;
    offset.value = base[2] == '-' ? -*n : *n;
  } else if (base.rfind("SE", 0) == 0) {
    return Failure("offset " + quoted(text) + ": SEx (whole section) offsets are not supported");
  } else if (base.rfind("SL+", 0) == 0) {
    auto n = number_after(3);
    if (!n) return tl::unexpected(n.error());
    offset.kind = Offset::Kind::from_last_section;
    offset.value = *n;
  } else if (base.rfind('S', 0) == 0) {
    const std::size_t plus = base.find('+');
    const auto section = plus == std::string_view::npos ? std::nullopt : decimal(base.substr(1, plus - 1));
    if (!section) return Failure("offset " + quoted(text) + ": expected Sx+n with a decimal section number x");
    auto n = number_after(plus + 1);
    if (!n) return tl::unexpected(n.error());
    offset.kind = Offset::Kind::from_section;
    offset.section = static_cast<std::uint32_t>(*section);
    offset.value = *n;
  } else if (base.rfind("EOF-", 0) == 0) {
    auto n = number_after(4);
    if (!n) return tl::unexpected(n.error());
    offset.kind = Offset::Kind::from_eof;
    offset.value = *n;
    needs_executable = false;
  } else if (base.rfind("VI", 0) == 0 || base.find('$') != std::string_view::npos) {
    return Failure("offset " + quoted(text) + ": version-info and macro offsets are not supported");
  } else {
    const auto n = decimal(base);
    if (!n) return Failure("invalid offset " + quoted(text) + " (expected *, n, EOF-n, EP+n, EP-n, Sx+n or SL+n)");
    offset.kind = Offset::Kind::absolute;
    offset.value = static_cast<std::int64_t>(*n);
    needs_executable = false;
  }
  // ClamAV: "Invalid offset type for target 0" (EP, Sx and SL need an executable target).
  if (needs_executable && target != Target::pe) {
    return Failure("offset " + quoted(text) + " is relative to PE structure and needs target 1");
  }
  return offset;
}

// Name:Target:Offset:HexSignature[:MinFL[:MaxFL]]
tl::expected<void, std::string> parse_ndb(std::string_view line, std::string origin, Staged& staged) {
  const Fields fields(line, ':');
  if (fields.size() < 4 || fields.size() > 6) {
    return Failure("expected Name:Target:Offset:HexSignature[:MinFL[:MaxFL]], found " + std::to_string(fields.size()) +
                   " ':'-separated fields");
  }
  auto name = check_name(fields[0]);
  if (!name) return tl::unexpected(name.error());
  const auto applies = level_applies(fields, 4);
  if (!applies) return tl::unexpected(applies.error());
  if (!*applies) {
    ++staged.skipped;
    return {};
  }
  BodySignature sig;
  sig.name = std::move(*name);
  sig.origin = std::move(origin);
  // ClamAV also takes "*" for "any target" (readdb.c cli_loadndb).
  const auto target = fields[1] == "*" ? std::optional<std::uint64_t>(0) : decimal(fields[1]);
  if (!target) return Failure("target " + quoted(fields[1]) + " is not a number");
  if (*target > 1) {
    return Failure("target " + std::to_string(*target) + " is not supported (flscan reads 0 = any file and 1 = PE)");
  }
  sig.target = *target == 1 ? Target::pe : Target::any_file;
  auto offset = parse_offset(fields[2], sig.target);
  if (!offset) return tl::unexpected(offset.error());
  sig.offset = *offset;
  auto pattern = Pattern::compile(fields[3]);
  if (!pattern) {
    return Failure("hex signature, column " + std::to_string(pattern.error().column) + ": " + pattern.error().reason);
  }
  sig.pattern = std::move(*pattern);
  // Cut now rather than when the set adds it, so that the memory budget sees its pieces.
  cut_pieces(sig);
  staged.body.push_back(std::move(sig));
  return {};
}

// HashString:FileSize:MalwareName[:MinFL[:MaxFL]]; the digest type follows from the hash length.
tl::expected<void, std::string> parse_hash(std::string_view line, std::string origin, Staged& staged) {
  const Fields fields(line, ':');
  if (fields.size() < 3 || fields.size() > 5) {
    return Failure("expected HashString:FileSize:MalwareName[:MinFL[:MaxFL]], found " + std::to_string(fields.size()) +
                   " ':'-separated fields");
  }
  const auto applies = level_applies(fields, 3);
  if (!applies) return tl::unexpected(applies.error());
  if (!*applies) {
    ++staged.skipped;
    return {};
  }
  HashSignature sig;
  if (fields[1] == "*") {
    if (fields.size() < 4 || *decimal(fields[3]) < kWildcardSizeLevel) {
      return Failure("a '*' file size needs a minimum functionality level field of at least 73 (HashString:*:Name:73)");
    }
  } else {
    const auto size = decimal(fields[1], kMaxHashSize);
    if (!size || *size == 0)
      return Failure("file size " + quoted(fields[1]) + " must be '*' or a decimal number from 1 to 4294967294");
    sig.size = *size;
  }
  auto name = check_name(fields[2]);
  if (!name) return tl::unexpected(name.error());
  sig.name = std::move(*name);
  sig.origin = std::move(origin);
  const std::string_view hash = fields[0];
  if (hash.size() == 32) {
    Md5Digest digest{};
    if (!parse_hex_digest(hash, digest.data(), digest.size()))
      return Failure("MD5 hash " + quoted(hash) + " is not hexadecimal");
    staged.md5.emplace_back(digest, std::move(sig));
  } else if (hash.size() == 64) {
    Sha256Digest digest{};
    if (!parse_hex_digest(hash, digest.data(), digest.size()))
      return Failure("SHA-256 hash " + quoted(hash) + " is not hexadecimal");
    staged.sha256.emplace_back(digest, std::move(sig));
  } else if (hash.size() == 40) {
    return Failure("SHA-1 hashes are not supported (use MD5 or SHA-256)");
  } else {
    return Failure("hash " + quoted(hash) + " is neither MD5 (32 hex digits) nor SHA-256 (64)");
  }
  return {};
}

// Feeds a database's lines one at a time, enforcing the line caps and the comment rules.
class DatabaseParser {
 public:
  DatabaseParser(Kind kind, std::string origin) {
    staged_.kind = kind;
    staged_.origin = std::move(origin);
  }

  tl::expected<void, LoadError> line(std::string_view text) {
    ++staged_.lines;
    if (staged_.lines > limits::kMaxSignaturesPerFile) {
      return error("more than " + std::to_string(limits::kMaxSignaturesPerFile) + " lines");
    }
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // CRLF files, as ClamAV's cli_chomp
    // `#` in the first column is a comment, as in ClamAV; blank lines are comments too in flscan
    // (ClamAV rejects them: databases meant for both must not contain any).
    if (text.empty() || text.front() == '#') return {};
    if (text.find_first_not_of(" \t") == std::string_view::npos) return {};
    const std::string line_number = std::to_string(staged_.lines);
    std::string origin;
    origin.reserve(staged_.origin.size() + 1 + line_number.size());
    origin.append(staged_.origin).append(1, ':').append(line_number);
    const std::size_t body_before = staged_.body.size();
    auto parsed = staged_.kind == Kind::ndb ? parse_ndb(text, std::move(origin), staged_)
                                            : parse_hash(text, std::move(origin), staged_);
    if (!parsed) return error(parsed.error());
    if (staged_.body.size() != body_before) return charge(staged_.body.back());
    return {};
  }

  // Counts a line's bytes (its newline included) toward the text the memory budget allows for.
  void count_text(std::size_t line_bytes) { text_bytes_ += line_bytes + 1; }

  // The memory budget (limits::kSignatureMemoryPerTextByte, issue 13 item 10): what the body
  // signatures parsed so far take, each counted twice for its inline part (the staging deque and
  // the set's vector both hold it while the set takes them over), may not exceed the budget for
  // the text read so far. Checked per line, so the error names the line that went over.
  tl::expected<void, LoadError> charge(const BodySignature& signature) {
    charged_ += signature.memory_bytes() + sizeof(BodySignature);
    if (charged_ <= signature_memory_budget(text_bytes_)) return {};
    return error("loaded signatures would take more than the memory budget of " +
                 std::to_string(limits::kSignatureMemoryPerTextByte) + " bytes per byte of database text plus " +
                 std::to_string(limits::kSignatureMemoryAllowance >> 20) +
                 " MiB (limits::kSignatureMemoryPerTextByte; this line's pattern has " +
                 std::to_string(std::max<std::size_t>(signature.piece_count(), 1)) + " pieces)");
  }

  tl::unexpected<LoadError> error(std::string reason) const {
    return tl::unexpected(LoadError{staged_.origin, staged_.lines, std::move(reason)});
  }

  // Rejects the line about to be read (one too long to hand to line()).
  tl::unexpected<LoadError> line_too_long() const {
    return tl::unexpected(LoadError{staged_.origin, staged_.lines + 1,
                                    "line longer than " + std::to_string(limits::kMaxSignatureLineLength) + " bytes"});
  }

  // ClamAV rejects a database file without a single line ("Empty database file").
  tl::expected<Staged, LoadError> finish() && {
    if (staged_.lines == 0) return tl::unexpected(LoadError{staged_.origin, 0, "empty database file"});
    return std::move(staged_);
  }

 private:
  Staged staged_;
  std::uint64_t text_bytes_ = 0;
  std::uint64_t charged_ = 0;
};

tl::expected<Staged, LoadError> parse_text(std::string_view text, Kind kind, std::string origin) {
  DatabaseParser parser(kind, std::move(origin));
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const std::string_view line = text.substr(0, newline);
    if (line.size() > limits::kMaxSignatureLineLength) return parser.line_too_long();
    parser.count_text(line.size());
    if (auto ok = parser.line(line); !ok) return tl::unexpected(ok.error());
    text = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  }
  return std::move(parser).finish();
}

// Reads a database file in blocks, never holding more than one line (at most the line cap).
// Opened as the scanner opens the files it scans (issue 13, item 10): O_NONBLOCK, so a FIFO or a
// device named by -d (or swapped in for a file of a -d directory after it was listed) cannot
// block the open, and refused unless the descriptor is a regular file. A -d operand that is a
// symlink to a regular file is the user's own choice and is followed.
tl::expected<Staged, LoadError> parse_file(const std::filesystem::path& path, Kind kind) {
  const std::string name = path.string();
  const int fd = ::open(name.c_str(), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) return tl::unexpected(LoadError{name, 0, std::string("cannot open: ") + std::strerror(errno)});
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0)
    return tl::unexpected(LoadError{name, 0, std::string("cannot stat: ") + std::strerror(errno)});
  if (!S_ISREG(st.st_mode))
    return tl::unexpected(LoadError{name, 0, "not a regular file (a FIFO, device or directory is never read)"});
  const std::string too_large = "larger than " + std::to_string(limits::kMaxSignatureFileBytes >> 20) + " MiB";
  if (static_cast<std::uint64_t>(st.st_size) > limits::kMaxSignatureFileBytes)
    return tl::unexpected(LoadError{name, 0, too_large});
  std::uint64_t total = 0;
  DatabaseParser parser(kind, name);
  std::string pending;
  std::vector<char> block(64 * 1024);
  for (;;) {
    const ssize_t got = ::read(fd, block.data(), block.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return tl::unexpected(LoadError{name, 0, std::string("read error: ") + std::strerror(errno)});
    if (got == 0) break;
    // The file may grow while it is read: the cap holds for what is read, not what stat said.
    total += static_cast<std::uint64_t>(got);
    if (total > limits::kMaxSignatureFileBytes) return tl::unexpected(LoadError{name, 0, too_large});
    std::string_view chunk(block.data(), static_cast<std::size_t>(got));
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      const std::string_view piece = chunk.substr(0, newline);
      if (pending.size() + piece.size() > limits::kMaxSignatureLineLength) return parser.line_too_long();
      if (newline == std::string_view::npos) {
        pending.append(piece);
        break;
      }
      pending.append(piece);
      parser.count_text(pending.size());
      if (auto ok = parser.line(pending); !ok) return tl::unexpected(ok.error());
      pending.clear();
      chunk.remove_prefix(newline + 1);
    }
  }
  if (!pending.empty()) {
    parser.count_text(pending.size());
    if (auto ok = parser.line(pending); !ok) return tl::unexpected(ok.error());
  }
  return std::move(parser).finish();
}

void commit(Staged&& staged, SignatureSet& set, std::string description) {
  set.reserve(staged.body.size(), staged.md5.size(), staged.sha256.size());
  // Popped as they are moved, so the deque's blocks are freed on the way and the staged and the
  // committed signatures never both exist in full (a 1,000,000-line .ndb: issue 13, item 10).
  while (!staged.body.empty()) {
    set.add_body(std::move(staged.body.front()));
    staged.body.pop_front();
  }
  for (auto& [digest, sig] : staged.md5) set.add_md5(digest, std::move(sig));
  for (auto& [digest, sig] : staged.sha256) set.add_sha256(digest, std::move(sig));
  set.add_source(std::move(description));
}

std::string describe(const Staged& staged) {
  std::string out = staged.origin + " (" + std::string(kind_name(staged.kind)) + ", " + std::to_string(staged.count()) +
                    " signatures";
  if (staged.skipped != 0) {
    out += ", " + std::to_string(staged.skipped) + " skipped for functionality level " +
           std::to_string(kFunctionalityLevel);
  }
  return out + ")";
}

tl::expected<Staged, LoadError> parse_path_as_file(const std::filesystem::path& path) {
  const auto kind = kind_for_path(path);
  if (!kind) {
    return tl::unexpected(
        LoadError{path.string(), 0, "not a signature database (flscan reads .ndb, .hdb and .hsb files)"});
  }
  return parse_file(path, *kind);
}

}  // namespace

std::uint64_t signature_memory_budget(std::uint64_t text_bytes) {
  return text_bytes * limits::kSignatureMemoryPerTextByte + limits::kSignatureMemoryAllowance;
}

std::string LoadError::message() const {
  std::string out = file;
  if (line != 0) out += ":" + std::to_string(line);
  return out + ": " + reason;
}

std::optional<Kind> kind_for_path(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; });
  if (ext == ".ndb") return Kind::ndb;
  if (ext == ".hdb") return Kind::hdb;
  if (ext == ".hsb") return Kind::hsb;
  return std::nullopt;
}

tl::expected<void, LoadError> load_text(std::string_view text, Kind kind, std::string_view origin, SignatureSet& set) {
  auto staged = parse_text(text, kind, std::string(origin));
  if (!staged) return tl::unexpected(staged.error());
  std::string description = describe(*staged);
  commit(std::move(*staged), set, std::move(description));
  return {};
}

tl::expected<void, LoadError> load_file(const std::filesystem::path& path, SignatureSet& set) {
  auto staged = parse_path_as_file(path);
  if (!staged) return tl::unexpected(staged.error());
  std::string description = describe(*staged);
  commit(std::move(*staged), set, std::move(description));
  return {};
}

tl::expected<void, LoadError> load_path(const std::filesystem::path& path, SignatureSet& set) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return tl::unexpected(LoadError{path.string(), 0, "cannot access: " + ec.message()});
  if (!std::filesystem::is_directory(status)) return load_file(path, set);

  std::vector<std::filesystem::path> files;
  std::filesystem::directory_iterator it(path, ec), end;
  for (; !ec && it != end; it.increment(ec)) {
    if (!kind_for_path(it->path())) continue;
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) files.push_back(it->path());
  }
  if (ec) return tl::unexpected(LoadError{path.string(), 0, "cannot list directory: " + ec.message()});
  if (files.empty())
    return tl::unexpected(LoadError{path.string(), 0, "no .ndb, .hdb or .hsb files in this directory"});
  std::sort(files.begin(), files.end());
  // Parse every file before adding any, so that one bad file leaves the set as it was.
  std::vector<Staged> staged;
  for (const auto& file : files) {
    auto parsed = parse_path_as_file(file);
    if (!parsed) return tl::unexpected(parsed.error());
    staged.push_back(std::move(*parsed));
  }
  for (auto& one : staged) {
    std::string description = describe(one);
    commit(std::move(one), set, std::move(description));
  }
  return {};
}

tl::expected<SignatureSet, LoadError> builtin_signatures() {
  SignatureSet set;
  auto staged = parse_text(detail::builtin_ndb(), Kind::ndb, "builtin:funlove.ndb");
  if (!staged) return tl::unexpected(staged.error());
  std::string description =
      "built-in " + std::string(detail::builtin_version()) + " (" + std::to_string(staged->count()) + " signatures)";
  commit(std::move(*staged), set, std::move(description));
  return set;
}

std::string_view builtin_version() { return detail::builtin_version(); }

}  // namespace flscan::signatures
