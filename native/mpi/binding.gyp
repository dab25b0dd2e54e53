# Builds ptflow_mpi.node, the optional MPI transport, against the system's MPI (flags from
# flags.js: mpicc -show / --showme, else pkg-config). Kept apart from ../binding.gyp so that a
# missing or broken MPI never affects the kernels addon; build.js runs it only when flags.js
# finds MPI.
{
  "targets": [
    {
      "target_name": "ptflow_mpi",
      "sources": ["../src/mpi_addon.cc", "../src/mpi_comm.cc", "../src/output_drain.cc"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-O2", "-std=c++17", "-pthread", "<!@(node flags.js cflags)"],
      "libraries": ["-pthread", "<!@(node flags.js libs)"],
      "ldflags": ["-pthread"]
    }
  ]
}
