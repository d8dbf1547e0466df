#include "scanner/report/report_file.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <streambuf>
#include <string>
#include <utility>

#include "scanner/platform/errno_text.h"
#include "scanner/platform/fd.h"
#include "scanner/platform/termination_cleanup.h"
#include "scanner/report/text_encoding.h"

namespace flscan::scanner {
namespace {

// Temporary names tried before giving up (each is random; a clash means someone is guessing).
constexpr int kMaxTemporaryNameTries = 64;
// Bytes buffered before a write(2).
constexpr std::size_t kReportBufferBytes = 1 << 16;

// An ostream's buffer over a descriptor; a failed write makes the stream fail (badbit).
class FdBuffer : public std::streambuf {
 public:
  explicit FdBuffer(int fd) : fd_(fd) { setp(buffer_.data(), buffer_.data() + buffer_.size()); }
  int error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override {
    if (!drain()) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override { return drain() ? 0 : -1; }

 private:
  bool drain() {
    const char* at = pbase();
    while (at < pptr()) {
      const ssize_t n = ::write(fd_, at, static_cast<std::size_t>(pptr() - at));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        error_ = n < 0 ? errno : EIO;
        return false;
      }
      at += n;
    }
    setp(buffer_.data(), buffer_.data() + buffer_.size());
    return true;
  }

  int fd_;
  int error_ = 0;
  std::array<char, kReportBufferBytes> buffer_{};
};

// Step 2 of report_file.h: nothing there, or a regular file (which the rename replaces).
tl::expected<void, std::string> check_target(int dir, const std::string& name) {
  struct stat st {};
  if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return tl::make_unexpected("cannot stat: " + errno_text(errno));
  }
  if (S_ISLNK(st.st_mode)) {
    return tl::make_unexpected(
        "is a symbolic link (refused: flscan never writes a report through a symlink; remove it or "
        "name another file)");
  }
  if (!S_ISREG(st.st_mode))
    return tl::make_unexpected("exists and is not a regular file (refused; '-' writes to stdout)");
  return {};
}

// "." + name + ".<64 random bits>.tmp": a leading dot and the name keep a temporary file next to
// the report in a listing; NAME_MAX still holds. The error is the reason only.
tl::expected<std::string, std::string> temporary_name(const std::string& name) {
  std::uint64_t random = 0;
  if (::getrandom(&random, sizeof random, 0) != static_cast<ssize_t>(sizeof random)) {
    return tl::make_unexpected("getrandom: " + errno_text(errno));
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".%016llx.tmp", static_cast<unsigned long long>(random));
  return "." + name.substr(0, 200) + suffix;
}

// A new file with such a name in `dir` (O_EXCL|O_NOFOLLOW: one this process made), and its name;
// the error is the reason only.
tl::expected<std::pair<Fd, std::string>, std::string> create_named_temporary(int dir, const std::string& name) {
  for (int attempt = 0; attempt < kMaxTemporaryNameTries; ++attempt) {
    auto temporary = temporary_name(name);
    if (!temporary) return tl::make_unexpected(temporary.error());
    Fd fd(::openat(dir, temporary->c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    if (fd.valid()) return std::make_pair(std::move(fd), std::move(*temporary));
    if (errno != EEXIST) return tl::make_unexpected("cannot create a temporary file beside it: " + errno_text(errno));
  }
  return tl::make_unexpected(std::string("cannot create a temporary file beside it: every name tried exists"));
}

// Gives the unnamed (O_TMPFILE) file `fd` a new temporary name in `dir`, for the rename over the
// report: linkat with AT_EMPTY_PATH (needs CAP_DAC_READ_SEARCH, which root has), else through
// /proc/self/fd. The error is the reason only.
tl::expected<std::string, std::string> link_temporary(int fd, int dir, const std::string& name) {
  int error = 0;
  for (int attempt = 0; attempt < kMaxTemporaryNameTries; ++attempt) {
    auto temporary = temporary_name(name);
    if (!temporary) return tl::make_unexpected(temporary.error());
    if (::linkat(fd, "", dir, temporary->c_str(), AT_EMPTY_PATH) == 0) return *temporary;
    error = errno;
    if (error != EEXIST) {
      const std::string proc = "/proc/self/fd/" + std::to_string(fd);
      if (::linkat(AT_FDCWD, proc.c_str(), dir, temporary->c_str(), AT_SYMLINK_FOLLOW) == 0) return *temporary;
      error = errno;
      if (error != EEXIST) break;
    }
  }
  return tl::make_unexpected("cannot give the written report a name beside it: " + errno_text(error));
}

}  // namespace

struct ReportFile::State {
  Fd dir;
  Fd fd;
  std::string name;        // the report's name in `dir`
  std::string temporary;   // the temporary file's name in `dir`, empty once renamed
  bool anonymous = false;  // made with O_TMPFILE: no name until commit() links it
  std::unique_ptr<FdBuffer> buffer;
  std::unique_ptr<std::ostream> stream;
  // Unlinks `temporary` if SIGINT, SIGTERM or SIGHUP ends the process while it has that name.
  std::unique_ptr<TerminationCleanup> cleanup;

  // Takes `made` as the temporary file's name and registers its unlinking: call inside
  // TerminationCleanup::locked, in the step that made the name.
  void adopt_temporary(std::string made) {
    temporary = std::move(made);
    cleanup =
        std::make_unique<TerminationCleanup>([dir = dir.get(), made = temporary] { ::unlinkat(dir, made.c_str(), 0); });
  }

  ~State() {
    fd.reset();
    TerminationCleanup::locked([this] {
      if (!temporary.empty()) ::unlinkat(dir.get(), temporary.c_str(), 0);
      cleanup.reset();
    });
  }
};

ReportFile::ReportFile(std::unique_ptr<State> state) : state_(std::move(state)) {}
ReportFile::~ReportFile() = default;

tl::expected<std::unique_ptr<ReportFile>, std::string> ReportFile::create(const std::string& path) {
  const std::size_t slash = path.find_last_of('/');
  const std::string directory = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  auto state = std::make_unique<State>();
  state->name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (state->name.empty() || state->name == "." || state->name == "..")
    return tl::make_unexpected(std::string("not a file name"));
  state->dir = Fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!state->dir.valid()) return tl::make_unexpected("cannot open its directory: " + errno_text(errno));
  if (auto ok = check_target(state->dir.get(), state->name); !ok) return tl::make_unexpected(ok.error());
  // An unnamed file in that directory (O_TMPFILE) when the file system has them: a scan killed
  // before the report is written leaves nothing beside it. It gets its name in commit().
  state->fd = Fd(::openat(state->dir.get(), ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0666));
  if (state->fd.valid()) {
    state->anonymous = true;
  } else if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL) {
    return tl::make_unexpected("cannot create a temporary file beside it: " + errno_text(errno));
  } else {
    // A named one, made and registered for the termination cleanup in one locked step.
    auto made = TerminationCleanup::locked([&]() -> tl::expected<void, std::string> {
      auto named = create_named_temporary(state->dir.get(), state->name);
      if (!named) return tl::make_unexpected(named.error());
      state->fd = std::move(named->first);
      state->adopt_temporary(std::move(named->second));
      return {};
    });
    if (!made) return tl::make_unexpected(made.error());
  }
  state->buffer = std::make_unique<FdBuffer>(state->fd.get());
  state->stream = std::make_unique<std::ostream>(state->buffer.get());
  return std::unique_ptr<ReportFile>(new ReportFile(std::move(state)));
}

