// Attention loops with the compiler's baseline flags (any architecture).
#include "attention.h"
#define ISA_NS isa_generic
#define ISA_NAME "generic"
#include "attention_impl.inc"
