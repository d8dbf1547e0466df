// The Q317218 rows a live report fills (issue 17), called by derive_host_report: the evidence of
// flscan-live's document (live_report.h) on the rows only a running machine shows. Internal to
// the host room; the entry point is join_live_report (host_report.h).
#pragma once

#include "scanner/host/host_report.h"

namespace flscan::host {

// When host.live is applied: flcss-process, flcss-service, slowness, event-7024 and event-7000
// from the document, and host.live->infected_files; in every state, host.live->incomplete_reason.
// `funlove`: the offline evidence already shows FunLove (an infected file or the FLC service).
void apply_live_rows(HostReport& host, bool funlove);

// True when the live report leaves this installation incomplete (host.live->incomplete_reason).
[[nodiscard]] bool live_incomplete(const HostReport& host);

// True when the applied live report shows FunLove on the running machine: a flcss.exe process, an
// FLC/FLCSS service or an infected file. Not FunLove evidence (the exit code ignores it), but it
// rules Q321454 ("no FunLove evidence") out.
[[nodiscard]] bool live_shows_funlove(const HostReport& host);

// The remediation step for a running flcss.exe (section 9), first; after build_verdict.
void add_live_remediation(HostReport& host);

// What the reader should know of the live report (the state of the join, infected files the live
// tool named); after build_notes.
void add_live_notes(HostReport& host);

}  // namespace flscan::host
