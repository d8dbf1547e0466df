// flscan: parse options, load signatures, run the scan, print the reports. The pieces live in
// this directory (options, walker, file_reader, scan_job, report_*); main only glues them.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <unistd.h>

#include <openssl/crypto.h>
#include <tbb/global_control.h>

#include "scanner/image/tsk_volume_fs.h"
#include "scanner/app/merge.h"
#include "scanner/app/options.h"
#include "scanner/image/volume_keys.h"
#include "scanner/app/progress.h"
#include "scanner/remedy/remediate.h"
#include "scanner/report/report.h"
#include "scanner/report/report_file.h"
#include "scanner/report/scan_report_facts.h"
#include "scanner/app/scan_job.h"
#include "scanner/platform/termination_cleanup.h"
#include "scanner/report/text_encoding.h"
#include "signatures/loader.h"

namespace {

using namespace flscan;
using namespace flscan::scanner;

// Built-in signatures first, then every -d in order. A signature file that does not load stops
// the program: scanning with a silently smaller set would report clean what the user asked to find.
tl::expected<sig::SignatureSet, std::string> load_signatures(const Options& options) {
  auto signatures = signatures::builtin_signatures();
  if (!signatures) return tl::make_unexpected("built-in signatures: " + signatures.error().message());
  for (const std::string& database : options.databases) {
    auto loaded = signatures::load_path(database, *signatures);
    if (!loaded) return tl::make_unexpected(loaded.error().message());
  }
  return std::move(*signatures);
}

// The loaded signature set is never destroyed: it lives until the process exits, and freeing a
// large database object by object (a 100,000-line -d file is ~10^6 allocations) only delays the
// exit; the kernel reclaims it at once. This pointer in static storage keeps it reachable, so
// LeakSanitizer does not report it. Nothing else is skipped at exit: streams are flushed as usual.
tl::expected<sig::SignatureSet, std::string>* g_signatures = nullptr;

ScanSettings scan_settings(const Options& options) {
  ScanSettings settings;
  settings.roots = options.paths;
  settings.walk.follow_symlinks = options.follow_symlinks;
  settings.walk.one_file_system = options.one_file_system;
  settings.force_image = options.force_image;
  settings.nested_images = !options.no_nested_images;
  settings.walk.excludes = options.excludes;
  settings.max_file_size = options.max_filesize;
  settings.stream_above = options.stream_above;
  settings.inventory = options.inventory;
  settings.walk.shard = options.shard;
  settings.walk.read_order = options.read_order;
  // Always kept: the Q317218 host report needs to know an excluded program was not scanned.
  // The printers list them only with --verbose.
  settings.list_excluded = true;
  return settings;
}

void print_version(const sig::SignatureSet& signatures) {
  std::cout << "flscan " << FLSCAN_VERSION << '\n' << "signatures: " << signatures.size() << " in total\n";
  for (const std::string& source : signatures.sources()) std::cout << "  " << escape_for_terminal(source) << '\n';
}

// The Q317218 report of each Windows installation, from the finished scan (host_report.h), and
// with --live the FLCSS processes running here. Installations are looked for under each PATH and
// in each scanned volume of a disk image (read through TSK, scanner/image/tsk_volume_fs.h), in
// operand order, then in the volumes of the disk images found inside the PATHs (in path order).
void add_host_reports(const Options& options, const std::vector<image::ImageLayout>& images,
                      const std::shared_ptr<const host::LiveReport>& live_report, ScanReport& report) {
  std::optional<image::TskVolumeFs> image_fs;
  std::vector<host::HostVolume> host_volumes;
  if (options.windows_root) {
    host_volumes.push_back({host::local_fs(), *options.windows_root, host::HostVolume::Kind::windows_dir});
  } else {
    if (!report.volumes.empty()) {
      image_fs.emplace(images, report.volumes);
      image::note_host_failures(*image_fs, report.volumes);
    }
    for (const std::string& path : options.paths) {
      const bool is_image = std::any_of(report.volumes.begin(), report.volumes.end(),
                                        [&path](const ImageVolume& volume) { return volume.image == path; });
      if (!is_image) {
        host_volumes.push_back({host::local_fs(), path, host::HostVolume::Kind::search});
        continue;
      }
      for (const std::string& root : image_fs->roots()) {
        if (root.starts_with(path + ":")) host_volumes.push_back({*image_fs, root, host::HostVolume::Kind::search});
      }
    }
    // The disk images a walk found (ScanJob: after the operands' images, in path order).
    if (image_fs) {
      for (const image::ImageLayout& layout : images) {
        if (!layout.source.held) continue;
        for (const std::string& root : image_fs->roots()) {
          if (root.starts_with(layout.path + ":")) {
            host_volumes.push_back({*image_fs, root, host::HostVolume::Kind::search});
          }
        }
      }
    }
  }
  report.hosts = host::build_host_reports(ScanReportFacts(report), host_volumes);
  // --live-report first: joining derives the hosts again, which --live's rows must follow.
  report.live_report = live_report;
  if (live_report) host::join_live_report(report.hosts, live_report, ScanReportFacts(report));
  if (options.live) {
    report.live_processes = host::find_flcss_processes();
    for (host::HostReport& host : report.hosts) host::apply_live_processes(host, *report.live_processes);
  }
}

int run(int argc, char** argv) {
  // Before any thread starts: Ctrl-C, SIGTERM or SIGHUP mid-scan or mid-merge still removes the
  // private links the disk images found in directories are opened through (private_link.h) and a
  // report's named temporary file (report_file.h).
  clean_up_on_termination();
  // `flscan restore DIR`: a plain argv check, so a PATH named "restore" is written ./restore.
  if (argc >= 2 && std::string_view(argv[1]) == "restore")
    return run_restore_command(argc - 1, argv + 1, std::cout, std::cerr);
  // `flscan merge REPORT.json...`: the shard reports of one --shard scan, as one report (merge.h).
  if (argc >= 2 && std::string_view(argv[1]) == "merge")
    return run_merge_command(argc - 1, argv + 1, std::cout, std::cerr);
  const ParseOutcome parsed = parse_options(argc, argv, std::cout, std::cerr);
  if (!parsed.options) return parsed.exit_code;
  const Options& options = *parsed.options;

  g_signatures = new tl::expected<sig::SignatureSet, std::string>(load_signatures(options));
  auto& signatures = *g_signatures;
  if (!signatures) {
    std::cerr << "flscan: cannot load signatures: " << escape_for_terminal(signatures.error()) << '\n';
    return kExitIncomplete;
  }
  if (options.show_version) {
    print_version(*signatures);
    return kExitClean;
  }
  // OpenSSL serves flscan only SHA-256 and MD5, fetched by name from its default provider
  // (engine/hashing.cpp). Its default initialisation also reads the system's openssl.cnf and
  // registers every cipher and digest under its legacy names: about 5 million instructions before
  // the first file is hashed, twice what `flscan --version` costs in all (measured with callgrind).
  // Skipped here, which also keeps the digests independent of a system-wide OpenSSL configuration.
  OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ADD_ALL_CIPHERS | OPENSSL_INIT_NO_ADD_ALL_DIGESTS,
                      nullptr);

