#include "scanner/host/system_hive.h"

#include <hivex.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <utility>

#include "engine/byte_view.h"
#include "engine/unicode.h"
#include "scanner/host/limits.h"
#include "scanner/host/volume_fs.h"
#include "scanner/platform/errno_text.h"

namespace flscan::host {

namespace {

// REGF layout facts (libyal "Windows NT Registry File (REGF) format", "File header"; hivex
// lib/handle.c): a 4096-byte base block, then hive bins of 4096-byte multiples.
constexpr std::size_t kBaseBlockSize = 0x1000;
constexpr std::size_t kMinHiveSize = 0x2000;  // hivex refuses anything smaller
constexpr std::size_t kChecksumOffset = 0x1FC;
constexpr std::size_t kPrimarySequenceOffset = 0x4;
constexpr std::size_t kSecondarySequenceOffset = 0x8;

// REG_* value types (winnt.h). Kept as integers: hivex stores the file's 32-bit type field,
// whatever it is, into a `hive_type`, and loading an out-of-range enum is undefined behaviour.
constexpr std::uint32_t kRegSz = hive_t_REG_SZ;
constexpr std::uint32_t kRegExpandSz = hive_t_REG_EXPAND_SZ;
constexpr std::uint32_t kRegDword = hive_t_REG_DWORD;
constexpr std::uint32_t kRegDwordBigEndian = hive_t_REG_DWORD_BIG_ENDIAN;

// Raw storage hivex may write any `hive_type` bit pattern into; read back as an integer.
class RawHiveType {
 public:
  hive_type* out() { return reinterpret_cast<hive_type*>(storage_); }
  [[nodiscard]] std::uint32_t value() const {
    std::uint32_t v = 0;
    std::memcpy(&v, storage_, sizeof v);
    return v;
  }

 private:
  static_assert(sizeof(hive_type) == sizeof(std::uint32_t), "hivex stores the 32-bit REG_* type in a hive_type");
  alignas(hive_type) unsigned char storage_[sizeof(hive_type)] = {};
};

struct HiveCloser {
  void operator()(hive_h* hive) const { hivex_close(hive); }
};
using HivePtr = std::unique_ptr<hive_h, HiveCloser>;

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};
template <class T>
using CPtr = std::unique_ptr<T, FreeDeleter>;

std::uint32_t load_le32(std::span<const std::uint8_t> bytes, std::size_t off) {
  std::uint32_t v = 0;
  std::memcpy(&v, bytes.data() + off, sizeof v);  // little-endian host (x86-64, aarch64)
  return v;
}

// What hivex said through errno; it does not always set it.
std::string hivex_error_text() { return errno != 0 ? scanner::errno_text(errno) : std::string("unknown error"); }

std::string hex32(std::uint32_t v) {
  std::array<char, 16> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

std::string control_set_name(std::uint32_t number) {
  std::array<char, 24> buf{};
  std::snprintf(buf.data(), buf.size(), "ControlSet%03u", number);
  return buf.data();
}

// "ControlSet" followed by exactly three digits, any case.
std::optional<std::uint32_t> parse_control_set_name(std::string_view name) {
  constexpr std::string_view kPrefix = "ControlSet";
  if (name.size() != kPrefix.size() + 3 || !iequals(name.substr(0, kPrefix.size()), kPrefix)) return std::nullopt;
  std::uint32_t number = 0;
  for (char c : name.substr(kPrefix.size())) {
    if (c < '0' || c > '9') return std::nullopt;
    number = number * 10 + static_cast<std::uint32_t>(c - '0');
  }
  return number;
}

// Checks the base block before hivex does, to give a precise reason for the common failures.
std::optional<std::string> check_base_block(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 4 || std::memcmp(bytes.data(), "regf", 4) != 0) {
    return "not a registry hive: no \"regf\" signature";
  }
  if (bytes.size() < kMinHiveSize) {
    return "hive is " + std::to_string(bytes.size()) +
           " bytes: too short for a base block and one hive bin (truncated?)";
  }
  const std::uint32_t major = load_le32(bytes, 0x14);
  const std::uint32_t minor = load_le32(bytes, 0x18);
  if (major != 1) {
    return "unsupported hive format version " + std::to_string(major) + "." + std::to_string(minor);
  }
  // XOR-32 of the first 508 bytes; Windows stores 1 for 0 and 0xFFFFFFFE for 0xFFFFFFFF.
  std::uint32_t sum = 0;
  for (std::size_t off = 0; off < kChecksumOffset; off += 4) sum ^= load_le32(bytes, off);
  const std::uint32_t stored = load_le32(bytes, kChecksumOffset);
  const std::uint32_t windows_sum = sum == 0 ? 1u : (sum == 0xFFFFFFFFu ? 0xFFFFFFFEu : sum);
  if (stored != sum && stored != windows_sum) {
    return "base block checksum mismatch (stored " + hex32(stored) + ", computed " + hex32(sum) +
           "): the hive was not closed cleanly or was modified";
  }
  return std::nullopt;
}

std::string dirty_hive_note(const HiveSequence& sequence) {
  return "the hive was not closed cleanly: base block sequence numbers differ (primary " +
         std::to_string(sequence.primary) + ", secondary " + std::to_string(sequence.secondary) +
         "); its latest changes may sit in SYSTEM.LOG, SYSTEM.LOG1 or SYSTEM.LOG2, which flscan does not apply";
}

// The root's key names for a "not a SYSTEM hive" reason: the first kMaxRootNamesQuoted, then a count.
class RootNames {
 public:
  void add(const std::string& name) {
    if (quoted_.size() < limits::kMaxRootNamesQuoted) {
      quoted_.push_back(name);
    } else {
      ++more_;
    }
  }
  [[nodiscard]] std::string text() const {
    if (quoted_.empty()) return "no readable key";
    std::string out;
    for (const std::string& name : quoted_) out += (out.empty() ? "" : ", ") + name;
    if (more_ > 0) out += " and " + std::to_string(more_) + " more";
    return out;
  }

