#include "scanner/host/event_log.h"

#include <libevt.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "engine/event_record.h"
#include "engine/utc_time.h"
#include "scanner/host/limits.h"
#include "scanner/host/volume_fs.h"

namespace flscan::host {

namespace {

using evt::kEvent7000;
using evt::kEvent7024;
using evt::kScmSource;

// EVT layout facts (libyal "Windows Event Log (EVT) format", "File header").
constexpr std::size_t kHeaderSize = 0x30;

// libevt hands out errors it allocated; this takes one, renders it and frees it.
std::string take_error(libevt_error_t*& error) {
  if (error == nullptr) return "unknown libevt error";
  std::array<char, 512> buf{};
  std::string text = libevt_error_sprint(error, buf.data(), buf.size()) > 0 ? buf.data() : "unprintable libevt error";
  libevt_error_free(&error);
  error = nullptr;
  // libevt joins its backtrace with newlines; a note is one line.
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return sanitize_utf8(text, 400);
}

struct FileCloser {
  void operator()(libevt_file_t* file) const {
    libevt_file_close(file, nullptr);
    libevt_file_free(&file, nullptr);
  }
};
using EvtFilePtr = std::unique_ptr<libevt_file_t, FileCloser>;

struct RecordFreer {
  void operator()(libevt_record_t* record) const { libevt_record_free(&record, nullptr); }
};
using EvtRecordPtr = std::unique_ptr<libevt_record_t, RecordFreer>;

// Reads one UTF-8 string through a libevt size/get pair; nullopt and a note when it is absent,
// too long or unreadable.
template <class SizeFn, class GetFn>
std::optional<std::string> read_utf8(SizeFn size_fn, GetFn get_fn, NoteList& notes, const std::string& where,
                                     bool& partial) {
  libevt_error_t* error = nullptr;
  std::size_t size = 0;
  const int have = size_fn(&size, &error);
  if (have == -1) {
    notes.add(where + ": unreadable: " + take_error(error));
    partial = true;
    return std::nullopt;
  }
  if (have == 0 || size == 0) return std::string();
  if (size > limits::kMaxEventStringBytes) {
    notes.add(where + ": " + std::to_string(size) + " bytes (limit " + std::to_string(limits::kMaxEventStringBytes) +
              "); not read");
    partial = true;
    return std::nullopt;
  }
  std::vector<std::uint8_t> buf(size, 0);
  if (get_fn(buf.data(), buf.size(), &error) != 1) {
    notes.add(where + ": unreadable: " + take_error(error));
    partial = true;
    return std::nullopt;
  }
  const auto end = std::find(buf.begin(), buf.end(), std::uint8_t{0});
  return sanitize_utf8(
      std::string_view(reinterpret_cast<const char*>(buf.data()), static_cast<std::size_t>(end - buf.begin())),
      limits::kMaxStringChars);
}

void add_evidence(EventEvidence& evidence, EventRecord record) {
  ++evidence.count;
  const std::uint32_t t = record.time_written;
  if (!evidence.first_written || t < *evidence.first_written) evidence.first_written = t;
  if (!evidence.last_written || t > *evidence.last_written) evidence.last_written = t;
  if (evidence.records.size() < limits::kMaxEvidenceRecordsKept) evidence.records.push_back(std::move(record));
}

void finish_evidence(EventEvidence& evidence, NoteList& notes, std::string_view label) {
  std::stable_sort(evidence.records.begin(), evidence.records.end(), [](const EventRecord& a, const EventRecord& b) {
    return std::pair(a.time_written, a.record_number) < std::pair(b.time_written, b.record_number);
  });
  for (const auto& record : evidence.records) evidence.record_numbers.push_back(record.record_number);
  if (evidence.first_written) evidence.first_written_utc = format_utc_iso8601(*evidence.first_written);
  if (evidence.last_written) evidence.last_written_utc = format_utc_iso8601(*evidence.last_written);
  if (evidence.count > evidence.records.size()) {
    notes.add(std::string(label) + ": " + std::to_string(evidence.count) + " records; the first " +
              std::to_string(evidence.records.size()) + " kept in full");
  }
}

class LogReader {
 public:
  LogReader(libevt_file_t* file, EventLogEvidence& evidence, NoteList& notes)
      : file_(file), evidence_(evidence), notes_(notes) {}

