#include "scanner/report/report_sarif.h"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <system_error>
#include <vector>

#include "engine/hashing.h"
#include "scanner/host/remediation_text.h"
#include "scanner/report/report_json.h"
#include "scanner/report/report_text.h"
#include "scanner/report/report_timeline.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// One reportingDescriptor. Texts in `backticks` are code in the markdown help and plain in the
// text help. Sources: infection-model.md (sections cited), KB Q317218, Q321454, Q287664.
struct RuleSpec {
  std::string_view id;
  std::string_view name;
  std::string_view level;              // defaultConfiguration.level
  std::string_view security_severity;  // GitHub code scanning's 0.0-10.0 score; empty: none
  std::string_view short_description;
  std::string_view full_description;
  std::string_view meaning;
  std::vector<std::string_view> steps;
};

// File states first, in FindingKind order (sarif_rule_id indexes this table), then the host
// verdicts and symptoms, then what could not be read. Ids are a stable interface (SARIF.md).
// Long because it is data: one row of prose per rule, no logic (kept as one table so a rule's
// id, level and text are read together).
const std::vector<RuleSpec>& rules() {
  static const std::vector<RuleSpec> table = {
      {"FL001",
       "FunLoveInfected",
       "error",
       "9.0",
       "File infected with W32.FunLove.4099",
       "The 8-byte entry-point stub `90 90 65 E8 rel32` calls B+0x200 and the virus body (embedded MZ header, "
       "`~Fun Loving Criminal~` at B+0x50, code at B+0x200) is intact at B = end of file - 4099 "
       "(infection-model sections 2-5).",
       "The file carries a complete copy of the virus: running it runs W32.FunLove.4099, which infects more GUI "
       "programs (.exe, .scr, .ocx) on every fixed drive and writable network share and, on Windows NT, installs the "
       "FLC service and patches the kernel and NTLDR.",
       {"Clean offline, from rescue media: a running FunLove reinfects every file cleaned while it runs "
        "(infection-model section 9).",
        "Replace system files from clean media of the same Service Pack; restore other files from a backup made "
        "before the infection.",
        "Where no clean copy exists, disinfect: write the 8 bytes saved at B+0xBA7 back at the entry point, subtract "
        "0x1000 from the last section's SizeOfRawData and truncate the file at B. Section flags, sizes and padding "
        "cannot be restored exactly.",
        "Scan again until no error-level result is left."}},
      {"FL002",
       "FunLoveDamaged",
       "error",
       "9.0",
       "File infected with W32.FunLove.4099, body damaged",
       "The entry-point stub and the infection geometry are present but the 4099-byte body at B is truncated or "
       "partly missing: still infected, not clean (infection-model section 5).",
       "The entry point still jumps into an incomplete virus body: the program is likely to crash, and the 8 "
       "original entry-point bytes saved at B+0xBA7 may be lost, so the file may not be repairable.",
       {"Replace the file from clean media or a backup.",
        "Clean the rest of the system offline as for FL001: a damaged copy comes from an infection elsewhere."}},
      {"FL003",
       "FunLoveDropper",
       "error",
       "9.0",
       "W32.FunLove.4099 dropper (FLCSS.EXE)",
       "The file is FLCSS.EXE, the FunLove dropper, recognised by its header fingerprint (e_lfanew 0x80, one `.code` "
       "section, SizeOfImage 0x5000) and its body, whatever its name (infection-model section 6).",
       "FunLove writes FLCSS.EXE to the system directory and runs it, on Windows NT as the service FLC, from which "
       "it infects files on all drives every 60 seconds; on Windows 9x as a hidden process.",
       {"Offline, delete the file and every copy of it.",
        "Delete the `FLC` / `FLCSS` service keys (and any service whose ImagePath ends in `flcss.exe`) in every "
        "`ControlSetNNN` of the SYSTEM hive, e.g. with hivexregedit.",
        "Clean every infected file (FL001, FL002), then scan again."}},
      {"FL004",
       "FunLoveKernelPatched",
       "error",
       "9.0",
       "NT kernel patched by W32.FunLove.4099 (SeAccessCheck)",
       "ntoskrnl.exe or ntkrnlmp.exe carries the FunLove patch of SeAccessCheck (NT4 `8A C3` -> `B0 01`, Windows 2000 "
       "`8A 45 14` -> `B0 01 90`), usually with a stale PE checksum (infection-model section 7).",
       "SeAccessCheck grants every access: until the kernel is replaced, no data on the machine is protected from any "
       "user (Microsoft KB Q287664).",
       {"Replace ntoskrnl.exe and ntkrnlmp.exe from clean media of the same version and Service Pack (or a backup), "
        "together with NTLDR.",
        "Prefer a parallel installation (Q259003, Q244378) or a reinstall over repairing in place."}},
      {"FL005",
       "FunLoveLoaderPatched",
       "error",
       "9.0",
       "NTLDR patched by W32.FunLove.4099",
       "NTLDR carries the FunLove patch that skips the kernel checksum check (`3B 46 58 74 07` -> `3B 46 58 EB 07` on "
       "NT4, `3B 47 58 74 07` -> `3B 47 58 EB 07` on Windows 2000; infection-model section 7).",
       "The loader no longer refuses a kernel whose checksum is wrong, so the patched kernel (FL004) boots.",
       {"Replace NTLDR from clean media of the same Windows version, together with ntoskrnl.exe and ntkrnlmp.exe."}},
      {"FL006",
       "SignatureMatch",
       "error",
       "9.0",
       "Signature match",
       "A `.ndb`, `.hdb` or `.hsb` signature matched: a built-in FunLove signature or one loaded with `-d`.",
       "A built-in FunLove signature is infection evidence (level error) only when the structural detector agrees "
       "on the same file; alone (e.g. an anchored body pattern in a repaired file) it is suspicious (level warning). "
       "Signatures loaded with `-d` are taken at their word (error). The message names the signature, its database "
       "line and the offset.",
       {"Read the other results on the same file: the structural finding (FL001-FL010) says what the file is.",
        "A warning alone: look at the file; it may be a remnant, a sample or a false positive of the signature.",
        "A match of a `-d` signature: act as the source of that signature says."}},
      {"FL007",
       "KernelChecksumMismatch",
       "warning",
       "5.0",
       "NT kernel with a wrong PE checksum",
       "ntoskrnl.exe or ntkrnlmp.exe whose recomputed PE checksum differs from OptionalHeader.CheckSum, without the "
       "FunLove patch bytes (infection-model section 7).",
       "FunLove never fixes the checksum of the kernel it patches, but a kernel changed otherwise (another patch, "
       "corruption) shows the same mismatch: suspicious, not proof.",
       {"Compare the file with a clean copy of the same version and Service Pack.",
        "If it differs, replace it from clean media; with other FunLove evidence on the machine, treat it as FL004."}},
      {"FL008",
       "FunLoveRemnant",
       "note",
       "1.0",
       "Remnant of W32.FunLove.4099 (repaired file)",
       "An old Norton repair: the 4099 virus bytes zeroed and the entry point restored, with the infection geometry "
       "left; or a virus body the entry point no longer calls (infection-model section 5).",
       "Not infected: no virus code runs. The file is a repaired copy, not the original.",
       {"Nothing is required.", "To get the original bytes back, replace the file from clean media."}},
      {"FL009",
       "FunLoveInoculated",
       "note",
       "1.0",
       "File inoculated against W32.FunLove.4099",
       "A clean PE padded with zeros to a size % 256 == 3, the FunLove \"already infected\" marker, as later Norton "
       "repairs do on purpose (infection-model sections 1 and 5).",
       "Never an infection on its own: FunLove skips such files. Reported only with the zero padding, since about 1 "
       "file in 256 has such a size by chance.",
       {"Nothing to do."}},
      {"FL010",
       "FunLoveDecoy",
       "note",
       "1.0",
       "W32.FunLove.4099 lookalike, not an infection",
       "The string `~Fun Loving Criminal~` alone, or a `90 90 65 E8` entry-point stub whose call lands elsewhere than "
       "a virus body (infection-model section 5).",
       "Not infected: a low-confidence note, e.g. for text quoting the virus or a program that happens to start alike.",
       {"Nothing to do; look at the file if it is unexpected there."}},

      {"FL100",
       "Q317218",
       "error",
       "9.0",
       "Q317218 applies: W32.FunLove.4099 on this Windows installation",
       "FunLove evidence on the installation's volume: a file with an infection-level result (FL001-FL006) or an FLC "
       "service in the SYSTEM hive. The symptoms Microsoft KB Q317218 lists (events 7024 and 7000, Service Pack copy "
       "errors for Calc.exe and 32 more programs, the FLCSS service and process, STOP 0xC000021A) are the virus's.",
       "The installation is infected. Each symptom found is a result of FL110-FL116 on the same installation; the "
       "message gives the steps for what was found and the related locations name the files.",
       {"Do not boot the installation; clean it offline, from rescue media: a running FunLove reinfects every file "
        "cleaned while it runs.",
        "If the kernel or NTLDR is patched (FL004, FL005), replace ntoskrnl.exe, ntkrnlmp.exe and NTLDR from clean "
        "media (Q287664).",
        "Delete the dropper flcss.exe and the FLC / FLCSS service keys in every control set of the SYSTEM hive.",
        "Replace the infected system programs from clean media of the same Service Pack; disinfect or replace every "
        "other infected file; scan again until clean.",
        "If Winlogon, CSRSS or the kernel were hit, prefer a parallel installation (Q259003, Q244378) or a reinstall.",
        "If Protected Storage still fails with event 7024 once the system is clean, follow Q321454."}},
      {"FL101",
       "Q321454",
       "warning",
       "5.0",
       "Q321454 applies: Protected Storage event 7024 without FunLove evidence",
       "The System log holds event 7024 (Protected Storage terminated with service-specific error 2148270091, "
       "0x800C000B) but the scan found no FunLove evidence on the volume: Microsoft KB Q321454, corrupted Protected "
       "Storage registry data, not a virus.",
       "Protected Storage cannot start because its registry data is corrupted. When the scan was incomplete the "
       "message says so: FunLove is then not ruled out.",
       {host::kQ321454Steps.begin(), host::kQ321454Steps.end()}},  // shared with the host report
      {"FL102",
       "Q317218Incomplete",
       "none",
       "",
       "Q317218 verdict incomplete",
       "No FunLove evidence in what was read on this installation, but the scan or a host read (SYSTEM hive, "
       "SysEvent.Evt) was incomplete: neither Q317218 nor Q321454 can be ruled out.",
       "Result kind open: flscan could not decide. The FL900 and FL901 results say what was not read.",
       {"Resolve the NOT SCANNED entries and the host read errors, then scan again."}},
      {"FL103",
       "Q317218NoEvidence",
       "none",
       "",
       "No Q317218 or Q321454 evidence",
       "Everything on this installation was read and neither FunLove evidence nor the Protected Storage event 7024 "
       "was found.",
       "Result kind pass: the installation was checked and shows no FunLove evidence.",
       {host::kNoEvidenceStep}},  // shared with the host report
      {"FL110",
       "FlcService",
       "error",
       "9.0",
       "FLC service in the SYSTEM hive (Q317218: FLCSS service)",
       "A service `FLC` or `FLCSS`, or one whose ImagePath ends in `flcss.exe`, is registered in a `ControlSetNNN` of "
       "the installation's SYSTEM hive (infection-model section 6).",
       "FunLove runs its dropper as this service; stopping it on the running system gives \"Access Denied\". FunLove "
       "evidence on its own (exit code 1).",
       {"Offline, delete the service key in every control set (e.g. with hivexregedit) and the file its ImagePath "
        "names.",
        "Follow the Q317218 steps (FL100)."}},
      {"FL111",
       "ProtectedStorageEvent7024",
       "warning",
       "5.0",
       "Event 7024: Protected Storage terminated with error 2148270091",
       "SysEvent.Evt holds a Service Control Manager 7024 record for Protected Storage with service-specific error "
       "2148270091 (0x800C000B, `PST_E_DISK_IMAGE_MISMATCH`).",
       "Protected Storage found its image changed: FunLove infected pstores.exe (Q317218) or its registry data is "
       "corrupted (Q321454). The verdict of the same installation (FL100 or FL101) says which.",
       {"Follow the verdict of the installation: FL100 (Q317218) or FL101 (Q321454)."}},
      {"FL112",
       "SpoolerEvent7000",
       "warning",
       "5.0",
       "Event 7000: Spooler failed to start, file not found",
       "SysEvent.Evt holds a Service Control Manager 7000 record for Spooler with `%%2` (Win32 error 2: the system "
       "cannot find the file specified).",
       "The Spooler's program could not be started; Q317218 lists this among the FunLove symptoms.",
       {"Check the Spooler ImagePath file the message names; replace it from clean media if it is infected or "
        "missing."}},
      {"FL113",
       "ServicePackCopyErrors",
       "error",
       "9.0",
       "Q317218 programs infected (Service Pack cannot copy Calc.exe and 32 more)",
       "At least one of the 33 programs Q317218 names (Calc.exe, Ddeshare.exe, ... Regsvr32.exe) in system32 is "
       "infected or damaged (infection-model section 8).",
       "A Service Pack reinstall fails to replace these programs; each is also a result of FL001 or FL002 on its file.",
       {"Offline, after removing the dropper and its service (FL100), replace them from clean media of the same "
        "Service Pack."}},
      {"FL114",
       "FlcssProcess",
       "warning",
       "5.0",
       "Process flcss.exe running (--live, --live-report)",
       "With `--live`: a running process whose executable or an argument has the base name `flcss.exe` (any case; "
       "Windows programs under Wine). With `--live-report`: a `flcss.exe` process in the process list flscan-live "
       "took on the running Windows machine.",
       "The Q317218 Flcss.exe process. A name is no evidence of content, so it does not change the exit code; but a "
       "running FunLove reinfects whatever is cleaned.",
       {"Shut the machine down and clean it offline, from rescue media."}},
      {"FL115",
       "StopC000021ACause",
       "warning",
       "5.0",
       "Cause of STOP 0xC000021A found",
       "winlogon.exe or csrss.exe is infected, damaged or missing, or ntoskrnl.exe, ntkrnlmp.exe or NTLDR is "
       "patched: the causes of the Q317218 STOP 0xC000021A (STATUS_SYSTEM_PROCESS_TERMINATED).",
       "Windows NT stops at boot when Winlogon or CSRSS dies.",
       {"Replace the files the message names from clean media; prefer a parallel installation (Q259003, Q244378) or "
        "a reinstall."}},
      {"FL116",
       "Slowness",
       "warning",
       "5.0",
       "Windows runs slowly: flcss.exe is running (--live, --live-report)",
       "With `--live` or `--live-report`: a process named `flcss.exe` (or a running FLC/FLCSS service) runs, whose "
       "infection thread rescans all drives every 60 seconds (Q317218: Windows runs slowly).",
       "Explains the Q317218 slowness symptom.",
       {"Shut the machine down and clean it offline, from rescue media."}},

      {"FL900",
       "NotScanned",
       "none",
       "",
       "File or directory NOT SCANNED",
       "flscan could not read this entry (the reason code is in the message and in properties.reason). It may hold "
       "evidence, so it is never reported as clean.",
       "Result kind open: the FunLove rules could not be evaluated for this entry, and the scan is incomplete (exit "
       "code 2 with `--fail-on incomplete`, the default).",
       {"permission-denied: scan as a user who can read it (root on a rescue system).",
        "too-large: raise `--max-filesize`.",
        "modified-while-reading, truncated-while-reading, vanished, replaced: scan a read-only mount or a snapshot, "
        "not a live file system.",
        "unlistable-directory, io-error: check the file system and the disk.",
        "not-found: a PATH that does not exist; check the command line and the mount."}},
      {"FL901",
       "HostEvidenceUnreadable",
       "none",
       "",
       "Host evidence could not be read",
       "The SYSTEM hive or SysEvent.Evt of a Windows installation could not be read; the Q317218 symptoms that need "
       "it have status error and the verdict is at best incomplete.",
       "Result kind open: flscan could not decide the symptoms that rely on this file.",
       {"Check that the file is readable and not truncated; restore it from a backup if it is damaged, then scan "
        "again."}},
      {"FL902",
       "LiveReportNotApplied",
       "none",
       "",
       "Live report not applied, or not confirmed by the offline scan",
       "With `--live-report`: the live report matches no installation of the scan (computer name or Windows "
       "directory differ) or several, so its live rows were not filled; or it shows FunLove on the running machine "
       "(infected files, a flcss.exe process or an FLC/FLCSS service) while the offline scan shows no FunLove "
       "evidence.",
       "Result kind open: a live check was asked for and did not happen (or disagrees); the run is incomplete.",
       {"Pass the live report written on the machine this disk belongs to; or scan the files it names again."}},
  };
  return table;
}