  // The keys of encrypted volumes, read once from the files the key options name (volume_keys.h);
  // a key file that cannot be read stops flscan before the scan, as a bad option does.
  if (!options.key_files.empty()) {
    auto keys = image::read_key_files(options.key_files);
    if (!keys) {
      std::cerr << "flscan: " << escape_for_terminal(keys.error()) << '\n';
      return kExitIncomplete;
    }
    image::set_volume_keys(std::move(*keys));
  }

  // --live-report (issue 17): read and checked before the scan, like a key file: a document that
  // is no valid flscan-live report stops flscan now (exit 2), naming the file and the field.
  std::shared_ptr<const host::LiveReport> live_report;
  if (options.live_report) {
    auto read = host::read_live_report(*options.live_report);
    if (!read) {
      std::cerr << "flscan: " << escape_for_terminal(read.error()) << '\n';
      return kExitIncomplete;
    }
    live_report = std::make_shared<const host::LiveReport>(std::move(*read));
  }

  // Created before the scan: a report that cannot be written should fail now, not after hours.
  // Never through a symlink someone planted at the name (report_file.h).
  auto outputs = ReportOutputs::open(options.outputs);
  if (!outputs) {
    std::cerr << "flscan: " << outputs.error() << '\n';
    return kExitIncomplete;
  }

  // The quarantine is opened (created, locked, recovered) before the scan, for the same reason.
  std::optional<Quarantine> quarantine;
  if (options.quarantine_dir) {
    auto opened = Quarantine::open(*options.quarantine_dir);
    if (!opened) {
      std::cerr << "flscan: --quarantine: " << opened.error() << '\n';
      return kExitIncomplete;
    }
    quarantine = std::move(*opened);
  }

  std::optional<tbb::global_control> thread_limit;
  if (options.threads > 0) thread_limit.emplace(tbb::global_control::max_allowed_parallelism, options.threads);

  // The progress line: on a terminal unless -q, or when asked for (progress.h).
  const bool draw_progress = options.progress == Progress::always || (options.progress == Progress::automatic &&
                                                                      !options.quiet && ::isatty(STDERR_FILENO) == 1);
  ProgressMeter progress(draw_progress);
  if (progress.enabled()) progress.estimate_from_paths(options.paths);

  ScanJob job(*signatures, scan_settings(options));
  job.progress = &progress;
  std::vector<image::ImageLayout> images;
  ScanReport report = job.run(images);
  progress.set_phase("host evidence");
  add_host_reports(options, images, live_report, report);
  // Nothing reads an image any more: their handles and private links go before the reports are
  // written (a reader of stdout that went away ends flscan with SIGPIPE, which leaves them).
  images.clear();
  if (quarantine) {
    progress.set_phase("quarantine");
    Remediator(*quarantine, *signatures, options.repair ? RepairMode::on : RepairMode::off).run(report);
  }
  progress.finish();
  const PrintSettings settings =
      print_settings(options, ReportMeta{FLSCAN_VERSION, signatures->sources(), signatures->size()});

  int code = exit_code(report, settings.fail_on);
  const bool written = outputs->write(std::cout, std::cerr, "flscan", report, settings);
  // A lost report is a failure, but evidence of infection still wins (exit code rule, --help).
  if (!written && code == kExitClean) code = kExitIncomplete;
  return code;
}

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "flscan: internal error: " << e.what() << '\n';
    return kExitIncomplete;
  }
}