  void read_all() {
    const int regular = count(false);
    const int recovered = count(true);
    evidence_.records_total = static_cast<std::size_t>(std::max(regular, 0));
    evidence_.recovered_total = static_cast<std::size_t>(std::max(recovered, 0));
    read_range(regular, false);
    read_range(recovered, true);
  }

 private:
  int count(bool recovered) {
    libevt_error_t* error = nullptr;
    int n = 0;
    const int ok = recovered ? libevt_file_get_number_of_recovered_records(file_, &n, &error)
                             : libevt_file_get_number_of_records(file_, &n, &error);
    if (ok != 1) {
      skipped(std::string(recovered ? "recovered" : "regular") + " record count unreadable: " + take_error(error));
      return 0;
    }
    return std::max(n, 0);
  }

  void skipped(std::string note) {
    notes_.add(std::move(note));
    evidence_.partial = true;
  }

  void read_range(int n, bool recovered) {
    for (int index = 0; index < n; ++index) {
      if (evidence_.records_read == limits::kMaxEventRecords) {
        skipped("more than " + std::to_string(limits::kMaxEventRecords) + " records; the rest were not read");
        return;
      }
      ++evidence_.records_read;
      libevt_error_t* error = nullptr;
      libevt_record_t* raw = nullptr;
      const int ok = recovered ? libevt_file_get_recovered_record_by_index(file_, index, &raw, &error)
                               : libevt_file_get_record_by_index(file_, index, &raw, &error);
      EvtRecordPtr record(raw);
      const std::string where = std::string(recovered ? "recovered record " : "record ") + std::to_string(index);
      if (ok != 1 || !record) {
        skipped(where + ": unreadable: " + take_error(error));
        continue;
      }
      read_one(record.get(), recovered, where);
    }
  }

  void read_one(libevt_record_t* record, bool recovered, const std::string& where) {
    EventRecord out;
    out.recovered = recovered;
    if (!read_header(record, out, where)) return;
    // Only SCM 7000/7024 records are looked at further; everything else is just counted.
    if (out.event_code != kEvent7024 && out.event_code != kEvent7000) {
      ++evidence_.other_records;
      return;
    }
    if (!read_scm_fields(record, out, where)) return;
    file_record(std::move(out));
  }

  // The record's offset, identifiers, type and times into `out`. False when there is nothing more
  // to read: a record met before (counted once), or one without a readable event identifier.
  bool read_header(libevt_record_t* record, EventRecord& out, const std::string& where) {
    libevt_error_t* error = nullptr;
    off64_t offset = 0;
    if (libevt_record_get_offset(record, &offset, &error) == 1) {
      out.file_offset = offset;
    } else {
      libevt_error_free(&error);
    }
    // libevt's recovery scan can meet a record already read (live or recovered): count it once.
    if (out.file_offset >= 0 && !seen_offsets_.insert(out.file_offset).second) {
      ++evidence_.recovered_duplicates;
      return false;
    }

    if (libevt_record_get_event_identifier(record, &out.event_identifier, &error) != 1) {
      skipped(where + ": event identifier unreadable: " + take_error(error));
      return false;
    }
    out.event_code = static_cast<std::uint16_t>(out.event_identifier & 0xFFFFu);
    if (libevt_record_get_identifier(record, &out.record_number, &error) != 1) libevt_error_free(&error);
    if (libevt_record_get_event_type(record, &out.event_type, &error) != 1) libevt_error_free(&error);
    if (libevt_record_get_creation_time(record, &out.time_generated, &error) != 1) libevt_error_free(&error);
    if (libevt_record_get_written_time(record, &out.time_written, &error) != 1) libevt_error_free(&error);
    out.time_written_utc = format_utc_iso8601(out.time_written);
    // ISO 8601 texts of one width compare as their times do.
    if (out.time_written_utc > evidence_.newest_written_utc) evidence_.newest_written_utc = out.time_written_utc;
    return true;
  }

