// --quarantine, --repair and `flscan restore` (scanner/remedy/quarantine.h, scanner/remedy/remediate.h).
//
// The infected samples are built in memory by tests/support/pe_builder.h (sections 2-4 applied to
// a synthetic host), so what a repair must give back is the host the test built. The quarantine
// directory and its manifest are read here with the test's own code (JSON, SHA-256 of the copies),
// never through the Quarantine class, so a bug there cannot vouch for itself.
//
// Every step of a quarantine, a repair and a restore is made to fail (the hook returns an errno)
// and to crash (a forked child _exits inside the hook); afterwards the file must be intact in its
// place or as a verified copy with a committed manifest entry, and re-running the same command,
// or `restore`, must end in the clean state: no duplicate, no stray file, the original back
// byte- and metadata-identical.
//
// Its own binary: it forks, which is only safe while the process has no other thread.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/scan.h"
#include "scanner/platform/open_path.h"
#include "scanner/remedy/quarantine.h"
#include "scanner/remedy/remediate.h"
#include "signatures/loader.h"
#include "test_support.h"
#include "tests/support/pe_builder.h"

using namespace flscan;
using namespace flscan::scanner;
using flscan::test::TempDir;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<std::uint8_t>;

std::string as_text(const Bytes& b) { return std::string(b.begin(), b.end()); }
std::string sha(const Bytes& b) { return flscan::test::sha256_hex(as_text(b)); }

bool exists(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

// Reads without touching the access time (root may use O_NOATIME), so the times a restore must
// give back are the ones the test set.
Bytes read_bytes(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOATIME | O_CLOEXEC);
  INFO(path);
  REQUIRE(fd >= 0);
  Bytes out;
  std::uint8_t buf[65536];
  ssize_t n = 0;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.insert(out.end(), buf, buf + n);
  ::close(fd);
  return out;
}

void write_bytes(const std::string& path, const Bytes& bytes) { flscan::test::write_file(path, as_text(bytes)); }

struct Meta {
  mode_t mode = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::int64_t atime_ns = 0;
  std::int64_t mtime_ns = 0;
  bool operator==(const Meta&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Meta& m) {
  return out << "mode " << std::oct << m.mode << std::dec << ", owner " << m.uid << ":" << m.gid << ", atime "
             << m.atime_ns << ", mtime " << m.mtime_ns;
}

std::int64_t ns(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec; }

Meta meta_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return Meta{static_cast<mode_t>(st.st_mode & 07777), st.st_uid, st.st_gid, ns(st.st_atim), ns(st.st_mtim)};
}

