#include "engine/byte_view.h"
#include "scanner/image/libyal_chain.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>
#include <vector>

#include "scanner/image/image_files.h"
#include "scanner/image/libyal_error.h"
#include "scanner/image/limits.h"
#include "scanner/image/tsk_runtime.h"
#include "scanner/platform/errno_text.h"
#include "scanner/platform/open_path.h"

namespace flscan::scanner::image {
namespace {

using Handle = LibyalApi::Handle;
using Error = LibyalApi::Error;

std::string error_text(const LibyalApi& api, std::string_view operation, Error*& error) {
  return libyal_error_text(operation, error, api.error_backtrace_sprint, api.error_free);
}

// One file opened by the library; closed and freed once, when destroyed or reset.
class LibyalFile {
 public:
  explicit LibyalFile(const LibyalApi& api) : api_(&api) {}
  ~LibyalFile() { reset(); }
  LibyalFile(LibyalFile&& other) noexcept
      : api_(other.api_), handle_(std::exchange(other.handle_, nullptr)), open_(std::exchange(other.open_, false)) {}
  LibyalFile& operator=(LibyalFile&&) = delete;
  LibyalFile(const LibyalFile&) = delete;
  LibyalFile& operator=(const LibyalFile&) = delete;

  // Opens the file behind `fd` (named `path` in errors); the descriptor may be closed afterwards
  // (the library opened its own).
  tl::expected<void, std::string> open(int fd, const std::string& path) {
    Error* error = nullptr;
    if (api_->file_initialize(&handle_, &error) != 1) {
      handle_ = nullptr;
      return tl::make_unexpected(error_text(*api_, path, error));
    }
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (api_->file_open(handle_, proc.c_str(), api_->read_flags, &error) != 1) {
      return tl::make_unexpected(error_text(*api_, path + ": cannot open it as " + api_->format, error));
    }
    open_ = true;
    return {};
  }

  void reset() {
    Error* error = nullptr;
    if (open_ && api_->file_close(handle_, &error) != 0) api_->error_free(&error);
    open_ = false;
    if (handle_ != nullptr && api_->file_free(&handle_, &error) != 1) api_->error_free(&error);
    handle_ = nullptr;
  }

  [[nodiscard]] Handle* get() const { return handle_; }

