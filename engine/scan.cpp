#include "engine/scan.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "engine/sparse_file.h"

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

// A parse of an MZ file: a PE image, or an MZ file that is no valid PE and why.
void take_parse_result(tl::expected<pe::Image, pe::ParseError> parsed, FileVerdict& verdict,
                       std::optional<pe::Image>& image) {
  if (parsed) {
    image = std::move(*parsed);
    verdict.type = ContentType::pe;
    verdict.pe_anomalies = image->anomalies;
  } else {
    verdict.type = ContentType::mz_not_pe;
    verdict.pe_error = parsed.error();
  }
}

}  // namespace

bool needs_whole_file(ByteView head, std::uint64_t size, const sig::SignatureSet& signatures, funlove::FileRole role) {
  return role != funlove::FileRole::ordinary || pe::looks_like_mz(head) || signatures.needs_content_of_size(size);
}

FileVerdict FileScanner::scan(ByteView file, funlove::FileRole role) {
  FileVerdict verdict;
  std::optional<pe::Image> image;
  if (file.empty()) {
    verdict.type = ContentType::empty;
  } else if (pe::looks_like_mz(file)) {
    take_parse_result(pe::parse(file), verdict, image);
  } else {
    verdict.type = ContentType::not_pe;
  }

  verdict.digests = hasher_.digest(file, signatures_.needs_md5_of_size(file.size()) ? WantMd5::yes : WantMd5::no);

  funlove::Result detected = funlove::detect(file, image ? &*image : nullptr, role);
  verdict.geometry = detected.geometry;
  verdict.findings = std::move(detected.findings);

  sig::MatchStats stats;
  const auto matches = signatures_.match(file, image ? &*image : nullptr, *verdict.digests, &stats);
  add_signature_findings(verdict, matches, stats.cap_hits);
  return verdict;
}

void FileScanner::add_signature_findings(FileVerdict& verdict, const std::vector<sig::Match>& matches,
                                         std::uint64_t cap_hits) {
  const bool detector_found_infection = std::any_of(verdict.findings.begin(), verdict.findings.end(), is_infection);
  for (const sig::Match& match : matches) verdict.findings.push_back(to_finding(match, detector_found_infection));
  verdict.match_cap_hits = cap_hits;
  std::stable_sort(verdict.findings.begin(), verdict.findings.end(), [](const Finding& x, const Finding& y) {
    if (x.severity != y.severity) return static_cast<int>(x.severity) < static_cast<int>(y.severity);
    return stronger(x.kind, y.kind);
  });
}

