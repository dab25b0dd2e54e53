// RMSNorm loops with the compiler's baseline flags (any architecture), and the dispatcher.
#include <cstring>
#include <initializer_list>

#include "dispatch.h"
#include "rmsnorm.h"
#define ISA_NS isa_generic
#define ISA_NAME "generic"
#include "rmsnorm_impl.inc"

namespace ptflow {
namespace {
const RmsNormImpl* select() {
  const char* name = gemm_impl()->name;
  for (const RmsNormImpl* impl : {&isa_avx512::rmsnorm_impl, &isa_avx2::rmsnorm_impl, &isa_generic::rmsnorm_impl})
    if (impl->forward != nullptr && std::strcmp(impl->name, name) == 0) return impl;
  return &isa_generic::rmsnorm_impl;
}
}  // namespace

void rmsnorm_forward(const RmsNormArgs& a) { select()->forward(a); }
void rmsnorm_backward(const RmsNormArgs& a) { select()->backward(a); }

}  // namespace ptflow
