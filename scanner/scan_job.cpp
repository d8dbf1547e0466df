#include "scanner/scan_job.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <optional>
#include <tuple>
#include <utility>

#include <tbb/enumerable_thread_specific.h>

#include "engine/funlove.h"
#include "engine/hashing.h"
#include "engine/scan.h"
#include "scanner/file_reader.h"

namespace flscan::scanner {
namespace fs = boost::filesystem;

namespace {

// Everything one thread needs and produces. The engine scanner and the read buffer are reused for
// every file the thread handles; the partial report holds only entries that matter.
struct Worker {
  Worker(const sig::SignatureSet& signatures, std::uint64_t max_file_size)
      : scanner(signatures), reader(max_file_size) {}

  FileScanner scanner;
  FileReader reader;
  std::optional<Hasher> hasher;  // only for a finding in a file the engine did not hash
  std::vector<FileResult> results;
  std::vector<NotScannedEntry> not_scanned;
  std::vector<SkippedEntry> skipped;
  std::vector<InventoryEntry> inventory;
  ScanCounters counters;
};

class JobVisitor final : public WalkVisitor {
 public:
  JobVisitor(const sig::SignatureSet& signatures, const ScanSettings& settings, const ScanHooks& hooks, ProgressMeter* progress)
      : signatures_(signatures),
        settings_(settings),
        hooks_(hooks),
        progress_(progress),
        workers_([&signatures, &settings] { return std::make_unique<Worker>(signatures, settings.max_file_size); }) {}

  void file(const FileEntry& entry) override {
    Worker& worker = local();
    ++worker.counters.files_seen;
    // The per-file boundary: whatever goes wrong with this file is reported for this file, and
    // the walk goes on (a throw into the TBB body would cancel the whole scan).
    const std::uint64_t bytes_before = worker.counters.bytes_read;
    try {
      scan_file(worker, entry);
    } catch (const std::exception& e) {
      add_not_scanned(worker, entry.path, NotScannedReason::internal_error, e.what());
    }
    if (progress_ != nullptr) progress_->file_done(worker.counters.bytes_read - bytes_before);
  }

  void directory_listed(const fs::path&) override { ++local().counters.directories; }

  void skipped(const fs::path& path, SkipReason reason, std::string detail) override {
    Worker& worker = local();
    ++worker.counters.skipped_by_reason[static_cast<std::size_t>(reason)];
    // Excluded trees can be huge (a whole backup directory): counted, listed only on request.
    if (reason == SkipReason::excluded && !settings_.list_excluded) return;
    worker.skipped.push_back(SkippedEntry{path.string(), reason, std::move(detail)});
  }

  void not_scanned(const fs::path& path, NotScannedReason reason, std::string detail) override {
    add_not_scanned(local(), path, reason, std::move(detail));
  }

  // Moves every worker's partial report into `report` and sums their counters.
  void merge_into(ScanReport& report) {
    for (auto& worker : workers_) {
      auto append = [](auto& to, auto& from) { std::move(from.begin(), from.end(), std::back_inserter(to)); };
      append(report.results, worker->results);
      append(report.not_scanned, worker->not_scanned);
      append(report.skipped, worker->skipped);
      append(report.inventory, worker->inventory);
      report.counters += worker->counters;
    }
  }

 private:
  Worker& local() { return *workers_.local(); }

  static void add_not_scanned(Worker& worker, const fs::path& path, NotScannedReason reason, std::string detail) {
    ++worker.counters.not_scanned_by_reason[static_cast<std::size_t>(reason)];
    worker.not_scanned.push_back(NotScannedEntry{path.string(), reason, std::move(detail)});
  }