std::size_t rule_index(std::string_view id) {
  const auto& table = rules();
  const auto it = std::find_if(table.begin(), table.end(), [id](const RuleSpec& r) { return r.id == id; });
  return static_cast<std::size_t>(it - table.begin());  // ids are compile-time constants of this file
}

std::string strip_backticks(std::string_view text) {
  std::string out(text);
  std::erase(out, '`');
  return out;
}

Json rule_to_json(const RuleSpec& rule) {
  std::string text = strip_backticks(rule.meaning) + "\n\nWhat to do:";
  std::string markdown = "**What it means.** " + std::string(rule.meaning) + "\n\n**What to do.**\n";
  for (std::size_t i = 0; i < rule.steps.size(); ++i) {
    text += "\n" + std::to_string(i + 1) + ". " + strip_backticks(rule.steps[i]);
    markdown += "\n" + std::to_string(i + 1) + ". " + std::string(rule.steps[i]);
  }
  Json properties{{"tags", Json::array({"security", "malware", "W32.FunLove.4099"})}};
  if (!rule.security_severity.empty()) properties["security-severity"] = rule.security_severity;
  return Json{{"id", rule.id},
              {"name", rule.name},
              {"shortDescription", {{"text", strip_backticks(rule.short_description)}}},
              {"fullDescription", {{"text", strip_backticks(rule.full_description)}}},
              {"help", {{"text", std::move(text)}, {"markdown", std::move(markdown)}}},
              {"defaultConfiguration", {{"level", rule.level}}},
              {"properties", std::move(properties)}};
}