  // A 7000/7024 record's source, computer name and strings into `out`. False when its source is
  // unreadable or not the Service Control Manager (then counted as another record).
  bool read_scm_fields(libevt_record_t* record, EventRecord& out, const std::string& where) {
    auto source =
        read_utf8([&](std::size_t* size,
                      libevt_error_t** err) { return libevt_record_get_utf8_source_name_size(record, size, err); },
                  [&](std::uint8_t* buf, std::size_t size, libevt_error_t** err) {
                    return libevt_record_get_utf8_source_name(record, buf, size, err);
                  },
                  notes_, where + " source name", evidence_.partial);
    if (!source) return false;
    out.source_name = std::move(*source);
    if (!iequals(out.source_name, kScmSource)) {
      ++evidence_.other_records;
      return false;
    }
    auto computer =
        read_utf8([&](std::size_t* size,
                      libevt_error_t** err) { return libevt_record_get_utf8_computer_name_size(record, size, err); },
                  [&](std::uint8_t* buf, std::size_t size, libevt_error_t** err) {
                    return libevt_record_get_utf8_computer_name(record, buf, size, err);
                  },
                  notes_, where + " computer name", evidence_.partial);
    out.computer_name = computer.value_or(std::string());

    libevt_error_t* error = nullptr;
    int number_of_strings = 0;
    if (libevt_record_get_number_of_strings(record, &number_of_strings, &error) != 1) {
      skipped(where + ": strings unreadable: " + take_error(error));
      number_of_strings = 0;
    }
    if (number_of_strings > limits::kMaxEventStringsPerRecord) {
      notes_.add(where + ": " + std::to_string(number_of_strings) + " strings; the first " +
                 std::to_string(limits::kMaxEventStringsPerRecord) + " read");
      number_of_strings = limits::kMaxEventStringsPerRecord;
    }
    for (int i = 0; i < number_of_strings; ++i) {
      auto text =
          read_utf8([&](std::size_t* size,
                        libevt_error_t** err) { return libevt_record_get_utf8_string_size(record, i, size, err); },
                    [&](std::uint8_t* buf, std::size_t size, libevt_error_t** err) {
                      return libevt_record_get_utf8_string(record, i, buf, size, err);
                    },
                    notes_, where + " string " + std::to_string(i + 1), evidence_.partial);
      // An unreadable string keeps its place so that string 2 stays string 2.
      out.strings.push_back(text.value_or(std::string()));
    }
    return true;
  }

  // A Service Control Manager 7000/7024 record: evidence, or counted (classify).
  void file_record(EventRecord out) {
    // The rule set shared with flscan-live.exe (engine/event_record.h).
    switch (evt::classify(out.event_code, out.source_name, out.strings)) {
      case evt::Kind::protected_storage_7024:
        add_evidence(evidence_.protected_storage_7024, std::move(out));
        break;
      case evt::Kind::spooler_7000:
        add_evidence(evidence_.spooler_7000, std::move(out));
        break;
      case evt::Kind::other_scm_7024:
        ++evidence_.other_scm_7024;
        break;
      case evt::Kind::other_scm_7000:
        ++evidence_.other_scm_7000;
        break;
      case evt::Kind::other:
        ++evidence_.other_records;
        break;
    }
  }

