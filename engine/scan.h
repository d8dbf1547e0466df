// The engine's entry point: one file's bytes in, its findings out. A FileScanner is the per-worker
// state (hash contexts); the SignatureSet it reads is shared and immutable.
#pragma once

#include <array>
#include <optional>
#include <string_view>
#include <vector>

#include <tl/expected.hpp>

#include "engine/byte_view.h"
#include "engine/enum_table.h"
#include "engine/finding.h"
#include "engine/funlove.h"
#include "engine/hashing.h"
#include "engine/pe.h"
#include "engine/sig/signature_set.h"

namespace flscan {

enum class ContentType { empty, not_pe, mz_not_pe, pe };

// The reports' "type" codes (scanner/JSON.md), one row per value in enum order (enum_table.h).
inline constexpr std::array kContentTypes = {
    EnumRow{ContentType::empty, "empty"},
    EnumRow{ContentType::not_pe, "not-pe"},
    EnumRow{ContentType::mz_not_pe, "mz"},
    EnumRow{ContentType::pe, "pe"},
};
constexpr const auto& enum_rows(ContentType) { return kContentTypes; }
static_assert(is_complete_table(kContentTypes), "kContentTypes: one row per ContentType, in order");
[[nodiscard]] constexpr std::string_view to_code(ContentType type) { return code_of(type); }

struct FileVerdict {
  ContentType type = ContentType::not_pe;
  std::optional<pe::ParseError> pe_error;  // set when the file starts with MZ but is no valid PE
  std::vector<pe::Anomaly> pe_anomalies;
  std::optional<Digests> digests;  // set for PE/MZ files and whenever signatures need it
  std::vector<Finding> findings;   // strongest first
  std::optional<funlove::Geometry> geometry;
  std::uint64_t match_cap_hits = 0;  // signature matching cut short by a limit
};

// Recognises a file by its first bytes and its size: true when it must be read whole (MZ files and
// kernel or loader files always; other files only when the signature set may match their content
// at that size, SignatureSet::needs_content_of_size).
[[nodiscard]] bool needs_whole_file(ByteView head, std::uint64_t size, const sig::SignatureSet& signatures,
                                    funlove::FileRole role);

// Where a streamed file's bytes come from (the scanner reads them with pread; tests from memory).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads exactly `length` bytes at `offset` into `out`; false when it could not (the source
  // keeps the reason for its caller).
  virtual bool read(std::uint64_t offset, std::uint8_t* out, std::size_t length) = 0;
};

struct StreamSettings {
  std::size_t head_bytes = 64 * 1024;     // first read (more when the PE headers need it)
  std::size_t chunk_bytes = 1024 * 1024;  // every later read
};

enum class StreamFailure {
  read_failed,     // the source could not deliver the bytes (its reason says why)
  bytes_not_kept,  // the detector asked for bytes the plan did not keep: a bug, never a verdict
};

class FileScanner {
 public:
  explicit FileScanner(const sig::SignatureSet& signatures) : signatures_(signatures) {}

  // Scans a file held entirely in `file`.
  [[nodiscard]] FileVerdict scan(ByteView file, funlove::FileRole role);

  // True when a file of this role can be scanned as a stream: ordinary files (kernel and loader
  // patch searches read everything) with a set whose every signature streams.
  [[nodiscard]] bool can_stream(funlove::FileRole role) const {
    return role == funlove::FileRole::ordinary && signatures_.streamable();
  }

  // Scans a file of `size` bytes reading it once, front to back, in chunks: memory does not depend
  // on the file's size. Same verdict as scan() of the whole file (stream_scan_test compares them).
  // Only when can_stream(); `size` > 0.
  [[nodiscard]] tl::expected<FileVerdict, StreamFailure> scan_stream(ByteSource& source, std::uint64_t size,
                                                                     const StreamSettings& settings = {});

  // Empty when the last scan's digests hold a real SHA-256; otherwise why not (Hasher::sha256_error:
  // a CryptoAPI without SHA-256, Windows 2000), and its sha256 must not be shown.
  [[nodiscard]] const std::string& sha256_error() const { return hasher_.sha256_error(); }

 private:
  void add_signature_findings(FileVerdict& verdict, const std::vector<sig::Match>& matches, std::uint64_t cap_hits);

  const sig::SignatureSet& signatures_;
  Hasher hasher_;
  std::vector<std::uint8_t> head_;    // the first bytes of a streamed file
  std::vector<std::uint8_t> window_;  // carried bytes + one chunk
};

}  // namespace flscan
