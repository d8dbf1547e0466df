// The lower bounds flscan's benchmark compares against: the least work any scanner that reads
// what flscan reads must do, done as directly as Linux allows.
//
//   flbench-limit walk     [-j N] DIR    list every directory, lstat every entry, count regular files
//   flbench-limit head     [-j N] DIR    + open every regular file and read its first 4 KiB
//   flbench-limit scan     [-j N] DIR    + when a file starts with "MZ", read the rest of it in
//                                          1 MiB chunks and SHA-256 the whole file (OpenSSL EVP)
//   flbench-limit read-all [-j N] DIR    + read every byte of every regular file (1 MiB chunks)
//   flbench-limit pe-sha   [-j N] --list FILE DIR
//                                        read + SHA-256 each file named in FILE (one path relative
//                                          to DIR per line), nothing else
//
// N threads (default: one per core) share a stack of directories (or the list); each thread lists
// a directory with openat/getdents (readdir) and handles its files itself, relative to the open
// directory. Symlinks are never followed. Prints one line of counters on stdout.
//
// Build: g++ -O2 -std=c++20 -pthread limit.cpp -lcrypto

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

enum class Mode { walk, head, scan, read_all, pe_sha };

constexpr std::size_t kHead = 4096;
constexpr std::size_t kChunk = 1 << 20;

struct Counters {
  std::atomic<unsigned long long> files{0}, bytes{0}, dirs{0}, opened{0}, bytes_read{0}, hashed_files{0},
      hashed_bytes{0}, errors{0}, digest_xor{0};
};

struct Worker {
  std::unique_ptr<unsigned char[]> buf{new unsigned char[kChunk]};
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  ~Worker() {
    EVP_MD_CTX_free(ctx);
    EVP_MD_free(const_cast<EVP_MD*>(sha256));
  }
  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;
};

int open_flags() { return O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOATIME; }

int open_at(int dirfd, const char* name) {
  int fd = openat(dirfd, name, open_flags());
  if (fd < 0 && errno == EPERM) fd = openat(dirfd, name, open_flags() & ~O_NOATIME);
  return fd;
}

ssize_t read_full(int fd, unsigned char* p, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    got += static_cast<std::size_t>(r);
  }
  return static_cast<ssize_t>(got);
}

// Reads fd to its end from the current position, hashing when ctx is set. Returns bytes read or -1.
long long read_rest(int fd, Worker& w, bool hash) {
  long long total = 0;
  for (;;) {
    ssize_t r = read_full(fd, w.buf.get(), kChunk);
    if (r < 0) return -1;
    if (r == 0) break;
    if (hash) EVP_DigestUpdate(w.ctx, w.buf.get(), static_cast<std::size_t>(r));
    total += r;
    if (static_cast<std::size_t>(r) < kChunk) break;
  }
  return total;
}

void finish_hash(Worker& w, Counters& c) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(w.ctx, md, &len);
  unsigned long long x = 0;
  std::memcpy(&x, md, sizeof x);
  c.digest_xor.fetch_xor(x, std::memory_order_relaxed);
}