std::ostream& ReportFile::stream() { return *state_->stream; }

tl::expected<void, std::string> ReportFile::commit() {
  State& s = *state_;
  s.stream->flush();
  if (!*s.stream)
    return tl::make_unexpected("write error: " + errno_text(s.buffer->error() != 0 ? s.buffer->error() : EIO));
  if (::fsync(s.fd.get()) != 0) return tl::make_unexpected("fsync: " + errno_text(errno));
  if (s.anonymous) {
    auto linked = TerminationCleanup::locked([&]() -> tl::expected<void, std::string> {
      auto temporary = link_temporary(s.fd.get(), s.dir.get(), s.name);
      if (!temporary) return tl::make_unexpected(temporary.error());
      s.adopt_temporary(std::move(*temporary));
      s.anonymous = false;
      return {};
    });
    if (!linked) return tl::make_unexpected(linked.error());
  }
  if (const int error = s.fd.close_checked(); error != 0) return tl::make_unexpected("close: " + errno_text(error));
  if (auto ok = check_target(s.dir.get(), s.name); !ok) return tl::make_unexpected(ok.error());
  const int rename_error = TerminationCleanup::locked([&] {
    if (::renameat(s.dir.get(), s.temporary.c_str(), s.dir.get(), s.name.c_str()) != 0) return errno;
    s.temporary.clear();
    s.cleanup.reset();  // the name is the report's now
    return 0;
  });
  if (rename_error != 0)
    return tl::make_unexpected("cannot rename the temporary file over it: " + errno_text(rename_error));
  return {};
}

tl::expected<ReportOutputs, std::string> ReportOutputs::open(const std::vector<OutputSpec>& specs) {
  ReportOutputs outputs;
  for (const OutputSpec& spec : specs) {
    Output output{spec, nullptr};
    if (!to_stdout(spec)) {
      auto created = ReportFile::create(spec.path);
      if (!created) {
        return tl::make_unexpected("cannot write the " + std::string(format_spec(spec.format).what) + " to " +
                                   escape_path_for_terminal(spec.path) + ": " + created.error());
      }
      output.file = std::move(*created);
    }
    outputs.outputs_.push_back(std::move(output));
  }
  return outputs;
}

bool ReportOutputs::write(std::ostream& out, std::ostream& err, const char* program, const ScanReport& report,
                          const PrintSettings& settings) {
  bool written = true;
  for (Output& output : outputs_) {
    const ReportFormatSpec& format = format_spec(output.spec.format);
    format.print(output.file ? output.file->stream() : out, report, settings);
    // A report to stdout is flushed with it; a file is committed (report_file.h, step 3).
    if (!output.file) continue;
    if (auto ok = output.file->commit(); !ok) {
      err << program << ": writing the " << format.what << " to " << escape_path_for_terminal(output.spec.path)
          << " failed: " << ok.error() << '\n';
      written = false;
    }
  }
  out.flush();
  if (!out) {
    err << program << ": writing the report to stdout failed\n";
    written = false;
  }
  return written;
}

}  // namespace flscan::scanner
