// What the engine says about one file: findings, each with the rule that made it, the evidence
// seen (offsets and bytes) and a confidence. Plain structs; printers never call back into the engine.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/enum_table.h"

namespace flscan {

// The states of infection-model section 5 plus the kernel/loader patch of section 7 and
// matches of user-supplied signatures.
enum class FindingKind {
  infected,         // stub at EP calls into an intact body at B (section 5 "infected")
  damaged,          // stub + geometry present, body truncated/partly missing: still infected
  dropper,          // FLCSS.EXE, whatever its name (section 6)
  kernel_patched,   // ntoskrnl.exe/ntkrnlmp.exe carrying the SeAccessCheck patch (section 7)
  loader_patched,   // NTLDR carrying the checksum-skip patch (section 7)
  signature,        // a match of a .ndb/.hdb/.hsb signature
  kernel_modified,  // ntoskrnl.exe whose recomputed checksum differs from its header (section 7)
  remnant,          // old Norton repair: body zeroed, EP restored, geometry still visible
  inoculated,       // clean file padded to size % 256 == 3: never an infection on its own
  decoy,            // marker string alone or a stub that lands elsewhere: low-confidence note
};

// How a finding weighs on the verdict and the exit code.
enum class Severity {
  infection,      // FunLove evidence: exit code 1
  suspicious,     // worth a look, not proof (kernel checksum mismatch alone)
  informational,  // remnant, inoculated, decoy: never an infection
};

enum class Confidence { low, medium, high };

// The codes of the reports ("kind"/"state", "severity", "confidence"; scanner/JSON.md), one row
// per value in enum order (enum_table.h).
inline constexpr std::array kFindingKinds = {
    EnumRow{FindingKind::infected, "infected"},
    EnumRow{FindingKind::damaged, "damaged"},
    EnumRow{FindingKind::dropper, "dropper"},
    EnumRow{FindingKind::kernel_patched, "kernel-patched"},
    EnumRow{FindingKind::loader_patched, "loader-patched"},
    EnumRow{FindingKind::signature, "signature"},
    EnumRow{FindingKind::kernel_modified, "kernel-modified"},
    EnumRow{FindingKind::remnant, "remnant"},
    EnumRow{FindingKind::inoculated, "inoculated"},
    EnumRow{FindingKind::decoy, "decoy"},
};
constexpr const auto& enum_rows(FindingKind) { return kFindingKinds; }
static_assert(is_complete_table(kFindingKinds), "kFindingKinds: one row per FindingKind, in order");

inline constexpr std::array kSeverities = {
    EnumRow{Severity::infection, "infection"},
    EnumRow{Severity::suspicious, "suspicious"},
    EnumRow{Severity::informational, "informational"},
};
constexpr const auto& enum_rows(Severity) { return kSeverities; }
static_assert(is_complete_table(kSeverities), "kSeverities: one row per Severity, in order");

inline constexpr std::array kConfidences = {
    EnumRow{Confidence::low, "low"},
    EnumRow{Confidence::medium, "medium"},
    EnumRow{Confidence::high, "high"},
};
constexpr const auto& enum_rows(Confidence) { return kConfidences; }
static_assert(is_complete_table(kConfidences), "kConfidences: one row per Confidence, in order");

[[nodiscard]] constexpr std::string_view to_string(FindingKind kind) { return code_of(kind); }
[[nodiscard]] constexpr std::string_view to_string(Severity severity) { return code_of(severity); }
[[nodiscard]] constexpr std::string_view to_string(Confidence confidence) { return code_of(confidence); }
[[nodiscard]] Severity severity_of(FindingKind kind);

struct Finding {
  FindingKind kind = FindingKind::infected;
  std::string rule;                         // stable rule id, e.g. "funlove.infected" or "sig:W32.FunLove.4099.stub"
  std::string name;                         // threat name reported to people, e.g. "W32.FunLove.4099"
  Severity severity = Severity::infection;  // normally severity_of(kind); see scan.cpp for signatures
  Confidence confidence = Confidence::high;
  std::string evidence;      // offsets and bytes seen, in words
  std::uint64_t offset = 0;  // the main file offset the evidence points at
};

// True when `a` should be reported before `b` (stronger evidence first).
[[nodiscard]] bool stronger(FindingKind a, FindingKind b);

}  // namespace flscan
