// AdamW element loop for avx512 (this file is compiled with the avx512 target flags).
#include "adamw.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
#include "adamw_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const AdamWImpl adamw_impl = {"avx512", nullptr}; } }
#endif