// Mode 0751, owner nobody when running as root, times with nanoseconds in 2001.
Meta set_meta(const std::string& path, mode_t mode = 0751) {
  if (flscan::test::running_as_root())
    REQUIRE(::chown(path.c_str(), flscan::test::kNobodyUid, flscan::test::kNobodyGid) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
  const timespec times[2] = {{981173106, 123456789}, {981000000, 987654321}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0);
  return meta_of(path);
}

const sig::SignatureSet& builtin() { return flscan::test::builtin_set(); }

// The file as the scan would report it.
FileResult scanned(const std::string& path) {
  const Bytes bytes = read_bytes(path);
  FileScanner scanner(builtin());
  FileVerdict verdict =
      scanner.scan(ByteView(bytes.data(), bytes.size()), funlove::role_for_name(fs::path(path).filename().string()));
  FileResult result;
  result.path = path;
  result.size = bytes.size();
  result.sha256 = sha(bytes);
  result.type = verdict.type;
  result.findings = verdict.findings;
  return result;
}

// A synthetic host with a non-zero checksum, and its infection (pe_builder.h, sections 2-4).
struct Sample {
  Bytes host;
  test::Infection infection;
};

Sample make_sample() {
  test::PeSpec spec;
  spec.checksum = 0x4242;
  Sample s;
  s.host = test::build_pe(spec);
  for (std::size_t i = 0; i < 8; ++i) s.host[0x400 + i] = static_cast<std::uint8_t>(0x31 + i);
  s.infection = test::infect(s.host);
  return s;
}

// The quarantine directory as the test reads it.
struct Manifest {
  bool present = false;
  json entries = json::array();
};

Manifest read_manifest(const std::string& dir) {
  Manifest m;
  const std::string path = dir + "/manifest.json";
  if (!exists(path)) return m;
  std::ifstream in(path);
  json doc;
  INFO("the manifest is never half-written");
  REQUIRE_NOTHROW(doc = json::parse(in));
  REQUIRE(doc.at("schema") == "flscan-quarantine");
  REQUIRE(doc.at("schema_version") == 1);
  m.present = true;
  m.entries = doc.at("entries");
  return m;
}

std::set<std::string> listing(const std::string& dir) {
  std::set<std::string> names;
  if (!fs::exists(dir)) return names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

// Every manifest entry names a copy whose content has the entry's SHA-256 and size.
void check_entries_verified(const std::string& dir, const Manifest& m) {
  for (const json& entry : m.entries) {
    const std::string copy = dir + "/" + entry.at("file").get<std::string>();
    INFO("manifest entry " << entry.dump());
    REQUIRE(exists(copy));
    const Bytes bytes = read_bytes(copy);
    CHECK(sha(bytes) == entry.at("sha256"));
    CHECK(bytes.size() == entry.at("size").get<std::size_t>());
  }
}

const json* entry_for(const Manifest& m, const std::string& path, const std::string& sha256) {
  for (const json& entry : m.entries) {
    if (flscan::test::json_path_bytes(entry.at("path")) == path && entry.at("sha256") == sha256) return &entry;
  }
  return nullptr;
}

// One scanned tree with an infected program and a quarantine directory beside it.
struct Fixture {
  TempDir tmp;
  std::string tree = tmp / "tree";
  std::string qdir = tmp / "quarantine";
  std::string file;
  Sample sample = make_sample();
  Bytes infected = sample.infection.file;
  Meta meta;

  explicit Fixture(const std::string& name = "tool.exe") : file(tree + "/" + name) {
    write_bytes(file, infected);
    meta = set_meta(file);
  }
};

std::string outcome_text(const std::vector<RestoreOutcome>& outcomes) {
  std::string text;
  for (const RestoreOutcome& o : outcomes)
    text += o.target + ": " + (o.restored ? "restored" : "NOT restored: " + o.error) + "\n";
  return text;
}

// Quarantines (and repairs) the fixture's file as `flscan --quarantine DIR [--repair]` would.
std::optional<FileAction> quarantine_file(const Fixture& f, RepairMode repair, const QuarantineHooks& hooks = {}) {
  auto q = Quarantine::open(f.qdir, hooks);
  if (!q) return std::nullopt;
  Remediator remediator(*q, builtin(), repair);
  const FileResult result = scanned(f.file);
  if (!needs_quarantine(result)) return std::nullopt;
  return remediator.act(result);
}

std::vector<RestoreOutcome> restore(const std::string& qdir, const std::optional<std::string>& to = std::nullopt,
                                    const QuarantineHooks& hooks = {}) {
  auto q = Quarantine::open(qdir, hooks);
  if (!q) return {};
  return q->restore_all(to);
}

// The repaired file keeps the host's bytes but for the header fields section 9 cannot restore
// (all within the first 0x400 bytes here), and the zero padding up to B.
void check_is_repaired_host(const Bytes& repaired, const Sample& s) {
  REQUIRE(repaired.size() == s.infection.body_offset);
  CHECK(std::equal(s.host.begin() + 0x400, s.host.end(), repaired.begin() + 0x400));
  CHECK(std::all_of(repaired.begin() + static_cast<std::ptrdiff_t>(s.host.size()), repaired.end(),
                    [](std::uint8_t b) { return b == 0; }));
  CHECK(sha(repaired) != sha(s.infection.file));
}

}  // namespace

TEST_CASE("quarantine: verified read-only copy and manifest entry first, then the original goes", "[quarantine]") {
  Fixture f;
  const auto action = quarantine_file(f, RepairMode::off);
  REQUIRE(action);
  INFO(action->error);
  CHECK(action->result == ActionResult::quarantined);
  CHECK(action->repair == RepairStatus::not_requested);
  CHECK(action->error.empty());
  CHECK_FALSE(exists(f.file));

  const Manifest m = read_manifest(f.qdir);
  REQUIRE(m.entries.size() == 1);
  const json& e = m.entries[0];
  CHECK(flscan::test::json_path_bytes(e.at("path")) == f.file);  // absolute already (TempDir)
  CHECK(e.at("sha256") == sha(f.infected));
  CHECK(e.at("size") == f.infected.size());
  CHECK(e.at("mode") == f.meta.mode);
  CHECK(e.at("uid") == f.meta.uid);
  CHECK(e.at("gid") == f.meta.gid);
  CHECK(e.at("atime_ns") == f.meta.atime_ns);
  CHECK(e.at("mtime_ns") == f.meta.mtime_ns);
  CHECK(e.at("state") == "infected");
  CHECK(e.at("rule") == "funlove.infected");
  CHECK(e.at("repaired_sha256").is_null());
  const std::string copy = f.qdir + "/" + e.at("file").get<std::string>();
  CHECK(action->quarantine_file == copy);
  // Stored inert: read-only, not executable, no original extension.
  CHECK(e.at("file").get<std::string>().size() == 36);
  CHECK(fs::path(copy).extension() == ".flq");
  CHECK((meta_of(copy).mode & 07777) == 0400);
  CHECK(read_bytes(copy) == f.infected);
  CHECK(listing(f.qdir) == std::set<std::string>{".lock", "manifest.json", e.at("file").get<std::string>()});
}

TEST_CASE("quarantine then restore gives byte- and metadata-identical files", "[quarantine][restore]") {
  TempDir tmp;
  const std::string qdir = tmp / "q";
  const Sample s = make_sample();
  struct Planted {
    std::string path;
    Meta meta;
  };
  std::vector<Planted> planted;
  // Different modes (set-user-ID too, on a root-owned file: chown must not clear it for good), a
  // non-UTF-8 name, a nested directory.
  const std::vector<std::pair<std::string, mode_t>> files = {{tmp / "tree/a.exe", 0751},
                                                             {tmp / "tree/sub/b.scr", 0640},
                                                             {tmp / "tree/suid.exe", 04755},
                                                             {tmp / "tree/bad-\xff.exe", 0600}};
  for (const auto& [path, mode] : files) {
    write_bytes(path, s.infection.file);
    planted.push_back({path, set_meta(path, mode)});
  }
  if (flscan::test::running_as_root()) {
    REQUIRE(::chown((tmp / "tree/suid.exe").c_str(), 0, 0) == 0);
    REQUIRE(::chmod((tmp / "tree/suid.exe").c_str(), 04755) == 0);
    planted[2].meta = meta_of(tmp / "tree/suid.exe");
    // Issue 13: set-user-ID and set-group-ID bits are recorded only from a root-owned original.
    const std::string other = tmp / "tree/user-suid.exe";
    write_bytes(other, s.infection.file);
    Meta meta = set_meta(other, 06755);
    meta.mode = 0755;  // what comes back
    planted.push_back({other, meta});
  } else {
    planted[2].meta.mode = 0755;  // the user's own set-user-ID bit is not recorded (issue 13)
  }
  {
    auto q = Quarantine::open(qdir);
    REQUIRE(q);
    Remediator remediator(*q, builtin(), RepairMode::off);
    for (const Planted& p : planted) {
      const FileAction action = remediator.act(scanned(p.path));
      INFO(p.path << ": " << action.error);
      CHECK(action.result == ActionResult::quarantined);
      CHECK_FALSE(exists(p.path));
    }
  }
  const Manifest quarantined = read_manifest(qdir);
  CHECK(quarantined.entries.size() == planted.size());
  const json* bad = entry_for(quarantined, tmp / "tree/bad-\xff.exe", sha(s.infection.file));
  REQUIRE(bad != nullptr);
  CHECK(bad->at("path").contains("bytes"));  // not UTF-8: kept as base64 bytes

  const auto outcomes = restore(qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == planted.size());
  for (const RestoreOutcome& o : outcomes) CHECK(o.restored);
  for (const Planted& p : planted) {
    INFO(p.path);
    REQUIRE(exists(p.path));
    CHECK(read_bytes(p.path) == s.infection.file);
    CHECK(meta_of(p.path) == p.meta);
  }
  CHECK(read_manifest(qdir).entries.empty());
  CHECK(listing(qdir) == std::set<std::string>{".lock", "manifest.json"});
}

TEST_CASE("restore --to ROOT puts files under ROOT + their original absolute path", "[restore]") {
  Fixture f;
  REQUIRE(quarantine_file(f, RepairMode::off)->result == ActionResult::quarantined);
  const std::string root = f.tmp / "elsewhere";
  const auto outcomes = restore(f.qdir, root);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].restored);
  CHECK(outcomes[0].target == root + f.file);
  CHECK(read_bytes(root + f.file) == f.infected);
  CHECK(meta_of(root + f.file) == f.meta);
  CHECK_FALSE(exists(f.file));
}

TEST_CASE("restore never overwrites a different file, names it, and keeps the entry", "[restore]") {
  Fixture f;
  REQUIRE(quarantine_file(f, RepairMode::off)->result == ActionResult::quarantined);
  flscan::test::write_file(f.file, "a new, different file");
  auto outcomes = restore(f.qdir);
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].restored);
  CHECK(outcomes[0].error.find(f.file) != std::string::npos);
  CHECK(outcomes[0].error.find("differs") != std::string::npos);
  CHECK(as_text(read_bytes(f.file)) == "a new, different file");
  CHECK(read_manifest(f.qdir).entries.size() == 1);
  // Once the other file is out of the way, the restore goes through.
  fs::remove(f.file);
  outcomes = restore(f.qdir);
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].restored);
  CHECK(read_bytes(f.file) == f.infected);
}

