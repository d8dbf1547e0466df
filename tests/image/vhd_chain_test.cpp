// VHD disks read by flscan itself (scanner/image/libyal_chain.h, load_vhd_chain and
// open_vhd_chain; issue 19): libvhdi only opens and checks each file, flscan finds every block
// through the block allocation table (BAT) and the sector bitmaps.
//
// The fixtures: dynamic and fixed VHDs made by qemu-img (Debian qemu-utils) from a raw disk, which
// must read back as that raw disk byte for byte; and VHDs written here as Microsoft's Virtual Hard
// Disk Image Format Specification lays them out (write_vhd: the footer copy at 0, the dynamic disk
// header at 512, the BAT at 1536, then each allocated block as its sector bitmap and its data, the
// footer at the end), whose disk is defined by that specification: a sector whose bitmap bit is 1
// is the file's own, one whose bit is 0 (or in an unallocated block) is the parent's in a
// differencing disk and zeros in a dynamic one. The sectors a file does not hold are filled with
// 0xEE in its blocks, so reading them from the file instead shows.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "scanner/image/image_layout.h"
#include "scanner/image/image_source.h"
#include "scanner/image/libyal_formats.h"
#include "scanner/image/limits.h"
#include "test_support.h"

namespace image = flscan::scanner::image;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr std::uint32_t kFixed = 2;
constexpr std::uint32_t kDynamic = 3;
constexpr std::uint32_t kDifferencing = 4;
constexpr std::uint8_t kNotHeld = 0xEE;  // a block's bytes in sectors its bitmap does not mark

void put_be(Bytes& bytes, std::size_t at, std::uint64_t value, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) bytes[at + i] = static_cast<std::uint8_t>(value >> (8 * (width - 1 - i)));
}

// The specification's checksum: the ones' complement of the byte sum, its own field zeroed.
void put_checksum(Bytes& bytes, std::size_t at) {
  put_be(bytes, at, 0, 4);
  std::uint32_t sum = 0;
  for (const std::uint8_t b : bytes) sum += b;
  put_be(bytes, at, ~sum, 4);
}

// Deterministic bytes (xorshift), different for each `seed`.
Bytes noise(std::size_t size, std::uint64_t seed) {
  Bytes out(size);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (std::uint8_t& b : out) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    b = static_cast<std::uint8_t>(x >> 24);
  }
  return out;
}

struct Block {
  std::uint8_t bitmap = 0xFF;  // every byte of the block's bitmap (8 sectors each)
  Bytes data;                  // block_size bytes
};

struct VhdSpec {
  std::uint32_t type = kDynamic;
  std::uint64_t disk_size = 0;
  std::uint32_t block_size = 4096;
  std::map<std::uint32_t, Block> blocks;  // the allocated ones, by block number
  Bytes fixed_data;                       // a fixed disk's bytes
  std::string parent_name;                // differencing
  Bytes parent_footer;                    // differencing: its unique id and time stamp are copied
  // Hostile values written instead of the real ones, when set.
  std::uint64_t table_offset = 0;
  std::uint32_t max_entries = 0;
  std::uint32_t bat_entry0 = 0;
};

std::uint32_t bitmap_bytes(std::uint32_t block_size) { return (block_size / 512 / 8 + 511) / 512 * 512; }

