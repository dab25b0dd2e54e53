# Builds ptflow_native.node. Each instruction set is its own static library with its
# own flags; the CPU is probed at run time (never -march=native).
{
  "target_defaults": {
    "cflags_cc!": ["-fno-exceptions", "-O2", "-O0"],
    "cflags!": ["-O2", "-O0"],
    "cflags": ["-O3", "-fPIC", "-ffp-contract=fast", "-fno-math-errno"],
    "cflags_cc": ["-O3", "-std=c++17", "-fPIC", "-ffp-contract=fast", "-fno-math-errno"],
    "xcode_settings": {
      "OTHER_CFLAGS": ["-O3", "-ffp-contract=fast"],
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17"
    }
  },
  "targets": [
    {
      "target_name": "ptflow_gemm_avx512",
      "type": "static_library",
      "sources": ["src/gemm_avx512.cc", "src/ce_avx512.cc", "src/adamw_avx512.cc", "src/attention_avx512.cc", "src/rmsnorm_avx512.cc"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-mavx512f", "-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx512f", "-mavx2", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "ptflow_gemm_avx2",
      "type": "static_library",
      "sources": ["src/gemm_avx2.cc", "src/ce_avx2.cc", "src/adamw_avx2.cc", "src/attention_avx2.cc", "src/rmsnorm_avx2.cc"],
      "conditions": [
        ["target_arch=='x64'", {
          "cflags_cc": ["-mavx2", "-mfma"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-mavx2", "-mfma"] }
        }]
      ]
    },
    {
      "target_name": "ptflow_native",
      "sources": ["src/addon.cc", "src/dispatch.cc", "src/pool.cc", "src/gemm_generic.cc", "src/ce.cc", "src/ce_generic.cc", "src/adamw.cc", "src/adamw_generic.cc", "src/attention.cc", "src/attention_generic.cc", "src/rmsnorm_generic.cc", "src/rope.cc", "src/swiglu.cc", "src/elementwise.cc", "src/sumsq.cc", "src/malloc_tuning.cc"],
      "dependencies": ["ptflow_gemm_avx512", "ptflow_gemm_avx2"],
      "libraries": ["-pthread"],
      "ldflags": ["-pthread"],
      "cflags_cc": ["-pthread"]
    }
  ]
}