TEST_CASE("a file that changed since the scan is left alone", "[quarantine]") {
  Fixture f;
  const FileResult result = scanned(f.file);
  Bytes changed = f.infected;
  changed[0x100] ^= 0xFF;
  write_bytes(f.file, changed);
  auto q = Quarantine::open(f.qdir);
  REQUIRE(q);
  const FileAction action = Remediator(*q, builtin(), RepairMode::off).act(result);
  CHECK(action.result == ActionResult::left_in_place);
  CHECK(action.error.find("changed since it was scanned") != std::string::npos);
  CHECK(action.quarantine_file.empty());
  CHECK(read_bytes(f.file) == changed);
  CHECK(q->entries().empty());
  CHECK(listing(f.qdir) == std::set<std::string>{".lock"});
}

// A rule id comes from a -d signature's name, which may hold any byte: the manifest must still
// be written (the name as text, invalid bytes replaced) and the file quarantined.
TEST_CASE("a finding whose rule is not UTF-8 is quarantined all the same", "[quarantine]") {
  Fixture f;
  FileResult result = scanned(f.file);
  for (Finding& finding : result.findings) finding.rule = "sig:Bad\xff\xfeName";
  auto q = Quarantine::open(f.qdir);
  REQUIRE(q);
  const FileAction action = Remediator(*q, builtin(), RepairMode::off).act(result);
  INFO(action.error);
  CHECK(action.result == ActionResult::quarantined);
  const Manifest m = read_manifest(f.qdir);
  REQUIRE(m.entries.size() == 1);
  CHECK(m.entries[0].at("rule") == "sig:Bad\xEF\xBF\xBD\xEF\xBF\xBDName");
}

// The scan reaches files below paths of PATH_MAX bytes or more (open_path.h); so must the quarantine.
TEST_CASE("a file below a path longer than PATH_MAX is quarantined and restored", "[quarantine][restore]") {
  TempDir tmp;
  const std::string piece(200, 'd');
  std::string deep = tmp.path().string();
  int dir = ::open(deep.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(dir >= 0);
  for (int level = 0; level < 25; ++level) {  // about 5 KB of path
    REQUIRE(::mkdirat(dir, piece.c_str(), 0755) == 0);
    const int next = ::openat(dir, piece.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ::close(dir);
    REQUIRE(next >= 0);
    dir = next;
    deep += "/" + piece;
  }
  REQUIRE(deep.size() > PATH_MAX);
  const Sample s = make_sample();
  const int fd = ::openat(dir, "deep.exe", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  REQUIRE(fd >= 0);
  REQUIRE(::write(fd, s.infection.file.data(), s.infection.file.size()) ==
          static_cast<ssize_t>(s.infection.file.size()));
  ::close(fd);
  const std::string path = deep + "/deep.exe";

  FileScanner scanner(builtin());
  FileResult result;
  result.path = path;
  result.size = s.infection.file.size();
  result.sha256 = sha(s.infection.file);
  result.findings =
      scanner.scan(ByteView(s.infection.file.data(), s.infection.file.size()), funlove::FileRole::ordinary).findings;
  {
    auto q = Quarantine::open(tmp / "q");
    REQUIRE(q);
    const FileAction action = Remediator(*q, builtin(), RepairMode::off).act(result);
    INFO(action.error);
    CHECK(action.result == ActionResult::quarantined);
  }
  struct stat st {};
  CHECK(::fstatat(dir, "deep.exe", &st, AT_SYMLINK_NOFOLLOW) != 0);
  const auto outcomes = restore(tmp / "q");
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].restored);
  CHECK(::fstatat(dir, "deep.exe", &st, AT_SYMLINK_NOFOLLOW) == 0);
  CHECK(static_cast<std::size_t>(st.st_size) == s.infection.file.size());
  ::close(dir);
}

TEST_CASE("a symbolic link is not followed into a quarantine", "[quarantine]") {
  Fixture f;
  const std::string link = f.tree + "/link.exe";
  flscan::test::make_symlink(f.file, link);
  FileResult result = scanned(f.file);
  result.path = link;
  auto q = Quarantine::open(f.qdir);
  REQUIRE(q);
  const FileAction action = Remediator(*q, builtin(), RepairMode::off).act(result);
  CHECK(action.result == ActionResult::left_in_place);
  CHECK(action.error.find("symbolic link") != std::string::npos);
  CHECK(exists(link));
  CHECK(read_bytes(f.file) == f.infected);
}

TEST_CASE("a copy inside the quarantine directory is never quarantined again", "[quarantine]") {
  Fixture f;
  const auto first = quarantine_file(f, RepairMode::off);
  REQUIRE(first);
  REQUIRE(first->result == ActionResult::quarantined);
  // A later scan of a tree holding DIR finds the copy: it is infected content.
  const FileResult copy = scanned(first->quarantine_file);
  REQUIRE(needs_quarantine(copy));
  auto q = Quarantine::open(f.qdir);
  REQUIRE(q);
  const FileAction again = Remediator(*q, builtin(), RepairMode::off).act(copy);
  CHECK(again.result == ActionResult::left_in_place);
  CHECK(again.error.find("quarantine directory itself") != std::string::npos);
  CHECK(read_bytes(first->quarantine_file) == f.infected);
  CHECK(q->entries().size() == 1);
}

TEST_CASE("the quarantine directory must be empty or flscan's, and one flscan at a time", "[quarantine]") {
  TempDir tmp;
  flscan::test::write_file(tmp / "busy/notes.txt", "someone else's");
  const auto foreign = Quarantine::open(tmp / "busy");
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().find("neither empty nor an flscan quarantine") != std::string::npos);
  CHECK(listing(tmp / "busy") == std::set<std::string>{"notes.txt"});

  auto first = Quarantine::open(tmp / "q");
  REQUIRE(first);
  const auto second = Quarantine::open(tmp / "q");
  REQUIRE_FALSE(second);
  CHECK(second.error().find("in use by another flscan") != std::string::npos);

  flscan::test::write_file(tmp / "bad/manifest.json",
                           "{\"schema\": \"flscan-quarantine\", \"schema_version\": 1, \"entries\": "
                           "[{\"file\": \"../../etc/passwd\"}]}");
  const auto hostile = Quarantine::open(tmp / "bad");
  REQUIRE_FALSE(hostile);
  CHECK(hostile.error().find("not usable") != std::string::npos);
}

