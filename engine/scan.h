// The engine's entry point: one file's bytes in, its findings out. A FileScanner is the per-worker
// state (hash contexts); the SignatureSet it reads is shared and immutable.
#pragma once

#include <optional>
#include <vector>

#include "engine/byte_view.h"
#include "engine/finding.h"
#include "engine/funlove.h"
#include "engine/hashing.h"
#include "engine/pe.h"
#include "engine/signature_set.h"

namespace flscan {

enum class ContentType { empty, not_pe, mz_not_pe, pe };

struct FileVerdict {
  ContentType type = ContentType::not_pe;
  std::optional<pe::ParseError> pe_error;     // set when the file starts with MZ but is no valid PE
  std::vector<pe::Anomaly> pe_anomalies;
  std::optional<Digests> digests;             // set for PE/MZ files and whenever signatures need it
  std::vector<Finding> findings;              // strongest first
  std::optional<funlove::Geometry> geometry;
  std::uint64_t match_cap_hits = 0;           // signature matching cut short by a limit
};

// Recognises a file by its first bytes: true when it must be read whole (MZ files and kernel or
// loader files always; other files only when the signature set needs their content).
[[nodiscard]] bool needs_whole_file(ByteView head, const sig::SignatureSet& signatures, funlove::FileRole role);

class FileScanner {
 public:
  explicit FileScanner(const sig::SignatureSet& signatures) : signatures_(signatures) {}

  // Scans a file held entirely in `file`.
  [[nodiscard]] FileVerdict scan(ByteView file, funlove::FileRole role);

 private:
  const sig::SignatureSet& signatures_;
  Hasher hasher_;
};

}  // namespace flscan