 private:
  std::vector<std::string> quoted_;
  std::size_t more_ = 0;
};

std::string describe_open_failure(int err) {
  std::string why = scanner::errno_text(err);
  if (err == ENOTSUP) {
    return "hivex rejected the hive bins (" + why +
           "): a hive bin or cell has a bad size or offset, there is trailing garbage, or the root key is missing";
  }
  if (err == EINVAL) {
    return "hivex rejected the hive (" + why + "): bad checksum, bad size, or hive bins past the end of the file";
  }
  return "hivex could not open the hive: " + why;
}

// The values of a service key that are read, by index into kServiceValueNames.
enum ServiceValue : std::size_t { kImagePath, kType, kStart, kErrorControl, kObjectName, kDisplayName, kValueCount };
constexpr std::array<std::string_view, kValueCount> kServiceValueNames = {"ImagePath",    "Type",       "Start",
                                                                          "ErrorControl", "ObjectName", "DisplayName"};
constexpr std::array<std::string_view, 4> kSelectValueNames = {"Current", "Default", "LastKnownGood", "Failed"};

// Reads one open hive with every call bounded; notes go to the NoteList passed in, and any skip
// marks the evidence partial.
class HiveWalker {
 public:
  HiveWalker(hive_h* hive, std::span<const std::uint8_t> bytes, NoteList& notes, bool& partial)
      : hive_(hive), bytes_(bytes), notes_(notes), partial_(partial) {}

  void skipped(NoteList& notes, std::string note) {
    notes.add(std::move(note));
    partial_ = true;
  }

  std::optional<std::string> node_name(hive_node_h node, NoteList& notes, std::string_view where);

  // Subkeys of `node`, at most `cap` of them; `*unreadable` (when given) says whether the list
  // itself could not be read, as opposed to being empty.
  std::vector<hive_node_h> children(hive_node_h node, std::size_t cap, std::string_view where,
                                    bool* unreadable = nullptr);

  // Finds the named values of `node` (ASCII case-insensitive). Index i of the result is the
  // handle of names[i], or 0 when absent.
  template <std::size_t N>
  std::array<hive_value_h, N> find_values(hive_node_h node, const std::array<std::string_view, N>& names,
                                          NoteList& notes, std::string_view where);

  // The data of a value, after checking its declared length against our cap and against the
  // cell it lives in (data_fits_cell).
  std::optional<std::vector<std::uint8_t>> value_data(hive_value_h value, std::uint32_t& type, NoteList& notes,
                                                      std::string_view where);

  std::optional<std::uint32_t> read_dword(hive_value_h value, NoteList& notes, std::string_view where);
  std::optional<std::string> read_string(hive_value_h value, NoteList& notes, std::string_view where);
  // The key's last-write time (a FILETIME in its nk cell); nullopt when hivex cannot read it or
  // it is zero (issue 20).
  std::optional<TimePoint> last_write(hive_node_h node);

 private:
  // How many values `node` declares, when they may be examined: within kMaxValuesPerKey and the
  // hive's kMaxValuesExaminedPerHive (counted here). nullopt: none to examine (noted when skipped).
  std::optional<std::size_t> values_to_examine(hive_node_h node, NoteList& notes, std::string_view where);

