// Container and volume formats recognised by their bytes (scanner/image/container_format.h,
// issue 15): headers written here from each format's specification, and real files made by
// qemu-img (Debian qemu-utils), which nobody here wrote.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scanner/image/container_format.h"
#include "test_support.h"

using flscan::ByteView;
using flscan::scanner::image::ContainerSupport;
using flscan::scanner::image::kContainerHeadBytes;
using flscan::scanner::image::kContainerTailBytes;
using flscan::scanner::image::recognise_container;

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes zeros(std::size_t size) { return Bytes(size, 0); }

void put(Bytes& bytes, std::size_t offset, std::string_view text) {
  std::copy(text.begin(), text.end(), bytes.begin() + static_cast<std::ptrdiff_t>(offset));
}

// The format name recognised in a file's first 4 KiB and last 512 bytes, "" for none.
std::string name_of(const Bytes& file, ContainerSupport* support = nullptr) {
  const ByteView all(file.data(), file.size());
  const ByteView head = all.clip(0, kContainerHeadBytes);
  const ByteView tail = file.size() >= 2 * kContainerTailBytes
                            ? all.clip(file.size() - kContainerTailBytes, kContainerTailBytes)
                            : ByteView();
  const auto format = recognise_container(head, tail);
  if (!format) return "";
  if (support != nullptr) *support = format->support;
  CHECK_FALSE(format->evidence.empty());
  return format->name;
}

