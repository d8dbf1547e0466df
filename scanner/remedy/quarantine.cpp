#include "scanner/remedy/quarantine.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "engine/hashing.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/open_path.h"
#include "scanner/report/json_path.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

using Json = nlohmann::ordered_json;

constexpr std::string_view kManifestTemp = "manifest.json.tmp";
constexpr std::string_view kLockFile = ".lock";
constexpr std::string_view kCopySuffix = ".flq";
constexpr std::string_view kPartSuffix = ".part";
constexpr std::string_view kRepairPrefix = ".flscan-repair-";
constexpr std::string_view kRestorePrefix = ".flscan-restore-";
constexpr std::string_view kManifestSchema = "flscan-quarantine";
constexpr int kManifestVersion = 1;
constexpr std::size_t kIdDigits = 32;
// A manifest larger than this is not one flscan wrote for any realistic number of files (an entry
// is about 500 bytes); refusing it bounds what opening a hostile DIR can make us allocate.
constexpr std::uint64_t kMaxManifestBytes = 256ull * 1024 * 1024;
constexpr std::size_t kIoChunk = 1u << 20;

FileIdentity identity_of(const struct stat& st) {
  return FileIdentity{static_cast<std::uint64_t>(st.st_dev), static_cast<std::uint64_t>(st.st_ino)};
}

std::int64_t to_ns(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

timespec from_ns(std::int64_t ns) {
  timespec t{};
  std::int64_t sec = ns / 1'000'000'000;
  std::int64_t rest = ns % 1'000'000'000;
  if (rest < 0) {
    rest += 1'000'000'000;
    --sec;
  }
  t.tv_sec = static_cast<time_t>(sec);
  t.tv_nsec = static_cast<long>(rest);
  return t;
}

std::string sha256_hex(const std::uint8_t* data, std::size_t size) {
  Hasher hasher;
  return to_hex(hasher.digest(ByteView(data, size), WantMd5::no).sha256);
}
std::string sha256_hex(const std::vector<std::uint8_t>& bytes) { return sha256_hex(bytes.data(), bytes.size()); }

// Reads the whole open file. Errno on failure.
tl::expected<std::vector<std::uint8_t>, int> read_all(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return tl::make_unexpected(errno);
  std::vector<std::uint8_t> out;
  out.reserve(static_cast<std::size_t>(std::max<off_t>(st.st_size, 0)));
  std::uint8_t chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::make_unexpected(errno);
    }
    if (n == 0) break;
    out.insert(out.end(), chunk, chunk + n);
  }
  return out;
}