  // True when `len` bytes of data fit the cell `value` keeps them in. This keeps hivex off its
  // "big data" path (a value longer than its cell is read from "db" segment lists whose counts
  // hivex does not bound by the list cell).
  bool data_fits_cell(hive_value_h value, std::size_t len, NoteList& notes, std::string_view where);

  hive_h* hive_;
  std::span<const std::uint8_t> bytes_;
  NoteList& notes_;
  bool& partial_;
  std::size_t values_examined_ = 0;
  bool budget_exhausted_ = false;
};

std::optional<std::string> HiveWalker::node_name(hive_node_h node, NoteList& notes, std::string_view where) {
  errno = 0;
  CPtr<char> name(hivex_node_name(hive_, node));
  if (!name) {
    skipped(notes, std::string(where) + ": key name unreadable: " + hivex_error_text());
    return std::nullopt;
  }
  return sanitize_utf8(name.get(), limits::kMaxStringChars);
}

std::vector<hive_node_h> HiveWalker::children(hive_node_h node, std::size_t cap, std::string_view where,
                                              bool* unreadable) {
  errno = 0;
  CPtr<hive_node_h> list(hivex_node_children(hive_, node));
  if (unreadable != nullptr) *unreadable = !list;
  if (!list) {
    skipped(notes_, std::string(where) + ": subkeys unreadable: " + hivex_error_text());
    return {};
  }
  std::vector<hive_node_h> out;
  std::size_t i = 0;
  for (; list.get()[i] != 0; ++i) {
    if (i == cap) {
      skipped(notes_, std::string(where) + ": more than " + std::to_string(cap) + " subkeys; only the first " +
                          std::to_string(cap) + " examined");
      break;
    }
    out.push_back(list.get()[i]);
  }
  return out;
}

std::optional<std::size_t> HiveWalker::values_to_examine(hive_node_h node, NoteList& notes, std::string_view where) {
  if (budget_exhausted_) return std::nullopt;
  errno = 0;
  const std::size_t declared = hivex_node_nr_values(hive_, node);
  if (declared == 0) {
    if (errno != 0) skipped(notes, std::string(where) + ": values unreadable: " + hivex_error_text());
    return std::nullopt;
  }
  if (declared > limits::kMaxValuesPerKey) {
    skipped(notes, std::string(where) + ": declares " + std::to_string(declared) + " values (limit " +
                       std::to_string(limits::kMaxValuesPerKey) + "); not read");
    return std::nullopt;
  }
  if (values_examined_ + declared > limits::kMaxValuesExaminedPerHive) {
    budget_exhausted_ = true;
    skipped(notes_, "more than " + std::to_string(limits::kMaxValuesExaminedPerHive) +
                        " values examined in this hive; the remaining keys were not read");
    return std::nullopt;
  }
  values_examined_ += declared;
  return declared;
}

template <std::size_t N>
std::array<hive_value_h, N> HiveWalker::find_values(hive_node_h node, const std::array<std::string_view, N>& names,
                                                    NoteList& notes, std::string_view where) {
  std::array<hive_value_h, N> found{};
  const std::optional<std::size_t> declared = values_to_examine(node, notes, where);
  if (!declared) return found;
  errno = 0;
  CPtr<hive_value_h> list(hivex_node_values(hive_, node));
  if (!list) {
    skipped(notes, std::string(where) + ": values unreadable: " + hivex_error_text());
    return found;
  }
  for (std::size_t i = 0; i < *declared && list.get()[i] != 0; ++i) {
    const hive_value_h value = list.get()[i];
    errno = 0;
    CPtr<char> key(hivex_value_key(hive_, value));
    if (!key) {
      skipped(notes, std::string(where) + ": a value name is unreadable: " + hivex_error_text());
      continue;
    }
    for (std::size_t n = 0; n < N; ++n) {
      if (!iequals(key.get(), names[n])) continue;
      if (found[n] != 0) {
        notes.add(std::string(where) + ": value " + std::string(names[n]) + " appears twice; the first is used");
      } else {
        found[n] = value;
      }
    }
  }
  return found;
}

bool HiveWalker::data_fits_cell(hive_value_h value, std::size_t len, NoteList& notes, std::string_view where) {
  std::size_t cell_len = 0;
  errno = 0;
  const hive_value_h cell = hivex_value_data_cell_offset(hive_, value, &cell_len);
  if (cell == 0 && errno != 0) {
    skipped(notes, std::string(where) + ": value data unreadable: " + hivex_error_text());
    return false;
  }
  if (cell == 0) return true;  // 0 without errno: the data is inline in the value record (<= 4 bytes)
  if (cell > bytes_.size() || bytes_.size() - cell < 4) {
    skipped(notes, std::string(where) + ": value data cell lies outside the hive");
    return false;
  }
  const auto raw = static_cast<std::int32_t>(load_le32(bytes_, cell));
  const std::int64_t cell_size = raw < 0 ? -static_cast<std::int64_t>(raw) : raw;
  if (cell_size < 4 || static_cast<std::uint64_t>(cell_size - 4) < len) {
    skipped(notes, std::string(where) + ": value data (" + std::to_string(len) + " bytes) is longer than its cell (" +
                       std::to_string(cell_size) + " bytes); not read");
    return false;
  }
  return true;
}

std::optional<std::vector<std::uint8_t>> HiveWalker::value_data(hive_value_h value, std::uint32_t& type,
                                                                NoteList& notes, std::string_view where) {
  std::size_t len = 0;
  errno = 0;
  RawHiveType raw_type;
  if (hivex_value_type(hive_, value, raw_type.out(), &len) != 0) {
    skipped(notes, std::string(where) + ": value unreadable: " + hivex_error_text());
    return std::nullopt;
  }
  type = raw_type.value();
  if (len > limits::kMaxValueBytes) {
    skipped(notes, std::string(where) + ": value data is " + std::to_string(len) + " bytes (limit " +
                       std::to_string(limits::kMaxValueBytes) + "); not read");
    return std::nullopt;
  }
  if (len == 0) return std::vector<std::uint8_t>{};
  if (!data_fits_cell(value, len, notes, where)) return std::nullopt;
  std::size_t got = 0;
  RawHiveType got_type;
  errno = 0;
  CPtr<char> data(hivex_value_value(hive_, value, got_type.out(), &got));
  if (!data) {
    skipped(notes, std::string(where) + ": value data unreadable: " + hivex_error_text());
    return std::nullopt;
  }
  got = std::min(got, len);
  const auto* first = reinterpret_cast<const std::uint8_t*>(data.get());
  return std::vector<std::uint8_t>(first, first + got);
}

std::optional<std::uint32_t> HiveWalker::read_dword(hive_value_h value, NoteList& notes, std::string_view where) {
  if (value == 0) return std::nullopt;
  std::uint32_t type = 0;
  auto data = value_data(value, type, notes, where);
  if (!data) return std::nullopt;
  if ((type != kRegDword && type != kRegDwordBigEndian) || data->size() != 4) {
    notes.add(std::string(where) + ": expected a 4-byte REG_DWORD, found type " + std::to_string(type) + " with " +
              std::to_string(data->size()) + " bytes; ignored");
    return std::nullopt;
  }
  const auto& d = *data;
  if (type == kRegDwordBigEndian) {
    return static_cast<std::uint32_t>(d[0]) << 24 | static_cast<std::uint32_t>(d[1]) << 16 |
           static_cast<std::uint32_t>(d[2]) << 8 | d[3];
  }
  return static_cast<std::uint32_t>(d[3]) << 24 | static_cast<std::uint32_t>(d[2]) << 16 |
         static_cast<std::uint32_t>(d[1]) << 8 | d[0];
}

std::optional<TimePoint> HiveWalker::last_write(hive_node_h node) {
  // FILETIME: 100 ns intervals since 1601-01-01 UTC, 11644473600 s before 1970.
  constexpr std::int64_t kTicksPerSecond = 10000000;
  constexpr std::int64_t kFiletimeEpochOffset = 11644473600;
  errno = 0;
  const std::int64_t ticks = hivex_node_timestamp(hive_, node);
  if (ticks <= 0) return std::nullopt;
  return TimePoint{ticks / kTicksPerSecond - kFiletimeEpochOffset,
                   static_cast<std::uint32_t>(ticks % kTicksPerSecond * 100)};
}

std::optional<std::string> HiveWalker::read_string(hive_value_h value, NoteList& notes, std::string_view where) {
  if (value == 0) return std::nullopt;
  std::uint32_t type = 0;
  auto data = value_data(value, type, notes, where);
  if (!data) return std::nullopt;
  if (type != kRegSz && type != kRegExpandSz) {
    notes.add(std::string(where) + ": expected REG_SZ or REG_EXPAND_SZ, found type " + std::to_string(type) +
              "; ignored");
    return std::nullopt;
  }
  // REGF: "Unicode strings are stored in UTF-16 little-endian"; a REG_SZ ends at its terminator,
  // whatever the value's data holds after it.
  unicode::Utf16Text decoded = unicode::decode_utf16le(ByteView(*data), limits::kMaxStringChars, unicode::AtNul::stop);
  if (decoded.odd_length) notes.add(std::string(where) + ": odd number of bytes; the last byte was dropped");
  if (decoded.replaced) notes.add(std::string(where) + ": invalid UTF-16 replaced by U+FFFD");
  if (decoded.truncated) {
    notes.add(std::string(where) + ": longer than " + std::to_string(limits::kMaxStringChars) + " characters; cut");
  }
  return std::move(decoded.text);
}

void read_known_service(HiveWalker& walker, KnownService& known, const std::array<hive_value_h, kValueCount>& values,
                        NoteList& notes, const std::string& where) {
  known.present = true;
  known.image_path = walker.read_string(values[kImagePath], notes, where + "\\ImagePath");
  known.display_name = walker.read_string(values[kDisplayName], notes, where + "\\DisplayName");
  if (values[kImagePath] == 0) notes.add(where + ": no ImagePath value");
}

// The subkey of `node` named `name` (ASCII case-insensitive) among its first `cap` subkeys; 0 when
// there is none.
hive_node_h find_subkey(HiveWalker& walker, NoteList& notes, hive_node_h node, std::string_view name, std::size_t cap,
                        const std::string& where) {
  for (hive_node_h child : walker.children(node, cap, where)) {
    auto child_name = walker.node_name(child, notes, where + "\\<subkey>");
    if (child_name && iequals(*child_name, name)) return child;
  }
  return 0;
}

// <set>\Control\ComputerName\ComputerName, value ComputerName (REG_SZ), issue 17. Absent keys
// are no anomaly (a hive may lack them), so only unreadable values are noted.
std::optional<std::string> read_computer_name(HiveWalker& walker, NoteList& notes, hive_node_h control,
                                              const std::string& set_name) {
  if (control == 0) return std::nullopt;
  std::string where = set_name + "\\Control";
  const hive_node_h outer = find_subkey(walker, notes, control, "ComputerName", limits::kMaxControlKeyChildren, where);
  if (outer == 0) return std::nullopt;
  where += "\\ComputerName";
  const hive_node_h inner =
      find_subkey(walker, notes, outer, "ComputerName", limits::kMaxComputerNameKeyChildren, where);
  if (inner == 0) return std::nullopt;
  where += "\\ComputerName";
  constexpr std::array<std::string_view, 1> kNames = {"ComputerName"};
  const auto values = walker.find_values(inner, kNames, notes, where);
  return walker.read_string(values[0], notes, where + "\\ComputerName");
}

ControlSet read_control_set(HiveWalker& walker, NoteList& hive_notes, hive_node_h set_node, std::uint32_t number) {
  ControlSet set;
  set.number = number;
  set.name = control_set_name(number);
  set.spooler.key_name = "Spooler";
  set.protected_storage.key_name = "ProtectedStorage";

  hive_node_h services = 0;
  hive_node_h control = 0;
  for (hive_node_h child : walker.children(set_node, limits::kMaxControlSetChildren, set.name)) {
    auto name = walker.node_name(child, hive_notes, set.name + "\\<subkey>");
    if (name && iequals(*name, "Services") && services == 0) services = child;
    if (name && iequals(*name, "Control") && control == 0) control = child;
    if (services != 0 && control != 0) break;
  }
  set.computer_name = read_computer_name(walker, hive_notes, control, set.name);
  if (services == 0) {
    hive_notes.add(set.name + ": no readable Services key");
    return set;
  }
  set.services_key_present = true;
  const std::string services_path = set.name + "\\Services";

  bool services_unreadable = false;
  const auto service_keys =
      walker.children(services, limits::kMaxServicesPerControlSet, services_path, &services_unreadable);
  set.services_listed = !services_unreadable;
  for (hive_node_h service : service_keys) {
    auto name = walker.node_name(service, hive_notes, services_path + "\\<subkey>");
    if (!name) continue;
    ++set.services_examined;
    const std::string where = services_path + "\\" + *name;
    NoteList service_notes;
    const auto values = walker.find_values(service, kServiceValueNames, service_notes, where);
    auto image_path = walker.read_string(values[kImagePath], service_notes, where + "\\ImagePath");

    ServiceMatch match;
    match.by_name = iequals(*name, "FLC") || iequals(*name, "FLCSS");
    match.by_image_path = image_path && image_path_names_flcss(*image_path);
    if (match.by_name || match.by_image_path) {
      FlcService flc;
      flc.key_name = *name;
      flc.control_set = set.name;
      flc.control_set_number = number;
      flc.match = match;
      flc.values.image_path = std::move(image_path);
      flc.values.type = walker.read_dword(values[kType], service_notes, where + "\\Type");
      flc.values.start = walker.read_dword(values[kStart], service_notes, where + "\\Start");
      flc.values.error_control = walker.read_dword(values[kErrorControl], service_notes, where + "\\ErrorControl");
      flc.values.object_name = walker.read_string(values[kObjectName], service_notes, where + "\\ObjectName");
      flc.values.display_name = walker.read_string(values[kDisplayName], service_notes, where + "\\DisplayName");
      flc.last_write = walker.last_write(service);
      flc.notes = std::move(service_notes).finish();
      set.flc_services.push_back(std::move(flc));
      continue;
    }
    KnownService* known = iequals(*name, "Spooler")            ? &set.spooler
                          : iequals(*name, "ProtectedStorage") ? &set.protected_storage
                                                               : nullptr;
    if (known != nullptr) {
      if (known->present) {
        hive_notes.add(where + ": a second key with this name; the first is used");
        continue;
      }
      known->key_name = *name;
      read_known_service(walker, *known, values, service_notes, where);
      known->notes = std::move(service_notes).finish();
      continue;
    }
    // Not evidence: what could not be read here still matters (an unreadable ImagePath may hide
    // flcss.exe), so the notes move up to the hive.
    for (auto& note : std::move(service_notes).finish()) hive_notes.add(std::move(note));
  }
  if (!set.spooler.present) set.spooler.notes.push_back(services_path + "\\Spooler: key not present");
  if (!set.protected_storage.present) {
    set.protected_storage.notes.push_back(services_path + "\\ProtectedStorage: key not present");
  }
  return set;
}

}  // namespace