Bytes read_all(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("container formats: the signatures of each specification", "[image][container][issue15]") {
  using namespace std::string_view_literals;
  ContainerSupport support{};
  SECTION("qcow2 version 3 and 2 are opened (libqcow); qcow version 1 and an unknown version are not") {
    Bytes file = zeros(8192);
    put(file, 0, "QFI\xfb\0\0\0\x03"sv);
    CHECK(name_of(file, &support) == "qcow2");
    CHECK(support == ContainerSupport::opened);
    put(file, 4, "\0\0\0\x02"sv);
    CHECK(name_of(file, &support) == "qcow2");
    CHECK(support == ContainerSupport::opened);
    put(file, 4, "\0\0\0\x01"sv);
    CHECK(name_of(file, &support) == "qcow");
    CHECK(support == ContainerSupport::unsupported);
    put(file, 4, "\0\0\0\x09"sv);
    CHECK(name_of(file, &support) == "qcow (unknown version)");
    CHECK(support == ContainerSupport::unsupported);
  }
  SECTION("VDI: the signature at 0x40, little-endian") {
    Bytes file = zeros(8192);
    put(file, 0x40, "\x7f\x10\xda\xbe"sv);
    CHECK(name_of(file) == "VDI (VirtualBox)");
  }
  SECTION("LUKS1 and LUKS2, opened (a bare encrypted volume, issue 15); another version is not LUKS") {
    Bytes file = zeros(8192);
    put(file, 0, "LUKS\xba\xbe\0\x01"sv);
    CHECK(name_of(file, &support) == "LUKS1 encrypted volume");
    CHECK(support == ContainerSupport::opened);
    put(file, 6, "\0\x02"sv);
    CHECK(name_of(file, &support) == "LUKS2 encrypted volume");
    CHECK(support == ContainerSupport::opened);
    put(file, 6, "\0\x07"sv);
    CHECK(name_of(file).empty());
  }
  SECTION("an LVM2 physical volume label in any of the first four sectors, not the fifth: opened") {
    for (std::size_t sector = 0; sector < 5; ++sector) {
      Bytes file = zeros(8192);
      put(file, sector * 512, "LABELONE"sv);
      put(file, sector * 512 + 0x18, "LVM2 001"sv);
      support = ContainerSupport::unsupported;
      CHECK(name_of(file, &support) == (sector < 4 ? "LVM2 physical volume" : ""));
      if (sector < 4) CHECK(support == ContainerSupport::opened);
    }
  }
  SECTION("DMG: the koly trailer in the last 512 bytes only") {
    Bytes file = zeros(8192);
    put(file, 8192 - 512, "koly"sv);
    CHECK(name_of(file) == "DMG (Apple UDIF)");
    Bytes early = zeros(8192);
    put(early, 4096, "koly"sv);
    CHECK(name_of(early).empty());
  }
  SECTION("AFF, L01, QED, Parallels") {
    Bytes file = zeros(8192);
    put(file, 0, "AFF10\r\n\0"sv);
    CHECK(name_of(file) == "AFF");
    put(file, 0, "LVF\x09\x0d\x0a\xff\x00"sv);
    CHECK(name_of(file) == "L01 (EnCase logical evidence)");
    put(file, 0, "QED\0"sv);
    CHECK(name_of(file) == "QED");
    put(file, 0, "WithoutFreeSpace"sv);
    CHECK(name_of(file) == "Parallels HDD");
  }
  SECTION("a differencing VHD is opened (libvhdi, with its parent), and its parent is named") {
    Bytes file = zeros(8192);
    put(file, 0, "conectix"sv);
    put(file, 16, "\0\0\0\0\0\0\x02\0"sv);  // data offset 512
    put(file, 60, "\0\0\0\x04"sv);          // disk type: differencing
    put(file, 512, "cxsparse"sv);
    put(file, 512 + 64, "\0b\0a\0s\0e\0.\0v\0h\0d"sv);
    const ByteView all(file.data(), file.size());
    const auto format = recognise_container(all.clip(0, kContainerHeadBytes), ByteView());
    REQUIRE(format);
    CHECK(format->name == "differencing VHD");
    CHECK(format->support == ContainerSupport::opened);
    CHECK(format->evidence.find("parent \"base.vhd\"") != std::string::npos);
    put(file, 60, "\0\0\0\x03"sv);  // dynamic
    CHECK(name_of(file, &support) == "VHD");
    CHECK(support == ContainerSupport::opened);
  }
  SECTION("the formats flscan opens") {
    Bytes file = zeros(8192);
    put(file, 0, "EVF\x09\x0d\x0a\xff\x00"sv);
    CHECK(name_of(file, &support) == "E01");
    CHECK(support == ContainerSupport::opened);
    put(file, 0, "vhdxfile"sv);
    CHECK(name_of(file) == "VHDX");
    put(file, 0, "KDMV"sv);
    CHECK(name_of(file) == "VMDK");
    Bytes fixed_vhd = zeros(8192);
    put(fixed_vhd, 8192 - 512, "conectix"sv);
    CHECK(name_of(fixed_vhd, &support) == "VHD");
    CHECK(support == ContainerSupport::opened);
  }
  SECTION("magic bytes in a file too short for the format's header are not the format") {
    Bytes qcow = zeros(71);
    put(qcow, 0, "QFI\xfb\0\0\0\x03"sv);
    CHECK(name_of(qcow).empty());
    qcow.resize(72);
    CHECK(name_of(qcow) == "qcow2");
    Bytes luks = zeros(591);
    put(luks, 0, "LUKS\xba\xbe\0\x01"sv);
    CHECK(name_of(luks).empty());
    Bytes vhdx = zeros(4095);
    put(vhdx, 0, "vhdxfile"sv);
    CHECK(name_of(vhdx).empty());
    Bytes text = zeros(600);
    put(text, 0, "# Disk DescriptorFile\nversion=1\n"sv);
    CHECK(name_of(text).empty());
    put(text, 32, "createType=\"monolithicSparse\"\n"sv);
    CHECK(name_of(text) == "VMDK");
  }
  SECTION("an MZ file, zeros, a file too short for any signature") {
    Bytes mz = zeros(8192);
    put(mz, 0, "MZ"sv);
    put(mz, 0x40, "\x7f\x10\xda\xbe"sv);
    CHECK(name_of(mz).empty());
    CHECK(name_of(zeros(8192)).empty());
    CHECK(name_of(Bytes{'Q', 'F', 'I'}).empty());
    CHECK(name_of(Bytes{}).empty());
  }
}

TEST_CASE("container formats: files made by qemu-img are recognised", "[image][container][issue15]") {
  const flscan::test::TempDir dir;
  struct Case {
    const char* create;  // qemu-img create arguments before the file name
    const char* file;
    const char* expected;
  };
  const std::vector<Case> cases = {
      {"-f qcow2", "disk.qcow2", "qcow2"},
      {"-f qcow2 -o compat=0.10", "v2.qcow2", "qcow2"},
      {"-f qcow", "disk.qcow", "qcow"},
      {"-f qed", "disk.qed", "QED"},
      {"-f vdi", "disk.vdi", "VDI (VirtualBox)"},
      {"-f parallels", "disk.hdd", "Parallels HDD"},
      {"--object secret,id=s0,data=flscan-test -f luks -o key-secret=s0,iter-time=10", "disk.luks",
       "LUKS1 encrypted volume"},
      {"-f vhdx", "disk.vhdx", "VHDX"},
      {"-f vpc", "dynamic.vhd", "VHD"},
      {"-f vpc -o subformat=fixed", "fixed.vhd", "VHD"},
      {"-f vmdk", "disk.vmdk", "VMDK"},
      {"-f raw", "disk.raw", ""},
  };
  for (const Case& c : cases) {
    const std::string path = dir / c.file;
    // corpus/qemu_luks.py runs qemu-img with an exact thread clock for its PBKDF benchmark (LUKS),
    // which Debian 12's qemu-img otherwise fails now and then ("Unable to get accurate CPU usage").
    const std::string command =
        std::string("python3 '" FLSCAN_SOURCE_DIR "/corpus/qemu_luks.py' create -q ") + c.create + " '" + path + "' 4M";
    INFO(command);
    REQUIRE(std::system(command.c_str()) == 0);
    CHECK(name_of(read_all(path)) == c.expected);
  }
}