 private:
  const LibyalApi* api_;
  Handle* handle_ = nullptr;
  bool open_ = false;
};

// The image named as PATH, opened as given (a symlink operand is followed, as for any PATH).
tl::expected<Fd, std::string> open_operand(const std::string& path) {
  Fd fd(open_path(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) return tl::make_unexpected(path + ": open: " + errno_text(errno));
  return fd;
}

// The parent's name recorded in `file`; nullopt when it has none.
tl::expected<std::optional<std::string>, std::string> parent_name(const LibyalApi& api, Handle* file,
                                                                  const std::string& path) {
  Error* error = nullptr;
  std::size_t size = 0;
  const int result = api.get_parent_name_size(file, &size, &error);
  if (result < 0) return tl::make_unexpected(error_text(api, path + ": the " + api.parent_word + "'s name", error));
  if (result == 0 || size <= 1) return std::nullopt;
  if (size > limits::kMaxParentNameBytes) {
    return tl::make_unexpected(path + ": the " + api.parent_word + "'s name is " + std::to_string(size) +
                               " bytes long, more than " + std::to_string(limits::kMaxParentNameBytes));
  }
  std::vector<std::uint8_t> name(size, 0);
  if (api.get_parent_name(file, name.data(), name.size(), &error) != 1) {
    return tl::make_unexpected(error_text(api, path + ": the " + api.parent_word + "'s name", error));
  }
  const auto* text = reinterpret_cast<const char*>(name.data());
  return std::string(text, ::strnlen(text, name.size()));
}

// What a name from a crafted image may show in a report: printable ASCII, '?' for the rest.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text) out += static_cast<unsigned char>(c) >= 0x20 && static_cast<unsigned char>(c) < 0x7f ? c : '?';
  return out;
}

// File `i` of a resolved chain, opened again on this thread: the operand as given, a parent
// checked again by image_files.h's rules (it may have been swapped since).
tl::expected<Fd, std::string> open_chain_file(const std::vector<std::string>& files, std::size_t i) {
  if (i == 0) return open_operand(files[i]);
  struct stat st {};
  auto checked = open_named_file(files[i], st);
  if (!checked) return tl::make_unexpected(files[i] + ": " + checked.error().detail);
  return std::move(*checked);
}

// `path`'s parent, `recorded` in it, found beside it (image_files.h) and opened.
tl::expected<Fd, ChainFailure> open_parent(const LibyalApi& api, const std::string& path, const std::string& recorded,
                                           std::string& parent_path, struct stat& st) {
  using Kind = ChainFailure::Kind;
  const std::string what = std::string("the ") + api.parent_word + " \"" + printable(recorded) + "\" of " + path;
  const auto name = recorded_file_name(recorded);
  if (!name) return tl::make_unexpected(ChainFailure{Kind::unreadable, what + ": " + name.error()});
  parent_path = beside(path, *name);
  auto fd = open_named_file(parent_path, st);
  if (!fd) {
    const std::string rule = " (it is looked for only beside the image that names it, by file name)";
    return tl::make_unexpected(ChainFailure{
        Kind::unreadable, fd.error().missing ? what + ": " + parent_path + " is missing" + rule
                                             : what + ": " + parent_path + " is refused: " + fd.error().detail + rule});
  }
  return std::move(*fd);
}

std::vector<std::uint8_t> head_of(int fd) {
  std::vector<std::uint8_t> head(4096);
  ssize_t got = 0;
  do {
    got = ::pread(fd, head.data(), head.size(), 0);
  } while (got < 0 && errno == EINTR);
  head.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
  return head;
}

// TSK's error for this thread (without libtsk there is none to set: its own error says why).
void set_tsk_error(std::uint32_t code, const std::string& text) {
  if (tsk_unavailable() != nullptr) return;
  tsk_error_reset();
  tsk_error_set_errno(code);
  tsk_error_set_errstr("%s", text.c_str());
}

// A chain of opened files read as one disk: the library reads from the parents what the child
// does not hold itself.
class ChainReader final : public ImageReader {
 public:
  ChainReader(const LibyalApi& api, std::vector<LibyalFile> files) : api_(&api), files_(std::move(files)) {}
  ~ChainReader() override {
    for (LibyalFile& file : files_) file.reset();  // the child first: it points at its parent
  }
  ChainReader(const ChainReader&) = delete;
  ChainReader& operator=(const ChainReader&) = delete;

  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      set_tsk_error(TSK_ERR_IMG_READ_OFF, "offset past the end of the image");
      return -1;
    }
    Error* error = nullptr;
    const ssize_t got =
        api_->read_buffer_at_offset(files_.front().get(), out, length, static_cast<std::int64_t>(offset), &error);
    if (got < 0) {
      set_tsk_error(
          TSK_ERR_IMG_READ,
          error_text(*api_, std::string("read ") + api_->format + " at offset " + std::to_string(offset), error));
      return -1;
    }
    return got;
  }

 private:
  const LibyalApi* api_;
  std::vector<LibyalFile> files_;
};