// Writes the VHD `spec` describes at `path`; returns its footer.
Bytes write_vhd(const std::string& path, const VhdSpec& spec) {
  Bytes footer(512, 0);
  std::copy_n("conectix", 8, footer.begin());
  put_be(footer, 8, 2, 4);            // features: reserved bit
  put_be(footer, 12, 0x00010000, 4);  // file format version
  put_be(footer, 16, spec.type == kFixed ? ~0ull : 512, 8);
  put_be(footer, 24, 0x2A2A2A2A + spec.type, 4);  // time stamp
  std::copy_n("tst ", 4, footer.begin() + 28);
  put_be(footer, 40, spec.disk_size, 8);
  put_be(footer, 48, spec.disk_size, 8);
  put_be(footer, 60, spec.type, 4);
  const Bytes id = noise(16, spec.disk_size + spec.type + spec.parent_name.size());
  std::copy(id.begin(), id.end(), footer.begin() + 68);
  put_checksum(footer, 64);
  Bytes file;
  if (spec.type == kFixed) {
    file = spec.fixed_data;
  } else {
    const std::uint32_t entries = static_cast<std::uint32_t>((spec.disk_size + spec.block_size - 1) / spec.block_size);
    Bytes header(1024, 0);
    std::copy_n("cxsparse", 8, header.begin());
    put_be(header, 8, ~0ull, 8);
    put_be(header, 16, spec.table_offset != 0 ? spec.table_offset : 1536, 8);
    put_be(header, 24, 0x00010000, 4);
    put_be(header, 28, spec.max_entries != 0 ? spec.max_entries : entries, 4);
    put_be(header, 32, spec.block_size, 4);
    if (spec.type == kDifferencing) {
      std::copy(spec.parent_footer.begin() + 68, spec.parent_footer.begin() + 84, header.begin() + 40);
      std::copy(spec.parent_footer.begin() + 24, spec.parent_footer.begin() + 28, header.begin() + 56);
      for (std::size_t i = 0; i < spec.parent_name.size(); ++i)
        header[64 + 2 * i + 1] = static_cast<std::uint8_t>(spec.parent_name[i]);
    }
    put_checksum(header, 36);
    const std::size_t bat_bytes = (4 * entries + 511) / 512 * 512;
    Bytes bat(bat_bytes, 0xFF);
    Bytes blocks;
    const std::uint64_t first_block = 1536 + bat_bytes;
    const std::uint32_t bitmap = bitmap_bytes(spec.block_size);
    for (const auto& [number, block] : spec.blocks) {
      REQUIRE(block.data.size() == spec.block_size);
      put_be(bat, 4 * number, (first_block + blocks.size()) / 512, 4);
      Bytes sectors(bitmap, 0);
      std::fill_n(sectors.begin(), spec.block_size / 512 / 8, block.bitmap);
      blocks.insert(blocks.end(), sectors.begin(), sectors.end());
      blocks.insert(blocks.end(), block.data.begin(), block.data.end());
    }
    if (spec.bat_entry0 != 0) put_be(bat, 0, spec.bat_entry0, 4);
    file = footer;
    file.insert(file.end(), header.begin(), header.end());
    file.insert(file.end(), bat.begin(), bat.end());
    file.insert(file.end(), blocks.begin(), blocks.end());
  }
  file.insert(file.end(), footer.begin(), footer.end());
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  return footer;
}

// A block whose sectors with bit 1 in `bitmap` hold `content`'s bytes, the others kNotHeld.
Block block_of(std::uint8_t bitmap, const Bytes& content) {
  Block block{bitmap, content};
  for (std::size_t sector = 0; sector < content.size() / 512; ++sector) {
    if (((bitmap >> (7 - sector % 8)) & 1) == 0) std::fill_n(block.data.begin() + 512 * sector, 512, kNotHeld);
  }
  return block;
}

// The disk as the specification defines it from `spec`, over `parent` (the parent's disk; empty
// for a dynamic disk): each sector from the block when its bit is 1, else the parent's.
Bytes disk_of(const VhdSpec& spec, const Bytes& parent) {
  Bytes disk(spec.disk_size, 0);
  std::copy_n(parent.begin(), std::min(parent.size(), disk.size()), disk.begin());
  for (const auto& [number, block] : spec.blocks) {
    for (std::size_t sector = 0; sector < spec.block_size / 512; ++sector) {
      if (number * spec.block_size + 512 * sector >= spec.disk_size) break;
      if (((block.bitmap >> (7 - sector % 8)) & 1) == 0) {
        if (spec.type == kDynamic) std::fill_n(disk.begin() + number * spec.block_size + 512 * sector, 512, 0);
        continue;
      }
      std::copy_n(block.data.begin() + 512 * sector, 512, disk.begin() + number * spec.block_size + 512 * sector);
    }
  }
  return disk;
}

