#include "engine/scan.h"

#include <algorithm>

namespace flscan {
namespace {

// Signatures from the built-in FunLove set corroborate the structural detector, which alone
// decides FunLove states (infection-model section 5): an anchored body pattern also matches a
// decoy or a remnant whose entry point no longer calls the body. Their matches are therefore
// infection evidence only when the detector agrees, and "suspicious" otherwise. Signatures a
// user loads with -d are taken at their word.
bool is_builtin(const sig::Match& match) { return match.origin.rfind("builtin:", 0) == 0; }

Finding to_finding(const sig::Match& match, bool detector_found_infection) {
  Finding f;
  f.kind = FindingKind::signature;
  f.rule = "sig:" + match.name;
  f.name = match.name;
  f.severity = is_builtin(match) && !detector_found_infection ? Severity::suspicious : Severity::infection;
  f.confidence = Confidence::high;
  f.evidence = match.kind + " signature " + match.name + " (" + match.origin + ")";
  if (match.offset) {
    f.offset = *match.offset;
    f.evidence += " matched at offset " + std::to_string(*match.offset);
  }
  return f;
}

bool is_infection(const Finding& f) { return f.severity == Severity::infection; }

}  // namespace

bool needs_whole_file(ByteView head, const sig::SignatureSet& signatures, funlove::FileRole role) {
  return role != funlove::FileRole::ordinary || pe::looks_like_mz(head) || signatures.needs_non_pe_content();
}

FileVerdict FileScanner::scan(ByteView file, funlove::FileRole role) {
  FileVerdict verdict;
  std::optional<pe::Image> image;
  if (file.empty()) {
    verdict.type = ContentType::empty;
  } else if (pe::looks_like_mz(file)) {
    auto parsed = pe::parse(file);
    if (parsed) {
      image = std::move(*parsed);
      verdict.type = ContentType::pe;
      verdict.pe_anomalies = image->anomalies;
    } else {
      verdict.type = ContentType::mz_not_pe;
      verdict.pe_error = parsed.error();
    }
  } else {
    verdict.type = ContentType::not_pe;
  }

  verdict.digests = hasher_.digest(file, signatures_.needs_md5() ? WantMd5::yes : WantMd5::no);

  funlove::Result detected = funlove::detect(file, image ? &*image : nullptr, role);
  verdict.geometry = detected.geometry;
  verdict.findings = std::move(detected.findings);
  const bool detector_found_infection = std::any_of(verdict.findings.begin(), verdict.findings.end(), is_infection);

  sig::MatchStats stats;
  for (const sig::Match& match : signatures_.match(file, image ? &*image : nullptr, *verdict.digests, &stats)) {
    verdict.findings.push_back(to_finding(match, detector_found_infection));
  }
  verdict.match_cap_hits = stats.cap_hits;
  std::stable_sort(verdict.findings.begin(), verdict.findings.end(), [](const Finding& x, const Finding& y) {
    if (x.severity != y.severity) return static_cast<int>(x.severity) < static_cast<int>(y.severity);
    return stronger(x.kind, y.kind);
  });
  return verdict;
}

}  // namespace flscan