std::string_view level_of(Severity severity) {
  switch (severity) {
    case Severity::infection:
      return "error";
    case Severity::suspicious:
      return "warning";
    case Severity::informational:
      return "note";
  }
  return "warning";
}

bool is_unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

std::string sha256_text(std::string_view text) {
  Hasher hasher;
  const Digests digests =
      hasher.digest(ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size()), WantMd5::no);
  return to_hex(digests.sha256);
}

// A PATH operand and the base its entries' URIs are relative to: the operand itself when it is a
// directory, else the directory holding it (a file, or a PATH that does not exist).
struct UriBase {
  std::string id;       // "PATH1", "PATH2", ... in command-line order
  std::string operand;  // as given
  bool directory = false;
  std::string name;          // the operand's last component (parent bases only)
  std::string absolute_uri;  // file:///.../ of the base, ending in '/'; empty when unknown (RootFacts)
};

// The PATH operands' bases, and the working directory for paths outside them.
struct UriBases {
  std::vector<UriBase> list;
  std::string working_directory;  // ScanReport::working_directory
};

std::string absolute_file_uri(const fs::path& absolute, bool directory) {
  std::string path = absolute.generic_string();
  if (directory && (path.empty() || path.back() != '/')) path += '/';
  return "file://" + percent_encode(path, true);
}