// The image named as PATH opened as a worker opens it (image_source.h), through flscan's reader.
image::ImgPtr open_vhd(const std::string& path) {
  const auto chain = image::resolve_libyal_chain(image::vhdi_api(), path, {});
  INFO(path << ": " << (chain ? std::string() : chain.error().detail));
  REQUIRE(chain);
  image::ImageSource source{path, TSK_IMG_TYPE_DETECT, nullptr, image::ImageOpener::vhd, chain->files, "vhd"};
  image::ImgPtr img = image::open_source(source);
  INFO(tsk_error_get());
  REQUIRE(img);
  return img;
}

// The whole disk of `img` read in pieces of `piece` bytes (odd sizes cross sectors and blocks).
Bytes read_disk(TSK_IMG_INFO* img, std::size_t piece) {
  Bytes disk(static_cast<std::size_t>(img->size));
  for (std::size_t at = 0; at < disk.size(); at += piece) {
    const std::size_t n = std::min(piece, disk.size() - at);
    const ssize_t got = tsk_img_read(img, static_cast<TSK_OFF_T>(at), reinterpret_cast<char*>(disk.data() + at), n);
    INFO("offset " << at << ": " << (tsk_error_get() != nullptr ? tsk_error_get() : ""));
    REQUIRE(got == static_cast<ssize_t>(n));
  }
  return disk;
}

void check_disk(const std::string& path, const Bytes& expected) {
  const image::ImgPtr img = open_vhd(path);
  REQUIRE(static_cast<std::uint64_t>(img->size) == expected.size());
  for (const std::size_t piece : {std::size_t{3 * 512 + 7}, std::size_t{1} << 20}) {
    const Bytes disk = read_disk(img.get(), piece);
    std::size_t first = 0;
    while (first < disk.size() && disk[first] == expected[first]) ++first;
    INFO(path << ", pieces of " << piece << ": first difference at byte " << first);
    CHECK(first == disk.size());
  }
}

void sh(const std::string& command) {
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

// What detect_image says of `path`: its detail when the image is unreadable.
std::string unreadable_detail(const std::string& path) {
  const image::Detection detection = image::detect_image(path, image::ImageMode::detect);
  INFO(detection.detail);
  CHECK(detection.kind == image::Detection::Kind::unreadable);
  return detection.detail;
}

}  // namespace

TEST_CASE("vhd: dynamic and fixed VHDs made by qemu-img read as the raw disk they were made from",
          "[image][vhd][issue19]") {
  const flscan::test::TempDir dir;
  // 5 MiB and 7 sectors: three 2 MiB blocks, the last one short; data, zeros (the second block is
  // all zeros, which qemu-img leaves unallocated) and data again in the last sectors.
  Bytes raw((5u << 20) + 7 * 512, 0);
  const Bytes first = noise(1u << 20, 1);
  std::copy(first.begin(), first.end(), raw.begin() + 4096);
  const Bytes tail = noise(8 * 512, 2);
  std::copy(tail.begin(), tail.end(), raw.end() - static_cast<std::ptrdiff_t>(tail.size()));
  std::ofstream(dir / "disk.raw", std::ios::binary)
      .write(reinterpret_cast<const char*>(raw.data()), static_cast<std::streamsize>(raw.size()));
  sh("qemu-img convert -q -f raw -O vpc -o subformat=dynamic,force_size=on '" + dir / "disk.raw" + "' '" +
     dir / "dynamic.vhd" + "'");
  sh("qemu-img convert -q -f raw -O vpc -o subformat=fixed,force_size=on '" + dir / "disk.raw" + "' '" +
     dir / "fixed.vhd" + "'");
  check_disk(dir / "dynamic.vhd", raw);
  check_disk(dir / "fixed.vhd", raw);

  // A dynamic VHD named as PATH is read this way (its tables loaded once, shared by the workers).
  const image::Detection detection = image::detect_image(dir / "dynamic.vhd", image::ImageMode::detect);
  REQUIRE(detection.kind == image::Detection::Kind::image);
  CHECK(detection.layout.source.opener == image::ImageOpener::vhd);
  CHECK(detection.layout.source.vhd != nullptr);
  const image::ImgPtr img = image::open_source(detection.layout.source);
  REQUIRE(img);
  CHECK(read_disk(img.get(), 64 * 1024) == raw);
}

