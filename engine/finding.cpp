#include "engine/finding.h"

namespace flscan {

std::string_view to_string(FindingKind kind) {
  switch (kind) {
    case FindingKind::infected:
      return "infected";
    case FindingKind::damaged:
      return "damaged";
    case FindingKind::dropper:
      return "dropper";
    case FindingKind::kernel_patched:
      return "kernel-patched";
    case FindingKind::loader_patched:
      return "loader-patched";
    case FindingKind::signature:
      return "signature";
    case FindingKind::kernel_modified:
      return "kernel-modified";
    case FindingKind::remnant:
      return "remnant";
    case FindingKind::inoculated:
      return "inoculated";
    case FindingKind::decoy:
      return "decoy";
  }
  return "unknown";
}

std::string_view to_string(Severity severity) {
  switch (severity) {
    case Severity::infection:
      return "infection";
    case Severity::suspicious:
      return "suspicious";
    case Severity::informational:
      return "informational";
  }
  return "unknown";
}

std::string_view to_string(Confidence confidence) {
  switch (confidence) {
    case Confidence::low:
      return "low";
    case Confidence::medium:
      return "medium";
    case Confidence::high:
      return "high";
  }
  return "unknown";
}

Severity severity_of(FindingKind kind) {
  switch (kind) {
    case FindingKind::infected:
    case FindingKind::damaged:
    case FindingKind::dropper:
    case FindingKind::kernel_patched:
    case FindingKind::loader_patched:
    case FindingKind::signature:
      return Severity::infection;
    case FindingKind::kernel_modified:
      return Severity::suspicious;
    case FindingKind::remnant:
    case FindingKind::inoculated:
    case FindingKind::decoy:
      return Severity::informational;
  }
  return Severity::informational;
}

bool stronger(FindingKind a, FindingKind b) { return static_cast<int>(a) < static_cast<int>(b); }

}  // namespace flscan
