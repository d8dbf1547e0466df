#include "engine/byte_view.h"
#include "scanner/image/libyal_chain.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <array>
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

namespace flscan::scanner::image {

// A VHD chain's tables, read once (load_vhd_chain) and then only read by every thread's reader.
struct VhdChain {
  struct Layer {
    Fd fd;  // the file libvhdi checked; read with pread only, so one descriptor serves every thread
    std::string path;
    std::uint64_t file_size = 0;
    std::uint64_t disk_size = 0;     // the footer's current size
    std::uint32_t type = 0;          // the footer's disk type: kVhdFixed, kVhdDynamic or kVhdDifferencing
    std::uint32_t block_size = 0;    // dynamic and differencing: bytes of disk per block
    std::uint32_t bitmap_bytes = 0;  // the sector bitmap before each block's data
    std::vector<std::uint32_t> bat;  // the block's first sector in the file, or kVhdUnallocated
  };
  std::vector<Layer> layers;  // the image named as PATH, then its parents
  std::uint64_t size = 0;     // the disk's size: libvhdi's media size of the first file
};

namespace {

// Microsoft's Virtual Hard Disk Image Format Specification (all fields big-endian): the footer,
// the last 512 bytes ("conectix"; data offset at 16, current size at 48, disk type at 60), and for
// a dynamic or differencing disk the dynamic disk header at the data offset ("cxsparse"; table
// offset at 16, max table entries at 28, block size at 32). Each BAT entry is the sector where its
// block's sector bitmap starts, the block's data right after the bitmap.
constexpr std::uint64_t kVhdSector = 512;
constexpr std::size_t kVhdFooterBytes = 512;
constexpr std::size_t kVhdHeaderBytes = 1024;
constexpr std::uint32_t kVhdFixed = 2;
constexpr std::uint32_t kVhdDynamic = 3;
constexpr std::uint32_t kVhdDifferencing = 4;
constexpr std::uint32_t kVhdUnallocated = 0xFFFFFFFF;
// Sector bitmaps each reader keeps per file (direct-mapped by block number): a scan reads a few
// files' blocks in turn, and a bitmap is one more pread of 512 bytes (2 MiB blocks) when lost.
constexpr std::size_t kVhdBitmapSlots = 16;

// The footer, dynamic header and BAT of the VHD behind `fd` (named `path`), checked against the
// file's size.
tl::expected<VhdChain::Layer, std::string> read_vhd_layer(Fd fd, const std::string& path) {
  using std::to_string;
  VhdChain::Layer layer;
  layer.path = path;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return tl::make_unexpected(path + ": fstat: " + errno_text(errno));
  layer.file_size = static_cast<std::uint64_t>(st.st_size);
  std::uint8_t footer[kVhdFooterBytes];
  if (layer.file_size < kVhdFooterBytes ||
      !pread_exact(fd.get(), footer, sizeof footer, layer.file_size - kVhdFooterBytes)) {
    return tl::make_unexpected(path + ": the VHD footer (the last 512 bytes) cannot be read");
  }
  const ByteView f(footer, sizeof footer);
  if (!f.equals_at(0, std::string_view("conectix"))) {
    return tl::make_unexpected(path +
                               ": not a VHD (no \"conectix\" footer in its last 512 bytes; a VHD's parent must "
                               "be a VHD)");
  }
  layer.disk_size = f.u64be(48).value_or(0);
  layer.type = f.u32be(60).value_or(0);
  if (layer.type == kVhdFixed) {
    // The disk is the file's bytes before the footer.
    if (layer.disk_size > layer.file_size - kVhdFooterBytes) {
      return tl::make_unexpected(path + ": a fixed VHD of " + to_string(layer.disk_size) + " bytes in a file of " +
                                 to_string(layer.file_size));
    }
    layer.fd = std::move(fd);
    return layer;
  }
  if (layer.type != kVhdDynamic && layer.type != kVhdDifferencing) {
    return tl::make_unexpected(path + ": disk type " + to_string(layer.type) +
                               " (a VHD is 2 fixed, 3 dynamic or 4 differencing)");
  }
  const std::uint64_t header_at = f.u64be(16).value_or(0);
  std::uint8_t header[kVhdHeaderBytes];
  if (header_at > layer.file_size || kVhdHeaderBytes > layer.file_size - header_at ||
      !pread_exact(fd.get(), header, sizeof header, header_at)) {
    return tl::make_unexpected(path + ": the dynamic disk header at byte " + to_string(header_at) +
                               " lies past the end of the file");
  }
  const ByteView h(header, sizeof header);
  if (!h.equals_at(0, std::string_view("cxsparse"))) {
    return tl::make_unexpected(path + ": no dynamic disk header (\"cxsparse\") at byte " + to_string(header_at));
  }
  const std::uint64_t table_at = h.u64be(16).value_or(0);
  const std::uint32_t entries = h.u32be(28).value_or(0);
  layer.block_size = h.u32be(32).value_or(0);
  if (layer.block_size < kVhdSector || layer.block_size > limits::kMaxVhdBlockBytes ||
      (layer.block_size & (layer.block_size - 1)) != 0) {
    return tl::make_unexpected(path + ": block size " + to_string(layer.block_size) +
                               " out of range (a power of two from 512 to " + to_string(limits::kMaxVhdBlockBytes) +
                               ")");
  }
  // One bit per sector of the block, in whole sectors.
  layer.bitmap_bytes =
      static_cast<std::uint32_t>((layer.block_size / kVhdSector / 8 + kVhdSector - 1) / kVhdSector * kVhdSector);
  const std::uint64_t blocks = layer.disk_size / layer.block_size + (layer.disk_size % layer.block_size != 0 ? 1u : 0u);
  if (blocks > limits::kMaxVhdBatEntries) {
    return tl::make_unexpected(path + ": " + to_string(blocks) + " blocks of " + to_string(layer.block_size) +
                               " bytes, more than " + to_string(limits::kMaxVhdBatEntries));
  }
  if (entries < blocks) {
    return tl::make_unexpected(path + ": its block allocation table has " + to_string(entries) +
                               " entries, fewer than the " + to_string(blocks) + " blocks of its " +
                               to_string(layer.disk_size) + "-byte disk");
  }
  // Only the entries of the disk's blocks are read (blocks <= kMaxVhdBatEntries: no overflow).
  const std::uint64_t table_bytes = 4 * blocks;
  if (table_at > layer.file_size || table_bytes > layer.file_size - table_at) {
    return tl::make_unexpected(path + ": the block allocation table (" + to_string(blocks) + " entries at byte " +
                               to_string(table_at) + ") lies past the end of the file");
  }
  std::vector<std::uint8_t> table(static_cast<std::size_t>(table_bytes));
  if (!pread_exact(fd.get(), table.data(), table.size(), table_at)) {
    return tl::make_unexpected(path + ": the block allocation table cannot be read");
  }
  const ByteView entries_view(table.data(), table.size());
  layer.bat.resize(static_cast<std::size_t>(blocks));
  for (std::size_t i = 0; i < layer.bat.size(); ++i) layer.bat[i] = entries_view.u32be(4 * i).value_or(kVhdUnallocated);
  layer.fd = std::move(fd);
  return layer;
}

// The disk of a VHD chain, read by this thread (open_vhd_chain).
class VhdChainReader final : public ImageReader {
 public:
  explicit VhdChainReader(std::shared_ptr<const VhdChain> chain)
      : chain_(std::move(chain)), bitmaps_(chain_->layers.size()) {}

