#include "scanner/app/scan_job.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <tuple>
#include <utility>

#include <tbb/enumerable_thread_specific.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>

#include "engine/funlove.h"
#include "engine/hashing.h"
#include "engine/scan.h"
#include "scanner/walk/file_reader.h"
#include "scanner/image/container_format.h"
#include "scanner/image/image_layout.h"
#include "scanner/image/image_listing.h"
#include "scanner/image/limits.h"
#include "scanner/image/nested_image.h"
#include "scanner/image/tsk_file.h"
#include "scanner/image/volume_walk.h"

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
  image::ThreadImages images;  // this thread's own TSK handles of the disk images scanned
};

using image::ImageItem;

// What scan_content does with a file whose first bytes are a disk image's (issue 15).
enum class ImagesMet {
  walk,        // a file of a scanned directory: left to the caller (nested_image.h), not scanned here
  image_file,  // a file inside a disk image: images inside images are reported, not opened
  operand,     // a PATH operand that detect_image found no image: a container signature is reported
  plain,       // a raw candidate The Sleuth Kit did not confirm: the plain file it is
};

// A disk image the walk opened (nested_image.h), kept for the image phase.
struct NestedImage {
  image::ImageLayout layout;
  bool owner = false;  // this shard owns the image file (and reports on it)
};

