// Attention loops for avx512 (this file is compiled with the avx512 target flags).
#include "attention.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx512
#define ISA_NAME "avx512"
// Register tile: 6 rows × 64 columns: 24 of the 32 vector registers hold sums.
#define ATTN_MR 6
#define ATTN_NV 4
#include "attention_impl.inc"
#else
namespace ptflow { namespace isa_avx512 { extern const AttnImpl attn_impl = {"avx512", nullptr, nullptr}; } }
#endif
