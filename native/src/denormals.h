// MXCSR subnormal handling for the duration of a native kernel. Flush-to-zero /
// denormals-are-zero is what most kernels want: subnormal floats (which exp tails and products
// of tiny probabilities produce) are ~100x slower on x86 and change nothing that matters in
// training. The N-API entry points hold a DenormalGuard(Subnormals::Flush) on the calling
// (JavaScript) thread, restoring its mode afterwards; pool workers, which run only native
// kernels, set the flush mode once when they start. The element-wise arithmetic must store
// bitwise what the stock JavaScript kernels store, so its ranges hold
// DenormalGuard(Subnormals::Keep), which turns both bits off (on a worker too) and restores
// them afterwards.
#pragma once
#if defined(__x86_64__) || defined(_M_X64) || defined(__SSE__)
#include <xmmintrin.h>
#define PTFLOW_HAS_MXCSR 1
#endif

namespace ptflow {

enum class Subnormals {
  Flush,  // FTZ and DAZ on
  Keep,   // FTZ and DAZ off (IEEE gradual underflow)
};

#ifdef PTFLOW_HAS_MXCSR
constexpr unsigned kFtzDazBits = 0x8040u;  // FTZ (bit 15) | DAZ (bit 6)

inline unsigned mxcsr_with(unsigned csr, Subnormals mode) {
  return mode == Subnormals::Flush ? (csr | kFtzDazBits) : (csr & ~kFtzDazBits);
}
#endif

// Sets the mode on this thread for its lifetime and restores the previous MXCSR afterwards.
class DenormalGuard {
 public:
  explicit DenormalGuard(Subnormals mode) {
#ifdef PTFLOW_HAS_MXCSR
    saved_ = _mm_getcsr();
    _mm_setcsr(mxcsr_with(saved_, mode));
#else
    (void)mode;
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
  _mm_setcsr(mxcsr_with(_mm_getcsr(), Subnormals::Flush));
#endif
}

}  // namespace ptflow