// From the facts recorded at scan time (RootFacts): no filesystem call, so `flscan merge` writes the
// scan's bases wherever it runs.
UriBases uri_bases(const ScanReport& report) {
  UriBases bases;
  bases.working_directory = report.working_directory;
  for (std::size_t i = 0; i < report.roots.size(); ++i) {
    const std::string& operand = report.roots[i];
    const RootFacts facts = root_facts_of(report, i);
    UriBase base;
    base.id = "PATH" + std::to_string(i + 1);
    base.operand = operand;
    const fs::path absolute = fs::path(facts.absolute.empty() ? operand : facts.absolute).lexically_normal();
    base.directory = facts.kind == RootKind::directory;
    std::string normal = absolute.generic_string();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
    const fs::path trimmed(normal);
    base.name = trimmed.filename().string();
    if (base.name.empty() || base.name == "." || base.name == "..") base.directory = true;
    if (!facts.absolute.empty())
      base.absolute_uri = absolute_file_uri(base.directory ? trimmed : trimmed.parent_path(), true);
    bases.list.push_back(std::move(base));
  }
  return bases;
}

struct Uri {
  std::string uri;
  const UriBase* base = nullptr;  // nullptr: `uri` is absolute
};

// `path` as the walk or the host report wrote it: a PATH operand, or an operand joined with '/'
// and names below it. The longest operand it lies under decides its base.
// A path outside every base, made absolute against the scan's working directory; without one, a
// relative path stays a relative reference (no uriBaseId).
Uri outside_bases(const std::string& working_directory, const std::string& path, bool directory) {
  const fs::path given(path);
  if (given.is_relative() && working_directory.empty()) {
    return Uri{percent_encode(given.lexically_normal().generic_string(), true) + (directory ? "/" : ""), nullptr};
  }
  const fs::path absolute = given.is_relative() ? fs::path(working_directory) / given : given;
  return Uri{absolute_file_uri(absolute.lexically_normal(), directory), nullptr};
}

