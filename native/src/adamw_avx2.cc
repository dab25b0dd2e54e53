// AdamW element loop for avx2 (this file is compiled with the avx2 target flags).
#include "adamw.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx2
#define ISA_NAME "avx2"
#include "adamw_impl.inc"
#else
namespace ptflow { namespace isa_avx2 { extern const AdamWImpl adamw_impl = {"avx2", nullptr}; } }
#endif
