// The keys of encrypted volumes (scanner/image/volume_keys.h, issue 15): read from files, never
// from the command line, kept in memory of their own, and the process hardened once one is read.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "scanner/image/limits.h"
#include "scanner/image/volume_keys.h"
#include "test_support.h"

using flscan::scanner::image::KeyFileOption;
using flscan::scanner::image::KeyKind;
using flscan::scanner::image::looks_like_recovery_password;
using flscan::scanner::image::read_key_files;
using flscan::scanner::image::SecretBytes;

namespace {

std::string write_file(const flscan::test::TempDir& dir, const std::string& name, const std::string& bytes) {
  const std::string path = dir / name;
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

std::string text_of(const SecretBytes& secret) {
  return std::string(reinterpret_cast<const char*>(secret.data()), secret.size());
}

}  // namespace

TEST_CASE("volume keys: a recovery password's shape is 8 groups of 6 digits", "[image][keys][issue15]") {
  CHECK(looks_like_recovery_password("235818-357951-253979-013365-241120-245575-342914-591910"));
  CHECK_FALSE(looks_like_recovery_password("235818-357951-253979-013365-241120-245575-342914-59191"));
  CHECK_FALSE(looks_like_recovery_password("235818-357951-253979-013365-241120-245575-342914-5919100"));
  CHECK_FALSE(looks_like_recovery_password("235818 357951 253979 013365 241120 245575 342914 591910"));
  CHECK_FALSE(looks_like_recovery_password("23581a-357951-253979-013365-241120-245575-342914-591910"));
  CHECK_FALSE(looks_like_recovery_password("/root/recovery.txt"));
}

TEST_CASE("volume keys: read from files, one trailing newline dropped from passwords, bytes kept for a startup key",
          "[image][keys][issue15]") {
  const flscan::test::TempDir dir;
  const std::string luks = write_file(dir, "luks.txt", "pass phrase\n");
  const std::string crlf = write_file(dir, "crlf.txt", "windows\r\n");
  const std::string bek = write_file(dir, "key.bek", std::string("\x01\x02\n", 3));
  auto keys =
      read_key_files({KeyFileOption{KeyKind::luks_passphrase, luks}, KeyFileOption{KeyKind::bitlocker_password, crlf},
                      KeyFileOption{KeyKind::bitlocker_startup_key, bek}});
  REQUIRE(keys);
  REQUIRE(keys->keys.size() == 3);
  CHECK(text_of(*keys->keys[0].bytes) == "pass phrase");
  CHECK(text_of(*keys->keys[1].bytes) == "windows");
  CHECK(text_of(*keys->keys[2].bytes) == std::string("\x01\x02\n", 3));
  CHECK(keys->has(KeyKind::luks_passphrase));
  CHECK(keys->has_bitlocker());
  CHECK_FALSE(keys->has(KeyKind::bitlocker_recovery_password));
  // Once a key is read the process cannot dump core nor be read by others (volume_keys.h).
  CHECK(::prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) == 0);
  struct rlimit core {};
  REQUIRE(::getrlimit(RLIMIT_CORE, &core) == 0);
  CHECK(core.rlim_cur == 0);
}

TEST_CASE("volume keys: refused without repeating the argument", "[image][keys][issue15]") {
  const flscan::test::TempDir dir;
  const std::string rp = "235818-357951-253979-013365-241120-245575-342914-591910";
  auto refused = read_key_files({KeyFileOption{KeyKind::bitlocker_recovery_password, rp}});
  REQUIRE_FALSE(refused);
  CHECK(refused.error().find("put it in a file") != std::string::npos);
  CHECK(refused.error().find(rp) == std::string::npos);

  auto missing = read_key_files({KeyFileOption{KeyKind::luks_passphrase, dir / "my-secret-passphrase"}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().find("my-secret-passphrase") == std::string::npos);
  CHECK(missing.error().find("--luks-passphrase-file") != std::string::npos);

  auto empty = read_key_files({KeyFileOption{KeyKind::luks_passphrase, write_file(dir, "empty", "\n")}});
  REQUIRE_FALSE(empty);
  CHECK(empty.error().find("empty") != std::string::npos);

  const std::string big(flscan::scanner::image::limits::kMaxKeyFileBytes + 1, 'k');
  auto too_big = read_key_files({KeyFileOption{KeyKind::luks_passphrase, write_file(dir, "big", big)}});
  REQUIRE_FALSE(too_big);
  CHECK(too_big.error().find("larger than") != std::string::npos);

  auto twice =
      read_key_files({KeyFileOption{KeyKind::luks_passphrase, "-"}, KeyFileOption{KeyKind::luks_passphrase, "-"}});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().find("standard input") != std::string::npos);
}

TEST_CASE("volume keys: a file descriptor named as /dev/fd/N is read", "[image][keys][issue15]") {
  const flscan::test::TempDir dir;
  const int fd = ::open(write_file(dir, "fd.txt", "through a descriptor").c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  auto keys = read_key_files({KeyFileOption{KeyKind::luks_passphrase, "/dev/fd/" + std::to_string(fd)}});
  ::close(fd);
  REQUIRE(keys);
  CHECK(text_of(*keys->keys[0].bytes) == "through a descriptor");
}

TEST_CASE("volume keys: secret bytes are resized within their capacity, the rest cleansed", "[image][keys][issue15]") {
  SecretBytes secret(16);
  CHECK(secret.size() == 0);
  CHECK(secret.capacity() == 16);
  std::fill(secret.data(), secret.data() + 16, std::uint8_t{0xAA});
  secret.resize(16);
  secret.resize(4);
  CHECK(secret.size() == 4);
  CHECK(secret.data()[4] == 0);
  CHECK(secret.data()[15] == 0);
  CHECK(secret.data()[3] == 0xAA);
  secret.resize(100);
  CHECK(secret.size() == 16);
}