// Reads exactly `length` bytes at `offset`, or fails.
bool pread_exact(int fd, void* out, std::size_t length, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < length) {
    const ssize_t n = ::pread(fd, static_cast<char*>(out) + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Where a qcow2 file maps its clusters (qemu's docs/interop/qcow2.txt, big-endian header):
// cluster_bits at 20, l1_size at 36, l1_table_offset at 40; version 3 adds incompatible_features
// at 72.
struct QcowMap {
  unsigned cluster_bits = 16;
  std::uint32_t l1_size = 0;
  std::uint64_t l1_offset = 0;
  std::uint64_t size = 0;  // the guest disk's size in bytes (header offset 24)
};
constexpr std::uint64_t kQcowOffsetMask = 0x00FFFFFFFFFFFE00ull;  // bits 9-55 of L1 and L2 entries
constexpr std::uint64_t kQcowCompressed = 1ull << 62;
constexpr std::uint64_t kQcowZeroes = 1ull;  // version 3: the cluster reads as zeros
constexpr std::uint64_t kQcowDirty = 1ull;   // incompatible feature bit 0: only refcounts may be off

tl::expected<QcowMap, std::string> qcow_map(int fd, const std::string& path) {
  std::uint8_t header[80] = {};
  if (!pread_exact(fd, header, 72, 0)) return tl::make_unexpected(path + ": the qcow2 header cannot be read");
  const ByteView fields(header, sizeof header);
  QcowMap map;
  map.cluster_bits = static_cast<unsigned>(fields.u32be(20).value_or(0));
  map.l1_size = fields.u32be(36).value_or(0);
  map.l1_offset = fields.u64be(40).value_or(0);
  map.size = fields.u64be(24).value_or(0);
  // The L1 table's entries are read at l1_offset + 8 * index (index < l1_size < 2^32): no wrap.
  if (map.l1_offset > (1ull << 62)) return tl::make_unexpected(path + ": l1_table_offset out of range");
  // qemu makes clusters of 512 bytes to 2 MiB.
  if (map.cluster_bits < 9 || map.cluster_bits > 21) {
    return tl::make_unexpected(path + ": cluster_bits " + std::to_string(map.cluster_bits) + " out of range");
  }
  if (fields.u32be(4).value_or(0) >= 3) {
    if (!pread_exact(fd, header + 72, 8, 72)) return tl::make_unexpected(path + ": the qcow2 header cannot be read");
    if (const std::uint64_t features = fields.u64be(72).value_or(0) & ~kQcowDirty; features != 0) {
      return tl::make_unexpected(path + ": incompatible features " + std::to_string(features) +
                                 " (extended L2 entries, an external data file, ...) are not read");
    }
  }
  return map;
}

enum class Held { no, data, zeros };

struct Holding {
  Held held = Held::no;
  std::uint64_t l2 = 0;  // the L2 entry (data: where the cluster is, and whether compressed)
};

// Whether the qcow2 file holds the guest byte `offset` itself: its data (allocated or
// compressed), or zeros (version 3's zero flag, bit 0 of the L2 entry, with or without a
// preallocated cluster), from one L1 and one L2 entry; an error when they cannot be read.
tl::expected<Holding, std::string> qcow_holds(int fd, const QcowMap& map, std::uint64_t offset,
                                              const std::string& path) {
  const unsigned l2_bits = map.cluster_bits - 3;
  const std::uint64_t l1_index = offset >> (map.cluster_bits + l2_bits);
  if (l1_index >= map.l1_size) return Holding{};
  std::uint8_t entry[8];
  if (!pread_exact(fd, entry, 8, map.l1_offset + 8 * l1_index)) {
    return tl::make_unexpected(path + ": L1 entry " + std::to_string(l1_index) + " cannot be read");
  }
  const std::uint64_t l2_offset = ByteView(entry, sizeof entry).u64be(0).value_or(0) & kQcowOffsetMask;
  if (l2_offset == 0) return Holding{};
  const std::uint64_t l2_index = (offset >> map.cluster_bits) & ((1ull << l2_bits) - 1);
  if (!pread_exact(fd, entry, 8, l2_offset + 8 * l2_index)) {
    return tl::make_unexpected(path + ": L2 entry at " + std::to_string(l2_offset + 8 * l2_index) + " cannot be read");
  }
  const std::uint64_t l2 = ByteView(entry, sizeof entry).u64be(0).value_or(0);
  if ((l2 & kQcowCompressed) != 0) return Holding{Held::data, l2};
  if ((l2 & kQcowZeroes) != 0) return Holding{Held::zeros, l2};
  return Holding{(l2 & kQcowOffsetMask) != 0 ? Held::data : Held::no, l2};
}

// The bytes [offset, offset + length) of the guest cluster the L2 entry `l2` places in the file
// (one cluster: the reader's pieces never cross one), read by flscan itself. libqcow 20201213 was
// given these reads first, and a crafted compressed cluster made it copy past its own buffer
// (found by fuzz_qcow): its tables were already flscan's, now its data reads are too.
//  - a plain cluster: at (l2 & kQcowOffsetMask) in the file;
//  - a compressed one (qcow2 specification, "Compressed Clusters Descriptor"): x = 62 -
//    (cluster_bits - 8); the host offset is the low x bits, the number of additional 512-byte
//    sectors the next (cluster_bits - 8) bits; its bytes are a raw deflate stream (no zlib
//    header) that must inflate to exactly one cluster.
bool read_cluster(int fd, const QcowMap& map, std::uint64_t l2, std::uint64_t offset, char* out, std::size_t length,
                  std::string& error) {
  const std::uint64_t cluster = 1ull << map.cluster_bits;
  const std::uint64_t within = offset & (cluster - 1);
  if ((l2 & kQcowCompressed) == 0) {
    const std::uint64_t host = (l2 & kQcowOffsetMask) + within;
    if (pread_exact(fd, reinterpret_cast<std::uint8_t*>(out), length, host)) return true;
    error = "a cluster at byte " + std::to_string(host) + " lies past the end of the file";
    return false;
  }
  const unsigned x = 62 - (map.cluster_bits - 8);
  const std::uint64_t host = l2 & ((1ull << x) - 1);
  const std::uint64_t sectors = ((l2 >> x) & ((1ull << (map.cluster_bits - 8)) - 1)) + 1;
  const std::uint64_t stored = sectors * 512 - (host & 511);  // at most about 2 clusters
  std::vector<std::uint8_t> packed(static_cast<std::size_t>(stored));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || host >= static_cast<std::uint64_t>(st.st_size)) {
    error = "a compressed cluster at byte " + std::to_string(host) + " lies past the end of the file";
    return false;
  }
  // The last compressed cluster may end before its last sector does.
  const std::uint64_t present = std::min<std::uint64_t>(stored, static_cast<std::uint64_t>(st.st_size) - host);
  packed.resize(static_cast<std::size_t>(present));
  if (!pread_exact(fd, packed.data(), packed.size(), host)) {
    error = "a compressed cluster at byte " + std::to_string(host) + " cannot be read";
    return false;
  }
  std::vector<std::uint8_t> plain(static_cast<std::size_t>(cluster));
  z_stream z{};
  if (::inflateInit2(&z, -15) != Z_OK) {
    error = "zlib cannot be set up";
    return false;
  }
  z.next_in = packed.data();
  z.avail_in = static_cast<uInt>(packed.size());
  z.next_out = plain.data();
  z.avail_out = static_cast<uInt>(plain.size());
  const int inflated = ::inflate(&z, Z_FINISH);
  const bool whole = (inflated == Z_STREAM_END || inflated == Z_OK || inflated == Z_BUF_ERROR) && z.avail_out == 0;
  ::inflateEnd(&z);
  if (!whole) {
    error = "a compressed cluster at byte " + std::to_string(host) + " does not inflate to one cluster";
    return false;
  }
  std::memcpy(out, plain.data() + within, length);
  return true;
}

// A qcow2 chain (libyal_chain.h, open_qcow_chain): each cluster from the first qcow2 file that
// holds it, else from the raw backing file if there is one, else zeros.
class QcowChainReader final : public ImageReader {
 public:
  struct Layer {
    Fd fd;  // its tables and clusters, read by flscan
    QcowMap map;
    std::string path;
  };
  QcowChainReader(std::vector<Layer> layers, Fd raw, std::uint64_t raw_size, std::uint64_t size)
      : layers_(std::move(layers)), raw_(std::move(raw)), raw_size_(raw_size), size_(size) {
    for (const Layer& layer : layers_) step_ = std::min<std::uint64_t>(step_, 1ull << layer.map.cluster_bits);
  }

  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= size_) return 0;
    length = static_cast<std::size_t>(std::min<std::uint64_t>(length, size_ - offset));
    std::size_t done = 0;
    while (done < length) {
      const std::uint64_t at = offset + done;
      const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(length - done, step_ - at % step_));
      if (!read_piece(at, out + done, piece)) return -1;
      done += piece;
    }
    return static_cast<ssize_t>(done);
  }

 private:
  bool read_piece(std::uint64_t at, char* out, std::size_t piece) {
    for (Layer& layer : layers_) {
      const auto holds = qcow_holds(layer.fd.get(), layer.map, at, layer.path);
      if (!holds) {
        set_tsk_error(TSK_ERR_IMG_READ, holds.error());
        return false;
      }
      if (holds->held == Held::no) continue;
      if (holds->held == Held::zeros) {
        std::memset(out, 0, piece);
        return true;
      }
      std::string error;
      if (!read_cluster(layer.fd.get(), layer.map, holds->l2, at, out, piece, error)) {
        set_tsk_error(TSK_ERR_IMG_READ, layer.path + ": guest offset " + std::to_string(at) + ": " + error);
        return false;
      }
      return true;
    }
    // No qcow2 file holds it: the raw backing file's bytes, zeros past its end or without one.
    const std::size_t present =
        at >= raw_size_ ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(piece, raw_size_ - at));
    if (present > 0 && !pread_exact(raw_.get(), out, present, at)) {
      set_tsk_error(TSK_ERR_IMG_READ, "the raw backing file cannot be read at offset " + std::to_string(at));
      return false;
    }
    std::memset(out + present, 0, piece - present);
    return true;
  }

  std::vector<Layer> layers_;
  Fd raw_;
  std::uint64_t raw_size_;
  std::uint64_t size_;
  std::uint64_t step_ = 1ull << 21;  // the smallest cluster of the chain: no piece spans two
};

}  // namespace