  libevt_file_t* file_;
  EventLogEvidence& evidence_;
  NoteList& notes_;
  std::unordered_set<std::int64_t> seen_offsets_;
};

}  // namespace

namespace {

// The reader proper, on a snapshot taken from wherever the file lives; `path` is the file's name
// for the evidence and errors.
tl::expected<EventLogEvidence, HostError> read_snapshot(tl::expected<FileSnapshot, HostError> snapshot,
                                                        const std::filesystem::path& path) {
  if (!snapshot) return tl::unexpected(std::move(snapshot.error()));
  const auto bytes = snapshot->bytes();
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data() + 4, "LfLe", 4) != 0) {
    return tl::unexpected(HostError{path.string(), bytes.size() < kHeaderSize
                                                       ? "too short for an EVT file header (48 bytes)"
                                                       : "not an EVT event log: no \"LfLe\" signature"});
  }

  libevt_error_t* error = nullptr;
  libevt_file_t* raw = nullptr;
  if (libevt_file_initialize(&raw, &error) != 1) {
    return tl::unexpected(HostError{path.string(), "libevt: " + take_error(error)});
  }
  EvtFilePtr file(raw);
  if (libevt_file_open(file.get(), snapshot->library_path().c_str(), LIBEVT_OPEN_READ, &error) != 1) {
    // Free without close: the open failed.
    libevt_file_t* unopened = file.release();
    libevt_file_free(&unopened, nullptr);
    return tl::unexpected(HostError{path.string(), "libevt could not open the log: " + take_error(error)});
  }

  EventLogEvidence evidence;
  evidence.path = path;
  NoteList notes;
  if (!snapshot->is_private()) {
    notes.add("no private copy could be made (memfd or /proc unavailable); the log was read in place");
  }
  if (libevt_file_get_flags(file.get(), &evidence.header.flags, &error) == 1) {
    evidence.header.dirty = (evidence.header.flags & LIBEVT_FILE_FLAG_IS_DIRTY) != 0;
    evidence.header.wrapped = (evidence.header.flags & LIBEVT_FILE_FLAG_HAS_WRAPPED) != 0;
    evidence.header.full = (evidence.header.flags & LIBEVT_FILE_FLAG_IS_FULL) != 0;
    evidence.header.archive = (evidence.header.flags & LIBEVT_FILE_FLAG_ARCHIVE) != 0;
  } else {
    notes.add("header flags unreadable: " + take_error(error));
  }
  if (libevt_file_get_format_version(file.get(), &evidence.header.major_version, &evidence.header.minor_version,
                                     &error) != 1) {
    libevt_error_free(&error);
  }
  const int corrupted = libevt_file_is_corrupted(file.get(), &error);
  if (corrupted == -1) libevt_error_free(&error);
  evidence.corrupted = corrupted == 1;
  if (evidence.header.dirty) {
    notes.add(
        "the header is marked dirty (log not closed cleanly): its offsets may be stale; records outside "
        "them are read as recovered");
  }
  if (evidence.corrupted) notes.add("libevt reports the log as corrupted");

  LogReader reader(file.get(), evidence, notes);
  reader.read_all();
  if (evidence.recovered_total > 0) {
    notes.add(std::to_string(evidence.recovered_total) + " records recovered outside the live range (" +
              std::to_string(evidence.recovered_duplicates) + " met twice and counted once)");
  }
  finish_evidence(evidence.protected_storage_7024, notes, "7024 Protected Storage");
  finish_evidence(evidence.spooler_7000, notes, "7000 Spooler");
  evidence.notes = std::move(notes).finish();
  return evidence;
}

}  // namespace

tl::expected<EventLogEvidence, HostError> read_event_log(const std::filesystem::path& path) {
  return read_snapshot(FileSnapshot::take(path, limits::kMaxEventLogFileBytes), path);
}

tl::expected<EventLogEvidence, HostError> read_event_log(const VolumeFs& volume, const std::string& path) {
  return read_snapshot(volume.snapshot(path, limits::kMaxEventLogFileBytes), path);
}

}  // namespace flscan::host
