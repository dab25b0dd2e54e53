// RMSNorm loops for avx512 (this file is compiled with the avx512 target flags).
#include "rmsnorm.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
#include "rmsnorm_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const RmsNormImpl rmsnorm_impl = {"avx512", nullptr, nullptr}; } }
#endif
