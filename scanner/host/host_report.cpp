#include "scanner/host/host_report.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <memory>
#include <system_error>
#include <unordered_set>

#include "engine/q317218.h"
#include "scanner/host/live_rows.h"
#include "scanner/host/remediation_text.h"

namespace flscan::host {
namespace fs = std::filesystem;

const std::vector<std::string_view>& q317218_programs() {
  // Section 8, one list with flscan-live.exe (engine/q317218.h).
  static const std::vector<std::string_view> names(kQ317218Programs.begin(), kQ317218Programs.end());
  return names;
}

namespace {

// Programs checked beyond the 33: the services of the two events and the other STOP 0xC000021A
// process (section 8).
constexpr std::string_view kExtraPrograms[] = {"pstores.exe", "spoolss.exe", "csrss.exe"};

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A step of remediation_text.h as the host report writes it: the backticks of each code span
// dropped, a command line (a span holding an option, " -") in double quotes so its end is clear in
// the sentence; the first letter lower case, since it follows a label ("Q321454 step 1: take ...").
std::string plain_step(std::string_view text) {
  std::string out;
  for (std::size_t at = 0; at < text.size();) {
    const std::size_t open = text.find('`', at);
    out += text.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at);
    if (open == std::string_view::npos) break;
    const std::size_t close = std::min(text.find('`', open + 1), text.size());
    const std::string_view code = text.substr(open + 1, close - open - 1);
    const bool command = code.find(" -") != std::string_view::npos;
    out += command ? "\"" + std::string(code) + "\"" : std::string(code);
    at = close + 1;
  }
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

FileStatus status_of_finding(const Finding& strongest) {
  if (strongest.severity != Severity::infection) return FileStatus::clean;  // remnant, inoculated...
  return strongest.kind == FindingKind::damaged ? FileStatus::damaged : FileStatus::infected;
}

// Where the evidence is looked up: the scan's facts and the volume the installation is on.
// `scanned_root`, when not empty, counts as scanned (ScanFacts::unscanned; see HostVolume).
struct Lookup {
  const ScanFacts& scan;
  const VolumeFs& volume;
  std::string scanned_root;