class JobVisitor final : public WalkVisitor, public image::ListingSink {
 public:
  JobVisitor(const sig::SignatureSet& signatures, const ScanSettings& settings, const ScanHooks& hooks,
             ProgressMeter* progress)
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
      add_not_scanned(worker, entry.path.string(), NotScannedReason::internal_error, e.what());
    }
    if (progress_ != nullptr) progress_->file_done(worker.counters.bytes_read - bytes_before);
  }

  // One file of a disk image: opened by metadata address on this thread's TSK handles, then read
  // and scanned exactly as a file of a directory.
  void image_file(const ImageItem& item, const image::ImageLayout& layout) {
    Worker& worker = local();
    ++worker.counters.files_seen;
    const std::uint64_t bytes_before = worker.counters.bytes_read;
    try {
      scan_image_file(worker, item, layout);
    } catch (const std::exception& e) {
      add_not_scanned(worker, item.path, NotScannedReason::internal_error, e.what());
    }
    if (progress_ != nullptr) progress_->file_done(worker.counters.bytes_read - bytes_before);
  }

  void directory_listed(const fs::path&) override { ++local().counters.directories; }

  // The read order of each directory operand (read_order.h), for the report's root facts.
  void read_order_chosen(const fs::path& root, const ReadOrderChoice& choice) override {
    std::lock_guard lock(read_orders_mutex_);
    read_orders_.emplace_back(root.string(), choice);
  }
  [[nodiscard]] std::optional<ReadOrderChoice> read_order_of(const std::string& root) {
    std::lock_guard lock(read_orders_mutex_);
    for (const auto& [path, choice] : read_orders_) {
      if (path == root) return choice;
    }
    return std::nullopt;
  }

  // --shard: another shard's file, not scanned here; done as far as this shard's progress line
  // goes. Every shard lists a disk image's volumes and scans its own share of its files, so one
  // large enough to be an image is sniffed (its first bytes only) to find out (nested_image.h).
  void file_in_other_shard(const FileEntry& entry) override {
    Worker& worker = local();
    ++worker.counters.files_in_other_shards;
    if (settings_.nested_images && entry.dir && entry.listed_size >= image::limits::kMinNestedImageBytes) {
      try {
        examine_other_shard_file(worker, entry);
      } catch (const std::exception&) {
        // Reported by the shard owning the file, which meets the same failure; a disk image found
        // by some shards only gives different volumes, which flscan merge refuses.
      }
    }
    if (progress_ != nullptr) progress_->file_done(0);
  }

  // The disk images the walk opened, in path order (each walk finds them in its own order).
  std::vector<image::ImageLayout> take_nested_images() {
    std::lock_guard lock(nested_mutex_);
    std::vector<image::ImageLayout> images;
    for (NestedImage& nested : nested_) images.push_back(std::move(nested.layout));
    nested_.clear();
    std::sort(images.begin(), images.end(),
              [](const image::ImageLayout& a, const image::ImageLayout& b) { return a.path < b.path; });
    return images;
  }

  void skipped(const fs::path& path, SkipReason reason, std::string detail) override {
    Worker& worker = local();
    ++worker.counters.skipped_by_reason[static_cast<std::size_t>(reason)];
    // Excluded trees can be huge (a whole backup directory): counted, listed only on request.
    if (reason == SkipReason::excluded && !settings_.list_excluded) return;
    worker.skipped.push_back(SkippedEntry{path.string(), reason, std::move(detail)});
  }

  void not_scanned(const fs::path& path, NotScannedReason reason, std::string detail) override {
    add_not_scanned(local(), path.string(), reason, std::move(detail));
  }

  void volume_not_scanned(const std::string& volume_path, NotScannedReason reason, std::string detail) override {
    add_not_scanned(local(), volume_path, reason, std::move(detail));
  }

  // What the listing of an image volume found besides files (on the calling thread's worker).
  void add_listing(image::VolumeListing& listing) override {
    Worker& worker = local();
    for (NotScannedEntry& entry : listing.not_scanned)
      add_not_scanned(worker, entry.path, entry.reason, std::move(entry.detail));
    for (SkippedEntry& entry : listing.skipped) skipped(fs::path(entry.path), entry.reason, std::move(entry.detail));
    worker.counters.directories += listing.directories;
    worker.counters.files_in_other_shards += listing.files_other_shards;
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

  static void add_not_scanned(Worker& worker, const std::string& path, NotScannedReason reason, std::string detail) {
    ++worker.counters.not_scanned_by_reason[static_cast<std::size_t>(reason)];
    worker.not_scanned.push_back(NotScannedEntry{path, reason, std::move(detail)});
  }

  void scan_file(Worker& worker, const FileEntry& entry) {
    if (hooks_.before_open) hooks_.before_open(entry.path);
    if (hooks_.after_sniff) {
      worker.reader.after_sniff_hook = [this, &entry] { hooks_.after_sniff(entry.path); };
    } else {
      worker.reader.after_sniff_hook = nullptr;
    }
    // Opened relative to the descriptor of the directory the walk listed it in (walker.h), held
    // while the file is read: a directory on its path swapped since cannot redirect the open.
    DirLease dir;
    if (entry.dir) {
      auto lease = entry.dir->lease();
      if (!lease) {
        add_not_scanned(worker, entry.path.string(), lease.error().reason, std::move(lease.error().detail));
        return;
      }
      dir = std::move(*lease);
    }
    const int dir_fd = entry.dir ? dir.fd() : AT_FDCWD;
    std::optional<FileIdentity> directory;
    if (entry.dir) directory = FileIdentity{entry.dir->identity().dev, entry.dir->identity().ino};
    const FollowSymlink follow = entry.via_symlink ? FollowSymlink::yes : FollowSymlink::no;
    const auto read = [&](const PlanRead& plan, const StreamConsumer& stream) {
      return worker.reader.read_at(dir_fd, entry.name.c_str(), follow, entry.expected, plan, stream);
    };
    // A PATH operand that is a file was examined as a possible image before the walk (split_roots).
    const ImagesMet met = entry.dir ? ImagesMet::walk : ImagesMet::operand;
    const image::ImageCandidate candidate =
        scan_content(worker, entry.path.string(), entry.path.filename().string(), read, directory, met);
    if (!candidate.any()) return;
    if (nested_image(worker, entry, dir_fd, candidate, true) == Nested::plain_file) {
      scan_content(worker, entry.path.string(), entry.path.filename().string(), read, directory, ImagesMet::plain);
    }
  }

  // Another shard's file: its first bytes only, for a disk image whose files this shard shares.
  void examine_other_shard_file(Worker& worker, const FileEntry& entry) {
    worker.reader.after_sniff_hook = nullptr;
    auto lease = entry.dir->lease();
    if (!lease) return;
    image::ImageCandidate candidate;
    const FollowSymlink follow = entry.via_symlink ? FollowSymlink::yes : FollowSymlink::no;
    const auto plan = [&candidate](ByteView head, std::uint64_t size) {
      candidate = image::image_candidate(head, size);
      return ReadPlan::head_only;
    };
    auto content = worker.reader.read_at(lease->fd(), entry.name.c_str(), follow, entry.expected, plan, nullptr);
    // Its bytes are counted by the shard owning it (merged counters are sums over the shards).
    if (!content) return;
    if (candidate.any()) (void)nested_image(worker, entry, lease->fd(), candidate, false);
  }

  enum class Nested { handled, plain_file };

  // A file of a scanned directory whose first bytes are a disk image's: opened as the very file
  // the walk listed and scanned like a PATH (nested_image.h), or reported. `owner`: this shard owns
  // the file (the only one to report on it; every shard opens an image, to scan its share).
  Nested nested_image(Worker& worker, const FileEntry& entry, int dir_fd, const image::ImageCandidate& candidate,
                      bool owner) {
    const std::string path = entry.path.string();
    const auto report = [&](NotScannedReason reason, std::string detail) {
      if (owner) add_not_scanned(worker, path, reason, std::move(detail));
    };
    const image::ContainerFormat* format = candidate.container ? &*candidate.container : nullptr;
    if (format != nullptr && format->support == image::ContainerSupport::unsupported) {
      report(NotScannedReason::unsupported_image, image::unsupported_detail(*format));
      return Nested::handled;
    }
    if (format != nullptr && candidate.too_small) {
      report(NotScannedReason::image_not_opened, image::too_small_detail(*format));
      return Nested::handled;
    }
    if (format != nullptr && !settings_.nested_images) {
      report(NotScannedReason::image_not_opened, image::option_detail(format->name + " (" + format->evidence + ")"));
      return Nested::handled;
    }
    if (settings_.nested_images && !nested_would_keep(path)) {
      report(NotScannedReason::image_not_opened, image::too_many_detail());
      return Nested::handled;
    }
    auto held = image::hold_walk_file(dir_fd, entry);
    if (!held) {
      report(held.error().reason, std::move(held.error().detail));
      return Nested::handled;
    }
    image::Detection detection = image::detect_held_image(*held);
    switch (detection.kind) {
      case image::Detection::Kind::not_image:
        // A raw candidate The Sleuth Kit does not confirm (or a libtsk that cannot be loaded).
        return owner ? Nested::plain_file : Nested::handled;
      case image::Detection::Kind::unreadable:
        report(NotScannedReason::unreadable_image, std::move(detection.detail));
        return Nested::handled;
      case image::Detection::Kind::unsupported:
        report(NotScannedReason::unsupported_image, std::move(detection.detail));
        return Nested::handled;
      case image::Detection::Kind::image:
        break;
    }
    if (!settings_.nested_images) {
      report(NotScannedReason::image_not_opened, image::option_detail(image::raw_image_description(detection.layout)));
      return Nested::handled;
    }
    if (!add_nested(worker, std::move(detection.layout), owner)) {
      report(NotScannedReason::image_not_opened, image::too_many_detail());
    }
    return Nested::handled;
  }

  // Past limits::kMaxNestedImages, the images kept are the first ones in path order, whatever
  // order the walk's threads meet them in: the same in every run and in every shard, so shard
  // reports merge (a first-come choice differed from run to run).
  [[nodiscard]] bool nested_would_keep(const std::string& path) {
    std::lock_guard lock(nested_mutex_);
    return nested_.size() < image::limits::kMaxNestedImages || path < last_nested()->layout.path;
  }
  // Adds the image, or refuses it (false); when full, the one with the greatest path makes room and
  // is reported NOT SCANNED by the shard owning it.
  bool add_nested(Worker& worker, image::ImageLayout layout, bool owner) {
    std::lock_guard lock(nested_mutex_);
    if (nested_.size() < image::limits::kMaxNestedImages) {
      nested_.push_back(NestedImage{std::move(layout), owner});
      return true;
    }
    const auto last = last_nested();
    if (!(layout.path < last->layout.path)) return false;
    if (last->owner)
      add_not_scanned(worker, last->layout.path, NotScannedReason::image_not_opened, image::too_many_detail());
    *last = NestedImage{std::move(layout), owner};
    return true;
  }
  // The kept image with the greatest path (nested_mutex_ held, nested_ not empty).
  std::vector<NestedImage>::iterator last_nested() {
    return std::max_element(nested_.begin(), nested_.end(),
                            [](const NestedImage& a, const NestedImage& b) { return a.layout.path < b.layout.path; });
  }

  void scan_image_file(Worker& worker, const ImageItem& item, const image::ImageLayout& layout) {
    worker.reader.after_sniff_hook = nullptr;
    auto filesystem = worker.images.filesystem(item.image, layout, item.volume);
    if (!filesystem) {
      add_not_scanned(worker, item.path, NotScannedReason::unreadable_image, std::move(filesystem.error()));
      return;
    }
    auto file = image::TskFile::open(*filesystem, item.inum);
    if (!file) {
      add_not_scanned(worker, item.path, file.error().reason, std::move(file.error().detail));
      return;
    }
    const std::size_t slash = item.path.rfind('/');
    const std::string name = slash == std::string::npos ? item.path : item.path.substr(slash + 1);
    (void)scan_content(
        worker, item.path, name,
        [&](const PlanRead& plan, const StreamConsumer& stream) { return worker.reader.read(**file, plan, stream); },
        std::nullopt, ImagesMet::image_file);
  }

  // Reads one file with `read` (sniff, plan, whole or streamed) and scans it; `path` is how the
  // report names it, `name` its last component, `directory` the directory the walk read it in.
  // With ImagesMet::walk, a file whose first bytes make it a disk image candidate is only sniffed
  // and the candidate returned, for the caller to open (nested_image.h); otherwise none is.
  template <typename Read>
  image::ImageCandidate scan_content(Worker& worker, const std::string& path, const std::string& name, const Read& read,
                                     const std::optional<FileIdentity>& directory, ImagesMet met) {
    // Kernel and loader checks depend on the file's role, which only its name tells
    // (infection-model section 7); everything else is recognised by content.
    const funlove::FileRole role = funlove::role_for_name(name);
    // A disk image met inside a directory or another image (issue 15) is recognised from the same
    // first bytes.
    image::ImageCandidate candidate;
    const auto plan = [this, &worker, role, &candidate, met](ByteView head, std::uint64_t size) {
      if (met != ImagesMet::plain) candidate = image::image_candidate(head, size);
      if (met == ImagesMet::walk && candidate.any()) return ReadPlan::head_only;
      if (!needs_whole_file(head, size, signatures_, role)) return ReadPlan::head_only;
      return size > settings_.stream_above && worker.scanner.can_stream(role) ? ReadPlan::stream : ReadPlan::whole;
    };
    std::optional<tl::expected<FileVerdict, StreamFailure>> streamed;
    const auto stream = [&worker, &streamed](ByteSource& source, std::uint64_t size) {
      streamed = worker.scanner.scan_stream(source, size);
    };
    auto content = read(PlanRead(plan), StreamConsumer(stream));
    if (!content) {
      add_not_scanned(worker, path, content.error().reason, std::move(content.error().detail));
      return {};
    }
    // A walk file's second read (a raw candidate that is no image) was counted by the first.
    if (met != ImagesMet::plain) ++worker.counters.files_examined;
    worker.counters.bytes_read += content->bytes_read;
    if (met == ImagesMet::walk && candidate.any()) return candidate;
    if (candidate.container && met != ImagesMet::walk) image_not_opened(worker, path, *candidate.container, met);
    if (content->streamed) {
      if (!streamed || !*streamed) {
        // The reader reported no read error, so the engine's plan missed bytes it needed: a bug,
        // reported as such rather than guessed around.
        add_not_scanned(worker, path, NotScannedReason::internal_error,
                        "the streamed scan needed bytes it had not kept; please report this file");
        return {};
      }
      ++worker.counters.files_scanned_whole;
      record(worker, path, *content, **streamed, directory);
      return {};
    }
    // Not read whole: the engine saw from the head that nothing in this file can matter.
    if (!content->whole) return {};
    ++worker.counters.files_scanned_whole;
    const FileVerdict verdict = worker.scanner.scan(content->bytes, role);
    record(worker, path, *content, verdict, directory);
    return {};
  }

  // A disk image found as a file inside a disk image (or a PATH operand detect_image did not
  // open): NOT SCANNED, since none of the files inside it were read.
  void image_not_opened(Worker& worker, const std::string& path, const image::ContainerFormat& format, ImagesMet met) {
    if (format.support == image::ContainerSupport::unsupported) {
      add_not_scanned(worker, path, NotScannedReason::unsupported_image, image::unsupported_detail(format));
    } else if (met == ImagesMet::image_file) {
      add_not_scanned(worker, path, NotScannedReason::image_not_opened, image::inside_image_detail(format));
    } else {
      add_not_scanned(worker, path, NotScannedReason::image_not_opened, image::not_opened_detail(format));
    }
  }

  std::string sha256_of(Worker& worker, const FileVerdict& verdict, ByteView bytes) {
    if (verdict.digests) return to_hex(verdict.digests->sha256);
    if (!worker.hasher) worker.hasher.emplace();
    return to_hex(worker.hasher->digest(bytes, WantMd5::no).sha256);
  }

  void record(Worker& worker, const std::string& path, const FileContent& content, const FileVerdict& verdict,
              const std::optional<FileIdentity>& directory) {
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
      FileResult result{path, content.file_size, sha256, verdict.type, verdict.findings};
      if (content.identity) result.origin = FileOrigin{*content.identity, directory};
      result.times = content.times;
      worker.results.push_back(std::move(result));
    }
    const bool pe_or_mz = verdict.type == ContentType::pe || verdict.type == ContentType::mz_not_pe;
    if (settings_.inventory && pe_or_mz) {
      if (sha256.empty()) sha256 = sha256_of(worker, verdict, content.bytes);
      std::string pe_error;
      if (verdict.pe_error) {
        pe_error = verdict.pe_error->reason + " (offset " + std::to_string(verdict.pe_error->offset) + ")";
      }
      worker.inventory.push_back(InventoryEntry{path, content.file_size, sha256, verdict.type, pe_error});
    }
  }

  const sig::SignatureSet& signatures_;
  const ScanSettings& settings_;
  const ScanHooks& hooks_;
  ProgressMeter* progress_;
  tbb::enumerable_thread_specific<std::unique_ptr<Worker>> workers_;
  std::mutex nested_mutex_;
  std::vector<NestedImage> nested_;  // disk images the walk opened (nested_image.h)
  std::mutex read_orders_mutex_;
  std::vector<std::pair<std::string, ReadOrderChoice>> read_orders_;  // one per directory operand walked
};

}  // namespace

