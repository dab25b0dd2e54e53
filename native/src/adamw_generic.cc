// AdamW element loop with the compiler's baseline flags (any architecture).
#include "adamw.h"
#define ISA_NS isa_generic
#define ISA_NAME "generic"
#include "adamw_impl.inc"
