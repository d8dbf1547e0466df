// The 33 programs Microsoft KB Q317218 names (infection-model section 8: "SP reinstall cannot copy
// Calc.exe and 32 more programs"), lower case: FunLove's target class in System32. One list for
// the offline host report (scanner/host, host::q317218_programs) and flscan-live.exe (live/).
#pragma once

#include <array>
#include <string_view>

namespace flscan {

inline constexpr std::array<std::string_view, 33> kQ317218Programs = {
    "calc.exe",     "ddeshare.exe", "clock.exe",    "drwatsn.exe", "eventvwr.exe", "fontview.exe", "grpconv.exe",
    "llsmgr.exe",   "llssrv.exe",   "lsass.exe",    "mspaint.exe", "nddagent.exe", "nddeapir.exe", "netdde.exe",
    "ntbackup.exe", "nwconv.exe",   "perfmon.exe",  "rasmon.exe",  "rasphone.exe", "rdisk.exe",    "savedump.exe",
    "services.exe", "shrpubw.exe",  "srvrmngr.exe", "tapisrv.exe", "taskmgr.exe",  "userinit.exe", "usermgr.exe",
    "windisk.exe",  "winfile.exe",  "winlogon.exe", "winmsd.exe",  "regsvr32.exe"};

}  // namespace flscan