TEST_CASE("repair: an infected program is disinfected in place, its original kept in quarantine", "[repair]") {
  Fixture f;
  const auto action = quarantine_file(f, RepairMode::on);
  REQUIRE(action);
  INFO(action->repair_detail << " / " << action->error);
  CHECK(action->result == ActionResult::repaired);
  CHECK(action->repair == RepairStatus::repaired);
  CHECK(action->error.empty());
  const Bytes repaired = read_bytes(f.file);
  check_is_repaired_host(repaired, f.sample);
  CHECK(meta_of(f.file) == f.meta);
  CHECK(scanned(f.file).findings.empty());
  const Manifest m = read_manifest(f.qdir);
  REQUIRE(m.entries.size() == 1);
  CHECK(m.entries[0].at("repaired_sha256") == sha(repaired));
  CHECK(read_bytes(action->quarantine_file) == f.infected);
  CHECK(listing(f.tree) == std::set<std::string>{"tool.exe"});
  // restore puts the infected original back over the file the repair wrote, and only that.
  const auto outcomes = restore(f.qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].restored);
  CHECK(read_bytes(f.file) == f.infected);
  CHECK(meta_of(f.file) == f.meta);
}

TEST_CASE("repair: system files, damaged bodies and droppers are quarantined, not repaired", "[repair]") {
  SECTION("a program Q317218 names") {
    Fixture f("CALC.EXE");
    const auto action = quarantine_file(f, RepairMode::on);
    REQUIRE(action);
    CHECK(action->result == ActionResult::quarantined);
    CHECK(action->repair == RepairStatus::system_file);
    CHECK(action->repair_detail.find("clean media") != std::string::npos);
    CHECK_FALSE(exists(f.file));
  }
  SECTION("a truncated body") {
    Fixture f;
    Bytes cut = f.infected;
    cut.resize(f.sample.infection.body_offset + 0x300);
    write_bytes(f.file, cut);
    REQUIRE(strongest_finding(scanned(f.file)).kind == FindingKind::damaged);
    const auto action = quarantine_file(f, RepairMode::on);
    REQUIRE(action);
    CHECK(action->result == ActionResult::quarantined);
    CHECK(action->repair == RepairStatus::refused);
    CHECK(action->repair_detail.find("truncated") != std::string::npos);
  }
  CHECK(is_system_file("/mnt/c/WINNT/system32/ntoskrnl.exe"));
  CHECK(is_system_file("/mnt/c/NTLDR"));
  CHECK(is_system_file("x/Winlogon.exe"));
  CHECK(is_system_file("x/csrss.exe"));
  CHECK_FALSE(is_system_file("x/notepad.exe"));
}

namespace {

enum class Scenario { quarantine, repair, restore };

const char* name_of(Scenario s) {
  switch (s) {
    case Scenario::quarantine:
      return "quarantine";
    case Scenario::repair:
      return "quarantine --repair";
    case Scenario::restore:
      return "restore";
  }
  return "";
}

// A fixture in the state the scenario starts from (restore: after a quarantine).
std::unique_ptr<Fixture> start(Scenario s) {
  auto f = std::make_unique<Fixture>();
  if (s == Scenario::restore) REQUIRE(quarantine_file(*f, RepairMode::off)->result == ActionResult::quarantined);
  return f;
}

void run(Scenario s, const Fixture& f, const QuarantineHooks& hooks) {
  if (s == Scenario::restore) {
    (void)restore(f.qdir, std::nullopt, hooks);
  } else {
    (void)quarantine_file(f, s == Scenario::repair ? RepairMode::on : RepairMode::off, hooks);
  }
}

// How many fault points a clean run passes.
std::size_t count_steps(Scenario s) {
  auto f = start(s);
  std::size_t steps = 0;
  QuarantineHooks counting;
  counting.before_step = [&](QuarantineStep) {
    ++steps;
    return 0;
  };
  run(s, *f, counting);
  return steps;
}

// After a failure or crash anywhere: nothing is lost and nothing half-done is in use.
void check_nothing_lost(const Fixture& f, Scenario s) {
  const Manifest m = read_manifest(f.qdir);
  check_entries_verified(f.qdir, m);
  const bool original_in_place = exists(f.file) && read_bytes(f.file) == f.infected;
  const json* entry = entry_for(m, f.file, sha(f.infected));
  INFO("the original is in place, or its verified copy has a committed entry");
  REQUIRE((original_in_place || entry != nullptr));
  if (exists(f.file) && !original_in_place) {
    // Only a repair puts other bytes there, and only after recording them in the entry.
    REQUIRE(s == Scenario::repair);
    REQUIRE(entry != nullptr);
    CHECK(entry->at("repaired_sha256") == sha(read_bytes(f.file)));
  }
}

// Re-running what was interrupted brings it to its clean end state.
void rerun(Scenario s, const Fixture& f) {
  if (s == Scenario::restore) {
    const auto outcomes = restore(f.qdir);
    INFO(outcome_text(outcomes));
    for (const RestoreOutcome& o : outcomes) CHECK(o.restored);
    return;
  }
  if (exists(f.file) && read_bytes(f.file) == f.infected) {
    const auto action = quarantine_file(f, s == Scenario::repair ? RepairMode::on : RepairMode::off);
    REQUIRE(action);
    INFO(action->error);
    CHECK(action->error.empty());
  } else {
    REQUIRE(Quarantine::open(f.qdir));  // recovery alone
  }
}

// The file is back where it was, exactly, and the quarantine holds nothing of it.
void check_restored(const Fixture& f) {
  REQUIRE(exists(f.file));
  CHECK(read_bytes(f.file) == f.infected);
  CHECK(meta_of(f.file) == f.meta);
  const Manifest m = read_manifest(f.qdir);
  CHECK(m.entries.empty());
  std::set<std::string> expected{".lock"};
  if (m.present) expected.insert("manifest.json");
  CHECK(listing(f.qdir) == expected);
  CHECK(listing(f.tree) == std::set<std::string>{"tool.exe"});
}

// The end state of a quarantine (or repair) run: one entry, its one copy, nothing else; then a
// restore gives the original back.
void check_quarantined_then_restore(const Fixture& f, Scenario s) {
  const Manifest m = read_manifest(f.qdir);
  REQUIRE(m.entries.size() == 1);
  check_entries_verified(f.qdir, m);
  const json& e = m.entries[0];
  CHECK(e.at("sha256") == sha(f.infected));
  CHECK(listing(f.qdir) == std::set<std::string>{".lock", "manifest.json", e.at("file").get<std::string>()});
  if (s == Scenario::quarantine) {
    CHECK_FALSE(exists(f.file));
  } else if (exists(f.file)) {  // a failed repair falls back to quarantining
    check_is_repaired_host(read_bytes(f.file), f.sample);
    CHECK(e.at("repaired_sha256") == sha(read_bytes(f.file)));
    CHECK(listing(f.tree) == std::set<std::string>{"tool.exe"});
  } else {
    CHECK(listing(f.tree).empty());
  }
  const auto outcomes = restore(f.qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK(outcomes[0].restored);
  check_restored(f);
}

void check_end_state(const Fixture& f, Scenario s) {
  if (s == Scenario::restore) {
    check_restored(f);
  } else {
    check_quarantined_then_restore(f, s);
  }
}

constexpr int kCrashed = 77;
constexpr int kChildFailed = 78;

}  // namespace

TEST_CASE("every step failing leaves the file safe, and a re-run finishes the job", "[quarantine][faults]") {
  for (const Scenario s : {Scenario::quarantine, Scenario::repair, Scenario::restore}) {
    const std::size_t steps = count_steps(s);
    CHECK(steps >= (s == Scenario::repair ? 20u : 12u));
    for (std::size_t fail_at = 0; fail_at < steps; ++fail_at) {
      auto f = start(s);
      std::size_t seen = 0;
      std::string failed_step;
      QuarantineHooks faulty;
      faulty.before_step = [&](QuarantineStep step) {
        if (seen++ != fail_at) return 0;
        failed_step = std::string(to_string(step));
        return s == Scenario::repair && fail_at % 2 == 0 ? ENOSPC : EIO;
      };
      run(s, *f, faulty);
      INFO(name_of(s) << ": step " << fail_at << " (" << failed_step << ") fails");
      REQUIRE_FALSE(failed_step.empty());
      check_nothing_lost(*f, s);
      // The failing run cleaned up its own temporary files.
      for (const std::string& name : listing(f->qdir)) CHECK(name.find(".part") == std::string::npos);
      CHECK_FALSE(listing(f->qdir).count("manifest.json.tmp"));
      for (const std::string& name : listing(f->tree)) CHECK(name.rfind(".flscan-", 0) == std::string::npos);
      rerun(s, *f);
      check_end_state(*f, s);
    }
  }
}

TEST_CASE("a crash at every step loses nothing, and re-running or restoring recovers cleanly",
          "[quarantine][faults][crash]") {
  for (const Scenario s : {Scenario::quarantine, Scenario::repair, Scenario::restore}) {
    const std::size_t steps = count_steps(s);
    for (std::size_t crash_at = 0; crash_at < steps; ++crash_at) {
      for (const bool recover_by_restore : {false, true}) {
        if (s == Scenario::restore && recover_by_restore) continue;  // the same thing twice
        auto f = start(s);
        std::cout.flush();
        const pid_t child = ::fork();
        REQUIRE(child >= 0);
        if (child == 0) {
          // No Catch2 in the child: any failure there is an exit code the parent checks.
          try {
            std::size_t seen = 0;
            QuarantineHooks crashing;
            crashing.before_step = [&](QuarantineStep) {
              if (seen++ == crash_at) ::_exit(kCrashed);
              return 0;
            };
            run(s, *f, crashing);
          } catch (...) {
            ::_exit(kChildFailed);
          }
          ::_exit(0);
        }
        int status = 0;
        REQUIRE(::waitpid(child, &status, 0) == child);
        INFO(name_of(s) << ": crash at step " << crash_at
                        << (recover_by_restore ? ", then restore" : ", then the same again"));
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == kCrashed);
        check_nothing_lost(*f, s);
        if (recover_by_restore) {
          const auto outcomes = restore(f->qdir);
          INFO(outcome_text(outcomes));
          for (const RestoreOutcome& o : outcomes) CHECK(o.restored);
          check_restored(*f);
        } else {
          rerun(s, *f);
          check_end_state(*f, s);
        }
      }
    }
  }
}

