#!/usr/bin/env python3
"""flscan-live.exe imports nothing Windows 2000 lacks (issue 17).

Reads the import tables of both builds with `objdump -p` (binutils-mingw-w64) and fails on:
  - a DLL other than kernel32.dll, advapi32.dll and msvcrt.dll (the three every Windows NT has;
    a DLL of the toolchain such as libwinpthread-1.dll or libstdc++-6.dll means the build is not
    static; psapi.dll and others are loaded at run time with LoadLibrary/GetProcAddress);
  - any function not on the Windows 2000 list below.
The list is not generated from the binaries: each name was checked against its source, so a new
import fails here until someone checks it the same way.

Sources:
  kernel32.dll, advapi32.dll: Microsoft Learn, the function's reference page, "Requirements /
    Minimum supported client": every name below says "Windows 2000 Professional [desktop apps
    only]" (Microsoft lists no older client, NT 4.0 functions included). Functions newer than
    Windows 2000 that the program needs are NOT imported: QueryFullProcessImageNameW (Windows
    Vista), and the ones Windows 2000 has but NT 4.0 lacks (CreateToolhelp32Snapshot,
    Process32FirstW/NextW, EnumServicesStatusExW) and psapi.dll's EnumProcesses and
    GetModuleFileNameExW are looked up with GetProcAddress (live/flscan_live.cpp).
    Examples of what must never appear: GetTickCount64 (Vista; imported by winpthreads, which a
    posix-thread mingw-w64 build pulls in), InitializeCriticalSectionEx (Vista),
    GetFileSizeEx/SetFilePointerEx (Windows 2000 but not NT 4.0: the program uses GetFileSize and
    OVERLAPPED offsets instead; they are left off the list on purpose).
  msvcrt.dll: the Windows 2000 msvcrt.dll is the Visual C++ 6.0 run time (version 6.1); every name
    below is in the Visual C++ 6.0 Run-Time Library Reference or is one of its start-up entry
    points (__wgetmainargs, __set_app_type, __p__fmode, __p__commode, __p__wcmdln, _initterm,
    _amsg_exit, __setusermatherr, _iob, __mb_cur_max, __winitenv). ___lc_codepage_func,
    ___mb_cur_max_func and __iob_func came with msvcrt 7.0 (Windows XP): mingw-w64's 32-bit
    libmsvcrt.a emulates them for that reason, so the i686 build must not import them.
  x86_64 only: no 64-bit Windows 2000 exists; the first x64 Windows (XP x64 / Server 2003 SP1,
    NT 5.2, msvcrt 7.0) is the floor of that build. It may import in addition the x64 exception
    unwinding of kernel32 (RtlCaptureContext, RtlLookupFunctionEntry, RtlUnwindEx,
    RtlVirtualUnwind, __C_specific_handler: Microsoft Learn lists them for every x64 Windows) and
    the three msvcrt 7.0 functions above.

The PE header's subsystem version must be at most 5.0 for i686 (Windows 2000's loader refuses a
higher one) and 5.2 for x86_64, and the subsystem the console.

The checker first runs on a made-up import table holding GetTickCount64 and libwinpthread-1.dll
and must reject both, so the test cannot pass by accepting everything.

Usage: import_table_test.py OBJDUMP_I686 EXE_I686 OBJDUMP_X86_64 EXE_X86_64"""
import re
import subprocess
import sys

KERNEL32 = {
    "CloseHandle", "CreateFileW", "CreateSemaphoreW", "DeleteCriticalSection", "EnterCriticalSection",
    "FlushFileBuffers", "FormatMessageW", "FreeLibrary", "GetComputerNameW", "GetCurrentThreadId", "GetFileSize",
    "GetFileType", "GetLastError", "GetModuleHandleA", "GetModuleHandleW", "GetProcAddress", "GetStartupInfoW",
    "GetSystemDirectoryW", "GetSystemTime", "GetVersionExW", "GetWindowsDirectoryW", "InitializeCriticalSection",
    "IsDBCSLeadByteEx", "LeaveCriticalSection", "LoadLibraryA", "LoadLibraryW", "LocalFree", "MultiByteToWideChar",
    "OpenProcess", "RaiseException", "ReadFile", "ReleaseSemaphore", "SetLastError", "SetUnhandledExceptionFilter",
    "Sleep", "TlsAlloc", "TlsFree", "TlsGetValue", "TlsSetValue", "VirtualProtect", "VirtualQuery",
    "WaitForSingleObject", "WideCharToMultiByte", "WriteFile",
}
ADVAPI32 = {
    "CloseEventLog", "CloseServiceHandle", "CryptAcquireContextW", "CryptCreateHash", "CryptDestroyHash",
    "CryptGetHashParam", "CryptHashData", "CryptReleaseContext", "EnumServicesStatusW", "OpenEventLogW",
    "OpenSCManagerW", "OpenServiceW", "QueryServiceConfigW", "ReadEventLogW",
}
MSVCRT = {
    "__mb_cur_max", "__p__commode", "__p__fmode", "__p__wcmdln", "__set_app_type", "__setusermatherr",
    "__wgetmainargs", "__winitenv", "_amsg_exit", "_cexit", "_close", "_commode", "_errno", "_fmode", "_initterm",
    "_iob", "_lock", "_onexit", "_read", "_unlock", "_wcmdln", "abort", "atoi", "calloc", "exit", "fprintf", "fputc",
    "fputs", "free", "fwrite", "islower", "isspace", "isupper", "localeconv", "malloc", "memchr", "memcmp", "memcpy",
    "memmove", "memset", "realloc", "setlocale", "signal", "strchr", "strcmp", "strerror", "strlen", "strncmp",
    "tolower", "vfprintf", "wcslen",
}
WINDOWS_2000 = {"kernel32.dll": KERNEL32, "advapi32.dll": ADVAPI32, "msvcrt.dll": MSVCRT}
X86_64_EXTRA = {
    "kernel32.dll": {"RtlCaptureContext", "RtlLookupFunctionEntry", "RtlUnwindEx", "RtlVirtualUnwind",
                     "__C_specific_handler"},
    "msvcrt.dll": {"___lc_codepage_func", "___mb_cur_max_func", "__iob_func"},
}