std::vector<const FlcService*> SystemHiveEvidence::flc_services() const {
  std::vector<const FlcService*> out;
  for (const auto& set : control_sets) {
    for (const auto& service : set.flc_services) out.push_back(&service);
  }
  return out;
}

bool SystemHiveEvidence::has_flc_service() const { return !flc_services().empty(); }

const ControlSet* SystemHiveEvidence::current() const {
  if (!current_control_set) return nullptr;
  for (const auto& set : control_sets) {
    if (set.number == *current_control_set) return &set;
  }
  return nullptr;
}

bool image_path_names_flcss(std::string_view image_path) {
  auto is_trim = [](char c) { return c == ' ' || c == '\t' || c == '"' || c == '\0'; };
  while (!image_path.empty() && is_trim(image_path.back())) image_path.remove_suffix(1);
  const auto sep = image_path.find_last_of("\\/:");
  std::string_view file = sep == std::string_view::npos ? image_path : image_path.substr(sep + 1);
  while (!file.empty() && is_trim(file.front())) file.remove_prefix(1);
  return iequals(file, "flcss.exe");
}

namespace {

// hivex's handle on a snapshot whose base block check_base_block accepted. `short_file` says when
// the file ends before the hive bins its base block declares (empty otherwise); `name` is the
// file's name for errors.
tl::expected<HivePtr, HostError> open_hive(const FileSnapshot& snapshot, const std::string& name,
                                           std::string& short_file) {
  const auto bytes = snapshot.bytes();
  // The base block's "hive bins data size" (offset 0x28) says where the last hive bin ends.
  const std::uint64_t declared_end = kBaseBlockSize + std::uint64_t{load_le32(bytes, 0x28)};
  if (bytes.size() < declared_end) {
    short_file = "the file is " + std::to_string(bytes.size()) + " bytes but its base block declares hive bins up to " +
                 std::to_string(declared_end) + " (truncated?)";
  }
  errno = 0;
  HivePtr hive(hivex_open(snapshot.library_path().c_str(), 0));  // 0: read-only, no debug output
  if (!hive) {
    const int err = errno;
    std::string reason = describe_open_failure(err);
    if (!short_file.empty()) reason += "; " + short_file;
    return tl::unexpected(HostError{name, std::move(reason)});
  }
  return hive;
}

// The root keys a SYSTEM hive is recognised by: Select (the first met) and the ControlSetNNN
// keys (ascending by number, the first of each number), with the names for a reason.
struct RootKeys {
  hive_node_h select = 0;
  std::vector<std::pair<std::uint32_t, hive_node_h>> sets;
  RootNames names;

