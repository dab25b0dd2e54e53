// Attention loops for avx2 (this file is compiled with the avx2 target flags).
#include "attention.h"
#if defined(__x86_64__) || defined(_M_X64)
#define ISA_NS isa_avx2
#define ISA_NAME "avx2"
// Register tile: 6 rows × 16 columns (two 8-float registers each): 12 of the 16 registers hold sums.
#define ATTN_MR 6
#define ATTN_NV 1
#include "attention_impl.inc"
#else
namespace ptflow { namespace isa_avx2 { extern const AttnImpl attn_impl = {"avx2", nullptr, nullptr}; } }
#endif
