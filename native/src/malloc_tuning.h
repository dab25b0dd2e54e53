// glibc malloc settings for a process that trains: see malloc_tuning.cc.
#pragma once

namespace ptflow {

struct MallocTuning {
  bool applied = false;       // the settings below were set by ptflow
  long mmapThreshold = 0;     // bytes; 0: left to glibc
  long trimThreshold = 0;
};

// Applies the settings once per process (the first load of the addon, on any thread) unless the
// user set glibc's own variables for them; returns what was done.
const MallocTuning& tune_malloc_once();

}  // namespace ptflow