  ssize_t read(std::uint64_t offset, char* out, std::size_t length) override {
    if (offset >= chain_->size) return 0;
    length = static_cast<std::size_t>(std::min<std::uint64_t>(length, chain_->size - offset));
    std::string error;
    if (!read_layer(0, offset, out, length, error)) {
      set_tsk_error(TSK_ERR_IMG_READ, error);
      return -1;
    }
    return static_cast<ssize_t>(length);
  }

 private:
  struct Bitmap {
    std::uint64_t block = std::numeric_limits<std::uint64_t>::max();  // none yet
    std::vector<std::uint8_t> bits;
  };

  // The disk's bytes [at, at + length) as layer `index` and its parents hold them.
  bool read_layer(std::size_t index, std::uint64_t at, char* out, std::size_t length, std::string& error) {
    const VhdChain::Layer& layer = chain_->layers[index];
    // Past this file's disk (a parent smaller than its child): zeros.
    const std::size_t inside =
        at >= layer.disk_size ? 0 : static_cast<std::size_t>(std::min<std::uint64_t>(length, layer.disk_size - at));
    std::memset(out + inside, 0, length - inside);
    if (layer.type == kVhdFixed) return read_file(layer, at, out, inside, "disk byte ", at, error);
    std::size_t done = 0;
    while (done < inside) {
      const std::uint64_t pos = at + done;
      const std::uint64_t block = pos / layer.block_size;  // < bat.size(): pos < disk_size
      const auto within = static_cast<std::uint32_t>(pos % layer.block_size);
      const auto piece = static_cast<std::size_t>(std::min<std::uint64_t>(inside - done, layer.block_size - within));
      const std::uint32_t entry = layer.bat[static_cast<std::size_t>(block)];
      if (entry == kVhdUnallocated) {
        if (!not_held(index, pos, out + done, piece, error)) return false;
      } else if (!read_block(index, block, entry, within, out + done, piece, error)) {
        return false;
      }
      done += piece;
    }
    return true;
  }