  [[nodiscard]] bool has_set(std::uint32_t number) const {
    return std::any_of(sets.begin(), sets.end(), [&](const auto& s) { return s.first == number; });
  }
};

tl::expected<RootKeys, HostError> read_root(hive_h* hive, HiveWalker& walker, NoteList& notes,
                                            const std::string& name) {
  errno = 0;
  const hive_node_h root = hivex_root(hive);
  if (root == 0) return tl::unexpected(HostError{name, "no root key: " + hivex_error_text()});
  errno = 0;
  if (hivex_node_nr_children(hive, root) == 0) {
    return tl::unexpected(HostError{name, "the root key has no subkeys: not a SYSTEM hive"});
  }
  bool root_unreadable = false;
  const auto root_keys = walker.children(root, limits::kMaxRootKeysExamined, "root", &root_unreadable);
  if (root_unreadable) {
    return tl::unexpected(HostError{name, "the root key's subkeys are unreadable: hivex refused its subkey list"});
  }
  RootKeys keys;
  for (hive_node_h child : root_keys) {
    auto key_name = walker.node_name(child, notes, "root\\<subkey>");
    if (!key_name) continue;
    keys.names.add(*key_name);
    if (iequals(*key_name, "Select")) {
      if (keys.select == 0) keys.select = child;
      continue;
    }
    if (iequals(*key_name, "CurrentControlSet")) {
      notes.add("root has a stored CurrentControlSet key (normally a volatile link that is not saved); ignored");
      continue;
    }
    if (auto number = parse_control_set_name(*key_name)) {
      if (keys.has_set(*number)) {
        notes.add(control_set_name(*number) + " appears twice under the root; the first is used");
      } else {
        keys.sets.emplace_back(*number, child);
      }
    }
  }
  std::sort(keys.sets.begin(), keys.sets.end());
  return keys;
}

// Decided by content (issue 12): a SYSTEM hive's root holds Select and ControlSetNNN. Why these
// root keys are not a SYSTEM hive's, or empty when they are.
std::string not_system_reason(const RootKeys& keys) {
  if (keys.select != 0 && !keys.sets.empty()) return {};
  return std::string("not a SYSTEM hive: ") +
         (keys.select == 0 && keys.sets.empty() ? "no Select key and no ControlSetNNN key"
          : keys.select == 0                    ? "no Select key"
                                                : "no ControlSetNNN key") +
         "; root holds " + keys.names.text();
}

// Select's values into evidence.select, and the current control set when Select\Current names
// one the hive holds.
void read_select(HiveWalker& walker, const RootKeys& keys, SystemHiveEvidence& evidence, NoteList& notes) {
  if (keys.select != 0) {
    evidence.select.present = true;
    NoteList select_notes;
    const auto values = walker.find_values(keys.select, kSelectValueNames, select_notes, "Select");
    evidence.select.current = walker.read_dword(values[0], select_notes, "Select\\Current");
    evidence.select.default_set = walker.read_dword(values[1], select_notes, "Select\\Default");
    evidence.select.last_known_good = walker.read_dword(values[2], select_notes, "Select\\LastKnownGood");
    evidence.select.failed = walker.read_dword(values[3], select_notes, "Select\\Failed");
    for (auto& note : std::move(select_notes).finish()) notes.add(std::move(note));
    if (!evidence.select.current) notes.add("Select has no readable Current value: the live control set is unknown");
  }
  if (!evidence.select.current) return;
  if (keys.has_set(*evidence.select.current)) {
    evidence.current_control_set = evidence.select.current;
  } else {
    notes.add("Select\\Current is " + std::to_string(*evidence.select.current) + " but " +
              control_set_name(*evidence.select.current) + " is not in the hive");
  }
}

// The control sets to read, ascending: the ones Select names first, then ascending, up to
// kMaxControlSets (the rest noted, and the evidence partial).
std::vector<std::pair<std::uint32_t, hive_node_h>> choose_control_sets(const RootKeys& keys,
                                                                       SystemHiveEvidence& evidence, NoteList& notes) {
  std::vector<std::pair<std::uint32_t, hive_node_h>> chosen;
  auto choose = [&](std::optional<std::uint32_t> n) {
    if (!n || chosen.size() == limits::kMaxControlSets) return;
    for (const auto& s : keys.sets) {
      if (s.first == *n && std::none_of(chosen.begin(), chosen.end(), [&](const auto& c) { return c.first == *n; })) {
        chosen.push_back(s);
      }
    }
  };
  choose(evidence.select.current);
  choose(evidence.select.default_set);
  choose(evidence.select.last_known_good);
  choose(evidence.select.failed);
  for (const auto& s : keys.sets) choose(s.first);
  if (chosen.size() < keys.sets.size()) {
    notes.add(std::to_string(keys.sets.size()) + " control sets present; only " + std::to_string(chosen.size()) +
              " read (limit " + std::to_string(limits::kMaxControlSets) + ")");
    evidence.partial = true;
  }
  std::sort(chosen.begin(), chosen.end());
  return chosen;
}

void read_control_sets(HiveWalker& walker, NoteList& notes,
                       const std::vector<std::pair<std::uint32_t, hive_node_h>>& chosen, SystemHiveEvidence& evidence) {
  for (const auto& [number, node] : chosen) {
    ControlSet set = read_control_set(walker, notes, node, number);
    set.is_current = evidence.current_control_set == number;
    set.is_default = evidence.select.default_set == number;
    set.is_last_known_good = evidence.select.last_known_good == number;
    set.is_failed = evidence.select.failed == number;
    for (auto& service : set.flc_services) service.in_current_control_set = set.is_current;
    if (set.is_current) evidence.computer_name = set.computer_name;
    evidence.control_sets.push_back(std::move(set));
  }
}

// The reader proper, on a snapshot taken from wherever the file lives; `path` is the file's name
// for the evidence and errors.
tl::expected<SystemHiveEvidence, HostError> read_snapshot(tl::expected<FileSnapshot, HostError> snapshot,
                                                          const std::filesystem::path& path) {
  if (!snapshot) return tl::unexpected(std::move(snapshot.error()));
  const auto bytes = snapshot->bytes();
  if (auto bad = check_base_block(bytes)) return tl::unexpected(HostError{path.string(), std::move(*bad)});
  std::string short_file;
  auto hive = open_hive(*snapshot, path.string(), short_file);
  if (!hive) return tl::unexpected(std::move(hive.error()));

  SystemHiveEvidence evidence;
  evidence.path = path;
  evidence.sequence =
      HiveSequence{load_le32(bytes, kPrimarySequenceOffset), load_le32(bytes, kSecondarySequenceOffset)};
  NoteList notes;
  if (evidence.sequence.dirty()) notes.add(dirty_hive_note(evidence.sequence));
  if (!short_file.empty()) {
    notes.add(short_file + ": keys in the missing part cannot be read");
    evidence.partial = true;
  }
  if (!snapshot->is_private()) {
    notes.add("no private copy could be made (memfd or /proc unavailable); the hive was read in place");
  }
  HiveWalker walker(hive->get(), bytes, notes, evidence.partial);

  auto root = read_root(hive->get(), walker, notes, path.string());
  if (!root) return tl::unexpected(std::move(root.error()));
  for (const auto& s : root->sets) evidence.control_sets_present.push_back(s.first);
  const std::string not_system = not_system_reason(*root);
  if (root->sets.empty()) return tl::unexpected(HostError{path.string(), not_system});

  read_select(walker, *root, evidence, notes);
  read_control_sets(walker, notes, choose_control_sets(*root, evidence, notes), evidence);

  // Some control set must have been read for the hive to rule anything out.
  const bool any_listed = std::any_of(evidence.control_sets.begin(), evidence.control_sets.end(),
                                      [](const ControlSet& set) { return set.services_listed; });
  if (!any_listed) {
    std::string names;
    for (const ControlSet& set : evidence.control_sets) names += (names.empty() ? "" : ", ") + set.name;
    return tl::unexpected(HostError{path.string(),
                                    "no readable control set: no Services key whose subkeys could be "
                                    "listed in " +
                                        names});
  }
  if (!not_system.empty()) {
    // No Select key, but control sets: evidence of FunLove in them is kept; without it, nothing
    // here can be trusted as a SYSTEM hive.
    if (!evidence.has_flc_service()) return tl::unexpected(HostError{path.string(), not_system});
    notes.add(not_system + " (kept for the FunLove service its control sets hold; the live control set is unknown)");
    evidence.partial = true;
  }

  evidence.notes = std::move(notes).finish();
  return evidence;
}

}  // namespace

tl::expected<SystemHiveEvidence, HostError> read_system_hive(const std::filesystem::path& path) {
  return read_snapshot(FileSnapshot::take(path, limits::kMaxHiveFileBytes), path);
}

tl::expected<SystemHiveEvidence, HostError> read_system_hive(const VolumeFs& volume, const std::string& path) {
  return read_snapshot(volume.snapshot(path, limits::kMaxHiveFileBytes), path);
}

}  // namespace flscan::host