int write_all(int fd, const std::uint8_t* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(fd, data + done, std::min(size - done, kIoChunk));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

struct Copied {
  std::string sha256;  // of what was read
  std::uint64_t size = 0;
};

// Reads `in` from offset 0 to its end in chunks, hashing, and writes each chunk to `out` (when
// `out` >= 0): a file is never held whole. Errno on failure.
tl::expected<Copied, int> copy_and_hash(int in, int out) {
  Hasher hasher;
  hasher.begin(WantMd5::no);
  std::vector<std::uint8_t> chunk(kIoChunk);
  Copied copied;
  for (;;) {
    const ssize_t n = ::pread(in, chunk.data(), chunk.size(), static_cast<off_t>(copied.size));
    if (n < 0) {
      if (errno == EINTR) continue;
      return tl::make_unexpected(errno);
    }
    if (n == 0) break;
    const auto length = static_cast<std::size_t>(n);
    hasher.update(ByteView(chunk.data(), length));
    if (out >= 0) {
      if (int error = write_all(out, chunk.data(), length)) return tl::make_unexpected(error);
    }
    copied.size += length;
  }
  copied.sha256 = to_hex(hasher.finish().sha256);
  return copied;
}

bool is_lower_hex(std::string_view text, std::size_t digits) {
  return text.size() == digits &&
         std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_copy_name(std::string_view name) {
  return name.size() == kIdDigits + kCopySuffix.size() && name.substr(kIdDigits) == kCopySuffix &&
         is_lower_hex(name.substr(0, kIdDigits), kIdDigits);
}

bool is_part_name(std::string_view name) {
  return name.size() > kPartSuffix.size() && name.substr(name.size() - kPartSuffix.size()) == kPartSuffix &&
         is_copy_name(name.substr(0, name.size() - kPartSuffix.size()));
}

std::string id_of(const QuarantineEntry& entry) { return entry.file.substr(0, kIdDigits); }

// The copy's name: derived from the original's absolute path and content, so an interrupted run
// and its re-run agree on it, and two files never share one.
std::string copy_name(const std::string& absolute_path, const std::string& sha256) {
  std::string key = absolute_path;
  key.push_back('\0');
  key += sha256;
  return sha256_hex(reinterpret_cast<const std::uint8_t*>(key.data()), key.size()).substr(0, kIdDigits) +
         std::string(kCopySuffix);
}

// The path made absolute against the working directory, "." and empty components dropped. ".." is
// kept: it cannot be resolved lexically across symlinks, and the kernel resolves it the same way
// at quarantine and at restore time.
tl::expected<std::string, std::string> absolute_path(const std::string& path) {
  std::string joined;
  if (path.empty() || path.front() != '/') {
    std::error_code ec;
    const auto cwd = std::filesystem::current_path(ec);
    if (ec) return tl::make_unexpected("cannot get the working directory: " + ec.message());
    joined = cwd.string() + "/";
  }
  joined += path;
  std::string out;
  std::size_t start = 0;
  while (start <= joined.size()) {
    std::size_t end = joined.find('/', start);
    if (end == std::string::npos) end = joined.size();
    const std::string_view part(joined.data() + start, end - start);
    if (!part.empty() && part != ".") {
      out += '/';
      out += part;
    }
    start = end + 1;
  }
  if (out.empty()) return tl::make_unexpected("'" + path + "' names no file");
  return out;
}

struct SplitPath {
  std::string parent;
  std::string base;
};

SplitPath split(const std::string& absolute) {
  const std::size_t slash = absolute.rfind('/');
  return {slash == 0 ? std::string("/") : absolute.substr(0, slash), absolute.substr(slash + 1)};
}

Json entry_to_json(const QuarantineEntry& e) {
  return Json{{"file", e.file},
              {"path", path_to_json(e.original_path)},
              {"size", e.size},
              {"sha256", e.sha256},
              {"mode", e.mode},
              {"uid", e.uid},
              {"gid", e.gid},
              {"atime_ns", e.atime_ns},
              {"mtime_ns", e.mtime_ns},
              {"state", e.state},
              {"rule", e.rule},
              {"quarantined_at", e.quarantined_at},
              {"repaired_sha256", e.repaired_sha256 ? Json(*e.repaired_sha256) : Json(nullptr)}};
}

template <typename T>
T field(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) throw std::runtime_error(std::string("missing \"") + key + "\"");
  return it->get<T>();
}

// An integer field within [low, high]: nlohmann's get<> would wrap a negative or too large value.
std::int64_t integer(const Json& object, const char* key, std::int64_t low, std::int64_t high) {
  const auto it = object.find(key);
  if (it == object.end()) throw std::runtime_error(std::string("missing \"") + key + "\"");
  const bool in_range = it->is_number_unsigned() ? it->get<std::uint64_t>() <= static_cast<std::uint64_t>(high)
                                                 : it->is_number_integer() && it->get<std::int64_t>() <= high;
  if (!in_range || (it->is_number_integer() && !it->is_number_unsigned() && it->get<std::int64_t>() < low)) {
    throw std::runtime_error(std::string("\"") + key + "\" is not an integer in range");
  }
  return it->get<std::int64_t>();
}

QuarantineEntry entry_from_json(const Json& j) {
  if (!j.is_object()) throw std::runtime_error("not an object");
  QuarantineEntry e;
  e.file = field<std::string>(j, "file");
  if (!is_copy_name(e.file)) throw std::runtime_error("\"file\" is not a quarantine copy name");
  auto path = path_from_json(j.at("path"));
  if (!path) throw std::runtime_error("\"path\": " + path.error());
  e.original_path = std::move(*path);
  if (e.original_path.size() < 2 || e.original_path.front() != '/' || e.original_path.back() == '/' ||
      e.original_path.find('\0') != std::string::npos) {
    throw std::runtime_error("\"path\" is not an absolute file path");
  }
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  constexpr std::int64_t kMaxId = std::numeric_limits<std::uint32_t>::max();
  e.size = static_cast<std::uint64_t>(integer(j, "size", 0, kMax));
  e.sha256 = field<std::string>(j, "sha256");
  if (!is_lower_hex(e.sha256, 64)) throw std::runtime_error("\"sha256\" is not 64 hex digits");
  e.mode = static_cast<std::uint32_t>(integer(j, "mode", 0, 07777));
  e.uid = static_cast<std::uint32_t>(integer(j, "uid", 0, kMaxId));
  e.gid = static_cast<std::uint32_t>(integer(j, "gid", 0, kMaxId));
  e.atime_ns = integer(j, "atime_ns", kMin, kMax);
  e.mtime_ns = integer(j, "mtime_ns", kMin, kMax);
  e.state = field<std::string>(j, "state");
  e.rule = field<std::string>(j, "rule");
  e.quarantined_at = integer(j, "quarantined_at", kMin, kMax);
  if (const auto it = j.find("repaired_sha256"); it != j.end() && !it->is_null()) {
    e.repaired_sha256 = it->get<std::string>();
    if (!is_lower_hex(*e.repaired_sha256, 64)) throw std::runtime_error("\"repaired_sha256\" is not 64 hex digits");
  }
  return e;
}

tl::expected<std::vector<QuarantineEntry>, std::string> parse_manifest(const std::vector<std::uint8_t>& bytes) {
  try {
    const Json doc = Json::parse(bytes.begin(), bytes.end());
    if (!doc.is_object() || doc.value("schema", "") != kManifestSchema) {
      return tl::make_unexpected("not an flscan quarantine manifest");
    }
    if (doc.value("schema_version", 0) != kManifestVersion) {
      return tl::make_unexpected("schema_version " + doc.value("schema_version", Json()).dump() + " is not supported");
    }
    std::vector<QuarantineEntry> entries;
    std::size_t index = 0;
    for (const Json& item : doc.at("entries")) {
      try {
        entries.push_back(entry_from_json(item));
      } catch (const std::exception& e) {
        return tl::make_unexpected("entry " + std::to_string(index) + ": " + e.what());
      }
      for (std::size_t k = 0; k + 1 < entries.size(); ++k) {
        if (entries[k].file == entries.back().file)
          return tl::make_unexpected("entry " + std::to_string(index) + ": duplicate file");
      }
      ++index;
    }
    return entries;
  } catch (const std::exception& e) {
    return tl::make_unexpected(std::string("unreadable: ") + e.what());
  }
}

// Names in a directory (without "." and ".."), sorted, or the errno of the open or the listing.
tl::expected<std::vector<std::string>, int> list_dir(int dir_fd) {
  const int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DirectoryReader reader(fd, errno);
  std::vector<std::string> names;
  while (const char* name = reader.next()) names.emplace_back(name);
  if (reader.error() != 0) return tl::make_unexpected(reader.error());
  std::sort(names.begin(), names.end());
  return names;
}

bool same_file_state(const struct stat& a, const struct stat& b) {
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size &&
         to_ns(a.st_mtim) == to_ns(b.st_mtim) && to_ns(a.st_ctim) == to_ns(b.st_ctim);
}

// Owner, mode and times of a manifest entry (or of the original) onto a file being written.
// Root restores the owner; anyone else can only keep their own (the caller decides if that is ok).
int apply_metadata(int fd, std::uint32_t uid, std::uint32_t gid, std::uint32_t mode, std::int64_t atime_ns,
                   std::int64_t mtime_ns, bool change_owner) {
  // Owner first: chown clears set-user-ID and set-group-ID bits, which the chmod then restores.
  if (change_owner && ::fchown(fd, static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0) return errno;
  if (::fchmod(fd, static_cast<mode_t>(mode)) != 0) return errno;
  const timespec times[2] = {from_ns(atime_ns), from_ns(mtime_ns)};
  if (::futimens(fd, times) != 0) return errno;
  return 0;
}

// Opens the directory `relative` below the root directory without following symbolic links
// (open_path.h), as a descriptor of ours.
tl::expected<Fd, BeneathError> open_below_root(std::string_view relative, const BeneathOptions& options = {}) {
  const Fd root(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return tl::make_unexpected(BeneathError{"/", errno, errno_text(errno)});
  auto fd = open_directory_beneath(root.get(), relative, options);
  if (!fd) return tl::make_unexpected(fd.error());
  return Fd(*fd);
}

// Where a scanned file is: its directory, reached from the PATH operand it was found under (named
// by the administrator, trusted) by one component at a time without following a symbolic link,
// its name there, and its absolute path (the operand's canonical path plus the components below
// it, so the path holds no symbolic link when it is recorded and restore may refuse any).
struct Location {
  Fd dir;
  std::string base;
  std::string absolute;
};

tl::expected<Location, std::string> locate(const std::string& path, const std::string& root) {
  std::string trusted;   // followed as given
  std::string relative;  // walked without following symlinks
  if (root.empty()) {
    auto absolute = absolute_path(path);
    if (!absolute) return tl::make_unexpected(absolute.error());
    trusted = "/";
    relative = absolute->substr(1);
  } else if (path == root) {
    // The operand is the file itself: its directory is as trusted as the operand.
    const std::size_t slash = root.rfind('/');
    trusted = slash == std::string::npos ? "." : slash == 0 ? "/" : root.substr(0, slash);
    relative = slash == std::string::npos ? root : root.substr(slash + 1);
  } else if (path.starts_with(root) &&
             (root.back() == '/' || (path.size() > root.size() && path[root.size()] == '/'))) {
    trusted = root;
    relative = path.substr(root.size());
  } else {
    return tl::make_unexpected("not below its PATH operand " + escape_for_terminal(root));
  }
  while (!relative.empty() && relative.back() == '/') relative.pop_back();
  relative.erase(
      0, relative.find_first_not_of('/') == std::string::npos ? relative.size() : relative.find_first_not_of('/'));
  const std::size_t cut = relative.rfind('/');
  const std::string parent = cut == std::string::npos ? std::string() : relative.substr(0, cut);
  Location where;
  where.base = cut == std::string::npos ? relative : relative.substr(cut + 1);
  if (where.base.empty() || where.base == "." || where.base == "..")
    return tl::make_unexpected("the path names no file");

  std::string canonical = "/";
  Fd start;
  if (root.empty()) {
    start = Fd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  } else {
    char* resolved = ::realpath(trusted.c_str(), nullptr);
    if (resolved == nullptr)
      return tl::make_unexpected("cannot resolve " + escape_for_terminal(trusted) + ": " + errno_text(errno));
    canonical = resolved;
    std::free(resolved);
    start = Fd(open_path(canonical.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  if (!start.valid())
    return tl::make_unexpected("cannot open " + escape_for_terminal(canonical) + ": " + errno_text(errno));
  auto dir = open_directory_beneath(start.get(), parent);
  if (!dir) return tl::make_unexpected("cannot open its directory: " + escape_for_terminal(dir.error().describe()));
  where.dir = Fd(*dir);
  where.absolute =
      (canonical == "/" ? std::string() : canonical) + "/" + (parent.empty() ? "" : parent + "/") + where.base;
  return where;
}

// Issue 13: DIR holds the evidence and the manifest restore trusts (paths, owners, modes), so only
// root or the user running flscan may be able to change it. DIR and every directory above it up to
// / must be owned by root or by that user and writable by no one else (a parent with the sticky
// bit, like /tmp, aside: nobody else can rename or remove what is in it), as ssh checks its files.
// DIR is created (mode 0700) when missing. The error names the directory and what is wrong.
tl::expected<Fd, std::string> open_private_directory(const std::string& dir) {
  auto absolute = absolute_path(dir);
  if (!absolute) return tl::make_unexpected(absolute.error());
  // The directories above DIR resolved once (symlinks the administrator named are followed here),
  // then walked without following any, so what is checked is what is used.
  std::string canonical;
  if (char* resolved = ::realpath(absolute->c_str(), nullptr)) {
    canonical = resolved;
    std::free(resolved);
  } else if (errno == ENOENT) {
    const std::size_t slash = absolute->rfind('/');
    const std::string parent = slash == 0 ? "/" : absolute->substr(0, slash);
    resolved = ::realpath(parent.c_str(), nullptr);
    if (resolved == nullptr)
      return tl::make_unexpected("cannot resolve " + escape_for_terminal(parent) + ": " + errno_text(errno));
    canonical = resolved;
    std::free(resolved);
    if (canonical.back() != '/') canonical += '/';
    canonical += absolute->substr(slash + 1);
  } else {
    return tl::make_unexpected("cannot resolve the quarantine directory " + escape_for_terminal(dir) + ": " +
                               errno_text(errno));
  }
  if (canonical == "/") return tl::make_unexpected("/ cannot be the quarantine directory");

  const uid_t self = ::geteuid();
  Fd current(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!current.valid()) return tl::make_unexpected("cannot open /: " + errno_text(errno));
  std::string where = "/";
  std::size_t start = 1;
  for (;;) {
    struct stat st {};
    if (::fstat(current.get(), &st) != 0) {
      return tl::make_unexpected("cannot examine " + escape_for_terminal(where) + ": " + errno_text(errno));
    }
    const bool last = start > canonical.size();
    const std::string what = (last ? "the quarantine directory " : "the directory ") + escape_for_terminal(where);
    if (st.st_uid != 0 && st.st_uid != self) {
      return tl::make_unexpected(what + " is owned by uid " + std::to_string(st.st_uid) +
                                 ", neither root nor the user running flscan: that user could change the quarantine");
    }
    if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (last || (st.st_mode & S_ISVTX) == 0)) {
      return tl::make_unexpected(
          what + " is writable by " + ((st.st_mode & S_IWOTH) != 0 ? "every user" : "its group") + " (mode " +
          [&] {
            char octal[8];
            std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(st.st_mode & 07777));
            return std::string(octal);
          }() +
          "): they could change the quarantine");
    }
    if (last) return current;
    std::size_t end = canonical.find('/', start);
    if (end == std::string::npos) end = canonical.size();
    const std::string name = canonical.substr(start, end - start);
    const bool is_dir_itself = end == canonical.size();
    if (is_dir_itself && ::mkdirat(current.get(), name.c_str(), 0700) != 0 && errno != EEXIST) {
      return tl::make_unexpected("cannot create the quarantine directory " + escape_for_terminal(dir) + ": " +
                                 errno_text(errno));
    }
    auto next = open_directory_beneath(current.get(), name);
    if (!next) {
      where += (where.back() == '/' ? "" : "/") + name;
      return tl::make_unexpected(
          (is_dir_itself ? "cannot open the quarantine directory " : "cannot open the directory ") +
          escape_for_terminal(where) + ": " + escape_for_terminal(next.error().reason));
    }
    current = Fd(*next);
    where += (where.back() == '/' ? "" : "/") + name;
    start = end + 1;
  }
}

}  // namespace

std::string QuarantineError::describe() const { return std::string(to_string(step)) + ": " + message; }

namespace {

// Where a restore writes: the directory (open_restore_dir), the file's name in it and the
// temporary name it is written under first.
struct RestoreTarget {
  Fd dir;
  std::string base;
  std::string temp;
};

}  // namespace

class HeldOriginal {
 public:
  Fd dir;            // the original's directory, so later steps name it relative to the same directory
  std::string base;  // the original's name in it
  Fd file;           // the original, open for reading
  struct stat stat_at_read {};
};

struct Quarantine::State {
  std::string dir;
  Fd dir_fd;
  Fd lock_fd;
  QuarantineHooks hooks;
  std::vector<QuarantineEntry> entries;
  std::vector<std::string> recovered;
  // Copies whose original this Quarantine removed or replaced: the same file met again (overlapping
  // PATH operands) is reported as done, not as gone.
  std::set<std::string> disposed;

  // The fault point before every step: the hook's errno, else 0.
  int gate(QuarantineStep step) const { return hooks.before_step ? hooks.before_step(step) : 0; }

  tl::unexpected<QuarantineError> fail(QuarantineStep step, int error) const {
    return tl::unexpected(QuarantineError{step, errno_text(error), {}});
  }
  tl::unexpected<QuarantineError> fail(QuarantineStep step, std::string message) const {
    return tl::unexpected(QuarantineError{step, std::move(message), {}});
  }

  // The result of a manifest commit: `renamed` tells whether the new manifest replaced the old
  // one (then only its durability is in doubt when an error is returned as well).
  struct Commit {
    bool renamed = false;
    std::optional<QuarantineError> error;
  };

  // Writes the entries as the new manifest: temp file, fsync, rename, fsync DIR.
  Commit commit() const {
    Commit result;
    std::string text;
    try {
      Json list = Json::array();
      for (const QuarantineEntry& entry : entries) list.push_back(entry_to_json(entry));
      const Json doc{{"schema", kManifestSchema}, {"schema_version", kManifestVersion}, {"entries", std::move(list)}};
      // Paths are exact ({"bytes"} when not UTF-8); a rule from a -d signature name is text for
      // people, where bytes that are not UTF-8 become U+FFFD.
      text = doc.dump(2, ' ', false, Json::error_handler_t::replace) + "\n";
    } catch (const std::exception& e) {
      result.error =
          QuarantineError{QuarantineStep::write_manifest, std::string("cannot build the manifest: ") + e.what(), {}};
      return result;
    }
    const std::string temp(kManifestTemp);
    auto failed = [&](QuarantineStep step, int error) {
      result.error = QuarantineError{step, errno_text(error), {}};
      if (!result.renamed) ::unlinkat(dir_fd.get(), temp.c_str(), 0);
      return result;
    };
    int error = gate(QuarantineStep::write_manifest);
    Fd fd;
    if (error == 0) {
      fd = Fd(::openat(dir_fd.get(), temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
      if (!fd.valid()) error = errno;
    }
    if (error == 0) error = write_all(fd.get(), reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
    if (error != 0) return failed(QuarantineStep::write_manifest, error);
    error = gate(QuarantineStep::sync_manifest);
    if (error == 0 && ::fsync(fd.get()) != 0) error = errno;
    if (error == 0) error = fd.close_checked();
    if (error != 0) return failed(QuarantineStep::sync_manifest, error);
    error = gate(QuarantineStep::rename_manifest);
    if (error == 0 &&
        ::renameat(dir_fd.get(), temp.c_str(), dir_fd.get(), std::string(kQuarantineManifest).c_str()) != 0) {
      error = errno;
    }
    if (error != 0) return failed(QuarantineStep::rename_manifest, error);
    result.renamed = true;
    error = gate(QuarantineStep::sync_manifest_dir);
    if (error == 0 && ::fsync(dir_fd.get()) != 0) error = errno;
    if (error != 0) return failed(QuarantineStep::sync_manifest_dir, error);
    return result;
  }

  // Opens DIR/<file> for reading.
  tl::expected<Fd, std::string> open_copy(const QuarantineEntry& entry) const {
    Fd fd(::openat(dir_fd.get(), entry.file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    if (!fd.valid()) return tl::make_unexpected("cannot open the copy " + entry.file + ": " + errno_text(errno));
    // A copy is a regular file flscan wrote as the owner of DIR; anything else was put there.
    struct stat copy {};
    struct stat directory {};
    if (::fstat(fd.get(), &copy) != 0 || ::fstat(dir_fd.get(), &directory) != 0) {
      return tl::make_unexpected("cannot examine the copy " + entry.file + ": " + errno_text(errno));
    }
    if (!S_ISREG(copy.st_mode) || copy.st_uid != directory.st_uid) {
      return tl::make_unexpected("the copy " + entry.file +
                                 " is not a regular file owned by the owner of the quarantine directory");
    }
    return fd;
  }

  // What was read from a copy against its entry; the message says what is wrong.
  static tl::expected<void, std::string> matches(const QuarantineEntry& entry, std::uint64_t size,
                                                 const std::string& sha) {
    if (size == entry.size && sha == entry.sha256) return {};
    return tl::make_unexpected("the copy " + entry.file + " does not match its manifest entry (" +
                               std::to_string(size) + " bytes, SHA-256 " + sha + ")");
  }

  // Re-reads DIR/<file> and checks it against the entry.
  tl::expected<void, std::string> verify_copy(const QuarantineEntry& entry) const {
    auto fd = open_copy(entry);
    if (!fd) return tl::make_unexpected(fd.error());
    auto read = copy_and_hash(fd->get(), -1);
    if (!read) return tl::make_unexpected("cannot read the copy " + entry.file + ": " + errno_text(read.error()));
    return matches(entry, read->size, read->sha256);
  }

  // The original is still the file that was read: same inode under the same name, same size,
  // mtime and ctime (a write or a chmod since would show in one of them).
  tl::expected<void, QuarantineError> check_original(const HeldOriginal& held) const {
    if (int error = gate(QuarantineStep::check_original)) return fail(QuarantineStep::check_original, error);
    struct stat now {};
    struct stat by_name {};
    if (::fstat(held.file.get(), &now) != 0) return fail(QuarantineStep::check_original, errno);
    if (::fstatat(held.dir.get(), held.base.c_str(), &by_name, AT_SYMLINK_NOFOLLOW) != 0) {
      return fail(QuarantineStep::check_original, "the original is gone from its directory: " + errno_text(errno));
    }
    if (!same_file_state(held.stat_at_read, now) || !same_file_state(held.stat_at_read, by_name)) {
      return fail(QuarantineStep::check_original, "the original changed or was replaced after it was copied");
    }
    return {};
  }

  void remove_quietly(const std::string& name) const { ::unlinkat(dir_fd.get(), name.c_str(), 0); }
  // What an abandoned put() leaves of a copy: DIR/<name>.part and DIR/<name>, removed.
  void discard_copy(const std::string& name) const {
    remove_quietly(name + std::string(kPartSuffix));
    remove_quietly(name);
  }
  [[nodiscard]] std::string path_of(const std::string& file) const {
    return dir + (dir.empty() || dir.back() != '/' ? "/" : "") + file;
  }

  // The steps of put() (defined beside it).
  tl::expected<std::shared_ptr<HeldOriginal>, QuarantineError> hold_original(
      Location located, const std::optional<FileOrigin>& origin) const;
  tl::expected<Quarantined, QuarantineError> reuse_copy(const QuarantineEntry& existing,
                                                        std::shared_ptr<HeldOriginal> held,
                                                        const std::string& sha256) const;
  tl::expected<Copied, QuarantineError> write_copy(const std::string& name, const HeldOriginal& held,
                                                   const std::string& sha256) const;
  static QuarantineEntry new_entry(const std::string& name, const std::string& absolute, const Copied& copied,
                                   const HeldOriginal& held);
  tl::expected<Quarantined, QuarantineError> commit_copy(QuarantineEntry entry, std::shared_ptr<HeldOriginal> held);

  // The steps of restore_one() (defined beside it).
  tl::expected<bool, QuarantineError> examine_restore_target(const QuarantineEntry& entry, const RestoreTarget& target,
                                                             RestoreOutcome& out) const;
  tl::expected<void, QuarantineError> place_restored(const QuarantineEntry& entry, int copy_fd,
                                                     const RestoreTarget& target, bool replace,
                                                     RestoreOutcome& out) const;
  tl::expected<void, QuarantineError> forget_restored(const QuarantineEntry& entry, RestoreOutcome& out);

  // Recovery after an interrupted run (see quarantine.h): temp files and unreferenced copies in
  // DIR, and the repair temp file an interrupted repair may have left beside an original.
  void recover() {
    bool removed = false;
    if (auto names = list_dir(dir_fd.get())) {
      for (const std::string& name : *names) {
        const bool referenced =
            std::any_of(entries.begin(), entries.end(), [&](const QuarantineEntry& e) { return e.file == name; });
        const bool garbage = name == kManifestTemp || is_part_name(name) || (is_copy_name(name) && !referenced);
        if (garbage && ::unlinkat(dir_fd.get(), name.c_str(), 0) == 0) {
          recovered.push_back(name);
          removed = true;
        }
      }
    }
    if (removed) ::fsync(dir_fd.get());
    for (const QuarantineEntry& entry : entries) {
      const SplitPath where = split(entry.original_path);
      const std::string temp = std::string(kRepairPrefix) + id_of(entry);
      const auto parent = open_below_root(where.parent.substr(1));
      if (parent && ::unlinkat(parent->get(), temp.c_str(), 0) == 0) recovered.push_back(where.parent + "/" + temp);
    }
  }
};

Quarantine::Quarantine(std::unique_ptr<State> state) : state_(std::move(state)) {}
Quarantine::Quarantine(Quarantine&&) noexcept = default;
Quarantine& Quarantine::operator=(Quarantine&&) noexcept = default;
Quarantine::~Quarantine() = default;

const std::vector<QuarantineEntry>& Quarantine::entries() const { return state_->entries; }
const std::string& Quarantine::dir() const { return state_->dir; }
const std::vector<std::string>& Quarantine::recovered() const { return state_->recovered; }
std::string Quarantine::path_of(const QuarantineEntry& entry) const { return state_->path_of(entry.file); }

tl::expected<Quarantine, std::string> Quarantine::open(const std::string& dir, QuarantineHooks hooks) {
  auto state = std::make_unique<State>();
  state->dir = dir;
  state->hooks = std::move(hooks);
  const std::string quoted = "quarantine directory " + escape_for_terminal(dir);
  if (dir.empty()) return tl::make_unexpected("the quarantine directory name is empty");
  auto private_dir = open_private_directory(dir);
  if (!private_dir) return tl::make_unexpected(private_dir.error());
  state->dir_fd = std::move(*private_dir);

  // Only an empty directory, or one flscan already uses, becomes a quarantine: recovery deletes
  // files by name there, which must never touch anything of someone else's.
  const auto names = list_dir(state->dir_fd.get());
  if (!names) return tl::make_unexpected("cannot list the " + quoted + ": " + errno_text(names.error()));
  const bool has_manifest = std::find(names->begin(), names->end(), kQuarantineManifest) != names->end();
  if (!has_manifest) {
    for (const std::string& name : *names) {
      if (name != kLockFile && name != kManifestTemp && !is_copy_name(name) && !is_part_name(name)) {
        return tl::make_unexpected("the " + quoted + " is neither empty nor an flscan quarantine (it holds " +
                                   escape_for_terminal(name) + ")");
      }
    }
  }

  state->lock_fd = Fd(
      ::openat(state->dir_fd.get(), std::string(kLockFile).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!state->lock_fd.valid())
    return tl::make_unexpected("cannot create the lock file in the " + quoted + ": " + errno_text(errno));
  if (::flock(state->lock_fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return tl::make_unexpected("the " + quoted + " is in use by another flscan");
    return tl::make_unexpected("cannot lock the " + quoted + ": " + errno_text(errno));
  }

  Fd manifest(
      ::openat(state->dir_fd.get(), std::string(kQuarantineManifest).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (manifest.valid()) {
    struct stat st {};
    if (::fstat(manifest.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        static_cast<std::uint64_t>(st.st_size) > kMaxManifestBytes) {
      return tl::make_unexpected("the manifest of the " + quoted + " is not a regular file of a sane size");
    }
    auto bytes = read_all(manifest.get());
    if (!bytes)
      return tl::make_unexpected("cannot read the manifest of the " + quoted + ": " + errno_text(bytes.error()));
    auto entries = parse_manifest(*bytes);
    if (!entries) return tl::make_unexpected("the manifest of the " + quoted + " is not usable: " + entries.error());
    state->entries = std::move(*entries);
  } else if (errno != ENOENT) {
    return tl::make_unexpected("cannot open the manifest of the " + quoted + ": " + errno_text(errno));
  }
  state->recover();
  return Quarantine(std::move(state));
}

tl::expected<Quarantined, QuarantineError> Quarantine::put(const std::string& path, const std::string& sha256,
                                                           const std::string& state, const std::string& rule,
                                                           const std::string& root,
                                                           const std::optional<FileOrigin>& origin) {
  State& s = *state_;
  using Step = QuarantineStep;
  if (int error = s.gate(Step::open_original)) return s.fail(Step::open_original, error);
  // Step 1: the original's directory, reached without following a symbolic link below `root`
  // (a directory of the tree swapped for a link since the scan must not redirect the removal),
  // then the original by name relative to it from here on.
  auto located = locate(path, root);
  if (!located) return s.fail(Step::open_original, located.error());
  const std::string absolute = located->absolute;
  const std::string name = copy_name(absolute, sha256);
  if (s.disposed.count(name) > 0) {
    // Overlapping PATH operands list a file twice: the first listing's action stands.
    QuarantineError done{Step::open_original, "already acted on in this run", s.path_of(name)};
    done.done_earlier = true;
    return tl::unexpected(std::move(done));
  }
  auto held = s.hold_original(std::move(*located), origin);
  if (!held) return tl::unexpected(std::move(held.error()));

  const auto existing =
      std::find_if(s.entries.begin(), s.entries.end(), [&](const QuarantineEntry& e) { return e.file == name; });
  if (existing != s.entries.end()) return s.reuse_copy(*existing, std::move(*held), sha256);

  // Steps 1 and 2: the copy, under a temporary name until it is complete and synced, hashing the
  // original as it is read: it must still be what was scanned.
  const auto copied = s.write_copy(name, **held, sha256);
  if (!copied) return tl::unexpected(copied.error());
  QuarantineEntry entry = State::new_entry(name, absolute, *copied, **held);
  entry.state = state;
  entry.rule = rule;
  return s.commit_copy(std::move(entry), std::move(*held));
}

// Step 1 of put(), given the original's directory and name: the original, open for reading, is
// a regular file and the one that was scanned (origin), outside the quarantine directory.
tl::expected<std::shared_ptr<HeldOriginal>, QuarantineError> Quarantine::State::hold_original(
    Location located, const std::optional<FileOrigin>& origin) const {
  using Step = QuarantineStep;
  auto held = std::make_shared<HeldOriginal>();
  held->base = located.base;
  held->dir = std::move(located.dir);
  // A copy in this quarantine, met by a scan of a tree that holds DIR, stays where it is: moving it
  // would take a referenced copy from under its manifest entry.
  struct stat dir_stat {};
  struct stat quarantine_stat {};
  if (::fstat(held->dir.get(), &dir_stat) == 0 && ::fstat(dir_fd.get(), &quarantine_stat) == 0 &&
      dir_stat.st_dev == quarantine_stat.st_dev && dir_stat.st_ino == quarantine_stat.st_ino) {
    return fail(Step::open_original, "it is in the quarantine directory itself (exclude DIR from the scan)");
  }
  if (origin && origin->directory && !(identity_of(dir_stat) == *origin->directory)) {
    return fail(Step::open_original,
                "its directory is not the one scanned (replaced, or a symbolic link in its path now); left in place");
  }
  held->file = Fd(
      open_noatime_at(held->dir.get(), held->base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!held->file.valid()) {
    if (errno == ELOOP)
      return fail(Step::open_original, "it is a symbolic link; quarantine the file it points to by its own path");
    return fail(Step::open_original, errno);
  }
  if (::fstat(held->file.get(), &held->stat_at_read) != 0) return fail(Step::open_original, errno);
  if (!S_ISREG(held->stat_at_read.st_mode)) return fail(Step::open_original, "no longer a regular file");
  if (origin && !(identity_of(held->stat_at_read) == origin->file)) {
    return fail(Step::open_original, "not the file that was scanned (another file at this name now); left in place");
  }
  return held;
}

// An earlier run committed this very file and was interrupted before removing the original: its
// verified copy stands, nothing is copied twice. The original must still be that content.
tl::expected<Quarantined, QuarantineError> Quarantine::State::reuse_copy(const QuarantineEntry& existing,
                                                                         std::shared_ptr<HeldOriginal> held,
                                                                         const std::string& sha256) const {
  using Step = QuarantineStep;
  if (int error = gate(Step::verify_copy)) return fail(Step::verify_copy, error);
  const auto original = copy_and_hash(held->file.get(), -1);
  if (!original) return fail(Step::verify_copy, "cannot read the original: " + errno_text(original.error()));
  if (original->sha256 != sha256) {
    return fail(Step::verify_copy,
                "the file changed since it was scanned (SHA-256 now " + original->sha256 + "); left in place");
  }
  if (auto verified = verify_copy(existing); !verified) return fail(Step::verify_copy, verified.error());
  if (auto checked = check_original(*held); !checked) return tl::unexpected(checked.error());
  const std::uint64_t links = held->stat_at_read.st_nlink;
  return Quarantined{existing, std::move(held), links};
}

// Steps 1 and 2 of put(): the original copied to DIR/<name> through DIR/<name>.part (created,
// written while hashed, made read-only, synced, renamed, DIR synced); its content must hash to
// `sha256`. On failure nothing of the copy is left.
tl::expected<Copied, QuarantineError> Quarantine::State::write_copy(const std::string& name, const HeldOriginal& held,
                                                                    const std::string& sha256) const {
  using Step = QuarantineStep;
  const std::string part = name + std::string(kPartSuffix);
  auto abandon = [&](const tl::unexpected<QuarantineError>& error) {
    discard_copy(name);
    return error;
  };
  int error = gate(Step::create_copy);
  Fd copy;
  if (error == 0) {
    ::unlinkat(dir_fd.get(), part.c_str(), 0);
    copy = Fd(::openat(dir_fd.get(), part.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0400));
    if (!copy.valid()) error = errno;
  }
  if (error != 0) return abandon(fail(Step::create_copy, error));
  if ((error = gate(Step::write_copy)) != 0) return abandon(fail(Step::write_copy, error));
  const auto copied = copy_and_hash(held.file.get(), copy.get());
  if (!copied) return abandon(fail(Step::write_copy, copied.error()));
  if (copied->sha256 != sha256) {
    return abandon(fail(Step::write_copy,
                        "the file changed since it was scanned (SHA-256 now " + copied->sha256 + "); left in place"));
  }
  error = gate(Step::sync_copy);
  // Stored inert: read-only for its owner, no execute bit, a name without the original extension.
  if (error == 0 && ::fchmod(copy.get(), 0400) != 0) error = errno;
  if (error == 0 && ::fsync(copy.get()) != 0) error = errno;
  if (error == 0) error = copy.close_checked();
  if (error != 0) return abandon(fail(Step::sync_copy, error));
  error = gate(Step::rename_copy);
  if (error == 0 && ::renameat(dir_fd.get(), part.c_str(), dir_fd.get(), name.c_str()) != 0) error = errno;
  if (error != 0) return abandon(fail(Step::rename_copy, error));
  error = gate(Step::sync_quarantine_dir);
  if (error == 0 && ::fsync(dir_fd.get()) != 0) error = errno;
  if (error != 0) return abandon(fail(Step::sync_quarantine_dir, error));
  return *copied;
}

// The manifest entry of a copy just written (its state and rule are the caller's).
QuarantineEntry Quarantine::State::new_entry(const std::string& name, const std::string& absolute, const Copied& copied,
                                             const HeldOriginal& held) {
  QuarantineEntry entry;
  entry.file = name;
  entry.original_path = absolute;
  entry.size = copied.size;
  entry.sha256 = copied.sha256;
  // Set-user-ID and set-group-ID bits are recorded only from a root-owned original (issue 13):
  // restore refuses them on any other entry, so a manifest cannot make it create a program that
  // runs with another user's or group's rights.
  const struct stat& st = held.stat_at_read;
  entry.mode = static_cast<std::uint32_t>(st.st_mode & (st.st_uid == 0 ? 07777 : 01777));
  entry.uid = st.st_uid;
  entry.gid = st.st_gid;
  entry.atime_ns = to_ns(st.st_atim);
  entry.mtime_ns = to_ns(st.st_mtim);
  entry.quarantined_at = static_cast<std::int64_t>(std::time(nullptr));
  return entry;
}

// Steps 3 and 4 of put(): what is on disk is what was scanned and the original has not moved on
// meanwhile; then the manifest entry. Until the manifest's rename the entry does not exist, and the
// copy is garbage (removed here).
tl::expected<Quarantined, QuarantineError> Quarantine::State::commit_copy(QuarantineEntry entry,
                                                                          std::shared_ptr<HeldOriginal> held) {
  using Step = QuarantineStep;
  const std::string name = entry.file;
  auto abandon = [&](const tl::unexpected<QuarantineError>& error) {
    discard_copy(name);
    return error;
  };
  if (int error = gate(Step::verify_copy)) return abandon(fail(Step::verify_copy, error));
  if (auto verified = verify_copy(entry); !verified) return abandon(fail(Step::verify_copy, verified.error()));
  if (auto checked = check_original(*held); !checked) return abandon(tl::unexpected(checked.error()));
  entries.push_back(entry);
  const Commit committed = commit();
  if (committed.error) {
    if (!committed.renamed) {
      entries.pop_back();
      return abandon(tl::unexpected(*committed.error));
    }
    // Renamed, durability unknown: the entry may be on disk, so the copy stays. The original stays
    // too (step 5 would need a durable entry); a re-run finishes the job.
    QuarantineError kept = *committed.error;
    kept.kept_copy = path_of(name);
    return tl::unexpected(std::move(kept));
  }
  const std::uint64_t links = held->stat_at_read.st_nlink;
  return Quarantined{std::move(entry), std::move(held), links};
}

tl::expected<void, QuarantineError> Quarantine::remove_original(Quarantined& item) {
  State& s = *state_;
  HeldOriginal& held = *item.original;
  if (auto checked = s.check_original(held); !checked) return checked;
  if (int error = s.gate(QuarantineStep::remove_original)) return s.fail(QuarantineStep::remove_original, error);
  if (::unlinkat(held.dir.get(), held.base.c_str(), 0) != 0) return s.fail(QuarantineStep::remove_original, errno);
  s.disposed.insert(item.entry.file);
  if (int error = s.gate(QuarantineStep::sync_original_dir)) return s.fail(QuarantineStep::sync_original_dir, error);
  if (::fsync(held.dir.get()) != 0) return s.fail(QuarantineStep::sync_original_dir, errno);
  return {};
}

tl::expected<void, QuarantineError> Quarantine::replace_original(Quarantined& item,
                                                                 const std::vector<std::uint8_t>& repaired) {
  State& s = *state_;
  using Step = QuarantineStep;
  HeldOriginal& held = *item.original;
  const std::string temp = std::string(kRepairPrefix) + id_of(item.entry);
  auto abandon = [&](const tl::unexpected<QuarantineError>& error) {
    ::unlinkat(held.dir.get(), temp.c_str(), 0);
    return error;
  };
  const struct stat& original = held.stat_at_read;
  int error = s.gate(Step::create_repaired);
  Fd fd;
  if (error == 0) {
    ::unlinkat(held.dir.get(), temp.c_str(), 0);
    fd = Fd(::openat(held.dir.get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) error = errno;
  }
  if (error != 0) return abandon(s.fail(Step::create_repaired, error));
  error = s.gate(Step::write_repaired);
  if (error == 0) error = write_all(fd.get(), repaired.data(), repaired.size());
  if (error != 0) return abandon(s.fail(Step::write_repaired, error));
  // The repaired file takes the original's place: its owner (a file that changed owner would be a
  // new way in), mode and times. Without root a file of another owner cannot be replaced so.
  error = s.gate(Step::set_repaired_metadata);
  if (error == 0) {
    error = apply_metadata(fd.get(), original.st_uid, original.st_gid, original.st_mode & 07777,
                           to_ns(original.st_atim), to_ns(original.st_mtim), true);
  }
  if (error != 0) return abandon(s.fail(Step::set_repaired_metadata, error));
  error = s.gate(Step::sync_repaired);
  if (error == 0 && ::fsync(fd.get()) != 0) error = errno;
  if (error == 0) error = fd.close_checked();
  if (error != 0) return abandon(s.fail(Step::sync_repaired, error));

  // The entry learns the repaired content before it replaces the original, so restore may put
  // the original back over exactly this file and no other.
  const auto entry = std::find_if(s.entries.begin(), s.entries.end(),
                                  [&](const QuarantineEntry& e) { return e.file == item.entry.file; });
  if (entry == s.entries.end())
    return abandon(s.fail(Step::write_manifest, "the manifest no longer has this file's entry"));
  const std::optional<std::string> before = entry->repaired_sha256;
  entry->repaired_sha256 = sha256_hex(repaired);
  const State::Commit committed = s.commit();
  if (committed.error) {
    if (!committed.renamed) entry->repaired_sha256 = before;
    return abandon(tl::unexpected(*committed.error));
  }
  item.entry.repaired_sha256 = entry->repaired_sha256;

  if (auto checked = s.check_original(held); !checked) return abandon(tl::unexpected(checked.error()));
  error = s.gate(Step::rename_repaired);
  if (error == 0 && ::renameat(held.dir.get(), temp.c_str(), held.dir.get(), held.base.c_str()) != 0) error = errno;
  if (error != 0) return abandon(s.fail(Step::rename_repaired, error));
  s.disposed.insert(item.entry.file);
  if ((error = s.gate(Step::sync_repaired_dir)) != 0) return s.fail(Step::sync_repaired_dir, error);
  if (::fsync(held.dir.get()) != 0) return s.fail(Step::sync_repaired_dir, errno);
  return {};
}

namespace {

// The directory a restore writes into (issue 13): every component of ROOT (--to) and of the
// original's directory opened from / (or the working directory for a relative ROOT) without
// following a symbolic link, missing ones created (mode 0755 less the umask, owned by whoever
// runs restore), each owned by root or the user running restore, and below ROOT also the
// original's owner: a directory of the original's path that someone else controls (or a link
// they put there) could move the file, owned by its original owner, anywhere they like.
tl::expected<Fd, std::string> open_restore_dir(const QuarantineEntry& entry,
                                               const std::optional<std::string>& to_root) {
  const SplitPath original = split(entry.original_path);
  const uid_t self = ::geteuid();
  BeneathOptions options;
  options.create_missing = true;
  options.owners = {0, self};
  auto refused = [](const std::string& start, const BeneathError& error) {
    return tl::make_unexpected("cannot open or create the directory " + escape_for_terminal(start + error.where) +
                               ": " + escape_for_terminal(error.reason));
  };
  Fd start;
  std::string prefix = "/";
  if (to_root) {
    const bool relative = to_root->empty() || to_root->front() != '/';
    start = Fd(::open(relative ? "." : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!start.valid())
      return tl::make_unexpected(std::string("cannot open ") + (relative ? "." : "/") + ": " + errno_text(errno));
    auto root = open_directory_beneath(start.get(), *to_root, options);
    if (!root) return refused(relative ? "" : "/", root.error());
    start = Fd(*root);
    prefix = *to_root + (to_root->back() == '/' ? "" : "/");
  } else {
    start = Fd(::open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!start.valid()) return tl::make_unexpected("cannot open /: " + errno_text(errno));
  }
  options.owners.push_back(static_cast<uid_t>(entry.uid));
  auto dir = open_directory_beneath(start.get(), std::string_view(original.parent).substr(1), options);
  if (!dir) return refused(prefix, dir.error());
  return Fd(*dir);
}

// Renames `from` to `to` in `dir` only if `to` does not exist (renameat2 RENAME_NOREPLACE, or
// link + unlink on file systems without it).
int rename_no_replace(int dir, const char* from, const char* to) {
  if (::renameat2(dir, from, dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
  if (::linkat(dir, from, dir, to, 0) != 0) return errno;
  ::unlinkat(dir, from, 0);
  return 0;
}

}  // namespace

tl::expected<std::vector<std::uint8_t>, std::string> Quarantine::read_copy(const QuarantineEntry& entry,
                                                                           std::uint64_t max_bytes) const {
  if (entry.size > max_bytes) {
    return tl::make_unexpected(std::to_string(entry.size) + " bytes, more than the " + std::to_string(max_bytes) +
                               " read into memory");
  }
  auto fd = state_->open_copy(entry);
  if (!fd) return tl::make_unexpected(fd.error());
  auto bytes = read_all(fd->get());
  if (!bytes) return tl::make_unexpected("cannot read the copy " + entry.file + ": " + errno_text(bytes.error()));
  if (auto ok = State::matches(entry, bytes->size(), sha256_hex(*bytes)); !ok) return tl::make_unexpected(ok.error());
  return std::move(*bytes);
}

std::vector<RestoreOutcome> Quarantine::restore_all(const std::optional<std::string>& to_root) {
  std::vector<RestoreOutcome> outcomes;
  const std::vector<QuarantineEntry> work = state_->entries;
  for (const QuarantineEntry& entry : work) {
    RestoreOutcome out;
    out.target = to_root ? *to_root + entry.original_path : entry.original_path;
    if (auto done = restore_one(entry, to_root, out); !done) out.error = done.error().describe();
    outcomes.push_back(std::move(out));
  }
  return outcomes;
}

tl::expected<void, QuarantineError> Quarantine::restore_one(const QuarantineEntry& entry,
                                                            const std::optional<std::string>& to_root,
                                                            RestoreOutcome& out) {
  State& s = *state_;
  using Step = QuarantineStep;
  if (int error = s.gate(Step::read_copy)) return s.fail(Step::read_copy, error);
  auto copy = s.open_copy(entry);
  if (!copy) return s.fail(Step::read_copy, copy.error() + "; not restored");
  // Set-user-ID and set-group-ID bits come only from a root-owned original (put() records no
  // others): an entry that has them on another owner's file was not written by flscan.
  if ((entry.mode & (S_ISUID | S_ISGID)) != 0 && entry.uid != 0) {
    return s.fail(Step::read_copy, "the manifest gives set-user-ID or set-group-ID bits to a file owned by uid " +
                                       std::to_string(entry.uid) + ", which flscan never records; not restored");
  }
  auto opened = open_restore_dir(entry, to_root);
  if (!opened) return s.fail(Step::create_restored, opened.error() + "; not restored");
  const RestoreTarget target{std::move(*opened), split(out.target).base, std::string(kRestorePrefix) + id_of(entry)};
  auto replace = s.examine_restore_target(entry, target, out);
  if (!replace) return tl::unexpected(replace.error());
  if (!out.already_present) {
    if (auto placed = s.place_restored(entry, copy->get(), target, *replace, out); !placed) return placed;
  }
  return s.forget_restored(entry, out);
}

// Never over a different file: true when the file at the target is the repaired one (ours to
// replace, --repair), false when there is none or it is the identical file (already_present: a
// run interrupted between placing it and updating the manifest), an error for anything else.
tl::expected<bool, QuarantineError> Quarantine::State::examine_restore_target(const QuarantineEntry& entry,
                                                                              const RestoreTarget& target,
                                                                              RestoreOutcome& out) const {
  using Step = QuarantineStep;
  struct stat existing {};
  if (::fstatat(target.dir.get(), target.base.c_str(), &existing, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return fail(Step::link_restored, "cannot examine " + out.target + ": " + errno_text(errno));
  }
  if (!S_ISREG(existing.st_mode))
    return fail(Step::link_restored, out.target + " exists and is not a regular file; not overwritten");
  Fd present(open_noatime_at(target.dir.get(), target.base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  auto present_read =
      present.valid() ? copy_and_hash(present.get(), -1) : tl::expected<Copied, int>(tl::unexpect, errno);
  if (!present_read) {
    return fail(Step::link_restored,
                out.target + " exists and cannot be read (" + errno_text(present_read.error()) + "); not overwritten");
  }
  if (present_read->sha256 == entry.sha256) {
    out.already_present = true;
    // A run interrupted after placing it may have left its temp file (link + unlink fallback).
    ::unlinkat(target.dir.get(), target.temp.c_str(), 0);
    return false;
  }
  if (entry.repaired_sha256 && present_read->sha256 == *entry.repaired_sha256) return true;
  return fail(Step::link_restored, out.target + " exists and differs from the quarantined file; not overwritten");
}

// The copy written to the target through its temporary name, checked as it is copied (what lands
// at the target is what was scanned), with the entry's owner (root only), mode and times, synced,
// then linked in: over the repaired file (`replace`), else only where nothing is.
tl::expected<void, QuarantineError> Quarantine::State::place_restored(const QuarantineEntry& entry, int copy_fd,
                                                                      const RestoreTarget& target, bool replace,
                                                                      RestoreOutcome& out) const {
  using Step = QuarantineStep;
  const int target_dir = target.dir.get();
  auto abandon = [&](Step step, const std::string& message) {
    ::unlinkat(target_dir, target.temp.c_str(), 0);
    return fail(step, message);
  };
  int error = gate(Step::create_restored);
  Fd fd;
  if (error == 0) {
    ::unlinkat(target_dir, target.temp.c_str(), 0);
    fd = Fd(::openat(target_dir, target.temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) error = errno;
  }
  if (error != 0) return abandon(Step::create_restored, errno_text(error));
  if ((error = gate(Step::write_restored)) != 0) return abandon(Step::write_restored, errno_text(error));
  const auto copied = copy_and_hash(copy_fd, fd.get());
  if (!copied) return abandon(Step::write_restored, errno_text(copied.error()));
  if (auto ok = matches(entry, copied->size, copied->sha256); !ok) {
    return abandon(Step::write_restored, ok.error() + "; not restored");
  }
  const bool root = ::geteuid() == 0;
  if ((error = gate(Step::set_restored_metadata)) == 0) {
    error = apply_metadata(fd.get(), entry.uid, entry.gid, entry.mode, entry.atime_ns, entry.mtime_ns, root);
  }
  if (error != 0) return abandon(Step::set_restored_metadata, errno_text(error));
  if ((error = gate(Step::sync_restored)) == 0 && ::fsync(fd.get()) != 0) error = errno;
  if (error == 0) error = fd.close_checked();
  if (error != 0) return abandon(Step::sync_restored, errno_text(error));
  if ((error = gate(Step::link_restored)) == 0) {
    error = replace ? (::renameat(target_dir, target.temp.c_str(), target_dir, target.base.c_str()) == 0 ? 0 : errno)
                    : rename_no_replace(target_dir, target.temp.c_str(), target.base.c_str());
  }
  if (error != 0) {
    return abandon(Step::link_restored,
                   error == EEXIST ? out.target + " appeared meanwhile; not overwritten" : errno_text(error));
  }
  if ((error = gate(Step::sync_restored_dir)) == 0 && ::fsync(target_dir) != 0) error = errno;
  if (error != 0)
    return fail(Step::sync_restored_dir, errno_text(error) + " (the file is in place; run restore again to finish)");
  if (!root && (entry.uid != ::geteuid() || entry.gid != ::getegid())) {
    out.warning = "owner " + std::to_string(entry.uid) + ":" + std::to_string(entry.gid) + " not restored (needs root)";
  }
  return {};
}

// The file is back: its entry leaves the manifest, then the copy goes (a copy left behind is only
// a warning: the next run removes it).
tl::expected<void, QuarantineError> Quarantine::State::forget_restored(const QuarantineEntry& entry,
                                                                       RestoreOutcome& out) {
  using Step = QuarantineStep;
  const auto at =
      std::find_if(entries.begin(), entries.end(), [&](const QuarantineEntry& e) { return e.file == entry.file; });
  if (at == entries.end()) return fail(Step::write_manifest, "the manifest no longer has this entry");
  const auto index = at - entries.begin();
  entries.erase(at);
  const Commit committed = commit();
  if (committed.error) {
    if (!committed.renamed) entries.insert(entries.begin() + index, entry);
    return fail(committed.error->step,
                committed.error->message + " (the file is in place; run restore again to finish)");
  }
  out.restored = true;
  int error = gate(Step::remove_copy);
  if (error == 0 && ::unlinkat(dir_fd.get(), entry.file.c_str(), 0) != 0) error = errno;
  if (error == 0 && (error = gate(Step::sync_copy_dir)) == 0 && ::fsync(dir_fd.get()) != 0) error = errno;
  if (error != 0) {
    out.warning += std::string(out.warning.empty() ? "" : "; ") + "removing the copy failed (" + errno_text(error) +
                   "): the next run removes it";
  }
  return {};
}

}  // namespace flscan::scanner