Uri locate(const UriBases& bases, const std::string& path, bool directory) {
  const UriBase* best = nullptr;
  std::string relative;
  bool self = false;
  for (const UriBase& base : bases.list) {
    const std::string& operand = base.operand;
    if (best != nullptr && operand.size() <= best->operand.size()) continue;
    std::string trimmed = operand;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    const std::string prefix = operand.ends_with('/') ? operand : operand + "/";
    if (path == operand || path == trimmed) {
      best = &base;
      self = true;
      relative.clear();
    } else if (path.size() > prefix.size() && path.starts_with(prefix)) {
      best = &base;
      self = false;
      relative = path.substr(prefix.size());
    } else if (!base.directory && path.size() > operand.size() + 1 && path.starts_with(operand + ":")) {
      // A file inside the disk image `operand` (IMAGE:pN/path): relative to the image's
      // directory, the ':' percent-encoded like any other byte.
      best = &base;
      self = false;
      relative = path.substr(operand.size());
    }
  }
  const std::string slash = directory ? "/" : "";
  if (best == nullptr) return outside_bases(bases.working_directory, path, directory);
  if (best->directory) return Uri{self ? "./" : percent_encode(relative, true) + slash, best};
  const std::string name = percent_encode(best->name, false);
  if (!self && relative.starts_with(':')) return Uri{name + percent_encode(relative, true) + slash, best};
  return Uri{self ? name + slash : name + "/" + percent_encode(relative, true) + slash, best};
}

Json artifact_location(const Uri& uri) {
  Json location{{"uri", uri.uri}};
  if (uri.base != nullptr) location["uriBaseId"] = uri.base->id;
  return location;
}

Json physical_location(const Uri& uri) { return Json{{"artifactLocation", artifact_location(uri)}}; }

Json message(std::string_view text) { return Json{{"text", escape_for_terminal(text)}}; }

// The result skeleton every result shares: rule, kind, level, message, one location and a
// fingerprint (the location's URI and `discriminator`: stable across runs for the same fact).
Json make_result(std::string_view rule_id, std::string_view kind, std::string_view level, const std::string& text,
                 Json location, const std::string& fingerprint_source) {
  Json result{{"ruleId", rule_id}, {"ruleIndex", rule_index(rule_id)}};
  if (kind != "fail") result["kind"] = kind;
  result["level"] = level;
  result["message"] = message(text);
  result["locations"] = Json::array({Json{{"physicalLocation", std::move(location)}}});
  result["partialFingerprints"] = Json{{"flscanResult/v1", sha256_text(fingerprint_source)}};
  return result;
}