ScanJob::ScanJob(const sig::SignatureSet& signatures, ScanSettings settings)
    : signatures_(signatures), settings_(std::move(settings)) {}

namespace {

// The disk images among the PATH operands, and the other operands (walked as before).
struct SplitRoots {
  std::vector<fs::path> walked;
  std::vector<image::ImageLayout> images;
  std::vector<RootFacts> facts;  // one per operand (report.h)
};

// What `root` is (stat, following symlinks as the walk does for an operand) and where, against
// the working directory, so the printers need no filesystem call (issue 14). The absolute form
// is std::filesystem::absolute's, lexically normalised; empty when the working directory cannot
// be read.
RootFacts describe_root(const std::string& root, bool image) {
  RootFacts facts;
  std::error_code ec;
  const std::filesystem::path absolute = std::filesystem::absolute(root, ec);
  if (!ec) facts.absolute = absolute.lexically_normal().generic_string();
  struct stat st {};
  if (image) {
    facts.kind = RootKind::image;
  } else if (::stat(root.c_str(), &st) != 0) {
    facts.kind = errno == ENOENT || errno == ENOTDIR ? RootKind::missing : RootKind::unknown;
  } else {
    facts.kind = S_ISDIR(st.st_mode) ? RootKind::directory : S_ISREG(st.st_mode) ? RootKind::file : RootKind::special;
  }
  return facts;
}

SplitRoots split_roots(const ScanSettings& settings, JobVisitor& visitor) {
  SplitRoots split;
  const image::ImageMode mode = settings.force_image ? image::ImageMode::forced : image::ImageMode::detect;
  for (const std::string& root : settings.roots) {
    image::Detection detection = image::detect_image(root, mode);
    split.facts.push_back(describe_root(root, detection.kind == image::Detection::Kind::image));
    switch (detection.kind) {
      case image::Detection::Kind::not_image:
        split.walked.emplace_back(root);
        break;
      case image::Detection::Kind::image:
        split.images.push_back(std::move(detection.layout));
        break;
      case image::Detection::Kind::unreadable:
        visitor.not_scanned(fs::path(root), NotScannedReason::unreadable_image, std::move(detection.detail));
        break;
      case image::Detection::Kind::unsupported:
        visitor.not_scanned(fs::path(root), NotScannedReason::unsupported_image, std::move(detection.detail));
        break;
    }
  }
  return split;
}

}  // namespace

