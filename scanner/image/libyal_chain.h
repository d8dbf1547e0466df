// A disk image read through a libyal container library (libqcow for qcow2, libvhdi for VHD and
// VHDX), with the chain of parent files it names (issue 15); qcow2 clusters and VHD blocks are
// read by flscan itself (open_qcow_chain, open_vhd_chain).
//
// The libraries are loaded at run time (dynamic_library.h; qcow_runtime.cpp, vhdi_runtime.cpp),
// never linked. Their handles are not thread-safe: open_libyal_chain is called once per thread
// that reads the image (image_source.h), and the handles it opens are owned by that thread's TSK
// callback image (tsk_handle.h) and freed when it is closed: the child first, then its parents
// (a child only points at its parent, set with libX_file_set_parent_file).
//
// Every file is opened by flscan (the operand as given; the parents by image_files.h's rules, not
// through a symlink) and handed to the library as /proc/self/fd/N, so the library reads the very
// file that was checked.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <tl/expected.hpp>

#include "scanner/image/tsk_handle.h"

namespace flscan::scanner::image {

// The functions of one libyal container library. Their handle and error types are intptr_t in
// every libyal library (libX/types.h, libX/error.h), so one table serves each; the loaders check
// each pointer's type against the library's header.
struct LibyalApi {
  using Handle = std::intptr_t;
  using Error = std::intptr_t;
  const char* unavailable = nullptr;  // why the library could not be loaded; the rest is then unset
  const char* format = "";            // "qcow2", "VHDX": the format's name in messages
  const char* parent_word = "";       // "backing file", "parent": what the format calls it
  int read_flags = 1;                 // libX_get_access_flags_read()
  int (*file_initialize)(Handle**, Error**) = nullptr;
  int (*file_free)(Handle**, Error**) = nullptr;
  int (*file_open)(Handle*, const char*, int, Error**) = nullptr;
  int (*file_close)(Handle*, Error**) = nullptr;
  ssize_t (*read_buffer_at_offset)(Handle*, void*, std::size_t, std::int64_t, Error**) = nullptr;
  int (*set_parent_file)(Handle*, Handle*, Error**) = nullptr;
  int (*get_media_size)(Handle*, std::uint64_t*, Error**) = nullptr;
  int (*get_parent_name_size)(Handle*, std::size_t*, Error**) = nullptr;
  int (*get_parent_name)(Handle*, std::uint8_t*, std::size_t, Error**) = nullptr;
  int (*get_bytes_per_sector)(Handle*, std::uint32_t*, Error**) = nullptr;  // null: 512
  int (*error_backtrace_sprint)(Error*, char*, std::size_t) = nullptr;
  void (*error_free)(Error**) = nullptr;
};

// Why an image of a chain cannot be read.
struct ChainFailure {
  enum class Kind {
    unreadable,   // a file is missing, refused (image_files.h) or damaged: unreadable-image
    unsupported,  // a file the library cannot use (a VMDK backing file for libqcow): unsupported-image
    encrypted,    // encrypted by the container (qcow2 AES or LUKS): encrypted-volume
    raw_parent,   // not a failure: a parent that is a raw disk, which ends the chain (qcow2 over raw)
  };
  Kind kind = Kind::unreadable;
  std::string detail;
};

// What a format adds to the generic chain walk: every file of the chain (the image named as PATH
// included) is checked by its first bytes (up to 4 KiB) before the library opens it: a failure
// when it cannot be read (encrypted) or used (another container format), or raw_parent for a
// raw disk, which the library does not open: it ends the chain.
using ChainHeadRule =
    std::function<std::optional<ChainFailure>(const std::string& path, const std::vector<std::uint8_t>& head)>;

struct ResolvedChain {
  std::vector<std::string> files;  // the image named as PATH, then its parents
  bool raw_end = false;            // the last file is a raw disk (qcow2: open_qcow_chain)
};

// The files of the image `path` (as given) and of its parents, child first, each found by the
// rules of image_files.h and opened once to read its own parent's name.
[[nodiscard]] tl::expected<ResolvedChain, ChainFailure> resolve_libyal_chain(const LibyalApi& api,
                                                                             const std::string& path,
                                                                             const ChainHeadRule& head_rule);

// The chain `files` (from resolve_libyal_chain) opened on the calling thread as one TSK image;
// null with TSK's error set when it cannot be opened.
// Used for VHDX (qcow2 chains: open_qcow_chain; VHD chains: open_vhd_chain).
[[nodiscard]] ImgPtr open_libyal_chain(const LibyalApi& api, const std::vector<std::string>& files);

// A qcow2 chain (`files` and `raw_end` from resolve_libyal_chain), opened on the calling thread.
// libqcow takes only a qcow2 file as a parent, libqcow 20201213 reads a cluster that qcow2
// version 3 marks as zeros (the L2 entry's bit 0) from offset 0 of the file (its header bytes)
// instead of as zeros, and it copies past its buffer on a crafted compressed cluster: so flscan
// reads each qcow2 file itself (qemu's docs/interop/qcow2.txt): for every cluster its L1/L2
// tables find the first file of the chain that holds it; its data is read (a compressed one
// inflated to exactly one cluster), a zero cluster is zeros, and a cluster none holds comes from
// the raw file when the chain ends in one (zeros past its end), else is zeros. libqcow only
// resolved the chain (resolve_libyal_chain); `api` must be available. Null with TSK's error set
// when it cannot be opened (extended L2 entries or an external data file are refused).
[[nodiscard]] ImgPtr open_qcow_chain(const LibyalApi& api, const std::vector<std::string>& files, bool raw_end);

// A VHD chain (a dynamic, fixed or differencing VHD and its parents, from resolve_libyal_chain)
// as flscan reads it (issue 19): libvhdi 20210425 turns each sector of a block's bitmap into a
// range of its own (it shifts a bitmap byte without masking the bit: every bit after the first
// starts a new range, and a 0 bit that follows a 1 bit in the same byte reads as allocated),
// keeps 8 blocks' ranges, and searches them one by one on every read: a 2 MiB block is 4096
// ranges, and a dynamic VHD was read 29 times slower than the raw disk. So libvhdi only opens
// and checks each file (and gives the disk's size); flscan reads each file's footer, dynamic
// header and block allocation table (BAT) once, here, and the blocks itself (Microsoft's Virtual
// Hard Disk Image Format Specification): a block's sector whose bitmap bit is 1 is the file's
// own, a 0 bit or an unallocated block (0xFFFFFFFF) reads from the parent in a differencing
// disk and as zeros in a dynamic one; past a parent's size, zeros. Every field is checked: the
// block size a power of two from 512 bytes to limits::kMaxVhdBlockBytes, the BAT inside the file
// and of at most limits::kMaxVhdBatEntries entries covering the disk; a block that lies past the
// end of its file is a read error naming the block and the file. Every file of the chain must
// be a VHD (not a VHDX). The result is read-only, shared by every thread's reader.
struct VhdChain;
[[nodiscard]] tl::expected<std::shared_ptr<const VhdChain>, std::string> load_vhd_chain(
    const LibyalApi& api, const std::vector<std::string>& files);

// The VHD chain `files` as one TSK image, for the calling thread: `loaded` is its tables
// (load_vhd_chain, when the image was first opened), null to read them now. The reader keeps a
// few blocks' sector bitmaps of its own. Null with TSK's error set when it cannot be opened.
[[nodiscard]] ImgPtr open_vhd_chain(const LibyalApi& api, const std::vector<std::string>& files,
                                    std::shared_ptr<const VhdChain> loaded);

}  // namespace flscan::scanner::image
