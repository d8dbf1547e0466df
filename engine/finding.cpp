#include "engine/finding.h"

namespace flscan {

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