  [[nodiscard]] bool unscanned(const std::string& path) const { return scan.unscanned(path, scanned_root); }
};

// A file found on the volume: what the file scan said about it.
FileStatus found_file_status(const Lookup& at, const std::string& path) {
  if (const Finding* strongest = at.scan.strongest_finding(path)) return status_of_finding(*strongest);
  if (at.unscanned(path) || !at.volume.is_regular_file(path)) return FileStatus::not_scanned;
  if (at.scan.in_other_shard(path)) return FileStatus::other_shard;
  return FileStatus::clean;
}

// `path` is the file as found in `dir` (empty: not found; `dir_listing` then says whether the
// listing could have missed it).
FileStatus file_status(const Lookup& at, const std::string& dir, const DirectoryListing& dir_listing,
                       const std::string& path) {
  if (!path.empty()) return found_file_status(at, path);
  // Unlistable, or cut at kMaxEntriesListed: not found does not mean absent.
  const bool listing_incomplete = dir_listing.truncated() || !dir_listing.error().empty();
  return at.unscanned(dir) || listing_incomplete ? FileStatus::not_scanned : FileStatus::missing;
}

ProgramCheck check_program(const Lookup& at, const WindowsInstall& install, const DirectoryListing& system32,
                           std::string_view name, bool listed) {
  ProgramCheck check{std::string(name), listed, {}, FileStatus::missing};
  if (install.system32.empty()) {
    check.status = at.unscanned(install.windows_dir) ? FileStatus::not_scanned : FileStatus::missing;
    return check;
  }
  check.path = system32.find(name).value_or("");
  check.status = file_status(at, install.system32, system32, check.path);
  return check;
}

KernelCheck check_kernel(const Lookup& at, const std::string& dir, const DirectoryListing& listing,
                         std::string_view name) {
  KernelCheck check{std::string(name), {}, "missing", {}};
  if (dir.empty()) return check;
  check.path = listing.find(name).value_or("");
  const FileStatus status = file_status(at, dir, listing, check.path);
  check.status = std::string(to_code(status));
  const Finding* strongest = check.path.empty() ? nullptr : at.scan.strongest_finding(check.path);
  if (strongest == nullptr) return check;
  check.evidence = strongest->evidence;
  if (strongest->kind == FindingKind::kernel_patched || strongest->kind == FindingKind::loader_patched) {
    check.status = "patched";
  } else if (strongest->kind == FindingKind::kernel_modified) {
    check.status = "modified";
  } else if (status == FileStatus::damaged) {
    check.status = "infected";
  }
  return check;
}

// An ImagePath as a file below the installation: "%SystemRoot%\x", "\SystemRoot\x" and
// "system32\x" are relative to the Windows directory, "C:\x" and "\??\C:\x" to the volume
// root; quotes and arguments after ".exe" are dropped. Each component is found case-insensitively.
std::string resolve_image_path(const VolumeFs& volume, const WindowsInstall& install, std::string image_path) {
  std::replace(image_path.begin(), image_path.end(), '/', '\\');
  std::erase(image_path, '"');
  if (const auto exe = lower(image_path).find(".exe"); exe != std::string::npos) image_path.resize(exe + 4);
  while (!image_path.empty() && image_path.front() == ' ') image_path.erase(0, 1);
  std::string base = install.windows_dir;
  const std::string low = lower(image_path);
  for (std::string_view prefix : {"%systemroot%\\", "\\systemroot\\"}) {
    if (low.starts_with(prefix)) image_path.erase(0, prefix.size());
  }
  if (lower(image_path).starts_with("\\??\\")) image_path.erase(0, 4);
  if (image_path.size() >= 3 && image_path[1] == ':' && image_path[2] == '\\') {
    image_path.erase(0, 3);
    base = install.volume_root;
  }
  std::string at = base;
  std::size_t start = 0;
  while (start <= image_path.size()) {
    const std::size_t end = std::min(image_path.find('\\', start), image_path.size());
    const std::string part = image_path.substr(start, end - start);
    start = end + 1;
    if (part.empty()) continue;
    const auto child = find_child_icase(volume, at, part);
    if (!child) return {};
    at = *child;
  }
  return at == base ? std::string() : at;
}

ServiceImageCheck check_service_image(const Lookup& at, const WindowsInstall& install, const KnownService& service) {
  ServiceImageCheck check{service.key_name, service.present, service.image_path, {}, FileStatus::missing};
  if (!service.image_path) return check;
  check.file = resolve_image_path(at.volume, install, *service.image_path);
  if (check.file.empty()) return check;
  check.status = found_file_status(at, check.file);
  return check;
}

std::string describe(const ServiceImageCheck& check) {
  if (!check.present) return check.service + " service: not in the current control set";
  if (!check.image_path) return check.service + " service: no ImagePath";
  return check.service + " ImagePath " + *check.image_path + ": " +
         (check.file.empty() ? std::string("file not found") : check.file + " " + std::string(to_code(check.status)));
}

std::string describe(const ProgramCheck& check) {
  return check.name + " " + std::string(to_code(check.status)) + (check.path.empty() ? "" : " (" + check.path + ")");
}

std::string describe(const EventEvidence& evidence) {
  std::string text = std::to_string(evidence.count) + " record(s), first written " + evidence.first_written_utc +
                     ", last " + evidence.last_written_utc + ", record numbers";
  for (std::size_t i = 0; i < evidence.record_numbers.size() && i < 10; ++i) {
    text += " " + std::to_string(evidence.record_numbers[i]);
  }
  if (evidence.record_numbers.size() > 10) text += " ...";
  return text;
}

bool hit(FileStatus status) { return status == FileStatus::infected || status == FileStatus::damaged; }

const ProgramCheck* program(const HostReport& host, std::string_view name) {
  for (const ProgramCheck& check : host.programs) {
    if (check.name == name) return &check;
  }
  return nullptr;
}

const ServiceImageCheck* service_image(const HostReport& host, std::string_view name) {
  for (const ServiceImageCheck& check : host.service_images) {
    if (check.service == name) return &check;
  }
  return nullptr;
}

SymptomRow row(std::string id, std::string symptom, std::string meaning) {
  return SymptomRow{std::move(id), std::move(symptom), std::move(meaning), SymptomStatus::not_found, {}};
}

// An event row (7024 or 7000) from the log, with the files that explain it as more evidence.
SymptomRow event_row(const HostReport& host, const std::optional<std::string>& log_error, SymptomRow out,
                     const EventEvidence* evidence) {
  if (log_error) {
    out.status = SymptomStatus::error;
    out.evidence.push_back("SysEvent.Evt could not be read: " + *log_error);
  } else if (!host.events) {
    out.evidence.push_back("no system32/config/SysEvent.Evt in this installation: the System log was not checked");
  } else {
    out.status = evidence->found() ? SymptomStatus::found : SymptomStatus::not_found;
    out.evidence.push_back(evidence->found() ? "SysEvent.Evt: " + describe(*evidence)
                                             : "SysEvent.Evt: no such record in " +
                                                   std::to_string(host.events->records_read) + " records read");
    if (host.events->partial) out.evidence.push_back("the log was read only in part (see its notes)");
  }
  return out;
}

SymptomRow sp_copy_row(const HostReport& host);
SymptomRow flcss_service_row(const HostReport& host, const std::optional<std::string>& hive_error);
SymptomRow flcss_process_row(const HostReport& host);
SymptomRow stop_row(const HostReport& host);

// The seven rows, in Q317218's order (section 8).
void build_symptoms(HostReport& host, const std::optional<std::string>& hive_error,
                    const std::optional<std::string>& log_error, bool funlove) {
  // Section 8, row 1: a live symptom.
  SymptomRow slowness = row("slowness", "Windows runs slowly.", "the infection thread rescans all drives every 60 s");
  slowness.status = SymptomStatus::not_checkable_offline;
  slowness.evidence.push_back(funlove ? "offline scan: FunLove evidence was found, which would explain it"
                                      : "offline scan: only a running system shows it (flscan --live)");
  host.symptoms.push_back(std::move(slowness));

  SymptomRow e7024 = event_row(
      host, log_error,
      row("event-7024",
          "Event ID 7024, Service Control Manager: The Protected Storage Service Terminated with Service-Specific "
          "Error 2148270091.",
          "0x800C000B = PST_E_DISK_IMAGE_MISMATCH: Protected Storage found its image changed (Q317218, FunLove) "
          "or its registry data corrupted (Q321454)"),
      host.events ? &host.events->protected_storage_7024 : nullptr);
  if (const ProgramCheck* pstores = program(host, "pstores.exe")) e7024.evidence.push_back(describe(*pstores));
  if (const ServiceImageCheck* image = service_image(host, "ProtectedStorage"))
    e7024.evidence.push_back(describe(*image));
  host.symptoms.push_back(std::move(e7024));

  SymptomRow e7000 = event_row(
      host, log_error,
      row("event-7000",
          "Event ID 7000, Service Control Manager: Spooler service failed to start due to the following error: The "
          "system cannot find the file specified.",
          "Win32 error 2 (file not found) starting the Spooler"),
      host.events ? &host.events->spooler_7000 : nullptr);
  if (const ServiceImageCheck* image = service_image(host, "Spooler")) e7000.evidence.push_back(describe(*image));
  host.symptoms.push_back(std::move(e7000));
  host.symptoms.push_back(sp_copy_row(host));
  host.symptoms.push_back(flcss_service_row(host, hive_error));
  host.symptoms.push_back(flcss_process_row(host));
  host.symptoms.push_back(stop_row(host));
}

// Section 8: "SP reinstall cannot copy Calc.exe and 32 more programs".
SymptomRow sp_copy_row(const HostReport& host) {
  SymptomRow copy = row("sp-copy-errors",
                        "When you try to reinstall the Windows NT service pack: An error has occurred copying "
                        "Calc.exe (and 32 more programs).",
                        "the 33 programs are FunLove's target class (GUI .exe); infected copies fail to be replaced");
  std::size_t unscanned = 0;
  std::size_t other_shards = 0;
  for (const ProgramCheck& check : host.programs) {
    if (!check.q317218_list) continue;
    if (hit(check.status)) copy.evidence.push_back(describe(check));
    if (check.status == FileStatus::not_scanned) ++unscanned;
    if (check.status == FileStatus::other_shard) ++other_shards;
  }
  copy.status = copy.evidence.empty() ? SymptomStatus::not_found : SymptomStatus::found;
  if (copy.evidence.empty()) copy.evidence.push_back("none of the 33 programs in system32 is infected or damaged");
  if (unscanned > 0) copy.evidence.push_back(std::to_string(unscanned) + " of them could not be scanned");
  if (other_shards > 0)
    copy.evidence.push_back(std::to_string(other_shards) + " of them are in other shards (--shard)");
  return copy;
}

// The FLC service in the hive (section 6); an error when the hive could not be read whole.
SymptomRow flcss_service_row(const HostReport& host, const std::optional<std::string>& hive_error) {
  SymptomRow service = row(
      "flcss-service", "The FLCSS service is listed in the Services dialog box; stopping it gives \"Access Denied\".",
      "FunLove's service FLC (ImagePath ...\\flcss.exe), infection-model section 6");
  if (hive_error) {
    service.status = SymptomStatus::error;
    service.evidence.push_back("SYSTEM hive could not be read: " + *hive_error);
  } else if (host.hive) {
    for (const FlcService* flc : host.hive->flc_services()) {
      service.evidence.push_back(flc->control_set + "\\Services\\" + flc->key_name +
                                 (flc->in_current_control_set ? " (current control set)" : "") + ": ImagePath " +
                                 flc->values.image_path.value_or("(none)") + ", matched by " +
                                 (flc->match.by_name ? "name" : "ImagePath"));
    }
    // Issue 12: not-found only when the whole hive was read; a partial read rules nothing out.
    service.status = !service.evidence.empty() ? SymptomStatus::found
                     : host.hive->partial      ? SymptomStatus::error
                                               : SymptomStatus::not_found;
    if (service.evidence.empty()) {
      service.evidence.push_back("no FLC, FLCSS or flcss.exe service in " +
                                 std::to_string(host.hive->control_sets.size()) + " control set(s) read");
    }
    if (host.hive->partial) service.evidence.push_back("the hive was read only in part (see its notes)");
  }
  return service;
}

// A live symptom: offline, flcss.exe on disk and the droppers are what can be said (apply_live_processes
// adds the running processes).
SymptomRow flcss_process_row(const HostReport& host) {
  SymptomRow process = row("flcss-process", "The process Flcss.exe is running; when you end it, it restarts.",
                           "the dropper FLCSS.EXE runs as a service process, infection-model section 6");
  process.status = SymptomStatus::not_checkable_offline;
  if (!host.flcss.path.empty()) process.evidence.push_back("on disk: " + describe(host.flcss));
  for (const std::string& dropper : host.droppers) process.evidence.push_back("dropper found: " + dropper);
  if (process.evidence.empty()) process.evidence.push_back("offline scan; no flcss.exe on disk, no dropper found");
  process.evidence.push_back("running processes not checked: needs --live on the running system");
  return process;
}

// STOP 0xC000021A: Winlogon or CSRSS hit or missing, or the kernel/loader patch (sections 7, 8).
SymptomRow stop_row(const HostReport& host) {
  SymptomRow stop = row("stop-c000021a", "STOP: 0xC000021A when you restart Windows NT 4.0.",
                        "STATUS_SYSTEM_PROCESS_TERMINATED: Winlogon or CSRSS died (infected, damaged or missing), "
                        "or the kernel/loader patch (section 7)");
  for (std::string_view name : {"winlogon.exe", "csrss.exe"}) {
    const ProgramCheck* check = program(host, name);
    if (check && (hit(check->status) || check->status == FileStatus::missing))
      stop.evidence.push_back(describe(*check));
  }
  for (const KernelCheck& kernel : host.kernel) {
    if (kernel.status == "patched") stop.evidence.push_back(kernel.name + " patched (" + kernel.path + ")");
  }
  stop.status = stop.evidence.empty() ? SymptomStatus::not_found : SymptomStatus::found;
  for (const KernelCheck& kernel : host.kernel) {
    // Issue 12: a mismatch FunLove's patch does not explain is shown, but is not this symptom's cause.
    if (kernel.status == "modified") {
      stop.evidence.push_back(kernel.name + " modified, not by FunLove's patch alone (" + kernel.path + ")");
    }
  }
  if (stop.status == SymptomStatus::not_found) {
    stop.evidence.insert(stop.evidence.begin(),
                         "winlogon.exe and csrss.exe present and not infected; kernel and NTLDR not patched");
  }
  return stop;
}

const SymptomRow& symptom(const HostReport& host, std::string_view id) {
  return *std::find_if(host.symptoms.begin(), host.symptoms.end(), [&](const SymptomRow& r) { return r.id == id; });
}

// True when `path` lies on the volume at `root`: with several PATHs in one scan, evidence found
// on another volume must not decide this installation's verdict.
bool on_volume(const std::string& root, const std::string& path) {
  const std::string r = fs::path(root).lexically_normal().string();
  const std::string p = fs::path(path).lexically_normal().string();
  if (r.empty() || r == ".") return true;
  return p == r || (p.size() > r.size() && p.compare(0, r.size(), r) == 0 && (r.back() == '/' || p[r.size()] == '/'));
}

// The Q317218 remediation for what was found on this installation (sections 6, 7 and 9).
std::vector<std::string> q317218_steps(const HostReport& host, bool pstore_event) {
  std::vector<std::string> steps;
  // Section 9: the live virus reinfects cleaned files.
  steps.push_back(
      "Clean offline, from rescue media, as now: a running W32.FunLove.4099 reinfects every file "
      "cleaned while it runs. Do not boot this installation until it is clean.");
  std::vector<std::string> hit_programs;
  for (const ProgramCheck& check : host.programs) {
    if (hit(check.status)) hit_programs.push_back(check.name);
  }
  bool system_processes_hit = false;
  for (std::string_view name : {"winlogon.exe", "csrss.exe"}) {
    const ProgramCheck* check = program(host, name);
    system_processes_hit |= check && (hit(check->status) || check->status == FileStatus::missing);
  }
  bool kernel_hit = false;
  for (const KernelCheck& kernel : host.kernel) kernel_hit |= kernel.status == "patched";
  if (kernel_hit) {
    steps.push_back(
        "Replace ntoskrnl.exe (and ntkrnlmp.exe) and NTLDR from clean media (Service Pack or "
        "backup): the patch makes SeAccessCheck grant every access, so until then no data on the "
        "machine is protected from any user (Q287664, infection-model section 7).");
  }
  if (!host.flcss.path.empty() || !host.droppers.empty() || host.flc_service_found()) {
    std::string what = "Delete the dropper";
    if (!host.flcss.path.empty()) what += " " + host.flcss.path;
    for (const std::string& dropper : host.droppers) {
      if (path_key(dropper) != path_key(host.flcss.path)) what += " " + dropper;
    }
    if (host.flc_service_found()) {
      what += " and the service key(s)";
      for (const FlcService* flc : host.hive->flc_services())
        what += " " + flc->control_set + "\\Services\\" + flc->key_name;
      what += " from the SYSTEM hive (offline, e.g. with hivexregedit)";
    }
    steps.push_back(what + " (infection-model section 6).");
  }
  if (!hit_programs.empty()) {
    std::string list;
    for (const std::string& name : hit_programs) list += (list.empty() ? "" : ", ") + name;
    steps.push_back("Replace the infected system programs from clean media of the same Service Pack (" + list +
                    "): disinfection cannot restore them exactly (section 9).");
  }
  steps.push_back("Disinfect or replace every other infected file in the findings, then scan again until clean.");
  if (system_processes_hit || kernel_hit) {
    steps.push_back(
        "Winlogon/CSRSS or the kernel are hit: prefer a parallel installation (Q259003, Q244378) or a "
        "reinstall over repairing this installation in place.");
  }
  if (pstore_event) {
    steps.push_back(
        "If Protected Storage still fails with event 7024 (2148270091) once the system is clean, "
        "follow Q321454 (reinstall Protected Storage).");
  }
  return steps;
}

void build_verdict(HostReport& host, const ScanFacts& scan, bool infection_on_volume) {
  const bool funlove = infection_on_volume || host.flc_service_found();
  const bool pstore_event = symptom(host, "event-7024").status == SymptomStatus::found;
  const bool incomplete = !scan.complete() || !host.errors.empty() || live_incomplete(host);
  auto& steps = host.remediation;
  if (const std::optional<ShardPart> shard = scan.shard(); !funlove && shard) {
    // One shard read only its own files: FunLove is not ruled out until all are merged.
    host.verdict = Verdict::incomplete;
    host.verdict_text =
        "Incomplete: this report covers shard " + shard->name + " of the files only, and they hold no FunLove evidence";
    if (pstore_event) host.verdict_text += " (event 7024 found: Q321454 or Q317218, decided by the merged report)";
    steps.push_back("Merge the JSON reports of all " + std::to_string(shard->n) +
                    " shards (flscan merge) for this installation's verdict.");
    return;
  }
  if (funlove) {
    host.verdict = Verdict::q317218;
    host.verdict_text = "Q317218 applies: W32.FunLove.4099 infection";
    for (std::string& step : q317218_steps(host, pstore_event)) steps.push_back(std::move(step));
  } else if (pstore_event && !live_shows_funlove(host)) {
    // Issue 17: Q321454 is the event without FunLove; a running machine that showed FunLove is
    // not that (the verdict is then incomplete: the live report's incomplete_reason).
    host.verdict = Verdict::q321454;
    host.verdict_text = "Q321454 applies: Protected Storage data corrupted, no FunLove evidence";
    if (incomplete) host.verdict_text += " (but the scan was incomplete: FunLove is not ruled out)";
    for (std::size_t i = 0; i < kQ321454Steps.size(); ++i) {
      steps.push_back("Q321454 step " + std::to_string(i + 1) + ": " + plain_step(kQ321454Steps[i]));
    }
    if (incomplete) steps.push_back("Scan what could not be scanned (see NOT SCANNED and errors) to rule FunLove out.");
  } else if (incomplete) {
    host.verdict = Verdict::incomplete;
    host.verdict_text = "Incomplete: no FunLove evidence in what was read, but the scan or a host read was incomplete";
    steps.push_back(
        "Resolve the NOT SCANNED entries and host read errors, then scan again: nothing can be ruled "
        "out until then.");
    if (live_incomplete(host)) steps.push_back("Live report: " + host.live->incomplete_reason + ".");
  } else {
    host.verdict = Verdict::no_evidence;
    host.verdict_text = "No evidence: neither Q317218 (FunLove) nor Q321454 applies to this installation";
    steps.push_back(std::string(kNoEvidenceStep));
  }
}

// Notes on the evidence that change no verdict (issue 12): the hive and the log as stored are
// what was read, and a file that was not closed cleanly may lack its latest changes. The verdict
// stands on what was read; FunLove evidence in it is evidence still.
void build_notes(HostReport& host) {
  host.notes.clear();
  if (host.hive && host.hive->sequence.dirty()) {
    host.notes.push_back(
        "SYSTEM hive " + host.install.system_hive + " was not closed cleanly (base block sequence numbers " +
        std::to_string(host.hive->sequence.primary) + " and " + std::to_string(host.hive->sequence.secondary) +
        " differ): its latest changes may sit in SYSTEM.LOG, SYSTEM.LOG1 or SYSTEM.LOG2, which "
        "flscan does not apply; the report is of the hive as stored");
  }
  if (host.events && host.events->header.dirty) {
    host.notes.push_back("SysEvent.Evt " + host.event_log_path +
                         " is marked dirty (not closed cleanly): records outside its header's range were read as "
                         "recovered");
  }
}

}  // namespace

namespace {

// A listing the lookups rely on that is cut or failed: recorded, since a file not found in it
// may still be there (its lookups say not-scanned rather than missing).
void note_listing(HostReport& host, const std::string& dir, const DirectoryListing& listing) {
  if (dir.empty()) return;
  if (listing.truncated()) {
    host.errors.push_back("directory " + dir + ": more than " + std::to_string(kMaxEntriesListed) +
                          " entries; only the first " + std::to_string(kMaxEntriesListed) + " were searched");
  }
  if (!listing.error().empty()) host.errors.push_back("directory " + dir + ": " + listing.error());
}

DirectoryListing list_if_any(const VolumeFs& volume, const std::string& dir) {
  return dir.empty() ? DirectoryListing() : DirectoryListing(volume, dir);
}

// build_host_report with `scanned_root` counted as scanned (see HostVolume for what is).
HostReport build_report(const VolumeFs& volume, const WindowsInstall& install, const ScanFacts& scan,
                        const std::string& scanned_root) {
  const Lookup at{scan, volume, scanned_root};
  HostReport host;
  host.install = install;

  std::optional<std::string> hive_error;
  if (!install.unfollowed_link.empty()) {
    hive_error = install.unfollowed_link + " is " + std::string(kSymlinkNotFollowed);
  } else if (install.system_hive.empty()) {
    hive_error = "no system32/config/SYSTEM under " + install.windows_dir;
  } else if (auto hive = read_system_hive(volume, install.system_hive)) {
    host.hive = std::move(*hive);
  } else {
    hive_error = hive.error().reason;
  }
  if (hive_error) {
    host.errors.push_back(install.system_hive.empty() ? "SYSTEM hive: " + *hive_error
                                                      : "SYSTEM hive " + install.system_hive + ": " + *hive_error);
  } else if (host.hive->partial) {
    // Issue 12: a service in the part not read may be FLC; the installation stays incomplete
    // unless FunLove evidence is found (build_verdict).
    host.errors.push_back("SYSTEM hive " + install.system_hive +
                          ": read only in part (see the hive's notes): a FunLove service in the part not read "
                          "cannot be ruled out");
  }

  std::optional<std::string> log_error;
  if (!install.config_dir.empty()) {
    host.event_log_path = find_child_icase(volume, install.config_dir, "SysEvent.Evt").value_or("");
  }
  if (!host.event_log_path.empty()) {
    if (auto log = read_event_log(volume, host.event_log_path)) {
      host.events = std::move(*log);
    } else {
      log_error = log.error().reason;
      host.errors.push_back("SysEvent.Evt " + host.event_log_path + ": " + *log_error);
    }
  }

  const DirectoryListing system32 = list_if_any(volume, install.system32);  // listed once for all its lookups
  const DirectoryListing volume_root = list_if_any(volume, install.volume_root);
  note_listing(host, install.system32, system32);
  note_listing(host, install.volume_root, volume_root);
  for (std::string_view name : q317218_programs())
    host.programs.push_back(check_program(at, install, system32, name, true));
  for (std::string_view name : kExtraPrograms)
    host.programs.push_back(check_program(at, install, system32, name, false));
  host.flcss = check_program(at, install, system32, "flcss.exe", false);
  host.kernel.push_back(check_kernel(at, install.system32, system32, "ntoskrnl.exe"));
  host.kernel.push_back(check_kernel(at, install.system32, system32, "ntkrnlmp.exe"));
  host.kernel.push_back(check_kernel(at, install.volume_root, volume_root, "NTLDR"));
  if (host.hive) {
    if (const ControlSet* current = host.hive->current()) {
      host.service_images.push_back(check_service_image(at, install, current->spooler));
      host.service_images.push_back(check_service_image(at, install, current->protected_storage));
    }
  }

  host.hive_error = hive_error;
  host.log_error = log_error;
  derive_host_report(host, scan);
  return host;
}

}  // namespace

void derive_host_report(HostReport& host, const ScanFacts& scan) {
  host.droppers.clear();
  host.symptoms.clear();
  host.remediation.clear();
  host.verdict = Verdict::no_evidence;
  host.verdict_text.clear();
  bool infection_on_volume = false;
  std::vector<const InfectedFile*> volume_files;
  for (const InfectedFile& file : scan.infected_files()) {
    if (!on_volume(host.install.volume_root, file.path)) continue;
    infection_on_volume = true;
    volume_files.push_back(&file);
    if (file.state == FindingKind::dropper) host.droppers.push_back(file.path);
  }
  host.timeline = build_timeline(volume_files, host.hive ? &*host.hive : nullptr, host.install.system_hive,
                                 host.events ? &*host.events : nullptr, host.event_log_path);
  build_symptoms(host, host.hive_error, host.log_error, infection_on_volume || host.flc_service_found());
  apply_live_rows(host, infection_on_volume || host.flc_service_found());
  build_verdict(host, scan, infection_on_volume);
  add_live_remediation(host);
  build_notes(host);
  add_live_notes(host);
}

HostReport build_host_report(const VolumeFs& volume, const WindowsInstall& install, const ScanFacts& scan) {
  return build_report(volume, install, scan, {});
}

std::vector<HostReport> build_host_reports(const ScanFacts& scan, const std::vector<HostVolume>& volumes) {
  struct Found {
    const HostVolume* volume;
    WindowsInstall install;
  };
  std::vector<Found> found;
  std::unordered_set<std::string> seen;
  // Directories of this machine are read below their root without following symbolic links
  // (issue 13): each gets a LocalFs rooted at it, alive until the reports are built.
  std::vector<std::unique_ptr<LocalFs>> rooted_fs;
  std::vector<std::unique_ptr<HostVolume>> rooted;
  for (const HostVolume& given : volumes) {
    const HostVolume* volume = &given;
    if (dynamic_cast<const LocalFs*>(&given.fs) != nullptr) {
      rooted_fs.push_back(std::make_unique<LocalFs>(given.root));
      rooted.push_back(std::make_unique<HostVolume>(HostVolume{*rooted_fs.back(), given.root, given.kind}));
      volume = rooted.back().get();
    }
    std::vector<WindowsInstall> installs;
    if (volume->kind == HostVolume::Kind::windows_dir) {
      std::string parent = fs::path(volume->root).lexically_normal().parent_path().string();
      installs.push_back(describe_install(volume->fs, volume->root, parent.empty() ? "." : parent));
    } else {
      installs = find_windows_installs(volume->fs, volume->root);
    }
    for (WindowsInstall& install : installs) {
      if (seen.insert(path_key(install.windows_dir)).second) found.push_back({volume, std::move(install)});
    }
  }
  std::vector<HostReport> reports;
  for (const Found& each : found) {
    // A searched root is scanned (a PATH, or a volume of a scanned image); the parent of a
    // --windows-root directory is scanned only if the scan's roots cover it.
    const bool root_scanned = each.volume->kind == HostVolume::Kind::search;
    reports.push_back(build_report(each.volume->fs, each.install, scan, root_scanned ? each.volume->root : ""));
  }
  return reports;
}

std::vector<HostReport> build_host_reports(const ScanFacts& scan, const std::vector<std::string>& paths,
                                           const std::optional<std::string>& windows_root) {
  std::vector<HostVolume> volumes;
  if (windows_root) {
    volumes.push_back({local_fs(), *windows_root, HostVolume::Kind::windows_dir});
  } else {
    for (const std::string& path : paths) volumes.push_back({local_fs(), path, HostVolume::Kind::search});
  }
  return build_host_reports(scan, volumes);
}

void apply_live_processes(HostReport& host, const std::vector<LiveProcess>& processes) {
  for (SymptomRow& row : host.symptoms) {
    if (row.id == "flcss-process") {
      // The offline notes (flcss.exe on disk, droppers) stay; only the "not checked" line goes.
      std::erase_if(row.evidence,
                    [](const std::string& line) { return line.starts_with("running processes not checked"); });
      // Issue 17: a row the live report found stays found, one it could not check stays an error.
      if (!processes.empty()) {
        row.status = SymptomStatus::found;
      } else if (row.status != SymptomStatus::found && row.status != SymptomStatus::error) {
        row.status = SymptomStatus::not_found;
      }
      if (processes.empty()) row.evidence.push_back("--live: no running process named flcss.exe");
      for (const LiveProcess& process : processes) row.evidence.push_back("--live: " + describe(process));
    } else if (row.id == "slowness" && !processes.empty()) {
      // Section 8: the running dropper's infection thread rescans all drives every 60 s.
      std::erase_if(row.evidence, [](const std::string& line) { return line.starts_with("offline scan: only"); });
      row.status = SymptomStatus::found;
      row.evidence.push_back("--live: flcss.exe is running (" + std::to_string(processes.size()) + " process(es))");
    }
  }
  if (!processes.empty()) {
    // Section 9: the running virus reinfects whatever is cleaned while it runs.
    host.remediation.insert(host.remediation.begin(),
                            "A process named flcss.exe runs on this machine (--live): shut it down and clean "
                            "offline, from rescue media; files cleaned while it runs are reinfected.");
  }
}

}  // namespace flscan::host
