// Flush-to-zero / denormals-are-zero for the duration of a native kernel: subnormal floats
// (which exp tails and products of tiny probabilities produce) are ~100x slower on x86 and
// change nothing that matters in training. The N-API entry points hold a DenormalGuard on the
// calling (JavaScript) thread, restoring its mode afterwards; pool workers, which run only
// native kernels, set the mode once when they start.
#pragma once
#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE__)
#include <xmmintrin.h>
#define PTFLOW_HAS_MXCSR 1
#endif

namespace ptflow {

class DenormalGuard {
 public:
  DenormalGuard() {
#ifdef PTFLOW_HAS_MXCSR
    saved_ = _mm_getcsr();
    _mm_setcsr(saved_ | 0x8040u);  // FTZ (bit 15) | DAZ (bit 6)
#endif
  }
  ~DenormalGuard() {
#ifdef PTFLOW_HAS_MXCSR
    _mm_setcsr(saved_);
#endif
  }
  DenormalGuard(const DenormalGuard&) = delete;
  DenormalGuard& operator=(const DenormalGuard&) = delete;

 private:
  unsigned saved_ = 0;
};

// For threads that run only native kernels.
inline void flush_denormals_on_this_thread() {
#ifdef PTFLOW_HAS_MXCSR
  _mm_setcsr(_mm_getcsr() | 0x8040u);
#endif
}

}  // namespace ptflow