ScanReport ScanJob::run() const {
  std::vector<image::ImageLayout> images;
  return run(images);
}

ScanReport ScanJob::run(std::vector<image::ImageLayout>& images) const {
  const auto start = std::chrono::steady_clock::now();
  JobVisitor visitor(signatures_, settings_, hooks, progress);
  SplitRoots roots = split_roots(settings_, visitor);
  std::uint64_t lost = 0;
  if (!roots.walked.empty()) {
    Walker walker(settings_.walk);
    walker.before_open_directory = hooks.before_open_directory;
    lost = walker.walk(roots.walked, visitor);
  }
  // The images among the PATHs, then those the walk found in directories (in path order).
  for (image::ImageLayout& nested : visitor.take_nested_images()) roots.images.push_back(std::move(nested));
  std::vector<ImageVolume> volumes;
  if (!roots.images.empty()) {
    if (progress != nullptr) progress->set_phase("disk images: listing");
    const std::vector<ImageItem> items = image::list_images(roots.images, ExcludeMatcher(settings_.walk.excludes),
                                                            settings_.walk.shard, visitor, volumes);
    if (progress != nullptr) progress->set_phase("disk images: scanning");
    // The items come in on-disk order (image_listing.h); each worker takes the next one, so the
    // image is read front to back by all of them together. A range split between workers would
    // make each read its own part of the disk and the head seek between them.
    std::atomic<std::size_t> next{0};
    const auto take_items = [&] {
      for (std::size_t i = next++; i < items.size(); i = next++)
        visitor.image_file(items[i], roots.images[items[i].image]);
    };
    tbb::task_group workers;
    const int concurrency = std::max(1, tbb::this_task_arena::max_concurrency());
    for (int w = 0; w < concurrency; ++w) workers.run(take_items);
    workers.wait();
  }

  // How each operand's files were read: a directory as its walk chose, a disk image always by
  // its files' first data block (image_listing.h).
  for (std::size_t i = 0; i < roots.facts.size(); ++i) {
    RootFacts& facts = roots.facts[i];
    if (facts.kind == RootKind::image) {
      facts.read_order = ReadOrder::disk;
      facts.read_order_reason = "disk image: files in the order of their first data block";
    } else if (const auto choice = visitor.read_order_of(settings_.roots[i])) {
      facts.read_order = choice->order;
      facts.read_order_reason = choice->reason;
    }
  }
  ScanReport report;
  report.volumes = std::move(volumes);
  report.roots = settings_.roots;
  report.root_facts = std::move(roots.facts);
  std::error_code ec;
  const std::filesystem::path working_directory = std::filesystem::current_path(ec);
  if (!ec) report.working_directory = working_directory.generic_string();
  visitor.merge_into(report);
  report.counters.lost_reports += lost;
  report.shard = settings_.walk.shard;
  // Sorted by path (bytes), ties broken by the rest, so the report is the same on every run.
  sort_entries(report);
  report.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  images = std::move(roots.images);
  return report;
}

}  // namespace flscan::scanner