tl::expected<ResolvedChain, ChainFailure> resolve_libyal_chain(const LibyalApi& api, const std::string& path,
                                                               const ChainHeadRule& head_rule) {
  using Kind = ChainFailure::Kind;
  if (api.unavailable != nullptr) return tl::make_unexpected(ChainFailure{Kind::unreadable, api.unavailable});
  auto operand = open_operand(path);
  if (!operand) return tl::make_unexpected(ChainFailure{Kind::unreadable, operand.error()});
  Fd fd = std::move(*operand);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return tl::make_unexpected(ChainFailure{Kind::unreadable, path + ": fstat: " + errno_text(errno)});
  }
  ImageChain chain;
  std::string current = path;
  if (auto added = chain.add(current, st); !added) {
    return tl::make_unexpected(ChainFailure{Kind::unreadable, added.error()});
  }
  // Each turn opens one file of the chain; the chain's cap bounds the turns.
  while (true) {
    if (head_rule) {
      if (auto refused = head_rule(current, head_of(fd.get()))) {
        if (refused->kind != Kind::raw_parent) return tl::make_unexpected(std::move(*refused));
        if (chain.files().size() == 1) return tl::make_unexpected(ChainFailure{Kind::unsupported, refused->detail});
        return ResolvedChain{chain.files(), true};
      }
    }
    LibyalFile file(api);
    if (auto opened = file.open(fd.get(), current); !opened) {
      return tl::make_unexpected(ChainFailure{Kind::unreadable, opened.error()});
    }
    auto recorded = parent_name(api, file.get(), current);
    if (!recorded) return tl::make_unexpected(ChainFailure{Kind::unreadable, recorded.error()});
    if (!*recorded) return ResolvedChain{chain.files(), false};
    std::string parent_path;
    auto parent = open_parent(api, current, **recorded, parent_path, st);
    if (!parent) return tl::make_unexpected(std::move(parent.error()));
    if (auto added = chain.add(parent_path, st); !added) {
      return tl::make_unexpected(ChainFailure{Kind::unreadable, added.error()});
    }
    fd = std::move(*parent);
    current = parent_path;
  }
}

