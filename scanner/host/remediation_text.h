// Remediation prose that the Q317218 host report (host_report.cpp) and the SARIF rule help
// (scanner/report/report_sarif.cpp) both give, kept here once (issue 14): the host room is the
// lowest that needs it, and the report room reads it from here. Text in `backticks` is code: the
// SARIF markdown help keeps the backticks, its text help drops them, and the host report writes
// it as plain text (a command line in double quotes).
#pragma once

#include <array>
#include <string_view>

namespace flscan::host {

// Microsoft KB Q321454 (Protected Storage data corrupted, no FunLove evidence): its three steps.
// The host report numbers them "Q321454 step N: ...".
inline constexpr std::array<std::string_view, 3> kQ321454Steps = {
    "Take ownership of, export (pstore1.reg) and delete "
    "`HKLM\\SOFTWARE\\Microsoft\\Protected Storage System Provider`; export (pstore2.reg) and delete "
    "`HKLM\\SYSTEM\\CurrentControlSet\\Services\\ProtectedStorage`.",
    "If a later Internet Explorer is installed, repair it and restart.",
    "In `%SystemRoot%\\system32` run `pstores.exe -install`; check that Protected Storage starts and is set to "
    "automatic.",
};

// An installation with neither FunLove nor Q321454 evidence, everything read.
inline constexpr std::string_view kNoEvidenceStep =
    "Nothing to remove. If a running system shows the Q317218 symptoms, look elsewhere for the cause.";

}  // namespace flscan::host