TEST_CASE("vhd: sector bitmaps decide, sector by sector, between a file, its parent and zeros",
          "[image][vhd][issue19]") {
  const flscan::test::TempDir dir;
  constexpr std::uint32_t kBlock = 4096;  // 8 sectors: one bitmap byte per block
  constexpr std::uint64_t kDisk = 16 * kBlock + 3 * 512;

  // base.vhd: fixed, every byte its own.
  VhdSpec base;
  base.type = kFixed;
  base.disk_size = kDisk;
  base.fixed_data = noise(kDisk, 10);
  const Bytes base_footer = write_vhd(dir / "base.vhd", base);
  const Bytes base_disk = base.fixed_data;

  // mid.vhd: differencing over base.vhd.
  VhdSpec mid;
  mid.type = kDifferencing;
  mid.disk_size = kDisk;
  mid.parent_name = "base.vhd";
  mid.parent_footer = base_footer;
  mid.blocks[1] = block_of(0xFF, noise(kBlock, 11));
  mid.blocks[2] = block_of(0x80, noise(kBlock, 12));  // sector 0 its own, 1-7 the parent's
  mid.blocks[3] = block_of(0xA5, noise(kBlock, 13));
  mid.blocks[7] = block_of(0x0F, noise(kBlock, 14));
  mid.blocks[16] = block_of(0xC0, noise(kBlock, 15));  // the last block, past the disk's end after 3 sectors
  const Bytes mid_footer = write_vhd(dir / "mid.vhd", mid);
  const Bytes mid_disk = disk_of(mid, base_disk);

  // top.vhd: differencing over mid.vhd.
  VhdSpec top;
  top.type = kDifferencing;
  top.disk_size = kDisk;
  top.parent_name = "mid.vhd";
  top.parent_footer = mid_footer;
  top.blocks[2] = block_of(0x40, noise(kBlock, 20));  // sector 1 its own, over mid's 0 and base's 2-7
  top.blocks[7] = block_of(0xF0, noise(kBlock, 21));  // sectors 0-3 its own, 4-7 mid's
  top.blocks[9] = block_of(0x01, noise(kBlock, 22));
  write_vhd(dir / "top.vhd", top);
  const Bytes top_disk = disk_of(top, mid_disk);

  // sparse.vhd: dynamic; a 0 bit reads as zeros though the block's bytes there are 0xEE.
  VhdSpec sparse;
  sparse.type = kDynamic;
  sparse.disk_size = kDisk;
  sparse.blocks[0] = block_of(0xF0, noise(kBlock, 30));
  sparse.blocks[5] = block_of(0x5A, noise(kBlock, 31));
  sparse.blocks[6] = block_of(0xFF, noise(kBlock, 32));
  write_vhd(dir / "sparse.vhd", sparse);

  check_disk(dir / "base.vhd", base_disk);
  check_disk(dir / "mid.vhd", mid_disk);
  check_disk(dir / "top.vhd", top_disk);
  check_disk(dir / "sparse.vhd", disk_of(sparse, {}));

  // As a PATH: the whole chain, in order, read through flscan's reader.
  const image::Detection detection = image::detect_image(dir / "top.vhd", image::ImageMode::detect);
  REQUIRE(detection.kind == image::Detection::Kind::image);
  CHECK(detection.layout.source.opener == image::ImageOpener::vhd);
  CHECK(detection.layout.source.files == std::vector<std::string>{dir / "top.vhd", dir / "mid.vhd", dir / "base.vhd"});
}

