// Runs the fused AdamW update on the pool: contiguous element ranges, with the
// implementation of the instruction set the GEMM uses.
#include "adamw.h"

#include <cstring>
#include <initializer_list>

#include "dispatch.h"
#include "pool.h"

namespace ptflow {
namespace {

const AdamWImpl* select() {
  const char* name = gemm_impl()->name;
  for (const AdamWImpl* impl : {&isa_avx512::adamw_impl, &isa_avx2::adamw_impl, &isa_generic::adamw_impl})
    if (impl->update != nullptr && std::strcmp(impl->name, name) == 0) return impl;
  return &isa_generic::adamw_impl;
}

}  // namespace

void adamw_update(const AdamWArgs& a) {
  const AdamWImpl* impl = select();
  // Memory-bound: a worker pays off only for large tensors.
  pool_for(a.n, int64_t{1} << 18, [&](int64_t i0, int64_t i1) { impl->update(a, i0, i1); });
}

}  // namespace ptflow
