// Attention loops with the compiler's baseline flags (any architecture).
#include "attention.h"
#define ISA_NS isa_generic
#define ISA_NAME "generic"
// Register tile: 2 rows × 16 columns (four 4-float registers each on SSE2): 8 of the 16 registers hold sums.
#define ATTN_MR 2
#define ATTN_NV 1
#include "attention_impl.inc"
