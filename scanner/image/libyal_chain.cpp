#include "scanner/image/libyal_chain.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <memory>

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

}  // namespace

tl::expected<std::vector<std::string>, ChainFailure> resolve_libyal_chain(const LibyalApi& api, const std::string& path,
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
      if (auto refused = head_rule(current, head_of(fd.get()))) return tl::make_unexpected(std::move(*refused));
    }
    LibyalFile file(api);
    if (auto opened = file.open(fd.get(), current); !opened) {
      return tl::make_unexpected(ChainFailure{Kind::unreadable, opened.error()});
    }
    auto recorded = parent_name(api, file.get(), current);
    if (!recorded) return tl::make_unexpected(ChainFailure{Kind::unreadable, recorded.error()});
    if (!*recorded) return chain.files();
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
    struct stat st {};
    tl::expected<Fd, std::string> fd = i == 0 ? open_operand(files[i]) : [&]() -> tl::expected<Fd, std::string> {
      auto checked = open_named_file(files[i], st);
      if (!checked) return tl::make_unexpected(files[i] + ": " + checked.error().detail);
      return std::move(*checked);
    }();
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
