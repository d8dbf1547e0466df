// Runs a command and reports its wall time, CPU time and peak RSS, like GNU time, for
// bench/run.py. A separate small process is needed because Linux keeps a process's peak RSS
// across exec: a child forked by the Python runner would report the runner's own size.
//
//   flbench-measure [--repeat N] RESULT_FILE -- COMMAND [ARG]...
//
// COMMAND's stdin is /dev/null; stdout and stderr are inherited. For each of the N runs (default
// 1) one line is appended to RESULT_FILE:
//   wall_seconds cpu_seconds(user+sys) max_rss_kib exit_code
// where exit_code is 128+signal when the command was killed by a signal. Exit status: 0 when
// every line was written, 2 on a usage or system error (COMMAND's own status is in the file).
//
// Build: g++ -O2 -std=c++20 measure.cpp

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

int main(int argc, char** argv) {
  int i = 1;
  long repeat = 1;
  if (i + 1 < argc && std::strcmp(argv[i], "--repeat") == 0) {
    repeat = std::strtol(argv[i + 1], nullptr, 10);
    i += 2;
  }
  if (i + 2 >= argc || std::strcmp(argv[i + 1], "--") != 0 || repeat < 1) {
    std::fputs("usage: flbench-measure [--repeat N] RESULT_FILE -- COMMAND [ARG]...\n", stderr);
    return 2;
  }
  const char* result = argv[i];
  char** cmd = argv + i + 2;
  FILE* out = std::fopen(result, "a");
  if (!out) {
    std::perror(result);
    return 2;
  }
  for (long r = 0; r < repeat; ++r) {
    timespec t0{}, t1{};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 2;
    }
    if (pid == 0) {
      int fd = open("/dev/null", O_RDONLY);
      if (fd >= 0) {
        dup2(fd, 0);
        if (fd != 0) close(fd);
      }
      execvp(cmd[0], cmd);
      std::fprintf(stderr, "flbench-measure: %s: %s\n", cmd[0], std::strerror(errno));
      _exit(127);
    }
    int status = 0;
    rusage ru{};
    while (wait4(pid, &status, 0, &ru) < 0) {
      if (errno != EINTR) {
        std::perror("wait4");
        return 2;
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double wall = static_cast<double>(t1.tv_sec - t0.tv_sec) + static_cast<double>(t1.tv_nsec - t0.tv_nsec) / 1e9;
    double cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::fprintf(out, "%.6f %.6f %ld %d\n", wall, cpu, ru.ru_maxrss, code);
    std::fflush(out);
  }
  std::fclose(out);
  return 0;
}