tl::expected<FileVerdict, StreamFailure> FileScanner::scan_stream(ByteSource& source, std::uint64_t size,
                                                                  const StreamSettings& settings) {
  const auto failed = [](StreamFailure f) { return tl::make_unexpected(f); };
  FileVerdict verdict;
  verdict.type = ContentType::not_pe;

  // The head: enough for the PE headers, wherever e_lfanew puts them (bounded by kMaxLfanew).
  head_.resize(static_cast<std::size_t>(std::min<std::uint64_t>(size, std::max<std::size_t>(settings.head_bytes, 64))));
  if (!source.read(0, head_.data(), head_.size())) return failed(StreamFailure::read_failed);
  std::optional<pe::Image> image;
  const bool executable = pe::looks_like_mz(ByteView(head_.data(), head_.size()));
  if (executable) {
    // header_extent grows as the DOS and COFF headers become visible: at most three steps.
    for (int step = 0; step < 3; ++step) {
      const std::uint64_t need = pe::header_extent(ByteView(head_.data(), head_.size()), size);
      if (need <= head_.size()) break;
      const std::size_t had = head_.size();
      head_.resize(static_cast<std::size_t>(need));
      if (!source.read(had, head_.data() + had, head_.size() - had)) return failed(StreamFailure::read_failed);
    }
    take_parse_result(pe::parse_prefix(ByteView(head_.data(), head_.size()), size), verdict, image);
  }

  // The ranges the detector will read. Where the entry point is lies in the headers; the bytes
  // there say where a body would be. They are nearly always in the head; otherwise a small extra
  // read fetches them ahead of the stream.
  std::vector<SparseFile::Range> kept;
  if (image) {
    std::array<std::uint8_t, funlove::kStubSize> entry{};
    std::size_t entry_size = 0;
    if (const auto at = image->entry_offset()) {
      entry_size = static_cast<std::size_t>(std::min<std::uint64_t>(funlove::kStubSize, size - *at));
      if (*at + entry_size <= head_.size()) {
        std::copy_n(head_.data() + *at, entry_size, entry.data());
      } else if (!source.read(*at, entry.data(), entry_size)) {
        return failed(StreamFailure::read_failed);
      }
    }
    for (const funlove::KeptRange& r : funlove::ranges_to_keep(*image, ByteView(entry.data(), entry_size))) {
      if (r.offset >= size) continue;
      const auto length = static_cast<std::size_t>(std::min(r.length, size - r.offset));
      kept.push_back(SparseFile::Range{r.offset, std::vector<std::uint8_t>(length)});
    }
  }

  hasher_.begin(signatures_.needs_md5_of_size(size) ? WantMd5::yes : WantMd5::no);
  sig::StreamMatcher matcher(signatures_, size, image ? &*image : nullptr, executable);
  const ByteView marker = funlove::marker_string();
  std::optional<std::uint64_t> marker_at;
  std::optional<std::uint64_t> last_nonzero;
  const std::size_t carry_max = std::max<std::size_t>(signatures_.stream_overlap(), marker.size() - 1);

  // New bytes [offset, offset + n) at `bytes`, inside `window` that starts at window_offset.
  auto consume = [&](const std::uint8_t* bytes, std::size_t n, std::uint64_t offset, ByteView window,
                     std::uint64_t window_offset) {
    hasher_.update(ByteView(bytes, n));
    for (SparseFile::Range& r : kept) {
      const std::uint64_t from = std::max(r.offset, offset);
      const std::uint64_t to = std::min(r.offset + r.bytes.size(), offset + n);
      if (from < to) std::copy_n(bytes + (from - offset), to - from, r.bytes.data() + (from - r.offset));
    }
    // All zero (memcmp of the chunk with itself shifted by one, vectorised by libc): nothing to
    // record; else the last non-zero byte is usually the very last one.
    const bool all_zero = n == 0 || (bytes[0] == 0 && std::memcmp(bytes, bytes + 1, n - 1) == 0);
    if (!all_zero) {
      for (std::size_t i = n; i-- > 0;) {
        if (bytes[i] != 0) {
          last_nonzero = offset + i;
          break;
        }
      }
    }
    if (!marker_at) {
      if (auto hit = window.find(marker.span())) marker_at = window_offset + *hit;
    }
    matcher.feed(window, window_offset);
  };

  const ByteView head(head_.data(), head_.size());
  consume(head_.data(), head_.size(), 0, head, 0);
  // At most chunk_bytes (a std::size_t): the narrowing cannot change the value.
  window_.resize(carry_max + static_cast<std::size_t>(std::min<std::uint64_t>(settings.chunk_bytes, size)));
  std::size_t carry = std::min(carry_max, head_.size());
  std::copy_n(head_.data() + head_.size() - carry, carry, window_.data());
  for (std::uint64_t offset = head_.size(); offset < size;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(settings.chunk_bytes, size - offset));
    if (!source.read(offset, window_.data() + carry, n)) return failed(StreamFailure::read_failed);
    const ByteView window(window_.data(), carry + n);
    consume(window_.data() + carry, n, offset, window, offset - carry);
    offset += n;
    const std::size_t next_carry = std::min(carry_max, carry + n);
    std::memmove(window_.data(), window_.data() + carry + n - next_carry, next_carry);
    carry = next_carry;
  }
  verdict.digests = hasher_.finish();

  const SparseFile file(size, std::move(kept), last_nonzero,
                        std::vector<std::uint8_t>(marker.data(), marker.data() + marker.size()), marker_at);
  funlove::Result detected = funlove::detect(file, image ? &*image : nullptr);
  if (file.missed()) return failed(StreamFailure::bytes_not_kept);
  verdict.geometry = detected.geometry;
  verdict.findings = std::move(detected.findings);
  sig::MatchStats stats;
  const auto matches = matcher.finish(*verdict.digests, &stats);
  add_signature_findings(verdict, matches, stats.cap_hits);
  return verdict;
}

}  // namespace flscan