  void scan_file(Worker& worker, const FileEntry& entry) {
    if (hooks_.before_open) hooks_.before_open(entry.path);
    // Kernel and loader checks depend on the file's role, which only its name tells
    // (infection-model section 7); everything else is recognised by content.
    const funlove::FileRole role = funlove::role_for_name(entry.path.filename().string());
    if (hooks_.after_sniff) {
      worker.reader.after_sniff_hook = [this, &entry] { hooks_.after_sniff(entry.path); };
    } else {
      worker.reader.after_sniff_hook = nullptr;
    }
    const auto plan = [this, &worker, role](ByteView head, std::uint64_t size) {
      if (!needs_whole_file(head, signatures_, role)) return ReadPlan::head_only;
      return size > settings_.stream_above && worker.scanner.can_stream(role) ? ReadPlan::stream : ReadPlan::whole;
    };
    std::optional<tl::expected<FileVerdict, StreamFailure>> streamed;
    const auto stream = [&worker, &streamed](ByteSource& source, std::uint64_t size) {
      streamed = worker.scanner.scan_stream(source, size);
    };
    auto content = worker.reader.read(entry.path.c_str(), entry.via_symlink ? FollowSymlink::yes : FollowSymlink::no, plan, stream);
    if (!content) {
      add_not_scanned(worker, entry.path, content.error().reason, std::move(content.error().detail));
      return;
    }
    ++worker.counters.files_examined;
    worker.counters.bytes_read += content->bytes_read;
    if (content->streamed) {
      if (!streamed || !*streamed) {
        // The reader reported no read error, so the engine's plan missed bytes it needed: a bug,
        // reported as such rather than guessed around.
        add_not_scanned(worker, entry.path, NotScannedReason::internal_error,
                        "the streamed scan needed bytes it had not kept; please report this file");
        return;
      }
      ++worker.counters.files_scanned_whole;
      record(worker, entry, *content, **streamed);
      return;
    }
    // Not read whole: the engine saw from the head that nothing in this file can matter.
    if (!content->whole) return;
    ++worker.counters.files_scanned_whole;
    const FileVerdict verdict = worker.scanner.scan(content->bytes, role);
    record(worker, entry, *content, verdict);
  }

  std::string sha256_of(Worker& worker, const FileVerdict& verdict, ByteView bytes) {
    if (verdict.digests) return to_hex(verdict.digests->sha256);
    if (!worker.hasher) worker.hasher.emplace();
    return to_hex(worker.hasher->digest(bytes, WantMd5::no).sha256);
  }

  void record(Worker& worker, const FileEntry& entry, const FileContent& content, const FileVerdict& verdict) {
    ScanCounters& counters = worker.counters;
    if (verdict.type == ContentType::pe) ++counters.pe_files;
    if (verdict.type == ContentType::mz_not_pe) ++counters.mz_files;
    counters.match_cap_hits += verdict.match_cap_hits;

    std::string sha256;
    if (!verdict.findings.empty()) {
      sha256 = sha256_of(worker, verdict, content.bytes);
      ++counters.files_with_findings;
      bool infection = false;
      for (const Finding& finding : verdict.findings) {
        ++counters.findings_by_kind[static_cast<std::size_t>(finding.kind)];
        infection = infection || finding.severity == Severity::infection;
      }
      if (infection) ++counters.infected_files;
      worker.results.push_back(FileResult{entry.path.string(), content.file_size, sha256, verdict.type, verdict.findings});
    }
    const bool pe_or_mz = verdict.type == ContentType::pe || verdict.type == ContentType::mz_not_pe;
    if (settings_.inventory && pe_or_mz) {
      if (sha256.empty()) sha256 = sha256_of(worker, verdict, content.bytes);
      std::string pe_error;
      if (verdict.pe_error) {
        pe_error = verdict.pe_error->reason + " (offset " + std::to_string(verdict.pe_error->offset) + ")";
      }
      worker.inventory.push_back(InventoryEntry{entry.path.string(), content.file_size, sha256, verdict.type, pe_error});
    }
  }

  const sig::SignatureSet& signatures_;
  const ScanSettings& settings_;
  const ScanHooks& hooks_;
  ProgressMeter* progress_;
  tbb::enumerable_thread_specific<std::unique_ptr<Worker>> workers_;
};

template <typename Entry, typename Key>
void sort_by(std::vector<Entry>& entries, Key key) {
  std::sort(entries.begin(), entries.end(), [&key](const Entry& a, const Entry& b) { return key(a) < key(b); });
}

}  // namespace

ScanJob::ScanJob(const sig::SignatureSet& signatures, ScanSettings settings)
    : signatures_(signatures), settings_(std::move(settings)) {}

ScanReport ScanJob::run() const {
  const auto start = std::chrono::steady_clock::now();
  JobVisitor visitor(signatures_, settings_, hooks, progress);
  std::vector<fs::path> roots(settings_.roots.begin(), settings_.roots.end());
  const Walker walker(settings_.walk);
  const std::uint64_t lost = walker.walk(roots, visitor);

  ScanReport report;
  report.roots = settings_.roots;
  visitor.merge_into(report);
  report.counters.lost_reports += lost;
  // Sorted by path (bytes), ties broken by the rest, so the report is the same on every run.
  sort_by(report.results, [](const FileResult& r) { return std::tie(r.path, r.size); });
  sort_by(report.not_scanned, [](const NotScannedEntry& e) { return std::tie(e.path, e.reason, e.detail); });
  sort_by(report.skipped, [](const SkippedEntry& e) { return std::tie(e.path, e.reason, e.detail); });
  sort_by(report.inventory, [](const InventoryEntry& e) { return std::tie(e.path, e.size); });
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace flscan::scanner