void handle_file(Mode mode, int dirfd, const char* name, Worker& w, Counters& c) {
  if (mode == Mode::walk) return;
  int fd = open_at(dirfd, name);
  if (fd < 0) {
    c.errors.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  c.opened.fetch_add(1, std::memory_order_relaxed);
  long long total = 0;
  if (mode == Mode::read_all) {
    total = read_rest(fd, w, false);
  } else {
    ssize_t n = read_full(fd, w.buf.get(), kHead);
    total = n;
    if (n >= 2 && mode == Mode::scan && w.buf[0] == 'M' && w.buf[1] == 'Z') {
      EVP_DigestInit_ex(w.ctx, w.sha256, nullptr);
      EVP_DigestUpdate(w.ctx, w.buf.get(), static_cast<std::size_t>(n));
      long long rest = static_cast<std::size_t>(n) == kHead ? read_rest(fd, w, true) : 0;
      if (rest < 0) {
        total = -1;
      } else {
        total += rest;
        finish_hash(w, c);
        c.hashed_files.fetch_add(1, std::memory_order_relaxed);
        c.hashed_bytes.fetch_add(static_cast<unsigned long long>(total), std::memory_order_relaxed);
      }
    }
  }
  if (total < 0)
    c.errors.fetch_add(1, std::memory_order_relaxed);
  else
    c.bytes_read.fetch_add(static_cast<unsigned long long>(total), std::memory_order_relaxed);
  close(fd);
}

class DirQueue {
 public:
  void push(std::string dir) {
    {
      std::lock_guard lock(m_);
      q_.push_back(std::move(dir));
    }
    cv_.notify_one();
  }
  // Blocks until a directory is available or every thread is idle with nothing queued.
  bool pop(std::string& out) {
    std::unique_lock lock(m_);
    ++idle_;
    for (;;) {
      if (!q_.empty()) {
        out = std::move(q_.back());
        q_.pop_back();
        --idle_;
        return true;
      }
      if (idle_ == threads_) {
        cv_.notify_all();
        return false;
      }
      cv_.wait(lock);
    }
  }
  void set_threads(int n) { threads_ = n; }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::string> q_;
  int idle_ = 0;
  int threads_ = 1;
};

void walk_worker(Mode mode, DirQueue& q, Counters& c) {
  Worker w;
  std::string dir;
  std::vector<std::string> subdirs;
  while (q.pop(dir)) {
    int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0) {
      c.errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    DIR* d = fdopendir(dfd);
    if (!d) {
      close(dfd);
      c.errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    c.dirs.fetch_add(1, std::memory_order_relaxed);
    subdirs.clear();
    while (dirent* e = readdir(d)) {
      const char* n = e->d_name;
      if (n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) continue;
      struct stat st;
      if (fstatat(dfd, n, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        c.errors.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      if (S_ISDIR(st.st_mode)) {
        subdirs.emplace_back(dir + "/" + n);
      } else if (S_ISREG(st.st_mode)) {
        c.files.fetch_add(1, std::memory_order_relaxed);
        c.bytes.fetch_add(static_cast<unsigned long long>(st.st_size), std::memory_order_relaxed);
        handle_file(mode, dfd, n, w, c);
      }
    }
    closedir(d);
    for (auto& s : subdirs) q.push(std::move(s));
  }
}

void list_worker(const std::vector<std::string>& list, std::atomic<std::size_t>& next, int rootfd, Counters& c) {
  Worker w;
  for (;;) {
    std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
    if (i >= list.size()) return;
    int fd = open_at(rootfd, list[i].c_str());
    if (fd < 0) {
      c.errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    c.files.fetch_add(1, std::memory_order_relaxed);
    EVP_DigestInit_ex(w.ctx, w.sha256, nullptr);
    long long n = read_rest(fd, w, true);
    close(fd);
    if (n < 0) {
      c.errors.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    finish_hash(w, c);
    c.hashed_files.fetch_add(1, std::memory_order_relaxed);
    c.hashed_bytes.fetch_add(static_cast<unsigned long long>(n), std::memory_order_relaxed);
    c.bytes_read.fetch_add(static_cast<unsigned long long>(n), std::memory_order_relaxed);
    c.bytes.fetch_add(static_cast<unsigned long long>(n), std::memory_order_relaxed);
  }
}

[[noreturn]] void usage() {
  std::fputs(
      "usage: flbench-limit walk|head|scan|read-all [-j N] DIR\n"
      "       flbench-limit pe-sha [-j N] --list FILE DIR\n",
      stderr);
  std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) usage();
  std::string m = argv[1];
  Mode mode;
  if (m == "walk")
    mode = Mode::walk;
  else if (m == "head")
    mode = Mode::head;
  else if (m == "scan")
    mode = Mode::scan;
  else if (m == "read-all")
    mode = Mode::read_all;
  else if (m == "pe-sha")
    mode = Mode::pe_sha;
  else
    usage();
  int threads = static_cast<int>(std::thread::hardware_concurrency());
  if (threads < 1) threads = 1;
  std::string list_path, root;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if ((a == "-j" || a == "--threads") && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--list" && i + 1 < argc)
      list_path = argv[++i];
    else if (root.empty())
      root = a;
    else
      usage();
  }
  if (root.empty() || threads < 1 || (mode == Mode::pe_sha) != !list_path.empty()) usage();
  while (root.size() > 1 && root.back() == '/') root.pop_back();

  Counters c;
  std::vector<std::thread> pool;
  if (mode == Mode::pe_sha) {
    std::vector<std::string> list;
    std::ifstream in(list_path);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) list.push_back(line);
    int rootfd = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) {
      std::perror(root.c_str());
      return 2;
    }
    std::atomic<std::size_t> next{0};
    for (int t = 0; t < threads; ++t)
      pool.emplace_back(list_worker, std::cref(list), std::ref(next), rootfd, std::ref(c));
    for (auto& t : pool) t.join();
    close(rootfd);
  } else {
    DirQueue q;
    q.set_threads(threads);
    q.push(root);
    for (int t = 0; t < threads; ++t) pool.emplace_back(walk_worker, mode, std::ref(q), std::ref(c));
    for (auto& t : pool) t.join();
  }
  std::printf(
      "mode=%s threads=%d dirs=%llu files=%llu bytes=%llu opened=%llu bytes_read=%llu hashed_files=%llu "
      "hashed_bytes=%llu errors=%llu digest_xor=%016llx\n",
      m.c_str(), threads, c.dirs.load(), c.files.load(), c.bytes.load(), c.opened.load(), c.bytes_read.load(),
      c.hashed_files.load(), c.hashed_bytes.load(), c.errors.load(), c.digest_xor.load());
  return c.errors.load() ? 1 : 0;
}