  // Bytes [within, within + piece) of allocated block `block` of layer `index`, whose bitmap is at
  // sector `entry`: each run of sectors with the same bitmap bit from the file (1) or as not held (0).
  bool read_block(std::size_t index, std::uint64_t block, std::uint32_t entry, std::uint32_t within, char* out,
                  std::size_t piece, std::string& error) {
    const VhdChain::Layer& layer = chain_->layers[index];
    const std::uint64_t bitmap_at = std::uint64_t{entry} * kVhdSector;
    const std::uint8_t* bits = bitmap(index, block, bitmap_at, error);
    if (bits == nullptr) return false;
    const auto bit = [bits](std::uint64_t sector) { return ((bits[sector / 8] >> (7 - sector % 8)) & 1) != 0; };
    const std::uint64_t last = (within + piece - 1) / kVhdSector;
    std::size_t done = 0;
    while (done < piece) {
      const std::uint64_t from = within + done;
      const bool own = bit(from / kVhdSector);
      std::uint64_t end = from / kVhdSector + 1;
      while (end <= last && bit(end) == own) ++end;
      const auto run = static_cast<std::size_t>(std::min<std::uint64_t>(piece - done, end * kVhdSector - from));
      if (own) {
        const std::uint64_t host = bitmap_at + layer.bitmap_bytes + from;
        if (!read_file(layer, host, out + done, run, "block ", block, error)) return false;
      } else if (!not_held(index, block * layer.block_size + from, out + done, run, error)) {
        return false;
      }
      done += run;
    }
    return true;
  }

  // Disk bytes layer `index` does not hold: its parent's in a differencing disk, else zeros.
  bool not_held(std::size_t index, std::uint64_t at, char* out, std::size_t length, std::string& error) {
    if (chain_->layers[index].type == kVhdDifferencing && index + 1 < chain_->layers.size()) {
      return read_layer(index + 1, at, out, length, error);
    }
    std::memset(out, 0, length);
    return true;
  }

