// --live's /proc reader (scanner/host/live_process.h) on a fake proc directory built here: which
// entries count as flcss.exe, by executable link or by any argument, and which do not.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "scanner/host/live_process.h"
#include "scanner/report/report_html.h"

namespace fs = std::filesystem;
using flscan::host::find_flcss_processes;

namespace {

void fake_process(const fs::path& proc, const std::string& pid, const std::string& exe, const std::string& cmdline) {
  fs::create_directories(proc / pid);
  if (!exe.empty()) fs::create_symlink(exe, proc / pid / "exe");
  std::ofstream(proc / pid / "cmdline", std::ios::binary) << cmdline;
}

}  // namespace

TEST_CASE("live processes: flcss.exe by executable or any argument, any case, either separator") {
  const fs::path proc = fs::temp_directory_path() / ("flscan-live-" + std::to_string(::getpid()));
  fs::remove_all(proc);
  using namespace std::string_literals;
  fake_process(proc, "10", "/usr/bin/sleep",
               "/tmp/x/FLCSS.EXE\0"s
               "60\0"s);  // exec -a
  fake_process(proc, "20", "/usr/bin/wine-preloader",
               "wine\0"s
               "C:\\WINNT\\System32\\Flcss.exe\0"s);
  fake_process(proc, "30", "/opt/flcss.exe", "");  // the link only
  fake_process(proc, "40", "/usr/bin/sleep",
               "sleep\0"s
               "60\0"s);  // unrelated
  fake_process(proc, "50", "/usr/bin/cat",
               "cat\0"s
               "/tmp/notflcss.exe\0"s
               "flcss.exe.bak\0"s);                          // not the base name
  fake_process(proc, "self", "/usr/bin/x", "flcss.exe\0"s);  // not a pid
  const auto found = find_flcss_processes(proc.string());
  REQUIRE(found.size() == 3);
  CHECK(found[0].pid == 10);
  CHECK(found[0].argv == std::vector<std::string>{"/tmp/x/FLCSS.EXE", "60"});
  CHECK(describe(found[0]) == "pid 10: /usr/bin/sleep, command line: /tmp/x/FLCSS.EXE 60");
  CHECK(found[1].pid == 20);
  CHECK(found[2].pid == 30);
  CHECK(find_flcss_processes((proc / "missing").string()).empty());
  fs::remove_all(proc);
}

TEST_CASE("html report: names are escaped losslessly") {
  CHECK(flscan::scanner::escape_for_html("<i>a&b\"'\xff") == "&lt;i&gt;a&amp;b&quot;&#39;\\xff");
}
