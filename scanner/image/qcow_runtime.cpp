// libqcow (Debian libqcow1), loaded at run time (dynamic_library.h), never linked.
#include <libqcow.h>

#include <type_traits>

#include "engine/byte_view.h"
#include "scanner/image/container_format.h"
#include "scanner/image/dynamic_library.h"
#include "scanner/image/libyal_formats.h"

#ifndef FLSCAN_QCOW_SONAME
#error "FLSCAN_QCOW_SONAME (libqcow's SONAME) must be defined by the build"
#endif

namespace flscan::scanner::image {
namespace {

// Each function's type in libqcow.h is the table's.
#define FLSCAN_SAME_TYPE(field, function) \
  static_assert(std::is_same_v<decltype(LibyalApi::field), decltype(&function)>, #function)
FLSCAN_SAME_TYPE(file_initialize, libqcow_file_initialize);
FLSCAN_SAME_TYPE(file_free, libqcow_file_free);
FLSCAN_SAME_TYPE(file_open, libqcow_file_open);
FLSCAN_SAME_TYPE(file_close, libqcow_file_close);
FLSCAN_SAME_TYPE(read_buffer_at_offset, libqcow_file_read_buffer_at_offset);
FLSCAN_SAME_TYPE(set_parent_file, libqcow_file_set_parent_file);
FLSCAN_SAME_TYPE(get_media_size, libqcow_file_get_media_size);
FLSCAN_SAME_TYPE(get_parent_name_size, libqcow_file_get_utf8_backing_filename_size);
FLSCAN_SAME_TYPE(get_parent_name, libqcow_file_get_utf8_backing_filename);
FLSCAN_SAME_TYPE(error_backtrace_sprint, libqcow_error_backtrace_sprint);
FLSCAN_SAME_TYPE(error_free, libqcow_error_free);
#undef FLSCAN_SAME_TYPE

// The qcow2 header (qemu's docs/interop/qcow2.txt): magic "QFI\xfb", version (u32 at 4),
// crypt_method (u32 at 32: 0 none, 1 AES, 2 LUKS), all big-endian, in the first 72 bytes.
constexpr std::size_t kQcow2Header = 72;
constexpr std::size_t kCryptMethod = 32;

std::optional<ChainFailure> qcow_head(const std::string& path, const std::vector<std::uint8_t>& head) {
  using Kind = ChainFailure::Kind;
  if (head.size() < kQcow2Header || head[0] != 'Q' || head[1] != 'F' || head[2] != 'I' || head[3] != 0xfb) {
    // Not qcow: a raw disk ends the chain; another container format is not read as raw.
    const ByteView bytes(head.data(), head.size());
    if (const auto other = recognise_container(bytes.clip(0, kContainerHeadBytes), ByteView())) {
      return ChainFailure{Kind::unsupported, path + " is a " + other->name + " (" + other->evidence +
                                                 "): a qcow2 backing file is read only as qcow2 or as a raw disk"};
    }
    return ChainFailure{Kind::raw_parent, path + " is a raw disk"};
  }
  const ByteView header(head.data(), head.size());  // at least kQcow2Header bytes
  const std::uint32_t version = header.u32be(4).value_or(0);
  if (version != 2 && version != 3) {
    return ChainFailure{Kind::unsupported, path + " is qcow version " + std::to_string(version) +
                                               ": only qcow2 (versions 2 and 3) is opened"};
  }
  // Version 3's incompatible features (u64 at 72): bit 0 (dirty) only changes refcounts; the
  // others (1 corrupt, 2 external data file, 3 compression type other than zlib, 4 extended L2
  // entries) change how clusters are found or read, which neither libqcow 20201213 nor flscan's
  // cluster lookup (libyal_chain.h) knows.
  constexpr std::size_t kIncompatibleFeatures = 72;
  if (version == 3 && head.size() >= kIncompatibleFeatures + 8) {
    const std::uint64_t features = header.u64be(kIncompatibleFeatures).value_or(0) & ~1ull;
    if (features != 0) {
      return ChainFailure{Kind::unsupported, path + " sets qcow2 incompatible features " + std::to_string(features) +
                                                 " (bit 1 corrupt, 2 external data file, 3 compression type, 4 "
                                                 "extended L2 entries), which flscan does not read"};
    }
  }
  const std::uint32_t crypt_method = header.u32be(kCryptMethod).value_or(0);
  switch (crypt_method) {
    case LIBQCOW_ENCRYPTION_METHOD_NONE:
      return std::nullopt;
    case LIBQCOW_ENCRYPTION_METHOD_AES_128_CBC:
      return ChainFailure{Kind::encrypted, path +
                                               " is a qcow2 encrypted with qemu's AES (crypt_method 1): its "
                                               "files cannot be read without the key"};
    case LIBQCOW_ENCRYPTION_METHOD_LUKS:
      return ChainFailure{Kind::encrypted, path +
                                               " is a qcow2 encrypted with LUKS (crypt_method 2): its files "
                                               "cannot be read without the key"};
    default:
      return ChainFailure{Kind::encrypted, path + " is a qcow2 with an unknown encryption (crypt_method " +
                                               std::to_string(crypt_method) + "): not read"};
  }
}

}  // namespace

const LibyalApi& qcow_api() {
  static const DynamicLibrary library(
      FLSCAN_QCOW_SONAME, "qcow2 images",
      {"libqcow_file_initialize", "libqcow_file_free", "libqcow_file_open", "libqcow_file_close",
       "libqcow_file_read_buffer_at_offset", "libqcow_file_set_parent_file", "libqcow_file_get_media_size",
       "libqcow_file_get_utf8_backing_filename_size", "libqcow_file_get_utf8_backing_filename",
       "libqcow_error_backtrace_sprint", "libqcow_error_free"});
  static const LibyalApi api = [] {
    LibyalApi table;
    table.format = "qcow2";
    table.parent_word = "backing file";
    table.unavailable = library.unavailable();
    if (table.unavailable != nullptr) return table;
    table.read_flags = LIBQCOW_OPEN_READ;
    table.file_initialize = library.function<decltype(table.file_initialize)>("libqcow_file_initialize");
    table.file_free = library.function<decltype(table.file_free)>("libqcow_file_free");
    table.file_open = library.function<decltype(table.file_open)>("libqcow_file_open");
    table.file_close = library.function<decltype(table.file_close)>("libqcow_file_close");
    table.read_buffer_at_offset =
        library.function<decltype(table.read_buffer_at_offset)>("libqcow_file_read_buffer_at_offset");
    table.set_parent_file = library.function<decltype(table.set_parent_file)>("libqcow_file_set_parent_file");
    table.get_media_size = library.function<decltype(table.get_media_size)>("libqcow_file_get_media_size");
    table.get_parent_name_size =
        library.function<decltype(table.get_parent_name_size)>("libqcow_file_get_utf8_backing_filename_size");
    table.get_parent_name = library.function<decltype(table.get_parent_name)>("libqcow_file_get_utf8_backing_filename");
    table.error_backtrace_sprint =
        library.function<decltype(table.error_backtrace_sprint)>("libqcow_error_backtrace_sprint");
    table.error_free = library.function<decltype(table.error_free)>("libqcow_error_free");
    return table;
  }();
  return api;
}

const ChainHeadRule& qcow_head_rule() {
  static const ChainHeadRule rule = qcow_head;
  return rule;
}

}  // namespace flscan::scanner::image
