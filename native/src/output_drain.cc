// See output_drain.h.
#include "output_drain.h"

#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <time.h>

#if defined(__linux__)
#include <linux/sockios.h>
#endif

namespace ptflow_mpi {

size_t unreadOutput(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0) return 0;
  int n = 0;
  if (S_ISFIFO(st.st_mode)) {
    // On Linux FIONREAD answers for either end of a pipe: the bytes waiting in it.
    if (ioctl(fd, FIONREAD, &n) != 0) return 0;
  } else if (S_ISSOCK(st.st_mode)) {
#if defined(SIOCOUTQ)
    if (ioctl(fd, SIOCOUTQ, &n) != 0) return 0;
#else
    return 0;
#endif
  } else {
    return 0;
  }
  return n > 0 ? static_cast<size_t>(n) : 0;
}

namespace {
long long nowMs() {
  timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return static_cast<long long>(t.tv_sec) * 1000 + t.tv_nsec / 1000000;
}
}  // namespace

bool waitOutputTaken(int timeoutMs) {
  const long long deadline = nowMs() + timeoutMs;
  const timespec nap{0, 1000 * 1000};
  for (;;) {
    if (unreadOutput(1) == 0 && unreadOutput(2) == 0) return true;
    if (nowMs() >= deadline) return false;
    nanosleep(&nap, nullptr);
  }
}

}  // namespace ptflow_mpi