TEST_CASE("vhd: hostile tables are refused or fail the read, naming the file and the block", "[image][vhd][issue19]") {
  const flscan::test::TempDir dir;
  VhdSpec good;
  good.disk_size = 8 * 4096;
  good.blocks[0] = block_of(0xFF, noise(4096, 40));
  good.blocks[3] = block_of(0xFF, noise(4096, 41));
  write_vhd(dir / "good.vhd", good);
  const std::uint64_t good_size = std::filesystem::file_size(dir / "good.vhd");
  check_disk(dir / "good.vhd", disk_of(good, {}));

  SECTION("a block allocation table past the end of the file") {
    VhdSpec spec = good;
    spec.table_offset = good_size - 16;  // its 8 entries would end 16 bytes past the end
    write_vhd(dir / "bat.vhd", spec);
    const std::string detail = unreadable_detail(dir / "bat.vhd");
    CHECK(detail.find(dir / "bat.vhd" + ": the block allocation table (8 entries at byte " +
                      std::to_string(good_size - 16) + ") lies past the end of the file") != std::string::npos);
  }
  SECTION("a block past the end of the file: reading it fails, naming the block and the file") {
    VhdSpec spec = good;
    spec.bat_entry0 = 0x10000000;  // byte 128 GiB
    write_vhd(dir / "block.vhd", spec);
    const image::ImgPtr img = open_vhd(dir / "block.vhd");
    char buffer[512];
    tsk_error_reset();
    CHECK(tsk_img_read(img.get(), 3 * 4096, buffer, sizeof buffer) == static_cast<ssize_t>(sizeof buffer));
    CHECK(tsk_img_read(img.get(), 100, buffer, sizeof buffer) == -1);
    const std::string error = tsk_error_get() != nullptr ? tsk_error_get() : "";
    INFO(error);
    CHECK(error.find(dir / "block.vhd" + ": the sector bitmap of block 0 lies past the end of the file") !=
          std::string::npos);
    // As a PATH: its only volume is unreadable-image (its first sector cannot be read).
    const image::Detection detection = image::detect_image(dir / "block.vhd", image::ImageMode::detect);
    REQUIRE(detection.kind == image::Detection::Kind::image);
    REQUIRE(detection.layout.volumes.size() == 1);
    CHECK(detection.layout.volumes[0].report.reason == flscan::scanner::NotScannedReason::unreadable_image);
    INFO(detection.layout.volumes[0].report.detail);
    CHECK(detection.layout.volumes[0].report.detail.find("the sector bitmap of block 0 lies past the end") !=
          std::string::npos);
  }
  SECTION("a block size that is not a power of two, or too large") {
    for (const std::uint32_t size : {std::uint32_t{3 * 512}, image::limits::kMaxVhdBlockBytes * 2}) {
      VhdSpec spec;
      spec.disk_size = 4096;
      spec.block_size = size;
      write_vhd(dir / "size.vhd", spec);
      CHECK(unreadable_detail(dir / "size.vhd")
                .find(": block size " + std::to_string(size) + " out of range (a power of two from 512 to ") !=
            std::string::npos);
    }
  }
  SECTION("more blocks than the table's entries, or than the cap") {
    VhdSpec few = good;
    few.max_entries = 7;
    write_vhd(dir / "few.vhd", few);
    CHECK(
        unreadable_detail(dir / "few.vhd").find("its block allocation table has 7 entries, fewer than the 8 blocks") !=
        std::string::npos);
    // A disk of 2^22 + 1 blocks of 512 bytes, with a table that claims them all.
    VhdSpec many;
    many.block_size = 512;
    many.disk_size = (image::limits::kMaxVhdBatEntries + 1) * 512;
    many.max_entries = 0xFFFFFFFF;
    many.table_offset = 1536;
    write_vhd(dir / "many.vhd", many);
    CHECK(unreadable_detail(dir / "many.vhd")
              .find(std::to_string(image::limits::kMaxVhdBatEntries + 1) + " blocks of 512 bytes, more than") !=
          std::string::npos);
  }
}