TEST_CASE("cli: --repair needs --quarantine, restore usage, JSON action fields", "[cli][quarantine]") {
  const TempDir tmp;
  auto run = flscan::test::run_flscan({"--repair", tmp / "x"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("--repair needs --quarantine") != std::string::npos);
  run = flscan::test::run_flscan({"restore", tmp / "no-such-quarantine"});
  CHECK(run.exit_code == 2);
  CHECK(run.err.find("holds no flscan quarantine") != std::string::npos);
  CHECK_FALSE(exists(tmp / "no-such-quarantine"));  // restore never creates one

  // Samples from the corpus, each with what its manifest says it is.
  const std::string corpus = FLSCAN_CORPUS_DIR;
  const std::string tree = tmp / "tree";
  fs::create_directories(tree);
  fs::copy_file(corpus + "/infected/gui_hello.exe", tree + "/hello.exe");   // repairable
  fs::copy_file(corpus + "/dropper/flcss.exe", tree + "/flcss.exe");        // quarantined, repair refused
  fs::copy_file(corpus + "/remnant/gui_hello.exe", tree + "/remnant.exe");  // informational: not touched
  const Bytes remnant = read_bytes(tree + "/remnant.exe");
  run = flscan::test::run_flscan({"--json", "-", "--quarantine", tmp / "q", "--repair", tree});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  const json doc = json::parse(run.out);
  CHECK(doc.at("options").at("repair") == true);
  CHECK(flscan::test::json_path_bytes(doc.at("options").at("quarantine")) == tmp / "q");
  const json* hello = flscan::test::find_by_path(doc.at("results"), tree + "/hello.exe");
  const json* dropper = flscan::test::find_by_path(doc.at("results"), tree + "/flcss.exe");
  const json* inert = flscan::test::find_by_path(doc.at("results"), tree + "/remnant.exe");
  REQUIRE(hello != nullptr);
  REQUIRE(dropper != nullptr);
  REQUIRE(inert != nullptr);
  CHECK(hello->at("action").at("result") == "repaired");
  CHECK(hello->at("action").at("repair") == "repaired");
  CHECK(hello->at("action").at("error").is_null());
  const std::string hello_copy = flscan::test::json_path_bytes(hello->at("action").at("quarantine_file"));
  CHECK(read_bytes(hello_copy) == read_bytes(corpus + "/infected/gui_hello.exe"));
  // The corpus's own section-9 disinfection of this sample (repaired/, repair_of) is what is now in place.
  CHECK(read_bytes(tree + "/hello.exe") == read_bytes(corpus + "/repaired/gui_hello.exe"));
  CHECK(dropper->at("action").at("result") == "quarantined");
  CHECK(dropper->at("action").at("repair") == "refused");
  CHECK_FALSE(exists(tree + "/flcss.exe"));
  CHECK(inert->at("action").is_null());
  CHECK(read_bytes(tree + "/remnant.exe") == remnant);
  CHECK(doc.at("summary").at("actions") == json{{"quarantined", 1}, {"repaired", 1}, {"left-in-place", 0}});

  run = flscan::test::run_flscan({"restore", tmp / "q"});
  INFO(run.out);
  CHECK(run.exit_code == 0);
  CHECK(run.out.find("2 restored, 0 not restored") != std::string::npos);
  CHECK(read_bytes(tree + "/hello.exe") == read_bytes(corpus + "/infected/gui_hello.exe"));
  CHECK(read_bytes(tree + "/flcss.exe") == read_bytes(corpus + "/dropper/flcss.exe"));
}

TEST_CASE("cli: the HTML and SARIF reports show what --quarantine and --repair did", "[cli][quarantine]") {
  // The samples and what must happen to each, as in the JSON test above: the corpus manifest's
  // infected program is repaired, the dropper quarantined (repair refused), the remnant untouched.
  const TempDir tmp;
  const std::string corpus = FLSCAN_CORPUS_DIR;
  const std::string tree = tmp / "tree";
  fs::create_directories(tree);
  fs::copy_file(corpus + "/infected/gui_hello.exe", tree + "/hello.exe");
  fs::copy_file(corpus + "/dropper/flcss.exe", tree + "/flcss.exe");
  fs::copy_file(corpus + "/remnant/gui_hello.exe", tree + "/remnant.exe");
  const std::string html_path = tmp / "r.html";
  const std::string sarif_path = tmp / "r.sarif";
  const auto run = flscan::test::run_flscan(
      {"--html", html_path, "--sarif", sarif_path, "--quarantine", tmp / "q", "--repair", tree});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  const std::map<std::string, std::string> want{
      {tree + "/hello.exe", "repaired"}, {tree + "/flcss.exe", "quarantined"}, {tree + "/remnant.exe", ""}};

  // SARIF: every result of a file carries properties.action (none for the untouched file).
  std::ifstream sarif_in(sarif_path);
  const json sarif = json::parse(sarif_in);
  std::map<std::string, std::set<std::string>> sarif_actions;
  for (const json& result : sarif.at("runs").at(0).at("results")) {
    const json& properties = result.at("properties");
    if (!properties.contains("path")) continue;  // host and NOT SCANNED results
    const std::string path = flscan::test::json_path_bytes(properties.at("path"));
    sarif_actions[path].insert(properties.contains("action") ? properties.at("action").at("result").get<std::string>()
                                                             : "");
    if (properties.contains("action")) CHECK_FALSE(properties.at("action").at("text").get<std::string>().empty());
  }
  for (const auto& [path, action] : want) {
    INFO(path);
    CHECK(sarif_actions[path] == std::set<std::string>{action});
  }

  // HTML: each findings row of a file has its data-action and the action's text in the last cell.
  std::ifstream html_in(html_path);
  const std::string html((std::istreambuf_iterator<char>(html_in)), std::istreambuf_iterator<char>());
  std::map<std::string, std::set<std::string>> html_actions;
  const std::regex row(
      R"re(<tr data-state="[^"]*" data-severity="[^"]*"(?: data-action="([a-z-]+)")?><td class="path">([^<]*)</td>)re");
  for (auto it = std::sregex_iterator(html.begin(), html.end(), row); it != std::sregex_iterator(); ++it) {
    html_actions[(*it)[2].str()].insert((*it)[1].str());
  }
  for (const auto& [path, action] : want) {
    INFO(path);
    CHECK(html_actions[path] == std::set<std::string>{action});
  }
  CHECK(html.find("<th>Action</th>") != std::string::npos);
  CHECK(html.find("repaired in place (") != std::string::npos);
  CHECK(html.find("<th>Quarantine</th><td>1 quarantined, 1 repaired in place, 0 left in place</td>") !=
        std::string::npos);
}

// Issue 13: a local user (nobody here) attacks root's quarantine and restore. Root is needed to
// play both sides; each attack step runs in a child process that has dropped to nobody.
namespace {

// Runs `body` as nobody in a child process; true when it returned true.
bool as_nobody(const std::function<bool()>& body) {
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(flscan::test::kNobodyGid) != 0 ||
        ::setuid(flscan::test::kNobodyUid) != 0) {
      ::_exit(10);
    }
    ::_exit(body() ? 0 : 11);
  }
  int status = 0;
  REQUIRE(::waitpid(child, &status, 0) == child);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

void make_dir(const std::string& path, mode_t mode, uid_t uid = 0) {
  fs::create_directories(path);
  REQUIRE(::chown(path.c_str(), uid, uid == 0 ? 0 : flscan::test::kNobodyGid) == 0);
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

// The root-owned directory an attacker aims at (a stand-in for /etc/profile.d), empty.
std::string make_victim(const TempDir& tmp) {
  const std::string victim = tmp / "root-owned";
  make_dir(victim, 0755);
  return victim;
}

}  // namespace

TEST_CASE("restore never follows a directory of the original's path swapped for a symlink", "[restore][hostile]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root: the attack is nobody's against root's restore");
    return;
  }
  TempDir tmp;
  const std::string victim = make_victim(tmp);
  // nobody's home with an infected download, owned by nobody.
  const std::string home = tmp / "home";
  make_dir(home, 0755, flscan::test::kNobodyUid);
  make_dir(home + "/dl", 0755, flscan::test::kNobodyUid);
  const std::string file = home + "/dl/tool.exe";
  const Sample s = make_sample();
  write_bytes(file, s.infection.file);
  REQUIRE(::chown(file.c_str(), flscan::test::kNobodyUid, flscan::test::kNobodyGid) == 0);
  const std::string qdir = tmp / "q";
  {
    auto q = Quarantine::open(qdir);
    REQUIRE(q);
    REQUIRE(Remediator(*q, builtin(), RepairMode::off).act(scanned(file)).result == ActionResult::quarantined);
  }
  // The attack: nobody swaps dl for a link to the root-owned directory.
  REQUIRE(as_nobody([&] {
    return ::rename((home + "/dl").c_str(), (home + "/dl.old").c_str()) == 0 &&
           ::symlink(victim.c_str(), (home + "/dl").c_str()) == 0;
  }));
  const auto outcomes = restore(qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].restored);
  CHECK(outcomes[0].error.find("symbolic link") != std::string::npos);
  CHECK(listing(victim).empty());
  CHECK(read_manifest(qdir).entries.size() == 1);  // the entry stays for a restore by hand
}