def imports(objdump_text: str) -> set:
    """(dll, function) pairs of an `objdump -p` listing (import by ordinal: the name '#N')."""
    out = set()
    dll = None
    for line in objdump_text.splitlines():
        m = re.match(r"\s*DLL Name: (\S+)", line)
        if m:
            dll = m.group(1).lower()
            continue
        if dll is None:
            continue
        m = re.match(r"\s+[0-9a-f]+\s+(\d+)\s+(\S+)\s*$", line)
        if m:
            out.add((dll, m.group(2)))
            continue
        m = re.match(r"\s+[0-9a-f]+\s+<none>\s+([0-9a-f]+)\s*$", line)  # by ordinal
        if m:
            out.add((dll, "#" + m.group(1)))
    return out


def violations(found: set, arch: str) -> list:
    allowed = {dll: set(names) for dll, names in WINDOWS_2000.items()}
    if arch == "x86_64":
        for dll, names in X86_64_EXTRA.items():
            allowed[dll] |= names
    bad = []
    for dll, name in sorted(found):
        if dll not in allowed:
            bad.append(f"{arch}: {dll} {name}: a DLL Windows 2000 does not have or a non-static build")
        elif name not in allowed[dll]:
            bad.append(f"{arch}: {dll} {name}: not on the Windows 2000 list")
    return bad


SELF_TEST = """
	DLL Name: KERNEL32.dll
	vma:  Hint/Ord Member-Name Bound-To
	664bc	  136  CloseHandle
	664ca	  800  GetTickCount64

	DLL Name: libwinpthread-1.dll
	vma:  Hint/Ord Member-Name Bound-To
	66800	    5  pthread_mutex_lock
"""


def main() -> int:
    if len(sys.argv) != 5:
        print(__doc__)
        return 2
    failures = []
    probe = violations(imports(SELF_TEST), "i686")
    if not (any("GetTickCount64" in v for v in probe) and any("libwinpthread-1.dll" in v for v in probe)
            and not any("CloseHandle" in v for v in probe)):
        failures.append(f"self-test: the checker did not reject the made-up imports: {probe}")
    for objdump, exe, arch in ((sys.argv[1], sys.argv[2], "i686"), (sys.argv[3], sys.argv[4], "x86_64")):
        text = subprocess.run([objdump, "-p", exe], capture_output=True, text=True, check=True, timeout=120).stdout
        if f"file format pei-{'i386' if arch == 'i686' else 'x86-64'}" not in text:
            failures.append(f"{arch}: {exe} is not a PE of that architecture")
        # The loader refuses an image whose subsystem version is above its own (Windows 2000: 5.0;
        # the first x64 Windows: 5.2), whatever it imports; and the program is a console one.
        major = re.search(r"MajorSubsystemVersion\s+(\d+)", text)
        minor = re.search(r"MinorSubsystemVersion\s+(\d+)", text)
        limit = (5, 0) if arch == "i686" else (5, 2)
        if not (major and minor and (int(major.group(1)), int(minor.group(1))) <= limit):
            failures.append(f"{arch}: subsystem version {major and major.group(1)}.{minor and minor.group(1)} "
                            f"above {limit[0]}.{limit[1]}")
        if "(Windows CUI)" not in text:
            failures.append(f"{arch}: not a console (CUI) program")
        found = imports(text)
        if not any(dll == "kernel32.dll" for dll, _ in found):
            failures.append(f"{arch}: no kernel32.dll import read: the objdump listing was not understood")
        failures += violations(found, arch)
        print(f"{arch}: {len(found)} imports from {sorted({d for d, _ in found})}")
    for f in failures:
        print("FAIL:", f)
    print(f"import tables: {len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