ImgPtr open_libyal_chain(const LibyalApi& api, const std::vector<std::string>& files) {
  if (api.unavailable != nullptr || files.empty()) {
    set_tsk_error(TSK_ERR_IMG_OPEN, api.unavailable != nullptr ? api.unavailable : "no file to open");
    return nullptr;
  }
  std::vector<LibyalFile> opened;
  opened.reserve(files.size());
  for (std::size_t i = 0; i < files.size(); ++i) {
    tl::expected<Fd, std::string> fd = open_chain_file(files, i);
    if (!fd) {
      set_tsk_error(TSK_ERR_IMG_OPEN, fd.error());
      return nullptr;
    }
    LibyalFile file(api);
    if (auto result = file.open(fd->get(), files[i]); !result) {
      set_tsk_error(TSK_ERR_IMG_OPEN, result.error());
      return nullptr;
    }
    opened.push_back(std::move(file));
  }
  Error* error = nullptr;
  for (std::size_t i = 0; i + 1 < opened.size(); ++i) {
    if (api.set_parent_file(opened[i].get(), opened[i + 1].get(), &error) != 1) {
      set_tsk_error(TSK_ERR_IMG_OPEN,
                    error_text(api, files[i] + ": cannot use " + files[i + 1] + " as its " + api.parent_word, error));
      for (LibyalFile& file : opened) file.reset();  // child first
      return nullptr;
    }
  }
  std::uint64_t size = 0;
  if (api.get_media_size(opened.front().get(), &size, &error) != 1) {
    set_tsk_error(TSK_ERR_IMG_OPEN, error_text(api, files.front() + ": the disk size", error));
    for (LibyalFile& file : opened) file.reset();
    return nullptr;
  }
  std::uint32_t sector_size = 512;
  if (api.get_bytes_per_sector != nullptr &&
      api.get_bytes_per_sector(opened.front().get(), &sector_size, &error) != 1) {
    api.error_free(&error);
    sector_size = 512;
  }
  if (sector_size != 512 && sector_size != 4096) sector_size = 512;
  if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    set_tsk_error(TSK_ERR_IMG_OPEN, files.front() + ": the disk size does not fit in 63 bits");
    for (LibyalFile& file : opened) file.reset();
    return nullptr;
  }
  ImgPtr img = open_callback_image(std::make_unique<ChainReader>(api, std::move(opened)), size, sector_size);
  return img;
}

}  // namespace flscan::scanner::image