TEST_CASE("restore --to ROOT never follows a symlink planted where ROOT is to be created", "[restore][hostile]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root: the attack is nobody's against root's restore");
    return;
  }
  TempDir tmp;
  const std::string victim = make_victim(tmp);
  Fixture f;
  REQUIRE(quarantine_file(f, RepairMode::off)->result == ActionResult::quarantined);
  // A shared, sticky, world-writable directory like /tmp; root will restore under pub/r, which
  // nobody creates first as a link to the root-owned directory.
  const std::string pub = tmp / "pub";
  make_dir(pub, 01777);
  REQUIRE(as_nobody([&] { return ::symlink(victim.c_str(), (pub + "/r").c_str()) == 0; }));
  const auto outcomes = restore(f.qdir, pub + "/r");
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].restored);
  CHECK(outcomes[0].error.find("symbolic link") != std::string::npos);
  CHECK(listing(victim).empty());

  // nobody's own directory there instead (no link at all): restore does not write below it either.
  REQUIRE(::unlink((pub + "/r").c_str()) == 0);
  REQUIRE(as_nobody([&] { return ::mkdir((pub + "/r").c_str(), 0777) == 0; }));
  const auto again = restore(f.qdir, pub + "/r");
  INFO(outcome_text(again));
  REQUIRE(again.size() == 1);
  CHECK_FALSE(again[0].restored);
  CHECK(again[0].error.find("owned by uid 65534") != std::string::npos);
  CHECK(listing(pub + "/r").empty());
}

