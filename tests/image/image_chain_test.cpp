// The files an image names (scanner/image/image_files.h, issue 15): a qcow2's backing file is
// looked up only beside the image, by file name, as a regular file that is not a symlink; a loop
// or a chain longer than the cap is refused. The qcow2 files are made by qemu-img (Debian
// qemu-utils) with the backing name each case needs (-u: qemu-img does not open it), and resolved
// through libqcow (loaded at run time). Split raw sets (split_raw.h) are named files of zeros.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "scanner/image/image_files.h"
#include "scanner/image/image_source.h"
#include "scanner/image/libyal_formats.h"
#include "scanner/image/limits.h"
#include "scanner/image/split_raw.h"
#include "test_support.h"

namespace image = flscan::scanner::image;
using image::ChainFailure;

namespace {

// A 1 MiB qcow2 at `path` whose backing file is recorded as `backing` ("" for none).
void make_qcow2(const std::string& path, const std::string& backing) {
  std::string command = "qemu-img create -q -f qcow2 ";
  if (!backing.empty()) command += "-u -F qcow2 -b '" + backing + "' ";
  command += "'" + path + "' 1M";
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

tl::expected<image::ResolvedChain, ChainFailure> resolve(const std::string& path) {
  const image::LibyalApi& api = image::qcow_api();
  REQUIRE(api.unavailable == nullptr);
  return image::resolve_libyal_chain(api, path, image::qcow_head_rule());
}

// The chain's failure, which must be `kind` and whose detail must hold `text`.
void refused(const std::string& path, ChainFailure::Kind kind, const std::string& text) {
  const auto chain = resolve(path);
  REQUIRE_FALSE(chain);
  INFO(chain.error().detail);
  CHECK(chain.error().kind == kind);
  CHECK(chain.error().detail.find(text) != std::string::npos);
}

// The qcow2 chain of `child` resolved, whose last file must be raw or not as `raw_end` says,
// opened as open_source opens it on a worker thread.
image::ImgPtr open_chain(const std::string& child, bool raw_end) {
  const auto chain = resolve(child);
  REQUIRE(chain);
  REQUIRE(chain->raw_end == raw_end);
  const image::ImageSource source{child,        TSK_IMG_TYPE_DETECT,
                                  nullptr,      raw_end ? image::ImageOpener::qcow_over_raw : image::ImageOpener::qcow,
                                  chain->files, "qcow2"};
  image::ImgPtr img = image::open_source(source);
  REQUIRE(img);
  return img;
}

void touch(const std::string& path, std::size_t size = 512) {
  std::ofstream(path, std::ios::binary) << std::string(size, '\0');
}

}  // namespace

TEST_CASE("image chains: a backing file is found beside the image, by its file name", "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "snap");
  make_qcow2(dir / "snap/base.qcow2", "");
  make_qcow2(dir / "snap/mid.qcow2", "base.qcow2");
  make_qcow2(dir / "snap/top.qcow2", "mid.qcow2");
  const auto chain = resolve(dir / "snap/top.qcow2");
  REQUIRE(chain);
  CHECK(chain->files ==
        std::vector<std::string>{dir / "snap/top.qcow2", dir / "snap/mid.qcow2", dir / "snap/base.qcow2"});
  CHECK_FALSE(chain->raw_end);
  // The operand's directory as given: a relative path keeps its relative parents.
  const std::string cwd = std::filesystem::current_path();
  REQUIRE(::chdir(dir.path().c_str()) == 0);
  const auto relative = resolve("snap/top.qcow2");
  REQUIRE(::chdir(cwd.c_str()) == 0);
  REQUIRE(relative);
  CHECK(relative->files == std::vector<std::string>{"snap/top.qcow2", "snap/mid.qcow2", "snap/base.qcow2"});
}

TEST_CASE("image chains: an absolute backing path is looked up by its name beside the image, never at that path",
          "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "elsewhere");
  std::filesystem::create_directories(dir.path() / "snap");
  make_qcow2(dir / "elsewhere/base.qcow2", "");
  make_qcow2(dir / "snap/child.qcow2", dir / "elsewhere/base.qcow2");
  // Only the absolute path exists: refused as missing beside the child.
  refused(dir / "snap/child.qcow2", ChainFailure::Kind::unreadable, dir / "snap/base.qcow2" + " is missing");
  // A file of that name beside the child is the one used.
  make_qcow2(dir / "snap/base.qcow2", "");
  const auto chain = resolve(dir / "snap/child.qcow2");
  REQUIRE(chain);
  CHECK(chain->files.back() == dir / "snap/base.qcow2");
}

TEST_CASE("image chains: \"../\" in a backing name does not leave the image's directory", "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "snap");
  make_qcow2(dir / "base.qcow2", "");
  make_qcow2(dir / "snap/child.qcow2", "../base.qcow2");
  refused(dir / "snap/child.qcow2", ChainFailure::Kind::unreadable, dir / "snap/base.qcow2" + " is missing");
  make_qcow2(dir / "snap/dots.qcow2", "..");
  refused(dir / "snap/dots.qcow2", ChainFailure::Kind::unreadable, "names no file");
}

TEST_CASE("image chains: a backing file that is a symlink or not a regular file is refused",
          "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  make_qcow2(dir / "real.qcow2", "");
  std::filesystem::create_symlink("real.qcow2", dir.path() / "link.qcow2");
  make_qcow2(dir / "child.qcow2", "link.qcow2");
  refused(dir / "child.qcow2", ChainFailure::Kind::unreadable, "a symbolic link, not followed");
  // A FIFO is never opened (an open would block until a writer comes).
  REQUIRE(::mkfifo((dir / "fifo.qcow2").c_str(), 0600) == 0);
  make_qcow2(dir / "reader.qcow2", "fifo.qcow2");
  refused(dir / "reader.qcow2", ChainFailure::Kind::unreadable, "not a regular file");
}

TEST_CASE("image chains: a loop and a chain longer than the cap are refused", "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  make_qcow2(dir / "a.qcow2", "b.qcow2");
  make_qcow2(dir / "b.qcow2", "a.qcow2");
  refused(dir / "a.qcow2", ChainFailure::Kind::unreadable,
          "loops: " + dir / "a.qcow2" + " -> " + dir / "b.qcow2" + " -> " + dir / "a.qcow2");
  make_qcow2(dir / "self.qcow2", "self.qcow2");
  refused(dir / "self.qcow2", ChainFailure::Kind::unreadable, "loops");
  // kMaxImageChainDepth files are read; one more is refused.
  const std::size_t cap = image::limits::kMaxImageChainDepth;
  make_qcow2(dir / "d0.qcow2", "");
  for (std::size_t i = 1; i <= cap; ++i) {
    make_qcow2(dir / ("d" + std::to_string(i) + ".qcow2"), "d" + std::to_string(i - 1) + ".qcow2");
  }
  const auto longest = resolve(dir / ("d" + std::to_string(cap - 1) + ".qcow2"));
  REQUIRE(longest);
  CHECK(longest->files.size() == cap);
  refused(dir / ("d" + std::to_string(cap) + ".qcow2"), ChainFailure::Kind::unreadable,
          "longer than " + std::to_string(cap) + " files");
}

TEST_CASE(
    "image chains: a raw backing file ends the chain, another container is unsupported, an encrypted qcow2 "
    "is encrypted",
    "[image][chain][issue15]") {
  const flscan::test::TempDir dir;
  touch(dir / "disk.raw", 1 << 20);
  make_qcow2(dir / "child.qcow2", "disk.raw");
  const auto chain = resolve(dir / "child.qcow2");
  REQUIRE(chain);
  CHECK(chain->files == std::vector<std::string>{dir / "child.qcow2", dir / "disk.raw"});
  CHECK(chain->raw_end);
  // A VDI (qemu-img's) is no raw disk: never read as one.
  REQUIRE(std::system(("qemu-img create -q -f vdi '" + dir / "disk.vdi" + "' 1M").c_str()) == 0);
  make_qcow2(dir / "over-vdi.qcow2", "disk.vdi");
  refused(dir / "over-vdi.qcow2", ChainFailure::Kind::unsupported, "VDI");
  // Extended L2 entries (incompatible feature bit 4): clusters are found another way.
  REQUIRE(std::system(("qemu-img create -q -f qcow2 -o extended_l2=on '" + dir / "l2.qcow2" + "' 1M").c_str()) == 0);
  refused(dir / "l2.qcow2", ChainFailure::Kind::unsupported, "incompatible features 16");
  // qemu's header with crypt_method 1 (AES) at offset 32 (qemu's docs/interop/qcow2.txt).
  make_qcow2(dir / "aes.qcow2", "");
  {
    std::fstream file(dir / "aes.qcow2", std::ios::binary | std::ios::in | std::ios::out);
    file.seekp(32);
    file.write("\0\0\0\x01", 4);
  }
  refused(dir / "aes.qcow2", ChainFailure::Kind::encrypted, "AES");
}

TEST_CASE("image chains: a recorded name's last component, POSIX or Windows", "[image][chain][issue15]") {
  CHECK(image::recorded_file_name("base.vhdx") == "base.vhdx");
  CHECK(image::recorded_file_name("/var/lib/libvirt/images/base.qcow2") == "base.qcow2");
  CHECK(image::recorded_file_name("C:\\VMs\\Disks\\base.vhdx") == "base.vhdx");
  CHECK(image::recorded_file_name(".\\base.vhdx") == "base.vhdx");
  CHECK_FALSE(image::recorded_file_name("dir/"));
  CHECK_FALSE(image::recorded_file_name("."));
  CHECK_FALSE(image::recorded_file_name(""));
  CHECK(image::beside("snap/top.qcow2", "base.qcow2") == "snap/base.qcow2");
  CHECK(image::beside("top.qcow2", "base.qcow2") == "base.qcow2");
  CHECK(image::beside("/top.qcow2", "base.qcow2") == "/base.qcow2");
}

TEST_CASE("split raw sets: the first segment names the set, a later one or a hole is told apart",
          "[image][split][issue15]") {
  using Kind = image::SplitSet::Kind;
  const flscan::test::TempDir dir;
  SECTION(".001 .002 .003 (FTK Imager)") {
    for (const char* name : {"d.001", "d.002", "d.003"}) touch(dir / name);
    const auto set = image::split_set_of(dir / "d.001");
    CHECK(set.kind == Kind::set);
    CHECK(set.segments == std::vector<std::string>{dir / "d.001", dir / "d.002", dir / "d.003"});
    const auto later = image::split_set_of(dir / "d.003");
    CHECK(later.kind == Kind::later);
    CHECK(later.first == dir / "d.001");
    CHECK(later.detail.find("segment 3 of the split raw set " + dir / "d.001") != std::string::npos);
  }
  SECTION(".000 .001 (split -d -a 3): .001 is the second segment") {
    for (const char* name : {"d.000", "d.001"}) touch(dir / name);
    CHECK(image::split_set_of(dir / "d.000").segments == std::vector<std::string>{dir / "d.000", dir / "d.001"});
    const auto later = image::split_set_of(dir / "d.001");
    CHECK(later.kind == Kind::later);
    CHECK(later.first == dir / "d.000");
  }
  SECTION(".aa .ab (split)") {
    for (const char* name : {"x.aa", "x.ab"}) touch(dir / name);
    CHECK(image::split_set_of(dir / "x.aa").segments == std::vector<std::string>{dir / "x.aa", dir / "x.ab"});
    CHECK(image::split_set_of(dir / "x.ab").kind == Kind::later);
  }
  SECTION("a missing middle segment is named") {
    for (const char* name : {"d.001", "d.002", "d.004"}) touch(dir / name);
    const auto set = image::split_set_of(dir / "d.001");
    CHECK(set.kind == Kind::gap);
    CHECK(set.detail.find(dir / "d.003" + ", is missing") != std::string::npos);
  }
  SECTION("a segment that is a symlink is refused, never followed") {
    touch(dir / "d.001");
    touch(dir / "elsewhere");
    std::filesystem::create_symlink("elsewhere", dir.path() / "d.002");
    const auto set = image::split_set_of(dir / "d.001");
    CHECK(set.kind == Kind::refused);
    CHECK(set.detail.find("symbolic link") != std::string::npos);
  }
  SECTION("a file alone, or a name without a segment suffix, is no set") {
    touch(dir / "d.001");
    CHECK(image::split_set_of(dir / "d.001").kind == Kind::none);
    touch(dir / "disk.raw");
    CHECK(image::split_set_of(dir / "disk.raw").kind == Kind::none);
    touch(dir / "d.1");
    touch(dir / "d.2");
    CHECK(image::split_set_of(dir / "d.1").kind == Kind::none);
  }
}

TEST_CASE("split raw sets: a segment name is three digits or two lower-case letters after the last dot",
          "[image][split][issue15]") {
  for (const char* name : {"disk.000", "disk.001", "dir/x.y.999", "disk.aa", "disk.zz", "a.b/disk.ab"}) {
    INFO(name);
    CHECK(image::has_segment_name(name));
  }
  for (const char* name : {"disk.0001", "disk.01", "disk.AA", "disk.a1", "disk.abc", "disk", ".001", "dir/.aa",
                           "disk.001/", "disk.00a", "disk.e01", ""}) {
    INFO(name);
    CHECK_FALSE(image::has_segment_name(name));
  }
}

TEST_CASE("image chains: a qcow2 over a raw file reads each cluster from the file that holds it",
          "[image][chain][issue15]") {
  // The raw base: 1 MiB of 0xAB. The qcow2 (2 MiB, qemu-io writes): cluster 0 of 0x11, cluster 1
  // written as zeros (the v3 zero flag: zeros, not the base's bytes), cluster 2 compressed 0x22;
  // the rest of the first MiB comes from the base, the second MiB (past the base's end) is zeros.
  const flscan::test::TempDir dir;
  touch(dir / "base.raw", 0);
  { std::ofstream(dir / "base.raw", std::ios::binary) << std::string(1 << 20, '\xab'); }
  const std::string child = dir / "child.qcow2";
  REQUIRE(std::system(("qemu-img create -q -f qcow2 -b base.raw -F raw '" + child + "' 2M").c_str()) == 0);
  REQUIRE(std::system(("qemu-io -f qcow2 -c 'write -q -P 0x11 0 64k' -c 'write -q -z 64k 64k' "
                       "-c 'write -q -c -P 0x22 128k 64k' '" +
                       child + "'")
                          .c_str()) == 0);
  const image::ImgPtr img = open_chain(child, true);
  CHECK(img->size == 2 << 20);
  auto byte_at = [&](std::uint64_t offset) {
    char c = 0;
    REQUIRE(tsk_img_read(img.get(), static_cast<TSK_OFF_T>(offset), &c, 1) == 1);
    return static_cast<unsigned char>(c);
  };
  CHECK(byte_at(0) == 0x11);
  CHECK(byte_at(65535) == 0x11);
  CHECK(byte_at(65536) == 0x00);
  CHECK(byte_at(131072 + 100) == 0x22);
  CHECK(byte_at(196608) == 0xab);
  CHECK(byte_at((1 << 20) - 1) == 0xab);
  CHECK(byte_at(1 << 20) == 0x00);
  // One read across the clusters of different files.
  std::string span(4, '\0');
  REQUIRE(tsk_img_read(img.get(), 65534, span.data(), span.size()) == 4);
  CHECK(span == std::string("\x11\x11\0\0", 4));
}

TEST_CASE("image chains: a qcow2 zero cluster reads as zeros, not as its backing file's bytes",
          "[image][chain][issue15]") {
  // base.qcow2 holds 0xAB in its first MiB; child.qcow2 over it marks cluster 1 as zeros (qemu-io
  // write -z: the v3 zero flag) and writes 0x11 into cluster 2.
  const flscan::test::TempDir dir;
  const std::string base = dir / "base.qcow2";
  const std::string child = dir / "child.qcow2";
  REQUIRE(
      std::system(("qemu-img create -q -f qcow2 '" + base + "' 1M && qemu-io -f qcow2 -c 'write -q -P 0xab 0 1M' '" +
                   base + "' && qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 '" + child +
                   "' && qemu-io -f qcow2 -c 'write -q -z 64k 64k' -c 'write -q -P 0x11 128k 64k' '" + child + "'")
                      .c_str()) == 0);
  const image::ImgPtr img = open_chain(child, false);
  std::string bytes(4, '\0');
  for (const auto& [offset, expected] : std::vector<std::pair<TSK_OFF_T, std::string>>{{0, "\xab\xab\xab\xab"},
                                                                                       {65536, std::string(4, '\0')},
                                                                                       {131072, "\x11\x11\x11\x11"},
                                                                                       {196608, "\xab\xab\xab\xab"}}) {
    INFO("offset " << offset);
    REQUIRE(tsk_img_read(img.get(), offset, bytes.data(), bytes.size()) == 4);
    CHECK(bytes == expected);
  }
}