std::string headline(const Finding& finding) {
  const std::string name = finding.name.empty() ? std::string("W32.FunLove.4099") : finding.name;
  const std::string kind(to_string(finding.kind));
  if (finding.severity == Severity::infection) return name + " FOUND (" + kind + ")";
  if (finding.kind == FindingKind::kernel_modified)
    return "modified NT kernel, not FunLove evidence (suspicious: " + kind + ")";
  if (finding.severity == Severity::suspicious) return "possibly " + name + " (suspicious: " + kind + ")";
  switch (finding.kind) {
    case FindingKind::remnant:
      return "remnant of " + name + " (informational: " + kind + ")";
    case FindingKind::inoculated:
      return "inoculated against " + name + " (informational: " + kind + ")";
    case FindingKind::decoy:
      return name + " lookalike, not an infection (informational: " + kind + ")";
    default:
      return name + " note (informational: " + kind + ")";
  }
}

void add_file_results(Json& results, Json& artifacts, const UriBases& bases, const ScanReport& report) {
  for (const FileResult& file : report.results) {
    const Uri uri = locate(bases, file.path, false);
    const std::size_t artifact_index = artifacts.size();
    Json artifact{
        {"location", artifact_location(uri)}, {"length", file.size}, {"roles", Json::array({"analysisTarget"})}};
    if (!file.sha256.empty()) artifact["hashes"] = Json{{"sha-256", file.sha256}};
    artifacts.push_back(std::move(artifact));
    for (const Finding& finding : file.findings) {
      Json location = physical_location(uri);
      location["artifactLocation"]["index"] = artifact_index;
      location["region"] = Json{{"byteOffset", finding.offset}};
      Json result =
          make_result(sarif_rule_id(finding.kind), "fail", level_of(finding.severity),
                      headline(finding) + ": " + finding.evidence, std::move(location), uri.uri + '\n' + finding.rule);
      result["properties"] = Json{{"state", to_string(finding.kind)},
                                  {"severity", to_string(finding.severity)},
                                  {"confidence", to_string(finding.confidence)},
                                  {"flscanRule", finding.rule},
                                  {"threatName", finding.name},
                                  {"sha256", file.sha256},
                                  {"size", file.size},
                                  {"path", path_to_json(file.path)}};
      // What --quarantine / --repair did with the file (JSON report: results[].action).
      if (file.action) {
        result["properties"]["action"] =
            Json{{"result", to_code(file.action->result)},
                 {"repair", to_code(file.action->repair)},
                 {"quarantineFile",
                  file.action->quarantine_file.empty() ? Json(nullptr) : path_to_json(file.action->quarantine_file)},
                 {"text", describe_action(*file.action)}};
      }
      // The file's times and infection time (issue 20), as in the JSON report.
      if (file.times) result["properties"]["times"] = times_to_json(file.times);
      if (Json infected_at = infected_at_to_json(file); !infected_at.is_null())
        result["properties"]["infectedAt"] = std::move(infected_at);
      results.push_back(std::move(result));
    }
  }
}

// The rule, kind and level of an installation's verdict.
struct VerdictRule {
  std::string_view rule;
  std::string_view kind;
  std::string_view level;
};

VerdictRule verdict_rule(host::Verdict verdict) {
  switch (verdict) {
    case host::Verdict::q317218:
      return {"FL100", "fail", "error"};
    case host::Verdict::q321454:
      return {"FL101", "fail", "warning"};
    case host::Verdict::incomplete:
      return {"FL102", "open", "none"};
    case host::Verdict::no_evidence:
      return {"FL103", "pass", "none"};
  }
  return {"FL102", "open", "none"};
}

// Symptom ids (host_report.h) and their rules; each found symptom is one result.
struct SymptomRule {
  std::string_view symptom;
  std::string_view rule;
  std::string_view level;
};
constexpr SymptomRule kSymptomRules[] = {
    {"flcss-service", "FL110", "error"},  {"event-7024", "FL111", "warning"},    {"event-7000", "FL112", "warning"},
    {"sp-copy-errors", "FL113", "error"}, {"flcss-process", "FL114", "warning"}, {"stop-c000021a", "FL115", "warning"},
    {"slowness", "FL116", "warning"},
};

// The files behind a Q317218 verdict: infected system programs, droppers, patched kernel files.
Json related_locations(const UriBases& bases, const host::HostReport& host) {
  std::vector<std::pair<std::string, std::string>> files;  // path, what
  const auto add = [&files](const std::string& path, std::string what) {
    if (path.empty()) return;
    if (std::none_of(files.begin(), files.end(), [&](const auto& f) { return f.first == path; })) {
      files.emplace_back(path, std::move(what));
    }
  };
  for (const host::ProgramCheck& program : host.programs) {
    if (program.status == host::FileStatus::infected || program.status == host::FileStatus::damaged) {
      add(program.path, program.name + " " + std::string(host::to_code(program.status)));
    }
  }
  for (const std::string& dropper : host.droppers) add(dropper, "dropper");
  for (const host::KernelCheck& kernel : host.kernel) {
    if (kernel.status == "patched" || kernel.status == "infected" || kernel.status == "modified") {
      add(kernel.path, kernel.name + " " + kernel.status);
    }
  }
  Json related = Json::array();
  for (const auto& [path, what] : files) {
    related.push_back(Json{{"id", related.size()},
                           {"physicalLocation", physical_location(locate(bases, path, false))},
                           {"message", message(what)}});
  }
  return related;
}