TEST_CASE("restore refuses a directory of the path owned by neither root nor the file's owner", "[restore][hostile]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root: the directories belong to nobody");
    return;
  }
  TempDir tmp;
  // A root-owned infected file in a directory nobody owns: nobody could move whatever root puts
  // there (a set-user-ID program, say) wherever they like.
  const std::string dir = tmp / "nobodys";
  make_dir(dir, 0755, flscan::test::kNobodyUid);
  const std::string file = dir + "/tool.exe";
  const Sample s = make_sample();
  write_bytes(file, s.infection.file);
  const std::string qdir = tmp / "q";
  {
    auto q = Quarantine::open(qdir);
    REQUIRE(q);
    REQUIRE(Remediator(*q, builtin(), RepairMode::off).act(scanned(file)).result == ActionResult::quarantined);
  }
  const auto outcomes = restore(qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].restored);
  CHECK(outcomes[0].error.find("nobodys: is owned by uid 65534") != std::string::npos);
  CHECK_FALSE(exists(file));
}

TEST_CASE("quarantine never follows a directory of the tree swapped for a symlink after the scan",
          "[quarantine][hostile]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root: the attack is nobody's against root's quarantine");
    return;
  }
  TempDir tmp;
  const Sample s = make_sample();
  // The same infected program in a root-owned directory outside the tree (same content: the
  // SHA-256 check alone cannot tell them apart).
  const std::string victim = make_victim(tmp);
  write_bytes(victim + "/tool.exe", s.infection.file);
  const std::string tree = tmp / "tree";
  make_dir(tree, 0755, flscan::test::kNobodyUid);
  make_dir(tree + "/sub", 0755, flscan::test::kNobodyUid);
  write_bytes(tree + "/sub/tool.exe", s.infection.file);
  const FileResult result = scanned(tree + "/sub/tool.exe");
  REQUIRE(as_nobody([&] {
    return ::rename((tree + "/sub").c_str(), (tree + "/old").c_str()) == 0 &&
           ::symlink(victim.c_str(), (tree + "/sub").c_str()) == 0;
  }));
  auto q = Quarantine::open(tmp / "q");
  REQUIRE(q);
  const FileAction action = Remediator(*q, builtin(), RepairMode::off).act(result, tree);
  INFO(action.error);
  CHECK(action.result == ActionResult::left_in_place);
  CHECK(action.error.find("symbolic link") != std::string::npos);
  CHECK(read_bytes(victim + "/tool.exe") == s.infection.file);
  CHECK(q->entries().empty());
}

TEST_CASE("the quarantine directory and its parents must be owned by root or the user and writable by no one else",
          "[quarantine][restore][hostile]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root: the directories belong to nobody");
    return;
  }
  TempDir tmp;
  const std::string victim = make_victim(tmp);
  // The attack: nobody prepares a world-writable "quarantine" with a forged manifest naming a
  // root-owned set-user-ID program in the root-owned directory, and a copy of their making.
  make_dir(tmp / "pub", 01777);  // like /tmp
  const std::string shared = tmp / "pub/shared";
  REQUIRE(as_nobody([&] { return ::mkdir(shared.c_str(), 0777) == 0 && ::chmod(shared.c_str(), 0777) == 0; }));
  const std::string payload = "#!/bin/sh\nid\n";
  const std::string copy = "0123456789abcdef0123456789abcdef.flq";
  const json manifest = {{"schema", "flscan-quarantine"},
                         {"schema_version", 1},
                         {"entries",
                          {{{"file", copy},
                            {"path", {{"text", victim + "/evil"}}},
                            {"size", payload.size()},
                            {"sha256", flscan::test::sha256_hex(payload)},
                            {"mode", 04755},
                            {"uid", 0},
                            {"gid", 0},
                            {"atime_ns", 0},
                            {"mtime_ns", 0},
                            {"state", "infected"},
                            {"rule", "funlove.infected"},
                            {"quarantined_at", 0},
                            {"repaired_sha256", nullptr}}}}};
  REQUIRE(as_nobody([&] {
    std::ofstream(shared + "/" + copy) << payload;
    std::ofstream(shared + "/manifest.json") << manifest.dump();
    return exists(shared + "/manifest.json");
  }));
  std::ostringstream out, err;
  const char* argv[] = {"restore", shared.c_str()};
  CHECK(run_restore_command(2, argv, out, err) == 2);
  INFO(err.str());
  CHECK(err.str().find("quarantine directory " + shared + " is owned by uid 65534") != std::string::npos);
  CHECK_FALSE(exists(victim + "/evil"));

  // Root-owned but writable by every user: as bad.
  make_dir(tmp / "open", 0777);
  const auto open = Quarantine::open(tmp / "open");
  REQUIRE_FALSE(open);
  CHECK(open.error().find(tmp / "open" + " is writable by every user") != std::string::npos);
  // A parent directory another user owns (they could rename DIR away and put their own there).
  make_dir(tmp / "nobodys", 0755, flscan::test::kNobodyUid);
  const auto below = Quarantine::open(tmp / "nobodys/q");
  REQUIRE_FALSE(below);
  CHECK(below.error().find("directory " + tmp / "nobodys" + " is owned by uid 65534") != std::string::npos);
  CHECK_FALSE(exists(tmp / "nobodys/q"));
  // A sticky world-writable parent (like /tmp) is fine: nobody else can rename what root put there.
  const auto in_tmp = Quarantine::open(tmp / "pub/q");
  INFO((in_tmp ? std::string() : in_tmp.error()));
  CHECK(in_tmp);
}

TEST_CASE("restore refuses set-user-ID bits the manifest gives to a file root did not own", "[restore][hostile]") {
  Fixture f;
  REQUIRE(quarantine_file(f, RepairMode::off)->result == ActionResult::quarantined);
  // The manifest as a forger (or an older flscan) would leave it: uid != 0 with set-group-ID.
  Manifest m = read_manifest(f.qdir);
  REQUIRE(m.entries.size() == 1);
  m.entries[0]["mode"] = 02755;
  m.entries[0]["uid"] = flscan::test::kNobodyUid;
  const json doc = {{"schema", "flscan-quarantine"}, {"schema_version", 1}, {"entries", m.entries}};
  std::ofstream(f.qdir + "/manifest.json", std::ios::trunc) << doc.dump();
  const auto outcomes = restore(f.qdir);
  INFO(outcome_text(outcomes));
  REQUIRE(outcomes.size() == 1);
  CHECK_FALSE(outcomes[0].restored);
  CHECK(outcomes[0].error.find("set-user-ID or set-group-ID") != std::string::npos);
  CHECK_FALSE(exists(f.file));
}