  // `length` bytes of the layer's file at `host`, for `what` `number` (named in the error).
  static bool read_file(const VhdChain::Layer& layer, std::uint64_t host, char* out, std::size_t length,
                        const char* what, std::uint64_t number, std::string& error) {
    if (length == 0) return true;
    if (host > layer.file_size || length > layer.file_size - host) {
      error = layer.path + ": " + what + std::to_string(number) + " lies past the end of the file (bytes " +
              std::to_string(host) + " to " + std::to_string(host + length) + " of " + std::to_string(layer.file_size) +
              ")";
      return false;
    }
    errno = 0;  // a file cut short since it was opened ends the read without an errno
    if (!pread_exact(layer.fd.get(), out, length, host)) {
      error = layer.path + ": " + what + std::to_string(number) + " cannot be read at byte " + std::to_string(host) +
              ": " + (errno != 0 ? errno_text(errno) : std::string("end of file"));
      return false;
    }
    return true;
  }

  // The sector bitmap of block `block` of layer `index`, at `bitmap_at` in its file; null with
  // `error` set when it cannot be read.
  const std::uint8_t* bitmap(std::size_t index, std::uint64_t block, std::uint64_t bitmap_at, std::string& error) {
    const VhdChain::Layer& layer = chain_->layers[index];
    Bitmap& slot = bitmaps_[index][static_cast<std::size_t>(block % kVhdBitmapSlots)];
    if (slot.block == block) return slot.bits.data();
    slot.block = std::numeric_limits<std::uint64_t>::max();
    slot.bits.resize(layer.bitmap_bytes);
    if (!read_file(layer, bitmap_at, reinterpret_cast<char*>(slot.bits.data()), slot.bits.size(),
                   "the sector bitmap of block ", block, error)) {
      return nullptr;
    }
    slot.block = block;
    return slot.bits.data();
  }

  std::shared_ptr<const VhdChain> chain_;
  std::vector<std::array<Bitmap, kVhdBitmapSlots>> bitmaps_;  // per layer
};

}  // namespace

tl::expected<std::shared_ptr<const VhdChain>, std::string> load_vhd_chain(const LibyalApi& api,
                                                                          const std::vector<std::string>& files) {
  if (api.unavailable != nullptr) return tl::make_unexpected(std::string(api.unavailable));
  if (files.empty()) return tl::make_unexpected(std::string("no file to open"));
  auto chain = std::make_shared<VhdChain>();
  for (std::size_t i = 0; i < files.size(); ++i) {
    tl::expected<Fd, std::string> fd = open_chain_file(files, i);
    if (!fd) return tl::make_unexpected(fd.error());
    // libvhdi opens and checks the file (footer and header checksums, ...) and gives the disk's
    // size; the handle is not kept.
    LibyalFile checked(api);
    if (auto opened = checked.open(fd->get(), files[i]); !opened) return tl::make_unexpected(opened.error());
    if (i == 0) {
      Error* error = nullptr;
      if (api.get_media_size(checked.get(), &chain->size, &error) != 1) {
        return tl::make_unexpected(error_text(api, files[i] + ": the disk size", error));
      }
    }
    auto layer = read_vhd_layer(std::move(*fd), files[i]);
    if (!layer) return tl::make_unexpected(std::move(layer.error()));
    chain->layers.push_back(std::move(*layer));
  }
  if (chain->layers.back().type == kVhdDifferencing) {
    return tl::make_unexpected(files.back() + ": a differencing VHD that names no parent");
  }
  if (chain->size > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return tl::make_unexpected(files.front() + ": the disk size does not fit in 63 bits");
  }
  return std::shared_ptr<const VhdChain>(std::move(chain));
}

ImgPtr open_vhd_chain(const LibyalApi& api, const std::vector<std::string>& files,
                      std::shared_ptr<const VhdChain> loaded) {
  if (!loaded) {
    auto chain = load_vhd_chain(api, files);
    if (!chain) {
      set_tsk_error(TSK_ERR_IMG_OPEN, chain.error());
      return nullptr;
    }
    loaded = std::move(*chain);
  }
  const std::uint64_t size = loaded->size;
  return open_callback_image(std::make_unique<VhdChainReader>(std::move(loaded)), size);
}

}  // namespace flscan::scanner::image