std::string join(const std::vector<std::string>& lines, std::string_view separator) {
  std::string out;
  for (const std::string& line : lines) out += (out.empty() ? "" : std::string(separator)) + line;
  return out;
}

void add_host_results(Json& results, const UriBases& bases, const host::HostReport& host) {
  const Uri windows_dir = locate(bases, host.install.windows_dir, true);
  const Json host_properties{{"windowsDir", path_to_json(host.install.windows_dir)},
                             {"volumeRoot", path_to_json(host.install.volume_root)},
                             {"verdict", host::to_code(host.verdict)}};
  const auto located = [&](const std::string& path, bool directory) {
    return physical_location(path.empty() ? windows_dir : locate(bases, path, directory));
  };

  const VerdictRule verdict = verdict_rule(host.verdict);
  std::string text = host.verdict_text + " (" + host.install.windows_dir + ").";
  if (!host.remediation.empty()) {
    text += " What to do:";
    for (std::size_t i = 0; i < host.remediation.size(); ++i) {
      text += " " + std::to_string(i + 1) + ". " + host.remediation[i];
    }
  }
  Json result =
      make_result(verdict.rule, verdict.kind, verdict.level, text, located({}, true), windows_dir.uri + "\nverdict");
  if (Json related = related_locations(bases, host); !related.empty()) result["relatedLocations"] = std::move(related);
  result["properties"] = host_properties;
  if (!host.notes.empty()) result["properties"]["notes"] = host.notes;  // a hive or log not closed cleanly
  if (!host.timeline.empty()) result["properties"]["timeline"] = timeline_to_json(host.timeline);  // issue 20
  results.push_back(std::move(result));

  for (const host::SymptomRow& row : host.symptoms) {
    if (row.status != host::SymptomStatus::found) continue;
    const auto rule = std::find_if(std::begin(kSymptomRules), std::end(kSymptomRules),
                                   [&row](const SymptomRule& r) { return r.symptom == row.id; });
    if (rule == std::end(kSymptomRules)) continue;
    // Where the evidence was read: the hive for the service, the log for the events.
    std::string where;
    if (row.id == "flcss-service") where = host.install.system_hive;
    if (row.id == "event-7024" || row.id == "event-7000") where = host.event_log_path;
    if (row.id == "sp-copy-errors") where = host.install.system32;
    Json symptom = make_result(rule->rule, "fail", rule->level, row.symptom + " Evidence: " + join(row.evidence, "; "),
                               located(where, row.id == "sp-copy-errors"), windows_dir.uri + '\n' + row.id);
    symptom["properties"] = host_properties;
    symptom["properties"]["symptom"] = row.id;
    results.push_back(std::move(symptom));
  }

  for (const std::string& error : host.errors) {
    Json unreadable = make_result("FL901", "open", "none", error, located({}, true), windows_dir.uri + '\n' + error);
    unreadable["properties"] = host_properties;
    results.push_back(std::move(unreadable));
  }
  if (host.live && !host.live->incomplete_reason.empty()) {
    // --live-report (issue 17): the live check asked for did not happen here, or disagrees.
    Json live = make_result("FL902", "open", "none", host.live->incomplete_reason, located({}, true),
                            windows_dir.uri + "\nlive-report");
    live["properties"] = host_properties;
    live["properties"]["liveReport"] = Json{{"file", path_to_json(host.live->report->source)},
                                            {"state", host::to_code(host.live->state)},
                                            {"reason", host.live->reason}};
    results.push_back(std::move(live));
  }
}

void add_not_scanned_results(Json& results, const UriBases& bases, const ScanReport& report) {
  for (const NotScannedEntry& entry : report.not_scanned) {
    const Uri uri = locate(bases, entry.path, false);
    const std::string code(to_code(entry.reason));
    Json result =
        make_result("FL900", "open", "none",
                    "NOT SCANNED (" + code + ", " + std::string(describe(entry.reason)) + "): " + entry.detail,
                    physical_location(uri), uri.uri + '\n' + code);
    result["properties"] = Json{{"reason", code}, {"detail", entry.detail}, {"path", path_to_json(entry.path)}};
    results.push_back(std::move(result));
  }
}

// A scanned image volume that could not be opened again for the host evidence (ImageVolume::host_error).
void add_volume_host_errors(Json& results, const UriBases& bases, const ScanReport& report) {
  for (const ImageVolume& volume : report.volumes) {
    if (volume.host_error.empty()) continue;
    const Uri uri = locate(bases, volume.image, false);
    Json result = make_result("FL901", "open", "none", volume.path() + ": host evidence not read: " + volume.host_error,
                              physical_location(uri), uri.uri + '\n' + volume.name + "\nhost-error");
    result["properties"] = Json{{"volume", path_to_json(volume.path())}};
    results.push_back(std::move(result));
  }
}