TEST_CASE("cli: a quarantine that fails on a read-only file system makes the run incomplete", "[cli][quarantine]") {
  if (!flscan::test::running_as_root()) {
    WARN("needs root to mount a tmpfs");
    return;
  }
  TempDir tmp;
  const std::string ro = tmp / "ro";
  fs::create_directories(ro);
  if (::mount("flscan-test", ro.c_str(), "tmpfs", 0, "size=4m") != 0) {
    WARN("mount refused (" << std::strerror(errno) << "): the read-only case is not tested here");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{ro};
  const Sample s = make_sample();
  write_bytes(ro + "/tool.exe", s.infection.file);
  REQUIRE(::mount(nullptr, ro.c_str(), nullptr, MS_REMOUNT | MS_RDONLY, nullptr) == 0);
  const auto run = flscan::test::run_flscan({"--json", "-", "--quarantine", tmp / "q", "--fail-on", "incomplete", ro});
  INFO(run.err);
  CHECK(run.exit_code == 2);
  const json doc = json::parse(run.out);
  const json* tool = flscan::test::find_by_path(doc.at("results"), ro + "/tool.exe");
  REQUIRE(tool != nullptr);
  CHECK(tool->at("action").at("result") == "left-in-place");
  CHECK(tool->at("action").at("error").get<std::string>().find("Read-only file system") != std::string::npos);
  CHECK(read_bytes(ro + "/tool.exe") == s.infection.file);
  // The summary says the run is incomplete too (issue 12, README: "complete": false).
  CHECK(doc.at("summary").at("complete") == false);
  // The text report says so in its result line, not only on the file's action line.
  const auto text = flscan::test::run_flscan({"--quarantine", tmp / "q", "--sarif", tmp / "run.sarif", ro});
  CHECK(text.exit_code == 1);
  CHECK(text.out.find("the scan is also INCOMPLETE: 1 file --quarantine left in place") != std::string::npos);
  std::ifstream sarif(tmp / "run.sarif");
  const json log = json::parse(sarif);
  CHECK(log.at("runs").at(0).at("invocations").at(0).at("executionSuccessful") == false);
  CHECK(log.at("runs").at(0).at("properties").at("complete") == false);
}

TEST_CASE("cli: a file met again through overlapping PATHs keeps its first action", "[cli][quarantine]") {
  TempDir tmp;
  const Sample s = make_sample();
  const std::string tree = tmp / "tree";
  write_bytes(tree + "/sub/tool.exe", s.infection.file);
  const auto run = flscan::test::run_flscan({"--json", "-", "--quarantine", tmp / "q", tree, tree + "/sub"});
  INFO(run.err);
  CHECK(run.exit_code == 1);
  const json doc = json::parse(run.out);
  std::size_t listed = 0;
  for (const json& result : doc.at("results")) {
    if (flscan::test::json_path_bytes(result.at("path")) != tree + "/sub/tool.exe") continue;
    ++listed;
    CHECK(result.at("action").at("result") == "quarantined");
    CHECK(result.at("action").at("error").is_null());
  }
  CHECK(listed == 2);
  CHECK(doc.at("summary").at("actions").at("left-in-place") == 0);
  CHECK(read_manifest(tmp / "q").entries.size() == 1);
  CHECK_FALSE(exists(tree + "/sub/tool.exe"));
}

TEST_CASE("cli: a hard-linked file is not claimed removed: its other links are counted", "[cli][quarantine]") {
  TempDir tmp;
  const Sample s = make_sample();
  const std::string tree = tmp / "tree";
  write_bytes(tree + "/tool.exe", s.infection.file);
  fs::create_directories(tmp / "elsewhere");
  REQUIRE(::link((tree + "/tool.exe").c_str(), (tmp / "elsewhere/link.exe").c_str()) == 0);
  const auto run = flscan::test::run_flscan({"--json", "-", "--quarantine", tmp / "q", tree});
  INFO(run.err);
  const json doc = json::parse(run.out);
  const json* tool = flscan::test::find_by_path(doc.at("results"), tree + "/tool.exe");
  REQUIRE(tool != nullptr);
  CHECK(tool->at("action").at("result") == "quarantined");
  CHECK(tool->at("action").at("other_links") == 1);
  CHECK_FALSE(exists(tree + "/tool.exe"));
  CHECK(read_bytes(tmp / "elsewhere/link.exe") == s.infection.file);
  // The text report says what is left, never "original removed".
  write_bytes(tree + "/again.exe", s.infection.file);
  REQUIRE(::link((tree + "/again.exe").c_str(), (tmp / "elsewhere/again-link.exe").c_str()) == 0);
  const auto plain = flscan::test::run_flscan({"--quarantine", tmp / "q2", tree});
  INFO(plain.out);
  CHECK(plain.out.find("this name removed; 1 other hard link to the same file still holds the infected content") !=
        std::string::npos);
  CHECK(plain.out.find("original removed") == std::string::npos);
}

TEST_CASE("open_directory_beneath: one component at a time, no symlink, no '..', owners checked, created on request",
          "[quarantine][open_path]") {
  TempDir tmp;
  fs::create_directories(tmp / "a/b");
  flscan::test::make_symlink(tmp / "a", tmp / "link");
  const int start = ::open(tmp.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  REQUIRE(start >= 0);
  auto same_dir = [](int fd, const std::string& path) {
    struct stat a {
    }, b{};
    return ::fstat(fd, &a) == 0 && ::stat(path.c_str(), &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
  };
  const auto ab = open_directory_beneath(start, "./a//b/.");
  REQUIRE(ab);
  CHECK(same_dir(*ab, tmp / "a/b"));
  ::close(*ab);

  const auto through_link = open_directory_beneath(start, "link/b");
  REQUIRE_FALSE(through_link);
  CHECK(through_link.error().where == "link");
  CHECK(through_link.error().reason == "is a symbolic link (not followed)");
  const auto up = open_directory_beneath(start, "a/../a");
  REQUIRE_FALSE(up);
  CHECK(up.error().where == "a/..");
  const auto missing = open_directory_beneath(start, "a/new/deeper");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().error == ENOENT);
  CHECK_FALSE(exists(tmp / "a/new"));

  BeneathOptions create;
  create.create_missing = true;
  const auto made = open_directory_beneath(start, "a/new/deeper", create);
  REQUIRE(made);
  CHECK(same_dir(*made, tmp / "a/new/deeper"));
  ::close(*made);

  BeneathOptions strangers;
  strangers.owners = {::geteuid() + 1};  // nobody that owns these directories
  const auto foreign = open_directory_beneath(start, "a/b", strangers);
  REQUIRE_FALSE(foreign);
  CHECK(foreign.error().where == "a");
  CHECK(foreign.error().reason.find("is owned by uid " + std::to_string(::geteuid())) == 0);
  ::close(start);
}
