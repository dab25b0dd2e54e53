// Batched GEMM entry point: picks the instruction set once and runs on the pool.
#pragma once
#include "gemm.h"

namespace ptflow {

void gemm(const GemmArgs& g);
const GemmImpl* gemm_impl();
// Selects an implementation by name ("avx512", "avx2", "generic") if this CPU runs it.
bool gemm_set_impl(const char* name);
// Names of the implementations this CPU can run, best first.
int gemm_available(const char** names, int max);

}  // namespace ptflow
