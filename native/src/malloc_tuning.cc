// glibc hands out allocations from 128 KiB up by mmap and returns them to the kernel on free (its
// threshold only grows after a large block is freed). Every new page is then a page fault on
// first touch, and on some virtual machines a fault costs ~18 µs, more than the copy it serves. A
// trainer allocates tensor buffers of that size every step (the cpu backend's typed arrays,
// Arrow batches): on such a machine training from the token cache by offset spent 15 % of its
// step time more than the same run after a large load had raised the threshold. Keeping blocks
// up to 32 MiB (glibc's maximum for this setting) in malloc's arenas, and freed memory up to
// 256 MiB before trimming, reuses pages that are already mapped.
#include "malloc_tuning.h"

#include <cstdlib>
#include <mutex>
#include <string>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace ptflow {

namespace {
constexpr long kMmapThreshold = 32L << 20;
constexpr long kTrimThreshold = 256L << 20;

bool userSet(const char* name) { return std::getenv(name) != nullptr; }
}  // namespace

const MallocTuning& tune_malloc_once() {
  static MallocTuning done;
  static std::once_flag once;
  std::call_once(once, [] {
#if defined(__GLIBC__)
    // The user's own choice wins: glibc's variables, or PTFLOW_MALLOC=default.
    const char* mode = std::getenv("PTFLOW_MALLOC");
    if ((mode != nullptr && std::string(mode) == "default") || userSet("GLIBC_TUNABLES") ||
        userSet("MALLOC_MMAP_THRESHOLD_") || userSet("MALLOC_TRIM_THRESHOLD_"))
      return;
    if (mallopt(M_MMAP_THRESHOLD, static_cast<int>(kMmapThreshold)) == 1 &&
        mallopt(M_TRIM_THRESHOLD, static_cast<int>(kTrimThreshold)) == 1) {
      done.applied = true;
      done.mmapThreshold = kMmapThreshold;
      done.trimThreshold = kTrimThreshold;
    }
#endif
  });
  return done;
}

}  // namespace ptflow
