// RMSNorm loops for avx2 (this file is compiled with the avx2 target flags).
#include "rmsnorm.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx2
#define ISA_NAME "avx2"
#include "rmsnorm_impl.inc"
#else
namespace ptflow { namespace isa_avx2 { extern const RmsNormImpl rmsnorm_impl = {"avx2", nullptr, nullptr}; } }
#endif