std::string exit_code_description(const ScanReport& report, const FailOn& fail_on, int code) {
  if (code == kExitInfected) {
    return report.infection_found() || report.flc_service_found() ? "FunLove evidence found"
                                                                  : "suspicious findings (--fail-on suspicious)";
  }
  if (code == kExitIncomplete) return report.operand_missing() ? "a PATH does not exist" : "scan incomplete";
  return "no outcome --fail-on " + to_string(fail_on) + " counts";
}

Json invocation(const ScanReport& report, const FailOn& fail_on) {
  const bool successful = report.run_complete();
  const int code = exit_code(report, fail_on);
  Json invocation{{"executionSuccessful", successful},
                  {"exitCode", code},
                  {"exitCodeDescription", exit_code_description(report, fail_on, code)}};
  if (!successful) {
    std::size_t host_errors = 0;
    for (const host::HostReport& host : report.hosts) host_errors += host.errors.size();
    for (const ImageVolume& volume : report.volumes) host_errors += volume.host_error.empty() ? 0 : 1;
    std::string text = "scan incomplete: " + std::to_string(report.counters.not_scanned_total()) +
                       " entries NOT SCANNED (results of rule FL900), " + std::to_string(host_errors) +
                       " host evidence read errors (FL901)";
    if (report.counters.lost_reports > 0) {
      text += ", " + std::to_string(report.counters.lost_reports) + " errors that could not be recorded";
    }
    if (report.actions_failed())
      text += ", --quarantine actions that did not happen (properties.action of their results)";
    if (report.live_report_incomplete()) text += ", live report " + report.live_report_state() + " (FL902)";
    invocation["toolExecutionNotifications"] =
        Json::array({Json{{"level", "error"},
                          {"message", {{"text", text}}},
                          {"associatedRule", {{"id", "FL900"}, {"index", rule_index("FL900")}}}}});
  }
  invocation["properties"] = Json{{"failOn", to_string(fail_on)}};
  if (report.live_report) {
    invocation["properties"]["liveReport"] = Json{{"file", path_to_json(report.live_report->source)},
                                                  {"collectedUtc", report.live_report->collected_utc},
                                                  {"state", report.live_report_state()}};
  }
  return invocation;
}

}  // namespace

std::string percent_encode(std::string_view bytes, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0F]);
    }
  }
  return out;
}

std::string_view sarif_rule_id(FindingKind kind) { return rules().at(static_cast<std::size_t>(kind)).id; }

Json report_to_sarif(const ScanReport& report, const PrintSettings& settings) {
  const ReportMeta& meta = settings.meta;
  const UriBases bases = uri_bases(report);
  Json rule_list = Json::array();
  for (const RuleSpec& rule : rules()) rule_list.push_back(rule_to_json(rule));

  Json results = Json::array();
  Json artifacts = Json::array();
  add_file_results(results, artifacts, bases, report);
  for (const host::HostReport& host : report.hosts) add_host_results(results, bases, host);
  add_not_scanned_results(results, bases, report);
  add_volume_host_errors(results, bases, report);

  Json base_ids = Json::object();
  for (const UriBase& base : bases.list) {
    Json location = Json::object();
    if (!base.absolute_uri.empty()) location["uri"] = base.absolute_uri;
    location["description"] =
        message("PATH operand " + base.id.substr(4) + ": " + base.operand + (base.directory ? "" : " (its directory)"));
    base_ids[base.id] = std::move(location);
  }

  Json driver{{"name", "flscan"},
              {"fullName", "flscan " + meta.flscan_version + ": W32.FunLove.4099 scanner"},
              {"version", meta.flscan_version},
              {"semanticVersion", meta.flscan_version},
              {"rules", std::move(rule_list)},
              {"properties", {{"signatures", meta.signature_sources}, {"signatureCount", meta.signature_count}}}};

  Json run{{"tool", {{"driver", std::move(driver)}}},
           {"invocations", Json::array({invocation(report, settings.fail_on)})},
           {"originalUriBaseIds", std::move(base_ids)},
           {"artifacts", std::move(artifacts)},
           {"results", std::move(results)},
           {"properties",
            {{"complete", report.run_complete()},
             {"infectionFound", report.infection_found() || report.flc_service_found()},
             {"filesSeen", report.counters.files_seen},
             {"filesWithFindings", report.counters.files_with_findings},
             {"notScanned", report.counters.not_scanned_total()},
             {"skipped", report.counters.skipped_total()}}}};
  return Json{{"$schema", kSarifSchemaUri}, {"version", kSarifVersion}, {"runs", Json::array({std::move(run)})}};
}

void write_sarif_report(std::ostream& out, const ScanReport& report, const PrintSettings& settings) {
  out << report_to_sarif(report, settings).dump(2, ' ', false, Json::error_handler_t::replace) << '\n';
}

}  // namespace flscan::scanner