namespace flscan::scanner::image {

ImgPtr open_qcow_chain(const LibyalApi& api, const std::vector<std::string>& files, bool raw_end) {
  if (api.unavailable != nullptr || files.size() < (raw_end ? 2u : 1u)) {
    set_tsk_error(TSK_ERR_IMG_OPEN, api.unavailable != nullptr ? api.unavailable : "no file to open");
    return nullptr;
  }
  const std::size_t qcow_files = raw_end ? files.size() - 1 : files.size();
  std::vector<QcowChainReader::Layer> layers;
  for (std::size_t i = 0; i < qcow_files; ++i) {
    tl::expected<Fd, std::string> fd = open_chain_file(files, i);
    if (!fd) {
      set_tsk_error(TSK_ERR_IMG_OPEN, fd.error());
      return nullptr;
    }
    auto map = qcow_map(fd->get(), files[i]);
    if (!map) {
      set_tsk_error(TSK_ERR_IMG_OPEN, map.error());
      return nullptr;
    }
    QcowChainReader::Layer layer{std::move(*fd), *map, files[i]};
    layers.push_back(std::move(layer));
  }
  Fd raw;
  std::uint64_t raw_size = 0;
  if (raw_end) {
    struct stat st {};
    auto opened = open_named_file(files.back(), st);
    if (!opened) {
      set_tsk_error(TSK_ERR_IMG_OPEN, files.back() + ": " + opened.error().detail);
      return nullptr;
    }
    raw = std::move(*opened);
    raw_size = static_cast<std::uint64_t>(st.st_size);
  }
  // The guest size is the first file's header field, as libqcow reports it: every cluster is
  // read by flscan (read_cluster), so no libqcow handle is kept open for reading.
  const std::uint64_t size = layers.front().map.size;
  if (size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    set_tsk_error(TSK_ERR_IMG_OPEN, files.front() + ": the disk size does not fit in 63 bits");
    return nullptr;
  }
  return open_callback_image(std::make_unique<QcowChainReader>(std::move(layers), std::move(raw), raw_size, size),
                             size);
}

}  // namespace flscan::scanner::image
